# Shared helpers for the tools and interop tests (sourced by bash scripts).
# Usage: lib.sh is sourced with BIN=<dir of tern-server/tern-client>.
set -u
BIN=${BIN:?BIN must name the directory holding tern-server and tern-client}
SERVER=$BIN/tern-server
CLIENT=$BIN/tern-client
GS=${GTLSSERVER:-gtlsserver}
GC=${GTLSCLIENT:-gtlsclient}
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

# udp_black_hole: sets HOLE_PORT to the port of a UDP socket on 127.0.0.1
# that is bound (before this returns) and never answers; it lives until the
# test ends. (Not in $(...): the process must be this shell's child.)
udp_black_hole() {
    local f=$WORK/black-hole.$RANDOM
    python3 -c 'import socket,signal,sys
s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0))
print(s.getsockname()[1], flush=True); signal.pause()' > "$f" &
    PIDS+=($!)
    for _ in $(seq 400); do
        [ -s "$f" ] && { HOLE_PORT=$(cat "$f"); return 0; }
        sleep 0.05
    done
    fail "black-hole socket did not start"
}

# make_file PATH MB: random content.
make_file() { head -c $(($2 * 1000 * 1000)) /dev/urandom > "$1"; }

sha() { sha256sum "$1" | cut -d' ' -f1; }

same_file() { # same_file EXPECTED GOT WHAT
    [ -f "$2" ] || fail "$3: $2 missing"
    [ "$(sha "$1")" = "$(sha "$2")" ] || fail "$3: sha256 differs ($(stat -c %s "$2") bytes received)"
}

# try_start_tern_server ROOT [args...]: sets PORT, SRV_LOG, SRV_CERT, SRV_PID
# once tern-server logs its listening address (readiness by log line). Returns
# 1 if tern-server could not bind a port given in args (taken since
# free_port chose it: the caller picks another); fails the test otherwise.
# SRV_PREFIX (an array, optional) is put before the command (e.g.
# with_default_sigint).
try_start_tern_server() {
    local root=$1; shift
    SRV_LOG=$WORK/server.log
    PORT=
    TMPDIR=$WORK ${SRV_PREFIX[@]+"${SRV_PREFIX[@]}"} "$SERVER" --listen 127.0.0.1:0 --root "$root" "$@" \
        > "$SRV_LOG" 2>&1 &
    PIDS+=($!)
    SRV_PID=$!
    for _ in $(seq 400); do
        PORT=$(sed -n 's/^tern-server: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$SRV_LOG" | head -1)
        [ -n "$PORT" ] && break
        if ! kill -0 "$SRV_PID" 2>/dev/null; then
            grep -q "cannot listen on .*Address already in use" "$SRV_LOG" && return 1
            cat "$SRV_LOG" >&2; fail "tern-server exited"
        fi
        sleep 0.05
    done
    [ -n "$PORT" ] || fail "tern-server did not start within 20 s"
    SRV_CERT=$(sed -n 's/^tern-server: self-signed certificate: \([^ ]*\) .*/\1/p' "$SRV_LOG")
}

# start_tern_server ROOT [args...]: as above; every failure fails the test.
start_tern_server() { try_start_tern_server "$@" || fail "tern-server: $(tail -1 "$SRV_LOG")"; }

# start_tern_server_preferred ROOT [args...]: tern-server with a preferred
# address on a free port, P2 (chosen again if it is taken meanwhile).
start_tern_server_preferred() {
    local root=$1; shift
    for _ in 1 2 3 4 5; do
        P2=$(free_port)
        try_start_tern_server "$root" --preferred-address "127.0.0.1:$P2" "$@" && return 0
    done
    fail "tern-server: no free port for the preferred address in 5 tries"
}

# udp_bound_by PID PORT: true when process PID holds a UDP socket bound to
# port PORT (from /proc: its socket inodes against /proc/net/udp{,6}).
udp_bound_by() {
    local hex inode
    hex=$(printf ':%04X' "$2")
    for inode in $(awk -v p="$hex" '$2 ~ p"$" {print $10}' /proc/net/udp /proc/net/udp6 2>/dev/null); do
        ls -l "/proc/$1/fd" 2>/dev/null | grep -q "socket:\[$inode\]" && return 0
    done
    return 1
}

# start_gtlsserver_bg LOG [gtlsserver options before the address]: starts
# Debian's gtlsserver on 127.0.0.1:PORT with $WORK/key.pem and cert.pem and
# returns once it has bound PORT. An option containing @P2@ gets a second
# free port there (P2, e.g. for a preferred address), also waited for.
# gtlsserver prints nothing when ready, so readiness is the bound socket; a
# port taken since free_port chose it makes gtlsserver exit, and other ports
# are tried. Sets PORT, P2 and GS_PID.
start_gtlsserver_bg() {
    local log=$1; shift
    command -v "$GS" > /dev/null || fail "gtlsserver not found (Debian package ngtcp2-server; make deps)"
    local want_p2=0 a args
    for a in "$@"; do case $a in *@P2@*) want_p2=1 ;; esac; done
    for _ in 1 2 3 4 5; do
        PORT=$(free_port)
        P2=$(free_port)
        args=()
        for a in "$@"; do args+=("${a//@P2@/$P2}"); done
        "$GS" "${args[@]}" 127.0.0.1 "$PORT" "$WORK/key.pem" "$WORK/cert.pem" > "$log" 2>&1 &
        GS_PID=$!
        PIDS+=($GS_PID)
        for _ in $(seq 400); do
            if udp_bound_by "$GS_PID" "$PORT" && { [ $want_p2 = 0 ] || udp_bound_by "$GS_PID" "$P2"; }; then
                return 0
            fi
            kill -0 "$GS_PID" 2>/dev/null || break
            sleep 0.05
        done
        kill -0 "$GS_PID" 2>/dev/null && { cat "$log" >&2; fail "gtlsserver did not bind port $PORT within 20 s"; }
        wait "$GS_PID" 2>/dev/null
    done
    cat "$log" >&2
    fail "gtlsserver did not start (5 tries)"
}
# wait_log PATTERN [FILE]: waits (20 s at most) for a line matching PATTERN
# (grep) in FILE, default the server log.
wait_log() {
    local f=${2:-$SRV_LOG}
    for _ in $(seq 400); do
        grep -q -- "$1" "$f" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "no line matching '$1' in $f within 20 s" >&2
    return 1
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
