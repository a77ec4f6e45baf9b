#!/usr/bin/env python3
"""Turns bench/run's raw measurements into results.md and results.json (ratios vs peers)."""
import json
import os
import sys

out, queries = sys.argv[1], sys.argv[2:]
times = {}
with open(os.path.join(out, "times")) as fh:
    for line in fh:
        name, secs, kib = line.split()
        times[name] = (float(secs), int(kib))

results, lines = {}, ["# Benchmark results", ""]
for s in ("one", "synth"):
    md = os.path.join(out, s)
    n = sum(len(os.listdir(os.path.join(md, d))) for d in ("cur", "new"))
    hp = times["hp-import-" + s]
    mu = (times["mu-init-" + s][0] + times["mu-index-" + s][0], times["mu-index-" + s][1])
    nm = times.get("nm-new-" + s, (0.0, 0))  # left out with NOTMUCH=0
    rate = lambda t: n / t[0] if t[0] else float("inf")
    r = {
        "messages": n,
        "homepost": {"seconds": hp[0], "msg_per_s": rate(hp), "peak_rss_mib": hp[1] / 1024,
                     "unlock_seconds": times["hp-init-" + s][0]},
        "mu": {"seconds": mu[0], "msg_per_s": rate(mu), "peak_rss_mib": mu[1] / 1024},
        "notmuch": {"seconds": nm[0], "msg_per_s": rate(nm), "peak_rss_mib": nm[1] / 1024},
    }
    r["ratio_vs_mu"] = r["homepost"]["msg_per_s"] / r["mu"]["msg_per_s"]
    r["ratio_vs_notmuch"] = r["homepost"]["msg_per_s"] / r["notmuch"]["msg_per_s"] if nm[0] else None
    with open(os.path.join(out, "hp-queries-%s.json" % s)) as fh:
        hq = json.load(fh)
    peers = {}
    with open(os.path.join(out, "peer-queries-%s.tsv" % s)) as fh:
        for line in fh:
            q, nm_us, mu_us = line.rstrip("\n").split("\t")
            peers[q] = (int(nm_us) / 1000, int(mu_us) / 1000)
    r["queries"] = {q: {"homepost_p50_ms": hq[q]["p50_ms"], "homepost_p99_ms": hq[q]["p99_ms"],
                        "hits": hq[q]["hits"], "notmuch_cli_ms": peers[q][0], "mu_cli_ms": peers[q][1]}
                    for q in queries}
    sizes = {}
    with open(os.path.join(out, "sizes-" + s)) as fh:
        for line in fh:
            kib, path = line.split()
            sizes[os.path.basename(path).split("-")[0]] = int(kib) / 1024
    r["disk_mib"] = sizes
    results[s] = r
    lines += [
        "## %s: %d messages" % ("one real Maildir (CSDMC2010)" if s == "one" else "synthesised", n), "",
        "| | seconds | messages/s | peak RSS MiB | disk MiB |", "|---|---|---|---|---|",
        "| Homepost (encrypted) | %.1f | %.0f | %.0f | %.0f |" % (hp[0], rate(hp), hp[1] / 1024, sizes.get("hp", 0)),
        "| mu init+index | %.1f | %.0f | %.0f | %.0f |" % (mu[0], rate(mu), mu[1] / 1024, sizes.get("mu", 0)),
        "| notmuch new | %.1f | %.0f | %.0f | %.0f |" % (nm[0], rate(nm), nm[1] / 1024, sizes.get("nm", 0))
        if nm[0] else "| notmuch new | left out | | | |",
        "", "Import rate: %.2fx mu%s." % (
            r["ratio_vs_mu"], ", %.2fx notmuch" % r["ratio_vs_notmuch"] if nm[0] else ""),
        "Raw mail %.0f MiB; Homepost's data directory %.2fx that." % (
            sizes.get("raw", 0), sizes.get("hp", 0) / sizes["raw"] if sizes.get("raw") else 0), "",
        "| query | hits | Homepost p50 ms | Homepost p99 ms | notmuch CLI ms | mu CLI ms |", "|---|---|---|---|---|---|",
    ]
    for q, v in r["queries"].items():
        lines.append("| `%s` | %d | %.2f | %.2f | %.1f | %.1f |" % (
            q, v["hits"], v["homepost_p50_ms"], v["homepost_p99_ms"], v["notmuch_cli_ms"], v["mu_cli_ms"]))
    lines.append("")
lines.append("Homepost query times are in-process (the server's case: a search with 50 "
             "summaries from the store); the peers' are whole CLI runs (process start included), "
             "median of 5.")
with open(os.path.join(out, "results.json"), "w") as fh:
    json.dump(results, fh, indent=2)
with open(os.path.join(out, "results.md"), "w") as fh:
    fh.write("\n".join(lines) + "\n")
print("\n".join(lines))
