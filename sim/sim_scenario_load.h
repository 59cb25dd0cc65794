/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_scenario_load: what the parts of the scenario loader share; internal
 * to sim/sim_scenario*.c (the engine and the CLI use sim_scenario.h).
 *
 * Three layers, each calling only the ones below it (scripts/check-includes.sh,
 * CTest sim/layers, fails on a circle or a section calling a section):
 *   top:      sim_scenario.c  the public API, the top level, real:, defaults,
 *                             --set's blame
 *   sections: one file per part of the format (docs/scenarios.md), below
 *   readers:  sim_scenario_yaml.c errors, field paths, YAML node access, typed
 *             values; sim_scenario_fields.c, sim_scenario_link_fields.c,
 *             sim_scenario_check_fields.c: values of the format's own kinds
 *             (node references, faults, queries, links, check values);
 *             sim_scenario_set.c: --set applied to the YAML document
 *
 * The sections:
 *   sim_scenario_nodes.c    nodes, clocks, faults, query nodes, ntp.conf, addresses
 *   sim_scenario_network.c  network: default and links, firewall
 *   sim_scenario_dns.c      dns: names for ntp.conf besides the node names
 *   sim_scenario_events.c   events
 *   sim_scenario_checks.c   checks
 *
 * The ld_ prefix marks what one file calls in another.
 */
#ifndef SIM_SCENARIO_LOAD_H
#define SIM_SCENARIO_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "sim_scenario.h"

#define SYNC_BOUND_DEFAULT 1e-3 /* s, chrony's test.common: |offset| <= 1 ms means synced */
#define LD_LEAP_MAX        3    /* the 2-bit leap indicator: 3 = not synchronised (RFC 5905) */

typedef struct loader {
	const char *file;
	const char *buf; /* the scenario text: columns of ntp.conf lines */
	size_t len;
	yaml_document_t doc;
	char *err; /* the errors kept, one a line */
	size_t errsize;
	size_t err_len;
	unsigned n_errors; /* errors found, including those not kept */
	unsigned n_shown;  /* errors kept in err */
	bool failed;       /* n_errors > 0 */
	bool fatal;        /* stop at once: no memory, visit budget spent */
	char path[192];
	size_t path_len;
	unsigned long visits;
	size_t events_cap;
	yaml_node_t dummy;    /* what ld_get() hands out once the load has failed fatally: */
	yaml_char_t blank[1]; /* an empty scalar, safe to read as a key or a value */
	sim_scenario *sc;
	const sim_override *ov; /* applied to doc before it is read (ntpsim sweep --set) */
	size_t n_ov;
} loader;

#define FOR_PAIRS(n, pr)                                                                           \
	for (yaml_node_pair_t *pr = (n)->data.mapping.pairs.start;                                 \
	     pr < (n)->data.mapping.pairs.top; pr++)

/* sim_scenario_yaml.c: errors, warnings and paths.
 *
 * An error does not end the load: the part that failed (a field, a list
 * entry, a section) is skipped and the next one is read, so one run names
 * every mistake (the first LD_ERRORS_SHOWN, then how many more).  Only a
 * fatal error (no memory, the visit budget spent) stops at once; loops
 * test ld->fatal after a failed part. */
#define LD_ERRORS_SHOWN 20 /* errors written out per file (ours; the rest are counted) */

int ld_fail(loader *ld, const yaml_node_t *n, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
int ld_fatal(loader *ld, const yaml_node_t *n, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
void ld_add_error(loader *ld, const char *line);
void ld_finish_errors(loader *ld);
int ld_errors_since(const loader *ld, unsigned before);
void ld_warn(sim_scenario *sc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ld_warn_at(loader *ld, const yaml_node_t *n, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
int ld_line_indent(const loader *ld, int line);
size_t ld_path_key(loader *ld, const char *key);
size_t ld_path_index(loader *ld, size_t i);
void ld_path_restore(loader *ld, size_t old);

/* sim_scenario_yaml.c: node access */
yaml_node_t *ld_get(loader *ld, int id);
const char *ld_scalar(loader *ld, const yaml_node_t *n, const char *what);
int ld_expect_mapping(loader *ld, const yaml_node_t *n, const char *what);
int ld_expect_sequence(loader *ld, const yaml_node_t *n, const char *what);
size_t ld_seq_len(const yaml_node_t *n);
void *ld_list_array(loader *ld, const yaml_node_t *n, const char *what, size_t per, size_t size,
                    size_t *len);
int ld_get_choice(loader *ld, const yaml_node_t *v, const char *const *names, const char *expected);
yaml_node_t *ld_seq_item(loader *ld, const yaml_node_t *n, size_t i);
int ld_key_index(loader *ld, const yaml_node_t *k, const char *const *keys, uint64_t *seen,
                 const char *where);
int ld_discriminator(loader *ld, const yaml_node_t *n, const char *key, const char *const *names,
                     const char *what);
int ld_scalar_or_list_len(loader *ld, const yaml_node_t *n, const char *what, size_t *count);
bool ld_in_list(const char *key, const char *const *keys);

/* sim_scenario_yaml.c: typed values */
typedef int (*unit_parser)(const char *, double *);

int ld_get_text(loader *ld, const yaml_node_t *n, char *buf, size_t size, const char *what);
/* Drop what a cut left of a UTF-8 character at the end of s: text cut to
 * a buffer's size must stay UTF-8 (JSON outputs carry it). */
void ld_utf8_trim(char *s);
int ld_get_unit(loader *ld, const yaml_node_t *n, unit_parser parse, const char *expected,
                double *out);
int ld_get_duration(loader *ld, const yaml_node_t *n, double *out);
int ld_get_time_nonneg(loader *ld, const yaml_node_t *n, double *out);
int ld_get_freq(loader *ld, const yaml_node_t *n, double *out);
int ld_get_prob(loader *ld, const yaml_node_t *n, double *out);
int ld_get_number(loader *ld, const yaml_node_t *n, double *out);
int ld_get_int(loader *ld, const yaml_node_t *n, long long min, long long max, long long *out);
int ld_get_bool(loader *ld, const yaml_node_t *n, bool *out);
int ld_check_in_run(loader *ld, const yaml_node_t *n, double t, bool end_ok,
                    const char *consequence);
int ld_check_range(loader *ld, const yaml_node_t *n, double v, double lo, double hi,
                   const char *unit);

/* ---- the field readers: below every section, they call no section ---- */

/* sim_scenario_fields.c: field tables.  A section describes each mapping
 * of the format as a table, one row a key: its type, where the value goes
 * (offset and size of a member of the object read into), its range and
 * default, whether it is required; ld_read_fields() then walks the
 * mapping and reports, at FILE:LINE:COL and by field path, an unknown key
 * (with a "did you mean"), a key given twice, a value of the wrong type or
 * out of range, a missing required key.  A new key is a new row.
 *
 * Read by table: the top level, real:, leaps: entries (sim_scenario.c),
 * node entries, clock, a clock's steps, temperature, fault, query, dns
 * entries, network:, firewall rules, links (and extra, up, gemodel),
 * events, checks (sim_scenario_checks.c: a row per field and group of
 * check kinds that take it).
 *
 * What stays a small explicit function after the table, and why:
 *   - the order the values are read in, where one depends on another:
 *     the top level's (LD_FT_NODE rows; load_top_values: settle is judged
 *     against duration; the sections nodes first, checks last), network:'s
 *     (links inherit default), a node's LD_FT_LATER rows (at, servers,
 *     conf... once its kind is known), a leap's (day before step);
 *   - the rules between fields: a check kind's (check_rules), a clock
 *     step's and a leap's one message for either key missing, gemodel's
 *     h and k refused before its keys are looked up;
 *   - discipline parameters: their names are the discipline's
 *     (core/ntp_discipline.h), not the format's; each is read by its unit
 *     and the discipline's own checker judges the names and values. */
typedef enum ld_field_type {
	LD_FT_DURATION, /* double, s, any sign: 1.5, 100ms, -2h */
	LD_FT_TIME,     /* double, s, >= 0 */
	LD_FT_IN_RUN,   /* double, s, >= 0 and before the end; why: what a later one means */
	LD_FT_FREQ,     /* double, s/s: 100ppm, 5ppb, 1e-4 */
	LD_FT_PROB,     /* double, 0..1: 5%, 0.05 */
	LD_FT_NUMBER,   /* double without a unit */
	LD_FT_INT,      /* an integer member (its size: 1, 2, 4 or 8 B) in [min, max] */
	LD_FT_RATE,     /* double, bit/s: 1mbit, 100kbit */
	LD_FT_BOOL,     /* bool: true or false */
	LD_FT_TEXT,     /* char[size]; why: what the text is ("a node name") */
	LD_FT_CHOICE,   /* an integer member: values[i] (or i) for word i of names; why: the
	                   words in a sentence */
	LD_FT_CUSTOM,   /* read by get (a value of the format's own kind) */
	LD_FT_IN,       /* the row of the same key in table sub, into the member (an object
	                   that sub describes) */
	LD_FT_LATER,    /* not read here: the caller reads it (ld_field_value) once the
	                   other fields are known */
	LD_FT_NODE,     /* not read here: the value's node into a yaml_node_t * member,
	                   for the caller to read in its own order (the top level) */
} ld_field_type;

/* Reads v into obj (the object the table describes); ctx: the caller's. */
typedef int (*ld_field_get)(loader *ld, const yaml_node_t *v, void *obj, void *ctx);

typedef struct ld_field ld_field;

struct ld_field {
	const char *key;
	ld_field_type type;
	size_t off;               /* B, of the member in the object (LD_MEMBER) */
	size_t size;              /* B, of the member */
	double min, max;          /* LD_FT_INT: always; the doubles: checked when min < max */
	const char *unit;         /* of min and max in the range's message ("s", "ppm") */
	const char *why;          /* see the types */
	const char *const *names; /* LD_FT_CHOICE */
	const int *values;        /* LD_FT_CHOICE: what each name stands for; NULL: its index */
	ld_field_get get;         /* LD_FT_CUSTOM */
	bool has_def;             /* def is the member's value before the mapping is read
	                             (ld_field_defaults; numbers, integers, choices, bools) */
	double def;
	const char *missing;           /* required: the error when the key is absent */
	const ld_field *sub;           /* LD_FT_IN */
	bool (*only)(const void *obj); /* the key is allowed only when this says so... */
	const char *not_here;          /* ...else: "field 'KEY' <not_here>" */
};

/* Where a row's value goes: struct type T's member m. */
#define LD_MEMBER(T, m) .off = offsetof(T, m), .size = sizeof(((T *)0)->m)

#define LD_FIELDS_MAX 64 /* rows of a table: the bits of a seen mask */

/* The keys of a table's rows, NULL after the last (for ld_key_index). */
void ld_field_keys(const ld_field *tab, const char *keys[LD_FIELDS_MAX + 1]);
/* The defaults of a table's rows into obj. */
void ld_field_defaults(const ld_field *tab, void *obj);
/* The row of key, or -1. */
int ld_field_index(const ld_field *tab, const char *key);
/* The value of key in mapping n, or NULL (for LD_FT_LATER rows). */
yaml_node_t *ld_field_value(loader *ld, const yaml_node_t *n, const char *key);
/* One row's value (the caller has put the key on the field path). */
int ld_read_field(loader *ld, const ld_field *f, const yaml_node_t *v, void *obj, void *ctx);
/* Every key of mapping n by table tab into obj; where names the mapping in
 * the unknown-key message, or is NULL when the keys not in the table are
 * the caller's (skipped here; then a key given twice is the caller's to
 * find too).  *seen: bit i for row i given (at most 64 rows).  The number
 * of errors found, like the other readers. */
int ld_read_fields(loader *ld, const yaml_node_t *n, const ld_field *tab, void *obj, void *ctx,
                   const char *where, uint64_t *seen);

/* sim_scenario_fields.c: node names and references, addresses, DNS names,
 * the event list, the fields of a fault and of a query (a node entry and
 * an event both carry them). */
/* the fields of a fault (docs/scenarios.md, "Faults") */
extern const ld_field ld_fault_fields[];
/* the fields of a query (docs/scenarios.md, "One-shot query nodes") */
extern const ld_field ld_query_fields[];

bool ld_addr_add(ntp_addr *a, uint32_t k);
long ld_owner_of(const sim_scenario *sc, const ntp_addr *a);
int ld_get_node_ref(loader *ld, const yaml_node_t *n, sim_range *out, bool single);
int ld_get_node_list(loader *ld, const yaml_node_t *n, sim_range **out, size_t *count);
int ld_add_event(loader *ld, const yaml_node_t *n, sim_event_spec **out);
int ld_get_fault_fields(loader *ld, const yaml_node_t *n, ntp_fault *f, bool others);
void ld_query_defaults(sim_query_spec *q);
/* servers: one or a list of node names or addresses */
int ld_get_query_servers(loader *ld, const yaml_node_t *n, sim_query_spec *q);

/* sim_scenario_link_fields.c: a link's parameters and ends, and what a
 * link event starts from (the network section and link events). */
/* the fields of a link, from/to/both included */
extern const ld_field ld_link_fields[];

int ld_get_link_fields(loader *ld, const yaml_node_t *n, netem_link_params *p, double **trace,
                       bool allow_ends, const char *const *skip, const char *where);
/* A link given as a tc-netem string or a mapping of fields, each
 * overriding its own parameter of *base. */
int ld_get_link_params(loader *ld, const yaml_node_t *n, netem_link_params *p, double **trace,
                       bool allow_ends, const char *where, const netem_link_params *base);
int ld_get_link_ends(loader *ld, const yaml_node_t *n, sim_link_spec *l, bool *both);
int ld_link_event_base(loader *ld, const yaml_node_t *n, const sim_link_spec *l, bool both,
                       netem_link_params *p);

/* sim_scenario_check_fields.c: values of check fields */
int ld_event_code_from_name(const char *s); /* 0: no such event */
int ld_get_event_name(loader *ld, const yaml_node_t *v, char *out, size_t size, int *code);
int ld_get_what(loader *ld, const yaml_node_t *v, char *out, size_t size);
/* a time >= 0 inside the run, or `end` (INFINITY) */
int ld_get_check_time(loader *ld, const yaml_node_t *v, double *out);
/* [min, max] of times (inf, and with negative_ok -inf and negative times) */
int ld_get_time_range(loader *ld, const yaml_node_t *v, bool negative_ok, double *lo, double *hi);
/* a time (a lower bound: [t, inf]) or [min, max] */
int ld_get_time_floor(loader *ld, const yaml_node_t *v, double *lo, double *hi);
/* N or A-B */
int ld_get_count(loader *ld, const yaml_node_t *v, long long *min, long long *max);
int ld_get_since(loader *ld, const yaml_node_t *v, sim_check_spec *c);
int ld_get_compare(loader *ld, const yaml_node_t *v, int cmp, sim_check_spec *c);
int ld_get_state_cond(loader *ld, const yaml_node_t *v, int field, sim_state_cond *k);

/* sim_scenario_set.c: --set PATH=V on ld->doc; -1 after an error naming
 * the override and the part of its path that matched nothing. */
int ld_apply_overrides(loader *ld, const sim_override *ov, size_t n);

/* ---- the sections: each calls the field readers, none another section ---- */

/* sim_scenario_nodes.c */
int ld_get_impl(loader *ld, const yaml_node_t *v, int kind, char out[SIM_IMPL_MAX]);
int ld_load_nodes(loader *ld, const yaml_node_t *n);
int ld_resolve_confs(loader *ld);

/* sim_scenario_network.c */
int ld_load_network(loader *ld, const yaml_node_t *n);
int ld_load_firewall(loader *ld, const yaml_node_t *n);

/* sim_scenario_dns.c */
int ld_load_dns(loader *ld, const yaml_node_t *n);
void ld_free_dns(sim_scenario *sc);

/* sim_scenario_events.c */
int ld_load_events(loader *ld, const yaml_node_t *n);

/* sim_scenario_checks.c */
int ld_load_checks(loader *ld, const yaml_node_t *n);

/* ---- the top: sim_scenario.c calls the sections ---- */

int ld_load_buffer_set(sim_scenario *sc, const char *file, const char *buf, size_t len,
                       const sim_override *ov, size_t n, char *err, size_t errsize);
/* Load with overrides; when the load fails, each error line is prefixed
 * with the overrides it comes from ("--set PATH=V: FILE:LINE:COL: ..."). */
int ld_load_blamed(sim_scenario *sc, const char *file, const char *buf, size_t len,
                   const sim_override *ov, size_t n, char *err, size_t errsize);

#endif
