#!/usr/bin/env bash
# Soak test of server moves (issue 11 "Benchmarks"): CONNS connections, a
# rotation every second, DURATION seconds; no byte lost, no connection
# lost, RSS at the start and the end. Not part of make check.
#
# SIMULATOR, NOT REAL SOCKETS. tern-client opens one connection per
# process (it has no --connections option), so 1,000 connections would be
# 1,000 processes, each with its own TLS stack and event loop, against one
# tern-server, on a 2-core machine shared with other work: too heavy to say
# anything about the server. This script therefore runs the same library
# (client and server endpoints, the rotate policy driven by the endpoint's
# timer) in the deterministic simulator: `bench_moves --soak`, one process,
# 20 ms RTT, 1 Gbit/s links, a pool of 6 server addresses, rotation every
# 1 s ± 200 ms, each connection an endless server -> client stream capped at
# RATE bytes/s whose every byte is checked against its pattern. DURATION is
# simulated time (it runs faster or slower than real time depending on
# CONNS and RATE). The real-socket rotation path (tern-server --rotate 1
# --pool ..., tern-client following) is covered by tests/tools/server_rotates.sh
# and make demo, with one client.
#
# Environment (defaults in brackets):
#   CONNS     connections [1000]
#   DURATION  simulated seconds [600] (not SECONDS: bash's own counter)
#   RATE      bytes per second per connection [10000]
#   SEED      simulator seed [1]
#   BUILD     build directory with bench/bench_moves [build]; built if missing
#
# Prints a line every 60 simulated seconds (moves, bytes, RSS, CPU) and a
# final line ending in OK or FAILED; exit status 0 only when every
# connection is alive, none stalled and no byte was corrupt or missing.
# Example: CONNS=50 DURATION=60 scripts/soak.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
CONNS=${CONNS:-1000}
DURATION=${DURATION:-600}
RATE=${RATE:-10000}
SEED=${SEED:-1}
BUILD=${BUILD:-$here/build}
bin=$BUILD/bench/bench_moves
if [ ! -x "$bin" ]; then
  cmake -S "$here" -B "$BUILD" >/dev/null
  cmake --build "$BUILD" -j2 --target bench_moves >/dev/null
fi
echo "soak: CONNS=$CONNS DURATION=$DURATION (simulated s) RATE=$RATE B/s SEED=$SEED ($bin, simulator)"
start=$(date +%s)
status=0
"$bin" --seed "$SEED" --soak "$CONNS" "$DURATION" "$RATE" || status=$?
echo "soak: wall time $(( $(date +%s) - start )) s, exit status $status"
exit "$status"
