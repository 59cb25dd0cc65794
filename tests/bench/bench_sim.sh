#!/usr/bin/env bash
# ntpsim speed and memory: events/s, simulated seconds per wall second and
# peak RSS (/usr/bin/time -v) for
#   1. 1 server + 1 client over 10^6 simulated seconds (includes process start),
#   2. 1 server + N clients (default 10,000) over one simulated day,
#   3. the same with N/10 clients, to get the memory per client from the
#      difference of the two peak RSS values.
# Prints the numbers and the exact commands.  Not a test: no pass/fail.
#
#   tests/bench/bench_sim.sh [BUILD_DIR] [CLIENTS]
set -euo pipefail
BUILD=${1:-build}
CLIENTS=${2:-10000}
root=$(cd "$(dirname "$0")/../.." && pwd)
ntpsim=$(cd "$BUILD" 2>/dev/null && pwd)/sim/ntpsim
if [ ! -x "$ntpsim" ]; then
	echo "bench_sim: $ntpsim not found (build first: cmake --build $BUILD)" >&2
	exit 2
fi
if [ ! -x /usr/bin/time ]; then
	echo "bench_sim: /usr/bin/time is needed (apt-get install time)" >&2
	exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

scenario() { # name duration clients
	cat > "$work/$1.yaml" <<EOS
name: $1
duration: $2
network:
  default: {delay: 100us, jitter: 100us, dist: exponential}
nodes:
  - name: server
    address: 10.0.0.1
    conf: |
      server 127.127.1.0
      fudge 127.127.1.0 stratum 1
  - name: client
    count: $3
    address: 10.1.0.1
    trace: false
    clock: {offset: 0.1, freq: 100ppm, wander: 1e-9}
    conf: |
      server server
EOS
}

run() { # name -> prints one result line; sets RSS_KB
	local name=$1 cmd
	cmd="$ntpsim run $work/$name.yaml --no-plots --out $work/out-$name"
	/usr/bin/time -v $cmd >/dev/null 2>"$work/$name.err" || true
	local summary wall rss
	summary=$(grep '^ntpsim:' "$work/$name.err" || echo "ntpsim: (no summary)")
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/$name.err")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/$name.err")
	RSS_KB=$rss
	echo "== $name"
	echo "   command:   $cmd"
	echo "   process:   wall $wall (incl. start and loading), peak RSS ${rss} KiB"
	echo "   ${summary#ntpsim: }"
}

scenario two 1000000s 1
scenario many 86400s "$CLIENTS"
scenario tenth 86400s "$((CLIENTS / 10))"

echo "ntpsim benchmark on $(uname -m), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)"
run two
start=$(date +%s.%N)
"$ntpsim" run "$work/two.yaml" --no-plots --quiet >/dev/null || true
end=$(date +%s.%N)
awk -v a="$start" -v b="$end" 'BEGIN { w = b - a; printf "   whole process again: %.3f s wall = %.3g x real time for 1e6 s\n", w, 1e6 / w }'
run many
rss_many=$RSS_KB
run tenth
rss_tenth=$RSS_KB
awk -v a="$rss_many" -v b="$rss_tenth" -v n="$CLIENTS" 'BEGIN {
	per = (a - b) * 1024 / (n - n / 10)
	printf "== memory per client: (%d - %d) KiB / %d clients = %.0f bytes\n", a, b, n - n / 10, per }'
