/* SPDX-License-Identifier: BSD-2-Clause */
/* One-shot query core (ntp_query.h). */
#include "ntp_query.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ntp_const.h"
#include "ntp_pkt.h"

void
ntp_query_server_init(ntp_query_server *s)
{
	memset(s, 0, sizeof(*s));
	s->due = NTP_TIME_NEVER;
}

size_t
ntp_query_request(ntp_query_server *s, const ntp_query_params *p, ntp_ts64 xmt, ntp_now now,
                  uint8_t *buf, size_t cap)
{
	ntp_pkt req;
	size_t len = 0;
	int k = s->sent;

	if (k >= p->samples || k >= NTP_QUERY_SAMPLES_MAX || s->kod) {
		return 0;
	}
	memset(&req, 0, sizeof(req));
	req.leap = NTP_LEAP_NOTSYNC;
	req.version = p->version;
	req.mode = NTP_MODE_CLIENT;
	req.poll = p->poll;
	req.precision = p->precision;
	req.xmt = xmt != 0 ? xmt : 1;
	if (ntp_pkt_encode(&req, buf, cap, &len) != NTP_PKT_OK) {
		return 0;
	}
	s->xmt[k] = req.xmt;
	s->t1[k] = now.local;
	s->answered[k] = false;
	s->sent = k + 1;
	s->due = s->sent < p->samples ? ntp_time_add_sat(now.mono, p->gap) : NTP_TIME_NEVER;
	return len;
}

/* Which of our requests this origin answers, or -1. */
static int
match_request(const ntp_query_server *s, ntp_ts64 org)
{
	for (int k = 0; k < s->sent && k < NTP_QUERY_SAMPLES_MAX; k++) {
		if (s->xmt[k] == org) {
			return k;
		}
	}
	return -1;
}

/* RFC 5905 Fig. 13: INIT ("not yet synchronized for the first time") and
 * STEP report a state, sent by any unsynchronised ntpd or refd, whose clock
 * can still be read: an unsynchronised server, not a kiss.  Every other
 * code denies, restricts or rate-limits us (§7.4). */
static bool
kiss_is_state(uint32_t refid)
{
	return refid == NTP_REFID("INIT") || refid == NTP_REFID("STEP");
}

/* The four characters of a kiss code, unprintable bytes as '?' (a refid
 * from the wire is not trusted to be text). */
static void
kiss_code(uint32_t refid, char out[5])
{
	size_t n = 0;

	for (int i = 0; i < 4; i++) {
		uint8_t c = (uint8_t)(refid >> (24 - 8 * i));

		if (c == 0) {
			break;
		}
		out[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[n] = '\0';
}

/* Datagrams that are not an answer to one of our requests; -1 if p is
 * one, else the index of the request it answers. */
static int
check_answer(ntp_query_server *s, const uint8_t *buf, size_t len, ntp_pkt *p, char *why,
             size_t whysize)
{
	ntp_pkt_err e;
	int rc = ntp_pkt_decode(buf, len, p, &e);
	int k;

	if (rc != NTP_PKT_OK) {
		snprintf(why, whysize, "malformed reply: %s",
		         rc < 0 ? e.msg : "a control or private mode packet");
		return -1;
	}
	if (p->mode != NTP_MODE_SERVER) {
		snprintf(why, whysize, "mode %u (%s) is not a server reply", p->mode,
		         ntp_pkt_mode_name(p->mode));
		return -1;
	}
	k = p->org == 0 ? -1 : match_request(s, p->org);
	if (k < 0) {
		snprintf(why, whysize, "%s",
		         p->org == 0 ? "TEST3 zero origin timestamp"
		                     : "TEST2 bogus origin: matches no request");
	}
	return k;
}

/* The reply's timestamps and header (RFC 5905 App. A.5.1.1 TEST3, TEST6,
 * TEST7, plus ntpdate's age rule); true when the sample is usable.
 * Union of the two old clients' rules; the reference time is judged
 * against the server's own transmit time (ntpdate compares it with the
 * reply's xmt; ntpsim's old client compared it with our T1, which blamed
 * a server for the client's own clock error). */
static bool
check_header(const ntp_pkt *p, char *why, size_t whysize)
{
	double rootdist = ntp_short_to_s(p->rootdelay) / 2.0 + ntp_short_to_s(p->rootdisp);
	char refid[16];

	if (p->xmt == 0 || p->rec == 0) {
		snprintf(why, whysize, "TEST3 zero %s timestamp",
		         p->xmt == 0 ? "transmit" : "receive");
		return false;
	}
	if (p->leap == NTP_LEAP_NOTSYNC || p->stratum == 0 || p->stratum >= NTP_STRATUM_UNSPEC) {
		snprintf(why, whysize, "server unsynchronised (LI=%u, stratum %u, refid %s)",
		         p->leap, p->stratum,
		         ntp_pkt_refid_format(p->refid, p->stratum, refid, sizeof refid));
		return false;
	}
	if (p->reftime == 0) {
		/* ntpdate: a zero reference time is infinitely old; ntpdig has
		 * no such test.  A synchronised server always has one. */
		snprintf(why, whysize, "reference time zero (never synchronised)");
		return false;
	}
	if (ntp_ts_sub(p->reftime, p->xmt) > 0) {
		snprintf(why, whysize, "reference time %.6f s after its transmit time",
		         ntp_dur_to_s(ntp_ts_sub(p->reftime, p->xmt)));
		return false;
	}
	if (ntp_dur_to_s(ntp_ts_sub(p->xmt, p->reftime)) >= NTP_QUERY_MAXAGE) {
		snprintf(why, whysize, "reference time %.0f s old: no update for over a day",
		         ntp_dur_to_s(ntp_ts_sub(p->xmt, p->reftime)));
		return false;
	}
	if (rootdist >= NTP_MAXDISPERSE) {
		snprintf(why, whysize, "root distance %.3f s is %.0f s or more", rootdist,
		         NTP_MAXDISPERSE);
		return false;
	}
	return true;
}

/* Keep the sample if it is the best so far.  The delay is not floored:
 * ntpdig uses (T4 - T1) - (T3 - T2) as it comes (refd's old client floored
 * it at 0; only an insane server makes it negative, and its reply is then
 * not the smallest-delay one of a sane server's). */
static void
keep_sample(ntp_query_server *s, const ntp_pkt *p, int k, ntp_time t4, bool usable)
{
	double offset, delay;

	ntp_ts_offset_delay(ntp_ts_from_unix_ns(s->t1[k]), p->rec, p->xmt, ntp_ts_from_unix_ns(t4),
	                    &offset, &delay);
	if (usable ? (s->have && delay >= s->delay)
	           : (s->have || (s->measured && delay >= s->delay))) {
		return;
	}
	s->have |= usable;
	s->measured = true;
	s->offset = offset;
	s->delay = delay;
	s->leap = p->leap;
	s->stratum = p->stratum;
	s->version = p->version;
	s->precision = p->precision;
	s->refid = p->refid;
	s->rootdelay = ntp_short_to_s(p->rootdelay);
	s->rootdisp = ntp_short_to_s(p->rootdisp);
}

ntp_query_verdict
ntp_query_reply(ntp_query_server *s, const ntp_query_params *par, const uint8_t *buf, size_t len,
                ntp_now now, char *why, size_t whysize)
{
	ntp_pkt p;
	int k;
	bool usable;

	why[0] = '\0';
	k = check_answer(s, buf, len, &p, why, whysize);
	if (k < 0) {
		s->ignored++;
		snprintf(s->ignored_why, sizeof(s->ignored_why), "%s", why);
		return NTP_QUERY_IGNORED;
	}
	if (s->answered[k]) {
		snprintf(why, whysize, "TEST1 duplicate reply to request %d", k + 1);
		return NTP_QUERY_DUP;
	}
	s->answered[k] = true;
	s->replies++;
	/* RFC 5905 §7.4: a stratum 0 reply is a kiss-o'-death, whatever its
	 * LI (ntpd, NTPsec and refd send RATE with LI=3), checked before the
	 * timestamps: a kiss need not carry any.  The server asked us to go
	 * away, so its earlier answers are withdrawn too (refd's old rule;
	 * ntpdig drops only the kiss itself, ntpsim's old client kept earlier
	 * answers: RFC 5905 says stop using the server). */
	if (ntp_pkt_is_kod(&p) && !kiss_is_state(p.refid)) {
		kiss_code(p.refid, s->kiss);
		s->kod = true;
		s->have = false;
		s->due = NTP_TIME_NEVER;
		snprintf(why, whysize, "KoD %s", s->kiss);
		return NTP_QUERY_KOD;
	}
	/* An answer: the next request may leave at once (refd's pacing). */
	s->due = s->sent < par->samples ? now.mono : NTP_TIME_NEVER;
	if (p.xmt == 0 || p.rec == 0) {
		check_header(&p, why, whysize);
		snprintf(s->unusable, sizeof(s->unusable), "%s", why);
		return NTP_QUERY_UNUSABLE;
	}
	usable = check_header(&p, why, whysize);
	keep_sample(s, &p, k, now.local, usable);
	if (!usable) {
		snprintf(s->unusable, sizeof(s->unusable), "%s", why);
		return NTP_QUERY_UNUSABLE;
	}
	return NTP_QUERY_OK;
}

bool
ntp_query_done(const ntp_query_server *s, const ntp_query_params *p)
{
	if (s->kod) {
		return true;
	}
	if (s->sent < p->samples) {
		return false;
	}
	for (int k = 0; k < s->sent && k < NTP_QUERY_SAMPLES_MAX; k++) {
		if (!s->answered[k]) {
			return false;
		}
	}
	return true;
}

ntp_time
ntp_query_due(const ntp_query_server *s, const ntp_query_params *p)
{
	return s->kod || s->sent >= p->samples ? NTP_TIME_NEVER : s->due;
}

bool
ntp_query_better(const ntp_query_server *a, const ntp_query_server *b)
{
	if (!a->have) {
		return false;
	}
	if (b == NULL || !b->have) {
		return true;
	}
	return a->stratum < b->stratum || (a->stratum == b->stratum && a->delay < b->delay);
}

char *
ntp_query_unsuitable(const ntp_query_server *s, char *buf, size_t size)
{
	if (s->have) {
		snprintf(buf, size, "%s", "");
	} else if (s->kod) {
		snprintf(buf, size, "KoD %s", s->kiss);
	} else {
		snprintf(buf, size, "%s", s->unusable);
	}
	return buf;
}

ntp_query_result
ntp_query_choose(const ntp_query_server *first, size_t n, size_t stride)
{
	ntp_query_result r = {.chosen = -1, .offset = 0.0, .step = false, .any_kod = false};
	const ntp_query_server *best = NULL;

	for (size_t i = 0; i < n; i++) {
		const ntp_query_server *s =
		        (const ntp_query_server *)(const void *)((const char *)first + i * stride);

		r.any_kod |= s->kod;
		if (ntp_query_better(s, best)) {
			best = s;
			r.chosen = (int)i;
		}
	}
	if (best != NULL) {
		r.offset = best->offset;
		r.step = fabs(r.offset) >= NTP_QUERY_STEP_THRESHOLD;
	}
	return r;
}
