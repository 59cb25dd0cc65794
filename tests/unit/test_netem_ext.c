/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * netem_ext: ntplab's link extensions that tc-netem lacks, for chrony's
 * simulation catalogue: 1 in N packets passes (014-intermittent), a delay
 * mixture (126-burst), several copies of a duplicated packet
 * (010-multrecv) and an up window (014-intermittent).  Each draws from its
 * own stream, so adding one moves no other number.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "netem_link.h"

#define MS(x)   ((int64_t)(x)*1000000)    /* ms -> ns */
#define S(x)    ((int64_t)(x)*1000000000) /* s -> ns */
#define T0      S(1735689600)             /* ns, 2025-01-01: an origin far from 0 */
#define N_SENDS 1000                      /* packets of the exact-count tests */
#define N_MIX   10000                     /* packets of the mixture test */

static netem_link_params
plain(double delay)
{
	netem_link_params p;

	netem_link_params_init(&p);
	p.delay = delay;
	p.dist = NETEM_DIST_CONSTANT;
	return p;
}

Test(netem_ext, pass_one_in_20_passes_packets_0_20_40)
{
	netem_link_params p = plain(0.001);
	netem_link l;
	int delivered = 0;

	p.pass_one_in = 20;
	netem_link_init(&l, &p, 1, "pass");
	for (int k = 0; k < N_SENDS; k++) {
		int64_t out[NETEM_OUT_MAX];
		int n = netem_link_offer(&l, MS(k), 48, out);

		cr_assert_eq(n, k % 20 == 0 ? 1 : 0, "packet %d", k);
		delivered += n;
	}
	cr_assert_eq(delivered, 50);
	cr_assert_eq(l.dropped, N_SENDS - 50);
	cr_assert_eq(l.offered, l.delivered + l.dropped);
	netem_link_free(&l);
}

Test(netem_ext, copies_3_deliver_every_packet_4_times_with_own_delays)
{
	netem_link_params p;
	netem_link l;
	int distinct = 0;

	netem_link_params_init(&p);
	p.delay = 0.010;
	p.jitter = 0.002;
	p.dist = NETEM_DIST_NORMAL;
	p.duplicate = 1.0;
	p.copies = 3;
	netem_link_init(&l, &p, 3, "copies");
	for (int k = 0; k < N_SENDS; k++) {
		int64_t out[NETEM_OUT_MAX];
		int n = netem_link_offer(&l, S(k), 48, out);

		cr_assert_eq(n, 4, "packet %d: %d deliveries", k, n);
		for (int i = 1; i < n; i++) {
			cr_assert(out[i - 1] <= out[i], "earliest first");
			distinct += out[i - 1] != out[i];
		}
	}
	/* each copy draws its own delay: equal neighbours are (nearly) never seen */
	cr_assert_gt(distinct, 3 * N_SENDS - 10);
	cr_assert_eq(l.duplicated, 3 * N_SENDS);
	cr_assert_eq(l.offered + l.duplicated, l.delivered + l.dropped);
	netem_link_free(&l);
}

Test(netem_ext, copies_with_loss_keep_the_counters_balanced)
{
	netem_link_params p = plain(0.001);
	netem_link l;
	long hist[NETEM_OUT_MAX + 1] = {0};

	p.duplicate = 0.5;
	p.copies = 3;
	p.loss = 0.2;
	netem_link_init(&l, &p, 4, "copyloss");
	for (int k = 0; k < N_MIX; k++) {
		int64_t out[NETEM_OUT_MAX];

		hist[netem_link_offer(&l, S(k), 48, out)]++;
	}
	/* a lost, duplicated packet keeps its original: 0 copies only undup'd */
	cr_assert_gt(hist[4], 0);
	cr_assert_eq(hist[5], 0);
	cr_assert_eq(l.offered + l.duplicated, l.delivered + l.dropped);
	netem_link_free(&l);
}

/* Offer one packet a second for 30,000 s and count what the window lets
 * through; every delivered packet must have been sent while up. */
static int
count_up(double every, double up_for, double from)
{
	netem_link_params p = plain(0.001);
	netem_link l;
	int delivered = 0;

	p.up_every = every;
	p.up_for = up_for;
	p.up_from = from;
	netem_link_init(&l, &p, 5, "window");
	netem_link_set_origin(&l, T0);
	for (int s = 0; s < 30000; s++) {
		int64_t out[NETEM_OUT_MAX];
		int n = netem_link_offer(&l, T0 + S(s), 48, out);
		double phase = fmod(fmod(s - from, every) + every, every);

		cr_assert_eq(n, phase < up_for ? 1 : 0, "sent at %d s", s);
		delivered += n;
	}
	cr_assert_eq(l.dropped, 30000 - delivered);
	netem_link_free(&l);
	return delivered;
}

Test(netem_ext, up_window_drops_exactly_what_is_sent_while_down)
{
	cr_assert_eq(count_up(10000, 1200, 0), 3 * 1200);
	/* from 500 s: up [500, 1700) and again every 10,000 s; before 500 s the
	 * pattern repeats backwards, so [0, 500) is down */
	cr_assert_eq(count_up(10000, 1200, 500), 3 * 1200);
}

Test(netem_ext, mixture_fraction_within_binomial_bounds)
{
	netem_link_params p = plain(0.001);
	netem_link l;
	int extra = 0;
	/* 70 % of 10,000: sd sqrt(n p (1-p)) = 45.8 packets; 5 sd either way */
	const double bound = 5.0 * sqrt(N_MIX * 0.7 * 0.3);

	p.extra_fraction = 0.70;
	p.extra_delay = 0.150;
	netem_link_init(&l, &p, 6, "mix");
	for (int k = 0; k < N_MIX; k++) {
		int64_t out[NETEM_OUT_MAX];
		int n = netem_link_offer(&l, S(k), 48, out);

		cr_assert_eq(n, 1);
		cr_assert(out[0] - S(k) == MS(1) || out[0] - S(k) == MS(151), "delay %lld ns",
		          (long long)(out[0] - S(k)));
		extra += out[0] - S(k) == MS(151);
	}
	cr_assert(fabs(extra - 0.7 * N_MIX) < bound, "%d of %d delayed", extra, N_MIX);
	netem_link_free(&l);
}

Test(netem_ext, adding_a_mixture_moves_no_other_draw)
{
	netem_link_params p, q;
	netem_link a, b;

	netem_link_params_init(&p);
	p.delay = 0.010;
	p.jitter = 0.002;
	p.dist = NETEM_DIST_NORMAL;
	p.loss = 0.1;
	q = p; /* each link reads its own parameters for its whole life */
	q.extra_fraction = 0.5;
	q.extra_delay = 0.1;
	netem_link_init(&a, &p, 7, "same");
	netem_link_init(&b, &q, 7, "same");
	for (int k = 0; k < N_SENDS; k++) {
		int64_t oa[NETEM_OUT_MAX], ob[NETEM_OUT_MAX];
		int na = netem_link_offer(&a, S(k), 48, oa);
		int nb = netem_link_offer(&b, S(k), 48, ob);

		cr_assert_eq(na, nb, "the same loss decisions");
		if (na == 1) {
			int64_t d = ob[0] - oa[0];

			cr_assert(d == 0 || d == MS(100), "packet %d moved by %lld ns", k,
			          (long long)d);
		}
	}
	netem_link_free(&a);
	netem_link_free(&b);
}

Test(netem_ext, same_seed_same_sequence_with_every_extension)
{
	netem_link_params p;
	netem_link a, b;

	netem_link_params_init(&p);
	p.delay = 0.010;
	p.jitter = 0.003;
	p.duplicate = 0.3;
	p.copies = 2;
	p.extra_fraction = 0.4;
	p.extra_delay = 0.05;
	p.pass_one_in = 3;
	p.up_every = 100;
	p.up_for = 60;
	netem_link_init(&a, &p, 11, "det");
	netem_link_init(&b, &p, 11, "det");
	for (int k = 0; k < N_SENDS; k++) {
		int64_t oa[NETEM_OUT_MAX], ob[NETEM_OUT_MAX];
		int na = netem_link_offer(&a, S(k), 48, oa);

		cr_assert_eq(netem_link_offer(&b, S(k), 48, ob), na);
		cr_assert_eq(memcmp(oa, ob, (size_t)na * sizeof oa[0]), 0);
	}
	netem_link_free(&a);
	netem_link_free(&b);
}

Test(netem_ext, check_and_parser_refuse_what_they_cannot_take)
{
	netem_link_params p = plain(0.001), q;
	char err[200];

	p.up_every = 100;
	p.up_for = 200;
	cr_assert_eq(netem_link_params_check(&p, err, sizeof err), -1);
	cr_assert(strstr(err, "0 < for <= every") != NULL, "%s", err);
	p = plain(0.001);
	p.copies = NETEM_COPIES_MAX + 1;
	cr_assert_eq(netem_link_params_check(&p, err, sizeof err), -1);
	cr_assert(strstr(err, "copies must be 1..15") != NULL, "%s", err);
	/* tc syntax has no words for them: ntpnetem refuses them by name */
	cr_assert_eq(netem_link_parse("delay 1ms pass_one_in 20", &q, err, sizeof err), -1);
	cr_assert(strstr(err, "'pass_one_in' is an ntplab extension") != NULL, "%s", err);
	cr_assert(strstr(err, "ntpnetem cannot apply it") != NULL, "%s", err);
}
