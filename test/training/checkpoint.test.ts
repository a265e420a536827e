import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointTemplates, readTrainerState, STATE_FILE } from '../../src/training/trainer-state.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'checkpoint-state-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const state = (extra: object) => JSON.stringify({ version: 1, epoch: 2, step: 30, totalSteps: 60, stepsPerEpoch: 15, head: 'LSTM', frames: 8, seed: 1, history: [], ...extra });

async function folder(name: string, text?: string): Promise<string> {
  const d = path.join(dir, name);
  await mkdir(d, { recursive: true });
  if (text !== undefined) await writeFile(path.join(d, STATE_FILE), text);
  return d;
}

describe('trainer state file', () => {
  it('gives the templates a run trained with, and nothing for weights that are not a training folder', async () => {
    expect(await checkpointTemplates(await folder('with', state({ templates: ['{}', 'a video of {}'] })))).toEqual(['{}', 'a video of {}']);
    expect(await checkpointTemplates(await folder('older', state({})))).toBeUndefined();
    expect(await checkpointTemplates(await folder('plain'))).toBeUndefined();
    expect(await checkpointTemplates(path.join(dir, 'clip.safetensors'))).toBeUndefined();
  });

  it('refuses a state file that is there but broken, naming it', async () => {
    const bad = await folder('corrupt', '{"version": 1, "epo');
    await expect(checkpointTemplates(bad)).rejects.toThrow(new RegExp(`${STATE_FILE}: not JSON`));
    await expect(readTrainerState(bad)).rejects.toThrow(/not JSON/);
    const wrong = await folder('wrong-templates', state({ templates: [3] }));
    await expect(checkpointTemplates(wrong)).rejects.toThrow(/templates must be a non-empty list of strings/);
    await expect(readTrainerState(await folder('not-state', '{"version": 2}'))).rejects.toThrow(/not a trainer state/);
  });
});
