/**
 * What the sinks carry: one pipeline output, serialised once and shared by every sink and every
 * WebSocket client (serialising per client would cost the pipeline per subscriber).
 */
export type OutputKind = 'window' | 'start' | 'update' | 'end' | 'camera';
export const OUTPUT_KINDS: readonly OutputKind[] = ['window', 'start', 'update', 'end', 'camera'];

export interface OutputEvent {
  readonly kind: OutputKind;
  readonly camera: string;
  /** Labels the event is about (a window's top-k, a detection's label): for subscriber filters. */
  readonly labels: readonly string[];
  /** Best score among `labels`, for `minScore` filters; absent for camera state changes. */
  readonly score?: number;
  /** Capture time of the newest frame behind the event (latency metric), epoch ms. */
  readonly captureTs?: number;
  /** A window's first frame's capture time (what Kafka frame offsets are committed by). */
  readonly windowStart?: number;
  /** The JSON message as sent on the wire. */
  readonly json: string;
}

/** Anything that takes outputs. `publish` must never block or throw: sinks buffer and count. */
export interface Sink {
  publish(event: OutputEvent): void;
  /** Flush what can be flushed and release resources. */
  close(): Promise<void>;
}
