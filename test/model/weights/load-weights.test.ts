import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WeightsError } from '../../../src/errors.js';
import { openAiToHuggingFace } from '../../../src/model/weights/key-maps.js';
import { loadWeights } from '../../../src/model/weights/load-weights.js';
import { readSafetensors, serializeSafetensors, writeSafetensors } from '../../../src/model/weights/safetensors.js';
import type { TensorMap } from '../../../src/model/weights/tensor-map.js';
import { fixture, HAVE_FIXTURES } from '../../support/fixtures.js';
import { expectSameTensors, expectWeightsError, OrderedDict, randTensor, rng, TensorSpec, tinyClip, tmpDir, torchZip } from './helpers.js';

function without(t: TensorMap, key: string): TensorMap {
  const out = new Map(t);
  out.delete(key);
  return out;
}

function withTensor(t: TensorMap, key: string, shape: number[]): TensorMap {
  return new Map(t).set(key, randTensor(shape, rng(1)));
}

/** A tiny Conv_1D head for the tiny CLIP (embed 32). */
function tinyConvHead(prefix = 'module.'): TensorMap {
  const r = rng(9);
  return new Map([
    [`${prefix}frame_position_embeddings.weight`, randTensor([8, 32], r)],
    [`${prefix}shift.weight`, randTensor([32, 1, 3], r)],
  ]);
}

describe('loadWeights (synthetic weights)', () => {
  const { dir, cleanup } = tmpDir('load');
  const clip = tinyClip(21, 2);
  const at = (name: string): string => path.join(dir, name);
  afterAll(cleanup);

  it('loads an OpenAI-layout safetensors file', async () => {
    await writeSafetensors(at('openai.safetensors'), clip);
    const w = await loadWeights(at('openai.safetensors'));
    expectSameTensors(w.clip, clip);
    expect(w).toMatchObject({ fusion: null, head: null, frames: null, sources: { clip: at('openai.safetensors') } });
    expect(w.config).toMatchObject({ embedDim: 32, imageResolution: 8, patchSize: 4, visionWidth: 64, visionLayers: 2, textLayers: 2, contextLength: 8, vocabSize: 10 });
  });

  it('loads a Hugging Face-layout file to exactly the OpenAI tensors', async () => {
    const hf = openAiToHuggingFace(clip);
    hf.set('text_model.embeddings.position_ids', { shape: [1, 8], dtype: 'int32', data: Int32Array.from({ length: 8 }, (_, i) => i) });
    await writeSafetensors(at('hf.safetensors'), hf);
    expectSameTensors((await loadWeights(at('hf.safetensors'))).clip, clip);
  });

  it('loads a DataParallel (module.) state dict', async () => {
    const prefixed: TensorMap = new Map([...clip].map(([k, v]) => [`module.${k}`, v]));
    await writeSafetensors(at('dp.safetensors'), prefixed);
    expectSameTensors((await loadWeights(at('dp.safetensors'))).clip, clip);
  });

  it('reads an ActionCLIP-style .pt checkpoint with a fusion head, and meanP (empty fusion)', async () => {
    const storages: Record<string, Uint8Array> = {};
    const entries = (t: TensorMap, prefix = ''): [string, TensorSpec][] =>
      [...t].map(([k, v]) => {
        const key = String(Object.keys(storages).length);
        storages[key] = new Uint8Array(v.data.slice().buffer);
        return [prefix + k, new TensorSpec(key, 'FloatStorage', v.data.length, 0, [...v.shape], contiguousStride(v.shape))];
      });
    const root = new Map<string, unknown>([
      ['epoch', 1],
      ['model_state_dict', new OrderedDict(entries(clip, 'module.'))],
      ['fusion_model_state_dict', new OrderedDict(entries(tinyConvHead()))],
      ['optimizer_state_dict', new Map([['state', new Map()]])],
    ]);
    writeFileSync(at('ckpt.pt'), torchZip(root as never, storages));
    const w = await loadWeights(at('ckpt.pt'));
    expectSameTensors(w.clip, clip);
    expect(w.head).toBe('Conv_1D');
    expectSameTensors(w.fusion!, new Map([...tinyConvHead('')]));
    expect(w.sources).toEqual({ clip: at('ckpt.pt'), fusion: at('ckpt.pt') });
    await expectWeightsError(loadWeights(at('ckpt.pt'), { fusion: 'LSTM' }), at('ckpt.pt'), undefined, /Conv_1D head, not LSTM/);

    // In a directory, the checkpoint's own head wins over a fusion file beside it.
    const ptDir = at('ptdir');
    mkdirSync(ptDir);
    writeFileSync(path.join(ptDir, 'actionclip.pt'), readFileSync(at('ckpt.pt')));
    await writeSafetensors(path.join(ptDir, 'fusion-other.safetensors'), new Map());
    const fromDir = await loadWeights(ptDir);
    expect(fromDir.head).toBe('Conv_1D');
    expect(fromDir.sources).toEqual({ clip: path.join(ptDir, 'actionclip.pt'), fusion: path.join(ptDir, 'actionclip.pt') });

    root.set('fusion_model_state_dict', new OrderedDict([]));
    writeFileSync(at('meanp.pt'), torchZip(root as never, storages));
    const m = await loadWeights(at('meanp.pt'));
    expect(m.head).toBe('meanP');
    expect(m.fusion?.size).toBe(0);

    // A bare CLIP state dict saved with torch.save.
    writeFileSync(at('bare.pt'), torchZip(new OrderedDict(entries(clip)) as never, storages));
    const bare = await loadWeights(at('bare.pt'));
    expectSameTensors(bare.clip, clip);
    expect(bare.fusion).toBeNull();
  });

  it('adds an explicit fusion file, checks it against CLIP and refuses swapped arguments', async () => {
    await writeSafetensors(at('openai.safetensors'), clip);
    await writeSafetensors(at('head.safetensors'), tinyConvHead(), { sim_header: 'Conv_1D', T: '8' });
    const w = await loadWeights(at('openai.safetensors'), { fusion: at('head.safetensors') });
    expect(w).toMatchObject({ head: 'Conv_1D', frames: 8, sources: { clip: at('openai.safetensors'), fusion: at('head.safetensors') } });
    expect([...w.fusion!.keys()]).toEqual(['frame_position_embeddings.weight', 'shift.weight']);
    await expectWeightsError(loadWeights(at('head.safetensors')), at('head.safetensors'), undefined, /fusion-head file, not CLIP/);
    await expectWeightsError(loadWeights(at('openai.safetensors'), { fusion: at('openai.safetensors') }), at('openai.safetensors'), undefined, /CLIP weights, not a fusion head/);
    // A head for another embedding size.
    await writeSafetensors(at('wide.safetensors'), new Map([...tinyConvHead()].map(([k, v]) => [k, randTensor(v.shape.map((n) => (n === 32 ? 48 : n)), rng(2))])));
    await expectWeightsError(loadWeights(at('openai.safetensors'), { fusion: at('wide.safetensors') }), at('wide.safetensors'), 'frame_position_embeddings.weight', /shape \[8,48\] but the model needs \[8,32\]/);
    await writeSafetensors(at('lying.safetensors'), tinyConvHead(), { sim_header: 'LSTM' });
    await expectWeightsError(loadWeights(at('openai.safetensors'), { fusion: at('lying.safetensors') }), at('lying.safetensors'), '__metadata__.sim_header');
    await expectWeightsError(loadWeights(at('openai.safetensors'), { fusion: at('nope.safetensors') }), at('nope.safetensors'), undefined, /not found/);
    const meanP = await loadWeights(at('openai.safetensors'), { fusion: 'meanP' });
    expect(meanP.head).toBe('meanP');
  });

  describe('bad inputs name the file and the key', () => {
    const cases: [string, TensorMap, string, RegExp][] = [
      ['no-proj', without(clip, 'visual.proj'), 'visual.proj', /missing CLIP tensor/],
      ['no-ln-final', without(clip, 'ln_final.weight'), 'ln_final.weight', /missing CLIP tensor/],
      ['no-block-tensor', without(clip, 'visual.transformer.resblocks.1.mlp.c_fc.bias'), 'visual.transformer.resblocks.1.mlp.c_fc.bias', /missing CLIP tensor \(the model needs \[256\]\)/],
      ['gap-in-blocks', new Map([...clip].filter(([k]) => !k.startsWith('transformer.resblocks.0.'))), 'transformer.resblocks.0.attn.in_proj_weight', /missing/],
      ['conv-rank', withTensor(clip, 'visual.conv1.weight', [3, 4]), 'visual.conv1.weight', /tensor has shape \[3,4\] but the model needs \[64,3,patch,patch\]/],
      ['conv-width', withTensor(clip, 'visual.conv1.weight', [32, 3, 4, 4]), 'visual.conv1.weight', /tensor has shape \[32,3,4,4\] but the model needs \[64,3,4,4\]/],
      ['proj-shape', withTensor(clip, 'visual.proj', [64, 16]), 'visual.proj', /needs \[64,32\]/],
      ['qkv-shape', withTensor(clip, 'transformer.resblocks.1.attn.in_proj_weight', [192, 32]), 'transformer.resblocks.1.attn.in_proj_weight', /needs \[192,64\]/],
      ['grid', withTensor(clip, 'visual.positional_embedding', [6, 64]), 'visual.positional_embedding', /not a square grid/],
      ['logit-scale', withTensor(clip, 'logit_scale', [2]), 'logit_scale', /scalar/],
      ['int-weights', new Map(clip).set('ln_final.bias', { shape: [64], dtype: 'int32', data: new Int32Array(64) }), 'ln_final.bias', /int32/],
    ];
    it.each(cases)('%s', async (name, tensors, key, message) => {
      const file = at(`${name}.safetensors`);
      await writeSafetensors(file, tensors);
      await expectWeightsError(loadWeights(file), file, key, message);
    });

    it('missing path, empty file, bad header, truncated file, not CLIP', async () => {
      await expectWeightsError(loadWeights(at('absent.safetensors')), at('absent.safetensors'), undefined, /not found \(ENOENT\)/);
      writeFileSync(at('empty.safetensors'), '');
      await expectWeightsError(loadWeights(at('empty.safetensors')), at('empty.safetensors'), undefined, /not a safetensors file/);
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(12n);
      writeFileSync(at('nojson.safetensors'), Buffer.concat([len, Buffer.from('{not json!!}')]));
      await expectWeightsError(loadWeights(at('nojson.safetensors')), at('nojson.safetensors'), undefined, /header is not JSON/);
      const full = serializeSafetensors(clip);
      writeFileSync(at('trunc.safetensors'), full.subarray(0, full.length - 1000));
      // serializeSafetensors sorts names, so the cut lands in the last one.
      const last = [...clip.keys()].sort().at(-1);
      await expectWeightsError(loadWeights(at('trunc.safetensors')), at('trunc.safetensors'), last, /truncated/);
      writeFileSync(at('trunc-header.safetensors'), full.subarray(0, 100));
      await expectWeightsError(loadWeights(at('trunc-header.safetensors')), at('trunc-header.safetensors'), undefined, /truncated/);
      await writeSafetensors(at('other.safetensors'), new Map([['foo', randTensor([2], rng(1))]]));
      await expectWeightsError(loadWeights(at('other.safetensors')), at('other.safetensors'), undefined, /not CLIP weights/);
    });

    it('corrupt .pt and a .pt without model_state_dict', async () => {
      const pt = torchZip(new Map<string, unknown>([['epoch', 3], ['fusion_model_state_dict', new OrderedDict([])]]) as never, {});
      writeFileSync(at('nomodel.pt'), pt);
      await expectWeightsError(loadWeights(at('nomodel.pt')), at('nomodel.pt'), 'model_state_dict', /no model_state_dict \(top-level keys: epoch, fusion_model_state_dict\)/);
      const bad = Buffer.from(pt);
      bad.fill(0x41, bad.length - 22); // wipe the end-of-central-directory record
      writeFileSync(at('corrupt.pt'), bad);
      await expectWeightsError(loadWeights(at('corrupt.pt')), at('corrupt.pt'), undefined, /corrupt checkpoint zip/);
    });
  });
});

function contiguousStride(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

describe.skipIf(!HAVE_FIXTURES)('loadWeights (ActionCLIP reference fixtures)', () => {
  // Made in beforeAll: a skipped suite runs no hooks, so it must not leave a directory behind.
  let dir = '';
  let cleanup = (): void => undefined;
  let reference: TensorMap;
  beforeAll(async () => {
    ({ dir, cleanup } = tmpDir('fixtures'));
    reference = (await readSafetensors(fixture('clip.safetensors'))).tensors;
  });
  afterAll(() => cleanup());

  it('the .pt checkpoint gives the clip.safetensors tensors within fp16 rounding and the exact Transf head', async () => {
    const w = await loadWeights(fixture('actionclip-Transf.pt'));
    expect([...w.clip.keys()].sort()).toEqual([...reference.keys()].sort());
    let maxAbs = 0;
    let maxRel = 0;
    let bad = 0;
    for (const [k, ref] of reference) {
      const got = w.clip.get(k)!;
      expect(got.shape, k).toEqual(ref.shape);
      for (let i = 0; i < ref.data.length; i++) {
        const a = got.data[i];
        const b = ref.data[i];
        const d = Math.abs(a - b);
        // fp16 keeps 11 significant bits: round-to-nearest error <= |b| * 2^-11 (2^-10 as margin).
        if (d > Math.abs(b) * 2 ** -10 + 1e-7) bad++;
        maxAbs = Math.max(maxAbs, d);
        // Relative error is meaningful in fp16's normal range (below it values flush towards 0).
        if (Math.abs(b) >= 2 ** -14) maxRel = Math.max(maxRel, d / Math.abs(b));
      }
    }
    console.info(`[weights] .pt vs clip.safetensors: max |a-b| = ${maxAbs.toExponential(3)}, max |a-b|/|b| = ${maxRel.toExponential(3)} (2^-11 = ${(2 ** -11).toExponential(3)})`);
    expect(bad).toBe(0);
    expect(maxAbs).toBeGreaterThan(0); // it really was fp16

    expect(w.head).toBe('Transf');
    const head = (await readSafetensors(fixture('fusion-Transf.safetensors'))).tensors;
    expectSameTensors(w.fusion!, new Map([...head].map(([k, v]) => [k.replace(/^module\./, ''), v])));
    expect(w.config).toMatchObject({ embedDim: 64, imageResolution: 32, patchSize: 8, visionWidth: 128, visionLayers: 2, textWidth: 128, textLayers: 2, contextLength: 77, vocabSize: 49408 });
  });

  it('clip.safetensors re-keyed to Hugging Face names loads to exactly the original tensors', async () => {
    const hf = openAiToHuggingFace(reference);
    hf.set('vision_model.embeddings.position_ids', { shape: [1, 17], dtype: 'int32', data: Int32Array.from({ length: 17 }, (_, i) => i) });
    const sub = path.join(dir, 'hf');
    mkdirSync(sub);
    await writeSafetensors(path.join(sub, 'model.safetensors'), hf);
    expectSameTensors((await loadWeights(path.join(sub, 'model.safetensors'))).clip, reference);
    const fromDir = await loadWeights(sub);
    expectSameTensors(fromDir.clip, reference);
    expect(fromDir.sources.clip).toBe(path.join(sub, 'model.safetensors'));
  });

  it('directories: one fusion file is used; several are listed, not guessed; a head name picks one', async () => {
    const one = path.join(dir, 'one');
    mkdirSync(one);
    symlinkSync(fixture('clip.safetensors'), path.join(one, 'clip.safetensors'));
    symlinkSync(fixture('fusion-Transf_cls.safetensors'), path.join(one, 'fusion-Transf_cls.safetensors'));
    const w1 = await loadWeights(one);
    expect(w1).toMatchObject({ head: 'Transf_cls', frames: 8, sources: { clip: path.join(one, 'clip.safetensors'), fusion: path.join(one, 'fusion-Transf_cls.safetensors') } });
    expect(w1.fusion!.has('transformer.cls_token')).toBe(true);
    expect(w1.fusionCandidates).toBeUndefined();

    // The fixture directory itself holds clip.safetensors, four heads and other files.
    const all = await loadWeights(path.dirname(fixture('clip.safetensors')));
    expect(all.fusion).toBeNull();
    expect(all.head).toBeNull();
    expect(all.fusionCandidates!.map((f) => path.basename(f))).toEqual(['fusion-Conv_1D.safetensors', 'fusion-LSTM.safetensors', 'fusion-Transf.safetensors', 'fusion-Transf_cls.safetensors']);
    for (const head of ['Conv_1D', 'LSTM', 'Transf', 'Transf_cls'] as const) {
      const w = await loadWeights(path.dirname(fixture('clip.safetensors')), { fusion: head });
      expect(w.head).toBe(head);
      expect(w.frames).toBe(8);
      expect(w.sources.fusion).toBe(fixture(`fusion-${head}.safetensors`));
    }
    const viaPath = await loadWeights(fixture('clip.safetensors'), { fusion: fixture('fusion-LSTM.safetensors') });
    expect(viaPath.head).toBe('LSTM');
    expect([...viaPath.fusion!.keys()].sort()).toEqual(['frame_position_embeddings.weight', 'lstm_visual.bias_hh_l0', 'lstm_visual.bias_ih_l0', 'lstm_visual.weight_hh_l0', 'lstm_visual.weight_ih_l0']);
    // A single file never picks up a head lying beside it.
    expect((await loadWeights(fixture('clip.safetensors'))).fusion).toBeNull();

    const empty = path.join(dir, 'empty');
    mkdirSync(empty);
    await expectWeightsError(loadWeights(empty), empty, undefined, /no \.safetensors or \.pt/);
    await expectWeightsError(loadWeights(one, { fusion: 'LSTM' }), one, undefined, /no fusion-LSTM\.safetensors/);
  });

  it('a truncated copy of clip.safetensors and a cut .pt fail clearly', async () => {
    const bytes = readFileSync(fixture('clip.safetensors'));
    const cut = path.join(dir, 'clip-cut.safetensors');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const e = await expectWeightsError(loadWeights(cut), cut, undefined, /truncated safetensors file/);
    expect(e.key).toBeDefined();
    const pt = readFileSync(fixture('actionclip-Transf.pt'));
    const ptCut = path.join(dir, 'cut.pt');
    writeFileSync(ptCut, pt.subarray(0, Math.floor(pt.length / 2)));
    await expectWeightsError(loadWeights(ptCut), ptCut, undefined, /corrupt checkpoint zip/);
  });

  it('the fixture CLIP without visual.proj / with a wrong conv1 shape is refused by key', async () => {
    const noProj = path.join(dir, 'noproj.safetensors');
    await writeSafetensors(noProj, without(reference, 'visual.proj'));
    await expectWeightsError(loadWeights(noProj), noProj, 'visual.proj');
    const conv = path.join(dir, 'conv.safetensors');
    await writeSafetensors(conv, withTensor(reference, 'visual.conv1.weight', [3, 4]));
    const err = await expectWeightsError(loadWeights(conv), conv, 'visual.conv1.weight');
    expect(err.message).toMatch(/tensor has shape \[3,4\] but the model needs \[128,3,patch,patch\]/);
    expect(err).toBeInstanceOf(WeightsError);
  });
});
