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

/* The node's state after a call into its host (or at a start, a stop, the
 * beginning and the end): what SELECTED and STATE checks judge.  The peer
 * table is borrowed for the call only. */
typedef struct sim_state {
	double t;        /* s since the start of the run */
	bool running;    /* the daemon runs */
	bool has_peer;   /* it has a system peer */
	uint8_t stratum; /* system variables */
	uint8_t leap;
	int8_t poll;       /* log2 s */
	char refid[16];    /* as its clients' ntpq shows it */
	double offset;     /* s, true offset */
	double est_offset; /* s, the host's estimate (local - server) */
	const ntp_peer_info *peers;
	size_t n_peers;
} sim_state;

/* What a state check saw at one time, kept to describe a verdict. */
typedef struct sim_state_view {
	double t;
	bool present; /* the association is listed (system checks: true) */
	bool running, has_peer;
	uint8_t stratum, leap, reach;
	int8_t poll;
	char type, tally;
	double when, est_error, offset; /* s */
	char refid[16];
	char reason[64]; /* shortened */
} sim_state_view;

typedef struct sim_check_acc {
	bool have_last;
	bool hit;      /* REJECTED/SELECTED/QUERY: matched; windows: a violation seen */
	double t_last; /* previous sample */
	double v_last;
	double f_last; /* FREQ: previous frequency error */
	double bound_last;
	bool claims_last;
	double t_good;    /* SYNCED: start of the current good run; < 0: none */
	double t_bad;     /* SYNCED: last bad sample; < 0: none */
	double v_bad;     /* SYNCED: |offset| then */
	bool bad_no_peer; /* SYNCED: the last bad sample had no system peer */
	double sum;       /* integral (RMS: s^2 s; BOUND: s held) */
	double span;      /* s integrated */
	double extreme;   /* max |value|; INTERVAL: the shortest interval */
	double t_extreme;
	double t_hit;      /* REJECTED, EVENT, LOG: first time; INTERVAL: first packet */
	double t_hit_last; /* EVENT, LOG: last matching time; INTERVAL: last packet */
	double t_ref;      /* EVENT, LOG: first line matching `since`; < 0: none */
	long long count;   /* samples in window, steps, events, packets, observations */
	char note[96];     /* what was seen: a reason, a query result */
	/* windows of states (SELECTED, STATE, SYNCED never) */
	bool have_before, before_ok;      /* the state in effect at `from` and its verdict */
	sim_state_view before, first_bad; /* ... and the first state against the check */
} sim_check_acc;

void sim_check_acc_init(sim_check_acc *a);

/* Feed a sample of the node (samples come in time order). */
void sim_check_sample(const sim_check_spec *c, sim_check_acc *a, const sim_sample *s);

/* The node's clock was stepped by `by` s (STEPS). */
void sim_check_step(const sim_check_spec *c, sim_check_acc *a, double t, double by);

/* The node wrote a line to events.log: `what` is a host event's name
 * (sys_peer, clock_step, ...) or daemon, scenario, fault, query (EVENT,
 * LOG, and the `since` reference of both). */
void sim_check_log(const sim_check_spec *c, sim_check_acc *a, double t, const char *what,
                   const char *detail);

/* The node's peer table at t (REJECTED, at any time). */
void sim_check_peers(const sim_check_spec *c, sim_check_acc *a, double t,
                     const ntp_peer_info *peers, size_t n);

/* The node's state (SELECTED, STATE): in time order; the last one at or
 * before a time is the state in effect then. */
void sim_check_state(const sim_check_spec *c, sim_check_acc *a, const sim_state *s);

/* The node sent (dir SIM_PKT_SENT, to `peer`) or received (from `peer`) a
 * packet at t (INTERVAL). */
void sim_check_packet(const sim_check_spec *c, sim_check_acc *a, double t, int dir,
                      const ntp_addr *peer);

/* End-of-run facts: a packet count (PACKETS), a query result line
 * (QUERY; NULL when the node never ran a query). */
void sim_check_set_count(sim_check_acc *a, long long count);
void sim_check_set_result(const sim_check_spec *c, sim_check_acc *a, const char *result);

/* Verdict over the check's nodes (accs[i] is node c->nodes.first + i,
 * then accs[c->nodes.count] node c->other.first when other.count is 1);
 * end is the run's length in s.  detail says what was measured and, on
 * failure, by how much it missed.  *measured gets the number the check
 * compared (the worst node's), NAN if none. */
bool sim_check_finish(const sim_check_spec *c, const sim_check_acc *accs, const sim_scenario *sc,
                      double end, char *detail, size_t size, double *measured);

/* A SYNCED check's measured time is only a lower bound: some node was not
 * synced at the end (measured is then its last unsynced sample's time). */
bool sim_check_censored(const sim_check_spec *c, const sim_check_acc *accs);

/* "synced", "offset", ... as the scenario's YAML names the kind. */
const char *sim_check_kind_name(int kind);

/* Case-insensitive substring test (an empty needle matches). */
bool sim_contains_nocase(const char *haystack, const char *needle);

/* Is p the association of the check's `source` (family NONE: a local
 * clock driver)? */
bool sim_check_is_source(const sim_check_spec *c, const ntp_peer_info *p);

/* "3600 s", or "end" for INFINITY (a window's edge, an `at`). */
const char *sim_check_format_time(double t, char *buf, size_t size);

/* Names of enum sim_state_field, NULL-terminated (the YAML keys). */
extern const char *const sim_state_field_names[];

/* sim_check_state.c, for sim_check.c: a window of states.  ok: the state
 * is what the check asks for; points: samples (only those inside the
 * window count) rather than states that last until the next one. */
void sim_check_window_feed(const sim_check_spec *c, sim_check_acc *a, const sim_state_view *v,
                           bool ok, bool points);
bool sim_check_window_judge(const sim_check_spec *c, const sim_check_acc *a, char *out,
                            size_t size);

#endif
