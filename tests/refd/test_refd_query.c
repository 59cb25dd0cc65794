/* SPDX-License-Identifier: BSD-2-Clause */
/* refd/refd_query: refd -Q on the core's ntp_query (packet checks and
 * reports), on packets built with the core's codec. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntp_pkt.h"
#include "refd_query.h"

#define S(x)  ((ntp_time)(x)*NTP_NS_PER_S)
#define T1    S(INT64_C(1795503373)) /* 2026-11-24 06:56:13 UTC, local */
#define NONCE UINT64_C(0x1c2d3e4f5a6b7c8d)

static refd_query_server srv;
/* refd -Q's request: ntpdig's minimal header, 8 samples */
static const ntp_query_params PAR = {.version = 4, .samples = 8, .gap = S(1)};

/* Request number srv.q.sent with transmit timestamp nonce, sent at T1. */
static size_t
request(ntp_ts64 nonce, uint8_t *buf, size_t cap)
{
	return ntp_query_request(&srv.q, &PAR, nonce, ntp_now_at(T1, T1), buf, cap);
}

static ntp_query_verdict
answer(const uint8_t *buf, size_t len, ntp_time t4, char *why, size_t whysize)
{
	return ntp_query_reply(&srv.q, &PAR, buf, len, ntp_now_at(t4, t4), why, whysize);
}

static void
setup(void)
{
	uint8_t req[64];

	memset(&srv, 0, sizeof srv);
	ntp_query_server_init(&srv.q);
	snprintf(srv.label, sizeof srv.label, "192.168.163.131");
	snprintf(srv.host, sizeof srv.host, "192.168.163.131");
	cr_assert(ntp_addr_parse("192.168.163.131", &srv.addr));
	srv.addr.port = 123;
	srv.resolved = true;
	cr_assert_eq(request(NONCE, req, sizeof req), 48);
	cr_assert_eq(srv.q.sent, 1);
}

/* A server reply whose clock is `offset` s ahead, `delay` s round trip,
 * 1 ms spent in the server. */
static size_t
reply(uint8_t *buf, ntp_ts64 org, double offset, double delay, uint8_t stratum, uint8_t leap,
      const char *refid)
{
	ntp_pkt p;
	size_t len = 0;
	ntp_time t2 = T1 + ntp_time_from_s(delay / 2.0 + offset);

	memset(&p, 0, sizeof p);
	p.leap = leap;
	p.version = 4;
	p.mode = NTP_MODE_SERVER;
	p.stratum = stratum;
	p.precision = -20;
	p.rootdisp = ntp_short_from_s(0.01);
	p.refid = refid != NULL ? NTP_REFID(refid) : 0x7f7f0100u;
	p.reftime = ntp_ts_from_unix_ns(t2 - S(10));
	p.org = org;
	p.rec = ntp_ts_from_unix_ns(t2);
	p.xmt = ntp_ts_from_unix_ns(t2 + 1000000);
	cr_assert_eq(ntp_pkt_encode(&p, buf, 64, &len), NTP_PKT_OK);
	return len;
}

static ntp_time
t4_for(double delay)
{
	return T1 + ntp_time_from_s(delay) + 1000000;
}

Test(refd_query, request_is_minimal_with_random_transmit, .init = setup)
{
	uint8_t req[64];
	ntp_pkt p;

	cr_assert_eq(request(0xabcdefULL, req, sizeof req), 48);
	cr_assert_eq(ntp_pkt_decode(req, 48, &p, NULL), NTP_PKT_OK);
	cr_assert_eq(p.mode, NTP_MODE_CLIENT);
	cr_assert_eq(p.version, 4);
	cr_assert_eq(p.xmt, 0xabcdefULL, "the nonce, not the time");
	cr_assert_eq(p.org, 0);
	cr_assert_eq(p.rec, 0);
	cr_assert_eq(srv.q.t1[1], T1, "T1 kept locally");
	cr_assert_eq(srv.q.sent, 2);
}

Test(refd_query, good_reply_gives_offset_and_delay, .init = setup)
{
	uint8_t buf[64];
	char why[160];
	size_t len = reply(buf, NONCE, -28.203650, 0.004, 6, 0, NULL);

	cr_assert_eq(answer(buf, len, t4_for(0.004), why, sizeof why), NTP_QUERY_OK, "%s", why);
	cr_assert(srv.q.have);
	cr_assert_float_eq(srv.q.offset, -28.203650, 1e-8);
	cr_assert_float_eq(srv.q.delay, 0.004, 1e-8);
	cr_assert_eq(srv.q.stratum, 6);
	cr_assert_eq(srv.q.replies, 1);
}

Test(refd_query, bogus_origin_and_duplicates_are_not_samples, .init = setup)
{
	uint8_t buf[64];
	char why[160];
	size_t len = reply(buf, NONCE ^ 1, 0.0, 0.001, 2, 0, NULL);

	cr_assert_eq(answer(buf, len, t4_for(0.001), why, sizeof why), NTP_QUERY_IGNORED);
	cr_assert(strstr(why, "TEST2") != NULL, "%s", why);
	len = reply(buf, 0, 0.0, 0.001, 2, 0, NULL);
	cr_assert_eq(answer(buf, len, t4_for(0.001), why, sizeof why), NTP_QUERY_IGNORED);
	cr_assert(strstr(why, "TEST3") != NULL, "%s", why);
	len = reply(buf, NONCE, 0.0, 0.001, 2, 0, NULL);
	cr_assert_eq(answer(buf, len, t4_for(0.001), why, sizeof why), NTP_QUERY_OK);
	cr_assert_eq(answer(buf, len, t4_for(0.001), why, sizeof why), NTP_QUERY_DUP);
	cr_assert(strstr(why, "TEST1") != NULL, "%s", why);
	cr_assert_eq(answer(buf, 47, t4_for(0.001), why, sizeof why), NTP_QUERY_IGNORED,
	             "truncated");
	cr_assert_eq(srv.q.replies, 1);
	cr_assert_eq(srv.q.ignored, 3);
}

Test(refd_query, kiss_of_death_whatever_li_says, .init = setup)
{
	uint8_t buf[64], req[64];
	char why[160];
	size_t len = reply(buf, NONCE, 0.0, 0.001, 0, 0, "DENY");

	cr_assert_eq(answer(buf, len, t4_for(0.001), why, sizeof why), NTP_QUERY_KOD);
	cr_assert_str_eq(why, "KoD DENY");
	cr_assert(srv.q.kod);
	refd_query_reason(&srv, 2.0, why, sizeof why);
	cr_assert_str_eq(why, "KoD DENY");
	/* ntpd, NTPsec and refd send RATE with LI=3 (unsynchronised) and
	 * stratum 0: still a kiss (RFC 5905 §7.4), not an unsynchronised
	 * server to keep asking (issue 11 item 10). */
	setup();
	request(NONCE + 1, req, sizeof req);
	len = reply(buf, NONCE + 1, 0.0, 0.001, 0, 3, "RATE");
	cr_assert_eq(answer(buf, len, t4_for(0.001), why, sizeof why), NTP_QUERY_KOD, "%s", why);
	cr_assert_str_eq(why, "KoD RATE");
	cr_assert_str_eq(srv.q.kiss, "RATE");
	/* An unknown code is a kiss too. */
	setup();
	len = reply(buf, NONCE, 0.0, 0.001, 0, 3, "XYZW");
	cr_assert_eq(answer(buf, len, t4_for(0.001), why, sizeof why), NTP_QUERY_KOD, "%s", why);
	cr_assert_str_eq(why, "KoD XYZW");
}

/* INIT and STEP (RFC 5905 Fig. 13) report a state: an unsynchronised
 * ntpd or refd answers INIT, and its clock can still be read. */
Test(refd_query, init_and_step_are_an_unsynchronised_server, .init = setup)
{
	static const struct {
		uint8_t leap;
		const char *code, *why;
	} cases[] = {
	        {3, "INIT", "server unsynchronised (LI=3, stratum 0, refid .INIT.)"},
	        {0, "INIT", "server unsynchronised (LI=0, stratum 0, refid .INIT.)"},
	        {3, "STEP", "server unsynchronised (LI=3, stratum 0, refid .STEP.)"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint8_t buf[64];
		char why[160];
		size_t len;

		setup();
		len = reply(buf, NONCE, 0.25, 0.001, 0, cases[i].leap, cases[i].code);
		cr_assert_eq(answer(buf, len, t4_for(0.001), why, sizeof why), NTP_QUERY_UNUSABLE,
		             "%s: %s", cases[i].code, why);
		cr_assert_str_eq(why, cases[i].why);
		cr_assert_not(srv.q.kod);
		cr_assert_not(srv.q.have);
		cr_assert(srv.q.measured, "the sample is kept for the report");
		cr_assert_float_eq(srv.q.offset, 0.25, 1e-8);
	}
}

/* A KoD also withdraws the server's earlier answers: it is not chosen. */
Test(refd_query, kiss_after_a_good_answer_leaves_the_server_unsuitable, .init = setup)
{
	uint8_t buf[64], req[64];
	char why[160], out_buf[512] = "", err_buf[512] = "";
	FILE *out = fmemopen(out_buf, sizeof out_buf, "w");
	FILE *err = fmemopen(err_buf, sizeof err_buf, "w");
	size_t len = reply(buf, NONCE, 0.001, 0.002, 6, 0, NULL);

	cr_assert_eq(answer(buf, len, t4_for(0.002), why, sizeof why), NTP_QUERY_OK, "%s", why);
	cr_assert(srv.q.have);
	request(NONCE + 1, req, sizeof req);
	len = reply(buf, NONCE + 1, 0.0, 0.001, 0, 3, "RATE");
	cr_assert_eq(answer(buf, len, t4_for(0.001), why, sizeof why), NTP_QUERY_KOD);
	cr_assert_not(srv.q.have);
	cr_assert_eq(ntp_query_choose(&srv.q, 1, sizeof srv).chosen, -1);
	cr_assert_eq(refd_query_report(&srv, 1, 2.0, false, out, err), REFD_QUERY_EXIT_KOD);
	fclose(out);
	fclose(err);
	cr_assert_str_eq(err_buf, "no server suitable for synchronization found\n"
	                          "192.168.163.131: KoD RATE\n");
}

Test(refd_query, exit_status_kod_only_when_nothing_else_is_suitable)
{
	refd_query_server s[2];
	FILE *sink = fopen("/dev/null", "w");

	memset(s, 0, sizeof s);
	s[0].resolved = s[1].resolved = true;
	s[0].q.kod = true;
	snprintf(s[0].q.kiss, sizeof s[0].q.kiss, "RATE");
	s[1].q.sent = 4;
	cr_assert_eq(refd_query_report(s, 2, 2.0, false, sink, sink), REFD_QUERY_EXIT_KOD);
	cr_assert_eq(refd_query_report(s, 2, 2.0, true, sink, sink), REFD_QUERY_EXIT_KOD);
	cr_assert_eq(refd_query_report(s + 1, 1, 2.0, false, sink, sink), 1, "no reply: 1");
	s[1].q.have = true;
	s[1].q.stratum = 3;
	cr_assert_eq(refd_query_report(s, 2, 2.0, false, sink, sink), 0, "another server will do");
	fclose(sink);
}

Test(refd_query, insane_headers_are_unusable, .init = setup)
{
	uint8_t buf[64];
	char why[160];
	ntp_pkt p;
	size_t len = reply(buf, NONCE, 0.0, 0.001, 16, 0, NULL);

	cr_assert_eq(answer(buf, len, t4_for(0.001), why, sizeof why), NTP_QUERY_UNUSABLE);
	cr_assert(strstr(why, "stratum 16") != NULL, "%s", why);
	setup();
	len = reply(buf, NONCE, 0.0, 0.001, 3, 0, NULL);
	cr_assert_eq(ntp_pkt_decode(buf, len, &p, NULL), NTP_PKT_OK);
	p.rootdisp = ntp_short_from_s(20.0);
	ntp_pkt_encode(&p, buf, sizeof buf, &len);
	cr_assert_eq(answer(buf, len, t4_for(0.001), why, sizeof why), NTP_QUERY_UNUSABLE);
	cr_assert(strstr(why, "root distance") != NULL, "%s", why);
}

Test(refd_query, smallest_delay_wins, .init = setup)
{
	uint8_t buf[64], req[64];
	char why[160];
	size_t len;

	request(NONCE + 1, req, sizeof req);
	request(NONCE + 2, req, sizeof req);
	len = reply(buf, NONCE, 0.010, 0.050, 2, 0, NULL);
	answer(buf, len, t4_for(0.050), why, sizeof why);
	len = reply(buf, NONCE + 1, 0.002, 0.004, 2, 0, NULL);
	answer(buf, len, t4_for(0.004), why, sizeof why);
	len = reply(buf, NONCE + 2, 0.007, 0.020, 2, 0, NULL);
	answer(buf, len, t4_for(0.020), why, sizeof why);
	cr_assert_float_eq(srv.q.delay, 0.004, 1e-8);
	cr_assert_float_eq(srv.q.offset, 0.002, 1e-8);
}

Test(refd_query, no_suitable_server_report)
{
	refd_query_server s[2];
	char out_buf[2048] = "", err_buf[2048] = "";
	FILE *out = fmemopen(out_buf, sizeof out_buf, "w");
	FILE *err = fmemopen(err_buf, sizeof err_buf, "w");

	memset(s, 0, sizeof s);
	snprintf(s[0].label, sizeof s[0].label, "192.168.163.131");
	s[0].resolved = true;
	s[0].q.sent = 4;
	snprintf(s[1].label, sizeof s[1].label, "10.0.0.9:123");
	s[1].resolved = true;
	s[1].q.sent = 1;
	s[1].q.replies = 1;
	snprintf(s[1].q.unusable, sizeof s[1].q.unusable,
	         "server unsynchronised (LI=3, stratum 0, refid .INIT.)");
	cr_assert_eq(refd_query_report(s, 2, 2.0, false, out, err), 1);
	fclose(out);
	fclose(err);
	cr_assert_str_eq(err_buf,
	                 "no server suitable for synchronization found\n"
	                 "192.168.163.131: no reply in 2 s (4 requests)\n"
	                 "10.0.0.9:123: server unsynchronised (LI=3, stratum 0, refid .INIT.)\n");
	cr_assert_str_eq(out_buf, "");
}

Test(refd_query, json_report, .init = setup)
{
	uint8_t buf[64];
	char why[160], out_buf[2048] = "";
	FILE *out = fmemopen(out_buf, sizeof out_buf, "w");
	size_t len = reply(buf, NONCE, 0.75, 0.002, 6, 0, NULL);

	answer(buf, len, t4_for(0.002), why, sizeof why);
	cr_assert_eq(refd_query_report(&srv, 1, 2.0, true, out, stderr), 0);
	fclose(out);
	cr_assert(strstr(out_buf, "\"usable\":true") != NULL, "%s", out_buf);
	cr_assert(strstr(out_buf, "\"offset\":0.750000000") != NULL, "%s", out_buf);
	cr_assert(strstr(out_buf, "\"refid\":\"127.127.1.0\"") != NULL, "%s", out_buf);
	cr_assert(strstr(out_buf, "\"result\":\"step\"") != NULL, "|0.75| >= 0.5 s: %s", out_buf);
	cr_assert(strstr(out_buf, "\"leap\":\"no-leap\"") != NULL, "%s", out_buf);
}
