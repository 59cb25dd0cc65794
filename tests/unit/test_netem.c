/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * netem: delay distributions against tc-netem's definitions, correlation,
 * loss (random and Gilbert-Elliott), duplication, reordering, rate, trace,
 * partitions, stream independence and determinism, the tc-syntax parser and
 * formatter, and the firewall.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netem_fw.h"
#include "netem_link.h"

#define MS(x)     ((int64_t)(x)*1000000) /* ms -> ns */
#define N_STAT    100000                 /* packets per statistical test */
#define SPACING   MS(1000)               /* ns between offers: no queueing */
#define TABLE_TOP (32767.0 / 8192.0)     /* netem s16 table clip, in sigmas */

typedef struct delay_stats {
	double mean, sd, mssd; /* s, s, s^2: mean square successive difference */
	double lag1;           /* lag-1 autocorrelation */
	double min, max;
} delay_stats;

/* Offer n packets 1 s apart and measure the delays of single copies. */
static delay_stats
measure_delays(const netem_link_params *p, int n, const char *name)
{
	netem_link_params q = *p;
	netem_link l;
	double *d = calloc((size_t)n, sizeof *d);
	double sum = 0, sum2 = 0, sq = 0, cross = 0;
	delay_stats s = {0, 0, 0, 0, INFINITY, -INFINITY};
	int m = 0;

	cr_assert_not_null(d);
	netem_link_init(&l, &q, 12345, name);
	for (int i = 0; i < n; i++) {
		int64_t t = (int64_t)i * SPACING, out[NETEM_OUT_MAX];

		if (netem_link_offer(&l, t, 48, out) == 1) {
			d[m++] = (double)(out[0] - t) / 1e9;
		}
	}
	for (int i = 0; i < m; i++) {
		sum += d[i];
		sum2 += d[i] * d[i];
		s.min = fmin(s.min, d[i]);
		s.max = fmax(s.max, d[i]);
	}
	s.mean = sum / m;
	s.sd = sqrt(sum2 / m - s.mean * s.mean);
	for (int i = 1; i < m; i++) {
		sq += (d[i] - d[i - 1]) * (d[i] - d[i - 1]);
		cross += (d[i] - s.mean) * (d[i - 1] - s.mean);
	}
	s.mssd = sq / (m - 1);
	s.lag1 = cross / (m - 1) / (s.sd * s.sd);
	free(d);
	netem_link_free(&l);
	return s;
}

static netem_link_params
jittered(int dist, double delay, double jitter)
{
	netem_link_params p;

	netem_link_params_init(&p);
	p.dist = dist;
	p.delay = delay;
	p.jitter = jitter;
	return p;
}

static void
assert_close(double got, double want, double tol, const char *what)
{
	cr_assert(fabs(got - want) <= tol, "%s: got %.6g, want %.6g +- %.3g", what, got, want, tol);
}

/* ------------------------------------------------------------ distributions */

Test(netem_dist, normal_mean_delay_sd_jitter)
{
	netem_link_params p = jittered(NETEM_DIST_NORMAL, 0.100, 0.010);
	delay_stats s = measure_delays(&p, N_STAT, "normal");

	assert_close(s.mean, 0.100, 0.02 * 0.010, "mean");
	assert_close(s.sd, 0.010, 0.02 * 0.010, "sd");
	/* netem's table stops at -4 and just under +4 sigma. */
	cr_assert_geq(s.min, 0.100 - 4 * 0.010 - 1e-9);
	cr_assert_leq(s.max, 0.100 + TABLE_TOP * 0.010 + 1e-9);
}

Test(netem_dist, uniform_is_delay_plus_minus_jitter)
{
	netem_link_params p = jittered(NETEM_DIST_UNIFORM, 0.050, 0.020);
	delay_stats s = measure_delays(&p, N_STAT, "uniform");

	assert_close(s.mean, 0.050, 0.02 * 0.020, "mean");
	assert_close(s.sd, 0.020 / sqrt(3.0), 0.02 * 0.020 / sqrt(3.0), "sd");
	cr_assert_geq(s.min, 0.030 - 1e-9);
	cr_assert_lt(s.max, 0.070 + 1e-9);
	cr_assert_lt(s.min, 0.0302, "the whole range is used");
	cr_assert_gt(s.max, 0.0698);
}

Test(netem_dist, exponential_adds_mean_jitter)
{
	netem_link_params p = jittered(NETEM_DIST_EXPONENTIAL, 0.010, 0.004);
	delay_stats s = measure_delays(&p, N_STAT, "exp");

	assert_close(s.mean, 0.014, 0.03 * 0.004, "mean = delay + jitter");
	assert_close(s.sd, 0.004, 0.03 * 0.004, "sd = jitter");
	cr_assert_geq(s.min, 0.010 - 1e-9, "never below the base delay");
}

Test(netem_dist, pareto_per_netem_table_definition)
{
	/* pareto.c: T = (X - 1.5) * 4/3 with X ~ Pareto(alpha 3, x_m 1), clipped
	 * at the s16 table top.  With X clipped at c: E[X] = 1.5 - 0.5/c^2 and
	 * E[X^2] = 3 - 2/c. */
	double c = 1.5 + TABLE_TOP * 0.75;
	double e1 = 1.5 - 0.5 / (c * c), e2 = 3.0 - 2.0 / c;
	double t_mean = (e1 - 1.5) * 4.0 / 3.0;
	double t_sd = 4.0 / 3.0 * sqrt(e2 - e1 * e1);
	netem_link_params p = jittered(NETEM_DIST_PARETO, 0.100, 0.020);
	delay_stats s = measure_delays(&p, N_STAT, "pareto");

	assert_close(s.mean, 0.100 + 0.020 * t_mean, 0.03 * 0.020, "mean");
	assert_close(s.sd, 0.020 * t_sd, 0.03 * 0.020 * t_sd, "sd");
	assert_close(s.min, 0.100 - 0.020 * 2.0 / 3.0, 1e-5, "x_m maps to -2/3 sigma");
}

/* Standard normal quantile by bisection on erfc: slow, but independent of
 * the model's own inverse. */
static double
bisect_normal_quantile(double p)
{
	double lo = -12, hi = 12;

	for (int i = 0; i < 80; i++) {
		double mid = 0.5 * (lo + hi);

		if (0.5 * erfc(-mid / sqrt(2.0)) < p) {
			lo = mid;
		} else {
			hi = mid;
		}
	}
	return 0.5 * (lo + hi);
}

static double
clip4(double x)
{
	return x < -4.0 ? -4.0 : x > TABLE_TOP ? TABLE_TOP : x;
}

Test(netem_dist, paretonormal_per_netem_table_definition)
{
	/* paretonormal.c: entry i = (normal_i + 3 pareto_i) / 4, both parts
	 * taken at the same quantile.  Moments by midpoint quadrature. */
	const int m = 1 << 15;
	double sum = 0, sum2 = 0, want_mean, want_sd;
	netem_link_params p = jittered(NETEM_DIST_PARETONORMAL, 0.100, 0.020);
	delay_stats s;

	for (int i = 0; i < m; i++) {
		double q = (i + 0.5) / m;
		double z = clip4(bisect_normal_quantile(q));
		double x = clip4((pow(1.0 - q, -1.0 / 3.0) - 1.5) * 4.0 / 3.0);
		double t = clip4(0.25 * z + 0.75 * x);

		sum += t;
		sum2 += t * t;
	}
	want_mean = sum / m;
	want_sd = sqrt(sum2 / m - want_mean * want_mean);
	/* The table iproute2 ships measures mean -0.0253, sd 0.834. */
	assert_close(want_mean, -0.0253, 0.002, "quadrature mean");
	assert_close(want_sd, 0.834, 0.005, "quadrature sd");

	s = measure_delays(&p, N_STAT, "paretonormal");
	assert_close(s.mean, 0.100 + 0.020 * want_mean, 0.02 * 0.020, "mean");
	assert_close(s.sd, 0.020 * want_sd, 0.03 * 0.020 * want_sd, "sd");
}

Test(netem_dist, constant_ignores_jitter)
{
	netem_link_params p = jittered(NETEM_DIST_CONSTANT, 0.025, 0.010);
	delay_stats s = measure_delays(&p, 1000, "const");

	cr_assert_eq(s.min, 0.025);
	cr_assert_eq(s.max, 0.025);
}

Test(netem_dist, negative_draws_clamp_to_offer_time)
{
	/* delay 1ms +- 5ms: netem sends "negative" delays at once. */
	netem_link_params p = jittered(NETEM_DIST_UNIFORM, 0.001, 0.005);
	delay_stats s = measure_delays(&p, 10000, "clamp");

	cr_assert_eq(s.min, 0.0);
	cr_assert_gt(s.max, 0.0055);
}

Test(netem_dist, trace_replays_cyclically)
{
	static const double trace[] = {0.010, 0.020, 0.005};
	netem_link_params p;
	netem_link l;

	netem_link_params_init(&p);
	p.dist = NETEM_DIST_TRACE;
	p.trace = trace;
	p.trace_len = 3;
	p.delay = 1.0; /* unused under TRACE */
	netem_link_init(&l, &p, 1, "trace");
	for (int i = 0; i < 10; i++) {
		int64_t t = MS(100) * i, out[NETEM_OUT_MAX];

		cr_assert_eq(netem_link_offer(&l, t, 48, out), 1);
		cr_assert_eq(out[0] - t, (int64_t)llround(trace[i % 3] * 1e9), "packet %d", i);
	}
	netem_link_free(&l);
}

/* ------------------------------------------------------------ correlation */

Test(netem_corr, uniform_correlation_matches_netem_mixing)
{
	/* netem's get_crandom: u_n = (1-rho) U + rho u_{n-1}.  For the uniform
	 * distribution that gives lag-1 correlation rho, variance shrunk by
	 * (1-rho)/(1+rho) and successive differences E[(d_n - d_{n-1})^2] =
	 * (2/3) J^2 (1-rho)^2 / (1+rho). */
	const double rho = 0.5, j = 0.010;
	netem_link_params p = jittered(NETEM_DIST_UNIFORM, 0.050, j);
	delay_stats s0 = measure_delays(&p, N_STAT, "corr");
	delay_stats s1;

	p.delay_corr = rho;
	s1 = measure_delays(&p, N_STAT, "corr");
	assert_close(s0.mssd, 2.0 / 3.0 * j * j, 0.03 * 2.0 / 3.0 * j * j, "uncorrelated mssd");
	assert_close(s1.mssd, 2.0 / 3.0 * j * j * (1 - rho) * (1 - rho) / (1 + rho),
	             0.03 * 2.0 / 3.0 * j * j * 0.25 / 1.5, "correlated mssd");
	assert_close(s1.lag1, rho, 0.02, "lag-1 autocorrelation");
	assert_close(s0.lag1, 0.0, 0.02, "no correlation without corr");
	assert_close(s1.sd, j / sqrt(3.0) * sqrt((1 - rho) / (1 + rho)), 0.02 * j, "sd");
	assert_close(s1.mean, 0.050, 0.02 * j, "mean unchanged");
}

Test(netem_corr, normal_correlation_reduces_successive_differences)
{
	netem_link_params p = jittered(NETEM_DIST_NORMAL, 0.050, 0.010);
	delay_stats s0, s1, s2;

	s0 = measure_delays(&p, N_STAT, "ncorr");
	p.delay_corr = 0.25;
	s1 = measure_delays(&p, N_STAT, "ncorr");
	p.delay_corr = 0.75;
	s2 = measure_delays(&p, N_STAT, "ncorr");
	cr_assert_lt(s1.mssd, 0.75 * s0.mssd, "%g vs %g", s1.mssd, s0.mssd);
	cr_assert_lt(s2.mssd, 0.25 * s1.mssd, "%g vs %g", s2.mssd, s1.mssd);
	cr_assert_gt(s1.lag1, 0.2);
	cr_assert_gt(s2.lag1, 0.7);
}

/* ------------------------------------------------------------------- loss */

typedef struct loss_stats {
	double rate;         /* fraction of packets lost */
	double mean_burst;   /* packets per run of consecutive losses */
	double p_after_loss; /* P(loss | previous lost) */
} loss_stats;

static loss_stats
measure_loss(const netem_link_params *p, int n)
{
	netem_link_params q = *p;
	netem_link l;
	loss_stats s = {0, 0, 0};
	long lost = 0, bursts = 0, after_loss = 0, lost_after_loss = 0;
	bool prev = false;

	netem_link_init(&l, &q, 777, "loss");
	for (int i = 0; i < n; i++) {
		int64_t out[NETEM_OUT_MAX];
		bool now = netem_link_offer(&l, (int64_t)i * SPACING, 48, out) == 0;

		lost += now;
		bursts += now && !prev;
		after_loss += prev;
		lost_after_loss += prev && now;
		prev = now;
	}
	cr_assert_eq(l.dropped, (uint64_t)lost);
	s.rate = (double)lost / n;
	s.mean_burst = bursts > 0 ? (double)lost / bursts : 0;
	s.p_after_loss = after_loss > 0 ? (double)lost_after_loss / after_loss : 0;
	netem_link_free(&l);
	return s;
}

Test(netem_loss, random_loss_rate)
{
	netem_link_params p;
	loss_stats s;

	netem_link_params_init(&p);
	p.loss = 0.05;
	s = measure_loss(&p, N_STAT);
	assert_close(s.rate, 0.05, 0.003, "loss rate");
	assert_close(s.p_after_loss, 0.05, 0.01, "independent");
}

Test(netem_loss, random_loss_correlation_clusters)
{
	netem_link_params p;
	loss_stats s;

	netem_link_params_init(&p);
	p.loss = 0.5; /* symmetric, so the mixing keeps the marginal rate */
	p.loss_corr = 0.5;
	s = measure_loss(&p, N_STAT);
	assert_close(s.rate, 0.5, 0.01, "loss rate");
	cr_assert_gt(s.p_after_loss, 0.6, "P(loss | loss) = %g", s.p_after_loss);
}

Test(netem_loss, gilbert_elliott_bursts)
{
	/* Simple Gilbert: 1-h = 1, 1-k = 0, so losses are the bad state; its
	 * sojourn is geometric with mean 1/r; stationary P(bad) = p/(p+r). */
	netem_link_params p;
	loss_stats s;

	netem_link_params_init(&p);
	p.ge = true;
	p.ge_p = 0.01;
	p.ge_r = 0.25;
	p.ge_loss_bad = 1.0;
	p.ge_loss_good = 0.0;
	s = measure_loss(&p, 2 * N_STAT);
	assert_close(s.mean_burst, 1.0 / 0.25, 0.4, "mean burst length");
	assert_close(s.rate, 0.01 / 0.26, 0.005, "loss rate");
}

Test(netem_loss, gilbert_elliott_state_loss_probabilities)
{
	/* Loss = P(bad)(1-h) + P(good)(1-k) = 0.2*0.5 + 0.8*0.02. */
	netem_link_params p;
	loss_stats s;

	netem_link_params_init(&p);
	p.ge = true;
	p.ge_p = 0.1;
	p.ge_r = 0.4;
	p.ge_loss_bad = 0.5;
	p.ge_loss_good = 0.02;
	s = measure_loss(&p, 2 * N_STAT);
	assert_close(s.rate, 0.2 * 0.5 + 0.8 * 0.02, 0.006, "loss rate");
}

Test(netem_loss, gemodel_p_alone_is_bernoulli)
{
	netem_link_params p;
	loss_stats s;

	cr_assert_eq(netem_link_parse("loss gemodel 5%", &p, NULL, 0), 0);
	cr_assert(p.ge);
	cr_assert_float_eq(p.ge_r, 0.95, 1e-12, "tc default r = 1 - p");
	cr_assert_eq(p.ge_loss_bad, 1.0, "tc default 1-h = 1");
	cr_assert_eq(p.ge_loss_good, 0.0, "tc default 1-k = 0");
	s = measure_loss(&p, N_STAT);
	assert_close(s.rate, 0.05, 0.003, "loss rate");
	assert_close(s.p_after_loss, 0.05, 0.01, "no bursts");
}

Test(netem_loss, down_drops_everything)
{
	netem_link_params p = jittered(NETEM_DIST_NORMAL, 0.010, 0.002);
	netem_link l;

	p.down = true;
	netem_link_init(&l, &p, 1, "down");
	for (int i = 0; i < 1000; i++) {
		int64_t out[NETEM_OUT_MAX];

		cr_assert_eq(netem_link_offer(&l, MS(i), 48, out), 0);
	}
	cr_assert_eq(l.offered, 1000);
	cr_assert_eq(l.dropped, 1000);
	cr_assert_eq(l.delivered, 0);
	p.down = false;
	netem_link_set(&l, &p);
	{
		int64_t out[NETEM_OUT_MAX];

		cr_assert_eq(netem_link_offer(&l, MS(2000), 48, out), 1, "back up after set()");
	}
	netem_link_free(&l);
}

/* ------------------------------------------------- duplication, reordering */

Test(netem_dup, duplicate_rate)
{
	netem_link_params p;
	netem_link l;
	long twos = 0;

	netem_link_params_init(&p);
	p.delay = 0.010;
	p.duplicate = 0.10;
	netem_link_init(&l, &p, 5, "dup");
	for (int i = 0; i < N_STAT; i++) {
		int64_t t = (int64_t)i * SPACING, out[NETEM_OUT_MAX];
		int n = netem_link_offer(&l, t, 48, out);

		cr_assert(n == 1 || n == 2);
		twos += n == 2;
		for (int k = 0; k < n; k++) {
			cr_assert_eq(out[k], t + MS(10));
		}
	}
	assert_close((double)twos / N_STAT, 0.10, 0.004, "duplicate fraction");
	cr_assert_eq(l.duplicated, (uint64_t)twos);
	cr_assert_eq(l.delivered, l.offered + l.duplicated);
	netem_link_free(&l);
}

Test(netem_dup, duplicate_with_loss_follows_netem_enqueue)
{
	/* netem_enqueue(): one loss test for the packet takes one of two copies
	 * away; an intact pair's clone is tested again.  So P(0 copies) =
	 * (1-D)L and P(2 copies) = D(1-L)^2. */
	const double dup = 0.2, loss = 0.3;
	netem_link_params p;
	netem_link l;
	long count[3] = {0, 0, 0};

	netem_link_params_init(&p);
	p.duplicate = dup;
	p.loss = loss;
	netem_link_init(&l, &p, 9, "duploss");
	for (int i = 0; i < N_STAT; i++) {
		int64_t out[NETEM_OUT_MAX];

		count[netem_link_offer(&l, (int64_t)i * SPACING, 48, out)]++;
	}
	assert_close((double)count[0] / N_STAT, (1 - dup) * loss, 0.006, "no copy");
	assert_close((double)count[2] / N_STAT, dup * (1 - loss) * (1 - loss), 0.006, "two");
	cr_assert_eq(l.offered + l.duplicated, l.delivered + l.dropped);
	netem_link_free(&l);
}

Test(netem_reorder, fraction_sent_immediately)
{
	netem_link_params p;
	netem_link l;
	long immediate = 0;

	netem_link_params_init(&p);
	p.delay = 0.010;
	p.reorder = 0.25;
	netem_link_init(&l, &p, 3, "reorder");
	for (int i = 0; i < N_STAT; i++) {
		int64_t t = (int64_t)i * MS(1), out[NETEM_OUT_MAX];

		cr_assert_eq(netem_link_offer(&l, t, 48, out), 1);
		cr_assert(out[0] == t || out[0] == t + MS(10));
		immediate += out[0] == t;
	}
	assert_close((double)immediate / N_STAT, 0.25, 0.006, "reordered fraction");
	cr_assert_eq(l.reordered, (uint64_t)immediate);
	netem_link_free(&l);
}

Test(netem_reorder, gap_with_certainty_reorders_every_nth)
{
	netem_link_params p;
	netem_link l;

	cr_assert_eq(netem_link_parse("delay 10ms reorder 100% gap 5", &p, NULL, 0), 0);
	netem_link_init(&l, &p, 3, "gap");
	for (int i = 0; i < 100; i++) {
		int64_t t = (int64_t)i * MS(1), out[NETEM_OUT_MAX];

		cr_assert_eq(netem_link_offer(&l, t, 48, out), 1);
		/* The 5th, 10th, ... packet overtakes the four delayed before it. */
		cr_assert_eq(out[0] == t, i % 5 == 4, "packet %d", i);
	}
	netem_link_free(&l);
}

Test(netem_reorder, gap_with_probability)
{
	/* After gap-1 delayed packets, each is reordered with P = 0.5: a cycle
	 * is 4 + 1/P packets long with one reordered, so 1/6 of them. */
	netem_link_params p;
	netem_link l;
	long immediate = 0;

	cr_assert_eq(netem_link_parse("delay 10ms reorder 50% gap 5", &p, NULL, 0), 0);
	netem_link_init(&l, &p, 3, "gap50");
	for (int i = 0; i < N_STAT; i++) {
		int64_t t = (int64_t)i * MS(1), out[NETEM_OUT_MAX];

		netem_link_offer(&l, t, 48, out);
		immediate += out[0] == t;
	}
	assert_close((double)immediate / N_STAT, 1.0 / 6.0, 0.006, "reordered fraction");
	netem_link_free(&l);
}

Test(netem_reorder, jitter_alone_reorders_like_netem_tfifo)
{
	netem_link_params p = jittered(NETEM_DIST_UNIFORM, 0.010, 0.005);
	netem_link l;
	int64_t prev = INT64_MIN;
	int overtaken = 0;

	netem_link_init(&l, &p, 3, "tfifo");
	for (int i = 0; i < 1000; i++) {
		int64_t out[NETEM_OUT_MAX];

		netem_link_offer(&l, (int64_t)i * MS(1), 48, out);
		overtaken += out[0] < prev;
		prev = out[0];
	}
	cr_assert_gt(overtaken, 100, "packets 1 ms apart with +-5 ms jitter pass each other");
	cr_assert_eq(l.reordered, 0, "that is not the reorder rule");
	netem_link_free(&l);
}

/* ------------------------------------------------------------------- rate */

Test(netem_rate, back_to_back_packets_spaced_by_size_over_rate)
{
	netem_link_params p;
	netem_link l;

	cr_assert_eq(netem_link_parse("delay 10ms rate 1mbit", &p, NULL, 0), 0);
	netem_link_init(&l, &p, 1, "rate");
	for (int i = 0; i < 10; i++) {
		int64_t out[NETEM_OUT_MAX];

		/* 125 bytes * 8 / 1 Mbit/s = 1 ms each, all offered at t = 0. */
		cr_assert_eq(netem_link_offer(&l, 0, 125, out), 1);
		cr_assert_eq(out[0], MS(10) + MS(1) * (i + 1), "packet %d at %lld", i,
		             (long long)out[0]);
	}
	{
		int64_t out[NETEM_OUT_MAX];

		/* After the queue drained, only delay + own transmission time. */
		netem_link_offer(&l, MS(1000), 1250, out);
		cr_assert_eq(out[0], MS(1000) + MS(10) + MS(10));
	}
	netem_link_free(&l);
}

Test(netem_rate, cells_and_overheads_as_in_the_man_page)
{
	/* ATM: 48-byte cells, 5 bytes per cell; a 50-byte packet takes two
	 * cells = 106 bytes; at 8 kbit/s (1000 bytes/s) that is 106 ms. */
	netem_link_params p;
	netem_link l;
	int64_t out[NETEM_OUT_MAX];

	cr_assert_eq(netem_link_parse("rate 8kbit 0 48 5", &p, NULL, 0), 0);
	cr_assert_eq(p.rate_cellsize, 48);
	cr_assert_eq(p.rate_celloverhead, 5);
	netem_link_init(&l, &p, 1, "atm");
	netem_link_offer(&l, 0, 50, out);
	cr_assert_eq(out[0], MS(106));
	p.rate_overhead = 47; /* 97 bytes: three cells */
	netem_link_set(&l, &p);
	netem_link_offer(&l, MS(10000), 50, out);
	cr_assert_eq(out[0], MS(10000) + MS(159));
	p.rate_overhead = -14; /* strip Ethernet: 36 bytes, one cell */
	netem_link_set(&l, &p);
	netem_link_offer(&l, MS(20000), 50, out);
	cr_assert_eq(out[0], MS(20000) + MS(53));
	netem_link_free(&l);
}

Test(netem_rate, rate_keeps_fifo_order_despite_jitter)
{
	netem_link_params p = jittered(NETEM_DIST_UNIFORM, 0.010, 0.005);
	netem_link l;
	int64_t prev = INT64_MIN;

	p.rate = 10e6;
	netem_link_init(&l, &p, 3, "ratefifo");
	for (int i = 0; i < 1000; i++) {
		int64_t out[NETEM_OUT_MAX];

		netem_link_offer(&l, (int64_t)i * MS(1), 100, out);
		cr_assert_geq(out[0], prev, "the rate queue is first in, first out");
		prev = out[0];
	}
	netem_link_free(&l);
}

/* -------------------------------------------- streams, set(), determinism */

static netem_link_params
everything(void)
{
	netem_link_params p = jittered(NETEM_DIST_PARETONORMAL, 0.020, 0.005);

	p.delay_corr = 0.25;
	p.loss = 0.05;
	p.duplicate = 0.05;
	p.reorder = 0.1;
	p.reorder_gap = 3;
	p.rate = 2e6;
	return p;
}

/* Offer n packets 1 ms apart; out gets 2 slots per packet (-1 = none). */
static void
run(netem_link *l, int from, int n, int64_t *arrivals)
{
	for (int i = from; i < from + n; i++) {
		int64_t out[NETEM_OUT_MAX];
		int k = netem_link_offer(l, (int64_t)i * MS(1), 90, out);

		arrivals[2 * i] = k > 0 ? out[0] : -1;
		arrivals[2 * i + 1] = k > 1 ? out[1] : -1;
		for (int j = 0; j < k; j++) {
			cr_assert_geq(out[j], (int64_t)i * MS(1), "never before the offer");
		}
		cr_assert(k < 2 || out[0] <= out[1], "earliest first");
	}
}

Test(netem_determinism, same_seed_and_name_same_sequence)
{
	netem_link_params p = everything();
	netem_link a, b, c, d;
	static int64_t ra[20000], rb[20000], rc[20000], rd[20000];

	netem_link_init(&a, &p, 42, "a->b");
	netem_link_init(&b, &p, 42, "a->b");
	netem_link_init(&c, &p, 42, "b->a");
	netem_link_init(&d, &p, 43, "a->b");
	run(&a, 0, 10000, ra);
	run(&b, 0, 10000, rb);
	run(&c, 0, 10000, rc);
	run(&d, 0, 10000, rd);
	cr_assert_eq(memcmp(ra, rb, sizeof ra), 0);
	cr_assert_neq(memcmp(ra, rc, sizeof ra), 0, "another name, other numbers");
	cr_assert_neq(memcmp(ra, rd, sizeof ra), 0, "another seed, other numbers");
	cr_assert_eq(a.offered + a.duplicated, a.delivered + a.dropped);
	cr_assert_gt(a.dropped, 0);
	cr_assert_gt(a.duplicated, 0);
	cr_assert_gt(a.reordered, 0);
	netem_link_free(&a);
	netem_link_free(&b);
	netem_link_free(&c);
	netem_link_free(&d);
}

Test(netem_determinism, set_keeps_streams)
{
	netem_link_params p = everything();
	netem_link a, b;
	static int64_t ra[20000], rb[20000];

	p.reorder = 0; /* set() restarts the gap counter, as the kernel does */
	netem_link_init(&a, &p, 7, "x");
	netem_link_init(&b, &p, 7, "x");
	run(&a, 0, 5000, ra);
	netem_link_set(&a, &p);
	run(&a, 5000, 5000, ra);
	run(&b, 0, 10000, rb);
	cr_assert_eq(memcmp(ra, rb, sizeof ra), 0);
	cr_assert_eq(a.offered, 10000, "counters kept");
	netem_link_free(&a);
	netem_link_free(&b);
}

Test(netem_determinism, adding_impairments_keeps_the_delay_sequence)
{
	/* One delay draw per packet whatever happens to it, and duplicates
	 * draw from their own stream: switching on loss, duplication and
	 * reordering leaves every surviving original's delay as it was. */
	netem_link_params plain = jittered(NETEM_DIST_NORMAL, 0.050, 0.010);
	netem_link_params worse = plain;
	netem_link a, b;
	int compared = 0;

	plain.delay_corr = worse.delay_corr = 0.3;
	worse.loss = 0.2;
	worse.duplicate = 0.1;
	worse.reorder = 0.1;
	netem_link_init(&a, &plain, 99, "path");
	netem_link_init(&b, &plain, 99, "path");
	for (int i = 0; i < 20000; i++) {
		int64_t t = (int64_t)i * SPACING, oa[NETEM_OUT_MAX], ob[NETEM_OUT_MAX];
		int nb;

		if (i == 100) {
			netem_link_set(&b, &worse);
		}
		cr_assert_eq(netem_link_offer(&a, t, 48, oa), 1);
		nb = netem_link_offer(&b, t, 48, ob);
		if (nb > 0 && ob[0] != t) {
			cr_assert(ob[0] == oa[0] || (nb == 2 && ob[1] == oa[0]), "packet %d", i);
			compared++;
		}
	}
	cr_assert_gt(compared, 10000);
	cr_assert_gt(b.dropped, 3000);
	netem_link_free(&a);
	netem_link_free(&b);
}

/* --------------------------------------------------------- parse / format */

static void
assert_params_equal(const netem_link_params *a, const netem_link_params *b, const char *spec)
{
	cr_assert_eq(a->delay, b->delay, "%s: delay", spec);
	cr_assert_eq(a->jitter, b->jitter, "%s: jitter", spec);
	cr_assert_eq(a->delay_corr, b->delay_corr, "%s: delay_corr", spec);
	cr_assert_eq(a->dist, b->dist, "%s: dist", spec);
	cr_assert_eq(a->loss, b->loss, "%s: loss", spec);
	cr_assert_eq(a->loss_corr, b->loss_corr, "%s: loss_corr", spec);
	cr_assert_eq(a->ge, b->ge, "%s: ge", spec);
	cr_assert_eq(a->ge_p, b->ge_p, "%s: ge_p", spec);
	cr_assert_eq(a->ge_r, b->ge_r, "%s: ge_r", spec);
	cr_assert_eq(a->ge_loss_bad, b->ge_loss_bad, "%s: ge_loss_bad", spec);
	cr_assert_eq(a->ge_loss_good, b->ge_loss_good, "%s: ge_loss_good", spec);
	cr_assert_eq(a->duplicate, b->duplicate, "%s: duplicate", spec);
	cr_assert_eq(a->duplicate_corr, b->duplicate_corr, "%s: duplicate_corr", spec);
	cr_assert_eq(a->reorder, b->reorder, "%s: reorder", spec);
	cr_assert_eq(a->reorder_corr, b->reorder_corr, "%s: reorder_corr", spec);
	cr_assert_eq(a->reorder_gap, b->reorder_gap, "%s: gap", spec);
	cr_assert_eq(a->rate, b->rate, "%s: rate", spec);
	cr_assert_eq(a->rate_overhead, b->rate_overhead, "%s: overhead", spec);
	cr_assert_eq(a->rate_cellsize, b->rate_cellsize, "%s: cellsize", spec);
	cr_assert_eq(a->rate_celloverhead, b->rate_celloverhead, "%s: celloverhead", spec);
	cr_assert_eq(a->limit, b->limit, "%s: limit", spec);
}

Test(netem_parse, brief_example_fields)
{
	netem_link_params p;
	char err[160] = "";

	cr_assert_eq(netem_link_parse("delay 20ms 5ms 25% distribution normal loss 5% duplicate 1% "
	                              "reorder 25% 50% gap 5 rate 1mbit",
	                              &p, err, sizeof err),
	             0, "%s", err);
	cr_assert_eq(p.delay, 0.020);
	cr_assert_eq(p.jitter, 0.005);
	cr_assert_eq(p.delay_corr, 0.25);
	cr_assert_eq(p.dist, NETEM_DIST_NORMAL);
	cr_assert_eq(p.loss, 0.05);
	cr_assert_not(p.ge);
	cr_assert_eq(p.duplicate, 0.01);
	cr_assert_eq(p.reorder, 0.25);
	cr_assert_eq(p.reorder_corr, 0.5);
	cr_assert_eq(p.reorder_gap, 5);
	cr_assert_eq(p.rate, 1e6);
	cr_assert_not(p.down);
}

Test(netem_parse, units_and_aliases)
{
	static const struct {
		const char *spec;
		double delay, rate;
	} cases[] = {
	        {"delay 1s", 1.0, 0},           {"delay 2sec", 2.0, 0},
	        {"delay 1500us", 0.0015, 0},    {"latency 20msec", 0.020, 0},
	        {"delay 250000ns", 0.00025, 0}, {"delay 0.5MS", 0.0005, 0},
	        {"rate 100kbit", 0, 1e5},       {"rate 1kbps", 0, 8000},
	        {"rate 1gbit", 0, 1e9},         {"rate 1kibit", 0, 1024},
	        {"rate 300bit", 0, 300},        {"rate 2Mbit", 0, 2e6},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		netem_link_params p;
		char err[160] = "";

		cr_assert_eq(netem_link_parse(cases[i].spec, &p, err, sizeof err), 0, "%s: %s",
		             cases[i].spec, err);
		cr_assert_float_eq(p.delay, cases[i].delay, 1e-15, "%s", cases[i].spec);
		cr_assert_float_eq(p.rate, cases[i].rate, 1e-6, "%s", cases[i].spec);
	}
}

Test(netem_parse, loss_forms)
{
	netem_link_params p;

	cr_assert_eq(netem_link_parse("drop 3%", &p, NULL, 0), 0);
	cr_assert_eq(p.loss, 0.03);
	cr_assert_eq(netem_link_parse("loss random 3% 25%", &p, NULL, 0), 0);
	cr_assert_eq(p.loss, 0.03);
	cr_assert_eq(p.loss_corr, 0.25);
	cr_assert_eq(netem_link_parse("loss gemodel 1% 10% 70% 0.1%", &p, NULL, 0), 0);
	cr_assert(p.ge);
	cr_assert_eq(p.ge_p, 0.01);
	cr_assert_eq(p.ge_r, 0.10);
	cr_assert_eq(p.ge_loss_bad, 0.70);
	cr_assert_eq(p.ge_loss_good, 0.001);
	cr_assert_eq(netem_link_parse("  \t\n ", &p, NULL, 0), 0, "blank = no impairment");
	cr_assert_eq(p.delay, 0.0);
	cr_assert_eq(p.loss, 0.0);
	cr_assert_eq(p.dist, NETEM_DIST_UNIFORM, "tc's default without 'distribution'");
}

Test(netem_parse, format_is_canonical_tc)
{
	static const struct {
		const char *spec, *tc;
	} cases[] = {
	        {"delay 20ms 5ms 25% distribution normal loss 5% duplicate 1% reorder 25% 50% gap "
	         "5 "
	         "rate 1mbit",
	         "delay 20ms 5ms 25% distribution normal loss random 5% duplicate 1% reorder 25% "
	         "50% "
	         "gap 5 rate 1mbit"},
	        {"", ""},
	        {"delay 1.5s", "delay 1.5s"},
	        {"delay 100us 20us", "delay 100us 20us"},
	        {"delay 20ms 5ms distribution uniform", "delay 20ms 5ms"},
	        {"delay 20ms 5ms distribution constant", "delay 20ms"},
	        {"delay 10ms 4ms distribution exponential",
	         "delay 10ms 4ms distribution exponential"},
	        {"loss gemodel 5%", "loss gemodel 5% 95% 100% 0%"},
	        {"rate 5kbit 20 100 5", "rate 5kbit 20 100 5"},
	        {"rate 5kbit -14", "rate 5kbit -14"},
	        {"limit 1000 duplicate 2% 10%", "duplicate 2% 10% limit 1000"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		netem_link_params p;
		char buf[256], err[160] = "";
		size_t n;

		cr_assert_eq(netem_link_parse(cases[i].spec, &p, err, sizeof err), 0, "%s: %s",
		             cases[i].spec, err);
		n = netem_link_format_tc(&p, buf, sizeof buf);
		cr_assert_str_eq(buf, cases[i].tc, "%s", cases[i].spec);
		cr_assert_eq(n, strlen(cases[i].tc));
	}
}

Test(netem_parse, round_trip)
{
	static const char *const specs[] = {
	        "delay 20ms 5ms 25% distribution normal loss 5% duplicate 1% reorder 25% 50% gap 5 "
	        "rate 1mbit",
	        "delay 0.1ms 0.03ms 33.3% distribution pareto",
	        "delay 123.456789ms 7.654321ms distribution paretonormal",
	        "delay 2s 300ms distribution exponential",
	        "delay 17us 3us 1%",
	        "loss random 0.3% 12.5%",
	        "loss gemodel 1% 10% 70% 0.1%",
	        "duplicate 0.01% 99.99%",
	        "delay 1ms reorder 100% gap 7",
	        "rate 1.544mbit 4 53 -5 limit 50",
	        "rate 12345bit",
	        "rate 2.5gbit",
	};

	for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
		netem_link_params p1, p2;
		char f1[256], f2[256], err[160] = "";

		cr_assert_eq(netem_link_parse(specs[i], &p1, err, sizeof err), 0, "%s: %s",
		             specs[i], err);
		netem_link_format_tc(&p1, f1, sizeof f1);
		cr_assert_eq(netem_link_parse(f1, &p2, err, sizeof err), 0, "%s -> %s: %s",
		             specs[i], f1, err);
		assert_params_equal(&p1, &p2, specs[i]);
		netem_link_format_tc(&p2, f2, sizeof f2);
		cr_assert_str_eq(f1, f2);
	}
}

Test(netem_parse, format_of_api_only_settings)
{
	static const double trace[] = {0.010, 0.030};
	netem_link_params p;
	char buf[256];

	netem_link_params_init(&p);
	cr_assert_eq(netem_link_format_tc(&p, buf, sizeof buf), 0);
	cr_assert_str_eq(buf, "");
	p.delay = 0.020;
	p.down = true;
	netem_link_format_tc(&p, buf, sizeof buf);
	cr_assert_str_eq(buf, "loss 100%", "a partition drops all, as loss 100% does");
	p.down = false;
	p.dist = NETEM_DIST_TRACE;
	p.trace = trace;
	p.trace_len = 2;
	netem_link_format_tc(&p, buf, sizeof buf);
	cr_assert_str_eq(buf, "delay 20ms 10ms distribution normal", "trace mean and sd");
}

Test(netem_parse, format_truncates_like_snprintf)
{
	netem_link_params p;
	char small[8];
	size_t n;

	cr_assert_eq(netem_link_parse("delay 20ms 5ms loss 5%", &p, NULL, 0), 0);
	n = netem_link_format_tc(&p, small, sizeof small);
	cr_assert_eq(n, strlen("delay 20ms 5ms loss random 5%"));
	cr_assert_str_eq(small, "delay 2");
	cr_assert_eq(netem_link_format_tc(&p, NULL, 0), n);
}

Test(netem_parse, every_error_names_the_word)
{
	static const struct {
		const char *spec, *msg;
	} cases[] = {
	        {"delay",
	         "netem: 'delay' expects a time like 20ms (units ns, us, ms, s), got nothing"},
	        {"delay 20",
	         "netem: 'delay' expects a time like 20ms (units ns, us, ms, s), got '20'"},
	        {"delay -5ms", "netem: 'delay' expects a time like 20ms (units ns, us, ms, s), "
	                       "got '-5ms'"},
	        {"delay abc", "netem: 'delay' expects a time like 20ms (units ns, us, ms, s), "
	                      "got 'abc'"},
	        {"delay 20ms 5",
	         "netem: 'delay' jitter expects a time like 20ms (units ns, us, ms, "
	         "s), got '5'"},
	        {"delay 20ms 5ms 25", "netem: 'delay' correlation expects a percentage from 0% to "
	                              "100%, got '25'"},
	        {"distribution gauss", "netem: 'distribution' expects "
	                               "normal|pareto|paretonormal|uniform|exponential|constant, "
	                               "got 'gauss'"},
	        {"distribution", "netem: 'distribution' expects "
	                         "normal|pareto|paretonormal|uniform|exponential|constant, got "
	                         "nothing"},
	        {"delay 20ms distribution normal",
	         "netem: 'distribution normal' needs a delay and a jitter (delay TIME JITTER)"},
	        {"loss", "netem: 'loss' expects random PERCENT, gemodel P or a percentage, got "
	                 "nothing"},
	        {"loss bogus",
	         "netem: 'loss' expects random PERCENT, gemodel P or a percentage, got "
	         "'bogus'"},
	        {"loss 150%", "netem: 'loss' expects a percentage from 0% to 100%, got '150%'"},
	        {"loss 5", "netem: 'loss' expects a percentage from 0% to 100%, got '5'"},
	        {"loss 5% 1", "netem: 'loss' correlation expects a percentage from 0% to 100%, got "
	                      "'1'"},
	        {"loss random", "netem: 'loss random' expects a percentage from 0% to 100%, got "
	                        "nothing"},
	        {"loss state 5%", "netem: 'loss state' (4-state model) is not supported, use 'loss "
	                          "gemodel'"},
	        {"loss 1% loss 2%", "netem: 'loss' given twice"},
	        {"loss gemodel",
	         "netem: 'loss gemodel' p expects a percentage from 0% to 100%, got "
	         "nothing"},
	        {"loss gemodel 1% x%", "netem: unknown word 'x%'"},
	        {"loss gemodel 1% 2x",
	         "netem: 'loss gemodel' r expects a percentage from 0% to 100%, "
	         "got '2x'"},
	        {"loss gemodel 1% 10% 1", "netem: 'loss gemodel' 1-h expects a percentage from 0% "
	                                  "to 100%, got '1'"},
	        {"loss gemodel 1% 10% 70% 200%", "netem: 'loss gemodel' 1-k expects a percentage "
	                                         "from 0% to 100%, got '200%'"},
	        {"duplicate 1", "netem: 'duplicate' expects a percentage from 0% to 100%, got '1'"},
	        {"duplicate 1% 2", "netem: 'duplicate' correlation expects a percentage from 0% to "
	                           "100%, got '2'"},
	        {"delay 1ms reorder x",
	         "netem: 'reorder' expects a percentage from 0% to 100%, got "
	         "'x'"},
	        {"delay 1ms reorder 5% 9", "netem: 'reorder' correlation expects a percentage from "
	                                   "0% to 100%, got '9'"},
	        {"reorder 25%", "netem: 'reorder' needs a 'delay' (reordered packets are the ones "
	                        "sent without it)"},
	        {"delay 10ms gap 5", "netem: 'gap' needs a 'reorder' probability"},
	        {"delay 10ms reorder 25% gap x", "netem: 'gap' expects an integer from 0 to "
	                                         "1000000000, got 'x'"},
	        {"rate",
	         "netem: 'rate' expects a rate like 1mbit (bit, kbit, mbit, gbit, tbit, bps), "
	         "got nothing"},
	        {"rate 1", "netem: 'rate' expects a rate like 1mbit (bit, kbit, mbit, gbit, tbit, "
	                   "bps), got '1'"},
	        {"rate 5furlongs",
	         "netem: 'rate' expects a rate like 1mbit (bit, kbit, mbit, gbit, "
	         "tbit, bps), got '5furlongs'"},
	        {"rate 1mbit 2x", "netem: 'rate' packet overhead expects an integer from -65535 to "
	                          "65535, got '2x'"},
	        {"rate 1mbit 20 48x", "netem: 'rate' cell size expects an integer from 0 to 65535, "
	                              "got '48x'"},
	        {"rate 1mbit 20 48 5y",
	         "netem: 'rate' cell overhead expects an integer from -65535 "
	         "to 65535, got '5y'"},
	        {"limit -1", "netem: 'limit' expects an integer from 0 to 1000000000, got '-1'"},
	        {"corrupt 1%", "netem: 'corrupt' is not supported by ntplab's netem model"},
	        {"loss 1% ecn", "netem: 'ecn' is not supported by ntplab's netem model"},
	        {"slot 1ms", "netem: 'slot' is not supported by ntplab's netem model"},
	        {"seed 5", "netem: 'seed' is not supported by ntplab's netem model"},
	        {"delay 10ms frobnicate", "netem: unknown word 'frobnicate'"},
	        {"delay 1234567890123456789012345678901234567890123456789012345678901234567890ms",
	         "netem: 'delay' expects a time like 20ms (units ns, us, ms, s), got "
	         "'1234567890123456789012345678901234567890'"},
	        {"delay infms",
	         "netem: 'delay' expects a time like 20ms (units ns, us, ms, s), got "
	         "'infms'"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		netem_link_params p, before;
		char err[200] = "";

		netem_link_params_init(&p);
		p.delay = 0.777;
		before = p;
		cr_assert_eq(netem_link_parse(cases[i].spec, &p, err, sizeof err), -1, "%s",
		             cases[i].spec);
		cr_assert_str_eq(err, cases[i].msg, "spec '%s'", cases[i].spec);
		cr_assert_eq(memcmp(&p, &before, sizeof p), 0, "%s: p unchanged", cases[i].spec);
		/* No error buffer is fine too. */
		cr_assert_eq(netem_link_parse(cases[i].spec, &p, NULL, 0), -1);
	}
	{
		char err[64] = "";
		netem_link_params p;

		cr_assert_eq(netem_link_parse(NULL, &p, err, sizeof err), -1);
		cr_assert_str_eq(err, "netem: no spec");
	}
}

Test(netem_params, check_reports_bad_values_and_links_survive_them)
{
	static const double bad_trace[] = {0.01, -1.0};
	netem_link_params p;
	netem_link l;
	char err[160];

	netem_link_params_init(&p);
	cr_assert_eq(netem_link_params_check(&p, err, sizeof err), 0);
	p.delay = NAN;
	cr_assert_eq(netem_link_params_check(&p, err, sizeof err), -1);
	cr_assert(strstr(err, "delay") != NULL, "%s", err);
	netem_link_params_init(&p);
	p.loss = 1.5;
	cr_assert_eq(netem_link_params_check(&p, err, sizeof err), -1);
	cr_assert_str_eq(err, "netem: loss must be 0..1 (0..100%), got 1.5");
	netem_link_params_init(&p);
	p.dist = 99;
	cr_assert_eq(netem_link_params_check(&p, err, sizeof err), -1);
	cr_assert_str_eq(err, "netem: unknown distribution 99");
	p.dist = NETEM_DIST_TRACE;
	cr_assert_eq(netem_link_params_check(&p, err, sizeof err), -1);
	cr_assert_str_eq(err, "netem: distribution trace needs a non-empty trace");
	p.trace = bad_trace;
	p.trace_len = 2;
	cr_assert_eq(netem_link_params_check(&p, err, sizeof err), -1);
	cr_assert_str_eq(err, "netem: trace[1] must be 0..1e+06 s, got -1");
	netem_link_params_init(&p);
	p.rate = -5;
	cr_assert_eq(netem_link_params_check(&p, err, sizeof err), -1);
	cr_assert(strstr(err, "rate") != NULL, "%s", err);

	/* Whatever the values, offering never crashes and never goes back in time. */
	netem_link_params_init(&p);
	p.delay = NAN;
	p.jitter = INFINITY;
	p.loss = -3;
	p.duplicate = 7;
	p.dist = 42;
	p.rate = NAN;
	p.reorder_gap = -9;
	netem_link_init(&l, &p, 0, NULL);
	for (int i = 0; i < 100; i++) {
		int64_t out[NETEM_OUT_MAX];
		int n = netem_link_offer(&l, INT64_MAX - 5, 48, out);

		for (int k = 0; k < n; k++) {
			cr_assert_geq(out[k], INT64_MAX - 5);
		}
	}
	p.dist = NETEM_DIST_TRACE;
	p.trace = bad_trace;
	p.trace_len = 2;
	netem_link_set(&l, &p);
	for (int i = 0; i < 10; i++) {
		int64_t out[NETEM_OUT_MAX];

		cr_assert_eq(netem_link_offer(&l, 0, 48, out), 2, "duplicate clamps to 100%%");
		cr_assert_geq(out[0], 0);
	}
	netem_link_free(&l);
}

Test(netem_params, stats_helpers)
{
	netem_link_params p = jittered(NETEM_DIST_NORMAL, 0.030, 0.004);
	netem_link l;

	netem_link_init(&l, &p, 3, "stats");
	cr_assert_eq(netem_link_delay_mean(&l), 0.0);
	for (int i = 0; i < 20000; i++) {
		int64_t out[NETEM_OUT_MAX];

		netem_link_offer(&l, (int64_t)i * SPACING, 48, out);
	}
	assert_close(netem_link_delay_mean(&l), 0.030, 0.0002, "mean");
	assert_close(netem_link_delay_sd(&l), 0.004, 0.0002, "sd");
	cr_assert_str_eq(netem_dist_name(NETEM_DIST_PARETONORMAL), "paretonormal");
	cr_assert_str_eq(netem_dist_name(-1), "?");
	netem_link_free(&l);
}

/* --------------------------------------------------------------- firewall */

static ntp_addr
addr(const char *s)
{
	ntp_addr a;

	cr_assert(ntp_addr_parse(s, &a), "%s", s);
	return a;
}

static netem_fw_rule
rule(const char *name, const char *net, int prefix, uint16_t dport, int action)
{
	netem_fw_rule r;

	memset(&r, 0, sizeof r);
	snprintf(r.name, sizeof r.name, "%s", name);
	if (net != NULL) {
		r.src = addr(net);
		r.src_mask = ntp_addr_mask_from_prefix(r.src.family, prefix);
	}
	r.proto = NETEM_FW_PROTO_UDP;
	r.dport = dport;
	r.action = action;
	r.enabled = true;
	return r;
}

Test(netem_fw, first_match_wins)
{
	netem_fw_rule rules[] = {
	        rule("lan-ntp", "192.168.1.0", 24, 123, NETEM_FW_ACCEPT),
	        rule("block-ntp", NULL, 0, 123, NETEM_FW_DROP),
	        rule("reject-ntp", NULL, 0, 123, NETEM_FW_REJECT),
	};
	ntp_addr lan = addr("192.168.1.5"), wan = addr("10.1.2.3"), srv = addr("192.168.1.1");
	const netem_fw_rule *hit;

	cr_assert_eq(netem_fw_eval(rules, 3, &lan, &srv, 17, 40000, 123, &hit), NETEM_FW_ACCEPT);
	cr_assert_eq(hit, &rules[0]);
	cr_assert_eq(netem_fw_eval(rules, 3, &wan, &srv, 17, 40000, 123, &hit), NETEM_FW_DROP);
	cr_assert_eq(hit, &rules[1], "the earlier of two matching rules");
	cr_assert_eq(netem_fw_eval(rules, 3, &wan, &srv, 17, 40000, 53, &hit), NETEM_FW_ACCEPT);
	cr_assert_null(hit, "no match: accept, no rule");
	cr_assert_eq(netem_fw_eval(rules, 3, &wan, &srv, 17, 40000, 123, NULL), NETEM_FW_DROP);
	cr_assert_str_eq(netem_fw_action_name(NETEM_FW_REJECT), "reject");
	cr_assert_str_eq(netem_fw_action_name(9), "?");
}

Test(netem_fw, disabled_rules_are_skipped)
{
	netem_fw_rule rules[] = {
	        rule("lan-ntp", "192.168.1.0", 24, 123, NETEM_FW_ACCEPT),
	        rule("block-ntp", NULL, 0, 123, NETEM_FW_DROP),
	};
	ntp_addr lan = addr("192.168.1.5"), srv = addr("192.168.1.1");
	const netem_fw_rule *hit;

	rules[0].enabled = false;
	cr_assert_eq(netem_fw_eval(rules, 2, &lan, &srv, 17, 123, 123, &hit), NETEM_FW_DROP);
	cr_assert_eq(hit, &rules[1]);
	rules[1].enabled = false;
	cr_assert_eq(netem_fw_eval(rules, 2, &lan, &srv, 17, 123, 123, &hit), NETEM_FW_ACCEPT);
	cr_assert_null(hit);
	cr_assert_eq(netem_fw_eval(NULL, 0, &lan, &srv, 17, 123, 123, &hit), NETEM_FW_ACCEPT);
}

Test(netem_fw, any_fields_match_everything)
{
	netem_fw_rule all;
	ntp_addr v4 = addr("203.0.113.9"), v6 = addr("2001:db8::1");

	memset(&all, 0, sizeof all);
	all.action = NETEM_FW_REJECT;
	all.enabled = true;
	cr_assert_eq(netem_fw_eval(&all, 1, &v4, &v6, 6, 1, 2, NULL), NETEM_FW_REJECT);
	cr_assert_eq(netem_fw_eval(&all, 1, &v6, &v4, 17, 123, 123, NULL), NETEM_FW_REJECT);
	all.proto = 6; /* TCP only */
	cr_assert_eq(netem_fw_eval(&all, 1, &v4, &v6, 17, 123, 123, NULL), NETEM_FW_ACCEPT);
	all.proto = 0;
	all.sport = 123;
	cr_assert_eq(netem_fw_eval(&all, 1, &v4, &v6, 17, 40000, 123, NULL), NETEM_FW_ACCEPT);
	cr_assert_eq(netem_fw_eval(&all, 1, &v4, &v6, 17, 123, 40000, NULL), NETEM_FW_REJECT);
}

Test(netem_fw, subnets_hosts_and_families)
{
	netem_fw_rule r4 = rule("ten", "10.0.0.0", 8, 0, NETEM_FW_DROP);
	netem_fw_rule r6 = rule("doc6", "2001:db8::", 32, 0, NETEM_FW_DROP);
	netem_fw_rule host = rule("host", "10.0.0.7", 0, 0, NETEM_FW_DROP);
	netem_fw_rule dst = rule("to-srv", NULL, 0, 0, NETEM_FW_DROP);
	ntp_addr any = addr("127.0.0.1");

	host.src_mask.family = NTP_AF_NONE; /* no mask: the host itself */
	dst.dst = addr("192.0.2.0");
	dst.dst_mask = ntp_addr_mask_from_prefix(NTP_AF_INET, 28);
	cr_assert_eq(netem_fw_eval(&r4, 1, &(ntp_addr){0}, &any, 17, 1, 1, NULL), NETEM_FW_ACCEPT);
	{
		ntp_addr in = addr("10.255.1.2"), out = addr("11.0.0.1"), v6 = addr("::ffff:a00:1");

		cr_assert_eq(netem_fw_eval(&r4, 1, &in, &any, 17, 1, 1, NULL), NETEM_FW_DROP);
		cr_assert_eq(netem_fw_eval(&r4, 1, &out, &any, 17, 1, 1, NULL), NETEM_FW_ACCEPT);
		cr_assert_eq(netem_fw_eval(&r4, 1, &v6, &any, 17, 1, 1, NULL), NETEM_FW_ACCEPT,
		             "a v4 rule does not match v6");
	}
	{
		ntp_addr in = addr("2001:db8:1::5"), out = addr("2001:db9::1");

		cr_assert_eq(netem_fw_eval(&r6, 1, &in, &any, 17, 1, 1, NULL), NETEM_FW_DROP);
		cr_assert_eq(netem_fw_eval(&r6, 1, &out, &any, 17, 1, 1, NULL), NETEM_FW_ACCEPT);
	}
	{
		ntp_addr same = addr("10.0.0.7"), other = addr("10.0.0.8");

		cr_assert_eq(netem_fw_eval(&host, 1, &same, &any, 17, 1, 1, NULL), NETEM_FW_DROP);
		cr_assert_eq(netem_fw_eval(&host, 1, &other, &any, 17, 1, 1, NULL),
		             NETEM_FW_ACCEPT);
	}
	{
		ntp_addr in = addr("192.0.2.15"), out = addr("192.0.2.16");

		cr_assert_eq(netem_fw_eval(&dst, 1, &any, &in, 17, 1, 1, NULL), NETEM_FW_DROP);
		cr_assert_eq(netem_fw_eval(&dst, 1, &any, &out, 17, 1, 1, NULL), NETEM_FW_ACCEPT);
	}
}
