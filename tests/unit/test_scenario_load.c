/* SPDX-License-Identifier: BSD-2-Clause */
/* sim/sim_scenario*.c: the traps of issue 10 section 3, where a scenario
 * used to load with a wrong meaning or with only its first mistake named:
 * every error reported. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
