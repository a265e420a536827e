import type { Observable } from 'rxjs';
import { z } from 'zod';
import type { Engine } from '../engine/engine.js';
import type { Vocabulary } from '../types.js';

/** Most labels in one vocabulary (16 templates x 1000 labels = 16k prompts to encode). */
export const MAX_LABELS = 1000;
export const MAX_TEMPLATES = 64;
export const MAX_LABEL_LENGTH = 200;

/** A vocabulary request as it arrives from config, HTTP or Kafka. */
export const VocabularyInputSchema = z.object({
  labels: z.array(z.string()),
  templates: z.array(z.string()).optional(),
});
export type VocabularyInput = z.input<typeof VocabularyInputSchema>;

export interface VocabularyStoreOptions {
  /** Clock for `createdAt`. Default `Date.now`. */
  readonly now?: () => number;
  /** Prompts per `encodeText` call (bounds engine memory for big vocabularies). Default 256. */
  readonly textBatch?: number;
}

/**
 * Validates a vocabulary request: labels trimmed, non-empty, unique (case-sensitive after trimming),
 * at most MAX_LABELS; templates (default ACTIONCLIP_TEMPLATES) each containing `{}`.
 * @throws ConfigError saying which entry is wrong.
 */
export function validateVocabulary(input: unknown): { labels: string[]; templates: string[] } {
  void input;
  throw new Error('not implemented');
}

/**
 * The open vocabulary: text embeddings are computed once per version
 * (`tokenize(expandPrompts(labels, templates))` -> `engine.encodeText`, rows L2-normalised) and
 * swapped atomically: `vocabulary$` replays the current version to new subscribers and emits each
 * new one. Updates are serialised; one that fails validation or encoding rejects with a ConfigError
 * (or the engine's error) and leaves the previous version active.
 */
export class VocabularyStore {
  /** Encodes the first vocabulary (version 1). */
  static async create(engine: Engine, initial: VocabularyInput, options: VocabularyStoreOptions = {}): Promise<VocabularyStore> {
    void engine;
    void initial;
    void options;
    throw new Error('not implemented');
  }

  private constructor() {
    throw new Error('not implemented');
  }

  /** Current version, replayed on subscribe; completes on dispose. */
  get vocabulary$(): Observable<Vocabulary> {
    throw new Error('not implemented');
  }

  get current(): Vocabulary {
    throw new Error('not implemented');
  }

  /**
   * Replaces labels (and templates: omitted keeps the current ones). Resolves with the new version
   * once it is active.
   */
  update(input: VocabularyInput): Promise<Vocabulary> {
    void input;
    throw new Error('not implemented');
  }

  /** Completes `vocabulary$`; later updates reject. */
  dispose(): void {
    throw new Error('not implemented');
  }
}
