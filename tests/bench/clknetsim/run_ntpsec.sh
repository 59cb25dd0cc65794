#!/usr/bin/env bash
# One run of real NTPsec ntpd under clknetsim on S1, S3 or S4 of
# docs/disciplines.md: chronyd `local stratum 1` as the server (node 1, a
# perfect clock), NTPsec as the client (node 2, started at 600 s, +100 ppm,
# wander WANDER; OFFSET is its offset at t = 0, so +0.1 s at its start is
# 0.04), chrony's test.common network with exponential JITTER, 10,000 s of
# the client's time.  Defaults are S1's: JITTER=1e-4 OFFSET=0.04
# WANDER=1e-9; S3 is JITTER=1e-1 OFFSET=0.94, S4 WANDER=1e-7.  CONF_LINE
# is appended to NTPsec's ntp.conf (e.g. `disable kernel`).
#
#   run_ntpsec.sh SEED OUTDIR [iburst]
#
# Needs CLKNETSIM (a built clknetsim 134028f tree: clknetsim, clknetsim.so),
# CHRONYD (chronyd 4.3, e.g. unpacked from Debian's package with dpkg-deb -x)
# and SHIM (ntpsec_shim.so built from ntpsec_shim.c); NTPSEC defaults to
# /usr/sbin/ntpd.  Both daemons run without CAP_SYS_TIME and only ever see
# clknetsim's simulated clocks and network (a unix socket in OUTDIR).
# OUTDIR gets log.offset (true offsets, one line a second), log.packets,
# NTPsec's loopstats/peerstats and adjtimex.log (its kernel calls).
set -euo pipefail
seed=$1
out=$(readlink -m "$2")
iburst=${3:-}
: "${CLKNETSIM:?set CLKNETSIM to a built clknetsim tree}"
: "${CHRONYD:?set CHRONYD to a chronyd 4.3 binary}"
: "${SHIM:?set SHIM to ntpsec_shim.so}"
NTPSEC=${NTPSEC:-/usr/sbin/ntpd}

rm -rf "$out"
mkdir -p "$out/ntpstats"
cd "$out"
delay="(+ 1e-4 (* ${JITTER:-1e-4} (exponential)))"   # test.common: 100 us + exp(jitter)
{
	for i in 1 2; do
		echo "node${i}_shift_pll = 2"
		for j in 1 2; do
			echo "node${i}_delay${j} = $delay"
		done
	done
	echo "node2_freq = (+ 1e-4 (sum (* ${WANDER:-1e-9} (normal))))"
	echo "node2_offset = ${OFFSET:-0.04}"
	echo "node2_start = 600.0"
} > conf
cat > conf.1 <<EOT
pidfile $out/pidfile.1
allow
local stratum 1
EOT
cat > conf.2 <<EOT
pidfile $out/pidfile.2
server 192.168.123.1 $iburst
statsdir $out/ntpstats/
statistics loopstats peerstats
filegen loopstats file loopstats type none enable
filegen peerstats file peerstats type none enable
${CONF_LINE:-}
EOT
export CLKNETSIM_IP_FAMILY=4 CLKNETSIM_START_DATE=1704067200 CLKNETSIM_RANDOM_SEED=$seed
export CLKNETSIM_SOCKET=$out/sock
capsh --drop=cap_sys_time -- -c "CLKNETSIM_NODE=1 LD_PRELOAD=$CLKNETSIM/clknetsim.so \
	exec $CHRONYD -d -f $out/conf.1" > log.1 2>&1 &
server=$!
capsh --drop=cap_sys_time -- -c "CLKNETSIM_NODE=2 SHIM_LOG=$out/adjtimex.log \
	LD_PRELOAD=$SHIM:$CLKNETSIM/clknetsim.so exec $NTPSEC -n -c $out/conf.2" > log.2 2>&1 &
client=$!
rc=0
timeout 300 "$CLKNETSIM/clknetsim" -n 2 -o log.offset -p log.packets -R 1 -l 10600 \
	-s "$out/sock" conf 2 > stats 2> log || rc=$?
kill "$server" "$client" 2>/dev/null || true
sleep 0.3
kill -9 "$server" "$client" 2>/dev/null || true
exit "$rc"
