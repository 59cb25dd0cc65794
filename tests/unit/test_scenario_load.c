/* SPDX-License-Identifier: BSD-2-Clause */
/* sim/sim_scenario*.c: the traps of issue 10 section 3, where a scenario
 * used to load with a wrong meaning or with only its first mistake named:
 * bounded input, every error reported. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim_scenario.h"

#define ERR_SIZE 8192 /* B, as ntpsim's ERR_MAX */

static int
load(const char *text, sim_scenario *sc, char *err)
{
	return sim_scenario_load_buffer(sc, "t.yaml", text, strlen(text), err, ERR_SIZE);
}

static size_t
count_lines(const char *s)
{
	size_t n = s[0] != '\0';

	for (; *s != '\0'; s++) {
		n += *s == '\n';
	}
	return n;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------ */
/* bounded input                                                       */

/* prefix + `count` copies of `unit`, in memory. */
static char *
repeated(const char *prefix, const char *unit, size_t count)
{
	size_t lp = strlen(prefix), lu = strlen(unit);
	char *text = malloc(lp + lu * count + 1);

	cr_assert_not_null(text);
	memcpy(text, prefix, lp);
	for (size_t i = 0; i < count; i++) {
		memcpy(text + lp + i * lu, unit, lu);
	}
	text[lp + lu * count] = '\0';
	return text;
}

/* 200,000 nested collections: libyaml's scanner took ~50 s for 100,000
 * and did not finish 200,000.  The load must stop at depth 64 with a
 * position; the time is printed, not asserted. */
static void
expect_too_deep(const char *prefix, const char *unit, const char *where)
{
	char *text = repeated(prefix, unit, 200000);
	char *err = malloc(ERR_SIZE);
	sim_scenario sc;
	double t0 = now_s(), dt;

	cr_assert_not_null(err);
	cr_assert_neq(load(text, &sc, err), 0);
	dt = now_s() - t0;
	cr_log_info("200000 x '%s': refused in %.6f s: %s", unit, dt, err);
	cr_assert(strstr(err, where) != NULL, "%s", err);
	cr_assert(strstr(err, "nested more than 64 deep") != NULL, "%s", err);
	free(err);
	free(text);
}

Test(scen_bounds, deep_flow_lists_are_refused_while_parsing)
{
	expect_too_deep("duration: 1h\nnodes: ", "[", "t.yaml:2:71:");
}

Test(scen_bounds, deep_flow_lists_on_many_lines_are_refused)
{
	expect_too_deep("duration: 1h\nnodes: [\n", "[\n", "t.yaml:65:1:");
}

Test(scen_bounds, deep_flow_mappings_are_refused)
{
	expect_too_deep("duration: 1h\nnodes: ", "{a: ", "t.yaml:2:");
}

Test(scen_bounds, nesting_the_format_needs_loads)
{
	sim_scenario sc;
	char err[ERR_SIZE];
	const char *text = "duration: 1h\n"
	                   "nodes:\n"
	                   "  - name: a\n"
	                   "    clock: {steps: [{at: 1, by: 1}]}\n"
	                   "    conf: server 127.127.1.0\n"
	                   "events:\n"
	                   "  - {at: 1, do: partition, groups: [[a]]}\n";

	cr_assert_eq(load(text, &sc, err), 0, "%s", err);
	sim_scenario_free(&sc);
}

Test(scen_bounds, a_file_over_4_mib_is_refused)
{
	size_t len = (4u << 20) + 1;
	char *text = malloc(len);
	char err[ERR_SIZE];
	sim_scenario sc;

	cr_assert_not_null(text);
	memset(text, '#', len); /* one long comment: valid YAML, and cheap */
	cr_assert_neq(sim_scenario_load_buffer(&sc, "t.yaml", text, len, err, sizeof(err)), 0);
	cr_assert(strstr(err, "t.yaml:1:1: file larger than 4194304 bytes") != NULL, "%s", err);
	free(text);
}

Test(scen_bounds, a_file_over_4_mib_is_refused_when_read)
{
	char path[] = "/tmp/ntplab-big-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	char err[ERR_SIZE];
	sim_scenario sc;

	cr_assert_not_null(f);
	for (size_t i = 0; i < (5u << 20) / 64; i++) {
		fputs("# 64 bytes of comment, 5 MiB of them ..........................\n", f);
	}
	fclose(f);
	cr_assert_neq(sim_scenario_load_file(&sc, path, err, sizeof(err)), 0);
	remove(path);
	cr_assert(strstr(err, ":1:1: file larger than 4194304 bytes") != NULL, "%s", err);
}

/* ------------------------------------------------------------------ */
/* every error, in file order                                          */

static const char many_errors[] = "name: many\n"                                     /* 1 */
                                  "duration: 1h\n"                                   /* 2 */
                                  "nodes:\n"                                         /* 3 */
                                  "  - name: server\n"                               /* 4 */
                                  "    clock: {ofset: 1s, freq: 10 ppx}\n"           /* 5 */
                                  "    conf: |\n"                                    /* 6 */
                                  "      server 127.127.1.0\n"                       /* 7 */
                                  "      sever 10.0.0.9\n"                           /* 8 */
                                  "  - name: client\n"                               /* 9 */
                                  "    drift_ppm: lots\n"                            /* 10 */
                                  "    conf: |\n"                                    /* 11 */
                                  "      server servr iburst\n"                      /* 12 */
                                  "network:\n"                                       /* 13 */
                                  "  links:\n"                                       /* 14 */
                                  "    - {from: server, to: clinet, delay: 1ms}\n"   /* 15 */
                                  "    - {from: server, to: client, loss: 5}\n"      /* 16 */
                                  "firewall:\n"                                      /* 17 */
                                  "  - {name: r1, dst: server, action: dorp}\n"      /* 18 */
                                  "events:\n"                                        /* 19 */
                                  "  - {at: 10min, do: firewall-on, rule: r1}\n"     /* 20 */
                                  "  - {at: 10min, do: stpe, node: client}\n"        /* 21 */
                                  "checks:\n"                                        /* 22 */
                                  "  - {check: synced, node: client, within: 1 y}\n" /* 23 */
                                  "  - {check: offset, node: clinet, after: 1h, max: 1ms}\n";

Test(scen_errors, every_error_is_named_in_file_order)
{
	static const char *const want[] = {
	        "t.yaml:5:13: nodes[0].clock: unknown field 'ofset'",
	        "t.yaml:5:30: nodes[0].clock.freq: expected a frequency",
	        "t.yaml:8:7: nodes[0].conf (node server, ntp.conf line 2): unknown directive",
	        "t.yaml:10:16: nodes[1].drift_ppm: expected a number",
	        "t.yaml:12:7: nodes[1].conf (node client, ntp.conf line 1): cannot resolve "
	        "'servr'",
	        "t.yaml:15:26: network.links[0].to: no node named 'clinet'",
	        "t.yaml:16:40: network.links[1].loss: expected a probability",
	        "t.yaml:18:37: firewall[0].action: expected drop, reject or accept",
	        "t.yaml:21:21: events[1].do: unknown field 'stpe'",
	        "t.yaml:23:43: checks[0].within: expected a time",
	        "t.yaml:24:27: checks[1].node: no node named 'clinet'",
	};
	sim_scenario sc;
	char err[ERR_SIZE];
	const char *at = err;

	cr_assert_neq(load(many_errors, &sc, err), 0);
	cr_assert_eq(count_lines(err), sizeof(want) / sizeof(want[0]), "%s", err);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const char *hit = strstr(at, want[i]);

		cr_assert_not_null(hit, "missing or out of order: %s\nin:\n%s", want[i], err);
		at = hit;
	}
}

Test(scen_errors, after_20_errors_the_rest_are_counted)
{
	char text[8192];
	size_t len = (size_t)snprintf(text, sizeof(text), "duration: 1h\nnodes:\n");
	sim_scenario sc;
	char err[ERR_SIZE];

	for (int i = 0; i < 30; i++) {
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		                        "  - {name: n%d, precision: x, conf: server 127.127.1.0}\n",
		                        i);
	}
	cr_assert_neq(load(text, &sc, err), 0);
	cr_assert_eq(count_lines(err), 21, "%s", err);
	cr_assert(strstr(err, "t.yaml:3:") != NULL, "%s", err);
	cr_assert(strstr(err, "t.yaml:22:") != NULL, "%s", err);
	cr_assert(strstr(err, "t.yaml:23:") == NULL, "%s", err);
	cr_assert(strstr(err, "t.yaml: 10 more errors (only the first 20 are shown)") != NULL, "%s",
	          err);
}

Test(scen_errors, a_small_buffer_keeps_whole_lines)
{
	sim_scenario sc;
	char err[128];

	cr_assert_neq(sim_scenario_load_buffer(&sc, "t.yaml", many_errors, strlen(many_errors), err,
	                                       sizeof(err)),
	              0);
	/* the first error found, whole; no cut "N more errors" line */
	cr_assert_str_eq(err, "t.yaml:8:7: nodes[0].conf (node server, ntp.conf line 2): unknown "
	                      "directive 'sever' (did you mean 'server'?)");
}

/* Found by fuzz_scenario: a quoted line break in a name split one error
 * into two lines, and sorting put the second, with no position, first. */
Test(scen_errors, one_error_is_one_line)
{
	sim_scenario sc;
	char err[ERR_SIZE];
	const char *text = "duration: 1h\n"
	                   "nodes:\n"
	                   "  - name: \"a\\nb\"\n"
	                   "  - {name: c, conf: server d}\n";

	cr_assert_neq(load(text, &sc, err), 0);
	cr_assert_eq(count_lines(err), 3, "%s", err);
	cr_assert(strncmp(err, "t.yaml:3:5: nodes[0]: node 'a?b' needs 'conf'", 45) == 0, "%s",
	          err);
}

Test(scen_errors, a_broken_entry_does_not_cascade)
{
	sim_scenario sc;
	char err[ERR_SIZE];
	const char *text = "duration: 1h\n"
	                   "nodes:\n"
	                   "  - name: server\n"
	                   "    count: many\n"
	                   "    conf: server 127.127.1.0\n"
	                   "  - name: client\n"
	                   "    conf: server server\n"
	                   "firewall:\n"
	                   "  - {name: r1, dst: server, sport: -1}\n"
	                   "events:\n"
	                   "  - {at: 1, do: firewall-on, rule: r1}\n"
	                   "checks:\n"
	                   "  - {check: selected, node: client, source: server}\n";

	/* server's count and r1's sport are wrong; both stay known by name. */
	cr_assert_neq(load(text, &sc, err), 0);
	cr_assert_eq(count_lines(err), 2, "%s", err);
	cr_assert(strstr(err, "t.yaml:4:12: nodes[0].count") != NULL, "%s", err);
	cr_assert(strstr(err, "t.yaml:9:36: firewall[0].sport") != NULL, "%s", err);
}

/* ------------------------------------------------------------------ */
/* warnings                                                            */

/* A client with clock freq `freq` and node field `drift`: its warnings. */
static char *
drift_warnings(const char *freq, const char *drift)
{
	char text[1024], err[ERR_SIZE];
	sim_scenario sc;
	char *w;

	snprintf(text, sizeof(text),
	         "duration: 1h\n"
	         "nodes:\n"
	         "  - name: client\n"
	         "    clock: {freq: %s}\n"
	         "%s%s%s"
	         "    conf: server 127.127.1.0\n",
	         freq, drift != NULL ? "    drift_ppm: " : "", drift != NULL ? drift : "",
	         drift != NULL ? "\n" : "");
	cr_assert_eq(load(text, &sc, err), 0, "%s", err);
	w = strdup(sc.warnings != NULL ? sc.warnings : "");
	sim_scenario_free(&sc);
	return w;
}

Test(scen_warnings, drift_with_the_clocks_sign_is_flagged)
{
	static const struct {
		const char *freq, *drift;
		bool warn;
	} cases[] = {
	        {"12ppm", "12", true},    /* the seed's clock, its error copied */
	        {"12ppm", "7", true},     /* within a factor of 2 */
	        {"-100ppm", "-60", true}, /* slow clocks too */
	        {"12ppm", "-12", false},  /* ntpd's sign: the correction */
	        {"12ppm", "5", false},    /* more than a factor of 2 apart */
	        {"12ppm", "25", false},   /* likewise */
	        {"0.5ppm", "0.5", false}, /* both below 1 ppm: noise */
	        {"12ppm", "0", false},    /* a drift file with 0 */
	        {"12ppm", NULL, false},   /* no drift file */
	        {"0", "3", false},        /* a perfect clock */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *w = drift_warnings(cases[i].freq, cases[i].drift);

		if (cases[i].warn) {
			cr_assert(strstr(w, "t.yaml:5:16: warning: nodes[0].drift_ppm: ") != NULL,
			          "freq %s drift %s: '%s'", cases[i].freq, cases[i].drift, w);
			cr_assert(strstr(w, "ntpd's correction") != NULL, "%s", w);
		} else {
			cr_assert_str_eq(w, "", "freq %s drift %s", cases[i].freq, cases[i].drift);
		}
		free(w);
	}
}

/* ------------------------------------------------------------------ */
/* times after the end of the run                                      */

static const char end_base[] = "duration: 100\n"
                               "nodes:\n"
                               "  - {name: a, conf: server 127.127.1.0}\n";

static int
load_end(const char *extra, char *err)
{
	char text[1024];
	sim_scenario sc;
	int rc;

	snprintf(text, sizeof(text), "%s%s", end_base, extra);
	rc = load(text, &sc, err);
	if (rc == 0) {
		sim_scenario_free(&sc);
	}
	return rc;
}

Test(scen_end, the_end_itself_is_where_windows_may_close)
{
	char err[ERR_SIZE];

	cr_assert_eq(load_end("events:\n  - {at: 99.999, do: stop, node: a, every: 1, until: 100}\n"
	                      "checks:\n"
	                      "  - {check: synced, node: a, within: 100}\n"
	                      "  - {check: offset, node: a, after: 100, max: 1}\n"
	                      "  - {check: rms, node: a, from: 99, to: 100, max: 1}\n",
	                      err),
	             0, "%s", err);
}

Test(scen_end, an_event_at_the_end_never_runs)
{
	char err[ERR_SIZE];

	cr_assert_neq(load_end("events:\n  - {at: 100, do: stop, node: a}\n", err), 0);
	cr_assert(strstr(err, "t.yaml:5:10: events[0].at: 100 s is at the end of the run "
	                      "(duration: 100 s): the event would never happen") != NULL,
	          "%s", err);
}

Test(scen_end, checks_and_queries_after_the_end)
{
	char err[ERR_SIZE];

	cr_assert_neq(load_end("  - {name: q, kind: query, servers: [a], at: [10, 101]}\n"
	                       "checks:\n"
	                       "  - {check: rms, node: a, from: 100, max: 1}\n"
	                       "  - {check: rms, node: a, from: 10, to: 100.5, max: 1}\n"
	                       "  - {check: freq, node: a, after: 101, max: 1ppm}\n",
	                       err),
	              0);
	cr_assert_eq(count_lines(err), 4, "%s", err);
	cr_assert(strstr(err, "t.yaml:4:51: nodes[1].at: 101 s is after the end") != NULL, "%s",
	          err);
	cr_assert(strstr(err, "checks[0].from: 100 s is at the end") != NULL, "%s", err);
	cr_assert(strstr(err, "checks[1].to: 100.5 s is after the end") != NULL, "%s", err);
	cr_assert(strstr(err, "checks[2].after: 101 s is after the end") != NULL, "%s", err);
}

/* ------------------------------------------------------------------ */
/* links inherit network.default field by field                        */

static const char two_nodes[] = "duration: 1h\n"
                                "nodes:\n"
                                "  - {name: a, conf: server 127.127.1.0}\n"
                                "  - {name: b, count: 2, conf: server a}\n";

static int
load_net(const char *extra, sim_scenario *sc, char *err)
{
	char text[2048];

	snprintf(text, sizeof(text), "%s%s", two_nodes, extra);
	return load(text, sc, err);
}

Test(scen_links, a_link_entry_inherits_the_default_field_by_field)
{
	sim_scenario sc;
	char err[ERR_SIZE];

	/* links before default in the file: the default still comes first */
	cr_assert_eq(load_net("network:\n"
	                      "  links:\n"
	                      "    - {from: a, to: b, loss: 5%}\n"
	                      "    - {from: b, to: a, delay: 3ms}\n"
	                      "    - {from: b1, to: b2, netem: \"delay 7ms\"}\n"
	                      "  default: \"delay 190us 20us distribution normal loss 1%\"\n",
	                      &sc, err),
	             0, "%s", err);
	cr_assert_eq(sc.n_links, 3);
	/* loss given; delay, jitter, dist from the default */
	cr_assert_float_eq(sc.links[0].p.loss, 0.05, 1e-15);
	cr_assert_float_eq(sc.links[0].p.delay, 190e-6, 1e-15);
	cr_assert_float_eq(sc.links[0].p.jitter, 20e-6, 1e-15);
	cr_assert_eq(sc.links[0].p.dist, NETEM_DIST_NORMAL);
	/* delay given; jitter, dist and loss from the default */
	cr_assert_float_eq(sc.links[1].p.delay, 3e-3, 1e-15);
	cr_assert_float_eq(sc.links[1].p.jitter, 20e-6, 1e-15);
	cr_assert_float_eq(sc.links[1].p.loss, 0.01, 1e-15);
	/* a tc-netem string is complete, as tc takes it */
	cr_assert_float_eq(sc.links[2].p.delay, 7e-3, 1e-15);
	cr_assert_float_eq(sc.links[2].p.jitter, 0.0, 0.0);
	cr_assert_float_eq(sc.links[2].p.loss, 0.0, 0.0);
	sim_scenario_free(&sc);
}

Test(scen_links, own_delay_replaces_an_inherited_trace_and_loss_a_gemodel)
{
	sim_scenario sc;
	char err[ERR_SIZE];

	cr_assert_eq(load_net("network:\n"
	                      "  default: {trace: [1ms, 2ms], gemodel: {p: 1%}}\n"
	                      "  links:\n"
	                      "    - {from: a, to: b, delay: 3ms, loss: 2%}\n"
	                      "    - {from: b, to: a, rate: 1mbit}\n",
	                      &sc, err),
	             0, "%s", err);
	cr_assert_eq(sc.links[0].p.dist, NETEM_DIST_UNIFORM);
	cr_assert_null(sc.links[0].p.trace);
	cr_assert(!sc.links[0].p.ge);
	cr_assert_float_eq(sc.links[0].p.loss, 0.02, 1e-15);
	cr_assert_eq(sc.links[1].p.dist, NETEM_DIST_TRACE);
	cr_assert_eq(sc.links[1].p.trace_len, 2);
	cr_assert(sc.links[1].p.ge);
	sim_scenario_free(&sc);
}

Test(scen_links, loss_and_gemodel_together_are_refused)
{
	sim_scenario sc;
	char err[ERR_SIZE];

	cr_assert_neq(load_net("network:\n"
	                       "  links:\n"
	                       "    - {from: a, to: b, loss: 2%, gemodel: {p: 1%}}\n",
	                       &sc, err),
	              0);
	cr_assert(strstr(err, "t.yaml:7:7: network.links[0]: give 'loss' or 'gemodel', not both") !=
	                  NULL,
	          "%s", err);
}

Test(scen_links, a_link_event_modifies_what_the_file_gives_its_links)
{
	sim_scenario sc;
	char err[ERR_SIZE];

	cr_assert_eq(load_net("network:\n"
	                      "  default: \"delay 190us 20us distribution normal\"\n"
	                      "  links:\n"
	                      "    - {from: a, to: b, both: true, delay: 1ms, loss: 1%}\n"
	                      "events:\n"
	                      "  - {at: 10, do: link, from: a, to: b1, both: true, down: true}\n"
	                      "  - {at: 20, do: link, from: a, to: b1, both: true}\n"
	                      "  - {at: 30, do: link, from: b1, to: b2, jitter: 1ms}\n",
	                      &sc, err),
	             0, "%s", err);
	cr_assert_eq(sc.n_events, 3);
	/* the links entry's delay and loss stay; down is the event's */
	cr_assert(sc.events[0].link.p.down);
	cr_assert_float_eq(sc.events[0].link.p.delay, 1e-3, 1e-15);
	cr_assert_float_eq(sc.events[0].link.p.loss, 0.01, 1e-15);
	/* no fields: back to what the file gives */
	cr_assert(!sc.events[1].link.p.down);
	cr_assert_float_eq(sc.events[1].link.p.delay, 1e-3, 1e-15);
	/* no links entry: the default's delay and dist, the event's jitter */
	cr_assert_float_eq(sc.events[2].link.p.delay, 190e-6, 1e-15);
	cr_assert_float_eq(sc.events[2].link.p.jitter, 1e-3, 1e-15);
	cr_assert_eq(sc.events[2].link.p.dist, NETEM_DIST_NORMAL);
	sim_scenario_free(&sc);
}

/* ntplab's extensions are link fields like the others: inherited from the
 * default field by field, extra and up each replaced whole (none, always
 * switch them off), and modified by link events. */
Test(scen_links, extensions_inherit_field_by_field_and_switch_off)
{
	sim_scenario sc;
	char err[ERR_SIZE];

	cr_assert_eq(
	        load_net("network:\n"
	                 "  default: {delay: 1ms, duplicate: 100%, copies: 3, pass_one_in: 20,\n"
	                 "            extra: {fraction: 70%, delay: 150ms},\n"
	                 "            up: {for: 1200s, every: 10000s, from: 60s}}\n"
	                 "  links:\n"
	                 "    - {from: a, to: b, loss: 1%}\n"
	                 "    - {from: b, to: a, extra: none, up: always, pass_one_in: 1,\n"
	                 "       duplicate: 0}\n"
	                 "events:\n"
	                 "  - {at: 10, do: link, from: a, to: b1, extra: {fraction: 5%, "
	                 "delay: 1s}}\n",
	                 &sc, err),
	        0, "%s", err);
	cr_assert_eq(sc.links[0].p.copies, 3);
	cr_assert_eq(sc.links[0].p.pass_one_in, 20);
	cr_assert_float_eq(sc.links[0].p.extra_fraction, 0.70, 1e-15);
	cr_assert_float_eq(sc.links[0].p.extra_delay, 0.150, 1e-15);
	cr_assert_float_eq(sc.links[0].p.up_for, 1200.0, 1e-12);
	cr_assert_float_eq(sc.links[0].p.up_every, 10000.0, 1e-12);
	cr_assert_float_eq(sc.links[0].p.up_from, 60.0, 1e-12);
	/* switched off; an inherited copies with duplicate 0 is no error */
	cr_assert_float_eq(sc.links[1].p.extra_fraction, 0.0, 0.0);
	cr_assert_float_eq(sc.links[1].p.up_every, 0.0, 0.0);
	cr_assert_eq(sc.links[1].p.pass_one_in, 1);
	cr_assert_eq(sc.links[1].p.copies, 3);
	/* the event replaces the mixture and keeps the links entry's loss */
	cr_assert_float_eq(sc.events[0].link.p.extra_fraction, 0.05, 1e-15);
	cr_assert_float_eq(sc.events[0].link.p.extra_delay, 1.0, 1e-15);
	cr_assert_float_eq(sc.events[0].link.p.loss, 0.01, 1e-15);
	cr_assert_eq(sc.events[0].link.p.pass_one_in, 20);
	sim_scenario_free(&sc);
}

Test(scen_links, a_link_event_over_links_with_different_parameters_is_refused)
{
	sim_scenario sc;
	char err[ERR_SIZE];

	cr_assert_neq(load_net("network:\n"
	                       "  links:\n"
	                       "    - {from: a, to: b1, delay: 1ms}\n"
	                       "events:\n"
	                       "  - {at: 10, do: link, from: a, to: b, loss: 1%}\n"
	                       "  - {at: 10, do: link, from: a, to: b1, both: true, loss: 1%}\n"
	                       "  - {at: 10, do: link, from: a, to: b, netem: \"loss 1%\"}\n",
	                       &sc, err),
	              0);
	cr_assert_eq(count_lines(err), 2, "%s", err);
	cr_assert(strstr(err, "t.yaml:9:5: events[0]: the links entry at line 7 matches only "
	                      "some of this event's links") != NULL,
	          "%s", err);
	cr_assert(strstr(err, "t.yaml:10:5: events[1]: with both: true, the two directions start "
	                      "from different parameters") != NULL,
	          "%s", err);
}

/* ------------------------------------------------------------------ */
/* Gilbert-Elliott loss: fields named for what they are                */

static netem_link_params
gemodel_link(const char *gemodel, char *err, int *rc)
{
	char extra[512];
	sim_scenario sc;
	netem_link_params p;

	snprintf(extra, sizeof(extra), "network:\n  links:\n    - {from: a, to: b, gemodel: %s}\n",
	         gemodel);
	netem_link_params_init(&p);
	*rc = load_net(extra, &sc, err);
	if (*rc == 0) {
		p = sc.links[0].p;
		sim_scenario_free(&sc);
	}
	return p;
}

Test(scen_gemodel, fields_and_tc_positional_form_mean_the_same)
{
	char err[ERR_SIZE];
	int rc;
	netem_link_params m =
	        gemodel_link("{p: 1%, r: 10%, loss_bad: 70%, loss_good: 0.1%}", err, &rc);

	cr_assert_eq(rc, 0, "%s", err);
	netem_link_params s = gemodel_link("\"1% 10% 70% 0.1%\"", err, &rc);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert(m.ge && s.ge);
	cr_assert_float_eq(m.ge_p, 0.01, 1e-15);
	cr_assert_float_eq(m.ge_r, 0.10, 1e-15);
	cr_assert_float_eq(m.ge_loss_bad, 0.70, 1e-15);
	cr_assert_float_eq(m.ge_loss_good, 0.001, 1e-15);
	cr_assert_float_eq(s.ge_p, m.ge_p, 1e-15);
	cr_assert_float_eq(s.ge_r, m.ge_r, 1e-15);
	cr_assert_float_eq(s.ge_loss_bad, m.ge_loss_bad, 1e-15);
	cr_assert_float_eq(s.ge_loss_good, m.ge_loss_good, 1e-15);
}

Test(scen_gemodel, left_out_values_take_tcs_defaults)
{
	char err[ERR_SIZE];
	int rc;
	netem_link_params m = gemodel_link("{p: 5%}", err, &rc);

	cr_assert_eq(rc, 0, "%s", err);
	netem_link_params s = gemodel_link("5%", err, &rc);
	cr_assert_eq(rc, 0, "%s", err);
	/* tc: r = 1 - p, 1-h = 100%, 1-k = 0: Bernoulli loss p */
	cr_assert_float_eq(m.ge_r, 0.95, 1e-15);
	cr_assert_float_eq(m.ge_loss_bad, 1.0, 0.0);
	cr_assert_float_eq(m.ge_loss_good, 0.0, 0.0);
	cr_assert_float_eq(s.ge_r, 0.95, 1e-15);
	cr_assert_float_eq(s.ge_loss_bad, 1.0, 0.0);
}

Test(scen_gemodel, old_names_and_stray_words_are_refused)
{
	char err[ERR_SIZE];
	int rc;

	gemodel_link("{p: 1%, h: 100%}", err, &rc);
	cr_assert_neq(rc, 0);
	cr_assert(strstr(err, "gemodel field 'h' is ambiguous") != NULL, "%s", err);
	cr_assert(strstr(err, "write loss_bad: 100% for that, or loss_bad: 0% if you meant h "
	                      "itself") != NULL,
	          "%s", err);
	gemodel_link("\"1% 10% delay 5ms\"", err, &rc);
	cr_assert_neq(rc, 0);
	cr_assert(strstr(err, "expected tc-netem's \"p [r [1-h [1-k]]]\"") != NULL, "%s", err);
	gemodel_link("\"1% 10\"", err, &rc);
	cr_assert_neq(rc, 0);
	cr_assert(strstr(err, "bad gemodel: ") != NULL, "%s", err);
	gemodel_link("{r: 10%}", err, &rc);
	cr_assert_neq(rc, 0);
	cr_assert(strstr(err, "gemodel needs 'p'") != NULL, "%s", err);
}
