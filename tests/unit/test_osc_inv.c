/* SPDX-License-Identifier: BSD-2-Clause */
/* sim/sim_osc: the cached timer inverse answers what a fresh solve does,
 * and a step or a frequency change makes it solve again. */
#include <criterion/criterion.h>
#include <string.h>

#include "ntp_rand.h"
#include "sim_osc.h"

#define T0   INT64_C(1700000000000000000) /* ns, an arbitrary start */
#define S(x) ((int64_t)(x)*INT64_C(1000000000))

static sim_osc_params
params(double wander, double temp_amp)
{
	sim_osc_params p;

	memset(&p, 0, sizeof(p));
	p.offset = 0.1;
	p.freq = 100e-6;
	p.wander = wander;
	p.wander_step = 16.0;
	p.temp_amp = temp_amp;
	p.temp_period = temp_amp != 0.0 ? 86400.0 : 0.0;
	return p;
}

/* The answer of an oscillator that never solved before: same params, same
 * seed, the same history of frequency changes and steps. */
static int64_t
fresh_answer(const sim_osc_params *p, const int64_t *freq_at, const double *freq, int n_freq,
             int64_t raw, int64_t t_from)
{
	sim_osc o;

	sim_osc_init(&o, p, T0, 7, "inv");
	for (int i = 0; i < n_freq; i++) {
		sim_osc_set_freq(&o, freq_at[i], freq[i]);
	}
	return sim_osc_true_for(&o, raw, t_from);
}

/* A timer rescheduled again and again for the same deadline while time
 * moves on towards it (what schedule_timer does after every clock
 * adjustment): every answer is the fresh one. */
static void
check_repeated_asks(const sim_osc_params *p)
{
	sim_osc o;
	ntp_rand r;
	int64_t now = T0 + S(10);
	int64_t freq_at[64];
	double freq[64];
	int n_freq = 0;

	sim_osc_init(&o, p, T0, 7, "inv");
	ntp_rand_seed_named(&r, 3, "test_osc_inv");
	for (int round = 0; round < 60; round++) {
		int64_t raw =
		        sim_osc_raw(&o, now) + 1 + (int64_t)ntp_rand_below(&r, (uint64_t)S(1100));
		int64_t t = sim_osc_true_for(&o, raw, now);

		cr_assert_eq(t, fresh_answer(p, freq_at, freq, n_freq, raw, now));
		for (int ask = 0; ask < 8 && now < t; ask++) {
			now += 1 + (int64_t)ntp_rand_below(&r, (uint64_t)(t - now));
			cr_assert_eq(sim_osc_true_for(&o, raw, now),
			             fresh_answer(p, freq_at, freq, n_freq, raw, now),
			             "round %d ask %d", round, ask);
		}
		if (round % 7 == 3 && n_freq < 64) {
			/* the frequency changes under a pending deadline */
			freq_at[n_freq] = now;
			freq[n_freq] = 100e-6 + 1e-6 * (double)round;
			sim_osc_set_freq(&o, now, freq[n_freq]);
			n_freq++;
			cr_assert_eq(sim_osc_true_for(&o, raw, now),
			             fresh_answer(p, freq_at, freq, n_freq, raw, now));
		}
		now = t > now ? t : now;
	}
}

Test(osc_inv, repeated_asks_match_a_fresh_solve_with_wander)
{
	sim_osc_params p = params(1e-7, 0.0);

	check_repeated_asks(&p);
}

Test(osc_inv, repeated_asks_match_a_fresh_solve_without_wander)
{
	sim_osc_params p = params(0.0, 2e-6);

	check_repeated_asks(&p);
}

static void
change_freq(sim_osc *o, int64_t now)
{
	sim_osc_set_freq(o, now, 500e-6);
}

static void
step_2s(sim_osc *o, int64_t now)
{
	sim_osc_step(o, now, 2.0);
}

/* After a change of the model the same raw deadline falls earlier by at
 * least min_gain: the cache must not answer with the old time. */
static void
check_change_resolves(void (*change)(sim_osc *, int64_t), int64_t min_gain)
{
	sim_osc_params p = params(1e-9, 0.0);
	sim_osc o;
	int64_t now = T0 + S(100);
	int64_t raw, before, after;

	sim_osc_init(&o, &p, T0, 7, "inv");
	raw = sim_osc_raw(&o, now) + S(1000);
	before = sim_osc_true_for(&o, raw, now);
	change(&o, now);
	after = sim_osc_true_for(&o, raw, now);
	cr_assert_lt(after, before - min_gain);
	cr_assert_geq(sim_osc_raw(&o, after), raw);
	cr_assert_lt(sim_osc_raw(&o, after - 1), raw);
}

/* 400 ppm faster over ~1000 s: the deadline comes ~0.4 s sooner. */
Test(osc_inv, frequency_change_is_not_answered_from_the_cache)
{
	check_change_resolves(change_freq, S(1) / 4);
}

/* A 2 s step ahead of the raw clock: ~2 s sooner. */
Test(osc_inv, step_is_not_answered_from_the_cache)
{
	check_change_resolves(step_2s, S(19) / 10);
}
