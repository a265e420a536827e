import { readFile } from 'node:fs/promises';
import { unzipSync } from 'fflate';
import { WeightsError } from '../../errors.js';
import { bfloat16ToFloat32, float16ToFloat32 } from './float16.js';
import { elementCount, type HostTensor } from './tensor-map.js';
import { errorText, STORAGE_TYPES, TensorRef, unpickle, type PyDict, type PyKey, type PyValue, type TorchDtype } from './unpickler.js';

export { TensorRef, type PyDict, type PyKey, type PyValue, type TorchDtype } from './unpickler.js';

/**
 * Native reader for PyTorch `torch.save` checkpoints (the zip format, torch >= 1.6), so that
 * ActionCLIP training checkpoints load without Python. The archive holds `<name>/data.pkl` (a
 * pickle of the saved object, tensors replaced by persistent ids) and `<name>/data/<key>` (the raw
 * little-endian bytes of each storage). Only the subset of pickle that torch state dicts use is
 * understood; anything else is refused with a WeightsError rather than guessed at.
 */

export interface ReadTorchOptions {
  /**
   * Which tensors to load, by their path in the saved object (dict keys / list indices), e.g.
   * `['model_state_dict', 'visual.proj']`. Tensors not selected stay TensorRefs. Default: all.
   */
  select?: (path: readonly PyKey[]) => boolean;
}

export interface TorchCheckpoint {
  /** The unpickled object with selected tensors as HostTensor (float32 / int32). */
  readonly root: PyValue;
  /** The archive's folder name (`<name>/data.pkl`). */
  readonly archiveName: string;
}

export function isHostTensor(v: unknown): v is HostTensor {
  return (
    typeof v === 'object' &&
    v !== null &&
    !(v instanceof Map) &&
    'data' in v &&
    'shape' in v &&
    (v.data instanceof Float32Array || v.data instanceof Int32Array)
  );
}

export function isPyDict(v: unknown): v is PyDict {
  return v instanceof Map;
}

export async function readTorchCheckpoint(file: string, opts: ReadTorchOptions = {}): Promise<TorchCheckpoint> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new WeightsError(`cannot read checkpoint file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, file, undefined, { cause: err });
  }
  return parseTorchCheckpoint(bytes, file, opts);
}

export function parseTorchCheckpoint(bytes: Uint8Array, file: string, opts: ReadTorchOptions = {}): TorchCheckpoint {
  if (bytes.byteLength === 0) throw new WeightsError('checkpoint file is empty', file);
  if (bytes[0] === 0x80 && bytes.byteLength > 1 && bytes[1] <= 5) {
    // Pre-1.6 torch.save wrote a bare pickle stream with its own storage layout.
    throw new WeightsError('legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with a recent torch or convert it to safetensors', file);
  }
  if (!(bytes[0] === 0x50 && bytes[1] === 0x4b)) throw new WeightsError('not a torch.save checkpoint (not a zip archive)', file);

  // First pass: only the pickle (and the names, to find the archive folder).
  const names: string[] = [];
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes, {
      filter: (f) => {
        names.push(f.name);
        return f.name.endsWith('/data.pkl') || f.name === 'data.pkl';
      },
    });
  } catch (err) {
    throw new WeightsError(`corrupt checkpoint zip archive: ${errorText(err)}`, file, undefined, { cause: err });
  }
  const pklName = Object.keys(entries).find((n) => n.split('/').length <= 2);
  if (pklName === undefined) throw new WeightsError('zip archive has no data.pkl: not a torch.save checkpoint', file);
  const archiveName = pklName.includes('/') ? pklName.slice(0, pklName.indexOf('/')) : '';
  if (names.some((n) => n === `${archiveName}/constants.pkl` || n.startsWith(`${archiveName}/code/`))) {
    // TorchScript archives (e.g. OpenAI's ViT-B-32.pt) pickle module objects, not a state dict.
    throw new WeightsError(
      "TorchScript (torch.jit) archives are not supported (OpenAI's original ViT-*.pt files are such archives); use the same model as safetensors: `actionclip-stream models pull vit-b-32` (or vit-b-16, vit-l-14), or save its state_dict with torch.save",
      file,
    );
  }

  const root = unpickle(entries[pklName], file);

  // Second pass: decompress only the storages that selected tensors use.
  const select = opts.select ?? (() => true);
  const wanted: { ref: TensorRef; path: PyKey[]; set: (v: HostTensor) => void }[] = [];
  collectRefs(root, [], select, wanted, new Set());
  const keys = new Set(wanted.map((w) => storageEntry(archiveName, w.ref.storageKey)));
  let storages: Record<string, Uint8Array> = {};
  if (keys.size > 0) {
    try {
      storages = unzipSync(bytes, { filter: (f) => keys.has(f.name) });
    } catch (err) {
      throw new WeightsError(`corrupt checkpoint zip archive: ${errorText(err)}`, file, undefined, { cause: err });
    }
  }
  const done = new Map<TensorRef, HostTensor>();
  let result = root;
  for (const w of wanted) {
    const key = w.path.map(String).join('.');
    let t = done.get(w.ref);
    if (t === undefined) {
      const raw = storages[storageEntry(archiveName, w.ref.storageKey)];
      if (raw === undefined) throw new WeightsError(`storage ${w.ref.storageKey} is missing from the archive`, file, key);
      t = materialize(w.ref, raw, file, key);
      done.set(w.ref, t);
    }
    if (w.path.length === 0) result = t;
    else w.set(t);
  }
  return { root: result, archiveName };
}

function storageEntry(archiveName: string, key: string): string {
  return archiveName === '' ? `data/${key}` : `${archiveName}/data/${key}`;
}

function collectRefs(
  v: PyValue,
  path: PyKey[],
  select: (path: readonly PyKey[]) => boolean,
  out: { ref: TensorRef; path: PyKey[]; set: (v: HostTensor) => void }[],
  seen: Set<unknown>,
): void {
  if (v instanceof TensorRef) {
    if (path.length === 0 && select(path)) out.push({ ref: v, path, set: () => undefined });
    return;
  }
  if (typeof v !== 'object' || v === null || seen.has(v)) return;
  seen.add(v);
  if (v instanceof Map) {
    for (const [k, child] of v) {
      const p = [...path, k];
      if (child instanceof TensorRef) {
        if (select(p)) out.push({ ref: child, path: p, set: (t) => v.set(k, t) });
      } else collectRefs(child, p, select, out, seen);
    }
  } else if (Array.isArray(v)) {
    v.forEach((child, i) => {
      const p = [...path, i];
      if (child instanceof TensorRef) {
        if (select(p)) out.push({ ref: child, path: p, set: (t) => (v[i] = t) });
      } else collectRefs(child, p, select, out, seen);
    });
  }
}

/** Copies the strided view out of the storage into a contiguous float32 / int32 tensor. */
function materialize(ref: TensorRef, raw: Uint8Array, file: string, key: string): HostTensor {
  const { bytes } = Object.values(STORAGE_TYPES).find((s) => s.dtype === ref.storageDtype)!;
  const numel = Math.floor(raw.byteLength / bytes);
  if (numel < ref.storageNumel) throw new WeightsError(`storage ${ref.storageKey} holds ${numel} elements but the pickle says ${ref.storageNumel}`, file, key);
  const shape = ref.shape;
  const count = elementCount(shape);
  if (shape.length !== ref.stride.length) throw new WeightsError(`tensor has ${shape.length} sizes but ${ref.stride.length} strides`, file, key);
  if (shape.some((n) => !Number.isInteger(n) || n < 0)) throw new WeightsError(`invalid tensor size [${shape.join(',')}]`, file, key);
  if (count > 0) {
    // Furthest element reached by the view must lie inside the storage.
    let last = ref.offset;
    for (let d = 0; d < shape.length; d++) last += (shape[d] - 1) * ref.stride[d];
    if (ref.offset < 0 || last >= numel || ref.stride.some((s) => s < 0)) {
      throw new WeightsError(`tensor view (offset ${ref.offset}, size [${shape.join(',')}], stride [${ref.stride.join(',')}]) runs outside its storage of ${numel} elements`, file, key);
    }
  }
  // Aligned copy of the storage bytes so typed-array views are legal.
  const buf = raw.slice(0, numel * bytes).buffer;
  const src = decodeStorage(buf, ref.storageDtype, numel);
  const isFloat = src instanceof Float32Array;
  const out = isFloat ? new Float32Array(count) : new Int32Array(count);
  if (isContiguous(shape, ref.stride)) {
    out.set(src.subarray(ref.offset, ref.offset + count));
  } else {
    const idx = new Array<number>(shape.length).fill(0);
    let pos = ref.offset;
    for (let i = 0; i < count; i++) {
      out[i] = src[pos];
      // Odometer increment over the dimensions, last fastest.
      for (let d = shape.length - 1; d >= 0; d--) {
        idx[d]++;
        pos += ref.stride[d];
        if (idx[d] < shape[d]) break;
        pos -= idx[d] * ref.stride[d];
        idx[d] = 0;
      }
    }
  }
  return { shape: [...shape], dtype: isFloat ? 'float32' : 'int32', data: out };
}

function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

function decodeStorage(buf: ArrayBuffer, dtype: TorchDtype, numel: number): Float32Array | Int32Array {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buf, 0, numel);
    case 'float64':
      return Float32Array.from(new Float64Array(buf, 0, numel));
    case 'float16':
      return float16ToFloat32(new Uint16Array(buf, 0, numel));
    case 'bfloat16':
      return bfloat16ToFloat32(new Uint16Array(buf, 0, numel));
    case 'int64': {
      // Token ids and counters: int32 is enough (values beyond it would wrap, none occur in weights).
      const src = new BigInt64Array(buf, 0, numel);
      const out = new Int32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = Number(src[i]);
      return out;
    }
    case 'int32':
      return new Int32Array(buf, 0, numel);
    case 'int16':
      return Int32Array.from(new Int16Array(buf, 0, numel));
    case 'int8':
      return Int32Array.from(new Int8Array(buf, 0, numel));
    case 'uint8':
    case 'bool':
      return Int32Array.from(new Uint8Array(buf, 0, numel));
  }
}
