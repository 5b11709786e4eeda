#!/usr/bin/env bash
# memscope's whole test: tools (setup.sh), formatting, lints, the core's no-I/O wasm build, the Rust tests
# (release: they read the 384 MiB corpus captures in ../shared/corpus), the page build and the browser tests.
# Every step runs even after a failure (a step that needs a failed one is reported as failed too); a missing
# tool fails, nothing is skipped. Ends with one summary line per step and a count.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

results=()
failures=0
step() {
  local name=$1
  shift
  printf '\n==> %s: %s\n' "$name" "$*"
  local t0=$SECONDS rc=0
  "$@" || rc=$?
  local took=$((SECONDS - t0))
  if [ "$rc" -eq 0 ]; then
    results+=("$(printf 'ok      %4ss  %s' "$took" "$name")")
  else
    results+=("$(printf 'FAILED  %4ss  %s (exit %s)' "$took" "$name" "$rc")")
    failures=$((failures + 1))
  fi
  return "$rc"
}
not_run() {
  results+=("$(printf 'FAILED  %4s   %s (not run: %s)' - "$1" "$2")")
  failures=$((failures + 1))
}

step setup bash scripts/setup.sh || {
  echo "test: setup failed; nothing else can run" >&2
  exit 1
}
step fmt cargo fmt --all --check || true
step clippy cargo clippy --workspace --all-targets -- -D warnings || true
# The fuzz crate is outside the workspace (cargo-fuzz builds it with its own flags): linted here on its own.
step fuzz-fmt cargo fmt --manifest-path fuzz/Cargo.toml --check || true
step fuzz-clippy cargo clippy --manifest-path fuzz/Cargo.toml --target-dir target/fuzz --all-targets -- -D warnings || true
step core-wasm cargo build -p memscope-core --target wasm32-unknown-unknown || true
# Each corpus test appends how many checks it ran to a file of its own here (memscope_tests::checks; the
# browser tests add an `e2e` line, tests/e2e/capture.test.mjs).
export MEMSCOPE_CHECKS_DIR="$PWD/target/corpus-checks"
rm -rf "$MEMSCOPE_CHECKS_DIR"
step cargo-test cargo test --workspace --release --no-fail-fast || true
if step trunk-build trunk build --release --offline; then
  step e2e node tests/e2e/run.mjs || true
else
  not_run e2e "trunk build failed"
fi

printf '\n==> summary\n'
printf '%s\n' "${results[@]}"
total=${#results[@]}
printf 'steps: %s passed, %s failed\n' "$((total - failures))" "$failures"
# The checks the Rust corpus tests and the browser tests counted (one `test<TAB>N` line each).
corpus_checks=$(cat "$MEMSCOPE_CHECKS_DIR"/*.tsv 2>/dev/null | awk -F'\t' '{ n += $2 } END { print n + 0 }')
printf 'corpus checks: %s\n' "$corpus_checks"
if [ "$corpus_checks" -eq 0 ]; then
  echo "test: no corpus check ran" >&2
  failures=$((failures + 1))
fi
[ "$failures" -eq 0 ]
