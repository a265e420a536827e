import type { Command } from 'commander';
import { DemoError } from '../../demo/demo-model.js';
import { REAL_MODEL_HINT, runDemo } from '../../demo/run-demo.js';
import { formatVerdict } from '../../demo/verdict.js';

interface DemoFlags {
  dir: string;
  engine?: string;
  backend?: string;
  trainBackend?: string;
  prepareOnly?: boolean;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('Offline demo: train a tiny model on synthetic shapes (once, cached), run the service on two synthetic cameras, check its detections')
    .option('--dir <folder>', 'cache folder of the demo (model, clips, run config)', '.cache/demo')
    .option('--engine <name>', 'engine of the service: tfjs, onnx, webgpu or auto')
    .option('--backend <name>', 'tfjs backend or ONNX execution provider of the service')
    .option('--train-backend <name>', 'tfjs backend for training the demo model (default: the best available)')
    .option('--prepare-only', 'train (or reuse) the model and write the clips, linked as <dir>/model and <dir>/cam1.mp4, without running the service')
    .action(async (flags: DemoFlags) => {
      const print = (line: string): void => void process.stdout.write(`${line}\n`);
      const result = await runDemo({ cacheDir: flags.dir, engine: flags.engine, backend: flags.backend, trainBackend: flags.trainBackend, print, prepareOnly: flags.prepareOnly });
      if (flags.prepareOnly === true) return print(`demo: prepared ${flags.dir}/model and its camera clips`);
      for (const line of REAL_MODEL_HINT) print(line);
      // A wrong answer fails the command, so the quick start is a real check.
      if (!result.ok) throw new DemoError(`the demo's detections were wrong:\n${result.verdicts.filter((v) => !v.ok).map(formatVerdict).join('\n')}`);
      print('demo: OK, every detection named the class its camera showed');
    });
}
