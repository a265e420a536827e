import { existsSync } from 'node:fs';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { WeightsError } from '../../errors.js';
import { headDefinition, parseHeadName, type HeadName } from '../../heads/registry.js';
import type { ClipConfig } from '../clip-config.js';
import { detectClipLayout, detectFrames, detectFusionHead, huggingFaceToOpenAi, isIgnoredKey, stripModulePrefix } from './key-maps.js';
import { readSafetensors } from './safetensors.js';
import type { TensorMap } from './tensor-map.js';
import { isHostTensor, isPyDict, readTorchCheckpoint, type PyDict, type PyKey } from './torch-checkpoint.js';
import { validateClipWeights } from './validate-clip.js';

export interface LoadedWeights {
  /** CLIP tensors with OpenAI names, float32, validated against the ViT architecture. */
  clip: TensorMap;
  /** Fusion-head tensors without the `module.` prefix; null when no head was loaded. meanP: empty map. */
  fusion: TensorMap | null;
  head: HeadName | null;
  /** Clip length T the head was trained for, when the weights say it. */
  frames: number | null;
  /** Files read; for a sharded checkpoint, `clip` is its index and `shards` its files. */
  sources: { clip: string; fusion?: string; shards?: string[] };
  /** Sizes of the CLIP model, read from the weights. */
  config: ClipConfig;
  /**
   * Set when a directory held several fusion files and none was asked for: none is loaded
   * (guessing could silently change predictions); pass `opts.fusion` to pick one.
   */
  fusionCandidates?: string[];
}

export interface LoadWeightsOptions {
  /**
   * Fusion head to use: a `.safetensors` path, or a head name (`Transf`, `meanP`...) to pick
   * `fusion-<head>.safetensors` in the weights directory (or check the `.pt`'s own head).
   */
  fusion?: string;
}

/**
 * Loads CLIP (+ optional temporal head) weights from:
 * - a `.safetensors` file, OpenAI or Hugging Face `CLIPModel` layout (no fusion head is picked
 *   up beside a single file: only `opts.fusion` adds one);
 * - a directory with one CLIP `.safetensors` (`clip.safetensors` / `model.safetensors`, or a
 *   sharded `model.safetensors.index.json`) and optionally `fusion*.safetensors` files
 *   (exactly one is used automatically; with several, none, see `fusionCandidates`);
 * - an ActionCLIP `torch.save` checkpoint (`model_state_dict` + `fusion_model_state_dict`).
 * The file kind is sniffed from its first bytes, not its extension.
 */
export async function loadWeights(p: string, opts: LoadWeightsOptions = {}): Promise<LoadedWeights> {
  const st = await stat(p).catch((err: unknown) => {
    throw new WeightsError(`weights path not found (${(err as NodeJS.ErrnoException).code ?? String(err)})`, p, undefined, { cause: err });
  });
  let clipPart: ClipPart;
  let dirFusion: { file: string | null; candidates?: string[] } = { file: null };
  if (st.isDirectory()) {
    const found = await scanDirectory(p, opts.fusion);
    clipPart = await loadClipFile(found.clip, found.shards);
    dirFusion = { file: found.fusion, candidates: found.fusionCandidates };
  } else {
    clipPart = await loadClipFile(p);
  }

  const config = validateClipWeights(clipPart.clip, clipPart.file);
  const embedDim = config.embedDim;

  let fusion: FusionPart | null = clipPart.fusion;
  const asked = opts.fusion;
  const askedHead = asked === undefined ? undefined : fusionHeadName(asked);
  if (asked === undefined) {
    // A .pt's own head wins over a fusion file lying beside it.
    if (dirFusion.file !== null && fusion === null) fusion = await loadFusionFile(dirFusion.file);
  } else if (askedHead === 'meanP') {
    fusion = { tensors: new Map(), head: 'meanP', frames: null, file: undefined };
  } else if (askedHead !== undefined) {
    if (dirFusion.file !== null) fusion = await loadFusionFile(dirFusion.file);
    else if (fusion === null) throw new WeightsError(`no weights for fusion head ${askedHead} here (put fusion-${askedHead}.safetensors beside the CLIP weights or pass its path)`, p);
    if (fusion.head !== askedHead) throw new WeightsError(`the fusion weights are a ${fusion.head} head, not ${askedHead}`, fusion.file ?? p);
  } else {
    fusion = await loadFusionFile(asked);
  }

  if (fusion !== null) validateFusionWeights(fusion.tensors, fusion.head, embedDim, fusion.frames, fusion.file ?? clipPart.file, config.contextLength);

  const result: LoadedWeights = {
    clip: clipPart.clip,
    fusion: fusion?.tensors ?? null,
    head: fusion?.head ?? null,
    frames: fusion?.frames ?? null,
    sources: { clip: clipPart.file, ...(fusion?.file === undefined ? {} : { fusion: fusion.file }), ...(clipPart.shards === undefined ? {} : { shards: clipPart.shards }) },
    config,
  };
  if (fusion === null && dirFusion.candidates !== undefined) result.fusionCandidates = dirFusion.candidates;
  return result;
}

interface FusionPart {
  tensors: TensorMap;
  head: HeadName;
  frames: number | null;
  /** undefined for an explicit meanP (no file). */
  file: string | undefined;
}

interface ClipPart {
  clip: TensorMap;
  file: string;
  /** A `.pt` checkpoint carries its own head. */
  fusion: FusionPart | null;
  shards?: string[];
}

// ---------------------------------------------------------------------------------------------
// Files and directories

async function scanDirectory(
  dir: string,
  askedFusion: string | undefined,
): Promise<{ clip: string; shards?: string[]; fusion: string | null; fusionCandidates?: string[] }> {
  const names = (await readdir(dir)).sort();
  const st = names.filter((n) => n.endsWith('.safetensors'));
  const fusionNames = st.filter((n) => n.toLowerCase().startsWith('fusion'));
  const clipNames = st.filter((n) => !fusionNames.includes(n));

  let clip: string;
  let shards: string[] | undefined;
  if (clipNames.includes('clip.safetensors')) clip = 'clip.safetensors';
  else if (clipNames.includes('model.safetensors')) clip = 'model.safetensors';
  else if (names.includes('model.safetensors.index.json')) {
    clip = 'model.safetensors.index.json';
    shards = await readShardIndex(path.join(dir, clip));
  } else if (clipNames.length === 1) clip = clipNames[0];
  else if (clipNames.length > 1) {
    throw new WeightsError(`directory holds several CLIP weight files (${clipNames.join(', ')}); name one clip.safetensors or pass the file`, dir);
  } else {
    const pts = names.filter((n) => /\.(pt|pth|pth\.tar|ckpt)$/.test(n));
    if (pts.length === 1) clip = pts[0];
    else throw new WeightsError(pts.length > 1 ? `directory holds several checkpoints (${pts.join(', ')}); pass one` : 'directory holds no .safetensors or .pt weights', dir);
  }

  let fusion: string | null = null;
  let fusionCandidates: string[] | undefined;
  const askedHead = askedFusion === undefined ? undefined : fusionHeadName(askedFusion);
  if (askedHead !== undefined && askedHead !== 'meanP') {
    const match = fusionNames.filter((n) => parseHeadName(n.replace(/^fusion[-_]?/i, '').replace(/\.safetensors$/, '')) === askedHead);
    if (match.length === 1) fusion = path.join(dir, match[0]);
    else if (!clip.endsWith('.safetensors') && !clip.endsWith('.json')) fusion = null; // a .pt: checked against its own head
    else throw new WeightsError(`no fusion-${askedHead}.safetensors in the directory (fusion files: ${fusionNames.join(', ') || 'none'})`, dir);
  } else if (askedFusion === undefined) {
    if (fusionNames.length === 1) fusion = path.join(dir, fusionNames[0]);
    else if (fusionNames.length > 1) fusionCandidates = fusionNames.map((n) => path.join(dir, n));
  }
  return { clip: path.join(dir, clip), shards: shards?.map((s) => path.join(dir, s)), fusion, fusionCandidates };
}

/** `opts.fusion` names a head (not a file) when it is no existing path and parses as one. */
function fusionHeadName(asked: string): HeadName | undefined {
  if (existsSync(asked) || asked.includes('/') || asked.includes('\\') || asked.endsWith('.safetensors')) return undefined;
  return parseHeadName(asked);
}

async function readShardIndex(file: string): Promise<string[]> {
  try {
    const index = JSON.parse(await readFile(file, 'utf8')) as { weight_map?: Record<string, string> };
    const files = [...new Set(Object.values(index.weight_map ?? {}))];
    if (files.length === 0 || files.some((f) => typeof f !== 'string')) throw new Error('no weight_map');
    return files.sort();
  } catch (err) {
    throw new WeightsError(`cannot read the shard index: ${err instanceof Error ? err.message : String(err)}`, file, undefined, { cause: err });
  }
}

async function sniff(file: string): Promise<'zip' | 'other'> {
  const fh = await open(file, 'r').catch((err: unknown) => {
    throw new WeightsError(`cannot open weights file (${(err as NodeJS.ErrnoException).code ?? String(err)})`, file, undefined, { cause: err });
  });
  try {
    const b = Buffer.alloc(2);
    const { bytesRead } = await fh.read(b, 0, 2, 0);
    return bytesRead === 2 && b[0] === 0x50 && b[1] === 0x4b ? 'zip' : 'other';
  } finally {
    await fh.close();
  }
}

async function loadClipFile(file: string, shards?: string[]): Promise<ClipPart> {
  if (shards !== undefined) {
    const merged: TensorMap = new Map();
    for (const s of shards) for (const [k, v] of (await readSafetensors(s)).tensors) merged.set(k, v);
    return { clip: normalizeClip(merged, file), file, fusion: null, shards };
  }
  if ((await sniff(file)) === 'zip') return loadTorchFile(file);
  const { tensors, metadata } = await readSafetensors(file);
  if (metadata.format === 'actionclip-fusion' || (detectClipLayout(tensors) === undefined && looksLikeFusion(tensors))) {
    throw new WeightsError('this is a fusion-head file, not CLIP weights: pass the CLIP weights as the path and this file as the fusion option', file);
  }
  return { clip: normalizeClip(tensors, file), file, fusion: null };
}

function looksLikeFusion(tensors: TensorMap): boolean {
  const keys = [...stripModulePrefix(tensors).keys()];
  return keys.some((k) => k.startsWith('frame_position_embeddings.') || k === 'shift.weight' || k.startsWith('lstm_visual.'));
}

async function loadFusionFile(file: string): Promise<FusionPart> {
  const st = await stat(file).catch((err: unknown) => {
    throw new WeightsError(`fusion weights not found (${(err as NodeJS.ErrnoException).code ?? String(err)})`, file, undefined, { cause: err });
  });
  if (!st.isFile()) throw new WeightsError('fusion weights path is not a file', file);
  const { tensors: raw, metadata } = await readSafetensors(file);
  if (detectClipLayout(stripModulePrefix(raw)) !== undefined && !looksLikeFusion(raw)) {
    throw new WeightsError('this holds CLIP weights, not a fusion head', file);
  }
  const tensors = stripModulePrefix(raw);
  const head = detectFusionHead(tensors, file);
  const declared = metadata.sim_header === undefined ? undefined : parseHeadName(metadata.sim_header);
  if (declared !== undefined && declared !== head) {
    throw new WeightsError(`metadata says sim_header ${metadata.sim_header} but the tensors are a ${head} head`, file, '__metadata__.sim_header');
  }
  return { tensors, head, frames: detectFrames(tensors, metadata, file), file };
}

/** Top-level entries of an ActionCLIP checkpoint that hold the weights we need. */
const MODEL_KEYS = ['model_state_dict', 'state_dict', 'model'];
const FUSION_KEY = 'fusion_model_state_dict';

async function loadTorchFile(file: string): Promise<ClipPart> {
  const ckpt = await readTorchCheckpoint(file, {
    // Skip optimizer moments: they can be twice the model's size.
    select: (p) => p.length === 1 || (p.length === 2 && (MODEL_KEYS.includes(String(p[0])) || p[0] === FUSION_KEY)),
  });
  const root = ckpt.root;
  if (!isPyDict(root)) throw new WeightsError('checkpoint does not hold a dict', file);
  let modelKey = MODEL_KEYS.find((k) => isPyDict(root.get(k)));
  let model: PyDict;
  if (modelKey !== undefined) model = root.get(modelKey) as PyDict;
  else if ([...root.values()].some(isHostTensor) && [...root.keys()].some((k) => typeof k === 'string' && /(^|\.)(visual\.|vision_model\.)/.test(k))) {
    // A bare CLIP state dict saved with torch.save.
    model = root;
    modelKey = '';
  } else {
    const keys = [...root.keys()].map(String);
    throw new WeightsError(`checkpoint has no model_state_dict (top-level keys: ${keys.join(', ') || 'none'})`, file, 'model_state_dict');
  }
  const clip = normalizeClip(stateDictToTensors(model, file, modelKey), file);

  let fusion: FusionPart | null = null;
  const fsd = root.get(FUSION_KEY);
  if (fsd !== undefined && fsd !== null) {
    if (!isPyDict(fsd)) throw new WeightsError('fusion_model_state_dict is not a dict', file, FUSION_KEY);
    const tensors = stripModulePrefix(stateDictToTensors(fsd, file, FUSION_KEY));
    fusion = { tensors, head: detectFusionHead(tensors, file), frames: detectFrames(tensors, undefined, file), file };
  }
  return { clip, file, fusion };
}

function stateDictToTensors(d: PyDict, file: string, where: string): TensorMap {
  const out: TensorMap = new Map();
  for (const [k, v] of d) {
    const key = String(k as PyKey);
    const full = where === '' ? key : `${where}.${key}`;
    if (typeof k !== 'string') throw new WeightsError('state dict key is not a string', file, full);
    if (!isHostTensor(v)) throw new WeightsError('state dict entry is not a tensor', file, full);
    out.set(k, v);
  }
  return out;
}

/** Any supported CLIP layout → OpenAI names, without buffers that carry no weights. */
function normalizeClip(raw: TensorMap, file: string): TensorMap {
  const tensors = stripModulePrefix(raw);
  const layout = detectClipLayout(tensors);
  if (layout === undefined) {
    const keys = [...tensors.keys()];
    throw new WeightsError(
      `not CLIP weights: neither OpenAI nor Hugging Face key names (first keys: ${keys.slice(0, 4).join(', ') || 'none'})`,
      file,
    );
  }
  if (layout === 'huggingface') return huggingFaceToOpenAi(tensors, file).tensors;
  const out: TensorMap = new Map();
  for (const [k, v] of tensors) if (!isIgnoredKey(k)) out.set(k, v);
  return out;
}

/**
 * Checks a fusion head's tensors against what ActionCLIP's `visual_prompt` builds for it with
 * embedding size D (`text_projection.shape[1]`).
 */
export function validateFusionWeights(w: TensorMap, head: HeadName, embedDim: number, frames: number | null, file: string, contextLength?: number): void {
  headDefinition(head).validate(w, { embedDim, frames, contextLength }, file);
}
