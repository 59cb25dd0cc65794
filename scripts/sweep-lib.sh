# shellcheck shell=bash disable=SC2034 # the settings are the callers'
# Sourced by sweep-slurm.sh and sweep-parallel.sh: what both do before
# handing the shards to their engine.  Not a program of its own.
#
# The caller defines usage() and PROG, and calls sweep_parse "$@"; the
# parser sets the common settings:
#   SHARDS   number of shards N (default 2)
#   NTPSIM   absolute path of ntpsim (the same path must work on every host)
#   OUTDIR   absolute path of the output folder (shared by every host)
#   ARGS     the sweep arguments after `--` (SCENARIO.yaml --seeds LIST ...)
#   MERGE_OPTS  --no-plots / --quiet when ARGS has them: the merge gets them too
#   HAS_JOBS    1 when ARGS sets -j itself
# and hands every option it does not know to the caller's
# engine_option NAME VALUE (return 1: unknown option).  Every option takes a
# value, given as `--opt VALUE` or `--opt=VALUE`.

# Bad input: the message, the usage, exit status 2 (the house rule).
sweep_die() {
	echo "$PROG: $*" >&2
	usage >&2
	exit 2
}

# A whole number >= 1, or a clear error naming the option.
sweep_count() {
	case "$2" in
	'' | *[!0-9]* | 0*) sweep_die "$1 wants a whole number >= 1, not '$2'" ;;
	esac
}

# ntpsim from --ntpsim, else from PATH, else the build next to this script.
sweep_find_ntpsim() {
	local want=$1 here
	if [ -z "$want" ]; then
		here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
		want=$(command -v ntpsim || echo "$here/build/sim/ntpsim")
	fi
	if ! [ -f "$want" ] || ! [ -x "$want" ]; then
		sweep_die "ntpsim: no executable at '$want' (give --ntpsim PATH)"
	fi
	NTPSIM=$(realpath "$want")
}

# The sweep arguments: a scenario first; --out, --shard and --merge are the
# engine's to set, one per shard.
sweep_check_args() {
	local a
	[ ${#ARGS[@]} -gt 0 ] || sweep_die "no sweep arguments after '--' (SCENARIO.yaml --seeds LIST ...)"
	case "${ARGS[0]}" in
	-*) sweep_die "the first sweep argument must be the scenario file, not '${ARGS[0]}'" ;;
	esac
	if ! [ -f "${ARGS[0]}" ] || ! [ -r "${ARGS[0]}" ]; then
		sweep_die "scenario '${ARGS[0]}': no readable file"
	fi
	MERGE_OPTS=()
	HAS_JOBS=0
	for a in "${ARGS[@]}"; do
		case "$a" in
		--out | --out=* | --shard | --shard=* | --merge | --merge=*)
			sweep_die "'$a' after '--': $PROG sets --out and --shard per shard, and merges itself"
			;;
		--no-plots | --quiet) MERGE_OPTS+=("$a") ;;
		-j | -j* | --jobs | --jobs=*) HAS_JOBS=1 ;;
		esac
	done
}

sweep_parse() {
	local ntpsim=""
	SHARDS=2
	OUTDIR=""
	while [ $# -gt 0 ]; do
		case "$1" in
		-h | --help)
			usage
			exit 0
			;;
		--shards | --ntpsim)
			[ $# -ge 2 ] || sweep_die "$1 needs a value"
			if [ "$1" = --shards ]; then SHARDS=$2; else ntpsim=$2; fi
			shift 2
			;;
		--)
			shift
			break
			;;
		--*=*)
			# --opt=value: the same as --opt value
			set -- "${1%%=*}" "${1#*=}" "${@:2}"
			;;
		-*)
			[ $# -ge 2 ] || sweep_die "option '$1': needs a value, or is not an option"
			engine_option "$1" "$2" || sweep_die "unknown option '$1'"
			shift 2
			;;
		*)
			[ -z "$OUTDIR" ] || sweep_die "one OUTDIR only ('$OUTDIR', then '$1'); the sweep arguments follow '--'"
			OUTDIR=$1
			shift
			;;
		esac
	done
	[ -n "$OUTDIR" ] || sweep_die "OUTDIR missing"
	ARGS=("$@")
	sweep_count --shards "$SHARDS"
	sweep_find_ntpsim "$ntpsim"
	sweep_check_args
	mkdir -p "$OUTDIR" || sweep_die "cannot create OUTDIR '$OUTDIR'"
	OUTDIR=$(realpath "$OUTDIR")
}

# The shard folders OUTDIR/shard-0 .. shard-(N-1), named one by one so that a
# missing shard is the merge's error, not a silently smaller sweep.
sweep_shard_dirs() {
	local k
	for ((k = 0; k < SHARDS; k++)); do
		printf '%s\n' "$OUTDIR/shard-$k"
	done
}
