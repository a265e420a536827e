import type { EngineWeights } from '../../src/engine/engine.js';
import type { HeadName } from '../../src/model/heads.js';
import { readSafetensors } from '../../src/model/weights/safetensors.js';
import type { TensorMap } from '../../src/model/weights/tensor-map.js';
import { fixture } from './fixtures.js';

/** The reference fixture's tensors read straight from safetensors (independent of the loader under test). */
export async function referenceWeights(head: HeadName): Promise<EngineWeights> {
  const clip = (await readSafetensors(fixture('clip.safetensors'))).tensors;
  let fusion: TensorMap | null = null;
  if (head !== 'meanP') {
    fusion = new Map();
    for (const [k, v] of (await readSafetensors(fixture(`fusion-${head}.safetensors`))).tensors) fusion.set(k.replace(/^module\./, ''), v);
  }
  return { clip, fusion, head, frames: 8, sources: { clip: fixture('clip.safetensors'), fusion: head === 'meanP' ? undefined : fixture(`fusion-${head}.safetensors`) } };
}

export async function referenceCases(): Promise<TensorMap> {
  return (await readSafetensors(fixture('cases.safetensors'))).tensors;
}
