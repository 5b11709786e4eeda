#!/usr/bin/env bash
# Benchmarks, side by side with the peer: memscope (release) against Volatility 3 (from PyPI, in a throwaway
# virtualenv under target/bench/) on every corpus capture, whole process, warm OS page cache, runs
# interleaved so that drift on a shared machine hits both. Prints ratios; absolute times drift.
#   bash scripts/bench.sh [--runs N] [--baseline OLD_MEMSCOPE] [--no-vol] [--only ANALYSIS]...
# The analyses are the registry's (`memscope list --format json`); --baseline times another build side by
# side and prints new/old.
set -euo pipefail
cd "$(dirname "$0")/.."
VOL3_VERSION=2.28.2
venv=target/bench/vol3venv
if [ ! -x "$venv/bin/vol" ]; then
  echo "bench: installing volatility3 $VOL3_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "volatility3==$VOL3_VERSION"
fi
cargo build --release --quiet -p memscope-cli
exec python3 benches/compare.py --memscope target/release/memscope --vol "$venv/bin/vol" "$@"
