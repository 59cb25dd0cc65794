/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for ntpsim sweep's decoders (sim/sim_sweep*.c,
 * sim/sim_scenario_set.c).  The first byte picks what the rest is:
 *   0  a --seeds list (sim_sweep_parse_seeds): an accepted list holds 1 to
 *      SIM_SWEEP_MAX_RUNS seeds, none twice, each <= INT64_MAX, and the
 *      seeds written back as "S1,S2,..." parse to the same list; a refusal
 *      is a terminated "--seeds '...'" message;
 *   1  a --shard K/N (sim_sweep_parse_shard): accepted means K < N <=
 *      SIM_SWEEP_MAX_RUNS, the same numbers strtoull reads from the text;
 *   2  a --set option (sim_sweep_add_set): an accepted one has a path and
 *      at least one value, and its values, commas escaped again and
 *      joined, give back the option's text;
 *   3  up to MAX_SETS --set options, one a line, applied to a fixed small
 *      scenario (SCENARIO below) through sim_scenario_load_buffer_set for
 *      each of the first MAX_SETTINGS settings: a refusal names the
 *      override ("--set ") or the file; an accepted scenario is
 *      consistent and its normalized JSON reads back;
 *   4  report.json texts separated by "\n%%\n", each one run (the first
 *      half of setting 0, the rest of setting 1) read by the summary's reader
 *      (sw_read_report_text): a refusal names the file and a JSON path or
 *      line:column; what a report gives is finite (null: no value), each
 *      metric and check at most once per report; a setting's statistics
 *      are finite and ordered min <= p5 <= median <= p95 <= max;
 *   5  a sweep.json (sw_read_spec_text): a refusal names the file; an
 *      accepted spec has seeds (integers >= 0, none twice) and settings
 *      (index = position, overrides: strings), at most SIM_SWEEP_MAX_RUNS
 *      runs.
 * Seeds: tests/fuzz/corpus/sweep/.
 */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_normalized.h"
#include "fuzz_support.h"
#include "sim_scenario.h"
#include "sim_sweep.h"
#include "sim_sweep_out.h"

#define ERR_SIZE     4096 /* B, an error message (ours) */
#define MAX_SETS     4    /* --set options of one input (ours) */
#define MAX_SETTINGS 6    /* settings loaded per input: keeps one execution cheap (ours) */
#define MAX_REPORTS  8    /* reports per input (ours) */
#define REPORT_SEP   "\n%%\n"

/* Small, but with what paths can name: a node name holding a dot, replicas,
 * a list of checks and events, a text (conf) to append to. */
static const char SCENARIO[] = "name: fuzz-sweep\n"
                               "duration: 10min\n"
                               "sample_interval: 1s\n"
                               "network:\n"
                               "  default: {delay: 1ms, jitter: 100us}\n"
                               "nodes:\n"
                               "  - name: srv.a\n"
                               "    address: 10.0.0.1\n"
                               "    conf: |\n"
                               "      server 127.127.1.0\n"
                               "      fudge 127.127.1.0 stratum 1\n"
                               "  - name: client\n"
                               "    count: 2\n"
                               "    discipline: ntpd\n"
                               "    clock: {offset: 0.1, freq: 10ppm}\n"
                               "    conf: |\n"
                               "      server srv.a iburst\n"
                               "events:\n"
                               "  - {at: 2min, do: step, node: client, by: 1s}\n"
                               "checks:\n"
                               "  - {check: synced, node: client, within: 5min}\n"
                               "  - {check: offset, node: client, after: 6min, max: 10ms}\n";

/* The rest of the input as a C string (ASan sees any read past it). */
static char *
text_of(const uint8_t *data, size_t size)
{
	char *t = malloc(size + 1);

	CHECK(t != NULL);
	memcpy(t, data, size);
	t[size] = '\0';
	return t;
}

static void
check_message(const char *err, const char *start)
{
	CHECK(memchr(err, '\0', ERR_SIZE) != NULL);
	CHECK(strncmp(err, start, strlen(start)) == 0);
}

/* ---- 0: --seeds ---- */

static void
fuzz_seeds(const char *list)
{
	char err[ERR_SIZE];
	uint64_t *seeds, *again, dup;
	size_t n, n_again;
	char *text;
	FILE *f;
	size_t len = 0;

	memset(err, 'x', sizeof err);
	if (sim_sweep_parse_seeds(list, &seeds, &n, err, sizeof err) != 0) {
		check_message(err, "--seeds '");
		free(seeds);
		return;
	}
	CHECK(n >= 1 && n <= SIM_SWEEP_MAX_RUNS);
	CHECK(sim_sweep_find_duplicate(seeds, n, &dup) == 0);
	f = open_memstream(&text, &len);
	CHECK(f != NULL);
	for (size_t i = 0; i < n; i++) {
		CHECK(seeds[i] <= INT64_MAX);
		fprintf(f, "%s%" PRIu64, i > 0 ? "," : "", seeds[i]);
	}
	CHECK(fclose(f) == 0);
	CHECK(sim_sweep_parse_seeds(text, &again, &n_again, err, sizeof err) == 0);
	CHECK(n_again == n && memcmp(again, seeds, n * sizeof *seeds) == 0);
	free(again);
	free(text);
	free(seeds);
}

/* ---- 1: --shard ---- */

static void
fuzz_shard(const char *s)
{
	char err[ERR_SIZE];
	size_t k, n;
	const char *slash = strchr(s, '/');

	memset(err, 'x', sizeof err);
	if (sim_sweep_parse_shard(s, &k, &n, err, sizeof err) != 0) {
		check_message(err, "--shard '");
		return;
	}
	CHECK(k < n && n <= SIM_SWEEP_MAX_RUNS && slash != NULL);
	CHECK(strtoull(s, NULL, 10) == k && strtoull(slash + 1, NULL, 10) == n);
}

/* ---- 2: one --set option ---- */

/* The option's text again: values with ',' as "\,", joined by ','. */
static char *
unsplit(const sim_sweep_axis *a)
{
	char *text;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	CHECK(f != NULL);
	fprintf(f, "%s%s", a->path, a->append ? "+=" : "=");
	for (size_t i = 0; i < a->n_values; i++) {
		fputs(i > 0 ? "," : "", f);
		for (const char *c = a->values[i]; *c != '\0'; c++) {
			fputs(*c == ',' ? "\\," : (char[]){*c, '\0'}, f);
		}
	}
	CHECK(fclose(f) == 0);
	return text;
}

static void
fuzz_set(const char *arg)
{
	sim_sweep_spec sp;
	char err[ERR_SIZE];
	char *text;

	memset(&sp, 0, sizeof sp);
	memset(err, 'x', sizeof err);
	if (sim_sweep_add_set(&sp, arg, err, sizeof err) != 0) {
		check_message(err, "--set '");
		sim_sweep_spec_free(&sp);
		return;
	}
	CHECK(sp.n_axes == 1 && sp.axes[0].path[0] != '\0' && sp.axes[0].n_values >= 1);
	text = unsplit(&sp.axes[0]);
	CHECK(strcmp(text, arg) == 0);
	free(text);
	sim_sweep_spec_free(&sp);
}

/* ---- 3: overrides applied to SCENARIO ---- */

static void
check_loaded(const sim_scenario *sc)
{
	CHECK(sc->n_nodes > 0 && sc->total_nodes > 0);
	for (size_t i = 0; i < sc->n_checks; i++) {
		CHECK(sc->checks[i].nodes.first <= sc->total_nodes);
		CHECK(sc->checks[i].nodes.count <= sc->total_nodes - sc->checks[i].nodes.first);
	}
	fuzz_check_normalized(sc);
}

static void
fuzz_overrides(char *lines)
{
	sim_sweep_spec sp;
	sim_override ov[MAX_SETS];
	char err[ERR_SIZE];
	size_t settings = 1;

	memset(&sp, 0, sizeof sp);
	for (char *line = lines, *next; line != NULL && sp.n_axes < MAX_SETS; line = next) {
		next = strchr(line, '\n');
		if (next != NULL) {
			*next++ = '\0';
		}
		if (sim_sweep_add_set(&sp, line, err, sizeof err) != 0) {
			break;
		}
		settings *= sp.axes[sp.n_axes - 1].n_values;
	}
	for (size_t k = 0; k < settings && k < MAX_SETTINGS && sp.n_axes > 0; k++) {
		sim_scenario sc;

		sim_sweep_setting(&sp, k, ov);
		memset(err, 'x', sizeof err);
		if (sim_scenario_load_buffer_set(&sc, "fuzz.yaml", SCENARIO, sizeof SCENARIO - 1,
		                                 ov, sp.n_axes, err, sizeof err) != 0) {
			CHECK(memchr(err, '\0', sizeof err) != NULL);
			CHECK(strncmp(err, "--set ", 6) == 0 || strncmp(err, "fuzz.yaml", 9) == 0);
			continue;
		}
		check_loaded(&sc);
		sim_scenario_free(&sc);
	}
	sim_sweep_spec_free(&sp);
}

/* ---- 4: reports ---- */

/* "report.json:" then "LINE:COL: not JSON" or " JSON-PATH: ..." */
static void
check_report_refusal(const char *err)
{
	const char *rest = err + strlen("report.json:");

	check_message(err, "report.json:");
	CHECK((rest[0] >= '0' && rest[0] <= '9') || (rest[0] == ' ' && rest[1] != '\0'));
}

static void
check_values(const sw_summary *s)
{
	for (size_t i = 0; i < s->n_m; i++) {
		for (size_t j = 0; j < s->m[i].cur.n; j++) {
			CHECK(isfinite(s->m[i].cur.v[j]));
		}
	}
}

static void
check_stats(const sw_summary *s, size_t k, size_t runs)
{
	for (size_t i = 0; i < s->n_m; i++) {
		const sw_stat *st = &s->m[i].by_setting[k];

		CHECK(st->n <= runs);
		if (st->n == 0) {
			continue;
		}
		CHECK(isfinite(st->min) && isfinite(st->max) && isfinite(st->median));
		CHECK(isfinite(st->p5) && isfinite(st->p95));
		CHECK(st->min <= st->p5 && st->p5 <= st->median);
		CHECK(st->median <= st->p95 && st->p95 <= st->max);
	}
	for (size_t i = 0; i < s->n_c; i++) {
		CHECK(s->c[i].n[k] <= runs && s->c[i].passed[k] <= s->c[i].n[k]);
	}
}

/* The next REPORT_SEP in p[0..n-1] (the text may hold NULs), or NULL. */
static const char *
find_sep(const char *p, size_t n)
{
	size_t len = strlen(REPORT_SEP);

	for (size_t i = 0; i + len <= n; i++) {
		if (memcmp(p + i, REPORT_SEP, len) == 0) {
			return p + i;
		}
	}
	return NULL;
}

/* The reports of text, the first half runs of setting 0, the rest of
 * setting 1, read in order as sim_sweep_summarize reads them: a setting's
 * statistics once its runs are read; a refusal ends the summary. */
static void
fuzz_reports(const char *text, size_t len)
{
	sw_summary s;
	char err[ERR_SIZE];
	size_t parts = 1, runs = 0;
	const char *p = text, *end = text + len, *sep;

	for (const char *q = text; parts < MAX_REPORTS && (sep = find_sep(q, (size_t)(end - q)));
	     q = sep + strlen(REPORT_SEP)) {
		parts++;
	}
	memset(&s, 0, sizeof s);
	s.err = err;
	s.errsize = sizeof err;
	CHECK(sw_summary_init(&s, 2) == 0);
	for (size_t r = 0; r < parts; r++) {
		size_t n;

		sep = find_sep(p, (size_t)(end - p));
		n = sep != NULL && r + 1 < parts ? (size_t)(sep - p) : (size_t)(end - p);
		if (r == (parts + 1) / 2) {
			sw_finish_setting(&s);
			check_stats(&s, 0, runs);
			s.k = 1;
			runs = 0;
		}
		memset(err, 'x', sizeof err);
		if (sw_read_report_text(&s, "report.json", p, n) != 0) {
			check_report_refusal(err);
			sw_summary_free(&s);
			return;
		}
		runs++;
		check_values(&s);
		p += n + strlen(REPORT_SEP);
	}
	sw_finish_setting(&s);
	check_stats(&s, s.k, runs);
	sw_summary_free(&s);
}

/* ---- 5: sweep.json ---- */

static void
fuzz_spec(const char *text, size_t len)
{
	sw_summary s;
	char err[ERR_SIZE];
	uint64_t *seeds, dup;
	size_t n_seeds;

	memset(&s, 0, sizeof s);
	s.err = err;
	s.errsize = sizeof err;
	memset(err, 'x', sizeof err);
	if (sw_read_spec_text(&s, "sweep.json", text, len) != 0) {
		check_message(err, "sweep.json:");
		sw_summary_free(&s);
		return;
	}
	n_seeds = json_array_size(s.seeds);
	CHECK(n_seeds >= 1 && s.n_settings >= 1);
	CHECK(s.n_settings == json_array_size(s.settings));
	CHECK(s.n_settings * n_seeds <= SIM_SWEEP_MAX_RUNS);
	seeds = malloc(n_seeds * sizeof *seeds);
	CHECK(seeds != NULL);
	for (size_t i = 0; i < n_seeds; i++) {
		const json_t *v = json_array_get(s.seeds, i);

		CHECK(json_is_integer(v) && json_integer_value(v) >= 0);
		seeds[i] = (uint64_t)json_integer_value(v);
	}
	CHECK(sim_sweep_find_duplicate(seeds, n_seeds, &dup) == 0);
	free(seeds);
	for (size_t k = 0; k < s.n_settings; k++) {
		const json_t *set = json_array_get(s.settings, k);
		const json_t *list = json_object_get(set, "overrides");

		CHECK(json_integer_value(json_object_get(set, "index")) == (json_int_t)k);
		CHECK(json_is_array(list));
		for (size_t i = 0; i < json_array_size(list); i++) {
			CHECK(json_is_string(json_array_get(list, i)));
		}
	}
	sw_summary_free(&s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size == 0) {
		return 0;
	}
	text = text_of(data + 1, size - 1);
	switch (data[0] % 6) {
	case 0:
		fuzz_seeds(text);
		break;
	case 1:
		fuzz_shard(text);
		break;
	case 2:
		fuzz_set(text);
		break;
	case 3:
		fuzz_overrides(text);
		break;
	case 4:
		fuzz_reports(text, size - 1);
		break;
	default:
		fuzz_spec(text, size - 1);
		break;
	}
	free(text);
	return 0;
}
