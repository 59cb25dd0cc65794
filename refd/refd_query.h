/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refd_query: `refd -Q HOST[:PORT]...`, a one-shot query like `ntpdate -q`
 * and ntpdig.  It never sets a clock.
 *
 * Requests leave from an ephemeral port (so a daemon on port 123 is never
 * in the way) with a random transmit timestamp (ntpdig's minimal request);
 * the real T1 stays in the core.  The packet rules, the sample kept and
 * the choice of server are the core's (ntp_query.h, shared with ntpsim's
 * `query` events); this driver owns the sockets, DNS, pacing in real time
 * and the text/JSON output.
 *
 * Each server gets up to `samples` requests: the next one when a reply
 * arrives or after timeout/samples seconds without one, all within
 * `timeout` seconds.
 */
#ifndef REFD_QUERY_H
#define REFD_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ntp_addr.h"
#include "ntp_query.h"
#include "ntp_time.h"
#include "refd_opts.h"
#include "refd_sock.h"

#define REFD_QUERY_STEP_THRESHOLD NTP_QUERY_STEP_THRESHOLD /* s, "step" rather than "adjust" */
/* Exit status of refd -Q when no server is suitable and one of them sent a
 * kiss-o'-death (1: none suitable for another reason). */
#define REFD_QUERY_EXIT_KOD 3

_Static_assert(REFD_QUERY_SAMPLES_MAX <= NTP_QUERY_SAMPLES_MAX, "-n fits the core's sample limit");

/* One server: what the command line and DNS gave, and the core's state. */
typedef struct refd_query_server {
	char label[REFD_HOST_MAX]; /* as given on the command line (with any port) */
	char host[REFD_HOST_MAX];  /* without the port */
	ntp_addr addr;             /* with port */
	bool resolved;
	char resolve_err[128];
	ntp_query_server q;
} refd_query_server;

/* Why an unchosen server is no good: "no reply in 2 s (4 requests)",
 * "KoD RATE", "server unsynchronised (LI=3, stratum 16, refid 0.0.0.0)", ... */
char *refd_query_reason(const refd_query_server *s, double timeout, char *buf, size_t size);

/* Print the result (text or JSON) to out (and failure lines to err_out);
 * returns the exit status (0: a suitable server; REFD_QUERY_EXIT_KOD: none,
 * and one sent a kiss-o'-death; 1: none for other reasons). */
int refd_query_report(const refd_query_server *s, size_t n, double timeout, bool json, FILE *out,
                      FILE *err_out);

/* The whole query mode: resolve, ask, report.  Returns the exit status. */
int refd_query_run(const refd_opts *o);

#endif
