#!/bin/bash
# Interop with Debian's ngtcp2 programs (gtlsserver, gtlsclient), loopback.
# Usage: interop.sh BIN CASE   (CASE list: see the case statement below)

BIN=$1
CASE=$2
. "$(dirname "$0")/lib.sh"

mkdir "$WORK/root" "$WORK/dl"
make_file "$WORK/root/f10" 10

start_gtlsserver() { # extra gtlsserver options
    make_cert
    start_gtlsserver_bg "$WORK/gtlsserver.log" -q -d "$WORK/root" "$@"
}

# tern-client from gtlsserver: tern_get [tern-client options]; sets JSON.
tern_get() {
    JSON=$WORK/summary.json
    timeout 20 "$CLIENT" --ca "$WORK/cert.pem" --json --output "$WORK/got" "$@" "https://127.0.0.1:$PORT/f10" \
        > "$JSON" 2> "$WORK/client.log"
    local rc=$?
    [ $rc = 0 ] || { cat "$WORK/client.log" >&2; return 1; }
    same_file "$WORK/root/f10" "$WORK/got" "tern-client from gtlsserver"
}

# gtlsclient from tern-server: gtlsclient_get [gtlsclient options].
gtlsclient_get() {
    command -v "$GC" > /dev/null || fail "gtlsclient not found (Debian package ngtcp2-client; make deps)"
    rm -f "$WORK/dl/f10"
    timeout 20 "$GC" -q --exit-on-all-streams-close --download "$WORK/dl" "$@" 127.0.0.1 "$PORT" \
        "https://127.0.0.1:$PORT/f10" > "$WORK/gtlsclient.log" 2>&1
    local rc=$?
    [ $rc = 0 ] || { tail -20 "$WORK/gtlsclient.log" >&2; cat "$SRV_LOG" >&2; echo "gtlsclient exit status $rc" >&2; return 1; }
    same_file "$WORK/root/f10" "$WORK/dl/f10" "gtlsclient from tern-server"
}

json_check() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert $1, d" "$JSON"; }

run_case() {
    case $CASE in
    tern_client_gtlsserver) start_gtlsserver && tern_get ;;
    tern_client_gtlsserver_loss) start_gtlsserver --tx-loss=0.05 --rx-loss=0.05 && tern_get ;;
    tern_client_migration)
        # gtlsserver cannot be slowed down: 100 MB (0.1-0.5 s) leave room for
        # the path validation that starts at handshake confirmation (10 MB
        # finished first now and then on a loaded machine).
        make_file "$WORK/root/f10" 100 && start_gtlsserver && tern_get --migrate-after 0 &&
            json_check 'd["migrations"]>=1 and d["packets_undecryptable"]==0' ;;
    tern_client_key_update) start_gtlsserver && tern_get --key-update-after 0 && json_check 'd["key_updates"]>=1' ;;
    tern_client_resumption)
        start_gtlsserver && tern_get --session-file "$WORK/sess" && [ -s "$WORK/sess" ] &&
            tern_get --session-file "$WORK/sess" && json_check 'd["resumed"]' ;;
    tern_client_retry) start_gtlsserver -V && tern_get --timeout 5 && json_check 'd["retried"]' ;;
    tern_client_token)
        # gtlsserver -V sends a Retry unless the Initial carries a valid
        # token: its NEW_TOKEN token, saved by the first run, spares the
        # second run the Retry.
        start_gtlsserver -V && tern_get --timeout 5 --token-file "$WORK/tok" && json_check 'd["retried"]' &&
            [ -s "$WORK/tok" ] && tern_get --timeout 5 --token-file "$WORK/tok" && json_check 'not d["retried"]' ;;
    gtlsclient_tern_server) start_tern_server "$WORK/root" && gtlsclient_get ;;
    gtlsclient_loss) start_tern_server "$WORK/root" && gtlsclient_get --tx-loss=0.05 --rx-loss=0.05 ;;
    gtlsclient_retry)
        start_tern_server "$WORK/root" --retry && gtlsclient_get &&
            grep -q "handshake done (after Retry)" "$SRV_LOG" ;;
    gtlsclient_key_update)
        # gtlsclient updates its keys 20 ms after the handshake; paced at
        # 100 Mbit/s the 10 MB take 0.8 s, so the update happens during the
        # download on any machine, and tern-server's closing line counts it.
        start_tern_server "$WORK/root" --max-rate 100 && gtlsclient_get --key-update=20ms &&
            wait_log "conn 1: closed" && grep -q "conn 1: closed .*, [1-9][0-9]* key updates" "$SRV_LOG" ;;
    gtlsclient_migration)
        # As above: the move 20 ms after the handshake falls in the download.
        start_tern_server "$WORK/root" --max-rate 100 && gtlsclient_get --change-local-addr=20ms &&
            grep -q "path .* active" "$SRV_LOG" ;;
    gtlsclient_nat_rebinding)
        # The request goes out after the rebinding (--delay-stream): otherwise
        # gtlsclient has nothing to send from its new address and drops what
        # arrives at the old one (it stalls against gtlsserver too). 400 ms
        # leaves a margin on a loaded machine (100 ms failed once under load).
        start_tern_server "$WORK/root" &&
            gtlsclient_get --delay-stream=400ms --change-local-addr=50ms --nat-rebinding &&
            grep -q "path .* active" "$SRV_LOG" ;;
    gtlsclient_resumption)
        start_tern_server "$WORK/root" &&
            gtlsclient_get --session-file="$WORK/gs" --tp-file="$WORK/gt" && [ -s "$WORK/gs" ] &&
            gtlsclient_get --session-file="$WORK/gs" --tp-file="$WORK/gt" &&
            grep -q "handshake done (resumed)" "$SRV_LOG" ;;
    tern_client_preferred_address)
        start_gtlsserver --preferred-ipv4-addr=127.0.0.1:@P2@ && tern_get &&
            json_check "d['path_remote']=='127.0.0.1:$P2' and d['migrations']==1" ;;
    gtlsclient_preferred_address)
        # Paced at 100 Mbit/s the 10 MB take 0.8 s: gtlsclient moves to the
        # preferred address long before the end (unpaced, the download can
        # finish first on a fast machine).
        start_tern_server_preferred "$WORK/root" --max-rate 100 && gtlsclient_get &&
            grep -q -- "-> 127.0.0.1:$P2 active" "$SRV_LOG" ;;
    tern_preferred_address) # tern-client and tern-server
        start_tern_server_preferred "$WORK/root" &&
            cp "$SRV_CERT" "$WORK/cert.pem" && tern_get &&
            json_check "d['path_remote']=='127.0.0.1:$P2' and d['migrations']==1" &&
            grep -q -- "-> 127.0.0.1:$P2 active" "$SRV_LOG" ;;
    tern_retry_token) # tern-client and tern-server --retry, twice
        start_tern_server "$WORK/root" --retry && cp "$SRV_CERT" "$WORK/cert.pem" &&
            tern_get --token-file "$WORK/tok" && json_check 'd["retried"]' && [ -s "$WORK/tok" ] &&
            tern_get --token-file "$WORK/tok" && json_check 'not d["retried"]' &&
            [ "$(grep -c "handshake done (after Retry)" "$SRV_LOG")" = 1 ] ;;
    *) fail "unknown case $CASE" ;;
    esac
}

# On failure the logs say why (the work directory is removed on exit).
run_case || {
    for log in "${SRV_LOG:-}" "$WORK/gtlsserver.log" "$WORK/client.log"; do
        [ -n "$log" ] && [ -s "$log" ] && { echo "--- $log" >&2; tail -40 "$log" >&2; }
    done
    fail "$CASE"
}
ok "$CASE"
