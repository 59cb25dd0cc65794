#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Before/after: every scenario of two ntplab trees, run at the same seeds by
each tree's own ntpsim on each tree's own scenario file, summarised per node
(medians over the seeds) as a markdown table of what moved.

    scripts/results-diff.py OLD_TREE NEW_TREE [--seeds 1-20] [--jobs 2]

Each tree needs build/sim/ntpsim.  A scenario only in one tree is listed as
such.  Reproduces the before/after tables of docs/results.md."""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

METRICS = (  # report.json v1 node metrics key, label, format
    ("sync_time", "sync [s]", "%.0f"),
    ("steps", "steps", "%.0f"),
    ("offset_rms", "RMS settled [us]", "%.0f"),
    ("offset_max", "max settled [us]", "%.0f"),
    ("packets_sent", "packets sent", "%.0f"),
)
SCALE = {"offset_rms": 1e6, "offset_max": 1e6}
# A tree from before report.json v1 (no schema_version) has flat node keys;
# its "after sync" figures are the nearest it has (from the final sync, not
# the first).
PRE_V1 = {"offset_rms": "offset_rms_after_sync", "offset_max": "offset_max_after_sync"}


def seeds(spec):
    lo, _, hi = spec.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def run(tree, rel, seed, work):
    out = Path(work) / ("%s-%s-%d" % (tree.name, rel.replace("/", "_"), seed))
    r = subprocess.run([str(tree / "build/sim/ntpsim"), "run", str(tree / "scenarios" / rel),
                        "--seed", str(seed), "--out", str(out), "--no-plots", "--quiet"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=600)
    try:
        rep = json.load(open(out / "report.json"))
    except (OSError, ValueError):
        return None, r.stderr.strip()[-200:]
    return rep, None


def node_values(rep):
    vals = {}
    for n in rep["nodes"]:
        if n.get("kind") != "host":
            continue
        v = {}
        for key, _, _ in METRICS:
            if "schema_version" in rep:
                x = n["metrics"][key]
            elif key == "packets_sent":
                x = n["packets"]["sent"]
            else:
                x = n.get(PRE_V1.get(key, key))
            if x is not None:
                v[key] = x * SCALE.get(key, 1)
        vals[n["name"]] = v
    return vals


def summarise(reports):
    """{node: {metric: (median, min, max, runs)}} over the seeds' reports."""
    acc = {}
    for rep in reports:
        for node, v in node_values(rep).items():
            for k, x in v.items():
                acc.setdefault(node, {}).setdefault(k, []).append(x)
    return {node: {k: (statistics.median(xs), min(xs), max(xs), len(xs)) for k, xs in m.items()}
            for node, m in acc.items()}


def fmt(cell, f):
    if cell is None:
        return "-"
    med, lo, hi, n = cell
    return (f % med) + (" [%s-%s]" % (f % lo, f % hi) if lo != hi else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--seeds", default="1-20")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    a = ap.parse_args()
    ss = seeds(a.seeds)
    rels = sorted({str(p.relative_to(t / "scenarios")) for t in (a.old, a.new)
                   for p in (t / "scenarios").rglob("*.yaml")})
    with tempfile.TemporaryDirectory(prefix="ntplab-diff-") as work, \
            ThreadPoolExecutor(a.jobs) as pool:
        jobs = {(t, rel, s): pool.submit(run, t, rel, s, work)
                for rel in rels for t in (a.old, a.new) if (t / "scenarios" / rel).exists()
                for s in ss}
        print("Seeds %s; cells: median [min-max] over the seeds; %s = %s, %s = %s.\n"
              % (a.seeds, "old", a.old, "new", a.new))
        for rel in rels:
            sums = {}
            for t in (a.old, a.new):
                reps = [jobs[(t, rel, s)].result()[0] for s in ss if (t, rel, s) in jobs]
                reps = [r for r in reps if r is not None]
                sums[t] = summarise(reps) if reps else None
            print("### %s\n" % rel)
            if sums[a.old] is None or sums[a.new] is None:
                print("only in %s\n" % ("the new tree" if sums[a.old] is None else "the old tree"))
                continue
            print("| node | metric | old | new |")
            print("|---|---|---|---|")
            for node in sorted(set(sums[a.old]) | set(sums[a.new])):
                for key, label, f in METRICS:
                    o = sums[a.old].get(node, {}).get(key)
                    n = sums[a.new].get(node, {}).get(key)
                    if o is None and n is None:
                        continue
                    print("| %s | %s | %s | %s |" % (node, label, fmt(o, f), fmt(n, f)))
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
