#!/usr/bin/env python3
"""Drives headless Chromium through the DevTools protocol over
--remote-debugging-pipe (fd 3: commands to Chromium, fd 4: its answers and
events, each message JSON ending in a NUL byte); Python's standard library
only.

For each load: navigate the tab to URL (HTTP cache disabled), wait for the
load event of that navigation, then for the page's window.ternResult
promise (tests/browser/site/app.js), and write loadN.json (its value) and
domN.html (document.documentElement.outerHTML) into --out. Before every
load after the first, --wait-log FILE --wait-for REGEX waits until REGEX
matches a line of FILE (e.g. tern-server's log saying the previous
connection closed). No fixed sleeps: every wait is for an event, bounded by
--timeout seconds overall.

Exit status 0 when every load produced a result (the caller checks the
values), 1 otherwise, with the reason on stderr."""
import argparse
import json
import os
import re
import select
import subprocess
import sys
import time


class Fail(Exception):
    pass


class Browser:
    def __init__(self, argv, log, deadline):
        self.deadline = deadline
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def child_fds():
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     preexec_fn=child_fds, close_fds=False)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def left(self):
        t = self.deadline - time.monotonic()
        if t <= 0:
            raise Fail("timed out")
        return t

    def _read_message(self):
        while b"\0" not in self.buf:
            r, _, _ = select.select([self.from_chrome], [], [], self.left())
            if not r:
                raise Fail("timed out waiting for Chromium")
            chunk = os.read(self.from_chrome, 1 << 20)
            if not chunk:
                raise Fail("Chromium closed the DevTools pipe (exit status %s)" % self.proc.poll())
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        return self.next_id

    def call(self, method, params=None, session=None):
        mid = self.send(method, params, session)
        while True:
            msg = self._read_message()
            if msg.get("id") == mid:
                if "error" in msg:
                    raise Fail("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if msg.get("method", "").startswith("Page."):
                self.events.append(msg)  # Network.* events (enabled for the cache switch) are dropped

    def wait_event(self, match):
        """Returns the first event (queued or new) for which match(event) holds."""
        while True:
            for i, ev in enumerate(self.events):
                if match(ev):
                    del self.events[: i + 1]
                    return ev
            self.events.clear()
            msg = self._read_message()
            if msg.get("method", "").startswith("Page."):
                self.events.append(msg)

    def close(self):
        try:
            self.send("Browser.close")
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def wait_for_log(path, pattern, deadline):
    rx = re.compile(pattern)
    while True:
        try:
            with open(path, errors="replace") as f:
                if any(rx.search(line) for line in f):
                    return
        except FileNotFoundError:
            pass
        if time.monotonic() > deadline:
            raise Fail("timed out waiting for /%s/ in %s" % (pattern, path))
        time.sleep(0.05)  # polling a log file: the wait ends on the line, not on a delay


def phase_wait(fraction):
    """Waits (at most a second) until the wall clock is `fraction` of a
    second past a whole second.

    Why: Chromium's TLS stack (BoringSSL) sends a resumed ticket's age in
    whole seconds, 1000 * (now.tv_sec - tv_sec when the ticket came), which
    exceeds the exact age whenever now's fraction of a second is below the
    ticket's, and GnuTLS on the server then rejects 0-RTT
    (lib/tls13/anti_replay.c: server_ticket_age < client_ticket_age). With
    --ticket-age-phase the first load starts just after a whole second, so
    the ticket arrives at a small fraction (the handshake's milliseconds),
    and the later loads start half a second past one: their ClientHello's
    fraction stays above the ticket's unless the first handshake took more
    than half a second."""
    now = time.time()
    wait = (fraction - (now - int(now))) % 1.0
    time.sleep(wait)


def load(b, session, url, n, out):
    b.events.clear()
    nav = b.call("Page.navigate", {"url": url}, session)
    if nav.get("errorText"):
        raise Fail("load %d: navigation failed: %s" % (n, nav["errorText"]))
    frame = nav["frameId"]
    # The load event that follows the commit of this navigation's document.
    b.wait_event(lambda e: e.get("sessionId") == session and e["method"] == "Page.frameNavigated"
                 and e["params"]["frame"]["id"] == frame and e["params"]["frame"]["url"].startswith(url))
    b.wait_event(lambda e: e.get("sessionId") == session and e["method"] == "Page.loadEventFired")
    res = b.call("Runtime.evaluate", {"expression": "window.ternResult", "awaitPromise": True,
                                      "returnByValue": True}, session)
    if "exceptionDetails" in res:
        raise Fail("load %d: window.ternResult: %s" % (n, res["exceptionDetails"]))
    value = res["result"].get("value")
    with open(os.path.join(out, "load%d.json" % n), "w") as f:
        json.dump(value, f, indent=1)
    dom = b.call("Runtime.evaluate", {"expression": "document.documentElement.outerHTML",
                                      "returnByValue": True}, session)
    with open(os.path.join(out, "dom%d.html" % n), "w") as f:
        f.write(dom["result"].get("value", ""))
    print("load %d: %s" % (n, json.dumps(value)), flush=True)
    if value is None:
        raise Fail("load %d: the page set no window.ternResult" % n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--url2", help="URL of load 2, 3, ... (default --url)")
    ap.add_argument("--ticket-age-phase", action="store_true",
                    help="start load 1 just after a whole second and the later ones half a second past one "
                         "(see phase_wait)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--loads", type=int, default=1)
    ap.add_argument("--wait-log")
    ap.add_argument("--wait-for", action="append", default=[],
                    help="regex awaited in --wait-log before load 2, 3, ... (one per load, %%d = load-1)")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("chromium", nargs=argparse.REMAINDER, help="-- chromium binary and flags")
    a = ap.parse_args()
    argv = a.chromium[1:] if a.chromium[:1] == ["--"] else a.chromium
    deadline = time.monotonic() + a.timeout
    with open(os.path.join(a.out, "chromium.log"), "w") as log:
        b = Browser(argv + ["--remote-debugging-pipe", "about:blank"], log, deadline)
        try:
            target = b.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = b.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            b.call("Page.enable", {}, session)
            b.call("Network.enable", {}, session)
            b.call("Network.setCacheDisabled", {"cacheDisabled": True}, session)
            for n in range(1, a.loads + 1):
                if n > 1 and a.wait_log:
                    pattern = a.wait_for[n - 2] if n - 2 < len(a.wait_for) else a.wait_for[-1]
                    wait_for_log(a.wait_log, pattern.replace("%d", str(n - 1)), deadline)
                if a.ticket_age_phase:
                    phase_wait(0.0 if n == 1 else 0.5)
                load(b, session, a.url if n == 1 or not a.url2 else a.url2, n, a.out)
        except Fail as e:
            print("cdp.py: %s" % e, file=sys.stderr)
            return 1
        finally:
            b.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
