/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The discrete-event engine.  One loop pops the earliest event (true time,
 * then insertion order) and dispatches it: a host timer, a datagram
 * arrival, a scenario event, a periodic sample, a step of a one-shot
 * query.  Host calls sample the node before (old state up to now) and,
 * after a step, again (new state), so checks and statistics integrate a
 * piecewise-linear true offset with its discontinuities in the right
 * place.
 */
#include "sim_engine.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ntp_const.h"
#include "ntp_fault.h"
#include "ntp_rand.h"
#include "sim_world.h"

enum ev_kind {
	EV_START = 1,   /* node: the daemon starts (scenario `start:`) */
	EV_TIMER,       /* node, gen: the host's deadline */
	EV_PKT,         /* node (destination), arg: packet slot */
	EV_SCEN,        /* arg: scenario event */
	EV_SAMPLE,      /* periodic sample of every node */
	EV_QUERY_BEGIN, /* node: a kind query node's scheduled query */
	EV_QUERY_TX,    /* node, gen: one round of requests */
	EV_QUERY_END,   /* node, gen: the verdict */
};

#define WIRE_OVERHEAD_V4 42      /* bytes: Ethernet 14 + IPv4 20 + UDP 8 (what tc rate counts) */
#define WIRE_OVERHEAD_V6 62      /* bytes: Ethernet 14 + IPv6 40 + UDP 8 */
#define SPIN_MAX         1000    /* host ticks at one instant before we back off (ours) */
#define SPIN_BACKOFF_NS  1000000 /* ns, 1 ms: how far a spinning timer is pushed */
#define QUERY_PORT_BASE  49152   /* first ephemeral port, RFC 6335 §6 */
#define QUERY_PORT_SPAN  16384   /* ephemeral ports */
#define PROGRESS_EVERY   65536   /* events between progress checks */
#define STEPPED          1
#define ADJUSTED         2
#define EXITED           4 /* the host gave up (panic): the daemon process ends */

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

static double
rel_s(const sim_world *w, int64_t t)
{
	return (double)(t - w->t0) / 1e9;
}

static int
push(sim_world *w, int64_t t, uint32_t kind, uint32_t node, uint32_t arg, uint32_t gen)
{
	if (netem_heap_push(&w->heap, t, kind, node, arg, gen) != 0) {
		snprintf(w->warn, sizeof(w->warn), "out of memory (event queue)");
		return -1;
	}
	return 0;
}

static const sim_node_spec *
tmpl_of(const sim_world *w, const sim_node *n)
{
	return sim_scenario_tmpl(w->sc, n->index);
}

static char *
node_name(const sim_world *w, const sim_node *n, char *buf, size_t size)
{
	return sim_scenario_node_name(w->sc, n->index, buf, size);
}

/* ------------------------------------------------------------------ */
/* address map: node address -> index                                  */

static uint64_t
addr_hash(const ntp_addr *a)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a 64 */
	size_t len = a->family == NTP_AF_INET ? 4 : 16;

	h ^= a->family;
	h *= UINT64_C(0x100000001b3);
	for (size_t i = 0; i < len; i++) {
		h ^= a->a[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

static int
addr_map_build(sim_world *w)
{
	size_t slots = 16;

	while (slots < (size_t)w->n_nodes * 2) {
		slots *= 2;
	}
	w->addr_slots = calloc(slots, sizeof(*w->addr_slots));
	if (w->addr_slots == NULL) {
		return -1;
	}
	w->n_addr_slots = slots;
	for (uint32_t i = 0; i < w->n_nodes; i++) {
		size_t h = (size_t)addr_hash(&w->nodes[i].addr) & (slots - 1);

		while (w->addr_slots[h] != 0) {
			h = (h + 1) & (slots - 1);
		}
		w->addr_slots[h] = i + 1;
	}
	return 0;
}

static long
addr_lookup(const sim_world *w, const ntp_addr *a)
{
	size_t h = (size_t)addr_hash(a) & (w->n_addr_slots - 1);

	while (w->addr_slots[h] != 0) {
		const sim_node *n = &w->nodes[w->addr_slots[h] - 1];

		if (ntp_addr_same_host(&n->addr, a)) {
			return (long)n->index;
		}
		h = (h + 1) & (w->n_addr_slots - 1);
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* links, created on first use                                         */

static bool
in_range(const sim_range *r, uint32_t i)
{
	return i >= r->first && i - r->first < r->count;
}

static bool
spec_matches(const sim_link_spec *s, uint32_t src, uint32_t dst)
{
	return (s->from_any || in_range(&s->from, src)) && (s->to_any || in_range(&s->to, dst));
}

static netem_link_params *
link_params_for(sim_world *w, uint32_t src, uint32_t dst)
{
	for (size_t i = w->n_lspecs; i-- > 0;) {
		if (spec_matches(w->lspecs[i].spec, src, dst)) {
			return &w->lspecs[i].p;
		}
	}
	return &w->net_default;
}

static sim_lspec *
push_lspec(sim_world *w, const sim_link_spec *spec)
{
	sim_lspec *e = &w->lspecs[w->n_lspecs++];

	e->spec = spec;
	e->p = spec->p;
	netem_link_params_sanitise(&e->p);
	return e;
}

static uint64_t
mix64(uint64_t x)
{
	/* splitmix64's finaliser: spreads node-index pairs over the table */
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

static size_t
link_hash(uint32_t src, uint32_t dst, size_t slots)
{
	return (size_t)mix64(((uint64_t)src << 32) | dst) & (slots - 1);
}

static void
link_map_insert(sim_link_slot *map, size_t slots, const sim_link_slot *e)
{
	size_t h = link_hash(e->src, e->dst, slots);

	while (map[h].src != UINT32_MAX) {
		h = (h + 1) & (slots - 1);
	}
	map[h] = *e;
}

static int
link_map_grow(sim_world *w)
{
	size_t slots = w->link_slots == 0 ? 64 : w->link_slots * 2;
	sim_link_slot *map = malloc(slots * sizeof(*map));

	if (map == NULL) {
		return -1;
	}
	for (size_t i = 0; i < slots; i++) {
		map[i].src = UINT32_MAX;
	}
	for (size_t i = 0; i < w->link_slots; i++) {
		if (w->link_map[i].src != UINT32_MAX) {
			link_map_insert(map, slots, &w->link_map[i]);
		}
	}
	free(w->link_map);
	w->link_map = map;
	w->link_slots = slots;
	return 0;
}

static sim_link *
get_link(sim_world *w, uint32_t src, uint32_t dst)
{
	char a[SIM_NAME_MAX + 12], b[SIM_NAME_MAX + 12], name[2 * SIM_NAME_MAX + 40];
	sim_link_slot e;
	sim_link *l;

	if (w->link_slots > 0) {
		size_t h = link_hash(src, dst, w->link_slots);

		while (w->link_map[h].src != UINT32_MAX) {
			if (w->link_map[h].src == src && w->link_map[h].dst == dst) {
				return &w->links[w->link_map[h].link];
			}
			h = (h + 1) & (w->link_slots - 1);
		}
	}
	if ((w->n_links + 1) * 2 > w->link_slots && link_map_grow(w) != 0) {
		return NULL;
	}
	if (w->n_links == w->links_cap) {
		size_t cap = w->links_cap == 0 ? 16 : w->links_cap * 2;
		sim_link *grown = realloc(w->links, cap * sizeof(*grown));

		if (grown == NULL) {
			return NULL;
		}
		w->links = grown;
		w->links_cap = cap;
	}
	l = &w->links[w->n_links];
	l->src = src;
	l->dst = dst;
	sim_scenario_node_name(w->sc, src, a, sizeof(a));
	sim_scenario_node_name(w->sc, dst, b, sizeof(b));
	snprintf(name, sizeof(name), "link:%s->%s", a, b);
	if (netem_link_init(&l->l, link_params_for(w, src, dst), w->seed, name) != 0) {
		return NULL;
	}
	netem_link_set_origin(&l->l, w->t0); /* an up window's `from` counts from the start */
	e.src = src;
	e.dst = dst;
	e.link = (uint32_t)w->n_links;
	link_map_insert(w->link_map, w->link_slots, &e);
	w->n_links++;
	return l;
}

/* ------------------------------------------------------------------ */
/* packet slots                                                        */

static long
pkt_alloc(sim_world *w)
{
	uint32_t i;

	if (w->free_pkt == UINT32_MAX) {
		uint32_t cap = w->pkts_cap == 0 ? 64 : w->pkts_cap * 2;
		sim_pkt *grown;

		if (cap < w->pkts_cap || cap > UINT32_MAX / 2) {
			return -1;
		}
		grown = realloc(w->pkts, (size_t)cap * sizeof(*grown));
		if (grown == NULL) {
			return -1;
		}
		w->pkts = grown;
		for (uint32_t j = w->pkts_cap; j < cap; j++) {
			w->pkts[j].next_free = j + 1 < cap ? j + 1 : UINT32_MAX;
		}
		w->free_pkt = w->pkts_cap;
		w->pkts_cap = cap;
	}
	i = w->free_pkt;
	w->free_pkt = w->pkts[i].next_free;
	return (long)i;
}

static void
pkt_release(sim_world *w, uint32_t i)
{
	if (--w->pkts[i].refs == 0) {
		w->pkts[i].next_free = w->free_pkt;
		w->free_pkt = i;
	}
}

/* ------------------------------------------------------------------ */
/* samples, statistics, checks                                         */

static double
square_integral(double v1, double v2, double dt)
{
	return (v1 * v1 + v1 * v2 + v2 * v2) / 3.0 * dt;
}

/* Is time t (s) in the settled part the report's metrics cover: from the
 * scenario's `settle`, else from the node's first synced sample? */
static bool
settled(const sim_world *w, const sim_node_stats *st, double t)
{
	return w->sc->settle >= 0.0 ? t >= w->sc->settle : st->t_first_sync >= 0.0;
}

/* Whether the time n serves is off true time by more than the sync bound
 * (its clock, or a falseticker fault), and since when: its clients'
 * falseticker_reject_time counts from then. */
static void
note_false(sim_world *w, sim_node *n, const sim_sample *s)
{
	double served = s->offset;

	if ((n->fault->kinds & NTP_FAULT_FALSETICKER) != 0) {
		served += n->fault->offset;
	}
	if (!n->running || fabs(served) <= w->sc->sync_bound) {
		n->t_false = -1.0;
	} else if (n->t_false < 0.0) {
		n->t_false = s->t;
		w->watch_false |= n->serves;
	}
}

/* n sent buf: a packet that carries its time to the receiver (a server's
 * reply, symmetric or broadcast mode) makes it a source, whose serving
 * false time its clients' tallies are watched for.  A client that starts
 * off (most do) serves nobody: watching every node's peer table for it
 * cost a peer-table read (strings formatted) after every host call. */
static void
note_serves(sim_world *w, sim_node *n, const uint8_t *buf, size_t len)
{
	int mode;

	if (n->serves || len == 0) {
		return;
	}
	mode = buf[0] & 0x07;
	if (mode == NTP_MODE_ACTIVE || mode == NTP_MODE_PASSIVE || mode == NTP_MODE_SERVER ||
	    mode == NTP_MODE_BROADCAST) {
		n->serves = true;
		w->watch_false |= n->t_false >= 0.0;
	}
}

static void
stats_update(sim_world *w, sim_node *n, const sim_sample *s)
{
	sim_node_stats *st = &n->st;
	bool good = s->has_peer && fabs(s->offset) < w->sc->sync_bound;
	double dt = st->have_last ? s->t - st->t_last : 0.0;

	if (dt > 0.0) {
		if (st->claims_last) {
			st->claim_span += dt;
			if (fabs(st->off_last) <= st->bound_last) {
				st->held_span += dt;
			}
		}
		if (good && st->good_last && st->t_good >= 0.0) {
			st->sync_span += dt;
			st->sync_sum2 += square_integral(st->off_last, s->offset, dt);
			st->sync_fsum2 += square_integral(st->freq_last, s->freq_err, dt);
		}
		if (settled(w, st, st->t_last)) {
			st->set_span += dt;
			st->set_sum2 += square_integral(st->off_last, s->offset, dt);
			st->set_fsum2 += square_integral(st->freq_last, s->freq_err, dt);
		}
	}
	note_false(w, n, s);
	if (n->metrics != NULL) {
		sim_metrics_sample(&n->metrics->m, s->t, s->offset);
	}
	if (good && st->t_first_sync < 0.0) {
		st->t_first_sync = s->t;
	}
	if (settled(w, st, s->t)) {
		st->set_max = fmax(st->set_max, fabs(s->offset));
	}
	if (s->claims_sync && fabs(s->offset) - s->bound > st->worst_excess) {
		st->worst_excess = fabs(s->offset) - s->bound;
	}
	if (good) {
		if (st->t_good < 0.0) {
			st->t_good = s->t;
			st->sync_sum2 = st->sync_span = st->sync_max = 0.0;
			st->sync_fsum2 = st->sync_fmax = 0.0;
		}
		st->sync_max = fmax(st->sync_max, fabs(s->offset));
		st->sync_fmax = fmax(st->sync_fmax, fabs(s->freq_err));
	} else {
		st->t_good = -1.0;
		st->t_bad = s->t;
	}
	if (s->has_peer && st->t_first_peer < 0.0) {
		st->t_first_peer = s->t;
	}
	st->max_abs = fmax(st->max_abs, fabs(s->offset));
	st->have_last = true;
	st->t_last = s->t;
	st->off_last = s->offset;
	st->freq_last = s->freq_err;
	st->bound_last = s->bound;
	st->claims_last = s->claims_sync;
	st->good_last = good;
}

/* The node's clean local time and true offset now. */
static ntp_time
local_now(sim_world *w, sim_node *n, int64_t *raw)
{
	int64_t r = sim_osc_raw(&n->osc, w->now);

	if (raw != NULL) {
		*raw = r;
	}
	return ntp_clock_read(&n->clock, r);
}

/* Both clocks the node's NTP host reads now (ntp_time.h ntp_now): its
 * monotonic clock exactly, its local clock as a program reads it
 * (resolution and read noise). */
static ntp_now
host_now(sim_world *w, sim_node *n, ntp_time clean_local)
{
	return ntp_now_at(sim_osc_mono(&n->osc, w->now), sim_osc_noisy(&n->osc, clean_local));
}

static ntp_time
mono_now(sim_world *w, sim_node *n)
{
	return sim_osc_mono(&n->osc, w->now);
}

static void
make_sample(sim_world *w, sim_node *n, ntp_time local, sim_sample *s)
{
	double of = sim_osc_freq(&n->osc, w->now);

	s->t = rel_s(w, w->now);
	s->offset = (double)(local - sim_utc_posix(&w->utc, w->now)) / 1e9;
	s->freq_err = of + ntp_clock_freq(&n->clock) * (1.0 + of);
	s->has_peer = n->running && n->sys_peer != 0;
	s->claims_sync = n->running && n->host != NULL && n->leap != NTP_LEAP_NOTSYNC &&
	                 n->stratum < NTP_STRATUM_UNSPEC;
	s->bound = n->rootdelay / 2.0 + n->rootdisp + SIM_PHI * ((double)(w->now - n->t_sys) / 1e9);
}

/* Sample the node whose clean clock reads `local` now. */
static void
sample_local(sim_world *w, sim_node *n, ntp_time local)
{
	sim_sample s;

	make_sample(w, n, local, &s);
	stats_update(w, n, &s);
	for (uint32_t i = 0; i < n->chk_count; i++) {
		const sim_chk_ref *r = &w->chk[n->chk_first + i];

		sim_check_sample(&w->sc->checks[r->check], &w->acc[r->acc], &s);
	}
}

static void
sample_node(sim_world *w, sim_node *n)
{
	sample_local(w, n, local_now(w, n, NULL));
}

/* The host may have changed: the reach the trace shows is read again. */
static void
host_touched(sim_node *n)
{
	n->reach_known = false;
}

/* The reach register shown in the trace: the system peer's, else the
 * first association's.  ntp_host_peers formats every association (ntpq's
 * view) to give this one byte, so the byte is kept until the host is
 * called again (host_touched): a trace row per sample_interval read it
 * every second (issue 17 §1; it does not depend on the time asked). */
static uint8_t
trace_reach(sim_world *w, sim_node *n)
{
	size_t np;
	uint8_t reach = 0;

	if (n->host == NULL) {
		return 0;
	}
	if (n->reach_known) {
		return n->reach;
	}
	np = ntp_host_peers_brief(n->host, w->peers, sizeof(w->peers) / sizeof(w->peers[0]));
	for (size_t i = 0; i < np; i++) {
		if (w->peers[i].assoc == n->sys_peer || (n->sys_peer == 0 && i == 0)) {
			reach = w->peers[i].reach;
		}
	}
	n->reach_known = true;
	return reach;
}

static void
trace_node(sim_world *w, sim_node *n)
{
	sim_sample s;

	if (n->out == NULL || n->out->trace == NULL) {
		return;
	}
	n->reach = trace_reach(w, n);
	make_sample(w, n, local_now(w, n, NULL), &s);
	sim_report_trace_row(w, n, s.t, s.offset, s.freq_err, s.bound);
}

/* Hand the node's state (its system variables, the np associations in
 * w->peers) to the checks that judge states. */
static void
observe_state(sim_world *w, sim_node *n, size_t np)
{
	sim_state s;

	s.t = rel_s(w, w->now);
	s.running = n->running;
	s.has_peer = n->running && n->sys_peer != 0;
	s.stratum = n->stratum;
	s.leap = n->leap;
	s.poll = n->poll;
	ntp_pkt_refid_assoc_format(n->refid, n->stratum, s.refid, sizeof(s.refid));
	s.offset = (double)(local_now(w, n, NULL) - sim_utc_posix(&w->utc, w->now)) / 1e9;
	s.est_offset = n->est_offset;
	s.peers = w->peers;
	s.n_peers = np;
	for (uint32_t i = 0; i < n->chk_count; i++) {
		const sim_chk_ref *r = &w->chk[n->chk_first + i];

		sim_check_state(&w->sc->checks[r->check], &w->acc[r->acc], &s);
	}
}

/* The node's associations into w->peers (none while it does not run). */
static size_t
fetch_peers(sim_world *w, sim_node *n)
{
	if (n->host == NULL) {
		return 0;
	}
	return ntp_host_peers(n->host, mono_now(w, n), w->peers,
	                      sizeof(w->peers) / sizeof(w->peers[0]));
}

/* Cache the host's system variables after a call; true when what the
 * trace shows of them changed. */
static bool
cache_sys(sim_world *w, sim_node *n)
{
	ntp_sys_vars si;
	bool changed;

	host_touched(n); /* sys_peer, which picks the reach shown, may change */
	if (n->host == NULL) {
		changed = n->sys_peer != 0 || n->leap != NTP_LEAP_NOTSYNC;
		n->sys_peer = 0;
		n->leap = NTP_LEAP_NOTSYNC;
		n->stratum = NTP_STRATUM_UNSPEC;
		n->refid = 0;
		return changed;
	}
	ntp_host_sys_vars(n->host, &si); /* a few numbers: no words, no copies per call */
	changed = n->sys_peer != si.sys_peer || n->leap != si.leap || n->stratum != si.stratum ||
	          n->poll != si.poll || n->disc_state != si.disc_state;
	n->t_sys = w->now;
	n->sys_peer = si.sys_peer;
	n->leap = si.leap;
	n->stratum = si.stratum;
	n->poll = si.poll;
	n->refid = si.refid;
	n->disc_state = si.disc_state;
	n->rootdelay = si.rootdelay;
	n->rootdisp = si.rootdisp;
	n->est_offset = 0.0 - si.offset; /* ntpd's offset is server - local; no -0 */
	n->freq_ppm = si.freq_ppm;
	return changed;
}

/* The report's falseticker_reject_time: the first time n tallies a source
 * that serves false time (note_false) as a falseticker or an outlier. */
static void
time_false_reject(sim_world *w, sim_node *n, size_t np)
{
	for (size_t i = 0; i < np; i++) {
		long s;

		if (w->peers[i].tally != 'x' && w->peers[i].tally != '-') {
			continue;
		}
		s = addr_lookup(w, &w->peers[i].addr);
		if (s >= 0 && w->nodes[s].t_false >= 0.0) {
			n->st.false_reject = rel_s(w, w->now) - w->nodes[s].t_false;
			return;
		}
	}
}

/* After a call into the host (or a start or stop): the cached system
 * variables, then the checks that look at its peers and state. */
static bool
refresh_sys(sim_world *w, sim_node *n)
{
	bool changed = cache_sys(w, n);
	bool watch = w->watch_false && n->st.false_reject < 0.0 && n->host != NULL &&
	             sim_node_detailed(w, n);
	size_t np;

	if (!n->needs_peers && !n->needs_state && !watch) {
		return changed;
	}
	/* watching for a falseticker reads tallies only: no words for that */
	np = n->needs_peers || n->needs_state
	             ? fetch_peers(w, n)
	             : ntp_host_peers_brief(n->host, w->peers,
	                                    sizeof(w->peers) / sizeof(w->peers[0]));
	if (watch) {
		time_false_reject(w, n, np);
	}
	for (uint32_t i = 0; n->host != NULL && n->needs_peers && i < n->chk_count; i++) {
		const sim_chk_ref *r = &w->chk[n->chk_first + i];

		sim_check_peers(&w->sc->checks[r->check], &w->acc[r->acc], rel_s(w, w->now),
		                w->peers, np);
	}
	if (n->needs_state) {
		observe_state(w, n, np);
	}
	return changed;
}

/* A packet node n sent or received, to the checks that time them. */
static void
time_packet(sim_world *w, sim_node *n, int dir, const ntp_addr *peer)
{
	for (uint32_t i = 0; n->needs_pkts && i < n->chk_count; i++) {
		const sim_chk_ref *r = &w->chk[n->chk_first + i];

		sim_check_packet(&w->sc->checks[r->check], &w->acc[r->acc], rel_s(w, w->now), dir,
		                 peer);
	}
}

/* ------------------------------------------------------------------ */
/* sending                                                             */

static void
send_datagram(sim_world *w, sim_node *n, const ntp_addr *to, uint16_t sport, const uint8_t *buf,
              size_t len)
{
	ntp_addr src = n->addr, dst = *to;
	const netem_fw_rule *hit = NULL;
	sim_link *link;
	sim_node *d;
	int64_t at[NETEM_OUT_MAX];
	long di, slot;
	int copies;

	src.port = sport;
	if (dst.port == 0) {
		dst.port = NTP_PORT;
	}
	if (len > NTP_SEND_MAX) {
		len = NTP_SEND_MAX;
	}
	n->st.sent++;
	note_serves(w, n, buf, len);
	time_packet(w, n, SIM_PKT_SENT, &dst);
	if (w->pcap_on) {
		sim_pcap_write(&w->pcap, w->now, &src, &dst, buf, len);
	}
	/* Most nodes talk to one peer: remember the last destination. */
	if (n->last_dst != 0 && ntp_addr_same_host(&w->nodes[n->last_dst - 1].addr, &dst)) {
		di = (long)n->last_dst - 1;
	} else {
		di = addr_lookup(w, &dst);
		n->last_link = UINT32_MAX;
	}
	if (di < 0) {
		w->dropped_unroutable++;
		n->st.dropped++;
		return;
	}
	d = &w->nodes[di];
	if (d->part != n->part) {
		w->dropped_partition++;
		n->st.dropped++;
		return;
	}
	if (w->sc->n_fw > 0 && netem_fw_eval(w->fw, w->sc->n_fw, &src, &dst, NETEM_FW_PROTO_UDP,
	                                     src.port, dst.port, &hit) != NETEM_FW_ACCEPT) {
		w->dropped_fw++;
		n->st.dropped++;
		return;
	}
	if (n->last_link != UINT32_MAX && n->last_dst == (uint32_t)di + 1) {
		link = &w->links[n->last_link];
	} else {
		link = get_link(w, n->index, (uint32_t)di);
		if (link == NULL) {
			snprintf(w->warn, sizeof(w->warn), "out of memory (links)");
			return;
		}
		n->last_dst = (uint32_t)di + 1;
		n->last_link = (uint32_t)(link - w->links);
	}
	copies = netem_link_offer(
	        &link->l, w->now,
	        len + (src.family == NTP_AF_INET ? WIRE_OVERHEAD_V4 : WIRE_OVERHEAD_V6), at);
	if (copies <= 0) {
		w->dropped_link++;
		n->st.dropped++;
		return;
	}
	if (copies > 1) {
		n->st.duplicated++;
	}
	slot = pkt_alloc(w);
	if (slot < 0) {
		snprintf(w->warn, sizeof(w->warn), "out of memory (packets in flight)");
		return;
	}
	w->pkts[slot].len = (uint16_t)len;
	w->pkts[slot].refs = (uint8_t)copies;
	w->pkts[slot].src_node = n->index;
	w->pkts[slot].src = src;
	w->pkts[slot].dst = dst;
	memcpy(w->pkts[slot].buf, buf, len);
	for (int i = 0; i < copies; i++) {
		push(w, at[i] < w->now ? w->now : at[i], EV_PKT, (uint32_t)di, (uint32_t)slot, 0);
	}
}

/* ------------------------------------------------------------------ */
/* host actions                                                        */

/* A line of events.log about node n, and to the checks that count them. */
static void
log_line(sim_world *w, sim_node *n, double t, const char *what, const char *detail)
{
	sim_report_event(w, n, t, what, detail);
	for (uint32_t i = 0; i < n->chk_count; i++) {
		const sim_chk_ref *r = &w->chk[n->chk_first + i];

		sim_check_log(&w->sc->checks[r->check], &w->acc[r->acc], t, what, detail);
	}
}

static void
on_event(sim_world *w, sim_node *n, int code, const char *reason)
{
	n->st.events++;
	log_line(w, n, rel_s(w, w->now), ntp_event_name(code), reason);
}

static void
on_step(sim_world *w, sim_node *n, double offset)
{
	double t = rel_s(w, w->now);

	n->st.steps++;
	n->st.last_step = offset;
	n->st.t_last_step = t;
	for (uint32_t i = 0; i < n->chk_count; i++) {
		const sim_chk_ref *r = &w->chk[n->chk_first + i];

		sim_check_step(&w->sc->checks[r->check], &w->acc[r->acc], t, offset);
	}
}

static int
apply_actions(sim_world *w, sim_node *n, int64_t raw)
{
	int changed = 0;

	for (size_t i = 0; i < w->acts.n && i < NTP_ACTIONS_MAX; i++) {
		const ntp_action *a = &w->acts.v[i];

		switch (a->kind) {
		case NTP_ACT_SEND:
			send_datagram(w, n, &a->u.send.to,
			              a->u.send.from.port != 0 ? a->u.send.from.port : n->port,
			              a->u.send.buf, a->u.send.len);
			break;
		case NTP_ACT_STEP:
			ntp_clock_step(&n->clock, raw, a->u.step.offset);
			on_step(w, n, a->u.step.offset);
			changed |= STEPPED;
			break;
		case NTP_ACT_ADJUST:
			ntp_clock_apply(&n->clock, raw, &a->u.adjust);
			changed |= ADJUSTED;
			break;
		case NTP_ACT_EVENT:
			on_event(w, n, a->u.event.code, a->u.event.reason);
			break;
		case NTP_ACT_STATS:
			sim_report_stats_line(w, n, rel_s(w, w->now), a->u.stats.file,
			                      a->u.stats.line);
			break;
		case NTP_ACT_LEAP:
			ntp_clock_leap(&n->clock, a->u.leap.step, a->u.leap.at);
			break;
		case NTP_ACT_EXIT:
			snprintf(w->exit_reason, sizeof(w->exit_reason),
			         "exited with status %d: %s", a->u.exit.status, a->u.exit.reason);
			changed |= EXITED;
			break;
		default:
			break;
		}
	}
	w->action_overflows += w->acts.overflow;
	return changed;
}

/* ------------------------------------------------------------------ */
/* timers                                                              */

static void
schedule_timer(sim_world *w, sim_node *n, bool force)
{
	ntp_time dl;
	int64_t t;

	if (!n->running || n->host == NULL) {
		return;
	}
	dl = ntp_host_next(n->host);
	if (dl == n->deadline && !force) {
		return;
	}
	n->deadline = dl;
	n->timer_gen++;
	if (dl == NTP_TIME_NEVER) {
		return;
	}
	/* The host's timers run on the node's monotonic clock. */
	t = sim_osc_true_for_mono(&n->osc, dl, w->now);
	if (t <= w->now) {
		ntp_time mono = mono_now(w, n);

		/* A clock that has not reached the deadline yet always gets a
		 * later event: the inverse may only give an early estimate. */
		t = w->now;
		if (mono < dl) {
			t = ntp_time_add_sat(w->now, dl - mono);
		}
	}
	if (t == w->now && n->spin_t == w->now && n->spin >= SPIN_MAX) {
		t = w->now + SPIN_BACKOFF_NS;
		n->st.timer_spins++;
	}
	push(w, t, EV_TIMER, n->index, 0, n->timer_gen);
}

static void stop_host(sim_world *w, sim_node *n, const char *why);

/* One call into the host: a tick (p NULL) or a datagram; raw and local
 * are the node's clocks now. */
static void
host_call(sim_world *w, sim_node *n, const sim_pkt *p, int64_t raw, ntp_time local)
{
	ntp_now arg = host_now(w, n, local);
	bool sys_changed;
	int changed;

	sample_local(w, n, local);
	ntp_actions_clear(&w->acts);
	if (p == NULL) {
		ntp_host_tick(n->host, arg, &w->acts);
	} else {
		ntp_host_recv(n->host, &p->src, &p->dst, p->buf, p->len, arg, &w->acts);
	}
	host_touched(n);
	changed = apply_actions(w, n, raw);
	if (changed & EXITED) {
		/* ntpd exits: the node stops as after a `stop` event, and the
		 * report says why. */
		size_t len = strlen(w->exit_reason) + 32;

		trace_node(w, n);
		free(n->exited);
		n->exited = malloc(len);
		if (n->exited != NULL) {
			snprintf(n->exited, len, "at %.3f s: %s", rel_s(w, w->now), w->exit_reason);
		}
		stop_host(w, n, w->exit_reason);
		return;
	}
	sys_changed = refresh_sys(w, n);
	if (changed & STEPPED) {
		sample_node(w, n);
	}
	/* A trace row per update of this host's own clock or state: its
	 * polls, the replies it gets, not the requests it serves. */
	if (changed != 0 || sys_changed || p == NULL ||
	    (p->len > 0 && (p->buf[0] & 7) != NTP_MODE_CLIENT)) {
		trace_node(w, n);
	}
	schedule_timer(w, n, changed != 0);
}

static void
on_timer(sim_world *w, const netem_event *e)
{
	sim_node *n = &w->nodes[e->node];
	int64_t raw;
	ntp_time local;

	if (!n->running || e->gen != n->timer_gen) {
		return;
	}
	local = local_now(w, n, &raw);
	if (mono_now(w, n) < n->deadline) {
		/* Scheduled from an estimate (beyond the look-ahead): try again. */
		schedule_timer(w, n, true);
		return;
	}
	if (n->spin_t == w->now) {
		n->spin++;
	} else {
		n->spin_t = w->now;
		n->spin = 0;
	}
	host_call(w, n, NULL, raw, local);
}

/* ------------------------------------------------------------------ */
/* daemon start and stop                                               */

typedef struct dns_note_ctx {
	sim_world *w;
	sim_node *n;
} dns_note_ctx;

static void
dns_note(void *ctx, const char *text)
{
	dns_note_ctx *c = ctx;

	log_line(c->w, c->n, rel_s(c->w, c->w->now), "dns", text);
}

/* The host of a daemon starting now.  A conf naming dns: entries is
 * resolved afresh at every start, as ntpd resolves its names when it
 * starts (and never again for a server): sim/, not core/, resolves. */
static ntp_host *
new_host(sim_world *w, sim_node *n, const sim_node_spec *t, const ntp_host_params *p, char *why,
         size_t size)
{
	dns_note_ctx ctx = {w, n};
	ntp_conf *c;
	ntp_host *h;

	if (!t->uses_dns && !sim_report_wants_peerstats(n)) {
		return ntp_host_new(t->conf, p, why, size);
	}
	c = malloc(sizeof(*c));
	if (c == NULL) {
		snprintf(why, size, "out of memory (resolved ntp.conf)");
		return NULL;
	}
	if (t->uses_dns) {
		sim_dns_resolve_conf(w->sc, t->conf, rel_s(w, w->now), c, dns_note, &ctx);
	} else {
		*c = *t->conf;
	}
	/* NODE.sources.csv is made of peerstats lines; the lines change nothing
	 * else the host does, and the peerstats file still follows the conf. */
	if (sim_report_wants_peerstats(n)) {
		c->statistics |= NTP_STATS_PEERSTATS;
	}
	h = ntp_host_new(c, p, why, size);
	free(c);
	return h;
}

static int
start_host(sim_world *w, sim_node *n)
{
	const sim_node_spec *t = tmpl_of(w, n);
	ntp_host_params p;
	char name[SIM_NAME_MAX + 12], stream[SIM_NAME_MAX + 40], why[200];
	ntp_rand r;

	node_name(w, n, name, sizeof(name));
	if (n->host != NULL) {
		sample_node(w, n);
		ntp_host_free(n->host);
		n->host = NULL;
	}
	if (n->st.restarts == 0) {
		snprintf(stream, sizeof(stream), "host:%s", name);
	} else {
		snprintf(stream, sizeof(stream), "host:%s:restart:%u", name, n->st.restarts);
	}
	ntp_rand_seed_named(&r, w->seed, stream);
	memset(&p, 0, sizeof(p));
	p.seed = ntp_rand_u64(&r);
	/* The host's nonce key, from the same named stream: reproducible from
	 * the scenario seed, as ntpsim must be (refd takes getrandom's). */
	for (size_t i = 0; i < sizeof(p.nonce_key); i++) {
		p.nonce_key[i] = (uint8_t)ntp_rand_below(&r, 256);
	}
	p.precision = t->precision;
	p.have_drift = t->have_drift;
	p.drift_ppm = t->drift_ppm;
	p.allow_big_first_step = t->big_first_step;
	p.now = host_now(w, n, local_now(w, n, NULL));
	p.leapfile = t->leapfile;
	p.keys = t->keys != NULL ? &t->keys->ring : NULL;
	n->host = new_host(w, n, t, &p, why, sizeof(why));
	if (n->host == NULL) {
		snprintf(w->warn, sizeof(w->warn),
		         "node %s: the core rejected its configuration: %s", name, why);
		return -1;
	}
	if (n->fault->kinds != 0) {
		ntp_host_set_fault(n->host, n->fault);
	}
	host_touched(n);
	n->st.restarts++;
	n->running = true;
	n->deadline = NTP_TIME_NEVER;
	n->spin = 0;
	refresh_sys(w, n);
	log_line(w, n, rel_s(w, w->now), "daemon", n->st.restarts > 1 ? "restarted" : "started");
	schedule_timer(w, n, true);
	return 0;
}

static void
stop_host(sim_world *w, sim_node *n, const char *why)
{
	if (!n->running) {
		return;
	}
	sample_node(w, n);
	ntp_host_free(n->host);
	n->host = NULL;
	n->running = false;
	n->timer_gen++;
	n->deadline = NTP_TIME_NEVER;
	refresh_sys(w, n);
	log_line(w, n, rel_s(w, w->now), "daemon", why);
}

/* ------------------------------------------------------------------ */
/* one-shot queries                                                    */

static void
query_begin(sim_world *w, sim_node *n, const sim_query_spec *spec)
{
	uint16_t port;
	double last;

	if (n->query == NULL) {
		n->query = calloc(1, sizeof(*n->query));
		if (n->query == NULL) {
			snprintf(w->warn, sizeof(w->warn), "out of memory (query)");
			return;
		}
	}
	port = spec->unprivileged ? (uint16_t)(QUERY_PORT_BASE + n->index % QUERY_PORT_SPAN)
	                          : NTP_PORT;
	sim_query_begin(n->query, spec, port);
	if (!spec->unprivileged && n->running) {
		/* ntpdate binds port 123 unless -u or -q: the daemon holds it. */
		sim_query_abort(n->query, "the NTP socket is in use, exiting");
		log_line(w, n, rel_s(w, w->now), "query", n->query->result);
		return;
	}
	for (int r = 0; r < spec->samples; r++) {
		push(w, w->now + llround(r * spec->interval * 1e9), EV_QUERY_TX, n->index, 0,
		     (uint32_t)n->query->runs);
	}
	last = (spec->samples - 1) * spec->interval + spec->timeout;
	push(w, w->now + llround(last * 1e9), EV_QUERY_END, n->index, 0, (uint32_t)n->query->runs);
}

static void
query_tx(sim_world *w, const netem_event *e)
{
	sim_node *n = &w->nodes[e->node];
	sim_query *q = n->query;
	uint8_t buf[NTP_SEND_MAX];

	if (q == NULL || !q->active || e->gen != (uint32_t)q->runs) {
		return;
	}
	for (size_t i = 0; i < q->spec->n_servers; i++) {
		ntp_time local = sim_osc_noisy(&n->osc, local_now(w, n, NULL));
		size_t len = sim_query_request(q, i, local, buf, sizeof(buf));

		if (len > 0) {
			send_datagram(w, n, &q->spec->servers[i], q->port, buf, len);
		}
	}
}

static void
query_end(sim_world *w, const netem_event *e)
{
	sim_node *n = &w->nodes[e->node];
	sim_query *q = n->query;
	char line[SIM_QUERY_LINES_MAX];
	size_t start = 0;

	if (q == NULL || !q->active || e->gen != (uint32_t)q->runs) {
		return;
	}
	sim_query_finish(q);
	/* Each server line, then the verdict, into the events log. */
	snprintf(line, sizeof(line), "%s", q->lines);
	for (size_t i = 0; line[i] != '\0'; i++) {
		if (line[i] == '\n') {
			line[i] = '\0';
			log_line(w, n, rel_s(w, w->now), "query", line + start);
			start = i + 1;
		}
	}
	log_line(w, n, rel_s(w, w->now), "query", q->result);
	if (q->spec->set && q->ok) {
		int64_t raw;

		sample_node(w, n);
		local_now(w, n, &raw);
		if (fabs(q->offset) >= SIM_QUERY_STEP_THRESHOLD) {
			/* settimeofday(2) */
			ntp_clock_step(&n->clock, raw, q->offset);
			on_step(w, n, q->offset);
		} else {
			/* adjtime(2): slew the whole offset at the kernel's rate */
			ntp_clock_adjust(&n->clock, raw, q->offset, n->clock.s.freq, 0.0);
		}
		sample_node(w, n);
		schedule_timer(w, n, true);
	}
}

/* ------------------------------------------------------------------ */
/* scenario events                                                     */

static void
external_step(sim_world *w, sim_node *n, double offset)
{
	int64_t off_before = n->osc.off;
	int64_t raw_before = sim_osc_raw(&n->osc, w->now);

	sample_node(w, n);
	sim_osc_step(&n->osc, w->now, offset);
	ntp_clock_shift_raw(&n->clock, raw_before, n->osc.off - off_before);
	sample_node(w, n);
	schedule_timer(w, n, true);
}

static void
add_link_spec(sim_world *w, const sim_event_spec *e)
{
	const sim_link_spec *added[2] = {&e->link, NULL};

	if (e->both) {
		sim_link_spec *r = &w->dyn_links[w->n_dyn_links++];

		*r = e->link;
		r->from = e->link.to;
		r->to = e->link.from;
		r->from_any = e->link.to_any;
		r->to_any = e->link.from_any;
		added[1] = r;
	}
	for (int k = 0; k < 2 && added[k] != NULL; k++) {
		sim_lspec *ls = push_lspec(w, added[k]);

		for (size_t i = 0; i < w->n_links; i++) {
			if (spec_matches(added[k], w->links[i].src, w->links[i].dst) &&
			    netem_link_set(&w->links[i].l, &ls->p) != 0) {
				snprintf(w->warn, sizeof(w->warn),
				         "out of memory (link parameters)");
			}
		}
	}
}

static void
scenario_event(sim_world *w, const netem_event *ev)
{
	const sim_event_spec *e = &w->sc->events[ev->arg];
	char what[160];
	double t = rel_s(w, w->now);

	switch (e->kind) {
	case SIM_EV_FIREWALL:
		w->fw[e->rule].enabled = e->enable;
		snprintf(what, sizeof(what), "firewall rule %s %s", w->fw[e->rule].name,
		         e->enable ? "on" : "off");
		sim_report_event(w, NULL, t, "scenario", what);
		break;
	case SIM_EV_PARTITION: {
		uint16_t id = ++w->next_part;

		for (size_t g = 0; g < e->n_groups; g++) {
			const sim_range *r = &e->groups[g];

			if (r->count == 0) {
				id = ++w->next_part;
				continue;
			}
			for (uint32_t i = 0; i < r->count; i++) {
				w->nodes[r->first + i].part = id;
			}
		}
		sim_report_event(w, NULL, t, "scenario", "network partitioned");
		break;
	}
	case SIM_EV_HEAL:
		for (uint32_t i = 0; i < w->n_nodes; i++) {
			w->nodes[i].part = 0;
		}
		sim_report_event(w, NULL, t, "scenario", "partition healed");
		break;
	case SIM_EV_LINK:
		add_link_spec(w, e);
		sim_report_event(w, NULL, t, "scenario", "link parameters changed");
		break;
	default:
		for (uint32_t i = 0; i < e->nodes.count; i++) {
			sim_node *n = &w->nodes[e->nodes.first + i];

			switch (e->kind) {
			case SIM_EV_STEP:
				external_step(w, n, e->value);
				snprintf(what, sizeof(what), "clock stepped by %+.9f s (external)",
				         e->value);
				log_line(w, n, t, "scenario", what);
				break;
			case SIM_EV_FREQ:
				sample_node(w, n);
				sim_osc_set_freq(&n->osc, w->now, e->value);
				schedule_timer(w, n, true);
				snprintf(what, sizeof(what),
				         "oscillator frequency error now %+.3f ppm",
				         e->value * 1e6);
				log_line(w, n, t, "scenario", what);
				break;
			case SIM_EV_STOP:
				stop_host(w, n, "stopped");
				break;
			case SIM_EV_START:
				if (n->kind == SIM_NODE_HOST && start_host(w, n) != 0) {
					return;
				}
				break;
			case SIM_EV_FAULT:
				n->fault = &e->fault;
				if (n->host != NULL) {
					ntp_host_set_fault(n->host, n->fault);
					host_touched(n);
				}
				ntp_fault_format(n->fault, what, sizeof(what));
				log_line(w, n, t, "fault", what);
				break;
			case SIM_EV_QUERY:
				query_begin(w, n, &e->query);
				break;
			default:
				break;
			}
		}
		break;
	}
	if (e->every > 0.0) {
		int64_t next = w->now + llround(e->every * 1e9);
		int64_t limit = e->until > 0.0 ? w->t0 + llround(e->until * 1e9) : w->t_end;

		if (next <= limit) {
			push(w, next, EV_SCEN, 0, ev->arg, 0);
		}
	}
}

/* ------------------------------------------------------------------ */
/* setup and teardown                                                  */

/* The nodes a check has accumulators for: its own, then the other node
 * it names (`since: {node: ...}`, more_than, less_than). */
static uint32_t
check_acc_count(const sim_check_spec *ck)
{
	return ck->nodes.count + ck->other.count;
}

static uint32_t
check_acc_node(const sim_check_spec *ck, uint32_t i)
{
	return i < ck->nodes.count ? ck->nodes.first + i : ck->other.first;
}

/* What the engine must hand a node's checks beyond samples and steps. */
static void
note_needs(sim_node *n, const sim_check_spec *ck)
{
	n->chk_count++;
	if (ck->kind == SIM_CHECK_REJECTED) {
		n->needs_peers = true;
	} else if (ck->kind == SIM_CHECK_SELECTED || ck->kind == SIM_CHECK_STATE) {
		n->needs_state = true;
	} else if (ck->kind == SIM_CHECK_INTERVAL) {
		n->needs_pkts = true;
	}
}

/* Every detailed node keeps its true offset on a grid for the report's
 * percentiles and stability statistics: 1 s apart, coarser when the
 * node's share of METRICS_POINTS_TOTAL needs it (a long run of many nodes
 * gets a coarser grid rather than gigabytes). */
#define METRICS_POINTS_TOTAL ((size_t)1 << 24) /* points, all nodes: 128 MiB (ours) */
#define METRICS_TAU0         1.0               /* s, finest grid step (ours) */

static int
setup_metrics(sim_world *w)
{
	size_t detailed = 0;

	for (uint32_t i = 0; i < w->n_nodes; i++) {
		detailed += sim_node_detailed(w, &w->nodes[i]);
	}
	for (uint32_t i = 0; i < w->n_nodes; i++) {
		sim_node *n = &w->nodes[i];

		if (!sim_node_detailed(w, n)) {
			continue;
		}
		n->metrics = calloc(1, sizeof(*n->metrics));
		if (n->metrics == NULL ||
		    sim_metrics_init_max(&n->metrics->m, METRICS_TAU0, w->sc->duration,
		                         METRICS_POINTS_TOTAL / detailed) != 0) {
			return -1;
		}
	}
	return 0;
}

static int
setup_checks(sim_world *w)
{
	const sim_scenario *sc = w->sc;
	size_t total = 0;
	uint32_t *fill;

	w->acc_base = calloc(sc->n_checks + 1, sizeof(*w->acc_base));
	w->outcome = calloc(sc->n_checks + 1, sizeof(*w->outcome));
	if (w->acc_base == NULL || w->outcome == NULL) {
		return -1;
	}
	for (size_t c = 0; c < sc->n_checks; c++) {
		const sim_check_spec *ck = &sc->checks[c];

		w->acc_base[c] = total;
		total += check_acc_count(ck);
		for (uint32_t i = 0; i < check_acc_count(ck); i++) {
			note_needs(&w->nodes[check_acc_node(ck, i)], ck);
		}
	}
	w->acc = calloc(total + 1, sizeof(*w->acc));
	w->chk = calloc(total + 1, sizeof(*w->chk));
	fill = calloc(w->n_nodes + 1, sizeof(*fill));
	if (w->acc == NULL || w->chk == NULL || fill == NULL) {
		free(fill);
		return -1;
	}
	for (size_t i = 0; i < total; i++) {
		sim_check_acc_init(&w->acc[i]);
	}
	{
		uint32_t at = 0;

		for (uint32_t i = 0; i < w->n_nodes; i++) {
			w->nodes[i].chk_first = at;
			at += w->nodes[i].chk_count;
		}
	}
	for (size_t c = 0; c < sc->n_checks; c++) {
		const sim_check_spec *ck = &sc->checks[c];

		for (uint32_t i = 0; i < check_acc_count(ck); i++) {
			uint32_t idx = check_acc_node(ck, i);
			sim_chk_ref *r = &w->chk[w->nodes[idx].chk_first + fill[idx]++];

			r->check = (uint32_t)c;
			r->acc = (uint32_t)(w->acc_base[c] + i);
		}
	}
	free(fill);
	/* Every state check sees the state at the start (no daemon yet). */
	for (uint32_t i = 0; i < w->n_nodes; i++) {
		if (w->nodes[i].needs_state) {
			observe_state(w, &w->nodes[i], 0);
		}
	}
	return 0;
}

static int
setup(sim_world *w)
{
	const sim_scenario *sc = w->sc;

	w->t0 = sc->start_ns;
	w->t_end = sc->start_ns + llround(sc->duration * 1e9);
	w->now = w->t0;
	if (sc->leaps != NULL) {
		sim_utc_init(&w->utc, sc->leaps, w->t0);
	} else {
		ntp_leap_table iers;

		sim_utc_iers(&iers);
		sim_utc_init(&w->utc, &iers, w->t0);
	}
	w->n_nodes = sc->total_nodes;
	w->free_pkt = UINT32_MAX;
	netem_heap_init(&w->heap);
	w->nodes = calloc(w->n_nodes + 1, sizeof(*w->nodes));
	w->lspecs = calloc(sc->n_links + 2 * sc->n_events + 1, sizeof(*w->lspecs));
	w->dyn_links = calloc(sc->n_events + 1, sizeof(*w->dyn_links));
	w->fw = calloc(sc->n_fw + 1, sizeof(*w->fw));
	if (w->nodes == NULL || w->lspecs == NULL || w->dyn_links == NULL || w->fw == NULL) {
		return -1;
	}
	w->net_default = sc->net_default;
	netem_link_params_sanitise(&w->net_default);
	for (size_t i = 0; i < sc->n_links; i++) {
		push_lspec(w, &sc->links[i]);
	}
	if (sc->n_fw > 0) {
		memcpy(w->fw, sc->fw, sc->n_fw * sizeof(*w->fw));
	}
	for (uint32_t i = 0; i < w->n_nodes; i++) {
		sim_node *n = &w->nodes[i];
		const sim_node_spec *t = sim_scenario_tmpl(sc, i);
		char name[SIM_NAME_MAX + 12];

		n->index = i;
		n->kind = (uint8_t)t->kind;
		n->traced = t->trace != 0;
		n->addr = sim_scenario_node_addr(sc, i);
		n->port = t->conf != NULL && t->conf->port != 0 ? t->conf->port : NTP_PORT;
		n->deadline = NTP_TIME_NEVER;
		n->spin_t = INT64_MIN;
		n->last_link = UINT32_MAX;
		n->fault = &t->fault;
		n->leap = NTP_LEAP_NOTSYNC;
		n->stratum = NTP_STRATUM_UNSPEC;
		n->st.t_good = -1.0;
		n->st.t_bad = -1.0;
		n->st.t_first_peer = -1.0;
		n->st.t_first_sync = -1.0;
		n->st.false_reject = -1.0;
		n->t_false = -1.0;
		sim_scenario_node_name(sc, i, name, sizeof(name));
		sim_osc_init(&n->osc, &t->clock, w->t0, w->seed, name);
		ntp_clock_init(&n->clock, sim_osc_raw(&n->osc, w->t0), 0.0);
	}
	if (addr_map_build(w) != 0 || setup_checks(w) != 0 || setup_metrics(w) != 0) {
		return -1;
	}
	/* Initial events, in a fixed order: daemons, queries, scenario events, samples. */
	for (uint32_t i = 0; i < w->n_nodes; i++) {
		const sim_node_spec *t = sim_scenario_tmpl(sc, i);

		if (t->kind == SIM_NODE_HOST &&
		    push(w, w->t0 + llround(t->start * 1e9), EV_START, i, 0, 0) != 0) {
			return -1;
		}
		for (size_t k = 0; t->kind == SIM_NODE_QUERY && k < t->n_query_at; k++) {
			if (push(w, w->t0 + llround(t->query_at[k] * 1e9), EV_QUERY_BEGIN, i, 0,
			         0) != 0) {
				return -1;
			}
		}
	}
	for (size_t i = 0; i < sc->n_events; i++) {
		if (push(w, w->t0 + llround(sc->events[i].at * 1e9), EV_SCEN, 0, (uint32_t)i, 0) !=
		    0) {
			return -1;
		}
	}
	if (sc->sample_interval > 0.0 && push(w, w->t0, EV_SAMPLE, 0, 0, 0) != 0) {
		return -1;
	}
	return 0;
}

static void
teardown(sim_world *w)
{
	for (uint32_t i = 0; w->nodes != NULL && i < w->n_nodes; i++) {
		if (w->nodes[i].metrics != NULL) {
			sim_metrics_free(&w->nodes[i].metrics->m);
			free(w->nodes[i].metrics);
		}
		ntp_host_free(w->nodes[i].host);
		free(w->nodes[i].query);
		free(w->nodes[i].exited);
	}
	sim_report_close(w);
	free(w->nodes);
	netem_heap_free(&w->heap);
	free(w->pkts);
	for (size_t i = 0; i < w->n_links; i++) {
		netem_link_free(&w->links[i].l);
	}
	free(w->links);
	free(w->link_map);
	free(w->addr_slots);
	free(w->lspecs);
	free(w->dyn_links);
	free(w->fw);
	free(w->acc);
	free(w->acc_base);
	free(w->chk);
	free(w->outcome);
}

/* ------------------------------------------------------------------ */
/* the run                                                             */

double
sim_wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A large run is bound by memory latency: every event touches a node, a
 * host and a link that nothing touched for a poll interval.  So the engine
 * fetches two events ahead: the node of the event after next, and for the
 * next event, whose node came one event ago, its packet, host and last link.
 * Prefetches change no result. */
#define PREFETCH_LINE 64   /* bytes, the x86-64 cache line */
#define PREFETCH_HOST 2304 /* bytes: a host with one peer, its filter and discipline */

static void
prefetch_bytes(const void *p, size_t bytes)
{
	for (size_t k = 0; k < bytes; k += PREFETCH_LINE) {
		__builtin_prefetch((const char *)p + k);
	}
}

static void
prefetch_ahead(const sim_world *w)
{
	const netem_event *next = netem_heap_peek(&w->heap);
	const netem_event *after = netem_heap_peek_second(&w->heap);
	const sim_node *n;

	if (after != NULL) {
		prefetch_bytes(&w->nodes[after->node], sizeof(sim_node));
	}
	if (next == NULL) {
		return;
	}
	n = &w->nodes[next->node];
	if (next->kind == EV_PKT) {
		prefetch_bytes(&w->pkts[next->arg], sizeof(sim_pkt));
	}
	if (n->host != NULL) {
		prefetch_bytes(n->host, PREFETCH_HOST);
	}
	if (n->last_link != UINT32_MAX) {
		prefetch_bytes(&w->links[n->last_link], sizeof(sim_link));
	}
}

static int
dispatch(sim_world *w, const netem_event *e)
{
	sim_node *n = &w->nodes[e->node];

	switch (e->kind) {
	case EV_START:
		return start_host(w, n);
	case EV_TIMER:
		on_timer(w, e);
		break;
	case EV_PKT: {
		sim_pkt *p = &w->pkts[e->arg];

		if (n->query != NULL && n->query->active && p->dst.port == n->query->port) {
			n->st.received++;
			time_packet(w, n, SIM_PKT_RECEIVED, &p->src);
			sim_query_reply(n->query, &p->src, p->buf, p->len,
			                sim_osc_noisy(&n->osc, local_now(w, n, NULL)));
		} else if (n->running &&
		           (p->dst.port == n->port || ntp_host_uses_port(n->host, p->dst.port))) {
			int64_t raw;
			ntp_time local = local_now(w, n, &raw);

			n->st.received++;
			time_packet(w, n, SIM_PKT_RECEIVED, &p->src);
			host_call(w, n, p, raw, local);
		} else {
			w->dropped_stopped++;
			w->nodes[p->src_node].st.dropped++;
		}
		pkt_release(w, e->arg);
		break;
	}
	case EV_SCEN:
		scenario_event(w, e);
		break;
	case EV_SAMPLE:
		for (uint32_t i = 0; i < w->n_nodes; i++) {
			sample_node(w, &w->nodes[i]);
			trace_node(w, &w->nodes[i]);
		}
		push(w, w->now + llround(w->sc->sample_interval * 1e9), EV_SAMPLE, 0, 0, 0);
		break;
	case EV_QUERY_BEGIN:
		query_begin(w, n, &tmpl_of(w, n)->query);
		break;
	case EV_QUERY_TX:
		query_tx(w, e);
		break;
	case EV_QUERY_END:
		query_end(w, e);
		break;
	default:
		break;
	}
	return w->warn[0] == '\0' ? 0 : -1;
}

static void
finish_checks(sim_world *w)
{
	const sim_scenario *sc = w->sc;
	double end = rel_s(w, w->t_end);

	/* The state at the end, after the last sample. */
	for (uint32_t i = 0; i < w->n_nodes; i++) {
		if (w->nodes[i].needs_state) {
			observe_state(w, &w->nodes[i], fetch_peers(w, &w->nodes[i]));
		}
	}
	for (size_t c = 0; c < sc->n_checks; c++) {
		const sim_check_spec *ck = &sc->checks[c];

		for (uint32_t i = 0; i < check_acc_count(ck); i++) {
			sim_node *n = &w->nodes[check_acc_node(ck, i)];
			sim_check_acc *a = &w->acc[w->acc_base[c] + i];

			if (ck->kind == SIM_CHECK_PACKETS) {
				uint64_t v = ck->dir == SIM_PKT_SENT       ? n->st.sent
				             : ck->dir == SIM_PKT_RECEIVED ? n->st.received
				                                           : n->st.dropped;

				sim_check_set_count(a, (long long)v);
			} else if (ck->kind == SIM_CHECK_QUERY) {
				sim_check_set_result(ck, a,
				                     n->query != NULL && n->query->runs > 0
				                             ? n->query->result
				                             : NULL);
			}
		}
		w->outcome[c].pass =
		        sim_check_finish(ck, &w->acc[w->acc_base[c]], sc, end, w->outcome[c].detail,
		                         sizeof(w->outcome[c].detail), &w->outcome[c].measured);
		w->outcome[c].censored = sim_check_censored(ck, &w->acc[w->acc_base[c]]);
		if (!w->outcome[c].pass) {
			w->checks_failed++;
		}
	}
}

int
sim_run(const sim_scenario *sc, const sim_opts *o, sim_summary *sum, char *err, size_t errsize)
{
	sim_world *w = calloc(1, sizeof(*w));
	netem_event e;
	double wall0 = sim_wall_s(), wall_last = wall0;
	bool shown = false;
	int rc = SIM_ERROR;
	size_t peak_queue = 0;

	if (w == NULL) {
		snprintf(err, errsize, "out of memory");
		return SIM_ERROR;
	}
	w->sc = sc;
	w->o = o;
	w->seed = o->seed_set ? o->seed : sc->seed;
	memset(sum, 0, sizeof(*sum));
	sum->seed = w->seed;
	if (setup(w) != 0) {
		snprintf(err, errsize, "%s", w->warn[0] ? w->warn : "out of memory");
		goto out;
	}
	if (sim_report_open_traces(w, err, errsize) != 0) {
		goto out;
	}
	if (o->pcap_path != NULL) {
		if (sim_pcap_open(&w->pcap, o->pcap_path) != 0) {
			snprintf(err, errsize, "%s: cannot create the capture file: %s",
			         o->pcap_path, strerror(errno));
			goto out;
		}
		w->pcap_on = true;
	}
	for (;;) {
		const netem_event *top = netem_heap_peek(&w->heap);

		if (top == NULL || top->t >= w->t_end) {
			break;
		}
		netem_heap_pop(&w->heap, &e);
		prefetch_ahead(w);
		w->now = e.t;
		w->n_events++;
		if (w->heap.n > peak_queue) {
			peak_queue = w->heap.n;
		}
		if (dispatch(w, &e) != 0) {
			snprintf(err, errsize, "%s", w->warn);
			goto out;
		}
		if (o->progress && (w->n_events % PROGRESS_EVERY) == 0) {
			double now = sim_wall_s();

			if (now - wall0 > 1.0 && now - wall_last > 0.25) {
				fprintf(stderr,
				        "\rntpsim: %5.1f%% of %.0f s simulated, %llu events",
				        100.0 * (double)(w->now - w->t0) /
				                (double)(w->t_end - w->t0),
				        sc->duration, (unsigned long long)w->n_events);
				wall_last = now;
				shown = true;
			}
		}
	}
	if (shown) {
		fprintf(stderr, "\r%60s\r", "");
	}
	w->now = w->t_end;
	for (uint32_t i = 0; i < w->n_nodes; i++) {
		sample_node(w, &w->nodes[i]);
		trace_node(w, &w->nodes[i]);
	}
	finish_checks(w);
	if (w->pcap_on && sim_pcap_close(&w->pcap) != 0) {
		snprintf(err, errsize, "%s: writing the capture failed", o->pcap_path);
		goto out;
	}
	w->pcap_on = false;
	if (sim_report_write(w, o->report, err, errsize) != 0) {
		goto out;
	}
	sim_report_close(w);
	sum->wall = sim_wall_s() - wall0;
	if (o->plots && o->out_dir != NULL && sim_report_plots(w, err, errsize) != 0) {
		fprintf(stderr, "ntpsim: warning: %s\n", err);
		err[0] = '\0';
	}
	sum->checks = sc->n_checks;
	sum->failed = w->checks_failed;
	sum->events = w->n_events;
	sum->simulated = sc->duration;
	sum->peak_queue = peak_queue;
	rc = w->checks_failed > 0 ? SIM_FAIL : SIM_PASS;
out:
	if (w->pcap_on) {
		sim_pcap_close(&w->pcap);
	}
	teardown(w);
	free(w);
	return rc;
}
