#!/usr/bin/env bash
# Every C file of the tree through clang-format (.clang-format): `format.sh`
# rewrites them in place (make format), `format.sh --check` changes nothing
# and fails, naming each file and line, where one differs (the first step
# of make check's unit tier, scripts/check.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=(-i)
if [ "${1:-}" = --check ]; then
	mode=(--dry-run -Werror)
fi
shopt -s nullglob
files=(core/*.[ch] netem/*.[ch] ntpnetem/*.[ch] sim/*.[ch] refd/*.[ch] tests/refd/*.c tests/unit/*.c
	tests/support/*.[ch] tests/fuzz/*.[ch])
command -v clang-format >/dev/null || {
	echo "format.sh: clang-format not installed (apt-get install clang-format)" >&2
	exit 2
}
clang-format "${mode[@]}" "${files[@]}"
if [ "${1:-}" = --check ]; then
	echo "format: ${#files[@]} C files as .clang-format wants them"
fi
