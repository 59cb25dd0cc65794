#!/usr/bin/env bash
# The dependency arrows of the tree point one way (issue 16 section 1):
#   1. no include circle among the C files of core/, netem/, ntpnetem/, sim/
#      and refd/ (file level: a.c or a.h -> the header it includes);
#   2. no sideways arrow: refd/ includes no header of sim/ and builds no
#      source of sim/ (refd and sim both stand on core/);
#   3. the scenario loader (sim/sim_scenario*.c) calls in one direction:
#      sim_scenario.c calls the sections, the sections call the field
#      readers, and no section calls another section.  Read from the
#      compiled objects (nm), so a call through a macro or a prototype
#      written by hand is seen too.
# Usage: check-includes.sh SOURCE_DIR LIBNTPSIM_LIB.a   (CTest sim/layers)
set -euo pipefail
src=$(realpath "${1:?usage: check-includes.sh SOURCE_DIR LIBNTPSIM_LIB.a}")
lib=$(realpath "${2:?usage: check-includes.sh SOURCE_DIR LIBNTPSIM_LIB.a}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bad=0

# The sections of the scenario format (docs/scenarios.md): each reads its part
# of the file with the field readers and knows nothing of the others.
sections="sim_scenario_nodes sim_scenario_network sim_scenario_dns sim_scenario_events \
sim_scenario_checks"

# 1. Include edges "file header", resolved by name inside the five folders.
cd "$src"
dirs="core netem ntpnetem sim refd"
for d in $dirs; do
	if [ -d "$d" ]; then
		find "$d" -maxdepth 1 -name '*.[ch]'
	fi
done | sort >"$work/files"
while read -r f; do
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
		while read -r h; do
			for d in $(dirname "$f") $dirs; do
				if [ -f "$d/$h" ]; then
					echo "$f $d/$h"
					break
				fi
			done
		done
done <"$work/files" >"$work/includes"
if ! tsort "$work/includes" >/dev/null 2>"$work/loop"; then
	echo "layers: include circle:" >&2
	cat "$work/loop" >&2
	bad=1
fi

# 2. refd -> sim.
side=$(awk '$1 ~ /^refd\// && $2 ~ /^sim\//' "$work/includes")
if [ -n "$side" ]; then
	echo "layers: refd/ includes sim/ (both must stand on core/):" >&2
	echo "$side" >&2
	bad=1
fi
if grep -n 'sim/\|NTPSIM' refd/CMakeLists.txt >"$work/side" 2>/dev/null; then
	echo "layers: refd/CMakeLists.txt builds or links sim/:" >&2
	cat "$work/side" >&2
	bad=1
fi

# 3. Calls between the loader's objects: "caller callee" for each symbol one
# object uses and another defines.
mkdir "$work/obj"
cd "$work/obj"
ar x "$lib"
for o in sim_scenario*.o; do
	nm --defined-only -g "$o" | awk -v m="${o%%.*}" 'NF == 3 { print $3 " " m }'
done | sort >"$work/defs"
for o in sim_scenario*.o; do
	nm -u "$o" | awk -v m="${o%%.*}" '{ print $2 " " m }'
done | sort >"$work/uses"
join "$work/uses" "$work/defs" | awk '$2 != $3 { print $2 " " $3 " " $1 }' | sort -u >"$work/calls"
if ! awk '{ print $1 " " $2 }' "$work/calls" | tsort >/dev/null 2>"$work/loop"; then
	echo "layers: the scenario loader's files call each other in a circle:" >&2
	cat "$work/loop" >&2
	bad=1
fi
for a in $sections; do
	for b in $sections; do
		awk -v a="$a" -v b="$b" '$1 == a && $2 == b {
			print "layers: section " a " calls section " b " (" $3 "): move the shared reader down to the field readers" }' \
			"$work/calls" >&2
		if awk -v a="$a" -v b="$b" '$1 == a && $2 == b { found = 1 } END { exit !found }' \
			"$work/calls"; then
			bad=1
		fi
	done
done
exit $bad
