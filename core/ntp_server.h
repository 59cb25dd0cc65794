/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_server: answering clients without an association (RFC 5905 §9.2
 * and App. A.5.3 fast_xmit; ntpd's receive() for mode 3 and mode 1
 * requests) and ntpd's `restrict limited` / `kod` rate limiting
 * (ntp_monitor.c: a per-source "leaky bucket" in a bounded MRU table).
 *
 * The host decodes a datagram, looks up its restrict flags, decides that
 * it wants a server-style answer (mode 3, or mode 1 when no association
 * may be mobilised) and calls ntp_server_answer().  That returns one
 * verdict per request -- REPLY, KOD or DROP -- with a readable reason,
 * fills the packet to encode for REPLY/KOD, and counts the verdict.
 *
 * Sans-I/O and deterministic: times are passed in; the rate-limit table
 * is caller-owned storage kept in most-recently-used order (index 0 is
 * the latest source), searched linearly, the tail recycled when full.
 */
#ifndef NTP_SERVER_H
#define NTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "ntp_addr.h"
#include "ntp_pkt.h"
#include "ntp_time.h"

#define NTP_SERVER_AVERAGE_DEF 3  /* log2 s, `discard average` default (ntp_acc(5): 8 s) */
#define NTP_SERVER_MINIMUM_DEF 1  /* log2 s, `discard minimum` default (ntp_acc(5): 2 s) */
#define NTP_SERVER_LOG2_MAX    17 /* log2 s, discard values are clamped here (NTP_MAXPOLL) */

/* What the host advertises to its clients. */
typedef struct ntp_server_sys {
	uint8_t leap;        /* enum ntp_leap */
	uint8_t stratum;     /* as the host sees it: 16 (or 0) = unsynchronised */
	int8_t precision;    /* log2 s */
	int8_t poll;         /* log2 s */
	ntp_short rootdelay; /* 16.16 s */
	ntp_short rootdisp;  /* 16.16 s */
	uint32_t refid;      /* "INIT"/"STEP" when unsynchronised */
	ntp_ts64 reftime;
} ntp_server_sys;

/* One source in the rate-limit table (ntpd's mon_entry). */
typedef struct ntp_server_mru {
	ntp_addr addr;    /* source; port of its latest request */
	ntp_time first;   /* mono time of its first request */
	ntp_time last;    /* mono time of its latest request */
	int32_t leak;     /* s, headway counter of the leaky bucket */
	uint32_t count;   /* requests seen */
	uint32_t limited; /* of which were rate limited */
	uint8_t mode;     /* mode of the latest request */
	uint8_t version;  /* version of the latest request */
} ntp_server_mru;

typedef struct ntp_server {
	ntp_server_mru *table; /* caller-provided storage, most recent first */
	size_t cap;            /* entries table can hold */
	size_t n;              /* entries in use */
	int average_log2;      /* `discard average`, log2 s */
	int minimum_log2;      /* `discard minimum`, log2 s */
	unsigned served, kod_sent, dropped_restrict, dropped_rate, dropped_bad; /* verdicts */
} ntp_server;

/* Set up s over table[cap] (may be NULL/0: then `limited` cannot be
 * enforced and is ignored, as ntpd does with its monitor off).  Negative
 * log2 values select the defaults; values above NTP_SERVER_LOG2_MAX are
 * clamped to it. */
void ntp_server_init(ntp_server *s, ntp_server_mru *table, size_t cap, int average_log2,
                     int minimum_log2);

enum ntp_serve_verdict { NTP_SERVE_REPLY = 0, NTP_SERVE_KOD = 1, NTP_SERVE_DROP = 2 };

typedef struct ntp_serve_result {
	int verdict;      /* enum ntp_serve_verdict */
	char reason[128]; /* "restrict ignore", "rate limit: 1 s since last ..." */
} ntp_serve_result;

/* Answer one request.
 *   req       decoded request: mode 3, mode 1 (answered in mode 2 as a
 *             passive reply), or an NTPv1 mode 0 packet (ntpd reads it as
 *             a client request); other modes are dropped
 *   req_len   its datagram length (bytes)
 *   from      its source address (rate limiting is per address, any port)
 *   res_flags ntp_restrict_lookup() flags for from
 *   t_recv    when the request arrived: local (its receive timestamp) and
 *             mono (rate limiting measures request spacing on it)
 *   t_xmt     local time to put in the transmit timestamp
 * Fills *reply (no extension fields, no MAC: never longer than the
 * request) unless the verdict is DROP; fills *r; bumps exactly one
 * counter.  Returns the verdict. */
int ntp_server_answer(ntp_server *s, const ntp_server_sys *sys, const ntp_pkt *req, size_t req_len,
                      const ntp_addr *from, uint32_t res_flags, ntp_now t_recv, ntp_time t_xmt,
                      ntp_pkt *reply, ntp_serve_result *r);

/* The table entry for addr (any port), NULL if it has none. */
const ntp_server_mru *ntp_server_mru_find(const ntp_server *s, const ntp_addr *addr);

#endif
