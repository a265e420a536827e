import { WeightsError } from '../../errors.js';
import { HEADS, headOwning, type HeadName } from '../../heads/registry.js';
import type { HostTensor, TensorMap } from './tensor-map.js';

/**
 * Key-name translation between checkpoint layouts. The model code speaks OpenAI CLIP names
 * (`visual.transformer.resblocks.N.attn.in_proj_weight`...); Hugging Face `CLIPModel` exports
 * split q/k/v and store projections as Linear weights ([out, in]), so both need reshaping.
 */

export type ClipLayout = 'openai' | 'huggingface';

/** Buffers and bookkeeping entries that carry no learned weights. */
const IGNORED = [/(^|\.)position_ids$/, /^(input_resolution|context_length|vocab_size)$/];

export function isIgnoredKey(key: string): boolean {
  return IGNORED.some((re) => re.test(key));
}

/** DataParallel / DistributedDataParallel save every key under `module.`. */
export function stripModulePrefix(tensors: TensorMap): TensorMap {
  const all = tensors.size > 0 && [...tensors.keys()].every((k) => k.startsWith('module.'));
  if (!all) return tensors;
  const out: TensorMap = new Map();
  for (const [k, v] of tensors) out.set(k.slice('module.'.length), v);
  return out;
}

/** Which naming a CLIP state dict uses; undefined when it is neither. */
export function detectClipLayout(tensors: TensorMap): ClipLayout | undefined {
  const keys = [...tensors.keys()];
  if (keys.some((k) => k.startsWith('visual.') || k === 'token_embedding.weight' || k === 'ln_final.weight')) return 'openai';
  if (keys.some((k) => k.startsWith('vision_model.') || k.startsWith('text_model.'))) return 'huggingface';
  return undefined;
}

const HF_BLOCK = /^(vision_model|text_model)\.encoder\.layers\.(\d+)\.(.+)$/;

/** Per-block renames (HF suffix → OpenAI suffix), q/k/v handled separately. */
const BLOCK_RENAMES: Record<string, string> = {
  'self_attn.out_proj.weight': 'attn.out_proj.weight',
  'self_attn.out_proj.bias': 'attn.out_proj.bias',
  'layer_norm1.weight': 'ln_1.weight',
  'layer_norm1.bias': 'ln_1.bias',
  'layer_norm2.weight': 'ln_2.weight',
  'layer_norm2.bias': 'ln_2.bias',
  'mlp.fc1.weight': 'mlp.c_fc.weight',
  'mlp.fc1.bias': 'mlp.c_fc.bias',
  'mlp.fc2.weight': 'mlp.c_proj.weight',
  'mlp.fc2.bias': 'mlp.c_proj.bias',
};

/** One-to-one renames outside the blocks. */
const PLAIN_RENAMES: Record<string, string> = {
  'vision_model.embeddings.class_embedding': 'visual.class_embedding',
  'vision_model.embeddings.patch_embedding.weight': 'visual.conv1.weight',
  'vision_model.embeddings.position_embedding.weight': 'visual.positional_embedding',
  'vision_model.pre_layrnorm.weight': 'visual.ln_pre.weight',
  'vision_model.pre_layrnorm.bias': 'visual.ln_pre.bias',
  'vision_model.post_layernorm.weight': 'visual.ln_post.weight',
  'vision_model.post_layernorm.bias': 'visual.ln_post.bias',
  'text_model.embeddings.token_embedding.weight': 'token_embedding.weight',
  'text_model.embeddings.position_embedding.weight': 'positional_embedding',
  'text_model.final_layer_norm.weight': 'ln_final.weight',
  'text_model.final_layer_norm.bias': 'ln_final.bias',
  logit_scale: 'logit_scale',
};

/** Linear weights [D, W] that OpenAI keeps as plain matrices [W, D]. */
const TRANSPOSED: Record<string, string> = {
  'visual_projection.weight': 'visual.proj',
  'text_projection.weight': 'text_projection',
};

export interface KeyMapResult {
  readonly tensors: TensorMap;
  /** Keys of the input that were not used (unknown to the mapping). */
  readonly unused: string[];
}

/** Hugging Face `CLIPModel` names → OpenAI names (q/k/v concatenated, projections transposed). */
export function huggingFaceToOpenAi(src: TensorMap, file: string): KeyMapResult {
  const out: TensorMap = new Map();
  const unused: string[] = [];
  // q/k/v parts per (tower, layer, weight|bias), joined once all three are seen.
  const qkv = new Map<string, { q?: HostTensor; k?: HostTensor; v?: HostTensor; hfPrefix: string }>();
  for (const [key, t] of src) {
    if (isIgnoredKey(key)) continue;
    const plain = PLAIN_RENAMES[key];
    if (plain !== undefined) {
      out.set(plain, t);
      continue;
    }
    const tr = TRANSPOSED[key];
    if (tr !== undefined) {
      out.set(tr, transpose2d(t, file, key));
      continue;
    }
    const m = HF_BLOCK.exec(key);
    if (m !== null) {
      const [, tower, layer, rest] = m;
      const prefix = `${tower === 'vision_model' ? 'visual.' : ''}transformer.resblocks.${layer}.`;
      const qm = /^self_attn\.([qkv])_proj\.(weight|bias)$/.exec(rest);
      if (qm !== null) {
        const id = `${prefix}attn.in_proj_${qm[2]}`;
        const entry = qkv.get(id) ?? { hfPrefix: `${tower}.encoder.layers.${layer}.self_attn.`, };
        entry[qm[1] as 'q' | 'k' | 'v'] = t;
        qkv.set(id, entry);
        continue;
      }
      const renamed = BLOCK_RENAMES[rest];
      if (renamed !== undefined) {
        out.set(prefix + renamed, t);
        continue;
      }
    }
    unused.push(key);
  }
  for (const [id, parts] of qkv) {
    const kind = id.endsWith('weight') ? 'weight' : 'bias';
    for (const p of ['q', 'k', 'v'] as const) {
      if (parts[p] === undefined) throw new WeightsError(`${p}_proj.${kind} is missing while the other attention projections exist`, file, `${parts.hfPrefix}${p}_proj.${kind}`);
    }
    out.set(id, concatRows([parts.q!, parts.k!, parts.v!], file, `${parts.hfPrefix}{q,k,v}_proj.${kind}`));
  }
  return { tensors: out, unused };
}

/** OpenAI names → Hugging Face `CLIPModel` names; the inverse of huggingFaceToOpenAi. */
export function openAiToHuggingFace(src: TensorMap, file = '<weights>'): TensorMap {
  const out: TensorMap = new Map();
  const plainInv = Object.fromEntries(Object.entries(PLAIN_RENAMES).map(([a, b]) => [b, a]));
  const trInv = Object.fromEntries(Object.entries(TRANSPOSED).map(([a, b]) => [b, a]));
  const blockInv = Object.fromEntries(Object.entries(BLOCK_RENAMES).map(([a, b]) => [b, a]));
  for (const [key, t] of src) {
    if (plainInv[key] !== undefined) {
      out.set(plainInv[key], t);
      continue;
    }
    if (trInv[key] !== undefined) {
      out.set(trInv[key], transpose2d(t, file, key));
      continue;
    }
    const m = /^(visual\.)?transformer\.resblocks\.(\d+)\.(.+)$/.exec(key);
    if (m === null) throw new WeightsError('no Hugging Face name for this tensor', file, key);
    const prefix = `${m[1] === undefined ? 'text_model' : 'vision_model'}.encoder.layers.${m[2]}.`;
    const rest = m[3];
    const im = /^attn\.in_proj_(weight|bias)$/.exec(rest);
    if (im !== null) {
      const [q, k, v] = splitRows(t, 3, file, key);
      out.set(`${prefix}self_attn.q_proj.${im[1]}`, q);
      out.set(`${prefix}self_attn.k_proj.${im[1]}`, k);
      out.set(`${prefix}self_attn.v_proj.${im[1]}`, v);
      continue;
    }
    if (blockInv[rest] === undefined) throw new WeightsError('no Hugging Face name for this tensor', file, key);
    out.set(prefix + blockInv[rest], t);
  }
  return out;
}

function transpose2d(t: HostTensor, file: string, key: string): HostTensor {
  if (t.shape.length !== 2) throw new WeightsError(`expected a matrix, got shape [${t.shape.join(',')}]`, file, key);
  const [r, c] = t.shape;
  const out = t.dtype === 'float32' ? new Float32Array(r * c) : new Int32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j];
  return { shape: [c, r], dtype: t.dtype, data: out };
}

function concatRows(parts: HostTensor[], file: string, key: string): HostTensor {
  const tail = parts[0].shape.slice(1);
  for (const p of parts) {
    if (p.shape.length !== parts[0].shape.length || p.shape.slice(1).join(',') !== tail.join(',') || p.shape[0] !== parts[0].shape[0]) {
      throw new WeightsError(`q/k/v projections have different shapes: ${parts.map((x) => `[${x.shape.join(',')}]`).join(' ')}`, file, key);
    }
  }
  const data = new Float32Array(parts.reduce((n, p) => n + p.data.length, 0));
  let o = 0;
  for (const p of parts) {
    data.set(p.data, o);
    o += p.data.length;
  }
  return { shape: [parts[0].shape[0] * parts.length, ...tail], dtype: 'float32', data };
}

function splitRows(t: HostTensor, n: number, file: string, key: string): HostTensor[] {
  if (t.shape.length === 0 || t.shape[0] % n !== 0) throw new WeightsError(`cannot split shape [${t.shape.join(',')}] into ${n} parts`, file, key);
  const rows = t.shape[0] / n;
  const size = t.data.length / n;
  return Array.from({ length: n }, (_, i) => ({ shape: [rows, ...t.shape.slice(1)], dtype: t.dtype, data: t.data.slice(i * size, (i + 1) * size) }));
}

// ---------------------------------------------------------------------------------------------
// Fusion heads

/**
 * Which ActionCLIP temporal head a fusion state dict (without `module.`) belongs to, from the
 * submodules each head creates in `visual_prompt.__init__`. An empty dict is meanP.
 */
export function detectFusionHead(tensors: TensorMap, file: string): HeadName {
  const keys = [...tensors.keys()];
  if (keys.length === 0) return 'meanP';
  const head = headOwning(keys);
  if (head !== undefined) return head;
  throw new WeightsError(`cannot tell which fusion head these weights belong to (keys: ${keys.slice(0, 5).join(', ')}${keys.length > 5 ? ', ...' : ''})`, file);
}

/** The clip length T: safetensors metadata `T`, else what a head's tensors fix (Transf_cls's position table). */
export function detectFrames(tensors: TensorMap, metadata: Record<string, string> | undefined, file: string): number | null {
  const meta = metadata?.T;
  if (meta !== undefined) {
    const t = Number(meta);
    if (!Number.isInteger(t) || t <= 0) throw new WeightsError(`metadata T=${JSON.stringify(meta)} is not a positive integer`, file, '__metadata__.T');
    return t;
  }
  for (const head of HEADS) {
    const t = head.framesOf(tensors);
    if (t !== null) return t;
  }
  return null;
}
