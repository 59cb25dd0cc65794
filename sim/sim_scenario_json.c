/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_scenario_json: the loaded scenario as JSON (sim_scenario_json.h).
 *
 * Fields of sim_scenario.h deliberately left out, and why:
 *   - loader bookkeeping: sim_node_spec.first/count/conf_line/conf_col
 *     (the templates list gives first and count), sim_scenario.n_* counts
 *     (the arrays' lengths), owned-pointer lengths;
 *   - the parsed ntp_conf beyond its associations (restrict list, tinker,
 *     tos, statistics, mru, ...): the conf text is given verbatim, and its
 *     server/peer/pool lines resolved ("servers"); its diagnostics are the
 *     loader's warnings ("warnings");
 *   - sim_event_spec.link.trace / sim_link_spec.trace as a pointer: written
 *     as the array of delays ("trace") instead.
 * Partitions are events (kind "partition" with its groups); ntpsim has no
 * partition outside the timeline.
 */
#include "sim_scenario_json.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ntp_discipline.h"
#include "ntp_info.h"
#include "ntp_time.h"
#include "sim_check.h" /* sim_check_kind_name, sim_state_field_names */
#include "sim_json.h"

#define ADDR_TEXT_MAX 64 /* bytes of a formatted address (ntp_addr_format needs 46) */
#define NAME_TEXT_MAX (SIM_NAME_MAX + 12)

/* ------------------------------------------------------------------ */
/* small values                                                        */

static void
w_addr(json_w *w, const char *key, const ntp_addr *a)
{
	char buf[ADDR_TEXT_MAX];

	if (a->family == NTP_AF_NONE) {
		json_w_null(w, key);
	} else {
		json_w_str(w, key, ntp_addr_format(a, buf, sizeof buf));
	}
}

/* The names of the nodes of range r. */
static void
w_range(json_w *w, const char *key, const sim_scenario *sc, sim_range r)
{
	char name[NAME_TEXT_MAX];

	json_w_open(w, key, '[');
	for (uint32_t i = 0; i < r.count; i++) {
		json_w_str(w, NULL, sim_scenario_node_name(sc, r.first + i, name, sizeof name));
	}
	json_w_close(w, ']');
}

static void
w_times(json_w *w, const char *key, const double *v, size_t n)
{
	json_w_open(w, key, '[');
	for (size_t i = 0; i < n; i++) {
		json_w_real(w, NULL, v[i]);
	}
	json_w_close(w, ']');
}

/* [lo, hi] (either may be null: unbounded). */
static void
w_pair(json_w *w, const char *key, double lo, double hi)
{
	json_w_open(w, key, '[');
	json_w_real(w, NULL, lo);
	json_w_real(w, NULL, hi);
	json_w_close(w, ']');
}

/* A count limit; LLONG_MAX (none) as null. */
static void
w_count(json_w *w, const char *key, long long v)
{
	if (v == LLONG_MAX) {
		json_w_null(w, key);
	} else {
		json_w_int(w, key, v);
	}
}

/* ------------------------------------------------------------------ */
/* links                                                               */

/* The first of a link's settings tc-netem has no word for (trace, and
 * ntplab's extensions, docs/netem.md); NULL when tc says it all. */
static const char *
tc_missing(const netem_link_params *p)
{
	if (p->dist == NETEM_DIST_TRACE) {
		return "trace";
	}
	if (p->pass_one_in > 1) {
		return "pass_one_in";
	}
	if (p->extra_fraction > 0.0 && p->extra_delay > 0.0) {
		return "extra";
	}
	if (p->up_every > 0.0) {
		return "up";
	}
	if (p->copies > 1 && p->duplicate > 0.0) {
		return "copies";
	}
	return NULL;
}

static void
w_link(json_w *w, const char *key, const netem_link_params *p)
{
	char tc[512];

	json_w_open(w, key, '{');
	json_w_real(w, "delay", p->delay);
	json_w_real(w, "jitter", p->jitter);
	json_w_real(w, "delay_corr", p->delay_corr);
	json_w_str(w, "dist", netem_dist_name(p->dist));
	if (p->dist == NETEM_DIST_TRACE) {
		w_times(w, "trace", p->trace, p->trace_len);
	} else {
		json_w_null(w, "trace");
	}
	json_w_real(w, "loss", p->loss);
	json_w_real(w, "loss_corr", p->loss_corr);
	json_w_bool(w, "ge", p->ge);
	json_w_real(w, "ge_p", p->ge_p);
	json_w_real(w, "ge_r", p->ge_r);
	json_w_real(w, "ge_loss_bad", p->ge_loss_bad);
	json_w_real(w, "ge_loss_good", p->ge_loss_good);
	json_w_real(w, "duplicate", p->duplicate);
	json_w_real(w, "duplicate_corr", p->duplicate_corr);
	json_w_real(w, "reorder", p->reorder);
	json_w_real(w, "reorder_corr", p->reorder_corr);
	json_w_int(w, "reorder_gap", p->reorder_gap);
	json_w_real(w, "rate", p->rate);
	json_w_int(w, "rate_overhead", p->rate_overhead);
	json_w_int(w, "rate_cellsize", p->rate_cellsize);
	json_w_int(w, "rate_celloverhead", p->rate_celloverhead);
	json_w_int(w, "limit", p->limit);
	json_w_bool(w, "down", p->down);
	json_w_int(w, "copies", p->copies);
	json_w_int(w, "pass_one_in", p->pass_one_in);
	json_w_real(w, "extra_fraction", p->extra_fraction);
	json_w_real(w, "extra_delay", p->extra_delay);
	json_w_real(w, "up_every", p->up_every);
	json_w_real(w, "up_for", p->up_for);
	json_w_real(w, "up_from", p->up_from);
	netem_link_format_tc(p, tc, sizeof tc);
	json_w_str(w, "tc", tc);
	json_w_str(w, "tc_missing", tc_missing(p));
	json_w_close(w, '}');
}

/* A link end: "any" or the names of its nodes. */
static void
w_end(json_w *w, const char *key, const sim_scenario *sc, sim_range r, bool any)
{
	if (any) {
		json_w_str(w, key, "any");
	} else {
		w_range(w, key, sc, r);
	}
}

static void
w_network(json_w *w, const sim_scenario *sc)
{
	json_w_open(w, "network", '{');
	w_link(w, "default", &sc->net_default);
	json_w_open(w, "links", '[');
	for (size_t i = 0; i < sc->n_links; i++) {
		const sim_link_spec *l = &sc->links[i];

		json_w_open(w, NULL, '{');
		json_w_int(w, "line", l->line);
		w_end(w, "from", sc, l->from, l->from_any);
		w_end(w, "to", sc, l->to, l->to_any);
		w_link(w, "params", &l->p);
		json_w_close(w, '}');
	}
	json_w_close(w, ']');
	json_w_close(w, '}');
}

/* ------------------------------------------------------------------ */
/* firewall, dns                                                       */

/* "any", "ADDR" (a host) or "ADDR/PREFIX", and the nodes it covers. */
static void
w_fw_match(json_w *w, const char *key, const char *nodes_key, const sim_scenario *sc,
           const ntp_addr *a, const ntp_addr *mask)
{
	char buf[ADDR_TEXT_MAX], text[ADDR_TEXT_MAX + 8], name[NAME_TEXT_MAX];

	if (a->family == NTP_AF_NONE) {
		json_w_str(w, key, "any");
		json_w_null(w, nodes_key);
		return;
	}
	ntp_addr_format(a, buf, sizeof buf);
	if (mask->family == NTP_AF_NONE) {
		json_w_str(w, key, buf);
	} else {
		snprintf(text, sizeof text, "%s/%d", buf, ntp_addr_prefix_len(mask));
		json_w_str(w, key, text);
	}
	json_w_open(w, nodes_key, '[');
	for (uint32_t i = 0; i < sc->total_nodes; i++) {
		ntp_addr na = sim_scenario_node_addr(sc, i);
		bool in = mask->family == NTP_AF_NONE ? ntp_addr_same_host(&na, a)
		                                      : ntp_addr_match_masked(&na, a, mask);

		if (in) {
			json_w_str(w, NULL, sim_scenario_node_name(sc, i, name, sizeof name));
		}
	}
	json_w_close(w, ']');
}

static void
w_firewall(json_w *w, const sim_scenario *sc)
{
	json_w_open(w, "firewall", '[');
	for (size_t i = 0; i < sc->n_fw; i++) {
		const netem_fw_rule *r = &sc->fw[i];

		json_w_open(w, NULL, '{');
		json_w_int(w, "index", (long long)i);
		json_w_int(w, "line", sc->fw_line[i]);
		json_w_str(w, "name", r->name);
		w_fw_match(w, "src", "src_nodes", sc, &r->src, &r->src_mask);
		w_fw_match(w, "dst", "dst_nodes", sc, &r->dst, &r->dst_mask);
		json_w_str(w, "proto", r->proto == NETEM_FW_PROTO_UDP ? "udp" : "any");
		json_w_int(w, "sport", r->sport);
		json_w_int(w, "dport", r->dport);
		json_w_str(w, "action", netem_fw_action_name(r->action));
		json_w_bool(w, "enabled", r->enabled);
		json_w_close(w, '}');
	}
	json_w_close(w, ']');
}

static void
w_addrs(json_w *w, const char *key, const ntp_addr *a, size_t n)
{
	json_w_open(w, key, '[');
	for (size_t i = 0; i < n; i++) {
		w_addr(w, NULL, &a[i]);
	}
	json_w_close(w, ']');
}

static void
w_dns(json_w *w, const sim_scenario *sc)
{
	json_w_open(w, "dns", '[');
	for (size_t i = 0; i < sc->n_dns; i++) {
		const sim_dns_entry *e = &sc->dns[i];

		json_w_open(w, NULL, '{');
		json_w_str(w, "name", e->name);
		json_w_int(w, "line", e->line);
		json_w_bool(w, "fail", e->fail);
		w_addrs(w, "addresses", e->addrs, e->n_addrs);
		json_w_real(w, "at", e->at >= 0.0 ? e->at : INFINITY);
		w_addrs(w, "change_to", e->later, e->n_later);
		json_w_close(w, '}');
	}
	json_w_close(w, ']');
}

/* ------------------------------------------------------------------ */
/* nodes                                                               */

static void
w_fault(json_w *w, const char *key, const ntp_fault *f)
{
	if (f->kinds == 0) {
		json_w_null(w, key);
		return;
	}
	json_w_open(w, key, '{');
	json_w_open(w, "kinds", '[');
	for (uint32_t bit = 1; bit != 0 && bit <= f->kinds; bit <<= 1) {
		if (f->kinds & bit) {
			json_w_str(w, NULL, ntp_fault_name(bit));
		}
	}
	json_w_close(w, ']');
	json_w_int(w, "leap", f->leap);
	json_w_real(w, "offset", f->offset);
	json_w_real(w, "rootdisp", f->rootdisp > 0.0 ? f->rootdisp : NTP_FAULT_ROOTDISP_DEF);
	json_w_real(w, "stale", f->stale > 0.0 ? f->stale : NTP_FAULT_STALE_DEF);
	json_w_str(w, "kod", f->kod[0] != '\0' ? f->kod : "RATE");
	json_w_close(w, '}');
}

static void
w_query(json_w *w, const char *key, const sim_query_spec *q)
{
	json_w_open(w, key, '{');
	json_w_open(w, "servers", '[');
	for (size_t i = 0; i < q->n_servers; i++) {
		json_w_open(w, NULL, '{');
		json_w_str(w, "name", q->server_names[i][0] != '\0' ? q->server_names[i] : NULL);
		w_addr(w, "address", &q->servers[i]);
		json_w_close(w, '}');
	}
	json_w_close(w, ']');
	json_w_int(w, "samples", q->samples);
	json_w_real(w, "interval", q->interval);
	json_w_real(w, "timeout", q->timeout);
	json_w_bool(w, "set", q->set);
	json_w_bool(w, "unprivileged", q->unprivileged);
	json_w_close(w, '}');
}

static void
w_clock(json_w *w, const sim_osc_params *c)
{
	json_w_open(w, "clock", '{');
	json_w_real(w, "offset", c->offset);
	json_w_real(w, "freq", c->freq);
	json_w_real(w, "wander", c->wander);
	json_w_real(w, "wander_step",
	            c->wander_step > 0.0 ? c->wander_step : SIM_OSC_WANDER_STEP_DEFAULT);
	json_w_real(w, "temp_amp", c->temp_amp);
	json_w_real(w, "temp_period", c->temp_period > 0.0 ? c->temp_period : INFINITY);
	json_w_real(w, "temp_phase", c->temp_phase);
	json_w_real(w, "resolution",
	            c->resolution > 0.0 ? c->resolution : SIM_OSC_RESOLUTION_DEFAULT);
	json_w_real(w, "noise", c->noise);
	json_w_close(w, '}');
}

/* The value the conf gives parameter `name` (the last one, as the
 * discipline reads it), NAN (null) when it gives none. */
static double
given_param(const ntp_conf_discipline *cd, const char *name)
{
	double v = NAN;

	for (size_t j = 0; j < cd->n_params; j++) {
		if (strcmp(cd->params[j].name, name) == 0) {
			v = cd->params[j].value;
		}
	}
	return v;
}

/* The discipline the node runs (the default when the conf names none),
 * each of its parameters with its unit, default and the value given. */
static void
w_discipline(json_w *w, const ntp_conf *conf)
{
	const ntp_discipline *d = ntp_discipline_for(conf);
	const ntp_conf_discipline *cd = &conf->discipline;

	json_w_open(w, "discipline", '{');
	json_w_str(w, "name", d != NULL ? d->name : NULL);
	json_w_str(w, "configured", cd->name[0] != '\0' ? cd->name : NULL);
	json_w_open(w, "params", '[');
	for (size_t i = 0; d != NULL && i < d->n_params; i++) {
		const ntp_disc_param *p = &d->params[i];

		json_w_open(w, NULL, '{');
		json_w_str(w, "name", p->name);
		json_w_str(w, "unit", p->unit);
		json_w_real(w, "default", p->dflt);
		json_w_real(w, "value", given_param(cd, p->name));
		json_w_close(w, '}');
	}
	json_w_close(w, ']');
	json_w_close(w, '}');
}

static const char *const conf_kind_names[] = {"server", "pool", "peer", "local"};

/* The conf's associations, names resolved to node addresses (a pool's
 * expansions follow the conf's own lines). */
static void
w_servers(json_w *w, const ntp_conf *conf)
{
	json_w_open(w, "servers", '[');
	for (size_t i = 0; i < conf->n_servers; i++) {
		const ntp_conf_server *s = &conf->servers[i];

		json_w_open(w, NULL, '{');
		json_w_int(w, "line", s->line);
		json_w_str(w, "kind", s->kind < 4 ? conf_kind_names[s->kind] : "?");
		json_w_str(w, "host", s->host);
		w_addr(w, "address", &s->addr);
		json_w_open(w, "flags", '[');
		for (uint32_t bit = 1; bit != 0 && bit <= s->flags; bit <<= 1) {
			if (s->flags & bit) {
				json_w_str(w, NULL, ntp_conf_flag_name(bit));
			}
		}
		json_w_close(w, ']');
		json_w_int(w, "minpoll", s->minpoll);
		json_w_int(w, "maxpoll", s->maxpoll);
		json_w_int(w, "key", s->key);
		json_w_int(w, "version", s->version);
		if (s->kind == NTP_CONF_LOCAL_CLOCK) {
			json_w_int(w, "unit", s->unit);
			json_w_int(w, "stratum", s->stratum);
			json_w_real(w, "time1", s->time1);
		}
		json_w_close(w, '}');
	}
	json_w_close(w, ']');
}

static void
w_host_parts(json_w *w, const sim_node_spec *t)
{
	json_w_str(w, "conf", t->conf_text);
	json_w_int(w, "port", t->conf->port != 0 ? t->conf->port : NTP_PORT);
	w_discipline(w, t->conf);
	w_servers(w, t->conf);
	json_w_bool(w, "uses_dns", t->uses_dns);
	if (t->leapfile_text != NULL) {
		json_w_str(w, "leapfile", t->leapfile_text);
	}
	if (t->keys_text != NULL) { /* only when given: older outputs stay as they were */
		json_w_str(w, "keys", t->keys_text);
	}
}

static void
w_node(json_w *w, const sim_scenario *sc, const sim_node_spec *t, uint32_t index)
{
	char name[NAME_TEXT_MAX];
	ntp_addr a = sim_scenario_node_addr(sc, index);

	json_w_open(w, NULL, '{');
	json_w_int(w, "index", index);
	json_w_str(w, "name", sim_scenario_node_name(sc, index, name, sizeof name));
	json_w_str(w, "template", t->name);
	if (t->count > 1) {
		json_w_int(w, "replica", (long long)(index - t->first) + 1);
	} else {
		json_w_null(w, "replica");
	}
	w_addr(w, "address", &a);
	json_w_str(w, "kind", t->kind == SIM_NODE_QUERY ? "query" : "host");
	json_w_str(w, "impl", t->impl[0] != '\0' ? t->impl : NULL);
	json_w_int(w, "line", t->line);
	json_w_real(w, "start", t->start);
	json_w_bool(w, "trace", t->trace != 0);
	json_w_int(w, "precision", t->precision);
	json_w_bool(w, "big_first_step", t->big_first_step);
	json_w_real(w, "drift_ppm", t->have_drift ? t->drift_ppm : NAN);
	w_clock(w, &t->clock);
	w_fault(w, "fault", &t->fault);
	if (t->kind == SIM_NODE_HOST && t->conf != NULL) {
		w_host_parts(w, t);
		json_w_null(w, "query");
		json_w_null(w, "query_at");
	} else {
		json_w_null(w, "conf");
		json_w_null(w, "port");
		json_w_null(w, "discipline");
		json_w_null(w, "servers");
		json_w_bool(w, "uses_dns", false);
		w_query(w, "query", &t->query);
		w_times(w, "query_at", t->query_at, t->n_query_at);
	}
	json_w_close(w, '}');
}

static void
w_nodes(json_w *w, const sim_scenario *sc)
{
	char buf[ADDR_TEXT_MAX];

	json_w_open(w, "templates", '[');
	for (size_t i = 0; i < sc->n_nodes; i++) {
		const sim_node_spec *t = &sc->nodes[i];

		json_w_open(w, NULL, '{');
		json_w_str(w, "name", t->name);
		json_w_int(w, "line", t->line);
		json_w_str(w, "kind", t->kind == SIM_NODE_QUERY ? "query" : "host");
		json_w_int(w, "count", t->count);
		json_w_int(w, "first", t->first);
		json_w_str(w, "address", ntp_addr_format(&t->addr, buf, sizeof buf));
		json_w_close(w, '}');
	}
	json_w_close(w, ']');
	json_w_open(w, "nodes", '[');
	for (size_t i = 0; i < sc->n_nodes; i++) {
		for (uint32_t k = 0; k < sc->nodes[i].count; k++) {
			w_node(w, sc, &sc->nodes[i], sc->nodes[i].first + k);
		}
	}
	json_w_close(w, ']');
}

/* ------------------------------------------------------------------ */
/* events                                                              */

/* A partition's groups as written (a node named in two groups ends up in
 * the later one, as in the engine): the loader keeps them as one array of
 * ranges, each group closed by a zero-count separator. */
static void
w_groups(json_w *w, const sim_scenario *sc, const sim_event_spec *e)
{
	char name[NAME_TEXT_MAX];
	bool open = false;

	json_w_open(w, "groups", '[');
	for (size_t g = 0; g < e->n_groups; g++) {
		const sim_range *r = &e->groups[g];

		if (r->count == 0) {
			if (!open) {
				json_w_open(w, NULL, '[');
			}
			json_w_close(w, ']');
			open = false;
			continue;
		}
		if (!open) {
			json_w_open(w, NULL, '[');
			open = true;
		}
		for (uint32_t i = 0; i < r->count; i++) {
			json_w_str(w, NULL,
			           sim_scenario_node_name(sc, r->first + i, name, sizeof name));
		}
	}
	if (open) {
		json_w_close(w, ']');
	}
	json_w_close(w, ']');
}

static void
w_event_parts(json_w *w, const sim_scenario *sc, const sim_event_spec *e)
{
	switch (e->kind) {
	case SIM_EV_FIREWALL:
		json_w_int(w, "rule", (long long)e->rule);
		json_w_str(w, "rule_name", e->rule < sc->n_fw ? sc->fw[e->rule].name : NULL);
		break;
	case SIM_EV_PARTITION:
		w_groups(w, sc, e);
		break;
	case SIM_EV_STEP:
		w_range(w, "nodes", sc, e->nodes);
		json_w_real(w, "by", e->value);
		break;
	case SIM_EV_FREQ:
		w_range(w, "nodes", sc, e->nodes);
		json_w_real(w, "freq", e->value);
		break;
	case SIM_EV_FAULT:
		w_range(w, "nodes", sc, e->nodes);
		w_fault(w, "fault", &e->fault);
		break;
	case SIM_EV_LINK:
		w_end(w, "from", sc, e->link.from, e->link.from_any);
		w_end(w, "to", sc, e->link.to, e->link.to_any);
		json_w_bool(w, "both", e->both);
		w_link(w, "params", &e->link.p);
		break;
	case SIM_EV_QUERY:
		w_range(w, "nodes", sc, e->nodes);
		w_query(w, "query", &e->query);
		break;
	case SIM_EV_STOP:
	case SIM_EV_START:
		w_range(w, "nodes", sc, e->nodes);
		break;
	default:
		break; /* heal: nothing more */
	}
}

static void
w_events(json_w *w, const sim_scenario *sc)
{
	json_w_open(w, "events", '[');
	for (size_t i = 0; i < sc->n_events; i++) {
		const sim_event_spec *e = &sc->events[i];

		json_w_open(w, NULL, '{');
		json_w_int(w, "index", (long long)i);
		json_w_int(w, "line", e->line);
		json_w_str(w, "kind", sim_event_kind_name(e->kind, e->enable));
		json_w_str(w, "origin", e->clock_step ? "clock" : "events");
		json_w_real(w, "at", e->at);
		json_w_real(w, "every", e->every > 0.0 ? e->every : NAN);
		json_w_real(w, "until", e->every > 0.0 && e->until > 0.0 ? e->until : NAN);
		w_event_parts(w, sc, e);
		json_w_close(w, '}');
	}
	json_w_close(w, ']');
}

/* ------------------------------------------------------------------ */
/* checks                                                              */

static const char *const when_names[] = {"at", "over", "never"};
static const char *const dir_names[] = {"sent", "received", "dropped"};

static void
w_source(json_w *w, const sim_check_spec *c)
{
	if (c->kind != SIM_CHECK_REJECTED && !c->have_source) {
		json_w_null(w, "source");
		return;
	}
	json_w_open(w, "source", '{');
	json_w_str(w, "name", c->source_name[0] != '\0' ? c->source_name : NULL);
	w_addr(w, "address", &c->source);
	json_w_close(w, '}');
}

/* when, from, to: null from = the end (at), null to = the run's end. */
static void
w_window(json_w *w, const sim_check_spec *c)
{
	json_w_str(w, "when", c->when >= 0 && c->when <= 2 ? when_names[c->when] : "?");
	json_w_real(w, "from", c->from);
	json_w_real(w, "to", c->to > 0.0 ? c->to : INFINITY);
}

static void
w_counts(json_w *w, const sim_check_spec *c)
{
	json_w_int(w, "min", c->min);
	w_count(w, "max", c->max_count);
}

/* EVENT, LOG: times of the first / last match, relative to `since`. */
static void
w_match_times(json_w *w, const sim_scenario *sc, const sim_check_spec *c)
{
	char name[NAME_TEXT_MAX];

	if (c->have_first) {
		w_pair(w, "first", c->first_lo, c->first_hi);
	} else {
		json_w_null(w, "first");
	}
	if (c->have_last) {
		w_pair(w, "last", c->last_lo, c->last_hi);
	} else {
		json_w_null(w, "last");
	}
	if (!c->since_line) {
		json_w_real(w, "since", c->since);
		return;
	}
	json_w_open(w, "since", '{');
	if (c->other.count == 1) {
		json_w_str(w, "node",
		           sim_scenario_node_name(sc, c->other.first, name, sizeof name));
	} else {
		json_w_null(w, "node");
	}
	json_w_str(w, "what", c->since_match.what);
	json_w_str(w, "text", c->since_match.text);
	json_w_close(w, '}');
}

static void
w_state_conds(json_w *w, const sim_check_spec *c)
{
	json_w_open(w, "conditions", '[');
	for (size_t i = 0; i < c->n_conds; i++) {
		const sim_state_cond *k = &c->conds[i];

		json_w_open(w, NULL, '{');
		json_w_str(w, "field",
		           k->field >= 0 && k->field < SIM_SF_COUNT
		                   ? sim_state_field_names[k->field]
		                   : "?");
		json_w_real(w, "lo", k->lo);
		json_w_real(w, "hi", k->hi);
		json_w_str(w, "text", k->text);
		json_w_close(w, '}');
	}
	json_w_close(w, ']');
}

/* The clock checks: synced, offset, rms, freq, bound. */
static void
w_clock_check(json_w *w, const sim_check_spec *c)
{
	switch (c->kind) {
	case SIM_CHECK_SYNCED:
		json_w_real(w, "within", c->within);
		json_w_bool(w, "not_within", c->not_within);
		json_w_real(w, "bound", c->bound);
		w_window(w, c);
		break;
	case SIM_CHECK_OFFSET:
		json_w_real(w, "after", c->from);
		json_w_real(w, "max", c->max);
		break;
	case SIM_CHECK_RMS:
		json_w_real(w, "from", c->from);
		json_w_real(w, "to", c->to > 0.0 ? c->to : INFINITY);
		json_w_real(w, "max", c->max);
		break;
	case SIM_CHECK_FREQ:
		json_w_real(w, "from", c->from);
		json_w_real(w, "to", c->to > 0.0 ? c->to : INFINITY);
		json_w_real(w, "max", c->max);
		json_w_bool(w, "rms", c->rms);
		break;
	default: /* bound */
		json_w_real(w, "min_fraction", c->min_fraction);
		break;
	}
}

/* The counting checks: steps, event, log, packets. */
static void
w_count_check(json_w *w, const sim_scenario *sc, const sim_check_spec *c)
{
	w_counts(w, c);
	switch (c->kind) {
	case SIM_CHECK_STEPS:
		if (c->have_by) {
			w_pair(w, "by", c->by_lo, c->by_hi);
		} else {
			json_w_null(w, "by");
		}
		break;
	case SIM_CHECK_EVENT:
		json_w_str(w, "name", ntp_event_name(c->event_code));
		json_w_str(w, "reason", c->text);
		w_match_times(w, sc, c);
		break;
	case SIM_CHECK_LOG:
		json_w_str(w, "what", c->what[0] != '\0' ? c->what : NULL);
		json_w_str(w, "text", c->text);
		w_match_times(w, sc, c);
		break;
	default: /* packets */
		json_w_str(w, "dir", c->dir >= 0 && c->dir <= 2 ? dir_names[c->dir] : "?");
		break;
	}
}

void
sim_scenario_json_check_params(json_w *w, const sim_scenario *sc, const sim_check_spec *c)
{
	switch (c->kind) {
	case SIM_CHECK_SYNCED:
	case SIM_CHECK_OFFSET:
	case SIM_CHECK_RMS:
	case SIM_CHECK_FREQ:
	case SIM_CHECK_BOUND:
		w_clock_check(w, c);
		break;
	case SIM_CHECK_STEPS:
	case SIM_CHECK_EVENT:
	case SIM_CHECK_LOG:
	case SIM_CHECK_PACKETS:
		w_count_check(w, sc, c);
		break;
	case SIM_CHECK_REJECTED:
		w_source(w, c);
		json_w_str(w, "reason", c->text);
		break;
	case SIM_CHECK_SELECTED:
		w_source(w, c);
		w_window(w, c);
		break;
	case SIM_CHECK_STATE:
		w_source(w, c);
		w_window(w, c);
		w_state_conds(w, c);
		break;
	case SIM_CHECK_QUERY:
		json_w_str(w, "result", c->text);
		break;
	default: /* interval */
		json_w_str(w, "dir", c->dir >= 0 && c->dir <= 2 ? dir_names[c->dir] : "?");
		w_source(w, c);
		w_pair(w, "min", c->ivl_min_lo, c->ivl_min_hi);
		w_pair(w, "mean", c->ivl_mean_lo, c->ivl_mean_hi);
		break;
	}
}

/* `more_than` / `less_than`: the measure against another node's. */
static void
w_compare(json_w *w, const sim_scenario *sc, const sim_check_spec *c)
{
	char name[NAME_TEXT_MAX];

	if (c->cmp == SIM_CMP_NONE || c->other.count != 1) {
		json_w_null(w, "compare");
		return;
	}
	json_w_open(w, "compare", '{');
	json_w_str(w, "node", sim_scenario_node_name(sc, c->other.first, name, sizeof name));
	json_w_str(w, "cmp", c->cmp == SIM_CMP_MORE ? "more_than" : "less_than");
	json_w_real(w, "factor", c->factor);
	json_w_close(w, '}');
}

static void
w_checks(json_w *w, const sim_scenario *sc)
{
	json_w_open(w, "checks", '[');
	for (size_t i = 0; i < sc->n_checks; i++) {
		const sim_check_spec *c = &sc->checks[i];

		json_w_open(w, NULL, '{');
		json_w_int(w, "index", (long long)i);
		json_w_int(w, "line", c->line);
		json_w_str(w, "kind", sim_check_kind_name(c->kind));
		json_w_str(w, "label", c->label);
		w_range(w, "nodes", sc, c->nodes);
		json_w_open(w, "params", '{');
		sim_scenario_json_check_params(w, sc, c);
		json_w_close(w, '}');
		w_compare(w, sc, c);
		json_w_close(w, '}');
	}
	json_w_close(w, ']');
}

/* ------------------------------------------------------------------ */
/* the whole                                                           */

static void
w_warnings(json_w *w, const sim_scenario *sc)
{
	const char *p = sc->warnings;

	json_w_open(w, "warnings", '[');
	while (p != NULL && *p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		char line[1024];

		snprintf(line, sizeof line, "%.*s",
		         (int)(len < sizeof line ? len : sizeof line - 1), p);
		json_w_str(w, NULL, line);
		p = nl != NULL ? nl + 1 : p + len;
	}
	json_w_close(w, ']');
}

static void
w_top(json_w *w, const sim_scenario *sc)
{
	char start[40];

	ntp_time_format(sc->start_ns, start, sizeof start);
	json_w_int(w, "normalized_version", SIM_SCENARIO_JSON_VERSION);
	json_w_str(w, "file", sc->file);
	json_w_str(w, "name", sc->name);
	json_w_str(w, "description", sc->description);
	json_w_uint(w, "seed", sc->seed);
	json_w_open(w, "start", '{');
	json_w_str(w, "utc", start);
	json_w_real(w, "unix", (double)sc->start_ns / 1e9);
	json_w_real(w, "ntp", (double)sc->start_ns / 1e9 + (double)NTP_UNIX_EPOCH_OFFSET);
	json_w_close(w, '}');
	json_w_real(w, "duration", sc->duration);
	json_w_real(w, "sample_interval", sc->sample_interval);
	json_w_real(w, "sync_bound", sc->sync_bound);
	json_w_real(w, "settle", sc->settle >= 0.0 ? sc->settle : NAN);
	json_w_int(w, "total_nodes", sc->total_nodes);
	json_w_open(w, "real", '{');
	json_w_real(w, "time_scale", sc->real_time_scale > 0.0 ? sc->real_time_scale : 1.0);
	json_w_close(w, '}');
	if (sc->leaps != NULL) {
		/* `leaps:` given: the days that end with a leap, and its step */
		json_w_open(w, "leaps", '[');
		for (size_t i = 0; i < sc->leaps->n; i++) {
			char day[40];

			ntp_time_format((sc->leaps->e[i].when - NTP_S_PER_DAY) * NTP_NS_PER_S, day,
			                sizeof day);
			day[10] = '\0';
			json_w_open(w, NULL, '{');
			json_w_str(w, "day", day);
			json_w_int(w, "step", sc->leaps->e[i].step);
			json_w_close(w, '}');
		}
		json_w_close(w, ']');
	}
}

int
sim_scenario_write_json(const sim_scenario *sc, FILE *f)
{
	json_w w;

	json_w_init(&w, f);
	json_w_open(&w, NULL, '{');
	w_top(&w, sc);
	w_network(&w, sc);
	w_firewall(&w, sc);
	w_dns(&w, sc);
	w_nodes(&w, sc);
	w_events(&w, sc);
	w_checks(&w, sc);
	w_warnings(&w, sc);
	json_w_close(&w, '}');
	return ferror(f) ? -1 : 0;
}
