/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/ntp_host: the rate-limit (MRU) table as ntp.conf's `mru` sizes it,
 * held by crowds of sources (issue 11 item 5).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "host_fixture.h"
#include "ntp_host.h"
#include "ntp_pkt.h"
#include "ntp_server.h"

#define MS(x)   ((ntp_time)(x)*1000000)
#define SEC(x)  ((ntp_time)(x)*NTP_NS_PER_S)
#define T_START SEC(1795503373) /* 2026-11-24, any time will do */

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
