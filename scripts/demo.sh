#!/usr/bin/env bash
# The main job: replay the seed's "client 28 s ahead of its server" incident in
# ntpsim and write its report and plots to out/client-ahead/.
set -euo pipefail
BUILD=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
scenario="$root/scenarios/seed/client-ahead.yaml"
out="$root/out/client-ahead"

if [ ! -x "$BUILD/sim/ntpsim" ] || [ ! -f "$scenario" ]; then
	echo "demo: ntpsim is not built yet in this version; running the unit tests instead."
	exec "$BUILD/tests/unit_tests"
fi
mkdir -p "$out"
"$BUILD/sim/ntpsim" run "$scenario" --out "$out"
echo
echo "demo: report in $out/report.txt (and report.json), plots in $out/*.png"
