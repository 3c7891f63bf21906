#!/bin/bash
# --json prints one JSON object; key logs (--keylog, SSLKEYLOGFILE) get lines.
BIN=$1
. "$(dirname "$0")/lib.sh"
mkdir "$WORK/root"
SSLKEYLOGFILE=$WORK/server.keys start_tern_server "$WORK/root"
timeout 20 "$CLIENT" --insecure --json --keylog "$WORK/client.keys" "https://127.0.0.1:$PORT/bytes/3000000" \
    > "$WORK/summary.json" || fail "tern-client exit status $?"
python3 - "$WORK/summary.json" <<'PY' || fail "JSON summary"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"] is True and d["bytes"] == 3000000, d
assert d["requests"][0]["status"] == 200 and d["alpn"] == "h3", d
for k in ("seconds", "goodput_mbps", "paths_used", "migrations", "key_updates", "packets_lost"):
    assert k in d, k
print("json ok: %.1f Mbit/s" % d["goodput_mbps"])
PY
# An error is still one JSON object, with ok false.
timeout 20 "$CLIENT" --insecure --json "https://127.0.0.1:$PORT/missing" > "$WORK/err.json"
[ $? = 1 ] || fail "404 with --json: exit status"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert not d["ok"] and d["requests"][0]["status"]==404' \
    "$WORK/err.json" || fail "error JSON"
for f in client.keys server.keys; do
    n=$(grep -cE '^(CLIENT_HANDSHAKE_TRAFFIC_SECRET|SERVER_HANDSHAKE_TRAFFIC_SECRET|CLIENT_TRAFFIC_SECRET_0|SERVER_TRAFFIC_SECRET_0) [0-9a-f]{64} [0-9a-f]+$' "$WORK/$f")
    [ "$n" -ge 4 ] || { cat "$WORK/$f"; fail "$f: $n key log lines"; }
    ok "$f: $n lines"
done
