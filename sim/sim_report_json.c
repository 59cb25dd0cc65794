/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * report.json, schema_version 1 (docs/report.schema.json; realnet writes
 * the same shape for the real world).  Numbers are SI (s, s/s; keys ending
 * _ppm are ppm); what does not exist is null, never NaN.  Every check is
 * data (kind, node, parameters, limit, measured value, pass) besides its
 * English label, and every per-node figure a sweep can summarise sits in
 * the node's flat "metrics" object.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ntp_info.h"
#include "ntplab_version.h"
#include "sim_check.h"
#include "sim_json.h"
#include "sim_report.h"
#include "sim_scenario_json.h"

#define REPORT_SCHEMA_VERSION 1 /* docs/report.schema.json */

/* ------------------------------------------------------------------ */
/* writing JSON                                                        */

/* ,"key":number */
static void
json_knum(FILE *f, const char *key, double v)
{
	fputc(',', f);
	json_key(f, key);
	json_num(f, v);
}

/* ,"key":"text" (s NULL: null) */
static void
json_kstr(FILE *f, const char *key, const char *s)
{
	fputc(',', f);
	json_key(f, key);
	if (s != NULL) {
		json_str(f, s);
	} else {
		fputs("null", f);
	}
}

static void
json_kbool(FILE *f, const char *key, bool v)
{
	fputc(',', f);
	json_key(f, key);
	fputs(v ? "true" : "false", f);
}

/* ------------------------------------------------------------------ */
/* checks                                                              */

/* How a check names its nodes: one node, or its whole template (a check
 * names one or the other: sim_scenario_find). */
static const char *
range_name(const sim_scenario *sc, sim_range r, char *buf, size_t size)
{
	return r.count == 1 ? sim_scenario_node_name(sc, r.first, buf, size)
	                    : sim_scenario_tmpl(sc, r.first)->name;
}

/* "params": the check's parameters as the effective scenario gives them
 * (sim_scenario_json; realnet's reports repeat the same object), and how
 * many nodes it covers. */
static void
json_params(FILE *f, const sim_scenario *sc, const sim_check_spec *c)
{
	json_w w;

	fputs(",\"params\":", f);
	json_w_init(&w, f);
	json_w_open(&w, NULL, '{');
	sim_scenario_json_check_params(&w, sc, c);
	json_w_uint(&w, "nodes", c->nodes.count);
	json_w_close(&w, '}');
}

/* The number a check compares its measured value with, and its unit. */
static double
check_limit(const sim_check_spec *c, const char **unit)
{
	*unit = "s";
	switch (c->kind) {
	case SIM_CHECK_SYNCED:
		return c->when == SIM_WHEN_NEVER ? (*unit = NULL, NAN) : c->within;
	case SIM_CHECK_OFFSET:
	case SIM_CHECK_RMS:
		return c->max;
	case SIM_CHECK_FREQ:
		*unit = "s/s";
		return c->max;
	case SIM_CHECK_STEPS:
	case SIM_CHECK_EVENT:
	case SIM_CHECK_LOG:
	case SIM_CHECK_PACKETS:
		*unit = "count";
		return c->max_count != LLONG_MAX ? (double)c->max_count : (double)c->min;
	case SIM_CHECK_BOUND:
		*unit = "fraction";
		return c->min_fraction;
	case SIM_CHECK_INTERVAL:
		return c->ivl_min_lo;
	case SIM_CHECK_REJECTED: /* the time it was rejected; no limit */
		return NAN;
	default: /* SELECTED, STATE, QUERY: a verdict, no number */
		*unit = NULL;
		return NAN;
	}
}

static void
json_check(sim_world *w, size_t i, FILE *f)
{
	const sim_check_spec *c = &w->sc->checks[i];
	const sim_check_outcome *o = &w->outcome[i];
	char node[SIM_NAME_MAX + 12];
	const char *unit;
	double limit = check_limit(c, &unit);

	fprintf(f, "%s{\"index\":%zu,\"line\":%d", i ? "," : "", i, c->line);
	json_kstr(f, "kind", sim_check_kind_name(c->kind));
	json_kstr(f, "node", range_name(w->sc, c->nodes, node, sizeof(node)));
	json_kstr(f, "label", c->label);
	json_params(f, w->sc, c);
	json_knum(f, "limit", limit);
	json_kstr(f, "unit", unit);
	json_knum(f, "measured", o->measured);
	json_kbool(f, "censored", o->censored);
	json_kbool(f, "pass", o->pass);
	json_kstr(f, "detail", o->detail);
	fputc('}', f);
}

/* ------------------------------------------------------------------ */
/* nodes                                                               */

/* The node's metrics, flat: what a sweep summarises (docs/report.schema.json
 * says what each means).  The settled part runs from the scenario's
 * `settle`, else from the first synced sample, to the end, later
 * excursions included. */
static void
json_metrics(sim_world *w, const sim_node *n, const node_facts *nf, FILE *f)
{
	const sim_node_stats *st = &n->st;
	const sim_metrics_result *r = n->metrics != NULL ? &n->metrics->r : NULL;
	bool settled = !isnan(sim_report_settle_time(w, n));
	double hours = w->sc->duration / 3600.0;

	fputs(",\"metrics\":{", f);
	json_key(f, "sync_time");
	json_num(f, nf->sync_time);
	json_knum(f, "first_sync_time", st->t_first_sync >= 0.0 ? st->t_first_sync : NAN);
	json_knum(f, "settle_time", sim_report_settle_time(w, n));
	json_knum(f, "offset_rms",
	          settled ? sim_report_rms(st->set_sum2, st->set_span, st->set_max) : NAN);
	json_knum(f, "offset_max", settled ? st->set_max : NAN);
	json_knum(f, "offset_p50", r != NULL ? r->p50 : NAN);
	json_knum(f, "offset_p95", r != NULL ? r->p95 : NAN);
	json_knum(f, "offset_p99", r != NULL ? r->p99 : NAN);
	json_knum(f, "offset_max_all", nf->max_all);
	json_knum(f, "offset_end", st->off_last);
	json_knum(f, "estimated_offset_end", n->est_offset);
	json_knum(f, "freq_error_end_ppm", nf->freq_ppm);
	json_knum(f, "freq_error_rms_ppm",
	          settled ? sim_report_rms(st->set_fsum2, st->set_span, NAN) * 1e6 : NAN);
	json_knum(f, "bound_held_fraction", nf->held);
	json_knum(f, "claimed_sync_seconds", st->claim_span);
	json_knum(f, "worst_bound_excess", st->worst_excess);
	json_knum(f, "steps", st->steps);
	json_knum(f, "last_step", st->steps > 0 ? st->last_step : NAN);
	json_knum(f, "packets_sent", (double)st->sent);
	json_knum(f, "packets_received", (double)st->received);
	json_knum(f, "packets_lost", (double)st->dropped);
	json_knum(f, "packets_duplicated", (double)st->duplicated);
	json_knum(f, "packets_per_hour",
	          hours > 0.0 ? (double)(st->sent + st->received) / hours : NAN);
	json_knum(f, "falseticker_reject_time", st->false_reject >= 0.0 ? st->false_reject : NAN);
	fputc('}', f);
}

static void
json_array(FILE *f, const char *key, const double *v, size_t n)
{
	fputc(',', f);
	json_key(f, key);
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		if (i > 0) {
			fputc(',', f);
		}
		json_num(f, v[i]);
	}
	fputc(']', f);
}

/* ADEV, TDEV and MTIE of the settled part at the run's standard taus. */
static void
json_stability(const sim_node *n, FILE *f)
{
	const sim_metrics_result *r;

	if (n->metrics == NULL) {
		return;
	}
	r = &n->metrics->r;
	fputs(",\"stability\":{\"tau0\":", f);
	json_num(f, r->tau0);
	json_array(f, "taus", r->taus, r->n_taus);
	json_array(f, "adev", r->adev, r->n_taus);
	json_array(f, "tdev", r->tdev, r->n_taus);
	json_array(f, "mtie", r->mtie, r->n_taus);
	fputc('}', f);
}

static void
json_peers(sim_world *w, size_t n_peers, FILE *f)
{
	fputs(",\"peers\":[", f);
	for (size_t i = 0; i < n_peers; i++) {
		const ntp_peer_info *p = &w->peers[i];
		char tally[2] = {p->tally, '\0'};

		fputs(i ? ",{" : "{", f);
		json_key(f, "remote");
		json_str(f, p->remote);
		json_kstr(f, "tally", tally);
		json_kstr(f, "reason", p->reason);
		json_knum(f, "stratum", p->stratum);
		json_knum(f, "reach", p->reach);
		json_knum(f, "offset", p->offset);
		json_knum(f, "delay", p->delay);
		json_knum(f, "jitter", p->jitter);
		fputc('}', f);
	}
	fputc(']', f);
}

static void
json_node(sim_world *w, sim_node *n, FILE *f)
{
	node_facts nf;

	sim_report_node_facts(w, n, &nf);
	fputc('{', f);
	json_key(f, "name");
	json_str(f, nf.name);
	json_kstr(f, "address", nf.addr);
	json_kstr(f, "kind", n->kind == SIM_NODE_QUERY ? "query" : "host");
	json_kbool(f, "running", n->running);
	json_kstr(f, "exited", n->exited);
	json_metrics(w, n, &nf, f);
	json_stability(n, f);
	fprintf(f, ",\"system\":{\"stratum\":%u,\"leap\":%u,\"poll\":%d", n->stratum, n->leap,
	        n->poll);
	json_kstr(f, "system_peer", nf.peer[0] != '\0' ? nf.peer : NULL);
	fputc('}', f);
	json_peers(w, nf.n_peers, f);
	if (n->query != NULL && n->query->runs > 0) {
		fputs(",\"query\":{", f);
		json_key(f, "result");
		json_str(f, n->query->result);
		json_kstr(f, "servers", n->query->lines);
		fputc('}', f);
	}
	fputc('}', f);
}

static void
json_templates(sim_world *w, FILE *f)
{
	bool first = true;

	fputs(",\"templates\":[", f);
	for (size_t t = 0; t < w->sc->n_nodes; t++) {
		const sim_node_spec *ts = &w->sc->nodes[t];
		tmpl_facts tf;

		if (!sim_report_summarised(w, ts)) {
			continue;
		}
		sim_report_tmpl_facts(w, ts, &tf);
		fputs(first ? "{" : ",{", f);
		first = false;
		json_key(f, "name");
		json_str(f, ts->name);
		json_knum(f, "count", ts->count);
		json_knum(f, "synced", tf.synced);
		json_knum(f, "latest_sync_time", tf.synced > 0 ? tf.worst_sync : NAN);
		json_knum(f, "worst_offset_rms_after_sync", tf.synced > 0 ? tf.worst_rms : NAN);
		json_knum(f, "worst_offset_max_after_sync", tf.synced > 0 ? tf.worst_max : NAN);
		fprintf(f,
		        ",\"packets\":{\"sent\":%llu,\"received\":%llu,\"lost\":%llu},"
		        "\"steps\":%llu}",
		        (unsigned long long)tf.sent, (unsigned long long)tf.received,
		        (unsigned long long)tf.dropped, (unsigned long long)tf.steps);
	}
	fputc(']', f);
}

/* ------------------------------------------------------------------ */
/* the report                                                          */

static void
json_head(sim_world *w, FILE *f)
{
	const sim_scenario *sc = w->sc;
	char start[40];

	ntp_time_format(w->t0, start, sizeof(start));
	fprintf(f, "{\"schema_version\":%d,\"tool\":{\"name\":\"ntpsim\"", REPORT_SCHEMA_VERSION);
	json_kstr(f, "version", NTPLAB_VERSION);
	json_kstr(f, "commit", NTPLAB_COMMIT);
	fputs("},\"world\":\"sim\",\"scenario\":{\"name\":", f);
	json_str(f, sc->name);
	json_kstr(f, "file", sc->file);
	json_kstr(f, "sha256", sc->sha256);
	/* the scenario as run, overrides included: one semantics for both worlds */
	fputs(",\"effective\":", f);
	sim_scenario_write_json(sc, f);
	fprintf(f, "},\"seed\":%llu", (unsigned long long)w->seed);
	json_kstr(f, "start_utc", start);
	json_knum(f, "duration", sc->duration);
	json_kstr(f, "result", w->checks_failed == 0 ? "pass" : "fail");
	fprintf(f,
	        ",\"summary\":{\"checks\":%zu,\"failed\":%zu,\"nodes_total\":%u,\"events\":%llu}",
	        sc->n_checks, w->checks_failed, w->n_nodes, (unsigned long long)w->n_events);
}

void
sim_report_json(sim_world *w, FILE *f)
{
	bool first = true;

	json_head(w, f);
	fputs(",\"checks\":[", f);
	for (size_t c = 0; c < w->sc->n_checks; c++) {
		json_check(w, c, f);
	}
	fputs("],\"nodes\":[", f);
	for (uint32_t i = 0; i < w->n_nodes; i++) {
		if (!sim_node_detailed(w, &w->nodes[i])) {
			continue;
		}
		if (!first) {
			fputc(',', f);
		}
		first = false;
		json_node(w, &w->nodes[i], f);
	}
	fputc(']', f);
	json_templates(w, f);
	fprintf(f,
	        ",\"network\":{\"links\":%zu,\"lost_link\":%llu,\"lost_firewall\":%llu,"
	        "\"lost_partition\":%llu,\"unroutable\":%llu,\"lost_stopped\":%llu}}\n",
	        w->n_links, (unsigned long long)w->dropped_link, (unsigned long long)w->dropped_fw,
	        (unsigned long long)w->dropped_partition, (unsigned long long)w->dropped_unroutable,
	        (unsigned long long)w->dropped_stopped);
}
