/* SPDX-License-Identifier: BSD-2-Clause */
/* refd/refd_clock: the virtual clock driver (the system driver is never
 * exercised past its refusal: no test changes this machine's clock). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "refd_clock.h"

#define S(x)  ((ntp_time)(x)*NTP_NS_PER_S)
#define REAL0 S(INT64_C(1795503373)) /* 2026-11-24 06:56:13 UTC */

Test(refd_clock, virtual_raw_is_real_plus_offset_plus_skew)
{
	refd_clock c;

	refd_clock_init_virtual(&c, REAL0, 28.2, 50.0, 0.0);
	cr_assert_eq(refd_clock_raw_at(&c, REAL0), REAL0 + 28200000000);
	/* 1000 s later a +50 ppm raw clock has gained 50 ms on top. */
	cr_assert_eq(refd_clock_raw_at(&c, REAL0 + S(1000)),
	             REAL0 + S(1000) + 28200000000 + 50000000);
	/* Nothing disciplined yet: local = raw. */
	cr_assert_eq(refd_clock_local_at(&c, REAL0 + S(1000)),
	             refd_clock_raw_at(&c, REAL0 + S(1000)));
	cr_assert_eq(c.kind, REFD_CLOCK_VIRTUAL);
}

Test(refd_clock, step_moves_the_local_clock_only)
{
	refd_clock c;
	char err[128];

	refd_clock_init_virtual(&c, REAL0, 28.2, 0.0, 0.0);
	cr_assert_eq(refd_clock_step(&c, REAL0 + S(10), -28.2, err, sizeof err), 0);
	cr_assert_eq(refd_clock_local_at(&c, REAL0 + S(10)), REAL0 + S(10));
	cr_assert_eq(refd_clock_local_at(&c, REAL0 + S(20)), REAL0 + S(20));
	/* The raw clock keeps its deliberate offset. */
	cr_assert_eq(refd_clock_raw_at(&c, REAL0 + S(20)), REAL0 + S(20) + 28200000000);
	cr_assert_eq(c.steps, 1);
}

Test(refd_clock, adjust_slews_phase_and_sets_frequency)
{
	refd_clock c;
	char err[128];
	ntp_time t = REAL0 + S(100);

	refd_clock_init_virtual(&c, REAL0, 0.0, 0.0, 0.0);
	ntp_clock_adj adj = {.what = NTP_CLOCK_SLEW, .offset = 0.010, .freq = 20e-6, .tau = 64.0};

	cr_assert_eq(refd_clock_adjust(&c, t, &adj, err, sizeof err), 0);
	/* Right after: nothing slewed yet. */
	cr_assert_eq(refd_clock_local_at(&c, t), t);
	/* After 20 tau the 10 ms are (almost) all in, plus 20 ppm x 1280 s. */
	cr_assert_float_eq(ntp_time_diff_s(refd_clock_local_at(&c, t + S(1280)), t + S(1280)),
	                   0.010 + 20e-6 * 1280.0, 1e-9);
	cr_assert_float_eq(refd_clock_freq_ppm(&c), 20.0, 1e-9);
	cr_assert_eq(c.adjusts, 1);
}

Test(refd_clock, drift_value_runs_from_the_start)
{
	refd_clock c;

	refd_clock_init_virtual(&c, REAL0, 0.0, 0.0, -12.5e-6);
	cr_assert_float_eq(
	        ntp_time_diff_s(refd_clock_local_at(&c, REAL0 + S(1000)), REAL0 + S(1000)), -0.0125,
	        1e-9);
	cr_assert_float_eq(refd_clock_freq_ppm(&c), -12.5, 1e-9);
}

Test(refd_clock, system_clock_is_refused_without_confirmation)
{
	char err[256] = "";

	cr_assert_not(refd_clock_system_permitted(false, err, sizeof err));
	cr_assert(strstr(err, "--i-mean-it") != NULL, "%s", err);
	cr_assert(strstr(err, "never touches") != NULL, "%s", err);
}

Test(refd_clock, readings_and_precision_are_sane)
{
	ntp_time a = refd_real_now(), m = refd_mono_now();
	int p = refd_clock_measure_precision();

	cr_assert_gt(a, S(INT64_C(1600000000)), "CLOCK_REALTIME after 2020");
	cr_assert_gt(refd_mono_now(), m - 1);
	cr_assert(p >= -30 && p <= -10, "precision 2^%d s", p);
}
