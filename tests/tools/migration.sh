#!/bin/bash
# tern-client: active migration, key update and resumption against tern-server.
BIN=$1
. "$(dirname "$0")/lib.sh"
mkdir "$WORK/root"
make_file "$WORK/root/f" 40
start_tern_server "$WORK/root"
# Migration and key update alone, then both at once (both start when the
# handshake is confirmed, so they overlap the 40 MB download). No packet may
# fail to decrypt: the server's probe on the new path once arrived behind
# thousands of old-path packets and its 1-byte packet number decoded wrongly.
timeout 20 "$CLIENT" --insecure --json --output "$WORK/got" --migrate-after 0 \
    "https://127.0.0.1:$PORT/f" > "$WORK/s.json" || fail "migrate: exit status $?"
same_file "$WORK/root/f" "$WORK/got" "migrate"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["migrations"]>=1 and d["paths_used"]==2 and d["migration"]=={"requested":True,"done":True,"reason":None} and d["packets_undecryptable"]==0, d' \
    "$WORK/s.json" || { grep "conn .*path" "$SRV_LOG"; fail "migration did not complete"; }
ok "migration during 40 MB, sha256 ok"
timeout 20 "$CLIENT" --insecure --json --output "$WORK/got" --key-update-after 0 \
    "https://127.0.0.1:$PORT/f" > "$WORK/s.json" || fail "key update: exit status $?"
same_file "$WORK/root/f" "$WORK/got" "key update"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["key_updates"]>=1, d' \
    "$WORK/s.json" || fail "key update not reported"
ok "key update during 40 MB, sha256 ok"
timeout 20 "$CLIENT" --insecure --json --output "$WORK/got" --migrate-after 0 --key-update-after 0 \
    "https://127.0.0.1:$PORT/f" > "$WORK/s.json" || fail "migrate + key update: exit status $?"
same_file "$WORK/root/f" "$WORK/got" "migrate + key update"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["key_updates"]>=1 and d["migrations"]>=1 and d["migration"]["done"] and d["packets_undecryptable"]==0, d' \
    "$WORK/s.json" || { grep "conn .*path" "$SRV_LOG"; fail "migrate + key update: not both done"; }
ok "migration and key update together during 40 MB, sha256 ok"
timeout 20 "$CLIENT" --insecure --quiet --session-file "$WORK/sess" "https://127.0.0.1:$PORT/bytes/10" || fail "first"
[ -s "$WORK/sess" ] || fail "no session saved"
timeout 20 "$CLIENT" --insecure --json --session-file "$WORK/sess" "https://127.0.0.1:$PORT/bytes/10" > "$WORK/r.json" \
    || fail "resumption: exit status $?"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["resumed"], d' "$WORK/r.json" || fail "not resumed"
ok "resumption"
