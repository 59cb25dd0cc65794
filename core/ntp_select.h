/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_select: the system process's choice of sources (RFC 5905 §11.2 and
 * App. A.5.5.1 clock_select(), A.5.5.5 clock_combine(), as ntpd 4.2.x and
 * NTPsec ntp_proto.c do them).  A pure function over an array of
 * candidates that already passed the fit tests (TEST10-TEST13): it tells
 * truechimers from falsetickers, prunes outliers, picks the system peer and
 * combines the survivors' offsets.
 *
 * The steps, and where we follow whom:
 *
 *  1. Input check.  A candidate with a NaN/infinite/out-of-range offset,
 *     jitter, root distance or stratum is rejected (' ') with a reason.
 *     A root distance below mindist is raised to it, as ntpd's
 *     root_distance() does, so the 1/distance weights stay finite.
 *
 *  2. LOCAL driver.  A `server 127.127.1.x` candidate without `prefer` is
 *     set aside as ntpd's "typelocal" fallback: it takes no part in the
 *     intersection and is used only when no other source survives it (the
 *     seed's isolated LAN server).  Otherwise it stays ' ' with "local clock
 *     not used".  The first such candidate in input order is the fallback.
 *     A `prefer` LOCAL candidate is an ordinary candidate, as in ntpd.
 *
 *  3. Intersection (§11.2.1).  Correctness intervals [theta - lambda,
 *     theta + lambda]; for f = 0, 1, ... while 2f < m, find the interval
 *     [low, high] of the points that lie in at least m - f of the m
 *     intervals, and stop at the first f where it has width (high > low).  Like ntpd 4.2.8
 *     and NTPsec, and unlike the RFC's listing, the midpoints are not
 *     counted, and a truechimer is a candidate whose interval overlaps
 *     [low, high].  Those that do not are falsetickers ('x'); `true`
 *     candidates always pass.  No such f: no majority, every candidate is
 *     a falseticker and the reason says how many agree at most.
 *
 *  4. Cluster (§11.2.2).  Survivors are ordered by the RFC 5905 / ntpd
 *     4.2.6 metric stratum * maxdist + lambda.  While more than
 *     max(1, minclock) remain, the one with the largest selection jitter
 *     (RMS offset difference to the others) weighted by its lambda is
 *     discarded, unless that jitter is no more than the smallest peer jitter
 *     (floored at the system precision: nothing is measurable below it) or
 *     the candidate is `prefer` or `true`.  Discarded while more than
 *     maxclock remained: backup ('#', ntpd CTL_PST_SEL_EXCESS); otherwise
 *     outlier ('-').  NTP_SEL_EXCESS ('.') is never produced: ntpd has no
 *     table overflow cut either.
 *
 *  5. System peer.  Fewer than minsane survivors: none.  Otherwise the
 *     first by the metric (NTPsec instead uses seljit * lambda + stratum *
 *     mindist).  Clockhop (ntpd 4.2.8/NTPsec): if the previous system peer
 *     still survives and its offset is within the hop threshold of the
 *     best's, it stays; the threshold starts at mindist and halves on every
 *     consecutive call that keeps it, so a close rival takes over after a
 *     few rounds.  Pass r->clockhop back as p->clockhop to get the halving;
 *     0 starts afresh.  Unlike ntpd, the previous peer must be a survivor.
 *     A surviving `prefer` candidate overrides both (the best by the metric
 *     if several).
 *
 *  6. Combine (§11.2.3).  Offset: the survivors' offsets weighted by
 *     1/lambda.  Jitter: sqrt(weighted mean square of the offsets' distance
 *     to the system peer's + the system peer's own jitter^2), the RFC's
 *     formula (NTPsec uses the sys peer's selection jitter in place of its
 *     peer jitter).  With a prefer peer, its own offset and jitter (ntpd).
 *
 * Deterministic: ties are broken by input order; no state is kept.
 */
#ifndef NTP_SELECT_H
#define NTP_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NTP_SELECT_MAX      64           /* candidates, ours (= NTP_CONF_MAX_SERVERS) */
#define NTP_SELECT_WHY_MAX  128          /* bytes of one reason string */
#define NTP_SELECT_MINSANE  1            /* ntpd tos minsane default */
#define NTP_SELECT_MINCLOCK 3            /* ntpd tos minclock default, RFC 5905 NMIN */
#define NTP_SELECT_MAXCLOCK 10           /* ntpd tos maxclock default, NTP_MAXCLOCK */
#define NTP_SELECT_MAXDIST  1.5          /* s, ntpd tos maxdist default (RFC 5905 MAXDIST is 1) */
#define NTP_SELECT_MINDIST  0.001        /* s, ntpd tos mindist default, MINDISTANCE */
#define NTP_SELECT_LIMIT    2147483648.0 /* s, 2^31: no NTP offset or distance is larger */

/* Tally codes, in ntpd's CTL_PST_SEL_* order (ntpq -p first column). */
enum ntp_select_state {
	NTP_SEL_REJECT = 0,  /* ' ' not a candidate: invalid input, or the LOCAL
	                        fallback that was not needed */
	NTP_SEL_FALSETICKER, /* 'x' outside the intersection */
	NTP_SEL_EXCESS,      /* '.' (never produced, see above) */
	NTP_SEL_OUTLIER,     /* '-' discarded by the cluster algorithm */
	NTP_SEL_CANDIDATE,   /* '+' survivor, used in combine */
	NTP_SEL_BACKUP,      /* '#' discarded by the cluster algorithm while
	                        more than maxclock survived */
	NTP_SEL_SYSPEER,     /* '*' */
};

typedef struct ntp_select_cand {
	int id;          /* caller's association id */
	double offset;   /* s, peer offset theta */
	double jitter;   /* s, peer jitter psi */
	double rootdist; /* s, root synchronization distance lambda (RFC 5905
	                    App. A.5.5.2 root_dist(), computed by the caller) */
	int stratum;     /* 0..15 */
	bool prefer;     /* `prefer` */
	bool trueticker; /* `true`: always survives intersection (ntpd FLAG_TRUE) */
	bool local;      /* LOCAL driver (127.127.1.x): fallback only, see step 2 */
} ntp_select_cand;

/* Zero means "ntpd's default" for maxclock, maxdist and mindist; minsane
 * 0 is a real setting (no minimum), minclock < 1 counts as 1. */
typedef struct ntp_select_params {
	int minsane;          /* tos minsane, ntpd default 1 */
	int minclock;         /* tos minclock, ntpd default 3 (NMIN) */
	int maxclock;         /* tos maxclock, ntpd default 10 (NTP_MAXCLOCK) */
	int prev_sys_peer;    /* id of the current system peer, -1 if none */
	double sys_precision; /* s, 2^sys.precision: floor of the peer jitter in the
	                         cluster stop test */
	double maxdist;       /* s, tos maxdist: weight of one stratum in the metric */
	double mindist;       /* s, tos mindist: floor of lambda, first clockhop threshold */
	double clockhop;      /* s, r->clockhop of the previous call (0: none) */
} ntp_select_params;

/* A candidate's reason kept as numbers until someone reads it (issue 17
 * §1): a selection runs at every sample, its texts are read by the event
 * log, ntpq and the reports only.  kind 0: nothing pending. */
typedef struct ntp_select_note {
	uint8_t kind; /* private: which text */
	double num, num2;
} ntp_select_note;

typedef struct ntp_select_result {
	int sys_peer;        /* id of the selected system peer, -1 if none */
	int sys_index;       /* its index in the input array, -1 if none */
	double offset;       /* s, combined offset, or the prefer peer's */
	double jitter;       /* s, system jitter (RFC 5905 §11.2.3) */
	double rootdist;     /* s, lambda of the system peer (NTPsec sys_rootdist) */
	double clockhop;     /* s, hop threshold to pass into the next call */
	bool interval_found; /* low/high hold the intersection */
	double low, high;    /* s, intersection interval */
	int n_candidates;    /* valid inputs that entered the intersection */
	int n_truechimers;   /* entered the cluster algorithm (incl. the LOCAL fallback) */
	int n_survivors;     /* left after it ('+' and '*') */
	int n_falsetickers;  /* of the candidates, the ones outside the intersection */
	int n_discarded;     /* of the truechimers, the ones the cluster algorithm cut */
	char reason[NTP_SELECT_WHY_MAX]; /* summary; with sys_peer == -1 why none,
	                        e.g. "no majority: only 2 of 5 sources agree, need 3";
	                        read it with ntp_select_reason() */
	uint8_t state[NTP_SELECT_MAX];   /* per input candidate, enum ntp_select_state */
	/* Texts kept as numbers until read (issue 17 §1): the summary of a
	 * selection that found a system peer and the survivors' rows are
	 * wanted by nobody on the hot path. */
	bool reason_pending;                          /* private: reason not yet written */
	uint8_t why_pending[NTP_SELECT_MAX];          /* private: row i's note kind, 0 written */
	char why[NTP_SELECT_MAX][NTP_SELECT_WHY_MAX]; /* per input candidate; read
	                                                 with ntp_select_why() */
	double why_num[NTP_SELECT_MAX][2];            /* private: a pending row's numbers */
} ntp_select_result;

/* Row i's reason as a note, for a caller that keeps it past r: true when
 * it was pending (*out then formats it with ntp_select_note_format), false
 * when it is text already (read ntp_select_why). */
bool ntp_select_note_take(const ntp_select_result *r, size_t i, ntp_select_note *out);

/* A note's text into buf (size bytes); nothing when none is pending.
 * Clears the note, so the text is written once. */
void ntp_select_note_format(ntp_select_note *n, char *buf, size_t size);

/* The summary in words (written from the numbers first if pending). */
const char *ntp_select_reason(ntp_select_result *r);

/* Candidate i's reason in words (written first if pending); "" for i out
 * of range. */
const char *ntp_select_why(ntp_select_result *r, size_t i);

/* ntpd's tos defaults (minsane 1, minclock 3, maxclock 10, maxdist 1.5 s,
 * mindist 1 ms), no previous system peer, precision 2^-20 s. */
void ntp_select_params_default(ntp_select_params *p);

/* Run clock_select and clock_combine over c[0..n-1] (RFC 5905 §11.2).
 * p may be NULL (defaults).  n must be <= NTP_SELECT_MAX; c may be NULL
 * only when n is 0.  Fills *r completely (state[i] and why[i] for every
 * i < n; why[i] for i >= n is left as it was).  Returns r->sys_peer: the chosen id, or -1 with
 * r->reason saying why (also -1 when r is NULL). */
int ntp_select_run(const ntp_select_cand *c, size_t n, const ntp_select_params *p,
                   ntp_select_result *r);

/* ntpq -p tally character of a state (' ' for unknown values). */
char ntp_select_tally(int state);

/* "sys_peer", "candidate", "falseticker", ... */
const char *ntp_select_state_name(int state);

#endif
