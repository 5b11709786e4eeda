#!/usr/bin/env bash
# trunk post_build hook (Trunk.toml): writes the symbol packs the page loads into the staging dist/:
# symbols/index.json and symbols/<sha256>.mspack, from the ISF files of symbols/ (`memscope symbols pack`).
# The browser loads a pack in ~1 ms and never parses the ISF JSON unless the user drops their own.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${TRUNK_STAGING_DIR:?run by trunk as a post_build hook}/symbols"
cargo run --offline --release -q -p memscope-cli -- symbols pack symbols "$out"
