import type { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { generateSyntheticDataset, SYNTHETIC_CLASSES, type SyntheticClass } from '../../training/synthetic-dataset.js';

interface MakeSyntheticFlags {
  out: string;
  format: 'video' | 'frames' | 'both';
  train: string;
  val: string;
  size: string;
  frames: string;
  fps: string;
  seed: string;
  classes?: string;
}

function int(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`${flag} must be a non-negative integer, got "${v}"`);
  return n;
}

export function registerMakeSynthetic(program: Command): void {
  program
    .command('make-synthetic')
    .description(`Generate the synthetic shapes action dataset (${SYNTHETIC_CLASSES.join(', ')}) with lists and labels, for train/eval demos`)
    .requiredOption('-o, --out <dir>', 'output folder (labels.csv, train.txt, val.txt, videos/)')
    .option('--format <kind>', 'video (mp4 + "video_path label"), frames (PNG folders + "path num_frames label") or both', 'video')
    .option('--train <n>', 'training clips per class', '8')
    .option('--val <n>', 'validation clips per class', '2')
    .option('--size <WxH>', 'frame size (even sides for mp4)', '64x64')
    .option('--frames <n>', 'frames per clip', '16')
    .option('--fps <n>', 'frame rate of the videos', '8')
    .option('--seed <n>', 'random seed', '0')
    .option('--classes <list>', 'comma-separated subset of the classes')
    .action(async (flags: MakeSyntheticFlags) => {
      const m = /^(\d+)x(\d+)$/.exec(flags.size);
      if (!m) throw new ConfigError(`--size must look like 64x64, got "${flags.size}"`);
      if (!['video', 'frames', 'both'].includes(flags.format)) throw new ConfigError(`--format must be video, frames or both, got "${flags.format}"`);
      const ds = await generateSyntheticDataset({
        outDir: flags.out,
        format: flags.format,
        trainPerClass: int(flags.train, '--train'),
        valPerClass: int(flags.val, '--val'),
        width: Number(m[1]),
        height: Number(m[2]),
        frames: int(flags.frames, '--frames'),
        fps: int(flags.fps, '--fps'),
        seed: int(flags.seed, '--seed'),
        classes: flags.classes?.split(',').map((s) => s.trim()) as SyntheticClass[] | undefined,
      });
      const lists = [ds.trainList, ds.valList, ds.trainFramesList, ds.valFramesList].filter((x): x is string => x !== undefined);
      process.stdout.write(`${ds.clips} clips of ${ds.labels.length} classes in ${flags.out}\nlabels: ${ds.labelsFile}\nlists: ${lists.join(', ')}\n`);
    });
}
