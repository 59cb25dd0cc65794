#!/bin/sh
# CTest scenario/*/normalized: `ntpsim check --normalized` gives valid JSON
# with every node (replicas expanded), and the same bytes twice.
# Usage: scenario_normalized.sh NTPSIM SCENARIO.yaml OUT_PREFIX
set -eu
ntpsim=$1 scenario=$2 out=$3
"$ntpsim" check --normalized "$scenario" >"$out.a"
"$ntpsim" check --normalized "$scenario" >"$out.b"
cmp "$out.a" "$out.b"
/usr/bin/python3 - "$out.a" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["nodes"]) == d["total_nodes"] > 0, "nodes %d, total_nodes %d" % (len(d["nodes"]), d["total_nodes"])
PY
