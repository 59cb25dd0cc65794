/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_server: answer mode 3/1 requests and rate-limit clients.
 *
 * Order of the checks follows ntpd 4.2.8 receive() (ntpd/ntp_proto.c):
 * ignore, noserve, version, NTPv1 mode 0 as client, notrust without MAC,
 * then ntp_monitor() (rate limit) and finally fast_xmit().  The reply
 * fields follow RFC 5905 App. A.5.3 fast_xmit() with ntpd's stratum
 * mapping and NTPsec's kiss-o'-death (see fast_xmit and kod_rate below).
 * The host verifies MACs and clears notrust for a request authenticated
 * by a trusted key.
 *
 * The rate limiter is classic ntpd's (4.2.8 ntp_monitor.c).  NTPsec 1.2.2,
 * as shipped in Debian 12, replaced it: `discard` is a syntax error there
 * and each source gets a score (NTPsec ntp_monitor.c: decays with a 20 s
 * time constant, +1/20 per request, limited at 1.0, no KoD above 1.5),
 * which predicts exactly what we measured against it: 40
 * requests 0.6 s apart gave 29 replies then a KoD for every request; 20
 * requests 0.4 s apart were all answered; ntpd 4.2.8 (and this module)
 * reply to 13 of the first (KoDs to the 14th, 23rd, 32nd) and to 1 of
 * the second (one KoD).
 *
 * The table that holds the buckets is NTPsec's (ntp_monitor.c): a hash
 * table for lookups plus an MRU list for recycling, sized by `mru`.  A
 * source that finds no slot goes untracked and is answered, as in ntpd: the
 * limit protects only sources the table remembers, so size it for the
 * clients seen within `mru minage` (docs/ntp-conf.md).
 */
#include "ntp_server.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ntp_const.h"
#include "ntp_restrict.h"

#define NTP_VERSION_OLDEST 1         /* ntpd NTP_OLDVERSION: oldest version served */
#define STRATUM_PKT_UNSPEC 0         /* stratum 16 goes out as 0 (ntpd STRATUM_TO_PKT) */
#define HEADWAY_GRACE      2         /* s, ntp_monitor.c: grace on the headway increment */
#define MINIMUM_GRACE      1         /* s, ntp_monitor.c: grace on the minimum spacing */
#define INTERVAL_MAX       (1 << 24) /* s, longer gaps drain any bucket (ours) */
#define KIB                1024      /* bytes */
#define SIP_C_ROUNDS       2         /* rounds per word, SipHash-2-4 (Aumasson, Bernstein 2012) */
#define SIP_D_ROUNDS       4         /* finalisation rounds, SipHash-2-4 */

enum mon_outcome {
	MON_PASS = 0,      /* within the limits (or the source is not limited) */
	MON_LIMITED_KOD,   /* over a limit; a KoD may be sent */
	MON_LIMITED_QUIET, /* over a limit; a KoD went out within the average headway */
	MON_UNTRACKED,     /* no slot for a new source (full, all younger than minage) */
};

/* The largest power of two <= n (n >= 1), as NTPsec picks its hash bits:
 * one to two entries per bucket. */
static size_t
bucket_count(size_t n)
{
	size_t b = 1;

	while (b <= n / 2) {
		b *= 2;
	}
	return b;
}

size_t
ntp_server_mru_entries(size_t kib)
{
	size_t n;

	if (kib > NTP_SERVER_MRU_MAX * NTP_SERVER_MRU_ENTRY_BYTES / KIB) {
		return NTP_SERVER_MRU_MAX;
	}
	n = kib * KIB / NTP_SERVER_MRU_ENTRY_BYTES;
	return n > 0 ? n : 1;
}

void
ntp_server_init(ntp_server *s, void *table, size_t entries, int average_log2, int minimum_log2)
{
	if (s == NULL) {
		return;
	}
	memset(s, 0, sizeof *s);
	if (table != NULL && entries > 0) {
		s->cap = entries < NTP_SERVER_MRU_MAX ? entries : NTP_SERVER_MRU_MAX;
		s->table = table;
		s->n_buckets = bucket_count(s->cap);
		s->bucket = (uint32_t *)(void *)(s->table + s->cap);
		/* Only the heads are cleared: an entry is written when a
		 * source first takes it, so the pages of a large table from
		 * calloc stay untouched until sources arrive. */
		memset(s->bucket, 0, s->n_buckets * sizeof *s->bucket);
	}
	ntp_server_set_mru(s, NTP_SERVER_MRU_MINDEPTH_DEF, NTP_SERVER_MRU_MAXAGE_DEF,
	                   NTP_SERVER_MRU_MINAGE_DEF);
	s->average_log2 = average_log2 < 0 ? NTP_SERVER_AVERAGE_DEF : average_log2;
	s->minimum_log2 = minimum_log2 < 0 ? NTP_SERVER_MINIMUM_DEF : minimum_log2;
	if (s->average_log2 > NTP_MAXPOLL) {
		s->average_log2 = NTP_MAXPOLL;
	}
	if (s->minimum_log2 > NTP_MAXPOLL) {
		s->minimum_log2 = NTP_MAXPOLL;
	}
}

void
ntp_server_set_mru(ntp_server *s, size_t mindepth, int maxage, int minage)
{
	if (s == NULL) {
		return;
	}
	s->mindepth = mindepth < s->cap ? mindepth : s->cap;
	s->maxage = maxage;
	s->minage = minage;
}

static uint64_t
load64_le(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--) {
		v = v << 8 | p[i];
	}
	return v;
}

void
ntp_server_set_hash_key(ntp_server *s, const uint8_t key[16])
{
	if (s != NULL && key != NULL) {
		s->hash_key[0] = load64_le(key);
		s->hash_key[1] = load64_le(key + 8);
	}
}

/* The text of the rate-limit or access decision (without its tail). */
static void
format_why(const ntp_serve_result *r, char *buf, size_t size)
{
	switch (r->why) {
	case NTP_SERVE_WHY_NO_ARGS:
		snprintf(buf, size,
		         "server called without state, system, request, source or reply");
		break;
	case NTP_SERVE_WHY_IGNORE:
		snprintf(buf, size, "restrict ignore");
		break;
	case NTP_SERVE_WHY_BAD_MODE:
		snprintf(buf, size,
		         "mode %u v%u is not a request the server answers (3, or 1 -> 2)", r->mode,
		         r->version);
		break;
	case NTP_SERVE_WHY_NOSERVE:
		snprintf(buf, size, "restrict noserve");
		break;
	case NTP_SERVE_WHY_BAD_VERSION:
		snprintf(buf, size, "version %u not served (1..4)", r->version);
		break;
	case NTP_SERVE_WHY_RES_VERSION:
		snprintf(buf, size, "restrict version: NTPv%u request, only v4 served", r->version);
		break;
	case NTP_SERVE_WHY_SHORT:
		snprintf(buf, size, "request of %zu bytes shorter than the %d-byte header", r->size,
		         NTP_PKT_HEADER_LEN);
		break;
	case NTP_SERVE_WHY_NOTRUST:
		snprintf(buf, size, "restrict notrust: request not authenticated by a trusted key");
		break;
	case NTP_SERVE_WHY_RATE_MINIMUM:
		snprintf(buf, size, "rate limit: %ld s since last request < discard minimum 2^%d s",
		         r->num[0], (int)r->num[1]);
		break;
	case NTP_SERVE_WHY_RATE_HEADWAY:
		snprintf(buf, size, "rate limit: headway %ld s + 2^%d s >= limit %ld s", r->num[0],
		         (int)r->num[1], r->num[2]);
		break;
	default:
		buf[0] = '\0';
		break;
	}
}

static const char *
tail_text(int tail)
{
	switch (tail) {
	case NTP_SERVE_TAIL_KOD_SENT:
		return "; KoD RATE sent";
	case NTP_SERVE_TAIL_DROPPED:
		return "; dropped";
	case NTP_SERVE_TAIL_DROPPED_KOD:
		return "; dropped (KoD rate-limited)";
	case NTP_SERVE_TAIL_CONTROL:
		return "; mode 6 request dropped";
	default:
		return "";
	}
}

const char *
ntp_serve_reason(ntp_serve_result *r)
{
	/* the same buffers and cuts as the text had when it was written at
	 * once: the untracked note in 128 bytes, then the whole in 128 */
	char untracked[sizeof r->reason] = "";
	size_t len;

	if (r->untracked) {
		snprintf(untracked, sizeof untracked,
		         "not rate limited: MRU table full (%zu entries), oldest %ld s < mru "
		         "minage %d s",
		         r->size, r->num[0], (int)r->num[1]);
	}
	if (r->why == NTP_SERVE_WHY_SERVED) {
		snprintf(r->reason, sizeof r->reason, "served: mode %u v%u reply, LI %u stratum %u",
		         r->mode, r->version, r->leap, r->stratum);
		if (untracked[0] != '\0') {
			/* appended, and cut at the buffer's end, as the one text was */
			len = strlen(r->reason);
			snprintf(r->reason + len, sizeof r->reason - len, "; %s", untracked);
		}
		return r->reason;
	}
	if (r->why == NTP_SERVE_WHY_NONE) {
		memcpy(r->reason, untracked, sizeof r->reason);
		return r->reason;
	}
	format_why(r, r->reason, sizeof r->reason);
	len = strlen(r->reason);
	snprintf(r->reason + len, sizeof r->reason - len, "%s", tail_text(r->tail));
	return r->reason;
}

/* A result with no decision yet: codes only, the text stays unwritten
 * (a clear of the 128-byte buffer would cost more than the answer). */
static void
clear_result(ntp_serve_result *r, int verdict)
{
	r->verdict = verdict;
	r->why = NTP_SERVE_WHY_NONE;
	r->tail = NTP_SERVE_TAIL_NONE;
	r->untracked = false;
	r->reason[0] = '\0';
}

/* Make the verdict DROP, counted in *counter.  Returns false, for
 * admit(). */
static bool
refuse(unsigned *counter, ntp_serve_result *r)
{
	(*counter)++;
	r->verdict = NTP_SERVE_DROP;
	return false;
}

/* Discard values live in [0, NTP_MAXPOLL] even if a caller wrote
 * the struct fields directly. */
static int
clamp_log2(int v)
{
	return v < 0 ? 0 : v > NTP_MAXPOLL ? NTP_MAXPOLL : v;
}

/* ---- the address hash: SipHash-2-4 (reference implementation's
 * algorithm, https://131002.net/siphash/) ---- */

#define ROTL64(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void
sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = ROTL64(v[1], 13) ^ v[0];
	v[0] = ROTL64(v[0], 32);
	v[2] += v[3];
	v[3] = ROTL64(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = ROTL64(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = ROTL64(v[1], 17) ^ v[2];
	v[2] = ROTL64(v[2], 32);
}

static void
sip_compress(uint64_t v[4], uint64_t m, int rounds)
{
	v[3] ^= m;
	for (int i = 0; i < rounds; i++) {
		sip_round(v);
	}
	v[0] ^= m;
}

static uint64_t
siphash(const uint64_t k[2], const uint8_t *in, size_t len)
{
	uint64_t v[4] = {k[0] ^ UINT64_C(0x736f6d6570736575), k[1] ^ UINT64_C(0x646f72616e646f6d),
	                 k[0] ^ UINT64_C(0x6c7967656e657261), k[1] ^ UINT64_C(0x7465646279746573)};
	uint8_t tail[8] = {0};
	size_t whole = len - len % 8;

	for (size_t i = 0; i < whole; i += 8) {
		sip_compress(v, load64_le(in + i), SIP_C_ROUNDS);
	}
	memcpy(tail, in + whole, len - whole);
	tail[7] = (uint8_t)len;
	sip_compress(v, load64_le(tail), SIP_C_ROUNDS);
	v[2] ^= 0xff;
	for (int i = 0; i < SIP_D_ROUNDS; i++) {
		sip_round(v);
	}
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* The bucket of addr: family and address bytes, never the port (one entry
 * per host, whatever port it sends from: ntpd). */
static size_t
bucket_of(const ntp_server *s, const ntp_addr *addr)
{
	uint8_t key[1 + sizeof addr->a];
	size_t n = addr->family == NTP_AF_INET ? 4 : sizeof addr->a;

	key[0] = addr->family;
	memcpy(key + 1, addr->a, n);
	return (size_t)siphash(s->hash_key, key, 1 + n) & (s->n_buckets - 1);
}

uint64_t
ntp_server_keyed_hash(const ntp_server *s, const uint8_t *in, size_t len)
{
	return siphash(s->hash_key, in, len);
}

/* ---- the MRU table (ntp_monitor.c) ---- */

static ntp_server_mru *
at(const ntp_server *s, uint32_t ref)
{
	return ref != 0 ? &s->table[ref - 1] : NULL;
}

static uint32_t
ref_of(const ntp_server *s, const ntp_server_mru *e)
{
	return (uint32_t)(e - s->table) + 1;
}

static ntp_server_mru *
mru_lookup(const ntp_server *s, const ntp_addr *addr, size_t b)
{
	ntp_server_mru *e;

	for (e = at(s, s->bucket[b]); e != NULL; e = at(s, e->hash_next)) {
		if (ntp_addr_same_host(&e->addr, addr)) {
			return e;
		}
	}
	return NULL;
}

const ntp_server_mru *
ntp_server_mru_find(const ntp_server *s, const ntp_addr *addr)
{
	if (s == NULL || addr == NULL || s->table == NULL || s->cap == 0) {
		return NULL;
	}
	return mru_lookup(s, addr, bucket_of(s, addr));
}

const ntp_server_mru *
ntp_server_mru_next(const ntp_server *s, const ntp_server_mru *e)
{
	if (s == NULL || s->table == NULL) {
		return NULL;
	}
	return at(s, e == NULL ? s->newest : e->older);
}

const ntp_server_mru *
ntp_server_mru_newer(const ntp_server *s, const ntp_server_mru *e)
{
	if (s == NULL || s->table == NULL) {
		return NULL;
	}
	return at(s, e == NULL ? s->oldest : e->newer);
}

static void
hash_unlink(ntp_server *s, ntp_server_mru *e)
{
	uint32_t *link = &s->bucket[bucket_of(s, &e->addr)];
	uint32_t ref = ref_of(s, e);

	while (*link != 0 && *link != ref) {
		link = &at(s, *link)->hash_next;
	}
	if (*link == ref) {
		*link = e->hash_next;
	}
}

static void
lru_unlink(ntp_server *s, ntp_server_mru *e)
{
	if (e->newer != 0) {
		at(s, e->newer)->older = e->older;
	} else {
		s->newest = e->older;
	}
	if (e->older != 0) {
		at(s, e->older)->newer = e->newer;
	} else {
		s->oldest = e->newer;
	}
	e->newer = e->older = 0;
}

static void
lru_push_front(ntp_server *s, ntp_server_mru *e)
{
	uint32_t ref = ref_of(s, e);

	e->newer = 0;
	e->older = s->newest;
	if (s->newest != 0) {
		at(s, s->newest)->newer = ref;
	} else {
		s->oldest = ref;
	}
	s->newest = ref;
}

/* Whole seconds from then to now rounded to nearest, as ntp_monitor()
 * rounds; 0 when now is earlier. */
static int32_t
age_s(ntp_time now, ntp_time then)
{
	uint64_t dt, sec;

	if (now < then) {
		return 0;
	}
	dt = (uint64_t)now - (uint64_t)then;
	sec = dt / (uint64_t)NTP_NS_PER_S;
	if (dt % (uint64_t)NTP_NS_PER_S >= (uint64_t)NTP_NS_PER_S / 2) {
		sec++;
	}
	return sec > INTERVAL_MAX ? INTERVAL_MAX : (int32_t)sec;
}

/* Take the oldest entry out of the table for reuse. */
static ntp_server_mru *
recycle_oldest(ntp_server *s, unsigned *counter)
{
	ntp_server_mru *e = at(s, s->oldest);

	hash_unlink(s, e);
	lru_unlink(s, e);
	(*counter)++;
	return e;
}

/* A slot for a source the table does not know, chosen as NTPsec's
 * ntp_monitor() chooses (ntp.conf(5) `mru`), or NULL: the table is full
 * and even its oldest entry is younger than minage. */
static ntp_server_mru *
mru_slot(ntp_server *s, ntp_time now, ntp_serve_result *r)
{
	int32_t oldest_age;

	if (s->n < s->mindepth || s->n == 0) {
		s->mru_new++;
		return &s->table[s->n++];
	}
	oldest_age = age_s(now, at(s, s->oldest)->last);
	if (oldest_age > s->maxage) {
		return recycle_oldest(s, &s->mru_recycle_old);
	}
	if (s->n < s->cap) {
		s->mru_new++;
		return &s->table[s->n++];
	}
	if (oldest_age < s->minage) {
		s->mru_none++;
		r->untracked = true;
		r->size = s->cap;
		r->num[0] = (long)oldest_age;
		r->num[1] = s->minage;
		return NULL;
	}
	return recycle_oldest(s, &s->mru_recycle_full);
}

/* The entry of a new source, at the head of the MRU list; NULL when it
 * goes untracked. */
static ntp_server_mru *
mru_insert(ntp_server *s, const ntp_addr *from, size_t b, ntp_time now, ntp_serve_result *r)
{
	ntp_server_mru *e = mru_slot(s, now, r);

	if (e == NULL) {
		return NULL;
	}
	memset(e, 0, sizeof *e);
	e->addr = *from;
	e->first = now;
	e->last = now;
	e->count = 1;
	e->hash_next = s->bucket[b];
	s->bucket[b] = ref_of(s, e);
	lru_push_front(s, e);
	return e;
}

/* Seconds between two requests rounded to nearest, as ntp_monitor()
 * computes it, on the monotonic clock (so no step of ours limits a
 * client); a time running backwards gives the minimum spacing. */
static int32_t
request_interval(ntp_time now, ntp_time last, int32_t guard)
{
	return now < last ? guard : age_s(now, last);
}

/* The leaky bucket of ntp_monitor(): `leak` drains one per second; each
 * accepted request adds the increment 2^average less a 2 s grace.  A
 * request is limited when it follows the previous one by less than
 * 2^minimum s (1 s grace) or would fill the bucket to NTP_SHIFT
 * increments.  On the first limited request the bucket is overfilled by
 * one increment, so further KoDs wait until it has drained below the
 * limit again: at most one KoD per average headway. */
static int
mon_update(ntp_server *s, const ntp_addr *from, uint8_t mode, uint8_t version, ntp_time now,
           ntp_serve_result *r)
{
	int32_t head = (int32_t)1 << clamp_log2(s->average_log2);
	int32_t guard = (int32_t)1 << clamp_log2(s->minimum_log2);
	int32_t limit = NTP_SHIFT * head;
	int32_t interval, bucket;
	size_t b = bucket_of(s, from);
	ntp_server_mru *e = mru_lookup(s, from, b);

	if (e == NULL) {
		e = mru_insert(s, from, b, now, r);
		if (e == NULL) {
			return MON_UNTRACKED;
		}
		e->mode = mode;
		e->version = version;
		return MON_PASS; /* ntpd: a new source starts with an empty bucket */
	}
	s->mru_exists++;
	lru_unlink(s, e);
	lru_push_front(s, e);
	interval = request_interval(now, e->last, guard);
	e->last = now;
	e->addr.port = from->port;
	e->mode = mode;
	e->version = version;
	e->count++;
	e->leak = e->leak > interval ? e->leak - interval : 0;
	bucket = e->leak + head;
	if (interval + MINIMUM_GRACE >= guard && bucket < limit) {
		e->leak = bucket - HEADWAY_GRACE;
		return MON_PASS;
	}
	e->limited++;
	if (interval + MINIMUM_GRACE < guard) {
		r->why = NTP_SERVE_WHY_RATE_MINIMUM;
		r->num[0] = (long)interval;
		r->num[1] = clamp_log2(s->minimum_log2);
	} else {
		r->why = NTP_SERVE_WHY_RATE_HEADWAY;
		r->num[0] = (long)e->leak;
		r->num[1] = clamp_log2(s->average_log2);
		r->num[2] = (long)limit;
	}
	if (e->leak < limit) {
		e->leak = limit + head;
		return MON_LIMITED_KOD;
	}
	return MON_LIMITED_QUIET;
}

/* ---- building the answer ---- */

/* RFC 5905 App. A.5.3 fast_xmit() with ntpd's choices: stratum 16 (and
 * the invalid 0) goes out as 0 (STRATUM_TO_PKT) with LI 3.  The poll field
 * echoes the request's, as the RFC and NTPsec 1.2.2 do (measured: request
 * poll -2, 0, 7 answered with -2, 0, 7); ntpd 4.2.8 sends max(request
 * poll, discard average) instead. */
static void
fast_xmit(const ntp_server_sys *sys, const ntp_pkt *req, uint8_t xmode, ntp_time t_recv,
          ntp_time t_xmt, ntp_pkt *x)
{
	bool unsync = sys->stratum == 0 || sys->stratum >= NTP_STRATUM_UNSPEC;

	memset(x, 0, sizeof *x);
	x->leap = unsync ? NTP_LEAP_NOTSYNC : (uint8_t)(sys->leap & 3);
	x->version = req->version;
	x->mode = xmode;
	x->stratum = unsync ? STRATUM_PKT_UNSPEC : sys->stratum;
	x->poll = req->poll;
	x->precision = sys->precision;
	x->rootdelay = sys->rootdelay;
	x->rootdisp = sys->rootdisp;
	x->refid = sys->refid;
	x->reftime = sys->smear != 0 ? ntp_ts_add(sys->reftime, ntp_dur_from_ns(sys->smear))
	                             : sys->reftime;
	x->org = req->xmt;
	x->rec = ntp_ts_from_unix_ns(ntp_time_add_sat(t_recv, sys->smear));
	x->xmt = ntp_ts_from_unix_ns(ntp_time_add_sat(t_xmt, sys->smear));
}

/* RFC 5905 §7.4 kiss-o'-death RATE as ntpd 4.2.8 and NTPsec fast_xmit()
 * build it (and NTPsec 1.2.2 sends it, measured): it reveals none of our
 * time, echoing the request's precision, root delay, root dispersion and
 * reference time and its transmit timestamp in org, rec and xmt.  The
 * poll field, max(request poll, discard average), tells the client how
 * far to back off. */
static void
kod_rate(const ntp_server *s, const ntp_pkt *req, uint8_t xmode, ntp_pkt *x)
{
	int avg = clamp_log2(s->average_log2);

	memset(x, 0, sizeof *x);
	x->leap = NTP_LEAP_NOTSYNC;
	x->version = req->version;
	x->mode = xmode;
	x->stratum = STRATUM_PKT_UNSPEC;
	x->poll = req->poll > avg ? req->poll : (int8_t)avg;
	x->precision = req->precision;
	x->rootdelay = req->rootdelay;
	x->rootdisp = req->rootdisp;
	x->refid = NTP_REFID("RATE");
	x->reftime = req->reftime;
	x->org = req->xmt;
	x->rec = req->xmt;
	x->xmt = req->xmt;
}

/* The mode of our answer, 0 if we do not answer this mode.  ntpd reads
 * an NTPv1 mode 0 packet as a client request; a mode 1 packet answered
 * here gets a symmetric passive reply (ntpd AM_NEWPASS with nopeer). */
static uint8_t
answer_mode(const ntp_pkt *req)
{
	if (req->mode == NTP_MODE_CLIENT ||
	    (req->mode == NTP_MODE_UNSPEC && req->version == NTP_VERSION_OLDEST)) {
		return NTP_MODE_SERVER;
	}
	return req->mode == NTP_MODE_ACTIVE ? NTP_MODE_PASSIVE : 0;
}

/* The access checks before rate limiting; false (with counter and
 * reason set) when the request is dropped. */
static bool
admit(ntp_server *s, const ntp_pkt *req, size_t req_len, uint32_t flags, ntp_serve_result *r)
{
	if (flags & NTP_RES_IGNORE) {
		r->why = NTP_SERVE_WHY_IGNORE;
		return refuse(&s->dropped_restrict, r);
	}
	if (answer_mode(req) == 0) {
		r->why = NTP_SERVE_WHY_BAD_MODE;
		r->mode = req->mode;
		r->version = req->version;
		return refuse(&s->dropped_bad, r);
	}
	if (flags & NTP_RES_NOSERVE) {
		r->why = NTP_SERVE_WHY_NOSERVE;
		return refuse(&s->dropped_restrict, r);
	}
	if (req->version < NTP_VERSION_OLDEST || req->version > NTP_VERSION_CUR) {
		r->why = NTP_SERVE_WHY_BAD_VERSION;
		r->version = req->version;
		return refuse(&s->dropped_bad, r);
	}
	if ((flags & NTP_RES_VERSION) && req->version != NTP_VERSION_CUR) {
		r->why = NTP_SERVE_WHY_RES_VERSION;
		r->version = req->version;
		return refuse(&s->dropped_restrict, r);
	}
	if (req_len < NTP_PKT_HEADER_LEN) {
		r->why = NTP_SERVE_WHY_SHORT;
		r->size = req_len;
		return refuse(&s->dropped_bad, r);
	}
	if (flags & NTP_RES_NOTRUST) {
		r->why = NTP_SERVE_WHY_NOTRUST;
		return refuse(&s->dropped_restrict, r);
	}
	return true;
}

int
ntp_server_answer(ntp_server *s, const ntp_server_sys *sys, const ntp_pkt *req, size_t req_len,
                  const ntp_addr *from, uint32_t res_flags, ntp_now t_recv, ntp_time t_xmt,
                  ntp_pkt *reply, ntp_serve_result *r)
{
	ntp_serve_result scratch;
	int mon = MON_PASS;
	uint8_t xmode;

	if (r == NULL) {
		r = &scratch;
	}
	clear_result(r, NTP_SERVE_DROP);
	if (s == NULL || sys == NULL || req == NULL || from == NULL || reply == NULL) {
		r->why = NTP_SERVE_WHY_NO_ARGS;
		if (s != NULL) {
			s->dropped_bad++;
		}
		return NTP_SERVE_DROP;
	}
	if (!admit(s, req, req_len, res_flags, r)) {
		return NTP_SERVE_DROP;
	}
	xmode = answer_mode(req);
	/* `kod` without `limited` does nothing: only limited sources are
	 * tracked (ntpd douses RES_KOD unless ntp_monitor() lit RES_LIMITED). */
	if ((res_flags & NTP_RES_LIMITED) && s->cap > 0 && s->table != NULL) {
		mon = mon_update(s, from, req->mode, req->version, t_recv.mono, r);
	}
	if (mon != MON_PASS && mon != MON_UNTRACKED) {
		if (mon == MON_LIMITED_KOD && (res_flags & NTP_RES_KOD)) {
			kod_rate(s, req, xmode, reply);
			r->tail = NTP_SERVE_TAIL_KOD_SENT;
			s->kod_sent++;
			r->verdict = NTP_SERVE_KOD;
			return NTP_SERVE_KOD;
		}
		r->tail = (res_flags & NTP_RES_KOD) ? NTP_SERVE_TAIL_DROPPED_KOD
		                                    : NTP_SERVE_TAIL_DROPPED;
		refuse(&s->dropped_rate, r);
		return NTP_SERVE_DROP;
	}
	fast_xmit(sys, req, xmode, t_recv.local, t_xmt, reply);
	r->why = NTP_SERVE_WHY_SERVED;
	r->mode = reply->mode;
	r->version = reply->version;
	r->leap = reply->leap;
	r->stratum = reply->stratum;
	s->served++;
	r->verdict = NTP_SERVE_REPLY;
	return NTP_SERVE_REPLY;
}

int
ntp_server_limit_control(ntp_server *s, const ntp_addr *from, uint8_t version, ntp_now t_recv,
                         ntp_serve_result *r)
{
	ntp_serve_result scratch;
	int mon = MON_PASS;

	if (r == NULL) {
		r = &scratch;
	}
	clear_result(r, NTP_SERVE_REPLY);
	if (s == NULL || from == NULL) {
		return NTP_SERVE_REPLY; /* nothing to account in */
	}
	if (s->cap > 0 && s->table != NULL) {
		mon = mon_update(s, from, NTP_MODE_CONTROL, version, t_recv.mono, r);
	}
	if (mon == MON_PASS || mon == MON_UNTRACKED) {
		return NTP_SERVE_REPLY;
	}
	r->tail = NTP_SERVE_TAIL_CONTROL;
	return refuse(&s->dropped_rate, r) ? NTP_SERVE_REPLY : NTP_SERVE_DROP;
}
