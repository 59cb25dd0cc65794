#!/usr/bin/env bash
# docs/NAME.N.md -> a roff man page, with go-md2man (Debian package go-md2man).
# The docs' first line is "# NAME(N): what it does" (or "# NAME(N) — ..."),
# which reads well on the web; a man page needs a title line and a NAME
# section instead, so that line becomes both before go-md2man runs.
# Usage: md2man.sh IN.md OUT.N VERSION
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: md2man.sh IN.md OUT.N VERSION" >&2; exit 2; }
in=$1 out=$2 version=$3
first=$(head -n1 "$in")
if [[ ! $first =~ ^#\ ([a-z0-9_-]+)\(([1-8])\)[:\ —-]+(.*)$ ]]; then
	echo "md2man.sh: $in:1: want '# name(N): what it does', got: $first" >&2
	exit 2
fi
name=${BASH_REMATCH[1]} section=${BASH_REMATCH[2]} what=${BASH_REMATCH[3]}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
{
	# refd.8.md has its own NAME section; the others get one from line 1
	if ! grep -q '^## NAME$' "$in"; then
		printf '## NAME\n\n%s - %s\n\n' "$name" "$what"
	fi
	tail -n +2 "$in"
} >"$tmp"
# go-md2man writes no .TH without a title block, whose syntax varies between
# its versions: the .TH line is ours, after its leading .nh
go-md2man -in "$tmp" | awk -v th=".TH \"${name^^}\" \"$section\" \"\" \"ntplab $version\" \"ntplab manual\"" \
	'NR == 1 { print; print th; next } { print }' >"$out"
