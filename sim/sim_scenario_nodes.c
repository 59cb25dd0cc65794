/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The scenario's nodes: node entries and their replicas, clock models,
 * faults, one-shot query nodes, ntp.conf text and its server names, and
 * the nodes' addresses (docs/scenarios.md, "Nodes", "The clock model",
 * "One-shot query nodes").
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_scenario_load.h"

#include "ntp_discipline.h"

#define MAX_TEMPLATES     1024  /* node entries in a scenario (ours) */
#define PRECISION_DEFAULT (-20) /* log2 s, ntpd's usual measured precision */
#define PRECISION_MIN     (-32) /* log2 s: 2^-32 s, the NTP timestamp's resolution */
#define DRIFT_PPM_MAX     500.0 /* ppm, ntpd's NTP_MAXFREQ (500e-6 s/s) */
#define CLOCK_OFFSET_MAX  1e9   /* s, a clock's initial offset (ours: about 30 years) */
#define WANDER_MAX        1e-3  /* s/s per sqrt(s), random-walk frequency noise (ours) */
#define WANDER_STEP_MIN   1e-3  /* s, the wander's update interval (ours) */
#define WANDER_STEP_MAX   1e6   /* s (ours) */
#define CLOCK_NOISE_MAX   1.0   /* s, resolution and reading noise (ours) */
#define TEMP_PERIOD_MIN   1e-3  /* s, a periodic frequency term (ours) */
#define TEMP_PERIOD_MAX   1e9   /* s (ours) */
#define DRIFT_SIGN_MIN    1.0   /* ppm: below it a same-sign drift value is noise (ours) */
#define DRIFT_SIGN_RATIO                                                                           \
	2.0 /* the larger of |drift|, |freq| within this factor of the                             \
	       smaller looks like the clock's error copied (ours) */

/* ------------------------------------------------------------------ */
/* node references and addresses                                       */

static uint32_t
addr_low32(const ntp_addr *a)
{
	size_t off = a->family == NTP_AF_INET ? 0 : 12;

	return ((uint32_t)a->a[off] << 24) | ((uint32_t)a->a[off + 1] << 16) |
	       ((uint32_t)a->a[off + 2] << 8) | a->a[off + 3];
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

/* A clock step {at, by}: the event it stands for.  Both keys are
 * required: one message for either missing, after the given ones (the
 * reader's own per-row message would name one). */
static const ld_field clock_step_fields[] = {
        {.key = "at",
         .type = LD_FT_IN_RUN,
         LD_MEMBER(sim_event_spec, at),
         .why = "the step would never happen"},
        {.key = "by", .type = LD_FT_DURATION, LD_MEMBER(sim_event_spec, value)},
        {.key = NULL},
};

static int
get_clock_steps(loader *ld, const yaml_node_t *n, const sim_node_spec *t)
{
	unsigned errors = ld->n_errors;

	if (ld_expect_sequence(ld, n, "clock steps ({at, by})") != 0) {
		return -1;
	}
	for (size_t i = 0; i < ld_seq_len(n) && !ld->fatal; i++) {
		size_t mark = ld_path_index(ld, i);
		yaml_node_t *item = ld_seq_item(ld, n, i);
		sim_event_spec *e;
		uint64_t seen = 0;

		if (ld_expect_mapping(ld, item, "a clock step {at, by}") != 0 ||
		    ld_add_event(ld, item, &e) != 0) {
			ld_path_restore(ld, mark);
			continue;
		}
		e->kind = SIM_EV_STEP;
		e->clock_step = true;
		e->nodes.first = t->first;
		e->nodes.count = t->count;
		ld_read_fields(ld, item, clock_step_fields, e, NULL, "a clock step", &seen);
		if (seen != 3) {
			ld_fail(ld, item, "a clock step needs 'at' and 'by'");
		}
		ld_path_restore(ld, mark);
	}
	return ld_errors_since(ld, errors);
}

#define OSC(m) LD_MEMBER(sim_osc_params, m)

/* A periodic frequency term (docs/scenarios.md, "The clock model"). */
static const ld_field temperature_fields[] = {
        {"amplitude", LD_FT_FREQ, OSC(temp_amp), .min = -SIM_OSC_FREQ_MAX, .max = SIM_OSC_FREQ_MAX,
         .unit = "s/s"},
        {"period", LD_FT_DURATION, OSC(temp_period), .min = TEMP_PERIOD_MIN, .max = TEMP_PERIOD_MAX,
         .unit = "s"},
        {"phase", LD_FT_NUMBER, OSC(temp_phase)},
        {.key = NULL},
};

static int
get_temperature(loader *ld, const yaml_node_t *n, void *obj, void *ctx)
{
	uint64_t seen = 0;
	unsigned errors = ld->n_errors;

	(void)ctx;
	if (ld_expect_mapping(ld, n, "a periodic frequency term (amplitude, period, phase)") != 0) {
		return -1;
	}
	if (ld_read_fields(ld, n, temperature_fields, obj, NULL, "temperature", &seen) != 0 &&
	    ld->fatal) {
		return -1;
	}
	if (!(seen & 1) || !(seen & 2)) {
		ld_fail(ld, n, "temperature needs 'amplitude' and 'period'");
	}
	return ld_errors_since(ld, errors);
}

/* steps: events of the node (ctx) */
static int
get_steps_field(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	(void)obj;
	return get_clock_steps(ld, v, ctx);
}

/* The clock model (docs/scenarios.md, "The clock model"). */
static const ld_field clock_fields[] = {
        {"offset", LD_FT_DURATION, OSC(offset), .min = -CLOCK_OFFSET_MAX, .max = CLOCK_OFFSET_MAX,
         .unit = "s"},
        {"freq", LD_FT_FREQ, OSC(freq), .min = -SIM_OSC_FREQ_MAX, .max = SIM_OSC_FREQ_MAX,
         .unit = "s/s"},
        {"wander", LD_FT_FREQ, OSC(wander), .min = 0.0, .max = WANDER_MAX,
         .unit = "s/s per sqrt(s)"},
        {"wander_step", LD_FT_DURATION, OSC(wander_step), .min = WANDER_STEP_MIN,
         .max = WANDER_STEP_MAX, .unit = "s"},
        {"temperature", LD_FT_CUSTOM, .get = get_temperature},
        {"resolution", LD_FT_DURATION, OSC(resolution), .min = 0.0, .max = CLOCK_NOISE_MAX,
         .unit = "s"},
        {"noise", LD_FT_DURATION, OSC(noise), .min = 0.0, .max = CLOCK_NOISE_MAX, .unit = "s"},
        {"steps", LD_FT_CUSTOM, .get = get_steps_field},
        {.key = NULL},
};

static int
load_clock(loader *ld, const yaml_node_t *n, sim_node_spec *t)
{
	uint64_t seen = 0;

	if (ld_expect_mapping(ld, n, "a clock model (offset, freq, wander, ...)") != 0) {
		return -1;
	}
	return ld_read_fields(ld, n, clock_fields, &t->clock, t, "clock", &seen);
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
		return ld_fatal(ld, n, "out of memory");
	}
	*count = len;
	for (size_t i = 0; i < len; i++) {
		const yaml_node_t *item = n->type == YAML_SEQUENCE_NODE ? ld_seq_item(ld, n, i) : n;

		if (ld_get_time_nonneg(ld, item, &(*out)[i]) != 0 ||
		    ld_check_in_run(ld, item, (*out)[i], false, "the query would never run") != 0) {
			return -1;
		}
	}
	return 0;
}

/* The rows of node_fields: bits of the seen mask. */
enum {
	NK_NAME,
	NK_KIND,
	NK_COUNT,
	NK_ADDRESS,
	NK_CLOCK,
	NK_CONF,
	NK_KEYS,
	NK_DRIFT,
	NK_BIGSTEP,
	NK_PRECISION,
	NK_START,
	NK_FAULT,
	NK_TRACE,
	NK_IMPL,
	NK_DISCIPLINE,
	NK_LEAPFILE,
	NK_SERVERS,
	NK_SAMPLES,
	NK_INTERVAL,
	NK_TIMEOUT,
	NK_SET,
	NK_UNPRIV,
	NK_AT
};

/* The daemons realnet (python3 -m realnet) can start for a node.  ntpsim runs
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

static int
get_address_field(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	sim_node_spec *t = obj;

	(void)ctx;
	return get_address(ld, v, &t->addr);
}

static int
get_fault_field(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	sim_node_spec *t = obj;

	(void)ctx;
	if (ld_expect_mapping(ld, v, "a fault (kinds, offset, leap, ...)") != 0) {
		return -1;
	}
	return ld_get_fault_fields(ld, v, &t->fault, false);
}

/* trace: a bool into a tri-state (-1: by count, after the fields) */
static int
get_trace_field(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	sim_node_spec *t = obj;
	bool b = true;
	int rc = ld_get_bool(ld, v, &b);

	(void)ctx;
	t->trace = b ? 1 : 0;
	return rc;
}

static int
get_impl_field(loader *ld, const yaml_node_t *v, void *obj, void *ctx)
{
	sim_node_spec *t = obj;

	(void)ctx;
	return ld_get_impl(ld, v, t->kind, t->impl);
}

static bool
is_query(const void *obj)
{
	return ((const sim_node_spec *)obj)->kind == SIM_NODE_QUERY;
}

#define NODE(m)   LD_MEMBER(sim_node_spec, m)
#define FOR_QUERY .only = is_query, .not_here = "is for kind: query nodes"
#define QUERY_ROW .type = LD_FT_IN, NODE(query), .sub = ld_query_fields, FOR_QUERY

/* The fields of a node entry (docs/scenarios.md, "Nodes"), in enum NK_
 * order.  name and kind are read first (the other fields' meaning depends
 * on them); clock and servers in a second pass (they name other nodes);
 * conf, keys, discipline, leapfile and at once the fields are known. */
static const ld_field node_fields[] = {
        {.key = "name", .type = LD_FT_LATER},
        {.key = "kind", .type = LD_FT_LATER},
        {"count", LD_FT_INT, NODE(count), .min = 1, .max = SIM_MAX_NODES, .has_def = true,
         .def = 1},
        {"address", LD_FT_CUSTOM, .get = get_address_field},
        {.key = "clock", .type = LD_FT_LATER},
        {.key = "conf", .type = LD_FT_LATER},
        {.key = "keys", .type = LD_FT_LATER},
        {"drift_ppm", LD_FT_NUMBER, NODE(drift_ppm), .min = -DRIFT_PPM_MAX, .max = DRIFT_PPM_MAX,
         .unit = "ppm"},
        {"big_first_step", LD_FT_BOOL, NODE(big_first_step)},
        {"precision", LD_FT_INT, NODE(precision), .min = PRECISION_MIN, .max = 0, .has_def = true,
         .def = PRECISION_DEFAULT},
        {"start", LD_FT_IN_RUN, NODE(start), .why = "the daemon would never start"},
        {"fault", LD_FT_CUSTOM, .get = get_fault_field},
        {"trace", LD_FT_CUSTOM, .get = get_trace_field},
        {"impl", LD_FT_CUSTOM, .get = get_impl_field},
        {.key = "discipline", .type = LD_FT_LATER},
        {.key = "leapfile", .type = LD_FT_LATER},
        {.key = "servers", .type = LD_FT_LATER, FOR_QUERY},
        {.key = "samples", QUERY_ROW},
        {.key = "interval", QUERY_ROW},
        {.key = "timeout", QUERY_ROW},
        {.key = "set", QUERY_ROW},
        {.key = "unprivileged", QUERY_ROW},
        {.key = "at", .type = LD_FT_LATER, FOR_QUERY},
        {.key = NULL},
};

_Static_assert(sizeof(node_fields) / sizeof(node_fields[0]) == NK_AT + 2,
               "a row of node_fields for each NK_ key");

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
 * indicator, each line after the block's indent; a flow scalar's on its
 * own line, after its opening quote if any. */
static void
block_position(const loader *ld, const yaml_node_t *v, int *line, int *col)
{
	yaml_scalar_style_t style = v->data.scalar.style;

	*line = (int)v->start_mark.line + 1;
	*col = (int)v->start_mark.column;
	if (style == YAML_LITERAL_SCALAR_STYLE || style == YAML_FOLDED_SCALAR_STYLE) {
		(*line)++;
		*col = ld_line_indent(ld, *line);
	} else if (style != YAML_PLAIN_SCALAR_STYLE) {
		(*col)++;
	}
}

/* A file's text given in the scenario (`conf:`, `keys:`, `leapfile:`):
 * where its line 1 is, so that its parser's diagnostics point into the
 * scenario. */
typedef struct text_at {
	const char *node; /* the node's name */
	const char *what; /* "ntp.conf", "key file", "leapfile" */
	int line;         /* scenario line of the text's line 1 */
	int col;          /* scenario columns before a text line's column 1 (its indent) */
} text_at;

static text_at
text_position(const loader *ld, const yaml_node_t *v, const sim_node_spec *t, const char *what)
{
	text_at at = {t->name, what, 0, 0};

	block_position(ld, v, &at.line, &at.col);
	return at;
}

/* An error or warning at column col of line `line` (both from 1) of the
 * text at `at`, whose key is at `path`: "FILE:LINE:COL: [warning: ]PATH
 * (node NAME, WHAT line N): msg". */
static void text_vreport(loader *ld, const text_at *at, const char *path, int line, int col,
                         bool error, const char *fmt, va_list ap)
        __attribute__((format(printf, 7, 0)));

static void
text_vreport(loader *ld, const text_at *at, const char *path, int line, int col, bool error,
             const char *fmt, va_list ap)
{
	char msg[512], text[800];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	snprintf(text, sizeof(text), "%s:%d:%d: %s%s (node %s, %s line %d): %s", ld->file,
	         at->line + line - 1, at->col + (col > 0 ? col : 1), error ? "" : "warning: ", path,
	         at->node, at->what, line, msg);
	if (error) {
		ld_add_error(ld, text);
	} else {
		ld_warn(ld->sc, "%s", text);
	}
}

static void text_report(loader *ld, const text_at *at, const char *path, int line, int col,
                        bool error, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static void conf_report(loader *ld, const sim_node_spec *t, const char *path, int line, int col,
                        bool error, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static void
text_report(loader *ld, const text_at *at, const char *path, int line, int col, bool error,
            const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	text_vreport(ld, at, path, line, col, error, fmt, ap);
	va_end(ap);
}

/* The same at line `line` of node t's ntp.conf. */
static void
conf_report(loader *ld, const sim_node_spec *t, const char *path, int line, int col, bool error,
            const char *fmt, ...)
{
	text_at at = {t->name, "ntp.conf", t->conf_line, t->conf_col};
	va_list ap;

	va_start(ap, fmt);
	text_vreport(ld, &at, path, line, col, error, fmt, ap);
	va_end(ap);
}

/* Every diagnostic a core parser gave for the text at `at` (n_errors of
 * them errors, some perhaps not kept: counted in "N more").  Returns -1
 * when there were errors. */
static int
text_diags(loader *ld, const text_at *at, const ntp_conf_diag *diags, size_t n_diags,
           unsigned n_errors)
{
	unsigned kept = 0;

	for (size_t i = 0; i < n_diags; i++) {
		const ntp_conf_diag *d = &diags[i];
		bool error = d->severity == NTP_CONF_ERROR;

		text_report(ld, at, ld->path, d->line, d->col, error, "%s%s%s%s", d->msg,
		            d->hint[0] ? " (" : "", d->hint, d->hint[0] ? ")" : "");
		kept += error;
	}
	ld->n_errors += n_errors - kept;
	return n_errors > 0 ? -1 : 0;
}

static int
load_conf(loader *ld, const yaml_node_t *v, sim_node_spec *t)
{
	const char *text = ld_scalar(ld, v, "ntp.conf text (use conf: | and indent it)");
	char fname[SIM_NAME_MAX + 16];
	text_at at;

	if (text == NULL) {
		return -1;
	}
	t->conf = malloc(sizeof(*t->conf));
	t->conf_text = strdup(text);
	if (t->conf == NULL || t->conf_text == NULL) {
		return ld_fatal(ld, v, "out of memory");
	}
	snprintf(fname, sizeof(fname), "%s/ntp.conf", t->name);
	ntp_conf_init(t->conf, fname);
	ntp_conf_parse(t->conf, text, strlen(text));
	at = text_position(ld, v, t, "ntp.conf");
	t->conf_line = at.line; /* later diagnostics (pools, DNS) point into it too */
	t->conf_col = at.col;
	return text_diags(ld, &at, t->conf->diags, t->conf->n_diags, t->conf->n_errors);
}

/* `leapfile: |` the text of the file the conf's `leapfile NAME` names (the
 * simulator has no files): parsed as ntpd would read it, its errors at the
 * scenario's lines.  Both or neither must be there. */
static int
load_leapfile(loader *ld, const yaml_node_t *node, const yaml_node_t *v, sim_node_spec *t)
{
	text_at at;

	if (v == NULL) {
		return t->conf != NULL && t->conf->leapfile[0] != '\0'
		               ? ld_fail(ld, node,
		                         "node '%s': its conf reads 'leapfile %s': give the file's "
		                         "text as 'leapfile: |'",
		                         t->name, t->conf->leapfile)
		               : 0;
	}
	const char *s = ld_scalar(ld, v, "leap-seconds.list text (use leapfile: | and indent it)");
	if (s == NULL) {
		return -1;
	}
	if (t->conf != NULL && t->conf->leapfile[0] == '\0') {
		return ld_fail(ld, v,
		               "node '%s' has 'leapfile:' text but its conf has no "
		               "'leapfile NAME' line (ntpd reads none without it)",
		               t->name);
	}
	t->leapfile = malloc(sizeof(*t->leapfile));
	t->leapfile_text = strdup(s);
	if (t->leapfile == NULL || t->leapfile_text == NULL) {
		return ld_fatal(ld, v, "out of memory");
	}
	ntp_leap_init(t->leapfile, t->conf != NULL ? t->conf->leapfile : "leapfile");
	ntp_leap_parse(t->leapfile, s, strlen(s));
	at = text_position(ld, v, t, "leapfile");
	return text_diags(ld, &at, t->leapfile->diags, t->leapfile->n_diags, t->leapfile->n_errors);
}

/* `keys: |`: the key file the node's `keys` line names, verbatim.  Its
 * diagnostics point into the scenario like the conf's: "FILE:LINE:COL:
 * PATH (node NAME, key file line N): msg". */
static int
load_keys(loader *ld, const yaml_node_t *v, sim_node_spec *t)
{
	const char *text = ld_scalar(ld, v, "key file text (use keys: | and indent it)");
	text_at at;

	if (text == NULL) {
		return -1;
	}
	t->keys = malloc(sizeof(*t->keys));
	t->keys_text = strdup(text);
	if (t->keys == NULL || t->keys_text == NULL) {
		return ld_fatal(ld, v, "out of memory");
	}
	ntp_keys_init(t->keys, "ntp.keys");
	ntp_keys_parse(t->keys, text, strlen(text));
	at = text_position(ld, v, t, "key file");
	return text_diags(ld, &at, t->keys->diags, t->keys->n_diags, t->keys->n_errors);
}

/* Every `key N` of the conf names a trusted key of `keys:` (ntp_host_new
 * refuses the host otherwise: say so at load time, at the conf). */
static void
check_conf_keys(loader *ld, const yaml_node_t *conf, const sim_node_spec *t)
{
	size_t mark;

	if (t->conf == NULL || t->conf->n_errors > 0) {
		return;
	}
	if (t->keys != NULL && t->conf->keysfile[0] == '\0') {
		mark = ld_path_key(ld, "conf");
		ld_fail(ld, conf,
		        "node '%s' has 'keys:' but its conf no 'keys FILE' line to read them",
		        t->name);
		ld_path_restore(ld, mark);
		return;
	}
	size_t i;
	int why = ntp_keys_check_conf(t->conf, t->keys != NULL ? &t->keys->ring : NULL, &i);

	if (why != NTP_KEYS_CONF_OK) {
		const ntp_conf_server *s = &t->conf->servers[i];

		mark = ld_path_key(ld, "conf");
		ld_fail(ld, conf, "node '%s', ntp.conf line %d: key %u: %s", t->name, s->line,
		        s->key,
		        why == NTP_KEYS_CONF_UNTRUSTED
		                ? "the key is not trusted: add 'trustedkey' to "
		                  "the conf"
		        : t->keys == NULL ? "the node has no 'keys:' (its key file text)"
		                          : "no such key in 'keys:'");
		ld_path_restore(ld, mark);
	}
}

/* What the core would refuse at start (ntp_host_new): the conf's own
 * `discipline` line, and polls faster than the discipline can run. */
static void
check_conf_discipline(loader *ld, const yaml_node_t *conf, const sim_node_spec *t)
{
	char err[384];
	size_t mark;

	if (t->conf == NULL || t->conf->n_errors > 0 ||
	    ntp_discipline_check(t->conf, err, sizeof err) == 0) {
		return;
	}
	mark = ld_path_key(ld, "conf");
	ld_fail(ld, conf, "%s", err);
	ld_path_restore(ld, mark);
}

/* One `PARAM: VALUE` of a `discipline: {name: NAME, PARAM: VALUE...}`. */
/* A parameter's value with its unit, as the discipline declares it:
 * `mindelay: 200us`, `maxslew: 500ppm`; a bare number is in the unit. */
static int
get_param_value(loader *ld, const ntp_discipline *d, const char *key, const yaml_node_t *v,
                double *out)
{
	const ntp_disc_param *p = ntp_discipline_param_of(d, key);
	const char *unit = p != NULL && p->unit != NULL ? p->unit : "";

	if (strcmp(unit, "s") == 0) {
		return ld_get_duration(ld, v, out);
	}
	if (strcmp(unit, "s/s") == 0) {
		return ld_get_freq(ld, v, out);
	}
	return ld_get_number(ld, v, out);
}

static int
get_discipline_param(loader *ld, const ntp_discipline *d, const yaml_node_t *k,
                     const yaml_node_t *v, ntp_conf_discipline *cd)
{
	ntp_conf_disc_param *p;
	const char *key = ld_scalar(ld, k, "a parameter name");

	if (key == NULL) {
		return -1;
	}
	if (cd->n_params >= NTP_CONF_DISC_PARAMS) {
		return ld_fail(ld, k, "more than %d discipline parameters", NTP_CONF_DISC_PARAMS);
	}
	if (strlen(key) >= sizeof p->name) {
		return ld_fail(ld, k, "'%s' is too long for a parameter name", key);
	}
	for (size_t i = 0; i < cd->n_params; i++) {
		if (strcmp(cd->params[i].name, key) == 0) {
			return ld_fail(ld, k, "parameter '%s' is given twice", key);
		}
	}
	p = &cd->params[cd->n_params];
	if (get_param_value(ld, d, key, v, &p->value) != 0) {
		return -1;
	}
	snprintf(p->name, sizeof p->name, "%s", key);
	cd->n_params++;
	return 0;
}

/* `discipline: NAME` or `discipline: {name: NAME, PARAM: VALUE...}`: the
 * algorithm behind core/ntp_discipline.h for this node, as ntp.conf's
 * `discipline` line sets it (one or the other, not both), checked here so
 * that `ntpsim check` names the mistake at its line. */
static int
get_discipline(loader *ld, const yaml_node_t *v, ntp_conf *c)
{
	ntp_conf_discipline cd;
	const yaml_node_t *name = v;
	char err[384];

	memset(&cd, 0, sizeof cd);
	if (c->discipline.line > 0) {
		return ld_fail(ld, v, "the discipline is set twice: here and in conf (line %d)",
		               c->discipline.line);
	}
	if (v->type == YAML_MAPPING_NODE) {
		const ntp_discipline *d = NULL;

		name = NULL;
		FOR_PAIRS(v, pr)
		{
			yaml_node_t *k = ld_get(ld, pr->key), *pv = ld_get(ld, pr->value);

			if (k->type == YAML_SCALAR_NODE && pv->type == YAML_SCALAR_NODE &&
			    strcmp((const char *)k->data.scalar.value, "name") == 0) {
				d = ntp_discipline_find((const char *)pv->data.scalar.value);
			}
		}
		FOR_PAIRS(v, pr)
		{
			yaml_node_t *k = ld_get(ld, pr->key), *pv = ld_get(ld, pr->value);

			if (k->type == YAML_SCALAR_NODE &&
			    strcmp((const char *)k->data.scalar.value, "name") == 0) {
				name = pv;
			} else if (get_discipline_param(ld, d, k, pv, &cd) != 0) {
				return -1;
			}
		}
		if (name == NULL) {
			return ld_fail(ld, v,
			               "a discipline mapping needs 'name' (e.g. ntpd-kernel)");
		}
	}
	if (ld_get_text(ld, name, cd.name, sizeof cd.name,
	                "a discipline name (see ntpsim disciplines)") != 0) {
		return -1;
	}
	if (ntp_discipline_check_choice(&cd, err, sizeof err) != 0) {
		return ld_fail(ld, v, "%s", err);
	}
	c->discipline = cd;
	return 0;
}

/* First pass over one node entry: everything but references to other
 * nodes (conf server names, query servers), which need all names. */
static int
load_node(loader *ld, const yaml_node_t *n, sim_node_spec *t, uint32_t first)
{
	uint64_t seen = 0;
	yaml_node_t *conf = NULL, *at = NULL, *disc = NULL, *leapfile = NULL, *keys = NULL;
	unsigned errors = ld->n_errors;

	if (ld_expect_mapping(ld, n, "a node (name, address, clock, conf, ...)") != 0) {
		return -1;
	}
	t->line = (int)n->start_mark.line + 1;
	ld_field_defaults(node_fields, t);
	t->first = first;
	t->trace = -1;
	ld_query_defaults(&t->query);
	/* name and kind first: other fields' meaning depends on them */
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key), *v = ld_get(ld, pr->value);
		const char *key;

		if (ld->fatal) {
			return -1;
		}
		key = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";
		if (strcmp(key, "name") == 0) {
			size_t mark = ld_path_key(ld, "name");

			if (ld_get_text(ld, v, t->name, sizeof(t->name), "a node name") == 0 &&
			    !valid_name(t->name)) {
				ld_fail(ld, v,
				        "a node name starts with a letter and has only letters, "
				        "digits, '_', '-', '.' (and is not 'any')");
			}
			ld_path_restore(ld, mark);
		} else if (strcmp(key, "kind") == 0) {
			/* in enum sim_node_kind order */
			static const char *const kinds[] = {"host", "query", NULL};
			int i = ld_get_choice(ld, v, kinds,
			                      "host (an NTP daemon) or query (a one-shot query "
			                      "like ntpdate -q)");

			t->kind = i < 0 ? SIM_NODE_HOST : i;
		}
	}
	if (t->name[0] == '\0' && ld_errors_since(ld, errors) == 0) {
		ld_fail(ld, n, "a node needs a 'name'");
	}
	if (t->kind == SIM_NODE_QUERY) {
		t->query.unprivileged = true;
	}
	ld_read_fields(ld, n, node_fields, t, NULL, "a node", &seen);
	if (ld->fatal) {
		return -1;
	}
	t->have_drift = seen >> NK_DRIFT & 1;
	conf = ld_field_value(ld, n, "conf");
	keys = ld_field_value(ld, n, "keys");
	disc = ld_field_value(ld, n, "discipline");
	leapfile = ld_field_value(ld, n, "leapfile");
	at = t->kind == SIM_NODE_QUERY ? ld_field_value(ld, n, "at") : NULL;
	if (t->count > 1 && t->name[0] != '\0' &&
	    isdigit((unsigned char)t->name[strlen(t->name) - 1])) {
		ld_fail(ld, n,
		        "a node with count > 1 needs a name that does not end in a digit "
		        "('%s' + 1 would be ambiguous)",
		        t->name);
	}
	if (t->trace < 0) {
		t->trace = t->count == 1;
	}
	if (t->kind == SIM_NODE_HOST) {
		size_t mark;

		if (conf == NULL) {
			return ld_fail(ld, n, "node '%s' needs 'conf' (its ntp.conf text)",
			               t->name);
		}
		mark = ld_path_key(ld, "conf");
		load_conf(ld, conf, t);
		ld_path_restore(ld, mark);
		if (disc != NULL && t->conf != NULL) {
			mark = ld_path_key(ld, "discipline");
			get_discipline(ld, disc, t->conf);
			ld_path_restore(ld, mark);
		}
		check_conf_discipline(ld, conf, t);
		mark = ld_path_key(ld, "leapfile");
		load_leapfile(ld, n, leapfile, t);
		ld_path_restore(ld, mark);
		if (keys != NULL) {
			mark = ld_path_key(ld, "keys");
			load_keys(ld, keys, t);
			ld_path_restore(ld, mark);
		}
		check_conf_keys(ld, conf, t);
	} else {
		if (disc != NULL) {
			ld_fail(ld, disc, "a kind: query node has no clock discipline");
		}
		if (keys != NULL) {
			ld_fail(ld, keys, "a kind: query node has no key file");
		}
		size_t mark;

		if (conf != NULL) {
			ld_fail(ld, conf, "a kind: query node has no ntp.conf");
		}
		if (!(seen & (UINT64_C(1) << NK_SERVERS))) {
			ld_fail(ld, n, "a kind: query node needs 'servers'");
		}
		if (at == NULL) {
			t->query_at = calloc(1, sizeof(double));
			if (t->query_at == NULL) {
				return ld_fatal(ld, n, "out of memory");
			}
			t->n_query_at = 1;
		} else {
			mark = ld_path_key(ld, "at");
			get_times(ld, at, &t->query_at, &t->n_query_at);
			ld_path_restore(ld, mark);
		}
	}
	return ld_errors_since(ld, errors);
}

/* The drift file holds ntpd's frequency *correction* (ppm): a clock +12
 * ppm fast needs -12.  A value with the sign of the clock's own error and
 * about its size is that error copied in, which doubles it instead of
 * cancelling it; say so at the drift_ppm value. */
static void
check_drift_sign(loader *ld, const yaml_node_t *n, const sim_node_spec *t)
{
	double drift = t->drift_ppm, freq = t->clock.freq * 1e6; /* ppm */
	double lo = fmin(fabs(drift), fabs(freq)), hi = fmax(fabs(drift), fabs(freq));

	if (!t->have_drift || drift * freq <= 0.0 || lo < DRIFT_SIGN_MIN ||
	    hi > DRIFT_SIGN_RATIO * lo) {
		return;
	}
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key);

		if (k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, "drift_ppm") == 0) {
			size_t mark = ld_path_key(ld, "drift_ppm");

			ld_warn_at(
			        ld, ld_get(ld, pr->value),
			        "%+g ppm has the sign of the clock's freq (%+g ppm), but the drift "
			        "file holds ntpd's correction: a clock %g ppm %s needs drift_ppm: "
			        "%g (write that, or drop drift_ppm to start unset)",
			        drift, freq, fabs(freq), freq > 0.0 ? "fast" : "slow", -freq);
			ld_path_restore(ld, mark);
		}
	}
}

/* Second pass: clock (its steps become events of this node's range),
 * query servers. */
static int
load_node_refs(loader *ld, const yaml_node_t *n, sim_node_spec *t)
{
	unsigned errors = ld->n_errors;

	if (n->type != YAML_MAPPING_NODE) {
		return -1; /* reported by load_node */
	}
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key), *v = ld_get(ld, pr->value);
		const char *key =
		        k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";
		size_t mark;

		if (strcmp(key, "clock") == 0) {
			mark = ld_path_key(ld, "clock");
			load_clock(ld, v, t);
			ld_path_restore(ld, mark);
		} else if (strcmp(key, "servers") == 0 && t->kind == SIM_NODE_QUERY) {
			mark = ld_path_key(ld, "servers");
			ld_get_query_servers(ld, v, &t->query);
			ld_path_restore(ld, mark);
		}
		if (ld->fatal) {
			return -1;
		}
	}
	if (ld_errors_since(ld, errors) != 0) {
		return -1;
	}
	check_drift_sign(ld, n, t);
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

				ld_fail(ld, list,
				        "nodes '%s' and '%s' have overlapping addresses "
				        "(both include %s)",
				        b->name, a->name, ntp_addr_format(&x, buf, sizeof(buf)));
			}
		}
	}
	return ld->failed ? -1 : 0;
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

/* Every node entry is counted, even one with errors: its name still
 * resolves, so references to it do not fail a second time. */
int
ld_load_nodes(loader *ld, const yaml_node_t *n)
{
	sim_scenario *sc = ld->sc;
	size_t len;
	uint64_t total = 0;
	unsigned errors = ld->n_errors;

	if (ld_expect_sequence(ld, n, "the nodes") != 0) {
		return -1;
	}
	len = ld_seq_len(n);
	if (len == 0 || len > MAX_TEMPLATES) {
		return ld_fail(ld, n, "expected 1 to %d node entries", MAX_TEMPLATES);
	}
	sc->nodes = calloc(len + 1, sizeof(*sc->nodes)); /* +1: a partly loaded entry */
	if (sc->nodes == NULL) {
		return ld_fatal(ld, n, "out of memory");
	}
	for (size_t i = 0; i < len; i++) {
		size_t mark = ld_path_index(ld, i);
		sim_node_spec *t = &sc->nodes[i];
		yaml_node_t *item = ld_seq_item(ld, n, i);

		load_node(ld, item, t, (uint32_t)total);
		if (ld->fatal) {
			return -1;
		}
		if (t->name[0] != '\0' && name_taken(sc, t)) {
			ld_fail(ld, item, "node name '%s' is already used%s", t->name,
			        t->count > 1 ? " (or one of its replica names)" : "");
		}
		ld_path_restore(ld, mark);
		sc->n_nodes++;
		total += t->count;
		if (total > SIM_MAX_NODES) {
			return ld_fatal(ld, item, "more than %d nodes in all", SIM_MAX_NODES);
		}
	}
	sc->total_nodes = (uint32_t)total;
	if (assign_addresses(ld, n) != 0 && ld->fatal) {
		return -1;
	}
	for (size_t i = 0; i < len && !ld->fatal; i++) {
		size_t mark = ld_path_index(ld, i);

		load_node_refs(ld, ld_seq_item(ld, n, i), &sc->nodes[i]);
		ld_path_restore(ld, mark);
	}
	return ld_errors_since(ld, errors);
}

/* A pool expands into one server per node it names. */
static void
expand_pool(loader *ld, sim_node_spec *t, const char *path, const ntp_conf_server *s, sim_range r)
{
	for (uint32_t k = 0; k < r.count; k++) {
		ntp_conf_server *e;

		if (t->conf->n_servers >= NTP_CONF_MAX_SERVERS) {
			conf_report(ld, t, path, s->line, 1, false, "pool '%s' cut at %d servers",
			            s->host, NTP_CONF_MAX_SERVERS);
			return;
		}
		e = &t->conf->servers[t->conf->n_servers++];
		*e = *s;
		e->kind = NTP_CONF_SERVER;
		e->addr = sim_scenario_node_addr(ld->sc, r.first + k);
		sim_scenario_node_name(ld->sc, r.first + k, e->host, sizeof(e->host));
	}
}

/* Whether the nodes r include node t or one of its replicas: all of them
 * run this ntp.conf, so one would poll itself.  Its packets would loop
 * back to its own server part, a source no real network has. */
static bool
names_itself(loader *ld, const sim_node_spec *t, const char *path, const ntp_conf_server *s,
             sim_range r)
{
	if (!(r.first < t->first + t->count && t->first < r.first + r.count)) {
		return false;
	}
	static const char *const directive[] = {"server", "pool", "peer"};
	bool pool = s->kind == NTP_CONF_POOL;

	conf_report(ld, t, path, s->line, 1, true,
	            "%s '%.40s' %s%s: a node cannot be its own server; name other nodes "
	            "(server 127.127.1.0 is its local clock)",
	            directive[s->kind], s->host, pool ? "includes " : "is ",
	            t->count == 1 ? "this node itself"
	            : pool        ? "this node's replicas, which share this ntp.conf"
	                          : "one of this node's replicas, which share this ntp.conf");
	return true;
}

/* Whether addresses a[0..n) include node t or one of its replicas. */
static bool
dns_answer_has(const sim_scenario *sc, const sim_node_spec *t, const ntp_addr *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		long owner = ld_owner_of(sc, &a[i]);

		if (owner >= 0 && (uint32_t)owner >= t->first &&
		    (uint32_t)owner - t->first < t->count) {
			return true;
		}
	}
	return false;
}

/* A conf line naming a dns: entry stays unresolved here: the engine asks
 * the entry at each daemon start, as ntpd resolves when it starts.  Only
 * an answer that would make the node its own server is refused now. */
static void
check_dns_name(loader *ld, sim_node_spec *t, const char *path, const ntp_conf_server *s,
               const sim_dns_entry *e)
{
	static const char *const directive[] = {"server", "pool", "peer"};

	t->uses_dns = true;
	if (dns_answer_has(ld->sc, t, e->addrs, e->n_addrs) ||
	    dns_answer_has(ld->sc, t, e->later, e->n_later)) {
		conf_report(ld, t, path, s->line, 1, true,
		            "%s '%.60s': dns entry (line %d) answers %s: a node cannot be its own "
		            "server",
		            directive[s->kind], s->host, e->line,
		            t->count == 1 ? "this node itself" : "one of this node's replicas");
	}
}

/* One server, peer or pool line of node t's conf. */
static void
resolve_server(loader *ld, sim_node_spec *t, const char *path, ntp_conf_server *s)
{
	sim_range r;
	char buf[64];

	if (s->kind == NTP_CONF_LOCAL_CLOCK) {
		return;
	}
	if (s->addr.family != NTP_AF_NONE) {
		long owner = ld_owner_of(ld->sc, &s->addr);

		if (owner < 0) {
			conf_report(ld, t, path, s->line, 1, false,
			            "no node has address %s: packets to it are dropped",
			            ntp_addr_format(&s->addr, buf, sizeof(buf)));
		} else {
			names_itself(ld, t, path, s, (sim_range){(uint32_t)owner, 1});
		}
		return;
	}
	if (sim_scenario_find(ld->sc, s->host, &r) != 0) {
		const sim_dns_entry *e = sim_scenario_dns_find(ld->sc, s->host);

		if (e != NULL) {
			check_dns_name(ld, t, path, s, e);
			return;
		}
		conf_report(ld, t, path, s->line, 1, true,
		            "cannot resolve '%.60s': ntpsim resolves host names only to the "
		            "scenario's node names and the names of its dns: section",
		            s->host);
		return;
	}
	if (s->kind != NTP_CONF_POOL && r.count != 1) {
		conf_report(ld, t, path, s->line, 1, true,
		            "'%.40s' names %u nodes; use 'pool %.40s' or name one of them", s->host,
		            r.count, s->host);
		return;
	}
	if (names_itself(ld, t, path, s, r)) {
		return;
	}
	if (s->kind == NTP_CONF_POOL) {
		expand_pool(ld, t, path, s, r);
		return;
	}
	s->addr = sim_scenario_node_addr(ld->sc, r.first);
}

/* Resolve `server NAME` / `peer NAME` / `pool NAME` of every conf to the
 * scenario's nodes. */
int
ld_resolve_confs(loader *ld)
{
	sim_scenario *sc = ld->sc;
	unsigned errors = ld->n_errors;

	for (size_t i = 0; i < sc->n_nodes; i++) {
		sim_node_spec *t = &sc->nodes[i];
		char path[40];
		size_t n0;

		if (t->conf == NULL) {
			continue;
		}
		snprintf(path, sizeof(path), "nodes[%zu].conf", i);
		n0 = t->conf->n_servers; /* not the pools' expansions */
		for (size_t j = 0; j < n0; j++) {
			resolve_server(ld, t, path, &t->conf->servers[j]);
		}
	}
	return ld_errors_since(ld, errors);
}
