#!/bin/sh
# CTest refd/check-config: `refd --check-config FILE` judges what refd reads
# at start without binding or starting anything: the shipped
# dist/refd.conf is usable (exit 0); a syntax error, an untrusted `key N`,
# a key file that cannot be read while a key is used, and a tampered
# leapfile each exit 1 with a message that names the file and line.
# Usage: check_config.sh REFD SOURCE_DIR
set -u
refd=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
	echo "check_config: FAIL: $*" >&2
	exit 1
}

out=$("$refd" --check-config "$src/dist/refd.conf" 2>&1) || fail "dist/refd.conf: $out"
echo "$out" | grep -q "dist/refd.conf: usable (1 associations, 3 restrict lines, 0 warnings)" ||
	fail "dist/refd.conf: $out"

# want FILE TEXT: refd --check-config FILE exits 1 and says TEXT
want() {
	out=$("$refd" --check-config "$1" 2>&1) && fail "$1 accepted: $out"
	echo "$out" | grep -qF -- "$2" || fail "$1: no '$2' in: $out"
}
printf 'server 10.0.0.1 iburst\nsever 10.0.0.2\n' >"$work/typo.conf"
want "$work/typo.conf" "typo.conf:2:1: error: unknown directive 'sever'"
printf '7 MD5 secret\n' >"$work/ntp.keys"
printf 'keys %s\nserver 10.0.0.1 key 7\n' "$work/ntp.keys" >"$work/untrusted.conf"
want "$work/untrusted.conf" "untrusted.conf:2: 10.0.0.1 key 7: key 7 is not trusted"
printf 'keys %s/none.keys\ntrustedkey 7\nserver 10.0.0.1 key 7\n' "$work" >"$work/nokeys.conf"
want "$work/nokeys.conf" "nokeys.conf:1: error: key file '$work/none.keys' not read"
printf 'leapfile %s\nserver 10.0.0.1\n' "$src/tests/data/leap/tampered.list" >"$work/leap.conf"
want "$work/leap.conf" "leap.conf:1: the leapfile above cannot be used"
printf 'keys %s\ntrustedkey 7\nserver 10.0.0.1 key 7\nleapfile %s\n' "$work/ntp.keys" \
	"$src/tests/data/leap-seconds.list" >"$work/good.conf"
out=$("$refd" --check-config "$work/good.conf" 2>&1) || fail "good.conf: $out"
echo "$out" | grep -q "key file read, leapfile read" || fail "good.conf: $out"
echo "check_config: ok"
