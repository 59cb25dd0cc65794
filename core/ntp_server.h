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
 * lives in caller-owned storage (the host's one allocation) sized once.  It
 * is NTPsec's monitor list (ntpd/ntp_monitor.c): a hash table keyed by
 * source address for O(1) lookups, and a most-recently-used list through
 * the same entries for ntpd's recycling rules (`mru` mindepth, maxage,
 * minage).  Entries are array slots linked by index, so nothing allocates
 * after ntp_server_init and the bucket chains never hold pointers.  The
 * hash is SipHash-2-4 under a caller key: an attacker who picks source
 * addresses cannot pile them into one bucket; no output depends on the
 * order of buckets (the MRU list is ordered by arrival only).
 */
#ifndef NTP_SERVER_H
#define NTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp_addr.h"
#include "ntp_const.h"
#include "ntp_pkt.h"
#include "ntp_time.h"

#define NTP_SERVER_AVERAGE_DEF 3 /* log2 s, `discard average` default (ntp_acc(5): 8 s) */
#define NTP_SERVER_MINIMUM_DEF 1 /* log2 s, `discard minimum` default (ntp_acc(5): 2 s) */

/* The `mru` knobs (ntp.conf(5) "mru"; defaults from NTPsec ntp_monitor.c
 * mon_data and MRU_MAXDEPTH_DEF). */
#define NTP_SERVER_MRU_MINDEPTH_DEF 600  /* entries never recycled below this, NTPsec */
#define NTP_SERVER_MRU_MAXAGE_DEF   3600 /* s, older entries are recycled first, NTPsec */
#define NTP_SERVER_MRU_MINAGE_DEF   64   /* s, a full table recycles only older, NTPsec */
#define NTP_SERVER_MRU_MAXMEM_DEF   1024 /* KiB, NTPsec MRU_MAXDEPTH_DEF: 1 MiB of entries */
/* entries; hard bound on any table (ours: NTPsec caps its hash at 24
 * bits; 2^24 entries are 1.1 GiB) */
#define NTP_SERVER_MRU_MAX (UINT32_C(1) << 24)

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
	ntp_time smear; /* ns added to the time served (leap smear, ntp_leapsys.h); 0 none */
} ntp_server_sys;

/* One source in the rate-limit table (ntpd's mon_entry). */
typedef struct ntp_server_mru {
	ntp_addr addr;      /* source; port of its latest request */
	uint32_t hash_next; /* private: next entry in its bucket, index + 1 (0: none) */
	uint32_t newer;     /* private: MRU list neighbours, index + 1 (0: none) */
	uint32_t older;
	ntp_time first;   /* mono time of its first request */
	ntp_time last;    /* mono time of its latest request */
	int32_t leak;     /* s, headway counter of the leaky bucket */
	uint32_t count;   /* requests seen */
	uint32_t limited; /* of which were rate limited */
	uint8_t mode;     /* mode of the latest request */
	uint8_t version;  /* version of the latest request */
} ntp_server_mru;

/* Bytes of storage one entry takes: the entry and at most one hash bucket
 * (a table of n entries has the largest power of two <= n buckets). */
#define NTP_SERVER_MRU_ENTRY_BYTES (sizeof(ntp_server_mru) + sizeof(uint32_t))

/* Bytes of storage ntp_server_init needs for a table of n entries. */
#define NTP_SERVER_TABLE_BYTES(n) ((size_t)(n)*NTP_SERVER_MRU_ENTRY_BYTES)

typedef struct ntp_server {
	ntp_server_mru *table; /* caller-provided storage: cap entries ... */
	uint32_t *bucket;      /* ... then n_buckets chain heads, index + 1 (0: empty) */
	size_t cap;            /* entries table can hold */
	size_t n;              /* entries in use (slots 0..n-1) */
	size_t n_buckets;      /* a power of two */
	uint32_t newest;       /* MRU list head, index + 1 (0: empty) */
	uint32_t oldest;       /* MRU list tail, index + 1 */
	uint64_t hash_key[2];  /* SipHash key; zero unless the caller sets one */
	size_t mindepth;       /* entries, `mru mindepth` (at most cap) */
	int maxage;            /* s, `mru maxage` */
	int minage;            /* s, `mru minage` */
	int average_log2;      /* `discard average`, log2 s */
	int minimum_log2;      /* `discard minimum`, log2 s */
	unsigned served, kod_sent, dropped_restrict, dropped_rate, dropped_bad; /* verdicts */
	/* How new sources got an entry (NTPsec's mru_* counters, ntpq monstats). */
	unsigned mru_exists;       /* requests from a source already in the table */
	unsigned mru_new;          /* an unused slot */
	unsigned mru_recycle_old;  /* the oldest entry, older than maxage */
	unsigned mru_recycle_full; /* the oldest entry of a full table, older than minage */
	unsigned mru_none;         /* none: full and the oldest younger than minage; the
	                              source went untracked, so not rate limited (ntpd) */
} ntp_server;

/* Entries that fit in kib KiB of storage (`mru maxmem`): at least 1, at
 * most NTP_SERVER_MRU_MAX. */
size_t ntp_server_mru_entries(size_t kib);

/* Set up s over table, which holds NTP_SERVER_TABLE_BYTES(entries) bytes
 * aligned for ntp_server_mru (may be NULL/0: then `limited` cannot be
 * enforced and is ignored, as ntpd does with its monitor off).  The `mru`
 * knobs take NTPsec's defaults and the hash key is zero.  Negative log2
 * values select the defaults; values above NTP_MAXPOLL are
 * clamped to it. */
void ntp_server_init(ntp_server *s, void *table, size_t entries, int average_log2,
                     int minimum_log2);

/* ntpd's recycling rules for new sources (ntp.conf `mru`): below mindepth
 * entries a new source always gets a fresh slot (mindepth is clamped to
 * the table's size); above it the oldest entry is recycled when older than
 * maxage s, else a fresh slot is used while there is one, else the oldest
 * is recycled when older than minage s, else the source goes untracked. */
void ntp_server_set_mru(ntp_server *s, size_t mindepth, int maxage, int minage);

/* Key the address hash (16 bytes): a host facing the network draws it
 * from its entropy (ntp_nonce_subkey), a test may leave it zero. */
void ntp_server_set_hash_key(ntp_server *s, const uint8_t key[16]);

enum ntp_serve_verdict { NTP_SERVE_REPLY = 0, NTP_SERVE_KOD = 1, NTP_SERVE_DROP = 2 };

/* What decided a request, kept as a code and its numbers: a reply is
 * served for every request, its text is wanted only by an event, a log or
 * a test, so ntp_serve_reason() formats it when asked (issue 17 §1). */
enum ntp_serve_why {
	NTP_SERVE_WHY_NONE = 0,
	NTP_SERVE_WHY_SERVED,       /* "served: mode %u v%u reply, LI %u stratum %u" */
	NTP_SERVE_WHY_NO_ARGS,      /* called without state, system, request, ... */
	NTP_SERVE_WHY_IGNORE,       /* "restrict ignore" */
	NTP_SERVE_WHY_BAD_MODE,     /* mode, version: not a request the server answers */
	NTP_SERVE_WHY_NOSERVE,      /* "restrict noserve" */
	NTP_SERVE_WHY_BAD_VERSION,  /* version not served (1..4) */
	NTP_SERVE_WHY_RES_VERSION,  /* version: `restrict version` */
	NTP_SERVE_WHY_SHORT,        /* size: request shorter than the header */
	NTP_SERVE_WHY_NOTRUST,      /* `restrict notrust` */
	NTP_SERVE_WHY_RATE_MINIMUM, /* num[0] s since the last, num[1] discard minimum log2 */
	NTP_SERVE_WHY_RATE_HEADWAY  /* num[0] headway s, num[1] average log2, num[2] limit s */
};

/* What follows the rate-limit text of a request limited. */
enum ntp_serve_tail {
	NTP_SERVE_TAIL_NONE = 0,
	NTP_SERVE_TAIL_KOD_SENT,    /* "; KoD RATE sent" */
	NTP_SERVE_TAIL_DROPPED,     /* "; dropped" */
	NTP_SERVE_TAIL_DROPPED_KOD, /* "; dropped (KoD rate-limited)" */
	NTP_SERVE_TAIL_CONTROL      /* "; mode 6 request dropped" */
};

typedef struct ntp_serve_result {
	int verdict;      /* enum ntp_serve_verdict */
	uint8_t why;      /* enum ntp_serve_why */
	uint8_t tail;     /* enum ntp_serve_tail */
	bool untracked;   /* not rate limited: the MRU table was full (size entries,
	                     the oldest num[0] s old < minage num[1] s) */
	uint8_t mode;     /* BAD_MODE: the request's; SERVED: the reply's */
	uint8_t version;  /* likewise */
	uint8_t leap;     /* SERVED: the reply's LI */
	uint8_t stratum;  /* SERVED: the reply's stratum */
	size_t size;      /* SHORT: request bytes; untracked: table entries */
	long num[3];      /* the numbers of the rate limit (see the codes) */
	char reason[128]; /* the text, written by ntp_serve_reason() only */
} ntp_serve_result;

/* r's reason in words ("restrict ignore", "rate limit: 1 s since last
 * ..."), formatted into r->reason from the codes; returns r->reason. */
const char *ntp_serve_reason(ntp_serve_result *r);

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

/* Account one mode 6 (control) request from `from` in the same table and
 * leaky bucket as time requests (NTPsec ntp_monitor() sees every mode):
 * NTP_SERVE_REPLY when it may be answered, NTP_SERVE_DROP (counted in
 * dropped_rate, reason set) when it is over `discard`.  There is no KoD
 * for mode 6: a limited request is dropped. */
int ntp_server_limit_control(ntp_server *s, const ntp_addr *from, uint8_t version, ntp_now t_recv,
                             ntp_serve_result *r);

/* The table entry for addr (any port), NULL if it has none.  O(1). */
const ntp_server_mru *ntp_server_mru_find(const ntp_server *s, const ntp_addr *addr);

/* The entry after e in most-recently-used order (e NULL: the newest);
 * NULL after the oldest. */
const ntp_server_mru *ntp_server_mru_next(const ntp_server *s, const ntp_server_mru *e);

/* The other way: the entry newer than e (e NULL: the oldest); NULL after
 * the newest (ntpq mrulist reads oldest first). */
const ntp_server_mru *ntp_server_mru_newer(const ntp_server *s, const ntp_server_mru *e);

/* SipHash-2-4 of len bytes under the table's secret hash key: a keyed MAC
 * for values the host hands out and must recognise later (mode 6 nonces). */
uint64_t ntp_server_keyed_hash(const ntp_server *s, const uint8_t *in, size_t len);

#endif
