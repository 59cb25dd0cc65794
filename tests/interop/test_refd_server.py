# SPDX-License-Identifier: BSD-2-Clause
"""refd as a server on its local clock, queried by real clients:
ntpdig (issue 5 item 1), NTPsec ntpq over mode 6 (item 2), rate limiting
and `restrict ignore` (item 7), a malformed-datagram barrage (item 9).

Each test runs refd in a namespace of its own on 127.0.0.1:123, so ntpdig
(port 123 only) can reach it and nothing collides with other tests."""

import time

from realnet import ntplab_net as nl
from realnet.ntplab_net import wait_for

LOCAL_REFID = "7f7f0100"  # 127.127.1.0: ntpd's refid for a fudged LOCAL(0) (stratum != 0)


def start_local_refd(lab, extra=(), stratum=5):
    ns = lab.ns()
    refd = lab.refd(nl.refd_local_conf(lab, stratum=stratum, extra=extra), ns=ns)
    return ns, refd


def first_good_ntpdig(lab, ns, host="127.0.0.1", tries=40):
    """Poll until ntpdig accepts an answer (refd must first select its local
    clock); returns ntpdig's JSON."""
    last = {}

    def ok():
        res, r = nl.ntpdig_json(ns, host, timeout=2)
        last["r"] = (r.returncode, r.stdout.strip(), r.stderr.strip()[-300:])
        return res

    return wait_for(ok, "ntpdig accepts refd's answer", tries=tries, interval=0.5,
                    last=lambda: last.get("r"))


def test_ntpdig_against_refd_local_clock(lab, refd_bin, ntpdig_bin):
    ns, refd = start_local_refd(lab)
    t0 = time.monotonic()
    res = first_good_ntpdig(lab, ns)
    lab.note("ntpdig accepted refd after %.1f s: %s", time.monotonic() - t0, res)

    assert res["stratum"] == 6, "fudge stratum 5 must be served as stratum 6 (ntpd's rule)"
    assert res["leap"] == "no-leap"
    assert abs(res["offset"]) < 1e-3, "loopback offset %.6f s" % res["offset"]
    assert res["ip"] == "127.0.0.1"
    assert res["adjusted"] is False

    # ntpdig's JSON has no refid: read the raw reply with our own client.
    pkt = lab.probe(ns, "query", "127.0.0.1", 123, 2)
    lab.note("raw reply: stratum %s refid %s rootdisp %.6f offset %.6f",
             pkt.get("stratum"), pkt.get("refid_raw"), pkt.get("rootdisp", -1),
             pkt.get("offset", 99))
    assert pkt["answered"] and pkt["org_ok"], "origin must echo our transmit timestamp"
    assert pkt["mode"] == 4 and pkt["version"] == 4 and pkt["leap"] == 0
    assert pkt["stratum"] == 6
    assert pkt["refid_raw"] == LOCAL_REFID, "served refid %s, want 127.127.1.0" % pkt["refid_raw"]
    assert pkt["rootdelay"] == 0.0, "a local clock adds no root delay"
    # right after the first local-clock sample the dispersion of the 7 empty
    # filter stages dominates (~7.9 s); it must stay below MAXDISP
    assert 0.0 < pkt["rootdisp"] < 16.0, "RFC 5905 MAXDISP is 16 s"
    assert abs(pkt["offset"]) < 1e-3
    assert refd.alive()

    # refd's own one-shot query mode reads the same thing.
    q, r = nl.refd_query(ns, "127.0.0.1", timeout=2)
    assert q is not None, "refd -Q --json gave no JSON: rc %d %s %s" % (
        r.returncode, r.stdout, r.stderr)
    lab.note("refd -Q: %s", q)
    assert q.get("stratum") == 6


def test_ntpq_peers_and_rv_against_refd(lab, refd_bin, ntpd_bin):
    ns, refd = start_local_refd(lab)
    first_good_ntpdig(lab, ns)
    last = {}

    def synced_row():
        rows, r = nl.ntpq_peers(ns)
        last["r"] = (r.returncode, r.stdout[-600:], r.stderr[-300:])
        return [row for row in rows if row["tally"] == "*"] and rows

    rows = wait_for(synced_row, "ntpq -p shows refd's local clock selected", tries=20,
                    interval=0.5, last=lambda: last.get("r"))
    lab.note("ntpq -p: %s", rows)
    assert len(rows) == 1, "one association configured"
    row = rows[0]
    assert row["remote"] in ("127.127.1.0", "LOCAL(0)")
    assert row["refid"] == ".LOCL."
    assert row["st"] == 5 and row["t"] == "l"
    assert row["reach"] != 0
    assert abs(row["offset"]) < 1.0, "ms"

    rv, r = nl.ntpq_rv(ns)
    lab.note("ntpq rv: %s", {k: rv.get(k) for k in ("stratum", "leap", "refid", "offset",
                                                    "rootdisp", "version")})
    assert rv.get("stratum") == "6", r.stdout
    assert rv.get("leap") in ("0", "00"), r.stdout
    assert rv.get("refid") in ("127.127.1.0", "LOCAL(0)"), r.stdout
    assert "ntplab" in rv.get("version", ""), r.stdout
    assert "status=" in r.stdout and "leap_none" in r.stdout, r.stdout


def test_ntpq_refused_by_restrict_noquery(lab, refd_bin, ntpd_bin, ntpdig_bin):
    ns, refd = start_local_refd(lab, extra=["restrict default noquery"])
    res = first_good_ntpdig(lab, ns)  # noquery must not stop time service
    assert res["stratum"] == 6
    t0 = time.monotonic()
    r = nl.run([nl.NTPQ, "-n", "-c", "timeout 1000", "-c", "pe", "127.0.0.1"], ns=ns)
    lab.note("ntpq vs noquery after %.1f s: rc %d %r %r", time.monotonic() - t0,
             r.returncode, r.stdout.strip(), r.stderr.strip())
    rows = [line for line in r.stdout.splitlines() if nl.PEER_RE.match(line)]
    assert not rows, "noquery must refuse mode 6, got %s" % rows
    assert "timed out" in (r.stdout + r.stderr).lower() or "nothing received" in (
        r.stdout + r.stderr).lower(), (r.stdout, r.stderr)
    assert refd.alive()


def test_rate_limit_kod(lab, refd_bin):
    # discard minimum 1 -> requests closer than 2^1 s are limited;
    # discard average 3 -> at most one KoD per 2^3 s headway.
    ns, refd = start_local_refd(lab, extra=["restrict default limited kod",
                                            "discard average 3 minimum 1"])
    wait_for(lambda: lab.probe(ns, "query", "127.0.0.1", 123, 1).get("stratum") == 6,
             "refd synchronised to its local clock", tries=30, interval=0.5)
    time.sleep(2.5)  # the probe above was a request too: start with a clean headway
    interval, count = 0.2, 20
    out = lab.probe(ns, "flood", "127.0.0.1", 123, interval, count)
    lab.note("flood of %d requests every %.1f s: %s", count, interval, out)
    assert out["unmatched"] == 0, "every answer must echo one of our requests"
    assert out["other"] == 0, "answers are either normal (stratum 1..15) or KoD"
    assert out["replies"] + out["kods"] + out["unanswered"] == count
    assert out["kods"] >= 1, "a source polling every 0.2 s must get a RATE KoD"
    assert set(out["kod_codes"]) == {"RATE"}, out["kod_codes"]
    # headway 0.2 s < 2 s after the first request: only one normal answer
    assert out["replies"] <= 1 + int(count * interval / 2), out
    assert out["replies"] < count
    assert out["kods"] <= 1 + int(count * interval / 8), "at most one KoD per average headway"
    assert refd.alive()


def test_restrict_ignore_is_silent(lab, refd_bin, ntpdig_bin):
    ns, refd = start_local_refd(lab, extra=["restrict default ignore"])
    out = lab.probe(ns, "flood", "127.0.0.1", 123, 0.2, 5)
    lab.note("restrict ignore: %s", out)
    assert out["replies"] == 0 and out["kods"] == 0 and out["other"] == 0, out
    assert out["unmatched"] == 0 and out["unanswered"] == 5, out
    res, r = nl.ntpdig_json(ns, "127.0.0.1", timeout=1)
    assert res is None and r.returncode != 0, (r.stdout, r.stderr)
    assert refd.alive()


def test_malformed_barrage_leaves_refd_serving(lab, refd_bin, ntpdig_bin):
    ns, refd = start_local_refd(lab)
    first_good_ntpdig(lab, ns)
    sent = 0
    for seed in (1, 2, 3):
        out = lab.probe(ns, "barrage", "127.0.0.1", 123, 1000, seed)
        sent += out["sent"]
        assert refd.alive(), "refd died during barrage seed %d: %s" % (
            seed, refd.log_text()[-2000:])
    lab.note("barrage: %d datagrams sent", sent)
    assert sent >= 2900
    # still answering, both to ntpdig and to our own client
    res = first_good_ntpdig(lab, ns, tries=10)
    assert res["stratum"] == 6 and abs(res["offset"]) < 1e-3
    pkt = lab.probe(ns, "query", "127.0.0.1", 123, 2)
    assert pkt["answered"] and pkt["org_ok"] and pkt["stratum"] == 6
    assert refd.alive()
