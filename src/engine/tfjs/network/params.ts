import * as tf from '@tensorflow/tfjs';
import { WeightsError } from '../../../errors.js';
import type { TensorMap } from '../../../model/weights/tensor-map.js';

/** Keys of the fusion head live under this prefix in the ParamStore. */
export const FUSION_PREFIX = 'fusion.';

/**
 * The model's parameters as tfjs variables, kept in PyTorch's layouts (Linear weights [out,in]) so that
 * gradients come out in the layout of the reference and of the checkpoints we write back.
 */
export class ParamStore {
  private readonly vars = new Map<string, tf.Variable>();

  constructor(private readonly source: string) {}

  /** Adds every tensor of `map` under `prefix` (e.g. "fusion."). */
  addAll(map: TensorMap, prefix = '', trainable = true): void {
    for (const [name, t] of map) this.add(prefix + name, t.shape, t.data, trainable);
  }

  add(name: string, shape: readonly number[], data: Float32Array | Int32Array, trainable = true): tf.Variable {
    this.vars.get(name)?.dispose();
    const v = tf.tidy(() => tf.variable(tf.tensor(data, [...shape], data instanceof Int32Array ? 'int32' : 'float32'), trainable, `${name}#${ParamStore.counter++}`));
    this.vars.set(name, v);
    return v;
  }

  private static counter = 0;

  has(name: string): boolean {
    return this.vars.has(name);
  }

  /** The variable `name`, checked against the shape the model needs, with an error naming file and key. */
  get(name: string, shape?: readonly (number | undefined)[]): tf.Variable {
    const v = this.vars.get(name);
    if (v === undefined) throw new WeightsError('missing tensor', this.source, name);
    if (shape !== undefined) {
      const ok = v.shape.length === shape.length && shape.every((d, i) => d === undefined || d === v.shape[i]);
      if (!ok) {
        throw new WeightsError(`tensor has shape [${v.shape.join(',')}] but the model needs [${shape.map((d) => d ?? '*').join(',')}]`, this.source, name);
      }
    }
    return v;
  }

  entries(): IterableIterator<[string, tf.Variable]> {
    return this.vars.entries();
  }

  /** Variables whose names match, for optimisers and freezing. */
  select(predicate: (name: string) => boolean): tf.Variable[] {
    return [...this.vars].filter(([n]) => predicate(n)).map(([, v]) => v);
  }

  nameOf(v: tf.Variable): string | undefined {
    for (const [n, x] of this.vars) if (x === v) return n;
    return undefined;
  }

  /** Host copies of every parameter (for checkpoints). */
  async toTensorMap(prefix = '', strip = true): Promise<TensorMap> {
    const out: TensorMap = new Map();
    for (const [name, v] of this.vars) {
      if (!name.startsWith(prefix)) continue;
      const data = (await v.data()) as Float32Array | Int32Array;
      out.set(strip ? name.slice(prefix.length) : name, { shape: v.shape, dtype: v.dtype === 'int32' ? 'int32' : 'float32', data });
    }
    return out;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}
