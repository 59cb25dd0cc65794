# SPDX-License-Identifier: BSD-2-Clause
"""Real daemons as clients of refd: chronyd (issue 5 item 3) and NTPsec
ntpd (item 4); and tshark's verdict on every packet refd sends (item 8)."""

import time

from realnet import ntplab_net as nl
from realnet.ntplab_net import wait_for

# refd's LOCAL(0) sampled every 8 s: clients with default limits (chronyd
# maxdistance 3 s, ntpd maxdist 1.5 s) accept refd after ~20 s / ~30 s.
FAST_LOCAL = "minpoll 3 maxpoll 3"


def chronyd_client_of(lab, ns, server, name="chronyd"):
    return lab.chronyd([
        "server %s iburst minpoll 0 maxpoll 2" % server,
        "port 0",  # client only
        "log measurements tracking",
    ], ns=ns, name=name)


def wait_chrony_selected(lab, ns, sock, server, tries=60):
    last = {}

    def selected():
        rows = nl.chrony_sources(lab, sock, ns=ns)
        last["rows"] = rows
        return [r for r in rows if r["name"] == server and r["state"] == "*"]

    return wait_for(selected, "chronyd selects %s (^*)" % server, tries=tries, interval=0.5,
                    last=lambda: last.get("rows"))


def wait_chrony_offset(lab, ns, sock, bound=1e-3, tries=40):
    last = {}

    def small():
        t = nl.chrony_tracking(lab, sock, ns=ns)
        last["t"] = t
        return t if t and abs(t["system_time"]) < bound and abs(t["last_offset"]) < bound \
            else None

    return wait_for(small, "chronyd tracking |offset| < %g s" % bound, tries=tries,
                    interval=0.5, last=lambda: last.get("t"))


def test_chronyd_client_selects_refd(lab, refd_bin, chronyd_bin):
    ns = lab.ns()
    refd = lab.refd(nl.refd_local_conf(lab, stratum=5, opts=FAST_LOCAL), ns=ns)
    chronyd, sock = chronyd_client_of(lab, ns, "127.0.0.1")
    t0 = time.monotonic()
    sel = wait_chrony_selected(lab, ns, sock, "127.0.0.1")
    t_sel = time.monotonic() - t0
    tr = wait_chrony_offset(lab, ns, sock)
    lab.note("chronyd selected refd after %.1f s: %s", t_sel, sel[0])
    lab.note("chronyd tracking: stratum %d refid %s system_time %+.9f last_offset %+.9f "
             "root_disp %.6f leap %s", tr["stratum"], tr["refid"], tr["system_time"],
             tr["last_offset"], tr["root_disp"], tr["leap"])
    assert sel[0]["stratum"] == 6, "refd serves fudge stratum 5 + 1"
    assert sel[0]["mode"] == "^"
    assert tr["stratum"] == 7
    assert tr["refid"].upper() == "7F000001", "chronyd's reference is refd at 127.0.0.1"
    assert tr["leap"] == "Normal"
    assert refd.alive() and chronyd.alive()


def test_ntpd_client_selects_refd(lab, refd_bin, ntpd_bin):
    # ntpd refuses 127.0.0.x servers other than itself and has no port option:
    # refd and ntpd each get a namespace, joined by a veth pair.
    ns_srv, ns_cli = lab.pair("10.200.0.1", "10.200.0.2")
    refd = lab.refd(nl.refd_local_conf(lab, stratum=5, opts=FAST_LOCAL), ns=ns_srv)
    ntpd = lab.ntpd([
        "server 10.200.0.1 iburst minpoll 3 maxpoll 3",
        "disable ntp",                 # measure and select, never touch the clock
        "restrict default nomodify",
        "restrict 127.0.0.1",          # let ntpq query it
    ], ns=ns_cli)
    reaches = []
    last = {}

    def selected():
        rows, r = nl.ntpq_peers(ns_cli)
        last["r"] = (rows, r.stdout[-500:], r.stderr[-200:])
        row = [x for x in rows if x["remote"] == "10.200.0.1"]
        if row:
            if not reaches or reaches[-1] != row[0]["reach"]:
                reaches.append(row[0]["reach"])
            # NTPsec may select after the first sample; wait for reach to
            # show at least three answered polls as well
            if row[0]["tally"] == "*" and bin(row[0]["reach"]).count("1") >= 3:
                return row[0]
        return None

    t0 = time.monotonic()
    row = wait_for(selected, "ntpd selects refd (*) with reach >= 3 polls", tries=120,
                   interval=0.5, last=lambda: last.get("r"))
    lab.note("ntpd selected refd after %.1f s: %s; reach went %s", time.monotonic() - t0, row,
             ["%o" % x for x in reaches])
    assert row["st"] == 6
    assert row["refid"] == "127.127.1.0"
    assert row["t"] == "u"
    assert abs(row["offset"]) < 1.0, "ms"
    counts = [bin(x).count("1") for x in reaches]
    assert counts == sorted(counts) and len(counts) >= 2, "reach must climb: %s" % reaches
    assert refd.alive() and ntpd.alive()


def test_tshark_decodes_every_refd_packet(lab, refd_bin, chronyd_bin, ntpdig_bin, tshark_bin):
    """refd's server replies (ntpdig, chronyd, refd -Q, ntpq if mode 6 is
    there), its KoDs and its own client requests, all captured on the
    namespace's loopback; tshark must flag none of them as malformed."""
    ns = lab.ns()
    cap, pcap = lab.tshark(ns, iface="lo", bpf="udp")
    # server on 127.0.0.1, a KoD-sending one on 127.0.0.2, a client on 127.0.0.3
    srv = lab.refd(nl.refd_local_conf(lab, stratum=5, name="srv", opts=FAST_LOCAL), ns=ns,
                   name="srv", extra=["--listen", "127.0.0.1"])
    kod = lab.refd(nl.refd_local_conf(lab, stratum=5, name="kod",
                                      extra=["restrict default limited kod"]),
                   ns=ns, name="kod", extra=["--listen", "127.0.0.2"])
    # clientport 123: the client's requests leave from 127.0.0.3:123, so the
    # capture tells them from chronyd's, which also come from a random port
    # (refd's own random client ports: test_attacks.py, ephemeral source port)
    cli = lab.refd(nl.refd_client_conf(lab, "127.0.0.1", name="cli",
                                       opts="iburst minpoll 0 maxpoll 2",
                                       extra=["clientport 123"]),
                   ns=ns, name="cli", extra=["--listen", "127.0.0.3"])
    chronyd, sock = lab.chronyd(["server 127.0.0.1 iburst minpoll 0 maxpoll 2", "port 0"],
                                ns=ns)
    wait_chrony_selected(lab, ns, sock, "127.0.0.1")
    res, r = nl.ntpdig_json(ns, "127.0.0.1")
    assert res is not None, r.stderr
    nl.refd_query(ns, "127.0.0.1")
    nl.run([nl.NTPQ, "-n", "-c", "timeout 1000", "-c", "pe", "-c", "rv", "127.0.0.1"], ns=ns)
    flood = lab.probe(ns, "flood", "127.0.0.2", 123, 0.2, 10)
    assert flood["kods"] >= 1
    time.sleep(0.5)
    for p in (cli, srv, kod, chronyd):
        p.stop()
    cap.stop()

    def fields(display_filter, *names):
        argv = [nl.TSHARK, "-n", "-r", pcap, "-Y", display_filter, "-T", "fields"]
        for n in names:
            argv += ["-e", n]
        r = nl.run(argv, timeout=30)
        assert r.returncode == 0, r.stderr
        return [line for line in r.stdout.splitlines() if line.strip()]

    from_refd = "ip.src in {127.0.0.1, 127.0.0.2, 127.0.0.3} && udp.srcport == 123"
    sent = fields(from_refd, "frame.number", "ntp.flags.mode", "ntp.stratum")
    not_ntp = fields(from_refd + " && !ntp", "frame.number")
    malformed = fields("_ws.malformed", "frame.number", "ip.src", "udp.srcport")
    refd_malformed = fields(from_refd + " && _ws.malformed", "frame.number")
    errors = fields(from_refd + " && _ws.expert.severity >= error", "frame.number",
                    "_ws.expert.message")
    modes = {}
    for line in sent:
        f = line.split("\t")
        modes[f[1]] = modes.get(f[1], 0) + 1
    # stratum 0 + kiss code: RATE from the limited server, INIT from any
    # server answering before it first synchronised
    kods = fields(from_refd + " && ntp.stratum == 0 && ntp.refid == 52:41:54:45", "ip.src")
    inits = fields(from_refd + " && ntp.stratum == 0 && ntp.refid == 49:4e:49:54", "ip.src")
    lab.note("refd sent %d packets, by NTP mode %s; RATE KoDs %d, INIT replies %d; "
             "malformed (any) %d", len(sent), modes, len(kods), len(inits), len(malformed))
    assert len(sent) >= 10
    assert {"3", "4"} <= set(modes), "server replies and client requests both captured"
    assert kods and set(kods) == {"127.0.0.2"}, "the RATE KoD, from the limited refd only"
    assert not not_ntp, "frames from refd that tshark did not decode as NTP: %s" % not_ntp
    assert not refd_malformed, "malformed frames from refd: %s" % refd_malformed
    assert not malformed, "malformed frames in the capture: %s" % malformed
    assert not errors, "expert errors on refd's frames: %s" % errors
