#!/usr/bin/env bash
# ntpsim's command lines are getopt_long's (sim/sim_cli.h): `--opt value` and
# `--opt=value` mean the same, options may follow the scenario, every
# subcommand answers --help with exit 0, and a bad option exits 2 naming it.
# CTest ntpsim/cli; by hand: tests/scenarios/test_cli.sh build/sim/ntpsim SCENARIO.yaml
set -euo pipefail
ntpsim=${1:?usage: test_cli.sh NTPSIM SCENARIO.yaml}
scenario=${2:?usage: test_cli.sh NTPSIM SCENARIO.yaml}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
	echo "test_cli: FAIL: $*" >&2
	exit 1
}

# the same run three ways: the same report.json, bytes and all
"$ntpsim" run "$scenario" --seed 3 --out "$work/a" --no-plots --quiet >/dev/null
"$ntpsim" run --seed=3 --out="$work/b" --no-plots --quiet "$scenario" >/dev/null
"$ntpsim" run --quiet --no-plots "$scenario" --out "$work/c" --seed=3 >/dev/null
cmp "$work/a/report.json" "$work/b/report.json" || fail "--seed=3 is not --seed 3"
cmp "$work/a/report.json" "$work/c/report.json" || fail "options after the scenario differ"

# --help everywhere, on stdout, exit 0
for cmd in "--help" "run --help" "check --help" "sweep --help" "run -h"; do
	# shellcheck disable=SC2086 # the words of cmd
	out=$("$ntpsim" $cmd) || fail "ntpsim $cmd exited $?"
	grep -q "^usage: ntpsim" <<<"$out" || fail "ntpsim $cmd printed no usage"
done

# bad command lines: exit 2, the reason names the option
expect_bad() {
	local want=$1
	shift
	local rc=0 err
	err=$("$ntpsim" "$@" 2>&1 >/dev/null) || rc=$?
	[ "$rc" -eq 2 ] || fail "ntpsim $*: exit $rc, want 2"
	grep -qF -- "$want" <<<"$err" || fail "ntpsim $*: no '$want' in: $(head -1 <<<"$err")"
}
expect_bad "unknown option '--sed'" run "$scenario" --sed 3
expect_bad "option '--seed' needs a value" run "$scenario" --seed
expect_bad "option '--quiet' takes no value" run "$scenario" --quiet=yes
expect_bad "--seed: expected an integer >= 0, got 'x'" run "$scenario" --seed=x
expect_bad "one scenario per run" run "$scenario" "$scenario"
expect_bad "a scenario file is needed" run --quiet
expect_bad "unknown option '--bogus'" check --bogus "$scenario"
expect_bad "-j '0': expected a number of processes" sweep "$scenario" --seeds 1 -j0 --out "$work/s"
expect_bad "unknown command 'rnu'" rnu "$scenario"
expect_bad "'3x' is not a time" units 30s 3x
expect_bad "'inf' is not a time" units inf
expect_bad "a time is needed" units

# units: the loader's reading of a time, a line each (realnet scales with it)
[ "$("$ntpsim" units 30s 5min "1.5 ms" 2h 12 | tr '\n' ' ')" = "30 300 0.0015 7200 12 " ] ||
	fail "ntpsim units: $("$ntpsim" units 30s 5min "1.5 ms" 2h 12 | tr '\n' ' ')"
echo "test_cli: ok"
