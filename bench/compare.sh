#!/usr/bin/env bash
# tern vs Debian's ngtcp2 programs (gtlsserver/gtlsclient, ngtcp2 + GnuTLS) on
# loopback. Not a test: prints numbers. See docs/performance.md, "Comparison
# with ngtcp2 programs".
#
#   bench/compare.sh [BUILD_DIR]        (make bench-compare does this on build/)
#
# Environment:
#   SIZE_MB=1024  bulk file size (MiB)     N=3     bulk runs per stack
#   HS_N=50       connections per handshake round (HS_ROUNDS=3 rounds per stack)
#   IDLE_K=100    idle connections for the server RSS measurement (0: skip)
#   OUT=FILE      also write the per-run results (TSV) there
#
# 1. Bulk download of one page-cached file, tern-client <- tern-server and
#    gtlsclient <- gtlsserver, alternating, a fresh server per run. Both
#    clients discard the body (tern-client's default; gtlsclient without
#    --download). Goodput = file bytes / wall time of the client process
#    (process start, handshake and close included, the same for both). CPU =
#    user+sys of the client (/usr/bin/time) and of the server during the
#    client's run (/proc/PID/stat before and after). Completion: tern-client's
#    --json byte count; gtlsclient's exit status (it does not report bytes);
#    plus one untimed-for-median download per stack written to disk and
#    checked with sha256.
# 2. Handshakes: HS_N sequential client processes each fetching a 1 KiB file
#    (full handshake, no resumption), rounds alternating between stacks.
#    Dominated by process start-up for both (measured too: HS_N x --help).
# 3. Memory per idle connection: tern's library heap from bench_transfer
#    (simulator); and the RSS of each server with IDLE_K idle gtlsclient
#    connections (gtlsclient with no URL stays connected) minus with none.
set -uo pipefail
BUILD=${1:-build}
SIZE_MB=${SIZE_MB:-1024}
N=${N:-3}
HS_N=${HS_N:-50}
HS_ROUNDS=${HS_ROUNDS:-3}
IDLE_K=${IDLE_K:-100}
TS=$BUILD/tools/tern-server
TC=$BUILD/tools/tern-client
GS=${GTLSSERVER:-/usr/sbin/gtlsserver}
GC=${GTLSCLIENT:-/usr/bin/gtlsclient}
GOPT=(-q --no-quic-dump --no-http-dump)

die() { echo "compare: $*" >&2; exit 1; }
for x in "$TS" "$TC" "$GS" "$GC" /usr/bin/time; do [ -x "$x" ] || die "$x missing"; done
command -v python3 > /dev/null || die "python3 missing"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tern-compare-XXXXXX")
SRV=
cleanup() {
    stop_server
    [ -n "${IDLE_PIDS:-}" ] && for p in $IDLE_PIDS; do kill "$p" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT
RES=$WORK/results.tsv
: > "$RES"

load() { cut -d' ' -f1-3 /proc/loadavg; }
# user+sys clock ticks of a process (fields 14+15 of /proc/PID/stat).
ticks() { awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat" 2>/dev/null || echo 0; }
HZ=$(getconf CLK_TCK)
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
now_ns() { date +%s%N; }
free_port() {
    python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

stop_server() {
    if [ -n "$SRV" ] && kill -0 "$SRV" 2>/dev/null; then
        kill -TERM "$SRV"
        wait "$SRV" 2>/dev/null
    fi
    SRV=
}

start_server() { # tern|ngtcp2; sets SRV, PORT
    PORT=$(free_port)
    if [ "$1" = tern ]; then
        "$TS" --listen "127.0.0.1:$PORT" --root "$WORK/www" --cert "$WORK/cert.pem" --key "$WORK/key.pem" \
            --quiet > "$WORK/server.log" 2>&1 &
        SRV=$!
        for _ in $(seq 100); do
            grep -q '^tern-server: listening' "$WORK/server.log" && return 0
            kill -0 "$SRV" 2>/dev/null || break
            sleep 0.02
        done
    else
        "$GS" "${GOPT[@]}" -d "$WORK/www" 127.0.0.1 "$PORT" "$WORK/key.pem" "$WORK/cert.pem" \
            > "$WORK/server.log" 2>&1 &
        SRV=$!
        for _ in $(seq 100); do
            ss -Hlun "sport = :$PORT" 2>/dev/null | grep -q . && return 0
            kill -0 "$SRV" 2>/dev/null || break
            sleep 0.02
        done
    fi
    cat "$WORK/server.log" >&2
    die "$1 server did not start"
}

# client STACK PATH [save]: runs one download; the command goes to stdout
client_cmd() {
    local url="https://127.0.0.1:$PORT/$2"
    if [ "$1" = tern ]; then
        CMD=("$TC" --ca "$WORK/cert.pem" --quiet --json --timeout 300)
        [ "${3:-}" = save ] && CMD+=(--output "$WORK/dl/$(basename "$2")")
        CMD+=("$url")
    else
        CMD=("$GC" "${GOPT[@]}" --exit-on-all-streams-close --timeout=30s)
        [ "${3:-}" = save ] && CMD+=(--download="$WORK/dl")
        CMD+=(127.0.0.1 "$PORT" "$url")
    fi
}

# bulk STACK RUN_LABEL [save]: one download with a fresh server; appends a row
bulk() {
    local stack=$1 label=$2 save=${3:-}
    rm -rf "$WORK/dl" && mkdir "$WORK/dl"
    start_server "$stack"
    local ld s0 s1 t0 t1 rc
    ld=$(load)
    client_cmd "$stack" big.bin "$save"
    s0=$(ticks "$SRV")
    t0=$(now_ns)
    /usr/bin/time -f '%U %S' -o "$WORK/time" "${CMD[@]}" > "$WORK/client.out" 2> "$WORK/client.err"
    rc=$?
    t1=$(now_ns)
    s1=$(ticks "$SRV")
    stop_server
    [ $rc = 0 ] || { tail -5 "$WORK/client.err" >&2; die "$stack client exit status $rc ($label)"; }
    if [ "$stack" = tern ]; then
        local got
        got=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes"])' < "$WORK/client.out") ||
            die "tern-client --json unreadable"
        [ "$got" = "$SIZE" ] || die "tern-client received $got bytes, expected $SIZE"
    fi
    if [ "$save" = save ]; then
        local f=$WORK/dl/big.bin
        [ -f "$f" ] || die "$stack: no downloaded file"
        [ "$(stat -c %s "$f")" = "$SIZE" ] || die "$stack: downloaded $(stat -c %s "$f") bytes, expected $SIZE"
        [ "$(sha256sum < "$f" | cut -d' ' -f1)" = "$SRC_SHA" ] || die "$stack: sha256 differs"
        rm -f "$f"
        label="$label+sha256"
    fi
    read -r cu cs < <(tail -1 "$WORK/time")
    printf 'bulk\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$stack" "$label" "$(( (t1 - t0) / 1000 ))" "$cu" "$cs" \
        "$(( s1 - s0 ))" "$ld" "$save" >> "$RES"
    tail -1 "$RES" | awk -F'\t' -v size="$SIZE" -v hz="$HZ" '{
        w = $4 / 1e6; printf "  %-6s %-12s %7.3f s  %7.1f Mbit/s  client CPU %.2f s  server CPU %.2f s  load %s\n",
        $2, $3, w, size * 8 / w / 1e6, $5 + $6, $7 / hz, $8 }'
}

# handshakes STACK ROUND: HS_N sequential connections fetching tiny.bin
handshakes() {
    local stack=$1 label=$2 ld s0 s1 t0 t1 i
    start_server "$stack"
    ld=$(load)
    client_cmd "$stack" tiny.bin
    s0=$(ticks "$SRV")
    t0=$(now_ns)
    for ((i = 0; i < HS_N; i++)); do
        "${CMD[@]}" > /dev/null 2> "$WORK/client.err" || { cat "$WORK/client.err" >&2; die "$stack handshake $i failed"; }
    done
    t1=$(now_ns)
    s1=$(ticks "$SRV")
    stop_server
    printf 'hs\t%s\t%s\t%s\t\t\t%s\t%s\t\n' "$stack" "$label" "$(( (t1 - t0) / 1000 ))" "$(( s1 - s0 ))" "$ld" >> "$RES"
    tail -1 "$RES" | awk -F'\t' -v n="$HS_N" -v hz="$HZ" '{
        printf "  %-6s %-8s %d connections in %.2f s: %.1f /s, server CPU %.2f ms per handshake, load %s\n",
        $2, $3, n, $4 / 1e6, n / ($4 / 1e6), $7 / hz * 1000 / n, $8 }'
}

# process start-up alone: HS_N x "CLIENT --help"
startup() {
    local stack=$1 t0 t1 i bin=$TC
    [ "$stack" = ngtcp2 ] && bin=$GC
    t0=$(now_ns)
    for ((i = 0; i < HS_N; i++)); do "$bin" --help > /dev/null 2>&1; done
    t1=$(now_ns)
    printf 'startup\t%s\t-\t%s\t\t\t\t%s\t\n' "$stack" "$(( (t1 - t0) / 1000 ))" "$(load)" >> "$RES"
    tail -1 "$RES" | awk -F'\t' -v n="$HS_N" '{ printf "  %-6s %d x --help in %.2f s: %.1f ms per process start\n", $2, n, $4 / 1e6, $4 / 1e3 / n }'
}

# idle STACK: server RSS with IDLE_K idle gtlsclient connections
idle() {
    local stack=$1 r0 r1 i up
    start_server "$stack"
    sleep 0.2
    r0=$(rss_kb "$SRV")
    IDLE_PIDS=
    for ((i = 0; i < IDLE_K; i++)); do
        "$GC" "${GOPT[@]}" --timeout=120s 127.0.0.1 "$PORT" > /dev/null 2>&1 &
        IDLE_PIDS="$IDLE_PIDS $!"
        (( i % 10 == 9 )) && sleep 0.1
    done
    sleep 3 # handshakes done, connections idle
    up=0
    for p in $IDLE_PIDS; do kill -0 "$p" 2>/dev/null && up=$((up + 1)); done
    r1=$(rss_kb "$SRV")
    for p in $IDLE_PIDS; do kill "$p" 2>/dev/null; done
    for p in $IDLE_PIDS; do wait "$p" 2>/dev/null; done
    IDLE_PIDS=
    stop_server
    printf 'idle\t%s\t%s\t%s\t%s\t%s\t\t%s\t\n' "$stack" "$up" "$r0" "$r1" "$IDLE_K" "$(load)" >> "$RES"
    echo "  $stack server RSS: $r0 kB idle, $r1 kB with $up of $IDLE_K idle gtlsclient connections:" \
        "$(( (r1 - r0) * 1024 / (up > 0 ? up : 1) )) bytes per connection"
}

echo "compare: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(uname -sr)"
echo "compare: load average at start: $(load)"
echo "compare: ngtcp2 programs: $(dpkg-query -W -f '${Package} ${Version}' ngtcp2-client 2>/dev/null)"
mkdir -p "$WORK/www" "$WORK/dl"
SIZE=$((SIZE_MB * 1024 * 1024))
echo "compare: generating $SIZE_MB MiB in $WORK/www"
head -c "$SIZE" /dev/urandom > "$WORK/www/big.bin" || die "cannot write the file"
head -c 1024 /dev/urandom > "$WORK/www/tiny.bin"
SRC_SHA=$(sha256sum < "$WORK/www/big.bin" | cut -d' ' -f1) # also page-caches it
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
    2> /dev/null || die "openssl could not make a certificate"

echo "== bulk download, $SIZE_MB MiB, both clients discarding (alternating, fresh server per run)"
for ((r = 1; r <= N; r++)); do
    if (( r % 2 )); then order="tern ngtcp2"; else order="ngtcp2 tern"; fi
    for s in $order; do bulk "$s" "run$r"; done
done
echo "== bulk download written to disk and checked with sha256 (not in the medians)"
bulk tern check save
bulk ngtcp2 check save

echo "== handshakes: $HS_N sequential client processes per round, 1 KiB file each"
for ((r = 1; r <= HS_ROUNDS; r++)); do
    if (( r % 2 )); then order="tern ngtcp2"; else order="ngtcp2 tern"; fi
    for s in $order; do handshakes "$s" "round$r"; done
done
startup tern
startup ngtcp2

echo "== memory per idle connection"
if [ -x "$BUILD/bench/bench_transfer" ]; then
    "$BUILD/bench/bench_transfer" 1 1000 2>&1 | grep -i -E 'connection|idle|heap' | sed 's/^/  bench_transfer: /'
fi
if [ "$IDLE_K" -gt 0 ]; then
    idle tern
    idle ngtcp2
fi
echo "compare: load average at end: $(load)"

echo "== summary (medians over $N runs; spread = min-max)"
python3 - "$RES" "$SIZE" "$HZ" "$HS_N" << 'EOF'
import sys, statistics as st
res, size, hz, hsn = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rows = [l.rstrip('\n').split('\t') for l in open(res)]
gib = size / 2**30
def med(xs): return st.median(xs), min(xs), max(xs)
def fmt(m, p=1): return f"{m[0]:.{p}f} ({m[1]:.{p}f}-{m[2]:.{p}f})"
out = {}
print("| stack | goodput Mbit/s | wall s | client CPU s/GiB | server CPU s/GiB | client+server CPU s/GiB |")
print("|---|---|---|---|---|---|")
for s in ("tern", "ngtcp2"):
    b = [r for r in rows if r[0] == "bulk" and r[1] == s and r[8] != "save"]
    if not b: continue
    wall = [int(r[3]) / 1e6 for r in b]
    gp = [size * 8 / w / 1e6 for w in wall]
    cc = [(float(r[4]) + float(r[5])) / gib for r in b]
    sc = [int(r[6]) / hz / gib for r in b]
    tc = [c + v for c, v in zip(cc, sc)]
    out[s] = (med(gp), med(cc), med(sc), med(tc))
    print(f"| {s} | {fmt(med(gp))} | {fmt(med(wall), 2)} | {fmt(med(cc), 2)} | {fmt(med(sc), 2)} | {fmt(med(tc), 2)} |")
if "tern" in out and "ngtcp2" in out:
    t, n = out["tern"], out["ngtcp2"]
    print(f"\ngoodput ratio tern/ngtcp2 (medians): {t[0][0] / n[0][0]:.2f}  "
          f"(target >= 2.00: {'met' if t[0][0] / n[0][0] >= 2 else 'NOT met'})")
    print(f"CPU per byte tern/ngtcp2 (client+server medians): {t[3][0] / n[3][0]:.2f}  "
          f"(target <= 1.00: {'met' if t[3][0] <= n[3][0] else 'NOT met'})")
print()
print("| stack | handshakes/s (sequential processes) | server CPU ms per handshake | process start-up ms |")
print("|---|---|---|---|")
for s in ("tern", "ngtcp2"):
    h = [r for r in rows if r[0] == "hs" and r[1] == s]
    if not h: continue
    rate = [hsn / (int(r[3]) / 1e6) for r in h]
    cpu = [int(r[6]) / hz * 1000 / hsn for r in h]
    su = [int(r[3]) / 1e3 / hsn for r in rows if r[0] == "startup" and r[1] == s]
    print(f"| {s} | {fmt(med(rate))} | {fmt(med(cpu), 2)} | {su[0]:.1f} |" if su else f"| {s} | {fmt(med(rate))} | {fmt(med(cpu), 2)} | - |")
idle = [r for r in rows if r[0] == "idle"]
if idle:
    print()
    print("| server | RSS idle kB | RSS with K idle conns kB | K | bytes per connection |")
    print("|---|---|---|---|---|")
    for r in idle:
        k = int(r[2]) or 1
        print(f"| {r[1]} | {r[3]} | {r[4]} | {r[2]} | {(int(r[4]) - int(r[3])) * 1024 // k} |")
EOF
[ -n "${OUT:-}" ] && cp "$RES" "$OUT"
exit 0
