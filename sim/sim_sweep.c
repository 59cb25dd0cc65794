/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntpsim sweep: the command line, the sweep's spec (seeds, --set axes,
 * settings, DIR/sweep.json) and the order of the work: validate every
 * setting, run the runs (sim_sweep_run.c), summarise (sim_sweep_summary.c).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ntp_units.h"
#include "sim_cli.h"
#include "sim_report.h"
#include "sim_sweep.h"
#include "sim_sweep_run.h"
#include "sim_sweep_summary.h"

#define ERR_MAX 8192 /* B, an error message (as ntpsim's) */

/* ------------------------------------------------------------------ */
/* seeds                                                               */

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One item of a seed list, "N" or "A-B", into [*lo, *hi]. */
static int
parse_seed_item(const char *item, size_t len, uint64_t *lo, uint64_t *hi)
{
	char buf[64];
	char *dash;
	long long a, b;

	if (len == 0 || len >= sizeof(buf)) {
		return -1;
	}
	memcpy(buf, item, len);
	buf[len] = '\0';
	dash = strchr(buf, '-');
	if (dash == buf) {
		return -1; /* seeds are >= 0 */
	}
	if (dash != NULL) {
		*dash = '\0';
	}
	if (ntp_parse_int(buf, 0, INT64_MAX, &a) != 0 ||
	    (dash != NULL && ntp_parse_int(dash + 1, 0, INT64_MAX, &b) != 0)) {
		return -1;
	}
	*lo = (uint64_t)a;
	*hi = dash != NULL ? (uint64_t)b : (uint64_t)a;
	return 0;
}

int
sim_sweep_find_duplicate(const uint64_t *seeds, size_t n, uint64_t *dup)
{
	uint64_t *s = malloc((n + 1) * sizeof(*s));
	int found = 0;

	if (s == NULL) {
		return -1;
	}
	memcpy(s, seeds, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_u64);
	for (size_t i = 1; i < n && !found; i++) {
		found = s[i] == s[i - 1];
		*dup = s[i];
	}
	free(s);
	return found;
}

/* No seed twice: the runs of a setting would collide in one dir. */
static int
check_unique(const uint64_t *seeds, size_t n, const char *list, char *err, size_t errsize)
{
	uint64_t dup;
	int rc = sim_sweep_find_duplicate(seeds, n, &dup);

	if (rc < 0) {
		snprintf(err, errsize, "out of memory");
	} else if (rc > 0) {
		snprintf(err, errsize, "--seeds '%.80s': seed %llu given twice", list,
		         (unsigned long long)dup);
	}
	return rc == 0 ? 0 : -1;
}

int
sim_sweep_parse_seeds(const char *list, uint64_t **seeds, size_t *n, char *err, size_t errsize)
{
	size_t count = 0;
	uint64_t *out;

	*seeds = NULL;
	*n = 0;
	/* count first: a range of 10^18 seeds is refused before any memory */
	for (const char *p = list;; p += strcspn(p, ",") + 1) {
		size_t len = strcspn(p, ",");
		uint64_t lo, hi;

		if (parse_seed_item(p, len, &lo, &hi) != 0 || lo > hi) {
			snprintf(err, errsize,
			         "--seeds '%.80s': expected seeds >= 0 as N or A-B (A <= B) "
			         "separated "
			         "by commas, e.g. 1-100 or 1-10,20; got '%.*s'",
			         list, (int)(len < 40 ? len : 40), p);
			return -1;
		}
		if (hi - lo >= SIM_SWEEP_MAX_RUNS || count + (hi - lo + 1) > SIM_SWEEP_MAX_RUNS) {
			snprintf(err, errsize, "--seeds '%.80s': more than %d seeds", list,
			         SIM_SWEEP_MAX_RUNS);
			return -1;
		}
		count += hi - lo + 1;
		if (p[len] == '\0') {
			break;
		}
	}
	out = malloc(count * sizeof(*out));
	if (out == NULL) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	for (const char *p = list;; p += strcspn(p, ",") + 1) {
		uint64_t lo, hi;

		parse_seed_item(p, strcspn(p, ","), &lo, &hi);
		for (uint64_t s = lo;; s++) {
			out[(*n)++] = s;
			if (s == hi) {
				break;
			}
		}
		if (p[strcspn(p, ",")] == '\0') {
			break;
		}
	}
	*seeds = out;
	return check_unique(out, *n, list, err, errsize);
}

/* ------------------------------------------------------------------ */
/* --set                                                               */

/* The next value of "V1,V2\,x,...": up to an unescaped comma, "\," made
 * ','.  *p moves past the comma, *comma says whether there was one; NULL
 * when out of memory. */
static char *
next_value(const char **p, bool *comma)
{
	const char *s = *p;
	char *v = malloc(strlen(s) + 1), *o = v;

	if (v == NULL) {
		return NULL;
	}
	for (; *s != '\0' && *s != ','; s++) {
		if (s[0] == '\\' && s[1] == ',') {
			s++;
		}
		*o++ = *s;
	}
	*o = '\0';
	*comma = *s == ',';
	*p = *comma ? s + 1 : s;
	return v;
}

int
sim_sweep_add_set(sim_sweep_spec *sp, const char *arg, char *err, size_t errsize)
{
	const char *eq = strchr(arg, '='), *p;
	sim_sweep_axis *grown, *a;
	bool comma = true;

	if (eq == NULL || eq == arg || (eq == arg + 1 && arg[0] == '+')) {
		snprintf(err, errsize, "--set '%.80s': expected PATH=V1,V2,... or PATH+=LINE", arg);
		return -1;
	}
	grown = realloc(sp->axes, (sp->n_axes + 1) * sizeof(*grown));
	if (grown == NULL) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	sp->axes = grown;
	a = &sp->axes[sp->n_axes++];
	memset(a, 0, sizeof(*a));
	a->append = eq[-1] == '+';
	a->path = strndup(arg, (size_t)(eq - arg) - a->append);
	for (p = eq + 1; a->path != NULL && comma;) {
		char **vs = realloc(a->values, (a->n_values + 1) * sizeof(*vs));

		if (vs == NULL) {
			break;
		}
		a->values = vs;
		vs[a->n_values] = next_value(&p, &comma);
		if (vs[a->n_values] == NULL) {
			break;
		}
		a->n_values++;
	}
	if (a->path == NULL || comma) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	return 0;
}

void
sim_sweep_setting(const sim_sweep_spec *sp, size_t k, sim_override *ov)
{
	/* mixed radix, the last axis the fastest digit */
	for (size_t i = sp->n_axes; i-- > 0;) {
		const sim_sweep_axis *a = &sp->axes[i];

		ov[i].path = a->path;
		ov[i].append = a->append;
		ov[i].value = a->values[k % a->n_values];
		k /= a->n_values;
	}
}

void
sim_sweep_spec_free(sim_sweep_spec *sp)
{
	for (size_t i = 0; i < sp->n_axes; i++) {
		for (size_t j = 0; j < sp->axes[i].n_values; j++) {
			free(sp->axes[i].values[j]);
		}
		free(sp->axes[i].values);
		free(sp->axes[i].path);
	}
	free(sp->axes);
	free(sp->seeds);
	memset(sp, 0, sizeof(*sp));
}

/* ------------------------------------------------------------------ */
/* DIR/sweep.json: what the sweep is (shards and --merge compare it)    */

static json_t *
override_list(const sim_sweep_spec *sp, size_t k)
{
	sim_override *ov = calloc(sp->n_axes + 1, sizeof(*ov));
	json_t *list = json_array();

	if (ov == NULL) {
		return list;
	}
	sim_sweep_setting(sp, k, ov);
	for (size_t i = 0; i < sp->n_axes; i++) {
		size_t len = strlen(ov[i].path) + strlen(ov[i].value) + 3;
		char *s = malloc(len);

		if (s != NULL) {
			snprintf(s, len, "%s%s%s", ov[i].path, ov[i].append ? "+=" : "=",
			         ov[i].value);
			json_array_append_new(list, json_string(s));
		}
		free(s);
	}
	free(ov);
	return list;
}

/* The spec as text: scenario path and hash, seeds, --set axes, settings. */
static char *
spec_json(const sim_sweep_spec *sp, const char *sha256)
{
	json_t *root = json_object(), *seeds = json_array(), *sets = json_array();
	json_t *settings = json_array();
	char *text;

	for (size_t i = 0; i < sp->n_seeds; i++) {
		json_array_append_new(seeds, json_integer((json_int_t)sp->seeds[i]));
	}
	for (size_t i = 0; i < sp->n_axes; i++) {
		json_t *values = json_array();

		for (size_t j = 0; j < sp->axes[i].n_values; j++) {
			json_array_append_new(values, json_string(sp->axes[i].values[j]));
		}
		json_array_append_new(sets,
		                      json_pack("{s:s, s:s, s:o}", "path", sp->axes[i].path, "op",
		                                sp->axes[i].append ? "+=" : "=", "values", values));
	}
	for (size_t k = 0; k < sp->n_settings; k++) {
		json_array_append_new(settings, json_pack("{s:I, s:o}", "index", (json_int_t)k,
		                                          "overrides", override_list(sp, k)));
	}
	json_object_set_new(root, "sweep", json_integer(1));
	json_object_set_new(root, "scenario",
	                    json_pack("{s:s, s:s}", "file", sp->scenario, "sha256", sha256));
	json_object_set_new(root, "seeds", seeds);
	json_object_set_new(root, "sets", sets);
	json_object_set_new(root, "settings", settings);
	json_object_set_new(root, "runs", json_integer((json_int_t)(sp->n_settings * sp->n_seeds)));
	text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(root);
	return text;
}

/* A whole small file as a string; NULL when it cannot be read. */
static char *
read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, got = 1;

	if (f == NULL) {
		return NULL;
	}
	while (got > 0) {
		char *grown;

		cap = cap * 2 + 4096;
		grown = realloc(buf, cap + 1);
		if (grown == NULL) {
			free(buf);
			fclose(f);
			return NULL;
		}
		buf = grown;
		got = fread(buf + len, 1, cap - len, f);
		len += got;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/* Write text to path through a temp name. */
static int
write_atomic(const char *path, const char *text)
{
	char tmp[SIM_SWEEP_PATH_MAX + 8];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f == NULL) {
		return -1;
	}
	fputs(text, f);
	if (fclose(f) != 0) {
		return -1;
	}
	return rename(tmp, path);
}

/* DIR/sweep.json holds `text`: written, or found equal (a resumed sweep,
 * another shard); a different sweep in DIR is an error. */
static int
put_spec(const char *dir, const char *text, const char *what, char *err, size_t errsize)
{
	char path[SIM_SWEEP_PATH_MAX];
	char *old;
	bool same;

	snprintf(path, sizeof(path), "%s/sweep.json", dir);
	old = read_text(path);
	if (old != NULL) {
		same = strcmp(old, text) == 0;
		free(old);
		if (same) {
			return 0;
		}
		snprintf(err, errsize,
		         "%s holds another sweep (%s differs: %s); use another --out or remove it",
		         dir, path, what);
		return -1;
	}
	if (write_atomic(path, text) != 0) {
		snprintf(err, errsize, "%s: cannot write: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
make_dir(const char *path, char *err, size_t errsize)
{
	if (sim_mkdir_p(path) != 0) {
		snprintf(err, errsize, "%s: cannot create the directory: %s", path,
		         strerror(errno));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* the command line                                                    */

typedef struct sweep_args {
	sim_sweep_spec spec;
	const char *seeds;
	const char *out;
	const char *plots_dir;
	const char **dirs; /* --merge */
	size_t n_dirs;
	unsigned jobs;
	size_t shard_k, shard_n;
	bool merge, traces, plots, quiet;
} sweep_args;

static void
sweep_usage(FILE *f)
{
	fputs("usage: ntpsim sweep SCENARIO.yaml --seeds LIST --out DIR [--set PATH=V1,V2,...]...\n"
	      "                    [-j N] [--shard K/N] [--traces] [--no-plots] [--quiet]\n"
	      "       ntpsim sweep --merge DIR... --out DIR [--no-plots] [--quiet]\n"
	      "manual: docs/sweep.md\n",
	      f);
}

int
sim_sweep_parse_shard(const char *s, size_t *k_out, size_t *n_out, char *err, size_t errsize)
{
	char buf[64];
	char *slash;
	long long k, n;

	/* a longer text would be cut: "0/" and 62 zeros and "12" read as 0/1 */
	bool fits = strlen(s) < sizeof(buf);

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash != NULL) {
		*slash = '\0';
	}
	if (!fits || slash == NULL || ntp_parse_int(buf, 0, SIM_SWEEP_MAX_RUNS, &k) != 0 ||
	    ntp_parse_int(slash + 1, 1, SIM_SWEEP_MAX_RUNS, &n) != 0 || k >= n) {
		snprintf(err, errsize,
		         "--shard '%.40s': expected K/N with 0 <= K < N (shards are numbered 0 to "
		         "N-1)",
		         s);
		return -1;
	}
	*k_out = (size_t)k;
	*n_out = (size_t)n;
	return 0;
}

static int
parse_jobs(const char *s, sweep_args *a, char *err, size_t errsize)
{
	long long j;

	if (ntp_parse_int(s, 1, SIM_SWEEP_JOBS_MAX, &j) != 0) {
		snprintf(err, errsize, "-j '%.40s': expected a number of processes from 1 to %d", s,
		         SIM_SWEEP_JOBS_MAX);
		return -1;
	}
	a->jobs = (unsigned)j;
	return 0;
}

enum sweep_opt {
	SW_SEEDS = 256,
	SW_OUT,
	SW_PLOTS_DIR,
	SW_SET,
	SW_SHARD,
	SW_MERGE,
	SW_TRACES,
	SW_NO_PLOTS,
	SW_QUIET,
};

static const struct option sweep_options[] = {
        {"seeds", required_argument, NULL, SW_SEEDS},
        {"out", required_argument, NULL, SW_OUT},
        {"plots-dir", required_argument, NULL, SW_PLOTS_DIR},
        {"set", required_argument, NULL, SW_SET},
        {"jobs", required_argument, NULL, 'j'},
        {"shard", required_argument, NULL, SW_SHARD},
        {"merge", no_argument, NULL, SW_MERGE},
        {"traces", no_argument, NULL, SW_TRACES},
        {"no-plots", no_argument, NULL, SW_NO_PLOTS},
        {"quiet", no_argument, NULL, SW_QUIET},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

/* One option (v its value, if it takes one). */
static int
sweep_option(sweep_args *a, int c, const char *v, char *err, size_t errsize)
{
	switch (c) {
	case SW_SEEDS:
		a->seeds = v;
		return 0;
	case SW_OUT:
		a->out = v;
		return 0;
	case SW_PLOTS_DIR:
		a->plots_dir = v;
		return 0;
	case SW_SET:
		return sim_sweep_add_set(&a->spec, v, err, errsize);
	case 'j':
		return parse_jobs(v, a, err, errsize);
	case SW_SHARD:
		return sim_sweep_parse_shard(v, &a->shard_k, &a->shard_n, err, errsize);
	case SW_MERGE:
		a->merge = true;
		return 0;
	case SW_TRACES:
		a->traces = true;
		return 0;
	case SW_NO_PLOTS:
		a->plots = false;
		return 0;
	case SW_QUIET:
		a->quiet = true;
		return 0;
	default:
		snprintf(err, errsize, "internal: option %d", c);
		return -1;
	}
}

/* argv[0] is "sweep".  Returns 0, 1 after --help, -1 with err. */
static int
parse_args(int argc, char **argv, sweep_args *a, char *err, size_t errsize)
{
	int c;

	sim_cli_reset();
	while ((c = sim_cli_next(argc, argv, "hj:", sweep_options, err, errsize)) != -1) {
		if (c == 'h') {
			return 1;
		}
		if (c == '?' || sweep_option(a, c, optarg, err, errsize) != 0) {
			return -1;
		}
	}
	for (int i = optind; i < argc; i++) {
		a->dirs[a->n_dirs++] = argv[i]; /* the scenario, or --merge's dirs */
	}
	return 0;
}

/* What each mode needs and refuses. */
static int
check_args(sweep_args *a, char *err, size_t errsize)
{
	if (a->out == NULL) {
		snprintf(err, errsize, "--out DIR is needed");
		return -1;
	}
	if (a->merge) {
		if (a->n_dirs == 0 || a->seeds != NULL || a->spec.n_axes > 0 || a->shard_n > 1 ||
		    a->traces) {
			snprintf(err, errsize,
			         "--merge takes sweep dirs, --out, --no-plots, --quiet "
			         "(the sweep's seeds and settings are in its sweep.json)");
			return -1;
		}
		return 0;
	}
	if (a->n_dirs == 0) {
		snprintf(err, errsize, "a scenario file is needed");
		return -1;
	}
	if (a->n_dirs > 1) {
		snprintf(err, errsize, "one scenario per sweep (got '%s' and '%s')", a->dirs[0],
		         a->dirs[1]);
		return -1;
	}
	if (a->seeds == NULL) {
		snprintf(err, errsize, "--seeds LIST is needed (e.g. --seeds 1-100)");
		return -1;
	}
	a->spec.scenario = a->dirs[0];
	if (sim_sweep_parse_seeds(a->seeds, &a->spec.seeds, &a->spec.n_seeds, err, errsize) != 0) {
		return -1;
	}
	a->spec.n_settings = 1;
	for (size_t i = 0; i < a->spec.n_axes; i++) {
		a->spec.n_settings *= a->spec.axes[i].n_values;
		if (a->spec.n_settings * a->spec.n_seeds > SIM_SWEEP_MAX_RUNS) {
			snprintf(err, errsize, "more than %d runs (seeds x settings)",
			         SIM_SWEEP_MAX_RUNS);
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* the sweep and the merge                                             */

static void
free_settings(sim_scenario *sc, size_t n)
{
	for (size_t k = 0; sc != NULL && k < n; k++) {
		sim_scenario_free(&sc[k]);
	}
	free(sc);
}

/* Every setting's scenario, loaded once: a bad --set stops the sweep
 * before any run.  Warnings are printed once per distinct text. */
static sim_scenario *
load_settings(const sim_sweep_spec *sp, bool quiet, char *err, size_t errsize)
{
	sim_scenario *sc = calloc(sp->n_settings, sizeof(*sc));
	sim_override *ov = calloc(sp->n_axes + 1, sizeof(*ov));
	const char *shown = NULL;

	if (sc == NULL || ov == NULL) {
		snprintf(err, errsize, "out of memory");
		free(sc);
		free(ov);
		return NULL;
	}
	for (size_t k = 0; k < sp->n_settings; k++) {
		sim_sweep_setting(sp, k, ov);
		if (sim_scenario_load_file_set(&sc[k], sp->scenario, ov, sp->n_axes, err,
		                               errsize) != 0) {
			free_settings(sc, k);
			free(ov);
			return NULL;
		}
		if (!quiet && sc[k].warnings != NULL &&
		    (shown == NULL || strcmp(shown, sc[k].warnings) != 0)) {
			fputs(sc[k].warnings, stderr);
			shown = sc[k].warnings;
		}
	}
	free(ov);
	return sc;
}

static int
summarize(const sweep_args *a, const char *const *dirs, size_t n_dirs, size_t *failed, char *err,
          size_t errsize)
{
	sim_sweep_summary_opts so = {.out = a->out,
	                             .dirs = dirs,
	                             .n_dirs = n_dirs,
	                             .plots = a->plots,
	                             .plots_dir = a->plots_dir};

	return sim_sweep_summarize(&so, failed, err, errsize);
}

/* Set up DIR, run this shard's runs, summarise unless a shard.  Returns
 * the exit status. */
static int
do_sweep(sweep_args *a, char *err, size_t errsize)
{
	char runs[SIM_SWEEP_PATH_MAX];
	sim_sweep_plan p;
	sim_sweep_counts c;
	sim_scenario *sc;
	char *text;
	size_t failed = 0;
	int rc;

	sc = load_settings(&a->spec, a->quiet, err, errsize);
	if (sc == NULL) {
		return 2;
	}
	snprintf(runs, sizeof(runs), "%s/runs", a->out);
	text = spec_json(&a->spec, sc[0].sha256); /* the file's bytes, whatever --set says */
	if (text == NULL) {
		snprintf(err, errsize, "out of memory");
	}
	rc = text == NULL || make_dir(a->out, err, errsize) != 0 ||
	     make_dir(runs, err, errsize) != 0 ||
	     put_spec(a->out, text, "scenario, seeds or --set", err, errsize) != 0;
	free(text);
	if (rc != 0) {
		free_settings(sc, a->spec.n_settings);
		return 2;
	}
	p = (sim_sweep_plan){.dir = a->out,
	                     .settings = sc,
	                     .n_settings = a->spec.n_settings,
	                     .seeds = a->spec.seeds,
	                     .n_seeds = a->spec.n_seeds,
	                     .shard_k = a->shard_k,
	                     .shard_n = a->shard_n,
	                     .jobs = a->jobs,
	                     .traces = a->traces,
	                     .progress = !a->quiet && isatty(STDERR_FILENO)};
	rc = sim_sweep_run(&p, &c, err, errsize);
	free_settings(sc, a->spec.n_settings);
	if (rc != 0) {
		return 1;
	}
	if (!a->quiet) {
		fprintf(stderr, "ntpsim sweep: %zu runs: %zu kept, %zu done, %zu failed\n", c.runs,
		        c.kept, c.done, c.failed);
	}
	if (a->shard_n == 1) {
		const char *dirs[1] = {a->out};

		if (summarize(a, dirs, 1, &failed, err, errsize) != 0) {
			return 2;
		}
		if (!a->quiet) {
			fprintf(stderr, "ntpsim sweep: summary in %s/summary.md\n", a->out);
		}
	}
	return c.failed > 0 || failed > 0 ? 1 : 0;
}

/* Summarise slices of one sweep: every DIR's sweep.json the same. */
static int
do_merge(sweep_args *a, char *err, size_t errsize)
{
	char path[SIM_SWEEP_PATH_MAX];
	char *first = NULL;
	size_t failed = 0;
	int rc = 0;

	for (size_t i = 0; i < a->n_dirs && rc == 0; i++) {
		char *text;

		snprintf(path, sizeof(path), "%s/sweep.json", a->dirs[i]);
		text = read_text(path);
		if (text == NULL) {
			snprintf(err, errsize, "--merge: %s: %s (not a sweep dir?)", path,
			         strerror(errno));
			rc = -1;
		} else if (first != NULL && strcmp(first, text) != 0) {
			snprintf(err, errsize,
			         "--merge: %s differs from %s/sweep.json: %s is not a slice of the "
			         "same sweep",
			         path, a->dirs[0], a->dirs[i]);
			rc = -1;
		}
		if (first == NULL) {
			first = text;
		} else {
			free(text);
		}
	}
	if (rc == 0) {
		rc = make_dir(a->out, err, errsize) != 0 ||
		     put_spec(a->out, first, "not the merged sweep", err, errsize) != 0;
	}
	free(first);
	if (rc != 0) {
		return 2;
	}
	if (summarize(a, a->dirs, a->n_dirs, &failed, err, errsize) != 0) {
		return 2;
	}
	if (!a->quiet) {
		fprintf(stderr, "ntpsim sweep: merged %zu dirs; summary in %s/summary.md\n",
		        a->n_dirs, a->out);
	}
	return failed > 0 ? 1 : 0;
}

int
sim_sweep_main(int argc, char **argv)
{
	char *err = calloc(1, ERR_MAX); /* "": the exit status 1 of failed runs has no message */
	sweep_args a;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int rc;

	memset(&a, 0, sizeof(a));
	a.dirs = calloc((size_t)argc + 1, sizeof(*a.dirs));
	a.plots = true;
	a.shard_n = 1;
	a.jobs = cpus >= 1 && cpus <= SIM_SWEEP_JOBS_MAX ? (unsigned)cpus : 1;
	if (err == NULL || a.dirs == NULL) {
		free(err);
		free(a.dirs);
		return 2;
	}
	rc = parse_args(argc, argv, &a, err, ERR_MAX);
	if (rc == 1) {
		sweep_usage(stdout);
		rc = 0;
	} else if (rc != 0 || check_args(&a, err, ERR_MAX) != 0) {
		fprintf(stderr, "ntpsim sweep: %s\n", err);
		sweep_usage(stderr);
		rc = 2;
	} else {
		rc = a.merge ? do_merge(&a, err, ERR_MAX) : do_sweep(&a, err, ERR_MAX);
		if (rc != 0 && err[0] != '\0') {
			fprintf(stderr, "ntpsim sweep: %s\n", err);
		}
	}
	sim_sweep_spec_free(&a.spec);
	free(a.dirs);
	free(err);
	return rc;
}
