#!/usr/bin/env bash
# Builds the page (release) and serves dist/ on http://127.0.0.1:8080/ (PORT=... to change), with the demo
# capture from ../shared/corpus decompressed into dist/demo/ (never committed).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

PORT=${PORT:-8080}
DEMO_SRC=../shared/corpus/deb12-6.1-docker/capture.lime.zst
DEMO_NAME=deb12-6.1-docker.lime
# trunk empties dist/ on every build, so the decompressed capture (385 MiB) is kept in target/ and
# hard-linked into dist/demo/ (copied where a link is impossible).
DEMO_CACHE=target/demo/$DEMO_NAME

bash scripts/setup.sh
trunk build --release --offline

# zstd gives the output the source's mtime, so "not older than the source" means up to date.
if [ -f "$DEMO_CACHE" ] && ! [ "$DEMO_SRC" -nt "$DEMO_CACHE" ]; then
  echo "serve: demo capture already decompressed: $DEMO_CACHE"
elif [ -f "$DEMO_SRC" ]; then
  echo "serve: decompressing $DEMO_SRC -> $DEMO_CACHE"
  mkdir -p "$(dirname "$DEMO_CACHE")"
  zstd -d --long=27 -q -f "$DEMO_SRC" -o "$DEMO_CACHE.part"
  chmod u+w "$DEMO_CACHE.part"
  mv "$DEMO_CACHE.part" "$DEMO_CACHE"
else
  echo "serve: error: demo capture $DEMO_SRC is missing (the corpus lives in ../shared/corpus)" >&2
  exit 1
fi
mkdir -p dist/demo
ln -f "$DEMO_CACHE" "dist/demo/$DEMO_NAME" 2>/dev/null || cp -f "$DEMO_CACHE" "dist/demo/$DEMO_NAME"

exec node tests/e2e/server.mjs --root dist --port "$PORT"
