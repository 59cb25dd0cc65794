/* SPDX-License-Identifier: BSD-2-Clause */
/* core/ntp_host: ntp_host_sent, the driver's report of when a request
 * really left.  Every exchange is built with explicit times, so a T1 that
 * is the tick time instead of the reported send time gives a different,
 * exactly known, offset and delay. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "host_fixture.h"
#include "ntp_host.h"
#include "ntp_pkt.h"

#define S(x)      ((ntp_time)((x)*1e9))
#define T0        S(1700000000) /* 2023-11-14 22:13:20 UTC */
#define US        1000          /* ns */
#define THETA     S(0.001)      /* the server's clock is 1 ms ahead of ours */
#define ONE_WAY   (100 * US)    /* each direction of the path */
#define TURN      (10 * US)     /* server's receive-to-transmit time */
#define LATE_SEND (30 * US)     /* driver's delay between tick and send */
#define ROUNDING  2e-9          /* s, ns and 2^-32 s roundings of T1..T4 */

static const char SERVER_ADDR[] = "192.168.163.131";

static ntp_addr
addr_of(const char *s)
{
	ntp_addr a;

	memset(&a, 0, sizeof a);
	cr_assert(ntp_addr_parse(s, &a), "bad address %s", s);
	a.port = 123;
	return a;
}

static ntp_host *
host_of(const char *conf_text)
{
	ntp_host_params p;

	memset(&p, 0, sizeof p);
	p.seed = 7;
	p.precision = -20;
	p.now = AT(T0);
	return fixture_host(conf_text, &p);
}

/* Tick until the host sends; the SEND action is left in *a, its tick
 * time in *t. */
static const ntp_action *
next_send(ntp_host *h, ntp_actions *a, ntp_time *t)
{
	for (int i = 0; i < 100; i++) {
		*t = ntp_host_next(h);
		ntp_actions_clear(a);
		ntp_host_tick(h, AT(*t), a);
		for (size_t k = 0; k < a->n; k++) {
			if (a->v[k].kind == NTP_ACT_SEND) {
				return &a->v[k];
			}
		}
	}
	cr_assert_fail("the host never sent a request");
	return NULL;
}

static ntp_pkt
decoded(const ntp_action *send)
{
	ntp_pkt p;

	cr_assert_eq(ntp_pkt_decode(send->u.send.buf, send->u.send.len, &p, NULL), NTP_PKT_OK);
	return p;
}

/* The answer of a good stratum 1 server whose clock is THETA ahead, to a
 * request that left at our local time `left`; *t4 gets our receive time. */
static size_t
answer(const ntp_pkt *req, uint8_t mode, ntp_time left, uint8_t *buf, ntp_time *t4)
{
	ntp_time t2 = left + ONE_WAY + THETA, t3 = t2 + TURN;
	ntp_pkt r;
	size_t len = 0;

	memset(&r, 0, sizeof r);
	r.version = 4;
	r.mode = mode;
	r.stratum = 1;
	r.poll = 6;
	r.precision = -20;
	r.refid = NTP_REFID("GPS");
	r.reftime = ntp_ts_from_unix_ns(t2 - S(10));
	r.org = req->xmt;
	r.rec = ntp_ts_from_unix_ns(t2);
	r.xmt = ntp_ts_from_unix_ns(t3);
	*t4 = t3 - THETA + ONE_WAY;
	cr_assert_eq(ntp_pkt_encode(&r, buf, NTP_PKT_MAX_LEN, &len), NTP_PKT_OK);
	return len;
}

/* Offset and delay of association 1 after the reply to *req arrives. */
static void
sample_after_reply(ntp_host *h, ntp_actions *a, const ntp_pkt *req, uint8_t mode, ntp_time left,
                   double *offset, double *delay)
{
	ntp_addr srv = addr_of(SERVER_ADDR);
	uint8_t buf[NTP_PKT_MAX_LEN];
	ntp_time t4;
	size_t len = answer(req, mode, left, buf, &t4);
	ntp_peer_info pi;
	ntp_peer_counters pc;

	ntp_actions_clear(a);
	ntp_host_recv(h, &srv, NULL, buf, len, AT(t4), a);
	cr_assert(ntp_host_peer_counters(h, 1, &pc));
	cr_assert_eq(pc.received, 1u, "the reply must be accepted (flash 0x%x)", pc.flash);
	cr_assert_eq(ntp_host_peers(h, t4, &pi, 1), 1u);
	*offset = pi.offset;
	*delay = pi.delay;
}

/* The request leaves LATE_SEND after its tick; the reply is built from
 * that true departure.  Returns the sample's offset and delay. */
static void
exchange(const char *conf_text, bool report, ntp_time report_shift, double *offset, double *delay)
{
	ntp_host *h = host_of(conf_text);
	ntp_actions *a = fixture_actions();
	ntp_time tick;
	const ntp_action *send = next_send(h, a, &tick);
	ntp_pkt req = decoded(send);
	uint8_t mode = req.mode == NTP_MODE_CLIENT ? NTP_MODE_SERVER : NTP_MODE_PASSIVE;

	if (report) {
		ntp_host_sent(h, &send->u.send.to, send->u.send.buf, send->u.send.len,
		              tick + LATE_SEND + report_shift);
	}
	sample_after_reply(h, a, &req, mode, tick + LATE_SEND, offset, delay);
	free(a);
	ntp_host_free(h);
}

Test(host_sent, offset_and_delay_use_the_reported_send_time)
{
	double off, del, off0, del0;

	exchange("server 192.168.163.131\n", true, 0, &off, &del);
	exchange("server 192.168.163.131\n", false, 0, &off0, &del0);
	/* true values: the exchange was built from the real departure */
	cr_assert(fabs(off - ntp_time_to_s(THETA)) < ROUNDING, "offset %.9f s", off);
	cr_assert(fabs(del - ntp_time_to_s(2 * ONE_WAY)) < ROUNDING, "delay %.9f s", del);
	/* without the report T1 is the tick: half the lateness in the offset,
	 * all of it in the delay */
	cr_assert(fabs(off0 - off - ntp_time_to_s(LATE_SEND) / 2) < ROUNDING, "offset %.9f s",
	          off0);
	cr_assert(fabs(del0 - del - ntp_time_to_s(LATE_SEND)) < ROUNDING, "delay %.9f s", del0);
}

Test(host_sent, symmetric_request_too)
{
	double off, del, off0, del0;

	exchange("peer 192.168.163.131\n", true, 0, &off, &del);
	exchange("peer 192.168.163.131\n", false, 0, &off0, &del0);
	cr_assert(fabs(off - ntp_time_to_s(THETA)) < ROUNDING, "offset %.9f s", off);
	cr_assert(fabs(del - ntp_time_to_s(2 * ONE_WAY)) < ROUNDING, "delay %.9f s", del);
	cr_assert(fabs(off0 - off - ntp_time_to_s(LATE_SEND) / 2) < ROUNDING, "offset %.9f s",
	          off0);
}

/* Reports outside [build time, build time + NTP_HOST_SENT_LATE_MAX] are
 * from another clock: T1 stays the tick time. */
Test(host_sent, window_of_believable_reports)
{
	ntp_time late_max = ntp_time_from_s(NTP_HOST_SENT_LATE_MAX);
	double off, del, off0, del0;

	exchange("server 192.168.163.131\n", false, 0, &off0, &del0);
	/* before the tick: left at tick + LATE_SEND + shift < tick */
	exchange("server 192.168.163.131\n", true, -LATE_SEND - 1, &off, &del);
	cr_assert_eq(off, off0);
	cr_assert_eq(del, del0);
	/* just past the window */
	exchange("server 192.168.163.131\n", true, late_max - LATE_SEND + 1, &off, &del);
	cr_assert_eq(off, off0);
	/* at the edge of the window: taken (offset moves by half of late_max) */
	exchange("server 192.168.163.131\n", true, late_max - LATE_SEND, &off, &del);
	cr_assert(fabs(off0 - off - ntp_time_to_s(late_max) / 2) < ROUNDING, "offset %.9f s", off);
	/* exactly the tick time: the same as no report */
	exchange("server 192.168.163.131\n", true, -LATE_SEND, &off, &del);
	cr_assert(fabs(off - off0) < ROUNDING);
}

/* A report that does not match an outstanding request changes nothing:
 * another transmit timestamp, another destination, other modes. */
Test(host_sent, unmatched_reports_are_ignored)
{
	ntp_host *h = host_of("server 192.168.163.131\n");
	ntp_actions *a = fixture_actions();
	ntp_addr other = addr_of("192.168.163.132"), other_port = addr_of(SERVER_ADDR);
	ntp_time tick, when;
	const ntp_action *send = next_send(h, a, &tick);
	ntp_pkt req = decoded(send), bent;
	uint8_t buf[NTP_PKT_MAX_LEN];
	size_t len = 0;
	double off, del, off0, del0;

	exchange("server 192.168.163.131\n", false, 0, &off0, &del0);
	when = tick + LATE_SEND;
	/* another nonce */
	bent = req;
	bent.xmt ^= 1;
	cr_assert_eq(ntp_pkt_encode(&bent, buf, sizeof buf, &len), NTP_PKT_OK);
	ntp_host_sent(h, &send->u.send.to, buf, len, when);
	/* the right bytes to another host, or another port */
	ntp_host_sent(h, &other, send->u.send.buf, send->u.send.len, when);
	other_port.port = 124;
	ntp_host_sent(h, &other_port, send->u.send.buf, send->u.send.len, when);
	/* the same nonce in a server reply (mode 4), mode 6 and a symmetric
	 * mode the association does not send */
	for (uint8_t mode = NTP_MODE_ACTIVE; mode <= NTP_MODE_CONTROL; mode++) {
		if (mode == NTP_MODE_CLIENT) {
			continue;
		}
		bent = req;
		bent.mode = mode;
		if (ntp_pkt_encode(&bent, buf, sizeof buf, &len) == NTP_PKT_OK) {
			ntp_host_sent(h, &send->u.send.to, buf, len, when);
		}
	}
	sample_after_reply(h, a, &req, NTP_MODE_SERVER, when, &off, &del);
	cr_assert_eq(off, off0, "offset %.9f s, unreported %.9f s", off, off0);
	cr_assert_eq(del, del0);
	free(a);
	ntp_host_free(h);
}

/* A request replaced by the next poll is stale: its report must not move
 * the T1 of the newer one. */
Test(host_sent, stale_request_is_ignored)
{
	ntp_host *h = host_of("server 192.168.163.131\n");
	ntp_actions *a = fixture_actions(), *b = fixture_actions();
	ntp_time tick1, tick2;
	const ntp_action *first = next_send(h, a, &tick1);
	const ntp_action *second = next_send(h, b, &tick2);
	ntp_pkt req2 = decoded(second);
	double off, del;

	cr_assert_neq(decoded(first).xmt, req2.xmt);
	/* the old request "left" just after the new one was built */
	ntp_host_sent(h, &first->u.send.to, first->u.send.buf, first->u.send.len, tick2 + 5 * US);
	/* the new one left at its tick: the exchange is exact only if T1 is
	 * still tick2 */
	sample_after_reply(h, b, &req2, NTP_MODE_SERVER, tick2, &off, &del);
	cr_assert(fabs(off - ntp_time_to_s(THETA)) < ROUNDING, "offset %.9f s", off);
	cr_assert(fabs(del - ntp_time_to_s(2 * ONE_WAY)) < ROUNDING, "delay %.9f s", del);
	/* answered: a late report of it changes nothing any more */
	ntp_host_sent(h, &second->u.send.to, second->u.send.buf, second->u.send.len,
	              tick2 + 5 * US);
	free(a);
	free(b);
	ntp_host_free(h);
}

/* The host's own server replies (mode 4) are not requests, even when they
 * go to the server it polls and carry, after the driver patched the
 * transmit timestamp, the very nonce of its outstanding request. */
Test(host_sent, server_replies_are_ignored)
{
	ntp_host *h = host_of("server 192.168.163.131\n");
	ntp_actions *a = fixture_actions(), *b = fixture_actions();
	ntp_addr srv = addr_of(SERVER_ADDR), me = addr_of("192.168.163.140");
	ntp_time tick;
	const ntp_action *send = next_send(h, a, &tick), *reply = NULL;
	ntp_pkt req = decoded(send), q;
	uint8_t buf[NTP_PKT_MAX_LEN];
	size_t len = 0;
	double off, del, off0, del0;

	exchange("server 192.168.163.131\n", false, 0, &off0, &del0);
	/* the server we poll asks us for the time too */
	memset(&q, 0, sizeof q);
	q.version = 4;
	q.mode = NTP_MODE_CLIENT;
	q.xmt = 0x0123456789abcdefull;
	cr_assert_eq(ntp_pkt_encode(&q, buf, sizeof buf, &len), NTP_PKT_OK);
	ntp_host_recv(h, &srv, &me, buf, len, AT(tick + US), b);
	for (size_t k = 0; k < b->n; k++) {
		if (b->v[k].kind == NTP_ACT_SEND) {
			reply = &b->v[k];
		}
	}
	cr_assert_not_null(reply, "the server part must answer");
	cr_assert_eq(decoded(reply).mode, NTP_MODE_SERVER);
	cr_assert(reply->u.send.patch_xmt);
	memcpy(buf, reply->u.send.buf, reply->u.send.len);
	memcpy(buf + 40, send->u.send.buf + 40, 8); /* the nonce, as if patched in */
	ntp_host_sent(h, &reply->u.send.to, buf, reply->u.send.len, tick + LATE_SEND);
	sample_after_reply(h, a, &req, NTP_MODE_SERVER, tick + LATE_SEND, &off, &del);
	cr_assert_eq(off, off0, "offset %.9f s, unreported %.9f s", off, off0);
	cr_assert_eq(del, del0);
	free(a);
	free(b);
	ntp_host_free(h);
}

Test(host_sent, bad_input_never_crashes)
{
	ntp_host *h = host_of("server 192.168.163.131\n");
	ntp_actions *a = fixture_actions();
	ntp_time tick;
	const ntp_action *send = next_send(h, a, &tick);
	ntp_pkt req = decoded(send);
	uint8_t junk[NTP_PKT_MAX_LEN];
	double off, del, off0, del0;

	exchange("server 192.168.163.131\n", false, 0, &off0, &del0);
	ntp_host_sent(NULL, &send->u.send.to, send->u.send.buf, send->u.send.len, tick);
	ntp_host_sent(h, NULL, send->u.send.buf, send->u.send.len, tick);
	ntp_host_sent(h, &send->u.send.to, NULL, send->u.send.len, tick);
	ntp_host_sent(h, &send->u.send.to, send->u.send.buf, 0, tick + LATE_SEND);
	ntp_host_sent(h, &send->u.send.to, send->u.send.buf, 47, tick + LATE_SEND);
	ntp_host_sent(h, &send->u.send.to, send->u.send.buf, send->u.send.len, INT64_MAX);
	ntp_host_sent(h, &send->u.send.to, send->u.send.buf, send->u.send.len, INT64_MIN);
	for (size_t i = 0; i < sizeof junk; i++) {
		junk[i] = (uint8_t)(i * 37u + 11u);
	}
	ntp_host_sent(h, &send->u.send.to, junk, sizeof junk, tick + LATE_SEND);
	/* none of that moved T1 */
	sample_after_reply(h, a, &req, NTP_MODE_SERVER, tick + LATE_SEND, &off, &del);
	cr_assert_eq(off, off0);
	free(a);
	ntp_host_free(h);
}
