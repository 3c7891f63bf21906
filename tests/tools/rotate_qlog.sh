#!/bin/bash
# tern-server --rotate 0.2 --pool 127.0.0.2-127.0.0.9 (one wildcard socket,
# a random address of the range per move) during a 100 MB download paced at
# 200 Mbit/s: intact, at least 5 moves, every move visible in both qlogs
# (client: migration_complete with tern:kind server_alternate_address, one
# per move; server: an SAA frame sent for each). gtlsclient, which never
# offers enable_server_migration, and tern-client --server-migration off
# complete against the same server and are never sent an SAA frame (their
# server qlogs have none).
BIN=$1
. "$(dirname "$0")/lib.sh"
mkdir "$WORK/root" "$WORK/sq" "$WORK/cq"
make_file "$WORK/root/f" 100
start_tern_server "$WORK/root" --rotate 0.2 --pool 127.0.0.2-127.0.0.9:0 --max-rate 200 --qlog-dir "$WORK/sq"
grep -q "listening on 127.0.0.2-9 port [0-9]* (rotation pool, one socket)" "$SRV_LOG" || { cat "$SRV_LOG" >&2; fail "no pool line"; }
timeout 60 "$CLIENT" --insecure --json --qlog-dir "$WORK/cq" --output "$WORK/got" "https://127.0.0.1:$PORT/f" \
    > "$WORK/c.json" 2> "$WORK/c.log" || { tail -20 "$WORK/c.log" >&2; fail "tern-client exit status $?"; }
same_file "$WORK/root/f" "$WORK/got" "100 MB rotating"
wait_log "conn 1: closed"
python3 - "$WORK/c.json" "$WORK"/cq/*.sqlog "$WORK"/sq/*-server.sqlog <<'PY' || fail "qlogs do not show every move"
import json, sys
def events(path):
    return [json.loads(r) for r in open(path).read().split("\x1e") if r.strip()]
d = json.load(open(sys.argv[1]))
moves = d["migrations"]
assert moves >= 5, d
for a in d["server_addresses"][1:]:
    host = a["address"].rsplit(":", 1)[0]
    assert host.startswith("127.0.0.") and 2 <= int(host.split(".")[3]) <= 9, a
client = events(sys.argv[2])
done = [e for e in client if e.get("name") == "quic:migration_state_updated" and e["data"].get("new") == "migration_complete"
        and e["data"].get("tern:kind") == "server_alternate_address"]
assert len(done) == moves, (len(done), moves)
server = events(sys.argv[3])
saa_sent = [e for e in server if e.get("name") == "quic:packet_sent"
            and any(f.get("frame_type") == "server_alternate_address" for f in e["data"].get("frames", []))]
assert len(saa_sent) >= moves, (len(saa_sent), moves)
print("%d moves: %d migration_complete in the client's qlog, %d packets with an SAA frame in the server's" % (moves, len(done), len(saa_sent)))
PY
ok "100 MB intact through 127.0.0.2-127.0.0.9, every move in both qlogs"

# Clients that do not offer: never sent an SAA frame.
no_saa_frames() { # no_saa_frames CONN_NUMBER WHAT
    local q
    q=$(ls -t "$WORK"/sq/*-server.sqlog | head -1)
    python3 - "$q" <<'PY' || fail "$2 was sent an SAA frame"
import json, sys
ev = [json.loads(r) for r in open(sys.argv[1]).read().split("\x1e") if r.strip()]
n = sum(1 for e in ev if e.get("name") == "quic:packet_sent"
        and any(f.get("frame_type") == "server_alternate_address" for f in e["data"].get("frames", [])))
assert n == 0, n
PY
    grep -q "conn $1: client did not offer enable_server_migration: not told to move" "$SRV_LOG" || fail "$2: no line"
}
make_file "$WORK/root/f10" 10
timeout 30 "$CLIENT" --insecure --server-migration off --output "$WORK/got10" "https://127.0.0.1:$PORT/f10" \
    2> "$WORK/off.log" || { cat "$WORK/off.log" >&2; fail "--server-migration off: exit status $?"; }
same_file "$WORK/root/f10" "$WORK/got10" "--server-migration off"
wait_log "conn 2: closed"
no_saa_frames 2 "tern-client --server-migration off"
ok "tern-client --server-migration off: completes, never sent an SAA frame"
if command -v "$GC" > /dev/null; then
    mkdir "$WORK/dl"
    timeout 30 "$GC" -q --exit-on-all-streams-close --download "$WORK/dl" 127.0.0.1 "$PORT" \
        "https://127.0.0.1:$PORT/f10" > "$WORK/gc.log" 2>&1 || { tail -20 "$WORK/gc.log" >&2; fail "gtlsclient exit status $?"; }
    same_file "$WORK/root/f10" "$WORK/dl/f10" "gtlsclient"
    wait_log "conn 3: closed"
    no_saa_frames 3 "gtlsclient"
    ok "gtlsclient: completes against the rotating server, never sent an SAA frame"
else
    echo "SKIP part: gtlsclient not installed (ngtcp2-client)"
fi
