#!/usr/bin/env bash
# An `ntpsim sweep` in N shards run by GNU parallel, on this machine or, with
# --sshlogin, on several hosts over ssh; then the merge, here
# (docs/sweep.md, "Beyond one machine").
#
# Assumptions with --sshlogin (remote hosts):
#  - OUTDIR is on a filesystem every host sees at the same path (NFS, ...):
#    each shard writes OUTDIR/shard-K there, and the merge here reads them all.
#  - ntpsim (--ntpsim, made absolute here) and the scenario file are at the
#    same path on every host, and the current folder exists there too (the
#    shards start in it: --wd), so a relative scenario path reads the same file.
#  - ssh to each host works without a password prompt (keys or an agent).
# Without a shared filesystem, GNU parallel can copy the scenario over and the
# results back instead (--transferfile / --return, see docs/sweep.md).
#
# Each host runs one shard at a time (parallel --jobs 1), and ntpsim uses all
# of that host's CPUs (its default -j); "J/host" in --sshlogin runs J at a time.
# parallel's log of the shards: OUTDIR/parallel.joblog.  Running the command
# again resumes: a shard keeps the runs it already has.
set -euo pipefail
PROG=sweep-parallel.sh
# shellcheck source=scripts/sweep-lib.sh
. "$(dirname "$0")/sweep-lib.sh"

usage() {
	cat <<EOF
usage: $PROG [--shards N] [--sshlogin LIST] [--ntpsim PATH] OUTDIR
             -- SCENARIO.yaml --seeds LIST [--set PATH=V1,V2]... [-j N]
  Runs 'ntpsim sweep ARGS --shard K/N --out OUTDIR/shard-K' for K = 0..N-1
  (default N = 2) with GNU parallel, then
  'ntpsim sweep --merge OUTDIR/shard-* --out OUTDIR/merged'.
  --sshlogin LIST  hosts for the shards, as GNU parallel's -S: "host1,user@host2",
                   ":" is this machine, "2/host" runs two shards at a time there
                   (default: this machine only); -S LIST is the same
  --ntpsim PATH    ntpsim to run (default: ntpsim on PATH, else build/sim/ntpsim)
  Exit status: the merge's (0, or 1 when some runs could not be done),
  2 for bad arguments or a shard that failed (parallel.joblog says which).
EOF
}

SSHLOGIN=""
engine_option() {
	case "$1" in
	--sshlogin | -S) SSHLOGIN=$2 ;;
	*) return 1 ;;
	esac
}

sweep_parse "$@"
command -v parallel >/dev/null || sweep_die "GNU parallel not found (apt-get install parallel)"

popt=(--will-cite --jobs 1 --line-buffer --tagstring 'shard {}' --joblog "$OUTDIR/parallel.joblog")
# remote hosts: start in this folder there too, not in the login folder
[ -z "$SSHLOGIN" ] || popt+=(--sshlogin "$SSHLOGIN" --wd "$PWD")

# -q: parallel quotes every word of the command itself (locally and for ssh),
# so the sweep arguments reach ntpsim as given.  No --halt: every shard runs;
# the joblog tells which failed.
rc=0
rm -f "$OUTDIR/parallel.joblog"
parallel "${popt[@]}" -q "$NTPSIM" sweep "${ARGS[@]}" --shard "{}/$SHARDS" --out "$OUTDIR/shard-{}" \
	::: $(seq 0 $((SHARDS - 1))) || rc=$?

# Exit status 1 of a shard: some runs could not be done; ntpsim recorded each
# in its error.txt and the merge counts them.  Any other failure (2: bad
# input, a signal, ssh) leaves the sweep without a merge.
if [ ! -f "$OUTDIR/parallel.joblog" ]; then
	echo "$PROG: GNU parallel ran no shard (exit $rc)" >&2
	exit 2
fi
failed=$(awk -F'\t' 'NR > 1 && ($7 > 1 || $8 != 0) { printf " %s(exit %s, signal %s)", $NF, $7, $8 }' \
	"$OUTDIR/parallel.joblog")
if [ -n "$failed" ] || [ "$rc" -gt "$SHARDS" ]; then
	echo "$PROG: shards failed, no merge (parallel exit $rc; $OUTDIR/parallel.joblog):$failed" >&2
	exit 2
fi

mapfile -t shard_dirs < <(sweep_shard_dirs)
exec "$NTPSIM" sweep --merge "${shard_dirs[@]}" --out "$OUTDIR/merged" "${MERGE_OPTS[@]}"
