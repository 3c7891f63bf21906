#!/bin/bash
# User mistakes and failures give one clear line, a documented exit status,
# and never lose or half-write a user's file. Table-driven: each row is
#   row STATUS MESSAGE POST -- command...
# STATUS the exit status wanted, MESSAGE a substring of stderr ("" none),
# POST a bash condition on files or on the JSON summary checked afterwards
# ("" none; helpers below). Only loopback addresses.
BIN=$1
. "$(dirname "$0")/lib.sh"

row() {
    local want=$1 pat=$2 post=$3; shift 4
    "$@" > "$WORK/out" 2> "$WORK/err"
    local rc=$?
    [ "$rc" = "$want" ] || { cat "$WORK/err" >&2; fail "'$*': exit status $rc, want $want"; }
    [ -z "$pat" ] || grep -qF -- "$pat" "$WORK/err" || { cat "$WORK/err" >&2; fail "'$*': no message with '$pat'"; }
    [ -z "$post" ] || eval "$post" || { cat "$WORK/err" >&2; fail "'$*': post-condition failed: $post"; }
    ok "$* -> $rc${pat:+: $(grep -F -- "$pat" "$WORK/err" | head -1)}"
}

# ---- post-conditions ----
content() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ] || { echo "$1: not '$2'" >&2; return 1; }; }
absent() { [ ! -e "$1" ] || { echo "$1 exists" >&2; return 1; }; }
same() { [ -f "$2" ] && cmp -s "$1" "$2" || { echo "$2 differs from $1" >&2; return 1; }; }
# no temporary file (.NAME.XXXXXX) left in DIR
no_temp() {
    local left
    left=$(find "$1" -maxdepth 1 -name '.*.??????' 2>/dev/null)
    [ -z "$left" ] || { echo "left behind: $left" >&2; return 1; }
}
# json PYTHON-EXPR: true of d, the --json summary on stdout
json() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
    "$WORK/out" "$1" || { cat "$WORK/out" >&2; return 1; }; }

# ---- usage ----
row 2 "bad URL" "" -- "$CLIENT" "http://127.0.0.1:4433/"
row 2 "bad URL" "" -- "$CLIENT" "https://127.0.0.1:99999/"
row 2 "bad URL" "" -- "$CLIENT" "https:///x"
row 2 "no URL" "" -- "$CLIENT"
row 2 "unknown option" "" -- "$CLIENT" --frobnicate https://127.0.0.1:1/
row 2 "bad --timeout" "" -- "$CLIENT" --timeout x https://127.0.0.1:1/
row 2 "same server" "" -- "$CLIENT" https://127.0.0.1:1/ https://127.0.0.1:2/
row 2 "is required" "" -- "$SERVER" --root /
row 2 "not a directory" "" -- "$SERVER" --listen 127.0.0.1:0 --root /nonexistent
row 2 "bad --listen" "" -- "$SERVER" --listen nowhere --root /
row 2 "unknown --cc" "" -- "$SERVER" --listen 127.0.0.1:0 --root / --cc bbr
row 2 "bad --handshake-timeout" "" -- "$SERVER" --listen 127.0.0.1:0 --root / --handshake-timeout -1
row 2 "bad --handshake-timeout" "" -- "$SERVER" --listen 127.0.0.1:0 --root / --handshake-timeout 5x
row 0 "" "grep -q 'Exit status' '$WORK/out'" -- "$CLIENT" --help
row 0 "" "grep -q disable-active-migration '$WORK/out' && grep -q handshake-timeout '$WORK/out'" -- "$SERVER" --help

# Saved names: refused or colliding before connecting (port 1: nothing
# listens; a usage error must come first), nothing created.
D=$WORK/dl
mkdir "$D"
echo precious > "$D/keep"
row 2 "contains '/'" "absent '$D/od'" -- "$CLIENT" --output-dir "$D/od" "https://127.0.0.1:1/a%2fb"
row 2 "contains NUL" "absent '$D/od'" -- "$CLIENT" --output-dir "$D/od" "https://127.0.0.1:1/a%00b"
row 2 "'.' or '..'" "absent '$D/od'" -- "$CLIENT" --output-dir "$D/od" "https://127.0.0.1:1/x/%2e%2E"
row 2 "'.' or '..'" "absent '$D/od'" -- "$CLIENT" --output-dir "$D/od" "https://127.0.0.1:1/x/.."
row 2 "two hex digits" "absent '$D/od'" -- "$CLIENT" --output-dir "$D/od" "https://127.0.0.1:1/a%zz"
row 2 "'https://127.0.0.1:1/f1m.bin' and 'https://127.0.0.1:1/sub/f1m.bin' would both be saved as $D/od/f1m.bin" \
    "absent '$D/od'" -- "$CLIENT" --output-dir "$D/od" https://127.0.0.1:1/f1m.bin https://127.0.0.1:1/sub/f1m.bin
row 2 "would both be saved" "absent '$D/od'" -- "$CLIENT" --output-dir "$D/od" https://127.0.0.1:1/x https://127.0.0.1:1/x
row 2 "is a directory" "" -- "$CLIENT" --output "$D" https://127.0.0.1:1/x
row 2 "is not a directory" "content '$D/keep' precious" -- "$CLIENT" --output-dir "$D/keep" https://127.0.0.1:1/x

# No server: fails within the timeout (2 s) with a clear line; the file
# given to --output keeps its content. The port is held by a socket that
# never answers (a free port could be taken by another test's server).
udp_black_hole
P=$HOLE_PORT
timed "$CLIENT" --insecure --timeout 2 --output "$D/keep" "https://127.0.0.1:$P/x" 2> "$WORK/err"
rc=$?
[ "$rc" = 3 ] || fail "no server: exit status $rc"
grep -q "no answer from 127.0.0.1:$P" "$WORK/err" || { cat "$WORK/err"; fail "no server: message"; }
python3 -c "import sys; sys.exit(0 if $ELAPSED < 4 else 1)" || fail "no server: took $ELAPSED s"
content "$D/keep" precious && no_temp "$D" || fail "no server: --output file changed"
ok "no server -> $rc after ${ELAPSED}s, --output file untouched"

# ---- against tern-server ----
mkdir -p "$WORK/root/sub"
echo hello > "$WORK/root/index.html"
echo hello > "$WORK/root/hello.txt"
echo spaced > "$WORK/root/a b.txt"
make_file "$WORK/root/f5m.bin" 5
make_file "$WORK/root/f1m.bin" 1
make_file "$WORK/root/sub/f1m.bin" 1
start_tern_server "$WORK/root"
U=https://127.0.0.1:$PORT
CA=(--ca "$SRV_CERT")
# Wrong certificate: the server's self-signed one is not in the system store.
row 3 "certificate is not trusted" "content '$D/keep' precious && no_temp '$D'" -- \
    timeout 10 "$CLIENT" --output "$D/keep" "$U/"
row 3 "certificate is not trusted" "" -- timeout 10 "$CLIENT" --ca /etc/ssl/certs/ca-certificates.crt "$U/"
# HTTP errors: exit 1 with the status; a pre-existing --output file keeps
# its content, no temporary file is left, the 404 body is not saved.
row 1 "HTTP status 404" "content '$D/keep' precious && no_temp '$D'" -- \
    timeout 10 "$CLIENT" "${CA[@]}" --output "$D/keep" "$U/missing"
row 1 "HTTP status 404" "content '$D/keep' precious && no_temp '$D'" -- \
    timeout 10 "$CLIENT" --hq "${CA[@]}" --output "$D/keep" "$U/missing"
row 1 "HTTP status 400" "" -- timeout 10 "$CLIENT" "${CA[@]}" "$U/%2e%2e/etc/passwd"
row 1 "HTTP status 404" "absent '$D/missing' && no_temp '$D'" -- \
    timeout 10 "$CLIENT" "${CA[@]}" --output "$D/missing" "$U/missing"
# Correct certificate works, and replaces the file.
row 0 "" "content '$D/keep' hello && no_temp '$D'" -- timeout 10 "$CLIENT" "${CA[@]}" --output "$D/keep" "https://localhost:$PORT/"
echo precious > "$D/keep"

# One HTTP error does not abort the other requests of the call; each
# request's outcome is in the summary; the failed one leaves nothing.
for proto in --hq ""; do
    od=$D/od$proto
    row 1 "HTTP status 404 for $U/nonexist" \
        "same '$WORK/root/f5m.bin' '$od/f5m.bin' && same '$WORK/root/hello.txt' '$od/hello.txt' && absent '$od/nonexist' \
         && no_temp '$od' && json '[(r[\"ok\"], r[\"saved\"] is not None, r[\"bytes\"]) for r in d[\"requests\"]] == \
            [(True, True, 5000000), (True, True, 6), (False, False, 0)] and d[\"exit_status\"] == 1 \
            and d[\"requests\"][2][\"status\"] == 404 and \"404\" in d[\"requests\"][2][\"error\"]'" -- \
        timeout 20 "$CLIENT" "${CA[@]}" $proto --json --output-dir "$od" "$U/f5m.bin" "$U/hello.txt" "$U/nonexist"
    grep -qF "$U/hello.txt: ok" "$WORK/err" || fail "no per-request summary line"
done
# --output-dir is created (with its parents); names %-decoded, query
# string stripped; two failures: the summary says how many.
row 0 "" "content '$D/new/deep/a b.txt' spaced && content '$D/new/deep/hello.txt' hello && no_temp '$D/new/deep'" -- \
    timeout 10 "$CLIENT" "${CA[@]}" --output-dir "$D/new/deep" "$U/a%20b.txt" "$U/hello.txt?x=1/2"
row 1 "2 of 3 requests failed" "content '$D/two/hello.txt' hello && absent '$D/two/m1' && absent '$D/two/m2'" -- \
    timeout 10 "$CLIENT" "${CA[@]}" --output-dir "$D/two" "$U/m1" "$U/hello.txt" "$U/m2"

# Local write errors: exit 5, the file and strerror named, nothing left.
# (The tests may run as root: no read-only directories; a missing one, a
# file in the way, and a file-size limit instead.)
row 5 "cannot create a temporary file beside $D/nodir/x: No such file or directory" "absent '$D/nodir'" -- \
    timeout 10 "$CLIENT" "${CA[@]}" --output "$D/nodir/x" "$U/hello.txt"
row 5 "cannot create --output-dir $D/keep/sub: Not a directory" "content '$D/keep' precious" -- \
    timeout 10 "$CLIENT" "${CA[@]}" --output-dir "$D/keep/sub" "$U/hello.txt"
row 5 "cannot write $D/keep (temporary file for $U/bytes/5000000): File too large" \
    "content '$D/keep' precious && no_temp '$D'" -- \
    timeout 20 bash -c 'ulimit -f 1024 && exec "$@"' sh "$CLIENT" "${CA[@]}" --output "$D/keep" "$U/bytes/5000000"
# ... and the other requests of the call still complete.
row 5 "File too large" "same '$WORK/root/hello.txt' '$D/lim/hello.txt' && absent '$D/lim/5000000' && no_temp '$D/lim'" -- \
    timeout 20 bash -c 'ulimit -f 1024 && exec "$@"' sh "$CLIENT" "${CA[@]}" --output-dir "$D/lim" \
    "$U/bytes/5000000" "$U/hello.txt"

# SIGINT / SIGTERM during a download (of 100 GB: it cannot end first):
# once the temporary file has grown, the signal; exit 128+N, one line,
# no partial file, the old file untouched, finished files kept.
interrupt() { # interrupt SIG STATUS DIR GLOB client-args...
    local sig=$1 want=$2 dir=$3 glob=$4; shift 4
    with_default_sigint "$CLIENT" "${CA[@]}" "$@" > "$WORK/out" 2> "$WORK/err" &
    local pid=$!
    PIDS+=($pid)
    wait_until "a growing temporary file $dir/$glob" grown "$dir/$glob" 1000000
    kill -"$sig" "$pid"
    wait "$pid"
    local rc=$?
    [ "$rc" = "$want" ] || { cat "$WORK/err" >&2; fail "SIG$sig: exit status $rc, want $want"; }
    [ "$(grep -c "interrupted by SIG$sig" "$WORK/err")" = 1 ] || { cat "$WORK/err" >&2; fail "SIG$sig: message"; }
    no_temp "$dir" || fail "SIG$sig: partial file left"
    ok "SIG$sig during a download -> $rc: $(grep "interrupted" "$WORK/err")"
}
interrupt INT 130 "$D" ".keep.*" --quiet --output "$D/keep" "$U/bytes/100000000000"
content "$D/keep" precious || fail "SIGINT: --output file changed"
mkdir "$D/sig"
interrupt TERM 143 "$D/sig" ".100000000000.*" --json --output-dir "$D/sig" "$U/hello.txt" "$U/bytes/100000000000"
same "$WORK/root/hello.txt" "$D/sig/hello.txt" && absent "$D/sig/100000000000" || fail "SIGTERM: files"
json 'd["exit_status"] == 143 and d["requests"][0]["ok"] and not d["requests"][1]["ok"]' || fail "SIGTERM: summary"

# tern-server removes its generated certificate's directory when it stops
# (SIGTERM here, SIGINT below).
stop_server() { # stop_server SIG
    local dir
    dir=$(dirname "$SRV_CERT")
    [ -d "$dir" ] || fail "no certificate directory $dir"
    kill -"$1" "$SRV_PID"
    wait "$SRV_PID"
    local rc=$?
    [ "$rc" = 0 ] || fail "tern-server SIG$1: exit status $rc"
    absent "$dir" || fail "tern-server SIG$1: $dir left behind"
    ok "tern-server SIG$1 -> 0, $dir removed"
}
stop_server TERM

# Migration the server forbids: one line, and the JSON says why.
SRV_PREFIX=(with_default_sigint)
start_tern_server "$WORK/root" --disable-active-migration
SRV_PREFIX=()
row 0 "migration not done: server sent disable_active_migration" \
    "json 'd[\"migration\"] == {\"requested\": True, \"done\": False, \"reason\": \"disable_active_migration\"}'" -- \
    timeout 20 "$CLIENT" --insecure --json --migrate-after 0 "https://127.0.0.1:$PORT/f5m.bin"
stop_server INT
start_tern_server "$WORK/root"
# (A migration that is done: tests/tools/migration.sh.)
row 0 "" "json 'd[\"migration\"] is None'" -- timeout 20 "$CLIENT" --insecure --json "https://127.0.0.1:$PORT/hello.txt"
stop_server TERM

# Name mismatch: --cert/--key for another name, trusted with --ca.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=example.invalid \
    -addext "subjectAltName=DNS:example.invalid" -keyout "$WORK/other.key" -out "$WORK/other.pem" 2>/dev/null \
    || fail "openssl"
start_tern_server "$WORK/root" --cert "$WORK/other.pem" --key "$WORK/other.key"
row 3 "not trusted or does not match" "" -- timeout 10 "$CLIENT" --ca "$WORK/other.pem" "https://127.0.0.1:$PORT/"
row 2 "go together" "" -- "$SERVER" --listen 127.0.0.1:0 --root "$WORK/root" --cert "$WORK/other.pem"
