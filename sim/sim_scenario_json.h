/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_scenario_json: a loaded scenario as one JSON object, the output of
 * `ntpsim check --normalized FILE` and report.json's scenario.effective.
 *
 * It is the scenario as ntpsim understood it, so that other tools
 * (realnet (python3 -m realnet)) need no loader of their own: every time in
 * seconds, every rate in s/s, probabilities as fractions, rates in bit/s;
 * replicas expanded (one object per concrete node, with its final name and
 * address); every node reference resolved to node names; each node's
 * ntp.conf text verbatim next to its server lines resolved to addresses.
 * Deterministic: fixed key order, numbers exact (sim_json.h json_num_exact).
 */
#ifndef SIM_SCENARIO_JSON_H
#define SIM_SCENARIO_JSON_H

#include <stdio.h>

#include "sim_json.h"
#include "sim_scenario.h"

/* Version of the shape below; bumped when a key changes meaning. */
#define SIM_SCENARIO_JSON_VERSION 1

/* Write sc as JSON to f.  Returns 0, or -1 when writing failed. */
int sim_scenario_write_json(const sim_scenario *sc, FILE *f);

/* A check's parameters as the members of the object w has open: the
 * "params" of its entry in the JSON above, which report.json repeats. */
void sim_scenario_json_check_params(json_w *w, const sim_scenario *sc, const sim_check_spec *c);

#endif
