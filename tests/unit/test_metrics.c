/* SPDX-License-Identifier: BSD-2-Clause */
/* sim/sim_metrics: grid, settled statistics, ADEV, TDEV, MTIE. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "sim_metrics.h"

#define TEST_TWO_PI 6.283185307179586 /* rad, 2 pi (C11 has no M_PI) */

/* Test noise: splitmix64 (Steele, Lea, Flood 2014) and Box-Muller, so the
 * expected values do not depend on the module's own generators. */
static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* uniform in (0, 1] */
static double
uniform(uint64_t *s)
{
	return ((double)(splitmix64(s) >> 11) + 1.0) / 9007199254740992.0; /* 2^53 */
}

static double
gauss(uint64_t *s)
{
	double u = uniform(s), v = uniform(s);
	return sqrt(-2.0 * log(u)) * cos(TEST_TWO_PI * v);
}

/* m = tau / tau0 of the i-th listed tau */
static size_t
m_of(const sim_metrics_result *r, size_t i)
{
	return (size_t)llround(r->taus[i] / r->tau0);
}

/* A run of `duration` s sampled at every grid second with x[k] = v[k]. */
static void
feed(sim_metrics *m, const double *v, size_t n)
{
	cr_assert_eq(sim_metrics_init(m, 1.0, (double)(n - 1)), 0);
	for (size_t k = 0; k < n; k++) {
		sim_metrics_sample(m, (double)k, v[k]);
	}
	cr_assert_eq(m->n, n);
}

/* Brute-force references, O(N m) and O(N m^2), straight from the formulas. */
static double
naive_tdev(const double *x, size_t n, size_t m)
{
	double sum = 0.0;
	for (size_t j = 0; j + 3 * m <= n; j++) {
		double s = 0.0;
		for (size_t i = j; i < j + m; i++) {
			s += x[i + 2 * m] - 2.0 * x[i + m] + x[i];
		}
		sum += s * s;
	}
	return sqrt(sum / (6.0 * (double)(m * m) * (double)(n - 3 * m + 1)));
}

static double
naive_mtie(const double *x, size_t n, size_t m)
{
	double best = 0.0;
	for (size_t k = 0; k + m < n; k++) {
		double lo = x[k], hi = x[k];
		for (size_t i = k; i <= k + m; i++) {
			lo = fmin(lo, x[i]);
			hi = fmax(hi, x[i]);
		}
		best = fmax(best, hi - lo);
	}
	return best;
}

static double
naive_adev(const double *x, size_t n, size_t m)
{
	double sum = 0.0;
	for (size_t i = 0; i + 2 * m < n; i++) {
		double d = x[i + 2 * m] - 2.0 * x[i + m] + x[i];
		sum += d * d;
	}
	return sqrt(sum / (2.0 * (double)(m * m) * (double)(n - 2 * m)));
}

Test(metrics, linear_phase_exact)
{
	/* dyadic offset and frequency: every phase value and difference is exact */
	static const double ys[] = {0x3p-20, -0x5p-22};
	for (size_t c = 0; c < 2; c++) {
		double y = ys[c], x0 = 0x1p-12;
		sim_metrics m;
		sim_metrics_result r;
		cr_assert_eq(sim_metrics_init(&m, 1.0, 10000.0), 0);
		for (int t = 0; t <= 10000; t++) {
			sim_metrics_sample(&m, t, x0 + y * t);
		}
		cr_assert_eq(sim_metrics_finish(&m, 0.0, &r), 0);
		/* m = 1, 2, 5, ..., 5000, 10000 */
		cr_assert_eq(r.n_taus, 13);
		cr_assert_eq(r.taus[0], 1.0);
		cr_assert_eq(r.taus[12], 10000.0);
		cr_assert(isnan(r.taus[13]));
		for (size_t i = 0; i < r.n_taus; i++) {
			size_t mm = m_of(&r, i);
			if (3 * mm <= 10001) {
				cr_assert_eq(r.adev[i], 0.0, "adev[%zu] %g", i, r.adev[i]);
				cr_assert_eq(r.tdev[i], 0.0, "tdev[%zu] %g", i, r.tdev[i]);
			} else {
				cr_assert(isnan(r.adev[i]) && isnan(r.tdev[i]), "m %zu", mm);
			}
			cr_assert_eq(r.mtie[i], fabs(y) * r.taus[i], "mtie[%zu] %a", i, r.mtie[i]);
		}
		sim_metrics_free(&m);
	}
}

Test(metrics, linear_phase_irregular_samples)
{
	/* generic frequency, samples off the grid: the residual is rounding of
	 * the phase values themselves, a few ulp of max |x| */
	double x0 = 1.2345e-4, y = -1.7e-8, T = 5000.0;
	double xmax = fabs(x0) + fabs(y) * T, tol = 8.0 * DBL_EPSILON * xmax;
	uint64_t s = 42;
	sim_metrics m;
	sim_metrics_result r;

	cr_assert_eq(sim_metrics_init(&m, 1.0, T), 0);
	for (double t = 0.0; t < T; t += 0.1 + 3.6 * uniform(&s)) {
		sim_metrics_sample(&m, t, x0 + y * t);
	}
	sim_metrics_sample(&m, T, x0 + y * T);
	cr_assert_eq(m.n, 5001);
	cr_assert_eq(sim_metrics_finish(&m, 0.0, &r), 0);
	for (size_t i = 0; i < r.n_taus; i++) {
		if (!isnan(r.adev[i])) {
			cr_assert_leq(r.adev[i] * r.taus[i], tol, "adev[%zu] %g", i, r.adev[i]);
			cr_assert_leq(r.tdev[i], tol, "tdev[%zu] %g", i, r.tdev[i]);
		}
		cr_assert_float_eq(r.mtie[i], fabs(y) * r.taus[i], tol, "mtie[%zu] %g", i,
		                   r.mtie[i]);
	}
	sim_metrics_free(&m);
}

Test(metrics, quadratic_phase)
{
	/* x = x0 + D t^2 / 2: every second difference is D tau^2 (1e-9 s at
	 * tau = 1 s, on offsets of 1e-4 s and more), so ADEV = D tau / sqrt 2,
	 * TDEV = D tau^2 / sqrt 6, MTIE = x(T) - x(T - tau) */
	enum { N = 2001 };
	double D = 1e-9, x0 = 1e-4, v[N];
	for (size_t k = 0; k < N; k++) {
		v[k] = x0 + D * (double)k * (double)k / 2.0;
	}
	sim_metrics m;
	sim_metrics_result r;
	feed(&m, v, N);
	cr_assert_eq(sim_metrics_finish(&m, 0.0, &r), 0);
	size_t defined = 0;
	for (size_t i = 0; i < r.n_taus; i++) {
		double tau = r.taus[i];
		if (3 * m_of(&r, i) <= N) {
			defined++;
			cr_assert_float_eq(r.adev[i] / (D * tau / sqrt(2.0)), 1.0, 1e-7,
			                   "tau %g adev %g", tau, r.adev[i]);
			cr_assert_float_eq(r.tdev[i] / (D * tau * tau / sqrt(6.0)), 1.0, 1e-7,
			                   "tau %g tdev %g", tau, r.tdev[i]);
		}
		double T = N - 1, want = D * (T * T - (T - tau) * (T - tau)) / 2.0;
		cr_assert_float_eq(r.mtie[i] / want, 1.0, 1e-9, "tau %g mtie %g", tau, r.mtie[i]);
	}
	cr_assert_eq(defined, 9); /* m = 1 .. 500 */
	sim_metrics_free(&m);
}

Test(metrics, white_phase_noise)
{
	/* white PM of sd sigma: ADEV = sqrt(3) sigma / tau (slope -1), TDEV =
	 * sigma / sqrt(m) at every m; on a large constant offset */
	enum { N = 1 << 16 };
	double sigma = 1e-6, *v = malloc(N * sizeof v[0]);
	uint64_t s = 1;
	cr_assert_not_null(v);
	for (size_t k = 0; k < N; k++) {
		v[k] = 5e-4 + sigma * gauss(&s);
	}
	sim_metrics m;
	sim_metrics_result r;
	feed(&m, v, N);
	cr_assert_eq(sim_metrics_finish(&m, 0.0, &r), 0);
	cr_assert_eq(m_of(&r, 0), 1);
	cr_assert_eq(m_of(&r, 6), 100);
	cr_assert_float_eq(r.adev[0] / (sqrt(3.0) * sigma), 1.0, 0.03, "adev(1) %g", r.adev[0]);
	double slope = log(r.adev[6] / r.adev[0]) / log(100.0);
	cr_assert_float_eq(slope, -1.0, 0.03, "slope %g", slope);
	for (size_t i = 0; i < 4; i++) { /* m = 1, 2, 5, 10 */
		double want = sigma / sqrt((double)m_of(&r, i));
		cr_assert_float_eq(r.tdev[i] / want, 1.0, 0.10, "m %zu tdev %g", m_of(&r, i),
		                   r.tdev[i]);
	}
	sim_metrics_free(&m);
	free(v);
}

Test(metrics, against_brute_force)
{
	/* random walk of frequency plus white PM, with a step: every statistic
	 * at every tau equals the O(N m) formulas */
	enum { N = 3001 };
	double v[N], f = 0.0, x = 2e-3;
	uint64_t s = 7;
	for (size_t k = 0; k < N; k++) {
		f += 1e-9 * gauss(&s);
		x += f;
		v[k] = x + 1e-7 * gauss(&s) + (k >= 1500 ? -1e-3 : 0.0);
	}
	sim_metrics m;
	sim_metrics_result r;
	feed(&m, v, N);
	cr_assert_eq(sim_metrics_finish(&m, 0.0, &r), 0);
	cr_assert_eq(r.n_taus, 11); /* up to m = 2000 */
	for (size_t i = 0; i < r.n_taus; i++) {
		size_t mm = m_of(&r, i);
		if (3 * mm <= N) {
			double a = naive_adev(v, N, mm), t = naive_tdev(v, N, mm);
			cr_assert_float_eq(r.adev[i], a, 1e-12 * a, "m %zu", mm);
			cr_assert_float_eq(r.tdev[i], t, 1e-10 * t, "m %zu: %.17g vs %.17g", mm,
			                   r.tdev[i], t);
		}
		cr_assert_eq(r.mtie[i], naive_mtie(v, N, mm), "m %zu", mm);
	}
	sim_metrics_free(&m);
}

static const double hand[10] = {3, -1, 4, -1, 5, -9, 2, -6, 5, 3};

/* The level statistics and MTIE(tau0) of r, against hand-computed ones. */
static void
expect_levels(const sim_metrics_result *r, size_t n, const double want[6])
{
	cr_assert_eq(r->n_points, n);
	cr_assert_float_eq(r->rms, want[0], 1e-14, "rms %.17g", r->rms);
	cr_assert_eq(r->max, want[1]);
	cr_assert_float_eq(r->p50, want[2], 1e-14, "p50 %.17g", r->p50);
	cr_assert_float_eq(r->p95, want[3], 1e-14, "p95 %.17g", r->p95);
	cr_assert_float_eq(r->p99, want[4], 1e-14, "p99 %.17g", r->p99);
	cr_assert_float_eq(r->mtie[0], want[5], 1e-15, "mtie %.17g", r->mtie[0]);
}

Test(metrics, percentiles_by_hand)
{
	sim_metrics m;
	sim_metrics_result r;
	feed(&m, hand, 10);
	/* sorted |x|: 1 1 2 3 3 4 5 5 6 9; h = 9 p: p50 = 3 + 0.5 (4 - 3),
	 * p95 = 6 + 0.55 (9 - 6), p99 = 6 + 0.91 (9 - 6); MTIE(1) 5 -> -9 */
	cr_assert_eq(sim_metrics_finish(&m, 0.0, &r), 0);
	expect_levels(&r, 10, (const double[6]){sqrt(20.7), 9.0, 3.5, 7.65, 8.73, 14.0});
	/* settled from t = 4.5: points 5 .. 9, |x| sorted 2 3 5 6 9, h = 4 p:
	 * p95 = 6 + 0.8 (9 - 6), p99 = 6 + 0.96 (9 - 6); MTIE(1) -9 -> 2 */
	cr_assert_eq(sim_metrics_finish(&m, 4.5, &r), 0);
	expect_levels(&r, 5, (const double[6]){sqrt(31.0), 9.0, 5.0, 8.4, 8.88, 11.0});
	/* t_settle exactly on a grid point keeps it */
	cr_assert_eq(sim_metrics_finish(&m, 5.0, &r), 0);
	cr_assert_eq(r.n_points, 5);
	cr_assert_eq(sim_metrics_finish(&m, 5.0000001, &r), 0);
	cr_assert_eq(r.n_points, 4);
	cr_assert_eq(r.max, 6.0);
	/* before the start: everything */
	cr_assert_eq(sim_metrics_finish(&m, -3.0, &r), 0);
	cr_assert_eq(r.n_points, 10);
	sim_metrics_free(&m);
}

Test(metrics, settle_beyond_end_and_nan)
{
	sim_metrics m;
	sim_metrics_result r;
	feed(&m, hand, 10);
	cr_assert_eq(sim_metrics_finish(&m, 9.5, &r), 0);
	cr_assert_eq(r.n_points, 0);
	cr_assert(isnan(r.rms) && isnan(r.max) && isnan(r.p50) && isnan(r.p99));
	cr_assert_eq(r.n_taus, 3); /* m <= 9: 1, 2, 5 */
	for (size_t i = 0; i < r.n_taus; i++) {
		cr_assert(isnan(r.adev[i]) && isnan(r.tdev[i]) && isnan(r.mtie[i]));
	}
	/* never settled: all NAN, the tau list kept */
	cr_assert_eq(sim_metrics_finish(&m, NAN, &r), 0);
	cr_assert_eq(r.n_taus, 3);
	cr_assert_eq(r.taus[2], 5.0);
	cr_assert(isnan(r.rms) && isnan(r.max) && isnan(r.p95));
	for (size_t i = 0; i < SIM_METRICS_TAUS_MAX; i++) {
		cr_assert(isnan(r.adev[i]) && isnan(r.tdev[i]) && isnan(r.mtie[i]));
	}
	/* 9 settled points: MTIE up to m = 5, ADEV and TDEV only m <= 3 */
	cr_assert_eq(sim_metrics_finish(&m, 1.0, &r), 0);
	cr_assert(!isnan(r.adev[1]) && isnan(r.adev[2]) && !isnan(r.mtie[2]));
	sim_metrics_free(&m);
}

Test(metrics, interpolation_and_steps)
{
	sim_metrics m;
	cr_assert_eq(sim_metrics_init(&m, 1.0, 20.0), 0);
	cr_assert_eq(m.n_grid, 21);
	sim_metrics_sample(&m, 0.0, 0.0);
	sim_metrics_sample(&m, 10.0, 10.0);
	cr_assert_eq(m.n, 11);
	cr_assert_float_eq(m.x[3], 3.0, 1e-15);
	cr_assert_eq(m.x[10], 10.0);
	/* a step at a grid time: the point takes the value after it */
	sim_metrics_sample(&m, 10.0, 4.0);
	cr_assert_eq(m.x[10], 4.0);
	cr_assert_eq(m.n, 11);
	/* and the line from there starts at the new value */
	sim_metrics_sample(&m, 12.0, 6.0);
	cr_assert_float_eq(m.x[11], 5.0, 1e-15);
	/* a step between grid points: before it the old line, after it the new */
	sim_metrics_sample(&m, 14.5, 8.5);
	sim_metrics_sample(&m, 14.5, -1.5);
	sim_metrics_sample(&m, 16.5, 0.5);
	cr_assert_float_eq(m.x[14], 8.0, 1e-15);
	cr_assert_float_eq(m.x[15], -1.0, 1e-15);
	cr_assert_float_eq(m.x[16], 0.0, 1e-15);
	cr_assert_eq(m.n, 17);
	/* points after the latest sample stay unfilled and unused */
	sim_metrics_result r;
	cr_assert_eq(sim_metrics_finish(&m, 0.0, &r), 0);
	cr_assert_eq(r.n_points, 17);
	cr_assert_eq(r.max, 9.0); /* x[10] stepped to 4 */
	/* samples going back in time or non-finite are ignored */
	sim_metrics_sample(&m, 16.0, 100.0);
	sim_metrics_sample(&m, NAN, 100.0);
	sim_metrics_sample(&m, 17.0, INFINITY);
	cr_assert_eq(m.n_rejected, 3);
	cr_assert_eq(m.n, 17);
	/* samples past the end fill the grid to its end only */
	sim_metrics_sample(&m, 40.0, 0.5);
	cr_assert_eq(m.n, 21);
	cr_assert_eq(m.x[20], 0.5);
	sim_metrics_free(&m);
}

Test(metrics, first_sample_late)
{
	/* points before the first sample hold its value */
	sim_metrics m;
	cr_assert_eq(sim_metrics_init(&m, 1.0, 5.0), 0);
	sim_metrics_sample(&m, 2.5, 7.0);
	cr_assert_eq(m.n, 3);
	cr_assert(m.x[0] == 7.0 && m.x[1] == 7.0 && m.x[2] == 7.0);
	sim_metrics_sample(&m, 3.5, 8.0);
	cr_assert_float_eq(m.x[3], 7.5, 1e-15);
	sim_metrics_free(&m);
}

Test(metrics, tau0_doubling)
{
	static const struct {
		double tau0_min, duration, tau0;
		size_t n_grid;
	} c[] = {
	        {1.0, 1048575.0, 1.0, (size_t)1 << 20}, /* exactly the cap */
	        {1.0, 1048576.0, 2.0, 524289},
	        {1.0, 3e6, 4.0, 750001},
	        {0.25, 1e6, 1.0, 1000001},
	        {1.0, 10.5, 1.0, 11},
	};
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		sim_metrics m;
		cr_assert_eq(sim_metrics_init(&m, c[i].tau0_min, c[i].duration), 0);
		cr_assert_eq(m.tau0, c[i].tau0, "case %zu: tau0 %g", i, m.tau0);
		cr_assert_eq(m.n_grid, c[i].n_grid, "case %zu: %zu points", i, m.n_grid);
		cr_assert_leq(m.n_grid, SIM_METRICS_MAX_POINTS);
		sim_metrics_free(&m);
	}
	/* on the coarse grid a point holds the phase at its own time */
	sim_metrics m;
	sim_metrics_result r;
	cr_assert_eq(sim_metrics_init(&m, 1.0, 3e6), 0);
	sim_metrics_sample(&m, 0.0, 0.0);
	sim_metrics_sample(&m, 3e6, 3.0);
	cr_assert_eq(m.n, 750001);
	cr_assert_float_eq(m.x[250000], 1.0, 1e-15);
	cr_assert_eq(sim_metrics_finish(&m, 0.0, &r), 0);
	cr_assert_eq(r.tau0, 4.0);
	cr_assert_eq(r.taus[1], 8.0);
	cr_assert_eq(r.n_taus, 18); /* m = 1 .. 500000 */
	cr_assert_float_eq(r.mtie[1], 8e-6, 1e-15);
	sim_metrics_free(&m);
}

Test(metrics, tiny_runs)
{
	sim_metrics m;
	sim_metrics_result r;

	/* zero duration: one grid point, levels defined, no tau */
	cr_assert_eq(sim_metrics_init(&m, 1.0, 0.0), 0);
	cr_assert_eq(m.n_grid, 1);
	cr_assert_eq(sim_metrics_finish(&m, 0.0, &r), 0); /* no sample yet */
	cr_assert(isnan(r.rms) && isnan(r.max));
	sim_metrics_sample(&m, 0.0, -2e-3);
	cr_assert_eq(sim_metrics_finish(&m, 0.0, &r), 0);
	cr_assert_eq(r.rms, 2e-3);
	cr_assert_eq(r.max, 2e-3);
	cr_assert(r.p50 == 2e-3 && r.p95 == 2e-3 && r.p99 == 2e-3);
	cr_assert_eq(r.n_taus, 0);
	cr_assert_eq(r.tau0, 1.0);
	cr_assert_eq(sim_metrics_finish(&m, 0.5, &r), 0);
	cr_assert(isnan(r.rms) && isnan(r.p50));
	sim_metrics_free(&m);

	/* two points: m = 1 listed; MTIE defined, ADEV and TDEV not */
	cr_assert_eq(sim_metrics_init(&m, 1.0, 1.0), 0);
	sim_metrics_sample(&m, 0.0, 1e-3);
	sim_metrics_sample(&m, 1.0, 3e-3);
	cr_assert_eq(sim_metrics_finish(&m, 0.0, &r), 0);
	cr_assert_eq(r.n_taus, 1);
	cr_assert_float_eq(r.mtie[0], 2e-3, 1e-18);
	cr_assert(isnan(r.adev[0]) && isnan(r.tdev[0]));
	sim_metrics_free(&m);
}

Test(metrics, bad_arguments)
{
	static const double args[][2] = {
	        {0.0, 10.0}, {-1.0, 10.0}, {NAN, 10.0},     {INFINITY, 10.0},
	        {1.0, -1.0}, {1.0, NAN},   {1.0, INFINITY},
	};
	for (size_t i = 0; i < sizeof args / sizeof args[0]; i++) {
		sim_metrics m;
		sim_metrics_result r;
		cr_assert_eq(sim_metrics_init(&m, args[i][0], args[i][1]), -1, "case %zu", i);
		sim_metrics_sample(&m, 0.0, 1.0);
		cr_assert_eq(sim_metrics_finish(&m, 0.0, &r), 0);
		cr_assert(isnan(r.rms) && r.n_taus == 0);
		sim_metrics_free(&m);
		sim_metrics_free(&m);
	}
}
