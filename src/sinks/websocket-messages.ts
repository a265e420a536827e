/**
 * What a WebSocket client may send: the schemas, and one parse that turns any frame into either a
 * message or the error text the client is answered with.
 */
import type { RawData } from 'ws';
import { z } from 'zod';
import { LabelsSchema, TemplatesSchema } from '../../config/schema.js';
import { formatIssues } from '../errors.js';
import { OUTPUT_KINDS, type OutputKind } from './events.js';

export const SubscribeMessageSchema = z.strictObject({
  type: z.literal('subscribe'),
  cameras: z.array(z.string().min(1)).optional(),
  labels: z.array(z.string().min(1)).optional(),
  minScore: z.number().min(0).max(1).optional(),
  kinds: z.array(z.enum(OUTPUT_KINDS as [OutputKind, ...OutputKind[]])).optional(),
});
export const VocabularyMessageSchema = z.strictObject({
  type: z.literal('vocabulary'),
  labels: LabelsSchema,
  templates: TemplatesSchema.optional(),
});
export const ClientMessageSchema = z.discriminatedUnion('type', [SubscribeMessageSchema, VocabularyMessageSchema]);
export type SubscribeMessage = z.infer<typeof SubscribeMessageSchema>;
export type ClientMessage = z.infer<typeof ClientMessageSchema>;

/** The message, or why it is refused (binary, not JSON, or not a valid message, naming the field). */
export function parseClientMessage(data: RawData, isBinary: boolean): { ok: true; message: ClientMessage } | { ok: false; error: string } {
  let parsed: unknown;
  try {
    if (isBinary) throw new Error('binary messages are not accepted');
    parsed = JSON.parse(data.toString());
  } catch (err) {
    return { ok: false, error: `message is not JSON: ${(err as Error).message}` };
  }
  const r = ClientMessageSchema.safeParse(parsed);
  return r.success ? { ok: true, message: r.data } : { ok: false, error: `invalid message: ${formatIssues(r.error)}` };
}
