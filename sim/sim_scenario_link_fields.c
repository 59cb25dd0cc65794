/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The field readers of a link (tc-netem strings or fields, delay traces,
 * Gilbert-Elliott loss, from/to ends) and what a link event starts from:
 * read by the network section and by link events alike, so they live
 * below both (sim_scenario_load.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntp_units.h"
#include "sim_scenario_load.h"

#define MAX_TRACE_POINTS 1000000 /* delays of a TRACE distribution (ours) */
#define PASS_ONE_IN_MAX  1000000 /* packets, largest N of pass_one_in (ours) */
#define REORDER_GAP_MAX  1000000 /* packets, largest reorder gap (ours) */

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
	const char *s = ld_scalar(ld, n, "tc-netem parameters such as \"delay 1ms 100us\"");

	if (s == NULL) {
		return -1;
	}
	if (netem_link_parse(s, p, reason, sizeof(reason)) != 0) {
		return ld_fail(ld, n, "bad tc-netem parameters: %s", reason);
	}
	return 0;
}

static int
get_trace(loader *ld, const yaml_node_t *n, double **trace, size_t *len)
{
	size_t count;

	if (ld_expect_sequence(ld, n, "one-way delays") != 0) {
		return -1;
	}
	count = ld_seq_len(n);
	if (count == 0 || count > MAX_TRACE_POINTS) {
		return ld_fail(ld, n, "expected 1 to %d delays", MAX_TRACE_POINTS);
	}
	free(*trace);
	*trace = calloc(count, sizeof(double));
	if (*trace == NULL) {
		return ld_fatal(ld, n, "out of memory");
	}
	*len = count;
	for (size_t i = 0; i < count; i++) {
		size_t mark = ld_path_index(ld, i);
		int rc = ld_get_time_nonneg(ld, ld_seq_item(ld, n, i), &(*trace)[i]);

		ld_path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	}
	return 0;
}

/* The rows of ld_link_fields: bits of the seen mask. */
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
	LK_COPIES,
	LK_PASS,
	LK_EXTRA,
	LK_UP,
	LK_FROM,
	LK_TO,
	LK_BOTH,
	LK_FIRST_OTHER
};

/* tc-netem's positional form "p [r [1-h [1-k]]]", percentages as tc's
 * loss gemodel takes them; only numbers (tc's keywords would be parsed). */
static int
get_gemodel_string(loader *ld, const yaml_node_t *n, netem_link_params *p)
{
	const char *s = (const char *)n->data.scalar.value;
	char spec[160], reason[200];
	netem_link_params q;
	int words = 0;

	for (const char *w = s + strspn(s, " \t\n"); *w != '\0'; w += strspn(w, " \t\n")) {
		if (!(w[0] >= '0' && w[0] <= '9') && w[0] != '.') {
			words = 5; /* not a number: refused below */
			break;
		}
		words++;
		w += strcspn(w, " \t\n");
	}
	if (words < 1 || words > 4 || strlen(s) > 100) {
		return ld_fail(ld, n,
		               "expected tc-netem's \"p [r [1-h [1-k]]]\" (1 to 4 percentages, "
		               "e.g. \"1%% 30%% 100%% 0%%\") or a mapping {p, r, loss_bad, "
		               "loss_good}, got '%.60s'",
		               s);
	}
	snprintf(spec, sizeof(spec), "loss gemodel %s", s);
	if (netem_link_parse(spec, &q, reason, sizeof(reason)) != 0) {
		return ld_fail(ld, n, "bad gemodel: %s", reason);
	}
	p->ge = true;
	p->ge_p = q.ge_p;
	p->ge_r = q.ge_r;
	p->ge_loss_bad = q.ge_loss_bad;
	p->ge_loss_good = q.ge_loss_good;
	return 0;
}

/* gemodel's h and k meant tc's 1-h and 1-k and are refused, so that no
 * file keeps either reading silently: say what to write instead. */
static void
refuse_h_k(loader *ld, const yaml_node_t *k, const yaml_node_t *v)
{
	bool h = ((const char *)k->data.scalar.value)[0] == 'h';
	const char *s = v->type == YAML_SCALAR_NODE ? (const char *)v->data.scalar.value : "";
	double x;

	if (ntp_parse_prob(s, &x) != 0) {
		x = h ? 1.0 : 0.0;
	}
	ld_fail(ld, k,
	        "gemodel field '%s' is ambiguous and no longer read (it meant tc's 1-%s, the loss "
	        "probability in the %s state): write %s: %g%% for that, or %s: %g%% if you meant "
	        "%s itself",
	        h ? "h" : "k", h ? "h" : "k", h ? "bad" : "good", h ? "loss_bad" : "loss_good",
	        x * 100.0, h ? "loss_bad" : "loss_good", (1.0 - x) * 100.0, h ? "h" : "k");
}

/* Gilbert-Elliott loss as tc-netem's `loss gemodel p [r [1-h [1-k]]]`: a
 * mapping {p, r, loss_bad, loss_good} or tc's positional string.
 * loss_bad is tc's 1-h, the loss probability in the bad state; loss_good
 * its 1-k, in the good state.  The whole model is given here: what is
 * left out takes tc's defaults (r = 1 - p, loss_bad 100%, loss_good 0). */
/* gemodel's four probabilities, by table into these (v[i]: row i); r < 0:
 * not given (1 - p then).  h and k are refused before the table is asked,
 * so they stay out of its list of fields; p is required, named below once
 * the others read cleanly. */
#define GE_ROW(k, i)                                                                               \
	{                                                                                          \
		.key = (k), .type = LD_FT_PROB, .off = (i) * sizeof(double),                       \
		.size = sizeof(double)                                                             \
	}

static const ld_field gemodel_fields[] = {
        GE_ROW("p", 0),         GE_ROW("r", 1), GE_ROW("loss_bad", 2),
        GE_ROW("loss_good", 3), {.key = NULL},
};

static int
get_gemodel(loader *ld, const yaml_node_t *n, void *obj, void *ctx)
{
	netem_link_params *p = obj;

	(void)ctx;
	const char *keys[LD_FIELDS_MAX + 1];
	double v[4] = {0.0, -1.0, 1.0, 0.0};
	uint64_t seen = 0;
	unsigned errors = ld->n_errors;

	if (n->type == YAML_SCALAR_NODE) {
		return get_gemodel_string(ld, n, p);
	}
	if (ld_expect_mapping(ld, n, "Gilbert-Elliott loss {p, r, loss_bad, loss_good}") != 0) {
		return -1;
	}
	ld_field_keys(gemodel_fields, keys);
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key), *val = ld_get(ld, pr->value);
		const char *key =
		        k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";
		int i;

		if (strcmp(key, "h") == 0 || strcmp(key, "k") == 0) {
			refuse_h_k(ld, k, val);
			continue;
		}
		i = ld_key_index(ld, k, keys, &seen, "gemodel");
		if (i >= 0) {
			size_t mark = ld_path_key(ld, keys[i]);

			ld_read_field(ld, &gemodel_fields[i], val, v, NULL);
			ld_path_restore(ld, mark);
		}
	}
	if (!(seen & 1) && ld_errors_since(ld, errors) == 0) {
		ld_fail(ld, n, "gemodel needs 'p' (the probability of going from good to bad)");
	}
	p->ge = true;
	p->ge_p = v[0];
	p->ge_r = v[1] >= 0.0 ? v[1] : 1.0 - v[0];
	p->ge_loss_bad = v[2];
	p->ge_loss_good = v[3];
	return ld_errors_since(ld, errors);
}

/* The scalar that switches an inherited extra or up off ("none",
 * "always"), or -1 when v is not that scalar. */
static int
switched_off(const yaml_node_t *v, const char *word)
{
	if (v->type != YAML_SCALAR_NODE) {
		return -1;
	}
	return strcmp((const char *)v->data.scalar.value, word) == 0 ? 0 : -1;
}

/* A delay mixture and an up window, read by table into these before
 * they are checked together and land in the link's parameters. */
struct extra_value {
	double fraction; /* of the packets */
	double delay;    /* s, added to them */
};

struct up_value {
	double up_for; /* s up... */
	double every;  /* s, ...of every */
	double from;   /* s, the first window's start */
};

static const ld_field extra_fields[] = {
        {"fraction", LD_FT_PROB, LD_MEMBER(struct extra_value, fraction),
         .missing = "extra needs 'fraction'"},
        {"delay", LD_FT_TIME, LD_MEMBER(struct extra_value, delay),
         .missing = "extra needs 'delay'"},
        {.key = NULL},
};

static const ld_field up_fields[] = {
        {"for", LD_FT_TIME, LD_MEMBER(struct up_value, up_for), .missing = "up needs 'for'"},
        {"every", LD_FT_TIME, LD_MEMBER(struct up_value, every), .missing = "up needs 'every'"},
        {"from", LD_FT_TIME, LD_MEMBER(struct up_value, from)},
        {.key = NULL},
};

/* A delay mixture {fraction, delay} (chrony 126-burst: 70 % of packets
 * 150 ms later), or `none`.  One field: it replaces an inherited mixture. */
static int
get_extra(loader *ld, const yaml_node_t *n, void *obj, void *ctx)
{
	netem_link_params *p = obj;

	(void)ctx;
	struct extra_value v = {0.0, 0.0};
	uint64_t seen = 0;

	if (switched_off(n, "none") == 0) {
		p->extra_fraction = 0.0;
		p->extra_delay = 0.0;
		return 0;
	}
	if (ld_expect_mapping(ld, n, "a delay mixture {fraction: 70%, delay: 150ms} or none") !=
	    0) {
		return -1;
	}
	if (ld_read_fields(ld, n, extra_fields, &v, NULL, "extra", &seen) != 0) {
		return -1;
	}
	if (!(v.delay > 0.0)) {
		return ld_fail(ld, n, "extra.delay must be more than 0 s (or write extra: none)");
	}
	p->extra_fraction = v.fraction;
	p->extra_delay = v.delay;
	return 0;
}

/* An up window {for, every, from} (chrony 014-intermittent: up 1200 s of
 * every 10,000 s), or `always`.  One field, like extra. */
static int
get_up(loader *ld, const yaml_node_t *n, void *obj, void *ctx)
{
	netem_link_params *p = obj;

	(void)ctx;
	struct up_value v = {0.0, 0.0, 0.0};
	uint64_t seen = 0;

	if (switched_off(n, "always") == 0) {
		p->up_for = p->up_every = p->up_from = 0.0;
		return 0;
	}
	if (ld_expect_mapping(
	            ld, n, "an up window {for: 1200s, every: 10000s, from: 0s} or always") != 0) {
		return -1;
	}
	if (ld_read_fields(ld, n, up_fields, &v, NULL, "up", &seen) != 0) {
		return -1;
	}
	if (!(v.up_for > 0.0 && v.up_for <= v.every)) {
		return ld_fail(ld, n,
		               "up.for must be more than 0 s and at most up.every, got for %g s, "
		               "every %g s",
		               v.up_for, v.every);
	}
	if (v.every > NETEM_TIME_MAX_S || v.from > NETEM_TIME_MAX_S) {
		return ld_fail(ld, n,
		               "up.every and up.from must be at most %g s (libnetem's limit)",
		               NETEM_TIME_MAX_S);
	}
	p->up_for = v.up_for;
	p->up_every = v.every;
	p->up_from = v.from;
	return 0;
}

static int
get_dist(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	netem_link_params *p = obj;

	(void)ctx;
	const char *s = ld_scalar(ld, v, "a distribution name");
	int d = s != NULL ? dist_from_name(s) : -1;

	if (s == NULL) {
		return -1;
	}
	if (d < 0) {
		return ld_fail(ld, v,
		               "expected constant, uniform, normal, exponential, pareto, "
		               "paretonormal or trace, got '%.40s'",
		               s);
	}
	p->dist = d;
	return 0;
}

static int
get_trace_field(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	netem_link_params *p = obj;
	double **trace = ctx;
	int rc = get_trace(ld, v, trace, &p->trace_len);

	p->trace = *trace;
	p->dist = NETEM_DIST_TRACE;
	return rc;
}

static int
get_loss(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	netem_link_params *p = obj;

	(void)ctx;
	p->ge = false; /* one loss model, as in tc: this replaces an inherited gemodel */
	return ld_get_prob(ld, v, &p->loss);
}

#define LINK(m) LD_MEMBER(netem_link_params, m)

/* The fields of a link (docs/scenarios.md, "Network"), in enum LK_ order;
 * netem is read first by ld_get_link_fields, from/to/both by
 * ld_get_link_ends; the custom getters take the trace's owner as ctx. */
const ld_field ld_link_fields[] = {
        {.key = "netem", .type = LD_FT_LATER},
        {"delay", LD_FT_TIME, LINK(delay)},
        {"jitter", LD_FT_TIME, LINK(jitter)},
        {"delay_corr", LD_FT_PROB, LINK(delay_corr)},
        {"dist", LD_FT_CUSTOM, .get = get_dist},
        {"trace", LD_FT_CUSTOM, .get = get_trace_field},
        {"loss", LD_FT_CUSTOM, .get = get_loss},
        {"loss_corr", LD_FT_PROB, LINK(loss_corr)},
        {"gemodel", LD_FT_CUSTOM, .get = get_gemodel},
        {"duplicate", LD_FT_PROB, LINK(duplicate)},
        {"duplicate_corr", LD_FT_PROB, LINK(duplicate_corr)},
        {"reorder", LD_FT_PROB, LINK(reorder)},
        {"reorder_corr", LD_FT_PROB, LINK(reorder_corr)},
        {"reorder_gap", LD_FT_INT, LINK(reorder_gap), .min = 0, .max = REORDER_GAP_MAX},
        {"rate", LD_FT_RATE, LINK(rate)},
        {"down", LD_FT_BOOL, LINK(down)},
        {"copies", LD_FT_INT, LINK(copies), .min = 1, .max = NETEM_COPIES_MAX},
        {"pass_one_in", LD_FT_INT, LINK(pass_one_in), .min = 1, .max = PASS_ONE_IN_MAX},
        {"extra", LD_FT_CUSTOM, .get = get_extra},
        {"up", LD_FT_CUSTOM, .get = get_up},
        {.key = "from", .type = LD_FT_LATER},
        {.key = "to", .type = LD_FT_LATER},
        {.key = "both", .type = LD_FT_LATER},
        {.key = NULL},
};

_Static_assert(sizeof(ld_link_fields) / sizeof(ld_link_fields[0]) == LK_FIRST_OTHER + 1,
               "a row of ld_link_fields for each LK_ key");

static bool
skipped_key(const yaml_node_t *k, const char *const *skip)
{
	return skip != NULL && k->type == YAML_SCALAR_NODE &&
	       ld_in_list((const char *)k->data.scalar.value, skip);
}

/* Link fields of a mapping into p: a `netem` string first (it replaces p
 * entirely, as a tc-netem command line does), then each field overrides
 * its own parameter.  `allow_ends` says whether from/to/both may appear
 * (network.links entries and link events; ld_get_link_ends reads them);
 * keys in `skip` belong to the caller. */
int
ld_get_link_fields(loader *ld, const yaml_node_t *n, netem_link_params *p, double **trace,
                   bool allow_ends, const char *const *skip, const char *where)
{
	uint64_t seen = 0;
	char reason[200];
	unsigned errors = ld->n_errors;
	const char *keys[LD_FIELDS_MAX + 1];

	ld_field_keys(ld_link_fields, keys);

	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key);

		if (k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, "netem") == 0) {
			size_t mark = ld_path_key(ld, "netem");

			get_netem_string(ld, ld_get(ld, pr->value), p);
			ld_path_restore(ld, mark);
		}
	}
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key), *v = ld_get(ld, pr->value);
		int i = skipped_key(k, skip) ? -1 : ld_key_index(ld, k, keys, &seen, where);
		size_t mark;

		if (ld->fatal) {
			return -1;
		}
		if (i < 0) {
			continue;
		}
		if (i >= LK_FROM && !allow_ends) {
			ld_fail(ld, k, "field '%s' is not allowed here", keys[i]);
			continue;
		}
		mark = ld_path_key(ld, keys[i]);
		ld_read_field(ld, &ld_link_fields[i], v, p, trace);
		ld_path_restore(ld, mark);
	}
	if ((seen & (UINT64_C(1) << LK_LOSS)) && (seen & (UINT64_C(1) << LK_GEMODEL))) {
		ld_fail(ld, n,
		        "give 'loss' or 'gemodel', not both (tc-netem takes one loss model)");
	}
	/* copies of the entry's own with nothing duplicated would do nothing
	 * (an inherited copies is fine: the entry may switch duplicate off) */
	if ((seen & (UINT64_C(1) << LK_COPIES)) && p->copies > 1 && !(p->duplicate > 0.0)) {
		ld_fail(ld, n,
		        "copies: %d has no effect without duplicate (every packet: duplicate: "
		        "100%%)",
		        p->copies);
	}
	/* A delay of the entry's own replaces an inherited delay trace. */
	if ((seen & (UINT64_C(1) << LK_DELAY | UINT64_C(1) << LK_JITTER)) &&
	    !(seen & (UINT64_C(1) << LK_TRACE | UINT64_C(1) << LK_DIST)) &&
	    p->dist == NETEM_DIST_TRACE) {
		p->dist = NETEM_DIST_UNIFORM;
		p->trace = NULL;
		p->trace_len = 0;
	}
	/* The fields' own errors say more than a range check of what is left. */
	if (ld_errors_since(ld, errors) != 0) {
		return -1;
	}
	if (netem_link_params_check(p, reason, sizeof(reason)) != 0) {
		return ld_fail(ld, n, "bad link parameters: %s", reason);
	}
	return 0;
}

/* A link given as a tc-netem string (complete, as tc takes it) or a
 * mapping of fields, each overriding its own parameter of *base. */
int
ld_get_link_params(loader *ld, const yaml_node_t *n, netem_link_params *p, double **trace,
                   bool allow_ends, const char *where, const netem_link_params *base)
{
	char reason[200];

	*p = *base; /* a base trace stays owned by the base's spec */
	if (n != NULL && n->type == YAML_SCALAR_NODE) {
		if (get_netem_string(ld, n, p) != 0) {
			return -1;
		}
		if (netem_link_params_check(p, reason, sizeof(reason)) != 0) {
			return ld_fail(ld, n, "bad link parameters: %s", reason);
		}
		return 0;
	}
	if (ld_expect_mapping(ld, n, "link parameters: a tc-netem string or fields") != 0) {
		return -1;
	}
	return ld_get_link_fields(ld, n, p, trace, allow_ends, NULL, where);
}

/* from/to/both of a link entry ("*" = any node). */
int
ld_get_link_ends(loader *ld, const yaml_node_t *n, sim_link_spec *l, bool *both)
{
	bool have_from = false, have_to = false;
	const yaml_node_t *to = n;
	unsigned errors = ld->n_errors;

	*both = false;
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key), *v = ld_get(ld, pr->value);
		const char *key;
		size_t mark;

		if (ld->fatal) {
			return -1;
		}
		key = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";
		if (strcmp(key, "from") != 0 && strcmp(key, "to") != 0 &&
		    strcmp(key, "both") != 0) {
			continue;
		}
		mark = ld_path_key(ld, key);
		if (strcmp(key, "both") == 0) {
			ld_get_bool(ld, v, both);
		} else {
			bool is_from = key[0] == 'f';
			const char *s = ld_scalar(ld, v, "a node name or *");

			if (s != NULL && strcmp(s, "*") == 0) {
				*(is_from ? &l->from_any : &l->to_any) = true;
			} else if (s != NULL) {
				ld_get_node_ref(ld, v, is_from ? &l->from : &l->to, false);
			}
			*(is_from ? &have_from : &have_to) = true;
			to = is_from ? to : v;
		}
		ld_path_restore(ld, mark);
	}
	if (!have_from || !have_to) {
		ld_fail(ld, n, "a link needs both 'from' and 'to' (a node name or *)");
	}
	/* A node's packets to itself never cross a link: such an entry would
	 * change nothing.  (A template to itself still links its replicas.) */
	if (ld_errors_since(ld, errors) == 0 && !l->from_any && !l->to_any && l->from.count == 1 &&
	    l->to.count == 1 && l->from.first == l->to.first) {
		size_t mark = ld_path_key(ld, "to");

		ld_fail(ld, to,
		        "a link from a node to itself: no packet takes it; name two different "
		        "nodes");
		ld_path_restore(ld, mark);
	}
	return ld_errors_since(ld, errors);
}

/* ------------------------------------------------------------------ */
/* what a link event starts from                                       */

/* A link end as a range of nodes ('*': all of them). */
static sim_range
end_range(const sim_scenario *sc, sim_range r, bool any)
{
	return any ? (sim_range){0, sc->total_nodes} : r;
}

static bool
overlaps(sim_range a, sim_range b)
{
	return a.first < b.first + b.count && b.first < a.first + a.count;
}

static bool
contains(sim_range a, sim_range b)
{
	return a.first <= b.first && b.first + b.count <= a.first + a.count;
}

/* The links entry the pairs from -> to take in the file: the last one
 * that matches any of them, or NULL (network.default) when none does.
 * *all: it matches every one of the pairs, so they all take it. */
static const sim_link_spec *
file_spec_for(const sim_scenario *sc, sim_range from, sim_range to, bool *all)
{
	for (size_t i = sc->n_links; i-- > 0;) {
		const sim_link_spec *s = &sc->links[i];
		sim_range sf = end_range(sc, s->from, s->from_any);
		sim_range st = end_range(sc, s->to, s->to_any);

		if (overlaps(sf, from) && overlaps(st, to)) {
			*all = contains(sf, from) && contains(st, to);
			return s;
		}
	}
	*all = true;
	return NULL;
}

static bool
has_key(loader *ld, const yaml_node_t *n, const char *key)
{
	FOR_PAIRS(n, pr)
	{
		const yaml_node_t *k = ld_get(ld, pr->key);

		if (k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, key) == 0) {
			return true;
		}
	}
	return false;
}

/* A link event's fields modify what the file gives its links (their
 * links entry, else network.default), not what earlier events set, so an
 * event with no fields restores them.  All its pairs must take the same
 * entry, in both directions with both: true (the engine gives both one set
 * of parameters).  A `netem:` string is complete and needs no base. */
int
ld_link_event_base(loader *ld, const yaml_node_t *n, const sim_link_spec *l, bool both,
                   netem_link_params *p)
{
	const sim_scenario *sc = ld->sc;
	sim_range from = end_range(sc, l->from, l->from_any), to = end_range(sc, l->to, l->to_any);
	bool all = true, all_back = true;
	const sim_link_spec *s = file_spec_for(sc, from, to, &all);
	const sim_link_spec *back = both ? file_spec_for(sc, to, from, &all_back) : s;

	if (has_key(ld, n, "netem")) {
		netem_link_params_init(p);
		return 0;
	}
	if (!all || !all_back) {
		return ld_fail(ld, n,
		               "the links entry at line %d matches only some of this event's "
		               "links, so they start from different parameters; split the event "
		               "or give it a complete 'netem:' string",
		               all ? back->line : s->line);
	}
	if (s != back && (s == NULL || back == NULL || s->line != back->line)) {
		return ld_fail(ld, n,
		               "with both: true, the two directions start from different "
		               "parameters (%s and %s); give each direction its own event",
		               s != NULL ? "a links entry" : "network.default",
		               back != NULL ? "a links entry" : "network.default");
	}
	*p = s != NULL ? s->p : sc->net_default;
	return 0;
}
