/**
 * What an infer process does with one fetched batch of a frames partition, up to the messages it
 * will publish (the transaction is transactional-windows.ts's): decode, embed every frame once,
 * assemble windows by frame number, fuse and score the completed ones.
 */
import type { KafkaMessage, Message } from 'kafkajs';
import type { Logger } from 'pino';
import { from, lastValueFrom, toArray, type Observable } from 'rxjs';
import { windowMessage } from '../detections/messages.js';
import { stampLatency, type WindowMessage } from '../detections/schema.js';
import type { Engine } from '../engine/engine.js';
import type { Instrumentation } from '../instrumentation/instrumentation.js';
import { FRAME_HEADERS, MalformedFrameError, type FrameResize } from '../sources/kafka-frames.js';
import { encodeFrameBatch } from '../stages/embed-frames.js';
import { fuseWindowBatch } from '../stages/fuse-windows.js';
import { scoreWindows } from '../stages/score-windows.js';
import type { Vocabulary, Window } from '../types.js';
import { decodeFleetFrame, type FleetFrame } from './fleet-frames.js';
import type { AssembledWindow, WindowAssembler } from './window-assembler.js';

export interface InferBatchOptions {
  readonly engine: Engine;
  readonly vocabulary$: Observable<Vocabulary>;
  readonly window: number;
  readonly topk: number;
  /** The `model` of the window messages. */
  readonly model: string;
  /** Most frames per encodeFrames call, most windows per fuse call. */
  readonly maxBatch: number;
  readonly resize?: FrameResize;
  readonly deadLetterTopic: string;
  readonly now?: () => number;
  readonly instrumentation?: Instrumentation;
  readonly logger?: Logger;
}

/** What one batch gives: messages for the detections topic and for the dead-letter topic. */
export interface InferBatchResult {
  readonly detections: Message[];
  readonly deadLetters: Message[];
  /** Windows published (not counting suppressed ones). */
  readonly windows: number;
}

interface Decoded {
  readonly frames: Array<{ frame: FleetFrame; offset: bigint }>;
  readonly deadLetters: Message[];
}

/** Decodes the batch's messages; a malformed one becomes a dead letter (with an `error` header) and only moves O. */
async function decodeAll(messages: readonly KafkaMessage[], assembler: WindowAssembler<Float32Array>, opts: InferBatchOptions): Promise<Decoded> {
  const out: Decoded = { frames: [], deadLetters: [] };
  for (const m of messages) {
    const offset = BigInt(m.offset);
    try {
      const frame = await decodeFleetFrame(m, opts.resize);
      out.frames.push({ frame, offset });
      opts.instrumentation?.emit('source.frame', { camera: frame.camera, source: 'kafka', captureTs: frame.captureTs });
    } catch (err) {
      if (!(err instanceof MalformedFrameError)) throw err;
      opts.instrumentation?.emit('source.malformed', { reason: err.reason });
      opts.logger?.warn({ offset: m.offset, reason: err.reason, error: err.message }, 'malformed frame message sent to the dead-letter topic');
      out.deadLetters.push({ key: m.key, value: m.value, headers: { ...(m.headers ?? {}), [FRAME_HEADERS.error]: err.message } });
      assembler.skip(offset);
    }
  }
  return out;
}

function toWindow(w: AssembledWindow<Float32Array>): Window & { session: string; windowSeq: number } {
  const dim = w.frames[0]!.length;
  const embeddings = new Float32Array(w.frames.length * dim);
  w.frames.forEach((e, i) => embeddings.set(e, i * dim));
  return { camera: w.camera, start: w.start, end: w.end, firstSeq: w.firstSeq, frames: w.frames.length, embeddings, session: w.session, windowSeq: w.windowSeq };
}

/** Each frame embedded once (batches of maxBatch), then added to the assembler in offset order. */
async function assemble(frames: Decoded['frames'], assembler: WindowAssembler<Float32Array>, opts: InferBatchOptions): Promise<Array<AssembledWindow<Float32Array>>> {
  const windows: Array<AssembledWindow<Float32Array>> = [];
  for (let i = 0; i < frames.length; i += opts.maxBatch) {
    const chunk = frames.slice(i, i + opts.maxBatch);
    const embedded = await encodeFrameBatch(opts.engine, chunk.map((f) => f.frame));
    chunk.forEach(({ frame, offset }, j) => windows.push(...assembler.add({ ...frame, payload: embedded[j]!.embedding }, offset)));
  }
  return windows;
}

/** Fuses and scores completed windows (one vocabulary version for the whole batch) into window messages. */
async function score(completed: ReadonlyArray<AssembledWindow<Float32Array>>, opts: InferBatchOptions): Promise<Message[]> {
  const windows = completed.map(toWindow);
  const messages: Message[] = [];
  for (let i = 0; i < windows.length; i += opts.maxBatch) {
    const chunk = windows.slice(i, i + opts.maxBatch);
    const videos = await fuseWindowBatch(opts.engine, chunk, opts.window);
    const results = await lastValueFrom(from(videos).pipe(scoreWindows(opts.vocabulary$, { topk: opts.topk }), toArray()));
    if (results.length !== chunk.length) throw new Error(`scored ${results.length} of ${chunk.length} windows: no vocabulary`);
    const now = (opts.now ?? Date.now)();
    results.forEach((r, j) => {
      const { session, windowSeq } = chunk[j]!;
      const message = stampLatency<WindowMessage>({ ...windowMessage(r, opts.model), session, windowSeq }, now);
      opts.instrumentation?.emit('window.scored', { camera: r.camera });
      messages.push({ key: r.camera, value: JSON.stringify(message), headers: { type: 'window' } });
    });
  }
  return messages;
}

/** One batch of a partition through decode, embed, assemble, fuse and score. The assembler moves on; nothing is sent. */
export async function inferBatch(messages: readonly KafkaMessage[], assembler: WindowAssembler<Float32Array>, opts: InferBatchOptions): Promise<InferBatchResult> {
  const { frames, deadLetters } = await decodeAll(messages, assembler, opts);
  const completed = await assemble(frames, assembler, opts);
  const detections = completed.length === 0 ? [] : await score(completed, opts);
  return { detections, deadLetters, windows: detections.length };
}
