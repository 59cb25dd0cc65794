/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_sweep_summary: a sweep's results per setting, from the runs'
 * report.json (schema_version 1, docs/report.schema.json).
 *
 * A run's metrics: for each node N, each key K of N.metrics as "N.K" and
 * each tau T of N.stability as "N.adev@Ts", "N.tdev@Ts", "N.mtie@Ts" (T
 * with %g); null is "no value" for that run.  Its checks: "check[I]
 * LABEL" and "result", passed or not.  Per setting and metric: n (runs
 * with a value), median, p5, p95, min, max; per check: n and pass rate.
 * Rows keep the order metrics first appear in, reading the runs in run
 * order: node order, then key order as in the reports.  Numbers are
 * printed with %.6g, so the bytes depend only on the reports.
 */
#ifndef SIM_SWEEP_SUMMARY_H
#define SIM_SWEEP_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>

/* Percentile p (0 to 1) of sorted[0..n-1], n >= 1: linear interpolation
 * between order statistics, numpy.percentile's default ("linear"), its
 * arithmetic too (bit for bit).  The median is p = 0.5. */
double sim_sweep_percentile(const double *sorted, size_t n, double p);

typedef struct sim_sweep_summary_opts {
	const char *out;         /* reads out/sweep.json, writes the summary there */
	const char *const *dirs; /* sweep dirs holding runs/, searched in order */
	size_t n_dirs;
	bool plots;            /* run gnuplot on plots/sweep.gp */
	const char *plots_dir; /* where sweep.gp is; NULL: the source tree's plots/ */
} sim_sweep_summary_opts;

/* Write out/summary.csv, summary.json, summary.md, plots/values.csv and
 * the plots.  Returns 0, or -1 with a reason in err (a run in none of the
 * dirs, a report.json that is not JSON or not of the expected shape,
 * named by file and JSON path).  *failed: runs with error.txt. */
int sim_sweep_summarize(const sim_sweep_summary_opts *o, size_t *failed, char *err, size_t errsize);

#endif
