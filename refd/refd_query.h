/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refd_query: `refd -Q HOST[:PORT]...`, a one-shot query like `ntpdate -q`
 * and ntpdig.  It never sets a clock.
 *
 * Requests leave from an ephemeral port (so a daemon on port 123 is never
 * in the way) with a random transmit timestamp; the real T1 stays here and
 * a reply counts only when its origin echoes one of our transmit
 * timestamps (RFC 5905 §8 TEST2; zero timestamps fail TEST3, a second reply
 * to the same request is a duplicate, TEST1).  A kiss-o'-death (a stratum 0
 * reply, whatever its LI: RFC 5905 §7.4) stops the queries to that server
 * at once and makes it unsuitable -- but for the state codes INIT and STEP,
 * which an unsynchronised server sends; an unsynchronised server (LI=3,
 * stratum 0 INIT/STEP or stratum 16),
 * a reference time after the transmit time and a root distance of 16 s or
 * more make the reply unusable (TEST6/TEST7), as in the core's client.
 *
 * Each server gets up to `samples` requests: the next one when a reply
 * arrives or after timeout/samples seconds without one, all within
 * `timeout` seconds.  The sample with the smallest delay is kept; the
 * server with the lowest stratum, then the lowest delay, is chosen.
 */
#ifndef REFD_QUERY_H
#define REFD_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ntp_addr.h"
#include "ntp_time.h"
#include "refd_opts.h"
#include "refd_sock.h"

#define REFD_QUERY_STEP_THRESHOLD                                                                  \
	0.5                         /* s, ntpdate NTPDATE_THRESHOLD: "step" rather than "adjust" */
#define REFD_QUERY_MAXDISPERSE 16.0 /* s, RFC 5905 MAXDISP: root distance limit (TEST7) */
/* Exit status of refd -Q when no server is suitable and one of them sent a
 * kiss-o'-death (1: none suitable for another reason). */
#define REFD_QUERY_EXIT_KOD 3

enum refd_reply_verdict {
	REFD_REPLY_OK = 0,   /* a usable sample */
	REFD_REPLY_IGNORED,  /* not an answer to us (decode error, wrong mode, bogus origin) */
	REFD_REPLY_DUP,      /* second reply to the same request */
	REFD_REPLY_KOD,      /* kiss-o'-death: stop asking */
	REFD_REPLY_UNUSABLE, /* an answer, but from an unsynchronised or insane server */
};

typedef struct refd_query_server {
	char label[REFD_HOST_MAX]; /* as given on the command line (with any port) */
	char host[REFD_HOST_MAX];  /* without the port */
	ntp_addr addr;             /* with port */
	bool resolved;
	char resolve_err[128];
	int sent, replies, ignored;
	ntp_ts64 xmt[REFD_QUERY_SAMPLES_MAX]; /* the random transmit timestamps we sent */
	ntp_time t1[REFD_QUERY_SAMPLES_MAX];  /* local send time of each */
	bool answered[REFD_QUERY_SAMPLES_MAX];
	bool have;            /* a usable sample */
	bool measured;        /* some sample, usable or not (for reports) */
	double offset, delay; /* s, of the smallest-delay usable sample, else of any */
	uint8_t leap, stratum, version;
	int8_t precision;
	uint32_t refid;
	double rootdelay, rootdisp; /* s */
	bool kod;
	char kiss[5];
	char unusable[160];    /* why the last answer was unusable; "" if none */
	char ignored_why[160]; /* last ignored datagram's reason */
} refd_query_server;

/* Judge one datagram from the server at local receive time t4 and keep
 * its sample if its delay is the smallest so far (usable samples always
 * win over unusable ones, which are kept only for the report).  why gets
 * the reason for anything but OK. */
int refd_query_reply(refd_query_server *s, const uint8_t *buf, size_t len, ntp_time t4, char *why,
                     size_t whysize);

/* Build request k (48 bytes) with random transmit timestamp nonce, sent at
 * local time t1.  Returns 48. */
size_t refd_query_request(refd_query_server *s, int k, ntp_ts64 nonce, ntp_time t1, uint8_t *buf,
                          size_t cap);

/* Index of the chosen server (lowest stratum, then lowest delay), or -1. */
int refd_query_choose(const refd_query_server *s, size_t n);

/* A refid as the reports show it: the four characters for stratum 0 and
 * 1 ("INIT", "LOCL", "GPS"), a dotted quad above. */
char *refd_query_refid(uint32_t refid, uint8_t stratum, char *buf, size_t size);

/* Why an unchosen server is no good: "no reply in 2 s (4 requests)",
 * "KoD RATE", "server unsynchronised (LI=3, stratum 16, refid INIT)", ... */
char *refd_query_reason(const refd_query_server *s, double timeout, char *buf, size_t size);

/* Print the result (text or JSON) to out (and failure lines to err_out);
 * returns the exit status (0: a suitable server; REFD_QUERY_EXIT_KOD: none,
 * and one sent a kiss-o'-death; 1: none for other reasons). */
int refd_query_report(const refd_query_server *s, size_t n, double timeout, bool json, FILE *out,
                      FILE *err_out);

/* The whole query mode: resolve, ask, report.  Returns the exit status. */
int refd_query_run(const refd_opts *o);

#endif
