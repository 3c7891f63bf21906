# Shared helpers for the tools and interop tests (sourced by bash scripts).
# Usage: lib.sh is sourced with BIN=<dir of tern-server/tern-client>.
set -u
BIN=${BIN:?BIN must name the directory holding tern-server and tern-client}
SERVER=$BIN/tern-server
CLIENT=$BIN/tern-client
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tern-test-XXXXXX")
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# A free UDP port on 127.0.0.1 (the kernel's choice, released at once).
free_port() {
    python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# make_file PATH MB: random content.
make_file() { head -c $(($2 * 1000 * 1000)) /dev/urandom > "$1"; }

sha() { sha256sum "$1" | cut -d' ' -f1; }

same_file() { # same_file EXPECTED GOT WHAT
    [ -f "$2" ] || fail "$3: $2 missing"
    [ "$(sha "$1")" = "$(sha "$2")" ] || fail "$3: sha256 differs ($(stat -c %s "$2") bytes received)"
}

# start_tern_server ROOT [args...]: sets PORT, SRV_LOG, SRV_CERT, SRV_PID.
# SRV_PREFIX (an array, optional) is put before the command (e.g.
# with_default_sigint).
start_tern_server() {
    local root=$1; shift
    SRV_LOG=$WORK/server.log
    TMPDIR=$WORK ${SRV_PREFIX[@]+"${SRV_PREFIX[@]}"} "$SERVER" --listen 127.0.0.1:0 --root "$root" "$@" \
        > "$SRV_LOG" 2>&1 &
    PIDS+=($!)
    SRV_PID=$!
    for _ in $(seq 100); do
        PORT=$(sed -n 's/^tern-server: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$SRV_LOG" | head -1)
        [ -n "$PORT" ] && break
        kill -0 "$SRV_PID" 2>/dev/null || { cat "$SRV_LOG" >&2; fail "tern-server exited"; }
        sleep 0.05
    done
    [ -n "$PORT" ] || fail "tern-server did not start"
    SRV_CERT=$(sed -n 's/^tern-server: self-signed certificate: \([^ ]*\) .*/\1/p' "$SRV_LOG")
}

# A self-signed certificate for localhost/127.0.0.1 in $WORK (for gtlsserver).
make_cert() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null || fail "openssl could not make a certificate"
}

# Runs a command with a time limit, recording its duration in ELAPSED (s).
timed() {
    local t0 t1
    t0=$(date +%s.%N)
    "$@"
    local rc=$?
    t1=$(date +%s.%N)
    ELAPSED=$(python3 -c "print(round($t1 - $t0, 3))")
    return $rc
}

# Runs a command with SIGINT at its default action: a background job of a
# non-interactive shell starts with SIGINT ignored, which the tools respect.
# Replaces the (sub)shell: only for a background job, "with_default_sigint cmd &".
with_default_sigint() {
    exec python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' "$@"
}

# wait_until WHAT COMMAND...: polls COMMAND (every 20 ms, at most 20 s)
# until it succeeds; fails the test with WHAT otherwise. For readiness
# (a log line, a file), never a fixed sleep.
wait_until() {
    local what=$1; shift
    for _ in $(seq 1000); do
        "$@" && return 0
        sleep 0.02
    done
    fail "timed out waiting for $what"
}

# grown GLOB BYTES: one file matches GLOB and holds more than BYTES.
grown() {
    local f
    for f in $1; do
        [ -f "$f" ] && [ "$(stat -c %s "$f")" -gt "$2" ] && return 0
    done
    return 1
}
