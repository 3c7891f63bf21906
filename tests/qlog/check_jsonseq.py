#!/usr/bin/env python3
"""Checks a qlog JSON-SEQ file (RFC 7464) with Python's json module: every
record is RS + one JSON object + LF, no NaN/Infinity, the first record is
the qlog header qvis and the main schema expect, the others are events with
time, name and data. Usage: check_jsonseq.py FILE"""
import json
import sys


def reject(name):
    raise ValueError("non-JSON constant " + name)


def main(path):
    data = open(path, "rb").read()
    if not data.startswith(b"\x1e"):
        sys.exit("file does not start with RS")
    records = data.split(b"\x1e")[1:]
    for i, rec in enumerate(records):
        if not rec.endswith(b"\n"):
            sys.exit("record %d does not end with LF" % i)
        obj = json.loads(rec.decode("utf-8"), parse_constant=reject)
        if not isinstance(obj, dict):
            sys.exit("record %d is not an object" % i)
        if i == 0:
            assert obj["file_schema"] == "urn:ietf:params:qlog:file:sequential"
            assert obj["serialization_format"] == "application/qlog+json-seq"
            assert obj["qlog_format"] == "JSON-SEQ" and obj["qlog_version"] == "0.3"
            assert obj["trace"]["vantage_point"]["type"] in ("client", "server")
        else:
            assert isinstance(obj["time"], (int, float)), i
            assert ":" in obj["name"], i
            assert isinstance(obj["data"], dict), i
    print("%d records OK" % len(records))


if __name__ == "__main__":
    main(sys.argv[1])
