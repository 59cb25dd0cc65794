#!/bin/sh
# CTest make/check-*: the make target check-TARGET has a recipe that runs
# the tiers TIERS of scripts/check.sh (a .PHONY target without one prints
# "Nothing to be done" and exits 0: a false green).  make -n only prints.
# Usage: make_tier.sh SOURCE_DIR TARGET "TIERS"
set -eu
make -n -C "$1" "check-$2" | grep -q "scripts/check.sh .* $3\$"
