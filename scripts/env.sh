# Sourced by the other scripts (run from the repository root): puts cargo-installed tools and the
# repo-local npm tools (wasm-opt from binaryen, playwright-core) on PATH.
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PWD/node_modules/.bin:$PATH"
