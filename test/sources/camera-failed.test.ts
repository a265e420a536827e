// A camera that keeps failing is marked `failed` after supervision.failedAfter attempts in a row,
// is still retried at the capped back-off, and shows as failed on the API's camera list and in the
// metrics. Real ffmpeg against a loopback port nothing listens on (connection refused at once).
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { CameraRegistry } from '../../src/control/camera-registry.js';
import { Instrumentation } from '../../src/instrumentation/instrumentation.js';
import { Metrics } from '../../src/observability/metrics.js';
import { observeMetrics } from '../../src/observability/metrics-observer.js';
import { cameraFrames } from '../../src/sources/camera-source.js';
import { resolveFfmpeg } from '../../src/sources/ffmpeg-path.js';
import { CameraStates } from '../../src/stages/camera-states.js';
import type { CameraState, Frame } from '../../src/types.js';
import { freePort } from '../../harness/processes.js';

describe('a camera failing again and again', () => {
  it('is failed after failedAfter attempts, still retried, and reported on the camera list and in metrics', async () => {
    const port = await freePort();
    const supervision = { stallTimeoutSec: 5, connectTimeoutSec: 5, backoff: { initialMs: 50, maxMs: 200, jitter: 0 }, failedAfter: 3 };
    const instrumentation = new Instrumentation();
    const metrics = new Metrics({ defaultMetrics: false });
    observeMetrics(instrumentation, metrics);
    const seen: CameraState[] = [];
    const states = new CameraStates();
    states.states$.subscribe((s) => seen.push(s));
    const registry = new CameraRegistry({ open: (c) => cameraFrames(c, { fps: 4, width: 32, height: 32, ffmpegPath: resolveFfmpeg().path, supervision }), frames: new Subject<Frame>(), states, instrumentation });
    registry.add({ id: 'gone', url: `rtsp://127.0.0.1:${port}/nothing` });
    try {
      const deadline = Date.now() + 30_000;
      while (seen.filter((s) => s.status === 'failed').length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const statuses = seen.map((s) => s.status);
      // connecting, reconnecting ×2, then failed on every later attempt (each one a retry).
      expect(statuses.slice(0, 4)).toEqual(['connecting', 'reconnecting', 'reconnecting', 'failed']);
      const failed = seen.filter((s) => s.status === 'failed');
      expect(failed.length).toBeGreaterThanOrEqual(3);
      expect(failed.map((s) => s.attempt).slice(0, 3)).toEqual([3, 4, 5]);
      expect(registry.list()[0]!.state).toMatchObject({ status: 'failed' });
      const text = await metrics.text();
      expect(text).toContain('actionclip_camera_state{camera="gone",status="failed"} 1');
      expect(text).toMatch(/actionclip_faults_retried_total\{component="camera",reason="source_error"\} ([5-9]|\d\d)/);
    } finally {
      registry.close();
    }
  }, 90_000);
});
