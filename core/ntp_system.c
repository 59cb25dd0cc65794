/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_system: the host's system process (see ntp_system.h).
 */
#include "ntp_system.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ntp_filter.h"
#include "ntp_select.h"

static void
loopstats(ntp_host *h)
{
	char line[192];

	if (!(h->stats & NTP_STATS_LOOPSTATS)) {
		return;
	}
	ntp_disc_loopstats(&h->disc, h->now.local, line, sizeof line);
	host_stats_line(h, NTP_STATS_LOOPSTATS, line);
}

void
ntp_system_setup_discipline(ntp_host *h, const ntp_conf *c, const ntp_host_params *p)
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
	dp.precision = ldexp(1.0, h->precision);
	ntp_disc_init(&h->disc, &dp, h->now.mono);
}

void
ntp_system_setup_tos(ntp_host *h, const ntp_conf *c, ntp_time mono)
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

/* ntpd sets the kernel frequency from the drift file at start-up
 * ("freq_set kernel N PPM"), long before the first clock update: without
 * this the clock would run uncorrected until a server is reached, or for
 * ever if none is. */
static void
apply_drift_frequency(ntp_host *h)
{
	ntp_action *a;

	if (h->disc.p.disabled || (a = host_push(h, NTP_ACT_ADJUST)) == NULL) {
		return;
	}
	a->u.adjust.offset = 0.0;
	a->u.adjust.freq = h->disc.freq;
	a->u.adjust.tau = 0.0;
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
	k = ((x ^ (uint32_t)host_assoc_id(h, p)) % span);
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

		if (!host_slot_used(p)) {
			continue;
		}
		ntp_peer_local_step(p, d);
		if (p->flags & NTP_PEER_F_DEMOBILIZED) {
			continue;
		}
		ntp_peer_clear(p, "STEP", h->now.mono, h->precision);
		ntp_peer_schedule(p, h->now.mono + restart_delay(h, p));
	}
	host_set_unsynchronised(h, "STEP");
	h->sys_peer = 0;
	h->jitter = ldexp(1.0, h->precision);
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
		host_event(h, NTP_EV_FREQ_MODE, 0, "measuring frequency: %s", o->reason);
		break;
	case NTP_DISC_SYNC:
		host_event(h, NTP_EV_CLOCK_SYNC, 0, "clock synchronised: %s", o->reason);
		break;
	case NTP_DISC_SPIK:
		host_event(h, NTP_EV_SPIKE_DETECT, 0, "%s", o->reason);
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

	host_set_unsynchronised(h, "PANC");
	host_event(h, NTP_EV_PANIC_STOP, 0, "%s", o->reason);
	a = host_push(h, NTP_ACT_EXIT);
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
		host_event(h, NTP_EV_ORPHAN, 0, "leaving orphan mode: a source is selected");
	}
	update_system_variables(h, p);
	rc = ntp_disc_local_clock(&h->disc, h->offset, h->jitter, h->now.mono, &o);
	disc_events(h, &o);
	switch (rc) {
	case NTP_DISC_SLEW: {
		ntp_action *a = host_push(h, NTP_ACT_ADJUST);

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
		ntp_action *a = host_push(h, NTP_ACT_STEP);
		char name[48];

		if (a != NULL) {
			a->u.step.offset = o.step;
		}
		a = host_push(h, NTP_ACT_ADJUST);
		if (a != NULL) {
			a->u.adjust.offset = 0.0;
			a->u.adjust.freq = o.adj_freq;
			a->u.adjust.tau = o.adj_tau;
		}
		host_event(h, NTP_EV_CLOCK_STEP, 0, "step time server %s offset %+.6f sec (%s)",
		           host_remote_name(p, name, sizeof name), o.step, o.reason);
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
void
ntp_system_no_candidates(const ntp_host *h, char *buf, size_t size)
{
	char name[48], why[NTP_REASON_MAX];

	for (size_t i = 0; i < h->n_peers; i++) {
		const ntp_peer *p = &h->peers[i];
		uint16_t u;

		if (!host_slot_used(p)) {
			continue;
		}
		u = ntp_peer_unfit(p, h->now.mono, h->maxdist, MINDIST);
		if (u != 0) {
			snprintf(buf, size, "no server suitable for synchronization: %s %s",
			         host_remote_name(p, name, sizeof name),
			         ntp_proto_unfit_format(p, u, h->now.mono, h->maxdist, MINDIST, why,
			                                sizeof why));
			return;
		}
	}
	snprintf(buf, size, "no server suitable for synchronization: no sources");
}

bool
ntp_system_any_fit(const ntp_host *h)
{
	for (size_t i = 0; i < h->n_peers; i++) {
		if (host_slot_used(&h->peers[i]) &&
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
		ntp_system_no_candidates(h, h->no_peer_reason, sizeof h->no_peer_reason);
	} else {
		snprintf(h->no_peer_reason, sizeof h->no_peer_reason, "%s", r->reason);
	}
	if (h->sys_peer != 0) {
		host_event(h, NTP_EV_NO_SYS_PEER, 0, "%s", h->no_peer_reason);
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

		if (!host_slot_used(p) || p->stratum != h->orphan ||
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
	        .id = host_assoc_id(h, p),
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

	if (h->sys_peer != host_assoc_id(h, p)) {
		h->sys_peer = host_assoc_id(h, p);
		host_peer_event(p, PEVNT_NEWPEER);
		host_event(h, NTP_EV_SYS_PEER, host_assoc_id(h, p), "%s: %s",
		           host_remote_name(p, name, sizeof name), why);
	}
}

/* RFC 5905 App. A.5.5.1 clock_select with the fit tests, the orphan
 * rules and ntp_select; then clock_update for a new sample. */
void
ntp_system_select(ntp_host *h)
{
	ntp_select_cand cand[NTP_SELECT_MAX];
	ntp_select_result r;
	ntp_select_params sp;
	int n = 0, orphan_pick;
	ntp_peer *sys;

	for (size_t i = 0; i < h->n_peers && n < NTP_SELECT_MAX; i++) {
		ntp_peer *p = &h->peers[i];
		uint16_t u;

		if (!host_slot_used(p)) {
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
	sp.sys_precision = ldexp(1.0, h->precision);
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
void
ntp_system_sampled(ntp_host *h, ntp_peer *p, int verdict, double spike)
{
	char name[48];

	switch (verdict) {
	case NTP_FILTER_NEW:
		host_peerstats(h, p);
		/* ntpd: select unless in a burst, or always while unsynchronised */
		if (p->burst == 0 || h->leap == NTP_LEAP_NOTSYNC) {
			ntp_system_select(h);
		}
		break;
	case NTP_FILTER_POPCORN:
		host_peer_event(p, PEVNT_POPCORN);
		host_event(h, NTP_EV_POPCORN, host_assoc_id(h, p),
		           "%s popcorn spike %.6f s suppressed",
		           host_remote_name(p, name, sizeof name), spike);
		break;
	default:
		break;
	}
}

/* Orphan mode (ntpd timer()): no system peer for orphanwait: serve at the
 * orphan stratum with the loopback refid. */
void
ntp_system_orphan(ntp_host *h)
{
	if (h->orphan >= NTP_STRATUM_UNSPEC || h->sys_peer != 0 || h->orphan_at == NEVER ||
	    h->now.mono < h->orphan_at) {
		return;
	}
	if (!h->orphan_active) {
		h->orphan_active = true;
		host_event(h, NTP_EV_ORPHAN, 0, "entering orphan mode at stratum %d: %s", h->orphan,
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

/* The host's first call: ntpd's start-up events, and the drift file's
 * frequency set at once. */
void
ntp_system_start(ntp_host *h)
{
	host_event(h, NTP_EV_RESTART, 0, "ntplab host started: %zu associations", h->n_config);
	if (h->disc.state == NTP_DISC_FSET) {
		host_event(h, NTP_EV_FREQ_SET, 0, "frequency %.3f PPM from the drift file",
		           ntp_disc_freq_ppm(&h->disc));
		apply_drift_frequency(h);
	} else {
		host_event(h, NTP_EV_FREQ_NOT_SET, 0, "no drift file value: frequency unknown");
	}
}
