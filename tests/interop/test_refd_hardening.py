# SPDX-License-Identifier: BSD-2-Clause
"""refd's low-severity holes of issue 11 (items 7, 9 and 10), seen from
outside, on the real binary:

* item 7: without -n, a start-up failure after the fork (-u nosuchuser, a pid
  file that cannot be written) made the parent exit 0 while the daemon died;
  the parent now waits for the daemon's "started" and exits with its status
  and message.
* item 9: command-line numbers and --listen are checked before anything is
  bound, with exit 2.
* item 10: refd -Q took refd's own RATE kiss-o'-death (LI=3, stratum 0) for
  "server unsynchronised" and went on asking; it now stops at the kiss and
  exits 3.

Every refd runs under capsh --drop=cap_sys_time on its virtual clock, in a
namespace of the test's own; the detached daemon of item 7 is stopped by its
PID (read from its pid file and checked against /proc) whatever the outcome."""

import json
import os
import signal
import time
from pathlib import Path

import pytest

from realnet import ntplab_net as nl
from realnet.ntplab_net import wait_for

EXIT_USAGE = 2      # docs/refd.8.md EXIT STATUS: a bad command line
EXIT_QUERY_KOD = 3  # docs/refd.8.md EXIT STATUS: -Q found no suitable server, and a KoD
KOD_HEADWAY = 9.0   # s: `discard average 3` is 2^3 s between KoDs, plus 1 s


def query_json(refd_bin, ns, host, samples=4, timeout=2):
    """refd -Q HOST -n SAMPLES --json -> (dict or None, CompletedProcess);
    unlike nl.refd_query, the number of samples is ours."""
    r = nl.run([refd_bin, "-Q", host, "-n", str(samples), "-t", str(timeout), "--json"],
               ns=ns, timeout=timeout + 6)
    try:
        return json.loads(r.stdout), r
    except ValueError:
        return None, r


# --------------------------------------------------------------------------
# item 10: refd -Q and a RATE kiss-o'-death


def test_query_stops_at_refd_rate_kod(lab, refd_bin):
    """refd's own RATE KoD has LI=3 and stratum 0.  A -Q of 4 samples sends
    its second request as soon as the first reply arrives; with `discard
    minimum 1` that one (if not the first) is limited and gets the KoD."""
    ns = lab.ns()
    refd = lab.refd(nl.refd_local_conf(lab, extra=["restrict default limited kod",
                                                   "discard average 3 minimum 1"]), ns=ns)
    wait_for(lambda: lab.probe(ns, "query", "127.0.0.1", 123, 1).get("stratum") == 6,
             "refd synchronised to its local clock", tries=30, interval=0.5)
    time.sleep(2.5)  # more than the 2 s minimum headway since the probe's last request

    r = nl.run([refd_bin, "-Q", "127.0.0.1", "-n", "4", "-t", "2"], ns=ns, timeout=8)
    lab.note("refd -Q: rc %d, stdout %r, stderr %r", r.returncode, r.stdout, r.stderr)
    assert r.returncode == EXIT_QUERY_KOD, (r.returncode, r.stdout, r.stderr)
    assert "no server suitable for synchronization found" in r.stderr
    assert "127.0.0.1: KoD RATE" in r.stderr, r.stderr
    assert "unsynchronised" not in r.stderr, "a kiss is not an unsynchronised server"

    time.sleep(KOD_HEADWAY)  # refd sends at most one KoD per average headway
    q, r = query_json(refd_bin, ns, "127.0.0.1")
    lab.note("refd -Q --json: rc %d %s", r.returncode, q)
    assert r.returncode == EXIT_QUERY_KOD, (r.returncode, r.stdout, r.stderr)
    srv = q["servers"][0]
    assert srv["kod"] == "RATE" and srv["usable"] is False, srv
    assert srv["reason"] == "KoD RATE", srv
    assert srv["requests"] <= 2, "the queries stop at the kiss: %s" % srv
    assert q["result"] == "none"
    assert refd.alive()



# --------------------------------------------------------------------------
# item 7: the detaching parent reports the daemon's start-up


def _stop_detached(pid, conf):
    """TERM (then KILL) the detached refd `pid`, only if it is that refd:
    its comm is refd and its command line names our conf.  It is gone (or
    a zombie) once its start time no longer answers.  Bounded."""
    start = nl._proc_start(pid)
    try:
        comm = Path("/proc/%d/comm" % pid).read_text().strip()
        cmdline = Path("/proc/%d/cmdline" % pid).read_bytes()
    except OSError:
        return
    if start is None or comm != "refd" or str(conf).encode() not in cmdline:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if nl._proc_start(pid) != start:
            return
        os.kill(pid, sig)
        for _ in range(50):
            if nl._proc_start(pid) != start:
                return
            time.sleep(0.1)


def _udp_sockets(ns):
    """ss lines of every UDP socket in ns, with the owning processes."""
    r = nl.sh(["ip", "netns", "exec", ns, "ss", "-uanpH"], check=False)
    return [line for line in r.stdout.splitlines() if line.strip()]


def _detached_refd(lab, ns, name, extra):
    """refd without -n (it forks and detaches); the parent's result."""
    conf = lab.write(name + ".conf", nl.refd_local_conf(lab, name=name))
    argv = [nl.refd_bin(), "-c", conf, "--listen", "127.0.0.1:0"] + list(extra)
    return conf, nl.run(argv, ns=ns, timeout=10)


@pytest.mark.parametrize("case", ["nosuchuser", "pidfile"])
def test_detached_start_failure_reaches_the_parent(lab, refd_bin, case):
    ns = lab.ns()
    if case == "nosuchuser":
        extra, want = ["-u", "nosuchuser-ntplab"], "-u nosuchuser-ntplab: no such user"
    else:
        lab.write("not-a-dir", "a file, so no pid file can be made below it\n")
        pidfile = lab.path("not-a-dir") / "refd.pid"
        extra, want = ["--pidfile", pidfile], "cannot write pid file %s: Not a directory" % (
            pidfile)
    conf, r = _detached_refd(lab, ns, "refd-" + case, extra)
    lab.note("%s: rc %d, stderr %r", case, r.returncode, r.stderr)
    leftovers = [line for line in _udp_sockets(ns) if '"refd"' in line]
    assert r.returncode == 1, "the parent must exit with the daemon's failure: %r" % (r,)
    assert want in r.stderr, r.stderr
    assert not leftovers, "the daemon must be gone: %s" % leftovers
    log = lab.path("refd-%s.log" % case).read_text()
    assert want in log, "the failure is logged too: %s" % log


def _pid_in(pidfile, tries=1):
    """The pid in pidfile, or None (not there, or not written yet)."""
    for i in range(tries):
        try:
            return int(pidfile.read_text())
        except (OSError, ValueError):
            if i + 1 < tries:
                time.sleep(0.1)
    return None


def test_detached_good_start_exits_0_with_the_daemon_running(lab, refd_bin):
    ns = lab.ns()
    pidfile = lab.path("detached.pid")
    conf, r = _detached_refd(lab, ns, "detached", ["--pidfile", pidfile])
    pid = _pid_in(pidfile)
    try:
        lab.note("good start: rc %d, stderr %r, daemon pid %s", r.returncode, r.stderr, pid)
        assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
        assert r.stderr == ""
        assert pid is not None, "the pid file is written before the parent exits"
        nl.STARTED_PIDS.add(pid)
        assert Path("/proc/%d/comm" % pid).read_text().strip() == "refd"
        assert not nl._cap_bnd(pid) & (1 << nl.CAP_SYS_TIME), "capsh's drop is inherited"
        assert any("pid=%d," % pid in line for line in _udp_sockets(ns)), _udp_sockets(ns)
        log = lab.path("detached.log")
        wait_for(lambda: "refd started" in log.read_text(), "the daemon's start line",
                 tries=20, interval=0.1)
    finally:
        # A parent that did not wait leaves a daemon that writes its pid late.
        pid = pid if pid is not None else _pid_in(pidfile, tries=30)
        if pid is not None:
            _stop_detached(pid, conf)
    assert nl._proc_start(pid) is None, "the detached refd stopped on SIGTERM"
    wait_for(lambda: not pidfile.exists(), "the pid file removed at exit", tries=30,
             interval=0.1)


# --------------------------------------------------------------------------
# item 9: input nits, on the real binary


@pytest.mark.parametrize("args,shown", [
    (["--listen", "127.0.0.1:99999"], "port '99999'"),
    (["--listen", "ntp.example.org"], "'ntp.example.org': not a numeric"),
    (["--listen", "[::1"], "'[' without ']'"),
    (["--clock-offset", "0x10"], "--clock-offset '0x10'"),
    (["--clock-freq", "nan"], "--clock-freq 'nan'"),
    (["-p", "0x7b"], "-p '0x7b'"),
    (["--fault", "falseticker offset=inf"], "offset 'inf'"),
])
def test_command_line_errors_exit_2(lab, refd_bin, args, shown):
    ns = lab.ns()
    conf = lab.write("refd.conf", nl.refd_local_conf(lab))
    r = nl.run([refd_bin, "-c", conf, "-n"] + args, ns=ns, timeout=5)
    lab.note("%s: rc %d %r", args, r.returncode, r.stderr.strip())
    assert r.returncode == EXIT_USAGE, (r.returncode, r.stderr)
    assert shown in r.stderr, r.stderr
    assert not [line for line in _udp_sockets(ns) if '"refd"' in line]


def test_huge_drift_line_leaves_the_frequency_unset(lab, refd_bin):
    drift = lab.path("refd.drift")
    with open(drift, "w") as f:
        f.write("1" * (10 * 1024 * 1024) + "\n")  # the outside attack's 10 MB line
    ns = lab.ns()
    refd = lab.refd(nl.refd_local_conf(lab), ns=ns)
    log = lab.path("refd.log")
    wait_for(lambda: "refd started" in log.read_text(), "refd's start line", tries=50,
             interval=0.1)
    text = log.read_text()
    lab.note("%s", [line[:160] for line in text.splitlines() if "drift" in line])
    assert "drift file %s: first line longer than 64 bytes" % drift in text
    assert "drift (none) 0.000 ppm" in text, "started without a frequency"
    assert refd.alive()
