/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_utc: true UTC with leap seconds.  The engine's true time runs on SI
 * seconds without a break (ns since 1970 at the start of the run, the
 * scenario's `start:`).  A node's true offset is its POSIX clock reading
 * minus the true POSIX-UTC reading then, and POSIX-UTC through a leap is
 * the ideal stepping clock: for an inserted leap 23:59:59 lasts two
 * seconds (the clock is set back 1 s at the end of 23:59:59, as Linux
 * does), for a deleted one 23:59:59 is skipped.  So a client that inserts
 * the leap exactly has no error, and one that misses it is 1 s off until
 * it steps.
 *
 * The leaps: the scenario's `leaps:` list, else the real ones (IERS, from
 * 1972-07-01 to 2017-01-01, the 27 leaps of leap-seconds.list).
 */
#ifndef SIM_UTC_H
#define SIM_UTC_H

#include <stddef.h>
#include <stdint.h>

#include "ntp_leap.h"

#define SIM_UTC_EDGES_MAX 64 /* leaps within one run (ours) */

/* A leap in the engine's time: from `at` (true ns, continuous) on, POSIX-UTC
 * is the engine's time minus `shift` (ns, the sum of the leaps so far). */
typedef struct sim_utc_edge {
	int64_t at;
	int64_t shift;
} sim_utc_edge;

typedef struct sim_utc {
	sim_utc_edge e[SIM_UTC_EDGES_MAX];
	size_t n;
} sim_utc;

/* The real leaps (IERS) as a table. */
void sim_utc_iers(ntp_leap_table *t);

/* The edges of the leaps of t after the run starts at start_ns (POSIX ns:
 * the engine's time and POSIX agree there). */
void sim_utc_init(sim_utc *u, const ntp_leap_table *t, int64_t start_ns);

/* True POSIX-UTC (ns) at engine time now (ns). */
int64_t sim_utc_posix(const sim_utc *u, int64_t now);

#endif
