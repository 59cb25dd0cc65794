/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_query: the one-shot query (ntpdate -q, ntpdig) as a sans-I/O core:
 * no clock, no socket, no globals.  The caller (ntpsim's `query` events,
 * `refd -Q`) passes the request time, the reply bytes and the receive
 * time; this module builds the requests, judges each reply (a verdict and
 * a readable reason), keeps the best sample per server, says when the next
 * request is due and chooses the server.
 *
 * Where ntpsim's old client (ntpdate semantics) and refd's old client
 * (ntpdig/RFC 5905 semantics) disagreed, the rule taken is written at the
 * rule in ntp_query.c.  In short:
 *  - request fields (version, poll, precision) and the transmit timestamp
 *    are the caller's choice: refd sends ntpdig's minimal request with a
 *    random nonce (the real T1 stays here), ntpsim ntpdate's fields with
 *    T1 itself (deterministic);
 *  - a reply counts only when its origin echoes one of our transmit
 *    timestamps (TEST2; zero: TEST3); a second one is a duplicate (TEST1);
 *  - unusable: LI=3, stratum 0 (INIT/STEP) or 16, zero receive/transmit
 *    timestamp, reference time zero, after the transmit time or a day or
 *    more before it, root distance of 16 s or more;
 *  - any other stratum 0 reply is a kiss-o'-death: no more requests, and
 *    the server is unsuitable (its earlier answers withdrawn);
 *  - per server the usable sample with the smallest delay is kept (an
 *    unusable one only for the report, until a usable one comes); the
 *    server with the lowest stratum, then the lowest delay, is chosen:
 *    both old clients' rule (ntpdig sorts its single samples by stratum,
 *    root distance, root delay; with one sample per server and ntpdate's
 *    several, the round-trip delay is the better tie-break);
 *  - the delay is not floored (ntpdig; refd's old client floored it at 0);
 *  - a second reply to a request is a duplicate, not a sample (refd's
 *    TEST1; ntpsim's old client took it again, harmlessly);
 *  - reasons are the core's words; the drivers word "no reply" themselves
 *    (ntpsim: ntpdate's "no reply to N requests").
 */
#ifndef NTP_QUERY_H
#define NTP_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp_time.h"

#define NTP_QUERY_SAMPLES_MAX    8       /* requests per server (ntpdate NTP_SHIFT, -p 1..8) */
#define NTP_QUERY_STEP_THRESHOLD 0.5     /* s, ntpdate NTPDATE_THRESHOLD: step, not slew */
#define NTP_QUERY_MAXAGE         86400.0 /* s, ntpdate NTP_MAXAGE: reference time too old */
#define NTP_QUERY_WHY_MAX        160     /* bytes of a reason */

/* What one datagram was. */
typedef enum ntp_query_verdict {
	NTP_QUERY_OK = 0,   /* a usable sample */
	NTP_QUERY_IGNORED,  /* not an answer to us (malformed, wrong mode, bogus origin) */
	NTP_QUERY_DUP,      /* second reply to the same request */
	NTP_QUERY_KOD,      /* kiss-o'-death: stop asking */
	NTP_QUERY_UNUSABLE, /* an answer, but from an unsynchronised or insane server */
} ntp_query_verdict;

/* The request's header fields, the caller's choice. */
typedef struct ntp_query_params {
	uint8_t version;  /* 1..4 */
	int8_t poll;      /* log2 s */
	int8_t precision; /* log2 s */
	int samples;      /* requests per server, 1..NTP_QUERY_SAMPLES_MAX */
	ntp_time gap;     /* ns to wait for a reply before the next request */
} ntp_query_params;

/* One server's state.  Zero it (ntp_query_server_init) to start. */
typedef struct ntp_query_server {
	int sent, replies, ignored;
	ntp_ts64 xmt[NTP_QUERY_SAMPLES_MAX]; /* transmit timestamps we sent */
	ntp_time t1[NTP_QUERY_SAMPLES_MAX];  /* local send time of each */
	bool answered[NTP_QUERY_SAMPLES_MAX];
	ntp_time due;         /* mono time of the next request; NTP_TIME_NEVER: none */
	bool have;            /* a usable sample */
	bool measured;        /* some sample, usable or not (for reports) */
	double offset, delay; /* s, of the smallest-delay usable sample, else of any */
	uint8_t leap, stratum, version;
	int8_t precision;
	uint32_t refid;
	double rootdelay, rootdisp; /* s */
	bool kod;
	char kiss[5];
	char unusable[NTP_QUERY_WHY_MAX];    /* why the last answer was unusable; "" if none */
	char ignored_why[NTP_QUERY_WHY_MAX]; /* the last ignored datagram's reason */
} ntp_query_server;

/* The outcome of a query over n servers. */
typedef struct ntp_query_result {
	int chosen;    /* index of the chosen server, -1: none suitable */
	double offset; /* s, server - local, of the chosen server */
	bool step;     /* |offset| >= NTP_QUERY_STEP_THRESHOLD (ntpdate steps) */
	bool any_kod;  /* some server sent a kiss-o'-death */
} ntp_query_result;

void ntp_query_server_init(ntp_query_server *s);

/* Request number s->sent into buf (48 bytes), with transmit timestamp xmt
 * (the caller's nonce or T1; 0 is sent as 1: a zero transmit timestamp
 * fails the server's TEST3), sent at `now` (local: T1, kept here; mono:
 * the next request falls due p->gap later).  Returns 48, or 0 if all
 * samples are out or buf is too small. */
size_t ntp_query_request(ntp_query_server *s, const ntp_query_params *p, ntp_ts64 xmt, ntp_now now,
                         uint8_t *buf, size_t cap);

/* Judge a datagram from the server received at `now` (local: T4), keep
 * its sample when it is the best so far (usable samples always win over
 * unusable ones, kept only for the report).  why gets the reason for
 * anything but OK. */
ntp_query_verdict ntp_query_reply(ntp_query_server *s, const ntp_query_params *p,
                                  const uint8_t *buf, size_t len, ntp_now now, char *why,
                                  size_t whysize);

/* True when nothing more will be sent to or expected from s. */
bool ntp_query_done(const ntp_query_server *s, const ntp_query_params *p);

/* Mono time the next request to s is due (NTP_TIME_NEVER: none). */
ntp_time ntp_query_due(const ntp_query_server *s, const ntp_query_params *p);

/* True when a is the better choice than b: usable, lower stratum, then
 * lower delay (ntpdate's and ntpdig's stratum-first order). */
bool ntp_query_better(const ntp_query_server *a, const ntp_query_server *b);

/* Why s is unsuitable, "" if it is usable; no reply gives "".  Into buf. */
char *ntp_query_unsuitable(const ntp_query_server *s, char *buf, size_t size);

/* Choose among n servers held at stride bytes apart (the caller's own
 * struct may embed ntp_query_server); first is the first one's. */
ntp_query_result ntp_query_choose(const ntp_query_server *first, size_t n, size_t stride);

#endif
