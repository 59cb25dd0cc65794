/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_sweep_run: the runs of a sweep (or of one shard of it) in `jobs`
 * forked worker processes, each doing one run at a time: sim_run on its
 * setting's scenario (loaded once by the parent) into DIR/runs/.NAME.tmp,
 * renamed to DIR/runs/NAME when done, so a killed run leaves no half
 * report.  A worker that dies costs only the run it was doing (recorded
 * as failed) and is replaced.  A run dir that has report.json is kept.
 */
#ifndef SIM_SWEEP_RUN_H
#define SIM_SWEEP_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_scenario.h"

#define SIM_SWEEP_JOBS_MAX 1024 /* worker processes, -j (ours: far above any machine's CPUs) */
#define SIM_SWEEP_PATH_MAX 4096 /* B, a path under DIR (ours) */

typedef struct sim_sweep_plan {
	const char *dir;              /* DIR; runs go into DIR/runs */
	const sim_scenario *settings; /* one loaded scenario per setting */
	size_t n_settings;
	const uint64_t *seeds;
	size_t n_seeds;
	size_t shard_k, shard_n; /* this process does index % shard_n == shard_k */
	unsigned jobs;           /* worker processes at once, >= 1 */
	bool traces;             /* keep each run's trace CSV and stats files */
	bool progress;           /* progress and ETA on stderr (a terminal) */
} sim_sweep_plan;

typedef struct sim_sweep_counts {
	size_t runs;   /* in this shard */
	size_t kept;   /* found done (resume) */
	size_t done;   /* run now, report written */
	size_t failed; /* could not be done: error.txt */
} sim_sweep_counts;

/* "s<k>-seed<n>": a run's directory under DIR/runs. */
void sim_sweep_run_name(char *buf, size_t size, size_t setting, uint64_t seed);

/* Do the plan's runs.  Returns 0 (failed runs are counted, not fatal), or
 * -1 with a reason in err when the sweep itself cannot go on (no fork, no
 * run directory, no memory for the list of runs). */
int sim_sweep_run(const sim_sweep_plan *p, sim_sweep_counts *c, char *err, size_t errsize);

#endif
