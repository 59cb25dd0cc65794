/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_scenario_load: what the parts of the scenario loader share; internal
 * to sim/sim_scenario*.c (the engine and the CLI use sim_scenario.h).
 *
 * One file per part of the format (docs/scenarios.md):
 *   sim_scenario.c          the public API, the top level, real:, defaults
 *   sim_scenario_yaml.c     errors, field paths, YAML node access, typed values
 *   sim_scenario_nodes.c    nodes, clocks, faults, query nodes, ntp.conf, addresses
 *   sim_scenario_network.c  network: default and links, firewall
 *   sim_scenario_dns.c      dns: names for ntp.conf besides the node names
 *   sim_scenario_events.c   events
 *   sim_scenario_checks.c   checks
 *
 * The ld_ prefix marks what one part calls in another.
 */
#ifndef SIM_SCENARIO_LOAD_H
#define SIM_SCENARIO_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "sim_scenario.h"

#define SYNC_BOUND_DEFAULT 1e-3 /* s, chrony's test.common: |offset| <= 1 ms means synced */

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

/* sim_scenario_set.c: --set PATH=V on ld->doc; -1 after an error naming
 * the override and the part of its path that matched nothing. */
int ld_apply_overrides(loader *ld, const sim_override *ov, size_t n);
/* Load with overrides; when the load fails, each error line is prefixed
 * with the overrides it comes from ("--set PATH=V: FILE:LINE:COL: ..."). */
int ld_load_blamed(sim_scenario *sc, const char *file, const char *buf, size_t len,
                   const sim_override *ov, size_t n, char *err, size_t errsize);

/* sim_scenario.c */
int ld_load_buffer_set(sim_scenario *sc, const char *file, const char *buf, size_t len,
                       const sim_override *ov, size_t n, char *err, size_t errsize);

/* sim_scenario_nodes.c */
extern const char *const ld_query_keys[];

bool ld_addr_add(ntp_addr *a, uint32_t k);
long ld_owner_of(const sim_scenario *sc, const ntp_addr *a);
int ld_get_node_ref(loader *ld, const yaml_node_t *n, sim_range *out, bool single);
int ld_get_node_list(loader *ld, const yaml_node_t *n, sim_range **out, size_t *count);
int ld_get_fault_fields(loader *ld, const yaml_node_t *n, ntp_fault *f, bool others);
void ld_query_defaults(sim_query_spec *q);
int ld_get_query_field(loader *ld, int i, const yaml_node_t *v, sim_query_spec *q);
int ld_get_impl(loader *ld, const yaml_node_t *v, int kind, char out[SIM_IMPL_MAX]);
int ld_load_nodes(loader *ld, const yaml_node_t *n);
int ld_resolve_confs(loader *ld);

/* sim_scenario_network.c */
extern const char *const ld_link_keys[];

int ld_get_link_fields(loader *ld, const yaml_node_t *n, netem_link_params *p, double **trace,
                       bool allow_ends, const char *const *skip, const char *where);
int ld_get_link_ends(loader *ld, const yaml_node_t *n, sim_link_spec *l, bool *both);
int ld_link_event_base(loader *ld, const yaml_node_t *n, const sim_link_spec *l, bool both,
                       netem_link_params *p);
int ld_load_network(loader *ld, const yaml_node_t *n);
int ld_load_firewall(loader *ld, const yaml_node_t *n);

/* sim_scenario_dns.c */
int ld_load_dns(loader *ld, const yaml_node_t *n);
void ld_free_dns(sim_scenario *sc);

/* sim_scenario_events.c */
int ld_add_event(loader *ld, const yaml_node_t *n, sim_event_spec **out);
int ld_load_events(loader *ld, const yaml_node_t *n);

/* sim_scenario_checks.c */
int ld_load_checks(loader *ld, const yaml_node_t *n);

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

#endif
