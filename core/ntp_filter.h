/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_filter: the clock filter of one association (RFC 5905 §10 and
 * App. A.5.2 clock_filter(), as ntpd 4.2.x implements it).
 *
 * An eight-stage shift register of (offset, delay, dispersion, time)
 * samples.  Every new sample ages the dispersion of the older stages at
 * PHI; the stages are sorted by distance (the delay, or delay plus
 * dispersion once a sample is older than the Allan intercept); the
 * lowest-delay sample gives the association's offset and delay, its
 * dispersion is the 1/2^(i+1)-weighted sum over the sorted stages and its
 * jitter the RMS of the offset differences to the best sample.  Like ntpd,
 * a sample is used only once and never one older than the last one used,
 * and a popcorn spike (offset jump over SGATE times the jitter within two
 * poll intervals) is suppressed.
 *
 * One difference from ntpd, on purpose: a suppressed popcorn spike leaves
 * the association's offset and delay as they were (ntpd stores the spike
 * in peer->offset before it decides to ignore it, so the next selection
 * sees it).
 *
 * Like ntpd 4.2.8 (clock_filter: "if the clock has stabilized, sort"), the
 * caller can turn the sort off while the discipline is still in its
 * startup (freq_cnt > 0): the newest usable sample is then the best, so
 * the frequency measurement and the first corrections use fresh offsets
 * instead of a lowest-delay sample up to eight polls old.  Unlike ntpd,
 * lost-poll (MAXDISPERSE) stages still go last when unsorted, so a lost
 * poll never becomes the "best" zero-offset sample.
 *
 * Pure arithmetic on caller-owned state; times are the host's monotonic
 * clock (ntp_time.h ntp_now.mono, ns): ages, not timestamps.
 */
#ifndef NTP_FILTER_H
#define NTP_FILTER_H

#include <stdbool.h>
#include <stdint.h>

#include "ntp_const.h"
#include "ntp_discipline.h"
#include "ntp_time.h"

#define NTP_SGATE        3.0           /* popcorn gate in jitters, ntpd CLOCK_SGATE */
#define NTP_ALLAN_XPT    2048.0        /* s, Allan intercept, ntpd CLOCK_ALLAN (2^11 s) */
#define NTP_FILTER_NEVER NTP_TIME_NONE /* "no sample used yet" epoch */

typedef struct ntp_filter_stage {
	double offset; /* s, positive = local clock behind the source */
	double delay;  /* s, round trip */
	double disp;   /* s, grows at PHI while the sample waits */
	ntp_time t;    /* mono time the sample was taken */
} ntp_filter_stage;

typedef struct ntp_filter {
	ntp_filter_stage f[NTP_NSTAGE]; /* ring, f[next] is the oldest */
	uint8_t next;                   /* stage the next sample overwrites */
	uint8_t used;                   /* samples added since the last reset (saturates at 255) */
	ntp_time update; /* mono time dispersions were last aged (ntpd peer->update) */
	ntp_time epoch;  /* time of the last sample used (RFC 5905 p.t, ntpd peer->epoch) */
	/* The association's statistics (RFC 5905 §10: theta, delta, epsilon, psi). */
	double offset; /* s */
	double delay;  /* s */
	double disp;   /* s */
	double jitter; /* s */
} ntp_filter;

/* What the caller passes on every sample. */
typedef struct ntp_filter_params {
	double precision; /* s, system precision: jitter floor (2^sys.precision) */
	double maxdist;   /* s, tos maxdist: prune limit for the jitter estimate */
	int8_t hpoll;     /* log2 s, association poll: popcorn window is 2 polls */
	bool no_sort;     /* newest usable sample first (ntpd 4.2.8 while freq_cnt > 0) */
	double phi;       /* s/s, the stages' dispersion growth; <= 0: NTP_PHI (RFC 5905) */
} ntp_filter_params;

enum ntp_filter_verdict {
	NTP_FILTER_NEW = 0,     /* a new best sample: offset/delay/disp/jitter updated */
	NTP_FILTER_EMPTY = 1,   /* no stage holds a usable sample (only disp updated) */
	NTP_FILTER_OLD = 2,     /* the best sample was already used (stats updated) */
	NTP_FILTER_POPCORN = 3, /* popcorn spike suppressed (offset/delay kept) */
};

/* Reset to "no samples": every stage at MAXDISPERSE (ntpd peer_clear).
 * jitter starts at precision (s). */
void ntp_filter_reset(ntp_filter *f, ntp_time mono, double precision);

/* Shift one sample in and run the filter (RFC 5905 App. A.5.2).
 * disp is the sample's own dispersion (s); pass (0, 0, NTP_MAXDISPERSE)
 * for a lost poll.  *spike (may be NULL) gets the offset jump that was
 * judged a popcorn spike.  Returns enum ntp_filter_verdict. */
int ntp_filter_add(ntp_filter *f, double offset, double delay, double disp, ntp_time mono,
                   const ntp_filter_params *p, double *spike);

/* Name of a verdict, for reasons and tests. */
const char *ntp_filter_verdict_name(int verdict);

#endif
