#!/usr/bin/python3
"""Fills the report template with the results of the experiments.

    report.py TEMPLATE RESULTS_DIR OUT.md

RESULTS_DIR holds NAME.json (analyze.py's results.json of each experiment)
and the figures. In the template, @@NAME@@ becomes the experiment's
one-sentence results as a list, @@fig:NAME@@ its figures, @@checks:NAME@@
the count of its sanity checks. Missing results say how to produce them.
"""
import json
import os
import re
import sys


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    template, rdir, out = sys.argv[1:]
    with open(template) as f:
        text = f.read()
    rel = os.path.relpath(rdir, os.path.dirname(os.path.abspath(out)))

    def load(name):
        p = os.path.join(rdir, name + ".json")
        if not os.path.exists(p):
            return None
        with open(p) as f:
            return json.load(f)

    def sub(m):
        kind, name = m.group(1), m.group(2)
        r = load(name)
        if r is None:
            return "*(no results yet: `make evidence E=%s`)*" % name
        if kind == "fig:":
            return "\n\n".join("![%s](%s/%s)" % (f, rel, f) for f in r.get("figures", []))
        if kind == "checks:":
            ok = sum(1 for c in r["checks"] if c["ok"])
            return "%d of %d sanity checks pass%s" % (ok, len(r["checks"]), " (quick run)" if r.get("quick") else "")
        return "\n".join("- " + s for s in r["sentences"])

    text = re.sub(r"@@(fig:|checks:)?([a-z]+)@@", sub, text)
    with open(out, "w") as f:
        f.write(text)
    print("report: wrote %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
