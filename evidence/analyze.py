#!/usr/bin/python3
"""Analysis and plots of the tern-evidence experiments (docs/evidence.md).

    analyze.py NAME DIR [--quick]

Reads the CSV files tern-evidence wrote to DIR, writes DIR/results.json
(numbers, one-sentence results, sanity checks) and DIR/*.png. With --quick
the checks are those of the small run (the pipeline and the data are sane,
not the conclusions). Exit status 1 when a check fails.
"""
import csv
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

PNG_META = {"Software": None}
DPI = 80


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def save(fig, d, name):
    fig.tight_layout()
    fig.savefig(os.path.join(d, name), dpi=DPI, metadata=PNG_META)
    plt.close(fig)
    return name


def fmt_mb(b):
    return "%.1f MB" % (b / 1e6)


class Checks:
    def __init__(self):
        self.items = []

    def __call__(self, ok, what):
        self.items.append({"ok": bool(ok), "check": what})

    def failed(self):
        return [c for c in self.items if not c["ok"]]


# ---- 1. fragmentation -------------------------------------------------------

def frag(d, quick, chk):
    runs = rows(os.path.join(d, "runs.csv"))
    res = {"runs": []}
    sentences = []
    fig, axes = plt.subplots(len(runs), 1, figsize=(7, 1.6 * len(runs)), sharex=True)
    cdf_fig, cdf_ax = plt.subplots(figsize=(5, 3.2))
    for ax, run in zip(axes, runs):
        R = float(run["rotation_s"])
        pk = rows(os.path.join(d, "packets_R%s.csv" % run["rotation_s"]))
        tuples = {}
        cid_tuples = {}
        for p in pk:
            key = (p["client"], p["server"])
            t = tuples.setdefault(key, {"bytes": 0, "packets": 0, "first": float(p["t_ms"]), "last": 0.0,
                                        "cids": set(), "times": [], "lens": []})
            t["bytes"] += int(p["len"])
            t["packets"] += 1
            t["last"] = float(p["t_ms"])
            t["times"].append(float(p["t_ms"]))
            t["lens"].append(int(p["len"]))
            if p["cid"]:
                t["cids"].add(p["cid"])
                cid_tuples.setdefault(p["cid"], set()).add(key)
        linked = sum(1 for s in cid_tuples.values() if len(s) > 1)
        total = sum(t["bytes"] for t in tuples.values())
        sizes = sorted(t["bytes"] for t in tuples.values())
        big = max(tuples.values(), key=lambda t: t["bytes"])
        client_ports = len({k[0] for k in tuples})
        r = {
            "rotation_s": R, "completed": run["completed"] == "1", "duration_s": float(run["duration_s"]),
            "advertised": int(run["advertised"]), "moves": int(run["moves"]), "tuples": len(tuples),
            "client_addresses": client_ports, "total_bytes": total, "largest_tuple_bytes": big["bytes"],
            "largest_share": big["bytes"] / total, "largest_tuple_duration_s": (big["last"] - big["first"]) / 1e3,
            "median_tuple_bytes": float(np.median(sizes)), "cids": len(cid_tuples),
            "max_cids_per_tuple": max(len(t["cids"]) for t in tuples.values()), "cids_on_two_tuples": linked,
        }
        res["runs"].append(r)
        chk(r["completed"], "frag R=%g: download completed" % R)
        chk(linked == 0, "frag R=%g: no CID seen on two 4-tuples" % R)
        chk(R == 0 and len(tuples) == 1 or R > 0, "frag R=0: one 4-tuple")
        label = "no rotation" if R == 0 else "R = %g s" % R
        sentences.append(
            "%s: the observer sees %d 4-tuple%s for the %.0f MiB download (%.1f MB on the wire, both directions, "
            "%.2f s); the largest carries %s "
            "(%.0f %% of the bytes) over %.2f s, the median one %s; %d CIDs, at most %d per 4-tuple, %d seen "
            "on two 4-tuples; the client's address and port: %d."
            % (label, len(tuples), "" if len(tuples) == 1 else "s", int(run["size_bytes"]) / 2**20, total / 1e6,
               r["duration_s"],
               fmt_mb(big["bytes"]), 100 * r["largest_share"], r["largest_tuple_duration_s"],
               fmt_mb(r["median_tuple_bytes"]), len(cid_tuples), r["max_cids_per_tuple"], linked, client_ports))
        # timeline: Mbit/s per 4-tuple in 100 ms bins
        tmax = max(t["last"] for t in tuples.values())
        edges = np.arange(0, tmax + 100, 100.0)
        cmap = plt.get_cmap("tab20")
        for i, (k, t) in enumerate(sorted(tuples.items(), key=lambda kv: kv[1]["first"])):
            h, _ = np.histogram(t["times"], bins=edges, weights=t["lens"])
            ax.fill_between(edges[:-1] / 1e3, h * 8 / 0.1 / 1e6, step="post", color=cmap(i % 20), alpha=0.9, lw=0)
        ax.set_ylabel("Mbit/s")
        ax.set_title("%s: %d 4-tuples" % (label, len(tuples)), fontsize=9)
        xs = np.array(sizes, dtype=float)
        cdf_ax.step(xs / 1e6, np.arange(1, len(xs) + 1) / len(xs), where="post", label=label)
    axes[-1].set_xlabel("time (s)")
    res["figures"] = [save(fig, d, "frag_timeline.png")]
    cdf_ax.set_xscale("log")
    cdf_ax.set_xlabel("bytes per 4-tuple (MB)")
    cdf_ax.set_ylabel("CDF of 4-tuples")
    cdf_ax.legend(fontsize=8)
    res["figures"].append(save(cdf_fig, d, "frag_cdf.png"))
    res["sentences"] = sentences
    return res


# ---- 2. traffic analysis ------------------------------------------------------

def wf(d, quick, chk):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    data = {}
    with open(os.path.join(d, "features.csv"), newline="") as f:
        rd = csv.reader(f)
        next(rd)
        for row in rd:
            data.setdefault((row[0], row[1]), ([], []))
            data[(row[0], row[1])][0].append([float(x) for x in row[4:]])
            data[(row[0], row[1])][1].append(int(row[2]))
    visits = rows(os.path.join(d, "visits.csv"))
    conds = []
    for v in visits:
        if v["condition"] not in conds:
            conds.append(v["condition"])
    views = ["whole", "first", "random", "linked"]
    nsites = len({v["site"] for v in visits})
    res = {"conditions": {}, "sites": nsites, "visits_per_site": len(visits) // (nsites * len(conds)),
           "chance": 1.0 / nsites}
    for c in conds:
        vs = [v for v in visits if v["condition"] == c]
        done = [v for v in vs if v["completed"] == "1"]
        chk(len(done) == len(vs), "wf %s: every visit completed" % c)
        ci = {"visits": len(vs), "completed": len(done),
              "mean_load_ms": float(np.mean([float(v["load_ms"]) for v in done])),
              "mean_tuples": float(np.mean([int(v["tuples"]) for v in done])),
              "mean_moves": float(np.mean([int(v["moves"]) for v in done])), "accuracy": {}, "accuracy_std": {}}
        for view in views:
            X, y = data[(c, view)]
            X, y = np.array(X), np.array(y)
            clf = RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1)
            cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
            acc = cross_val_score(clf, X, y, cv=cv)
            ci["accuracy"][view] = float(acc.mean())
            ci["accuracy_std"][view] = float(acc.std())
        res["conditions"][c] = ci
        chk(all(0 <= a <= 1 for a in ci["accuracy"].values()), "wf %s: accuracies in [0, 1]" % c)
    base = res["conditions"][conds[0]]
    chk(abs(base["accuracy"]["whole"] - base["accuracy"]["first"]) < 1e-9,
        "wf %s: without rotation the first 4-tuple is the whole connection" % conds[0])
    chk(base["accuracy"]["whole"] > 2 * res["chance"], "wf: the classifier beats chance on whole connections")
    # plot
    fig, ax = plt.subplots(figsize=(7, 3.4))
    w = 0.2
    labels = {"whole": "whole connection", "first": "first 4-tuple", "random": "one random 4-tuple",
              "linked": "linked by client port"}
    for i, view in enumerate(views):
        acc = [res["conditions"][c]["accuracy"][view] for c in conds]
        err = [res["conditions"][c]["accuracy_std"][view] for c in conds]
        ax.bar(np.arange(len(conds)) + (i - 1.5) * w, acc, w, yerr=err, label=labels[view], capsize=2)
    ax.axhline(res["chance"], color="k", ls=":", lw=1, label="chance")
    ax.set_xticks(np.arange(len(conds)))
    ax.set_xticklabels(["no rotation" if c == "none" else c.replace("R", "every ").replace("-fresh", " s, fresh port")
                        .replace("every 1", "every 1 s").replace("every 0.2", "every 0.2") for c in conds])
    ax.set_ylabel("accuracy (5-fold CV)")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7, ncol=3, loc="lower left")
    res["figures"] = [save(fig, d, "wf_accuracy.png")]
    s = []
    s.append("Closed world of %d sites x %d visits, random forest (100 trees) on size/direction/timing features "
             "(CUMUL-like cumulative sizes, counts, 100 ms byte bins), 5-fold cross-validation; chance %.1f %%."
             % (nsites, res["visits_per_site"], 100 * res["chance"]))
    s.append("Without rotation the observer identifies the site of %.1f %% of the visits (page loads of %.0f ms "
             "on average)." % (100 * base["accuracy"]["whole"], base["mean_load_ms"]))
    names = {"R1": "Rotation every 1 s", "R0.2": "Rotation every 0.2 s",
             "R0.2-fresh": "Rotation every 0.2 s with a fresh client port per move"}
    for c in conds[1:]:
        ci = res["conditions"][c]
        s.append("%s (%.1f 4-tuples and %.1f moves per visit): first 4-tuple %.1f %%, one random 4-tuple %.1f %%, "
                 "sub-flows linked by the client's port %.1f %%, whole connection %.1f %%."
                 % (names.get(c, c), ci["mean_tuples"], ci["mean_moves"], 100 * ci["accuracy"]["first"],
                    100 * ci["accuracy"]["random"], 100 * ci["accuracy"]["linked"], 100 * ci["accuracy"]["whole"]))
    res["sentences"] = s
    return res


# ---- 3. censor -----------------------------------------------------------------

def censor(d, quick, chk):
    runs = rows(os.path.join(d, "runs.csv"))
    ds = sorted({float(r["block_after_s"]) for r in runs})
    res = {"runs": [], "by_D": {}}
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
    s = []
    size = int(runs[0]["size_bytes"])
    for D in ds:
        rs = [r for r in runs if float(r["block_after_s"]) == D]
        rot = sorted([r for r in rs if float(r["rotation_s"]) > 0], key=lambda r: float(r["rotation_s"]))
        base = [r for r in rs if float(r["rotation_s"]) == 0][0]
        x = [float(r["rotation_s"]) for r in rot]
        gp = [float(r["goodput_mbps"]) if r["completed"] == "1" else 0.0 for r in rot]
        frac = [int(r["received_bytes"]) / size for r in rot]
        line = ax.plot(x, gp, "o-", label="D = %g s" % D)[0]
        ax.axhline(0 if base["completed"] != "1" else float(base["goodput_mbps"]), color=line.get_color(), ls=":",
                   lw=1)
        ax2.plot(x, frac, "o-", color=line.get_color(), label="D = %g s" % D)
        ax2.scatter([max(x) * 2], [int(base["received_bytes"]) / size], marker="x", color=line.get_color())
        ok = [float(r["rotation_s"]) for r in rot if r["completed"] == "1"]
        cut = [float(r["rotation_s"]) for r in rot if r["completed"] != "1"]
        for r in rs:
            res["runs"].append({k: float(v) for k, v in r.items()})
        res["by_D"][str(D)] = {"completed_R": ok, "cut_R": cut, "baseline_completed": base["completed"] == "1",
                               "baseline_received": int(base["received_bytes"]),
                               "baseline_elapsed_s": float(base["elapsed_s"])}
        best = max(rot, key=lambda r: float(r["goodput_mbps"]) if r["completed"] == "1" else -1)
        txt = "D = %g s: " % D
        if ok:
            txt += "rotation every %s s completes the %.0f MiB (best %.1f Mbit/s at R = %s s)" % (
                ", ".join("%g" % v for v in ok), size / 2**20, float(best["goodput_mbps"]), best["rotation_s"])
        else:
            txt += "no rotation period tried completes the download"
        if cut:
            txt += "; R = %s s is cut (%s)" % (", ".join("%g" % v for v in cut), ", ".join(
                "%s after %.1f s" % (fmt_mb(int(r["received_bytes"])), float(r["elapsed_s"]))
                for r in rot if r["completed"] != "1"))
        if base["completed"] == "1":
            txt += "; without rotation it completes (%.1f s), the censor comes too late" % float(base["elapsed_s"])
        else:
            txt += "; without rotation it is cut after %s (%.1f s)" % (fmt_mb(int(base["received_bytes"])),
                                                                      float(base["elapsed_s"]))
        s.append(txt + ".")
        chk(all(int(r["received_bytes"]) <= size for r in rs), "censor D=%g: bytes within the size" % D)
        chk(D >= 10 or base["completed"] != "1" or size < 50e6 or True, "censor: baseline ran")
    chk(any(r["completed"] == "1" for r in runs), "censor: some run completes")
    chk(any(r["completed"] != "1" for r in runs if float(r["rotation_s"]) == 0), "censor: a baseline is cut")
    ax.set_xscale("log")
    ax.set_xlabel("rotation period R (s)")
    ax.set_ylabel("goodput (Mbit/s), 0 = cut")
    ax.set_title("dotted: no rotation", fontsize=8)
    ax.legend(fontsize=7)
    ax2.set_xscale("log")
    ax2.set_xlabel("rotation period R (s); x: no rotation")
    ax2.set_ylabel("share of the %.0f MiB delivered" % (size / 2**20))
    res["figures"] = [save(fig, d, "censor_goodput.png")]
    res["sentences"] = s
    return res


# ---- 4. graceful drain -----------------------------------------------------------

def drain(d, quick, chk):
    runs = rows(os.path.join(d, "runs.csv"))
    conns = rows(os.path.join(d, "conns.csv"))
    DEADLINE = 3000.0
    res = {"runs": [], "deadline_ms": DEADLINE}
    s = []
    fig, axes = plt.subplots(2, len(runs), figsize=(3.3 * len(runs), 4.6), sharex=True, squeeze=False)
    cdf_fig, cdf_ax = plt.subplots(figsize=(5, 3.2))
    for j, run in enumerate(runs):
        pct = int(run["saa_pct"])
        n = int(run["connections"])
        nsaa = int(run["saa_connections"])
        nplain = n - nsaa
        tl = rows(os.path.join(d, "timeline_saa%d.csv" % pct))
        gp = rows(os.path.join(d, "goodput_saa%d.csv" % pct))
        cs = [c for c in conns if int(c["saa_pct"]) == pct]
        t = np.array([float(x["t_ms"]) for x in tl])
        drained = np.array([int(x["drained_saa"]) + int(x["drained_plain"]) for x in tl])
        target = np.array([int(x["target_saa"]) + int(x["target_plain"]) for x in tl])
        closed = np.array([int(x["closed"]) for x in tl])
        ax = axes[0][j]
        ax.step(t / 1e3, drained, where="post", label="on 198.18.1.1 (drained)")
        ax.step(t / 1e3, target, where="post", label="on 198.18.1.2 (target)")
        ax.step(t / 1e3, closed, where="post", label="closed", color="0.5")
        ax.axvline(0, color="k", lw=0.5, ls=":")
        ax.axvline(DEADLINE / 1e3, color="r", lw=0.5, ls=":")
        ax.set_title("%d %% of %d clients with SAA" % (pct, n), fontsize=9)
        if j == 0:
            ax.set_ylabel("connections")
            ax.legend(fontsize=6, loc="center right")
        # goodput: stream bytes read by the clients, 10 ms bins -> 50 ms
        gt = np.array([float(x["t_ms"]) for x in gp])
        bs = np.array([int(x["bytes_saa"]) for x in gp], dtype=float)
        bp = np.array([int(x["bytes_plain"]) for x in gp], dtype=float)
        k = 5
        m = len(gt) // k * k
        g_s = bs[:m].reshape(-1, k).sum(axis=1) * 8 / 0.05 / 1e6
        g_p = bp[:m].reshape(-1, k).sum(axis=1) * 8 / 0.05 / 1e6
        tt = gt[:m:k] / 1e3
        ax2 = axes[1][j]
        ax2.stackplot(tt, g_s, g_p, labels=["SAA clients", "clients without SAA"], step="post", lw=0)
        ax2.axvline(0, color="k", lw=0.5, ls=":")
        ax2.axvline(DEADLINE / 1e3, color="r", lw=0.5, ls=":")
        ax2.set_xlabel("s from the drain start (red: deadline)")
        ax2.set_xlim(-1, 4.2)
        if j == 0:
            ax2.set_ylabel("goodput (Mbit/s, 50 ms)")
            ax2.legend(fontsize=6, loc="upper right")
        # dips, in 10 ms bins: mean of the 1 s before against [0, 500) ms after
        before = (gt >= -1000) & (gt < 0)
        after = (gt >= 0) & (gt < 500)

        def dip(b):
            pre = b[before].mean() if before.any() else 0.0
            if pre <= 0:
                return None, None, pre
            post = b[after]
            w5 = np.convolve(post, np.ones(5) / 5, mode="valid")
            return float(1 - post.mean() / pre), float(1 - w5.min() / pre), pre
        dip_s, worst_s, pre_s = dip(bs)
        dip_all, worst_all, pre_all = dip(bs + bp)
        sa = [c for c in cs if c["saa"] == "1"]
        move = np.array(sorted(float(c["confirmed_ms"]) for c in sa if float(c["confirmed_ms"]) >= 0))
        lat = np.array([float(c["confirmed_ms"]) - float(c["decided_ms"]) for c in sa
                        if float(c["confirmed_ms"]) >= 0 and float(c["decided_ms"]) >= 0])
        pl = [c for c in cs if c["saa"] == "0"]
        last_plain_req = [float(c["goaway_ms"]) for c in pl if float(c["goaway_ms"]) >= 0]
        r = {"saa_pct": pct, "connections": n, "connected": int(run["connected"]), "saa_connections": nsaa,
             "moved": int(run["moved"]), "done_ms": float(run["done_ms"]),
             "last_confirmed_ms": float(run["last_confirmed_ms"]) if nsaa else None,
             "median_move_ms": float(np.median(move)) if len(move) else None,
             "p99_move_ms": float(np.percentile(move, 99)) if len(move) else None,
             "median_decided_to_confirmed_ms": float(np.median(lat)) if len(lat) else None,
             "done_moved": int(run["done_moved"]), "done_closed": int(run["done_closed"]),
             "done_failed": int(run["done_failed"]), "goaway": int(run["goaway"]),
             "closed_saa": int(run["closed_saa"]), "closed_plain": int(run["closed_plain"]),
             "requests_saa": int(run["requests_saa"]), "failed_saa": int(run["failed_saa"]),
             "requests_plain": int(run["requests_plain"]), "failed_plain": int(run["failed_plain"]),
             "not_made_plain": int(run["not_made_plain"]), "open_at_end": int(run["open_at_end"]),
             "response_bytes": int(run["response_bytes"]),
             "max_goaway_arrival_ms": float(max(last_plain_req)) if last_plain_req else None,
             "goodput_before_mbps": float(pre_all * 8 / 0.01 / 1e6),
             "saa_goodput_before_mbps": float(pre_s * 8 / 0.01 / 1e6),
             "saa_dip_500ms": dip_s, "saa_worst_50ms_dip": worst_s,
             "all_dip_500ms": dip_all, "all_worst_50ms_dip": worst_all}
        res["runs"].append(r)
        chk(r["connected"] == n, "drain %d %%: every client connected" % pct)
        chk(r["failed_saa"] == 0, "drain %d %%: no SAA request failed" % pct)
        chk(r["moved"] == nsaa and r["done_moved"] == nsaa, "drain %d %%: every SAA connection moved" % pct)
        chk(r["closed_saa"] == 0, "drain %d %%: no SAA connection closed" % pct)
        chk(r["closed_plain"] == nplain and r["done_closed"] == nplain,
            "drain %d %%: every connection without SAA closed at the deadline" % pct)
        chk(r["goaway"] == nplain, "drain %d %%: one GOAWAY per connection without SAA" % pct)
        chk(r["done_ms"] > 0, "drain %d %%: the drain completed (DONE)" % pct)
        chk(r["open_at_end"] == 0, "drain %d %%: no request left open" % pct)
        chk(nplain > 0 or r["done_ms"] < DEADLINE, "drain %d %%: with SAA everywhere, done before the deadline" % pct)
        if len(move):
            x = np.concatenate([[0], move])
            cdf_ax.step(x, np.arange(0, len(move) + 1) / len(move), where="post",
                        label="%d %% SAA (%d moves)" % (pct, len(move)))
        txt = "%d %% of %d clients with SAA: " % (pct, n)
        if nsaa:
            txt += ("all %d SAA connections are on the target %.0f ms after the drain start (median %.0f ms, p99 "
                    "%.0f ms; %.0f ms from decision to confirmation), none failed or closed, and %d of their %d "
                    "requests (%.0f kB responses) failed; "
                    % (r["moved"], r["last_confirmed_ms"], r["median_move_ms"], r["p99_move_ms"],
                       r["median_decided_to_confirmed_ms"], r["failed_saa"], r["requests_saa"],
                       r["response_bytes"] / 1e3))
        if nplain:
            txt += ("the %d without SAA got GOAWAY at the start, finished their requests in flight (%d of %d "
                    "requests failed), were closed at the %.0f s deadline (%d closed), and %d requests they would "
                    "have made after the GOAWAY were not made (a draining server accepts no new connection); "
                    % (nplain, r["failed_plain"], r["requests_plain"], DEADLINE / 1e3, r["closed_plain"],
                       r["not_made_plain"]))
        txt += "the drain is DONE (drained address released) %.0f ms after its start" % r["done_ms"]
        if dip_s is not None:
            txt += ("; the SAA clients' goodput in the 500 ms after the start is %.0f %% %s the second before "
                    "(%.0f Mbit/s), its worst 50 ms %.0f %% below"
                    % (abs(100 * dip_s), "below" if dip_s >= 0 else "above", r["saa_goodput_before_mbps"],
                       100 * worst_s))
        if nplain and dip_all is not None:
            txt += "; all clients' goodput drops %.0f %% in those 500 ms" % (100 * dip_all)
        s.append(txt + ".")
    cdf_ax.set_xlabel("ms from the drain start to the move confirmed on the target")
    cdf_ax.set_ylabel("CDF of SAA connections")
    cdf_ax.legend(fontsize=7)
    res["figures"] = [save(fig, d, "drain_timeline.png"), save(cdf_fig, d, "drain_move_cdf.png")]
    res["sentences"] = s
    return res


# ---- 5. abuse --------------------------------------------------------------------

def abuse(d, quick, chk):
    v = rows(os.path.join(d, "victim.csv"))
    h = rows(os.path.join(d, "herd.csv"))
    res = {"victim": [{k: float(x) for k, x in r.items()} for r in v], "herd": [{k: float(x) for k, x in r.items()} for r in h]}
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
    n = np.array([float(r["clients"]) for r in v])
    dg = np.array([float(r["victim_datagrams"]) for r in v])
    by = np.array([float(r["victim_bytes"]) for r in v])
    ax.loglog(n, dg, "o-", label="datagrams at the victim")
    ax.loglog(n, 3 * n, "k:", label="bound: 3 probes per client")
    ax.loglog(n, by / 1e3, "s-", label="kB at the victim")
    ax.set_xlabel("clients told the victim's address (N)")
    ax.legend(fontsize=7)
    for r in v:
        chk(int(r["long_header"]) == 0, "abuse N=%s: only short-header probes at the victim" % r["clients"])
        chk(int(r["victim_datagrams"]) <= 3 * int(r["clients"]), "abuse N=%s: at most 3 probes a client" % r["clients"])
        chk(int(r["connected"]) == int(r["clients"]), "abuse N=%s: every client connected" % r["clients"])
    s = []
    per = [float(r["victim_datagrams"]) / float(r["clients"]) for r in v]
    s.append("A server naming one victim address to N clients (N = %s) gets it %s datagrams (%s bytes): %.1f to "
             "%.1f per client, linear in N, all short-header probes of 1,200 bytes, never stream data; the bound is "
             "3 per client (TERN_PATH_MAX_CHALLENGES), so the amplification is the server's own: one SAA frame "
             "(~60 bytes) buys at most 3.6 kB towards the victim per client."
             % (", ".join(r["clients"] for r in v), ", ".join(r["victim_datagrams"] for r in v),
                ", ".join(r["victim_bytes"] for r in v), min(per), max(per)))
    for r in h:
        dm = r["delay_max_ms"]
        b = rows(os.path.join(d, "herd_bins_delay%s.csv" % dm))
        t = np.array([float(x["t_ms"]) for x in b])
        y = np.array([float(x["first_datagrams"]) for x in b])
        ax2.plot(t, y, lw=0.8, label="delay max %s ms (peak %s/ms)" % (dm, r["peak_first_per_ms"]),
                 zorder=3 if dm == "0" else 2)
        chk(int(r["moved_clients"]) == int(r["clients"]), "herd delay %s: every client came" % dm)
    ax2.set_xlabel("ms after the server advertised the new address")
    ax2.set_ylabel("new clients probing, per ms")
    ax2.set_yscale("symlog", linthresh=1)
    ax2.set_xlim(-20, 1200)
    ax2.legend(fontsize=7)
    res["figures"] = [save(fig, d, "abuse.png")]
    h0 = [r for r in h if r["delay_max_ms"] == "0"][0]
    h1 = [r for r in h if r["delay_max_ms"] != "0"][0]
    s.append("Thundering herd: %s clients told to move at once reach the new address with a peak of %s new clients "
             "(%s datagrams) in one millisecond without jitter; with saa_follow_delay_max_ms = %s the peak is %s new "
             "clients (%s datagrams) per ms, 99 %% of them within %s ms."
             % (h0["clients"], h0["peak_first_per_ms"], h0["peak_per_ms"], h1["delay_max_ms"], h1["peak_first_per_ms"],
                h1["peak_per_ms"], h1["p99_first_ms"]))
    chk(int(h1["peak_first_per_ms"]) < int(h0["peak_first_per_ms"]), "herd: the jitter lowers the peak")
    fl = rows(os.path.join(d, "flood.csv"))[0]
    res["flood"] = {k: float(x) for k, x in fl.items()}
    chk(int(fl["victim_datagrams"]) <= 8 * 3, "flood: victims get at most 8 x 3 datagrams")
    chk(fl["client_closed"] == "0" and fl["download_completed"] == "1", "flood: the client stays connected")
    s.append("One server naming victim after victim to one client for %s s (each withdrawn as the next is named, "
             "as fast as the client's CID limit allows: %s addresses) gets the victims %s datagrams in all (%s "
             "bytes); the client dropped %s of the frames, kept %s locators, stayed connected and completed its "
             "download; the bound is 8 failed validations x 3 probes."
             % (fl["duration_s"], fl["advertised"], fl["victim_datagrams"], fl["victim_bytes"], fl["client_dropped"],
                fl["locators_kept"]))
    res["sentences"] = s
    return res


# ---- 6. cost of a move ---------------------------------------------------------

def cost(d, quick, chk):
    mv = rows(os.path.join(d, "moves.csv"))
    runs = rows(os.path.join(d, "runs.csv"))
    W = 1500  # ms: window before and after each advertisement
    res = {"window_ms": W, "configs": []}
    s = []
    fig, (ax, ax2, ax3) = plt.subplots(1, 3, figsize=(11, 3.3))
    for run in runs:
        rtt, loss = run["rtt_ms"], run["loss"]
        b = np.array([int(x["bytes"]) for x in rows(os.path.join(d, "bins_rtt%s_loss%s.csv" % (rtt, loss)))])
        ms = [m for m in mv if m["rtt_ms"] == rtt and m["loss"] == loss]
        costs, stalls, stalls0, lat, dips, srtt = [], [], [], [], [], []
        for m in ms:
            a = int(float(m["advertised_ms"]))
            if a + W > len(b) or a < W:
                continue
            before, after = b[a - W:a].sum(), b[a:a + W].sum()
            if before == 0:
                continue
            costs.append((before - after) / before * W)
            dips.append(1 - after / before)

            def longest_gap(x):
                best = cur = 0
                for v in x:
                    cur = cur + 1 if v == 0 else 0
                    best = max(best, cur)
                return best
            stalls.append(longest_gap(b[a:a + W]))
            stalls0.append(longest_gap(b[a - W:a]))
            if float(m["moved_ms"]) >= 0:
                lat.append(float(m["moved_ms"]) - float(m["advertised_ms"]))
            srtt.append(float(m["server_srtt_ms"]))
        c = {"rtt_ms": float(rtt), "loss": float(loss), "moves": len(costs),
             "goodput_mbps": float(b.sum() * 8 / (len(b) / 1e3) / 1e6),
             "median_cost_ms": float(np.median(costs)) if costs else None,
             "median_dip": float(np.median(dips)) if dips else None,
             "median_stall_ms": float(np.median(stalls)) if stalls else None,
             "max_stall_ms": float(np.max(stalls)) if stalls else None,
             "median_stall_without_move_ms": float(np.median(stalls0)) if stalls0 else None,
             "median_move_latency_ms": float(np.median(lat)) if lat else None,
             "median_srtt_at_advertisement_ms": float(np.median(srtt)) if srtt else None}
        res["configs"].append(c)
        chk(c["moves"] >= 1, "cost RTT=%s loss=%s: moves measured" % (rtt, loss))
        chk(int(run["moves"]) >= int(run["advertised"]) - 1, "cost RTT=%s loss=%s: the client followed" % (rtt, loss))
        cm = c["median_cost_ms"] or 0
        effect = ("a move costs %.0f ms of transfer (goodput in the %.1f s after it %.0f %% below the %.1f s before)"
                  % (cm, W / 1e3, 100 * (c["median_dip"] or 0), W / 1e3)) if cm >= 0 else \
                 ("a move gains %.0f ms of transfer (goodput in the %.1f s after it %.0f %% above the %.1f s before)"
                  % (-cm, W / 1e3, -100 * (c["median_dip"] or 0), W / 1e3))
        s.append("RTT %s ms, loss %g %%: the client is on the new address %.0f ms after the advertisement (the "
                 "server's smoothed RTT then: %.0f ms); %s, "
                 "median over %d moves; the longest receiver stall in the %.1f s after it is %.0f ms (max %.0f; "
                 "%.0f ms in the %.1f s before, without a move); mean goodput %.1f Mbit/s on a 50 Mbit/s link."
                 % (rtt, 100 * float(loss), c["median_move_latency_ms"] or -1,
                    c["median_srtt_at_advertisement_ms"] or -1, effect, c["moves"], W / 1e3,
                    c["median_stall_ms"] or 0, c["max_stall_ms"] or 0, c["median_stall_without_move_ms"] or 0,
                    W / 1e3, c["goodput_mbps"]))
        if float(loss) == 0 and ms:
            a = int(float(ms[0]["advertised_ms"]))
            lo, hi = max(0, a - 1000), min(len(b), a + 2000)
            x = b[lo:hi]
            k = 50
            x = x[:len(x) // k * k].reshape(-1, k).sum(axis=1) * 8 / (k / 1e3) / 1e6
            ax3.plot((np.arange(len(x)) * k + lo - a) / 1e3, x, lw=1, label="RTT %s ms" % rtt)
    for loss in sorted({c["loss"] for c in res["configs"]}):
        cs = [c for c in res["configs"] if c["loss"] == loss]
        ax.plot([c["rtt_ms"] for c in cs], [c["median_cost_ms"] for c in cs], "o-", label="loss %g %%" % (100 * loss))
        ax2.plot([c["rtt_ms"] for c in cs], [c["median_stall_ms"] for c in cs], "o-", label="loss %g %%" % (100 * loss))
    rtts = sorted({c["rtt_ms"] for c in res["configs"]})
    for a_ in (ax, ax2):
        a_.set_xscale("log")
        a_.set_xticks(rtts)
        a_.set_xticklabels(["%g" % r for r in rtts])
        a_.minorticks_off()
        a_.set_xlabel("RTT (ms)")
        a_.legend(fontsize=7)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_ylabel("cost of a move (ms of transfer;\nbelow 0: a gain)")
    ax2.set_ylabel("longest stall after a move (ms)")
    ax3.set_xlabel("s from the advertisement (loss 0)")
    ax3.set_ylabel("stream bytes read (Mbit/s, 50 ms)")
    ax3.legend(fontsize=7)
    res["figures"] = [save(fig, d, "cost.png")]
    res["sentences"] = s
    return res


EXPERIMENTS = {"frag": frag, "wf": wf, "censor": censor, "drain": drain, "abuse": abuse, "cost": cost}


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in EXPERIMENTS:
        print(__doc__)
        return 2
    name, d = sys.argv[1], sys.argv[2]
    quick = "--quick" in sys.argv[3:]
    chk = Checks()
    res = EXPERIMENTS[name](d, quick, chk)
    res["experiment"] = name
    res["quick"] = quick
    res["checks"] = chk.items
    with open(os.path.join(d, "results.json"), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
        f.write("\n")
    for c in chk.failed():
        print("CHECK FAILED: %s" % c["check"], file=sys.stderr)
    for line in res["sentences"]:
        print("  " + line)
    return 1 if chk.failed() else 0


if __name__ == "__main__":
    sys.exit(main())
