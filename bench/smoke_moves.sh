#!/usr/bin/env bash
# ctest smoke run of bench_moves --quick (label bench): the program runs,
# exits 0 (no data or connection lost, moves happened) and prints sane
# numbers. Not a check of the targets of issue 11: those are in
# docs/performance.md "Server moves".
# Usage: bench/smoke_moves.sh PATH/TO/bench_moves
set -euo pipefail
out=$("$1" --quick)
echo "$out"
fail() { echo "smoke_moves: $*" >&2; exit 1; }
# Move latency: a median between 0.5 and 10 RTT.
lat=$(echo "$out" | sed -n 's/^move latency, RTT 20 ms.*CONFIRMED): median \([0-9.]*\) RTT.*/\1/p')
[ -n "$lat" ] || fail "no move latency line"
awk -v v="$lat" 'BEGIN { exit !(v > 0.5 && v < 10) }' || fail "move latency $lat RTT not sane"
# Goodput: steady state above 50 Mbit/s; rotation every 1 s between 10 and 110 % of it.
for q in "queue 250 KB per link" "unlimited queue"; do
  st=$(echo "$out" | sed -n "s/^goodput \[$q\] steady state.*warm-up): \([0-9.]*\) Mbit.*/\1/p")
  [ -n "$st" ] || fail "no steady-state line ($q)"
  awk -v v="$st" 'BEGIN { exit !(v > 50 && v <= 100) }' || fail "steady state $st Mbit/s not sane"
  pc=$(echo "$out" | sed -n "s/^goodput \[$q\] rotation every 1000 ms: [0-9]* moves | overall [0-9.]* Mbit\/s = \([0-9.]*\) %.*/\1/p")
  [ -n "$pc" ] || fail "no 1 s rotation line ($q)"
  awk -v v="$pc" 'BEGIN { exit !(v > 10 && v < 110) }' || fail "goodput $pc % not sane"
done
# Drain: every connection confirmed, some time under 5 s, no connection closed.
echo "$out" | grep -q '^drain of 200 idle connections.*(200 of 200 confirmed, 0 failed' || fail "drain line"
echo "$out" | grep -q '| 0 connections closed' || fail "connections closed in the drain"
echo "smoke_moves: ok"
