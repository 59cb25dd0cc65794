/* SPDX-License-Identifier: BSD-2-Clause */
/* sim/sim_scenario_fields.c: the field tables (issue 16 section 1).  A
 * table row carries a key's type, range, destination and default; these
 * tests load small scenarios and look at what the rows put where, and at
 * the errors the table reader names (FILE:LINE:COL, field path, key). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "sim_scenario.h"

#define ERR_SIZE 8192 /* B, as ntpsim's ERR_MAX */

static int
load(const char *text, sim_scenario *sc, char *err)
{
	return sim_scenario_load_buffer(sc, "t.yaml", text, strlen(text), err, ERR_SIZE);
}

/* A server and a query node, then `more` (further top-level sections). */
static int
load_with(const char *node_extra, const char *more, sim_scenario *sc, char *err)
{
	char text[2048];

	snprintf(text, sizeof(text),
	         "duration: 1h\n"
	         "nodes:\n"
	         "  - name: server\n"
	         "    conf: server 127.127.1.0\n"
	         "%s"
	         "  - name: q\n"
	         "    kind: query\n"
	         "    servers: server\n"
	         "%s",
	         node_extra, more);
	return load(text, sc, err);
}

Test(scen_fields, defaults_come_from_the_rows)
{
	sim_scenario sc;
	char err[ERR_SIZE];

	cr_assert_eq(load_with("", "firewall:\n  - {dst: server}\n", &sc, err), 0, "%s", err);
	/* query: samples 4 (ntpdate DEFSAMPLES), interval and timeout 1 s */
	cr_assert_eq(sc.nodes[1].query.samples, 4);
	cr_assert_float_eq(sc.nodes[1].query.interval, 1.0, 1e-12);
	cr_assert_float_eq(sc.nodes[1].query.timeout, 1.0, 1e-12);
	/* a firewall rule: udp, drop, enabled, named by its place */
	cr_assert_eq(sc.fw[0].proto, NETEM_FW_PROTO_UDP);
	cr_assert_eq(sc.fw[0].action, NETEM_FW_DROP);
	cr_assert(sc.fw[0].enabled);
	cr_assert_str_eq(sc.fw[0].name, "rule1");
	cr_assert_eq(sc.fw[0].sport, 0);
	sim_scenario_free(&sc);
}

Test(scen_fields, values_land_in_their_members)
{
	sim_scenario sc;
	char err[ERR_SIZE];
	const char *more = "firewall:\n"
	                   "  - {name: r, proto: any, sport: 65535, action: accept, enabled: no}\n"
	                   "network:\n"
	                   "  links:\n"
	                   "    - {from: server, to: q, rate: 1mbit, reorder_gap: 5, reorder: 5%,\n"
	                   "       delay: 10ms, copies: 2, duplicate: 100%}\n";

	cr_assert_eq(
	        load_with("    fault: {kinds: wrong-leap, leap: 2, stale: 2h}\n", more, &sc, err),
	        0, "%s", err);
	cr_assert_eq(sc.nodes[0].fault.leap, 2);
	cr_assert_float_eq(sc.nodes[0].fault.stale, 7200.0, 1e-9);
	cr_assert_eq(sc.fw[0].proto, 0);
	cr_assert_eq(sc.fw[0].sport, 65535);
	cr_assert_eq(sc.fw[0].action, NETEM_FW_ACCEPT);
	cr_assert(!sc.fw[0].enabled);
	cr_assert_eq(sc.n_links, 1);
	cr_assert_float_eq(sc.links[0].p.rate, 1e6, 1e-6);
	cr_assert_eq(sc.links[0].p.reorder_gap, 5);
	cr_assert_eq(sc.links[0].p.copies, 2);
	sim_scenario_free(&sc);
}

Test(scen_fields, errors_name_place_path_and_key)
{
	sim_scenario sc;
	char err[ERR_SIZE];

	cr_assert_neq(load_with("", "    interval: 2h\n", &sc, err), 0);
	cr_assert(strstr(err, "t.yaml:8:15: nodes[1].interval: value 7200 s out of range "
	                      "[0.001, 3600]") != NULL,
	          "%s", err);
	cr_assert_neq(load_with("", "    sampels: 2\n", &sc, err), 0);
	cr_assert(strstr(err, "t.yaml:8:5: nodes[1]: unknown field 'sampels' in a node (did you "
	                      "mean 'samples'?)") != NULL,
	          "%s", err);
	cr_assert_neq(load_with("", "firewall:\n  - {dst: server, action: maybe}\n", &sc, err), 0);
	cr_assert(strstr(err, "t.yaml:9:27: firewall[0].action: expected drop, reject or accept, "
	                      "got 'maybe'") != NULL,
	          "%s", err);
}

/* A key given twice in a node's fault used to keep the last value
 * silently; the table reader names it like in every other mapping. */
Test(scen_fields, a_fault_key_given_twice_is_an_error)
{
	sim_scenario sc;
	char err[ERR_SIZE];

	cr_assert_neq(load_with("    fault: {kinds: wrong-leap, leap: 1, leap: 2}\n", "", &sc, err),
	              0);
	cr_assert(strstr(err, "t.yaml:5:41: nodes[0].fault: field 'leap' given twice") != NULL,
	          "%s", err);
}

/* One key, a row per group of check kinds: 'max' is a time for offset, a
 * frequency for freq, a count for steps. */
Test(scen_fields, a_check_key_has_the_type_of_its_kind)
{
	sim_scenario sc;
	char err[ERR_SIZE];

	cr_assert_eq(load_with("",
	                       "checks:\n"
	                       "  - {check: offset, node: server, after: 10s, max: 2ms}\n"
	                       "  - {check: freq, node: server, after: 10s, max: 3ppm}\n"
	                       "  - {check: steps, node: server, max: 4}\n",
	                       &sc, err),
	             0, "%s", err);
	cr_assert_eq(sc.n_checks, 3);
	cr_assert_float_eq(sc.checks[0].max, 2e-3, 1e-15);
	cr_assert_float_eq(sc.checks[1].max, 3e-6, 1e-15);
	cr_assert_eq(sc.checks[2].max_count, 4);
	sim_scenario_free(&sc);
	cr_assert_neq(
	        load_with("", "checks:\n  - {check: steps, node: server, max: 2ms}\n", &sc, err),
	        0);
	cr_assert(strstr(err, "checks[0].max:") != NULL, "%s", err);
}

/* A field another kind takes is unknown here; the message lists this
 * kind's fields in its order. */
Test(scen_fields, a_check_field_of_another_kind_is_unknown)
{
	sim_scenario sc;
	char err[ERR_SIZE];

	cr_assert_neq(
	        load_with("", "checks:\n  - {check: interval, node: server, count: 1}\n", &sc, err),
	        0);
	cr_assert(strstr(err, "unknown field 'count' in a 'interval' check (fields: dir, peer, "
	                      "min, mean)") != NULL,
	          "%s", err);
	cr_assert_neq(
	        load_with("", "checks:\n  - {check: rejected, node: server, sorce: x}\n", &sc, err),
	        0);
	cr_assert(strstr(err, "unknown field 'sorce' in a 'rejected' check (did you mean "
	                      "'source'?)") != NULL,
	          "%s", err);
}

/* The top level's keys by table: a key given twice is named, the first kept. */
Test(scen_fields, a_top_level_key_given_twice_is_an_error)
{
	sim_scenario sc;
	char err[ERR_SIZE];

	cr_assert_neq(load_with("", "duration: 2h\n", &sc, err), 0);
	cr_assert(strstr(err, "t.yaml:8:1: field 'duration' given twice") != NULL, "%s", err);
}

/* A check's key given twice used to be read twice, the last value winning
 * silently (a second 'node' or 'check' was even ignored or taken without
 * a word); it is named like in every other mapping, the first kept. */
Test(scen_fields, a_check_key_given_twice_is_an_error)
{
	sim_scenario sc;
	char err[ERR_SIZE];

	cr_assert_neq(load_with("",
	                        "checks:\n"
	                        "  - {check: offset, node: server, after: 1s, max: 1ms, max: 2s}\n",
	                        &sc, err),
	              0);
	cr_assert(strstr(err, "t.yaml:9:56: checks[0]: field 'max' given twice") != NULL, "%s",
	          err);
	cr_assert_neq(load_with("", "checks:\n  - {check: steps, node: server, node: q, max: 1}\n",
	                        &sc, err),
	              0);
	cr_assert(strstr(err, "checks[0]: field 'node' given twice") != NULL, "%s", err);
	cr_assert_neq(load_with("",
	                        "checks:\n  - {check: steps, check: rms, node: server, max: 1}\n",
	                        &sc, err),
	              0);
	cr_assert(strstr(err, "checks[0]: field 'check' given twice") != NULL, "%s", err);
}
