/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_sweep_out: the files of a sweep's summary (docs/sweep.md):
 * summary.csv, summary.json, summary.md, plots/values.csv and the plots
 * (gnuplot, plots/sweep.gp).  Internal to sim_sweep_summary.c, which
 * fills the sw_summary these write.
 */
#ifndef SIM_SWEEP_OUT_H
#define SIM_SWEEP_OUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sim_sweep_summary.h"

typedef struct sw_vec {
	double *v;
	size_t n, cap;
} sw_vec;

/* One metric over one setting's runs. */
typedef struct sw_stat {
	size_t n; /* runs with a value; the rest are meaningless when 0 */
	double median, p5, p95, min, max;
} sw_stat;

typedef struct sw_metric {
	char *name;          /* "NODE.KEY" */
	sw_stat *by_setting; /* n_settings */
	sw_vec cur;          /* the values of the setting being read */
	size_t last_run;     /* the last run (sw_summary.run) that gave it */
} sw_metric;

typedef struct sw_check {
	char *name;         /* "result" or "check[I] LABEL" */
	size_t *n, *passed; /* per setting: runs that had it, runs it passed in */
	size_t last_run;    /* the last run (sw_summary.run) that had it */
} sw_check;

/* A node of the plots: which metrics of interest (bits) have a value,
 * and which have one <= 0 (no log scale then). */
typedef struct sw_plot_node {
	char *name;
	uint32_t seen, nonpos;
} sw_plot_node;

typedef struct sw_summary {
	const sim_sweep_summary_opts *o;
	char *err;
	size_t errsize;
	const char *file; /* the report being read, for messages */
	json_t *spec;     /* out/sweep.json */
	json_t *seeds, *settings;
	size_t n_settings;
	size_t k;   /* the setting being read */
	size_t run; /* reports read so far: the one being read is number run */
	size_t *done, *failed;
	sw_metric *m;
	size_t n_m, cap_m;
	json_t *m_index; /* name -> position in m */
	sw_check *c;
	size_t n_c, cap_c;
	json_t *c_index;
	FILE *values; /* plots/values.csv */
	sw_plot_node *pn;
	size_t n_pn;
} sw_summary;

/* The metrics of interest the plots draw, NULL-terminated (bit i of
 * sw_plot_node.seen is SW_INTEREST[i]). */
extern const char *const SW_INTEREST[];

/* The reading side, usable without files (tests, tests/fuzz/fuzz_sweep.c);
 * o, err and errsize are the caller's, values.csv is written only once
 * sw_plot_open opened it. */

/* Empty registries and counts for n_settings settings.  0 or -1 with
 * s->err. */
int sw_summary_init(sw_summary *s, size_t n_settings);

/* A sweep.json's text (file names it in messages): seeds (integers >= 0,
 * none twice) and settings (each with its index and overrides, strings)
 * checked, then sw_summary_init.  0, or -1 with "FILE:LINE:COL: ..." or
 * "FILE: JSON-PATH: ..." in s->err. */
int sw_read_spec_text(sw_summary *s, const char *file, const char *text, size_t len);

/* One run's report.json text, flattened into setting s->k: each metric
 * and check at most once per report.  0, or -1 with "FILE:LINE:COL: not
 * JSON: ..." or "FILE: JSON-PATH: ..." in s->err. */
int sw_read_report_text(sw_summary *s, const char *file, const char *text, size_t len);

/* Setting s->k's statistics from its runs' values. */
void sw_finish_setting(sw_summary *s);

void sw_summary_free(sw_summary *s);

/* summary.csv, summary.json, summary.md.  0 or -1 with s->err. */
int sw_write_tables(sw_summary *s);

/* plots/values.csv as the runs are read; the plots at the end. */
int sw_plot_open(sw_summary *s);
void sw_plot_value(sw_summary *s, const char *node, int interest, double v);
int sw_plot_close(sw_summary *s);
void sw_plot_free(sw_summary *s);

#endif
