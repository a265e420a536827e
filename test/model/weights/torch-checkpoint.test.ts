import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { WeightsError } from '../../../src/errors.js';
import { isHostTensor, parseTorchCheckpoint, readTorchCheckpoint, TensorRef, type PyDict } from '../../../src/model/weights/torch-checkpoint.js';
import { fixture, HAVE_FIXTURES } from '../../support/fixtures.js';
import { expectWeightsError, f32Storage, Global, OrderedDict, pickle, TensorSpec, tmpDir, toHalf, torchZip, Tuple } from './helpers.js';

const F = 'synthetic.pt';

function dict(v: unknown): PyDict {
  expect(v).toBeInstanceOf(Map);
  return v as PyDict;
}

describe('torch.save reader (synthetic checkpoints)', () => {
  // Storage 0: 0..11 as float32, viewed three ways.
  const s0 = f32Storage(Array.from({ length: 12 }, (_, i) => i));
  const half = Uint16Array.from([0.5, -1.25, 3, 1000, 2 ** -20], toHalf);
  const bf = Uint16Array.from(new Uint32Array(Float32Array.of(1.5, -2, 3.125).buffer), (u) => u >>> 16);
  const longs = BigInt64Array.of(0n, 49406n, -3n);
  const root = new Map<string, never>([
    ['epoch', 7 as never],
    [
      'model_state_dict',
      new OrderedDict([
        ['module.contig', new TensorSpec('0', 'FloatStorage', 12, 0, [3, 4], [4, 1])],
        // The same storage transposed: a non-contiguous view.
        ['module.transposed', new TensorSpec('0', 'FloatStorage', 12, 0, [4, 3], [1, 4])],
        // A slice starting at element 5 with a row stride of 4: offset + stride.
        ['module.offset', new TensorSpec('0', 'FloatStorage', 12, 5, [2, 3], [4, 1])],
        ['module.scalar', new TensorSpec('0', 'FloatStorage', 12, 11, [], [])],
        ['module.half', new TensorSpec('1', 'HalfStorage', 5, 0, [5], [1])],
        ['module.bf16', new TensorSpec('2', 'BFloat16Storage', 3, 0, [3], [1])],
        ['module.ids', new TensorSpec('3', 'LongStorage', 3, 0, [1, 3], [3, 1])],
        // A broadcast view (stride 0), as expand() saves it.
        ['module.expanded', new TensorSpec('1', 'HalfStorage', 5, 2, [2, 2], [0, 1])],
      ]) as never,
    ],
    [
      'optimizer_state_dict',
      new Map<string, unknown>([
        ['state', new Map([[0, new Map<string, unknown>([['step', 3], ['exp_avg', new TensorSpec('0', 'FloatStorage', 12, 0, [12], [1])]])]])],
        ['param_groups', [new Map<string, unknown>([['lr', 5e-6], ['betas', new Tuple([0.9, 0.98])], ['params', [0, 1, 2, 3, 4]], ['amsgrad', false], ['foreach', null], ['big', 2n ** 40n], ['neg', -123456], ['ids4', new Tuple([1, 2, 3, 4])]])]],
      ]) as never,
    ],
  ]);
  const zip = torchZip(root as never, {
    '0': s0,
    '1': new Uint8Array(half.buffer),
    '2': new Uint8Array(bf.buffer),
    '3': new Uint8Array(longs.buffer),
  });

  it('reads tensors honouring dtype, offset, size and stride', () => {
    const ck = parseTorchCheckpoint(zip, F);
    expect(ck.archiveName).toBe('archive');
    const r = dict(ck.root);
    expect(r.get('epoch')).toBe(7);
    const m = dict(r.get('model_state_dict'));
    // BUILD's `_metadata` is an attribute, not an entry.
    expect([...m.keys()]).not.toContain('_metadata');
    const t = (k: string) => {
      const v = m.get(k);
      if (!isHostTensor(v)) throw new Error(`${k} is not a tensor`);
      return { shape: v.shape, dtype: v.dtype, values: Array.from(v.data) };
    };
    expect(t('module.contig')).toEqual({ shape: [3, 4], dtype: 'float32', values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] });
    expect(t('module.transposed')).toEqual({ shape: [4, 3], dtype: 'float32', values: [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11] });
    expect(t('module.offset')).toEqual({ shape: [2, 3], dtype: 'float32', values: [5, 6, 7, 9, 10, 11] });
    expect(t('module.scalar')).toEqual({ shape: [], dtype: 'float32', values: [11] });
    expect(t('module.half')).toEqual({ shape: [5], dtype: 'float32', values: [0.5, -1.25, 3, 1000, 2 ** -20] });
    expect(t('module.bf16')).toEqual({ shape: [3], dtype: 'float32', values: [1.5, -2, 3.125] });
    expect(t('module.ids')).toEqual({ shape: [1, 3], dtype: 'int32', values: [0, 49406, -3] });
    expect(t('module.expanded')).toEqual({ shape: [2, 2], dtype: 'float32', values: [3, 1000, 3, 1000] });
  });

  it('keeps plain Python values: ints, big ints, floats, tuples, None, bools, int keys', () => {
    const r = dict(parseTorchCheckpoint(zip, F).root);
    const opt = dict(r.get('optimizer_state_dict'));
    const g = dict((opt.get('param_groups') as unknown[])[0]);
    expect(g.get('lr')).toBe(5e-6);
    expect(g.get('betas')).toEqual([0.9, 0.98]);
    expect(g.get('params')).toEqual([0, 1, 2, 3, 4]);
    expect(g.get('amsgrad')).toBe(false);
    expect(g.get('foreach')).toBe(null);
    expect(g.get('big')).toBe(2 ** 40);
    expect(g.get('neg')).toBe(-123456);
    expect(g.get('ids4')).toEqual([1, 2, 3, 4]);
    expect(dict(dict(opt.get('state')).get(0)).get('step')).toBe(3);
  });

  it('loads only selected tensors; the others stay references', () => {
    const r = dict(parseTorchCheckpoint(zip, F, { select: (p) => p[0] === 'model_state_dict' }).root);
    const exp = dict(dict(dict(r.get('optimizer_state_dict')).get('state')).get(0)).get('exp_avg');
    expect(exp).toBeInstanceOf(TensorRef);
    expect((exp as TensorRef).shape).toEqual([12]);
    expect(isHostTensor(dict(r.get('model_state_dict')).get('module.half'))).toBe(true);
  });

  it('refuses unknown globals and opcodes, naming the file', () => {
    const bad = torchZip(new Map([['x', new Global('os', 'system')]]) as never, {});
    expect(() => parseTorchCheckpoint(bad, F)).toThrow(WeightsError);
    expect(() => parseTorchCheckpoint(bad, F)).toThrow(/unsupported Python global os\.system.*file: synthetic\.pt/);
    const pkl = pickle(new Map([['x', 1]]) as never);
    pkl[pkl.length - 1] = 0xff; // replace STOP
    const z = zipSync({ 'a/data.pkl': pkl }, { level: 0 });
    expect(() => parseTorchCheckpoint(z, F)).toThrow(/unsupported pickle opcode 0xff.*file: synthetic\.pt/);
  });

  it('reports a storage whose bytes are missing or too short, naming the key', () => {
    const short = torchZip(new Map([['w', new TensorSpec('0', 'FloatStorage', 12, 0, [12], [1])]]) as never, { '0': f32Storage([1, 2, 3]) });
    expect(() => parseTorchCheckpoint(short, F)).toThrow(/holds 3 elements.*key: w/);
    const outside = torchZip(new Map([['w', new TensorSpec('0', 'FloatStorage', 3, 2, [2], [1])]]) as never, { '0': f32Storage([1, 2, 3]) });
    expect(() => parseTorchCheckpoint(outside, F)).toThrow(/runs outside its storage.*key: w/);
    const missing = torchZip(new Map([['w', new TensorSpec('9', 'FloatStorage', 3, 0, [3], [1])]]) as never, {});
    expect(() => parseTorchCheckpoint(missing, F)).toThrow(/storage 9 is missing.*key: w/);
  });

  it('rejects non-zip, truncated, empty and legacy files clearly', async () => {
    expect(() => parseTorchCheckpoint(new Uint8Array(0), F)).toThrow(/empty/);
    expect(() => parseTorchCheckpoint(zip.slice(0, zip.length - 30), F)).toThrow(/corrupt checkpoint zip/);
    expect(() => parseTorchCheckpoint(Buffer.from('hello world'), F)).toThrow(/not a zip/);
    expect(() => parseTorchCheckpoint(Uint8Array.of(0x80, 0x02, 0x8a, 0x0a), F)).toThrow(/legacy/);
    const { dir, cleanup } = tmpDir('pt');
    try {
      const file = path.join(dir, 'missing.pt');
      await expectWeightsError(readTorchCheckpoint(file), file, undefined, /ENOENT/);
      const trunc = path.join(dir, 'trunc.pt');
      writeFileSync(trunc, zip.slice(0, 200));
      await expectWeightsError(readTorchCheckpoint(trunc), trunc, undefined, /corrupt/);
    } finally {
      cleanup();
    }
  });

  it("refuses a TorchScript archive (OpenAI's original .pt), saying which format to use instead", () => {
    // torch.jit.save's layout: data.pkl pickles module objects, beside constants.pkl and code/.
    const jit = zipSync({ 'ViT-B-32/data.pkl': pickle(new Tuple([])), 'ViT-B-32/constants.pkl': pickle(new Tuple([])), 'ViT-B-32/code/__torch__/model.py': Buffer.from('class CLIP(Module):\n  pass\n'), 'ViT-B-32/version': Buffer.from('3\n') }, { level: 0 });
    expect(() => parseTorchCheckpoint(jit, 'ViT-B-32.pt')).toThrow(WeightsError);
    expect(() => parseTorchCheckpoint(jit, 'ViT-B-32.pt')).toThrow(/TorchScript .*models pull vit-b-32/);
  });
});

describe.skipIf(!HAVE_FIXTURES)('torch.save reader (ActionCLIP fixture)', () => {
  it('reads actionclip-Transf.pt: epoch, fp16 CLIP state dict, fusion, optimizer', async () => {
    const ck = await readTorchCheckpoint(fixture('actionclip-Transf.pt'));
    const r = dict(ck.root);
    expect([...r.keys()]).toEqual(['epoch', 'model_state_dict', 'fusion_model_state_dict', 'optimizer_state_dict']);
    expect(r.get('epoch')).toBe(3);
    const m = dict(r.get('model_state_dict'));
    expect(m.size).toBe(62);
    const proj = m.get('visual.proj');
    expect(isHostTensor(proj) && proj.shape).toEqual([128, 64]);
    const f = dict(r.get('fusion_model_state_dict'));
    expect(f.size).toBe(73);
    expect([...f.keys()].every((k) => typeof k === 'string' && k.startsWith('module.'))).toBe(true);
    expect(dict(r.get('optimizer_state_dict')).get('param_groups')).toEqual([new Map([['lr', 5e-6]])]);
  });
});
