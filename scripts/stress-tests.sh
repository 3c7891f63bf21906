#!/usr/bin/env bash
# Runs the real-socket tests (ctest labels interop, tools, io, browser and examples) many
# times in a row, first on the machine as it is ("idle"), then with every
# core kept busy by a CPU hog ("loaded"), and prints, per test, how many runs
# failed in each mode. A test that passes only at one machine speed shows up
# here. Exit status 0 only when no run failed.
#
# Usage: scripts/stress-tests.sh [BUILD_DIR]
#   RUNS=20          runs per mode
#   LABELS='interop|tools|io|browser|examples'   ctest -L regex (the real-socket tests)
#   JOBS=2           ctest -j (make check uses 2)
#   MODES='idle loaded'
#   LOGDIR=DIR       keep the output of failed runs (default: a temp dir, kept
#                    only when something failed)
set -u
BUILD=${1:-build}
RUNS=${RUNS:-20}
LABELS=${LABELS:-interop|tools|io|browser|examples}
JOBS=${JOBS:-2}
MODES=${MODES:-idle loaded}
[ -f "$BUILD/CTestTestfile.cmake" ] || { echo "stress-tests: $BUILD is not a build directory (run make)" >&2; exit 2; }
LOGDIR=${LOGDIR:-$(mktemp -d "${TMPDIR:-/tmp}/tern-stress-XXXXXX")}
mkdir -p "$LOGDIR"

HOGS=()
stop_hogs() {
    for p in "${HOGS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${HOGS[@]}"; do wait "$p" 2>/dev/null; done
    HOGS=()
}
trap stop_hogs EXIT
start_hogs() {
    local n
    n=$(nproc)
    for _ in $(seq "$n"); do
        (while :; do :; done) &
        HOGS+=($!)
    done
}

declare -A FAILS
TESTS=$(cd "$BUILD" && ctest -N -L "$LABELS" | sed -n 's/^ *Test *#[0-9]*: //p')
[ -n "$TESTS" ] || { echo "stress-tests: no test matches -L '$LABELS'" >&2; exit 2; }
total_fail=0
for mode in $MODES; do
    [ "$mode" = loaded ] && start_hogs
    t0=$(date +%s)
    for i in $(seq "$RUNS"); do
        out="$LOGDIR/$mode-$i.log"
        if (cd "$BUILD" && ctest -j"$JOBS" -L "$LABELS" --output-on-failure) > "$out" 2>&1; then
            rm -f "$out"
            printf '.'
        else
            printf 'F'
            total_fail=$((total_fail + 1))
            while read -r name; do
                FAILS[$mode/$name]=$(( ${FAILS[$mode/$name]:-0} + 1 ))
            done < <(sed -n 's/^[[:space:]]*[0-9]* - \([^ ]*\) (.*)$/\1/p' "$out")
        fi
    done
    printf ' %s: %d runs in %d s\n' "$mode" "$RUNS" $(($(date +%s) - t0))
    [ "$mode" = loaded ] && stop_hogs
done

printf '\n%-45s' "test (failed runs of $RUNS)"
for mode in $MODES; do printf ' %7s' "$mode"; done
printf '\n'
for t in $TESTS; do
    printf '%-45s' "$t"
    for mode in $MODES; do printf ' %7s' "${FAILS[$mode/$t]:-0}"; done
    printf '\n'
done
if [ "$total_fail" -gt 0 ]; then
    echo "stress-tests: $total_fail failed run(s); logs in $LOGDIR"
    exit 1
fi
rm -rf "$LOGDIR"
echo "stress-tests: every run passed"
