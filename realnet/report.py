# SPDX-License-Identifier: BSD-2-Clause
"""realnet's report: report.json v1 (docs/report.schema.json) in the shape
ntpsim writes, the scenario's checks judged on what was observed, per-node
metrics, stability and NODE.trace.csv (ntpsim's layout, for its plots),
ntpsim's run of the same scaled scenario and the side-by-side text."""

import bisect
import hashlib
import json
import math
import re
import subprocess
import time
from pathlib import Path

from . import ntplab_net as nl
from .scenario import fmt_s, ntpsim_bin, PEER_INTERVAL
from .implementations import chrony_row, openntpd_row, tally_reason


def tool_info():
    """{name, version, commit}: the project's version (CMakeLists.txt) and
    the repository's commit ("+dirty" with uncommitted changes), null when
    git cannot tell."""
    m = re.search(r"project\(ntplab VERSION (\S+)",
                  (nl.REPO / "CMakeLists.txt").read_text(errors="replace"))
    def git(*argv):
        r = subprocess.run(["git", "-C", str(nl.REPO)] + list(argv), capture_output=True,
                           text=True, timeout=10, stdin=subprocess.DEVNULL)
        return r.stdout.strip() if r.returncode == 0 else None
    try:
        commit = git("rev-parse", "HEAD")
        if commit and git("status", "--porcelain", "--untracked-files=no"):
            commit += "+dirty"  # as ntpsim --version says it
    except OSError:
        commit = None
    return {"name": "realnet", "version": m.group(1) if m else None, "commit": commit or None}


def file_sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def infer_reason(tally, reach, server_rows, t, maxdist):
    """The core's reason for a rejected association, inferred from what is
    observable (refd exports the tally, not the reason text): reach 0 ->
    TEST13; a server that advertises leap 3 / stratum 16 -> TEST10; a server
    whose own advertised root distance is already >= maxdist -> TEST11."""
    if tally != " ":
        return tally_reason(tally)
    if not reach:
        return "TEST13 unreachable (inferred: reach 0)"
    last = None
    for r in server_rows:
        if r["t"] <= t:
            last = r
    if last is not None:
        if last["leap"] == 3 or not 1 <= last["stratum"] <= 15:
            return ("TEST10 peer unsynchronised (inferred: it serves leap %d stratum %d)"
                    % (last["leap"], last["stratum"]))
        dist = last["rootdelay"] / 2 + last["rootdisp"]
        if dist >= maxdist:
            return ("TEST11 distance (inferred: it advertises a root distance of %.3f s "
                    ">= maxdist %.3f s)" % (dist, maxdist))
    return tally_reason(tally)


# --------------------------------------------------------------------------
# checks


def _count_verdict(cnt, p, what, extra=""):
    lo, hi = p["min"], p["max"]
    ok = cnt >= lo and (hi is None or cnt <= hi)
    det = "%d %s%s" % (cnt, what, extra)
    if not ok:
        det += ", %d too %s" % (abs(cnt - (lo if cnt < lo else hi)),
                                "few" if cnt < lo else "many")
    return {"pass": ok, "measured": cnt, "detail": det}


# report.json v1 (docs/report.schema.json): the number each kind compares,
# and its unit
_LIMITS = {"synced": ("within", "s"), "offset": ("max", "s"), "rms": ("max", "s"),
           "freq": ("max", "s/s"), "bound": ("min_fraction", "fraction")}


def check_limit(c):
    """(limit, unit) of a normalized check."""
    k, p = c["kind"], c["params"]
    if k in _LIMITS:
        key, unit = _LIMITS[k]
        return p.get(key), unit
    if k in ("steps", "event", "packets", "log"):
        return (p["max"] if p["max"] is not None else p["min"]), "count"
    return None, None


def _check_node(sc, names):
    """How the report names a check's nodes: the node, or the template all
    of them are replicas of."""
    if len(names) == 1:
        return names[0]
    tmpl = {sc.by_name[x].template for x in names}
    return tmpl.pop() if len(tmpl) == 1 else ",".join(names)


def evaluate_checks(run, by, obs):
    """Every check of the (scaled) scenario as ntpsim loaded it: a verdict,
    or skipped with why.  A check on a template passes only if every replica
    passes; the report names the first failing one, as ntpsim does."""
    out = []
    sc = run.sc
    for i, (c, oc) in enumerate(zip(run.norm["checks"], sc.norm["checks"])):
        nodes = sc.named(c["nodes"])
        limit, unit = check_limit(c)
        res = {"index": i, "line": oc["line"], "kind": c["kind"],
               "node": _check_node(sc, c["nodes"]), "label": c["label"],
               "params": dict(c["params"], nodes=len(c["nodes"])), "limit": limit,
               "unit": unit, "censored": False}
        verdicts = []
        skip = None
        for n in nodes:
            v = judge(run, c, n, by.get(n.name), obs)
            if v.get("skip"):
                skip = v["skip"]
                break
            verdicts.append((n, v))
        if skip or not verdicts:
            res.update({"skipped": True, "pass": None, "measured": None,
                        "detail": "skipped: %s" % (skip or "no node"),
                        "reason": skip or "no node"})
        else:
            bad = [x for x in verdicts if not x[1]["pass"]]
            pick = bad[0] if bad else verdicts[-1]
            res.update({"pass": not bad, "measured": pick[1].get("measured"),
                        "detail": ("%s: " % pick[0].name if len(nodes) > 1 else "")
                        + pick[1]["detail"]})
        out.append(res)
    return out


def _judge_synced(run, c, n, obs):
    p = c["params"]
    within, bound = p["within"], p["bound"]
    s = run.node_samples(n, obs)
    _, good = sync_times(s, bound)
    if good is not None:
        ok = good <= within
        return {"pass": ok, "measured": good,
                "detail": "synced from %.3f s on" % good if ok else
                "synced only from %.3f s on, %.3f s too late" % (good, good - within)}
    if not s:
        return {"pass": False, "measured": None, "detail": "never sampled"}
    t, off, _, _, peer = s[-1]  # not synced at the end: so is its last sample
    if off is None:
        return {"pass": False, "measured": None,
                "detail": "not synced at the end: no answer to the observer at %.3f s" % t}
    if not peer:
        return {"pass": False, "measured": None,
                "detail": "not synced at the end: no system peer at %.3f s" % t}
    return {"pass": False, "measured": None,
            "detail": "not synced at the end: |offset| %s at %.3f s (bound %s)" % (
                fmt_s(abs(off)), t, fmt_s(bound))}


def _judge_offset(run, c, n, obs, rms):
    p = c["params"]
    lo = p["after"] if "after" in p else p["from"]
    hi = p.get("to") if p.get("to") is not None else float("inf")
    mx = p["max"] if p["max"] is not None else float("inf")
    s = [(t, o) for t, o, _, _, _ in run.node_samples(n, obs) if o is not None]
    win = [(t, o) for t, o in s if lo <= t <= hi]
    if not win:
        return {"pass": False, "measured": None, "detail": "no samples after %g s" % lo}
    tx, ox = max(win, key=lambda x: abs(x[1]))
    if not rms:
        ok = abs(ox) < mx
        return {"pass": ok, "measured": abs(ox),
                "detail": "max |offset| %s at %.3f s%s" % (
                    fmt_s(abs(ox)), tx, "" if ok else ", over the limit by %s"
                    % fmt_s(abs(ox) - mx))}
    acc = span = 0.0
    for (t1, v1), (t2, v2) in zip(s, s[1:]):
        a, b = max(t1, lo), min(t2, hi)
        if b > a and t2 > t1:
            sl = (v2 - v1) / (t2 - t1)
            va, vb = v1 + sl * (a - t1), v1 + sl * (b - t1)
            acc += (va * va + va * vb + vb * vb) / 3.0 * (b - a)
            span += b - a
    val = math.sqrt(acc / span) if span > 0 else abs(ox)
    ok = val < mx
    return {"pass": ok, "measured": val,
            "detail": "rms offset %s over %.1f s (max |offset| %s)%s" % (
                fmt_s(val), span, fmt_s(abs(ox)), "" if ok else ", over by %s"
                % fmt_s(val - mx))}


def _judge_peers(run, c, n, rep, obs):
    # ntpsim resolved the source to an address; none: a local clock driver
    want = (c["params"]["source"] or {}).get("address") or "LOCAL(0)"

    def is_src(r):
        rem = r["remote"]
        return rem == want or (want == "LOCAL(0)" and (rem.startswith("LOCAL") or
                                                      rem.startswith("127.127.")))
    fin = rep.get("peers") or []
    if c["kind"] == "selected":
        rows = [r for r in fin if is_src(r)]
        if not rows:
            return {"pass": False, "measured": None,
                    "detail": "not the system peer at the end (no such association)"}
        ok = rows[0]["tally"] in "*o"
        return {"pass": ok, "measured": None, "detail": "%s at the end ('%s' %s)" % (
            "system peer" if ok else "not the system peer", rows[0]["tally"],
            rows[0]["reason"])}
    text = c["params"]["reason"]
    hist = run.peer_history(n, obs) + [(round(run.duration, 3), [dict(p) for p in fin])]
    last = None
    for t, rows in hist:
        for r in rows:
            if not is_src(r):
                continue
            reason = r.get("reason") or tally_reason(r["tally"])
            last = "'%s' %s" % (r["tally"], reason)
            if r["tally"] in " x.-" and text.lower() in reason.lower():
                return {"pass": True, "measured": t,
                        "detail": "rejected at %.3f s: %s" % (t, last)}
    return {"pass": False, "measured": None,
            "detail": "never rejected with a matching reason (last seen: %s)"
            % (last or "no such association")}


def _judge_bound(run, c, n, obs):
    frac, span, _ = bound_stats(run.node_samples(n, obs))
    if span <= 0:
        return {"pass": False, "measured": None, "detail": "never claimed synchronisation"}
    mf = c["params"]["min_fraction"]
    return {"pass": frac >= mf, "measured": frac,
            "detail": "|offset| <= root distance %.2f%% of %.1f s claimed synced%s"
            % (frac * 100, span, "" if frac >= mf else ", below the minimum")}


def judge(run, c, n, rep, obs):
    """One node's verdict for normalized check c: {pass, measured, detail}
    or {skip}."""
    k, p = c["kind"], c["params"]
    if rep is None:
        return {"skip": "node not run"}
    if n.kind == "query" and k not in ("query", "packets"):
        return {"skip": "a query node has no clock or associations"}
    if n.impl == "openntpd" and k in ("offset", "rms", "bound"):
        return {"skip": "openntpd's clock is the machine's and never moves (noclockset turns "
                        "adjtime into a no-op; capsh drops cap_sys_time): its true offset is 0 "
                        "by construction, and it advertises no root distance to an observer "
                        "it does not serve; its own offset estimate is in the peer table"}
    if k == "synced":
        return _judge_synced(run, c, n, obs)
    if k in ("offset", "rms"):
        return _judge_offset(run, c, n, obs, k == "rms")
    if k == "steps":
        if n.impl == "ntpsec":
            return {"skip": "ntpd runs on the machine's clock, which it may not step "
                            "(capsh drops cap_sys_time; a client has 'disable ntp')"}
        extra = ""
        if rep["metrics"]["last_step"] is not None:
            extra = " (last %+.6f s at %s s)" % (rep["metrics"]["last_step"],
                                                 rep["step_times"][-1])
        if n.impl == "chrony":
            extra += " [chronyd -x: corrections > 0.128 s, applied at once by its null driver]"
        if n.impl == "openntpd":
            extra += (" [openntpd runs without -s: it never sets the clock, it slews every "
                      "correction with adjtime]")
        return _count_verdict(rep["metrics"]["steps"], p, "steps", extra)
    if k in ("rejected", "selected"):
        return _judge_peers(run, c, n, rep, obs)
    if k == "event":
        if n.impl == "chrony":
            return {"skip": "chronyd has no ntpd event log"}
        if n.impl == "openntpd":
            return {"skip": "openntpd has no ntpd event log (it logs 'peer ... now valid' and "
                            "'clock is now synced', without times)"}
        hits = [e for e in rep["events"] if e["name"] == p["name"] and
                p["reason"].lower() in e["reason"].lower()]
        extra = " (first at %s s: %s)" % (hits[0]["t"], hits[0]["reason"][:95]) if hits else ""
        return _count_verdict(len(hits), p, "events", extra)
    if k == "packets":
        cnt = (rep.get("packets") or {}).get(p["dir"])
        if cnt is None:
            return {"skip": "no packet counter read"}
        how = {"sent": "nft counter on its egress",
               "received": "nft counter on its ingress, after the firewall",
               "dropped": "its packets dropped by firewall/partition rules, counted per "
                          "sender, and by ntpnetem"}[p["dir"]]
        return _count_verdict(cnt, p, "packets", " (%s; the observer's probes excluded)" % how)
    if k == "query":
        q = run.queries.get(n.name)
        if not q:
            return {"pass": False, "measured": None, "detail": "result: no query ran"}
        res = q[-1]["result"]
        return {"pass": p["result"].lower() in res.lower(), "measured": None,
                "detail": "result: %s" % res}
    if k == "freq":
        return {"skip": "the frequency error of a real daemon's clock cannot be told apart from "
                        "its phase slew from outside (ntpsim knows the oscillator)"}
    if k == "bound":
        return _judge_bound(run, c, n, obs)
    return {"skip": "unknown check '%s'" % k}


# --------------------------------------------------------------------------
# report.json v1: per-node metrics and stability from the observed samples
# (docs/report.schema.json; the same keys ntpsim writes)

METRIC_KEYS = ("sync_time", "first_sync_time", "settle_time", "offset_rms", "offset_max", "offset_p50",
               "offset_p95", "offset_p99", "offset_max_all", "offset_end",
               "estimated_offset_end", "freq_error_end_ppm", "freq_error_rms_ppm",
               "bound_held_fraction", "claimed_sync_seconds", "worst_bound_excess", "steps",
               "last_step", "packets_sent", "packets_received", "packets_lost",
               "packets_duplicated", "packets_per_hour", "falseticker_reject_time")
STABILITY_TAU0 = 1.0  # s, grid step (docs/outputs.md "Stability metrics"; a real run is short)


def percentile(sorted_values, q):
    """The q-quantile (0..1) of sorted values: Hyndman & Fan type 7, as
    ntpsim (docs/outputs.md)."""
    if not sorted_values:
        return None
    h = q * (len(sorted_values) - 1)
    i = int(math.floor(h))
    j = min(i + 1, len(sorted_values) - 1)
    return sorted_values[i] + (sorted_values[j] - sorted_values[i]) * (h - i)


def sync_times(samples, bound):
    """(first, final) start of the runs with a system peer and |offset| <
    bound: the first time synced, and the start of the run that lasts to
    the end (None: not synced at the end)."""
    first = good = None
    for t, off, _, _, peer in samples:
        if peer and off is not None and abs(off) < bound:
            if good is None:
                good = t
            if first is None:
                first = t
        else:
            good = None
    return first, good


def bound_stats(samples):
    """(held fraction, claimed seconds, worst excess) of |offset| <= the
    advertised root distance while the node claims sync (a sample's state
    holds until the next one, as ntpsim's bound check)."""
    held = span = 0.0
    worst = None
    for (t1, o1, c1, b1, _), (t2, _, _, _, _) in zip(samples, samples[1:]):
        if c1 and o1 is not None and b1 is not None:
            span += t2 - t1
            if abs(o1) <= b1:
                held += t2 - t1
            worst = abs(o1) - b1 if worst is None else max(worst, abs(o1) - b1)
    return (held / span if span > 0 else None), span, worst


def grid(points, duration, tau0=STABILITY_TAU0):
    """The time error on ntpsim's grid t_k = k tau0 (docs/outputs.md):
    linear between samples, the first sample's value before it, nothing
    after the last.  points: [(t, x)] in time order.  Returns [(t_k, x_k)]."""
    out, j = [], 0
    if not points:
        return out
    for k in range(int(math.floor(duration / tau0)) + 1):
        t = k * tau0
        if t > points[-1][0]:
            break
        while j + 1 < len(points) and points[j + 1][0] <= t:
            j += 1
        t1, x1 = points[j]
        if t <= t1 or j + 1 == len(points):
            out.append((t, x1))
        else:
            t2, x2 = points[j + 1]
            out.append((t, x1 + (x2 - x1) * (t - t1) / (t2 - t1)))
    return out


def stability_taus(duration, tau0=STABILITY_TAU0):
    """m = 1, 2, 5, 10, ... while m <= n_grid - 1 (docs/outputs.md)."""
    n_grid = int(math.floor(duration / tau0)) + 1
    ms, dec = [], 1
    while True:
        for f in (1, 2, 5):
            if f * dec > n_grid - 1:
                return ms
            ms.append(f * dec)
        dec *= 10


def stability(x, ms, tau0=STABILITY_TAU0):
    """Overlapping ADEV, TDEV and MTIE (ITU-T G.810 Appendix II; the
    formulas of docs/outputs.md) of the settled time error x (s) at tau =
    m tau0; None where x is too short (ADEV, TDEV: N >= 3m; MTIE: N >= m+1)."""
    n = len(x)
    adev, tdev, mtie = [], [], []
    for m in ms:
        if n >= 3 * m:
            d = [x[i + 2 * m] - 2 * x[i + m] + x[i] for i in range(n - 2 * m)]
            adev.append(math.sqrt(sum(v * v for v in d) / (2.0 * (m * tau0) ** 2 * (n - 2 * m))))
            acc = sum(sum(d[j:j + m]) ** 2 for j in range(n - 3 * m + 1))
            tdev.append(math.sqrt(acc / (6.0 * m * m * (n - 3 * m + 1))))
        else:
            adev.append(None)
            tdev.append(None)
        mtie.append(max(max(x[i:i + m + 1]) - min(x[i:i + m + 1]) for i in range(n - m))
                    if n >= m + 1 else None)
    return {"tau0": tau0, "taus": [m * tau0 for m in ms], "adev": adev, "tdev": tdev,
            "mtie": mtie}


def node_metrics(samples, sync_bound, steps, duration, packets, est_end, settle=None):
    """The v1 metrics a real run can measure, and its stability; null what
    it cannot (the frequency error of a real clock, duplicates, a
    falseticker's rejection time).  Level and stability statistics are over
    the settled part of the 1 s grid, as ntpsim's: from the scenario's
    `settle` (s, None: none), else from the first synced sample."""
    m = dict.fromkeys(METRIC_KEYS)
    first, final = sync_times(samples, sync_bound)
    t_settle = settle if settle is not None else first
    offs = [(t, o) for t, o, _, _, _ in samples if o is not None]
    settled = [x for t, x in grid(offs, duration) if t_settle is not None and t >= t_settle]
    level = sorted(abs(x) for x in settled)
    m.update({"sync_time": final, "first_sync_time": first, "settle_time": t_settle,
              "steps": len(steps),
              "last_step": steps[-1][1] if steps else None,
              "offset_max_all": max((abs(o) for _, o in offs), default=None),
              "offset_end": offs[-1][1] if offs else None, "estimated_offset_end": est_end})
    if level:
        m.update({"offset_rms": math.sqrt(sum(x * x for x in level) / len(level)),
                  "offset_max": level[-1], "offset_p50": percentile(level, 0.50),
                  "offset_p95": percentile(level, 0.95),
                  "offset_p99": percentile(level, 0.99)})
    held, span, worst = bound_stats(samples)
    m.update({"bound_held_fraction": held, "claimed_sync_seconds": span,
              "worst_bound_excess": worst})
    sent, recv = packets.get("sent"), packets.get("received")
    m.update({"packets_sent": sent, "packets_received": recv,
              "packets_lost": packets.get("dropped")})
    if sent is not None and recv is not None and duration > 0:
        m["packets_per_hour"] = (sent + recv) * 3600.0 / duration
    return m, stability(settled, stability_taus(duration))


TRACE_HEADER = ("t,offset,est_offset,bound,freq_err_ppm,freq_ppm,poll,reach,stratum,leap,"
                "sys_peer,state,steps")


def _csv(v, fmt):
    return "" if v is None else fmt % v


def claimed_bound(d):
    """(claims sync, bound or None) of an answered observer row: it serves
    leap != 3 and stratum 1..15 (ntpsim's bound check), and then its root
    distance rootdelay/2 + rootdisp (s)."""
    claims = d["leap"] != 3 and 1 <= d["stratum"] <= 15
    return claims, (d["rootdelay"] / 2 + d["rootdisp"] if claims else None)


def trace_csv(rows, steps):
    """ntpsim's NODE.trace.csv layout from observer rows ({t, offset, leap,
    stratum, rootdelay, rootdisp, sys_src, poll, ...}); empty fields for what
    the real world does not know (its estimate, the true frequency error,
    the discipline state).  steps: [(t, size)], counted up to each row."""
    out = [TRACE_HEADER]
    step_t = sorted(t for t, _ in steps if t is not None)
    for d in rows:
        if not d.get("answered", True) or d.get("offset") is None:
            continue
        _, bound = claimed_bound(d)
        peer = d.get("sys_src")
        out.append(",".join([
            "%.6f" % d["t"], "%.9f" % d["offset"], "", _csv(bound, "%.9f"), "", "",
            _csv(d.get("poll"), "%d"), "", "%d" % d["stratum"], "%d" % d["leap"],
            "" if peer is None else ("1" if peer else "0"), "",
            "%d" % bisect.bisect_right(step_t, d["t"])]))
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------
# ntpsim on the same (scaled) scenario, for the side-by-side table


def delay_stats(values):
    """n, mean, sd, IQR/1.349 (the sd of a normal law from its quartiles)
    and trimmed_sd: the sd once values more than 5 IQR-sds from the median
    (a packet a stalled host released late) are left out, as efficient as
    the plain sd (its relative standard error is 1/sqrt(2n), the IQR's
    1.17/sqrt(n)), of a list of delays in s."""
    import statistics
    if len(values) < 4:
        return {"n": len(values)}
    q1, med, q3 = statistics.quantiles(values, n=4)
    iqr_sd = (q3 - q1) / 1.349
    kept = [v for v in values if abs(v - med) <= 5 * iqr_sd]
    return {"n": len(values), "mean": statistics.mean(values), "sd": statistics.pstdev(values),
            "iqr_sd": iqr_sd, "trimmed_sd": statistics.pstdev(kept), "trimmed_n": len(kept)}


def run_ntpsim(scaled_path, seed, outdir, overlay=None):
    """ntpsim's run of the scaled scenario at the same seed.  With overlay
    (the directory of this real run's NODE.trace.csv files) its plots show
    both worlds' true offsets on one page; without, no plots."""
    b = ntpsim_bin()
    if not b.exists():
        return None
    plots = ["--overlay", str(overlay)] if overlay else ["--no-plots"]
    r = subprocess.run([str(b), "run", str(scaled_path), "--seed", str(seed), "--out",
                        str(outdir), "--quiet"] + plots, capture_output=True, text=True,
                       timeout=600, stdin=subprocess.DEVNULL)
    try:
        return json.loads((Path(outdir) / "report.json").read_text())
    except (OSError, ValueError):
        return {"error": (r.stdout + r.stderr)[-2000:]}


def sim_step_times(simdir):
    """{node: [t of each clock_step]} from ntpsim's events.log."""
    out = {}
    try:
        text = (Path(simdir) / "events.log").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        w = line.split()
        if len(w) >= 3 and w[2] == "clock_step":
            out.setdefault(w[1], []).append(float(w[0]))
    return out


def side_by_side(real, sim):
    """Rows (node, what, ntpsim, real) for the numbers docs/two-worlds.md
    shows.  Checks are paired by their order in the file (the scaled file
    ntpsim ran has other line numbers)."""
    rows = []
    simn = {n["name"]: n for n in (sim or {}).get("nodes", [])}
    steps_at = (sim or {}).get("step_times", {})
    for n in real["nodes"]:
        if n["kind"] != "host":
            q = (n.get("query") or {}).get("result")
            sq = (simn.get(n["name"], {}).get("query") or {}).get("result")
            rows.append((n["name"], "query", sq, q))
            continue
        s = simn.get(n["name"], {})
        sm, m = s.get("metrics") or {}, n["metrics"]
        rows.append((n["name"], "impl", "ntplab core", n["implementation"]))
        for what, key in (("sync time (s)", "sync_time"), ("steps", "steps"),
                          ("last step (s)", "last_step")):
            rows.append((n["name"], what, sm.get(key), m[key]))
        st = steps_at.get(n["name"])
        rows.append((n["name"], "last step at (s)", st[-1] if st else None,
                     n["step_times"][-1] if n.get("step_times") else None))
        rows.append((n["name"], "final offset (s)", sm.get("offset_end"), m["offset_end"]))
        rows.append((n["name"], "max |offset| settled (s)", sm.get("offset_max"),
                     m["offset_max"]))
        rows.append((n["name"], "selected source", (s.get("system") or {}).get("system_peer"),
                     n.get("system_peer")))
    simc = (sim or {}).get("checks", [])
    for i, c in enumerate(real["checks"]):
        sc = simc[i] if i < len(simc) else None
        rows.append(("check", c["label"], None if sc is None else
                     ("pass" if sc["pass"] else "FAIL") + ": " + sc.get("detail", ""),
                     "skipped: " + c["reason"] if c.get("skipped") else
                     ("pass" if c["pass"] else "FAIL") + ": " + c.get("detail", "")))
    return rows


# --------------------------------------------------------------------------
# text report


def report_text(rep, sim=None):
    out = []
    rn = rep["realnet"]
    out.append("realnet: %s (%s), seed %d, %.1f s real%s: %s" % (
        rep["scenario"]["name"], rep["scenario"]["file"], rep["seed"], rep["duration"],
        "" if rep["time_scale"] == 1 else " (time scale %g of %g s)" % (
            rep["time_scale"], rn["duration_scenario"]), rep["result"].upper()))
    for c in rep["checks"]:
        if c.get("skipped"):
            out.append("  SKIP %s (line %s): %s" % (c["label"], c["line"], c["reason"]))
        else:
            out.append("  %s %s (line %s): %s" % ("pass" if c["pass"] else "FAIL", c["label"],
                                                 c["line"], c["detail"]))
    for s in rn["skipped"]:
        if "what" in s:
            out.append("  SKIP %s (line %s): %s" % (s["what"], s["line"], s["reason"]))
    for n in rep["nodes"]:
        if n["kind"] == "query":
            out.append("  %s %s -> %s (query via %s): %s" % (
                n["name"], n["address"], n["real_address"], n["implementation"],
                (n.get("query") or {}).get("result")))
            continue
        m = n["metrics"]
        out.append("  %s %s -> %s (%s): sync %s, steps %d%s, end offset %s, max settled "
                   "%s, system peer %s, stratum %s" % (
                       n["name"], n["address"], n["real_address"], n["implementation"],
                       "-" if m["sync_time"] is None else "%.1f s" % m["sync_time"],
                       m["steps"], "" if m["last_step"] is None else
                       " (%+.6f s)" % m["last_step"], fmt_s(m["offset_end"]),
                       fmt_s(m["offset_max"]), n["system_peer"], n.get("stratum")))
        for p in n["peers"]:
            reach = "reach %03o" % p["reach"] if isinstance(p.get("reach"), int) else \
                "trust %2s" % p.get("trustlevel", "-")   # openntpd: no reach register
            out.append("      %s%-16s st %-2s %s offset %s  %s" % (
                p["tally"], p["remote"], p["stratum"], reach, fmt_s(p["offset"]),
                p["reason"]))
    for k, h in rn["links"].items():
        for x in h:
            st = x.get("stats") or {}
            out.append("  link %s '%s': seen %s, dropped %s, delay mean %s sd %s" % (
                k, x["spec"], st.get("seen"), st.get("dropped"),
                fmt_s(st.get("delay_mean_s")), fmt_s(st.get("delay_sd_s"))))
    if rn["scaled"]:
        out.append("  scaled: " + "; ".join(rn["scaled"]))
    for note in rn["notes"]:
        out.append("  note: " + note)
    if sim:
        out.append("  side by side (ntpsim | real):")
        for node, what, a, b in side_by_side(rep, sim):
            out.append("    %-8s %-34s %-28s | %s" % (node, what, a, b))
    out.append("  wall time %.1f s" % rn["wall_time"])
    return "\n".join(out) + "\n"


def _md(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return fmt_s(v) if abs(v) < 1.0 or v < 0 else "%.1f s" % v
    return str(v).replace("|", "\\|")


def report_markdown(rep):
    """The side-by-side table of docs/two-worlds.md for one run."""
    sim = rep.get("sim") or {}
    impl = ", ".join("%s=%s" % (n["name"], n["implementation"]) for n in rep["nodes"]
                     if n["implementation"] != "refd") or "all refd"
    out = ["#### %s (%s), seed %d%s" % (
        rep["scenario"]["name"], impl, rep["seed"],
        "" if rep["time_scale"] == 1 else ", time scale %g (%g s)" % (
            rep["time_scale"], rep["duration"])), "",
        "| node | quantity | ntpsim | real |", "|---|---|---|---|"]
    rows = side_by_side(rep, sim)
    for nd, what, a, b in rows:
        if nd == "check" or what == "impl":
            continue
        if what in ("last step (s)", "final offset (s)", "max |offset| settled (s)"):
            a = None if a is None else fmt_s(a)
            b = None if b is None else fmt_s(b)
        elif what in ("sync time (s)", "last step at (s)"):
            a = None if a is None else "%.1f s" % a
            b = None if b is None else "%.1f s" % b
        out.append("| %s | %s | %s | %s |" % (nd, what.replace(" (s)", "").replace("|", "\\|"),
                                              _md(a), _md(b)))
    out += ["", "| check | ntpsim | real |", "|---|---|---|"]
    for nd, what, a, b in rows:
        if nd == "check":
            out.append("| %s | %s | %s |" % (_md(what), _md(a), _md(b)))
    out.append("")
    return "\n".join(out)


def report_json(rep):
    """report.json: the v1 report; ntpsim's own report of the same run (under
    "sim" in memory) stays in its directory."""
    return json.dumps({k: v for k, v in rep.items() if k != "sim"}, indent=1, default=str)


class ReportMixin:
    """RealRun's report: per node and the whole report.json v1."""

    def node_report(self, n, obs, end_t):
        fin = self.final.get(n.name, {})
        rep = {"name": n.name, "address": n.addr, "real_address": n.real, "implementation": n.impl,
               "kind": n.kind, "namespace": self.ns.get(n.name)}
        rep["packets"] = dict(fin.get("packets") or {})
        rep["packets"]["dropped"] = self.drops.get(n.name, 0) + sum(
            ((h.get("stats") or {}).get("dropped") or 0)
            for (a, _), sh in self.shapers.items() if a == n.name for h in sh["history"])
        rep["exited"] = None
        if n.kind == "query":
            q = self.queries.get(n.name, [])
            rep["query"] = q[-1] if q else None
            rep["queries"] = q
            rep["running"] = False
            rep["metrics"], _ = node_metrics([], self.sc.sync_bound, [], self.duration,
                                             rep["packets"], None)
            rep["metrics"]["steps"] = None
            return rep
        samples = self.node_samples(n, obs)
        steps, events = self.parse_log(n)
        self.traces[n.name] = trace_csv(obs.get(n.name, []), steps)
        rep.update({
            "running": fin.get("alive", False),
            "offset_source": self._offset_source(n),
            "step_times": [t for t, _ in steps],
            "samples": len(samples),
            "unanswered_samples": sum(1 for s in samples if s[1] is None),
            "ntp_delays": self.ntp_delays(n),
        })
        last_obs = next((d for d in reversed(obs.get(n.name, [])) if d.get("answered", True)), None)
        if last_obs:
            rep["stratum"] = last_obs["stratum"]
            rep["leap"] = last_obs["leap"]
        elif n.impl == "openntpd":
            st = (fin.get("ntpctl_status") or next(
                (x for _, x in reversed(self.openntpd_samples.get(n.name, [])) if x), None))
            if st is not None:
                # what it would serve: ntpctl's stratum when synced, else
                # leap 3 and stratum 0 (openntpd's unsynced answer)
                rep["stratum"] = st["stratum"] if st["synced"] else 0
                rep["leap"] = 0 if st["synced"] else 3
                rep["ntpctl_status"] = st["status"]
        peers, syspeer = self._final_peers(n, fin)
        if n.impl in ("refd", "ntpsec"):
            srv = {self.sc.by_name[k].addr: [r for r in v if r.get("answered", True)]
                   for k, v in obs.items()}
            maxdist = next((float(t[1]) for t in self.confs[n.name].tos
                            if len(t) >= 2 and t[0] == "maxdist"), 1.5)
            hist = self.peer_history(n, obs)
            last = {r["remote"]: r for r in (hist[-1][1] if hist else [])}
            for p in peers:
                said = last.get(p["remote"])
                if said and said["tally"] == p["tally"] and "inferred" not in said["reason"]:
                    p["reason"] = said["reason"]  # refd's own words, from its last sample
                else:
                    p["reason"] = infer_reason(p["tally"], p["reach"] != 0,
                                               srv.get(p["remote"], []), end_t, maxdist)
        rep["system_peer"] = syspeer
        sp_node = self.sc.by_addr.get(syspeer) if syspeer else None
        rep["system_peer_node"] = sp_node.name if sp_node else None
        rep["peers"] = peers
        est = None  # the daemon's own estimate of its offset at the end (s)
        if n.impl in ("refd", "ntpsec"):
            sp = [p for p in peers if p["tally"] in "*o"]
            est = -sp[0]["offset"] if sp else None
        elif n.impl == "openntpd":
            sp = [p for p in peers if p["tally"] == "*" and p["offset"] is not None]
            est = -sp[0]["offset"] if sp else None
        elif fin.get("tracking"):
            est = fin["tracking"]["last_offset"]
            rep["chrony_tracking"] = fin["tracking"]
        rep["events"] = [{"t": t, "name": nm, "reason": rs, "address": a}
                         for t, nm, rs, a in events][:400]
        m, rep["stability"] = node_metrics(samples, self.sc.sync_bound, steps, self.duration,
                                           rep["packets"], est, self.norm["settle"])
        rep["metrics"] = m
        rep["synced"] = m["sync_time"] is not None
        rep["system"] = {"stratum": rep.get("stratum"), "leap": rep.get("leap"),
                         "poll": None, "system_peer": syspeer}
        return rep

    def _offset_source(self, n):
        if n.impl == "refd":
            return "observer probe of refd's virtual clock (its true offset)"
        if n.impl == "chrony":
            return ("observer probe of chronyd's served (corrected) clock: raw = libfaketime "
                    "%s, corrected by the null driver" % self.faketime(n)
                    if n.clock_offset or n.clock_freq else "observer probe of chronyd")
        if n.impl == "openntpd":
            return ("openntpd's own estimate (ntpctl every %g s: local - the peer it is synced "
                    "to); its clock is the machine's and never moves (noclockset makes adjtime "
                    "a no-op, capsh drops cap_sys_time): its true offset is 0 by construction"
                    % PEER_INTERVAL)
        return ("observer probe: ntpd serves the machine's clock, never disciplined "
                "(capsh drops cap_sys_time), so its true offset is 0 by construction")

    def _final_peers(self, n, fin):
        peers, syspeer = [], None
        if n.impl in ("refd", "ntpsec"):
            for r in fin.get("peers") or []:
                remote = self.back(r["remote"])
                peers.append({"remote": remote, "tally": r["tally"], "refid": self.back(r["refid"]),
                              "stratum": r["st"], "reach": r["reach"],
                              "offset": r["offset"] / 1e3, "delay": r["delay"] / 1e3,
                              "jitter": r["jitter"] / 1e3,
                              "reason": tally_reason(r["tally"])})
                if r["tally"] in "*o":
                    syspeer = "LOCAL(0)" if r["remote"].startswith("LOCAL") or \
                        r["remote"].startswith("127.127.") else remote
        elif n.impl == "chrony":
            for s in fin.get("sources") or []:
                row = chrony_row(self, s)
                peers.append(row)
                if s["state"] == "*":
                    syspeer = row["remote"]
            tr = fin.get("tracking")
            if syspeer is None and tr and tr["refid"].upper() == "4C4F434C":
                syspeer = "LOCAL(0)"
        elif n.impl == "openntpd":
            st = fin.get("ntpctl_status") or {}
            for x in st.get("peers") or []:
                row = openntpd_row(self.back, x)
                peers.append(row)
                if row["tally"] == "*":
                    syspeer = row["remote"]
        return peers, syspeer

    def report(self, end_t):
        """report.json schema_version 1 (docs/report.schema.json), with what
        only the real world has under "realnet"."""
        obs = self.observer_rows()
        nodes = [self.node_report(n, obs, end_t) for n in self.sc.nodes]
        by = {r["name"]: r for r in nodes}
        checks = evaluate_checks(self, by, obs)
        evaluated = [c for c in checks if not c.get("skipped")]
        result = "pass" if all(c["pass"] for c in evaluated) else "fail"
        links = {}
        for (a, b), s in self.shapers.items():
            links["%s->%s" % (a, b)] = s["history"]
        return {
            "schema_version": 1,
            "tool": tool_info(),
            "world": "real",
            "scenario": {"name": self.sc.name, "file": self.sc.path,
                         "sha256": file_sha256(self.sc.path), "effective": self.norm},
            "seed": self.seed,
            "start_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self.t0_wall))
            + (".%06d" % int((self.t0_wall % 1) * 1e6)),
            "duration": self.duration,
            "time_scale": self.k,
            "result": result,
            "summary": {"checks": len(checks), "failed": sum(1 for c in evaluated
                                                             if not c["pass"]),
                        "skipped": len(checks) - len(evaluated), "nodes_total": len(nodes),
                        "events": len(self.events_log)},
            "checks": checks,
            "nodes": nodes,
            "realnet": {
                "duration_scenario": self.sc.duration,
                "scaled": self.scale_notes,
                "skipped": [c for c in checks if c.get("skipped")] + self.skipped,
                "links": links,
                "firewall": self.fw,
                "notes": self.notes,
                "events_log": self.events_log,
                "address_map": {n.addr: n.real for n in self.sc.nodes},
                "wall_time": round(getattr(self, "wall", 0.0), 1),
            },
        }
