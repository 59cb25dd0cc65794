/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A disciplined clock as a closed-form function of raw time.  The phase
 * slew follows ntpd's daemon loop (ntpd/ntp_loopfilter.c adj_host_clock():
 * each second remove clock_offset / tau, total slew bounded by NTP_MAXFREQ)
 * taken to its continuous limit, so one update costs O(1) whatever the
 * interval.
 */
#include "ntp_clock.h"

#include <math.h>
#include <stdint.h>

#define RAW_FOR_ITERATIONS 48 /* fixed-point steps; each shrinks the error by >= 1/(freq+slew) */
#define RAW_FOR_WALK       64 /* ns the final walk may move (iteration leaves a few ns) */

static ntp_time
sat_add(ntp_time a, ntp_time b)
{
	if (b > 0 && a > INT64_MAX - b) {
		return INT64_MAX;
	}
	if (b < 0 && a < INT64_MIN - b) {
		return INT64_MIN;
	}
	return a + b;
}

static ntp_time
sat_sub(ntp_time a, ntp_time b)
{
	if (b == INT64_MIN) {
		return a >= 0 ? INT64_MAX : a - b;
	}
	return sat_add(a, -b);
}

static double
clamp(double x, double lo, double hi)
{
	return x < lo ? lo : (x > hi ? hi : x);
}

/* Phase (s, signed like c->phase) slewed away dt seconds after t0. */
static double
phase_removed(const ntp_clock *c, double dt)
{
	double mag = fabs(c->phase);
	double sign = c->phase < 0.0 ? -1.0 : 1.0;
	double done;

	if (mag == 0.0 || !(dt > 0.0)) {
		return 0.0;
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
elapsed_s(const ntp_clock *c, ntp_time raw)
{
	return (double)sat_sub(raw, c->t0) / 1e9;
}

void
ntp_clock_init(ntp_clock *c, ntp_time raw_now, double freq)
{
	c->t0 = raw_now;
	c->corr0 = 0.0;
	c->phase = 0.0;
	c->tau = 0.0;
	c->freq = isfinite(freq) ? clamp(freq, -NTP_CLOCK_FREQ_LIMIT, NTP_CLOCK_FREQ_LIMIT) : 0.0;
	c->slew_max = NTP_CLOCK_SLEW_MAX;
}

double
ntp_clock_correction(const ntp_clock *c, ntp_time raw)
{
	double dt = elapsed_s(c, raw);

	return c->corr0 + c->freq * dt + phase_removed(c, dt);
}

double
ntp_clock_phase_left(const ntp_clock *c, ntp_time raw)
{
	return c->phase - phase_removed(c, elapsed_s(c, raw));
}

ntp_time
ntp_clock_read(const ntp_clock *c, ntp_time raw)
{
	return sat_add(raw, ntp_time_from_s(ntp_clock_correction(c, raw)));
}

void
ntp_clock_adjust(ntp_clock *c, ntp_time raw_now, double offset, double freq, double tau)
{
	c->corr0 = ntp_clock_correction(c, raw_now);
	c->t0 = raw_now;
	c->phase = isfinite(offset) ? offset : 0.0;
	if (isfinite(freq)) {
		c->freq = clamp(freq, -NTP_CLOCK_FREQ_LIMIT, NTP_CLOCK_FREQ_LIMIT);
	}
	if (isfinite(tau)) {
		c->tau = tau;
	}
}

void
ntp_clock_step(ntp_clock *c, ntp_time raw_now, double offset)
{
	c->corr0 = ntp_clock_correction(c, raw_now) + (isfinite(offset) ? offset : 0.0);
	c->t0 = raw_now;
	c->phase = 0.0;
}

ntp_time
ntp_clock_raw_for(const ntp_clock *c, ntp_time local)
{
	/* raw = local - correction(raw) is a contraction: the correction moves
	 * by at most |freq| + slew_max per second of raw time. */
	ntp_time raw = sat_sub(local, ntp_time_from_s(c->corr0));
	int i;

	for (i = 0; i < RAW_FOR_ITERATIONS; i++) {
		ntp_time next = sat_sub(local, ntp_time_from_s(ntp_clock_correction(c, raw)));

		if (next == raw) {
			break;
		}
		raw = next;
	}
	/* Rounding can leave the iteration a few ns off the exact answer. */
	for (i = 0; i < RAW_FOR_WALK && ntp_clock_read(c, raw) < local; i++) {
		raw = sat_add(raw, 1);
	}
	for (i = 0; i < RAW_FOR_WALK && ntp_clock_read(c, sat_sub(raw, 1)) >= local; i++) {
		raw = sat_sub(raw, 1);
	}
	return raw;
}
