#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Capture the real NTP packets behind the golden tests of core/ntp_pkt
# (tests/unit/test_pkt.c) and rebuild the seed corpus of tests/fuzz/fuzz_pkt.c.
#
#   scripts/capture-golden.sh              capture, then write golden.tsv and the corpus
#   scripts/capture-golden.sh --extract    only re-read the pcaps already in tests/data/pkt/
#
# What runs: in a private network namespace (only its loopback is up, so no
# packet can leave the machine), NTPsec ntpd serves 127.0.0.1:123 from its
# LOCAL refclock and chronyd serves 127.0.0.2:123 from `local stratum 5`.
# ntpd also polls itself (`server 127.0.0.1 noselect`): the only way to see an
# ntpd client request on loopback, since ntpd refuses other 127/8 servers and
# has no port option.  ntpdig and `chronyd -Q` query both servers.  tshark
# writes one pcapng per conversation; then tshark's own dissection (PDML) of
# every packet goes into golden.tsv.
#
# Safety: every daemon runs under `capsh --drop=cap_sys_time` (it cannot set
# the clock), chronyd also with -x; every wait is bounded; everything started
# here is stopped by PID and the namespace is deleted on exit.
#
# Needs root, tshark, ntpsec (/usr/sbin/ntpd), ntpdig, capsh, python3.
# chronyd: $CHRONYD, else build/daemons/chrony (scripts/install-deps.sh), else
# `apt-get download chrony` into the scratch directory.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
DATA="$root/tests/data/pkt"
CORPUS="$root/tests/fuzz/corpus/pkt"
PY=/usr/bin/python3
NTPD=/usr/sbin/ntpd
NS="ntplab-pkt-$$"
W=$(mktemp -d /tmp/ntplab-pkt.XXXXXX)
chmod 700 "$W"
PIDS=()
declare -A CAP

log() { printf 'capture-golden: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		timeout 10 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -9 "$pid" 2>/dev/null || true
	done
	ip netns del "$NS" 2>/dev/null || true
	if [ "${KEEP:-0}" = 1 ]; then
		log "scratch directory kept: $W"
	else
		rm -rf "$W"
	fi
}

in_ns() { ip netns exec "$NS" "$@"; }

# cap_start NAME BPF: tshark on the namespace's lo into $W/NAME.pcapng.
cap_start() {
	local name=$1 filter=$2
	# Not through in_ns: $! must be timeout's own PID (ip netns exec execs it).
	ip netns exec "$NS" timeout 300 tshark -q -i lo -f "$filter" -w "$W/$name.pcapng" >"$W/$name.tshark" 2>&1 &
	PIDS+=($!)
	CAP[$name]=$!
	local i
	for i in $(seq 100); do
		grep -q 'Capturing on' "$W/$name.tshark" && return 0
		sleep 0.1
	done
	die "tshark for $name did not start: $(cat "$W/$name.tshark")"
}

# cap_stop NAME: stop that tshark (SIGTERM lets it close the file cleanly).
cap_stop() {
	local pid=${CAP[$1]}
	sleep 0.5 # let the last reply reach the capture
	kill "$pid" 2>/dev/null || true
	timeout 10 tail --pid="$pid" -f /dev/null || die "tshark $1 did not stop"
	install -m 644 "$W/$1.pcapng" "$DATA/$1.pcapng"
}

# Wait until cmd succeeds: wait_for TRIES INTERVAL CMD...
wait_for() {
	local tries=$1 interval=$2 i
	shift 2
	for i in $(seq "$tries"); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep "$interval"
	done
	return 1
}

find_chronyd() {
	if [ -n "${CHRONYD:-}" ]; then
		return 0
	fi
	if [ -x "$root/build/daemons/chrony/usr/sbin/chronyd" ]; then
		CHRONYD="$root/build/daemons/chrony/usr/sbin/chronyd"
		return 0
	fi
	(cd "$W" && timeout 120 apt-get download -qq chrony >/dev/null 2>&1 &&
		dpkg-deb -x chrony_*.deb chrony) || die "cannot get chronyd (set CHRONYD=)"
	CHRONYD="$W/chrony/usr/sbin/chronyd"
}

start_daemons() {
	cat >"$W/ntp.conf" <<-EOF
		# Stratum 5 from the LOCAL refclock in about 2 s (interop-environment.md 2).
		refclock local stratum 4 minpoll 3 maxpoll 3 prefer
		# ntpd as a client of itself, only to capture its client requests.
		server 127.0.0.1 iburst minpoll 3 maxpoll 3 noselect
		restrict default nomodify
		restrict 127.0.0.1
		driftfile $W/ntp.drift
		interface ignore wildcard
		interface listen 127.0.0.1
	EOF
	cat >"$W/chrony.conf" <<-EOF
		local stratum 5
		allow 127.0.0.0/8
		port 123
		bindaddress 127.0.0.2
		cmdport 0
		pidfile $W/chronyd.pid
		driftfile $W/chrony.drift
		logdir $W
	EOF
	ip netns exec "$NS" capsh --drop=cap_sys_time -- -c \
		"exec $CHRONYD -x -d -u root -f $W/chrony.conf" >"$W/chronyd.log" 2>&1 &
	PIDS+=($!)
	wait_for 50 0.1 chronyd_listening ||
		die "chronyd did not start: $(cat "$W/chronyd.log")"
}

start_ntpd() {
	ip netns exec "$NS" capsh --drop=cap_sys_time -- -c \
		"exec $NTPD -n -c $W/ntp.conf -p $W/ntpd.pid -l $W/ntpd.log" >"$W/ntpd.out" 2>&1 &
	PIDS+=($!)
}

chronyd_listening() { in_ns ss -lun | grep -q '127.0.0.2:123 '; }

# ntpdig never sets the clock without -s/-S; capsh makes sure of it anyway.
ntpdig_once() { in_ns timeout 5 capsh --drop=cap_sys_time -- -c "exec ntpdig -t 1 $1" 2>&1; }
# (ntpdig fails on the INIT reply: test its output, not its status.)
ntpd_unsynced_reply() { [[ "$(ntpdig_once 127.0.0.1 || true)" == *"stratum 0"* ]]; }
ntpd_at_stratum5() { [[ "$(ntpdig_once 127.0.0.1 || true)" == *" s5 "* ]]; }

# One-shot chrony client: never touches the clock (-Q), any server.  ntpd's
# root dispersion is a few seconds just after it syncs, above chrony's
# default maxdistance of 3 s.  The packets are captured either way, so a
# sample chrony rejects is only a warning.
chrony_query() {
	in_ns timeout 20 capsh --drop=cap_sys_time -- -c \
		"exec $CHRONYD -Q -t 10 -u root -f /dev/null 'server $1 iburst maxsamples 2' 'maxdistance 16'" ||
		log "warning: chronyd -Q got no usable sample from $1"
}

capture() {
	[ "$(id -u)" -eq 0 ] || die "needs root (network namespace)"
	command -v tshark >/dev/null || die "needs tshark"
	command -v ntpdig >/dev/null || die "needs ntpdig (ntpsec-ntpdig)"
	[ -x "$NTPD" ] || die "needs $NTPD (ntpsec)"
	find_chronyd
	trap cleanup EXIT
	mkdir -p "$DATA"
	rm -f "$DATA"/*.pcapng

	ip netns add "$NS"
	in_ns ip link set lo up

	start_daemons
	# Replies from ntpd before it has synchronised (LI=3, stratum 0, INIT),
	# then daemon-to-daemon traffic for the whole ntpd session.
	cap_start ntpd-self 'udp src port 123 and udp dst port 123 and host 127.0.0.1'
	cap_start ntpdig-ntpd-unsync 'udp port 123 and host 127.0.0.1 and not (src port 123 and dst port 123)'
	start_ntpd
	# Whatever ntpd answers first: before sync it answers INIT (ntpdig then
	# says "probable KOD packet" and fails, which is expected here).
	wait_for 40 0.1 ntpd_unsynced_reply ||
		log "warning: caught no unsynchronised ntpd reply"
	cap_stop ntpdig-ntpd-unsync

	wait_for 30 1 ntpd_at_stratum5 ||
		die "ntpd did not reach stratum 5: $(tail -5 "$W/ntpd.log")"

	cap_start ntpdig-ntpd 'udp port 123 and host 127.0.0.1 and not (src port 123 and dst port 123)'
	ntpdig_once 127.0.0.1
	cap_stop ntpdig-ntpd

	cap_start chronyd-ntpd 'udp port 123 and host 127.0.0.1 and not (src port 123 and dst port 123)'
	chrony_query 127.0.0.1
	cap_stop chronyd-ntpd

	cap_start ntpdig-chronyd 'udp port 123 and host 127.0.0.2'
	ntpdig_once 127.0.0.2
	cap_stop ntpdig-chronyd

	cap_start chronyd-chronyd 'udp port 123 and host 127.0.0.2'
	chrony_query 127.0.0.2
	cap_stop chronyd-chronyd

	cap_stop ntpd-self
	log "captures written to $DATA"
}

# golden.tsv: one line per packet, tshark's dissection of every header field.
extract() {
	local f
	: >"$W/pdml.list"
	for f in "$DATA"/*.pcapng; do
		tshark -r "$f" -T pdml >"$W/$(basename "$f" .pcapng).pdml" 2>/dev/null
		echo "$W/$(basename "$f" .pcapng).pdml" >>"$W/pdml.list"
	done
	"$PY" - "$W/pdml.list" "$DATA/golden.tsv" <<-'EOF'
		import os, sys, xml.etree.ElementTree as ET

		COLS = ["name", "payload", "li", "vn", "mode", "stratum", "ppoll", "precision",
		        "precision_s", "rootdelay", "rootdelay_s", "rootdisp", "rootdisp_s",
		        "refid", "refid_shown", "reftime", "reftime_raw", "org", "org_raw",
		        "rec", "rec_raw", "xmt", "xmt_raw"]

		def seconds(showname):
		    # "Root Delay: 0.000244 seconds" -> "0.000244"
		    return showname.split(":", 1)[1].strip().split()[0]

		rows = []
		for path in open(sys.argv[1]).read().split():
		    conv = os.path.basename(path)[:-5]
		    for pkt in ET.parse(path).getroot().iter("packet"):
		        fields = {}
		        for f in pkt.iter("field"):
		            fields.setdefault(f.get("name"), f)
		        frame = fields["frame.number"].get("show")
		        ntp = [p for p in pkt.iter("proto") if p.get("name") == "ntp"]
		        if not ntp:
		            continue
		        udp = fields.get("udp.payload")
		        payload = udp.get("value") if udp is not None else None
		        if payload is None:
		            raise SystemExit("no udp.payload in %s frame %s" % (conv, frame))
		        sport = fields["udp.srcport"].get("show")
		        dport = fields["udp.dstport"].get("show")
		        mode = fields["ntp.flags.mode"].get("show")
		        role = {"3": "request", "4": "reply"}.get(mode, "mode" + mode)
		        r = {"name": "%s#%s:%s>%s:%s" % (conv, frame, sport, dport, role) }
		        r["payload"] = payload
		        for k in ("li", "vn", "mode"):
		            r[k] = fields["ntp.flags." + k].get("show")
		        for k in ("stratum", "ppoll", "precision"):
		            r[k] = fields["ntp." + k].get("show")
		        r["precision_s"] = seconds(fields["ntp.precision"].get("showname"))
		        r["rootdelay"] = fields["ntp.rootdelay"].get("show")
		        r["rootdelay_s"] = seconds(fields["ntp.rootdelay"].get("showname"))
		        r["rootdisp"] = fields["ntp.rootdispersion"].get("show")
		        r["rootdisp_s"] = seconds(fields["ntp.rootdispersion"].get("showname"))
		        r["refid"] = fields["ntp.refid"].get("show")
		        r["refid_shown"] = fields["ntp.refid"].get("showname").split(": ", 1)[1]
		        for k in ("reftime", "org", "rec", "xmt"):
		            r[k] = fields["ntp." + k].get("show")
		            r[k + "_raw"] = fields["ntp." + k].get("value")
		        rows.append(r)

		with open(sys.argv[2], "w") as out:
		    out.write("# Real NTP packets captured by scripts/capture-golden.sh; the columns after\n")
		    out.write("# payload are tshark's own dissection (PDML show values; *_s and refid_shown\n")
		    out.write("# from its display text; *_raw the raw bytes).  Read by tests/unit/test_pkt.c.\n")
		    out.write("\t".join(COLS) + "\n")
		    for r in rows:
		        out.write("\t".join(r[c] for c in COLS) + "\n")
		print("capture-golden: %d packets in %s" % (len(rows), sys.argv[2]), file=sys.stderr)
	EOF
}

# Seed corpus: every golden payload, plus crafted edge cases.
corpus() {
	mkdir -p "$CORPUS"
	rm -f "$CORPUS"/*.bin
	"$PY" - "$DATA/golden.tsv" "$CORPUS" <<-'EOF'
		import struct, sys

		tsv, outdir = sys.argv[1], sys.argv[2]
		seen = set()
		for line in open(tsv):
		    if line.startswith("#") or line.startswith("name\t"):
		        continue
		    name, payload = line.split("\t")[:2]
		    if payload in seen:
		        continue
		    seen.add(payload)
		    safe = name.split(":")[0].replace("#", "-")
		    open("%s/golden-%s.bin" % (outdir, safe), "wb").write(bytes.fromhex(payload))

		def hdr(vn=4, mode=3, li=0, stratum=0, refid=b"\0\0\0\0"):
		    return (bytes([li << 6 | vn << 3 | mode, stratum, 6, 0xec]) + bytes(8) + refid
		            + bytes.fromhex("eeafc1539a3e552a" "eeafc153fdc95000"
		                            "eeafc153fdd43650" "eeafc153fdde3884"))

		def ext(ftype, length):
		    return struct.pack(">HH", ftype, length) + bytes(i & 0xff for i in range(length - 4))

		crafted = {
		    "kod-rate": hdr(mode=4, li=3, refid=b"RATE"),
		    "ext-28": hdr() + ext(0x0104, 28),
		    "ext-16-mac20": hdr() + ext(0x0104, 16) + struct.pack(">I", 7) + bytes(16),
		    "ext-two-mac24": hdr() + ext(0x0204, 16) + ext(0x0404, 36)
		                     + struct.pack(">I", 9) + bytes(20),
		    "mac20": hdr() + struct.pack(">I", 1) + bytes(range(16)),
		    "mac24": hdr(vn=3) + struct.pack(">I", 2) + bytes(range(20)),
		    "crypto-nak": hdr(mode=4) + bytes(4),
		    "v1": hdr(vn=1, mode=0),
		    "v2": hdr(vn=2),
		    "v3": hdr(vn=3, mode=4, stratum=2, refid=bytes([192, 0, 2, 1])),
		    "mode6": bytes.fromhex("1602000100000000000000"),
		    "mode7": bytes.fromhex("17000000"),
		    "short47": hdr()[:47],
		    "version0": bytes([0x03]) + hdr()[1:],
		    "ext-len3": hdr() + struct.pack(">HH", 1, 3) + bytes(24),
		    "ext-len12": hdr() + struct.pack(">HH", 1, 12) + bytes(24),
		    "ext-past-end": hdr() + struct.pack(">HH", 1, 64) + bytes(24),
		    "ext-nine": hdr() + ext(1, 16) * 8 + ext(1, 28),
		    "trailer8": hdr() + bytes(8),
		    "too-long": hdr() + ext(1, 976) + bytes(4),
		}
		for name, data in crafted.items():
		    open("%s/crafted-%s.bin" % (outdir, name), "wb").write(data)
		print("capture-golden: %d golden + %d crafted seeds in %s"
		      % (len(seen), len(crafted), outdir), file=sys.stderr)
	EOF
}

case "${1:-}" in
--extract)
	trap cleanup EXIT
	extract
	corpus
	;;
"")
	capture
	extract
	corpus
	;;
*)
	die "usage: $0 [--extract]"
	;;
esac
