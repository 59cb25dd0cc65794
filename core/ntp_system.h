/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_system: the host's system process (RFC 5905 §11, App. A.5.5): clock
 * selection over the associations that pass the fit tests, the orphan
 * rules, the system variables, and the clock updates with their STEP,
 * ADJUST and EXIT actions.  The host calls it when an association has a
 * new sample, loses its reach, or is stopped, and once a tick for orphan
 * mode.
 */
#ifndef NTP_SYSTEM_H
#define NTP_SYSTEM_H

#include <stdbool.h>
#include <stddef.h>

#include "ntp_hostcore.h"

/* Selection parameters (tos) and the discipline from the config, at
 * ntp_host_new, after the associations are set up. */
void ntp_system_setup_tos(ntp_host *h, const ntp_conf *c, ntp_time mono);
void ntp_system_setup_discipline(ntp_host *h, const ntp_conf *c, const ntp_host_params *p);

/* The host's first call: start-up events and the drift file's frequency. */
void ntp_system_start(ntp_host *h);

/* RFC 5905 App. A.5.5.1 clock_select, then clock_update for a new sample. */
void ntp_system_select(ntp_host *h);

/* A sample went through association p's filter with this verdict
 * (ntp_filter.h); spike is the popcorn size when it was one. */
void ntp_system_sampled(ntp_host *h, ntp_peer *p, int verdict, double spike);

/* Orphan mode (ntpd timer()): due once a tick. */
void ntp_system_orphan(ntp_host *h);

/* Does some association pass the fit tests now?  If none does, why not:
 * "no server suitable for synchronization: <first unfit>: <why>". */
bool ntp_system_any_fit(const ntp_host *h);
void ntp_system_no_candidates(const ntp_host *h, char *buf, size_t size);

#endif
