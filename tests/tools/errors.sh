#!/bin/bash
# User mistakes give one clear line and a non-zero exit status.
BIN=$1
. "$(dirname "$0")/lib.sh"

expect() { # expect STATUS PATTERN -- command...
    local want=$1 pat=$2; shift 3
    "$@" > "$WORK/out" 2> "$WORK/err"
    local rc=$?
    [ "$rc" = "$want" ] || { cat "$WORK/err" >&2; fail "'$*': exit status $rc, want $want"; }
    [ -z "$pat" ] || grep -q -- "$pat" "$WORK/err" || { cat "$WORK/err" >&2; fail "'$*': no message matching '$pat'"; }
    ok "$* -> $rc${pat:+: $(grep -- "$pat" "$WORK/err" | head -1)}"
}

expect 2 "bad URL" -- "$CLIENT" "http://127.0.0.1:4433/"
expect 2 "bad URL" -- "$CLIENT" "https://127.0.0.1:99999/"
expect 2 "bad URL" -- "$CLIENT" "https:///x"
expect 2 "no URL" -- "$CLIENT"
expect 2 "unknown option" -- "$CLIENT" --frobnicate https://127.0.0.1:1/
expect 2 "bad --timeout" -- "$CLIENT" --timeout x https://127.0.0.1:1/
expect 2 "same server" -- "$CLIENT" https://127.0.0.1:1/ https://127.0.0.1:2/
expect 2 "is required" -- "$SERVER" --root /
expect 2 "not a directory" -- "$SERVER" --listen 127.0.0.1:0 --root /nonexistent
expect 2 "bad --listen" -- "$SERVER" --listen nowhere --root /
expect 2 "unknown --cc" -- "$SERVER" --listen 127.0.0.1:0 --root / --cc bbr
expect 0 "" -- "$CLIENT" --help
expect 0 "" -- "$SERVER" --help

# No server: fails within the timeout (2 s) with a clear line. The port is
# held by a socket that never answers (a free port could be taken by another
# test's server meanwhile).
udp_black_hole
P=$HOLE_PORT
timed "$CLIENT" --insecure --timeout 2 "https://127.0.0.1:$P/x" 2> "$WORK/err"
rc=$?
[ "$rc" != 0 ] || fail "no server: exit status 0"
grep -q "no answer from 127.0.0.1:$P" "$WORK/err" || { cat "$WORK/err"; fail "no server: message"; }
python3 -c "import sys; sys.exit(0 if $ELAPSED < 4 else 1)" || fail "no server: took $ELAPSED s"
ok "no server -> $rc after ${ELAPSED}s"

# Wrong certificate: the server's self-signed one is not in the system store.
mkdir "$WORK/root"
echo hello > "$WORK/root/index.html"
start_tern_server "$WORK/root"
expect 3 "certificate is not trusted" -- timeout 10 "$CLIENT" "https://127.0.0.1:$PORT/"
expect 3 "certificate is not trusted" -- timeout 10 "$CLIENT" --ca /etc/ssl/certs/ca-certificates.crt "https://127.0.0.1:$PORT/"
# HTTP errors: exit 1 with the status.
expect 1 "HTTP status 404" -- timeout 10 "$CLIENT" --ca "$SRV_CERT" "https://127.0.0.1:$PORT/missing"
expect 1 "HTTP status 404" -- timeout 10 "$CLIENT" --hq --ca "$SRV_CERT" "https://127.0.0.1:$PORT/missing"
expect 1 "HTTP status 400" -- timeout 10 "$CLIENT" --ca "$SRV_CERT" "https://127.0.0.1:$PORT/%2e%2e/etc/passwd"
# Correct certificate works.
expect 0 "" -- timeout 10 "$CLIENT" --ca "$SRV_CERT" "https://localhost:$PORT/"

# Name mismatch: --cert/--key for another name, trusted with --ca.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=example.invalid \
    -addext "subjectAltName=DNS:example.invalid" -keyout "$WORK/other.key" -out "$WORK/other.pem" 2>/dev/null \
    || fail "openssl"
start_tern_server "$WORK/root" --cert "$WORK/other.pem" --key "$WORK/other.key"
expect 3 "not trusted or does not match" -- timeout 10 "$CLIENT" --ca "$WORK/other.pem" "https://127.0.0.1:$PORT/"
expect 2 "go together" -- "$SERVER" --listen 127.0.0.1:0 --root "$WORK/root" --cert "$WORK/other.pem"
