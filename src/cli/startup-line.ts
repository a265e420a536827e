import path from 'node:path';
import type { Config } from '../../config/schema.js';
import type { EngineInfo } from '../engine/engine.js';
import { redactUrl } from '../sources/redact.js';

/**
 * The one line `run` logs once it is up: what runs (engine, backend, model, head, T), on what
 * (cameras, Kafka) and where to reach it (the dashboard first: it is what a person opens). Camera URLs are redacted here, not only by the logger,
 * because the line is also meant to be copied into tickets.
 */
export function startupLine(config: Config, engine: EngineInfo, url: string): string {
  const model = [config.weights, config.fusion].filter((p): p is string => p !== undefined).map((p) => path.basename(p)).join(' + ');
  const cameras = config.cameras.length === 0 ? 'no cameras' : `${config.cameras.length} camera${config.cameras.length === 1 ? '' : 's'} (${config.cameras.map((c) => `${c.id}=${redactUrl(c.url)}`).join(', ')})`;
  const kafka = config.kafka === undefined ? '' : `; Kafka ${config.kafka.brokers.map(redactUrl).join(',')}`;
  const ws = url.replace(/^http/, 'ws');
  return `running: engine ${engine.engine}, backend ${engine.backend}, model ${model} (head ${engine.head}, T=${engine.frames}); ${cameras}${kafka}; dashboard ${url}/, API ${url}, detections on ${ws}/ws`;
}
