#!/usr/bin/env bash
# An `ntpsim sweep` on a Slurm cluster: one job array whose task K runs shard
# K/N of the sweep, then one merge job that starts only when every task
# succeeded and writes the summary (docs/sweep.md, "Beyond one machine").
#
# Assumptions on a real cluster:
#  - OUTDIR is on a filesystem every compute node sees at the same path
#    (home, NFS, Lustre, ...): the shards write there and the merge reads there.
#  - ntpsim (--ntpsim, made absolute here) and the scenario file are at the
#    same path on every node; the jobs start in the folder sbatch was called
#    from (--chdir), so a relative scenario path reads the same file.
#  - Each task gets --cpus-per-task CPUs and runs ntpsim with -j that many
#    (unless the sweep arguments give -j).
# Logs: OUTDIR/slurm-<array job>_<task>.out per shard, OUTDIR/slurm-<job>-merge.out
# for the merge.  The batch scripts submitted are kept as OUTDIR/slurm-shard.sh
# and OUTDIR/slurm-merge.sh.  Submitting again resumes: a shard keeps the runs
# it already has.
set -euo pipefail
PROG=sweep-slurm.sh
# shellcheck source=scripts/sweep-lib.sh
. "$(dirname "$0")/sweep-lib.sh"

usage() {
	cat <<EOF
usage: $PROG [--shards N] [--partition P] [--cpus-per-task C] [--sbatch OPT]...
             [--ntpsim PATH] OUTDIR -- SCENARIO.yaml --seeds LIST [--set PATH=V1,V2]... [-j N]
  Submits a Slurm job array of N shards (default 2), task K running
  'ntpsim sweep ARGS --shard K/N --out OUTDIR/shard-K', and a merge job
  (afterok on the array) running 'ntpsim sweep --merge OUTDIR/shard-* --out OUTDIR/merged'.
  Prints the two job ids (array, merge) on one line.
  --partition P       partition of both jobs (default: the cluster's default)
  --cpus-per-task C   CPUs per shard (default 1); ntpsim runs with -j C
  --sbatch OPT        one more sbatch option for both jobs, e.g. --sbatch=--time=1:00:00
                      or --sbatch --account=lab (repeatable)
  --ntpsim PATH       ntpsim to run (default: ntpsim on PATH, else build/sim/ntpsim)
EOF
}

PARTITION=""
CPUS=1
EXTRA=()
engine_option() {
	case "$1" in
	--partition) PARTITION=$2 ;;
	--cpus-per-task) CPUS=$2 ;;
	--sbatch) EXTRA+=("$2") ;;
	*) return 1 ;;
	esac
}

sweep_parse "$@"
sweep_count --cpus-per-task "$CPUS"
command -v sbatch >/dev/null || sweep_die "sbatch not found: run this on a Slurm login node"

# Each argument as one single-quoted shell word (' inside as '\''), so the
# batch scripts show the arguments as given.
quote() {
	local a
	for a in "$@"; do
		printf " '%s'" "${a//\'/\'\\\'\'}"
	done
}

jobs_opt=()
# shellcheck disable=SC2016 # expanded in the job, not here
[ "$HAS_JOBS" = 1 ] || jobs_opt=(-j '"$SLURM_CPUS_PER_TASK"')

# Task K of the array: shard K/N.  Exit status 1 means some runs could not be
# done; ntpsim recorded each in its error.txt and the merge counts them, so the
# task still counts as done (exit 0) and the merge runs.  Anything else
# (2: bad input, a crash) fails the task and the merge never starts.
cat >"$OUTDIR/slurm-shard.sh" <<EOF
#!/bin/bash
# shard \$SLURM_ARRAY_TASK_ID of $SHARDS, written by $PROG
rc=0
$(quote "$NTPSIM" sweep "${ARGS[@]}") ${jobs_opt[*]} \\
	--shard "\$SLURM_ARRAY_TASK_ID/$SHARDS" --out $(quote "$OUTDIR")/shard-"\$SLURM_ARRAY_TASK_ID" || rc=\$?
if [ "\$rc" -eq 1 ]; then
	echo "shard \$SLURM_ARRAY_TASK_ID: some runs could not be done (their error.txt); the merge counts them" >&2
	rc=0
fi
exit "\$rc"
EOF

mapfile -t shard_dirs < <(sweep_shard_dirs)
cat >"$OUTDIR/slurm-merge.sh" <<EOF
#!/bin/bash
# the merge of $SHARDS shards, written by $PROG
exec$(quote "$NTPSIM" sweep --merge "${shard_dirs[@]}" --out "$OUTDIR/merged" "${MERGE_OPTS[@]}")
EOF

# Options of both jobs:
#   --parsable        print only the job id (";cluster" on a federation: cut off)
#   --chdir=DIR       start in the folder of this command, for relative paths
#   --ntasks=1        one process per job (ntpsim's own workers use the CPUs)
#   --cpus-per-task=C CPUs that process may use; ntpsim gets -j C
#   --partition=P     only when given; else the cluster's default partition
common=(--parsable --chdir="$PWD" --ntasks=1 --cpus-per-task="$CPUS")
[ -z "$PARTITION" ] || common+=(--partition="$PARTITION")
common+=("${EXTRA[@]}")

# The shards:
#   --array=0-(N-1)   one task per shard; \$SLURM_ARRAY_TASK_ID is its K
#   --output=...      stdout+stderr of each task: %A = array job id, %a = task
array=$(sbatch "${common[@]}" --job-name=ntpsim-sweep --array="0-$((SHARDS - 1))" \
	--output="$OUTDIR/slurm-%A_%a.out" "$OUTDIR/slurm-shard.sh")
array=${array%%;*}

# The merge:
#   --dependency=afterok:ID   start once every task of the array exited 0
#   --kill-on-invalid-dep=yes a failed task cancels the merge instead of
#                             leaving it pending forever (DependencyNeverSatisfied)
#   --output=...              %j = the merge's job id
merge_opts=(--job-name=ntpsim-merge --dependency="afterok:$array" --kill-on-invalid-dep=yes
	--output="$OUTDIR/slurm-%j-merge.out")
if ! merge=$(sbatch "${common[@]}" "${merge_opts[@]}" "$OUTDIR/slurm-merge.sh"); then
	echo "$PROG: the shards are job array $array, but the merge was not submitted;" \
		"submit it by hand: sbatch$(printf ' %s' "${common[@]}" "${merge_opts[@]}") $OUTDIR/slurm-merge.sh" \
		"(or scancel $array)" >&2
	exit 1
fi
merge=${merge%%;*}

echo "$PROG: shards: job array $array (tasks 0-$((SHARDS - 1))), merge: job $merge after them;" \
	"logs $OUTDIR/slurm-*.out, summary in $OUTDIR/merged/" >&2
echo "$array $merge"
