#!/usr/bin/env bash
# make demo: tern-server on 127.0.0.1 serves a generated 200 MB file, paced at
# 200 Mbit/s so the download lasts about 8 s, and every second tells its
# client to move to a random one of its addresses 127.0.0.2-127.0.0.9 (a
# SERVER_ALTERNATE_ADDRESS frame, draft-saa-ali-quic; one wildcard socket
# serves the range); tern-client downloads with a progress display showing
# the current server address, validates each new server address and moves;
# the copy is checked with sha256, each move and the summary printed, the
# server stopped. Exit 0 only if all is well.
# Usage: scripts/demo.sh [BUILD_DIR]   (SIZE_MB=N to change the file size)
set -uo pipefail
BUILD=${1:-build}
SIZE_MB=${SIZE_MB:-200}
BIN=$BUILD/tools
for t in tern-server tern-client; do
    [ -x "$BIN/$t" ] || { echo "demo: $BIN/$t missing (run: cmake --build $BUILD)" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tern-demo-XXXXXX")
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID"
        wait "$SERVER_PID" 2>/dev/null
    fi
    rm -rf "$WORK" 2>/dev/null
}
trap cleanup EXIT
die() { echo "demo: FAILED: $*" >&2; [ -f "$WORK/server.log" ] && sed 's/^/  server| /' "$WORK/server.log" >&2; exit 1; }

echo "demo: generating a ${SIZE_MB} MB file in $WORK"
mkdir "$WORK/www"
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom > "$WORK/www/demo.bin" || die "cannot write the file"
SRC_SHA=$(sha256sum "$WORK/www/demo.bin" | cut -d' ' -f1)

TMPDIR=$WORK "$BIN/tern-server" --listen 127.0.0.1:0 --rotate 1 --pool 127.0.0.2-127.0.0.9:0 --max-rate 200 \
    --root "$WORK/www" > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
PORT=
for _ in $(seq 100); do
    PORT=$(sed -n 's/^tern-server: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/server.log")
    [ -n "$PORT" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || die "tern-server exited"
    sleep 0.05
done
[ -n "$PORT" ] || die "tern-server did not start"
CERT=$(sed -n 's/^tern-server: self-signed certificate: \([^ ]*\) .*/\1/p' "$WORK/server.log")
POOLPORT=$(sed -n 's/^tern-server: listening on 127\.0\.0\.2-9 port \([0-9]*\) (rotation pool, one socket)$/\1/p' "$WORK/server.log")
[ -n "$POOLPORT" ] || die "tern-server has no rotation pool"
echo "demo: tern-server (pid $SERVER_PID) listening on 127.0.0.1:$PORT, certificate $CERT"
echo "demo: every second it moves its client to a random one of 127.0.0.2-127.0.0.9, port $POOLPORT"

URL="https://127.0.0.1:$PORT/demo.bin"
echo "demo: tern-client --ca $CERT --output <tmp>/got.bin --progress --json $URL"
"$BIN/tern-client" --ca "$CERT" --output "$WORK/got.bin" --progress --json --timeout 120 "$URL" > "$WORK/client.json"
rc=$?
[ $rc = 0 ] || die "tern-client exit status $rc"
MOVED=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["path_remote"], d["migrations"])' "$WORK/client.json")
case ${MOVED% *} in 127.0.0.[2-9]:"$POOLPORT") ;; *) die "the client did not end on a pool address (it ended on ${MOVED% *})" ;; esac
[ "${MOVED#* }" -ge 3 ] || die "only ${MOVED#* } moves"
echo "demo: the server moved its client ${MOVED#* } times during the download; it finished on ${MOVED% *}"

GOT_SHA=$(sha256sum "$WORK/got.bin" | cut -d' ' -f1)
[ "$GOT_SHA" = "$SRC_SHA" ] || die "sha256 mismatch: sent $SRC_SHA, received $GOT_SHA"
echo "demo: sha256 $GOT_SHA matches the source"

kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
src=$?
SERVER_PID=
echo "demo: server log:"
sed 's/^/  server| /' "$WORK/server.log"
[ $src = 0 ] || die "tern-server exit status $src"
echo "demo: OK"
