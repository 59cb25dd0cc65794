# SPDX-License-Identifier: BSD-2-Clause
"""realnet's scenario: the file as ntpsim loads it (`ntpsim check
--normalized`), its nodes, and the time scaling that makes a real run
short (the scaled scenario is itself an ntpsim scenario).  Also the
constants every part of realnet shares."""

import copy
import functools
import json
import math
import os
import re
import socket
import subprocess
import tempfile

import yaml

from . import ntplab_net as nl


FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
NFT = "/usr/sbin/nft"
IPTABLES = "/usr/sbin/iptables"
CHRONY_SERVE_PORT = 123
OBSERVER = "10.200.255.254"     # reserved: 10.200.255.0/24 is never given to a node
LAB_PLEN = 16
MIN_POLL = 3                    # log2 s: time scaling shortens polls to 8 s at the fastest
                                # (ours: real daemons under load; the core goes to 0)
DEFAULT_MINPOLL = 6             # log2 s, ntpd NTP_MINDPOLL
DEFAULT_MAXPOLL = 10            # log2 s, ntpd NTP_MAXDPOLL
DEFAULT_STEPOUT = 300.0         # s, NTPsec CLOCK_MINSTEP (core NTP_DISC_STEPOUT_DEFAULT);
                                # `tinker stepout` is floored here, in ntpd and ntplab
STEP_THRESHOLD = 0.128          # s, RFC 5905 STEPT
NETEM_MIN_DELAY = 1e-3          # s: below this a pure delay is not shaped (see shaping_plan)
MAX_REAL_NODES = 24             # namespaces and daemons we are willing to start
SAMPLE_INTERVAL = 1.0           # s between observer rounds
PEER_INTERVAL = 4.0             # s between ntpq/chronyc readings of nodes that need them
IMPLS_HOST = ("refd", "ntpsec", "chrony", "openntpd")
OPENNTPD_TRUST_VALID = 6        # OpenNTPD TRUSTLEVEL_BADPEER: a peer below it is "not valid"
IMPLS_QUERY = ("refd", "ntpdig")


class ScenarioError(Exception):
    """Bad input: the scenario or the options cannot be run for real."""


# --------------------------------------------------------------------------
# times with units, for time scaling only: the scaled YAML must stay an
# ntpsim scenario, so scale_scenario rewrites the file's own times.  What a
# run uses comes from `ntpsim check --normalized` (SI units, resolved).
# A time's text is read by the loader's own parser (`ntpsim units`,
# core/ntp_units), so realnet has no units table of its own.

@functools.lru_cache(maxsize=None)
def _units_seconds(text):
    b = ntpsim_bin()
    if not b.exists():
        raise ScenarioError("ntpsim not built at %s: realnet reads times with `ntpsim units`" % b)
    r = subprocess.run([str(b), "units", text], capture_output=True, text=True,
                       timeout=30, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise ScenarioError("expected a time such as 30s, 5min or 190us, got %r" % text)
    return float(r.stdout.split()[0])


def seconds(v):
    """A scenario time ("30s", "5min", 12) in seconds, as ntpsim reads it."""
    if isinstance(v, bool):
        raise ScenarioError("expected a time such as 30s, 5min or 190us, got %r" % v)
    if isinstance(v, (int, float)):
        return float(v)
    return _units_seconds(str(v))


def fmt_s(s):
    """sim_format_seconds(): '1.000 ms', '120.0 us', '28.200000 s'."""
    if s is None:
        return "-"
    a = abs(s)
    if not math.isfinite(s):
        return "%g" % s
    if a == 0.0:
        return "0 s"
    if a < 1e-6:
        return "%.1f ns" % (s * 1e9)
    if a < 1e-3:
        return "%.1f us" % (s * 1e6)
    if a < 1.0:
        return "%.3f ms" % (s * 1e3)
    return "%.6f s" % s


# --------------------------------------------------------------------------
# the scenario file, as ntpsim loads it


def ntpsim_bin():
    return nl.build_dir() / "sim" / "ntpsim"


def ntpnetem_bin():
    return nl.build_dir() / "ntpnetem" / "ntpnetem"


def normalize(path):
    """`ntpsim check --normalized FILE`: the scenario as ntpsim loaded it
    (docs/ntpsim.1.md, "Normalized scenario"); every mistake (also in
    `impl:` and `real:`) reported as ntpsim reports it, file:line:col."""
    b = ntpsim_bin()
    if not b.exists():
        raise ScenarioError("ntpsim not built at %s: realnet runs the scenario ntpsim loads "
                            "(ntpsim check --normalized)" % b)
    r = subprocess.run([str(b), "check", "--normalized", str(path)], capture_output=True,
                       text=True, timeout=60, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise ScenarioError("ntpsim check rejects %s:\n%s" % (path, (r.stderr + r.stdout).strip()))
    try:
        return json.loads(r.stdout)
    except ValueError as e:
        raise ScenarioError("ntpsim check --normalized %s: not JSON (%s)" % (path, e))


def normalize_data(data):
    """normalize() of a scenario held as a mapping (a scaled one)."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="realnet-") as f:
        f.write(yaml.safe_dump(data, sort_keys=False))
        f.flush()
        return normalize(f.name)


_FAULT_ARGS = {"falseticker": "offset", "huge-rootdisp": "rootdisp", "stale-reftime": "stale",
               "wrong-leap": "leap", "kod": "kod"}


def fault_spec(f):
    """A normalized fault (a node's `fault` or a fault event's) as refd's
    --fault / control `fault` spec: "none" or "KIND[,KIND] offset=S ..."."""
    if not f or not f.get("kinds"):
        return "none"
    words = [",".join(f["kinds"])]
    for key in ("offset", "rootdisp", "stale", "leap", "kod"):
        if any(_FAULT_ARGS.get(k) == key for k in f["kinds"]):
            words.append("%s=%.9f" % (key, f[key]) if key in ("offset", "rootdisp", "stale")
                         else "%s=%s" % (key, f[key]))
    return " ".join(words)


def ctl_command(path, text, wait=2.0):
    """One command to refd's control socket (refd --ctl PATH); returns its
    answer ("ok: ..." / "error: ..."; "error: " and the OSError when refd
    could not be reached or did not answer within `wait`).  The client socket is a file
    next to PATH: refd may sit in another network namespace, and abstract
    AF_UNIX addresses are per namespace, file paths are not."""
    me = str(path) + ".c%d" % os.getpid()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        if os.path.exists(me):
            os.unlink(me)
        s.bind(me)
        s.settimeout(wait)
        s.sendto(text.encode(), str(path))
        return s.recv(4096).decode("ascii", "replace")
    except OSError as e:  # refd gone, socket missing, no answer within wait
        return "error: %s" % e
    finally:
        s.close()
        if os.path.exists(me):
            os.unlink(me)


# clock model terms neither refd's virtual clock nor libfaketime reproduce,
# with their value when off (sim/sim_osc.h)
_CLOCK_OFF = {"wander": 0.0, "temp_amp": 0.0, "noise": 0.0, "resolution": 1e-9}


class Node:
    """One concrete node (replicas expanded by ntpsim), as the real world
    needs it: a node object of the normalized scenario.  What a time
    scale changes (conf, start, query times, discipline) RealRun takes
    from the scaled one."""

    def __init__(self, d):
        self.template = d["template"]
        self.name = d["name"]
        self.addr = d["address"]               # scenario address (string)
        self.real = None                       # 10.200.x.y
        self.kind = d["kind"]
        self.conf = d["conf"] or ""
        self.keys = d.get("keys")              # `keys: |`, the key file text (or None)
        self.clock_offset = d["clock"]["offset"]
        self.clock_freq = d["clock"]["freq"]
        self.clock_extra = sorted(k for k, off in _CLOCK_OFF.items() if d["clock"][k] != off)
        self.drift_ppm = d["drift_ppm"]
        self.big_first_step = d["big_first_step"]
        self.fault_spec = fault_spec(d["fault"]) if d["fault"] else None
        self.impl = d["impl"]
        self.discipline = discipline_words(d)
        q = d["query"] or {}
        self.q_servers = server_names(q)
        self.q = query_fields(q)


def server_names(q):
    """A normalized query's servers by name (or address when named by one)."""
    return [s["name"] or s["address"] for s in q.get("servers", [])]


def query_fields(q):
    return {"samples": q.get("samples", 4), "interval": q.get("interval", 1.0),
            "timeout": q.get("timeout", 1.0), "set": q.get("set", False),
            "unprivileged": q.get("unprivileged", True)}


def discipline_words(d):
    """A normalized node's clock discipline as the words of ntplab's
    `discipline` line (the scenario key or the conf's own line, as ntpsim
    resolved them: name, then the parameters given); None for the
    default."""
    disc = d.get("discipline") or {}
    if not disc.get("configured"):
        return None
    words = [disc["configured"]]
    for p in disc["params"]:
        if p["value"] is not None:
            words += [p["name"], str(p["value"])]  # shortest exact
    return words


class Scenario:
    """The scenario to run: the normalized JSON (norm) and, for scaling and
    the real world's own settings (`real: impl`), the file's mapping."""

    def __init__(self, path, data, norm):
        self.path = str(path)
        self.data = data
        self.norm = norm
        self.name = norm["name"]
        self.seed = norm["seed"]
        self.duration = norm["duration"]
        self.sync_bound = norm["sync_bound"]
        self.nodes = [Node(d) for d in norm["nodes"]]
        self.by_name = {n.name: n for n in self.nodes}
        self.templates = {}
        for n in self.nodes:
            self.templates.setdefault(n.template, []).append(n)
        self.by_addr = {n.addr: n for n in self.nodes}
        real = data.get("real") or {}
        self.real_impl = dict(real.get("impl") or {})
        self.real_time_scale = norm["real"]["time_scale"]

    def resolve(self, name):
        """A node name, a template name or an address -> list of Nodes."""
        s = str(name)
        if s in self.by_name:
            return [self.by_name[s]]
        if s in self.templates:
            return list(self.templates[s])
        if s in self.by_addr:
            return [self.by_addr[s]]
        return []

    def named(self, names):
        """The nodes of a normalized list of names, or all for "any"."""
        return list(self.nodes) if names == "any" else [self.by_name[x] for x in names]


def load_scenario(path):
    norm = normalize(path)  # lines, checks and errors: ntpsim's
    with open(path) as f:
        data = yaml.safe_load(f)
    return Scenario(path, data, norm)


# --------------------------------------------------------------------------
# time scaling (the scaled scenario is itself an ntpsim scenario)

_ASSOC = ("server", "peer", "pool")


def scale_conf(text, k, add_iburst=True):
    """Polls down by log2 k (not below NTP_MINPOLL), iburst on remote
    servers, stepout / k.  Returns (text, notes)."""
    if k <= 1:
        return text, []
    shift = max(0, int(math.floor(math.log2(k) + 0.5)))
    out, notes = [], []
    for line in text.splitlines():
        body, _, comment = line.partition("#")
        w = body.split()
        if w and (w[0] in _ASSOC or (w[0] == "refclock" and len(w) > 1 and w[1] == "local")):
            local = w[0] == "refclock" or (len(w) > 1 and w[1].startswith("127.127."))
            opts = w[2:]
            mn = DEFAULT_MINPOLL
            mx = None
            keep = []
            i = 0
            while i < len(opts):
                if opts[i] in ("minpoll", "maxpoll") and i + 1 < len(opts):
                    if opts[i] == "minpoll":
                        mn = int(opts[i + 1])
                    else:
                        mx = int(opts[i + 1])
                    i += 2
                    continue
                keep.append(opts[i])
                i += 1
            if mx is None:
                mx = mn if local else max(mn, DEFAULT_MAXPOLL)
            nmn = max(MIN_POLL, mn - shift)
            nmx = max(nmn, mx - shift)
            if local:
                nmx = nmn
            if nmn != mn or nmx != mx:
                eff = 2 ** (mn - nmn)
                notes.append("%s %s: minpoll %d -> %d, maxpoll %d -> %d%s" % (
                    w[0], w[1] if len(w) > 1 else "", mn, nmn, mx, nmx,
                    "" if eff == k else " (polls %gx faster, not %gx: NTP_MINPOLL %d)"
                    % (eff, k, MIN_POLL) if eff < k else ""))
            if add_iburst and not local and w[0] in ("server", "pool") and "iburst" not in keep:
                keep.append("iburst")
                notes.append("%s %s: iburst added" % (w[0], w[1]))
            w = w[:2] + keep + ["minpoll", str(nmn), "maxpoll", str(nmx)]
            line = " ".join(w) + ((" #" + comment) if comment else "")
        elif len(w) >= 2 and w[0] == "tinker":
            ws = list(w)
            for i in range(1, len(ws) - 1):
                if ws[i] == "stepout":
                    old = float(ws[i + 1])
                    ws[i + 1] = "%g" % (old / k)
                    notes.append("tinker stepout %g -> %s s" % (old, ws[i + 1]))
            line = " ".join(ws)
        out.append(line)
    return "\n".join(out) + "\n", notes


def conf_stepout(text):
    """The stepout (s) an ntp.conf gives ntpd: the last `tinker stepout`,
    never below CLOCK_MINSTEP (300 s), else 300 s."""
    v = DEFAULT_STEPOUT
    for line in text.splitlines():
        w = line.partition("#")[0].split()
        for i in range(1, len(w) - 1):
            if w[0] == "tinker" and w[i] == "stepout":
                v = max(DEFAULT_STEPOUT, float(w[i + 1]))
    return v


# The time constants of each discipline that a time-scaled run shrinks, with
# their defaults: ntpd's stepout (from `tinker stepout`, floored at 300 s by
# ntpd but not as a parameter), regress's start-up wait for silent sources.
REGRESS_WAIT = 128.0  # s, core/ntp_regress.c `wait`


def _time_param(name, conf):
    if name == "regress":
        return "wait", REGRESS_WAIT
    return "stepout", conf_stepout(conf)


def scale_discipline(n, k):
    """ntpd floors `tinker stepout` at 300 s, so a scaled stepout reaches
    ntplab (ntpsim and refd alike) as the `stepout` parameter of the node's
    discipline, which has no floor: the FREQ measurement and the startup
    clamp shrink with the run; regress's `wait` shrinks the same way.
    Returns a note."""
    conf = n.get("conf", "")
    d = n.get("discipline")
    lines = conf.splitlines()
    for i, line in enumerate(lines):
        w = line.partition("#")[0].split()
        if w and w[0] == "discipline" and len(w) > 1:
            key, dflt = _time_param(w[1], conf)
            v = dflt / k
            if key in w[2::2]:
                j = w.index(key, 2)
                v = float(w[j + 1]) / k
                w[j + 1] = "%g" % v
            else:
                w += [key, "%g" % v]
            lines[i] = " ".join(w)
            n["conf"] = "\n".join(lines) + "\n"
            return "discipline line: %s %g s" % (key, v)
    if isinstance(d, dict):
        d = dict(d)
    else:
        kernel = not re.search(r"^\s*disable\b[^#\n]*\bkernel\b", conf, re.M)
        d = {"name": d if d is not None else ("ntpd-kernel" if kernel else "ntpd-daemon")}
    key, dflt = _time_param(d["name"], conf)
    d[key] = float(d[key]) / k if key in d else dflt / k
    n["discipline"] = d
    return "discipline: %s, %s %g s%s" % (
        d["name"], key, d[key],
        " (ntpd floors tinker stepout at 300 s)" if key == "stepout" else "")


def scale_scenario(data, k, add_iburst=True):
    """The scenario with every time divided by k.  Returns (data, notes)."""
    d = copy.deepcopy(data)
    if k <= 1:
        return d, []
    notes = ["duration %s -> %g s" % (d["duration"], seconds(d["duration"]) / k)]
    d["duration"] = seconds(d["duration"]) / k

    def sc(m, key):
        # a time, or a list of them; words ("end"), infinities and a
        # mapping (`since: {node, name}`) are kept
        v = m.get(key)
        if v is None or isinstance(v, dict) or str(v).strip() in ("end", "inf", "-inf"):
            return
        if isinstance(v, list):
            m[key] = [x if str(x).strip() in ("inf", "-inf") else seconds(x) / k for x in v]
        else:
            m[key] = seconds(v) / k

    sc(d, "settle")  # where the report's settled part begins
    if "sample_interval" in d and seconds(d["sample_interval"]) > 0:
        d["sample_interval"] = max(1.0, seconds(d["sample_interval"]) / k)
    for n in d["nodes"]:
        sc(n, "start")
        if n.get("kind") == "query":
            sc(n, "at")
        if "conf" in n:
            notes.append("%s: %s" % (n["name"], scale_discipline(n, k)))
            n["conf"], cn = scale_conf(n["conf"], k, add_iburst)
            notes += ["%s: %s" % (n["name"], x) for x in cn]
    for e in d.get("events") or []:
        for key in ("at", "every", "until"):
            sc(e, key)
    for c in d.get("checks") or []:
        for key in ("within", "after", "from", "to", "not_within", "at", "since", "first",
                    "last"):
            sc(c, key)
    notes.append("events and check times / %g; not scaled: clock offsets and frequency "
                 "errors, wander, link delays, query interval/timeout, sync_bound, packet "
                 "intervals and polls in checks" % k)
    return d, notes
