# SPDX-License-Identifier: BSD-2-Clause
"""`python3 -m realnet SCENARIO.yaml [options]`: the command line (the
options and exit statuses of the former tests/interop/realnet.py)."""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from . import ntplab_net as nl
from .scenario import load_scenario, scale_scenario, ScenarioError
from .report import report_json, report_text
from .run import run_scenario


def _parse_impl(items):
    out = {}
    for it in items or []:
        if "=" not in it:
            raise ScenarioError("--impl wants NODE=IMPL, got %r" % it)
        k, v = it.split("=", 1)
        out[k] = v
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python3 -m realnet",
        description="Run an ntpsim scenario with real daemons in network "
        "namespaces (root; every NTP program under capsh --drop=cap_sys_time).")
    ap.add_argument("scenario")
    ap.add_argument("--time-scale", type=float, metavar="K",
                    help="divide durations and event/check times by K, polls by log2 K "
                    "(default: the file's real: time_scale, else 1)")
    ap.add_argument("--keep-logs", metavar="DIR", help="copy configs, logs, samples, the "
                    "scaled scenario and report.json/report.txt here")
    ap.add_argument("--impl", action="append", metavar="NODE=IMPL",
                    help="refd (default), ntpsec, chrony or openntpd for hosts; refd or "
                    "ntpdig for query nodes; NODE may be a template name")
    ap.add_argument("--seed", type=int, help="override the scenario's seed (ntpnetem streams)")
    ap.add_argument("--sim", action="store_true", help="also run ntpsim on the scaled "
                    "scenario at the same seed and print both side by side")
    ap.add_argument("--json", metavar="FILE", help="write the report JSON here")
    ap.add_argument("--scaled-out", metavar="FILE", help="write the scaled scenario and exit")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    if a.time_scale is not None and a.time_scale < 1:
        ap.error("--time-scale must be >= 1")
    try:
        impl = _parse_impl(a.impl)
        if a.scaled_out:
            sc = load_scenario(a.scenario)
            d, notes = scale_scenario(sc.data, a.time_scale or sc.real_time_scale)
            Path(a.scaled_out).write_text(yaml.safe_dump(d, sort_keys=False))
            for x in notes:
                print("scaled: " + x)
            return 0
    except ScenarioError as e:
        print("realnet: %s" % e, file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("realnet: needs root (network namespaces)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="realnet-"))
    lab = nl.Lab(work / "lab", name="realnet")

    def on_signal(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    log = None if a.quiet else (lambda m: print("realnet: " + m, file=sys.stderr, flush=True))
    rc = 2
    try:
        rep = run_scenario(a.scenario, lab, a.time_scale, impl, a.seed, a.keep_logs, a.sim, log)
        sys.stdout.write(report_text(rep, rep.get("sim")))
        if a.json:
            Path(a.json).write_text(report_json(rep))
        rc = 0 if rep["result"] == "pass" else 1
    except ScenarioError as e:
        print("realnet: %s" % e, file=sys.stderr)
        rc = 2
    except KeyboardInterrupt as e:
        print("realnet: interrupted (%s): cleaning up" % (e or "Ctrl-C"), file=sys.stderr)
        rc = 130
    except (RuntimeError, AssertionError, nl.WaitTimeout, subprocess.TimeoutExpired) as e:
        print("realnet: setup or run failed: %s" % e, file=sys.stderr)
        rc = 2
    finally:
        # cleanup must not be interrupted half-way by a second Ctrl-C
        for s in old:
            signal.signal(s, signal.SIG_IGN)
        errors = lab.cleanup()
        for s, h in old.items():
            signal.signal(s, h)
        if errors:
            print("realnet: cleanup problems: %s" % errors, file=sys.stderr)
        shutil.rmtree(str(work), ignore_errors=True)
    return rc
