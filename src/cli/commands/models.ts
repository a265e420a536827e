import type { Command } from 'commander';
import { numberFlag } from '../flags.js';
import { loadCatalogue } from '../../models/catalogue.js';
import { actionclipHome, listCachedModels, removeCachedModel } from '../../models/model-cache.js';
import { formatBytes, pullModel } from '../../models/pull-model.js';

interface PullFlags {
  name?: string;
  sha256?: string;
  retries?: string;
  progress: boolean;
}

export function registerModels(program: Command): void {
  const models = program
    .command('models')
    .description('Download model weights into the cache ($ACTIONCLIP_HOME/models, default ~/.cache/actionclip-stream/models) and manage them');
  models
    .command('pull')
    .description('Download a catalogue model (see models list) or a weights URL; resumes an interrupted download, verifies its sha256')
    .argument('<name|url>', 'a catalogue name such as vit-b-32 (name@revision pins a revision), or an http(s) URL')
    .option('--name <name>', 'cache name for a URL (default: its file name)')
    .option('--sha256 <hex>', "expected sha256 of a URL's file")
    .option('--retries <n>', 'retries after a dropped connection or a server error', '5')
    .option('--no-progress', 'no progress display')
    .action(async (spec: string, flags: PullFlags) => {
      const pulled = await pullModel(spec, { name: flags.name, sha256: flags.sha256, retries: numberFlag(flags.retries, '--retries', { integer: true }), progress: flags.progress });
      const file = pulled.manifest.files[0];
      process.stdout.write(`${pulled.name} ${pulled.cached ? 'already in the cache' : 'pulled'}: ${pulled.dir} (${file.name}, ${formatBytes(file.size)}, sha256 ${file.sha256})\nuse it with --weights ${pulled.name}\n`);
    });
  models
    .command('list')
    .description('Catalogue names and what is in the cache')
    .option('--json', 'print JSON')
    .action((flags: { json?: boolean }) => listModels(flags.json === true));
  models
    .command('rm')
    .description('Delete a model from the cache (every revision, or one)')
    .argument('<name>', 'model name as models list shows it')
    .option('--revision <rev>', 'only this revision')
    .action(async (name: string, flags: { revision?: string }) => {
      const removed = await removeCachedModel(actionclipHome(), name, flags.revision);
      for (const dir of removed) process.stdout.write(`removed ${dir}\n`);
    });
}

function listModels(json: boolean): void {
  const home = actionclipHome();
  const cached = listCachedModels(home);
  const rows = [
    ...cached.map((m) => ({ name: m.name, revision: m.revision, status: m.manifest === undefined ? 'incomplete' : 'ready', size: m.bytes, path: m.dir })),
    ...loadCatalogue(home)
      .filter((e) => !cached.some((m) => m.name === e.name))
      .map((e) => ({ name: e.name, revision: e.revision, status: 'not pulled', size: e.size ?? null, path: e.description })),
  ];
  if (json) {
    process.stdout.write(`${JSON.stringify({ home, models: rows }, null, 2)}\n`);
    return;
  }
  const table = [['NAME', 'REVISION', 'STATUS', 'SIZE', 'PATH / DESCRIPTION'], ...rows.map((r) => [r.name, r.revision, r.status, r.size === null ? '-' : formatBytes(r.size), r.path])];
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  for (const r of table) process.stdout.write(`${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')}\n`);
  process.stdout.write(`cache: ${home}/models\n`);
}
