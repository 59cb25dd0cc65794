/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The scenario loader's plumbing, shared by every part of the format:
 * errors with file:line:column and field path, YAML node access under a
 * visit budget, field-name lookup with "did you mean", and the typed
 * values with units (docs/scenarios.md, "Values and units").
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntp_units.h"
#include "sim_scenario_load.h"

#define VISIT_BUDGET 4000000 /* YAML nodes visited per load (ours) */
#define WARNINGS_MAX 8192    /* bytes of warnings kept (ours) */

/* ------------------------------------------------------------------ */
/* errors and paths                                                    */

/* Bytes of err kept free for the closing "N more errors" line (ours). */
#define MORE_LINE_MAX 96

/* Control characters of quoted input (a node name with a line break)
 * become '?': one message, one line, for people and for sort_errors.
 * Returns the length. */
static size_t
one_line(char *s)
{
	size_t i = 0;

	for (; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			s[i] = '?';
		}
	}
	return i;
}

/* Keep one formatted error line.  The first always goes in (cut to fit);
 * the next ones while LD_ERRORS_SHOWN and the room allow; all are counted. */
void
ld_add_error(loader *ld, const char *msg)
{
	char line[1024];
	size_t len;

	snprintf(line, sizeof(line), "%s", msg);
	len = one_line(line);
	ld->failed = true;
	ld->n_errors++;
	if (ld->errsize == 0) {
		return;
	}
	if (ld->n_shown == 0) {
		snprintf(ld->err, ld->errsize, "%s", line);
		ld->err_len = strlen(ld->err);
		ld->n_shown = 1;
		return;
	}
	if (ld->n_shown >= LD_ERRORS_SHOWN ||
	    ld->err_len + 1 + len + MORE_LINE_MAX >= ld->errsize) {
		return;
	}
	ld->err[ld->err_len++] = '\n';
	memcpy(ld->err + ld->err_len, line, len + 1);
	ld->err_len += len;
	ld->n_shown++;
}

typedef struct err_line {
	unsigned long line, col; /* 0 when the line names no position */
	size_t index;            /* order found: keeps ties stable */
	const char *text;
	size_t len;
} err_line;

static int
cmp_err_line(const void *pa, const void *pb)
{
	const err_line *a = pa, *b = pb;

	if (a->line != b->line) {
		return a->line < b->line ? -1 : 1;
	}
	if (a->col != b->col) {
		return a->col < b->col ? -1 : 1;
	}
	return a->index < b->index ? -1 : a->index > b->index;
}

/* Put the kept errors in file order: the parts are read in an order of
 * their own (nodes' clocks after all names, sections by dependency). */
static void
sort_errors(loader *ld)
{
	err_line lines[LD_ERRORS_SHOWN];
	size_t n = 0, flen = strlen(ld->file);
	char *sorted = malloc(ld->err_len + 1), *out = sorted;

	if (sorted == NULL) {
		return;
	}
	for (char *p = ld->err; n < LD_ERRORS_SHOWN && p < ld->err + ld->err_len; n++) {
		char *nl = strchr(p, '\n');
		err_line *e = &lines[n];

		e->text = p;
		e->len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		e->index = n;
		e->line = e->col = 0;
		if (strncmp(p, ld->file, flen) == 0 && p[flen] == ':') {
			sscanf(p + flen + 1, "%lu:%lu:", &e->line, &e->col);
		}
		p += e->len + 1;
	}
	qsort(lines, n, sizeof(lines[0]), cmp_err_line);
	for (size_t i = 0; i < n; i++) {
		memcpy(out, lines[i].text, lines[i].len);
		out += lines[i].len;
		*out++ = i + 1 < n ? '\n' : '\0';
	}
	memcpy(ld->err, sorted, ld->err_len + 1);
	free(sorted);
}

/* The errors in file order, then how many were found but not shown. */
void
ld_finish_errors(loader *ld)
{
	unsigned more = ld->n_errors - ld->n_shown;
	char line[MORE_LINE_MAX + 200];

	if (ld->n_shown == 0) {
		return;
	}
	sort_errors(ld);
	if (more == 0) {
		return;
	}
	snprintf(line, sizeof(line), "\n%s: %u more error%s (only the first %u %s shown)", ld->file,
	         more, more == 1 ? "" : "s", ld->n_shown, ld->n_shown == 1 ? "is" : "are");
	if (ld->err_len + strlen(line) < ld->errsize) { /* whole or not at all */
		memcpy(ld->err + ld->err_len, line, strlen(line) + 1);
		ld->err_len += strlen(line);
	}
}

/* -1 when errors were found since ld->n_errors was `before`, else 0: how a
 * part that went on past its own errors reports them to its caller. */
int
ld_errors_since(const loader *ld, unsigned before)
{
	return ld->n_errors > before ? -1 : 0;
}

static int vfail(loader *ld, const yaml_node_t *n, bool fatal, const char *fmt, va_list ap)
        __attribute__((format(printf, 4, 0)));

static int
vfail(loader *ld, const yaml_node_t *n, bool fatal, const char *fmt, va_list ap)
{
	char msg[512], line[1024];

	if (ld->fatal) {
		return -1;
	}
	ld->fatal = fatal;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n != NULL) {
		snprintf(line, sizeof(line), "%s:%lu:%lu: %s%s%s", ld->file,
		         (unsigned long)n->start_mark.line + 1,
		         (unsigned long)n->start_mark.column + 1, ld->path,
		         ld->path_len > 0 ? ": " : "", msg);
	} else {
		snprintf(line, sizeof(line), "%s: %s%s%s", ld->file, ld->path,
		         ld->path_len > 0 ? ": " : "", msg);
	}
	ld_add_error(ld, line);
	return -1;
}

int
ld_fail(loader *ld, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(ld, n, false, fmt, ap);
	va_end(ap);
	return -1;
}

/* An error after which nothing more is read. */
int
ld_fatal(loader *ld, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(ld, n, true, fmt, ap);
	va_end(ap);
	return -1;
}

void
ld_warn(sim_scenario *sc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	size_t len;
	char *grown;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	len = one_line(msg);
	if (sc->warnings_len + len + 2 > WARNINGS_MAX) {
		return;
	}
	grown = realloc(sc->warnings, sc->warnings_len + len + 2);
	if (grown == NULL) {
		return;
	}
	sc->warnings = grown;
	memcpy(sc->warnings + sc->warnings_len, msg, len);
	sc->warnings_len += len;
	sc->warnings[sc->warnings_len++] = '\n';
	sc->warnings[sc->warnings_len] = '\0';
}

/* "FILE:LINE:COL: warning: PATH: msg" at n's mark, like an error. */
void
ld_warn_at(loader *ld, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ld_warn(ld->sc, "%s:%lu:%lu: warning: %s%s%s", ld->file,
	        (unsigned long)n->start_mark.line + 1, (unsigned long)n->start_mark.column + 1,
	        ld->path, ld->path_len > 0 ? ": " : "", msg);
}

/* Leading blanks of a line (1-based) of the scenario text: where an
 * ntp.conf line of a block scalar starts, for its column. */
int
ld_line_indent(const loader *ld, int line)
{
	size_t i = 0;
	int n = 0;

	for (int l = 1; l < line && i < ld->len; i++) {
		l += ld->buf[i] == '\n';
	}
	while (i < ld->len && ld->buf[i] == ' ') {
		i++;
		n++;
	}
	return n;
}

/* Append ".key" or "[i]" to the path; returns the length to restore. */
size_t
ld_path_key(loader *ld, const char *key)
{
	size_t old = ld->path_len;

	snprintf(ld->path + old, sizeof(ld->path) - old, "%s%s", old > 0 ? "." : "", key);
	ld->path_len = strlen(ld->path);
	return old;
}

size_t
ld_path_index(loader *ld, size_t i)
{
	size_t old = ld->path_len;

	snprintf(ld->path + old, sizeof(ld->path) - old, "[%zu]", i);
	ld->path_len = strlen(ld->path);
	return old;
}

void
ld_path_restore(loader *ld, size_t old)
{
	ld->path_len = old;
	ld->path[old] = '\0';
}

/* ------------------------------------------------------------------ */
/* node access                                                         */

/* Never NULL: past the budget (or on a bad id) the load has failed
 * fatally and a blank scalar (ld->dummy) stands in, so callers unwind
 * through ordinary errors. */
yaml_node_t *
ld_get(loader *ld, int id)
{
	yaml_node_t *n;

	n = yaml_document_get_node(&ld->doc, id);
	if (n == NULL) {
		ld_fatal(ld, NULL, "malformed YAML document");
		return &ld->dummy;
	}
	if (++ld->visits > VISIT_BUDGET) {
		ld_fatal(ld, n, "scenario too large or too deeply aliased (over %d YAML nodes)",
		         VISIT_BUDGET);
		return &ld->dummy;
	}
	return n;
}

const char *
ld_scalar(loader *ld, const yaml_node_t *n, const char *what)
{
	if (n == NULL) {
		ld_fail(ld, NULL, "missing value");
		return NULL;
	}
	if (n->type != YAML_SCALAR_NODE) {
		ld_fail(ld, n, "expected %s, got a %s", what,
		        n->type == YAML_MAPPING_NODE ? "mapping" : "list");
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

int
ld_expect_mapping(loader *ld, const yaml_node_t *n, const char *what)
{
	if (n == NULL || n->type != YAML_MAPPING_NODE) {
		return ld_fail(ld, n, "expected %s (a mapping of field: value)", what);
	}
	return 0;
}

int
ld_expect_sequence(loader *ld, const yaml_node_t *n, const char *what)
{
	if (n == NULL || n->type != YAML_SEQUENCE_NODE) {
		return ld_fail(ld, n, "expected %s (a list)", what);
	}
	if (n->data.sequence.items.top - n->data.sequence.items.start > SIM_MAX_ITEMS) {
		return ld_fail(ld, n, "list too long (more than %d entries)", SIM_MAX_ITEMS);
	}
	return 0;
}

/* A list n of `what` and a zeroed array for it: `per` elements of `size`
 * bytes per entry, plus one (a partly loaded entry).  NULL after an error;
 * *len is the list's length. */
void *
ld_list_array(loader *ld, const yaml_node_t *n, const char *what, size_t per, size_t size,
              size_t *len)
{
	void *a;

	*len = 0;
	if (ld_expect_sequence(ld, n, what) != 0) {
		return NULL;
	}
	*len = ld_seq_len(n);
	a = calloc(*len * per + 1, size);
	if (a == NULL) {
		ld_fatal(ld, n, "out of memory");
	}
	return a;
}

/* A scalar that must be one of names (NULL-terminated): its index, or -1
 * after an error that says `expected`. */
int
ld_get_choice(loader *ld, const yaml_node_t *v, const char *const *names, const char *expected)
{
	const char *s = ld_scalar(ld, v, expected);

	if (s == NULL) {
		return -1;
	}
	for (int i = 0; names[i] != NULL; i++) {
		if (strcmp(s, names[i]) == 0) {
			return i;
		}
	}
	return ld_fail(ld, v, "expected %s, got '%.40s'", expected, s);
}

size_t
ld_seq_len(const yaml_node_t *n)
{
	return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

yaml_node_t *
ld_seq_item(loader *ld, const yaml_node_t *n, size_t i)
{
	return ld_get(ld, n->data.sequence.items.start[i]);
}

static size_t
levenshtein(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[40];

	if (la >= 39 || lb >= 39) {
		return 99;
	}
	for (size_t j = 0; j <= lb; j++) {
		row[j] = j;
	}
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] == b[j - 1] ? 0 : 1);

			if (up + 1 < best) {
				best = up + 1;
			}
			if (row[j - 1] + 1 < best) {
				best = row[j - 1] + 1;
			}
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/* Index of key in the NULL-terminated list, or an error naming the
 * fields that exist; a field seen twice is an error too. */
int
ld_key_index(loader *ld, const yaml_node_t *k, const char *const *keys, uint64_t *seen,
             const char *where)
{
	const char *key = ld_scalar(ld, k, "a field name");
	char list[512] = "";
	const char *best = NULL;
	size_t best_d = 3;

	if (key == NULL) {
		return -1;
	}
	for (int i = 0; keys[i] != NULL; i++) {
		if (strcmp(key, keys[i]) == 0) {
			if (*seen & (UINT64_C(1) << i)) {
				return ld_fail(ld, k, "field '%s' given twice", key);
			}
			*seen |= UINT64_C(1) << i;
			return i;
		}
	}
	for (int i = 0; keys[i] != NULL; i++) {
		size_t d = levenshtein(key, keys[i]);

		if (d < best_d) {
			best_d = d;
			best = keys[i];
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
		         keys[i]);
	}
	if (best != NULL) {
		return ld_fail(ld, k, "unknown field '%.40s' in %s (did you mean '%s'?)", key,
		               where, best);
	}
	return ld_fail(ld, k, "unknown field '%.40s' in %s (fields: %s)", key, where, list);
}

#define FOR_PAIRS(n, pr)                                                                           \
	for (yaml_node_pair_t *pr = (n)->data.mapping.pairs.start;                                 \
	     pr < (n)->data.mapping.pairs.top; pr++)

/* The discriminating field of a mapping (an event's "do", a check's
 * "check") as an index into names.  Returns the index, -1 after reporting
 * an error (unknown value, with a suggestion), or -2 when the field is absent. */
int
ld_discriminator(loader *ld, const yaml_node_t *n, const char *key, const char *const *names,
                 const char *what)
{
	FOR_PAIRS(n, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key), *v = ld_get(ld, pr->value);
		uint64_t seen = 0;
		size_t mark;
		int i;

		if (k == NULL || v == NULL) {
			return -1;
		}
		if (k->type != YAML_SCALAR_NODE ||
		    strcmp((const char *)k->data.scalar.value, key) != 0) {
			continue;
		}
		mark = ld_path_key(ld, key);
		i = ld_key_index(ld, v, names, &seen, what);
		if (i >= 0) {
			ld_path_restore(ld, mark);
		}
		return i;
	}
	return -2;
}

/* ------------------------------------------------------------------ */
/* typed values                                                        */

int
ld_get_text(loader *ld, const yaml_node_t *n, char *buf, size_t size, const char *what)
{
	const char *s = ld_scalar(ld, n, what);

	if (s == NULL) {
		return -1;
	}
	if (strlen(s) >= size) {
		return ld_fail(ld, n, "too long (at most %zu characters)", size - 1);
	}
	memcpy(buf, s, strlen(s) + 1);
	return 0;
}

void
ld_utf8_trim(char *s)
{
	size_t len = strlen(s), lead = len, need;
	unsigned char first;

	/* back over continuation bytes (10xxxxxx) to the character's first byte */
	while (lead > 0 && len - lead < 3 && ((unsigned char)s[lead - 1] & 0xc0) == 0x80) {
		lead--;
	}
	if (lead == 0 || (unsigned char)s[lead - 1] < 0xc0) {
		return; /* ASCII, or no first byte in reach: nothing of ours was cut */
	}
	first = (unsigned char)s[lead - 1];
	need = first >= 0xf0 ? 4 : first >= 0xe0 ? 3 : 2; /* bytes, RFC 3629 */
	if (len - (lead - 1) < need) {
		s[lead - 1] = '\0';
	}
}

int
ld_get_unit(loader *ld, const yaml_node_t *n, unit_parser parse, const char *expected, double *out)
{
	const char *s = ld_scalar(ld, n, expected);

	if (s == NULL) {
		return -1;
	}
	if (parse(s, out) != 0) {
		return ld_fail(ld, n, "expected %s, got '%.60s'", expected, s);
	}
	return 0;
}

int
ld_get_duration(loader *ld, const yaml_node_t *n, double *out)
{
	if (ld_get_unit(ld, n, ntp_parse_duration, "a time such as 1.5, 100ms, 2h", out) != 0) {
		return -1;
	}
	/* Keeps every true/raw time sum inside int64 ns (start <= 2150). */
	if (fabs(*out) > SIM_TIME_MAX) {
		return ld_fail(ld, n, "time %g s too large (at most %g s)", *out, SIM_TIME_MAX);
	}
	return 0;
}

int
ld_get_time_nonneg(loader *ld, const yaml_node_t *n, double *out)
{
	if (ld_get_duration(ld, n, out) != 0) {
		return -1;
	}
	if (*out < 0.0) {
		return ld_fail(ld, n, "expected a time >= 0");
	}
	return 0;
}

int
ld_get_freq(loader *ld, const yaml_node_t *n, double *out)
{
	return ld_get_unit(ld, n, ntp_parse_freq, "a frequency such as 100ppm, 5ppb or 1e-4", out);
}

int
ld_get_prob(loader *ld, const yaml_node_t *n, double *out)
{
	return ld_get_unit(ld, n, ntp_parse_prob, "a probability such as 5% or 0.05", out);
}

int
ld_get_number(loader *ld, const yaml_node_t *n, double *out)
{
	return ld_get_unit(ld, n, ntp_parse_number, "a number", out);
}

int
ld_get_int(loader *ld, const yaml_node_t *n, long long min, long long max, long long *out)
{
	const char *s = ld_scalar(ld, n, "an integer");

	if (s == NULL) {
		return -1;
	}
	if (ntp_parse_int(s, min, max, out) != 0) {
		return ld_fail(ld, n, "expected an integer from %lld to %lld, got '%.60s'", min,
		               max, s);
	}
	return 0;
}

int
ld_get_bool(loader *ld, const yaml_node_t *n, bool *out)
{
	const char *s = ld_scalar(ld, n, "true or false");

	if (s == NULL) {
		return -1;
	}
	if (ntp_parse_bool(s, out) != 0) {
		return ld_fail(ld, n, "expected true or false, got '%.60s'", s);
	}
	return 0;
}

/* A time of the scenario (s after the start) must fall inside the run:
 * the engine stops at the end and drops whatever comes later without a
 * word.  end_ok: the end itself is a valid time (a check window may close
 * there, and the last sample is taken there); an event due at the end
 * never runs.  `consequence` says what would go wrong.  Skipped while the
 * duration is unknown (its own error is reported). */
int
ld_check_in_run(loader *ld, const yaml_node_t *n, double t, bool end_ok, const char *consequence)
{
	double end = ld->sc->duration;

	if (end <= 0.0 || t < end || (end_ok && t == end)) {
		return 0;
	}
	return ld_fail(ld, n,
	               "%g s is %s the end of the run (duration: %g s): %s; make it earlier or "
	               "the duration longer",
	               t, t == end ? "at" : "after", end, consequence);
}

int
ld_check_range(loader *ld, const yaml_node_t *n, double v, double lo, double hi, const char *unit)
{
	if (v < lo || v > hi) {
		return ld_fail(ld, n, "value %g %s out of range [%g, %g]", v, unit, lo, hi);
	}
	return 0;
}

/* A field that takes one scalar or a list of them: how many items it has. */
int
ld_scalar_or_list_len(loader *ld, const yaml_node_t *n, const char *what, size_t *count)
{
	*count = 1;
	if (n != NULL && n->type == YAML_SEQUENCE_NODE) {
		if (ld_expect_sequence(ld, n, what) != 0) {
			return -1;
		}
		*count = ld_seq_len(n);
	}
	return 0;
}

bool
ld_in_list(const char *key, const char *const *keys)
{
	for (int i = 0; keys[i] != NULL; i++) {
		if (strcmp(key, keys[i]) == 0) {
			return true;
		}
	}
	return false;
}
