# SPDX-License-Identifier: BSD-2-Clause
"""realnet's run: RealRun (one scenario on one ntplab_net.Lab: build, the
timeline, read out, report) and run_scenario(), the API the pytest wrapper
and the command line use."""

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import yaml

from . import ntplab_net as nl
from . import observer
from .scenario import (
    DEFAULT_STEPOUT, discipline_words, fmt_s, IMPLS_HOST, IMPLS_QUERY, load_scenario,
    MAX_REAL_NODES, normalize_data, PEER_INTERVAL, query_fields, SAMPLE_INTERVAL, scale_scenario,
    ScenarioError, server_names, STEP_THRESHOLD)
from .topology import firewall_rules, map_addresses, served_nodes, TopologyMixin
from .implementations import Conf, ImplementationsMixin, openntpd_conf_lines
from .observer import ObserverMixin
from .report import (
    report_json, report_markdown, report_text, ReportMixin, run_ntpsim, sim_step_times)


class RealRun(TopologyMixin, ImplementationsMixin, ObserverMixin, ReportMixin):
    """Runs one scenario on a Lab (ntplab_net.Lab); the caller cleans the
    lab up (the pytest fixture, or main())."""

    def __init__(self, sc, lab, time_scale=None, impl=None, seed=None, log=None,
                 add_iburst=True, sample_interval=SAMPLE_INTERVAL):
        self.sc = sc
        self.lab = lab
        self.k = float(sc.real_time_scale if time_scale is None else time_scale)
        self.seed = sc.seed if seed is None else int(seed)
        self.log = log or (lambda msg: None)
        self.sample_interval = sample_interval
        self.notes = []
        self.skipped = []
        self.ctl_dir = None     # short directory for refd control sockets (ctl_path)
        self.procs = {}         # node name -> Proc
        self.socks = {}         # chrony node -> command socket
        self.ns = {}            # node name -> namespace
        self.shapers = {}       # (src, dst) -> dict
        self.queries = {}       # node name -> list of verdicts
        self.chrony_samples = {}
        self.chrony_peer_samples = {}
        self.openntpd_samples = {}      # node -> [(t, parse_ntpctl() or None)]
        self.openntpd_peer_samples = {}  # node -> [(t, [peer rows])]
        self.drops = {}         # sender node name -> packets dropped by filters
        self.sublabs = {}       # chrony node -> its Lab (own directory)
        self.stopped_at = {}
        self.events_log = []
        self.traces = {}        # node name -> its NODE.trace.csv text
        self.fw = firewall_rules(sc)
        self.part = {n.name: 0 for n in sc.nodes}
        # The scaled file is an ntpsim scenario (--sim runs it); what runs
        # here is that file as ntpsim loads it.
        if len(sc.nodes) > MAX_REAL_NODES:
            raise ScenarioError("%d nodes: the real world runs at most %d (one namespace and "
                                "daemon each)" % (len(sc.nodes), MAX_REAL_NODES))
        self.scaled, self.scale_notes = scale_scenario(sc.data, self.k, add_iburst)
        self.norm = sc.norm if self.k <= 1 else normalize_data(self.scaled)
        if self.k > 1:  # it was loaded from a temporary copy of scaled.yaml
            self.norm["file"] = "%s, time scale %g" % (sc.path, self.k)
        self.duration = self.norm["duration"]
        if self.duration > 3500:
            raise ScenarioError("%.0f s real run: at most 3500 s (use --time-scale)"
                                % self.duration)
        for n in sc.nodes:
            n.impl = (impl or {}).get(n.name) or (impl or {}).get(n.template) or \
                sc.real_impl.get(n.name) or sc.real_impl.get(n.template) or n.impl or "refd"
            ok = IMPLS_QUERY if n.kind == "query" else IMPLS_HOST
            if n.impl not in ok:
                raise ScenarioError("node %s (kind %s): impl '%s' not one of %s"
                                    % (n.name, n.kind, n.impl, ", ".join(ok)))
            if n.impl != "refd" and n.fault_spec not in (None, "none"):
                raise ScenarioError("node %s: a fault from the start needs refd (--fault); "
                                    "%s cannot be made to misbehave" % (n.name, n.impl))
            if n.impl == "ntpsec" and (n.clock_offset or n.clock_freq):
                raise ScenarioError("node %s: NTPsec ntpd cannot run with a clock offset or "
                                    "frequency error (libfaketime breaks it: kernel receive "
                                    "stamps are real); use refd or chrony" % n.name)
            if n.impl == "openntpd" and (n.clock_offset or n.clock_freq):
                # measured: FAKETIME=+0.5s -> "reply from ...: negative delay
                # -0.499953s": its T4 is the kernel's SO_TIMESTAMP (real time),
                # T1 the faked clock, as with NTPsec
                raise ScenarioError("node %s: openntpd cannot run with a clock offset or "
                                    "frequency error (libfaketime breaks it: its receive stamps "
                                    "come from the kernel, its transmit stamps from the faked "
                                    "clock: 'negative delay'); use refd or chrony" % n.name)
            if n.clock_extra:
                self.notes.append("%s: clock %s not reproduced (refd's virtual clock and "
                                  "libfaketime have offset and frequency only)"
                                  % (n.name, ", ".join(n.clock_extra)))
        # per node, the scaled scenario's fields
        for n, d in zip(sc.nodes, self.norm["nodes"]):
            n.conf_scaled = d["conf"] or ""
            n.discipline = discipline_words(d)
            n.start_scaled = d["start"]
            n.q_at_scaled = list(d["query_at"] or [0.0])
        for n in sc.nodes:
            slew = abs(n.clock_offset) / 500e-6  # s at ntpd's 500 ppm slew limit
            stepout = DEFAULT_STEPOUT / self.k
            if n.kind == "host" and self.k > 1 and n.drift_ppm is None and \
                    0 < abs(n.clock_offset) < STEP_THRESHOLD and stepout < slew:
                self.scale_notes.append(
                    "%s: the scaled stepout (%g s) is shorter than its first slew (%s at "
                    "500 ppm takes %.0f s): the FREQ-state measurement (offset/mu, as ntpd's "
                    "direct_freq) absorbs the rest of the slew, in both worlds"
                    % (n.name, stepout, fmt_s(abs(n.clock_offset)), slew))
        map_addresses(sc)
        self.confs = {n.name: Conf(sc, n, n.conf_scaled) for n in sc.nodes if n.kind == "host"}
        for c in self.confs.values():
            self.notes += c.notes
        self.served = served_nodes(sc, self.confs)
        for n in sc.nodes:
            if n.impl == "openntpd":
                openntpd_conf_lines(n, self.confs[n.name], n.name in self.served)  # refusals
                for path, what in ((nl.openntpd_bin(), "OpenNTPD (scripts/install-deps.sh "
                                    "unpacks it into $NTPLAB_BUILD/daemons/openntpd)"),
                                   (nl.noclockset_lib(), "the noclockset shim (built by CMake "
                                    "from tests/interop/shim)")):
                    if not path.exists():
                        raise ScenarioError("node %s: impl openntpd needs %s, not found at %s"
                                            % (n.name, what, path))

    # -- small helpers
    def t(self):
        return time.monotonic() - self.t0_mono

    def ev(self, what):
        t = self.t() if hasattr(self, "t0_mono") else 0.0
        self.events_log.append((round(t, 3), what))
        self.log("%8.3f %s" % (t, what))

    def back(self, real):
        """A lab address -> the scenario's address (for reports)."""
        return self.sc.real_to_addr.get(real, real)

    def back_text(self, text):
        """Every lab address in a text -> the scenario's address."""
        return re.sub(r"10\.200\.\d+\.\d+", lambda m: self.back(m.group(0)), text)

    def nsexec(self, ns, argv, check=True, input_text=None, timeout=15):
        full = ["ip", "netns", "exec", ns] + [str(a) for a in argv]
        r = subprocess.run(full, capture_output=True, text=True, timeout=timeout,
                           input=input_text, stdin=None if input_text is not None
                           else subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise RuntimeError("%s failed (rc %d): %s" % (" ".join(full), r.returncode,
                                                          r.stderr.strip()))
        return r

    # -- the timeline
    def schedule(self):
        ev = []
        seq = 0

        def add(t, kind, arg):
            nonlocal seq
            ev.append((t, seq, kind, arg))
            seq += 1

        for n in self.sc.nodes:
            if n.kind == "host":
                add(n.start_scaled, "start", n)
            else:
                for t in n.q_at_scaled:
                    add(t, "query-node", n)
        # the scaled scenario's events, with the lines of the file's own
        # (ntpsim lists both in the same order)
        for e, oe in zip(self.norm["events"], self.sc.norm["events"]):
            e = dict(e, line=oe["line"])
            times = [e["at"]]
            if e["every"]:
                until = min(e["until"] or self.duration, self.duration)
                t = e["at"] + e["every"]
                while t <= until + 1e-9 and len(times) < 10000:
                    times.append(t)
                    t += e["every"]
            for t in times:
                add(t, "event", e)
        ev.sort(key=lambda x: (x[0], x[1]))
        return ev

    def do_event(self, e):
        sc = self.sc
        what = e["kind"]
        line = e["line"]
        if what in ("firewall-on", "firewall-off"):
            rule = e["rule_name"]
            for r in self.fw:
                if r["name"] == rule:
                    r["enabled"] = what == "firewall-on"
            self.apply_filters()
            self.ev("firewall rule %s %s" % (rule, "on" if what == "firewall-on" else "off"))
        elif what == "partition":
            nxt = max(self.part.values()) + 1
            for g in e["groups"]:
                for name in g:
                    self.part[name] = nxt
                nxt += 1
            self.apply_filters()
            self.ev("network partitioned: %s" % e["groups"])
        elif what == "heal":
            for k in self.part:
                self.part[k] = 0
            self.apply_filters()
            self.ev("partition healed")
        elif what == "stop":
            for n in sc.named(e["nodes"]):
                self.stop_node(n)
        elif what == "start":
            for n in sc.named(e["nodes"]):
                self.restart_node(n)
        elif what == "link":
            self.change_links(e)
        elif what == "query":
            for n in sc.named(e["nodes"]):
                self.run_query(n, server_names(e["query"]), query_fields(e["query"]))
        elif what in ("step", "freq", "fault"):
            for n in sc.named(e["nodes"]):
                self.disturb(n, what, e, line)
        else:
            self.skip_event(line, what, "unknown event")

    def skip_event(self, line, what, why):
        self.skipped.append({"line": line, "what": "event %s" % what, "reason": why})
        self.ev("event %s (line %s) skipped: %s" % (what, line, why))

    def run(self):
        """Build, run the timeline, read out.  Returns the report dict."""
        wall0 = time.monotonic()
        self.build()
        self.apply_filters()
        for (a, b), spec in sorted(self.shaping_plan().items()):
            self.start_shaper(a, b, spec)
        self.samples_path = self.lab.path("observer.jsonl")
        alias = self.lab.path("realnet-sampler")
        if not alias.exists():
            os.symlink(nl.PYTHON, str(alias))
        # an openntpd that serves no node does not listen: nothing to probe
        targets = ["%s=%s%s" % (n.name, n.real, ":m6" if n.impl in ("refd", "ntpsec") else "")
                   for n in self.sc.nodes if n.kind == "host" and
                   (n.impl != "openntpd" or n.name in self.served)]
        self.t0_mono = time.monotonic()
        self.t0_wall = time.time()
        if targets:
            self.sampler = self.lab.spawn("observer", [
                alias, Path(observer.__file__).resolve(), "--sampler", "--out", self.samples_path,
                "--t0", "%.6f" % self.t0_wall, "--interval", self.sample_interval,
                "--duration", self.duration + 5] + targets, ns=self.obs)
        self.ev("scenario time 0 (%s, real duration %.1f s%s)" % (
            self.sc.name, self.duration, "" if self.k == 1 else ", time scale %g" % self.k))
        pending = self.schedule()
        next_peer = 0.0
        while True:
            now = self.t()
            while pending and pending[0][0] <= now:
                _, _, kind, arg = pending.pop(0)
                if kind == "start":
                    self.start_node(arg)
                elif kind == "query-node":
                    self.run_query(arg, arg.q_servers, arg.q)
                else:
                    self.do_event(arg)
                now = self.t()
            if now >= self.duration:
                break
            if now >= next_peer:
                self.sample_peers()
                next_peer = now + PEER_INTERVAL
            for n in self.sc.nodes:
                p = self.procs.get(n.name)
                if p is not None and not p.alive() and n.name not in self.stopped_at:
                    self.stopped_at[n.name] = (now, None)
                    self.ev("%s DIED (rc %s): %s" % (n.name, p.popen.returncode,
                                                   p.log_text()[-300:]))
            nxt = min([self.duration, next_peer] + ([pending[0][0]] if pending else []))
            time.sleep(max(0.01, min(0.5, nxt - self.t())))
        end_t = self.t()
        self.final = self.read_out()
        self.ev("scenario end at %.3f s" % end_t)
        for key in list(self.shapers):
            self.stop_shaper(key)
        for n in self.sc.nodes:
            p = self.procs.get(n.name)
            if p is not None and p.alive():
                p.stop()
        if targets:
            self.sampler.stop()
        self.wall = time.monotonic() - wall0
        rep = self.report(end_t)
        for name, text in self.traces.items():  # ntpsim's layout, for overlaid plots
            self.lab.write(name + ".trace.csv", text)
        return rep


def run_scenario(path, lab, time_scale=None, impl=None, seed=None, keep_logs=None, sim=False,
                 log=None):
    """Run SCENARIO on `lab` (which the caller cleans up).  Returns the
    report dict; with sim=True it carries ntpsim's report of the same scaled
    scenario under "sim"."""
    sc = load_scenario(path)
    run = RealRun(sc, lab, time_scale=time_scale, impl=impl, seed=seed, log=log)
    scaled_path = lab.path("scaled.yaml")
    scaled_path.write_text(yaml.safe_dump(run.scaled, sort_keys=False))
    try:
        rep = run.run()
    finally:
        if run.ctl_dir is not None:
            shutil.rmtree(str(run.ctl_dir), ignore_errors=True)
        if keep_logs:
            _keep(lab, keep_logs)
    rep["realnet"]["scaled_file"] = str(scaled_path)
    # once for both copies: ntpsim's report, added below, is no part of it
    text = report_json(rep)
    lab.write("report.json", text)  # for post-mortems
    if sim:
        simdir = Path(keep_logs) / "ntpsim" if keep_logs else lab.path("ntpsim")
        rep["sim"] = run_ntpsim(scaled_path, run.seed, simdir, overlay=keep_logs)
        if rep["sim"] is not None:
            rep["sim"]["step_times"] = sim_step_times(simdir)
    if keep_logs:
        Path(keep_logs).mkdir(parents=True, exist_ok=True)
        (Path(keep_logs) / "report.json").write_text(text)
        (Path(keep_logs) / "report.txt").write_text(report_text(rep, rep.get("sim")))
        if sim:
            (Path(keep_logs) / "two-worlds.md").write_text(report_markdown(rep))
        # scaled.yaml: _keep copied it with the lab
    return rep


def _keep(lab, dest):
    d = Path(dest)
    d.mkdir(parents=True, exist_ok=True)
    for p in sorted(lab.dir.rglob("*")):
        if p.is_file() and not p.is_symlink() and not p.name.endswith(".sock"):
            dst = d / p.relative_to(lab.dir)
            try:
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(str(p), str(dst))
            except OSError:
                pass
