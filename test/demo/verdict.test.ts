import { describe, expect, it } from 'vitest';
import type { DetectionMessage } from '../../src/detections/schema.js';
import type { DemoCamera } from '../../src/demo/camera-clips.js';
import { camerasKey, DEMO_CAMERAS, DEMO_RECIPE, modelKey } from '../../src/demo/recipe.js';
import { formatVerdict, judgeCameras } from '../../src/demo/verdict.js';

const CAMERAS: DemoCamera[] = [
  { id: 'cam1', expected: 'growing', file: 'cam1.mp4' },
  { id: 'cam2', expected: 'shrinking', file: 'cam2.mp4' },
];

function msg(type: 'window' | 'start' | 'update', camera: string, label: string): DetectionMessage {
  const base = { schema: 1 as const, camera, label, score: 0.9, topk: [], windowStart: 0, windowEnd: 1, frames: 8, vocabularyVersion: 1, model: 'm', latencyMs: 0 };
  return type === 'window' ? { ...base, type } : { ...base, type, eventStart: 0 };
}

describe('judging the demo detections', () => {
  it('is right only when every camera has detections and all name its class', () => {
    const right = [msg('window', 'cam1', 'growing'), msg('start', 'cam1', 'growing'), msg('window', 'cam2', 'shrinking'), msg('start', 'cam2', 'shrinking')];
    expect(judgeCameras(right, CAMERAS).map((v) => v.ok)).toEqual([true, true]);

    const oneWrong = [...right, msg('update', 'cam2', 'growing')];
    const v = judgeCameras(oneWrong, CAMERAS);
    expect(v.map((x) => x.ok)).toEqual([true, false]);
    expect(formatVerdict(v[1])).toBe('cam2: expected shrinking, got growing ×1 in 1 of 2 detections (1/1 windows top-1 shrinking)');

    // Right windows but no event (too few windows for the tracker) is not a demo that worked.
    const none = judgeCameras([msg('window', 'cam1', 'growing'), ...right.slice(2)], CAMERAS);
    expect(none[0].ok).toBe(false);
    expect(formatVerdict(none[0])).toMatch(/^cam1: expected growing, got no detection/);
  });

  it('keys the cache by the recipe: any change to it names another model folder', () => {
    expect(modelKey()).toBe(modelKey(structuredClone(DEMO_RECIPE)));
    const changed = { ...DEMO_RECIPE, train: { ...DEMO_RECIPE.train, epochs: 7 } } as unknown as typeof DEMO_RECIPE;
    expect(modelKey(changed)).not.toBe(modelKey());
    const moreClips = { ...DEMO_CAMERAS, clipsPerCamera: 5 } as unknown as typeof DEMO_CAMERAS;
    expect(camerasKey(DEMO_RECIPE, moreClips)).not.toBe(camerasKey());
  });
});
