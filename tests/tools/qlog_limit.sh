#!/bin/bash
# tern-server --qlog-dir under a flood: at most --qlog-max-open trace files
# are open at once; connections beyond are not traced, with one log line
# when that starts and one when tracing resumes; the server's descriptors
# stay bounded and, after the flood's half-open connections time out, a
# legitimate download is served and traced again.
# Usage: qlog_limit.sh BIN
BIN=$1
. "$(dirname "$0")/lib.sh"
FLOOD=$BIN/tern-flood
mkdir "$WORK/root"
echo hello > "$WORK/root/hello.txt"
fds() { ls "/proc/$SRV_PID/fd" | wc -l; }
stats_now() { grep "stats:" "$SRV_LOG" | tail -1 | grep -q -- "$1"; }
start_tern_server "$WORK/root" --quiet --stats 0.1 --qlog-dir "$WORK/q" --qlog-max-open 8 --handshake-timeout 1
wait_log "stats: 0 connections" || fail "no stats line"
FD0=$(fds)
"$FLOOD" --target "127.0.0.1:$PORT" --count 300 --rate 3000 --linger 100 > "$WORK/flood" 2>&1 || fail "tern-flood failed"
wait_until "the flood's connections to exist" stats_now "stats: [1-9][0-9]* connections"
FD1=$(fds)
N1=$(ls "$WORK/q" | wc -l)
[ "$N1" -le 8 ] || fail "$N1 trace files with --qlog-max-open 8"
[ "$FD1" -le $((FD0 + 8)) ] || fail "descriptors: $FD0 before the flood, $FD1 during it"
wait_log "qlog: 8 trace files open, the limit: new connections are not traced until one closes" \
    || fail "no log line for the limit"
[ "$(grep -c "the limit: new connections are not traced" "$SRV_LOG")" = 1 ] || fail "more than one limit line"
wait_until "the half-open connections to time out" stats_now "stats: 0 connections, 0 handshakes"
wait_log "qlog: tracing new connections again ([0-9]* not traced" || fail "no log line when tracing resumed"
timeout 20 "$CLIENT" --insecure --quiet --output "$WORK/got" "https://127.0.0.1:$PORT/hello.txt" \
    || fail "download after the flood: exit status $?"
same_file "$WORK/root/hello.txt" "$WORK/got" "download after the flood"
wait_until "its trace file" test "$(ls "$WORK/q" | wc -l)" -eq $((N1 + 1))
ok "300 Initials: $N1 traces, descriptors $FD0 -> $FD1; $(grep "tracing new connections again" "$SRV_LOG" | sed 's/^tern-server: //')"
