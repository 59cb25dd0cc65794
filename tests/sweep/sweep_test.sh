#!/bin/sh
# ntpsim sweep end to end (CTest, tests/scenarios/CMakeLists.txt):
#   sweep_test.sh NTPSIM OUT identical   -j1, -j2 and 2 shards + --merge: same summary bytes
#   sweep_test.sh NTPSIM OUT resume      a deleted run dir is redone, and only it
#   sweep_test.sh NTPSIM OUT bad         bad input exits 2 naming the problem
# Scenario: chrony 001 (10,000 s, three nodes, ~0.05 s a run), 3 seeds x 2 disciplines.
set -u
ntpsim=$1 out=$2 mode=$3
here=$(cd "$(dirname "$0")/../.." && pwd)
scn=$here/scenarios/chrony/001-defaults.yaml
set_opt="nodes.client.discipline=ntpd-kernel,regress"
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$out" && mkdir -p "$out" || exit 1

case $mode in
identical)
	"$ntpsim" sweep "$scn" --seeds 1-3 --set "$set_opt" -j1 --out "$out/j1" --no-plots --quiet ||
		fail "-j1 exited $?"
	"$ntpsim" sweep "$scn" --seeds 1-3 --set "$set_opt" -j2 --out "$out/j2" --no-plots --quiet ||
		fail "-j2 exited $?"
	for k in 0 1; do
		"$ntpsim" sweep "$scn" --seeds 1-3 --set "$set_opt" --shard $k/2 -j1 \
			--out "$out/shard$k" --quiet || fail "shard $k/2 exited $?"
		test ! -e "$out/shard$k/summary.csv" || fail "a shard wrote a summary"
	done
	# each shard did its half: runs 0,2,4 (s0-seed1, s0-seed3, s1-seed2) in shard 0
	test -f "$out/shard0/runs/s0-seed3/report.json" -a ! -e "$out/shard0/runs/s0-seed2" ||
		fail "shard 0 did not do runs 0, 2, 4"
	"$ntpsim" sweep --merge "$out/shard0" "$out/shard1" --out "$out/merged" --no-plots --quiet ||
		fail "--merge exited $?"
	for f in summary.csv summary.json summary.md plots/values.csv; do
		cmp "$out/j1/$f" "$out/j2/$f" || fail "$f differs between -j1 and -j2"
		cmp "$out/j1/$f" "$out/merged/$f" || fail "$f differs between -j1 and the merged shards"
	done
	test "$(grep -c ',client.sync_time,3,' "$out/j1/summary.csv")" -eq 2 ||
		fail "summary.csv lacks client.sync_time over 3 runs for both settings"
	grep -q '^1,nodes.client.discipline=regress,result,3,' "$out/j1/summary.csv" ||
		fail "summary.csv lacks the result pass rate of setting 1"
	! ls "$out/j1/runs/s0-seed1" | grep -q trace || fail "traces written without --traces"
	;;
resume)
	"$ntpsim" sweep "$scn" --seeds 1-3 --set "$set_opt" -j2 --out "$out/r" --no-plots \
		2>"$out/first.txt" || fail "first sweep exited $?"
	grep -q "6 runs: 0 kept, 6 done, 0 failed" "$out/first.txt" || fail "$(cat "$out/first.txt")"
	cp "$out/r/summary.csv" "$out/before.csv"
	rm -r "$out/r/runs/s1-seed2"
	touch -d '2001-01-01' "$out/r/runs/s0-seed1/report.json"
	"$ntpsim" sweep "$scn" --seeds 1-3 --set "$set_opt" -j2 --out "$out/r" --no-plots \
		2>"$out/second.txt" || fail "second sweep exited $?"
	cat "$out/second.txt"
	grep -q "6 runs: 5 kept, 1 done, 0 failed" "$out/second.txt" || fail "not only the deleted run redone"
	test -f "$out/r/runs/s1-seed2/report.json" || fail "the deleted run was not redone"
	test "$(date -r "$out/r/runs/s0-seed1/report.json" +%Y)" = 2001 || fail "a kept run was rewritten"
	cmp "$out/before.csv" "$out/r/summary.csv" || fail "the resumed summary differs"
	# a different sweep into the same DIR is refused
	"$ntpsim" sweep "$scn" --seeds 1-4 --out "$out/r" --quiet 2>"$out/other.txt"
	test $? -eq 2 && grep -q "holds another sweep" "$out/other.txt" || fail "$(cat "$out/other.txt")"
	;;
bad)
	expect2() { # WANT ARGS...: exit 2 and WANT in the message
		want=$1
		shift
		"$ntpsim" sweep "$@" >"$out/out.txt" 2>&1
		rc=$?
		cat "$out/out.txt"
		test $rc -eq 2 || fail "exit $rc, want 2: $*"
		grep -qF -- "$want" "$out/out.txt" || fail "no '$want' for: $*"
	}
	expect2 "nodes has no item named 'clent'" "$scn" --seeds 1-2 --set nodes.clent.discipline=regress --out "$out/a"
	expect2 "--set nodes.client.discipline=bogus: $scn:" "$scn" --seeds 1-2 --set nodes.client.discipline=regress,bogus --out "$out/a"
	expect2 "seed 2 given twice" "$scn" --seeds 1-3,2 --out "$out/a"
	expect2 "got 'x'" "$scn" --seeds 1-3,x --out "$out/a"
	expect2 "--shard '2/2': expected K/N with 0 <= K < N" "$scn" --seeds 1-2 --shard 2/2 --out "$out/a"
	test ! -e "$out/a/runs" || fail "a run dir made despite bad input"
	"$ntpsim" sweep "$scn" --seeds 1-2 --shard 0/2 --out "$out/m1" --quiet || fail "shard"
	"$ntpsim" sweep "$scn" --seeds 1-3 --shard 1/2 --out "$out/m2" --quiet || fail "shard"
	expect2 "$out/m2/sweep.json differs from $out/m1/sweep.json" --merge "$out/m1" "$out/m2" --out "$out/mm"
	expect2 "run s0-seed2 (setting 0, seed 2) is missing" --merge "$out/m1" --out "$out/mm"
	;;
*)
	fail "unknown mode $mode"
	;;
esac
echo ok
