/* SPDX-License-Identifier: BSD-2-Clause */
/* Streaming check evaluation: accumulators in, verdicts out. */
#include "sim_check.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ntp_units.h"

#define REJECTED_TALLIES " x.-" /* ntpq -p: reject, falseticker, excess, outlier */

void
sim_check_acc_init(sim_check_acc *a)
{
	memset(a, 0, sizeof(*a));
	a->t_good = -1.0;
	a->t_bad = -1.0;
	a->t_hit = -1.0;
	a->t_hit_last = -1.0;
	a->t_ref = -1.0;
	a->t_extreme = -1.0;
}

bool
sim_contains_nocase(const char *haystack, const char *needle)
{
	size_t n = strlen(needle);

	if (n == 0) {
		return true;
	}
	for (const char *h = haystack; *h != '\0'; h++) {
		size_t i = 0;

		while (i < n && h[i] != '\0' &&
		       tolower((unsigned char)h[i]) == tolower((unsigned char)needle[i])) {
			i++;
		}
		if (i == n) {
			return true;
		}
	}
	return false;
}

static double
window_to(const sim_check_spec *c)
{
	return c->to > 0.0 ? c->to : INFINITY;
}

/* Integral of the square of the line from (t1, v1) to (t2, v2) over the
 * part of [t1, t2] inside [lo, hi]. */
static double
square_integral(double t1, double v1, double t2, double v2, double lo, double hi, double *span)
{
	double a = t1 > lo ? t1 : lo;
	double b = t2 < hi ? t2 : hi;
	double va, vb, slope;

	*span = 0.0;
	if (!(b > a) || !(t2 > t1)) {
		return 0.0;
	}
	slope = (v2 - v1) / (t2 - t1);
	va = v1 + slope * (a - t1);
	vb = v1 + slope * (b - t1);
	*span = b - a;
	return (va * va + va * vb + vb * vb) / 3.0 * (b - a);
}

static void
track_extreme(sim_check_acc *a, double t, double v)
{
	if (a->count == 0 || fabs(v) > a->extreme) {
		a->extreme = fabs(v);
		a->t_extreme = t;
	}
	a->count++;
}

/* RMS and max of one quantity (offset or frequency error) over [from, to]. */
static void
integrate(const sim_check_spec *c, sim_check_acc *a, double t, double last, double v)
{
	double span;

	if (a->have_last) {
		a->sum += square_integral(a->t_last, last, t, v, c->from, window_to(c), &span);
		a->span += span;
	}
	if (t >= c->from && t <= window_to(c)) {
		track_extreme(a, t, v);
	}
}

static void
synced_sample(const sim_check_spec *c, sim_check_acc *a, const sim_sample *s)
{
	bool good = s->has_peer && fabs(s->offset) < c->bound;

	if (c->when == SIM_WHEN_NEVER) {
		sim_state_view v;

		memset(&v, 0, sizeof(v));
		v.t = s->t;
		v.present = true;
		v.has_peer = s->has_peer;
		v.offset = s->offset;
		sim_check_window_feed(c, a, &v, good, true);
		return;
	}
	if (good) {
		if (a->t_good < 0.0) {
			a->t_good = s->t;
		}
	} else {
		a->t_good = -1.0;
		a->t_bad = s->t;
		a->v_bad = fabs(s->offset);
		a->bad_no_peer = !s->has_peer;
	}
}

void
sim_check_sample(const sim_check_spec *c, sim_check_acc *a, const sim_sample *s)
{
	switch (c->kind) {
	case SIM_CHECK_SYNCED:
		synced_sample(c, a, s);
		break;
	case SIM_CHECK_OFFSET:
		if (s->t >= c->from) {
			track_extreme(a, s->t, s->offset);
		}
		break;
	case SIM_CHECK_FREQ:
		if (c->rms) {
			integrate(c, a, s->t, a->f_last, s->freq_err);
		} else if (s->t >= c->from && s->t <= window_to(c)) {
			track_extreme(a, s->t, s->freq_err);
		}
		break;
	case SIM_CHECK_RMS:
		integrate(c, a, s->t, a->v_last, s->offset);
		break;
	case SIM_CHECK_BOUND:
		if (a->have_last && a->claims_last && s->t > a->t_last) {
			a->span += s->t - a->t_last;
			if (fabs(a->v_last) <= a->bound_last) {
				a->sum += s->t - a->t_last;
			}
		}
		break;
	default:
		break;
	}
	a->have_last = true;
	a->t_last = s->t;
	a->v_last = s->offset;
	a->f_last = s->freq_err;
	a->bound_last = s->bound;
	a->claims_last = s->claims_sync;
}

void
sim_check_step(const sim_check_spec *c, sim_check_acc *a, double t, double by)
{
	if (c->kind != SIM_CHECK_STEPS || (c->have_by && !(by >= c->by_lo && by <= c->by_hi))) {
		return;
	}
	if (a->count == 0) {
		a->t_hit = t;
	}
	snprintf(a->note, sizeof(a->note), "last %+.6f s at %.3f s", by, t);
	a->count++;
}

/* Is this events.log line one the check counts? */
static bool
line_counts(const sim_check_spec *c, const char *what, const char *detail)
{
	if (c->kind == SIM_CHECK_EVENT) {
		return strcmp(what, ntp_event_name(c->event_code)) == 0 &&
		       sim_contains_nocase(detail, c->text);
	}
	if (c->kind == SIM_CHECK_LOG) {
		return (c->what[0] == '\0' || strcmp(what, c->what) == 0) &&
		       sim_contains_nocase(detail, c->text);
	}
	return false;
}

void
sim_check_log(const sim_check_spec *c, sim_check_acc *a, double t, const char *what,
              const char *detail)
{
	/* The reference first: a line may be its own reference (same time). */
	if (c->since_line && a->t_ref < 0.0 && strcmp(what, c->since_match.what) == 0 &&
	    sim_contains_nocase(detail, c->since_match.text)) {
		a->t_ref = t;
	}
	if (!line_counts(c, what, detail)) {
		return;
	}
	if (a->count == 0) {
		a->t_hit = t;
		snprintf(a->note, sizeof(a->note), "%s", detail);
	}
	a->t_hit_last = t;
	a->count++;
}

bool
sim_check_is_source(const sim_check_spec *c, const ntp_peer_info *p)
{
	if (c->source.family != NTP_AF_NONE) {
		return ntp_addr_same_host(&p->addr, &c->source);
	}
	return p->type == 'l';
}

void
sim_check_peers(const sim_check_spec *c, sim_check_acc *a, double t, const ntp_peer_info *peers,
                size_t n)
{
	if (c->kind != SIM_CHECK_REJECTED || a->hit) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const ntp_peer_info *p = &peers[i];

		if (!sim_check_is_source(c, p)) {
			continue;
		}
		if (strchr(REJECTED_TALLIES, p->tally) != NULL && p->tally != '\0' &&
		    sim_contains_nocase(p->reason, c->text)) {
			a->hit = true;
			a->t_hit = t;
			snprintf(a->note, sizeof(a->note), "'%c' %.90s", p->tally, p->reason);
		} else if (a->note[0] == '\0' || p->reason[0] != '\0') {
			snprintf(a->note, sizeof(a->note), "'%c' %.90s", p->tally, p->reason);
		}
	}
}

void
sim_check_packet(const sim_check_spec *c, sim_check_acc *a, double t, int dir, const ntp_addr *peer)
{
	if (c->kind != SIM_CHECK_INTERVAL || dir != c->dir) {
		return;
	}
	if (c->have_source && (peer == NULL || !ntp_addr_same_host(peer, &c->source))) {
		return;
	}
	if (a->count == 0) {
		a->t_hit = t;
	} else if (a->count == 1 || t - a->t_hit_last < a->extreme) {
		a->extreme = t - a->t_hit_last;
		a->t_extreme = t;
	}
	a->t_hit_last = t;
	a->count++;
}

void
sim_check_set_count(sim_check_acc *a, long long count)
{
	a->count = count;
}

void
sim_check_set_result(const sim_check_spec *c, sim_check_acc *a, const char *result)
{
	if (result == NULL) {
		a->hit = false;
		snprintf(a->note, sizeof(a->note), "no query ran");
		return;
	}
	a->hit = sim_contains_nocase(result, c->text);
	snprintf(a->note, sizeof(a->note), "%s", result);
}

/* What a node's verdict may need from the others. */
typedef struct judge_ctx {
	double other_ref;   /* s, the other node's first `since` line; < 0: none */
	double other_value; /* the other node's measure (more_than, less_than); NAN: none */
	char other_name[SIM_NAME_MAX + 12];
} judge_ctx;

/* Append to a verdict sentence. */
static void add(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
add(char *out, size_t size, const char *fmt, ...)
{
	size_t len = strlen(out);
	va_list ap;

	if (len + 1 >= size) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(out + len, size - len, fmt, ap);
	va_end(ap);
}

/* A measure as the check's kind shows it. */
static const char *
format_measure(const sim_check_spec *c, double v, char *buf, size_t size)
{
	switch (c->kind) {
	case SIM_CHECK_OFFSET:
	case SIM_CHECK_RMS:
	case SIM_CHECK_INTERVAL:
		return ntp_format_seconds(v, buf, size);
	case SIM_CHECK_FREQ:
		snprintf(buf, size, "%.4f ppm", v * 1e6);
		return buf;
	default:
		snprintf(buf, size, "%g", v);
		return buf;
	}
}

static bool
judge_synced(const sim_check_spec *c, const sim_check_acc *a, char *out, size_t size, double *value)
{
	char x[32], y[32];
	bool synced_by = a->t_good >= 0.0 && a->t_good <= c->within;

	if (c->when == SIM_WHEN_NEVER) {
		return sim_check_window_judge(c, a, out, size);
	}
	if (a->t_good >= 0.0) {
		*value = a->t_good;
		if (c->not_within && synced_by) {
			snprintf(out, size, "synced from %.3f s on, %.3f s too early", a->t_good,
			         c->within - a->t_good);
			return false;
		}
		if (c->not_within) {
			snprintf(out, size, "synced only from %.3f s on, later than %g s",
			         a->t_good, c->within);
			return true;
		}
		if (synced_by) {
			snprintf(out, size, "synced from %.3f s on", a->t_good);
		} else {
			snprintf(out, size, "synced only from %.3f s on, %.3f s too late",
			         a->t_good, a->t_good - c->within);
		}
		return synced_by;
	}
	if (a->t_bad >= 0.0) {
		*value = a->t_bad; /* not synced yet then: a lower bound (sim_check_censored) */
	}
	if (a->t_bad < 0.0) {
		snprintf(out, size, "never sampled");
	} else if (a->bad_no_peer) {
		snprintf(out, size, "not synced at the end: no system peer at %.3f s", a->t_bad);
	} else {
		snprintf(out, size, "not synced at the end: |offset| %s at %.3f s (bound %s)",
		         ntp_format_seconds(a->v_bad, x, sizeof(x)), a->t_bad,
		         ntp_format_seconds(c->bound, y, sizeof(y)));
	}
	return c->not_within && a->t_bad >= 0.0;
}

static bool
judge_extreme(const sim_check_spec *c, const sim_check_acc *a, char *out, size_t size,
              double *value)
{
	bool is_freq = c->kind == SIM_CHECK_FREQ;
	char x[32], y[32];
	bool pass;

	if (a->count == 0) {
		snprintf(out, size, "no samples after %g s", c->from);
		return false;
	}
	*value = a->extreme;
	pass = a->extreme < c->max;
	format_measure(c, a->extreme, x, sizeof(x));
	format_measure(c, a->extreme - c->max, y, sizeof(y));
	snprintf(out, size, "max |%s| %s at %.3f s%s%s", is_freq ? "freq error" : "offset", x,
	         a->t_extreme, pass ? "" : ", over the limit by ", pass ? "" : y);
	return pass;
}

static bool
judge_rms(const sim_check_spec *c, const sim_check_acc *a, char *out, size_t size, double *value)
{
	const char *what = c->kind == SIM_CHECK_FREQ ? "freq error" : "offset";
	char x[32], y[32], z[32];
	double rms;
	bool pass;

	if (a->span <= 0.0) {
		if (a->count == 0) {
			snprintf(out, size, "no samples in the window");
			return false;
		}
		rms = a->extreme;
	} else {
		rms = sqrt(a->sum / a->span);
	}
	*value = rms;
	pass = rms < c->max;
	snprintf(out, size, "rms %s %s over %.1f s (max |%s| %s)%s%s", what,
	         format_measure(c, rms, x, sizeof(x)), a->span, what,
	         format_measure(c, a->extreme, y, sizeof(y)), pass ? "" : ", over by ",
	         pass ? "" : format_measure(c, rms - c->max, z, sizeof(z)));
	return pass;
}

/* The time of a line against [lo, hi] after the reference. */
static bool
judge_time(const char *which, double t, double ref, const char *ref_name, double lo, double hi,
           char *out, size_t size)
{
	double rel = t - ref;

	add(out, size, "; %s at %.3f s, %+.3f s from %s", which, t, rel, ref_name);
	if (rel < lo) {
		add(out, size, ", %.3f s too early (want >= %+g s)", lo - rel, lo);
		return false;
	}
	if (rel > hi) {
		add(out, size, ", %.3f s too late (want <= %+g s)", rel - hi, hi);
		return false;
	}
	return true;
}

/* EVENT, LOG: when the first and last matching lines came. */
static bool
judge_first_last(const sim_check_spec *c, const sim_check_acc *a, const judge_ctx *x, char *out,
                 size_t size)
{
	double ref = c->since;
	char ref_name[SIM_NAME_MAX + SIM_WHAT_MAX + 40];
	bool pass = true;

	if (!c->have_first && !c->have_last) {
		return true;
	}
	snprintf(ref_name, sizeof(ref_name), "%g s", c->since);
	if (c->since_line) {
		bool other = c->other.count == 1;

		ref = other ? x->other_ref : a->t_ref;
		if (ref < 0.0) {
			add(out, size, "; no reference: %s has no %s line '%.40s'",
			    other ? x->other_name : "the node", c->since_match.what,
			    c->since_match.text);
			return false;
		}
		snprintf(ref_name, sizeof(ref_name), "%s%s first %s (%.3f s)",
		         other ? x->other_name : "its", other ? "'s" : "", c->since_match.what,
		         ref);
	}
	if (a->count == 0) {
		add(out, size, "; no matching line to time");
		return false;
	}
	if (c->have_first) {
		pass = judge_time("first", a->t_hit, ref, ref_name, c->first_lo, c->first_hi, out,
		                  size);
	}
	if (c->have_last) {
		pass = judge_time("last", a->t_hit_last, ref, ref_name, c->last_lo, c->last_hi, out,
		                  size) &&
		       pass;
	}
	return pass;
}

static bool
judge_count(const sim_check_spec *c, const sim_check_acc *a, const judge_ctx *x, char *out,
            size_t size, double *value)
{
	const char *what = c->kind == SIM_CHECK_STEPS     ? "steps"
	                   : c->kind == SIM_CHECK_PACKETS ? "packets"
	                   : c->kind == SIM_CHECK_LOG     ? "lines"
	                                                  : "events";
	bool pass = a->count >= c->min && a->count <= c->max_count;

	*value = (double)a->count;
	if ((c->kind == SIM_CHECK_EVENT || c->kind == SIM_CHECK_LOG) && a->count > 0) {
		snprintf(out, size, "%lld %s (first at %.3f s: %.95s)", a->count, what, a->t_hit,
		         a->note);
	} else if (c->kind == SIM_CHECK_STEPS && c->have_by && a->count > 0) {
		snprintf(out, size, "%lld %s (%s)", a->count, what, a->note);
	} else {
		snprintf(out, size, "%lld %s", a->count, what);
	}
	if (a->count < c->min) {
		add(out, size, ", %lld too few", c->min - a->count);
	} else if (a->count > c->max_count) {
		add(out, size, ", %lld too many", a->count - c->max_count);
	}
	return judge_first_last(c, a, x, out, size) && pass;
}

static bool
judge_interval(const sim_check_spec *c, const sim_check_acc *a, char *out, size_t size,
               double *value)
{
	char s[32], m[32], d[32];
	double mean;
	bool pass = true;

	if (a->count < 2) {
		snprintf(out, size, "%lld packets: no interval to measure", a->count);
		return false;
	}
	mean = (a->t_hit_last - a->t_hit) / (double)(a->count - 1);
	*value = a->extreme;
	snprintf(out, size, "shortest interval %s (at %.3f s), mean %s over %lld packets",
	         ntp_format_seconds(a->extreme, s, sizeof(s)), a->t_extreme,
	         ntp_format_seconds(mean, m, sizeof(m)), a->count);
	if (a->extreme < c->ivl_min_lo || a->extreme > c->ivl_min_hi) {
		bool low = a->extreme < c->ivl_min_lo;

		add(out, size, "; shortest %s by %s", low ? "too short" : "too long",
		    ntp_format_seconds(low ? c->ivl_min_lo - a->extreme
		                           : a->extreme - c->ivl_min_hi,
		                       d, sizeof(d)));
		pass = false;
	}
	if (mean < c->ivl_mean_lo || mean > c->ivl_mean_hi) {
		bool low = mean < c->ivl_mean_lo;

		add(out, size, "; mean %s by %s", low ? "too short" : "too long",
		    ntp_format_seconds(low ? c->ivl_mean_lo - mean : mean - c->ivl_mean_hi, d,
		                       sizeof(d)));
		pass = false;
	}
	return pass;
}

static bool
judge_bound(const sim_check_spec *c, const sim_check_acc *a, char *out, size_t size, double *value)
{
	double frac = a->span > 0.0 ? a->sum / a->span : NAN;
	bool pass;

	if (a->span <= 0.0) {
		snprintf(out, size, "never claimed synchronisation");
		return false;
	}
	*value = frac;
	pass = frac >= c->min_fraction;
	snprintf(out, size, "|offset| <= root distance %.2f%% of %.1f s claimed synced%s",
	         frac * 100.0, a->span, pass ? "" : ", below the minimum");
	return pass;
}

/* One node's own verdict: pass, a sentence, and the compared number. */
static bool
judge_own(const sim_check_spec *c, const sim_check_acc *a, const judge_ctx *x, char *out,
          size_t size, double *value)
{
	*value = NAN;
	out[0] = '\0';
	switch (c->kind) {
	case SIM_CHECK_SYNCED:
		return judge_synced(c, a, out, size, value);
	case SIM_CHECK_OFFSET:
		return judge_extreme(c, a, out, size, value);
	case SIM_CHECK_FREQ:
		return c->rms ? judge_rms(c, a, out, size, value)
		              : judge_extreme(c, a, out, size, value);
	case SIM_CHECK_RMS:
		return judge_rms(c, a, out, size, value);
	case SIM_CHECK_STEPS:
	case SIM_CHECK_EVENT:
	case SIM_CHECK_LOG:
	case SIM_CHECK_PACKETS:
		return judge_count(c, a, x, out, size, value);
	case SIM_CHECK_REJECTED:
		if (a->hit) {
			*value = a->t_hit;
			snprintf(out, size, "rejected at %.3f s: %.95s", a->t_hit, a->note);
			return true;
		}
		snprintf(out, size, "never rejected with a matching reason (last seen: %.95s)",
		         a->note[0] ? a->note : "no such association");
		return false;
	case SIM_CHECK_SELECTED:
	case SIM_CHECK_STATE:
		return sim_check_window_judge(c, a, out, size);
	case SIM_CHECK_QUERY:
		snprintf(out, size, "result: %.95s", a->note);
		return a->hit;
	case SIM_CHECK_INTERVAL:
		return judge_interval(c, a, out, size, value);
	default:
		return judge_bound(c, a, out, size, value);
	}
}

/* more_than / less_than: the node's measure against factor x the other's. */
static bool
judge_compare(const sim_check_spec *c, double value, const judge_ctx *x, char *out, size_t size)
{
	double want = c->factor * x->other_value;
	bool more = c->cmp == SIM_CMP_MORE;
	char a[32], b[32], d[32];
	bool pass;

	if (isnan(x->other_value) || isnan(value)) {
		add(out, size, "; nothing to compare with %s", x->other_name);
		return false;
	}
	pass = more ? value > want : value < want;
	add(out, size, "; %g x %s's %s = %s, want %s", c->factor, x->other_name,
	    format_measure(c, x->other_value, a, sizeof(a)), format_measure(c, want, b, sizeof(b)),
	    more ? "more" : "less");
	if (!pass) {
		add(out, size, ", %s by %s", more ? "short" : "over",
		    format_measure(c, fabs(value - want), d, sizeof(d)));
	}
	return pass;
}

static bool
judge(const sim_check_spec *c, const sim_check_acc *a, const judge_ctx *x, char *out, size_t size,
      double *value)
{
	bool pass = judge_own(c, a, x, out, size, value);

	if (c->cmp != SIM_CMP_NONE) {
		pass = judge_compare(c, *value, x, out, size) && pass;
	}
	return pass;
}

/* Is value a worse result than worst for this kind of check? */
static bool
worse(const sim_check_spec *c, double value, double worst)
{
	if (isnan(value)) {
		return false;
	}
	if (isnan(worst)) {
		return true;
	}
	if (c->kind == SIM_CHECK_BOUND || c->kind == SIM_CHECK_INTERVAL || c->cmp == SIM_CMP_MORE) {
		return value < worst;
	}
	return value > worst;
}

/* What the other node (`since: {node: ...}`, more_than) contributes. */
static void
other_facts(const sim_check_spec *c, const sim_check_acc *accs, const sim_scenario *sc,
            judge_ctx *x)
{
	const sim_check_acc *o = &accs[c->nodes.count];
	char scratch[320];

	x->other_ref = -1.0;
	x->other_value = NAN;
	x->other_name[0] = '\0';
	if (c->other.count != 1) {
		return;
	}
	sim_scenario_node_name(sc, c->other.first, x->other_name, sizeof(x->other_name));
	x->other_ref = o->t_ref;
	if (c->cmp != SIM_CMP_NONE) {
		judge_own(c, o, x, scratch, sizeof(scratch), &x->other_value);
	}
}

bool
sim_check_finish(const sim_check_spec *c, const sim_check_acc *accs, const sim_scenario *sc,
                 double end, char *detail, size_t size, double *measured)
{
	uint32_t failed = 0, first_fail = 0, worst_i = 0;
	double worst = NAN, value;
	char one[320], name[SIM_NAME_MAX + 12];
	judge_ctx x;

	(void)end;
	other_facts(c, accs, sc, &x);
	for (uint32_t i = 0; i < c->nodes.count; i++) {
		if (!judge(c, &accs[i], &x, one, sizeof(one), &value)) {
			if (failed++ == 0) {
				first_fail = i;
			}
		}
		if (worse(c, value, worst)) {
			worst = value;
			worst_i = i;
		}
	}
	*measured = worst;
	if (c->nodes.count == 1) {
		judge(c, &accs[0], &x, detail, size, &value);
		return failed == 0;
	}
	if (failed > 0) {
		judge(c, &accs[first_fail], &x, one, sizeof(one), &value);
		sim_scenario_node_name(sc, c->nodes.first + first_fail, name, sizeof(name));
		snprintf(detail, size, "%u of %u nodes fail; %s: %s", failed, c->nodes.count, name,
		         one);
		return false;
	}
	judge(c, &accs[worst_i], &x, one, sizeof(one), &value);
	sim_scenario_node_name(sc, c->nodes.first + worst_i, name, sizeof(name));
	snprintf(detail, size, "all %u nodes pass; worst %s: %s", c->nodes.count, name, one);
	return true;
}

bool
sim_check_censored(const sim_check_spec *c, const sim_check_acc *accs)
{
	if (c->kind != SIM_CHECK_SYNCED || c->when == SIM_WHEN_NEVER) {
		return false;
	}
	for (uint32_t i = 0; i < c->nodes.count; i++) {
		if (accs[i].t_good < 0.0 && accs[i].t_bad >= 0.0) {
			return true;
		}
	}
	return false;
}
