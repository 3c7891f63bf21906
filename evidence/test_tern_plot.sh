#!/usr/bin/env bash
# tools/tern-plot on the two qlog traces of a short simulated download with
# moves (tern-evidence qlog): --help works, a PNG is written for each, and it
# is a PNG of non-trivial size.
#   test_tern_plot.sh TERN_EVIDENCE TERN_PLOT WORKDIR
set -euo pipefail
ev="$1" plot="$2" dir="$3"
PY="${PYTHON:-/usr/bin/python3}"
"$PY" -c "import matplotlib" 2>/dev/null || { echo "no matplotlib for $PY: skipped"; exit 77; }
rm -rf "$dir" && mkdir -p "$dir"
"$plot" --help > "$dir/help.txt"
grep -q "usage: tern-plot" "$dir/help.txt"
"$ev" qlog "$dir"
for side in server client; do
  test -s "$dir/$side.sqlog"
  "$plot" "$dir/$side.sqlog" -o "$dir/$side.png" | tee "$dir/$side.txt"
  grep -q " [1-9][0-9]* moves" "$dir/$side.txt"
  "$PY" - "$dir/$side.png" <<'PYEOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
assert data[12:16] == b"IHDR", "no IHDR"
w, h = struct.unpack(">II", data[16:24])
assert w >= 300 and h >= 300, "too small: %dx%d" % (w, h)
assert len(data) > 20000, "%d bytes: nearly empty" % len(data)
assert data[-8:-4] == b"IEND", "truncated"
print("%s: PNG %dx%d, %d bytes" % (sys.argv[1], w, h, len(data)))
PYEOF
done
# ngtcp2's qlog (draft-02 names, JSON-SEQ): gtlsserver/gtlsclient from
# Debian on loopback, when installed.
if command -v gtlsserver >/dev/null && command -v gtlsclient >/dev/null && command -v openssl >/dev/null; then
  mkdir -p "$dir/ng/www" "$dir/ng/q"
  head -c 2000000 /dev/zero > "$dir/ng/www/f"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -keyout "$dir/ng/key.pem" \
    -out "$dir/ng/cert.pem" -days 2 -subj /CN=localhost -nodes 2>/dev/null
  port=$((20000 + RANDOM % 20000))
  timeout 20 gtlsserver 127.0.0.1 $port "$dir/ng/key.pem" "$dir/ng/cert.pem" -d "$dir/ng/www" -q \
    > "$dir/ng/server.log" 2>&1 &
  spid=$!
  sleep 0.5
  timeout 15 gtlsclient 127.0.0.1 $port "https://127.0.0.1:$port/f" --qlog-dir="$dir/ng/q" -q \
    --exit-on-all-streams-close > "$dir/ng/client.log" 2>&1 || true
  kill $spid 2>/dev/null || true
  wait $spid 2>/dev/null || true
  q=$(ls "$dir"/ng/q/*.sqlog 2>/dev/null | head -1 || true)
  if [ -n "$q" ]; then
    "$plot" "$q" -o "$dir/ngtcp2.png"
    "$PY" -c "import sys; d=open(sys.argv[1],'rb').read(); assert d[:8]==b'\x89PNG\r\n\x1a\n' and len(d)>10000" "$dir/ngtcp2.png"
    echo "ngtcp2 qlog: plotted"
  else
    echo "ngtcp2 qlog: no trace written (loopback download failed), not checked"
  fi
fi
# A missing file is an error, not a traceback.
if "$plot" "$dir/none.sqlog" -o "$dir/none.png" 2>/dev/null; then exit 1; fi
echo "tern-plot: ok"
