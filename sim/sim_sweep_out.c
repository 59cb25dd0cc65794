/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The summary files of ntpsim sweep (sim_sweep_out.h; layouts in
 * docs/sweep.md).  Every number is printed with %.6g (JSON: jansson's
 * real precision 6), every list in run order: the bytes depend only on
 * the runs' reports.
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "sim_report.h"
#include "sim_sweep_out.h"
#include "sim_sweep_run.h"

#define PLOT_NODES_MAX  8  /* nodes given a plot page (ours: as ntpsim.gp's few) */
#define PLOT_LABEL_MAX  24 /* characters of a setting's label on the x axis (ours) */
#define PERCENTILE_NOTE "linear interpolation between order statistics (numpy.percentile's default)"

extern char **environ;

const char *const SW_INTEREST[] = {
        "offset_rms",         "offset_max", "offset_p95", "sync_time",  "packets_per_hour",
        "freq_error_rms_ppm", "adev@10s",   "adev@100s",  "adev@1000s", "tdev@10s",
        "tdev@100s",          "tdev@1000s", NULL,
};

/* ------------------------------------------------------------------ */
/* helpers                                                             */

static FILE *
open_in_out(sw_summary *s, const char *name, char *path, size_t size)
{
	FILE *f;

	snprintf(path, size, "%s/%s.tmp", s->o->out, name);
	f = fopen(path, "w");
	if (f == NULL) {
		snprintf(s->err, s->errsize, "%s: %s", path, strerror(errno));
	}
	return f;
}

/* Close the temp file and rename it to its name: no half summary. */
static int
close_in_out(sw_summary *s, FILE *f, const char *tmp)
{
	char final[SIM_SWEEP_PATH_MAX];
	size_t len = strlen(tmp) - strlen(".tmp");

	snprintf(final, sizeof(final), "%.*s", (int)len, tmp);
	if (fclose(f) != 0 || rename(tmp, final) != 0) {
		snprintf(s->err, s->errsize, "%s: write failed: %s", final, strerror(errno));
		return -1;
	}
	return 0;
}

/* A setting's overrides as one label: "A=1; B=2" ("" without --set). */
static void
setting_label(const sw_summary *s, size_t k, char *out, size_t size)
{
	const json_t *list = json_object_get(json_array_get(s->settings, k), "overrides");

	out[0] = '\0';
	for (size_t i = 0; i < json_array_size(list); i++) {
		snprintf(out + strlen(out), size - strlen(out), "%s%s", i > 0 ? "; " : "",
		         json_string_value(json_array_get(list, i)));
	}
}

/* A CSV field, quoted (RFC 4180) when it holds a comma, quote or line break. */
static void
csv_text(FILE *f, const char *t)
{
	if (strpbrk(t, ",\"\r\n") == NULL) {
		fputs(t, f);
		return;
	}
	fputc('"', f);
	for (; *t != '\0'; t++) {
		if (*t == '"') {
			fputc('"', f);
		}
		fputc(*t, f);
	}
	fputc('"', f);
}

/* ------------------------------------------------------------------ */
/* summary.csv                                                         */

static void
csv_metric(FILE *f, const sw_stat *st)
{
	fprintf(f, ",%zu", st->n);
	if (st->n > 0) {
		fprintf(f, ",%.6g,%.6g,%.6g,%.6g,%.6g,\n", st->median, st->p5, st->p95, st->min,
		        st->max);
	} else {
		fputs(",,,,,,\n", f);
	}
}

static void
csv_check(FILE *f, const sw_check *c, size_t k)
{
	fprintf(f, ",%zu,,,,,,", c->n[k]);
	if (c->n[k] > 0) {
		fprintf(f, "%.6g", (double)c->passed[k] / (double)c->n[k]);
	}
	fputc('\n', f);
}

/* One row per setting x metric, then per setting x check ("result"
 * first): setting,overrides,metric,n,median,p5,p95,min,max,pass_rate. */
static int
write_csv(sw_summary *s)
{
	char path[SIM_SWEEP_PATH_MAX], label[2048];
	FILE *f = open_in_out(s, "summary.csv", path, sizeof(path));

	if (f == NULL) {
		return -1;
	}
	fputs("setting,overrides,metric,n,median,p5,p95,min,max,pass_rate\n", f);
	for (size_t k = 0; k < s->n_settings; k++) {
		setting_label(s, k, label, sizeof(label));
		for (size_t i = 0; i < s->n_m + s->n_c; i++) {
			fprintf(f, "%zu,", k);
			csv_text(f, label);
			fputc(',', f);
			if (i < s->n_m) {
				csv_text(f, s->m[i].name);
				csv_metric(f, &s->m[i].by_setting[k]);
			} else {
				csv_text(f, s->c[i - s->n_m].name);
				csv_check(f, &s->c[i - s->n_m], k);
			}
		}
	}
	return close_in_out(s, f, path);
}

/* ------------------------------------------------------------------ */
/* summary.json                                                        */

static json_t *
num_or_null(bool have, double v)
{
	return have ? json_real(v) : json_null();
}

static json_t *
json_setting(const sw_summary *s, size_t k)
{
	const json_t *set = json_array_get(s->settings, k);
	json_t *metrics = json_object(), *checks = json_object();

	for (size_t i = 0; i < s->n_m; i++) {
		const sw_stat *st = &s->m[i].by_setting[k];
		bool have = st->n > 0;

		json_object_set_new(
		        metrics, s->m[i].name,
		        json_pack("{s:I, s:o, s:o, s:o, s:o, s:o}", "n", (json_int_t)st->n,
		                  "median", num_or_null(have, st->median), "p5",
		                  num_or_null(have, st->p5), "p95", num_or_null(have, st->p95),
		                  "min", num_or_null(have, st->min), "max",
		                  num_or_null(have, st->max)));
	}
	for (size_t i = 0; i < s->n_c; i++) {
		const sw_check *c = &s->c[i];

		json_object_set_new(checks, c->name,
		                    json_pack("{s:I, s:I, s:o}", "n", (json_int_t)c->n[k], "passed",
		                              (json_int_t)c->passed[k], "pass_rate",
		                              num_or_null(c->n[k] > 0,
		                                          (double)c->passed[k] / (double)c->n[k])));
	}
	return json_pack("{s:I, s:O, s:I, s:I, s:I, s:o, s:o}", "index", (json_int_t)k, "overrides",
	                 json_object_get(set, "overrides"), "runs",
	                 (json_int_t)json_array_size(s->seeds), "done", (json_int_t)s->done[k],
	                 "failed", (json_int_t)s->failed[k], "metrics", metrics, "checks", checks);
}

static int
write_json(sw_summary *s)
{
	char path[SIM_SWEEP_PATH_MAX];
	json_t *settings = json_array(), *root;
	FILE *f;
	int rc;

	for (size_t k = 0; k < s->n_settings; k++) {
		json_array_append_new(settings, json_setting(s, k));
	}
	root = json_pack("{s:O, s:s, s:o}", "sweep", s->spec, "percentiles", PERCENTILE_NOTE,
	                 "settings", settings);
	if (root == NULL) {
		snprintf(s->err, s->errsize, "out of memory");
		return -1;
	}
	f = open_in_out(s, "summary.json", path, sizeof(path));
	if (f == NULL) {
		json_decref(root);
		return -1;
	}
	rc = json_dumpf(root, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	fputc('\n', f);
	json_decref(root);
	if (rc != 0) {
		fclose(f);
		snprintf(s->err, s->errsize, "%s: write failed", path);
		return -1;
	}
	return close_in_out(s, f, path);
}

/* ------------------------------------------------------------------ */
/* summary.md                                                          */

/* Markdown table text: '|' escaped, line breaks as spaces. */
static void
md_text(FILE *f, const char *t)
{
	for (; *t != '\0'; t++) {
		if (*t == '|') {
			fputs("\\|", f);
		} else {
			fputc(*t == '\n' || *t == '\r' ? ' ' : *t, f);
		}
	}
}

/* The seeds as ranges: "1-100", "1-10, 20". */
static void
md_seeds(FILE *f, const json_t *seeds)
{
	size_t n = json_array_size(seeds);

	for (size_t i = 0; i < n;) {
		long long a = json_integer_value(json_array_get(seeds, i)), b = a;
		size_t j = i + 1;

		while (j < n && json_integer_value(json_array_get(seeds, j)) == b + 1) {
			b++;
			j++;
		}
		fprintf(f, i > 0 ? ", %lld" : "%lld", a);
		if (b > a) {
			fprintf(f, "-%lld", b);
		}
		i = j;
	}
}

static void
md_head(FILE *f, const sw_summary *s, const char *first)
{
	fprintf(f, "| %s |", first);
	for (size_t k = 0; k < s->n_settings; k++) {
		fprintf(f, " s%zu |", k);
	}
	fputs("\n|---|", f);
	for (size_t k = 0; k < s->n_settings; k++) {
		fputs("---|", f);
	}
	fputc('\n', f);
}

static void
md_settings(FILE *f, const sw_summary *s)
{
	char label[2048];
	size_t runs = json_array_size(s->seeds);

	fputs("| setting | overrides | runs | done | failed |\n|---|---|---|---|---|\n", f);
	for (size_t k = 0; k < s->n_settings; k++) {
		setting_label(s, k, label, sizeof(label));
		fprintf(f, "| s%zu | ", k);
		md_text(f, label[0] != '\0' ? label : "(the scenario as written)");
		fprintf(f, " | %zu | %zu | %zu |\n", runs, s->done[k], s->failed[k]);
	}
}

static void
md_metrics(FILE *f, const sw_summary *s)
{
	md_head(f, s, "metric");
	for (size_t i = 0; i < s->n_m; i++) {
		fputs("| ", f);
		md_text(f, s->m[i].name);
		fputs(" |", f);
		for (size_t k = 0; k < s->n_settings; k++) {
			const sw_stat *st = &s->m[i].by_setting[k];

			if (st->n > 0) {
				fprintf(f, " %.6g [%.6g, %.6g] |", st->median, st->p5, st->p95);
			} else {
				fputs(" - |", f);
			}
		}
		fputc('\n', f);
	}
}

static void
md_checks(FILE *f, const sw_summary *s)
{
	md_head(f, s, "check");
	for (size_t i = 0; i < s->n_c; i++) {
		const sw_check *c = &s->c[i];

		fputs("| ", f);
		md_text(f, c->name);
		fputs(" |", f);
		for (size_t k = 0; k < s->n_settings; k++) {
			if (c->n[k] > 0) {
				fprintf(f, " %.4g%% (%zu/%zu) |",
				        100.0 * (double)c->passed[k] / (double)c->n[k],
				        c->passed[k], c->n[k]);
			} else {
				fputs(" - |", f);
			}
		}
		fputc('\n', f);
	}
}

static int
write_md(sw_summary *s)
{
	char path[SIM_SWEEP_PATH_MAX];
	FILE *f = open_in_out(s, "summary.md", path, sizeof(path));
	const json_t *sc = json_object_get(s->spec, "scenario");

	if (f == NULL) {
		return -1;
	}
	fputs("# Sweep summary: ", f);
	md_text(f, json_string_value(json_object_get(sc, "file")));
	fputs("\n\nSeeds ", f);
	md_seeds(f, s->seeds);
	fprintf(f,
	        " (%zu), %zu setting%s. Cells: median [p5, p95] over the runs with a value; "
	        "percentiles by %s.\n\n",
	        json_array_size(s->seeds), s->n_settings, s->n_settings == 1 ? "" : "s",
	        PERCENTILE_NOTE);
	md_settings(f, s);
	fputs("\n## Metrics\n\n", f);
	md_metrics(f, s);
	fputs("\n## Checks: pass rate (passed/runs)\n\n", f);
	md_checks(f, s);
	return close_in_out(s, f, path);
}

int
sw_write_tables(sw_summary *s)
{
	if (write_csv(s) != 0 || write_json(s) != 0 || write_md(s) != 0) {
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* plots                                                               */

int
sw_plot_open(sw_summary *s)
{
	char path[SIM_SWEEP_PATH_MAX];

	snprintf(path, sizeof(path), "%s/plots", s->o->out);
	if (sim_mkdir_p(path) != 0) {
		snprintf(s->err, s->errsize, "%s: cannot create the directory: %s", path,
		         strerror(errno));
		return -1;
	}
	s->values = open_in_out(s, "plots/values.csv", path, sizeof(path));
	if (s->values == NULL) {
		return -1;
	}
	fputs("setting,node,metric,value\n", s->values);
	return 0;
}

void
sw_plot_value(sw_summary *s, const char *node, int interest, double v)
{
	sw_plot_node *pn = NULL;

	if (s->values != NULL) {
		fprintf(s->values, "%zu,%s,%s,%.6g\n", s->k, node, SW_INTEREST[interest], v);
	}
	for (size_t i = 0; i < s->n_pn && pn == NULL; i++) {
		pn = strcmp(s->pn[i].name, node) == 0 ? &s->pn[i] : NULL;
	}
	if (pn == NULL && s->n_pn < PLOT_NODES_MAX) {
		if (s->pn == NULL) {
			s->pn = calloc(PLOT_NODES_MAX, sizeof(*s->pn));
		}
		if (s->pn == NULL || (s->pn[s->n_pn].name = strdup(node)) == NULL) {
			return; /* no plot for it; the values are in values.csv */
		}
		pn = &s->pn[s->n_pn++];
	}
	if (pn != NULL) {
		pn->seen |= (uint32_t)(v != 0.0) << interest; /* all zero: nothing to draw */
		pn->nonpos |= (uint32_t)(v <= 0.0) << interest;
	}
}

/* The x axis: "s0: VALUES" per setting, quotes made '?'. */
static void
plot_xtics(const sw_summary *s, char *out, size_t size)
{
	snprintf(out, size, "(");
	for (size_t k = 0; k < s->n_settings; k++) {
		const json_t *list = json_object_get(json_array_get(s->settings, k), "overrides");
		char label[PLOT_LABEL_MAX + 40];

		snprintf(label, sizeof(label), "s%zu", k);
		for (size_t i = 0; i < json_array_size(list); i++) {
			const char *o = json_string_value(json_array_get(list, i));
			const char *v = strchr(o, '=');

			snprintf(label + strlen(label), sizeof(label) - strlen(label), "%s%s",
			         i > 0 ? " " : ": ", v != NULL ? v + 1 : o);
		}
		label[PLOT_LABEL_MAX] = '\0';
		for (char *c = label; *c != '\0'; c++) {
			*c = *c == '"' || *c == '\'' || *c == '\\' ? '?' : *c;
		}
		snprintf(out + strlen(out), size - strlen(out), "%s\"%s\" %zu", k > 0 ? ", " : "",
		         label, k);
	}
	snprintf(out + strlen(out), size - strlen(out), ")");
}

/* gnuplot on sweep.gp for one node; -1 with a reason in why. */
static int
plot_node(const sw_summary *s, const sw_plot_node *pn, const char *script, const char *xt,
          char *why, size_t whysize)
{
	char metrics[512] = "", logs[64] = "";
	size_t size = strlen(s->o->out) + strlen(pn->name) + strlen(xt) + 1024;
	char *expr = malloc(size);
	char *argv[] = {(char *)"gnuplot", (char *)"-e", expr, (char *)script, NULL};
	pid_t pid;
	int status, rc = 0;

	if (expr == NULL) {
		snprintf(why, whysize, "out of memory");
		return -1;
	}
	for (int i = 0; SW_INTEREST[i] != NULL; i++) {
		if (pn->seen & (UINT32_C(1) << i)) {
			snprintf(metrics + strlen(metrics), sizeof(metrics) - strlen(metrics),
			         "%s%s", metrics[0] ? " " : "", SW_INTEREST[i]);
			snprintf(logs + strlen(logs), sizeof(logs) - strlen(logs), "%s%d",
			         logs[0] ? " " : "", !(pn->nonpos & (UINT32_C(1) << i)));
		}
	}
	snprintf(expr, size,
	         "dir='%s/plots'; node='%s'; metrics='%s'; logs='%s'; settings=%zu; xt='%s'",
	         s->o->out, pn->name, metrics, logs, s->n_settings, xt);
	if (posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ) != 0) {
		snprintf(why, whysize, "gnuplot not found");
		rc = -1;
	} else if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(why, whysize, "gnuplot failed on %.400s (node %s)", script, pn->name);
		rc = -1;
	}
	free(expr);
	return rc;
}

/* Plots are for people: one that cannot be drawn is a warning. */
static void
draw(const sw_summary *s)
{
	char script[SIM_SWEEP_PATH_MAX], why[512] = "", dir_buf[SIM_SWEEP_PATH_MAX];
	size_t xt_size = s->n_settings * (PLOT_LABEL_MAX + 32) + 8;
	char *xt = malloc(xt_size);
	struct stat sb;

	snprintf(script, sizeof(script), "%s/sweep.gp",
	         sim_report_plots_dir(s->o->plots_dir, dir_buf, sizeof(dir_buf)));
	if (xt == NULL) {
		snprintf(why, sizeof(why), "out of memory");
	} else if (stat(script, &sb) != 0) {
		snprintf(why, sizeof(why), "%.400s not found (--plots-dir)", script);
	} else if (strchr(s->o->out, '\'') != NULL) {
		snprintf(why, sizeof(why), "the output directory name has a quote in it");
	} else {
		plot_xtics(s, xt, xt_size);
		for (size_t i = 0; i < s->n_pn && why[0] == '\0'; i++) {
			if (s->pn[i].seen != 0) {
				plot_node(s, &s->pn[i], script, xt, why, sizeof(why));
			}
		}
	}
	if (why[0] != '\0') {
		fprintf(stderr, "ntpsim sweep: warning: no plots: %s\n", why);
	}
	free(xt);
}

int
sw_plot_close(sw_summary *s)
{
	char path[SIM_SWEEP_PATH_MAX];
	FILE *f = s->values;

	s->values = NULL;
	snprintf(path, sizeof(path), "%s/plots/values.csv.tmp", s->o->out);
	if (close_in_out(s, f, path) != 0) {
		return -1;
	}
	if (s->o->plots) {
		draw(s);
	}
	return 0;
}

void
sw_plot_free(sw_summary *s)
{
	if (s->values != NULL) {
		fclose(s->values);
	}
	for (size_t i = 0; i < s->n_pn; i++) {
		free(s->pn[i].name);
	}
	free(s->pn);
}
