// Builds the dashboard (web/, TypeScript + Preact + uPlot) into dist/dashboard with esbuild: one
// script, one stylesheet and the page, all served by the service itself (no CDN).
//   node scripts/build-dashboard.mjs [outDir]     (npm run build runs it)
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function buildDashboard(outDir = path.join(root, 'dist', 'dashboard')) {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: { app: path.join(root, 'web', 'main.tsx') },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    target: ['es2022'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  await copyFile(path.join(root, 'web', 'index.html'), path.join(outDir, 'index.html'));
  return outDir;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = await buildDashboard(process.argv[2] === undefined ? undefined : path.resolve(process.argv[2]));
  console.log(`dashboard built in ${path.relative(process.cwd(), out) || '.'}`);
}
