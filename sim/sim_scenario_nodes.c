/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The scenario's nodes: node entries and their replicas, clock models,
 * faults, one-shot query nodes, ntp.conf text and its server names, and
 * the nodes' addresses (docs/scenarios.md, "Nodes", "The clock model",
 * "One-shot query nodes").
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_scenario_load.h"

#define MAX_TEMPLATES          1024  /* node entries in a scenario (ours) */
#define PRECISION_DEFAULT      (-20) /* log2 s, ntpd's usual measured precision */
#define QUERY_SAMPLES_DEFAULT  4     /* ntpdate DEFSAMPLES */
#define QUERY_TIMEOUT_DEFAULT  1.0   /* s, ntpdate DEFTIMEOUT (5 ticks of 0.2 s) */
#define QUERY_INTERVAL_DEFAULT 1.0   /* s, between a server's requests (ours) */

/* ------------------------------------------------------------------ */
/* node references and addresses                                       */

static uint32_t
addr_low32(const ntp_addr *a)
{
	size_t off = a->family == NTP_AF_INET ? 0 : 12;

	return ((uint32_t)a->a[off] << 24) | ((uint32_t)a->a[off + 1] << 16) |
	       ((uint32_t)a->a[off + 2] << 8) | a->a[off + 3];
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
static long
owner_of(const sim_scenario *sc, const ntp_addr *a)
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
		return ld_fail(ld, n, "out of memory");
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
			return -1;
		}
	}
	return 0;
}

static int
get_address(loader *ld, const yaml_node_t *n, ntp_addr *out)
{
	const char *s = ld_scalar(ld, n, "an IPv4 or IPv6 address");

	if (s == NULL) {
		return -1;
	}
	if (!ntp_addr_parse(s, out)) {
		return ld_fail(ld, n, "expected a numeric IPv4 or IPv6 address, got '%.60s'", s);
	}
	out->port = 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* nodes                                                               */

static int
get_clock_steps(loader *ld, const yaml_node_t *n, const sim_node_spec *t)
{
	static const char *const keys[] = {"at", "by", NULL};

	if (ld_expect_sequence(ld, n, "clock steps ({at, by})") != 0) {
		return -1;
	}
	for (size_t i = 0; i < ld_seq_len(n); i++) {
		size_t mark = ld_path_index(ld, i);
		yaml_node_t *item = ld_seq_item(ld, n, i);
		sim_event_spec *e;
		uint64_t seen = 0;

		if (ld_expect_mapping(ld, item, "a clock step {at, by}") != 0 ||
		    ld_add_event(ld, item, &e) != 0) {
			return -1;
		}
		e->kind = SIM_EV_STEP;
		e->nodes.first = t->first;
		e->nodes.count = t->count;
		FOR_PAIRS(item, pr)
		{
			yaml_node_t *k = ld_get(ld, pr->key), *v = ld_get(ld, pr->value);
			int j = ld_key_index(ld, k, keys, &seen, "a clock step");
			int rc;

			if (j < 0) {
				return -1;
			}
			rc = j == 0 ? ld_get_time_nonneg(ld, v, &e->at)
			            : ld_get_duration(ld, v, &e->value);
			if (rc != 0) {
				return -1;
			}
		}
		if (seen != 3) {
			return ld_fail(ld, item, "a clock step needs 'at' and 'by'");
		}
		ld_path_restore(ld, mark);
	}
	return 0;
}

static int
get_temperature(loader *ld, const yaml_node_t *n, sim_osc_params *c)
{
	static const char *const keys[] = {"amplitude", "period", "phase", NULL};
	uint64_t seen = 0;

	if (ld_expect_mapping(ld, n, "a periodic frequency term (amplitude, period, phase)") != 0) {
		return -1;
	}
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key), *v = ld_get(ld, pr->value);
		int i = ld_key_index(ld, k, keys, &seen, "temperature");
		size_t mark;
		int rc;

		if (i < 0) {
			return -1;
		}
		mark = ld_path_key(ld, keys[i]);
		if (i == 0) {
			rc = ld_get_freq(ld, v, &c->temp_amp);
			if (rc == 0) {
				rc = ld_check_range(ld, v, c->temp_amp, -SIM_OSC_FREQ_MAX,
				                    SIM_OSC_FREQ_MAX, "s/s");
			}
		} else if (i == 1) {
			rc = ld_get_duration(ld, v, &c->temp_period);
			if (rc == 0) {
				rc = ld_check_range(ld, v, c->temp_period, 1e-3, 1e9, "s");
			}
		} else {
			rc = ld_get_number(ld, v, &c->temp_phase);
		}
		ld_path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	}
	if (!(seen & 1) || !(seen & 2)) {
		return ld_fail(ld, n, "temperature needs 'amplitude' and 'period'");
	}
	return 0;
}

static int
load_clock(loader *ld, const yaml_node_t *n, sim_node_spec *t)
{
	static const char *const keys[] = {"offset",      "freq",        "wander",
	                                   "wander_step", "temperature", "resolution",
	                                   "noise",       "steps",       NULL};
	sim_osc_params *c = &t->clock;
	uint64_t seen = 0;

	if (ld_expect_mapping(ld, n, "a clock model (offset, freq, wander, ...)") != 0) {
		return -1;
	}
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key), *v = ld_get(ld, pr->value);
		int i = ld_key_index(ld, k, keys, &seen, "clock");
		size_t mark;
		int rc = 0;

		if (i < 0) {
			return -1;
		}
		mark = ld_path_key(ld, keys[i]);
		switch (i) {
		case 0:
			rc = ld_get_duration(ld, v, &c->offset);
			if (rc == 0) {
				rc = ld_check_range(ld, v, c->offset, -1e9, 1e9, "s");
			}
			break;
		case 1:
			rc = ld_get_freq(ld, v, &c->freq);
			if (rc == 0) {
				rc = ld_check_range(ld, v, c->freq, -SIM_OSC_FREQ_MAX,
				                    SIM_OSC_FREQ_MAX, "s/s");
			}
			break;
		case 2:
			rc = ld_get_freq(ld, v, &c->wander);
			if (rc == 0) {
				rc = ld_check_range(ld, v, c->wander, 0.0, 1e-3, "s/s per sqrt(s)");
			}
			break;
		case 3:
			rc = ld_get_duration(ld, v, &c->wander_step);
			if (rc == 0) {
				rc = ld_check_range(ld, v, c->wander_step, 1e-3, 1e6, "s");
			}
			break;
		case 4:
			rc = get_temperature(ld, v, c);
			break;
		case 5:
			rc = ld_get_duration(ld, v, &c->resolution);
			if (rc == 0) {
				rc = ld_check_range(ld, v, c->resolution, 0.0, 1.0, "s");
			}
			break;
		case 6:
			rc = ld_get_duration(ld, v, &c->noise);
			if (rc == 0) {
				rc = ld_check_range(ld, v, c->noise, 0.0, 1.0, "s");
			}
			break;
		default:
			rc = get_clock_steps(ld, v, t);
			break;
		}
		ld_path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	}
	return 0;
}

static int
get_fault_kinds(loader *ld, const yaml_node_t *n, ntp_fault *f)
{
	size_t count;

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
			return ld_fail(
			        ld, item,
			        "unknown fault '%.40s' (faults: wrong-leap, stratum16, kod, "
			        "falseticker, stale-reftime, huge-rootdisp, bad-origin, silent)",
			        s);
		}
		f->kinds |= (uint32_t)bit;
	}
	return 0;
}

static const char *const fault_keys[] = {"kinds", "leap", "offset", "rootdisp",
                                         "stale", "kod",  NULL};

/* Fault fields of mapping n, skipping keys that are not fault keys when
 * `others` is set (an event mixes them with at/do/node). */
int
ld_get_fault_fields(loader *ld, const yaml_node_t *n, ntp_fault *f, bool others)
{
	uint64_t seen = 0;

	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key), *v = ld_get(ld, pr->value);
		const char *key;
		int i = -1;
		size_t mark;
		int rc = 0;
		long long ll;

		if (k == NULL || v == NULL) {
			return -1;
		}
		key = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";
		for (int j = 0; fault_keys[j] != NULL; j++) {
			if (strcmp(key, fault_keys[j]) == 0) {
				i = j;
			}
		}
		if (i < 0 && others) {
			continue;
		}
		if (i < 0) {
			i = ld_key_index(ld, k, fault_keys, &seen, "fault");
			if (i < 0) {
				return -1;
			}
		}
		mark = ld_path_key(ld, fault_keys[i]);
		switch (i) {
		case 0:
			rc = get_fault_kinds(ld, v, f);
			break;
		case 1:
			rc = ld_get_int(ld, v, 0, 3, &ll);
			f->leap = (uint8_t)ll;
			break;
		case 2:
			rc = ld_get_duration(ld, v, &f->offset);
			break;
		case 3:
			rc = ld_get_time_nonneg(ld, v, &f->rootdisp);
			break;
		case 4:
			rc = ld_get_time_nonneg(ld, v, &f->stale);
			break;
		default:
			rc = ld_get_text(ld, v, f->kod, sizeof(f->kod), "a 4-letter kiss code");
			break;
		}
		ld_path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	}
	return 0;
}

static int
get_query_servers(loader *ld, const yaml_node_t *n, sim_query_spec *q)
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

void
ld_query_defaults(sim_query_spec *q)
{
	memset(q, 0, sizeof(*q));
	q->samples = QUERY_SAMPLES_DEFAULT;
	q->interval = QUERY_INTERVAL_DEFAULT;
	q->timeout = QUERY_TIMEOUT_DEFAULT;
}

const char *const ld_query_keys[] = {"servers", "samples",      "interval", "timeout",
                                     "set",     "unprivileged", NULL};

/* One query field (index into ld_query_keys). */
int
ld_get_query_field(loader *ld, int i, const yaml_node_t *v, sim_query_spec *q)
{
	long long ll;
	int rc;

	switch (i) {
	case 0:
		return get_query_servers(ld, v, q);
	case 1:
		rc = ld_get_int(ld, v, 1, SIM_QUERY_MAX_SAMPLES, &ll);
		q->samples = (int)ll;
		return rc;
	case 2:
		rc = ld_get_time_nonneg(ld, v, &q->interval);
		return rc == 0 ? ld_check_range(ld, v, q->interval, 1e-3, 3600.0, "s") : rc;
	case 3:
		rc = ld_get_time_nonneg(ld, v, &q->timeout);
		return rc == 0 ? ld_check_range(ld, v, q->timeout, 1e-3, 3600.0, "s") : rc;
	case 4:
		return ld_get_bool(ld, v, &q->set);
	default:
		return ld_get_bool(ld, v, &q->unprivileged);
	}
}

static int
get_times(loader *ld, const yaml_node_t *n, double **out, size_t *count)
{
	size_t len = 1;

	if (n != NULL && n->type == YAML_SEQUENCE_NODE) {
		if (ld_expect_sequence(ld, n, "times") != 0) {
			return -1;
		}
		len = ld_seq_len(n);
		if (len == 0) {
			return ld_fail(ld, n, "expected at least one time");
		}
	}
	free(*out);
	*out = calloc(len, sizeof(double));
	if (*out == NULL) {
		return ld_fail(ld, n, "out of memory");
	}
	*count = len;
	for (size_t i = 0; i < len; i++) {
		const yaml_node_t *item = n->type == YAML_SEQUENCE_NODE ? ld_seq_item(ld, n, i) : n;

		if (ld_get_time_nonneg(ld, item, &(*out)[i]) != 0) {
			return -1;
		}
	}
	return 0;
}

static const char *const node_keys[] = {
        "name",
        "kind",
        "count",
        "address",
        "clock",
        "conf",
        "drift_ppm",
        "big_first_step",
        "precision",
        "start",
        "fault",
        "trace",
        "impl",
        /* kind: query */
        "servers",
        "samples",
        "interval",
        "timeout",
        "set",
        "unprivileged",
        "at",
        NULL,
};

enum {
	NK_NAME,
	NK_KIND,
	NK_COUNT,
	NK_ADDRESS,
	NK_CLOCK,
	NK_CONF,
	NK_DRIFT,
	NK_BIGSTEP,
	NK_PRECISION,
	NK_START,
	NK_FAULT,
	NK_TRACE,
	NK_IMPL,
	NK_SERVERS,
	NK_SAMPLES,
	NK_INTERVAL,
	NK_TIMEOUT,
	NK_SET,
	NK_UNPRIV,
	NK_AT
};

/* The daemons tests/interop/realnet.py can start for a node.  ntpsim runs
 * the ntplab core for every node whatever the file says; it checks the
 * name so that a typo fails here and not minutes into a real run. */
static const char *const host_impls[] = {"refd", "ntpsec", "chrony", "openntpd", NULL};
static const char *const query_impls[] = {"refd", "ntpdig", NULL};

int
ld_get_impl(loader *ld, const yaml_node_t *v, int kind, char out[SIM_IMPL_MAX])
{
	const char *const *ok = kind == SIM_NODE_QUERY ? query_impls : host_impls;
	const char *s = ld_scalar(ld, v, "an implementation name");

	if (s == NULL) {
		return -1;
	}
	for (int i = 0; ok[i] != NULL; i++) {
		if (strcmp(s, ok[i]) == 0) {
			memcpy(out, ok[i], strlen(ok[i]) + 1);
			return 0;
		}
	}
	return ld_fail(
	        ld, v,
	        kind == SIM_NODE_QUERY
	                ? "expected refd or ntpdig (the real world's one-shot query), got '%.40s'"
	                : "expected refd, ntpsec, chrony or openntpd (the daemon the real "
	                  "world starts for this host), got '%.40s'",
	        s);
}

static bool
valid_name(const char *s)
{
	if (s[0] == '\0' || strcmp(s, "any") == 0 || !isalpha((unsigned char)s[0])) {
		return false;
	}
	for (const char *p = s; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.') {
			return false;
		}
	}
	return true;
}

/* Conf text position: a block scalar's text starts on the line after its
 * indicator; a flow scalar's on its own line. */
static int
conf_first_line(const yaml_node_t *v)
{
	int line = (int)v->start_mark.line + 1;

	if (v->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
	    v->data.scalar.style == YAML_FOLDED_SCALAR_STYLE) {
		line++;
	}
	return line;
}

static int
load_conf(loader *ld, const yaml_node_t *v, sim_node_spec *t)
{
	const char *text = ld_scalar(ld, v, "ntp.conf text (use conf: | and indent it)");
	char fname[SIM_NAME_MAX + 16];

	if (text == NULL) {
		return -1;
	}
	t->conf = malloc(sizeof(*t->conf));
	if (t->conf == NULL) {
		return ld_fail(ld, v, "out of memory");
	}
	snprintf(fname, sizeof(fname), "%s/ntp.conf", t->name);
	ntp_conf_init(t->conf, fname);
	ntp_conf_parse(t->conf, text, strlen(text));
	t->conf_line = conf_first_line(v);
	for (size_t i = 0; i < t->conf->n_diags; i++) {
		const ntp_conf_diag *d = &t->conf->diags[i];
		char line[700];

		snprintf(line, sizeof(line),
		         "%s:%d:%d: %s (node %s, ntp.conf line %d): %s: %s%s%s%s", ld->file,
		         t->conf_line + d->line - 1, d->col, ld->path, t->name, d->line,
		         d->severity == NTP_CONF_ERROR ? "error" : "warning", d->msg,
		         d->hint[0] ? " (" : "", d->hint, d->hint[0] ? ")" : "");
		if (d->severity != NTP_CONF_ERROR) {
			ld_warn(ld->sc, "%s", line);
			continue;
		}
		if (!ld->failed) {
			ld->failed = true;
			snprintf(ld->err, ld->errsize, "%s", line);
		} else if (strlen(ld->err) + strlen(line) + 2 < ld->errsize) {
			strcat(ld->err, "\n");
			strcat(ld->err, line);
		}
	}
	if (t->conf->n_errors > 0 && !ld->failed) {
		return ld_fail(ld, v, "ntp.conf has %u errors", t->conf->n_errors);
	}
	return ld->failed ? -1 : 0;
}

/* First pass over one node entry: everything but references to other
 * nodes (conf server names, query servers), which need all names. */
static int
load_node(loader *ld, const yaml_node_t *n, sim_node_spec *t, uint32_t first)
{
	uint64_t seen = 0;
	long long ll;
	yaml_node_t *conf = NULL, *at = NULL;

	if (ld_expect_mapping(ld, n, "a node (name, address, clock, conf, ...)") != 0) {
		return -1;
	}
	t->line = (int)n->start_mark.line + 1;
	t->count = 1;
	t->first = first;
	t->precision = PRECISION_DEFAULT;
	t->trace = -1;
	ld_query_defaults(&t->query);
	/* name and kind first: other fields' meaning depends on them */
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key), *v = ld_get(ld, pr->value);
		const char *key;

		if (k == NULL || v == NULL) {
			return -1;
		}
		key = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";
		if (strcmp(key, "name") == 0) {
			size_t mark = ld_path_key(ld, "name");

			if (ld_get_text(ld, v, t->name, sizeof(t->name), "a node name") != 0) {
				return -1;
			}
			if (!valid_name(t->name)) {
				return ld_fail(
				        ld, v,
				        "a node name starts with a letter and has only letters, "
				        "digits, '_', '-', '.' (and is not 'any')");
			}
			ld_path_restore(ld, mark);
		} else if (strcmp(key, "kind") == 0) {
			const char *s = ld_scalar(ld, v, "host or query");

			if (s == NULL) {
				return -1;
			}
			if (strcmp(s, "host") == 0) {
				t->kind = SIM_NODE_HOST;
			} else if (strcmp(s, "query") == 0) {
				t->kind = SIM_NODE_QUERY;
			} else {
				return ld_fail(ld, v,
				               "expected host (an NTP daemon) or query (a one-shot "
				               "query like ntpdate -q), got '%.40s'",
				               s);
			}
		}
	}
	if (t->name[0] == '\0') {
		return ld_fail(ld, n, "a node needs a 'name'");
	}
	if (t->kind == SIM_NODE_QUERY) {
		t->query.unprivileged = true;
	}
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key), *v = ld_get(ld, pr->value);
		int i = ld_key_index(ld, k, node_keys, &seen, "a node");
		size_t mark;
		int rc = 0;

		if (i < 0) {
			return -1;
		}
		if (i >= NK_SERVERS && t->kind != SIM_NODE_QUERY) {
			return ld_fail(ld, k, "field '%s' is for kind: query nodes", node_keys[i]);
		}
		mark = ld_path_key(ld, node_keys[i]);
		switch (i) {
		case NK_COUNT:
			rc = ld_get_int(ld, v, 1, SIM_MAX_NODES, &ll);
			t->count = (uint32_t)ll;
			break;
		case NK_ADDRESS:
			rc = get_address(ld, v, &t->addr);
			break;
		case NK_CLOCK:
			rc = 0; /* after count is known (clock steps cover all replicas) */
			break;
		case NK_CONF:
			conf = v;
			break;
		case NK_DRIFT:
			rc = ld_get_number(ld, v, &t->drift_ppm);
			if (rc == 0) {
				rc = ld_check_range(ld, v, t->drift_ppm, -500.0, 500.0, "ppm");
			}
			t->have_drift = true;
			break;
		case NK_BIGSTEP:
			rc = ld_get_bool(ld, v, &t->big_first_step);
			break;
		case NK_PRECISION:
			rc = ld_get_int(ld, v, -32, 0, &ll);
			t->precision = (int8_t)ll;
			break;
		case NK_START:
			rc = ld_get_time_nonneg(ld, v, &t->start);
			break;
		case NK_FAULT:
			rc = ld_expect_mapping(ld, v, "a fault (kinds, offset, leap, ...)");
			if (rc == 0) {
				rc = ld_get_fault_fields(ld, v, &t->fault, false);
			}
			break;
		case NK_TRACE: {
			bool b;

			rc = ld_get_bool(ld, v, &b);
			t->trace = b ? 1 : 0;
			break;
		}
		case NK_IMPL:
			rc = ld_get_impl(ld, v, t->kind, t->impl);
			break;
		case NK_AT:
			at = v;
			break;
		case NK_SERVERS:
			rc = 0; /* second pass */
			break;
		case NK_SAMPLES:
		case NK_INTERVAL:
		case NK_TIMEOUT:
		case NK_SET:
		case NK_UNPRIV:
			rc = ld_get_query_field(ld, i - NK_SERVERS, v, &t->query);
			break;
		default:
			break; /* name, kind: done */
		}
		ld_path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	}
	if (t->count > 1 && isdigit((unsigned char)t->name[strlen(t->name) - 1])) {
		return ld_fail(ld, n,
		               "a node with count > 1 needs a name that does not end in a digit "
		               "('%s' + 1 would be ambiguous)",
		               t->name);
	}
	if (t->trace < 0) {
		t->trace = t->count == 1;
	}
	if (t->kind == SIM_NODE_HOST) {
		size_t mark;
		int rc;

		if (conf == NULL) {
			return ld_fail(ld, n, "node '%s' needs 'conf' (its ntp.conf text)",
			               t->name);
		}
		mark = ld_path_key(ld, "conf");
		rc = load_conf(ld, conf, t);
		ld_path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	} else {
		size_t mark;
		int rc;

		if (conf != NULL) {
			return ld_fail(ld, conf, "a kind: query node has no ntp.conf");
		}
		if (!(seen & (UINT64_C(1) << NK_SERVERS))) {
			return ld_fail(ld, n, "a kind: query node needs 'servers'");
		}
		if (at == NULL) {
			t->query_at = calloc(1, sizeof(double));
			if (t->query_at == NULL) {
				return ld_fail(ld, n, "out of memory");
			}
			t->n_query_at = 1;
		} else {
			mark = ld_path_key(ld, "at");
			rc = get_times(ld, at, &t->query_at, &t->n_query_at);
			ld_path_restore(ld, mark);
			if (rc != 0) {
				return -1;
			}
		}
	}
	return 0;
}

/* Second pass: clock (its steps become events of this node's range),
 * query servers. */
static int
load_node_refs(loader *ld, const yaml_node_t *n, sim_node_spec *t)
{
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key), *v = ld_get(ld, pr->value);
		const char *key;
		size_t mark;
		int rc = 0;

		if (k == NULL || v == NULL) {
			return -1;
		}
		key = (const char *)k->data.scalar.value;
		if (strcmp(key, "clock") == 0) {
			mark = ld_path_key(ld, "clock");
			rc = load_clock(ld, v, t);
			ld_path_restore(ld, mark);
		} else if (strcmp(key, "servers") == 0) {
			mark = ld_path_key(ld, "servers");
			rc = get_query_servers(ld, v, &t->query);
			ld_path_restore(ld, mark);
		}
		if (rc != 0) {
			return -1;
		}
	}
	return 0;
}

/* Default addresses 10.0.0.1 upwards by global index; replicas must fit. */
static int
assign_addresses(loader *ld, const yaml_node_t *list)
{
	sim_scenario *sc = ld->sc;

	for (size_t i = 0; i < sc->n_nodes; i++) {
		sim_node_spec *t = &sc->nodes[i];
		ntp_addr end;

		if (t->addr.family == NTP_AF_NONE) {
			ntp_addr_parse("10.0.0.0", &t->addr);
			if (!ld_addr_add(&t->addr, t->first + 1)) {
				return ld_fail(ld, list, "too many nodes for default addresses");
			}
		}
		end = t->addr;
		if (!ld_addr_add(&end, t->count - 1)) {
			return ld_fail(ld, list,
			               "node '%s': %u addresses from its address overflow", t->name,
			               t->count);
		}
	}
	for (size_t i = 0; i < sc->n_nodes; i++) {
		for (size_t j = 0; j < i; j++) {
			const sim_node_spec *a = &sc->nodes[i], *b = &sc->nodes[j];
			size_t off = a->addr.family == NTP_AF_INET ? 0 : 12;
			uint64_t lo_a, lo_b;
			char buf[64];

			if (a->addr.family != b->addr.family ||
			    memcmp(a->addr.a, b->addr.a, off) != 0) {
				continue;
			}
			lo_a = addr_low32(&a->addr);
			lo_b = addr_low32(&b->addr);
			if (lo_a < lo_b + b->count && lo_b < lo_a + a->count) {
				ntp_addr x = lo_a > lo_b ? a->addr : b->addr;

				return ld_fail(ld, list,
				               "nodes '%s' and '%s' have overlapping addresses "
				               "(both include %s)",
				               b->name, a->name,
				               ntp_addr_format(&x, buf, sizeof(buf)));
			}
		}
	}
	return 0;
}

/* Would t's name, or one of its replicas' names, resolve to a node that
 * is already loaded?  (Called before t is counted.) */
static bool
name_taken(const sim_scenario *sc, const sim_node_spec *t)
{
	size_t len = strlen(t->name);
	sim_range r;

	if (sim_scenario_find(sc, t->name, &r) == 0) {
		return true;
	}
	for (size_t i = 0; t->count > 1 && i < sc->n_nodes; i++) {
		const char *other = sc->nodes[i].name;
		unsigned long k;

		if (strncmp(other, t->name, len) != 0 || other[len] < '1' || other[len] > '9') {
			continue;
		}
		k = strtoul(other + len, NULL, 10);
		if (strspn(other + len, "0123456789") == strlen(other + len) && k <= t->count) {
			return true;
		}
	}
	return false;
}

int
ld_load_nodes(loader *ld, const yaml_node_t *n)
{
	sim_scenario *sc = ld->sc;
	size_t len;
	uint64_t total = 0;

	if (ld_expect_sequence(ld, n, "the nodes") != 0) {
		return -1;
	}
	len = ld_seq_len(n);
	if (len == 0 || len > MAX_TEMPLATES) {
		return ld_fail(ld, n, "expected 1 to %d node entries", MAX_TEMPLATES);
	}
	sc->nodes = calloc(len + 1, sizeof(*sc->nodes)); /* +1: a partly loaded entry */
	if (sc->nodes == NULL) {
		return ld_fail(ld, n, "out of memory");
	}
	for (size_t i = 0; i < len; i++) {
		size_t mark = ld_path_index(ld, i);
		sim_node_spec *t = &sc->nodes[i];
		int rc = load_node(ld, ld_seq_item(ld, n, i), t, (uint32_t)total);

		ld_path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
		if (name_taken(sc, t)) {
			mark = ld_path_index(ld, i);
			rc = ld_fail(ld, ld_seq_item(ld, n, i), "node name '%s' is already used%s",
			             t->name, t->count > 1 ? " (or one of its replica names)" : "");
			ld_path_restore(ld, mark);
			return rc;
		}
		sc->n_nodes++;
		total += t->count;
		if (total > SIM_MAX_NODES) {
			return ld_fail(ld, ld_seq_item(ld, n, i), "more than %d nodes in all",
			               SIM_MAX_NODES);
		}
	}
	sc->total_nodes = (uint32_t)total;
	if (assign_addresses(ld, n) != 0) {
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		size_t mark = ld_path_index(ld, i);
		int rc = load_node_refs(ld, ld_seq_item(ld, n, i), &sc->nodes[i]);

		ld_path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	}
	return 0;
}

/* Resolve `server NAME` / `peer NAME` / `pool NAME` of every conf to the
 * scenario's nodes. */
int
ld_resolve_confs(loader *ld)
{
	sim_scenario *sc = ld->sc;

	for (size_t i = 0; i < sc->n_nodes; i++) {
		sim_node_spec *t = &sc->nodes[i];
		size_t n0;

		if (t->conf == NULL) {
			continue;
		}
		n0 = t->conf->n_servers;
		for (size_t j = 0; j < n0; j++) {
			ntp_conf_server *s = &t->conf->servers[j];
			int line = t->conf_line + s->line - 1;
			sim_range r;
			char buf[64];

			if (s->kind == NTP_CONF_LOCAL_CLOCK) {
				continue;
			}
			if (s->addr.family != NTP_AF_NONE) {
				if (owner_of(sc, &s->addr) < 0) {
					ld_warn(sc,
					        "%s:%d: nodes[%zu].conf (node %s, "
					        "ntp.conf line %d): no node has address "
					        "%s: packets to it are dropped",
					        ld->file, line, i, t->name, s->line,
					        ntp_addr_format(&s->addr, buf, sizeof(buf)));
				}
				continue;
			}
			if (sim_scenario_find(sc, s->host, &r) != 0) {
				snprintf(ld->err, ld->errsize,
				         "%s:%d: nodes[%zu].conf (node %s, ntp.conf line %d): "
				         "cannot resolve '%.60s': "
				         "ntpsim resolves host names only to the scenario's node "
				         "names",
				         ld->file, line, i, t->name, s->line, s->host);
				ld->failed = true;
				return -1;
			}
			if (s->kind != NTP_CONF_POOL && r.count != 1) {
				snprintf(ld->err, ld->errsize,
				         "%s:%d: nodes[%zu].conf (node %s, ntp.conf line %d): "
				         "'%.40s' names %u nodes; use "
				         "'pool %.40s' or name one of them",
				         ld->file, line, i, t->name, s->line, s->host, r.count,
				         s->host);
				ld->failed = true;
				return -1;
			}
			if (s->kind != NTP_CONF_POOL) {
				s->addr = sim_scenario_node_addr(sc, r.first);
				continue;
			}
			/* A pool expands into one server per node it names. */
			for (uint32_t k = 0; k < r.count; k++) {
				ntp_conf_server *e;

				if (t->conf->n_servers >= NTP_CONF_MAX_SERVERS) {
					ld_warn(sc,
					        "%s:%d: nodes[%zu].conf (node %s, "
					        "ntp.conf line %d): pool '%s' cut at %d "
					        "servers",
					        ld->file, line, i, t->name, s->line, s->host,
					        NTP_CONF_MAX_SERVERS);
					break;
				}
				e = &t->conf->servers[t->conf->n_servers++];
				*e = *s;
				e->kind = NTP_CONF_SERVER;
				e->addr = sim_scenario_node_addr(sc, r.first + k);
				sim_scenario_node_name(sc, r.first + k, e->host, sizeof(e->host));
			}
		}
	}
	return 0;
}
