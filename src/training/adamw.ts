/**
 * AdamW over tfjs variables, computing what torch.optim.AdamW computes (amsgrad off):
 *
 *   p ← p · (1 − lr·wd)                       decoupled weight decay, before the moment update
 *   m ← β1·m + (1−β1)·g ;  v ← β2·v + (1−β2)·g²
 *   p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)
 *
 * with parameter groups carrying their own learning rate / weight decay (ActionCLIP: pre-trained
 * CLIP at `lr`, new modules such as the fusion head at `lr × 10`) and optional global-norm
 * gradient clipping (torch.nn.utils.clip_grad_norm_: scale all gradients by
 * `max / (‖g‖ + 1e-6)` when that is below 1). Moments live in tfjs variables owned by the
 * optimiser; every temporary is created inside `tf.tidy`, so the tensor count is constant
 * across steps.
 */
import * as tf from '@tensorflow/tfjs';

export interface ParamGroup {
  /** For logs and state files. */
  name: string;
  params: readonly tf.Variable[];
  /** Base learning rate of the group (before the schedule's factor). */
  lr: number;
  /** Overrides the optimiser's weight decay for this group (e.g. 0 for biases/norms). */
  weightDecay?: number;
}

export interface AdamWOptions {
  betas?: readonly [number, number];
  /** ActionCLIP's paper/CLIP value is 1e-6; its released solver.py passes 1e-8. */
  eps?: number;
  weightDecay?: number;
  /** Global-norm clipping threshold; undefined or 0 = no clipping. */
  clipGradNorm?: number;
}

export interface StepResult {
  /** Global L2 norm of the gradients before clipping. */
  gradNorm: number;
  /** Factor the gradients were multiplied by (1 when not clipped). */
  clipScale: number;
  /** Effective rate of each group for this step. */
  lrs: number[];
}

interface Slot {
  m: tf.Variable;
  v: tf.Variable;
}

export class AdamW {
  readonly groups: readonly ParamGroup[];
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly clipGradNorm: number | undefined;
  /** Optimiser steps taken (t in the bias corrections). */
  private t = 0;
  private readonly slots = new Map<string, Slot>();
  private disposed = false;

  constructor(groups: readonly ParamGroup[], options: AdamWOptions = {}) {
    this.groups = groups;
    this.betas = options.betas ?? [0.9, 0.98];
    this.eps = options.eps ?? 1e-6;
    this.weightDecay = options.weightDecay ?? 0.2;
    this.clipGradNorm = options.clipGradNorm || undefined;
    const seen = new Set<string>();
    for (const g of groups) {
      if (!(g.lr >= 0)) throw new RangeError(`group ${g.name}: lr must be >= 0, got ${g.lr}`);
      for (const p of g.params) {
        // Gradients from tf.variableGrads are keyed by variable name, so names must be unique.
        if (seen.has(p.name)) throw new RangeError(`variable ${p.name} appears twice in the parameter groups`);
        seen.add(p.name);
        if (p.dtype !== 'float32') throw new RangeError(`variable ${p.name} is ${p.dtype}; AdamW updates float32 only`);
      }
    }
  }

  get step(): number {
    return this.t;
  }

  /**
   * One update. `grads` maps variable names to gradients (as `tf.variableGrads` returns them);
   * parameters without a gradient are left alone (frozen, or unused this step), like torch's
   * `grad is None`. `lrFactor` scales every group's rate (the schedule's value for this step).
   * The caller keeps ownership of `grads`.
   */
  applyGradients(grads: tf.NamedTensorMap, lrFactor = 1): StepResult {
    if (this.disposed) throw new Error('AdamW was disposed');
    const active: Array<{ p: tf.Variable; g: tf.Tensor; lr: number; wd: number }> = [];
    const lrs = this.groups.map((group) => group.lr * lrFactor);
    this.groups.forEach((group, gi) => {
      for (const p of group.params) {
        const g = grads[p.name];
        if (g === undefined) continue;
        if (!tf.util.arraysEqual(g.shape, p.shape)) throw new RangeError(`gradient for ${p.name} has shape [${g.shape}], parameter has [${p.shape}]`);
        active.push({ p, g, lr: lrs[gi], wd: group.weightDecay ?? this.weightDecay });
      }
    });
    if (active.length === 0) return { gradNorm: 0, clipScale: 1, lrs };

    // Global norm in one device→host read; also needed for logging.
    const normT = tf.tidy(() => tf.sqrt(tf.addN(active.map(({ g }) => tf.sum(tf.square(g))))));
    const gradNorm = normT.dataSync()[0];
    normT.dispose();
    let clipScale = 1;
    if (this.clipGradNorm !== undefined) {
      const coef = this.clipGradNorm / (gradNorm + 1e-6);
      if (coef < 1) clipScale = coef;
    }

    this.t += 1;
    const [b1, b2] = this.betas;
    const bc1 = 1 - b1 ** this.t;
    const bc2Sqrt = Math.sqrt(1 - b2 ** this.t);
    for (const { p, g, lr, wd } of active) {
      const slot = this.slot(p);
      tf.tidy(() => {
        const grad = clipScale === 1 ? g : tf.mul(g, clipScale);
        const m = tf.add(tf.mul(slot.m, b1), tf.mul(grad, 1 - b1));
        const v = tf.add(tf.mul(slot.v, b2), tf.mul(tf.square(grad), 1 - b2));
        slot.m.assign(m);
        slot.v.assign(v);
        const decayed = lr * wd === 0 ? p : tf.mul(p, 1 - lr * wd);
        const denom = tf.add(tf.div(tf.sqrt(v), bc2Sqrt), this.eps);
        p.assign(tf.sub(decayed, tf.mul(tf.div(m, denom), lr / bc1)));
      });
    }
    return { gradNorm, clipScale, lrs };
  }

  /**
   * Computes the gradients of `loss` with respect to every parameter of the groups, applies one
   * update, disposes the gradients and returns the loss value. `loss` runs inside tf.tidy.
   */
  minimize(loss: () => tf.Scalar, lrFactor = 1): StepResult & { loss: number } {
    const vars = this.groups.flatMap((g) => g.params).filter((p) => p.trainable);
    const { value, grads } = tf.variableGrads(loss, vars);
    try {
      const result = this.applyGradients(grads, lrFactor);
      return { ...result, loss: value.dataSync()[0] };
    } finally {
      value.dispose();
      tf.dispose(grads);
    }
  }

  private slot(p: tf.Variable): Slot {
    let s = this.slots.get(p.name);
    if (!s) {
      s = tf.tidy(() => ({ m: tf.variable(tf.zerosLike(p), false), v: tf.variable(tf.zerosLike(p), false) }));
      this.slots.set(p.name, s);
    }
    return s;
  }

  /** Moments and step count, for checkpoints (host copies). */
  async getState(): Promise<{ step: number; moments: Map<string, { m: Float32Array; v: Float32Array; shape: number[] }> }> {
    const moments = new Map<string, { m: Float32Array; v: Float32Array; shape: number[] }>();
    for (const [name, s] of this.slots) {
      moments.set(name, { m: (await s.m.data()) as Float32Array, v: (await s.v.data()) as Float32Array, shape: [...s.m.shape] });
    }
    return { step: this.t, moments };
  }

  /** Restores what `getState` returned (resume). Unknown names are an error: the model changed. */
  setState(state: { step: number; moments: ReadonlyMap<string, { m: Float32Array; v: Float32Array; shape?: readonly number[] }> }): void {
    const byName = new Map(this.groups.flatMap((g) => g.params).map((p) => [p.name, p] as const));
    for (const [name, mv] of state.moments) {
      const p = byName.get(name);
      if (!p) throw new RangeError(`optimiser state has moments for ${name}, which is not a parameter of this optimiser`);
      if (mv.m.length !== p.size || mv.v.length !== p.size) throw new RangeError(`optimiser state for ${name} has ${mv.m.length} values, parameter has ${p.size}`);
      const slot = this.slot(p);
      tf.tidy(() => {
        slot.m.assign(tf.tensor(mv.m, p.shape));
        slot.v.assign(tf.tensor(mv.v, p.shape));
      });
    }
    this.t = state.step;
  }

  dispose(): void {
    for (const s of this.slots.values()) {
      s.m.dispose();
      s.v.dispose();
    }
    this.slots.clear();
    this.disposed = true;
  }
}

/**
 * ActionCLIP's grouping: pre-trained parameters at `lr`, newly initialised modules at
 * `lr × newModuleRatio`; frozen parameters (not trainable) are left out.
 */
export function makeParamGroups(options: {
  pretrained: readonly tf.Variable[];
  newModules: readonly tf.Variable[];
  lr: number;
  newModuleRatio?: number;
}): ParamGroup[] {
  const ratio = options.newModuleRatio ?? 10;
  const groups: ParamGroup[] = [
    { name: 'pretrained', params: options.pretrained.filter((p) => p.trainable), lr: options.lr },
    { name: 'new', params: options.newModules.filter((p) => p.trainable), lr: options.lr * ratio },
  ];
  return groups.filter((g) => g.params.length > 0);
}
