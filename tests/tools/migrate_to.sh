#!/bin/bash
# tern-client --migrate-to ADDR: active migration to another local address
# (127.0.0.2) instead of a new port; user errors.
BIN=$1
. "$(dirname "$0")/lib.sh"
mkdir "$WORK/root"
make_file "$WORK/root/f" 20
start_tern_server "$WORK/root"
timeout 20 "$CLIENT" --insecure --json --output "$WORK/got" --migrate-to 127.0.0.2 \
    "https://127.0.0.1:$PORT/f" > "$WORK/s.json" 2> "$WORK/c.log" || { cat "$WORK/c.log" >&2; fail "exit status $?"; }
same_file "$WORK/root/f" "$WORK/got" "migrate-to"
grep -q "migrating to local address 127.0.0.2:" "$WORK/c.log" || { cat "$WORK/c.log" >&2; fail "no migration started"; }
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["migrations"]>=1 and d["path_local"].startswith("127.0.0.2:"), d' \
    "$WORK/s.json" || { cat "$WORK/c.log" "$SRV_LOG" >&2; fail "not migrated to 127.0.0.2"; }
grep -q "conn 1: path [1-9][0-9]* 127.0.0.2:[0-9]* -> 127.0.0.1:$PORT active" "$SRV_LOG" || fail "server did not see the new path active"
ok "migrated to 127.0.0.2 during 20 MB, sha256 ok"
for bad in 127.0.0.300 0.0.0.0 ::1 host.example; do
    "$CLIENT" --insecure --migrate-to "$bad" "https://127.0.0.1:$PORT/f" 2> "$WORK/err"
    rc=$?
    [ $rc = 2 ] || fail "--migrate-to $bad: exit status $rc"
    [ "$(wc -l < "$WORK/err")" = 1 ] || fail "--migrate-to $bad: $(cat "$WORK/err")"
done
ok "bad --migrate-to: one line, exit status 2"
