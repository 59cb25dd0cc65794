/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The scenario loader: libyaml's document API gives a tree with marks;
 * each object of the format has a parse function that walks one mapping,
 * accepts only the fields it knows (with a "did you mean" for typos) and
 * converts every value with its unit.  The first error stops the load;
 * ntp.conf diagnostics of one node are reported together.
 *
 * Bounded work on any input: the walk only descends where the schema
 * does, lists are capped, and a budget caps the nodes visited (aliases
 * can make a small file name the same subtree many times).
 */
#include "sim_scenario.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "ntp_host.h"
#include "sim_units.h"

#define MAX_TEMPLATES          1024       /* node entries in a scenario (ours) */
#define VISIT_BUDGET           4000000    /* YAML nodes visited per load (ours) */
#define MAX_FILE_BYTES         (16 << 20) /* bytes of a scenario file (ours) */
#define MAX_TRACE_POINTS       1000000    /* delays of a TRACE distribution (ours) */
#define SYNC_BOUND_DEFAULT     1e-3 /* s, chrony's test.common: |offset| <= 1 ms means synced */
#define DEFAULT_START_NS       INT64_C(1735689600000000000) /* 2025-01-01 00:00:00 UTC */
#define PRECISION_DEFAULT      (-20) /* log2 s, ntpd's usual measured precision */
#define QUERY_SAMPLES_DEFAULT  4     /* ntpdate DEFSAMPLES */
#define QUERY_TIMEOUT_DEFAULT  1.0   /* s, ntpdate DEFTIMEOUT (5 ticks of 0.2 s) */
#define QUERY_INTERVAL_DEFAULT 1.0   /* s, between a server's requests (ours) */
#define WARNINGS_MAX           8192  /* bytes of warnings kept (ours) */

typedef struct loader {
	const char *file;
	yaml_document_t doc;
	char *err;
	size_t errsize;
	bool failed;
	char path[192];
	size_t path_len;
	unsigned long visits;
	size_t events_cap;
	yaml_node_t dummy; /* what get() hands out once the load has failed */
	sim_scenario *sc;
} loader;

/* ------------------------------------------------------------------ */
/* errors and paths                                                    */

static int fail(loader *ld, const yaml_node_t *n, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int
fail(loader *ld, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (ld->failed) {
		return -1;
	}
	ld->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n != NULL) {
		snprintf(ld->err, ld->errsize, "%s:%lu:%lu: %s%s%s", ld->file,
		         (unsigned long)n->start_mark.line + 1,
		         (unsigned long)n->start_mark.column + 1, ld->path,
		         ld->path_len > 0 ? ": " : "", msg);
	} else {
		snprintf(ld->err, ld->errsize, "%s: %s%s%s", ld->file, ld->path,
		         ld->path_len > 0 ? ": " : "", msg);
	}
	return -1;
}

static void warn(sim_scenario *sc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
warn(sim_scenario *sc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	size_t len;
	char *grown;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	len = strlen(msg);
	if (sc->warnings_len + len + 2 > WARNINGS_MAX) {
		return;
	}
	grown = realloc(sc->warnings, sc->warnings_len + len + 2);
	if (grown == NULL) {
		return;
	}
	sc->warnings = grown;
	memcpy(sc->warnings + sc->warnings_len, msg, len);
	sc->warnings_len += len;
	sc->warnings[sc->warnings_len++] = '\n';
	sc->warnings[sc->warnings_len] = '\0';
}

/* Append ".key" or "[i]" to the path; returns the length to restore. */
static size_t
path_key(loader *ld, const char *key)
{
	size_t old = ld->path_len;

	snprintf(ld->path + old, sizeof(ld->path) - old, "%s%s", old > 0 ? "." : "", key);
	ld->path_len = strlen(ld->path);
	return old;
}

static size_t
path_index(loader *ld, size_t i)
{
	size_t old = ld->path_len;

	snprintf(ld->path + old, sizeof(ld->path) - old, "[%zu]", i);
	ld->path_len = strlen(ld->path);
	return old;
}

static void
path_restore(loader *ld, size_t old)
{
	ld->path_len = old;
	ld->path[old] = '\0';
}

/* ------------------------------------------------------------------ */
/* node access                                                         */

/* Never NULL: past the budget (or on a bad id) the load has failed and a
 * blank scalar stands in, so callers unwind through ordinary errors. */
static yaml_node_t *
get(loader *ld, int id)
{
	yaml_node_t *n;

	if (++ld->visits > VISIT_BUDGET) {
		fail(ld, NULL, "scenario too large or too deeply aliased (over %d YAML nodes)",
		     VISIT_BUDGET);
		return &ld->dummy;
	}
	n = yaml_document_get_node(&ld->doc, id);
	if (n == NULL) {
		fail(ld, NULL, "malformed YAML document");
		return &ld->dummy;
	}
	return n;
}

static const char *
scalar(loader *ld, const yaml_node_t *n, const char *what)
{
	if (n == NULL) {
		fail(ld, NULL, "missing value");
		return NULL;
	}
	if (n->type != YAML_SCALAR_NODE) {
		fail(ld, n, "expected %s, got a %s", what,
		     n->type == YAML_MAPPING_NODE ? "mapping" : "list");
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

static int
expect_mapping(loader *ld, const yaml_node_t *n, const char *what)
{
	if (n == NULL || n->type != YAML_MAPPING_NODE) {
		return fail(ld, n, "expected %s (a mapping of field: value)", what);
	}
	return 0;
}

static int
expect_sequence(loader *ld, const yaml_node_t *n, const char *what)
{
	if (n == NULL || n->type != YAML_SEQUENCE_NODE) {
		return fail(ld, n, "expected %s (a list)", what);
	}
	if (n->data.sequence.items.top - n->data.sequence.items.start > SIM_MAX_ITEMS) {
		return fail(ld, n, "list too long (more than %d entries)", SIM_MAX_ITEMS);
	}
	return 0;
}

static size_t
seq_len(const yaml_node_t *n)
{
	return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static yaml_node_t *
seq_item(loader *ld, const yaml_node_t *n, size_t i)
{
	return get(ld, n->data.sequence.items.start[i]);
}

static size_t
levenshtein(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[40];

	if (la >= 39 || lb >= 39) {
		return 99;
	}
	for (size_t j = 0; j <= lb; j++) {
		row[j] = j;
	}
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] == b[j - 1] ? 0 : 1);

			if (up + 1 < best) {
				best = up + 1;
			}
			if (row[j - 1] + 1 < best) {
				best = row[j - 1] + 1;
			}
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/* Index of key in the NULL-terminated list, or an error naming the
 * fields that exist; a field seen twice is an error too. */
static int
key_index(loader *ld, const yaml_node_t *k, const char *const *keys, uint64_t *seen,
          const char *where)
{
	const char *key = scalar(ld, k, "a field name");
	char list[512] = "";
	const char *best = NULL;
	size_t best_d = 3;

	if (key == NULL) {
		return -1;
	}
	for (int i = 0; keys[i] != NULL; i++) {
		if (strcmp(key, keys[i]) == 0) {
			if (*seen & (UINT64_C(1) << i)) {
				return fail(ld, k, "field '%s' given twice", key);
			}
			*seen |= UINT64_C(1) << i;
			return i;
		}
	}
	for (int i = 0; keys[i] != NULL; i++) {
		size_t d = levenshtein(key, keys[i]);

		if (d < best_d) {
			best_d = d;
			best = keys[i];
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
		         keys[i]);
	}
	if (best != NULL) {
		return fail(ld, k, "unknown field '%.40s' in %s (did you mean '%s'?)", key, where,
		            best);
	}
	return fail(ld, k, "unknown field '%.40s' in %s (fields: %s)", key, where, list);
}

#define FOR_PAIRS(n, pr)                                                                           \
	for (yaml_node_pair_t *pr = (n)->data.mapping.pairs.start;                                 \
	     pr < (n)->data.mapping.pairs.top; pr++)

/* The discriminating field of a mapping (an event's "do", a check's
 * "check") as an index into names.  Returns the index, -1 after reporting
 * an error (unknown value, with a suggestion), or -2 when the field is absent. */
static int
discriminator(loader *ld, const yaml_node_t *n, const char *key, const char *const *names,
              const char *what)
{
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = get(ld, pr->key), *v = get(ld, pr->value);
		uint64_t seen = 0;
		size_t mark;
		int i;

		if (k == NULL || v == NULL) {
			return -1;
		}
		if (k->type != YAML_SCALAR_NODE || strcmp((const char *)k->data.scalar.value, key) != 0) {
			continue;
		}
		mark = path_key(ld, key);
		i = key_index(ld, v, names, &seen, what);
		if (i >= 0) {
			path_restore(ld, mark);
		}
		return i;
	}
	return -2;
}

/* ------------------------------------------------------------------ */
/* typed values                                                        */

static int
get_text(loader *ld, const yaml_node_t *n, char *buf, size_t size, const char *what)
{
	const char *s = scalar(ld, n, what);

	if (s == NULL) {
		return -1;
	}
	if (strlen(s) >= size) {
		return fail(ld, n, "too long (at most %zu characters)", size - 1);
	}
	memcpy(buf, s, strlen(s) + 1);
	return 0;
}

typedef int (*unit_parser)(const char *, double *);

static int
get_unit(loader *ld, const yaml_node_t *n, unit_parser parse, const char *expected, double *out)
{
	const char *s = scalar(ld, n, expected);

	if (s == NULL) {
		return -1;
	}
	if (parse(s, out) != 0) {
		return fail(ld, n, "expected %s, got '%.60s'", expected, s);
	}
	return 0;
}

static int
get_duration(loader *ld, const yaml_node_t *n, double *out)
{
	if (get_unit(ld, n, sim_parse_duration, "a time such as 1.5, 100ms, 2h", out) != 0) {
		return -1;
	}
	/* Keeps every true/raw time sum inside int64 ns (start <= 2150). */
	if (fabs(*out) > SIM_TIME_MAX) {
		return fail(ld, n, "time %g s too large (at most %g s)", *out, SIM_TIME_MAX);
	}
	return 0;
}

static int
get_time_nonneg(loader *ld, const yaml_node_t *n, double *out)
{
	if (get_duration(ld, n, out) != 0) {
		return -1;
	}
	if (*out < 0.0) {
		return fail(ld, n, "expected a time >= 0");
	}
	return 0;
}

static int
get_freq(loader *ld, const yaml_node_t *n, double *out)
{
	return get_unit(ld, n, sim_parse_freq, "a frequency such as 100ppm, 5ppb or 1e-4", out);
}

static int
get_prob(loader *ld, const yaml_node_t *n, double *out)
{
	return get_unit(ld, n, sim_parse_prob, "a probability such as 5% or 0.05", out);
}

static int
get_number(loader *ld, const yaml_node_t *n, double *out)
{
	return get_unit(ld, n, sim_parse_number, "a number", out);
}

static int
get_int(loader *ld, const yaml_node_t *n, long long min, long long max, long long *out)
{
	const char *s = scalar(ld, n, "an integer");

	if (s == NULL) {
		return -1;
	}
	if (sim_parse_int(s, min, max, out) != 0) {
		return fail(ld, n, "expected an integer from %lld to %lld, got '%.60s'", min, max,
		            s);
	}
	return 0;
}

static int
get_bool(loader *ld, const yaml_node_t *n, bool *out)
{
	const char *s = scalar(ld, n, "true or false");

	if (s == NULL) {
		return -1;
	}
	if (sim_parse_bool(s, out) != 0) {
		return fail(ld, n, "expected true or false, got '%.60s'", s);
	}
	return 0;
}

static int
check_range(loader *ld, const yaml_node_t *n, double v, double lo, double hi, const char *unit)
{
	if (v < lo || v > hi) {
		return fail(ld, n, "value %g %s out of range [%g, %g]", v, unit, lo, hi);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* node names and addresses                                            */

const sim_node_spec *
sim_scenario_tmpl(const sim_scenario *sc, uint32_t index)
{
	size_t lo = 0, hi = sc->n_nodes;

	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (sc->nodes[mid].first <= index) {
			lo = mid;
		} else {
			hi = mid;
		}
	}
	return &sc->nodes[lo];
}

char *
sim_scenario_node_name(const sim_scenario *sc, uint32_t index, char *buf, size_t size)
{
	const sim_node_spec *t = sim_scenario_tmpl(sc, index);

	if (t->count == 1) {
		snprintf(buf, size, "%s", t->name);
	} else {
		snprintf(buf, size, "%s%u", t->name, index - t->first + 1);
	}
	return buf;
}

static uint32_t
addr_low32(const ntp_addr *a)
{
	size_t off = a->family == NTP_AF_INET ? 0 : 12;

	return ((uint32_t)a->a[off] << 24) | ((uint32_t)a->a[off + 1] << 16) |
	       ((uint32_t)a->a[off + 2] << 8) | a->a[off + 3];
}

static bool
addr_add(ntp_addr *a, uint32_t k)
{
	size_t off = a->family == NTP_AF_INET ? 0 : 12;
	uint32_t v = ((uint32_t)a->a[off] << 24) | ((uint32_t)a->a[off + 1] << 16) |
	             ((uint32_t)a->a[off + 2] << 8) | a->a[off + 3];

	if (v > UINT32_MAX - k) {
		return false;
	}
	v += k;
	a->a[off] = (uint8_t)(v >> 24);
	a->a[off + 1] = (uint8_t)(v >> 16);
	a->a[off + 2] = (uint8_t)(v >> 8);
	a->a[off + 3] = (uint8_t)v;
	return true;
}

ntp_addr
sim_scenario_node_addr(const sim_scenario *sc, uint32_t index)
{
	const sim_node_spec *t = sim_scenario_tmpl(sc, index);
	ntp_addr a = t->addr;

	addr_add(&a, index - t->first);
	return a;
}

int
sim_scenario_find(const sim_scenario *sc, const char *name, sim_range *out)
{
	size_t len = strlen(name), digits = 0;

	for (size_t i = 0; i < sc->n_nodes; i++) {
		if (strcmp(sc->nodes[i].name, name) == 0) {
			out->first = sc->nodes[i].first;
			out->count = sc->nodes[i].count;
			return 0;
		}
	}
	while (digits < len && isdigit((unsigned char)name[len - 1 - digits])) {
		digits++;
	}
	if (digits == 0 || digits == len || digits > 9 || name[len - digits] == '0') {
		return -1;
	}
	for (size_t i = 0; i < sc->n_nodes; i++) {
		const sim_node_spec *t = &sc->nodes[i];
		unsigned long k;

		if (t->count < 2 || strlen(t->name) != len - digits ||
		    strncmp(t->name, name, len - digits) != 0) {
			continue;
		}
		k = strtoul(name + len - digits, NULL, 10);
		if (k >= 1 && k <= t->count) {
			out->first = t->first + (uint32_t)(k - 1);
			out->count = 1;
			return 0;
		}
	}
	return -1;
}

/* The node that owns an address, or -1. */
static long
owner_of(const sim_scenario *sc, const ntp_addr *a)
{
	for (size_t i = 0; i < sc->n_nodes; i++) {
		const sim_node_spec *t = &sc->nodes[i];
		ntp_addr x = t->addr;
		size_t off = a->family == NTP_AF_INET ? 0 : 12;
		uint32_t va, vx;

		if (x.family != a->family || memcmp(x.a, a->a, off) != 0) {
			continue;
		}
		va = ((uint32_t)a->a[off] << 24) | ((uint32_t)a->a[off + 1] << 16) |
		     ((uint32_t)a->a[off + 2] << 8) | a->a[off + 3];
		vx = ((uint32_t)x.a[off] << 24) | ((uint32_t)x.a[off + 1] << 16) |
		     ((uint32_t)x.a[off + 2] << 8) | x.a[off + 3];
		if (va >= vx && va - vx < t->count) {
			return (long)(t->first + (va - vx));
		}
	}
	return -1;
}

static int
get_node_ref(loader *ld, const yaml_node_t *n, sim_range *out, bool single)
{
	const char *s = scalar(ld, n, "a node name");

	if (s == NULL) {
		return -1;
	}
	if (sim_scenario_find(ld->sc, s, out) != 0) {
		return fail(ld, n, "no node named '%.40s' in this scenario", s);
	}
	if (single && out->count != 1) {
		return fail(ld, n, "'%.40s' names %u nodes; name one of them (%s1 .. %s%u)", s,
		            out->count, s, s, out->count);
	}
	return 0;
}

/* One node name or a list of them, into a single range (a list must be
 * contiguous; a template name stands for all its replicas). */
static int
get_node_list(loader *ld, const yaml_node_t *n, sim_range **out, size_t *count)
{
	size_t len = 1;

	if (n != NULL && n->type == YAML_SEQUENCE_NODE) {
		if (expect_sequence(ld, n, "node names") != 0) {
			return -1;
		}
		len = seq_len(n);
		if (len == 0) {
			return fail(ld, n, "expected at least one node name");
		}
	}
	*out = calloc(len, sizeof(**out));
	if (*out == NULL) {
		return fail(ld, n, "out of memory");
	}
	*count = len;
	if (n == NULL || n->type != YAML_SEQUENCE_NODE) {
		return get_node_ref(ld, n, &(*out)[0], false);
	}
	for (size_t i = 0; i < len; i++) {
		size_t mark = path_index(ld, i);
		int rc = get_node_ref(ld, seq_item(ld, n, i), &(*out)[i], false);

		path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	}
	return 0;
}

static int
get_address(loader *ld, const yaml_node_t *n, ntp_addr *out)
{
	const char *s = scalar(ld, n, "an IPv4 or IPv6 address");

	if (s == NULL) {
		return -1;
	}
	if (!ntp_addr_parse(s, out)) {
		return fail(ld, n, "expected a numeric IPv4 or IPv6 address, got '%.60s'", s);
	}
	out->port = 0;
	return 0;
}

/* "any", a node name, an address or an address/prefix. */
static int
get_fw_match(loader *ld, const yaml_node_t *n, ntp_addr *addr, ntp_addr *mask)
{
	const char *s = scalar(ld, n, "any, a node name, an address or a subnet");
	char buf[80];
	char *slash;
	sim_range r;

	memset(addr, 0, sizeof(*addr));
	memset(mask, 0, sizeof(*mask));
	if (s == NULL) {
		return -1;
	}
	if (strcmp(s, "any") == 0) {
		return 0;
	}
	if (sim_scenario_find(ld->sc, s, &r) == 0) {
		if (r.count != 1) {
			return fail(ld, n, "'%.40s' names %u nodes; use their subnet instead", s,
			            r.count);
		}
		*addr = sim_scenario_node_addr(ld->sc, r.first);
		return 0;
	}
	if (strlen(s) >= sizeof(buf)) {
		return fail(ld, n, "expected any, a node name, an address or a subnet");
	}
	memcpy(buf, s, strlen(s) + 1);
	slash = strchr(buf, '/');
	if (slash != NULL) {
		long long prefix;

		*slash = '\0';
		if (!ntp_addr_parse(buf, addr) ||
		    sim_parse_int(slash + 1, 0, addr->family == NTP_AF_INET ? 32 : 128, &prefix) !=
		            0) {
			return fail(ld, n,
			            "expected a subnet such as 192.168.163.0/24, got '%.60s'", s);
		}
		*mask = ntp_addr_mask_from_prefix(addr->family, (int)prefix);
		return 0;
	}
	if (!ntp_addr_parse(buf, addr)) {
		return fail(ld, n, "no node named '%.40s' and not an address or subnet", s);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* network links                                                       */

static int
dist_from_name(const char *s)
{
	for (int d = NETEM_DIST_CONSTANT; d <= NETEM_DIST_TRACE; d++) {
		if (strcmp(netem_dist_name(d), s) == 0) {
			return d;
		}
	}
	return -1;
}

static int
get_netem_string(loader *ld, const yaml_node_t *n, netem_link_params *p)
{
	char reason[200];
	const char *s = scalar(ld, n, "tc-netem parameters such as \"delay 1ms 100us\"");

	if (s == NULL) {
		return -1;
	}
	if (netem_link_parse(s, p, reason, sizeof(reason)) != 0) {
		return fail(ld, n, "bad tc-netem parameters: %s", reason);
	}
	return 0;
}

static int
get_trace(loader *ld, const yaml_node_t *n, double **trace, size_t *len)
{
	size_t count;

	if (expect_sequence(ld, n, "one-way delays") != 0) {
		return -1;
	}
	count = seq_len(n);
	if (count == 0 || count > MAX_TRACE_POINTS) {
		return fail(ld, n, "expected 1 to %d delays", MAX_TRACE_POINTS);
	}
	free(*trace);
	*trace = calloc(count, sizeof(double));
	if (*trace == NULL) {
		return fail(ld, n, "out of memory");
	}
	*len = count;
	for (size_t i = 0; i < count; i++) {
		size_t mark = path_index(ld, i);
		int rc = get_time_nonneg(ld, seq_item(ld, n, i), &(*trace)[i]);

		path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	}
	return 0;
}

static const char *const link_keys[] = {
        "netem",          "delay",   "jitter",       "delay_corr",  "dist",
        "trace",          "loss",    "loss_corr",    "gemodel",     "duplicate",
        "duplicate_corr", "reorder", "reorder_corr", "reorder_gap", "rate",
        "down",           "from",    "to",           "both",        NULL,
};

enum {
	LK_NETEM,
	LK_DELAY,
	LK_JITTER,
	LK_DELAY_CORR,
	LK_DIST,
	LK_TRACE,
	LK_LOSS,
	LK_LOSS_CORR,
	LK_GEMODEL,
	LK_DUP,
	LK_DUP_CORR,
	LK_REORDER,
	LK_REORDER_CORR,
	LK_GAP,
	LK_RATE,
	LK_DOWN,
	LK_FROM,
	LK_TO,
	LK_BOTH,
	LK_FIRST_OTHER
};

static int
get_gemodel(loader *ld, const yaml_node_t *n, netem_link_params *p)
{
	static const char *const keys[] = {"p", "r", "h", "k", NULL};
	double *dst[] = {&p->ge_p, &p->ge_r, &p->ge_h, &p->ge_k};
	uint64_t seen = 0;

	if (expect_mapping(ld, n, "Gilbert-Elliott parameters p, r, h, k") != 0) {
		return -1;
	}
	p->ge = true;
	p->ge_r = 1.0; /* tc's defaults: r = 1 - p ... keep what tc does without r */
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = get(ld, pr->key), *v = get(ld, pr->value);
		int i = key_index(ld, k, keys, &seen, "gemodel");

		if (i < 0 || get_prob(ld, v, dst[i]) != 0) {
			return -1;
		}
	}
	return 0;
}

/* Link fields of a mapping into p.  `extra` says which of from/to/both
 * may appear (for network.links entries and link events); the engine's
 * caller handles those. */
static int
get_link_fields(loader *ld, const yaml_node_t *n, netem_link_params *p, double **trace,
                bool allow_ends, const char *const *skip, const char *where)
{
	uint64_t seen = 0;
	char reason[200];

	/* The tc-netem string is the base the other fields modify. */
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = get(ld, pr->key);
		const char *key = k != NULL && k->type == YAML_SCALAR_NODE
		                          ? (const char *)k->data.scalar.value
		                          : "";

		if (strcmp(key, "netem") == 0) {
			size_t mark = path_key(ld, "netem");
			int rc = get_netem_string(ld, get(ld, pr->value), p);

			path_restore(ld, mark);
			if (rc != 0) {
				return -1;
			}
		}
	}
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = get(ld, pr->key), *v = get(ld, pr->value);
		int i;
		size_t mark;
		int rc = 0;
		double d;
		long long ll;

		if (skip != NULL && k->type == YAML_SCALAR_NODE) {
			bool skipped = false;

			for (int j = 0; skip[j] != NULL; j++) {
				skipped |= strcmp((const char *)k->data.scalar.value, skip[j]) == 0;
			}
			if (skipped) {
				continue;
			}
		}
		i = key_index(ld, k, link_keys, &seen, where);
		if (i < 0) {
			return -1;
		}
		if (i >= LK_FROM && !allow_ends) {
			return fail(ld, k, "field '%s' is not allowed here", link_keys[i]);
		}
		mark = path_key(ld, link_keys[i]);
		switch (i) {
		case LK_DELAY:
			rc = get_time_nonneg(ld, v, &p->delay);
			break;
		case LK_JITTER:
			rc = get_time_nonneg(ld, v, &p->jitter);
			break;
		case LK_DELAY_CORR:
			rc = get_prob(ld, v, &p->delay_corr);
			break;
		case LK_DIST: {
			const char *s = scalar(ld, v, "a distribution name");

			if (s == NULL) {
				rc = -1;
			} else if ((p->dist = dist_from_name(s)) < 0) {
				rc = fail(
				        ld, v,
				        "expected constant, uniform, normal, exponential, pareto, "
				        "paretonormal or trace, got '%.40s'",
				        s);
			}
			break;
		}
		case LK_TRACE:
			rc = get_trace(ld, v, trace, &p->trace_len);
			p->trace = *trace;
			p->dist = NETEM_DIST_TRACE;
			break;
		case LK_LOSS:
			rc = get_prob(ld, v, &p->loss);
			break;
		case LK_LOSS_CORR:
			rc = get_prob(ld, v, &p->loss_corr);
			break;
		case LK_GEMODEL:
			rc = get_gemodel(ld, v, p);
			break;
		case LK_DUP:
			rc = get_prob(ld, v, &p->duplicate);
			break;
		case LK_DUP_CORR:
			rc = get_prob(ld, v, &p->duplicate_corr);
			break;
		case LK_REORDER:
			rc = get_prob(ld, v, &p->reorder);
			break;
		case LK_REORDER_CORR:
			rc = get_prob(ld, v, &p->reorder_corr);
			break;
		case LK_GAP:
			rc = get_int(ld, v, 0, 1000000, &ll);
			p->reorder_gap = (int)ll;
			break;
		case LK_RATE:
			rc = get_unit(ld, v, sim_parse_rate, "a rate such as 1mbit or 100kbit", &d);
			p->rate = d;
			break;
		case LK_DOWN:
			rc = get_bool(ld, v, &p->down);
			break;
		default:
			break; /* netem done above; from/to/both by the caller */
		}
		path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	}
	if (netem_link_params_check(p, reason, sizeof(reason)) != 0) {
		return fail(ld, n, "bad link parameters: %s", reason);
	}
	return 0;
}

/* A link given as a tc-netem string or a mapping of fields. */
static int
get_link_params(loader *ld, const yaml_node_t *n, netem_link_params *p, double **trace,
                bool allow_ends, const char *where)
{
	char reason[200];

	netem_link_params_init(p);
	if (n != NULL && n->type == YAML_SCALAR_NODE) {
		if (get_netem_string(ld, n, p) != 0) {
			return -1;
		}
		if (netem_link_params_check(p, reason, sizeof(reason)) != 0) {
			return fail(ld, n, "bad link parameters: %s", reason);
		}
		return 0;
	}
	if (expect_mapping(ld, n, "link parameters: a tc-netem string or fields") != 0) {
		return -1;
	}
	return get_link_fields(ld, n, p, trace, allow_ends, NULL, where);
}

/* from/to/both of a link entry ("*" = any node). */
static int
get_link_ends(loader *ld, const yaml_node_t *n, sim_link_spec *l, bool *both)
{
	bool have_from = false, have_to = false;

	*both = false;
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = get(ld, pr->key), *v = get(ld, pr->value);
		const char *key;
		size_t mark;
		int rc = 0;

		if (k == NULL || v == NULL) {
			return -1;
		}
		key = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";
		if (strcmp(key, "from") != 0 && strcmp(key, "to") != 0 &&
		    strcmp(key, "both") != 0) {
			continue;
		}
		mark = path_key(ld, key);
		if (strcmp(key, "both") == 0) {
			rc = get_bool(ld, v, both);
		} else {
			bool is_from = key[0] == 'f';
			const char *s = scalar(ld, v, "a node name or *");

			if (s == NULL) {
				rc = -1;
			} else if (strcmp(s, "*") == 0) {
				*(is_from ? &l->from_any : &l->to_any) = true;
			} else {
				rc = get_node_ref(ld, v, is_from ? &l->from : &l->to, false);
			}
			*(is_from ? &have_from : &have_to) = true;
		}
		path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	}
	if (!have_from || !have_to) {
		return fail(ld, n, "a link needs both 'from' and 'to' (a node name or *)");
	}
	return 0;
}

static int
load_network(loader *ld, const yaml_node_t *n)
{
	static const char *const keys[] = {"default", "links", NULL};
	sim_scenario *sc = ld->sc;
	uint64_t seen = 0;

	if (expect_mapping(ld, n, "network settings (default, links)") != 0) {
		return -1;
	}
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = get(ld, pr->key), *v = get(ld, pr->value);
		int i = key_index(ld, k, keys, &seen, "network");
		size_t mark;
		int rc = 0;

		if (i < 0) {
			return -1;
		}
		mark = path_key(ld, keys[i]);
		if (i == 0) {
			rc = get_link_params(ld, v, &sc->net_default, &sc->net_default_trace, false,
			                     "network.default");
		} else if (expect_sequence(ld, v, "link entries") != 0) {
			rc = -1;
		} else {
			size_t len = seq_len(v);

			sc->links = calloc(len * 2 + 1, sizeof(*sc->links));
			if (sc->links == NULL) {
				rc = fail(ld, v, "out of memory");
			}
			for (size_t j = 0; rc == 0 && j < len; j++) {
				size_t m2 = path_index(ld, j);
				yaml_node_t *item = seq_item(ld, v, j);
				sim_link_spec *l = &sc->links[sc->n_links];
				bool both = false;

				rc = expect_mapping(ld, item, "a link (from, to, parameters)");
				if (rc == 0) {
					l->line = (int)item->start_mark.line + 1;
					rc = get_link_ends(ld, item, l, &both);
				}
				if (rc == 0) {
					rc = get_link_params(ld, item, &l->p, &l->trace, true,
					                     "a link");
				}
				if (rc == 0) {
					sc->n_links++;
				}
				if (rc == 0 && both) {
					sim_link_spec *r = &sc->links[sc->n_links++];

					*r = *l;
					r->from = l->to;
					r->to = l->from;
					r->from_any = l->to_any;
					r->to_any = l->from_any;
					if (l->trace != NULL) {
						r->trace = malloc(l->p.trace_len * sizeof(double));
						if (r->trace == NULL) {
							rc = fail(ld, item, "out of memory");
						} else {
							memcpy(r->trace, l->trace,
							       l->p.trace_len * sizeof(double));
							r->p.trace = r->trace;
						}
					}
				}
				path_restore(ld, m2);
			}
		}
		path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* nodes                                                               */

static int add_event(loader *ld, const yaml_node_t *n, sim_event_spec **out);

static int
get_clock_steps(loader *ld, const yaml_node_t *n, const sim_node_spec *t)
{
	static const char *const keys[] = {"at", "by", NULL};

	if (expect_sequence(ld, n, "clock steps ({at, by})") != 0) {
		return -1;
	}
	for (size_t i = 0; i < seq_len(n); i++) {
		size_t mark = path_index(ld, i);
		yaml_node_t *item = seq_item(ld, n, i);
		sim_event_spec *e;
		uint64_t seen = 0;

		if (expect_mapping(ld, item, "a clock step {at, by}") != 0 ||
		    add_event(ld, item, &e) != 0) {
			return -1;
		}
		e->kind = SIM_EV_STEP;
		e->nodes.first = t->first;
		e->nodes.count = t->count;
		FOR_PAIRS(item, pr)
		{
			yaml_node_t *k = get(ld, pr->key), *v = get(ld, pr->value);
			int j = key_index(ld, k, keys, &seen, "a clock step");
			int rc;

			if (j < 0) {
				return -1;
			}
			rc = j == 0 ? get_time_nonneg(ld, v, &e->at)
			            : get_duration(ld, v, &e->value);
			if (rc != 0) {
				return -1;
			}
		}
		if (seen != 3) {
			return fail(ld, item, "a clock step needs 'at' and 'by'");
		}
		path_restore(ld, mark);
	}
	return 0;
}

static int
get_temperature(loader *ld, const yaml_node_t *n, sim_osc_params *c)
{
	static const char *const keys[] = {"amplitude", "period", "phase", NULL};
	uint64_t seen = 0;

	if (expect_mapping(ld, n, "a periodic frequency term (amplitude, period, phase)") != 0) {
		return -1;
	}
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = get(ld, pr->key), *v = get(ld, pr->value);
		int i = key_index(ld, k, keys, &seen, "temperature");
		size_t mark;
		int rc;

		if (i < 0) {
			return -1;
		}
		mark = path_key(ld, keys[i]);
		if (i == 0) {
			rc = get_freq(ld, v, &c->temp_amp);
			if (rc == 0) {
				rc = check_range(ld, v, c->temp_amp, -SIM_OSC_FREQ_MAX,
				                 SIM_OSC_FREQ_MAX, "s/s");
			}
		} else if (i == 1) {
			rc = get_duration(ld, v, &c->temp_period);
			if (rc == 0) {
				rc = check_range(ld, v, c->temp_period, 1e-3, 1e9, "s");
			}
		} else {
			rc = get_number(ld, v, &c->temp_phase);
		}
		path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	}
	if (!(seen & 1) || !(seen & 2)) {
		return fail(ld, n, "temperature needs 'amplitude' and 'period'");
	}
	return 0;
}

static int
load_clock(loader *ld, const yaml_node_t *n, sim_node_spec *t)
{
	static const char *const keys[] = {"offset",      "freq",        "wander",
	                                   "wander_step", "temperature", "resolution",
	                                   "noise",       "steps",       NULL};
	sim_osc_params *c = &t->clock;
	uint64_t seen = 0;

	if (expect_mapping(ld, n, "a clock model (offset, freq, wander, ...)") != 0) {
		return -1;
	}
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = get(ld, pr->key), *v = get(ld, pr->value);
		int i = key_index(ld, k, keys, &seen, "clock");
		size_t mark;
		int rc = 0;

		if (i < 0) {
			return -1;
		}
		mark = path_key(ld, keys[i]);
		switch (i) {
		case 0:
			rc = get_duration(ld, v, &c->offset);
			if (rc == 0) {
				rc = check_range(ld, v, c->offset, -1e9, 1e9, "s");
			}
			break;
		case 1:
			rc = get_freq(ld, v, &c->freq);
			if (rc == 0) {
				rc = check_range(ld, v, c->freq, -SIM_OSC_FREQ_MAX,
				                 SIM_OSC_FREQ_MAX, "s/s");
			}
			break;
		case 2:
			rc = get_freq(ld, v, &c->wander);
			if (rc == 0) {
				rc = check_range(ld, v, c->wander, 0.0, 1e-3, "s/s per sqrt(s)");
			}
			break;
		case 3:
			rc = get_duration(ld, v, &c->wander_step);
			if (rc == 0) {
				rc = check_range(ld, v, c->wander_step, 1e-3, 1e6, "s");
			}
			break;
		case 4:
			rc = get_temperature(ld, v, c);
			break;
		case 5:
			rc = get_duration(ld, v, &c->resolution);
			if (rc == 0) {
				rc = check_range(ld, v, c->resolution, 0.0, 1.0, "s");
			}
			break;
		case 6:
			rc = get_duration(ld, v, &c->noise);
			if (rc == 0) {
				rc = check_range(ld, v, c->noise, 0.0, 1.0, "s");
			}
			break;
		default:
			rc = get_clock_steps(ld, v, t);
			break;
		}
		path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	}
	return 0;
}

/* A field that takes one scalar or a list of them: how many items it has. */
static int
scalar_or_list_len(loader *ld, const yaml_node_t *n, const char *what, size_t *count)
{
	*count = 1;
	if (n != NULL && n->type == YAML_SEQUENCE_NODE) {
		if (expect_sequence(ld, n, what) != 0) {
			return -1;
		}
		*count = seq_len(n);
	}
	return 0;
}

static int
get_fault_kinds(loader *ld, const yaml_node_t *n, ntp_fault *f)
{
	size_t count;

	if (scalar_or_list_len(ld, n, "fault names", &count) != 0) {
		return -1;
	}
	f->kinds = 0;
	for (size_t i = 0; i < count; i++) {
		const yaml_node_t *item = n->type == YAML_SEQUENCE_NODE ? seq_item(ld, n, i) : n;
		const char *s = scalar(ld, item, "a fault name");
		int bit;

		if (s == NULL) {
			return -1;
		}
		bit = ntp_fault_from_name(s);
		if (bit == 0) {
			return fail(
			        ld, item,
			        "unknown fault '%.40s' (faults: wrong-leap, stratum16, kod, "
			        "falseticker, stale-reftime, huge-rootdisp, bad-origin, silent)",
			        s);
		}
		f->kinds |= (uint32_t)bit;
	}
	return 0;
}

static const char *const fault_keys[] = {"kinds", "leap", "offset", "rootdisp",
                                         "stale", "kod",  NULL};

/* Fault fields of mapping n, skipping keys that are not fault keys when
 * `others` is set (an event mixes them with at/do/node). */
static int
get_fault_fields(loader *ld, const yaml_node_t *n, ntp_fault *f, bool others)
{
	uint64_t seen = 0;

	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = get(ld, pr->key), *v = get(ld, pr->value);
		const char *key;
		int i = -1;
		size_t mark;
		int rc = 0;
		long long ll;

		if (k == NULL || v == NULL) {
			return -1;
		}
		key = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";
		for (int j = 0; fault_keys[j] != NULL; j++) {
			if (strcmp(key, fault_keys[j]) == 0) {
				i = j;
			}
		}
		if (i < 0 && others) {
			continue;
		}
		if (i < 0) {
			i = key_index(ld, k, fault_keys, &seen, "fault");
			if (i < 0) {
				return -1;
			}
		}
		mark = path_key(ld, fault_keys[i]);
		switch (i) {
		case 0:
			rc = get_fault_kinds(ld, v, f);
			break;
		case 1:
			rc = get_int(ld, v, 0, 3, &ll);
			f->leap = (uint8_t)ll;
			break;
		case 2:
			rc = get_duration(ld, v, &f->offset);
			break;
		case 3:
			rc = get_time_nonneg(ld, v, &f->rootdisp);
			break;
		case 4:
			rc = get_time_nonneg(ld, v, &f->stale);
			break;
		default:
			rc = get_text(ld, v, f->kod, sizeof(f->kod), "a 4-letter kiss code");
			break;
		}
		path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	}
	return 0;
}

static int
get_query_servers(loader *ld, const yaml_node_t *n, sim_query_spec *q)
{
	size_t count;

	if (scalar_or_list_len(ld, n, "server names or addresses", &count) != 0) {
		return -1;
	}
	if (count == 0 || count > SIM_QUERY_MAX_SERVERS) {
		return fail(ld, n, "expected 1 to %d servers", SIM_QUERY_MAX_SERVERS);
	}
	q->n_servers = 0;
	for (size_t i = 0; i < count; i++) {
		const yaml_node_t *item = n->type == YAML_SEQUENCE_NODE ? seq_item(ld, n, i) : n;
		const char *s = scalar(ld, item, "a server name or address");
		sim_range r;

		if (s == NULL) {
			return -1;
		}
		if (sim_scenario_find(ld->sc, s, &r) == 0) {
			if (r.count != 1) {
				return fail(ld, item, "'%.40s' names %u nodes; name one", s,
				            r.count);
			}
			q->servers[i] = sim_scenario_node_addr(ld->sc, r.first);
		} else if (!ntp_addr_parse(s, &q->servers[i])) {
			return fail(ld, item,
			            "no node named '%.40s' (ntpsim resolves names only to the "
			            "scenario's nodes)",
			            s);
		}
		q->servers[i].port = NTP_PORT;
		snprintf(q->server_names[i], SIM_NAME_MAX, "%s", s);
		q->n_servers++;
	}
	return 0;
}

static void
query_defaults(sim_query_spec *q)
{
	memset(q, 0, sizeof(*q));
	q->samples = QUERY_SAMPLES_DEFAULT;
	q->interval = QUERY_INTERVAL_DEFAULT;
	q->timeout = QUERY_TIMEOUT_DEFAULT;
}

static const char *const query_keys[] = {"servers", "samples",      "interval", "timeout",
                                         "set",     "unprivileged", NULL};

/* One query field (index into query_keys). */
static int
get_query_field(loader *ld, int i, const yaml_node_t *v, sim_query_spec *q)
{
	long long ll;
	int rc;

	switch (i) {
	case 0:
		return get_query_servers(ld, v, q);
	case 1:
		rc = get_int(ld, v, 1, SIM_QUERY_MAX_SAMPLES, &ll);
		q->samples = (int)ll;
		return rc;
	case 2:
		rc = get_time_nonneg(ld, v, &q->interval);
		return rc == 0 ? check_range(ld, v, q->interval, 1e-3, 3600.0, "s") : rc;
	case 3:
		rc = get_time_nonneg(ld, v, &q->timeout);
		return rc == 0 ? check_range(ld, v, q->timeout, 1e-3, 3600.0, "s") : rc;
	case 4:
		return get_bool(ld, v, &q->set);
	default:
		return get_bool(ld, v, &q->unprivileged);
	}
}

static int
get_times(loader *ld, const yaml_node_t *n, double **out, size_t *count)
{
	size_t len = 1;

	if (n != NULL && n->type == YAML_SEQUENCE_NODE) {
		if (expect_sequence(ld, n, "times") != 0) {
			return -1;
		}
		len = seq_len(n);
		if (len == 0) {
			return fail(ld, n, "expected at least one time");
		}
	}
	free(*out);
	*out = calloc(len, sizeof(double));
	if (*out == NULL) {
		return fail(ld, n, "out of memory");
	}
	*count = len;
	for (size_t i = 0; i < len; i++) {
		const yaml_node_t *item = n->type == YAML_SEQUENCE_NODE ? seq_item(ld, n, i) : n;

		if (get_time_nonneg(ld, item, &(*out)[i]) != 0) {
			return -1;
		}
	}
	return 0;
}

static const char *const node_keys[] = {
        "name",
        "kind",
        "count",
        "address",
        "clock",
        "conf",
        "drift_ppm",
        "big_first_step",
        "precision",
        "start",
        "fault",
        "trace",
        /* kind: query */
        "servers",
        "samples",
        "interval",
        "timeout",
        "set",
        "unprivileged",
        "at",
        NULL,
};

enum {
	NK_NAME,
	NK_KIND,
	NK_COUNT,
	NK_ADDRESS,
	NK_CLOCK,
	NK_CONF,
	NK_DRIFT,
	NK_BIGSTEP,
	NK_PRECISION,
	NK_START,
	NK_FAULT,
	NK_TRACE,
	NK_SERVERS,
	NK_SAMPLES,
	NK_INTERVAL,
	NK_TIMEOUT,
	NK_SET,
	NK_UNPRIV,
	NK_AT
};

static bool
valid_name(const char *s)
{
	if (s[0] == '\0' || strcmp(s, "any") == 0 || !isalpha((unsigned char)s[0])) {
		return false;
	}
	for (const char *p = s; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.') {
			return false;
		}
	}
	return true;
}

/* Conf text position: a block scalar's text starts on the line after its
 * indicator; a flow scalar's on its own line. */
static int
conf_first_line(const yaml_node_t *v)
{
	int line = (int)v->start_mark.line + 1;

	if (v->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
	    v->data.scalar.style == YAML_FOLDED_SCALAR_STYLE) {
		line++;
	}
	return line;
}

static int
load_conf(loader *ld, const yaml_node_t *v, sim_node_spec *t)
{
	const char *text = scalar(ld, v, "ntp.conf text (use conf: | and indent it)");
	char fname[SIM_NAME_MAX + 16];

	if (text == NULL) {
		return -1;
	}
	t->conf = malloc(sizeof(*t->conf));
	if (t->conf == NULL) {
		return fail(ld, v, "out of memory");
	}
	snprintf(fname, sizeof(fname), "%s/ntp.conf", t->name);
	ntp_conf_init(t->conf, fname);
	ntp_conf_parse(t->conf, text, strlen(text));
	t->conf_line = conf_first_line(v);
	for (size_t i = 0; i < t->conf->n_diags; i++) {
		const ntp_conf_diag *d = &t->conf->diags[i];
		char line[700];

		snprintf(line, sizeof(line),
		         "%s:%d:%d: %s (node %s, ntp.conf line %d): %s: %s%s%s%s", ld->file,
		         t->conf_line + d->line - 1, d->col, ld->path, t->name, d->line,
		         d->severity == NTP_CONF_ERROR ? "error" : "warning", d->msg,
		         d->hint[0] ? " (" : "", d->hint, d->hint[0] ? ")" : "");
		if (d->severity != NTP_CONF_ERROR) {
			warn(ld->sc, "%s", line);
			continue;
		}
		if (!ld->failed) {
			ld->failed = true;
			snprintf(ld->err, ld->errsize, "%s", line);
		} else if (strlen(ld->err) + strlen(line) + 2 < ld->errsize) {
			strcat(ld->err, "\n");
			strcat(ld->err, line);
		}
	}
	if (t->conf->n_errors > 0 && !ld->failed) {
		return fail(ld, v, "ntp.conf has %u errors", t->conf->n_errors);
	}
	return ld->failed ? -1 : 0;
}

/* First pass over one node entry: everything but references to other
 * nodes (conf server names, query servers), which need all names. */
static int
load_node(loader *ld, const yaml_node_t *n, sim_node_spec *t, uint32_t first)
{
	uint64_t seen = 0;
	long long ll;
	yaml_node_t *conf = NULL, *at = NULL;

	if (expect_mapping(ld, n, "a node (name, address, clock, conf, ...)") != 0) {
		return -1;
	}
	t->line = (int)n->start_mark.line + 1;
	t->count = 1;
	t->first = first;
	t->precision = PRECISION_DEFAULT;
	t->trace = -1;
	query_defaults(&t->query);
	/* name and kind first: other fields' meaning depends on them */
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = get(ld, pr->key), *v = get(ld, pr->value);
		const char *key;

		if (k == NULL || v == NULL) {
			return -1;
		}
		key = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";
		if (strcmp(key, "name") == 0) {
			size_t mark = path_key(ld, "name");

			if (get_text(ld, v, t->name, sizeof(t->name), "a node name") != 0) {
				return -1;
			}
			if (!valid_name(t->name)) {
				return fail(
				        ld, v,
				        "a node name starts with a letter and has only letters, "
				        "digits, '_', '-', '.' (and is not 'any')");
			}
			path_restore(ld, mark);
		} else if (strcmp(key, "kind") == 0) {
			const char *s = scalar(ld, v, "host or query");

			if (s == NULL) {
				return -1;
			}
			if (strcmp(s, "host") == 0) {
				t->kind = SIM_NODE_HOST;
			} else if (strcmp(s, "query") == 0) {
				t->kind = SIM_NODE_QUERY;
			} else {
				return fail(ld, v,
				            "expected host (an NTP daemon) or query (a one-shot "
				            "query like ntpdate -q), got '%.40s'",
				            s);
			}
		}
	}
	if (t->name[0] == '\0') {
		return fail(ld, n, "a node needs a 'name'");
	}
	if (t->kind == SIM_NODE_QUERY) {
		t->query.unprivileged = true;
	}
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = get(ld, pr->key), *v = get(ld, pr->value);
		int i = key_index(ld, k, node_keys, &seen, "a node");
		size_t mark;
		int rc = 0;

		if (i < 0) {
			return -1;
		}
		if (i >= NK_SERVERS && t->kind != SIM_NODE_QUERY) {
			return fail(ld, k, "field '%s' is for kind: query nodes", node_keys[i]);
		}
		mark = path_key(ld, node_keys[i]);
		switch (i) {
		case NK_COUNT:
			rc = get_int(ld, v, 1, SIM_MAX_NODES, &ll);
			t->count = (uint32_t)ll;
			break;
		case NK_ADDRESS:
			rc = get_address(ld, v, &t->addr);
			break;
		case NK_CLOCK:
			rc = 0; /* after count is known (clock steps cover all replicas) */
			break;
		case NK_CONF:
			conf = v;
			break;
		case NK_DRIFT:
			rc = get_number(ld, v, &t->drift_ppm);
			if (rc == 0) {
				rc = check_range(ld, v, t->drift_ppm, -500.0, 500.0, "ppm");
			}
			t->have_drift = true;
			break;
		case NK_BIGSTEP:
			rc = get_bool(ld, v, &t->big_first_step);
			break;
		case NK_PRECISION:
			rc = get_int(ld, v, -32, 0, &ll);
			t->precision = (int8_t)ll;
			break;
		case NK_START:
			rc = get_time_nonneg(ld, v, &t->start);
			break;
		case NK_FAULT:
			rc = expect_mapping(ld, v, "a fault (kinds, offset, leap, ...)");
			if (rc == 0) {
				rc = get_fault_fields(ld, v, &t->fault, false);
			}
			break;
		case NK_TRACE: {
			bool b;

			rc = get_bool(ld, v, &b);
			t->trace = b ? 1 : 0;
			break;
		}
		case NK_AT:
			at = v;
			break;
		case NK_SERVERS:
			rc = 0; /* second pass */
			break;
		case NK_SAMPLES:
		case NK_INTERVAL:
		case NK_TIMEOUT:
		case NK_SET:
		case NK_UNPRIV:
			rc = get_query_field(ld, i - NK_SERVERS, v, &t->query);
			break;
		default:
			break; /* name, kind: done */
		}
		path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	}
	if (t->count > 1 && isdigit((unsigned char)t->name[strlen(t->name) - 1])) {
		return fail(ld, n,
		            "a node with count > 1 needs a name that does not end in a digit "
		            "('%s' + 1 would be ambiguous)",
		            t->name);
	}
	if (t->trace < 0) {
		t->trace = t->count == 1;
	}
	if (t->kind == SIM_NODE_HOST) {
		size_t mark;
		int rc;

		if (conf == NULL) {
			return fail(ld, n, "node '%s' needs 'conf' (its ntp.conf text)", t->name);
		}
		mark = path_key(ld, "conf");
		rc = load_conf(ld, conf, t);
		path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	} else {
		size_t mark;
		int rc;

		if (conf != NULL) {
			return fail(ld, conf, "a kind: query node has no ntp.conf");
		}
		if (!(seen & (UINT64_C(1) << NK_SERVERS))) {
			return fail(ld, n, "a kind: query node needs 'servers'");
		}
		if (at == NULL) {
			t->query_at = calloc(1, sizeof(double));
			if (t->query_at == NULL) {
				return fail(ld, n, "out of memory");
			}
			t->n_query_at = 1;
		} else {
			mark = path_key(ld, "at");
			rc = get_times(ld, at, &t->query_at, &t->n_query_at);
			path_restore(ld, mark);
			if (rc != 0) {
				return -1;
			}
		}
	}
	return 0;
}

/* Second pass: clock (its steps become events of this node's range),
 * query servers. */
static int
load_node_refs(loader *ld, const yaml_node_t *n, sim_node_spec *t)
{
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = get(ld, pr->key), *v = get(ld, pr->value);
		const char *key;
		size_t mark;
		int rc = 0;

		if (k == NULL || v == NULL) {
			return -1;
		}
		key = (const char *)k->data.scalar.value;
		if (strcmp(key, "clock") == 0) {
			mark = path_key(ld, "clock");
			rc = load_clock(ld, v, t);
			path_restore(ld, mark);
		} else if (strcmp(key, "servers") == 0) {
			mark = path_key(ld, "servers");
			rc = get_query_servers(ld, v, &t->query);
			path_restore(ld, mark);
		}
		if (rc != 0) {
			return -1;
		}
	}
	return 0;
}

/* Default addresses 10.0.0.1 upwards by global index; replicas must fit. */
static int
assign_addresses(loader *ld, const yaml_node_t *list)
{
	sim_scenario *sc = ld->sc;

	for (size_t i = 0; i < sc->n_nodes; i++) {
		sim_node_spec *t = &sc->nodes[i];
		ntp_addr end;

		if (t->addr.family == NTP_AF_NONE) {
			ntp_addr_parse("10.0.0.0", &t->addr);
			if (!addr_add(&t->addr, t->first + 1)) {
				return fail(ld, list, "too many nodes for default addresses");
			}
		}
		end = t->addr;
		if (!addr_add(&end, t->count - 1)) {
			return fail(ld, list, "node '%s': %u addresses from its address overflow",
			            t->name, t->count);
		}
	}
	for (size_t i = 0; i < sc->n_nodes; i++) {
		for (size_t j = 0; j < i; j++) {
			const sim_node_spec *a = &sc->nodes[i], *b = &sc->nodes[j];
			size_t off = a->addr.family == NTP_AF_INET ? 0 : 12;
			uint64_t lo_a, lo_b;
			char buf[64];

			if (a->addr.family != b->addr.family ||
			    memcmp(a->addr.a, b->addr.a, off) != 0) {
				continue;
			}
			lo_a = addr_low32(&a->addr);
			lo_b = addr_low32(&b->addr);
			if (lo_a < lo_b + b->count && lo_b < lo_a + a->count) {
				ntp_addr x = lo_a > lo_b ? a->addr : b->addr;

				return fail(ld, list,
				            "nodes '%s' and '%s' have overlapping addresses "
				            "(both include %s)",
				            b->name, a->name,
				            ntp_addr_format(&x, buf, sizeof(buf)));
			}
		}
	}
	return 0;
}

/* Would t's name, or one of its replicas' names, resolve to a node that
 * is already loaded?  (Called before t is counted.) */
static bool
name_taken(const sim_scenario *sc, const sim_node_spec *t)
{
	size_t len = strlen(t->name);
	sim_range r;

	if (sim_scenario_find(sc, t->name, &r) == 0) {
		return true;
	}
	for (size_t i = 0; t->count > 1 && i < sc->n_nodes; i++) {
		const char *other = sc->nodes[i].name;
		unsigned long k;

		if (strncmp(other, t->name, len) != 0 || other[len] < '1' || other[len] > '9') {
			continue;
		}
		k = strtoul(other + len, NULL, 10);
		if (strspn(other + len, "0123456789") == strlen(other + len) && k <= t->count) {
			return true;
		}
	}
	return false;
}

static int
load_nodes(loader *ld, const yaml_node_t *n)
{
	sim_scenario *sc = ld->sc;
	size_t len;
	uint64_t total = 0;

	if (expect_sequence(ld, n, "the nodes") != 0) {
		return -1;
	}
	len = seq_len(n);
	if (len == 0 || len > MAX_TEMPLATES) {
		return fail(ld, n, "expected 1 to %d node entries", MAX_TEMPLATES);
	}
	sc->nodes = calloc(len + 1, sizeof(*sc->nodes)); /* +1: a partly loaded entry */
	if (sc->nodes == NULL) {
		return fail(ld, n, "out of memory");
	}
	for (size_t i = 0; i < len; i++) {
		size_t mark = path_index(ld, i);
		sim_node_spec *t = &sc->nodes[i];
		int rc = load_node(ld, seq_item(ld, n, i), t, (uint32_t)total);

		path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
		if (name_taken(sc, t)) {
			mark = path_index(ld, i);
			rc = fail(ld, seq_item(ld, n, i), "node name '%s' is already used%s",
			          t->name, t->count > 1 ? " (or one of its replica names)" : "");
			path_restore(ld, mark);
			return rc;
		}
		sc->n_nodes++;
		total += t->count;
		if (total > SIM_MAX_NODES) {
			return fail(ld, seq_item(ld, n, i), "more than %d nodes in all",
			            SIM_MAX_NODES);
		}
	}
	sc->total_nodes = (uint32_t)total;
	if (assign_addresses(ld, n) != 0) {
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		size_t mark = path_index(ld, i);
		int rc = load_node_refs(ld, seq_item(ld, n, i), &sc->nodes[i]);

		path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	}
	return 0;
}

/* Resolve `server NAME` / `peer NAME` / `pool NAME` of every conf to the
 * scenario's nodes. */
static int
resolve_confs(loader *ld)
{
	sim_scenario *sc = ld->sc;

	for (size_t i = 0; i < sc->n_nodes; i++) {
		sim_node_spec *t = &sc->nodes[i];
		size_t n0;

		if (t->conf == NULL) {
			continue;
		}
		n0 = t->conf->n_servers;
		for (size_t j = 0; j < n0; j++) {
			ntp_conf_server *s = &t->conf->servers[j];
			int line = t->conf_line + s->line - 1;
			sim_range r;
			char buf[64];

			if (s->kind == NTP_CONF_LOCAL_CLOCK) {
				continue;
			}
			if (s->addr.family != NTP_AF_NONE) {
				if (owner_of(sc, &s->addr) < 0) {
					warn(sc,
					     "%s:%d: nodes[%zu].conf (node %s, ntp.conf line %d): "
					     "no node has address "
					     "%s: packets to it are dropped",
					     ld->file, line, i, t->name, s->line,
					     ntp_addr_format(&s->addr, buf, sizeof(buf)));
				}
				continue;
			}
			if (sim_scenario_find(sc, s->host, &r) != 0) {
				snprintf(ld->err, ld->errsize,
				         "%s:%d: nodes[%zu].conf (node %s, ntp.conf line %d): "
				         "cannot resolve '%.60s': "
				         "ntpsim resolves host names only to the scenario's node "
				         "names",
				         ld->file, line, i, t->name, s->line, s->host);
				ld->failed = true;
				return -1;
			}
			if (s->kind != NTP_CONF_POOL && r.count != 1) {
				snprintf(ld->err, ld->errsize,
				         "%s:%d: nodes[%zu].conf (node %s, ntp.conf line %d): "
				         "'%.40s' names %u nodes; use "
				         "'pool %.40s' or name one of them",
				         ld->file, line, i, t->name, s->line, s->host, r.count,
				         s->host);
				ld->failed = true;
				return -1;
			}
			if (s->kind != NTP_CONF_POOL) {
				s->addr = sim_scenario_node_addr(sc, r.first);
				continue;
			}
			/* A pool expands into one server per node it names. */
			for (uint32_t k = 0; k < r.count; k++) {
				ntp_conf_server *e;

				if (t->conf->n_servers >= NTP_CONF_MAX_SERVERS) {
					warn(sc,
					     "%s:%d: nodes[%zu].conf (node %s, ntp.conf line %d): "
					     "pool '%s' cut at %d "
					     "servers",
					     ld->file, line, i, t->name, s->line, s->host,
					     NTP_CONF_MAX_SERVERS);
					break;
				}
				e = &t->conf->servers[t->conf->n_servers++];
				*e = *s;
				e->kind = NTP_CONF_SERVER;
				e->addr = sim_scenario_node_addr(sc, r.first + k);
				sim_scenario_node_name(sc, r.first + k, e->host, sizeof(e->host));
			}
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* firewall                                                            */

static int
load_firewall(loader *ld, const yaml_node_t *n)
{
	static const char *const keys[] = {"name",  "src",    "dst",     "proto", "sport",
	                                   "dport", "action", "enabled", NULL};
	sim_scenario *sc = ld->sc;
	size_t len;

	if (expect_sequence(ld, n, "firewall rules") != 0) {
		return -1;
	}
	len = seq_len(n);
	sc->fw = calloc(len + 1, sizeof(*sc->fw));
	sc->fw_line = calloc(len + 1, sizeof(int));
	if (sc->fw == NULL || sc->fw_line == NULL) {
		return fail(ld, n, "out of memory");
	}
	for (size_t i = 0; i < len; i++) {
		size_t mark = path_index(ld, i);
		yaml_node_t *item = seq_item(ld, n, i);
		netem_fw_rule *r = &sc->fw[i];
		uint64_t seen = 0;

		if (expect_mapping(ld, item, "a firewall rule") != 0) {
			return -1;
		}
		r->enabled = true;
		r->action = NETEM_FW_DROP;
		r->proto = NETEM_FW_PROTO_UDP;
		snprintf(r->name, sizeof(r->name), "rule%zu", i + 1);
		sc->fw_line[i] = (int)item->start_mark.line + 1;
		FOR_PAIRS(item, pr)
		{
			yaml_node_t *k = get(ld, pr->key), *v = get(ld, pr->value);
			int j = key_index(ld, k, keys, &seen, "a firewall rule");
			size_t m2;
			int rc = 0;
			long long ll;
			const char *s;

			if (j < 0) {
				return -1;
			}
			m2 = path_key(ld, keys[j]);
			switch (j) {
			case 0:
				rc = get_text(ld, v, r->name, sizeof(r->name), "a rule name");
				break;
			case 1:
				rc = get_fw_match(ld, v, &r->src, &r->src_mask);
				break;
			case 2:
				rc = get_fw_match(ld, v, &r->dst, &r->dst_mask);
				break;
			case 3:
				s = scalar(ld, v, "udp or any");
				if (s == NULL) {
					rc = -1;
				} else if (strcmp(s, "udp") == 0) {
					r->proto = NETEM_FW_PROTO_UDP;
				} else if (strcmp(s, "any") == 0) {
					r->proto = 0;
				} else {
					rc = fail(ld, v, "expected udp or any, got '%.40s'", s);
				}
				break;
			case 4:
			case 5:
				rc = get_int(ld, v, 0, 65535, &ll);
				*(j == 4 ? &r->sport : &r->dport) = (uint16_t)ll;
				break;
			case 6:
				s = scalar(ld, v, "drop, reject or accept");
				if (s == NULL) {
					rc = -1;
				} else if (strcmp(s, "drop") == 0) {
					r->action = NETEM_FW_DROP;
				} else if (strcmp(s, "reject") == 0) {
					r->action = NETEM_FW_REJECT;
				} else if (strcmp(s, "accept") == 0) {
					r->action = NETEM_FW_ACCEPT;
				} else {
					rc = fail(ld, v,
					          "expected drop, reject or accept, got '%.40s'",
					          s);
				}
				break;
			default:
				rc = get_bool(ld, v, &r->enabled);
				break;
			}
			path_restore(ld, m2);
			if (rc != 0) {
				return -1;
			}
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(sc->fw[j].name, r->name) == 0) {
				return fail(ld, item, "firewall rule name '%s' is already used",
				            r->name);
			}
		}
		sc->n_fw++;
		path_restore(ld, mark);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* events                                                              */

static int
add_event(loader *ld, const yaml_node_t *n, sim_event_spec **out)
{
	sim_scenario *sc = ld->sc;
	sim_event_spec *grown;

	if (sc->n_events >= SIM_MAX_ITEMS) {
		return fail(ld, n, "more than %d events", SIM_MAX_ITEMS);
	}
	/* Grow by doubling: event pointers are only held during one parse. */
	if (sc->n_events == ld->events_cap) {
		size_t cap = ld->events_cap == 0 ? 4 : ld->events_cap * 2;

		grown = realloc(sc->events, cap * sizeof(*sc->events));
		if (grown == NULL) {
			return fail(ld, n, "out of memory");
		}
		sc->events = grown;
		ld->events_cap = cap;
	}
	*out = &sc->events[sc->n_events++];
	memset(*out, 0, sizeof(**out));
	(*out)->line = (int)n->start_mark.line + 1;
	query_defaults(&(*out)->query);
	return 0;
}

static const char *const event_do[] = {
        "firewall-on", "firewall-off", "partition", "heal", "step",  "freq",
        "stop",        "start",        "fault",     "link", "query", NULL,
};

static const int event_do_kind[] = {
        SIM_EV_FIREWALL, SIM_EV_FIREWALL, SIM_EV_PARTITION, SIM_EV_HEAL, SIM_EV_STEP,  SIM_EV_FREQ,
        SIM_EV_STOP,     SIM_EV_START,    SIM_EV_FAULT,     SIM_EV_LINK, SIM_EV_QUERY,
};

static int
find_rule(loader *ld, const yaml_node_t *v, size_t *out)
{
	const char *s = scalar(ld, v, "a firewall rule name");

	if (s == NULL) {
		return -1;
	}
	for (size_t i = 0; i < ld->sc->n_fw; i++) {
		if (strcmp(ld->sc->fw[i].name, s) == 0) {
			*out = i;
			return 0;
		}
	}
	return fail(ld, v, "no firewall rule named '%.40s'", s);
}

/* Groups of names: all ranges in one array, each group closed by a
 * zero-count separator. */
static int
get_groups(loader *ld, const yaml_node_t *v, sim_event_spec *e)
{
	size_t total = 0;

	if (expect_sequence(ld, v, "groups of node names") != 0) {
		return -1;
	}
	if (seq_len(v) == 0) {
		return fail(ld, v, "expected at least one group");
	}
	for (size_t i = 0; i < seq_len(v); i++) {
		yaml_node_t *g = seq_item(ld, v, i);

		total += (g->type == YAML_SEQUENCE_NODE ? seq_len(g) : 1) + 1;
	}
	if (total > SIM_MAX_ITEMS) {
		return fail(ld, v, "too many names in the groups");
	}
	free(e->groups);
	e->groups = calloc(total, sizeof(*e->groups));
	if (e->groups == NULL) {
		return fail(ld, v, "out of memory");
	}
	e->n_groups = 0;
	for (size_t i = 0; i < seq_len(v); i++) {
		size_t mark = path_index(ld, i);
		sim_range *list = NULL;
		size_t count = 0;
		int rc = get_node_list(ld, seq_item(ld, v, i), &list, &count);

		path_restore(ld, mark);
		if (rc != 0 || e->n_groups + count + 1 > total) {
			free(list);
			return rc != 0 ? -1 : fail(ld, v, "groups changed while reading them");
		}
		memcpy(&e->groups[e->n_groups], list, count * sizeof(*list));
		e->n_groups += count;
		e->groups[e->n_groups].count = 0; /* separator */
		e->n_groups++;
		free(list);
	}
	return 0;
}

static const char *const event_common_keys[] = {"at", "do", "every", "until", NULL};

/* Fields per `do`: what else may appear. */
static const char *const *
event_keys_for(int kind)
{
	static const char *const fw[] = {"rule", NULL};
	static const char *const part[] = {"nodes", "groups", NULL};
	static const char *const none[] = {NULL};
	static const char *const step[] = {"node", "by", NULL};
	static const char *const freq[] = {"node", "freq", NULL};
	static const char *const node[] = {"node", NULL};
	static const char *const fault[] = {"node",     "kinds", "leap", "offset",
	                                    "rootdisp", "stale", "kod",  NULL};
	static const char *const query[] = {"node",    "servers", "samples",      "interval",
	                                    "timeout", "set",     "unprivileged", NULL};

	switch (kind) {
	case SIM_EV_FIREWALL:
		return fw;
	case SIM_EV_PARTITION:
		return part;
	case SIM_EV_STEP:
		return step;
	case SIM_EV_FREQ:
		return freq;
	case SIM_EV_STOP:
	case SIM_EV_START:
		return node;
	case SIM_EV_FAULT:
		return fault;
	case SIM_EV_QUERY:
		return query;
	case SIM_EV_LINK:
		return link_keys;
	default:
		return none;
	}
}

static bool
in_list(const char *key, const char *const *keys)
{
	for (int i = 0; keys[i] != NULL; i++) {
		if (strcmp(key, keys[i]) == 0) {
			return true;
		}
	}
	return false;
}

static int
load_event(loader *ld, const yaml_node_t *n)
{
	sim_event_spec *e;
	int do_index = -1;
	const char *const *kind_keys;
	bool have_at = false, have_node = false, have_value = false;

	if (expect_mapping(ld, n, "an event (at, do, ...)") != 0 || add_event(ld, n, &e) != 0) {
		return -1;
	}
	do_index = discriminator(ld, n, "do", event_do, "'do' (an event action)");
	if (do_index == -1) {
		return -1;
	}
	if (do_index < 0) { /* -2: absent */
		return fail(ld, n,
		            "an event needs 'do' (firewall-on, firewall-off, partition, heal, "
		            "step, freq, stop, start, fault, link or query)");
	}
	e->kind = event_do_kind[do_index];
	e->enable = do_index == 0;
	kind_keys = event_keys_for(e->kind);
	if (e->kind == SIM_EV_LINK) {
		netem_link_params_init(&e->link.p);
	}
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = get(ld, pr->key), *v = get(ld, pr->value);
		const char *key = scalar(ld, k, "a field name");
		size_t mark;
		int rc = 0;

		if (key == NULL) {
			return -1;
		}
		if (!in_list(key, event_common_keys) && !in_list(key, kind_keys)) {
			uint64_t dummy = 0;
			char where[64];

			snprintf(where, sizeof(where), "a '%s' event", event_do[do_index]);
			if (key_index(ld, k, kind_keys, &dummy, where) >= 0) {
				/* cannot happen: key not in list */
			}
			return -1;
		}
		mark = path_key(ld, key);
		if (strcmp(key, "at") == 0) {
			rc = get_time_nonneg(ld, v, &e->at);
			have_at = true;
		} else if (strcmp(key, "every") == 0) {
			rc = get_duration(ld, v, &e->every);
			if (rc == 0 && e->every < 1e-3) {
				rc = fail(ld, v, "'every' must be at least 1 ms");
			}
		} else if (strcmp(key, "until") == 0) {
			rc = get_time_nonneg(ld, v, &e->until);
		} else if (strcmp(key, "do") == 0) {
			rc = 0;
		} else if (strcmp(key, "rule") == 0) {
			rc = find_rule(ld, v, &e->rule);
			have_node = true;
		} else if (strcmp(key, "node") == 0) {
			rc = get_node_ref(ld, v, &e->nodes, false);
			have_node = true;
		} else if (strcmp(key, "nodes") == 0) {
			sim_range *list = NULL;
			size_t count = 0;

			rc = get_node_list(ld, v, &list, &count);
			if (rc == 0) {
				e->groups = calloc(count + 1, sizeof(*e->groups));
				if (e->groups == NULL) {
					rc = fail(ld, v, "out of memory");
				} else {
					memcpy(e->groups, list, count * sizeof(*list));
					e->n_groups = count + 1; /* last: separator */
				}
			}
			free(list);
			have_node = true;
		} else if (strcmp(key, "groups") == 0) {
			rc = get_groups(ld, v, e);
			have_node = true;
		} else if (strcmp(key, "by") == 0) {
			rc = get_duration(ld, v, &e->value);
			have_value = true;
		} else if (strcmp(key, "freq") == 0) {
			rc = get_freq(ld, v, &e->value);
			if (rc == 0) {
				rc = check_range(ld, v, e->value, -SIM_OSC_FREQ_MAX,
				                 SIM_OSC_FREQ_MAX, "s/s");
			}
			have_value = true;
		} else if (e->kind == SIM_EV_QUERY) {
			int qi = 0;

			while (query_keys[qi] != NULL && strcmp(query_keys[qi], key) != 0) {
				qi++;
			}
			rc = get_query_field(ld, qi, v, &e->query);
		}
		path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	}
	if (e->kind == SIM_EV_FAULT && get_fault_fields(ld, n, &e->fault, true) != 0) {
		return -1;
	}
	if (e->kind == SIM_EV_LINK) {
		if (get_link_ends(ld, n, &e->link, &e->both) != 0) {
			return -1;
		}
		if (get_link_fields(ld, n, &e->link.p, &e->link.trace, true, event_common_keys,
		                    "a link event") != 0) {
			return -1;
		}
		e->link.line = e->line;
		have_node = true;
	}
	if (!have_at) {
		return fail(ld, n, "an event needs 'at' (seconds after the start)");
	}
	if (e->kind != SIM_EV_HEAL && !have_node) {
		return fail(ld, n, "a '%s' event needs %s", event_do[do_index],
		            e->kind == SIM_EV_FIREWALL    ? "'rule'"
		            : e->kind == SIM_EV_PARTITION ? "'nodes' or 'groups'"
		                                          : "'node'");
	}
	if ((e->kind == SIM_EV_STEP || e->kind == SIM_EV_FREQ) && !have_value) {
		return fail(ld, n, "a '%s' event needs '%s'", event_do[do_index],
		            e->kind == SIM_EV_STEP ? "by" : "freq");
	}
	if (e->kind == SIM_EV_QUERY && e->query.n_servers == 0) {
		return fail(ld, n, "a 'query' event needs 'servers'");
	}
	return 0;
}

static int
load_events(loader *ld, const yaml_node_t *n)
{
	if (expect_sequence(ld, n, "events") != 0) {
		return -1;
	}
	for (size_t i = 0; i < seq_len(n); i++) {
		size_t mark = path_index(ld, i);
		int rc = load_event(ld, seq_item(ld, n, i));

		path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* checks                                                              */

static const char *const check_names[] = {
        "synced", "offset",  "rms",  "steps", "rejected", "selected",
        "event",  "packets", "freq", "query", "bound",    NULL,
};

static const int check_kinds[] = {
        SIM_CHECK_SYNCED,   SIM_CHECK_OFFSET,   SIM_CHECK_RMS,   SIM_CHECK_STEPS,
        SIM_CHECK_REJECTED, SIM_CHECK_SELECTED, SIM_CHECK_EVENT, SIM_CHECK_PACKETS,
        SIM_CHECK_FREQ,     SIM_CHECK_QUERY,    SIM_CHECK_BOUND,
};

static const char *const *
check_keys_for(int kind)
{
	static const char *const synced[] = {"within", "bound", NULL};
	static const char *const window_max[] = {"after", "max", NULL};
	static const char *const rms[] = {"from", "to", "max", NULL};
	static const char *const counted[] = {"count", "min", "max", NULL};
	static const char *const rejected[] = {"source", "reason", NULL};
	static const char *const selected[] = {"source", NULL};
	static const char *const event[] = {"name", "reason", "count", "min", "max", NULL};
	static const char *const packets[] = {"dir", "count", "min", "max", NULL};
	static const char *const query[] = {"result", NULL};
	static const char *const bound[] = {"min_fraction", NULL};

	switch (kind) {
	case SIM_CHECK_SYNCED:
		return synced;
	case SIM_CHECK_OFFSET:
	case SIM_CHECK_FREQ:
		return window_max;
	case SIM_CHECK_RMS:
		return rms;
	case SIM_CHECK_STEPS:
		return counted;
	case SIM_CHECK_REJECTED:
		return rejected;
	case SIM_CHECK_SELECTED:
		return selected;
	case SIM_CHECK_EVENT:
		return event;
	case SIM_CHECK_PACKETS:
		return packets;
	case SIM_CHECK_QUERY:
		return query;
	default:
		return bound;
	}
}

static int
event_code_from_name(const char *s)
{
	/* The host names its codes; the list ends where names run out. */
	for (int code = 1; code < 256; code++) {
		const char *name = ntp_event_name(code);

		if (name == NULL || name[0] == '\0' || strcmp(name, "unknown") == 0) {
			break;
		}
		if (strcmp(name, s) == 0) {
			return code;
		}
	}
	return 0;
}

static int
get_source(loader *ld, const yaml_node_t *v, sim_check_spec *c)
{
	const char *s = scalar(ld, v, "a node name or address");
	sim_range r;

	if (s == NULL) {
		return -1;
	}
	snprintf(c->source_name, sizeof(c->source_name), "%s", s);
	if (sim_scenario_find(ld->sc, s, &r) == 0) {
		if (r.count != 1) {
			return fail(ld, v, "'%.40s' names %u nodes; name one", s, r.count);
		}
		c->source = sim_scenario_node_addr(ld->sc, r.first);
		return 0;
	}
	if (strncmp(s, "127.127.", 8) == 0 || strcmp(s, "LOCAL") == 0) {
		/* A local clock driver: matched by its remote name. */
		memset(&c->source, 0, sizeof(c->source));
		return 0;
	}
	if (!ntp_addr_parse(s, &c->source)) {
		return fail(ld, v, "no node named '%.40s' and not an address", s);
	}
	return 0;
}

static void
label_check(const sim_scenario *sc, sim_check_spec *c, const char *kind_name)
{
	char who[SIM_NAME_MAX + 12], a[32], b[32];
	size_t len;

	if (c->nodes.count == 1) {
		sim_scenario_node_name(sc, c->nodes.first, who, sizeof(who));
	} else {
		snprintf(who, sizeof(who), "%s (%u nodes)",
		         sim_scenario_tmpl(sc, c->nodes.first)->name, c->nodes.count);
	}
	snprintf(c->label, sizeof(c->label), "%s %s", kind_name, who);
	len = strlen(c->label);
	switch (c->kind) {
	case SIM_CHECK_SYNCED:
		snprintf(c->label + len, sizeof(c->label) - len, " within %g s (|offset| < %s)",
		         c->within, sim_format_seconds(c->bound, a, sizeof(a)));
		break;
	case SIM_CHECK_OFFSET:
		snprintf(c->label + len, sizeof(c->label) - len, " |offset| < %s after %g s",
		         sim_format_seconds(c->max, a, sizeof(a)), c->from);
		break;
	case SIM_CHECK_RMS:
		if (c->to > 0.0) {
			snprintf(b, sizeof(b), "%g s", c->to);
		} else {
			snprintf(b, sizeof(b), "end");
		}
		snprintf(c->label + len, sizeof(c->label) - len, " rms offset < %s over [%g s, %s]",
		         sim_format_seconds(c->max, a, sizeof(a)), c->from, b);
		break;
	case SIM_CHECK_FREQ:
		snprintf(c->label + len, sizeof(c->label) - len,
		         " |freq error| < %g ppm after %g s", c->max * 1e6, c->from);
		break;
	case SIM_CHECK_STEPS:
	case SIM_CHECK_EVENT:
	case SIM_CHECK_PACKETS:
		if (c->kind == SIM_CHECK_EVENT) {
			snprintf(c->label + len, sizeof(c->label) - len, " %s%s%s%s",
			         ntp_event_name(c->event_code), c->text[0] ? " '" : "", c->text,
			         c->text[0] ? "'" : "");
		} else if (c->kind == SIM_CHECK_PACKETS) {
			static const char *const dirs[] = {"sent", "received", "dropped"};

			snprintf(c->label + len, sizeof(c->label) - len, " %s", dirs[c->dir]);
		}
		len = strlen(c->label);
		if (c->min == c->max_count) {
			snprintf(c->label + len, sizeof(c->label) - len, " == %lld", c->min);
		} else if (c->max_count == LLONG_MAX) {
			snprintf(c->label + len, sizeof(c->label) - len, " >= %lld", c->min);
		} else {
			snprintf(c->label + len, sizeof(c->label) - len, " in [%lld, %lld]", c->min,
			         c->max_count);
		}
		break;
	case SIM_CHECK_REJECTED:
		snprintf(c->label + len, sizeof(c->label) - len, " source %s '%s'", c->source_name,
		         c->text);
		break;
	case SIM_CHECK_SELECTED:
		snprintf(c->label + len, sizeof(c->label) - len, " source %s", c->source_name);
		break;
	case SIM_CHECK_QUERY:
		snprintf(c->label + len, sizeof(c->label) - len, " result '%s'", c->text);
		break;
	default:
		snprintf(c->label + len, sizeof(c->label) - len, " held >= %g%% of synced time",
		         c->min_fraction * 100.0);
		break;
	}
}

static int
load_check(loader *ld, const yaml_node_t *n, sim_check_spec *c)
{
	int kind_index = -1;
	const char *const *keys;
	bool have_node = false, have_max = false, have_count = false, have_min = false,
	     have_maxc = false, have_within = false, have_source = false, have_text = false,
	     have_name = false, have_frac = false;

	if (expect_mapping(ld, n, "a check (check, node, ...)") != 0) {
		return -1;
	}
	c->line = (int)n->start_mark.line + 1;
	c->bound = SYNC_BOUND_DEFAULT;
	c->max_count = LLONG_MAX;
	kind_index = discriminator(ld, n, "check", check_names, "'check' (a check kind)");
	if (kind_index == -1) {
		return -1;
	}
	if (kind_index < 0) {
		return fail(ld, n,
		            "a check needs 'check' (synced, offset, rms, steps, rejected, "
		            "selected, event, packets, freq, query or bound)");
	}
	c->kind = check_kinds[kind_index];
	keys = check_keys_for(c->kind);
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = get(ld, pr->key), *v = get(ld, pr->value);
		const char *key = scalar(ld, k, "a field name");
		size_t mark;
		int rc = 0;

		if (key == NULL) {
			return -1;
		}
		if (strcmp(key, "check") == 0) {
			continue;
		}
		if (strcmp(key, "node") != 0 && !in_list(key, keys)) {
			uint64_t dummy = 0;
			char where[64];

			snprintf(where, sizeof(where), "a '%s' check", check_names[kind_index]);
			key_index(ld, k, keys, &dummy, where);
			return -1;
		}
		mark = path_key(ld, key);
		if (strcmp(key, "node") == 0) {
			rc = get_node_ref(ld, v, &c->nodes, false);
			have_node = true;
		} else if (strcmp(key, "within") == 0) {
			rc = get_time_nonneg(ld, v, &c->within);
			have_within = true;
		} else if (strcmp(key, "bound") == 0) {
			rc = get_time_nonneg(ld, v, &c->bound);
		} else if (strcmp(key, "after") == 0 || strcmp(key, "from") == 0) {
			rc = get_time_nonneg(ld, v, &c->from);
		} else if (strcmp(key, "to") == 0) {
			rc = get_time_nonneg(ld, v, &c->to);
		} else if (strcmp(key, "max") == 0 &&
		           (c->kind == SIM_CHECK_OFFSET || c->kind == SIM_CHECK_RMS)) {
			rc = get_time_nonneg(ld, v, &c->max);
			have_max = true;
		} else if (strcmp(key, "max") == 0 && c->kind == SIM_CHECK_FREQ) {
			rc = get_freq(ld, v, &c->max);
			if (rc == 0 && c->max < 0.0) {
				rc = fail(ld, v, "expected a frequency >= 0");
			}
			have_max = true;
		} else if (strcmp(key, "count") == 0) {
			rc = get_int(ld, v, 0, LLONG_MAX, &c->min);
			c->max_count = c->min;
			have_count = true;
		} else if (strcmp(key, "min") == 0) {
			rc = get_int(ld, v, 0, LLONG_MAX, &c->min);
			have_min = true;
		} else if (strcmp(key, "max") == 0) {
			rc = get_int(ld, v, 0, LLONG_MAX, &c->max_count);
			have_maxc = true;
		} else if (strcmp(key, "source") == 0) {
			rc = get_source(ld, v, c);
			have_source = true;
		} else if (strcmp(key, "reason") == 0 || strcmp(key, "result") == 0) {
			rc = get_text(ld, v, c->text, sizeof(c->text), "text to find");
			have_text = true;
		} else if (strcmp(key, "name") == 0) {
			const char *s = scalar(ld, v, "an event name");

			if (s == NULL) {
				rc = -1;
			} else if ((c->event_code = event_code_from_name(s)) == 0) {
				rc = fail(ld, v,
				          "unknown event name '%.40s' (names as ntpq shows "
				          "them, e.g. clock_step, sys_peer, no_sys_peer)",
				          s);
			}
			have_name = true;
		} else if (strcmp(key, "dir") == 0) {
			const char *s = scalar(ld, v, "sent, received or dropped");

			if (s == NULL) {
				rc = -1;
			} else if (strcmp(s, "sent") == 0) {
				c->dir = SIM_PKT_SENT;
			} else if (strcmp(s, "received") == 0) {
				c->dir = SIM_PKT_RECEIVED;
			} else if (strcmp(s, "dropped") == 0) {
				c->dir = SIM_PKT_DROPPED;
			} else {
				rc = fail(ld, v, "expected sent, received or dropped, got '%.40s'",
				          s);
			}
		} else if (strcmp(key, "min_fraction") == 0) {
			rc = get_prob(ld, v, &c->min_fraction);
			have_frac = true;
		}
		path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	}
	if (!have_node) {
		return fail(ld, n, "a check needs 'node'");
	}
	if (have_count && (have_min || have_maxc)) {
		return fail(ld, n, "give 'count' or 'min'/'max', not both");
	}
	if (c->min > c->max_count) {
		return fail(ld, n, "'min' is larger than 'max'");
	}
	switch (c->kind) {
	case SIM_CHECK_SYNCED:
		if (!have_within) {
			return fail(ld, n, "a 'synced' check needs 'within' (seconds)");
		}
		break;
	case SIM_CHECK_OFFSET:
	case SIM_CHECK_RMS:
	case SIM_CHECK_FREQ:
		if (!have_max) {
			return fail(ld, n, "a '%s' check needs 'max'", check_names[kind_index]);
		}
		if (c->kind == SIM_CHECK_RMS && c->to > 0.0 && c->to <= c->from) {
			return fail(ld, n, "'to' must come after 'from'");
		}
		break;
	case SIM_CHECK_STEPS:
	case SIM_CHECK_PACKETS:
	case SIM_CHECK_EVENT:
		if (!have_count && !have_min && !have_maxc) {
			return fail(ld, n, "a '%s' check needs 'count' or 'min'/'max'",
			            check_names[kind_index]);
		}
		if (c->kind == SIM_CHECK_EVENT && !have_name) {
			return fail(ld, n, "an 'event' check needs 'name'");
		}
		break;
	case SIM_CHECK_REJECTED:
	case SIM_CHECK_SELECTED:
		if (!have_source) {
			return fail(ld, n, "a '%s' check needs 'source'", check_names[kind_index]);
		}
		break;
	case SIM_CHECK_QUERY:
		if (!have_text) {
			return fail(ld, n, "a 'query' check needs 'result'");
		}
		break;
	default:
		if (!have_frac) {
			return fail(ld, n, "a 'bound' check needs 'min_fraction'");
		}
		break;
	}
	label_check(ld->sc, c, check_names[kind_index]);
	return 0;
}

static int
load_checks(loader *ld, const yaml_node_t *n)
{
	sim_scenario *sc = ld->sc;
	size_t len;

	if (expect_sequence(ld, n, "checks") != 0) {
		return -1;
	}
	len = seq_len(n);
	sc->checks = calloc(len + 1, sizeof(*sc->checks));
	if (sc->checks == NULL) {
		return fail(ld, n, "out of memory");
	}
	for (size_t i = 0; i < len; i++) {
		size_t mark = path_index(ld, i);
		int rc = load_check(ld, seq_item(ld, n, i), &sc->checks[i]);

		path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
		sc->n_checks++;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* top level                                                           */

static const char *const top_keys[] = {
        "name",       "description", "seed",  "start",    "duration", "sample_interval",
        "sync_bound", "network",     "nodes", "firewall", "events",   "checks",
        NULL,
};

enum {
	TK_NAME,
	TK_DESCRIPTION,
	TK_SEED,
	TK_START,
	TK_DURATION,
	TK_SAMPLE,
	TK_SYNC_BOUND,
	TK_NETWORK,
	TK_NODES,
	TK_FIREWALL,
	TK_EVENTS,
	TK_CHECKS,
	TK_COUNT
};

static int
load_top(loader *ld, const yaml_node_t *root)
{
	sim_scenario *sc = ld->sc;
	yaml_node_t *val[TK_COUNT] = {NULL};
	uint64_t seen = 0;
	long long ll;
	const char *s;

	if (root == NULL) {
		return fail(ld, NULL,
		            "empty scenario (expected a mapping with nodes and duration)");
	}
	if (expect_mapping(ld, root, "a scenario (name, duration, nodes, ...)") != 0) {
		return -1;
	}
	FOR_PAIRS(root, pr)
	{
		yaml_node_t *k = get(ld, pr->key);
		int i = key_index(ld, k, top_keys, &seen, "the scenario");

		if (i < 0) {
			return -1;
		}
		val[i] = get(ld, pr->value);
		if (val[i] == NULL) {
			return -1;
		}
	}
	if (val[TK_NAME] != NULL) {
		size_t mark = path_key(ld, "name");

		if (get_text(ld, val[TK_NAME], sc->name, sizeof(sc->name), "a scenario name") !=
		    0) {
			return -1;
		}
		path_restore(ld, mark);
	}
	if (val[TK_DESCRIPTION] != NULL && scalar(ld, val[TK_DESCRIPTION], "text") == NULL) {
		return -1;
	}
	if (val[TK_SEED] != NULL) {
		size_t mark = path_key(ld, "seed");

		s = scalar(ld, val[TK_SEED], "an integer seed");
		if (s == NULL || sim_parse_int(s, 0, LLONG_MAX, &ll) != 0) {
			return fail(ld, val[TK_SEED], "expected a seed from 0 to %lld", LLONG_MAX);
		}
		sc->seed = (uint64_t)ll;
		path_restore(ld, mark);
	}
	if (val[TK_START] != NULL) {
		long long ns;
		size_t mark = path_key(ld, "start");

		s = scalar(ld, val[TK_START], "a UTC date");
		if (s == NULL || sim_parse_utc(s, &ns) != 0) {
			return fail(ld, val[TK_START],
			            "expected a UTC time such as 2025-01-01T00:00:00Z or seconds "
			            "since 1970");
		}
		sc->start_ns = ns;
		path_restore(ld, mark);
	}
	if (val[TK_DURATION] == NULL) {
		return fail(ld, root, "the scenario needs 'duration' (how long to simulate)");
	} else {
		size_t mark = path_key(ld, "duration");

		if (get_duration(ld, val[TK_DURATION], &sc->duration) != 0 ||
		    check_range(ld, val[TK_DURATION], sc->duration, 1e-3, 1e9, "s") != 0) {
			return -1;
		}
		path_restore(ld, mark);
	}
	if (val[TK_SAMPLE] != NULL) {
		size_t mark = path_key(ld, "sample_interval");

		if (get_time_nonneg(ld, val[TK_SAMPLE], &sc->sample_interval) != 0) {
			return -1;
		}
		if (sc->sample_interval > 0.0 && sc->sample_interval < 1e-3) {
			return fail(ld, val[TK_SAMPLE], "expected 0 (off) or at least 1 ms");
		}
		path_restore(ld, mark);
	}
	if (val[TK_SYNC_BOUND] != NULL) {
		size_t mark = path_key(ld, "sync_bound");

		if (get_time_nonneg(ld, val[TK_SYNC_BOUND], &sc->sync_bound) != 0) {
			return -1;
		}
		path_restore(ld, mark);
	}
	if (val[TK_NODES] == NULL) {
		return fail(ld, root, "the scenario needs 'nodes'");
	}
	{
		size_t mark = path_key(ld, "nodes");
		int rc = load_nodes(ld, val[TK_NODES]);

		path_restore(ld, mark);
		if (rc != 0 || resolve_confs(ld) != 0) {
			return -1;
		}
	}
	if (val[TK_NETWORK] != NULL) {
		size_t mark = path_key(ld, "network");

		if (load_network(ld, val[TK_NETWORK]) != 0) {
			return -1;
		}
		path_restore(ld, mark);
	}
	if (val[TK_FIREWALL] != NULL) {
		size_t mark = path_key(ld, "firewall");

		if (load_firewall(ld, val[TK_FIREWALL]) != 0) {
			return -1;
		}
		path_restore(ld, mark);
	}
	if (val[TK_EVENTS] != NULL) {
		size_t mark = path_key(ld, "events");

		if (load_events(ld, val[TK_EVENTS]) != 0) {
			return -1;
		}
		path_restore(ld, mark);
	}
	if (val[TK_CHECKS] != NULL) {
		size_t mark = path_key(ld, "checks");

		if (load_checks(ld, val[TK_CHECKS]) != 0) {
			return -1;
		}
		path_restore(ld, mark);
	}
	return 0;
}

static void
scenario_defaults(sim_scenario *sc, const char *file)
{
	const char *base = strrchr(file, '/');
	char *dot;

	memset(sc, 0, sizeof(*sc));
	snprintf(sc->file, sizeof(sc->file), "%s", file);
	snprintf(sc->name, sizeof(sc->name), "%s", base != NULL ? base + 1 : file);
	dot = strrchr(sc->name, '.');
	if (dot != NULL && dot != sc->name) {
		*dot = '\0';
	}
	sc->seed = 1;
	sc->start_ns = DEFAULT_START_NS;
	sc->sync_bound = SYNC_BOUND_DEFAULT;
	netem_link_params_init(&sc->net_default);
}

int
sim_scenario_load_buffer(sim_scenario *sc, const char *file, const char *buf, size_t len, char *err,
                         size_t errsize)
{
	yaml_parser_t parser;
	loader ld;
	int rc;

	scenario_defaults(sc, file);
	memset(&ld, 0, sizeof(ld));
	ld.file = file;
	ld.err = err;
	ld.errsize = errsize;
	ld.sc = sc;
	if (errsize > 0) {
		err[0] = '\0';
	}
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errsize, "%s: out of memory", file);
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &ld.doc)) {
		snprintf(err, errsize, "%s:%lu:%lu: YAML syntax error: %s%s%s", file,
		         (unsigned long)parser.problem_mark.line + 1,
		         (unsigned long)parser.problem_mark.column + 1,
		         parser.problem != NULL ? parser.problem : "unknown",
		         parser.context != NULL ? " " : "",
		         parser.context != NULL ? parser.context : "");
		yaml_parser_delete(&parser);
		return -1;
	}
	rc = load_top(&ld, yaml_document_get_root_node(&ld.doc));
	yaml_document_delete(&ld.doc);
	yaml_parser_delete(&parser);
	if (rc != 0 || ld.failed) {
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
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t len = 0, cap = 65536;
	int rc;

	if (f == NULL) {
		scenario_defaults(sc, path);
		snprintf(err, errsize, "%s: cannot open scenario file", path);
		return -1;
	}
	buf = malloc(cap);
	while (buf != NULL) {
		size_t got = fread(buf + len, 1, cap - len, f);

		len += got;
		if (len < cap) {
			break;
		}
		if (cap >= MAX_FILE_BYTES) {
			free(buf);
			buf = NULL;
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
		snprintf(err, errsize, "%s: cannot read the file (larger than %d bytes?)", path,
		         MAX_FILE_BYTES);
		return -1;
	}
	rc = sim_scenario_load_buffer(sc, path, buf, len, err, errsize);
	free(buf);
	return rc;
}

void
sim_scenario_free(sim_scenario *sc)
{
	for (size_t i = 0; i < sc->n_nodes; i++) {
		free(sc->nodes[i].conf);
		free(sc->nodes[i].query_at);
	}
	/* load_nodes may fail midway: the template being loaded is not
	 * counted but may own memory. */
	if (sc->nodes != NULL) {
		free(sc->nodes[sc->n_nodes].conf);
		free(sc->nodes[sc->n_nodes].query_at);
	}
	free(sc->nodes);
	for (size_t i = 0; i < sc->n_links + 1 && sc->links != NULL; i++) {
		free(sc->links[i].trace);
	}
	free(sc->links);
	free(sc->net_default_trace);
	free(sc->fw);
	free(sc->fw_line);
	for (size_t i = 0; i < sc->n_events; i++) {
		free(sc->events[i].groups);
		free(sc->events[i].link.trace);
	}
	free(sc->events);
	free(sc->checks);
	free(sc->warnings);
	memset(sc, 0, sizeof(*sc));
}
