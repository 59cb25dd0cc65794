/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_ntpd: ntpd's disciplines behind the seam (ntp_discipline.h) -- the
 * clock filter, selection and local_clock() as NTPsec 1.2.2 runs them.
 *
 *   "ntpd-kernel"  ntpd on Linux: the kernel PLL takes the updates once
 *                  the startup clamp is over (the default); with a step
 *                  threshold of 0 or over 0.5 s it runs the daemon loop,
 *                  as ntpd does;
 *   "ntpd-daemon"  ntpd's own loop, adjtime() every second (`disable
 *                  kernel`).
 */
#ifndef NTP_NTPD_H
#define NTP_NTPD_H

#include "ntp_discipline.h"

#define NTP_NTPD_KERNEL "ntpd-kernel"
#define NTP_NTPD_DAEMON "ntpd-daemon"

extern const ntp_discipline ntp_ntpd_kernel;
extern const ntp_discipline ntp_ntpd_daemon;

#endif
