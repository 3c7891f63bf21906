#!/bin/bash
# tern-server's answer when a file cannot be opened, end to end over h3 and
# hq: absent -> 404, mode 000 -> 403, out of descriptors -> 503 (h3 with
# Retry-After), and one log line naming the cause. Usage: file_errors.sh BIN
BIN=$1
. "$(dirname "$0")/lib.sh"
mkdir "$WORK/root"
echo hello > "$WORK/root/hello.txt"
echo secret > "$WORK/root/secret.txt"
chmod 000 "$WORK/root/secret.txt"
ln -s /nonexistent/tern-target "$WORK/root/dangling"
# Root reads a mode-000 file, so as root the server runs as nobody (it
# then needs to reach the root directory and write its certificate).
SRV_PREFIX=()
if [ "$(id -u)" = 0 ]; then
    chmod 1777 "$WORK"
    chmod 755 "$WORK/root"
    SRV_PREFIX=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
start_tern_server "$WORK/root"
SRV_PREFIX=()
U=https://127.0.0.1:$PORT

get() { # get WANT_RC PATTERN client-args...: one request, its stderr checked
    local want=$1 pat=$2; shift 2
    timeout 10 "$CLIENT" --insecure "$@" > "$WORK/out" 2> "$WORK/err"
    local rc=$?
    [ "$rc" = "$want" ] || { cat "$WORK/err" >&2; fail "'$*': exit status $rc, want $want"; }
    grep -qF -- "$pat" "$WORK/err" || { cat "$WORK/err" >&2; fail "'$*': no '$pat'"; }
}

for proto in "" --hq; do
    get 1 "HTTP status 403 for $U/secret.txt" $proto "$U/secret.txt"
    wait_log "open /secret.txt: Permission denied -> 403" || fail "no 403 log line"
    get 1 "HTTP status 404 for $U/dangling" $proto "$U/dangling"
    wait_log "open /dangling: No such file or directory -> 404" || fail "no 404 log line"
    ok "${proto:-h3}: mode 000 -> 403, dangling symlink -> 404, each logged"
done

# Out of descriptors: the soft RLIMIT_NOFILE of a running server is lowered
# to its lowest free descriptor, so its next open() fails EMFILE. (A server
# of our own uid: changing another uid's limit needs CAP_SYS_RESOURCE.)
kill "$SRV_PID"
wait "$SRV_PID"
mv "$SRV_LOG" "$WORK/server-nobody.log"
start_tern_server "$WORK/root"
U=https://127.0.0.1:$PORT
lowest=0
while [ -e "/proc/$SRV_PID/fd/$lowest" ]; do lowest=$((lowest + 1)); done
hard=$(prlimit --pid "$SRV_PID" --nofile --noheadings --output HARD)
prlimit --pid "$SRV_PID" --nofile="$lowest:$hard" || fail "prlimit"
get 1 "HTTP status 503 for $U/hello.txt (Retry-After: 1)" "$U/hello.txt"
wait_log "open /hello.txt: Too many open files -> 503" || fail "no 503 log line"
get 1 "HTTP status 503 for $U/hello.txt" --hq "$U/hello.txt"
prlimit --pid "$SRV_PID" --nofile="$hard:$hard" || fail "prlimit"
# ... and served again (not 404) once descriptors are free.
get 0 "" --output "$WORK/got" "$U/hello.txt"
same_file "$WORK/root/hello.txt" "$WORK/got" "after EMFILE"
ok "EMFILE -> 503 (h3 and hq), logged; 200 once the limit is back"
