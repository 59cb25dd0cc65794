/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_regress: "regress", a modern discipline behind the seam
 * (ntp_discipline.h) -- per-source weighted regression over an adaptive
 * window, a majority start-up gate, and a clock steered open-loop from the
 * estimate.  ntp_regress.c says where each idea comes from.
 */
#ifndef NTP_REGRESS_H
#define NTP_REGRESS_H

#include "ntp_discipline.h"

#define NTP_REGRESS "regress"

extern const ntp_discipline ntp_regress;

#endif
