#!/bin/bash
# tern-client downloads a 10 MB file from tern-server (h3, or hq with --hq);
# sha256 compared. Usage: download.sh BIN [--hq]
BIN=$1; shift
. "$(dirname "$0")/lib.sh"
mkdir "$WORK/root"
make_file "$WORK/root/file10m" 10
start_tern_server "$WORK/root"
timeout 20 "$CLIENT" --ca "$SRV_CERT" --output "$WORK/got" "$@" "https://127.0.0.1:$PORT/file10m" \
    || fail "tern-client exit status $?"
same_file "$WORK/root/file10m" "$WORK/got" "download $*"
# Two URLs on one connection, into a directory.
mkdir "$WORK/out"
timeout 20 "$CLIENT" --insecure --quiet --output-dir "$WORK/out" "$@" \
    "https://127.0.0.1:$PORT/file10m" "https://127.0.0.1:$PORT/bytes/1000" || fail "two URLs: exit status $?"
same_file "$WORK/root/file10m" "$WORK/out/file10m" "output-dir"
[ "$(stat -c %s "$WORK/out/1000")" = 1000 ] || fail "/bytes/1000 not 1000 bytes"
ok "10 MB download $* sha256 ok, two URLs ok"
