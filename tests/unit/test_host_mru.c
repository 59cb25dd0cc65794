/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/ntp_host: the rate-limit (MRU) table as ntp.conf's `mru` sizes it,
 * held by crowds of sources (issue 11 item 5), and mode 6 from remote
 * sources: rate limited and held to the request's size unless a restrict
 * entry of their own allows full replies (item 4).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "host_fixture.h"
#include "ntp_conf.h"
#include "ntp_host.h"
#include "ntp_pkt.h"
#include "ntp_server.h"

#define MS(x)   ((ntp_time)(x)*1000000)
#define SEC(x)  ((ntp_time)(x)*NTP_NS_PER_S)
#define T_START SEC(1795503373) /* 2026-11-24, any time will do */
#define CTL_HDR 12              /* bytes, RFC 9327 mode 6 header */

static const char LIMITED_CONF[] = "restrict default limited kod nomodify notrap\n"
                                   "server 127.127.1.0\n";

static ntp_host *
mru_host(const char *conf, bool control_remote)
{
	ntp_host_params p;

	memset(&p, 0, sizeof p);
	p.seed = 11;
	p.precision = -20;
	p.control_remote = control_remote;
	p.now = AT(T_START);
	return fixture_host(conf, &p);
}

/* Source i of a crowd: 10.a.b.c. */
static ntp_addr
crowd_member(uint32_t i)
{
	ntp_addr a;

	memset(&a, 0, sizeof a);
	a.family = NTP_AF_INET;
	a.a[0] = 10;
	a.a[1] = (uint8_t)(i >> 16);
	a.a[2] = (uint8_t)(i >> 8);
	a.a[3] = (uint8_t)i;
	a.port = 123;
	return a;
}

static ntp_addr
ip(const char *s)
{
	return fixture_addr(s, 40000);
}

/* A mode 3 request as a client builds it. */
static size_t
time_request(uint8_t *buf)
{
	ntp_pkt q;
	size_t len = 0;

	memset(&q, 0, sizeof q);
	q.version = 4;
	q.mode = NTP_MODE_CLIENT;
	q.poll = 6;
	q.xmt = ntp_ts_make(0xeca1b2c3u, 1);
	cr_assert_eq(ntp_pkt_encode(&q, buf, NTP_PKT_MAX_LEN, &len), NTP_PKT_OK);
	return len;
}

typedef struct answers {
	unsigned replies, kods; /* time replies and KoD RATE packets */
	size_t bytes;           /* bytes of every SEND */
	unsigned rate_events;   /* NTP_EV_RATE_EXCEEDED */
	unsigned denied_events; /* NTP_EV_ACCESS_DENIED */
} answers;

static void
count(const ntp_actions *a, answers *n)
{
	for (size_t i = 0; i < a->n; i++) {
		const ntp_action *x = &a->v[i];
		ntp_pkt p;

		if (x->kind == NTP_ACT_EVENT) {
			n->rate_events += x->u.event.code == NTP_EV_RATE_EXCEEDED;
			n->denied_events += x->u.event.code == NTP_EV_ACCESS_DENIED;
			continue;
		}
		if (x->kind != NTP_ACT_SEND) {
			continue;
		}
		n->bytes += x->u.send.len;
		if (ntp_pkt_decode(x->u.send.buf, x->u.send.len, &p, NULL) == NTP_PKT_OK) {
			bool kod = p.stratum == 0 && p.refid == NTP_REFID("RATE");
			n->kods += kod;
			n->replies += !kod;
		}
	}
}

/* One datagram from `from` at t; what came back is added to *n. */
static void
deliver(ntp_host *h, ntp_actions *a, const ntp_addr *from, const uint8_t *buf, size_t len,
        ntp_time t, answers *n)
{
	ntp_actions_clear(a);
	ntp_host_recv(h, from, NULL, buf, len, AT(t), a);
	cr_assert_eq(a->overflow, 0u);
	count(a, n);
}

/* ---- item 5: the table ---- */

Test(host_mru, default_table_holds_1000_sources_to_the_discard_rate)
{
	/* The crowd: 1,000 sources, each 10 requests a second for
	 * 10 s, against `discard average 3` (one per 8 s).  The old 128-entry
	 * table forgot each source before it came back: all 100 of its
	 * requests were answered.  NTPsec's 1 MiB table remembers all of them: 0.1 s
	 * gaps round to 0 s, under the 2 s minimum, so one reply, one KoD and
	 * silence (ntpd's bucket never drains while it is hammered). */
	enum { SOURCES = 1000, PER_SECOND = 10, SECONDS = 10 };
	ntp_host *h = mru_host(LIMITED_CONF, false);
	ntp_actions *a = fixture_actions();
	answers *n = calloc(SOURCES, sizeof *n);
	uint8_t buf[NTP_PKT_MAX_LEN];
	size_t len = time_request(buf);
	ntp_sys_info si;

	cr_assert_not_null(n);
	for (int k = 0; k < PER_SECOND * SECONDS; k++) {
		for (uint32_t i = 0; i < SOURCES; i++) {
			ntp_addr from = crowd_member(i);

			deliver(h, a, &from, buf, len, T_START + MS(100 * k) + (ntp_time)i * 1000,
			        &n[i]);
		}
	}
	for (uint32_t i = 0; i < SOURCES; i++) {
		cr_assert_eq(n[i].replies, 1u, "source %u: %u replies", i, n[i].replies);
		cr_assert_eq(n[i].kods, 1u, "source %u", i);
	}
	ntp_host_sys(h, &si);
	cr_assert_eq(si.mru_depth, ntp_server_mru_entries(1024), "NTPsec's maxmem 1024 KiB");
	cr_assert_eq(si.mru_entries, (size_t)SOURCES);
	cr_assert_eq(si.mru_none, 0u);
	free(n);
	free(a);
	ntp_host_free(h);
}

/* Bytes the rate-limit table adds to a host: its block less that of the
 * same host without a table. */
static size_t
table_bytes(const ntp_host *h, const char *conf_without_limited)
{
	ntp_host *base = mru_host(conf_without_limited, false);
	size_t d = ntp_host_mem_size(h) - ntp_host_mem_size(base);

	ntp_host_free(base);
	return d;
}

Test(host_mru, the_table_is_held_to_maxmem)
{
	static const char unlimited[] = "restrict default kod nomodify notrap\n"
	                                "server 127.127.1.0\n";
	ntp_host *h = mru_host(LIMITED_CONF, false);
	ntp_host *h4 = mru_host("restrict default limited kod nomodify notrap\n"
	                        "mru maxmem 4096\n"
	                        "server 127.127.1.0\n",
	                        false);
	ntp_host *d = mru_host("restrict default limited kod\nmru maxdepth 10 mindepth 100\n"
	                       "server 127.127.1.0\n",
	                       false);
	ntp_sys_info si;

	cr_assert_leq(table_bytes(h, unlimited), (size_t)1024 * 1024);
	cr_assert_geq(table_bytes(h, unlimited), (size_t)1000 * 1024);
	cr_assert_leq(table_bytes(h4, unlimited), (size_t)4096 * 1024);
	cr_assert_geq(table_bytes(h4, unlimited), (size_t)4000 * 1024);
	/* ntpd fills mindepth whatever maxdepth says */
	ntp_host_sys(d, &si);
	cr_assert_eq(si.mru_depth, 100u);
	/* no `limited` and no remote mode 6: no table at all */
	ntp_host_free(h);
	h = mru_host(unlimited, false);
	ntp_host_sys(h, &si);
	cr_assert_eq(si.mru_depth, 0u);
	cr_assert_lt(ntp_host_mem_size(h), (size_t)64 * 1024);
	/* remote mode 6 is always accounted: the table exists */
	ntp_host_free(h);
	h = mru_host(unlimited, true);
	ntp_host_sys(h, &si);
	cr_assert_eq(si.mru_depth, ntp_server_mru_entries(1024));
	ntp_host_free(h);
	ntp_host_free(h4);
	ntp_host_free(d);
}

Test(host_mru, maxmem_sized_for_100000_sources_holds_each_to_the_discard_rate)
{
	/* 100,000 sources, each one request a second for 16 s: every one
	 * gets what a lone source gets from ntpd's bucket (13 replies while
	 * it fills, a KoD on the 14th request, then nothing), in a table that
	 * `mru maxmem 7000` holds to 7000 KiB. */
	enum { SOURCES = 100000, SECONDS = 16 };
	static const char conf[] = "restrict default limited kod nomodify notrap\n"
	                           "mru maxmem 7000\n"
	                           "server 127.127.1.0\n";
	ntp_host *h = mru_host(conf, false);
	ntp_actions *a = fixture_actions();
	answers *n = calloc(SOURCES, sizeof *n);
	uint8_t buf[NTP_PKT_MAX_LEN];
	size_t len = time_request(buf);
	size_t bytes = table_bytes(h, "restrict default kod nomodify notrap\nserver 127.127.1.0\n");
	ntp_sys_info si;

	cr_assert_not_null(n);
	for (int k = 0; k < SECONDS; k++) {
		for (uint32_t i = 0; i < SOURCES; i++) {
			ntp_addr from = crowd_member(i);

			deliver(h, a, &from, buf, len, T_START + SEC(k) + (ntp_time)i * 10000,
			        &n[i]);
		}
	}
	for (uint32_t i = 0; i < SOURCES; i++) {
		cr_assert_eq(n[i].replies, 13u, "source %u: %u replies", i, n[i].replies);
		cr_assert_eq(n[i].kods, 1u, "source %u", i);
	}
	ntp_host_sys(h, &si);
	cr_assert_eq(si.mru_entries, (size_t)SOURCES);
	cr_assert_eq(si.mru_none, 0u);
	cr_assert_eq(si.served, 13u * SOURCES);
	cr_assert_eq(si.kod_sent, (unsigned)SOURCES);
	cr_assert_leq(bytes, (size_t)7000 * 1024);
	cr_log_info("host: %d sources x %d s: 13 replies + 1 KoD each; table of %zu entries "
	            "(%zu bytes each with its bucket) in %zu bytes; host block %zu bytes",
	            SOURCES, SECONDS, si.mru_depth, NTP_SERVER_MRU_ENTRY_BYTES, bytes,
	            ntp_host_mem_size(h));
	free(n);
	free(a);
	ntp_host_free(h);
}

/* ---- item 4: mode 6 from remote sources ---- */

/* ntpq's request: a bare 12-byte header (version 2, as ntpq sends). */
static size_t
control_request(uint8_t *buf, uint8_t opcode, uint16_t sequence)
{
	memset(buf, 0, CTL_HDR);
	buf[0] = (2 << 3) | NTP_MODE_CONTROL;
	buf[1] = opcode;
	buf[2] = (uint8_t)(sequence >> 8);
	buf[3] = (uint8_t)sequence;
	return CTL_HDR;
}

enum { OP_STATUS = 0, OP_READVAR = 2 }; /* RFC 9327 opcodes: status word only, read variables */

/* `count` ntpq readvar requests from `from`, `gap` apart from t: every one
 * gets a full reply (more than ten times the request) and no event. */
static void
expect_full_replies(ntp_host *h, ntp_actions *a, const ntp_addr *from, int count, ntp_time t,
                    ntp_time gap)
{
	uint8_t buf[CTL_HDR];
	answers n = {0};

	for (int k = 0; k < count; k++) {
		size_t before = n.bytes;

		deliver(h, a, from, buf, control_request(buf, OP_READVAR, (uint16_t)k), t + gap * k,
		        &n);
		cr_assert_gt(n.bytes - before, (size_t)10 * CTL_HDR, "request %d", k);
	}
	cr_assert_eq(n.rate_events + n.denied_events, 0u);
}

static const char OPEN_CONF[] = "restrict default nomodify notrap nopeer\n"
                                "restrict 127.0.0.1\n"
                                "server 127.127.1.0\n";

Test(host_mru, remote_stranger_gets_no_more_than_it_sent)
{
	/* Issue 11 item 4: `ntpq -c rv` is 12 bytes in, 464 out (38.7x).  A
	 * source that only `restrict default` covers may have a forged address:
	 * it gets at most its request's size back -- here the 12-byte error
	 * "permission denied" instead of the variables. */
	ntp_host *h = mru_host(OPEN_CONF, true);
	ntp_actions *a = fixture_actions();
	ntp_addr far = ip("192.0.2.7");
	uint8_t buf[CTL_HDR];
	answers n = {0};

	deliver(h, a, &far, buf, control_request(buf, OP_READVAR, 99), T_START + SEC(1), &n);
	cr_assert_leq(n.bytes, (size_t)CTL_HDR);
	cr_assert_eq(n.bytes, (size_t)CTL_HDR);
	const ntp_action *s = &a->v[0];
	for (size_t i = 0; i < a->n && s->kind != NTP_ACT_SEND; i++) {
		s = &a->v[i];
	}
	cr_assert_eq(s->kind, NTP_ACT_SEND);
	cr_assert_eq(s->u.send.buf[1], 0x80 | 0x40 | OP_READVAR, "an error reply");
	cr_assert_eq(s->u.send.buf[4], 1, "CERR_PERMISSION");
	cr_assert_eq(s->u.send.buf[3], 99, "sequence echoed");
	cr_assert_eq(n.denied_events, 1u);
	/* The status-only answer (opcode 0) is 12 bytes: it fits. */
	n = (answers){0};
	deliver(h, a, &far, buf, control_request(buf, OP_STATUS, 100), T_START + SEC(30), &n);
	cr_assert_eq(n.bytes, (size_t)CTL_HDR);
	cr_assert_eq(a->v[0].u.send.buf[1] & 0x40, 0, "not an error");
	free(a);
	ntp_host_free(h);
}

Test(host_mru, remote_stranger_is_rate_limited)
{
	/* Mode 6 passes through the same `discard` bucket as time requests:
	 * 10 requests 0.2 s apart get one answer; the rest are dropped with
	 * a reason. */
	ntp_host *h = mru_host(OPEN_CONF, true);
	ntp_actions *a = fixture_actions();
	ntp_addr far = ip("192.0.2.7");
	uint8_t buf[CTL_HDR];
	answers n = {0};
	unsigned answered = 0;
	ntp_sys_info si;

	for (int k = 0; k < 10; k++) {
		size_t before = n.bytes;

		deliver(h, a, &far, buf, control_request(buf, OP_STATUS, (uint16_t)k),
		        T_START + MS(200 * k), &n);
		answered += n.bytes > before;
	}
	cr_assert_eq(answered, 1u);
	cr_assert_eq(n.rate_events, 9u);
	ntp_host_sys(h, &si);
	cr_assert_eq(si.dropped_rate, 9u);
	free(a);
	ntp_host_free(h);
}

Test(host_mru, loopback_is_unaffected)
{
	/* Even under `restrict default limited`: ntpq -p on the host itself
	 * sends its requests back to back and gets every full reply. */
	ntp_host *h = mru_host("restrict default limited kod nomodify notrap\n"
	                       "server 127.127.1.0\n",
	                       true);
	ntp_actions *a = fixture_actions();
	ntp_addr lo = ip("127.0.0.1");

	expect_full_replies(h, a, &lo, 10, T_START, MS(10));
	free(a);
	ntp_host_free(h);
}

Test(host_mru, own_restrict_entry_gets_full_replies)
{
	/* A network the administrator named, without noquery, is trusted:
	 * full replies, and ntpq's back-to-back requests all answered ... */
	ntp_host *h = mru_host("restrict default nomodify notrap\n"
	                       "restrict 192.0.2.0 mask 255.255.255.0 nomodify notrap\n"
	                       "server 127.127.1.0\n",
	                       true);
	ntp_host *hl = mru_host("restrict default nomodify notrap\n"
	                        "restrict 192.0.2.0 mask 255.255.255.0 nomodify limited\n"
	                        "server 127.127.1.0\n",
	                        true);
	ntp_actions *a = fixture_actions();
	ntp_addr far = ip("192.0.2.7");
	uint8_t buf[CTL_HDR];
	answers n = {0};

	expect_full_replies(h, a, &far, 5, T_START, MS(10));
	/* ... unless its entry says `limited`: full replies, rate limited. */
	deliver(hl, a, &far, buf, control_request(buf, OP_READVAR, 1), T_START, &n);
	cr_assert_gt(n.bytes, (size_t)10 * CTL_HDR);
	deliver(hl, a, &far, buf, control_request(buf, OP_READVAR, 2), T_START + MS(10), &n);
	cr_assert_eq(a->n, 1u);
	cr_assert_eq(n.rate_events, 1u);
	free(a);
	ntp_host_free(h);
	ntp_host_free(hl);
}

Test(host_mru, default_spelt_as_a_zero_mask_is_not_an_entry_of_its_own)
{
	ntp_host *h = mru_host("restrict 0.0.0.0 mask 0.0.0.0 nomodify notrap\n"
	                       "server 127.127.1.0\n",
	                       true);
	ntp_actions *a = fixture_actions();
	ntp_addr far = ip("192.0.2.7");
	uint8_t buf[CTL_HDR];
	answers n = {0};

	deliver(h, a, &far, buf, control_request(buf, OP_READVAR, 1), T_START, &n);
	cr_assert_eq(n.bytes, (size_t)CTL_HDR);
	cr_assert_eq(n.denied_events, 1u);
	free(a);
	ntp_host_free(h);
}

Test(host_mru, a_config_with_neither_size_gets_the_default_table)
{
	static ntp_conf c;
	static const char text[] = "restrict default limited\nserver 127.127.1.0\n";
	ntp_host_params p;
	ntp_sys_info si;
	ntp_host *h;

	ntp_conf_init(&c, "test.conf");
	cr_assert_eq(ntp_conf_parse(&c, text, strlen(text)), 0u);
	c.mru_maxdepth = -1; /* filled in by hand, not by the parser */
	c.mru_maxmem = -1;
	memset(&p, 0, sizeof p);
	p.now = AT(T_START);
	fixture_nonce_key(&p);
	h = ntp_host_new(&c, &p, NULL, 0);
	cr_assert_not_null(h);
	ntp_host_sys(h, &si);
	cr_assert_eq(si.mru_depth, ntp_server_mru_entries(NTP_SERVER_MRU_MAXMEM_DEF));
	ntp_host_free(h);
}
