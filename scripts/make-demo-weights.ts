// Writes a tiny CLIP of random weights for the quick start when no real weights are at hand
// (a user's clone has no ../shared fixtures): the whole path runs, the scores mean nothing.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { writeSafetensors } from '../src/model/weights/safetensors.js';
import { syntheticClipWeights } from '../src/model/weights/synthetic-weights.js';

const out = process.argv[2] ?? '.cache/demo/clip-random.safetensors';
mkdirSync(path.dirname(out), { recursive: true });
const tiny = { name: 'tiny-random', patch: 16, resolution: 32, visionWidth: 64, visionLayers: 1, embedDim: 32, textWidth: 64, textLayers: 1 };
await writeSafetensors(out, syntheticClipWeights(tiny));
console.log(`wrote random demo weights to ${out} (scores mean nothing; set WEIGHTS for real ones)`);
