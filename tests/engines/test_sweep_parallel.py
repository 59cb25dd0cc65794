# SPDX-License-Identifier: BSD-2-Clause
"""scripts/sweep-parallel.sh, for real: GNU parallel runs a 2-shard sweep and
the merge, and the merged summary equals a local `ntpsim sweep -j2`'s byte for
byte.  Once on this machine, once spread over two "hosts" through parallel's
--sshlogin machinery with a stand-in for ssh (this machine has no sshd): it
runs the remote command here, but from / like a login shell, so the test also
shows that the shards start in the caller's folder (--wd) and that the
arguments survive the remote quoting.

Part of `make check`'s ctest tier (tests/CMakeLists.txt: engines/sweep-parallel);
by hand, from the repository root:
    NTPLAB_BUILD=build /usr/bin/python3 -m pytest -q -rs tests/engines
Skips, saying so, only when GNU parallel is not installed."""

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sweep_engines as se  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("parallel") is None,
                                reason="GNU parallel not installed (apt-get install parallel)")

# The stand-in for ssh: parallel calls it as `ssh [-o OPT]... HOST -- COMMAND`
# (or without the --); it runs COMMAND with bash from /, and notes the host.
# Like sshd it sets SHELL for the login (from the passwd entry there): GNU
# parallel's remote wrapper execs $SHELL, and the caller's environment (CI's,
# say) may have none.
FAKE_SSH = r"""#!/bin/bash
while [ $# -gt 0 ]; do
	case "$1" in
	-o | -p | -l) shift 2 ;;
	-*) shift ;;
	*) break ;;
	esac
done
echo "$1" >>"$(dirname "$0")/hosts.log"
shift
[ "${1:-}" = -- ] && shift
export SHELL=/bin/bash
cd / && exec bash -c "$*"
"""


def sweep_parallel(outdir, *opts, env=None):
    return se.run_ok("sweep-parallel.sh", [se.SCRIPTS / "sweep-parallel.sh", "--shards", "2",
                                           "--ntpsim", se.ntpsim_bin(), *opts, outdir, "--",
                                           *se.SWEEP_ARGS], env=env)


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    return se.local_sweep(tmp_path_factory.mktemp("local") / "sweep")


def test_local_shards_merge_to_the_local_summary(local, tmp_path):
    out = tmp_path / "par"
    sweep_parallel(out)
    se.assert_split(out, 2)
    se.assert_same_summary(local, out / "merged")


def test_sshlogin_shards_merge_to_the_local_summary(local, tmp_path):
    ssh = tmp_path / "ssh"
    ssh.write_text(FAKE_SSH)
    ssh.chmod(0o755)
    out = tmp_path / "par"
    sweep_parallel(out, "--sshlogin", "hostA,hostB", env=dict(os.environ, PARALLEL_SSH=str(ssh)))
    hosts = sorted((tmp_path / "hosts.log").read_text().split())
    assert hosts == ["hostA", "hostB"], "the shards went to %s, want one on each host" % hosts
    se.assert_split(out, 2)
    se.assert_same_summary(local, out / "merged")


def test_bad_arguments_exit_2_with_usage(tmp_path):
    for bad in (["--shards", "0", tmp_path, "--", *se.SWEEP_ARGS],
                [tmp_path, "--", "--seeds", "1-4"],
                [tmp_path, "--", *se.SWEEP_ARGS, "--out", tmp_path / "x"],
                [tmp_path, "--", "no-such-scenario.yaml", "--seeds", "1"],
                ["--", *se.SWEEP_ARGS],
                ["--bogus", "1", tmp_path, "--", *se.SWEEP_ARGS]):
        r = se.run([se.SCRIPTS / "sweep-parallel.sh", "--ntpsim", se.ntpsim_bin(), *bad])
        assert r.returncode == 2 and "usage: sweep-parallel.sh" in r.stderr, (bad, r)


def test_a_failing_shard_stops_before_the_merge(tmp_path):
    # a seed list ntpsim refuses: every shard exits 2, so there is no merge
    out = tmp_path / "par"
    r = se.run([se.SCRIPTS / "sweep-parallel.sh", "--ntpsim", se.ntpsim_bin(), out, "--",
                se.SWEEP_ARGS[0], "--seeds", "one"])
    assert r.returncode == 2 and "shards failed, no merge" in r.stderr, r
    assert not (out / "merged").exists()
