// Pulling an ActionCLIP training checkpoint URL converts it to the project's safetensors pair. The
// checkpoint is the reference one (../shared, read in place and served from memory by the
// hub-like server on 127.0.0.1): a real torch.save file with an fp16 CLIP and a Transf head.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullModel } from '../../src/models/pull-model.js';
import { resolveWeights } from '../../src/models/resolve-weights.js';
import { loadWeights } from '../../src/model/weights/load-weights.js';
import { FakeHub, sha256Of, type HubFile } from '../support/fake-hub.js';
import { fixture, HAVE_FIXTURES } from '../support/fixtures.js';
import { expectSameTensors, tmpDir } from '../model/weights/helpers.js';

describe.skipIf(!HAVE_FIXTURES)('models pull of an ActionCLIP .pt checkpoint', () => {
  const hub = new FakeHub();
  const tmp = tmpDir('convert');
  let pt: HubFile;

  beforeAll(async () => {
    pt = { repo: 'someone/actionclip', file: 'actionclip-Transf.pt', body: readFileSync(fixture('actionclip-Transf.pt')) };
    hub.add(pt);
    await hub.start();
  });
  afterAll(async () => {
    await hub.close();
    tmp.cleanup();
  });

  it('converts it to clip.safetensors + fusion-Transf.safetensors that load to what the .pt loads to', async () => {
    const home = path.join(tmp.dir, 'home');
    const lines: string[] = [];
    const url = `${hub.base}/someone/actionclip/resolve/main/actionclip-Transf.pt`;
    const pulled = await pullModel(url, { home, name: 'k400-transf', progress: false, log: (l) => lines.push(l), env: {} });
    expect(readdirSync(pulled.dir).sort()).toEqual(['clip.safetensors', 'fusion-Transf.safetensors', 'manifest.json']);
    expect(pulled.manifest.convertedFrom).toEqual({ name: 'actionclip-Transf.pt', size: pt.body.length, sha256: sha256Of(pt.body) });
    expect(pulled.manifest.files.map((f) => f.name)).toEqual(['clip.safetensors', 'fusion-Transf.safetensors']);
    expect(lines.some((l) => l.startsWith('converting actionclip-Transf.pt'))).toBe(true);

    const fromPair = await loadWeights(await resolveWeights('k400-transf', { home, env: {} }));
    const fromPt = await loadWeights(fixture('actionclip-Transf.pt'));
    expect(fromPair.head).toBe('Transf');
    expect(fromPair.frames).toBe(fromPt.frames);
    expectSameTensors(fromPair.clip, fromPt.clip);
    expectSameTensors(fromPair.fusion!, fromPt.fusion!);
  });
});
