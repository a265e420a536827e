#!/usr/bin/env bash
# Installs everything actionclip-stream needs on a fresh machine, idempotently: system packages and
# test servers (scripts/install-system-deps.sh), npm dependencies, and the compiled CLI.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-system-deps.sh

# npm ci when the lockfile is present and node_modules is stale; optional native packages
# (tfjs-node, tfjs-node-gpu, ffmpeg-static) download binaries at install and are skipped offline.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[setup] npm ci"
  npm ci --no-audit --no-fund
else
  echo "[setup] node_modules up to date"
fi

echo "[setup] building dist/"
npm run build --silent
echo "[setup] done"
