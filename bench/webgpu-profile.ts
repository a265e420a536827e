/**
 * Where the webgpu engine's time goes, by kernel (tf.profile with WebGPU timestamp queries): the
 * measurement that says whether hand-written WGSL would pay off. Attention (the 4-D batched
 * matmuls and the softmax), LayerNorm (mean, sub, square, rsqrt and the affine ops) and the linear
 * layers (2-D matmuls) are summed separately: fused attention replaces the first group, fused
 * LayerNorm + matmul the second.
 *
 *   node dist/bench/webgpu-profile.js [--model B/32|B/16|tiny] [--batch 32] [--out FILE.json]
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { createWebGpuEngine } from '../src/engine/webgpu/webgpu-engine.js';
import { CLIP_SPECS, syntheticClipWeights, uniformNoise, type ClipSpec } from '../src/model/weights/synthetic-weights.js';

const TINY: ClipSpec = { name: 'tiny', patch: 8, resolution: 32, visionWidth: 128, visionLayers: 2, embedDim: 64, textWidth: 128, textLayers: 2 };
const LAYER_NORM = new Set(['Mean', 'Sub', 'Square', 'Rsqrt']);

function group(name: string, shapes: number[][]): string {
  if (name === 'BatchMatMul') return shapes[0]?.length === 4 ? 'attention (QKᵀ, AV)' : 'linear layers (matmul)';
  if (name === 'Softmax') return 'attention (QKᵀ, AV)';
  if (LAYER_NORM.has(name)) return 'layer norm (mean, variance, rsqrt)';
  return `other: ${name}`;
}

async function main(argv: string[]): Promise<void> {
  const opt = (k: string, d: string): string => (argv.includes(k) ? argv[argv.indexOf(k) + 1] : d);
  const modelName = opt('--model', 'B/32');
  const spec = modelName === 'tiny' ? TINY : CLIP_SPECS[`ViT-${modelName}` as keyof typeof CLIP_SPECS];
  if (spec === undefined) throw new Error(`unknown model ${modelName}`);
  const batch = Number(opt('--batch', '32'));
  const engine = await createWebGpuEngine({ clip: syntheticClipWeights(spec), fusion: null, head: 'meanP', frames: 8, sources: { clip: `<random ${spec.name}>` } });
  try {
    const pixels = uniformNoise(batch * 3 * spec.resolution ** 2, 1.5, { s: 3 });
    await engine.encodeFrames(pixels, batch);
    const t0 = performance.now();
    const p = await tf.profile(async () => {
      await engine.encodeFrames(pixels, batch);
    });
    const wallMs = performance.now() - t0;
    const groups = new Map<string, number>();
    for (const k of p.kernels) {
      const key = group(k.name, k.inputShapes);
      groups.set(key, (groups.get(key) ?? 0) + (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0));
    }
    const kernelMs = [...groups.values()].reduce((a, b) => a + b, 0);
    const shares = [...groups].sort((a, b) => b[1] - a[1]).map(([what, ms]) => ({ what, ms, share: kernelMs > 0 ? ms / kernelMs : null }));
    const result = { date: new Date().toISOString(), adapter: engine.info.backend, model: spec.name, batch, wallMs, kernelMs, kernels: p.kernels.length, shares };
    for (const s of shares) process.stderr.write(`${s.what.padEnd(40)} ${s.ms.toFixed(1).padStart(9)} ms ${s.share === null ? '' : `${(100 * s.share).toFixed(0)}%`}\n`);
    const out = opt('--out', '');
    if (out !== '') writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    else process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    engine.dispose();
  }
}

await main(process.argv.slice(2));
