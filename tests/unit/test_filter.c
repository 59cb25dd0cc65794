/* SPDX-License-Identifier: BSD-2-Clause */
/* core/ntp_filter: the clock filter (RFC 5905 §10, App. A.5.2, ntpd). */
#include <criterion/criterion.h>
#include <math.h>

#include "ntp_filter.h"

#define S(x) ((ntp_time)((x)*1e9))
#define PREC (1.0 / 1048576.0) /* 2^-20 s */

static ntp_filter_params
params(void)
{
	ntp_filter_params p = {.precision = PREC, .maxdist = 1.5, .hpoll = 6};

	return p;
}

Test(filter, reset_state)
{
	ntp_filter f;

	ntp_filter_reset(&f, S(100), PREC);
	cr_assert_eq(f.epoch, NTP_FILTER_NEVER);
	cr_assert_float_eq(f.disp, NTP_MAXDISPERSE, 1e-12);
	cr_assert_float_eq(f.jitter, PREC, 1e-15);
	for (int i = 0; i < NTP_NSTAGE; i++) {
		cr_assert_float_eq(f.f[i].disp, NTP_MAXDISPERSE, 1e-12);
	}
}

/* Worked example.  Sample 1 at t=64 s: offset 10 ms, delay 20 ms, disp
 * 1 ms.  The seven empty stages weigh 16*(1/4+...+1/256) = 7.9375 s, the
 * sample 1 ms/2: disp = 7.938 s; one sample: jitter = precision.
 * Sample 2 at t=128 s: offset 12 ms, delay 15 ms, disp 1 ms.  Sample 1
 * aged by 15e-6*64 = 0.96 ms to 1.96 ms.  Sorted by delay: s2, s1.
 * disp = 0.001/2 + 0.00196/4 + 16*(1/8+...+1/256) = 3.93849 s;
 * jitter = |0.010 - 0.012| = 2 ms; offset 12 ms, delay 15 ms. */
Test(filter, worked_two_samples)
{
	ntp_filter f;
	ntp_filter_params p = params();

	ntp_filter_reset(&f, 0, PREC);
	cr_assert_eq(ntp_filter_add(&f, 0.010, 0.020, 0.001, S(64), &p, NULL), NTP_FILTER_NEW);
	cr_assert_float_eq(f.offset, 0.010, 1e-12);
	cr_assert_float_eq(f.delay, 0.020, 1e-12);
	cr_assert_float_eq(f.disp, 0.0005 + 7.9375, 1e-9);
	cr_assert_float_eq(f.jitter, PREC, 1e-15);
	cr_assert_eq(f.epoch, S(64));

	cr_assert_eq(ntp_filter_add(&f, 0.012, 0.015, 0.001, S(128), &p, NULL), NTP_FILTER_NEW);
	cr_assert_float_eq(f.offset, 0.012, 1e-12);
	cr_assert_float_eq(f.delay, 0.015, 1e-12);
	cr_assert_float_eq(f.disp, 0.0005 + 0.00196 / 4 + 3.9375, 1e-9);
	cr_assert_float_eq(f.jitter, 0.002, 1e-12);
	cr_assert_eq(f.epoch, S(128));
}

/* The lowest-delay sample wins even when it is not the newest, and a
 * sample already used is not used again ("never older"). */
Test(filter, best_delay_chosen_and_used_once)
{
	ntp_filter f;
	ntp_filter_params p = params();
	double off[] = {0.001, 0.002, 0.003, 0.004};
	double del[] = {0.030, 0.010, 0.020, 0.025};
	int v;

	ntp_filter_reset(&f, 0, PREC);
	for (int i = 0; i < 4; i++) {
		v = ntp_filter_add(&f, off[i], del[i], 0.0001, S(64 * (i + 1)), &p, NULL);
		if (i < 2) {
			cr_assert_eq(v, NTP_FILTER_NEW, "sample %d", i);
		} else {
			/* samples 3 and 4 have larger delay than sample 2 */
			cr_assert_eq(v, NTP_FILTER_OLD, "sample %d", i);
		}
	}
	cr_assert_float_eq(f.offset, 0.002, 1e-12);
	cr_assert_float_eq(f.delay, 0.010, 1e-12);
	cr_assert_eq(f.epoch, S(128));
	/* jitter: RMS of (off_i - 0.002) over the 4 usable stages / (m-1):
	 * (0.001^2 + 0.001^2 + 0.002^2) / 3 = 2e-6 -> sqrt = 1.4142 ms */
	cr_assert_float_eq(f.jitter, sqrt(6e-6 / 3.0), 1e-12);
}

/* Dispersion ages at PHI: after 1000 s with no new sample, the next
 * sample's arrival adds 15 ms to every older stage. */
Test(filter, dispersion_ages_at_phi)
{
	ntp_filter f;
	ntp_filter_params p = params();

	ntp_filter_reset(&f, 0, PREC);
	ntp_filter_add(&f, 0.0, 0.010, 0.001, S(10), &p, NULL);
	ntp_filter_add(&f, 0.0, 0.050, 0.001, S(1010), &p, NULL);
	/* stage of sample 1 is the one before the newest */
	cr_assert_float_eq(f.f[0].disp, 0.001 + 15e-6 * 1000.0, 1e-12);
	cr_assert_float_eq(f.f[1].disp, 0.001, 1e-12);
	/* best is still sample 1 (10 ms < 50 ms): used already -> OLD, but
	 * the statistics keep its offset and delay */
	cr_assert_float_eq(f.delay, 0.010, 1e-12);
}

/* Past the Allan intercept (2048 s) a sample's distance includes its
 * dispersion, so a fresher one with more delay can win. */
Test(filter, allan_intercept_prefers_fresh)
{
	ntp_filter f;
	ntp_filter_params p = params();
	int v;

	ntp_filter_reset(&f, 0, PREC);
	ntp_filter_add(&f, 0.001, 0.010, 0.001, S(1), &p, NULL);
	/* 3000 s later: old stage distance = 0.010 + 0.001 + 0.045 = 0.056 */
	v = ntp_filter_add(&f, 0.005, 0.040, 0.001, S(3001), &p, NULL);
	cr_assert_eq(v, NTP_FILTER_NEW);
	cr_assert_float_eq(f.offset, 0.005, 1e-12);
	cr_assert_float_eq(f.delay, 0.040, 1e-12);
}

/* Popcorn spike (ntpd's test): the jitter is measured around the new best
 * sample, so the suppressor fires when the new best sits far from the
 * offset last used while agreeing with its neighbours.  Sample 1 (50 ms,
 * lowest delay) is used; seven samples near 0 ms follow 2 s apart (a
 * burst), and the ninth pushes sample 1 out: the new best is ~0 ms,
 * jitter ~0.1 ms, jump 50 ms > 3 jitters within two polls -> suppressed
 * (not passed on, but stored as the peer offset, as ntpd does).  The window is measured from the
 * last used sample to the new best one: a best sample taken 129 s after it is believed. */
Test(filter, popcorn_spike_suppressed)
{
	ntp_filter f;
	ntp_filter_params p = params();
	double spike = 0.0;
	int v;

	ntp_filter_reset(&f, 0, PREC);
	cr_assert_eq(ntp_filter_add(&f, 0.050, 0.010, 0.0001, S(2), &p, NULL), NTP_FILTER_NEW);
	for (int i = 1; i < 8; i++) {
		double o = (i & 1) ? 0.0001 : -0.0001;

		v = ntp_filter_add(&f, o, 0.020 + 0.0001 * i, 0.0001, S(2 + 2 * i), &p, NULL);
		cr_assert_eq(v, NTP_FILTER_OLD, "sample %d", i);
	}
	cr_assert_lt(f.disp, p.maxdist);
	cr_assert_eq(f.epoch, S(2));

	v = ntp_filter_add(&f, 0.0001, 0.0205, 0.0001, S(18), &p, &spike);
	cr_assert_eq(v, NTP_FILTER_POPCORN);
	cr_assert_float_eq(spike, 0.0499, 1e-9); /* |0.050 - 0.0001| */
	/* ntpd stores the new best offset although it does not pass it on, so
	 * the following samples are judged against it, not the stale 50 ms. */
	cr_assert_float_eq(f.offset, 0.0001, 1e-12);
	cr_assert_lt(f.delay, 0.021);
	cr_assert_eq(f.epoch, S(2));
	cr_assert_lt(f.jitter, 0.0005);

	/* The next sample agrees with the stored offset: no spike any more. */
	v = ntp_filter_add(&f, -0.0001, 0.0206, 0.0001, S(20), &p, &spike);
	cr_assert_neq(v, NTP_FILTER_POPCORN);
	v = ntp_filter_add(&f, -0.0001, 0.0150, 0.0001, S(2 + 129), &p, &spike);
	cr_assert_eq(v, NTP_FILTER_NEW);
	cr_assert_float_eq(f.offset, -0.0001, 1e-12);
	cr_assert_float_eq(f.delay, 0.0150, 1e-12);
	cr_assert_eq(f.epoch, S(131));
}

/* Lost polls push MAXDISP samples: they are never chosen and the filter
 * reports EMPTY when nothing usable is left. */
Test(filter, lost_polls_empty)
{
	ntp_filter f;
	ntp_filter_params p = params();

	ntp_filter_reset(&f, 0, PREC);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(
		        ntp_filter_add(&f, 0.0, 0.0, NTP_MAXDISPERSE, S(64 * (i + 1)), &p, NULL),
		        NTP_FILTER_EMPTY);
	}
	cr_assert_eq(f.epoch, NTP_FILTER_NEVER);
	cr_assert_float_eq(f.disp, 16.0 * (1.0 - 1.0 / 256.0), 1e-9);
}

Test(filter, verdict_names)
{
	cr_assert_str_eq(ntp_filter_verdict_name(NTP_FILTER_POPCORN), "popcorn spike");
	cr_assert_str_eq(ntp_filter_verdict_name(NTP_FILTER_OLD), "best sample already used");
}

/* Unsorted (ntpd 4.2.8 during the discipline's startup): the newest
 * usable sample is the best even with more delay, and a lost poll never
 * becomes the best. */
Test(filter, no_sort_takes_newest_usable)
{
	ntp_filter f;
	ntp_filter_params p = params();
	int v;

	p.no_sort = true;
	ntp_filter_reset(&f, 0, PREC);
	ntp_filter_add(&f, 0.001, 0.010, 0.0001, S(64), &p, NULL);
	v = ntp_filter_add(&f, 0.002, 0.030, 0.0001, S(128), &p, NULL);
	cr_assert_eq(v, NTP_FILTER_NEW);
	cr_assert_float_eq(f.offset, 0.002, 1e-12);
	cr_assert_float_eq(f.delay, 0.030, 1e-12);
	v = ntp_filter_add(&f, 0.0, 0.0, NTP_MAXDISPERSE, S(192), &p, NULL);
	cr_assert_eq(v, NTP_FILTER_OLD, "the newest usable one was used already");
	cr_assert_float_eq(f.offset, 0.002, 1e-12);
	/* sorted, the 10 ms sample would have stayed the best */
	p.no_sort = false;
	ntp_filter_reset(&f, 0, PREC);
	ntp_filter_add(&f, 0.001, 0.010, 0.0001, S(64), &p, NULL);
	cr_assert_eq(ntp_filter_add(&f, 0.002, 0.030, 0.0001, S(128), &p, NULL), NTP_FILTER_OLD);
	cr_assert_float_eq(f.offset, 0.001, 1e-12);
}
