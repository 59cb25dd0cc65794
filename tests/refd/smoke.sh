#!/bin/sh
# refd manual smoke test on loopback.  Run as root from anywhere:
#   tests/refd/smoke.sh [BUILD_DIR]          (default: build; needs BUILD_DIR/refd/refd)
# Optional: CHRONYD=/path/to/chronyd (an unpacked chrony, see
# docs/refd.8.md) adds "chronyd as a client of refd".
#
# Every daemon runs under `capsh --drop=cap_sys_time` and is stopped by its
# pid; every wait is bounded.  Uses 127.0.0.3:123 (for ntpdig, which has no
# port option) and 127.0.0.4/.5/.6 port 11123.  Nothing here can change the
# machine's clock: refd runs its default virtual clock.
set -u
BUILD=${1:-build}
REFD=$(readlink -f "$BUILD/refd/refd")
BENCH=$(readlink -f "$BUILD/refd/refbench")
W=$(mktemp -d /tmp/refd-smoke.XXXXXX)
PIDS=""
FAIL=0

say() { printf '%s\n' "$*"; }
bad() { say "FAIL: $*"; FAIL=1; }
start() { # NAME ARGS...: start refd under capsh, remember its pid
	name=$1; shift
	capsh --drop=cap_sys_time -- -c "exec $REFD $*" >"$W/$name.log" 2>&1 &
	echo $! >"$W/$name.pid"
	PIDS="$PIDS $!"
}
stop_all() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do
		i=0; while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
	done
}
trap stop_all EXIT INT TERM
wait_log() { # NAME PATTERN SECONDS
	i=0; while [ $i -lt $(($3 * 10)) ]; do
		grep -q "$2" "$W/$1.log" 2>/dev/null && return 0
		sleep 0.1; i=$((i+1))
	done; return 1
}
conf() { # NAME TEXT
	mkdir -p "$W/$1"; printf '%s\n' "$2" >"$W/$1/ntp.conf"
}

[ -x "$REFD" ] || { say "no $BUILD/refd/refd; build first"; exit 2; }
say "work dir $W"

# 1. a LAN server on its local clock (the seed's setup), where ntpdig can reach it
if ss -lun | grep -q '127.0.0.3:123 \|0.0.0.0:123 \|\*:123 '; then
	say "skip 1: UDP port 123 on 127.0.0.3 is taken"
else
	conf s "server 127.127.1.0
fudge 127.127.1.0 stratum 4
restrict default nomodify notrap
driftfile $W/s/drift"
	start s -c "$W/s/ntp.conf" -n --listen 127.0.0.3
	sleep 3
	out=$(timeout 8 ntpdig -t 1 127.0.0.3 2>&1); say "ntpdig: $out"
	case $out in *" s5 "*) ;; *) bad "ntpdig did not see a stratum 5 server";; esac
	out=$(timeout 8 "$REFD" -Q 127.0.0.3 -n 2 2>&1); say "refd -Q: $out"
	out=$(timeout 8 ntpq -n -p 127.0.0.3 2>&1); say "$out"
fi

# 2. server A 28.2 s ahead; client B steps once, then stays within 1 ms of A
conf a "server 127.127.1.0 minpoll 3
fudge 127.127.1.0 stratum 4
restrict default nomodify notrap"
conf b "server 127.0.0.4 iburst minpoll 3 maxpoll 4
restrict default nomodify notrap
driftfile $W/b/drift
statsdir $W/b/
statistics loopstats peerstats"
start a -c "$W/a/ntp.conf" -n -p 11123 --listen 127.0.0.4 --clock-offset +28.2
start b -c "$W/b/ntp.conf" -n -p 11123 --listen 127.0.0.5 --server-port 11123
if wait_log b clock_step 60; then
	say "$(grep clock_step "$W/b.log")"
	sleep 20
	steps=$(grep -c 'clock: step' "$W/b.log")
	[ "$steps" = 1 ] || bad "client B stepped $steps times"
	json=$(timeout 8 "$REFD" -Q 127.0.0.4:11123 127.0.0.5:11123 --json)
	diff=$(printf '%s' "$json" | /usr/bin/python3 -c 'import json,sys
d=json.load(sys.stdin); a,b=d["servers"]; print("%.6f" % ((b["offset"]-a["offset"])*1e3))')
	say "B - A = $diff ms"
	/usr/bin/python3 -c "import sys; sys.exit(0 if abs($diff) < 1.0 else 1)" || bad "|B - A| >= 1 ms"
else
	bad "client B never stepped"; tail -5 "$W/b.log"
fi

# 3. "client 28 s ahead": C starts 28.2 s ahead of A (56.4 s ahead of the real clock)
conf c "server 127.0.0.4 iburst minpoll 3 maxpoll 4
restrict default nomodify notrap"
start c -c "$W/c/ntp.conf" -n -p 11123 --listen 127.0.0.6 --server-port 11123 --clock-offset +56.4
if wait_log c clock_step 60; then say "$(grep clock_step "$W/c.log")"; else bad "client C never stepped"; fi

# 4. chronyd as a client of A
if [ -n "${CHRONYD:-}" ] && [ -x "$CHRONYD" ]; then
	mkdir -p "$W/chrony"; chmod 700 "$W/chrony"
	cat >"$W/chrony/chrony.conf" <<EOF
server 127.0.0.4 port 11123 iburst minpoll 0 maxpoll 2
maxdistance 16
port 0
cmdport 0
bindcmdaddress $W/chrony/sock
pidfile $W/chrony/pid
driftfile $W/chrony/drift
logdir $W/chrony
EOF
	capsh --drop=cap_sys_time -- -c "exec $CHRONYD -x -d -u root -f $W/chrony/chrony.conf" \
		>"$W/chrony.log" 2>&1 &
	PIDS="$PIDS $!"
	if wait_log chrony "System clock wrong" 30; then
		say "chronyd: $(grep 'System clock wrong' "$W/chrony.log")"
	else
		bad "chronyd did not sync to refd"; tail -5 "$W/chrony.log"
	fi
fi

# 5. malformed barrage: A must keep running and answering
/usr/bin/python3 - 127.0.0.4 11123 20000 <<'EOF'
import os, random, socket, struct, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(5905)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
good = bytes([0x23]) + bytes(39) + struct.pack(">Q", r.getrandbits(64))
for i in range(n):
    k = i % 6
    d = [lambda: os.urandom(r.randrange(0, 1400)), lambda: good[:r.randrange(0, 48)],
         lambda: bytes([r.choice([0x16, 0x17, 0x1e, 0x1f])]) + os.urandom(r.randrange(0, 600)),
         lambda: good + os.urandom(r.randrange(1, 200)),
         lambda: bytes([r.randrange(256)]) + good[1:],
         lambda: bytes([0x24]) + os.urandom(47)][k]()
    s.sendto(d, (host, port))
print("barrage: %d datagrams sent" % n)
EOF
sleep 1
kill -0 "$(cat "$W/a.pid")" 2>/dev/null || bad "A died under the barrage"
timeout 8 "$REFD" -Q 127.0.0.4:11123 -n 1 >/dev/null || bad "A stopped answering after the barrage"

# 6. busy port: a second refd on A's address and port must name A
timeout 5 capsh --drop=cap_sys_time -- -c "exec $REFD -c $W/a/ntp.conf -n -p 11123 --listen 127.0.0.4" \
	>"$W/busy.log" 2>&1
rc=$?
say "busy port (rc $rc): $(cat "$W/busy.log")"
[ $rc = 1 ] && grep -q "pid $(cat "$W/a.pid") refd" "$W/busy.log" || bad "busy port not reported"

# 7. load
[ -x "$BENCH" ] && timeout 30 "$BENCH" 127.0.0.4:11123 -c 16 -d 3

stop_all
grep -q "refd exiting" "$W/b.log" || bad "B did not exit cleanly"
[ -s "$W/b/drift" ] && say "B drift file: $(cat "$W/b/drift")"
ls "$W/b" | grep -q peerstats || bad "no peerstats from B"
[ $FAIL = 0 ] && say "smoke: all checks passed ($W)" || say "smoke: FAILURES ($W)"
exit $FAIL
