# SPDX-License-Identifier: BSD-2-Clause
"""A single-node Slurm cluster for a test: munged, slurmctld and slurmd (Debian's
munge and slurm-wlm 22.05) started as root in the background, on loopback
only, with every file in one temp folder, and stopped after.

    with SlurmCluster() as c:          # or the `slurm_cluster` pytest fixture
        subprocess.run(["sbatch", ...], env=c.env)

c.env is os.environ plus SLURM_CONF, which is how sbatch, squeue, scontrol
and sinfo find this cluster (and, through its AuthInfo=socket=..., this munged).

What it never does: touch /etc (munged gets a fresh key of its own in the temp
folder, never /etc/munge/munge.key), use systemd, listen beyond 127.0.0.1,
touch the clock.  Every wait is bounded.  On exit: the jobs still queued are
cancelled, every process that carries this cluster's SLURM_CONF in its
environment (job steps, their children) and the three daemons are stopped by
PID (SIGTERM, then SIGKILL after STOP_WAIT_S), and the temp folder goes.

If the cluster cannot start (a program missing, not root, a daemon that dies
or a node that never turns idle), SlurmClusterError says why, with the tail
of the daemon logs; the fixture turns that into pytest.skip.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

# Bounds of the waits, in seconds (chosen here: a healthy node turns idle in
# 2-5 s on a 2-CPU VM; the rest is slack).
IDLE_WAIT_S = 30
STOP_WAIT_S = 10
CMD_TIMEOUT_S = 20
POLL_S = 0.5
# The node's memory as Slurm is told (MB): small, so the real memory always
# covers it (a node with less than it says is drained as "Low RealMemory").
REAL_MEMORY_MB = 256
LOG_TAIL_LINES = 15

PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol", "scancel")


class SlurmClusterError(Exception):
    """The cluster could not start; the message says why."""


def _free_port():
    """A TCP port free on 127.0.0.1 now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path, lines=LOG_TAIL_LINES):
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return "(no %s)" % Path(path).name
    return "\n".join(["--- %s" % Path(path).name] + text[-lines:])


class SlurmCluster:
    def __init__(self, cpus=None):
        self.cpus = cpus or os.cpu_count() or 1
        self.host = socket.gethostname().split(".")[0]
        self.dir = None
        self.env = None
        self.procs = {}
        self.started_s = None

    # -- paths

    def path(self, name):
        return str(self.dir / name)

    def logs_tail(self):
        return "\n".join(_tail(self.path(n)) for n in ("munged.log", "slurmctld.log", "slurmd.log"))

    # -- start

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        try:
            self._start()
        except (OSError, subprocess.SubprocessError) as e:
            raise SlurmClusterError("%s: %s\n%s" % (type(e).__name__, e,
                                                     self.logs_tail() if self.dir else ""))

    def _start(self):
        if os.geteuid() != 0:
            raise SlurmClusterError("needs root (slurmd runs jobs as their user, munged as root)")
        missing = [p for p in PROGRAMS if shutil.which(p) is None]
        if missing:
            raise SlurmClusterError("not installed: %s (apt-get install slurm-wlm munge)"
                                    % " ".join(missing))
        t0 = time.monotonic()
        # Short, under /tmp: munged's socket path must fit sun_path (108 bytes).
        # 0755: munged wants every folder above its socket searchable by all.
        self.dir = Path(tempfile.mkdtemp(prefix="ntplab-slurm-"))
        os.chmod(self.dir, 0o755)
        for sub in ("state", "spool"):
            (self.dir / sub).mkdir()
        self._start_munged()
        conf = self._write_conf()
        self.env = dict(os.environ, SLURM_CONF=conf)
        self._spawn("slurmctld", ["slurmctld", "-D", "-c", "-f", conf])
        self._spawn("slurmd", ["slurmd", "-D", "-f", conf])
        self._wait_idle()
        self.started_s = time.monotonic() - t0

    def _start_munged(self):
        key = self.dir / "munge.key"
        # A key of its own (1024 random bytes, munged's default size), so
        # nothing reads or changes /etc/munge.
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(1024))
        self.munge_socket = self.path("munge.sock")
        self._spawn("munged", ["munged", "--foreground", "--key-file=%s" % key,
                               "--socket=%s" % self.munge_socket,
                               "--pid-file=%s" % self.path("munged.pid"),
                               "--seed-file=%s" % self.path("munged.seed"),
                               "--log-file=%s" % self.path("munged.log")],
                    log="munged.log")
        self._until(lambda: os.path.exists(self.munge_socket), 10, "munged's socket")

    def _write_conf(self):
        ctld_port, slurmd_port = _free_port(), _free_port()
        d = self.dir
        conf = [
            "ClusterName=ntplab",
            "SlurmctldHost=%s(127.0.0.1)" % self.host,
            "SlurmctldPort=%d" % ctld_port,
            "SlurmdPort=%d" % slurmd_port,
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            "AuthInfo=socket=%s" % self.munge_socket,
            "StateSaveLocation=%s" % (d / "state"),
            "SlurmdSpoolDir=%s" % (d / "spool"),
            "SlurmctldPidFile=%s" % (d / "slurmctld.pid"),
            "SlurmdPidFile=%s" % (d / "slurmd.pid"),
            "SlurmctldLogFile=%s" % (d / "slurmctld.log"),
            "SlurmdLogFile=%s" % (d / "slurmd.log"),
            # no cgroups: process tracking through /proc, no task binding
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "MpiDefault=none",
            "SwitchType=switch/none",
            "SchedulerType=sched/backfill",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU",
            # a node that was down comes back by itself when it registers
            "ReturnToService=2",
            # a finished job stays visible to scontrol this long (s), for the test
            "MinJobAge=600",
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
            "MailProg=/bin/true",
            "NodeName=%s NodeAddr=127.0.0.1 CPUs=%d RealMemory=%d State=UNKNOWN"
            % (self.host, self.cpus, REAL_MEMORY_MB),
            "PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
        ]
        path = d / "slurm.conf"
        path.write_text("\n".join(conf) + "\n")
        return str(path)

    def _spawn(self, name, argv, log=None):
        out = open(self.path(log or (name + ".out")), "ab")
        try:
            self.procs[name] = subprocess.Popen(argv, cwd=self.dir, env=self.env or os.environ,
                                                stdin=subprocess.DEVNULL, stdout=out,
                                                stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            out.close()

    def _check_alive(self):
        for name, p in self.procs.items():
            if p.poll() is not None:
                raise SlurmClusterError("%s exited with status %s at start\n%s\n%s"
                                        % (name, p.returncode, _tail(self.path(name + ".out")),
                                           self.logs_tail()))

    def _until(self, cond, seconds, what):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._check_alive()
            if cond():
                return
            time.sleep(POLL_S)
        raise SlurmClusterError("%s: not there after %d s\n%s" % (what, seconds, self.logs_tail()))

    def node_state(self):
        try:
            r = self.run(["sinfo", "-h", "-N", "-o", "%T"], check=False)
        except subprocess.TimeoutExpired:
            return "(sinfo: no answer in %d s)" % CMD_TIMEOUT_S
        return r.stdout.strip() if r.returncode == 0 else "(sinfo: %s)" % r.stderr.strip()

    def _wait_idle(self):
        self._until(lambda: self.node_state() == "idle", IDLE_WAIT_S,
                    "node %s idle in sinfo (last state: %s)" % (self.host, self.node_state()))

    # -- use

    def run(self, argv, check=True):
        """A Slurm client command against this cluster, bounded."""
        return subprocess.run(argv, env=self.env, capture_output=True, text=True,
                              timeout=CMD_TIMEOUT_S, check=check)

    def job_states(self, job_id):
        """{job id (array tasks as ID_K): state} from scontrol, which keeps a
        finished job for MinJobAge (there is no accounting database here)."""
        r = self.run(["scontrol", "-o", "show", "job", str(job_id)], check=False)
        states = {}
        for line in r.stdout.splitlines():
            f = dict(w.split("=", 1) for w in line.split() if "=" in w)
            jid = f.get("JobId", "?")
            if f.get("ArrayTaskId"):
                jid = "%s_%s" % (f.get("ArrayJobId"), f["ArrayTaskId"])
            states[jid] = f.get("JobState", "?")
        return states

    # -- stop

    def stop(self):
        if self.env is not None and self.procs.get("slurmctld") is not None:
            if self.procs["slurmctld"].poll() is None:
                self._cancel_jobs()
        for name in ("slurmd", "slurmctld", "munged"):
            p = self.procs.get(name)
            if p is not None:
                _stop(p.pid, lambda: p.poll() is not None)
        # after the daemons: a daemon's own helpers (slurmscriptd) carry the
        # mark too, and go with their daemon
        self._stop_job_processes()
        self.procs.clear()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def _cancel_jobs(self):
        try:
            self.run(["scancel", "--full", "--user=root"], check=False)
            deadline = time.monotonic() + STOP_WAIT_S
            while time.monotonic() < deadline:
                r = self.run(["squeue", "-h", "-o", "%i"], check=False)
                if r.returncode != 0 or not r.stdout.strip():
                    return
                time.sleep(POLL_S)
        except subprocess.TimeoutExpired:
            pass

    def _stop_job_processes(self):
        """Job steps and what they started carry this cluster's SLURM_CONF
        (slurmd's environment, and the job's, exported from ours): stop each
        such process by PID, whoever its parent is now."""
        if self.env is None:
            return
        mark = ("SLURM_CONF=%s" % self.env["SLURM_CONF"]).encode()
        for pid in _pids_with_env(mark):
            if pid != os.getpid():
                _stop(pid, lambda pid=pid: not _alive(pid))


def _pids_with_env(mark):
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                if mark in f.read().split(b"\0"):
                    pids.append(int(d))
        except OSError:
            continue
    return pids


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


def _stop(pid, gone):
    """SIGTERM, then SIGKILL after STOP_WAIT_S: one process, by PID."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + STOP_WAIT_S
        while time.monotonic() < deadline:
            if gone():
                return
            time.sleep(0.1)


def say(config, text):
    """A line on pytest's terminal even when output is captured: whether the
    cluster ran or why it did not must show in every CI log."""
    tr = config.pluginmanager.get_plugin("terminalreporter") if config else None
    capman = config.pluginmanager.get_plugin("capturemanager") if config else None
    if tr is None or capman is None:
        print(text, flush=True)
        return
    with capman.global_and_fixture_disabled():  # else a fixture's output is captured
        tr.write("\n")
        tr.write_line(text, bold=True)


try:
    import pytest

    @pytest.fixture(scope="module")
    def slurm_cluster(pytestconfig):
        """The cluster for a module's tests; pytest.skip (and a loud line) when
        it cannot start here."""
        try:
            cluster = SlurmCluster()
            cluster.__enter__()
        except SlurmClusterError as e:
            say(pytestconfig, "SLURM: single-node cluster did NOT start, tests skip: %s" % e)
            pytest.skip("single-node Slurm cluster did not start: %s" % e)
        say(pytestconfig, "SLURM: single-node cluster up on %s (%d CPUs) in %.1f s, conf %s"
            % (cluster.host, cluster.cpus, cluster.started_s, cluster.env["SLURM_CONF"]))
        try:
            yield cluster
        finally:
            cluster.stop()
            say(pytestconfig, "SLURM: single-node cluster stopped, its temp folder removed")
except ImportError:  # used outside pytest
    pass
