#!/usr/bin/env bash
# Installs the real servers the tests start on 127.0.0.1, idempotently (a warm run takes about a
# second): ffmpeg, a JDK and the Apache Kafka jars (Maven Central), and mediamtx built from its Go
# module. Versions: scripts/infra-versions.env. `npm test` runs it first (pretest); .ci/run does too.
#   bash scripts/setup-test-infra.sh           install what is missing, then list what is there (npm's pretest runs it)
#   bash scripts/setup-test-infra.sh --check   only list; exit 1 if something is missing
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  --check) exec bash scripts/install-system-deps.sh --check ;;
  "") exec bash scripts/install-system-deps.sh --test ;;
  *)
    echo "unknown argument: $1 (use --check or nothing)" >&2
    exit 2
    ;;
esac
