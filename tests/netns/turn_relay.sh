#!/bin/bash
# tern-server behind a NAT, reachable only through a coturn relay (TURN,
# RFC 8656), in network namespaces (tests/netns/topology.sh).
# Usage: turn_relay.sh BIN CASE, CASE one of
#   download      tern-client downloads 20 MB over HTTP/3 from the relayed address
#   gtlsclient    Debian's ngtcp2 client (gtlsclient) downloads 10 MB the same way
#   bad_password  a wrong password: one clear line, exit status 1, within seconds
#   quota         coturn allows one allocation per user: a second tern-server
#                 gets 486 Allocation Quota Reached, says so, exits with 1
#   refresh       coturn grants 10 s lifetimes and 4 s nonces: the allocation is
#                 refreshed (after a 438 Stale Nonce) and still serves afterwards
#   migrate_direct  the draft-kozuka scenario: tern-server --migrate-direct-after 0
#                 moves the connection off the relay to its own socket, through
#                 its NAT, straight to the client, which follows
#                 (--allow-server-migration); after the move no more QUIC bytes
#                 cross the relay; a 40 MB download arrives intact
#   no_migration  the same server with a client that does not send
#                 allow_server_migration (gtlsclient, and tern-client without the
#                 option): served through the relay, never moved
# Exit 77 (skipped) without root, namespaces, nftables or coturn.
# Relay traffic: the byte counters of the relay's interface are printed
# ("relay eth0 ..."), see topo_bytes.
BIN=$1
CASE=${2:?usage: turn_relay.sh BIN CASE}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/topology.sh"
topo_require
command -v turnserver > /dev/null || { echo "SKIP: turnserver (coturn) not installed (make deps)" >&2; exit 77; }
. "$HERE/../tools/lib.sh"

RELAY=$TOPO_RELAY_IP:3478

# start_coturn [turnserver options]: coturn in the relay namespace, user
# u:p in realm tern.test; returns once it answers a STUN Binding request.
start_coturn() {
    TURN_LOG=$WORK/coturn.log
    topo_spawn relay turnserver -n --listening-ip "$TOPO_RELAY_IP" --relay-ip "$TOPO_RELAY_IP" -p 3478 \
        --min-port 49152 --max-port 49252 --lt-cred-mech --user u:p --realm tern.test \
        --no-tls --no-dtls --no-tcp --no-tcp-relay --no-cli --no-rfc5780 \
        --allowed-peer-ip=198.18.0.0-198.19.255.255 \
        --userdb "$WORK/turndb" --pidfile "$WORK/turnserver.pid" --log-file stdout --simple-log "$@" \
        > "$TURN_LOG" 2>&1
    TURN_PID=$TOPO_PID
    PIDS+=($TURN_PID)
    # Readiness: a Binding request from the client namespace is answered
    # (each try waits up to 0.1 s for the answer; 20 s in all).
    topo_exec client python3 - "$TOPO_RELAY_IP" << 'EOF' || { cat "$TURN_LOG" >&2; fail "coturn did not answer within 20 s"; }
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.1)
req = bytes([0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42]) + os.urandom(12)
end = time.monotonic() + 20
while time.monotonic() < end:
    s.sendto(req, (sys.argv[1], 3478))
    try:
        data, _ = s.recvfrom(2048)
        if data[8:20] == req[8:20]:
            sys.exit(0)
    except socket.timeout:
        pass
sys.exit(1)
EOF
}

# start_relayed_server [tern-server options]: tern-server in the server
# namespace through the relay; sets RELAYED (A:P), SRV_LOG, SRV_PID.
start_relayed_server() {
    SRV_LOG=$WORK/server.log
    topo_spawn server env TMPDIR="$WORK" "$SERVER" --turn "$RELAY" --turn-user u --turn-pass p \
        --turn-permit "$TOPO_CLIENT_IP" --root "$WORK/root" "$@" > "$SRV_LOG" 2>&1
    SRV_PID=$TOPO_PID
    PIDS+=($SRV_PID)
    wait_log "relayed address" || { cat "$SRV_LOG" >&2; fail "tern-server got no relayed address"; }
    RELAYED=$(sed -n 's/^tern-server: relayed address \([0-9.]*:[0-9]*\) (via relay \([0-9.:]*\))$/\1/p' "$SRV_LOG")
    grep -q "^tern-server: relayed address $RELAYED (via relay $RELAY)$" "$SRV_LOG" ||
        { cat "$SRV_LOG" >&2; fail "unexpected relayed-address line"; }
    case $RELAYED in "$TOPO_RELAY_IP":*) ;; *) fail "relayed address $RELAYED is not on the relay" ;; esac
    echo "tern-server: relayed address $RELAYED"
}

# Stops tern-server (SIGTERM): it deallocates and exits with status 0.
stop_server() {
    kill -TERM "$SRV_PID" 2>/dev/null
    wait "$SRV_PID"
    local rc=$?
    grep "relay traffic" "$SRV_LOG" || tail -5 "$SRV_LOG"
    [ $rc = 0 ] || { cat "$SRV_LOG" >&2; fail "tern-server exit status $rc after SIGTERM"; }
}

# rtt A B: ping's average from namespace A to address B (informational).
rtt() {
    command -v ping > /dev/null || { echo "n/a"; return; }
    topo_exec "$1" ping -q -c 5 -i 0.05 "$2" 2> /dev/null | sed -n 's|^rtt .* = [0-9.]*/\([0-9.]*\)/.*|\1 ms|p'
}

topo_up || fail "cannot build the topology"
mkdir "$WORK/root"
start_coturn

case $CASE in
download)
    make_file "$WORK/root/file20m" 20
    start_relayed_server
    # The round trip through the relay, idle: one small request.
    topo_exec client timeout 20 "$CLIENT" --insecure "https://$RELAYED/bytes/1000" 2> "$WORK/small.log" ||
        { cat "$WORK/small.log" "$SRV_LOG" >&2; fail "small request: exit status $?"; }
    echo "QUIC through the relay, idle: $(grep -o 'srtt [0-9.]* ms' "$WORK/small.log")"
    read -r rx0 tx0 <<< "$(topo_bytes relay)"
    start=$(date +%s.%N)
    topo_exec client timeout 60 "$CLIENT" --insecure --output "$WORK/got" "https://$RELAYED/file20m" \
        2> "$WORK/client.log" || { cat "$WORK/client.log" "$SRV_LOG" >&2; fail "tern-client exit status $?"; }
    end=$(date +%s.%N)
    same_file "$WORK/root/file20m" "$WORK/got" "20 MB through the relay"
    read -r rx1 tx1 <<< "$(topo_bytes relay)"
    grep "goodput" "$WORK/client.log"
    echo "relay eth0 during the download: received $((rx1 - rx0)) bytes, sent $((tx1 - tx0)) bytes"
    [ $((tx1 - tx0)) -gt 20000000 ] || fail "the relay sent only $((tx1 - tx0)) bytes: not through the relay?"
    echo "ping: client->relay $(rtt client "$TOPO_RELAY_IP"), server->relay (via NAT) $(rtt server "$TOPO_RELAY_IP"), server->client (direct, via NAT) $(rtt server "$TOPO_CLIENT_IP")"
    echo "download took $(python3 -c "print(round($end - $start, 2))") s"
    stop_server
    ok "20 MB from tern-server behind a NAT through coturn, sha256 ok"
    ;;
gtlsclient)
    command -v "$GC" > /dev/null || { echo "SKIP: gtlsclient not installed (ngtcp2-client)" >&2; exit 77; }
    make_file "$WORK/root/f10" 10
    start_relayed_server
    read -r rx0 tx0 <<< "$(topo_bytes relay)"
    host=${RELAYED%:*} port=${RELAYED##*:}
    mkdir "$WORK/dl"
    topo_exec client timeout 60 "$GC" -q --exit-on-all-streams-close --download "$WORK/dl" "$host" "$port" \
        "https://$RELAYED/f10" > "$WORK/gtlsclient.log" 2>&1 ||
        { tail -20 "$WORK/gtlsclient.log" >&2; cat "$SRV_LOG" >&2; fail "gtlsclient exit status $?"; }
    same_file "$WORK/root/f10" "$WORK/dl/f10" "gtlsclient through the relay"
    read -r rx1 tx1 <<< "$(topo_bytes relay)"
    echo "relay eth0 during the download: received $((rx1 - rx0)) bytes, sent $((tx1 - tx0)) bytes"
    stop_server
    ok "gtlsclient downloaded 10 MB from tern-server through coturn, sha256 ok"
    ;;
bad_password)
    start=$(date +%s%N)
    topo_exec server env TMPDIR="$WORK" timeout 10 "$SERVER" --turn "$RELAY" --turn-user u --turn-pass wrong \
        --root "$WORK/root" > "$WORK/server.log" 2>&1
    rc=$?
    ms=$((($(date +%s%N) - start) / 1000000))
    cat "$WORK/server.log"
    [ $rc = 1 ] || fail "exit status $rc, want 1"
    [ $ms -lt 5000 ] || fail "took $ms ms"
    grep -q "^tern-server: TURN server $RELAY: refused the credentials of user 'u' (401 Unauthorized after authenticating)$" \
        "$WORK/server.log" || fail "no clear error line"
    ! grep -q "^tern-server: relayed address" "$WORK/server.log" || fail "claims a relayed address"
    ok "wrong TURN password: clear error, exit status 1 after $ms ms"
    ;;
quota)
    kill "$TURN_PID"
    wait "$TURN_PID" 2> /dev/null
    start_coturn --user-quota=1
    start_relayed_server
    topo_exec server env TMPDIR="$WORK" timeout 10 "$SERVER" --turn "$RELAY" --turn-user u --turn-pass p \
        --root "$WORK/root" > "$WORK/second.log" 2>&1
    rc=$?
    cat "$WORK/second.log"
    [ $rc = 1 ] || fail "second tern-server: exit status $rc, want 1"
    grep -q "^tern-server: TURN server $RELAY: Allocate failed: 486 " "$WORK/second.log" || fail "no 486 line"
    kill -0 "$SRV_PID" || fail "the first tern-server died"
    stop_server
    ok "486 Allocation Quota Reached reported, exit status 1; the first allocation unaffected"
    ;;
refresh)
    # Restart coturn with short lifetimes: allocations of 10 s (refreshed
    # at 8 s) and nonces that go stale after 4 s (so the Refresh gets 438).
    kill "$TURN_PID"
    wait "$TURN_PID" 2> /dev/null
    start_coturn --max-allocate-lifetime=10 --stale-nonce=4
    make_file "$WORK/root/f1" 1
    start_relayed_server
    topo_exec client timeout 20 "$CLIENT" --insecure --quiet --output "$WORK/got1" "https://$RELAYED/f1" ||
        fail "first download: exit status $?"
    wait_log "relay: stale nonce (438)" || { cat "$SRV_LOG" >&2; fail "no 438 answer"; }
    wait_log "relay: allocation refreshed, lifetime 10 s" || { cat "$SRV_LOG" >&2; fail "no refresh"; }
    # Past the first lifetime (10 s) by now only if refreshed: wait for the
    # second refresh, at about 16 s, then download again.
    for _ in $(seq 400); do
        [ "$(grep -c "relay: allocation refreshed" "$SRV_LOG")" -ge 2 ] && break
        sleep 0.05
    done
    [ "$(grep -c "relay: allocation refreshed" "$SRV_LOG")" -ge 2 ] || { cat "$SRV_LOG" >&2; fail "no second refresh"; }
    topo_exec client timeout 20 "$CLIENT" --insecure --quiet --output "$WORK/got2" "https://$RELAYED/f1" ||
        { cat "$SRV_LOG" >&2; fail "download after the refreshes: exit status $?"; }
    same_file "$WORK/root/f1" "$WORK/got2" "after refresh"
    kill -0 "$SRV_PID" || fail "tern-server died"
    grep "relay:" "$SRV_LOG"
    stop_server
    ok "allocation refreshed twice (438 handled), still serving after its first lifetime"
    ;;
migrate_direct)
    make_file "$WORK/root/f40" 40
    mkdir "$WORK/qlog"
    start_relayed_server --migrate-direct-after 0 --qlog-dir "$WORK/qlog"
    grep -q "^tern-server: direct socket " "$SRV_LOG" || { cat "$SRV_LOG" >&2; fail "no direct socket line"; }
    read -r rx0 tx0 <<< "$(topo_bytes relay)"
    topo_spawn client timeout 60 "$CLIENT" --insecure --allow-server-migration --json --qlog-dir "$WORK/qlog" --output "$WORK/got" \
        "https://$RELAYED/f40" > "$WORK/c.json" 2> "$WORK/client.log"
    CPID=$TOPO_PID
    # The client is on the direct path once it logs the NAT's public address
    # active; from then on the relay must carry nothing more of QUIC.
    wait_log "path [0-9]* $TOPO_CLIENT_IP:[0-9]* -> $TOPO_NAT_PUBLIC_IP:[0-9]* active" "$WORK/client.log" ||
        { cat "$WORK/client.log" "$SRV_LOG" >&2; fail "the client never moved to the NAT's address"; }
    read -r rx1 tx1 <<< "$(topo_bytes relay)"
    wait "$CPID" || { cat "$WORK/client.log" "$SRV_LOG" >&2; fail "tern-client exit status $?"; }
    read -r rx2 tx2 <<< "$(topo_bytes relay)"
    same_file "$WORK/root/f40" "$WORK/got" "40 MB, server moved off the relay"
    python3 - "$WORK/c.json" "$TOPO_NAT_PUBLIC_IP" <<'PY' || { cat "$WORK/client.log" >&2; fail "client JSON"; }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["server_migration"] is True, d
assert d["migrations"] >= 1 and d["path_remote"].startswith(sys.argv[2] + ":"), d
assert d["packets_undecryptable"] == 0, d
PY
    grep "goodput" "$WORK/client.log"
    wait_log "conn 1: moving from the relayed address $RELAYED to $TOPO_SERVER_IP:[0-9]*, straight to $TOPO_CLIENT_IP:" ||
        fail "no move line"
    wait_log "conn 1: closed" || fail "server did not see the close"
    echo "relay eth0 before the client moved: received $((rx1 - rx0)), sent $((tx1 - tx0)) bytes; after: received $((rx2 - rx1)), sent $((tx2 - tx1)) bytes"
    # Nothing but what was already in flight at the switch: a 40 MB transfer
    # through the relay would be 40 MB here.
    [ $((tx2 - tx1)) -lt 65536 ] && [ $((rx2 - rx1)) -lt 65536 ] ||
        fail "QUIC still crosses the relay after the move ($((rx2 - rx1)) / $((tx2 - tx1)) bytes)"
    # Timing from the server's qlog: handshake confirmation, first packet on
    # the direct path (probing_started), server on it (migration_complete).
    python3 - "$WORK"/qlog/*-server.sqlog <<'PY' || fail "server qlog"
import json, sys
events = []
for rec in open(sys.argv[1]).read().split("\x1e"):
    rec = rec.strip()
    if rec:
        events.append(json.loads(rec))
t_conf = t_probe = t_moved = None
kind = None
for e in events:
    n, d = e.get("name"), e.get("data", {})
    if n == "quic:connection_state_updated" and d.get("new") == "handshake_confirmed": t_conf = e["time"]
    # The probe: the first PATH_CHALLENGE sent after confirmation (only the
    # move sends one).
    if n == "quic:packet_sent" and t_conf is not None and t_probe is None and \
            any(f.get("frame_type") == "path_challenge" for f in d.get("frames", [])):
        t_probe = e["time"]
    if n == "quic:migration_state_updated":
        if d.get("new") == "migration_complete" and t_conf is not None and e["time"] >= t_conf and t_moved is None:
            t_moved, kind = e["time"], d.get("tern:kind")
assert None not in (t_conf, t_probe, t_moved), (t_conf, t_probe, t_moved)
assert kind == "server_migration", kind
# RTT samples (latest_rtt) before the move are the relay path's, after it
# the direct path's.
before = [e["data"]["latest_rtt"] for e in events if e.get("name") == "quic:recovery_metrics_updated"
          and "latest_rtt" in e["data"] and e["time"] < t_moved]
after = [e["data"]["latest_rtt"] for e in events if e.get("name") == "quic:recovery_metrics_updated"
         and "latest_rtt" in e["data"] and e["time"] > t_moved]
print("server qlog: first packet on the direct path %.2f ms after handshake confirmation, server on it %.2f ms after;"
      " min RTT through the relay %.3f ms, direct %.3f ms" % (t_probe - t_conf, t_moved - t_conf,
                                                          min(before), min(after)))
PY
    echo "ping: client->relay $(rtt client "$TOPO_RELAY_IP"), server->relay (via NAT) $(rtt server "$TOPO_RELAY_IP"), server->client (direct, via NAT) $(rtt server "$TOPO_CLIENT_IP")"
    [ -n "${KEEP_QLOG:-}" ] && cp "$WORK"/qlog/* "$KEEP_QLOG"/
    stop_server
    ok "server behind a NAT moved off the relay right after the handshake; 40 MB direct, sha256 ok"
    ;;
no_migration)
    make_file "$WORK/root/f10" 10
    start_relayed_server --migrate-direct-after 0
    read -r rx0 tx0 <<< "$(topo_bytes relay)"
    topo_exec client timeout 60 "$CLIENT" --insecure --json --output "$WORK/got" "https://$RELAYED/f10" \
        > "$WORK/c.json" 2> "$WORK/client.log" || { cat "$WORK/client.log" "$SRV_LOG" >&2; fail "tern-client: $?"; }
    same_file "$WORK/root/f10" "$WORK/got" "tern-client without the option"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["migrations"]==0 and d["path_remote"]==sys.argv[2] and d["server_migration"] is False, d' \
        "$WORK/c.json" "$RELAYED" || fail "a client without allow_server_migration was moved"
    wait_log "conn 1: client did not send allow_server_migration: stays on the relay" || fail "no stay line (tern-client)"
    if command -v "$GC" > /dev/null; then
        host=${RELAYED%:*} port=${RELAYED##*:}
        mkdir "$WORK/dl"
        topo_exec client timeout 60 "$GC" -q --exit-on-all-streams-close --download "$WORK/dl" "$host" "$port" \
            "https://$RELAYED/f10" > "$WORK/gtlsclient.log" 2>&1 ||
            { tail -20 "$WORK/gtlsclient.log" >&2; cat "$SRV_LOG" >&2; fail "gtlsclient exit status $?"; }
        same_file "$WORK/root/f10" "$WORK/dl/f10" "gtlsclient"
        wait_log "conn 2: client did not send allow_server_migration: stays on the relay" || fail "no stay line (gtlsclient)"
    fi
    read -r rx1 tx1 <<< "$(topo_bytes relay)"
    [ $((tx1 - tx0)) -gt 10000000 ] || fail "the relay sent only $((tx1 - tx0)) bytes: not through the relay?"
    ! grep -q "moving from the relayed address" "$SRV_LOG" || fail "a connection was moved"
    stop_server
    ok "clients without allow_server_migration stay on the relay (tern-client, gtlsclient), sha256 ok"
    ;;
*) fail "unknown case $CASE" ;;
esac
