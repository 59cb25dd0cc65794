#!/usr/bin/env bash
# core/ is sans-I/O (docs/hacking.md): it reads no clock, touches no socket or
# file, sleeps never, draws no libc randomness and keeps no mutable globals.
# This proves it on the compiled library rather than by reading the source:
#   1. no object of libntpcore has a symbol in a writable data section
#      (.data, .bss, thread-local): no global or static state;
#   2. every function the library calls from outside itself is on the list
#      below: memory, strings, formatting into buffers, character classes,
#      maths, address text conversion and nettle's digests/ciphers.  Anything
#      else (clock_gettime, time, socket, recvfrom, fopen, printf, getenv,
#      rand, getrandom, sleep, ...) fails the check, naming the object file.
# Usage: check-core-purity.sh LIBNTPCORE.a   (CTest core/purity)
set -euo pipefail
lib=$(realpath "${1:?usage: check-core-purity.sh LIBNTPCORE.a}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
ar x "$lib"
bad=0

# 1. Writable sections.  .data.rel.ro (const tables holding pointers) is
# read-only after relocation and allowed, as are AddressSanitizer's ODR
# indicators in an Asan build.
state=$(objdump -t ./*.o | awk '
	/^\.\/.*:/ { obj = $1 }
	/^[0-9a-f]+ / {
		for (i = 2; i <= NF; i++) {
			# (the symbol of a section itself is named like it)
			if ($i ~ /^\.(data|bss|tdata|tbss)(\.|$)/ && $i !~ /^\.data\.rel\.ro/ && $NF != $i && $NF !~ /^__odr_asan/) {
				print obj " " $NF " (" $i ")"
			}
		}
	}')
if [ -n "$state" ]; then
	echo "core/purity: mutable global or static state in libntpcore:" >&2
	echo "$state" >&2
	bad=1
fi

# 2. Calls out of the library.
allowed='^(mem(chr|cmp|cpy|move|set)|str(chr|rchr|cmp|ncmp|len|nlen|str|spn|cspn|ncpy|tod|tol|toll|toul|toull)'
allowed+='|v?snprintf|__ctype_(b|tolower|toupper)_loc|__errno_location|__stack_chk_fail'
allowed+='|calloc|malloc|realloc|free|qsort|bsearch|l?l?abs|inet_pton|inet_ntop'
allowed+='|sin|cos|tan|atan2?|exp|expm1|log|log1p|log2|log10|pow|sqrt|cbrt|hypot|ldexp|frexp|modf'
allowed+='|fabs|fmod|fmin|fmax|floor|ceil|round|trunc|l?l?round|l?l?rint|nan'
allowed+='|nettle_[a-z0-9_]+'
allowed+='|__(asan|ubsan|sanitizer|sancov)_[a-z0-9_]+)$' # instrumentation of the Asan/fuzz builds
nm -g --defined-only ./*.o 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u >defined
calls=$(for o in ./*.o; do
	nm -u "$o" | awk -v o="${o#./}" '{ print $2 " " o }'
done | sort -u)
outside=$(join -v1 <(sort -k1,1 <<<"$calls") defined | awk -v re="$allowed" '$1 !~ re')
if [ -n "$outside" ]; then
	echo "core/purity: libntpcore calls outside the allowed list (symbol, object):" >&2
	echo "$outside" >&2
	bad=1
fi

if [ "$bad" -ne 0 ]; then
	exit 1
fi
echo "core/purity: ok ($(ls ./*.o | wc -l) objects, no mutable state," \
	"$(join -v1 <(awk '{ print $1 }' <<<"$calls" | sort -u) defined | wc -l) outside functions, all allowed)"
