# SPDX-License-Identifier: BSD-2-Clause
"""scripts/sweep-slurm.sh on a real Slurm: a single-node cluster (Debian's
slurm-wlm 22.05 and munge; slurm_cluster.py) started here in the background
runs a 2-shard sweep as a job array plus the dependent merge job, and the
merged summary (summary.csv, .json, .md) equals that of a local
`ntpsim sweep -j2` of the same arguments byte for byte.

How to run: as root (munged and slurmd run as root; the cluster lives in a
/tmp/ntplab-slurm-* folder, talks over 127.0.0.1 only and is stopped after),
with ntpsim built:
    make build
    sudo NTPLAB_BUILD=build /usr/bin/python3 -m pytest -q tests/interop/test_slurm_sweep.py
It is part of the interop tier (scripts/check.sh interop, make check-interop),
which runs tests/interop as root.  $NTPSIM names another ntpsim binary.
The cluster says on the terminal that it started (with its start time) or
why it could not, in which case the test skips with that reason and the
daemons' log tails.  ~15 s when it runs: cluster start ~2 s, then the jobs.
"""

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engines"))
import sweep_engines as se  # noqa: E402
from slurm_cluster import slurm_cluster  # noqa: E402,F401 (the fixture)

SHARDS = 2
# Bound of the wait for the jobs (s): they need seconds; the scheduler's
# cycles and a loaded 2-CPU machine the rest.
JOBS_WAIT_S = 600
POLL_S = 1
DONE = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
        "PREEMPTED", "BOOT_FAIL", "DEADLINE"}


@pytest.fixture(scope="module", autouse=True)
def _ntpsim_built():
    if not se.ntpsim_bin().exists():
        pytest.skip("ntpsim not found at %s (make build, or $NTPSIM)" % se.ntpsim_bin())


def wait_jobs(cluster, job_ids):
    """Every job (and array task) in a final state, within JOBS_WAIT_S."""
    deadline = time.monotonic() + JOBS_WAIT_S
    while True:
        states = {}
        for j in job_ids:
            states.update(cluster.job_states(j))
        if states and all(s in DONE for s in states.values()):
            return states
        assert time.monotonic() < deadline, "jobs not done after %d s: %s" % (JOBS_WAIT_S, states)
        time.sleep(POLL_S)


def logs(outdir):
    return "\n".join("--- %s\n%s" % (p.name, p.read_text(errors="replace")[-2000:])
                     for p in sorted(outdir.glob("slurm-*.out")))


def test_slurm_job_array_merges_to_the_local_summary(slurm_cluster, tmp_path):
    out = tmp_path / "slurm"
    r = se.run_ok("sweep-slurm.sh", [se.SCRIPTS / "sweep-slurm.sh", "--shards", SHARDS,
                                     "--partition", "test", "--ntpsim", se.ntpsim_bin(), out,
                                     "--", *se.SWEEP_ARGS], env=slurm_cluster.env)
    array, merge = r.stdout.split()

    states = wait_jobs(slurm_cluster, [array, merge])
    want = {"%s_%d" % (array, k): "COMPLETED" for k in range(SHARDS)}
    want[merge] = "COMPLETED"
    assert states == want, "job states %s, want %s\n%s" % (states, want, logs(out))
    for k in range(SHARDS):
        assert (out / ("slurm-%s_%d.out" % (array, k))).exists(), "no log of task %d" % k

    se.assert_split(out, SHARDS)
    local = se.local_sweep(tmp_path / "local")
    se.assert_same_summary(local, out / "merged")


def test_bad_arguments_exit_2_before_submitting(slurm_cluster, tmp_path):
    r = se.run([se.SCRIPTS / "sweep-slurm.sh", "--shards", "two", "--ntpsim", se.ntpsim_bin(),
                tmp_path, "--", *se.SWEEP_ARGS], env=slurm_cluster.env)
    assert r.returncode == 2 and "usage: sweep-slurm.sh" in r.stderr, r
    q = slurm_cluster.run(["squeue", "-h", "-o", "%i"])
    assert q.stdout.strip() == "", "a job was submitted: %s" % q.stdout


def test_a_failed_shard_cancels_the_merge(slurm_cluster, tmp_path):
    # seeds ntpsim refuses: each task exits 2, so afterok never holds and
    # --kill-on-invalid-dep cancels the merge instead of leaving it pending
    out = tmp_path / "slurm"
    r = se.run([se.SCRIPTS / "sweep-slurm.sh", "--ntpsim", se.ntpsim_bin(), out, "--",
                se.SWEEP_ARGS[0], "--seeds", "one"], env=slurm_cluster.env)
    assert r.returncode == 0, r
    array, merge = r.stdout.split()
    states = wait_jobs(slurm_cluster, [array, merge])
    want = {"%s_%d" % (array, k): "FAILED" for k in range(SHARDS)}
    want[merge] = "CANCELLED"
    assert states == want, "job states %s, want %s\n%s" % (states, want, logs(out))
    assert not (out / "merged").exists()
