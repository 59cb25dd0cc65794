#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""S1 of docs/disciplines.md for real NTPsec under clknetsim, many seeds:
runs run_ntpsec.sh per seed and prints the medians of sync [s] and RMS of
the true offset over [2000 s, end] (both from the client's start, as
tests/bench/bench_disciplines.py measures ntplab) and the packets.

    s1_ntpsec.py --seeds 1-60 [--iburst] [--out DIR]

CLKNETSIM, CHRONYD and SHIM as run_ntpsec.sh needs them."""

import argparse
import math
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

START = 600  # s, the client's start in clknetsim's time


def seeds(text):
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


def metrics(run):
    off = [float(line.split()[1]) for line in (run / "log.offset").read_text().splitlines()]
    late = [i for i in range(START, len(off)) if abs(off[i]) > 1e-3]
    sync = (late[-1] + 1 - START) if late else 0
    window = off[START + 2000:START + 10000]
    rms = math.sqrt(sum(x * x for x in window) / len(window))
    packets = sum(1 for line in (run / "log.packets").read_text().splitlines()
                  if line.split()[1:3] in (["1", "2"], ["2", "1"]))
    return sync, rms, packets


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="1-20")
    ap.add_argument("--iburst", action="store_true")
    ap.add_argument("--out", help="keep every run in DIR")
    a = ap.parse_args(argv)
    base = Path(a.out or tempfile.mkdtemp(prefix="s1-ntpsec-"))
    here = Path(__file__).resolve().parent
    rows = []
    for s in seeds(a.seeds):
        run = base / ("seed%d" % s)
        subprocess.run([str(here / "run_ntpsec.sh"), str(s), str(run)] +
                       (["iburst"] if a.iburst else []), check=True,
                       stdout=subprocess.DEVNULL)
        rows.append(metrics(run))
        print("seed %d: sync %d s, RMS %.3g s, packets %d" % ((s,) + rows[-1]), flush=True)
    med = [statistics.median(r[i] for r in rows) for i in range(3)]
    print("NTPsec%s, %d seeds: sync %g s, RMS [2000, end] %.3g s, packets %g"
          % (" iburst" if a.iburst else "", len(rows), med[0], med[1], med[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
