/* SPDX-License-Identifier: BSD-2-Clause */
/* Streaming check evaluation: accumulators in, verdicts out. */
#include "sim_check.h"

#include <ctype.h>
#include <math.h>
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

void
sim_check_sample(const sim_check_spec *c, sim_check_acc *a, const sim_sample *s)
{
	double to = c->to > 0.0 ? c->to : INFINITY;
	double span;

	switch (c->kind) {
	case SIM_CHECK_SYNCED:
		if (s->has_peer && fabs(s->offset) < c->bound) {
			if (a->t_good < 0.0) {
				a->t_good = s->t;
			}
		} else {
			a->t_good = -1.0;
			a->t_bad = s->t;
			a->v_bad = fabs(s->offset);
			a->bad_no_peer = !s->has_peer;
		}
		break;
	case SIM_CHECK_OFFSET:
		if (s->t >= c->from) {
			track_extreme(a, s->t, s->offset);
		}
		break;
	case SIM_CHECK_FREQ:
		if (s->t >= c->from) {
			track_extreme(a, s->t, s->freq_err);
		}
		break;
	case SIM_CHECK_RMS:
		if (a->have_last) {
			a->sum += square_integral(a->t_last, a->v_last, s->t, s->offset, c->from,
			                          to, &span);
			a->span += span;
		}
		if (s->t >= c->from && s->t <= to) {
			track_extreme(a, s->t, s->offset);
		}
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
	a->bound_last = s->bound;
	a->claims_last = s->claims_sync;
}

void
sim_check_step(const sim_check_spec *c, sim_check_acc *a, double t)
{
	(void)t;
	if (c->kind == SIM_CHECK_STEPS) {
		a->count++;
	}
}

void
sim_check_event(const sim_check_spec *c, sim_check_acc *a, double t, int code, const char *reason)
{
	if (c->kind != SIM_CHECK_EVENT || code != c->event_code ||
	    !sim_contains_nocase(reason, c->text)) {
		return;
	}
	if (a->count == 0) {
		a->t_hit = t;
		snprintf(a->note, sizeof(a->note), "%s", reason);
	}
	a->count++;
}

static bool
peer_is_source(const sim_check_spec *c, const ntp_peer_info *p)
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
	for (size_t i = 0; i < n; i++) {
		const ntp_peer_info *p = &peers[i];

		if (!peer_is_source(c, p)) {
			continue;
		}
		if (c->kind == SIM_CHECK_REJECTED && !a->hit) {
			if (strchr(REJECTED_TALLIES, p->tally) != NULL && p->tally != '\0' &&
			    sim_contains_nocase(p->reason, c->text)) {
				a->hit = true;
				a->t_hit = t;
				snprintf(a->note, sizeof(a->note), "'%c' %.90s", p->tally,
				         p->reason);
			} else if (a->note[0] == '\0' || p->reason[0] != '\0') {
				snprintf(a->note, sizeof(a->note), "'%c' %.90s", p->tally,
				         p->reason);
			}
		} else if (c->kind == SIM_CHECK_SELECTED) {
			a->hit = p->tally == '*' || p->tally == 'o';
			snprintf(a->note, sizeof(a->note), "'%c' %.90s", p->tally, p->reason);
		}
	}
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

/* One node's verdict: pass, a sentence, and the compared number. */
static bool
judge(const sim_check_spec *c, const sim_check_acc *a, double end, char *out, size_t size,
      double *value)
{
	char x[32], y[32], z[32];
	bool pass;

	*value = NAN;
	switch (c->kind) {
	case SIM_CHECK_SYNCED:
		if (a->t_good >= 0.0) {
			*value = a->t_good;
			pass = a->t_good <= c->within;
			if (pass) {
				snprintf(out, size, "synced from %.3f s on", a->t_good);
			} else {
				snprintf(out, size, "synced only from %.3f s on, %.3f s too late",
				         a->t_good, a->t_good - c->within);
			}
			return pass;
		}
		if (a->t_bad < 0.0) {
			snprintf(out, size, "never sampled");
		} else if (a->bad_no_peer) {
			snprintf(out, size, "not synced at the end: no system peer at %.3f s",
			         a->t_bad);
		} else {
			snprintf(out, size,
			         "not synced at the end: |offset| %s at %.3f s (bound %s)",
			         ntp_format_seconds(a->v_bad, x, sizeof(x)), a->t_bad,
			         ntp_format_seconds(c->bound, y, sizeof(y)));
		}
		return false;
	case SIM_CHECK_OFFSET:
	case SIM_CHECK_FREQ: {
		bool is_freq = c->kind == SIM_CHECK_FREQ;

		if (a->count == 0) {
			snprintf(out, size, "no samples after %g s", c->from);
			return false;
		}
		*value = a->extreme;
		pass = a->extreme < c->max;
		if (is_freq) {
			snprintf(x, sizeof(x), "%.4f ppm", a->extreme * 1e6);
			snprintf(y, sizeof(y), "%.4f ppm", (a->extreme - c->max) * 1e6);
		} else {
			ntp_format_seconds(a->extreme, x, sizeof(x));
			ntp_format_seconds(a->extreme - c->max, y, sizeof(y));
		}
		snprintf(out, size, "max |%s| %s at %.3f s%s%s", is_freq ? "freq error" : "offset",
		         x, a->t_extreme, pass ? "" : ", over the limit by ", pass ? "" : y);
		return pass;
	}
	case SIM_CHECK_RMS: {
		double rms;

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
		snprintf(out, size, "rms offset %s over %.1f s (max |offset| %s)%s%s",
		         ntp_format_seconds(rms, x, sizeof(x)), a->span,
		         ntp_format_seconds(a->extreme, y, sizeof(y)), pass ? "" : ", over by ",
		         pass ? "" : ntp_format_seconds(rms - c->max, z, sizeof(z)));
		return pass;
	}
	case SIM_CHECK_STEPS:
	case SIM_CHECK_EVENT:
	case SIM_CHECK_PACKETS: {
		const char *what = c->kind == SIM_CHECK_STEPS   ? "steps"
		                   : c->kind == SIM_CHECK_EVENT ? "events"
		                                                : "packets";

		*value = (double)a->count;
		pass = a->count >= c->min && a->count <= c->max_count;
		if (c->kind == SIM_CHECK_EVENT && a->count > 0) {
			snprintf(out, size, "%lld %s (first at %.3f s: %.95s)", a->count, what,
			         a->t_hit, a->note);
		} else {
			snprintf(out, size, "%lld %s", a->count, what);
		}
		if (!pass) {
			size_t len = strlen(out);

			if (a->count < c->min) {
				snprintf(out + len, size - len, ", %lld too few",
				         c->min - a->count);
			} else {
				snprintf(out + len, size - len, ", %lld too many",
				         a->count - c->max_count);
			}
		}
		return pass;
	}
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
		snprintf(out, size, "%s at the end (%.95s)",
		         a->hit ? "system peer" : "not the system peer",
		         a->note[0] ? a->note : "no such association");
		return a->hit;
	case SIM_CHECK_QUERY:
		snprintf(out, size, "result: %.95s", a->note);
		return a->hit;
	default: {
		double frac = a->span > 0.0 ? a->sum / a->span : NAN;

		(void)end;
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
	}
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
	if (c->kind == SIM_CHECK_BOUND) {
		return value < worst;
	}
	return value > worst;
}

bool
sim_check_finish(const sim_check_spec *c, const sim_check_acc *accs, const sim_scenario *sc,
                 double end, char *detail, size_t size, double *measured)
{
	uint32_t failed = 0, first_fail = 0, worst_i = 0;
	double worst = NAN;
	char one[256], name[SIM_NAME_MAX + 12];

	for (uint32_t i = 0; i < c->nodes.count; i++) {
		double value;

		if (!judge(c, &accs[i], end, one, sizeof(one), &value)) {
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
		double value;

		judge(c, &accs[0], end, detail, size, &value);
		return failed == 0;
	}
	if (failed > 0) {
		double value;

		judge(c, &accs[first_fail], end, one, sizeof(one), &value);
		sim_scenario_node_name(sc, c->nodes.first + first_fail, name, sizeof(name));
		snprintf(detail, size, "%u of %u nodes fail; %s: %s", failed, c->nodes.count, name,
		         one);
		return false;
	}
	{
		double value;

		judge(c, &accs[worst_i], end, one, sizeof(one), &value);
		sim_scenario_node_name(sc, c->nodes.first + worst_i, name, sizeof(name));
		snprintf(detail, size, "all %u nodes pass; worst %s: %s", c->nodes.count, name,
		         one);
	}
	return true;
}
