/* SPDX-License-Identifier: BSD-2-Clause */
/* sim/sim_scenario_set.c: ntpsim sweep's --set PATH=V and PATH+=LINE,
 * applied to the parsed YAML before the loader reads it. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <string.h>

#include "sim_scenario.h"

#define ERR_SIZE 8192 /* B, as ntpsim's ERR_MAX */

/* Two nodes; the client's conf is an alias of an anchor the server's
 * `clock` shares nothing with; ntpd shares the client's conf. */
static const char SCENARIO[] = "name: t\n"
                               "duration: 100s\n"
                               "network:\n"
                               "  default: {delay: 1ms, jitter: 100us}\n"
                               "nodes:\n"
                               "  - name: server\n"
                               "    address: 10.0.0.1\n"
                               "    conf: |\n"
                               "      server 127.127.1.0\n"
                               "  - name: client\n"
                               "    address: 10.0.0.2\n"
                               "    conf: &c |\n"
                               "      server server\n"
                               "  - name: ntpd\n"
                               "    address: 10.0.0.3\n"
                               "    discipline: regress\n"
                               "    conf: *c\n";

static int
load_set(sim_scenario *sc, const sim_override *ov, size_t n, char *err)
{
	return sim_scenario_load_buffer_set(sc, "t.yaml", SCENARIO, strlen(SCENARIO), ov, n, err,
	                                    ERR_SIZE);
}

/* The overrides load; sc is the caller's to free. */
static void
expect_loaded(sim_scenario *sc, const sim_override *ov, size_t n)
{
	char err[ERR_SIZE];

	cr_assert_eq(load_set(sc, ov, n, err), 0, "%s", err);
}

/* The overrides are refused with an error holding want and (unless NULL)
 * also: one load for both. */
static void
expect_error(const sim_override *ov, size_t n, const char *want, const char *also)
{
	sim_scenario sc;
	char err[ERR_SIZE];

	cr_assert_eq(load_set(&sc, ov, n, err), -1, "loaded with a bad override");
	cr_assert_not_null(strstr(err, want), "error '%s' lacks '%s'", err, want);
	if (also != NULL) {
		cr_assert_not_null(strstr(err, also), "error '%s' lacks '%s'", err, also);
	}
}

Test(scenario_set, none_is_the_plain_load)
{
	sim_scenario sc;

	expect_loaded(&sc, NULL, 0);
	cr_assert_str_eq(sc.nodes[1].conf->discipline.name, "");
	cr_assert_float_eq(sc.net_default.jitter, 100e-6, 1e-12);
	sim_scenario_free(&sc);
}

Test(scenario_set, replaces_a_value_by_key_and_list_name)
{
	sim_override ov[] = {{"network.default.jitter", "1ms", false},
	                     {"nodes.ntpd.discipline", "ntpd-kernel", false}};
	sim_scenario sc;

	expect_loaded(&sc, ov, 2);
	cr_assert_float_eq(sc.net_default.jitter, 1e-3, 1e-12);
	cr_assert_str_eq(sc.nodes[2].conf->discipline.name, "ntpd-kernel");
	sim_scenario_free(&sc);
}

Test(scenario_set, creates_a_missing_last_key)
{
	sim_override ov = {"nodes.client.discipline", "regress", false};
	sim_scenario sc;

	expect_loaded(&sc, &ov, 1);
	cr_assert_str_eq(sc.nodes[1].conf->discipline.name, "regress");
	cr_assert_str_eq(sc.nodes[0].conf->discipline.name, "", "the server changed too");
	sim_scenario_free(&sc);
}

Test(scenario_set, list_items_by_index)
{
	sim_override ov = {"nodes.1.discipline", "regress", false};
	sim_scenario sc;

	expect_loaded(&sc, &ov, 1);
	cr_assert_str_eq(sc.nodes[1].conf->discipline.name, "regress");
	sim_scenario_free(&sc);
}

/* The client's conf is an anchor that ntpd's aliases: += changes the
 * client's text only. */
Test(scenario_set, append_a_conf_line_to_one_node_of_an_alias)
{
	sim_override ov = {"nodes.client.conf", "tinker panic 0", true};
	sim_scenario sc;

	expect_loaded(&sc, &ov, 1);
	cr_assert_float_eq(sc.nodes[1].conf->tinker_panic, 0.0, 1e-12);
	cr_assert_lt(sc.nodes[2].conf->tinker_panic, 0.0, "the alias changed too");
	cr_assert_eq(sc.nodes[1].conf->n_servers, 1);
	sim_scenario_free(&sc);
}

Test(scenario_set, bad_value_is_the_loaders_error_with_the_override_named)
{
	sim_override ov[] = {{"network.default.jitter", "1ms", false},
	                     {"nodes.client.discipline", "bogus", false}};

	expect_error(ov, 2, "--set nodes.client.discipline=bogus: t.yaml:", "nodes[1].discipline");
}

Test(scenario_set, bad_conf_line_names_the_override)
{
	sim_override ov = {"nodes.client.conf", "server", true};

	expect_error(&ov, 1, "--set nodes.client.conf+=server: t.yaml:", "ntp.conf line 2");
}

Test(scenario_set, missing_list_item_names_the_part)
{
	sim_override ov = {"nodes.clent.discipline", "regress", false};

	expect_error(&ov, 1, "--set nodes.clent.discipline=regress: t.yaml:",
	             "nodes has no item named 'clent' (names: server, client, ntpd)");
}

Test(scenario_set, missing_intermediate_key_is_an_error)
{
	sim_override ov = {"network.defualt.jitter", "1ms", false};

	expect_error(&ov, 1, "network has no field 'defualt' (fields: default)", NULL);
}

Test(scenario_set, path_through_a_value_is_an_error)
{
	sim_override ov = {"duration.x", "1", false};

	expect_error(&ov, 1, "'duration' is a value, not a mapping or list", NULL);
}

Test(scenario_set, unknown_top_level_key_is_created_and_refused_by_the_loader)
{
	sim_override ov = {"durration", "5s", false};

	expect_error(&ov, 1, "--set durration=5s: t.yaml:", "did you mean 'duration'");
}

Test(scenario_set, append_to_a_mapping_is_an_error)
{
	sim_override ov = {"network.default", "x", true};

	expect_error(&ov, 1, "+= appends a line to text; this is a mapping", NULL);
}

Test(scenario_set, a_file_with_its_own_error_is_not_blamed_on_the_override)
{
	static const char bad[] = "duration: 1x\nnodes: []\n";
	sim_override ov = {"name", "x", false};
	sim_scenario sc;
	char err[ERR_SIZE];

	cr_assert_eq(sim_scenario_load_buffer_set(&sc, "b.yaml", bad, strlen(bad), &ov, 1, err,
	                                          ERR_SIZE),
	             -1);
	cr_assert_eq(strncmp(err, "b.yaml:", 7), 0, "%s", err);
}
