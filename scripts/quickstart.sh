#!/usr/bin/env bash
# Quick start: install everything, then classify a clip against labels given on the command line.
#   WEIGHTS   CLIP weights (.safetensors, directory or ActionCLIP .pt); default: the tiny reference
#             model of ../shared/fixtures where it exists, else a tiny random model written here
#             (scores of either mean nothing; real weights give real answers)
#   VIDEO     a video file or a folder of frames; default: a generated test clip
#   LABELS    comma-separated labels
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# Without WEIGHTS: the offline demo (src/demo/): a tiny model trained here once on synthetic
# growing/shrinking clips (cached in .cache/demo/ by recipe), then `run` on two synthetic cameras;
# it prints the detections and exits non-zero when they are wrong. VIDEO and LABELS need WEIGHTS.
if [ -z "${WEIGHTS:-}" ]; then
  if [ -n "${VIDEO:-}" ] || [ -n "${LABELS:-}" ]; then
    echo "VIDEO and LABELS need a real model: set WEIGHTS=/path/to/model.safetensors too (without WEIGHTS the quick start runs the demo)" >&2
    exit 2
  fi
  exec node bin/actionclip-stream.js demo --dir .cache/demo
fi

# With WEIGHTS: classify a clip (default: a generated test clip) against LABELS.
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
