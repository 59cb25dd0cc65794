/* SPDX-License-Identifier: BSD-2-Clause */
/* The scenario's leap seconds: `leaps:`, a node's `leapfile:` (parsed, in
 * the normalized JSON), `check: leap`, and sim_utc's true POSIX-UTC. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_scenario.h"
#include "sim_scenario_json.h"
#include "sim_utc.h"

#define ERR_SIZE 8192                /* B, as ntpsim's ERR_MAX */
#define NS       INT64_C(1000000000) /* ns per s */
#define JAN_2017 INT64_C(1483228800) /* s, 2017-01-01T00:00:00Z POSIX */
#define JUL_2025 INT64_C(1751328000) /* s, 2025-07-01T00:00:00Z POSIX */

static const char scenario[] = "duration: 30min\n"
                               "start: 2025-06-30T23:50:00Z\n"
                               "leaps:\n"
                               "  - {day: 2025-06-30, step: -1}\n"
                               "nodes:\n"
                               "  - name: server\n"
                               "    conf: |\n"
                               "      server 127.127.1.0\n"
                               "      leapfile /etc/leap.list\n"
                               "    leapfile: |\n"
                               "      #$\t3944678400\n"
                               "      #@\t3976214400\n"
                               "      3692217600\t37\n"
                               "      3960316800\t36\n"
                               "      #h\t1b0b2108 76165cb6 3a17de5b b2e5a459 add6bd58\n"
                               "checks:\n"
                               "  - {check: leap, node: server, expect: deleted}\n";

Test(scenario_leap, loaded_and_normalized)
{
	sim_scenario sc;
	char err[ERR_SIZE];
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_error_t jerr;

	cr_assert_eq(sim_scenario_load_buffer(&sc, "t.yaml", scenario, strlen(scenario), err,
	                                      sizeof err),
	             0, "%s", err);
	cr_assert_not_null(sc.leaps);
	cr_assert_eq(sc.leaps->n, 1);
	cr_assert_eq(sc.leaps->e[0].when, JUL_2025);
	cr_assert_eq(sc.leaps->e[0].step, -1);
	cr_assert_not_null(sc.nodes[0].leapfile);
	cr_assert_eq(sc.nodes[0].leapfile->hash, NTP_LEAP_HASH_GOOD);
	cr_assert_str_eq(sc.nodes[0].leapfile->filename, "/etc/leap.list");
	cr_assert_eq(sc.checks[0].kind, SIM_CHECK_EVENT);
	cr_assert_str_eq(sc.checks[0].text, "deleted");
	cr_assert_eq(sc.checks[0].min, 1);
	cr_assert_eq(sc.checks[0].max_count, 1);
	cr_assert_eq(sim_scenario_write_json(&sc, f), 0);
	fclose(f);
	sim_scenario_free(&sc);
	json_t *root = json_loads(buf, 0, &jerr);
	cr_assert_not_null(root, "%s", jerr.text);
	json_t *leaps = json_object_get(root, "leaps");
	cr_assert_eq(json_array_size(leaps), 1);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(leaps, 0), "day")),
	                 "2025-06-30");
	const char *lf = json_string_value(
	        json_object_get(json_array_get(json_object_get(root, "nodes"), 0), "leapfile"));
	cr_assert_not_null(lf);
	cr_assert(strstr(lf, "3960316800\t36") != NULL, "%s", lf);
	json_decref(root);
	free(buf);
}

Test(scenario_leap, utc_through_an_insert_and_a_delete)
{
	ntp_leap_table t;
	sim_utc u;
	int64_t start = (JAN_2017 - 600) * NS;

	ntp_leap_init(&t, "t");
	cr_assert(ntp_leap_add(&t, JAN_2017, 1));
	cr_assert(ntp_leap_add(&t, JUL_2025, -1));
	sim_utc_init(&u, &t, start);
	cr_assert_eq(u.n, 2);
	/* insert: 23:59:59 lasts two SI seconds */
	cr_assert_eq(sim_utc_posix(&u, JAN_2017 * NS - NS / 2), JAN_2017 * NS - NS / 2);
	cr_assert_eq(sim_utc_posix(&u, JAN_2017 * NS + NS / 2), JAN_2017 * NS - NS / 2);
	cr_assert_eq(sim_utc_posix(&u, JAN_2017 * NS + 3 * NS / 2), JAN_2017 * NS + NS / 2);
	/* delete, one second later in SI time than in POSIX: 23:59:59 never shows */
	int64_t edge = JUL_2025 * NS - NS + NS; /* its POSIX edge, plus the inserted second */
	cr_assert_eq(sim_utc_posix(&u, edge - NS / 2), JUL_2025 * NS - 3 * NS / 2);
	cr_assert_eq(sim_utc_posix(&u, edge), JUL_2025 * NS);
	/* a run that starts after a leap does not see it */
	sim_utc_init(&u, &t, JAN_2017 * NS);
	cr_assert_eq(u.n, 1);
	cr_assert_eq(sim_utc_posix(&u, JAN_2017 * NS + NS), JAN_2017 * NS + NS);
}

Test(scenario_leap, leapfile_without_the_directive_is_an_error)
{
	sim_scenario sc;
	char err[ERR_SIZE];
	const char *text = "duration: 1h\n"
	                   "nodes:\n"
	                   "  - name: a\n"
	                   "    conf: |\n"
	                   "      server 127.127.1.0\n"
	                   "    leapfile: |\n"
	                   "      3692217600 37\n";

	cr_assert_eq(sim_scenario_load_buffer(&sc, "t.yaml", text, strlen(text), err, sizeof err),
	             -1);
	cr_assert(strstr(err, "t.yaml:6:15: nodes[0].leapfile: node 'a' has 'leapfile:' text but "
	                      "its conf has no 'leapfile NAME' line") != NULL,
	          "%s", err);
}
