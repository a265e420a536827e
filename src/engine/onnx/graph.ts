/**
 * A small graph-builder DSL over the protobuf writer: values are named strings, ops return the
 * names of their outputs, initializers are added from host arrays (converted to the graph's float
 * type), small constants are deduplicated.
 */
import { DataType, type AttrValue, type DataTypeId, type Dim, type Msg, graphProto, modelProto, nodeProto, tensorProto, valueInfo } from './proto.js';

export type FloatType = 'float32' | 'float16';
export type ElemType = 'float' | 'int32' | 'int64';

/** ORT 1.14+ reads IR 8 / opset 17 models; 17 is the first opset with LayerNormalization. */
export const IR_VERSION = 8;
export const OPSET = 17;
export const MS_DOMAIN = 'com.microsoft';

export interface OpOptions {
  domain?: string;
  name?: string;
}

export class GraphBuilder {
  private readonly nodes: Msg[] = [];
  private readonly inits: Msg[] = [];
  private readonly inputs: Msg[] = [];
  private readonly outputs: Msg[] = [];
  private readonly consts = new Map<string, string>();
  private readonly names = new Set<string>();
  private counter = 0;
  private usesMs = false;
  /** Bytes of initializer data, for logging and cache decisions. */
  weightBytes = 0;

  constructor(
    readonly name: string,
    readonly floatType: FloatType = 'float32',
  ) {}

  get floatId(): DataTypeId {
    return this.floatType === 'float16' ? DataType.FLOAT16 : DataType.FLOAT;
  }

  private elemId(t: ElemType): DataTypeId {
    return t === 'float' ? this.floatId : t === 'int32' ? DataType.INT32 : DataType.INT64;
  }

  /** A fresh value name derived from `hint`. */
  fresh(hint: string): string {
    let n = hint;
    while (this.names.has(n)) n = `${hint}_${++this.counter}`;
    this.names.add(n);
    return n;
  }

  /** A graph input. Float inputs are declared float32 and cast inside when the graph is fp16, so callers always feed float32. */
  input(name: string, dims: readonly Dim[], type: ElemType = 'float'): string {
    this.names.add(name);
    const external = type === 'float' ? DataType.FLOAT : this.elemId(type);
    this.inputs.push(valueInfo(name, external, dims));
    if (type === 'float' && this.floatType === 'float16') return this.op('Cast', [name], { to: DataType.FLOAT16 });
    return name;
  }

  /** Declares `value` as the graph output `name` (float outputs are float32 whatever the graph's float type). */
  output(value: string, name: string, dims: readonly Dim[], type: ElemType = 'float'): void {
    let v = value;
    if (type === 'float' && this.floatType === 'float16') v = this.op('Cast', [v], { to: DataType.FLOAT });
    this.node('Identity', [v], [name]);
    this.names.add(name);
    this.outputs.push(valueInfo(name, type === 'float' ? DataType.FLOAT : this.elemId(type), dims));
  }

  /** A float initializer from host data (copied to fp16 when the graph is fp16). */
  weight(hint: string, data: Float32Array, dims: readonly number[]): string {
    const expected = dims.reduce((a, b) => a * b, 1);
    if (data.length !== expected) throw new Error(`initializer ${hint}: ${data.length} values for shape [${dims.join(',')}]`);
    const name = this.fresh(hint);
    const raw = this.floatType === 'float16' ? new Uint8Array(float32ToFloat16(data).buffer) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.inits.push(tensorProto({ name, dims, dataType: this.floatId, raw }));
    this.weightBytes += raw.byteLength;
    return name;
  }

  /** A float initializer always stored as float32 (for ops whose parameters stay fp32). */
  weight32(hint: string, data: Float32Array, dims: readonly number[]): string {
    const name = this.fresh(hint);
    this.inits.push(tensorProto({ name, dims, dataType: DataType.FLOAT, raw: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) }));
    this.weightBytes += data.byteLength;
    return name;
  }

  /** An int8 initializer (quantized weights). */
  int8(hint: string, data: Int8Array, dims: readonly number[]): string {
    const name = this.fresh(hint);
    this.inits.push(tensorProto({ name, dims, dataType: DataType.INT8, raw: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) }));
    this.weightBytes += data.byteLength;
    return name;
  }

  /** Deduplicated small constant. */
  private constant(kind: ElemType, values: readonly number[], dims: readonly number[]): string {
    const key = `${kind}|${dims.join(',')}|${values.join(',')}`;
    const hit = this.consts.get(key);
    if (hit !== undefined) return hit;
    let raw: Uint8Array;
    if (kind === 'int64') raw = new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(v))).buffer);
    else if (kind === 'int32') raw = new Uint8Array(Int32Array.from(values).buffer);
    else if (this.floatType === 'float16') raw = new Uint8Array(float32ToFloat16(Float32Array.from(values)).buffer);
    else raw = new Uint8Array(Float32Array.from(values).buffer);
    const name = this.fresh(`const_${kind}`);
    this.inits.push(tensorProto({ name, dims, dataType: this.elemId(kind), raw }));
    this.consts.set(key, name);
    return name;
  }

  /** int64 constant; a 1-D vector unless dims are given (`[]` for a scalar). */
  i64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constant('int64', values, dims);
  }

  /** Float scalar (or tensor) constant in the graph's float type. */
  f(value: number | readonly number[], dims?: readonly number[]): string {
    const vs = typeof value === 'number' ? [value] : value;
    return this.constant('float', vs, dims ?? (typeof value === 'number' ? [] : [vs.length]));
  }

  private node(opType: string, inputs: readonly string[], outputs: readonly string[], attrs?: Readonly<Record<string, AttrValue>>, opts?: OpOptions): void {
    if (opts?.domain === MS_DOMAIN) this.usesMs = true;
    this.nodes.push(nodeProto({ opType, inputs, outputs, name: this.fresh(opts?.name ?? `n_${opType}`), domain: opts?.domain, attrs }));
  }

  /** One op with one output; returns the output's name. Missing optional inputs are ''. */
  op(opType: string, inputs: readonly string[], attrs?: Readonly<Record<string, AttrValue>>, opts?: OpOptions): string {
    return this.opN(opType, inputs, 1, attrs, opts)[0];
  }

  /** One op with `n` outputs (use '' placeholders by slicing what you need). */
  opN(opType: string, inputs: readonly string[], n: number, attrs?: Readonly<Record<string, AttrValue>>, opts?: OpOptions): string[] {
    const outs = Array.from({ length: n }, () => this.fresh(`${opts?.name ?? opType}_out`));
    this.node(opType, inputs, outs, attrs, opts);
    return outs;
  }

  /** Like opN, but outputs listed as '' are not produced. */
  opSome(opType: string, inputs: readonly string[], wanted: readonly boolean[], attrs?: Readonly<Record<string, AttrValue>>, opts?: OpOptions): string[] {
    let last = wanted.length - 1;
    while (last > 0 && !wanted[last]) last--;
    const outs = wanted.slice(0, last + 1).map((w) => (w ? this.fresh(`${opts?.name ?? opType}_out`) : ''));
    this.node(opType, inputs, outs, attrs, opts);
    return outs;
  }

  /** The serialized ModelProto. */
  build(metadata: Readonly<Record<string, string>> = {}): Uint8Array {
    const graph = graphProto({ name: this.name, nodes: this.nodes, initializers: this.inits, inputs: this.inputs, outputs: this.outputs });
    const opsets = [{ domain: '', version: OPSET }];
    if (this.usesMs) opsets.push({ domain: MS_DOMAIN, version: 1 });
    return modelProto({ irVersion: IR_VERSION, producerName: 'actionclip-stream', producerVersion: '1', graph, opsets, metadata }).finish();
  }
}

/** float32 to IEEE half, round to nearest even (for fp16 graphs on GPU). */
export function float32ToFloat16(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  const u32 = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) {
    const x = u32[i];
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      let h = mant >>> shift;
      const rem = mant & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      if (rem > half || (rem === half && h & 1)) h++;
      out[i] = sign | h;
      continue;
    }
    let h = (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
    out[i] = sign | h;
  }
  return out;
}
