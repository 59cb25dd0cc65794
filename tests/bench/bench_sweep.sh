#!/usr/bin/env bash
# ntpsim sweep speed (issue 14): prints numbers and the exact commands.
# Not a test: no pass/fail.
#   1. 100 seeds x 2 settings (nodes.client.discipline=ntpd-kernel,regress) of
#      scenarios/chrony/001-defaults.yaml with -j1 and -j2: wall times and the
#      speed-up (target >= 1.8x on 2 cores);
#   2. the cost of one `ntpsim run --no-trace --no-plots` of a 10,000 s
#      two-node run (server + client of chrony 001, 1 s samples): the time of
#      N runs in a row / N (process start included), and ntpsim's own wall
#      time per run (its summary line: the simulation without process start).
#
#   tests/bench/bench_sweep.sh [BUILD_DIR] [N]
set -euo pipefail
BUILD=${1:-build}
N=${2:-50}
root=$(cd "$(dirname "$0")/../.." && pwd)
ntpsim=$(cd "$BUILD" 2>/dev/null && pwd)/sim/ntpsim
if [ ! -x "$ntpsim" ]; then
	echo "bench_sweep: $ntpsim not found (build first: cmake --build $BUILD)" >&2
	exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }

echo "bench_sweep: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -m)"
echo "load before: $(cat /proc/loadavg)"

# 1. the sweep
scn=$root/scenarios/chrony/001-defaults.yaml
for j in 1 2; do
	cmd="$ntpsim sweep $scn --seeds 1-100 --set nodes.client.discipline=ntpd-kernel,regress -j$j --no-plots --quiet --out $work/j$j"
	t0=$(now)
	$cmd || echo "(exit $?)"
	t1=$(now)
	wall[j]=$(echo "$t0 $t1" | awk '{printf "%.3f", $2 - $1}')
	echo "== sweep -j$j: ${wall[j]} s for 200 runs"
	echo "   command: $cmd"
done
cmp "$work/j1/summary.csv" "$work/j2/summary.csv" && echo "   summary.csv identical for -j1 and -j2"
echo "== speed-up -j1 -> -j2: $(echo "${wall[1]} ${wall[2]}" | awk '{printf "%.2f", $1 / $2}')x (target >= 1.8x)"
echo "load after sweeps: $(cat /proc/loadavg)"

# 2. one short run without traces
cat >"$work/two.yaml" <<EOS
name: two-node
duration: 10000s
sample_interval: 1s
network:
  default: {delay: 100us, jitter: 100us, dist: exponential}
nodes:
  - name: server
    address: 192.168.123.1
    conf: |
      server 127.127.1.0
      fudge 127.127.1.0 stratum 0
  - name: client
    address: 192.168.123.2
    discipline: regress
    clock: {offset: 0.1, freq: 100ppm, wander: 1e-9, wander_step: 1s}
    conf: |
      server server
EOS
cmd="$ntpsim run $work/two.yaml --no-trace --no-plots --out $work/two"
t0=$(now)
for i in $(seq 1 "$N"); do
	$cmd --seed "$i" >/dev/null 2>>"$work/two.err"
done
t1=$(now)
echo "== one 10,000 s two-node run, --no-trace: $(echo "$t0 $t1 $N" | awk '{printf "%.2f", ($2 - $1) / $3 * 1000}') ms per run ($N runs in a row, process start included)"
awk '/simulated in/ { for (i = 1; i <= NF; i++) if ($i == "in") { s += $(i + 1); n++ } }
     END { if (n) printf "   ntpsim own wall time: %.2f ms per run (mean of %d summary lines)\n", s / n * 1000, n }' \
	"$work/two.err"
echo "   command: $cmd --seed I   (I = 1..$N)"
echo "load after: $(cat /proc/loadavg)"
