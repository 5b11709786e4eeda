#!/usr/bin/env bash
# Builds the page (release) and serves dist/ on http://127.0.0.1:8080/ (PORT=... to change). The build's
# hook (scripts/web-demo.sh) puts the demo capture in dist/demo/: the corpus's 6.1 capture trimmed to the
# pages the analyses read (never committed).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

PORT=${PORT:-8080}

bash scripts/setup.sh
trunk build --release --offline
exec node tests/e2e/server.mjs --root dist --port "$PORT"
