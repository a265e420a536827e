/**
 * The pickle virtual machine behind torch-checkpoint.ts: enough of the protocol for `torch.save`
 * state dicts (dicts, lists, tuples, plain values, torch tensors by persistent id). Any other global
 * or opcode is refused with a WeightsError rather than guessed at.
 */
import { MalformedInputError, WeightsError } from '../../errors.js';
import type { HostTensor } from './tensor-map.js';

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
export const STORAGE_TYPES: Record<string, { dtype: TorchDtype; bytes: number }> = {
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

/** `data.pkl` of a torch.save archive to its Python value, tensors as TensorRefs. */
export function unpickle(data: Uint8Array, file: string): PyValue {
  return new Unpickler(data, file).load();
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

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

/** The subset of pickle (protocol 2–5) that torch.save writes for state dicts. */
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
