import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_MODEL_FILE, ensureDemoModel } from '../../src/demo/demo-model.js';
import { modelKey } from '../../src/demo/recipe.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'demo-model-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the demo model cache', () => {
  it("reuses the recipe's complete model folder, and removes the work folders of processes that are gone", async () => {
    const key = modelKey();
    const model = path.join(dir, `model-${key}`);
    await mkdir(model);
    const stored = { key, labels: ['growing', 'shrinking'], templates: ['{}'], head: 'LSTM', valTop1: 0.95, trainSeconds: 60 };
    await writeFile(path.join(model, DEMO_MODEL_FILE), JSON.stringify(stored));
    // A process that has exited: its work folder is abandoned. This process's is in use.
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    const abandoned = path.join(dir, `work-${key}-${gone}`);
    const live = path.join(dir, `work-${key}-${process.pid}`);
    await mkdir(abandoned);
    await mkdir(live);

    const m = await ensureDemoModel({ cacheDir: dir });
    expect(m).toEqual({ ...stored, dir: model, cached: true });
    expect(existsSync(abandoned)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });
});
