/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_fault: deliberate server misbehaviour for tests (DESIGN.md "fault").
 *
 * The host applies a fault set to every reply its server part sends
 * (ntp_host_set_fault), after the reply is built and before it is
 * encoded, so a scenario can turn a good server into one that claims the
 * wrong leap bits, stratum 16, kisses every client, lies about the time,
 * advertises a stale reference time or a huge root dispersion, echoes a
 * wrong origin, or stays silent.  Pure data in, packet out.
 */
#ifndef NTP_FAULT_H
#define NTP_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include "ntp_pkt.h"

enum ntp_fault_kind {
	NTP_FAULT_NONE = 0,
	NTP_FAULT_WRONG_LEAP = 1u << 0,    /* LI = leap */
	NTP_FAULT_STRATUM16 = 1u << 1,     /* stratum 16, LI unchanged */
	NTP_FAULT_KOD = 1u << 2,           /* a KoD (kod, default RATE) instead */
	NTP_FAULT_FALSETICKER = 1u << 3,   /* clock off by offset s */
	NTP_FAULT_STALE_REFTIME = 1u << 4, /* reference time stale s older */
	NTP_FAULT_HUGE_ROOTDISP = 1u << 5, /* root dispersion = rootdisp s */
	NTP_FAULT_BAD_ORIGIN = 1u << 6,    /* origin timestamp not the request's */
	NTP_FAULT_SILENT = 1u << 7,        /* send nothing */
};

#define NTP_FAULT_ROOTDISP_DEF 16.0    /* s, huge-rootdisp default: MAXDISPERSE, fails TEST7 */
#define NTP_FAULT_STALE_DEF    86400.0 /* s, stale-reftime default: one day */

typedef struct ntp_fault {
	uint32_t kinds;  /* enum ntp_fault_kind bits */
	uint8_t leap;    /* wrong-leap: the LI to send (0..3) */
	double offset;   /* s, falseticker: added to receive/transmit/reference time */
	double rootdisp; /* s, huge-rootdisp value; <= 0 means NTP_FAULT_ROOTDISP_DEF */
	double stale;    /* s, stale-reftime age; <= 0 means NTP_FAULT_STALE_DEF */
	char kod[5];     /* kiss code, "" means "RATE" */
} ntp_fault;

/* Apply f to a reply built by the server (may be NULL: no fault).
 * Returns false when nothing must be sent (silent).  A falseticker fault
 * moves the transmit timestamp, so the caller must not patch it later. */
bool ntp_fault_apply(const ntp_fault *f, ntp_pkt *reply);

/* "wrong-leap", "stratum16", "kod", "falseticker", "stale-reftime",
 * "huge-rootdisp", "bad-origin", "silent" -> the bit; 0 if unknown. */
int ntp_fault_from_name(const char *name);

/* The name of one bit, "" if not a single known bit. */
const char *ntp_fault_name(uint32_t kind);

/* "falseticker +0.500 s, kod RATE" etc. into buf; "none" when no kinds.
 * Returns buf. */
char *ntp_fault_format(const ntp_fault *f, char *buf, unsigned long size);

#endif
