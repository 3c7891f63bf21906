#!/bin/bash
# Headless Chromium against tern-server over HTTP/3 (tests/browser/site):
# load 1 fetches the page, its CSS, JS and images in parallel, HEAD requests
# for the content types, a 404 and a 50 MB file whose SHA-256 the page
# computes (crypto.subtle.digest); loads 2..4 reload after the previous
# connection idled out and should resume with 0-RTT. Chromium is driven
# through the DevTools protocol (cdp.py): every wait is for an event.
# Usage: chromium.sh BIN OUTDIR   (exit 77: no chromium, skipped)
BIN=$1
OUT=${2:-$PWD/browser-out}
. "$(dirname "$0")/../tools/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$CHROMIUM" ] || { echo "SKIP: chromium not installed (scripts/install-deps.sh installs it)"; exit 77; }
rm -rf "$OUT" && mkdir -p "$OUT"
on_fail() {
    cp "$SRV_LOG" "$OUT/" 2>/dev/null
    [ -f "$WORK/net.json" ] && cp "$WORK/net.json" "$OUT/netlog.json" && echo "net log: $OUT/netlog.json" >&2
    echo "output kept in $OUT" >&2
}
fail() { echo "FAIL: $*" >&2; on_fail; exit 1; }

cp -r "$HERE/site" "$WORK/site"
make_file "$WORK/site/big.bin" 50
sha "$WORK/site/big.bin" > "$WORK/site/big.sha256"
EXPECTED=$(cat "$WORK/site/big.sha256")
make_cert
SPKI=$(openssl x509 -pubkey -noout -in "$WORK/cert.pem" | openssl pkey -pubin -outform der |
       openssl dgst -sha256 -binary | base64)
# A short idle timeout closes each connection soon after its load, so the
# next load needs a new one (resumed, 0-RTT); Chromium idles out first.
start_tern_server "$WORK/site" --cert "$WORK/cert.pem" --key "$WORK/key.pem" --idle-timeout 2000
URL=https://127.0.0.1:$PORT/
LOADS=4
python3 "$HERE/cdp.py" --url "$URL" --url2 "${URL}?nobig" --out "$OUT" --loads $LOADS --ticket-age-phase \
    --wait-log "$SRV_LOG" --wait-for 'conn %d: closed' --timeout 240 -- \
    "$CHROMIUM" --headless --no-sandbox --disable-gpu --user-data-dir="$WORK/profile" \
    --origin-to-force-quic-on=127.0.0.1:$PORT --ignore-certificate-errors-spki-list="$SPKI" --enable-quic \
    --no-first-run --disable-background-networking --disable-component-update --disable-sync \
    --log-net-log="$WORK/net.json" --net-log-capture-mode=Everything --net-log-max-size-mb=100 \
    || fail "driving chromium (its log: $OUT/chromium.log)"
cp "$SRV_LOG" "$OUT/"

check() { # check N PYTHON-EXPR  (d: the page's result of load N)
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert $2, d" "$OUT/load$1.json" 2>/dev/null ||
        fail "load $1: $2 ($(cat "$OUT/load$1.json"))"
}
for n in $(seq $LOADS); do
    check $n 'd["protocol"] == "h3" and d["resourceProtocols"] == ["h3"]'
    check $n 'd["css"] and d["images"] == d["imagesTotal"] == 4 and d["json"] and d["status404"] == 404'
    check $n 'd["types"] == {"index.html": "text/html; charset=utf-8", "style.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8", "data.json": "application/json", "img/red.png": "image/png", "img/logo.svg": "image/svg+xml"}'
    grep -q 'id="r-done">yes<' "$OUT/dom$n.html" || fail "load $n: DOM does not say done"
done
ok "every load over h3: stylesheet applied, 4 images, content types, data.json, 404"
check 1 "d['bigBytes'] == 50000000 and d['digest'] == '$EXPECTED' and d['match']"
grep -q "id=\"r-digest\">$EXPECTED<" "$OUT/dom1.html" || fail "DOM digest is not $EXPECTED"
BIGMS=$(python3 -c "import json; print(json.load(open('$OUT/load1.json'))['bigMs'])")
ok "50 MB big.bin: SHA-256 computed in the page matches sha256sum ($BIGMS ms, $(python3 -c "print(round(400/$BIGMS*1000))") Mbit/s)"

# The server's side: one connection per load, each request logged.
conns=$(grep -c '^tern-server: conn [0-9]*: handshake done' "$SRV_LOG")
[ "$conns" -eq $LOADS ] || fail "$conns connections for $LOADS loads"
reqs1=$(grep -c '^tern-server: conn 1: h3 stream' "$SRV_LOG")
[ "$reqs1" -ge 17 ] || fail "conn 1: $reqs1 requests logged, want >= 17"
grep -q '^tern-server: conn 1: h3 stream [0-9]*: GET /big.bin -> 200, 50000000 bytes' "$SRV_LOG" || fail "no big.bin request"
grep -q '^tern-server: conn 1: h3 stream [0-9]*: GET /no/such/file.txt -> 404' "$SRV_LOG" || fail "no 404 logged"
ok "tern-server: $conns h3 connections, $reqs1 requests on the first"
accepted=0
for n in $(seq 2 $LOADS); do
    line=$(grep "^tern-server: conn $n: handshake done" "$SRV_LOG")
    case $line in
    *"(resumed), 0-RTT accepted"*) accepted=$((accepted + 1)) ;;
    *"(resumed)"*) ;;
    *) fail "conn $n did not resume: $line" ;;
    esac
done
grep -q '^tern-server: conn 2: handshake done (resumed), 0-RTT accepted' "$SRV_LOG" ||
    echo "note: conn 2 resumed without 0-RTT (see phase_wait in cdp.py)"
[ $accepted -ge 1 ] || fail "no reload resumed with 0-RTT"
ok "reloads: $((LOADS - 1)) resumed, $accepted with 0-RTT accepted"
