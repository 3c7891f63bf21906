#!/bin/bash
# tern-server --drain-after/--drain-to/--drain-deadline (graceful failover,
# draft-saa-ali-quic use cases): during two 40 MB downloads paced at
# 40 Mbit/s (8 s), the server drains: the client that offered
# enable_server_migration moves to the drain target and completes intact;
# the one that did not gets GOAWAY and is closed at the deadline with
# "server draining"; a new client during the drain is refused at once
# (CONNECTION_REFUSED); the drained address's socket is closed once nothing
# uses it. Then --balance moves half of four connections.
BIN=$1
. "$(dirname "$0")/lib.sh"
mkdir "$WORK/root"
make_file "$WORK/root/f" 40
start_tern_server "$WORK/root" --max-rate 40 --drain-after 4 --drain-to 127.0.0.2:0 --drain-deadline 2
TARGET=$(sed -n 's/^tern-server: listening on \(127\.0\.0\.2:[0-9]*\) (drain target)$/\1/p' "$SRV_LOG")
[ -n "$TARGET" ] || { cat "$SRV_LOG" >&2; fail "no drain target line"; }
URL="https://127.0.0.1:$PORT/f"
"$CLIENT" --insecure --json --output "$WORK/a" "$URL" > "$WORK/a.json" 2> "$WORK/a.log" &
A=$!
"$CLIENT" --insecure --json --server-migration off --output "$WORK/b" "$URL" > "$WORK/b.json" 2> "$WORK/b.log" &
B=$!
PIDS+=($A $B)
wait_log "conn 2: handshake done" || fail "clients did not connect"
! grep -q "draining to" "$SRV_LOG" || fail "the drain started before both clients connected (machine too slow for this test)"
wait_log "draining to $TARGET" || { cat "$SRV_LOG" >&2; fail "the drain did not start"; }
# A new client now: refused at once, not left to time out.
start=$(date +%s%N)
"$CLIENT" --insecure --timeout 10 "https://127.0.0.1:$PORT/f" > /dev/null 2> "$WORK/c.log"
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
[ $rc = 3 ] || { cat "$WORK/c.log" >&2; fail "new client during the drain: exit status $rc, want 3"; }
grep -q "CONNECTION_REFUSED" "$WORK/c.log" || { cat "$WORK/c.log" >&2; fail "new client: no CONNECTION_REFUSED"; }
[ $ms -lt 5000 ] || fail "new client refused only after $ms ms"
ok "a new client during the drain is refused with CONNECTION_REFUSED in $ms ms"
wait $A || { cat "$WORK/a.log" >&2; fail "client A: exit status $?"; }
same_file "$WORK/root/f" "$WORK/a" "drained client A"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["path_remote"]==sys.argv[2] and d["migrations"]>=1, d' \
    "$WORK/a.json" "$TARGET" || fail "client A did not end on $TARGET"
ok "client A (SAA) moved to $TARGET during the drain, 40 MB intact"
wait $B
rc=$?
[ $rc = 3 ] || { cat "$WORK/b.log" >&2; fail "client B: exit status $rc, want 3 (closed by the drain)"; }
grep -q "server draining" "$WORK/b.log" || { cat "$WORK/b.log" >&2; fail "client B: no 'server draining' reason"; }
grep -Eq "conn [12]: GOAWAY" "$SRV_LOG" || fail "no GOAWAY line"
grep -Eq "conn [12]: closed at the drain deadline" "$SRV_LOG" || fail "no deadline close line"
ok "client B (no SAA) got GOAWAY, was closed at the deadline with 'server draining'"
wait_log "drain done: 1 moved, 0 failed, 1 closed" || { cat "$SRV_LOG" >&2; fail "no drain done line"; }
wait_log "address 127.0.0.1:$PORT unused: socket closed" || { cat "$SRV_LOG" >&2; fail "drained socket not closed"; }
ok "drain done (1 moved, 1 closed); the drained address's socket closed"
kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null

# --balance 0.5 of 4 connections at --balance-after 1.
start_tern_server "$WORK/root" --max-rate 40 --balance 0.5 --balance-to 127.0.0.3:0 --balance-after 2
BT=$(sed -n 's/^tern-server: listening on \(127\.0\.0\.3:[0-9]*\) (balance target)$/\1/p' "$SRV_LOG")
[ -n "$BT" ] || { cat "$SRV_LOG" >&2; fail "no balance target line"; }
CL=()
for i in 1 2 3 4; do
    "$CLIENT" --insecure --json --output "$WORK/g$i" "https://127.0.0.1:$PORT/f" > "$WORK/g$i.json" 2> "$WORK/g$i.log" &
    CL+=($!)
    PIDS+=($!)
done
wait_log "conn 4: handshake done" || fail "4 clients did not connect"
! grep -q "balancing" "$SRV_LOG" || fail "the balance started before the clients connected (machine too slow)"
for i in 1 2 3 4; do
    wait "${CL[$((i - 1))]}" || { cat "$WORK/g$i.log" >&2; fail "balance client $i: exit status $?"; }
    same_file "$WORK/root/f" "$WORK/g$i" "balance client $i"
done
moved=$(for i in 1 2 3 4; do python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["path_remote"])' "$WORK/g$i.json"; done | grep -c "^$BT$")
[ "$moved" = 2 ] || { cat "$SRV_LOG" >&2; fail "$moved of 4 clients ended on $BT, want 2"; }
[ "$(grep -c "balancing to $BT" "$SRV_LOG")" = 2 ] || fail "not 2 balance decisions"
ok "--balance 0.5: 2 of 4 clients moved to $BT, all 40 MB intact"

for bad in "--drain-after 1" "--drain-to 127.0.0.2:0" "--drain-after x --drain-to 127.0.0.2:0" \
    "--balance 2 --balance-to 127.0.0.3:0" "--balance 0.5" "--rotate 1 --prefix 10.1.2.3/8:0" \
    "--rotate 1 --pool 127.0.0.2-127.0.0.3:0 --prefix 10.0.0.0/8:0" "--alt 127.0.0.2:0 --rotate 1 --pool 127.0.0.3-127.0.0.4:0" \
    "--alt 10.1.1.1:443 --no-advertise 10.0.0.0/8" "--no-advertise 10.1.2.3/8" "--rotate-jitter 0.5" \
    "--rotate 0.5 --rotate-jitter 0.5 --pool 127.0.0.2-127.0.0.3:0" "--balance-rate 5"; do
    # shellcheck disable=SC2086
    "$SERVER" --listen 127.0.0.1:0 --root "$WORK/root" $bad 2> "$WORK/err"
    rc=$?
    [ $rc = 2 ] || fail "$bad: exit status $rc"
    [ "$(wc -l < "$WORK/err")" = 1 ] || fail "$bad: $(cat "$WORK/err")"
done
ok "bad drain/balance/prefix/no-advertise options: one line, exit status 2"
