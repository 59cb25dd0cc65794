# SPDX-License-Identifier: BSD-2-Clause
"""refd in its sandbox (issue 11 item 8): no capabilities, no_new_privs and a
seccomp filter whose default is EPERM -- and everything it does at run time
still works:

* it serves ntpdig, ntpq, refd -Q and refbench;
* it is a client of another refd over a veth pair, through the client socket
  it opens at its first request (after the sandbox: it serves on 127.0.0.1
  only, which cannot reach 10.200.0.1);
* it writes its statistics files, reopens its log and those files on SIGHUP,
  answers --ctl commands, and writes its drift file (mkostemp, fsync,
  rename) and removes its pid file and control socket at exit.

A call the filter refuses fails with EPERM and refd logs what failed, so the
log is read for "Operation not permitted" too.  Both refds run under capsh
--drop=cap_sys_time on their virtual clocks."""

import os
import signal
import time

from realnet import ntplab_net as nl
from realnet.ntplab_net import wait_for
from test_refd_ctl import Ctl, status_fields

SERVER, CLIENT = "10.200.0.1", "10.200.0.2"
DRIFT_AT_START = "1.500\n"  # ppm: with a drift file the discipline starts in FSET, and
#                             refd writes the file at exit (not in NSET or FREQ)


def proc_status(pid):
    """/proc/PID/status as a dict of strings."""
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def refused_calls(text):
    return [line for line in text.splitlines() if "Operation not permitted" in line]


def start_pair(lab):
    """The upstream refd (LOCAL clock, stratum 5 fudge) in one namespace and
    the sandboxed client/server refd under test in the other."""
    ns_srv, ns_cli = lab.pair(SERVER, CLIENT)
    upstream = lab.refd(nl.refd_local_conf(lab, name="upstream", opts="minpoll 3 maxpoll 3"),
                        ns=ns_srv, name="upstream")
    stats = lab.path("stats")
    stats.mkdir()
    lab.write("refd.drift", DRIFT_AT_START)
    conf = nl.refd_client_conf(lab, SERVER, extra=[
        "statsdir %s/" % stats,
        "statistics loopstats peerstats",
        "filegen loopstats type day enable",
        "filegen peerstats type none enable",
    ])
    ctl_path = lab.path("refd.ctl")
    refd = lab.refd(conf, ns=ns_cli, extra=["-d", "--listen", "127.0.0.1", "--ctl", ctl_path])
    return ns_cli, upstream, refd, stats, ctl_path


def test_sandboxed_refd_runs_as_before(lab, refd_bin, ntpdig_bin):
    ns, upstream, refd, stats, ctl_path = start_pair(lab)
    log = lab.path("refd.log")

    # The sandbox is in force: seccomp filter mode, no_new_privs, no capability.
    st = proc_status(refd.pid)
    lab.note("refd status: Seccomp %s NoNewPrivs %s CapEff %s CapPrm %s CapBnd %s",
             st.get("Seccomp"), st.get("NoNewPrivs"), st["CapEff"], st["CapPrm"], st["CapBnd"])
    assert st.get("Seccomp") == "2", "seccomp filter mode"
    assert st.get("NoNewPrivs") == "1"
    assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0, st
    assert int(st["CapBnd"], 16) == 0, "root had CAP_SETPCAP: the bounding set is empty"
    assert "sandbox: capabilities none, no_new_privs, seccomp allows" in log.read_text()

    # A client of the upstream refd through its lazily opened client socket,
    # and a server to ntpdig on 127.0.0.1: refd 6 -> this refd 7.
    last = {}

    def synced():
        res, r = nl.ntpdig_json(ns, "127.0.0.1", timeout=1)
        last["r"] = (r.returncode, r.stdout.strip()[-300:], r.stderr.strip()[-300:])
        return res if res and res.get("stratum") == 7 else None

    res = wait_for(synced, "the sandboxed refd synchronised to its upstream", tries=60,
                   interval=0.5, last=lambda: last.get("r"))
    lab.note("ntpdig of the sandboxed refd: %s", res)
    assert any(line.startswith("*") for line in nl.ntpq_peers(ns)[1].stdout.splitlines()), \
        "ntpq -p shows the upstream selected"

    # refd -Q and refbench against it.
    q, r = nl.refd_query(ns, "127.0.0.1", timeout=2)
    assert r.returncode == 0 and q["stratum"] == 7, (r.returncode, r.stdout, r.stderr)
    b = nl.run([nl.build_dir() / "refd" / "refbench", "127.0.0.1", "-c", "2", "-d", "1",
                "--json"], ns=ns, timeout=10)
    lab.note("refbench: rc %d %s", b.returncode, b.stdout.strip())
    assert b.returncode == 0 and '"replies":0,' not in b.stdout, (b.stdout, b.stderr)

    # Statistics files, written after the sandbox was entered.
    wait_for(lambda: (stats / "peerstats").exists() and any(
        p.name.startswith("loopstats.") for p in stats.iterdir()), "statistics files",
        tries=40, interval=0.5, last=lambda: sorted(p.name for p in stats.iterdir()))

    # SIGHUP: logrotate moved the log away; refd opens a new one.  The
    # statistics files are closed and reopened by their next line, which
    # comes only when a peer's clock filter has a newer sample: the first
    # ones above were already opened inside the sandbox (the same calls).
    rotated = lab.path("refd.log.1")
    os.rename(log, rotated)
    os.rename(stats / "peerstats", stats / "peerstats.1")
    refd.signal(signal.SIGHUP)
    wait_for(lambda: log.exists() and "SIGHUP: log and statistics files reopened"
             in log.read_text(), "the log reopened after SIGHUP", tries=50, interval=0.1)

    # Control commands.
    ctl = Ctl(lab, ctl_path)
    try:
        assert status_fields(ctl.ok("status"))["clock"] == "virtual"
        ctl.ok("step 0.25")
        ctl.ok("freq 12ppm")
        ctl.ok("fault falseticker offset=0.5")
        ctl.ok("fault none")
        st_ctl = status_fields(ctl.ok("status"))
        assert st_ctl["jumps"] == "1" and st_ctl["skew_ppm"].startswith("+12.0"), st_ctl
    finally:
        ctl.close()

    lab.note("after SIGHUP: peerstats %s", "reopened" if (stats / "peerstats").exists()
             else "not written again yet (no newer filter sample)")

    # Stop: drift file written through the sandbox, pid file and socket gone.
    drift = lab.path("refd.drift")
    inode = drift.stat().st_ino
    assert refd.stop() == 0, refd.log_text()[-2000:]
    text = rotated.read_text() + log.read_text()
    assert drift.stat().st_ino != inode, "a new drift file was renamed into place"
    assert "drift file %s:" % drift in text, "the debug line of the drift write"
    assert not [p for p in lab.dir.iterdir() if p.name.startswith("refd.drift.TEMP")]
    assert not lab.path("refd.pid").exists() and not ctl_path.exists()
    assert not refused_calls(text), refused_calls(text)
    assert not refused_calls(upstream.log_text() + lab.path("upstream.log").read_text())
    assert "cannot" not in text, [line for line in text.splitlines() if "cannot" in line]


def test_no_sandbox_keeps_the_capabilities_it_started_with(lab, refd_bin):
    """--no-sandbox (debugging) leaves capabilities and system calls alone."""
    ns = lab.ns()
    refd = lab.refd(nl.refd_local_conf(lab), ns=ns, extra=["--no-sandbox"])
    st = proc_status(refd.pid)
    assert st.get("Seccomp") == "0", st.get("Seccomp")
    assert int(st["CapEff"], 16) != 0, "root's capabilities (but CAP_SYS_TIME) are kept"
    assert not int(st["CapBnd"], 16) & (1 << nl.CAP_SYS_TIME)
    assert "sandbox: off (--no-sandbox)" in lab.path("refd.log").read_text()
    time.sleep(0.2)
    assert refd.alive()
