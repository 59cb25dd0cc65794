/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_metrics: per-node time-error statistics (see sim_metrics.h).
 *
 * Definitions: IEEE Std 1139-2008 (Allan and modified Allan variance from
 * phase data, overlapping estimators), ITU-T G.810 (08/96) Appendix II
 * (ADEV II.1, MDEV II.2, TDEV II.3, MTIE II.5), ITU-T G.8260 (03/2020)
 * Appendix I (the time error sequence, and packet metrics built on these
 * TDEV and MTIE).
 *
 * Numerics: the second differences d_i are formed directly from the phase
 * values (never from differences of large running sums), so a d of 1e-9 s
 * on offsets of 1e-4 s keeps ~12 significant digits.  TDEV's window sums
 * slide in O(1) per step and are re-summed from scratch every m steps, so
 * rounding cannot drift over more than one window.
 */
#include "sim_metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* doublings of tau0_min tried before giving up: 2^2100 exceeds any double
 * ratio duration / tau0_min (ours). */
#define SIM_METRICS_DOUBLINGS_MAX 2100

int
sim_metrics_init(sim_metrics *m, double tau0_min, double duration)
{
	return sim_metrics_init_max(m, tau0_min, duration, SIM_METRICS_MAX_POINTS);
}

int
sim_metrics_init_max(sim_metrics *m, double tau0_min, double duration, size_t max_points)
{
	memset(m, 0, sizeof *m);
	if (!(isfinite(tau0_min) && tau0_min > 0.0 && isfinite(duration) && duration >= 0.0)) {
		return -1;
	}
	if (max_points < 1 || max_points > SIM_METRICS_MAX_POINTS) {
		max_points = SIM_METRICS_MAX_POINTS;
	}
	double tau0 = tau0_min;
	/* floor(duration / tau0) + 1 <= max_points, written so it cannot
	 * overflow a size_t conversion */
	int i = 0;
	while (floor(duration / tau0) > (double)(max_points - 1)) {
		if (++i > SIM_METRICS_DOUBLINGS_MAX) {
			return -1;
		}
		tau0 *= 2.0;
	}
	m->tau0 = tau0;
	m->n_grid = (size_t)floor(duration / tau0) + 1;
	m->x = malloc(m->n_grid * sizeof m->x[0]);
	if (m->x == NULL) {
		m->n_grid = 0;
		return -1;
	}
	return 0;
}

void
sim_metrics_free(sim_metrics *m)
{
	free(m->x);
	memset(m, 0, sizeof *m);
}

/* The piecewise-linear phase at t, t_last < t <= t1 (before the first
 * sample: its value held). */
static double
interpolate(const sim_metrics *m, double t, double t1, double x1)
{
	if (!m->have_last) {
		return x1;
	}
	return m->x_last + (x1 - m->x_last) * ((t - m->t_last) / (t1 - m->t_last));
}

void
sim_metrics_sample(sim_metrics *m, double t, double offset)
{
	if (!isfinite(t) || !isfinite(offset) || (m->have_last && t < m->t_last)) {
		m->n_rejected++;
		return;
	}
	/* points in (t_last, t]: the earlier ones are already filled */
	while (m->n < m->n_grid && (double)m->n * m->tau0 <= t) {
		m->x[m->n] = interpolate(m, (double)m->n * m->tau0, t, offset);
		m->n++;
	}
	/* a point exactly at t takes this sample's value: exact (no rounding
	 * of the interpolation) and, at a step, the value after it */
	if (m->n > 0 && (double)(m->n - 1) * m->tau0 == t) {
		m->x[m->n - 1] = offset;
	}
	m->t_last = t;
	m->x_last = offset;
	m->have_last = true;
}

/* The first filled grid point with k tau0 >= t_settle (m->n when none). */
static size_t
settled_start(const sim_metrics *m, double t_settle)
{
	if (!(t_settle > 0.0)) {
		return 0;
	}
	double k = ceil(t_settle / m->tau0);
	size_t k0 = k < (double)m->n ? (size_t)k : m->n;
	/* the division may round across an integer: settle on the exact rule */
	while (k0 > 0 && (double)(k0 - 1) * m->tau0 >= t_settle) {
		k0--;
	}
	while (k0 < m->n && (double)k0 * m->tau0 < t_settle) {
		k0++;
	}
	return k0;
}

static void
swap_d(double *a, double *b)
{
	double t = *a;

	*a = *b;
	*b = t;
}

/* Rearrange s[0 .. n-1] so that s[k] is its k-th smallest value, nothing
 * after it smaller and nothing before it larger (Hoare's selection with a
 * median-of-three pivot): O(n) expected, where sorting was O(n log n) and
 * the largest part of a short run's finish.  Deterministic. */
static void
select_kth(double *s, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;

	while (hi > lo) {
		size_t mid = lo + (hi - lo) / 2, i = lo, j = hi;
		double pivot;

		if (s[mid] < s[lo]) {
			swap_d(&s[mid], &s[lo]);
		}
		if (s[hi] < s[lo]) {
			swap_d(&s[hi], &s[lo]);
		}
		if (s[hi] < s[mid]) {
			swap_d(&s[hi], &s[mid]);
		}
		pivot = s[mid];
		while (i <= j) {
			while (s[i] < pivot) {
				i++;
			}
			while (pivot < s[j]) {
				j--;
			}
			if (i <= j) {
				swap_d(&s[i], &s[j]);
				i++;
				if (j-- == 0) {
					break;
				}
			}
		}
		/* now s[lo .. j] <= pivot <= s[i .. hi], and j < i */
		if (k <= j && j != (size_t)-1) {
			hi = j;
		} else if (k >= i) {
			lo = i;
		} else {
			return;
		}
	}
}

/* Type-7 quantile p of the n >= 1 values in s (reordered in place). */
static double
quantile(double *s, size_t n, double p)
{
	double h = (double)(n - 1) * p;
	size_t lo = (size_t)floor(h);
	double v, next;

	select_kth(s, n, lo);
	v = s[lo];
	if (lo + 1 >= n) {
		return v;
	}
	next = s[lo + 1]; /* the smallest value after s[lo] */
	for (size_t k = lo + 2; k < n; k++) {
		next = s[k] < next ? s[k] : next;
	}
	return v + (h - (double)lo) * (next - v);
}

static double
max2(double a, double b)
{
	return a > b ? a : b;
}

static double
min2(double a, double b)
{
	return a < b ? a : b;
}

/* rms, max and percentiles of |x[0 .. n-1]|; -1 when the sort copy cannot
 * be allocated (percentiles left NAN). */
static int
level_stats(const double *x, size_t n, sim_metrics_result *r)
{
	if (n == 0) {
		return 0;
	}
	double sum2 = 0.0, max = 0.0;
	for (size_t k = 0; k < n; k++) {
		sum2 += x[k] * x[k];
		max = max2(max, fabs(x[k]));
	}
	r->rms = sqrt(sum2 / (double)n);
	r->max = max;
	double *s = malloc(n * sizeof s[0]);
	if (s == NULL) {
		return -1;
	}
	for (size_t k = 0; k < n; k++) {
		s[k] = fabs(x[k]);
	}
	r->p50 = quantile(s, n, 0.50);
	r->p95 = quantile(s, n, 0.95);
	r->p99 = quantile(s, n, 0.99);
	free(s);
	return 0;
}

/* The second difference d_i at lag m. */
static double
second_diff(const double *x, size_t i, size_t m)
{
	return x[i + 2 * m] - 2.0 * x[i + m] + x[i];
}

/* Overlapping ADEV at tau = m tau0; needs n >= 2m + 1. */
static double
adev(const double *x, size_t n, size_t m, double tau0)
{
	double sum = 0.0;
	for (size_t i = 0; i + 2 * m < n; i++) {
		double d = second_diff(x, i, m);
		sum += d * d;
	}
	double tau = (double)m * tau0;
	return sqrt(sum / (2.0 * tau * tau * (double)(n - 2 * m)));
}

/* sum_{i=j}^{j+m-1} d_i, directly. */
static double
window_sum(const double *x, size_t j, size_t m)
{
	double s = 0.0;
	for (size_t i = j; i < j + m; i++) {
		s += second_diff(x, i, m);
	}
	return s;
}

/* TDEV at tau = m tau0; needs n >= 3m. */
static double
tdev(const double *x, size_t n, size_t m)
{
	size_t terms = n - 3 * m + 1;
	double s = 0.0, sum = 0.0;
	for (size_t j = 0; j < terms; j++) {
		if (j % m == 0) {
			s = window_sum(x, j, m);
		} else {
			s += second_diff(x, j + m - 1, m) - second_diff(x, j - 1, m);
		}
		sum += s * s;
	}
	return sqrt(sum / (6.0 * (double)m * (double)m * (double)terms));
}

/*
 * MTIE at every listed tau = m tau0 (the largest max - min over the
 * windows x[i .. i+m], w = m + 1 points) from one sparse table of window
 * maxima and minima built in place, level by level: after level k, hi[i]
 * and lo[i] are the max and min of x[i .. i + 2^k - 1] (for i + 2^k <= n).
 * A window of w points is the union of the two level-k windows at its
 * ends, k = floor(log2 w), so its range is two max, two min and a
 * subtraction.  Every pass is a plain loop over arrays (the compiler
 * vectorises it): for all taus together it costs about what one tau cost
 * with per-tau block maxima (van Herk / Gil-Werman), which ran 13 times
 * (measured: the largest part of a short run's report).  hi and lo hold n
 * values each; taus the n points are too few for (n < m + 1) are left.
 */
static void
mtie_all(const double *x, size_t n, const size_t *ms, size_t n_taus, double *hi, double *lo,
         double *out)
{
	size_t span = 1; /* 2^k, the window each hi[i], lo[i] covers */

	memcpy(hi, x, n * sizeof(hi[0]));
	memcpy(lo, x, n * sizeof(lo[0]));
	for (size_t t = 0; t < n_taus && ms[t] + 1 <= n; t++) {
		size_t w = ms[t] + 1;
		double best = 0.0;

		for (; 2 * span <= w; span *= 2) {
			/* ascending i reads hi[i + span] before it is updated */
			for (size_t i = 0; i + 2 * span <= n; i++) {
				hi[i] = max2(hi[i], hi[i + span]);
				lo[i] = min2(lo[i], lo[i + span]);
			}
		}
		for (size_t i = 0; i + w <= n; i++) {
			size_t j = i + w - span;

			best = max2(best, max2(hi[i], hi[j]) - min2(lo[i], lo[j]));
		}
		out[t] = best;
	}
}

/* tau list: m = 1, 2, 5 x 10^k while m <= n_grid - 1; returns the count. */
static size_t
tau_list(size_t n_grid, size_t ms[SIM_METRICS_TAUS_MAX])
{
	static const size_t mant[] = {1, 2, 5};
	size_t n = 0;
	for (size_t dec = 1; n < SIM_METRICS_TAUS_MAX; dec *= 10) {
		for (size_t i = 0; i < 3 && n < SIM_METRICS_TAUS_MAX; i++) {
			size_t mm = mant[i] * dec;
			if (mm + 1 > n_grid) {
				return n;
			}
			ms[n++] = mm;
		}
	}
	return n;
}

static void
result_clear(sim_metrics_result *r)
{
	memset(r, 0, sizeof *r);
	r->rms = r->max = r->p50 = r->p95 = r->p99 = NAN;
	r->tau0 = NAN;
	for (size_t i = 0; i < SIM_METRICS_TAUS_MAX; i++) {
		r->taus[i] = r->adev[i] = r->tdev[i] = r->mtie[i] = NAN;
	}
}

/* ADEV, TDEV and MTIE at every listed tau the n points are enough for. */
static int
stability(const double *x, size_t n, const size_t *ms, sim_metrics_result *r)
{
	for (size_t i = 0; i < r->n_taus; i++) {
		if (n >= 3 * ms[i]) {
			r->adev[i] = adev(x, n, ms[i], r->tau0);
			r->tdev[i] = tdev(x, n, ms[i]);
		}
	}
	if (r->n_taus == 0 || n < ms[0] + 1) {
		return 0;
	}
	double *q = malloc(2 * n * sizeof q[0]);
	if (q == NULL) {
		return -1;
	}
	mtie_all(x, n, ms, r->n_taus, q, q + n, r->mtie);
	free(q);
	return 0;
}

int
sim_metrics_finish(const sim_metrics *m, double t_settle, sim_metrics_result *r)
{
	size_t ms[SIM_METRICS_TAUS_MAX];

	result_clear(r);
	if (m->x == NULL) {
		return 0;
	}
	r->tau0 = m->tau0;
	r->n_taus = tau_list(m->n_grid, ms);
	for (size_t i = 0; i < r->n_taus; i++) {
		r->taus[i] = (double)ms[i] * m->tau0;
	}
	if (isnan(t_settle)) {
		return 0;
	}
	size_t k0 = settled_start(m, t_settle);
	const double *x = m->x + k0;
	size_t n = m->n - k0;
	r->n_points = n;
	int rc = level_stats(x, n, r);
	if (stability(x, n, ms, r) != 0) {
		rc = -1;
	}
	return rc;
}
