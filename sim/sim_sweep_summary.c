/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A sweep's summary (sim_sweep_summary.h): the runs' report.json read in
 * run order (setting, then seed as listed), flattened into metrics and
 * checks, summarised per setting; the tables are written by
 * sim_sweep_out.c.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sim_sweep.h"
#include "sim_sweep_out.h"
#include "sim_sweep_run.h"
#include "sim_sweep_summary.h"

/* numpy's _lerp: from the nearer end, so p = 1 gives the maximum exactly.
 * Where b - a overflows (ends near -DBL_MAX and DBL_MAX) numpy gives -inf
 * or nan; the weighted sum is finite there and stays within [a, b]. */
static double
lerp(double a, double b, double t)
{
	double diff = b - a;

	if (!isfinite(diff)) {
		return a * (1.0 - t) + b * t;
	}
	return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

double
sim_sweep_percentile(const double *sorted, size_t n, double p)
{
	double h = (double)(n - 1) * p; /* numpy "linear": virtual index (n - 1) p */
	double lo = floor(h);
	size_t i = (size_t)lo;

	if (i + 1 >= n) {
		return sorted[n - 1];
	}
	return lerp(sorted[i], sorted[i + 1], h - lo);
}

/* ------------------------------------------------------------------ */
/* registry of metrics and checks, in order of first appearance        */

static int
interest_of(const char *key)
{
	for (int i = 0; SW_INTEREST[i] != NULL; i++) {
		if (strcmp(key, SW_INTEREST[i]) == 0) {
			return i;
		}
	}
	return -1;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Index of name in the registry `index` (an object of name: position),
 * added at `count` when new; -1 when out of memory. */
static long
lookup(json_t *index, const char *name, size_t count, bool *added)
{
	json_t *v = json_object_get(index, name);

	*added = v == NULL;
	if (v != NULL) {
		return (long)json_integer_value(v);
	}
	if (json_object_set_new(index, name, json_integer((json_int_t)count)) != 0) {
		return -1;
	}
	return (long)count;
}

static int
grow(void **arr, size_t *cap, size_t need, size_t size)
{
	void *g;

	if (need <= *cap) {
		return 0;
	}
	g = realloc(*arr, (*cap * 2 + 16) * size);
	if (g == NULL) {
		return -1;
	}
	*arr = g;
	*cap = *cap * 2 + 16;
	return 0;
}

/* A run's value (null or absent: none) onto v; -1 when out of memory. */
static int
push(sw_vec *v, const json_t *value)
{
	if (value == NULL || !json_is_number(value)) {
		return 0;
	}
	if (grow((void **)&v->v, &v->cap, v->n + 1, sizeof(double)) != 0) {
		return -1;
	}
	v->v[v->n++] = json_number_value(value);
	return 0;
}

static sw_metric *
metric_for(sw_summary *s, const char *name)
{
	bool added;
	long i = lookup(s->m_index, name, s->n_m, &added);

	if (i < 0 || (added && grow((void **)&s->m, &s->cap_m, s->n_m + 1, sizeof(*s->m)) != 0)) {
		return NULL;
	}
	if (added) {
		sw_metric *m = &s->m[s->n_m++];

		memset(m, 0, sizeof(*m));
		m->name = strdup(name);
		m->by_setting = calloc(s->n_settings, sizeof(*m->by_setting));
		if (m->name == NULL || m->by_setting == NULL) {
			return NULL;
		}
	}
	return &s->m[i];
}

static sw_check *
check_for(sw_summary *s, const char *name)
{
	bool added;
	long i = lookup(s->c_index, name, s->n_c, &added);

	if (i < 0 || (added && grow((void **)&s->c, &s->cap_c, s->n_c + 1, sizeof(*s->c)) != 0)) {
		return NULL;
	}
	if (added) {
		sw_check *c = &s->c[s->n_c++];

		memset(c, 0, sizeof(*c));
		c->name = strdup(name);
		c->n = calloc(s->n_settings, sizeof(*c->n));
		c->passed = calloc(s->n_settings, sizeof(*c->passed));
		if (c->name == NULL || c->n == NULL || c->passed == NULL) {
			return NULL;
		}
	}
	return &s->c[i];
}

/* ------------------------------------------------------------------ */
/* one report                                                          */

static int bad(sw_summary *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "FILE: JSON-PATH: what was wrong" */
static int
bad(sw_summary *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(s->err, s->errsize, "%s: %s", s->file, msg);
	return -1;
}

static const char *
json_kind(const json_t *v)
{
	static const char *const kinds[] = {"an object", "an array", "a string", "an integer",
	                                    "a number",  "true",     "false",    "null"};

	return v == NULL ? "nothing" : kinds[json_typeof(v)];
}

/* One metric value of a run (NULL or null: no value). */
static int
add_value(sw_summary *s, const char *node, const char *key, const json_t *v, const char *path)
{
	char name[512];
	sw_metric *m;
	int interest = interest_of(key);

	if (v != NULL && !json_is_null(v) && !json_is_number(v)) {
		return bad(s, "%s: expected a number or null, got %s", path, json_kind(v));
	}
	if ((size_t)snprintf(name, sizeof(name), "%s.%s", node, key) >= sizeof(name)) {
		/* cut, it could stand for another metric */
		return bad(s, "%s: name and key longer than %zu bytes", path, sizeof(name) - 2);
	}
	m = metric_for(s, name);
	if (m == NULL) {
		return bad(s, "out of memory");
	}
	if (m->last_run == s->run) {
		/* two nodes of one name, a tau twice: one run, two values */
		return bad(s, "%s: %s given twice in this report", path, name);
	}
	m->last_run = s->run;
	if (push(&m->cur, v) != 0) {
		return bad(s, "out of memory");
	}
	if (interest >= 0 && v != NULL && json_is_number(v)) {
		sw_plot_value(s, node, interest, json_number_value(v));
	}
	return 0;
}

static int
flatten_metrics(sw_summary *s, const char *node, const json_t *metrics, size_t i)
{
	const char *key;
	json_t *v;
	char path[512];

	if (!json_is_object(metrics)) {
		return bad(s, "nodes[%zu].metrics: expected an object, got %s", i,
		           json_kind(metrics));
	}
	json_object_foreach((json_t *)metrics, key, v)
	{
		snprintf(path, sizeof(path), "nodes[%zu].metrics.%s", i, key);
		if (add_value(s, node, key, v, path) != 0) {
			return -1;
		}
	}
	return 0;
}

/* N.stability: "adev@Ts" etc. for each tau T; absent or null: none. */
static int
flatten_stability(sw_summary *s, const char *node, const json_t *st, size_t i)
{
	static const char *const arrays[] = {"adev", "tdev", "mtie"};
	const json_t *taus = json_object_get(st, "taus");
	char key[64], path[128];

	if (st == NULL || json_is_null(st)) {
		return 0;
	}
	if (!json_is_object(st) || !json_is_array(taus)) {
		return bad(s, "nodes[%zu].stability%s: expected an object with taus (an array)", i,
		           json_is_object(st) ? ".taus" : "");
	}
	for (size_t a = 0; a < 3; a++) {
		const json_t *arr = json_object_get(st, arrays[a]);

		if (!json_is_array(arr) || json_array_size(arr) != json_array_size(taus)) {
			return bad(s, "nodes[%zu].stability.%s: expected an array as long as taus",
			           i, arrays[a]);
		}
		for (size_t t = 0; t < json_array_size(taus); t++) {
			const json_t *tau = json_array_get(taus, t);

			if (!json_is_number(tau)) {
				return bad(s, "nodes[%zu].stability.taus[%zu]: expected a number",
				           i, t);
			}
			snprintf(key, sizeof(key), "%s@%gs", arrays[a], json_number_value(tau));
			snprintf(path, sizeof(path), "nodes[%zu].stability.%s[%zu]", i, arrays[a],
			         t);
			if (add_value(s, node, key, json_array_get(arr, t), path) != 0) {
				return -1;
			}
		}
	}
	return 0;
}

static int
flatten_nodes(sw_summary *s, const json_t *nodes)
{
	if (!json_is_array(nodes)) {
		return bad(s, "nodes: expected an array, got %s", json_kind(nodes));
	}
	for (size_t i = 0; i < json_array_size(nodes); i++) {
		const json_t *n = json_array_get(nodes, i);
		const char *name = json_string_value(json_object_get(n, "name"));

		if (name == NULL) {
			return bad(s, "nodes[%zu].name: expected a string", i);
		}
		if (flatten_metrics(s, name, json_object_get(n, "metrics"), i) != 0 ||
		    flatten_stability(s, name, json_object_get(n, "stability"), i) != 0) {
			return -1;
		}
	}
	return 0;
}

static int
count_check(sw_summary *s, const char *name, bool pass, size_t i)
{
	sw_check *c = check_for(s, name);

	if (c == NULL) {
		return bad(s, "out of memory");
	}
	if (c->last_run == s->run) {
		return bad(s, "checks[%zu]: \"%s\" given twice in this report", i, name);
	}
	c->last_run = s->run;
	c->n[s->k]++;
	c->passed[s->k] += pass;
	return 0;
}

static int
flatten_checks(sw_summary *s, const json_t *root)
{
	const json_t *checks = json_object_get(root, "checks");
	const char *result = json_string_value(json_object_get(root, "result"));
	char name[512];

	if (result == NULL || (strcmp(result, "pass") != 0 && strcmp(result, "fail") != 0)) {
		return bad(s, "result: expected \"pass\" or \"fail\"");
	}
	if (count_check(s, "result", strcmp(result, "pass") == 0, 0) != 0) {
		return -1;
	}
	if (!json_is_array(checks)) {
		return bad(s, "checks: expected an array, got %s", json_kind(checks));
	}
	for (size_t i = 0; i < json_array_size(checks); i++) {
		const json_t *c = json_array_get(checks, i);
		const json_t *index = json_object_get(c, "index"),
		             *pass = json_object_get(c, "pass");
		const char *label = json_string_value(json_object_get(c, "label"));

		if (!json_is_integer(index) || label == NULL || !json_is_boolean(pass)) {
			return bad(s,
			           "checks[%zu]: expected index (an integer), label (a string) and "
			           "pass (true or false)",
			           i);
		}
		if ((size_t)snprintf(name, sizeof(name), "check[%lld] %s",
		                     (long long)json_integer_value(index), label) >= sizeof(name)) {
			return bad(s, "checks[%zu].label: longer than %zu bytes", i,
			           sizeof(name) - 32);
		}
		if (count_check(s, name, json_is_true(pass), i) != 0) {
			return -1;
		}
	}
	return 0;
}

/* One report, parsed (NULL: not JSON, je says where), as run s->run. */
static int
take_report(sw_summary *s, const char *file, json_t *root, const json_error_t *je)
{
	int rc;

	s->file = file;
	s->run++;
	if (root == NULL) {
		snprintf(s->err, s->errsize, "%s:%d:%d: not JSON: %s", file, je->line, je->column,
		         je->text);
		return -1;
	}
	rc = json_is_object(root) ? 0 : bad(s, "expected an object, got %s", json_kind(root));
	if (rc == 0) {
		rc = flatten_nodes(s, json_object_get(root, "nodes"));
	}
	if (rc == 0) {
		rc = flatten_checks(s, root);
	}
	json_decref(root);
	return rc;
}

int
sw_read_report_text(sw_summary *s, const char *file, const char *text, size_t len)
{
	json_error_t je;

	return take_report(s, file, json_loadb(text, len, 0, &je), &je);
}

static int
read_report(sw_summary *s, const char *path)
{
	json_error_t je;

	return take_report(s, path, json_load_file(path, 0, &je), &je);
}

/* ------------------------------------------------------------------ */
/* the runs of one setting                                             */

static bool
exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

/* Find run (k, seed) in the dirs: a report wins over an error.txt. */
static int
read_run(sw_summary *s, uint64_t seed)
{
	char name[64], path[SIM_SWEEP_PATH_MAX], list[512] = "";
	bool failed = false;

	sim_sweep_run_name(name, sizeof(name), s->k, seed);
	for (size_t d = 0; d < s->o->n_dirs; d++) {
		snprintf(path, sizeof(path), "%s/runs/%s/report.json", s->o->dirs[d], name);
		if (exists(path)) {
			s->done[s->k]++;
			return read_report(s, path);
		}
		snprintf(path, sizeof(path), "%s/runs/%s/error.txt", s->o->dirs[d], name);
		failed = failed || exists(path);
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", d ? ", " : "",
		         s->o->dirs[d]);
	}
	if (failed) {
		s->failed[s->k]++;
		return 0;
	}
	snprintf(s->err, s->errsize, "run %s (setting %zu, seed %llu) is missing: not in %s", name,
	         s->k, (unsigned long long)seed, list);
	return -1;
}

void
sw_finish_setting(sw_summary *s)
{
	for (size_t i = 0; i < s->n_m; i++) {
		sw_metric *m = &s->m[i];
		sw_stat *st = &m->by_setting[s->k];

		st->n = m->cur.n;
		if (m->cur.n > 0) {
			qsort(m->cur.v, m->cur.n, sizeof(double), cmp_double);
			st->min = m->cur.v[0];
			st->max = m->cur.v[m->cur.n - 1];
			st->median = sim_sweep_percentile(m->cur.v, m->cur.n, 0.5);
			st->p5 = sim_sweep_percentile(m->cur.v, m->cur.n, 0.05);
			st->p95 = sim_sweep_percentile(m->cur.v, m->cur.n, 0.95);
		}
		m->cur.n = 0;
	}
}

int
sw_summary_init(sw_summary *s, size_t n_settings)
{
	s->n_settings = n_settings;
	s->done = calloc(n_settings, sizeof(*s->done));
	s->failed = calloc(n_settings, sizeof(*s->failed));
	s->m_index = json_object();
	s->c_index = json_object();
	if (s->done == NULL || s->failed == NULL || s->m_index == NULL || s->c_index == NULL) {
		snprintf(s->err, s->errsize, "out of memory");
		return -1;
	}
	return 0;
}

/* seeds: integers >= 0, none twice (the runs' dirs are named by seed). */
static int
check_seeds(sw_summary *s)
{
	size_t n = json_array_size(s->seeds);
	uint64_t *v, dup;
	int twice;

	if (!json_is_array(s->seeds) || n == 0) {
		return bad(s, "seeds: expected a list of seeds, got %s", json_kind(s->seeds));
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *seed = json_array_get(s->seeds, i);

		if (!json_is_integer(seed) || json_integer_value(seed) < 0) {
			return bad(s, "seeds[%zu]: expected an integer >= 0, got %s", i,
			           json_kind(seed));
		}
	}
	v = malloc(n * sizeof(*v));
	if (v == NULL) {
		return bad(s, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		v[i] = (uint64_t)json_integer_value(json_array_get(s->seeds, i));
	}
	twice = sim_sweep_find_duplicate(v, n, &dup);
	free(v);
	if (twice != 0) {
		return twice < 0 ? bad(s, "out of memory")
		                 : bad(s, "seeds: seed %llu given twice", (unsigned long long)dup);
	}
	return 0;
}

/* settings: objects, each with its index and its overrides (strings). */
static int
check_settings(sw_summary *s)
{
	size_t n = json_array_size(s->settings);

	if (!json_is_array(s->settings) || n == 0) {
		return bad(s, "settings: expected a list of settings, got %s",
		           json_kind(s->settings));
	}
	for (size_t k = 0; k < n; k++) {
		const json_t *set = json_array_get(s->settings, k);
		const json_t *index = json_object_get(set, "index");
		const json_t *list = json_object_get(set, "overrides");

		if (!json_is_integer(index) || json_integer_value(index) != (json_int_t)k) {
			return bad(s, "settings[%zu].index: expected %zu", k, k);
		}
		if (!json_is_array(list)) {
			return bad(s, "settings[%zu].overrides: expected a list, got %s", k,
			           json_kind(list));
		}
		for (size_t i = 0; i < json_array_size(list); i++) {
			if (!json_is_string(json_array_get(list, i))) {
				return bad(s, "settings[%zu].overrides[%zu]: expected a string", k,
				           i);
			}
		}
	}
	return 0;
}

/* The spec, parsed (NULL: not JSON, je says where), checked for what the
 * summary and its tables rely on. */
static int
take_spec(sw_summary *s, const char *file, json_t *spec, const json_error_t *je)
{
	s->file = file;
	s->spec = spec;
	if (spec == NULL) {
		snprintf(s->err, s->errsize, "%s:%d:%d: %s", file, je->line, je->column, je->text);
		return -1;
	}
	if (!json_is_object(spec)) {
		return bad(s, "expected an object, got %s", json_kind(spec));
	}
	s->seeds = json_object_get(spec, "seeds");
	s->settings = json_object_get(spec, "settings");
	if (check_seeds(s) != 0 || check_settings(s) != 0) {
		return -1;
	}
	if (json_array_size(s->settings) > SIM_SWEEP_MAX_RUNS / json_array_size(s->seeds)) {
		return bad(s, "more than %d runs (seeds x settings)", SIM_SWEEP_MAX_RUNS);
	}
	return sw_summary_init(s, json_array_size(s->settings));
}

int
sw_read_spec_text(sw_summary *s, const char *file, const char *text, size_t len)
{
	json_error_t je;

	return take_spec(s, file, json_loadb(text, len, 0, &je), &je);
}

/* The spec the summary follows: out/sweep.json. */
static int
read_spec(sw_summary *s)
{
	char path[SIM_SWEEP_PATH_MAX];
	json_error_t je;

	snprintf(path, sizeof(path), "%s/sweep.json", s->o->out);
	return take_spec(s, path, json_load_file(path, 0, &je), &je);
}

void
sw_summary_free(sw_summary *s)
{
	for (size_t i = 0; i < s->n_m; i++) {
		free(s->m[i].name);
		free(s->m[i].by_setting);
		free(s->m[i].cur.v);
	}
	for (size_t i = 0; i < s->n_c; i++) {
		free(s->c[i].name);
		free(s->c[i].n);
		free(s->c[i].passed);
	}
	free(s->m);
	free(s->c);
	free(s->done);
	free(s->failed);
	sw_plot_free(s);
	json_decref(s->m_index);
	json_decref(s->c_index);
	json_decref(s->spec);
}

int
sim_sweep_summarize(const sim_sweep_summary_opts *o, size_t *failed, char *err, size_t errsize)
{
	sw_summary s;
	int rc;

	memset(&s, 0, sizeof(s));
	s.o = o;
	s.err = err;
	s.errsize = errsize;
	*failed = 0;
	rc = read_spec(&s) != 0 || sw_plot_open(&s) != 0 ? -1 : 0;
	for (s.k = 0; rc == 0 && s.k < s.n_settings; s.k++) {
		for (size_t i = 0; rc == 0 && i < json_array_size(s.seeds); i++) {
			rc = read_run(&s, (uint64_t)json_integer_value(json_array_get(s.seeds, i)));
		}
		sw_finish_setting(&s);
		*failed += s.failed[s.k];
	}
	if (rc == 0) {
		rc = sw_write_tables(&s);
	}
	if (rc == 0) {
		rc = sw_plot_close(&s);
	}
	sw_summary_free(&s);
	return rc;
}
