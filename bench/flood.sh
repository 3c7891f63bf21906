#!/bin/bash
# Flood figures for docs/performance.md ("Under a flood"): a server on
# 127.0.0.1, a warm-up download, then N Initials from tern-flood (256
# sources, RATE per second) with a SIZE_MB download started as the flood
# starts. Prints the server's RSS before, after the flood, and once its
# half-open connections are gone (tern-server: its stats line; gtlsserver:
# after WAIT_S seconds), and the download's goodput during the flood next
# to a baseline download with no flood. Not a test: numbers only.
# Usage: bench/flood.sh BUILD_DIR [tern|gtlsserver] [N] [RATE]
#        SIZE_MB=50 WAIT_S=35 bash bench/flood.sh build tern 10000 5000
BUILD=${1:-build}
STACK=${2:-tern}
N=${3:-10000}
RATE=${4:-5000}
SIZE_MB=${SIZE_MB:-50}
WAIT_S=${WAIT_S:-35}
BIN=$BUILD/tools
. "$(dirname "$0")/../tests/tools/lib.sh"
FLOOD=$BIN/tern-flood
mkdir "$WORK/root"
make_file "$WORK/root/file" "$SIZE_MB"
sha "$WORK/root/file" > /dev/null
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
stats_now() { grep "stats:" "$SRV_LOG" | tail -1 | grep -q -- "$1"; }
if [ "$STACK" = tern ]; then
    start_tern_server "$WORK/root" --quiet --stats 0.1 ${SERVER_ARGS:-}
    PID=$SRV_PID
else
    make_cert
    start_gtlsserver_bg "$WORK/gs.log" -q -d "$WORK/root"
    PID=$GS_PID
fi
U=https://127.0.0.1:$PORT/file
get() { # get TAG: downloads U, checks it, prints Mbit/s
    local t0 t1
    t0=$(date +%s.%N)
    "$CLIENT" --insecure --quiet --timeout 60 --output "$WORK/got.$1" "$U" > /dev/null 2> "$WORK/client.$1" \
        || { cat "$WORK/client.$1" >&2; fail "download $1"; }
    t1=$(date +%s.%N)
    same_file "$WORK/root/file" "$WORK/got.$1" "download $1"
    python3 -c "print(round($SIZE_MB * 8 / ($t1 - $t0), 1))"
}
get warm > /dev/null
BASE=$(get base)
sleep 1
R0=$(rss_kb "$PID")
"$FLOOD" --target "127.0.0.1:$PORT" --count "$N" --rate "$RATE" --linger 500 > "$WORK/flood" 2>&1 &
FPID=$!
PIDS+=($FPID)
wait_log "flood: started" "$WORK/flood" || fail "flood did not start"
DURING=$(get during)
wait "$FPID"
R1=$(rss_kb "$PID")
if [ "$STACK" = tern ]; then
    wait_until "the half-open connections to go" stats_now "stats: 0 connections, 0 handshakes"
    sleep 0.5
else
    sleep "$WAIT_S"
fi
R2=$(rss_kb "$PID")
echo "$STACK: $(grep '^flood: sent' "$WORK/flood")"
[ "$STACK" = tern ] && grep "stats:" "$SRV_LOG" | sed -n '$p'
echo "$STACK: RSS before $R0 kB, after the flood $R1 kB (+$(( (R1 - R0) / 1024 )) MB), after the half-open" \
     "connections went $R2 kB ($(python3 -c "print(round($R2 / $R0, 2))")x before)"
echo "$STACK: $SIZE_MB MB download: baseline $BASE Mbit/s, during the flood $DURING Mbit/s" \
     "($(python3 -c "print(round(100 * $DURING / $BASE))") %)"
