/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_metrics: the time-error statistics a timekeeping engineer expects of
 * one node, from its true offset x(t) (node clock - true time, s):
 *
 *   rms, max, p50, p95, p99   of |x| over the settled part of the run
 *   ADEV(tau)                 overlapping Allan deviation (IEEE 1139-2008,
 *                             ITU-T G.810 Appendix II.1)
 *   TDEV(tau)                 time deviation, from the modified Allan
 *                             variance (IEEE 1139-2008, ITU-T G.810 II.3)
 *   MTIE(tau)                 maximum time interval error (ITU-T G.810
 *                             II.5, G.8260 Appendix I)
 *
 * Input.  The engine feeds samples (t, x) in nondecreasing t (s of true
 * time since the run's start), at irregular times (each call into the
 * node's NTP host, every second in chrony-style scenarios).  Between two
 * samples x is taken to be linear in t (piecewise-linear phase).  Two
 * samples at the same t are a step: the later value holds from t on.
 *
 * Grid.  The phase is resampled once, as samples arrive, on a uniform grid
 * t_k = k tau0, k = 0 .. n_grid - 1, n_grid = floor(duration / tau0) + 1,
 * where tau0 = tau0_min 2^j with the smallest j >= 0 that keeps n_grid <=
 * SIM_METRICS_MAX_POINTS.  x_k is the piecewise-linear x at t_k; at a step
 * exactly at t_k, the value after the step.  Grid points before the first
 * sample take the first sample's value; points after the latest sample are
 * not filled yet (the run's end sample fills them).  Every statistic uses
 * only filled points.  Memory: one double per grid point, allocated once by
 * sim_metrics_init; sim_metrics_sample never allocates.
 *
 * Settled part.  The statistics use the filled grid points with t_k >=
 * t_settle, N of them: x_0 .. x_{N-1} below renumbers them from 0.
 *
 * Pure and deterministic: no clock, no randomness, same input -> same bits.
 */
#ifndef SIM_METRICS_H
#define SIM_METRICS_H

#include <stdbool.h>
#include <stddef.h>

/* points, grid size cap (ours): 8 MiB of doubles per node, and about
 * 0.3 s per node in sim_metrics_finish at this size (measured on the dev machine). */
#define SIM_METRICS_MAX_POINTS ((size_t)1 << 20)

/* entries of the tau list: 1, 2, 5 per decade of m = tau / tau0, and
 * m <= SIM_METRICS_MAX_POINTS - 1 < 10^7 needs at most 3 x 7 = 21 (ours). */
#define SIM_METRICS_TAUS_MAX 21

typedef struct sim_metrics {
	double tau0;       /* s, grid spacing */
	double *x;         /* s, x[k] = offset at t = k tau0, for k < n */
	size_t n_grid;     /* grid points of the whole run */
	size_t n;          /* grid points filled so far */
	double t_last;     /* s, time of the latest sample */
	double x_last;     /* s, its offset */
	bool have_last;    /* a sample has arrived */
	size_t n_rejected; /* samples ignored: non-finite, or t before t_last */
} sim_metrics;

/*
 * Prepare for a run of `duration` s (>= 0) with the grid spacing tau0 =
 * tau0_min 2^j described above (tau0_min > 0, normally 1 s).  Returns 0,
 * or -1 on invalid arguments or allocation failure; *m can be freed either
 * way.
 */
int sim_metrics_init(sim_metrics *m, double tau0_min, double duration);
/* The same with a smaller cap on the grid (a share of a budget several
 * nodes split); max_points outside 1..SIM_METRICS_MAX_POINTS is that cap. */
int sim_metrics_init_max(sim_metrics *m, double tau0_min, double duration, size_t max_points);

/*
 * One sample: true offset `offset` (s) at true time t (s).  Fills the grid
 * points in (t_last, t]: O(1) amortised, O(n_grid) over the whole run.  A
 * sample with a non-finite t or offset, or with t < the previous t, is
 * ignored and counted in n_rejected (a bug in the caller, never a crash).
 */
void sim_metrics_sample(sim_metrics *m, double t, double offset);

void sim_metrics_free(sim_metrics *m);

typedef struct sim_metrics_result {
	/* s, of |x_k| over the settled part; NAN when it has no point.  rms is
	 * sqrt(mean x_k^2); pXX is the linear interpolation between order
	 * statistics (Hyndman & Fan type 7, numpy's default "linear"): with
	 * s_0 <= .. <= s_{N-1} the sorted |x_k| and h = (N - 1) p,
	 * pXX = s_floor(h) + (h - floor(h)) (s_floor(h)+1 - s_floor(h)). */
	double rms, max, p50, p95, p99;
	double tau0;     /* s, grid spacing */
	size_t n_points; /* settled grid points N */
	/* The tau list depends only on the run's grid: tau = m tau0 for m =
	 * 1, 2, 5, 10, 20, 50, ... while m <= n_grid - 1 (MTIE's range on the
	 * whole run), so every run of one scenario reports the same taus.  A
	 * statistic the settled part is too short for is NAN:
	 *   ADEV, TDEV  need N >= 3m (G.810's TDEV range, n <= N/3; ADEV then
	 *               averages N - 2m >= m overlapping second differences)
	 *   MTIE        needs N >= m + 1 (one window).
	 * Unused entries (index >= n_taus) are NAN. */
	size_t n_taus;
	double taus[SIM_METRICS_TAUS_MAX]; /* s */
	double adev[SIM_METRICS_TAUS_MAX]; /* s/s */
	double tdev[SIM_METRICS_TAUS_MAX]; /* s */
	double mtie[SIM_METRICS_TAUS_MAX]; /* s */
} sim_metrics_result;

/*
 * The statistics of the filled grid points with t_k >= t_settle (s; <= 0:
 * all of them).  t_settle NAN (the node never settled): every statistic
 * NAN, the tau list still filled.  With d_i = x_{i+2m} - 2 x_{i+m} + x_i
 * and tau = m tau0:
 *
 *   ADEV^2(tau) = sum_{i=0}^{N-2m-1} d_i^2 / (2 tau^2 (N - 2m))
 *   TDEV^2(tau) = sum_{j=0}^{N-3m} (sum_{i=j}^{j+m-1} d_i)^2 / (6 m^2 (N - 3m + 1))
 *               (= tau^2 MVAR(tau) / 3)
 *   MTIE(tau)   = max over k of (max - min of x_k .. x_{k+m})
 *
 * Cost: O(N log N) for the percentiles, O(N) per tau for the rest.  Uses
 * 16 N bytes of scratch memory while it runs; returns 0, or -1 when it
 * cannot be allocated (then the percentiles and MTIE are NAN, the rest is
 * computed).
 */
int sim_metrics_finish(const sim_metrics *m, double t_settle, sim_metrics_result *r);

#endif
