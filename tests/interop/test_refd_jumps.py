# SPDX-License-Identifier: BSD-2-Clause
"""refd's clock stepped from outside (`refd --ctl step`, what an
administrator's `date -s` or a resumed VM does to a real daemon): its timers
run on CLOCK_MONOTONIC, so it keeps polling at its poll interval, and the
jump reaches the discipline at the next clock update, as in ntpd:

* with `tinker panic 0` it steps back by the jump once the stepout since
  its last update has passed (here a 60 s stepout: `discipline ntpd-kernel
  stepout 60`, as `tinker stepout` cannot go below ntpd's 300 s);
* with the default panic threshold (1000 s) it exits with status 1 and
  "set clock manually" at that update.

Before the monotonic time base a refd polling every 8.5 s sent nothing for
the 120 s watched after `step -3600` (its next poll was an hour away on the
stepped clock), and exited 1.7-2.1 h late.

Topology: a refd server on its LOCAL clock in one namespace, linked by two
veth pairs to two refd clients (minpoll 3 maxpoll 3: a request every
8-8.5 s) in namespaces of their own, each with a control socket.  Both
clients' clocks jump back an hour at the same moment; a capture on each
client's link times its requests (real time, from the kernel)."""

import re
import socket
import subprocess
import time

from realnet import ntplab_net as nl
from realnet.ntplab_net import wait_for

JUMP = -3600.0       # s, the external step (a VM resumed after an hour)
POLL = 8.0           # s, the clients' poll interval (minpoll 3 maxpoll 3)
LONGEST_GAP = POLL * 17 / 16 + 2 + 1.0  # s: ntpd's poll jitter, ntp_minpkt, 1 s of host slack
FLUSH_POLLS = 17     # polls a jump may take to pass the clock filter (test_host.c)
STEPOUT = 60.0       # s, the discipline stepout of the panic-0 client
WATCH = 170.0        # s watched after the jump: FLUSH_POLLS polls and the step
CTL_WAIT = 3.0       # s, longest wait for an answer on a control socket

SRV_A, CLI_A = "10.201.0.1", "10.201.0.2"  # server <-> client "steps" (tinker panic 0)
SRV_B, CLI_B = "10.202.0.1", "10.202.0.2"  # server <-> client "panics" (default panic)


def ctl(lab, path, command):
    """One command on a refd control socket; the answer text."""
    me = str(lab.path("jump-ctl-%d.sock" % abs(hash(str(path)))))
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.bind(me)
        s.settimeout(CTL_WAIT)
        s.sendto(command.encode(), str(path))
        answer = s.recv(4096).decode("ascii", "replace")
    return answer


def request_times(pcap, src):
    """Epoch times of the mode 3 packets src sent, from a capture."""
    r = subprocess.run([nl.TSHARK, "-r", str(pcap), "-Y", "ip.src==%s && ntp.flags.mode==3" % src,
                        "-T", "fields", "-e", "frame.time_epoch"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return [float(x) for x in r.stdout.split()]


def longest_gap(times, start, end):
    marks = [start] + [t for t in times if start <= t <= end] + [end]
    return max(b - a for a, b in zip(marks, marks[1:]))


def test_external_step_keeps_polling_then_steps_or_panics(lab, refd_bin):
    srv, cli_a, cli_b = lab.ns(), lab.ns(), lab.ns()
    nl.ns_link(srv, SRV_A, cli_a, CLI_A, ifname="va")
    nl.ns_link(srv, SRV_B, cli_b, CLI_B, ifname="vb")
    lab.refd(nl.refd_local_conf(lab, name="server", opts="minpoll 3 maxpoll 3"), ns=srv,
             name="server")
    clients = {}
    for name, ns, server, extra in (
            ("steps", cli_a, SRV_A,
                 ["tinker panic 0", "discipline ntpd-kernel stepout %d" % STEPOUT]),
            ("panics", cli_b, SRV_B, [])):
        path = lab.path(name + ".ctl")
        p = lab.refd(nl.refd_client_conf(lab, server, name=name, extra=extra), ns=ns, name=name,
                     extra=["--ctl", path])
        clients[name] = (ns, p, path)

    seen = {}

    def synced(name, ns):
        # LOCAL fudged to 5: the server serves stratum 6, its clients 7
        q, r = nl.refd_query(ns, "127.0.0.1", timeout=1)
        seen[name] = q or (r.returncode, r.stdout[-300:], r.stderr[-300:])
        return q is not None and q.get("stratum") == 7 and abs(q.get("offset", 1)) < 1e-3
    for name, (ns, p, _) in clients.items():
        wait_for(lambda name=name, ns=ns: synced(name, ns), "%s synchronised at stratum 7" % name,
                 tries=90, interval=1.0, last=lambda name=name: seen.get(name))
    caps = {name: lab.tshark(ns, name="cap-" + name, iface="va" if name == "steps" else "vb",
                             bpf="udp port 123", seconds=int(WATCH + 60))
            for name, (ns, _, _) in clients.items()}
    time.sleep(3 * POLL)  # requests before the jump, for the poll interval
    t_jump = time.time()
    for name, (_, _, path) in clients.items():
        answer = ctl(lab, path, "step %gs" % JUMP)
        assert answer.startswith("ok: "), (name, answer)

    # The default-panic client exits with status 1 at its first update after the jump.
    _, panics, _ = clients["panics"]
    wait_for(lambda: not panics.alive(), "the panicking refd exits", tries=int(WATCH), interval=1.0)
    t_exit = time.time()
    rc = panics.popen.wait(5)
    log_b = lab.path("panics.log").read_text(errors="replace")
    assert rc == 1, (rc, log_b[-2000:])
    assert "set clock manually" in log_b and "Panic: offset too big" in log_b, log_b[-2000:]
    assert t_exit - t_jump < FLUSH_POLLS * LONGEST_GAP, t_exit - t_jump

    # The panic-0 client steps back by the jump, once.
    log_a = lab.path("steps.log").read_text(errors="replace")
    step = wait_for(lambda: re.search(r"step time server %s offset ([+-][0-9.]+) sec" % SRV_A,
                                      lab.path("steps.log").read_text(errors="replace")),
                    "the panic-0 client steps back", tries=int(WATCH), interval=1.0,
                    last=lambda: lab.path("steps.log").read_text(errors="replace")[-1500:])
    t_step = time.time()
    assert abs(float(step.group(1)) + JUMP) < 0.01, step.group(0)
    assert t_step - t_jump < FLUSH_POLLS * LONGEST_GAP + STEPOUT, t_step - t_jump
    time.sleep(2 * POLL)
    log_a = lab.path("steps.log").read_text(errors="replace")
    assert len(re.findall(r"step time server", log_a)) == 1, log_a[-2000:]
    t_end = time.time()
    for name in caps:
        caps[name][0].stop()

    # Both kept polling at their interval across the jump, to the end.
    times_a = request_times(caps["steps"][1], CLI_A)
    times_b = request_times(caps["panics"][1], CLI_B)
    gap_a = longest_gap(times_a, t_jump, t_end)
    gap_b = longest_gap(times_b, t_jump, t_exit - 1.0)
    first_a = min(t for t in times_a if t >= t_jump) - t_jump
    lab.note("jump %+g s: steps client first request %.1f s after, longest gap %.1f s, "
             "stepped %s s at +%.0f s; panics client longest gap %.1f s, exited rc %d at +%.0f s",
             JUMP, first_a, gap_a, step.group(1), t_step - t_jump, gap_b, rc, t_exit - t_jump)
    assert gap_a <= LONGEST_GAP, (gap_a, times_a)
    assert gap_b <= LONGEST_GAP, (gap_b, times_b)
