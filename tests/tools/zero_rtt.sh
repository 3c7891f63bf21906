#!/bin/bash
# 0-RTT between tern-client and tern-server: two runs with the same session
# file; the second resumes and sends its request in 0-RTT, accepted, data
# intact. With --no-0rtt on either side the request waits for the handshake.
BIN=$1
. "$(dirname "$0")/lib.sh"
mkdir "$WORK/root"
make_file "$WORK/root/f" 5
start_tern_server "$WORK/root"
get() { # get NAME [options]
    local name=$1; shift
    rm -f "$WORK/got"
    timeout 20 "$CLIENT" --insecure --json --session-file "$WORK/sess" --output "$WORK/got" "$@" \
        "https://127.0.0.1:$PORT/f" > "$WORK/$name.json" 2> "$WORK/$name.log" \
        || { cat "$WORK/$name.log" >&2; fail "$name: exit status $?"; }
    same_file "$WORK/root/f" "$WORK/got" "$name"
}
check() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert $2, d" "$WORK/$1.json" || fail "$1: $2"; }
get first
[ -s "$WORK/sess" ] || fail "no session saved"
check first 'not d["resumed"] and not d["early_data_sent"]'
get second
check second 'd["resumed"] and d["early_data_sent"] and d["early_data_accepted"]'
grep -q "resumed, 0-RTT accepted" "$WORK/second.log" || fail "summary does not say 0-RTT accepted"
grep -q "handshake done (resumed), 0-RTT accepted" "$SRV_LOG" || fail "server log does not say 0-RTT accepted"
ok "second run: request in 0-RTT, accepted, sha256 ok"
get no0rtt --no-0rtt
check no0rtt 'd["resumed"] and not d["early_data_sent"]'
ok "--no-0rtt: resumed without early data"
# A ticket the server cannot use (a new tern-server has new ticket keys):
# the client sends its request in 0-RTT, the server rejects it, the request
# is resent in 1-RTT.
kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null
start_tern_server "$WORK/root"
get rejected
check rejected 'd["early_data_sent"] and not d["early_data_accepted"] and not d["resumed"]'
grep -q "0-RTT rejected" "$WORK/rejected.log" || fail "summary does not say 0-RTT rejected"
ok "0-RTT rejected by the server: request resent in 1-RTT, sha256 ok"
# tern-server --no-0rtt: its tickets do not allow early data.
kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null
start_tern_server "$WORK/root" --no-0rtt
get refusing_first
get refusing
check refusing 'd["resumed"] and not d["early_data_sent"]'
ok "tern-server --no-0rtt: resumption without 0-RTT"
