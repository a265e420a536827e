// The library's loadModel takes a catalogue name: the first call pulls it (from the hub-like server
// on 127.0.0.1 that HF_ENDPOINT points at), later calls read the cache without the network.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/engine/load-model.js';
import { modelDir } from '../../src/models/model-cache.js';
import { FakeHub, type HubFile } from '../support/fake-hub.js';
import { fixture, fixtureMeta, HAVE_FIXTURES } from '../support/fixtures.js';
import { tmpDir } from '../model/weights/helpers.js';

describe.skipIf(!HAVE_FIXTURES)('loadModel({ weights: "vit-b-32" })', () => {
  const hub = new FakeHub();
  const tmp = tmpDir('load-model-name');
  const saved = { HF_ENDPOINT: process.env.HF_ENDPOINT, ACTIONCLIP_HOME: process.env.ACTIONCLIP_HOME, ACTIONCLIP_OFFLINE: process.env.ACTIONCLIP_OFFLINE };
  let file: HubFile;

  beforeAll(async () => {
    file = { repo: 'openai/clip-vit-base-patch32', file: 'model.safetensors', body: readFileSync(fixture('clip.safetensors')) };
    hub.add(file);
    process.env.HF_ENDPOINT = await hub.start();
    process.env.ACTIONCLIP_HOME = tmp.dir;
    delete process.env.ACTIONCLIP_OFFLINE;
  });
  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
    await hub.close();
    tmp.cleanup();
  });

  it('pulls the model on first use, then loads it from the cache even offline', async () => {
    const first = await loadModel({ weights: 'vit-b-32', engine: 'tfjs', backend: 'wasm' });
    try {
      expect(first.info).toMatchObject({ head: 'meanP', embedDim: fixtureMeta().config.embed_dim });
    } finally {
      first.dispose();
    }
    expect(hub.downloads(file)).toHaveLength(1);
    expect(readFileSync(path.join(modelDir(tmp.dir, 'vit-b-32', 'main'), 'model.safetensors')).equals(file.body)).toBe(true);

    process.env.ACTIONCLIP_OFFLINE = '1';
    const second = await loadModel({ weights: 'vit-b-32', engine: 'tfjs', backend: 'wasm' });
    second.dispose();
    expect(hub.downloads(file)).toHaveLength(1);
  });
});
