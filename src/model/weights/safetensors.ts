import { open, readFile, writeFile } from 'node:fs/promises';
import { WeightsError } from '../../errors.js';
import { bfloat16ToFloat32, float16ToFloat32 } from './float16.js';
import { elementCount, type HostTensor, type TensorMap } from './tensor-map.js';

/**
 * safetensors: 8-byte little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {...}}`, then the raw bytes.
 * https://github.com/huggingface/safetensors#format
 */
export interface SafetensorsFile {
  readonly tensors: TensorMap;
  readonly metadata: Record<string, string>;
}

const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8, F64: 8, U8: 1, I8: 1, BOOL: 1 };
const MAX_HEADER = 100 * 1024 * 1024;

export async function readSafetensors(file: string): Promise<SafetensorsFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new WeightsError(`cannot read weights file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, file, undefined, { cause: err });
  }
  return parseSafetensors(bytes, file);
}

/** Reads only the header: names, dtypes and shapes, without loading the data. */
export async function readSafetensorsHeader(file: string): Promise<Record<string, { dtype: string; shape: number[] }>> {
  const fh = await open(file, 'r').catch((err: unknown) => {
    throw new WeightsError(`cannot open weights file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, file, undefined, { cause: err });
  });
  try {
    const lenBuf = Buffer.alloc(8);
    await fh.read(lenBuf, 0, 8, 0);
    const n = Number(lenBuf.readBigUInt64LE(0));
    if (!(n > 0 && n < MAX_HEADER)) throw new WeightsError('not a safetensors file (bad header length)', file);
    const head = Buffer.alloc(n);
    const { bytesRead } = await fh.read(head, 0, n, 8);
    if (bytesRead !== n) throw new WeightsError('truncated safetensors header', file);
    const parsed = parseHeader(head, file);
    const out: Record<string, { dtype: string; shape: number[] }> = {};
    for (const [k, v] of Object.entries(parsed)) if (k !== '__metadata__') out[k] = { dtype: v.dtype, shape: v.shape };
    return out;
  } finally {
    await fh.close();
  }
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

function parseHeader(head: Buffer, file: string): Record<string, HeaderEntry> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(head.toString('utf8').trimEnd());
  } catch (err) {
    throw new WeightsError('not a safetensors file (header is not JSON)', file, undefined, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new WeightsError('not a safetensors file (header is not a JSON object)', file);
  // Checked here so that a malformed entry is reported by name rather than as a TypeError later.
  for (const [name, entry] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Object.values(entry).some((v) => typeof v !== 'string')) {
        throw new WeightsError('__metadata__ must map names to strings', file, '__metadata__');
      }
      continue;
    }
    const e = entry as Partial<HeaderEntry> | null;
    const ok =
      typeof e === 'object' &&
      e !== null &&
      typeof e.dtype === 'string' &&
      Array.isArray(e.shape) &&
      e.shape.every((n) => Number.isSafeInteger(n) && n >= 0) &&
      Array.isArray(e.data_offsets) &&
      e.data_offsets.length === 2 &&
      e.data_offsets.every((n) => Number.isSafeInteger(n) && n >= 0) &&
      e.data_offsets[0] <= e.data_offsets[1];
    if (!ok) throw new WeightsError('malformed safetensors header entry (needs dtype, shape and data_offsets [begin, end])', file, name);
  }
  return parsed as Record<string, HeaderEntry>;
}

export function parseSafetensors(bytes: Uint8Array, file: string): SafetensorsFile {
  if (bytes.byteLength < 8) throw new WeightsError('not a safetensors file (shorter than its 8-byte header length)', file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (!(n > 0 && n < MAX_HEADER)) throw new WeightsError('not a safetensors file (bad header length)', file);
  if (8 + n > bytes.byteLength) throw new WeightsError('truncated safetensors file (header runs past the end)', file);
  const header = parseHeader(Buffer.from(bytes.buffer, bytes.byteOffset + 8, n), file);
  const dataStart = 8 + n;
  const dataLen = bytes.byteLength - dataStart;
  const tensors: TensorMap = new Map();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as unknown as Record<string, string>;
      continue;
    }
    const width = BYTES[entry.dtype];
    if (width === undefined) throw new WeightsError(`unsupported dtype ${entry.dtype}`, file, name);
    const [begin, end] = entry.data_offsets;
    const count = elementCount(entry.shape);
    if (end - begin !== count * width) throw new WeightsError(`byte range ${begin}..${end} does not fit shape [${entry.shape.join(',')}] of ${entry.dtype}`, file, name);
    if (end > dataLen) throw new WeightsError(`truncated safetensors file: tensor data ends at byte ${dataStart + end} but the file has ${bytes.byteLength}`, file, name);
    // Copy so that the tensor owns aligned memory independent of the file buffer.
    const raw = new Uint8Array(end - begin);
    raw.set(bytes.subarray(dataStart + begin, dataStart + end));
    tensors.set(name, decode(raw, entry.dtype, entry.shape, file, name));
  }
  return { tensors, metadata };
}

function decode(raw: Uint8Array, dtype: string, shape: number[], file: string, name: string): HostTensor {
  const buf = raw.buffer;
  switch (dtype) {
    case 'F32':
      return { shape, dtype: 'float32', data: new Float32Array(buf) };
    case 'F16':
      return { shape, dtype: 'float32', data: float16ToFloat32(new Uint16Array(buf)) };
    case 'BF16':
      return { shape, dtype: 'float32', data: bfloat16ToFloat32(new Uint16Array(buf)) };
    case 'F64':
      return { shape, dtype: 'float32', data: Float32Array.from(new Float64Array(buf)) };
    case 'I32':
      return { shape, dtype: 'int32', data: new Int32Array(buf) };
    case 'I64': {
      const src = new BigInt64Array(buf);
      const out = new Int32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = Number(src[i]);
      return { shape, dtype: 'int32', data: out };
    }
    case 'U8':
    case 'BOOL':
      return { shape, dtype: 'int32', data: Int32Array.from(new Uint8Array(buf)) };
    case 'I8':
      return { shape, dtype: 'int32', data: Int32Array.from(new Int8Array(buf)) };
    default:
      throw new WeightsError(`unsupported dtype ${dtype}`, file, name);
  }
}

/** Serialises tensors as safetensors (F32 / I32), keys sorted as the reference library does. */
export function serializeSafetensors(tensors: TensorMap, metadata: Record<string, string> = {}): Buffer {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const bytes = t.data.byteLength;
    header[name] = { dtype: t.dtype === 'int32' ? 'I32' : 'F32', shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad so the data section starts 8-byte aligned.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headBytes.length), 0);
  headBytes.copy(out, 8);
  let pos = 8 + headBytes.length;
  for (const name of names) {
    const t = tensors.get(name)!;
    const src = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    src.copy(out, pos);
    pos += src.length;
  }
  return out;
}

export async function writeSafetensors(file: string, tensors: TensorMap, metadata: Record<string, string> = {}): Promise<void> {
  await writeFile(file, serializeSafetensors(tensors, metadata));
}
