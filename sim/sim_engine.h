/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_engine: runs a loaded scenario in virtual time.
 *
 * A heap of events in true time (int64 ns) drives one ntp_host per node
 * through core/ntp_host.h: timers fire when the node's disciplined clock
 * (its oscillator model corrected by core/ntp_clock) reaches the host's
 * deadline, datagrams cross netem links and the firewall, STEP and ADJUST
 * actions are applied to the clock in closed form.  Checks are evaluated
 * as the run streams by; outputs go to a directory.
 *
 * Deterministic: the same scenario and seed give byte-identical outputs.
 */
#ifndef SIM_ENGINE_H
#define SIM_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim_scenario.h"

typedef struct sim_world sim_world;

typedef struct sim_opts {
	bool seed_set; /* override the scenario's seed */
	uint64_t seed;
	const char *out_dir;     /* report, traces, stats, events; NULL: none */
	bool no_trace;           /* out_dir without trace CSV, peerstats, loopstats */
	const char *pcap_path;   /* capture file; NULL: none */
	bool plots;              /* run gnuplot into out_dir (when out_dir is set) */
	const char *plots_dir;   /* where ntpsim.gp is; NULL: the built-in path */
	const char *overlay_dir; /* plots: another run's NODE.trace.csv drawn over ours
	                          * (realnet's real world); NULL: none */
	bool quiet;              /* report: only the verdict and failed checks */
	bool progress;           /* progress on stderr for long runs (a tty) */
	FILE *report;            /* the text report also goes here; NULL: nowhere */
	const char *junit_path;  /* JUnit XML, one test case per check; NULL: none */
	const char *tap_path;    /* TAP version 13, one test point per check; "-": stdout */
} sim_opts;

typedef struct sim_summary {
	size_t checks;
	size_t failed;
	uint64_t events;  /* events processed */
	double simulated; /* s */
	uint64_t seed;
	size_t peak_queue; /* most events pending at once */
	double wall;       /* s of wall-clock time for the run, without plots (for
	                      people; no output file depends on it) */
} sim_summary;

enum sim_result { SIM_PASS = 0, SIM_FAIL = 1, SIM_ERROR = 2 };

/* Run the scenario.  Returns SIM_PASS when every check passes, SIM_FAIL
 * when one fails (the report says which and by how much), SIM_ERROR with a
 * reason in err when the run could not be done (a node's config rejected
 * by the core, an output file that cannot be written, no memory). */
int sim_run(const sim_scenario *sc, const sim_opts *o, sim_summary *sum, char *err, size_t errsize);

/* Seconds of a monotonic wall clock, for people only (progress, speed,
 * ETA): no output file depends on it. */
double sim_wall_s(void);

#endif
