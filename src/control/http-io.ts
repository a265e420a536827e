/**
 * Reading and answering HTTP requests: JSON bodies with limits, zod validation naming each field,
 * and the error type whose status is the protocol's own.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { ConfigError, issueList } from '../errors.js';

/** Deepest JSON nesting a body may have: no control body needs more, and deep nesting is a parser attack. */
const MAX_JSON_DEPTH = 16;

/** A request the protocol itself refuses (body too big, not JSON, wrong method): its status is its own. */
export class RequestError extends ConfigError {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export function send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(text);
}

export async function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw new RequestError(413, `request body larger than ${max} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new RequestError(400, 'request body is empty: a JSON object is expected');
  if (jsonDepth(text) > MAX_JSON_DEPTH) throw new RequestError(400, `request body nests deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RequestError(400, `request body is not JSON: ${(err as Error).message}`);
  }
}

/** Deepest bracket nesting outside strings, found before parsing so a deep body costs nothing. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') max = Math.max(max, ++depth);
    else if (c === '}' || c === ']') depth--;
  }
  return max;
}

/** Zod issues as `{field, message}` with a one-line summary naming each field. */
export function validate<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issues = issueList(r.error, { root: '<body>', indices: 'dots' });
  throw new RequestError(400, issues.map((i) => `${i.field}: ${i.message}`).join('; '), issues);
}

