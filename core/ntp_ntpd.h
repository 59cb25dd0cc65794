/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_ntpd: ntpd's disciplines behind the seam (ntp_discipline.h) -- the
 * clock filter, selection and local_clock() as NTPsec 1.2.2 runs them.
 *
 *   "ntpd-daemon"  ntpd's own loop, adjtime() every second (`disable
 *                  kernel`, or a step threshold over 0.5 s).
 */
#ifndef NTP_NTPD_H
#define NTP_NTPD_H

#include "ntp_discipline.h"

#define NTP_NTPD_DAEMON "ntpd-daemon"

extern const ntp_discipline ntp_ntpd_daemon;

#endif
