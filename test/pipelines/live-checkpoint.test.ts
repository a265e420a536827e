// `run` on a train output folder: the model's templates and text cache reach the vocabulary.
// No cameras or Kafka: only the model and vocabulary part of startLive is under test here.
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { startLive } from '../../pipelines/live.js';
import { silentLogger } from '../../src/observability/logger.js';
import { STATE_FILE } from '../../src/training/trainer-state.js';
import { fixture, HAVE_FIXTURES } from '../support/fixtures.js';

describe.skipIf(!HAVE_FIXTURES)('startLive with a train output folder', () => {
  let dir: string;
  const trained = ['a clip of {}', 'someone is {}'];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'live-checkpoint-'));
    await mkdir(path.join(dir, 'run'));
    await symlink(fixture('clip.safetensors'), path.join(dir, 'run', 'clip.safetensors'));
    await writeFile(path.join(dir, 'run', STATE_FILE), JSON.stringify({ version: 1, epoch: 1, step: 2, totalSteps: 2, stepsPerEpoch: 2, head: 'meanP', frames: 8, seed: 1, templates: trained, history: [] }));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const start = (over: Record<string, unknown> = {}) =>
    startLive({
      config: loadConfig({ overrides: { weights: path.join(dir, 'run'), engine: 'onnx', labels: ['walking', 'running', 'jumping'], port: 0, host: '127.0.0.1', textCache: { dir: path.join(dir, 'text') }, logLevel: 'silent', ...over } }),
      logger: silentLogger(),
    });

  it("scores with the checkpoint's templates and keeps the prompt embeddings in the configured text cache", async () => {
    const live = await start();
    try {
      expect(live.vocabulary.current.templates).toEqual(trained);
      const [model] = await readdir(path.join(dir, 'text'), { withFileTypes: true }).then((d) => d.filter((e) => e.isDirectory()));
      expect(await readdir(path.join(dir, 'text', model.name))).toHaveLength(3);
    } finally {
      await live.stop();
    }
  });

  it('uses configured templates over the checkpoint\'s, and writes nothing with the text cache off', async () => {
    const live = await start({ templates: ['{}'], textCache: { enabled: false, dir: path.join(dir, 'off') } });
    try {
      expect(live.vocabulary.current.templates).toEqual(['{}']);
      await expect(readdir(path.join(dir, 'off'))).rejects.toThrow(/ENOENT/);
    } finally {
      await live.stop();
    }
  });
});
