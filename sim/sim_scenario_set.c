/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Scenario overrides (ntpsim sweep --set PATH=V, PATH+=LINE): applied to
 * the parsed YAML document before the loader reads it, so an overridden
 * value goes through the same checks as one written in the file.
 *
 * A path is dotted: a mapping's key by name, a list's item by its
 * `name:` value (or by its 0-based index when the part is all digits).
 * Names may hold dots (node names do): at each level the longest key or
 * name that the rest of the path starts with wins.  A missing key is
 * created when it is the last part; anything else missing is an error.
 *
 * Every mapping and list on the way is copied (shallow) before it is
 * changed: a YAML alias shares nodes, and an override names one place.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_scenario_load.h"

#define SHOWN_MAX 60 /* characters of a value or part quoted in a message (ours) */

/* The error of one override: "--set PATH=V: FILE:LINE:COL: msg" (at NULL:
 * no place of its own, 1:1). */
static int ov_fail(loader *ld, const sim_override *ov, const yaml_node_t *at, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int
ov_fail(loader *ld, const sim_override *ov, const yaml_node_t *at, const char *fmt, ...)
{
	char msg[512], line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "--set %s%s%.*s: %s:%lu:%lu: %s", ov->path,
	         ov->append ? "+=" : "=", SHOWN_MAX, ov->value, ld->file,
	         at != NULL ? (unsigned long)at->start_mark.line + 1 : 1UL,
	         at != NULL ? (unsigned long)at->start_mark.column + 1 : 1UL, msg);
	ld_add_error(ld, line);
	ld->fatal = true;
	return -1;
}

static yaml_node_t *
node_at(loader *ld, int id)
{
	return yaml_document_get_node(&ld->doc, id);
}

/* A new node keeps the marks of the one it stands for: errors about it
 * point into the file. */
static int
with_marks(loader *ld, int id, int like)
{
	if (id > 0) {
		node_at(ld, id)->start_mark = node_at(ld, like)->start_mark;
		node_at(ld, id)->end_mark = node_at(ld, like)->end_mark;
	}
	return id;
}

/* A shallow copy of the mapping or list `id`; 0 when out of memory. */
static int
copy_container(loader *ld, int id)
{
	yaml_node_t n = *node_at(ld, id); /* the array may move as nodes are added */
	int c;

	if (n.type == YAML_MAPPING_NODE) {
		c = yaml_document_add_mapping(&ld->doc, NULL, n.data.mapping.style);
		for (yaml_node_pair_t *p = n.data.mapping.pairs.start;
		     c > 0 && p < n.data.mapping.pairs.top; p++) {
			if (!yaml_document_append_mapping_pair(&ld->doc, c, p->key, p->value)) {
				c = 0;
			}
		}
	} else {
		c = yaml_document_add_sequence(&ld->doc, NULL, n.data.sequence.style);
		for (yaml_node_item_t *i = n.data.sequence.items.start;
		     c > 0 && i < n.data.sequence.items.top; i++) {
			if (!yaml_document_append_sequence_item(&ld->doc, c, *i)) {
				c = 0;
			}
		}
	}
	return with_marks(ld, c, id);
}

/* How many bytes of `rest` the candidate `name` takes: its length when
 * rest is name followed by '.' or the end, else 0. */
static size_t
part_match(const char *rest, const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || strncmp(rest, name, len) != 0 || (rest[len] != '.' && rest[len] != '\0')) {
		return 0;
	}
	return len;
}

/* The `name:` scalar of a list item, or NULL. */
static const char *
item_name(loader *ld, int id)
{
	const yaml_node_t *n = node_at(ld, id);

	if (n == NULL || n->type != YAML_MAPPING_NODE) {
		return NULL;
	}
	FOR_PAIRS(n, pr)
	{
		const yaml_node_t *k = node_at(ld, pr->key), *v = node_at(ld, pr->value);

		if (k != NULL && v != NULL && k->type == YAML_SCALAR_NODE &&
		    v->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, "name") == 0) {
			return (const char *)v->data.scalar.value;
		}
	}
	return NULL;
}

/* The names one level offers, for the message when none matched. */
static void
list_names(loader *ld, const yaml_node_t *n, char *out, size_t size)
{
	size_t len = 0;
	size_t count = n->type == YAML_MAPPING_NODE
	                       ? (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start)
	                       : ld_seq_len(n);

	out[0] = '\0';
	for (size_t i = 0; i < count && len + 1 < size; i++) {
		const char *name;

		if (n->type == YAML_MAPPING_NODE) {
			const yaml_node_t *k = node_at(ld, n->data.mapping.pairs.start[i].key);

			name = k != NULL && k->type == YAML_SCALAR_NODE
			               ? (const char *)k->data.scalar.value
			               : NULL;
		} else {
			name = item_name(ld, n->data.sequence.items.start[i]);
		}
		snprintf(out + len, size - len, "%s%s", i > 0 ? ", " : "",
		         name != NULL ? name : "?");
		len = strlen(out);
	}
}

/* Where the next part of `rest` leads in container n: the slot that
 * holds the child's id (a pair's value or a list item), and the part's
 * length in *taken.  NULL when nothing matches. */
static int *
find_child(loader *ld, yaml_node_t *n, const char *rest, size_t *taken)
{
	int *best = NULL;

	*taken = 0;
	if (n->type == YAML_MAPPING_NODE) {
		FOR_PAIRS(n, pr)
		{
			const yaml_node_t *k = node_at(ld, pr->key);
			size_t len = k != NULL && k->type == YAML_SCALAR_NODE
			                     ? part_match(rest, (const char *)k->data.scalar.value)
			                     : 0;

			if (len > *taken) {
				*taken = len;
				best = &pr->value;
			}
		}
		return best;
	}
	if (isdigit((unsigned char)rest[0])) {
		char *end;
		unsigned long i = strtoul(rest, &end, 10);

		if ((*end == '.' || *end == '\0') && i < ld_seq_len(n)) {
			*taken = (size_t)(end - rest);
			return &n->data.sequence.items.start[i];
		}
		return NULL;
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		const char *name = item_name(ld, *it);
		size_t len = name != NULL ? part_match(rest, name) : 0;

		if (len > *taken) {
			*taken = len;
			best = it;
		}
	}
	return best;
}

/* The new scalar for the leaf: the value, or (+=) the old text with the
 * value appended as a line.  0 after an error. */
static int
leaf_scalar(loader *ld, const sim_override *ov, int old, int like)
{
	const yaml_node_t *o = old > 0 ? node_at(ld, old) : NULL;
	yaml_scalar_style_t style = YAML_PLAIN_SCALAR_STYLE;
	char *text;
	size_t len = 0, vlen = strlen(ov->value);
	int id;

	if (ov->append && o != NULL && o->type != YAML_SCALAR_NODE) {
		ov_fail(ld, ov, o, "+= appends a line to text; this is a %s",
		        o->type == YAML_MAPPING_NODE ? "mapping" : "list");
		return 0;
	}
	if (ov->append && o != NULL) {
		len = o->data.scalar.length;
		style = o->data.scalar.style; /* its text keeps its place in the file */
	}
	text = malloc(len + vlen + 3);
	if (text == NULL) {
		ld_fatal(ld, NULL, "out of memory");
		return 0;
	}
	if (len > 0) {
		memcpy(text, o->data.scalar.value, len);
		if (text[len - 1] != '\n') {
			text[len++] = '\n';
		}
	}
	memcpy(text + len, ov->value, vlen);
	len += vlen;
	if (ov->append) {
		text[len++] = '\n';
	}
	id = yaml_document_add_scalar(&ld->doc, NULL, (yaml_char_t *)text, (int)len, style);
	free(text);
	if (id == 0) {
		ov_fail(ld, ov, node_at(ld, like),
		        "cannot add the value (not UTF-8, or out of memory)");
	}
	return with_marks(ld, id, old > 0 ? old : like);
}

/* A missing last part: a new key in mapping `map`. */
static int
add_key(loader *ld, const sim_override *ov, int map, const char *key)
{
	int k = yaml_document_add_scalar(&ld->doc, NULL, (yaml_char_t *)key, (int)strlen(key),
	                                 YAML_PLAIN_SCALAR_STYLE);
	int v = k > 0 ? leaf_scalar(ld, ov, 0, map) : 0;

	if (v == 0 ||
	    !yaml_document_append_mapping_pair(&ld->doc, map, with_marks(ld, k, map), v)) {
		return ld->fatal ? -1 : ld_fatal(ld, NULL, "out of memory");
	}
	return 0;
}

/* One override: walk the path from the root, copying each container on
 * the way, and put the new scalar at its end. */
static int
apply_one(loader *ld, const sim_override *ov)
{
	const char *rest = ov->path;
	int id = yaml_document_get_root_node(&ld->doc) != NULL ? 1 : 0;

	if (id == 0 || node_at(ld, id)->type != YAML_MAPPING_NODE) {
		return ov_fail(ld, ov, NULL, "the scenario is not a mapping");
	}
	for (;;) {
		yaml_node_t *n = node_at(ld, id);
		size_t taken;
		int *slot, child;
		bool leaf;
		char names[400];

		if (n->type == YAML_SCALAR_NODE) {
			return ov_fail(ld, ov, n,
			               "'%.*s' is a value, not a mapping or list: no '%.*s' in it",
			               (int)(rest - ov->path - 1), ov->path, SHOWN_MAX, rest);
		}
		slot = find_child(ld, n, rest, &taken);
		if (slot == NULL && n->type == YAML_MAPPING_NODE && strchr(rest, '.') == NULL &&
		    rest[0] != '\0') {
			return add_key(ld, ov, id, rest);
		}
		if (slot == NULL) {
			list_names(ld, n, names, sizeof(names));
			return ov_fail(ld, ov, n, "%s%.*s has no %s '%.*s' (%s: %s)",
			               rest == ov->path ? "the scenario" : "",
			               (int)(rest == ov->path ? 0 : rest - ov->path - 1), ov->path,
			               n->type == YAML_MAPPING_NODE ? "field" : "item named",
			               (int)strcspn(rest, "."), rest,
			               n->type == YAML_MAPPING_NODE ? "fields" : "names", names);
		}
		rest += taken;
		leaf = *rest == '\0';
		if (leaf) {
			child = leaf_scalar(ld, ov, *slot, id);
		} else {
			child = node_at(ld, *slot)->type == YAML_SCALAR_NODE
			                ? *slot
			                : copy_container(ld, *slot);
			rest++;
		}
		if (child == 0) {
			return ld->fatal ? -1 : ld_fatal(ld, NULL, "out of memory");
		}
		/* the slot is in n's own array of pairs or items, which adding
		 * nodes to the document does not move */
		*slot = child;
		if (leaf) {
			return 0;
		}
		id = child;
	}
}

int
ld_apply_overrides(loader *ld, const sim_override *ov, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (ov[i].path == NULL || ov[i].path[0] == '\0' || ov[i].value == NULL) {
			return ov_fail(ld, &ov[i], NULL, "empty path");
		}
		if (apply_one(ld, &ov[i]) != 0) {
			return -1;
		}
	}
	return 0;
}
