import { readFile } from 'node:fs/promises';
import { unzipSync } from 'fflate';
import { MalformedInputError, WeightsError } from '../../errors.js';
import { bfloat16ToFloat32, float16ToFloat32 } from './float16.js';
import { elementCount, type HostTensor } from './tensor-map.js';

/**
 * Native reader for PyTorch `torch.save` checkpoints (the zip format, torch >= 1.6), so that
 * ActionCLIP training checkpoints load without Python. The archive holds `<name>/data.pkl` (a
 * pickle of the saved object, tensors replaced by persistent ids) and `<name>/data/<key>` (the raw
 * little-endian bytes of each storage). Only the subset of pickle that torch state dicts use is
 * understood; anything else is refused with a WeightsError rather than guessed at.
 */

/** A Python dict as read from the pickle; keys keep their Python types (str, int...). */
export type PyDict = Map<PyKey, PyValue>;
export type PyKey = string | number | bigint | boolean | null;
export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | HostTensor
  | TensorRef
  | PyDict
  | PyValue[]
  | Set<PyKey>;

/** Element types of torch storages, by the storage class name torch pickles. */
const STORAGE_TYPES: Record<string, { dtype: TorchDtype; bytes: number }> = {
  FloatStorage: { dtype: 'float32', bytes: 4 },
  DoubleStorage: { dtype: 'float64', bytes: 8 },
  HalfStorage: { dtype: 'float16', bytes: 2 },
  BFloat16Storage: { dtype: 'bfloat16', bytes: 2 },
  LongStorage: { dtype: 'int64', bytes: 8 },
  IntStorage: { dtype: 'int32', bytes: 4 },
  ShortStorage: { dtype: 'int16', bytes: 2 },
  CharStorage: { dtype: 'int8', bytes: 1 },
  ByteStorage: { dtype: 'uint8', bytes: 1 },
  BoolStorage: { dtype: 'bool', bytes: 1 },
};

export type TorchDtype = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/**
 * A tensor that was described by the pickle but whose data was not loaded (see
 * `ReadTorchOptions.select`): optimizer moments can be as large as the model itself.
 */
export class TensorRef {
  constructor(
    readonly storageKey: string,
    readonly storageDtype: TorchDtype,
    readonly storageNumel: number,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {}
}

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
    throw new WeightsError('TorchScript (torch.jit) archives are not supported; save the state_dict with torch.save or convert to safetensors', file);
  }

  const root = new Unpickler(entries[pklName], file).load();

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

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
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

// ---------------------------------------------------------------------------------------------
// Pickle

/** A class or function named by GLOBAL / STACK_GLOBAL that we know how to call. */
class PyGlobal {
  constructor(
    readonly name: string,
    readonly call: ((args: PyValue[]) => PyValue) | null,
  ) {}
}

/** Marker pushed by MARK. */
const MARK = Symbol('mark');
type StackItem = PyValue | PyGlobal | typeof MARK | PersistentStorage;

/** What BINPERSID resolves ('storage', type, key, location, numel) to. */
class PersistentStorage {
  constructor(
    readonly key: string,
    readonly dtype: TorchDtype,
    readonly numel: number,
  ) {}
}

/** A malformed pickle stream; `Unpickler.load` words it as a WeightsError naming the file and byte. */
class PickleError extends MalformedInputError {
  constructor(message: string) {
    super('pickle', message);
  }
}

class Unpickler {
  private pos = 0;
  private readonly stack: StackItem[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, StackItem>();
  private readonly view: DataView;

  constructor(
    private readonly data: Uint8Array,
    private readonly file: string,
  ) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  load(): PyValue {
    try {
      return this.run();
    } catch (err) {
      if (err instanceof WeightsError) throw err;
      throw new WeightsError(`cannot unpickle data.pkl at byte ${this.pos}: ${errorText(err)}`, this.file, undefined, { cause: err });
    }
  }

  private run(): PyValue {
    for (;;) {
      const opPos = this.pos;
      const op = this.u8();
      switch (op) {
        case 0x80: // PROTO
          if (this.u8() > 5) throw new PickleError('unsupported pickle protocol');
          break;
        case 0x95: // FRAME: framing is only a buffering hint
          this.pos += 8;
          break;
        case 0x2e: {
          // STOP
          const v = this.value(this.pop());
          sanitize(v, new Set());
          return v;
        }
        case 0x7d: // EMPTY_DICT
          this.stack.push(new Map());
          break;
        case 0x5d: // EMPTY_LIST
          this.stack.push([]);
          break;
        case 0x29: // EMPTY_TUPLE
          this.stack.push([]);
          break;
        case 0x8f: // EMPTY_SET
          this.stack.push(new Set());
          break;
        case 0x85: // TUPLE1
          this.stack.push([this.value(this.pop())]);
          break;
        case 0x86: {
          // TUPLE2
          const b = this.value(this.pop());
          const a = this.value(this.pop());
          this.stack.push([a, b]);
          break;
        }
        case 0x87: {
          // TUPLE3
          const c = this.value(this.pop());
          const b = this.value(this.pop());
          const a = this.value(this.pop());
          this.stack.push([a, b, c]);
          break;
        }
        case 0x28: // MARK
          this.marks.push(this.stack.length);
          this.stack.push(MARK);
          break;
        case 0x74: // TUPLE
        case 0x6c: // LIST
          this.stack.push(this.popMark().map((v) => this.value(v)));
          break;
        case 0x64: {
          // DICT
          const items = this.popMark();
          const d: PyDict = new Map();
          for (let i = 0; i + 1 < items.length; i += 2) d.set(this.key(items[i]), this.value(items[i + 1]));
          this.stack.push(d);
          break;
        }
        case 0x30: // POP
          if (this.stack[this.stack.length - 1] === MARK) this.popMark();
          else this.pop();
          break;
        case 0x31: // POP_MARK
          this.popMark();
          break;
        case 0x32: // DUP
          this.stack.push(this.top());
          break;
        case 0x58: // BINUNICODE
          this.stack.push(this.utf8(this.u32()));
          break;
        case 0x8c: // SHORT_BINUNICODE
          this.stack.push(this.utf8(this.u8()));
          break;
        case 0x8d: // BINUNICODE8
          this.stack.push(this.utf8(this.u64()));
          break;
        case 0x55: // SHORT_BINSTRING (py2 str)
          this.stack.push(this.latin1(this.u8()));
          break;
        case 0x54: // BINSTRING
          this.stack.push(this.latin1(this.u32()));
          break;
        case 0x43: // SHORT_BINBYTES
          this.stack.push(this.bytes(this.u8()).slice());
          break;
        case 0x42: // BINBYTES
          this.stack.push(this.bytes(this.u32()).slice());
          break;
        case 0x8e: // BINBYTES8
          this.stack.push(this.bytes(this.u64()).slice());
          break;
        case 0x71: // BINPUT
          this.memo.set(this.u8(), this.top());
          break;
        case 0x72: // LONG_BINPUT
          this.memo.set(this.u32(), this.top());
          break;
        case 0x94: // MEMOIZE
          this.memo.set(this.memo.size, this.top());
          break;
        case 0x70: // PUT
          this.memo.set(Number(this.line()), this.top());
          break;
        case 0x68: // BINGET
          this.stack.push(this.get(this.u8()));
          break;
        case 0x6a: // LONG_BINGET
          this.stack.push(this.get(this.u32()));
          break;
        case 0x67: // GET
          this.stack.push(this.get(Number(this.line())));
          break;
        case 0x4a: // BININT
          this.stack.push(this.view.getInt32(this.advance(4), true));
          break;
        case 0x4b: // BININT1
          this.stack.push(this.u8());
          break;
        case 0x4d: // BININT2
          this.stack.push(this.view.getUint16(this.advance(2), true));
          break;
        case 0x8a: // LONG1
          this.stack.push(this.long(this.u8()));
          break;
        case 0x8b: // LONG4
          this.stack.push(this.long(this.u32()));
          break;
        case 0x49: {
          // INT (text; also protocol-0 booleans I00/I01)
          const s = this.line();
          this.stack.push(s === '00' ? false : s === '01' ? true : this.num(s));
          break;
        }
        case 0x4c: // LONG (text)
          this.stack.push(this.num(this.line().replace(/L$/, '')));
          break;
        case 0x47: // BINFLOAT (big-endian double)
          this.stack.push(this.view.getFloat64(this.advance(8), false));
          break;
        case 0x46: // FLOAT (text)
          this.stack.push(Number(this.line()));
          break;
        case 0x88: // NEWTRUE
          this.stack.push(true);
          break;
        case 0x89: // NEWFALSE
          this.stack.push(false);
          break;
        case 0x4e: // NONE
          this.stack.push(null);
          break;
        case 0x73: {
          // SETITEM
          const v = this.value(this.pop());
          const k = this.key(this.pop());
          this.dict(this.top()).set(k, v);
          break;
        }
        case 0x75: {
          // SETITEMS
          const items = this.popMark();
          const d = this.dict(this.top());
          for (let i = 0; i + 1 < items.length; i += 2) d.set(this.key(items[i]), this.value(items[i + 1]));
          break;
        }
        case 0x61: {
          // APPEND
          const v = this.value(this.pop());
          this.list(this.top()).push(v);
          break;
        }
        case 0x65: {
          // APPENDS
          const items = this.popMark();
          this.list(this.top()).push(...items.map((v) => this.value(v)));
          break;
        }
        case 0x90: {
          // ADDITEMS
          const items = this.popMark();
          const s = this.top();
          if (!(s instanceof Set)) throw new PickleError('ADDITEMS on a non-set');
          for (const v of items) s.add(this.key(v));
          break;
        }
        case 0x91: // FROZENSET
          this.stack.push(new Set(this.popMark().map((v) => this.key(v))));
          break;
        case 0x63: {
          // GLOBAL "module\nname\n"
          const mod = this.line();
          const name = this.line();
          this.stack.push(this.global(mod, name));
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const name = this.pop();
          const mod = this.pop();
          if (typeof mod !== 'string' || typeof name !== 'string') throw new PickleError('STACK_GLOBAL needs two strings');
          this.stack.push(this.global(mod, name));
          break;
        }
        case 0x52: {
          // REDUCE
          const args = this.pop();
          const fn = this.pop();
          this.stack.push(this.call(fn, args));
          break;
        }
        case 0x81: {
          // NEWOBJ cls.__new__(cls, *args)
          const args = this.pop();
          const cls = this.pop();
          this.stack.push(this.call(cls, args));
          break;
        }
        case 0x62: {
          // BUILD: sets instance attributes (state dicts carry `_metadata` this way), which
          // are not items of the object and not needed here, so the state is dropped.
          this.pop();
          this.top();
          break;
        }
        case 0x51: {
          // BINPERSID
          const pid = this.value(this.pop());
          this.stack.push(this.persistent(pid));
          break;
        }
        default:
          throw new WeightsError(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${opPos} of data.pkl`, this.file);
      }
    }
  }

  private global(mod: string, name: string): PyGlobal {
    const full = `${mod}.${name}`;
    if (full === 'collections.OrderedDict' || full === 'builtins.dict' || full === '__builtin__.dict') {
      return new PyGlobal(full, (args) => {
        const d: PyDict = new Map();
        const init = args[0];
        if (init instanceof Map) for (const [k, v] of init) d.set(k, v);
        else if (Array.isArray(init)) for (const kv of init) if (Array.isArray(kv)) d.set(this.key(kv[0]), kv[1]);
        return d;
      });
    }
    if (full === 'builtins.set' || full === '__builtin__.set' || full === 'builtins.frozenset' || full === '__builtin__.frozenset') {
      return new PyGlobal(full, (args) => new Set(Array.isArray(args[0]) ? args[0].map((v) => this.key(v)) : []));
    }
    if (full === '_codecs.encode') {
      // Protocol 2 pickles bytes as _codecs.encode(str, 'latin1').
      return new PyGlobal(full, (args) => {
        const s = args[0];
        if (typeof s !== 'string') throw new PickleError('_codecs.encode needs a str');
        return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
      });
    }
    if (full === 'torch._utils._rebuild_tensor_v2' || full === 'torch._utils._rebuild_tensor') {
      return new PyGlobal(full, (args) => this.rebuildTensor(args));
    }
    if (full === 'torch._utils._rebuild_parameter' || full === 'torch._utils._rebuild_parameter_with_state') {
      return new PyGlobal(full, (args) => args[0]);
    }
    if (full === 'torch._tensor._rebuild_from_type_v2' || full === 'torch._tensor._rebuild_from_type') {
      // (func, new_type, args, state): the subclass wrapper is irrelevant to the data.
      return new PyGlobal(full, (args) => {
        const fn = args[0] as unknown;
        const inner = args[2];
        if (!(fn instanceof PyGlobal) || !Array.isArray(inner)) throw new PickleError(`${full} with unexpected arguments`);
        return this.call(fn, inner);
      });
    }
    if (full === 'torch.nn.parameter.Parameter' || full === 'torch.Tensor' || full === 'torch.Size') {
      return new PyGlobal(full, (args) => (full === 'torch.Size' && Array.isArray(args[0]) ? args[0] : (args[0] ?? null)));
    }
    if (mod === 'torch' && name in STORAGE_TYPES) return new PyGlobal(full, null);
    throw new WeightsError(`unsupported Python global ${full} in data.pkl (only torch tensors, dicts, lists and plain values are understood)`, this.file);
  }

  private call(fn: StackItem, args: StackItem): PyValue {
    if (!(fn instanceof PyGlobal) || fn.call === null) throw new PickleError(`cannot call ${fn instanceof PyGlobal ? fn.name : typeof fn}`);
    if (!Array.isArray(args)) throw new PickleError(`arguments of ${fn.name} are not a tuple`);
    return fn.call(args);
  }

  private persistent(pid: PyValue): PersistentStorage {
    // ('storage', storage_type, key, location, numel)
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) throw new PickleError('unexpected persistent id (not a torch storage)');
    const type = pid[1] as unknown;
    if (!(type instanceof PyGlobal)) throw new PickleError('persistent id without a storage type');
    const st = STORAGE_TYPES[type.name.slice('torch.'.length)];
    const key = pid[2];
    const numel = pid[4];
    if (st === undefined || typeof key !== 'string' || typeof numel !== 'number') throw new PickleError(`bad storage reference ${type.name}`);
    return new PersistentStorage(key, st.dtype, numel);
  }

  private rebuildTensor(args: PyValue[]): TensorRef {
    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    const storage = args[0] as unknown;
    const [, offset, size, stride] = args;
    if (!(storage instanceof PersistentStorage)) throw new PickleError('tensor without a storage');
    if (typeof offset !== 'number' || !isIntList(size) || !isIntList(stride)) throw new PickleError('tensor with malformed offset/size/stride');
    return new TensorRef(storage.key, storage.dtype, storage.numel, offset, size, stride);
  }

  // -- stack helpers

  /**
   * Stack items become values; globals and storages may sit inside tuples transiently (the
   * arguments of _rebuild_tensor_v2), and `sanitize` rejects any that survive into the result.
   */
  private value(v: StackItem): PyValue {
    if (v === MARK) throw new PickleError('unexpected MARK');
    return v as PyValue;
  }

  private key(v: StackItem): PyKey {
    const x = this.value(v);
    if (x === null || typeof x === 'string' || typeof x === 'number' || typeof x === 'bigint' || typeof x === 'boolean') return x;
    if (Array.isArray(x)) return JSON.stringify(x); // tuple keys: only need to be distinct
    throw new PickleError('unhashable dict key');
  }

  private pop(): StackItem {
    if (this.stack.length === 0) throw new PickleError('stack underflow');
    const v = this.stack.pop()!;
    if (v === MARK) throw new PickleError('unexpected MARK');
    return v;
  }

  private top(): StackItem {
    if (this.stack.length === 0) throw new PickleError('stack underflow');
    return this.stack[this.stack.length - 1];
  }

  private popMark(): StackItem[] {
    const m = this.marks.pop();
    if (m === undefined) throw new PickleError('no MARK on the stack');
    const items = this.stack.splice(m);
    items.shift();
    return items;
  }

  private dict(v: StackItem): PyDict {
    if (!(v instanceof Map)) throw new PickleError('SETITEM(S) on a non-dict');
    return v;
  }

  private list(v: StackItem): PyValue[] {
    if (!Array.isArray(v)) throw new PickleError('APPEND(S) on a non-list');
    return v;
  }

  private get(i: number): StackItem {
    const v = this.memo.get(i);
    if (v === undefined) throw new PickleError(`memo ${i} is not set`);
    return v;
  }

  // -- byte readers

  private advance(n: number): number {
    const p = this.pos;
    if (p + n > this.data.byteLength) throw new PickleError('data.pkl ends in the middle of an opcode');
    this.pos += n;
    return p;
  }

  private u8(): number {
    return this.data[this.advance(1)];
  }

  private u32(): number {
    return this.view.getUint32(this.advance(4), true);
  }

  private u64(): number {
    return Number(this.view.getBigUint64(this.advance(8), true));
  }

  private bytes(n: number): Uint8Array {
    const p = this.advance(n);
    return this.data.subarray(p, p + n);
  }

  private utf8(n: number): string {
    return Buffer.from(this.bytes(n)).toString('utf8');
  }

  private latin1(n: number): string {
    return Buffer.from(this.bytes(n)).toString('latin1');
  }

  private line(): string {
    const end = this.data.indexOf(0x0a, this.pos);
    if (end < 0) throw new PickleError('data.pkl ends in the middle of a text opcode');
    const s = Buffer.from(this.data.subarray(this.pos, end)).toString('latin1');
    this.pos = end + 1;
    return s;
  }

  /** Little-endian two's complement of n bytes; a Number when it is exact. */
  private long(n: number): number | bigint {
    if (n === 0) return 0;
    const b = this.bytes(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  private num(s: string): number | bigint {
    const v = BigInt(s);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
}

function sanitize(v: unknown, seen: Set<unknown>): void {
  if (v instanceof PyGlobal) throw new PickleError(`the global ${v.name} is used as a value, which is not supported`);
  if (v instanceof PersistentStorage) throw new PickleError('a bare torch storage (not inside a tensor) is not supported');
  if (typeof v !== 'object' || v === null || seen.has(v)) return;
  seen.add(v);
  if (v instanceof Map) for (const x of v.values()) sanitize(x, seen);
  else if (Array.isArray(v)) for (const x of v) sanitize(x, seen);
}

function isIntList(v: PyValue): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isInteger(x));
}
