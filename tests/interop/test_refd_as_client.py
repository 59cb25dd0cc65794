# SPDX-License-Identifier: BSD-2-Clause
"""refd as a client of real servers: NTPsec ntpd on its LOCAL refclock and
chronyd on `local stratum 5` (issue 5 item 5), and refd started 28.2 s
ahead, which must step back exactly once (item 6, the seed's ntpdate
-28.2 s incident).

Topology: the server in one namespace at 10.200.0.1, refd in another at
10.200.0.2, a veth pair between them.  refd's virtual clock is judged from
the server's side: ntpdig there measures refd's clock against the machine's
clock, which the server also keeps (so the true offset is 0)."""

import re
import time

import pytest

from realnet import ntplab_net as nl
from realnet.ntplab_net import wait_for

SRV, CLI = "10.200.0.1", "10.200.0.2"


def start_ntpd_server(lab, ns):
    return lab.ntpd([
        "refclock local stratum 4 minpoll 3 maxpoll 3 prefer",
        "restrict default nomodify",
        "restrict 127.0.0.1",
    ], ns=ns, name="ntpd")


def start_chronyd_server(lab, ns, env=None):
    p, sock = lab.chronyd(["local stratum 5", "allow all", "port 123"], ns=ns, env=env)
    return p


SERVERS = {
    # name: (starter, stratum the server serves)
    "ntpd": (start_ntpd_server, 5),
    "chronyd": (start_chronyd_server, 5),
}


def refd_synced_view(lab, ns_srv, ns_cli, want_stratum, refd):
    """Poll until refd serves want_stratum and its clock, seen by ntpdig from
    the server's namespace, is within 1 ms; returns (ntpdig JSON, refd -Q JSON)."""
    last = {}

    def synced():
        q, r = nl.refd_query(ns_cli, "127.0.0.1", timeout=1)
        last["q"] = q or (r.returncode, r.stdout[-300:], r.stderr[-300:])
        if not q or q.get("stratum") != want_stratum:
            return None
        dig, r2 = nl.ntpdig_json(ns_srv, CLI, timeout=1)
        last["dig"] = dig or (r2.returncode, r2.stderr[-300:])
        if not dig or abs(dig["offset"]) >= 1e-3:
            return None
        return dig, q

    return wait_for(synced, "refd synchronised at stratum %d with |offset| < 1 ms" % want_stratum,
                    tries=90, interval=1.0,
                    last=lambda: (last, refd.alive(), refd.log_text()[-800:]))


def refd_log(lab, name="refd"):
    """refd's `logfile` (configured by refd_client_conf); its stderr only if
    it never created the logfile, so no line is counted twice."""
    p = lab.path(name + ".log")
    if not p.exists():
        p = lab.path(name + ".out")
    return p.read_text(errors="replace") if p.exists() else ""


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_refd_client_of_real_server(request, lab, refd_bin, ntpdig_bin, server):
    request.getfixturevalue(server + "_bin")  # skips when that daemon is missing
    starter, served = SERVERS[server]
    ns_srv, ns_cli = lab.pair(SRV, CLI)
    starter(lab, ns_srv)
    # default limits (tos maxdist 1.5 s): refd takes the server once the
    # server's root dispersion and its own filter dispersion have come down
    refd = lab.refd(nl.refd_client_conf(lab, SRV), ns=ns_cli)
    t0 = time.monotonic()
    dig, q = refd_synced_view(lab, ns_srv, ns_cli, served + 1, refd)
    lab.note("refd synced to %s after %.1f s: served %s; ntpdig from server ns: offset %+.6f",
             server, time.monotonic() - t0, q, dig["offset"])
    assert dig["stratum"] == served + 1
    assert dig["leap"] == "no-leap"
    assert abs(dig["offset"]) < 1e-3

    # refd's own view of its server and of itself, through mode 6 (ntpq)
    rows, r = nl.ntpq_peers(ns_cli)
    lab.note("ntpq -p on refd: %s", rows)
    sel = [x for x in rows if x["remote"] == SRV]
    assert sel and sel[0]["tally"] == "*", (rows, r.stdout, r.stderr)
    assert sel[0]["st"] == served and sel[0]["t"] == "u"
    assert abs(sel[0]["offset"]) < 1.0, "ms"
    rv, r = nl.ntpq_rv(ns_cli)
    lab.note("ntpq rv on refd: %s", {k: rv.get(k) for k in ("stratum", "leap", "refid",
                                                           "offset", "rootdisp")})
    assert rv.get("stratum") == str(served + 1), r.stdout
    assert rv.get("refid") == SRV, r.stdout
    assert rv.get("leap") in ("0", "00"), r.stdout
    assert abs(float(rv["offset"])) < 1.0, "ms: %s" % r.stdout
    assert refd.alive()


# "0.0.0.0 c04c 0c clock_step step time server 10.200.0.1 offset -28.199979 sec (...)"
STEP_RE = re.compile(r"clock_step\b.*?\b(?:offset|step)\s+([-+]?\d+\.\d+)")


def clock_steps(text):
    """Step sizes (s) of every clock_step event in refd's log."""
    out = []
    for line in text.splitlines():
        if "clock_step" in line:
            m = STEP_RE.search(line)
            out.append(float(m.group(1)) if m else None)
    return out


def test_refd_ahead_steps_once(lab, refd_bin, chronyd_bin, ntpdig_bin):
    ns_srv, ns_cli = lab.pair(SRV, CLI)
    start_chronyd_server(lab, ns_srv)
    # With a frequency from an earlier run the clock state machine (ntpd's
    # FSET) is synchronised right after the initial step; without a drift
    # file refd measures frequency for 300 s first (FREQ state, ntpd's
    # stepout), serving LI=3 all that time (measured: log "freq_mode").
    lab.write("refd.drift", "0.000\n")
    refd = lab.refd(nl.refd_client_conf(lab, SRV), ns=ns_cli,
                    extra=["--clock-offset", "+28.2"])
    early = lab.probe(ns_srv, "query", CLI, 123, 1)
    lab.note("refd right after start: leap %s stratum %s offset %+.3f", early.get("leap"),
             early.get("stratum"), early.get("offset", float("nan")))
    steps = wait_for(lambda: clock_steps(refd_log(lab)), "refd logs clock_step", tries=60,
                     interval=0.5, last=lambda: refd_log(lab)[-1500:])
    dig, q = refd_synced_view(lab, ns_srv, ns_cli, 6, refd)
    steps = clock_steps(refd_log(lab))
    lab.note("clock_step events: %s; afterwards ntpdig offset %+.6f, served stratum %s",
             steps, dig["offset"], q.get("stratum"))
    assert len(steps) == 1, "exactly one step: %s" % steps
    assert steps[0] is not None, "the clock_step event must carry its size"
    assert abs(steps[0] - (-28.2)) < 1e-3, "step %.6f s, want -28.2 s" % steps[0]
    assert abs(dig["offset"]) < 1e-3
    assert refd.alive()
