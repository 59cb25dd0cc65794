# SPDX-License-Identifier: BSD-2-Clause
"""realnet's topology: lab addresses, the links and firewall as ntpsim
resolved them, and (TopologyMixin, part of realnet.run.RealRun) the
namespaces, veths, nft filters and ntpnetem shapers that build them."""

import ipaddress
import json
import re
import signal
import subprocess
from pathlib import Path

from . import ntplab_net as nl
from .scenario import (
    fmt_s, IPTABLES, LAB_PLEN, NETEM_MIN_DELAY, NFT, ntpnetem_bin, OBSERVER, ScenarioError,
    server_names)


# --------------------------------------------------------------------------
# addresses


def map_addresses(sc):
    """Scenario address -> 10.200.x.y (last two octets when that is unique
    and clear of the observer's 10.200.255.0/24), else 10.200.0.1 upwards."""
    want = {}
    ok = True
    for n in sc.nodes:
        a = ipaddress.ip_address(n.addr)
        if a.version != 4:
            ok = False
            break
        o = a.packed
        cand = "10.200.%d.%d" % (o[2], o[3])
        if o[2] == 255 or (o[2] == 0 and o[3] == 0) or cand in want.values():
            ok = False
            break
        want[n.name] = cand
    if not ok:
        want = {n.name: str(ipaddress.ip_address("10.200.0.0") + i + 1)
                for i, n in enumerate(sc.nodes)}
    for n in sc.nodes:
        n.real = want[n.name]
    sc.octet_map = ok
    sc.real_to_addr = {n.real: n.addr for n in sc.nodes}
    sc.real_to_node = {n.real: n for n in sc.nodes}


def map_restrict_net(sc, addr, mask):
    """A restrict address/mask of the scenario -> (address, mask) in the lab."""
    a = ipaddress.ip_address(addr)
    if a.version != 4:
        return addr, mask
    if mask is None:
        n = sc.by_addr.get(addr)
        return (n.real, None) if n else (addr, None)
    net = ipaddress.ip_network("%s/%s" % (addr, mask), strict=False)
    if net.prefixlen >= LAB_PLEN and sc.octet_map:
        o = net.network_address.packed
        return "10.200.%d.%d" % (o[2], o[3]), mask
    inside = [n for n in sc.nodes if ipaddress.ip_address(n.addr) in net]
    if inside:
        return "10.200.0.0", "255.255.0.0"
    return addr, mask


# --------------------------------------------------------------------------
# network: links and firewall, as ntpsim resolved them (each link's model
# complete, merged on the default; its tc-netem text, or what tc cannot say)


def link_spec(params):
    """A normalized link model -> (tc-netem text for ntpnetem, None), or
    (None, reason) when tc has no word for one of its settings."""
    miss = params["tc_missing"]
    if miss == "trace":
        return None, "delay trace"
    if miss:
        return None, ("ntplab's link field '%s' (ntpsim only: ntpnetem takes tc-netem "
                      "syntax, which has no word for it)" % miss)
    return params["tc"], None


def _covers(names, n):
    return names == "any" or n.name in names


def file_link(sc, a, b):
    """(params, source) the file gives the ordered pair of nodes (a, b):
    the last network.links entry that matches (ntpsim lists a `both`
    entry's reverse as an entry of its own), else network.default."""
    net = sc.norm["network"]
    chosen = (net["default"], "network.default")
    for e in net["links"]:
        if _covers(e["from"], a) and _covers(e["to"], b):
            chosen = (e["params"], "network.links line %s" % e["line"])
    return chosen


def effective_links(sc):
    """{(src name, dst name): (spec, why, source, params)}; spec None: no
    shaping."""
    out = {}
    for a in sc.nodes:
        for b in sc.nodes:
            if a is not b:
                params, src = file_link(sc, a, b)
                spec, why = link_spec(params)
                out[(a.name, b.name)] = (spec or None, why, src, params)
    return out


def _impaired(p):
    """A link model does more than delay packets."""
    return p["down"] or p["ge"] or any(p[k] > 0 for k in ("loss", "duplicate", "reorder", "rate"))


def _query_events(sc):
    return [e for e in sc.norm["events"] if e["kind"] == "query"]


def _query_targets(sc, q):
    return [t for s in server_names(q) for t in sc.resolve(s)]


def talking_pairs(sc, confs):
    """Ordered pairs that exchange NTP packets (association either way, or a
    query node asking a server)."""
    pairs = set()
    for n in sc.nodes:
        if n.kind == "query":
            for s in n.q_servers:
                for t in sc.resolve(s):
                    pairs.add((n.name, t.name))
                    pairs.add((t.name, n.name))
            continue
        for kind, addr, _, _ in confs[n.name].remote_servers():
            t = sc.real_to_node.get(addr)
            if t is not None:
                pairs.add((n.name, t.name))
                pairs.add((t.name, n.name))
    for e in _query_events(sc):
        for t in _query_targets(sc, e["query"]):
            for name in e["nodes"]:
                pairs.add((name, t.name))
                pairs.add((t.name, name))
    return pairs


def served_nodes(sc, confs):
    """Names of the nodes that others use as a server (server/peer/pool
    lines, query nodes and query events)."""
    out = set()
    for n in sc.nodes:
        if n.kind == "query":
            for s in n.q_servers:
                out.update(t.name for t in sc.resolve(s))
            continue
        for kind, addr, _, _ in confs[n.name].remote_servers():
            t = sc.real_to_node.get(addr)
            if t is not None and t is not n:
                out.add(t.name)
                if kind == "peer":
                    out.add(n.name)  # symmetric: each serves the other
    for e in _query_events(sc):
        out.update(t.name for t in _query_targets(sc, e["query"]))
    return out


def firewall_rules(sc):
    """The normalized firewall, each rule's ends with the nodes they cover
    (None: any)."""
    return [{"name": r["name"], "src": r["src"], "dst": r["dst"], "proto": r["proto"],
             "sport": r["sport"], "dport": r["dport"], "action": r["action"],
             "enabled": r["enabled"], "line": r["line"], "src_nodes": r["src_nodes"],
             "dst_nodes": r["dst_nodes"]} for r in sc.norm["firewall"]]


def _endpoint(sc, names):
    """A rule end's nodes (None: any) -> ('any', None) | ('nodes', [Node])."""
    if names is None:
        return "any", None
    return "nodes", [sc.by_name[x] for x in names]


class TopologyMixin:
    """RealRun's network: namespaces and veths, nft filters (firewall,
    partitions, counters) and the ntpnetem shapers on the router."""

    # -- topology
    def build(self):
        """A router namespace with one veth per node (and one for the
        observer): every node has its 10.200.x.y/16 on eth0 and reaches
        the others through the router, which answers ARP for them (proxy
        ARP) and forwards.  The links' impairments sit in the router's
        FORWARD chain, between the sender's transmit timestamp and the
        receiver's receive timestamp, as a link sits between them in ntpsim.
        (Shaping a sender's own egress would hide the delay from daemons
        that take kernel transmit timestamps, such as chronyd: their
        requests' delay would vanish from the measured round trip.)"""
        lab = self.lab
        self.router = lab.ns()
        r = self.router
        for key, val in (("net.ipv4.ip_forward", 1), ("net.ipv4.conf.all.proxy_arp", 1),
                         ("net.ipv4.conf.all.rp_filter", 0),
                         ("net.ipv4.conf.all.send_redirects", 0)):
            self.nsexec(r, ["sysctl", "-q", "-w", "%s=%d" % (key, val)])
        # a source address for the router's own ARP requests
        nl.sh(["ip", "-n", r, "addr", "add", "10.200.255.1/32", "dev", "lo"])
        for i, n in enumerate(self.sc.nodes):
            self.ns[n.name] = self._attach(lab.ns(), "v%d" % i, n.real)
        self.obs = self._attach(lab.ns(), "vobs", OBSERVER)
        for n in self.sc.nodes:
            self._nft_base(self.ns[n.name])
        self.ev("topology: router %s, %d node namespaces, observer %s at %s" % (
            r, len(self.sc.nodes), self.obs, OBSERVER))

    def _attach(self, ns, port, addr):
        r = self.router
        nl.sh(["ip", "link", "add", port, "netns", r, "type", "veth", "peer", "name",
               "eth0", "netns", ns])
        nl.sh(["ip", "-n", r, "link", "set", port, "up"])
        self.nsexec(r, ["sysctl", "-q", "-w", "net.ipv4.conf.%s.proxy_arp=1" % port])
        # Linux holds a proxied ARP answer for up to proxy_delay (0.8 s by
        # default), which would show as a 0.8 s first round trip
        self.nsexec(r, ["sysctl", "-q", "-w", "net.ipv4.neigh.%s.proxy_delay=0" % port])
        nl.sh(["ip", "-n", r, "route", "add", "%s/32" % addr, "dev", port])
        nl.sh(["ip", "-n", ns, "addr", "add", "%s/%d" % (addr, LAB_PLEN), "dev", "eth0"])
        nl.sh(["ip", "-n", ns, "link", "set", "eth0", "up"])
        for where in (ns, r):
            dev = "eth0" if where == ns else port
            nl.wait_for(lambda where=where, dev=dev: "LOWER_UP" in nl.sh(
                ["ip", "-n", where, "link", "show", dev]).stdout,
                "%s %s carrier" % (where, dev), tries=50, interval=0.1)
        return ns

    def _nft_base(self, ns):
        """Per node: the scenario's filter (input/output, rebuilt on every
        firewall or partition event) and packet counters (observer
        excluded)."""
        lab_net = "10.200.0.0/16"
        script = """
table inet ntplab {
  chain count_out { type filter hook output priority -10; policy accept;
    ip daddr %(net)s ip daddr != %(obs)s meta l4proto udp counter
  }
  chain filter_in { type filter hook input priority 0; policy accept; }
  chain filter_out { type filter hook output priority 0; policy accept; }
  chain count_in { type filter hook input priority 10; policy accept;
    ip saddr %(net)s ip saddr != %(obs)s meta l4proto udp counter
  }
}
""" % {"net": lab_net, "obs": OBSERVER}
        self.nsexec(ns, [NFT, "-f", "-"], input_text=script)

    # -- firewall and partitions
    def _nft_match(self, r, kind, nodes, direction):
        m = []
        if kind == "nodes":
            field = "saddr" if direction == "in" else "daddr"
            m.append("ip %s { %s }" % (field, ", ".join(n.real for n in nodes)))
        if r["proto"] == "udp":
            m.append("meta l4proto udp")
            if r["sport"]:
                m.append("udp sport %d" % r["sport"])
            if r["dport"]:
                m.append("udp dport %d" % r["dport"])
        return m

    def apply_filters(self):
        """Rebuild every node's filter chains from the enabled rules, in
        scenario order (first match decides), partitions first (ntpsim
        checks the partition before the firewall).  A rule with a node as
        its source sits on that node's egress; one from any source sits on
        the destination's ingress, expanded per sending node so that every
        drop is counted against its sender, as ntpsim counts it.  The
        observer is exempt (it only watches)."""
        sc = self.sc
        per_in = {n.name: [] for n in sc.nodes}
        per_out = {n.name: [] for n in sc.nodes}
        for n in sc.nodes:
            for m in sc.nodes:
                if m is not n and self.part[m.name] != self.part[n.name]:
                    per_in[n.name].append('ip saddr %s counter drop comment "part|%s"'
                                          % (m.real, m.name))
        for r in self.fw:
            if not r["enabled"]:
                continue
            skind, snodes = _endpoint(sc, r["src_nodes"])
            dkind, dnodes = _endpoint(sc, r["dst_nodes"])
            verdict = {"drop": "drop", "reject": "reject", "accept": "accept"}[r["action"]]
            if skind == "nodes":
                for src in snodes:
                    if dkind == "nodes" and not [d for d in dnodes if d is not src]:
                        continue
                    m = ["ip daddr != %s" % OBSERVER] + self._nft_match(r, dkind, dnodes, "out")
                    per_out[src.name].append(" ".join(m + ['counter %s comment "fw|%s|%s"'
                                                           % (verdict, r["name"], src.name)]))
            else:
                targets = sc.nodes if dkind == "any" else dnodes
                for d in targets:
                    m = self._nft_match(r, "any", None, "in")
                    for src in sc.nodes:
                        if src is not d:
                            per_in[d.name].append(" ".join(
                                ["ip saddr %s" % src.real] + m +
                                ['counter %s comment "fw|%s|%s"' % (verdict, r["name"],
                                                                    src.name)]))
                    per_in[d.name].append(" ".join(
                        ["ip saddr != %s" % OBSERVER] + m +
                        ['counter %s comment "fw|%s|-"' % (verdict, r["name"])]))
        for n in sc.nodes:
            lines = ["flush chain inet ntplab filter_in", "flush chain inet ntplab filter_out"]
            lines += ["add rule inet ntplab filter_in %s" % x for x in per_in[n.name]]
            lines += ["add rule inet ntplab filter_out %s" % x for x in per_out[n.name]]
            self.collect_drops(n)  # the flush below restarts the counters
            self.nsexec(self.ns[n.name], [NFT, "-f", "-"], input_text="\n".join(lines) + "\n")

    def collect_drops(self, n):
        """Add up the drop counters of n's filter chains before they are
        flushed: {sender name: packets} in self.drops."""
        r = self.nsexec(self.ns[n.name], [NFT, "list", "table", "inet", "ntplab"], check=False)
        for pk, verdict, comment in re.findall(
                r'counter packets (\d+) bytes \d+ (\w+)[^\n]*comment "([^"]*)"', r.stdout):
            if verdict == "accept":
                continue
            sender = comment.split("|")[-1]
            self.drops[sender] = self.drops.get(sender, 0) + int(pk)

    # -- shaping
    def shaping_plan(self):
        plan = {}
        links = effective_links(self.sc)
        pairs = talking_pairs(self.sc, self.confs)
        for (a, b), (spec, why, src, params) in sorted(links.items()):
            if (a, b) not in pairs or spec is None:
                continue
            if why:
                self.notes.append("link %s->%s (%s): %s cannot be shaped for real: not applied"
                                  % (a, b, src, why))
                continue
            jitter = params["jitter"] if params["dist"] != "constant" else 0.0
            if not _impaired(params) and params["delay"] + jitter < NETEM_MIN_DELAY:
                self.notes.append(
                    "link %s->%s '%s' (%s) not shaped: below %s, ntpnetem's user-space "
                    "release is late by 0.1-0.3 ms (docs/ntpnetem.8.md), as much as the "
                    "delay itself; the veth adds ~0.03 ms" % (a, b, spec, src,
                                                             fmt_s(NETEM_MIN_DELAY)))
                continue
            plan[(a, b)] = spec
        return plan

    def start_shaper(self, a, b, spec):
        binary = ntpnetem_bin()
        if not binary.exists():
            raise ScenarioError("ntpnetem not built at %s, but link %s->%s needs '%s'"
                                % (binary, a, b, spec))
        chk = nl.run([binary, "--print-tc", "eth0", "--spec", spec], timeout=5)
        if chk.returncode != 0:
            raise ScenarioError("link %s->%s: ntpnetem rejects '%s': %s"
                                % (a, b, spec, (chk.stdout + chk.stderr).strip()))
        ns = self.router
        old = self.shapers.get((a, b))
        queue = old["queue"] if old else 1 + len(self.shapers)
        gen = old["gen"] + 1 if old else 0
        name = "ntpnetem-%s-%s-%d" % (a, b, gen)
        stats = self.lab.path(name + ".json")
        argv = [binary, "--queue", queue, "--spec", spec, "--seed", self.seed,
                "--name", "link:%s->%s" % (a, b),
                "--duration", int(min(3600, self.duration + 120)), "--stats", stats,
                "--priority", 10]
        p = self.lab.spawn(name, argv, ns=ns)
        nl.wait_for(lambda: "ntpnetem: queue" in p.log_text() or not p.alive(),
                    "%s bound to queue %d" % (name, queue), tries=100, interval=0.05,
                    last=p.log_text)
        if not p.alive():
            raise RuntimeError("ntpnetem %s->%s exited: %s" % (a, b, p.log_text()))
        if not old:
            # iptables' NFQUEUE target: this kernel has no nft 'queue' expression
            # (nft_queue), only xt_NFQUEUE
            self.nsexec(ns, [IPTABLES, "-A", "FORWARD", "-p", "udp", "-s",
                             self.sc.by_name[a].real, "-d", self.sc.by_name[b].real, "-j",
                             "NFQUEUE", "--queue-num", str(queue), "--queue-bypass"])
        self.shapers[(a, b)] = {"proc": p, "stats": stats, "queue": queue, "spec": spec,
                                "gen": gen, "history": (old["history"] if old else [])}
        self.ev("link %s->%s shaped by ntpnetem queue %d: %s" % (a, b, queue, spec))

    def stop_shaper(self, key):
        s = self.shapers[key]
        p = s["proc"]
        if p.alive():
            p.signal(signal.SIGTERM)
            try:
                p.popen.wait(5)
            except subprocess.TimeoutExpired:
                p.stop()
        try:
            st = json.loads(Path(s["stats"]).read_text())
        except (OSError, ValueError):
            st = None
        s["history"].append({"spec": s["spec"], "stats": st})

    def change_links(self, e):
        """A link event: ntpsim gives its links the model it lists (the
        file's model for them, changed by the event's fields)."""
        sc = self.sc
        pairs = [(a.name, b.name) for a in sc.named(e["from"]) for b in sc.named(e["to"])
                 if a is not b]
        if e["both"]:
            pairs += [(b, a) for a, b in pairs]
        spec, why = link_spec(e["params"])
        if why:
            self.skip_event(e["line"], "link", "%s cannot be shaped for real" % why)
            return
        for key in pairs:
            if key in self.shapers:
                self.stop_shaper(key)
                if spec:
                    self.start_shaper(key[0], key[1], spec)
            elif spec and key in talking_pairs(sc, self.confs):
                self.start_shaper(key[0], key[1], spec)
