import { appendFileSync, chmodSync, existsSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../../../config/load.js';
import { ConfigError } from '../../errors.js';
import { createToken, isRole, ROLES } from '../../security/tokens.js';

interface TokenFlags {
  role: string;
  name: string;
  file?: string;
  config?: string;
}

/** The tokens file: --file, else the configuration's security.tokensFile. */
function tokensFile(flags: TokenFlags): string {
  if (flags.file !== undefined) return flags.file;
  const file = flags.config === undefined ? undefined : loadConfig({ file: flags.config, overrides: { weights: 'unused' } }).security.tokensFile;
  if (file === undefined) throw new ConfigError('say where the token goes: --file FILE, or --config with security.tokensFile set');
  return file;
}

export function registerToken(program: Command): void {
  const token = program.command('token').description('API tokens for the HTTP API and /ws');
  token
    .command('create')
    .description('print a new random token once and append its hash (never the token) to the tokens file')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .requiredOption('--name <name>', 'who holds it (shown in the audit log)')
    .option('--file <file>', 'tokens file to append to (default: security.tokensFile of --config)')
    .option('-c, --config <file>', 'YAML configuration naming security.tokensFile')
    .action((flags: TokenFlags) => {
      if (!isRole(flags.role)) throw new ConfigError(`--role must be one of ${ROLES.join(', ')}, got "${flags.role}"`);
      const file = tokensFile(flags);
      const { token: secret, line } = createToken(flags.role, flags.name);
      const fresh = !existsSync(file);
      appendFileSync(file, line + '\n', { mode: 0o600 });
      if (fresh) chmodSync(file, 0o600);
      process.stderr.write(`added ${flags.role} token "${flags.name}" to ${file}; it is shown once, here:\n`);
      process.stdout.write(secret + '\n');
    });
}
