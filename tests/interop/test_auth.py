# SPDX-License-Identifier: BSD-2-Clause
"""Symmetric-key authentication (issue 15 part 1) against real daemons:
refd <-> NTPsec ntpd and refd <-> chronyd with MD5, SHA1 and AES128CMAC keys,
refd as client and as server; a key whose secret differs on the two sides is
refused by both; ntpq reads refd's variables with a control key
(`authenticate yes`); tshark decodes the MAC'd packets without complaint.

Topology: the server in one namespace at 10.200.0.1, the client in another at
10.200.0.2, a veth pair between them.  Success is the client's reach
register (ntpq -p / chronyc sources): a reply counts only once it passed the
client's authentication test.  Keys are hex everywhere (over 20 characters:
hex in ntp.keys(5); chrony's `HEX:`), so both formats carry the same bytes."""

import re
import subprocess
import time

import pytest

from realnet import ntplab_net as nl
from realnet.ntplab_net import wait_for

SRV, CLI = "10.200.0.1", "10.200.0.2"

# name: (key id, ntp.keys type, chrony type, hex secret)
KEYS = {
    "MD5": (1, "MD5", "MD5", "8a1c3f0e5b7d92a4c6e8f01234567890"),
    "SHA1": (2, "SHA1", "SHA1", "0f1e2d3c4b5a69788796a5b4c3d2e1f001234567"),
    "AES128CMAC": (3, "AES128CMAC", "AES128", "2b7e151628aed2a6abf7158809cf4f3c"),
}
WRONG = "00112233445566778899aabbccddeeff"  # the other side's secret in mismatch tests


def ntp_keys(lab, name, kind, secret=None):
    kid, ntype, _, hexkey = KEYS[kind]
    return lab.write(name + ".keys", "%d %s %s  # %s\n" % (kid, ntype, secret or hexkey, kind))


def chrony_keys(lab, name, kind, secret=None):
    kid, _, ctype, hexkey = KEYS[kind]
    return lab.write(name + ".keys", "%d %s HEX:%s\n" % (kid, ctype, secret or hexkey))


def refd_log(lab, name="refd"):
    p = lab.path(name + ".log")
    return p.read_text(errors="replace") if p.exists() else ""


def refd_reach(ns, host):
    """The reach register refd shows for `host` (ntpq -p over mode 6)."""
    rows, _ = nl.ntpq_peers(ns)
    sel = [x for x in rows if x["remote"] == host]
    return sel[0]["reach"] if sel else 0


def ntpd_server(lab, ns, kind, secret=None):
    keys = ntp_keys(lab, "ntpd", kind, secret)
    return lab.ntpd([
        "refclock local stratum 4 minpoll 3 maxpoll 3 prefer",
        "keys %s" % keys,
        "trustedkey %d" % KEYS[kind][0],
        "restrict default nomodify",
        "restrict 127.0.0.1",
    ], ns=ns, name="ntpd")


def chronyd_server(lab, ns, kind, secret=None):
    keys = chrony_keys(lab, "chronyd", kind, secret)
    p, _ = lab.chronyd(["local stratum 5", "allow all", "port 123", "keyfile %s" % keys], ns=ns)
    return p


SERVERS = {"ntpd": ntpd_server, "chronyd": chronyd_server}


def refd_keyed_client(lab, ns, kind):
    keys = ntp_keys(lab, "refd", kind)
    conf = nl.refd_client_conf(lab, SRV, opts="key %d iburst minpoll 3 maxpoll 3" % KEYS[kind][0],
                               extra=["keys %s" % keys, "trustedkey %d" % KEYS[kind][0]])
    return lab.refd(conf, ns=ns, extra=["-d"])  # -d: rejected packets are logged


@pytest.mark.parametrize("kind", sorted(KEYS))
@pytest.mark.parametrize("server", sorted(SERVERS))
def test_refd_client_authenticates(request, lab, refd_bin, server, kind):
    request.getfixturevalue(server + "_bin")
    ns_srv, ns_cli = lab.pair(SRV, CLI)
    SERVERS[server](lab, ns_srv, kind)
    refd = refd_keyed_client(lab, ns_cli, kind)
    reach = wait_for(lambda: refd_reach(ns_cli, SRV) or None,
                     "refd reaches %s with a %s key" % (server, kind), tries=40, interval=0.5,
                     last=lambda: refd_log(lab)[-1500:])
    lab.note("refd <- %s %s: reach %o", server, kind, reach)
    assert "TEST5" not in refd_log(lab), refd_log(lab)[-1500:]
    assert refd.alive()


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_refd_client_refuses_a_mismatched_key(request, lab, refd_bin, server):
    request.getfixturevalue(server + "_bin")
    ns_srv, ns_cli = lab.pair(SRV, CLI)
    SERVERS[server](lab, ns_srv, "MD5", secret=WRONG)
    refd = refd_keyed_client(lab, ns_cli, "MD5")
    time.sleep(12)  # the iburst (6 packets, 2 s apart) and a regular poll
    assert refd_reach(ns_cli, SRV) == 0
    log = refd_log(lab)
    lab.note("refd <- %s with the wrong MD5 secret: %s", server,
             [line.split(": ", 1)[-1] for line in log.splitlines() if "TEST5" in line][:2])
    # NTPsec 1.2 drops a request whose MAC fails (ntp_proto.c "FIXME:
    # crypto-NAK?"); whatever came back must not have been taken
    assert not re.search(r"(?<!un)reachable", log), log[-1500:]
    assert refd.alive()


def refd_keyed_server(lab, ns, kind, controlkey=None):
    keys = ntp_keys(lab, "refd", kind)
    extra = ["keys %s" % keys, "trustedkey %d" % KEYS[kind][0]]
    if controlkey is not None:
        extra.append("controlkey %d" % controlkey)
    return lab.refd(nl.refd_local_conf(lab, opts="minpoll 3 maxpoll 3", extra=extra), ns=ns,
                    extra=["-d"])  # -d: refused clients are logged


def ntpd_client_reach(lab, ns, kind, secret=None):
    keys = ntp_keys(lab, "ntpd", kind, secret)
    lab.ntpd(["server %s key %d iburst minpoll 3 maxpoll 3" % (SRV, KEYS[kind][0]),
              "keys %s" % keys, "trustedkey %d" % KEYS[kind][0],
              "disable ntp",                 # measure and select, never touch the clock
              "restrict default nomodify",
              "restrict 127.0.0.1"], ns=ns, name="ntpd")  # let ntpq query it

    def reach():
        rows, _ = nl.ntpq_peers(ns)
        sel = [x for x in rows if x["remote"] == SRV]
        return sel[0]["reach"] if sel else 0
    return reach


def chronyd_client_reach(lab, ns, kind, secret=None):
    keys = chrony_keys(lab, "chronyd", kind, secret)
    _, sock = lab.chronyd(["server %s key %d iburst minpoll 3 maxpoll 3" % (SRV, KEYS[kind][0]),
                           "keyfile %s" % keys, "port 0"], ns=ns)

    def reach():
        rows = nl.chrony_sources(lab, sock, ns=ns)
        sel = [x for x in rows if x["name"] == SRV]
        return sel[0]["reach"] if sel else 0
    return reach


CLIENTS = {"ntpd": ntpd_client_reach, "chronyd": chronyd_client_reach}


@pytest.mark.parametrize("kind", sorted(KEYS))
@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_client_of_refd_authenticates(request, lab, refd_bin, tshark_bin, client, kind):
    request.getfixturevalue(client + "_bin")
    ns_srv, ns_cli = lab.pair(SRV, CLI)
    cap, pcap = lab.tshark(ns_srv, iface="eth0", bpf="udp port 123", seconds=60)
    refd = refd_keyed_server(lab, ns_srv, kind)
    reach = CLIENTS[client](lab, ns_cli, kind)
    got = wait_for(lambda: reach() or None, "%s reaches refd with a %s key" % (client, kind),
                   tries=40, interval=0.5, last=lambda: refd_log(lab)[-1500:])
    lab.note("%s <- refd %s: reach %o", client, kind, got)
    assert "crypto-NAK" not in refd_log(lab)
    # reach says an exchange happened, not that the capture holds it yet
    # (dumpcap may still have it buffered, or, under load, have started
    # after it): the client polls every 8 s, so wait for two in the file
    wait_for(lambda: ntp_packets_in(pcap) >= 2 or None, "the capture holds 2 NTP packets",
             tries=60, interval=0.5, last=lambda: ntp_packets_in(pcap))
    cap.stop()
    check_capture(lab, pcap, KEYS[kind][0])
    assert refd.alive()


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_refd_server_refuses_a_mismatched_key(request, lab, refd_bin, client):
    request.getfixturevalue(client + "_bin")
    ns_srv, ns_cli = lab.pair(SRV, CLI)
    refd = refd_keyed_server(lab, ns_srv, "MD5")
    reach = CLIENTS[client](lab, ns_cli, "MD5", secret=WRONG)
    time.sleep(12)
    assert reach() == 0
    log = refd_log(lab)
    assert "TEST5 bad MAC (key 1): crypto-NAK sent" in log, log[-1500:]
    assert refd.alive()


def ntp_packets_in(pcap):
    """NTP packets tshark reads from a capture that may still be growing
    (a packet cut short at its end is not counted, nor an error)."""
    r = subprocess.run([nl.TSHARK, "-n", "-r", str(pcap), "-Y", "ntp"], capture_output=True,
                       text=True, timeout=30)
    return sum(1 for line in r.stdout.splitlines() if line.strip())


def check_capture(lab, pcap, keyid):
    """tshark reads every NTP packet of the capture as NTP with a key id and
    a MAC, and finds nothing malformed."""
    r = subprocess.run([nl.TSHARK, "-n", "-r", str(pcap), "-Y", "ntp", "-T", "fields",
                        "-e", "ntp.flags.mode", "-e", "ntp.keyid", "-e", "ntp.mac",
                        "-e", "_ws.malformed", "-e", "_ws.expert.severity"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    rows = [line.split("\t") for line in r.stdout.splitlines() if line.strip()]
    lab.note("tshark: %d NTP packets, first %s", len(rows), rows[:2])
    assert len(rows) >= 2, r.stdout
    for f in rows:
        assert f[0] in ("3", "4"), f
        assert f[1] and int(f[1], 16) == keyid, f  # tshark shows the 4 bytes in hex
        assert f[2], "no MAC decoded: %s" % f
        assert f[3] == "", "malformed: %s" % f
    r2 = subprocess.run([nl.TSHARK, "-n", "-r", str(pcap), "-Y", "_ws.malformed"],
                        capture_output=True, text=True, timeout=30)
    assert r2.stdout.strip() == "", r2.stdout


def test_ntpq_reads_refd_with_a_control_key(lab, refd_bin, ntpd_bin):
    ns = lab.ns()
    refd_keyed_server(lab, ns, "SHA1", controlkey=KEYS["SHA1"][0])
    good = ntp_keys(lab, "ntpq-good", "SHA1")
    bad = ntp_keys(lab, "ntpq-bad", "SHA1", secret=WRONG + "01234567")

    def ntpq(keyfile):
        return nl.run([nl.NTPQ, "-n", "-k", str(keyfile), "-a", str(KEYS["SHA1"][0]),
                       "-c", "authenticate yes", "-c", "passwd", "-c", "rv", "127.0.0.1"],
                      ns=ns)

    r = ntpq(good)
    lab.note("ntpq rv with the control key: rc %d, stderr %r", r.returncode, r.stderr[-200:])
    rv = nl.parse_ntpq_vars(r.stdout)
    assert "stratum" in rv and "version" in rv, (r.stdout, r.stderr)
    assert "AUTH" not in r.stderr, r.stderr
    r = ntpq(bad)
    lab.note("ntpq rv with a wrong secret: stderr %r", r.stderr[-200:])
    # refd's replies carry no MAC then: ntpq says "AUTH - packet too short
    # for MAC" (or "AUTH: Content untrusted" for a MAC that fails)
    assert re.search(r"AUTH", r.stderr), (r.stdout, r.stderr)


@pytest.mark.parametrize("same", [True, False], ids=["same-secret", "other-secret"])
def test_symmetric_peers_refd_chronyd(lab, refd_bin, chronyd_bin, same):
    """refd `peer ... key 1` and chronyd `peer ... key 1` (chrony has
    symmetric mode; NTPsec 1.2 does not): with the same secret each side's
    packets pass the other's authentication, with another secret neither
    does (refd: TEST5 bad MAC)."""
    ns_a, ns_b = lab.pair(SRV, CLI)
    keys = ntp_keys(lab, "refd", "SHA1")
    refd = lab.refd(nl.refd_local_conf(lab, opts="minpoll 3 maxpoll 3", extra=[
        "peer %s key 2 minpoll 3 maxpoll 3" % CLI, "keys %s" % keys, "trustedkey 2"]),
        ns=ns_a, extra=["-d"])
    ckeys = chrony_keys(lab, "chronyd", "SHA1", secret=None if same else WRONG + "01234567")
    _, sock = lab.chronyd(["peer %s key 2 minpoll 3 maxpoll 3" % SRV, "keyfile %s" % ckeys,
                           "port 123", "allow all"], ns=ns_b)

    def both():
        rows = nl.chrony_sources(lab, sock, ns=ns_b)
        c = [x["reach"] for x in rows if x["name"] == SRV]
        return (c[0] if c else 0), refd_reach(ns_a, CLI)

    if same:
        got = wait_for(lambda: all(both()) and both(), "both peers reach each other",
                       tries=60, interval=0.5, last=lambda: refd_log(lab)[-1500:])
        lab.note("symmetric refd <-> chronyd, same SHA1 secret: reach %s", got)
        assert "TEST5" not in refd_log(lab)
    else:
        time.sleep(20)
        assert both() == (0, 0), both()
        assert "TEST5 bad MAC (key 2)" in refd_log(lab), refd_log(lab)[-1500:]
    assert refd.alive()
