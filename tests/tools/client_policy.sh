#!/bin/bash
# tern-client's server-address policy options against tern-server --alt:
# --server-migration follow|ignore|off, --deny, --allow, --locator-limit,
# --probe-delay-max; the summary and --json list every server address with
# its states. Bad values: one line, exit status 2.
BIN=$1
. "$(dirname "$0")/lib.sh"
mkdir "$WORK/root"
make_file "$WORK/root/f" 10
# Paced (0.8 s per download on any machine) so a move, which may wait up to
# --probe-delay-max, always happens before the end.
start_tern_server "$WORK/root" --alt 127.0.0.2:0 --max-rate 100
ALT=$(sed -n 's/^tern-server: listening on \(127\.0\.0\.2:[0-9]*\) (alternate address)$/\1/p' "$SRV_LOG")
[ -n "$ALT" ] || fail "no alternate address in the server log"
URL="https://127.0.0.1:$PORT/f"

# run NAME EXPECTED_REMOTE [client args...]: a download, checked, whose
# final server address must be EXPECTED_REMOTE.
run() {
    local name=$1 want=$2; shift 2
    timeout 20 "$CLIENT" --insecure --json --output "$WORK/got" "$@" "$URL" > "$WORK/$name.json" \
        2> "$WORK/$name.log" || { cat "$WORK/$name.log" >&2; fail "$name: exit status $?"; }
    same_file "$WORK/root/f" "$WORK/got" "$name"
    python3 - "$WORK/$name.json" "$want" <<'PY' || { cat "$WORK/$name.log" >&2; fail "$name: wrong server address"; }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["path_remote"] == sys.argv[2], (d["path_remote"], sys.argv[2])
PY
}

run follow "$ALT" --probe-delay-max 50 --locator-limit 4
python3 - "$WORK/follow.json" "$ALT" <<'PY' || fail "follow: server_addresses wrong"
import json, sys
d = json.load(open(sys.argv[1]))
alt = [a for a in d["server_addresses"] if a["address"] == sys.argv[2]]
assert len(alt) == 1, d["server_addresses"]
states = [s["state"] for s in alt[0]["states"]]
assert states[:3] == ["unverified", "validating", "active"], states
times = [s["at_s"] for s in alt[0]["states"]]
assert times == sorted(times), times
PY
grep -q "tern-client:   server address [0-9]* $ALT: unverified +[0-9.]* s, validating" "$WORK/follow.log" \
    || { cat "$WORK/follow.log" >&2; fail "follow: no server address summary line"; }
ok "follow: moved to $ALT; summary and --json list its states"

run ignore "127.0.0.1:$PORT" --server-migration ignore
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["migrations"]==0, d' "$WORK/ignore.json" \
    || fail "ignore: the client moved"
ok "ignore: stayed on 127.0.0.1:$PORT"

run off "127.0.0.1:$PORT" --server-migration off
grep -q "client did not offer enable_server_migration" "$SRV_LOG" || fail "off: the client offered"
ok "off: not offered"

run deny "127.0.0.1:$PORT" --deny 127.0.0.2/32
ok "deny 127.0.0.2/32: stayed"
run allow_other "127.0.0.1:$PORT" --allow 10.0.0.0/8
ok "allow 10.0.0.0/8 only: stayed"
run allow "$ALT" --allow 127.0.0.0/30
ok "allow 127.0.0.0/30: moved to $ALT"

for bad in "--server-migration sometimes" "--locator-limit 1" "--locator-limit 17" "--probe-delay-max x" \
           "--deny 10.1.2.3/8" "--allow 10.0.0.0/33" "--deny nonsense"; do
    # shellcheck disable=SC2086
    "$CLIENT" $bad "$URL" > "$WORK/bad.out" 2>&1
    rc=$?
    [ "$rc" = 2 ] || { cat "$WORK/bad.out" >&2; fail "'$bad': exit status $rc, want 2"; }
    [ "$(wc -l < "$WORK/bad.out")" = 1 ] || { cat "$WORK/bad.out" >&2; fail "'$bad': not one line"; }
done
ok "bad values: one line each, exit status 2"
