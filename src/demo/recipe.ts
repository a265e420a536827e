/**
 * The demo model's recipe, in one place: a tiny CLIP of random weights (the reference fixture's
 * shapes), fine-tuned on the synthetic "growing" / "shrinking" clips with the recipe that reaches
 * >= 90% held-out (docs/training.md explains each choice), then shown two synthetic cameras.
 *
 * The cache key is a hash of this object, so changing any value trains a new model in a new folder
 * and an unchanged recipe reuses the one trained before.
 */
import { createHash } from 'node:crypto';
import type { SyntheticClass } from '../training/synthetic-dataset.js';

/** Bump when the meaning of a field changes without its value changing. */
const RECIPE_FORMAT = 1;

export const DEMO_CLASSES: readonly SyntheticClass[] = ['growing', 'shrinking'];

export const DEMO_RECIPE = {
  format: RECIPE_FORMAT,
  /** The reference fixture's shapes: 32×32 input, 8-pixel patches, two layers each side. */
  clip: { name: 'demo-tiny', patch: 8, resolution: 32, visionWidth: 128, visionLayers: 2, embedDim: 64, textWidth: 128, textLayers: 2 },
  weightsSeed: 0x9e3779b9,
  classes: DEMO_CLASSES,
  /** Each class is the other played backwards: only an order-sensitive head tells them apart. */
  data: { trainPerClass: 120, valPerClass: 16, width: 40, height: 32, frames: 16, fps: 8, seed: 1 },
  train: {
    head: 'LSTM',
    frames: 8,
    inputSize: 32,
    batchSize: 8,
    epochs: 6,
    lr: 1e-3,
    eps: 1e-8,
    // Frozen text: prompt embeddings computed once, and one template, whose random encoder would
    // otherwise drown the label in template noise.
    freeze: 'text',
    templates: ['{}'],
    augment: { flip: false, colorJitter: false, grayscale: 0, multiScaleCrop: false },
    seed: 1024,
  },
  /** Below this held-out top-1 the model is not kept: the demo would show noise. */
  minValTop1: 0.9,
} as const;

/** The cameras of the demo: clips the model never saw (their own seed), several per camera. */
export const DEMO_CAMERAS = {
  clipsPerCamera: 4,
  seed: 20_261_203,
  // fps × (frames / data fps) = window: one window per clip, stride = window so none straddles two.
  run: { window: 8, stride: 8, fps: 4 },
} as const;

function hash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 12);
}

/** Folder-name key of the trained model: every value that changes the weights. */
export function modelKey(recipe: typeof DEMO_RECIPE = DEMO_RECIPE): string {
  return hash(recipe);
}

/** Key of the camera clips (they depend on the data settings too). */
export function camerasKey(recipe: typeof DEMO_RECIPE = DEMO_RECIPE, cameras: typeof DEMO_CAMERAS = DEMO_CAMERAS): string {
  return hash({ data: recipe.data, classes: recipe.classes, cameras });
}
