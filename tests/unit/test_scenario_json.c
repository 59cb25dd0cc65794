/* SPDX-License-Identifier: BSD-2-Clause */
/* sim/sim_scenario_json.c: `ntpsim check --normalized`, the loaded scenario
 * as JSON, read back with jansson: units resolved to SI, replicas expanded
 * with their addresses, links merged on the default, node references
 * resolved to names, byte-identical output for the same input. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_json.h"
#include "sim_scenario.h"
#include "sim_scenario_json.h"

#define ERR_SIZE 8192 /* B, as ntpsim's ERR_MAX */

static const char scenario[] =
        "name: norm\n"
        "description: a test\n"
        "duration: 2h\n"
        "sync_bound: 500us\n"
        "network:\n"
        "  default: {delay: 1ms, jitter: 100us, dist: normal}\n"
        "  links:\n"
        "    - {from: server, to: client, loss: 5%}\n"
        "firewall:\n"
        "  - {name: block, src: any, dst: 192.168.1.8/29, dport: 123, action: drop,\n"
        "     enabled: false}\n"
        "nodes:\n"
        "  - name: server\n"
        "    address: 192.168.1.1\n"
        "    conf: |\n"
        "      server 127.127.1.0\n"
        "      fudge 127.127.1.0 stratum 1\n"
        "  - name: client\n"
        "    count: 3\n"
        "    address: 192.168.1.10\n"
        "    clock: {offset: 50ms, freq: 12ppm}\n"
        "    discipline: {name: ntpd-kernel, stepout: 60s}\n"
        "    conf: |\n"
        "      server server iburst minpoll 4\n"
        "events:\n"
        "  - {at: 10min, do: firewall-on, rule: block}\n"
        "  - {at: 20min, do: step, node: client2, by: -250ms}\n"
        "  - {at: 30min, do: partition, groups: [[server, client1], [client2, client3]]}\n"
        "checks:\n"
        "  - {check: synced, node: client, within: 15min, bound: 2ms}\n"
        "  - {check: rms, node: client1, from: 1h, max: 100us}\n"
        "  - {check: steps, node: client3, count: 0}\n";

static json_t *
normalized(const char *text, char **out_text)
{
	sim_scenario sc;
	char err[ERR_SIZE];
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_error_t jerr;
	json_t *root;

	cr_assert_not_null(f);
	cr_assert_eq(sim_scenario_load_buffer(&sc, "t.yaml", text, strlen(text), err, sizeof err),
	             0, "%s", err);
	cr_assert_eq(sim_scenario_write_json(&sc, f), 0);
	fclose(f);
	sim_scenario_free(&sc);
	root = json_loads(buf, 0, &jerr);
	cr_assert_not_null(root, "invalid JSON at line %d: %s", jerr.line, jerr.text);
	if (out_text != NULL) {
		*out_text = buf;
	} else {
		free(buf);
	}
	return root;
}

static double
num(const json_t *o, const char *path)
{
	char key[64];
	const char *dot = strchr(path, '.');

	if (dot == NULL) {
		json_t *v = json_object_get(o, path);

		cr_assert(json_is_number(v), "%s is not a number", path);
		return json_number_value(v);
	}
	snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
	return num(json_object_get(o, key), dot + 1);
}

/* o's member key; key NULL: o itself (an array's item) */
/* a value parsed from "100us" is 100 * 1e-6, one ulp from 100e-6 */
static bool
near(double a, double b)
{
	return fabs(a - b) <= 1e-12 * fabs(b);
}

static const char *
str(const json_t *o, const char *key)
{
	const json_t *v = key != NULL ? json_object_get(o, key) : o;

	cr_assert(json_is_string(v), "%s is not a string", key != NULL ? key : "item");
	return json_string_value(v);
}

static json_t *
item(const json_t *o, const char *key, size_t i)
{
	const json_t *a = key != NULL ? json_object_get(o, key) : o;

	key = key != NULL ? key : "item";
	cr_assert(json_is_array(a), "%s is not an array", key);
	cr_assert_lt(i, json_array_size(a), "%s has %zu items", key, json_array_size(a));
	return json_array_get(a, i);
}

Test(scenario_json, top_level_in_si_units)
{
	json_t *r = normalized(scenario, NULL);

	cr_expect_eq(num(r, "normalized_version"), SIM_SCENARIO_JSON_VERSION);
	cr_expect_str_eq(str(r, "name"), "norm");
	cr_expect_str_eq(str(r, "description"), "a test");
	cr_expect_eq(num(r, "duration"), 7200.0);
	cr_expect(near(num(r, "sync_bound"), 500e-6), "%.17g", num(r, "sync_bound"));
	cr_expect_eq(num(r, "total_nodes"), 4.0);
	cr_expect_str_eq(str(json_object_get(r, "start"), "utc"), "2025-01-01 00:00:00.000000");
	cr_expect_eq(num(r, "start.ntp"), 3944678400.0); /* 2025-01-01 in NTP era 0 */
	json_decref(r);
}

Test(scenario_json, replicas_expanded_with_addresses)
{
	json_t *r = normalized(scenario, NULL);
	json_t *c2 = item(r, "nodes", 2);

	cr_assert_eq(json_array_size(json_object_get(r, "nodes")), 4);
	cr_expect_str_eq(str(c2, "name"), "client2");
	cr_expect_str_eq(str(c2, "template"), "client");
	cr_expect_eq(num(c2, "replica"), 2.0);
	cr_expect_str_eq(str(c2, "address"), "192.168.1.11");
	cr_expect_eq(num(c2, "clock.offset"), 0.05);
	cr_expect(near(num(c2, "clock.freq"), 12e-6), "%.17g", num(c2, "clock.freq"));
	cr_expect_str_eq(str(c2, "conf"), "server server iburst minpoll 4\n");
	/* the conf's server name resolved to the server's address */
	cr_expect_str_eq(str(item(c2, "servers", 0), "address"), "192.168.1.1");
	cr_expect_eq(num(item(c2, "servers", 0), "minpoll"), 4.0);
	cr_expect_str_eq(str(item(item(c2, "servers", 0), "flags", 0), NULL), "iburst");
	json_decref(r);
}

Test(scenario_json, discipline_parameters_with_units)
{
	json_t *r = normalized(scenario, NULL);
	json_t *d = json_object_get(item(r, "nodes", 1), "discipline");
	json_t *params = json_object_get(d, "params");
	bool seen = false;
	size_t i;
	json_t *p;

	cr_expect_str_eq(str(d, "name"), "ntpd-kernel");
	cr_expect_str_eq(str(d, "configured"), "ntpd-kernel");
	json_array_foreach(params, i, p)
	{
		if (strcmp(str(p, "name"), "stepout") == 0) {
			cr_expect_eq(num(p, "value"), 60.0);
			cr_expect_str_eq(str(p, "unit"), "s");
			seen = true;
		} else {
			cr_expect(json_is_null(json_object_get(p, "value")), "%s set",
			          str(p, "name"));
		}
	}
	cr_expect(seen, "no stepout parameter");
	json_decref(r);
}

Test(scenario_json, links_merged_on_the_default)
{
	json_t *r = normalized(scenario, NULL);
	json_t *net = json_object_get(r, "network");
	json_t *l = item(net, "links", 0);
	json_t *p = json_object_get(l, "params");

	cr_expect(near(num(net, "default.delay"), 1e-3), "%.17g", num(net, "default.delay"));
	cr_expect_str_eq(str(json_object_get(net, "default"), "dist"), "normal");
	cr_expect(near(num(p, "delay"), 1e-3), "the link keeps the default's delay");
	cr_expect(near(num(p, "jitter"), 100e-6), "%.17g", num(p, "jitter"));
	cr_expect(near(num(p, "loss"), 0.05), "%.17g", num(p, "loss"));
	cr_expect_str_eq(str(item(l, "from", 0), NULL), "server");
	cr_expect_eq(json_array_size(json_object_get(l, "to")), 3, "client is three nodes");
	/* netem_link_format_tc's text: ntpnetem reads it back */
	cr_expect_neq(strstr(str(p, "tc"), "delay 1ms "), NULL, "%s", str(p, "tc"));
	cr_expect_neq(strstr(str(p, "tc"), "distribution normal loss random 5%"), NULL, "%s",
	              str(p, "tc"));
	cr_expect(json_is_null(json_object_get(p, "tc_missing")));
	json_decref(r);
}

Test(scenario_json, firewall_events_and_checks_resolved)
{
	json_t *r = normalized(scenario, NULL);
	json_t *fw = item(r, "firewall", 0);
	json_t *step = item(r, "events", 1), *part = item(r, "events", 2);
	json_t *synced = item(r, "checks", 0), *rms = item(r, "checks", 1);

	cr_expect_str_eq(str(fw, "src"), "any");
	cr_expect_eq(json_array_size(json_object_get(fw, "dst_nodes")), 3);
	cr_expect_eq(num(fw, "dport"), 123.0);
	cr_expect_eq(json_is_false(json_object_get(fw, "enabled")), 1);
	cr_expect_str_eq(str(item(r, "events", 0), "kind"), "firewall-on");
	cr_expect_eq(num(item(r, "events", 0), "at"), 600.0);
	cr_expect_str_eq(str(step, "kind"), "step");
	cr_expect_eq(num(step, "by"), -0.25);
	cr_expect_str_eq(str(item(step, "nodes", 0), NULL), "client2");
	cr_expect_eq(json_array_size(json_object_get(part, "groups")), 2);
	cr_expect_eq(json_array_size(item(part, "groups", 0)), 2);
	cr_expect_str_eq(str(item(item(part, "groups", 1), NULL, 1), NULL), "client3");
	cr_expect_str_eq(str(synced, "kind"), "synced");
	cr_expect_eq(num(synced, "params.within"), 900.0);
	cr_expect(near(num(synced, "params.bound"), 2e-3), "%.17g", num(synced, "params.bound"));
	cr_expect_eq(json_array_size(json_object_get(synced, "nodes")), 3);
	cr_expect_eq(num(rms, "params.from"), 3600.0);
	cr_expect(near(num(rms, "params.max"), 100e-6), "%.17g", num(rms, "params.max"));
	cr_expect(json_is_null(json_object_get(json_object_get(rms, "params"), "to")),
	          "to: the run's end");
	cr_expect_eq(num(item(r, "checks", 2), "params.max"), 0.0);
	cr_expect_neq(strstr(str(rms, "label"), "client1"), NULL);
	json_decref(r);
}

Test(scenario_json, deterministic_and_exact)
{
	char *a, *b;
	json_t *ra = normalized(scenario, &a), *rb = normalized(scenario, &b);

	cr_expect_str_eq(a, b);
	json_decref(ra);
	json_decref(rb);
	free(a);
	free(b);
}

Test(scenario_json, real_numbers_read_back_exactly)
{
	const double v[] = {0.001, 1e-9, 12e-6, 0.1, 3944678400.5, 1.0 / 3.0, -2.5e-300};
	char *buf = NULL;
	size_t len = 0;

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		FILE *f = open_memstream(&buf, &len);

		json_num_exact(f, v[i]);
		fclose(f);
		cr_expect_eq(strtod(buf, NULL), v[i], "%s", buf);
		free(buf);
	}
	buf = NULL;
	FILE *f = open_memstream(&buf, &len);
	json_num_exact(f, 0.001);
	fclose(f);
	cr_expect_str_eq(buf, "0.001", "the shortest form, not 0.00100000000000000002");
	free(buf);
}

/* A check's label is cut at 199 bytes; the cut must not split a character,
 * or the JSON (and report.json) is not UTF-8 (found by fuzz_scenario). */
Test(scenario_json, label_cut_keeps_utf8)
{
	char text[2048], reason[80] = "x";
	json_t *root;

	for (int i = 0; i < 31; i++) {
		strcat(reason, "\xc3\xa9"); /* e acute */
	}
	snprintf(text, sizeof text,
	         "duration: 1min\n"
	         "nodes:\n"
	         "  - name: srv\n"
	         "    conf: |\n"
	         "      server 127.127.1.0\n"
	         "  - name: abcdefghijklmnopqrstuvwxyz0123x\n"
	         "    count: 10\n"
	         "    conf: |\n"
	         "      server srv\n"
	         "checks:\n"
	         "  - {check: state, node: abcdefghijklmnopqrstuvwxyz0123x, source: srv, at: 30s,\n"
	         "     stratum: [1, 15], poll: [4, 10], when: [0, 1000], reach: 377, type: u,\n"
	         "     tally: '*', reason: \"%s\"}\n",
	         reason);
	root = normalized(text, NULL);
	cr_assert_gt(strlen(str(json_array_get(json_object_get(root, "checks"), 0), "label")), 190);
	json_decref(root);
}

/* JSON must be UTF-8: bytes of another encoding (a Latin-1 file name) are
 * written as U+FFFD, well-formed characters as they are, so jansson (and
 * every other reader) accepts the text. */
Test(scenario_json, strings_always_utf8)
{
	static const char *const in[] = {"caf\xe9.yaml", "caf\xc3\xa9",      "\xed\xa0\x80",
	                                 "\xc0\xaf",     "\xf4\x90\x80\x80", "a\"b\\\x01"};
	static const char *const out[] = {"caf\xef\xbf\xbd.yaml",
	                                  "caf\xc3\xa9",
	                                  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
	                                  "\xef\xbf\xbd\xef\xbf\xbd",
	                                  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
	                                  "a\"b\\\x01"};

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		json_error_t je;
		json_t *v;

		cr_assert_not_null(f);
		json_str(f, in[i]);
		fclose(f);
		v = json_loadb(buf, len, JSON_DECODE_ANY, &je);
		cr_assert_not_null(v, "case %zu: %s: %s", i, buf, je.text);
		cr_assert_str_eq(json_string_value(v), out[i], "case %zu", i);
		json_decref(v);
		free(buf);
	}
}
