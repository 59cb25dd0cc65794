# SPDX-License-Identifier: BSD-2-Clause
"""Leap seconds in the real world (issue 15 part 2): refd with a leapfile
serves LI 01 on the last day and real clients see it (chronyd's tracking
"Leap status", NTPsec ntpd's association `leap`), and refd as a client
votes on its servers' LI bits.

The machine's clock is never touched: refd runs a virtual clock
(--clock-offset puts it on the last day of the month), chronyd runs under
libfaketime with the same offset (interop-environment.md §4: faketime works
for chronyd, not for NTPsec ntpd), and every daemon runs under capsh
--drop=cap_sys_time.  The leapfiles are synthetic, with a real NIST hash."""

import calendar
import datetime
import hashlib
import time

import pytest

from realnet import ntplab_net as nl
from realnet.ntplab_net import wait_for

FAST_LOCAL = "minpoll 3 maxpoll 3"
NTP_UNIX = 2208988800  # s, 1900-01-01 to 1970-01-01
DAY = 86400            # s
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


def ntp_of(posix):
    return int(posix) + NTP_UNIX


def leapfile_text(entries, updated, expires):
    """A leap-seconds.list with NIST's #h: SHA-1 of the digits of #$, #@
    and the data lines.  entries: [(posix_s, tai_utc)]."""
    h = hashlib.sha1()
    h.update(str(ntp_of(updated)).encode())
    h.update(str(ntp_of(expires)).encode())
    lines = ["#$\t%d" % ntp_of(updated), "#@\t%d" % ntp_of(expires)]
    for when, tai in entries:
        h.update(("%d%d" % (ntp_of(when), tai)).encode())
        lines.append("%d\t%d\t# synthetic" % (ntp_of(when), tai))
    d = h.hexdigest()
    lines.append("#h\t" + " ".join(d[i:i + 8] for i in range(0, 40, 8)))
    return "\n".join(lines) + "\n"


def next_month_start(posix):
    d = datetime.datetime.fromtimestamp(posix, datetime.timezone.utc)
    y, m = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
    return calendar.timegm((y, m, 1, 0, 0, 0))


def tomorrow_start(posix):
    return (int(posix) // DAY + 1) * DAY


def leap_at_month_end(months=None):
    """(leap posix time, offset s that puts a clock 2 h into its last day):
    the end of this month, or of the next month in `months` (1-12) from now.
    chronyd accepts a leap only on 30 June or 31 December, NTPsec ntpd and
    refd on any month's last day."""
    now = time.time()
    leap = next_month_start(now)
    while months is not None and \
            datetime.datetime.fromtimestamp(leap - DAY, datetime.timezone.utc).month not in months:
        leap = next_month_start(leap)
    return leap, float(round(leap - DAY + 7200 - now))  # whole s: libfaketime's too


def write_leapfile(lab, name, leap, step=1):
    jan2017 = calendar.timegm((2017, 1, 1, 0, 0, 0))
    return lab.write(name, leapfile_text([(jan2017, 37), (leap, 37 + step)],
                                         updated=jan2017, expires=leap + 180 * DAY))


def wait_refd_leap(lab, ns, host, want):
    """refd -Q HOST until its one server answers with leap `want`; the
    query uses the machine's clock, so only the leap field counts."""
    last = {}

    def leap():
        q, r = nl.refd_query(ns, host)
        last["q"] = q or (r.stdout + r.stderr)
        rows = q.get("servers", []) if q else []
        return rows[0] if rows and rows[0].get("leap") == want else None

    return wait_for(leap, "refd -Q %s: leap %s" % (host, want), tries=60, interval=0.5,
                    last=lambda: last.get("q"))


def test_chronyd_sees_refd_leap_status(lab, refd_bin, chronyd_bin):
    # chronyd takes a leap only at the end of June or December: the next of
    # those, up to six months ahead of the machine's clock, for both clocks
    leap, offset = leap_at_month_end(months=(6, 12))
    ns = lab.ns()
    lf = write_leapfile(lab, "leap.list", leap)
    refd = lab.refd(nl.refd_local_conf(lab, stratum=1, opts=FAST_LOCAL,
                                       extra=["leapfile %s" % lf]),
                    ns=ns, extra=["--clock-offset", "%+.3f" % offset])
    q = wait_refd_leap(lab, ns, "127.0.0.1", "add-leap")
    lab.note("refd -Q on refd's virtual last day: %s", q)
    env = {"LD_PRELOAD": FAKETIME_LIB, "FAKETIME": "%+ds" % round(offset)}
    chronyd, sock = lab.chronyd([
        "server 127.0.0.1 iburst minpoll 0 maxpoll 2",
        "port 0",
        "maxdistance 16",
    ], ns=ns, env=env)
    last = {}

    def insert():
        t = nl.chrony_tracking(lab, sock, ns=ns)
        last["t"] = t
        return t if t and t["leap"] == "Insert second" else None

    tr = wait_for(insert, "chronyc tracking Leap status: Insert second", tries=120,
                  interval=0.5, last=lambda: last.get("t"))
    lab.note("chronyd (faketime %s) tracking: %s", env["FAKETIME"], tr)
    assert abs(tr["system_time"]) < 0.1, "chronyd (faked) agrees with refd's virtual clock"
    assert refd.alive() and chronyd.alive()


def test_ntpd_sees_refd_leap_bits(lab, refd_bin, ntpd_bin):
    """NTPsec ntpd cannot run under faketime, so here refd's clock is the
    real one and its leapfile lists a leap at the end of today (a synthetic
    file may): refd serves LI 01 now, and ntpd's association with it shows
    leap=01 (ntpq -c "rv ASSOC").  ntpd runs `disable ntp` (it must not
    touch the clock), so it makes no clock updates and counts no votes: its
    system leap is not judged here (refd's vote is, in the next test)."""
    leap = tomorrow_start(time.time())
    if leap - time.time() < 600:
        pytest.skip("too close to midnight UTC for a leap at its end")
    ns_srv, ns_cli = lab.pair("10.200.0.1", "10.200.0.2")
    lf = write_leapfile(lab, "leap.list", leap)
    refd = lab.refd(nl.refd_local_conf(lab, stratum=1, opts=FAST_LOCAL,
                                       extra=["leapfile %s" % lf]), ns=ns_srv)
    ntpd = lab.ntpd([
        "server 10.200.0.1 iburst minpoll 3 maxpoll 3",
        "disable ntp",
        "restrict default nomodify",
        "restrict 127.0.0.1",
    ], ns=ns_cli)
    last = {}

    def peer_leap():
        rows, r = nl.ntpq_peers(ns_cli)
        last["p"] = (rows, r.stdout[-300:])
        r2 = nl.run([nl.NTPQ, "-n", "-c", "associations", "127.0.0.1"], ns=ns_cli)
        ids = [int(line.split()[1]) for line in r2.stdout.splitlines()
               if line.strip() and line.split()[0].isdigit()]
        for a in ids:
            v, _ = nl.ntpq_rv(ns_cli, assoc=a)
            last["v"] = v
            if v.get("srcadr") == "10.200.0.1" and v.get("leap") in ("1", "01"):
                return v
        return None

    v = wait_for(peer_leap, "ntpd's association with refd shows leap=01", tries=120,
                 interval=0.5, last=lambda: last)
    sysv, _ = nl.ntpq_rv(ns_cli)
    lab.note("ntpd association: leap=%s stratum=%s; ntpd system: leap=%s leapsec=%s",
             v.get("leap"), v.get("stratum"), sysv.get("leap"), sysv.get("leapsec"))
    assert refd.alive() and ntpd.alive()


def refd_rv(ns, host):
    v, r = nl.ntpq_rv(ns, host=host)
    return v


def test_refd_client_votes(lab, refd_bin):
    """refd as a client of two refd servers, all on their virtual last day of
    the month.  When both sources are in use, one server starts announcing
    a leap (ctl `fault wrong-leap leap=1`): 1 of 2 survivors is no majority
    (NTPsec: leap_vote_ins > sys_survivors / 2) and the client arms nothing;
    when the second one does too, 2 of 2 arm it and the client serves leap
    01 (ntpq -c rv).  The servers' announcements start only once both are
    in use: whichever source is fit alone at the first clock update would
    decide by itself (1 of 1), in refd as in NTPsec (ntpsim's
    ntpd/leap-wrong-minority scenario shows it)."""
    from test_refd_ctl import Ctl

    leap, offset = leap_at_month_end()
    ns = lab.ns()
    off = ["--clock-offset", "%+.0f" % offset]
    ctl = {}
    for i in (1, 2):
        path = lab.path("s%d.ctl" % i)
        lab.refd(nl.refd_local_conf(lab, name="s%d" % i, stratum=1, opts=FAST_LOCAL),
                 ns=ns, name="s%d" % i,
                 extra=off + ["--listen", "127.0.0.%d" % i, "--ctl", path])
        wait_for(path.exists, "s%d's control socket" % i, tries=50, interval=0.1)
        ctl[i] = Ctl(lab, path, name="ctl%d" % i)
    # a drift file: the client starts in FSET, so every poll is a normal
    # clock update (no 300 s of frequency measuring, when ntpd counts no
    # votes either: they come with clock_update's case 1)
    lab.write("c.drift", "0.000\n")
    client = lab.refd(nl.refd_client_conf(lab, "127.0.0.1", name="c",
                                          extra=["server 127.0.0.2 iburst minpoll 3 "
                                                 "maxpoll 3"]),
                      ns=ns, name="c", extra=off + ["--listen", "127.0.0.10"])
    last = {}

    def both_in_use():
        rows, r = nl.ntpq_peers(ns, host="127.0.0.10")
        last["p"] = rows or r.stdout[-300:]
        return rows if len([x for x in rows if x["tally"] in "*+"]) == 2 else None

    rows = wait_for(both_in_use, "the client uses both servers (* and +)", tries=180,
                    interval=0.5, last=lambda: last.get("p"))
    lab.note("client sources: %s", [(x["remote"], x["tally"], x["reach"]) for x in rows])
    ctl[1].ok("fault wrong-leap leap=1")
    time.sleep(30)  # three or more of the client's 8-s polls of each server
    v = refd_rv(ns, "127.0.0.10")
    log = open(lab.path("c.log")).read()
    lab.note("1 of 2 announce, 30 s later: client leap=%s", v.get("leap"))
    assert v.get("leap") in ("0", "00"), "1 of 2 survivors is no majority: %s" % v
    assert "leap_armed" not in log

    ctl[2].ok("fault wrong-leap leap=1")

    def armed():
        v = refd_rv(ns, "127.0.0.10")
        last["v"] = v
        return v if v.get("leap") in ("1", "01") else None

    t0 = time.monotonic()
    v = wait_for(armed, "2 of 2 announce: the client serves leap=01", tries=120,
                 interval=0.5, last=lambda: last.get("v"))
    lab.note("2 of 2 announce: client leap=%s after %.1f s", v.get("leap"),
             time.monotonic() - t0)
    assert "leap_armed" in open(lab.path("c.log")).read()
    assert client.alive()
    for c in ctl.values():
        c.close()
