#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Write the seed corpus of fuzz_host (tests/fuzz/corpus/host/).

Each seed is a program in fuzz_host.c's input language: four set-up bytes
(config, flags, drift, clock error), then operations.  The encoders below
mirror the readers of fuzz_host.c; if the target's input language changes,
change them and run this script again:

    python3 tests/fuzz/host_seeds.py tests/fuzz/corpus/host

NTPLAB_FUZZ_TRACE=1 build-fuzz/tests/fuzz/fuzz_host SEED shows what a seed
makes the host do.
"""
import os
import struct
import sys

# configurations (index into conf_texts[] of fuzz_host.c)
CLIENT, LAN_SERVER, PEERS, ORPHAN, NTPSEC, SLEW_ONLY = range(6)

# set-up flags (second byte)
BIG_FIRST_STEP, CONTROL_REMOTE, HAVE_DRIFT, MONO_LATE = 1, 2, 4, 8
LOCAL_2036, LOCAL_1970, LOCAL_1900 = 0x10, 0x20, 0x30
STARTUP_TICK = 0x40

# pick_source() indices: the fixed sources, then the config's server lines
LOOPBACK, LOOPBACK6, LAN, NET10, STRANGER, IGNORED, STRANGER6, LOCALCLOCK = range(8)
# pick_local() indices
AT_LAN, AT_LOOPBACK, AT_LOOPBACK6, AT_V6, AT_NONE = range(5)

S = 1 << 30  # about one second in take_scaled() units (2^30 ns)


def u8(v):
    return struct.pack(">B", v & 0xFF)


def u16(v):
    return struct.pack(">H", v & 0xFFFF)


def u32(v):
    return struct.pack(">I", v & 0xFFFFFFFF)


def u64(v):
    return struct.pack(">Q", v & 0xFFFFFFFFFFFFFFFF)


def setup(conf, flags=STARTUP_TICK, drift=0, ppm=0):
    return u8(conf) + u8(flags) + u8(drift) + u8(ppm)


def scaled(ns):
    """take_scaled(): a 16-bit mantissa and a shift; ns is rounded down."""
    shift = 0
    while (ns >> shift) > 0xFFFF:
        shift += 1
    return u16(ns >> shift) + u8(shift)


def span(ns):
    """take_span(): a signed 32-bit mantissa and a shift."""
    shift = 0
    while not -(1 << 31) <= (ns >> shift) < (1 << 31):
        shift += 1
    return u32(ns >> shift) + u8(shift)


def advance(seconds):
    return u8(0) + scaled(int(seconds * 1e9))


def source(sel, port=None):
    if port is None:
        return u8(sel) + u8(1)
    return u8(sel) + u8(0) + u16(port)


def reply(idx=0, stratum=2, leap=0, offset=0.0, delay=0.02, poll=6, refid=0xC0000201,
          kod=None, bogus=False, symmetric_active=False, reftime_age=16, local=AT_LAN,
          rootdelay=0x100, rootdisp=0x200, wait=None):
    """op_reply: answer the idx-th latest request (0 = the latest).  With
    wait (s), the op first advances the clocks (op kinds 14/15)."""
    flags = 0
    if bogus:
        flags |= 0x01
    if kod is not None:
        flags |= 0x02
    if symmetric_active:
        flags |= 0x40
    hdr = (leap & 3) | (3 << 2)  # version 4
    out = u8(14) + u16(int(wait * 10000)) if wait is not None else u8(3)
    out += u8(idx) + u8(flags) + u8(hdr) + u8(stratum) + u8(poll) + u8(0xEC)
    out += u16(rootdelay) + u8(0) + u16(rootdisp) + u8(0) + u32(refid)
    out += span(int(offset * 1e9)) + scaled(int(delay * 1e9)) + u8(1)
    out += u16(reftime_age)
    if bogus:
        out += u8(0x55)
    if kod is not None:
        out += u8({"RATE": 0, "DENY": 1, "RSTR": 2, "INIT": 3}[kod])
    return out + u8(local)


def request(src, mode=3, version=4, xmt=0xEEAFC5330A0373C3, symmetric=None, local=AT_LAN,
            stratum=0, poll=6):
    """op_request: mode 3 (client), 1 (symmetric active) or 0 (NTPv1)."""
    mode_sel = {3: 0, 1: 2, 0: 3, 2: 4, 4: 5}[mode]
    hdr = mode_sel | ((version - 1) << 3)
    flags = 0x40 if symmetric else 0
    out = u8(5) + src + u8(local) + u8(hdr) + u8(flags) + u8(stratum) + u8(poll) + u8(0xEC)
    out += u64(xmt)
    if symmetric:
        org, rootdelay, rootdisp, refid = symmetric
        out += u64(org) + span(10_000_000) + u16(rootdelay) + u16(rootdisp) + u32(refid)
    return out


def control(src, opcode=2, assoc=0, var=0, seq=1, local=AT_LOOPBACK):
    """op_control: ntpq's request; var picks a variable list of fuzz_host.c."""
    return u8(6) + src + u8(local) + u8(1) + u8(opcode) + u8(var) + u16(seq) + u16(assoc)


def raw(src, data, local=AT_LAN):
    return u8(7) + src + u8(local) + u16(len(data)) + data


def tick():
    return u8(9)


def local_jump(seconds):
    return u8(8) + span(int(seconds * 1e9))


def reflect(idx=0):
    return u8(10) + u8(idx) + u8(0) + u8(AT_LAN)


def replay():
    return u8(11) + u8(0) + u8(AT_LAN)


def sent(idx=0, late_s=0.001):
    return u8(12) + u8(idx) + span(int(late_s * 1e9 * 1024))


def fault(kinds, offset_ms=0):
    return u8(13) + u32(0x11040513) + u8(kinds) + u8(0) + u32(offset_ms) + u16(0) + u16(0)


def exchange(n, offset, every=2.0, **kw):
    """n polls answered: wait, then answer the latest request."""
    if every > 6.5:
        return b"".join(advance(every) + reply(offset=offset, **kw) for _ in range(n))
    return b"".join(reply(offset=offset, wait=every, **kw) for _ in range(n))


SEEDS = {
    # a LAN client asks the seed's host131 for time, once and twice fast
    "client-request": setup(LAN_SERVER) + advance(1) + request(source(LAN)) + advance(0.5)
    + request(source(LAN, 40123)) + request(source(STRANGER)),
    # NTPv1 mode 0 and an NTPv3 request from loopback
    "client-request-v1-v3": setup(LAN_SERVER) + request(source(LOOPBACK), mode=0, version=1)
    + request(source(LOOPBACK), version=3),
    # iburst: the first reply starts the burst; synchronised within a few polls
    "server-replies-sync": setup(NTPSEC) + advance(3) + exchange(30, 0.004, every=4)
    + exchange(20, 0.003, every=6),
    # the seed's CentOS client with its LOCAL clock fallback
    "server-replies-local-fallback": setup(CLIENT) + advance(3) + exchange(12, 0.004)
    + advance(64) + exchange(6, 0.003, every=1),
    # slew only: a 2 s offset is slewed, never stepped
    "server-replies-slew-only": setup(SLEW_ONLY) + advance(2) + exchange(30, 2.0, every=4),
    # the seed's client 28 s ahead of its server: the host steps by -28 s
    "server-replies-step": setup(PEERS) + advance(3) + exchange(16, -28.2)
    + advance(70) + exchange(8, 0.001),
    # 2000 s off with the default panic threshold: EXIT; with -g: a step
    "server-replies-panic": setup(NTPSEC) + advance(3) + exchange(16, 2000.0),
    "server-replies-big-first-step": setup(NTPSEC, flags=STARTUP_TICK | BIG_FIRST_STEP)
    + advance(3) + exchange(16, 2000.0),
    # a server near the 2036 era rollover
    "server-replies-2036": setup(NTPSEC, flags=STARTUP_TICK | LOCAL_2036) + advance(2)
    + exchange(20, 0.02, every=4),
    # replies that must be rejected: bogus origin, unsynchronised, replayed
    "server-replies-bad": setup(CLIENT) + advance(3) + reply(bogus=True)
    + reply(leap=3) + reply(stratum=0) + reply() + replay() + reflect(),
    # kiss-o'-death RATE, then DENY
    "kod-rate": setup(CLIENT) + advance(3) + reply(kod="RATE") + advance(200)
    + reply(kod="RATE"),
    "kod-deny": setup(CLIENT) + advance(3) + reply(kod="DENY") + advance(3)
    + reply(kod="RSTR", idx=1),
    # a KoD that answers no request (spoofed)
    "kod-spoofed": setup(CLIENT) + advance(3) + reply(kod="RATE", bogus=True),
    # mode 1 from strangers: mobilises a passive association (disable auth),
    # or a stateless mode 2 answer (noepeer, nopeer, ippeerlimit)
    "mode1-peers": setup(PEERS) + advance(2)
    + request(source(STRANGER6), mode=1, symmetric=(0, 0x10, 0x20, 0x0A000001), stratum=3)
    + request(source(NET10), mode=1, symmetric=(0, 0x10, 0x20, 0x0A000001), stratum=3)
    + request(source(LAN), mode=1, symmetric=(0, 0x10, 0x20, 0x0A000001), stratum=3)
    + advance(4) + reply(offset=0.01, symmetric_active=True) + advance(10),
    # our symmetric peer answers our mode 1 polls
    "mode1-configured-peer": setup(CLIENT) + advance(5)
    + exchange(8, 0.002, every=16, symmetric_active=True, stratum=3),
    # ntpq -p / rv / rv 1 / readstat from loopback; a refusal from the LAN
    "mode6-readvar": setup(CLIENT) + advance(3) + control(source(LOOPBACK), 2, 0)
    + control(source(LOOPBACK), 2, 1, var=2) + control(source(LOOPBACK6), 1, 0, local=AT_LOOPBACK6)
    + control(source(LAN), 2, 0, local=AT_LAN) + control(source(LOOPBACK), 3, 0),
    # mode 7 (ntpdc) is never answered; a short and a long datagram
    "raw-mode7-short": setup(CLIENT) + raw(source(LOOPBACK), b"\x17\x00\x03\x2a")
    + raw(source(LAN), b"\x23" + b"\x00" * 40) + raw(source(LAN), b"\x23" + b"\x00" * 1029),
    # `limited kod`: a client polling too fast gets KoD RATE
    "rate-limit-kod": setup(CLIENT) + b"".join(
        request(source(STRANGER6, 50000 + i)) + advance(0.3) for i in range(8)),
    # no sources: orphan mode after orphanwait 0, serving the LAN
    "orphan-serves": setup(ORPHAN) + advance(1) + request(source(LAN)) + advance(5)
    + request(source(NET10)),
    # the administrator steps the local clock back an hour, then forward
    "local-jumps": setup(CLIENT) + advance(3) + exchange(8, 0.001) + local_jump(-3600)
    + exchange(4, 0.001) + local_jump(86400) + advance(64) + exchange(4, 0.0),
    # refd's send-time reports and a faulty server part
    "sent-and-fault": setup(CLIENT) + advance(3) + sent() + reply(offset=0.001)
    + fault(0x0C, 500) + request(source(LAN)) + fault(0) + request(source(LAN)),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "host")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
