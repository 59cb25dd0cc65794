/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for the ntpsim scenario loader (sim/sim_scenario.c):
 * any bytes are loaded as a scenario file.  Properties checked:
 *   - loading never crashes, leaks or reads past the input;
 *   - a refusal always carries a message that names the file;
 *   - a scenario that loads is self-consistent: every node range in its
 *     links, events and checks lies inside the node count, and each node
 *     has a name and an address;
 *   - its normalized JSON (sim_scenario_write_json: `ntpsim check
 *     --normalized`, report.json's scenario.effective) is valid JSON that
 *     jansson reads back, an object whose "nodes" lists total_nodes nodes,
 *     each with a name;
 *   - a small accepted scenario (at most 8 nodes, cut to 60 simulated
 *     seconds) also runs through the engine without crashing.
 * Seeds: tests/fuzz/corpus/scenario/ (the catalogue's files and the
 * loader's error cases).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_normalized.h"
#include "fuzz_support.h"
#include "sim_engine.h"
#include "sim_scenario.h"

#define RUN_MAX_NODES   8    /* nodes for a fuzzed run (ours) */
#define RUN_MAX_SECONDS 60.0 /* s simulated in a fuzzed run (ours) */

static void
check_range(const sim_scenario *sc, const sim_range *r)
{
	CHECK(r->first <= sc->total_nodes);
	CHECK(r->count <= sc->total_nodes - r->first);
}

static void
check_node(const sim_scenario *sc, uint32_t i)
{
	char name[64];
	ntp_addr a = sim_scenario_node_addr(sc, i);

	CHECK(sim_scenario_node_name(sc, i, name, sizeof(name))[0] != '\0');
	CHECK(a.family == NTP_AF_INET || a.family == NTP_AF_INET6);
}

static void
check_consistent(const sim_scenario *sc)
{
	CHECK(sc->n_nodes > 0 && sc->total_nodes > 0);
	for (uint32_t i = 0; i < sc->total_nodes && i < 64; i++) {
		check_node(sc, i);
	}
	check_node(sc, sc->total_nodes - 1);
	for (size_t i = 0; i < sc->n_links; i++) {
		if (!sc->links[i].from_any) {
			check_range(sc, &sc->links[i].from);
		}
		if (!sc->links[i].to_any) {
			check_range(sc, &sc->links[i].to);
		}
	}
	for (size_t i = 0; i < sc->n_events; i++) {
		const sim_event_spec *e = &sc->events[i];

		check_range(sc, &e->nodes);
		for (size_t g = 0; g < e->n_groups; g++) {
			check_range(sc, &e->groups[g]);
		}
		CHECK(e->kind != SIM_EV_FIREWALL || e->rule < sc->n_fw);
	}
	for (size_t i = 0; i < sc->n_checks; i++) {
		check_range(sc, &sc->checks[i].nodes);
		CHECK(sc->checks[i].nodes.count > 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sim_scenario sc;
	char err[4096];

	if (sim_scenario_load_buffer(&sc, "fuzz.yaml", (const char *)data, size, err,
	                             sizeof(err)) != 0) {
		CHECK(strncmp(err, "fuzz.yaml", 9) == 0);
		return 0;
	}
	check_consistent(&sc);
	fuzz_check_normalized(&sc);
	if (sc.total_nodes <= RUN_MAX_NODES) {
		sim_opts o;
		sim_summary sum;

		memset(&o, 0, sizeof(o));
		if (sc.duration > RUN_MAX_SECONDS) {
			sc.duration = RUN_MAX_SECONDS;
		}
		if (sc.sample_interval > 0.0 && sc.sample_interval < 0.1) {
			sc.sample_interval = 0.1;
		}
		int rc = sim_run(&sc, &o, &sum, err, sizeof(err));

		CHECK(rc == SIM_PASS || rc == SIM_FAIL || rc == SIM_ERROR);
	}
	sim_scenario_free(&sc);
	return 0;
}
