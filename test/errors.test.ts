import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { ActionClipError, classify, ConfigError, ConflictError, EngineError, formatIssues, issueList, MalformedInputError, NotFoundError, NotReadyError, SourceError, WeightsError } from '../src/errors.js';

describe('classify', () => {
  it.each([
    [new ConfigError('bad'), false, 'invalid-input', 400],
    [new ConflictError('taken'), false, 'conflict', 409],
    [new NotFoundError('none'), false, 'not-found', 404],
    [new NotReadyError('loading'), true, 'not-ready', 503],
    [new WeightsError('truncated', 'w.safetensors'), false, 'weights', 500],
    [new SourceError('reset', true), true, 'source', 502],
    [new SourceError('no ffmpeg', false), false, 'source', 502],
    [new MalformedInputError('size', 'needs 3072 bytes'), false, 'malformed', 400],
    [new EngineError('out of memory', true), true, 'engine', 500],
    [new EngineError('returned 3 values', false), false, 'engine', 500],
    [new TypeError('x is undefined'), false, 'internal', 500],
    ['a string', false, 'internal', 500],
  ])('%s', (err, retriable, kind, status) => {
    expect(classify(err)).toEqual({ retriable, kind, status });
  });

  it('every error of the hierarchy is an ActionClipError named after its class', () => {
    const e = new ConflictError('taken');
    expect(e).toBeInstanceOf(ConfigError);
    expect(e).toBeInstanceOf(ActionClipError);
    expect(e.name).toBe('ConflictError');
  });
});

describe('formatIssues', () => {
  const schema = z.object({ cameras: z.array(z.object({ id: z.string() })), port: z.number() });
  const error = schema.safeParse({ cameras: [{ id: 1 }], port: 'x' }).error!;

  it('names each key, brackets for config files and dots for JSON bodies', () => {
    expect(formatIssues(error)).toMatch(/^cameras\[0\]\.id: .*; port: /);
    expect(formatIssues(error, { indices: 'dots' })).toMatch(/^cameras\.0\.id: /);
    expect(issueList(z.string().safeParse(1).error!, { root: '<body>' })[0].field).toBe('<body>');
  });
});
