/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_world: the engine's state during a run, shared by sim_engine.c (the
 * event loop) and sim_report.c (the outputs).  Not a public API: ntpsim
 * and tests use sim_engine.h.
 *
 * Per node the state is fixed-size (model clock, disciplined clock, the
 * host's last system variables, statistics); nothing grows with the run.
 */
#ifndef SIM_WORLD_H
#define SIM_WORLD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "netem_fw.h"
#include "netem_heap.h"
#include "netem_link.h"
#include "ntp_clock.h"
#include "ntp_host.h"
#include "sim_check.h"
#include "sim_engine.h"
#include "sim_metrics.h"
#include "sim_osc.h"
#include "sim_pcap.h"
#include "sim_query.h"
#include "sim_scenario.h"
#include "sim_utc.h"

#define SIM_PHI 15e-6 /* s/s, RFC 5905 PHI: how fast an advertised dispersion ages */

/* What the report says about a node: streamed statistics. */
typedef struct sim_node_stats {
	bool have_last;
	double t_last, off_last, freq_last, bound_last;
	bool claims_last, good_last;
	double t_good;       /* s, start of the current synced run (report's bound); < 0: none */
	double t_bad;        /* s, last unsynced sample */
	double t_first_peer; /* s, first sample with a system peer; < 0: never */
	double t_first_sync; /* s, first synced sample; < 0: never.  "Settled" is from here
	                      * to the end, later excursions included (report metrics) */
	double set_sum2, set_fsum2, set_span, set_max; /* over the settled part (the
	                                                * scenario's settle, else t_first_sync) */
	double false_reject; /* s from a source serving false time (sim_node.t_false) to
	                      * this node tallying it 'x' or '-'; < 0: none seen */
	/* since t_good (reset whenever a sample is not synced) */
	double sync_sum2, sync_span, sync_max;
	double sync_fsum2, sync_fmax;
	/* time the host claimed sync, and the part where |offset| <= its bound */
	double claim_span, held_span;
	double worst_excess; /* s, largest |offset| - bound while claiming sync */
	double max_abs;      /* s, largest |offset| over the run */
	unsigned steps;
	double last_step; /* s, size of the last step */
	double t_last_step;
	uint64_t sent, received, dropped, duplicated, events;
	unsigned restarts;
	unsigned timer_spins; /* ticks the host asked for again at the same instant */
} sim_node_stats;

/* A detailed node's time-error statistics (sim_metrics): the grid fed as
 * the run goes, the result finished by the report. */
typedef struct sim_node_metrics {
	sim_metrics m;
	sim_metrics_result r;
} sim_node_metrics;

/* One ntpd statistics file split per day as ntpd's `filegen ... type day`
 * does: OUT/stats/NODE/peerstats.YYYYMMDD, by the MJD in each line. */
typedef struct sim_stats_file {
	FILE *f;
	long mjd;      /* day of the open file */
	long *days;    /* days written in this run (a day seen again is appended to) */
	size_t n_days; /* malloc: few; a day per 86400 s of a host's clock */
} sim_stats_file;

typedef struct sim_node_out {
	FILE *trace;
	FILE *sources;       /* NODE.sources.csv, NULL: not written (not an ntp host) */
	bool conf_peerstats; /* its ntp.conf asks for peerstats (the host writes them
	                        also for sources.csv, so the file honours the conf) */
	sim_stats_file peerstats;
	sim_stats_file loopstats;
} sim_node_out;

typedef struct sim_node {
	uint32_t index;
	uint8_t kind; /* enum sim_node_kind */
	bool running; /* the daemon runs */
	bool traced;
	bool needs_peers; /* a check looks at its peer table while running */
	bool needs_state; /* a check judges its state after every host call */
	bool needs_pkts;  /* a check times the packets it sends or receives */
	uint16_t part;    /* partition group */
	uint16_t port;    /* the daemon's port */
	ntp_addr addr;
	sim_osc osc;
	ntp_clock clock;
	ntp_host *host;
	char *exited;      /* "AT s: exited with status N: REASON" when its host gave up (malloc) */
	ntp_time deadline; /* local time the timer is set for; INT64_MAX: none */
	uint32_t timer_gen;
	int64_t spin_t;
	uint32_t spin;
	uint32_t chk_first, chk_count; /* into sim_world.chk */
	uint32_t last_dst;             /* node index + 1 of the last destination, 0: none */
	uint32_t last_link;            /* its link, UINT32_MAX: none */
	/* the host's system variables after its last call */
	int64_t t_sys; /* true time of that call */
	int sys_peer;
	uint8_t leap, stratum;
	int8_t poll;
	uint32_t refid; /* the host's system refid */
	uint8_t reach;
	bool reach_known; /* reach is the host's as it is now (trace_reach) */
	int disc_state;
	double rootdelay, rootdisp, est_offset, freq_ppm;
	const ntp_fault *fault; /* the misbehaviour in force (scenario-owned) */
	double t_false;         /* s, since when its time is off by more than the sync
	                         * bound (a falseticker to its clients); < 0: it is not */
	bool serves;            /* it has sent its time to another node (note_serves) */
	sim_query *query;
	sim_node_out *out;
	sim_node_metrics *metrics; /* detailed nodes only; NULL otherwise */
	sim_node_stats st;
} sim_node;

/* A packet in flight (one slot, shared by duplicate copies). */
typedef struct sim_pkt {
	uint32_t next_free;
	uint16_t len;
	uint8_t refs;
	uint32_t src_node;
	ntp_addr src, dst;
	uint8_t buf[NTP_SEND_MAX];
} sim_pkt;

typedef struct sim_link {
	netem_link l;
	uint32_t src, dst;
} sim_link;

/* A link spec with the sanitised parameters its links point at (netem_link
 * reads them through a pointer, so one copy serves every matching link). */
typedef struct sim_lspec {
	const sim_link_spec *spec;
	netem_link_params p;
} sim_lspec;

/* One entry of the link map: key and value side by side (one cache miss). */
typedef struct sim_link_slot {
	uint32_t src; /* UINT32_MAX: empty */
	uint32_t dst;
	uint32_t link;
} sim_link_slot;

typedef struct sim_chk_ref {
	uint32_t check;
	uint32_t acc;
} sim_chk_ref;

typedef struct sim_check_outcome {
	bool pass;
	bool censored; /* measured is a lower bound (sim_check_censored) */
	double measured;
	char detail[320];
} sim_check_outcome;

struct sim_world {
	const sim_scenario *sc;
	const sim_opts *o;
	uint64_t seed;
	int64_t t0, t_end, now;
	sim_utc utc; /* true POSIX-UTC from now: the leaps of the run */
	uint64_t n_events;

	sim_node *nodes;
	uint32_t n_nodes;
	netem_heap heap;

	sim_pkt *pkts;
	uint32_t pkts_cap, free_pkt;

	sim_link *links;
	size_t n_links, links_cap;
	sim_link_slot *link_map; /* open addressing on (src, dst) */
	size_t link_slots;

	uint32_t *addr_slots; /* open addressing: node index + 1, 0 empty */
	size_t n_addr_slots;

	sim_lspec *lspecs; /* scenario links, then link events (later wins) */
	size_t n_lspecs;
	netem_link_params net_default; /* the scenario's, sanitised: links point here */
	sim_link_spec *dyn_links;      /* reversed copies for `both` link events */
	size_t n_dyn_links;

	netem_fw_rule *fw;
	uint16_t next_part;

	sim_check_acc *acc;
	size_t *acc_base; /* per check: index of its first accumulator */
	sim_chk_ref *chk;
	sim_check_outcome *outcome;
	size_t checks_failed;
	bool watch_false; /* a node that serves has been false: clients time its rejection */

	ntp_actions acts;
	ntp_peer_info peers[NTP_CONF_MAX_SERVERS + 4];

	FILE *events_log;
	sim_pcap pcap;
	bool pcap_on;
	uint64_t dropped_unroutable, dropped_fw, dropped_partition, dropped_link, dropped_stopped;
	uint64_t action_overflows;
	char warn[512];
	char exit_reason[NTP_REASON_MAX + 48]; /* the last EXIT action, for the events log */
};

/* sim_report.c */
int sim_report_open_traces(sim_world *w, char *err, size_t errsize);
void sim_report_trace_row(sim_world *w, sim_node *n, double t, double offset, double freq_err,
                          double bound);
/* A statistics line of n's host at run time t (s): to its day's
 * peerstats/loopstats file, and a peerstats line to NODE.sources.csv. */
void sim_report_stats_line(sim_world *w, sim_node *n, double t, uint32_t file, const char *line);
/* Does n's host write peerstats lines whatever its conf says (for sources.csv)? */
bool sim_report_wants_peerstats(const sim_node *n);
void sim_report_event(sim_world *w, const sim_node *n, double t, const char *what,
                      const char *reason);
int sim_report_write(sim_world *w, FILE *text_out, char *err, size_t errsize);
void sim_report_close(sim_world *w);
int sim_report_plots(sim_world *w, char *err, size_t errsize);
/* The node has its own section in the reports (traced, or a small world),
 * so its metrics are kept. */
bool sim_node_detailed(const sim_world *w, const sim_node *n);

#endif
