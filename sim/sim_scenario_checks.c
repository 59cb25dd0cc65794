/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The scenario's checks: what a run must show to pass, and each check's
 * label in the report (docs/scenarios.md, "Checks").
 */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ntp_host.h"
#include "ntp_units.h"
#include "sim_check.h"
#include "sim_scenario_load.h"

/* ------------------------------------------------------------------ */
/* checks                                                              */

static const char *const check_names[] = {
        "synced", "offset", "rms",   "steps", "rejected", "selected", "event", "packets",
        "freq",   "query",  "bound", "state", "log",      "interval", "leap",  NULL,
};

enum { LEAP_INDEX = 14 }; /* check_names[14]: the leap check */

const char *
sim_check_kind_name(int kind)
{
	if (kind < SIM_CHECK_SYNCED || kind > SIM_CHECK_INTERVAL) {
		return "unknown";
	}
	return check_names[kind - SIM_CHECK_SYNCED];
}

static const int check_kinds[] = {
        SIM_CHECK_SYNCED,   SIM_CHECK_OFFSET,   SIM_CHECK_RMS,   SIM_CHECK_STEPS,
        SIM_CHECK_REJECTED, SIM_CHECK_SELECTED, SIM_CHECK_EVENT, SIM_CHECK_PACKETS,
        SIM_CHECK_FREQ,     SIM_CHECK_QUERY,    SIM_CHECK_BOUND, SIM_CHECK_STATE,
        SIM_CHECK_LOG,      SIM_CHECK_INTERVAL, SIM_CHECK_EVENT, /* leap: an event check on the leap
                                                                    events (load_leap_expect) */
};

static int
get_source(loader *ld, const yaml_node_t *v, sim_check_spec *c)
{
	const char *s = ld_scalar(ld, v, "a node name or address");
	sim_range r;

	if (s == NULL) {
		return -1;
	}
	c->have_source = true;
	snprintf(c->source_name, sizeof(c->source_name), "%s", s);
	if (sim_scenario_find(ld->sc, s, &r) == 0) {
		if (r.count != 1) {
			return ld_fail(ld, v, "'%.40s' names %u nodes; name one", s, r.count);
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
		return ld_fail(ld, v, "no node named '%.40s' and not an address", s);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* labels                                                              */

static void label_add(sim_check_spec *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void
label_add(sim_check_spec *c, const char *fmt, ...)
{
	size_t len = strlen(c->label);
	va_list ap;

	if (len + 1 >= sizeof(c->label)) {
		return;
	}
	va_start(ap, fmt);
	if ((size_t)vsnprintf(c->label + len, sizeof(c->label) - len, fmt, ap) >=
	    sizeof(c->label) - len) {
		ld_utf8_trim(c->label); /* cut: not inside a character (fuzz_scenario) */
	}
	va_end(ap);
}

/* A range's end: a time (all its digits: step sizes need them) or +-inf. */
static const char *
format_bound(double t, char *buf, size_t size)
{
	if (isinf(t)) {
		snprintf(buf, size, "%sinf", t < 0 ? "-" : "");
	} else {
		snprintf(buf, size, "%.12g s", t);
	}
	return buf;
}

static void
label_window(sim_check_spec *c)
{
	char a[32], b[32];

	sim_check_format_time(c->from, a, sizeof(a));
	sim_check_format_time(c->to > 0.0 ? c->to : INFINITY, b, sizeof(b));
	if (c->when == SIM_WHEN_AT && isinf(c->from)) {
		return; /* the default: at the end */
	}
	if (c->when == SIM_WHEN_AT) {
		label_add(c, " at %s", a);
	} else {
		label_add(c, " %s [%s, %s]", c->when == SIM_WHEN_NEVER ? "never in" : "throughout",
		          a, b);
	}
}

static void
label_counts(sim_check_spec *c)
{
	if (c->min == 0 && c->max_count == LLONG_MAX) {
		return; /* no count asked for */
	}
	if (c->min == c->max_count) {
		label_add(c, " == %lld", c->min);
	} else if (c->max_count == LLONG_MAX) {
		label_add(c, " >= %lld", c->min);
	} else {
		label_add(c, " in [%lld, %lld]", c->min, c->max_count);
	}
}

static void
label_times(const sim_scenario *sc, sim_check_spec *c)
{
	char a[32], b[32], who[SIM_NAME_MAX + 12] = "its", ref[SIM_WHAT_MAX + SIM_NAME_MAX + 24];

	if (c->since_line && c->other.count == 1) {
		sim_scenario_node_name(sc, c->other.first, who, sizeof(who));
		snprintf(who + strlen(who), sizeof(who) - strlen(who), "'s");
	}
	if (c->since_line) {
		snprintf(ref, sizeof(ref), "%s first %s", who, c->since_match.what);
	} else {
		snprintf(ref, sizeof(ref), "%g s", c->since);
	}
	if (c->have_first) {
		label_add(c, " first in [%s, %s] from %s", format_bound(c->first_lo, a, sizeof(a)),
		          format_bound(c->first_hi, b, sizeof(b)), ref);
	}
	if (c->have_last) {
		label_add(c, " last in [%s, %s] from %s", format_bound(c->last_lo, a, sizeof(a)),
		          format_bound(c->last_hi, b, sizeof(b)), ref);
	}
}

/* A state variable's value as the check writes it. */
static const char *
format_state_value(int field, double v, char *buf, size_t size)
{
	if (field == SIM_SF_RUNNING || field == SIM_SF_PRESENT) {
		snprintf(buf, size, "%s", v != 0.0 ? "true" : "false");
	} else if (field == SIM_SF_WHEN && v < 0.0) {
		snprintf(buf, size, "never");
	} else if (field == SIM_SF_WHEN || field == SIM_SF_EST_ERROR) {
		format_bound(v, buf, size);
	} else if (field == SIM_SF_REACH) {
		snprintf(buf, size, "%o", (unsigned)v);
	} else {
		snprintf(buf, size, "%g", v);
	}
	return buf;
}

static void
label_state(sim_check_spec *c)
{
	char a[32], b[32];

	for (size_t i = 0; i < c->n_conds; i++) {
		const sim_state_cond *k = &c->conds[i];
		const char *name = sim_state_field_names[k->field];

		if (k->field == SIM_SF_REFID || k->field == SIM_SF_TYPE ||
		    k->field == SIM_SF_TALLY || k->field == SIM_SF_REASON) {
			label_add(c, "%s %s '%s'", i ? "," : "", name, k->text);
		} else if (k->lo == k->hi) {
			label_add(c, "%s %s %s", i ? "," : "", name,
			          format_state_value(k->field, k->lo, a, sizeof(a)));
		} else {
			label_add(c, "%s %s [%s, %s]", i ? "," : "", name,
			          format_state_value(k->field, k->lo, a, sizeof(a)),
			          format_state_value(k->field, k->hi, b, sizeof(b)));
		}
	}
}

static void
label_kind(const sim_scenario *sc, sim_check_spec *c)
{
	char a[32], b[32];
	static const char *const dirs[] = {"sent", "received", "dropped"};

	(void)sc;
	switch (c->kind) {
	case SIM_CHECK_SYNCED:
		if (c->when == SIM_WHEN_NEVER) {
			label_window(c);
		} else {
			label_add(c, " %swithin %g s", c->not_within ? "not " : "", c->within);
		}
		label_add(c, " (|offset| < %s)", ntp_format_seconds(c->bound, a, sizeof(a)));
		break;
	case SIM_CHECK_OFFSET:
		if (isinf(c->max)) {
			label_add(c, " max |offset| after %g s", c->from);
			break;
		}
		label_add(c, " |offset| < %s after %g s", ntp_format_seconds(c->max, a, sizeof(a)),
		          c->from);
		break;
	case SIM_CHECK_RMS:
	case SIM_CHECK_FREQ:
		if (c->kind == SIM_CHECK_FREQ && !c->rms && c->to <= 0.0) {
			label_add(c, " |freq error| < %g ppm after %g s", c->max * 1e6, c->from);
			break;
		}
		if (isinf(c->max)) {
			a[0] = '\0'; /* judged only against another node */
		} else if (c->kind == SIM_CHECK_FREQ) {
			snprintf(a, sizeof(a), " < %g ppm", c->max * 1e6);
		} else {
			snprintf(a, sizeof(a), " < ");
			ntp_format_seconds(c->max, a + 3, sizeof(a) - 3);
		}
		label_add(c, " %s%s%s over [%g s, %s]",
		          c->kind == SIM_CHECK_FREQ && !c->rms ? "|freq error|" : "rms ",
		          c->kind == SIM_CHECK_RMS ? "offset"
		          : c->rms                 ? "freq error"
		                                   : "",
		          a, c->from,
		          sim_check_format_time(c->to > 0.0 ? c->to : INFINITY, b, sizeof(b)));
		break;
	case SIM_CHECK_EVENT:
		label_add(c, " %s%s%s%s", ntp_event_name(c->event_code), c->text[0] ? " '" : "",
		          c->text, c->text[0] ? "'" : "");
		break;
	case SIM_CHECK_LOG:
		label_add(c, " %s '%s'", c->what[0] ? c->what : "any", c->text);
		break;
	case SIM_CHECK_PACKETS:
		label_add(c, " %s", dirs[c->dir]);
		break;
	case SIM_CHECK_STEPS:
		if (c->have_by) {
			label_add(c, " by [%s, %s]", format_bound(c->by_lo, a, sizeof(a)),
			          format_bound(c->by_hi, b, sizeof(b)));
		}
		break;
	case SIM_CHECK_REJECTED:
		label_add(c, " source %s '%s'", c->source_name, c->text);
		break;
	case SIM_CHECK_SELECTED:
	case SIM_CHECK_STATE:
		if (c->have_source) {
			label_add(c, " source %s", c->source_name);
		}
		label_window(c);
		label_state(c);
		break;
	case SIM_CHECK_QUERY:
		label_add(c, " result '%s'", c->text);
		break;
	case SIM_CHECK_INTERVAL:
		label_add(c, " %s%s%s", dirs[c->dir],
		          c->have_source ? (c->dir == SIM_PKT_SENT ? " to " : " from ") : "",
		          c->have_source ? c->source_name : "");
		if (isfinite(c->ivl_min_lo) || isfinite(c->ivl_min_hi)) {
			label_add(c, " shortest in [%s, %s]",
			          format_bound(c->ivl_min_lo, a, sizeof(a)),
			          format_bound(c->ivl_min_hi, b, sizeof(b)));
		}
		if (isfinite(c->ivl_mean_lo) || isfinite(c->ivl_mean_hi)) {
			label_add(c, " mean in [%s, %s]",
			          format_bound(c->ivl_mean_lo, a, sizeof(a)),
			          format_bound(c->ivl_mean_hi, b, sizeof(b)));
		}
		break;
	default:
		label_add(c, " held >= %g%% of synced time", c->min_fraction * 100.0);
		break;
	}
}

static void
label_check(const sim_scenario *sc, sim_check_spec *c, const char *kind_name)
{
	char who[SIM_NAME_MAX + 24], other[SIM_NAME_MAX + 12]; /* + " (4294967295 nodes)" */

	if (c->nodes.count == 1) {
		sim_scenario_node_name(sc, c->nodes.first, who, sizeof(who));
	} else {
		snprintf(who, sizeof(who), "%s (%u nodes)",
		         sim_scenario_tmpl(sc, c->nodes.first)->name, c->nodes.count);
	}
	snprintf(c->label, sizeof(c->label), "%s %s", kind_name, who);
	label_kind(sc, c);
	if (c->kind == SIM_CHECK_STEPS || c->kind == SIM_CHECK_EVENT || c->kind == SIM_CHECK_LOG ||
	    c->kind == SIM_CHECK_PACKETS) {
		label_counts(c);
		label_times(sc, c);
	}
	if (c->cmp != SIM_CMP_NONE) {
		sim_scenario_node_name(sc, c->other.first, other, sizeof(other));
		label_add(c, " %s %g x %s's", c->cmp == SIM_CMP_MORE ? ">" : "<", c->factor, other);
	}
}

/* ------------------------------------------------------------------ */
/* fields                                                              */

/* Which fields a check gave (the rules between them come after all). */
typedef struct check_seen {
	const char *key; /* the field being read: rows that share a getter tell by it */
	bool node, max, count, min, maxc, within, source, text, name, frac;
	bool from, to, at, never, first, last, since, rms, mean, dir;
	unsigned fields; /* STATE: bit per enum sim_state_field */
	const yaml_node_t *field_node[SIM_SF_COUNT];
} check_seen;

/* The getters of the rows below: obj is the sim_check_spec, ctx the
 * check_seen (the rules after the fields read what was given). */

/* within, not_within: a time >= 0 in the run (the end included) */
static int
get_within(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	sim_check_spec *c = obj;
	check_seen *f = ctx;

	f->within = true;
	c->not_within = f->key[0] == 'n';
	if (ld_get_time_nonneg(ld, v, &c->within) != 0) {
		return -1;
	}
	return ld_check_in_run(ld, v, c->within, true,
	                       "the run cannot show whether the node was synced by then");
}

/* after, from: a time >= 0 in the run; an rms window must not start at the end */
static int
get_from(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	sim_check_spec *c = obj;
	check_seen *f = ctx;

	if (f->from) {
		return ld_fail(ld, v, "give 'after' or 'from', not both");
	}
	f->from = true;
	if (ld_get_time_nonneg(ld, v, &c->from) != 0) {
		return -1;
	}
	/* the last sample is at the end; an rms window needs length */
	return ld_check_in_run(ld, v, c->from, c->kind != SIM_CHECK_RMS,
	                       "the check would have no samples to judge");
}

/* to: a time > 0 in the run, or end */
static int
get_to(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	sim_check_spec *c = obj;
	check_seen *f = ctx;
	double t;

	f->to = true;
	if (ld_get_check_time(ld, v, &t) != 0) {
		return -1;
	}
	if (t == 0.0) {
		return ld_fail(ld, v, "'to' 0 s leaves no window (the run starts at 0)");
	}
	c->to = isinf(t) ? 0.0 : t; /* 0: the end */
	return 0;
}

/* at: a time in the run, or end */
static int
get_at(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	((check_seen *)ctx)->at = true;
	return ld_get_check_time(ld, v, &((sim_check_spec *)obj)->from);
}

/* never: true or false */
static int
get_never(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	(void)obj;
	return ld_get_bool(ld, v, &((check_seen *)ctx)->never);
}

/* max of OFFSET, RMS: a time >= 0 */
static int
get_max_time(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	((check_seen *)ctx)->max = true;
	return ld_get_time_nonneg(ld, v, &((sim_check_spec *)obj)->max);
}

/* max, rms of FREQ: a frequency >= 0 */
static int
get_max_freq(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	sim_check_spec *c = obj;
	check_seen *f = ctx;

	if (f->max) {
		return ld_fail(ld, v, "give 'max' or 'rms', not both (two checks judge both)");
	}
	f->max = true;
	c->rms = f->key[0] == 'r';
	if (ld_get_freq(ld, v, &c->max) != 0) {
		return -1;
	}
	return c->max < 0.0 ? ld_fail(ld, v, "expected a frequency >= 0") : 0;
}

/* min of INTERVAL: a time (a lower bound) or [min, max] */
static int
get_ivl_min(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	sim_check_spec *c = obj;

	((check_seen *)ctx)->min = true;
	return ld_get_time_floor(ld, v, &c->ivl_min_lo, &c->ivl_min_hi);
}

/* mean of INTERVAL: a time (a lower bound) or [min, max] */
static int
get_ivl_mean(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	sim_check_spec *c = obj;

	((check_seen *)ctx)->mean = true;
	return ld_get_time_floor(ld, v, &c->ivl_mean_lo, &c->ivl_mean_hi);
}

/* count: N or A-B */
static int
get_count(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	sim_check_spec *c = obj;

	((check_seen *)ctx)->count = true;
	return ld_get_count(ld, v, &c->min, &c->max_count);
}

/* min of a counted check: an integer >= 0 */
static int
get_min_count(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	((check_seen *)ctx)->min = true;
	return ld_get_int(ld, v, 0, LLONG_MAX, &((sim_check_spec *)obj)->min);
}

/* max of a counted check: an integer >= 0 */
static int
get_max_count(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	((check_seen *)ctx)->maxc = true;
	return ld_get_int(ld, v, 0, LLONG_MAX, &((sim_check_spec *)obj)->max_count);
}

/* by: [min, max] of step sizes, s, any sign */
static int
get_by(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	sim_check_spec *c = obj;

	(void)ctx;
	c->have_by = true;
	return ld_get_time_range(ld, v, true, &c->by_lo, &c->by_hi);
}

/* source, peer: a node name or an address */
static int
get_source_field(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	((check_seen *)ctx)->source = true;
	return get_source(ld, v, obj);
}

/* reason, result, text: the text to find */
static int
get_text(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	sim_check_spec *c = obj;

	((check_seen *)ctx)->text = true;
	return ld_get_text(ld, v, c->text, sizeof(c->text), "text to find");
}

/* name: an event name */
static int
get_name(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	char name[SIM_WHAT_MAX];

	((check_seen *)ctx)->name = true;
	return ld_get_event_name(ld, v, name, sizeof(name), &((sim_check_spec *)obj)->event_code);
}

/* what: a log line's kind */
static int
get_what(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	sim_check_spec *c = obj;

	(void)ctx;
	return ld_get_what(ld, v, c->what, sizeof(c->what));
}

/* dir: sent, received or dropped (in enum sim_packet_dir order); an
 * interval has no dropped packets */
static int
get_dir(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	static const char *const dirs[] = {"sent", "received", "dropped", NULL};
	static const char *const timed[] = {"sent", "received", NULL};
	sim_check_spec *c = obj;
	bool iv = c->kind == SIM_CHECK_INTERVAL;
	int d = ld_get_choice(ld, v, iv ? timed : dirs,
	                      iv ? "sent or received" : "sent, received or dropped");

	((check_seen *)ctx)->dir = true;
	c->dir = d < 0 ? SIM_PKT_SENT : d;
	return d < 0 ? -1 : 0;
}

/* min_fraction: 0..1 */
static int
get_min_fraction(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	((check_seen *)ctx)->frac = true;
	return ld_get_prob(ld, v, &((sim_check_spec *)obj)->min_fraction);
}

/* first, last: [min, max] of times from the reference, any sign */
static int
get_first_last(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	sim_check_spec *c = obj;
	check_seen *f = ctx;

	if (strcmp(f->key, "first") == 0) {
		f->first = c->have_first = true;
		return ld_get_time_range(ld, v, true, &c->first_lo, &c->first_hi);
	}
	f->last = c->have_last = true;
	return ld_get_time_range(ld, v, true, &c->last_lo, &c->last_hi);
}

/* since: a time, or the first event or log line matched */
static int
get_since(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	((check_seen *)ctx)->since = true;
	return ld_get_since(ld, v, obj);
}

/* more_than, less_than: a factor times another node's value */
static int
get_compare(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	int cmp = ((check_seen *)ctx)->key[0] == 'm' ? SIM_CMP_MORE : SIM_CMP_LESS;

	return ld_get_compare(ld, v, cmp, obj);
}

static int
state_field_index(const char *key)
{
	for (int i = 0; sim_state_field_names[i] != NULL; i++) {
		if (strcmp(key, sim_state_field_names[i]) == 0) {
			return i;
		}
	}
	return -1;
}

/* a STATE variable: its value or [min, max] (sim_check_state.c) */
static int
get_state_var(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	sim_check_spec *c = obj;
	check_seen *f = ctx;
	int field = state_field_index(f->key);

	if (c->n_conds >= SIM_STATE_CONDS_MAX) {
		return ld_fail(ld, v, "at most %d variables per check; split it",
		               SIM_STATE_CONDS_MAX);
	}
	f->fields |= 1u << field;
	f->field_node[field] = v;
	if (ld_get_state_cond(ld, v, field, &c->conds[c->n_conds]) != 0) {
		return -1;
	}
	c->n_conds++;
	return 0;
}

static int get_leap_expect(loader *ld, const yaml_node_t *v, void *obj, void *ctx);

/* A check's field: its row, and which kinds take it (bit i: check_names[i]).
 * A key a kind does not take is unknown there; one key can have a row per
 * group of kinds, each of its own type. */
typedef struct check_field {
	ld_field f;
	uint32_t kinds;
	const char *value; /* what the value is: its type, unit and range (the getter reads it) */
} check_field;

#define K_SYNCED   (1u << 0)
#define K_OFFSET   (1u << 1)
#define K_RMS      (1u << 2)
#define K_STEPS    (1u << 3)
#define K_REJECTED (1u << 4)
#define K_SELECTED (1u << 5)
#define K_EVENT    (1u << 6)
#define K_PACKETS  (1u << 7)
#define K_FREQ     (1u << 8)
#define K_QUERY    (1u << 9)
#define K_BOUND    (1u << 10)
#define K_STATE    (1u << 11)
#define K_LOG      (1u << 12)
#define K_INTERVAL (1u << 13)
#define K_LEAP     (1u << 14)

#define K_COUNTED (K_STEPS | K_EVENT | K_LOG | K_PACKETS)

#define ROW(k, g, kk, v)                                                                           \
	{                                                                                          \
		{.key = (k), .type = LD_FT_CUSTOM, .get = (g)}, (kk), (v)                          \
	}
#define STATE_VAR(k) ROW(k, get_state_var, K_STATE, "its value or [min, max] (sim_check_state.c)")

/* Every check field (docs/scenarios.md, "Checks"), besides 'check' and
 * 'node', which all take.  The order is each kind's order of fields in
 * the unknown-field message ("fields: ...") and its "did you mean". */
static const check_field check_fields[] = {
        ROW("within", get_within, K_SYNCED, "s, >= 0, in the run (the end included)"),
        ROW("not_within", get_within, K_SYNCED, "s, >= 0, in the run (the end included)"),
        ROW("never", get_never, K_SYNCED, "true or false"),
        ROW("source", get_source_field, K_REJECTED | K_SELECTED | K_STATE,
            "a node name (one node) or an address; 127.127.x or LOCAL: a driver"),
        ROW("at", get_at, K_SELECTED | K_STATE, "s, >= 0, in the run, or end"),
        ROW("after", get_from, K_OFFSET | K_FREQ, "s, >= 0, in the run (rms: before the end)"),
        ROW("from", get_from, K_SYNCED | K_RMS | K_FREQ | K_SELECTED | K_STATE,
            "s, >= 0, in the run (rms: before the end)"),
        ROW("to", get_to, K_SYNCED | K_RMS | K_FREQ | K_SELECTED | K_STATE,
            "s, > 0, in the run, or end"),
        ROW("never", get_never, K_SELECTED | K_STATE, "true or false"),
        {{.key = "bound", .type = LD_FT_TIME, LD_MEMBER(sim_check_spec, bound)},
         K_SYNCED,
         "s, >= 0"},
        STATE_VAR("stratum"),
        STATE_VAR("leap"),
        STATE_VAR("poll"),
        STATE_VAR("refid"),
        STATE_VAR("running"),
        STATE_VAR("est_error"),
        STATE_VAR("reach"),
        STATE_VAR("type"),
        STATE_VAR("tally"),
        STATE_VAR("when"),
        STATE_VAR("reason"),
        STATE_VAR("present"),
        ROW("name", get_name, K_EVENT, "an event name (ntp_event_name)"),
        ROW("what", get_what, K_LOG, "a log line's kind"),
        ROW("text", get_text, K_LOG, "text to find, < SIM_TEXT_MAX characters"),
        ROW("reason", get_text, K_REJECTED | K_EVENT, "text to find, < SIM_TEXT_MAX characters"),
        ROW("dir", get_dir, K_PACKETS | K_INTERVAL,
            "sent, received or dropped (interval: sent or received)"),
        ROW("peer", get_source_field, K_INTERVAL,
            "a node name (one node) or an address; 127.127.x or LOCAL: a driver"),
        ROW("count", get_count, K_COUNTED, "N or A-B, integers >= 0"),
        ROW("min", get_min_count, K_COUNTED, "an integer >= 0"),
        ROW("min", get_ivl_min, K_INTERVAL, "s: a lower bound, or [min, max]"),
        ROW("mean", get_ivl_mean, K_INTERVAL, "s: a lower bound, or [min, max]"),
        ROW("max", get_max_time, K_OFFSET | K_RMS, "s, >= 0"),
        ROW("max", get_max_freq, K_FREQ, "s/s (ppm, ppb), >= 0; rms: of the error"),
        ROW("rms", get_max_freq, K_FREQ, "s/s (ppm, ppb), >= 0; rms: of the error"),
        ROW("max", get_max_count, K_COUNTED, "an integer >= 0"),
        ROW("by", get_by, K_STEPS, "[min, max] of step sizes, s, any sign, +-inf"),
        ROW("expect", get_leap_expect, K_LEAP,
            "announced, inserted, deleted, not_inserted or not_announced"),
        ROW("first", get_first_last, K_EVENT | K_LOG | K_LEAP,
            "[min, max], s from the reference, any sign, +-inf"),
        ROW("last", get_first_last, K_EVENT | K_LOG | K_LEAP,
            "[min, max], s from the reference, any sign, +-inf"),
        ROW("since", get_since, K_EVENT | K_LOG | K_LEAP,
            "s, or the first event or log line matched"),
        ROW("more_than", get_compare, K_OFFSET | K_RMS | K_FREQ | K_COUNTED,
            "{node: NAME, factor: F}: F x that node's value"),
        ROW("less_than", get_compare, K_OFFSET | K_RMS | K_FREQ | K_COUNTED,
            "{node: NAME, factor: F}: F x that node's value"),
        ROW("result", get_text, K_QUERY, "text to find, < SIM_TEXT_MAX characters"),
        ROW("min_fraction", get_min_fraction, K_BOUND, "0..1 (5%, 0.05)"),
        {{.key = NULL}, 0, NULL},
};

_Static_assert(sizeof(check_fields) / sizeof(check_fields[0]) - 1 <= LD_FIELDS_MAX - 2,
               "a bit of a uint64_t per row, and node's and check's (given_twice)");

/* The row of key for check kind kind_index, or NULL: a field it does not take. */
static const ld_field *
check_field_row(int kind_index, const char *key)
{
	for (const check_field *r = check_fields; r->f.key != NULL; r++) {
		if ((r->kinds & (1u << kind_index)) && strcmp(r->f.key, key) == 0) {
			return &r->f;
		}
	}
	return NULL;
}

/* The keys kind_index takes, in table order, NULL after the last. */
static void
check_field_keys(int kind_index, const char *keys[LD_FIELDS_MAX + 1])
{
	int n = 0;

	for (const check_field *r = check_fields; r->f.key != NULL && n < LD_FIELDS_MAX; r++) {
		if (r->kinds & (1u << kind_index)) {
			keys[n++] = r->f.key;
		}
	}
	keys[n] = NULL;
}

/* ------------------------------------------------------------------ */
/* the rules between fields                                            */

/* SELECTED, STATE: at a time, throughout a window, or never in it. */
static int
resolve_when(loader *ld, const yaml_node_t *n, sim_check_spec *c, const check_seen *f)
{
	if (f->at && (f->from || f->to || f->never)) {
		return ld_fail(ld, n, "'at' is one time; 'from'/'to' and 'never' judge a window");
	}
	if (f->never) {
		c->when = SIM_WHEN_NEVER;
	} else if (f->from || f->to) {
		c->when = SIM_WHEN_OVER;
	} else {
		c->when = SIM_WHEN_AT;
		if (!f->at) {
			c->from = INFINITY; /* the end */
		}
	}
	if (c->when != SIM_WHEN_AT && c->to > 0.0 && c->to <= c->from) {
		return ld_fail(ld, n, "'to' must come after 'from'");
	}
	return 0;
}

static int
check_synced(loader *ld, const yaml_node_t *n, sim_check_spec *c, const check_seen *f)
{
	if (f->within == f->never) {
		return ld_fail(ld, n,
		               "a 'synced' check needs 'within' (seconds), 'not_within' or "
		               "'never: true'%s",
		               f->within ? ", one of them" : "");
	}
	if (!f->never && (f->from || f->to)) {
		return ld_fail(ld, n, "'from' and 'to' are the window of 'never: true'");
	}
	if (f->never) {
		c->when = SIM_WHEN_NEVER;
		if (c->to > 0.0 && c->to <= c->from) {
			return ld_fail(ld, n, "'to' must come after 'from'");
		}
	}
	return 0;
}

static int
check_counted(loader *ld, const yaml_node_t *n, sim_check_spec *c, const check_seen *f,
              const char *kind_name)
{
	bool timed = f->first || f->last;

	if (f->count && (f->min || f->maxc)) {
		return ld_fail(ld, n, "give 'count' or 'min'/'max', not both");
	}
	if (c->min > c->max_count) {
		return ld_fail(ld, n, "'min' is larger than 'max'");
	}
	if (!f->count && !f->min && !f->maxc && !timed && c->cmp == SIM_CMP_NONE) {
		return ld_fail(ld, n, "a '%s' check needs 'count' or 'min'/'max'%s", kind_name,
		               c->kind == SIM_CHECK_EVENT || c->kind == SIM_CHECK_LOG
		                       ? " (or 'first'/'last')"
		                       : "");
	}
	if (f->since && !timed) {
		return ld_fail(ld, n, "'since' is the reference of 'first' and 'last'; give one");
	}
	if (c->kind == SIM_CHECK_EVENT && !f->name) {
		return ld_fail(ld, n, "an 'event' check needs 'name'");
	}
	if (c->kind == SIM_CHECK_LOG && c->what[0] == '\0' && !f->text) {
		return ld_fail(ld, n, "a 'log' check needs 'what' or 'text'");
	}
	return 0;
}

/* Which variables belong to an association, which to the system. */
#define ASSOC_ONLY                                                                                 \
	((1u << SIM_SF_REACH) | (1u << SIM_SF_TYPE) | (1u << SIM_SF_TALLY) | (1u << SIM_SF_WHEN) | \
	 (1u << SIM_SF_REASON) | (1u << SIM_SF_PRESENT))
#define SYSTEM_ONLY ((1u << SIM_SF_LEAP) | (1u << SIM_SF_RUNNING) | (1u << SIM_SF_EST_ERROR))

static int
check_state(loader *ld, const yaml_node_t *n, sim_check_spec *c, const check_seen *f)
{
	unsigned wrong = f->source ? f->fields & SYSTEM_ONLY : f->fields & ASSOC_ONLY;

	if (f->fields == 0) {
		return ld_fail(ld, n,
		               "a 'state' check needs a variable (stratum, leap, poll, refid, "
		               "running, est_error; with 'source': stratum, poll, refid, "
		               "reach, type, tally, when, reason, present)");
	}
	for (int i = 0; wrong != 0 && i < SIM_SF_COUNT; i++) {
		if (wrong & (1u << i)) {
			return ld_fail(ld, f->field_node[i], "'%s' is a variable of %s",
			               sim_state_field_names[i],
			               f->source ? "the system: leave out 'source'"
			                         : "an association: name it with 'source'");
		}
	}
	for (size_t i = 0; i < c->n_conds; i++) {
		if (c->conds[i].field == SIM_SF_PRESENT && c->conds[i].hi == 0.0 &&
		    c->n_conds > 1) {
			return ld_fail(
			        ld, f->field_node[SIM_SF_PRESENT],
			        "'present: false' leaves no variables to check; drop the others");
		}
	}
	return resolve_when(ld, n, c, f);
}

static int
check_rules(loader *ld, const yaml_node_t *n, sim_check_spec *c, const check_seen *f,
            const char *kind_name)
{
	switch (c->kind) {
	case SIM_CHECK_SYNCED:
		return check_synced(ld, n, c, f);
	case SIM_CHECK_OFFSET:
	case SIM_CHECK_RMS:
	case SIM_CHECK_FREQ:
		if (!f->max && c->cmp == SIM_CMP_NONE) {
			return ld_fail(ld, n, "a '%s' check needs '%s'", kind_name,
			               c->kind == SIM_CHECK_FREQ ? "max' or 'rms" : "max");
		}
		if (c->to > 0.0 && c->to <= c->from) {
			return ld_fail(ld, n, "'to' must come after 'from'");
		}
		return 0;
	case SIM_CHECK_STEPS:
	case SIM_CHECK_PACKETS:
	case SIM_CHECK_EVENT:
	case SIM_CHECK_LOG:
		return check_counted(ld, n, c, f, kind_name);
	case SIM_CHECK_REJECTED:
		return f->source ? 0 : ld_fail(ld, n, "a 'rejected' check needs 'source'");
	case SIM_CHECK_SELECTED:
		return resolve_when(ld, n, c, f);
	case SIM_CHECK_STATE:
		return check_state(ld, n, c, f);
	case SIM_CHECK_QUERY:
		return f->text ? 0 : ld_fail(ld, n, "a 'query' check needs 'result'");
	case SIM_CHECK_INTERVAL:
		if (!f->dir) {
			return ld_fail(ld, n, "an 'interval' check needs 'dir' (sent or received)");
		}
		if (!f->min && !f->mean) {
			return ld_fail(ld, n, "an 'interval' check needs 'min' or 'mean'");
		}
		return 0;
	default:
		return f->frac ? 0 : ld_fail(ld, n, "a 'bound' check needs 'min_fraction'");
	}
}

static void
check_defaults(sim_check_spec *c)
{
	c->bound = SYNC_BOUND_DEFAULT;
	c->max = INFINITY; /* OFFSET, RMS, FREQ judged only against another node */
	c->max_count = LLONG_MAX;
	c->ivl_min_lo = c->ivl_mean_lo = -INFINITY;
	c->ivl_min_hi = c->ivl_mean_hi = INFINITY;
}

/* `check: leap`: what a node did about a leap second, as the event check
 * on the host's leap events it stands for (docs/scenarios.md). */
static int
get_leap_expect(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	sim_check_spec *c = obj;
	check_seen *f = ctx;
	/* announced: armed at least once; inserted / deleted: one leap_event of
	 * that kind; not_inserted: no leap_event; not_announced: never armed */
	static const char *const expects[] = {"announced",    "inserted",      "deleted",
	                                      "not_inserted", "not_announced", NULL};
	int i = ld_get_choice(ld, v, expects,
	                      "announced, inserted, deleted, not_inserted or not_announced");

	if (i < 0) {
		return -1;
	}
	f->name = true;
	c->event_code = i == 0 || i == 4 ? NTP_EV_LEAP_ARMED : NTP_EV_LEAP_EVENT;
	snprintf(c->text, sizeof(c->text), "%s", i == 1 ? "inserted" : i == 2 ? "deleted" : "");
	f->text = c->text[0] != '\0';
	f->count = i != 0;
	f->min = i == 0;
	c->min = i == 1 || i == 2 || i == 0 ? 1 : 0;
	c->max_count = i == 0 ? LLONG_MAX : i == 1 || i == 2 ? 1 : 0;
	return 0;
}

/* Whether key was given before in this check (bit i: check_fields[i], the
 * last two: node and check); the value given first is kept, as in every
 * other mapping of the format.  Before, a check read a key given twice
 * twice, and the last value silently won. */
static bool
given_twice(loader *ld, const yaml_node_t *k, const char *key, const ld_field *row, uint64_t *given)
{
	unsigned bit = row != NULL ? (unsigned)((const check_field *)row - check_fields)
	               : strcmp(key, "node") == 0 ? LD_FIELDS_MAX - 2
	                                          : LD_FIELDS_MAX - 1;

	if (*given & (UINT64_C(1) << bit)) {
		ld_fail(ld, k, "field '%s' given twice", key);
		return true;
	}
	*given |= UINT64_C(1) << bit;
	return false;
}

/* A field kind_index does not take: the error names the fields it does. */
static void
report_unknown(loader *ld, const yaml_node_t *k, int kind_index)
{
	const char *keys[LD_FIELDS_MAX + 1];
	uint64_t unused = 0; /* only the message: a known key is not reported here */
	char where[64];

	check_field_keys(kind_index, keys);
	snprintf(where, sizeof(where), "a '%s' check", check_names[kind_index]);
	ld_key_index(ld, k, keys, &unused, where);
}

static int
load_check(loader *ld, const yaml_node_t *n, sim_check_spec *c)
{
	int kind_index = -1;
	check_seen f;
	uint64_t given = 0;
	unsigned errors = ld->n_errors;

	if (ld_expect_mapping(ld, n, "a check (check, node, ...)") != 0) {
		return -1;
	}
	memset(&f, 0, sizeof(f));
	c->line = (int)n->start_mark.line + 1;
	check_defaults(c);
	kind_index = ld_discriminator(ld, n, "check", check_names, "'check' (a check kind)");
	if (kind_index == -1) {
		return -1;
	}
	if (kind_index < 0) {
		return ld_fail(ld, n,
		               "a check needs 'check' (synced, offset, rms, steps, rejected, "
		               "selected, event, packets, freq, query, bound, state, log, "
		               "interval or leap)");
	}
	c->kind = check_kinds[kind_index];
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key), *v = ld_get(ld, pr->value);
		const char *key = ld_scalar(ld, k, "a field name");
		const ld_field *row;
		size_t mark;
		int rc;

		if (ld->fatal) {
			return -1;
		}
		if (key == NULL) {
			continue;
		}
		row = check_field_row(kind_index, key);
		if (strcmp(key, "node") != 0 && strcmp(key, "check") != 0 && row == NULL) {
			report_unknown(ld, k, kind_index);
			continue;
		}
		if (given_twice(ld, k, key, row, &given) || strcmp(key, "check") == 0) {
			continue; /* check: read first (ld_discriminator) */
		}
		mark = ld_path_key(ld, key);
		if (row == NULL) {
			f.node = true;
			rc = ld_get_node_ref(ld, v, &c->nodes, false);
		} else {
			f.key = key;
			rc = ld_read_field(ld, row, v, c, &f);
		}
		ld_path_restore(ld, mark);
		if (rc != 0 && ld->fatal) {
			return -1;
		}
	}
	/* The rules below would only repeat a field's own error. */
	if (ld_errors_since(ld, errors) != 0) {
		return -1;
	}
	if (!f.node) {
		return ld_fail(ld, n, "a check needs 'node'");
	}
	if (kind_index == LEAP_INDEX && !f.name) {
		return ld_fail(ld, n,
		               "a 'leap' check needs 'expect' (announced, inserted, deleted, "
		               "not_inserted or not_announced)");
	}
	if (check_rules(ld, n, c, &f, check_names[kind_index]) != 0) {
		return -1;
	}
	label_check(ld->sc, c, check_names[kind_index]);
	return 0;
}

int
ld_load_checks(loader *ld, const yaml_node_t *n)
{
	sim_scenario *sc = ld->sc;
	unsigned errors = ld->n_errors;
	size_t len;

	sc->checks = ld_list_array(ld, n, "checks", 1, sizeof(*sc->checks), &len);
	if (sc->checks == NULL) {
		return -1;
	}
	for (size_t i = 0; i < len && !ld->fatal; i++) {
		size_t mark = ld_path_index(ld, i);
		sim_check_spec *c = &sc->checks[sc->n_checks];

		if (load_check(ld, ld_seq_item(ld, n, i), c) == 0) {
			sc->n_checks++;
		} else {
			memset(c, 0, sizeof(*c)); /* the slot is used again */
		}
		ld_path_restore(ld, mark);
	}
	return ld_errors_since(ld, errors);
}
