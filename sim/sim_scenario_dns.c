/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The scenario's dns: section (docs/scenarios.md, "DNS"): host names that
 * ntp.conf's `server NAME`, `peer NAME` and `pool NAME` may use besides the
 * node names, each answering a fixed list of addresses, never resolving,
 * or changing its answer at a time.  The loader only reads and checks the
 * entries; the engine asks them at each daemon start (sim_engine.c), so
 * resolution stays deterministic and out of core/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ntp_select.h"
#include "sim_scenario_load.h"

#define DNS_MAX_ADDRS                                                                              \
	NTP_CONF_MAX_SERVERS /* addresses one name answers (ours: no                               \
	                        more could become associations) */

size_t
sim_dns_answer(const sim_dns_entry *e, double t, const ntp_addr **addrs)
{
	if (e->fail) {
		*addrs = NULL;
		return 0;
	}
	if (e->at >= 0.0 && t >= e->at) {
		*addrs = e->later;
		return e->n_later;
	}
	*addrs = e->addrs;
	return e->n_addrs;
}

/* One address of a list: a node name (a template name gives all its
 * replicas, in order) or a numeric address. */
static int
add_address(loader *ld, const yaml_node_t *v, ntp_addr *out, size_t *n)
{
	const char *s = ld_scalar(ld, v, "a node name or an address");
	sim_range r;
	ntp_addr a;

	if (s == NULL) {
		return -1;
	}
	if (sim_scenario_find(ld->sc, s, &r) == 0) {
		if (*n + r.count > DNS_MAX_ADDRS) {
			return ld_fail(ld, v, "a name answers at most %d addresses", DNS_MAX_ADDRS);
		}
		for (uint32_t k = 0; k < r.count; k++) {
			out[(*n)++] = sim_scenario_node_addr(ld->sc, r.first + k);
		}
		return 0;
	}
	if (!ntp_addr_parse(s, &a)) {
		return ld_fail(ld, v, "no node named '%.40s' and not an address", s);
	}
	if (*n >= DNS_MAX_ADDRS) {
		return ld_fail(ld, v, "a name answers at most %d addresses", DNS_MAX_ADDRS);
	}
	if (ld_owner_of(ld->sc, &a) < 0) {
		ld_warn_at(ld, v, "no node has address %s: packets to it are dropped", s);
	}
	out[(*n)++] = a;
	return 0;
}

/* A list of node names and addresses into an owned array; empty lists are
 * allowed (change_to: [] makes the name stop resolving). */
static int
get_addresses(loader *ld, const yaml_node_t *n, ntp_addr **out, size_t *count)
{
	unsigned errors = ld->n_errors;

	if (ld_expect_sequence(ld, n, "a list of node names and addresses") != 0) {
		return -1;
	}
	free(*out);
	*out = calloc(DNS_MAX_ADDRS, sizeof(ntp_addr));
	*count = 0;
	if (*out == NULL) {
		return ld_fatal(ld, n, "out of memory");
	}
	for (size_t i = 0; i < ld_seq_len(n) && !ld->fatal; i++) {
		size_t mark = ld_path_index(ld, i);

		add_address(ld, ld_seq_item(ld, n, i), *out, count);
		ld_path_restore(ld, mark);
	}
	return ld_errors_since(ld, errors);
}

/* A host name as a resolver takes it: letters, digits, '-', '.', '_'. */
static bool
valid_host_name(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len >= NTP_CONF_HOST_MAX) {
		return false;
	}
	for (const char *c = s; *c != '\0'; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' || *c == '_')) {
			return false;
		}
	}
	return true;
}

static int
get_dns_name(loader *ld, const yaml_node_t *v, sim_dns_entry *e, size_t index)
{
	const char *s = ld_scalar(ld, v, "a host name");
	ntp_addr a;
	sim_range r;

	if (s == NULL) {
		return -1;
	}
	if (!valid_host_name(s)) {
		return ld_fail(ld, v, "expected a host name (letters, digits, - . _), got '%.60s'",
		               s);
	}
	if (ntp_addr_parse(s, &a)) {
		return ld_fail(ld, v, "'%.60s' is an address, not a name: use it as it is", s);
	}
	if (sim_scenario_find(ld->sc, s, &r) == 0) {
		return ld_fail(ld, v, "'%.40s' is a node name, which resolves to that node already",
		               s);
	}
	for (size_t i = 0; i < index; i++) {
		if (strcasecmp(ld->sc->dns[i].name, s) == 0) {
			return ld_fail(ld, v, "dns name '%.60s' is given twice (line %d)", s,
			               ld->sc->dns[i].line);
		}
	}
	memcpy(e->name, s, strlen(s) + 1);
	return 0;
}

static int
get_dns_name_field(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	sim_dns_entry *e = obj;

	(void)ctx;
	return get_dns_name(ld, v, e, (size_t)(e - ld->sc->dns));
}

static int
get_dns_addresses(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	sim_dns_entry *e = obj;

	(void)ctx;
	return get_addresses(ld, v, &e->addrs, &e->n_addrs);
}

static int
get_dns_change_to(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	sim_dns_entry *e = obj;

	(void)ctx;
	return get_addresses(ld, v, &e->later, &e->n_later);
}

/* The fields of a dns entry (docs/scenarios.md, "DNS"); at: -1 = never. */
static const ld_field dns_fields[] = {
        {"name", LD_FT_CUSTOM, .get = get_dns_name_field},
        {"addresses", LD_FT_CUSTOM, .get = get_dns_addresses},
        {"fail", LD_FT_BOOL, LD_MEMBER(sim_dns_entry, fail)},
        {"at", LD_FT_IN_RUN, LD_MEMBER(sim_dns_entry, at), .why = "the change would never happen",
         .has_def = true, .def = -1.0},
        {"change_to", LD_FT_CUSTOM, .get = get_dns_change_to},
        {.key = NULL},
};

enum { DK_NAME, DK_ADDRESSES, DK_FAIL, DK_AT, DK_CHANGE_TO };

/* What the fields say together: a name that fails has nothing else, one
 * that resolves has addresses, and a change has both its time and its
 * answer. */
static void
check_dns_entry(loader *ld, const yaml_node_t *item, const sim_dns_entry *e, uint64_t seen)
{
	bool have_at = seen >> DK_AT & 1, have_change = seen >> DK_CHANGE_TO & 1;

	if (!(seen >> DK_NAME & 1)) {
		ld_fail(ld, item, "a dns entry needs 'name'");
	}
	if (e->fail && (seen >> DK_ADDRESSES & 1 || have_at || have_change)) {
		ld_fail(ld, item, "fail: true never resolves: give no addresses, at or change_to");
		return;
	}
	if (!e->fail && e->n_addrs == 0) {
		ld_fail(ld, item,
		        "a dns entry needs 'addresses' (node names or addresses), or fail: true "
		        "for a name that never resolves");
	}
	if (have_at != have_change) {
		ld_fail(ld, item,
		        "'at' and 'change_to' go together: when and to what the answer "
		        "changes");
	}
}

static void
load_dns_entry(loader *ld, const yaml_node_t *item, size_t index)
{
	sim_dns_entry *e = &ld->sc->dns[index];
	uint64_t seen = 0;
	unsigned errors = ld->n_errors;

	e->line = (int)item->start_mark.line + 1;
	ld_field_defaults(dns_fields, e);
	ld_read_fields(ld, item, dns_fields, e, NULL, "a dns entry", &seen);
	if (ld_errors_since(ld, errors) == 0) {
		check_dns_entry(ld, item, e, seen);
	}
}

/* Every entry is counted, even one with errors: once its name was read, a
 * conf that uses it does not fail a second time as an unknown name. */
int
ld_load_dns(loader *ld, const yaml_node_t *n)
{
	sim_scenario *sc = ld->sc;
	unsigned errors = ld->n_errors;
	size_t len;

	sc->dns = ld_list_array(ld, n, "dns entries", 1, sizeof(*sc->dns), &len);
	if (sc->dns == NULL) {
		return -1;
	}
	for (size_t i = 0; i < len && !ld->fatal; i++) {
		size_t mark = ld_path_index(ld, i);
		yaml_node_t *item = ld_seq_item(ld, n, i);

		if (ld_expect_mapping(ld, item, "a dns entry {name, addresses}") == 0) {
			load_dns_entry(ld, item, i);
		}
		sc->n_dns++;
		ld_path_restore(ld, mark);
	}
	return ld_errors_since(ld, errors);
}

void
ld_free_dns(sim_scenario *sc)
{
	for (size_t i = 0; i < sc->n_dns; i++) {
		free(sc->dns[i].addrs);
		free(sc->dns[i].later);
	}
	free(sc->dns);
	sc->dns = NULL;
	sc->n_dns = 0;
}

/* ------------------------------------------------------------------ */
/* resolving a conf when a daemon starts                               */

/* "VERB NAME MORE" to the caller's note. */
static void
tell(sim_dns_note_fn note, void *ctx, const char *verb, const char *name, const char *more)
{
	char text[NTP_CONF_HOST_MAX + 160];

	if (note != NULL) {
		snprintf(text, sizeof(text), "%s%s%s", verb, name, more);
		note(ctx, text);
	}
}

/* Whether a line of conf c already polls address a (ntpd's pool skips an
 * address that has an association: findexistingpeer()). */
static bool
conf_has(const ntp_conf *c, const ntp_addr *a)
{
	for (size_t i = 0; i < c->n_servers; i++) {
		if (c->servers[i].kind != NTP_CONF_POOL &&
		    ntp_addr_same_host(&c->servers[i].addr, a)) {
			return true;
		}
	}
	return false;
}

/* A dns name's pool line: its entry, else NULL (a pool of node names was
 * expanded at load). */
static const sim_dns_entry *
dns_pool(const sim_scenario *sc, const ntp_conf_server *s)
{
	sim_range r;

	if (s->kind != NTP_CONF_POOL || s->addr.family != NTP_AF_NONE ||
	    sim_scenario_find(sc, s->host, &r) == 0) {
		return NULL;
	}
	return sim_scenario_dns_find(sc, s->host);
}

/* A server or peer line: copied, resolved to the first address of its
 * dns name (getaddrinfo's first answer, which ntpd takes), or dropped. */
static void
copy_line(const sim_scenario *sc, const ntp_conf_server *s, double t, ntp_conf *out,
          sim_dns_note_fn note, void *ctx)
{
	const sim_dns_entry *e = NULL;
	const ntp_addr *a = NULL;
	char buf[64], more[80];

	if (s->kind != NTP_CONF_POOL && s->kind != NTP_CONF_LOCAL_CLOCK &&
	    s->addr.family == NTP_AF_NONE) {
		e = sim_scenario_dns_find(sc, s->host);
		if (e == NULL || sim_dns_answer(e, t, &a) == 0) {
			tell(note, ctx, "cannot resolve ", s->host, "");
			return;
		}
	}
	out->servers[out->n_servers] = *s;
	if (e != NULL) {
		out->servers[out->n_servers].addr = a[0];
		snprintf(more, sizeof(more), " resolves to %s",
		         ntp_addr_format(&a[0], buf, sizeof(buf)));
		tell(note, ctx, "", s->host, more);
	}
	out->n_servers++;
}

/* Each dns pool adds its next unused address in turn, as ntpd's pool
 * prototypes each add one association per poll, until maxclock. */
static void
expand_dns_pools(const sim_scenario *sc, const ntp_conf *in, double t, ntp_conf *out,
                 size_t used[NTP_CONF_MAX_SERVERS])
{
	size_t next[NTP_CONF_MAX_SERVERS] = {0};
	size_t assoc = out->n_servers; /* the pool lines count, as in ntpd */
	bool added = true;

	while (added && assoc < NTP_SELECT_MAXCLOCK && out->n_servers < NTP_CONF_MAX_SERVERS) {
		added = false;
		for (size_t i = 0; i < in->n_servers && assoc < NTP_SELECT_MAXCLOCK; i++) {
			const sim_dns_entry *e = dns_pool(sc, &in->servers[i]);
			const ntp_addr *a;
			size_t n = e != NULL ? sim_dns_answer(e, t, &a) : 0;

			while (next[i] < n && conf_has(out, &a[next[i]])) {
				next[i]++;
			}
			if (next[i] >= n || out->n_servers >= NTP_CONF_MAX_SERVERS) {
				continue;
			}
			out->servers[out->n_servers] = in->servers[i];
			out->servers[out->n_servers].kind = NTP_CONF_SERVER;
			out->servers[out->n_servers].addr = a[next[i]++];
			out->n_servers++;
			used[i]++;
			assoc++;
			added = true;
		}
	}
}

/* What each dns pool got, for the events log. */
static void
tell_pools(const sim_scenario *sc, const ntp_conf *in, const size_t *used, double t,
           sim_dns_note_fn note, void *ctx)
{
	for (size_t i = 0; i < in->n_servers; i++) {
		const sim_dns_entry *e = dns_pool(sc, &in->servers[i]);
		const ntp_addr *a;
		size_t n = e != NULL ? sim_dns_answer(e, t, &a) : 0;
		char more[80];

		if (e == NULL) {
			continue;
		}
		if (n == 0) {
			tell(note, ctx, "cannot resolve ", e->name, "");
			continue;
		}
		snprintf(more, sizeof(more), ": %zu of %zu addresses used (maxclock %d)", used[i],
		         n, NTP_SELECT_MAXCLOCK);
		tell(note, ctx, "pool ", e->name, more);
	}
}

void
sim_dns_resolve_conf(const sim_scenario *sc, const ntp_conf *in, double t, ntp_conf *out,
                     sim_dns_note_fn note, void *ctx)
{
	size_t used[NTP_CONF_MAX_SERVERS] = {0};

	*out = *in;
	out->n_servers = 0;
	for (size_t i = 0; i < in->n_servers && i < NTP_CONF_MAX_SERVERS; i++) {
		copy_line(sc, &in->servers[i], t, out, note, ctx);
	}
	expand_dns_pools(sc, in, t, out, used);
	tell_pools(sc, in, used, t, note, ctx);
}
