/* SPDX-License-Identifier: BSD-2-Clause */
/* One-shot query client (ntpdate -q semantics, see sim_query.h): a driver
 * of the core's ntp_query in virtual time. */
#include "sim_query.h"

#include <stdio.h>
#include <string.h>

#include "ntp_pkt.h"

#define QUERY_VERSION   4    /* NTPv4 requests, as ntpdate sends by default */
#define QUERY_POLL      6    /* log2 s, what ntpdate puts in its requests (NTP_MINPOLL) */
#define QUERY_PRECISION (-6) /* log2 s, ntpdate's NTPDATE_PRECISION */

_Static_assert(SIM_QUERY_MAX_SAMPLES <= NTP_QUERY_SAMPLES_MAX,
               "the scenario's sample limit fits the core's");

void
sim_query_begin(sim_query *q, const sim_query_spec *spec, uint16_t port)
{
	int runs = q->runs;

	memset(q, 0, sizeof(*q));
	q->runs = runs;
	q->spec = spec;
	q->port = port;
	q->active = true;
	/* The engine paces the requests itself (events), so no gap here. */
	q->params.version = QUERY_VERSION;
	q->params.poll = QUERY_POLL;
	q->params.precision = QUERY_PRECISION;
	q->params.samples = spec->samples > 0 ? spec->samples : SIM_QUERY_MAX_SAMPLES;
	for (size_t i = 0; i < SIM_QUERY_MAX_SERVERS; i++) {
		ntp_query_server_init(&q->srv[i].q);
	}
}

size_t
sim_query_request(sim_query *q, size_t i, ntp_time local, uint8_t *buf, size_t cap)
{
	if (i >= q->spec->n_servers) {
		return 0;
	}
	/* ntpdate's transmit timestamp is T1 itself: deterministic, no nonce.
	 * Virtual time has one clock: local stands for mono as well. */
	return ntp_query_request(&q->srv[i].q, &q->params, ntp_ts_from_unix_ns(local),
	                         ntp_now_at(local, local), buf, cap);
}

void
sim_query_reply(sim_query *q, const ntp_addr *from, const uint8_t *buf, size_t len, ntp_time local)
{
	sim_query_server *s = NULL;
	char why[NTP_QUERY_WHY_MAX];

	if (!q->active) {
		return;
	}
	for (size_t i = 0; i < q->spec->n_servers; i++) {
		if (ntp_addr_same_host(from, &q->spec->servers[i])) {
			s = &q->srv[i];
		}
	}
	if (s != NULL) {
		ntp_query_reply(&s->q, &q->params, buf, len, ntp_now_at(local, local), why,
		                sizeof(why));
	}
}

/* Why the server is dropped, "" when it is usable: the core's reason, or
 * ntpdate's words when nothing usable came back. */
static void
drop_reason(sim_query_server *s)
{
	ntp_query_unsuitable(&s->q, s->dropped, sizeof(s->dropped));
	if (!s->q.have && s->dropped[0] == '\0') {
		snprintf(s->dropped, sizeof(s->dropped), "no reply to %d requests", s->q.sent);
	}
}

void
sim_query_finish(sim_query *q)
{
	char addr[64];
	size_t len = 0;
	ntp_query_result r;

	for (size_t i = 0; i < q->spec->n_servers; i++) {
		sim_query_server *s = &q->srv[i];
		bool m = s->q.measured;

		drop_reason(s);
		ntp_addr_format(&q->spec->servers[i], addr, sizeof(addr));
		if (len < sizeof(q->lines)) {
			snprintf(q->lines + len, sizeof(q->lines) - len,
			         "server %s, stratum %u, offset %.6f, delay %.5f%s%s%s\n", addr,
			         m ? s->q.stratum : 0, m ? s->q.offset : 0.0, m ? s->q.delay : 0.0,
			         s->dropped[0] ? " (dropped: " : "", s->dropped,
			         s->dropped[0] ? ")" : "");
			len = strlen(q->lines);
		}
	}
	r = ntp_query_choose(&q->srv[0].q, q->spec->n_servers, sizeof(q->srv[0]));
	q->ok = r.chosen >= 0;
	if (q->ok) {
		q->chosen = (size_t)r.chosen;
		q->offset = r.offset;
		ntp_addr_format(&q->spec->servers[q->chosen], addr, sizeof(addr));
		snprintf(q->result, sizeof(q->result), "%s time server %s offset %.6f sec",
		         r.step ? "step" : "adjust", addr, q->offset);
	} else {
		snprintf(q->result, sizeof(q->result),
		         "no server suitable for synchronization found");
	}
	q->active = false;
	q->runs++;
}

void
sim_query_abort(sim_query *q, const char *why)
{
	q->ok = false;
	q->active = false;
	q->lines[0] = '\0';
	snprintf(q->result, sizeof(q->result), "%s", why);
	q->runs++;
}
