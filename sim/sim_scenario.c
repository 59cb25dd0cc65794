/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The scenario loader: libyaml's document API gives a tree with marks;
 * each object of the format has a parse function that walks one mapping,
 * accepts only the fields it knows (with a "did you mean" for typos) and
 * converts every value with its unit.  An error skips the part it is in
 * and the load goes on, so that one run names every mistake
 * (sim_scenario_load.h).
 *
 * Bounded work on any input: the file size and the nesting depth are
 * capped before libyaml builds its tree, the walk only descends where the
 * schema does, lists are capped, and a budget caps the nodes visited
 * (aliases can make a small file name the same subtree many times).
 *
 * This file: the public API, the top level and real: of the format
 * (docs/scenarios.md, "Top level"); sim_scenario_load.h lists the files
 * that load the other parts.
 */
#include "sim_scenario.h"

#include <ctype.h>
#include <limits.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "ntp_units.h"
#include "sim_scenario_load.h"

#define MAX_FILE_BYTES (4 << 20) /* B, a scenario file (ours: 400x the largest catalogue file) */
#define MAX_NESTING                                                                                \
	64 /* mappings and lists inside each other (ours; the format                               \
	      uses 6, libyaml's scanner slows with the square of it) */
#define DEFAULT_START_NS INT64_C(1735689600000000000) /* 2025-01-01 00:00:00 UTC */
/* ------------------------------------------------------------------ */
/* the real world's settings (realnet, python3 -m realnet)            */

#define REAL_TIME_SCALE_MAX 1e4 /* ratio; ours: beyond it, minpoll 3 would become sub-ms polls */

/* real: {impl: {NODE: IMPL, ...}}: a node name, replica name or template
 * name per entry, as realnet's --impl NODE=IMPL takes them. */
static int
load_real_impls(loader *ld, const yaml_node_t *n)
{
	if (ld_expect_mapping(ld, n, "a mapping of node names to implementations") != 0) {
		return -1;
	}
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key), *v = ld_get(ld, pr->value);
		const char *name = k == NULL ? NULL : ld_scalar(ld, k, "a node name");
		char impl[SIM_IMPL_MAX];
		sim_range r;

		if (name == NULL) {
			continue;
		}
		if (sim_scenario_find(ld->sc, name, &r) != 0) {
			ld_fail(ld, k, "no node named '%.40s'", name);
			continue;
		}
		ld_get_impl(ld, v, sim_scenario_tmpl(ld->sc, r.first)->kind, impl);
		if (ld->fatal) {
			return -1;
		}
	}
	return 0;
}

static int
get_real_impls(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	(void)obj;
	(void)ctx;
	return load_real_impls(ld, v);
}

/* time_scale: a number in [1, REAL_TIME_SCALE_MAX] (its own message: what it means) */
static int
get_time_scale(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	sim_scenario *sc = obj;
	int rc = ld_get_number(ld, v, &sc->real_time_scale);

	(void)ctx;
	if (rc == 0 &&
	    !(sc->real_time_scale >= 1.0 && sc->real_time_scale <= REAL_TIME_SCALE_MAX)) {
		return ld_fail(ld, v,
		               "time_scale divides every time of the scenario for the real world: "
		               "expected 1 to %g, got %g",
		               REAL_TIME_SCALE_MAX, sc->real_time_scale);
	}
	return rc;
}

/* real: (docs/scenarios.md, "The real world") */
static const ld_field real_fields[] = {
        {.key = "impl", .type = LD_FT_CUSTOM, .get = get_real_impls},
        {.key = "time_scale", .type = LD_FT_CUSTOM, .get = get_time_scale},
        {.key = NULL},
};

static int
load_real(loader *ld, const yaml_node_t *n)
{
	uint64_t seen = 0;

	if (ld_expect_mapping(ld, n, "the real world's settings (impl, time_scale)") != 0) {
		return -1;
	}
	return ld_read_fields(ld, n, real_fields, ld->sc, NULL, "real", &seen);
}

/* ------------------------------------------------------------------ */
/* top level                                                           */

enum {
	TK_NAME,
	TK_DESCRIPTION,
	TK_SEED,
	TK_START,
	TK_DURATION,
	TK_SAMPLE,
	TK_SYNC_BOUND,
	TK_SETTLE,
	TK_NETWORK,
	TK_NODES,
	TK_FIREWALL,
	TK_EVENTS,
	TK_CHECKS,
	TK_REAL,
	TK_DNS,
	TK_LEAPS,
	TK_COUNT
};

/* The top level's keys, read by table into the array of their value
 * nodes (row TK_X: val[TK_X]); the values are read after, in an order of
 * their own (load_top_values: settle is judged against duration; the
 * sections: nodes first, checks last). */
#define TOP(k, i)                                                                                  \
	{                                                                                          \
		.key = (k), .type = LD_FT_NODE, .off = (i) * sizeof(yaml_node_t *),                \
		.size = sizeof(yaml_node_t *)                                                      \
	}

static const ld_field top_fields[] = {
        TOP("name", TK_NAME),
        TOP("description", TK_DESCRIPTION),
        TOP("seed", TK_SEED),
        TOP("start", TK_START),
        TOP("duration", TK_DURATION),
        TOP("sample_interval", TK_SAMPLE),
        TOP("sync_bound", TK_SYNC_BOUND),
        TOP("settle", TK_SETTLE),
        TOP("network", TK_NETWORK),
        TOP("nodes", TK_NODES),
        TOP("firewall", TK_FIREWALL),
        TOP("events", TK_EVENTS),
        TOP("checks", TK_CHECKS),
        TOP("real", TK_REAL),
        TOP("dns", TK_DNS),
        TOP("leaps", TK_LEAPS),
        {.key = NULL},
};

/* One entry of `leaps:`: its keys by table (value nodes), then read in
 * order: the day first, as the messages name it. */
typedef struct leap_nodes {
	const yaml_node_t *day, *step;
} leap_nodes;

static const ld_field leap_fields[] = {
        {.key = "day", .type = LD_FT_NODE, LD_MEMBER(leap_nodes, day)},
        {.key = "step", .type = LD_FT_NODE, LD_MEMBER(leap_nodes, step)},
        {.key = NULL},
};

/* One entry of `leaps:`, {day: 2016-12-31, step: 1}: the day that ends
 * with the leap, and +1 (inserted) or -1 (deleted). */
static void
load_leap(loader *ld, const yaml_node_t *item, ntp_leap_table *t)
{
	leap_nodes nd = {NULL, NULL};
	uint64_t seen = 0;
	long long ns = 0, st = 0;
	const char *s;

	if (ld_expect_mapping(ld, item, "a leap ({day: YYYY-MM-DD, step: 1 or -1})") != 0) {
		return;
	}
	/* a wrong key is reported and the entry still read: the rules below are
	 * this function's (one message for both keys missing) */
	ld_read_fields(ld, item, leap_fields, &nd, NULL, "a leap", &seen);
	if (nd.day == NULL || nd.step == NULL) {
		ld_fail(ld, item, "a leap needs 'day' (the day it ends) and 'step' (1 or -1)");
		return;
	}
	s = ld_scalar(ld, nd.day, "a date YYYY-MM-DD");
	if (s == NULL || ntp_parse_utc(s, &ns) != 0 || ns % (NTP_S_PER_DAY * NTP_NS_PER_S) != 0) {
		ld_fail(ld, nd.day, "expected a date such as 2016-12-31 (the day the leap ends)");
		return;
	}
	if (ld_get_int(ld, nd.step, -1, 1, &st) != 0) {
		return;
	}
	if (st == 0) {
		ld_fail(ld, nd.step, "expected 1 (a second inserted) or -1 (deleted)");
		return;
	}
	if (!ntp_leap_add(t, ns / NTP_NS_PER_S + NTP_S_PER_DAY, (int)st)) {
		ld_fail(ld, item, "leaps must be listed in time order, at most %d",
		        NTP_LEAP_MAX_ENTRIES);
	}
}

/* `leaps:` the true leap seconds of the run, in place of the real (IERS)
 * ones; an empty list: none. */
static int
load_leaps(loader *ld, const yaml_node_t *n)
{
	sim_scenario *sc = ld->sc;
	unsigned errors = ld->n_errors;

	if (ld_expect_sequence(ld, n, "a list of leaps ({day: 2016-12-31, step: 1})") != 0) {
		return -1;
	}
	sc->leaps = malloc(sizeof(*sc->leaps));
	if (sc->leaps == NULL) {
		return ld_fatal(ld, n, "out of memory");
	}
	ntp_leap_init(sc->leaps, "leaps");
	for (size_t i = 0; i < ld_seq_len(n) && !ld->fatal; i++) {
		size_t mark = ld_path_index(ld, i);

		load_leap(ld, ld_seq_item(ld, n, i), sc->leaps);
		ld_path_restore(ld, mark);
	}
	return ld_errors_since(ld, errors);
}

/* The sections after the nodes, in the order they load: the firewall's
 * rules are named by events, and checks come last. */
static const struct {
	int key;
	int (*load)(loader *ld, const yaml_node_t *n);
} SECTIONS[] = {
        {TK_NETWORK, ld_load_network}, {TK_FIREWALL, ld_load_firewall}, {TK_EVENTS, ld_load_events},
        {TK_REAL, load_real},          {TK_CHECKS, ld_load_checks},     {TK_LEAPS, load_leaps},
};

/* The top level's plain values: name, description, seed, start,
 * duration, sample_interval, sync_bound, settle.  An error in one does not
 * stop the others. */
static void
load_top_values(loader *ld, yaml_node_t *const val[TK_COUNT])
{
	sim_scenario *sc = ld->sc;
	size_t mark;
	long long ll;
	double d;
	const char *s;

	if (val[TK_NAME] != NULL) {
		mark = ld_path_key(ld, "name");
		ld_get_text(ld, val[TK_NAME], sc->name, sizeof(sc->name), "a scenario name");
		ld_path_restore(ld, mark);
	}
	if (val[TK_DESCRIPTION] != NULL) {
		s = ld_scalar(ld, val[TK_DESCRIPTION], "text");
		if (s != NULL && (sc->description = strdup(s)) == NULL) {
			ld_fatal(ld, val[TK_DESCRIPTION], "out of memory");
		}
	}
	if (val[TK_SEED] != NULL) {
		mark = ld_path_key(ld, "seed");
		s = ld_scalar(ld, val[TK_SEED], "an integer seed");
		if (s != NULL && ntp_parse_int(s, 0, LLONG_MAX, &ll) == 0) {
			sc->seed = (uint64_t)ll;
		} else if (s != NULL) {
			ld_fail(ld, val[TK_SEED], "expected a seed from 0 to %lld", LLONG_MAX);
		}
		ld_path_restore(ld, mark);
	}
	if (val[TK_START] != NULL) {
		mark = ld_path_key(ld, "start");
		s = ld_scalar(ld, val[TK_START], "a UTC date");
		if (s != NULL && ntp_parse_utc(s, &ll) == 0) {
			sc->start_ns = ll;
		} else if (s != NULL) {
			ld_fail(ld, val[TK_START],
			        "expected a UTC time such as 2025-01-01T00:00:00Z or seconds "
			        "since 1970");
		}
		ld_path_restore(ld, mark);
	}
	/* sc->duration stays 0 unless valid: the checks of times against the
	 * end of the run are skipped then, not repeated for every time. */
	if (val[TK_DURATION] != NULL) {
		mark = ld_path_key(ld, "duration");
		if (ld_get_duration(ld, val[TK_DURATION], &d) == 0 &&
		    ld_check_range(ld, val[TK_DURATION], d, 1e-3, 1e9, "s") == 0) {
			sc->duration = d;
		}
		ld_path_restore(ld, mark);
	}
	if (val[TK_SAMPLE] != NULL) {
		mark = ld_path_key(ld, "sample_interval");
		if (ld_get_time_nonneg(ld, val[TK_SAMPLE], &d) == 0) {
			if (d > 0.0 && d < 1e-3) {
				ld_fail(ld, val[TK_SAMPLE], "expected 0 (off) or at least 1 ms");
			} else {
				sc->sample_interval = d;
			}
		}
		ld_path_restore(ld, mark);
	}
	if (val[TK_SYNC_BOUND] != NULL) {
		mark = ld_path_key(ld, "sync_bound");
		ld_get_time_nonneg(ld, val[TK_SYNC_BOUND], &sc->sync_bound);
		ld_path_restore(ld, mark);
	}
	if (val[TK_SETTLE] != NULL) {
		mark = ld_path_key(ld, "settle");
		if (ld_get_time_nonneg(ld, val[TK_SETTLE], &d) == 0) {
			/* metrics over an empty part would be silently null */
			if (sc->duration > 0.0 && d >= sc->duration) {
				ld_fail(ld, val[TK_SETTLE],
				        "settle %g s is not before the end of the run (%g s)", d,
				        sc->duration);
			} else {
				sc->settle = d;
			}
		}
		ld_path_restore(ld, mark);
	}
}

static int
load_top(loader *ld, const yaml_node_t *root)
{
	yaml_node_t *val[TK_COUNT] = {NULL};
	uint64_t seen = 0;
	size_t mark;

	if (root == NULL) {
		return ld_fail(ld, NULL,
		               "empty scenario (expected a mapping with nodes and duration)");
	}
	if (ld_expect_mapping(ld, root, "a scenario (name, duration, nodes, ...)") != 0) {
		return -1;
	}
	ld_read_fields(ld, root, top_fields, val, NULL, "the scenario", &seen);
	if (ld->fatal) {
		return -1;
	}
	load_top_values(ld, val);
	if (val[TK_DURATION] == NULL) {
		ld_fail(ld, root, "the scenario needs 'duration' (how long to simulate)");
	}
	if (val[TK_NODES] == NULL) {
		return ld_fail(ld, root, "the scenario needs 'nodes'");
	}
	mark = ld_path_key(ld, "nodes");
	ld_load_nodes(ld, val[TK_NODES]);
	ld_path_restore(ld, mark);
	/* Without a single node every reference below would fail again. */
	if (ld->fatal || ld->sc->n_nodes == 0) {
		return -1;
	}
	/* dns names join the node names before the confs are resolved */
	if (val[TK_DNS] != NULL) {
		mark = ld_path_key(ld, "dns");
		ld_load_dns(ld, val[TK_DNS]);
		ld_path_restore(ld, mark);
	}
	ld_resolve_confs(ld);
	for (size_t i = 0; i < sizeof SECTIONS / sizeof SECTIONS[0] && !ld->fatal; i++) {
		const yaml_node_t *v = val[SECTIONS[i].key];

		if (v == NULL) {
			continue;
		}
		mark = ld_path_key(ld, top_fields[SECTIONS[i].key].key);
		SECTIONS[i].load(ld, v);
		ld_path_restore(ld, mark);
	}
	return ld->failed ? -1 : 0;
}

static void
scenario_defaults(sim_scenario *sc, const char *file)
{
	const char *base = strrchr(file, '/');
	char *dot;

	memset(sc, 0, sizeof(*sc));
	snprintf(sc->file, sizeof(sc->file), "%s", file);
	snprintf(sc->name, sizeof(sc->name), "%s", base != NULL ? base + 1 : file);
	ld_utf8_trim(sc->name); /* a long file name, cut */
	dot = strrchr(sc->name, '.');
	if (dot != NULL && dot != sc->name) {
		*dot = '\0';
	}
	sc->seed = 1;
	sc->start_ns = DEFAULT_START_NS;
	sc->sync_bound = SYNC_BOUND_DEFAULT;
	sc->settle = -1.0;
	netem_link_params_init(&sc->net_default);
}

static void
syntax_error(loader *ld, const yaml_parser_t *parser)
{
	char line[512];

	snprintf(line, sizeof(line), "%s:%lu:%lu: YAML syntax error: %s%s%s", ld->file,
	         (unsigned long)parser->problem_mark.line + 1,
	         (unsigned long)parser->problem_mark.column + 1,
	         parser->problem != NULL ? parser->problem : "unknown",
	         parser->context != NULL ? " " : "",
	         parser->context != NULL ? parser->context : "");
	ld_add_error(ld, line);
	ld->fatal = true;
}

/* Refuse deep nesting before libyaml builds its tree.  Its scanner keeps
 * a possible simple key per open flow collection and walks all of them
 * for every token (yaml_parser_stale_simple_keys), so 100,000 nested '['
 * take ~50 s and 200,000 do not finish.  The event stream is made token
 * by token, so counting start events stops the scanner at the limit,
 * after a few hundred bytes.  The first document only, as
 * yaml_parser_load reads. */
static int
check_nesting(loader *ld)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int depth = 0;
	bool done = false;

	if (!yaml_parser_initialize(&parser)) {
		return ld_fatal(ld, NULL, "out of memory");
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)ld->buf, ld->len);
	while (!done && !ld->fatal) {
		if (!yaml_parser_parse(&parser, &ev)) {
			syntax_error(ld, &parser);
			break;
		}
		if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
			if (++depth > MAX_NESTING) {
				yaml_node_t at = {.start_mark = ev.start_mark};

				ld_fatal(ld, &at,
				         "lists and mappings nested more than %d deep (a scenario "
				         "needs at most 6); is a bracket or an indent wrong?",
				         MAX_NESTING);
			}
		} else if (ev.type == YAML_SEQUENCE_END_EVENT ||
		           ev.type == YAML_MAPPING_END_EVENT) {
			depth--;
		} else if (ev.type == YAML_DOCUMENT_END_EVENT || ev.type == YAML_STREAM_END_EVENT) {
			done = true;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return ld->fatal ? -1 : 0;
}

/* Parse the bounded text into ld->doc and walk it.  Returns 0 or -1. */
static int
load_text(loader *ld)
{
	yaml_parser_t parser;
	int rc;

	if (ld->len > MAX_FILE_BYTES) {
		yaml_node_t at = {.start_mark = {0}};

		return ld_fatal(ld, &at, "file larger than %d bytes (%d MiB), ntpsim's limit",
		                MAX_FILE_BYTES, MAX_FILE_BYTES >> 20);
	}
	if (check_nesting(ld) != 0) {
		return -1;
	}
	if (!yaml_parser_initialize(&parser)) {
		return ld_fatal(ld, NULL, "out of memory");
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)ld->buf, ld->len);
	if (!yaml_parser_load(&parser, &ld->doc)) {
		syntax_error(ld, &parser);
		yaml_parser_delete(&parser);
		return -1;
	}
	rc = ld_apply_overrides(ld, ld->ov, ld->n_ov);
	if (rc == 0) {
		rc = load_top(ld, yaml_document_get_root_node(&ld->doc));
	}
	yaml_document_delete(&ld->doc);
	yaml_parser_delete(&parser);
	return rc;
}

/* The scenario file's identity in reports: SHA-256 of its bytes, in hex. */
static void
hash_text(const char *buf, size_t len, char hex[65])
{
	struct sha256_ctx ctx;
	uint8_t d[SHA256_DIGEST_SIZE];

	sha256_init(&ctx);
	sha256_update(&ctx, len, (const uint8_t *)buf);
	sha256_digest(&ctx, sizeof(d), d);
	for (size_t i = 0; i < sizeof(d); i++) {
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	}
}

int
sim_scenario_load_buffer(sim_scenario *sc, const char *file, const char *buf, size_t len, char *err,
                         size_t errsize)
{
	return ld_load_buffer_set(sc, file, buf, len, NULL, 0, err, errsize);
}

int
ld_load_buffer_set(sim_scenario *sc, const char *file, const char *buf, size_t len,
                   const sim_override *ov, size_t n, char *err, size_t errsize)
{
	loader ld;
	int rc;

	scenario_defaults(sc, file);
	hash_text(buf, len, sc->sha256);
	memset(&ld, 0, sizeof(ld));
	ld.file = file;
	ld.buf = buf;
	ld.len = len;
	ld.err = err;
	ld.errsize = errsize;
	ld.sc = sc;
	ld.ov = ov;
	ld.n_ov = n;
	ld.dummy.type = YAML_SCALAR_NODE;
	ld.dummy.data.scalar.value = ld.blank;
	if (errsize > 0) {
		err[0] = '\0';
	}
	rc = load_text(&ld);
	if (rc != 0 || ld.failed) {
		ld_finish_errors(&ld);
		if (errsize > 0 && err[0] == '\0') {
			snprintf(err, errsize, "%s: invalid scenario", file);
		}
		sim_scenario_free(sc);
		return -1;
	}
	return 0;
}

int
sim_scenario_load_file(sim_scenario *sc, const char *path, char *err, size_t errsize)
{
	return sim_scenario_load_file_set(sc, path, NULL, 0, err, errsize);
}

int
sim_scenario_load_file_set(sim_scenario *sc, const char *path, const sim_override *ov, size_t n,
                           char *err, size_t errsize)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t len = 0, cap = 65536;
	int rc;

	if (f == NULL) {
		scenario_defaults(sc, path);
		snprintf(err, errsize, "%s: cannot open scenario file", path);
		return -1;
	}
	/* Read at most one byte past the limit: the loader refuses the rest. */
	buf = malloc(cap);
	while (buf != NULL && len <= MAX_FILE_BYTES) {
		size_t got = fread(buf + len, 1, cap - len, f);

		len += got;
		if (len < cap) {
			break;
		}
		{
			char *grown = realloc(buf, cap * 2);

			if (grown == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = grown;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf == NULL) {
		scenario_defaults(sc, path);
		snprintf(err, errsize, "%s: out of memory reading the file", path);
		return -1;
	}
	rc = ld_load_blamed(sc, path, buf, len, ov, n, err, errsize);
	free(buf);
	return rc;
}

/* "--set P=V" for each override that fails on its own, or for all of
 * them when only their combination does; "" when none is to blame. */
static void
blame(const char *file, const char *buf, size_t len, const sim_override *ov, size_t n, char *out,
      size_t size, char *scratch, size_t scratch_size)
{
	sim_scenario probe;
	size_t found = 0;

	out[0] = '\0';
	if (ld_load_buffer_set(&probe, file, buf, len, NULL, 0, scratch, scratch_size) != 0) {
		return; /* the file's own errors */
	}
	sim_scenario_free(&probe);
	for (int pass = 0; pass < 2 && found == 0; pass++) {
		for (size_t i = 0; i < n; i++) {
			if (pass == 0) {
				if (ld_load_buffer_set(&probe, file, buf, len, &ov[i], 1, scratch,
				                       scratch_size) == 0) {
					sim_scenario_free(&probe);
					continue;
				}
			}
			snprintf(out + strlen(out), size - strlen(out), "%s--set %s%s%s",
			         found++ > 0 ? " " : "", ov[i].path, ov[i].append ? "+=" : "=",
			         ov[i].value);
		}
	}
}

/* Each line of err as "PREFIX: line". */
static void
prefix_lines(char *err, size_t errsize, const char *prefix)
{
	char *copy = strdup(err);
	size_t len = 0;

	if (copy == NULL) {
		return;
	}
	err[0] = '\0';
	for (char *line = copy, *next; line != NULL && len + 1 < errsize; line = next) {
		next = strchr(line, '\n');
		if (next != NULL) {
			*next++ = '\0';
		}
		snprintf(err + len, errsize - len, "%s%s: %s", len > 0 ? "\n" : "", prefix, line);
		len = strlen(err);
	}
	free(copy);
}

int
ld_load_blamed(sim_scenario *sc, const char *file, const char *buf, size_t len,
               const sim_override *ov, size_t n, char *err, size_t errsize)
{
	char prefix[1024];
	char *scratch;

	if (ld_load_buffer_set(sc, file, buf, len, ov, n, err, errsize) == 0) {
		return 0;
	}
	if (n == 0 || errsize == 0 || strncmp(err, "--set ", 6) == 0) {
		return -1; /* no overrides, or a path that the error names already */
	}
	scratch = malloc(errsize);
	if (scratch == NULL) {
		return -1;
	}
	blame(file, buf, len, ov, n, prefix, sizeof(prefix), scratch, errsize);
	free(scratch);
	if (prefix[0] != '\0') {
		prefix_lines(err, errsize, prefix);
	}
	return -1;
}

int
sim_scenario_load_buffer_set(sim_scenario *sc, const char *file, const char *buf, size_t len,
                             const sim_override *ov, size_t n, char *err, size_t errsize)
{
	return ld_load_blamed(sc, file, buf, len, ov, n, err, errsize);
}

void
sim_scenario_free(sim_scenario *sc)
{
	for (size_t i = 0; i < sc->n_nodes; i++) {
		free(sc->nodes[i].conf);
		free(sc->nodes[i].conf_text);
		free(sc->nodes[i].keys);
		free(sc->nodes[i].keys_text);
		free(sc->nodes[i].query_at);
		free(sc->nodes[i].leapfile);
		free(sc->nodes[i].leapfile_text);
	}
	/* ld_load_nodes may fail midway: the template being loaded is not
	 * counted but may own memory. */
	if (sc->nodes != NULL) {
		free(sc->nodes[sc->n_nodes].conf);
		free(sc->nodes[sc->n_nodes].conf_text);
		free(sc->nodes[sc->n_nodes].keys);
		free(sc->nodes[sc->n_nodes].keys_text);
		free(sc->nodes[sc->n_nodes].query_at);
		free(sc->nodes[sc->n_nodes].leapfile);
		free(sc->nodes[sc->n_nodes].leapfile_text);
	}
	free(sc->nodes);
	free(sc->leaps);
	for (size_t i = 0; i < sc->n_links + 1 && sc->links != NULL; i++) {
		free(sc->links[i].trace);
	}
	free(sc->links);
	free(sc->net_default_trace);
	free(sc->fw);
	free(sc->fw_line);
	ld_free_dns(sc);
	for (size_t i = 0; i < sc->n_events; i++) {
		free(sc->events[i].groups);
		free(sc->events[i].link.trace);
	}
	free(sc->events);
	free(sc->checks);
	free(sc->warnings);
	free(sc->description);
	memset(sc, 0, sizeof(*sc));
}
