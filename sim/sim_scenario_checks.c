/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The scenario's checks: what a run must show to pass, and each check's
 * label in the report (docs/scenarios.md, "Checks").
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "ntp_host.h"
#include "sim_scenario_load.h"
#include "ntp_units.h"

/* ------------------------------------------------------------------ */
/* checks                                                              */

static const char *const check_names[] = {
        "synced", "offset",  "rms",  "steps", "rejected", "selected",
        "event",  "packets", "freq", "query", "bound",    NULL,
};

static const int check_kinds[] = {
        SIM_CHECK_SYNCED,   SIM_CHECK_OFFSET,   SIM_CHECK_RMS,   SIM_CHECK_STEPS,
        SIM_CHECK_REJECTED, SIM_CHECK_SELECTED, SIM_CHECK_EVENT, SIM_CHECK_PACKETS,
        SIM_CHECK_FREQ,     SIM_CHECK_QUERY,    SIM_CHECK_BOUND,
};

static const char *const *
check_keys_for(int kind)
{
	static const char *const synced[] = {"within", "bound", NULL};
	static const char *const window_max[] = {"after", "max", NULL};
	static const char *const rms[] = {"from", "to", "max", NULL};
	static const char *const counted[] = {"count", "min", "max", NULL};
	static const char *const rejected[] = {"source", "reason", NULL};
	static const char *const selected[] = {"source", NULL};
	static const char *const event[] = {"name", "reason", "count", "min", "max", NULL};
	static const char *const packets[] = {"dir", "count", "min", "max", NULL};
	static const char *const query[] = {"result", NULL};
	static const char *const bound[] = {"min_fraction", NULL};

	switch (kind) {
	case SIM_CHECK_SYNCED:
		return synced;
	case SIM_CHECK_OFFSET:
	case SIM_CHECK_FREQ:
		return window_max;
	case SIM_CHECK_RMS:
		return rms;
	case SIM_CHECK_STEPS:
		return counted;
	case SIM_CHECK_REJECTED:
		return rejected;
	case SIM_CHECK_SELECTED:
		return selected;
	case SIM_CHECK_EVENT:
		return event;
	case SIM_CHECK_PACKETS:
		return packets;
	case SIM_CHECK_QUERY:
		return query;
	default:
		return bound;
	}
}

static int
event_code_from_name(const char *s)
{
	/* The host names its codes; the list ends where names run out. */
	for (int code = 1; code < 256; code++) {
		const char *name = ntp_event_name(code);

		if (name == NULL || name[0] == '\0' || strcmp(name, "unknown") == 0) {
			break;
		}
		if (strcmp(name, s) == 0) {
			return code;
		}
	}
	return 0;
}

static int
get_source(loader *ld, const yaml_node_t *v, sim_check_spec *c)
{
	const char *s = ld_scalar(ld, v, "a node name or address");
	sim_range r;

	if (s == NULL) {
		return -1;
	}
	snprintf(c->source_name, sizeof(c->source_name), "%s", s);
	if (sim_scenario_find(ld->sc, s, &r) == 0) {
		if (r.count != 1) {
			return ld_fail(ld, v, "'%.40s' names %u nodes; name one", s, r.count);
		}
		c->source = sim_scenario_node_addr(ld->sc, r.first);
		return 0;
	}
	if (strncmp(s, "127.127.", 8) == 0 || strcmp(s, "LOCAL") == 0) {
		/* A local clock driver: matched by its remote name. */
		memset(&c->source, 0, sizeof(c->source));
		return 0;
	}
	if (!ntp_addr_parse(s, &c->source)) {
		return ld_fail(ld, v, "no node named '%.40s' and not an address", s);
	}
	return 0;
}

static void
label_check(const sim_scenario *sc, sim_check_spec *c, const char *kind_name)
{
	char who[SIM_NAME_MAX + 12], a[32], b[32];
	size_t len;

	if (c->nodes.count == 1) {
		sim_scenario_node_name(sc, c->nodes.first, who, sizeof(who));
	} else {
		snprintf(who, sizeof(who), "%s (%u nodes)",
		         sim_scenario_tmpl(sc, c->nodes.first)->name, c->nodes.count);
	}
	snprintf(c->label, sizeof(c->label), "%s %s", kind_name, who);
	len = strlen(c->label);
	switch (c->kind) {
	case SIM_CHECK_SYNCED:
		snprintf(c->label + len, sizeof(c->label) - len, " within %g s (|offset| < %s)",
		         c->within, ntp_format_seconds(c->bound, a, sizeof(a)));
		break;
	case SIM_CHECK_OFFSET:
		snprintf(c->label + len, sizeof(c->label) - len, " |offset| < %s after %g s",
		         ntp_format_seconds(c->max, a, sizeof(a)), c->from);
		break;
	case SIM_CHECK_RMS:
		if (c->to > 0.0) {
			snprintf(b, sizeof(b), "%g s", c->to);
		} else {
			snprintf(b, sizeof(b), "end");
		}
		snprintf(c->label + len, sizeof(c->label) - len, " rms offset < %s over [%g s, %s]",
		         ntp_format_seconds(c->max, a, sizeof(a)), c->from, b);
		break;
	case SIM_CHECK_FREQ:
		snprintf(c->label + len, sizeof(c->label) - len,
		         " |freq error| < %g ppm after %g s", c->max * 1e6, c->from);
		break;
	case SIM_CHECK_STEPS:
	case SIM_CHECK_EVENT:
	case SIM_CHECK_PACKETS:
		if (c->kind == SIM_CHECK_EVENT) {
			snprintf(c->label + len, sizeof(c->label) - len, " %s%s%s%s",
			         ntp_event_name(c->event_code), c->text[0] ? " '" : "", c->text,
			         c->text[0] ? "'" : "");
		} else if (c->kind == SIM_CHECK_PACKETS) {
			static const char *const dirs[] = {"sent", "received", "dropped"};

			snprintf(c->label + len, sizeof(c->label) - len, " %s", dirs[c->dir]);
		}
		len = strlen(c->label);
		if (c->min == c->max_count) {
			snprintf(c->label + len, sizeof(c->label) - len, " == %lld", c->min);
		} else if (c->max_count == LLONG_MAX) {
			snprintf(c->label + len, sizeof(c->label) - len, " >= %lld", c->min);
		} else {
			snprintf(c->label + len, sizeof(c->label) - len, " in [%lld, %lld]", c->min,
			         c->max_count);
		}
		break;
	case SIM_CHECK_REJECTED:
		snprintf(c->label + len, sizeof(c->label) - len, " source %s '%s'", c->source_name,
		         c->text);
		break;
	case SIM_CHECK_SELECTED:
		snprintf(c->label + len, sizeof(c->label) - len, " source %s", c->source_name);
		break;
	case SIM_CHECK_QUERY:
		snprintf(c->label + len, sizeof(c->label) - len, " result '%s'", c->text);
		break;
	default:
		snprintf(c->label + len, sizeof(c->label) - len, " held >= %g%% of synced time",
		         c->min_fraction * 100.0);
		break;
	}
}

static int
load_check(loader *ld, const yaml_node_t *n, sim_check_spec *c)
{
	int kind_index = -1;
	const char *const *keys;
	bool have_node = false, have_max = false, have_count = false, have_min = false,
	     have_maxc = false, have_within = false, have_source = false, have_text = false,
	     have_name = false, have_frac = false;
	unsigned errors = ld->n_errors;

	if (ld_expect_mapping(ld, n, "a check (check, node, ...)") != 0) {
		return -1;
	}
	c->line = (int)n->start_mark.line + 1;
	c->bound = SYNC_BOUND_DEFAULT;
	c->max_count = LLONG_MAX;
	kind_index = ld_discriminator(ld, n, "check", check_names, "'check' (a check kind)");
	if (kind_index == -1) {
		return -1;
	}
	if (kind_index < 0) {
		return ld_fail(ld, n,
		               "a check needs 'check' (synced, offset, rms, steps, rejected, "
		               "selected, event, packets, freq, query or bound)");
	}
	c->kind = check_kinds[kind_index];
	keys = check_keys_for(c->kind);
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key), *v = ld_get(ld, pr->value);
		const char *key = ld_scalar(ld, k, "a field name");
		size_t mark;
		int rc = 0;

		if (ld->fatal) {
			return -1;
		}
		if (key == NULL || strcmp(key, "check") == 0) {
			continue;
		}
		if (strcmp(key, "node") != 0 && !ld_in_list(key, keys)) {
			uint64_t unused = 0;
			char where[64];

			/* not in the list: names the fields that are */
			snprintf(where, sizeof(where), "a '%s' check", check_names[kind_index]);
			ld_key_index(ld, k, keys, &unused, where);
			continue;
		}
		mark = ld_path_key(ld, key);
		if (strcmp(key, "node") == 0) {
			rc = ld_get_node_ref(ld, v, &c->nodes, false);
			have_node = true;
		} else if (strcmp(key, "within") == 0) {
			rc = ld_get_time_nonneg(ld, v, &c->within);
			if (rc == 0) {
				rc = ld_check_in_run(ld, v, c->within, true,
				                     "the run cannot show that the node was synced "
				                     "by then");
			}
			have_within = true;
		} else if (strcmp(key, "bound") == 0) {
			rc = ld_get_time_nonneg(ld, v, &c->bound);
		} else if (strcmp(key, "after") == 0 || strcmp(key, "from") == 0) {
			rc = ld_get_time_nonneg(ld, v, &c->from);
			if (rc == 0) {
				/* the last sample is at the end; an rms window needs length */
				rc = ld_check_in_run(ld, v, c->from, c->kind != SIM_CHECK_RMS,
				                     "the check would have no samples to judge");
			}
		} else if (strcmp(key, "to") == 0) {
			rc = ld_get_time_nonneg(ld, v, &c->to);
			if (rc == 0) {
				rc = ld_check_in_run(ld, v, c->to, true,
				                     "the window would end after the samples do "
				                     "(leave 'to' out to mean the end)");
			}
		} else if (strcmp(key, "max") == 0 &&
		           (c->kind == SIM_CHECK_OFFSET || c->kind == SIM_CHECK_RMS)) {
			rc = ld_get_time_nonneg(ld, v, &c->max);
			have_max = true;
		} else if (strcmp(key, "max") == 0 && c->kind == SIM_CHECK_FREQ) {
			rc = ld_get_freq(ld, v, &c->max);
			if (rc == 0 && c->max < 0.0) {
				rc = ld_fail(ld, v, "expected a frequency >= 0");
			}
			have_max = true;
		} else if (strcmp(key, "count") == 0) {
			rc = ld_get_int(ld, v, 0, LLONG_MAX, &c->min);
			c->max_count = c->min;
			have_count = true;
		} else if (strcmp(key, "min") == 0) {
			rc = ld_get_int(ld, v, 0, LLONG_MAX, &c->min);
			have_min = true;
		} else if (strcmp(key, "max") == 0) {
			rc = ld_get_int(ld, v, 0, LLONG_MAX, &c->max_count);
			have_maxc = true;
		} else if (strcmp(key, "source") == 0) {
			rc = get_source(ld, v, c);
			have_source = true;
		} else if (strcmp(key, "reason") == 0 || strcmp(key, "result") == 0) {
			rc = ld_get_text(ld, v, c->text, sizeof(c->text), "text to find");
			have_text = true;
		} else if (strcmp(key, "name") == 0) {
			const char *s = ld_scalar(ld, v, "an event name");

			if (s == NULL) {
				rc = -1;
			} else if ((c->event_code = event_code_from_name(s)) == 0) {
				rc = ld_fail(ld, v,
				             "unknown event name '%.40s' (names as ntpq shows "
				             "them, e.g. clock_step, sys_peer, no_sys_peer)",
				             s);
			}
			have_name = true;
		} else if (strcmp(key, "dir") == 0) {
			/* in enum sim_packet_dir order */
			static const char *const dirs[] = {"sent", "received", "dropped", NULL};
			int d = ld_get_choice(ld, v, dirs, "sent, received or dropped");

			c->dir = d < 0 ? SIM_PKT_SENT : d;
			rc = d < 0 ? -1 : 0;
		} else if (strcmp(key, "min_fraction") == 0) {
			rc = ld_get_prob(ld, v, &c->min_fraction);
			have_frac = true;
		}
		ld_path_restore(ld, mark);
		if (rc != 0 && ld->fatal) {
			return -1;
		}
	}
	/* The rules below would only repeat a field's own error. */
	if (ld_errors_since(ld, errors) != 0) {
		return -1;
	}
	if (!have_node) {
		return ld_fail(ld, n, "a check needs 'node'");
	}
	if (have_count && (have_min || have_maxc)) {
		return ld_fail(ld, n, "give 'count' or 'min'/'max', not both");
	}
	if (c->min > c->max_count) {
		return ld_fail(ld, n, "'min' is larger than 'max'");
	}
	switch (c->kind) {
	case SIM_CHECK_SYNCED:
		if (!have_within) {
			return ld_fail(ld, n, "a 'synced' check needs 'within' (seconds)");
		}
		break;
	case SIM_CHECK_OFFSET:
	case SIM_CHECK_RMS:
	case SIM_CHECK_FREQ:
		if (!have_max) {
			return ld_fail(ld, n, "a '%s' check needs 'max'", check_names[kind_index]);
		}
		if (c->kind == SIM_CHECK_RMS && c->to > 0.0 && c->to <= c->from) {
			return ld_fail(ld, n, "'to' must come after 'from'");
		}
		break;
	case SIM_CHECK_STEPS:
	case SIM_CHECK_PACKETS:
	case SIM_CHECK_EVENT:
		if (!have_count && !have_min && !have_maxc) {
			return ld_fail(ld, n, "a '%s' check needs 'count' or 'min'/'max'",
			               check_names[kind_index]);
		}
		if (c->kind == SIM_CHECK_EVENT && !have_name) {
			return ld_fail(ld, n, "an 'event' check needs 'name'");
		}
		break;
	case SIM_CHECK_REJECTED:
	case SIM_CHECK_SELECTED:
		if (!have_source) {
			return ld_fail(ld, n, "a '%s' check needs 'source'",
			               check_names[kind_index]);
		}
		break;
	case SIM_CHECK_QUERY:
		if (!have_text) {
			return ld_fail(ld, n, "a 'query' check needs 'result'");
		}
		break;
	default:
		if (!have_frac) {
			return ld_fail(ld, n, "a 'bound' check needs 'min_fraction'");
		}
		break;
	}
	label_check(ld->sc, c, check_names[kind_index]);
	return 0;
}

int
ld_load_checks(loader *ld, const yaml_node_t *n)
{
	sim_scenario *sc = ld->sc;
	unsigned errors = ld->n_errors;
	size_t len;

	sc->checks = ld_list_array(ld, n, "checks", 1, sizeof(*sc->checks), &len);
	if (sc->checks == NULL) {
		return -1;
	}
	for (size_t i = 0; i < len && !ld->fatal; i++) {
		size_t mark = ld_path_index(ld, i);
		sim_check_spec *c = &sc->checks[sc->n_checks];

		if (load_check(ld, ld_seq_item(ld, n, i), c) == 0) {
			sc->n_checks++;
		} else {
			memset(c, 0, sizeof(*c)); /* the slot is used again */
		}
		ld_path_restore(ld, mark);
	}
	return ld_errors_since(ld, errors);
}
