/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_hostcore: the helpers the parts of the host share (see
 * ntp_hostcore.h).
 */
#include "ntp_hostcore.h"
#include "ntp_const.h"
#include "ntp_leapsys.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ntp_info.h"

/* Events a flood of packets can cause (rejections, KoDs, refusals) are
 * rate-limited per kind and association -- per kind for the host's own --
 * so that an attacker who spoofs one address cannot write 58.7 MB of log in
 * 10 s (issue 11): a burst of EVENT_BURST, then one per EVENT_SPACING_NS,
 * and the next one logged says how many were suppressed (ours; ntpd has no
 * limit, chrony limits some of its messages the same way). */
#define EVENT_BURST      10                  /* events */
#define EVENT_SPACING_NS (10 * NTP_NS_PER_S) /* ns, one more event after a burst */

/* ntpd peer status word bits (ntp_control.h CTL_PST_*), upper byte. */

#define NOW_LIMIT ((ntp_time)1 << 62) /* ns, see host_clamp_now */

ntp_time
host_clamp_now(ntp_time t)
{
	return t > NOW_LIMIT ? NOW_LIMIT : t < -NOW_LIMIT ? -NOW_LIMIT : t;
}

ntp_now
host_clamp_both(ntp_now n)
{
	return ntp_now_at(host_clamp_now(n.mono), host_clamp_now(n.local));
}

bool
host_slot_used(const ntp_peer *p)
{
	return p->kind == NTP_PEER_LOCAL || p->addr.family != NTP_AF_NONE;
}

int
host_assoc_id(const ntp_host *h, const ntp_peer *p)
{
	return (int)(p - h->peers) + 1;
}

char *
host_remote_name(const ntp_peer *p, char *buf, size_t size)
{
	if (p->kind == NTP_PEER_LOCAL) {
		snprintf(buf, size, "LOCAL(%u)", p->unit);
		return buf;
	}
	return ntp_addr_format(&p->addr, buf, size);
}

ntp_action *
host_push(ntp_host *h, uint8_t kind)
{
	ntp_action *a;

	if (h->out == NULL) {
		return NULL;
	}
	if (h->out->n >= NTP_ACTIONS_MAX) {
		h->out->overflow++;
		return NULL;
	}
	a = &h->out->v[h->out->n++];
	memset(a, 0, offsetof(ntp_action, u) + sizeof a->u.event);
	a->kind = kind;
	h->sysstats.sent += kind == NTP_ACT_SEND;
	return a;
}

void
host_unpush_send(ntp_host *h)
{
	h->out->n--;
	h->sysstats.sent--;
}

/* The gate of an event, or -1 for kinds that are never limited (clock
 * steps, sync, selection changes: rare, and each one matters). */
static int
gate_index(int code)
{
	switch (code) {
	case NTP_EV_PKT_REJECTED:
		return 0;
	case NTP_EV_KOD:
		return 1;
	case NTP_EV_ACCESS_DENIED:
		return 2;
	case NTP_EV_RATE_EXCEEDED:
		return 3;
	default:
		return -1;
	}
}

/* GCRA (a token bucket in one time): an event passes while its bucket's
 * theoretical arrival time is within the burst of now. */
static bool
gate_pass(ntp_time *tat, ntp_time mono)
{
	ntp_time t = *tat > mono ? *tat : mono;

	if (t - mono > (EVENT_BURST - 1) * EVENT_SPACING_NS) {
		return false;
	}
	*tat = t + EVENT_SPACING_NS;
	return true;
}

/* The rate limit an event falls under; false when its kind is never
 * limited. */
typedef struct event_gate {
	ntp_time *tat;
	uint32_t *suppressed;
	bool *limited;
} event_gate;

static bool
gate_of(ntp_host *h, int code, int assoc, event_gate *g)
{
	int k = gate_index(code);

	if (k < 0) {
		return false;
	}
	if (assoc >= 1 && (size_t)assoc <= h->n_peers) {
		ntp_peer *p = &h->peers[assoc - 1];

		*g = (event_gate){&p->ev_tat, &p->ev_suppressed, &p->ev_limited};
	} else {
		*g = (event_gate){&h->ev_tat[k], &h->ev_suppressed[k], &h->ev_limited[k]};
	}
	return true;
}

/* May this event be logged?  *note gets what to append to it: the count
 * suppressed before it, or -- for the one that hits the limit -- that the
 * next ones will be. */
static bool
gate_admits(ntp_host *h, int code, int assoc, char *note, size_t size)
{
	event_gate g;

	note[0] = '\0';
	if (!gate_of(h, code, assoc, &g)) {
		return true;
	}
	if (gate_pass(g.tat, h->now.mono)) {
		if (*g.suppressed > 0) {
			snprintf(note, size, " [%u similar suppressed]", (unsigned)*g.suppressed);
		}
		*g.suppressed = 0;
		*g.limited = false;
		return true;
	}
	if (!*g.limited) {
		*g.limited = true;
		snprintf(note, size, " [rate limit: similar events suppressed, 1 per %d s]",
		         (int)(EVENT_SPACING_NS / NTP_NS_PER_S));
		return true;
	}
	(*g.suppressed)++; /* counted before any formatting: a flood costs little */
	if (assoc >= 1 && (size_t)assoc <= h->n_peers) {
		h->peers[assoc - 1].ev_code = (uint16_t)code;
	}
	return false;
}

void
host_event(ntp_host *h, int code, int assoc, const char *fmt, ...)
{
	char note[64];
	ntp_action *a;
	va_list ap;

	if (!gate_admits(h, code, assoc, note, sizeof note) ||
	    (a = host_push(h, NTP_ACT_EVENT)) == NULL) {
		return;
	}
	a->u.event.code = (uint16_t)code;
	a->u.event.assoc = assoc;
	va_start(ap, fmt);
	vsnprintf(a->u.event.reason, sizeof a->u.event.reason, fmt, ap);
	va_end(ap);
	if (note[0] != '\0') {
		/* the note must show: cut the reason to make room */
		size_t room = sizeof a->u.event.reason - strlen(note) - 1;
		size_t len = strlen(a->u.event.reason);

		snprintf(a->u.event.reason + (len < room ? len : room),
		         sizeof a->u.event.reason - (len < room ? len : room), "%s", note);
	}
}

static const uint16_t gated_codes[4] = {NTP_EV_PKT_REJECTED, NTP_EV_KOD, NTP_EV_ACCESS_DENIED,
                                        NTP_EV_RATE_EXCEEDED}; /* by gate_index */

/* When a gate with suppressed events lets one through again. */
static ntp_time
gate_reopens(ntp_time tat)
{
	return tat - (EVENT_BURST - 1) * EVENT_SPACING_NS;
}

/* A flood that stopped leaves its count behind: say it once the gate
 * reopens, so the log tells how many events were not written. */
static void
flush_gate(ntp_host *h, int code, int assoc, event_gate g)
{
	ntp_action *a;

	if (*g.suppressed == 0 || gate_reopens(*g.tat) > h->now.mono ||
	    !gate_pass(g.tat, h->now.mono) || (a = host_push(h, NTP_ACT_EVENT)) == NULL) {
		return;
	}
	a->u.event.code = (uint16_t)code;
	a->u.event.assoc = assoc;
	snprintf(a->u.event.reason, sizeof a->u.event.reason,
	         "%u more %s events suppressed by the log rate limit (1 per %d s)",
	         (unsigned)*g.suppressed, ntp_event_name(code),
	         (int)(EVENT_SPACING_NS / NTP_NS_PER_S));
	*g.suppressed = 0;
	*g.limited = false;
}

void
host_flush_gates(ntp_host *h)
{
	for (int k = 0; k < 4; k++) {
		flush_gate(h, gated_codes[k], 0,
		           (event_gate){&h->ev_tat[k], &h->ev_suppressed[k], &h->ev_limited[k]});
	}
	for (size_t i = 0; i < h->n_peers; i++) {
		ntp_peer *p = &h->peers[i];

		/* an association's gate is shared by its kinds: name the last */
		flush_gate(h, p->ev_code, (int)i + 1,
		           (event_gate){&p->ev_tat, &p->ev_suppressed, &p->ev_limited});
	}
}

/* The earliest time a gate holds a count to flush. */
ntp_time
host_next_gate_flush(const ntp_host *h)
{
	ntp_time next = NEVER;

	for (int g = 0; g < 4; g++) {
		if (h->ev_suppressed[g] > 0 && gate_reopens(h->ev_tat[g]) < next) {
			next = gate_reopens(h->ev_tat[g]);
		}
	}
	for (size_t i = 0; i < h->n_peers; i++) {
		const ntp_peer *p = &h->peers[i];

		if (p->ev_suppressed > 0 && gate_reopens(p->ev_tat) < next) {
			next = gate_reopens(p->ev_tat);
		}
	}
	return next;
}

/* Note a peer event for the status word (4-bit count, last code). */
void
host_peer_event(ntp_peer *p, int code)
{
	p->num_events = (uint8_t)((p->num_events + 1) & 0x0f);
	p->last_event = (uint8_t)code;
}

ntp_action *
host_send_packet(ntp_host *h, const ntp_addr *to, const ntp_addr *from, const ntp_pkt *pkt,
                 bool patch_xmt)
{
	ntp_action *a = host_push(h, NTP_ACT_SEND);
	size_t len = 0;

	if (a == NULL) {
		return NULL;
	}
	if (ntp_pkt_encode(pkt, a->u.send.buf, sizeof a->u.send.buf, &len) != NTP_PKT_OK) {
		host_unpush_send(
		        h); /* our own packet: cannot happen unless a fault broke a field */
		return NULL;
	}
	a->u.send.to = *to;
	if (from != NULL) {
		a->u.send.from = *from;
	} else {
		memset(&a->u.send.from, 0, sizeof a->u.send.from);
	}
	a->u.send.len = len;
	a->u.send.patch_xmt = patch_xmt;
	return a;
}

void
host_stats_line(ntp_host *h, uint32_t file, const char *line)
{
	ntp_action *a;

	if (!(h->stats & file) || (a = host_push(h, NTP_ACT_STATS)) == NULL) {
		return;
	}
	a->u.stats.file = file;
	snprintf(a->u.stats.line, sizeof a->u.stats.line, "%s", line);
}

/* ntpd ctlpeerstatus(): select code, config and reach bits, event count
 * and last event, as peerstats and ntpq's "status" show it. */
unsigned
host_peer_status_word(const ntp_peer *p)
{
	unsigned hi = p->sel & 0x07u;

	if (p->flags & NTP_PEER_F_CONFIG) {
		hi |= NTP_CTL_PST_CONFIG;
	}
	if (p->reach != 0) {
		hi |= NTP_CTL_PST_REACH;
	}
	return (hi << 8) | ((p->num_events & 0x0fu) << 4) | (p->last_event & 0x0fu);
}

/* ntpd record_peer_stats(): "MJD SOD addr status offset delay disp jitter". */
void
host_peerstats(ntp_host *h, const ntp_peer *p, const ntp_estimate *e)
{
	char line[192], addr[48];
	long mjd;
	double sod;

	if (!(h->stats & NTP_STATS_PEERSTATS)) {
		return;
	}
	ntp_time_mjd(h->now.local, &mjd, &sod);
	snprintf(line, sizeof line, "%ld %.3f %s %x %.9f %.9f %.9f %.9f", mjd, sod,
	         ntp_addr_format(&p->addr, addr, sizeof addr), host_peer_status_word(p), e->offset,
	         e->delay, e->disp, e->jitter);
	host_stats_line(h, NTP_STATS_PEERSTATS, line);
}

/* What the per-association procedures read of the system. */
void *
host_src(const ntp_host *h, const ntp_peer *p)
{
	return h->algo_src + (size_t)(p - h->peers) * h->algo->src_size;
}

ntp_proto_sys
host_proto_sys(const ntp_host *h, const ntp_peer *p)
{
	ntp_proto_sys s = {
	        .precision = h->precision,
	        .poll = h->algo->poll(h->algo_sys, host_src(h, p)),
	        .leap = h->leap,
	        .stratum = h->stratum,
	        .refid = h->refid,
	        .reftime = h->reftime,
	        .rootdelay = h->rootdelay,
	        .rootdisp = h->rootdisp,
	        .phi = h->phi,
	};

	return s;
}

ntp_fit_params
host_fit(const ntp_host *h)
{
	ntp_fit_params f = {.maxdist = h->maxdist, .mindist = NTP_MINDIST, .phi = h->phi};

	return f;
}

/* Root dispersion grows at PHI since the last update (RFC 5905 §11.2.3);
 * ntpd sends the stored value, NTPsec and we age it, so the clients of a
 * host that lost its sources see its error bound grow. */
static double
aged_rootdisp(const ntp_host *h)
{
	double age = ntp_time_diff_s(h->now.mono, h->t_update);

	return h->rootdisp + (h->stratum < NTP_STRATUM_UNSPEC && age > 0.0 ? h->phi * age : 0.0);
}

ntp_server_sys
host_server_sys(const ntp_host *h)
{
	ntp_server_sys s = {
	        .leap = h->leap,
	        .stratum = h->stratum,
	        .precision = h->precision,
	        .poll = h->algo->poll(h->algo_sys, NULL),
	        .rootdelay = ntp_short_from_s(h->rootdelay),
	        .rootdisp = ntp_short_from_s(aged_rootdisp(h)),
	        .refid = h->refid,
	        .reftime = h->reftime,
	};

	if (h->leapsmear > 0.0 && (s.leap == NTP_LEAP_ADD || s.leap == NTP_LEAP_DEL)) {
		/* a smearing server keeps its leap to itself (NTPsec) */
		s.leap = NTP_LEAP_NONE;
	}
	s.smear = ntp_leapsys_smear(h);
	return s;
}

void
host_set_unsynchronised(ntp_host *h, const char *refid)
{
	h->leap = NTP_LEAP_NOTSYNC;
	h->stratum = NTP_STRATUM_UNSPEC;
	h->refid = NTP_REFID(refid);
	h->reftime = 0;
	h->rootdelay = 0.0;
	h->rootdisp = 0.0;
}

void
host_reachable(ntp_host *h, ntp_peer *p)
{
	char name[48];

	host_peer_event(p, NTP_PEVNT_REACH);
	p->reach_rise_s = (uint32_t)ntp_time_whole_s(h->now.mono);
	host_event(h, NTP_EV_REACHABLE, host_assoc_id(h, p), "%s reachable",
	           host_remote_name(p, name, sizeof name));
}
