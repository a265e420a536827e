/**
 * The dashboard's static files (built by `npm run build` into dist/dashboard from web/), served
 * by the API's own server at `/` and `/dashboard/<file>`: no CDN, nothing outside this package.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NotFoundError } from '../errors.js';
import { send } from './http-io.js';

/** Where `npm run build` writes the dashboard, relative to the package root. */
export const DASHBOARD_OUT = path.join('dist', 'dashboard');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
};

/**
 * The page may load only its own files and talk only to this server. Styles allow inline values
 * because Preact and uPlot set element styles (bar widths, chart sizes).
 */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** dist/dashboard of the package this module belongs to (src/ or dist/src/ alike), if it was built. */
export function findDashboardDir(from = path.dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = from; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (!existsSync(path.join(dir, 'package.json'))) continue;
    const out = path.join(dir, DASHBOARD_OUT);
    return existsSync(path.join(out, 'index.html')) ? out : undefined;
  }
  return undefined;
}

/** `/` is the page, `/dashboard/<file>` its assets; a file name only, so no path leaves the folder. */
export async function serveDashboard(res: ServerResponse, parts: readonly string[], dir: string | undefined): Promise<void> {
  if (dir === undefined) return send(res, 404, 'The dashboard is not built: run `npm run build`.\n', 'text/plain; charset=utf-8');
  const name = parts.length === 0 ? 'index.html' : parts.length === 2 ? parts[1]! : '';
  const type = TYPES[path.extname(name)];
  if (!/^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/.test(name) || type === undefined) throw new NotFoundError(`no dashboard file ${parts.join('/')}`);
  let body: Buffer;
  try {
    body = await readFile(path.join(dir, name));
  } catch {
    throw new NotFoundError(`no dashboard file ${name}`);
  }
  res.writeHead(200, {
    'content-type': type,
    // Rebuilt assets keep their names: the browser asks again each time (a 304 costs nothing here).
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    ...(name === 'index.html' ? { 'content-security-policy': CSP, 'referrer-policy': 'no-referrer' } : {}),
  });
  res.end(body);
}
