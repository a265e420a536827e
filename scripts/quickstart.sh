#!/usr/bin/env bash
# Quick start: install what the main job needs (scripts/setup.sh: ffmpeg, npm ci, build; the test
# servers are scripts/setup-test-infra.sh's), then the offline demo, or with WEIGHTS a clip classified.
#   WEIGHTS   CLIP weights (.safetensors, directory, ActionCLIP .pt or a catalogue name such as
#             vit-b-32); default none, which runs the offline demo (`actionclip-stream demo`)
#   VIDEO     a video file or a folder of frames (needs WEIGHTS); default: a generated test clip
#   LABELS    comma-separated labels (needs WEIGHTS)
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
# A catalogue name (vit-b-32, …) is pulled by the CLI on first use; anything else must exist.
if [ ! -e "$WEIGHTS" ] && [[ "$WEIGHTS" == */* ]]; then
  echo "weights not found at $WEIGHTS: set WEIGHTS=/path/to/ViT-B-32.safetensors, an ActionCLIP .pt, or a catalogue name (actionclip-stream models list)" >&2
  exit 2
fi
exec node bin/actionclip-stream.js classify "$VIDEO" --weights "$WEIGHTS" --labels "$LABELS"
