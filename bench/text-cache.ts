/**
 * Text-embedding cache, measured in one run on one model: a start with a vocabulary preset
 * without the cache (what every start paid before it), with an empty cache (cold: encode and
 * write), again with the cache filled (a second start), and an update that changes one label.
 * Also the cost of the weights hash that keys the cache (SHA-256 throughput on a scratch file,
 * and the memo lookup a later start pays instead).
 *
 *   npm run bench:text-cache -- [--weights PATH | --synthetic ViT-B/32] [--engine onnx|tfjs]
 *                               [--backend NAME] [--vocabulary kinetics400] [--hash-mb 256] [--json]
 *
 * Default weights: the reference fixture (a tiny CLIP); `--synthetic` writes random weights of a
 * real size to a scratch folder, for encode times of the size a user runs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { resolveVocabulary } from '../config/load.js';
import { VocabularyStore } from '../src/control/vocabulary-store.js';
import type { Engine } from '../src/engine/engine.js';
import { loadModel } from '../src/engine/load-model.js';
import { weightsDigest } from '../src/model/text-cache/weights-digest.js';
import { writeSafetensors } from '../src/model/weights/safetensors.js';
import { CLIP_SPECS, syntheticClipWeights } from '../src/model/weights/synthetic-weights.js';
import { FIXTURE_DIR } from '../harness/paths.js';

const { values: args } = parseArgs({
  options: {
    weights: { type: 'string', default: path.join(FIXTURE_DIR, 'clip.safetensors') },
    synthetic: { type: 'string' },
    engine: { type: 'string', default: 'onnx' },
    backend: { type: 'string' },
    vocabulary: { type: 'string', default: 'kinetics400' },
    'hash-mb': { type: 'string', default: '256' },
    json: { type: 'boolean', default: false },
  },
});

const scratch = mkdtempSync(path.join(os.tmpdir(), 'bench-text-cache-'));
const quiet = { info: () => {}, warn: (m: string) => console.error(`[onnx] ${m}`) };
const seconds = (t0: number): number => (performance.now() - t0) / 1000;

/** The engine with its encodeText calls counted (prompts). */
function counting(engine: Engine): Engine & { prompts: number } {
  const c = { info: engine.info, prompts: 0, encodeFrames: engine.encodeFrames.bind(engine), fuse: engine.fuse.bind(engine), dispose: () => engine.dispose(), encodeText: (t: Int32Array, n: number) => ((c.prompts += n), engine.encodeText(t, n)) };
  return c;
}

interface Row {
  readonly phase: string;
  readonly loadS: number;
  readonly vocabularyS: number;
  readonly promptsEncoded: number;
}

/** One "start": load the model, build the vocabulary store (and optionally apply an update). */
async function start(phase: string, textCache: { dir: string } | false, labels: string[], update?: string[]): Promise<Row[]> {
  let t0 = performance.now();
  const model = await loadModel({ weights: args.weights, engine: args.engine as 'onnx' | 'tfjs', backend: args.backend, engineOptions: { cacheDir: path.join(scratch, 'onnx'), logger: quiet }, textCache });
  const loadS = seconds(t0);
  try {
    const engine = counting(model.engine);
    t0 = performance.now();
    const store = await VocabularyStore.create(engine, { labels }, { textCache: model.textCache });
    const rows: Row[] = [{ phase, loadS, vocabularyS: seconds(t0), promptsEncoded: engine.prompts }];
    if (update !== undefined) {
      const before = engine.prompts;
      t0 = performance.now();
      await store.update({ labels: update });
      rows.push({ phase: 'update, one label changed', loadS: 0, vocabularyS: seconds(t0), promptsEncoded: engine.prompts - before });
    }
    store.dispose();
    return rows;
  } finally {
    model.dispose();
  }
}

/** SHA-256 throughput on a scratch file, and the memo lookup that replaces it on later loads. */
async function hashCost(mb: number): Promise<{ mb: number; hashS: number; memoS: number } | null> {
  if (mb <= 0) return null;
  const file = path.join(scratch, 'weights.bin');
  writeFileSync(file, Buffer.alloc(mb * 2 ** 20, 7));
  const memo = path.join(scratch, 'digest-memo.json');
  let t0 = performance.now();
  await weightsDigest([file], memo);
  const hashS = seconds(t0);
  t0 = performance.now();
  await weightsDigest([file], memo);
  return { mb, hashS, memoS: seconds(t0) };
}

async function main(): Promise<void> {
  if (args.synthetic !== undefined) {
    const spec = CLIP_SPECS[args.synthetic as keyof typeof CLIP_SPECS];
    if (spec === undefined) throw new Error(`--synthetic: one of ${Object.keys(CLIP_SPECS).join(', ')}`);
    args.weights = path.join(scratch, 'synthetic-clip.safetensors');
    await writeSafetensors(args.weights, syntheticClipWeights(spec));
  }
  const { labels } = resolveVocabulary({ vocabulary: args.vocabulary });
  const changed = [...labels.slice(0, -1), 'a label never seen before'];
  const cacheDir = { dir: path.join(scratch, 'text-embeddings') };
  // Untimed: builds the engine's graphs (their own disk cache) and warms the JIT, so that the rows
  // below differ only by the text cache.
  await start('warm-up', false, labels.slice(0, 16));
  const rows = [
    ...(await start('no cache (every start before)', false, labels)),
    ...(await start('cold cache (first start)', cacheDir, labels)),
    ...(await start('warm cache (next start)', cacheDir, labels, changed)),
  ];
  const hash = await hashCost(Number(args['hash-mb']));
  const result = { weights: args.weights, engine: args.engine, vocabulary: args.vocabulary, labels: labels.length, rows, hash };
  if (args.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${args.vocabulary}: ${labels.length} labels × 16 templates, ${args.engine} engine, weights ${args.weights}\n`);
  for (const r of rows) process.stdout.write(`${r.phase.padEnd(32)} load ${r.loadS.toFixed(2).padStart(6)} s   vocabulary ${r.vocabularyS.toFixed(3).padStart(8)} s   prompts encoded ${String(r.promptsEncoded).padStart(5)}\n`);
  if (hash) process.stdout.write(`weights hash: ${hash.mb} MiB in ${hash.hashS.toFixed(2)} s (${(hash.mb / hash.hashS).toFixed(0)} MiB/s); remembered: ${(hash.memoS * 1000).toFixed(1)} ms\n`);
}

try {
  await main();
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
