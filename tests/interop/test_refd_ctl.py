# SPDX-License-Identifier: BSD-2-Clause
"""refd's control socket (--ctl) and --fault, end to end: the disturbances a
scenario's `step`, `freq` and `fault` events ask for, carried out by a
running refd and seen by real clients.

refd serves its LOCAL clock on 127.0.0.1:123 in a namespace of its own.  Its
clock is virtual: a `step` moves what it serves, never the machine's clock
(refd runs under capsh --drop=cap_sys_time like every daemon here).  The
clients are `refd -Q --json` (which reports the offset of any answer, even
one from an unsynchronised server), ntpdig where installed, and the raw
probe of ntplab_net.  Commands go over an AF_UNIX datagram socket bound in
the lab directory, so refd can answer each one."""

import os
import socket
import stat
import time
from pathlib import Path

from realnet import ntplab_net as nl
from realnet.ntplab_net import wait_for

TOL = 0.010          # s: what a loopback measurement must agree to
CTL_WAIT = 3.0       # s: longest wait for one answer on the control socket
NO_REPLY_TIMEOUT = 2  # s: refd -Q's wait for a server that stays silent


class Ctl:
    """A client of refd's control socket, bound at a path in the lab
    directory (an unbound datagram socket cannot be answered)."""

    def __init__(self, lab, path, name="ctl-client"):
        self.path = str(path)
        self.me = str(lab.path(name + ".sock"))
        if os.path.exists(self.me):
            os.unlink(self.me)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.me)
        self.sock.settimeout(CTL_WAIT)

    def send(self, command):
        """One datagram (str or bytes); returns the answer text, or None
        when none came within CTL_WAIT."""
        data = command.encode() if isinstance(command, str) else command
        self.sock.sendto(data, self.path)
        try:
            return self.sock.recv(4096).decode("ascii", "replace")
        except socket.timeout:
            return None

    def ok(self, command):
        answer = self.send(command)
        assert answer is not None and answer.startswith("ok: "), (command, answer)
        return answer

    def close(self):
        self.sock.close()
        if os.path.exists(self.me):
            os.unlink(self.me)


def status_fields(answer):
    """'ok: clock=virtual bias_s=+0.25 ... fault=kod RATE, silent' -> dict."""
    assert answer.startswith("ok: "), answer
    head, _, fault = answer[4:].partition(" fault=")
    fields = dict(w.split("=", 1) for w in head.split())
    fields["fault"] = fault
    return fields


def start_refd(lab, extra=()):
    """refd on its LOCAL clock (polled every 8 s) with a control socket;
    returns (namespace, process, Ctl)."""
    ns = lab.ns()
    path = lab.path("refd.ctl")
    refd = lab.refd(nl.refd_local_conf(lab, opts="minpoll 3 maxpoll 3"), ns=ns,
                    extra=["--ctl", path] + list(extra))
    wait_for(lambda: path.exists() or not refd.alive(), "refd's control socket", tries=50,
             interval=0.1)
    assert refd.alive(), refd.log_text()[-2000:]
    st = os.lstat(path)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    return ns, refd, Ctl(lab, path)


def query(ns):
    """refd -Q of the served clock: the server entry of its JSON."""
    q, r = nl.refd_query(ns, "127.0.0.1", timeout=NO_REPLY_TIMEOUT)
    assert q is not None and q.get("servers"), (r.returncode, r.stdout, r.stderr)
    return q["servers"][0]


def served_offset(ns):
    srv = query(ns)
    assert srv.get("replies", 0) > 0 and "offset" in srv, srv
    return srv["offset"]


def assert_near(got, want, what):
    assert abs(got - want) < TOL, "%s: %+.6f s, want %+.6f s within %.3f s" % (
        what, got, want, TOL)


def test_ctl_step_freq_and_faults_seen_by_clients(lab, refd_bin):
    ns, refd, ctl = start_refd(lab)
    try:
        first = status_fields(ctl.ok("status"))
        assert first["clock"] == "virtual" and first["jumps"] == "0", first
        assert first["fault"] == "none", first
        off0 = served_offset(ns)
        lab.note("before any command: refd -Q offset %+.6f s", off0)
        assert_near(off0, 0.0, "undisturbed loopback offset")

        # step 0.25: served time 0.25 s ahead; LOCAL samples stay 0, so
        # refd's own discipline leaves the jump in place
        answer = ctl.ok("step 0.25")
        assert "stepped by +0.250000000 s" in answer, answer
        off1 = served_offset(ns)
        lab.note("after step 0.25: offset %+.6f s", off1)
        assert_near(off1, 0.25, "after step 0.25")

        # a falseticker adds its offset to what the server says
        assert "falseticker +0.500 s" in ctl.ok("fault falseticker offset=0.5")
        off2 = served_offset(ns)
        pkt = lab.probe(ns, "query", "127.0.0.1", 123, 2)
        lab.note("falseticker 0.5: refd -Q %+.6f s, raw probe %+.6f s", off2, pkt["offset"])
        assert_near(off2 - off1, 0.5, "falseticker shift")
        assert pkt["answered"] and pkt["org_ok"], pkt
        assert_near(pkt["offset"], off1 + 0.5, "falseticker seen by the raw probe")

        # silent: nothing at all comes back
        ctl.ok("fault silent")
        srv = query(ns)
        assert srv.get("replies") == 0 and srv.get("requests", 0) >= 1, srv
        pkt = lab.probe(ns, "query", "127.0.0.1", 123, 1)
        assert pkt == {"answered": False}, pkt

        # none: back to the stepped clock
        assert ctl.ok("fault none") == "ok: fault none (normal service)"
        off3 = served_offset(ns)
        assert_near(off3, off1, "after fault none")

        # freq: the served clock gains 1 ms per s from now on, continuously
        ctl.ok("freq 1000ppm")
        t_a, off_a = time.monotonic(), served_offset(ns)
        time.sleep(3.0)
        t_b, off_b = time.monotonic(), served_offset(ns)
        rate = (off_b - off_a) / (t_b - t_a)
        lab.note("freq 1000ppm: served clock gains %.1f ppm", rate * 1e6)
        assert_near(off_a, off1, "right after the frequency change (no jump)")
        assert abs(rate - 1e-3) < 3e-4, "rate %.6f s/s" % rate
        ctl.ok("freq 0")
        bias = float(status_fields(ctl.ok("status"))["bias_s"])
        assert_near(bias, off_b, "status bias against the served offset")

        # a backward jump: refd keeps serving (its timers move later, they
        # never stall or spin)
        ctl.ok("step -1s")
        off4 = served_offset(ns)
        assert_near(off4, bias - 1.0, "after step -1s")
        st = status_fields(ctl.ok("status"))
        lab.note("status: %s", st)
        assert st["jumps"] == "2" and st["steps"] == "0" and st["fault"] == "none", st
        assert abs(float(st["skew_ppm"])) < 1e-9, st
        assert abs(float(st["bias_s"]) - off4) < TOL, (st, off4)

        # ntpdig, where installed, agrees once refd has selected its clock
        if Path(nl.NTPDIG).exists():
            last = {}

            def dig():
                res, r = nl.ntpdig_json(ns, "127.0.0.1", timeout=2)
                last["r"] = (r.returncode, r.stdout.strip()[-200:], r.stderr.strip()[-200:])
                return res

            res = wait_for(dig, "ntpdig accepts refd", tries=40, interval=0.5,
                           last=lambda: last.get("r"))
            lab.note("ntpdig: offset %+.6f s", res["offset"])
            assert_near(res["offset"], off4, "ntpdig")
        else:
            lab.note("ntpdig not installed: refd -Q and the raw probe only")

        log = refd.log_text() + Path(lab.path("refd.log")).read_text()
        for cmd in ("'step 0.25'", "'fault silent'", "'freq 1000ppm'", "'status'"):
            assert "ctl: accepted %s" % cmd in log, cmd
        assert refd.alive()
    finally:
        ctl.close()
    path = lab.path("refd.ctl")
    assert refd.stop() == 0, refd.log_text()[-2000:]
    assert not path.exists(), "refd must remove its control socket at exit"


def test_ctl_bad_input_is_answered_and_harmless(lab, refd_bin):
    ns, refd, ctl = start_refd(lab)
    try:
        cases = [
            (b"", "error: empty command"),
            (b"bogus 1", "error: unknown command 'bogus'"),
            (b"step", "error: step needs SECONDS"),
            (b"step 1 parsec", "error: step: '1 parsec' is not a time"),
            (b"freq 12 Hz", "error: freq: '12 Hz' is not a frequency"),
            (b"fault falsticker", "error: fault: unknown fault kind 'falsticker'"),
            (b"fault kod kod=TOOLONG", "error: fault: kod 'TOOLONG'"),
            (b"\x00\xff\x01junk", "error: byte 0x00 at offset 0 is not printable text"),
            (b"step 1\x00", "error: byte 0x00 at offset 6"),
            (b"s" * 5000, "error: command longer than 256 bytes"),
        ]
        for data, want in cases:
            answer = ctl.send(data)
            assert answer is not None and answer.startswith(want), (data[:40], answer)
        # junk of every length: each datagram answered with a refusal
        for i in range(200):
            data = bytes([(i * 37 + k) % 256 for k in range(i * 3 % 400)])
            answer = ctl.send(data)
            assert answer is not None and answer.startswith("error: "), (data[:40], answer)
        # a flood that is never read: refd drops the answers it cannot
        # deliver (it never waits for a client) and goes on serving
        for i in range(300):
            ctl.sock.sendto(b"status", ctl.path)
        drained = 0
        try:
            while True:
                ctl.sock.recv(4096)
                drained += 1
        except socket.timeout:
            pass
        lab.note("flood of 300 unread commands: %d answers were delivered", drained)
        assert 1 <= drained <= 300
        # an unbound sender is logged but cannot be answered; refd goes on
        anon = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        anon.sendto(b"status", ctl.path)
        anon.close()
        st = status_fields(ctl.ok("status"))
        assert st["jumps"] == "0" and st["fault"] == "none", st
        assert_near(served_offset(ns), 0.0, "offset after the junk")
        assert "ctl: refused" in Path(lab.path("refd.log")).read_text()
        assert refd.alive()
    finally:
        ctl.close()


def test_fault_option_and_ctl_path_refusals(lab, refd_bin):
    # --fault: misbehaving from the first reply (a node-level `fault:`)
    ns, refd, ctl = start_refd(lab, extra=["--fault", "falseticker offset=-2s"])
    try:
        st = status_fields(ctl.ok("status"))
        assert st["fault"] == "falseticker -2.000 s", st
        assert_near(served_offset(ns), -2.0, "--fault falseticker offset=-2s")
        assert "fault (--fault): falseticker -2.000 s" in Path(lab.path("refd.log")).read_text()

        conf = lab.write("plain.conf", nl.refd_local_conf(lab, name="plain"))
        base = [nl.refd_bin(), "-c", conf, "-n", "--listen", "127.0.0.2:11123"]
        # a bad --fault is a command-line error: exit 2, the bad word named
        r = nl.run(base + ["--fault", "falseticker,bogus"], ns=ns)
        assert r.returncode == 2, (r.returncode, r.stderr)
        assert "unknown fault kind 'bogus'" in r.stderr, r.stderr
        # a second refd on the control socket in use: refused, exit 1
        r = nl.run(base + ["--ctl", ctl.path], ns=ns)
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert "a process is reading this socket" in r.stderr, r.stderr
        # a file that is not a socket is never replaced
        precious = lab.write("precious.txt", "keep me\n")
        r = nl.run(base + ["--ctl", precious], ns=ns)
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert "exists and is not a socket; refusing to replace it" in r.stderr, r.stderr
        assert precious.read_text() == "keep me\n"
        assert refd.alive()
    finally:
        ctl.close()
    # a socket left by a killed refd is replaced by the next one
    path = lab.path("refd.ctl")
    os.kill(refd.pid, 9)
    refd.popen.wait(5)
    assert path.exists()
    lab.procs.remove(refd)
    refd.stop()
    refd2 = lab.refd(nl.refd_local_conf(lab, name="refd2"), ns=ns, name="refd2",
                     extra=["--ctl", path])
    ctl2 = Ctl(lab, path, name="ctl-client2")
    try:
        assert status_fields(ctl2.ok("status"))["fault"] == "none"
    finally:
        ctl2.close()
    assert refd2.alive()
