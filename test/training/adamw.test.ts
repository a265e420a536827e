import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdamW, makeParamGroups } from '../../src/training/adamw.js';
import { readSafetensors } from '../../src/model/weights/safetensors.js';
import { fixture, HAVE_FIXTURES, maxAbsErrorRelative } from '../support/fixtures.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});

/** torch.optim.AdamW on the host in float64, written out independently of the implementation. */
class HostAdamW {
  m: Float64Array;
  v: Float64Array;
  t = 0;
  constructor(
    public p: Float64Array,
    readonly lr: number,
    readonly wd: number,
    readonly b1 = 0.9,
    readonly b2 = 0.98,
    readonly eps = 1e-6,
  ) {
    this.m = new Float64Array(p.length);
    this.v = new Float64Array(p.length);
  }
  step(g: ArrayLike<number>, scale = 1): void {
    this.t++;
    const bc1 = 1 - this.b1 ** this.t;
    const bc2 = 1 - this.b2 ** this.t;
    for (let i = 0; i < this.p.length; i++) {
      const gi = g[i] * scale;
      this.p[i] *= 1 - this.lr * this.wd;
      this.m[i] = this.b1 * this.m[i] + (1 - this.b1) * gi;
      this.v[i] = this.b2 * this.v[i] + (1 - this.b2) * gi * gi;
      const mhat = this.m[i] / bc1;
      const vhat = this.v[i] / bc2;
      this.p[i] -= (this.lr * mhat) / (Math.sqrt(vhat) + this.eps);
    }
  }
}

describe.skipIf(!HAVE_FIXTURES)('AdamW against the host formula on the fixture gradients', () => {
  // grad name in cases.safetensors → [weights file, key]
  const PARAMS: Record<string, [string, string, 'pretrained' | 'new']> = {
    'visual.proj': ['clip.safetensors', 'visual.proj', 'pretrained'],
    text_projection: ['clip.safetensors', 'text_projection', 'pretrained'],
    logit_scale: ['clip.safetensors', 'logit_scale', 'pretrained'],
    'visual.conv1.weight': ['clip.safetensors', 'visual.conv1.weight', 'pretrained'],
    'fusion.frame_position_embeddings.weight': ['fusion-Transf.safetensors', 'module.frame_position_embeddings.weight', 'new'],
    'fusion.transformer.resblocks.0.attn.in_proj_weight': ['fusion-Transf.safetensors', 'module.transformer.resblocks.0.attn.in_proj_weight', 'new'],
  };

  async function load(): Promise<{ params: Map<string, Float32Array>; grads: Map<string, Float32Array>; shapes: Map<string, number[]> }> {
    const cases = (await readSafetensors(fixture('cases.safetensors'))).tensors;
    const clip = (await readSafetensors(fixture('clip.safetensors'))).tensors;
    const fusion = (await readSafetensors(fixture('fusion-Transf.safetensors'))).tensors;
    const params = new Map<string, Float32Array>();
    const grads = new Map<string, Float32Array>();
    const shapes = new Map<string, number[]>();
    for (const [name, [file, key]] of Object.entries(PARAMS)) {
      const src = file === 'clip.safetensors' ? clip : fusion;
      const p = src.get(key);
      const g = cases.get(`grad.${name}`);
      if (!p || !g) throw new Error(`missing ${key} or grad.${name}`);
      expect(g.data.length).toBe(p.data.length);
      params.set(name, p.data as Float32Array);
      grads.set(name, g.data as Float32Array);
      // The gradient's shape (logit_scale: [1] for the parameter's []) is the one tfjs uses.
      shapes.set(name, [...g.shape]);
    }
    return { params, grads, shapes };
  }

  function setup(
    params: Map<string, Float32Array>,
    shapes: Map<string, number[]>,
    lr: number,
  ): { vars: Map<string, tf.Variable>; opt: (o?: ConstructorParameters<typeof AdamW>[1]) => AdamW } {
    const vars = new Map<string, tf.Variable>();
    for (const [name, data] of params) vars.set(name, tf.variable(tf.tensor(data, shapes.get(name)), true, name));
    const groups = makeParamGroups({
      pretrained: [...vars].filter(([n]) => PARAMS[n][2] === 'pretrained').map(([, v]) => v),
      newModules: [...vars].filter(([n]) => PARAMS[n][2] === 'new').map(([, v]) => v),
      lr,
      newModuleRatio: 10,
    });
    return { vars, opt: (o) => new AdamW(groups, o) };
  }

  it('one step (and two more with other gradients) matches torch.optim.AdamW computed in float64', async () => {
    const { params, grads, shapes } = await load();
    const lr = 1e-3;
    const { vars, opt: make } = setup(params, shapes, lr);
    const opt = make({ betas: [0.9, 0.98], eps: 1e-6, weightDecay: 0.2 });
    const host = new Map<string, HostAdamW>();
    for (const [name, data] of params) host.set(name, new HostAdamW(Float64Array.from(data), PARAMS[name][2] === 'new' ? lr * 10 : lr, 0.2));

    // Step 1: the fixture gradients. Steps 2, 3: rescaled and sign-flipped copies, so the moments
    // and both bias corrections matter (the first Adam step alone is ≈ lr·sign(g)).
    const factors = [1, -0.37, 2.5];
    let worstP = 0;
    let worstD = 0;
    for (const f of factors) {
      const named: tf.NamedTensorMap = {};
      for (const [name, g] of grads) named[name] = tf.mul(tf.tensor(g, shapes.get(name)), f);
      opt.applyGradients(named);
      tf.dispose(named);
      for (const [name, g] of grads) host.get(name)!.step(g.map((x) => x * f));

      for (const [name, v] of vars) {
        const got = v.dataSync();
        const want = host.get(name)!.p;
        const before = params.get(name)!;
        // The parameters, and (stricter) the change from the original values.
        const eP = maxAbsErrorRelative(got, want);
        expect(eP, `${name} after step ${opt.step}`).toBeLessThan(1e-6);
        const dGot = Array.from(got, (x, i) => x - before[i]);
        const dWant = Array.from(want, (x, i) => x - before[i]);
        const eD = maxAbsErrorRelative(dGot, dWant);
        expect(eD, `${name} update after step ${opt.step}`).toBeLessThan(5e-4);
        worstP = Math.max(worstP, eP);
        worstD = Math.max(worstD, eD);
      }
    }
    console.info(`AdamW vs float64 host: worst parameter error ${worstP.toExponential(2)}, worst update error ${worstD.toExponential(2)} (relative)`);
    opt.dispose();
    for (const v of vars.values()) v.dispose();
  });

  it('global-norm clipping scales the gradients as clip_grad_norm_ does', async () => {
    const { params, grads, shapes } = await load();
    const lr = 1e-3;
    const { vars, opt: make } = setup(params, shapes, lr);
    let sq = 0;
    for (const g of grads.values()) for (const x of g) sq += x * x;
    const norm = Math.sqrt(sq);
    const maxNorm = norm / 7;
    const opt = make({ weightDecay: 0.2, clipGradNorm: maxNorm });
    const scale = maxNorm / (norm + 1e-6);
    const host = new Map<string, HostAdamW>();
    for (const [name, data] of params) host.set(name, new HostAdamW(Float64Array.from(data), PARAMS[name][2] === 'new' ? lr * 10 : lr, 0.2));
    for (const f of [1, 0.5]) {
      const named: tf.NamedTensorMap = {};
      for (const [name, g] of grads) named[name] = tf.mul(tf.tensor(g, shapes.get(name)), f);
      const res = opt.applyGradients(named);
      tf.dispose(named);
      expect(res.gradNorm / (norm * f)).toBeCloseTo(1, 5);
      expect(res.clipScale).toBeCloseTo(maxNorm / (norm * f + 1e-6), 6);
      for (const [name, g] of grads) host.get(name)!.step(g, f * (maxNorm / (norm * f + 1e-6)));
    }
    expect(scale).toBeLessThan(1);
    for (const [name, v] of vars) {
      const got = v.dataSync();
      const before = params.get(name)!;
      const dGot = Array.from(got, (x, i) => x - before[i]);
      const dWant = Array.from(host.get(name)!.p, (x, i) => x - before[i]);
      expect(maxAbsErrorRelative(dGot, dWant), name).toBeLessThan(5e-4);
    }
    opt.dispose();
    for (const v of vars.values()) v.dispose();
  });
});

describe('AdamW mechanics', () => {
  it('keeps the tensor count constant over many minimize() steps and reduces a quadratic', () => {
    const w = tf.variable(tf.tensor([[3, -2], [1, 4]]), true, 'w_quad');
    const b = tf.variable(tf.tensor([0.5, -0.5]), true, 'b_quad');
    const target = tf.tensor([[1, 2], [3, 4]]);
    const opt = new AdamW(makeParamGroups({ pretrained: [w], newModules: [b], lr: 0.05 }), { weightDecay: 0.01, clipGradNorm: 5 });
    const loss = (): tf.Scalar => tf.sum(tf.square(tf.sub(tf.add(w, b), target)));
    const first = opt.minimize(loss).loss;
    const baseline = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 200; i++) last = opt.minimize(loss).loss;
    expect(tf.memory().numTensors).toBe(baseline);
    expect(last).toBeLessThan(first * 0.05);
    opt.dispose();
    tf.dispose([w, b, target]);
  });

  it('skips parameters without gradients and frozen ones, and state round-trips for resume', async () => {
    const a = tf.variable(tf.tensor([1, 2, 3]), true, 'a_state');
    const frozen = tf.variable(tf.tensor([5]), false, 'frozen_state');
    const groups = makeParamGroups({ pretrained: [a, frozen], newModules: [], lr: 0.1 });
    expect(groups).toHaveLength(1);
    expect(groups[0].params.map((p) => p.name)).toEqual(['a_state']);
    const opt = new AdamW(groups);
    const g = tf.tensor([0.1, -0.2, 0.3]);
    opt.applyGradients({ a_state: g });
    opt.applyGradients({});
    expect(opt.step).toBe(1);
    const state = await opt.getState();
    const snapshot = a.dataSync().slice();

    // A second optimiser restored from the state continues exactly like the first.
    const b = tf.variable(tf.tensor(snapshot), true, 'a_state2');
    const opt2 = new AdamW([{ name: 'x', params: [b], lr: 0.1 }]);
    opt2.setState({ step: state.step, moments: new Map([['a_state2', state.moments.get('a_state')!]]) });
    opt.applyGradients({ a_state: g });
    opt2.applyGradients({ a_state2: g });
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    expect(() => opt2.setState({ step: 1, moments: new Map([['nope', state.moments.get('a_state')!]]) })).toThrow(/not a parameter/);
    opt.dispose();
    opt2.dispose();
    tf.dispose([a, b, frozen, g]);
  });

  it('rejects duplicate variables and shape mismatches', () => {
    const a = tf.variable(tf.zeros([2]), true, 'dup_a');
    expect(() => new AdamW([{ name: 'g', params: [a, a], lr: 1 }])).toThrow(/twice/);
    const opt = new AdamW([{ name: 'g', params: [a], lr: 1 }]);
    const bad = tf.zeros([3]);
    expect(() => opt.applyGradients({ dup_a: bad })).toThrow(/shape/);
    opt.dispose();
    tf.dispose([a, bad]);
  });
});
