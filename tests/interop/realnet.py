#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""realnet: run an ntpsim scenario file in the real world.

    realnet.py SCENARIO.yaml [--time-scale K] [--keep-logs DIR] [--impl NODE=IMPL]...
                             [--seed N] [--sim] [--json FILE] [--scaled-out FILE]

One scenario file, two worlds: ntpsim runs it in virtual time; this tool
builds the same topology from network namespaces and runs real daemons in
it, then writes a report in the shape of ntpsim's report.json and judges the
scenario's checks that can be observed for real (and says which it skipped,
and why).

What it builds (tests/interop/ntplab_net.py does the plumbing and the safety):

* a router namespace, one namespace per node behind it, and an observer
  namespace; addresses 10.200.0.0/16 exist only inside them.  A scenario
  address such as 192.168.163.131 becomes 10.200.163.131 (its last two
  octets) when that is unique, else 10.200.0.1 upwards; every ntp.conf is
  rewritten to match (server/peer/pool, restrict address and mask);
* each node's implementation: refd (default), NTPsec ntpd (`ntpsec`),
  chronyd (`chrony`, ntp.conf translated), OpenNTPD (`openntpd`, ntp.conf
  translated to ntpd.conf; a private mount namespace gives it its `ntpd`
  user and /var/lib/openntpd, and the noclockset shim lets its adjtime()
  calls "succeed"), and for one-shot query nodes `refd -Q` (default) or
  `ntpdig`.  Every program runs under `capsh --drop=cap_sys_time`
  (ntplab_net.Proc);
* clock offsets and frequency errors: refd --clock-offset/--clock-freq;
  libfaketime (LD_PRELOAD + exec) for chronyd and ntpdig; refused for
  NTPsec and OpenNTPD (kernel receive stamps, libfaketime breaks them);
* the links' impairments with ntpnetem in the router's FORWARD chain
  (iptables NFQUEUE, one queue per directed link), seeded like ntpsim's
  links (--seed, --name link:A->B);
* timed events: firewall rules and partitions (nft, in the namespaces),
  stop/start, link changes, queries; `step`, `freq` and `fault` on refd
  nodes through refd's control socket (--ctl; a node's `fault:` is
  --fault at start), skipped with a reason on the other daemons;
* observation: an observer probes every node once a second (3 requests,
  the one with the least delay; the receive time is the kernel's stamp) for
  its true offset -- all namespaces share CLOCK_REALTIME, which is true time
  here -- its leap, stratum, refid and root distance, and (refd, ntpd) the
  mode 6 status words: system peer or not, each association's tally, and
  (refd) the core's reason for every tally that is not a candidate; plus
  the final ntpq peer tables, `chronyc -c tracking`/`sources` and
  `ntpctl -s all` (also every 4 s: openntpd's sync state and peers, whose
  '*' is the peer it is synced to), the daemons' logs, peerstats /
  measurements.log and nft packet counters.

--time-scale K (default: the file's `real: time_scale`, else 1) divides the
duration and every event and check time by K,
lowers minpoll/maxpoll by log2 K (not below 3, NTP_MINPOLL), adds iburst to
server lines and sets `tinker stepout` to 900/K s (the FREQ measurement and
the stepout of the clock discipline).  Physical quantities are not scaled:
clock offsets, frequency errors, link delays.  The scaled scenario is
written out (--scaled-out, and into --keep-logs) and is a valid ntpsim
scenario, so both worlds can run exactly the same thing (--sim does).

Everything it creates is removed at the end, also on errors and Ctrl-C.
Exit status: 0 every evaluated check passed, 1 a check failed, 2 bad input
or a setup failure.

The module is also the observer's probe program (`realnet.py --sampler ...`),
run inside the observer namespace.
"""

import argparse
import bisect
import copy
import hashlib
import ipaddress
import json
import math
import os
import random
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

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
    ap = argparse.ArgumentParser(prog="realnet.py --sampler")
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
    """realnet.py --probe ADDR: one burst of 5, the least-delay reply as JSON."""
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
# everything below runs in the main namespace, as root

import yaml  # noqa: E402

import ntplab_net as nl  # noqa: E402

FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
NFT = "/usr/sbin/nft"
IPTABLES = "/usr/sbin/iptables"
CHRONY_SERVE_PORT = 123
OBSERVER = "10.200.255.254"     # reserved: 10.200.255.0/24 is never given to a node
LAB_PLEN = 16
MIN_POLL = 3                    # log2 s: core NTP_MINPOLL (core/ntp_proto.h) and ntpd's
DEFAULT_MINPOLL = 6             # log2 s, ntpd NTP_MINDPOLL
DEFAULT_MAXPOLL = 10            # log2 s, ntpd NTP_MAXDPOLL
DEFAULT_STEPOUT = 300.0         # s, NTPsec CLOCK_MINSTEP (core NTP_DISC_STEPOUT_DEFAULT);
                                # `tinker stepout` is floored here, in ntpd and ntplab
STEP_THRESHOLD = 0.128          # s, RFC 5905 STEPT
NETEM_MIN_DELAY = 1e-3          # s: below this a pure delay is not shaped (see shaping_plan)
MAX_REAL_NODES = 24             # namespaces and daemons we are willing to start
SAMPLE_INTERVAL = 1.0           # s between observer rounds
PEER_INTERVAL = 4.0             # s between ntpq/chronyc readings of nodes that need them
IMPLS_HOST = ("refd", "ntpsec", "chrony", "openntpd")
OPENNTPD_TRUST_VALID = 6        # OpenNTPD TRUSTLEVEL_BADPEER: a peer below it is "not valid"
IMPLS_QUERY = ("refd", "ntpdig")


class ScenarioError(Exception):
    """Bad input: the scenario or the options cannot be run for real."""


# --------------------------------------------------------------------------
# times with units, for time scaling only: the scaled YAML must stay an
# ntpsim scenario, so scale_scenario rewrites the file's own times.  What a
# run uses comes from `ntpsim check --normalized` (SI units, resolved).

_NUM_RE = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z%]*)\s*$")
_TIME_UNITS = {"": 1.0, "ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0, "sec": 1.0,
               "min": 60.0, "h": 3600.0, "d": 86400.0}


def seconds(v):
    """A scenario time ("30s", "5min", 12) in seconds (sim/sim_units.h)."""
    if isinstance(v, bool):
        raise ScenarioError("expected a time such as 30s, 5min or 190us, got %r" % v)
    if isinstance(v, (int, float)):
        return float(v)
    m = _NUM_RE.match(str(v))
    if not m or m.group(2) not in _TIME_UNITS:
        raise ScenarioError("expected a time such as 30s, 5min or 190us, got %r" % v)
    return float(m.group(1)) * _TIME_UNITS[m.group(2)]


def fmt_s(s):
    """sim_format_seconds(): '1.000 ms', '120.0 us', '28.200000 s'."""
    if s is None:
        return "-"
    a = abs(s)
    if not math.isfinite(s):
        return "%g" % s
    if a == 0.0:
        return "0 s"
    if a < 1e-6:
        return "%.1f ns" % (s * 1e9)
    if a < 1e-3:
        return "%.1f us" % (s * 1e6)
    if a < 1.0:
        return "%.3f ms" % (s * 1e3)
    return "%.6f s" % s


# --------------------------------------------------------------------------
# the scenario file, as ntpsim loads it


def ntpsim_bin():
    return nl.build_dir() / "sim" / "ntpsim"


def ntpnetem_bin():
    return nl.build_dir() / "ntpnetem" / "ntpnetem"


def normalize(path):
    """`ntpsim check --normalized FILE`: the scenario as ntpsim loaded it
    (docs/ntpsim.1.md, "Normalized scenario"); every mistake (also in
    `impl:` and `real:`) reported as ntpsim reports it, file:line:col."""
    b = ntpsim_bin()
    if not b.exists():
        raise ScenarioError("ntpsim not built at %s: realnet runs the scenario ntpsim loads "
                            "(ntpsim check --normalized)" % b)
    r = subprocess.run([str(b), "check", "--normalized", str(path)], capture_output=True,
                       text=True, timeout=60, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise ScenarioError("ntpsim check rejects %s:\n%s" % (path, (r.stderr + r.stdout).strip()))
    try:
        return json.loads(r.stdout)
    except ValueError as e:
        raise ScenarioError("ntpsim check --normalized %s: not JSON (%s)" % (path, e))


def normalize_data(data):
    """normalize() of a scenario held as a mapping (a scaled one)."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="realnet-") as f:
        f.write(yaml.safe_dump(data, sort_keys=False))
        f.flush()
        return normalize(f.name)


_FAULT_ARGS = {"falseticker": "offset", "huge-rootdisp": "rootdisp", "stale-reftime": "stale",
               "wrong-leap": "leap", "kod": "kod"}


def fault_spec(f):
    """A normalized fault (a node's `fault` or a fault event's) as refd's
    --fault / control `fault` spec: "none" or "KIND[,KIND] offset=S ..."."""
    if not f or not f.get("kinds"):
        return "none"
    words = [",".join(f["kinds"])]
    for key in ("offset", "rootdisp", "stale", "leap", "kod"):
        if any(_FAULT_ARGS.get(k) == key for k in f["kinds"]):
            words.append("%s=%.9f" % (key, f[key]) if key in ("offset", "rootdisp", "stale")
                         else "%s=%s" % (key, f[key]))
    return " ".join(words)


def ctl_command(path, text, wait=2.0):
    """One command to refd's control socket (refd --ctl PATH); returns its
    answer ("ok: ..." / "error: ..."; "error: " and the OSError when refd
    could not be reached or did not answer within `wait`).  The client socket is a file
    next to PATH: refd may sit in another network namespace, and abstract
    AF_UNIX addresses are per namespace, file paths are not."""
    me = str(path) + ".c%d" % os.getpid()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        if os.path.exists(me):
            os.unlink(me)
        s.bind(me)
        s.settimeout(wait)
        s.sendto(text.encode(), str(path))
        return s.recv(4096).decode("ascii", "replace")
    except OSError as e:  # refd gone, socket missing, no answer within wait
        return "error: %s" % e
    finally:
        s.close()
        if os.path.exists(me):
            os.unlink(me)


# clock model terms neither refd's virtual clock nor libfaketime reproduce,
# with their value when off (sim/sim_osc.h)
_CLOCK_OFF = {"wander": 0.0, "temp_amp": 0.0, "noise": 0.0, "resolution": 1e-9}


class Node:
    """One concrete node (replicas expanded by ntpsim), as the real world
    needs it: a node object of the normalized scenario.  What a time
    scale changes (conf, start, query times, discipline) RealRun takes
    from the scaled one."""

    def __init__(self, d):
        self.template = d["template"]
        self.name = d["name"]
        self.addr = d["address"]               # scenario address (string)
        self.real = None                       # 10.200.x.y
        self.kind = d["kind"]
        self.conf = d["conf"] or ""
        self.keys = d.get("keys")              # `keys: |`, the key file text (or None)
        self.clock_offset = d["clock"]["offset"]
        self.clock_freq = d["clock"]["freq"]
        self.clock_extra = sorted(k for k, off in _CLOCK_OFF.items() if d["clock"][k] != off)
        self.drift_ppm = d["drift_ppm"]
        self.big_first_step = d["big_first_step"]
        self.fault_spec = fault_spec(d["fault"]) if d["fault"] else None
        self.impl = d["impl"]
        self.discipline = discipline_words(d)
        q = d["query"] or {}
        self.q_servers = server_names(q)
        self.q = query_fields(q)


def server_names(q):
    """A normalized query's servers by name (or address when named by one)."""
    return [s["name"] or s["address"] for s in q.get("servers", [])]


def query_fields(q):
    return {"samples": q.get("samples", 4), "interval": q.get("interval", 1.0),
            "timeout": q.get("timeout", 1.0), "set": q.get("set", False),
            "unprivileged": q.get("unprivileged", True)}


def discipline_words(d):
    """A normalized node's clock discipline as the words of ntplab's
    `discipline` line (the scenario key or the conf's own line, as ntpsim
    resolved them: name, then the parameters given); None for the
    default."""
    disc = d.get("discipline") or {}
    if not disc.get("configured"):
        return None
    words = [disc["configured"]]
    for p in disc["params"]:
        if p["value"] is not None:
            words += [p["name"], str(p["value"])]  # shortest exact
    return words


class Scenario:
    """The scenario to run: the normalized JSON (norm) and, for scaling and
    the real world's own settings (`real: impl`), the file's mapping."""

    def __init__(self, path, data, norm):
        self.path = str(path)
        self.data = data
        self.norm = norm
        self.name = norm["name"]
        self.seed = norm["seed"]
        self.duration = norm["duration"]
        self.sync_bound = norm["sync_bound"]
        self.nodes = [Node(d) for d in norm["nodes"]]
        self.by_name = {n.name: n for n in self.nodes}
        self.templates = {}
        for n in self.nodes:
            self.templates.setdefault(n.template, []).append(n)
        self.by_addr = {n.addr: n for n in self.nodes}
        real = data.get("real") or {}
        self.real_impl = dict(real.get("impl") or {})
        self.real_time_scale = norm["real"]["time_scale"]

    def resolve(self, name):
        """A node name, a template name or an address -> list of Nodes."""
        s = str(name)
        if s in self.by_name:
            return [self.by_name[s]]
        if s in self.templates:
            return list(self.templates[s])
        if s in self.by_addr:
            return [self.by_addr[s]]
        return []

    def named(self, names):
        """The nodes of a normalized list of names, or all for "any"."""
        return list(self.nodes) if names == "any" else [self.by_name[x] for x in names]


def load_scenario(path):
    norm = normalize(path)  # lines, checks and errors: ntpsim's
    with open(path) as f:
        data = yaml.safe_load(f)
    return Scenario(path, data, norm)


# --------------------------------------------------------------------------
# time scaling (the scaled scenario is itself an ntpsim scenario)

_ASSOC = ("server", "peer", "pool")


def scale_conf(text, k, add_iburst=True):
    """Polls down by log2 k (not below NTP_MINPOLL), iburst on remote
    servers, stepout / k.  Returns (text, notes)."""
    if k <= 1:
        return text, []
    shift = max(0, int(math.floor(math.log2(k) + 0.5)))
    out, notes = [], []
    for line in text.splitlines():
        body, _, comment = line.partition("#")
        w = body.split()
        if w and (w[0] in _ASSOC or (w[0] == "refclock" and len(w) > 1 and w[1] == "local")):
            local = w[0] == "refclock" or (len(w) > 1 and w[1].startswith("127.127."))
            opts = w[2:]
            mn = DEFAULT_MINPOLL
            mx = None
            keep = []
            i = 0
            while i < len(opts):
                if opts[i] in ("minpoll", "maxpoll") and i + 1 < len(opts):
                    if opts[i] == "minpoll":
                        mn = int(opts[i + 1])
                    else:
                        mx = int(opts[i + 1])
                    i += 2
                    continue
                keep.append(opts[i])
                i += 1
            if mx is None:
                mx = mn if local else max(mn, DEFAULT_MAXPOLL)
            nmn = max(MIN_POLL, mn - shift)
            nmx = max(nmn, mx - shift)
            if local:
                nmx = nmn
            if nmn != mn or nmx != mx:
                eff = 2 ** (mn - nmn)
                notes.append("%s %s: minpoll %d -> %d, maxpoll %d -> %d%s" % (
                    w[0], w[1] if len(w) > 1 else "", mn, nmn, mx, nmx,
                    "" if eff == k else " (polls %gx faster, not %gx: NTP_MINPOLL %d)"
                    % (eff, k, MIN_POLL) if eff < k else ""))
            if add_iburst and not local and w[0] in ("server", "pool") and "iburst" not in keep:
                keep.append("iburst")
                notes.append("%s %s: iburst added" % (w[0], w[1]))
            w = w[:2] + keep + ["minpoll", str(nmn), "maxpoll", str(nmx)]
            line = " ".join(w) + ((" #" + comment) if comment else "")
        elif len(w) >= 2 and w[0] == "tinker":
            ws = list(w)
            for i in range(1, len(ws) - 1):
                if ws[i] == "stepout":
                    old = float(ws[i + 1])
                    ws[i + 1] = "%g" % (old / k)
                    notes.append("tinker stepout %g -> %s s" % (old, ws[i + 1]))
            line = " ".join(ws)
        out.append(line)
    return "\n".join(out) + "\n", notes


def conf_stepout(text):
    """The stepout (s) an ntp.conf gives ntpd: the last `tinker stepout`,
    never below CLOCK_MINSTEP (300 s), else 300 s."""
    v = DEFAULT_STEPOUT
    for line in text.splitlines():
        w = line.partition("#")[0].split()
        for i in range(1, len(w) - 1):
            if w[0] == "tinker" and w[i] == "stepout":
                v = max(DEFAULT_STEPOUT, float(w[i + 1]))
    return v


# The time constants of each discipline that a time-scaled run shrinks, with
# their defaults: ntpd's stepout (from `tinker stepout`, floored at 300 s by
# ntpd but not as a parameter), regress's start-up wait for silent sources.
REGRESS_WAIT = 128.0  # s, core/ntp_regress.c `wait`


def _time_param(name, conf):
    if name == "regress":
        return "wait", REGRESS_WAIT
    return "stepout", conf_stepout(conf)


def scale_discipline(n, k):
    """ntpd floors `tinker stepout` at 300 s, so a scaled stepout reaches
    ntplab (ntpsim and refd alike) as the `stepout` parameter of the node's
    discipline, which has no floor: the FREQ measurement and the startup
    clamp shrink with the run; regress's `wait` shrinks the same way.
    Returns a note."""
    conf = n.get("conf", "")
    d = n.get("discipline")
    lines = conf.splitlines()
    for i, line in enumerate(lines):
        w = line.partition("#")[0].split()
        if w and w[0] == "discipline" and len(w) > 1:
            key, dflt = _time_param(w[1], conf)
            v = dflt / k
            if key in w[2::2]:
                j = w.index(key, 2)
                v = float(w[j + 1]) / k
                w[j + 1] = "%g" % v
            else:
                w += [key, "%g" % v]
            lines[i] = " ".join(w)
            n["conf"] = "\n".join(lines) + "\n"
            return "discipline line: %s %g s" % (key, v)
    if isinstance(d, dict):
        d = dict(d)
    else:
        kernel = not re.search(r"^\s*disable\b[^#\n]*\bkernel\b", conf, re.M)
        d = {"name": d if d is not None else ("ntpd-kernel" if kernel else "ntpd-daemon")}
    key, dflt = _time_param(d["name"], conf)
    d[key] = float(d[key]) / k if key in d else dflt / k
    n["discipline"] = d
    return "discipline: %s, %s %g s%s" % (
        d["name"], key, d[key],
        " (ntpd floors tinker stepout at 300 s)" if key == "stepout" else "")


def scale_scenario(data, k, add_iburst=True):
    """The scenario with every time divided by k.  Returns (data, notes)."""
    d = copy.deepcopy(data)
    if k <= 1:
        return d, []
    notes = ["duration %s -> %g s" % (d["duration"], seconds(d["duration"]) / k)]
    d["duration"] = seconds(d["duration"]) / k

    def sc(m, key):
        # a time, or a list of them; words ("end"), infinities and a
        # mapping (`since: {node, name}`) are kept
        v = m.get(key)
        if v is None or isinstance(v, dict) or str(v).strip() in ("end", "inf", "-inf"):
            return
        if isinstance(v, list):
            m[key] = [x if str(x).strip() in ("inf", "-inf") else seconds(x) / k for x in v]
        else:
            m[key] = seconds(v) / k

    sc(d, "settle")  # where the report's settled part begins
    if "sample_interval" in d and seconds(d["sample_interval"]) > 0:
        d["sample_interval"] = max(1.0, seconds(d["sample_interval"]) / k)
    for n in d["nodes"]:
        sc(n, "start")
        if n.get("kind") == "query":
            sc(n, "at")
        if "conf" in n:
            notes.append("%s: %s" % (n["name"], scale_discipline(n, k)))
            n["conf"], cn = scale_conf(n["conf"], k, add_iburst)
            notes += ["%s: %s" % (n["name"], x) for x in cn]
    for e in d.get("events") or []:
        for key in ("at", "every", "until"):
            sc(e, key)
    for c in d.get("checks") or []:
        for key in ("within", "after", "from", "to", "not_within", "at", "since", "first",
                    "last"):
            sc(c, key)
    notes.append("events and check times / %g; not scaled: clock offsets and frequency "
                 "errors, wander, link delays, query interval/timeout, sync_bound, packet "
                 "intervals and polls in checks" % k)
    return d, notes


# --------------------------------------------------------------------------
# addresses


def map_addresses(sc):
    """Scenario address -> 10.200.x.y (last two octets when that is unique
    and clear of the observer's 10.200.255.0/24), else 10.200.0.1 upwards."""
    want = {}
    ok = True
    for n in sc.nodes:
        a = ipaddress.ip_address(n.addr)
        if a.version != 4:
            ok = False
            break
        o = a.packed
        cand = "10.200.%d.%d" % (o[2], o[3])
        if o[2] == 255 or (o[2] == 0 and o[3] == 0) or cand in want.values():
            ok = False
            break
        want[n.name] = cand
    if not ok:
        want = {n.name: str(ipaddress.ip_address("10.200.0.0") + i + 1)
                for i, n in enumerate(sc.nodes)}
    for n in sc.nodes:
        n.real = want[n.name]
    sc.octet_map = ok
    sc.real_to_addr = {n.real: n.addr for n in sc.nodes}
    sc.real_to_node = {n.real: n for n in sc.nodes}


def map_restrict_net(sc, addr, mask):
    """A restrict address/mask of the scenario -> (address, mask) in the lab."""
    a = ipaddress.ip_address(addr)
    if a.version != 4:
        return addr, mask
    if mask is None:
        n = sc.by_addr.get(addr)
        return (n.real, None) if n else (addr, None)
    net = ipaddress.ip_network("%s/%s" % (addr, mask), strict=False)
    if net.prefixlen >= LAB_PLEN and sc.octet_map:
        o = net.network_address.packed
        return "10.200.%d.%d" % (o[2], o[3]), mask
    inside = [n for n in sc.nodes if ipaddress.ip_address(n.addr) in net]
    if inside:
        return "10.200.0.0", "255.255.0.0"
    return addr, mask


# --------------------------------------------------------------------------
# ntp.conf: the scenario's text -> the lab's text, per implementation


class Conf:
    """A node's ntp.conf after name resolution and address mapping, split
    into the parts each translator needs."""

    def __init__(self, sc, node, text):
        self.lines = []          # mapped lines (paths removed)
        self.servers = []        # (kind, real address or None for local, opts list, unit)
        self.local = None        # {"unit", "stratum", "opts"}
        self.restricts = []      # (address or "default", mask, flags)
        self.statistics = False
        self.notes = []
        self.tinker = []
        self.tos = []
        fudge_stratum = {}
        for raw in text.splitlines():
            body = raw.split("#", 1)[0]
            w = body.split()
            if not w:
                continue
            d = w[0]
            if d in ("driftfile", "logfile", "statsdir", "keys", "includefile"):
                continue  # realnet gives each daemon its own files
            if d in _ASSOC and len(w) >= 2:
                host = w[1]
                opts = w[2:]
                if host.startswith("127.127.1."):
                    self.local = {"unit": int(host.split(".")[3]), "stratum": 5, "opts": opts}
                    self.servers.append(("local", None, opts, self.local["unit"]))
                    self.lines.append(" ".join(w))
                    continue
                targets = sc.resolve(host)
                if not targets:
                    try:
                        ipaddress.ip_address(host)
                    except ValueError:
                        dns = [e["name"] for e in sc.norm["dns"]]
                        raise ScenarioError("%s: ntp.conf names '%s', which is no node%s"
                                            % (node.name, host,
                                               " (dns: names are ntpsim only; realnet has "
                                               "no resolver for them)" if host in dns else ""))
                    self.notes.append("%s: %s is no node's address: kept, unroutable"
                                      % (node.name, host))
                    self.servers.append((d, host, opts, None))
                    self.lines.append(" ".join(w))
                    continue
                kind = "server" if d == "pool" else d
                for t in targets:
                    if t is node:
                        continue
                    self.servers.append((kind, t.real, opts, None))
                    self.lines.append(" ".join([kind, t.real] + opts))
                continue
            if d == "refclock" and len(w) >= 2 and w[1] == "local":
                opts = w[2:]
                unit = 0
                st = 5
                rest = []
                i = 0
                while i < len(opts):
                    if opts[i] == "unit" and i + 1 < len(opts):
                        unit = int(opts[i + 1])
                        i += 2
                    elif opts[i] == "stratum" and i + 1 < len(opts):
                        st = int(opts[i + 1])
                        i += 2
                    else:
                        rest.append(opts[i])
                        i += 1
                self.local = {"unit": unit, "stratum": st, "opts": rest}
                self.servers.append(("local", None, rest, unit))
                self.lines.append(" ".join(w))
                continue
            if d == "fudge" and len(w) >= 2 and w[1].startswith("127.127.1."):
                unit = int(w[1].split(".")[3])
                for i in range(2, len(w) - 1):
                    if w[i] == "stratum":
                        fudge_stratum[unit] = int(w[i + 1])
                self.lines.append(" ".join(w))
                continue
            if d == "restrict" and len(w) >= 2:
                i = 1
                fam = []
                while i < len(w) and w[i] in ("-4", "-6"):
                    fam.append(w[i])
                    i += 1
                what = w[i] if i < len(w) else "default"
                rest = w[i + 1:]
                mask = None
                if "mask" in rest:
                    j = rest.index("mask")
                    mask = rest[j + 1] if j + 1 < len(rest) else None
                    rest = rest[:j] + rest[j + 2:]
                addr = what
                if what not in ("default", "source"):
                    if "/" in what:
                        a, plen = what.split("/", 1)
                        mask = str(ipaddress.ip_network("0.0.0.0/%s" % plen).netmask) \
                            if ":" not in a else None
                        what = a
                    try:
                        ipaddress.ip_address(what)
                        addr, mask = map_restrict_net(sc, what, mask)
                    except ValueError:
                        addr = what  # a host name: refd and ntpd warn and skip it
                self.restricts.append((addr, mask, rest))
                self.lines.append(" ".join(["restrict"] + fam + [addr]
                                           + (["mask", mask] if mask else []) + rest))
                continue
            if d == "discipline":
                continue  # ntplab's own: node.discipline, as ntpsim resolved it
            if d == "statistics":
                self.statistics = True
            if d == "tinker":
                self.tinker.append(w[1:])
            if d == "tos":
                self.tos.append(w[1:])
            self.lines.append(" ".join(w))
        if self.local is not None and self.local["unit"] in fudge_stratum:
            self.local["stratum"] = fudge_stratum[self.local["unit"]]

    def remote_servers(self):
        return [s for s in self.servers if s[0] != "local"]


def observer_restrict():
    # An observation aid: lets the observer's time probes and mode-6 status
    # reads in, whatever the default restriction is; no node's treatment
    # changes.
    return "restrict %s nomodify notrap nopeer" % OBSERVER


def refd_conf_text(lab, node, conf):
    disc = node.discipline
    lines = list(conf.lines) + (["discipline " + " ".join(disc)] if disc else []) + ["restrict 127.0.0.1", "restrict ::1", observer_restrict(),
                                "driftfile %s" % lab.path(node.name + ".drift"),
                                "logfile %s" % lab.path(node.name + ".log")]
    if conf.statistics:
        sd = lab.path(node.name + "-stats")
        sd.mkdir(exist_ok=True)
        lines.append("statsdir %s/" % sd)
    lines += keys_lines(lab, node)
    return "\n".join(lines) + "\n"


def keys_lines(lab, node):
    """The node's `keys:` text as its own key file, for refd and NTPsec
    (the same ntp.keys(5) format; the conf's own `keys` line was dropped)."""
    if not node.keys:
        return []
    return ["keys %s" % lab.write(node.name + ".keys", node.keys)]


def ntpd_conf_lines(lab, node, conf):
    lines = list(conf.lines)
    notes = []
    disc = node.discipline
    if disc and disc[0] == "ntpd-daemon":
        lines.append("disable kernel")
        notes.append("ntpd: discipline ntpd-daemon is ntpd's 'disable kernel'")
    if disc and disc[0] not in ("ntpd-kernel", "ntpd-daemon"):
        notes.append("ntpd: discipline %s is ntplab's: ntpd runs its default" % disc[0])
    params = dict(zip(disc[1::2], disc[2::2])) if disc else {}
    if "stepout" in params:
        notes.append("ntpd: discipline stepout %s s: ntpd keeps at least its 300 s "
                     "(CLOCK_MINSTEP floors tinker stepout)" % params.pop("stepout"))
    if params:
        notes.append("ntpd: discipline parameters %s: ntpd's are compiled in"
                     % ", ".join(sorted(params)))
    if conf.local is not None:
        lines.append("tos orphanwait 1")
        notes.append("ntpd: 'tos orphanwait 1' added: NTPsec holds LOCAL(0) back for "
                     "orphanwait (300 s) otherwise")
    if conf.remote_servers():
        lines.append("disable ntp")
        notes.append("ntpd: 'disable ntp' added: it measures and selects, but its clock "
                     "(the machine's) is never disciplined; its leap stays 11")
    lines += ["restrict 127.0.0.1", observer_restrict()]  # Lab.ntpd adds -l and driftfile
    lines += keys_lines(lab, node)
    if conf.statistics:
        sd = lab.path(node.name + "-stats")
        sd.mkdir(exist_ok=True)
        lines.append("statsdir %s/" % sd)
    return lines, notes


def chrony_conf_lines(node, conf):
    """ntp.conf -> chrony.conf (the subset scenarios use)."""
    lines, notes = [], []
    if node.discipline:
        notes.append("chrony: discipline %s is ntplab's: chronyd runs its own"
                     % " ".join(node.discipline))
    if node.keys:
        notes.append("chrony: 'keys:' not translated (chrony's keyfile differs): chronyd "
                     "runs without authentication")
    for kind, addr, opts, unit in conf.servers:
        if kind == "local":
            continue
        keep = []
        i = 0
        while i < len(opts):
            o = opts[i]
            if o in ("minpoll", "maxpoll", "key", "version") and i + 1 < len(opts):
                if o in ("minpoll", "maxpoll"):
                    keep += [o, opts[i + 1]]
                else:
                    notes.append("chrony: '%s %s' dropped" % (o, opts[i + 1]))
                i += 2
                continue
            if o in ("iburst", "burst", "prefer", "noselect", "trust"):
                keep.append(o)
            elif o == "true":
                keep.append("trust")
            else:
                notes.append("chrony: server option '%s' dropped" % o)
            i += 1
        lines.append(" ".join(["server" if kind != "peer" else "peer", addr] + keep))
    if conf.local is not None:
        # ntpd serves LOCAL(0) at its fudge stratum + 1; chrony's local
        # stratum is the stratum it serves.
        lines.append("local stratum %d" % min(15, conf.local["stratum"] + 1))
        notes.append("chrony: LOCAL(0) fudge stratum %d -> 'local stratum %d' (same served "
                     "stratum)" % (conf.local["stratum"], conf.local["stratum"] + 1))
    serve_default = True
    for addr, mask, flags in conf.restricts:
        deny = "ignore" in flags or "noserve" in flags
        if addr == "default":
            serve_default = not deny
        elif addr in ("source",) or ":" in addr or addr.startswith("127."):
            continue
        else:
            net = addr if mask is None else str(
                ipaddress.ip_network("%s/%s" % (addr, mask), strict=False))
            lines.append("%s %s" % ("deny" if deny else "allow", net))
    if serve_default:
        lines.insert(0, "allow all")
    lines.append("allow %s" % OBSERVER)
    for t in conf.tos:
        if len(t) >= 2 and t[0] == "maxdist":
            lines.append("maxdistance %s" % t[1])
    lines += ["port %d" % CHRONY_SERVE_PORT, "log measurements statistics tracking"]
    if node.big_first_step:
        notes.append("chrony: ntpd -g has no equivalent under -x: the null clock driver "
                     "applies every correction at once (no makestep needed, none possible)")
    return lines, notes


# OpenNTPD's ntp.conf-like options that take an argument (dropped with it)
_OPENNTPD_ARG_OPTS = ("minpoll", "maxpoll", "key", "version", "mode", "ttl", "minsane")
_OPENNTPD_WHY = {
    "iburst": "openntpd queries every 5-9 s until a server is trusted, then about every 30 s",
    "burst": "openntpd sends one query per poll",
    "minpoll": "openntpd chooses its own poll interval (5-9 s, then ~30 s, longer when synced)",
    "maxpoll": "openntpd chooses its own poll interval (5-9 s, then ~30 s, longer when synced)",
    "prefer": "openntpd has no preferred server: every valid one has weight 1 in its median",
    "noselect": "openntpd uses every valid server",
    "true": "openntpd has no truechimer override",
    "key": "openntpd has no symmetric-key authentication",
    "restrict": "openntpd has no access control: with 'listen on *' it answers every client",
    "tinker": "openntpd's discipline has no tunables",
    "tos": "openntpd has no selection tunables",
    "statistics": "openntpd writes no statistics files",
    "fudge": "openntpd has no local clock driver",
}


def openntpd_conf_lines(node, conf, serves=False):
    """ntp.conf -> OpenNTPD ntpd.conf (the subset scenarios use).  Returns
    (lines, notes); raises ScenarioError for a node openntpd cannot be.

    `server`/`peer` lines become `server ADDR` (openntpd has no symmetric
    mode) and a `pool` of a raw address `servers ADDR` (a pool of nodes was
    already expanded into server lines by Conf).  Every option and
    directive openntpd lacks is dropped with one note per name.  A node that
    serves others gets `listen on *`: openntpd answers only once it calls
    itself synced (until then leap 3, stratum 0)."""
    lines, notes, dropped = [], [], []

    def drop(name):
        if name not in dropped:
            dropped.append(name)
            why = _OPENNTPD_WHY.get(name)
            notes.append("openntpd: '%s' dropped%s" % (name, ": " + why if why else
                                                          ": openntpd has no such option"))

    if node.discipline:
        drop("discipline")
    remote = conf.remote_servers()
    if conf.local is not None and not remote:
        raise ScenarioError("node %s: openntpd has no local clock driver (LOCAL(0), "
                            "127.127.1.%d), and it is this node's only source: run it as refd, "
                            "ntpsec or chrony" % (node.name, conf.local["unit"]))
    if conf.local is not None:
        notes.append("openntpd: LOCAL(0) dropped (no local clock driver): it uses its "
                     "servers only, and serves nothing before they sync it")
    for kind, addr, opts, _ in remote:
        if kind == "peer":
            notes.append("openntpd: 'peer %s' -> 'server %s' (no symmetric mode)" % (addr, addr))
        lines.append("%s %s" % ("servers" if kind == "pool" else "server", addr))
        i = 0
        while i < len(opts):
            drop(opts[i])
            i += 2 if opts[i] in _OPENNTPD_ARG_OPTS and i + 1 < len(opts) else 1
    for line in conf.lines:
        w = line.split()
        if not w or w[0] in _ASSOC or (w[0] == "refclock" and w[1:2] == ["local"]) or (
                w[0] == "fudge" and w[1:2] and w[1].startswith("127.127.1.")):
            continue  # the local clock: noted above
        drop(w[0])
    if not remote:
        notes.append("openntpd: no server: it never syncs")
    if serves:
        lines.append("listen on *")
        notes.append("openntpd: 'listen on *' added (other nodes use it): it serves only "
                     "while it calls itself synced, and answers leap 3, stratum 0 before")
    if node.big_first_step:
        notes.append("openntpd: ntpd -g has no equivalent: run without -s, openntpd slews "
                     "every correction (adjtime), which noclockset turns into a no-op")
    return lines, notes


_NTPCTL_PEER_RE = re.compile(
    r"^\s*(?P<sel>\*)?\s*(?P<wt>\d+)\s+(?P<tl>\d+)\s+(?P<st>\d+|-)\s+(?P<next>-?\d+)s\s+"
    r"(?P<poll>-?\d+)s\s+(?:(?P<offset>[-+\d.]+)ms\s+(?P<delay>[-+\d.]+)ms\s+"
    r"(?P<jitter>[-+\d.]+)ms|-+ peer not valid -+)\s*$")


def parse_ntpctl(text):
    """`ntpctl -s all` (OpenNTPD 6.2) -> {"synced", "stratum", "clock_offset",
    "peers_valid", "peers_total", "peers": [...]} or None without a status
    line.  A peer: address, pool (its `servers` name or None), selected
    (ntpctl's '*': the peer openntpd is synced to), weight, trustlevel,
    stratum (0 before its first reply), next and poll (s), valid (trust
    level >= 6), offset, delay, jitter (s; offset = server - local, ntpq's
    sign; None while not valid).  ntpctl's stratum '-' (no usable reply
    yet) reads as 0.  Sensor rows are ignored."""
    out = None
    addr = pool = None
    section = None
    for raw in text.splitlines():
        line = raw.rstrip()
        m = re.match(r"^(\d+)/(\d+) peers valid, (.*)$", line)
        if m:
            rest = m.group(3)
            st = re.search(r"clock synced, stratum (\d+)", rest)
            co = re.search(r"clock offset is ([-+\d.]+)ms", rest)
            out = {"status": line, "peers_valid": int(m.group(1)),
                   "peers_total": int(m.group(2)), "synced": st is not None,
                   "stratum": int(st.group(1)) if st else None,
                   "clock_offset": float(co.group(1)) / 1e3 if co else None, "peers": []}
            continue
        if out is None or not line.strip():
            continue
        if line.strip() in ("peer", "sensor"):
            section = line.strip()
            addr = None
            continue
        if section != "peer" or line.split()[0] == "wt":
            continue
        m = _NTPCTL_PEER_RE.match(line)
        if m is None:
            w = line.split()
            addr = w[0]
            pool = w[3] if len(w) >= 4 and w[1:3] == ["from", "pool"] else None
            continue
        if addr is None:
            continue
        valid = m.group("offset") is not None
        out["peers"].append({
            "address": addr, "pool": pool, "selected": m.group("sel") == "*",
            "weight": int(m.group("wt")), "trustlevel": int(m.group("tl")),
            "stratum": 0 if m.group("st") == "-" else int(m.group("st")),
            "next": int(m.group("next")),
            "poll": int(m.group("poll")), "valid": valid,
            "offset": float(m.group("offset")) / 1e3 if valid else None,
            "delay": float(m.group("delay")) / 1e3 if valid else None,
            "jitter": float(m.group("jitter")) / 1e3 if valid else None})
        addr = None
    return out


def openntpd_row(back, p):
    """One parse_ntpctl peer -> a peer row of the report (ntpq's shape):
    '*' the peer openntpd is synced to, '+' a valid peer (every valid peer
    enters openntpd's median), ' ' one it does not trust (yet)."""
    if p["selected"]:
        tally, reason = "*", "system peer (ntpctl '*': openntpd is synced to it)"
    elif p["valid"]:
        tally, reason = "+", "candidate (valid: trust level %d, in openntpd's median)" % (
            p["trustlevel"])
    elif p["stratum"] == 0:
        tally, reason = " ", ("unreachable (inferred: no reply yet, stratum 0; openntpd trust "
                              "level %d < %d)" % (p["trustlevel"], OPENNTPD_TRUST_VALID))
    else:
        tally, reason = " ", "not valid (openntpd trust level %d < %d: too few good replies)" % (
            p["trustlevel"], OPENNTPD_TRUST_VALID)
    return {"remote": back(p["address"]), "tally": tally, "stratum": p["stratum"],
            "reach": None, "trustlevel": p["trustlevel"], "offset": p["offset"],
            "delay": p["delay"], "jitter": p["jitter"], "reason": reason}


# --------------------------------------------------------------------------
# network: links and firewall, as ntpsim resolved them (each link's model
# complete, merged on the default; its tc-netem text, or what tc cannot say)


def link_spec(params):
    """A normalized link model -> (tc-netem text for ntpnetem, None), or
    (None, reason) when tc has no word for one of its settings."""
    miss = params["tc_missing"]
    if miss == "trace":
        return None, "delay trace"
    if miss:
        return None, ("ntplab's link field '%s' (ntpsim only: ntpnetem takes tc-netem "
                      "syntax, which has no word for it)" % miss)
    return params["tc"], None


def _covers(names, n):
    return names == "any" or n.name in names


def file_link(sc, a, b):
    """(params, source) the file gives the ordered pair of nodes (a, b):
    the last network.links entry that matches (ntpsim lists a `both`
    entry's reverse as an entry of its own), else network.default."""
    net = sc.norm["network"]
    chosen = (net["default"], "network.default")
    for e in net["links"]:
        if _covers(e["from"], a) and _covers(e["to"], b):
            chosen = (e["params"], "network.links line %s" % e["line"])
    return chosen


def effective_links(sc):
    """{(src name, dst name): (spec, why, source, params)}; spec None: no
    shaping."""
    out = {}
    for a in sc.nodes:
        for b in sc.nodes:
            if a is not b:
                params, src = file_link(sc, a, b)
                spec, why = link_spec(params)
                out[(a.name, b.name)] = (spec or None, why, src, params)
    return out


def _impaired(p):
    """A link model does more than delay packets."""
    return p["down"] or p["ge"] or any(p[k] > 0 for k in ("loss", "duplicate", "reorder", "rate"))


def _query_events(sc):
    return [e for e in sc.norm["events"] if e["kind"] == "query"]


def _query_targets(sc, q):
    return [t for s in server_names(q) for t in sc.resolve(s)]


def talking_pairs(sc, confs):
    """Ordered pairs that exchange NTP packets (association either way, or a
    query node asking a server)."""
    pairs = set()
    for n in sc.nodes:
        if n.kind == "query":
            for s in n.q_servers:
                for t in sc.resolve(s):
                    pairs.add((n.name, t.name))
                    pairs.add((t.name, n.name))
            continue
        for kind, addr, _, _ in confs[n.name].remote_servers():
            t = sc.real_to_node.get(addr)
            if t is not None:
                pairs.add((n.name, t.name))
                pairs.add((t.name, n.name))
    for e in _query_events(sc):
        for t in _query_targets(sc, e["query"]):
            for name in e["nodes"]:
                pairs.add((name, t.name))
                pairs.add((t.name, name))
    return pairs


def served_nodes(sc, confs):
    """Names of the nodes that others use as a server (server/peer/pool
    lines, query nodes and query events)."""
    out = set()
    for n in sc.nodes:
        if n.kind == "query":
            for s in n.q_servers:
                out.update(t.name for t in sc.resolve(s))
            continue
        for kind, addr, _, _ in confs[n.name].remote_servers():
            t = sc.real_to_node.get(addr)
            if t is not None and t is not n:
                out.add(t.name)
                if kind == "peer":
                    out.add(n.name)  # symmetric: each serves the other
    for e in _query_events(sc):
        out.update(t.name for t in _query_targets(sc, e["query"]))
    return out


def firewall_rules(sc):
    """The normalized firewall, each rule's ends with the nodes they cover
    (None: any)."""
    return [{"name": r["name"], "src": r["src"], "dst": r["dst"], "proto": r["proto"],
             "sport": r["sport"], "dport": r["dport"], "action": r["action"],
             "enabled": r["enabled"], "line": r["line"], "src_nodes": r["src_nodes"],
             "dst_nodes": r["dst_nodes"]} for r in sc.norm["firewall"]]


def _endpoint(sc, names):
    """A rule end's nodes (None: any) -> ('any', None) | ('nodes', [Node])."""
    if names is None:
        return "any", None
    return "nodes", [sc.by_name[x] for x in names]


# --------------------------------------------------------------------------
# the run


class RealRun:
    """Runs one scenario on a Lab (ntplab_net.Lab); the caller cleans the
    lab up (the pytest fixture, or main())."""

    def __init__(self, sc, lab, time_scale=None, impl=None, seed=None, log=None,
                 add_iburst=True, sample_interval=SAMPLE_INTERVAL):
        self.sc = sc
        self.lab = lab
        self.k = float(sc.real_time_scale if time_scale is None else time_scale)
        self.seed = sc.seed if seed is None else int(seed)
        self.log = log or (lambda msg: None)
        self.sample_interval = sample_interval
        self.notes = []
        self.skipped = []
        self.ctl_dir = None     # short directory for refd control sockets (ctl_path)
        self.procs = {}         # node name -> Proc
        self.socks = {}         # chrony node -> command socket
        self.ns = {}            # node name -> namespace
        self.shapers = {}       # (src, dst) -> dict
        self.queries = {}       # node name -> list of verdicts
        self.chrony_samples = {}
        self.chrony_peer_samples = {}
        self.openntpd_samples = {}      # node -> [(t, parse_ntpctl() or None)]
        self.openntpd_peer_samples = {}  # node -> [(t, [peer rows])]
        self.drops = {}         # sender node name -> packets dropped by filters
        self.sublabs = {}       # chrony node -> its Lab (own directory)
        self.stopped_at = {}
        self.events_log = []
        self.traces = {}        # node name -> its NODE.trace.csv text
        self.fw = firewall_rules(sc)
        self.part = {n.name: 0 for n in sc.nodes}
        # The scaled file is an ntpsim scenario (--sim runs it); what runs
        # here is that file as ntpsim loads it.
        if len(sc.nodes) > MAX_REAL_NODES:
            raise ScenarioError("%d nodes: the real world runs at most %d (one namespace and "
                                "daemon each)" % (len(sc.nodes), MAX_REAL_NODES))
        self.scaled, self.scale_notes = scale_scenario(sc.data, self.k, add_iburst)
        self.norm = sc.norm if self.k <= 1 else normalize_data(self.scaled)
        if self.k > 1:  # it was loaded from a temporary copy of scaled.yaml
            self.norm["file"] = "%s, time scale %g" % (sc.path, self.k)
        self.duration = self.norm["duration"]
        if self.duration > 3500:
            raise ScenarioError("%.0f s real run: at most 3500 s (use --time-scale)"
                                % self.duration)
        for n in sc.nodes:
            n.impl = (impl or {}).get(n.name) or (impl or {}).get(n.template) or \
                sc.real_impl.get(n.name) or sc.real_impl.get(n.template) or n.impl or "refd"
            ok = IMPLS_QUERY if n.kind == "query" else IMPLS_HOST
            if n.impl not in ok:
                raise ScenarioError("node %s (kind %s): impl '%s' not one of %s"
                                    % (n.name, n.kind, n.impl, ", ".join(ok)))
            if n.impl != "refd" and n.fault_spec not in (None, "none"):
                raise ScenarioError("node %s: a fault from the start needs refd (--fault); "
                                    "%s cannot be made to misbehave" % (n.name, n.impl))
            if n.impl == "ntpsec" and (n.clock_offset or n.clock_freq):
                raise ScenarioError("node %s: NTPsec ntpd cannot run with a clock offset or "
                                    "frequency error (libfaketime breaks it: kernel receive "
                                    "stamps are real); use refd or chrony" % n.name)
            if n.impl == "openntpd" and (n.clock_offset or n.clock_freq):
                # measured: FAKETIME=+0.5s -> "reply from ...: negative delay
                # -0.499953s": its T4 is the kernel's SO_TIMESTAMP (real time),
                # T1 the faked clock, as with NTPsec
                raise ScenarioError("node %s: openntpd cannot run with a clock offset or "
                                    "frequency error (libfaketime breaks it: its receive stamps "
                                    "come from the kernel, its transmit stamps from the faked "
                                    "clock: 'negative delay'); use refd or chrony" % n.name)
            if n.clock_extra:
                self.notes.append("%s: clock %s not reproduced (refd's virtual clock and "
                                  "libfaketime have offset and frequency only)"
                                  % (n.name, ", ".join(n.clock_extra)))
        # per node, the scaled scenario's fields
        for n, d in zip(sc.nodes, self.norm["nodes"]):
            n.conf_scaled = d["conf"] or ""
            n.discipline = discipline_words(d)
            n.start_scaled = d["start"]
            n.q_at_scaled = list(d["query_at"] or [0.0])
        for n in sc.nodes:
            slew = abs(n.clock_offset) / 500e-6  # s at ntpd's 500 ppm slew limit
            stepout = DEFAULT_STEPOUT / self.k
            if n.kind == "host" and self.k > 1 and n.drift_ppm is None and \
                    0 < abs(n.clock_offset) < STEP_THRESHOLD and stepout < slew:
                self.scale_notes.append(
                    "%s: the scaled stepout (%g s) is shorter than its first slew (%s at "
                    "500 ppm takes %.0f s): the FREQ-state measurement (offset/mu, as ntpd's "
                    "direct_freq) absorbs the rest of the slew, in both worlds"
                    % (n.name, stepout, fmt_s(abs(n.clock_offset)), slew))
        map_addresses(sc)
        self.confs = {n.name: Conf(sc, n, n.conf_scaled) for n in sc.nodes if n.kind == "host"}
        for c in self.confs.values():
            self.notes += c.notes
        self.served = served_nodes(sc, self.confs)
        for n in sc.nodes:
            if n.impl == "openntpd":
                openntpd_conf_lines(n, self.confs[n.name], n.name in self.served)  # refusals
                for path, what in ((nl.openntpd_bin(), "OpenNTPD (scripts/install-deps.sh "
                                    "unpacks it into $NTPLAB_BUILD/daemons/openntpd)"),
                                   (nl.noclockset_lib(), "the noclockset shim (built by CMake "
                                    "from tests/interop/shim)")):
                    if not path.exists():
                        raise ScenarioError("node %s: impl openntpd needs %s, not found at %s"
                                            % (n.name, what, path))

    # -- small helpers
    def t(self):
        return time.monotonic() - self.t0_mono

    def ev(self, what):
        t = self.t() if hasattr(self, "t0_mono") else 0.0
        self.events_log.append((round(t, 3), what))
        self.log("%8.3f %s" % (t, what))

    def back(self, real):
        """A lab address -> the scenario's address (for reports)."""
        return self.sc.real_to_addr.get(real, real)

    def back_text(self, text):
        """Every lab address in a text -> the scenario's address."""
        return re.sub(r"10\.200\.\d+\.\d+", lambda m: self.back(m.group(0)), text)

    def nsexec(self, ns, argv, check=True, input_text=None, timeout=15):
        full = ["ip", "netns", "exec", ns] + [str(a) for a in argv]
        r = subprocess.run(full, capture_output=True, text=True, timeout=timeout,
                           input=input_text, stdin=None if input_text is not None
                           else subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise RuntimeError("%s failed (rc %d): %s" % (" ".join(full), r.returncode,
                                                          r.stderr.strip()))
        return r

    # -- topology
    def build(self):
        """A router namespace with one veth per node (and one for the
        observer): every node has its 10.200.x.y/16 on eth0 and reaches
        the others through the router, which answers ARP for them (proxy
        ARP) and forwards.  The links' impairments sit in the router's
        FORWARD chain, between the sender's transmit timestamp and the
        receiver's receive timestamp, as a link sits between them in ntpsim.
        (Shaping a sender's own egress would hide the delay from daemons
        that take kernel transmit timestamps, such as chronyd: their
        requests' delay would vanish from the measured round trip.)"""
        lab = self.lab
        self.router = lab.ns()
        r = self.router
        for key, val in (("net.ipv4.ip_forward", 1), ("net.ipv4.conf.all.proxy_arp", 1),
                         ("net.ipv4.conf.all.rp_filter", 0),
                         ("net.ipv4.conf.all.send_redirects", 0)):
            self.nsexec(r, ["sysctl", "-q", "-w", "%s=%d" % (key, val)])
        # a source address for the router's own ARP requests
        nl.sh(["ip", "-n", r, "addr", "add", "10.200.255.1/32", "dev", "lo"])
        for i, n in enumerate(self.sc.nodes):
            self.ns[n.name] = self._attach(lab.ns(), "v%d" % i, n.real)
        self.obs = self._attach(lab.ns(), "vobs", OBSERVER)
        for n in self.sc.nodes:
            self._nft_base(self.ns[n.name])
        self.ev("topology: router %s, %d node namespaces, observer %s at %s" % (
            r, len(self.sc.nodes), self.obs, OBSERVER))

    def _attach(self, ns, port, addr):
        r = self.router
        nl.sh(["ip", "link", "add", port, "netns", r, "type", "veth", "peer", "name",
               "eth0", "netns", ns])
        nl.sh(["ip", "-n", r, "link", "set", port, "up"])
        self.nsexec(r, ["sysctl", "-q", "-w", "net.ipv4.conf.%s.proxy_arp=1" % port])
        # Linux holds a proxied ARP answer for up to proxy_delay (0.8 s by
        # default), which would show as a 0.8 s first round trip
        self.nsexec(r, ["sysctl", "-q", "-w", "net.ipv4.neigh.%s.proxy_delay=0" % port])
        nl.sh(["ip", "-n", r, "route", "add", "%s/32" % addr, "dev", port])
        nl.sh(["ip", "-n", ns, "addr", "add", "%s/%d" % (addr, LAB_PLEN), "dev", "eth0"])
        nl.sh(["ip", "-n", ns, "link", "set", "eth0", "up"])
        for where in (ns, r):
            dev = "eth0" if where == ns else port
            nl.wait_for(lambda where=where, dev=dev: "LOWER_UP" in nl.sh(
                ["ip", "-n", where, "link", "show", dev]).stdout,
                "%s %s carrier" % (where, dev), tries=50, interval=0.1)
        return ns

    def _nft_base(self, ns):
        """Per node: the scenario's filter (input/output, rebuilt on every
        firewall or partition event) and packet counters (observer
        excluded)."""
        lab_net = "10.200.0.0/16"
        script = """
table inet ntplab {
  chain count_out { type filter hook output priority -10; policy accept;
    ip daddr %(net)s ip daddr != %(obs)s meta l4proto udp counter
  }
  chain filter_in { type filter hook input priority 0; policy accept; }
  chain filter_out { type filter hook output priority 0; policy accept; }
  chain count_in { type filter hook input priority 10; policy accept;
    ip saddr %(net)s ip saddr != %(obs)s meta l4proto udp counter
  }
}
""" % {"net": lab_net, "obs": OBSERVER}
        self.nsexec(ns, [NFT, "-f", "-"], input_text=script)

    # -- firewall and partitions
    def _nft_match(self, r, kind, nodes, direction):
        m = []
        if kind == "nodes":
            field = "saddr" if direction == "in" else "daddr"
            m.append("ip %s { %s }" % (field, ", ".join(n.real for n in nodes)))
        if r["proto"] == "udp":
            m.append("meta l4proto udp")
            if r["sport"]:
                m.append("udp sport %d" % r["sport"])
            if r["dport"]:
                m.append("udp dport %d" % r["dport"])
        return m

    def apply_filters(self):
        """Rebuild every node's filter chains from the enabled rules, in
        scenario order (first match decides), partitions first (ntpsim
        checks the partition before the firewall).  A rule with a node as
        its source sits on that node's egress; one from any source sits on
        the destination's ingress, expanded per sending node so that every
        drop is counted against its sender, as ntpsim counts it.  The
        observer is exempt (it only watches)."""
        sc = self.sc
        per_in = {n.name: [] for n in sc.nodes}
        per_out = {n.name: [] for n in sc.nodes}
        for n in sc.nodes:
            for m in sc.nodes:
                if m is not n and self.part[m.name] != self.part[n.name]:
                    per_in[n.name].append('ip saddr %s counter drop comment "part|%s"'
                                          % (m.real, m.name))
        for r in self.fw:
            if not r["enabled"]:
                continue
            skind, snodes = _endpoint(sc, r["src_nodes"])
            dkind, dnodes = _endpoint(sc, r["dst_nodes"])
            verdict = {"drop": "drop", "reject": "reject", "accept": "accept"}[r["action"]]
            if skind == "nodes":
                for src in snodes:
                    if dkind == "nodes" and not [d for d in dnodes if d is not src]:
                        continue
                    m = ["ip daddr != %s" % OBSERVER] + self._nft_match(r, dkind, dnodes, "out")
                    per_out[src.name].append(" ".join(m + ['counter %s comment "fw|%s|%s"'
                                                           % (verdict, r["name"], src.name)]))
            else:
                targets = sc.nodes if dkind == "any" else dnodes
                for d in targets:
                    m = self._nft_match(r, "any", None, "in")
                    for src in sc.nodes:
                        if src is not d:
                            per_in[d.name].append(" ".join(
                                ["ip saddr %s" % src.real] + m +
                                ['counter %s comment "fw|%s|%s"' % (verdict, r["name"],
                                                                    src.name)]))
                    per_in[d.name].append(" ".join(
                        ["ip saddr != %s" % OBSERVER] + m +
                        ['counter %s comment "fw|%s|-"' % (verdict, r["name"])]))
        for n in sc.nodes:
            lines = ["flush chain inet ntplab filter_in", "flush chain inet ntplab filter_out"]
            lines += ["add rule inet ntplab filter_in %s" % x for x in per_in[n.name]]
            lines += ["add rule inet ntplab filter_out %s" % x for x in per_out[n.name]]
            self.collect_drops(n)  # the flush below restarts the counters
            self.nsexec(self.ns[n.name], [NFT, "-f", "-"], input_text="\n".join(lines) + "\n")

    def collect_drops(self, n):
        """Add up the drop counters of n's filter chains before they are
        flushed: {sender name: packets} in self.drops."""
        r = self.nsexec(self.ns[n.name], [NFT, "list", "table", "inet", "ntplab"], check=False)
        for pk, verdict, comment in re.findall(
                r'counter packets (\d+) bytes \d+ (\w+)[^\n]*comment "([^"]*)"', r.stdout):
            if verdict == "accept":
                continue
            sender = comment.split("|")[-1]
            self.drops[sender] = self.drops.get(sender, 0) + int(pk)

    # -- shaping
    def shaping_plan(self):
        plan = {}
        links = effective_links(self.sc)
        pairs = talking_pairs(self.sc, self.confs)
        for (a, b), (spec, why, src, params) in sorted(links.items()):
            if (a, b) not in pairs or spec is None:
                continue
            if why:
                self.notes.append("link %s->%s (%s): %s cannot be shaped for real: not applied"
                                  % (a, b, src, why))
                continue
            jitter = params["jitter"] if params["dist"] != "constant" else 0.0
            if not _impaired(params) and params["delay"] + jitter < NETEM_MIN_DELAY:
                self.notes.append(
                    "link %s->%s '%s' (%s) not shaped: below %s, ntpnetem's user-space "
                    "release is late by 0.1-0.3 ms (docs/ntpnetem.8.md), as much as the "
                    "delay itself; the veth adds ~0.03 ms" % (a, b, spec, src,
                                                             fmt_s(NETEM_MIN_DELAY)))
                continue
            plan[(a, b)] = spec
        return plan

    def start_shaper(self, a, b, spec):
        binary = ntpnetem_bin()
        if not binary.exists():
            raise ScenarioError("ntpnetem not built at %s, but link %s->%s needs '%s'"
                                % (binary, a, b, spec))
        chk = nl.run([binary, "--print-tc", "eth0", "--spec", spec], timeout=5)
        if chk.returncode != 0:
            raise ScenarioError("link %s->%s: ntpnetem rejects '%s': %s"
                                % (a, b, spec, (chk.stdout + chk.stderr).strip()))
        ns = self.router
        old = self.shapers.get((a, b))
        queue = old["queue"] if old else 1 + len(self.shapers)
        gen = old["gen"] + 1 if old else 0
        name = "ntpnetem-%s-%s-%d" % (a, b, gen)
        stats = self.lab.path(name + ".json")
        argv = [binary, "--queue", queue, "--spec", spec, "--seed", self.seed,
                "--name", "link:%s->%s" % (a, b),
                "--duration", int(min(3600, self.duration + 120)), "--stats", stats,
                "--priority", 10]
        p = self.lab.spawn(name, argv, ns=ns)
        nl.wait_for(lambda: "ntpnetem: queue" in p.log_text() or not p.alive(),
                    "%s bound to queue %d" % (name, queue), tries=100, interval=0.05,
                    last=p.log_text)
        if not p.alive():
            raise RuntimeError("ntpnetem %s->%s exited: %s" % (a, b, p.log_text()))
        if not old:
            # iptables' NFQUEUE target: this kernel has no nft 'queue' expression
            # (nft_queue), only xt_NFQUEUE
            self.nsexec(ns, [IPTABLES, "-A", "FORWARD", "-p", "udp", "-s",
                             self.sc.by_name[a].real, "-d", self.sc.by_name[b].real, "-j",
                             "NFQUEUE", "--queue-num", str(queue), "--queue-bypass"])
        self.shapers[(a, b)] = {"proc": p, "stats": stats, "queue": queue, "spec": spec,
                                "gen": gen, "history": (old["history"] if old else [])}
        self.ev("link %s->%s shaped by ntpnetem queue %d: %s" % (a, b, queue, spec))

    def stop_shaper(self, key):
        s = self.shapers[key]
        p = s["proc"]
        if p.alive():
            p.signal(signal.SIGTERM)
            try:
                p.popen.wait(5)
            except subprocess.TimeoutExpired:
                p.stop()
        try:
            st = json.loads(Path(s["stats"]).read_text())
        except (OSError, ValueError):
            st = None
        s["history"].append({"spec": s["spec"], "stats": st})

    # -- daemons
    def start_node(self, n, restart_offset=None):
        lab, ns = self.lab, self.ns[n.name]
        conf = self.confs[n.name]
        tag = n.name if n.name not in self.stopped_at else "%s-r%d" % (
            n.name, len([1 for k in self.procs if k.startswith(n.name)]))
        if n.impl == "refd":
            if restart_offset is None:
                drift = lab.path(n.name + ".drift")
                if n.drift_ppm is not None:
                    drift.write_text("%.3f\n" % float(n.drift_ppm))
                elif drift.exists():
                    drift.unlink()
            off = n.clock_offset if restart_offset is None else restart_offset
            extra = ["--clock-offset", "%.9f" % off, "--clock-freq", "%.6f" % (n.clock_freq * 1e6),
                     "-d", "--control-remote",  # mode 6 for the observer (restrict permits it)
                     "--ctl", str(self.ctl_path(n))]  # run-time step, freq, fault events
            if n.fault_spec:
                extra += ["--fault", n.fault_spec]
            if n.big_first_step:
                extra.append("-g")
            p = lab.refd(refd_conf_text(lab, n, conf), ns=ns, name=tag, extra=extra)
        elif n.impl == "ntpsec":
            if n.drift_ppm is not None and restart_offset is None:
                lab.write(n.name + ".drift", "%.3f\n" % float(n.drift_ppm))
            lines, notes = ntpd_conf_lines(lab, n, conf)
            if restart_offset is None:
                self.notes += ["%s: %s" % (n.name, x) for x in notes]
            p = lab.ntpd(lines, ns=ns, name=n.name)
        elif n.impl == "openntpd":
            lines, notes = openntpd_conf_lines(n, conf, n.name in self.served)
            if restart_offset is None:
                self.notes += ["%s: %s" % (n.name, x) for x in notes]
            p = lab.openntpd(lines, ns=ns, name=tag, drift_ppm=n.drift_ppm)
        else:
            lines, notes = chrony_conf_lines(n, conf)
            if restart_offset is None:
                self.notes += ["%s: %s" % (n.name, x) for x in notes]
                if n.drift_ppm is not None:
                    self.node_dir(n).mkdir(exist_ok=True)
                    (self.node_dir(n) / (n.name + ".drift")).write_text(
                        "%.6f 1.000\n" % float(n.drift_ppm))
            env = None
            if n.clock_offset or n.clock_freq:
                env = {"LD_PRELOAD": FAKETIME_LIB, "FAKETIME": self.faketime(n)}
            sub = nl.Lab(self.node_dir(n), name=n.name)
            stale = sub.path(n.name + ".sock")
            if stale.exists():
                stale.unlink()
            try:
                p, sock = sub.chronyd(lines, ns=ns, name=n.name, env=env)
            finally:
                lab.procs += sub.procs  # the run's lab stops them
            self.socks[n.name] = sock
            self.sublabs[n.name] = sub
        self.procs[n.name] = p
        self.ev("%s started: %s (pid %d)%s" % (n.name, n.impl, p.pid,
                                               "" if restart_offset is None else
                                               " with clock offset %+.6f s" % restart_offset))

    def faketime(self, n):
        spec = "%+.6fs" % n.clock_offset
        if n.clock_freq:
            spec += " x%.12f" % (1.0 + n.clock_freq)
        return spec

    def stop_node(self, n):
        p = self.procs.get(n.name)
        if p is None or not p.alive():
            return
        off = None
        if n.impl == "refd":
            r = self.probe(n)
            if r.get("offset") is not None:
                off = r["offset"]
        p.stop()
        self.stopped_at[n.name] = (self.t(), off)
        self.ev("%s stopped (SIGTERM)%s" % (n.name, "" if off is None
                                             else ", its clock was %+.6f s off" % off))

    def restart_node(self, n):
        if n.name in self.procs and self.procs[n.name].alive():
            return
        t_stop, off = self.stopped_at.get(n.name, (None, None))
        ro = None
        if n.impl == "refd":
            # ntpsim's stopped node keeps its clock running with the last
            # frequency; refd's virtual clock dies with the process, so it is
            # re-created at the offset it had plus what the residual
            # frequency error (oscillator + drift-file correction) adds.
            drift = 0.0
            try:
                drift = float(self.lab.path(n.name + ".drift").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                pass
            ro = (off if off is not None else n.clock_offset) + \
                (n.clock_freq + drift * 1e-6) * (self.t() - (t_stop or self.t()))
        self.start_node(n, restart_offset=ro if ro is not None else n.clock_offset)

    def probe(self, n):
        r = nl.run([nl.PYTHON, Path(__file__).resolve(), "--probe", n.real], ns=self.obs,
                   timeout=5)
        try:
            return json.loads(r.stdout)
        except ValueError:
            return {}

    # -- queries
    def run_query(self, n, servers, q):
        """One-shot query from node n (refd -Q or ntpdig; never sets a clock).
        Returns the ntpdate-style verdict line."""
        ns = self.ns[n.name]
        t_start = round(self.t(), 3)
        real = []
        for s in servers:
            t = self.sc.resolve(s)
            real += [x.real for x in t] if t else [str(s)]
        if q["set"] and not q["unprivileged"]:
            daemon = self.procs.get(n.name)
            if daemon is not None and daemon.alive():
                # ntpdate (no -u) binds port 123; here a second refd tries to
                # bind it, read-only, and says who holds it.
                conf = self.lab.write(n.name + "-ntpdate.conf", "server 127.127.1.0\n")
                r = nl.run([nl.refd_bin(), "-c", conf, "-n", "-p", "123"], ns=ns, timeout=5)
                out = (r.stdout + r.stderr).strip().splitlines()
                if r.returncode != 0 and any("in use" in x for x in out):
                    verdict = "the NTP socket is in use, exiting"
                    self.ev("%s query (set, port 123): %s [%s]" % (n.name, verdict, out[-1]))
                    self.queries.setdefault(n.name, []).append(
                        {"t": t_start, "result": verdict, "detail": out[-1],
                         "how": "refd -p 123 beside the running daemon"})
                    return verdict
            self.notes.append("%s: query with set: true was run as a query only (refd -Q): "
                              "no clock is ever set" % n.name)
        samples = max(1, min(8, q["samples"]))
        timeout = max(1, int(math.ceil(q["interval"] * samples + q["timeout"])))
        if n.impl == "ntpdig":
            env = {"LD_PRELOAD": FAKETIME_LIB, "FAKETIME": self.faketime(n)} \
                if (n.clock_offset or n.clock_freq) else None
            r = nl.run([nl.NTPDIG, "-j", "-t", str(timeout), "-p", str(samples)] + real,
                       ns=ns, timeout=timeout + 8, env=env)
            verdict = self._ntpdig_verdict(r)
        else:
            argv = [nl.refd_bin(), "-Q"] + real + ["--json", "-t", str(min(60, timeout)),
                                                   "-n", str(samples)]
            if n.clock_offset:
                argv += ["--clock-offset", "%.9f" % n.clock_offset]
            r = nl.run(argv, ns=ns, timeout=timeout + 8)
            verdict = self._refd_verdict(r)
        self.ev("%s query %s (started at %.3f s): %s" % (
            n.name, ",".join(str(s) for s in servers), t_start, verdict))
        self.queries.setdefault(n.name, []).append(
            {"t": t_start, "result": verdict,
             "raw": (r.stdout + r.stderr).strip()[-600:]})
        return verdict

    def _refd_verdict(self, r):
        try:
            d = json.loads(r.stdout)
        except ValueError:
            return "no server suitable for synchronization found (refd -Q: %s)" % (
                (r.stdout + r.stderr).strip()[-200:])
        if d.get("result") in ("adjust", "step"):
            return "%s time server %s offset %+.6f sec" % (d["result"], self.back(d.get("server")),
                                                          d.get("offset", 0.0))
        return "no server suitable for synchronization found"

    def _ntpdig_verdict(self, r):
        best = None
        for line in r.stdout.splitlines():
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if best is None or abs(d.get("offset", 0)) < abs(best.get("offset", 0)):
                best = d
        if best is None:
            return "no server suitable for synchronization found"
        off = best["offset"]  # server - local, the correction, as ntpdate prints it
        return "%s time server %s offset %+.6f sec" % ("step" if abs(off) >= 0.5 else "adjust",
                                                      self.back(best.get("ip", "?")), off)

    # -- the timeline
    def schedule(self):
        ev = []
        seq = 0

        def add(t, kind, arg):
            nonlocal seq
            ev.append((t, seq, kind, arg))
            seq += 1

        for n in self.sc.nodes:
            if n.kind == "host":
                add(n.start_scaled, "start", n)
            else:
                for t in n.q_at_scaled:
                    add(t, "query-node", n)
        # the scaled scenario's events, with the lines of the file's own
        # (ntpsim lists both in the same order)
        for e, oe in zip(self.norm["events"], self.sc.norm["events"]):
            e = dict(e, line=oe["line"])
            times = [e["at"]]
            if e["every"]:
                until = min(e["until"] or self.duration, self.duration)
                t = e["at"] + e["every"]
                while t <= until + 1e-9 and len(times) < 10000:
                    times.append(t)
                    t += e["every"]
            for t in times:
                add(t, "event", e)
        ev.sort(key=lambda x: (x[0], x[1]))
        return ev

    def do_event(self, e):
        sc = self.sc
        what = e["kind"]
        line = e["line"]
        if what in ("firewall-on", "firewall-off"):
            rule = e["rule_name"]
            for r in self.fw:
                if r["name"] == rule:
                    r["enabled"] = what == "firewall-on"
            self.apply_filters()
            self.ev("firewall rule %s %s" % (rule, "on" if what == "firewall-on" else "off"))
        elif what == "partition":
            nxt = max(self.part.values()) + 1
            for g in e["groups"]:
                for name in g:
                    self.part[name] = nxt
                nxt += 1
            self.apply_filters()
            self.ev("network partitioned: %s" % e["groups"])
        elif what == "heal":
            for k in self.part:
                self.part[k] = 0
            self.apply_filters()
            self.ev("partition healed")
        elif what == "stop":
            for n in sc.named(e["nodes"]):
                self.stop_node(n)
        elif what == "start":
            for n in sc.named(e["nodes"]):
                self.restart_node(n)
        elif what == "link":
            self.change_links(e)
        elif what == "query":
            for n in sc.named(e["nodes"]):
                self.run_query(n, server_names(e["query"]), query_fields(e["query"]))
        elif what in ("step", "freq", "fault"):
            for n in sc.named(e["nodes"]):
                self.disturb(n, what, e, line)
        else:
            self.skip_event(line, what, "unknown event")

    def change_links(self, e):
        """A link event: ntpsim gives its links the model it lists (the
        file's model for them, changed by the event's fields)."""
        sc = self.sc
        pairs = [(a.name, b.name) for a in sc.named(e["from"]) for b in sc.named(e["to"])
                 if a is not b]
        if e["both"]:
            pairs += [(b, a) for a, b in pairs]
        spec, why = link_spec(e["params"])
        if why:
            self.skip_event(e["line"], "link", "%s cannot be shaped for real" % why)
            return
        for key in pairs:
            if key in self.shapers:
                self.stop_shaper(key)
                if spec:
                    self.start_shaper(key[0], key[1], spec)
            elif spec and key in talking_pairs(sc, self.confs):
                self.start_shaper(key[0], key[1], spec)

    def disturb(self, n, what, e, line):
        """A step, freq or fault event on node n: refd takes it on its control
        socket (refd_ctl); the other daemons' clocks and replies cannot be
        changed from outside while they run."""
        if n.impl != "refd":
            self.skip_event(line, what, "%s runs %s: only refd takes a run-time %s (its "
                            "--ctl socket); libfaketime and the real daemons fix a clock's "
                            "offset and rate at start" % (n.name, n.impl, what))
            return
        p = self.procs.get(n.name)
        if p is None or not p.alive():
            self.ev("event %s on %s (line %s): daemon not running, nothing to do"
                    % (what, n.name, line))
            return
        if what == "step":
            cmd = "step %.9f" % e["by"]
        elif what == "freq":
            cmd = "freq %.12g" % e["freq"]
        else:
            cmd = "fault " + fault_spec(e["fault"])
        answer = ctl_command(self.ctl_path(n), cmd)
        if not answer.startswith("ok: "):
            raise ScenarioError("event %s (line %s) on %s: refd answered %r to %r"
                                % (what, line, n.name, answer, cmd))
        # a restart (start event) keeps what the events made of the node
        if what == "freq":
            n.clock_freq = e["freq"]
        elif what == "fault":
            n.fault_spec = None if cmd == "fault none" else cmd[len("fault "):]
        self.ev("%s: %s -> %s" % (n.name, cmd, answer))

    def ctl_path(self, n):
        """refd's control socket for node n: in the lab directory, or in a
        short private directory when that path would not fit in sun_path."""
        p = self.lab.path(n.name + ".ctl")
        if len(str(p)) + 16 >= 108:  # + the client's ".c<pid>" suffix
            if self.ctl_dir is None:
                self.ctl_dir = Path(tempfile.mkdtemp(prefix="rnctl-"))
            p = self.ctl_dir / (n.name + ".ctl")
        return p

    def skip_event(self, line, what, why):
        self.skipped.append({"line": line, "what": "event %s" % what, "reason": why})
        self.ev("event %s (line %s) skipped: %s" % (what, line, why))

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

    def run(self):
        """Build, run the timeline, read out.  Returns the report dict."""
        wall0 = time.monotonic()
        self.build()
        self.apply_filters()
        for (a, b), spec in sorted(self.shaping_plan().items()):
            self.start_shaper(a, b, spec)
        self.samples_path = self.lab.path("observer.jsonl")
        alias = self.lab.path("realnet-sampler")
        if not alias.exists():
            os.symlink(nl.PYTHON, str(alias))
        # an openntpd that serves no node does not listen: nothing to probe
        targets = ["%s=%s%s" % (n.name, n.real, ":m6" if n.impl in ("refd", "ntpsec") else "")
                   for n in self.sc.nodes if n.kind == "host" and
                   (n.impl != "openntpd" or n.name in self.served)]
        self.t0_mono = time.monotonic()
        self.t0_wall = time.time()
        if targets:
            self.sampler = self.lab.spawn("observer", [
                alias, Path(__file__).resolve(), "--sampler", "--out", self.samples_path,
                "--t0", "%.6f" % self.t0_wall, "--interval", self.sample_interval,
                "--duration", self.duration + 5] + targets, ns=self.obs)
        self.ev("scenario time 0 (%s, real duration %.1f s%s)" % (
            self.sc.name, self.duration, "" if self.k == 1 else ", time scale %g" % self.k))
        pending = self.schedule()
        next_peer = 0.0
        while True:
            now = self.t()
            while pending and pending[0][0] <= now:
                _, _, kind, arg = pending.pop(0)
                if kind == "start":
                    self.start_node(arg)
                elif kind == "query-node":
                    self.run_query(arg, arg.q_servers, arg.q)
                else:
                    self.do_event(arg)
                now = self.t()
            if now >= self.duration:
                break
            if now >= next_peer:
                self.sample_peers()
                next_peer = now + PEER_INTERVAL
            for n in self.sc.nodes:
                p = self.procs.get(n.name)
                if p is not None and not p.alive() and n.name not in self.stopped_at:
                    self.stopped_at[n.name] = (now, None)
                    self.ev("%s DIED (rc %s): %s" % (n.name, p.popen.returncode,
                                                   p.log_text()[-300:]))
            nxt = min([self.duration, next_peer] + ([pending[0][0]] if pending else []))
            time.sleep(max(0.01, min(0.5, nxt - self.t())))
        end_t = self.t()
        self.final = self.read_out()
        self.ev("scenario end at %.3f s" % end_t)
        for key in list(self.shapers):
            self.stop_shaper(key)
        for n in self.sc.nodes:
            p = self.procs.get(n.name)
            if p is not None and p.alive():
                p.stop()
        if targets:
            self.sampler.stop()
        self.wall = time.monotonic() - wall0
        rep = self.report(end_t)
        for name, text in self.traces.items():  # ntpsim's layout, for overlaid plots
            self.lab.write(name + ".trace.csv", text)
        return rep

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

    def parse_log(self, n):
        """Steps and events from a daemon's log: [(t, size)], [(t, name, reason)]."""
        texts = []
        for pat in (n.name + ".log", n.name + "-r*.log", n.name + ".out", n.name + "-r*.out"):
            for p in sorted(self.node_dir(n).glob(pat)):
                texts.append(p.read_text(errors="replace"))
        steps, events = [], []
        t0 = self.t0_wall
        for text in texts:
            for line in text.splitlines():
                ts = _log_time(line)
                t = None if ts is None else round(ts - t0, 3)
                if n.impl == "refd":
                    m = re.search(r"clock: step ([-+]?\d+\.\d+) s", line)
                    if m:
                        steps.append((t, float(m.group(1))))
                    m = re.search(r"\]: (\S+) ([0-9a-f]{4}) ([0-9a-f]{2}) (\S+) ?(.*)$", line)
                    if m:
                        events.append((t, m.group(4), self.back_text(m.group(5)),
                                       self.back(m.group(1))))
                elif n.impl == "ntpsec":
                    m = re.search(r"step_systime|CLOCK: time stepped by ([-+]?[\d.]+)", line)
                    if m and "Operation not permitted" not in line:
                        steps.append((t, float(m.group(1)) if m.group(1) else None))
                    m = re.search(r"PROTO: (\S+) ([0-9a-f]{4}) ([0-9a-f]{2}) (\S+) ?(.*)$", line)
                    if m:
                        events.append((t, m.group(4), self.back_text(m.group(5)),
                                       self.back(m.group(1))))
                elif n.impl == "openntpd":
                    # ntpd -d lines carry no time stamp; without -s it never
                    # sets the clock, so this stays empty unless -s is added
                    m = re.search(r"set local clock to .*\(offset ([-+\d.]+)s\)", line)
                    if m:
                        steps.append((None, float(m.group(1))))
                else:
                    if t is not None:
                        t = round(t - n.clock_offset, 3)  # stamped by the faked clock
                    m = re.search(r"System clock wrong by ([-+]?[\d.]+) seconds", line)
                    if m and abs(float(m.group(1))) > STEP_THRESHOLD:
                        steps.append((t, float(m.group(1))))
                    m = re.search(r"System clock was stepped by ([-+]?[\d.]+)", line)
                    if m:
                        steps.append((t, float(m.group(1))))
        return steps, events

    def ntp_delays(self, n):
        """Round-trip delays (s) the node measured, per sample: refd/ntpd
        peerstats, chronyd measurements.log."""
        out = []
        if n.impl == "openntpd":
            for f in sorted(self.lab.dir.glob(n.name + ".out")) + \
                    sorted(self.lab.dir.glob(n.name + "-r*.out")):
                for m in re.finditer(r"reply from (\S+): offset [-+\d.]+ delay ([-+\d.]+)",
                                     f.read_text(errors="replace")):
                    if m.group(1) in self.sc.real_to_node:
                        out.append(float(m.group(2)))
            return out
        if n.impl == "chrony":
            p = self.node_dir(n) / "measurements.log"
            try:
                text = p.read_text()
            except OSError:
                return out
            for line in text.splitlines():
                w = line.split()
                # Date Time IP L St 123 567 ABCD LP RP Score Offset Peer-del ...
                if len(w) >= 13 and w[2] in self.sc.real_to_node:
                    try:
                        out.append(float(w[12]))
                    except ValueError:
                        pass
            return out
        sd = self.lab.path(n.name + "-stats")
        for f in sorted(sd.glob("peerstats*")) if sd.exists() else []:
            for line in f.read_text().splitlines():
                w = line.split()
                # MJD seconds address status offset delay dispersion jitter
                if len(w) >= 8 and not w[2].startswith("127.127."):
                    out.append(float(w[5]))
        return out

    def node_dir(self, n):
        """chronyds get a directory each: Lab.chronyd puts logdir (so
        measurements.log) into its lab's directory."""
        return self.lab.dir / n.name if n.impl == "chrony" else self.lab.dir

    def node_report(self, n, obs, end_t):
        fin = self.final.get(n.name, {})
        rep = {"name": n.name, "address": n.addr, "real_address": n.real, "implementation": n.impl,
               "kind": n.kind, "namespace": self.ns.get(n.name)}
        rep["packets"] = dict(fin.get("packets") or {})
        rep["packets"]["dropped"] = self.drops.get(n.name, 0) + sum(
            ((h.get("stats") or {}).get("dropped") or 0)
            for (a, _), sh in self.shapers.items() if a == n.name for h in sh["history"])
        rep["exited"] = None
        if n.kind == "query":
            q = self.queries.get(n.name, [])
            rep["query"] = q[-1] if q else None
            rep["queries"] = q
            rep["running"] = False
            rep["metrics"], _ = node_metrics([], self.sc.sync_bound, [], self.duration,
                                             rep["packets"], None)
            rep["metrics"]["steps"] = None
            return rep
        samples = self.node_samples(n, obs)
        steps, events = self.parse_log(n)
        self.traces[n.name] = trace_csv(obs.get(n.name, []), steps)
        rep.update({
            "running": fin.get("alive", False),
            "offset_source": self._offset_source(n),
            "step_times": [t for t, _ in steps],
            "samples": len(samples),
            "unanswered_samples": sum(1 for s in samples if s[1] is None),
            "ntp_delays": self.ntp_delays(n),
        })
        last_obs = next((d for d in reversed(obs.get(n.name, [])) if d.get("answered", True)), None)
        if last_obs:
            rep["stratum"] = last_obs["stratum"]
            rep["leap"] = last_obs["leap"]
        elif n.impl == "openntpd":
            st = (fin.get("ntpctl_status") or next(
                (x for _, x in reversed(self.openntpd_samples.get(n.name, [])) if x), None))
            if st is not None:
                # what it would serve: ntpctl's stratum when synced, else
                # leap 3 and stratum 0 (openntpd's unsynced answer)
                rep["stratum"] = st["stratum"] if st["synced"] else 0
                rep["leap"] = 0 if st["synced"] else 3
                rep["ntpctl_status"] = st["status"]
        peers, syspeer = self._final_peers(n, fin)
        if n.impl in ("refd", "ntpsec"):
            srv = {self.sc.by_name[k].addr: [r for r in v if r.get("answered", True)]
                   for k, v in obs.items()}
            maxdist = next((float(t[1]) for t in self.confs[n.name].tos
                            if len(t) >= 2 and t[0] == "maxdist"), 1.5)
            hist = self.peer_history(n, obs)
            last = {r["remote"]: r for r in (hist[-1][1] if hist else [])}
            for p in peers:
                said = last.get(p["remote"])
                if said and said["tally"] == p["tally"] and "inferred" not in said["reason"]:
                    p["reason"] = said["reason"]  # refd's own words, from its last sample
                else:
                    p["reason"] = infer_reason(p["tally"], p["reach"] != 0,
                                               srv.get(p["remote"], []), end_t, maxdist)
        rep["system_peer"] = syspeer
        sp_node = self.sc.by_addr.get(syspeer) if syspeer else None
        rep["system_peer_node"] = sp_node.name if sp_node else None
        rep["peers"] = peers
        est = None  # the daemon's own estimate of its offset at the end (s)
        if n.impl in ("refd", "ntpsec"):
            sp = [p for p in peers if p["tally"] in "*o"]
            est = -sp[0]["offset"] if sp else None
        elif n.impl == "openntpd":
            sp = [p for p in peers if p["tally"] == "*" and p["offset"] is not None]
            est = -sp[0]["offset"] if sp else None
        elif fin.get("tracking"):
            est = fin["tracking"]["last_offset"]
            rep["chrony_tracking"] = fin["tracking"]
        rep["events"] = [{"t": t, "name": nm, "reason": rs, "address": a}
                         for t, nm, rs, a in events][:400]
        m, rep["stability"] = node_metrics(samples, self.sc.sync_bound, steps, self.duration,
                                           rep["packets"], est, self.norm["settle"])
        rep["metrics"] = m
        rep["synced"] = m["sync_time"] is not None
        rep["system"] = {"stratum": rep.get("stratum"), "leap": rep.get("leap"),
                         "poll": None, "system_peer": syspeer}
        return rep

    def _offset_source(self, n):
        if n.impl == "refd":
            return "observer probe of refd's virtual clock (its true offset)"
        if n.impl == "chrony":
            return ("observer probe of chronyd's served (corrected) clock: raw = libfaketime "
                    "%s, corrected by the null driver" % self.faketime(n)
                    if n.clock_offset or n.clock_freq else "observer probe of chronyd")
        if n.impl == "openntpd":
            return ("openntpd's own estimate (ntpctl every %g s: local - the peer it is synced "
                    "to); its clock is the machine's and never moves (noclockset makes adjtime "
                    "a no-op, capsh drops cap_sys_time): its true offset is 0 by construction"
                    % PEER_INTERVAL)
        return ("observer probe: ntpd serves the machine's clock, never disciplined "
                "(capsh drops cap_sys_time), so its true offset is 0 by construction")

    def _final_peers(self, n, fin):
        peers, syspeer = [], None
        if n.impl in ("refd", "ntpsec"):
            for r in fin.get("peers") or []:
                remote = self.back(r["remote"])
                peers.append({"remote": remote, "tally": r["tally"], "refid": self.back(r["refid"]),
                              "stratum": r["st"], "reach": r["reach"],
                              "offset": r["offset"] / 1e3, "delay": r["delay"] / 1e3,
                              "jitter": r["jitter"] / 1e3,
                              "reason": tally_reason(r["tally"])})
                if r["tally"] in "*o":
                    syspeer = "LOCAL(0)" if r["remote"].startswith("LOCAL") or \
                        r["remote"].startswith("127.127.") else remote
        elif n.impl == "chrony":
            for s in fin.get("sources") or []:
                row = chrony_row(self, s)
                peers.append(row)
                if s["state"] == "*":
                    syspeer = row["remote"]
            tr = fin.get("tracking")
            if syspeer is None and tr and tr["refid"].upper() == "4C4F434C":
                syspeer = "LOCAL(0)"
        elif n.impl == "openntpd":
            st = fin.get("ntpctl_status") or {}
            for x in st.get("peers") or []:
                row = openntpd_row(self.back, x)
                peers.append(row)
                if row["tally"] == "*":
                    syspeer = row["remote"]
        return peers, syspeer

    def report(self, end_t):
        """report.json schema_version 1 (docs/report.schema.json), with what
        only the real world has under "realnet"."""
        obs = self.observer_rows()
        nodes = [self.node_report(n, obs, end_t) for n in self.sc.nodes]
        by = {r["name"]: r for r in nodes}
        checks = evaluate_checks(self, by, obs)
        evaluated = [c for c in checks if not c.get("skipped")]
        result = "pass" if all(c["pass"] for c in evaluated) else "fail"
        links = {}
        for (a, b), s in self.shapers.items():
            links["%s->%s" % (a, b)] = s["history"]
        return {
            "schema_version": 1,
            "tool": tool_info(),
            "world": "real",
            "scenario": {"name": self.sc.name, "file": self.sc.path,
                         "sha256": file_sha256(self.sc.path), "effective": self.norm},
            "seed": self.seed,
            "start_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self.t0_wall))
            + (".%06d" % int((self.t0_wall % 1) * 1e6)),
            "duration": self.duration,
            "time_scale": self.k,
            "result": result,
            "summary": {"checks": len(checks), "failed": sum(1 for c in evaluated
                                                             if not c["pass"]),
                        "skipped": len(checks) - len(evaluated), "nodes_total": len(nodes),
                        "events": len(self.events_log)},
            "checks": checks,
            "nodes": nodes,
            "realnet": {
                "duration_scenario": self.sc.duration,
                "scaled": self.scale_notes,
                "skipped": [c for c in checks if c.get("skipped")] + self.skipped,
                "links": links,
                "firewall": self.fw,
                "notes": self.notes,
                "events_log": self.events_log,
                "address_map": {n.addr: n.real for n in self.sc.nodes},
                "wall_time": round(getattr(self, "wall", 0.0), 1),
            },
        }


def tool_info():
    """{name, version, commit}: the project's version (CMakeLists.txt) and
    the repository's commit ("+dirty" with uncommitted changes), null when
    git cannot tell."""
    m = re.search(r"project\(ntplab VERSION (\S+)",
                  (nl.REPO / "CMakeLists.txt").read_text(errors="replace"))
    def git(*argv):
        r = subprocess.run(["git", "-C", str(nl.REPO)] + list(argv), capture_output=True,
                           text=True, timeout=10, stdin=subprocess.DEVNULL)
        return r.stdout.strip() if r.returncode == 0 else None
    try:
        commit = git("rev-parse", "HEAD")
        if commit and git("status", "--porcelain", "--untracked-files=no"):
            commit += "+dirty"  # as ntpsim --version says it
    except OSError:
        commit = None
    return {"name": "realnet", "version": m.group(1) if m else None, "commit": commit or None}


def file_sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def tally_reason(t):
    """What ntpq's tally means: the reason when the daemon names none (ntpd;
    refd names its own in the mode 6 variable "reason")."""
    return {"x": "falseticker (tally 'x')", ".": "excess (tally '.')",
            "-": "outlier (tally '-')", " ": "reject (tally ' ')", "+": "candidate",
            "#": "backup", "*": "system peer", "o": "system peer (PPS)"}.get(t, t)


def infer_reason(tally, reach, server_rows, t, maxdist):
    """The core's reason for a rejected association, inferred from what is
    observable (refd exports the tally, not the reason text): reach 0 ->
    TEST13; a server that advertises leap 3 / stratum 16 -> TEST10; a server
    whose own advertised root distance is already >= maxdist -> TEST11."""
    if tally != " ":
        return tally_reason(tally)
    if not reach:
        return "TEST13 unreachable (inferred: reach 0)"
    last = None
    for r in server_rows:
        if r["t"] <= t:
            last = r
    if last is not None:
        if last["leap"] == 3 or not 1 <= last["stratum"] <= 15:
            return ("TEST10 peer unsynchronised (inferred: it serves leap %d stratum %d)"
                    % (last["leap"], last["stratum"]))
        dist = last["rootdelay"] / 2 + last["rootdisp"]
        if dist >= maxdist:
            return ("TEST11 distance (inferred: it advertises a root distance of %.3f s "
                    ">= maxdist %.3f s)" % (dist, maxdist))
    return tally_reason(tally)


def chrony_row(run, s):
    tally = {"*": "*", "+": "+", "-": "-", "x": "x", "?": " ", "~": " "}.get(s["state"], " ")
    reason = {"?": "unreachable (chronyc '?')", "~": "too variable (chronyc '~')",
              "x": "falseticker (chronyc 'x': may be in error)"}.get(s["state"],
                                                                    tally_reason(tally))
    return {"remote": run.back(s["name"]), "tally": tally, "stratum": s["stratum"],
            "reach": s["reach"], "offset": -s["offset"], "chrony_state": s["state"],
            "reason": reason}


def _log_time(line):
    """Seconds since 1970 of a log line (refd/ntpd/chronyd layouts), or None."""
    m = re.match(r"^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(\.\d+)?Z?", line)
    if m:
        import calendar
        tt = time.strptime(m.group(1) + " " + m.group(2), "%Y-%m-%d %H:%M:%S")
        return calendar.timegm(tt) + (float(m.group(3)) if m.group(3) else 0.0)
    m = re.match(r"^\s*(\d+) (\d+):(\d+):(\d+)\.(\d+)\s", line)  # NTPsec: MJD hh:mm:ss.frac
    if m:
        mjd = int(m.group(1))
        return (mjd - 40587) * 86400 + int(m.group(2)) * 3600 + int(m.group(3)) * 60 + \
            int(m.group(4)) + float("0." + m.group(5))
    return None


# --------------------------------------------------------------------------
# checks


def _count_verdict(cnt, p, what, extra=""):
    lo, hi = p["min"], p["max"]
    ok = cnt >= lo and (hi is None or cnt <= hi)
    det = "%d %s%s" % (cnt, what, extra)
    if not ok:
        det += ", %d too %s" % (abs(cnt - (lo if cnt < lo else hi)),
                                "few" if cnt < lo else "many")
    return {"pass": ok, "measured": cnt, "detail": det}


# report.json v1 (docs/report.schema.json): the number each kind compares,
# and its unit
_LIMITS = {"synced": ("within", "s"), "offset": ("max", "s"), "rms": ("max", "s"),
           "freq": ("max", "s/s"), "bound": ("min_fraction", "fraction")}


def check_limit(c):
    """(limit, unit) of a normalized check."""
    k, p = c["kind"], c["params"]
    if k in _LIMITS:
        key, unit = _LIMITS[k]
        return p.get(key), unit
    if k in ("steps", "event", "packets", "log"):
        return (p["max"] if p["max"] is not None else p["min"]), "count"
    return None, None


def _check_node(sc, names):
    """How the report names a check's nodes: the node, or the template all
    of them are replicas of."""
    if len(names) == 1:
        return names[0]
    tmpl = {sc.by_name[x].template for x in names}
    return tmpl.pop() if len(tmpl) == 1 else ",".join(names)


def evaluate_checks(run, by, obs):
    """Every check of the (scaled) scenario as ntpsim loaded it: a verdict,
    or skipped with why.  A check on a template passes only if every replica
    passes; the report names the first failing one, as ntpsim does."""
    out = []
    sc = run.sc
    for i, (c, oc) in enumerate(zip(run.norm["checks"], sc.norm["checks"])):
        nodes = sc.named(c["nodes"])
        limit, unit = check_limit(c)
        res = {"index": i, "line": oc["line"], "kind": c["kind"],
               "node": _check_node(sc, c["nodes"]), "label": c["label"],
               "params": dict(c["params"], nodes=len(c["nodes"])), "limit": limit,
               "unit": unit, "censored": False}
        verdicts = []
        skip = None
        for n in nodes:
            v = judge(run, c, n, by.get(n.name), obs)
            if v.get("skip"):
                skip = v["skip"]
                break
            verdicts.append((n, v))
        if skip or not verdicts:
            res.update({"skipped": True, "pass": None, "measured": None,
                        "detail": "skipped: %s" % (skip or "no node"),
                        "reason": skip or "no node"})
        else:
            bad = [x for x in verdicts if not x[1]["pass"]]
            pick = bad[0] if bad else verdicts[-1]
            res.update({"pass": not bad, "measured": pick[1].get("measured"),
                        "detail": ("%s: " % pick[0].name if len(nodes) > 1 else "")
                        + pick[1]["detail"]})
        out.append(res)
    return out


def _judge_synced(run, c, n, obs):
    p = c["params"]
    within, bound = p["within"], p["bound"]
    s = run.node_samples(n, obs)
    _, good = sync_times(s, bound)
    if good is not None:
        ok = good <= within
        return {"pass": ok, "measured": good,
                "detail": "synced from %.3f s on" % good if ok else
                "synced only from %.3f s on, %.3f s too late" % (good, good - within)}
    if not s:
        return {"pass": False, "measured": None, "detail": "never sampled"}
    t, off, _, _, peer = s[-1]  # not synced at the end: so is its last sample
    if off is None:
        return {"pass": False, "measured": None,
                "detail": "not synced at the end: no answer to the observer at %.3f s" % t}
    if not peer:
        return {"pass": False, "measured": None,
                "detail": "not synced at the end: no system peer at %.3f s" % t}
    return {"pass": False, "measured": None,
            "detail": "not synced at the end: |offset| %s at %.3f s (bound %s)" % (
                fmt_s(abs(off)), t, fmt_s(bound))}


def _judge_offset(run, c, n, obs, rms):
    p = c["params"]
    lo = p["after"] if "after" in p else p["from"]
    hi = p.get("to") if p.get("to") is not None else float("inf")
    mx = p["max"] if p["max"] is not None else float("inf")
    s = [(t, o) for t, o, _, _, _ in run.node_samples(n, obs) if o is not None]
    win = [(t, o) for t, o in s if lo <= t <= hi]
    if not win:
        return {"pass": False, "measured": None, "detail": "no samples after %g s" % lo}
    tx, ox = max(win, key=lambda x: abs(x[1]))
    if not rms:
        ok = abs(ox) < mx
        return {"pass": ok, "measured": abs(ox),
                "detail": "max |offset| %s at %.3f s%s" % (
                    fmt_s(abs(ox)), tx, "" if ok else ", over the limit by %s"
                    % fmt_s(abs(ox) - mx))}
    acc = span = 0.0
    for (t1, v1), (t2, v2) in zip(s, s[1:]):
        a, b = max(t1, lo), min(t2, hi)
        if b > a and t2 > t1:
            sl = (v2 - v1) / (t2 - t1)
            va, vb = v1 + sl * (a - t1), v1 + sl * (b - t1)
            acc += (va * va + va * vb + vb * vb) / 3.0 * (b - a)
            span += b - a
    val = math.sqrt(acc / span) if span > 0 else abs(ox)
    ok = val < mx
    return {"pass": ok, "measured": val,
            "detail": "rms offset %s over %.1f s (max |offset| %s)%s" % (
                fmt_s(val), span, fmt_s(abs(ox)), "" if ok else ", over by %s"
                % fmt_s(val - mx))}


def _judge_peers(run, c, n, rep, obs):
    # ntpsim resolved the source to an address; none: a local clock driver
    want = (c["params"]["source"] or {}).get("address") or "LOCAL(0)"

    def is_src(r):
        rem = r["remote"]
        return rem == want or (want == "LOCAL(0)" and (rem.startswith("LOCAL") or
                                                      rem.startswith("127.127.")))
    fin = rep.get("peers") or []
    if c["kind"] == "selected":
        rows = [r for r in fin if is_src(r)]
        if not rows:
            return {"pass": False, "measured": None,
                    "detail": "not the system peer at the end (no such association)"}
        ok = rows[0]["tally"] in "*o"
        return {"pass": ok, "measured": None, "detail": "%s at the end ('%s' %s)" % (
            "system peer" if ok else "not the system peer", rows[0]["tally"],
            rows[0]["reason"])}
    text = c["params"]["reason"]
    hist = run.peer_history(n, obs) + [(round(run.duration, 3), [dict(p) for p in fin])]
    last = None
    for t, rows in hist:
        for r in rows:
            if not is_src(r):
                continue
            reason = r.get("reason") or tally_reason(r["tally"])
            last = "'%s' %s" % (r["tally"], reason)
            if r["tally"] in " x.-" and text.lower() in reason.lower():
                return {"pass": True, "measured": t,
                        "detail": "rejected at %.3f s: %s" % (t, last)}
    return {"pass": False, "measured": None,
            "detail": "never rejected with a matching reason (last seen: %s)"
            % (last or "no such association")}


def _judge_bound(run, c, n, obs):
    frac, span, _ = bound_stats(run.node_samples(n, obs))
    if span <= 0:
        return {"pass": False, "measured": None, "detail": "never claimed synchronisation"}
    mf = c["params"]["min_fraction"]
    return {"pass": frac >= mf, "measured": frac,
            "detail": "|offset| <= root distance %.2f%% of %.1f s claimed synced%s"
            % (frac * 100, span, "" if frac >= mf else ", below the minimum")}


def judge(run, c, n, rep, obs):
    """One node's verdict for normalized check c: {pass, measured, detail}
    or {skip}."""
    k, p = c["kind"], c["params"]
    if rep is None:
        return {"skip": "node not run"}
    if n.kind == "query" and k not in ("query", "packets"):
        return {"skip": "a query node has no clock or associations"}
    if n.impl == "openntpd" and k in ("offset", "rms", "bound"):
        return {"skip": "openntpd's clock is the machine's and never moves (noclockset turns "
                        "adjtime into a no-op; capsh drops cap_sys_time): its true offset is 0 "
                        "by construction, and it advertises no root distance to an observer "
                        "it does not serve; its own offset estimate is in the peer table"}
    if k == "synced":
        return _judge_synced(run, c, n, obs)
    if k in ("offset", "rms"):
        return _judge_offset(run, c, n, obs, k == "rms")
    if k == "steps":
        if n.impl == "ntpsec":
            return {"skip": "ntpd runs on the machine's clock, which it may not step "
                            "(capsh drops cap_sys_time; a client has 'disable ntp')"}
        extra = ""
        if rep["metrics"]["last_step"] is not None:
            extra = " (last %+.6f s at %s s)" % (rep["metrics"]["last_step"],
                                                 rep["step_times"][-1])
        if n.impl == "chrony":
            extra += " [chronyd -x: corrections > 0.128 s, applied at once by its null driver]"
        if n.impl == "openntpd":
            extra += (" [openntpd runs without -s: it never sets the clock, it slews every "
                      "correction with adjtime]")
        return _count_verdict(rep["metrics"]["steps"], p, "steps", extra)
    if k in ("rejected", "selected"):
        return _judge_peers(run, c, n, rep, obs)
    if k == "event":
        if n.impl == "chrony":
            return {"skip": "chronyd has no ntpd event log"}
        if n.impl == "openntpd":
            return {"skip": "openntpd has no ntpd event log (it logs 'peer ... now valid' and "
                            "'clock is now synced', without times)"}
        hits = [e for e in rep["events"] if e["name"] == p["name"] and
                p["reason"].lower() in e["reason"].lower()]
        extra = " (first at %s s: %s)" % (hits[0]["t"], hits[0]["reason"][:95]) if hits else ""
        return _count_verdict(len(hits), p, "events", extra)
    if k == "packets":
        cnt = (rep.get("packets") or {}).get(p["dir"])
        if cnt is None:
            return {"skip": "no packet counter read"}
        how = {"sent": "nft counter on its egress",
               "received": "nft counter on its ingress, after the firewall",
               "dropped": "its packets dropped by firewall/partition rules, counted per "
                          "sender, and by ntpnetem"}[p["dir"]]
        return _count_verdict(cnt, p, "packets", " (%s; the observer's probes excluded)" % how)
    if k == "query":
        q = run.queries.get(n.name)
        if not q:
            return {"pass": False, "measured": None, "detail": "result: no query ran"}
        res = q[-1]["result"]
        return {"pass": p["result"].lower() in res.lower(), "measured": None,
                "detail": "result: %s" % res}
    if k == "freq":
        return {"skip": "the frequency error of a real daemon's clock cannot be told apart from "
                        "its phase slew from outside (ntpsim knows the oscillator)"}
    if k == "bound":
        return _judge_bound(run, c, n, obs)
    return {"skip": "unknown check '%s'" % k}


# --------------------------------------------------------------------------
# report.json v1: per-node metrics and stability from the observed samples
# (docs/report.schema.json; the same keys ntpsim writes)

METRIC_KEYS = ("sync_time", "first_sync_time", "settle_time", "offset_rms", "offset_max", "offset_p50",
               "offset_p95", "offset_p99", "offset_max_all", "offset_end",
               "estimated_offset_end", "freq_error_end_ppm", "freq_error_rms_ppm",
               "bound_held_fraction", "claimed_sync_seconds", "worst_bound_excess", "steps",
               "last_step", "packets_sent", "packets_received", "packets_lost",
               "packets_duplicated", "packets_per_hour", "falseticker_reject_time")
STABILITY_TAU0 = 1.0  # s, grid step (docs/outputs.md "Stability metrics"; a real run is short)


def percentile(sorted_values, q):
    """The q-quantile (0..1) of sorted values: Hyndman & Fan type 7, as
    ntpsim (docs/outputs.md)."""
    if not sorted_values:
        return None
    h = q * (len(sorted_values) - 1)
    i = int(math.floor(h))
    j = min(i + 1, len(sorted_values) - 1)
    return sorted_values[i] + (sorted_values[j] - sorted_values[i]) * (h - i)


def sync_times(samples, bound):
    """(first, final) start of the runs with a system peer and |offset| <
    bound: the first time synced, and the start of the run that lasts to
    the end (None: not synced at the end)."""
    first = good = None
    for t, off, _, _, peer in samples:
        if peer and off is not None and abs(off) < bound:
            if good is None:
                good = t
            if first is None:
                first = t
        else:
            good = None
    return first, good


def bound_stats(samples):
    """(held fraction, claimed seconds, worst excess) of |offset| <= the
    advertised root distance while the node claims sync (a sample's state
    holds until the next one, as ntpsim's bound check)."""
    held = span = 0.0
    worst = None
    for (t1, o1, c1, b1, _), (t2, _, _, _, _) in zip(samples, samples[1:]):
        if c1 and o1 is not None and b1 is not None:
            span += t2 - t1
            if abs(o1) <= b1:
                held += t2 - t1
            worst = abs(o1) - b1 if worst is None else max(worst, abs(o1) - b1)
    return (held / span if span > 0 else None), span, worst


def grid(points, duration, tau0=STABILITY_TAU0):
    """The time error on ntpsim's grid t_k = k tau0 (docs/outputs.md):
    linear between samples, the first sample's value before it, nothing
    after the last.  points: [(t, x)] in time order.  Returns [(t_k, x_k)]."""
    out, j = [], 0
    if not points:
        return out
    for k in range(int(math.floor(duration / tau0)) + 1):
        t = k * tau0
        if t > points[-1][0]:
            break
        while j + 1 < len(points) and points[j + 1][0] <= t:
            j += 1
        t1, x1 = points[j]
        if t <= t1 or j + 1 == len(points):
            out.append((t, x1))
        else:
            t2, x2 = points[j + 1]
            out.append((t, x1 + (x2 - x1) * (t - t1) / (t2 - t1)))
    return out


def stability_taus(duration, tau0=STABILITY_TAU0):
    """m = 1, 2, 5, 10, ... while m <= n_grid - 1 (docs/outputs.md)."""
    n_grid = int(math.floor(duration / tau0)) + 1
    ms, dec = [], 1
    while True:
        for f in (1, 2, 5):
            if f * dec > n_grid - 1:
                return ms
            ms.append(f * dec)
        dec *= 10


def stability(x, ms, tau0=STABILITY_TAU0):
    """Overlapping ADEV, TDEV and MTIE (ITU-T G.810 Appendix II; the
    formulas of docs/outputs.md) of the settled time error x (s) at tau =
    m tau0; None where x is too short (ADEV, TDEV: N >= 3m; MTIE: N >= m+1)."""
    n = len(x)
    adev, tdev, mtie = [], [], []
    for m in ms:
        if n >= 3 * m:
            d = [x[i + 2 * m] - 2 * x[i + m] + x[i] for i in range(n - 2 * m)]
            adev.append(math.sqrt(sum(v * v for v in d) / (2.0 * (m * tau0) ** 2 * (n - 2 * m))))
            acc = sum(sum(d[j:j + m]) ** 2 for j in range(n - 3 * m + 1))
            tdev.append(math.sqrt(acc / (6.0 * m * m * (n - 3 * m + 1))))
        else:
            adev.append(None)
            tdev.append(None)
        mtie.append(max(max(x[i:i + m + 1]) - min(x[i:i + m + 1]) for i in range(n - m))
                    if n >= m + 1 else None)
    return {"tau0": tau0, "taus": [m * tau0 for m in ms], "adev": adev, "tdev": tdev,
            "mtie": mtie}


def node_metrics(samples, sync_bound, steps, duration, packets, est_end, settle=None):
    """The v1 metrics a real run can measure, and its stability; null what
    it cannot (the frequency error of a real clock, duplicates, a
    falseticker's rejection time).  Level and stability statistics are over
    the settled part of the 1 s grid, as ntpsim's: from the scenario's
    `settle` (s, None: none), else from the first synced sample."""
    m = dict.fromkeys(METRIC_KEYS)
    first, final = sync_times(samples, sync_bound)
    t_settle = settle if settle is not None else first
    offs = [(t, o) for t, o, _, _, _ in samples if o is not None]
    settled = [x for t, x in grid(offs, duration) if t_settle is not None and t >= t_settle]
    level = sorted(abs(x) for x in settled)
    m.update({"sync_time": final, "first_sync_time": first, "settle_time": t_settle,
              "steps": len(steps),
              "last_step": steps[-1][1] if steps else None,
              "offset_max_all": max((abs(o) for _, o in offs), default=None),
              "offset_end": offs[-1][1] if offs else None, "estimated_offset_end": est_end})
    if level:
        m.update({"offset_rms": math.sqrt(sum(x * x for x in level) / len(level)),
                  "offset_max": level[-1], "offset_p50": percentile(level, 0.50),
                  "offset_p95": percentile(level, 0.95),
                  "offset_p99": percentile(level, 0.99)})
    held, span, worst = bound_stats(samples)
    m.update({"bound_held_fraction": held, "claimed_sync_seconds": span,
              "worst_bound_excess": worst})
    sent, recv = packets.get("sent"), packets.get("received")
    m.update({"packets_sent": sent, "packets_received": recv,
              "packets_lost": packets.get("dropped")})
    if sent is not None and recv is not None and duration > 0:
        m["packets_per_hour"] = (sent + recv) * 3600.0 / duration
    return m, stability(settled, stability_taus(duration))


TRACE_HEADER = ("t,offset,est_offset,bound,freq_err_ppm,freq_ppm,poll,reach,stratum,leap,"
                "sys_peer,state,steps")


def _csv(v, fmt):
    return "" if v is None else fmt % v


def claimed_bound(d):
    """(claims sync, bound or None) of an answered observer row: it serves
    leap != 3 and stratum 1..15 (ntpsim's bound check), and then its root
    distance rootdelay/2 + rootdisp (s)."""
    claims = d["leap"] != 3 and 1 <= d["stratum"] <= 15
    return claims, (d["rootdelay"] / 2 + d["rootdisp"] if claims else None)


def trace_csv(rows, steps):
    """ntpsim's NODE.trace.csv layout from observer rows ({t, offset, leap,
    stratum, rootdelay, rootdisp, sys_src, poll, ...}); empty fields for what
    the real world does not know (its estimate, the true frequency error,
    the discipline state).  steps: [(t, size)], counted up to each row."""
    out = [TRACE_HEADER]
    step_t = sorted(t for t, _ in steps if t is not None)
    for d in rows:
        if not d.get("answered", True) or d.get("offset") is None:
            continue
        _, bound = claimed_bound(d)
        peer = d.get("sys_src")
        out.append(",".join([
            "%.6f" % d["t"], "%.9f" % d["offset"], "", _csv(bound, "%.9f"), "", "",
            _csv(d.get("poll"), "%d"), "", "%d" % d["stratum"], "%d" % d["leap"],
            "" if peer is None else ("1" if peer else "0"), "",
            "%d" % bisect.bisect_right(step_t, d["t"])]))
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------
# ntpsim on the same (scaled) scenario, for the side-by-side table


def delay_stats(values):
    """n, mean, sd, IQR/1.349 (the sd of a normal law from its quartiles)
    and trimmed_sd: the sd once values more than 5 IQR-sds from the median
    (a packet a stalled host released late) are left out, as efficient as
    the plain sd (its relative standard error is 1/sqrt(2n), the IQR's
    1.17/sqrt(n)), of a list of delays in s."""
    import statistics
    if len(values) < 4:
        return {"n": len(values)}
    q1, med, q3 = statistics.quantiles(values, n=4)
    iqr_sd = (q3 - q1) / 1.349
    kept = [v for v in values if abs(v - med) <= 5 * iqr_sd]
    return {"n": len(values), "mean": statistics.mean(values), "sd": statistics.pstdev(values),
            "iqr_sd": iqr_sd, "trimmed_sd": statistics.pstdev(kept), "trimmed_n": len(kept)}


def run_ntpsim(scaled_path, seed, outdir, overlay=None):
    """ntpsim's run of the scaled scenario at the same seed.  With overlay
    (the directory of this real run's NODE.trace.csv files) its plots show
    both worlds' true offsets on one page; without, no plots."""
    b = ntpsim_bin()
    if not b.exists():
        return None
    plots = ["--overlay", str(overlay)] if overlay else ["--no-plots"]
    r = subprocess.run([str(b), "run", str(scaled_path), "--seed", str(seed), "--out",
                        str(outdir), "--quiet"] + plots, capture_output=True, text=True,
                       timeout=600, stdin=subprocess.DEVNULL)
    try:
        return json.loads((Path(outdir) / "report.json").read_text())
    except (OSError, ValueError):
        return {"error": (r.stdout + r.stderr)[-2000:]}


def sim_step_times(simdir):
    """{node: [t of each clock_step]} from ntpsim's events.log."""
    out = {}
    try:
        text = (Path(simdir) / "events.log").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        w = line.split()
        if len(w) >= 3 and w[2] == "clock_step":
            out.setdefault(w[1], []).append(float(w[0]))
    return out


def side_by_side(real, sim):
    """Rows (node, what, ntpsim, real) for the numbers docs/two-worlds.md
    shows.  Checks are paired by their order in the file (the scaled file
    ntpsim ran has other line numbers)."""
    rows = []
    simn = {n["name"]: n for n in (sim or {}).get("nodes", [])}
    steps_at = (sim or {}).get("step_times", {})
    for n in real["nodes"]:
        if n["kind"] != "host":
            q = (n.get("query") or {}).get("result")
            sq = (simn.get(n["name"], {}).get("query") or {}).get("result")
            rows.append((n["name"], "query", sq, q))
            continue
        s = simn.get(n["name"], {})
        sm, m = s.get("metrics") or {}, n["metrics"]
        rows.append((n["name"], "impl", "ntplab core", n["implementation"]))
        for what, key in (("sync time (s)", "sync_time"), ("steps", "steps"),
                          ("last step (s)", "last_step")):
            rows.append((n["name"], what, sm.get(key), m[key]))
        st = steps_at.get(n["name"])
        rows.append((n["name"], "last step at (s)", st[-1] if st else None,
                     n["step_times"][-1] if n.get("step_times") else None))
        rows.append((n["name"], "final offset (s)", sm.get("offset_end"), m["offset_end"]))
        rows.append((n["name"], "max |offset| settled (s)", sm.get("offset_max"),
                     m["offset_max"]))
        rows.append((n["name"], "selected source", (s.get("system") or {}).get("system_peer"),
                     n.get("system_peer")))
    simc = (sim or {}).get("checks", [])
    for i, c in enumerate(real["checks"]):
        sc = simc[i] if i < len(simc) else None
        rows.append(("check", c["label"], None if sc is None else
                     ("pass" if sc["pass"] else "FAIL") + ": " + sc.get("detail", ""),
                     "skipped: " + c["reason"] if c.get("skipped") else
                     ("pass" if c["pass"] else "FAIL") + ": " + c.get("detail", "")))
    return rows


# --------------------------------------------------------------------------
# text report


def report_text(rep, sim=None):
    out = []
    rn = rep["realnet"]
    out.append("realnet: %s (%s), seed %d, %.1f s real%s: %s" % (
        rep["scenario"]["name"], rep["scenario"]["file"], rep["seed"], rep["duration"],
        "" if rep["time_scale"] == 1 else " (time scale %g of %g s)" % (
            rep["time_scale"], rn["duration_scenario"]), rep["result"].upper()))
    for c in rep["checks"]:
        if c.get("skipped"):
            out.append("  SKIP %s (line %s): %s" % (c["label"], c["line"], c["reason"]))
        else:
            out.append("  %s %s (line %s): %s" % ("pass" if c["pass"] else "FAIL", c["label"],
                                                 c["line"], c["detail"]))
    for s in rn["skipped"]:
        if "what" in s:
            out.append("  SKIP %s (line %s): %s" % (s["what"], s["line"], s["reason"]))
    for n in rep["nodes"]:
        if n["kind"] == "query":
            out.append("  %s %s -> %s (query via %s): %s" % (
                n["name"], n["address"], n["real_address"], n["implementation"],
                (n.get("query") or {}).get("result")))
            continue
        m = n["metrics"]
        out.append("  %s %s -> %s (%s): sync %s, steps %d%s, end offset %s, max settled "
                   "%s, system peer %s, stratum %s" % (
                       n["name"], n["address"], n["real_address"], n["implementation"],
                       "-" if m["sync_time"] is None else "%.1f s" % m["sync_time"],
                       m["steps"], "" if m["last_step"] is None else
                       " (%+.6f s)" % m["last_step"], fmt_s(m["offset_end"]),
                       fmt_s(m["offset_max"]), n["system_peer"], n.get("stratum")))
        for p in n["peers"]:
            reach = "reach %03o" % p["reach"] if isinstance(p.get("reach"), int) else \
                "trust %2s" % p.get("trustlevel", "-")   # openntpd: no reach register
            out.append("      %s%-16s st %-2s %s offset %s  %s" % (
                p["tally"], p["remote"], p["stratum"], reach, fmt_s(p["offset"]),
                p["reason"]))
    for k, h in rn["links"].items():
        for x in h:
            st = x.get("stats") or {}
            out.append("  link %s '%s': seen %s, dropped %s, delay mean %s sd %s" % (
                k, x["spec"], st.get("seen"), st.get("dropped"),
                fmt_s(st.get("delay_mean_s")), fmt_s(st.get("delay_sd_s"))))
    if rn["scaled"]:
        out.append("  scaled: " + "; ".join(rn["scaled"]))
    for note in rn["notes"]:
        out.append("  note: " + note)
    if sim:
        out.append("  side by side (ntpsim | real):")
        for node, what, a, b in side_by_side(rep, sim):
            out.append("    %-8s %-34s %-28s | %s" % (node, what, a, b))
    out.append("  wall time %.1f s" % rn["wall_time"])
    return "\n".join(out) + "\n"


def _md(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return fmt_s(v) if abs(v) < 1.0 or v < 0 else "%.1f s" % v
    return str(v).replace("|", "\\|")


def report_markdown(rep):
    """The side-by-side table of docs/two-worlds.md for one run."""
    sim = rep.get("sim") or {}
    impl = ", ".join("%s=%s" % (n["name"], n["implementation"]) for n in rep["nodes"]
                     if n["implementation"] != "refd") or "all refd"
    out = ["#### %s (%s), seed %d%s" % (
        rep["scenario"]["name"], impl, rep["seed"],
        "" if rep["time_scale"] == 1 else ", time scale %g (%g s)" % (
            rep["time_scale"], rep["duration"])), "",
        "| node | quantity | ntpsim | real |", "|---|---|---|---|"]
    rows = side_by_side(rep, sim)
    for nd, what, a, b in rows:
        if nd == "check" or what == "impl":
            continue
        if what in ("last step (s)", "final offset (s)", "max |offset| settled (s)"):
            a = None if a is None else fmt_s(a)
            b = None if b is None else fmt_s(b)
        elif what in ("sync time (s)", "last step at (s)"):
            a = None if a is None else "%.1f s" % a
            b = None if b is None else "%.1f s" % b
        out.append("| %s | %s | %s | %s |" % (nd, what.replace(" (s)", "").replace("|", "\\|"),
                                              _md(a), _md(b)))
    out += ["", "| check | ntpsim | real |", "|---|---|---|"]
    for nd, what, a, b in rows:
        if nd == "check":
            out.append("| %s | %s | %s |" % (_md(what), _md(a), _md(b)))
    out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------
# the API the pytest wrapper uses, and main()


def run_scenario(path, lab, time_scale=None, impl=None, seed=None, keep_logs=None, sim=False,
                 log=None):
    """Run SCENARIO on `lab` (which the caller cleans up).  Returns the
    report dict; with sim=True it carries ntpsim's report of the same scaled
    scenario under "sim"."""
    sc = load_scenario(path)
    run = RealRun(sc, lab, time_scale=time_scale, impl=impl, seed=seed, log=log)
    scaled_path = lab.path("scaled.yaml")
    scaled_path.write_text(yaml.safe_dump(run.scaled, sort_keys=False))
    try:
        rep = run.run()
    finally:
        if run.ctl_dir is not None:
            shutil.rmtree(str(run.ctl_dir), ignore_errors=True)
        if keep_logs:
            _keep(lab, keep_logs)
    rep["realnet"]["scaled_file"] = str(scaled_path)
    # once for both copies: ntpsim's report, added below, is no part of it
    text = report_json(rep)
    lab.write("report.json", text)  # for post-mortems
    if sim:
        simdir = Path(keep_logs) / "ntpsim" if keep_logs else lab.path("ntpsim")
        rep["sim"] = run_ntpsim(scaled_path, run.seed, simdir, overlay=keep_logs)
        if rep["sim"] is not None:
            rep["sim"]["step_times"] = sim_step_times(simdir)
    if keep_logs:
        Path(keep_logs).mkdir(parents=True, exist_ok=True)
        (Path(keep_logs) / "report.json").write_text(text)
        (Path(keep_logs) / "report.txt").write_text(report_text(rep, rep.get("sim")))
        if sim:
            (Path(keep_logs) / "two-worlds.md").write_text(report_markdown(rep))
        # scaled.yaml: _keep copied it with the lab
    return rep


def report_json(rep):
    """report.json: the v1 report; ntpsim's own report of the same run (under
    "sim" in memory) stays in its directory."""
    return json.dumps({k: v for k, v in rep.items() if k != "sim"}, indent=1, default=str)


def _keep(lab, dest):
    d = Path(dest)
    d.mkdir(parents=True, exist_ok=True)
    for p in sorted(lab.dir.rglob("*")):
        if p.is_file() and not p.is_symlink() and not p.name.endswith(".sock"):
            dst = d / p.relative_to(lab.dir)
            try:
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(str(p), str(dst))
            except OSError:
                pass


def _parse_impl(items):
    out = {}
    for it in items or []:
        if "=" not in it:
            raise ScenarioError("--impl wants NODE=IMPL, got %r" % it)
        k, v = it.split("=", 1)
        out[k] = v
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="realnet.py", description="Run an ntpsim scenario with real daemons in network "
        "namespaces (root; every NTP program under capsh --drop=cap_sys_time).")
    ap.add_argument("scenario")
    ap.add_argument("--time-scale", type=float, metavar="K",
                    help="divide durations and event/check times by K, polls by log2 K "
                    "(default: the file's real: time_scale, else 1)")
    ap.add_argument("--keep-logs", metavar="DIR", help="copy configs, logs, samples, the "
                    "scaled scenario and report.json/report.txt here")
    ap.add_argument("--impl", action="append", metavar="NODE=IMPL",
                    help="refd (default), ntpsec, chrony or openntpd for hosts; refd or "
                    "ntpdig for query nodes; NODE may be a template name")
    ap.add_argument("--seed", type=int, help="override the scenario's seed (ntpnetem streams)")
    ap.add_argument("--sim", action="store_true", help="also run ntpsim on the scaled "
                    "scenario at the same seed and print both side by side")
    ap.add_argument("--json", metavar="FILE", help="write the report JSON here")
    ap.add_argument("--scaled-out", metavar="FILE", help="write the scaled scenario and exit")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    if a.time_scale is not None and a.time_scale < 1:
        ap.error("--time-scale must be >= 1")
    try:
        impl = _parse_impl(a.impl)
        if a.scaled_out:
            sc = load_scenario(a.scenario)
            d, notes = scale_scenario(sc.data, a.time_scale or sc.real_time_scale)
            Path(a.scaled_out).write_text(yaml.safe_dump(d, sort_keys=False))
            for x in notes:
                print("scaled: " + x)
            return 0
    except ScenarioError as e:
        print("realnet: %s" % e, file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("realnet: needs root (network namespaces)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="realnet-"))
    lab = nl.Lab(work / "lab", name="realnet")

    def on_signal(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    log = None if a.quiet else (lambda m: print("realnet: " + m, file=sys.stderr, flush=True))
    rc = 2
    try:
        rep = run_scenario(a.scenario, lab, a.time_scale, impl, a.seed, a.keep_logs, a.sim, log)
        sys.stdout.write(report_text(rep, rep.get("sim")))
        if a.json:
            Path(a.json).write_text(report_json(rep))
        rc = 0 if rep["result"] == "pass" else 1
    except ScenarioError as e:
        print("realnet: %s" % e, file=sys.stderr)
        rc = 2
    except KeyboardInterrupt as e:
        print("realnet: interrupted (%s): cleaning up" % (e or "Ctrl-C"), file=sys.stderr)
        rc = 130
    except (RuntimeError, AssertionError, nl.WaitTimeout, subprocess.TimeoutExpired) as e:
        print("realnet: setup or run failed: %s" % e, file=sys.stderr)
        rc = 2
    finally:
        # cleanup must not be interrupted half-way by a second Ctrl-C
        for s in old:
            signal.signal(s, signal.SIG_IGN)
        errors = lab.cleanup()
        for s, h in old.items():
            signal.signal(s, h)
        if errors:
            print("realnet: cleanup problems: %s" % errors, file=sys.stderr)
        shutil.rmtree(str(work), ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
