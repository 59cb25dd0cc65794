/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_check: streaming evaluation of a scenario's checks.
 *
 * Each check keeps one fixed-size accumulator per node it covers; the
 * engine feeds samples (true offset, frequency error, the host's error
 * bound and sync state), steps, events and peer tables as they happen, and
 * asks for the verdict at the end.  Nothing is kept per sample, so memory
 * does not grow with the run length.
 *
 * Samples are points of a piecewise-linear offset: integrals (RMS) use
 * the exact integral of the square of the line between two samples,
 * clipped to the check's window; time fractions treat the state between
 * two samples as the earlier sample's.
 */
#ifndef SIM_CHECK_H
#define SIM_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp_host.h"
#include "sim_scenario.h"

typedef struct sim_sample {
	double t;         /* s since the start of the run */
	double offset;    /* s, true offset: local clock - true time */
	double freq_err;  /* s/s, true frequency error of the disciplined clock */
	double bound;     /* s, the host's advertised root distance */
	bool has_peer;    /* the host has a system peer */
	bool claims_sync; /* the host says it is synchronised (leap != 3, stratum < 16) */
} sim_sample;

typedef struct sim_check_acc {
	bool have_last;
	bool hit;      /* REJECTED/SELECTED/QUERY: matched */
	double t_last; /* previous sample */
	double v_last;
	double bound_last;
	bool claims_last;
	double t_good;    /* SYNCED: start of the current good run; < 0: none */
	double t_bad;     /* SYNCED: last bad sample; < 0: none */
	double v_bad;     /* SYNCED: |offset| then */
	bool bad_no_peer; /* SYNCED: the last bad sample had no system peer */
	double sum;       /* integral (RMS: s^2 s; BOUND: s held) */
	double span;      /* s integrated */
	double extreme;   /* max |value| */
	double t_extreme;
	double t_hit;    /* REJECTED: first time */
	long long count; /* samples in window, steps, events, packets */
	char note[96];   /* what was seen: a reason, a query result */
} sim_check_acc;

void sim_check_acc_init(sim_check_acc *a);

/* Feed a sample of the node (samples come in time order). */
void sim_check_sample(const sim_check_spec *c, sim_check_acc *a, const sim_sample *s);

/* The node's clock was stepped (STEPS). */
void sim_check_step(const sim_check_spec *c, sim_check_acc *a, double t);

/* The node's host reported an event (EVENT). */
void sim_check_event(const sim_check_spec *c, sim_check_acc *a, double t, int code,
                     const char *reason);

/* The node's peer table at t (REJECTED: any time; SELECTED: call at the
 * end, the last call decides). */
void sim_check_peers(const sim_check_spec *c, sim_check_acc *a, double t,
                     const ntp_peer_info *peers, size_t n);

/* End-of-run facts: a packet count (PACKETS), a query result line
 * (QUERY; NULL when the node never ran a query). */
void sim_check_set_count(sim_check_acc *a, long long count);
void sim_check_set_result(const sim_check_spec *c, sim_check_acc *a, const char *result);

/* Verdict over the check's nodes (accs[i] is node c->nodes.first + i);
 * end is the run's length in s.  detail says what was measured and, on
 * failure, by how much it missed.  *measured gets the number the check
 * compared (the worst node's), NAN if none. */
bool sim_check_finish(const sim_check_spec *c, const sim_check_acc *accs, const sim_scenario *sc,
                      double end, char *detail, size_t size, double *measured);

/* Case-insensitive substring test (an empty needle matches). */
bool sim_contains_nocase(const char *haystack, const char *needle);

#endif
