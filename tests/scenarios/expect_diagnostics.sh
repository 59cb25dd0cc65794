#!/bin/sh
# CTest ntpsim/bad-* and ntpsim/warn-* (tests/data/sim/): a bad-*.yaml file
# exits 2 with a message naming the file and line; a warn-*.yaml file is
# valid (exit 0) with a "FILE:LINE:COL: warning: ..." message.  Every
# "# error: TEXT" (or "# warning: TEXT") line of the file must appear in
# the messages.
# Usage: expect_diagnostics.sh NTPSIM FILE.yaml STDERR_FILE
set -u
ntpsim=$1 file=$2 errout=$3
"$ntpsim" check "$file" 2>"$errout"
rc=$?
cat "$errout"
f=$(basename "$file")
case "$f" in
bad-*)
	tag=error
	test $rc -eq 2 && grep -q "$f:[0-9]*:" "$errout" || exit 1
	;;
*)
	tag=warning
	test $rc -eq 0 && grep -q "$f:[0-9]*:[0-9]*: warning: " "$errout" || exit 1
	;;
esac
sed -n "s/^# $tag: //p" "$file" | while IFS= read -r want; do
	grep -qF -- "$want" "$errout" || {
		echo "missing: $want"
		exit 1
	}
done
