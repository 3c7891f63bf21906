#!/usr/bin/env bash
# Runs the micro-benchmarks of a build directory and prints their numbers.
# Usage: bench/run.sh [BUILD_DIR]   (make bench does this on build/)
set -euo pipefail
build=${1:-build}
ran=0
for b in "$build"/bench/bench_*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b"
  ran=$((ran+1))
done
[ "$ran" -gt 0 ] || { echo "no benchmarks in $build/bench"; exit 1; }
