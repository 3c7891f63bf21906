#!/bin/bash
# 0-RTT interop with Debian's ngtcp2 programs, loopback.
# Usage: interop_0rtt.sh BIN CASE
#   tern_client_0rtt_gtlsserver: tern-client resumes from gtlsserver with
#     --session-file and sends its request in 0-RTT; tern-client reports
#     early data accepted, gtlsserver's debug log shows the 0-RTT packets
#     and the request's STREAM frame received in them.
#   gtlsclient_0rtt_tern_server: gtlsclient resumes from tern-server with
#     --session-file/--tp-file and sends its request in 0-RTT; tern-server
#     logs "0-RTT accepted" and its qlog shows 0-RTT packets received;
#     gtlsclient's debug log shows the 0-RTT packets sent and not its
#     "Early data was rejected by server" line (it prints nothing when
#     early data is accepted).
# The debug logs (no -q) slow the ngtcp2 programs down a lot, so the
# second, logged, download is small (100 kB).
BIN=$1
CASE=$2
. "$(dirname "$0")/lib.sh"

mkdir "$WORK/root" "$WORK/dl"
make_file "$WORK/root/f1" 1
head -c 100000 /dev/urandom > "$WORK/root/small"

start_gtlsserver() { # [-q]
    [ -f "$WORK/cert.pem" ] || make_cert
    start_gtlsserver_bg "$WORK/gtlsserver.log" "$@" -d "$WORK/root"
}

tern_get() { # tern_get NAME FILE
    timeout 20 "$CLIENT" --ca "$WORK/cert.pem" --json --session-file "$WORK/sess" --output "$WORK/got" \
        "https://127.0.0.1:$PORT/$2" > "$WORK/$1.json" 2> "$WORK/$1.log" || { cat "$WORK/$1.log" >&2; fail "$1: exit status $?"; }
    same_file "$WORK/root/$2" "$WORK/got" "$1"
}

gtlsclient_get() { # gtlsclient_get NAME FILE [gtlsclient options]
    local name=$1 file=$2; shift 2
    command -v "$GC" > /dev/null || fail "gtlsclient not found (Debian package ngtcp2-client; make deps)"
    rm -f "$WORK/dl/$file"
    timeout 20 "$GC" --exit-on-all-streams-close --download "$WORK/dl" --session-file="$WORK/gs" \
        --tp-file="$WORK/gt" "$@" 127.0.0.1 "$PORT" "https://127.0.0.1:$PORT/$file" > "$WORK/$name.log" 2>&1
    local rc=$?
    [ $rc = 0 ] || { tail -20 "$WORK/$name.log" >&2; cat "$SRV_LOG" >&2; fail "$name: gtlsclient exit status $rc"; }
    same_file "$WORK/root/$file" "$WORK/dl/$file" "$name"
}

json_check() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert $2, d" "$WORK/$1.json" || fail "$1: $2"; }

case $CASE in
tern_client_0rtt_gtlsserver)
    start_gtlsserver -q
    tern_get first f1
    [ -s "$WORK/sess" ] || fail "no session saved"
    json_check first 'not d["early_data_sent"]'
    tern_get second f1
    json_check second 'd["resumed"] and d["early_data_sent"] and d["early_data_accepted"]'
    ok "tern-client: request in 0-RTT, accepted by gtlsserver, sha256 ok"
    # gtlsserver -q prints nothing about 0-RTT: a second gtlsserver (new
    # ticket keys, so a new first run) with its debug log shows the request
    # arriving in 0-RTT packets.
    kill "$GS_PID"; wait "$GS_PID" 2>/dev/null
    rm -f "$WORK/sess"
    start_gtlsserver
    tern_get logged_first small
    tern_get logged small
    json_check logged 'd["resumed"] and d["early_data_sent"] and d["early_data_accepted"]'
    grep -q "pkt rx .* type=0RTT" "$WORK/gtlsserver.log" || fail "gtlsserver received no 0-RTT packet"
    grep -q "frm rx .* 0RTT STREAM(0x0b) id=0x0 fin=1" "$WORK/gtlsserver.log" \
        || fail "gtlsserver's log shows no request (stream 0 with FIN) in 0-RTT"
    ok "gtlsserver's log: the request came in 0-RTT"
    ;;
gtlsclient_0rtt_tern_server)
    start_tern_server "$WORK/root" --qlog-dir "$WORK/qlog"
    gtlsclient_get first f1 -q
    [ -s "$WORK/gs" ] && [ -s "$WORK/gt" ] || fail "gtlsclient saved no session or transport parameters"
    gtlsclient_get second small
    grep -q "conn 2: handshake done (resumed), 0-RTT accepted" "$SRV_LOG" || { cat "$SRV_LOG" >&2; fail "tern-server: 0-RTT not accepted"; }
    grep -q "pkt tx .* type=0RTT" "$WORK/second.log" || fail "gtlsclient sent no 0-RTT packet"
    grep -q "frm tx .* 0RTT STREAM(0x0b) id=0x0 fin=1" "$WORK/second.log" || fail "gtlsclient's request was not in 0-RTT"
    if grep -q "Early data was rejected" "$WORK/second.log"; then fail "gtlsclient: early data was rejected"; fi
    # tern-server's trace of the second connection: 0-RTT packets received.
    kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null
    n=$(grep -l '"packet_type":"0RTT"' "$WORK"/qlog/*-server.sqlog | wc -l)
    [ "$n" = 1 ] || fail "tern-server's qlog: want one trace with 0-RTT packets, got $n"
    grep -q '"name":"quic:packet_received".*"packet_type":"0RTT"' "$WORK"/qlog/*-server.sqlog \
        || fail "tern-server's qlog shows no 0-RTT packet received"
    ok "gtlsclient: request in 0-RTT, accepted by tern-server, sha256 ok"
    ;;
*) fail "unknown case $CASE" ;;
esac
