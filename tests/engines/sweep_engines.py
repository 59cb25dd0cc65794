# SPDX-License-Identifier: BSD-2-Clause
"""What the tests of the sweep engines share (test_sweep_parallel.py here,
tests/interop/test_slurm_sweep.py): the ntpsim under test, one small sweep,
the local reference run of it, and the byte-for-byte comparison of summaries.

ntpsim: $NTPSIM if set, else $NTPLAB_BUILD/sim/ntpsim (NTPLAB_BUILD: default
`build`, relative to the repository root)."""

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"

# The sweep every engine test runs, from the repository root: chrony 001 at
# 4 seeds x 2 disciplines = 8 runs (0.1 s each), no plots (the comparison is
# of the summary tables).
SWEEP_ARGS = ["scenarios/chrony/001-defaults.yaml", "--seeds", "1-4",
              "--set", "nodes.client.discipline=ntpd-kernel,regress", "--no-plots", "--quiet"]
N_RUNS = 8
SUMMARY_FILES = ("summary.csv", "summary.json", "summary.md")
# Bound of one local sweep or one engine script (s): the 8 runs take ~1 s.
RUN_TIMEOUT_S = 300


def ntpsim_bin():
    if os.environ.get("NTPSIM"):
        return Path(os.environ["NTPSIM"]).resolve()
    b = Path(os.environ.get("NTPLAB_BUILD", "build"))
    return (b if b.is_absolute() else REPO / b) / "sim" / "ntpsim"


def run(argv, env=None):
    """A command from the repository root (the sweep's scenario path is
    relative to it), bounded; its output kept for the assertion messages."""
    return subprocess.run([str(a) for a in argv], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT_S)


def run_ok(what, argv, env=None):
    """run(), which must exit 0; else its output names what failed."""
    r = run(argv, env=env)
    assert r.returncode == 0, "%s failed (exit %d):\n%s%s" % (what, r.returncode, r.stdout,
                                                             r.stderr)
    return r


def local_sweep(out):
    """The reference: the same sweep in one ntpsim process, -j2."""
    run_ok("local sweep", [ntpsim_bin(), "sweep", *SWEEP_ARGS, "-j", "2", "--out", out])
    return Path(out)


def assert_split(outdir, shards):
    """Every run in exactly one shard's folder: the engine really split the
    sweep (and did not run it whole N times)."""
    seen = {}
    for k in range(shards):
        runs = outdir / ("shard-%d" % k) / "runs"
        names = sorted(p.name for p in runs.iterdir()) if runs.is_dir() else []
        assert names, "shard %d ran nothing (%s)" % (k, runs)
        for n in names:
            assert n not in seen, "run %s in shard %d and shard %d" % (n, seen[n], k)
            seen[n] = k
    assert len(seen) == N_RUNS, "%d runs in the shards, want %d: %s" % (len(seen), N_RUNS,
                                                                       sorted(seen))


def assert_same_summary(local, merged):
    for name in SUMMARY_FILES:
        a, b = Path(local) / name, Path(merged) / name
        assert a.is_file() and a.stat().st_size > 0, "local sweep wrote no %s" % a
        assert b.is_file(), "the merge wrote no %s" % b
        if a.read_bytes() != b.read_bytes():
            diff = subprocess.run(["diff", "-u", str(a), str(b)], capture_output=True, text=True)
            raise AssertionError("%s differs, local vs merged:\n%s" % (name, diff.stdout[-4000:]))
