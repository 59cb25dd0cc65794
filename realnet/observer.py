# SPDX-License-Identifier: BSD-2-Clause
"""realnet's observer: what measures every node's true offset.

The top half is the probe program, run inside the observer namespace as a
script (``python3 realnet/observer.py --sampler ...`` and ``--probe ADDR``):
the standard library only, no yaml, no lab.  An observer probes every node
once a second (3 requests, the one with the least delay; the receive time
is the kernel's stamp) for its true offset -- all namespaces share
CLOCK_REALTIME, which is true time here -- its leap, stratum, refid and root
distance, and (refd, ntpd) the mode 6 status words.

The bottom half (ObserverMixin, part of realnet.run.RealRun) starts nothing
itself: it reads the probe's samples, chronyc and ntpctl, and the final ntpq
tables, in the main namespace.
"""

import argparse
import json
import random
import re
import select
import socket
import struct
import sys
import time
from pathlib import Path

NTP_UNIX_OFFSET = 2208988800      # s, NTP era 0 to 1970 (RFC 5905 §6)
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # linux/asm-generic/socket.h


# ==========================================================================
# the observer's probe (runs inside the observer namespace; no yaml, no lab)


def _ntp64_ns(v):
    """64-bit NTP timestamp -> ns since 1970 (era 0, valid until 2036)."""
    sec, frac = v >> 32, v & 0xFFFFFFFF
    return (sec - NTP_UNIX_OFFSET) * 1000000000 + (frac * 1000000000 >> 32)


def _probe_round(sock, targets, burst, gap, wait):
    """Send `burst` mode-3 requests to every target, `gap` s apart; collect
    replies until all came or `wait` s passed.  Returns {name: best reply}
    where best is the reply with the least delay (RFC 5905 §8 on-wire)."""
    sent = {}
    for k in range(burst):
        for name, addr in targets:
            xmt = random.getrandbits(64) | 1
            pkt = struct.pack("!BBbbII4sQQQQ", (4 << 3) | 3, 0, 0, 0, 0, 0, b"\0" * 4,
                              0, 0, 0, xmt)
            t1 = time.time_ns()
            try:
                sock.sendto(pkt, (addr, 123))
            except OSError:
                continue
            sent[xmt] = (name, t1)
        if k + 1 < burst:
            time.sleep(gap)
    best = {}
    end = time.monotonic() + wait
    while sent and time.monotonic() < end:
        r, _, _ = select.select([sock], [], [], max(0.0, end - time.monotonic()))
        if not r:
            break
        try:
            buf, anc, _, _ = sock.recvmsg(2048, 64)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            continue
        t4 = time.time_ns()
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
                s, ns = struct.unpack("=qq", data[:16])
                t4 = s * 1000000000 + ns
        if len(buf) < 48:
            continue
        (lvm, st, poll, prec, rdel, rdisp, refid, ref, org, rec, xmt) = struct.unpack_from(
            "!BBbbII4sQQQQ", buf)
        if org not in sent or lvm & 7 != 4:
            continue
        name, t1 = sent.pop(org)
        t2, t3 = _ntp64_ns(rec), _ntp64_ns(xmt)
        offset = ((t2 - t1) + (t3 - t4)) / 2e9
        delay = ((t4 - t1) - (t3 - t2)) / 1e9
        cand = {"offset": offset, "delay": delay, "leap": lvm >> 6, "stratum": st,
                "refid": refid.hex(), "rootdelay": rdel / 65536.0,
                "rootdisp": rdisp / 65536.0}
        if name not in best or delay < best[name]["delay"]:
            best[name] = cand
    return best


_M6_SEL = " x.-+#*o"   # peer status word select field -> ntpq tally (RFC 5905 App. B)
_M6_READSTAT, _M6_READVAR = 1, 2   # mode 6 opcodes (RFC 1305 App. B)


def _m6_request(op, seq, assoc=0, data=b""):
    """A version 2 mode 6 request (as ntpq sends), data padded to 32 bits."""
    return (struct.pack("!BBHHHHH", (2 << 3) | 6, op, seq, 0, assoc, 0, len(data)) + data
            + b"\0" * ((4 - len(data) % 4) % 4))


def _readvar(sock, addr, assoc, names, seq, wait=0.2):
    """Mode 6 READVAR of `names` for association `assoc` at addr: the reply's
    data (first fragment; b"" on error or no reply within `wait`)."""
    sock.sendto(_m6_request(_M6_READVAR, seq, assoc, names), (addr, 123))
    end = time.monotonic() + wait
    while time.monotonic() < end:
        r, _, _ = select.select([sock], [], [], max(0.0, end - time.monotonic()))
        if not r:
            break
        try:
            buf, _ = sock.recvfrom(4096)
        except OSError:
            break
        if len(buf) >= 12 and struct.unpack_from("!H", buf, 2)[0] == seq:
            if buf[1] & 0x40:
                return b""
            return buf[12:12 + struct.unpack_from("!H", buf, 10)[0]]
    return b""


def _mode6_round(sock, targets, assoc_addr, wait):
    """Mode 6 READSTAT (RFC 1305 App. B, as ntpq -p starts) to every target:
    the system status word (leap, sync source: 0 = no system peer) and each
    association's status word (its select field is ntpq's tally).  Unknown
    association ids are resolved once with READVAR "srcadr"."""
    seq = random.randrange(1, 60000)
    want = {}
    for name, addr in targets:
        seq = seq % 65000 + 1
        sock.sendto(_m6_request(_M6_READSTAT, seq), (addr, 123))
        want[(addr, seq)] = name
    got = {}
    end = time.monotonic() + wait
    lookups = []
    reasons = []
    while want and time.monotonic() < end:
        r, _, _ = select.select([sock], [], [], max(0.0, end - time.monotonic()))
        if not r:
            break
        try:
            buf, peer = sock.recvfrom(4096)
        except OSError:
            continue
        if len(buf) < 12:
            continue
        _, op, rseq, status, assoc, off, count = struct.unpack_from("!BBHHHHH", buf)
        name = want.pop((peer[0], rseq), None)
        if name is None or op & 0x40 or op & 0x1F != _M6_READSTAT:
            continue
        data = buf[12:12 + count]
        peers = []
        for i in range(0, len(data) - 3, 4):
            a, st = struct.unpack_from("!HH", data, i)
            sel = (st >> 8) & 7
            peers.append({"assoc": a, "tally": _M6_SEL[sel], "reach": bool(st & 0x1000),
                          "addr": assoc_addr.get((peer[0], a))})
            if (peer[0], a) not in assoc_addr:
                lookups.append((peer[0], a))
        got[name] = {"sys_leap": status >> 14, "sys_src": (status >> 8) & 0x3F,
                     "peers": peers}
        for p in peers:
            if p["tally"] in " x.-":
                reasons.append((peer[0], p))
    for addr, a in lookups[:16]:
        seq = seq % 65000 + 1
        m = re.search(rb"srcadr=([0-9a-fA-F.:]+)", _readvar(sock, addr, a, b"srcadr", seq))
        if m:
            assoc_addr[(addr, a)] = m.group(1).decode()
    # refd names the core's reason for a tally in its own variable "reason"
    # (ntpd does not know it and answers with an error: no reason then).
    for addr, p in reasons[:16]:
        seq = seq % 65000 + 1
        m = re.search(rb'reason="([^"]*)"', _readvar(sock, addr, p["assoc"], b"reason", seq))
        if m:
            p["reason"] = m.group(1).decode("ascii", "replace")
    return got


def _sampler_main(argv):
    ap = argparse.ArgumentParser(prog="observer.py --sampler")
    ap.add_argument("--sampler", action="store_true")
    ap.add_argument("--out", required=True)
    ap.add_argument("--t0", type=float, required=True, help="realtime of scenario time 0")
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--duration", type=float, required=True)
    ap.add_argument("--burst", type=int, default=3)
    ap.add_argument("target", nargs="+", help="NAME=ADDRESS")
    a = ap.parse_args(argv)
    targets, m6 = [], []
    for t in a.target:
        name, rest = t.split("=", 1)
        addr, _, flag = rest.partition(":")
        targets.append((name, addr))
        if flag == "m6":
            m6.append((name, addr))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    csock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    assoc_addr = {}
    end = time.monotonic() + a.duration
    k = 0
    with open(a.out, "a") as f:
        while time.monotonic() < end:
            t = time.time() - a.t0
            best = _probe_round(sock, targets, a.burst, 0.003, min(0.5, a.interval * 0.5))
            ctl = _mode6_round(csock, m6, assoc_addr, 0.25) if m6 else {}
            for name, _ in targets:
                row = {"t": round(t, 4), "node": name}
                row.update(best.get(name, {"answered": False}))
                if name in ctl:
                    row.update(ctl[name])
                f.write(json.dumps(row) + "\n")
            f.flush()
            k += 1
            nxt = a.t0 + k * a.interval  # on the realtime grid, whatever a round took
            while time.time() < nxt and time.monotonic() < end:
                time.sleep(min(0.1, max(0.0, nxt - time.time())))
    return 0


def _probe_once_main(argv):
    """observer.py --probe ADDR: one burst of 5, the least-delay reply as JSON."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    best = _probe_round(sock, [("x", argv[0])], 5, 0.01, 1.0)
    print(json.dumps(best.get("x", {"answered": False})))
    return 0


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] in ("--sampler", "--probe"):
    if sys.argv[1] == "--sampler":
        sys.exit(_sampler_main(sys.argv[1:]))
    sys.exit(_probe_once_main(sys.argv[2:]))


# ==========================================================================
# everything below runs in the main namespace, as root (imported as
# realnet.observer, never as a script)

from . import ntplab_net as nl  # noqa: E402
from .scenario import NFT  # noqa: E402
from .implementations import chrony_row, openntpd_row, parse_ntpctl  # noqa: E402
from .report import claimed_bound, infer_reason  # noqa: E402


class ObserverMixin:
    """RealRun's observation: the observer's probes and samples, the daemons' own
    readings (ntpq, chronyc, ntpctl) and the peer history built from them."""

    def probe(self, n):
        r = nl.run([nl.PYTHON, Path(__file__).resolve(), "--probe", n.real], ns=self.obs,
                   timeout=5)
        try:
            return json.loads(r.stdout)
        except ValueError:
            return {}

    def sample_peers(self):
        """chronyd and openntpd have no mode 6: read chronyc tracking and
        sources, and `ntpctl -s all`."""
        for n in self.sc.nodes:
            p = self.procs.get(n.name)
            if n.kind != "host" or p is None or not p.alive() or \
                    n.impl not in ("chrony", "openntpd"):
                continue
            if n.impl == "openntpd":
                t = round(self.t(), 3)
                st = parse_ntpctl(nl.ntpctl(p.pid, "-s", "all").stdout)
                self.openntpd_samples.setdefault(n.name, []).append((t, st))
                if st is not None:
                    self.openntpd_peer_samples.setdefault(n.name, []).append(
                        (t, [openntpd_row(self.back, x) for x in st["peers"]]))
                continue
            t = round(self.t(), 3)
            tr = nl.chrony_tracking(self.lab, self.socks[n.name], self.ns[n.name])
            self.chrony_samples.setdefault(n.name, []).append((t, tr))
            src = nl.chrony_sources(self.lab, self.socks[n.name], self.ns[n.name])
            self.chrony_peer_samples.setdefault(n.name, []).append(
                (t, [chrony_row(self, x) for x in src]))

    def read_out(self):
        out = {}
        for n in self.sc.nodes:
            p = self.procs.get(n.name)
            d = {"alive": p is not None and p.alive()}
            if d["alive"] and n.impl in ("refd", "ntpsec"):
                rows, r = nl.ntpq_peers(self.ns[n.name])
                d["peers"] = rows
                d["ntpq"] = r.stdout
            elif d["alive"] and n.impl == "chrony":
                d["tracking"] = nl.chrony_tracking(self.lab, self.socks[n.name], self.ns[n.name])
                d["sources"] = nl.chrony_sources(self.lab, self.socks[n.name], self.ns[n.name])
            elif d["alive"] and n.impl == "openntpd":
                r = nl.ntpctl(p.pid, "-s", "all")
                d["ntpctl"] = r.stdout
                d["ntpctl_status"] = parse_ntpctl(r.stdout)
            r = self.nsexec(self.ns[n.name], [NFT, "list", "table", "inet", "ntplab"],
                            check=False)
            cnt = re.findall(r"chain (count_out|count_in) \{.*?counter packets (\d+)",
                             r.stdout, re.S)
            d["packets"] = {("sent" if c == "count_out" else "received"): int(v) for c, v in cnt}
            self.collect_drops(n)
            out[n.name] = d
        return out

    # -- observations -> the report
    def observer_rows(self):
        rows = {}
        try:
            text = Path(self.samples_path).read_text()
        except (OSError, AttributeError):
            return rows
        for line in text.splitlines():
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if d["t"] <= self.duration + 0.5:
                rows.setdefault(d["node"], []).append(d)
        return rows

    def node_samples(self, n, obs):
        """[(t, offset or None, claims_sync, bound or None, has_peer)] for n.
        claims_sync: it serves leap != 3 and stratum 1..15 (ntpsim's bound
        check); has_peer: its system status word names a sync source, as
        ntpsim's 'has a system peer' (mode 6; chronyd: tracking)."""
        out = []
        chrony = self.chrony_samples.get(n.name, [])
        for d in obs.get(n.name, []):
            if not d.get("answered", True):
                out.append((d["t"], None, False, None, False))
                continue
            claims, bound = claimed_bound(d)
            peer = d["sys_src"] != 0 if "sys_src" in d else claims
            out.append((d["t"], d["offset"], claims, bound, peer))
        if n.impl == "openntpd":
            # no mode 6 and (unless it serves) no listener: ntpctl every 4 s.
            # Its clock is the machine's and is never moved, so the offset
            # is openntpd's own estimate: local - the peer it is synced to.
            out = []
            for t, st in self.openntpd_samples.get(n.name, []):
                if st is None:
                    out.append((t, None, False, None, False))
                    continue
                sel = [p for p in st["peers"] if p["selected"] and p["offset"] is not None]
                off = -sel[0]["offset"] if sel else None
                out.append((t, off, st["synced"], None, st["synced"] and bool(sel)))
            return out
        if n.impl == "chrony" and not any(x[1] is not None for x in out):
            out = []
            for t, tr in chrony:
                if tr is None:
                    continue
                claims = tr["leap"] != "Not synchronised"
                off = n.clock_offset + tr["system_time"]
                out.append((t, off, claims, tr["root_delay"] / 2 + tr["root_disp"], claims))
        return out

    def peer_history(self, n, obs):
        """[(t, [peer rows])] from the observer's mode-6 reads (refd, ntpd)
        or chronyc sources samples; rows carry an address in the scenario's
        terms, the tally and a reason (inferred where refd exports none)."""
        hist = []
        server_obs = {}
        for name, rows in obs.items():
            server_obs[self.sc.by_name[name].addr] = [r for r in rows if r.get("answered", True)]
        maxdist = 1.5  # s, ntpd/core NTP_SELECT_MAXDIST
        for t in self.confs[n.name].tos:
            if len(t) >= 2 and t[0] == "maxdist":
                maxdist = float(t[1])
        for d in obs.get(n.name, []):
            if "peers" not in d:
                continue
            rows = []
            for p in d["peers"]:
                addr = p.get("addr")
                remote = "LOCAL(0)" if addr and addr.startswith("127.127.") else \
                    self.back(addr) if addr else "assoc-%d" % p["assoc"]
                rows.append({"remote": remote, "tally": p["tally"], "reach": p["reach"],
                             "reason": p.get("reason") or infer_reason(
                                 p["tally"], p["reach"], server_obs.get(remote, []), d["t"],
                                 maxdist)})
            hist.append((d["t"], rows))
        for t, rows in self.chrony_peer_samples.get(n.name, []):
            hist.append((t, rows))
        for t, rows in self.openntpd_peer_samples.get(n.name, []):
            hist.append((t, rows))
        return hist
