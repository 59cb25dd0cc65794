# SPDX-License-Identifier: BSD-2-Clause
"""realnet: run an ntpsim scenario file in the real world.

    python3 -m realnet SCENARIO.yaml [--time-scale K] [--keep-logs DIR] [--impl NODE=IMPL]...
                                     [--seed N] [--sim] [--json FILE] [--scaled-out FILE]

One scenario file, two worlds: ntpsim runs it in virtual time; this tool
builds the same topology from network namespaces and runs real daemons in
it, then writes a report in the shape of ntpsim's report.json and judges the
scenario's checks that can be observed for real (and says which it skipped,
and why).

What it builds (realnet/ntplab_net.py does the plumbing and the safety):

* a router namespace, one namespace per node behind it, and an observer
  namespace; addresses 10.200.0.0/16 exist only inside them.  A scenario
  address such as 192.168.163.131 becomes 10.200.163.131 (its last two
  octets) when that is unique, else 10.200.0.1 upwards; every ntp.conf is
  rewritten to match (server/peer/pool, restrict address and mask);
* each node's implementation: refd (default), NTPsec ntpd (`ntpsec`),
  chronyd (`chrony`, ntp.conf translated), OpenNTPD (`openntpd`, ntp.conf
  translated to ntpd.conf; a private mount namespace gives it its `ntpd`
  user and /var/lib/openntpd, and the noclockset shim lets its adjtime()
  calls "succeed"), and for one-shot query nodes `refd -Q` (default) or
  `ntpdig`.  Every program runs under `capsh --drop=cap_sys_time`
  (ntplab_net.Proc);
* clock offsets and frequency errors: refd --clock-offset/--clock-freq;
  libfaketime (LD_PRELOAD + exec) for chronyd and ntpdig; refused for
  NTPsec and OpenNTPD (kernel receive stamps, libfaketime breaks them);
* the links' impairments with ntpnetem in the router's FORWARD chain
  (iptables NFQUEUE, one queue per directed link), seeded like ntpsim's
  links (--seed, --name link:A->B);
* timed events: firewall rules and partitions (nft, in the namespaces),
  stop/start, link changes, queries; `step`, `freq` and `fault` on refd
  nodes through refd's control socket (--ctl; a node's `fault:` is
  --fault at start), skipped with a reason on the other daemons;
* observation: an observer probes every node once a second (3 requests,
  the one with the least delay; the receive time is the kernel's stamp) for
  its true offset -- all namespaces share CLOCK_REALTIME, which is true time
  here -- its leap, stratum, refid and root distance, and (refd, ntpd) the
  mode 6 status words: system peer or not, each association's tally, and
  (refd) the core's reason for every tally that is not a candidate; plus
  the final ntpq peer tables, `chronyc -c tracking`/`sources` and
  `ntpctl -s all` (also every 4 s: openntpd's sync state and peers, whose
  '*' is the peer it is synced to), the daemons' logs, peerstats /
  measurements.log and nft packet counters.

--time-scale K (default: the file's `real: time_scale`, else 1) divides the
duration and every event and check time by K,
lowers minpoll/maxpoll by log2 K (not below 3, NTP_MINPOLL), adds iburst to
server lines and sets `tinker stepout` to 900/K s (the FREQ measurement and
the stepout of the clock discipline).  Physical quantities are not scaled:
clock offsets, frequency errors, link delays.  The scaled scenario is
written out (--scaled-out, and into --keep-logs) and is a valid ntpsim
scenario, so both worlds can run exactly the same thing (--sim does).

Everything it creates is removed at the end, also on errors and Ctrl-C.
Exit status: 0 every evaluated check passed, 1 a check failed, 2 bad input
or a setup failure.

The package, by concern (run from the repository's root, or with it on
PYTHONPATH):

  scenario.py         the file as ntpsim loads it, time scaling, shared constants
  topology.py         lab addresses, links, firewall; namespaces, veths, nft, ntpnetem
  implementations.py  ntp.conf per daemon; start/stop/restart/query/events; their logs
  observer.py         the probe program (run by path inside the observer namespace:
                      `observer.py --sampler ...`, `--probe ADDR`) and its readings
  report.py           report.json v1, checks, metrics, NODE.trace.csv, ntpsim beside
  run.py              RealRun (the mixins above on one Lab) and run_scenario()
  cli.py              main(): `python3 -m realnet`
  ntplab_net.py       the interop harness (Lab, Proc, namespaces, bounded waits) the
                      tests in tests/interop share with realnet
"""
