#!/usr/bin/env bash
# Runs every libFuzzer target in DIR for SECONDS each, starting from the seed
# corpus kept in fuzz/corpus/<name>/. New inputs go to a scratch directory so
# the tree is not modified. Fails on any crash, leak, timeout or OOM.
set -euo pipefail
dir=${1:?usage: fuzz.sh BUILD_FUZZ_DIR SECONDS}
secs=${2:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
n=0
for f in "$dir"/fuzz_*; do
  [ -x "$f" ] || continue
  name=$(basename "$f"); name=${name#fuzz_}
  seeds="$root/fuzz/corpus/$name"
  mkdir -p "$scratch/$name" "$seeds"
  echo "fuzz: $name for ${secs}s"
  if ! "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$scratch/" -print_final_stats=0 \
        "$scratch/$name" "$seeds" >"$scratch/$name.log" 2>&1; then
    tail -50 "$scratch/$name.log"
    mkdir -p "$root/fuzz-artifacts"; cp "$scratch"/crash-* "$scratch"/leak-* "$scratch"/timeout-* "$scratch"/oom-* "$root/fuzz-artifacts/" 2>/dev/null || true
    echo "fuzz: $name FAILED (artifacts in fuzz-artifacts/)"
    exit 1
  fi
  grep -E '^#[0-9]+ *DONE' "$scratch/$name.log" || tail -1 "$scratch/$name.log"
  n=$((n+1))
done
[ "$n" -gt 0 ] || { echo "fuzz: no fuzz targets found in $dir"; exit 1; }
echo "fuzz: $n targets ran clean"
