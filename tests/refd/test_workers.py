# SPDX-License-Identifier: BSD-2-Clause
"""refd --workers N on loopback (issue 17 §4): the server threads answer
client requests correctly, share the rate-limit table with the core thread,
hand mode 6 and replies to refd's own polls to the core thread, and run
under the sandbox.

Every daemon is started here and stopped by its pid; every wait is bounded.
Addresses 127.0.0.21-.40, ports 11321-11330 and 127.0.0.29:123.  Run with
REFD=build/refd/refd /usr/bin/python3 -m pytest tests/refd/test_workers.py
(CTest refd/workers sets REFD).
"""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

import pytest

REFD = os.environ.get("REFD", "build/refd/refd")
NTP_HEADER = 48  # bytes, RFC 5905 §7.3
NTP_UNIX_OFFSET = 2208988800  # s from 1900 to 1970, RFC 5905 Figure 4
LOCAL_CONF = """server 127.127.1.0
fudge 127.127.1.0 stratum 4
restrict default nomodify notrap
"""
LIMITED_CONF = """server 127.127.1.0
fudge 127.127.1.0 stratum 4
restrict default limited kod nomodify notrap
"""


class Refd:
    """One refd, foreground, logging to a file of its own."""

    def __init__(self, conf, port, listen, *args):
        self.dir = tempfile.mkdtemp(prefix="refd-workers.")
        self.log = os.path.join(self.dir, "log")
        with open(os.path.join(self.dir, "ntp.conf"), "w") as f:
            f.write(conf)
        cmd = [REFD, "-c", os.path.join(self.dir, "ntp.conf"), "-n", "-p", str(port),
               "-l", self.log]
        for a in listen:
            cmd += ["--listen", a]
        self.stderr = open(os.path.join(self.dir, "stderr"), "w")
        self.proc = subprocess.Popen(cmd + list(args), stdout=self.stderr,
                                     stderr=subprocess.STDOUT)
        self.text = ""
        assert self.wait_log("refd started", 10), self.read()

    def read(self):
        try:
            with open(self.log) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if re.search(pattern, self.read()):
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.1)
        return False

    def stop(self):
        """SIGTERM, bounded wait; the log as it ends."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.text = self.read()
        self.stderr.close()
        with open(os.path.join(self.dir, "stderr")) as f:
            err = f.read()
        # SIGTERM ends refd with status 0; a sanitizer's report does not
        assert self.proc.returncode == 0, f"exit {self.proc.returncode}: {err[-3000:]}"
        return self.text

    def counts(self):
        """(datagrams the daemon took in, requests the worker threads answered,
        datagrams they handed to the core thread, dropped) from the exit lines."""
        m = re.search(r"refd exiting: (\d+) datagrams in", self.text)
        w = re.search(r"workers: (\d+) client requests answered by \d+ threads .*?, "
                      r"(\d+) datagrams handed to the core thread, (\d+) dropped", self.text)
        assert m and w, self.text
        return int(m.group(1)), int(w.group(1)), int(w.group(2)), int(w.group(3))


def request(xmt):
    """A plain NTPv4 client request whose transmit timestamp is xmt."""
    return struct.pack("!B39xQ", (4 << 3) | 3, xmt)


def udp(src="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    return s


def collect(socks, seconds):
    """Every datagram the sockets get within seconds: [(sock index, bytes)]."""
    got = []
    end = time.monotonic() + seconds
    for s in socks:
        s.setblocking(False)
    while time.monotonic() < end:
        quiet = True
        for i, s in enumerate(socks):
            try:
                got.append((i, s.recv(2048)))
                quiet = False
            except BlockingIOError:
                pass
        if quiet:
            time.sleep(0.005)
    return got


def wait_synced(addr, port, src, seconds=20):
    """Until the server answers with stratum 5 (its local clock chosen)."""
    s = udp(src)
    s.settimeout(0.5)
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            s.sendto(request(1), (addr, port))
            try:
                if s.recv(2048)[1] == 5:
                    return True
            except socket.timeout:
                pass
            time.sleep(0.5)
        return False
    finally:
        s.close()


@pytest.fixture
def daemons():
    started = []
    yield started
    try:
        for d in started:
            d.stop()
    finally:
        for d in started:
            shutil.rmtree(d.dir, ignore_errors=True)


def test_many_clients_get_correct_replies_from_every_thread(daemons):
    port, addr = 11321, "127.0.0.21"
    d = Refd(LOCAL_CONF, port, [addr], "--workers", "2")
    daemons.append(d)
    assert wait_synced(addr, port, "127.0.0.22"), d.read()
    socks = [udp() for _ in range(64)]
    xmts = {}
    for i, s in enumerate(socks):
        xmts[i] = (0xE000_0000_0000_0000 | (i << 16) | 0x5A5A)
        s.sendto(request(xmts[i]), (addr, port))
    got = collect(socks, 2.0)
    assert sorted(i for i, _ in got) == list(range(64)), "a client got no reply or two"
    heads = set()
    for i, b in got:
        li_vn_mode, stratum = b[0], b[1]
        org, rec, xmt = struct.unpack("!QQQ", b[24:48])
        assert len(b) == NTP_HEADER
        assert li_vn_mode & 7 == 4 and (li_vn_mode >> 3) & 7 == 4, hex(li_vn_mode)
        assert stratum == 5
        assert b[12:16] == bytes([127, 127, 1, 0]), b[12:16]
        assert org == xmts[i], "origin is not the client's transmit timestamp"
        now = time.time() + NTP_UNIX_OFFSET
        assert abs((xmt >> 32) - now) < 5 and rec <= xmt
        # LI, VN, mode, stratum, poll, precision, root delay, refid, reference
        # time: the same whichever thread answered
        heads.add(b[0:8] + b[12:24])
    assert len(heads) == 1, heads
    for s in socks:
        s.close()
    d.stop()
    taken, served, handed, dropped = d.counts()
    assert 0 < served < taken, "both the worker and the core thread should have served"
    assert dropped == 0


def test_rate_limit_is_shared_between_threads(daemons):
    """16 source ports of one address in a burst: ntpd's leaky bucket allows
    one reply (discard minimum 2 s), the rest are limited -- KoD RATE -- which
    socket each lands on.  A table per thread would give one reply each."""
    port, addr = 11322, "127.0.0.23"
    d = Refd(LIMITED_CONF, port, [addr], "--workers", "2")
    daemons.append(d)
    assert wait_synced(addr, port, "127.0.0.24"), d.read()
    socks = [udp("127.0.0.25") for _ in range(16)]
    for i, s in enumerate(socks):
        s.sendto(request(0xE000_0000_0000_0000 | i), (addr, port))
    got = collect(socks, 1.5)
    normal = [b for _, b in got if b[1] != 0]
    kod = [b for _, b in got if b[1] == 0 and b[12:16] == b"RATE"]
    assert len(normal) == 1, f"{len(normal)} replies to one address in a burst"
    assert len(kod) >= 1
    for s in socks:
        s.close()
    d.stop()
    taken, served, handed, dropped = d.counts()
    assert served > 0 and taken - served > 0, d.text


def control_readvar(seq):
    """An NTP mode 6 READVAR of the system variables (RFC 9327 §2)."""
    return struct.pack("!BBHHHHH", (2 << 3) | 6, 2, seq, 0, 0, 0, 0)


def test_mode6_reaches_the_core_thread_from_a_worker_socket(daemons):
    port, addr = 11323, "127.0.0.26"
    d = Refd(LOCAL_CONF, port, [addr], "--workers", "2")
    daemons.append(d)
    assert d.wait_log("workers: 1 server threads", 5), d.read()
    socks = [udp() for _ in range(16)]
    for i, s in enumerate(socks):
        s.sendto(control_readvar(i + 1), (addr, port))
    got = collect(socks, 2.0)
    answered = set()
    for i, b in got:
        assert b[0] & 7 == 6 and b[1] & 0x80 and b[1] & 0x1F == 2, b[:4].hex()
        assert struct.unpack("!H", b[2:4])[0] == i + 1
        if not b[1] & 0x20:  # the last fragment
            answered.add(i)
    assert answered == set(range(16)), sorted(answered)
    assert b"stratum=" in b"".join(b for _, b in got)
    d.stop()
    taken, served, handed, dropped = d.counts()
    assert handed > 0 and dropped == 0, d.text


def test_upstream_replies_on_worker_sockets_reach_the_core(daemons):
    """B polls 8 addresses of server A from its serving port (clientport):
    A's replies are spread over B's 4 sockets by their source address, and
    those landing on a worker's go to the core thread.  All 8 associations
    become reachable and measure a delay: every reply reached the host."""
    a_port, b_port, b_addr = 11324, 11325, "127.0.0.40"
    a_addrs = [f"127.0.0.{31 + i}" for i in range(8)]
    a = Refd(LOCAL_CONF, a_port, a_addrs)
    daemons.append(a)
    assert wait_synced(a_addrs[0], a_port, "127.0.0.39"), a.read()
    conf = "".join(f"server {x} iburst minpoll 3 maxpoll 4\n" for x in a_addrs)
    conf += f"clientport {b_port}\nrestrict default nomodify notrap\n"
    b = Refd(conf, b_port, [b_addr], "--workers", "4", "--server-port", str(a_port))
    daemons.append(b)
    end = time.monotonic() + 40
    while time.monotonic() < end:
        text = b.read()
        if all(re.search(re.escape(x) + r" \S+ \S+ reachable", text) for x in a_addrs):
            break
        time.sleep(0.5)
    time.sleep(1)
    b.stop()
    for x in a_addrs:
        # the peer table at exit: stratum 5 from A, reach and a delay measured
        m = re.search(r"^ " + re.escape(x) + r"\s+\S+\s+5 u\s+\S+\s+\d+\s+([0-7]+)\s+([0-9.]+)",
                      b.text, re.M)
        assert m and int(m.group(1), 8) != 0 and float(m.group(2)) > 0, (x, b.text)
    taken, served, handed, dropped = b.counts()
    assert handed > 0, "no reply of A landed on a worker's socket (chance 4^-8)"
    assert dropped == 0


def test_workers_run_under_the_sandbox(daemons):
    port, addr = 11326, "127.0.0.27"
    d = Refd(LOCAL_CONF, port, [addr], "--workers", "2")
    daemons.append(d)
    assert d.wait_log("workers: 1 server threads", 5), d.read()
    if not re.search(r"sandbox: capabilities", d.read()):
        pytest.skip("no sandbox in this build: " + d.read())
    with open(f"/proc/{d.proc.pid}/status") as f:
        status = f.read()
    assert re.search(r"^Seccomp:\s+2$", status, re.M), status
    assert re.search(r"^Threads:\s+2$", status, re.M), status
    assert wait_synced(addr, port, "127.0.0.28"), d.read()
    d.stop()
    assert "Operation not permitted" not in d.text, d.text
    assert re.search(r"workers: \d+ client requests answered by 1 threads", d.text), d.text


def test_mrulist_counts_the_requests_of_every_thread(daemons):
    """ntpq -c mrulist (served by the core thread) sees one entry for a
    source whose 16 requests from 16 ports went to both threads, with all 16
    counted.  Port 123, since ntpq has no port option."""
    addr, src = "127.0.0.29", "127.0.0.30"
    if subprocess.run(["sh", "-c", f"ss -lun | grep -q '{addr}:123 \\|0.0.0.0:123 \\|\\*:123 '"]
                      ).returncode == 0:
        pytest.skip(f"UDP port 123 on {addr} is taken")
    if shutil.which("ntpq") is None:
        pytest.skip("no ntpq (ntpsec)")
    # `limited` gives the host its MRU table; ntpq's own address is not limited
    conf = LIMITED_CONF + "restrict 127.0.0.1 nomodify notrap\n"
    d = Refd(conf, 123, [addr], "--workers", "2")
    daemons.append(d)
    assert d.wait_log("workers: 1 server threads", 5), d.read()
    socks = [udp(src) for _ in range(16)]
    for i, s in enumerate(socks):
        s.sendto(request(0xE000_0000_0000_0000 | i), (addr, 123))
    collect(socks, 1.0)
    out = subprocess.run(["ntpq", "-n", "-c", "mrulist", addr], capture_output=True, text=True,
                         timeout=20).stdout
    lines = [ln for ln in out.splitlines() if ln.split() and ln.split()[-1].startswith(src)]
    assert len(lines) == 1, out
    # lstint avgint rstr r m v count rport remote-address
    assert lines[0].split()[6] == "16", out
    for s in socks:
        s.close()
    d.stop()
    taken, served, handed, dropped = d.counts()
    # the 16 plain requests went to both threads (all on one: chance 2^-15)
    assert 0 < served < 16, d.text
