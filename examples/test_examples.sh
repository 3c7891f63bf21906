#!/bin/bash
# ctest examples/*: the example programs against each other, against
# tern-server, and built from an installed tree with pkg-config.
#   server_client       example server + example client, sha256 compared
#   client_tern_server  tern-server + example client
#   install_pkgconfig   cmake --install into a temp DESTDIR, cc client.c with
#                       pkg-config --cflags --libs tern, run against the
#                       example server
# Environment (set by examples/CMakeLists.txt): EXAMPLE_CLIENT,
# EXAMPLE_SERVER, TERN_SERVER, TERN_BUILD, TERN_SRC, CC, EXTRA_CFLAGS.
set -euo pipefail
case_name=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/tern-examples.XXXXXX")
SPID=
cleanup() {
    if [ -n "$SPID" ]; then kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; fi
    rm -rf "$T"
}
trap 'rc=$?; cleanup; exit $rc' EXIT

mkdir -p "$T/root"
head -c 3000000 /dev/urandom >"$T/root/file.bin"
want=$(sha256sum <"$T/root/file.bin" | cut -d' ' -f1)

# Waits for "listening on 127.0.0.1:PORT" in $1 (the server's log) and
# prints PORT; fails if the server dies or 20 s pass.
wait_port() {
    for _ in $(seq 400); do
        port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$1" | head -1)
        if [ -n "$port" ]; then echo "$port"; return 0; fi
        kill -0 "$SPID" 2>/dev/null || { echo "server died:" >&2; cat "$1" >&2; return 1; }
        sleep 0.05
    done
    echo "server not ready:" >&2; cat "$1" >&2; return 1
}

start_example_server() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
        -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
    "$EXAMPLE_SERVER" 127.0.0.1 0 "$T/root" "$T/cert.pem" "$T/key.pem" >"$T/server.log" 2>&1 &
    SPID=$!
    PORT=$(wait_port "$T/server.log")
}

check() { # $1: fetched file
    got=$(sha256sum <"$1" | cut -d' ' -f1)
    if [ "$got" != "$want" ]; then
        echo "sha256 mismatch: got $got want $want ($(stat -c %s "$1") bytes)" >&2
        exit 1
    fi
    echo "ok: $case_name, sha256 $got"
}

case $case_name in
server_client)
    start_example_server
    # Verified against the certificate (--ca), not -k.
    timeout 60 "$EXAMPLE_CLIENT" --ca "$T/cert.pem" "https://127.0.0.1:$PORT/file.bin" "$T/got.bin"
    check "$T/got.bin"
    # To stdout as well; a missing file fails.
    timeout 60 "$EXAMPLE_CLIENT" -k "https://127.0.0.1:$PORT/file.bin" >"$T/stdout.bin"
    check "$T/stdout.bin"
    if timeout 60 "$EXAMPLE_CLIENT" -k "https://127.0.0.1:$PORT/nope" "$T/nope" 2>/dev/null; then
        echo "missing file fetched?" >&2; exit 1
    fi
    ;;
client_tern_server)
    "$TERN_SERVER" --listen 127.0.0.1:0 --root "$T/root" >"$T/server.log" 2>&1 &
    SPID=$!
    PORT=$(wait_port "$T/server.log")
    timeout 60 "$EXAMPLE_CLIENT" -k "https://127.0.0.1:$PORT/file.bin" "$T/got.bin"
    check "$T/got.bin"
    ;;
install_pkgconfig)
    D="$T/destdir"
    DESTDIR="$D" cmake --install "$TERN_BUILD" --prefix /usr/local >"$T/install.log"
    for f in usr/local/include/tern/tern.h usr/local/include/tern/version.h usr/local/lib/libtern.a \
             usr/local/lib/pkgconfig/tern.pc usr/local/bin/tern-server usr/local/bin/tern-client; do
        [ -e "$D/$f" ] || { echo "not installed: $f" >&2; exit 1; }
    done
    export PKG_CONFIG_PATH="$D/usr/local/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$D"
    flags=$(pkg-config --cflags --libs tern)
    echo "pkg-config --cflags --libs tern: $flags"
    # shellcheck disable=SC2086
    ${CC:-cc} ${EXTRA_CFLAGS:-} "$TERN_SRC/examples/client.c" $flags -o "$T/client"
    "$D/usr/local/bin/tern-client" --version | grep -q "^tern-client [0-9]*\.[0-9]*\.[0-9]*$"
    export LD_LIBRARY_PATH="$D/usr/local/lib"
    start_example_server
    timeout 60 "$T/client" --ca "$T/cert.pem" "https://127.0.0.1:$PORT/file.bin" "$T/got.bin"
    check "$T/got.bin"
    ;;
*) echo "unknown case $case_name" >&2; exit 2 ;;
esac
