import type { Command } from 'commander';
import path from 'node:path';
import { numberFlag } from '../flags.js';
import { loadTrainConfig } from '../../training/config.js';
import { Trainer } from '../../training/trainer.js';

interface TrainFlags {
  config?: string;
  weights?: string;
  fusion?: string;
  head?: string;
  trainList?: string;
  valList?: string;
  labels?: string;
  output?: string;
  epochs?: string;
  batchSize?: string;
  lr?: string;
  freeze?: string;
  fewShot?: string;
  seed?: string;
  resume?: string | boolean;
  backend?: string;
  progress: boolean;
}

/** Flags as a partial configuration (only the ones given), merged over the YAML file. */
function overridesFrom(flags: TrainFlags): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const data: Record<string, unknown> = {};
  const set = (obj: Record<string, unknown>, key: string, v: unknown): void => {
    if (v !== undefined) obj[key] = v;
  };
  set(o, 'weights', flags.weights);
  set(o, 'fusion', flags.fusion);
  set(o, 'head', flags.head);
  set(o, 'outputDir', flags.output);
  set(o, 'epochs', numberFlag(flags.epochs, '--epochs', { integer: true }));
  set(o, 'batchSize', numberFlag(flags.batchSize, '--batch-size', { integer: true }));
  set(o, 'lr', numberFlag(flags.lr, '--lr'));
  set(o, 'freeze', flags.freeze);
  set(o, 'seed', numberFlag(flags.seed, '--seed', { integer: true }));
  set(data, 'train', flags.trainList);
  set(data, 'val', flags.valList);
  set(data, 'labels', flags.labels);
  const k = numberFlag(flags.fewShot, '--few-shot', { integer: true });
  if (k !== undefined) data.fewShot = { k };
  if (Object.keys(data).length > 0) o.data = data;
  return o;
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('Fine-tune ActionCLIP on a video list (KL video-text loss, AdamW, warm-up + cosine); checkpoints load with --weights')
    .option('-c, --config <file>', 'training configuration (YAML; see config/train-synthetic.yaml)')
    .option('-w, --weights <path>', 'CLIP weights to start from (a path, or a model name such as vit-b-32, pulled on first use)')
    .option('--fusion <path>', 'temporal head weights to start from (absent: a fresh head)')
    .option('--head <name>', 'meanP, Conv_1D, LSTM, Transf or Transf_cls')
    .option('--train-list <file>', 'training list (video_path label, or path num_frames label)')
    .option('--val-list <file>', 'validation list')
    .option('--labels <file|preset>', 'id,name CSV or a preset: kinetics400, ucf101, hmdb51')
    .option('-o, --output <dir>', 'output folder: checkpoint (clip.safetensors, fusion-<head>.safetensors), metrics.jsonl')
    .option('--epochs <n>')
    .option('--batch-size <n>')
    .option('--lr <x>', 'learning rate of the pre-trained parts (new modules: × newModuleRatio)')
    .option('--freeze <part>', 'none, text, image or both')
    .option('--few-shot <k>', 'train on K examples per class')
    .option('--seed <n>')
    .option('--resume [dir]', 'continue a run from its checkpoint folder (default: the output folder)')
    .option('--backend <name>', 'tfjs backend: auto, tensorflow-gpu, tensorflow, wasm, cpu')
    .option('--no-progress', 'no progress bar')
    .action(async (flags: TrainFlags) => {
      const overrides = overridesFrom(flags);
      if (flags.resume !== undefined) {
        // `--resume` alone: the run's own output folder.
        const base = loadTrainConfig(flags.config, overrides);
        overrides.resume = typeof flags.resume === 'string' ? path.resolve(flags.resume) : base.outputDir;
      }
      const config = loadTrainConfig(flags.config, overrides);
      const log = (line: string): void => void process.stderr.write(`${line}\n`);
      const ac = new AbortController();
      // First Ctrl-C stops after the current step (the last epoch's checkpoint stays valid); a second one exits.
      const onSigint = (): void => {
        if (ac.signal.aborted) process.exit(130);
        log('stopping (Ctrl-C again to exit now); the last completed epoch is checkpointed');
        ac.abort(new Error('interrupted'));
      };
      process.on('SIGINT', onSigint);
      const trainer = await Trainer.create(config, { backend: flags.backend, log, progress: flags.progress && process.stderr.isTTY === true, signal: ac.signal });
      try {
        await trainer.run();
        const last = trainer.history[trainer.history.length - 1];
        const curve = trainer.history
          .filter((m) => m.val !== undefined)
          .map((m) => `${m.epoch}:${(m.val!.top1 * 100).toFixed(1)}%`)
          .join(' ');
        process.stdout.write(
          `trained ${trainer.epoch} epochs (${trainer.step} steps); final loss ${last?.loss.toFixed(4) ?? '-'}` +
            `${last?.val ? `, val top-1 ${(last.val.top1 * 100).toFixed(2)}%` : ''}\n` +
            `${curve ? `val top-1 by epoch: ${curve}\n` : ''}` +
            `checkpoint: ${config.outputDir} (use it as --weights); metrics: ${path.join(config.outputDir, 'metrics.jsonl')}\n`,
        );
      } catch (err) {
        if (ac.signal.aborted) {
          process.stdout.write(`interrupted after epoch ${trainer.epoch}; continue with --resume\n`);
          process.exitCode = 130;
        } else throw err;
      } finally {
        process.off('SIGINT', onSigint);
        trainer.dispose();
      }
    });
}
