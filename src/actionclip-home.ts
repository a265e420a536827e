import os from 'node:os';
import path from 'node:path';

export const HOME_ENV = 'ACTIONCLIP_HOME';

/**
 * Where the service keeps what it can rebuild (graphs, text embeddings, downloads):
 * `$ACTIONCLIP_HOME`, else the older `$ACTIONCLIP_CACHE`, else `~/.cache/actionclip-stream`.
 */
export function actionclipHome(env: NodeJS.ProcessEnv = process.env): string {
  return env[HOME_ENV] || env.ACTIONCLIP_CACHE || path.join(os.homedir(), '.cache', 'actionclip-stream');
}
