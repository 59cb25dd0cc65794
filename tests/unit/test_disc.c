/* SPDX-License-Identifier: BSD-2-Clause */
/* core/ntp_disc: ntpd's clock discipline state machine, PLL/FLL and poll. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ntp_clock.h"
#include "ntp_disc.h"
#include "ntp_rand.h"

#define S(x) ((ntp_time)(x)*NTP_NS_PER_S)
#define T0   (S(INT64_C(1795503373)) + 313026688) /* 2026-11-24 06:56:13.313 UTC */

static ntp_disc_params
dparams(void)
{
	ntp_disc_params p;

	ntp_disc_params_default(&p);
	return p;
}

/* A disc that reached SYNC through a drift file and one small offset. */
static ntp_time
start_in_sync(ntp_disc *d, const ntp_disc_params *base)
{
	ntp_disc_params p = *base;
	ntp_disc_out out;

	p.have_drift = true;
	p.drift_ppm = 0.0;
	ntp_disc_init(d, &p, T0);
	cr_assert_eq(ntp_disc_local_clock(d, 0.002, 0.0, T0 + S(10), &out), NTP_DISC_SLEW);
	cr_assert_eq(d->state, NTP_DISC_SYNC);
	return T0 + S(10);
}

/* ---- a client: oscillator + disciplined clock + discipline -------------- */

typedef struct sim {
	ntp_disc d;
	ntp_clock clk; /* what the host does with the results */
	ntp_rand rng;
	double osc_err;    /* s/s, oscillator frequency error (positive: runs fast) */
	double noise;      /* s, sd of the measured offset's noise */
	ntp_time true_now; /* ns, true time */
	ntp_time true_start;
	ntp_time raw_start;
	unsigned n[4]; /* results by enum ntp_disc_result */
	double first_step;
	int results[64]; /* the first results, in order */
	unsigned updates;
} sim;

static void
sim_init(sim *s, const ntp_disc_params *p, double initial_offset, double osc_err, double noise)
{
	memset(s, 0, sizeof(*s));
	s->osc_err = osc_err;
	s->noise = noise;
	ntp_rand_seed_named(&s->rng, 42, "disc:sim");
	s->true_start = T0;
	s->true_now = T0;
	/* offset = server - local: a positive initial offset puts the local
	 * clock behind true time. */
	s->raw_start = T0 - ntp_time_from_s(initial_offset);
	ntp_clock_init(&s->clk, s->raw_start, 0.0);
	ntp_disc_init(&s->d, p, s->raw_start);
}

static ntp_time
sim_raw(const sim *s)
{
	double elapsed_ns = (double)(s->true_now - s->true_start);

	return s->raw_start + (ntp_time)llround(elapsed_ns * (1.0 + s->osc_err));
}

static double
sim_true_offset(const sim *s)
{
	return (double)(s->true_now - ntp_clock_read(&s->clk, sim_raw(s))) / 1e9;
}

/* One poll: measure, discipline, apply the result as a host would. */
static int
sim_update(sim *s, ntp_disc_out *out)
{
	ntp_time raw = sim_raw(s);
	ntp_time local = ntp_clock_read(&s->clk, raw);
	double offset = (double)(s->true_now - local) / 1e9;
	int r;

	if (s->noise > 0.0) {
		offset += s->noise * ntp_rand_normal(&s->rng);
	}
	/* The raw clock is never stepped here: it is the monotonic time. */
	r = ntp_disc_local_clock(&s->d, offset, 0.0, raw, out);
	if (r == NTP_DISC_STEP) {
		ntp_clock_step(&s->clk, raw, out->step);
		ntp_clock_adjust(&s->clk, raw, 0.0, out->adj_freq, out->adj_tau);
		if (s->n[NTP_DISC_STEP] == 0) {
			s->first_step = out->step;
		}
	} else if (r == NTP_DISC_SLEW) {
		ntp_clock_adjust(&s->clk, raw, out->adj_offset, out->adj_freq, out->adj_tau);
	}
	if (s->updates < 64) {
		s->results[s->updates] = r;
	}
	s->updates++;
	s->n[r]++;
	s->true_now += S(1) << ntp_disc_poll(&s->d);
	return r;
}

static void
sim_run_for(sim *s, double seconds)
{
	ntp_disc_out out;
	ntp_time end = s->true_now + ntp_time_from_s(seconds);

	while (s->true_now < end) {
		sim_update(s, &out);
	}
}

/* ---- the seed: a client 28.2 s off its server --------------------------- */

Test(disc, big_offset_at_start_steps_once_then_slews)
{
	ntp_disc_params p = dparams();
	ntp_disc_out out;
	sim s;

	sim_init(&s, &p, +28.203650, 0.0, 50e-6);
	cr_assert_eq(sim_update(&s, &out), NTP_DISC_STEP);
	/* Positive offset: the local clock is behind, the step advances it. */
	cr_assert_float_eq(out.step, 28.203650, 1e-3);
	cr_assert_eq(out.old_state, NTP_DISC_NSET);
	cr_assert_eq(out.new_state, NTP_DISC_FREQ);
	cr_assert(strstr(out.reason, "step +28.20") != NULL, "%s", out.reason);
	cr_assert(strstr(out.reason, "step threshold 0.128 s") != NULL, "%s", out.reason);
	cr_assert_lt(fabs(sim_true_offset(&s)), 1e-3);
	sim_run_for(&s, 4 * 3600);
	cr_assert_eq(s.n[NTP_DISC_STEP], 1);
	cr_assert_eq(s.n[NTP_DISC_PANIC], 0);
	cr_assert_gt(s.n[NTP_DISC_SLEW], 10);
	/* FREQ ignores the updates of the stepout, then SYNC slews. */
	cr_assert_eq(s.results[1], NTP_DISC_IGNORE);
	cr_assert_eq(s.d.state, NTP_DISC_SYNC);
	cr_assert_lt(fabs(sim_true_offset(&s)), 1e-3);
}

Test(disc, client_ahead_steps_back)
{
	ntp_disc_params p = dparams();
	ntp_disc d;
	ntp_disc_out out;

	ntp_disc_init(&d, &p, T0);
	cr_assert_eq(ntp_disc_local_clock(&d, -28.203650, 0.0, T0 + S(2), &out), NTP_DISC_STEP);
	cr_assert_float_eq(out.step, -28.203650, 1e-12);
	cr_assert_str_eq(out.reason, "step -28.203650 s > step threshold 0.128 s");
	cr_assert_eq(d.steps, 1);
	cr_assert_float_eq(out.adj_offset, 0.0, 0.0);
}

Test(disc, small_offset_slews)
{
	ntp_disc_params p = dparams();
	ntp_disc d;
	ntp_disc_out out;

	/* First update in NSET: adjtime-style slew, then FREQ. */
	ntp_disc_init(&d, &p, T0);
	cr_assert_eq(ntp_disc_local_clock(&d, 0.05, 0.0, T0 + S(2), &out), NTP_DISC_SLEW);
	cr_assert_float_eq(out.adj_offset, 0.05, 1e-12);
	cr_assert_float_eq(out.adj_tau, 0.0, 0.0);
	cr_assert_eq(out.new_state, NTP_DISC_FREQ);
	/* In SYNC: a PLL slew; in the startup clamp the time constant is
	 * CLOCK_PLL x 2^1 = 32 s. */
	ntp_time t = start_in_sync(&d, &p);

	cr_assert_eq(ntp_disc_local_clock(&d, 0.05, 0.0, t + S(64), &out), NTP_DISC_SLEW);
	cr_assert_float_eq(out.adj_offset, 0.05, 1e-12);
	cr_assert_float_eq(out.adj_tau, 32.0, 0.0);
	cr_assert_eq(out.new_state, NTP_DISC_SYNC);
	cr_assert(out.loopstats);
}

/* ---- spikes and the stepout --------------------------------------------- */

Test(disc, spike_in_sync_waits_stepout_then_steps)
{
	ntp_disc_params p = dparams();
	ntp_disc d;
	ntp_disc_out out;
	ntp_time t_good = start_in_sync(&d, &p);
	/* ntpd counts the stepout from the last good update (clock_epoch). */
	int k_step = (int)ceil(p.stepout / 64.0);
	int k;

	for (k = 1; k < k_step; k++) {
		cr_assert_eq(ntp_disc_local_clock(&d, 0.3, 0.0, t_good + S(64 * k), &out),
		             NTP_DISC_IGNORE, "update %d after %d s", k, 64 * k);
		cr_assert_eq(d.state, NTP_DISC_SPIK);
		cr_assert(!out.loopstats);
	}
	cr_assert(strstr(out.reason, "spike") != NULL, "%s", out.reason);
	cr_assert_eq(ntp_disc_local_clock(&d, 0.3, 0.0, t_good + S(64 * k), &out), NTP_DISC_STEP);
	cr_assert_eq(64 * k, 320); /* the first update at or past the 300 s stepout */
	cr_assert_float_eq(out.step, 0.3, 1e-12);
	cr_assert_eq(out.old_state, NTP_DISC_SPIK);
	cr_assert_eq(out.new_state, NTP_DISC_SYNC);
	cr_assert_eq(d.steps, 1);
}

Test(disc, first_spike_reason)
{
	ntp_disc_params p = dparams();
	ntp_disc d;
	ntp_disc_out out;
	ntp_time t = start_in_sync(&d, &p);

	cr_assert_eq(ntp_disc_local_clock(&d, 0.3, 0.0, t + S(64), &out), NTP_DISC_IGNORE);
	cr_assert_str_eq(out.reason,
	                 "spike: +0.300 s over threshold 0.128 s, waiting 300 s stepout");
	cr_assert_eq(out.old_state, NTP_DISC_SYNC);
	cr_assert_eq(out.new_state, NTP_DISC_SPIK);
}

Test(disc, single_spike_then_normal_returns_to_sync)
{
	ntp_disc_params p = dparams();
	ntp_disc d;
	ntp_disc_out out;
	ntp_time t = start_in_sync(&d, &p);

	cr_assert_eq(ntp_disc_local_clock(&d, -0.3, 0.0, t + S(64), &out), NTP_DISC_IGNORE);
	cr_assert_eq(d.state, NTP_DISC_SPIK);
	cr_assert_eq(ntp_disc_local_clock(&d, 0.001, 0.0, t + S(128), &out), NTP_DISC_SLEW);
	cr_assert_eq(out.old_state, NTP_DISC_SPIK);
	cr_assert_eq(out.new_state, NTP_DISC_SYNC);
	/* Much later, more normal offsets: never a step. */
	for (int k = 3; k < 40; k++) {
		cr_assert_eq(ntp_disc_local_clock(&d, 0.001, 0.0, t + S(64 * k), &out),
		             NTP_DISC_SLEW);
	}
	cr_assert_eq(d.steps, 0);
}

/* ---- panic and -g ------------------------------------------------------- */

Test(disc, panic_over_1000s)
{
	ntp_disc_params p = dparams();
	ntp_disc d;
	ntp_disc_out out;

	ntp_disc_init(&d, &p, T0);
	cr_assert_eq(ntp_disc_local_clock(&d, 2000.0, 0.0, T0 + S(2), &out), NTP_DISC_PANIC);
	cr_assert_str_eq(out.reason, "panic: offset +2000 s > 1000 s: set clock manually");
	cr_assert_eq(d.steps, 0);
	cr_assert_eq(d.state, NTP_DISC_NSET);
	/* 999 s is not a panic: it is a step. */
	cr_assert_eq(ntp_disc_local_clock(&d, -999.0, 0.0, T0 + S(4), &out), NTP_DISC_STEP);
}

Test(disc, allow_big_first_step_steps_once_then_panics)
{
	ntp_disc_params p = dparams();
	ntp_disc_out out;
	sim s;

	p.allow_big_first_step = true;
	sim_init(&s, &p, -2000.0, 0.0, 0.0);
	cr_assert_eq(sim_update(&s, &out), NTP_DISC_STEP);
	cr_assert_float_eq(out.step, -2000.0, 1e-6);
	/* Normal updates through FREQ into SYNC close the -g allowance. */
	sim_run_for(&s, 1800);
	cr_assert_eq(s.d.state, NTP_DISC_SYNC);
	cr_assert(!s.d.allow_panic);
	cr_assert_eq(
	        ntp_disc_local_clock(&s.d, 2000.0, 0.0, ntp_clock_read(&s.clk, sim_raw(&s)), &out),
	        NTP_DISC_PANIC);
	cr_assert_eq(s.n[NTP_DISC_STEP], 1);
}

Test(disc, allowance_lasts_until_first_pll_update)
{
	/* NTPsec: allow_panic is only cleared by an in-threshold update that
	 * reaches the PLL, so a second huge offset during FREQ is ignored
	 * (FREQ waits the stepout), not a panic. */
	ntp_disc_params p = dparams();
	ntp_disc d;
	ntp_disc_out out;

	p.allow_big_first_step = true;
	ntp_disc_init(&d, &p, T0);
	cr_assert_eq(ntp_disc_local_clock(&d, 5000.0, 0.0, T0, &out), NTP_DISC_STEP);
	cr_assert_eq(ntp_disc_local_clock(&d, 5000.0, 0.0, T0 + S(64), &out), NTP_DISC_IGNORE);
	cr_assert_eq(d.state, NTP_DISC_FREQ);
}

Test(disc, panic_zero_disables_panic)
{
	ntp_disc_params p = dparams();
	ntp_disc d;
	ntp_disc_out out;

	p.panic = 0.0;
	ntp_disc_init(&d, &p, T0);
	cr_assert_eq(ntp_disc_local_clock(&d, 2000.0, 0.0, T0 + S(2), &out), NTP_DISC_STEP);
	cr_assert_float_eq(out.step, 2000.0, 1e-9);
}

/* ---- tinker step 0 ------------------------------------------------------ */

Test(disc, step_zero_never_steps)
{
	ntp_disc_params p = dparams();
	ntp_disc_out out;
	sim s;

	p.step = 0.0;
	sim_init(&s, &p, 28.2, 0.0, 0.0);
	cr_assert_eq(sim_update(&s, &out), NTP_DISC_SLEW);
	cr_assert_float_eq(out.adj_offset, 28.2, 1e-6);
	sim_run_for(&s, 6 * 3600);
	cr_assert_eq(s.n[NTP_DISC_STEP], 0);
	cr_assert_gt(s.n[NTP_DISC_SLEW], 2);
	/* Slewing 28 s at <= 500 ppm is slow, and ntpd's FREQ measurement
	 * sees the unfinished slew as frequency: it runs into the clamp. */
	cr_assert_leq(fabs(ntp_disc_freq_ppm(&s.d)), 500.0);
	cr_assert_gt(fabs(sim_true_offset(&s)), 0.128);
}

/* ---- drift file ---------------------------------------------------------- */

Test(disc, drift_file_fset_to_sync_at_first_update)
{
	ntp_disc_params p = dparams();
	ntp_disc d;
	ntp_disc_out out;

	p.have_drift = true;
	p.drift_ppm = 12.5;
	ntp_disc_init(&d, &p, T0);
	cr_assert_eq(d.state, NTP_DISC_FSET);
	cr_assert_float_eq(ntp_disc_freq_ppm(&d), 12.5, 1e-9);
	cr_assert_eq(ntp_disc_local_clock(&d, 0.004, 0.0, T0 + S(3), &out), NTP_DISC_SLEW);
	cr_assert_eq(out.old_state, NTP_DISC_FSET);
	cr_assert_eq(out.new_state, NTP_DISC_SYNC);
	cr_assert_float_eq(out.adj_freq, 12.5e-6, 1e-15);
	/* Big offset with a drift file: step at once, straight to SYNC. */
	ntp_disc_init(&d, &p, T0);
	cr_assert_eq(ntp_disc_local_clock(&d, 28.2, 0.0, T0 + S(3), &out), NTP_DISC_STEP);
	cr_assert_eq(out.new_state, NTP_DISC_SYNC);
	/* Out-of-range file values are clamped, as ntpd's loop_config(). */
	p.drift_ppm = -800.0;
	ntp_disc_init(&d, &p, T0);
	cr_assert_float_eq(ntp_disc_freq_ppm(&d), -500.0, 1e-9);
}

/* ---- frequency convergence ---------------------------------------------- */

/* Updates until |freq - truth| < 1 ppm and it stays there for an hour. */
static unsigned
updates_to_converge(sim *s, double truth_ppm, unsigned max_updates)
{
	ntp_disc_out out;
	unsigned first_good = 0;
	ntp_time good_since = 0;

	for (unsigned n = 1; n <= max_updates; n++) {
		sim_update(s, &out);
		if (fabs(ntp_disc_freq_ppm(&s->d) - truth_ppm) < 1.0) {
			if (first_good == 0) {
				first_good = n;
				good_since = s->true_now;
			}
			if (s->true_now - good_since >= S(3600)) {
				return first_good;
			}
		} else {
			first_good = 0;
		}
	}
	return 0;
}

Test(disc, freq_measured_in_freq_state)
{
	/* Oscillator 100 ppm fast, no drift file: ntpd's FREQ state measures
	 * the frequency directly over the stepout. */
	ntp_disc_params p = dparams();
	sim s;
	unsigned n;

	sim_init(&s, &p, 0.010, 100e-6, 20e-6);
	n = updates_to_converge(&s, -100.0, 2000);
	cr_log_info("NSET 100 ppm: within 1 ppm after %u updates", n);
	/* First update slews, FREQ ignores 64..256 s, the update at 320 s
	 * (the first past the 300 s stepout) measures: update 6. */
	cr_assert_eq(n, 6);
	cr_assert_eq(s.n[NTP_DISC_STEP], 0);
}

Test(disc, freq_converges_by_pll_from_wrong_drift_file)
{
	/* Drift file says 0 ppm, oscillator is 30 ppm fast: the PLL alone
	 * must find it. */
	ntp_disc_params p = dparams();
	sim s;
	unsigned n;

	p.have_drift = true;
	p.drift_ppm = 0.0;
	sim_init(&s, &p, 0.001, 30e-6, 20e-6);
	n = updates_to_converge(&s, -30.0, 5000);
	cr_log_info("FSET 0 vs 30 ppm: within 1 ppm after %u updates", n);
	/* Measured: 808 updates at poll 6 (14.4 h; 819 with a 900 s startup
	 * clamp); ntpd's daemon PLL is slow. */
	cr_assert_eq(n, 808);
	cr_assert_eq(s.n[NTP_DISC_STEP], 0);
}

Test(disc, fll_engages_at_allan_intercept)
{
	/* At poll >= CLOCK_ALLAN (11, 2048 s) the FLL adds a quarter of the
	 * apparent frequency error each update; below it only the PLL works,
	 * whose gain falls as 2^-2poll. */
	ntp_disc_params p = dparams();
	sim fll, pll;
	unsigned n;

	p.have_drift = true;
	p.drift_ppm = 0.0;
	p.minpoll = p.maxpoll = 11;
	sim_init(&fll, &p, 0.0001, 10e-6, 20e-6);
	n = updates_to_converge(&fll, -10.0, 200);
	cr_log_info("FLL at poll 11, 10 ppm: within 1 ppm after %u updates", n);
	cr_assert_eq(n, 9); /* measured */
	cr_assert_eq(fll.n[NTP_DISC_STEP], 0);

	p.minpoll = p.maxpoll = 10;
	sim_init(&pll, &p, 0.0001, 10e-6, 20e-6);
	for (unsigned k = 0; k < n; k++) {
		ntp_disc_out out;

		sim_update(&pll, &out);
	}
	cr_assert_gt(fabs(ntp_disc_freq_ppm(&pll.d) + 10.0), 5.0);
}

/* ---- poll adaptation ---------------------------------------------------- */

Test(disc, poll_rises_with_small_offsets_and_drops_with_large)
{
	ntp_disc_params p = dparams();
	ntp_disc d;
	ntp_disc_out out;
	ntp_rand r;
	ntp_time t = start_in_sync(&d, &p);
	unsigned n = 0;

	ntp_rand_seed_named(&r, 7, "disc:poll");
	cr_assert_eq(ntp_disc_poll(&d), 6);
	while (ntp_disc_poll(&d) < 10 && n < 1000) {
		t += S(1) << ntp_disc_poll(&d);
		ntp_disc_local_clock(&d, 20e-6 * ntp_rand_normal(&r), 20e-6, t, &out);
		n++;
	}
	cr_log_info("poll 6 -> 10 after %u updates", n);
	cr_assert_eq(ntp_disc_poll(&d), 10);
	/* tc_counter gains `poll` per small offset and the poll moves when it
	 * passes CLOCK_LIMIT 30: 6 updates at poll 6, 5 at 7, 4 at 8, 4 at 9. */
	cr_assert_eq(n, 6 + 5 + 4 + 4);
	/* Never beyond maxpoll. */
	for (int k = 0; k < 20; k++) {
		t += S(1024);
		ntp_disc_local_clock(&d, 20e-6 * ntp_rand_normal(&r), 20e-6, t, &out);
	}
	cr_assert_eq(ntp_disc_poll(&d), 10);
	/* Offsets large against the jitter pull it back down to minpoll. */
	n = 0;
	while (ntp_disc_poll(&d) > 6 && n < 1000) {
		t += S(1) << ntp_disc_poll(&d);
		ntp_disc_local_clock(&d, 0.05, 20e-6, t, &out);
		n++;
	}
	cr_log_info("poll 10 -> 6 after %u updates", n);
	cr_assert_eq(ntp_disc_poll(&d), 6);
	/* The jump first enters the jitter (RMS over CLOCK_AVG 8: 50 ms /
	 * sqrt(8) = 17.7 ms), so 50 ms < 4 x jitter for 6 updates while the
	 * jitter decays by sqrt(7/8) each.  Then each costs 2 x poll from
	 * tc_counter's +30: 4 updates leave poll 10, 2 leave 9, 2 leave 8,
	 * 3 leave 7. */
	cr_assert_eq(n, 6 + 4 + 2 + 2 + 3);
	cr_assert_eq(d.steps, 0);
}

/* ---- disable ntp --------------------------------------------------------- */

Test(disc, disabled_always_ignores)
{
	ntp_disc_params p = dparams();
	ntp_disc d;
	ntp_disc_out out;
	const double offsets[] = {28.2, 2000.0, 0.01, -0.3, 0.0};

	p.disabled = true;
	ntp_disc_init(&d, &p, T0);
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		cr_assert_eq(ntp_disc_local_clock(&d, offsets[i], 0.0, T0 + S(64 * (int)i), &out),
		             NTP_DISC_IGNORE);
		cr_assert(out.loopstats);
		cr_assert_float_eq(d.clock_offset, offsets[i], 0.0);
	}
	cr_assert_eq(d.state, NTP_DISC_NSET);
	cr_assert_eq(d.steps, 0);
}

/* ---- loopstats, names, bad input ------------------------------------------ */

Test(disc, loopstats_format)
{
	ntp_disc_params p = dparams();
	ntp_disc d;
	ntp_disc_out out;
	char line[192];
	long mjd;
	double sod, off, freq, jit, wander;
	int poll;
	/* 2026-11-24 01:02:03.250 UTC = MJD 61368. */
	ntp_time now = S(INT64_C(1795482123)) + 250000000;

	p.have_drift = true;
	p.drift_ppm = -12.345678;
	ntp_disc_init(&d, &p, now - S(64));
	ntp_disc_local_clock(&d, 0.000123456, 0.0, now, &out);
	size_t len = ntp_disc_loopstats(&d, now, line, sizeof(line));

	cr_assert_eq(len, strlen(line));
	cr_assert_eq(sscanf(line, "%ld %lf %lf %lf %lf %lf %d", &mjd, &sod, &off, &freq, &jit,
	                    &wander, &poll),
	             7);
	cr_assert_eq(mjd, 61368);
	cr_assert(strncmp(line, "61368 3723.250 0.000123456 -12.345678 ", 38) == 0, "%s", line);
	cr_assert_float_eq(jit, d.clk_jitter, 1e-9);
	cr_assert_eq(poll, 6);
	/* Truncated small buffers still report the full length. */
	cr_assert_eq(ntp_disc_loopstats(&d, now, line, 8), len);
	cr_assert_eq(strlen(line), 7);
}

Test(disc, state_names)
{
	cr_assert_str_eq(ntp_disc_state_name(NTP_DISC_NSET), "NSET");
	cr_assert_str_eq(ntp_disc_state_name(NTP_DISC_FSET), "FSET");
	cr_assert_str_eq(ntp_disc_state_name(NTP_DISC_SPIK), "SPIK");
	cr_assert_str_eq(ntp_disc_state_name(NTP_DISC_FREQ), "FREQ");
	cr_assert_str_eq(ntp_disc_state_name(NTP_DISC_SYNC), "SYNC");
	cr_assert_str_eq(ntp_disc_state_name(42), "?");
	cr_assert_str_eq(ntp_disc_state_name(-1), "?");
}

Test(disc, bad_input)
{
	ntp_disc_params p = dparams();
	ntp_disc d;
	ntp_disc_out out;

	p.minpoll = 12;
	p.maxpoll = 4;
	p.step = -1.0;
	p.stepout = NAN;
	ntp_disc_init(&d, &p, T0);
	cr_assert_eq(d.p.minpoll, 4);
	cr_assert_eq(d.p.maxpoll, 12);
	cr_assert_float_eq(d.p.step, NTP_STEPT, 0.0);
	cr_assert_float_eq(d.p.stepout, NTP_STEPOUT, 0.0);
	cr_assert_eq(ntp_disc_local_clock(&d, NAN, 0.0, T0, &out), NTP_DISC_IGNORE);
	cr_assert(strstr(out.reason, "bad offset") != NULL);
	cr_assert_eq(ntp_disc_local_clock(&d, INFINITY, NAN, T0, &out), NTP_DISC_IGNORE);
	cr_assert_eq(d.state, NTP_DISC_NSET);
	/* Time running backwards (no shift after a step) never divides by 0. */
	cr_assert_eq(ntp_disc_local_clock(&d, 0.01, 0.0, T0, &out), NTP_DISC_SLEW);
	cr_assert_eq(ntp_disc_local_clock(&d, 0.01, 0.0, T0 - S(5000), &out), NTP_DISC_IGNORE);
	cr_assert(isfinite(d.freq));
	ntp_disc_init(&d, NULL, T0);
	cr_assert_eq(ntp_disc_poll(&d), NTP_MINDPOLL);
}

/* ---- intervals on the monotonic clock -------------------------------------- */

Test(disc, freq_interval_is_monotonic_across_a_step)
{
	ntp_disc_params p = dparams();
	ntp_disc d;
	ntp_disc_out out;
	ntp_time t = T0;

	ntp_disc_init(&d, &p, t);
	cr_assert_eq(ntp_disc_local_clock(&d, 28.2, 0.0, t, &out), NTP_DISC_STEP);
	/* The local clock jumped 28.2 s; the monotonic clock the discipline
	 * takes did not: 299 s after the step it is still measuring. */
	cr_assert_eq(ntp_disc_local_clock(&d, 0.0299, 0.0, t + S(299), &out), NTP_DISC_IGNORE);
	cr_assert_eq(ntp_disc_local_clock(&d, 0.03, 0.0, t + S(300), &out), NTP_DISC_SLEW);
	cr_assert(out.freq_measured);
	cr_assert_float_eq(ntp_disc_freq_ppm(&d), 100.0, 1e-6);
	cr_assert_eq(out.new_state, NTP_DISC_SYNC);
}

/* ---- startup clamp ------------------------------------------------------- */

Test(disc, startup_clamp_time_constant)
{
	ntp_disc_params p = dparams();
	ntp_disc d;
	ntp_disc_out out;
	ntp_time t = start_in_sync(&d, &p);
	int k = 1;

	/* Offsets over CLOCK_FLOOR (0.5 ms): tau 32 s for one stepout of SYNC. */
	for (; k * 64 < 300; k++) {
		ntp_disc_local_clock(&d, 0.002, 0.0, t + S(64 * k), &out);
		cr_assert_float_eq(out.adj_tau, 32.0, 0.0, "k %d", k);
		cr_assert_float_eq(out.adj_freq, 0.0, 0.0);
	}
	ntp_disc_local_clock(&d, 0.002, 0.0, t + S(64 * k), &out);
	cr_assert_float_eq(out.adj_tau, 16.0 * 64.0, 0.0);
	cr_assert_gt(out.adj_freq, 0.0);
	/* An offset under 0.5 ms ends the clamp at once. */
	t = start_in_sync(&d, &p);
	ntp_disc_local_clock(&d, 0.0001, 0.0, t + S(64), &out);
	cr_assert_float_eq(out.adj_tau, 1024.0, 0.0);
}

/* ---- kernel mode (ntpd on Linux) ----------------------------------------- */

static ntp_disc_params
kparams(void)
{
	ntp_disc_params p = dparams();

	p.kernel = true;
	return p;
}

/* loop_config(LOOP_DRIFTINIT): start_kern_loop() and set_freq() as one
 * call: STA_PLL | STA_UNSYNC, sys_poll as the constant (NTPsec 1.2.2; the
 * kernel adds 4 before STA_NANO), errors at sys_maxdisp, the drift
 * frequency in scaled ppm (DTOFREQ truncates). */
Test(disc_kernel, start_call)
{
	ntp_disc_params p = kparams();
	ntp_kernel_timex tx;
	ntp_disc d;

	p.have_drift = true;
	p.drift_ppm = -12.5;
	ntp_disc_init(&d, &p, T0);
	cr_assert(ntp_disc_start(&d, ntp_now_at(T0, T0), &tx));
	cr_assert_eq(tx.modes, NTP_KERNEL_ADJ_OFFSET | NTP_KERNEL_ADJ_MAXERROR |
	                               NTP_KERNEL_ADJ_ESTERROR | NTP_KERNEL_ADJ_STATUS |
	                               NTP_KERNEL_ADJ_TIMECONST | NTP_KERNEL_ADJ_FREQUENCY);
	cr_assert_eq(tx.status, NTP_KERNEL_STA_PLL | NTP_KERNEL_STA_UNSYNC);
	cr_assert_eq(tx.constant, 6);
	cr_assert_eq(tx.offset, 0);
	cr_assert_eq(tx.maxerror, 16000000);
	cr_assert_float_eq(d.freq, -12.5e-6, 1e-15);
	cr_assert_eq(tx.freq, (int64_t)(int32_t)(d.freq * 65536e6), "DTOFREQ");
	cr_assert_float_eq(ntp_kernel_freq(&d.kern), -12.5e-6, 2.0 / 65536e6, "%.9e",
	                   ntp_kernel_freq(&d.kern)); /* scaled ppm both ways */
	/* the daemon loop makes no such call */
	ntp_disc_init(&d, &(ntp_disc_params){.kernel = false}, T0);
	cr_assert(!ntp_disc_start(&d, ntp_now_at(T0, T0), &tx));
	cr_assert_eq(tx.modes, 0u);
}

/* ntpd leaves the kernel loop when a step threshold is 0 or over 0.5 s. */
Test(disc_kernel, big_or_no_step_threshold_means_daemon_loop)
{
	ntp_disc_params p = kparams();
	ntp_disc d;

	p.step = 0.6;
	ntp_disc_init(&d, &p, T0);
	cr_assert(!d.p.kernel);
	p.step = 0.128;
	p.step_back = 0.0;
	ntp_disc_init(&d, &p, T0);
	cr_assert(!d.p.kernel);
	p.step_back = 0.5;
	ntp_disc_init(&d, &p, T0);
	cr_assert(d.p.kernel);
}

/* During the startup clamp the daemon slews (tau 32 s, no frequency: the
 * kernel has it) and the slew stops when the clamp runs out; the first
 * update after it goes to the kernel's PLL and takes the kernel's
 * frequency back. */
Test(disc_kernel, clamp_then_kernel_pll)
{
	ntp_disc_params p = kparams();
	ntp_kernel_timex tx;
	ntp_disc_out out;
	ntp_disc d;
	ntp_time t;

	p.have_drift = true;
	p.drift_ppm = 0.0;
	ntp_disc_init(&d, &p, T0);
	ntp_disc_start(&d, ntp_now_at(T0, T0), &tx);
	cr_assert_eq(ntp_disc_local_clock(&d, 0.002, 0.0, T0 + S(10), &out), NTP_DISC_SLEW);
	cr_assert(out.kernel_mode);
	cr_assert_eq(out.ktx.modes, 0u, "no kernel call in the clamp");
	cr_assert_float_eq(out.adj_tau, 32.0, 0.0);
	cr_assert_float_eq(out.adj_offset, 0.002, 1e-15);
	cr_assert_float_eq(out.adj_for, 300.0, 1e-9, "the clamp's 300 s of SYNC");
	t = T0 + S(10);
	cr_assert_eq(ntp_disc_local_clock(&d, 0.0015, 0.0, t + S(64), &out), NTP_DISC_SLEW);
	cr_assert_float_eq(out.adj_for, 300.0 - 64.0, 1e-9);
	/* under CLOCK_FLOOR: the clamp ends, this very update goes to the kernel */
	cr_assert_eq(ntp_disc_local_clock(&d, 0.0001, 0.0, t + S(128), &out), NTP_DISC_SLEW);
	cr_assert_eq(out.ktx.modes, NTP_KERNEL_ADJ_OFFSET | NTP_KERNEL_ADJ_MAXERROR |
	                                    NTP_KERNEL_ADJ_ESTERROR | NTP_KERNEL_ADJ_STATUS |
	                                    NTP_KERNEL_ADJ_TIMECONST | NTP_KERNEL_ADJ_NANO);
	/* NTPsec 1.2.2: the kernel is not in ns mode before this call, so
	 * the offset goes in us (and the kernel reads ns) */
	cr_assert_eq(out.ktx.offset, 100, "us, from 100000 ns");
	cr_assert_eq(out.ktx.constant, 6, "sys_poll, in the ns API");
	cr_assert_eq(out.ktx.status, NTP_KERNEL_STA_PLL);
	cr_assert_float_eq(out.adj_offset, 0.0, 0.0, "the daemon slews no more");
	cr_assert_float_eq(out.adj_for, 0.0, 0.0);
	cr_assert(d.kern_engaged);
	/* The kernel's PLL: offset x secs / 2^(2 (SHIFT_PLL + 2 + tc)), secs
	 * since start_kern_loop (138 s; under the 2^(3+tc) clamp). */
	cr_assert_float_eq(d.freq, 100e-9 * 138.0 / 1048576.0, 1.0 / 65536e6, "freq %.6e",
	                   d.freq); /* read back in scaled ppm */
	cr_assert_float_eq(d.clock_offset, 100e-9, 1e-9, "ntv.offset read back");
	/* the next one goes in ns */
	cr_assert_eq(ntp_disc_local_clock(&d, 0.0002, 0.0, t + S(192), &out), NTP_DISC_SLEW);
	cr_assert_eq(out.ktx.offset, 200000);
	cr_assert_float_eq(d.clock_offset, 200e-6, 1e-12);
	cr_assert(strstr(ntp_disc_reason(&out), "kernel PLL") != NULL, "%s", ntp_disc_reason(&out));
}

/* FREQ's direct measurement is set_freq(): a MOD_FREQUENCY to the kernel. */
Test(disc_kernel, direct_freq_goes_to_the_kernel)
{
	ntp_disc_params p = kparams();
	ntp_kernel_timex tx;
	ntp_disc_out out;
	ntp_disc d;

	ntp_disc_init(&d, &p, T0);
	ntp_disc_start(&d, ntp_now_at(T0, T0), &tx);
	cr_assert_eq(ntp_disc_local_clock(&d, 0.01, 0.0, T0, &out), NTP_DISC_SLEW);
	cr_assert_float_eq(out.adj_tau, 0.0, 0.0, "NSET: adjtime()");
	cr_assert_eq(ntp_disc_local_clock(&d, 0.03, 0.0, T0 + S(300), &out), NTP_DISC_SLEW);
	cr_assert(out.freq_measured);
	cr_assert_eq(out.ktx.modes, NTP_KERNEL_ADJ_FREQUENCY);
	cr_assert_eq(out.ktx.freq, (int64_t)(int32_t)(d.freq * 65536e6), "DTOFREQ");
	cr_assert_float_eq(ntp_kernel_freq(&d.kern), 100e-6, 1e-9);
	cr_assert_float_eq(ntp_disc_freq_ppm(&d), 100.0, 1e-6);
}

/* A client 100 ppm fast, no drift file, noisy offsets: closed loop through
 * ntp_clock with the kernel's PLL under it.  Measured: FREQ leaves 0.108
 * ppm, the clamp ends at 512 s with -0.125 ms, the poll reaches 10 at
 * 4544 s, where the kernel's PLL (tc 10: a 4096 s phase time constant)
 * takes days over the rest: after 6 h 0.062 ppm and -0.24 ms, as ntpd. */
Test(disc_kernel, closed_loop_converges)
{
	ntp_disc_params p = kparams();
	ntp_kernel_timex tx;
	ntp_disc_out out;
	ntp_clock_adj adj;
	sim s;

	sim_init(&s, &p, 0.010, 100e-6, 20e-6);
	cr_assert(ntp_disc_start(&s.d, ntp_now_at(sim_raw(&s), sim_raw(&s)), &tx));
	memset(&adj, 0, sizeof adj);
	adj.what = NTP_CLOCK_KERNEL;
	adj.kernel = tx;
	ntp_clock_apply(&s.clk, sim_raw(&s), &adj);
	while (s.true_now < T0 + S(6 * 3600)) {
		ntp_time raw = sim_raw(&s);
		double offset = (double)(s.true_now - ntp_clock_read(&s.clk, raw)) / 1e9 +
		                s.noise * ntp_rand_normal(&s.rng);
		int r = ntp_disc_local_clock(&s.d, offset, 0.0, raw, &out);

		memset(&adj, 0, sizeof adj);
		adj.what = (out.ktx.modes ? NTP_CLOCK_KERNEL : 0) |
		           (r == NTP_DISC_SLEW || r == NTP_DISC_STEP ? NTP_CLOCK_SLEW : 0);
		adj.kernel = out.ktx;
		adj.offset = out.adj_offset;
		adj.tau = out.adj_tau;
		adj.slew_for = out.adj_for;
		cr_assert_eq(r == NTP_DISC_STEP, false);
		ntp_clock_apply(&s.clk, raw, &adj);
		s.true_now += S(1) << ntp_disc_poll(&s.d);
	}
	cr_assert(s.d.kern_engaged);
	cr_assert_lt(fabs(sim_true_offset(&s)), 400e-6, "%.6f ms", sim_true_offset(&s) * 1e3);
	/* the kernel holds the correction; ntpd's drift_comp is its read-back */
	cr_assert_float_eq(s.clk.s.freq, 0.0, 0.0);
	cr_assert_float_eq(ntp_clock_freq(&s.clk), ntp_kernel_freq(&s.d.kern), 1e-12);
	cr_assert_float_eq(ntp_clock_freq(&s.clk), -100e-6 / (1.0 + 100e-6), 0.1e-6);
	cr_assert_eq(ntp_disc_poll(&s.d), 10);
}

/* ntpd's huff-n'-puff: half the delay over the window's lowest comes off
 * the offset, toward zero; the slots rotate every 900 s from the start. */
Test(disc, huff_n_puff)
{
	ntp_disc_params p = dparams();
	ntp_disc_out out;
	ntp_disc d;
	ntp_disc_in in = {.sys_jitter = 0.0, .delay = 0.010};
	double window[NTP_DISC_HUFF_SLOTS];

	cr_assert_eq(ntp_disc_huff_slots(1799.0), 1);
	cr_assert_eq(ntp_disc_huff_slots(100.0), 1, "at least one slot");
	cr_assert_eq(ntp_disc_huff_slots(1e9), NTP_DISC_HUFF_SLOTS);
	cr_assert_eq(ntp_disc_huff_slots(0.0), 0);
	p.have_drift = true;
	p.huffpuff = 1800.0; /* two slots */
	p.huff_store = window;
	ntp_disc_init(&d, &p, T0);
	cr_assert_eq(d.hufflen, 2);
	in.offset = 0.005;
	in.now = ntp_now_at(T0 + S(10), T0 + S(10));
	cr_assert_eq(ntp_disc_update(&d, &in, &out), NTP_DISC_SLEW);
	cr_assert_float_eq(d.clock_offset, 0.005, 1e-12, "the lowest delay: no correction");
	in.offset = 0.012;
	in.delay = 0.030;
	in.now = ntp_now_at(T0 + S(74), T0 + S(74));
	ntp_disc_update(&d, &in, &out);
	cr_assert_float_eq(d.clock_offset, 0.012 - 0.010, 1e-12);
	in.offset = -0.012;
	in.now = ntp_now_at(T0 + S(138), T0 + S(138));
	ntp_disc_update(&d, &in, &out);
	cr_assert_float_eq(d.clock_offset, -0.012 + 0.010, 1e-12, "toward zero");
	/* 900 s on, a new slot; the 10 ms is still in the other one */
	in.now = ntp_now_at(T0 + S(1000), T0 + S(1000));
	ntp_disc_update(&d, &in, &out);
	cr_assert_float_eq(d.mindly, 0.010, 1e-12);
	/* 1800 s on, both slots have turned over: the lowest is 30 ms now */
	in.now = ntp_now_at(T0 + S(1900), T0 + S(1900));
	in.offset = 0.004;
	ntp_disc_update(&d, &in, &out);
	cr_assert_float_eq(d.mindly, 0.030, 1e-12);
	cr_assert_float_eq(d.clock_offset, 0.004, 1e-12);
	/* off, and without a delay: the offset as given */
	p.huffpuff = 0.0;
	p.huff_store = NULL;
	ntp_disc_init(&d, &p, T0);
	cr_assert_eq(d.hufflen, 0);
}

/* A slew's reason is kept as numbers and formatted when read (issue 17
 * §1): the text is the one the update used to write. */
Test(disc, slew_reason_formatted_when_read)
{
	ntp_disc_note k = {
	        .kind = NTP_DISC_NOTE_KERNEL, .tc = 6, .offset = -0.0012345, .freq = 12.5e-6};
	ntp_disc_note s = {.kind = NTP_DISC_NOTE_SLEW,
	                   .measured = true,
	                   .offset = 0.000250,
	                   .tau = 1024.0,
	                   .freq = -3.25e-6};
	ntp_disc_out out = {.note = s};
	char buf[128] = "x";

	ntp_disc_note_format(&k, buf, sizeof buf);
	cr_assert_str_eq(buf, "kernel PLL -0.001234 s, tc 6, freq +12.500 ppm");
	ntp_disc_note_format(&s, buf, sizeof buf);
	cr_assert_str_eq(buf, "slew +0.000250 s, tc 1024 s, freq -3.250 ppm (measured in FREQ)");
	cr_assert_str_eq(ntp_disc_reason(&out), buf);
	cr_assert_eq(out.note.kind, NTP_DISC_NOTE_NONE);
	ntp_disc_note_format(&(ntp_disc_note){0}, buf, sizeof buf);
	cr_assert_str_eq(buf, "");
}
