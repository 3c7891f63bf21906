#!/bin/bash
# --qlog-dir on tern-server and tern-client: one trace per side of a
# download, every record valid (tests/qlog/check_jsonseq.py), with
# packet_sent, packet_received and connection_closed; user errors.
BIN=$1
. "$(dirname "$0")/lib.sh"
CHECK=$(dirname "$0")/../qlog/check_jsonseq.py
mkdir "$WORK/root"
make_file "$WORK/root/f" 2
# Directories that do not exist yet: both tools create them.
start_tern_server "$WORK/root" --qlog-dir "$WORK/sq/deep"
timeout 20 "$CLIENT" --insecure --quiet --qlog-dir "$WORK/cq" --output "$WORK/got" "https://127.0.0.1:$PORT/f" \
    || fail "download with --qlog-dir: exit status $?"
same_file "$WORK/root/f" "$WORK/got" "download"
# The server frees the connection once it has closed: wait for its file.
kill -TERM "$SRV_PID"
wait "$SRV_PID" 2>/dev/null
n_c=$(ls "$WORK/cq" | wc -l); n_s=$(ls "$WORK/sq/deep" | wc -l)
[ "$n_c" = 1 ] && [ "$n_s" = 1 ] || fail "want one file per side, got client: $(ls "$WORK/cq"), server: $(ls "$WORK/sq/deep")"
C=$(ls "$WORK"/cq/*); S=$(ls "$WORK"/sq/deep/*)
case $C in *-client.sqlog) ;; *) fail "client file name $C" ;; esac
case $S in *-server.sqlog) ;; *) fail "server file name $S" ;; esac
[ "$(basename "$C" -client.sqlog)" = "$(basename "$S" -server.sqlog)" ] || fail "ODCIDs differ: $C $S"
for f in "$C" "$S"; do
    python3 "$CHECK" "$f" || fail "$f does not parse"
    python3 - "$f" <<'PY' || fail "$f: missing events"
import json, sys
names = set()
for rec in open(sys.argv[1], "rb").read().split(b"\x1e")[1:]:
    names.add(json.loads(rec).get("name"))
for want in ("quic:packet_sent", "quic:packet_received", "quic:connection_closed"):
    assert want in names, (want, sorted(n for n in names if n))
PY
done
ok "one trace per side, valid, with packet_sent/received and connection_closed"
# Errors: a --qlog-dir that cannot be created is one line, exit status 2 (client), 1 (server).
touch "$WORK/plain"
"$CLIENT" --insecure --qlog-dir "$WORK/plain/sub" "https://127.0.0.1:1/f" 2> "$WORK/err"
rc=$?
[ $rc = 2 ] || fail "client, bad --qlog-dir: exit status $rc"
grep -q "^tern-client: cannot create --qlog-dir $WORK/plain/sub: Not a directory$" "$WORK/err" || fail "client message: $(cat "$WORK/err")"
[ "$(wc -l < "$WORK/err")" = 1 ] || fail "client: more than one line"
"$SERVER" --listen 127.0.0.1:0 --root "$WORK/root" --cert /dev/null --key /dev/null --qlog-dir "$WORK/plain" 2> "$WORK/err"
rc=$?
[ $rc = 1 ] || fail "server, bad --qlog-dir: exit status $rc"
grep -q "^tern-server: cannot create --qlog-dir $WORK/plain: Not a directory$" "$WORK/err" || fail "server message: $(cat "$WORK/err")"
ok "unusable --qlog-dir: one line, non-zero exit"
