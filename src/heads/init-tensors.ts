/** Host tensors for head initialisers: ActionCLIP's init_weights distributions, from a seeded HeadRng. */
import type { HostTensor } from '../model/weights/tensor-map.js';
import type { HeadRng } from './types.js';

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export function hostTensor(shape: number[], data: Float32Array): HostTensor {
  return { shape, dtype: 'float32', data };
}

export function zeros(shape: number[]): HostTensor {
  return hostTensor(shape, new Float32Array(size(shape)));
}

export function ones(shape: number[]): HostTensor {
  return hostTensor(shape, new Float32Array(size(shape)).fill(1));
}

/** N(0, std²) by Box–Muller: two independent normals per pair of uniforms. */
export function gauss(rng: HeadRng, shape: number[], std = 0.02): HostTensor {
  const n = size(shape);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - rng.next();
    const v = rng.next();
    const r = Math.sqrt(-2 * Math.log(u)) * std;
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return hostTensor(shape, out);
}

/** U(-bound, bound). */
export function uniform(rng: HeadRng, shape: number[], bound: number): HostTensor {
  const n = size(shape);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniform(-bound, bound);
  return hostTensor(shape, out);
}

/** Xavier-uniform bound of MultiheadAttention's packed `[3D, D]` in_proj weight. */
export function inProjBound(d: number): number {
  return Math.sqrt(6 / (d + 3 * d));
}
