#!/bin/sh
# CTest ntpsim/deep-nesting: 200,000 '[' on their own lines (libyaml's
# scanner needs minutes for them) are refused at the nesting limit with a
# position.  The time is printed, not judged.
# Usage: deep_nesting.sh NTPSIM OUT.yaml STDERR_FILE
set -u
ntpsim=$1 yaml=$2 errout=$3
awk 'BEGIN { print "duration: 1h"; print "nodes: ["; for (i = 0; i < 200000; i++) print "[" }' >"$yaml"
t0=$(date +%s.%N)
"$ntpsim" check "$yaml" 2>"$errout"
rc=$?
t1=$(date +%s.%N)
cat "$errout"
echo "refused in $(echo "$t0 $t1" | awk '{ printf "%.3f", $2 - $1 }') s"
test $rc -eq 2 && grep -q "deep-nesting.yaml:65:1: lists and mappings nested more than 64 deep" "$errout"
