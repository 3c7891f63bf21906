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
# A missing file is an error, not a traceback.
if "$plot" "$dir/none.sqlog" -o "$dir/none.png" 2>/dev/null; then exit 1; fi
echo "tern-plot: ok"
