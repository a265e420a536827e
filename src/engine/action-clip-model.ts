import { encodePrompts } from '../model/encode-prompts.js';
import { ACTIONCLIP_TEMPLATES, expandPrompts } from '../model/prompts.js';
import { scoreVideos } from '../model/scoring.js';
import { tokenize } from '../model/tokenizer.js';
import type { Engine, EngineInfo } from './engine.js';

export interface ModelInfo extends EngineInfo {
  /** Joint embedding size D. */
  readonly embedDim: number;
  /** Input frame size S (frames are [3,S,S]). */
  readonly imageSize: number;
  readonly contextLength: number;
}

/**
 * The public model: the engine's compute plus tokenisation and ActionCLIP's test-time scoring.
 * Text embeddings of the last vocabularies used are kept, so classifying a stream of videos against
 * one vocabulary encodes its prompts once.
 */
export class ActionClipModel implements Engine {
  readonly info: ModelInfo;
  private readonly promptCache = new Map<string, Promise<Float32Array>>();
  private static readonly PROMPT_CACHE_SIZE = 4;

  constructor(readonly engine: Engine) {
    const e = engine.info;
    this.info = { ...e, embedDim: e.clip.embedDim, imageSize: e.clip.imageResolution, contextLength: e.clip.contextLength };
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
    const frames = await this.engine.encodeFrames(pixels, b * this.info.frames);
    // Joint attends all T·N tokens at once and already yields one embedding per video.
    return this.info.joint ? frames : this.engine.fuse(frames, b);
  }

  /** Embeddings of every prompt (template-major, `[M·L, D]`), cached per vocabulary. */
  promptEmbeddings(labels: readonly string[], templates: readonly string[] = ACTIONCLIP_TEMPLATES): Promise<Float32Array> {
    const key = JSON.stringify([labels, templates]);
    let hit = this.promptCache.get(key);
    if (hit === undefined) {
      hit = encodePrompts(this.engine, expandPrompts(labels, templates));
      hit.catch(() => this.promptCache.delete(key));
      this.promptCache.set(key, hit);
      if (this.promptCache.size > ActionClipModel.PROMPT_CACHE_SIZE) this.promptCache.delete(this.promptCache.keys().next().value as string);
    }
    return hit;
  }

  /** `[b, labels]` probabilities exactly as ActionCLIP's test-time scoring (template-averaged softmax of 100·cos). */
  async classify(videoEmbeddings: Float32Array, b: number, labels: string[], templates: string[] = [...ACTIONCLIP_TEMPLATES]): Promise<Float32Array> {
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
