#!/bin/bash
# tern-server --max-connections 1: while one connection is open, a second
# client is refused at once with CONNECTION_REFUSED (RFC 9000 §10.2.3) and
# says so, instead of waiting for its timeout; the server logs the limit.
# Usage: refuse.sh BIN
BIN=$1
. "$(dirname "$0")/lib.sh"
mkdir "$WORK/root"
echo hello > "$WORK/root/hello.txt"
# A pacing ceiling keeps the first download going while the second client
# tries (it is interrupted by the cleanup).
start_tern_server "$WORK/root" --max-connections 1 --max-rate 8
U=https://127.0.0.1:$PORT
"$CLIENT" --insecure --quiet --output "$WORK/big" "$U/bytes/100000000000" > /dev/null 2>&1 &
PIDS+=($!)
wait_log "conn 1: handshake done" || fail "first connection not established"
wait_log "refusing (CONNECTION_REFUSED) new connections (1 open)" || fail "no log line for the limit"
timed timeout 20 "$CLIENT" --insecure --timeout 15 "$U/hello.txt" > "$WORK/out" 2> "$WORK/err"
rc=$?
[ "$rc" = 3 ] || { cat "$WORK/err" >&2; fail "refused client: exit status $rc, want 3"; }
grep -q "closed by peer, CONNECTION_REFUSED: server at its connection limit" "$WORK/err" \
    || { cat "$WORK/err" >&2; fail "refused client: no CONNECTION_REFUSED line"; }
# Loopback RTT is well under a millisecond; 5 s leaves room for a loaded
# machine and is still far below the client's handshake deadline (10 s).
python3 -c "import sys; sys.exit(0 if $ELAPSED < 5 else 1)" || fail "refused client took $ELAPSED s"
grep -q "conn 2: new" "$SRV_LOG" && fail "the refused client got a connection"
ok "refused at the limit in ${ELAPSED}s: $(grep CONNECTION_REFUSED "$WORK/err" | head -1)"
