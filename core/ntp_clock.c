/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A disciplined clock as a closed-form function of raw time.  The phase
 * slew follows ntpd's daemon loop (ntpd/ntp_loopfilter.c adj_host_clock():
 * each second remove clock_offset / tau, total slew bounded by NTP_MAXFREQ)
 * taken to its continuous limit, so one update costs O(1) whatever the
 * interval; the kernel's PLL (ntp_kernel) adds its own correction.
 */
#include "ntp_clock.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp_const.h"

static ntp_time
sat_sub(ntp_time a, ntp_time b)
{
	if (b == INT64_MIN) {
		return a >= 0 ? INT64_MAX : a - b;
	}
	return ntp_time_add_sat(a, -b);
}

static double
clamp(double x, double lo, double hi)
{
	return x < lo ? lo : (x > hi ? hi : x);
}

/* Phase (s, signed like c->phase) slewed away dt seconds after t0. */
static double
phase_removed(const ntp_slew *c, double dt)
{
	double mag = fabs(c->phase);
	double sign = c->phase < 0.0 ? -1.0 : 1.0;
	double done;

	if (mag == 0.0 || !(dt > 0.0)) {
		return 0.0;
	}
	if (c->slew_for > 0.0 && dt > c->slew_for) {
		dt = c->slew_for;
	}
	if (c->tau <= 0.0) {
		/* adjtime(2): constant rate until the whole offset is gone. */
		done = c->slew_max > 0.0 ? fmin(mag, c->slew_max * dt) : mag;
	} else if (c->slew_max <= 0.0 || mag <= c->slew_max * c->tau) {
		done = -mag * expm1(-dt / c->tau);
	} else {
		/* Capped at slew_max until |phase left| = slew_max * tau, where
		 * the exponential rate phase/tau falls below the cap. */
		double knee = c->slew_max * c->tau;
		double t_linear = (mag - knee) / c->slew_max;

		if (dt <= t_linear) {
			done = c->slew_max * dt;
		} else {
			done = (mag - knee) - knee * expm1(-(dt - t_linear) / c->tau);
		}
	}
	return sign * done;
}

static double
elapsed_s(const ntp_slew *c, ntp_time raw)
{
	return (double)sat_sub(raw, c->t0) / 1e9;
}

void
ntp_slew_init(ntp_slew *c, ntp_time raw_now, double freq)
{
	c->t0 = raw_now;
	c->corr0 = 0.0;
	c->phase = 0.0;
	c->tau = 0.0;
	c->freq = isfinite(freq) ? clamp(freq, -NTP_CLOCK_FREQ_LIMIT, NTP_CLOCK_FREQ_LIMIT) : 0.0;
	c->slew_max = NTP_CLOCK_SLEW_MAX;
	c->slew_for = 0.0;
	c->carry = 0.0;
	c->carry_for = 0.0;
}

void
ntp_clock_init(ntp_clock *c, ntp_time raw_now, double freq)
{
	ntp_slew_init(&c->s, raw_now, freq);
	ntp_kernel_init(&c->kern, raw_now, NTP_KERNEL_HZ_DEFAULT);
	c->leap = 0;
	c->leap_at = 0;
}

/* The daemon slew's part of the correction. */
static double
daemon_correction(const ntp_slew *c, ntp_time raw)
{
	double dt = elapsed_s(c, raw);

	double carried = 0.0;

	if (c->carry_for > 0.0 && dt > 0.0) {
		carried = c->carry * fmin(dt, c->carry_for) / c->carry_for;
	}
	return c->corr0 + c->freq * dt + phase_removed(c, dt) + carried;
}

/* The armed leap's part of the correction at raw (s): -1 once an inserted
 * leap is done, +1 once a deleted one is, else 0.  `base` is the rest of
 * the correction there: the reading without the leap decides. */
static double
leap_part(const ntp_clock *c, ntp_time raw, double base)
{
	if (c->leap == 0) {
		return 0.0;
	}
	ntp_time reading = ntp_time_add_sat(raw, ntp_time_from_s(base));
	ntp_time edge = c->leap > 0 ? c->leap_at : c->leap_at - NTP_NS_PER_S;
	return reading >= edge ? -(double)c->leap : 0.0;
}

double
ntp_clock_correction(const ntp_clock *c, ntp_time raw)
{
	double base = daemon_correction(&c->s, raw) + ntp_kernel_correction(&c->kern, raw);

	return base + leap_part(c, raw, base);
}

/* The daemon's correction at raw_now with a leap that is done by then
 * folded in, the clock disarmed: what corr0 starts from at an update. */
static double
rebase(ntp_clock *c, ntp_time raw_now)
{
	double d = daemon_correction(&c->s, raw_now);
	/* the kernel's share only matters with a leap armed: reading it costs */
	double leap = c->leap == 0
	                      ? 0.0
	                      : leap_part(c, raw_now, d + ntp_kernel_correction(&c->kern, raw_now));

	if (leap != 0.0) {
		c->leap = 0;
	}
	return d + leap;
}

void
ntp_clock_leap(ntp_clock *c, int step, ntp_time at)
{
	c->leap = (int8_t)(step > 0 ? 1 : step < 0 ? -1 : 0);
	c->leap_at = at;
}

double
ntp_clock_freq(const ntp_clock *c)
{
	return c->s.freq + ntp_kernel_freq(&c->kern);
}

double
ntp_slew_phase_left(const ntp_slew *c, ntp_time raw)
{
	double dt = elapsed_s(c, raw);

	if (c->slew_for > 0.0 && dt >= c->slew_for) {
		return 0.0; /* dropped */
	}
	return c->phase - phase_removed(c, dt);
}

double
ntp_clock_phase_left(const ntp_clock *c, ntp_time raw)
{
	return ntp_slew_phase_left(&c->s, raw);
}

ntp_time
ntp_clock_read(const ntp_clock *c, ntp_time raw)
{
	return ntp_time_add_sat(raw, ntp_time_from_s(ntp_clock_correction(c, raw)));
}

/* A new slew from raw_now on, the correction then corr0. */
static void
restart(ntp_slew *c, ntp_time raw_now, double corr0, double offset, double freq, double tau)
{
	c->corr0 = corr0;
	c->t0 = raw_now;
	c->phase = isfinite(offset) ? offset : 0.0;
	c->slew_for = 0.0;
	c->carry = 0.0;
	c->carry_for = 0.0;
	if (isfinite(freq)) {
		c->freq = clamp(freq, -NTP_CLOCK_FREQ_LIMIT, NTP_CLOCK_FREQ_LIMIT);
	}
	if (isfinite(tau)) {
		c->tau = tau;
	}
}

void
ntp_slew_adjust(ntp_slew *s, ntp_time raw_now, double offset, double freq, double tau)
{
	restart(s, raw_now, daemon_correction(s, raw_now), offset, freq, tau);
}

void
ntp_clock_adjust(ntp_clock *c, ntp_time raw_now, double offset, double freq, double tau)
{
	restart(&c->s, raw_now, rebase(c, raw_now), offset, freq, tau);
}

/* What the slew in progress still removes in the next lag seconds (and
 * any carry of its own not yet run): the adjtime(2) already queued in the
 * kernel, which a new slew does not cancel. */
static double
queued(const ntp_slew *c, ntp_time raw_now, double lag)
{
	double dt = elapsed_s(c, raw_now);
	double q;

	if (!(isfinite(lag) && lag > 0.0)) {
		return 0.0;
	}
	lag = lag > NTP_CLOCK_LAG_MAX ? NTP_CLOCK_LAG_MAX : lag;
	q = phase_removed(c, dt + lag) - phase_removed(c, dt);
	if (c->carry_for > 0.0 && dt < c->carry_for) {
		q += c->carry * (1.0 - dt / c->carry_for);
	}
	return q;
}

void
ntp_clock_apply(ntp_clock *c, ntp_time raw_now, const ntp_clock_adj *adj)
{
	if (adj == NULL) {
		return;
	}
	if (adj->what & NTP_CLOCK_KERNEL) {
		int64_t sec = ntp_kernel_second_of(ntp_clock_read(c, raw_now));

		ntp_kernel_adjtime_sec(&c->kern, raw_now, sec, &adj->kernel);
	}
	if (!(adj->what & NTP_CLOCK_SLEW)) {
		return;
	}
	double carry = queued(&c->s, raw_now, adj->lag);

	ntp_clock_adjust(c, raw_now, adj->offset, adj->freq, adj->tau);
	if (carry != 0.0) {
		c->s.carry = carry;
		c->s.carry_for = adj->lag > NTP_CLOCK_LAG_MAX ? NTP_CLOCK_LAG_MAX : adj->lag;
	}
	/* bounded like the frequency, so that the clock never runs backwards */
	c->s.slew_max = !(isfinite(adj->slew_max) && adj->slew_max > 0.0) ? NTP_CLOCK_SLEW_MAX
	                : adj->slew_max > NTP_CLOCK_FREQ_LIMIT            ? NTP_CLOCK_FREQ_LIMIT
	                                                                  : adj->slew_max;
	c->s.slew_for = isfinite(adj->slew_for) && adj->slew_for > 0.0 ? adj->slew_for : 0.0;
}

void
ntp_clock_step(ntp_clock *c, ntp_time raw_now, double offset)
{
	c->s.corr0 = rebase(c, raw_now) + (isfinite(offset) ? offset : 0.0);
	c->s.t0 = raw_now;
	c->s.phase = 0.0;
	c->s.carry = 0.0; /* ntp_clear() drops the adjtime(2) left too */
	c->s.carry_for = 0.0;
	ntp_kernel_step(&c->kern, raw_now, 0.0); /* ntp_clear(): the step is in corr0 */
}

void
ntp_clock_shift_raw(ntp_clock *c, ntp_time raw_before, ntp_time d)
{
	/* The daemon's correction is a function of raw - t0: moving t0 with
	 * the raw clock keeps it. */
	c->s.t0 = ntp_time_add_sat(c->s.t0, d);
	ntp_kernel_shift_raw(&c->kern, raw_before, d);
}
