/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_report: what report.txt (sim_report.c) and report.json
 * (sim_report_json.c) both say about nodes and templates, computed once.
 */
#ifndef SIM_REPORT_H
#define SIM_REPORT_H

#include <stdio.h>

#include "sim_world.h"

typedef struct node_facts {
	char name[SIM_NAME_MAX + 12];
	char addr[64];
	double sync_time; /* s, NAN: never */
	double rms, max_after, max_all, freq_ppm, freq_rms_ppm;
	double held;    /* fraction, NAN: never claimed sync */
	char peer[48];  /* system peer */
	size_t n_peers; /* the peer table is left in w->peers */
} node_facts;

typedef struct tmpl_facts {
	uint32_t synced;
	double worst_sync, worst_rms, worst_max;
	uint64_t sent, received, dropped, steps;
} tmpl_facts;

/* mkdir -p: 0, or -1 with errno. */
int sim_mkdir_p(const char *path);

/* sqrt(sum2 / span), or fallback when nothing was integrated. */
double sim_report_rms(double sum2, double span, double fallback);

void sim_report_node_facts(sim_world *w, sim_node *n, node_facts *f);

/* s, where the node's settled part begins: the scenario's `settle`, else
 * its first synced sample; NAN when it never synced. */
double sim_report_settle_time(const sim_world *w, const sim_node *n);

/* A replicated template reported as a whole (its nodes are not detailed). */
bool sim_report_summarised(const sim_world *w, const sim_node_spec *ts);
void sim_report_tmpl_facts(const sim_world *w, const sim_node_spec *ts, tmpl_facts *f);

/* report.json (docs/report.schema.json). */
void sim_report_json(sim_world *w, FILE *f);

/* Where ntpsim.gp and sweep.gp are: `given` (--plots-dir) if not NULL, else
 * $NTPSIM_PLOTS_DIR, else the installed folder next to the running binary
 * (NTPSIM_PLOTS_REL from its bin/ folder: `cmake --install`, the .deb, or an
 * unpacked copy of either; written into buf), else the source tree's plots/
 * (a build tree). */
const char *sim_report_plots_dir(const char *given, char *buf, size_t size);

/* --junit / --tap files (sim_report_ci.c). */
int sim_report_ci(const sim_world *w, char *err, size_t errsize);

#endif
