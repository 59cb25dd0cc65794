/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_json: escaping, numbers and a comma-placing writer (sim_json.h).
 */
#include "sim_json.h"

#include <math.h>
#include <stdlib.h>

/* Bytes of the well-formed UTF-8 character at p (RFC 3629: no overlong
 * forms, no surrogates, at most U+10FFFF), 0 if it is not one. */
static size_t
utf8_len(const unsigned char *p)
{
	size_t n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : 2;
	unsigned cp;

	if (*p < 0xc2 || *p > 0xf4) {
		return 0;
	}
	cp = *p & (0x7fu >> n);
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			return 0;
		}
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
		return 0;
	}
	return n;
}

/* JSON text must be UTF-8 (RFC 8259 section 8.1): a byte that does not
 * start a well-formed character (a file name in another encoding) is
 * written as U+FFFD, so every report stays readable. */
void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		size_t n;

		if (*p == '"' || *p == '\\') {
			fprintf(f, "\\%c", *p);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\u%04x", *p);
		} else if (*p < 0x80) {
			fputc(*p, f);
		} else if ((n = utf8_len(p)) == 0) {
			fputs("\\ufffd", f);
		} else {
			fwrite(p, 1, n, f);
			p += n - 1;
		}
	}
	fputc('"', f);
}

void
json_num(FILE *f, double v)
{
	if (isfinite(v)) {
		fprintf(f, "%.9g", v);
	} else {
		fputs("null", f);
	}
}

void
json_key(FILE *f, const char *key)
{
	json_str(f, key);
	fputc(':', f);
}

void
json_num_exact(FILE *f, double v)
{
	char buf[40];

	if (!isfinite(v)) {
		fputs("null", f);
		return;
	}
	/* 17 significant digits always read back exactly (IEEE 754 double) */
	for (int digits = 15; digits <= 17; digits++) {
		snprintf(buf, sizeof buf, "%.*g", digits, v);
		if (strtod(buf, NULL) == v) {
			break;
		}
	}
	fputs(buf, f);
}

void
json_w_init(json_w *w, FILE *f)
{
	w->f = f;
	w->depth = 0;
	w->has_items[0] = false;
}

static void
indent(json_w *w)
{
	fputc('\n', w->f);
	for (int i = 0; i < w->depth; i++) {
		fputs("  ", w->f);
	}
}

void
json_w_begin(json_w *w, const char *key)
{
	if (w->depth > 0) {
		if (w->has_items[w->depth]) {
			fputc(',', w->f);
		}
		w->has_items[w->depth] = true;
		indent(w);
	}
	if (key != NULL) {
		json_str(w->f, key);
		fputs(": ", w->f);
	}
}

void
json_w_open(json_w *w, const char *key, char bracket)
{
	json_w_begin(w, key);
	fputc(bracket, w->f);
	if (w->depth + 1 < JSON_W_DEPTH) {
		w->depth++;
	}
	w->has_items[w->depth] = false;
}

void
json_w_close(json_w *w, char bracket)
{
	bool items = w->has_items[w->depth];

	if (w->depth > 0) {
		w->depth--;
	}
	if (items) {
		indent(w);
	}
	fputc(bracket, w->f);
	if (w->depth == 0) {
		fputc('\n', w->f);
	}
}

void
json_w_real(json_w *w, const char *key, double v)
{
	json_w_begin(w, key);
	json_num_exact(w->f, v);
}

void
json_w_int(json_w *w, const char *key, long long v)
{
	json_w_begin(w, key);
	fprintf(w->f, "%lld", v);
}

void
json_w_uint(json_w *w, const char *key, unsigned long long v)
{
	json_w_begin(w, key);
	fprintf(w->f, "%llu", v);
}

void
json_w_bool(json_w *w, const char *key, bool v)
{
	json_w_begin(w, key);
	fputs(v ? "true" : "false", w->f);
}

void
json_w_str(json_w *w, const char *key, const char *s)
{
	json_w_begin(w, key);
	if (s == NULL) {
		fputs("null", w->f);
	} else {
		json_str(w->f, s);
	}
}

void
json_w_null(json_w *w, const char *key)
{
	json_w_begin(w, key);
	fputs("null", w->f);
}
