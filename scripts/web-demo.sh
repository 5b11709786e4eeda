#!/usr/bin/env bash
# trunk post_build hook (Trunk.toml): the demo capture that "Open demo capture" opens, in the staging
# dist/demo/: the corpus's 6.1 capture trimmed by `memscope trim` to the pages the analyses read (under
# 64 MiB, so a plain static host can serve it), and demo.json naming it. Where the corpus is absent the
# site ships no demo and the page shows no button. The trimmed capture is kept in target/demo/ and made
# again when the corpus capture or the CLI is newer.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${TRUNK_STAGING_DIR:?run by trunk as a post_build hook}/demo"
name=deb12-6.1-docker
src=../shared/corpus/$name/capture.lime.zst
if [ ! -f "$src" ]; then
  echo "web-demo: $src is missing: the site ships no demo capture"
  exit 0
fi
cargo build --offline --release -q -p memscope-cli
cli=target/release/memscope
trimmed=target/demo/$name.trimmed.lime
if [ -f "$trimmed" ] && ! [ "$src" -nt "$trimmed" ] && ! [ "$cli" -nt "$trimmed" ]; then
  echo "web-demo: trimmed demo capture up to date: $trimmed"
else
  mkdir -p target/demo
  full=target/corpus-cache/$name/capture.lime
  if [ ! -f "$full" ]; then
    full=target/demo/$name.lime
    zstd -d --long=27 -q -f "$src" -o "$full"
  fi
  "$cli" trim "$full" --out "$trimmed.part"
  mv "$trimmed.part" "$trimmed"
fi
mkdir -p "$out"
ln -f "$trimmed" "$out/$name.lime" 2>/dev/null || cp -f "$trimmed" "$out/$name.lime"
printf '{"file": "%s.lime", "title": "%s, trimmed to the pages the analyses read"}\n' "$name" "$name" >"$out/demo.json"
