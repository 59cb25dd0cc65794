/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The per-association on-wire protocol: RFC 5905 §8, §13, App. A.5.1
 * (receive, packet), A.5.7 (poll, poll_update) in ntpd 4.2.x's
 * arrangement (ntpd/ntp_proto.c transmit(), receive(), process_packet(),
 * poll_update(), peer_clear(), peer_unfit()).  Where RFC 5905 and ntpd
 * differ, the comment at the spot says which one is followed.
 */
#include "ntp_proto.h"

#include "ntp_const.h"
#include "ntp_mac.h"
#include "ntp_nonce.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define INTERVAL_FRAC_BITS 12  /* ntpd poll_update: jitter in 1/4096 of the interval */
#define INTERVAL_JITTER    256 /* ntpd: up to 255/4096 (6.2 %) later, ntp_random() & 0xff */
#define BURST_SPACING_NS   (NTP_BURST_SPACING * NTP_NS_PER_S)
#define TS_NEVER           NTP_TIME_NEVER /* "no poll scheduled" */
#define HEADWAY_FREE                                                                               \
	(NTP_SHIFT - 1) /* polls of minpoll the headway may run up                                 \
	                   before it delays a request (ntpd poll_update) */

static int8_t
clamp_poll(int v)
{
	return (int8_t)(v < NTP_POLL_FLOOR ? NTP_POLL_FLOOR : v > NTP_MAXPOLL ? NTP_MAXPOLL : v);
}

/* 2^poll s in ns; poll may be negative (sub-second polls). */
ntp_time
ntp_poll_ns(int poll)
{
	return poll >= 0 ? NTP_NS_PER_S << poll : NTP_NS_PER_S >> -poll;
}

void
ntp_peer_init(ntp_peer *p, uint8_t kind, const ntp_addr *addr, uint8_t flags, int8_t minpoll,
              int8_t maxpoll, uint8_t version, ntp_time mono)
{
	memset(p, 0, sizeof *p);
	if (addr != NULL) {
		p->addr = *addr;
	}
	p->kind = kind;
	p->flags = flags;
	p->version = version >= 1 && version <= 4 ? version : 4;
	p->minpoll = clamp_poll(minpoll);
	p->maxpoll = clamp_poll(maxpoll);
	if (p->maxpoll < p->minpoll) {
		p->maxpoll = p->minpoll;
	}
	if (kind == NTP_PEER_LOCAL) {
		/* ntpd refclock_newpeer(): a reference clock polls at minpoll. */
		p->maxpoll = p->minpoll;
	}
	p->nextdate = TS_NEVER;
	p->headway = mono;
	p->last_rx = NTP_TIME_NONE;
	ntp_peer_clear(p, "INIT");
}

/* The slowest poll: maxpoll, but a sub-second maxpoll still lets the
 * discipline poll a source off the LAN once a second (chrony's
 * MIN_NONLAN_POLL: sub-second polls are for LAN sources only). */
static int8_t
poll_ceiling(const ntp_peer *p)
{
	return p->maxpoll < 0 ? 0 : p->maxpoll;
}

/* Where polling starts: minpoll, but 1 s for a sub-second minpoll until
 * the discipline has seen the source (chrony starts at MIN_NONLAN_POLL):
 * a reply slower than the poll would never match the latest request. */
static int8_t
first_poll(const ntp_peer *p)
{
	return p->minpoll < 0 ? 0 : p->minpoll;
}

void
ntp_peer_clear(ntp_peer *p, const char *ident)
{
	/* The outstanding request (aorg, t1) and the duplicate/echo state
	 * (xmt, dst) survive: after our own step the host moves t1 and dst
	 * with the clock, so a reply already in flight still yields a correct
	 * sample.  What the discipline made of the samples (ntpd: the clock
	 * filter) is the host's to clear (ntp_discipline src_init). */
	p->reach = 0;
	p->unreach = 0;
	p->burst = 0;
	p->hpoll = first_poll(p);
	p->ppoll = poll_ceiling(p);
	p->leap = NTP_LEAP_NOTSYNC;
	p->pmode = 0;
	p->precision = 0;
	p->rootdelay = 0.0;
	p->rootdisp = 0.0;
	p->reftime = 0;
	p->sel = 0;
	p->flash = 0;
	if (p->kind == NTP_PEER_LOCAL) {
		/* ntpd keeps a reference clock's stratum and refid. */
		p->stratum = p->cfg_stratum;
		p->refid = NTP_REFID("LOCL");
	} else {
		p->stratum = NTP_STRATUM_UNSPEC;
		p->refid = NTP_REFID(ident);
	}
}

void
ntp_peer_schedule(ntp_peer *p, ntp_time mono_at)
{
	p->nextdate = mono_at;
}

void
ntp_peer_poll_faster(ntp_peer *p, int8_t poll, ntp_time mono)
{
	ntp_time due;

	if (poll >= 0 || poll >= p->hpoll) {
		return;
	}
	ntp_peer_set_hpoll(p, poll);
	due = p->outdate + ntp_poll_ns(ntp_peer_poll_log2(p));
	due = due > mono ? due : mono;
	if (p->nextdate != TS_NEVER && due < p->nextdate && p->burst == 0) {
		p->nextdate = due;
	}
}

void
ntp_peer_set_hpoll(ntp_peer *p, int8_t sys_poll)
{
	int8_t v = sys_poll;

	if (v > poll_ceiling(p)) {
		v = poll_ceiling(p);
	}
	if (v < p->minpoll) {
		v = p->minpoll;
	}
	p->hpoll = v;
}

int8_t
ntp_peer_poll_log2(const ntp_peer *p)
{
	int8_t v;

	/* ntpd poll_update(): minpoll while an iburst waits for its first
	 * reply (retry > 0), until the unreachable backoff takes over. */
	if ((p->flags & NTP_PEER_F_IBURST) && p->reach == 0 && p->unreach < NTP_UNREACH) {
		return first_poll(p);
	}
	/* "oversampling is okay but undersampling is evil" */
	v = p->hpoll < p->ppoll ? p->hpoll : p->ppoll;
	if (v < p->minpoll) {
		v = p->minpoll;
	}
	if (v > poll_ceiling(p)) {
		v = poll_ceiling(p);
	}
	return v;
}

static ntp_time
minpoll_ns(const ntp_peer *p)
{
	return ntp_poll_ns(p->minpoll);
}

/* ntpd's ntp_minpkt, 2 s between requests; a sub-second poll goes as fast
 * as it asks. */
static ntp_time
min_spacing(const ntp_peer *p)
{
	ntp_time m = minpoll_ns(p);

	return m < BURST_SPACING_NS ? m : BURST_SPACING_NS;
}

/* ntpd's client headway (peer->throttle): each request adds 2^minpoll - 2 s
 * (ntpd peer_xmit), and it drains at 1 s per s (ntpd timer()). */
static ntp_time
headway_left(const ntp_peer *p, ntp_time mono)
{
	return p->headway > mono ? p->headway - mono : 0;
}

static void
headway_add(ntp_peer *p, ntp_time mono, ntp_time add)
{
	p->headway = (p->headway > mono ? p->headway : mono) + add;
}

/* ntpd poll_update(): the earliest next request is 2 s away (ntp_minpkt),
 * or later once the headway exceeds NTP_SHIFT - 1 polls of minpoll, so a
 * burst repeated too soon (re-bursts after steps, a RATE KoD) is spaced. */
static ntp_time
earliest_poll(const ntp_peer *p, ntp_time mono)
{
	ntp_time over = headway_left(p, mono) - HEADWAY_FREE * minpoll_ns(p);

	return mono + (over > min_spacing(p) ? over : min_spacing(p));
}

/* A regular (non-burst) poll due at `next`, as ntpd poll_update() places
 * it: not before the earliest time, and 2 s later still while the headway
 * is over one minpoll. */
static ntp_time
regular_poll(const ntp_peer *p, ntp_time mono, ntp_time next)
{
	ntp_time earliest = earliest_poll(p, mono);

	if (next < earliest) {
		next = earliest;
	}
	return headway_left(p, mono) > minpoll_ns(p) ? next + BURST_SPACING_NS : next;
}

/* Next poll: at the earliest time inside a burst, else one interval after
 * the poll started with ntpd's jitter of up to 1/16 of it, placed by
 * regular_poll().  LOCAL polls every interval exactly (ntpd's refclocks
 * have no jitter and no headway). */
static void
schedule_next(ntp_peer *p, ntp_time mono, ntp_rand *rnd)
{
	int8_t lp = ntp_peer_poll_log2(p);
	int64_t frac = 1 << INTERVAL_FRAC_BITS;
	ntp_time next;

	if (p->kind == NTP_PEER_LOCAL) {
		p->nextdate = p->outdate + ntp_poll_ns(lp);
		return;
	}
	if (p->burst > 0) {
		p->nextdate = earliest_poll(p, mono);
		return;
	}
	/* ntpd's jitter spreads clients that would poll a server in step;
	 * ntpd never polls below 1 s, and a sub-second poll (regress, on a
	 * LAN) goes at its rate, as chrony's do */
	if (rnd != NULL && lp >= 0) {
		frac += (int64_t)ntp_rand_below(rnd, INTERVAL_JITTER);
	}
	next = p->outdate + ((frac * ntp_poll_ns(lp)) >> INTERVAL_FRAC_BITS);
	p->nextdate = regular_poll(p, mono, next);
}

/* A sample at mono (offset, delay, dispersion in s) as the discipline
 * gets it. */
static void
make_sample(ntp_sample *smp, const ntp_peer *p, double offset, double delay, double disp,
            ntp_time mono)
{
	memset(smp, 0, sizeof *smp);
	smp->offset = offset;
	smp->delay = delay;
	smp->disp = disp;
	smp->mono = mono;
	smp->poll = p->hpoll;
}

void
ntp_peer_local_sample(ntp_peer *p, const ntp_proto_sys *sys, ntp_now now, ntp_sample *smp)
{
	/* ntpd refclock_local + refclock_receive: leap 0, the fudge stratum,
	 * refid LOCL, reference time now, root dispersion 10 ms, and a
	 * zero-offset zero-delay sample of system-precision dispersion. */
	p->leap = NTP_LEAP_NONE;
	p->stratum = p->cfg_stratum;
	p->refid = NTP_REFID("LOCL");
	p->reftime = ntp_ts_from_unix_ns(now.local);
	p->precision = sys->precision;
	p->rootdelay = 0.0;
	p->rootdisp = NTP_LOCAL_DISPERSION;
	p->reach |= 1;
	p->last_rx = now.mono;
	p->received++;
	make_sample(smp, p, 0.0, 0.0, ldexp(1.0, sys->precision), now.mono);
}

/* A nonzero 64-bit value: a zero transmit timestamp would read as "none". */
static ntp_ts64
random_nonce(ntp_nonce *nonce)
{
	ntp_ts64 v = 0;

	while (v == 0) {
		v = ntp_nonce_u64(nonce);
	}
	return v;
}

void
ntp_peer_build_request(ntp_peer *p, const ntp_proto_sys *sys, ntp_time local, ntp_nonce *nonce,
                       ntp_pkt *req)
{
	memset(req, 0, sizeof *req);
	req->version = p->version;
	req->poll = p->hpoll;
	req->mode = ntp_peer_request_mode(p);
	if (p->kind == NTP_PEER_CLIENT) {
		/* Data minimisation (draft-ietf-ntp-data-minimization, chrony,
		 * ntpdig): nothing about us but version, mode and poll, and a
		 * random transmit timestamp; the real T1 stays here. */
		req->xmt = random_nonce(nonce);
	} else {
		/* Symmetric modes: the peer computes its sample from our
		 * timestamps, so they are real (RFC 5905 App. A.5.1 peer_xmit). */
		req->leap = sys->leap;
		req->stratum = sys->stratum >= NTP_STRATUM_UNSPEC ? 0 : sys->stratum;
		req->precision = sys->precision;
		req->rootdelay = ntp_short_from_s(sys->rootdelay);
		req->rootdisp = ntp_short_from_s(sys->rootdisp);
		req->refid = sys->refid;
		req->reftime = sys->reftime;
		req->org = p->xmt;
		req->rec = p->dst != 0 ? ntp_ts_from_unix_ns(p->dst) : 0;
		req->xmt = ntp_ts_from_unix_ns(local);
		if (req->xmt == 0) {
			req->xmt = 1; /* 1900-01-01 exactly; keep "nonzero" true */
		}
	}
	p->aorg = req->xmt;
	p->t1 = local;
}

bool
ntp_peer_poll(ntp_peer *p, const ntp_proto_sys *sys, bool fit, ntp_now now, ntp_rand *rnd,
              ntp_nonce *nonce, ntp_pkt *req, ntp_poll_result *res)
{
	memset(res, 0, sizeof *res);
	if (p->flags & NTP_PEER_F_DEMOBILIZED) {
		p->nextdate = TS_NEVER;
		return false;
	}
	if (p->burst == 0) {
		uint8_t oreach = p->reach;

		/* A new poll: shift the reach register (once per poll, not per
		 * burst packet: RFC 5905 App. A.5.7 poll()). */
		p->outdate = now.mono;
		p->reach = (uint8_t)(p->reach << 1);
		if (p->unreach < UINT8_MAX) {
			p->unreach++;
		}
		if (p->reach == 0) {
			if (oreach != 0) {
				res->became_unreachable = true;
				p->ppoll = poll_ceiling(p);
			}
		} else {
			p->unreach = 0;
			ntp_peer_set_hpoll(p, sys->poll);
			/* `burst` while reachable and fit: as ntpd 4.2.8 and
			 * NTPsec, 2^(hpoll - minpoll) packets per poll, at most
			 * NTP_BURST_COUNT (RFC 5905 BCOUNT), so a burst at minpoll
			 * is one packet; the headway spaces them further. */
			if ((p->flags & NTP_PEER_F_BURST) && fit && p->kind != NTP_PEER_LOCAL) {
				int span = p->hpoll - p->minpoll;

				p->burst = (uint8_t)((span >= 3 ? NTP_BURST_COUNT : 1 << span) - 1);
			}
		}
		/* RFC 5905: no reply to the last three polls ages the filter
		 * with a MAXDISP sample (ntpd 4.2.8 waits for reach == 0). */
		if (p->kind != NTP_PEER_LOCAL && (p->reach & 0x07) == 0) {
			res->sampled = true;
			make_sample(&res->sample, p, 0.0, 0.0, NTP_MAXDISPERSE, now.mono);
			res->sample.lost = true;
		}
		/* ntpd transmit(): after NTP_UNREACH silent polls back off one
		 * step per poll (poll_update clamps at maxpoll); an ephemeral
		 * association is dropped instead. */
		if (p->unreach >= NTP_UNREACH) {
			if (!(p->flags & NTP_PEER_F_CONFIG)) {
				res->timed_out = true;
				p->nextdate = TS_NEVER;
				return false;
			}
			if (p->hpoll < p->maxpoll) {
				p->hpoll++;
			}
		}
	} else {
		p->burst--;
	}
	if (p->kind == NTP_PEER_LOCAL) {
		bool was_reachable = (p->reach & ~1u) != 0;

		res->sampled = true;
		ntp_peer_local_sample(p, sys, now, &res->sample);
		res->became_reachable = !was_reachable;
		schedule_next(p, now.mono, NULL);
		return false;
	}
	ntp_peer_build_request(p, sys, now.local, nonce, req);
	p->sent++;
	/* 2^minpoll - 2 s, nothing for polls of 2 s and less */
	headway_add(p, now.mono,
	            minpoll_ns(p) > BURST_SPACING_NS ? minpoll_ns(p) - BURST_SPACING_NS : 0);
	schedule_next(p, now.mono, rnd);
	res->send = true;
	return true;
}

/* ---- receive ---- */

static void
reject(ntp_rx_result *res, uint16_t test, uint8_t why, double a, double b)
{
	res->verdict = NTP_RX_REJECT;
	res->flash |= test;
	if (res->why == NTP_WHY_NONE) {
		res->why = why;
		res->why_a = a;
		res->why_b = b;
	}
}

uint8_t
ntp_peer_request_mode(const ntp_peer *p)
{
	switch (p->kind) {
	case NTP_PEER_CLIENT:
		return NTP_MODE_CLIENT;
	case NTP_PEER_ACTIVE:
		return NTP_MODE_ACTIVE;
	case NTP_PEER_PASSIVE:
		return NTP_MODE_PASSIVE;
	default:
		return 0;
	}
}

static bool
mode_belongs(const ntp_peer *p, uint8_t mode)
{
	switch (p->kind) {
	case NTP_PEER_CLIENT:
		return mode == NTP_MODE_SERVER;
	case NTP_PEER_ACTIVE:
		return mode == NTP_MODE_ACTIVE || mode == NTP_MODE_PASSIVE;
	case NTP_PEER_PASSIVE:
		return mode == NTP_MODE_ACTIVE;
	default:
		return false;
	}
}

/* ntpd kiss_code_check(): only a server-mode packet with LI 3 and stratum
 * 0 is a KoD (ntp_pkt_is_kod also counts mode 2, but an unsynchronised
 * symmetric peer sends exactly that as its ordinary packet). */
static bool
is_kod(const ntp_pkt *pkt)
{
	return pkt->mode == NTP_MODE_SERVER && pkt->stratum == 0 && pkt->leap == NTP_LEAP_NOTSYNC;
}

/* A valid kiss-o'-death (RFC 5905 §7.4, ntpd receive()). */
static void
act_on_kod(ntp_peer *p, const ntp_pkt *pkt, ntp_time mono, ntp_rx_result *res)
{
	uint32_t code = pkt->refid;

	res->verdict = NTP_RX_KOD;
	res->kiss = code;
	p->kod++;
	p->aorg = 0; /* the request is answered */
	p->xmt = pkt->xmt;
	if (code == NTP_REFID("RATE")) {
		/* ntpd: minpoll = max(minpoll, packet poll).  We also go up at
		 * least one step so a server that echoes our poll still makes
		 * us back off exponentially (field-failures #7). */
		int8_t np = clamp_poll(pkt->poll > p->minpoll ? pkt->poll : p->minpoll + 1);

		/* ntpd: throttle = (NTP_SHIFT + 1) polls of the old minpoll. */
		p->headway = mono + (NTP_SHIFT + 1) * minpoll_ns(p);
		p->minpoll = np;
		if (p->maxpoll < np) {
			p->maxpoll = np;
		}
		if (p->hpoll < np) {
			p->hpoll = np;
		}
		if (p->ppoll < np) {
			p->ppoll = np;
		}
		p->burst = 0;
		p->nextdate =
		        regular_poll(p, mono, p->outdate + ntp_poll_ns(ntp_peer_poll_log2(p)));
		res->why = NTP_WHY_KOD_RATE;
		res->why_a = np;
		res->why_b = code;
	} else if (code == NTP_REFID("DENY") || code == NTP_REFID("RSTR")) {
		/* RFC 5905 §7.4: demobilise and stop sending. */
		p->flags |= NTP_PEER_F_DEMOBILIZED;
		p->burst = 0;
		p->nextdate = TS_NEVER;
		res->demobilized = true;
		res->why = NTP_WHY_KOD_DENY;
		res->why_a = code;
	} else {
		res->why = NTP_WHY_KOD_OTHER;
		res->why_a = code;
	}
}

/* RFC 5905 App. A.5.1.1: is the server synchronised and sane? */
static void
header_tests(const ntp_pkt *pkt, ntp_rx_result *res)
{
	double rootdist = ntp_short_to_s(pkt->rootdelay) / 2.0 + ntp_short_to_s(pkt->rootdisp);
	uint8_t stratum = pkt->stratum == 0 ? NTP_STRATUM_UNSPEC : pkt->stratum;

	if (pkt->leap == NTP_LEAP_NOTSYNC) {
		reject(res, NTP_TEST6, NTP_WHY_UNSYNC_LEAP, 0, 0);
	} else if (stratum >= NTP_STRATUM_UNSPEC) {
		reject(res, NTP_TEST6, NTP_WHY_STRATUM, pkt->stratum, 0);
	} else if (pkt->reftime != 0 && ntp_ts_sub(pkt->reftime, pkt->xmt) > 0) {
		reject(res, NTP_TEST6, NTP_WHY_REFTIME_AHEAD,
		       ntp_dur_to_s(ntp_ts_sub(pkt->reftime, pkt->xmt)), 0);
	}
	if (rootdist >= NTP_MAXDISPERSE) {
		reject(res, NTP_TEST7, NTP_WHY_HEADER, rootdist, NTP_MAXDISPERSE);
	}
}

/* The origin and receive timestamp tests (ntpd receive(), flip == 0). */
static void
timestamp_tests(ntp_peer *p, const ntp_pkt *pkt, ntp_rx_result *res)
{
	if (pkt->org == 0) {
		reject(res, NTP_TEST3, NTP_WHY_ZERO_ORG, 0, 0);
	} else if (p->aorg == 0) {
		p->bogus++;
		reject(res, NTP_TEST2, NTP_WHY_NO_REQUEST, 0, 0);
	} else if (pkt->org != p->aorg) {
		p->bogus++;
		/* the received origin in two exact 32-bit halves (a double holds
		 * 53 bits; casting 2^64 - 1 back from one was undefined, found
		 * by fuzz_host); our own nonce stays out of logs */
		reject(res, NTP_TEST2, NTP_WHY_BOGUS_ORG, (double)(uint32_t)(pkt->org >> 32),
		       (double)(uint32_t)pkt->org);
	}
	if (pkt->rec == 0) {
		reject(res, NTP_TEST3, NTP_WHY_ZERO_REC, 0, 0);
	}
}

/* RFC 5905 §8: offset and delay from T1..T4 (ntp_ts_offset_delay); the
 * delay is floored at our precision (ntpd: a delay below it is noise). */
static void
compute_sample(const ntp_peer *p, const ntp_pkt *pkt, ntp_now t_recv, const ntp_proto_sys *sys,
               ntp_rx_result *res)
{
	double prec = ldexp(1.0, sys->precision);
	double offset, delay;

	ntp_ts_offset_delay(ntp_ts_from_unix_ns(p->t1), pkt->rec, pkt->xmt,
	                    ntp_ts_from_unix_ns(t_recv.local), &offset, &delay);
	delay = fmax(delay, prec);
	make_sample(&res->sample, p, offset, delay,
	            prec + ldexp(1.0, pkt->precision) + sys->phi * delay, t_recv.mono);
}

static void
adopt_packet(ntp_peer *p, const ntp_pkt *pkt, ntp_now t_recv, ntp_rx_result *res)
{
	int8_t pp = clamp_poll(pkt->poll);

	p->aorg = 0; /* consumed: a replay of this reply fails TEST2 */
	p->xmt = pkt->xmt;
	p->dst = t_recv.local;
	p->last_rx = t_recv.mono;
	p->leap = pkt->leap;
	p->stratum = pkt->stratum;
	p->pmode = pkt->mode;
	p->precision = pkt->precision;
	p->rootdelay = ntp_short_to_s(pkt->rootdelay);
	p->rootdisp = ntp_short_to_s(pkt->rootdisp);
	p->refid = pkt->refid;
	p->reftime = pkt->reftime;
	p->ppoll = pp > p->minpoll ? pp : p->minpoll;
	if (p->reach == 0) {
		res->became_reachable = true;
		/* iburst (ntpd NTP_IBURST via peer->retry): the first reply to
		 * an unreachable association starts the burst, so a silent
		 * server is never flooded; NTP_IBURST_COUNT requests in all,
		 * this reply's included. */
		if ((p->flags & NTP_PEER_F_IBURST) && p->burst == 0) {
			p->burst = NTP_IBURST_COUNT - 1;
			p->nextdate = earliest_poll(p, t_recv.mono);
		}
	}
	p->reach |= 1;
}

bool
ntp_peer_auth(ntp_peer *p, int auth, uint32_t keyid, ntp_rx_result *res)
{
	memset(res, 0, sizeof *res);
	if (p->keyid != 0 ? auth == NTP_AUTH_OK && keyid == p->keyid
	                  : auth == NTP_AUTH_OK || auth == NTP_AUTH_NONE) {
		return true;
	}
	if (auth == NTP_AUTH_OK) {
		reject(res, NTP_TEST5, NTP_WHY_AUTH_KEY, keyid, p->keyid);
	} else {
		reject(res, NTP_TEST5, NTP_WHY_AUTH, auth, keyid);
	}
	p->received++;
	p->rejected++;
	p->flash = (uint16_t)((p->flash & ~NTP_PKT_TEST_MASK) | res->flash);
	p->why = res->why;
	p->why_a = res->why_a;
	p->why_b = res->why_b;
	return false;
}

int
ntp_peer_receive(ntp_peer *p, const ntp_pkt *pkt, ntp_now t_recv, const ntp_proto_sys *sys,
                 ntp_rx_result *res)
{
	memset(res, 0, sizeof *res);
	p->received++;
	if (p->flags & NTP_PEER_F_DEMOBILIZED) {
		reject(res, 0, NTP_WHY_DEMOBILIZED, 0, 0);
		p->rejected++;
		return res->verdict;
	}
	if (!mode_belongs(p, pkt->mode)) {
		reject(res, 0, NTP_WHY_BAD_MODE, pkt->mode, 0);
		p->rejected++;
		return res->verdict;
	}
	if (pkt->xmt == 0) {
		reject(res, NTP_TEST3, NTP_WHY_ZERO_XMT, 0, 0);
	} else if (pkt->xmt == p->xmt) {
		p->duplicate++;
		reject(res, NTP_TEST1, NTP_WHY_DUPLICATE, 0, 0);
	} else if (is_kod(pkt)) {
		/* Act on a KoD only if it answers our request (CVE-2015-7704). */
		if (pkt->org == 0 || p->aorg == 0 || pkt->org != p->aorg) {
			p->kod_spoofed++;
			res->verdict = NTP_RX_KOD_SPOOFED;
			res->flash = NTP_TEST2;
			res->why = NTP_WHY_KOD_SPOOFED;
			res->why_a = pkt->refid;
			res->kiss = pkt->refid;
		} else {
			act_on_kod(p, pkt, t_recv.mono, res);
		}
		p->why = res->why;
		p->why_a = res->why_a;
		p->why_b = res->why_b;
		return res->verdict;
	} else {
		timestamp_tests(p, pkt, res);
	}
	if (res->flash == 0) {
		header_tests(pkt, res);
	}
	if (res->flash != 0) {
		/* Symmetric modes echo the peer's latest transmit time and our
		 * receive time even from a packet we cannot use (RFC 5905
		 * App. A.5.1), or crossing packets would lock both sides out.
		 * Duplicates and zero transmit timestamps are never echoed. */
		if (p->kind != NTP_PEER_CLIENT && !(res->flash & NTP_TEST1) && pkt->xmt != 0) {
			p->xmt = pkt->xmt;
			p->dst = t_recv.local;
		}
		p->rejected++;
		p->flash = (uint16_t)((p->flash & ~NTP_PKT_TEST_MASK) | res->flash);
		p->why = res->why;
		p->why_a = res->why_a;
		p->why_b = res->why_b;
		return res->verdict;
	}

	compute_sample(p, pkt, t_recv, sys, res);
	adopt_packet(p, pkt, t_recv, res);
	p->flash = (uint16_t)(p->flash & ~NTP_PKT_TEST_MASK);
	res->verdict = NTP_RX_SAMPLE;
	return res->verdict;
}

/* ---- time shifts, distance, fitness ---- */

static void
shift(ntp_time *t, ntp_time delta)
{
	if (*t != 0) {
		*t = ntp_time_add_sat(*t, delta);
	}
}

void
ntp_peer_local_step(ntp_peer *p, ntp_time delta_ns)
{
	shift(&p->t1, delta_ns);
	shift(&p->dst, delta_ns);
}

double
ntp_peer_root_distance(const ntp_peer *p, const ntp_estimate *e, ntp_time mono,
                       const ntp_fit_params *fp)
{
	double age = ntp_time_diff_s(mono, e->t);
	double d;

	if (age < 0.0) {
		age = 0.0;
	}
	d = (e->delay + p->rootdelay) / 2.0 + e->disp + fp->phi * age + p->rootdisp + e->jitter;
	return d < fp->mindist ? fp->mindist : d;
}

uint16_t
ntp_peer_unfit(const ntp_peer *p, const ntp_estimate *e, ntp_time mono, const ntp_fit_params *fp)
{
	uint16_t bits = 0;

	if (p->leap == NTP_LEAP_NOTSYNC || p->stratum >= NTP_STRATUM_UNSPEC) {
		bits |= NTP_TEST10;
	}
	if (p->kind != NTP_PEER_LOCAL && ntp_peer_root_distance(p, e, mono, fp) >=
	                                         fp->maxdist + fp->phi * ldexp(1.0, p->hpoll)) {
		bits |= NTP_TEST11;
	}
	if (p->stratum > 1 && p->local_refid != 0 && p->refid == p->local_refid) {
		bits |= NTP_TEST12;
	}
	if (p->reach == 0 || (p->flags & NTP_PEER_F_NOSELECT)) {
		bits |= NTP_TEST13;
	}
	return bits;
}

/* ---- reasons ---- */

/* A 32-bit half of a value stored in a why number (exact in a double);
 * anything else, as a corrupt caller might pass, reads as 0. */
static uint32_t
half32(double x)
{
	return x >= 0.0 && x <= (double)UINT32_MAX ? (uint32_t)x : 0;
}

static char *
kiss_text(double code, char out[5])
{
	uint32_t c = half32(code);

	for (int i = 0; i < 4; i++) {
		uint8_t ch = (uint8_t)(c >> (24 - 8 * i));

		out[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	out[4] = '\0';
	return out;
}

char *
ntp_proto_why_format(int why, double a, double b, char *buf, size_t size)
{
	char k[5];

	switch (why) {
	case NTP_WHY_ZERO_XMT:
		snprintf(buf, size, "TEST3 invalid: zero transmit timestamp");
		break;
	case NTP_WHY_AUTH: {
		char what[48];

		ntp_auth_format((int)a, half32(b), what, sizeof what);
		snprintf(buf, size, "TEST5 %s", what);
		break;
	}
	case NTP_WHY_AUTH_KEY:
		snprintf(buf, size,
		         "TEST5 authenticated by key %u, the association requires key %u",
		         half32(a), half32(b));
		break;
	case NTP_WHY_DUPLICATE:
		snprintf(buf, size, "TEST1 duplicate: transmit timestamp already seen");
		break;
	case NTP_WHY_ZERO_ORG:
		snprintf(buf, size,
		         "TEST3 invalid: zero origin timestamp (never matches a request)");
		break;
	case NTP_WHY_NO_REQUEST:
		snprintf(buf, size, "TEST2 bogus: no request outstanding (already answered)");
		break;
	case NTP_WHY_BOGUS_ORG:
		snprintf(buf, size, "TEST2 bogus origin: %08x%08x is not the request outstanding",
		         (unsigned)half32(a), (unsigned)half32(b));
		break;
	case NTP_WHY_ZERO_REC:
		snprintf(buf, size, "TEST3 invalid: zero receive timestamp");
		break;
	case NTP_WHY_UNSYNC_LEAP:
		snprintf(buf, size, "TEST6 server unsynchronised: leap indicator 3");
		break;
	case NTP_WHY_STRATUM:
		snprintf(buf, size, "TEST6 server unsynchronised: stratum %d", (int)a);
		break;
	case NTP_WHY_REFTIME_AHEAD:
		snprintf(buf, size,
		         "TEST6 server unsynchronised: reference time %.6f s after its transmit "
		         "time",
		         a);
		break;
	case NTP_WHY_HEADER:
		snprintf(buf, size,
		         "TEST7 bad header: root delay/2 + root dispersion %.3f s >= %.0f s", a, b);
		break;
	case NTP_WHY_KOD_SPOOFED:
		snprintf(buf, size, "KoD %s with wrong or zero origin ignored (spoofed?)",
		         kiss_text(a, k));
		break;
	case NTP_WHY_KOD_RATE:
		snprintf(buf, size, "KoD RATE: minpoll raised to %d (%.0f s)", (int)a,
		         ldexp(1.0, (int)a));
		break;
	case NTP_WHY_KOD_DENY:
		snprintf(buf, size, "KoD %s: association demobilised, no more requests",
		         kiss_text(a, k));
		break;
	case NTP_WHY_KOD_OTHER:
		snprintf(buf, size, "KoD %s ignored (unknown kiss code)", kiss_text(a, k));
		break;
	case NTP_WHY_BAD_MODE:
		snprintf(buf, size, "mode %d packet does not fit this association", (int)a);
		break;
	case NTP_WHY_DEMOBILIZED:
		snprintf(buf, size, "association demobilised by a KoD: packet ignored");
		break;
	default:
		snprintf(buf, size, "%s", "");
		break;
	}
	return buf;
}

char *
ntp_proto_unfit_format(const ntp_peer *p, const ntp_estimate *e, uint16_t unfit, ntp_time mono,
                       const ntp_fit_params *fp, char *buf, size_t size)
{
	if (unfit & NTP_TEST13) {
		snprintf(buf, size, "%s",
		         (p->flags & NTP_PEER_F_NOSELECT)
		                 ? "TEST13 noselect"
		                 : "TEST13 unreachable: no valid reply in the last 8 polls");
	} else if (unfit & NTP_TEST10) {
		snprintf(buf, size, "TEST10 peer unsynchronised: leap %u stratum %u", p->leap,
		         p->stratum);
	} else if (unfit & NTP_TEST11) {
		snprintf(buf, size, "TEST11 distance %.3f s >= maxdist %.3f s",
		         ntp_peer_root_distance(p, e, mono, fp),
		         fp->maxdist + fp->phi * ldexp(1.0, p->hpoll));
	} else if (unfit & NTP_TEST12) {
		snprintf(buf, size, "TEST12 loop: its reference is this host");
	} else {
		snprintf(buf, size, "%s", "");
	}
	return buf;
}
