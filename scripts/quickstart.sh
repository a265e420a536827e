#!/usr/bin/env bash
# Quick start: install what the main job needs (scripts/setup.sh: ffmpeg, npm ci, build; the test
# servers are scripts/setup-test-infra.sh's), then classify a clip against labels given on the command line.
#   WEIGHTS   CLIP weights (.safetensors, directory or ActionCLIP .pt); default: the tiny reference
#             model of ../shared/fixtures where it exists, else a tiny random model written here
#             (scores of either mean nothing; real weights give real answers)
#   VIDEO     a video file or a folder of frames; default: a generated test clip
#   LABELS    comma-separated labels
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

if [ -z "${WEIGHTS:-}" ]; then
  WEIGHTS=../shared/fixtures/actionclip-reference
  if [ ! -e "$WEIGHTS" ]; then
    WEIGHTS=.cache/demo/clip-random.safetensors
    [ -f "$WEIGHTS" ] || npx tsx scripts/make-demo-weights.ts "$WEIGHTS"
  fi
fi
LABELS="${LABELS:-riding a bike,playing guitar,juggling balls,washing dishes,arm wrestling}"
if [ -z "${VIDEO:-}" ]; then
  mkdir -p .cache/demo
  VIDEO=.cache/demo/testsrc.mp4
  if [ ! -f "$VIDEO" ]; then
    ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc=size=320x240:rate=10 -t 3 -pix_fmt yuv420p "$VIDEO"
  fi
fi
if [ ! -e "$WEIGHTS" ]; then
  echo "weights not found at $WEIGHTS: set WEIGHTS=/path/to/ViT-B-32.safetensors (or an ActionCLIP .pt)" >&2
  exit 2
fi
exec node bin/actionclip-stream.js classify "$VIDEO" --weights "$WEIGHTS" --labels "$LABELS"
