import { describe, expect, it } from 'vitest';
import { cameraMessage, windowMessage } from '../../src/detections/messages.js';
import { DETECTION_SCHEMA_VERSION, DetectionMessageSchema, parseDetectionMessage, stampLatency, type CameraMessage, type WindowMessage } from '../../src/detections/schema.js';
import { ConfigError } from '../../src/errors.js';

describe('detection schema', () => {
  it('is version 1 and a discriminated union on type', () => {
    expect(DETECTION_SCHEMA_VERSION).toBe(1);
    expect(DetectionMessageSchema.options.map((o) => o.shape.type.value)).toEqual(['window', 'start', 'update', 'end', 'camera']);
  });

  it('window messages carry the top-1 label and latency = publish - last frame capture', () => {
    const w = windowMessage(
      { camera: 'c', windowStart: 1000, windowEnd: 1700, frames: 8, topk: [{ label: 'run', score: 0.8 }, { label: 'jump', score: 0.1 }], scores: new Float32Array([0.8, 0.1]), labels: ['run', 'jump'], vocabularyVersion: 3 },
      'ViT-B/16+meanP',
    );
    const m = stampLatency<WindowMessage>(w, 1950);
    expect(m).toEqual({
      schema: 1, type: 'window', camera: 'c', label: 'run', score: 0.8,
      topk: [{ label: 'run', score: 0.8 }, { label: 'jump', score: 0.1 }],
      windowStart: 1000, windowEnd: 1700, frames: 8, vocabularyVersion: 3, model: 'ViT-B/16+meanP', latencyMs: 250,
    });
    expect(parseDetectionMessage(m)).toEqual(m);
  });

  it('camera messages carry the CameraState instead of label fields', () => {
    const m = stampLatency<CameraMessage>(cameraMessage({ camera: 'c', status: 'reconnecting', since: 500, attempt: 2, reason: 'EOF' }), 800);
    expect(m).toEqual({ schema: 1, type: 'camera', camera: 'c', state: { camera: 'c', status: 'reconnecting', since: 500, attempt: 2, reason: 'EOF' }, latencyMs: 300 });
    expect(parseDetectionMessage(m)).toEqual(m);
  });

  it('rejects malformed messages, naming the field', () => {
    expect(() => parseDetectionMessage({ schema: 2, type: 'camera' })).toThrow(ConfigError);
    expect(() => parseDetectionMessage({ schema: 1, type: 'start', camera: 'c' })).toThrow(/label/);
    expect(() => parseDetectionMessage({ schema: 1, type: 'nope' })).toThrow(/type/);
  });
});
