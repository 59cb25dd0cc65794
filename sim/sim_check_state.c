/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Checks of a node's state over time: `selected`, `state`, and `synced`
 * with `never`.  Each observation is reduced to a fixed-size view (what
 * the check looks at) and a yes/no; a window keeps only the state in
 * effect when it opens and the first observation against the check, so
 * memory does not grow with the run.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ntp_units.h"
#include "sim_check.h"

/* In enum sim_state_field order; the loader reads the same names. */
const char *const sim_state_field_names[] = {
        "stratum", "leap",  "poll", "refid",  "running", "est_error", "reach",
        "type",    "tally", "when", "reason", "present", NULL,
};

static double
window_to(const sim_check_spec *c)
{
	if (c->when == SIM_WHEN_AT) {
		return c->from;
	}
	return c->to > 0.0 ? c->to : INFINITY;
}

static void
view_of(const sim_check_spec *c, const sim_state *s, sim_state_view *v, const char **reason)
{
	memset(v, 0, sizeof(*v));
	*reason = "";
	v->t = s->t;
	v->running = s->running;
	v->has_peer = s->has_peer;
	v->offset = s->offset;
	v->est_error = s->offset - s->est_offset;
	v->when = -1.0;
	if (!c->have_source) {
		v->present = true;
		v->stratum = s->stratum;
		v->leap = s->leap;
		v->poll = s->poll;
		snprintf(v->refid, sizeof(v->refid), "%s", s->refid);
		return;
	}
	for (size_t i = 0; i < s->n_peers; i++) {
		const ntp_peer_info *p = &s->peers[i];

		if (!sim_check_is_source(c, p)) {
			continue;
		}
		v->present = true;
		v->stratum = p->stratum;
		v->poll = p->poll;
		v->reach = p->reach;
		v->type = p->type;
		v->tally = p->tally;
		v->when = p->when < 0.0 ? -1.0 : p->when;
		snprintf(v->refid, sizeof(v->refid), "%s", p->refid);
		snprintf(v->reason, sizeof(v->reason), "%.63s", p->reason);
		*reason = p->reason;
		return;
	}
}

/* The number a numeric field has in a view. */
static double
field_value(int field, const sim_state_view *v)
{
	switch (field) {
	case SIM_SF_STRATUM:
		return v->stratum;
	case SIM_SF_LEAP:
		return v->leap;
	case SIM_SF_POLL:
		return v->poll;
	case SIM_SF_RUNNING:
		return v->running ? 1.0 : 0.0;
	case SIM_SF_EST_ERROR:
		return v->est_error;
	case SIM_SF_REACH:
		return v->reach;
	case SIM_SF_WHEN:
		return v->when;
	default:
		return v->present ? 1.0 : 0.0;
	}
}

static bool
cond_holds(const sim_state_cond *k, const sim_state_view *v, const char *reason)
{
	if (k->field != SIM_SF_PRESENT && !v->present) {
		return false; /* an association that is not listed has no variables */
	}
	switch (k->field) {
	case SIM_SF_REFID:
		return strcmp(v->refid, k->text) == 0;
	case SIM_SF_TYPE:
		return v->type == k->text[0];
	case SIM_SF_TALLY:
		return v->tally == k->text[0];
	case SIM_SF_REASON:
		return sim_contains_nocase(reason, k->text);
	default: {
		double x = field_value(k->field, v);

		return x >= k->lo && x <= k->hi;
	}
	}
}

/* Does the observed state match what the check asks for? */
static bool
state_matches(const sim_check_spec *c, const sim_state_view *v, const char *reason)
{
	if (c->kind == SIM_CHECK_SELECTED) {
		if (!c->have_source) {
			return v->has_peer;
		}
		return v->present && (v->tally == '*' || v->tally == 'o');
	}
	for (size_t i = 0; i < c->n_conds; i++) {
		if (!cond_holds(&c->conds[i], v, reason)) {
			return false;
		}
	}
	return true;
}

void
sim_check_window_feed(const sim_check_spec *c, sim_check_acc *a, const sim_state_view *v, bool ok,
                      bool points)
{
	bool against;

	/* States last until the next one: the last at or before `from` is
	 * in effect when the window opens.  Samples (points) only count
	 * inside it. */
	if (!points && v->t <= c->from) {
		a->have_before = true;
		a->before_ok = ok;
		a->before = *v;
		return;
	}
	if (v->t < c->from || v->t > window_to(c)) {
		return;
	}
	a->count++;
	against = c->when == SIM_WHEN_NEVER ? ok : !ok;
	if (against && !a->hit) {
		a->hit = true;
		a->first_bad = *v;
	}
}

void
sim_check_state(const sim_check_spec *c, sim_check_acc *a, const sim_state *s)
{
	sim_state_view v;
	const char *reason;

	if (c->kind != SIM_CHECK_SELECTED && c->kind != SIM_CHECK_STATE) {
		return;
	}
	view_of(c, s, &v, &reason);
	sim_check_window_feed(c, a, &v, state_matches(c, &v, reason), false);
}

/* ------------------------------------------------------------------ */
/* verdicts                                                            */

/* Append ", item" (or the first item) to a list in out. */
static void
append_item(char *out, size_t size, const char *item)
{
	size_t len = strlen(out);

	if (len + 1 < size) {
		snprintf(out + len, size - len, "%s%s", len == 0 ? "" : ", ", item);
	}
}

static const char *
format_field(int field, double x, char *buf, size_t size)
{
	if (field == SIM_SF_EST_ERROR) {
		return ntp_format_seconds(x, buf, size);
	}
	if (field == SIM_SF_WHEN && x < 0.0) {
		snprintf(buf, size, "never");
	} else if (field == SIM_SF_WHEN) {
		snprintf(buf, size, "%.0f s", x);
	} else if (field == SIM_SF_REACH && isfinite(x)) {
		snprintf(buf, size, "%o", (unsigned)x);
	} else if (field == SIM_SF_RUNNING || field == SIM_SF_PRESENT) {
		snprintf(buf, size, "%s", x != 0.0 ? "true" : "false");
	} else {
		snprintf(buf, size, "%g", x);
	}
	return buf;
}

/* Can "by how much" be said of a field?  Not of flags, of the reach
 * register (its bits are no quantity), nor of a `when` of never. */
static bool
has_distance(const sim_state_cond *k, double x)
{
	if (k->field == SIM_SF_RUNNING || k->field == SIM_SF_PRESENT || k->field == SIM_SF_REACH) {
		return false;
	}
	return !(k->field == SIM_SF_WHEN && (x < 0.0 || k->lo < 0.0));
}

/* "poll 11 (want [6, 10], 1 over)": a condition and, when it does not
 * hold, what it wanted and by how much it missed. */
static void
describe_cond(const sim_state_cond *k, const sim_state_view *v, bool holds, char *out, size_t size)
{
	const char *name = sim_state_field_names[k->field];
	char x[32], lo[32], hi[32], d[32], miss[48] = "";
	double have;

	if (k->field == SIM_SF_REFID || k->field == SIM_SF_REASON) {
		const char *seen = k->field == SIM_SF_REFID ? v->refid : v->reason;

		if (holds) {
			snprintf(out, size, "%s '%.60s'", name, seen);
		} else {
			snprintf(out, size, "%s '%.60s' (want '%.60s')", name, seen, k->text);
		}
		return;
	}
	if (k->field == SIM_SF_TYPE || k->field == SIM_SF_TALLY) {
		char seen = k->field == SIM_SF_TYPE ? v->type : v->tally;

		if (holds) {
			snprintf(out, size, "%s '%c'", name, seen ? seen : ' ');
		} else {
			snprintf(out, size, "%s '%c' (want '%c')", name, seen ? seen : ' ',
			         k->text[0]);
		}
		return;
	}
	have = field_value(k->field, v);
	format_field(k->field, have, x, sizeof(x));
	if (holds) {
		snprintf(out, size, "%s %s", name, x);
		return;
	}
	format_field(k->field, k->lo, lo, sizeof(lo));
	format_field(k->field, k->hi, hi, sizeof(hi));
	if (has_distance(k, have)) {
		format_field(k->field, have < k->lo ? k->lo - have : have - k->hi, d, sizeof(d));
		snprintf(miss, sizeof(miss), ", %s %s", d, have < k->lo ? "below" : "over");
	}
	if (k->lo == k->hi) {
		snprintf(out, size, "%s %s (want %s%s)", name, x, lo, miss);
	} else {
		snprintf(out, size, "%s %s (want [%s, %s]%s)", name, x, lo, hi, miss);
	}
}

static void
describe_state(const sim_check_spec *c, const sim_state_view *v, char *out, size_t size)
{
	char one[160], a[32], b[32];

	out[0] = '\0';
	if (c->kind == SIM_CHECK_SYNCED) {
		if (!v->has_peer) {
			snprintf(out, size, "no system peer");
		} else {
			snprintf(out, size, "system peer, |offset| %s (bound %s)",
			         ntp_format_seconds(fabs(v->offset), a, sizeof(a)),
			         ntp_format_seconds(c->bound, b, sizeof(b)));
		}
		return;
	}
	if (c->have_source && !v->present) {
		snprintf(out, size, "%s not listed", c->source_name);
		return;
	}
	if (c->kind == SIM_CHECK_SELECTED) {
		if (!c->have_source) {
			snprintf(out, size, "%s", v->has_peer ? "a system peer" : "no system peer");
		} else {
			snprintf(out, size, "'%c' %.60s", v->tally ? v->tally : ' ', v->reason);
		}
		return;
	}
	for (size_t i = 0; i < c->n_conds; i++) {
		describe_cond(&c->conds[i], v, cond_holds(&c->conds[i], v, v->reason), one,
		              sizeof(one));
		append_item(out, size, one);
	}
}

const char *
sim_check_format_time(double t, char *buf, size_t size)
{
	if (isinf(t)) {
		snprintf(buf, size, "end");
	} else {
		snprintf(buf, size, "%g s", t);
	}
	return buf;
}

bool
sim_check_window_judge(const sim_check_spec *c, const sim_check_acc *a, char *out, size_t size)
{
	bool never = c->when == SIM_WHEN_NEVER;
	bool before_against = a->have_before && (never ? a->before_ok : !a->before_ok);
	char what[200], at[32], to[32];
	const char *verb = never ? "matched" : "not matched";

	if (c->kind == SIM_CHECK_SELECTED) {
		verb = never ? "the system peer" : "not the system peer";
	} else if (c->kind == SIM_CHECK_SYNCED) {
		verb = "synced";
	}
	if (c->when == SIM_WHEN_AT) {
		if (!a->have_before) {
			snprintf(out, size, "no state seen by %s",
			         sim_check_format_time(c->from, at, sizeof(at)));
			return false;
		}
		describe_state(c, &a->before, what, sizeof(what));
		if (isinf(c->from)) {
			snprintf(at, sizeof(at), "the end");
		} else {
			sim_check_format_time(c->from, at, sizeof(at));
		}
		if (c->kind == SIM_CHECK_SELECTED) {
			snprintf(out, size, "%s at %s (%s)",
			         a->before_ok ? "system peer" : "not the system peer", at, what);
		} else {
			snprintf(out, size, "at %s: %s", at, what);
		}
		return a->before_ok;
	}
	if (before_against || a->hit) {
		const sim_state_view *v = before_against ? &a->before : &a->first_bad;

		describe_state(c, v, what, sizeof(what));
		if (before_against) {
			sim_check_format_time(c->from, at, sizeof(at));
		} else {
			snprintf(at, sizeof(at), "%.3f s", v->t); /* as the other verdicts time */
		}
		snprintf(out, size, "%s at %s%s: %s", verb, at,
		         before_against ? " (in effect from before)" : "", what);
		return false;
	}
	sim_check_format_time(c->to > 0.0 ? c->to : INFINITY, to, sizeof(to));
	if (!never && !a->have_before && a->count == 0) {
		snprintf(out, size, "no state seen in [%g s, %s]", c->from, to);
		return false;
	}
	snprintf(out, size, "%s [%g s, %s] (%lld %s)", never ? "never in" : "held throughout",
	         c->from, to, a->count + (a->have_before ? 1 : 0),
	         c->kind == SIM_CHECK_SYNCED ? "samples" : "states");
	return true;
}
