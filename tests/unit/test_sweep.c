/* SPDX-License-Identifier: BSD-2-Clause */
/* sim/sim_sweep*.c: seed lists, --set values, settings, the percentile
 * and the summary of hand-written report.json v1 files
 * (docs/report.schema.json, docs/sweep.md). */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim_sweep.h"
#include "sim_sweep_summary.h"

#define ERR_SIZE 8192

/* ------------------------------------------------------------------ */
/* seeds                                                               */

static void
expect_seeds(const char *list, const uint64_t *want, size_t n)
{
	uint64_t *seeds;
	size_t got;
	char err[ERR_SIZE];

	cr_assert_eq(sim_sweep_parse_seeds(list, &seeds, &got, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(got, n, "'%s': %zu seeds, want %zu", list, got, n);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(seeds[i], want[i], "'%s' seed %zu", list, i);
	}
	free(seeds);
}

static void
expect_bad_seeds(const char *list, const char *want)
{
	uint64_t *seeds;
	size_t n;
	char err[ERR_SIZE];

	cr_assert_eq(sim_sweep_parse_seeds(list, &seeds, &n, err, sizeof(err)), -1, "'%s'", list);
	cr_assert_not_null(strstr(err, want), "'%s': error '%s' lacks '%s'", list, err, want);
	free(seeds);
}

Test(sweep, seeds_ranges_and_singles_in_order)
{
	static const uint64_t a[] = {1, 2, 3};
	static const uint64_t b[] = {1, 2, 3, 20, 30, 31, 32};
	static const uint64_t c[] = {7, 0};

	expect_seeds("1-3", a, 3);
	expect_seeds("1-3,20,30-32", b, 7);
	expect_seeds("7,0", c, 2);
	expect_seeds("5-5", (const uint64_t[]){5}, 1);
}

Test(sweep, bad_seed_lists)
{
	expect_bad_seeds("", "expected seeds >= 0");
	expect_bad_seeds("1-", "got '1-'");
	expect_bad_seeds("-3", "got '-3'");
	expect_bad_seeds("5-2", "got '5-2'");
	expect_bad_seeds("1,,2", "got ''");
	expect_bad_seeds("1-3,x", "got 'x'");
	expect_bad_seeds("1-10,5", "seed 5 given twice");
	expect_bad_seeds("0-9223372036854775807", "more than 1000000 seeds");
}

Test(sweep, shards)
{
	char err[ERR_SIZE], cut[80];
	size_t k = 99, n = 99;

	cr_assert_eq(sim_sweep_parse_shard("3/8", &k, &n, err, sizeof(err)), 0, "%s", err);
	cr_assert(k == 3 && n == 8);
	cr_assert_eq(sim_sweep_parse_shard("8/8", &k, &n, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "0 <= K < N"), "%s", err);
	/* too long for the parser's buffer: once cut to "0/000...01", read as 0/1 */
	snprintf(cut, sizeof(cut), "0/%062d", 12);
	cr_assert_eq(sim_sweep_parse_shard(cut, &k, &n, err, sizeof(err)), -1, "%zu/%zu", k, n);
}

/* ------------------------------------------------------------------ */
/* --set and settings                                                  */

Test(sweep, set_values_with_escaped_commas_and_settings_order)
{
	sim_sweep_spec sp;
	sim_override ov[2];
	char err[ERR_SIZE];

	memset(&sp, 0, sizeof(sp));
	cr_assert_eq(sim_sweep_add_set(&sp, "a.b=x,y\\,z,w", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(sim_sweep_add_set(&sp, "n.conf+=tinker panic 0,", err, sizeof(err)), 0);
	cr_assert_eq(sp.n_axes, 2);
	cr_assert_eq(sp.axes[0].n_values, 3);
	cr_assert_str_eq(sp.axes[0].values[1], "y,z");
	cr_assert(!sp.axes[0].append);
	cr_assert(sp.axes[1].append);
	cr_assert_str_eq(sp.axes[1].path, "n.conf");
	cr_assert_eq(sp.axes[1].n_values, 2, "a trailing comma is one more (empty) value");
	cr_assert_str_eq(sp.axes[1].values[1], "");
	/* the first option varies slowest: setting 2 = (y\,z, tinker), 1 = (x, "") */
	sim_sweep_setting(&sp, 2, ov);
	cr_assert_str_eq(ov[0].value, "y,z");
	cr_assert_str_eq(ov[1].value, "tinker panic 0");
	sim_sweep_setting(&sp, 1, ov);
	cr_assert_str_eq(ov[0].value, "x");
	cr_assert_str_eq(ov[1].value, "");
	sim_sweep_spec_free(&sp);
}

Test(sweep, bad_set)
{
	sim_sweep_spec sp;
	char err[ERR_SIZE];

	memset(&sp, 0, sizeof(sp));
	cr_assert_eq(sim_sweep_add_set(&sp, "nodes.client.discipline", err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "expected PATH=V1,V2"), "%s", err);
	cr_assert_eq(sim_sweep_add_set(&sp, "=x", err, sizeof(err)), -1);
	cr_assert_eq(sim_sweep_add_set(&sp, "+=x", err, sizeof(err)), -1);
	sim_sweep_spec_free(&sp);
}

/* ------------------------------------------------------------------ */
/* percentile: numpy.percentile(x, q) ("linear") worked by hand        */

Test(sweep, percentile_linear_between_order_statistics)
{
	static const double x[] = {1, 2, 3, 4, 10};
	static const double two[] = {0, 1};

	/* h = (n - 1) p: p5 -> 0.2 -> 1.2; p95 -> 3.8 -> 4 + 0.8 * 6 = 8.8 */
	cr_assert_float_eq(sim_sweep_percentile(x, 5, 0.05), 1.2, 1e-12);
	cr_assert_float_eq(sim_sweep_percentile(x, 5, 0.95), 8.8, 1e-12);
	cr_assert_eq(sim_sweep_percentile(x, 5, 0.5), 3.0);
	cr_assert_eq(sim_sweep_percentile(x, 5, 0.0), 1.0);
	cr_assert_eq(sim_sweep_percentile(x, 5, 1.0), 10.0);
	cr_assert_eq(sim_sweep_percentile(two, 2, 0.5), 0.5, "even n: halfway");
	cr_assert_float_eq(sim_sweep_percentile(two, 2, 0.95), 0.95, 1e-15);
	cr_assert_eq(sim_sweep_percentile((const double[]){42}, 1, 0.05), 42.0);
}

Test(sweep, percentile_of_extremes_is_finite)
{
	/* b - a overflows: numpy's arithmetic would give -inf (fuzz_sweep) */
	static const double x[] = {-1.7e308, 1.7e308};

	cr_assert_eq(sim_sweep_percentile(x, 2, 0.5), 0.0);
	cr_assert_float_eq(sim_sweep_percentile(x, 2, 0.05), -1.53e308, 1e294);
	cr_assert_float_eq(sim_sweep_percentile(x, 2, 0.95), 1.53e308, 1e294);
}

/* ------------------------------------------------------------------ */
/* summary of hand-written reports                                     */

static char dir[256];

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

/* dir/rel holds text. */
static void
write_in_dir(const char *rel, const char *text)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	write_file(path, text);
}

/* A report.json v1 with what the summary reads. */
static void
write_report(size_t k, int seed, double rms, const char *tdev1, bool pass)
{
	char path[512], text[2048];

	snprintf(path, sizeof(path), "%s/runs/s%zu-seed%d", dir, k, seed);
	mkdir(path, 0777);
	snprintf(text, sizeof(text),
	         "{\"schema_version\": 1, \"seed\": %d, \"result\": \"%s\",\n"
	         " \"checks\": [{\"index\": 0, \"kind\": \"rms\", \"label\": \"rms c, a\", "
	         "\"pass\": %s}],\n"
	         " \"nodes\": [{\"name\": \"c\", \"metrics\": {\"offset_rms\": %g, \"steps\": 0, "
	         "\"last_step\": null},\n"
	         "   \"stability\": {\"tau0\": 1, \"taus\": [1, 10], \"adev\": [1e-9, null], "
	         "\"tdev\": [%s, 2e-6], \"mtie\": [null, null]}}]}\n",
	         seed, pass ? "pass" : "fail", pass ? "true" : "false", rms, tdev1);
	strcat(path, "/report.json");
	write_file(path, text);
}

static void
setup_sweep(void)
{
	char path[512];

	snprintf(dir, sizeof(dir), "/tmp/ntplab-test-sweep-%ld", (long)getpid());
	mkdir(dir, 0777);
	snprintf(path, sizeof(path), "%s/runs", dir);
	mkdir(path, 0777);
	write_in_dir("sweep.json",
	             "{\"sweep\": 1, \"scenario\": {\"file\": \"t.yaml\", \"sha256\": \"0\"},\n"
	             " \"seeds\": [1, 2, 3], \"sets\": [],\n"
	             " \"settings\": [{\"index\": 0, \"overrides\": [\"x=1\"]},\n"
	             "              {\"index\": 1, \"overrides\": [\"x=2\"]}], \"runs\": 6}\n");
	write_report(0, 1, 1.0, "null", true);
	write_report(0, 2, 3.0, "5e-7", false);
	write_report(0, 3, 2.0, "null", true);
	write_report(1, 1, 10.0, "null", true);
	write_report(1, 2, 30.0, "null", true);
	snprintf(path, sizeof(path), "%s/runs/s1-seed3", dir);
	mkdir(path, 0777);
	strcat(path, "/error.txt");
	write_file(path, "killed\n");
}

static void
teardown_sweep(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

static int
summarize(char *err)
{
	const char *dirs[] = {dir};
	sim_sweep_summary_opts o = {.out = dir, .dirs = dirs, .n_dirs = 1, .plots = false};
	size_t failed = 99;
	int rc = sim_sweep_summarize(&o, &failed, err, ERR_SIZE);

	cr_assert(rc != 0 || failed == 1, "failed runs: %zu", failed);
	return rc;
}

static char *
read_out(const char *name)
{
	char path[512];
	static char buf[65536];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

Test(sweep, summary_of_v1_reports, .init = setup_sweep, .fini = teardown_sweep)
{
	char err[ERR_SIZE];
	const char *csv;

	cr_assert_eq(summarize(err), 0, "%s", err);
	csv = read_out("summary.csv");
	cr_assert_not_null(strstr(csv,
	                          "setting,overrides,metric,n,median,p5,p95,min,max,pass_rate\n"
	                          "0,x=1,c.offset_rms,3,2,1.1,2.9,1,3,\n"
	                          "0,x=1,c.steps,3,0,0,0,0,0,\n"
	                          "0,x=1,c.last_step,0,,,,,,\n"
	                          "0,x=1,c.adev@1s,3,1e-09,1e-09,1e-09,1e-09,1e-09,\n"
	                          "0,x=1,c.adev@10s,0,,,,,,\n"
	                          "0,x=1,c.tdev@1s,1,5e-07,5e-07,5e-07,5e-07,5e-07,\n"),
	                   "%s", csv);
	cr_assert_not_null(strstr(csv, "0,x=1,result,3,,,,,,0.666667\n"
	                               "0,x=1,\"check[0] rms c, a\",3,,,,,,0.666667\n"),
	                   "%s", csv);
	cr_assert_not_null(strstr(csv, "1,x=2,c.offset_rms,2,20,11,29,10,30,\n"), "%s", csv);
	cr_assert_not_null(strstr(csv, "1,x=2,result,2,,,,,,1\n"), "%s", csv);
	cr_assert_not_null(strstr(read_out("summary.md"), "| s1 | x=2 | 3 | 2 | 1 |"));
	cr_assert_not_null(strstr(read_out("summary.json"), "\"failed\": 1"));
}

Test(sweep, summary_names_a_bad_value_by_json_path, .init = setup_sweep, .fini = teardown_sweep)
{
	char err[ERR_SIZE];

	write_in_dir("runs/s0-seed2/report.json",
	             "{\"result\": \"pass\", \"checks\": [],\n"
	             " \"nodes\": [{\"name\": \"c\", \"metrics\": {\"offset_rms\": \"x\"}}]}\n");
	cr_assert_neq(summarize(err), 0);
	cr_assert_not_null(strstr(err,
	                          "s0-seed2/report.json: nodes[0].metrics.offset_rms: expected a "
	                          "number or null, got a string"),
	                   "%s", err);
}

Test(sweep, summary_names_a_broken_file_by_line_and_column, .init = setup_sweep,
     .fini = teardown_sweep)
{
	char err[ERR_SIZE];

	write_in_dir("runs/s1-seed1/report.json", "{\"result\": \"pass\",\n \"checks\": [,]}\n");
	cr_assert_neq(summarize(err), 0);
	cr_assert_not_null(strstr(err, "s1-seed1/report.json:2:"), "%s", err);
}

Test(sweep, summary_names_a_missing_run, .init = setup_sweep, .fini = teardown_sweep)
{
	char err[ERR_SIZE], path[512];

	snprintf(path, sizeof(path), "%s/runs/s1-seed2/report.json", dir);
	unlink(path);
	cr_assert_neq(summarize(err), 0);
	cr_assert_not_null(strstr(err, "run s1-seed2 (setting 1, seed 2) is missing"), "%s", err);
}

Test(sweep, summary_refuses_a_metric_twice_in_one_report, .init = setup_sweep,
     .fini = teardown_sweep)
{
	char err[ERR_SIZE];

	/* two nodes named c: two values of c.offset_rms for one run */
	write_in_dir("runs/s0-seed2/report.json",
	             "{\"result\": \"pass\", \"checks\": [],\n"
	             " \"nodes\": [{\"name\": \"c\", \"metrics\": {\"offset_rms\": 1}},\n"
	             "            {\"name\": \"c\", \"metrics\": {\"offset_rms\": 2}}]}\n");
	cr_assert_neq(summarize(err), 0);
	cr_assert_not_null(strstr(err, "s0-seed2/report.json: nodes[1].metrics.offset_rms: "
	                               "c.offset_rms given twice in this report"),
	                   "%s", err);
}

Test(sweep, summary_refuses_a_bad_sweep_json, .init = setup_sweep, .fini = teardown_sweep)
{
	static const char *const cases[][2] = {
	        {"\"seeds\": [1, -2, 3], \"settings\": [{\"index\": 0, \"overrides\": []}]",
	         "sweep.json: seeds[1]: expected an integer >= 0"},
	        {"\"seeds\": [1, 3, 1], \"settings\": [{\"index\": 0, \"overrides\": []}]",
	         "sweep.json: seeds: seed 1 given twice"},
	        {"\"seeds\": [1], \"settings\": [{\"index\": 0, \"overrides\": [7]}]",
	         "sweep.json: settings[0].overrides[0]: expected a string"},
	        {"\"seeds\": [1], \"settings\": [{\"index\": 1, \"overrides\": []}]",
	         "sweep.json: settings[0].index: expected 0"},
	};
	char err[ERR_SIZE], text[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "{\"sweep\": 1, %s}\n", cases[i][0]);
		write_in_dir("sweep.json", text);
		cr_assert_neq(summarize(err), 0, "%s", text);
		cr_assert_not_null(strstr(err, cases[i][1]), "%s: %s", text, err);
	}
}
