#!/usr/bin/env bash
# Installs what the service and its tests need outside npm:
#   - ffmpeg/ffprobe (Debian)                 -> PATH          (the service: --main)
#   - Apache Kafka jars (Maven Central)       -> $CACHE/kafka/<version>/libs       (tests: --test)
#   - mediamtx RTSP server (Go module source) -> $CACHE/mediamtx/<version>/mediamtx (tests: --test)
#   - Mesa lavapipe from bookworm-backports   -> a software Vulkan device for the webgpu engine's tests (--test)
#   - Chromium (Debian package `chromium`)    -> PATH          (the dashboard's browser tests: --test)
#   - Python prometheus_client (PyPI, a venv) -> $CACHE/prometheus-client/<version>/venv (tests: --test)
# $CACHE is $ACTIONCLIP_CACHE or <repo>/.cache. Idempotent: each step is skipped when
# its output is already complete, so a warm run takes about a second.
#
# Usage: scripts/install-system-deps.sh [--main | --test | --bench | --check]
#   --main   only what the service needs to run (ffmpeg); scripts/setup.sh uses this
#   --test   ffmpeg plus the test servers (Kafka, mediamtx) and Chromium; scripts/setup-test-infra.sh uses this
#   --bench  ffmpeg, Kafka and mediamtx: what bench:cameras, bench:soak and bench:pipeline start (npm's prebench:*)
#   (none)   everything
#   --check  print what is present and exit 1 if anything is missing; installs nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${ACTIONCLIP_CACHE:-$ROOT/.cache}"
# shellcheck source=infra-versions.env
source "$ROOT/scripts/infra-versions.env"

KAFKA_LIBS="$CACHE/kafka/$KAFKA_VERSION/libs"
MEDIAMTX_BIN="$CACHE/mediamtx/$MEDIAMTX_VERSION/mediamtx"
PROM_VENV="$CACHE/prometheus-client/$PROMETHEUS_CLIENT_VERSION/venv"
MAVEN_DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

BUILD_DIR=""
# Removes the mediamtx build copy even when a step fails.
trap '[ -z "$BUILD_DIR" ] || rm -rf "$BUILD_DIR"' EXIT

log() { printf '[install-system-deps] %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

apt_updated=0
# Another apt (unattended upgrades, a second set-up on the same machine) may hold the lock: wait for it.
APT_LOCK=(-o DPkg::Lock::Timeout=300)
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then
    log "apt-get update"
    $SUDO apt-get "${APT_LOCK[@]}" update -q
    apt_updated=1
  fi
  log "apt-get install $*"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get "${APT_LOCK[@]}" install -y -q --no-install-recommends "$@"
}

# A marker written last means an interrupted download/build is redone instead of trusted.
kafka_present() { [ -f "$KAFKA_LIBS/.complete" ]; }
mediamtx_present() { [ -x "$MEDIAMTX_BIN" ]; }
chromium_present() { command -v chromium >/dev/null; }
prom_present() { [ -f "$PROM_VENV/.complete" ]; }

check() {
  local missing=0
  report() { # name, ok(0/1), detail
    if [ "$2" -eq 0 ]; then printf '  %-10s ok       %s\n' "$1" "$3"; else printf '  %-10s MISSING  %s\n' "$1" "$3"; missing=1; fi
  }
  log "cache: $CACHE"
  if command -v ffmpeg >/dev/null; then report ffmpeg 0 "$(command -v ffmpeg) ($(ffmpeg -version | head -n1 | cut -d' ' -f3))"; else report ffmpeg 1 "apt package ffmpeg"; fi
  if command -v ffprobe >/dev/null; then report ffprobe 0 "$(command -v ffprobe)"; else report ffprobe 1 "apt package ffmpeg"; fi
  if command -v java >/dev/null; then report java 0 "$(java -version 2>&1 | head -n1)"; else report java 1 "JDK 17+"; fi
  if kafka_present; then report kafka 0 "$KAFKA_VERSION in $KAFKA_LIBS ($(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars)"; else report kafka 1 "$KAFKA_VERSION in $KAFKA_LIBS"; fi
  if mediamtx_present; then report mediamtx 0 "$MEDIAMTX_VERSION at $MEDIAMTX_BIN"; else report mediamtx 1 "$MEDIAMTX_VERSION at $MEDIAMTX_BIN"; fi
  if lavapipe_present; then report lavapipe 0 "mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
  elif is_bookworm; then report lavapipe 1 "mesa-vulkan-drivers from bookworm-backports"
  else printf '  %-10s n/a      %s\n' lavapipe "not Debian bookworm: install Mesa >= 24 lavapipe yourself, or set ACTIONCLIP_SKIP_WEBGPU=1"; fi
  if chromium_present; then report chromium 0 "$(command -v chromium) ($(chromium --version 2>/dev/null | head -n1))"; else report chromium 1 "apt package chromium (dashboard browser tests)"; fi
  if prom_present; then report promparse 0 "prometheus_client $PROMETHEUS_CLIENT_VERSION in $PROM_VENV"; else report promparse 1 "prometheus_client $PROMETHEUS_CLIENT_VERSION in $PROM_VENV"; fi
  return "$missing"
}

install_ffmpeg() {
  if command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null; then
    log "ffmpeg present: $(command -v ffmpeg)"
    return
  fi
  apt_install ffmpeg
}

install_java_maven() {
  # Our machines ship JDK 17 + Maven; this only covers a bare Debian box.
  local pkgs=()
  command -v java >/dev/null || pkgs+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || pkgs+=(maven)
  if [ "${#pkgs[@]}" -gt 0 ]; then apt_install "${pkgs[@]}"; fi
}

install_chromium() {
  if chromium_present; then
    log "chromium present: $(command -v chromium)"
    return
  fi
  # Debian's build: no snap, no browser download by playwright; the tests pass its path to playwright-core.
  apt_install chromium
}

install_kafka() {
  if kafka_present; then
    log "kafka $KAFKA_VERSION present: $KAFKA_LIBS"
    return
  fi
  install_java_maven
  log "fetching kafka $KAFKA_VERSION jars from Maven Central -> $KAFKA_LIBS"
  local staging="$KAFKA_LIBS.partial.$$"
  rm -rf "$staging"
  mkdir -p "$staging"
  # Batch mode, no transfer progress, no colour; Maven 3.8 still writes a few reset codes at
  # start, so escapes are stripped too (pipefail keeps mvn's exit status).
  mvn -q -B --no-transfer-progress -Dstyle.color=never -f "$ROOT/scripts/kafka/pom.xml" \
    "$MAVEN_DEPENDENCY_PLUGIN:copy-dependencies" \
    -Dkafka.version="$KAFKA_VERSION" \
    -DincludeScope=runtime \
    -DoutputDirectory="$staging" 2>&1 | sed -u 's/\x1b\[[0-9;]*[A-Za-z]//g'
  if ! ls "$staging"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1; then
    log "error: kafka_2.13-$KAFKA_VERSION.jar was not fetched"
    exit 1
  fi
  rm -rf "$KAFKA_LIBS"
  mv "$staging" "$KAFKA_LIBS"
  touch "$KAFKA_LIBS/.complete"
  log "kafka: $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars"
}

# The reference parser of the Prometheus text format, to check /metrics with something not ours.
install_prom_parser() {
  if prom_present; then
    log "prometheus_client $PROMETHEUS_CLIENT_VERSION present: $PROM_VENV"
    return
  fi
  command -v python3 >/dev/null || apt_install python3 python3-venv
  rm -rf "$PROM_VENV"
  python3 -m venv "$PROM_VENV" || { apt_install python3-venv && python3 -m venv "$PROM_VENV"; }
  "$PROM_VENV/bin/pip" install -q --disable-pip-version-check "prometheus_client==$PROMETHEUS_CLIENT_VERSION"
  touch "$PROM_VENV/.complete"
}

install_mediamtx() {
  if mediamtx_present; then
    log "mediamtx $MEDIAMTX_VERSION present: $MEDIAMTX_BIN"
    return
  fi
  # Our machines install Go under /usr/local/go, which a non-login shell may not have on PATH.
  if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then PATH="/usr/local/go/bin:$PATH"; fi
  if ! command -v go >/dev/null; then
    log "error: go is required to build mediamtx (our machines have it in /usr/local/go/bin)"
    exit 1
  fi
  log "building mediamtx $MEDIAMTX_VERSION from its Go module -> $MEDIAMTX_BIN"
  # Plain `go install ...@version` fails twice over: the proxy here refuses the module's
  # version list (needed for the deprecation check), and the module embeds files that
  # upstream makes with `go generate` (hls.min.js, VERSION) which are not in the zip.
  # So: download the exact version, copy it, stub those two files, go build.
  local src
  src="$(go mod download -json "github.com/bluenviron/mediamtx@$MEDIAMTX_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  if [ -z "$src" ] || [ ! -f "$src/main.go" ]; then
    log "error: could not download github.com/bluenviron/mediamtx@$MEDIAMTX_VERSION"
    exit 1
  fi
  local work
  work="$(mktemp -d)"
  BUILD_DIR="$work"
  cp -r "$src/." "$work/"
  chmod -R u+w "$work"
  # The HLS server is disabled in the tests' config; an empty player script is enough.
  printf '/* hls.js not bundled: HLS is disabled in the test configuration */\n' \
    >"$work/internal/servers/hls/hls.min.js"
  printf '%s\n' "$MEDIAMTX_VERSION" >"$work/internal/core/VERSION"
  mkdir -p "$(dirname "$MEDIAMTX_BIN")"
  (cd "$work" && CGO_ENABLED=0 go build -trimpath -o "$MEDIAMTX_BIN.partial" .)
  mv "$MEDIAMTX_BIN.partial" "$MEDIAMTX_BIN"
  rm -rf "$work"
  log "mediamtx: $("$MEDIAMTX_BIN" --version 2>/dev/null || echo built)"
}

# --- WebGPU on lavapipe (the webgpu engine's tests) ------------------------------------------
# Dawn (npm `webgpu`) rejects bookworm's Mesa 22.3 lavapipe (no adapter); Mesa 25 from
# bookworm-backports gives it "llvmpipe". The backports source goes in its own sources.list.d file
# and is used only with `-t bookworm-backports` for these packages: apt never prefers backports by
# default, so the machine's default suite and every other package stay as they were.
LAVAPIPE_SOURCE=/etc/apt/sources.list.d/actionclip-bookworm-backports.sources
APT_LOCK=(-o DPkg::Lock::Timeout=300)

is_bookworm() { grep -qs '^VERSION_CODENAME=bookworm$' /etc/os-release; }

lavapipe_present() {
  local v
  v="$(dpkg-query -W -f='${Status} ${Version}' mesa-vulkan-drivers 2>/dev/null || true)"
  [[ "$v" == "install ok installed "* ]] && [[ "${v##* }" != 22.* ]] && compgen -G "/usr/share/vulkan/icd.d/lvp_icd*.json" >/dev/null
}

install_lavapipe() {
  if lavapipe_present; then
    log "lavapipe present: mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
    return
  fi
  if ! is_bookworm; then
    log "lavapipe: not Debian bookworm; install Mesa >= 24 lavapipe (mesa-vulkan-drivers) and libvulkan1 by hand"
    return
  fi
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    log "adding bookworm-backports (not preferred by apt; used only with -t) -> $LAVAPIPE_SOURCE"
    printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm-backports' 'Components: main' \
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' | $SUDO tee "$LAVAPIPE_SOURCE" >/dev/null
  fi
  log "apt-get update (for bookworm-backports)"
  $SUDO apt-get "${APT_LOCK[@]}" update -q
  apt_updated=1
  log "apt-get install -t bookworm-backports mesa-vulkan-drivers libdrm2 libdrm-amdgpu1 (+ libvulkan1 libllvm15 from bookworm)"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get "${APT_LOCK[@]}" install -y -q --no-install-recommends \
    -t bookworm-backports mesa-vulkan-drivers libdrm2 libdrm-amdgpu1 libvulkan1/bookworm libllvm15/bookworm
  lavapipe_present || { log "error: lavapipe from bookworm-backports did not install"; exit 1; }
}
# ----------------------------------------------------------------------------------------------

what=all
case "${1:-}" in
  --check)
    check
    exit $?
    ;;
  "" | --install) ;;
  --main) what=main ;;
  --test) what=test ;;
  --bench) what=bench ;;
  -h | --help)
    sed -n '2,17p' "$0"
    exit 0
    ;;
  *)
    echo "unknown argument: $1 (use --main, --test, --bench or --check)" >&2
    exit 2
    ;;
esac

start=$SECONDS
install_ffmpeg
if [ "$what" != main ]; then
  install_kafka
  install_mediamtx
fi
# The benchmarks start only a broker and an RTSP server; the browser, Vulkan and parser are for tests.
if [ "$what" = test ] || [ "$what" = all ]; then
  install_lavapipe
  install_chromium
  install_prom_parser
fi
log "done in $((SECONDS - start))s"
if [ "$what" = main ] || [ "$what" = bench ]; then
  command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null
else
  check
fi
