/* SPDX-License-Identifier: BSD-2-Clause */
/* core/ntp_query: request building, every rejection reason, sample keeping,
 * pacing and the choice of server, on packets built with the core's codec. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ntp_pkt.h"
#include "ntp_query.h"

#define S(x)  ((ntp_time)(x)*NTP_NS_PER_S)
#define T1    S(INT64_C(1795503373)) /* 2026-11-24 06:56:13 UTC, local clock */
#define MONO  S(1000)                /* the caller's monotonic clock at T1 */
#define NONCE UINT64_C(0x1c2d3e4f5a6b7c8d)

static const ntp_query_params PAR = {
        .version = 4, .poll = 6, .precision = -6, .samples = 4, .gap = S(1)};
static ntp_query_server srv;

static void
setup(void)
{
	uint8_t req[64];

	ntp_query_server_init(&srv);
	cr_assert_eq(ntp_query_request(&srv, &PAR, NONCE, ntp_now_at(MONO, T1), req, sizeof req),
	             48);
}

/* A synchronised stratum 2 server's reply to the request with transmit
 * timestamp org: its clock `offset` s ahead, `delay` s round trip, 1 ms
 * spent in the server. */
static ntp_pkt
good(ntp_ts64 org, double offset, double delay)
{
	ntp_pkt p;
	ntp_time t2 = T1 + ntp_time_from_s(delay / 2.0 + offset);

	memset(&p, 0, sizeof p);
	p.version = 4;
	p.mode = NTP_MODE_SERVER;
	p.stratum = 2;
	p.precision = -20;
	p.rootdelay = ntp_short_from_s(0.002);
	p.rootdisp = ntp_short_from_s(0.01);
	p.refid = 0xc0a8a383u;
	p.reftime = ntp_ts_from_unix_ns(t2 - S(10));
	p.org = org;
	p.rec = ntp_ts_from_unix_ns(t2);
	p.xmt = ntp_ts_from_unix_ns(t2 + 1000000);
	return p;
}

/* T4 for a reply built by good() with this delay. */
static ntp_now
t4(double delay)
{
	ntp_time d = ntp_time_from_s(delay) + 1000000;

	return ntp_now_at(MONO + d, T1 + d);
}

static ntp_query_verdict
judge(const ntp_pkt *p, double delay, char *why, size_t whysize)
{
	uint8_t buf[128];
	size_t len = 0;

	cr_assert_eq(ntp_pkt_encode(p, buf, sizeof buf, &len), NTP_PKT_OK);
	return ntp_query_reply(&srv, &PAR, buf, len, t4(delay), why, whysize);
}

Test(query, request_carries_the_callers_fields_and_transmit_timestamp, .init = setup)
{
	uint8_t req[64];
	ntp_pkt p;

	cr_assert_eq(srv.sent, 1);
	cr_assert_eq(srv.t1[0], T1, "T1 kept here");
	cr_assert_eq(srv.due, MONO + S(1), "next request one gap later");
	cr_assert_eq(ntp_query_request(&srv, &PAR, 0, ntp_now_at(MONO, T1), req, sizeof req), 48);
	cr_assert_eq(ntp_pkt_decode(req, 48, &p, NULL), NTP_PKT_OK);
	cr_assert_eq(p.mode, NTP_MODE_CLIENT);
	cr_assert_eq(p.leap, NTP_LEAP_NOTSYNC);
	cr_assert_eq(p.version, 4);
	cr_assert_eq(p.poll, 6);
	cr_assert_eq(p.precision, -6);
	cr_assert_eq(p.xmt, 1, "a zero transmit timestamp is sent as 1");
	cr_assert_eq(p.org, 0);
	cr_assert_eq(p.rec, 0);
	cr_assert_eq(ntp_query_request(&srv, &PAR, 5, ntp_now_at(MONO, T1), req, 47), 0,
	             "a buffer too small");
	cr_assert_eq(ntp_query_request(&srv, &PAR, 6, ntp_now_at(MONO, T1), req, sizeof req), 48);
	cr_assert_eq(ntp_query_request(&srv, &PAR, 7, ntp_now_at(MONO, T1), req, sizeof req), 48);
	cr_assert_eq(srv.sent, 4);
	cr_assert_eq(ntp_query_due(&srv, &PAR), NTP_TIME_NEVER);
	cr_assert_eq(ntp_query_request(&srv, &PAR, 8, ntp_now_at(MONO, T1), req, sizeof req), 0,
	             "no fifth sample");
}

Test(query, good_reply_gives_offset_delay_and_makes_the_next_request_due, .init = setup)
{
	char why[NTP_QUERY_WHY_MAX];
	ntp_pkt p = good(NONCE, -28.203650, 0.004);

	cr_assert_eq(judge(&p, 0.004, why, sizeof why), NTP_QUERY_OK, "%s", why);
	cr_assert_str_eq(why, "");
	cr_assert(srv.have);
	cr_assert_float_eq(srv.offset, -28.203650, 1e-8);
	cr_assert_float_eq(srv.delay, 0.004, 1e-8);
	cr_assert_eq(srv.stratum, 2);
	cr_assert_eq(srv.replies, 1);
	cr_assert_eq(ntp_query_due(&srv, &PAR), t4(0.004).mono, "an answer: the next at once");
	cr_assert_not(ntp_query_done(&srv, &PAR), "3 more samples to take");
}

/* Datagrams that are no answer to us: IGNORED, each with its reason. */
Test(query, ignored_datagrams_say_why, .init = setup)
{
	static const struct {
		int what;
		const char *why;
	} cases[] = {{0, "malformed reply"},
	             {1, "is not a server reply"},
	             {2, "TEST3 zero origin"},
	             {3, "TEST2 bogus origin"}};
	char why[NTP_QUERY_WHY_MAX];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint8_t buf[128];
		size_t len = 0;
		ntp_pkt p = good(NONCE, 0.0, 0.001);

		setup();
		p.mode = cases[i].what == 1 ? NTP_MODE_CLIENT : NTP_MODE_SERVER;
		p.org = cases[i].what == 2 ? 0 : cases[i].what == 3 ? NONCE ^ 1 : NONCE;
		cr_assert_eq(ntp_pkt_encode(&p, buf, sizeof buf, &len), NTP_PKT_OK);
		if (cases[i].what == 0) {
			len = 47;
		}
		cr_assert_eq(ntp_query_reply(&srv, &PAR, buf, len, t4(0.001), why, sizeof why),
		             NTP_QUERY_IGNORED, "case %zu", i);
		cr_assert(strstr(why, cases[i].why) != NULL, "%s", why);
		cr_assert_str_eq(srv.ignored_why, why);
		cr_assert_eq(srv.ignored, 1);
		cr_assert_eq(srv.replies, 0);
		cr_assert_not(srv.measured);
	}
}

Test(query, duplicate_is_test1, .init = setup)
{
	char why[NTP_QUERY_WHY_MAX];
	ntp_pkt p = good(NONCE, 0.0, 0.001);

	cr_assert_eq(judge(&p, 0.001, why, sizeof why), NTP_QUERY_OK);
	cr_assert_eq(judge(&p, 0.001, why, sizeof why), NTP_QUERY_DUP);
	cr_assert(strstr(why, "TEST1") != NULL, "%s", why);
	cr_assert_eq(srv.replies, 1);
}

/* Answers from an unsynchronised or insane server: UNUSABLE, each reason. */
Test(query, every_unusable_reason, .init = setup)
{
	enum {
		ZERO_XMT,
		ZERO_REC,
		LEAP,
		STRAT0_INIT,
		STRAT0_STEP,
		STRAT16,
		REF0,
		REF_AHEAD,
		REF_OLD,
		ROOTDIST
	};
	static const char *const want[] = {
	        "TEST3 zero transmit timestamp",
	        "TEST3 zero receive timestamp",
	        "server unsynchronised (LI=3, stratum 2, refid 192.168.163.131)",
	        "server unsynchronised (LI=0, stratum 0, refid .INIT.)",
	        "server unsynchronised (LI=3, stratum 0, refid .STEP.)",
	        "server unsynchronised (LI=0, stratum 16, refid 192.168.163.131)",
	        "reference time zero (never synchronised)",
	        "reference time 5.000000 s after its transmit time",
	        "reference time 90000 s old: no update for over a day",
	        "root distance 16.500 s is 16 s or more",
	};
	char why[NTP_QUERY_WHY_MAX];

	for (int c = ZERO_XMT; c <= ROOTDIST; c++) {
		ntp_pkt p = good(NONCE, 0.25, 0.001);

		setup();
		switch (c) {
		case ZERO_XMT:
			p.xmt = 0;
			break;
		case ZERO_REC:
			p.rec = 0;
			break;
		case LEAP:
			p.leap = NTP_LEAP_NOTSYNC;
			break;
		case STRAT0_INIT:
			p.stratum = 0;
			p.refid = NTP_REFID("INIT");
			break;
		case STRAT0_STEP:
			p.stratum = 0;
			p.leap = NTP_LEAP_NOTSYNC;
			p.refid = NTP_REFID("STEP");
			break;
		case STRAT16:
			p.stratum = 16;
			break;
		case REF0:
			p.reftime = 0;
			break;
		case REF_AHEAD:
			p.reftime = ntp_ts_add(p.xmt, ntp_dur_from_s(5.0));
			break;
		case REF_OLD:
			p.reftime = ntp_ts_add(p.xmt, ntp_dur_from_s(-90000.0));
			break;
		default:
			p.rootdelay = ntp_short_from_s(1.0);
			p.rootdisp = ntp_short_from_s(16.0);
			break;
		}
		cr_assert_eq(judge(&p, 0.001, why, sizeof why), NTP_QUERY_UNUSABLE, "case %d: %s",
		             c, why);
		cr_assert_str_eq(why, want[c]);
		cr_assert_str_eq(srv.unusable, want[c]);
		cr_assert_not(srv.have);
		cr_assert_not(srv.kod, "INIT and STEP report a state, they are no kiss");
		cr_assert_eq(srv.measured, c > ZERO_REC, "case %d: kept for the report", c);
		ntp_query_unsuitable(&srv, why, sizeof why);
		cr_assert_str_eq(why, want[c]);
	}
}

/* Just inside the limits: a day minus a second, root distance 15.9 s. */
Test(query, limits_are_exclusive, .init = setup)
{
	char why[NTP_QUERY_WHY_MAX];
	ntp_pkt p = good(NONCE, 0.0, 0.001);

	p.reftime = ntp_ts_add(p.xmt, ntp_dur_from_s(-(NTP_QUERY_MAXAGE - 1.0)));
	p.rootdelay = 0;
	p.rootdisp = ntp_short_from_s(15.9);
	cr_assert_eq(judge(&p, 0.001, why, sizeof why), NTP_QUERY_OK, "%s", why);
}

Test(query, kiss_of_death_ends_the_server, .init = setup)
{
	uint8_t req[64];
	char why[NTP_QUERY_WHY_MAX];
	ntp_pkt p = good(NONCE, 0.001, 0.002);
	ntp_pkt k;

	cr_assert_eq(judge(&p, 0.002, why, sizeof why), NTP_QUERY_OK);
	cr_assert_eq(
	        ntp_query_request(&srv, &PAR, NONCE + 1, ntp_now_at(MONO, T1), req, sizeof req),
	        48);
	/* ntpd, NTPsec and refd send RATE with LI=3; no timestamps needed */
	memset(&k, 0, sizeof k);
	k.leap = NTP_LEAP_NOTSYNC;
	k.version = 4;
	k.mode = NTP_MODE_SERVER;
	k.refid = NTP_REFID("RATE");
	k.org = NONCE + 1;
	cr_assert_eq(judge(&k, 0.001, why, sizeof why), NTP_QUERY_KOD);
	cr_assert_str_eq(why, "KoD RATE");
	cr_assert(srv.kod);
	cr_assert_not(srv.have, "earlier answers withdrawn");
	cr_assert(ntp_query_done(&srv, &PAR));
	cr_assert_eq(ntp_query_due(&srv, &PAR), NTP_TIME_NEVER);
	cr_assert_eq(
	        ntp_query_request(&srv, &PAR, NONCE + 2, ntp_now_at(MONO, T1), req, sizeof req), 0,
	        "no more requests after a kiss");
	cr_assert_str_eq(ntp_query_unsuitable(&srv, why, sizeof why), "KoD RATE");
	cr_assert(ntp_query_choose(&srv, 1, sizeof srv).any_kod);
	cr_assert_eq(ntp_query_choose(&srv, 1, sizeof srv).chosen, -1);
}

Test(query, unprintable_kiss_code_is_masked, .init = setup)
{
	char why[NTP_QUERY_WHY_MAX];
	ntp_pkt k = good(NONCE, 0.0, 0.001);

	k.stratum = 0;
	k.refid = 0x52017445u; /* "R\x01tE" */
	cr_assert_eq(judge(&k, 0.001, why, sizeof why), NTP_QUERY_KOD);
	cr_assert_str_eq(srv.kiss, "R?tE");
}

Test(query, smallest_delay_usable_sample_wins, .init = setup)
{
	uint8_t req[64];
	char why[NTP_QUERY_WHY_MAX];
	ntp_pkt p;

	for (int k = 1; k < 4; k++) {
		ntp_query_request(&srv, &PAR, NONCE + (uint64_t)k, ntp_now_at(MONO, T1), req,
		                  sizeof req);
	}
	p = good(NONCE, 0.010, 0.050);
	judge(&p, 0.050, why, sizeof why);
	p = good(NONCE + 1, 0.002, 0.004);
	judge(&p, 0.004, why, sizeof why);
	/* smaller delay still, but unsynchronised: does not displace it */
	p = good(NONCE + 2, 0.5, 0.001);
	p.leap = NTP_LEAP_NOTSYNC;
	cr_assert_eq(judge(&p, 0.001, why, sizeof why), NTP_QUERY_UNUSABLE);
	p = good(NONCE + 3, 0.007, 0.020);
	judge(&p, 0.020, why, sizeof why);
	cr_assert(srv.have);
	cr_assert_float_eq(srv.delay, 0.004, 1e-8);
	cr_assert_float_eq(srv.offset, 0.002, 1e-8);
	cr_assert(ntp_query_done(&srv, &PAR), "all four answered");
}

Test(query, usable_sample_replaces_an_unusable_one, .init = setup)
{
	uint8_t req[64];
	char why[NTP_QUERY_WHY_MAX];
	ntp_pkt p = good(NONCE, 0.3, 0.001);

	p.stratum = 16;
	judge(&p, 0.001, why, sizeof why);
	cr_assert(srv.measured);
	cr_assert_not(srv.have);
	ntp_query_request(&srv, &PAR, NONCE + 1, ntp_now_at(MONO, T1), req, sizeof req);
	p = good(NONCE + 1, 0.1, 0.090);
	cr_assert_eq(judge(&p, 0.090, why, sizeof why), NTP_QUERY_OK);
	cr_assert(srv.have);
	cr_assert_float_eq(srv.offset, 0.1, 1e-8, "the larger delay, but usable");
	cr_assert_str_eq(ntp_query_unsuitable(&srv, why, sizeof why), "");
}

Test(query, choice_is_lowest_stratum_then_delay_and_the_verdict)
{
	ntp_query_server s[4];
	ntp_query_result r;

	for (int i = 0; i < 4; i++) {
		ntp_query_server_init(&s[i]);
	}
	s[0].have = true, s[0].stratum = 3, s[0].delay = 0.001, s[0].offset = 9.0;
	s[1].have = true, s[1].stratum = 2, s[1].delay = 0.030, s[1].offset = 0.1;
	s[2].have = true, s[2].stratum = 2, s[2].delay = 0.010, s[2].offset = -0.6;
	s[3].have = false, s[3].stratum = 1, s[3].delay = 0.0001, s[3].kod = true;
	r = ntp_query_choose(s, 4, sizeof s[0]);
	cr_assert_eq(r.chosen, 2);
	cr_assert_float_eq(r.offset, -0.6, 1e-12);
	cr_assert(r.step, "|-0.6| >= 0.5 s: ntpdate steps");
	cr_assert(r.any_kod);
	r = ntp_query_choose(s + 1, 1, sizeof s[0]);
	cr_assert_eq(r.chosen, 0);
	cr_assert_not(r.step, "0.1 s: slewed");
	cr_assert_not(r.any_kod);
	r = ntp_query_choose(s + 3, 1, sizeof s[0]);
	cr_assert_eq(r.chosen, -1);
	cr_assert(ntp_query_better(&s[1], &s[0]));
	cr_assert_not(ntp_query_better(&s[3], &s[0]), "unusable never better");
	cr_assert(ntp_query_better(&s[0], NULL));
}

/* The stride lets a driver embed the core's state in its own struct. */
Test(query, choose_walks_an_embedding_struct)
{
	struct outer {
		char label[20];
		ntp_query_server q;
	} o[3];

	memset(o, 0, sizeof o);
	for (int i = 0; i < 3; i++) {
		ntp_query_server_init(&o[i].q);
		o[i].q.have = true;
		o[i].q.stratum = 4;
		o[i].q.delay = 0.01 * (3 - i);
	}
	cr_assert_eq(ntp_query_choose(&o[0].q, 3, sizeof o[0]).chosen, 2);
}

/* RFC 5905 §8 in the one function: T1..T4 across an era boundary too. */
Test(query, offset_delay_arithmetic)
{
	double offset, delay;
	ntp_ts64 t1 = (UINT64_C(0xffffffff) << 32) | UINT64_C(0x80000000); /* era 0 end - 0.5 s */

	ntp_ts_offset_delay(t1, ntp_ts_add(t1, ntp_dur_from_s(3.1)),
	                    ntp_ts_add(t1, ntp_dur_from_s(3.2)),
	                    ntp_ts_add(t1, ntp_dur_from_s(0.3)), &offset, &delay);
	/* theta = ((3.1 - 0) + (3.2 - 0.3)) / 2 = 3.0; delta = 0.3 - 0.1 = 0.2 */
	cr_assert_float_eq(offset, 3.0, 1e-9);
	cr_assert_float_eq(delay, 0.2, 1e-9);
	ntp_ts_offset_delay(t1, t1, ntp_ts_add(t1, ntp_dur_from_s(0.5)),
	                    ntp_ts_add(t1, ntp_dur_from_s(0.1)), &offset, &delay);
	cr_assert_float_eq(delay, -0.4, 1e-9, "raw: the caller floors it");
}
