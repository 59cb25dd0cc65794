/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What chrony's simulation catalogue needs of ntpsim, end to end through
 * the loader and the engine: the link extensions (pass_one_in, extra,
 * copies, up) on real request/reply traffic of a query node, and the dns:
 * section (names that resolve, fail, change; pools limited by maxclock).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "ntp_select.h"
#include "sim_engine.h"
#include "sim_scenario.h"

#define ERR_SIZE 4096 /* bytes of loader messages kept */

static int
load(const char *text, sim_scenario *sc, char *err)
{
	return sim_scenario_load_buffer(sc, "t.yaml", text, strlen(text), err, ERR_SIZE);
}

/* A server and a query node sending `samples` requests 1 s apart from
 * 5 s on; `net` is the network section; the checks of `checks` must
 * pass. */
static int
run_query(const char *net, int samples, const char *checks)
{
	char text[4096], err[ERR_SIZE];
	sim_scenario sc;
	sim_summary sum;
	sim_opts o;
	int rc;

	snprintf(text, sizeof(text),
	         "duration: 2min\n"
	         "nodes:\n"
	         "  - {name: srv, conf: server 127.127.1.0}\n"
	         "  - {name: q, kind: query, servers: [srv], at: 5s, samples: %d, interval: 1s}\n"
	         "network:\n%s"
	         "checks:\n%s",
	         samples, net, checks);
	cr_assert_eq(load(text, &sc, err), 0, "%s", err);
	memset(&o, 0, sizeof(o));
	rc = sim_run(&sc, &o, &sum, err, sizeof(err));
	sim_scenario_free(&sc);
	return rc;
}

Test(sim_netext, pass_one_in_lets_requests_0_and_2_of_4_through)
{
	cr_assert_eq(run_query("  default: {delay: 1ms}\n"
	                       "  links: [{from: q, to: srv, pass_one_in: 2}]\n",
	                       4,
	                       "  - {check: packets, node: q, dir: sent, min: 4, max: 4}\n"
	                       "  - {check: packets, node: q, dir: dropped, min: 2, max: 2}\n"
	                       "  - {check: packets, node: q, dir: received, min: 2, max: 2}\n"),
	             SIM_PASS);
}

Test(sim_netext, copies_3_deliver_each_reply_4_times)
{
	cr_assert_eq(run_query("  default: {delay: 1ms, jitter: 100us}\n"
	                       "  links: [{from: srv, to: q, duplicate: 100%, copies: 3}]\n",
	                       4,
	                       "  - {check: packets, node: q, dir: received, min: 16, max: 16}\n"),
	             SIM_PASS);
}

Test(sim_netext, up_window_drops_what_is_sent_while_down)
{
	/* requests at 5, 6, ..., 12 s; the link is up in [0, 8 s) of every 100 s:
	 * those at 5, 6, 7 s pass */
	cr_assert_eq(run_query("  default: {delay: 1ms}\n"
	                       "  links: [{from: q, to: srv, up: {for: 8s, every: 100s}}]\n",
	                       8,
	                       "  - {check: packets, node: q, dir: dropped, min: 5, max: 5}\n"
	                       "  - {check: packets, node: q, dir: received, min: 3, max: 3}\n"),
	             SIM_PASS);
}

/* ------------------------------------------------------------------ */
/* dns                                                                 */

static const char dns_yaml[] =
        "duration: 3h\n"
        "dns:\n"
        "  - {name: ntp.example, addresses: [s1, 192.168.1.5]}\n"
        "  - {name: broken.example, fail: true}\n"
        "  - {name: moving.example, addresses: [s1], at: 2h, change_to: [s12]}\n"
        "  - {name: pool.example, addresses: [s]}\n"
        "nodes:\n"
        "  - {name: s, count: 12, conf: server 127.127.1.0}\n"
        "  - name: c\n"
        "    conf: |\n"
        "      server ntp.example\n"
        "      server broken.example\n"
        "      server moving.example\n"
        "      pool pool.example\n"
        "  - name: p\n"
        "    conf: |\n"
        "      pool pool.example\n";

typedef struct notes {
	char text[2048];
} notes;

static void
note(void *ctx, const char *text)
{
	notes *n = ctx;

	strncat(n->text, text, sizeof(n->text) - strlen(n->text) - 2);
	strcat(n->text, "\n");
}

/* The conf of template i resolved at t (s), and what was said. */
static void
resolve(const sim_scenario *sc, size_t i, double t, ntp_conf *out, notes *n)
{
	memset(n, 0, sizeof(*n));
	sim_dns_resolve_conf(sc, sc->nodes[i].conf, t, out, note, n);
}

static ntp_addr
node_addr(const sim_scenario *sc, const char *name)
{
	sim_range r;

	cr_assert_eq(sim_scenario_find(sc, name, &r), 0);
	return sim_scenario_node_addr(sc, r.first);
}

static size_t
count_kind(const ntp_conf *c, int kind)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_servers; i++) {
		n += c->servers[i].kind == kind;
	}
	return n;
}

Test(sim_dns, servers_take_the_first_address_and_failures_create_nothing)
{
	sim_scenario sc;
	char err[ERR_SIZE];
	ntp_conf c;
	notes n;
	ntp_addr s1, s12;

	cr_assert_eq(load(dns_yaml, &sc, err), 0, "%s", err);
	s1 = node_addr(&sc, "s1");
	s12 = node_addr(&sc, "s12");
	resolve(&sc, 1, 0.0, &c, &n);
	cr_assert(ntp_addr_same_host(&c.servers[0].addr, &s1), "the first address answered");
	cr_assert(strstr(n.text, "cannot resolve broken.example\n") != NULL, "%s", n.text);
	/* broken.example made no line: moving.example is the second */
	cr_assert_str_eq(c.servers[1].host, "moving.example");
	cr_assert(ntp_addr_same_host(&c.servers[1].addr, &s1));
	/* after `at`, a start resolves to the new answer */
	resolve(&sc, 1, 7200.0, &c, &n);
	cr_assert(ntp_addr_same_host(&c.servers[1].addr, &s12));
	cr_assert(strstr(n.text, "moving.example resolves to 10.0.0.12") != NULL, "%s", n.text);
	sim_scenario_free(&sc);
}

Test(sim_dns, a_pool_fills_up_to_maxclock_skipping_addresses_in_use)
{
	sim_scenario sc;
	char err[ERR_SIZE];
	ntp_conf c;
	notes n;

	cr_assert_eq(load(dns_yaml, &sc, err), 0, "%s", err);
	/* alone, the pool line is one association of maxclock: 9 servers */
	resolve(&sc, 2, 0.0, &c, &n);
	cr_assert_eq(count_kind(&c, NTP_CONF_SERVER), NTP_SELECT_MAXCLOCK - 1);
	cr_assert(strstr(n.text, "pool pool.example: 9 of 12 addresses used (maxclock 10)") != NULL,
	          "%s", n.text);
	/* with two servers: 7 more, and s1 (the servers' address) is not taken
	 * again; the pool's lines follow the conf's three */
	resolve(&sc, 1, 0.0, &c, &n);
	cr_assert_eq(count_kind(&c, NTP_CONF_SERVER), 2 + 7);
	for (size_t j = 3; j < c.n_servers; j++) {
		for (size_t i = 0; i < j; i++) {
			cr_assert(
			        c.servers[i].kind == NTP_CONF_POOL ||
			                !ntp_addr_same_host(&c.servers[i].addr, &c.servers[j].addr),
			        "pool line %zu polls line %zu's address", j, i);
		}
	}
	sim_scenario_free(&sc);
}

/* s12 is polled only when moving.example points at it (from 2 h on) and
 * c resolves it again, which needs a restart: the pools take s1..s9. */
static int
run_dns(const char *events, const char *checks)
{
	char text[4096], err[ERR_SIZE];
	sim_scenario sc;
	sim_summary sum;
	sim_opts o;
	int rc;

	snprintf(text, sizeof(text), "%s%s%s", dns_yaml, events, checks);
	cr_assert_eq(load(text, &sc, err), 0, "%s", err);
	memset(&o, 0, sizeof(o));
	rc = sim_run(&sc, &o, &sum, err, sizeof(err));
	sim_scenario_free(&sc);
	return rc;
}

Test(sim_dns, a_changed_address_counts_only_after_a_restart)
{
	cr_assert_eq(run_dns("", "checks:\n"
	                         "  - {check: packets, node: s12, dir: received, max: 0}\n"
	                         "  - {check: packets, node: s1, dir: received, min: 1}\n"),
	             SIM_PASS);
	cr_assert_eq(run_dns("events:\n"
	                     "  - {at: 2.5h, do: start, node: c}\n",
	                     "checks:\n"
	                     "  - {check: packets, node: s12, dir: received, min: 1}\n"),
	             SIM_PASS);
}

Test(sim_dns, mistakes_are_named_at_their_field)
{
	sim_scenario sc;
	char err[ERR_SIZE];

	cr_assert_neq(load("duration: 1h\n"
	                   "dns:\n"
	                   "  - {name: s, addresses: [s]}\n"
	                   "  - {name: x.example, fail: true, addresses: [s]}\n"
	                   "  - {name: y.example, addresses: [nowhere]}\n"
	                   "  - {name: z.example, addresses: [s], at: 2h, change_to: []}\n"
	                   "nodes:\n"
	                   "  - {name: s, conf: server 127.127.1.0}\n"
	                   "  - {name: c, conf: server w.example}\n",
	                   &sc, err),
	              0);
	cr_assert(strstr(err, "t.yaml:3:12: dns[0].name: 's' is a node name") != NULL, "%s", err);
	cr_assert(strstr(err, "t.yaml:4:5: dns[1]: fail: true never resolves") != NULL, "%s", err);
	cr_assert(strstr(err, "dns[2].addresses[0]: no node named 'nowhere'") != NULL, "%s", err);
	cr_assert(strstr(err, "t.yaml:6:43: dns[3].at: 7200 s is after the end of the run") != NULL,
	          "%s", err);
	cr_assert(strstr(err, "cannot resolve 'w.example'") != NULL, "%s", err);
}
