#!/bin/sh
# CTest scenario/*/deterministic: the same scenario and seed twice give
# byte-identical outputs (report, traces, events, stats), and a report.json.
# Usage: scenario_deterministic.sh NTPSIM SCENARIO.yaml OUT_A OUT_B
set -u
ntpsim=$1 scenario=$2 a=$3 b=$4
rm -rf "$a" "$b"
# the exit status (the checks' verdict) is the seed runs' business, not ours
"$ntpsim" run "$scenario" --seed 7 --out "$a" --no-plots --quiet >/dev/null
"$ntpsim" run "$scenario" --seed 7 --out "$b" --no-plots --quiet >/dev/null
diff -r "$a" "$b" && test -s "$a/report.json"
