/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The scenario's events: what happens at a time (firewall, partitions,
 * clock steps, faults, link changes, queries) (docs/scenarios.md, "Events").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_scenario_load.h"

#define EVERY_MIN 1e-3 /* s, the shortest repetition of an event (ours) */

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

static int
get_every(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	sim_event_spec *e = obj;
	int rc = ld_get_duration(ld, v, &e->every);

	(void)ctx;
	if (rc == 0 && e->every < EVERY_MIN) {
		rc = ld_fail(ld, v, "'every' must be at least 1 ms");
	}
	return rc;
}

static int
get_until(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	sim_event_spec *e = obj;
	int rc = ld_get_time_nonneg(ld, v, &e->until);

	(void)ctx;
	if (rc == 0) {
		rc = ld_check_in_run(ld, v, e->until, true,
		                     "the repetitions after the end would never happen (leave "
		                     "'until' out to repeat to the end)");
	}
	return rc;
}

static int
get_rule(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	(void)ctx;
	return find_rule(ld, v, &((sim_event_spec *)obj)->rule);
}

static int
get_node(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	(void)ctx;
	return ld_get_node_ref(ld, v, &((sim_event_spec *)obj)->nodes, false);
}

/* nodes: one group (the rest of the nodes the other side) */
static int
get_nodes(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	sim_event_spec *e = obj;
	sim_range *list = NULL;
	size_t count = 0;
	int rc = ld_get_node_list(ld, v, &list, &count);

	(void)ctx;
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
	return rc;
}

static int
get_groups_field(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	(void)ctx;
	return get_groups(ld, v, obj);
}

/* Which `do` a row is for: the event being read is obj. */
static int
kind_of(const void *obj)
{
	return ((const sim_event_spec *)obj)->kind;
}

static bool
for_firewall(const void *obj)
{
	return kind_of(obj) == SIM_EV_FIREWALL;
}

static bool
for_partition(const void *obj)
{
	return kind_of(obj) == SIM_EV_PARTITION;
}

static bool
for_one_node(const void *obj)
{
	int k = kind_of(obj);

	return k == SIM_EV_STEP || k == SIM_EV_FREQ || k == SIM_EV_STOP || k == SIM_EV_START ||
	       k == SIM_EV_FAULT || k == SIM_EV_QUERY;
}

static bool
for_step(const void *obj)
{
	return kind_of(obj) == SIM_EV_STEP;
}

static bool
for_freq(const void *obj)
{
	return kind_of(obj) == SIM_EV_FREQ;
}

static bool
for_fault(const void *obj)
{
	return kind_of(obj) == SIM_EV_FAULT;
}

static bool
for_query(const void *obj)
{
	return kind_of(obj) == SIM_EV_QUERY;
}

#define EVENT(m)  LD_MEMBER(sim_event_spec, m)
#define FAULT_ROW .type = LD_FT_IN, EVENT(fault), .sub = ld_fault_fields, .only = for_fault
#define QUERY_ROW .type = LD_FT_IN, EVENT(query), .sub = ld_query_fields, .only = for_query

/* The fields of an event (docs/scenarios.md, "Events"): at, do, every and
 * until for every `do`, the rest (`only`) for some; in this order in the
 * unknown-field message.  A link event's fields are ld_link_fields. */
static const ld_field event_fields[] = {
        {"at", LD_FT_IN_RUN, EVENT(at), .why = "the event would never happen"},
        {.key = "do", .type = LD_FT_LATER},
        {"every", LD_FT_CUSTOM, .get = get_every},
        {"until", LD_FT_CUSTOM, .get = get_until},
        {"rule", LD_FT_CUSTOM, .get = get_rule, .only = for_firewall},
        {"nodes", LD_FT_CUSTOM, .get = get_nodes, .only = for_partition},
        {"groups", LD_FT_CUSTOM, .get = get_groups_field, .only = for_partition},
        {"node", LD_FT_CUSTOM, .get = get_node, .only = for_one_node},
        {"by", LD_FT_DURATION, EVENT(value), .only = for_step},
        {"freq", LD_FT_FREQ, EVENT(value), .min = -SIM_OSC_FREQ_MAX, .max = SIM_OSC_FREQ_MAX,
         .unit = "s/s", .only = for_freq},
        {.key = "kinds", FAULT_ROW},
        {.key = "leap", FAULT_ROW},
        {.key = "offset", FAULT_ROW},
        {.key = "rootdisp", FAULT_ROW},
        {.key = "stale", FAULT_ROW},
        {.key = "kod", FAULT_ROW},
        {.key = "servers", QUERY_ROW},
        {.key = "samples", QUERY_ROW},
        {.key = "interval", QUERY_ROW},
        {.key = "timeout", QUERY_ROW},
        {.key = "set", QUERY_ROW},
        {.key = "unprivileged", QUERY_ROW},
        {.key = NULL},
};

enum { EK_AT, EK_DO, EK_EVERY, EK_UNTIL, EK_RULE, EK_NODES, EK_GROUPS, EK_NODE, EK_BY, EK_FREQ };

#define EK_BIT(i) (UINT64_C(1) << (i))

/* The keys an event of e's `do` may have besides at/do/every/until. */
static void
keys_for(const sim_event_spec *e, const char *keys[LD_FIELDS_MAX + 1])
{
	int n = 0;

	if (e->kind == SIM_EV_LINK) {
		ld_field_keys(ld_link_fields, keys);
		return;
	}
	for (const ld_field *f = event_fields; f->key != NULL; f++) {
		if (f->only != NULL && f->only(e)) {
			keys[n++] = f->key;
		}
	}
	keys[n] = NULL;
}

/* The event's fields by event_fields; *seen: bit per row given. */
static void
read_event_fields(loader *ld, const yaml_node_t *n, sim_event_spec *e, const char *action,
                  uint64_t *seen)
{
	const char *keys[LD_FIELDS_MAX + 1];

	keys_for(e, keys);
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key), *v = ld_get(ld, pr->value);
		const char *key = ld_scalar(ld, k, "a field name");
		int i;
		size_t mark;

		if (ld->fatal) {
			return;
		}
		if (key == NULL) {
			continue;
		}
		if (!ld_in_list(key, event_common_keys) && !ld_in_list(key, keys)) {
			uint64_t unused = 0;
			char where[64];

			/* not in the list: names the fields that are */
			snprintf(where, sizeof(where), "a '%s' event", action);
			ld_key_index(ld, k, keys, &unused, where);
			continue;
		}
		i = ld_field_index(event_fields, key);
		if (i < 0) {
			continue; /* a link field: ld_get_link_fields */
		}
		*seen |= EK_BIT(i);
		mark = ld_path_key(ld, key);
		ld_read_field(ld, &event_fields[i], v, e, NULL);
		ld_path_restore(ld, mark);
	}
}

static int
load_event(loader *ld, const yaml_node_t *n)
{
	sim_event_spec *e;
	int do_index = -1;
	uint64_t seen = 0;
	bool have_node;
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
	if (e->kind == SIM_EV_LINK) {
		netem_link_params_init(&e->link.p);
	}
	read_event_fields(ld, n, e, event_do[do_index], &seen);
	if (ld->fatal) {
		return -1;
	}
	if (e->kind == SIM_EV_LINK && ld_get_link_ends(ld, n, &e->link, &e->both) == 0 &&
	    ld_link_event_base(ld, n, &e->link, e->both, &e->link.p) == 0) {
		ld_get_link_fields(ld, n, &e->link.p, &e->link.trace, true, event_common_keys,
		                   "a link event");
	}
	have_node = e->kind == SIM_EV_LINK || (seen & (EK_BIT(EK_RULE) | EK_BIT(EK_NODE) |
	                                               EK_BIT(EK_NODES) | EK_BIT(EK_GROUPS))) != 0;
	if (e->kind == SIM_EV_LINK) {
		e->link.line = e->line;
	}
	if (!(seen & EK_BIT(EK_AT))) {
		ld_fail(ld, n, "an event needs 'at' (seconds after the start)");
	}
	if (e->kind != SIM_EV_HEAL && !have_node) {
		ld_fail(ld, n, "a '%s' event needs %s", event_do[do_index],
		        e->kind == SIM_EV_FIREWALL    ? "'rule'"
		        : e->kind == SIM_EV_PARTITION ? "'nodes' or 'groups'"
		                                      : "'node'");
	}
	if ((e->kind == SIM_EV_STEP || e->kind == SIM_EV_FREQ) &&
	    !(seen & (EK_BIT(EK_BY) | EK_BIT(EK_FREQ)))) {
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
