/**
 * A hand-rolled encoder for the subset of onnx.proto the engine writes (ModelProto, GraphProto,
 * NodeProto, TensorProto, ValueInfoProto, AttributeProto, OperatorSetIdProto). Hand-rolled rather
 * than protobufjs because initializers are hundreds of MB: messages are kept as lists of byte
 * chunks that reference the weight arrays, and copied exactly once, into the final buffer.
 * Field numbers: https://github.com/onnx/onnx/blob/main/onnx/onnx.proto
 */

/** ONNX TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10 } as const;
export type DataTypeId = (typeof DataType)[keyof typeof DataType];

/** AttributeProto.AttributeType. */
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

/** An encoded message: its byte chunks in order and their total length. */
export class Msg {
  readonly parts: Uint8Array[] = [];
  length = 0;

  private push(b: Uint8Array): void {
    if (b.byteLength === 0) return;
    this.parts.push(b);
    this.length += b.byteLength;
  }

  private tag(field: number, wire: number): void {
    this.push(varint(field * 8 + wire));
  }

  int(field: number, v: number | bigint): this {
    this.tag(field, 0);
    this.push(varint(v));
    return this;
  }

  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2);
    this.push(varint(b.byteLength));
    this.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, 'utf8'));
  }

  message(field: number, m: Msg): this {
    this.tag(field, 2);
    this.push(varint(m.length));
    for (const p of m.parts) this.push(p);
    return this;
  }

  /** Packed repeated varints (proto3 default for repeated scalars; accepted by proto2 parsers). */
  packedInts(field: number, vs: readonly (number | bigint)[]): this {
    if (vs.length === 0) return this;
    const inner = new Msg();
    for (const v of vs) inner.push(varint(v));
    return this.message(field, inner);
  }

  packedFloats(field: number, vs: readonly number[]): this {
    if (vs.length === 0) return this;
    const b = new Uint8Array(4 * vs.length);
    const dv = new DataView(b.buffer);
    vs.forEach((v, i) => dv.setFloat32(4 * i, v, true));
    return this.bytes(field, b);
  }

  /** One contiguous buffer; the single copy of every weight. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let pos = 0;
    for (const p of this.parts) {
      out.set(p, pos);
      pos += p.byteLength;
    }
    return out;
  }
}

/** Varint of a non-negative or negative (two's complement, 10 bytes) integer. */
export function varint(v: number | bigint): Uint8Array {
  let x = BigInt.asUintN(64, BigInt(v));
  if (x < 0x80n) return Uint8Array.of(Number(x));
  const out: number[] = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return Uint8Array.from(out);
}

// ---- ONNX messages ----

export interface TensorInit {
  name: string;
  dims: readonly number[];
  dataType: DataTypeId;
  /** Little-endian element bytes (raw_data). */
  raw: Uint8Array;
}

export function tensorProto(t: TensorInit): Msg {
  return new Msg().packedInts(1, t.dims).int(2, t.dataType).string(8, t.name).bytes(9, t.raw);
}

export type Dim = number | string;

export function valueInfo(name: string, elemType: DataTypeId, dims: readonly Dim[]): Msg {
  const shape = new Msg();
  for (const d of dims) shape.message(1, typeof d === 'number' ? new Msg().int(1, d) : new Msg().string(2, d));
  const tensorType = new Msg().int(1, elemType).message(2, shape);
  const type = new Msg().message(1, tensorType);
  return new Msg().string(1, name).message(2, type);
}

/** Attribute values: plain numbers are INTs, `{ f }` FLOAT, arrays of numbers INTS, `{ fs }` FLOATS. */
export type AttrValue = number | string | readonly number[] | { f: number } | { fs: readonly number[] } | { t: TensorInit };

export function attribute(name: string, v: AttrValue): Msg {
  const m = new Msg().string(1, name);
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}: ${v} is not an integer; wrap floats as { f: value }`);
    return m.int(3, v).int(20, AttrType.INT);
  }
  if (typeof v === 'string') return m.string(4, v).int(20, AttrType.STRING);
  if (isNumberArray(v)) return m.packedInts(8, v).int(20, AttrType.INTS);
  if ('f' in v) return m.float(2, v.f).int(20, AttrType.FLOAT);
  if ('fs' in v) return m.packedFloats(7, v.fs).int(20, AttrType.FLOATS);
  return m.message(5, tensorProto(v.t)).int(20, AttrType.TENSOR);
}

export interface NodeInit {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name: string;
  domain?: string;
  attrs?: Readonly<Record<string, AttrValue>>;
}

export function nodeProto(n: NodeInit): Msg {
  const m = new Msg();
  for (const i of n.inputs) m.string(1, i);
  for (const o of n.outputs) m.string(2, o);
  m.string(3, n.name).string(4, n.opType);
  for (const [k, v] of Object.entries(n.attrs ?? {})) m.message(5, attribute(k, v));
  if (n.domain) m.string(7, n.domain);
  return m;
}

export interface GraphInit {
  name: string;
  nodes: readonly Msg[];
  initializers: readonly Msg[];
  inputs: readonly Msg[];
  outputs: readonly Msg[];
}

export function graphProto(g: GraphInit): Msg {
  const m = new Msg();
  for (const n of g.nodes) m.message(1, n);
  m.string(2, g.name);
  for (const t of g.initializers) m.message(5, t);
  for (const i of g.inputs) m.message(11, i);
  for (const o of g.outputs) m.message(12, o);
  return m;
}

export interface ModelInit {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  graph: Msg;
  opsets: readonly { domain: string; version: number }[];
  metadata?: Readonly<Record<string, string>>;
}

export function modelProto(mi: ModelInit): Msg {
  const m = new Msg().int(1, mi.irVersion).string(2, mi.producerName).string(3, mi.producerVersion).message(7, mi.graph);
  for (const o of mi.opsets) m.message(8, new Msg().string(1, o.domain).int(2, o.version));
  for (const [k, v] of Object.entries(mi.metadata ?? {})) m.message(14, new Msg().string(1, k).string(2, v));
  return m;
}

function isNumberArray(v: AttrValue): v is readonly number[] {
  return Array.isArray(v);
}
