/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_scenario: a scenario file (YAML, docs/scenarios.md) loaded,
 * validated and resolved into plain data for the engine.
 *
 * Nodes are declared as templates; `count: N` replicates one into N nodes
 * named NAME1..NAMEN with consecutive addresses, sharing one parsed
 * ntp.conf.  Every node gets a global index (templates in file order,
 * replicas in order), and every reference to nodes in links, firewall
 * rules, events and checks is resolved to a range of those indices.
 *
 * Every error names the file, line and column (libyaml marks), the field
 * path ("nodes[1].clock.freq") and what was expected.  An ntp.conf error
 * is reported at the scenario line of the offending conf line.
 */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netem_fw.h"
#include "netem_link.h"
#include "ntp_addr.h"
#include "ntp_conf.h"
#include "ntp_fault.h"
#include "ntp_keys.h"
#include "ntp_leap.h"
#include "sim_osc.h"

#define SIM_NAME_MAX          32  /* bytes of a node name, with NUL */
#define SIM_IMPL_MAX          16  /* bytes of an implementation name, with NUL */
#define SIM_TEXT_MAX          128 /* bytes of a check's match text */
#define SIM_QUERY_MAX_SERVERS 8   /* servers of one query (ntpdate's NTP_MAXLIST is 5) */
#define SIM_QUERY_MAX_SAMPLES 8   /* requests per server (ntpdate -p allows 1..8) */
/* nodes per scenario (ours: a million clients and their servers fit 24 GiB) */
#define SIM_MAX_NODES 2000000
#define SIM_MAX_ITEMS 100000 /* entries of any list in a scenario (ours) */
#define SIM_TIME_MAX  1e9    /* s, largest time or offset a scenario may give (ours) */

enum sim_node_kind {
	SIM_NODE_HOST = 0,  /* an NTP daemon: ntp_host with its ntp.conf */
	SIM_NODE_QUERY = 1, /* a one-shot query client (like ntpdate -q) */
};

/* A set of nodes: global indices [first, first + count). */
typedef struct sim_range {
	uint32_t first;
	uint32_t count;
} sim_range;

/* A one-shot query (ntpdate): servers, sample count, pacing, and whether
 * it sets the clock. */
typedef struct sim_query_spec {
	size_t n_servers;
	ntp_addr servers[SIM_QUERY_MAX_SERVERS];
	char server_names[SIM_QUERY_MAX_SERVERS][SIM_NAME_MAX];
	int samples;       /* requests per server, default 4 (ntpdate -p) */
	double interval;   /* s between a server's requests, default 1 */
	double timeout;    /* s waited after the last request, default 1 (ntpdate -t) */
	bool set;          /* step/slew the clock like ntpdate without -q */
	bool unprivileged; /* ephemeral source port (ntpdate -u, -q); else port 123 */
} sim_query_spec;

typedef struct sim_node_spec {
	char name[SIM_NAME_MAX];
	int line;
	int kind;       /* enum sim_node_kind */
	uint32_t count; /* replicas */
	uint32_t first; /* global index of the first replica */
	ntp_addr addr;  /* the first replica's address */
	sim_osc_params clock;
	ntp_conf *conf;  /* heap, shared by the replicas; NULL for queries */
	char *conf_text; /* owned: the conf text as written (names not resolved); NULL for queries
	                  */
	int conf_line;   /* scenario line of the conf text's line 1 */
	int conf_col;    /* scenario columns before a conf line's column 1 (its indent) */
	bool have_drift;
	double drift_ppm;     /* ppm, the drift file's value */
	bool big_first_step;  /* ntpd -g */
	int8_t precision;     /* log2 s */
	double start;         /* s, when the daemon starts */
	ntp_fault fault;      /* misbehaviour from the start */
	int trace;            /* write a trace: 1 yes, 0 no (default: count == 1) */
	sim_query_spec query; /* kind query */
	double *query_at;     /* s, kind query: when the queries run (owned) */
	size_t n_query_at;
	char impl[SIM_IMPL_MAX];  /* real world only (realnet): which daemon runs the node;
	                             "" = refd; ntpsim always runs the ntplab core */
	bool uses_dns;            /* its conf names a dns: entry, resolved at each daemon start */
	ntp_leap_table *leapfile; /* heap: its `leapfile:` parsed, NULL none (the conf's
	                             `leapfile NAME` names it) */
	char *leapfile_text;      /* owned: `leapfile:` as written; NULL none */
	ntp_keys_file *keys;      /* heap: `keys: |`, the key file its `keys` line names, given
	                             verbatim like conf (core/ntp_keys); NULL: none */
	char *keys_text;          /* owned: that text as written */
} sim_node_spec;

/* A name of the scenario's dns: section (docs/scenarios.md, "DNS").  It
 * answers `addrs` until `at`, `later` from then on; an empty answer (or
 * `fail`) means the name does not resolve. */
typedef struct sim_dns_entry {
	char name[NTP_CONF_HOST_MAX];
	int line;
	bool fail;       /* never resolves */
	ntp_addr *addrs; /* owned: the answer before `at` */
	size_t n_addrs;
	double at;       /* s since start, when the answer changes; < 0: never */
	ntp_addr *later; /* owned: the answer from `at` on (may be empty) */
	size_t n_later;
} sim_dns_entry;

typedef struct sim_link_spec {
	sim_range from, to;
	bool from_any, to_any;
	netem_link_params p;
	double *trace; /* owned copy of a TRACE distribution's delays */
	int line;
} sim_link_spec;

enum sim_event_kind {
	SIM_EV_FIREWALL = 1, /* rule on/off */
	SIM_EV_PARTITION,    /* groups of nodes that hear only each other */
	SIM_EV_HEAL,         /* end all partitions */
	SIM_EV_STEP,         /* the node's clock jumps */
	SIM_EV_FREQ,         /* the node's oscillator frequency error changes */
	SIM_EV_STOP,         /* the daemon stops: sends/receives nothing */
	SIM_EV_START,        /* the daemon starts afresh */
	SIM_EV_FAULT,        /* misbehaviour changes (kinds: [] clears it) */
	SIM_EV_LINK,         /* link parameters change */
	SIM_EV_QUERY,        /* a one-shot query runs on the node */
};

typedef struct sim_event_spec {
	int kind;
	int line;
	double at;    /* s since start */
	double every; /* s, > 0: repeats */
	double until; /* s, last repetition no later than this; <= 0: run end */
	sim_range nodes;
	size_t rule; /* firewall rule index */
	bool enable;
	double value; /* step offset (s) or frequency (s/s) */
	ntp_fault fault;
	sim_link_spec link; /* SIM_EV_LINK; `both` adds the reverse too */
	bool both;
	sim_range *groups; /* SIM_EV_PARTITION (owned) */
	size_t n_groups;
	sim_query_spec query;
	bool clock_step; /* SIM_EV_STEP from a node's clock: steps: list, not from events: */
} sim_event_spec;

enum sim_check_kind {
	SIM_CHECK_SYNCED = 1, /* sys peer and |offset| < bound from some t <= within on */
	SIM_CHECK_OFFSET,     /* max |offset| over [after, end] < max */
	SIM_CHECK_RMS,        /* RMS offset over [from, to] < max */
	SIM_CHECK_STEPS,      /* number of clock steps in [min, max] */
	SIM_CHECK_REJECTED,   /* a source is marked rejected, reason matching text */
	SIM_CHECK_SELECTED,   /* a source is the system peer at a time, over a window, never */
	SIM_CHECK_EVENT,      /* event count (name, reason matching text) in [min, max] */
	SIM_CHECK_PACKETS,    /* packet count in [min, max] */
	SIM_CHECK_FREQ,       /* max or RMS |frequency error| over [from, to] < max */
	SIM_CHECK_QUERY,      /* the last query's result line contains text */
	SIM_CHECK_BOUND,      /* fraction of synced time with |offset| <= root distance */
	SIM_CHECK_STATE,      /* system or association variables at a time / over a window */
	SIM_CHECK_LOG,        /* events.log lines (what, detail matching text) */
	SIM_CHECK_INTERVAL,   /* shortest and mean interval between packets */
};

enum sim_packet_dir { SIM_PKT_SENT = 0, SIM_PKT_RECEIVED, SIM_PKT_DROPPED };

/* When a state is judged (SELECTED, STATE, SYNCED with never). */
enum sim_check_when {
	SIM_WHEN_AT = 0, /* the state in effect at `from` (INFINITY: the end) */
	SIM_WHEN_OVER,   /* every state in effect during [from, to] */
	SIM_WHEN_NEVER,  /* no state in effect during [from, to] */
};

/* The variables a STATE check can name. */
enum sim_state_field {
	SIM_SF_STRATUM = 0, /* system or association */
	SIM_SF_LEAP,        /* system */
	SIM_SF_POLL,        /* log2 s, system or association */
	SIM_SF_REFID,       /* text as ntpq shows it */
	SIM_SF_RUNNING,     /* system: the daemon runs (0/1) */
	SIM_SF_EST_ERROR,   /* s, system: true offset - the host's estimate */
	SIM_SF_REACH,       /* association: the reach register */
	SIM_SF_TYPE,        /* association: ntpq's t column */
	SIM_SF_TALLY,       /* association: ntpq's tally character */
	SIM_SF_WHEN,        /* s, association: since the last valid packet; -1: never */
	SIM_SF_REASON,      /* association: why its tally (substring) */
	SIM_SF_PRESENT,     /* association: listed at all (0/1) */
	SIM_SF_COUNT
};

#define SIM_STATE_CONDS_MAX 8  /* conditions of one STATE check (ours) */
#define SIM_WHAT_MAX        24 /* bytes of an events.log `what` word, with NUL */

/* One condition of a STATE check: a number in [lo, hi] or a text. */
typedef struct sim_state_cond {
	int field; /* enum sim_state_field */
	double lo, hi;
	char text[64]; /* REFID (equal), REASON (contains); TYPE, TALLY: one char */
} sim_state_cond;

/* The events.log line a `since` names: its first one is the reference. */
typedef struct sim_log_match {
	char what[SIM_WHAT_MAX]; /* a host event's name, daemon, scenario, fault or query */
	char text[SIM_TEXT_MAX]; /* detail substring (case-insensitive) */
} sim_log_match;

/* A second node a check refers to: `since: {node: ...}`, `more_than`. */
enum sim_check_cmp { SIM_CMP_NONE = 0, SIM_CMP_MORE, SIM_CMP_LESS };

typedef struct sim_check_spec {
	int kind;
	int line;
	sim_range nodes;
	ntp_addr source; /* REJECTED, SELECTED, STATE, INTERVAL (family NONE: local / any) */
	char source_name[SIM_NAME_MAX];
	bool have_source;         /* SELECTED, STATE, INTERVAL: `source` or `peer` given */
	double within;            /* s, SYNCED */
	bool not_within;          /* SYNCED: passes when NOT synced within `within` */
	double bound;             /* s, SYNCED: |offset| bound (default 1 ms) */
	double from, to;          /* s, window (to <= 0: run end; AT: from INFINITY = end) */
	int when;                 /* enum sim_check_when */
	double max;               /* s or s/s; FREQ with rms: the RMS limit */
	bool rms;                 /* FREQ: RMS over [from, to] instead of the max */
	double min_fraction;      /* BOUND */
	long long min, max_count; /* STEPS, EVENT, LOG, PACKETS */
	bool have_by;             /* STEPS: count only steps of a size in [by_lo, by_hi] */
	double by_lo, by_hi;      /* s, as applied to the clock (+ = forward) */
	int dir;                  /* enum sim_packet_dir */
	int event_code;           /* EVENT: enum ntp_event_code */
	char text[SIM_TEXT_MAX];  /* reason / result / detail substring (case-insensitive) */
	char what[SIM_WHAT_MAX];  /* LOG: the events.log `what` counted ("" any) */
	/* EVENT, LOG: time of the first / last matching line, relative to `since` */
	bool have_first, have_last;
	double first_lo, first_hi, last_lo, last_hi;
	double since;    /* s, constant reference time (default 0) */
	bool since_line; /* the reference is the first line matching since_match */
	sim_log_match since_match;
	sim_range other; /* count 1: the node `since` or the comparison names */
	int cmp;         /* enum sim_check_cmp: the measure against `other`'s */
	double factor;   /* ... times this */
	/* STATE */
	sim_state_cond conds[SIM_STATE_CONDS_MAX];
	size_t n_conds;
	/* INTERVAL: shortest and mean interval, s (lo <= v <= hi) */
	double ivl_min_lo, ivl_min_hi, ivl_mean_lo, ivl_mean_hi;
	char label[200]; /* how the report names the check */
} sim_check_spec;

typedef struct sim_scenario {
	char file[256];
	char sha256[65]; /* of the file's bytes, hex (reports name the exact input) */
	char name[64];
	char *description; /* owned, the file's `description:`; NULL: none */
	uint64_t seed;
	int64_t start_ns;       /* true time the run starts, ns since 1970 */
	ntp_leap_table *leaps;  /* heap: `leaps:`, the true leap seconds; NULL: the real
	                           ones (IERS, sim_utc.h) */
	double duration;        /* s */
	double sample_interval; /* s, extra periodic samples of every node; 0: none */
	double sync_bound;      /* s, |offset| that counts as synced in the report */
	double settle;          /* s, the report's metrics cover [settle, end]; < 0: from
	                         * each node's first synced sample */
	netem_link_params net_default;
	double *net_default_trace; /* owned */
	sim_node_spec *nodes;      /* templates */
	size_t n_nodes;
	uint32_t total_nodes; /* after replication */
	sim_link_spec *links;
	size_t n_links;
	netem_fw_rule *fw;
	int *fw_line;
	size_t n_fw;
	sim_dns_entry *dns;
	size_t n_dns;
	sim_event_spec *events;
	size_t n_events;
	sim_check_spec *checks;
	size_t n_checks;
	char *warnings; /* newline-separated, may be NULL */
	size_t warnings_len;
	double real_time_scale; /* real world only: realnet's default --time-scale (0: 1) */
} sim_scenario;

/* One override of ntpsim sweep: PATH=VALUE, or PATH+=LINE.  PATH is
 * dotted: mapping keys by name, list items by their `name:` (or 0-based
 * index), e.g. nodes.client.discipline; a missing last key is created. */
typedef struct sim_override {
	const char *path;
	const char *value; /* the scalar's text, verbatim */
	bool append;       /* +=: VALUE becomes one more line of the text (a node's conf) */
} sim_override;

/* Load a scenario from a file / from memory (file names it in messages).
 * Returns 0, or -1 with the reasons in err (several lines when an
 * ntp.conf has several errors); *sc is then empty. */
int sim_scenario_load_file(sim_scenario *sc, const char *path, char *err, size_t errsize);
int sim_scenario_load_buffer(sim_scenario *sc, const char *file, const char *buf, size_t len,
                             char *err, size_t errsize);
/* The same with overrides applied to the parsed YAML before it is read:
 * a bad value gives the loader's own error, prefixed "--set PATH=V: ". */
int sim_scenario_load_file_set(sim_scenario *sc, const char *path, const sim_override *ov, size_t n,
                               char *err, size_t errsize);
int sim_scenario_load_buffer_set(sim_scenario *sc, const char *file, const char *buf, size_t len,
                                 const sim_override *ov, size_t n, char *err, size_t errsize);
void sim_scenario_free(sim_scenario *sc);

/* An event kind's `do:` word ("step", "firewall-on" / "firewall-off" by
 * enable, ...); "?" if unknown. */
const char *sim_event_kind_name(int kind, bool enable);

/* The template a global node index belongs to. */
const sim_node_spec *sim_scenario_tmpl(const sim_scenario *sc, uint32_t index);

/* "client17" for replica 17 of template "client"; buf >= SIM_NAME_MAX + 12. */
char *sim_scenario_node_name(const sim_scenario *sc, uint32_t index, char *buf, size_t size);

/* A node's address (replicas count up from the template's). */
ntp_addr sim_scenario_node_addr(const sim_scenario *sc, uint32_t index);

/* Resolve a node or template name to its range.  Returns 0 or -1. */
int sim_scenario_find(const sim_scenario *sc, const char *name, sim_range *out);

/* The dns: entry named `name` (case-insensitive, as DNS), or NULL. */
const sim_dns_entry *sim_scenario_dns_find(const sim_scenario *sc, const char *name);

/* What entry e answers at t (s since start): the count of *addrs, 0 when
 * the name does not resolve then. */
size_t sim_dns_answer(const sim_dns_entry *e, double t, const ntp_addr **addrs);

/* Called with what resolving a conf did ("cannot resolve NAME", ...). */
typedef void (*sim_dns_note_fn)(void *ctx, const char *text);

/* The conf a daemon starting at t (s since start) runs: `in` with its
 * `server`/`peer` lines that name dns: entries resolved to the first
 * address answered (a name that does not resolve creates no association,
 * as in ntpd), and its `pool` lines of dns names expanded into servers the
 * way ntpd's pool does it (one new address per pool in turn, none already
 * used, while there are fewer than NTP_SELECT_MAXCLOCK associations, the
 * pool lines included).  Lines naming nodes were resolved at load and are
 * copied.  note (may be NULL) hears each resolution. */
void sim_dns_resolve_conf(const sim_scenario *sc, const ntp_conf *in, double t, ntp_conf *out,
                          sim_dns_note_fn note, void *ctx);

#endif
