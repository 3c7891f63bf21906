#!/bin/bash
# Drain of 200 concurrent connections (issue 11, "Tests"): tern-load opens
# 200 connections to tern-server, 100 offering enable_server_migration and
# 100 not, each downloading /bytes/800000 paced at 0.8 Mbit/s per path (8 s
# a request; offering ones do 2 in sequence, the others 1). 5 s after its
# start, once every handshake is done, the server drains to 127.0.0.2:
# every offering connection moves there and completes; the others get
# GOAWAY and finish their request long before the 20 s deadline; no request
# fails; the drained address's socket is closed. The server log is
# timestamped (CLOCK_MONOTONIC, as tern-load's --json) to measure the time
# from the drain's start to the last connection on the target.
BIN=$1
. "$(dirname "$0")/lib.sh"
LOAD=$BIN/tern-load
N=200
HALF=100
DRAIN_AFTER=5
DEADLINE=20
SIZE=800000
mkdir "$WORK/root"

# tern-server, its output written as is to SRV_LOG and with a
# CLOCK_MONOTONIC stamp (ns) per line to SRV_LOG.ts.
SRV_LOG=$WORK/server.log
STAMP='import sys, time
plain, stamped = open(sys.argv[1], "w"), open(sys.argv[2], "w")
for line in sys.stdin:
    t = time.monotonic_ns()
    plain.write(line); plain.flush()
    stamped.write("%d %s" % (t, line)); stamped.flush()'
TMPDIR=$WORK "$SERVER" --listen 127.0.0.1:0 --root "$WORK/root" --max-rate 0.8 \
    --drain-after $DRAIN_AFTER --drain-to 127.0.0.2:0 --drain-deadline $DEADLINE \
    > >(python3 -u -c "$STAMP" "$SRV_LOG" "$SRV_LOG.ts") 2>&1 &
SRV_PID=$!
PIDS+=($SRV_PID)
wait_log "^tern-server: listening on 127\.0\.0\.1:[0-9]*$" || { cat "$SRV_LOG" >&2; fail "tern-server did not start"; }
PORT=$(sed -n 's/^tern-server: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$SRV_LOG" | head -1)
TARGET=$(sed -n 's/^tern-server: listening on \(127\.0\.0\.2:[0-9]*\) (drain target)$/\1/p' "$SRV_LOG")
[ -n "$TARGET" ] || { cat "$SRV_LOG" >&2; fail "no drain target line"; }

"$LOAD" --insecure --json --connections $N --saa-share 0.5 --requests 2 --requests-no-saa 1 --timeout 45 \
    "https://127.0.0.1:$PORT/bytes/$SIZE" > "$WORK/load.json" 2> "$WORK/load.log" &
LOAD_PID=$!
PIDS+=($LOAD_PID)

# The drain must start while all 200 are connected: the 200th "handshake
# done" line comes before "draining to" in the server log.
wait_log "draining to $TARGET" || { tail -5 "$SRV_LOG" >&2; fail "the drain did not start"; }
hs_line=$(grep -n "^tern-server: conn [0-9]*: handshake done" "$SRV_LOG" | sed -n "${N}p" | cut -d: -f1)
drain_line=$(grep -n "^tern-server: draining to" "$SRV_LOG" | head -1 | cut -d: -f1)
if [ -z "$hs_line" ] || [ "$hs_line" -gt "$drain_line" ]; then
    k=$(head -n "$drain_line" "$SRV_LOG" | grep -c "handshake done")
    fail "the drain started ${DRAIN_AFTER} s after the server, when only $k of $N handshakes were done (machine too slow for this test)"
fi
ok "all $N handshakes done before the drain started"

wait $LOAD_PID
rc=$?
[ $rc = 0 ] || { grep -v "0 failed" "$WORK/load.log" | tail -20 >&2; fail "tern-load: exit status $rc"; }
grep "^tern-load: [0-9]* connections (" "$WORK/load.log"; grep "^tern-load: first move order" "$WORK/load.log"
drain_ns=$(grep " tern-server: draining to" "$SRV_LOG.ts" | head -1 | cut -d' ' -f1)
python3 - "$WORK/load.json" "$TARGET" "127.0.0.1:$PORT" "$drain_ns" "$DEADLINE" "$HALF" <<'EOF' || fail "tern-load report"
import json, sys
d = json.load(open(sys.argv[1]))
target, home, drain_ns, deadline, half = sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
bad = []
assert d["ok"] and d["requests_failed"] == 0, "requests failed: %d" % d["requests_failed"]
saa = [c for c in d["conns"] if c["saa_offered"]]
other = [c for c in d["conns"] if not c["saa_offered"]]
assert len(saa) == half and len(other) == half, (len(saa), len(other))
for c in saa:
    if not (c["saa_negotiated"] and c["moved"] and c["final_server"] == target and c["requests_ok"] == 2):
        bad.append("SAA conn %d: negotiated %s, moved %s, final %s, %d/2 ok" % (
            c["id"], c["saa_negotiated"], c["moved"], c["final_server"], c["requests_ok"]))
    elif c["moved_mono_ns"] < drain_ns:
        bad.append("SAA conn %d moved before the drain" % c["id"])
end_limit = drain_ns + deadline * 1e9
for c in other:
    end_ns = d["t0_mono_ns"] + c["end_ms"] * 1e6
    if c["saa_negotiated"] or c["moved"] or c["final_server"] != home or c["requests_ok"] != 1:
        bad.append("conn %d (no SAA): negotiated %s, moved %s, final %s, %d/1 ok" % (
            c["id"], c["saa_negotiated"], c["moved"], c["final_server"], c["requests_ok"]))
    elif end_ns > end_limit:
        bad.append("conn %d (no SAA) finished %.1f s after the deadline" % (c["id"], (end_ns - end_limit) / 1e9))
    elif end_ns < drain_ns:
        bad.append("conn %d (no SAA) finished before the drain: nothing tested" % c["id"])
if bad:
    print("\n".join(bad[:20]), file=sys.stderr)
    sys.exit(1)
last = (d["last_move_mono_ns"] - drain_ns) / 1e6
first = min(c["moved_mono_ns"] for c in saa)
last_other = max(d["t0_mono_ns"] + c["end_ms"] * 1e6 for c in other)
told = sorted(d["t0_mono_ns"] + c["told_ms"] * 1e6 for c in saa)
print("ok: %d SAA connections moved to %s and completed 2 requests each: told to move (SERVER_ALTERNATE_ADDRESS "
      "received) %.1f-%.1f ms, first on the target %.1f ms, last %.1f ms after the drain started" % (
      half, target, (told[0] - drain_ns) / 1e6, (told[-1] - drain_ns) / 1e6, (first - drain_ns) / 1e6, last))
print("ok: %d connections without SAA finished their request on %s, the last %.2f s after the drain started "
      "(deadline %g s)" % (half, home, (last_other - drain_ns) / 1e9, deadline))
EOF
[ "$(grep -c "^tern-server: conn [0-9]*: GOAWAY" "$SRV_LOG")" = $HALF ] || fail "not $HALF GOAWAY lines"
[ "$(grep -c "^tern-server: conn [0-9]*: draining to $TARGET" "$SRV_LOG")" = $HALF ] || fail "not $HALF drain decisions"
! grep -q "closed at the drain deadline" "$SRV_LOG" || fail "a connection was closed at the deadline"
ok "$HALF GOAWAY, $HALF drain decisions, none closed at the deadline"
wait_log "drain done: $HALF moved, 0 failed, [0-9]* closed" || { grep "drain done" "$SRV_LOG" >&2; fail "no 'drain done: $HALF moved, 0 failed' line"; }
wait_log "address 127.0.0.1:$PORT unused: socket closed" || fail "the drained address's socket was not closed"
ok "$(sed -n 's/^tern-server: \(drain done: .*\)/\1/p' "$SRV_LOG"); address 127.0.0.1:$PORT released"
