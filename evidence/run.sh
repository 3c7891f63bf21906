#!/usr/bin/env bash
# make evidence: runs the experiments of docs/evidence.md in the simulator,
# analyses them and (full run) refreshes the report.
#   evidence/run.sh [--quick] [--out DIR] BUILD_DIR [NAME...]
# NAME: frag wf censor drain abuse cost (default: all). Each writes CSV and
# PNG files to DIR/NAME (default DIR: evidence/out). A full run copies each
# experiment's figures and results.json to docs/evidence/ and regenerates
# docs/evidence.md from evidence/report.md.in; --quick (QUICK=1) runs the
# small versions, checks the data, and writes the report to DIR only.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
quick=""
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick="--quick"; shift ;;
    --out) out="$2"; shift 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { echo "usage: $0 [--quick] [--out DIR] BUILD_DIR [NAME...]" >&2; exit 2; }
build="$(cd "$1" && pwd)"; shift
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(frag wf censor drain abuse cost)
[ -n "$out" ] || { if [ -n "$quick" ]; then out="$root/evidence/out-quick"; else out="$root/evidence/out"; fi; }
mkdir -p "$out"
out="$(cd "$out" && pwd)"
PY="${PYTHON:-/usr/bin/python3}"
if ! "$PY" -c "import matplotlib, numpy, sklearn" 2>/dev/null; then
  echo "evidence: $PY lacks matplotlib/numpy/sklearn (make deps installs python3-matplotlib python3-numpy python3-sklearn)" >&2
  exit 77
fi
bin="$build/evidence/tern-evidence"
[ -x "$bin" ] || { echo "evidence: $bin not built" >&2; exit 1; }

report="$out/report"
if [ -z "$quick" ]; then report="$root/docs/evidence"; fi
mkdir -p "$report"
status=0
: > "$out/timing.csv.new"
for n in "${names[@]}"; do
  echo "== $n"
  rm -rf "${out:?}/$n"
  t0=$(date +%s.%N)
  "$bin" "$n" "$out/$n" $quick
  t1=$(date +%s.%N)
  if ! "$PY" "$here/analyze.py" "$n" "$out/$n" $quick; then status=1; fi
  t2=$(date +%s.%N)
  printf '%s,%.1f,%.1f\n' "$n" "$(awk "BEGIN{print $t1 - $t0}")" "$(awk "BEGIN{print $t2 - $t1}")" | tee -a "$out/timing.csv.new" |
    awk -F, '{printf "   %s: simulation %s s, analysis %s s\n", $1, $2, $3}'
  cp "$out/$n/results.json" "$report/$n.json"
  cp "$out/$n"/*.png "$report/"
done
mv "$out/timing.csv.new" "$out/timing.csv"
# tools/tern-plot on the server trace of a short download with moves: the
# report's last figure.
echo "== tern-plot"
"$bin" qlog "$out/qlog"
"$root/tools/tern-plot" "$out/qlog/server.sqlog" -o "$report/tern-plot-server.png" --title "tern-evidence qlog: server"
if [ -z "$quick" ]; then
  "$PY" "$here/report.py" "$here/report.md.in" "$report" "$root/docs/evidence.md"
else
  "$PY" "$here/report.py" "$here/report.md.in" "$report" "$out/evidence.md"
fi
exit $status
