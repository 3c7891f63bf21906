#!/bin/bash
# tern-server --rotate/--pool: every 0.1 s the server moves its client to the
# next address of 127.0.0.2-127.0.0.5 (draft-saa-ali-quic) during a 40 MB
# download paced at 200 Mbit/s (1.6 s on any machine, so the moves cannot be
# outrun); a client that did not offer is never rotated.
BIN=$1
. "$(dirname "$0")/lib.sh"
mkdir "$WORK/root"
make_file "$WORK/root/f" 40
start_tern_server "$WORK/root" --rotate 0.1 --pool 127.0.0.2-127.0.0.5:0 --max-rate 200
[ "$(grep -c '(rotation pool)$' "$SRV_LOG")" = 4 ] || { cat "$SRV_LOG" >&2; fail "not listening on the 4 pool addresses"; }
timeout 30 "$CLIENT" --insecure --json --output "$WORK/got" "https://127.0.0.1:$PORT/f" > "$WORK/s.json" \
    2> "$WORK/c.log" || { cat "$WORK/c.log" >&2; fail "exit status $?"; }
same_file "$WORK/root/f" "$WORK/got" "rotation"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["migrations"]>=5 and d["path_remote"].startswith("127.0.0.") and not d["path_remote"].startswith("127.0.0.1:") and d["packets_undecryptable"]==0, d' \
    "$WORK/s.json" || { tail -20 "$WORK/c.log" "$SRV_LOG" >&2; fail "fewer than 5 moves"; }
wait_log "conn 1: closed"
n=$(grep -c "conn 1: rotating to 127.0.0.[2-5]:" "$SRV_LOG")
[ "$n" -ge 5 ] || fail "only $n rotations logged"
moves=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["migrations"])' "$WORK/s.json")
ok "40 MB with the server rotating every 0.1 s: $n advertisements, $moves client moves, sha256 ok"
# --fresh-port-per-move: each server address from its own client port,
# the ports of left paths closed.
timeout 30 "$CLIENT" --insecure --json --fresh-port-per-move --output "$WORK/got" "https://127.0.0.1:$PORT/f" \
    > "$WORK/f.json" 2> "$WORK/f.log" || { cat "$WORK/f.log" >&2; fail "fresh port: exit status $?"; }
same_file "$WORK/root/f" "$WORK/got" "fresh port"
python3 - "$WORK/f.json" <<'PY' || { tail -30 "$WORK/f.log" >&2; fail "fresh port: too few ports"; }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["migrations"] >= 3 and d["packets_undecryptable"] == 0, d
assert d["fresh_port_sockets_opened"] >= 3 and d["fresh_port_sockets_closed"] >= 2, d
PY
wait_log "conn 2: closed"
# The server's view: every path it moved to came from a client port it had
# not seen before.
python3 - "$SRV_LOG" <<'PY' || { grep "conn 2: path" "$SRV_LOG" >&2; fail "fresh port: a client port was reused"; }
import re, sys
seen = {}
for line in open(sys.argv[1]):
    m = re.match(r"tern-server: conn 2: path \d+ (127\.0\.0\.1:\d+) -> (127\.0\.0\.\d:\d+) active", line)
    if m:
        seen.setdefault(m.group(1), set()).add(m.group(2))
assert len(seen) >= 4, seen
assert all(len(v) == 1 for v in seen.values()), seen
PY
opened=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["fresh_port_sockets_opened"])' "$WORK/f.json")
ok "--fresh-port-per-move: $opened new client ports, one per server address, sha256 ok"
timeout 30 "$CLIENT" --insecure --json --no-server-migration --output "$WORK/got" "https://127.0.0.1:$PORT/f" \
    > "$WORK/s.json" 2> "$WORK/c.log" || { cat "$WORK/c.log" >&2; fail "exit status $?"; }
same_file "$WORK/root/f" "$WORK/got" "no offer"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["migrations"]==0, d' "$WORK/s.json" ||
    fail "a client that did not offer moved"
wait_log "conn 3: closed"
grep -q "conn 3: client did not offer enable_server_migration: not told to move" "$SRV_LOG" || fail "no refusal line"
! grep -q "conn 3: rotating" "$SRV_LOG" || fail "conn 3 was rotated"
ok "a client that did not offer is never rotated"
for bad in "--rotate 0.1" "--pool 127.0.0.2-127.0.0.3:0" "--rotate x --pool 127.0.0.2-127.0.0.3:0" \
    "--rotate 1 --pool 127.0.0.9-127.0.0.2:0" "--rotate 1 --pool 127.0.0.2-127.0.1.3:0" \
    "--rotate 1 --pool 127.0.0.2-127.0.0.1:0"; do
    # shellcheck disable=SC2086
    "$SERVER" --listen 127.0.0.1:0 --root "$WORK/root" $bad 2> "$WORK/err"
    rc=$?
    [ $rc = 2 ] || fail "$bad: exit status $rc"
    [ "$(wc -l < "$WORK/err")" = 1 ] || fail "$bad: $(cat "$WORK/err")"
done
ok "bad --rotate/--pool: one line, exit status 2"
# Runtime errors: pool addresses that are not local.
"$SERVER" --listen 127.0.0.1:0 --root "$WORK/root" --rotate 1 --pool 198.18.0.2-198.18.0.20:0 2> "$WORK/err"
rc=$?
[ $rc = 1 ] || fail "non-local pool: exit status $rc"
grep -q "^tern-server: --pool address 198.18.0.2:0 is not local: " "$WORK/err" || fail "non-local pool: $(cat "$WORK/err")"
ok "a pool that is not local: one clear line, exit status 1"
