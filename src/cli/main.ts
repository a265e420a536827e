import { Command } from 'commander';
import { registerClassify } from './commands/classify.js';
import { registerDemo } from './commands/demo.js';
import { registerEval } from './commands/eval.js';
import { registerIngest } from './commands/ingest.js';
import { registerGateway } from './commands/gateway.js';
import { registerInfer } from './commands/infer.js';
import { registerMakeSynthetic } from './commands/make-synthetic.js';
import { registerModels } from './commands/models.js';
import { registerRun } from './commands/run.js';
import { registerToken } from './commands/token.js';
import { registerTopics } from './commands/topics.js';
import { registerTrain } from './commands/train.js';
import { packageVersion } from './version.js';

/** Argument parsing only: each subcommand builds a config and hands it to the library or a pipeline. */
const program = new Command()
  .name('actionclip-stream')
  .description('Open-vocabulary action recognition on video files and live cameras (ActionCLIP).')
  .version(packageVersion(), '-V, --version', 'print the version')
  .showHelpAfterError();

registerClassify(program);
registerRun(program);
registerIngest(program);
registerTopics(program);
registerInfer(program);
registerTrain(program);
registerEval(program);
registerMakeSynthetic(program);
registerToken(program);
registerModels(program);
registerDemo(program);
registerGateway(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`actionclip-stream: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
