/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_sweep: `ntpsim sweep`, one scenario over seeds x settings
 * (docs/sweep.md; the command-line contract other tools call).
 *
 *   ntpsim sweep SCENARIO.yaml --seeds LIST --out DIR [--set PATH=V1,V2,...]...
 *                [-j N] [--shard K/N] [--traces] [--no-plots] [--quiet]
 *   ntpsim sweep --merge DIR... --out DIR [--no-plots] [--quiet]
 *
 * A setting is one combination of the --set options' values (the first
 * option varies slowest); run index = setting * n_seeds + seed position,
 * and a shard K/N does the runs whose index % N == K.  Runs are
 * independent processes; the summary reads their reports in run order,
 * so it is byte-identical whatever -j and however the runs were split.
 */
#ifndef SIM_SWEEP_H
#define SIM_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_scenario.h"

#define SIM_SWEEP_MAX_RUNS 1000000 /* runs per sweep (ours: bounds memory and the run list) */

/* One --set option: a path and its values. */
typedef struct sim_sweep_axis {
	char *path;
	bool append; /* PATH+=LINE */
	char **values;
	size_t n_values;
} sim_sweep_axis;

typedef struct sim_sweep_spec {
	const char *scenario; /* path as given */
	uint64_t *seeds;
	size_t n_seeds;
	sim_sweep_axis *axes;
	size_t n_axes;
	size_t n_settings; /* product of the axes' value counts (1 without --set) */
} sim_sweep_spec;

/* "1-100", "1-10,20,30-32": seeds >= 0, in the order given, none twice,
 * at most SIM_SWEEP_MAX_RUNS.  Returns 0, or -1 with a reason in err. */
int sim_sweep_parse_seeds(const char *list, uint64_t **seeds, size_t *n, char *err, size_t errsize);

/* Whether seeds[0..n-1] holds a value twice: 1 (one of them in *dup), 0,
 * or -1 when out of memory. */
int sim_sweep_find_duplicate(const uint64_t *seeds, size_t n, uint64_t *dup);

/* --shard "K/N" with 0 <= K < N <= SIM_SWEEP_MAX_RUNS.  Returns 0, or -1
 * with a reason in err. */
int sim_sweep_parse_shard(const char *s, size_t *k, size_t *n, char *err, size_t errsize);

/* "PATH=V1,V2,..." or "PATH+=V1,..." ("\," is a literal comma) appended to
 * spec's axes.  Returns 0 or -1 with a reason in err. */
int sim_sweep_add_set(sim_sweep_spec *sp, const char *arg, char *err, size_t errsize);

/* The overrides of setting k (sp->n_axes of them) into ov. */
void sim_sweep_setting(const sim_sweep_spec *sp, size_t k, sim_override *ov);

void sim_sweep_spec_free(sim_sweep_spec *sp);

/* `ntpsim sweep ARGS...` (argv[0] is "sweep"): exit status 0 every run done
 * (or --help), 1 some run could not be done (its error.txt says why), 2 bad
 * input. */
int sim_sweep_main(int argc, char **argv);

#endif
