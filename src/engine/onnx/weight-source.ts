import { WeightsError } from '../../errors.js';
import type { TensorMap } from '../../model/weights/tensor-map.js';

/** Float tensors by key, with the file named in errors. */
export class WeightSource {
  constructor(
    private readonly map: TensorMap,
    readonly file: string,
  ) {}

  has(key: string): boolean {
    return this.map.has(key);
  }

  get(key: string, shape?: readonly number[]): { data: Float32Array; shape: readonly number[] } {
    const t = this.map.get(key);
    if (t === undefined) throw new WeightsError('missing tensor', this.file, key);
    if (t.dtype !== 'float32') throw new WeightsError(`expected float32, got ${t.dtype}`, this.file, key);
    if (shape !== undefined && (shape.length !== t.shape.length || shape.some((d, i) => d !== t.shape[i]))) {
      throw new WeightsError(`shape [${t.shape.join(',')}] where [${shape.join(',')}] was expected`, this.file, key);
    }
    return { data: t.data as Float32Array, shape: t.shape };
  }

  /** Count of `prefix{i}.` blocks. */
  countBlocks(prefix: string): number {
    const ids = new Set<number>();
    for (const k of this.map.keys()) if (k.startsWith(prefix)) ids.add(Number(k.slice(prefix.length).split('.')[0]));
    return ids.size;
  }
}
