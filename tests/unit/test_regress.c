/* SPDX-License-Identifier: BSD-2-Clause */
/* core/ntp_regress ("regress"), driven through the seam as the host drives
 * it: samples of a model oscillator in, clock decisions out. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "ntp_conf.h"
#include "ntp_discipline.h"
#include "ntp_regress.h"
#include "ntp_select.h"

#define NS 1000000000LL

static ntp_conf conf;
static _Alignas(16) unsigned char sys[4096];
static _Alignas(16) unsigned char src[8][8192];

static void
start(const char *text)
{
	char err[256];
	ntp_disc_setup s = {
	        .conf = &conf,
	        .precision = -20,
	        .minpoll = 6,
	        .maxpoll = 10,
	        .maxdist = 1.5,
	        .mindist = 0.001,
	        .minsane = 1,
	        .minclock = 3,
	        .maxclock = 10,
	};

	cr_assert_leq(ntp_regress.sys_size, sizeof sys);
	cr_assert_leq(ntp_regress.src_size, sizeof src[0]);
	ntp_conf_init(&conf, "test.conf");
	ntp_conf_parse(&conf, text, strlen(text));
	cr_assert_eq(conf.n_errors, 0u);
	cr_assert_eq(ntp_discipline_check(&conf, err, sizeof err), 0, "%s", err);
	cr_assert_eq(ntp_regress.init(sys, &s, err, sizeof err), 0);
	for (int i = 0; i < 8; i++) {
		ntp_regress.src_init(sys, src[i], 0);
	}
}

static int
sample(int i, double t, double offset, double delay)
{
	double spike;
	ntp_sample smp = {.offset = offset,
	                  .delay = delay,
	                  .disp = 1e-6,
	                  .mono = (ntp_time)llround(t * NS),
	                  .poll = 6};

	return ntp_regress.sample(sys, src[i], &smp, &spike);
}

/* update() over sources 0..n-1 as fit candidates, out of n_assoc. */
static void
update(int n, int n_assoc, double t, ntp_disc_decision *o)
{
	ntp_disc_cand c[8];
	ntp_disc_input in = {.cand = c, .n = (size_t)n, .n_assoc = n_assoc, .n_reach = n_assoc};

	for (int i = 0; i < n; i++) {
		c[i] = (ntp_disc_cand){.id = i + 1, .src = src[i], .stratum = 1};
		ntp_regress.estimate(sys, src[i], &c[i].est);
		c[i].rootdist = c[i].est.delay / 2 + c[i].est.jitter + 0.001;
	}
	in.now = ntp_now_at((ntp_time)llround(t * NS), 0);
	memset(o, 0, sizeof *o);
	ntp_regress.update(sys, &in, o);
}

Test(regress, registered)
{
	cr_assert_eq(ntp_discipline_find("regress"), &ntp_regress);
}

/* The clock the discipline steers: a free-running oscillator 100 ppm slow
 * and 0.1 s behind, plus what the discipline's adjustments add (the
 * constant-rate slew and frequency of ntp_clock). */
typedef struct model {
	double t_adj, c, freq, phase, rate;
} model;

static double
model_corr(const model *m, double t)
{
	double dt = t - m->t_adj;

	return m->c + m->freq * dt + copysign(fmin(fabs(m->phase), m->rate * dt), m->phase);
}

static void
model_apply(model *m, double t, const ntp_disc_decision *o)
{
	m->c = model_corr(m, t) + (o->clock == NTP_DISC_CLOCK_STEP ? o->step : 0.0);
	m->t_adj = t;
	m->freq = o->adj.freq;
	m->phase = o->adj.offset;
	m->rate = o->adj.slew_max;
}

/* server - local for an oscillator that is 0.1 s behind and loses 100 ppm */
static double
true_offset(const model *m, double t)
{
	return 0.1 + 100e-6 * t - model_corr(m, t);
}

/* Two noiseless samples give the frequency; the clock is then on time and
 * stays there without further samples (the frame is free-running, so the
 * discipline's own corrections do not disturb what it measured). */
Test(regress, steers_to_frequency_and_phase)
{
	model m = {.rate = 1.0};
	ntp_disc_decision o;

	start("server 192.0.2.1\n");
	for (int k = 0; k < 3; k++) {
		double t = 1.0 + 64.0 * k;

		cr_assert_eq(sample(0, t, true_offset(&m, t), 0.0002), NTP_SAMPLE_NEW);
		update(1, 1, t, &o);
		cr_assert_eq(o.sys_peer, 1);
		cr_assert(o.updated);
		cr_assert_eq(o.clock, NTP_DISC_CLOCK_ADJUST, "%s", o.reason);
		model_apply(&m, t, &o);
	}
	cr_assert_float_eq(m.freq, 100e-6, 1e-9);
	cr_assert_float_eq(true_offset(&m, 2000.0), 0.0, 1e-6, "%g", true_offset(&m, 2000.0));
}

/* makestep: a step at the first update over the threshold, then slews only
 * (makestep_limit 1). */
Test(regress, steps_once_at_start)
{
	model m = {.rate = 1.0};
	ntp_disc_decision o;

	start("server 192.0.2.1\ndiscipline regress makestep_limit 1\n");
	cr_assert_eq(sample(0, 1.0, 28.2, 0.0002), NTP_SAMPLE_NEW);
	update(1, 1, 1.0, &o);
	cr_assert_eq(o.clock, NTP_DISC_CLOCK_STEP, "%s", o.reason);
	cr_assert_float_eq(o.step, 28.2, 1e-9);
	model_apply(&m, 1.0, &o);
	/* an external jump of 5 s later on is slewed, not stepped */
	cr_assert_eq(sample(0, 65.0, 5.0, 0.0002), NTP_SAMPLE_NEW);
	update(1, 1, 65.0, &o);
	cr_assert_eq(o.clock, NTP_DISC_CLOCK_ADJUST, "%s", o.reason);
}

/* A near-threshold offset from a noisy sample (half its delay of
 * uncertainty) is slewed, not stepped. */
Test(regress, noisy_offset_near_threshold_is_slewed)
{
	ntp_disc_decision o;

	start("server 192.0.2.1\n");
	sample(0, 1.0, 1.05, 0.2);
	update(1, 1, 1.0, &o);
	cr_assert_eq(o.clock, NTP_DISC_CLOCK_ADJUST, "%s", o.reason);
}

/* The start-up gate: a falseticker that answers first among five
 * configured servers moves nothing; three that agree do. */
Test(regress, first_answering_falseticker_cannot_win)
{
	ntp_disc_decision o;

	start("server 192.0.2.1\nserver 192.0.2.2\nserver 192.0.2.3\nserver 192.0.2.4\n"
	      "server 192.0.2.5\n");
	sample(0, 1.0, 1.0, 0.002);
	update(1, 5, 1.0, &o);
	cr_assert_eq(o.sys_peer, 0);
	cr_assert_eq(o.clock, NTP_DISC_CLOCK_NONE);
	cr_assert(strstr(o.why, "no majority yet: 1 of 5 sources agree, 3 needed") != NULL, "%s",
	          o.why);
	sample(1, 2.0, 0.0001, 0.002);
	update(2, 5, 2.0, &o);
	cr_assert_eq(o.sys_peer, 0, "%s", o.why);
	sample(2, 3.0, 0.0002, 0.002);
	sample(3, 4.0, -0.0001, 0.002);
	update(4, 5, 4.0, &o);
	cr_assert_neq(o.sys_peer, 0, "%s", o.why);
	cr_assert_neq(o.sys_peer, 1, "the falseticker was selected");
	cr_assert_eq(o.clock, NTP_DISC_CLOCK_ADJUST);
	cr_assert_lt(fabs(o.adj.offset), 0.001, "%g", o.adj.offset);
}

/* Two servers that disagree are no majority, ever (chrony 103: "a
 * falseticker among 2 servers gives no suitable source"). */
Test(regress, two_servers_that_disagree_never_sync)
{
	ntp_disc_decision o;

	start("server 192.0.2.1\nserver 192.0.2.2\n");
	for (int k = 0; k < 4; k++) {
		sample(0, 1.0 + 64 * k, 1.0, 0.002);
		sample(1, 2.0 + 64 * k, 0.0, 0.002);
		update(2, 2, 2.0 + 64 * k, &o);
		cr_assert_eq(o.sys_peer, 0, "%s", o.why);
		cr_assert_eq(o.clock, NTP_DISC_CLOCK_NONE);
	}
}

/* A path whose excess delay is all on the way back (server -> client):
 * each sample reads half its excess too low.  The fitted asymmetry takes
 * that off down to the fastest exchange seen (the path's true minimum is
 * unknowable), where the mean would keep a bias of ~500 us. */
Test(regress, asymmetric_path_is_corrected)
{
	ntp_estimate e;
	unsigned x = 12345;
	double least = 1.0;

	start("server 192.0.2.1\n");
	for (int k = 0; k < 40; k++) {
		double excess, noise;

		x = x * 1103515245u + 12345u;
		excess = 0.002 * ((x >> 8) % 1000) / 1000.0;
		x = x * 1103515245u + 12345u;
		noise = 10e-6 * (((x >> 8) % 1000) / 500.0 - 1.0);
		sample(0, 1.0 + 64 * k, 0.001 - excess / 2.0 + noise, 0.0002 + excess);
		least = fmin(least, excess);
	}
	ntp_regress.estimate(sys, src[0], &e);
	cr_assert_float_eq(e.offset, 0.001 - least / 2.0, 5e-6, "%g, least excess %g", e.offset,
	                   least);
}

/* Filters as discipline parameters: maxdelay refuses a sample. */
Test(regress, maxdelay_refuses)
{
	start("server 192.0.2.1\ndiscipline regress maxdelay 0.01\n");
	cr_assert_eq(sample(0, 1.0, 0.0, 0.02), NTP_SAMPLE_POPCORN);
	cr_assert_eq(sample(0, 2.0, 0.0, 0.002), NTP_SAMPLE_NEW);
}

/* chrony's fallbackdrift: with no source for 2^k s the frequency falls
 * back to its 2^k-s average, through the host's system pass on a poll
 * without a reply; without the parameters a lost poll changes nothing. */
Test(regress, fallback_drift_after_the_source_is_gone)
{
	model m = {.rate = 1.0};
	ntp_disc_decision o;
	double spike;
	ntp_sample lost = {.disp = NTP_MAXDISPERSE, .lost = true};

	start("server 192.0.2.1\ndiscipline regress fallbackmin 6 fallbackmax 8\n");
	for (int k = 0; k < 12; k++) {
		double t = 1.0 + 64.0 * k;

		sample(0, t, true_offset(&m, t), 0.0002);
		update(1, 1, t, &o);
		model_apply(&m, t, &o);
	}
	/* 295 s after the last update: the 2^8-s average, the oscillator's 100 ppm */
	lost.mono = (ntp_time)llround(1000.0 * NS);
	cr_assert_eq(ntp_regress.sample(sys, src[0], &lost, &spike), NTP_SAMPLE_NEW);
	update(0, 1, 1000.0, &o);
	cr_assert_eq(o.sys_peer, 0);
	cr_assert_eq(o.clock, NTP_DISC_CLOCK_ADJUST, "%s", o.reason);
	cr_assert_float_eq(o.adj.freq, 100e-6, 1e-8, "%g", o.adj.freq);
	cr_assert(strstr(o.reason, "fallback drift 8") != NULL, "%s", o.reason);

	start("server 192.0.2.1\n");
	sample(0, 1.0, 0.1, 0.0002);
	update(1, 1, 1.0, &o);
	cr_assert_eq(ntp_regress.sample(sys, src[0], &lost, &spike), NTP_SAMPLE_OLD);
}
