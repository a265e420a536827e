/**
 * One cached entry: the embeddings of one label under one template list, as a file
 *
 *   [32 bytes] SHA-256 of everything after it
 *   [4 bytes]  header length H (u32, little-endian)
 *   [H bytes]  header JSON {v, model, label, templates, dim}
 *   [rest]     float32 rows, one per template, exactly as the encoder returned them
 *
 * The checksum covers header and payload, so a flipped byte anywhere is detected; the header
 * repeats the entry's identity, so a file that is intact but not the one asked for is refused too.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const ENTRY_FORMAT = 1;
const SUM = 32;

export interface EntryIdentity {
  /** The model key (weights, engine and numerics) the embeddings were computed with. */
  readonly model: string;
  readonly label: string;
  readonly templates: readonly string[];
  readonly dim: number;
}

const HeaderSchema = z.strictObject({
  v: z.literal(ENTRY_FORMAT),
  model: z.string(),
  label: z.string(),
  templates: z.array(z.string()),
  dim: z.number().int().positive(),
});

export function encodeEntry(id: EntryIdentity, rows: Float32Array): Uint8Array {
  const header = Buffer.from(JSON.stringify({ v: ENTRY_FORMAT, model: id.model, label: id.label, templates: id.templates, dim: id.dim }), 'utf8');
  const body = Buffer.alloc(4 + header.length + rows.byteLength);
  body.writeUInt32LE(header.length, 0);
  header.copy(body, 4);
  Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength).copy(body, 4 + header.length);
  return Buffer.concat([createHash('sha256').update(body).digest(), body]);
}

/** The rows stored in `bytes` when it is an intact entry for `id`; otherwise why it is not. */
export function decodeEntry(bytes: Uint8Array, id: EntryIdentity): { rows: Float32Array } | { corrupt: string } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < SUM + 4) return { corrupt: `${buf.length} bytes, shorter than any entry` };
  const body = buf.subarray(SUM);
  if (!createHash('sha256').update(body).digest().equals(buf.subarray(0, SUM))) return { corrupt: 'checksum mismatch' };
  const headerLength = body.readUInt32LE(0);
  let header: z.infer<typeof HeaderSchema>;
  try {
    header = HeaderSchema.parse(JSON.parse(body.subarray(4, 4 + headerLength).toString('utf8')));
  } catch {
    return { corrupt: 'unreadable header' };
  }
  const same = header.model === id.model && header.label === id.label && header.dim === id.dim && JSON.stringify(header.templates) === JSON.stringify(id.templates);
  if (!same) return { corrupt: 'entry holds another label, template list or model' };
  const payload = body.subarray(4 + headerLength);
  if (payload.length !== id.templates.length * id.dim * 4) return { corrupt: `${payload.length} payload bytes for ${id.templates.length}×${id.dim} floats` };
  // Copied: the payload's offset in the file need not be 4-byte aligned.
  const rows = new Float32Array(id.templates.length * id.dim);
  Buffer.from(rows.buffer).set(payload);
  return { rows };
}
