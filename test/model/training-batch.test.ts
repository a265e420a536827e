import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTfjsEngine, type TfjsEngine } from '../../src/engine/tfjs/tfjs-engine.js';
import { klContrastiveLoss, multiPositiveTargets, videoTextLogits } from '../../src/training/loss.js';
import type { TensorMap } from '../../src/model/weights/tensor-map.js';
import { HAVE_FIXTURES, fixtureMeta, maxAbsErrorRelative } from '../support/fixtures.js';
import { referenceCases, referenceWeights } from '../support/reference-weights.js';

// The reference's training batch: Transf head, labels [0,1,0,2], one template per sample.
describe.skipIf(!HAVE_FIXTURES)('KL video-text loss and gradients on the reference training batch (tfjs wasm)', () => {
  let engine: TfjsEngine;
  let cases: TensorMap;
  const arr = (k: string) => cases.get(k)!.data;

  beforeAll(async () => {
    engine = await createTfjsEngine(await referenceWeights('Transf'), { backend: 'wasm', log: () => {} });
    cases = await referenceCases();
  });
  afterAll(() => engine?.dispose());

  it('builds the multi-positive ground truth from the labels', () => {
    const gt = multiPositiveTargets(fixtureMeta().train.labels);
    expect(Array.from(gt.dataSync())).toEqual(Array.from(arr('train.ground_truth')));
    gt.dispose();
  });

  it('matches logits_per_image, the loss and the listed gradients', () => {
    const frames = tf.tensor4d(arr('train.frames') as Float32Array, [32, 3, 32, 32]);
    const tokens = tf.tensor2d(arr('train.text_tokens') as Int32Array, [4, 77], 'int32');
    const gt = multiPositiveTargets(arr('train.labels'));
    const logits = tf.tidy(() => videoTextLogits(engine.videoForward(frames, 4), engine.textForward(tokens), engine.logitScale).perVideo);
    const logitErr = maxAbsErrorRelative(logits.dataSync(), arr('train.logits_per_image'));
    const trainable = engine.params.select(() => true);
    const { value, grads } = tf.variableGrads(() => klContrastiveLoss(engine.videoForward(frames, 4), engine.textForward(tokens), engine.logitScale, gt), trainable);
    const loss = value.dataSync()[0];
    const expected = arr('train.loss')[0];
    console.log(`loss ${loss} vs reference ${expected} (relative error ${Math.abs(loss - expected) / expected}); logits error ${logitErr}`);
    expect(logitErr).toBeLessThanOrEqual(1e-3);
    expect(Math.abs(loss - expected) / Math.abs(expected)).toBeLessThanOrEqual(1e-4);
    const listed = ['visual.proj', 'text_projection', 'logit_scale', 'visual.conv1.weight', 'fusion.frame_position_embeddings.weight', 'fusion.transformer.resblocks.0.attn.in_proj_weight'];
    for (const name of listed) {
      const g = grads[engine.params.get(name).name];
      const err = maxAbsErrorRelative(g.dataSync(), arr(`grad.${name}`));
      console.log(`grad ${name}: max abs error / max |grad| = ${err.toExponential(2)}`);
      expect(err).toBeLessThanOrEqual(1e-3);
    }
    // Every parameter gets a gradient of its own shape, token embedding included (scatter-add path).
    expect(Object.keys(grads).length).toBe(trainable.length);
    tf.dispose([frames, tokens, gt, logits, value, ...Object.values(grads)]);
  });
});
