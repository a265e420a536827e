import { describe, expect, it } from 'vitest';
import { WeightsError } from '../../../src/errors.js';
import { halfToFloat } from '../../../src/model/weights/float16.js';
import { parseSafetensors, serializeSafetensors } from '../../../src/model/weights/safetensors.js';
import type { TensorMap } from '../../../src/model/weights/tensor-map.js';
import { expectSameTensors, rng, randTensor, tinyClip, toHalf } from './helpers.js';

/** Builds a safetensors file by hand with arbitrary dtypes (serializeSafetensors only writes F32/I32). */
function rawSafetensors(entries: { name: string; dtype: string; shape: number[]; bytes: Uint8Array }[]): Buffer {
  const header: Record<string, unknown> = {};
  let off = 0;
  for (const e of entries) {
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [off, off + e.bytes.byteLength] };
    off += e.bytes.byteLength;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...entries.map((e) => Buffer.from(e.bytes))]);
}

describe('safetensors', () => {
  it('round-trips float32, int32 and scalar tensors with metadata', () => {
    const r = rng(3);
    const t: TensorMap = new Map([
      ['b.weight', randTensor([4, 3, 2], r)],
      ['a.ids', { shape: [5], dtype: 'int32', data: Int32Array.of(0, -1, 2 ** 31 - 1, -(2 ** 31), 7) }],
      ['scalar', { shape: [], dtype: 'float32', data: Float32Array.of(4.5) }],
      ['empty', { shape: [0, 3], dtype: 'float32', data: new Float32Array(0) }],
    ]);
    const bytes = serializeSafetensors(t, { format: 'test', T: '8' });
    // The data section starts 8-byte aligned.
    expect((8 + Number(bytes.readBigUInt64LE(0))) % 8).toBe(0);
    const back = parseSafetensors(bytes, 'mem.safetensors');
    expect(back.metadata).toEqual({ format: 'test', T: '8' });
    expectSameTensors(back.tensors, t);
  });

  it('round-trips a whole CLIP state dict', () => {
    const clip = tinyClip(5);
    expectSameTensors(parseSafetensors(serializeSafetensors(clip), 'mem').tensors, clip);
  });

  it('decodes F16 values (normals, subnormals, infinities, signed zero) to float32', () => {
    const values = [1, -2, 0.5, 65504, 2 ** -14, 2 ** -24, 3 * 2 ** -24, 0.1, -0, Infinity, -Infinity, 1 / 3];
    const half = Uint16Array.from(values, toHalf);
    const st = rawSafetensors([{ name: 'h', dtype: 'F16', shape: [values.length], bytes: new Uint8Array(half.buffer) }]);
    const t = parseSafetensors(st, 'mem').tensors.get('h')!;
    expect(t.dtype).toBe('float32');
    const got = Array.from(t.data);
    expect(got.slice(0, 7)).toEqual([1, -2, 0.5, 65504, 2 ** -14, 2 ** -24, 3 * 2 ** -24]);
    expect(got[7]).toBe(0.0999755859375); // nearest half to 0.1
    expect(Object.is(got[8], -0)).toBe(true);
    expect(got[9]).toBe(Infinity);
    expect(got[10]).toBe(-Infinity);
    expect(Math.abs(got[11] - 1 / 3)).toBeLessThanOrEqual(2 ** -12);
    expect(Number.isNaN(halfToFloat(0x7e00))).toBe(true);
  });

  it('decodes BF16, F64 and I64', () => {
    const f = Float32Array.of(1.5, -3.25, 1e30, 2 ** -130);
    const bf = Uint16Array.from(new Uint32Array(f.buffer), (u) => u >>> 16);
    const st = rawSafetensors([
      { name: 'bf', dtype: 'BF16', shape: [2, 2], bytes: new Uint8Array(bf.buffer) },
      { name: 'f64', dtype: 'F64', shape: [2], bytes: new Uint8Array(Float64Array.of(0.25, -1e-3).buffer) },
      { name: 'i64', dtype: 'I64', shape: [3], bytes: new Uint8Array(BigInt64Array.of(1n, -5n, 49407n).buffer) },
    ]);
    const t = parseSafetensors(st, 'mem').tensors;
    const bfv = Array.from(t.get('bf')!.data);
    expect(t.get('bf')!.shape).toEqual([2, 2]);
    expect(bfv[0]).toBe(1.5);
    expect(bfv[1]).toBe(-3.25);
    // bf16 keeps 8 mantissa bits: truncation error below 2^-7 relative.
    expect(Math.abs(bfv[2] - 1e30) / 1e30).toBeLessThan(2 ** -7);
    expect(Math.abs(bfv[3] - 2 ** -130) / 2 ** -130).toBeLessThan(2 ** -7);
    expect(Array.from(t.get('f64')!.data)).toEqual([0.25, Math.fround(-1e-3)]);
    expect(t.get('i64')!.dtype).toBe('int32');
    expect(Array.from(t.get('i64')!.data)).toEqual([1, -5, 49407]);
  });
});

describe('safetensors: malformed headers are WeightsErrors naming the entry', () => {
  const withHeader = (header: unknown): Buffer => {
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([len, json, Buffer.alloc(16)]);
  };
  it.each([
    ['array header', [1, 2], undefined, /not a JSON object/],
    ['no data_offsets', { w: { dtype: 'F32', shape: [2] } }, 'w', /malformed/],
    ['negative shape', { w: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, 'w', /malformed/],
    ['reversed offsets', { w: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, 'w', /malformed/],
    ['null entry', { w: null }, 'w', /malformed/],
    ['bad metadata', { __metadata__: { T: 8 } }, '__metadata__', /strings/],
    ['unknown dtype', { w: { dtype: 'Q4', shape: [2], data_offsets: [0, 8] } }, 'w', /unsupported dtype Q4/],
    ['size mismatch', { w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 'w', /does not fit shape \[3\]/],
  ] as const)('%s', (_name, header, key, message) => {
    let err: unknown;
    try {
      parseSafetensors(withHeader(header), 'bad.safetensors');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WeightsError);
    expect((err as WeightsError).file).toBe('bad.safetensors');
    expect((err as WeightsError).key).toBe(key);
    expect((err as WeightsError).message).toMatch(message);
  });
});
