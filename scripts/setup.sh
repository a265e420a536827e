#!/usr/bin/env bash
# Installs what the main job (classify, run) needs on a fresh machine, idempotently: ffmpeg
# (scripts/install-system-deps.sh --main), npm dependencies and the compiled CLI. The test servers
# (Kafka, mediamtx) are not needed for that: scripts/setup-test-infra.sh installs them.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-system-deps.sh --main

# onnxruntime-node's postinstall downloads CUDA provider libraries from outside the package
# registries; the CPU provider ships in the package. Skip the download unless asked for
# (ONNXRUNTIME_NODE_INSTALL=cuda12 on a GPU machine with network). An env variable, not an .npmrc
# key: npm warns about unknown .npmrc keys on every command.
export ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL:-skip}"

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
