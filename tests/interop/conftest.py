# SPDX-License-Identifier: BSD-2-Clause
"""pytest wiring for the interop suite: root check, one Lab per test with a
finalizer that always cleans up, a session-end leak check, and a summary of
per-test wall time and observations."""

import os
import sys
import time
from pathlib import Path

import pytest

# the repository's root, once for the whole suite: the harness is the
# top-level package realnet (realnet/ntplab_net.py)
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from realnet import ntplab_net as nl  # noqa: E402

_DURATION = {}
_NOTES = {}
_FILES = {}
_ORDER = []


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="interop tests need root: they create network namespaces "
                                       "and start daemons under capsh --drop=cap_sys_time")
        for item in items:
            item.add_marker(skip)


def _need(path, what):
    if not Path(path).exists():
        pytest.skip("%s not found at %s" % (what, path))


@pytest.fixture
def refd_bin():
    _need(nl.refd_bin(), "refd (build it: cmake --build $NTPLAB_BUILD --target refd)")
    return nl.refd_bin()


@pytest.fixture
def chronyd_bin():
    _need(nl.chronyd_bin(), "chronyd (unpacked by scripts/install-deps.sh $NTPLAB_BUILD/daemons)")
    _need(nl.chronyc_bin(), "chronyc")
    return nl.chronyd_bin()


@pytest.fixture
def ntpd_bin():
    _need(nl.NTPD, "NTPsec ntpd (apt-get install ntpsec)")
    _need(nl.NTPQ, "ntpq (apt-get install ntpsec)")
    return nl.NTPD


@pytest.fixture
def ntpdig_bin():
    _need(nl.NTPDIG, "ntpdig (apt-get install ntpsec-ntpdig)")
    return nl.NTPDIG


@pytest.fixture
def tshark_bin():
    _need(nl.TSHARK, "tshark (apt-get install tshark)")
    return nl.TSHARK


@pytest.fixture
def lab(request, tmp_path):
    """Everything a test starts lives in this Lab; the finalizer stops its
    processes by PID and deletes its namespaces whatever the outcome."""
    workdir = tmp_path / "lab"
    if len(str(workdir)) > 80:  # chronyd's unix socket path must fit sun_path
        import tempfile
        workdir = Path(tempfile.mkdtemp(prefix="ntplab-"))
    lb = nl.Lab(workdir, name=request.node.name)

    def fin():
        errors = lb.cleanup()
        _NOTES[request.node.nodeid] = lb.notes
        _FILES[request.node.nodeid] = workdir
        assert not errors, "cleanup problems: %s" % errors

    request.addfinalizer(fin)
    return lb


@pytest.fixture(scope="session", autouse=True)
def _no_leftovers():
    yield
    left = [n for n in nl.ns_list() if n.startswith(nl.NS_PREFIX)]
    alive = [p for p in nl.STARTED_PIDS if os.path.exists("/proc/%d" % p)
             and not _is_zombie(p)]
    ours_on_123 = [line for line in nl.udp_listeners(None, 123)
                   if any("pid=%d," % p in line for p in nl.STARTED_PIDS)]
    for n in left:
        nl.ns_del(n)
    assert not left, "namespaces left behind: %s" % left
    assert not alive, "processes left running: %s" % alive
    assert not ours_on_123, "still listening on :123: %s" % ours_on_123


def _is_zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def pytest_runtest_logreport(report):
    if report.nodeid not in _DURATION:
        _DURATION[report.nodeid] = 0.0
        _ORDER.append(report.nodeid)
    _DURATION[report.nodeid] += report.duration
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _DURATION[report.nodeid + "#outcome"] = (
            "xfail" if hasattr(report, "wasxfail") and report.skipped else report.outcome)


def pytest_sessionstart(session):
    session.config._ntplab_t0 = time.monotonic()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    tr = terminalreporter
    if not _ORDER:
        return
    tr.section("ntplab interop: wall time and observations")
    for nodeid in _ORDER:
        outcome = _DURATION.get(nodeid + "#outcome", "?")
        tr.write_line("%7.1f s  %-8s %s" % (_DURATION[nodeid], outcome, nodeid))
        for note in _NOTES.get(nodeid, []):
            tr.write_line("             %s" % note)
        if outcome not in ("passed", "skipped") and nodeid in _FILES:
            tr.write_line("             files: %s" % _FILES[nodeid])
    t0 = getattr(config, "_ntplab_t0", None)
    if t0 is not None:
        tr.write_line("total wall time: %.1f s" % (time.monotonic() - t0))
