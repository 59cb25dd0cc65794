#!/usr/bin/python3
"""The discipline benchmark of issues 12 and 13 (docs/disciplines.md).

Runs the scenarios S1-S6 of tests/bench/disciplines/ (chrony's test.common
networks, as ../shared/reference/real-daemons.md measured real NTPsec and
chronyd on them) with ntpsim over a range of seeds, for one or more
configurations of the client, and prints one markdown table per scenario:
median [min-max] of each metric per configuration, beside the reference rows
of real-daemons.md.  "S1-long" is S1 stretched to 1e6 s, for the request
count of issue 12.

A configuration is a name plus edits of the client node: extra ntp.conf lines
(--conf) and YAML keys set on the node (--node-set KEY=VALUE, e.g.
discipline=ntpd-kernel once ntpsim knows that key; until then the run fails
with ntpsim's own error).  Each scenario runs with and without `iburst` on the
client's server lines (--iburst).

Metrics, from the client's NAME.trace.csv sampled every second (the rows at
whole seconds; sample_interval: 1s), all times from the client's start:
  sync     first t after which |offset| <= 1 ms for the rest of the run;
           "never" if the run ends more than 1 ms off (median over the runs
           that synced)
  settle   first t that starts 100 s in a row within 1 ms
  RMS, max of the offset over [W, end], W = 2000 s (3600 s in S2)
  steps    jumps of more than 0.1 s between 1-s samples (first: its time and
           size)
  packets  sent + received by the client (report.json)
S1-long: the requests the client sends (its datagrams in the --pcap capture),
in total and per day, and the mean interval between them.

Results depend only on the scenario files, the configurations and the seeds
(ntpsim is deterministic); the wall time is reported for people only.

  tests/bench/bench_disciplines.py [-j N] [--seeds 1-20] [--scenarios S1,S2]
      [--config NAME [--conf LINE]... [--node-set KEY=VALUE]...]...
      [--iburst both|file|on|off] [--refs none|daemons|all] [--out FILE]
"""

import argparse
import concurrent.futures
import csv
import datetime
import json
import math
import os
import re
import shlex
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCEN_DIR = os.path.join(ROOT, "tests", "bench", "disciplines")
BOUND = 1e-3         # s, |offset| that counts as synchronised (real-daemons.md)
SETTLE_RUN = 100     # s in a row within BOUND for "settle"
STEP_JUMP = 0.1      # s between 1-s samples that counts as a step
LONG_DURATION = 1e6  # s of S1-long, from the client's start
DAY = 86400.0

# Columns: key -> header.  RMS/max headers take the window.
COLUMNS = {
    "sync": "sync [s]",
    "settle": "settle [s]",
    "off_end": "ends > 1 ms off",
    "rms": "RMS [{w},end] [s]",
    "max": "max [{w},end] [s]",
    "steps": "steps",
    "step_at": "first step at [s]",
    "step_size": "first step [s]",
    "packets": "packets",
}

# The reference rows, copied from ../shared/reference/real-daemons.md (real
# NTPsec 1.2.2 and chronyd 4.3 under clknetsim, 10 seeds; "ntpsim W" is
# ntplab c3f3095 on the same scenarios).  Group "daemons": chronyd, ntpd =
# NTPsec defaults (kernel PLL, stepout 300), NK = NTPsec `disable kernel`,
# NK 900 = NK + `tinker stepout 900`.  Group "old": ntpsim W.  Cells in the
# column order of the scenario; "(*)" marks real-daemons.md's clknetsim
# artefact in NTPsec's daemon mode after a step.
REFS = {
    "S1": [
        ("daemons", "chronyd", ["132 [130–132]", "0/10", "7.0e-05 [1.6e-05–1.5e-04]", "1.2e-04", "0", "72"]),
        ("daemons", "NTPsec default", ["640 [637–646]", "0/10", "1.4e-04 [4.3e-05–3.9e-04]", "2.3e-04", "0", "144"]),
        ("daemons", "NTPsec default iburst", ["455 [451–459]", "0/10", "1.1e-04 [4.8e-05–2.6e-04]", "1.8e-04", "0", "147"]),
        ("daemons", "NTPsec disable kernel", ["648 [645–654]", "5/10", "6.6e-04 [1.3e-04–2.6e-03]", "9.3e-04", "0", "145"]),
        ("daemons", "NTPsec disable kernel iburst", ["462 [459–464]", "4/10", "4.9e-04 [4.1e-05–1.5e-03]", "7.3e-04", "0", "148"]),
        ("daemons", "NTPsec disable kernel, stepout 900", ["1382 [1368–1388]", "0/10", "1.2e-04 [7.6e-05–4.8e-04]", "2.2e-04", "0", "169"]),
        ("daemons", "NTPsec disable kernel, stepout 900, iburst", ["1212 [1205–1225]", "2/10", "2.6e-04 [1.2e-04–7.4e-04]", "4.7e-04", "0", "173"]),
        ("old", "ntpsim W c3f3095", ["1368 [1361–1371]", "0/10", "2.9e-04 [9.7e-05–5.8e-04]", "5.4e-04", "0", "173"]),
        ("old", "ntpsim W c3f3095 iburst", ["1168 [1161–1176]", "1/10", "2.3e-04 [3.0e-05–8.8e-04]", "3.2e-04", "0", "185"]),
        ("old", "ntpsim W c3f3095 300", ["655 [650–658]", "3/10", "5.6e-04 [5.9e-05–2.2e-03]", "7.7e-04", "0", "160"]),
        ("old", "ntpsim W c3f3095 300 iburst", ["451 [449–454]", "6/10", "7.6e-04 [4.8e-05–2.5e-03]", "1.2e-03", "0", "167"]),
    ],
    "S2": [
        ("daemons", "chronyd", ["no step (slews 83 ms/s)", "–", "469 [467–469]", "0/10", "4.6e-05", "8.3e-05", "66"]),
        ("daemons", "chronyd makestep 1 3", ["130 [129–131]", "−28.2014…−28.2012", "130 [129–131]", "0/10", "4.6e-05", "8.3e-05", "66"]),
        ("daemons", "NTPsec default -g", ["198 [194–201]", "−28.2021…−28.2019", "545 [532–604]", "0/10", "1.2e-04", "1.8e-04", "126"]),
        ("daemons", "NTPsec default -g iburst", ["8 [8–8]", "−28.2001…−28.2000", "348 [344–350]", "0/10", "1.3e-04", "1.7e-04", "132"]),
        ("daemons", "NTPsec disable kernel", ["198 [194–201]", "−28.2021…−28.2019", "540 [538–605]", "3/10", "4.7e-04", "6.5e-04", "126"]),
        ("daemons", "NTPsec disable kernel iburst", ["8 [8–8]", "−28.2001…−28.2000", "348 [344–350]", "0/10", "9.8e-05 (*)", "1.2e-04", "132"]),
        ("daemons", "NTPsec disable kernel, stepout 900", ["198 [194–201]", "−28.2021…−28.2019", "1212 [1169–1237]", "0/10", "7.6e-05 (*)", "1.1e-04", "139"]),
        ("daemons", "NTPsec disable kernel, stepout 900, iburst", ["8 [8–8]", "−28.2001…−28.2000", "990 [987–997]", "0/10", "4.1e-05 (*)", "7.4e-05", "148"]),
        ("old", "ntpsim W c3f3095", ["200 [197–203]", "−28.2022…−28.2019", "1204 [1178–1229]", "0/10", "1.2e-04", "2.1e-04", "142"]),
        ("old", "ntpsim W c3f3095 iburst", ["8 [8–8]", "−28.2002…−28.1999", "1006 [981–1046]", "0/10", "2.0e-04", "3.0e-04", "158"]),
        ("old", "ntpsim W c3f3095 300", ["200 [197–203]", "−28.2022…−28.2019", "581 [550–606]", "3/10", "6.4e-04", "8.3e-04", "131"]),
        ("old", "ntpsim W c3f3095 300 iburst", ["8 [8–8]", "−28.2002…−28.1999", "365 [348–415]", "2/10", "4.9e-04", "6.3e-04", "142"]),
    ],
    "S3": [
        ("daemons", "chronyd", ["0", "–", "–", "0.011 [0.0069–0.053]", "0.030", "87"]),
        ("daemons", "NTPsec default", ["2 [1–13]", "199", "−1.10…−0.94", "0.071 [0.034–0.24]", "0.16", "166"]),
        ("daemons", "NTPsec default iburst", ["2 [1–12]", "8", "−1.09…−0.92", "0.056 [0.022–0.20]", "0.095", "180"]),
        ("daemons", "NTPsec disable kernel", ["8 [1–13]", "199", "", "0.14 [0.036–0.27]", "0.27", "311"]),
        ("daemons", "NTPsec disable kernel iburst", ["5 [2–13]", "8", "", "0.13 [0.097–0.27]", "0.26", "282"]),
        ("daemons", "NTPsec disable kernel, stepout 900", ["1 [1–8]", "199", "", "0.062 [0.020–0.21]", "0.11", "179"]),
        ("daemons", "NTPsec disable kernel, stepout 900, iburst", ["2 [1–5]", "8", "", "0.098 [0.012–0.20]", "0.16", "194"]),
        ("old", "ntpsim W c3f3095", ["1 [1–5]", "200", "−1.19…−0.90", "0.096 [0.013–0.18]", "0.16", "190"]),
        ("old", "ntpsim W c3f3095 iburst", ["3 [1–8]", "8", "", "0.11 [0.014–0.21]", "0.23", "290"]),
        ("old", "ntpsim W c3f3095 300", ["10 [3–15]", "200", "", "0.19 [0.10–0.34]", "0.36", "314"]),
        ("old", "ntpsim W c3f3095 300 iburst", ["6 [2–13]", "8", "", "0.15 [0.058–0.29]", "0.27", "349"]),
    ],
    "S4": [
        ("daemons", "chronyd", ["132 [130–132]", "1.3e-04 [1.2e-04–1.7e-04]", "4.8e-04", "309"]),
        ("daemons", "NTPsec default", ["638 [634–646]", "5.5e-03 [1.8e-03–1.4e-02]", "1.3e-02", "144"]),
        ("daemons", "NTPsec default iburst", ["453 [450–458]", "6.0e-03 [2.0e-03–1.5e-02]", "1.4e-02", "147"]),
        ("daemons", "NTPsec disable kernel", ["646 [640–653]", "1.5e-02 [4.2e-03–4.4e-02]", "2.8e-02", "145"]),
        ("daemons", "NTPsec disable kernel iburst", ["460 [458–465]", "1.6e-02 [6.9e-03–4.2e-02]", "2.9e-02", "148"]),
        ("daemons", "NTPsec disable kernel, stepout 900", ["1376 [1362–1391]", "1.2e-02 [1.6e-03–3.1e-02]", "2.2e-02", "167"]),
        ("daemons", "NTPsec disable kernel, stepout 900, iburst", ["1211 [1198–1220]", "1.2e-02 [2.5e-03–3.4e-02]", "2.4e-02", "173"]),
        ("old", "ntpsim W c3f3095", ["1366 [1354–1380]", "1.0e-02 [3.4e-03–2.1e-02]", "2.1e-02", "165"]),
        ("old", "ntpsim W c3f3095 iburst", ["1166 [1154–1184]", "1.0e-02 [3.1e-03–1.9e-02]", "2.1e-02", "176"]),
        ("old", "ntpsim W c3f3095 300", ["654 [646–659]", "1.1e-02 [3.4e-03–2.0e-02]", "2.2e-02", "153"]),
        ("old", "ntpsim W c3f3095 300 iburst", ["455 [448–461]", "1.2e-02 [3.2e-03–2.0e-02]", "2.3e-02", "158"]),
    ],
    "S5": [
        ("daemons", "chronyd", ["0", "–", "–", "8.4e-05 [1.2e-05–1.5e-04]", "1.5e-04", "363"]),
        ("daemons", "NTPsec default", ["0 [0–11]", "4/10: 193–197", "+0.8804…+0.8807", "0.010 [0.0024–0.28]", "0.015", "720"]),
        ("daemons", "NTPsec default iburst", ["7 [4–10]", "10/10: 8", "+0.8993…+0.8995", "0.11 [0.073–0.16]", "0.29", "1544"]),
        ("daemons", "NTPsec disable kernel", ["0 [0–17]", "4/10: 193–197", "+0.880", "0.038 [0.023–0.23]", "0.062", "704"]),
        ("daemons", "NTPsec disable kernel iburst", ["17 [15–19]", "10/10: 8", "+0.8993…+0.8995", "0.21 [0.20–0.23]", "0.39", "1690"]),
        ("daemons", "NTPsec disable kernel, stepout 900", ["0 [0–10]", "4/10: 193–197", "", "0.014 [0.011–0.37]", "0.024", "762"]),
        ("daemons", "NTPsec disable kernel, stepout 900, iburst", ["9 [9–10]", "10/10: 8", "", "0.35 [0.33–0.40]", "0.61", "1687"]),
        ("old", "ntpsim W c3f3095", ["0 [0–9]", "4/10: 198–200", "+0.8801…+0.8804", "0.014 [0.012–0.34]", "0.024", "750"]),
        ("old", "ntpsim W c3f3095 iburst", ["8 [8–10]", "10/10: 8", "+0.8992…+0.8995", "0.31 [0.30–0.35]", "0.56", "2113"]),
        ("old", "ntpsim W c3f3095 300", ["0 [0–17]", "4/10: 198–200", "", "0.046 [0.042–0.22]", "0.070", "610"]),
        ("old", "ntpsim W c3f3095 300 iburst", ["15 [14–16]", "10/10: 8", "+0.8992…+0.8995", "0.20 [0.19–0.21]", "0.36", "2605"]),
    ],
    "S6": [
        ("daemons", "chronyd", ["198 [131–331]", "0/10", "8.0e-05 [7.3e-05–9.7e-05]", "3.2e-04", "418"]),
        ("daemons", "NTPsec default iburst", ["450 [444–544]", "0/10", "5.2e-04 [3.9e-04–6.3e-04]", "1.2e-03", "323"]),
        ("daemons", "NTPsec disable kernel iburst", ["458 [453–543]", "4/10", "1.1e-02 [1.6e-03–1.6e-02]", "2.1e-02", "599"]),
        ("daemons", "NTPsec disable kernel, stepout 900, iburst", ["1207 [1197–1221]", "7/10", "5.7e-03 [2.1e-03–1.0e-02]", "9.4e-03", "504"]),
        ("old", "ntpsim W c3f3095", ["1358 [1349–1363]", "5/10", "7.1e-03 [2.5e-03–9.6e-03]", "1.1e-02", "535"]),
        ("old", "ntpsim W c3f3095 iburst", ["1154 [1148–1274]", "4/10", "5.9e-03 [9.6e-04–1.0e-02]", "9.4e-03", "489"]),
        ("old", "ntpsim W c3f3095 300", ["645 [634–728]", "5/10", "1.1e-02 [1.8e-03–1.9e-02]", "2.1e-02", "597"]),
        ("old", "ntpsim W c3f3095 300 iburst", ["446 [437–544]", "6/10", "9.5e-03 [3.7e-03–1.6e-02]", "1.8e-02", "620"]),
    ],
    "S1-long": [
        ("daemons", "NTPsec default", ["1070", "935", ""]),
        ("old", "ntpsim c3f3095 (issue 12)", ["6384", "157", "6-7 after day 0"]),
    ],
}

SCENARIOS = {
    "S1": dict(file="s1-defaults.yaml", window=2000,
               cols=["sync", "off_end", "rms", "max", "steps", "packets"],
               title="chrony 001-defaults: 1 server, 100 us + exp(100 us) each way, "
                     "client +0.1 s, +100 ppm, wander 1e-9, 10,000 s"),
    "S2": dict(file="s2-seed-incident.yaml", window=3600,
               cols=["step_at", "step_size", "sync", "off_end", "rms", "max", "packets"],
               title="the seed incident: client +28.2 s, +10 ppm, server stratum 5, "
                     "`-g` (big_first_step), 7200 s"),
    "S3": dict(file="s3-large-jitter.yaml", window=2000,
               cols=["steps", "step_at", "step_size", "rms", "max", "packets"],
               title="chrony 006-largejitter: 100 us + exp(100 ms) each way, client +1 s, 10,000 s"),
    "S4": dict(file="s4-large-wander.yaml", window=2000,
               cols=["settle", "rms", "max", "packets"],
               title="chrony 007-largewander: wander 1e-7, otherwise S1"),
    "S5": dict(file="s5-falseticker.yaml", window=2000,
               cols=["steps", "step_at", "step_size", "rms", "max", "packets"],
               title="chrony 009-sourceselection: 5 servers, 1 ms + exp(100 us), "
                     "server 1 is 1 s off, 10,000 s"),
    "S6": dict(file="s6-asym-jitter.yaml", window=2000,
               cols=["settle", "off_end", "rms", "max", "packets"],
               title="chrony 011-asymjitter: 100 us + exp(970 us) server->client, "
                     "100 us + exp(30 us) client->server, 100,000 s"),
    "S1-long": dict(file="s1-defaults.yaml", window=None, cols=None,
                    title="S1 stretched to 1e6 s: requests sent by the client"),
}
LONG_COLS = ["requests in 1e6 s", "mean interval [s]", "log2 of the mean interval per day"]


class BenchError(Exception):
    """A bad input or a failed run: printed as one message, exit status 2."""


# ----------------------------------------------------------------------------
# Command line

class _Ordered(argparse.Action):
    """Keeps --config, --conf and --node-set in command-line order."""

    def __call__(self, parser, ns, value, option=None):
        items = getattr(ns, "cfg_items", None) or []
        items.append((self.dest, value))
        ns.cfg_items = items


def parse_seeds(spec):
    """'1-20' or '1,4,7-9' -> [1, ...]; an error names what is wrong."""
    seeds = []
    for part in spec.split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise BenchError(f"--seeds: bad seed range '{part}' in '{spec}' "
                             "(expected N, N-M or a comma-separated list of them, N >= 0)")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo:
            raise BenchError(f"--seeds: bad seed range '{part}': {hi} < {lo}")
        if hi >= 2 ** 63:
            raise BenchError(f"--seeds: seed {hi} is out of range (0 to 2^63-1, as ntpsim --seed)")
        if hi - lo >= 100000:
            raise BenchError(f"--seeds: range '{part}' has {hi - lo + 1} seeds (at most 100000)")
        for s in range(lo, hi + 1):
            if s in seeds:
                raise BenchError(f"--seeds: seed {s} is given twice in '{spec}'")
            seeds.append(s)
    return seeds


def parse_scenarios(spec):
    known = {k.lower(): k for k in SCENARIOS}
    out = []
    for name in spec.split(","):
        key = known.get(name.strip().lower())
        if key is None:
            raise BenchError(f"--scenarios: unknown scenario '{name.strip()}' "
                             f"(known: {', '.join(SCENARIOS)})")
        if key in out:
            raise BenchError(f"--scenarios: '{key}' is given twice")
        out.append(key)
    return out


def parse_configs(items):
    """[(dest, value)] in command-line order -> [{name, conf: [...], set: [(k, v)]}]."""
    configs = []
    for dest, value in items:
        if dest == "config":
            if not value or "|" in value or "\n" in value:
                raise BenchError(f"--config: bad name {value!r} (non-empty, no '|' or newline)")
            if any(c["name"] == value for c in configs):
                raise BenchError(f"--config: '{value}' is given twice")
            configs.append({"name": value, "conf": [], "set": []})
            continue
        if not configs:
            raise BenchError(f"--{dest.replace('_', '-')} {value!r} must follow a --config NAME")
        if dest == "conf":
            if "\n" in value or not value.strip():
                raise BenchError(f"--conf: {value!r} must be one non-empty ntp.conf line")
            configs[-1]["conf"].append(value.strip())
        else:
            m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)=(.+)", value)
            if not m or "\n" in value:
                raise BenchError(f"--node-set: expected KEY=VALUE (a YAML key of the node and a "
                                 f"one-line YAML value), got {value!r}")
            configs[-1]["set"].append((m.group(1), m.group(2).strip()))
    if not configs:
        # issue 12's pairs: ntpd on Linux against NTPsec's default, ntpd's
        # own loop against NTPsec's `disable kernel`; issue 13's regress
        # against chronyd
        configs = [{"name": "ntpd-kernel", "conf": [], "set": [("discipline", "ntpd-kernel")]},
                   {"name": "ntpd-daemon", "conf": ["disable kernel"], "set": []},
                   {"name": "regress", "conf": [], "set": [("discipline", "regress")]}]
    return configs


# ----------------------------------------------------------------------------
# Scenario edits.  Python has no YAML parser in its standard library, so the
# runner edits the benchmark's own files by lines: it relies on their layout
# (a node is a `- name: NAME` list item with its keys one per line below it,
# its ntp.conf a `conf: |` block) and says so when a file does not have it.
# ntpsim then validates the result as any scenario.

def _indent(line):
    return len(line) - len(line.lstrip(" "))


def _block_end(lines, start, indent):
    """Index after the lines from `start` on that are blank or indented > indent."""
    i = start
    while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > indent):
        i += 1
    while i > start and not lines[i - 1].strip():
        i -= 1
    return i


def _node_block(lines, node, path):
    for i, line in enumerate(lines):
        m = re.fullmatch(r"( *)- name: *([A-Za-z][A-Za-z0-9_.-]*) *", line)
        if m and m.group(2) == node:
            key_indent = len(m.group(1)) + 2
            return i, key_indent, _block_end(lines, i + 1, key_indent - 1)
    raise BenchError(f"{path}: no node '- name: {node}' (the runner edits a node given as a "
                     "block list item; see tests/bench/disciplines/)")


def _set_key(lines, lo, hi, indent, key, value, insert_at):
    """Set `key: value` among the keys at `indent` in lines[lo:hi]."""
    pad = " " * indent
    for i in range(lo, hi):
        if re.match(re.escape(pad) + re.escape(key) + r" *:( |$)", lines[i]):
            end = _block_end(lines, i + 1, indent)
            lines[i:end] = [f"{pad}{key}: {value}"]
            return
    lines.insert(insert_at, f"{pad}{key}: {value}")


def _server_iburst(line, mode):
    words = line.split()
    if not words or words[0] not in ("server", "pool") or len(words) < 2 \
            or words[1].startswith("127.127."):
        return line
    lead = line[:len(line) - len(line.lstrip())]
    words = [w for w in words if w != "iburst"]
    if mode == "on":
        words.insert(2, "iburst")
    return lead + " ".join(words)


def edit_scenario(text, path, node, conf_lines=(), node_set=(), top_set=(), iburst="file"):
    """The scenario text with the client node and top-level keys edited."""
    lines = text.split("\n")
    for key, value in top_set:
        _set_key(lines, 0, len(lines), 0, key, value, len(lines))
    first, key_indent, end = _node_block(lines, node, path)
    if conf_lines or iburst != "file":
        pad = " " * key_indent
        conf = next((i for i in range(first + 1, end)
                     if re.fullmatch(re.escape(pad) + r"conf: *\| *", lines[i])), None)
        if conf is None:
            raise BenchError(f"{path}: node '{node}' has no `conf: |` block at its keys' indent")
        cend = _block_end(lines, conf + 1, key_indent)
        if cend == conf + 1:
            raise BenchError(f"{path}: node '{node}': its `conf: |` block is empty")
        if iburst != "file":
            for i in range(conf + 1, cend):
                lines[i] = _server_iburst(lines[i], iburst)
        cpad = " " * _indent(lines[conf + 1])
        lines[cend:cend] = [cpad + c for c in conf_lines]
    for key, value in node_set:
        first, key_indent, end = _node_block(lines, node, path)
        _set_key(lines, first + 1, end, key_indent, key, value, first + 1)
    return "\n".join(lines)


def node_field(text, node, key, path):
    """A one-line field of a node, as text (None if absent)."""
    lines = text.split("\n")
    first, key_indent, end = _node_block(lines, node, path)
    for i in range(first + 1, end):
        m = re.fullmatch(" " * key_indent + re.escape(key) + r" *: *(\S.*?) *", lines[i])
        if m:
            return m.group(1)
    return None


def seconds(value, what):
    m = re.fullmatch(r"([0-9.eE+-]+) *(s|sec|min|h|d)?", value or "0")
    if not m:
        raise BenchError(f"{what}: cannot read {value!r} as seconds")
    return float(m.group(1)) * {"s": 1, "sec": 1, "min": 60, "h": 3600, "d": 86400}[m.group(2) or "s"]


# ----------------------------------------------------------------------------
# One run (in a worker process)

def _offsets(trace, start):
    """True offsets at the whole seconds from the client's start: o[k] = t0 + k."""
    samples = {}
    with open(trace, newline="") as f:
        r = csv.reader(f)
        head = next(r)
        ti, oi = head.index("t"), head.index("offset")
        for row in r:
            t = row[ti]
            if t.endswith(".000000"):
                samples[int(t[:-7])] = float(row[oi])   # the last row at a second wins
    s0 = int(round(start))
    if not samples or max(samples) <= s0:
        raise BenchError(f"{trace}: no samples at whole seconds after {s0} s "
                         "(the scenario needs sample_interval: 1s)")
    last = max(samples)
    o = []
    for t in range(s0, last + 1):
        if t not in samples:
            raise BenchError(f"{trace}: no sample at {t} s (needs sample_interval: 1s)")
        o.append(samples[t])
    return o


def trace_metrics(o, window):
    n = len(o) - 1
    bad = [k for k, x in enumerate(o) if abs(x) > BOUND]
    sync = None if bad and bad[-1] == n else (bad[-1] + 1 if bad else 0)
    settle, run = None, 0
    for k, x in enumerate(o):
        run = run + 1 if abs(x) <= BOUND else 0
        if run == SETTLE_RUN:
            settle = k - SETTLE_RUN + 1
            break
    w = o[window:] if window is not None and window <= n else []
    steps = [(k, o[k] - o[k - 1]) for k in range(1, n + 1) if abs(o[k] - o[k - 1]) > STEP_JUMP]
    return {
        "sync": sync,
        "settle": settle,
        "off_end": abs(o[n]) > BOUND,
        "rms": math.sqrt(sum(x * x for x in w) / len(w)) if w else None,
        "max": max(abs(x) for x in w) if w else None,
        "steps": len(steps),
        "step_at": steps[0][0] if steps else None,
        "step_size": steps[0][1] if steps else None,
    }


def _pcap_sends(pcap, src):
    """Send times (s since the epoch) of the IPv4 datagrams from `src`."""
    out = []
    with open(pcap, "rb") as f:
        head = f.read(24)
        if len(head) < 24:
            raise BenchError(f"{pcap}: not a pcap file")
        end = "<" if head[:4] in (b"\x4d\x3c\xb2\xa1", b"\xd4\xc3\xb2\xa1") else ">"
        nano = head[:4] in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                break
            sec, frac, incl, _ = struct.unpack(end + "IIII", rec)
            data = f.read(incl)
            if len(data) >= 20 and data[0] >> 4 == 4 and data[12:16] == src:
                out.append(sec + frac * (1e-9 if nano else 1e-6))
    return out


def run_one(job):
    """Run ntpsim once and measure the client.  job: a dict (picklable)."""
    out = job["out"]
    cmd = [job["ntpsim"], "run", job["scenario"], "--seed", str(job["seed"]),
           "--out", out, "--no-plots", "--quiet"]
    if job["long"]:
        cmd += ["--pcap", os.path.join(out, "run.pcap")]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in (0, 1):    # 1: a check failed; the files have none that matter
        raise BenchError(f"ntpsim failed (exit {p.returncode}) on {job['label']} seed "
                         f"{job['seed']}:\n  {shlex.join(cmd)}\n{p.stderr.rstrip()}")
    with open(os.path.join(out, "report.json")) as f:
        rep = json.load(f)
    node = next((n for n in rep["nodes"] if n["name"] == job["node"]), None)
    if node is None:
        raise BenchError(f"{job['label']}: report.json has no node '{job['node']}'")
    pk = node["metrics"]  # report.json v1 (docs/report.schema.json)
    m = {"seed": job["seed"], "packets": pk["packets_sent"] + pk["packets_received"]}
    if job["long"]:
        t0 = datetime.datetime.strptime(rep["start_utc"], "%Y-%m-%d %H:%M:%S.%f")
        t0 = t0.replace(tzinfo=datetime.timezone.utc).timestamp() + job["start"]
        src = bytes(int(x) for x in job["address"].split("."))
        sends = [t - t0 for t in _pcap_sends(os.path.join(out, "run.pcap"), src)]
        days = math.ceil(LONG_DURATION / DAY)
        per_day = [0] * days
        for t in sends:
            per_day[min(int(t // DAY), days - 1)] += 1
        m.update(requests=len(sends), per_day=per_day)
    else:
        m.update(trace_metrics(_offsets(os.path.join(out, job["node"] + ".trace.csv"),
                                        job["start"]), job["window"]))
    if not job["keep"]:
        shutil.rmtree(out, ignore_errors=True)
    return m


# ----------------------------------------------------------------------------
# Aggregation and tables

def _num(x):
    if x is None:
        return "–"
    return str(int(x)) if float(x).is_integer() else f"{x:.1f}"


def _sci(x):
    return "–" if x is None else f"{x:.1e}"


def _spread(vals, fmt):
    if not vals:
        return "–"
    return f"{fmt(statistics.median(vals))} [{fmt(min(vals))}–{fmt(max(vals))}]"


def cell(col, runs):
    n = len(runs)
    vals = [r[col] for r in runs if r.get(col) is not None]
    if col in ("sync", "settle"):
        s = _spread(vals, _num)
        return s if len(vals) == n else f"{s}, never {n - len(vals)}/{n}" if vals else f"never {n}/{n}"
    if col == "off_end":
        return f"{sum(1 for r in runs if r['off_end'])}/{n}"
    if col in ("rms", "max"):
        return _spread(vals, _sci)
    if col in ("steps", "packets"):
        return _spread(vals, _num)
    if col == "step_at":
        return f"{len(vals)}/{n}: {_spread(vals, _num)}" if vals else "–"
    if col == "step_size":
        return f"{min(vals):+.4f}…{max(vals):+.4f}".replace("-", "−") if vals else "–"
    raise AssertionError(col)


def long_cells(runs):
    req = [r["requests"] for r in runs]
    days = len(runs[0]["per_day"])
    polls = []
    for d in range(days):
        length = min(DAY, LONG_DURATION - d * DAY)
        med = statistics.median(r["per_day"][d] for r in runs)
        polls.append(f"{math.log2(length / med):.1f}" if med else "–")
    interval = [LONG_DURATION / x for x in req if x]
    return [_spread(req, _num), _spread(interval, lambda x: f"{x:.0f}"), " ".join(polls)]


def table(name, sc, rows, refs):
    w = sc["window"]
    if sc["cols"] is None:
        heads = LONG_COLS
    else:
        heads = [COLUMNS[c].format(w=w) for c in sc["cols"]]
    out = [f"### {name}: {sc['title']}", "",
           "| system / config | " + " | ".join(heads) + " |",
           "|---" * (len(heads) + 1) + "|"]
    for label, cells in rows:
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    for group, label, cells in REFS.get(name, []):
        if refs == "all" or refs == group:
            out.append(f"| *{label}* | " + " | ".join(c or "" for c in cells) + " |")
    return "\n".join(out)


# ----------------------------------------------------------------------------

def _git_rev():
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return rev + (" + uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv):
    ap = argparse.ArgumentParser(
        prog="bench_disciplines.py",
        description="The discipline benchmark S1-S6 (docs/disciplines.md).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Without --config: 'ntpd-kernel' (--node-set discipline=ntpd-kernel, the "
               "default) and 'ntpd-daemon' (--conf 'disable kernel').\nExample: --config "
               "pll8 --node-set 'discipline={name: ntpd-kernel, pll: 8}' --config "
               "stepout900 --conf 'tinker stepout 900'")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS),
                    help=f"comma-separated, of {', '.join(SCENARIOS)} (default: all)")
    ap.add_argument("--seeds", default="1-20", help="N-M or a list such as 1,5,7-9 (default 1-20)")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                    help="parallel ntpsim runs (default: the CPUs)")
    ap.add_argument("--config", action=_Ordered, metavar="NAME",
                    help="start a configuration; the --conf and --node-set after it belong to it")
    ap.add_argument("--conf", action=_Ordered, metavar="LINE",
                    help="an ntp.conf line appended to the client's conf")
    ap.add_argument("--node-set", dest="node_set", action=_Ordered, metavar="KEY=VALUE",
                    help="set a YAML key of the client node (e.g. discipline=ntpd-kernel)")
    ap.add_argument("--iburst", choices=["both", "file", "on", "off"], default="both",
                    help="iburst on the client's server lines: both variants (default), as the "
                         "file has it, or on/off for all")
    ap.add_argument("--refs", choices=["none", "daemons", "all"], default="daemons",
                    help="reference rows: none, the real daemons (default), or also ntpsim "
                         "c3f3095 ('ntpsim W')")
    ap.add_argument("--node", default="client", help="the node measured and edited (default client)")
    ap.add_argument("--ntpsim", default=os.path.join(ROOT, "build", "sim", "ntpsim"),
                    help="the ntpsim binary (default build/sim/ntpsim)")
    ap.add_argument("--out", help="also write the markdown to this file")
    ap.add_argument("--json", help="write every run's metrics to this file")
    ap.add_argument("--keep", metavar="DIR",
                    help="keep the generated scenarios and every run's outputs in DIR")
    args = ap.parse_args(argv)

    wall0 = time.monotonic()
    if args.jobs < 1:
        raise BenchError(f"-j: expected at least 1, got {args.jobs}")
    seeds = parse_seeds(args.seeds)
    names = parse_scenarios(args.scenarios)
    configs = parse_configs(getattr(args, "cfg_items", None) or [])
    if not (os.path.isfile(args.ntpsim) and os.access(args.ntpsim, os.X_OK)):
        raise BenchError(f"{args.ntpsim}: no ntpsim there (build first: cmake --build build)")
    ntpsim = os.path.abspath(args.ntpsim)
    work = os.path.abspath(args.keep) if args.keep else tempfile.mkdtemp(prefix="bench-disc-")
    os.makedirs(work, exist_ok=True)
    try:
        return _bench(args, argv, seeds, names, configs, ntpsim, work, wall0)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def _bench(args, argv, seeds, names, configs, ntpsim, work, wall0):
    # One generated scenario per (scenario, config, iburst variant), checked first.
    variants = []   # (name, config, iburst, label, path, meta)
    for name in names:
        sc = SCENARIOS[name]
        path = os.path.join(SCEN_DIR, sc["file"])
        try:
            with open(path) as f:
                text = f.read()
        except OSError as e:
            raise BenchError(f"{path}: {e.strerror}")
        long = sc["cols"] is None
        ibs = {"both": ["off", "on"], "file": ["file"], "on": ["on"], "off": ["off"]}[args.iburst]
        for cfg in configs:
            for ib in ibs:
                top = [("duration", f"{LONG_DURATION + 600:.0f}s"),
                       ("sample_interval", "0")] if long else []
                gen = edit_scenario(text, path, args.node, cfg["conf"], cfg["set"], top, ib)
                start = seconds(node_field(gen, args.node, "start", path), f"{path}: start")
                if long and start != 600:
                    raise BenchError(f"{path}: S1-long expects the client to start at 600 s")
                has_ib = any(" iburst" in l for l in gen.split("\n") if l.strip().startswith("server"))
                label = f"ntplab {cfg['name']}" + (" iburst" if has_ib else "")
                tag = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{name}-{cfg['name']}-{ib}")
                gpath = os.path.join(work, tag + ".yaml")
                edits = "; ".join([f"conf += {c!r}" for c in cfg["conf"]] +
                                  [f"{k}: {v}" for k, v in cfg["set"]] +
                                  ([f"iburst {ib}"] if ib != "file" else []) +
                                  [f"{k}: {v}" for k, v in top])
                with open(gpath, "w") as f:
                    f.write(f"# generated by tests/bench/bench_disciplines.py from "
                            f"tests/bench/disciplines/{sc['file']}\n# node {args.node}: "
                            f"{edits or 'no edits'}\n{gen}")
                addr = node_field(gen, args.node, "address", path)
                variants.append(dict(name=name, label=label, path=gpath, start=start,
                                     long=long, address=addr, window=sc["window"], tag=tag))
    for v in variants:
        p = subprocess.run([ntpsim, "check", v["path"]], capture_output=True, text=True)
        if p.returncode != 0:
            raise BenchError(f"ntpsim check refused {v['name']} / {v['label']} "
                             f"(generated: {v['path']}{'' if args.keep else ', deleted on exit; --keep DIR keeps it'}):\n"
                             f"{(p.stderr or p.stdout).rstrip()}")
        if v["long"] and not re.fullmatch(r"\d+\.\d+\.\d+\.\d+", v["address"] or ""):
            raise BenchError(f"{v['name']}: S1-long needs an IPv4 `address:` on node {args.node}")

    jobs = [dict(ntpsim=ntpsim, scenario=v["path"], seed=s, node=args.node, start=v["start"],
                 window=v["window"], long=v["long"], address=v["address"], label=v["label"],
                 keep=bool(args.keep), out=os.path.join(work, f"{v['tag']}-seed{s}"))
            for v in variants for s in seeds]
    results = [None] * len(jobs)
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futs = {pool.submit(run_one, j): i for i, j in enumerate(jobs)}
        try:
            for fut in concurrent.futures.as_completed(futs):
                results[futs[fut]] = fut.result()
        except BaseException:
            for f in futs:
                f.cancel()
            raise
    wall = time.monotonic() - wall0

    cmd = "tests/bench/bench_disciplines.py" + ("" if not argv else " " + shlex.join(argv))
    rel = os.path.relpath(ntpsim, ROOT)
    binary = (f"{rel} of the tree at {_git_rev()}" if not rel.startswith("..")
              else f"{ntpsim} (scenarios from the tree at {_git_rev()})")
    md = [f"Benchmark of docs/disciplines.md: {binary}, seeds {args.seeds} "
          f"({len(seeds)} runs per row), medians [min–max] over the runs; *italic* rows are "
          f"the references of ../shared/reference/real-daemons.md (10 seeds).", ""]
    per_variant = len(seeds)
    raw = []
    for name in names:
        rows = []
        for vi, v in enumerate(variants):
            if v["name"] != name:
                continue
            runs = results[vi * per_variant:(vi + 1) * per_variant]
            raw.append({"scenario": name, "config": v["label"], "runs": runs})
            sc = SCENARIOS[name]
            rows.append((v["label"], long_cells(runs) if v["long"] else
                         [cell(c, runs) for c in sc["cols"]]))
        md += [table(name, SCENARIOS[name], rows, args.refs), ""]
    md += ["Reproduce: `" + cmd + "`", "",
           f"Wall time: {wall:.1f} s for {len(jobs)} runs with -j {args.jobs} "
           "(for people only; no result depends on it)."]
    text = "\n".join(md) + "\n"
    sys.stdout.write(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"command": cmd, "seeds": seeds, "results": raw}, f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as e:
        print(f"bench_disciplines: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
