import { ACTIONCLIP_TEMPLATES } from '../model/prompts.js';
import { scoreVideos } from '../model/scoring.js';
import type { TextEmbeddingCache } from '../model/text-cache/text-embedding-cache.js';
import { tokenize } from '../model/tokenizer.js';
import { vocabularyEmbeddings } from '../model/vocabulary-embeddings.js';
import type { Engine, EngineInfo } from './engine.js';

export interface ModelInfo extends EngineInfo {
  /** Joint embedding size D. */
  readonly embedDim: number;
  /** Input frame size S (frames are [3,S,S]). */
  readonly imageSize: number;
  readonly contextLength: number;
  /** The prompt templates the checkpoint was trained with (a `train` output folder), when it says. */
  readonly templates?: readonly string[];
}

export interface ModelExtras {
  readonly templates?: readonly string[];
  /** On-disk text embeddings for these weights and this engine; null or absent: none. */
  readonly textCache?: TextEmbeddingCache | null;
}

/**
 * The public model: the engine's compute plus tokenisation and ActionCLIP's test-time scoring.
 * Text embeddings of the last vocabularies used are kept, so classifying a stream of videos against
 * one vocabulary encodes its prompts once; with a text cache, they also outlive the process.
 * Templates default to the checkpoint's, else ActionCLIP's 16.
 */
export class ActionClipModel implements Engine {
  readonly info: ModelInfo;
  readonly textCache: TextEmbeddingCache | null;
  private readonly promptCache = new Map<string, Promise<Float32Array>>();
  private static readonly PROMPT_CACHE_SIZE = 4;

  constructor(
    readonly engine: Engine,
    extras: ModelExtras = {},
  ) {
    const e = engine.info;
    const templates = extras.templates === undefined ? {} : { templates: Object.freeze([...extras.templates]) };
    this.info = { ...e, embedDim: e.clip.embedDim, imageSize: e.clip.imageResolution, contextLength: e.clip.contextLength, ...templates };
    this.textCache = extras.textCache ?? null;
  }

  /** The templates a call without any uses: the checkpoint's, else ActionCLIP's 16. */
  get defaultTemplates(): readonly string[] {
    return this.info.templates ?? ACTIONCLIP_TEMPLATES;
  }

  encodeFrames(pixels: Float32Array, n: number): Promise<Float32Array> {
    return this.engine.encodeFrames(pixels, n);
  }

  fuse(frameEmbeddings: Float32Array, b: number): Promise<Float32Array> {
    return this.engine.fuse(frameEmbeddings, b);
  }

  encodeText(tokens: Int32Array, n: number): Promise<Float32Array> {
    return this.engine.encodeText(tokens, n);
  }

  tokenize(texts: string[]): Int32Array {
    return tokenize(texts, this.info.contextLength);
  }

  /** b videos of T preprocessed frames (`[b·T,3,S,S]`) to `[b,D]` video embeddings. */
  async encodeVideos(pixels: Float32Array, b: number): Promise<Float32Array> {
    if (this.engine.encodeVideos !== undefined) return this.engine.encodeVideos(pixels, b);
    const frames = await this.engine.encodeFrames(pixels, b * this.info.frames);
    // Joint attends all T·N tokens at once and already yields one embedding per video.
    return this.info.joint ? frames : this.engine.fuse(frames, b);
  }

  /** Embeddings of every prompt (template-major, `[M·L, D]`), cached per vocabulary. */
  promptEmbeddings(labels: readonly string[], templates: readonly string[] = this.defaultTemplates): Promise<Float32Array> {
    const key = JSON.stringify([labels, templates]);
    let hit = this.promptCache.get(key);
    if (hit === undefined) {
      hit = vocabularyEmbeddings(this.engine, labels, templates, { cache: this.textCache });
      hit.catch(() => this.promptCache.delete(key));
      this.promptCache.set(key, hit);
      if (this.promptCache.size > ActionClipModel.PROMPT_CACHE_SIZE) this.promptCache.delete(this.promptCache.keys().next().value as string);
    }
    return hit;
  }

  /** `[b, labels]` probabilities exactly as ActionCLIP's test-time scoring (template-averaged softmax of 100·cos). */
  async classify(videoEmbeddings: Float32Array, b: number, labels: readonly string[], templates: readonly string[] = this.defaultTemplates): Promise<Float32Array> {
    if (videoEmbeddings.length !== b * this.info.embedDim) {
      throw new RangeError(`classify: expected ${b}×${this.info.embedDim} values, got ${videoEmbeddings.length}`);
    }
    const prompts = await this.promptEmbeddings(labels, templates);
    return scoreVideos(videoEmbeddings, b, prompts, labels.length, templates.length);
  }

  dispose(): void {
    this.promptCache.clear();
    this.engine.dispose();
  }
}
