/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_query: a one-shot query client in the manner of ntpdate (-q): it
 * sends `samples` client-mode requests to each server, keeps each server's
 * usable reply with the smallest round-trip delay, drops servers with no
 * usable reply (no reply, unsynchronised, insane header, kiss-o'-death),
 * picks the survivor with the lowest stratum and then the lowest delay,
 * and ends with
 * ntpdate's verdict line:
 *
 *   "step time server 192.168.163.131 offset -28.203650 sec"   (|offset| >= 0.5 s)
 *   "adjust time server 192.168.163.131 offset 0.000120 sec"
 *   "no server suitable for synchronization found"
 *
 * The packet rules, sample keeping and the choice are the core's
 * (ntp_query.h, shared with refd -Q); the reasons a server is dropped are
 * the core's words, but for "no reply to N requests".
 *
 * Simplification: ntpdate's clock filter and its falseticker pruning among
 * several survivors are reduced to "lowest stratum, then lowest delay".
 *
 * The engine owns the timing and the network; this module only builds
 * requests, digests replies (local receive time in) and concludes.
 */
#ifndef SIM_QUERY_H
#define SIM_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp_addr.h"
#include "ntp_query.h"
#include "ntp_time.h"
#include "sim_scenario.h"

#define SIM_QUERY_STEP_THRESHOLD NTP_QUERY_STEP_THRESHOLD /* s, ntpdate: step, not slew */
#define SIM_QUERY_LINES_MAX      1024                     /* bytes of the per-server report */

/* One server: the core's state and why it was dropped ("" if it survived). */
typedef struct sim_query_server {
	ntp_query_server q;
	char dropped[NTP_QUERY_WHY_MAX];
} sim_query_server;

typedef struct sim_query {
	const sim_query_spec *spec;
	ntp_query_params params; /* ntpdate's request fields */
	bool active;             /* requests out, no verdict yet */
	uint16_t port;           /* our source port */
	int runs;                /* queries concluded */
	sim_query_server srv[SIM_QUERY_MAX_SERVERS];
	bool ok; /* a server was chosen */
	size_t chosen;
	double offset;                   /* s, server - local, of the chosen server */
	char result[128];                /* the verdict line */
	char lines[SIM_QUERY_LINES_MAX]; /* one line per server */
} sim_query;

/* Start a query (any previous one is forgotten, runs is kept). */
void sim_query_begin(sim_query *q, const sim_query_spec *spec, uint16_t port);

/* The request for server i at local time `local` into buf; returns its
 * length (48) or 0 if it does not fit. */
size_t sim_query_request(sim_query *q, size_t i, ntp_time local, uint8_t *buf, size_t cap);

/* A datagram arrived at our port at local time `local`. */
void sim_query_reply(sim_query *q, const ntp_addr *from, const uint8_t *buf, size_t len,
                     ntp_time local);

/* Conclude: choose a server, fill result and lines. */
void sim_query_finish(sim_query *q);

/* Conclude without sending anything (e.g. "the NTP socket is in use"). */
void sim_query_abort(sim_query *q, const char *why);

#endif
