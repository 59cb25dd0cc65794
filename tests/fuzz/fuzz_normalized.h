/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Shared by fuzz_scenario.c and fuzz_sweep.c: a loaded scenario's
 * normalized JSON (sim_scenario_write_json: `ntpsim check --normalized`,
 * report.json's scenario.effective) must be JSON that jansson reads back,
 * an object whose "nodes" lists total_nodes nodes, each with a name.
 */
#ifndef FUZZ_NORMALIZED_H
#define FUZZ_NORMALIZED_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "sim_scenario.h"
#include "sim_scenario_json.h"

static void
fuzz_require(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz: %s\n", what);
		abort();
	}
}

static void
fuzz_check_normalized(const sim_scenario *sc)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	json_error_t je;
	json_t *root, *nodes;

	fuzz_require(f != NULL, "open_memstream");
	fuzz_require(sim_scenario_write_json(sc, f) == 0, "sim_scenario_write_json failed");
	fuzz_require(fclose(f) == 0, "fclose");
	root = json_loadb(text, len, 0, &je);
	if (root == NULL) {
		fprintf(stderr, "normalized JSON refused: %d:%d: %s\n", je.line, je.column,
		        je.text);
		abort();
	}
	nodes = json_object_get(root, "nodes");
	fuzz_require(json_is_object(root) && json_is_array(nodes), "no nodes list");
	fuzz_require(json_integer_value(json_object_get(root, "total_nodes")) == sc->total_nodes,
	             "total_nodes");
	fuzz_require(json_array_size(nodes) == sc->total_nodes, "nodes listed != total_nodes");
	for (size_t i = 0; i < json_array_size(nodes); i++) {
		fuzz_require(json_is_string(json_object_get(json_array_get(nodes, i), "name")),
		             "a node without a name");
	}
	json_decref(root);
	free(text);
}

#endif
