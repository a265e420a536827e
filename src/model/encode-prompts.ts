import { EngineError } from '../errors.js';
import type { ClipConfig } from './clip-config.js';
import { tokenize } from './tokenizer.js';

/** Anything that embeds token ids (every Engine, ActionClipModel). */
export interface PromptEncoder {
  readonly info: { readonly clip: Pick<ClipConfig, 'embedDim' | 'contextLength'> };
  encodeText(tokens: Int32Array, n: number): Promise<Float32Array>;
}

/** Prompts per encodeText call. */
export const PROMPT_CHUNK = 256;

/**
 * Text embeddings `[prompts, D]` (not normalised), encoded in chunks: a preset vocabulary is 16 ×
 * hundreds of labels, and one call with all of them would hold every prompt's activations at once
 * (on any engine). An encoder that answers with the wrong size is an EngineError.
 */
export async function encodePrompts(encoder: PromptEncoder, prompts: readonly string[], chunkSize = PROMPT_CHUNK): Promise<Float32Array> {
  const { embedDim: dim, contextLength } = encoder.info.clip;
  const out = new Float32Array(prompts.length * dim);
  for (let start = 0; start < prompts.length; start += chunkSize) {
    const chunk = prompts.slice(start, start + chunkSize);
    const emb = await encoder.encodeText(tokenize(chunk, contextLength), chunk.length);
    if (emb.length !== chunk.length * dim) throw new EngineError(`engine.encodeText returned ${emb.length} values for ${chunk.length} prompts of dimension ${dim}`, false);
    out.set(emb, start * dim);
  }
  return out;
}
