/* SPDX-License-Identifier: BSD-2-Clause */
/* One-shot query client (ntpdate -q semantics, see sim_query.h). */
#include "sim_query.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ntp_pkt.h"

#define QUERY_VERSION   4    /* NTPv4 requests, as ntpdate sends by default */
#define QUERY_POLL      6    /* log2 s, what ntpdate puts in its requests (NTP_MINPOLL) */
#define QUERY_PRECISION (-6) /* log2 s, ntpdate's NTPDATE_PRECISION */
#define STRATUM_MAX     15   /* ntpdate NTP_INFIN: stratum 16 means unsynchronised */

void
sim_query_begin(sim_query *q, const sim_query_spec *spec, uint16_t port)
{
	int runs = q->runs;

	memset(q, 0, sizeof(*q));
	q->runs = runs;
	q->spec = spec;
	q->port = port;
	q->active = true;
}

size_t
sim_query_request(sim_query *q, size_t i, ntp_time local, uint8_t *buf, size_t cap)
{
	ntp_pkt p;
	size_t len = 0;
	sim_query_server *s = &q->srv[i];

	if (i >= q->spec->n_servers || s->sent >= SIM_QUERY_MAX_SAMPLES) {
		return 0;
	}
	memset(&p, 0, sizeof(p));
	p.leap = NTP_LEAP_NOTSYNC;
	p.version = QUERY_VERSION;
	p.mode = NTP_MODE_CLIENT;
	p.poll = QUERY_POLL;
	p.precision = QUERY_PRECISION;
	p.xmt = ntp_ts_from_unix_ns(local);
	if (ntp_pkt_encode(&p, buf, cap, &len) != NTP_PKT_OK) {
		return 0;
	}
	s->xmt[s->sent++] = p.xmt;
	return len;
}

void
sim_query_reply(sim_query *q, const ntp_addr *from, const uint8_t *buf, size_t len, ntp_time local)
{
	ntp_pkt p;
	sim_query_server *s = NULL;
	ntp_ts64 t4 = ntp_ts_from_unix_ns(local);
	bool ours = false;
	double offset, delay;

	if (!q->active) {
		return;
	}
	for (size_t i = 0; i < q->spec->n_servers; i++) {
		if (ntp_addr_same_host(from, &q->spec->servers[i])) {
			s = &q->srv[i];
		}
	}
	if (s == NULL || ntp_pkt_decode(buf, len, &p, NULL) != NTP_PKT_OK ||
	    p.mode != NTP_MODE_SERVER) {
		return;
	}
	for (int k = 0; k < s->sent; k++) {
		ours |= s->xmt[k] == p.org;
	}
	if (!ours) {
		s->bogus++;
		return;
	}
	s->received++;
	if (ntp_pkt_is_kod(&p)) {
		s->kod = true;
		for (int k = 0; k < 4; k++) {
			char c = (char)(p.refid >> (24 - 8 * k));

			s->kiss[k] = c >= 32 && c < 127 ? c : '?';
		}
		s->kiss[4] = '\0';
		return;
	}
	/* RFC 5905 §8: offset ((T2 - T1) + (T3 - T4)) / 2, delay (T4 - T1) - (T3 - T2),
	 * differences in fixed point first. */
	offset = (ntp_dur_to_s(ntp_ts_sub(p.rec, p.org)) + ntp_dur_to_s(ntp_ts_sub(p.xmt, t4))) / 2;
	delay = ntp_dur_to_s(ntp_ts_sub(t4, p.org)) - ntp_dur_to_s(ntp_ts_sub(p.xmt, p.rec));
	if (!s->have || delay < s->delay) {
		s->have = true;
		s->offset = offset;
		s->delay = delay;
		s->stratum = p.stratum;
		s->leap = p.leap;
		s->refid = p.refid;
		s->age = p.reftime == 0 ? INFINITY : ntp_dur_to_s(ntp_ts_sub(p.org, p.reftime));
	}
}

/* ntpdate's sanity checks, in its order; "" when the server is usable. */
static void
drop_reason(sim_query_server *s)
{
	if (!s->have) {
		if (s->kod) {
			snprintf(s->dropped, sizeof(s->dropped), "kiss-o'-death %s", s->kiss);
		} else {
			snprintf(s->dropped, sizeof(s->dropped), "no reply to %d requests",
			         s->sent);
		}
	} else if (s->stratum > STRATUM_MAX || s->stratum == 0) {
		snprintf(s->dropped, sizeof(s->dropped), "stratum %u too high", s->stratum);
	} else if (s->leap == NTP_LEAP_NOTSYNC) {
		snprintf(s->dropped, sizeof(s->dropped), "leap not in sync");
	} else if (s->age < 0.0) {
		snprintf(s->dropped, sizeof(s->dropped), "reference time after the request");
	} else if (!(s->age < SIM_QUERY_MAXAGE)) {
		snprintf(s->dropped, sizeof(s->dropped), "no update for over a day");
	} else {
		s->dropped[0] = '\0';
	}
}

void
sim_query_finish(sim_query *q)
{
	char addr[64];
	size_t len = 0;

	q->ok = false;
	for (size_t i = 0; i < q->spec->n_servers; i++) {
		sim_query_server *s = &q->srv[i];

		drop_reason(s);
		ntp_addr_format(&q->spec->servers[i], addr, sizeof(addr));
		if (len < sizeof(q->lines)) {
			snprintf(q->lines + len, sizeof(q->lines) - len,
			         "server %s, stratum %u, offset %.6f, delay %.5f%s%s%s\n", addr,
			         s->have ? s->stratum : 0, s->have ? s->offset : 0.0,
			         s->have ? s->delay : 0.0, s->dropped[0] ? " (dropped: " : "",
			         s->dropped, s->dropped[0] ? ")" : "");
			len = strlen(q->lines);
		}
		if (s->dropped[0] != '\0') {
			continue;
		}
		if (!q->ok || s->stratum < q->srv[q->chosen].stratum ||
		    (s->stratum == q->srv[q->chosen].stratum &&
		     s->delay < q->srv[q->chosen].delay)) {
			q->ok = true;
			q->chosen = i;
		}
	}
	if (q->ok) {
		q->offset = q->srv[q->chosen].offset;
		ntp_addr_format(&q->spec->servers[q->chosen], addr, sizeof(addr));
		snprintf(q->result, sizeof(q->result), "%s time server %s offset %.6f sec",
		         fabs(q->offset) >= SIM_QUERY_STEP_THRESHOLD ? "step" : "adjust", addr,
		         q->offset);
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
