# SPDX-License-Identifier: BSD-2-Clause
"""realnet's implementations: how each daemon (refd, NTPsec ntpd, chronyd,
OpenNTPD; refd -Q or ntpdig for query nodes) is configured from the
scenario's ntp.conf, and (ImplementationsMixin, part of realnet.run.RealRun)
started, stopped, restarted, disturbed and read back from its logs."""

import ipaddress
import json
import math
import re
import tempfile
import time
from pathlib import Path

from . import ntplab_net as nl
from .scenario import (
    _ASSOC, CHRONY_SERVE_PORT, ctl_command, FAKETIME_LIB, fault_spec, OBSERVER,
    OPENNTPD_TRUST_VALID, ScenarioError, STEP_THRESHOLD)
from .topology import map_restrict_net


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


def tally_reason(t):
    """What ntpq's tally means: the reason when the daemon names none (ntpd;
    refd names its own in the mode 6 variable "reason")."""
    return {"x": "falseticker (tally 'x')", ".": "excess (tally '.')",
            "-": "outlier (tally '-')", " ": "reject (tally ' ')", "+": "candidate",
            "#": "backup", "*": "system peer", "o": "system peer (PPS)"}.get(t, t)


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


class ImplementationsMixin:
    """RealRun's daemons: start, stop and restart each implementation, one-shot
    queries, run-time events on refd, and what their logs say."""

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
