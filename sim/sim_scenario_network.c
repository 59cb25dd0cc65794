/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The scenario's network: the default link, per-pair links (tc-netem
 * strings or fields, delay traces, Gilbert-Elliott loss) and the firewall
 * rules (docs/scenarios.md, "Network", "Firewall").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntp_units.h"
#include "sim_scenario_load.h"

#define PORT_MAX 65535 /* UDP ports are 16 bits (RFC 768) */

/* The reverse of link l (both: true) into r, with its own trace copy. */
static int
add_reverse(loader *ld, const yaml_node_t *item, const sim_link_spec *l, sim_link_spec *r)
{
	*r = *l;
	r->from = l->to;
	r->to = l->from;
	r->from_any = l->to_any;
	r->to_any = l->from_any;
	if (l->trace != NULL) {
		r->trace = malloc(l->p.trace_len * sizeof(double));
		if (r->trace == NULL) {
			return ld_fatal(ld, item, "out of memory");
		}
		memcpy(r->trace, l->trace, l->p.trace_len * sizeof(double));
		r->p.trace = r->trace;
	}
	return 0;
}

static int
load_link(loader *ld, const yaml_node_t *item, sim_link_spec *l, bool *both)
{
	unsigned errors = ld->n_errors;

	if (ld_expect_mapping(ld, item, "a link (from, to, parameters)") != 0) {
		return -1;
	}
	l->line = (int)item->start_mark.line + 1;
	ld_get_link_ends(ld, item, l, both);
	ld_get_link_params(ld, item, &l->p, &l->trace, true, "a link", &ld->sc->net_default);
	return ld_errors_since(ld, errors);
}

static int
load_links(loader *ld, const yaml_node_t *v)
{
	sim_scenario *sc = ld->sc;
	unsigned errors = ld->n_errors;
	size_t len;

	/* two slots an entry: both: true adds the reverse */
	sc->links = ld_list_array(ld, v, "link entries", 2, sizeof(*sc->links), &len);
	if (sc->links == NULL) {
		return -1;
	}
	for (size_t j = 0; j < len && !ld->fatal; j++) {
		size_t mark = ld_path_index(ld, j);
		yaml_node_t *item = ld_seq_item(ld, v, j);
		sim_link_spec *l = &sc->links[sc->n_links];
		bool both = false;

		if (load_link(ld, item, l, &both) != 0) {
			free(l->trace); /* the slot is used again */
			memset(l, 0, sizeof(*l));
		} else {
			sc->n_links++;
			if (both && add_reverse(ld, item, l, &sc->links[sc->n_links]) == 0) {
				sc->n_links++;
			}
		}
		ld_path_restore(ld, mark);
	}
	return ld_errors_since(ld, errors);
}

/* network:'s keys by table into their value nodes, read after in an
 * order of their own: links after default whatever their order in the
 * file, as they inherit it. */
enum { NET_DEFAULT, NET_LINKS, NET_COUNT };

static const ld_field network_fields[] = {
        {.key = "default",
         .type = LD_FT_NODE,
         .off = NET_DEFAULT * sizeof(yaml_node_t *),
         .size = sizeof(yaml_node_t *)},
        {.key = "links",
         .type = LD_FT_NODE,
         .off = NET_LINKS * sizeof(yaml_node_t *),
         .size = sizeof(yaml_node_t *)},
        {.key = NULL},
};

int
ld_load_network(loader *ld, const yaml_node_t *n)
{
	sim_scenario *sc = ld->sc;
	yaml_node_t *val[NET_COUNT] = {NULL, NULL};
	uint64_t seen = 0;
	unsigned errors = ld->n_errors;
	size_t mark;

	if (ld_expect_mapping(ld, n, "network settings (default, links)") != 0) {
		return -1;
	}
	ld_read_fields(ld, n, network_fields, val, NULL, "network", &seen);
	if (val[NET_DEFAULT] != NULL && !ld->fatal) {
		netem_link_params none;

		netem_link_params_init(&none);
		mark = ld_path_key(ld, "default");
		ld_get_link_params(ld, val[NET_DEFAULT], &sc->net_default, &sc->net_default_trace,
		                   false, "network.default", &none);
		ld_path_restore(ld, mark);
	}
	if (val[NET_LINKS] != NULL && !ld->fatal) {
		mark = ld_path_key(ld, "links");
		load_links(ld, val[NET_LINKS]);
		ld_path_restore(ld, mark);
	}
	return ld_errors_since(ld, errors);
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
		    ntp_parse_int(slash + 1, 0, addr->family == NTP_AF_INET ? 32 : 128, &prefix) !=
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

static int
get_fw_src(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	netem_fw_rule *r = obj;

	(void)ctx;
	return get_fw_match(ld, v, &r->src, &r->src_mask);
}

static int
get_fw_dst(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	netem_fw_rule *r = obj;

	(void)ctx;
	return get_fw_match(ld, v, &r->dst, &r->dst_mask);
}

static const char *const fw_protos[] = {"udp", "any", NULL};
static const int fw_proto_values[] = {NETEM_FW_PROTO_UDP, 0};
static const char *const fw_actions[] = {"drop", "reject", "accept", NULL};
static const int fw_action_values[] = {NETEM_FW_DROP, NETEM_FW_REJECT, NETEM_FW_ACCEPT};

/* The fields of a firewall rule (docs/scenarios.md, "Firewall"); name's
 * default (rule1, rule2, ...) is its place in the list. */
static const ld_field fw_fields[] = {
        {"name", LD_FT_TEXT, LD_MEMBER(netem_fw_rule, name), .why = "a rule name"},
        {"src", LD_FT_CUSTOM, .get = get_fw_src},
        {"dst", LD_FT_CUSTOM, .get = get_fw_dst},
        {"proto", LD_FT_CHOICE, LD_MEMBER(netem_fw_rule, proto), .names = fw_protos,
         .values = fw_proto_values, .why = "udp or any", .has_def = true,
         .def = NETEM_FW_PROTO_UDP},
        {"sport", LD_FT_INT, LD_MEMBER(netem_fw_rule, sport), .min = 0, .max = PORT_MAX},
        {"dport", LD_FT_INT, LD_MEMBER(netem_fw_rule, dport), .min = 0, .max = PORT_MAX},
        {"action", LD_FT_CHOICE, LD_MEMBER(netem_fw_rule, action), .names = fw_actions,
         .values = fw_action_values, .why = "drop, reject or accept", .has_def = true,
         .def = NETEM_FW_DROP},
        {"enabled", LD_FT_BOOL, LD_MEMBER(netem_fw_rule, enabled), .has_def = true, .def = 1},
        {.key = NULL},
};

static void
load_fw_rule(loader *ld, const yaml_node_t *item, size_t i)
{
	sim_scenario *sc = ld->sc;
	netem_fw_rule *r = &sc->fw[i];
	uint64_t seen = 0;

	ld_field_defaults(fw_fields, r);
	snprintf(r->name, sizeof(r->name), "rule%zu", i + 1);
	sc->fw_line[i] = (int)item->start_mark.line + 1;
	ld_read_fields(ld, item, fw_fields, r, NULL, "a firewall rule", &seen);
	for (size_t j = 0; j < i; j++) {
		if (strcmp(sc->fw[j].name, r->name) == 0) {
			ld_fail(ld, item, "firewall rule name '%s' is already used", r->name);
		}
	}
}

/* Every rule is counted, even one with errors: events still find it by
 * name and do not fail a second time. */
int
ld_load_firewall(loader *ld, const yaml_node_t *n)
{
	sim_scenario *sc = ld->sc;
	unsigned errors = ld->n_errors;
	size_t len;

	sc->fw = ld_list_array(ld, n, "firewall rules", 1, sizeof(*sc->fw), &len);
	if (sc->fw == NULL) {
		return -1;
	}
	sc->fw_line = calloc(len + 1, sizeof(int));
	if (sc->fw_line == NULL) {
		return ld_fatal(ld, n, "out of memory");
	}
	for (size_t i = 0; i < len && !ld->fatal; i++) {
		size_t mark = ld_path_index(ld, i);
		yaml_node_t *item = ld_seq_item(ld, n, i);

		if (ld_expect_mapping(ld, item, "a firewall rule") == 0) {
			load_fw_rule(ld, item, i);
		}
		sc->n_fw++;
		ld_path_restore(ld, mark);
	}
	return ld_errors_since(ld, errors);
}
