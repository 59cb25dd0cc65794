#!/usr/bin/env bash
# scripts/check-includes.sh must fail, naming the arrow, on each thing it
# forbids: an include circle, refd/ including sim/, a circle of calls in the
# scenario loader and a section calling a section.  A throwaway tree and
# library hold one of each; the real tree passing (CTest sim/layers) means
# something only if this one fails.
# Usage: check_includes_fails.sh SOURCE_DIR CC   (CTest sim/layers-negative)
set -euo pipefail
src=$(realpath "${1:?usage: check_includes_fails.sh SOURCE_DIR CC}")
cc=${2:?usage: check_includes_fails.sh SOURCE_DIR CC}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tree/core" "$work/tree/sim" "$work/tree/refd" "$work/obj"
cd "$work/tree"
printf '#include "ntp_b.h"\n' >core/ntp_a.h
printf '#include "ntp_a.h"\n' >core/ntp_b.h
printf '#include "sim_x.h"\n' >refd/refd_y.c
: >sim/sim_x.h
# nodes and events call each other (a circle, and section -> section)
cd "$work/obj"
printf 'int ld_load_events(void);\nint ld_load_nodes(void) { return ld_load_events(); }\n' >n.c
printf 'int ld_load_nodes(void);\nint ld_load_events(void) { return ld_load_nodes() + 1; }\n' >e.c
"$cc" -c n.c -o sim_scenario_nodes.c.o
"$cc" -c e.c -o sim_scenario_events.c.o
ar rc libfake.a sim_scenario_nodes.c.o sim_scenario_events.c.o
if "$src/scripts/check-includes.sh" "$work/tree" "$work/obj/libfake.a" 2>"$work/out"; then
	echo "check-includes.sh passed a tree with every forbidden arrow" >&2
	exit 1
fi
cat "$work/out"
bad=0
for want in "include circle" "refd/refd_y.c sim/sim_x.h" \
	"call each other in a circle" \
	"section sim_scenario_nodes calls section sim_scenario_events (ld_load_events)" \
	"section sim_scenario_events calls section sim_scenario_nodes (ld_load_nodes)"; do
	if ! grep -qF "$want" "$work/out"; then
		echo "check-includes.sh did not say: $want" >&2
		bad=1
	fi
done
exit $bad
