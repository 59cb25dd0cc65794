/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_system: the host's system process (RFC 5905 §11, App. A.5.5): the
 * fit tests, the orphan rules and the system variables around the
 * discipline (ntp_discipline.h), whose decisions become STEP, ADJUST and
 * EXIT actions; and the host's access to the discipline's state.  The host calls it when an
 * association has a new sample, loses its reach, or is stopped, and once a tick for orphan mode.
 */
#ifndef NTP_SYSTEM_H
#define NTP_SYSTEM_H

#include <stdbool.h>
#include <stddef.h>

#include "ntp_hostcore.h"

/* The tos settings, then the discipline (h->algo, its state already
 * carved from the host's block), at ntp_host_new, after the associations
 * are set up.  The discipline's init may refuse its parameters: -1 and
 * err. */
void ntp_system_setup_tos(ntp_host *h, const ntp_conf *c, ntp_time mono);
int ntp_system_setup_discipline(ntp_host *h, const ntp_conf *c, const ntp_host_params *p, char *err,
                                size_t errsize);

/* The discipline's estimate of association p; the fit tests of p with it
 * (0 = fit); the poll it wants for p (NULL: the system poll); p starts
 * over (a new association, a KoD). */
void ntp_system_estimate(const ntp_host *h, const ntp_peer *p, ntp_estimate *e);
uint16_t ntp_system_unfit(const ntp_host *h, const ntp_peer *p, ntp_time mono,
                          ntp_estimate *e); /* e: the estimate used, if not NULL */
int8_t ntp_system_poll(const ntp_host *h, const ntp_peer *p);
void ntp_system_src_reset(ntp_host *h, ntp_peer *p);

/* The host's first call: start-up events and the drift file's frequency. */
void ntp_system_start(ntp_host *h);

/* RFC 5905 App. A.5.5.1 clock_select, then clock_update for a new sample. */
void ntp_system_select(ntp_host *h);

/* Association p has a sample: the discipline takes it, and a new estimate
 * leads to a system update (unless p is in a burst). */
void ntp_system_sampled(ntp_host *h, ntp_peer *p, const ntp_sample *smp);

/* Orphan mode (ntpd timer()): due once a tick. */
void ntp_system_orphan(ntp_host *h);

/* Does some association pass the fit tests now?  If none does, why not:
 * "no server suitable for synchronization: <first unfit>: <why>". */
bool ntp_system_any_fit(const ntp_host *h);
void ntp_system_no_candidates(const ntp_host *h, char *buf, size_t size);

#endif
