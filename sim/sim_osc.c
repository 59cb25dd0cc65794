/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The oscillator model: a closed-form raw(t) with a lazily generated
 * frequency random walk on a fixed grid, and its exact inverse.
 */
#include "sim_osc.h"

#include "sim_gauss.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#define TWO_PI            6.283185307179586476925 /* rad */
#define INVERSE_HORIZON   (INT64_C(1) << 20)      /* grid steps sim_osc_true_for looks ahead */
#define NEWTON_ITERATIONS 24   /* each one gains many digits: raw is near linear */
#define FIXUP_WALK        4096 /* ns the final integer walk may move */
#define LEAP_SEGMENTS     8    /* grid steps the inverse skips at once */
#define MONOTONE_RATE_MIN                                                                          \
	(-0.5)                       /* s/s, least f + w (+ periodic) trusted to keep              \
	                                1 + rate well above 0 (ours) */
#define GRID_MIN_NS INT64_C(1000000) /* ns, 1 ms: the finest wander grid accepted */

#define OFF_MAX INT64_C(1000000000000000000) /* ns, |accumulated steps| kept below ~31 years */

/* llround for |x| < 2^62, inline: half away from zero. */
static int64_t
round_ns(double x)
{
	return (int64_t)(x >= 0.0 ? x + 0.5 : x - 0.5);
}

static int64_t
segment_of(const sim_osc *o, int64_t t)
{
	if (o->h == 0 || t <= o->t0) {
		return 0;
	}
	return (t - o->t0) / o->h;
}

static int64_t
segment_start(const sim_osc *o, int64_t k)
{
	return o->t0 + k * o->h;
}

static void
walk_advance(const sim_osc *o, sim_osc_walk *w)
{
	w->W += w->w * ((double)o->h / 1e9);
	w->w += o->sigma * sim_gauss(&w->r);
	w->k++;
}

/* Periodic term: its phase contribution (s) and its frequency (s/s). */
static double
temp_phase(const sim_osc *o, int64_t t)
{
	const sim_osc_params *p = o->p;
	double arg;

	if (o->temp_w == 0.0) {
		return 0.0;
	}
	arg = o->temp_w * ((double)(t - o->t0) / 1e9) + p->temp_phase;
	return p->temp_amp / o->temp_w * (cos(p->temp_phase) - cos(arg));
}

static double
temp_freq(const sim_osc *o, int64_t t)
{
	if (o->temp_w == 0.0) {
		return 0.0;
	}
	return o->p->temp_amp * sin(o->temp_w * ((double)(t - o->t0) / 1e9) + o->p->temp_phase);
}

/* raw(t) using the walk point w, which must be t's segment (or, before
 * the first point, segment 0: the walk then extrapolates linearly). */
static int64_t
raw_at(const sim_osc *o, const sim_osc_walk *w, int64_t t)
{
	double dev = o->f * ((double)(t - o->tref) / 1e9) + o->f_off + temp_phase(o, t);

	if (o->h != 0) {
		dev += w->W + w->w * ((double)(t - segment_start(o, w->k)) / 1e9);
	}
	return ntp_time_add_sat(ntp_time_add_sat(t, o->off), round_ns(dev * 1e9));
}

static double
rate_at(const sim_osc *o, const sim_osc_walk *w, int64_t t)
{
	return o->f + (o->h != 0 ? w->w : 0.0) + temp_freq(o, t);
}

void
sim_osc_init(sim_osc *o, const sim_osc_params *p, int64_t t0, uint64_t seed, const char *name)
{
	char stream[96];
	double step = p->wander_step > 0.0 ? p->wander_step : SIM_OSC_WANDER_STEP_DEFAULT;

	o->p = p;
	o->t0 = t0;
	o->off = llround(p->offset * 1e9);
	o->tref = t0;
	o->f = p->freq;
	o->f_off = 0.0;
	o->h = 0;
	o->sigma = 0.0;
	if (p->wander > 0.0) {
		o->h = llround(step * 1e9);
		if (o->h < GRID_MIN_NS) {
			o->h = GRID_MIN_NS;
		}
		o->sigma = p->wander * sqrt((double)o->h / 1e9);
	}
	o->temp_w = p->temp_period > 0.0 && p->temp_amp != 0.0 ? TWO_PI / p->temp_period : 0.0;
	o->res = llround((p->resolution > 0.0 ? p->resolution : SIM_OSC_RESOLUTION_DEFAULT) * 1e9);
	if (o->res < 1) {
		o->res = 1;
	}
	o->base.k = 0;
	o->base.w = 0.0;
	o->base.W = 0.0;
	snprintf(stream, sizeof(stream), "node:%s:wander", name);
	ntp_rand_seed_named(&o->base.r, seed, stream);
	o->ahead = o->base;
	snprintf(stream, sizeof(stream), "node:%s:noise", name);
	ntp_rand_seed_named(&o->r_noise, seed, stream);
	o->version = 0;
	o->inv.from_min = 0;
	o->inv.from_max = -1;
}

/* Move base to t's segment, reusing the look-ahead point when it helps. */
static void
commit(sim_osc *o, int64_t t)
{
	int64_t k = segment_of(o, t);

	if (o->h == 0) {
		return;
	}
	if (o->ahead.k <= k && o->ahead.k > o->base.k) {
		o->base = o->ahead;
	}
	while (o->base.k < k) {
		walk_advance(o, &o->base);
	}
	if (o->base.k > o->ahead.k) {
		o->ahead = o->base;
	}
}

int64_t
sim_osc_raw(sim_osc *o, int64_t t)
{
	commit(o, t);
	return raw_at(o, &o->base, t);
}

double
sim_osc_freq(sim_osc *o, int64_t t)
{
	commit(o, t);
	return rate_at(o, &o->base, t);
}

/* Smallest t in [a, b] with raw(t) >= target, given raw(b) >= target. */
static int64_t
solve_in_segment(const sim_osc *o, const sim_osc_walk *w, int64_t target, int64_t a, int64_t b)
{
	int64_t x = a;
	int i;

	if (raw_at(o, w, a) >= target) {
		return a;
	}
	for (i = 0; i < NEWTON_ITERATIONS; i++) {
		int64_t g = raw_at(o, w, x) - target;
		double step;
		int64_t next;

		if (g == 0) {
			break;
		}
		step = (double)g / (1.0 + rate_at(o, w, x));
		next = x - llround(step);
		if (next < a) {
			next = a;
		}
		if (next > b) {
			next = b;
		}
		if (next == x) {
			break;
		}
		x = next;
	}
	/* Rounding to whole ns can leave Newton a few ns short or past. */
	for (i = 0; i < FIXUP_WALK && x < b && raw_at(o, w, x) < target; i++) {
		x++;
	}
	for (i = 0; i < FIXUP_WALK && x > a && raw_at(o, w, x - 1) >= target; i++) {
		x--;
	}
	return x;
}

static bool
ends_short(const sim_osc *o, const sim_osc_walk *w, int64_t raw)
{
	return raw_at(o, w, segment_start(o, w->k + 1)) < raw;
}

/* Search LEAP_SEGMENTS grid segments at once: raw(t) never decreases while
 * the clock runs forward (rate 1 + f + w + the periodic term > 0), so when
 * the last one ends short of raw none of them holds the answer, and one
 * raw_at pays for the lot instead of one each (the timer inverse was a
 * fifth of a large run); when it does not, a bisection over the block's
 * walk states finds the first segment that reaches raw.  *w moves to the
 * segment after the block, or to that first segment; *steps counts the
 * segments passed.  The walk draws what the segment-by-segment search
 * draws, so the answer is the same.  LEAP_OFF, with *w unmoved, when the
 * rate is not trusted or the horizon is near: search one at a time. */
enum leap_result { LEAP_PASSED, LEAP_FOUND, LEAP_OFF };

static enum leap_result
leap_segments(const sim_osc *o, sim_osc_walk *w, int64_t raw, int64_t *steps)
{
	sim_osc_walk blk[LEAP_SEGMENTS];
	double w_min = w->w;
	double periodic = o->temp_w != 0.0 ? fabs(o->p->temp_amp) : 0.0;
	int lo = 0, hi = LEAP_SEGMENTS - 1;

	if (*steps + LEAP_SEGMENTS > INVERSE_HORIZON) {
		return LEAP_OFF;
	}
	blk[0] = *w;
	for (int j = 1; j < LEAP_SEGMENTS; j++) {
		blk[j] = blk[j - 1];
		walk_advance(o, &blk[j]);
		w_min = blk[j].w < w_min ? blk[j].w : w_min;
	}
	if (o->f + w_min - periodic <= MONOTONE_RATE_MIN) {
		return LEAP_OFF;
	}
	if (ends_short(o, &blk[hi], raw)) {
		*w = blk[hi];
		walk_advance(o, w);
		*steps += LEAP_SEGMENTS;
		return LEAP_PASSED;
	}
	while (lo < hi) { /* the first segment that reaches raw */
		int mid = (lo + hi) / 2;

		if (ends_short(o, &blk[mid], raw)) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	*w = blk[lo];
	*steps += lo;
	return LEAP_FOUND;
}

/* The solve behind sim_osc_true_for.  *from_max: the latest t_from that
 * takes the same steps (the Newton start), or INT64_MIN when the answer is
 * an estimate, not to be reused. */
static int64_t
true_for_solve(sim_osc *o, int64_t raw, int64_t t_from, int64_t *from_max)
{
	sim_osc_walk w;
	int64_t k_from = segment_of(o, t_from);
	int64_t steps = 0;

	if (o->h == 0) {
		/* No grid: one segment without end.  Find an upper bound first;
		 * the clock runs at 1 +- 0.1 s/s, so the gap is a good start. */
		int64_t r0 = raw_at(o, &o->base, t_from);
		int64_t span, b;

		*from_max = t_from; /* Newton starts at t_from and stops at b(t_from) */
		if (r0 >= raw) {
			return t_from;
		}
		span = raw - r0 > INT64_MAX / 2 ? INT64_MAX / 2 : raw - r0;
		span += span / 8 + 1;
		b = ntp_time_add_sat(t_from, span);
		while (raw_at(o, &o->base, b) < raw) {
			if (b == INT64_MAX || span > INT64_MAX / 4) {
				*from_max = INT64_MIN;
				return b; /* beyond any run: an early estimate */
			}
			span *= 2;
			b = ntp_time_add_sat(t_from, span);
		}
		return solve_in_segment(o, &o->base, raw, t_from, b);
	}
	w = o->base;
	if (o->ahead.k > w.k && o->ahead.k <= k_from) {
		w = o->ahead;
	} else if (o->ahead.k > k_from &&
	           raw_at(o, &o->ahead, segment_start(o, o->ahead.k)) < raw) {
		w = o->ahead;
	}
	while (w.k < k_from) {
		walk_advance(o, &w);
	}
	for (bool leaping = true;;) {
		int64_t a;

		if (leaping) {
			enum leap_result l = leap_segments(o, &w, raw, &steps);

			if (l == LEAP_PASSED) {
				continue;
			}
			leaping = l == LEAP_FOUND;
		}
		a = segment_start(o, w.k);
		int64_t b = segment_start(o, w.k + 1);

		if (a < t_from) {
			a = t_from;
		}
		if (raw_at(o, &w, b) >= raw) {
			int64_t t = solve_in_segment(o, &w, raw, a, b);

			*from_max = a;
			if (w.k > o->ahead.k) {
				o->ahead = w;
			}
			return t;
		}
		if (++steps > INVERSE_HORIZON) {
			if (w.k > o->ahead.k) {
				o->ahead = w;
			}
			*from_max = INT64_MIN;
			return b;
		}
		walk_advance(o, &w);
	}
}

int64_t
sim_osc_true_for(sim_osc *o, int64_t raw, int64_t t_from)
{
	sim_osc_inv *c = &o->inv;
	int64_t from_max, t;

	/* A forced reschedule asks again for the same deadline: the timer
	 * inverse was 15% of a 10,000-client day (issue 17 §3). */
	if (c->version == o->version && c->raw == raw && t_from >= c->from_min &&
	    t_from <= c->from_max) {
		return c->t;
	}
	t = true_for_solve(o, raw, t_from, &from_max);
	c->raw = raw;
	c->t = t;
	c->from_min = t_from;
	c->from_max = from_max; /* INT64_MIN: an estimate, never reused */
	c->version = o->version;
	return t;
}

void
sim_osc_step(sim_osc *o, int64_t t, double offset)
{
	int64_t before = o->off;

	(void)t;
	if (isfinite(offset) && fabs(offset) < 1e9) {
		o->off = ntp_time_add_sat(o->off, llround(offset * 1e9));
		if (o->off > OFF_MAX) {
			o->off = OFF_MAX;
		}
		if (o->off < -OFF_MAX) {
			o->off = -OFF_MAX;
		}
	}
	o->jumped += o->off - before;
	o->version++;
}

int64_t
sim_osc_mono(sim_osc *o, int64_t t)
{
	return sim_osc_raw(o, t) - o->jumped;
}

int64_t
sim_osc_true_for_mono(sim_osc *o, int64_t mono, int64_t t_from)
{
	return sim_osc_true_for(o, ntp_time_add_sat(mono, o->jumped), t_from);
}

void
sim_osc_set_freq(sim_osc *o, int64_t t, double freq)
{
	if (!isfinite(freq)) {
		return;
	}
	o->f_off += o->f * ((double)(t - o->tref) / 1e9);
	o->tref = t;
	o->f = freq;
	o->version++;
}

int64_t
sim_osc_noisy(sim_osc *o, int64_t local)
{
	int64_t q = local;

	if (o->res > 1) {
		int64_t r = local % o->res;

		q = local - (r < 0 ? r + o->res : r);
	}
	if (o->p->noise > 0.0) {
		q += llround(o->p->noise * sim_gauss(&o->r_noise) * 1e9);
	}
	return q;
}
