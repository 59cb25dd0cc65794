/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_json: the small JSON writer ntpsim's outputs share (report.json,
 * `ntpsim check --normalized`).  Strings are escaped as RFC 8259 requires;
 * a number that is not finite is written null (JSON has no NaN).
 *
 * Two layers: bare values (json_str, json_num, json_key: the caller writes
 * the commas), and json_w, a writer that places commas, newlines and
 * indentation itself, for documents built key by key.
 */
#ifndef SIM_JSON_H
#define SIM_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* "text" with '"', '\\' and control characters escaped. */
void json_str(FILE *f, const char *s);

/* %.9g (9 significant digits: report figures), null when not finite. */
void json_num(FILE *f, double v);

/* "key": */
void json_key(FILE *f, const char *key);

/* The shortest of %.15g, %.16g, %.17g that reads back as exactly v: no
 * precision lost, and 0.001 stays "0.001".  null when not finite. */
void json_num_exact(FILE *f, double v);

#define JSON_W_DEPTH 16 /* nesting levels the writer tracks (ours) */

/* A pretty-printing writer: two blanks of indentation per level. */
typedef struct json_w {
	FILE *f;
	int depth;
	bool has_items[JSON_W_DEPTH]; /* the open container has an item already */
} json_w;

void json_w_init(json_w *w, FILE *f);
/* Start a value: in an object, key names it (NULL in an array). */
void json_w_begin(json_w *w, const char *key);
/* Open / close an object ('{' '}') or array ('[' ']') named key. */
void json_w_open(json_w *w, const char *key, char bracket);
void json_w_close(json_w *w, char bracket);
void json_w_real(json_w *w, const char *key, double v);
void json_w_int(json_w *w, const char *key, long long v);
void json_w_uint(json_w *w, const char *key, unsigned long long v);
void json_w_bool(json_w *w, const char *key, bool v);
/* s NULL: null. */
void json_w_str(json_w *w, const char *key, const char *s);
void json_w_null(json_w *w, const char *key);

#endif
