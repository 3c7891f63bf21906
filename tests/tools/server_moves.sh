#!/bin/bash
# tern-server --alt ADDR: the server tells its client to move to another of
# its addresses (draft-saa-ali-quic) during a 40 MB download; the client
# validates it and moves; a client that did not offer is never told.
BIN=$1
. "$(dirname "$0")/lib.sh"
mkdir "$WORK/root"
make_file "$WORK/root/f" 40
start_tern_server "$WORK/root" --alt 127.0.0.2:0
ALT=$(sed -n 's/^tern-server: listening on \(127\.0\.0\.2:[0-9]*\) (alternate address)$/\1/p' "$SRV_LOG")
[ -n "$ALT" ] || fail "no alternate address in the server log"
timeout 20 "$CLIENT" --insecure --json --output "$WORK/got" "https://127.0.0.1:$PORT/f" > "$WORK/s.json" \
    2> "$WORK/c.log" || { cat "$WORK/c.log" >&2; fail "exit status $?"; }
same_file "$WORK/root/f" "$WORK/got" "server move"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["migrations"]>=1 and d["path_remote"]==sys.argv[2] and d["packets_undecryptable"]==0, d' \
    "$WORK/s.json" "$ALT" || { cat "$WORK/c.log" "$SRV_LOG" >&2; fail "client did not move to $ALT"; }
grep -q "server address [0-9]* $ALT: validating -> active (validated)" "$WORK/c.log" || { cat "$WORK/c.log" >&2; fail "no locator line"; }
wait_log "conn 1: closed"
grep -q "conn 1: told to move to $ALT" "$SRV_LOG" || fail "server did not advertise"
grep -q "conn 1: path [1-9][0-9]* 127.0.0.1:[0-9]* -> $ALT active" "$SRV_LOG" || { cat "$SRV_LOG" >&2; fail "server did not move"; }
ok "server moved its client to $ALT during 40 MB, sha256 ok"
timeout 20 "$CLIENT" --insecure --json --no-server-migration --output "$WORK/got" "https://127.0.0.1:$PORT/f" \
    > "$WORK/s.json" 2> "$WORK/c.log" || { cat "$WORK/c.log" >&2; fail "exit status $?"; }
same_file "$WORK/root/f" "$WORK/got" "no offer"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["migrations"]==0 and d["path_remote"]==sys.argv[2], d' \
    "$WORK/s.json" "127.0.0.1:$PORT" || fail "a client that did not offer moved"
wait_log "conn 2: closed"
grep -q "conn 2: client did not offer enable_server_migration: not told to move" "$SRV_LOG" || fail "no refusal line"
ok "a client that did not offer stays on 127.0.0.1:$PORT"
