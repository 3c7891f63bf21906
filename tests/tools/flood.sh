#!/bin/bash
# A flood of spoofed-looking client Initials against tern-server (issue 9):
# tern-flood sends N real Initials (distinct DCIDs and SCIDs, 1200 bytes,
# from 256 sources on 127.0.0.2-127.0.0.17) while a legitimate tern-client
# downloads a file. Checks: the download completes (sha256), tern-server's
# RSS grows by a bounded amount (--max-handshakes bounds the half-open
# connections, each ~43 KB), Retry is sent under pressure, the half-open
# connections are gone after the handshake timeout (stats line), a second
# flood reuses the freed memory (RSS does not ratchet up), nothing crashes.
# Usage: flood.sh BIN [N] [MAX_HANDSHAKES]   (default 2000 Initials, 500)
BIN=$1
N=${2:-2000}
MAXHS=${3:-500}
. "$(dirname "$0")/lib.sh"
FLOOD=$BIN/tern-flood
[ -x "$FLOOD" ] || fail "no $FLOOD"
# Under AddressSanitizer (redzones, a quarantine of freed memory) RSS says
# nothing about the allocator: the RSS bounds are skipped, the rest holds.
SANITIZED=0
grep -q __asan_init "$SERVER" && SANITIZED=1
mkdir "$WORK/root"
make_file "$WORK/root/file" 20
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$SRV_PID/status"; }
# stats_now PATTERN: the server's latest stats line matches PATTERN.
stats_now() { grep "stats:" "$SRV_LOG" | tail -1 | grep -q -- "$1"; }
start_tern_server "$WORK/root" --quiet --stats 0.1 --max-handshakes "$MAXHS" --handshake-timeout 2
U=https://127.0.0.1:$PORT
wait_log "stats: 0 connections" || fail "no stats line"
# Warm-up: one download, so that one-time allocations (TLS, caches) are
# made before the reference RSS.
"$CLIENT" --insecure --quiet --output "$WORK/warm" "$U/file" > /dev/null 2>&1 || fail "warm-up download failed"
same_file "$WORK/root/file" "$WORK/warm" "warm-up download"
wait_until "the warm-up connection to close" stats_now "stats: 0 connections"
RSS0=$(rss_kb)

# One flood with a download during it; prints the flood's summary.
flood_once() { # flood_once TAG
    local tag=$1
    "$FLOOD" --target "127.0.0.1:$PORT" --count "$N" --rate 2000 --linger 300 > "$WORK/flood.$tag" 2>&1 &
    local fpid=$!
    PIDS+=($fpid)
    wait_log "flood: started" "$WORK/flood.$tag" || fail "flood $tag did not start"
    timed "$CLIENT" --insecure --quiet --timeout 30 --output "$WORK/got.$tag" "$U/file" > /dev/null 2> "$WORK/client.$tag"
    local rc=$?
    [ $rc = 0 ] || { cat "$WORK/client.$tag" >&2; fail "download during flood $tag: exit status $rc"; }
    same_file "$WORK/root/file" "$WORK/got.$tag" "download during flood $tag"
    DL_S=$ELAPSED
    wait "$fpid" || fail "tern-flood $tag failed"
    kill -0 "$SRV_PID" 2>/dev/null || fail "tern-server died during flood $tag"
    grep "^flood: sent" "$WORK/flood.$tag" || fail "no flood summary"
    RETRIES=$(sed -n 's/.* \([0-9]*\) Retry,.*/\1/p' "$WORK/flood.$tag")
}

flood_once 1
RSS1=$(rss_kb)
[ "${RETRIES:-0}" -gt 0 ] || fail "flood 1: no Retry received under pressure"
stats_now "(0 under pressure)" && fail "server stats: no Retry under pressure"
# RSS growth bound: MAXHS half-open connections at ~43 KB (heap), plus the
# download's buffers and malloc overhead; 64 MB is ~3x what it takes.
GROWTH=$(( (RSS1 - RSS0) / 1024 ))
[ "$GROWTH" -le 64 ] || [ $SANITIZED = 1 ] || fail "flood 1: RSS grew by $GROWTH MB (from $RSS0 kB to $RSS1 kB)"
# The handshake timeout (2 s) frees every half-open connection.
wait_until "the half-open connections to time out" stats_now "stats: 0 connections, 0 handshakes"
RSS2=$(rss_kb)

flood_once 2
wait_until "the second flood's half-open connections to go" stats_now "stats: 0 connections, 0 handshakes"
RSS3=$(rss_kb)
# Memory freed after the first flood is reused by the second one: no
# ratchet (the issue saw 852, 897, 1188, 1282 MB over repeated floods).
[ "$RSS3" -le $((RSS1 + RSS1 / 4 + 4096)) ] || [ $SANITIZED = 1 ] || fail "second flood: RSS $RSS3 kB after, $RSS1 kB after the first"
kill -0 "$SRV_PID" 2>/dev/null || fail "tern-server died"
ok "$N Initials x2 (max-handshakes $MAXHS): RSS $RSS0 kB before, $RSS1 kB after flood 1 (+$GROWTH MB)," \
   "$RSS2 kB after its half-open connections timed out, $RSS3 kB after flood 2; $RETRIES Retry in flood 2;" \
   "20 MB download during flood 2 in $DL_S s; $(grep stats: "$SRV_LOG" | tail -1 | sed 's/^tern-server: //')"
