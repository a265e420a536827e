import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../../errors.js';
import { addTextCacheOptions, HEAD_HELP, headFlag, numberFlag, positiveIntFlag, quantizeFlag, textCacheFromFlags, type TextCacheFlags } from '../flags.js';
import { classifyClip } from '../../inference/classify-clip.js';
import { loadModel } from '../../engine/load-model.js';
import { validateLabels, validateTemplates } from '../../model/prompts.js';

interface ClassifyFlags extends TextCacheFlags {
  weights: string;
  fusion?: string;
  head?: string;
  frames?: string;
  labels?: string;
  labelsFile?: string;
  templatesFile?: string;
  backend?: string;
  engine?: 'tfjs' | 'onnx' | 'webgpu' | 'auto';
  quantize?: string;
  fps?: string;
  top: string;
  json?: boolean;
}

/** A labels file: one label per line, or `id,name` CSV lines as ActionCLIP's label files. */
async function readLabels(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch((err: unknown) => {
    throw new ConfigError(`cannot read labels file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  });
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const csv = lines.length > 0 && /^(id|\d+),/.test(lines[0]);
  return (csv ? lines.filter((l) => !/^id,/.test(l)).map((l) => l.slice(l.indexOf(',') + 1).trim()) : lines);
}

export function registerClassify(program: Command): void {
  const classify = program
    .command('classify')
    .description('Classify video files or folders of frames against labels given on the command line (zero-shot with MeanP, or with a trained head)')
    .argument('<inputs...>', 'video files (anything ffmpeg reads) or folders of extracted frames')
    .requiredOption('-w, --weights <path>', 'CLIP weights: .safetensors (OpenAI or Hugging Face names), a directory, an ActionCLIP .pt checkpoint, or a model name (vit-b-32, see models list; pulled on first use)')
    .option('--fusion <path>', 'temporal head weights (fusion-*.safetensors)')
    .option('--head <name>', `${HEAD_HELP} (default: the checkpoint's, else meanP)`)
    .option('-T, --frames <n>', 'frames sampled per clip (default: the checkpoint\'s, else 8)')
    .option('-l, --labels <list>', 'comma-separated labels, e.g. "riding a bike,juggling balls"')
    .option('--labels-file <path>', 'labels, one per line or id,name CSV')
    .option('--templates-file <path>', "prompt templates, one per line with {} for the label (default: the checkpoint's, else the 16 ActionCLIP templates)")
    .option('--backend <name>', 'tfjs backend: auto, tensorflow-gpu, tensorflow, wasm, cpu')
    .option('--engine <name>', 'tfjs, onnx, webgpu or auto (webgpu: Dawn; on a software adapter only with ACTIONCLIP_WEBGPU_ALLOW_SOFTWARE=1)')
    .option('--quantize <mode>', 'none or int8 (ONNX engine: 8-bit matmul weights, about twice the frames/s on a CPU)')
    .option('--fps <f>', 'decode videos at this frame rate before sampling')
    .option('-k, --top <n>', 'labels to print per input', '5')
    .option('--json', 'print JSON instead of a table');
  addTextCacheOptions(classify)
    .action(async (inputs: string[], flags: ClassifyFlags) => {
      const labels = flags.labels !== undefined ? flags.labels.split(',').map((l) => l.trim()).filter(Boolean) : flags.labelsFile !== undefined ? await readLabels(flags.labelsFile) : [];
      if (labels.length === 0) throw new ConfigError('give the labels to choose from with --labels "a,b,c" or --labels-file');
      validateLabels(labels);
      let templates: string[] | undefined;
      if (flags.templatesFile !== undefined) {
        templates = (await readFile(flags.templatesFile, 'utf8')).split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
        validateTemplates(templates);
      }
      const top = positiveIntFlag(flags.top, '--top') ?? 5;
      const fps = numberFlag(flags.fps, '--fps', { positive: true });
      const textCache = textCacheFromFlags(flags);
      const model = await loadModel({ weights: flags.weights, fusion: flags.fusion, ...headFlag(flags.head), frames: positiveIntFlag(flags.frames, '--frames'), backend: flags.backend, engine: flags.engine, quantize: quantizeFlag(flags.quantize), textCache });
      try {
        const results = [];
        for (const input of inputs) results.push(await classifyClip(model, input, labels, { templates, fps }));
        const used = templates ?? model.defaultTemplates;
        const whose = templates === undefined && model.info.templates !== undefined ? " (the checkpoint's)" : '';
        if (flags.json) {
          process.stdout.write(`${JSON.stringify({ model: model.info.head, engine: model.info.engine, backend: model.info.backend, templates: used, results: results.map((r) => ({ ...r, ranking: r.ranking.slice(0, top) })) }, null, 2)}\n`);
        } else {
          for (const r of results) {
            process.stdout.write(`${r.input}  (${r.decodedFrames} frames decoded, ${r.sampled.length} sampled; head ${model.info.head}, ${model.info.engine}/${model.info.backend}, ${used.length} templates${whose})\n`);
            for (const { label, score } of r.ranking.slice(0, top)) process.stdout.write(`  ${(score * 100).toFixed(2).padStart(6)}%  ${label}\n`);
          }
        }
      } finally {
        model.dispose();
      }
    });
}
