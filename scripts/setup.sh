#!/usr/bin/env bash
# Installs what building, serving and testing memscope needs on a Debian 12 machine with rustup, and skips
# whatever is already there (one line per step). Safe to run again: with everything present it takes seconds.
#   chromium, zstd, tshark (apt) | wasm32-unknown-unknown (rustup) | trunk | wasm-bindgen-cli (= Cargo.lock's
#   wasm-bindgen) | node_modules from package-lock.json (binaryen's wasm-opt, playwright-core) | avml |
#   Volatility 3 (pip), which must accept the ISF `memscope symbols export` writes
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

TRUNK_VERSION=0.21.14
VOLATILITY_VERSION=2.28.2
APT_PACKAGES=(chromium zstd tshark)

say() { printf 'setup: %-16s %s\n' "$1" "$2"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# --- apt packages (and node/npm if this machine has none) ---
need_apt=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need_apt+=("$pkg")
done
command -v node >/dev/null && command -v npm >/dev/null || need_apt+=(nodejs npm)
if ((${#need_apt[@]})); then
  command -v apt-get >/dev/null || die "apt-get not found; install ${need_apt[*]} by hand"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  say apt "installing ${need_apt[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${need_apt[@]}" >/dev/null
else
  say apt "${APT_PACKAGES[*]} present"
fi
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium missing after apt-get install chromium"
command -v tshark >/dev/null || die "tshark missing after apt-get install tshark"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "node $(node --version) is too old: playwright-core needs node 20 or newer"

# --- Rust target for the page and for the core's no-I/O check ---
command -v rustup >/dev/null || die "rustup not found; install Rust with rustup first"
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say wasm32 "target present"
else
  say wasm32 "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# --- trunk ---
if [ "$(trunk --version 2>/dev/null || true)" = "trunk $TRUNK_VERSION" ]; then
  say trunk "$TRUNK_VERSION present"
else
  say trunk "cargo install trunk $TRUNK_VERSION (about 10 minutes)"
  cargo install trunk --version "$TRUNK_VERSION" --locked --force --quiet
fi

# --- wasm-bindgen-cli: exactly the wasm-bindgen crate version in Cargo.lock ---
wbg_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[ -n "$wbg_version" ] || die "no wasm-bindgen package in Cargo.lock (is crate-web in the workspace?)"
grep -q "wasm_bindgen = \"$wbg_version\"" Trunk.toml ||
  die "Trunk.toml [tools] wasm_bindgen differs from Cargo.lock's wasm-bindgen $wbg_version; update Trunk.toml"
if [ "$(wasm-bindgen --version 2>/dev/null || true)" = "wasm-bindgen $wbg_version" ]; then
  say wasm-bindgen "$wbg_version present"
else
  say wasm-bindgen "cargo install wasm-bindgen-cli $wbg_version (about 5 minutes)"
  cargo install wasm-bindgen-cli --version "$wbg_version" --force --quiet
fi

# --- npm tools, pinned by package-lock.json, into ./node_modules ---
npm_ok=1
for dep in binaryen playwright-core; do
  want=$(node -p "require('./package-lock.json').packages['node_modules/$dep'].version")
  have=$(node -p "try { require('./node_modules/$dep/package.json').version } catch { '' }")
  [ "$want" = "$have" ] || npm_ok=0
done
if [ "$npm_ok" = 1 ]; then
  say npm "binaryen, playwright-core present"
else
  say npm "npm ci (binaryen, playwright-core)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
wasm_opt_version=$(sed -n 's/^wasm_opt = "\(.*\)"$/\1/p' Trunk.toml)
have_wasm_opt=$(wasm-opt --version 2>/dev/null | sed -n 's/.*(\(version_[0-9]*\)).*/\1/p' || true)
[ "$have_wasm_opt" = "$wasm_opt_version" ] ||
  die "wasm-opt on PATH is '${have_wasm_opt:-missing}', Trunk.toml wants $wasm_opt_version"

# --- avml, to make AVML (compressed LiME) test files: `avml convert` ---
if avml convert --help >/dev/null 2>&1; then
  say avml "$(avml --version) present"
else
  say avml "cargo install avml --no-default-features --features convert (a few minutes)"
  cargo install avml --no-default-features --features convert --force --quiet
fi

# --- Volatility 3, the peer whose ISF format `memscope symbols export` writes (a test runs it) ---
if [ "$(python3 -c 'import volatility3.framework as f; print(f.constants.PACKAGE_VERSION)' 2>/dev/null || true)" = "$VOLATILITY_VERSION" ]; then
  say volatility3 "$VOLATILITY_VERSION present"
else
  say volatility3 "pip install volatility3==$VOLATILITY_VERSION"
  python3 -m pip install --quiet --disable-pip-version-check "volatility3==$VOLATILITY_VERSION"
fi
command -v vol >/dev/null || die "vol (Volatility 3) not on PATH after pip install"

# --- crates for every target, so the offline builds (trunk --offline) find them ---
if cargo fetch --quiet --offline >/dev/null 2>&1; then
  say crates "all in cargo's cache"
else
  say crates "cargo fetch"
  cargo fetch --quiet
fi
