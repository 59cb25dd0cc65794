#!/usr/bin/env bash
# Server throughput and cost: refd (--workers 1 and 2), chronyd, NTPsec ntpd
# and a bare UDP echo server (tests/bench/udp_echo.c, 1 and 2 threads: the
# floor) under the same refbench load.  Each server runs alone in a network namespace of its own on
# 127.0.0.1:123 (ntpd has no port option and binds only addresses configured
# on an interface, so a namespace per server is the one layout that treats
# all three alike), with refbench inside that namespace.  The servers take
# turns: one refbench run at a time, so they never compete for the CPUs.
# For each server and each load (closed loop, then fixed rates) it prints
# replies/s, loss, latency percentiles and the server's CPU per reply: the
# utime+stime delta of the server process (/proc/PID/stat, in CLK_TCK
# ticks) over the refbench run, divided by the replies.
#
# Not a test (no pass/fail) and not part of `make check`.  Needs root (ip
# netns).  Every daemon runs under `capsh --drop=cap_sys_time`, is stopped by
# its pid, and its namespace is deleted on exit, so nothing stays on :123.
#
#   tests/bench/bench_refd.sh [options]
#     --build DIR       build dir with refd/refd and refd/refbench (default: build)
#     --clients N       refbench -c (default 16)
#     --window N        refbench -w (default 4)
#     --seconds S       refbench -d (default 5)
#     --repeat N        rounds (default 1); the summary gives per-server medians
#     --rates "R..."    rate-capped runs after the closed-loop one (default "20000 100000")
#     --servers "S..."  any of refd refd-w2 chronyd ntpd echo echo-w2 (default:
#                       all six; refd-w2 is refd --workers 2, echo-w2 udp_echo
#                       with 2 threads)
#     --chronyd PATH    default: BUILD/daemons/chrony/usr/sbin/chronyd, then $PATH
#     --ntpd PATH       NTPsec ntpd (default /usr/sbin/ntpd)
#     --markdown[=FILE] also print the results as a markdown table; with FILE,
#                       append that table to FILE
#     --syscalls        one more run per load with perf counting the server's
#                       system calls (raw_syscalls:sys_enter): syscalls/reply
#     --chronyd-noclientlog  add `noclientlog` to chronyd's configuration (no
#                       per-client table, as refd without `limited`; NTPsec
#                       ntpd keeps its MRU list: `disable monitor` is refused)
#     --keep            keep the work directory (configs and daemon logs)
set -euo pipefail

ARGS=("$@")
BUILD=build
CLIENTS=16
WINDOW=4
SECONDS_RUN=5
RATES="20000 100000"
SERVERS="refd refd-w2 chronyd ntpd echo echo-w2"
CHRONYD=""
NTPD=/usr/sbin/ntpd
MARKDOWN=""
MD_FILE=""
KEEP=0
SYSCALLS=0
NO_CLIENT_LOG=0
REPEAT=1
READY_S=30   # s, longest wait for a server to answer at stratum 5 (ntpd: ~2 s)
NOISY_PCT=20 # % of a core used by others during a run that makes the row suspect
STOP_S=5     # s, longest wait for a server to exit after SIGTERM

die() { echo "bench_refd: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	--build) BUILD=${2:?}; shift ;;
	--clients) CLIENTS=${2:?}; shift ;;
	--window) WINDOW=${2:?}; shift ;;
	--seconds) SECONDS_RUN=${2:?}; shift ;;
	--repeat) REPEAT=${2:?}; shift ;;
	--rates) RATES=${2?}; shift ;;
	--servers) SERVERS=${2:?}; shift ;;
	--chronyd) CHRONYD=${2:?}; shift ;;
	--ntpd) NTPD=${2:?}; shift ;;
	--markdown) MARKDOWN=1 ;;
	--markdown=*) MARKDOWN=1; MD_FILE=${1#--markdown=} ;;
	--keep) KEEP=1 ;;
	--syscalls) SYSCALLS=1 ;;
	--chronyd-noclientlog) NO_CLIENT_LOG=1 ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option '$1' (try --help)" ;;
	esac
	shift
done

[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || die "--repeat wants a positive integer"
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
command -v capsh >/dev/null || die "capsh not found (apt-get install libcap2-bin)"
command -v ntpdig >/dev/null || die "ntpdig not found (apt-get install ntpsec-ntpdig)"
[ -x /usr/bin/time ] || die "/usr/bin/time not found (apt-get install time)"
REFD=$(readlink -f "$BUILD/refd/refd" || true)
BENCH=$(readlink -f "$BUILD/refd/refbench" || true)
if [ ! -x "$REFD" ] || [ ! -x "$BENCH" ]; then
	die "$BUILD/refd/refd or refbench missing (cmake --build $BUILD --target refd refbench)"
fi
ECHO=$(readlink -f "$BUILD/tests/udp_echo" || true)
if [ -z "$CHRONYD" ]; then
	CHRONYD=$(readlink -f "$BUILD/daemons/chrony/usr/sbin/chronyd" 2>/dev/null || true)
	[ -x "$CHRONYD" ] || CHRONYD=$(command -v chronyd || true)
fi
if [ "$SYSCALLS" = 1 ] && ! perf stat -e raw_syscalls:sys_enter -o /dev/null true 2>/dev/null; then
	die "--syscalls needs perf with the raw_syscalls tracepoint (apt-get install linux-perf)"
fi
TICK=$(getconf CLK_TCK)

W=$(mktemp -d /tmp/bench-refd.XXXXXX)
chmod 700 "$W" # chronyd refuses a socket directory others can write to
NS_PREFIX="ntplab-bench$$"
NAMESPACES=()
PIDS=()

cleanup() {
	local p i
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt $((STOP_S * 10)) ]; do
			sleep 0.1
			i=$((i + 1))
		done
		if kill -0 "$p" 2>/dev/null; then
			kill -KILL "$p" 2>/dev/null || true
		fi
	done
	for n in "${NAMESPACES[@]}"; do
		ip netns del "$n" 2>/dev/null || true
	done
	if [ "$KEEP" = 1 ]; then
		echo "bench_refd: work directory kept: $W" >&2
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# "utime stime" of PID in clock ticks (fields 14 and 15; the name in
# parentheses may contain spaces, so count from the closing parenthesis).
cpu_ticks() {
	local s
	s=$(cat "/proc/$1/stat")
	s=${s##*) }
	awk '{ print $12, $13 }' <<<"$s"
}

# Udp RcvbufErrors inside namespace NS: datagrams the kernel dropped because
# a socket's receive queue was full (server's or refbench's).
rcvbuf_errors() {
	# shellcheck disable=SC2016 # awk program, not shell
	ip netns exec "$1" awk '/^Udp:/ {
		if (++n == 1) { for (i = 1; i <= NF; i++) if ($i == "RcvbufErrors") c = i }
		else { print $c; exit } }' /proc/net/snmp
}

# Busy ticks of the whole machine (all CPUs): user nice system irq softirq steal.
machine_ticks() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

jget() { # KEY JSON -> number
	sed -n "s/.*\"$1\":\([-0-9.]*\).*/\1/p" <<<"$2"
}

new_ns() { # KIND -> sets NS (not in a subshell: NAMESPACES must see it)
	NS="$NS_PREFIX-$1"
	ip netns add "$NS"
	NAMESPACES+=("$NS")
	ip -n "$NS" link set lo up
}

del_ns() { # NS
	local keep=() n
	ip netns del "$1" 2>/dev/null || true
	for n in "${NAMESPACES[@]}"; do
		[ "$n" = "$1" ] || keep+=("$n")
	done
	NAMESPACES=("${keep[@]}")
}

# Writes the configuration of KIND into DIR and prints the command to exec.
server_cmd() { # KIND DIR
	local kind=$1 d=$2
	case $kind in
	refd | refd-w2)
		# refd serves the fudge stratum + 1, as ntpd does: 4 -> s5 like the others.
		cat >"$d/ntp.conf" <<-EOF
			server 127.127.1.0
			fudge 127.127.1.0 stratum 4
			restrict default nomodify notrap
			driftfile $d/drift
		EOF
		echo "$REFD -c $d/ntp.conf -n --listen 127.0.0.1:123 -l $d/refd.log -P $d/refd.pid" \
			"--workers $([ "$kind" = refd ] && echo 1 || echo 2)"
		;;
	echo | echo-w2)
		echo "$ECHO 127.0.0.1 123 $([ "$kind" = echo ] && echo 1 || echo 2)"
		;;
	chronyd)
		cat >"$d/chrony.conf" <<-EOF
			local stratum 5
			allow all
			port 123
			bindaddress 127.0.0.1
			cmdport 0
			bindcmdaddress $d/chronyd.sock
			pidfile $d/chronyd.pid
			driftfile $d/drift
			logdir $d
		EOF
		[ "$NO_CLIENT_LOG" = 0 ] || echo noclientlog >>"$d/chrony.conf"
		echo "$CHRONYD -x -d -u root -f $d/chrony.conf"
		;;
	ntpd)
		cat >"$d/ntp.conf" <<-EOF
			refclock local stratum 4 minpoll 3 maxpoll 3 prefer
			restrict default nomodify
			restrict 127.0.0.1
			driftfile $d/ntp.drift
			statsdir $d/
		EOF
		echo "$NTPD -n -c $d/ntp.conf -p $d/ntpd.pid -l $d/ntpd.log"
		;;
	esac
}

# The process name of a server kind.
comm_of() { # KIND
	case $1 in
	refd-w2) echo refd ;;
	echo | echo-w2) echo udp_echo ;;
	*) echo "$1" ;;
	esac
}

# " s5 " in the output once KIND answers in NS: ntpdig for the NTP servers;
# the echo floor fills no clock fields ntpdig would accept, so one short
# refbench run that gets replies stands for it.
ready_probe() { # KIND NS
	local j
	case $1 in
	echo | echo-w2)
		j=$(ip netns exec "$2" timeout 5 "$BENCH" 127.0.0.1:123 -c 1 -d 0.5 --json 2>&1 || true)
		[ "$(jget replies "$j")" -gt 0 ] 2>/dev/null && echo "echo s5 (replies $(jget replies "$j"))"
		;;
	*) ip netns exec "$2" timeout 3 ntpdig -t 1 127.0.0.1 2>&1 || true ;;
	esac
}

# Starts KIND in NS; sets SERVER_PID.  `ip netns exec` and capsh both exec,
# so $! is the daemon itself; checked through /proc/PID/comm.
start_server() { # KIND NS
	local kind=$1 ns=$2 d="$W/$1" cmd out="" comm eff deadline=$((SECONDS + READY_S))
	mkdir -p "$d"
	chmod 700 "$d"
	cmd=$(server_cmd "$kind" "$d")
	ip netns exec "$ns" capsh --drop=cap_sys_time -- -c "exec $cmd" >"$d/stdout.log" 2>&1 &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	while [ $SECONDS -lt $deadline ]; do
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			echo "bench_refd: $kind exited at start:" >&2
			tail -5 "$d"/*.log >&2 || true
			return 1
		fi
		out=$(ready_probe "$kind" "$ns")
		case $out in *" s5 "*) break ;; esac
		sleep 0.5
	done
	case $out in
	*" s5 "*) ;;
	*) echo "bench_refd: $kind did not serve stratum 5 within $READY_S s: $out" >&2; return 1 ;;
	esac
	comm=$(cat "/proc/$SERVER_PID/comm")
	if [ "$comm" != "$(comm_of "$kind")" ]; then
		echo "bench_refd: pid $SERVER_PID is '$comm', not $kind" >&2
		return 1
	fi
	# CAP_SYS_TIME is bit 25 of CapEff (refd's sandbox clears them all).
	eff=$(awk '/^CapEff:/ { print $2 }' "/proc/$SERVER_PID/status")
	if [ -z "$eff" ] || (((16#$eff >> 25) & 1)); then
		echo "bench_refd: $kind still has cap_sys_time (CapEff $eff)" >&2
		return 1
	fi
	echo "  $kind ready (pid $SERVER_PID): $out"
}

# Stops PID and forgets it, so the exit trap never signals a reused pid.
stop_server() { # PID
	local i=0 keep=() p
	kill -TERM "$1" 2>/dev/null || true
	while kill -0 "$1" 2>/dev/null && [ $i -lt $((STOP_S * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -KILL "$1" 2>/dev/null || true
	fi
	wait "$1" 2>/dev/null || true
	for p in "${PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	PIDS=("${keep[@]}")
}

ROWS=()    # tab-separated result rows
BENCHCMDS=()

# Runs refbench ARGS in NS; sets JSON (empty on failure) and BENCH_CPU
# (refbench's own user+sys seconds).
run_bench() { # NS ARGS...
	local ns=$1 u s
	shift
	JSON=$(ip netns exec "$ns" timeout $((${SECONDS_RUN%.*} + 30)) \
		/usr/bin/time -o "$W/time" -f '%U %S' "$BENCH" "$@" --json) || true
	read -r u s <"$W/time" 2>/dev/null || { u=0; s=0; }
	BENCH_CPU=$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')
}

# System calls the server PID makes per reply, from a separate refbench run
# with the raw_syscalls:sys_enter tracepoint counted by perf (kept out of
# the CPU measurement, since counting costs a little per call).
syscalls_per_reply() { # NS PID ARGS...
	local ns=$1 pid=$2 perf_pid n i=0
	shift 2
	perf stat -x, -e raw_syscalls:sys_enter -p "$pid" -o "$W/perf" 2>/dev/null &
	perf_pid=$!
	sleep 0.3
	run_bench "$ns" "$@"
	kill -INT "$perf_pid" 2>/dev/null || true
	while kill -0 "$perf_pid" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$perf_pid" 2>/dev/null; then
		kill -KILL "$perf_pid" 2>/dev/null || true
	fi
	wait "$perf_pid" 2>/dev/null || true
	n=$(awk -F, '/raw_syscalls/ { print $1; exit }' "$W/perf" 2>/dev/null)
	awk -v n="${n:-}" -v r="$(jget replies "$JSON")" \
		'BEGIN { if (n ~ /^[0-9]+$/ && r > 0) printf "%.2f", n / r; else printf "-" }'
}

# One refbench run against the server PID in NS; appends a row.
measure() { # ROUND KIND NS PID RATE(0 = closed loop)
	local round=$1 kind=$2 ns=$3 pid=$4 rate=$5 args c0 c1 e0 e1 m0 m1 t0 t1 sc="-" json
	args=(127.0.0.1:123 -c "$CLIENTS" -w "$WINDOW" -d "$SECONDS_RUN")
	[ "$rate" = 0 ] || args+=(-r "$rate")
	BENCHCMDS+=("ip netns exec NS $BENCH ${args[*]} --json")
	c0=$(cpu_ticks "$pid")
	e0=$(rcvbuf_errors "$ns")
	m0=$(machine_ticks)
	t0=$(date +%s.%N)
	run_bench "$ns" "${args[@]}"
	t1=$(date +%s.%N)
	m1=$(machine_ticks)
	c1=$(cpu_ticks "$pid")
	e1=$(rcvbuf_errors "$ns")
	json=$JSON
	if [ -z "$json" ]; then
		echo "bench_refd: refbench against $kind gave no result" >&2
		return 0
	fi
	echo "  round $round, $kind, $([ "$rate" = 0 ] && echo closed loop || echo "$rate/s"): $json"
	if [ "$SYSCALLS" = 1 ]; then
		sc=$(syscalls_per_reply "$ns" "$pid" "${args[@]}")
	fi
	ROWS+=("$(awk -v round="$round" -v k="$kind" -v r="$rate" -v tick="$TICK" -v c0="$c0" -v c1="$c1" \
		-v wall="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
		-v rep="$(jget replies "$json")" -v sent="$(jget sent "$json")" \
		-v rps="$(jget replies_per_s "$json")" -v loss="$(jget loss_pct "$json")" \
		-v kod="$(jget kod "$json")" -v p50="$(jget p50 "$json")" \
		-v p90="$(jget p90 "$json")" -v p99="$(jget p99 "$json")" \
		-v mx="$(jget max "$json")" -v drops=$((e1 - e0)) -v bcpu="$BENCH_CPU" \
		-v dm=$((m1 - m0)) -v sc="$sc" 'BEGIN {
		split(c0, a, " "); split(c1, b, " ")
		user = (b[1] - a[1]) / tick; sys = (b[2] - a[2]) / tick; cpu = user + sys
		load = r == 0 ? "closed" : (r "/s")
		per = rep > 0 ? sprintf("%.2f", cpu / rep * 1e6) : "-"
		sysshare = cpu > 0 ? sprintf("%.0f", 100 * sys / cpu) : "-"
		other = 100 * (dm / tick - cpu - bcpu) / wall
		printf "%d\t%s\t%s\t%.0f\t%d\t%.3f\t%d\t%d\t%d\t%d\t%.0f\t%.2f\t%.0f\t" \
		       "%s\t%s\t%s\t%.0f\t%.0f\t%d\n",
		       round, k, load, rps, sent, loss, kod, p50, p90, p99, mx, cpu, 100 * cpu / wall,
		       per, sysshare, sc, 100 * bcpu / wall, other < 0 ? 0 : other, drops }')")
}

tabs() { local IFS=$'\t'; echo "$*"; }
HEAD=$(tabs round server load replies/s sent "loss %" KoD "p50 us" "p90 us" "p99 us" "max us" \
	"srv CPU s" "srv core %" "CPU us/reply" "sys %" syscalls/reply "bench core %" \
	"other core %" "rcvbuf drops")
OTHER_COL=18 # "other core %" in HEAD

# Per server and load, the median of each column over the quiet rounds (other
# work below NOISY_PCT % of a core), or over all rounds when none was quiet.
summarize() {
	printf '%s\n' "${ROWS[@]}" | awk -F'\t' -v lim="$NOISY_PCT" -v oc="$OTHER_COL" '
	function median(key, col,    n, i, j, v, t) {
		n = 0
		for (i = 1; i <= cnt[key]; i++) {
			if (use[key, i]) { v[++n] = val[key, i, col] }
		}
		for (i = 2; i <= n; i++) {
			for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
		}
		if (n == 0 || v[1] == "-") { return "-" }
		return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	}
	{
		key = $2 "\t" $3
		if (!(key in cnt)) { order[++nk] = key }
		cnt[key]++
		for (c = 1; c <= NF; c++) { val[key, cnt[key], c] = $c }
		quiet[key, cnt[key]] = $oc <= lim
		nquiet[key] += $oc <= lim
	}
	function fmt(v, spec) {
		return v == "-" ? "-" : sprintf(spec, v)
	}
	END {
		print "server\tload\tquiet rounds\treplies/s\tloss %\tp50 us\tp90 us\tp99 us\t" \
		      "max us\tCPU us/reply\tsys %\tsyscalls/reply\tsrv core %\tbench core %\t" \
		      "other core %"
		for (k = 1; k <= nk; k++) {
			key = order[k]
			for (i = 1; i <= cnt[key]; i++) { use[key, i] = nquiet[key] == 0 || quiet[key, i] }
			mx = 0
			for (i = 1; i <= cnt[key]; i++) {
				if (use[key, i] && val[key, i, 11] > mx) { mx = val[key, i, 11] }
			}
			printf "%s\t%d/%d%s\t%.0f\t%.3f\t%.0f\t%.0f\t%.0f\t%.0f\t%s\t%s\t%s\t%.0f\t%.0f\t%.0f\n", key,
			       nquiet[key], cnt[key], nquiet[key] ? "" : " (noisy)", median(key, 4),
			       median(key, 6), median(key, 8), median(key, 9), median(key, 10), mx,
			       fmt(median(key, 14), "%.2f"), fmt(median(key, 15), "%.0f"),
			       fmt(median(key, 16), "%.2f"), median(key, 13), median(key, 17), median(key, 18)
		}
	}'
}

# Issue 17 §4's ratios from the summary: throughput in the closed loop
# (refd-w2 over refd, over the better of ntpd and chronyd) and CPU per reply
# over the echo floor's with as many threads, under every load.  "-" where
# a server is missing.
ratios() {
	awk -F'\t' '
	function q(a, b) { return (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) ? "-" : sprintf("%.2f", a / b) }
	NR > 1 { rps[$1, $2] = $4; cpu[$1, $2] = $10; if (!($2 in seen)) { seen[$2] = 1; loads[++nl] = $2 } }
	END {
		print "ratio\tload\tvalue\ttarget"
		best = rps["ntpd", "closed"] + 0 > rps["chronyd", "closed"] + 0 ? rps["ntpd", "closed"] : rps["chronyd", "closed"]
		printf "refd-w2 / refd replies/s\tclosed\t%s\t>= 1.8\n", q(rps["refd-w2", "closed"], rps["refd", "closed"])
		printf "refd-w2 / best of ntpd, chronyd replies/s\tclosed\t%s\t>= 1.5\n", q(rps["refd-w2", "closed"], best)
		for (i = 1; i <= nl; i++) {
			printf "refd / echo CPU us/reply\t%s\t%s\t<= 1.15\n", loads[i], q(cpu["refd", loads[i]], cpu["echo", loads[i]])
			printf "refd-w2 / echo-w2 CPU us/reply\t%s\t%s\t<= 1.15\n", loads[i], q(cpu["refd-w2", loads[i]], cpu["echo-w2", loads[i]])
		}
	}'
}

print_table() { # reads tab-separated lines, header first
	awk -F'\t' '{
			for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) }
			n = NF }
		END { for (r = 1; r <= NR; r++) { line = ""
			for (i = 1; i <= n; i++) {
				left = cell[1, i] ~ /^(server|load|ratio)$/
				line = line sprintf(left ? "%-*s  " : "%*s  ", w[i], cell[r, i])
			}
			sub(/ +$/, "", line); print line } }'
}

markdown_table() { # reads tab-separated lines, header first
	awk -F'\t' 'NR == 1 { printf "|"; for (i = 1; i <= NF; i++) printf " %s |", $i; printf "\n|"
			for (i = 1; i <= NF; i++) printf $i ~ /^(server|load|ratio)$/ ? "---|" : "---:|"; printf "\n"; next }
		{ printf "|"; for (i = 1; i <= NF; i++) printf " %s |", $i; printf "\n" }'
}

# --- run ---------------------------------------------------------------------
REPRO="tests/bench/bench_refd.sh"
[ ${#ARGS[@]} -eq 0 ] || REPRO="$REPRO$(printf ' %q' "${ARGS[@]}")"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo "bench_refd: $STARTED, $(nproc) CPUs ($CPU_MODEL), kernel $(uname -r)"
echo "  load average before: $LOAD_BEFORE"
echo "  refbench: -c $CLIENTS -w $WINDOW -d $SECONDS_RUN; closed loop, then rates:" \
	"${RATES:-none}; $REPEAT round(s)"
if [ "$NO_CLIENT_LOG" = 1 ]; then
	echo "  chronyd runs with noclientlog"
fi
echo "  refd:    $("$REFD" --version 2>&1 | head -1) ($REFD)"

KINDS=()
declare -A SRV_PID SRV_NS
for kind in $SERVERS; do
	case $kind in
	refd | refd-w2) ;;
	echo | echo-w2)
		if [ -z "$ECHO" ] || [ ! -x "$ECHO" ]; then
			echo "  $kind: $BUILD/tests/udp_echo not built, skipped (--target udp_echo)"
			continue
		fi
		;;
	chronyd)
		if [ -z "$CHRONYD" ] || [ ! -x "$CHRONYD" ]; then
			echo "  chronyd: not found, skipped (scripts/install-deps.sh $BUILD/daemons)"
			continue
		fi
		echo "  chronyd: $("$CHRONYD" -v 2>&1 | head -1 | cut -d'(' -f1-2) ($CHRONYD)"
		;;
	ntpd)
		if ! "$NTPD" --version 2>&1 | grep -q ntpsec; then
			echo "  ntpd:    $NTPD is not NTPsec ntpd, skipped"
			continue
		fi
		echo "  ntpd:    $("$NTPD" --version 2>&1 | head -1) ($NTPD)"
		;;
	*) die "unknown server '$kind' (refd refd-w2 chronyd ntpd echo echo-w2)" ;;
	esac
	new_ns "$kind"
	if ! start_server "$kind" "$NS"; then
		stop_server "$SERVER_PID"
		del_ns "$NS"
		continue
	fi
	KINDS+=("$kind")
	SRV_PID[$kind]=$SERVER_PID
	SRV_NS[$kind]=$NS
done
[ ${#KINDS[@]} -gt 0 ] || die "no server could be started"

# All servers run for the whole benchmark (idle ones cost nothing measurable)
# and take turns under each load, so a burst of other work on the machine
# hits neighbouring measurements rather than one server's whole series.  Each
# round starts with the next server, so no server is always first.
for ((round = 1; round <= REPEAT; round++)); do
	for load in 0 $RATES; do
		for ((i = 0; i < ${#KINDS[@]}; i++)); do
			kind=${KINDS[$(((i + round - 1) % ${#KINDS[@]}))]}
			measure "$round" "$kind" "${SRV_NS[$kind]}" "${SRV_PID[$kind]}" "$load"
		done
	done
done
for kind in "${KINDS[@]}"; do
	stop_server "${SRV_PID[$kind]}"
	del_ns "${SRV_NS[$kind]}"
done
for kind in "${KINDS[@]}"; do
	if kill -0 "${SRV_PID[$kind]}" 2>/dev/null; then
		echo "bench_refd: WARNING: $kind (pid ${SRV_PID[$kind]}) is still running" >&2
	fi
done
if ip netns list | grep -q "^$NS_PREFIX-"; then
	echo "bench_refd: WARNING: namespaces $NS_PREFIX-* are still there" >&2
else
	echo "  servers stopped, namespaces deleted: nothing of ours is left on :123"
fi

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
SUMMARY=$(summarize)
RATIOS=$(ratios <<<"$SUMMARY")
RAW=$({
	echo "$HEAD"
	printf '%s\n' "${ROWS[@]}"
})
echo
echo "All rounds:"
print_table <<<"$RAW"
echo
echo "Median over the quiet rounds (other work <= $NOISY_PCT % of a core; max us is the largest):"
print_table <<<"$SUMMARY"
echo
echo "Issue 17 §4 ratios (from the medians; load average before $LOAD_BEFORE, after $LOAD_AFTER):"
print_table <<<"$RATIOS"
echo "refbench runs in the server's namespace on the same $(nproc) CPUs: with $(nproc) CPUs a"
echo "  2-thread server competes with its load generator (see bench core %)."
echo
echo "CPU us/reply = (utime+stime of the server over the run, /proc/PID/stat) / replies;"
echo "srv/bench core % = CPU seconds / wall seconds of the run (100 = one core busy);"
echo "other core % = all CPUs' busy time (/proc/stat) minus server and refbench: kernel"
echo "  work charged to no task, and anything else running on the machine (noise);"
echo "sys % = share of the server's CPU spent in the kernel (stime);"
echo "syscalls/reply = server system calls per reply (--syscalls: a separate run under perf);"
echo "rcvbuf drops = Udp RcvbufErrors in the server's namespace during the run."
noisy=$(printf '%s\n' "${ROWS[@]}" | awk -F'\t' -v lim="$NOISY_PCT" -v oc="$OTHER_COL" \
	'$oc > lim { printf "%s#%s %s %s (%s %%)", n++ ? ", " : "", $1, $2, $3, $oc }')
if [ -n "$noisy" ]; then
	echo "WARNING: other work took more than $NOISY_PCT % of a core during: $noisy;"
	echo "  those runs measured a shared machine and are left out of the medians."
fi
echo "reproduce: $REPRO"
echo "per server (NS = its namespace, server on 127.0.0.1:123):"
printf '  %s\n' "${BENCHCMDS[@]}" | awk '!seen[$0]++'
if [ -n "$MARKDOWN" ]; then
	md=$(
		echo "Run started $STARTED, $(nproc) CPUs ($CPU_MODEL), kernel $(uname -r)," \
			"load average before $LOAD_BEFORE, after $LOAD_AFTER:"
		echo "\`$REPRO\`"
		echo
		markdown_table <<<"$SUMMARY"
		echo
		echo "Ratios (issue 17 §4):"
		echo
		markdown_table <<<"$RATIOS"
		echo
		echo "All rounds:"
		echo
		markdown_table <<<"$RAW"
	)
	echo
	echo "$md"
	if [ -n "$MD_FILE" ]; then
		printf '\n%s\n' "$md" >>"$MD_FILE"
		echo "(appended to $MD_FILE)"
	fi
fi
