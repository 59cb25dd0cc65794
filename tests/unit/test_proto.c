/* SPDX-License-Identifier: BSD-2-Clause */
/* core/ntp_proto: on-wire protocol of one association (RFC 5905 §8, §13). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "ntp_filter.h"
#include "ntp_nonce.h"
#include "ntp_proto.h"

#define S(x)  ((ntp_time)((x)*1e9))
#define T0    S(1550000000) /* 2019-02-12, near the seed's dates */
#define PREC  (-20)
#define AT(t) ntp_now_at((t), (t)) /* both clocks at t: nothing steps them here */

/* A keyed nonce generator for the requests these tests build. */
static ntp_nonce *
nonce(void)
{
	static ntp_nonce n;
	static const uint8_t key[NTP_NONCE_KEY_BYTES] = {1, 2, 3};

	if (n.used == 0) {
		cr_assert(ntp_nonce_init(&n, key));
	}
	return &n;
}

static ntp_proto_sys
sysctx(void)
{
	ntp_proto_sys s = {
	        .precision = PREC,
	        .poll = 6,
	        .leap = NTP_LEAP_NOTSYNC,
	        .stratum = 16,
	        .refid = NTP_REFID("INIT"),
	        .phi = NTP_PHI,
	};

	return s;
}

/* tos maxdist 1.5 s, mindist 1 ms, PHI 15 ppm: ntpd's defaults */
static const ntp_fit_params FIT = {.maxdist = 1.5, .mindist = 0.001, .phi = NTP_PHI};

static ntp_addr
addr(const char *s)
{
	ntp_addr a;

	memset(&a, 0, sizeof a);
	cr_assert(ntp_addr_parse(s, &a));
	a.port = NTP_PORT;
	return a;
}

static void
client(ntp_peer *p, uint8_t flags)
{
	ntp_addr a = addr("192.168.163.131");

	ntp_peer_init(p, NTP_PEER_CLIENT, &a, flags | NTP_PEER_F_CONFIG, 6, 10, 4, T0);
	ntp_peer_schedule(p, T0 + S(1));
}

/* A server answer to req: the server's clock is `behind` s behind ours,
 * one-way delay d s each way, processing 0.2 ms.  t1 is our send time. */
static ntp_pkt
answer(const ntp_pkt *req, ntp_time t1, double behind, double d, ntp_time *t4)
{
	ntp_pkt r;
	ntp_time srv_recv = t1 + S(d) - S(behind);

	memset(&r, 0, sizeof r);
	r.leap = NTP_LEAP_NONE;
	r.version = 4;
	r.mode = NTP_MODE_SERVER;
	r.stratum = 5;
	r.poll = req->poll;
	r.precision = -20;
	r.rootdelay = ntp_short_from_s(0.0);
	r.rootdisp = ntp_short_from_s(0.01);
	r.refid = NTP_REFID("LOCL");
	r.reftime = ntp_ts_from_unix_ns(srv_recv - S(10));
	r.org = req->xmt;
	r.rec = ntp_ts_from_unix_ns(srv_recv);
	r.xmt = ntp_ts_from_unix_ns(srv_recv + S(0.0002));
	*t4 = t1 + S(2 * d + 0.0002);
	return r;
}

/* Protocol state only: counters and the last reason zeroed. */
static ntp_peer
state_of(const ntp_peer *p)
{
	ntp_peer c = *p;

	c.sent = c.received = c.rejected = 0;
	c.duplicate = c.bogus = c.kod = c.kod_spoofed = 0;
	c.why = 0;
	c.why_a = c.why_b = 0.0;
	c.flash = 0;
	return c;
}

static void
assert_same_state(const ntp_peer *a, const ntp_peer *b)
{
	ntp_peer x = state_of(a), y = state_of(b);

	cr_assert(memcmp(&x, &y, sizeof x) == 0, "a rejected packet changed the association");
}

static void
poll_once(ntp_peer *p, ntp_pkt *req, ntp_poll_result *res)
{
	ntp_proto_sys s = sysctx();
	ntp_rand r;

	ntp_rand_seed(&r, 42 + p->sent);
	ntp_peer_poll(p, &s, true, AT(p->nextdate), &r, nonce(), req, res);
}

Test(proto, client_request_is_minimal_and_random)
{
	ntp_peer p;
	ntp_pkt req, req2;
	ntp_poll_result res;
	ntp_proto_sys s = sysctx();
	ntp_rand r;

	client(&p, 0);
	ntp_rand_seed(&r, 7);
	cr_assert(ntp_peer_poll(&p, &s, true, AT(T0 + S(1)), &r, nonce(), &req, &res));
	cr_assert(res.send);
	cr_assert_eq(req.mode, NTP_MODE_CLIENT);
	cr_assert_eq(req.version, 4);
	cr_assert_eq(req.poll, 6);
	cr_assert_eq(req.leap, 0);
	cr_assert_eq(req.stratum, 0);
	cr_assert_eq(req.refid, 0u);
	cr_assert_eq(req.reftime, 0u);
	cr_assert_eq(req.org, 0u);
	cr_assert_eq(req.rec, 0u);
	cr_assert_neq(req.xmt, 0u);
	/* not our clock: the real T1 is kept locally */
	cr_assert_gt(llabs(ntp_ts_sub(req.xmt, ntp_ts_from_unix_ns(T0 + S(1)))),
	             (INT64_C(1) << 32));
	cr_assert_eq(p.aorg, req.xmt);
	cr_assert_eq(p.t1, T0 + S(1));
	cr_assert_eq(p.sent, 1u);
	ntp_peer_poll(&p, &s, true, AT(p.nextdate), &r, nonce(), &req2, &res);
	cr_assert_neq(req2.xmt, req.xmt);
}

/* The seed: client 28.2 s ahead, 1 ms each way, 0.2 ms in the server:
 * offset = ((T2-T1) + (T3-T4))/2 = -28.2 s, delay = 2 ms. */
Test(proto, offset_and_delay_worked)
{
	ntp_peer p;
	ntp_pkt req, rep;
	ntp_poll_result pr;
	ntp_rx_result rr;
	ntp_proto_sys s = sysctx();
	ntp_time t4;

	client(&p, 0);
	poll_once(&p, &req, &pr);
	rep = answer(&req, p.t1, 28.2, 0.001, &t4);
	cr_assert_eq(ntp_peer_receive(&p, &rep, AT(t4), &s, &rr), NTP_RX_SAMPLE);
	cr_assert_float_eq(rr.sample.offset, -28.2, 1e-6);
	cr_assert_float_eq(rr.sample.delay, 0.002, 1e-6);
	/* disp = 2^-20 + 2^-20 + PHI * 0.002 */
	cr_assert_float_eq(rr.sample.disp, 2.0 / 1048576.0 + 15e-6 * 0.002, 1e-9);
	cr_assert_eq(rr.sample.mono, t4, "taken when the reply arrived");
	cr_assert_eq(rr.sample.poll, p.hpoll);
	cr_assert_not(rr.sample.lost);
	cr_assert(rr.became_reachable);
	cr_assert_eq(p.reach, 1);
	cr_assert_eq(p.stratum, 5);
	cr_assert_eq(p.refid, NTP_REFID("LOCL"));
	cr_assert_eq(p.aorg, 0u, "the request is consumed");
}

Test(proto, delay_clamped_to_precision)
{
	ntp_peer p;
	ntp_pkt req, rep;
	ntp_poll_result pr;
	ntp_rx_result rr;
	ntp_proto_sys s = sysctx();
	ntp_time t4;

	client(&p, 0);
	poll_once(&p, &req, &pr);
	rep = answer(&req, p.t1, 0.0, 0.0, &t4);
	rep.xmt = rep.rec; /* no processing time */
	t4 = p.t1;         /* zero round trip */
	cr_assert_eq(ntp_peer_receive(&p, &rep, AT(t4), &s, &rr), NTP_RX_SAMPLE);
	cr_assert_float_eq(rr.sample.delay, 1.0 / 1048576.0, 1e-12);
}

/* Each packet test: its flash bit, its reason, and no state change. */
struct bad_case {
	const char *name;
	uint16_t test;
	const char *reason;
	void (*mangle)(ntp_pkt *r, const ntp_peer *p);
};

static void
m_zero_xmt(ntp_pkt *r, const ntp_peer *p)
{
	(void)p;
	r->xmt = 0;
}

static void
m_zero_org(ntp_pkt *r, const ntp_peer *p)
{
	(void)p;
	r->org = 0;
}

static void
m_bogus_org(ntp_pkt *r, const ntp_peer *p)
{
	r->org = p->aorg ^ 1u;
}

static void
m_zero_rec(ntp_pkt *r, const ntp_peer *p)
{
	(void)p;
	r->rec = 0;
}

static void
m_leap3(ntp_pkt *r, const ntp_peer *p)
{
	(void)p;
	r->leap = NTP_LEAP_NOTSYNC;
}

static void
m_stratum16(ntp_pkt *r, const ntp_peer *p)
{
	(void)p;
	r->stratum = 16;
}

static void
m_reftime_ahead(ntp_pkt *r, const ntp_peer *p)
{
	(void)p;
	r->reftime = ntp_ts_add(r->xmt, ntp_dur_from_s(5.0));
}

static void
m_header(ntp_pkt *r, const ntp_peer *p)
{
	(void)p;
	r->rootdelay = ntp_short_from_s(2.0);
	r->rootdisp = ntp_short_from_s(15.5);
}

static const struct bad_case bad_cases[] = {
        {"zero xmt", NTP_TEST3, "TEST3 invalid: zero transmit timestamp", m_zero_xmt},
        {"zero org", NTP_TEST3, "TEST3 invalid: zero origin timestamp", m_zero_org},
        {"bogus org", NTP_TEST2, "TEST2 bogus origin", m_bogus_org},
        {"zero rec", NTP_TEST3, "TEST3 invalid: zero receive timestamp", m_zero_rec},
        {"leap 3", NTP_TEST6, "TEST6 server unsynchronised: leap indicator 3", m_leap3},
        {"stratum 16", NTP_TEST6, "TEST6 server unsynchronised: stratum 16", m_stratum16},
        {"reftime", NTP_TEST6, "TEST6 server unsynchronised: reference time 5.0", m_reftime_ahead},
        {"header", NTP_TEST7, "TEST7 bad header: root delay/2 + root dispersion 16.500 s",
         m_header},
};

Test(proto, packet_tests_reject_without_state_change)
{
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		ntp_peer p, before;
		ntp_pkt req, rep;
		ntp_poll_result pr;
		ntp_rx_result rr;
		ntp_proto_sys s = sysctx();
		ntp_time t4;
		char why[160];

		client(&p, 0);
		poll_once(&p, &req, &pr);
		rep = answer(&req, p.t1, 0.5, 0.001, &t4);
		bad_cases[i].mangle(&rep, &p);
		before = p;
		cr_assert_eq(ntp_peer_receive(&p, &rep, AT(t4), &s, &rr), NTP_RX_REJECT, "%s",
		             bad_cases[i].name);
		cr_assert(rr.flash & bad_cases[i].test, "%s: flash %04x", bad_cases[i].name,
		          rr.flash);
		ntp_proto_why_format(rr.why, rr.why_a, rr.why_b, why, sizeof why);
		cr_assert(strstr(why, bad_cases[i].reason) != NULL, "%s: '%s'", bad_cases[i].name,
		          why);
		assert_same_state(&before, &p);
		cr_assert_eq(p.rejected, 1u);
		cr_assert_eq(p.why, rr.why);
		/* The genuine reply still works afterwards (expected origin kept). */
		rep = answer(&req, p.t1, 0.5, 0.001, &t4);
		cr_assert_eq(ntp_peer_receive(&p, &rep, AT(t4), &s, &rr), NTP_RX_SAMPLE, "%s",
		             bad_cases[i].name);
	}
}

Test(proto, duplicate_and_replay)
{
	ntp_peer p, before;
	ntp_pkt req, rep;
	ntp_poll_result pr;
	ntp_rx_result rr;
	ntp_proto_sys s = sysctx();
	ntp_time t4;
	char why[160];

	client(&p, 0);
	poll_once(&p, &req, &pr);
	rep = answer(&req, p.t1, 0.0, 0.001, &t4);
	cr_assert_eq(ntp_peer_receive(&p, &rep, AT(t4), &s, &rr), NTP_RX_SAMPLE);
	before = p;
	/* the same packet again: TEST1 */
	cr_assert_eq(ntp_peer_receive(&p, &rep, AT(t4 + S(0.001)), &s, &rr), NTP_RX_REJECT);
	cr_assert_eq(rr.flash, NTP_TEST1);
	ntp_proto_why_format(rr.why, rr.why_a, rr.why_b, why, sizeof why);
	cr_assert_str_eq(why, "TEST1 duplicate: transmit timestamp already seen");
	cr_assert_eq(p.duplicate, 1u);
	assert_same_state(&before, &p);
	/* a replay with a fresh xmt but the old origin: TEST2, nothing pending */
	rep.xmt = ntp_ts_add(rep.xmt, 1000);
	cr_assert_eq(ntp_peer_receive(&p, &rep, AT(t4 + S(0.002)), &s, &rr), NTP_RX_REJECT);
	cr_assert_eq(rr.flash, NTP_TEST2);
	ntp_proto_why_format(rr.why, rr.why_a, rr.why_b, why, sizeof why);
	cr_assert(strstr(why, "no request outstanding") != NULL, "%s", why);
	assert_same_state(&before, &p);
}

static ntp_pkt
kod_for(const ntp_pkt *req, const char *code, int8_t poll)
{
	ntp_pkt k;

	memset(&k, 0, sizeof k);
	k.leap = NTP_LEAP_NOTSYNC;
	k.version = 4;
	k.mode = NTP_MODE_SERVER;
	k.stratum = 0;
	k.poll = poll;
	k.refid = NTP_REFID(code);
	k.org = req->xmt;
	k.rec = req->xmt;
	k.xmt = req->xmt;
	return k;
}

Test(proto, spoofed_kod_ignored_and_counted)
{
	ntp_peer p, before;
	ntp_pkt req, k;
	ntp_poll_result pr;
	ntp_rx_result rr;
	ntp_proto_sys s = sysctx();
	char why[160];

	client(&p, 0);
	poll_once(&p, &req, &pr);
	before = p;
	k = kod_for(&req, "DENY", 10);
	k.org ^= 0x10000; /* off-path attacker guessed wrong */
	k.xmt = k.org;
	cr_assert_eq(ntp_peer_receive(&p, &k, AT(p.t1 + S(0.01)), &s, &rr), NTP_RX_KOD_SPOOFED);
	cr_assert_eq(p.kod_spoofed, 1u);
	cr_assert_eq(p.kod, 0u);
	cr_assert_eq(p.flags & NTP_PEER_F_DEMOBILIZED, 0);
	ntp_proto_why_format(rr.why, rr.why_a, rr.why_b, why, sizeof why);
	cr_assert_str_eq(why, "KoD DENY with wrong or zero origin ignored (spoofed?)");
	assert_same_state(&before, &p);
	/* a zero origin never matches either */
	k.org = 0;
	cr_assert_eq(ntp_peer_receive(&p, &k, AT(p.t1 + S(0.02)), &s, &rr), NTP_RX_KOD_SPOOFED);
	cr_assert_eq(p.kod_spoofed, 2u);
	assert_same_state(&before, &p);
}

Test(proto, rate_kod_raises_poll)
{
	ntp_peer p;
	ntp_pkt req, k;
	ntp_poll_result pr;
	ntp_rx_result rr;
	ntp_proto_sys s = sysctx();
	char why[160];

	client(&p, 0);
	poll_once(&p, &req, &pr);
	ntp_time polled = p.outdate;
	k = kod_for(&req, "RATE", 6); /* server echoes our poll: we still back off */
	cr_assert_eq(ntp_peer_receive(&p, &k, AT(p.t1 + S(0.01)), &s, &rr), NTP_RX_KOD);
	cr_assert_eq(rr.kiss, NTP_REFID("RATE"));
	cr_assert_eq(p.minpoll, 7);
	cr_assert_eq(p.hpoll, 7);
	/* one new interval after the poll, and 2 s more: the KoD set ntpd's
	 * headway to 9 x 64 s, over one minpoll (NTPsec poll_update) */
	cr_assert_eq(p.nextdate, polled + S(130));
	ntp_proto_why_format(rr.why, rr.why_a, rr.why_b, why, sizeof why);
	cr_assert_str_eq(why, "KoD RATE: minpoll raised to 7 (128 s)");
	/* a KoD asking for poll 10 raises minpoll (and maxpoll) to 10 */
	poll_once(&p, &req, &pr);
	k = kod_for(&req, "RATE", 12);
	cr_assert_eq(ntp_peer_receive(&p, &k, AT(p.t1 + S(0.01)), &s, &rr), NTP_RX_KOD);
	cr_assert_eq(p.minpoll, 12);
	cr_assert_eq(p.maxpoll, 12);
	cr_assert_eq(ntp_peer_poll_log2(&p), 12);
	cr_assert_eq(p.kod, 2u);
}

Test(proto, deny_kod_stops_sending)
{
	ntp_peer p;
	ntp_pkt req, k;
	ntp_poll_result pr;
	ntp_rx_result rr;
	ntp_proto_sys s = sysctx();
	ntp_rand r;

	client(&p, 0);
	poll_once(&p, &req, &pr);
	k = kod_for(&req, "DENY", 6);
	cr_assert_eq(ntp_peer_receive(&p, &k, AT(p.t1 + S(0.01)), &s, &rr), NTP_RX_KOD);
	cr_assert(rr.demobilized);
	cr_assert(p.flags & NTP_PEER_F_DEMOBILIZED);
	cr_assert_eq(p.nextdate, INT64_MAX);
	ntp_rand_seed(&r, 1);
	cr_assert_not(ntp_peer_poll(&p, &s, true, AT(T0 + S(1000)), &r, nonce(), &req, &pr));
	cr_assert_not(pr.send);
	cr_assert_eq(p.sent, 1u);
	/* RSTR demobilises as well */
	client(&p, 0);
	poll_once(&p, &req, &pr);
	k = kod_for(&req, "RSTR", 6);
	cr_assert_eq(ntp_peer_receive(&p, &k, AT(p.t1 + S(0.01)), &s, &rr), NTP_RX_KOD);
	cr_assert(p.flags & NTP_PEER_F_DEMOBILIZED);
}

/* Reach register: one bit per poll, a reply sets bit 0. */
Test(proto, reach_register_shifts)
{
	ntp_peer p;
	ntp_pkt req, rep;
	ntp_poll_result pr;
	ntp_rx_result rr;
	ntp_proto_sys s = sysctx();
	ntp_time t4;
	/* answered, answered, lost, answered, lost x5 */
	const bool answered[] = {true, true, false, true, false, false, false, false, false};
	const uint8_t reach[] = {1, 3, 6, 0xd, 0x1a, 0x34, 0x68, 0xd0, 0xa0};

	client(&p, 0);
	for (size_t i = 0; i < sizeof answered; i++) {
		poll_once(&p, &req, &pr);
		if (answered[i]) {
			rep = answer(&req, p.t1, 0.0, 0.001, &t4);
			ntp_peer_receive(&p, &rep, AT(t4), &s, &rr);
		}
		cr_assert_eq(p.reach, reach[i], "poll %zu: reach %o", i, p.reach);
	}
}

/* iburst: the first reply to an unreachable association starts a burst:
 * 8 packets in all, 2 s apart; the next poll comes one interval after the
 * burst began. */
Test(proto, iburst_six_packets_two_seconds_apart)
{
	ntp_peer p;
	ntp_pkt req, rep;
	ntp_poll_result pr;
	ntp_rx_result rr;
	ntp_proto_sys s = sysctx();
	ntp_time t4, sent_at[16];
	int n = 0;
	ntp_rand r;

	client(&p, NTP_PEER_F_IBURST);
	ntp_rand_seed(&r, 3);
	while (n < 7) {
		ntp_time now = p.nextdate;

		cr_assert(ntp_peer_poll(&p, &s, true, AT(now), &r, nonce(), &req, &pr));
		sent_at[n++] = now;
		rep = answer(&req, p.t1, 0.0, 0.001, &t4);
		ntp_peer_receive(&p, &rep, AT(t4), &s, &rr);
	}
	/* NTP_IBURST (ntpd, NTPsec): six packets in all */
	for (int i = 1; i < NTP_IBURST_COUNT; i++) {
		double gap = ntp_time_diff_s(sent_at[i], sent_at[i - 1]);

		cr_assert(gap >= 2.0 && gap < 2.01, "gap %d = %.6f s", i, gap);
	}
	/* the 7th packet is the next regular poll: 64 s (+ up to 1/16) after
	 * the burst began, + 2 s while the headway (6 x 62 s less the time
	 * since) is over one minpoll (NTPsec poll_update) */
	double gap7 = ntp_time_diff_s(sent_at[6], sent_at[0]);
	cr_assert(gap7 >= 66.0 && gap7 < 70.0, "next poll after %.3f s", gap7);
	cr_assert_eq(p.reach, 3); /* one bit per poll, not per burst packet */
}

/* Without iburst an association polls once per interval. */
Test(proto, no_iburst_single_packets)
{
	ntp_peer p;
	ntp_pkt req, rep;
	ntp_poll_result pr;
	ntp_rx_result rr;
	ntp_proto_sys s = sysctx();
	ntp_time t4, prev = 0;
	ntp_rand r;

	client(&p, 0);
	ntp_rand_seed(&r, 3);
	for (int i = 0; i < 4; i++) {
		ntp_time now = p.nextdate;

		ntp_peer_poll(&p, &s, true, AT(now), &r, nonce(), &req, &pr);
		rep = answer(&req, p.t1, 0.0, 0.001, &t4);
		ntp_peer_receive(&p, &rep, AT(t4), &s, &rr);
		if (prev != 0) {
			double gap = ntp_time_diff_s(now, prev);

			cr_assert(gap >= 64.0 && gap < 68.0, "gap %.3f", gap);
		}
		prev = now;
	}
}

/* Poll and answer at once for 30 s from the next poll; the requests sent. */
static int
answered_polls_for_30s(ntp_peer *p, const ntp_proto_sys *s, ntp_rand *r)
{
	ntp_time start = p->nextdate, t4;
	ntp_poll_result pr;
	ntp_rx_result rr;
	ntp_pkt req, rep;
	int sent = 0;

	while (p->nextdate < start + S(30)) {
		ntp_peer_poll(p, s, true, AT(p->nextdate), r, nonce(), &req, &pr);
		sent++;
		rep = answer(&req, p->t1, 0.0, 0.001, &t4);
		ntp_peer_receive(p, &rep, AT(t4), s, &rr);
	}
	return sent;
}

/* burst: 2^(hpoll - minpoll) packets (at most 8) 2 s apart at each poll
 * while reachable and fit, as ntpd 4.2.8 and NTPsec; one at minpoll. */
Test(proto, burst_when_reachable)
{
	ntp_peer p;
	ntp_pkt req, rep;
	ntp_poll_result pr;
	ntp_rx_result rr;
	ntp_proto_sys s = sysctx();
	ntp_time t4;
	ntp_rand r;

	client(&p, NTP_PEER_F_BURST);
	p.maxpoll = 10;
	s.poll = 9; /* three above minpoll 6: the whole burst */
	ntp_rand_seed(&r, 5);
	/* first poll: unreachable -> single packet */
	ntp_peer_poll(&p, &s, false, AT(p.nextdate), &r, nonce(), &req, &pr);
	rep = answer(&req, p.t1, 0.0, 0.001, &t4);
	ntp_peer_receive(&p, &rep, AT(t4), &s, &rr);
	cr_assert_eq(p.burst, 0);
	/* second poll: reachable and fit -> burst of 8 */
	cr_assert_eq(answered_polls_for_30s(&p, &s, &r), 8);
	cr_assert_eq(p.sent, 9u);
	/* at hpoll = minpoll + 1 a burst is 2 packets */
	s.poll = 7;
	p.nextdate += S(600);
	cr_assert_eq(answered_polls_for_30s(&p, &s, &r), 2);
}

/* Unreachable backoff: after NTP_UNREACH silent polls the poll interval
 * doubles each poll up to maxpoll (ntpd transmit()). */
Test(proto, unreachable_backoff)
{
	ntp_peer p;
	ntp_pkt req;
	ntp_poll_result pr;
	ntp_proto_sys s = sysctx();
	ntp_rand r;
	ntp_time prev = 0;
	double gaps[16];

	client(&p, 0);
	ntp_rand_seed(&r, 9);
	for (int i = 0; i < 16; i++) {
		ntp_time now = p.nextdate;

		ntp_peer_poll(&p, &s, true, AT(now), &r, nonce(), &req, &pr);
		gaps[i] = prev ? ntp_time_diff_s(now, prev) : 0.0;
		prev = now;
	}
	for (int i = 1; i < NTP_UNREACH; i++) {
		cr_assert(gaps[i] >= 64.0 && gaps[i] < 68.0, "poll %d gap %.1f", i, gaps[i]);
	}
	cr_assert(gaps[10] >= 128.0 && gaps[10] < 136.0, "gap %.1f", gaps[10]);
	cr_assert(gaps[11] >= 256.0 && gaps[11] < 272.0, "gap %.1f", gaps[11]);
	cr_assert(gaps[15] >= 1024.0 && gaps[15] < 1088.0, "maxpoll %.1f", gaps[15]);
	cr_assert_eq(p.hpoll, 10);
	/* lost polls give the discipline MAXDISP dummy samples */
	cr_assert(pr.sampled);
	cr_assert(pr.sample.lost);
	cr_assert_float_eq(pr.sample.disp, NTP_MAXDISPERSE, 1e-12);
}

/* An ephemeral (passive) association times out instead of backing off. */
Test(proto, ephemeral_times_out)
{
	ntp_peer p;
	ntp_pkt req;
	ntp_poll_result pr;
	ntp_proto_sys s = sysctx();
	ntp_addr a = addr("10.0.0.9");
	ntp_rand r;
	int polls = 0;

	ntp_peer_init(&p, NTP_PEER_PASSIVE, &a, 0, 6, 10, 4, T0);
	ntp_peer_schedule(&p, T0 + S(3));
	ntp_rand_seed(&r, 9);
	do {
		ntp_peer_poll(&p, &s, false, AT(p.nextdate), &r, nonce(), &req, &pr);
		polls++;
	} while (!pr.timed_out && polls < 50);
	cr_assert(pr.timed_out);
	cr_assert_eq(polls, NTP_UNREACH);
}

/* Symmetric mode: A (active) and B (passive).  B's first packet from A
 * has a zero origin (TEST3) but B still echoes A's timestamps; B's reply
 * is then valid at A, and A's next packet valid at B. */
Test(proto, symmetric_handshake)
{
	ntp_peer a, b;
	ntp_pkt pa, pb;
	ntp_poll_result pr;
	ntp_rx_result rr;
	ntp_proto_sys s = sysctx();
	ntp_addr aa = addr("10.0.0.1"), ab = addr("10.0.0.2");
	ntp_rand r;

	s.leap = NTP_LEAP_NONE;
	s.stratum = 3;
	ntp_rand_seed(&r, 11);
	ntp_peer_init(&a, NTP_PEER_ACTIVE, &ab, NTP_PEER_F_CONFIG, 6, 10, 4, T0);
	ntp_peer_init(&b, NTP_PEER_PASSIVE, &aa, 0, 6, 10, 4, T0);

	ntp_peer_poll(&a, &s, true, AT(T0 + S(1)), &r, nonce(), &pa, &pr);
	cr_assert_eq(pa.mode, NTP_MODE_ACTIVE);
	cr_assert_eq(pa.xmt, ntp_ts_from_unix_ns(T0 + S(1)), "symmetric xmt is real");
	cr_assert_eq(pa.org, 0u);
	cr_assert_eq(ntp_peer_receive(&b, &pa, AT(T0 + S(1.001)), &s, &rr), NTP_RX_REJECT);
	cr_assert(rr.flash & NTP_TEST3);
	cr_assert_eq(b.xmt, pa.xmt, "echo state updated");
	cr_assert_eq(b.dst, T0 + S(1.001));

	ntp_peer_poll(&b, &s, true, AT(T0 + S(4)), &r, nonce(), &pb, &pr);
	cr_assert_eq(pb.mode, NTP_MODE_PASSIVE);
	cr_assert_eq(pb.org, pa.xmt);
	cr_assert_eq(pb.rec, ntp_ts_from_unix_ns(T0 + S(1.001)));
	cr_assert_eq(ntp_peer_receive(&a, &pb, AT(T0 + S(4.001)), &s, &rr), NTP_RX_SAMPLE);
	/* same clocks, 1 ms each way: offset 0, delay 2 ms */
	cr_assert_float_eq(rr.sample.offset, 0.0, 1e-6);
	cr_assert_float_eq(rr.sample.delay, 0.002, 1e-6);

	ntp_peer_poll(&a, &s, true, AT(T0 + S(65)), &r, nonce(), &pa, &pr);
	cr_assert_eq(pa.org, pb.xmt);
	cr_assert_eq(ntp_peer_receive(&b, &pa, AT(T0 + S(65.001)), &s, &rr), NTP_RX_SAMPLE);
}

/* The estimate a clock filter (the ntpd disciplines') makes of the
 * samples so far. */
static ntp_estimate
filtered(ntp_filter *f, const ntp_sample *smp)
{
	ntp_filter_params fp = {.precision = ldexp(1.0, PREC), .maxdist = 1.5, .hpoll = 6};
	ntp_estimate e;

	if (smp != NULL) {
		ntp_filter_add(f, smp->offset, smp->delay, smp->disp, smp->mono, &fp, NULL);
	}
	e = (ntp_estimate){f->offset, f->delay, f->disp, f->jitter, f->update, f->epoch};
	return e;
}

Test(proto, fit_tests_with_reasons)
{
	ntp_filter f;
	ntp_estimate e;
	ntp_peer p;
	ntp_pkt req, rep;
	ntp_poll_result pr;
	ntp_rx_result rr;
	ntp_proto_sys s = sysctx();
	ntp_time t4;
	char why[160];
	uint16_t u;

	client(&p, 0);
	ntp_filter_reset(&f, T0, ldexp(1.0, PREC));
	e = filtered(&f, NULL);
	u = ntp_peer_unfit(&p, &e, T0, &FIT);
	cr_assert_eq(u, NTP_TEST10 | NTP_TEST11 | NTP_TEST13);
	ntp_proto_unfit_format(&p, &e, u, T0, &FIT, why, sizeof why);
	cr_assert_str_eq(why, "TEST13 unreachable: no valid reply in the last 8 polls");

	/* one sample: reachable, synchronised, but 7 empty stages weigh ~7.9 s */
	poll_once(&p, &req, &pr);
	rep = answer(&req, p.t1, 0.0, 0.001, &t4);
	ntp_peer_receive(&p, &rep, AT(t4), &s, &rr);
	e = filtered(&f, &rr.sample);
	u = ntp_peer_unfit(&p, &e, t4, &FIT);
	cr_assert_eq(u, NTP_TEST11);
	ntp_proto_unfit_format(&p, &e, u, t4, &FIT, why, sizeof why);
	cr_assert(strncmp(why, "TEST11 distance 7.9", 19) == 0, "%s", why);

	/* four samples bring the distance under 1.5 s */
	for (int i = 0; i < 3; i++) {
		poll_once(&p, &req, &pr);
		rep = answer(&req, p.t1, 0.0, 0.001, &t4);
		ntp_peer_receive(&p, &rep, AT(t4), &s, &rr);
		e = filtered(&f, &rr.sample);
	}
	cr_assert_eq(ntp_peer_unfit(&p, &e, t4, &FIT), 0);
	cr_assert_lt(ntp_peer_root_distance(&p, &e, t4, &FIT), 1.5);

	/* a server synchronised to us: loop */
	p.stratum = 3;
	p.refid = 0xc0a8a384; /* 192.168.163.132 */
	p.local_refid = 0xc0a8a384;
	u = ntp_peer_unfit(&p, &e, t4, &FIT);
	cr_assert_eq(u, NTP_TEST12);
	ntp_proto_unfit_format(&p, &e, u, t4, &FIT, why, sizeof why);
	cr_assert_str_eq(why, "TEST12 loop: its reference is this host");
	p.flags |= NTP_PEER_F_NOSELECT;
	cr_assert(ntp_peer_unfit(&p, &e, t4, &FIT) & NTP_TEST13);
}

/* LOCAL(0): a zero sample per poll, exactly 2^minpoll apart, reach 1,3,7;
 * exempt from the distance test like ntpd's refclocks. */
Test(proto, local_clock_samples)
{
	ntp_peer p;
	ntp_pkt req;
	ntp_poll_result pr;
	ntp_proto_sys s = sysctx();
	ntp_rand r;
	ntp_addr a = addr("127.127.1.0");

	ntp_peer_init(&p, NTP_PEER_LOCAL, &a, NTP_PEER_F_CONFIG, 6, 10, 4, T0);
	p.cfg_stratum = 5;
	ntp_peer_clear(&p, "INIT");
	cr_assert_eq(p.maxpoll, 6);
	cr_assert_eq(p.stratum, 5);
	cr_assert_eq(p.refid, NTP_REFID("LOCL"));
	ntp_peer_schedule(&p, T0 + S(1));
	ntp_rand_seed(&r, 1);
	cr_assert_not(ntp_peer_poll(&p, &s, true, AT(T0 + S(1)), &r, nonce(), &req, &pr));
	cr_assert(pr.sampled);
	cr_assert(pr.became_reachable);
	cr_assert_float_eq(pr.sample.offset, 0.0, 1e-15);
	cr_assert_float_eq(pr.sample.delay, 0.0, 1e-15);
	cr_assert_float_eq(pr.sample.disp, ldexp(1.0, PREC), 1e-15, "system precision");
	cr_assert_eq(p.reach, 1);
	cr_assert_eq(p.leap, 0);
	cr_assert_float_eq(p.rootdisp, 0.01, 1e-12);
	cr_assert_eq(p.nextdate, T0 + S(65));
	ntp_estimate far = {.disp = NTP_MAXDISPERSE, .t = T0}; /* an empty filter */
	cr_assert_eq(ntp_peer_unfit(&p, &far, T0 + S(1), &FIT), 0, "no distance test for LOCAL");
	ntp_peer_poll(&p, &s, true, AT(p.nextdate), &r, nonce(), &req, &pr);
	ntp_peer_poll(&p, &s, true, AT(p.nextdate), &r, nonce(), &req, &pr);
	cr_assert_not(pr.became_reachable);
	cr_assert_eq(p.reach, 7);
	cr_assert_eq(p.nextdate, T0 + S(193));
	cr_assert_eq(p.sent, 0u);
}

Test(proto, local_step_moves_t1_not_timers)
{
	ntp_peer p;
	ntp_pkt req, rep;
	ntp_poll_result pr;
	ntp_rx_result rr;
	ntp_proto_sys s = sysctx();
	ntp_time t4;

	/* A reply in flight across a -28.2 s step still gives the right
	 * (post-step) offset, because T1 moves with the clock; the poll
	 * timer is monotonic and stays. */
	client(&p, 0);
	poll_once(&p, &req, &pr);
	ntp_time t1 = p.t1;
	ntp_time next = p.nextdate;
	rep = answer(&req, t1, 28.2, 0.001, &t4);
	ntp_peer_local_step(&p, -S(28.2));
	cr_assert_eq(p.t1, t1 - S(28.2));
	cr_assert_eq(p.nextdate, next);
	cr_assert_eq(ntp_peer_receive(&p, &rep, ntp_now_at(t4, t4 - S(28.2)), &s, &rr),
	             NTP_RX_SAMPLE);
	cr_assert_float_eq(rr.sample.offset, 0.0, 1e-6);
}
