/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_osc: a node's free-running oscillator, the "raw" clock that the
 * node's disciplined clock (core/ntp_clock) corrects.  True time t and raw
 * time are int64 ns since 1970.
 *
 *   raw(t) = t + off + f * (t - tref) + f_off + W(t) + P(t)
 *
 *   off    integral offset: the initial offset plus every step (ns, exact)
 *   f      constant frequency error (s/s, positive = fast); a frequency
 *          change at te folds f * (te - tref) into f_off and moves tref
 *   W(t)   wander: a random walk of frequency.  The frequency is constant
 *          on a grid of `wander_step` seconds of true time and takes a
 *          Gaussian step of sd wander * sqrt(wander_step) at each grid
 *          point, so its variance grows by wander^2 per second as in
 *          clknetsim's `(sum (* wander (normal)))` updated each second.  The
 *          path is a pure function of (seed, name, grid index): it does not
 *          depend on when or how often the clock is read, it is generated
 *          lazily (no events), and it can be looked ahead to invert it.
 *   P(t)   a periodic ("temperature") frequency term A sin(2 pi (t - t0) / T
 *          + phi) integrated in closed form.
 *
 * Reads handed to the NTP host are then quantised to the resolution and
 * get Gaussian read noise (sim_osc_noisy); the true offset the simulator
 * reports uses the clean reading.
 *
 * Memory is O(1) per oscillator whatever the run length.
 */
#ifndef SIM_OSC_H
#define SIM_OSC_H

#include <stdint.h>

#include "ntp_rand.h"
#include "ntp_time.h"

#define SIM_OSC_WANDER_STEP_DEFAULT 16.0 /* s, grid of the frequency random walk (ours) */
#define SIM_OSC_RESOLUTION_DEFAULT  1e-9 /* s, clock reads when none is given: the ns grid */
#define SIM_OSC_FREQ_MAX            0.1  /* s/s, |freq error| accepted: NTP_CLOCK_FREQ_LIMIT */

typedef struct sim_osc_params {
	double offset;      /* s, raw - true at t0 (positive = ahead) */
	double freq;        /* s/s, constant frequency error (positive = fast) */
	double wander;      /* s/s per sqrt(s): frequency random-walk intensity */
	double wander_step; /* s, grid of the random walk; <= 0: the default */
	double temp_amp;    /* s/s, amplitude of the periodic frequency term */
	double temp_period; /* s, its period; <= 0: no periodic term */
	double temp_phase;  /* rad, its phase at t0 */
	double resolution;  /* s, reads are truncated to a multiple of this; 0:
	                       SIM_OSC_RESOLUTION_DEFAULT */
	double noise;       /* s, standard deviation of Gaussian read noise */
} sim_osc_params;

/* A point of the wander path: frequency w_k on [t0 + k h, t0 + (k+1) h)
 * and phase W_k at its start, plus the stream that draws w_{k+1}. */
typedef struct sim_osc_walk {
	int64_t k;
	double w; /* s/s */
	double W; /* s */
	ntp_rand r;
} sim_osc_walk;

/* The last exact inverse: t is the answer for target raw from any t_from in
 * [from_min, from_max] while the model is at version `version`.  Why that
 * range: the solve walks the grid from t_from's segment to the first whose
 * end reaches the target, then runs Newton from max(segment start,
 * t_from); a later t_from up to that start takes the same steps from the
 * same deterministic walk point, so it returns the same ns. */
typedef struct sim_osc_inv {
	int64_t raw;      /* ns, the target */
	int64_t t;        /* ns, its answer */
	int64_t from_min; /* ns */
	int64_t from_max; /* ns; < from_min: nothing cached */
	uint64_t version; /* sim_osc.version it was solved at */
} sim_osc_inv;

typedef struct sim_osc {
	const sim_osc_params *p; /* shared, not owned */
	int64_t t0;              /* ns, true time the model starts */
	int64_t off;             /* ns */
	int64_t jumped;          /* ns, the part of off from external steps: raw - mono */
	int64_t tref;            /* ns */
	double f;                /* s/s */
	double f_off;            /* s */
	int64_t h;               /* ns, wander grid; 0 = no wander */
	double sigma;            /* s/s, sd of one wander step */
	double temp_w;           /* rad/s */
	int64_t res;             /* ns, >= 1 */
	sim_osc_walk base;       /* a point at or before the last read */
	sim_osc_walk ahead;      /* the furthest point generated so far */
	ntp_rand r_noise;
	uint64_t version; /* bumped by every step and frequency change */
	sim_osc_inv inv;  /* the last answer of sim_osc_true_for */
} sim_osc;

/* Streams "node:<name>:wander" and "node:<name>:noise" under seed.  p must
 * outlive the oscillator. */
void sim_osc_init(sim_osc *o, const sim_osc_params *p, int64_t t0, uint64_t seed, const char *name);

/* raw(t).  Reads must come in non-decreasing t (the engine's event order);
 * an earlier t is answered from the earliest stored point instead. */
int64_t sim_osc_raw(sim_osc *o, int64_t t);

/* Fractional frequency error d(raw)/dt - 1 at t (s/s). */
double sim_osc_freq(sim_osc *o, int64_t t);

/* The smallest t >= t_from with raw(t) >= raw (raw is increasing), exact
 * to the ns.  Looks ahead without committing.  Past a horizon of 2^20 grid
 * steps it returns an estimate no later than the exact answer.  Asked again
 * for the same raw with neither a step nor a frequency change between, it
 * answers from its cache what the solve would (sim_osc_inv). */
int64_t sim_osc_true_for(sim_osc *o, int64_t raw, int64_t t_from);

/* The raw clock jumps by offset s at t (an external step). */
void sim_osc_step(sim_osc *o, int64_t t, double offset);

/* The node's monotonic clock at t: raw(t) less every external step, as
 * CLOCK_MONOTONIC runs on through a `date -s`.  It drives the NTP host's
 * timers (ntp_time.h ntp_now.mono); increasing, like raw. */
int64_t sim_osc_mono(sim_osc *o, int64_t t);

/* The smallest t >= t_from with mono(t) >= mono (sim_osc_true_for on the
 * monotonic clock). */
int64_t sim_osc_true_for_mono(sim_osc *o, int64_t mono, int64_t t_from);

/* The constant frequency error becomes freq s/s from t on (phase
 * continuous). */
void sim_osc_set_freq(sim_osc *o, int64_t t, double freq);

/* What a program reading a clock that shows `local` gets: truncated to
 * the resolution, plus read noise. */
int64_t sim_osc_noisy(sim_osc *o, int64_t local);

#endif
