/* SPDX-License-Identifier: BSD-2-Clause */
/* core/ntp_clock: the disciplined clock as a closed-form function of raw time. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "ntp_clock.h"
#include "ntp_rand.h"

#define S(x) ((ntp_time)(x)*NTP_NS_PER_S)
#define T0   S(INT64_C(1795503373)) /* 2026-11-24 06:56:13 UTC */

Test(clock, init_reads_raw)
{
	ntp_clock c;

	ntp_clock_init(&c, T0, 0.0);
	cr_assert_eq(ntp_clock_read(&c, T0), T0);
	cr_assert_eq(ntp_clock_read(&c, T0 + S(1000)), T0 + S(1000));
	cr_assert_float_eq(c.s.slew_max, 500e-6, 1e-15);
}

Test(clock, frequency_term_is_linear)
{
	ntp_clock c;

	ntp_clock_init(&c, T0, 100e-6);
	cr_assert_float_eq(ntp_clock_correction(&c, T0 + S(1000)), 0.1, 1e-12);
	cr_assert_eq(ntp_clock_read(&c, T0 + S(1000)), T0 + S(1000) + 100000000);
}

Test(clock, one_tau_removes_63_percent)
{
	ntp_clock c;
	double tau = 1024.0; /* ntpd at poll 6: 16 x 64 s */
	double phase = 0.010;

	ntp_clock_init(&c, T0, 0.0);
	ntp_clock_adjust(&c, T0, phase, 0.0, tau);
	/* 10 ms < 500 ppm x 1024 s: the cap never binds, pure exponential. */
	cr_assert_float_eq(ntp_clock_correction(&c, T0 + S(1024)), phase * (1.0 - exp(-1.0)),
	                   1e-12);
	cr_assert_float_eq(ntp_clock_correction(&c, T0 + S(1024)) / phase, 0.632, 0.001);
	cr_assert_float_eq(ntp_clock_phase_left(&c, T0 + S(2048)), phase * exp(-2.0), 1e-12);
}

Test(clock, negative_phase_is_symmetric)
{
	ntp_clock a, b;

	ntp_clock_init(&a, T0, 0.0);
	ntp_clock_init(&b, T0, 0.0);
	ntp_clock_adjust(&a, T0, 3.0, 0.0, 512.0);
	ntp_clock_adjust(&b, T0, -3.0, 0.0, 512.0);
	for (int k = 0; k < 20; k++) {
		ntp_time t = T0 + S(k * 997);

		cr_assert_float_eq(ntp_clock_correction(&a, t), -ntp_clock_correction(&b, t),
		                   1e-12);
	}
}

Test(clock, slew_cap_makes_28s_take_56000s)
{
	ntp_clock c;
	double phase = 28.2;
	double tau = 1024.0;
	double knee = 500e-6 * tau;
	double t_linear = (phase - knee) / 500e-6; /* s at the capped rate */

	ntp_clock_init(&c, T0, 0.0);
	ntp_clock_adjust(&c, T0, phase, 0.0, tau);
	/* Constant 500 ppm while |phase left| > slew_max * tau ... */
	cr_assert_float_eq(ntp_clock_correction(&c, T0 + S(1000)), 0.5, 1e-9);
	cr_assert_float_eq(ntp_clock_correction(&c, T0 + ntp_time_from_s(t_linear)), phase - knee,
	                   1e-9);
	/* ... so 28.2 s can not be gone before 28.2 / 500e-6 s. */
	cr_assert_lt(ntp_clock_correction(&c, T0 + ntp_time_from_s(phase / 500e-6)), phase);
	cr_assert_gt(ntp_clock_phase_left(&c, T0 + ntp_time_from_s(phase / 500e-6)), 0.1);
	/* Then exponential with tau: one tau after the knee, e^-1 of it is left. */
	cr_assert_float_eq(ntp_clock_phase_left(&c, T0 + ntp_time_from_s(t_linear + tau)),
	                   knee * exp(-1.0), 1e-9);
	/* The rate never exceeds the cap anywhere. */
	for (int k = 0; k < 200; k++) {
		ntp_time t = T0 + S(k * 400);
		double rate = ntp_clock_correction(&c, t + S(1)) - ntp_clock_correction(&c, t);

		cr_assert_leq(rate, 500e-6 * (1.0 + 1e-9));
	}
}

Test(clock, tau_zero_is_adjtime_constant_rate)
{
	ntp_clock c;

	ntp_clock_init(&c, T0, 0.0);
	ntp_clock_adjust(&c, T0, -0.1, 0.0, 0.0);
	cr_assert_float_eq(ntp_clock_correction(&c, T0 + S(100)), -0.05, 1e-12);
	cr_assert_float_eq(ntp_clock_correction(&c, T0 + S(200)), -0.1, 1e-12);
	cr_assert_float_eq(ntp_clock_correction(&c, T0 + S(5000)), -0.1, 1e-12);
	cr_assert_float_eq(ntp_clock_phase_left(&c, T0 + S(150)), -0.025, 1e-12);
}

Test(clock, adjust_replaces_phase_and_is_continuous)
{
	ntp_clock c;
	ntp_time t1 = T0 + S(300);

	ntp_clock_init(&c, T0, 0.0);
	ntp_clock_adjust(&c, T0, 1.0, 20e-6, 1024.0);
	double before = ntp_clock_correction(&c, t1);
	double left = ntp_clock_phase_left(&c, t1);

	cr_assert_gt(left, 0.5);
	ntp_clock_adjust(&c, t1, 0.2, -10e-6, 64.0);
	/* No jump at the fold, and the old phase left is gone, not added. */
	cr_assert_float_eq(ntp_clock_correction(&c, t1), before, 1e-12);
	cr_assert_float_eq(ntp_clock_phase_left(&c, t1), 0.2, 1e-12);
	cr_assert_float_eq(ntp_clock_correction(&c, t1 + S(100000)) - before,
	                   0.2 + (-10e-6 * 100000.0), 1e-9);
}

Test(clock, step_and_adjust_compose)
{
	ntp_clock c;
	ntp_time t1 = T0 + S(500);
	ntp_time t2 = T0 + S(900);

	ntp_clock_init(&c, T0, 50e-6);
	ntp_clock_adjust(&c, T0, 0.3, 50e-6, 256.0);
	double at_t1 = ntp_clock_correction(&c, t1);

	ntp_clock_step(&c, t1, -28.2);
	/* The reading jumps by exactly the step; the phase left is dropped;
	 * the frequency runs on. */
	cr_assert_float_eq(ntp_clock_correction(&c, t1), at_t1 - 28.2, 1e-9);
	cr_assert_float_eq(ntp_clock_phase_left(&c, t1 + S(10)), 0.0, 0.0);
	cr_assert_float_eq(ntp_clock_correction(&c, t2) - ntp_clock_correction(&c, t1),
	                   50e-6 * 400.0, 1e-12);
	/* An adjust after the step starts from the stepped value. */
	ntp_clock_adjust(&c, t2, 0.01, 0.0, 0.0);
	cr_assert_float_eq(ntp_clock_correction(&c, t2 + S(20)) - ntp_clock_correction(&c, t2),
	                   0.01, 1e-12);
	/* Two steps add. */
	double at_t2 = ntp_clock_correction(&c, t2 + S(20));

	ntp_clock_step(&c, t2 + S(20), 1.5);
	ntp_clock_step(&c, t2 + S(20), 2.5);
	cr_assert_float_eq(ntp_clock_correction(&c, t2 + S(20)), at_t2 + 4.0, 1e-9);
}

Test(clock, bad_input_is_contained)
{
	ntp_clock c;

	ntp_clock_init(&c, T0, NAN);
	cr_assert_float_eq(c.s.freq, 0.0, 0.0);
	ntp_clock_adjust(&c, T0, NAN, INFINITY, NAN);
	cr_assert_float_eq(ntp_clock_correction(&c, T0 + S(10)), 0.0, 0.0);
	ntp_clock_adjust(&c, T0, 0.0, 5.0, 16.0);
	cr_assert_float_eq(c.s.freq, NTP_CLOCK_FREQ_LIMIT, 0.0);
	ntp_clock_step(&c, T0, NAN);
	cr_assert_float_eq(ntp_clock_correction(&c, T0), 0.0, 0.0);
	/* Extreme times saturate instead of overflowing. */
	cr_assert_eq(ntp_clock_read(&c, INT64_MAX), INT64_MAX);
	(void)ntp_clock_correction(&c, INT64_MIN);
}

/* The kernel's PLL under the daemon's slew: its correction adds on. */
Test(clock, kernel_correction_adds_on)
{
	ntp_clock c;
	ntp_clock_adj adj;

	ntp_clock_init(&c, T0, 0.0);
	memset(&adj, 0, sizeof adj);
	adj.what = NTP_CLOCK_KERNEL | NTP_CLOCK_SLEW;
	adj.kernel.modes = NTP_KERNEL_ADJ_FREQUENCY;
	adj.kernel.freq = (int64_t)(20e-6 * 65536e6); /* +20 ppm in the kernel */
	adj.freq = 5e-6;                              /* +5 ppm in the daemon's slew */
	ntp_clock_apply(&c, T0, &adj);
	cr_assert_float_eq(ntp_clock_freq(&c), 25e-6, 1e-12);
	cr_assert_float_eq(ntp_clock_correction(&c, T0 + S(1000)), 0.025, 1e-9);
	/* a step clears the kernel's phase, keeps its frequency */
	adj.what = NTP_CLOCK_KERNEL;
	adj.kernel.modes = NTP_KERNEL_ADJ_STATUS | NTP_KERNEL_ADJ_OFFSET | NTP_KERNEL_ADJ_NANO;
	adj.kernel.status = NTP_KERNEL_STA_PLL | NTP_KERNEL_STA_FREQHOLD;
	adj.kernel.offset = 1000000; /* 1 ms of phase */
	ntp_clock_apply(&c, T0 + S(1000), &adj);
	cr_assert_float_eq(ntp_kernel_offset_left(&c.kern, T0 + S(1000)), 1e-3, 1e-12);
	ntp_clock_step(&c, T0 + S(1000), 0.5);
	cr_assert_float_eq(ntp_kernel_offset_left(&c.kern, T0 + S(1000)), 0.0, 0.0);
	cr_assert_float_eq(ntp_clock_correction(&c, T0 + S(2000)), 0.025 + 0.5 + 0.025, 1e-9);
}

/* An external jump of the raw clock moves the reading by exactly as much,
 * kernel and daemon corrections both carried on. */
Test(clock, raw_shift_moves_the_reading_exactly)
{
	ntp_clock c;
	ntp_clock_adj adj;
	ntp_time d = S(3600) + 123456789;

	ntp_clock_init(&c, T0, 10e-6);
	memset(&adj, 0, sizeof adj);
	adj.what = NTP_CLOCK_KERNEL | NTP_CLOCK_SLEW;
	adj.kernel.modes = NTP_KERNEL_ADJ_FREQUENCY;
	adj.kernel.freq = (int64_t)(-7e-6 * 65536e6);
	adj.offset = 0.004;
	adj.freq = 10e-6;
	adj.tau = 64.0;
	ntp_clock_apply(&c, T0, &adj);
	ntp_time before = ntp_clock_read(&c, T0 + S(100));
	ntp_clock_shift_raw(&c, T0 + S(100), d);
	cr_assert_eq(ntp_clock_read(&c, T0 + S(100) + d), before + d);
}

/* slew_for: the phase slew stops and the rest is dropped (ntpd in kernel
 * mode when its startup clamp runs out). */
Test(clock, slew_for_drops_the_rest)
{
	ntp_clock c;
	ntp_clock_adj adj;

	ntp_clock_init(&c, T0, 0.0);
	memset(&adj, 0, sizeof adj);
	adj.what = NTP_CLOCK_SLEW;
	adj.offset = 0.001;
	adj.tau = 32.0;
	adj.slew_for = 32.0;
	ntp_clock_apply(&c, T0, &adj);
	double at_stop = 0.001 * (1.0 - exp(-1.0));

	cr_assert_float_eq(ntp_clock_correction(&c, T0 + S(32)), at_stop, 1e-12);
	cr_assert_float_eq(ntp_clock_correction(&c, T0 + S(1000)), at_stop, 1e-12);
	cr_assert_float_eq(ntp_clock_phase_left(&c, T0 + S(1000)), 0.0, 0.0);
	cr_assert_gt(ntp_clock_phase_left(&c, T0 + S(16)), 0.0);
}

/* lag: the adjtime(2) already queued runs on -- the old slew removes what
 * it would have in the next lag seconds, evenly, before the new one takes
 * over; a step drops it (ntp_clear). */
Test(clock, lag_runs_the_queued_slew)
{
	ntp_clock c;
	ntp_clock_adj adj;
	double at10 = 0.010 * (1.0 - exp(-10.0 / 32.0));
	double at115 = 0.010 * (1.0 - exp(-11.5 / 32.0));

	ntp_clock_init(&c, T0, 0.0);
	memset(&adj, 0, sizeof adj);
	adj.what = NTP_CLOCK_SLEW;
	adj.offset = 0.010;
	adj.tau = 32.0;
	ntp_clock_apply(&c, T0, &adj);
	cr_assert_float_eq(ntp_clock_correction(&c, T0 + S(10)), at10, 1e-12);
	adj.offset = 0.0;
	adj.lag = 1.5;
	ntp_clock_apply(&c, T0 + S(10), &adj);
	cr_assert_float_eq(c.s.carry, at115 - at10, 1e-12);
	cr_assert_float_eq(ntp_clock_correction(&c, T0 + S(10) + 750000000),
	                   at10 + (at115 - at10) / 2.0, 1e-12, "evenly over the lag");
	cr_assert_float_eq(ntp_clock_correction(&c, T0 + S(100)), at115, 1e-12);
	/* no lag: the new slew at once */
	ntp_clock_init(&c, T0, 0.0);
	adj.offset = 0.010;
	adj.lag = 0.0;
	ntp_clock_apply(&c, T0, &adj);
	adj.offset = 0.0;
	ntp_clock_apply(&c, T0 + S(10), &adj);
	cr_assert_float_eq(ntp_clock_correction(&c, T0 + S(100)), at10, 1e-12);
	/* a step drops the queue */
	adj.offset = 0.010;
	ntp_clock_apply(&c, T0 + S(100), &adj);
	adj.offset = 0.0;
	adj.lag = 1.5;
	ntp_clock_apply(&c, T0 + S(110), &adj);
	ntp_clock_step(&c, T0 + S(110), 0.0);
	cr_assert_float_eq(c.s.carry, 0.0, 0.0);
}
