import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import { expect } from 'vitest';
import { WeightsError } from '../../../src/errors.js';
import type { HostTensor, TensorMap } from '../../../src/model/weights/tensor-map.js';

/** A fresh directory under os.tmpdir(); `cleanup` removes it. */
export function tmpDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `actionclip-weights-${tag}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Deterministic pseudo-random floats (mulberry32) so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

export function randTensor(shape: number[], r: () => number): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, dtype: 'float32', data: Float32Array.from({ length: n }, r) };
}

/**
 * A tiny but complete OpenAI-layout CLIP ViT state dict (vision width 64, patch 4, 2x2 grid,
 * text width 64, 8 tokens, 10-word vocabulary, embed 32, one block per tower).
 */
export function tinyClip(seed = 1, layers = 1): TensorMap {
  const r = rng(seed);
  const w: TensorMap = new Map();
  const vw = 64;
  const tw = 64;
  const e = 32;
  const add = (k: string, s: number[]): void => void w.set(k, randTensor(s, r));
  add('visual.conv1.weight', [vw, 3, 4, 4]);
  add('visual.class_embedding', [vw]);
  add('visual.positional_embedding', [5, vw]);
  add('visual.ln_pre.weight', [vw]);
  add('visual.ln_pre.bias', [vw]);
  const block = (p: string, d: number): void => {
    add(`${p}attn.in_proj_weight`, [3 * d, d]);
    add(`${p}attn.in_proj_bias`, [3 * d]);
    add(`${p}attn.out_proj.weight`, [d, d]);
    add(`${p}attn.out_proj.bias`, [d]);
    add(`${p}ln_1.weight`, [d]);
    add(`${p}ln_1.bias`, [d]);
    add(`${p}mlp.c_fc.weight`, [4 * d, d]);
    add(`${p}mlp.c_fc.bias`, [4 * d]);
    add(`${p}mlp.c_proj.weight`, [d, 4 * d]);
    add(`${p}mlp.c_proj.bias`, [d]);
    add(`${p}ln_2.weight`, [d]);
    add(`${p}ln_2.bias`, [d]);
  };
  for (let i = 0; i < layers; i++) block(`visual.transformer.resblocks.${i}.`, vw);
  add('visual.ln_post.weight', [vw]);
  add('visual.ln_post.bias', [vw]);
  add('visual.proj', [vw, e]);
  add('token_embedding.weight', [10, tw]);
  add('positional_embedding', [8, tw]);
  for (let i = 0; i < layers; i++) block(`transformer.resblocks.${i}.`, tw);
  add('ln_final.weight', [tw]);
  add('ln_final.bias', [tw]);
  add('text_projection', [tw, e]);
  w.set('logit_scale', { shape: [], dtype: 'float32', data: Float32Array.of(Math.log(1 / 0.07)) });
  return w;
}

export function expectSameTensors(actual: TensorMap, expected: TensorMap): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [k, e] of expected) {
    const a = actual.get(k)!;
    expect(a.shape, k).toEqual(e.shape);
    expect(a.dtype, k).toBe(e.dtype);
    expect(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength)), k).toBe(true);
  }
}

/** Awaits a rejection and checks it is a WeightsError naming the file (and key). */
export async function expectWeightsError(p: Promise<unknown>, file: string, key?: string, message?: RegExp): Promise<WeightsError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a rejection').toBeInstanceOf(WeightsError);
  const e = caught as WeightsError;
  expect(e.file).toBe(file);
  if (key !== undefined) expect(e.key).toBe(key);
  if (message !== undefined) expect(e.message).toMatch(message);
  expect(e.message).toContain(file);
  return e;
}

// ---------------------------------------------------------------------------------------------
// A minimal torch.save writer (protocol 2 pickle in a zip), to build checkpoints the fixtures
// do not cover: strided views, shared storages, bf16/int64, OrderedDict with _metadata.

export type StorageType = 'FloatStorage' | 'HalfStorage' | 'BFloat16Storage' | 'LongStorage' | 'IntStorage' | 'DoubleStorage';

export class TensorSpec {
  constructor(
    readonly storage: string,
    readonly type: StorageType,
    readonly numel: number,
    readonly offset: number,
    readonly size: number[],
    readonly stride: number[],
  ) {}
}

export class Tuple {
  constructor(readonly items: PV[]) {}
}

/** A dict written the way torch writes state_dict(): OrderedDict + BUILD of `_metadata`. */
export class OrderedDict {
  constructor(readonly entries: [string | number, PV][]) {}
}

/** A raw GLOBAL, to test refusal of unknown classes. */
export class Global {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
}

export type PV = null | boolean | number | bigint | string | PV[] | Tuple | OrderedDict | Map<string | number, PV> | TensorSpec | Global;

export function pickle(root: PV): Uint8Array {
  const out: number[] = [];
  const memo = new Map<string, number>();
  const byte = (...b: number[]): void => void out.push(...b);
  const u32 = (n: number): void => byte(n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff);
  const put = (id: string): void => {
    const n = memo.size;
    memo.set(id, n);
    if (n < 256) byte(0x71, n);
    else (byte(0x72), u32(n));
  };
  const global = (mod: string, name: string): void => {
    const id = `g:${mod}.${name}`;
    const m = memo.get(id);
    if (m !== undefined) {
      if (m < 256) byte(0x68, m);
      else (byte(0x6a), u32(m));
      return;
    }
    byte(0x63, ...Buffer.from(`${mod}\n${name}\n`, 'latin1'));
    put(id);
  };
  const str = (s: string): void => {
    const b = Buffer.from(s, 'utf8');
    if (b.length < 256) byte(0x8c, b.length, ...b);
    else (byte(0x58), u32(b.length), byte(...b));
  };
  const int = (n: number | bigint): void => {
    if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n < 256) byte(0x4b, n);
    else if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n < 65536) byte(0x4d, n & 0xff, n >> 8);
    else if (typeof n === 'number' && Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31) (byte(0x4a), u32(n));
    else {
      // LONG1: little-endian two's complement, 8 bytes is enough here.
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(BigInt(n));
      byte(0x8a, 8, ...b);
    }
  };
  const emptyOrderedDict = (): void => {
    global('collections', 'OrderedDict');
    byte(0x29, 0x52);
  };
  const write = (v: PV): void => {
    if (v === null) byte(0x4e);
    else if (v === true) byte(0x88);
    else if (v === false) byte(0x89);
    else if (typeof v === 'bigint') int(v);
    else if (typeof v === 'number') {
      if (Number.isInteger(v)) int(v);
      else {
        const b = Buffer.alloc(8);
        b.writeDoubleBE(v);
        byte(0x47, ...b);
      }
    } else if (typeof v === 'string') str(v);
    else if (Array.isArray(v)) {
      byte(0x5d, 0x28);
      for (const x of v) write(x);
      byte(0x65);
    } else if (v instanceof Tuple) {
      if (v.items.length === 0) byte(0x29);
      else if (v.items.length <= 3) {
        for (const x of v.items) write(x);
        byte([0x85, 0x86, 0x87][v.items.length - 1]);
      } else {
        byte(0x28);
        for (const x of v.items) write(x);
        byte(0x74);
      }
    } else if (v instanceof Map) {
      byte(0x7d, 0x28);
      for (const [k, x] of v) (write(k), write(x));
      byte(0x75);
    } else if (v instanceof OrderedDict) {
      emptyOrderedDict();
      byte(0x28);
      for (const [k, x] of v.entries) (write(k), write(x));
      byte(0x75);
      // BUILD with {'_metadata': OrderedDict({'': {'version': 1}})}, as state_dict() pickles.
      byte(0x7d, 0x28);
      str('_metadata');
      emptyOrderedDict();
      byte(0x28);
      str('');
      write(new Map([['version', 1]]));
      byte(0x75, 0x75, 0x62);
    } else if (v instanceof Global) {
      global(v.module, v.name);
      byte(0x29, 0x52);
    } else {
      global('torch._utils', '_rebuild_tensor_v2');
      byte(0x28, 0x28);
      str('storage');
      global('torch', v.type);
      str(v.storage);
      str('cpu');
      int(v.numel);
      byte(0x74, 0x51);
      int(v.offset);
      write(new Tuple(v.size));
      write(new Tuple(v.stride));
      byte(0x89);
      emptyOrderedDict();
      byte(0x74, 0x52);
    }
  };
  byte(0x80, 2);
  write(root);
  byte(0x2e);
  return Uint8Array.from(out);
}

/** torch.save's zip layout: `<name>/data.pkl`, `<name>/data/<key>`, `<name>/version`. */
export function torchZip(root: PV, storages: Record<string, Uint8Array>, name = 'archive'): Uint8Array {
  const files: Record<string, Uint8Array> = {
    [`${name}/data.pkl`]: pickle(root),
    [`${name}/version`]: Buffer.from('3\n'),
  };
  for (const [k, v] of Object.entries(storages)) files[`${name}/data/${k}`] = v;
  return zipSync(files, { level: 0 });
}

/** Contiguous tensor over a whole float32 storage. */
export function f32Storage(values: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

/** fp16 bits from float (round to nearest even), for writing half storages. */
export function toHalf(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  let mant = x & 0x7fffff;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    const half = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rem > mid || (rem === mid && half & 1) ? 1 : 0));
  }
  if (exp >= 31) return sign | 0x7c00;
  let h = sign | (exp << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return h;
}
