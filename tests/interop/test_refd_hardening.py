# SPDX-License-Identifier: BSD-2-Clause
"""refd's low-severity holes of issue 11 (items 7, 9 and 10), seen from
outside, on the real binary:

* item 7: without -n, a start-up failure after the fork (-u nosuchuser, a pid
  file that cannot be written) made the parent exit 0 while the daemon died;
  the parent now waits for the daemon's "started" and exits with its status
  and message.
* item 9: command-line numbers and --listen are checked before anything is
  bound, with exit 2.
* item 10: refd -Q took refd's own RATE kiss-o'-death (LI=3, stratum 0) for
  "server unsynchronised" and went on asking; it now stops at the kiss and
  exits 3.

Every refd runs under capsh --drop=cap_sys_time on its virtual clock, in a
namespace of the test's own; the detached daemon of item 7 is stopped by its
PID (read from its pid file and checked against /proc) whatever the outcome."""

import json
import os
import signal
import time
from pathlib import Path

import pytest

import ntplab_net as nl
from ntplab_net import wait_for

EXIT_USAGE = 2      # docs/refd.8.md EXIT STATUS: a bad command line
EXIT_QUERY_KOD = 3  # docs/refd.8.md EXIT STATUS: -Q found no suitable server, and a KoD
KOD_HEADWAY = 9.0   # s: `discard average 3` is 2^3 s between KoDs, plus 1 s


def query_json(refd_bin, ns, host, samples=4, timeout=2):
    """refd -Q HOST -n SAMPLES --json -> (dict or None, CompletedProcess);
    unlike nl.refd_query, the number of samples is ours."""
    r = nl.run([refd_bin, "-Q", host, "-n", str(samples), "-t", str(timeout), "--json"],
               ns=ns, timeout=timeout + 6)
    try:
        return json.loads(r.stdout), r
    except ValueError:
        return None, r


# --------------------------------------------------------------------------
# item 10: refd -Q and a RATE kiss-o'-death


def test_query_stops_at_refd_rate_kod(lab, refd_bin):
    """refd's own RATE KoD has LI=3 and stratum 0.  A -Q of 4 samples sends
    its second request as soon as the first reply arrives; with `discard
    minimum 1` that one (if not the first) is limited and gets the KoD."""
    ns = lab.ns()
    refd = lab.refd(nl.refd_local_conf(lab, extra=["restrict default limited kod",
                                                   "discard average 3 minimum 1"]), ns=ns)
    wait_for(lambda: lab.probe(ns, "query", "127.0.0.1", 123, 1).get("stratum") == 6,
             "refd synchronised to its local clock", tries=30, interval=0.5)
    time.sleep(2.5)  # more than the 2 s minimum headway since the probe's last request

    r = nl.run([refd_bin, "-Q", "127.0.0.1", "-n", "4", "-t", "2"], ns=ns, timeout=8)
    lab.note("refd -Q: rc %d, stdout %r, stderr %r", r.returncode, r.stdout, r.stderr)
    assert r.returncode == EXIT_QUERY_KOD, (r.returncode, r.stdout, r.stderr)
    assert "no server suitable for synchronization found" in r.stderr
    assert "127.0.0.1: KoD RATE" in r.stderr, r.stderr
    assert "unsynchronised" not in r.stderr, "a kiss is not an unsynchronised server"

    time.sleep(KOD_HEADWAY)  # refd sends at most one KoD per average headway
    q, r = query_json(refd_bin, ns, "127.0.0.1")
    lab.note("refd -Q --json: rc %d %s", r.returncode, q)
    assert r.returncode == EXIT_QUERY_KOD, (r.returncode, r.stdout, r.stderr)
    srv = q["servers"][0]
    assert srv["kod"] == "RATE" and srv["usable"] is False, srv
    assert srv["reason"] == "KoD RATE", srv
    assert srv["requests"] <= 2, "the queries stop at the kiss: %s" % srv
    assert q["result"] == "none"
    assert refd.alive()

