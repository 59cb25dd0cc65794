/* SPDX-License-Identifier: BSD-2-Clause */
/* core/ntp_select: intersection, cluster, system peer and combine
 * (RFC 5905 §11.2), with the numbers worked by hand in the comments. */
#include <criterion/criterion.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "ntp_select.h"

static ntp_select_cand
sel_cand(int id, double offset, double jitter, double rootdist, int stratum)
{
	ntp_select_cand c;

	memset(&c, 0, sizeof c);
	c.id = id;
	c.offset = offset;
	c.jitter = jitter;
	c.rootdist = rootdist;
	c.stratum = stratum;
	return c;
}

static ntp_select_params
sel_params(void)
{
	ntp_select_params p;

	ntp_select_params_default(&p);
	return p;
}

static int
sel_count(const ntp_select_result *r, size_t n, int state)
{
	int k = 0;

	for (size_t i = 0; i < n; i++) {
		if (r->state[i] == state) {
			k++;
		}
	}
	return k;
}

Test(select, single_source)
{
	ntp_select_cand c[] = {sel_cand(7, 0.010, 0.001, 0.020, 2)};
	ntp_select_params p = sel_params();
	ntp_select_result r;

	cr_assert_eq(ntp_select_run(c, 1, &p, &r), 7);
	cr_assert_eq(r.sys_peer, 7);
	cr_assert_eq(r.sys_index, 0);
	cr_assert_eq(r.state[0], NTP_SEL_SYSPEER);
	/* interval = its own [0.010 - 0.020, 0.010 + 0.020] */
	cr_assert(r.interval_found);
	cr_assert_float_eq(r.low, -0.010, 1e-15);
	cr_assert_float_eq(r.high, 0.030, 1e-15);
	/* one survivor: offset is its own, jitter sqrt(0 + 0.001^2) */
	cr_assert_float_eq(r.offset, 0.010, 1e-15);
	cr_assert_float_eq(r.jitter, 0.001, 1e-15);
	cr_assert_float_eq(r.rootdist, 0.020, 1e-15);
	cr_assert_eq(r.n_candidates, 1);
	cr_assert_eq(r.n_survivors, 1);
	cr_assert(strstr(ntp_select_why(&r, 0), "sys_peer") != NULL, "%s", ntp_select_why(&r, 0));
}

/* The system peer's reason is kept as numbers (issue 17 §1): a caller takes
 * the note past the result and gets the very text the row reads as. */
Test(select, sys_peer_reason_as_a_note)
{
	ntp_select_cand c[] = {sel_cand(7, 0.010, 0.001, 0.020, 2)};
	ntp_select_params p = sel_params();
	ntp_select_result r;
	ntp_select_note n;
	char text[NTP_SELECT_WHY_MAX] = "";

	cr_assert_eq(ntp_select_run(c, 1, &p, &r), 7);
	cr_assert(ntp_select_note_take(&r, 0, &n), "pending after the run");
	ntp_select_note_format(&n, text, sizeof text);
	cr_assert_str_eq(text, "sys_peer: best metric, stratum 2, root distance 0.020000 s");
	cr_assert_str_eq(ntp_select_why(&r, 0), text);
	cr_assert(!ntp_select_note_take(&r, 0, &n), "written once read");
	cr_assert(!ntp_select_note_take(&r, NTP_SELECT_MAX, &n));
}

/* Offsets 1, 2, 3 ms, distances 10, 20, 40 ms, all stratum 2.
 * Intersection = [max lower, min upper] = [-0.009, +0.011].  Three
 * survivors = minclock: no cluster round.  Sys peer: lowest metric, id 1.
 * Weights 100, 50, 25 (sum 175): offset = (0.1 + 0.1 + 0.075) / 175.
 * Jitter around id 1's offset: (50 * 1e-6 + 25 * 4e-6) / 175 + 0.001^2. */
Test(select, three_agreeing)
{
	ntp_select_cand c[] = {
	        sel_cand(1, 0.001, 0.001, 0.010, 2),
	        sel_cand(2, 0.002, 0.001, 0.020, 2),
	        sel_cand(3, 0.003, 0.001, 0.040, 2),
	};
	ntp_select_params p = sel_params();
	ntp_select_result r;

	cr_assert_eq(ntp_select_run(c, 3, &p, &r), 1);
	cr_assert_float_eq(r.low, -0.009, 1e-15);
	cr_assert_float_eq(r.high, 0.011, 1e-15);
	cr_assert_eq(r.state[0], NTP_SEL_SYSPEER);
	cr_assert_eq(r.state[1], NTP_SEL_CANDIDATE);
	cr_assert_eq(r.state[2], NTP_SEL_CANDIDATE);
	cr_assert_eq(r.n_survivors, 3);
	cr_assert_float_eq(r.offset, 0.275 / 175.0, 1e-15);
	cr_assert_float_eq(r.jitter, sqrt(1.5e-4 / 175.0 + 1e-6), 1e-15);
}

/* Five servers, one 0.5 s off.  m = 5: f = 0 fails (no point in all five),
 * f = 1 needs four: the good intervals [-0.010, 0.010], [-0.008, 0.012],
 * [-0.011, 0.009], [-0.009, 0.011] meet in [-0.008, +0.009]. */
Test(select, one_falseticker_of_five)
{
	ntp_select_cand c[] = {
	        sel_cand(1, 0.000, 0.005, 0.010, 2), sel_cand(2, 0.002, 0.005, 0.010, 2),
	        sel_cand(3, 0.500, 0.005, 0.010, 2), sel_cand(4, -0.001, 0.005, 0.010, 2),
	        sel_cand(5, 0.001, 0.005, 0.010, 2),
	};
	ntp_select_params p = sel_params();
	ntp_select_result r;

	cr_assert_neq(ntp_select_run(c, 5, &p, &r), -1);
	cr_assert_float_eq(r.low, -0.008, 1e-15);
	cr_assert_float_eq(r.high, 0.009, 1e-15);
	cr_assert_eq(r.state[2], NTP_SEL_FALSETICKER);
	cr_assert_eq(ntp_select_tally(r.state[2]), 'x');
	cr_assert(strstr(ntp_select_why(&r, 2), "outside intersection [-0.008000, +0.009000]") !=
	                  NULL,
	          "%s", ntp_select_why(&r, 2));
	cr_assert(strstr(ntp_select_why(&r, 2), "+0.500000") != NULL, "%s", ntp_select_why(&r, 2));
	cr_assert_eq(sel_count(&r, 5, NTP_SEL_FALSETICKER), 1);
	cr_assert_neq(r.sys_peer, 3);
	/* the worst selection jitter (2.16 ms) is under the peer jitter (5 ms):
	 * all four good ones survive */
	cr_assert_eq(r.n_survivors, 4);
}

/* Two falsetickers, 0.1 s and 1 s off: f = 2 (2 * 2 < 5) needs three, the
 * good ones meet in [-0.008, +0.010]. */
Test(select, two_falsetickers_of_five)
{
	ntp_select_cand c[] = {
	        sel_cand(1, 0.100, 0.005, 0.010, 2), sel_cand(2, 0.000, 0.005, 0.010, 2),
	        sel_cand(3, 0.002, 0.005, 0.010, 2), sel_cand(4, 1.000, 0.005, 0.010, 2),
	        sel_cand(5, 0.001, 0.005, 0.010, 2),
	};
	ntp_select_params p = sel_params();
	ntp_select_result r;

	cr_assert_neq(ntp_select_run(c, 5, &p, &r), -1);
	cr_assert_float_eq(r.low, -0.008, 1e-15);
	cr_assert_float_eq(r.high, 0.010, 1e-15);
	cr_assert_eq(r.state[0], NTP_SEL_FALSETICKER);
	cr_assert_eq(r.state[3], NTP_SEL_FALSETICKER);
	cr_assert(strstr(ntp_select_why(&r, 0), "[-0.008000, +0.010000]") != NULL, "%s",
	          ntp_select_why(&r, 0));
	cr_assert(strstr(ntp_select_why(&r, 3), "+1.000000") != NULL, "%s", ntp_select_why(&r, 3));
	cr_assert_eq(r.n_truechimers, 3);
	/* combine only over the three good ones (equal weights) */
	cr_assert_float_eq(r.offset, 0.001, 1e-15);
}

/* Three of five wrong, each in its own direction: at most the two good
 * ones agree; a majority needs three. */
Test(select, three_of_five_wrong_no_majority)
{
	ntp_select_cand c[] = {
	        sel_cand(1, 0.000, 0.001, 0.010, 2), sel_cand(2, 0.200, 0.001, 0.010, 2),
	        sel_cand(3, 0.001, 0.001, 0.010, 2), sel_cand(4, -0.500, 0.001, 0.010, 2),
	        sel_cand(5, 0.900, 0.001, 0.010, 2),
	};
	ntp_select_params p = sel_params();
	ntp_select_result r;

	cr_assert_eq(ntp_select_run(c, 5, &p, &r), -1);
	cr_assert_eq(r.sys_peer, -1);
	cr_assert_not(r.interval_found);
	cr_assert(strstr(ntp_select_reason(&r), "no majority") != NULL, "%s",
	          ntp_select_reason(&r));
	cr_assert(strstr(ntp_select_reason(&r), "only 2 of 5") != NULL, "%s",
	          ntp_select_reason(&r));
	cr_assert(strstr(ntp_select_reason(&r), "need 3") != NULL, "%s", ntp_select_reason(&r));
	cr_assert_eq(sel_count(&r, 5, NTP_SEL_FALSETICKER), 5);
	cr_assert(strstr(ntp_select_why(&r, 0), "no majority") != NULL, "%s",
	          ntp_select_why(&r, 0));
}

/* The algorithm trusts numbers, not names: three liars that agree with
 * each other outvote two honest servers. */
Test(select, agreeing_majority_wins_even_if_wrong)
{
	ntp_select_cand c[] = {
	        sel_cand(1, 0.000, 0.005, 0.010, 2), sel_cand(2, 0.500, 0.005, 0.010, 2),
	        sel_cand(3, 0.001, 0.005, 0.010, 2), sel_cand(4, 0.501, 0.005, 0.010, 2),
	        sel_cand(5, 0.502, 0.005, 0.010, 2),
	};
	ntp_select_params p = sel_params();
	ntp_select_result r;

	cr_assert_eq(ntp_select_run(c, 5, &p, &r), 2);
	cr_assert_eq(r.state[0], NTP_SEL_FALSETICKER);
	cr_assert_eq(r.state[2], NTP_SEL_FALSETICKER);
	cr_assert_float_eq(r.low, 0.492, 1e-12);
	cr_assert_float_eq(r.high, 0.510, 1e-12);
	cr_assert_float_eq(r.offset, 0.501, 1e-12);
}

Test(select, two_disagree_no_selection)
{
	ntp_select_cand c[] = {
	        sel_cand(1, 0.000, 0.001, 0.010, 2),
	        sel_cand(2, 0.100, 0.001, 0.010, 2),
	};
	ntp_select_params p = sel_params();
	ntp_select_result r;

	cr_assert_eq(ntp_select_run(c, 2, &p, &r), -1);
	cr_assert(strstr(ntp_select_reason(&r), "no majority: only 1 of 2 sources agree, need 2") !=
	                  NULL,
	          "%s", ntp_select_reason(&r));
	cr_assert_eq(r.state[0], NTP_SEL_FALSETICKER);
	cr_assert_eq(r.state[1], NTP_SEL_FALSETICKER);
}

/* Intervals that only touch ([-0.01, 0.01] and [0.01, 0.03]) have no
 * common width: not a majority of two. */
Test(select, touching_intervals_do_not_agree)
{
	ntp_select_cand c[] = {
	        sel_cand(1, 0.000, 0.001, 0.010, 2),
	        sel_cand(2, 0.020, 0.001, 0.010, 2),
	};
	ntp_select_result r;

	cr_assert_eq(ntp_select_run(c, 2, NULL, &r), -1);
	cr_assert(strstr(ntp_select_reason(&r), "only 1 of 2") != NULL, "%s",
	          ntp_select_reason(&r));
}

/* Prefer on the worst-metric survivor: it becomes the system peer and its
 * own offset and jitter are used (no combine). */
Test(select, prefer_survivor_chosen)
{
	ntp_select_cand c[] = {
	        sel_cand(1, 0.001, 0.001, 0.010, 2),
	        sel_cand(2, 0.002, 0.001, 0.020, 2),
	        sel_cand(3, 0.003, 0.004, 0.040, 3),
	};
	ntp_select_params p = sel_params();
	ntp_select_result r;

	c[2].prefer = true;
	cr_assert_eq(ntp_select_run(c, 3, &p, &r), 3);
	/* the texts kept as numbers read as they were written (issue 17 §1) */
	cr_assert_str_eq(ntp_select_why(&r, 0),
	                 "candidate: survivor; prefer peer 3 sets the offset alone");
	cr_assert_str_eq(ntp_select_reason(&r),
	                 "sys_peer 3: 3 survivors of 3 candidates, 0 falsetickers, 0 discarded");
	cr_assert_str_eq(ntp_select_why(&r, NTP_SELECT_MAX), "");
	cr_assert_eq(r.state[2], NTP_SEL_SYSPEER);
	cr_assert_eq(r.state[0], NTP_SEL_CANDIDATE);
	cr_assert_float_eq(r.offset, 0.003, 1e-15);
	cr_assert_float_eq(r.jitter, 0.004, 1e-15);
	cr_assert(strstr(ntp_select_why(&r, 2), "prefer") != NULL, "%s", ntp_select_why(&r, 2));
}

Test(select, prefer_falseticker_not_chosen)
{
	ntp_select_cand c[] = {
	        sel_cand(1, 0.000, 0.005, 0.010, 2), sel_cand(2, 0.002, 0.005, 0.010, 2),
	        sel_cand(3, 0.500, 0.005, 0.010, 1), sel_cand(4, -0.001, 0.005, 0.010, 2),
	        sel_cand(5, 0.001, 0.005, 0.010, 2),
	};
	ntp_select_params p = sel_params();
	ntp_select_result r;

	c[2].prefer = true;
	cr_assert_eq(ntp_select_run(c, 5, &p, &r), 1);
	cr_assert_eq(r.state[2], NTP_SEL_FALSETICKER);
	/* combined over the four truechimers: (0 + 2 - 1 + 1) / 4 ms */
	cr_assert_float_eq(r.offset, 0.0005, 1e-15);
}

/* `true` keeps a source 0.5 s off through the intersection and through the
 * cluster (it is the worst outlier, but has the immunity idol, so the
 * pruning stops there). */
Test(select, trueticker_kept)
{
	ntp_select_cand c[] = {
	        sel_cand(1, 0.000, 0.0005, 0.010, 2), sel_cand(2, 0.002, 0.0005, 0.010, 2),
	        sel_cand(3, 0.500, 0.0005, 0.050, 2), sel_cand(4, -0.001, 0.0005, 0.010, 2),
	        sel_cand(5, 0.001, 0.0005, 0.010, 2),
	};
	ntp_select_params p = sel_params();
	ntp_select_result r;

	c[2].trueticker = true;
	cr_assert_eq(ntp_select_run(c, 5, &p, &r), 1);
	cr_assert_eq(r.state[2], NTP_SEL_CANDIDATE);
	cr_assert_eq(r.n_survivors, 5);
	/* weights 100 x4 and 20: (100 * 0.002 + 20 * 0.5) / 420 */
	cr_assert_float_eq(r.offset, (0.2 + 10.0) / 420.0, 1e-15);

	/* without `true` it is a falseticker */
	c[2].trueticker = false;
	cr_assert_eq(ntp_select_run(c, 5, &p, &r), 1);
	cr_assert_eq(r.state[2], NTP_SEL_FALSETICKER);
}

/* The seed's isolated LAN server: `server 127.127.1.0` + `fudge stratum 5`
 * is its only source and is its system peer at once ("*LOCAL(0)"). */
Test(select, local_clock_only_selected)
{
	ntp_select_cand c[] = {sel_cand(1, 0.0, 0.0, 0.0, 5)};
	ntp_select_params p = sel_params();
	ntp_select_result r;

	c[0].local = true;
	cr_assert_eq(ntp_select_run(c, 1, &p, &r), 1);
	cr_assert_eq(ntp_select_tally(r.state[0]), '*');
	cr_assert(strstr(ntp_select_why(&r, 0), "local clock fallback") != NULL, "%s",
	          ntp_select_why(&r, 0));
	cr_assert_float_eq(r.offset, 0.0, 1e-15);
	/* root distance 0 is raised to mindist, like ntpd's root_distance() */
	cr_assert_float_eq(r.rootdist, NTP_SELECT_MINDIST, 1e-15);
	cr_assert_eq(r.n_candidates, 0);
	cr_assert_eq(r.n_truechimers, 1);
}

/* A real server wins over LOCAL, even 28 s away (the seed's client that
 * was 28 s ahead): LOCAL does not vote in the intersection. */
Test(select, local_and_real_server)
{
	ntp_select_cand c[] = {
	        sel_cand(1, 0.0, 0.0, 0.001, 5),
	        sel_cand(2, -28.2, 0.002, 0.050, 6),
	};
	ntp_select_params p = sel_params();
	ntp_select_result r;

	c[0].local = true;
	cr_assert_eq(ntp_select_run(c, 2, &p, &r), 2);
	cr_assert_eq(r.state[0], NTP_SEL_REJECT);
	cr_assert(strstr(ntp_select_why(&r, 0), "local clock not used: real sources available") !=
	                  NULL,
	          "%s", ntp_select_why(&r, 0));
	cr_assert_eq(r.state[1], NTP_SEL_SYSPEER);
	cr_assert_float_eq(r.offset, -28.2, 1e-12);
	cr_assert_eq(r.n_survivors, 1);
}

/* ntpd's fallback: when the real sources have no majority, LOCAL is used
 * (and a second LOCAL is told which one was). */
Test(select, local_fallback_when_no_majority)
{
	ntp_select_cand c[] = {
	        sel_cand(1, 0.000, 0.001, 0.010, 2),
	        sel_cand(2, 0.100, 0.001, 0.010, 2),
	        sel_cand(3, 0.0, 0.0, 0.001, 10),
	        sel_cand(4, 0.0, 0.0, 0.001, 12),
	};
	ntp_select_result r;

	c[2].local = true;
	c[3].local = true;
	cr_assert_eq(ntp_select_run(c, 4, NULL, &r), 3);
	cr_assert_eq(r.state[0], NTP_SEL_FALSETICKER);
	cr_assert_eq(r.state[1], NTP_SEL_FALSETICKER);
	cr_assert_eq(r.state[3], NTP_SEL_REJECT);
	cr_assert(strstr(ntp_select_why(&r, 3), "local clock 3 is the fallback") != NULL, "%s",
	          ntp_select_why(&r, 3));
}

/* A `prefer` LOCAL is an ordinary candidate (ntpd): it votes, and wins. */
Test(select, prefer_local_is_a_candidate)
{
	ntp_select_cand c[] = {
	        sel_cand(1, 0.0, 0.0, 0.001, 5),
	        sel_cand(2, 0.002, 0.001, 0.010, 2),
	};
	ntp_select_result r;

	c[0].local = true;
	c[0].prefer = true;
	cr_assert_eq(ntp_select_run(c, 2, NULL, &r), 1);
	cr_assert_eq(r.n_candidates, 2);
	cr_assert_eq(r.state[1], NTP_SEL_CANDIDATE);
}

/* Four truechimers (wide intervals), one 30 ms away from the others.
 * Selection jitter of id 4: sqrt((30^2 + 29^2 + 31^2) / 3) = 30.01 ms, far
 * over the smallest peer jitter (1 ms): discarded, then 3 = minclock. */
Test(select, cluster_discards_outlier)
{
	ntp_select_cand c[] = {
	        sel_cand(1, 0.000, 0.001, 0.100, 2),
	        sel_cand(2, 0.001, 0.001, 0.100, 2),
	        sel_cand(3, -0.001, 0.001, 0.100, 2),
	        sel_cand(4, 0.030, 0.001, 0.100, 2),
	};
	ntp_select_params p = sel_params();
	ntp_select_result r;

	cr_assert_eq(ntp_select_run(c, 4, &p, &r), 1);
	cr_assert_eq(r.n_truechimers, 4);
	cr_assert_eq(r.state[3], NTP_SEL_OUTLIER);
	cr_assert_eq(ntp_select_tally(r.state[3]), '-');
	cr_assert(strstr(ntp_select_why(&r, 3),
	                 "outlier: cluster discard, selection jitter 0.030011 s") != NULL,
	          "%s", ntp_select_why(&r, 3));
	cr_assert_eq(r.n_survivors, 3);
	cr_assert_float_eq(r.offset, 0.0, 1e-15);

	/* with minclock 4 nothing is discarded */
	p.minclock = 4;
	ntp_select_run(c, 4, &p, &r);
	cr_assert_eq(r.state[3], NTP_SEL_CANDIDATE);
	/* nor when the peers are noisier (35 ms) than the spread */
	p.minclock = 3;
	for (int i = 0; i < 4; i++) {
		c[i].jitter = 0.035;
	}
	ntp_select_run(c, 4, &p, &r);
	cr_assert_eq(r.state[3], NTP_SEL_CANDIDATE);
}

/* Weights 1/lambda = 100, 50, 20 (sum 170); offsets 4, -2, 10 ms.
 * Offset = (0.4 - 0.1 + 0.2) / 170.  Jitter around id 1 (4 ms):
 * (50 * 36e-6 + 20 * 36e-6) / 170 + 0.002^2. */
Test(select, combine_weights)
{
	ntp_select_cand c[] = {
	        sel_cand(1, 0.004, 0.002, 0.010, 2),
	        sel_cand(2, -0.002, 0.001, 0.020, 2),
	        sel_cand(3, 0.010, 0.001, 0.050, 2),
	};
	ntp_select_params p = sel_params();
	ntp_select_result r;

	cr_assert_eq(ntp_select_run(c, 3, &p, &r), 1);
	cr_assert_float_eq(r.offset, 0.5 / 170.0, 1e-15);
	cr_assert_float_eq(r.jitter, sqrt(70.0 * 36e-6 / 170.0 + 4e-6), 1e-15);
	cr_assert(strstr(ntp_select_why(&r, 1), "combine weight 0.294") != NULL, "%s",
	          ntp_select_why(&r, 1));
	cr_assert(strstr(ntp_select_why(&r, 2), "combine weight 0.118") != NULL, "%s",
	          ntp_select_why(&r, 2));
}

/* Stratum outweighs distance: stratum 1 at 0.5 s distance beats stratum 2
 * at 10 ms (metric 1.5 + 0.5 = 2.0 < 3.0 + 0.01). */
Test(select, stratum_weighted_metric)
{
	ntp_select_cand c[] = {
	        sel_cand(1, 0.001, 0.001, 0.010, 2),
	        sel_cand(2, 0.000, 0.001, 0.500, 1),
	};
	ntp_select_result r;

	cr_assert_eq(ntp_select_run(c, 2, NULL, &r), 2);
}

Test(select, minsane)
{
	ntp_select_cand c[] = {
	        sel_cand(1, 0.001, 0.001, 0.010, 2),
	        sel_cand(2, 0.002, 0.001, 0.020, 2),
	        sel_cand(3, 0.003, 0.001, 0.040, 2),
	};
	ntp_select_params p = sel_params();
	ntp_select_result r;

	p.minsane = 2;
	cr_assert_eq(ntp_select_run(c, 1, &p, &r), -1);
	cr_assert_str_eq(ntp_select_reason(&r), "1 survivor, fewer than minsane 2");
	cr_assert_eq(r.state[0], NTP_SEL_CANDIDATE);

	p.minsane = 3;
	cr_assert_eq(ntp_select_run(c, 3, &p, &r), 1);
	p.minsane = 4;
	cr_assert_eq(ntp_select_run(c, 3, &p, &r), -1);
	cr_assert_str_eq(ntp_select_reason(&r), "3 survivors, fewer than minsane 4");
}

/* Two equals 0.3 ms apart; id 1 is best by distance (10 ms < 11 ms).
 * With id 2 the previous sys peer, ntpd's clockhop keeps it: threshold
 * mindist = 1 ms, then 0.5 ms on the next call (still kept), then
 * 0.25 ms < 0.3 ms: hop to id 1. */
Test(select, clockhop_keeps_previous_among_equals)
{
	ntp_select_cand c[] = {
	        sel_cand(1, 0.0000, 0.001, 0.010, 2),
	        sel_cand(2, 0.0003, 0.001, 0.011, 2),
	};
	ntp_select_params p = sel_params();
	ntp_select_result r;

	cr_assert_eq(ntp_select_run(c, 2, &p, &r), 1); /* no history: the best */
	cr_assert_float_eq(r.clockhop, 0.0, 1e-15);

	p.prev_sys_peer = 2;
	cr_assert_eq(ntp_select_run(c, 2, &p, &r), 2);
	cr_assert_float_eq(r.clockhop, 0.001, 1e-15);
	cr_assert(strstr(ntp_select_why(&r, 1), "clockhop") != NULL, "%s", ntp_select_why(&r, 1));
	cr_assert_eq(r.state[0], NTP_SEL_CANDIDATE);

	p.clockhop = r.clockhop;
	cr_assert_eq(ntp_select_run(c, 2, &p, &r), 2);
	cr_assert_float_eq(r.clockhop, 0.0005, 1e-15);

	p.clockhop = r.clockhop;
	cr_assert_eq(ntp_select_run(c, 2, &p, &r), 1);
	cr_assert_float_eq(r.clockhop, 0.0, 1e-15);

	/* 2 ms apart is beyond mindist: hop at once */
	c[1].offset = 0.002;
	p.clockhop = 0.0;
	cr_assert_eq(ntp_select_run(c, 2, &p, &r), 1);
}

/* A previous sys peer that is now a falseticker is never kept. */
Test(select, clockhop_never_keeps_falseticker)
{
	ntp_select_cand c[] = {
	        sel_cand(1, 0.000, 0.005, 0.010, 2),
	        sel_cand(2, 0.002, 0.005, 0.010, 2),
	        sel_cand(3, 0.500, 0.005, 0.010, 2),
	};
	ntp_select_params p = sel_params();
	ntp_select_result r;

	p.prev_sys_peer = 3;
	cr_assert_eq(ntp_select_run(c, 3, &p, &r), 1);
	cr_assert_eq(r.state[2], NTP_SEL_FALSETICKER);
}

/* Same input twice: byte-identical results (all strings and padding of
 * the header and of the n reason rows in use, since those are cleared
 * first; rows >= n are not touched, issue 17 §1). */
Test(select, deterministic)
{
	ntp_select_cand c[12];
	ntp_select_params p = sel_params();
	ntp_select_result r1, r2;

	for (int i = 0; i < 12; i++) {
		c[i] = sel_cand(i + 1, 0.0007 * (i % 5) - (i == 7 ? 0.3 : 0.0),
		                0.0002 + 0.0001 * (i % 3), 0.005 + 0.001 * (i % 4), 1 + i % 3);
	}
	c[4].prefer = true;
	memset(&r1, 0xA5, sizeof r1);
	memset(&r2, 0x5A, sizeof r2);
	cr_assert_eq(ntp_select_run(c, 12, &p, &r1), ntp_select_run(c, 12, &p, &r2));
	cr_assert_eq(memcmp(&r1, &r2, offsetof(ntp_select_result, why) + 12 * sizeof r1.why[0]), 0);
	cr_assert_eq(r1.why[12][0], (char)0xA5, "rows past n are left alone");
	cr_assert_eq(r1.sys_peer, 5); /* the prefer peer survives */
	cr_assert_eq(r1.state[7], NTP_SEL_FALSETICKER);
}

Test(select, no_candidates)
{
	ntp_select_result r;

	cr_assert_eq(ntp_select_run(NULL, 0, NULL, &r), -1);
	cr_assert_str_eq(ntp_select_reason(&r), "no candidates");
	cr_assert_eq(r.n_candidates, 0);
	cr_assert_eq(ntp_select_run(NULL, 0, NULL, NULL), -1);
	cr_assert_eq(ntp_select_run(NULL, 3, NULL, &r), -1);
	cr_assert(strstr(ntp_select_reason(&r), "no candidate array") != NULL, "%s",
	          ntp_select_reason(&r));
}

/* NTP_SELECT_MAX candidates 0.1 ms apart (offsets 0 .. 6.3 ms), all
 * overlapping (distance 10 ms), peer jitter 0.5 ms.  The cluster algorithm
 * drops the worst one at a time: the 54 drops while more than maxclock (10)
 * remain are backups '#'.  Ten evenly spaced offsets have an extreme
 * selection jitter of sqrt(285e-8 / 9) = 0.56 ms > 0.5 ms (drop, outlier),
 * nine: sqrt(204e-8 / 8) = 0.505 ms (drop), eight: sqrt(140e-8 / 7) =
 * 0.447 ms: stop with 8 survivors.  One more candidate is refused. */
Test(select, max_candidates)
{
	ntp_select_cand c[NTP_SELECT_MAX + 1];
	ntp_select_params p = sel_params();
	ntp_select_result r;

	for (int i = 0; i < NTP_SELECT_MAX + 1; i++) {
		c[i] = sel_cand(100 + i, 0.0001 * i, 0.0005, 0.010, 2);
	}
	cr_assert_neq(ntp_select_run(c, NTP_SELECT_MAX, &p, &r), -1);
	cr_assert_eq(r.n_candidates, NTP_SELECT_MAX);
	cr_assert_eq(r.n_truechimers, NTP_SELECT_MAX);
	cr_assert_eq(sel_count(&r, NTP_SELECT_MAX, NTP_SEL_BACKUP), 54);
	cr_assert_eq(sel_count(&r, NTP_SELECT_MAX, NTP_SEL_OUTLIER), 2);
	cr_assert_eq(r.n_survivors, 8);
	cr_assert_eq(sel_count(&r, NTP_SELECT_MAX, NTP_SEL_CANDIDATE) +
	                     sel_count(&r, NTP_SELECT_MAX, NTP_SEL_SYSPEER),
	             8);
	/* the survivors are a contiguous run of offsets (which end goes is down
	 * to rounding: the two extremes tie on selection jitter) */
	int first = -1, last = -1;
	for (int i = 0; i < NTP_SELECT_MAX; i++) {
		if (r.state[i] >= NTP_SEL_CANDIDATE && r.state[i] != NTP_SEL_BACKUP) {
			first = first < 0 ? i : first;
			last = i;
		}
		cr_assert_neq(ntp_select_why(&r, i)[0], '\0', "candidate %d has no reason", i);
	}
	cr_assert_eq(last - first, 7, "survivors %d..%d", first, last);

	cr_assert_eq(ntp_select_run(c, NTP_SELECT_MAX + 1, &p, &r), -1);
	cr_assert(strstr(ntp_select_reason(&r), "too many candidates: 65 > 64") != NULL, "%s",
	          ntp_select_reason(&r));
}

Test(select, nan_and_inf_rejected)
{
	ntp_select_cand c[] = {
	        sel_cand(1, NAN, 0.001, 0.010, 2),       sel_cand(2, 0.001, 0.001, INFINITY, 2),
	        sel_cand(3, 0.001, -INFINITY, 0.010, 2), sel_cand(4, 0.001, 0.001, -0.5, 2),
	        sel_cand(5, 0.001, 0.001, 0.010, 16),    sel_cand(6, 1e300, 0.001, 0.010, 2),
	        sel_cand(7, 0.001, 0.001, 0.010, 2),     sel_cand(8, 0.002, 0.001, 0.010, 2),
	};
	ntp_select_result r;

	cr_assert_eq(ntp_select_run(c, 8, NULL, &r), 7);
	for (int i = 0; i < 6; i++) {
		cr_assert_eq(r.state[i], NTP_SEL_REJECT, "candidate %d", i);
		cr_assert(strstr(ntp_select_why(&r, i), "invalid input") != NULL, "%s",
		          ntp_select_why(&r, i));
	}
	cr_assert(strstr(ntp_select_why(&r, 0), "offset nan") != NULL, "%s", ntp_select_why(&r, 0));
	cr_assert(strstr(ntp_select_why(&r, 4), "stratum 16") != NULL, "%s", ntp_select_why(&r, 4));
	cr_assert_eq(r.n_candidates, 2);
	cr_assert(isfinite(r.offset) && isfinite(r.jitter));

	cr_assert_eq(ntp_select_run(c, 6, NULL, &r), -1);
	cr_assert_str_eq(ntp_select_reason(&r), "no candidates: 6 rejected as invalid input");
}

/* NaN in the parameters falls back to the defaults instead of poisoning
 * the arithmetic. */
Test(select, nan_params)
{
	ntp_select_cand c[] = {sel_cand(1, 0.0, 0.001, 0.0, 2)};
	ntp_select_params p = sel_params();
	ntp_select_result r;

	p.mindist = NAN;
	p.maxdist = -INFINITY;
	p.sys_precision = NAN;
	p.clockhop = NAN;
	cr_assert_eq(ntp_select_run(c, 1, &p, &r), 1);
	cr_assert_float_eq(r.rootdist, NTP_SELECT_MINDIST, 1e-15);
	cr_assert(isfinite(r.jitter));
}

Test(select, tally_and_names)
{
	cr_assert_eq(ntp_select_tally(NTP_SEL_REJECT), ' ');
	cr_assert_eq(ntp_select_tally(NTP_SEL_FALSETICKER), 'x');
	cr_assert_eq(ntp_select_tally(NTP_SEL_EXCESS), '.');
	cr_assert_eq(ntp_select_tally(NTP_SEL_OUTLIER), '-');
	cr_assert_eq(ntp_select_tally(NTP_SEL_CANDIDATE), '+');
	cr_assert_eq(ntp_select_tally(NTP_SEL_BACKUP), '#');
	cr_assert_eq(ntp_select_tally(NTP_SEL_SYSPEER), '*');
	cr_assert_eq(ntp_select_tally(99), ' ');
	cr_assert_str_eq(ntp_select_state_name(NTP_SEL_SYSPEER), "sys_peer");
	cr_assert_str_eq(ntp_select_state_name(-1), "unknown");
}

/* xorshift64 for the invariant sweep below (test-local, seeded). */
static uint64_t
sel_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double
sel_uniform(uint64_t *s, double lo, double hi)
{
	return lo + (hi - lo) * (double)(sel_next(s) >> 11) / 9007199254740992.0;
}

/* 2000 random inputs (some NaN, inf, LOCAL, prefer, true, strata 0..16):
 * every candidate gets a state and a reason, exactly one '*' iff a sys peer
 * was chosen, the counts match the states, and the numbers are finite. */
Test(select, invariants_on_random_inputs)
{
	uint64_t seed = 0x5e1ec7ULL;
	ntp_select_cand c[NTP_SELECT_MAX];
	ntp_select_result r;
	int chosen = 0, no_majority = 0, discards = 0;

	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)(sel_next(&seed) % (NTP_SELECT_MAX + 1));
		ntp_select_params p = sel_params();

		p.minsane = (int)(sel_next(&seed) % 4);
		p.minclock = (int)(sel_next(&seed) % 6);
		p.maxclock = (int)(sel_next(&seed) % 12);
		p.prev_sys_peer = (int)(sel_next(&seed) % 70) - 1;
		for (size_t i = 0; i < n; i++) {
			uint64_t f = sel_next(&seed);
			double base = (f & 3) == 0 ? sel_uniform(&seed, -1.0, 1.0) : 0.0;

			c[i] = sel_cand((int)i, base + sel_uniform(&seed, -0.005, 0.005),
			                sel_uniform(&seed, 0.0, 0.003),
			                sel_uniform(&seed, 0.0, 0.1), (int)(sel_next(&seed) % 17));
			c[i].prefer = (f & 0x30) == 0x30;
			c[i].trueticker = (f & 0x1c0) == 0x1c0;
			c[i].local = (f & 0x600) == 0x600;
			if ((f & 0xf800) == 0x800) {
				c[i].offset = NAN;
			} else if ((f & 0xf800) == 0x1000) {
				c[i].rootdist = INFINITY;
			}
		}
		int sys = ntp_select_run(c, n, &p, &r);
		int stars = sel_count(&r, n, NTP_SEL_SYSPEER);
		int plus = sel_count(&r, n, NTP_SEL_CANDIDATE);

		cr_assert_eq(sys, r.sys_peer);
		cr_assert_eq(stars, sys < 0 ? 0 : 1, "round %d", round);
		for (size_t i = 0; i < n; i++) {
			cr_assert(r.state[i] <= NTP_SEL_SYSPEER && r.state[i] != NTP_SEL_EXCESS);
			cr_assert_neq(ntp_select_why(&r, i)[0], '\0', "round %d candidate %zu",
			              round, i);
		}
		chosen += sys >= 0;
		no_majority += strstr(ntp_select_reason(&r), "no majority") != NULL;
		discards += sel_count(&r, n, NTP_SEL_OUTLIER) + sel_count(&r, n, NTP_SEL_BACKUP);
		if (sys >= 0) {
			cr_assert_eq(r.state[r.sys_index], NTP_SEL_SYSPEER);
			cr_assert_eq(plus + 1, r.n_survivors, "round %d", round);
			cr_assert(isfinite(r.offset) && isfinite(r.jitter) && r.jitter >= 0.0);
			cr_assert(r.n_survivors >= p.minsane && r.n_survivors >= 1);
		} else {
			cr_assert_neq(ntp_select_reason(&r)[0], '\0');
		}
		cr_assert(r.n_survivors <= r.n_truechimers);
	}
	/* the sweep reaches every outcome */
	cr_assert(chosen > 1000 && no_majority > 10 && discards > 1000, "%d %d %d", chosen,
	          no_majority, discards);
}
