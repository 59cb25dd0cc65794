/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The scenario's events: what happens at a time (firewall, partitions,
 * clock steps, faults, link changes, queries) (docs/scenarios.md, "Events").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_scenario_load.h"

/* ------------------------------------------------------------------ */
/* events                                                              */

static const char *const event_do[] = {
        "firewall-on", "firewall-off", "partition", "heal", "step",  "freq",
        "stop",        "start",        "fault",     "link", "query", NULL,
};

static const int event_do_kind[] = {
        SIM_EV_FIREWALL, SIM_EV_FIREWALL, SIM_EV_PARTITION, SIM_EV_HEAL, SIM_EV_STEP,  SIM_EV_FREQ,
        SIM_EV_STOP,     SIM_EV_START,    SIM_EV_FAULT,     SIM_EV_LINK, SIM_EV_QUERY,
};

const char *
sim_event_kind_name(int kind, bool enable)
{
	if (kind == SIM_EV_FIREWALL) {
		return enable ? "firewall-on" : "firewall-off";
	}
	for (size_t i = 0; event_do[i] != NULL; i++) {
		if (event_do_kind[i] == kind) {
			return event_do[i];
		}
	}
	return "?";
}

static int
find_rule(loader *ld, const yaml_node_t *v, size_t *out)
{
	const char *s = ld_scalar(ld, v, "a firewall rule name");

	if (s == NULL) {
		return -1;
	}
	for (size_t i = 0; i < ld->sc->n_fw; i++) {
		if (strcmp(ld->sc->fw[i].name, s) == 0) {
			*out = i;
			return 0;
		}
	}
	return ld_fail(ld, v, "no firewall rule named '%.40s'", s);
}

/* Groups of names: all ranges in one array, each group closed by a
 * zero-count separator. */
static int
get_groups(loader *ld, const yaml_node_t *v, sim_event_spec *e)
{
	size_t total = 0;

	if (ld_expect_sequence(ld, v, "groups of node names") != 0) {
		return -1;
	}
	if (ld_seq_len(v) == 0) {
		return ld_fail(ld, v, "expected at least one group");
	}
	for (size_t i = 0; i < ld_seq_len(v); i++) {
		yaml_node_t *g = ld_seq_item(ld, v, i);

		total += (g->type == YAML_SEQUENCE_NODE ? ld_seq_len(g) : 1) + 1;
	}
	if (total > SIM_MAX_ITEMS) {
		return ld_fail(ld, v, "too many names in the groups");
	}
	free(e->groups);
	e->groups = calloc(total, sizeof(*e->groups));
	if (e->groups == NULL) {
		return ld_fatal(ld, v, "out of memory");
	}
	e->n_groups = 0;
	for (size_t i = 0; i < ld_seq_len(v); i++) {
		size_t mark = ld_path_index(ld, i);
		sim_range *list = NULL;
		size_t count = 0;
		int rc = ld_get_node_list(ld, ld_seq_item(ld, v, i), &list, &count);

		ld_path_restore(ld, mark);
		if (rc != 0 || e->n_groups + count + 1 > total) {
			free(list);
			return rc != 0 ? -1 : ld_fail(ld, v, "groups changed while reading them");
		}
		memcpy(&e->groups[e->n_groups], list, count * sizeof(*list));
		e->n_groups += count;
		e->groups[e->n_groups].count = 0; /* separator */
		e->n_groups++;
		free(list);
	}
	return 0;
}

static const char *const event_common_keys[] = {"at", "do", "every", "until", NULL};

/* Fields per `do`: what else may appear. */
static const char *const *
event_keys_for(int kind)
{
	static const char *const fw[] = {"rule", NULL};
	static const char *const part[] = {"nodes", "groups", NULL};
	static const char *const none[] = {NULL};
	static const char *const step[] = {"node", "by", NULL};
	static const char *const freq[] = {"node", "freq", NULL};
	static const char *const node[] = {"node", NULL};
	static const char *const fault[] = {"node",     "kinds", "leap", "offset",
	                                    "rootdisp", "stale", "kod",  NULL};
	static const char *const query[] = {"node",    "servers", "samples",      "interval",
	                                    "timeout", "set",     "unprivileged", NULL};

	switch (kind) {
	case SIM_EV_FIREWALL:
		return fw;
	case SIM_EV_PARTITION:
		return part;
	case SIM_EV_STEP:
		return step;
	case SIM_EV_FREQ:
		return freq;
	case SIM_EV_STOP:
	case SIM_EV_START:
		return node;
	case SIM_EV_FAULT:
		return fault;
	case SIM_EV_QUERY:
		return query;
	case SIM_EV_LINK:
		return NULL; /* the link fields' table */
	default:
		return none;
	}
}

static int
load_event(loader *ld, const yaml_node_t *n)
{
	sim_event_spec *e;
	int do_index = -1;
	const char *const *kind_keys;
	const char *link_keys[LD_FIELDS_MAX + 1];
	bool have_at = false, have_node = false, have_value = false;
	unsigned errors = ld->n_errors;

	if (ld_expect_mapping(ld, n, "an event (at, do, ...)") != 0 ||
	    ld_add_event(ld, n, &e) != 0) {
		return -1;
	}
	do_index = ld_discriminator(ld, n, "do", event_do, "'do' (an event action)");
	if (do_index == -1) {
		return -1;
	}
	if (do_index < 0) { /* -2: absent */
		return ld_fail(ld, n,
		               "an event needs 'do' (firewall-on, firewall-off, partition, heal, "
		               "step, freq, stop, start, fault, link or query)");
	}
	e->kind = event_do_kind[do_index];
	e->enable = do_index == 0;
	kind_keys = event_keys_for(e->kind);
	if (kind_keys == NULL) {
		ld_field_keys(ld_link_fields, link_keys);
		kind_keys = link_keys;
	}
	if (e->kind == SIM_EV_LINK) {
		netem_link_params_init(&e->link.p);
	}
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key), *v = ld_get(ld, pr->value);
		const char *key = ld_scalar(ld, k, "a field name");
		size_t mark;
		int rc = 0;

		if (ld->fatal) {
			return -1;
		}
		if (key == NULL) {
			continue;
		}
		if (!ld_in_list(key, event_common_keys) && !ld_in_list(key, kind_keys)) {
			uint64_t unused = 0;
			char where[64];

			/* not in the list: names the fields that are */
			snprintf(where, sizeof(where), "a '%s' event", event_do[do_index]);
			ld_key_index(ld, k, kind_keys, &unused, where);
			continue;
		}
		mark = ld_path_key(ld, key);
		if (strcmp(key, "at") == 0) {
			rc = ld_get_time_nonneg(ld, v, &e->at);
			if (rc == 0) {
				rc = ld_check_in_run(ld, v, e->at, false,
				                     "the event would never happen");
			}
			have_at = true;
		} else if (strcmp(key, "every") == 0) {
			rc = ld_get_duration(ld, v, &e->every);
			if (rc == 0 && e->every < 1e-3) {
				rc = ld_fail(ld, v, "'every' must be at least 1 ms");
			}
		} else if (strcmp(key, "until") == 0) {
			rc = ld_get_time_nonneg(ld, v, &e->until);
			if (rc == 0) {
				rc = ld_check_in_run(
				        ld, v, e->until, true,
				        "the repetitions after the end would never "
				        "happen (leave 'until' out to repeat to the end)");
			}
		} else if (strcmp(key, "do") == 0) {
			rc = 0;
		} else if (strcmp(key, "rule") == 0) {
			rc = find_rule(ld, v, &e->rule);
			have_node = true;
		} else if (strcmp(key, "node") == 0) {
			rc = ld_get_node_ref(ld, v, &e->nodes, false);
			have_node = true;
		} else if (strcmp(key, "nodes") == 0) {
			sim_range *list = NULL;
			size_t count = 0;

			rc = ld_get_node_list(ld, v, &list, &count);
			if (rc == 0) {
				e->groups = calloc(count + 1, sizeof(*e->groups));
				if (e->groups == NULL) {
					rc = ld_fatal(ld, v, "out of memory");
				} else {
					memcpy(e->groups, list, count * sizeof(*list));
					e->n_groups = count + 1; /* last: separator */
				}
			}
			free(list);
			have_node = true;
		} else if (strcmp(key, "groups") == 0) {
			rc = get_groups(ld, v, e);
			have_node = true;
		} else if (strcmp(key, "by") == 0) {
			rc = ld_get_duration(ld, v, &e->value);
			have_value = true;
		} else if (strcmp(key, "freq") == 0) {
			rc = ld_get_freq(ld, v, &e->value);
			if (rc == 0) {
				rc = ld_check_range(ld, v, e->value, -SIM_OSC_FREQ_MAX,
				                    SIM_OSC_FREQ_MAX, "s/s");
			}
			have_value = true;
		} else if (e->kind == SIM_EV_QUERY) {
			/* in kind_keys: a query field */
			int qi = ld_field_index(ld_query_fields, key);

			rc = ld_read_field(ld, &ld_query_fields[qi], v, &e->query, NULL);
		}
		ld_path_restore(ld, mark);
		if (rc != 0 && ld->fatal) {
			return -1;
		}
	}
	if (e->kind == SIM_EV_FAULT) {
		ld_get_fault_fields(ld, n, &e->fault, true);
	}
	if (e->kind == SIM_EV_LINK && ld_get_link_ends(ld, n, &e->link, &e->both) == 0 &&
	    ld_link_event_base(ld, n, &e->link, e->both, &e->link.p) == 0) {
		ld_get_link_fields(ld, n, &e->link.p, &e->link.trace, true, event_common_keys,
		                   "a link event");
	}
	if (e->kind == SIM_EV_LINK) {
		e->link.line = e->line;
		have_node = true;
	}
	if (!have_at) {
		ld_fail(ld, n, "an event needs 'at' (seconds after the start)");
	}
	if (e->kind != SIM_EV_HEAL && !have_node) {
		ld_fail(ld, n, "a '%s' event needs %s", event_do[do_index],
		        e->kind == SIM_EV_FIREWALL    ? "'rule'"
		        : e->kind == SIM_EV_PARTITION ? "'nodes' or 'groups'"
		                                      : "'node'");
	}
	if ((e->kind == SIM_EV_STEP || e->kind == SIM_EV_FREQ) && !have_value) {
		ld_fail(ld, n, "a '%s' event needs '%s'", event_do[do_index],
		        e->kind == SIM_EV_STEP ? "by" : "freq");
	}
	if (e->kind == SIM_EV_QUERY && e->query.n_servers == 0 &&
	    ld_errors_since(ld, errors) == 0) {
		ld_fail(ld, n, "a 'query' event needs 'servers'");
	}
	return ld_errors_since(ld, errors);
}

int
ld_load_events(loader *ld, const yaml_node_t *n)
{
	unsigned errors = ld->n_errors;

	if (ld_expect_sequence(ld, n, "events") != 0) {
		return -1;
	}
	for (size_t i = 0; i < ld_seq_len(n) && !ld->fatal; i++) {
		size_t mark = ld_path_index(ld, i);

		load_event(ld, ld_seq_item(ld, n, i));
		ld_path_restore(ld, mark);
	}
	return ld_errors_since(ld, errors);
}
