/* SPDX-License-Identifier: BSD-2-Clause */
/* The leap second in the clock (core/ntp_clock: Linux's step at 23:59:59)
 * and in the host (core/ntp_leapsys: LI from the leapfile on the last day,
 * the survivors' vote, the leap done). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_fixture.h"
#include "ntp_clock.h"
#include "ntp_hostcore.h"
#include "ntp_leap.h"
#include "ntp_leapsys.h"
#include "ntp_select.h"

#define S(x)     ((ntp_time)((x)*1e9))
#define JAN_2017 INT64_C(1483228800) /* s, 2017-01-01T00:00:00Z POSIX */
#define MIDNIGHT S(JAN_2017)
#define DAY      86400.0 /* s */

static const char LOCAL_SERVER_CONF[] = "server 127.127.1.0\n"
                                        "fudge 127.127.1.0 stratum 1\n";

Test(leap_clock, insert_repeats_23_59_59)
{
	ntp_clock c;
	ntp_time raw0 = MIDNIGHT - S(10);

	ntp_clock_init(&c, raw0, 0.0);
	ntp_clock_leap(&c, 1, MIDNIGHT);
	cr_assert_eq(ntp_clock_read(&c, MIDNIGHT - S(0.5)), MIDNIGHT - S(0.5));
	cr_assert_eq(ntp_clock_read(&c, MIDNIGHT + S(0.25)), MIDNIGHT - S(0.75), "23:59:59 again");
	cr_assert_eq(ntp_clock_read(&c, MIDNIGHT + S(1.5)), MIDNIGHT + S(0.5));
	/* an update after the leap folds it in and disarms */
	ntp_clock_adjust(&c, MIDNIGHT + S(2), 0.0, 0.0, 0.0);
	cr_assert_eq(c.leap, 0);
	cr_assert_eq(ntp_clock_read(&c, MIDNIGHT + S(3)), MIDNIGHT + S(2));
}

Test(leap_clock, delete_skips_23_59_59)
{
	ntp_clock c;

	ntp_clock_init(&c, MIDNIGHT - S(10), 0.0);
	ntp_clock_leap(&c, -1, MIDNIGHT);
	cr_assert_eq(ntp_clock_read(&c, MIDNIGHT - S(1.25)), MIDNIGHT - S(1.25));
	cr_assert_eq(ntp_clock_read(&c, MIDNIGHT - S(1)), MIDNIGHT, "23:59:59.000 is 00:00:00");
	cr_assert_eq(ntp_clock_read(&c, MIDNIGHT - S(0.5)), MIDNIGHT + S(0.5));
	ntp_clock_step(&c, MIDNIGHT + S(5), 0.25);
	cr_assert_eq(c.leap, 0, "a step after the leap folds it in");
	cr_assert_eq(ntp_clock_read(&c, MIDNIGHT + S(5)), MIDNIGHT + S(6.25));
}

Test(leap_clock, disarmed_before_midnight_does_nothing)
{
	ntp_clock c;

	ntp_clock_init(&c, MIDNIGHT - S(10), 0.0);
	ntp_clock_leap(&c, 1, MIDNIGHT);
	ntp_clock_adjust(&c, MIDNIGHT - S(5), 0.0, 0.0, 0.0);
	cr_assert_eq(c.leap, 1, "an update before the leap keeps it armed");
	ntp_clock_leap(&c, 0, 0);
	cr_assert_eq(ntp_clock_read(&c, MIDNIGHT + S(0.5)), MIDNIGHT + S(0.5));
}

/* A stratum-1 LOCAL server with a table holding the 2016 leap. */
static ntp_host *
leap_server_conf(ntp_leap_table *t, ntp_time start, const char *conf)
{
	ntp_host_params p;

	ntp_leap_init(t, "table");
	cr_assert(ntp_leap_add(t, JAN_2017, 1));
	memset(&p, 0, sizeof p);
	p.seed = 1;
	p.precision = -20;
	p.now = ntp_now_at(start, start);
	p.leapfile = t;
	return fixture_host(conf, &p);
}

static ntp_host *
leap_server(ntp_leap_table *t, ntp_time start)
{
	return leap_server_conf(t, start, LOCAL_SERVER_CONF);
}

static int
run_count(ntp_host *h, ntp_time until, ntp_actions *a, int code, ntp_action *last_leap)
{
	int hits = 0;
	ntp_time t;

	for (int guard = 0; guard < 100000 && (t = ntp_host_next(h)) <= until; guard++) {
		ntp_actions_clear(a);
		ntp_host_tick(h, ntp_now_at(t, t), a);
		for (size_t i = 0; i < a->n; i++) {
			hits += a->v[i].kind == NTP_ACT_EVENT && a->v[i].u.event.code == code;
			if (a->v[i].kind == NTP_ACT_LEAP && last_leap != NULL) {
				*last_leap = a->v[i];
			}
		}
	}
	return hits;
}

static const ntp_action *
find_send(const ntp_actions *a)
{
	for (size_t i = 0; i < a->n; i++) {
		if (a->v[i].kind == NTP_ACT_SEND) {
			return &a->v[i];
		}
	}
	cr_assert_fail("no SEND");
	return NULL;
}

/* The reply to a client request at t. */
static ntp_pkt
served(ntp_host *h, ntp_time t, ntp_actions *a)
{
	ntp_addr cli = fixture_addr("192.0.2.7", 123);
	uint8_t buf[NTP_PKT_MAX_LEN];
	ntp_pkt q, r;
	size_t len = 0;

	memset(&q, 0, sizeof q);
	q.version = 4;
	q.mode = NTP_MODE_CLIENT;
	q.xmt = 0x1234;
	cr_assert_eq(ntp_pkt_encode(&q, buf, sizeof buf, &len), NTP_PKT_OK);
	ntp_actions_clear(a);
	ntp_host_recv(h, &cli, NULL, buf, len, ntp_now_at(t, t), a);
	const ntp_action *s = find_send(a);
	cr_assert_eq(ntp_pkt_decode(s->u.send.buf, s->u.send.len, &r, NULL), NTP_PKT_OK);
	return r;
}

static uint8_t
served_li(ntp_host *h, ntp_time t, ntp_actions *a)
{
	return served(h, t, a).leap;
}

/* The served transmit time less the local clock, s. */
static double
served_minus_local(ntp_host *h, ntp_time t, ntp_actions *a)
{
	ntp_pkt r = served(h, t, a);

	return ntp_time_diff_s(ntp_ts_to_unix_ns(r.xmt, t), t);
}

Test(leap_host, server_announces_on_the_last_day_only)
{
	static ntp_leap_table t;
	ntp_time start = MIDNIGHT - S(DAY + 300);
	ntp_host *h = leap_server(&t, start);
	ntp_actions *a = fixture_actions();
	ntp_action leap = {0};

	cr_assert_eq(run_count(h, start + S(200), a, NTP_EV_LEAP_ARMED, &leap), 0);
	cr_assert_eq(served_li(h, start + S(200), a), NTP_LEAP_NONE, "synced, not the last day");
	cr_assert_eq(run_count(h, start + S(400), a, NTP_EV_LEAP_ARMED, &leap), 1);
	cr_assert_eq(leap.u.leap.step, 1);
	cr_assert_eq(leap.u.leap.at, MIDNIGHT);
	cr_assert_eq(served_li(h, start + S(400), a), NTP_LEAP_ADD);
	cr_assert_eq(served_li(h, MIDNIGHT - S(0.5), a), NTP_LEAP_ADD);
	/* the LOCAL clock here has no leap applied: the reading passes midnight */
	cr_assert_eq(run_count(h, MIDNIGHT + S(10), a, NTP_EV_LEAP_EVENT, NULL), 1);
	cr_assert_eq(served_li(h, MIDNIGHT + S(10), a), NTP_LEAP_NONE);
	cr_assert_eq(run_count(h, MIDNIGHT + S(2000), a, NTP_EV_LEAP_ARMED, NULL), 0,
	             "never armed twice");
	free(a);
	ntp_host_free(h);
}

Test(leap_host, expired_file_event_once)
{
	static ntp_leap_table t;
	ntp_host_params p;
	const char text[] =
	        "#@ 3692217600\n2272060800 10\n3692217600 11\n"; /* expires 2017-01-01 */

	ntp_leap_init(&t, "old.list");
	cr_assert_eq(ntp_leap_parse(&t, text, strlen(text)), 0);
	memset(&p, 0, sizeof p);
	p.seed = 1;
	p.precision = -20;
	p.now = ntp_now_at(MIDNIGHT + S(2 * DAY), MIDNIGHT + S(2 * DAY));
	p.leapfile = &t;
	ntp_host *h = fixture_host(LOCAL_SERVER_CONF, &p);
	ntp_actions *a = fixture_actions();
	int n = run_count(h, MIDNIGHT + S(2 * DAY + 600), a, NTP_EV_LEAPFILE, NULL);
	cr_assert_eq(n, 1);
	free(a);
	ntp_host_free(h);
}

/* The vote over the survivors of a selection (NTPsec leap_vote_*). */
static int
vote_at(ntp_time now, const uint8_t *leaps, const uint8_t *sel, size_t n)
{
	ntp_host_params p;
	ntp_disc_cand cand[4];
	char conf[256] = "";

	for (size_t i = 0; i < n; i++) {
		char line[64];
		snprintf(line, sizeof line, "server 192.0.2.%zu\n", i + 1);
		strcat(conf, line);
	}
	memset(&p, 0, sizeof p);
	p.seed = 1;
	p.now = ntp_now_at(now, now);
	ntp_host *h = fixture_host(conf, &p);
	memset(cand, 0, sizeof cand);
	for (size_t i = 0; i < n; i++) {
		cand[i].id = (int)i + 1;
		cand[i].sel = sel[i];
		h->peers[i].leap = leaps[i];
	}
	ntp_leapsys_vote(h, cand, n);
	int v = h->leap_vote;
	ntp_host_free(h);
	return v;
}

/* On 2016-12-31, the last day of a month. */
static int
vote(const uint8_t *leaps, const uint8_t *sel, size_t n)
{
	return vote_at(MIDNIGHT - S(600), leaps, sel, n);
}

Test(leap_host, vote_majority_of_survivors)
{
	const uint8_t all[] = {NTP_SEL_SYSPEER, NTP_SEL_CANDIDATE, NTP_SEL_CANDIDATE};
	const uint8_t one_out[] = {NTP_SEL_SYSPEER, NTP_SEL_CANDIDATE, NTP_SEL_FALSETICKER};
	const uint8_t two_add[] = {NTP_LEAP_ADD, NTP_LEAP_ADD, NTP_LEAP_NONE};
	const uint8_t one_add[] = {NTP_LEAP_NONE, NTP_LEAP_NONE, NTP_LEAP_ADD};
	const uint8_t two_del[] = {NTP_LEAP_DEL, NTP_LEAP_NONE, NTP_LEAP_DEL};
	const uint8_t add_del[] = {NTP_LEAP_ADD, NTP_LEAP_DEL, NTP_LEAP_NONE};

	cr_assert_eq(vote(two_add, all, 3), 1, "2 of 3 survivors");
	cr_assert_eq(vote(one_add, all, 3), 0, "1 of 3: a minority");
	cr_assert_eq(vote(two_del, all, 3), -1);
	cr_assert_eq(vote(add_del, all, 3), 0);
	cr_assert_eq(vote(two_del, one_out, 3), 0, "a falseticker does not vote: 1 of 2");
	cr_assert_eq(vote(two_add, one_out, 3), 1, "2 of 2 survivors");
	cr_assert_eq(vote_at(MIDNIGHT - S(DAY + 1), two_add, all, 3), 0,
	             "not the last day of the month: no vote");
}

Test(leap_host, next_month)
{
	cr_assert_eq(ntp_time_next_month_s(MIDNIGHT - S(1)), JAN_2017);
	cr_assert_eq(ntp_time_next_month_s(MIDNIGHT), JAN_2017 + 31 * 86400);
	/* 2036-02-11 -> 2036-03-01 (a leap year: 29 days in February) */
	cr_assert_eq(ntp_time_next_month_s(S(INT64_C(2086300800))), INT64_C(2087942400));
}

Test(leap_host, smear_linear_over_the_interval_li_zero)
{
	static ntp_leap_table t;
	ntp_time start = MIDNIGHT - S(7200);
	ntp_host *h = leap_server_conf(&t, start,
	                               "server 127.127.1.0\nfudge 127.127.1.0 stratum 1\n"
	                               "leapsmearinterval 3600\n");
	ntp_actions *a = fixture_actions();

	cr_assert_eq(run_count(h, start + S(200), a, NTP_EV_LEAP_ARMED, NULL), 1);
	cr_assert_eq(served_li(h, start + S(200), a), NTP_LEAP_NONE, "a smearing server says 00");
	cr_assert_float_eq(served_minus_local(h, MIDNIGHT - S(3700), a), 0.0, 1e-6);
	cr_assert(find_send(a)->u.send.patch_xmt, "no smear: the driver may patch");
	cr_assert_float_eq(served_minus_local(h, MIDNIGHT - S(1800), a), -0.5, 1e-6);
	cr_assert_float_eq(served_minus_local(h, MIDNIGHT - S(360), a), -0.9, 1e-6);
	cr_assert_not(find_send(a)->u.send.patch_xmt, "no later transmit time while smearing");
	free(a);
	ntp_host_free(h);
}

Test(leap_host, smear_of_a_deleted_second_ends_at_23_59_59)
{
	static ntp_leap_table t;
	ntp_host_params p;
	ntp_time start = MIDNIGHT - S(7200);

	ntp_leap_init(&t, "table");
	cr_assert(ntp_leap_add(&t, JAN_2017, -1));
	memset(&p, 0, sizeof p);
	p.seed = 1;
	p.precision = -20;
	p.now = ntp_now_at(start, start);
	p.leapfile = &t;
	ntp_host *h = fixture_host("server 127.127.1.0\nfudge 127.127.1.0 stratum 1\n"
	                           "leapsmearinterval 3600\n",
	                           &p);
	ntp_actions *a = fixture_actions();

	cr_assert_eq(run_count(h, start + S(200), a, NTP_EV_LEAP_ARMED, NULL), 1);
	/* the clock jumps from 23:59:59 to midnight: the smear reaches +1 s there */
	cr_assert_float_eq(served_minus_local(h, MIDNIGHT - S(1801), a), 0.5, 1e-6);
	cr_assert_float_eq(served_minus_local(h, MIDNIGHT - S(1.5), a), 1.0 - 0.5 / 3600, 1e-6);
	cr_assert_float_eq(served_minus_local(h, MIDNIGHT - S(0.5), a), 0.0, 1e-6,
	                   "past the jump: no smear");
	free(a);
	ntp_host_free(h);
}
