# SPDX-License-Identifier: BSD-2-Clause
"""Every ntpq command that works against NTPsec ntpd works against refd
(issue 16 §4).

A NTPsec ntpd and a refd, each serving its LOCAL clock on 127.0.0.1:123 in
a namespace of its own, both under capsh --drop=cap_sys_time, both with
`restrict default limited kod` so that their rate-limit (MRU) tables track
clients.  One ntpdig query goes to each, then NTPsec's ntpq runs every
read-only command of its help against both, and the SHAPE of the outputs
is compared: the same lines with the same legends / field names / table
headers in the same order, the same number of columns in table rows.
Values may differ.  Neither output may hold `???`, a Python traceback or
a server error, and ntpq must exit 0.

The commands that take an association id (pstats, readvar/cv of one
association) run after `associations` in the same ntpq session and name
the first one as `&1`, since the daemons' ids differ (ntpd's are random).

Left out: commands that need a key (ifstats, reslist, config, writevar:
ntpd refuses them without one too), and what changes settings of ntpq
itself (host, timeout, ...)."""

import re

from realnet import ntplab_net as nl

# (command, how its output is compared)
COMMANDS = [
    ("peers", "table"),
    ("lpeers", "table"),
    ("opeers", "table"),
    ("lopeers", "table"),
    ("apeers", "table"),
    ("associations", "table"),
    ("lassociations", "table"),
    ("passociations", "table"),
    ("lpassociations", "table"),
    ("readvar", "vars"),
    ("rv", "vars"),
    ("readlist", "vars"),
    ("rl", "vars"),
    ("clocklist", "vars"),
    ("cl", "vars"),
    ("sysinfo", "legend"),
    ("sysstats", "legend"),
    ("iostats", "legend"),
    ("monstats", "legend"),
    ("kerninfo", "legend"),
    ("authinfo", "legend"),
    ("timerstats", "legend"),
    ("ntsinfo", "legend"),
    ("mrulist", "mru"),
    ("version", "legend"),
]

# Per association, after `associations` in the same session: (command, kind)
ASSOC_COMMANDS = [
    ("pstats &1", "legend"),
    ("readvar &1", "vars"),
    ("clockvar &1", "vars"),
]

# System variables ntpd has and refd does not, each for a reason:
# mintc: ntpd's `tos mintc` (minimum time constant); ntplab's
# disciplines take no such setting, and a made-up value would be a lie.
RV_ONLY_NTPD = {"mintc"}

# ntpq's own notes, printed for either daemon alike (authinfo asks for two
# variables NTPsec 1.2.2 itself no longer has: "uncached keys", "expired").
NTPQ_NOTES = ("Unknown variable.  Trying one at a time.",)
UNKNOWN_IN_BOTH = ("uncached keys:", "expired keys:")


def ntpq(ns, command):
    r = nl.run([nl.NTPQ, "-n", "-c", command, "127.0.0.1"], ns=ns, timeout=20)
    return r


def ntpq_assoc(ns, command):
    """`associations`, then command, in one ntpq session; the output after
    the associations table."""
    r = nl.run([nl.NTPQ, "-n", "-c", "associations", "-c", command, "127.0.0.1"], ns=ns,
               timeout=20)
    lines = r.stdout.splitlines(keepends=True)
    rule = next((i for i, ln in enumerate(lines) if ln.startswith("=====")), -1)
    rest = rule + 1
    while rest < len(lines) and re.match(r"^\s*\d+\s+\d+\s+[0-9a-f]{4}\s", lines[rest]):
        rest += 1
    r.stdout = "".join(lines[rest:])
    return r


def clean_lines(text):
    return [ln.rstrip() for ln in text.splitlines()
            if ln.strip() and ln.strip() not in NTPQ_NOTES]


def legend_shape(text):
    """One line per row: its legend (text before the first run of two
    blanks), or the field names of an 'a=1 b=2' status line."""
    out = []
    for ln in clean_lines(text):
        if ln.startswith("associd="):
            out.append(" ".join(re.findall(r"(\w+)=", ln)))
        else:
            out.append(re.split(r"\s{2,}", ln.strip())[0])
    return out


def table_shape(text):
    """Header lines as they are up to the ===== rule, then each row's
    number of columns."""
    lines = clean_lines(text)
    out, body = [], False
    for ln in lines:
        if body:
            out.append("row of %d columns" % len(ln.split()))
        else:
            out.append(ln)
            body = ln.startswith("=====")
    return out


def vars_shape(text, drop=()):
    names = re.findall(r"(\w+)=", text)
    return [n for n in names if n not in drop]


def mru_shape(text):
    """Header and rule as they are, each entry's column count, and the
    words of the '# Collected ...' trailer lines."""
    out = []
    for ln in clean_lines(text):
        if ln.startswith("#"):
            out.append(" ".join(w for w in ln.split() if not re.match(r"^[\d.]+$", w)))
        elif re.match(r"^\s*\d", ln):
            out.append("row of %d columns" % len(ln.split()))
        else:
            out.append(ln)
    # rows: both lists must have some; their number may differ
    rows = [s for s in out if s.startswith("row of")]
    return [s for s in out if not s.startswith("row of")], sorted(set(rows))


def assert_clean(name, command, r):
    text = r.stdout + r.stderr
    assert r.returncode == 0, "%s %s: exit %s\n%s" % (name, command, r.returncode, text)
    assert "Traceback" not in text, "%s %s crashed ntpq:\n%s" % (name, command, text)
    assert "***" not in text, "%s %s: server error\n%s" % (name, command, text)
    for ln in clean_lines(r.stdout):
        if "?" in ln and not ln.strip().startswith(UNKNOWN_IN_BOTH):
            raise AssertionError("%s %s: unknown value in %r\n%s" % (name, command, ln, text))


def start_pair(lab):
    ns_ntpd, ns_refd = lab.ns(), lab.ns()
    lab.ntpd(["server 127.127.1.0", "fudge 127.127.1.0 stratum 5",
              "restrict default limited kod", "restrict 127.0.0.1"], ns_ntpd)
    lab.refd(nl.refd_local_conf(lab, opts="minpoll 3 maxpoll 3",
                                extra=["restrict default limited kod"]), ns=ns_refd)
    for ns in (ns_ntpd, ns_refd):
        # a client in each MRU table (an unsynchronised server's answer
        # may not please ntpdig: only the request matters here)
        nl.ntpdig_json(ns, "127.0.0.1")
    return ns_ntpd, ns_refd


def test_every_ntpq_command_has_ntpds_shape(lab, refd_bin, ntpd_bin):
    ns_ntpd, ns_refd = start_pair(lab)
    failures = []
    for command, kind in COMMANDS:
        theirs, ours = ntpq(ns_ntpd, command), ntpq(ns_refd, command)
        lab.note("ntpq -c %s: ntpd %d lines, refd %d lines", command,
                 len(theirs.stdout.splitlines()), len(ours.stdout.splitlines()))
        assert_clean("ntpd", command, theirs)
        try:
            assert_clean("refd", command, ours)
            if kind == "legend":
                assert legend_shape(ours.stdout) == legend_shape(theirs.stdout)
            elif kind == "table":
                assert table_shape(ours.stdout) == table_shape(theirs.stdout)
            elif kind == "vars":
                assert vars_shape(ours.stdout) == vars_shape(theirs.stdout, RV_ONLY_NTPD)
            else:
                (ours_fixed, ours_rows), (theirs_fixed, theirs_rows) = (
                    mru_shape(ours.stdout), mru_shape(theirs.stdout))
                assert ours_fixed == theirs_fixed
                assert ours_rows and ours_rows == theirs_rows, (ours_rows, theirs_rows)
        except AssertionError as e:
            failures.append("ntpq -c %s: %s\n--- ntpd:\n%s--- refd:\n%s" % (
                command, e, theirs.stdout, ours.stdout))
    assert not failures, "\n\n".join(failures)


def test_association_commands_have_ntpds_shape(lab, refd_bin, ntpd_bin):
    """pstats (per-association counters), readvar and clockvar of the LOCAL
    clock's association, against both daemons."""
    ns_ntpd, ns_refd = start_pair(lab)
    failures = []
    for command, kind in ASSOC_COMMANDS:
        theirs, ours = ntpq_assoc(ns_ntpd, command), ntpq_assoc(ns_refd, command)
        assert_clean("ntpd", command, theirs)
        assert theirs.stdout.strip(), "ntpd %s printed nothing" % command
        try:
            assert_clean("refd", command, ours)
            if kind == "legend":
                assert legend_shape(ours.stdout) == legend_shape(theirs.stdout)
            else:
                assert vars_shape(ours.stdout) == vars_shape(theirs.stdout, RV_ONLY_NTPD)
        except AssertionError as e:
            failures.append("ntpq -c %s: %s\n--- ntpd:\n%s--- refd:\n%s" % (
                command, e, theirs.stdout, ours.stdout))
    assert not failures, "\n\n".join(failures)


def test_mrulist_refused_under_nomrulist_and_noquery(lab, refd_bin):
    ns = lab.ns()
    lab.refd(nl.refd_local_conf(lab, opts="minpoll 3 maxpoll 3",
                                extra=["restrict default limited kod",
                                       "restrict 127.0.0.1 nomrulist"]), ns=ns)
    r = ntpq(ns, "mrulist")
    assert "PERMISSION" in r.stdout + r.stderr, (r.returncode, r.stdout, r.stderr)
    r = ntpq(ns, "sysinfo")
    assert r.returncode == 0 and "system peer" in r.stdout, r.stdout + r.stderr


def test_mrulist_refused_under_noquery(lab, refd_bin):
    ns = lab.ns()
    lab.refd(nl.refd_local_conf(lab, opts="minpoll 3 maxpoll 3",
                                extra=["restrict default limited kod",
                                       "restrict 127.0.0.1 noquery"]), ns=ns)
    r = nl.run([nl.NTPQ, "-n", "-c", "timeout 500", "-c", "mrulist", "127.0.0.1"], ns=ns,
               timeout=20)
    assert "Ctrl-C" in r.stdout and "remote address" not in r.stdout, r.stdout + r.stderr
