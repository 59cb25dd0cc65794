/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * "regress": a discipline built from the best published ideas since ntpd's
 * PLL/FLL (RFC 5905 §11.3), behind the seam of ntp_discipline.h.
 *
 *  1. Per source, a weighted linear regression of offset against time over
 *     an adaptive window, cut by a runs test on the residuals -- chrony's
 *     sourcestats.c and regress.c (Lichvar): the window is as long as the
 *     residuals look like noise, so it grows with a stable oscillator and
 *     shrinks when the frequency wanders.
 *  2. Weights by delay: a sample's offset error is bounded by half of its
 *     delay above the path's minimum (RFC 5905 §8's error bound applied to
 *     the excess), so each sample's variance is taken as (1 + excess/s)^2
 *     with s the median excess -- chrony's weighting by peer distance, and
 *     the minimum-delay idea of ntpd's clock filter and Mills' huff-n'-puff,
 *     without throwing samples away.
 *  3. A free-running frame.  Samples are kept as offsets of the
 *     *undisciplined* oscillator: the discipline adds back the correction
 *     it has itself applied to the clock (steps, slews, frequency; the same
 *     closed form as ntp_clock, so it is exact in ntpsim and refd's virtual
 *     clock).  The regression then sees the oscillator alone, and steering
 *     the clock cannot feed back into the estimate: there is no loop to
 *     become unstable, and no "ntpd-like" time constant -- the clock is set
 *     open-loop to the estimate, as ntpd-rs's Kalman filter steers towards
 *     its own state estimate (ntpd-rs ntp-proto algorithm/kalman).
 *  4. Frequency and phase combined over the surviving sources by their
 *     inverse variances (chrony's combine_sources(), ntpd-rs's combiner),
 *     so more good servers give a better estimate, never a worse one.
 *  5. Clock steering: the frequency is set to the estimate; the phase is
 *     slewed at up to 83,333 ppm (chrony's maximum), over a time that grows
 *     as the offset shrinks towards its own uncertainty (chrony's
 *     correction time ratio); a step only at start-up over a threshold
 *     (chrony's makestep).
 *  6. A start-up gate: no clock decision before the surviving sources are
 *     a majority of the sources that count (those configured, while still
 *     waiting for first replies; then those reachable) -- NTP's own
 *     intersection rule (RFC 5905 §11.2.1) applied to the configured set,
 *     as chrony's "waits for sources with bad statistics" and ntpd's `tos
 *     minsane` try to, so a falseticker that answers first cannot win.
 *  7. The poll follows the regression: up while the window keeps more than
 *     a target number of samples, down when the runs test cuts it (chrony's
 *     polltarget), and down fast when a sample falls outside what the fit
 *     predicted.
 *
 * Selection (intersection, clustering) is ntp_select's, RFC 5905 §11.2, fed
 * with the regression's offsets and their uncertainties.
 *
 * Sign convention as everywhere: offset = server - local (positive: the
 * local clock is behind).  The correction C(t) is what the discipline has
 * added to the clock reading since it started; the free-running offset of a
 * sample is x = offset + C(t), and a clock that follows x(t) = a + b t has
 * offset 0: frequency b, phase a + b t - C(t).
 */
#include "ntp_regress.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ntp_const.h"
#include "ntp_disc.h"
#include "ntp_proto.h"
#include "ntp_select.h"

#define RG_MAX_SAMPLES 64 /* samples kept per source (chrony MAX_SAMPLES) */
#define RG_MIN_REGRESS                                                                             \
	3               /* samples for a regression with residuals (chrony                         \
	                   MIN_SAMPLES_FOR_REGRESS) */
#define RG_MIN_ASYM 12  /* samples before the asymmetry is fitted (ours) */
#define RG_ASYM_T   4.0 /* |asymmetry| / its standard error to take it (ours) */
#define RG_EXCESS_TO_SCALE                                                                         \
	1.4                       /* median delay excess / this = weight scale (chrony             \
	                             divides by SD_TO_DIST_RATIO 0.7; half that scale              \
	                             favours low-delay samples more: S3's RMS -15 %,               \
	                             S1, S4, S6 within 5 %, docs/disciplines.md) */
#define RG_STEP_SDS        2.0    /* uncertainties an offset must clear the step threshold by */
#define RG_PRIOR_PER_DELAY 0.2887 /* sd of a sample per s of delay: 1/sqrt(12) */
#define RG_PRIOR_DOF       2.0    /* samples' worth of weight of that prior noise */
#define RG_MIN_WEIGHTING   8      /* samples before delay weights may be used (ours) */
#define RG_WEIGHT_EVIDENCE 1.5    /* the slower half's residuals must be this much larger */
#define RG_RUNS_Z                                                                                  \
	1.64                     /* one-sided 5 % quantile of the runs test (the residuals         \
	                            extended back make it strong enough at 5 %) */
#define RG_MIN_NONLAN_POLL 0     /* log2 s, fastest poll off the LAN (chrony MIN_NONLAN_POLL) */
#define RG_MAX_LAN_DELAY   0.01  /* s, round trip of a LAN source (chrony MAX_LAN_PEER_DELAY) */
#define RG_MAX_FILTERED    4     /* refused in a row, the next sample is taken (ours) */
#define RG_RESET_SDS       100.0 /* ... and this many, a step: the window starts over */
#define RG_FB_MAX          31    /* fallback drifts at most (2^0 .. 2^30 s) */
#define RG_MISS_SDS        3.0   /* a sample this many sds off the prediction cuts the window */
#define RG_MIN_SLEW        1.0   /* s, shortest phase slew (ours: one update's worth) */
#define RG_MAX_SKEW                                                                                \
	1e-3 /* s/s, frequency uncertainty with no estimate (chrony                                \
	        WORST_CASE_FREQ_BOUND is 2000 ppm; 1000 ppm here) */
#define RG_MAX_UPDATE_SKEW                                                                         \
	1e-3 /* s/s, a skew over this does not move the frequency                                  \
	        (chrony maxupdateskew 1000 ppm) */
#define RG_DRIFT_SKEW                                                                              \
	5e-6              /* s/s, uncertainty of a drift-file frequency (ours: an                  \
	                     ntpd drift file has no skew; a few ppm covers the                     \
	                     temperature it was written at) */
#define RG_MIN_SKEW 1e-12 /* s/s, floor of a frequency uncertainty (chrony MIN_SKEW) */
#define RG_FREQ_LIMIT                                                                              \
	0.09 /* s/s, largest frequency correction: under ntp_clock's                               \
	        NTP_CLOCK_FREQ_LIMIT so a slew still fits */

typedef struct rg_point {
	double t;     /* s since the discipline started (mono), middle of the exchange */
	double x;     /* s, free-running offset: measured offset + C(t) */
	double off;   /* s, the offset as measured (for ntpq's register) */
	double delay; /* s */
	double disp;  /* s, the sample's own dispersion */
} rg_point;

typedef struct rg_fit {
	bool ok;      /* a, b and their errors are valid */
	int n;        /* samples in the window (newest n) */
	int runs;     /* runs of residual signs in it */
	double t0;    /* s, the weighted mean time: a is the offset there */
	double a, b;  /* x(t) = a + b (t - t0) */
	double sigma; /* s, noise of the best sample (residual scale) */
	double w_sum; /* sum of weights (best sample = 1) */
	double s_tt;  /* s^2, weighted spread of the times */
	double min_delay;
	double asym;  /* offset error per second of delay excess, [-0.5, 0.5] */
	double scale; /* s, the delay excess's spread (median / RG_EXCESS_TO_SCALE) */
} rg_fit;

typedef struct rg_src {
	rg_point p[RG_MAX_SAMPLES]; /* the window and what may join it, oldest first */
	int n;
	rg_point old[RG_MAX_SAMPLES]; /* samples cut from it, oldest first: the runs
	                                 test still reads them (chrony's runs_samples) */
	int n_old;
	rg_fit fit;
	double fit_asym;   /* the asymmetry the last fit found (0: none significant) */
	double poll_score; /* chrony's poll score: +-1 moves the poll */
	int filtered;      /* samples the delay filters refused in a row */
	int8_t poll;       /* log2 s, what this source should be polled at */
	bool have_poll;
	ntp_time last_mono; /* the newest sample's arrival; NTP_TIME_NONE: none */
	double est_offset;  /* s, the fit at the newest sample, clock frame */
	double est_jitter;  /* s */
	double est_delay;   /* s */
	double est_disp;    /* s */
} rg_src;

/* What the discipline has done to the clock: C(t), ntp_clock's closed
 * form for a constant-rate slew (tau <= 0) with no lag. */
typedef struct rg_corr {
	double t;     /* s, time of the last adjustment */
	double c;     /* s, C(t) then */
	double freq;  /* s/s, frequency correction since */
	double phase; /* s, phase being slewed since */
	double rate;  /* s/s, its slew rate (> 0) */
} rg_corr;

typedef struct rg_sys {
	ntp_time epoch; /* mono of init: t = 0 */
	rg_corr corr;
	double precision; /* s */
	/* parameters */
	double asymmetry, mindelay; /* chrony's asymmetry and mindelay */
	double makestep, maxslew, corrtime, runs_z, wait, maxdelay, maxdelayratio, maxdelaydevratio;
	int makestep_limit, polltarget, minsane, maxsamples;
	bool majority, asymfit;
	bool disabled;             /* `disable ntp`: measure and select, never touch the clock */
	int fb_min, fb_max;        /* log2 s, fallback drifts; fb_min 0: none */
	double fb_freq[RG_FB_MAX]; /* s/s, frequency averaged over 2^(fb_min + i) s */
	double fb_secs[RG_FB_MAX]; /* s of updates in each average so far */
	int fb_used;               /* the fallback in effect + 1; 0: none */
	int8_t minpoll, maxpoll;
	ntp_select_params sel;
	/* state */
	int state;                           /* enum ntp_disc_state */
	int updates;                         /* clock updates made */
	ntp_time last_epoch;                 /* newest sample a clock update used */
	double last_t;                       /* s, time of the last clock update */
	double offset, jitter, skew, wander; /* the frequency is corr.freq */
	bool have_prior; /* a drift file gave prior_freq, uncertain by prior_skew */
	double prior_freq, prior_skew;
	int8_t poll;
	bool interval;
	double low, high;
} rg_sys;

static const ntp_disc_param rg_params[] = {
        {.name = "makestep",
         .unit = "s",
         .dflt = 1.0,
         .min = 0,
         .max = 1e9,
         .what = "step when |offset| exceeds this (by two uncertainties) in the first "
                 "makestep_limit updates (chrony makestep); 0: step every offset"},
        {.name = "makestep_limit",
         .dflt = 3,
         .min = -1,
         .max = 1e6,
         .integer = true,
         .what = "updates in which a step is allowed; -1: any, 0: never step"},
        {.name = "maxslew",
         .unit = "s/s",
         .dflt = 1.0 / 12.0,
         .min = 1e-6,
         .max = 0.1,
         .what = "fastest phase slew (chrony: 83,333 ppm)"},
        {.name = "corrtime",
         .dflt = 0.0,
         .min = 0,
         .max = 1e10,
         .what = "slew time / (update interval x uncertainty / offset) (chrony "
                 "correctiontimeratio); 0: as fast as maxslew"},
        {.name = "runs",
         .dflt = RG_RUNS_Z,
         .min = 0,
         .max = 5,
         .what = "runs test: the window is cut while its residuals, extended back by as "
                 "many older samples, have fewer runs than the mean - this x sd"},
        {.name = "polltarget",
         .dflt = 12,
         .min = 1,
         .max = RG_MAX_SAMPLES,
         .integer = true,
         .what = "samples the regression should hold: more raise the poll, fewer lower it"},
        {.name = "maxsamples",
         .dflt = RG_MAX_SAMPLES,
         .min = 1,
         .max = RG_MAX_SAMPLES,
         .integer = true,
         .what = "samples kept per source"},
        {.name = "minsane",
         .dflt = 1,
         .min = 1,
         .max = NTP_SELECT_MAX,
         .integer = true,
         .what = "surviving sources needed for a clock update (tos minsane)"},
        {.name = "majority",
         .dflt = 1,
         .min = 0,
         .max = 1,
         .integer = true,
         .what = "1: the survivors must also be a majority of the sources that count"},
        {.name = "wait",
         .unit = "s",
         .dflt = 128,
         .min = 0,
         .max = 1e6,
         .what = "how long configured sources never heard from still count for the majority"},
        {.name = "driftskew",
         .unit = "s/s",
         .dflt = RG_DRIFT_SKEW,
         .min = RG_MIN_SKEW,
         .max = 1e-3,
         .what = "uncertainty of the drift file's frequency: how much a first, short "
                 "measurement may move it"},
        {.name = "fallbackmin",
         .unit = "log2 s",
         .dflt = 0,
         .min = 0,
         .max = 30,
         .integer = true,
         .what = "chrony's fallbackdrift: after 2^this s without an update the frequency "
                 "falls back to its average over that long; 0: off"},
        {.name = "fallbackmax",
         .unit = "log2 s",
         .dflt = 0,
         .min = 0,
         .max = 30,
         .integer = true,
         .what = "the longest such average (2^this s); with fallbackmin, chrony's "
                 "`fallbackdrift MIN MAX`"},
        {.name = "asymfit",
         .dflt = 1,
         .min = 0,
         .max = 1,
         .integer = true,
         .what = "1: estimate the path's delay asymmetry and correct offsets for it; 0: "
                 "take `asymmetry`"},
        {.name = "asymmetry",
         .dflt = 0,
         .min = -0.5,
         .max = 0.5,
         .what = "with asymfit 0: the share of the delay over the minimum that is on one "
                 "leg; positive when the way back from the source varies more (chrony's "
                 "asymmetry, its sign)"},
        {.name = "mindelay",
         .unit = "s",
         .dflt = 0,
         .min = 0,
         .max = 1e3,
         .what = "the path's minimum round-trip delay, when known; 0: the window's fastest "
                 "(chrony mindelay)"},
        {.name = "maxdelay",
         .unit = "s",
         .dflt = 3.0,
         .min = 1e-9,
         .max = 1e3,
         .what = "ignore samples with a larger round-trip delay (chrony maxdelay)"},
        {.name = "maxdelayratio",
         .dflt = 0,
         .min = 0,
         .max = 1e6,
         .what = "ignore samples with delay over this x the window's minimum; 0: off"},
        {.name = "maxdelaydevratio",
         .dflt = 10,
         .min = 0,
         .max = 1e6,
         .what = "ignore samples whose delay excess is over this x the window's median "
                 "excess / 1.4; 0: off"},
};

#define PARAM(s, name, dflt) ntp_discipline_param((s)->conf, (name), (dflt))

static double
sq(double v)
{
	return v * v;
}

static double
secs(const rg_sys *r, ntp_time mono)
{
	return ntp_time_diff_s(mono, r->epoch);
}

/* ---- the correction C(t) ---- */

static double
corr_at(const rg_corr *k, double t)
{
	double dt = t - k->t;
	double done;

	if (dt <= 0.0) {
		return k->c + k->freq * dt;
	}
	done = fmin(fabs(k->phase), k->rate * dt);
	return k->c + k->freq * dt + copysign(done, k->phase);
}

/* The clock takes a new slew and frequency at t (ntp_clock_adjust: the new
 * phase replaces what is left of the old). */
static void
corr_adjust(rg_corr *k, double t, double phase, double rate, double freq)
{
	k->c = corr_at(k, t);
	k->t = t;
	k->phase = phase;
	k->rate = rate > 0.0 ? rate : 1.0;
	k->freq = freq;
}

/* ---- the regression (sourcestats) ---- */

/* A sample's offset as if its delay had been the path's minimum: the
 * excess times the fitted asymmetry taken off. */
static double
y_of(const rg_src *s, int i, const rg_fit *f)
{
	return s->p[i].x - f->asym * (s->p[i].delay - f->min_delay);
}

/* The residual of a point against a fit. */
static double
residual(const rg_point *p, const rg_fit *f)
{
	return p->x - f->asym * (p->delay - f->min_delay) - (f->a + f->b * (p->t - f->t0));
}

/* Runs of equal sign among the residuals of the window [from, n),
 * extended back by as many older samples as the window holds (those
 * before `from`, then those cut from the window earlier: chrony's
 * runs_samples), so that a line that fits the window but not the samples
 * just before it -- a frequency that moved -- shows as a long run. */
static int
count_runs(const rg_src *s, int from, const rg_fit *f, int *pos, int *neg)
{
	int n = s->n - from, ext = n, runs = 0, last = 0;

	*pos = *neg = 0;
	ext = ext < from + s->n_old ? ext : from + s->n_old;
	for (int k = -ext; k < n; k++) {
		int i = from + k;
		const rg_point *p = i >= 0 ? &s->p[i] : &s->old[s->n_old + i];
		int sign = residual(p, f) >= 0.0 ? 1 : -1;

		*pos += sign > 0;
		*neg += sign < 0;
		if (sign != last) {
			runs++;
			last = sign;
		}
	}
	return runs;
}

/* Wald-Wolfowitz runs test: too few runs means the residuals are not
 * noise -- the line does not fit the older samples (wander). */
static bool
runs_ok(int runs, int pos, int neg, double z)
{
	double n = pos + neg, mu, var;

	if (pos == 0 || neg == 0) {
		return n < RG_MIN_REGRESS + 1;
	}
	mu = 1.0 + 2.0 * pos * neg / n;
	var = 2.0 * pos * neg * (2.0 * pos * neg - n) / (n * n * (n - 1.0));
	return runs >= mu - z * sqrt(var > 0.0 ? var : 0.0);
}

/* Weighted least squares over samples [from, n) with weights w, of the
 * offsets corrected by f->asym. */
static void
fit_window(const rg_src *s, int from, const double *w, double prior, rg_fit *f)
{
	double sw = 0.0, st = 0.0, sx = 0.0, stt = 0.0, stx = 0.0, rss = 0.0;
	int n = s->n - from;

	for (int i = from; i < s->n; i++) {
		sw += w[i];
		st += w[i] * s->p[i].t;
		sx += w[i] * y_of(s, i, f);
	}
	f->t0 = st / sw;
	for (int i = from; i < s->n; i++) {
		double dt = s->p[i].t - f->t0;

		stt += w[i] * dt * dt;
		stx += w[i] * dt * (y_of(s, i, f) - sx / sw);
	}
	f->n = n;
	f->w_sum = sw;
	f->s_tt = stt;
	f->a = sx / sw;
	f->b = stt > 0.0 ? stx / stt : 0.0;
	for (int i = from; i < s->n; i++) {
		rss += w[i] * sq(y_of(s, i, f) - (f->a + f->b * (s->p[i].t - f->t0)));
	}
	/* The residuals' estimate of the noise, with the prior worth
	 * RG_PRIOR_DOF samples: two or three samples cannot claim to be
	 * quieter than their delays allow. */
	f->sigma = sqrt((rss + RG_PRIOR_DOF * sq(prior)) / (n - 2 + RG_PRIOR_DOF));
	f->ok = n >= 2 && stt > 0.0;
}

/* The median of n values (sorted in place; n <= RG_MAX_SAMPLES). */
static double
median_of(double *e, int n)
{
	if (n <= 0) {
		return 0.0;
	}
	for (int i = 1; i < n; i++) {
		double v = e[i];
		int j = i - 1;

		for (; j >= 0 && e[j] > v; j--) {
			e[j + 1] = e[j];
		}
		e[j + 1] = v;
	}
	return e[n / 2];
}

static double
median_excess(const rg_src *s, double min_delay)
{
	double e[RG_MAX_SAMPLES];

	for (int i = 0; i < s->n; i++) {
		e[i] = s->p[i].delay - min_delay;
	}
	return median_of(e, s->n);
}

/* The fit's offset at t in the free-running frame, and its uncertainty. */
static double
fit_x(const rg_fit *f, double t)
{
	return f->a + f->b * (t - f->t0);
}

static double
fit_sd(const rg_fit *f, double t)
{
	if (!f->ok) {
		return f->sigma + RG_MAX_SKEW * fabs(t - f->t0);
	}
	return f->sigma * sqrt(1.0 / f->w_sum + sq(t - f->t0) / f->s_tt);
}

static double
fit_skew(const rg_fit *f)
{
	return f->ok ? fmax(f->sigma / sqrt(f->s_tt), RG_MIN_SKEW) : RG_MAX_SKEW;
}

/* The delay asymmetry of a path (chrony's estimate_asymmetry()): fit
 * x = a + b t + c E over the window, E the delay excess; c is how much of
 * the excess lands on the offset.  Taken only when it is significant (a
 * symmetric path gives 0, and fitting noise would add variance), clamped
 * to [-0.5, 0.5] where all the excess is on one leg. */
static double
fit_asymmetry(const rg_src *s, int from, const double *w)
{
	double sw = 0.0, st = 0.0, se = 0.0, sx = 0.0;
	double stt = 0.0, see = 0.0, ste = 0.0, stx = 0.0, sex = 0.0, rss = 0.0;
	double tm, em, xm, det, b, c, a, var;
	int n = s->n - from;

	for (int i = from; i < s->n; i++) {
		sw += w[i];
		st += w[i] * s->p[i].t;
		se += w[i] * (s->p[i].delay - s->fit.min_delay);
		sx += w[i] * s->p[i].x;
	}
	tm = st / sw;
	em = se / sw;
	xm = sx / sw;
	for (int i = from; i < s->n; i++) {
		double dt = s->p[i].t - tm, de = s->p[i].delay - s->fit.min_delay - em;
		double dx = s->p[i].x - xm;

		stt += w[i] * dt * dt;
		see += w[i] * de * de;
		ste += w[i] * dt * de;
		stx += w[i] * dt * dx;
		sex += w[i] * de * dx;
	}
	det = stt * see - ste * ste;
	if (!(det > 0.0) || n <= 3) {
		return 0.0;
	}
	b = (see * stx - ste * sex) / det;
	c = (stt * sex - ste * stx) / det;
	a = xm;
	for (int i = from; i < s->n; i++) {
		double r = s->p[i].x - a - b * (s->p[i].t - tm) -
		           c * (s->p[i].delay - s->fit.min_delay - em);

		rss += w[i] * r * r;
	}
	var = rss / (n - 3) * stt / det;
	if (fabs(c) < RG_ASYM_T * sqrt(var)) {
		return 0.0;
	}
	return c > 0.5 ? 0.5 : c < -0.5 ? -0.5 : c;
}

/* The longest window whose residuals pass the runs test. */
static void
find_window(const rg_sys *r, rg_src *s, const double *w, double prior)
{
	rg_fit base = s->fit;

	for (int from = 0; from <= s->n - 2; from++) {
		rg_fit f = base;
		int pos, neg;

		f.asym = s->fit_asym;
		fit_window(s, from, w, prior, &f);
		f.runs = count_runs(s, from, &f, &pos, &neg);
		if (!f.ok) {
			continue;
		}
		if (s->n - from <= RG_MIN_REGRESS || runs_ok(f.runs, pos, neg, r->runs_z)) {
			s->fit = f;
			return;
		}
	}
}

/* Do the delay weights describe this path?  On a queueing path (chrony's
 * exponential delays) a fast exchange is a precise one, and the residuals
 * of the faster half of the window are clearly smaller than those of the
 * slower half; on a path whose delay varies on both legs alike (netem's
 * normal jitter) the fastest exchange is no better, and weighting by
 * delay only throws samples away.  Too few samples to tell: no weights. */
static bool
delay_weights_pay(const rg_src *s)
{
	const rg_fit *f = &s->fit;
	int from = s->n - f->n, n_lo = 0, n_hi = 0;
	double e[RG_MAX_SAMPLES], med, lo = 0.0, hi = 0.0;

	if (!f->ok || f->n < RG_MIN_WEIGHTING) {
		return false;
	}
	for (int i = from; i < s->n; i++) {
		e[i - from] = s->p[i].delay;
	}
	med = median_of(e, f->n);
	for (int i = from; i < s->n; i++) {
		double r = y_of(s, i, f) - fit_x(f, s->p[i].t);

		if (s->p[i].delay <= med) {
			lo += r * r;
			n_lo++;
		} else {
			hi += r * r;
			n_hi++;
		}
	}
	return n_lo > 0 && n_hi > 0 && hi / n_hi > sq(RG_WEIGHT_EVIDENCE) * (lo / n_lo);
}

/* The regression of a source: weights by delay excess where they pay, the
 * longest window whose residuals pass the runs test, the asymmetry. */
static void
regress(const rg_sys *r, rg_src *s)
{
	double w[RG_MAX_SAMPLES], min_delay = INFINITY, scale, prior;

	memset(&s->fit, 0, sizeof s->fit);
	if (s->n == 0) {
		return;
	}
	for (int i = 0; i < s->n; i++) {
		min_delay = fmin(min_delay, s->p[i].delay);
	}
	if (r->mindelay > 0.0) {
		min_delay = fmin(min_delay, r->mindelay); /* chrony mindelay */
	}
	scale = fmax(median_excess(s, min_delay) / RG_EXCESS_TO_SCALE, r->precision);
	for (int i = 0; i < s->n; i++) {
		w[i] = 1.0 / sq(1.0 + (s->p[i].delay - min_delay) / scale);
	}
	/* The noise a sample may have before residuals say otherwise: an
	 * offset error spread evenly over RFC 5905's bound of +-delay/2 has
	 * an sd of delay/sqrt(12); taken at the fastest exchange seen. */
	prior = fmax(min_delay * RG_PRIOR_PER_DELAY, r->precision);
	s->fit.min_delay = min_delay;
	s->fit.sigma = prior;
	s->fit.scale = scale;
	s->fit.asym = s->fit_asym;
	if (s->n < 2) {
		s->fit.n = s->n;
		s->fit.a = s->p[0].x;
		s->fit.t0 = s->p[0].t;
		return;
	}
	find_window(r, s, w, prior);
	if (!delay_weights_pay(s)) {
		for (int i = 0; i < s->n; i++) {
			w[i] = 1.0;
		}
		find_window(r, s, w, prior);
	}
	if (r->asymfit && s->fit.ok && s->fit.n >= RG_MIN_ASYM) {
		s->fit_asym = fit_asymmetry(s, s->n - s->fit.n, w);
		s->fit.asym = s->fit_asym;
		fit_window(s, s->n - s->fit.n, w, prior, &s->fit);
	}
}

/* ---- the poll ---- */

static int8_t
clamp_poll(const rg_sys *r, int v)
{
	return (int8_t)(v < r->minpoll ? r->minpoll : v > r->maxpoll ? r->maxpoll : v);
}

/* chrony's get_poll_adj(): off the prediction by more than the sample's
 * own distance backs off hard; otherwise steer the window towards
 * polltarget samples, shortening twice as fast as lengthening. */
static void
poll_adjust(const rg_sys *r, rg_src *s, double miss, double distance)
{
	double adj;

	if (!s->have_poll) {
		s->poll = r->minpoll;
		s->have_poll = true;
	}
	if (miss > distance && distance > 0.0) {
		adj = -log2(miss / distance);
	} else {
		adj = ((double)s->fit.n / r->polltarget - 1.0) / r->polltarget;
		if (adj < 0.0) {
			adj *= 2.0;
		}
	}
	s->poll_score += adj;
	if (s->poll_score >= 1.0 || s->poll_score < 0.0) {
		int step = (int)floor(s->poll_score);
		int8_t p = clamp_poll(r, s->poll + step);

		s->poll_score -= step;
		if (p == s->poll) {
			s->poll_score =
			        step > 0 ? fmin(s->poll_score, 1.0) : fmax(s->poll_score, 0.0);
		}
		s->poll = p;
	}
}

/* ---- the seam ---- */

static int
rg_init(void *sys, const ntp_disc_setup *s, char *err, size_t errsize)
{
	rg_sys *r = sys;

	memset(r, 0, sizeof *r);
	r->epoch = s->now.mono;
	r->precision = ldexp(1.0, s->precision);
	r->makestep = PARAM(s, "makestep", 1.0);
	r->makestep_limit = (int)PARAM(s, "makestep_limit", 3);
	r->maxslew = PARAM(s, "maxslew", 1.0 / 12.0);
	r->corrtime = PARAM(s, "corrtime", 0.0);
	r->runs_z = PARAM(s, "runs", RG_RUNS_Z);
	r->polltarget = (int)PARAM(s, "polltarget", 12);
	r->maxsamples = (int)PARAM(s, "maxsamples", RG_MAX_SAMPLES);
	r->minsane = (int)PARAM(s, "minsane", s->minsane > 1 ? s->minsane : 1);
	r->majority = PARAM(s, "majority", 1) != 0.0;
	r->wait = PARAM(s, "wait", 128);
	r->disabled = s->conf->disable_ntp;
	r->fb_min = (int)PARAM(s, "fallbackmin", 0);
	r->fb_max = (int)PARAM(s, "fallbackmax", 0);
	if (r->fb_min > 0 && r->fb_max < r->fb_min) {
		snprintf(err, errsize, "discipline regress: fallbackmax %d is below fallbackmin %d",
		         r->fb_max, r->fb_min);
		return -1;
	}
	r->asymfit = PARAM(s, "asymfit", 1) != 0.0;
	r->asymmetry = PARAM(s, "asymmetry", 0.0);
	r->mindelay = PARAM(s, "mindelay", 0.0);
	r->maxdelay = PARAM(s, "maxdelay", 3.0);
	r->maxdelayratio = PARAM(s, "maxdelayratio", 0);
	r->maxdelaydevratio = PARAM(s, "maxdelaydevratio", 10);
	r->minpoll = s->minpoll;
	r->maxpoll = s->maxpoll;
	r->poll = s->minpoll;
	r->skew = RG_MAX_SKEW;
	r->corr.rate = 1.0;
	r->last_epoch = NTP_TIME_NONE;
	r->state = NTP_DISC_NSET;
	if (s->have_drift && !s->conf->disable_ntp) {
		r->corr.freq = s->drift_ppm * 1e-6;
		r->prior_freq = r->corr.freq;
		r->prior_skew = PARAM(s, "driftskew", RG_DRIFT_SKEW);
		r->skew = r->prior_skew;
		r->have_prior = true;
		r->state = NTP_DISC_FSET;
	}
	ntp_select_params_default(&r->sel);
	r->sel.minsane = 1; /* the gate counts; see update() */
	r->sel.minclock = s->minclock;
	r->sel.maxclock = s->maxclock;
	r->sel.sys_precision = r->precision;
	r->sel.maxdist = s->maxdist;
	r->sel.mindist = s->mindist;
	return 0;
}

static bool
rg_start(void *sys, ntp_now now, ntp_clock_adj *adj)
{
	rg_sys *r = sys;

	(void)now;
	memset(adj, 0, sizeof *adj);
	if (r->state != NTP_DISC_FSET) {
		return false;
	}
	adj->what = NTP_CLOCK_SLEW;
	adj->freq = r->corr.freq;
	return true;
}

static void
rg_src_init(void *sys, void *src, ntp_time mono)
{
	const rg_sys *r = sys;
	rg_src *s = src;

	(void)mono;
	memset(s, 0, sizeof *s);
	/* chrony's sign: positive when the way back varies more, which makes
	 * offsets read low (a negative error per second of excess) */
	s->fit_asym = r->asymfit ? 0.0 : -r->asymmetry;
	s->last_mono = NTP_TIME_NONE;
	s->poll = r->minpoll;
	s->est_disp = NTP_MAXDISPERSE;
}

/* The k oldest samples leave the window for `old`, which keeps its
 * newest RG_MAX_SAMPLES. */
static void
drop_oldest(rg_src *s, int k)
{
	for (int i = 0; i < k; i++) {
		if (s->n_old == RG_MAX_SAMPLES) {
			memmove(&s->old[0], &s->old[1], sizeof s->old[0] * (RG_MAX_SAMPLES - 1));
			s->n_old--;
		}
		s->old[s->n_old++] = s->p[i];
	}
	memmove(&s->p[0], &s->p[k], sizeof s->p[0] * (size_t)(s->n - k));
	s->n -= k;
}

/* A sample far off the line: the oscillator's frequency has moved, and the
 * runs test cannot see it when the window holds many old, densely spaced
 * samples and few new ones.  Keep the newer half of the window's span. */
static void
cut_span(rg_src *s)
{
	double t_new = s->p[s->n - 1].t;
	double t_mid = t_new - (t_new - s->p[0].t) / 2.0;
	int k = 0;

	while (k < s->n - RG_MIN_REGRESS && s->p[k].t < t_mid) {
		k++;
	}
	drop_oldest(s, k);
}

/* A sample the filters refuse (chrony's maxdelay, maxdelayratio and
 * maxdelaydevratio tests); the reason is the return. */
static const char *
filtered(const rg_sys *r, const rg_src *s, double delay)
{
	if (delay > r->maxdelay) {
		return "maxdelay";
	}
	if (s->n > 0 && r->maxdelayratio > 0.0 && s->fit.min_delay > 0.0 &&
	    delay > r->maxdelayratio * s->fit.min_delay) {
		return "maxdelayratio";
	}
	if (s->fit.n >= 4 && r->maxdelaydevratio > 0.0 &&
	    delay - s->fit.min_delay > r->maxdelaydevratio * s->fit.scale &&
	    delay - s->fit.min_delay > 2.0 * r->precision) {
		return "maxdelaydevratio";
	}
	return NULL;
}

static void
src_estimate_now(const rg_sys *r, rg_src *s, const rg_point *pt)
{
	s->est_offset = s->fit.n >= 2 ? fit_x(&s->fit, pt->t) - corr_at(&r->corr, pt->t) : pt->off;
	s->est_jitter = fmax(fit_sd(&s->fit, pt->t), r->precision);
	s->est_delay = s->fit.min_delay;
	s->est_disp = pt->disp;
}

static int
rg_sample(void *sys, void *src, const ntp_sample *smp, double *spike)
{
	rg_sys *r = sys;
	rg_src *s = src;
	rg_point pt;
	double miss = 0.0, expect = 0.0, t_rx, delay;
	const char *why;

	*spike = 0.0;
	if (smp->lost) {
		/* a poll without a reply: with fallback drifts, a system pass (the
		 * host's only call while no source answers) */
		return r->fb_min > 0 && r->updates > 0 ? NTP_SAMPLE_NEW : NTP_SAMPLE_OLD;
	}
	if (!isfinite(smp->offset) || !isfinite(smp->delay)) {
		return NTP_SAMPLE_OLD;
	}
	t_rx = secs(r, smp->mono);
	/* The exchange was timed on our clock, which our own slew moved by
	 * C(t4) - C(t1) meanwhile: that much of the delay is ours. */
	delay = smp->delay - (corr_at(&r->corr, t_rx) - corr_at(&r->corr, t_rx - smp->delay));
	why = filtered(r, s, delay);
	if (why != NULL && (strcmp(why, "maxdelay") == 0 || s->filtered < RG_MAX_FILTERED)) {
		/* a run of refusals relative to the window means the window's
		 * minimum is what is wrong; the absolute maxdelay always holds */
		s->filtered++;
		*spike = smp->offset;
		return NTP_SAMPLE_POPCORN;
	}
	s->filtered = 0;
	pt.t = t_rx - delay / 2.0;
	pt.off = smp->offset;
	pt.x = smp->offset + corr_at(&r->corr, pt.t);
	pt.delay = delay;
	pt.disp = smp->disp;
	if (s->fit.n >= 2) {
		double excess = fmax(pt.delay - s->fit.min_delay, 0.0);

		miss = fabs(pt.x - s->fit.asym * excess - fit_x(&s->fit, pt.t));
		expect = hypot(fit_sd(&s->fit, pt.t), s->fit.sigma * (1.0 + excess / s->fit.scale));
	}
	if (s->n >= r->maxsamples) {
		drop_oldest(s, 1);
	}
	s->p[s->n++] = pt;
	if (s->fit.n >= 2 && miss > RG_RESET_SDS * expect) {
		/* the clock was stepped under us (or the source was): nothing
		 * before this sample describes the oscillator any more */
		drop_oldest(s, s->n - 1);
		s->n_old = 0;
	} else if (s->fit.n >= RG_MIN_REGRESS && miss > RG_MISS_SDS * expect) {
		cut_span(s);
	}
	regress(r, s);
	/* drop what the runs test cut: it will not be used again */
	if (s->fit.n >= 2 && s->fit.n < s->n) {
		drop_oldest(s, s->n - s->fit.n);
	}
	poll_adjust(r, s, miss, smp->delay / 2.0 + smp->disp + 3.0 * s->fit.sigma);
	s->last_mono = smp->mono;
	src_estimate_now(r, s, &pt);
	return NTP_SAMPLE_NEW;
}

static void
rg_estimate(const void *sys, const void *src, ntp_estimate *e)
{
	const rg_src *s = src;

	(void)sys;
	e->offset = s->est_offset;
	e->delay = s->last_mono == NTP_TIME_NONE ? 0.0 : s->est_delay;
	e->disp = s->est_disp;
	e->jitter = s->est_jitter;
	e->t = s->last_mono == NTP_TIME_NONE ? 0 : s->last_mono;
	e->epoch = s->last_mono;
}

/* One source's view now, in the clock frame. */
typedef struct rg_view {
	double offset, sd, freq, skew;
	bool has_freq;
} rg_view;

static rg_view
view_now(const rg_sys *r, const rg_src *s, double t)
{
	rg_view v = {0};
	double c = corr_at(&r->corr, t);

	if (s->fit.n >= 2 && s->fit.ok) {
		v.offset = fit_x(&s->fit, t) - c;
		v.sd = fit_sd(&s->fit, t);
		v.freq = s->fit.b;
		v.skew = fit_skew(&s->fit);
		v.has_freq = true;
	} else if (s->n > 0) {
		/* one sample: assume the clock's own frequency since */
		const rg_point *p = &s->p[s->n - 1];

		v.offset = p->x + r->corr.freq * (t - p->t) - c;
		/* a lone sample: RFC 5905's error bound, half its delay */
		v.sd = fmax(s->fit.sigma, p->delay / 2.0) + r->skew * fabs(t - p->t);
	}
	v.sd = fmax(v.sd, r->precision);
	return v;
}

/* The surviving sources' views combined by inverse variance (offset) and
 * inverse squared skew (frequency). */
typedef struct rg_comb {
	double offset, sd, freq, skew;
	bool has_freq;
	ntp_time epoch; /* newest sample among them */
} rg_comb;

static bool
survivor(int state)
{
	return state == NTP_SEL_CANDIDATE || state == NTP_SEL_SYSPEER;
}

static void
combine_add(rg_comb *cb, const rg_view *v, ntp_time epoch, double acc[4])
{
	acc[0] += 1.0 / sq(v->sd);
	acc[1] += v->offset / sq(v->sd);
	if (v->has_freq) {
		acc[2] += 1.0 / sq(v->skew);
		acc[3] += v->freq / sq(v->skew);
	}
	if (epoch != NTP_TIME_NONE && (cb->epoch == NTP_TIME_NONE || epoch > cb->epoch)) {
		cb->epoch = epoch;
	}
}

/* `views` are the candidates' (select_peer's); `only`, when given, is the
 * one source combined (a LOCAL driver, the orphan parent, a trusted one). */
static void
combine(const rg_sys *r, const ntp_disc_input *in, const rg_view *views, const ntp_disc_cand *only,
        double t, rg_comb *cb)
{
	double acc[4] = {0.0, 0.0, 0.0, 0.0}; /* sum of offset, frequency weights and terms */
	size_t m = in->n < NTP_SELECT_MAX ? in->n : NTP_SELECT_MAX;

	memset(cb, 0, sizeof *cb);
	cb->epoch = NTP_TIME_NONE;
	if (only != NULL) {
		rg_view v = view_now(r, only->src, t);

		combine_add(cb, &v, only->est.epoch, acc);
	}
	for (size_t k = 0; only == NULL && k < m; k++) {
		if (survivor(in->cand[k].sel)) {
			combine_add(cb, &views[k], in->cand[k].est.epoch, acc);
		}
	}
	cb->offset = acc[1] / acc[0];
	cb->sd = 1.0 / sqrt(acc[0]);
	cb->has_freq = acc[2] > 0.0;
	cb->freq = cb->has_freq ? acc[3] / acc[2] : r->corr.freq;
	cb->skew = cb->has_freq ? 1.0 / sqrt(acc[2]) : RG_MAX_SKEW;
}

/* The sources that count for the majority: every configured one while
 * the first replies may still come (so the first to answer cannot win),
 * then those that passed the fit tests -- a source refused for a sync
 * loop, its distance or its stratum does not vote (chronyd counts only
 * selectable sources). */
static int
voters(const rg_sys *r, const ntp_disc_input *in, double t)
{
	int n = 0;

	if (r->updates == 0 && t < r->wait) {
		return in->n_assoc;
	}
	for (size_t k = 0; k < in->n; k++) {
		n += !in->cand[k].local;
	}
	return n;
}

/* RFC 5905 §11.2.1's majority applied to the configured set: the sources
 * that agree must be more than half of those that count. */
static int
sources_needed(const rg_sys *r, const ntp_disc_input *in, double t)
{
	int votes = voters(r, in, t);
	int need = r->majority ? votes / 2 + 1 : 1;

	return need > r->minsane ? need : r->minsane;
}

/* A `true` source (ntpd: always a truechimer; chronyd's `trust`) that
 * survived carries the decision without a majority. */
static bool
trusted_survivor(const ntp_disc_input *in)
{
	for (size_t k = 0; k < in->n; k++) {
		if (in->cand[k].trueticker && survivor(in->cand[k].sel)) {
			return true;
		}
	}
	return false;
}

static int
truechimers(const ntp_disc_input *in)
{
	int n = 0;

	for (size_t k = 0; k < in->n; k++) {
		n += in->cand[k].sel != NTP_SEL_FALSETICKER && in->cand[k].sel != NTP_SEL_REJECT;
	}
	return n;
}

/* A surviving `true` source is the system peer (chronyd's `trust`: a
 * trusted source wins over sources it disagrees with, which may survive
 * the intersection when their intervals are wide). */
static const ntp_disc_cand *
trusted_peer(const ntp_disc_input *in, int sys, const char *why, ntp_disc_decision *out)
{
	for (size_t k = 0; k < in->n && !in->cand[sys].trueticker; k++) {
		if (in->cand[k].trueticker && survivor(in->cand[k].sel)) {
			in->cand[sys].sel = NTP_SEL_CANDIDATE;
			in->cand[k].sel = NTP_SEL_SYSPEER;
			snprintf(out->why, sizeof out->why, "trusted (`true`) survivor");
			return &in->cand[k];
		}
	}
	snprintf(out->why, sizeof out->why, "%s", why);
	return &in->cand[sys];
}

/* Selection: ntp_select over the regression's views; the orphan parent
 * when nothing survives.  Returns the system peer, NULL with out->why. */
static const ntp_disc_cand *
select_peer(rg_sys *r, const ntp_disc_input *in, rg_view *views, double t, ntp_disc_decision *out)
{
	ntp_select_cand c[NTP_SELECT_MAX] = {{0}};
	ntp_select_result res;
	size_t m = in->n < NTP_SELECT_MAX ? in->n : NTP_SELECT_MAX;
	int agree, need;

	for (size_t k = 0; k < m; k++) {
		const ntp_disc_cand *d = &in->cand[k];

		views[k] = view_now(r, d->src, t);
		c[k] = (ntp_select_cand){.id = d->id,
		                         .offset = views[k].offset,
		                         .jitter = views[k].sd,
		                         .rootdist = d->rootdist,
		                         .stratum = d->stratum,
		                         .prefer = d->prefer,
		                         .trueticker = d->trueticker,
		                         .local = d->local};
	}
	r->sel.prev_sys_peer = in->prev_sys_peer != 0 ? in->prev_sys_peer : -1;
	ntp_select_run(c, m, &r->sel, &res);
	r->sel.clockhop = res.clockhop;
	r->interval = res.interval_found;
	r->low = res.low;
	r->high = res.high;
	for (size_t k = 0; k < m; k++) {
		in->cand[k].sel = res.state[k];
	}
	if (res.sys_peer < 0) {
		if (in->fallback != NULL) {
			in->fallback->sel = NTP_SEL_SYSPEER;
			snprintf(out->why, sizeof out->why, "orphan parent");
			return in->fallback;
		}
		snprintf(out->why, sizeof out->why, "%s", res.reason);
		return NULL;
	}
	if (in->cand[res.sys_index].local) {
		snprintf(out->why, sizeof out->why, "%s",
		         ntp_select_why(&res, (size_t)res.sys_index));
		return &in->cand[res.sys_index];
	}
	agree = truechimers(in);
	need = sources_needed(r, in, t);
	if (agree < need && !trusted_survivor(in)) {
		for (size_t k = 0; k < m; k++) {
			if (survivor(in->cand[k].sel)) {
				in->cand[k].sel = NTP_SEL_CANDIDATE;
			}
		}
		snprintf(out->why, sizeof out->why,
		         "no majority yet: %d of %d sources agree, %d needed", agree,
		         voters(r, in, t), need);
		return NULL;
	}
	return trusted_peer(in, res.sys_index, ntp_select_why(&res, (size_t)res.sys_index), out);
}

static double
clamp_freq(double f)
{
	return f > RG_FREQ_LIMIT ? RG_FREQ_LIMIT : f < -RG_FREQ_LIMIT ? -RG_FREQ_LIMIT : f;
}

/* chrony's slew time: the smaller the offset against its uncertainty, the
 * longer (so noise is not chased), never faster than maxslew. */
static double
slew_time(const rg_sys *r, double offset, double sd, double interval)
{
	double d = fabs(offset);
	double t = d / r->maxslew;

	if (r->corrtime > 0.0 && d > 0.0) {
		t = fmax(t, r->corrtime * 0.5 * sd * interval / d);
	}
	return fmax(t, RG_MIN_SLEW);
}

/* Step only when the offset is over the threshold by more than twice its
 * uncertainty, so a noisy first sample near the threshold is slewed; a
 * threshold of 0 steps every offset (chrony's `makestep 0 -1`). */
static bool
step_allowed(const rg_sys *r, double offset, double sd)
{
	if (r->makestep_limit == 0 || (r->makestep_limit > 0 && r->updates >= r->makestep_limit)) {
		return false;
	}
	return r->makestep > 0.0 ? fabs(offset) - RG_STEP_SDS * sd > r->makestep : offset != 0.0;
}

/* The frequency: the regression's, combined with the drift file's by
 * inverse variance while the regression is still short and noisy.  The
 * drift-file prior is used as it was at start (not updated), since each
 * regression already holds every sample before it: feeding one into the
 * next, as chrony's get_clock_estimates() does, counts samples twice and
 * let 3 ms of network noise swing a 0-ppm clock by 200 ppm in 90 s.  A
 * regression with a skew over RG_MAX_UPDATE_SKEW (chrony maxupdateskew)
 * is not used at all. */
static double
freq_filter(rg_sys *r, const rg_comb *cb)
{
	double w0, w1;

	if (!cb->has_freq || cb->skew > RG_MAX_UPDATE_SKEW) {
		return r->corr.freq;
	}
	if (!r->have_prior) {
		r->skew = cb->skew;
		return cb->freq;
	}
	w0 = 1.0 / sq(r->prior_skew);
	w1 = 1.0 / sq(cb->skew);
	r->skew = 1.0 / sqrt(w0 + w1);
	return (w0 * r->prior_freq + w1 * cb->freq) / (w0 + w1);
}

/* chrony's fallback drifts (reference.c update_fb_drifts()): the
 * frequency averaged over 2^k s for k = fb_min..fb_max -- a plain mean
 * until it spans 2^k s, then an exponential one -- so that a clock that
 * loses its sources falls back to its long-term frequency rather than to
 * the last one, which a daily temperature cycle may have left far off. */
static void
fallback_update(rg_sys *r, double f, double interval)
{
	r->fb_used = 0;
	for (int i = 0; r->fb_min > 0 && i <= r->fb_max - r->fb_min; i++) {
		double secs = ldexp(1.0, r->fb_min + i);

		if (r->fb_secs[i] < secs) {
			r->fb_freq[i] = (r->fb_freq[i] * r->fb_secs[i] + interval * 0.5 * f) /
			                (interval * 0.5 + r->fb_secs[i]);
			r->fb_secs[i] += interval * 0.5;
		} else {
			r->fb_freq[i] += -expm1(-interval / secs) * (f - r->fb_freq[i]);
		}
	}
}

/* No source: after 2^k s without an update, the k-th fallback drift
 * (the longest one that time allows) becomes the frequency. */
static void
fallback_decide(rg_sys *r, double t, ntp_disc_decision *out)
{
	double idle = t - r->last_t;
	int k = -1;

	if (r->fb_min <= 0 || r->updates == 0 || r->disabled) {
		return;
	}
	for (int i = 0; i <= r->fb_max - r->fb_min; i++) {
		if (idle >= ldexp(1.0, r->fb_min + i) && r->fb_secs[i] > 0.0) {
			k = i;
		}
	}
	if (k < 0 || k + 1 == r->fb_used) {
		return;
	}
	r->fb_used = k + 1;
	out->clock = NTP_DISC_CLOCK_ADJUST;
	out->adj.what = NTP_CLOCK_SLEW;
	out->adj.freq = clamp_freq(r->fb_freq[k]);
	out->adj.slew_max = 1.0;
	corr_adjust(&r->corr, t, 0.0, 1.0, out->adj.freq);
	snprintf(out->reason, sizeof out->reason,
	         "no source for %.0f s: fallback drift %d, frequency %+.3f ppm", idle,
	         r->fb_min + k, out->adj.freq * 1e6);
}

static void
decide_clock(rg_sys *r, const rg_comb *cb, double t, ntp_disc_decision *out)
{
	double f0 = r->corr.freq; /* the frequency until now */
	double f = clamp_freq(freq_filter(r, cb));
	double interval = r->updates > 0 ? t - r->last_t : 0.0;

	out->adj.what = NTP_CLOCK_SLEW;
	out->adj.freq = f;
	out->adj.tau = 0.0;
	out->adj.lag = 0.0;
	if (step_allowed(r, cb->offset, cb->sd)) {
		out->clock = NTP_DISC_CLOCK_STEP;
		out->step = cb->offset;
		out->adj.offset = 0.0;
		out->adj.slew_max = 1.0;
		corr_adjust(&r->corr, t, 0.0, 1.0, f);
		r->corr.c += cb->offset;
		snprintf(out->reason, sizeof out->reason, "step %+.6f s > makestep %g s",
		         cb->offset, r->makestep);
	} else {
		double dur = slew_time(r, cb->offset, cb->sd, interval);
		double rate = fmax(fabs(cb->offset) / dur, 1e-12);

		out->clock = NTP_DISC_CLOCK_ADJUST;
		out->adj.offset = cb->offset;
		out->adj.slew_max = rate;
		corr_adjust(&r->corr, t, cb->offset, rate, f);
		snprintf(out->reason, sizeof out->reason,
		         "slew %+.9f s over %.1f s, frequency %+.3f ppm (+-%.3f)", cb->offset, dur,
		         f * 1e6, cb->skew * 1e6);
	}
	if (r->updates > 0 && interval > 0.0) {
		r->wander = sqrt(0.75 * sq(r->wander) + 0.25 * sq((f - f0) / interval));
		fallback_update(r, f, interval);
	}
}

static void
rg_update(void *sys, const ntp_disc_input *in, ntp_disc_decision *out)
{
	rg_sys *r = sys;
	double t = secs(r, in->now.mono);
	rg_view views[NTP_SELECT_MAX];
	const ntp_disc_cand *peer = select_peer(r, in, views, t, out);
	const rg_src *ps;
	rg_comb cb;
	int8_t old_poll = r->poll;

	if (peer == NULL) {
		fallback_decide(r, t, out);
		return;
	}
	out->sys_peer = peer->id;
	/* a LOCAL driver, the orphan parent or a trusted source alone; else
	 * every survivor */
	combine(r, in, views, peer->local || in->fallback == peer || peer->trueticker ? peer : NULL,
	        t, &cb);
	out->offset = cb.offset;
	out->jitter = cb.sd;
	if (cb.epoch == NTP_TIME_NONE ||
	    (r->last_epoch != NTP_TIME_NONE && cb.epoch <= r->last_epoch)) {
		return;
	}
	r->last_epoch = cb.epoch;
	out->updated = true;
	out->loopstats = true;
	out->old_state = r->state;
	r->state = NTP_DISC_SYNC;
	out->new_state = r->state;
	if (r->disabled) {
		out->clock = NTP_DISC_CLOCK_NONE;
		snprintf(out->reason, sizeof out->reason,
		         "offset %+.9f s measured; `disable ntp`: the clock is left alone",
		         cb.offset);
	} else {
		decide_clock(r, &cb, t, out);
	}
	r->offset = cb.offset;
	r->jitter = cb.sd;
	r->last_t = t;
	r->updates++;
	ps = peer->src;
	r->poll = ps->have_poll ? ps->poll : r->minpoll;
	out->poll_changed = r->poll != old_poll;
}

static int8_t
rg_poll(const void *sys, const void *src)
{
	const rg_sys *r = sys;
	const rg_src *s = src;

	int8_t p;

	if (s == NULL) {
		return r->poll;
	}
	p = s->have_poll ? s->poll : r->minpoll;
	/* chrony: sub-second polls only to a source on the LAN, as its
	 * fastest exchange shows; 1 s until there is one */
	if (p < RG_MIN_NONLAN_POLL && !(s->n > 0 && s->fit.min_delay <= RG_MAX_LAN_DELAY)) {
		p = RG_MIN_NONLAN_POLL;
	}
	return p;
}

/* Our own step: the samples are kept in the free-running frame, which a
 * step does not move (C(t) took it), so nothing is forgotten. */
static void
rg_step(void *sys, void *src, double offset, ntp_time mono)
{
	(void)sys;
	(void)src;
	(void)offset;
	(void)mono;
}

static void
rg_info(const void *sys, ntp_disc_info *out)
{
	const rg_sys *r = sys;

	memset(out, 0, sizeof *out);
	out->name = NTP_REGRESS;
	out->poll = r->poll;
	out->state = r->state;
	out->clock_offset = r->offset;
	out->freq = r->corr.freq;
	out->freq_trusted = r->updates > 0 && r->skew < 1e-6;
	out->clk_jitter = r->jitter;
	out->clk_wander = r->wander;
	out->interval = r->interval;
	out->low = r->low;
	out->high = r->high;
}

static void
rg_src_register(const void *sys, const void *src, ntp_disc_register *out)
{
	const rg_src *s = src;

	(void)sys;
	for (int i = 0; i < NTP_NSTAGE; i++) {
		const rg_point *p = i < s->n ? &s->p[s->n - 1 - i] : NULL;

		out->delay[i] = p != NULL ? p->delay : 0.0;
		out->offset[i] = p != NULL ? p->off : 0.0;
		out->disp[i] = p != NULL ? p->disp : NTP_MAXDISPERSE;
	}
}

const ntp_discipline ntp_regress = {
        .name = NTP_REGRESS,
        .summary = "per-source regression over an adaptive window, majority start-up gate, "
                   "open-loop steering (chrony- and ntpd-rs-like)",
        .params = rg_params,
        .n_params = sizeof rg_params / sizeof rg_params[0],
        .sys_size = sizeof(rg_sys),
        .src_size = sizeof(rg_src),
        .poll_min = NTP_POLL_FLOOR,
        .step_keeps_sources = true,
        .freq_max = RG_FREQ_LIMIT,
        .init = rg_init,
        .start = rg_start,
        .src_init = rg_src_init,
        .sample = rg_sample,
        .estimate = rg_estimate,
        .update = rg_update,
        .poll = rg_poll,
        .step = rg_step,
        .info = rg_info,
        .src_register = rg_src_register,
};
