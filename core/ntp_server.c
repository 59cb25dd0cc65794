/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_server: answer mode 3/1 requests and rate-limit clients.
 *
 * Order of the checks follows ntpd 4.2.8 receive() (ntpd/ntp_proto.c):
 * ignore, noserve, version, NTPv1 mode 0 as client, notrust without MAC,
 * then ntp_monitor() (rate limit) and finally fast_xmit().  The reply
 * fields follow RFC 5905 App. A.5.3 fast_xmit() with ntpd's stratum
 * mapping and NTPsec's kiss-o'-death (see fast_xmit and kod_rate below).
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
 */
#include "ntp_server.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ntp_restrict.h"

#define NTP_VERSION_CUR    4         /* RFC 5905 §7.3 VERSION */
#define NTP_VERSION_OLDEST 1         /* ntpd NTP_OLDVERSION: oldest version served */
#define STRATUM_UNSPEC     16        /* RFC 5905 MAXSTRAT: unsynchronised */
#define STRATUM_PKT_UNSPEC 0         /* stratum 16 goes out as 0 (ntpd STRATUM_TO_PKT) */
#define NTP_SHIFT          8         /* ntpd: average limit is NTP_SHIFT increments */
#define HEADWAY_GRACE      2         /* s, ntp_monitor.c: grace on the headway increment */
#define MINIMUM_GRACE      1         /* s, ntp_monitor.c: grace on the minimum spacing */
#define INTERVAL_MAX       (1 << 24) /* s, longer gaps drain any bucket (ours) */

enum mon_outcome {
	MON_PASS = 0,      /* within the limits (or not tracked) */
	MON_LIMITED_KOD,   /* over a limit; a KoD may be sent */
	MON_LIMITED_QUIET, /* over a limit; a KoD went out within the average headway */
};

void
ntp_server_init(ntp_server *s, ntp_server_mru *table, size_t cap, int average_log2,
                int minimum_log2)
{
	if (s == NULL) {
		return;
	}
	memset(s, 0, sizeof *s);
	s->table = table;
	s->cap = table != NULL ? cap : 0;
	s->average_log2 = average_log2 < 0 ? NTP_SERVER_AVERAGE_DEF : average_log2;
	s->minimum_log2 = minimum_log2 < 0 ? NTP_SERVER_MINIMUM_DEF : minimum_log2;
	if (s->average_log2 > NTP_SERVER_LOG2_MAX) {
		s->average_log2 = NTP_SERVER_LOG2_MAX;
	}
	if (s->minimum_log2 > NTP_SERVER_LOG2_MAX) {
		s->minimum_log2 = NTP_SERVER_LOG2_MAX;
	}
}

static void set_reason(ntp_serve_result *r, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void
set_reason(ntp_serve_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof r->reason, fmt, ap);
	va_end(ap);
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

/* Discard values live in [0, NTP_SERVER_LOG2_MAX] even if a caller wrote
 * the struct fields directly. */
static int
clamp_log2(int v)
{
	return v < 0 ? 0 : v > NTP_SERVER_LOG2_MAX ? NTP_SERVER_LOG2_MAX : v;
}

/* ---- the MRU table (ntp_monitor.c) ---- */

static size_t
mru_index(const ntp_server *s, const ntp_addr *addr)
{
	for (size_t i = 0; i < s->n; i++) {
		if (ntp_addr_same_host(&s->table[i].addr, addr)) {
			return i;
		}
	}
	return s->n;
}

const ntp_server_mru *
ntp_server_mru_find(const ntp_server *s, const ntp_addr *addr)
{
	size_t i;

	if (s == NULL || addr == NULL || s->table == NULL) {
		return NULL;
	}
	i = mru_index(s, addr);
	return i < s->n ? &s->table[i] : NULL;
}

/* Move table[i] to the front, shifting the more recent ones down. */
static void
mru_move_to_front(ntp_server *s, size_t i)
{
	ntp_server_mru e = s->table[i];

	memmove(&s->table[1], &s->table[0], i * sizeof s->table[0]);
	s->table[0] = e;
}

/* A fresh front entry for a new source; when the table is full the least
 * recently used one (the tail) is recycled, as ntpd recycles its MRU
 * list's tail. */
static ntp_server_mru *
mru_insert(ntp_server *s, const ntp_addr *from, ntp_time now)
{
	size_t slot = s->n < s->cap ? s->n++ : s->cap - 1;
	ntp_server_mru *e;

	mru_move_to_front(s, slot);
	e = &s->table[0];
	memset(e, 0, sizeof *e);
	e->addr = *from;
	e->first = now;
	e->last = now;
	e->count = 1;
	return e;
}

/* Seconds between two requests rounded to nearest, as ntp_monitor()
 * computes it, on the monotonic clock (so no step of ours limits a
 * client); a time running backwards gives the minimum spacing. */
static int32_t
request_interval(ntp_time now, ntp_time last, int32_t guard)
{
	uint64_t dt, sec;

	if (now < last) {
		return guard;
	}
	dt = (uint64_t)now - (uint64_t)last;
	sec = dt / (uint64_t)NTP_NS_PER_S;
	if (dt % (uint64_t)NTP_NS_PER_S >= (uint64_t)NTP_NS_PER_S / 2) {
		sec++;
	}
	return sec > INTERVAL_MAX ? INTERVAL_MAX : (int32_t)sec;
}

/* The leaky bucket of ntp_monitor(): `leak` drains one per second; each
 * accepted request adds the increment 2^average less a 2 s grace.  A
 * request is limited when it follows the previous one by less than
 * 2^minimum s (1 s grace) or would fill the bucket to NTP_SHIFT
 * increments.  On the first limited request the bucket is overfilled by
 * one increment, so further KoDs wait until it has drained below the
 * limit again: at most one KoD per average headway. */
static int
mon_update(ntp_server *s, const ntp_addr *from, const ntp_pkt *req, ntp_time now,
           ntp_serve_result *r)
{
	int32_t head = (int32_t)1 << clamp_log2(s->average_log2);
	int32_t guard = (int32_t)1 << clamp_log2(s->minimum_log2);
	int32_t limit = NTP_SHIFT * head;
	int32_t interval, bucket;
	size_t i = mru_index(s, from);
	ntp_server_mru *e;

	if (i == s->n) {
		e = mru_insert(s, from, now);
		e->mode = req->mode;
		e->version = req->version;
		return MON_PASS; /* ntpd: a new source starts with an empty bucket */
	}
	mru_move_to_front(s, i);
	e = &s->table[0];
	interval = request_interval(now, e->last, guard);
	e->last = now;
	e->addr.port = from->port;
	e->mode = req->mode;
	e->version = req->version;
	e->count++;
	e->leak = e->leak > interval ? e->leak - interval : 0;
	bucket = e->leak + head;
	if (interval + MINIMUM_GRACE >= guard && bucket < limit) {
		e->leak = bucket - HEADWAY_GRACE;
		return MON_PASS;
	}
	e->limited++;
	if (interval + MINIMUM_GRACE < guard) {
		set_reason(r, "rate limit: %ld s since last request < discard minimum 2^%d s",
		           (long)interval, clamp_log2(s->minimum_log2));
	} else {
		set_reason(r, "rate limit: headway %ld s + 2^%d s >= limit %ld s", (long)e->leak,
		           clamp_log2(s->average_log2), (long)limit);
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
	bool unsync = sys->stratum == 0 || sys->stratum >= STRATUM_UNSPEC;

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
	x->reftime = sys->reftime;
	x->org = req->xmt;
	x->rec = ntp_ts_from_unix_ns(t_recv);
	x->xmt = ntp_ts_from_unix_ns(t_xmt);
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
		set_reason(r, "restrict ignore");
		return refuse(&s->dropped_restrict, r);
	}
	if (answer_mode(req) == 0) {
		set_reason(r, "mode %u v%u is not a request the server answers (3, or 1 -> 2)",
		           req->mode, req->version);
		return refuse(&s->dropped_bad, r);
	}
	if (flags & NTP_RES_NOSERVE) {
		set_reason(r, "restrict noserve");
		return refuse(&s->dropped_restrict, r);
	}
	if (req->version < NTP_VERSION_OLDEST || req->version > NTP_VERSION_CUR) {
		set_reason(r, "version %u not served (1..4)", req->version);
		return refuse(&s->dropped_bad, r);
	}
	if ((flags & NTP_RES_VERSION) && req->version != NTP_VERSION_CUR) {
		set_reason(r, "restrict version: NTPv%u request, only v4 served", req->version);
		return refuse(&s->dropped_restrict, r);
	}
	if (req_len < NTP_PKT_HEADER_LEN) {
		set_reason(r, "request of %zu bytes shorter than the %d-byte header", req_len,
		           NTP_PKT_HEADER_LEN);
		return refuse(&s->dropped_bad, r);
	}
	if (flags & NTP_RES_NOTRUST) {
		set_reason(r, "restrict notrust: request not authenticated (no keys configured)");
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
	r->verdict = NTP_SERVE_DROP;
	r->reason[0] = '\0';
	if (s == NULL || sys == NULL || req == NULL || from == NULL || reply == NULL) {
		set_reason(r, "server called without state, system, request, source or reply");
		if (s != NULL) {
			s->dropped_bad++;
		}
		return NTP_SERVE_DROP;
	}
	if (s->n > s->cap) {
		s->n = s->cap; /* a caller shrank cap: never read past the table */
	}
	if (!admit(s, req, req_len, res_flags, r)) {
		return NTP_SERVE_DROP;
	}
	xmode = answer_mode(req);
	/* `kod` without `limited` does nothing: only limited sources are
	 * tracked (ntpd douses RES_KOD unless ntp_monitor() lit RES_LIMITED). */
	if ((res_flags & NTP_RES_LIMITED) && s->cap > 0 && s->table != NULL) {
		mon = mon_update(s, from, req, t_recv.mono, r);
	}
	if (mon != MON_PASS) {
		size_t len = strlen(r->reason);
		if (mon == MON_LIMITED_KOD && (res_flags & NTP_RES_KOD)) {
			kod_rate(s, req, xmode, reply);
			snprintf(r->reason + len, sizeof r->reason - len, "; KoD RATE sent");
			s->kod_sent++;
			r->verdict = NTP_SERVE_KOD;
			return NTP_SERVE_KOD;
		}
		snprintf(r->reason + len, sizeof r->reason - len, "; dropped%s",
		         (res_flags & NTP_RES_KOD) ? " (KoD rate-limited)" : "");
		refuse(&s->dropped_rate, r);
		return NTP_SERVE_DROP;
	}
	fast_xmit(sys, req, xmode, t_recv.local, t_xmt, reply);
	set_reason(r, "served: mode %u v%u reply, LI %u stratum %u", reply->mode, reply->version,
	           reply->leap, reply->stratum);
	s->served++;
	r->verdict = NTP_SERVE_REPLY;
	return NTP_SERVE_REPLY;
}
