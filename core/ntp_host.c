/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_host: one NTP entity driven from outside (see ntp_host.h).
 *
 *   ntp_host_recv  -> restrict -> dispatch by mode (RFC 5905 §9.2 table):
 *                     mode 3 (and v1 mode 0) to the server, mode 4/1/2 to
 *                     the matching association (ntp_proto), an unknown
 *                     mode 1 mobilises a passive association unless
 *                     `nopeer` (then the server answers it statelessly),
 *                     mode 6 is refused for now, mode 7 never answered;
 *   ntp_host_tick  -> the poll process of every association that is due;
 *   a new sample   -> clock_select (ntp_select) -> clock_update (system
 *                     variables, RFC 5905 App. A.5.5.4 / ntpd) ->
 *                     local_clock (ntp_disc) -> STEP / ADJUST actions.
 *
 * Memory: one allocation at ntp_host_new holds the host, the association
 * slots (one per configured source, plus NTP_HOST_PASSIVE_SLOTS when some
 * source may mobilise a symmetric passive association), the restrict list
 * (with `restrict source` expanded) and, only when some entry has
 * `limited` or mode 6 is answered to remote sources, the server's
 * rate-limit table, sized by `mru`.  Nothing allocates later.
 *
 * LOCAL(u): ntp classic 4.2.x behaviour, as on the seed's CentOS ntpd: the
 * pseudo-source produces a sample on every poll from the start and is
 * used as soon as no other source survives selection (ntp_select's LOCAL
 * fallback).  NTPsec (and ntp 4.2.8) only consider a non-prefer LOCAL
 * after `orphanwait` (300 s) without a system peer; we do not wait.
 */
#include "ntp_host.h"
#include "ntp_control.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntp_disc.h"
#include "ntp_fault.h"
#include "ntp_filter.h"
#include "ntp_nonce.h"
#include "ntp_proto.h"
#include "ntp_rand.h"
#include "ntp_restrict.h"
#include "ntp_select.h"
#include "ntp_server.h"

#define NTP_HOST_PASSIVE_SLOTS 2     /* symmetric passive associations a host can hold (ours) */
#define MRU_HASH_DOMAIN        1     /* ntp_nonce_subkey stream of the rate-limit hash key (ours) */
#define MINDIST                0.001 /* s, ntpd MINDISTANCE (tos mindist default) */
#define ORPHWAIT_DEF           300.0 /* s, ntpd NTP_ORPHWAIT */
#define ORPHAN_REFID           0x7f000001u  /* 127.0.0.1, ntpd orphan refid (LOOPBACKADR) */
#define LOCAL_NET              0x7f7f0100u  /* 127.127.1.0: LOCAL(u) refclock address / refid */
#define FIRST_POLL_SPREAD_NS   NTP_NS_PER_S /* ntpd: associations start 1 s apart */
#define PASSIVE_FIRST_POLL_NS  (3 * NTP_NS_PER_S) /* ntpd peer_clear: ntp_minpkt + 1 s */
#define PASSIVE_MINPOLL        6     /* log2 s, ntpd NTP_MINDPOLL: never poll a stranger faster */
#define PASSIVE_MAXPOLL        10    /* log2 s, ntpd NTP_MAXDPOLL: nor slower */
#define CLIENT_PORT_LO         49152 /* dynamic ports (RFC 6335 §6): random client ports */
#define CLIENT_PORT_HI         65535
#define NEVER                  NTP_TIME_NEVER
/* Events a flood of packets can cause (rejections, KoDs, refusals) are
 * rate-limited per kind and association -- per kind for the host's own --
 * so that an attacker who spoofs one address cannot write 58.7 MB of log in
 * 10 s (issue 11): a burst of EVENT_BURST, then one per EVENT_SPACING_NS,
 * and the next one logged says how many were suppressed (ours; ntpd has no
 * limit, chrony limits some of its messages the same way). */
#define EVENT_BURST      10                  /* events */
#define EVENT_SPACING_NS (10 * NTP_NS_PER_S) /* ns, one more event after a burst */

/* ntpd peer event codes (ntp_control.h PEVNT_*) for the peer status word. */
enum {
	PEVNT_DEMOBIL = 2,
	PEVNT_UNREACH = 3,
	PEVNT_REACH = 4,
	PEVNT_RESTART = 5,
	PEVNT_RATE = 7,
	PEVNT_DENY = 8,
	PEVNT_NEWPEER = 10,
	PEVNT_POPCORN = 13,
};

/* ntpd peer status word bits (ntp_control.h CTL_PST_*), upper byte. */
#define CTL_PST_CONFIG 0x80
#define CTL_PST_REACH  0x10

struct ntp_host {
	/* configuration, fixed at ntp_host_new */
	int8_t precision; /* log2 s */
	bool control_remote;
	int minsane, minclock, maxclock;
	bool auth_required;  /* `enable auth` (default): ephemeral peers must authenticate */
	double maxdist;      /* s, tos maxdist */
	int orphan;          /* tos orphan stratum; 16 = off */
	ntp_time orphanwait; /* ns */
	uint32_t stats;      /* NTP_STATS_* bits that are enabled */

	/* system variables (RFC 5905 §11, ntpd sys_*) */
	uint8_t leap;
	uint8_t stratum; /* 16 = unsynchronised */
	uint32_t refid;
	ntp_ts64 reftime;
	double rootdelay;   /* s */
	double rootdisp;    /* s */
	ntp_time t_update;  /* mono time of the last clock update (dispersion ages) */
	int sys_peer;       /* slot + 1, 0 = none */
	ntp_time sys_epoch; /* filter epoch (mono) of the last sample given to the discipline */
	double offset;      /* s, combined offset of the last selection */
	double jitter;      /* s, system jitter of the last selection */
	double clockhop;    /* s, ntp_select clockhop carried between runs */
	double sel_low, sel_high; /* s, last intersection interval */
	bool sel_interval;        /* sel_low/high valid */
	bool orphan_active;
	ntp_time orphan_at; /* mono time orphan mode may begin; NEVER = not armed */
	bool exited;        /* panic: EXIT emitted, the host does nothing more */
	bool started;       /* restart events emitted */
	ntp_time t_start;   /* mono time of ntp_host_new: the first tick is due */
	unsigned steps;
	uint32_t local_refid; /* refid of the local address we were last reached at */
	char no_peer_reason[NTP_REASON_MAX];

	/* modules */
	ntp_disc disc;
	ntp_server server;
	ntp_rand rnd;
	ntp_nonce nonce; /* client transmit timestamps (cryptographic) */
	ntp_fault fault;

	/* tables, inside the same allocation as the host */
	ntp_peer *peers;
	size_t n_peers; /* slots: configured + passive */
	size_t n_config;
	ntp_restrict_entry *res;
	size_t n_res;
	size_t alloc_size; /* bytes of the one allocation */

	/* rate limits of the host's own (assoc 0) flood-prone events, by kind */
	ntp_time ev_tat[4];
	uint32_t ev_suppressed[4];
	bool ev_limited[4];

	/* the call in progress */
	ntp_actions *out;
	ntp_now now; /* its clocks; a step within the call moves now.local */
};

static void clock_select(ntp_host *h);

/* ---- small helpers ---- */

/* The clocks the core accepts: +-2^62 ns (146 years) around their origin,
 * so that a time plus any interval the core adds (at most 2^31 s) cannot
 * overflow ntp_time (found by fuzz_host: a driver's clock at INT64_MIN). */
#define NOW_LIMIT ((ntp_time)1 << 62)

static ntp_time
clamp_now(ntp_time t)
{
	return t > NOW_LIMIT ? NOW_LIMIT : t < -NOW_LIMIT ? -NOW_LIMIT : t;
}

static ntp_now
clamp_both(ntp_now n)
{
	return ntp_now_at(clamp_now(n.mono), clamp_now(n.local));
}

static double
log2_s(int v)
{
	return ldexp(1.0, v);
}

static bool
slot_used(const ntp_peer *p)
{
	return p->kind == NTP_PEER_LOCAL || p->addr.family != NTP_AF_NONE;
}

static int
assoc_id(const ntp_host *h, const ntp_peer *p)
{
	return (int)(p - h->peers) + 1;
}

static char *
remote_name(const ntp_peer *p, char *buf, size_t size)
{
	if (p->kind == NTP_PEER_LOCAL) {
		snprintf(buf, size, "LOCAL(%u)", p->unit);
		return buf;
	}
	return ntp_addr_format(&p->addr, buf, size);
}

static ntp_action *
push(ntp_host *h, uint8_t kind)
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
	return a;
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

static void event(ntp_host *h, int code, int assoc, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void
event(ntp_host *h, int code, int assoc, const char *fmt, ...)
{
	char note[64];
	ntp_action *a;
	va_list ap;

	if (!gate_admits(h, code, assoc, note, sizeof note) ||
	    (a = push(h, NTP_ACT_EVENT)) == NULL) {
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
	    !gate_pass(g.tat, h->now.mono) || (a = push(h, NTP_ACT_EVENT)) == NULL) {
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

static void
flush_gates(ntp_host *h)
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
static ntp_time
next_gate_flush(const ntp_host *h)
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
static void
peer_event(ntp_peer *p, int code)
{
	p->num_events = (uint8_t)((p->num_events + 1) & 0x0f);
	p->last_event = (uint8_t)code;
}

static void
send_packet(ntp_host *h, const ntp_addr *to, const ntp_addr *from, const ntp_pkt *pkt,
            bool patch_xmt)
{
	ntp_action *a = push(h, NTP_ACT_SEND);
	size_t len = 0;

	if (a == NULL) {
		return;
	}
	if (ntp_pkt_encode(pkt, a->u.send.buf, sizeof a->u.send.buf, &len) != NTP_PKT_OK) {
		h->out->n--; /* our own packet: cannot happen unless a fault broke a field */
		return;
	}
	a->u.send.to = *to;
	if (from != NULL) {
		a->u.send.from = *from;
	} else {
		memset(&a->u.send.from, 0, sizeof a->u.send.from);
	}
	a->u.send.len = len;
	a->u.send.patch_xmt = patch_xmt;
}

static void
stats_line(ntp_host *h, uint32_t file, const char *line)
{
	ntp_action *a;

	if (!(h->stats & file) || (a = push(h, NTP_ACT_STATS)) == NULL) {
		return;
	}
	a->u.stats.file = file;
	snprintf(a->u.stats.line, sizeof a->u.stats.line, "%s", line);
}

/* ntpd ctlpeerstatus(): select code, config and reach bits, event count
 * and last event, as peerstats and ntpq's "status" show it. */
static unsigned
peer_status_word(const ntp_peer *p)
{
	unsigned hi = p->sel & 0x07u;

	if (p->flags & NTP_PEER_F_CONFIG) {
		hi |= CTL_PST_CONFIG;
	}
	if (p->reach != 0) {
		hi |= CTL_PST_REACH;
	}
	return (hi << 8) | ((p->num_events & 0x0fu) << 4) | (p->last_event & 0x0fu);
}

/* ntpd record_peer_stats(): "MJD SOD addr status offset delay disp jitter". */
static void
peerstats(ntp_host *h, const ntp_peer *p)
{
	char line[192], addr[48];
	long mjd;
	double sod;

	if (!(h->stats & NTP_STATS_PEERSTATS)) {
		return;
	}
	ntp_time_mjd(h->now.local, &mjd, &sod);
	snprintf(line, sizeof line, "%ld %.3f %s %x %.9f %.9f %.9f %.9f", mjd, sod,
	         ntp_addr_format(&p->addr, addr, sizeof addr), peer_status_word(p),
	         p->filter.offset, p->filter.delay, p->filter.disp, p->filter.jitter);
	stats_line(h, NTP_STATS_PEERSTATS, line);
}

static void
loopstats(ntp_host *h)
{
	char line[192];

	if (!(h->stats & NTP_STATS_LOOPSTATS)) {
		return;
	}
	ntp_disc_loopstats(&h->disc, h->now.local, line, sizeof line);
	stats_line(h, NTP_STATS_LOOPSTATS, line);
}

/* What the per-association procedures read of the system. */
static ntp_proto_sys
proto_sys(const ntp_host *h)
{
	ntp_proto_sys s = {
	        .precision = h->precision,
	        .poll = ntp_disc_poll(&h->disc),
	        .maxdist = h->maxdist,
	        /* ntpd 4.2.8: no filter sort until the startup clamp is over */
	        .filter_no_sort = h->disc.freq_cnt > 0.0,
	        .leap = h->leap,
	        .stratum = h->stratum,
	        .refid = h->refid,
	        .reftime = h->reftime,
	        .rootdelay = h->rootdelay,
	        .rootdisp = h->rootdisp,
	};

	return s;
}

/* Root dispersion grows at PHI since the last update (RFC 5905 §11.2.3);
 * ntpd sends the stored value, NTPsec and we age it, so the clients of a
 * host that lost its sources see its error bound grow. */
static double
aged_rootdisp(const ntp_host *h)
{
	double age = ntp_time_diff_s(h->now.mono, h->t_update);

	return h->rootdisp + (h->stratum < NTP_STRATUM_UNSPEC && age > 0.0 ? NTP_PHI * age : 0.0);
}

static ntp_server_sys
server_sys(const ntp_host *h)
{
	ntp_server_sys s = {
	        .leap = h->leap,
	        .stratum = h->stratum,
	        .precision = h->precision,
	        .poll = ntp_disc_poll(&h->disc),
	        .rootdelay = ntp_short_from_s(h->rootdelay),
	        .rootdisp = ntp_short_from_s(aged_rootdisp(h)),
	        .refid = h->refid,
	        .reftime = h->reftime,
	};

	return s;
}

static void
set_unsynchronised(ntp_host *h, const char *refid)
{
	h->leap = NTP_LEAP_NOTSYNC;
	h->stratum = NTP_STRATUM_UNSPEC;
	h->refid = NTP_REFID(refid);
	h->reftime = 0;
	h->rootdelay = 0.0;
	h->rootdisp = 0.0;
}

/* ---- construction ---- */

static size_t
align_up(size_t n)
{
	size_t a = _Alignof(max_align_t);

	return (n + a - 1) / a * a;
}

static bool
is_network_server(const ntp_conf_server *s)
{
	return s->kind == NTP_CONF_SERVER || s->kind == NTP_CONF_PEER;
}

/* Could any source mobilise a passive association?  Not while ephemeral
 * peers need authentication (`enable auth`, ntpd's default; there are no
 * keys yet), nor when both defaults and every address entry say nopeer (or
 * noepeer/ignore/noserve), as in CentOS's "restrict default nomodify
 * notrap nopeer noquery" with no other lines. */
static bool
passive_possible(const ntp_conf *c)
{
	const uint32_t closed = NTP_RES_NOPEER | NTP_RES_NOEPEER | NTP_RES_IGNORE | NTP_RES_NOSERVE;
	bool v4_closed = false, v6_closed = false;

	if (!c->disable_auth) {
		return false;
	}
	for (size_t i = 0; i < c->n_restrict; i++) {
		const ntp_restrict_entry *e = &c->restrict_list[i];
		bool is_closed = (e->flags & closed) != 0;

		if (e->kind == NTP_RES_DEFAULT) {
			if (e->addr.family != NTP_AF_INET6) {
				v4_closed = is_closed;
			}
			if (e->addr.family != NTP_AF_INET) {
				v6_closed = is_closed;
			}
		} else if (e->kind == NTP_RES_ADDR && !is_closed) {
			return true;
		}
	}
	return !(v4_closed && v6_closed);
}

static bool
uses_limited(const ntp_conf *c)
{
	for (size_t i = 0; i < c->n_restrict; i++) {
		if (c->restrict_list[i].flags & NTP_RES_LIMITED) {
			return true;
		}
	}
	return false;
}

/* Entries of the rate-limit table: none unless some source is rate
 * limited (`limited`, or remote mode 6, which is always accounted);
 * otherwise `mru maxdepth` or `maxmem` (the last given; NTPsec's 1 MiB by
 * default), and at least mindepth, which ntpd fills whatever maxdepth says. */
static size_t
mru_entries(const ntp_conf *c, bool control_remote)
{
	size_t n;

	if (!uses_limited(c) && !control_remote) {
		return 0;
	}
	if (c->mru_maxdepth >= 0) {
		n = (size_t)c->mru_maxdepth;
	} else {
		/* a config not from ntp_conf_init may have neither size */
		n = ntp_server_mru_entries(c->mru_maxmem >= 0 ? (size_t)c->mru_maxmem
		                                              : NTP_SERVER_MRU_MAXMEM_DEF);
	}
	if (c->mru_mindepth > 0 && (size_t)c->mru_mindepth > n) {
		n = (size_t)c->mru_mindepth;
	}
	return n < NTP_SERVER_MRU_MAX ? n : NTP_SERVER_MRU_MAX;
}

/* The rate-limit table in the host's block, with ntp.conf's `mru` knobs
 * and a hash key from the caller's entropy. */
static void
setup_server(ntp_host *h, const ntp_conf *c, const ntp_host_params *p, void *table, size_t entries)
{
	uint8_t key[16];

	ntp_server_init(&h->server, table, entries, c->discard_average, c->discard_minimum);
	ntp_server_set_mru(&h->server, c->mru_mindepth > 0 ? (size_t)c->mru_mindepth : 0,
	                   c->mru_maxage, c->mru_minage);
	ntp_nonce_subkey(p->nonce_key, MRU_HASH_DOMAIN, key, sizeof key);
	ntp_server_set_hash_key(&h->server, key);
}

/* An explicit host entry for addr (ntpd's restrict source does not
 * override one). */
static bool
has_host_entry(const ntp_restrict_entry *v, size_t n, const ntp_addr *addr)
{
	int full = addr->family == NTP_AF_INET ? 32 : 128;

	for (size_t i = 0; i < n; i++) {
		if (v[i].kind == NTP_RES_ADDR && ntp_addr_same_host(&v[i].addr, addr) &&
		    ntp_addr_prefix_len(&v[i].mask) == full) {
			return true;
		}
	}
	return false;
}

/* Copy the restrict list, instantiating `restrict source` for every
 * configured server address.  Returns the entries written. */
static size_t
build_restrict(const ntp_conf *c, ntp_restrict_entry *out)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_restrict; i++) {
		if (c->restrict_list[i].kind != NTP_RES_SOURCE) {
			out[n++] = c->restrict_list[i];
		}
	}
	for (size_t i = 0; i < c->n_restrict; i++) {
		const ntp_restrict_entry *t = &c->restrict_list[i];

		if (t->kind != NTP_RES_SOURCE) {
			continue;
		}
		for (size_t s = 0; s < c->n_servers; s++) {
			const ntp_addr *a = &c->servers[s].addr;

			if (!is_network_server(&c->servers[s]) || a->family == NTP_AF_NONE ||
			    has_host_entry(out, n, a)) {
				continue;
			}
			out[n++] = ntp_restrict_expand_source(t, a);
		}
	}
	return n;
}

static size_t
count_restrict(const ntp_conf *c, size_t n_net)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_restrict; i++) {
		n += c->restrict_list[i].kind == NTP_RES_SOURCE ? n_net : 1;
	}
	return n;
}

static uint32_t
enabled_stats(const ntp_conf *c)
{
	uint32_t bits = c->statistics;

	for (size_t i = 0; i < c->n_filegen && i < NTP_CONF_MAX_FILEGEN; i++) {
		if (c->filegen[i].enable) {
			bits |= c->filegen[i].which;
		}
	}
	return bits;
}

static uint8_t
peer_flags(uint32_t conf_flags)
{
	uint8_t f = NTP_PEER_F_CONFIG;

	f |= (conf_flags & NTP_CONF_F_PREFER) ? NTP_PEER_F_PREFER : 0;
	f |= (conf_flags & NTP_CONF_F_IBURST) ? NTP_PEER_F_IBURST : 0;
	f |= (conf_flags & NTP_CONF_F_BURST) ? NTP_PEER_F_BURST : 0;
	f |= (conf_flags & NTP_CONF_F_NOSELECT) ? NTP_PEER_F_NOSELECT : 0;
	f |= (conf_flags & NTP_CONF_F_TRUE) ? NTP_PEER_F_TRUE : 0;
	return f;
}

static void
setup_peer(ntp_host *h, ntp_peer *p, const ntp_conf_server *cs, size_t index, ntp_time mono)
{
	ntp_addr a = cs->addr;
	uint8_t kind = cs->kind == NTP_CONF_PEER          ? NTP_PEER_ACTIVE
	               : cs->kind == NTP_CONF_LOCAL_CLOCK ? NTP_PEER_LOCAL
	                                                  : NTP_PEER_CLIENT;
	int unit = cs->unit < 0 ? 0 : cs->unit > 255 ? 255 : cs->unit;

	if (kind == NTP_PEER_LOCAL) {
		memset(&a, 0, sizeof a);
		a.family = NTP_AF_INET;
		a.a[0] = 127;
		a.a[1] = 127;
		a.a[2] = 1;
		a.a[3] = (uint8_t)unit;
	} else if (a.port == 0) {
		a.port = NTP_PORT;
	}
	ntp_peer_init(p, kind, &a, peer_flags(cs->flags), cs->minpoll, cs->maxpoll, cs->version,
	              mono, h->precision);
	if (kind == NTP_PEER_LOCAL) {
		p->unit = (uint8_t)unit;
		p->cfg_stratum = (uint8_t)(cs->stratum < 0    ? 5
		                           : cs->stratum > 15 ? 15
		                                              : cs->stratum);
		ntp_peer_clear(p, "INIT", mono, h->precision);
	}
	/* ntpd peer_clear() during startup: the associations poll 1 s apart;
	 * a random fraction keeps simulated hosts from marching in step. */
	ntp_peer_schedule(
	        p, mono + (ntp_time)(index + 1) * FIRST_POLL_SPREAD_NS +
	                   (ntp_time)ntp_rand_below(&h->rnd, (uint64_t)FIRST_POLL_SPREAD_NS));
}

static bool
client_port_taken(const ntp_host *h, uint16_t port)
{
	for (size_t i = 0; i < h->n_config; i++) {
		if (h->peers[i].lport == port) {
			return true;
		}
	}
	return false;
}

/* RFC 9109: each client association sends from a port of its own, drawn
 * from the nonce generator (an off-path attacker must guess it as well as
 * the origin timestamp), distinct within the host.  `clientport N` puts
 * them all on N instead, as ntpd does with 123.  Symmetric associations
 * keep the NTP port (0): the peer sends to it. */
static void
assign_client_ports(ntp_host *h, const ntp_conf *c)
{
	for (size_t i = 0; i < h->n_config; i++) {
		ntp_peer *p = &h->peers[i];

		if (p->kind != NTP_PEER_CLIENT) {
			continue;
		}
		if (c->clientport != 0) {
			p->lport = c->clientport;
			continue;
		}
		uint16_t port;

		do {
			port = (uint16_t)(CLIENT_PORT_LO +
			                  ntp_nonce_below(&h->nonce,
			                                  CLIENT_PORT_HI - CLIENT_PORT_LO + 1));
		} while (client_port_taken(h, port));
		p->lport = port;
	}
}

static void
setup_discipline(ntp_host *h, const ntp_conf *c, const ntp_host_params *p)
{
	ntp_disc_params dp;
	int lo = 99, hi = -1;

	for (size_t i = 0; i < h->n_config; i++) {
		lo = h->peers[i].minpoll < lo ? h->peers[i].minpoll : lo;
		hi = h->peers[i].maxpoll > hi ? h->peers[i].maxpoll : hi;
	}
	ntp_disc_params_default(&dp);
	dp.step = ntp_conf_step(c);
	dp.stepout = ntp_conf_stepout(c);
	dp.panic = ntp_conf_panic(c);
	dp.allow_big_first_step = p->allow_big_first_step;
	if (hi >= 0) {
		dp.minpoll = (int8_t)lo;
		dp.maxpoll = (int8_t)hi;
	}
	dp.have_drift = p->have_drift;
	dp.drift_ppm = p->drift_ppm;
	dp.disabled = c->disable_ntp;
	dp.precision = log2_s(h->precision);
	ntp_disc_init(&h->disc, &dp, h->now.mono);
}

static void
setup_tos(ntp_host *h, const ntp_conf *c, ntp_time mono)
{
	h->minsane = c->tos_minsane >= 0 ? c->tos_minsane : NTP_SELECT_MINSANE;
	h->minclock = c->tos_minclock >= 0 ? c->tos_minclock : NTP_SELECT_MINCLOCK;
	h->maxclock = NTP_SELECT_MAXCLOCK;
	h->maxdist = c->tos_maxdist > 0.0 ? c->tos_maxdist : NTP_SELECT_MAXDIST;
	h->orphan = c->tos_orphan >= 1 && c->tos_orphan < NTP_STRATUM_UNSPEC ? c->tos_orphan
	                                                                     : NTP_STRATUM_UNSPEC;
	h->orphanwait =
	        ntp_time_from_s(c->tos_orphanwait >= 0.0 ? c->tos_orphanwait : ORPHWAIT_DEF);
	h->orphan_at = h->orphan < NTP_STRATUM_UNSPEC ? mono + h->orphanwait : NEVER;
}

static int
check_conf(const ntp_conf *c, const ntp_host_params *p, size_t *n_config, size_t *n_net, char *err,
           size_t errsize)
{
	if (c == NULL || p == NULL) {
		snprintf(err, errsize, "ntp_host_new: no config or no parameters");
		return -1;
	}
	*n_config = 0;
	*n_net = 0;
	for (size_t i = 0; i < c->n_servers && i < NTP_CONF_MAX_SERVERS; i++) {
		const ntp_conf_server *s = &c->servers[i];

		if (s->kind == NTP_CONF_POOL) {
			continue;
		}
		if (is_network_server(s)) {
			if (s->addr.family == NTP_AF_NONE) {
				snprintf(err, errsize,
				         "%s:%d: server '%s' has no resolved address (resolve it "
				         "before ntp_host_new)",
				         c->filename, s->line, s->host);
				return -1;
			}
			(*n_net)++;
		} else if (s->kind != NTP_CONF_LOCAL_CLOCK) {
			snprintf(err, errsize, "%s:%d: unknown association kind %u", c->filename,
			         s->line, s->kind);
			return -1;
		}
		(*n_config)++;
	}
	if (c->n_restrict > NTP_CONF_MAX_RESTRICT) {
		snprintf(err, errsize, "ntp_host_new: %zu restrict entries, at most %d",
		         c->n_restrict, NTP_CONF_MAX_RESTRICT);
		return -1;
	}
	return 0;
}

ntp_host *
ntp_host_new(const ntp_conf *conf, const ntp_host_params *p, char *err, size_t errsize)
{
	char scratch[8];
	size_t n_config, n_net, n_slots, n_res, n_mru, off_peers, off_res, off_mru, total;
	ntp_host *h;
	size_t k = 0;

	if (err == NULL || errsize == 0) {
		err = scratch;
		errsize = sizeof scratch;
	}
	err[0] = '\0';
	if (check_conf(conf, p, &n_config, &n_net, err, errsize) != 0) {
		return NULL;
	}
	n_slots = n_config + (passive_possible(conf) ? NTP_HOST_PASSIVE_SLOTS : 0);
	n_res = count_restrict(conf, n_net);
	n_mru = mru_entries(conf, p->control_remote);
	off_peers = align_up(sizeof(ntp_host));
	off_res = off_peers + align_up(n_slots * sizeof(ntp_peer));
	off_mru = off_res + align_up(n_res * sizeof(ntp_restrict_entry));
	total = off_mru + NTP_SERVER_TABLE_BYTES(n_mru);
	h = calloc(1, total);
	if (h == NULL) {
		snprintf(err, errsize, "ntp_host_new: out of memory (%zu bytes)", total);
		return NULL;
	}
	h->alloc_size = total;
	h->peers = (ntp_peer *)(void *)((char *)h + off_peers);
	h->res = (ntp_restrict_entry *)(void *)((char *)h + off_res);
	h->n_peers = n_slots;
	h->n_config = n_config;
	h->n_res = build_restrict(conf, h->res);
	h->precision = p->precision != 0 ? p->precision : -20;
	h->control_remote = p->control_remote;
	h->auth_required = !conf->disable_auth;
	h->stats = enabled_stats(conf);
	h->now = clamp_both(p->now);
	h->t_start = h->now.mono;
	ntp_rand_seed(&h->rnd, p->seed);
	_Static_assert(NTP_HOST_NONCE_KEY_BYTES == NTP_NONCE_KEY_BYTES, "one key size");
	if (!ntp_nonce_init(&h->nonce, p->nonce_key)) {
		snprintf(err, errsize,
		         "ntp_host_new: nonce_key is all zero: pass %d bytes of "
		         "entropy (refd: getrandom; ntpsim: derived from the seed)",
		         NTP_HOST_NONCE_KEY_BYTES);
		free(h);
		return NULL;
	}
	setup_tos(h, conf, h->now.mono);
	for (size_t i = 0; i < conf->n_servers && i < NTP_CONF_MAX_SERVERS; i++) {
		if (conf->servers[i].kind != NTP_CONF_POOL) {
			setup_peer(h, &h->peers[k], &conf->servers[i], k, h->now.mono);
			k++;
		}
	}
	assign_client_ports(h, conf);
	setup_discipline(h, conf, p);
	setup_server(h, conf, p, (char *)h + off_mru, n_mru);
	set_unsynchronised(h, "INIT");
	h->t_update = h->now.mono;
	h->sys_epoch = NTP_FILTER_NEVER;
	h->jitter = log2_s(h->precision);
	snprintf(h->no_peer_reason, sizeof h->no_peer_reason, "no update yet");
	return h;
}

void
ntp_host_free(ntp_host *h)
{
	free(h);
}

/* ---- the call in progress ---- */

/* ntpd sets the kernel frequency from the drift file at start-up
 * ("freq_set kernel N PPM"), long before the first clock update: without
 * this the clock would run uncorrected until a server is reached, or for
 * ever if none is. */
static void
apply_drift_frequency(ntp_host *h)
{
	ntp_action *a;

	if (h->disc.p.disabled || (a = push(h, NTP_ACT_ADJUST)) == NULL) {
		return;
	}
	a->u.adjust.offset = 0.0;
	a->u.adjust.freq = h->disc.freq;
	a->u.adjust.tau = 0.0;
}

static void
begin_call(ntp_host *h, ntp_actions *out, ntp_now now)
{
	h->out = out;
	h->now = clamp_both(now);
	if (!h->started) {
		h->started = true;
		event(h, NTP_EV_RESTART, 0, "ntplab host started: %zu associations", h->n_config);
		if (h->disc.state == NTP_DISC_FSET) {
			event(h, NTP_EV_FREQ_SET, 0, "frequency %.3f PPM from the drift file",
			      ntp_disc_freq_ppm(&h->disc));
			apply_drift_frequency(h);
		} else {
			event(h, NTP_EV_FREQ_NOT_SET, 0, "no drift file value: frequency unknown");
		}
	}
}

static void
end_call(ntp_host *h)
{
	h->out = NULL;
}

/* ---- stepping ---- */

/* Where an association's first poll after a step goes: ntpd peer_clear()
 * spreads them over minpoll with "any deterministic but uniformly
 * distributed function of the peer state" that an outsider cannot see --
 * NTPsec takes (association id ^ sock_hash(address)) % 2^minpoll s.  We
 * take a multiplicative hash of the address and port (as sock_hash does)
 * xor the association id, and at least 1 s (ntpd's timer fires on the
 * next second).  Deterministic, so no draw from the random stream. */
static ntp_time
restart_delay(const ntp_host *h, const ntp_peer *p)
{
	uint32_t x = p->addr.family;
	uint32_t span = 1u << p->minpoll;
	uint32_t k;

	for (size_t i = 0; i < sizeof p->addr.a; i++) {
		x = 37u * x + p->addr.a[i];
	}
	x = 37u * x + p->addr.port;
	k = ((x ^ (uint32_t)assoc_id(h, p)) % span);
	return (ntp_time)(k > 0 ? k : 1) * NTP_NS_PER_S;
}

/* ntpd clock_update() case 2: we stepped the clock.  Every association
 * starts over (peer_clear "STEP") and the host is unsynchronised until the
 * next update.  Timers are monotonic and stay where they are. */
static void
after_step(ntp_host *h, double step)
{
	ntp_time d = ntp_time_from_s(step);

	h->steps++;
	h->now.local = ntp_time_add_sat(h->now.local, d);
	for (size_t i = 0; i < h->n_peers; i++) {
		ntp_peer *p = &h->peers[i];

		if (!slot_used(p)) {
			continue;
		}
		ntp_peer_local_step(p, d);
		if (p->flags & NTP_PEER_F_DEMOBILIZED) {
			continue;
		}
		ntp_peer_clear(p, "STEP", h->now.mono, h->precision);
		ntp_peer_schedule(p, h->now.mono + restart_delay(h, p));
	}
	set_unsynchronised(h, "STEP");
	h->sys_peer = 0;
	h->jitter = log2_s(h->precision);
	h->t_update = h->now.mono;
}

/* ---- system process ---- */

static void
disc_events(ntp_host *h, const ntp_disc_out *o)
{
	if (o->old_state == o->new_state) {
		return;
	}
	switch (o->new_state) {
	case NTP_DISC_FREQ:
		event(h, NTP_EV_FREQ_MODE, 0, "measuring frequency: %s", o->reason);
		break;
	case NTP_DISC_SYNC:
		event(h, NTP_EV_CLOCK_SYNC, 0, "clock synchronised: %s", o->reason);
		break;
	case NTP_DISC_SPIK:
		event(h, NTP_EV_SPIKE_DETECT, 0, "%s", o->reason);
		break;
	default:
		break;
	}
}

/* The system variables from the system peer (RFC 5905 App. A.5.5.4
 * clock_update, ntpd 4.2.8 clock_update). */
static void
update_system_variables(ntp_host *h, const ntp_peer *p)
{
	double age = ntp_time_diff_s(h->now.mono, p->filter.update);
	/* ntpd takes the reference time from the packet's receive stamp
	 * (peer->dst): the local clock then, i.e. now less its age. */
	ntp_time rx_local = p->last_rx != NTP_TIME_NONE ? h->now.local - (h->now.mono - p->last_rx)
	                                                : h->now.local;
	double disp;

	h->stratum = (uint8_t)(p->stratum + 1 < NTP_STRATUM_UNSPEC ? p->stratum + 1
	                                                           : NTP_STRATUM_UNSPEC);
	if (p->kind == NTP_PEER_LOCAL) {
		/* ntpd: a reference clock at stratum 0 gives its code; one with
		 * a fudged stratum gives its 127.127.t.u address. */
		h->refid = p->stratum == 0 ? p->refid : LOCAL_NET | p->unit;
	} else {
		h->refid = ntp_addr_refid(&p->addr);
	}
	h->rootdelay = p->filter.delay + p->rootdelay;
	disp = p->rootdisp + p->filter.disp + h->jitter + NTP_PHI * (age > 0.0 ? age : 0.0) +
	       fabs(h->offset);
	h->rootdisp = disp > MINDIST ? disp : MINDIST;
	h->reftime = ntp_ts_from_unix_ns(rx_local);
	h->t_update = h->now.mono;
}

/* ntpd clock_update() case -1: "Life as we know it ends."  ntpd logs
 * "CLOCK: Panic: offset too big" and exits with status 1; the caller does
 * the exiting (ntpsim stops the node, refd exits). */
static void
panic_exit(ntp_host *h, const ntp_disc_out *o)
{
	ntp_action *a;

	set_unsynchronised(h, "PANC");
	event(h, NTP_EV_PANIC_STOP, 0, "%s", o->reason);
	a = push(h, NTP_ACT_EXIT);
	if (a != NULL) {
		a->u.exit.status = 1;
		snprintf(a->u.exit.reason, sizeof a->u.exit.reason,
		         "Panic: offset too big: %.3f s; set clock manually", h->offset);
	}
	h->exited = true;
}

static void
clock_update(ntp_host *h, ntp_peer *p)
{
	ntp_disc_out o;
	int rc;

	h->sys_epoch = p->filter.epoch;
	if (h->orphan_active) {
		h->orphan_active = false;
		event(h, NTP_EV_ORPHAN, 0, "leaving orphan mode: a source is selected");
	}
	update_system_variables(h, p);
	rc = ntp_disc_local_clock(&h->disc, h->offset, h->jitter, h->now.mono, &o);
	disc_events(h, &o);
	switch (rc) {
	case NTP_DISC_SLEW: {
		ntp_action *a = push(h, NTP_ACT_ADJUST);

		if (a != NULL) {
			a->u.adjust.offset = o.adj_offset;
			a->u.adjust.freq = o.adj_freq;
			a->u.adjust.tau = o.adj_tau;
		}
		if (h->leap == NTP_LEAP_NOTSYNC) {
			h->leap = NTP_LEAP_NONE;
		}
		break;
	}
	case NTP_DISC_STEP: {
		ntp_action *a = push(h, NTP_ACT_STEP);
		char name[48];

		if (a != NULL) {
			a->u.step.offset = o.step;
		}
		a = push(h, NTP_ACT_ADJUST);
		if (a != NULL) {
			a->u.adjust.offset = 0.0;
			a->u.adjust.freq = o.adj_freq;
			a->u.adjust.tau = o.adj_tau;
		}
		event(h, NTP_EV_CLOCK_STEP, 0, "step time server %s offset %+.6f sec (%s)",
		      remote_name(p, name, sizeof name), o.step, o.reason);
		after_step(h, o.step);
		break;
	}
	case NTP_DISC_PANIC:
		panic_exit(h, &o);
		return;
	default:
		/* IGNORE: spike, frequency measurement, or `disable ntp`. */
		break;
	}
	if (o.loopstats) {
		loopstats(h);
	}
	if (o.poll_changed && h->sys_peer != 0) {
		ntp_peer_set_hpoll(&h->peers[h->sys_peer - 1], o.poll);
	}
}

/* "no server suitable for synchronization: <first unfit source>: <why>". */
static void
describe_no_candidates(const ntp_host *h, char *buf, size_t size)
{
	char name[48], why[NTP_REASON_MAX];

	for (size_t i = 0; i < h->n_peers; i++) {
		const ntp_peer *p = &h->peers[i];
		uint16_t u;

		if (!slot_used(p)) {
			continue;
		}
		u = ntp_peer_unfit(p, h->now.mono, h->maxdist, MINDIST);
		if (u != 0) {
			snprintf(buf, size, "no server suitable for synchronization: %s %s",
			         remote_name(p, name, sizeof name),
			         ntp_proto_unfit_format(p, u, h->now.mono, h->maxdist, MINDIST, why,
			                                sizeof why));
			return;
		}
	}
	snprintf(buf, size, "no server suitable for synchronization: no sources");
}

static bool
any_fit(const ntp_host *h)
{
	for (size_t i = 0; i < h->n_peers; i++) {
		if (slot_used(&h->peers[i]) &&
		    ntp_peer_unfit(&h->peers[i], h->now.mono, h->maxdist, MINDIST) == 0) {
			return true;
		}
	}
	return false;
}

static void
lose_sys_peer(ntp_host *h, const ntp_select_result *r, int n_cand)
{
	if (n_cand == 0) {
		describe_no_candidates(h, h->no_peer_reason, sizeof h->no_peer_reason);
	} else {
		snprintf(h->no_peer_reason, sizeof h->no_peer_reason, "%s", r->reason);
	}
	if (h->sys_peer != 0) {
		event(h, NTP_EV_NO_SYS_PEER, 0, "%s", h->no_peer_reason);
		h->sys_peer = 0;
		if (h->orphan < NTP_STRATUM_UNSPEC) {
			h->orphan_at = h->now.mono + h->orphanwait; /* ntpd: orphwait restarts */
		}
	}
}

/* Orphan parent election (ntpd clock_select): among fit peers at the
 * orphan stratum, the lowest address refid wins if it is below ours. */
static int
orphan_parent(const ntp_host *h)
{
	uint32_t best = h->local_refid != 0 ? h->local_refid : UINT32_MAX;
	int pick = -1;

	for (size_t i = 0; i < h->n_peers; i++) {
		const ntp_peer *p = &h->peers[i];
		uint32_t met;

		if (!slot_used(p) || p->stratum != h->orphan ||
		    ntp_peer_unfit(p, h->now.mono, h->maxdist, MINDIST) != 0) {
			continue;
		}
		met = ntp_addr_refid(&p->addr);
		if (met < best) {
			best = met;
			pick = (int)i;
		}
	}
	return pick;
}

static ntp_select_cand
candidate(const ntp_host *h, const ntp_peer *p)
{
	ntp_select_cand c = {
	        .id = assoc_id(h, p),
	        .offset = p->filter.offset,
	        .jitter = p->filter.jitter,
	        .rootdist = ntp_peer_root_distance(p, h->now.mono, MINDIST),
	        .stratum = p->stratum,
	        .prefer = (p->flags & NTP_PEER_F_PREFER) != 0,
	        .trueticker = (p->flags & NTP_PEER_F_TRUE) != 0,
	        .local = p->kind == NTP_PEER_LOCAL,
	};

	return c;
}

static void
new_sys_peer(ntp_host *h, ntp_peer *p, const char *why)
{
	char name[48];

	if (h->sys_peer != assoc_id(h, p)) {
		h->sys_peer = assoc_id(h, p);
		peer_event(p, PEVNT_NEWPEER);
		event(h, NTP_EV_SYS_PEER, assoc_id(h, p), "%s: %s",
		      remote_name(p, name, sizeof name), why);
	}
}

/* RFC 5905 App. A.5.5.1 clock_select with the fit tests, the orphan
 * rules and ntp_select; then clock_update for a new sample. */
static void
clock_select(ntp_host *h)
{
	ntp_select_cand cand[NTP_SELECT_MAX];
	ntp_select_result r;
	ntp_select_params sp;
	int n = 0, orphan_pick;
	ntp_peer *sys;

	for (size_t i = 0; i < h->n_peers && n < NTP_SELECT_MAX; i++) {
		ntp_peer *p = &h->peers[i];
		uint16_t u;

		if (!slot_used(p)) {
			continue;
		}
		u = ntp_peer_unfit(p, h->now.mono, h->maxdist, MINDIST);
		p->flash = (uint16_t)((p->flash & NTP_PKT_TEST_MASK) | u);
		p->sel = NTP_SEL_REJECT;
		/* ntpd bug 2050: peers above the orphan stratum may have us as an
		 * ancestor; peers at it take part only in the orphan election. */
		if (u != 0 || (h->orphan < NTP_STRATUM_UNSPEC && p->stratum >= h->orphan)) {
			continue;
		}
		cand[n++] = candidate(h, p);
	}
	ntp_select_params_default(&sp);
	sp.minsane = h->minsane;
	sp.minclock = h->minclock;
	sp.maxclock = h->maxclock;
	sp.prev_sys_peer = h->sys_peer != 0 ? h->sys_peer : -1;
	sp.sys_precision = log2_s(h->precision);
	sp.maxdist = h->maxdist;
	sp.mindist = MINDIST;
	sp.clockhop = h->clockhop;
	ntp_select_run(cand, (size_t)n, &sp, &r);
	h->clockhop = r.clockhop;
	h->sel_interval = r.interval_found;
	h->sel_low = r.low;
	h->sel_high = r.high;
	for (int k = 0; k < n; k++) {
		h->peers[cand[k].id - 1].sel = r.state[k];
	}
	if (r.sys_peer < 0) {
		orphan_pick = h->orphan < NTP_STRATUM_UNSPEC ? orphan_parent(h) : -1;
		if (orphan_pick < 0) {
			lose_sys_peer(h, &r, n);
			return;
		}
		sys = &h->peers[orphan_pick];
		sys->sel = NTP_SEL_SYSPEER;
		h->offset = sys->filter.offset;
		h->jitter = sys->filter.jitter;
		new_sys_peer(h, sys, "orphan parent");
	} else {
		sys = &h->peers[r.sys_peer - 1];
		h->offset = r.offset;
		h->jitter = r.jitter;
		new_sys_peer(h, sys, r.why[r.sys_index]);
	}
	h->no_peer_reason[0] = '\0';
	/* ntpd: "Do not use old data, as this may mess up the clock
	 * discipline stability." */
	if (sys->filter.epoch == NTP_FILTER_NEVER || sys->filter.epoch <= h->sys_epoch) {
		return;
	}
	clock_update(h, sys);
}

/* A sample went through an association's filter. */
static void
after_filter(ntp_host *h, ntp_peer *p, int verdict, double spike)
{
	char name[48];

	switch (verdict) {
	case NTP_FILTER_NEW:
		peerstats(h, p);
		/* ntpd: select unless in a burst, or always while unsynchronised */
		if (p->burst == 0 || h->leap == NTP_LEAP_NOTSYNC) {
			clock_select(h);
		}
		break;
	case NTP_FILTER_POPCORN:
		peer_event(p, PEVNT_POPCORN);
		event(h, NTP_EV_POPCORN, assoc_id(h, p), "%s popcorn spike %.6f s suppressed",
		      remote_name(p, name, sizeof name), spike);
		break;
	default:
		break;
	}
}

static void
reachable(ntp_host *h, ntp_peer *p)
{
	char name[48];

	peer_event(p, PEVNT_REACH);
	event(h, NTP_EV_REACHABLE, assoc_id(h, p), "%s reachable",
	      remote_name(p, name, sizeof name));
}

/* ---- the poll process ---- */

static void
free_slot(ntp_peer *p)
{
	memset(p, 0, sizeof *p);
	p->kind = NTP_PEER_PASSIVE;
	p->nextdate = NEVER;
}

static void
poll_peer(ntp_host *h, ntp_peer *p)
{
	ntp_proto_sys s = proto_sys(h);
	bool fit = ntp_peer_unfit(p, h->now.mono, h->maxdist, MINDIST) == 0;
	bool was_sys = h->sys_peer == assoc_id(h, p);
	ntp_poll_result res;
	ntp_pkt req;
	char name[48];

	ntp_peer_poll(p, &s, fit, h->now, &h->rnd, &h->nonce, &req, &res);
	if (res.send) {
		ntp_addr from;

		memset(&from, 0, sizeof from); /* any local address ... */
		from.port = p->lport;          /* ... from this port (0: the NTP port) */
		send_packet(h, &p->addr, &from, &req, false);
	}
	if (res.became_reachable) {
		reachable(h, p);
	}
	if (res.became_unreachable) {
		peer_event(p, PEVNT_UNREACH);
		event(h, NTP_EV_UNREACHABLE, assoc_id(h, p), "%s unreachable: no reply to 8 polls",
		      remote_name(p, name, sizeof name));
	}
	if (res.timed_out) {
		event(h, NTP_EV_DEMOBILIZE, assoc_id(h, p),
		      "%s: passive association timed out (unreachable)",
		      remote_name(p, name, sizeof name));
		free_slot(p);
		if (was_sys) {
			clock_select(h);
		}
		return;
	}
	if (res.sampled) {
		after_filter(h, p, res.filter_verdict, 0.0);
	}
	if (res.became_unreachable && was_sys && h->sys_peer == assoc_id(h, p)) {
		clock_select(h); /* ntpd waits for another sample; we drop it now */
	}
}

/* Orphan mode (ntpd timer()): no system peer for orphanwait: serve at the
 * orphan stratum with the loopback refid. */
static void
check_orphan(ntp_host *h)
{
	if (h->orphan >= NTP_STRATUM_UNSPEC || h->sys_peer != 0 || h->orphan_at == NEVER ||
	    h->now.mono < h->orphan_at) {
		return;
	}
	if (!h->orphan_active) {
		h->orphan_active = true;
		event(h, NTP_EV_ORPHAN, 0, "entering orphan mode at stratum %d: %s", h->orphan,
		      h->no_peer_reason[0] ? h->no_peer_reason : "no source");
	}
	h->leap = NTP_LEAP_NONE;
	h->stratum = (uint8_t)h->orphan;
	h->refid = h->orphan > 1 ? ORPHAN_REFID : NTP_REFID("ORPH");
	h->reftime = ntp_ts_from_unix_ns(h->now.local);
	h->rootdelay = 0.0;
	h->rootdisp = 0.0;
	h->t_update = h->now.mono;
}

void
ntp_host_tick(ntp_host *h, ntp_now now, ntp_actions *out)
{
	if (h == NULL || h->exited) {
		return;
	}
	begin_call(h, out, now);
	for (size_t i = 0; i < h->n_peers && !h->exited; i++) {
		ntp_peer *p = &h->peers[i];

		if (slot_used(p) && p->nextdate <= h->now.mono) {
			poll_peer(h, p);
		}
	}
	check_orphan(h);
	flush_gates(h);
	end_call(h);
}

ntp_time
ntp_host_next(const ntp_host *h)
{
	ntp_time next = NEVER;

	if (h == NULL || h->exited) {
		return NEVER;
	}
	if (!h->started) {
		return h->t_start; /* start-up is due, sources or not */
	}
	for (size_t i = 0; i < h->n_peers; i++) {
		const ntp_peer *p = &h->peers[i];

		if (slot_used(p) && p->nextdate < next) {
			next = p->nextdate;
		}
	}
	if (h->orphan < NTP_STRATUM_UNSPEC && h->sys_peer == 0 && !h->orphan_active &&
	    h->orphan_at < next) {
		next = h->orphan_at;
	}
	if (next_gate_flush(h) < next) {
		next = next_gate_flush(h);
	}
	return next;
}

/* ---- receive ---- */

/* A reply belongs to a client association only on the port its requests
 * left from (RFC 9109): one sent to another port was not meant for it. */
static bool
port_matches(const ntp_peer *p, const ntp_addr *to)
{
	return p->kind != NTP_PEER_CLIENT || p->lport == 0 || to == NULL || to->port == 0 ||
	       to->port == p->lport;
}

static ntp_peer *
find_assoc(ntp_host *h, const ntp_addr *from, const ntp_addr *to, uint8_t mode)
{
	for (size_t i = 0; i < h->n_peers; i++) {
		ntp_peer *p = &h->peers[i];

		if (!slot_used(p) || p->kind == NTP_PEER_LOCAL ||
		    !ntp_addr_same_host(&p->addr, from) ||
		    (p->addr.port != 0 && from->port != 0 && p->addr.port != from->port) ||
		    !port_matches(p, to)) {
			continue;
		}
		if ((mode == NTP_MODE_SERVER && p->kind == NTP_PEER_CLIENT) ||
		    (mode == NTP_MODE_ACTIVE &&
		     (p->kind == NTP_PEER_ACTIVE || p->kind == NTP_PEER_PASSIVE)) ||
		    (mode == NTP_MODE_PASSIVE && p->kind == NTP_PEER_ACTIVE)) {
			return p;
		}
	}
	return NULL;
}

static void
assoc_receive(ntp_host *h, ntp_peer *p, const ntp_pkt *pkt, const ntp_addr *to)
{
	ntp_proto_sys s = proto_sys(h);
	bool was_sys = h->sys_peer == assoc_id(h, p);
	ntp_rx_result rr;
	char name[48], why[NTP_REASON_MAX];

	if (to != NULL && to->family != NTP_AF_NONE) {
		p->local_refid = ntp_addr_refid(to);
	}
	ntp_peer_receive(p, pkt, h->now, &s, &rr);
	remote_name(p, name, sizeof name);
	ntp_proto_why_format(rr.why, rr.why_a, rr.why_b, why, sizeof why);
	switch (rr.verdict) {
	case NTP_RX_REJECT:
		event(h, NTP_EV_PKT_REJECTED, assoc_id(h, p), "%s: %s", name, why);
		return;
	case NTP_RX_KOD_SPOOFED:
		/* an event for every KoD, this one ignored */
		event(h, NTP_EV_KOD, assoc_id(h, p), "%s: %s", name, why);
		return;
	case NTP_RX_KOD:
		peer_event(p, rr.demobilized ? PEVNT_DENY : PEVNT_RATE);
		event(h, NTP_EV_KOD, assoc_id(h, p), "%s: %s", name, why);
		if (rr.demobilized) {
			char code[5] = {(char)(rr.kiss >> 24), (char)(rr.kiss >> 16),
			                (char)(rr.kiss >> 8), (char)rr.kiss, '\0'};

			event(h, NTP_EV_DEMOBILIZE, assoc_id(h, p),
			      "%s: kiss code %s: stopped polling", name, code);
			ntp_peer_clear(p, code, h->now.mono, h->precision);
			if (was_sys) {
				clock_select(h);
			}
		}
		return;
	default:
		break;
	}
	if (rr.became_reachable) {
		reachable(h, p);
	}
	after_filter(h, p, rr.filter_verdict, rr.spike);
}

static ntp_peer *
free_passive_slot(ntp_host *h)
{
	for (size_t i = h->n_config; i < h->n_peers; i++) {
		if (!slot_used(&h->peers[i])) {
			return &h->peers[i];
		}
	}
	return NULL;
}

/* An answer from the server part (fast_xmit), with the fault applied. */
static void
serve(ntp_host *h, const ntp_pkt *req, size_t len, const ntp_addr *from, const ntp_addr *to,
      uint32_t flags)
{
	ntp_server_sys sys = server_sys(h);
	ntp_serve_result r;
	ntp_server before;
	ntp_pkt reply;
	char name[48];
	int v;

	before = h->server;
	v = ntp_server_answer(&h->server, &sys, req, len, from, flags, h->now, h->now.local, &reply,
	                      &r);
	ntp_addr_format(from, name, sizeof name);
	if (v == NTP_SERVE_DROP) {
		/* the server counted the drop under its cause */
		int code = h->server.dropped_rate != before.dropped_rate ? NTP_EV_RATE_EXCEEDED
		           : h->server.dropped_restrict != before.dropped_restrict
		                   ? NTP_EV_ACCESS_DENIED
		                   : NTP_EV_PKT_REJECTED;

		event(h, code, 0, "request from %s dropped: %s", name, r.reason);
		return;
	}
	if (v == NTP_SERVE_KOD) {
		event(h, NTP_EV_RATE_EXCEEDED, 0, "request from %s: %s", name, r.reason);
	}
	if (!ntp_fault_apply(&h->fault, &reply)) {
		return; /* fault "silent" */
	}
	/* Replies may get a later transmit timestamp from the caller; a KoD
	 * (its xmt echoes the request) or a falseticker's xmt must stay. */
	send_packet(h, from, to, &reply,
	            v == NTP_SERVE_REPLY &&
	                    !(h->fault.kinds & (NTP_FAULT_FALSETICKER | NTP_FAULT_KOD)));
}

/* Associations (configured or ephemeral) with this address. */
static int
peers_from(const ntp_host *h, const ntp_addr *from)
{
	int n = 0;

	for (size_t i = 0; i < h->n_peers; i++) {
		n += slot_used(&h->peers[i]) && h->peers[i].kind != NTP_PEER_LOCAL &&
		     ntp_addr_same_host(&h->peers[i].addr, from);
	}
	return n;
}

/* May a mode 1 packet from a stranger mobilise an ephemeral symmetric
 * passive association?  As ntp-4.2.8p11 receive() decides: never under
 * `noepeer`; without authentication, never under `nopeer` or while
 * authentication is required (`enable auth`, ntpd's default: an
 * unauthenticated ephemeral peer can slew or step this host's clock,
 * CVE-2016-1549); never beyond `ippeerlimit` associations with the
 * address, nor without a free slot. */
static bool
passive_allowed(const ntp_host *h, const ntp_addr *from, const ntp_restrict_match *m,
                bool authentic)
{
	if (m->flags & (NTP_RES_NOEPEER | NTP_RES_NOSERVE)) {
		return false;
	}
	/* ntp-4.2.8 AM_NEWPASS: nopeer and notrust both demand authentication */
	if (!authentic && ((m->flags & (NTP_RES_NOPEER | NTP_RES_NOTRUST)) || h->auth_required)) {
		return false;
	}
	if (m->ippeerlimit != NTP_RES_NO_PEERLIMIT && peers_from(h, from) >= m->ippeerlimit) {
		return false;
	}
	return true;
}

/* A mode 1 packet from a source without an association (RFC 5905 §9.2
 * NEWPS): mobilise a symmetric passive association where allowed, else
 * answer it statelessly in mode 2 (ntpd's fast_xmit(MODE_PASSIVE)): one
 * reply per request, no state, no effect on our clock. */
static void
new_passive(ntp_host *h, const ntp_pkt *pkt, size_t len, const ntp_addr *from, const ntp_addr *to,
            const ntp_restrict_match *m)
{
	bool authentic = false; /* no keys yet: MAC verification comes with `keys` */
	ntp_peer *p = passive_allowed(h, from, m, authentic) ? free_passive_slot(h) : NULL;
	char name[48];

	if (p == NULL) {
		serve(h, pkt, len, from, to, m->flags);
		return;
	}
	/* The stranger's poll is only a hint: ntpd clamps an ephemeral
	 * association to NTP_MINDPOLL..NTP_MAXDPOLL, so one packet claiming
	 * poll 17 cannot hold the slot for days (10 unanswered polls). */
	ntp_peer_init(p, NTP_PEER_PASSIVE, from, 0, PASSIVE_MINPOLL, PASSIVE_MAXPOLL, pkt->version,
	              h->now.mono, h->precision);
	ntp_peer_schedule(p, h->now.mono + PASSIVE_FIRST_POLL_NS);
	event(h, NTP_EV_REACHABLE, assoc_id(h, p), "%s: symmetric passive association mobilised",
	      ntp_addr_format(from, name, sizeof name));
	assoc_receive(h, p, pkt, to);
}

#define CONTROL_PEERS_MAX 64 /* associations listed to ntpq (ours; = NTP_CONF_MAX_SERVERS) */

/* Mode 6 (ntpq): answer from snapshots of the public introspection structs,
 * one SEND per fragment (each <= 480 bytes, within NTP_SEND_MAX), at most
 * `budget` bytes in all (ntp_control_cap). */
static void
answer_control(ntp_host *h, const ntp_addr *from, const ntp_addr *to, const uint8_t *buf,
               size_t len, size_t budget)
{
	ntp_peer_info peers[CONTROL_PEERS_MAX];
	ntp_control_reply reply;
	ntp_sys_info sys;
	char reason[NTP_REASON_MAX], name[48];
	size_t n_peers = ntp_host_peers(h, h->now.mono, peers, CONTROL_PEERS_MAX);

	ntp_host_sys(h, &sys);
	if (ntp_control_answer(buf, len, true, &sys, peers, n_peers, h->now.local, &reply, reason,
	                       sizeof reason) < 0) {
		h->server.dropped_bad++;
		event(h, NTP_EV_PKT_REJECTED, 0, "mode 6 from %s dropped: %s",
		      ntp_addr_format(from, name, sizeof name), reason);
		return;
	}
	if (ntp_control_cap(&reply, budget)) {
		event(h, NTP_EV_ACCESS_DENIED, 0,
		      "mode 6 from %s: reply held to the %zu-byte request (no restrict entry of "
		      "its own): permission denied sent",
		      ntp_addr_format(from, name, sizeof name), len);
	}
	for (size_t i = 0; i < reply.n; i++) {
		ntp_action *a = push(h, NTP_ACT_SEND);

		if (a == NULL || reply.len[i] > sizeof a->u.send.buf) {
			return;
		}
		memcpy(a->u.send.buf, reply.buf[i], reply.len[i]);
		a->u.send.len = reply.len[i];
		a->u.send.to = *from;
		if (to != NULL) {
			a->u.send.from = *to;
		} else {
			memset(&a->u.send.from, 0, sizeof a->u.send.from);
		}
		a->u.send.patch_xmt = false;
	}
}

/* Does the source have a restrict entry of its own: an address or a
 * network the administrator named, not `default` nor its spelling
 * `0.0.0.0 mask 0.0.0.0`? */
static bool
named_by_restrict(const ntp_restrict_match *m)
{
	return m->entry != NULL && m->entry->kind == NTP_RES_ADDR &&
	       ntp_addr_prefix_len(&m->entry->mask) > 0;
}

/* Mode 6 from a remote (non-loopback) source, with remote control on.  A
 * source named by a restrict entry of its own that allows queries is
 * trusted: full replies, rate limited only under `limited`.  Every other
 * source is a stranger whose address may be forged: its requests always
 * pass the `discard` rate limit (the table time requests use) and its
 * replies are held to the request's size, so refd cannot amplify a
 * reflection attack (docs/security.md ("Mode 6 is no longer an amplifier")). */
static void
answer_remote_control(ntp_host *h, const ntp_addr *from, const ntp_addr *to,
                      const ntp_restrict_match *m, const uint8_t *buf, size_t len)
{
	bool trusted = named_by_restrict(m);
	uint8_t version = (uint8_t)((buf[0] >> 3) & 7u);
	ntp_serve_result r;
	char name[48];

	if ((!trusted || (m->flags & NTP_RES_LIMITED)) &&
	    ntp_server_limit_control(&h->server, from, version, h->now, &r) == NTP_SERVE_DROP) {
		event(h, NTP_EV_RATE_EXCEEDED, 0, "mode 6 from %s: %s",
		      ntp_addr_format(from, name, sizeof name), r.reason);
		return;
	}
	answer_control(h, from, to, buf, len, trusted ? SIZE_MAX : len);
}

static void
refuse_control(ntp_host *h, const ntp_addr *from, const ntp_addr *to, const ntp_restrict_match *m,
               int rc, const uint8_t *buf, size_t len)
{
	char name[48];

	ntp_addr_format(from, name, sizeof name);
	if (rc == NTP_PKT_IS_PRIVATE) {
		h->server.dropped_restrict++;
		event(h, NTP_EV_ACCESS_DENIED, 0, "mode 7 (ntpdc) from %s is never answered", name);
	} else if (m->flags & NTP_RES_NOQUERY) {
		h->server.dropped_restrict++;
		event(h, NTP_EV_ACCESS_DENIED, 0, "mode 6 from %s refused: restrict noquery", name);
	} else if (ntp_addr_is_loopback(from)) {
		answer_control(h, from, to, buf, len, SIZE_MAX);
	} else if (!h->control_remote) {
		h->server.dropped_restrict++;
		event(h, NTP_EV_ACCESS_DENIED, 0, "mode 6 from %s refused: not from loopback",
		      name);
	} else {
		answer_remote_control(h, from, to, m, buf, len);
	}
}

/* Packets for our associations are subject to noserve and notrust too
 * (ntpd receive(): RES_DONTSERVE drops all time packets). */
static bool
assoc_access_ok(ntp_host *h, ntp_peer *p, const ntp_pkt *pkt, uint32_t flags)
{
	const char *why = NULL;
	char name[48];

	if (flags & NTP_RES_NOSERVE) {
		why = "restrict noserve";
	} else if (flags & NTP_RES_NOTRUST) {
		/* No MAC is verified until keys exist: a packet that merely
		 * carries MAC-shaped bytes is no more authenticated than one
		 * without (any 20 bytes appended used to pass). */
		why = pkt->has_mac ? "restrict notrust: MAC not verified (no keys configured)"
		                   : "restrict notrust: packet not authenticated";
	}
	if (why == NULL) {
		return true;
	}
	p->flash |= NTP_TEST4;
	p->rejected++;
	h->server.dropped_restrict++;
	event(h, NTP_EV_ACCESS_DENIED, assoc_id(h, p), "%s: TEST4 access denied: %s",
	      remote_name(p, name, sizeof name), why);
	return false;
}

static void
dispatch(ntp_host *h, const ntp_pkt *pkt, size_t len, const ntp_addr *from, const ntp_addr *to,
         const ntp_restrict_match *m)
{
	uint32_t flags = m->flags;
	ntp_peer *p;
	char name[48];

	/* `restrict ... version`: only NTPv4, whatever the mode (ntpd
	 * receive() drops the others before dispatch; the server part checks
	 * client requests itself). */
	if ((flags & NTP_RES_VERSION) && pkt->version != NTP_VERSION_CUR &&
	    pkt->mode != NTP_MODE_CLIENT && pkt->mode != NTP_MODE_UNSPEC) {
		h->server.dropped_restrict++;
		event(h, NTP_EV_ACCESS_DENIED, 0,
		      "NTPv%u %s packet from %s dropped: restrict version", pkt->version,
		      ntp_pkt_mode_name(pkt->mode), ntp_addr_format(from, name, sizeof name));
		return;
	}

	switch (pkt->mode) {
	case NTP_MODE_CLIENT:
	case NTP_MODE_UNSPEC:
		serve(h, pkt, len, from, to, flags);
		return;
	case NTP_MODE_SERVER:
	case NTP_MODE_ACTIVE:
	case NTP_MODE_PASSIVE:
		p = find_assoc(h, from, to, pkt->mode);
		if (p != NULL) {
			if (assoc_access_ok(h, p, pkt, flags)) {
				assoc_receive(h, p, pkt, to);
			}
			return;
		}
		if (pkt->mode == NTP_MODE_ACTIVE) {
			new_passive(h, pkt, len, from, to, m);
			return;
		}
		break;
	default:
		break;
	}
	h->server.dropped_bad++;
	event(h, NTP_EV_PKT_REJECTED, 0,
	      "%s packet from %s to port %u matches no association: dropped",
	      ntp_pkt_mode_name(pkt->mode), ntp_addr_format(from, name, sizeof name),
	      to != NULL ? (unsigned)to->port : 0u);
}

/* Sources no datagram may come from, as ntpd's receive() has them: port
 * 0 (no reply could reach it: ntpd counts it as a bogus port), and the
 * reference clock pseudo-addresses 127.127.t.u (any local process can send
 * from 127/8; they are never network peers).  NULL for a fine source. */
static const char *
bogus_source(const ntp_addr *from)
{
	if (from->port == 0) {
		return "source port 0";
	}
	if (from->family == NTP_AF_INET && from->a[0] == 127 && from->a[1] == 127) {
		return "a reference clock pseudo-address (127.127.t.u)";
	}
	return NULL;
}

void
ntp_host_recv(ntp_host *h, const ntp_addr *from, const ntp_addr *to, const uint8_t *buf, size_t len,
              ntp_now t_recv, ntp_actions *out)
{
	ntp_restrict_match m;
	ntp_pkt_err perr;
	ntp_pkt pkt;
	char name[48];
	int rc;

	if (h == NULL || h->exited) {
		return;
	}
	begin_call(h, out, t_recv);
	if (from == NULL || buf == NULL) {
		h->server.dropped_bad++;
		event(h, NTP_EV_PKT_REJECTED, 0, "datagram without source address or data");
		end_call(h);
		return;
	}
	m = ntp_restrict_lookup(h->res, h->n_res, from);
	if (m.flags & NTP_RES_IGNORE) {
		h->server.dropped_restrict++; /* ntpd: "ignore" means not even an event */
		end_call(h);
		return;
	}
	if (bogus_source(from) != NULL) {
		h->server.dropped_bad++;
		event(h, NTP_EV_PKT_REJECTED, 0, "datagram from %s dropped: %s",
		      ntp_addr_format(from, name, sizeof name), bogus_source(from));
		end_call(h);
		return;
	}
	if (to != NULL && to->family != NTP_AF_NONE) {
		h->local_refid = ntp_addr_refid(to);
	}
	rc = ntp_pkt_decode(buf, len, &pkt, &perr);
	if (rc < 0) {
		h->server.dropped_bad++;
		event(h, NTP_EV_PKT_REJECTED, 0, "malformed packet from %s: %s",
		      ntp_addr_format(from, name, sizeof name), perr.msg);
	} else if (rc == NTP_PKT_IS_CONTROL || rc == NTP_PKT_IS_PRIVATE) {
		refuse_control(h, from, to, &m, rc, buf, len);
	} else {
		dispatch(h, &pkt, len, from, to, &m);
	}
	end_call(h);
}

/* ---- send time reports ---- */

/* The association whose outstanding request is this datagram: the key is
 * its destination and transmit timestamp (the origin the reply echoes). */
static ntp_peer *
outstanding_request(ntp_host *h, const ntp_addr *to, const uint8_t *buf, size_t len)
{
	ntp_pkt pkt;

	if (h == NULL || to == NULL || buf == NULL ||
	    ntp_pkt_decode(buf, len, &pkt, NULL) != NTP_PKT_OK || pkt.xmt == 0) {
		return NULL;
	}
	for (size_t i = 0; i < h->n_peers; i++) {
		ntp_peer *p = &h->peers[i];

		if (slot_used(p) && p->kind != NTP_PEER_LOCAL &&
		    ntp_peer_request_mode(p) == pkt.mode && p->aorg == pkt.xmt &&
		    ntp_addr_same_host(&p->addr, to) && p->addr.port == to->port) {
			return p;
		}
	}
	return NULL;
}

void
ntp_host_sent(ntp_host *h, const ntp_addr *to, const uint8_t *buf, size_t len, ntp_time when)
{
	uint64_t late_max = (uint64_t)ntp_time_from_s(NTP_HOST_SENT_LATE_MAX);
	ntp_peer *p = outstanding_request(h, to, buf, len);

	/* A request cannot leave before it was built, nor long after
	 * (unsigned: no overflow whatever the caller passes). */
	if (p != NULL && when >= p->t1 && (uint64_t)when - (uint64_t)p->t1 <= late_max) {
		p->t1 = when;
	}
}

void
ntp_host_sent_port(ntp_host *h, const ntp_addr *to, const uint8_t *buf, size_t len, uint16_t port)
{
	ntp_peer *p = outstanding_request(h, to, buf, len);

	if (p != NULL && p->kind == NTP_PEER_CLIENT && port != 0) {
		p->lport = port;
	}
}

/* ---- introspection ---- */

void
ntp_host_set_fault(ntp_host *h, const ntp_fault *f)
{
	if (h == NULL) {
		return;
	}
	if (f == NULL) {
		memset(&h->fault, 0, sizeof h->fault);
	} else {
		h->fault = *f;
	}
}

bool
ntp_host_uses_port(const ntp_host *h, uint16_t port)
{
	if (h == NULL || port == 0) {
		return false;
	}
	for (size_t i = 0; i < h->n_peers; i++) {
		if (slot_used(&h->peers[i]) && h->peers[i].lport == port) {
			return true;
		}
	}
	return false;
}

bool
ntp_host_exited(const ntp_host *h)
{
	return h != NULL && h->exited;
}

size_t
ntp_host_mem_size(const ntp_host *h)
{
	return h != NULL ? h->alloc_size : 0;
}

static char *
refid_text(uint32_t refid, char *buf, size_t size)
{
	char t[5];
	int n = 0;

	for (int i = 0; i < 4; i++) {
		uint8_t c = (uint8_t)(refid >> (24 - 8 * i));

		if (c == 0) {
			break;
		}
		t[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	t[n] = '\0';
	snprintf(buf, size, ".%s.", t);
	return buf;
}

/* ntpq's refid column: codes in dots for stratum 0/1/16 and reference
 * clocks, ntpq's clock names for 127.127.t.u, else a dotted quad. */
static char *
peer_refid(const ntp_peer *p, char *buf, size_t size)
{
	uint32_t r = p->refid;

	if (p->kind == NTP_PEER_LOCAL || p->stratum <= 1 || p->stratum >= NTP_STRATUM_UNSPEC) {
		return refid_text(r, buf, size);
	}
	if ((r & 0xffffff00u) == LOCAL_NET) {
		snprintf(buf, size, "LOCAL(%u)", (unsigned)(r & 0xff));
	} else {
		snprintf(buf, size, "%u.%u.%u.%u", (unsigned)(r >> 24),
		         (unsigned)((r >> 16) & 0xff), (unsigned)((r >> 8) & 0xff),
		         (unsigned)(r & 0xff));
	}
	return buf;
}

static char
peer_type(const ntp_peer *p)
{
	switch (p->kind) {
	case NTP_PEER_LOCAL:
		return 'l';
	case NTP_PEER_CLIENT:
		return 'u';
	default:
		return 's';
	}
}

/* Why an association has the tally it has, in words. */
static void
peer_reason(const ntp_host *h, const ntp_peer *p, ntp_time mono, char *buf, size_t size)
{
	uint16_t u = ntp_peer_unfit(p, mono, h->maxdist, MINDIST);

	if (p->flags & NTP_PEER_F_DEMOBILIZED) {
		ntp_proto_why_format(p->why, p->why_a, p->why_b, buf, size);
	} else if (u != 0) {
		ntp_proto_unfit_format(p, u, mono, h->maxdist, MINDIST, buf, size);
	} else if (p->sel == NTP_SEL_FALSETICKER && h->sel_interval) {
		snprintf(buf, size,
		         "falseticker: offset %+.6f s outside intersection [%+.6f, %+.6f]",
		         p->filter.offset, h->sel_low, h->sel_high);
	} else if (p->sel == NTP_SEL_SYSPEER) {
		snprintf(buf, size, "system peer");
	} else if (p->sel == NTP_SEL_REJECT && p->kind == NTP_PEER_LOCAL) {
		snprintf(buf, size, "local clock: used only when no other source survives");
	} else if (p->sel == NTP_SEL_REJECT && h->orphan < NTP_STRATUM_UNSPEC &&
	           p->stratum >= h->orphan) {
		snprintf(buf, size, "stratum %u at or above orphan stratum %d", p->stratum,
		         h->orphan);
	} else if (p->sel == NTP_SEL_REJECT) {
		snprintf(buf, size, "fit, not selected yet");
	} else {
		snprintf(buf, size, "%s", ntp_select_state_name(p->sel));
	}
}

/* The filter's ring, newest first, as ntpd's ctl_putarray shows it. */
static void
filter_register(const ntp_filter *f, ntp_peer_info *o)
{
	_Static_assert(NTP_PEER_INFO_STAGES == NTP_FILTER_STAGES, "one value per filter stage");
	for (int i = 0; i < NTP_FILTER_STAGES; i++) {
		const ntp_filter_stage *s =
		        &f->f[(f->next + NTP_FILTER_STAGES - 1 - i) % NTP_FILTER_STAGES];

		o->filt_delay[i] = s->delay;
		o->filt_offset[i] = s->offset;
		o->filt_disp[i] = s->disp;
	}
}

size_t
ntp_host_peers(const ntp_host *h, ntp_time mono, ntp_peer_info *out, size_t max)
{
	size_t n = 0;

	if (h == NULL || out == NULL) {
		return 0;
	}
	mono = clamp_now(mono);
	for (size_t i = 0; i < h->n_peers && n < max; i++) {
		const ntp_peer *p = &h->peers[i];
		ntp_peer_info *o = &out[n];

		if (!slot_used(p)) {
			continue;
		}
		memset(o, 0, sizeof *o);
		o->assoc = (int)i + 1;
		o->addr = p->addr;
		remote_name(p, o->remote, sizeof o->remote);
		peer_refid(p, o->refid, sizeof o->refid);
		o->stratum = p->stratum;
		o->type = peer_type(p);
		o->when = p->last_rx != NTP_TIME_NONE ? ntp_time_diff_s(mono, p->last_rx) : -1.0;
		o->poll = ntp_peer_poll_log2(p);
		o->reach = p->reach;
		o->delay = p->filter.delay;
		o->offset = p->filter.offset;
		o->jitter = p->filter.jitter;
		o->disp = p->filter.disp;
		o->tally = ntp_select_tally(p->sel);
		peer_reason(h, p, mono, o->reason, sizeof o->reason);
		o->leap = p->leap;
		o->prefer = (p->flags & NTP_PEER_F_PREFER) != 0;
		o->sent = p->sent;
		o->received = p->received;
		o->rejected = p->rejected;
		o->flash = p->flash;
		filter_register(&p->filter, o);
		n++;
	}
	return n;
}

void
ntp_host_sys(const ntp_host *h, ntp_sys_info *out)
{
	if (h == NULL || out == NULL) {
		return;
	}
	memset(out, 0, sizeof *out);
	out->leap = h->leap;
	out->stratum = h->stratum;
	out->precision = h->precision;
	out->poll = ntp_disc_poll(&h->disc);
	out->rootdelay = h->rootdelay;
	out->rootdisp = h->rootdisp;
	out->refid = h->refid;
	out->reftime = h->reftime;
	out->sys_peer = h->sys_peer;
	out->offset = h->offset;
	out->freq_ppm = ntp_disc_freq_ppm(&h->disc);
	out->sys_jitter = h->jitter;
	out->clk_jitter = h->disc.clk_jitter;
	out->clk_wander = h->disc.clk_wander * 1e6;
	out->disc_state = h->disc.state;
	out->steps = h->steps;
	if (h->sys_peer == 0 && !any_fit(h)) {
		/* as of the last call: nobody passes the fit tests */
		describe_no_candidates(h, out->no_sys_peer_reason, sizeof out->no_sys_peer_reason);
	} else if (h->sys_peer == 0) {
		snprintf(out->no_sys_peer_reason, sizeof out->no_sys_peer_reason, "%s",
		         h->no_peer_reason);
	}
	out->served = h->server.served;
	out->kod_sent = h->server.kod_sent;
	out->dropped_restrict = h->server.dropped_restrict;
	out->dropped_rate = h->server.dropped_rate;
	out->dropped_bad = h->server.dropped_bad;
	out->mru_entries = h->server.n;
	out->mru_depth = h->server.cap;
	out->mru_none = h->server.mru_none;
}

bool
ntp_host_peer_counters(const ntp_host *h, int assoc, ntp_peer_counters *out)
{
	const ntp_peer *p;

	if (h == NULL || out == NULL || assoc < 1 || (size_t)assoc > h->n_peers) {
		return false;
	}
	p = &h->peers[assoc - 1];
	if (!slot_used(p)) {
		return false;
	}
	memset(out, 0, sizeof *out);
	out->sent = p->sent;
	out->received = p->received;
	out->rejected = p->rejected;
	out->duplicate = p->duplicate;
	out->bogus = p->bogus;
	out->kod = p->kod;
	out->kod_spoofed = p->kod_spoofed;
	out->flash = p->flash;
	out->minpoll = p->minpoll;
	out->maxpoll = p->maxpoll;
	out->hpoll = p->hpoll;
	out->burst = p->burst;
	out->demobilized = (p->flags & NTP_PEER_F_DEMOBILIZED) != 0;
	out->next = p->nextdate;
	out->status = (uint16_t)peer_status_word(p);
	return true;
}
