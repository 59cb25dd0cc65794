/* SPDX-License-Identifier: BSD-2-Clause */
/* core/ntp_server: fast_xmit replies, restrict drops, ntpd's rate limiting and KoD. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ntp_restrict.h"
#include "ntp_server.h"

#define SRV_S(x)  ((ntp_time)(x)*NTP_NS_PER_S)
#define SRV_MS(x) ((ntp_time)(x)*1000000)
/* 2026-11-24 06:56:13.313026688 UTC, an arbitrary local receive time. */
#define SRV_T0 INT64_C(1795503373313026688)
#define AT(t)  ntp_now_at((t), (t)) /* monotonic = local: nothing steps this clock */

static ntp_addr
srv_ip(const char *s, uint16_t port)
{
	ntp_addr a;

	cr_assert(ntp_addr_parse(s, &a), "parse %s", s);
	a.port = port;
	return a;
}

/* A client request as ntpd/NTPsec send it, with some header fields set
 * so that a server copying the wrong ones is caught. */
static ntp_pkt
srv_request(uint8_t version, uint8_t mode, int8_t poll)
{
	ntp_pkt p;

	memset(&p, 0, sizeof p);
	p.leap = NTP_LEAP_NOTSYNC;
	p.version = version;
	p.mode = mode;
	p.poll = poll;
	p.precision = -6;
	p.rootdelay = 0x00010000;
	p.rootdisp = 0x00020000;
	p.refid = NTP_REFID("XYZZ");
	p.reftime = ntp_ts_make(0xe9000000u, 0x11111111u);
	p.org = ntp_ts_make(0x01020304u, 0x05060708u);
	p.rec = ntp_ts_make(0x0a0b0c0du, 0x0e0f1011u);
	p.xmt = ntp_ts_make(0xeca1b2c3u, 0xdeadbeefu);
	return p;
}

/* The seed's LAN server: stratum 3 behind 192.168.163.131. */
static ntp_server_sys
srv_synced(void)
{
	ntp_server_sys sys;

	memset(&sys, 0, sizeof sys);
	sys.leap = NTP_LEAP_NONE;
	sys.stratum = 3;
	sys.precision = -20;
	sys.poll = 6;
	sys.rootdelay = 0x00000a3d; /* 0.04 s */
	sys.rootdisp = 0x0000147b;  /* 0.08 s */
	sys.refid = 0xc0a8a383;     /* 192.168.163.131 */
	sys.reftime = ntp_ts_make(0xeca1b2b0u, 0x80000000u);
	return sys;
}

#define SRV_ENTRIES 16

typedef struct srv_fixture {
	ntp_server s;
	_Alignas(ntp_server_mru) uint8_t table[NTP_SERVER_TABLE_BYTES(SRV_ENTRIES)];
	ntp_server_sys sys;
	ntp_addr client;
} srv_fixture;

static void
srv_setup(srv_fixture *f, int average_log2, int minimum_log2)
{
	memset(f, 0, sizeof *f);
	ntp_server_init(&f->s, f->table, SRV_ENTRIES, average_log2, minimum_log2);
	f->sys = srv_synced();
	f->client = srv_ip("192.168.163.132", 40123);
}

/* One mode 3 v4 request from f->client at t; the verdict. */
static int
srv_ask(srv_fixture *f, uint32_t flags, ntp_time t, ntp_pkt *reply, ntp_serve_result *r)
{
	ntp_pkt req = srv_request(4, NTP_MODE_CLIENT, 6);

	return ntp_server_answer(&f->s, &f->sys, &req, NTP_PKT_HEADER_LEN, &f->client, flags, AT(t),
	                         t + 1000, reply, r);
}

static unsigned
srv_total(const ntp_server *s)
{
	return s->served + s->kod_sent + s->dropped_restrict + s->dropped_rate + s->dropped_bad;
}

Test(server, reply_fields_exact)
{
	srv_fixture f;
	ntp_pkt req = srv_request(4, NTP_MODE_CLIENT, 6);
	ntp_pkt reply;
	ntp_serve_result r;
	ntp_time t_recv = SRV_T0, t_xmt = SRV_T0 + 35000;

	srv_setup(&f, -1, -1);
	int v = ntp_server_answer(&f.s, &f.sys, &req, NTP_PKT_HEADER_LEN, &f.client, 0, AT(t_recv),
	                          t_xmt, &reply, &r);
	cr_assert_eq(v, NTP_SERVE_REPLY, "%s", ntp_serve_reason(&r));
	cr_assert_eq(r.verdict, NTP_SERVE_REPLY);
	cr_assert(strstr(ntp_serve_reason(&r), "served") != NULL, "%s", ntp_serve_reason(&r));
	cr_assert_eq(reply.leap, NTP_LEAP_NONE);
	cr_assert_eq(reply.version, 4);
	cr_assert_eq(reply.mode, NTP_MODE_SERVER);
	cr_assert_eq(reply.stratum, 3);
	cr_assert_eq(reply.poll, 6);
	cr_assert_eq(reply.precision, -20);
	cr_assert_eq(reply.rootdelay, 0x00000a3du);
	cr_assert_eq(reply.rootdisp, 0x0000147bu);
	cr_assert_eq(reply.refid, 0xc0a8a383u);
	cr_assert_eq(reply.reftime, f.sys.reftime);
	cr_assert_eq(reply.org, req.xmt);
	cr_assert_eq(reply.rec, ntp_ts_from_unix_ns(t_recv));
	cr_assert_eq(reply.xmt, ntp_ts_from_unix_ns(t_xmt));
	cr_assert_neq(reply.rec, reply.xmt);
	/* No extension fields and no MAC: 48 bytes, never more than asked. */
	cr_assert_eq(reply.n_ext, 0);
	cr_assert_not(reply.has_mac);
	uint8_t buf[NTP_PKT_MAX_LEN];
	size_t len = 0;
	ntp_pkt back;
	cr_assert_eq(ntp_pkt_encode(&reply, buf, sizeof buf, &len), NTP_PKT_OK);
	cr_assert_eq(len, (size_t)NTP_PKT_HEADER_LEN);
	cr_assert_eq(ntp_pkt_decode(buf, len, &back, NULL), NTP_PKT_OK);
	cr_assert_eq(back.xmt, reply.xmt);
	cr_assert_eq(back.poll, reply.poll);
	cr_assert_not(ntp_pkt_is_kod(&back));
	cr_assert_eq(f.s.served, 1u);
	cr_assert_eq(srv_total(&f.s), 1u);
}

Test(server, reply_to_longer_request_is_header_only)
{
	srv_fixture f;
	ntp_pkt req = srv_request(4, NTP_MODE_CLIENT, 6);
	ntp_pkt reply;
	ntp_serve_result r;

	srv_setup(&f, -1, -1);
	req.has_mac = true; /* 68-byte request with a MAC we cannot check */
	req.keyid = 1;
	req.digest_len = 16;
	cr_assert_eq(ntp_server_answer(&f.s, &f.sys, &req, 68, &f.client, 0, AT(SRV_T0), SRV_T0,
	                               &reply, &r),
	             NTP_SERVE_REPLY);
	cr_assert_not(reply.has_mac);
	cr_assert_eq(reply.n_ext, 0);
	cr_assert_eq(reply.keyid, 0u);
}

Test(server, poll_echoed_in_replies_raised_to_average_in_kods)
{
	srv_fixture f;
	ntp_pkt reply;
	ntp_serve_result r;
	static const struct {
		int average;
		int8_t req_poll, kod_poll;
	} c[] = {{-1, 0, 3}, {-1, 3, 3}, {-1, 10, 10}, {5, 4, 5}, {5, 6, 6}, {0, -2, 0}};

	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		ntp_pkt req = srv_request(4, NTP_MODE_CLIENT, c[i].req_poll);
		uint32_t flags = NTP_RES_LIMITED | NTP_RES_KOD;
		srv_setup(&f, c[i].average, -1);
		cr_assert_eq(ntp_server_answer(&f.s, &f.sys, &req, 48, &f.client, flags, AT(SRV_T0),
		                               SRV_T0, &reply, &r),
		             NTP_SERVE_REPLY);
		cr_assert_eq(reply.poll, c[i].req_poll, "case %zu", i);
		cr_assert_eq(ntp_server_answer(&f.s, &f.sys, &req, 48, &f.client, flags,
		                               AT(SRV_T0 + 1), SRV_T0, &reply, &r),
		             NTP_SERVE_KOD);
		cr_assert_eq(reply.poll, c[i].kod_poll, "case %zu", i);
	}
}

Test(server, unsynchronised_host_sends_li3_stratum0)
{
	srv_fixture f;
	ntp_pkt reply;
	ntp_serve_result r;

	srv_setup(&f, -1, -1);
	f.sys.stratum = 16;
	f.sys.leap = NTP_LEAP_NOTSYNC;
	f.sys.refid = NTP_REFID("INIT");
	f.sys.reftime = 0;
	cr_assert_eq(srv_ask(&f, 0, SRV_T0, &reply, &r), NTP_SERVE_REPLY);
	cr_assert_eq(reply.leap, NTP_LEAP_NOTSYNC);
	cr_assert_eq(reply.stratum, 0);
	cr_assert_eq(reply.refid, NTP_REFID("INIT"));
	cr_assert_eq(reply.reftime, 0u);
	cr_assert_eq(reply.rec, ntp_ts_from_unix_ns(SRV_T0));

	/* Stratum 16 is unsynchronised whatever leap the host passes. */
	f.sys.leap = NTP_LEAP_NONE;
	f.sys.refid = NTP_REFID("STEP");
	srv_ask(&f, 0, SRV_T0 + SRV_S(64), &reply, &r);
	cr_assert_eq(reply.leap, NTP_LEAP_NOTSYNC);
	cr_assert_eq(reply.stratum, 0);
	cr_assert_eq(reply.refid, NTP_REFID("STEP"));

	/* Synchronised with a leap warning: passed through. */
	f.sys = srv_synced();
	f.sys.leap = NTP_LEAP_ADD;
	srv_ask(&f, 0, SRV_T0 + SRV_S(128), &reply, &r);
	cr_assert_eq(reply.leap, NTP_LEAP_ADD);
	cr_assert_eq(reply.stratum, 3);
	cr_assert_eq(f.s.served, 3u);
}

Test(server, ignore_and_noserve_drop_without_touching_reply)
{
	srv_fixture f;
	ntp_pkt reply, before;
	ntp_serve_result r;

	srv_setup(&f, -1, -1);
	memset(&reply, 0xa5, sizeof reply);
	before = reply;
	cr_assert_eq(srv_ask(&f, NTP_RES_IGNORE, SRV_T0, &reply, &r), NTP_SERVE_DROP);
	cr_assert_str_eq(ntp_serve_reason(&r), "restrict ignore");
	cr_assert_eq(memcmp(&reply, &before, sizeof reply), 0);
	cr_assert_eq(srv_ask(&f, NTP_RES_NOSERVE | NTP_RES_NOMODIFY, SRV_T0, &reply, &r),
	             NTP_SERVE_DROP);
	cr_assert_str_eq(ntp_serve_reason(&r), "restrict noserve");
	cr_assert_eq(memcmp(&reply, &before, sizeof reply), 0);
	cr_assert_eq(f.s.dropped_restrict, 2u);
	/* Flags that do not concern time service change nothing. */
	cr_assert_eq(srv_ask(&f,
	                     NTP_RES_NOMODIFY | NTP_RES_NOTRAP | NTP_RES_NOQUERY | NTP_RES_NOPEER,
	                     SRV_T0, &reply, &r),
	             NTP_SERVE_REPLY);
	cr_assert_eq(srv_total(&f.s), 3u);
}

Test(server, notrust_drops_unauthenticated_requests)
{
	srv_fixture f;
	ntp_pkt reply;
	ntp_serve_result r;

	srv_setup(&f, -1, -1);
	cr_assert_eq(srv_ask(&f, NTP_RES_NOTRUST, SRV_T0, &reply, &r), NTP_SERVE_DROP);
	cr_assert(strstr(ntp_serve_reason(&r), "notrust") != NULL, "%s", ntp_serve_reason(&r));
	cr_assert_eq(f.s.dropped_restrict, 1u);
}

Test(server, versions_and_version_flag)
{
	srv_fixture f;
	ntp_pkt reply;
	ntp_serve_result r;

	srv_setup(&f, -1, -1);
	for (uint8_t v = 0; v <= 7; v++) {
		ntp_pkt req = srv_request(v, NTP_MODE_CLIENT, 6);
		int got = ntp_server_answer(&f.s, &f.sys, &req, 48, &f.client, 0, AT(SRV_T0),
		                            SRV_T0, &reply, &r);
		if (v >= 1 && v <= 4) {
			cr_assert_eq(got, NTP_SERVE_REPLY, "v%u: %s", v, ntp_serve_reason(&r));
			cr_assert_eq(reply.version, v);
		} else {
			cr_assert_eq(got, NTP_SERVE_DROP, "v%u", v);
			cr_assert(strstr(ntp_serve_reason(&r), "version") != NULL, "%s",
			          ntp_serve_reason(&r));
		}
	}
	cr_assert_eq(f.s.served, 4u);
	cr_assert_eq(f.s.dropped_bad, 4u);

	/* `restrict ... version`: only NTPv4 is answered. */
	for (uint8_t v = 1; v <= 4; v++) {
		ntp_pkt req = srv_request(v, NTP_MODE_CLIENT, 6);
		int got = ntp_server_answer(&f.s, &f.sys, &req, 48, &f.client, NTP_RES_VERSION,
		                            AT(SRV_T0), SRV_T0, &reply, &r);
		cr_assert_eq(got, v == 4 ? NTP_SERVE_REPLY : NTP_SERVE_DROP, "v%u", v);
		if (v != 4) {
			cr_assert(strstr(ntp_serve_reason(&r), "restrict version") != NULL, "%s",
			          ntp_serve_reason(&r));
		}
	}
	cr_assert_eq(f.s.served, 5u);
	cr_assert_eq(f.s.dropped_restrict, 3u);
}

Test(server, symmetric_active_gets_passive_reply)
{
	srv_fixture f;
	ntp_pkt req = srv_request(4, NTP_MODE_ACTIVE, 7);
	ntp_pkt reply;
	ntp_serve_result r;

	srv_setup(&f, -1, -1);
	cr_assert_eq(ntp_server_answer(&f.s, &f.sys, &req, 48, &f.client, NTP_RES_NOPEER,
	                               AT(SRV_T0), SRV_T0 + 10, &reply, &r),
	             NTP_SERVE_REPLY);
	cr_assert_eq(reply.mode, NTP_MODE_PASSIVE);
	cr_assert_eq(reply.stratum, 3);
	cr_assert_eq(reply.poll, 7);
	cr_assert_eq(reply.org, req.xmt);
	cr_assert_eq(reply.xmt, ntp_ts_from_unix_ns(SRV_T0 + 10));
}

Test(server, other_modes_dropped_ntpv1_mode0_is_a_client)
{
	srv_fixture f;
	ntp_pkt reply;
	ntp_serve_result r;
	static const uint8_t modes[] = {NTP_MODE_UNSPEC,    NTP_MODE_PASSIVE, NTP_MODE_SERVER,
	                                NTP_MODE_BROADCAST, NTP_MODE_CONTROL, NTP_MODE_PRIVATE};

	srv_setup(&f, -1, -1);
	for (size_t i = 0; i < sizeof modes; i++) {
		ntp_pkt req = srv_request(4, modes[i], 6);
		cr_assert_eq(ntp_server_answer(&f.s, &f.sys, &req, 48, &f.client, 0, AT(SRV_T0),
		                               SRV_T0, &reply, &r),
		             NTP_SERVE_DROP, "mode %u", modes[i]);
		cr_assert(strstr(ntp_serve_reason(&r), "mode") != NULL, "%s", ntp_serve_reason(&r));
	}
	cr_assert_eq(f.s.dropped_bad, 6u);
	cr_assert_eq(f.s.served, 0u);

	/* ntpd: "in very early NTP versions mode 0 was ... client mode". */
	ntp_pkt v1 = srv_request(1, NTP_MODE_UNSPEC, 6);
	cr_assert_eq(ntp_server_answer(&f.s, &f.sys, &v1, 48, &f.client, 0, AT(SRV_T0), SRV_T0,
	                               &reply, &r),
	             NTP_SERVE_REPLY);
	cr_assert_eq(reply.mode, NTP_MODE_SERVER);
	cr_assert_eq(reply.version, 1);
}

Test(server, short_request_and_null_arguments)
{
	srv_fixture f;
	ntp_pkt req = srv_request(4, NTP_MODE_CLIENT, 6);
	ntp_pkt reply;
	ntp_serve_result r;

	srv_setup(&f, -1, -1);
	cr_assert_eq(ntp_server_answer(&f.s, &f.sys, &req, 40, &f.client, 0, AT(SRV_T0), SRV_T0,
	                               &reply, &r),
	             NTP_SERVE_DROP);
	cr_assert(strstr(ntp_serve_reason(&r), "40 bytes") != NULL, "%s", ntp_serve_reason(&r));
	cr_assert_eq(ntp_server_answer(&f.s, &f.sys, NULL, 48, &f.client, 0, AT(SRV_T0), SRV_T0,
	                               &reply, &r),
	             NTP_SERVE_DROP);
	cr_assert_eq(ntp_server_answer(&f.s, NULL, &req, 48, &f.client, 0, AT(SRV_T0), SRV_T0,
	                               &reply, &r),
	             NTP_SERVE_DROP);
	cr_assert_eq(f.s.dropped_bad, 3u);
	cr_assert_eq(ntp_server_answer(NULL, &f.sys, &req, 48, &f.client, 0, AT(SRV_T0), SRV_T0,
	                               &reply, NULL),
	             NTP_SERVE_DROP);
	/* r may be NULL: the verdict is still returned. */
	cr_assert_eq(ntp_server_answer(&f.s, &f.sys, &req, 48, &f.client, 0, AT(SRV_T0), SRV_T0,
	                               &reply, NULL),
	             NTP_SERVE_REPLY);
}

Test(server, limited_without_kod_drops_only_over_the_limit)
{
	srv_fixture f;
	ntp_pkt reply;
	ntp_serve_result r;

	/* Every 8 s (= 2^average) a client is never limited: the bucket
	 * drains 8, gains 8 - 2. */
	srv_setup(&f, -1, -1);
	for (int k = 0; k < 50; k++) {
		cr_assert_eq(srv_ask(&f, NTP_RES_LIMITED, SRV_T0 + SRV_S(8 * k), &reply, &r),
		             NTP_SERVE_REPLY, "k %d: %s", k, ntp_serve_reason(&r));
	}
	cr_assert_eq(ntp_server_mru_find(&f.s, &f.client)->leak, 6);

	/* Every 4 s: request k (1-based, k >= 2) leaves leak 2k + 2 and meets
	 * leak 2k - 4; 2k - 4 + 8 >= 64 first at k = 30. */
	srv_setup(&f, -1, -1);
	for (int k = 1; k <= 29; k++) {
		cr_assert_eq(srv_ask(&f, NTP_RES_LIMITED, SRV_T0 + SRV_S(4 * (k - 1)), &reply, &r),
		             NTP_SERVE_REPLY, "k %d: %s", k, ntp_serve_reason(&r));
	}
	cr_assert_eq(ntp_server_mru_find(&f.s, &f.client)->leak, 2 * 29 + 2);
	cr_assert_eq(srv_ask(&f, NTP_RES_LIMITED, SRV_T0 + SRV_S(4 * 29), &reply, &r),
	             NTP_SERVE_DROP);
	cr_assert_str_eq(ntp_serve_reason(&r),
	                 "rate limit: headway 56 s + 2^3 s >= limit 64 s; dropped");
	cr_assert_eq(f.s.dropped_rate, 1u);
	cr_assert_eq(f.s.kod_sent, 0u);
	cr_assert_eq(f.s.served, 29u);
	cr_assert_eq(ntp_server_mru_find(&f.s, &f.client)->limited, 1u);
}

Test(server, limited_kod_has_ntpd_fields)
{
	srv_fixture f;
	ntp_pkt req = srv_request(3, NTP_MODE_CLIENT, 2);
	ntp_pkt reply;
	ntp_serve_result r;
	uint32_t flags = NTP_RES_LIMITED | NTP_RES_KOD;

	srv_setup(&f, -1, -1);
	cr_assert_eq(ntp_server_answer(&f.s, &f.sys, &req, 48, &f.client, flags, AT(SRV_T0),
	                               SRV_T0 + 5, &reply, &r),
	             NTP_SERVE_REPLY);
	/* 0.25 s later: rounds to 0 s, under the 2 s minimum (1 s grace). */
	req.xmt = ntp_ts_make(0xeca1b2c4u, 0x12345678u);
	cr_assert_eq(ntp_server_answer(&f.s, &f.sys, &req, 48, &f.client, flags,
	                               AT(SRV_T0 + SRV_MS(250)), SRV_T0 + SRV_MS(251), &reply, &r),
	             NTP_SERVE_KOD);
	cr_assert_eq(r.verdict, NTP_SERVE_KOD);
	cr_assert_str_eq(
	        ntp_serve_reason(&r),
	        "rate limit: 0 s since last request < discard minimum 2^1 s; KoD RATE sent");
	cr_assert_eq(reply.leap, NTP_LEAP_NOTSYNC);
	cr_assert_eq(reply.version, 3);
	cr_assert_eq(reply.mode, NTP_MODE_SERVER);
	cr_assert_eq(reply.stratum, 0);
	cr_assert_eq(reply.refid, NTP_REFID("RATE"));
	cr_assert_eq(reply.poll, 3); /* max(request 2, average 3) */
	/* Nothing of the server's time or state: the request echoed. */
	cr_assert_eq(reply.precision, req.precision);
	cr_assert_eq(reply.rootdelay, req.rootdelay);
	cr_assert_eq(reply.rootdisp, req.rootdisp);
	cr_assert_eq(reply.reftime, req.reftime);
	cr_assert_eq(reply.org, req.xmt);
	cr_assert_eq(reply.rec, req.xmt);
	cr_assert_eq(reply.xmt, req.xmt);
	cr_assert_eq(reply.n_ext, 0);
	cr_assert_not(reply.has_mac);
	cr_assert(ntp_pkt_is_kod(&reply));
	uint8_t buf[NTP_PKT_MAX_LEN];
	size_t len = 0;
	cr_assert_eq(ntp_pkt_encode(&reply, buf, sizeof buf, &len), NTP_PKT_OK);
	cr_assert_eq(len, (size_t)NTP_PKT_HEADER_LEN);
	cr_assert_eq(f.s.kod_sent, 1u);
	cr_assert_eq(f.s.served, 1u);

	/* A symmetric active peer over the limit gets its KoD in mode 2. */
	ntp_pkt act = srv_request(4, NTP_MODE_ACTIVE, 6);
	ntp_addr peer = srv_ip("192.168.163.140", 123);
	ntp_server_answer(&f.s, &f.sys, &act, 48, &peer, flags, AT(SRV_T0), SRV_T0, &reply, &r);
	cr_assert_eq(ntp_server_answer(&f.s, &f.sys, &act, 48, &peer, flags,
	                               AT(SRV_T0 + SRV_MS(100)), SRV_T0, &reply, &r),
	             NTP_SERVE_KOD);
	cr_assert_eq(reply.mode, NTP_MODE_PASSIVE);
	cr_assert_eq(reply.poll, 6);
	cr_assert(ntp_pkt_is_kod(&reply));
}

Test(server, kod_without_limited_does_nothing)
{
	srv_fixture f;
	ntp_pkt reply;
	ntp_serve_result r;

	srv_setup(&f, -1, -1);
	for (int k = 0; k < 100; k++) {
		cr_assert_eq(srv_ask(&f, NTP_RES_KOD, SRV_T0 + SRV_MS(100 * k), &reply, &r),
		             NTP_SERVE_REPLY);
	}
	cr_assert_eq(f.s.served, 100u);
	cr_assert_eq(f.s.n, 0u); /* not tracked at all */
}

Test(server, burst_of_100_at_half_second)
{
	srv_fixture f;
	ntp_pkt reply;
	ntp_serve_result r;
	unsigned replies = 0, kods = 0, drops = 0;

	/* Each 0.5 s gap rounds to 1 s, which passes the minimum (1 + 1 >= 2).
	 * The bucket gains 8 - 2 - 1 = 5 per request: request k (k >= 3) meets
	 * leak 5k - 10, so k = 14 is the first over 64.  That KoD sets leak to
	 * 72; it drains 1 per request and the next KoD is due when it is below
	 * 64 again, 9 requests later: KoDs at 14, 23, ..., 95. */
	srv_setup(&f, -1, -1);
	for (int k = 1; k <= 100; k++) {
		int want = k <= 13             ? NTP_SERVE_REPLY
		           : (k - 14) % 9 == 0 ? NTP_SERVE_KOD
		                               : NTP_SERVE_DROP;
		int got = srv_ask(&f, NTP_RES_LIMITED | NTP_RES_KOD, SRV_T0 + SRV_MS(500 * (k - 1)),
		                  &reply, &r);
		cr_assert_eq(got, want, "request %d: %s", k, ntp_serve_reason(&r));
		replies += got == NTP_SERVE_REPLY;
		kods += got == NTP_SERVE_KOD;
		drops += got == NTP_SERVE_DROP;
		if (got == NTP_SERVE_DROP) {
			cr_assert(strstr(ntp_serve_reason(&r), "(KoD rate-limited)") != NULL, "%s",
			          ntp_serve_reason(&r));
		}
	}
	cr_assert_eq(replies, 13u);
	cr_assert_eq(kods, 10u);
	cr_assert_eq(drops, 77u);
	cr_assert_eq(f.s.served + f.s.kod_sent + f.s.dropped_rate, 100u);
	cr_assert_eq(f.s.kod_sent, kods);
	cr_assert_eq(ntp_server_mru_find(&f.s, &f.client)->count, 100u);
	cr_assert_eq(ntp_server_mru_find(&f.s, &f.client)->limited, 87u);
}

Test(server, flood_faster_than_rounding_gets_one_kod)
{
	srv_fixture f;
	ntp_pkt reply;
	ntp_serve_result r;

	/* 0.4 s gaps round to 0 s: every request after the first violates the
	 * minimum and the bucket never drains, so exactly one KoD. */
	srv_setup(&f, -1, -1);
	for (int k = 1; k <= 100; k++) {
		int want = k == 1 ? NTP_SERVE_REPLY : k == 2 ? NTP_SERVE_KOD : NTP_SERVE_DROP;
		cr_assert_eq(srv_ask(&f, NTP_RES_LIMITED | NTP_RES_KOD,
		                     SRV_T0 + SRV_MS(400 * (k - 1)), &reply, &r),
		             want, "request %d", k);
	}
	cr_assert_eq(f.s.kod_sent, 1u);
	cr_assert_eq(f.s.dropped_rate, 98u);
}

Test(server, iburst_then_64s_polls_all_served)
{
	srv_fixture f;
	ntp_pkt reply;
	ntp_serve_result r;
	static const int32_t leak_after[8] = {0, 6, 10, 14, 18, 22, 26, 30};
	ntp_time t = SRV_T0;

	/* ntpd's defaults are made for iburst: 8 requests 2 s apart add
	 * 8 - 2 - 2 = 4 each after the first (leak 6, 10, ..., 30 < 64). */
	srv_setup(&f, -1, -1);
	for (int k = 0; k < 8; k++, t += SRV_S(2)) {
		cr_assert_eq(srv_ask(&f, NTP_RES_LIMITED | NTP_RES_KOD, t, &reply, &r),
		             NTP_SERVE_REPLY, "burst %d: %s", k, ntp_serve_reason(&r));
		cr_assert_eq(ntp_server_mru_find(&f.s, &f.client)->leak, leak_after[k]);
	}
	t += SRV_S(62); /* 64 s after the last burst packet */
	for (int k = 0; k < 20; k++, t += SRV_S(64)) {
		cr_assert_eq(srv_ask(&f, NTP_RES_LIMITED | NTP_RES_KOD, t, &reply, &r),
		             NTP_SERVE_REPLY, "poll %d", k);
		cr_assert_eq(ntp_server_mru_find(&f.s, &f.client)->leak, 6);
	}
	cr_assert_eq(f.s.served, 28u);
}

Test(server, iburst_against_discard_minimum_4s)
{
	srv_fixture f;
	ntp_pkt reply;
	ntp_serve_result r;
	/* minimum 2^2 = 4 s: a 2 s gap fails (2 + 1 < 4).  Request 2 sets the
	 * bucket to 72; it drains 2 per request: 70, 68, 66, 64 (quiet), then
	 * 62 < 64 gives the second KoD at request 7, 70 at request 8.  64 s
	 * later it has drained to 6: served (leak 12), and again (leak 6). */
	static const int want[10] = {
	        NTP_SERVE_REPLY, NTP_SERVE_KOD, NTP_SERVE_DROP, NTP_SERVE_DROP,  NTP_SERVE_DROP,
	        NTP_SERVE_DROP,  NTP_SERVE_KOD, NTP_SERVE_DROP, NTP_SERVE_REPLY, NTP_SERVE_REPLY};
	static const int32_t leak[10] = {0, 72, 70, 68, 66, 64, 72, 70, 12, 6};
	ntp_time t = SRV_T0;

	srv_setup(&f, 3, 2);
	for (int k = 0; k < 10; k++) {
		cr_assert_eq(srv_ask(&f, NTP_RES_LIMITED | NTP_RES_KOD, t, &reply, &r), want[k],
		             "request %d: %s", k + 1, ntp_serve_reason(&r));
		cr_assert_eq(ntp_server_mru_find(&f.s, &f.client)->leak, leak[k], "request %d",
		             k + 1);
		t += k < 7 ? SRV_S(2) : SRV_S(64);
	}
	cr_assert_eq(f.s.kod_sent, 2u);
	cr_assert_eq(f.s.served, 3u);
	cr_assert_eq(f.s.dropped_rate, 5u);
}

Test(server, clock_stepped_back_is_not_a_burst)
{
	srv_fixture f;
	ntp_pkt reply;
	ntp_serve_result r;

	srv_setup(&f, -1, -1);
	for (int k = 0; k < 3; k++) {
		cr_assert_eq(srv_ask(&f, NTP_RES_LIMITED | NTP_RES_KOD, SRV_T0 + SRV_S(2 * k),
		                     &reply, &r),
		             NTP_SERVE_REPLY);
	}
	cr_assert_eq(ntp_server_mru_find(&f.s, &f.client)->leak, 10);
	/* Our clock stepped back 28 s: the gap counts as the 2 s minimum
	 * (ntpd bug 3971), neither a violation nor a long rest: 10 - 2 + 6. */
	cr_assert_eq(srv_ask(&f, NTP_RES_LIMITED | NTP_RES_KOD, SRV_T0 + SRV_S(4 - 28), &reply, &r),
	             NTP_SERVE_REPLY, "%s", ntp_serve_reason(&r));
	cr_assert_eq(ntp_server_mru_find(&f.s, &f.client)->leak, 14);
}

Test(server, rate_limit_is_per_address_any_port)
{
	srv_fixture f;
	ntp_pkt req = srv_request(4, NTP_MODE_CLIENT, 6);
	ntp_pkt reply;
	ntp_serve_result r;
	ntp_addr a1 = srv_ip("192.168.163.132", 40000);
	ntp_addr a2 = srv_ip("192.168.163.132", 123);
	uint32_t flags = NTP_RES_LIMITED | NTP_RES_KOD;

	/* ntpdate from a new port each run must not evade `limited`. */
	srv_setup(&f, -1, -1);
	ntp_server_answer(&f.s, &f.sys, &req, 48, &a1, flags, AT(SRV_T0), SRV_T0, &reply, &r);
	cr_assert_eq(ntp_server_answer(&f.s, &f.sys, &req, 48, &a2, flags, AT(SRV_T0 + SRV_MS(100)),
	                               SRV_T0, &reply, &r),
	             NTP_SERVE_KOD);
	cr_assert_eq(f.s.n, 1u);
	cr_assert_eq(ntp_server_mru_next(&f.s, NULL)->count, 2u);
	cr_assert_eq(ntp_server_mru_next(&f.s, NULL)->addr.port, 123);
}

/* The i-th entry in most-recently-used order (0: the newest). */
static const ntp_server_mru *
srv_rank(const ntp_server *s, int i)
{
	const ntp_server_mru *e = ntp_server_mru_next(s, NULL);

	while (e != NULL && i-- > 0) {
		e = ntp_server_mru_next(s, e);
	}
	return e;
}

Test(server, mru_full_recycles_least_recently_used)
{
	ntp_server s;
	_Alignas(ntp_server_mru) uint8_t table[NTP_SERVER_TABLE_BYTES(3)];
	ntp_server_sys sys = srv_synced();
	ntp_pkt req = srv_request(4, NTP_MODE_CLIENT, 6);
	ntp_pkt reply;
	ntp_serve_result r;
	ntp_addr a = srv_ip("10.0.0.1", 1000), b = srv_ip("10.0.0.2", 1000);
	ntp_addr c = srv_ip("10.0.0.3", 1000), d = srv_ip("2001:db8::4", 1000);
	const ntp_addr *order[] = {&a, &b, &c, &a, &d};
	uint32_t flags = NTP_RES_LIMITED | NTP_RES_KOD;

	/* mindepth 0, minage 0: a full table always recycles its oldest. */
	ntp_server_init(&s, table, 3, -1, -1);
	ntp_server_set_mru(&s, 0, NTP_SERVER_MRU_MAXAGE_DEF, 0);
	for (int k = 0; k < 5; k++) {
		cr_assert_eq(ntp_server_answer(&s, &sys, &req, 48, order[k], flags,
		                               AT(SRV_T0 + SRV_S(10 * k)), SRV_T0, &reply, &r),
		             NTP_SERVE_REPLY);
	}
	/* d arrived with a, c, b in the table: b was least recently used. */
	cr_assert_eq(s.n, 3u);
	cr_assert_null(ntp_server_mru_find(&s, &b));
	cr_assert(ntp_addr_same_host(&srv_rank(&s, 0)->addr, &d));
	cr_assert(ntp_addr_same_host(&srv_rank(&s, 1)->addr, &a));
	cr_assert(ntp_addr_same_host(&srv_rank(&s, 2)->addr, &c));
	cr_assert_null(srv_rank(&s, 3));
	cr_assert_eq(ntp_server_mru_find(&s, &a)->count, 2u);
	cr_assert_eq(s.mru_new, 3u);
	cr_assert_eq(s.mru_recycle_full, 1u);

	/* b comes back as a stranger (count 1, empty bucket), evicting c. */
	ntp_server_answer(&s, &sys, &req, 48, &b, flags, AT(SRV_T0 + SRV_S(50)), SRV_T0, &reply,
	                  &r);
	cr_assert_null(ntp_server_mru_find(&s, &c));
	cr_assert_eq(ntp_server_mru_find(&s, &b)->count, 1u);
	cr_assert_eq(ntp_server_mru_find(&s, &b)->leak, 0);
	cr_assert_eq(ntp_server_mru_find(&s, &b)->first, SRV_T0 + SRV_S(50));
	cr_assert_eq(s.n, 3u);

	/* A flood from many sources never grows the table past cap. */
	for (int k = 0; k < 1000; k++) {
		ntp_addr x = srv_ip("10.1.0.0", 123);
		x.a[2] = (uint8_t)(k >> 8);
		x.a[3] = (uint8_t)k;
		ntp_server_answer(&s, &sys, &req, 48, &x, flags, AT(SRV_T0 + SRV_S(60)), SRV_T0,
		                  &reply, &r);
	}
	cr_assert_eq(s.n, 3u);
	cr_assert_eq(s.served, 1006u);
}

Test(server, no_table_means_limited_is_not_enforced)
{
	ntp_server s;
	ntp_server_sys sys = srv_synced();
	ntp_pkt req = srv_request(4, NTP_MODE_CLIENT, 6);
	ntp_pkt reply;
	ntp_serve_result r;
	ntp_addr a = srv_ip("10.0.0.1", 1000);

	ntp_server_init(&s, NULL, 100, 40, 30);
	cr_assert_eq(s.cap, 0u);
	cr_assert_eq(s.average_log2, NTP_MAXPOLL);
	cr_assert_eq(s.minimum_log2, NTP_MAXPOLL);
	for (int k = 0; k < 10; k++) {
		cr_assert_eq(ntp_server_answer(&s, &sys, &req, 48, &a,
		                               NTP_RES_LIMITED | NTP_RES_KOD, AT(SRV_T0 + k),
		                               SRV_T0, &reply, &r),
		             NTP_SERVE_REPLY);
	}
	ntp_server_init(&s, NULL, 0, -5, -1);
	cr_assert_eq(s.average_log2, NTP_SERVER_AVERAGE_DEF);
	cr_assert_eq(s.minimum_log2, NTP_SERVER_MINIMUM_DEF);
	cr_assert_eq(s.served, 0u);
}

Test(server, counters_count_every_verdict_once)
{
	srv_fixture f;
	ntp_pkt reply;
	ntp_serve_result r;
	unsigned calls = 0;
	static const uint32_t flags[] = {
	        0,
	        NTP_RES_IGNORE,
	        NTP_RES_NOSERVE,
	        NTP_RES_LIMITED,
	        NTP_RES_LIMITED | NTP_RES_KOD,
	        NTP_RES_VERSION,
	        NTP_RES_NOTRUST,
	};

	srv_setup(&f, -1, -1);
	for (int k = 0; k < 200; k++) {
		uint8_t mode = (k % 5 == 0) ? NTP_MODE_SERVER : NTP_MODE_CLIENT;
		uint8_t version = (uint8_t)(k % 7 == 0 ? 3 : 4);
		ntp_pkt req = srv_request(version, mode, 6);
		ntp_server_answer(&f.s, &f.sys, &req, 48, &f.client, flags[k % 7],
		                  AT(SRV_T0 + SRV_MS(300 * k)), SRV_T0, &reply, &r);
		calls++;
		cr_assert_eq(srv_total(&f.s), calls);
	}
	cr_assert_gt(f.s.served, 0u);
	cr_assert_gt(f.s.dropped_restrict, 0u);
	cr_assert_gt(f.s.dropped_bad, 0u);
	cr_assert_gt(f.s.dropped_rate + f.s.kod_sent, 0u);
}

/* ---- the MRU table at scale, and ntpd's recycling rules ---- */

/* Source i of a population: 10.a.b.c for i < 2^24. */
static ntp_addr
srv_source(uint32_t i)
{
	ntp_addr a = srv_ip("10.0.0.0", (uint16_t)(1024 + i % 50000));

	a.a[1] = (uint8_t)(i >> 16);
	a.a[2] = (uint8_t)(i >> 8);
	a.a[3] = (uint8_t)i;
	return a;
}

#define SRV_SOURCES 100000 /* distinct sources (issue 11 item 5) */
#define SRV_SECONDS 40     /* s of the run: each source sends once a second */

typedef struct srv_tally {
	uint8_t replies, kods, late_replies; /* late: in the second half of the run */
} srv_tally;

/* What one source sending 1 request/s for `seconds` s gets from a server
 * that remembers it: the reference every source of a crowd must match. */
static srv_tally
srv_lone_source(int seconds)
{
	srv_fixture f;
	ntp_pkt reply;
	ntp_serve_result r;
	srv_tally t = {0, 0, 0};

	srv_setup(&f, -1, -1);
	for (int k = 0; k < seconds; k++) {
		int v = srv_ask(&f, NTP_RES_LIMITED | NTP_RES_KOD, SRV_T0 + SRV_S(k), &reply, &r);
		t.replies += v == NTP_SERVE_REPLY;
		t.kods += v == NTP_SERVE_KOD;
		t.late_replies += v == NTP_SERVE_REPLY && k >= seconds / 2;
	}
	return t;
}

Test(server, mru_100000_sources_each_held_to_the_discard_rate)
{
	size_t entries = ntp_server_mru_entries(7000); /* `mru maxmem 7000` (KiB) */
	void *mem = calloc(1, NTP_SERVER_TABLE_BYTES(entries));
	srv_tally *tally = calloc(SRV_SOURCES, sizeof *tally);
	srv_tally want = srv_lone_source(SRV_SECONDS);
	ntp_server_sys sys = srv_synced();
	ntp_pkt req = srv_request(4, NTP_MODE_CLIENT, 6);
	ntp_pkt reply;
	ntp_serve_result r;
	ntp_server s;

	/* ntpd's bucket at the defaults (average 2^3 s, minimum 2^1 s), one
	 * request a second: 13 replies while the bucket fills, a KoD on the
	 * 14th request, then nothing but one KoD every 2^3 + 1 s -- a client
	 * that ignores KoDs gets no more time at all. */
	cr_assert_eq(want.replies, 13u);
	cr_assert_eq(want.kods, 1u + (SRV_SECONDS - 14 - 1) / 9);
	cr_assert_eq(want.late_replies, 0u);
	cr_assert_not_null(mem);
	cr_assert_not_null(tally);
	cr_assert_geq(entries, (size_t)SRV_SOURCES);
	cr_assert_leq(NTP_SERVER_TABLE_BYTES(entries), (size_t)7000 * 1024);
	ntp_server_init(&s, mem, entries, -1, -1);
	for (int k = 0; k < SRV_SECONDS; k++) {
		for (uint32_t i = 0; i < SRV_SOURCES; i++) {
			ntp_addr from = srv_source(i);
			ntp_time t = SRV_T0 + SRV_S(k) + (ntp_time)i * 10000; /* 10 us apart */
			int v = ntp_server_answer(&s, &sys, &req, 48, &from,
			                          NTP_RES_LIMITED | NTP_RES_KOD, AT(t), t, &reply,
			                          &r);

			tally[i].replies += v == NTP_SERVE_REPLY;
			tally[i].kods += v == NTP_SERVE_KOD;
			tally[i].late_replies += v == NTP_SERVE_REPLY && k >= SRV_SECONDS / 2;
		}
	}
	for (uint32_t i = 0; i < SRV_SOURCES; i++) {
		cr_assert_eq(tally[i].replies, want.replies, "source %u", i);
		cr_assert_eq(tally[i].kods, want.kods, "source %u", i);
		cr_assert_eq(tally[i].late_replies, 0u, "source %u", i);
	}
	cr_assert_eq(s.n, (size_t)SRV_SOURCES);
	cr_assert_eq(s.mru_new, (unsigned)SRV_SOURCES);
	cr_assert_eq(s.mru_none + s.mru_recycle_full + s.mru_recycle_old, 0u);
	cr_assert_eq(s.served, (unsigned)SRV_SOURCES * want.replies);
	cr_log_info("mru: %d sources x %d s at 1/s: %u replies + %u KoDs each; table %zu "
	            "entries x %zu bytes = %zu bytes",
	            SRV_SOURCES, SRV_SECONDS, want.replies, want.kods, entries,
	            NTP_SERVER_MRU_ENTRY_BYTES, NTP_SERVER_TABLE_BYTES(entries));
	free(tally);
	free(mem);
}

Test(server, mru_entry_size_and_maxmem)
{
	/* 64-byte entries plus at most one 4-byte bucket each. */
	cr_assert_leq(sizeof(ntp_server_mru), (size_t)64);
	cr_assert_eq(ntp_server_mru_entries(1024),
	             (size_t)1024 * 1024 / NTP_SERVER_MRU_ENTRY_BYTES);
	cr_assert_leq(NTP_SERVER_TABLE_BYTES(ntp_server_mru_entries(1024)), (size_t)1024 * 1024);
	cr_assert_eq(ntp_server_mru_entries(0), (size_t)1);
	cr_assert_eq(ntp_server_mru_entries(SIZE_MAX / 2048), (size_t)NTP_SERVER_MRU_MAX);
}

static int
srv_ask_from(ntp_server *s, const ntp_addr *from, ntp_time t, ntp_serve_result *r)
{
	ntp_server_sys sys = srv_synced();
	ntp_pkt req = srv_request(4, NTP_MODE_CLIENT, 6);
	ntp_pkt reply;

	return ntp_server_answer(s, &sys, &req, 48, from, NTP_RES_LIMITED | NTP_RES_KOD, AT(t), t,
	                         &reply, r);
}

Test(server, mru_recycling_follows_ntpsec)
{
	_Alignas(ntp_server_mru) uint8_t table[NTP_SERVER_TABLE_BYTES(4)];
	ntp_addr a = srv_ip("10.0.0.1", 1), b = srv_ip("10.0.0.2", 1), c = srv_ip("10.0.0.3", 1);
	ntp_addr d = srv_ip("10.0.0.4", 1), e = srv_ip("10.0.0.5", 1), g = srv_ip("10.0.0.6", 1);
	ntp_serve_result r;
	ntp_server s;

	ntp_server_init(&s, table, 4, -1, -1);
	cr_assert_eq(s.mindepth, 4u, "NTPsec's mindepth 600, clamped to the table");
	ntp_server_set_mru(&s, 2, 100, 10); /* mindepth 2, maxage 100 s, minage 10 s */
	srv_ask_from(&s, &a, SRV_T0, &r);
	srv_ask_from(&s, &b, SRV_T0 + SRV_S(1), &r);
	srv_ask_from(&s, &c, SRV_T0 + SRV_S(2), &r);
	srv_ask_from(&s, &d, SRV_T0 + SRV_S(3), &r);
	cr_assert_eq(s.mru_new, 4u);

	/* Full, and the oldest (a, 5 s) is younger than minage: e goes
	 * untracked and, as in ntpd, is answered without a limit. */
	for (int k = 0; k < 5; k++) {
		cr_assert_eq(srv_ask_from(&s, &e, SRV_T0 + SRV_S(5) + SRV_MS(100 * k), &r),
		             NTP_SERVE_REPLY);
		cr_assert(strstr(ntp_serve_reason(&r),
		                 "not rate limited: MRU table full (4 entries), oldest 5 s "
		                 "< mru minage 10 s") != NULL,
		          "%s", ntp_serve_reason(&r));
	}
	cr_assert_eq(s.mru_none, 5u);
	cr_assert_null(ntp_server_mru_find(&s, &e));

	/* At 12 s the oldest is past minage: recycled for e. */
	srv_ask_from(&s, &e, SRV_T0 + SRV_S(12), &r);
	cr_assert_eq(s.mru_recycle_full, 1u);
	cr_assert_null(ntp_server_mru_find(&s, &a));
	cr_assert_not_null(ntp_server_mru_find(&s, &e));

	/* Past maxage the oldest (b) is recycled first. */
	srv_ask_from(&s, &g, SRV_T0 + SRV_S(200), &r);
	cr_assert_eq(s.mru_recycle_old, 1u);
	cr_assert_null(ntp_server_mru_find(&s, &b));
	cr_assert_eq(s.n, 4u);

	/* ... even while there are unused slots, once past mindepth. */
	ntp_server_init(&s, table, 4, -1, -1);
	ntp_server_set_mru(&s, 1, 100, 10);
	srv_ask_from(&s, &a, SRV_T0, &r);
	srv_ask_from(&s, &b, SRV_T0 + SRV_S(101), &r);
	cr_assert_eq(s.n, 1u);
	cr_assert_eq(s.mru_recycle_old, 1u);
	cr_assert_null(ntp_server_mru_find(&s, &a));
}

Test(server, mru_order_does_not_depend_on_the_hash_key)
{
	_Alignas(ntp_server_mru) uint8_t t1[NTP_SERVER_TABLE_BYTES(64)], t2[sizeof t1];
	static const uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	ntp_server s1, s2;
	ntp_serve_result r1, r2;

	ntp_server_init(&s1, t1, 64, -1, -1);
	ntp_server_init(&s2, t2, 64, -1, -1);
	ntp_server_set_hash_key(&s2, key);
	ntp_server_set_mru(&s1, 0, 3600, 0);
	ntp_server_set_mru(&s2, 0, 3600, 0);
	/* 500 requests from 100 IPv6 sources of one /64 (an attacker's choice
	 * of addresses): same verdicts, same MRU order under either key. */
	for (int k = 0; k < 500; k++) {
		ntp_addr x = srv_ip("2001:db8::", 123);
		x.a[15] = (uint8_t)((k * 37) % 100);
		ntp_time t = SRV_T0 + SRV_MS(250 * k);

		cr_assert_eq(srv_ask_from(&s1, &x, t, &r1), srv_ask_from(&s2, &x, t, &r2));
		cr_assert_str_eq(ntp_serve_reason(&r1), ntp_serve_reason(&r2));
	}
	const ntp_server_mru *e1 = ntp_server_mru_next(&s1, NULL);
	const ntp_server_mru *e2 = ntp_server_mru_next(&s2, NULL);
	size_t n = 0;
	for (; e1 != NULL && e2 != NULL;
	     e1 = ntp_server_mru_next(&s1, e1), e2 = ntp_server_mru_next(&s2, e2), n++) {
		cr_assert(ntp_addr_equal(&e1->addr, &e2->addr));
		cr_assert_eq(e1->count, e2->count);
		cr_assert_eq(e1->leak, e2->leak);
		cr_assert_not_null(ntp_server_mru_find(&s1, &e1->addr));
	}
	cr_assert_null(e1);
	cr_assert_null(e2);
	cr_assert_eq(n, 64u);
}

Test(server, mode6_shares_the_bucket_of_its_source)
{
	srv_fixture f;
	ntp_pkt reply;
	ntp_serve_result r;

	srv_setup(&f, -1, -1);
	cr_assert_eq(ntp_server_limit_control(&f.s, &f.client, 2, AT(SRV_T0), &r), NTP_SERVE_REPLY);
	/* ntpq's next request 10 ms later is under `discard minimum` */
	cr_assert_eq(ntp_server_limit_control(&f.s, &f.client, 2, AT(SRV_T0 + SRV_MS(10)), &r),
	             NTP_SERVE_DROP);
	cr_assert_str_eq(ntp_serve_reason(&r),
	                 "rate limit: 0 s since last request < discard minimum 2^1 s; "
	                 "mode 6 request dropped");
	cr_assert_eq(f.s.dropped_rate, 1u);
	cr_assert_eq(ntp_server_mru_find(&f.s, &f.client)->mode, NTP_MODE_CONTROL);
	/* one entry per host: its time requests meet the same bucket */
	cr_assert_eq(srv_ask(&f, NTP_RES_LIMITED, SRV_T0 + SRV_MS(20), &reply, &r), NTP_SERVE_DROP);
	cr_assert_eq(ntp_server_mru_find(&f.s, &f.client)->count, 3u);
	/* without a table nothing is limited */
	ntp_server_init(&f.s, NULL, 0, -1, -1);
	cr_assert_eq(ntp_server_limit_control(&f.s, &f.client, 2, AT(SRV_T0), &r), NTP_SERVE_REPLY);
	cr_assert_eq(ntp_server_limit_control(&f.s, &f.client, 2, AT(SRV_T0), &r), NTP_SERVE_REPLY);
}
