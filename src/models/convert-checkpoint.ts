import { open, rm } from 'node:fs/promises';
import path from 'node:path';
import { loadWeights } from '../model/weights/load-weights.js';
import { writeSafetensors } from '../model/weights/safetensors.js';
import type { TensorMap } from '../model/weights/tensor-map.js';
import { atomicWrite } from '../lifecycle/atomic-write.js';

/** torch.save writes a zip archive: a pulled file that starts like one is a checkpoint to convert. */
export async function isTorchCheckpoint(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    return bytesRead === 4 && head.equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]));
  } finally {
    await fh.close();
  }
}

/**
 * Converts an ActionCLIP training checkpoint (`model_state_dict` + `fusion_model_state_dict`)
 * into the project's pair, `clip.safetensors` and `fusion-<head>.safetensors`, beside it, then
 * deletes the `.pt`: later loads map the safetensors instead of unpickling and converting the
 * checkpoint each time. The tensors are the loader's (float32, validated), so the pair loads to
 * exactly what the `.pt` loads to. Returns the names written.
 */
export async function convertCheckpoint(ptFile: string): Promise<string[]> {
  const dir = path.dirname(ptFile);
  const w = await loadWeights(ptFile);
  const source = path.basename(ptFile);
  const written = [await writeAtomically(dir, 'clip.safetensors', w.clip, { format: 'pt', source: `converted from ${source}` })];
  if (w.fusion !== null && w.fusion.size > 0 && w.head !== null && w.head !== 'meanP') {
    const meta: Record<string, string> = { format: 'actionclip-fusion', sim_header: w.head, source: `converted from ${source}` };
    if (w.frames !== null) meta.T = String(w.frames);
    written.push(await writeAtomically(dir, `fusion-${w.head}.safetensors`, w.fusion, meta));
  }
  await rm(ptFile);
  return written;
}

async function writeAtomically(dir: string, name: string, tensors: TensorMap, metadata: Record<string, string>): Promise<string> {
  await atomicWrite(path.join(dir, name), (tmp) => writeSafetensors(tmp, tensors, metadata));
  return name;
}
