/* SPDX-License-Identifier: BSD-2-Clause */
/* sim/: event heap, oscillator model, units, scenario loader, checks, pcap,
 * one-shot query, and small end-to-end engine runs. */
#include <criterion/criterion.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netem_heap.h"
#include "ntp_pkt.h"
#include "ntp_rand.h"
#include "ntp_units.h"
#include "sim_check.h"
#include "sim_engine.h"
#include "sim_gauss.h"
#include "sim_osc.h"
#include "sim_pcap.h"
#include "sim_query.h"
#include "sim_scenario.h"

#define S(x) ((int64_t)(x)*INT64_C(1000000000))
#define T0   INT64_C(1735689600000000000) /* 2025-01-01 00:00:00 UTC */

/* ------------------------------------------------------------------ */
/* netem_heap (the event queue ntpsim and ntpnetem share)                */

Test(netem_heap, pops_in_time_order)
{
	netem_heap h;
	ntp_rand r;
	netem_event e;
	int64_t last = INT64_MIN;
	size_t n = 0;

	netem_heap_init(&h);
	ntp_rand_seed(&r, 42);
	for (int i = 0; i < 5000; i++) {
		cr_assert_eq(netem_heap_push(&h, (int64_t)ntp_rand_below(&r, 1000000), 1, 0, 0, 0),
		             0);
	}
	while (netem_heap_pop(&h, &e)) {
		cr_assert_geq(e.t, last);
		last = e.t;
		n++;
	}
	cr_assert_eq(n, 5000);
	netem_heap_free(&h);
}

Test(netem_heap, ties_keep_insertion_order)
{
	netem_heap h;
	netem_event e;
	uint32_t expect = 0;

	netem_heap_init(&h);
	/* Interleave two instants; within each, insertion order must hold. */
	for (uint32_t i = 0; i < 200; i++) {
		netem_heap_push(&h, (i % 2) ? 7 : 5, 0, 0, i, 0);
	}
	while (netem_heap_pop(&h, &e)) {
		if (e.t == 5) {
			cr_assert_eq(e.arg, expect, "arg %u, expected %u", e.arg, expect);
			expect += 2;
		}
	}
	cr_assert_eq(expect, 200);
	for (uint32_t i = 0; i < 50; i++) {
		netem_heap_push(&h, 9, 0, 0, i, 0);
	}
	for (uint32_t i = 0; i < 50; i++) {
		cr_assert(netem_heap_pop(&h, &e));
		cr_assert_eq(e.arg, i);
	}
	cr_assert(!netem_heap_pop(&h, &e));
	netem_heap_free(&h);
}

Test(netem_heap, peek_matches_pop_while_interleaving)
{
	netem_heap h;
	netem_event e;
	ntp_rand r;
	int64_t now = 0;

	netem_heap_init(&h);
	ntp_rand_seed(&r, 7);
	netem_heap_push(&h, 0, 0, 0, 0, 0);
	for (int i = 0; i < 20000 && netem_heap_peek(&h) != NULL; i++) {
		const netem_event *top = netem_heap_peek(&h);
		int64_t t = top->t;
		uint64_t seq = top->seq;

		cr_assert(netem_heap_pop(&h, &e));
		cr_assert_eq(e.t, t);
		cr_assert_eq(e.seq, seq);
		cr_assert_geq(e.t, now);
		now = e.t;
		/* each event schedules 0..2 later ones, like packets and timers */
		for (uint64_t k = ntp_rand_below(&r, 3); k > 0 && h.n < 1000; k--) {
			netem_heap_push(&h, now + (int64_t)ntp_rand_below(&r, 100), 0, 0, 0, 0);
		}
	}
	netem_heap_free(&h);
}

/* The engine prefetches for the event after next: peek_second must name
 * exactly the event the next pop after this one returns. */
Test(netem_heap, peek_second_is_the_one_after_next)
{
	netem_heap h;
	netem_event e;
	ntp_rand r;
	int checked = 0;

	netem_heap_init(&h);
	ntp_rand_seed(&r, 11);
	cr_assert_null(netem_heap_peek_second(&h));
	netem_heap_push(&h, 5, 0, 0, 0, 0);
	cr_assert_null(netem_heap_peek_second(&h), "one event: no second");
	for (int i = 0; i < 20000 && netem_heap_peek(&h) != NULL; i++) {
		const netem_event *second = netem_heap_peek_second(&h);
		int64_t t2 = second != NULL ? second->t : -1;
		uint64_t seq2 = second != NULL ? second->seq : 0;

		cr_assert(netem_heap_pop(&h, &e));
		if (second != NULL) {
			/* many ties (times 0..9 ahead): the sequence decides */
			cr_assert_eq(netem_heap_peek(&h)->t, t2);
			cr_assert_eq(netem_heap_peek(&h)->seq, seq2);
			checked++;
		}
		for (uint64_t k = 1 + ntp_rand_below(&r, 2); k > 0 && h.n < 1000; k--) {
			netem_heap_push(&h, e.t + (int64_t)ntp_rand_below(&r, 10), 0, 0, 0, 0);
		}
	}
	cr_assert_gt(checked, 1000);
	netem_heap_free(&h);
}

/* ------------------------------------------------------------------ */
/* sim_osc                                                             */

static sim_osc_params
osc_params(double offset, double freq, double wander)
{
	sim_osc_params p;

	memset(&p, 0, sizeof(p));
	p.offset = offset;
	p.freq = freq;
	p.wander = wander;
	return p;
}

Test(sim_osc, offset_and_frequency_are_exact)
{
	sim_osc_params p = osc_params(28.2, 100e-6, 0.0);
	sim_osc o;

	sim_osc_init(&o, &p, T0, 1, "a");
	cr_assert_eq(sim_osc_raw(&o, T0), T0 + S(28) + 200000000);
	/* 1000 s at +100 ppm: 0.1 s more */
	cr_assert_eq(sim_osc_raw(&o, T0 + S(1000)), T0 + S(1000) + S(28) + 300000000);
	cr_assert_float_eq(sim_osc_freq(&o, T0 + S(1000)), 100e-6, 1e-15);
}

Test(sim_osc, frequency_change_keeps_phase_continuous)
{
	sim_osc_params p = osc_params(0.0, 50e-6, 0.0);
	sim_osc o;
	int64_t before, after;

	sim_osc_init(&o, &p, T0, 1, "a");
	before = sim_osc_raw(&o, T0 + S(100));
	sim_osc_set_freq(&o, T0 + S(100), -20e-6);
	after = sim_osc_raw(&o, T0 + S(100));
	cr_assert_eq(before, after);
	cr_assert_eq(sim_osc_raw(&o, T0 + S(200)), after + S(100) - 2000000);
	sim_osc_step(&o, T0 + S(200), -1.5);
	cr_assert_eq(sim_osc_raw(&o, T0 + S(200)), after + S(100) - 2000000 - 1500000000);
}

/* raw(t) >= target and raw(t - 1) < target: the inverse is exact to 1 ns. */
static void
assert_inverse_exact(sim_osc *o, int64_t t_from, int64_t target)
{
	sim_osc probe = *o;
	int64_t t = sim_osc_true_for(o, target, t_from);

	cr_assert_geq(t, t_from);
	/* Reading must not disturb what a copy reads: use the copy. */
	cr_assert_geq(sim_osc_raw(&probe, t), target, "raw(t) below the target");
	if (t > t_from) {
		sim_osc probe2 = *o;

		cr_assert_lt(sim_osc_raw(&probe2, t - 1), target, "t - 1 ns already reaches it");
	}
}

Test(sim_osc, inverse_is_exact_to_one_ns)
{
	sim_osc_params p = osc_params(-3.7, 87e-6, 3e-8);
	sim_osc o;
	ntp_rand r;

	p.temp_amp = 2e-6;
	p.temp_period = 3600.0;
	p.temp_phase = 0.3;
	p.wander_step = 16.0;
	sim_osc_init(&o, &p, T0, 99, "inv");
	ntp_rand_seed(&r, 5);
	for (int i = 0; i < 300; i++) {
		int64_t now = T0 + S(i * 37);
		int64_t raw_now = sim_osc_raw(&o, now);
		/* targets from 1 ns to ~2 h ahead, like timer deadlines */
		int64_t ahead = 1 + (int64_t)ntp_rand_below(&r, (uint64_t)S(7200));

		assert_inverse_exact(&o, now, raw_now + ahead);
	}
}

/* The inverse skips grid segments in blocks (sim_osc.c leap_segments):
 * exact on fine grids, for clocks far off, and where it falls back to one
 * segment at a time (a rate it does not trust to keep raw increasing). */
Test(sim_osc, inverse_is_exact_across_skipped_segments)
{
	const double freqs[] = {87e-6, -0.3, -0.6, 0.4};
	ntp_rand r;

	ntp_rand_seed(&r, 6);
	for (size_t f = 0; f < sizeof freqs / sizeof freqs[0]; f++) {
		sim_osc_params p = osc_params(0.2, freqs[f], 1e-6);
		sim_osc o;

		p.wander_step = 1.0;
		sim_osc_init(&o, &p, T0, 7 + f, "leap");
		for (int i = 0; i < 100; i++) {
			int64_t now = T0 + S(i * 53);
			int64_t ahead = 1 + (int64_t)ntp_rand_below(&r, (uint64_t)S(3000));

			assert_inverse_exact(&o, now, sim_osc_raw(&o, now) + ahead);
		}
	}
}

Test(sim_osc, inverse_of_a_past_reading_is_now)
{
	sim_osc_params p = osc_params(0.5, 1e-5, 1e-9);
	sim_osc o;
	int64_t now = T0 + S(500);

	sim_osc_init(&o, &p, T0, 3, "past");
	cr_assert_eq(sim_osc_true_for(&o, sim_osc_raw(&o, now) - S(1), now), now);
}

Test(sim_osc, wander_path_does_not_depend_on_read_pattern)
{
	sim_osc_params p = osc_params(0.0, 0.0, 1e-8);
	sim_osc a, b, c;

	sim_osc_init(&a, &p, T0, 11, "node1");
	sim_osc_init(&b, &p, T0, 11, "node1");
	sim_osc_init(&c, &p, T0, 11, "node2");
	/* a reads every 7 s, b only at the end after looking far ahead */
	for (int i = 1; i <= 1000; i++) {
		sim_osc_raw(&a, T0 + S(7 * i));
	}
	sim_osc_true_for(&b, T0 + S(20000), T0);
	cr_assert_eq(sim_osc_raw(&a, T0 + S(7000)), sim_osc_raw(&b, T0 + S(7000)));
	cr_assert_float_eq(sim_osc_freq(&a, T0 + S(7000)), sim_osc_freq(&b, T0 + S(7000)), 0.0);
	/* a different name draws a different path */
	cr_assert_neq(sim_osc_raw(&c, T0 + S(7000)), sim_osc_raw(&a, T0 + S(7000)));
}

Test(sim_osc, wander_variance_grows_linearly)
{
	/* freq(T) ~ N(0, wander^2 T): check the sample variance over many nodes. */
	sim_osc_params p = osc_params(0.0, 0.0, 1e-9);
	const int nodes = 400;
	const double horizon = 40000.0; /* s */
	double sum2 = 0.0, expect = 1e-18 * horizon;
	char name[32];

	for (int i = 0; i < nodes; i++) {
		sim_osc o;
		double f;

		snprintf(name, sizeof(name), "w%d", i);
		sim_osc_init(&o, &p, T0, 2024, name);
		f = sim_osc_freq(&o, T0 + S(horizon));
		sum2 += f * f;
	}
	/* chi-square with 400 degrees of freedom: +-20% is > 3 sigma */
	cr_assert(sum2 / nodes > 0.8 * expect && sum2 / nodes < 1.2 * expect,
	          "variance %g, expected %g", sum2 / nodes, expect);
}

Test(sim_osc, reads_are_quantised_to_the_resolution)
{
	sim_osc_params p = osc_params(0.0, 0.0, 0.0);
	sim_osc o;

	p.resolution = 1e-6;
	sim_osc_init(&o, &p, T0, 1, "q");
	cr_assert_eq(sim_osc_noisy(&o, T0 + 1999), T0 + 1000);
	cr_assert_eq(sim_osc_noisy(&o, -1), -1000);
	cr_assert_eq(sim_osc_noisy(&o, T0 + 3000), T0 + 3000);
}

Test(sim_osc, ziggurat_normal_moments_and_tails)
{
	/* 10^6 draws: mean, variance, kurtosis and the 3-sigma tail of N(0, 1). */
	ntp_rand r;
	const int n = 1000000;
	double s1 = 0.0, s2 = 0.0, s4 = 0.0;
	int beyond3 = 0, beyond_r = 0;

	ntp_rand_seed(&r, 77);
	for (int i = 0; i < n; i++) {
		double x = sim_gauss(&r);

		s1 += x;
		s2 += x * x;
		s4 += x * x * x * x;
		beyond3 += fabs(x) > 3.0;
		beyond_r += fabs(x) > 3.442619855899;
	}
	cr_assert_float_eq(s1 / n, 0.0, 0.005);
	cr_assert_float_eq(s2 / n, 1.0, 0.005);
	cr_assert_float_eq(s4 / n, 3.0, 0.05);
	/* P(|x| > 3) = 0.0026998: expect 2700 +- 52 */
	cr_assert(beyond3 > 2500 && beyond3 < 2900, "%d beyond 3 sigma", beyond3);
	cr_assert_gt(beyond_r, 300, "the tail beyond R is sampled");
}

/* ------------------------------------------------------------------ */
/* ntp_units                                                           */

Test(ntp_units, durations_frequencies_and_rates)
{
	double v;
	long long ns;

	cr_assert_eq(ntp_parse_duration("100us", &v), 0);
	cr_assert_float_eq(v, 1e-4, 1e-18);
	cr_assert_eq(ntp_parse_duration(" -28.2 s ", &v), 0);
	cr_assert_float_eq(v, -28.2, 1e-12);
	cr_assert_eq(ntp_parse_duration("2h", &v), 0);
	cr_assert_float_eq(v, 7200.0, 0.0);
	cr_assert_eq(ntp_parse_freq("100ppm", &v), 0);
	cr_assert_float_eq(v, 1e-4, 1e-18);
	cr_assert_eq(ntp_parse_freq("1e-9", &v), 0);
	cr_assert_float_eq(v, 1e-9, 0.0);
	cr_assert_eq(ntp_parse_prob("5%", &v), 0);
	cr_assert_float_eq(v, 0.05, 1e-15);
	cr_assert_eq(ntp_parse_rate("1mbit", &v), 0);
	cr_assert_float_eq(v, 1e6, 0.0);
	cr_assert_eq(ntp_parse_utc("2025-01-01T00:00:00Z", &ns), 0);
	cr_assert_eq(ns, T0);
	cr_assert_eq(ntp_parse_utc("2036-02-07 06:28:16", &ns), 0);
	cr_assert_eq(ns, S(INT64_C(2085978496)));
}

Test(ntp_units, rejects_garbage)
{
	double v = 123.0;
	long long ll = 5;
	bool b;

	cr_assert_neq(ntp_parse_duration("", &v), 0);
	cr_assert_neq(ntp_parse_duration("10 parsecs", &v), 0);
	cr_assert_neq(ntp_parse_duration("nan", &v), 0);
	cr_assert_neq(ntp_parse_duration("inf", &v), 0);
	cr_assert_neq(ntp_parse_duration("1e999", &v), 0);
	cr_assert_neq(ntp_parse_freq("100ms", &v), 0);
	cr_assert_neq(ntp_parse_prob("150%", &v), 0);
	cr_assert_neq(ntp_parse_int("12abc", 0, 100, &ll), 0);
	cr_assert_neq(ntp_parse_int("101", 0, 100, &ll), 0);
	cr_assert_neq(ntp_parse_bool("maybe", &b), 0);
	cr_assert_neq(ntp_parse_utc("2025-02-30", (long long *)&ll), 0);
	cr_assert_float_eq(v, 123.0, 0.0);
	cr_assert_eq(ll, 5);
}

/* ------------------------------------------------------------------ */
/* sim_yaml: the scenario loader                                       */

static const char base_yaml[] = "name: t\n"
                                "duration: 1h\n"
                                "nodes:\n"
                                "  - name: server\n"
                                "    address: 10.1.0.1\n"
                                "    conf: |\n"
                                "      server 127.127.1.0\n"
                                "      fudge 127.127.1.0 stratum 5\n"
                                "  - name: client\n"
                                "    count: 3\n"
                                "    address: 10.1.0.10\n"
                                "    clock: {offset: 28.2s, freq: 100ppm, wander: 1e-9}\n"
                                "    conf: |\n"
                                "      server server iburst\n";

static int
load(const char *text, sim_scenario *sc, char *err, size_t size)
{
	return sim_scenario_load_buffer(sc, "t.yaml", text, strlen(text), err, size);
}

/* base_yaml with extra text appended. */
static int
load_with(const char *extra, sim_scenario *sc, char *err, size_t size)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s%s", base_yaml, extra);
	return load(buf, sc, err, size);
}

Test(sim_yaml, loads_nodes_replicas_and_names)
{
	sim_scenario sc;
	char err[512], name[64], addr[64];
	sim_range r;
	ntp_addr a;

	cr_assert_eq(load(base_yaml, &sc, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(sc.total_nodes, 4);
	cr_assert_float_eq(sc.duration, 3600.0, 0.0);
	cr_assert_eq(sim_scenario_find(&sc, "client2", &r), 0);
	cr_assert_eq(r.first, 2);
	cr_assert_eq(r.count, 1);
	cr_assert_eq(sim_scenario_find(&sc, "client", &r), 0);
	cr_assert_eq(r.count, 3);
	cr_assert_neq(sim_scenario_find(&sc, "client4", &r), 0);
	cr_assert_str_eq(sim_scenario_node_name(&sc, 3, name, sizeof(name)), "client3");
	a = sim_scenario_node_addr(&sc, 3);
	cr_assert_str_eq(ntp_addr_format(&a, addr, sizeof(addr)), "10.1.0.12");
	/* `server server` was resolved to the server node's address */
	cr_assert_str_eq(ntp_addr_format(&sc.nodes[1].conf->servers[0].addr, addr, sizeof(addr)),
	                 "10.1.0.1");
	cr_assert_float_eq(sc.nodes[1].clock.freq, 100e-6, 1e-18);
	sim_scenario_free(&sc);
}

Test(sim_yaml, unknown_field_names_line_and_suggests)
{
	sim_scenario sc;
	char err[512];

	cr_assert_neq(load_with("checks:\n  - check: synced\n    node: client1\n    withn: 10\n",
	                        &sc, err, sizeof(err)),
	              0);
	cr_assert(strstr(err, "t.yaml:18:5:") != NULL, "%s", err);
	cr_assert(strstr(err, "checks[0]") != NULL, "%s", err);
	cr_assert(strstr(err, "did you mean 'within'") != NULL, "%s", err);
}

Test(sim_yaml, bad_value_says_what_was_expected)
{
	sim_scenario sc;
	char err[512];
	const char *text = "duration: 1h\nnodes:\n  - name: a\n    clock:\n      freq: fast\n"
	                   "    conf: server 127.127.1.0\n";

	cr_assert_neq(load(text, &sc, err, sizeof(err)), 0);
	cr_assert(strstr(err, "t.yaml:5:13: nodes[0].clock.freq: expected a frequency") != NULL,
	          "%s", err);
	cr_assert(strstr(err, "'fast'") != NULL, "%s", err);
}

Test(sim_yaml, conf_error_points_at_the_scenario_line)
{
	sim_scenario sc;
	char err[512];
	const char *text = "duration: 1h\n"
	                   "nodes:\n"
	                   "  - name: a\n"
	                   "    conf: |\n"
	                   "      server 127.127.1.0\n"
	                   "      sever 10.0.0.1\n";

	cr_assert_neq(load(text, &sc, err, sizeof(err)), 0);
	/* conf line 2 is scenario line 6 */
	cr_assert(strstr(err, "t.yaml:6:") != NULL, "%s", err);
	cr_assert(strstr(err, "ntp.conf line 2") != NULL, "%s", err);
	cr_assert(strstr(err, "sever") != NULL, "%s", err);
}

Test(sim_yaml, server_names_resolve_only_to_nodes)
{
	sim_scenario sc;
	char err[512];
	const char *text = "duration: 1h\n"
	                   "nodes:\n"
	                   "  - name: a\n"
	                   "    conf: |\n"
	                   "      server 127.127.1.0\n"
	                   "      server pool.ntp.org\n";

	cr_assert_neq(load(text, &sc, err, sizeof(err)), 0);
	cr_assert(strstr(err, "t.yaml:6:") != NULL, "%s", err);
	cr_assert(strstr(err, "cannot resolve 'pool.ntp.org'") != NULL, "%s", err);
}

Test(sim_yaml, duplicate_names_and_addresses_are_errors)
{
	sim_scenario sc;
	char err[512];

	cr_assert_neq(
	        load_with("  - name: client2\n    conf: server server\n", &sc, err, sizeof(err)),
	        0);
	cr_assert(strstr(err, "already used") != NULL, "%s", err);
	cr_assert_neq(
	        load_with("  - name: other\n    address: 10.1.0.11\n    conf: server server\n", &sc,
	                  err, sizeof(err)),
	        0);
	cr_assert(strstr(err, "overlapping addresses") != NULL, "%s", err);
}

Test(sim_yaml, syntax_error_has_a_line)
{
	sim_scenario sc;
	char err[512];

	cr_assert_neq(load("duration: 1h\nnodes: [\n  - name: a\n", &sc, err, sizeof(err)), 0);
	cr_assert(strstr(err, "YAML syntax error") != NULL, "%s", err);
	cr_assert(strstr(err, "t.yaml:3:") != NULL, "%s", err);
}

Test(sim_yaml, missing_duration_and_nodes)
{
	sim_scenario sc;
	char err[512];

	cr_assert_neq(load("nodes: []\n", &sc, err, sizeof(err)), 0);
	cr_assert(strstr(err, "duration") != NULL, "%s", err);
	cr_assert_neq(load("duration: 5\n", &sc, err, sizeof(err)), 0);
	cr_assert(strstr(err, "nodes") != NULL, "%s", err);
	cr_assert_neq(load("", &sc, err, sizeof(err)), 0);
}

Test(sim_yaml, aliases_cannot_multiply_the_work)
{
	/* One anchored list of 1000 delays named by 5000 link events: 5 million
	 * values if walked each time; the loader must stop early. */
	size_t cap = 1 << 20, len;
	char *text = malloc(cap);
	sim_scenario sc;
	char err[512];

	cr_assert_not_null(text);
	len = (size_t)snprintf(text, cap,
	                       "%sevents:\n  - {at: 1, do: link, from: server, to: "
	                       "client1, trace: &t [",
	                       base_yaml);
	for (int i = 0; i < 1000; i++) {
		len += (size_t)snprintf(text + len, cap - len, "%s1ms", i ? "," : "");
	}
	len += (size_t)snprintf(text + len, cap - len, "]}\n");
	for (int i = 0; i < 5000; i++) {
		len += (size_t)snprintf(
		        text + len, cap - len,
		        "  - {at: 2, do: link, from: server, to: client1, trace: *t}\n");
	}
	cr_assert_lt(len, cap);
	cr_assert_neq(load(text, &sc, err, sizeof(err)), 0);
	cr_assert(strstr(err, "too large") != NULL, "%s", err);
	free(text);
}

Test(sim_yaml, events_checks_links_and_firewall)
{
	sim_scenario sc;
	char err[512];
	const char *extra =
	        "network:\n"
	        "  default: \"delay 1ms\"\n"
	        "  links:\n"
	        "    - {from: server, to: '*', netem: \"delay 5ms loss 10%\"}\n"
	        "firewall:\n"
	        "  - {name: block, dst: server, dport: 123, action: drop, enabled: false}\n"
	        "events:\n"
	        "  - {at: 10min, do: firewall-on, rule: block}\n"
	        "  - {at: 20min, do: step, node: client1, by: -1.5s}\n"
	        "  - {at: 30min, do: partition, groups: [[server], [client]]}\n"
	        "  - {at: 40min, do: heal}\n"
	        "checks:\n"
	        "  - {check: steps, node: client, min: 1, max: 2}\n"
	        "  - {check: event, node: client1, name: clock_step, count: 1}\n";

	cr_assert_eq(load_with(extra, &sc, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(sc.n_links, 1);
	cr_assert_float_eq(sc.links[0].p.delay, 5e-3, 1e-15);
	cr_assert_float_eq(sc.links[0].p.loss, 0.1, 1e-15);
	cr_assert(sc.links[0].to_any);
	cr_assert_eq(sc.n_fw, 1);
	cr_assert(!sc.fw[0].enabled);
	cr_assert_eq(sc.fw[0].dport, 123);
	cr_assert_eq(sc.n_events, 4);
	cr_assert_eq(sc.events[1].kind, SIM_EV_STEP);
	cr_assert_float_eq(sc.events[1].value, -1.5, 0.0);
	cr_assert_eq(sc.n_checks, 2);
	cr_assert_eq(sc.checks[0].nodes.count, 3);
	cr_assert_eq(sc.checks[1].event_code, NTP_EV_CLOCK_STEP);
	sim_scenario_free(&sc);
}

/* ------------------------------------------------------------------ */
/* sim_check                                                           */

static sim_check_spec
check_spec(int kind)
{
	sim_check_spec c;

	memset(&c, 0, sizeof(c));
	c.kind = kind;
	c.nodes.count = 1;
	c.bound = 1e-3;
	c.max_count = LLONG_MAX;
	return c;
}

static void
feed(const sim_check_spec *c, sim_check_acc *a, double t, double offset, bool peer)
{
	sim_sample s;

	memset(&s, 0, sizeof(s));
	s.t = t;
	s.offset = offset;
	s.has_peer = peer;
	s.claims_sync = peer;
	s.bound = 2e-3;
	sim_check_sample(c, a, &s);
}

static sim_scenario *
one_node_scenario(void)
{
	static sim_scenario sc;
	static sim_node_spec node;

	memset(&sc, 0, sizeof(sc));
	memset(&node, 0, sizeof(node));
	snprintf(node.name, sizeof(node.name), "n");
	node.count = 1;
	sc.nodes = &node;
	sc.n_nodes = 1;
	sc.total_nodes = 1;
	return &sc;
}

Test(sim_check, synced_is_the_start_of_the_last_good_run)
{
	sim_check_spec c = check_spec(SIM_CHECK_SYNCED);
	sim_check_acc a;
	char detail[256];
	double v;

	c.within = 100.0;
	sim_check_acc_init(&a);
	feed(&c, &a, 0, 0.5, false);
	feed(&c, &a, 50, 0.0005, true); /* good... */
	feed(&c, &a, 60, 0.002, true);  /* ...but not for good */
	feed(&c, &a, 80, 0.0002, true);
	feed(&c, &a, 200, -0.0003, true);
	cr_assert(sim_check_finish(&c, &a, one_node_scenario(), 200, detail, sizeof(detail), &v));
	cr_assert_float_eq(v, 80.0, 0.0);
	c.within = 70.0;
	cr_assert(!sim_check_finish(&c, &a, one_node_scenario(), 200, detail, sizeof(detail), &v));
	cr_assert(strstr(detail, "10.000 s too late") != NULL, "%s", detail);
	feed(&c, &a, 300, 0.0, false);
	cr_assert(!sim_check_finish(&c, &a, one_node_scenario(), 300, detail, sizeof(detail), &v));
	cr_assert(strstr(detail, "no system peer") != NULL, "%s", detail);
}

Test(sim_check, rms_integrates_the_piecewise_linear_offset)
{
	sim_check_spec c = check_spec(SIM_CHECK_RMS);
	sim_check_acc a;
	char detail[256];
	double v;

	/* offset ramps 0 -> 3 ms over [0, 30]; window [10, 20]: rms of 1..2 ms
	 * is sqrt((1 + 2 + 4) / 3) ms */
	c.from = 10.0;
	c.to = 20.0;
	c.max = 1e-3;
	sim_check_acc_init(&a);
	feed(&c, &a, 0.0, 0.0, true);
	feed(&c, &a, 30.0, 3e-3, true);
	cr_assert(!sim_check_finish(&c, &a, one_node_scenario(), 30, detail, sizeof(detail), &v));
	cr_assert_float_eq(v, sqrt(7.0 / 3.0) * 1e-3, 1e-12);
	cr_assert(strstr(detail, "over by") != NULL, "%s", detail);
	c.max = 2e-3;
	cr_assert(sim_check_finish(&c, &a, one_node_scenario(), 30, detail, sizeof(detail), &v));
}

Test(sim_check, offset_after_steps_events_and_bound)
{
	sim_check_spec off = check_spec(SIM_CHECK_OFFSET);
	sim_check_spec steps = check_spec(SIM_CHECK_STEPS);
	sim_check_spec ev = check_spec(SIM_CHECK_EVENT);
	sim_check_spec bound = check_spec(SIM_CHECK_BOUND);
	sim_check_acc a, b, e, d;
	char detail[256];
	double v;

	off.from = 100.0;
	off.max = 1e-3;
	sim_check_acc_init(&a);
	feed(&off, &a, 50, 0.5, true); /* before the window: ignored */
	feed(&off, &a, 150, -0.0004, true);
	feed(&off, &a, 250, 0.0009, true);
	cr_assert(sim_check_finish(&off, &a, one_node_scenario(), 300, detail, sizeof(detail), &v));
	cr_assert_float_eq(v, 0.0009, 0.0);

	steps.min = steps.max_count = 1;
	sim_check_acc_init(&b);
	sim_check_step(&steps, &b, 10, -0.5);
	cr_assert(
	        sim_check_finish(&steps, &b, one_node_scenario(), 300, detail, sizeof(detail), &v));
	sim_check_step(&steps, &b, 20, 0.2);
	cr_assert(!sim_check_finish(&steps, &b, one_node_scenario(), 300, detail, sizeof(detail),
	                            &v));
	cr_assert(strstr(detail, "1 too many") != NULL, "%s", detail);

	ev.event_code = NTP_EV_NO_SYS_PEER;
	snprintf(ev.text, sizeof(ev.text), "FALSETICKER");
	ev.min = 1;
	sim_check_acc_init(&e);
	sim_check_log(&ev, &e, 5, "no_sys_peer", "no majority: falseticker x");
	sim_check_log(&ev, &e, 6, "sys_peer", "falseticker");
	sim_check_log(&ev, &e, 7, "no_sys_peer", "unreachable");
	cr_assert(sim_check_finish(&ev, &e, one_node_scenario(), 300, detail, sizeof(detail), &v));
	cr_assert_float_eq(v, 1.0, 0.0);

	/* held while |offset| <= 2 ms: [0, 10) yes, [10, 40) no -> 25% */
	bound.min_fraction = 0.5;
	sim_check_acc_init(&d);
	feed(&bound, &d, 0, 0.001, true);
	feed(&bound, &d, 10, 0.003, true);
	feed(&bound, &d, 40, 0.003, true);
	cr_assert(
	        !sim_check_finish(&bound, &d, one_node_scenario(), 40, detail, sizeof(detail), &v));
	cr_assert_float_eq(v, 0.25, 1e-12);
}

Test(sim_check, rejected_source_and_query_result)
{
	sim_check_spec rej = check_spec(SIM_CHECK_REJECTED);
	sim_check_spec q = check_spec(SIM_CHECK_QUERY);
	sim_check_acc a, b;
	ntp_peer_info peers[2];
	char detail[256];
	double v;

	memset(peers, 0, sizeof(peers));
	ntp_addr_parse("10.0.0.1", &peers[0].addr);
	ntp_addr_parse("10.0.0.2", &peers[1].addr);
	peers[0].tally = '*';
	peers[1].tally = 'x';
	snprintf(peers[1].reason, sizeof(peers[1].reason), "falseticker: outside intersection");
	ntp_addr_parse("10.0.0.2", &rej.source);
	snprintf(rej.text, sizeof(rej.text), "falseticker");
	sim_check_acc_init(&a);
	sim_check_peers(&rej, &a, 12.5, peers, 1);
	cr_assert(!sim_check_finish(&rej, &a, one_node_scenario(), 20, detail, sizeof(detail), &v));
	sim_check_peers(&rej, &a, 13.0, peers, 2);
	cr_assert(sim_check_finish(&rej, &a, one_node_scenario(), 20, detail, sizeof(detail), &v));
	cr_assert_float_eq(v, 13.0, 0.0);

	snprintf(q.text, sizeof(q.text), "no server suitable");
	sim_check_acc_init(&b);
	sim_check_set_result(&q, &b, "no server suitable for synchronization found");
	cr_assert(sim_check_finish(&q, &b, one_node_scenario(), 20, detail, sizeof(detail), &v));
	sim_check_set_result(&q, &b, NULL);
	cr_assert(!sim_check_finish(&q, &b, one_node_scenario(), 20, detail, sizeof(detail), &v));
}

/* A state of node n's host at t with one association (10.0.0.1). */
static sim_state
state_at(double t, uint8_t stratum, int8_t poll, ntp_peer_info *peer)
{
	sim_state s;

	memset(&s, 0, sizeof(s));
	s.t = t;
	s.running = true;
	s.has_peer = peer->tally == '*';
	s.stratum = stratum;
	s.leap = 0;
	s.poll = poll;
	snprintf(s.refid, sizeof(s.refid), "10.0.0.1");
	s.peers = peer;
	s.n_peers = 1;
	return s;
}

static ntp_peer_info
peer_row(char tally, const char *refid, uint8_t reach)
{
	ntp_peer_info p;

	memset(&p, 0, sizeof(p));
	ntp_addr_parse("10.0.0.1", &p.addr);
	p.tally = tally;
	p.type = 'u';
	p.stratum = 2;
	p.poll = 6;
	p.reach = reach;
	p.when = -1.0;
	snprintf(p.refid, sizeof(p.refid), "%s", refid);
	snprintf(p.reason, sizeof(p.reason), "%s",
	         tally == '*' ? "system peer" : "TEST13 unreachable");
	return p;
}

Test(sim_check, state_at_a_time_over_a_window_and_never)
{
	sim_check_spec at = check_spec(SIM_CHECK_STATE), over, never;
	sim_check_acc a, b, c;
	ntp_peer_info up = peer_row('*', ".GPS.", 0377), down = peer_row(' ', ".INIT.", 0);
	sim_state s;
	char detail[320];
	double v;

	/* node: stratum 2 at 100 s (the state from 50 s on; at 150 s it changes) */
	at.when = SIM_WHEN_AT;
	at.from = 100.0;
	at.conds[0] = (sim_state_cond){.field = SIM_SF_STRATUM, .lo = 2, .hi = 2};
	at.n_conds = 1;
	over = at;
	over.when = SIM_WHEN_OVER;
	over.from = 60.0;
	over.to = 0.0; /* the end */
	over.conds[0] = (sim_state_cond){.field = SIM_SF_POLL, .lo = 6, .hi = 10};
	sim_check_acc_init(&a);
	sim_check_acc_init(&b);
	s = state_at(50, 2, 6, &up);
	sim_check_state(&at, &a, &s);
	sim_check_state(&over, &b, &s);
	s = state_at(150, 3, 11, &up);
	sim_check_state(&at, &a, &s);
	sim_check_state(&over, &b, &s);
	cr_assert(sim_check_finish(&at, &a, one_node_scenario(), 300, detail, sizeof(detail), &v),
	          "%s", detail);
	cr_assert(
	        !sim_check_finish(&over, &b, one_node_scenario(), 300, detail, sizeof(detail), &v));
	cr_assert(strstr(detail, "at 150.000 s: poll 11 (want [6, 10], 1 over)") != NULL, "%s",
	          detail);
	/* at 200 s the state from 150 s is in effect */
	at.from = 200.0;
	sim_check_acc_init(&a);
	s = state_at(50, 2, 6, &up);
	sim_check_state(&at, &a, &s);
	s = state_at(150, 3, 11, &up);
	sim_check_state(&at, &a, &s);
	cr_assert(!sim_check_finish(&at, &a, one_node_scenario(), 300, detail, sizeof(detail), &v));
	cr_assert(strstr(detail, "stratum 3 (want 2, 1 over)") != NULL, "%s", detail);

	/* association: never reach 0 with refid .INIT. (the ntpq row of a dead server) */
	never = check_spec(SIM_CHECK_STATE);
	never.have_source = true;
	ntp_addr_parse("10.0.0.1", &never.source);
	never.when = SIM_WHEN_NEVER;
	never.conds[0] = (sim_state_cond){.field = SIM_SF_REACH, .lo = 0, .hi = 0};
	snprintf(never.conds[1].text, sizeof(never.conds[1].text), ".INIT.");
	never.conds[1].field = SIM_SF_REFID;
	never.n_conds = 2;
	sim_check_acc_init(&c);
	s = state_at(10, 2, 6, &up);
	sim_check_state(&never, &c, &s);
	cr_assert(
	        sim_check_finish(&never, &c, one_node_scenario(), 300, detail, sizeof(detail), &v));
	s = state_at(20, 16, 6, &down);
	sim_check_state(&never, &c, &s);
	cr_assert(!sim_check_finish(&never, &c, one_node_scenario(), 300, detail, sizeof(detail),
	                            &v));
	cr_assert(strstr(detail, "matched at 20.000 s: reach 0, refid '.INIT.'") != NULL, "%s",
	          detail);
}

Test(sim_check, selected_never_and_an_absent_association)
{
	sim_check_spec sel = check_spec(SIM_CHECK_SELECTED), gone = check_spec(SIM_CHECK_STATE);
	sim_check_acc a, b;
	ntp_peer_info up = peer_row('*', ".GPS.", 0377), other = peer_row('+', ".GPS.", 0377);
	sim_state s;
	char detail[320];
	double v;

	sel.have_source = true;
	ntp_addr_parse("10.0.0.1", &sel.source);
	sel.when = SIM_WHEN_NEVER;
	sim_check_acc_init(&a);
	s = state_at(10, 3, 6, &other);
	sim_check_state(&sel, &a, &s);
	cr_assert(sim_check_finish(&sel, &a, one_node_scenario(), 100, detail, sizeof(detail), &v));
	s = state_at(40, 3, 6, &up);
	sim_check_state(&sel, &a, &s);
	cr_assert(
	        !sim_check_finish(&sel, &a, one_node_scenario(), 100, detail, sizeof(detail), &v));
	cr_assert(strstr(detail, "the system peer at 40.000 s") != NULL, "%s", detail);

	/* present: false holds only while the association is not listed */
	gone.have_source = true;
	ntp_addr_parse("10.0.0.9", &gone.source);
	snprintf(gone.source_name, sizeof(gone.source_name), "peerb");
	gone.when = SIM_WHEN_AT;
	gone.from = INFINITY;
	gone.conds[0] = (sim_state_cond){.field = SIM_SF_PRESENT, .lo = 0, .hi = 0};
	gone.n_conds = 1;
	sim_check_acc_init(&b);
	sim_check_state(&gone, &b, &s);
	cr_assert(
	        sim_check_finish(&gone, &b, one_node_scenario(), 100, detail, sizeof(detail), &v));
	ntp_addr_parse("10.0.0.9", &up.addr);
	sim_check_state(&gone, &b, &s);
	cr_assert(
	        !sim_check_finish(&gone, &b, one_node_scenario(), 100, detail, sizeof(detail), &v));
}

Test(sim_check, synced_never_and_not_within)
{
	sim_check_spec never = check_spec(SIM_CHECK_SYNCED), late = check_spec(SIM_CHECK_SYNCED);
	sim_check_acc a, b;
	char detail[320];
	double v;

	never.when = SIM_WHEN_NEVER;
	never.to = 100.0;
	late.within = 100.0;
	late.not_within = true;
	sim_check_acc_init(&a);
	sim_check_acc_init(&b);
	feed(&never, &a, 10, 0.01, true); /* a peer, but 10 ms off */
	feed(&late, &b, 10, 0.01, true);
	feed(&never, &a, 50, 0.0001, false); /* close, no peer */
	feed(&late, &b, 50, 0.0001, false);
	cr_assert(
	        sim_check_finish(&never, &a, one_node_scenario(), 300, detail, sizeof(detail), &v));
	feed(&never, &a, 80, 0.0001, true);
	feed(&late, &b, 80, 0.0001, true);
	cr_assert(!sim_check_finish(&never, &a, one_node_scenario(), 300, detail, sizeof(detail),
	                            &v));
	cr_assert(strstr(detail, "synced at 80.000 s") != NULL, "%s", detail);
	cr_assert(
	        !sim_check_finish(&late, &b, one_node_scenario(), 300, detail, sizeof(detail), &v));
	cr_assert(strstr(detail, "20.000 s too early") != NULL, "%s", detail);
	feed(&late, &b, 150, 0.01, true); /* lost again: its sync time is later */
	feed(&late, &b, 200, 0.0001, true);
	cr_assert(sim_check_finish(&late, &b, one_node_scenario(), 300, detail, sizeof(detail), &v),
	          "%s", detail);
}

Test(sim_check, log_lines_first_last_and_since)
{
	sim_check_spec lg = check_spec(SIM_CHECK_LOG);
	sim_check_acc a[2];
	char detail[320];
	double v;

	snprintf(lg.text, sizeof(lg.text), "no selectable");
	lg.min = 2;
	lg.max_count = 3;
	lg.have_first = true;
	lg.first_lo = 450;
	lg.first_hi = 1200;
	lg.since = 3000;
	sim_check_acc_init(&a[0]);
	sim_check_log(&lg, &a[0], 3400, "no_sys_peer", "no selectable sources");
	sim_check_log(&lg, &a[0], 3500, "daemon", "started");
	cr_assert(!sim_check_finish(&lg, a, one_node_scenario(), 9000, detail, sizeof(detail), &v));
	cr_assert(strstr(detail, "1 too few") != NULL, "%s", detail);
	cr_assert(strstr(detail, "50.000 s too early") != NULL, "%s", detail);
	sim_check_log(&lg, &a[0], 3600, "query", "No selectable server");
	lg.first_lo = 400;
	cr_assert(sim_check_finish(&lg, a, one_node_scenario(), 9000, detail, sizeof(detail), &v),
	          "%s", detail);

	/* last, relative to another node's first sys_peer (accs[1]) */
	lg.have_first = false;
	lg.have_last = true;
	lg.last_lo = -70;
	lg.last_hi = 70;
	lg.since_line = true;
	snprintf(lg.since_match.what, sizeof(lg.since_match.what), "sys_peer");
	lg.other.count = 1;
	sim_check_acc_init(&a[1]);
	cr_assert(!sim_check_finish(&lg, a, one_node_scenario(), 9000, detail, sizeof(detail), &v));
	cr_assert(strstr(detail, "no reference") != NULL, "%s", detail);
	sim_check_log(&lg, &a[1], 3500, "sys_peer", "10.0.0.1: sys_peer");
	cr_assert(!sim_check_finish(&lg, a, one_node_scenario(), 9000, detail, sizeof(detail), &v));
	cr_assert(strstr(detail, "30.000 s too late") != NULL, "%s", detail);
}

Test(sim_check, interval_between_packets)
{
	sim_check_spec iv = check_spec(SIM_CHECK_INTERVAL);
	sim_check_acc a;
	ntp_addr to, elsewhere;
	char detail[320];
	double v;

	iv.dir = SIM_PKT_SENT;
	iv.have_source = true;
	ntp_addr_parse("10.0.0.1", &iv.source);
	ntp_addr_parse("10.0.0.1", &to);
	ntp_addr_parse("10.0.0.2", &elsewhere);
	iv.ivl_min_lo = 1.8;
	iv.ivl_min_hi = INFINITY;
	iv.ivl_mean_lo = 0.1;
	iv.ivl_mean_hi = INFINITY;
	sim_check_acc_init(&a);
	sim_check_packet(&iv, &a, 10.0, SIM_PKT_SENT, &to);
	cr_assert(!sim_check_finish(&iv, &a, one_node_scenario(), 100, detail, sizeof(detail), &v));
	sim_check_packet(&iv, &a, 11.0, SIM_PKT_SENT, &elsewhere); /* another peer */
	sim_check_packet(&iv, &a, 11.0, SIM_PKT_RECEIVED, &to);    /* the other way */
	sim_check_packet(&iv, &a, 12.0, SIM_PKT_SENT, &to);
	sim_check_packet(&iv, &a, 22.0, SIM_PKT_SENT, &to);
	cr_assert(sim_check_finish(&iv, &a, one_node_scenario(), 100, detail, sizeof(detail), &v),
	          "%s", detail);
	cr_assert_float_eq(v, 2.0, 1e-12);
	sim_check_packet(&iv, &a, 23.5, SIM_PKT_SENT, &to);
	cr_assert(!sim_check_finish(&iv, &a, one_node_scenario(), 100, detail, sizeof(detail), &v));
	cr_assert(strstr(detail, "shortest too short by 300") != NULL, "%s", detail);
}

Test(sim_check, freq_rms_steps_by_and_comparison)
{
	sim_check_spec fr = check_spec(SIM_CHECK_FREQ), st = check_spec(SIM_CHECK_STEPS);
	sim_check_spec pk = check_spec(SIM_CHECK_PACKETS);
	sim_check_acc a, b, p[2];
	sim_sample s;
	char detail[320];
	double v;

	/* a constant 0.3 ppm over [100, 200]: rms 0.3 ppm, over 0.2 ppm by 0.1 */
	fr.rms = true;
	fr.from = 100;
	fr.to = 200;
	fr.max = 0.2e-6;
	sim_check_acc_init(&a);
	memset(&s, 0, sizeof(s));
	for (int t = 0; t <= 300; t += 50) {
		s.t = t;
		s.freq_err = t < 100 || t > 200 ? 5e-6 : 0.3e-6;
		sim_check_sample(&fr, &a, &s);
	}
	/* the 5 ppm before `from` and after `to` do not count */
	cr_assert(!sim_check_finish(&fr, &a, one_node_scenario(), 300, detail, sizeof(detail), &v));
	cr_assert_float_eq(v, 0.3e-6, 1e-15);
	cr_assert(strstr(detail, "over by 0.1000 ppm") != NULL, "%s", detail);

	st.have_by = true;
	st.by_lo = 3599.999;
	st.by_hi = 3600.001;
	st.min = st.max_count = 1;
	sim_check_acc_init(&b);
	sim_check_step(&st, &b, 10, -3600.0);
	cr_assert(!sim_check_finish(&st, &b, one_node_scenario(), 300, detail, sizeof(detail), &v));
	sim_check_step(&st, &b, 20, 3600.0002);
	cr_assert(sim_check_finish(&st, &b, one_node_scenario(), 300, detail, sizeof(detail), &v));

	/* 95 packets against 1.3 x 62 = 80.6, then against 1.3 x 80 = 104 */
	pk.cmp = SIM_CMP_MORE;
	pk.factor = 1.3;
	pk.other.count = 1;
	sim_check_acc_init(&p[0]);
	sim_check_acc_init(&p[1]);
	sim_check_set_count(&p[0], 95);
	sim_check_set_count(&p[1], 62);
	cr_assert(sim_check_finish(&pk, p, one_node_scenario(), 300, detail, sizeof(detail), &v));
	sim_check_set_count(&p[1], 80);
	cr_assert(!sim_check_finish(&pk, p, one_node_scenario(), 300, detail, sizeof(detail), &v));
	cr_assert(strstr(detail, "short by 9") != NULL, "%s", detail);
}

/* ------------------------------------------------------------------ */
/* sim_pcap                                                            */

static uint32_t
ones_sum(const uint8_t *p, size_t len, uint32_t acc)
{
	for (size_t i = 0; i + 1 < len; i += 2) {
		acc += ((uint32_t)p[i] << 8) | p[i + 1];
	}
	if (len % 2) {
		acc += (uint32_t)p[len - 1] << 8;
	}
	while (acc >> 16) {
		acc = (acc & 0xffff) + (acc >> 16);
	}
	return acc;
}

Test(sim_pcap, ipv4_udp_checksums_verify)
{
	ntp_addr src, dst;
	uint8_t payload[48], dgram[200];
	size_t n;
	uint32_t acc;

	for (int i = 0; i < 48; i++) {
		payload[i] = (uint8_t)(i * 7 + 1);
	}
	ntp_addr_parse("192.168.163.132", &src);
	ntp_addr_parse("192.168.163.131", &dst);
	src.port = 123;
	dst.port = 123;
	n = sim_pcap_datagram(dgram, sizeof(dgram), 77, &src, &dst, payload, sizeof(payload));
	cr_assert_eq(n, 20 + 8 + 48);
	cr_assert_eq(ones_sum(dgram, 20, 0), 0xffff, "IPv4 header checksum");
	/* UDP: pseudo-header + segment sums to 0xffff */
	acc = ones_sum(dgram + 12, 8, 0) + 17 + 56;
	cr_assert_eq(ones_sum(dgram + 20, 56, acc), 0xffff, "UDP checksum");
	cr_assert_eq(memcmp(dgram + 28, payload, 48), 0);
	ntp_addr_parse("fe80::1", &dst);
	cr_assert_eq(sim_pcap_datagram(dgram, sizeof(dgram), 1, &src, &dst, payload, 48), 0);
}

/* ------------------------------------------------------------------ */
/* sim_query                                                           */

/* A server's reply to request req, the server's clock `offset` s ahead. */
static size_t
fake_reply(const uint8_t *req, size_t len, ntp_time t_server_rx, uint8_t stratum, uint8_t *out)
{
	ntp_pkt q, r;
	size_t n = 0;

	cr_assert_eq(ntp_pkt_decode(req, len, &q, NULL), NTP_PKT_OK);
	memset(&r, 0, sizeof(r));
	r.version = 4;
	r.mode = NTP_MODE_SERVER;
	r.stratum = stratum;
	r.org = q.xmt;
	r.rec = ntp_ts_from_unix_ns(t_server_rx);
	r.xmt = ntp_ts_from_unix_ns(t_server_rx + 10000);
	r.reftime = ntp_ts_from_unix_ns(t_server_rx - S(30));
	cr_assert_eq(ntp_pkt_encode(&r, out, 128, &n), NTP_PKT_OK);
	return n;
}

Test(sim_query, offset_of_the_best_reply_and_ntpdate_verdict)
{
	sim_query_spec spec;
	sim_query q;
	uint8_t req[128], rep[128];
	ntp_time client = T0 + S(28) + 200000000; /* client 28.2 s ahead */
	size_t n;

	memset(&spec, 0, sizeof(spec));
	memset(&q, 0, sizeof(q));
	spec.n_servers = 1;
	ntp_addr_parse("192.168.163.131", &spec.servers[0]);
	spec.samples = 1;
	sim_query_begin(&q, &spec, 50000);
	n = sim_query_request(&q, 0, client, req, sizeof(req));
	cr_assert_eq(n, 48);
	/* 100 us each way, server on true time */
	n = fake_reply(req, n, T0 + 100000, 6, rep);
	sim_query_reply(&q, &spec.servers[0], rep, n, client + 210000);
	sim_query_finish(&q);
	cr_assert(q.ok);
	cr_assert_float_eq(q.offset, -28.2, 1e-6);
	cr_assert(strstr(q.result, "step time server 192.168.163.131 offset -28.2") != NULL, "%s",
	          q.result);
}

Test(sim_query, no_reply_or_stratum_16_means_no_server)
{
	sim_query_spec spec;
	sim_query q;
	uint8_t req[128], rep[128];
	size_t n;

	memset(&spec, 0, sizeof(spec));
	memset(&q, 0, sizeof(q));
	spec.n_servers = 1;
	ntp_addr_parse("10.0.0.1", &spec.servers[0]);
	spec.samples = 2;
	sim_query_begin(&q, &spec, 50000);
	sim_query_request(&q, 0, T0, req, sizeof(req));
	sim_query_finish(&q);
	cr_assert(!q.ok);
	cr_assert_str_eq(q.result, "no server suitable for synchronization found");
	cr_assert(strstr(q.lines, "no reply") != NULL, "%s", q.lines);

	sim_query_begin(&q, &spec, 50000);
	n = sim_query_request(&q, 0, T0, req, sizeof(req));
	n = fake_reply(req, n, T0, 16, rep);
	sim_query_reply(&q, &spec.servers[0], rep, n, T0 + 1000);
	sim_query_finish(&q);
	cr_assert(!q.ok);
	/* the core's reason (ntp_query), no longer ntpdate's "stratum 16 too high" */
	cr_assert(strstr(q.lines, "server unsynchronised (LI=0, stratum 16") != NULL, "%s",
	          q.lines);
	cr_assert_eq(q.runs, 2);
}

/* ------------------------------------------------------------------ */
/* sim_engine: small end-to-end runs                                   */

static const char engine_yaml[] =
        "name: engine\n"
        "duration: 2h\n"
        "network:\n"
        "  default: \"delay 200us 20us distribution normal\"\n"
        "nodes:\n"
        "  - name: srv\n"
        "    address: 192.168.163.131\n"
        "    conf: |\n"
        "      server 127.127.1.0\n"
        "      fudge 127.127.1.0 stratum 5\n"
        "  - name: cli\n"
        "    address: 192.168.163.132\n"
        "    big_first_step: true\n"
        "    clock: {offset: 28.2s, freq: 10ppm, wander: 1e-9}\n"
        "    conf: |\n"
        "      server srv\n"
        "  - name: q\n"
        "    kind: query\n"
        "    servers: [srv]\n"
        "    at: 5s\n"
        "firewall:\n"
        "  - {name: ntp, src: q, dst: srv, dport: 123, action: drop, enabled: false}\n"
        "events:\n"
        "  - {at: 1h, do: firewall-on, rule: ntp}\n"
        "  - {at: 1h, do: query, node: q, servers: [srv]}\n"
        "checks:\n"
        "  - {check: steps, node: cli, count: 1}\n"
        "  - {check: offset, node: cli, after: 50min, max: 1ms}\n"
        "  - {check: query, node: q, result: no server suitable}\n";

static int
run_text(const char *text, const char *out_dir, sim_summary *sum, char *err, size_t size)
{
	sim_scenario sc;
	sim_opts o;
	int rc;

	cr_assert_eq(load(text, &sc, err, size), 0, "%s", err);
	memset(&o, 0, sizeof(o));
	o.out_dir = out_dir;
	rc = sim_run(&sc, &o, sum, err, size);
	sim_scenario_free(&sc);
	return rc;
}

Test(sim_engine, seed_incident_steps_once_and_firewall_blocks_queries)
{
	sim_summary sum;
	char err[512];

	cr_assert_eq(run_text(engine_yaml, NULL, &sum, err, sizeof(err)), SIM_PASS, "%s", err);
	cr_assert_eq(sum.checks, 3);
	cr_assert_eq(sum.failed, 0);
	cr_assert_gt(sum.events, 100);
}

Test(sim_engine, a_failing_check_fails_the_run)
{
	sim_summary sum;
	char err[512], text[4096];

	snprintf(text, sizeof(text), "%s  - {check: steps, node: cli, count: 0}\n", engine_yaml);
	cr_assert_eq(run_text(text, NULL, &sum, err, sizeof(err)), SIM_FAIL, "%s", err);
	cr_assert_eq(sum.failed, 1);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long size;

	cr_assert_not_null(f, "%s", path);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)size + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	*len = (size_t)size;
	return buf;
}

Test(sim_engine, same_seed_same_bytes)
{
	char dir_a[] = "/tmp/ntpsim_test_aXXXXXX", dir_b[] = "/tmp/ntpsim_test_bXXXXXX";
	static const char *const files[] = {"report.txt",      "report.json",   "events.log",
	                                    "cli.trace.csv",   "srv.trace.csv", "cli.sources.csv",
	                                    "srv.sources.csv", "q.trace.csv"};
	sim_summary sum;
	char err[512], pa[128], pb[128];

	cr_assert_not_null(mkdtemp(dir_a));
	cr_assert_not_null(mkdtemp(dir_b));
	cr_assert_eq(run_text(engine_yaml, dir_a, &sum, err, sizeof(err)), SIM_PASS, "%s", err);
	cr_assert_eq(run_text(engine_yaml, dir_b, &sum, err, sizeof(err)), SIM_PASS, "%s", err);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t la, lb;
		char *a, *b;

		snprintf(pa, sizeof(pa), "%s/%s", dir_a, files[i]);
		snprintf(pb, sizeof(pb), "%s/%s", dir_b, files[i]);
		a = slurp(pa, &la);
		b = slurp(pb, &lb);
		cr_assert_gt(la, 0, "%s is empty", files[i]);
		cr_assert(la == lb && memcmp(a, b, la) == 0, "%s differs between runs", files[i]);
		free(a);
		free(b);
		unlink(pa);
		unlink(pb);
	}
	rmdir(dir_a);
	rmdir(dir_b);
}
