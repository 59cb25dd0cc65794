#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Real NTPsec under clknetsim on S1, S3 or S4 of docs/disciplines.md, many
seeds: runs run_ntpsec.sh per seed and prints the medians of sync [s],
steps (jumps over 0.1 s between 1-s samples), RMS of the true offset over
[2000 s, end] (times from the client's start, as
tests/bench/bench_disciplines.py measures ntplab) and packets.

    ntpsec_runs.py [--scenario S1|S3|S4] --seeds 1-60 [--iburst] [--conf LINE] [--out DIR]

CLKNETSIM, CHRONYD and SHIM as run_ntpsec.sh needs them."""

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

START = 600  # s, the client's start in clknetsim's time
SCENARIOS = {  # run_ntpsec.sh's settings
    "S1": {},
    "S3": {"JITTER": "1e-1", "OFFSET": "0.94"},
    "S4": {"WANDER": "1e-7"},
}


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
    steps = sum(1 for i in range(START + 1, len(off)) if abs(off[i] - off[i - 1]) > 0.1)
    window = off[START + 2000:START + 10000]
    rms = math.sqrt(sum(x * x for x in window) / len(window))
    packets = sum(1 for line in (run / "log.packets").read_text().splitlines()
                  if line.split()[1:3] in (["1", "2"], ["2", "1"]))
    return sync, steps, rms, packets


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", choices=sorted(SCENARIOS), default="S1")
    ap.add_argument("--seeds", default="1-20")
    ap.add_argument("--iburst", action="store_true")
    ap.add_argument("--conf", default="", help="a line for NTPsec's ntp.conf, e.g. 'disable kernel'")
    ap.add_argument("--out", help="keep every run in DIR")
    a = ap.parse_args(argv)
    base = Path(a.out or tempfile.mkdtemp(prefix="ntpsec-runs-"))
    env = dict(os.environ, CONF_LINE=a.conf, **SCENARIOS[a.scenario])
    here = Path(__file__).resolve().parent
    rows = []
    for s in seeds(a.seeds):
        run = base / ("seed%d" % s)
        subprocess.run([str(here / "run_ntpsec.sh"), str(s), str(run)] +
                       (["iburst"] if a.iburst else []), check=True,
                       stdout=subprocess.DEVNULL, env=env)
        rows.append(metrics(run))
        print("seed %d: sync %d s, steps %d, RMS %.3g s, packets %d" % ((s,) + rows[-1]),
              flush=True)
    med = [statistics.median(r[i] for r in rows) for i in range(4)]
    print("NTPsec %s%s%s, %d seeds: sync %g s, steps %g, RMS [2000, end] %.3g s, packets %g"
          % (a.scenario, " iburst" if a.iburst else "", (", " + a.conf) if a.conf else "",
             len(rows), med[0], med[1], med[2], med[3]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
