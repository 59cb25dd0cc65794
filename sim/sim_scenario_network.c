/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The scenario's network: the default link, per-pair links (tc-netem
 * strings or fields, delay traces, Gilbert-Elliott loss) and the firewall
 * rules (docs/scenarios.md, "Network", "Firewall").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_scenario_load.h"
#include "sim_units.h"

#define MAX_TRACE_POINTS 1000000 /* delays of a TRACE distribution (ours) */

/* ------------------------------------------------------------------ */
/* network links                                                       */

static int
dist_from_name(const char *s)
{
	for (int d = NETEM_DIST_CONSTANT; d <= NETEM_DIST_TRACE; d++) {
		if (strcmp(netem_dist_name(d), s) == 0) {
			return d;
		}
	}
	return -1;
}

static int
get_netem_string(loader *ld, const yaml_node_t *n, netem_link_params *p)
{
	char reason[200];
	const char *s = ld_scalar(ld, n, "tc-netem parameters such as \"delay 1ms 100us\"");

	if (s == NULL) {
		return -1;
	}
	if (netem_link_parse(s, p, reason, sizeof(reason)) != 0) {
		return ld_fail(ld, n, "bad tc-netem parameters: %s", reason);
	}
	return 0;
}

static int
get_trace(loader *ld, const yaml_node_t *n, double **trace, size_t *len)
{
	size_t count;

	if (ld_expect_sequence(ld, n, "one-way delays") != 0) {
		return -1;
	}
	count = ld_seq_len(n);
	if (count == 0 || count > MAX_TRACE_POINTS) {
		return ld_fail(ld, n, "expected 1 to %d delays", MAX_TRACE_POINTS);
	}
	free(*trace);
	*trace = calloc(count, sizeof(double));
	if (*trace == NULL) {
		return ld_fail(ld, n, "out of memory");
	}
	*len = count;
	for (size_t i = 0; i < count; i++) {
		size_t mark = ld_path_index(ld, i);
		int rc = ld_get_time_nonneg(ld, ld_seq_item(ld, n, i), &(*trace)[i]);

		ld_path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	}
	return 0;
}

const char *const ld_link_keys[] = {
        "netem",          "delay",   "jitter",       "delay_corr",  "dist",
        "trace",          "loss",    "loss_corr",    "gemodel",     "duplicate",
        "duplicate_corr", "reorder", "reorder_corr", "reorder_gap", "rate",
        "down",           "from",    "to",           "both",        NULL,
};

enum {
	LK_NETEM,
	LK_DELAY,
	LK_JITTER,
	LK_DELAY_CORR,
	LK_DIST,
	LK_TRACE,
	LK_LOSS,
	LK_LOSS_CORR,
	LK_GEMODEL,
	LK_DUP,
	LK_DUP_CORR,
	LK_REORDER,
	LK_REORDER_CORR,
	LK_GAP,
	LK_RATE,
	LK_DOWN,
	LK_FROM,
	LK_TO,
	LK_BOTH,
	LK_FIRST_OTHER
};

static int
get_gemodel(loader *ld, const yaml_node_t *n, netem_link_params *p)
{
	static const char *const keys[] = {"p", "r", "h", "k", NULL};
	double *dst[] = {&p->ge_p, &p->ge_r, &p->ge_h, &p->ge_k};
	uint64_t seen = 0;

	if (ld_expect_mapping(ld, n, "Gilbert-Elliott parameters p, r, h, k") != 0) {
		return -1;
	}
	p->ge = true;
	p->ge_r = 1.0; /* tc's defaults: r = 1 - p ... keep what tc does without r */
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key), *v = ld_get(ld, pr->value);
		int i = ld_key_index(ld, k, keys, &seen, "gemodel");

		if (i < 0 || ld_get_prob(ld, v, dst[i]) != 0) {
			return -1;
		}
	}
	return 0;
}

/* Link fields of a mapping into p.  `extra` says which of from/to/both
 * may appear (for network.links entries and link events); the engine's
 * caller handles those. */
int
ld_get_link_fields(loader *ld, const yaml_node_t *n, netem_link_params *p, double **trace,
                   bool allow_ends, const char *const *skip, const char *where)
{
	uint64_t seen = 0;
	char reason[200];

	/* The tc-netem string is the base the other fields modify. */
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key);
		const char *key = k != NULL && k->type == YAML_SCALAR_NODE
		                          ? (const char *)k->data.scalar.value
		                          : "";

		if (strcmp(key, "netem") == 0) {
			size_t mark = ld_path_key(ld, "netem");
			int rc = get_netem_string(ld, ld_get(ld, pr->value), p);

			ld_path_restore(ld, mark);
			if (rc != 0) {
				return -1;
			}
		}
	}
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key), *v = ld_get(ld, pr->value);
		int i;
		size_t mark;
		int rc = 0;
		double d;
		long long ll;

		if (skip != NULL && k->type == YAML_SCALAR_NODE) {
			bool skipped = false;

			for (int j = 0; skip[j] != NULL; j++) {
				skipped |= strcmp((const char *)k->data.scalar.value, skip[j]) == 0;
			}
			if (skipped) {
				continue;
			}
		}
		i = ld_key_index(ld, k, ld_link_keys, &seen, where);
		if (i < 0) {
			return -1;
		}
		if (i >= LK_FROM && !allow_ends) {
			return ld_fail(ld, k, "field '%s' is not allowed here", ld_link_keys[i]);
		}
		mark = ld_path_key(ld, ld_link_keys[i]);
		switch (i) {
		case LK_DELAY:
			rc = ld_get_time_nonneg(ld, v, &p->delay);
			break;
		case LK_JITTER:
			rc = ld_get_time_nonneg(ld, v, &p->jitter);
			break;
		case LK_DELAY_CORR:
			rc = ld_get_prob(ld, v, &p->delay_corr);
			break;
		case LK_DIST: {
			const char *s = ld_scalar(ld, v, "a distribution name");

			if (s == NULL) {
				rc = -1;
			} else if ((p->dist = dist_from_name(s)) < 0) {
				rc = ld_fail(
				        ld, v,
				        "expected constant, uniform, normal, exponential, pareto, "
				        "paretonormal or trace, got '%.40s'",
				        s);
			}
			break;
		}
		case LK_TRACE:
			rc = get_trace(ld, v, trace, &p->trace_len);
			p->trace = *trace;
			p->dist = NETEM_DIST_TRACE;
			break;
		case LK_LOSS:
			rc = ld_get_prob(ld, v, &p->loss);
			break;
		case LK_LOSS_CORR:
			rc = ld_get_prob(ld, v, &p->loss_corr);
			break;
		case LK_GEMODEL:
			rc = get_gemodel(ld, v, p);
			break;
		case LK_DUP:
			rc = ld_get_prob(ld, v, &p->duplicate);
			break;
		case LK_DUP_CORR:
			rc = ld_get_prob(ld, v, &p->duplicate_corr);
			break;
		case LK_REORDER:
			rc = ld_get_prob(ld, v, &p->reorder);
			break;
		case LK_REORDER_CORR:
			rc = ld_get_prob(ld, v, &p->reorder_corr);
			break;
		case LK_GAP:
			rc = ld_get_int(ld, v, 0, 1000000, &ll);
			p->reorder_gap = (int)ll;
			break;
		case LK_RATE:
			rc = ld_get_unit(ld, v, sim_parse_rate, "a rate such as 1mbit or 100kbit",
			                 &d);
			p->rate = d;
			break;
		case LK_DOWN:
			rc = ld_get_bool(ld, v, &p->down);
			break;
		default:
			break; /* netem done above; from/to/both by the caller */
		}
		ld_path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	}
	if (netem_link_params_check(p, reason, sizeof(reason)) != 0) {
		return ld_fail(ld, n, "bad link parameters: %s", reason);
	}
	return 0;
}

/* A link given as a tc-netem string or a mapping of fields. */
static int
get_link_params(loader *ld, const yaml_node_t *n, netem_link_params *p, double **trace,
                bool allow_ends, const char *where)
{
	char reason[200];

	netem_link_params_init(p);
	if (n != NULL && n->type == YAML_SCALAR_NODE) {
		if (get_netem_string(ld, n, p) != 0) {
			return -1;
		}
		if (netem_link_params_check(p, reason, sizeof(reason)) != 0) {
			return ld_fail(ld, n, "bad link parameters: %s", reason);
		}
		return 0;
	}
	if (ld_expect_mapping(ld, n, "link parameters: a tc-netem string or fields") != 0) {
		return -1;
	}
	return ld_get_link_fields(ld, n, p, trace, allow_ends, NULL, where);
}

/* from/to/both of a link entry ("*" = any node). */
int
ld_get_link_ends(loader *ld, const yaml_node_t *n, sim_link_spec *l, bool *both)
{
	bool have_from = false, have_to = false;

	*both = false;
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key), *v = ld_get(ld, pr->value);
		const char *key;
		size_t mark;
		int rc = 0;

		if (k == NULL || v == NULL) {
			return -1;
		}
		key = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";
		if (strcmp(key, "from") != 0 && strcmp(key, "to") != 0 &&
		    strcmp(key, "both") != 0) {
			continue;
		}
		mark = ld_path_key(ld, key);
		if (strcmp(key, "both") == 0) {
			rc = ld_get_bool(ld, v, both);
		} else {
			bool is_from = key[0] == 'f';
			const char *s = ld_scalar(ld, v, "a node name or *");

			if (s == NULL) {
				rc = -1;
			} else if (strcmp(s, "*") == 0) {
				*(is_from ? &l->from_any : &l->to_any) = true;
			} else {
				rc = ld_get_node_ref(ld, v, is_from ? &l->from : &l->to, false);
			}
			*(is_from ? &have_from : &have_to) = true;
		}
		ld_path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	}
	if (!have_from || !have_to) {
		return ld_fail(ld, n, "a link needs both 'from' and 'to' (a node name or *)");
	}
	return 0;
}

int
ld_load_network(loader *ld, const yaml_node_t *n)
{
	static const char *const keys[] = {"default", "links", NULL};
	sim_scenario *sc = ld->sc;
	uint64_t seen = 0;

	if (ld_expect_mapping(ld, n, "network settings (default, links)") != 0) {
		return -1;
	}
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key), *v = ld_get(ld, pr->value);
		int i = ld_key_index(ld, k, keys, &seen, "network");
		size_t mark;
		int rc = 0;

		if (i < 0) {
			return -1;
		}
		mark = ld_path_key(ld, keys[i]);
		if (i == 0) {
			rc = get_link_params(ld, v, &sc->net_default, &sc->net_default_trace, false,
			                     "network.default");
		} else if (ld_expect_sequence(ld, v, "link entries") != 0) {
			rc = -1;
		} else {
			size_t len = ld_seq_len(v);

			sc->links = calloc(len * 2 + 1, sizeof(*sc->links));
			if (sc->links == NULL) {
				rc = ld_fail(ld, v, "out of memory");
			}
			for (size_t j = 0; rc == 0 && j < len; j++) {
				size_t m2 = ld_path_index(ld, j);
				yaml_node_t *item = ld_seq_item(ld, v, j);
				sim_link_spec *l = &sc->links[sc->n_links];
				bool both = false;

				rc = ld_expect_mapping(ld, item, "a link (from, to, parameters)");
				if (rc == 0) {
					l->line = (int)item->start_mark.line + 1;
					rc = ld_get_link_ends(ld, item, l, &both);
				}
				if (rc == 0) {
					rc = get_link_params(ld, item, &l->p, &l->trace, true,
					                     "a link");
				}
				if (rc == 0) {
					sc->n_links++;
				}
				if (rc == 0 && both) {
					sim_link_spec *r = &sc->links[sc->n_links++];

					*r = *l;
					r->from = l->to;
					r->to = l->from;
					r->from_any = l->to_any;
					r->to_any = l->from_any;
					if (l->trace != NULL) {
						r->trace = malloc(l->p.trace_len * sizeof(double));
						if (r->trace == NULL) {
							rc = ld_fail(ld, item, "out of memory");
						} else {
							memcpy(r->trace, l->trace,
							       l->p.trace_len * sizeof(double));
							r->p.trace = r->trace;
						}
					}
				}
				ld_path_restore(ld, m2);
			}
		}
		ld_path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* firewall                                                            */

/* "any", a node name, an address or an address/prefix. */
static int
get_fw_match(loader *ld, const yaml_node_t *n, ntp_addr *addr, ntp_addr *mask)
{
	const char *s = ld_scalar(ld, n, "any, a node name, an address or a subnet");
	char buf[80];
	char *slash;
	sim_range r;

	memset(addr, 0, sizeof(*addr));
	memset(mask, 0, sizeof(*mask));
	if (s == NULL) {
		return -1;
	}
	if (strcmp(s, "any") == 0) {
		return 0;
	}
	if (sim_scenario_find(ld->sc, s, &r) == 0) {
		if (r.count != 1) {
			return ld_fail(ld, n, "'%.40s' names %u nodes; use their subnet instead", s,
			               r.count);
		}
		*addr = sim_scenario_node_addr(ld->sc, r.first);
		return 0;
	}
	if (strlen(s) >= sizeof(buf)) {
		return ld_fail(ld, n, "expected any, a node name, an address or a subnet");
	}
	memcpy(buf, s, strlen(s) + 1);
	slash = strchr(buf, '/');
	if (slash != NULL) {
		long long prefix;

		*slash = '\0';
		if (!ntp_addr_parse(buf, addr) ||
		    sim_parse_int(slash + 1, 0, addr->family == NTP_AF_INET ? 32 : 128, &prefix) !=
		            0) {
			return ld_fail(ld, n,
			               "expected a subnet such as 192.168.163.0/24, got '%.60s'",
			               s);
		}
		*mask = ntp_addr_mask_from_prefix(addr->family, (int)prefix);
		return 0;
	}
	if (!ntp_addr_parse(buf, addr)) {
		return ld_fail(ld, n, "no node named '%.40s' and not an address or subnet", s);
	}
	return 0;
}

int
ld_load_firewall(loader *ld, const yaml_node_t *n)
{
	static const char *const keys[] = {"name",  "src",    "dst",     "proto", "sport",
	                                   "dport", "action", "enabled", NULL};
	sim_scenario *sc = ld->sc;
	size_t len;

	if (ld_expect_sequence(ld, n, "firewall rules") != 0) {
		return -1;
	}
	len = ld_seq_len(n);
	sc->fw = calloc(len + 1, sizeof(*sc->fw));
	sc->fw_line = calloc(len + 1, sizeof(int));
	if (sc->fw == NULL || sc->fw_line == NULL) {
		return ld_fail(ld, n, "out of memory");
	}
	for (size_t i = 0; i < len; i++) {
		size_t mark = ld_path_index(ld, i);
		yaml_node_t *item = ld_seq_item(ld, n, i);
		netem_fw_rule *r = &sc->fw[i];
		uint64_t seen = 0;

		if (ld_expect_mapping(ld, item, "a firewall rule") != 0) {
			return -1;
		}
		r->enabled = true;
		r->action = NETEM_FW_DROP;
		r->proto = NETEM_FW_PROTO_UDP;
		snprintf(r->name, sizeof(r->name), "rule%zu", i + 1);
		sc->fw_line[i] = (int)item->start_mark.line + 1;
		FOR_PAIRS(item, pr)
		{
			yaml_node_t *k = ld_get(ld, pr->key), *v = ld_get(ld, pr->value);
			int j = ld_key_index(ld, k, keys, &seen, "a firewall rule");
			size_t m2;
			int rc = 0;
			long long ll;
			const char *s;

			if (j < 0) {
				return -1;
			}
			m2 = ld_path_key(ld, keys[j]);
			switch (j) {
			case 0:
				rc = ld_get_text(ld, v, r->name, sizeof(r->name), "a rule name");
				break;
			case 1:
				rc = get_fw_match(ld, v, &r->src, &r->src_mask);
				break;
			case 2:
				rc = get_fw_match(ld, v, &r->dst, &r->dst_mask);
				break;
			case 3:
				s = ld_scalar(ld, v, "udp or any");
				if (s == NULL) {
					rc = -1;
				} else if (strcmp(s, "udp") == 0) {
					r->proto = NETEM_FW_PROTO_UDP;
				} else if (strcmp(s, "any") == 0) {
					r->proto = 0;
				} else {
					rc = ld_fail(ld, v, "expected udp or any, got '%.40s'", s);
				}
				break;
			case 4:
			case 5:
				rc = ld_get_int(ld, v, 0, 65535, &ll);
				*(j == 4 ? &r->sport : &r->dport) = (uint16_t)ll;
				break;
			case 6:
				s = ld_scalar(ld, v, "drop, reject or accept");
				if (s == NULL) {
					rc = -1;
				} else if (strcmp(s, "drop") == 0) {
					r->action = NETEM_FW_DROP;
				} else if (strcmp(s, "reject") == 0) {
					r->action = NETEM_FW_REJECT;
				} else if (strcmp(s, "accept") == 0) {
					r->action = NETEM_FW_ACCEPT;
				} else {
					rc = ld_fail(ld, v,
					             "expected drop, reject or accept, got '%.40s'",
					             s);
				}
				break;
			default:
				rc = ld_get_bool(ld, v, &r->enabled);
				break;
			}
			ld_path_restore(ld, m2);
			if (rc != 0) {
				return -1;
			}
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(sc->fw[j].name, r->name) == 0) {
				return ld_fail(ld, item, "firewall rule name '%s' is already used",
				               r->name);
			}
		}
		sc->n_fw++;
		ld_path_restore(ld, mark);
	}
	return 0;
}
