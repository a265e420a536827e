import type { KafkaMessage } from 'kafkajs';
import { decodeFrameMessage, header, MalformedFrameError, type DecodedFrame, type FrameResize } from '../sources/kafka-frames.js';
import { FLEET_FRAME_HEADERS } from './records.js';

/** A frame of the fleet's frames topic: a frame message plus its number in its ingest session. */
export interface FleetFrame extends DecodedFrame {
  readonly seq: number;
  readonly session: string;
}

/** Decodes a message of the frames topic (FLEET_FRAME_HEADERS); throws MalformedFrameError naming what is wrong. */
export async function decodeFleetFrame(message: Pick<KafkaMessage, 'key' | 'value' | 'headers' | 'timestamp'>, resize?: FrameResize): Promise<FleetFrame> {
  const seqText = header(message.headers, FLEET_FRAME_HEADERS.seq);
  if (seqText === undefined || !/^\d{1,15}$/.test(seqText)) throw new MalformedFrameError(`header ${FLEET_FRAME_HEADERS.seq}=${JSON.stringify(seqText?.slice(0, 32) ?? null)} is not a frame number (0, 1, 2…)`, 'headers');
  const session = header(message.headers, FLEET_FRAME_HEADERS.session);
  if (session === undefined || session.length === 0 || session.length > 256) throw new MalformedFrameError(`header ${FLEET_FRAME_HEADERS.session} must be a session id of 1..256 characters`, 'headers');
  return { ...(await decodeFrameMessage(message, resize)), seq: Number(seqText), session };
}
