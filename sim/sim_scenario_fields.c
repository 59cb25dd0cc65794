/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The field readers of the scenario's own kinds, below every section of
 * the loader (sim_scenario_load.h): node names and references, addresses,
 * DNS names, the growth of the event list, and the fields of a fault and
 * of a query, which a node entry and an event both carry.  They call only
 * the YAML readers (sim_scenario_yaml.c), never a section.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ntp_units.h"
#include "sim_scenario_load.h"

#define QUERY_SAMPLES_DEFAULT  4      /* ntpdate DEFSAMPLES */
#define QUERY_TIMEOUT_DEFAULT  1.0    /* s, ntpdate DEFTIMEOUT (5 ticks of 0.2 s) */
#define QUERY_INTERVAL_DEFAULT 1.0    /* s, between a server's requests (ours) */
#define QUERY_PACE_MIN         1e-3   /* s, shortest interval or timeout (ours) */
#define QUERY_PACE_MAX         3600.0 /* s, longest interval or timeout (ours) */

/* ------------------------------------------------------------------ */
/* field tables                                                        */

static void *
member(void *obj, const ld_field *f)
{
	return (char *)obj + f->off;
}

/* An integer into a member of f->size bytes: the range rows give keeps
 * it inside the member's type, signed or not. */
static void
store_int(void *obj, const ld_field *f, long long v)
{
	void *m = member(obj, f);

	switch (f->size) {
	case 1:
		*(uint8_t *)m = (uint8_t)v;
		break;
	case 2:
		*(uint16_t *)m = (uint16_t)v;
		break;
	case 4:
		*(uint32_t *)m = (uint32_t)v;
		break;
	default:
		*(uint64_t *)m = (uint64_t)v;
		break;
	}
}

void
ld_field_defaults(const ld_field *tab, void *obj)
{
	for (const ld_field *f = tab; f->key != NULL; f++) {
		if (!f->has_def) {
			continue;
		}
		if (f->type == LD_FT_INT || f->type == LD_FT_CHOICE) {
			store_int(obj, f, (long long)f->def);
		} else if (f->type == LD_FT_BOOL) {
			*(bool *)member(obj, f) = f->def != 0.0;
		} else {
			*(double *)member(obj, f) = f->def;
		}
	}
}

void
ld_field_keys(const ld_field *tab, const char *keys[LD_FIELDS_MAX + 1])
{
	int n = 0;

	while (tab[n].key != NULL && n < LD_FIELDS_MAX) {
		keys[n] = tab[n].key;
		n++;
	}
	keys[n] = NULL;
}

int
ld_field_index(const ld_field *tab, const char *key)
{
	for (int i = 0; tab[i].key != NULL; i++) {
		if (strcmp(tab[i].key, key) == 0) {
			return i;
		}
	}
	return -1;
}

yaml_node_t *
ld_field_value(loader *ld, const yaml_node_t *n, const char *key)
{
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key);

		if (k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, key) == 0) {
			return ld_get(ld, pr->value);
		}
	}
	return NULL;
}

/* A double of the unit the type names, then its range. */
static int
read_double(loader *ld, const ld_field *f, const yaml_node_t *v, double *out)
{
	int rc;

	switch (f->type) {
	case LD_FT_DURATION:
		rc = ld_get_duration(ld, v, out);
		break;
	case LD_FT_TIME:
		rc = ld_get_time_nonneg(ld, v, out);
		break;
	case LD_FT_IN_RUN:
		rc = ld_get_time_nonneg(ld, v, out);
		if (rc == 0) {
			rc = ld_check_in_run(ld, v, *out, false, f->why);
		}
		break;
	case LD_FT_FREQ:
		rc = ld_get_freq(ld, v, out);
		break;
	case LD_FT_PROB:
		rc = ld_get_prob(ld, v, out);
		break;
	case LD_FT_RATE:
		rc = ld_get_unit(ld, v, ntp_parse_rate, "a rate such as 1mbit or 100kbit", out);
		break;
	default:
		rc = ld_get_number(ld, v, out);
		break;
	}
	if (rc == 0 && f->min < f->max) {
		rc = ld_check_range(ld, v, *out, f->min, f->max, f->unit);
	}
	return rc;
}

int
ld_read_field(loader *ld, const ld_field *f, const yaml_node_t *v, void *obj, void *ctx)
{
	long long ll;
	int rc;

	switch (f->type) {
	case LD_FT_INT:
		rc = ld_get_int(ld, v, (long long)f->min, (long long)f->max, &ll);
		if (rc == 0) {
			store_int(obj, f, ll);
		}
		return rc;
	case LD_FT_BOOL:
		return ld_get_bool(ld, v, (bool *)member(obj, f));
	case LD_FT_TEXT:
		return ld_get_text(ld, v, (char *)member(obj, f), f->size, f->why);
	case LD_FT_CHOICE:
		rc = ld_get_choice(ld, v, f->names, f->why);
		if (rc >= 0) {
			store_int(obj, f, f->values != NULL ? f->values[rc] : rc);
		}
		return rc < 0 ? -1 : 0;
	case LD_FT_CUSTOM:
		return f->get(ld, v, obj, ctx);
	case LD_FT_IN:
		return ld_read_field(ld, &f->sub[ld_field_index(f->sub, f->key)], v, member(obj, f),
		                     ctx);
	case LD_FT_LATER:
		return 0;
	case LD_FT_NODE:
		*(const yaml_node_t **)member(obj, f) = v;
		return 0;
	default:
		return read_double(ld, f, v, (double *)member(obj, f));
	}
}

/* The index of k's row, or -1 (skipped, or an error reported). */
static int
row_of(loader *ld, const yaml_node_t *k, const ld_field *tab, const char *where, uint64_t *seen)
{
	const char *keys[LD_FIELDS_MAX + 1];

	if (where == NULL) {
		/* the caller's keys are mixed in: only ours are read */
		const char *key =
		        k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";
		int i = ld_field_index(tab, key);

		if (i >= 0) {
			*seen |= UINT64_C(1) << i;
		}
		return i;
	}
	ld_field_keys(tab, keys);
	return ld_key_index(ld, k, keys, seen, where);
}

int
ld_read_fields(loader *ld, const yaml_node_t *n, const ld_field *tab, void *obj, void *ctx,
               const char *where, uint64_t *seen)
{
	unsigned errors = ld->n_errors;

	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key), *v = ld_get(ld, pr->value);
		int i;
		size_t mark;
		int rc;

		if (ld->fatal) {
			return -1;
		}
		i = row_of(ld, k, tab, where, seen);
		if (i < 0) {
			continue;
		}
		if (tab[i].only != NULL && !tab[i].only(obj)) {
			ld_fail(ld, k, "field '%s' %s", tab[i].key, tab[i].not_here);
			continue;
		}
		mark = ld_path_key(ld, tab[i].key);
		rc = ld_read_field(ld, &tab[i], v, obj, ctx);
		ld_path_restore(ld, mark);
		if (rc != 0 && ld->fatal) {
			return -1;
		}
	}
	/* a missing key is named once the given ones read cleanly */
	for (int i = 0; tab[i].key != NULL && ld_errors_since(ld, errors) == 0; i++) {
		if (tab[i].missing != NULL && !(*seen & (UINT64_C(1) << i))) {
			ld_fail(ld, n, "%s", tab[i].missing);
		}
	}
	return ld_errors_since(ld, errors);
}

/* ------------------------------------------------------------------ */
/* node names and addresses                                            */

const sim_node_spec *
sim_scenario_tmpl(const sim_scenario *sc, uint32_t index)
{
	size_t lo = 0, hi = sc->n_nodes;

	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (sc->nodes[mid].first <= index) {
			lo = mid;
		} else {
			hi = mid;
		}
	}
	return &sc->nodes[lo];
}

char *
sim_scenario_node_name(const sim_scenario *sc, uint32_t index, char *buf, size_t size)
{
	const sim_node_spec *t = sim_scenario_tmpl(sc, index);

	if (t->count == 1) {
		snprintf(buf, size, "%s", t->name);
	} else {
		snprintf(buf, size, "%s%u", t->name, index - t->first + 1);
	}
	return buf;
}
ntp_addr
sim_scenario_node_addr(const sim_scenario *sc, uint32_t index)
{
	const sim_node_spec *t = sim_scenario_tmpl(sc, index);
	ntp_addr a = t->addr;

	ld_addr_add(&a, index - t->first);
	return a;
}

int
sim_scenario_find(const sim_scenario *sc, const char *name, sim_range *out)
{
	size_t len = strlen(name), digits = 0;

	for (size_t i = 0; i < sc->n_nodes; i++) {
		if (strcmp(sc->nodes[i].name, name) == 0) {
			out->first = sc->nodes[i].first;
			out->count = sc->nodes[i].count;
			return 0;
		}
	}
	while (digits < len && isdigit((unsigned char)name[len - 1 - digits])) {
		digits++;
	}
	if (digits == 0 || digits == len || digits > 9 || name[len - digits] == '0') {
		return -1;
	}
	for (size_t i = 0; i < sc->n_nodes; i++) {
		const sim_node_spec *t = &sc->nodes[i];
		unsigned long k;

		if (t->count < 2 || strlen(t->name) != len - digits ||
		    strncmp(t->name, name, len - digits) != 0) {
			continue;
		}
		k = strtoul(name + len - digits, NULL, 10);
		if (k >= 1 && k <= t->count) {
			out->first = t->first + (uint32_t)(k - 1);
			out->count = 1;
			return 0;
		}
	}
	return -1;
}

bool
ld_addr_add(ntp_addr *a, uint32_t k)
{
	size_t off = a->family == NTP_AF_INET ? 0 : 12;
	uint32_t v = ((uint32_t)a->a[off] << 24) | ((uint32_t)a->a[off + 1] << 16) |
	             ((uint32_t)a->a[off + 2] << 8) | a->a[off + 3];

	if (v > UINT32_MAX - k) {
		return false;
	}
	v += k;
	a->a[off] = (uint8_t)(v >> 24);
	a->a[off + 1] = (uint8_t)(v >> 16);
	a->a[off + 2] = (uint8_t)(v >> 8);
	a->a[off + 3] = (uint8_t)v;
	return true;
}

/* The node that owns an address, or -1. */
long
ld_owner_of(const sim_scenario *sc, const ntp_addr *a)
{
	for (size_t i = 0; i < sc->n_nodes; i++) {
		const sim_node_spec *t = &sc->nodes[i];
		ntp_addr x = t->addr;
		size_t off = a->family == NTP_AF_INET ? 0 : 12;
		uint32_t va, vx;

		if (x.family != a->family || memcmp(x.a, a->a, off) != 0) {
			continue;
		}
		va = ((uint32_t)a->a[off] << 24) | ((uint32_t)a->a[off + 1] << 16) |
		     ((uint32_t)a->a[off + 2] << 8) | a->a[off + 3];
		vx = ((uint32_t)x.a[off] << 24) | ((uint32_t)x.a[off + 1] << 16) |
		     ((uint32_t)x.a[off + 2] << 8) | x.a[off + 3];
		if (va >= vx && va - vx < t->count) {
			return (long)(t->first + (va - vx));
		}
	}
	return -1;
}

int
ld_get_node_ref(loader *ld, const yaml_node_t *n, sim_range *out, bool single)
{
	const char *s = ld_scalar(ld, n, "a node name");

	if (s == NULL) {
		return -1;
	}
	if (sim_scenario_find(ld->sc, s, out) != 0) {
		return ld_fail(ld, n, "no node named '%.40s' in this scenario", s);
	}
	if (single && out->count != 1) {
		return ld_fail(ld, n, "'%.40s' names %u nodes; name one of them (%s1 .. %s%u)", s,
		               out->count, s, s, out->count);
	}
	return 0;
}

/* One node name or a list of them, into a single range (a list must be
 * contiguous; a template name stands for all its replicas). */
int
ld_get_node_list(loader *ld, const yaml_node_t *n, sim_range **out, size_t *count)
{
	size_t len = 1;

	if (n != NULL && n->type == YAML_SEQUENCE_NODE) {
		if (ld_expect_sequence(ld, n, "node names") != 0) {
			return -1;
		}
		len = ld_seq_len(n);
		if (len == 0) {
			return ld_fail(ld, n, "expected at least one node name");
		}
	}
	*out = calloc(len, sizeof(**out));
	if (*out == NULL) {
		return ld_fatal(ld, n, "out of memory");
	}
	*count = len;
	if (n == NULL || n->type != YAML_SEQUENCE_NODE) {
		return ld_get_node_ref(ld, n, &(*out)[0], false);
	}
	for (size_t i = 0; i < len; i++) {
		size_t mark = ld_path_index(ld, i);
		int rc = ld_get_node_ref(ld, ld_seq_item(ld, n, i), &(*out)[i], false);

		ld_path_restore(ld, mark);
		if (rc != 0) {
			return -1; /* the caller skips the whole list */
		}
	}
	return 0;
}

const sim_dns_entry *
sim_scenario_dns_find(const sim_scenario *sc, const char *name)
{
	for (size_t i = 0; i < sc->n_dns; i++) {
		if (strcasecmp(sc->dns[i].name, name) == 0) {
			return &sc->dns[i];
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* the event list                                                      */

int
ld_add_event(loader *ld, const yaml_node_t *n, sim_event_spec **out)
{
	sim_scenario *sc = ld->sc;
	sim_event_spec *grown;

	if (sc->n_events >= SIM_MAX_ITEMS) {
		return ld_fail(ld, n, "more than %d events", SIM_MAX_ITEMS);
	}
	/* Grow by doubling: event pointers are only held during one parse. */
	if (sc->n_events == ld->events_cap) {
		size_t cap = ld->events_cap == 0 ? 4 : ld->events_cap * 2;

		grown = realloc(sc->events, cap * sizeof(*sc->events));
		if (grown == NULL) {
			return ld_fatal(ld, n, "out of memory");
		}
		sc->events = grown;
		ld->events_cap = cap;
	}
	*out = &sc->events[sc->n_events++];
	memset(*out, 0, sizeof(**out));
	(*out)->line = (int)n->start_mark.line + 1;
	ld_query_defaults(&(*out)->query);
	return 0;
}

/* ------------------------------------------------------------------ */
/* faults and queries                                                  */

static int
get_fault_kinds(loader *ld, const yaml_node_t *n, ntp_fault *f)
{
	size_t count;
	unsigned errors = ld->n_errors;

	if (ld_scalar_or_list_len(ld, n, "fault names", &count) != 0) {
		return -1;
	}
	f->kinds = 0;
	for (size_t i = 0; i < count; i++) {
		const yaml_node_t *item = n->type == YAML_SEQUENCE_NODE ? ld_seq_item(ld, n, i) : n;
		const char *s = ld_scalar(ld, item, "a fault name");
		int bit;

		if (s == NULL) {
			return -1;
		}
		bit = ntp_fault_from_name(s);
		if (bit == 0) {
			ld_fail(ld, item,
			        "unknown fault '%.40s' (faults: wrong-leap, stratum16, kod, "
			        "falseticker, stale-reftime, huge-rootdisp, bad-origin, silent)",
			        s);
		}
		f->kinds |= (uint32_t)bit;
	}
	return ld_errors_since(ld, errors);
}

static int
get_fault_kinds_field(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	(void)ctx;
	return get_fault_kinds(ld, v, obj);
}

/* The fields of a fault (docs/scenarios.md, "Faults"). */
const ld_field ld_fault_fields[] = {
        {"kinds", LD_FT_CUSTOM, .get = get_fault_kinds_field},
        {"leap", LD_FT_INT, LD_MEMBER(ntp_fault, leap), .min = 0, .max = LD_LEAP_MAX},
        {"offset", LD_FT_DURATION, LD_MEMBER(ntp_fault, offset)},
        {"rootdisp", LD_FT_TIME, LD_MEMBER(ntp_fault, rootdisp)},
        {"stale", LD_FT_TIME, LD_MEMBER(ntp_fault, stale)},
        {"kod", LD_FT_TEXT, LD_MEMBER(ntp_fault, kod), .why = "a 4-letter kiss code"},
        {.key = NULL},
};

/* Fault fields of mapping n, skipping keys that are not fault keys when
 * `others` is set (an event mixes them with at/do/node). */
int
ld_get_fault_fields(loader *ld, const yaml_node_t *n, ntp_fault *f, bool others)
{
	uint64_t seen = 0;

	return ld_read_fields(ld, n, ld_fault_fields, f, NULL, others ? NULL : "fault", &seen);
}

int
ld_get_query_servers(loader *ld, const yaml_node_t *n, sim_query_spec *q)
{
	size_t count;

	if (ld_scalar_or_list_len(ld, n, "server names or addresses", &count) != 0) {
		return -1;
	}
	if (count == 0 || count > SIM_QUERY_MAX_SERVERS) {
		return ld_fail(ld, n, "expected 1 to %d servers", SIM_QUERY_MAX_SERVERS);
	}
	q->n_servers = 0;
	for (size_t i = 0; i < count; i++) {
		const yaml_node_t *item = n->type == YAML_SEQUENCE_NODE ? ld_seq_item(ld, n, i) : n;
		const char *s = ld_scalar(ld, item, "a server name or address");
		sim_range r;

		if (s == NULL) {
			return -1;
		}
		if (sim_scenario_find(ld->sc, s, &r) == 0) {
			if (r.count != 1) {
				return ld_fail(ld, item, "'%.40s' names %u nodes; name one", s,
				               r.count);
			}
			q->servers[i] = sim_scenario_node_addr(ld->sc, r.first);
		} else if (!ntp_addr_parse(s, &q->servers[i])) {
			return ld_fail(ld, item,
			               "no node named '%.40s' (ntpsim resolves names only to the "
			               "scenario's nodes)",
			               s);
		}
		q->servers[i].port = NTP_PORT;
		snprintf(q->server_names[i], SIM_NAME_MAX, "%s", s);
		q->n_servers++;
	}
	return 0;
}

static int
get_query_servers_field(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	(void)ctx;
	return ld_get_query_servers(ld, v, obj);
}

const ld_field ld_query_fields[] = {
        {"servers", LD_FT_CUSTOM, .get = get_query_servers_field},
        {"samples", LD_FT_INT, LD_MEMBER(sim_query_spec, samples), .min = 1,
         .max = SIM_QUERY_MAX_SAMPLES, .has_def = true, .def = QUERY_SAMPLES_DEFAULT},
        {"interval", LD_FT_TIME, LD_MEMBER(sim_query_spec, interval), .min = QUERY_PACE_MIN,
         .max = QUERY_PACE_MAX, .unit = "s", .has_def = true, .def = QUERY_INTERVAL_DEFAULT},
        {"timeout", LD_FT_TIME, LD_MEMBER(sim_query_spec, timeout), .min = QUERY_PACE_MIN,
         .max = QUERY_PACE_MAX, .unit = "s", .has_def = true, .def = QUERY_TIMEOUT_DEFAULT},
        {"set", LD_FT_BOOL, LD_MEMBER(sim_query_spec, set)},
        {"unprivileged", LD_FT_BOOL, LD_MEMBER(sim_query_spec, unprivileged)},
        {.key = NULL},
};

void
ld_query_defaults(sim_query_spec *q)
{
	memset(q, 0, sizeof(*q));
	ld_field_defaults(ld_query_fields, q);
}
