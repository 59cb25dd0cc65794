# SPDX-License-Identifier: BSD-2-Clause
"""ntplab interop harness: network namespaces, daemons, configs, bounded waits.

Safety rules this module enforces for every test:

* Every program (refd, ntpd, chronyd, ntpdig, ntpq, tshark, the probe) is
  started as ``[ip netns exec NS] capsh --drop=cap_sys_time -- -c 'exec ...'``
  so it can never set the machine's clock, and so the PID that Popen reports
  is the program's own PID (``ip netns exec`` and ``capsh``/``sh`` all exec).
  OpenNTPD's chain goes on, still without the capability, through
  ``unshare --mount`` and bind mounts private to it (Lab.openntpd): nothing
  of the machine (users, /var/lib) is created or changed.
  After a daemon starts, its /proc status is checked: CAP_SYS_TIME must be
  missing from its bounding set.
* Traffic goes only to 127.0.0.0/8 or to 10.200.0.0/24 addresses that exist
  only inside namespaces the test created.
* Every wait is bounded (tries x interval); every client command runs under
  ``timeout``.
* Cleanup kills by PID (TERM, then KILL after 5 s) and deletes every
  namespace the test created, from a pytest finalizer and, as a last resort,
  from an atexit hook (KeyboardInterrupt, errors during collection).

The module is also a script, run *inside* a namespace through capsh, for the
raw-UDP probes (``python3 ntplab_net.py query|flood|barrage ...``): it prints
one JSON object.
"""

import atexit
import itertools
import json
import os
import random
import re
import shlex
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent

NTPD = "/usr/sbin/ntpd"
NTPQ = "/usr/bin/ntpq"
NTPDIG = "/usr/bin/ntpdig"
TSHARK = "/usr/bin/tshark"
PYTHON = "/usr/bin/python3"
CAPSH = "/usr/sbin/capsh"
UNSHARE = "/usr/bin/unshare"
NSENTER = "/usr/bin/nsenter"
OPENNTPD_ID_BASE = 64900   # first uid/gid tried for the private `ntpd` user (free in both files)

CAP_SYS_TIME = 25          # bit in /proc/PID/status CapBnd (linux/capability.h)
KILL_GRACE = 5.0           # s between SIGTERM and SIGKILL
NTP_UNIX_OFFSET = 2208988800  # s from 1900-01-01 (NTP era 0) to 1970-01-01 (RFC 5905 §6)

# One prefix per pytest process; every namespace this session creates starts
# with it, so the session-end check can tell ours from anyone else's.
NS_PREFIX = "nl%dn" % (os.getpid() % 1000000)
_ns_counter = itertools.count(1)

# Everything alive that this process started, for the atexit safety net.
_LIVE_PROCS = {}
_LIVE_NS = set()
STARTED_PIDS = set()


# --------------------------------------------------------------------------
# binaries


def build_dir():
    b = Path(os.environ.get("NTPLAB_BUILD", "build"))
    return b if b.is_absolute() else REPO / b


def refd_bin():
    return build_dir() / "refd" / "refd"


def chronyd_bin():
    return build_dir() / "daemons" / "chrony" / "usr" / "sbin" / "chronyd"


def chronyc_bin():
    return build_dir() / "daemons" / "chrony" / "usr" / "bin" / "chronyc"


def openntpd_bin():
    """OpenNTPD's ntpd, unpacked (not installed: it conflicts with ntpsec)."""
    return build_dir() / "daemons" / "openntpd" / "usr" / "sbin" / "ntpd"


def ntpctl_bin():
    return build_dir() / "daemons" / "openntpd" / "usr" / "sbin" / "ntpctl"


def noclockset_lib():
    """The LD_PRELOAD shim of tests/interop/shim (clock-setting calls become
    successful no-ops), built by CMake into the build tree."""
    return build_dir() / "tests" / "interop" / "shim" / "libnoclockset.so"


# --------------------------------------------------------------------------
# bounded waiting


class WaitTimeout(AssertionError):
    pass


def wait_for(pred, what, tries=60, interval=0.5, last=None):
    """Call pred() up to `tries` times, `interval` s apart, until it returns a
    true value, which is returned.  On timeout raise WaitTimeout naming
    `what`, the time waited and last() (a description of the last state)."""
    for i in range(tries):
        v = pred()
        if v:
            return v
        if i + 1 < tries:
            time.sleep(interval)
    detail = ""
    if last is not None:
        try:
            detail = "; last state: %s" % (last(),)
        except Exception as e:  # the description must not hide the timeout
            detail = "; last state unavailable: %r" % (e,)
    raise WaitTimeout("%s: not reached after %d tries x %.2f s%s"
                      % (what, tries, interval, detail))


# --------------------------------------------------------------------------
# processes


def _capsh_argv(argv, ns=None, env=None):
    """[ip netns exec NS] capsh --drop=cap_sys_time -- -c 'exec [ENV=..] argv'."""
    cmd = "exec " + " ".join(shlex.quote(str(a)) for a in argv)
    if env:
        cmd = ("export " + " ".join("%s=%s" % (k, shlex.quote(str(v)))
                                    for k, v in env.items()) + "; " + cmd)
    full = [CAPSH, "--drop=cap_sys_time", "--", "-c", cmd]
    if ns:
        full = ["ip", "netns", "exec", ns] + full
    return full


def run(argv, ns=None, timeout=8, env=None):
    """Run a short client command (under `timeout`, capsh, maybe in ns).
    Returns CompletedProcess with text stdout/stderr; never raises on rc."""
    inner = ["timeout", "-k", "2", str(int(timeout))] + [str(a) for a in argv]
    full = _capsh_argv(inner, ns=ns, env=env)
    try:
        return subprocess.run(full, capture_output=True, text=True, timeout=timeout + 10,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:  # timeout(1) itself hung: report, do not raise
        return subprocess.CompletedProcess(full, 124, e.stdout or "", e.stderr or "")


def sh(argv, timeout=10, check=True):
    """Plumbing as root in the main namespace (ip, ss): no NTP program."""
    r = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    if check and r.returncode != 0:
        raise RuntimeError("%s failed (rc %d): %s" % (" ".join(map(str, argv)),
                                                       r.returncode, r.stderr.strip()))
    return r


def _cap_bnd(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("CapBnd:"):
                return int(line.split()[1], 16)
    return None


class Proc:
    """A long-running program started through capsh; pid is its own PID.
    comm: the program the exec chain ends in, when argv[0] is a wrapper that
    execs it (openntpd: unshare, sh, env, then ntpd)."""

    def __init__(self, name, argv, ns=None, log=None, env=None, comm=None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.comm = comm
        self.helpers = []  # (pid, start time) of forked children stop() also ends
        self.ns = ns
        self.log = Path(log) if log else None
        self._logf = open(self.log, "ab") if self.log else subprocess.DEVNULL
        self.popen = subprocess.Popen(_capsh_argv(self.argv, ns=ns, env=env),
                                      stdin=subprocess.DEVNULL, stdout=self._logf,
                                      stderr=subprocess.STDOUT)
        self.pid = self.popen.pid
        _LIVE_PROCS[self.pid] = self
        STARTED_PIDS.add(self.pid)
        self._check_exec_and_caps()

    def _check_exec_and_caps(self):
        """Wait until the exec chain reached the program, then prove that
        CAP_SYS_TIME is gone from its bounding set."""
        want = self.comm or os.path.basename(self.argv[0])

        def execd():
            if self.popen.poll() is not None:
                return "exited"
            try:
                comm = Path("/proc/%d/comm" % self.pid).read_text().strip()
                cmdline = Path("/proc/%d/cmdline" % self.pid).read_bytes().split(b"\0")
            except OSError:
                return None
            # comm is cut at 15 bytes; scripts (ntpdig) show the interpreter
            # in comm but their path in cmdline.
            names = {comm} | {os.path.basename(c.decode(errors="replace")) for c in cmdline[:2]}
            if any(n and (n == want[:15] or n == want) for n in names):
                return "ok"
            return None

        state = wait_for(execd, "%s: exec of %s" % (self.name, want), tries=100, interval=0.05)
        if state == "exited":
            return  # the caller sees the early exit (and its log) via alive()
        # Between fork and exec the child is still a copy of this python, so
        # a python program can match the name check early: poll the bounding
        # set (bounded) until capsh's drop is visible before judging it.
        bnd = None
        for _ in range(40):
            bnd = _cap_bnd(self.pid)
            if bnd is not None and not bnd & (1 << CAP_SYS_TIME):
                break
            if self.popen.poll() is not None:
                return
            time.sleep(0.05)
        if bnd is None or bnd & (1 << CAP_SYS_TIME):
            self.stop()
            raise AssertionError("%s (pid %d) still has CAP_SYS_TIME in its bounding set "
                                 "(CapBnd %r): refusing to run it" % (self.name, self.pid, bnd))

    def alive(self):
        return self.popen.poll() is None

    def log_text(self):
        if self.log and self.log.exists():
            return self.log.read_text(errors="replace")
        return ""

    def signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def adopt_helpers(self):
        """Remember the program's forked helpers (OpenNTPD's "ntp engine" and
        "dns engine") by PID and start time, so that stop() ends them too
        should they outlive their parent."""
        self.helpers = _descendants(self.pid)
        STARTED_PIDS.update(pid for pid, _ in self.helpers)
        return self.helpers

    def stop(self):
        """TERM, wait up to 5 s, then KILL; then the same for adopted helpers
        still alive (checked by PID and start time, never by name).  Returns
        the exit code."""
        try:
            if self.popen.poll() is None:
                os.kill(self.pid, signal.SIGTERM)
                try:
                    self.popen.wait(KILL_GRACE)
                except subprocess.TimeoutExpired:
                    os.kill(self.pid, signal.SIGKILL)
                    self.popen.wait(KILL_GRACE)
        except ProcessLookupError:
            pass
        finally:
            _stop_helpers(self.helpers)
            _LIVE_PROCS.pop(self.pid, None)
            if self._logf is not subprocess.DEVNULL:
                self._logf.close()
                self._logf = subprocess.DEVNULL
        return self.popen.returncode


def _proc_start(pid):
    """Start time (clock ticks since boot) of a live, non-zombie pid, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            rest = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if rest[0] == "Z":
        return None
    return int(rest[19])  # field 22 of proc(5), counted after "pid (comm)"


def _descendants(pid):
    """[(pid, start time)] of every live descendant of pid."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            st = _proc_start(c)
            if st is not None:
                out.append((c, st))
                todo.append(c)
    return out


def _stop_helpers(helpers):
    """TERM then KILL each (pid, start time) that is still that process."""
    live = [(p, st) for p, st in helpers if _proc_start(p) == st]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p, st in live:
            if _proc_start(p) == st:
                try:
                    os.kill(p, sig)
                except ProcessLookupError:
                    pass
        end = time.monotonic() + KILL_GRACE
        while time.monotonic() < end and any(_proc_start(p) == st for p, st in live):
            time.sleep(0.05)
        live = [(p, st) for p, st in live if _proc_start(p) == st]
        if not live:
            return


# --------------------------------------------------------------------------
# namespaces


def ns_add():
    name = "%s%d" % (NS_PREFIX, next(_ns_counter))
    sh(["ip", "netns", "add", name])
    _LIVE_NS.add(name)
    sh(["ip", "-n", name, "link", "set", "lo", "up"])
    return name


def ns_del(name):
    r = sh(["ip", "netns", "del", name], check=False)
    _LIVE_NS.discard(name)
    return r.returncode == 0


def ns_list():
    r = sh(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def ns_link(ns_a, addr_a, ns_b, addr_b, ifname="eth0", plen=24):
    """A veth pair straight between two namespaces (the ends never exist in
    the main namespace), addressed addr_a/plen and addr_b/plen, up."""
    sh(["ip", "link", "add", ifname, "netns", ns_a, "type", "veth",
        "peer", "name", ifname, "netns", ns_b])
    for ns, addr in ((ns_a, addr_a), (ns_b, addr_b)):
        sh(["ip", "-n", ns, "addr", "add", "%s/%d" % (addr, plen), "dev", ifname])
        sh(["ip", "-n", ns, "link", "set", ifname, "up"])
    for ns in (ns_a, ns_b):
        wait_for(lambda ns=ns: "LOWER_UP" in sh(["ip", "-n", ns, "link", "show", ifname]).stdout,
                 "%s %s carrier" % (ns, ifname), tries=50, interval=0.1)


def udp_listeners(ns=None, port=123):
    """ss lines of UDP sockets bound to `port` (in ns, or the main namespace)."""
    argv = ["ss", "-lunpH", "sport = :%d" % port]
    if ns:
        argv = ["ip", "netns", "exec", ns] + argv
    r = sh(argv, check=False)
    return [line for line in r.stdout.splitlines() if line.strip()]


def listening(ns, port, pid):
    return any("pid=%d," % pid in line for line in udp_listeners(ns, port))


# --------------------------------------------------------------------------
# the per-test lab


class Lab:
    """Owns everything one test starts: namespaces, processes, files."""

    def __init__(self, workdir, name="test"):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)  # chronyd insists on a private directory
        self.name = name
        self.procs = []
        self.namespaces = []
        self.notes = []  # observations for the end-of-session report

    # -- bookkeeping
    def note(self, fmt, *args):
        self.notes.append(fmt % args if args else fmt)

    def ns(self):
        n = ns_add()
        self.namespaces.append(n)
        return n

    def pair(self, addr_a="10.200.0.1", addr_b="10.200.0.2"):
        """Two namespaces joined by a veth pair; returns (ns_a, ns_b)."""
        a, b = self.ns(), self.ns()
        ns_link(a, addr_a, b, addr_b)
        return a, b

    def path(self, name):
        return self.dir / name

    def write(self, name, text):
        p = self.path(name)
        p.write_text(text)
        return p

    def spawn(self, name, argv, ns=None, env=None, comm=None):
        p = Proc(name, argv, ns=ns, log=self.path(name + ".out"), env=env, comm=comm)
        self.procs.append(p)
        return p

    def cleanup(self):
        errors = []
        for p in reversed(self.procs):
            try:
                p.stop()
            except Exception as e:
                errors.append("stop %s: %r" % (p.name, e))
        for n in reversed(self.namespaces):
            if not ns_del(n):
                errors.append("ip netns del %s failed" % n)
        self.procs, self.namespaces = [], []
        return errors

    # -- daemons
    def refd(self, conf_text, ns=None, name="refd", extra=(), wait_port=123, listen_pid=True):
        """Start refd -n with a config written to the lab dir; wait until it
        listens on wait_port (None: do not wait)."""
        conf = self.write(name + ".conf", conf_text)
        argv = [refd_bin(), "-c", conf, "-n", "--pidfile", self.path(name + ".pid")]
        argv += list(extra)
        p = self.spawn(name, argv, ns=ns)
        if wait_port and listen_pid:
            wait_for(lambda: listening(ns, wait_port, p.pid) or not p.alive(),
                     "%s listening on UDP %d" % (name, wait_port), tries=100, interval=0.1)
            assert p.alive(), "%s exited at start (rc %s): %s" % (
                name, p.popen.returncode, p.log_text()[-2000:])
        return p

    def chronyd(self, conf_lines, ns=None, name="chronyd", env=None):
        """Start chronyd -x -d -u root; conf_lines are added to the private
        pidfile/driftfile/logdir/command-socket lines.  Returns (proc, sock)."""
        if not chronyd_bin().exists():
            raise FileNotFoundError(chronyd_bin())
        sock = self.path(name + ".sock")
        text = "\n".join(list(conf_lines) + [
            "bindcmdaddress %s" % sock,
            "cmdport 0",
            "pidfile %s" % self.path(name + ".pid"),
            "driftfile %s" % self.path(name + ".drift"),
            "logdir %s" % self.dir,
        ]) + "\n"
        conf = self.write(name + ".conf", text)
        p = self.spawn(name, [chronyd_bin(), "-x", "-d", "-u", "root", "-f", conf], ns=ns, env=env)
        wait_for(lambda: sock.exists() or not p.alive(), "%s command socket" % name,
                 tries=100, interval=0.1)
        assert p.alive(), "%s exited at start: %s" % (name, p.log_text()[-2000:])
        return p, sock

    def chronyc(self, sock, *args, ns=None):
        return run([chronyc_bin(), "-h", sock] + list(args), ns=ns)

    def ntpd(self, conf_lines, ns, name="ntpd"):
        """Start NTPsec ntpd -n in ns (port 123 only: one per namespace)."""
        text = "\n".join(list(conf_lines) + [
            "driftfile %s" % self.path(name + ".drift"),
        ]) + "\n"
        conf = self.write(name + ".conf", text)
        p = self.spawn(name, [NTPD, "-n", "-c", conf, "-p", self.path(name + ".pid"),
                              "-l", self.path(name + ".log")], ns=ns)
        wait_for(lambda: listening(ns, 123, p.pid) or not p.alive(), "%s on UDP 123" % name,
                 tries=100, interval=0.1)
        assert p.alive(), "%s exited at start: %s" % (name, p.log_text()[-2000:])
        return p

    def openntpd(self, conf_lines, ns, name="openntpd", drift_ppm=None):
        """Start OpenNTPD's ntpd -d -v in ns, without touching the machine.

        OpenNTPD wants a system user `ntpd` (its home is the privsep chroot,
        which must be owned by root and not group/world writable), the
        folders /var/lib/openntpd/{run,db} and the hard-coded drift file
        /var/lib/openntpd/db/ntpd.drift; its control socket is the
        hard-coded /var/lib/openntpd/run/ntpd.sock.  Instead of creating
        any of them, the daemon gets a private mount namespace
        (`unshare --mount --propagation private`, after capsh has dropped
        CAP_SYS_TIME) in which copies from this lab are bind-mounted over
        /etc/passwd and /etc/group (plus a `ntpd` user whose home is an
        empty lab folder) and over /var/lib.  The mounts die with the
        namespace, i.e. with the daemon.  (This Debian build knows no
        /var/run/openntpd: the chroot is the user's home and no pidfile is
        written without -p, so /run needs nothing.)

        The noclockset shim is preloaded into ntpd only: with CAP_SYS_TIME
        dropped adjtime() fails and OpenNTPD never calls itself synced; the
        shim makes the calls succeed without effect.  The capability, not
        the shim, is what protects the clock.  Returns the Proc (ntpd's
        privileged parent); its ntp/dns engines are adopted for stop()."""
        for path, what in ((openntpd_bin(), "OpenNTPD ntpd (scripts/install-deps.sh unpacks it "
                            "into $NTPLAB_BUILD/daemons/openntpd)"),
                           (noclockset_lib(), "the noclockset shim (cmake --build $NTPLAB_BUILD: "
                            "tests/interop/shim)")):
            if not path.exists():
                raise FileNotFoundError("%s not found at %s" % (what, path))
        priv = self.path(name + "-priv")
        varlib = priv / "varlib"
        empty = priv / "empty"
        for d in (varlib / "openntpd" / "run", varlib / "openntpd" / "db", empty):
            d.mkdir(parents=True, exist_ok=True)
        for d in (priv, varlib, empty):
            os.chmod(d, 0o755)  # the privsep check: root-owned, not group/world writable
        drift = varlib / "openntpd" / "db" / "ntpd.drift"
        drift.write_text("" if drift_ppm is None else "%.3f\n" % float(drift_ppm))
        sock = varlib / "openntpd" / "run" / "ntpd.sock"
        if sock.exists():
            sock.unlink()
        pw, gr = _passwd_with_ntpd_user(empty)
        (priv / "passwd").write_text(pw)
        (priv / "group").write_text(gr)
        conf = self.write(name + ".conf", "\n".join(conf_lines) + "\n")
        q = shlex.quote
        script = ("mount --bind %s /etc/passwd && mount --bind %s /etc/group && "
                  "mount --bind %s /var/lib || exit 97; exec env LD_PRELOAD=%s %s -d -v -f %s" % (
                      q(str(priv / "passwd")), q(str(priv / "group")), q(str(varlib)),
                      q(str(noclockset_lib())), q(str(openntpd_bin())), q(str(conf))))
        p = self.spawn(name, [UNSHARE, "--mount", "--propagation", "private", "sh", "-c",
                              script], ns=ns, comm="ntpd")
        wait_for(lambda: sock.exists() or not p.alive(), "%s control socket" % name,
                 tries=100, interval=0.1, last=p.log_text)
        assert p.alive(), "%s exited at start (rc %s): %s" % (
            name, p.popen.returncode, p.log_text()[-2000:])
        wait_for(lambda: p.adopt_helpers() or not p.alive(), "%s forked its ntp engine" % name,
                 tries=50, interval=0.1, last=p.log_text)
        return p

    def tshark(self, ns, name="capture", iface="lo", bpf="udp", seconds=120):
        """Start a capture; returns (proc, pcap path) once tshark captures."""
        pcap = self.path(name + ".pcapng")
        p = self.spawn(name, [TSHARK, "-n", "-q", "-i", iface, "-f", bpf, "-w", pcap,
                              "-a", "duration:%d" % seconds], ns=ns)
        wait_for(lambda: "Capturing on" in p.log_text() or not p.alive(),
                 "tshark capturing", tries=100, interval=0.1, last=p.log_text)
        assert p.alive(), "tshark exited: %s" % p.log_text()
        return p, pcap

    def probe(self, ns, *args, timeout=30):
        """Run this file as a raw-UDP probe inside ns; returns its JSON."""
        r = run([PYTHON, Path(__file__).resolve()] + [str(a) for a in args], ns=ns,
                timeout=timeout)
        assert r.returncode == 0, "probe %s failed (rc %d): %s %s" % (
            args, r.returncode, r.stdout, r.stderr)
        return json.loads(r.stdout)


def _passwd_with_ntpd_user(home):
    """This machine's /etc/passwd and /etc/group text plus a user and group
    `ntpd` (an id free in both, home `home`), for a private bind mount."""
    pw = [x for x in Path("/etc/passwd").read_text().splitlines()
          if x and not x.startswith("ntpd:")]
    gr = [x for x in Path("/etc/group").read_text().splitlines()
          if x and not x.startswith("ntpd:")]
    used = set()
    for line in pw + gr:
        f = line.split(":")
        if len(f) > 2 and f[2].isdigit():
            used.add(int(f[2]))
    nid = next(i for i in range(OPENNTPD_ID_BASE, OPENNTPD_ID_BASE + 500) if i not in used)
    pw.append("ntpd:x:%d:%d:OpenNTPD (ntplab test):%s:/usr/sbin/nologin" % (nid, nid, home))
    gr.append("ntpd:x:%d:" % nid)
    return "\n".join(pw) + "\n", "\n".join(gr) + "\n"


def ntpctl(pid, *args, timeout=5):
    """`ntpctl ARGS` in the mount and network namespaces of OpenNTPD's pid
    (its control socket path exists only in that mount namespace)."""
    return run([NSENTER, "-t", str(pid), "-m", "-n", ntpctl_bin()] + [str(a) for a in args],
               timeout=timeout)


def _atexit_cleanup():
    for p in list(_LIVE_PROCS.values()):
        try:
            p.stop()
        except Exception:
            pass
    for n in list(_LIVE_NS):
        ns_del(n)


atexit.register(_atexit_cleanup)


# --------------------------------------------------------------------------
# configs


def refd_local_conf(lab, name="refd", stratum=5, extra=(), opts=""):
    """refd serving its local clock the seed's way (LOCAL driver fudged).
    opts "minpoll 3 maxpoll 3" samples the local clock every 8 s instead of
    64 s, so its root dispersion (7.9 s after the first sample: seven empty
    filter stages) falls below clients' limits in ~20-30 s."""
    return "\n".join([
        ("server 127.127.1.0 " + opts).strip(),
        "fudge 127.127.1.0 stratum %d" % stratum,
        "driftfile %s" % lab.path(name + ".drift"),
        "logfile %s" % lab.path(name + ".log"),
    ] + list(extra)) + "\n"


def refd_client_conf(lab, server, name="refd", extra=(), opts="iburst minpoll 3 maxpoll 3"):
    return "\n".join([
        "server %s %s" % (server, opts),
        "driftfile %s" % lab.path(name + ".drift"),
        "logfile %s" % lab.path(name + ".log"),
    ] + list(extra)) + "\n"


# --------------------------------------------------------------------------
# reading the clients


def ntpdig_json(ns, host, timeout=2):
    """ntpdig -j -t N HOST (never -s/-S).  Returns (dict or None, CompletedProcess)."""
    r = run([NTPDIG, "-j", "-t", str(int(timeout)), host], ns=ns, timeout=timeout + 6)
    try:
        return json.loads(r.stdout), r
    except ValueError:
        return None, r


PEER_RE = re.compile(
    r"^(?P<tally>[ x.\-+#*o])(?P<remote>\S+)\s+(?P<refid>\S+)\s+(?P<st>\d+)\s+(?P<t>\S)\s+"
    r"(?P<when>\S+)\s+(?P<poll>\d+[mhd]?)\s+(?P<reach>[0-7]+)\s+(?P<delay>[-\d.]+)\s+"
    r"(?P<offset>[-+\d.]+)\s+(?P<jitter>[-\d.]+)\s*$")


def ntpq_peers(ns, host="127.0.0.1"):
    """ntpq -n -p HOST -> (rows as dicts, CompletedProcess)."""
    r = run([NTPQ, "-n", "-p", host], ns=ns)
    rows = []
    for line in r.stdout.splitlines():
        m = PEER_RE.match(line)
        if m:
            d = m.groupdict()
            for k in ("delay", "offset", "jitter"):
                d[k] = float(d[k])
            d["st"] = int(d["st"])
            d["reach"] = int(d["reach"], 8)
            rows.append(d)
    return rows, r


def parse_ntpq_vars(text):
    """'a=1, b="x y", c=3' (possibly over several lines) -> dict of strings."""
    return {m.group(1): m.group(2).strip('"')
            for m in re.finditer(r'(\w+)=("[^"]*"|[^,\s]*)', text)}


def ntpq_rv(ns, host="127.0.0.1", assoc=None):
    cmd = "rv" if assoc is None else "rv %d" % assoc
    r = run([NTPQ, "-n", "-c", cmd, host], ns=ns)
    return parse_ntpq_vars(r.stdout), r


def chrony_tracking(lab, sock, ns=None):
    """chronyc -c tracking -> dict (None if no answer)."""
    r = lab.chronyc(sock, "-n", "-c", "tracking", ns=ns)
    f = r.stdout.strip().split(",")
    if r.returncode != 0 or len(f) < 14:
        return None
    return {"refid": f[0], "name": f[1], "stratum": int(f[2]), "reftime": f[3],
            "system_time": float(f[4]), "last_offset": float(f[5]), "rms_offset": float(f[6]),
            "freq": float(f[7]), "skew": float(f[9]), "root_delay": float(f[10]),
            "root_disp": float(f[11]), "leap": f[13]}


def chrony_sources(lab, sock, ns=None):
    """chronyc -n -c sources -> list of dicts (mode, state, name, stratum, reach, offset)."""
    r = lab.chronyc(sock, "-n", "-c", "sources", ns=ns)
    rows = []
    for line in r.stdout.splitlines():
        f = line.split(",")
        if len(f) >= 10:
            rows.append({"mode": f[0], "state": f[1], "name": f[2], "stratum": int(f[3]),
                         "poll": int(f[4]), "reach": int(f[5], 8), "last_rx": f[6],
                         "offset": float(f[7]), "raw_offset": float(f[8]), "err": float(f[9])})
    return rows


def refd_query(ns, host, timeout=2):
    """refd -Q HOST --json -t N -> (dict or None, CompletedProcess)."""
    r = run([refd_bin(), "-Q", host, "--json", "-t", str(int(timeout))], ns=ns,
            timeout=timeout + 6)
    try:
        return json.loads(r.stdout), r
    except ValueError:
        return None, r


# --------------------------------------------------------------------------
# raw NTP packets (used by the probe script and by tests)

HDR = struct.Struct("!BBbbII4sQQQQ")  # RFC 5905 §7.3 header, 48 bytes


def now_ntp64():
    t = time.time() + NTP_UNIX_OFFSET
    return int(t * (1 << 32)) & 0xFFFFFFFFFFFFFFFF


def ntp64_to_unix(v):
    return v / float(1 << 32) - NTP_UNIX_OFFSET


def client_request(xmt, version=4):
    return HDR.pack((0 << 6) | (version << 3) | 3, 0, 0, 0, 0, 0, b"\0\0\0\0", 0, 0, 0, xmt)


def decode(buf):
    if len(buf) < HDR.size:
        return None
    (lvm, st, poll, prec, rdel, rdisp, refid, ref, org, rec, xmt) = HDR.unpack_from(buf)
    return {"leap": lvm >> 6, "version": (lvm >> 3) & 7, "mode": lvm & 7, "stratum": st,
            "poll": poll, "precision": prec, "rootdelay": rdel / 65536.0,
            "rootdisp": rdisp / 65536.0, "refid_raw": refid.hex(),
            "refid_ascii": refid.decode("ascii", "replace").strip("\0"),
            "ref": ref, "org": org, "rec": rec, "xmt": xmt, "len": len(buf)}


def _sock_for(host):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    return s


def _query(host, port, timeout):
    s = _sock_for(host)
    s.settimeout(timeout)
    xmt = random.getrandbits(64)
    t1 = time.time()
    s.sendto(client_request(xmt), (host, port))
    try:
        buf, _ = s.recvfrom(2048)
    except socket.timeout:
        return {"answered": False}
    t4 = time.time()
    d = decode(buf)
    if d is None:
        return {"answered": True, "short": len(buf)}
    d["answered"] = True
    d["org_ok"] = d["org"] == xmt
    # offset of the server's clock from ours (RFC 5905 §8), single exchange
    t2, t3 = ntp64_to_unix(d["rec"]), ntp64_to_unix(d["xmt"])
    d["offset"] = ((t2 - t1) + (t3 - t4)) / 2
    d["delay"] = (t4 - t1) - (t3 - t2)
    for k in ("ref", "org", "rec", "xmt"):
        d[k] = "%016x" % d[k]
    return d


def _flood(host, port, interval, count):
    """count mode 3 requests, interval s apart; classify every reply."""
    s = _sock_for(host)
    s.setblocking(False)
    sent = {}
    replies, kods, other, unmatched = 0, 0, 0, 0
    kod_codes = {}
    deadline_extra = 2.0
    start = time.monotonic()

    def drain():
        nonlocal replies, kods, other, unmatched
        while True:
            try:
                buf, _ = s.recvfrom(2048)
            except BlockingIOError:
                return
            d = decode(buf)
            if d is None or d["org"] not in sent:
                unmatched += 1
                continue
            sent.pop(d["org"])  # one answer per request at most
            if d["mode"] == 4 and d["stratum"] == 0:
                kods += 1
                kod_codes[d["refid_ascii"]] = kod_codes.get(d["refid_ascii"], 0) + 1
            elif d["mode"] == 4 and 1 <= d["stratum"] <= 15:
                replies += 1
            else:
                other += 1

    for i in range(count):
        xmt = random.getrandbits(64)
        sent[xmt] = i
        s.sendto(client_request(xmt), (host, port))
        t_next = start + (i + 1) * interval
        while time.monotonic() < t_next:
            drain()
            time.sleep(0.01)
    end = time.monotonic() + deadline_extra
    while time.monotonic() < end:
        drain()
        time.sleep(0.02)
    return {"requests": count, "replies": replies, "kods": kods, "kod_codes": kod_codes,
            "other": other, "unmatched": unmatched, "unanswered": len(sent)}


def barrage_datagrams(seed, count):
    """A bounded list of malformed datagrams: truncations of a valid request
    at every length, random bytes of random lengths, bad versions and modes,
    broken extension fields and MAC lengths, mode 6/7 junk."""
    rng = random.Random(seed)
    good = client_request(rng.getrandbits(64))
    out = [good[:n] for n in range(len(good))]                       # 0..47 bytes
    for vn in (0, 5, 6, 7):                                           # bad versions
        out.append(bytes([(vn << 3) | 3]) + good[1:])
    for mode in (0, 1, 2, 4, 5, 6, 7):                                # every other mode
        out.append(bytes([(4 << 3) | mode]) + good[1:])
    for tail in (4, 8, 12, 16, 20, 24, 28, 36, 52, 68, 72):          # odd MAC/EF lengths
        out.append(good + bytes(rng.getrandbits(8) for _ in range(tail)))
    for ef_len in (0, 2, 4, 16, 0xFFFF, 0xFFFC):                      # lying EF lengths
        out.append(good + struct.pack("!HH", 0x0104, ef_len) + bytes(12))
    ctl = struct.pack("!BBHHHHH", (4 << 3) | 6, 2, 1, 0, 0, 0, 400)  # mode 6, count 400 > data
    out += [ctl, ctl[:6], ctl + bytes(3), struct.pack("!BBHHHHH", (2 << 3) | 7, 0, 0, 0, 0, 0, 0)]
    out.append(bytes(1400))
    while len(out) < count:
        n = rng.choice((1, 7, 12, 47, 48, 49, 60, 68, 90, 200, 480, 1000, rng.randrange(0, 1472)))
        b = bytearray(rng.getrandbits(8) for _ in range(n))
        if n >= 1 and rng.random() < 0.5:  # half look like NTP at first glance
            b[0] = (rng.randrange(0, 4) << 6) | (rng.randrange(1, 5) << 3) | rng.randrange(0, 8)
        out.append(bytes(b))
    return out[:count]


def _barrage(host, port, count, seed):
    s = _sock_for(host)
    sent = 0
    for dgram in barrage_datagrams(seed, count):
        try:
            s.sendto(dgram, (host, port))
            sent += 1
        except OSError:
            pass
        if sent % 50 == 0:
            time.sleep(0.005)  # stay below the socket's receive buffer
    return {"sent": sent}


def _main(argv):
    cmd = argv[0]
    if cmd == "query":
        res = _query(argv[1], int(argv[2]), float(argv[3]) if len(argv) > 3 else 2.0)
    elif cmd == "flood":
        res = _flood(argv[1], int(argv[2]), float(argv[3]), int(argv[4]))
    elif cmd == "barrage":
        res = _barrage(argv[1], int(argv[2]), int(argv[3]), int(argv[4]))
    else:
        raise SystemExit("usage: ntplab_net.py query|flood|barrage HOST PORT ...")
    json.dump(res, sys.stdout)
    return 0


if __name__ == "__main__":
    atexit.unregister(_atexit_cleanup)  # the probe owns no namespaces or daemons
    sys.exit(_main(sys.argv[1:]))
