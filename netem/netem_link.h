/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * netem_link: one direction of an impaired network link, with the meaning
 * Linux tc-netem(8) gives its parameters (kernel net/sched/sch_netem.c, tc
 * tc/q_netem.c): delay with jitter drawn from netem's distributions,
 * correlation, random or Gilbert-Elliott loss, duplication, reordering with
 * a gap, and a rate limit with per-packet and per-cell overhead.
 *
 * Pure and deterministic: no I/O, no clock, no globals.  The caller passes
 * the true time at which a packet is offered and gets the times at which its
 * copies arrive.  Every noise source draws from its own ntp_rand stream,
 * seeded from (seed, "<name>:<source>"), so turning one impairment on or off
 * never changes the numbers another one draws.  Where the model simplifies
 * netem, docs/netem.md says so.
 */
#ifndef NETEM_LINK_H
#define NETEM_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp_rand.h"

/* Extra copies one duplicated packet may get (ours: tc-netem makes exactly
 * one; chrony's 010-multrecv needs three), and so the most arrivals
 * netem_link_offer() returns for one packet. */
#define NETEM_COPIES_MAX 15
#define NETEM_OUT_MAX    (1 + NETEM_COPIES_MAX)
/* s, the longest delay or window time a link takes (ours: keeps int64 ns far
 * from overflow); netem_link_params_check refuses more */
#define NETEM_TIME_MAX_S 1e6

/* Delay distributions.  For NORMAL, PARETO and PARETONORMAL the delay is
 * delay + jitter * T, where T follows the distribution netem's table of the
 * same name was generated from (iproute2 netem/normal.c, pareto.c,
 * paretonormal.c), clipped to the table's range [-4, +4).  UNIFORM is what
 * the kernel uses when tc is given no `distribution` (delay +- jitter).
 * EXPONENTIAL (not in tc) is delay + an exponential deviate whose mean is
 * jitter, as chrony's simulation tests model network delay.  TRACE replays
 * the caller's array of delays cyclically. */
enum netem_dist {
	NETEM_DIST_CONSTANT = 0,
	NETEM_DIST_UNIFORM,
	NETEM_DIST_NORMAL,
	NETEM_DIST_EXPONENTIAL,
	NETEM_DIST_PARETO,
	NETEM_DIST_PARETONORMAL,
	NETEM_DIST_TRACE
};

typedef struct netem_link_params {
	double delay;        /* s, base one-way delay (tc: delay TIME) */
	double jitter;       /* s, tc's JITTER: half-width for UNIFORM, scale
	                        (sigma) for the table distributions, mean of the
	                        exponential part for EXPONENTIAL; unused for
	                        CONSTANT and TRACE */
	double delay_corr;   /* 0..1, tc's delay CORRELATION */
	int dist;            /* enum netem_dist; netem_link_params_init sets UNIFORM */
	const double *trace; /* s, one-way delays replayed cyclically when dist is
	                        TRACE (delay and jitter are then unused; an
	                        empty trace means a constant delay); the caller
	                        owns the array and keeps it alive */
	size_t trace_len;
	double loss;           /* 0..1, tc: loss random PERCENT */
	double loss_corr;      /* 0..1, tc: loss random PERCENT CORRELATION */
	bool ge;               /* Gilbert-Elliott loss (tc: loss gemodel) instead of random */
	double ge_p;           /* 0..1, tc gemodel p: P(good -> bad) per packet */
	double ge_r;           /* 0..1, tc gemodel r: P(bad -> good) per packet */
	double ge_loss_bad;    /* 0..1, loss probability in the bad state: tc gemodel's
	                          third value, "1-h" (not h, the kernel's a3) */
	double ge_loss_good;   /* 0..1, loss probability in the good state: tc gemodel's
	                          fourth value, "1-k" (not k) */
	double duplicate;      /* 0..1, tc: duplicate PERCENT */
	double duplicate_corr; /* 0..1, tc: duplicate PERCENT CORRELATION */
	double reorder;        /* 0..1, tc: reorder PERCENT (needs delay > 0) */
	double reorder_corr;   /* 0..1, tc: reorder PERCENT CORRELATION */
	int reorder_gap;       /* packets, tc: gap DISTANCE; 0 = no gap (as gap 1) */
	double rate;           /* bit/s, tc: rate RATE; 0 = unlimited */
	int rate_overhead;     /* bytes added to each packet (may be negative) */
	int rate_cellsize;     /* bytes per link-layer cell, 0 = no cells */
	int rate_celloverhead; /* bytes added to each cell (may be negative) */
	int limit;             /* packets, tc: limit; accepted, not modelled, 0 = tc's 1000 */
	bool down;             /* partition: every packet is dropped */
	/* ntplab extensions, not tc-netem (the tc parser refuses their names and
	 * netem_link_format_tc() cannot write them; docs/netem.md): */
	int copies;            /* extra copies of a duplicated packet, 1..NETEM_COPIES_MAX
	                          (0 is taken as tc's 1) */
	int pass_one_in;       /* packets: only offered packets k = 0, N, 2N, ... pass
	                          (k counts every packet offered); 0 or 1 = all */
	double extra_fraction; /* 0..1, the probability that a packet's delay gets ... */
	double extra_delay;    /* s, ... this much more (a delay mixture) */
	double up_every;       /* s, period of the up window; 0 = no window (always up) */
	double up_for;         /* s, the link is up for up_for of every up_every, ... */
	double up_from;        /* s, ... starting at up_from after the link's origin
	                          (netem_link_set_origin) and repeating both ways */
} netem_link_params;

/* No impairment: zero delay, no loss, dist UNIFORM (tc's default). */
void netem_link_params_init(netem_link_params *p);

/* Check ranges (times >= 0 and finite, probabilities in [0, 1], gap >= 0,
 * rate >= 0, a TRACE with data, a known dist).  Returns 0, or -1 with a
 * readable reason in err.  netem_link_init/set accept any values and clamp
 * them, so this is for reporting a scenario's mistakes. */
int netem_link_params_check(const netem_link_params *p, char *err, size_t errsize);

/* The state only loss, duplication, reordering and the delay mixture use.
 * A link allocates it when its parameters first ask for one of them: until
 * then those rules draw nothing, so seeding the streams late gives the very
 * numbers seeding them at netem_link_init would have given. */
typedef struct netem_link_impair {
	ntp_rand r_loss;       /* "<name>:loss" */
	ntp_rand r_dup;        /* "<name>:duplicate" */
	ntp_rand r_reorder;    /* "<name>:reorder" */
	ntp_rand r_copy;       /* "<name>:copy": a duplicate copy's loss and delay */
	ntp_rand r_extra;      /* "<name>:extra": whether a packet gets extra_delay */
	ntp_rand r_copy_extra; /* "<name>:copy-extra": the same for each duplicate copy */
	double loss_last;      /* correlation state: the last correlated uniform */
	double dup_last;
	double reorder_last;
	uint64_t reorder_count; /* packets delayed since the last reordered one */
	bool ge_bad;            /* Gilbert-Elliott state: true = bad */
} netem_link_impair;

/* One direction of a link: about 150 bytes, so that a simulation of a
 * million clients holds two per client (docs/bench-sim.md).  The parameters
 * are the caller's: the link reads them through p. */
typedef struct netem_link {
	const netem_link_params *p; /* the caller's, sanitised (netem_link_init) */
	netem_link_impair *imp;     /* NULL until p asks for an impairment */
	ntp_rand r_delay;           /* "<name>:delay" */
	uint64_t seed;              /* the streams' base seed ... */
	uint64_t name_hash;         /* ... and ntp_rand_name_hash of "<name>:" */
	int64_t origin;             /* ns, the time up_from counts from (default 0) */
	double delay_last;          /* the delay's correlation state */
	int64_t busy_until;         /* ns, when the rate limiter's last packet leaves */
	size_t trace_pos;           /* next trace element */
	uint64_t offered;           /* packets offered */
	uint64_t dropped;           /* copies lost (a duplicated packet has 1 + copies) */
	uint64_t duplicated;        /* extra copies made */
	uint64_t reordered;         /* packets sent immediately by the reorder rule */
	uint64_t delivered; /* copies delivered; offered + duplicated = delivered + dropped */
	double delay_sum;   /* s, sum of delivered copies' delays */
	double delay_sum2;  /* s^2, sum of their squares */
} netem_link;

/* Clamp *p in place to what netem_link_params_check accepts (a value it
 * refuses becomes the nearest one it takes). */
void netem_link_params_sanitise(netem_link_params *p);

/* Set up a link: streams seeded from (seed, "<name>:delay") etc.; name may
 * be NULL (taken as "").  The link keeps p, sanitised in place: *p must stay
 * alive, and is read at every offer, until netem_link_free or netem_link_set
 * gives another.  Links may share one *p.  Returns 0, or -1 when out of
 * memory (the link then needs no netem_link_free). */
int netem_link_init(netem_link *l, netem_link_params *p, uint64_t seed, const char *name);

/* Change the parameters at a timed event (the same rules for p as at init).
 * Random streams, correlation and Gilbert-Elliott state, the rate limiter's
 * queue, the trace position and the statistics are kept; the reorder gap
 * counter restarts, as in the kernel's netem_change().  Returns 0, or -1
 * when out of memory (the link then keeps its old parameters). */
int netem_link_set(netem_link *l, netem_link_params *p);

/* Release what netem_link_init or netem_link_set allocated. */
void netem_link_free(netem_link *l);

/* Where the up window's up_from counts from: the true time (ns) of the
 * caller's start (ntpsim: the run's start).  netem_link_init sets 0. */
void netem_link_set_origin(netem_link *l, int64_t origin);

/* A packet of `bytes` bytes (as the rate limiter counts them: tc counts the
 * link-layer frame) offered at true time t (ns).  Returns how many copies
 * arrive (0 to 1 + copies) and their arrival times (ns, >= t) in out[],
 * earliest first. */
int netem_link_offer(netem_link *l, int64_t t, size_t bytes, int64_t out[NETEM_OUT_MAX]);

/* Mean and standard deviation (s) of the delivered copies' delays so far;
 * 0 when nothing was delivered. */
double netem_link_delay_mean(const netem_link *l);
double netem_link_delay_sd(const netem_link *l);

/* "normal", "pareto", ... ; "?" for an unknown value. */
const char *netem_dist_name(int dist);

/* Parse tc-netem syntax into *p (reset to netem_link_params_init first), e.g.
 * "delay 20ms 5ms 25% distribution normal loss 5% duplicate 1%
 *  reorder 25% 50% gap 5 rate 1mbit".  Times need a unit (ns, us, ms, s),
 * probabilities a '%', rates a unit (bit, kbit, mbit, gbit, tbit; tc's bps,
 * kbps, ... are bytes per second).  Returns 0, or -1 with a reason naming the
 * offending word in err (p is then unchanged). */
int netem_link_parse(const char *spec, netem_link_params *p, char *err, size_t errsize);

/* The equivalent `tc qdisc add dev DEV root netem ...` arguments, written
 * like snprintf (returns the length the full text needs).  Exact for what tc
 * can express; see docs/netem.md for EXPONENTIAL, TRACE and down. */
size_t netem_link_format_tc(const netem_link_params *p, char *buf, size_t size);

#endif
