/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_system: the host's system process (see ntp_system.h).  What it
 * keeps of RFC 5905 §11 is the protocol's part: the fit tests, orphan
 * mode, the system variables and the events; the choice of the system
 * peer and what to do with the clock are the discipline's (ntp_discipline
 * update()).
 */
#include "ntp_system.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ntp_const.h"
#include "ntp_leapsys.h"
#include "ntp_select.h"

/* ---- the discipline's state ---- */

void
ntp_system_estimate(const ntp_host *h, const ntp_peer *p, ntp_estimate *e)
{
	h->algo->estimate(h->algo_sys, host_src(h, p), e);
}

uint16_t
ntp_system_unfit(const ntp_host *h, const ntp_peer *p, ntp_time mono, ntp_estimate *e)
{
	ntp_estimate mine;
	ntp_fit_params fp = host_fit(h);

	if (e == NULL) {
		e = &mine;
	}
	ntp_system_estimate(h, p, e);
	return ntp_peer_unfit(p, e, mono, &fp);
}

int8_t
ntp_system_poll(const ntp_host *h, const ntp_peer *p)
{
	return h->algo->poll(h->algo_sys, p != NULL ? host_src(h, p) : NULL);
}

void
ntp_system_src_reset(ntp_host *h, ntp_peer *p)
{
	h->algo->src_init(h->algo_sys, host_src(h, p), h->now.mono);
}

/* ---- setup ---- */

int
ntp_system_setup_discipline(ntp_host *h, const ntp_conf *c, const ntp_host_params *p, char *err,
                            size_t errsize)
{
	ntp_disc_setup s = {
	        .conf = c,
	        .precision = h->precision,
	        .minpoll = NTP_MINDPOLL,
	        .maxpoll = NTP_MAXDPOLL,
	        .maxdist = h->maxdist,
	        .mindist = NTP_MINDIST,
	        .minsane = c->tos_minsane >= 0 ? c->tos_minsane : NTP_SELECT_MINSANE,
	        .minclock = c->tos_minclock >= 0 ? c->tos_minclock : NTP_SELECT_MINCLOCK,
	        .maxclock = NTP_SELECT_MAXCLOCK,
	        .allow_big_first_step = p->allow_big_first_step,
	        .have_drift = p->have_drift,
	        .drift_ppm = p->drift_ppm,
	        .now = h->now,
	};
	int lo = 99, hi = -99; /* none yet: lo > hi */

	/* ntpd keeps sys_poll within the system peer's minpoll..maxpoll: the
	 * range of the network sources, the LOCAL driver's only when it is all
	 * there is (a LOCAL minpoll 0 fallback must not make a server's
	 * kernel PLL run at time constant 0) */
	for (int pass = 0; pass < 2 && lo > hi; pass++) {
		for (size_t i = 0; i < h->n_config; i++) {
			if (pass == 0 && h->peers[i].kind == NTP_PEER_LOCAL) {
				continue;
			}
			lo = h->peers[i].minpoll < lo ? h->peers[i].minpoll : lo;
			hi = h->peers[i].maxpoll > hi ? h->peers[i].maxpoll : hi;
		}
	}
	if (lo <= hi) {
		s.minpoll = (int8_t)lo;
		s.maxpoll = (int8_t)hi;
	}
	if (h->algo->init(h->algo_sys, &s, err, errsize) != 0) {
		return -1;
	}
	for (size_t i = 0; i < h->n_peers; i++) {
		ntp_system_src_reset(h, &h->peers[i]);
	}
	return 0;
}

void
ntp_system_setup_tos(ntp_host *h, const ntp_conf *c, ntp_time mono)
{
	h->maxdist = c->tos_maxdist > 0.0 ? c->tos_maxdist : NTP_SELECT_MAXDIST;
	h->phi = ntp_conf_phi(c);
	h->orphan = c->tos_orphan >= 1 && c->tos_orphan < NTP_STRATUM_UNSPEC ? c->tos_orphan
	                                                                     : NTP_STRATUM_UNSPEC;
	h->orphanwait =
	        ntp_time_from_s(c->tos_orphanwait >= 0.0 ? c->tos_orphanwait : ORPHWAIT_DEF);
	h->orphan_at = h->orphan < NTP_STRATUM_UNSPEC ? mono + h->orphanwait : NEVER;
}

static void
adjust_clock(ntp_host *h, const ntp_clock_adj *adj)
{
	ntp_action *a;

	if (adj->what == 0 || (a = host_push(h, NTP_ACT_ADJUST)) == NULL) {
		return;
	}
	a->u.adjust = *adj;
}

void
ntp_system_start(ntp_host *h)
{
	ntp_disc_info di;
	ntp_clock_adj adj;

	host_event(h, NTP_EV_RESTART, 0, "ntplab host started: %zu associations, discipline %s",
	           h->n_config, h->algo->name);
	h->algo->info(h->algo_sys, &di);
	if (di.state == NTP_DISC_FSET) {
		host_event(h, NTP_EV_FREQ_SET, 0, "frequency %.3f PPM from the drift file",
		           di.freq * 1e6);
	} else {
		host_event(h, NTP_EV_FREQ_NOT_SET, 0, "no drift file value: frequency unknown");
	}
	memset(&adj, 0, sizeof adj);
	if (h->algo->start(h->algo_sys, h->now, &adj)) {
		adjust_clock(h, &adj);
	}
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
	uint32_t span = p->minpoll > 0 ? 1u << p->minpoll : 1u;
	uint32_t k;

	for (size_t i = 0; i < sizeof p->addr.a; i++) {
		x = 37u * x + p->addr.a[i];
	}
	x = 37u * x + p->addr.port;
	k = ((x ^ (uint32_t)host_assoc_id(h, p)) % span);
	return (ntp_time)(k > 0 ? k : 1) * NTP_NS_PER_S;
}

/* ntpd clock_update() case 2: we stepped the clock.  Every association
 * starts over (peer_clear "STEP"), the discipline shifts or forgets what
 * it holds, and the host is unsynchronised until the next update -- unless
 * the discipline keeps its samples across a step (step_keeps_sources, as
 * chronyd does): then the associations poll on.  Timers are monotonic and
 * stay where they are. */
static void
after_step(ntp_host *h, double step)
{
	ntp_time d = ntp_time_from_s(step);

	h->steps++;
	h->now.local = ntp_time_add_sat(h->now.local, d);
	h->algo->step(h->algo_sys, NULL, step, h->now.mono);
	for (size_t i = 0; i < h->n_peers; i++) {
		ntp_peer *p = &h->peers[i];

		if (!host_slot_used(p)) {
			continue;
		}
		ntp_peer_local_step(p, d);
		if (p->flags & NTP_PEER_F_DEMOBILIZED) {
			continue;
		}
		h->algo->step(h->algo_sys, host_src(h, p), step, h->now.mono);
		if (h->algo->step_keeps_sources) {
			continue; /* its samples survive the step: polling goes on */
		}
		ntp_peer_clear(p, "STEP");
		ntp_peer_schedule(p, h->now.mono + restart_delay(h, p));
	}
	h->t_update = h->now.mono;
	if (h->algo->step_keeps_sources) {
		/* chronyd: the step is the update; the source stays selected */
		if (h->leap == NTP_LEAP_NOTSYNC) {
			h->leap = NTP_LEAP_NONE;
		}
		return;
	}
	host_set_unsynchronised(h, "STEP");
	h->sys_peer = 0;
	h->jitter = ldexp(1.0, h->precision);
}

/* ---- system process ---- */

/* ntpd loopstats (NTPsec ntp_util.c record_loop_stats): "MJD SOD offset
 * freq_ppm clk_jitter wander_ppm poll", e.g. "61000 3723.250 0.000123456
 * -12.345678 0.000001907 0.012345 6". */
static void
loopstats(ntp_host *h)
{
	const int64_t ns_per_day = INT64_C(86400) * NTP_NS_PER_S;
	int64_t sod_ns = h->now.local % ns_per_day;
	ntp_disc_info di;
	char line[192];
	long mjd, ms;
	double sod;

	if (!(h->stats & NTP_STATS_LOOPSTATS)) {
		return;
	}
	h->algo->info(h->algo_sys, &di);
	ntp_time_mjd(h->now.local, &mjd, &sod);
	/* milliseconds from the integer time, truncated (never "86400.000") */
	if (sod_ns < 0) {
		sod_ns += ns_per_day;
	}
	ms = (long)(sod_ns / INT64_C(1000000));
	snprintf(line, sizeof line, "%ld %ld.%03ld %.9f %.6f %.9f %.6f %d", mjd, ms / 1000,
	         ms % 1000, di.clock_offset, di.freq * 1e6, di.clk_jitter, di.clk_wander * 1e6,
	         (int)di.poll);
	host_stats_line(h, NTP_STATS_LOOPSTATS, line);
}

static void
state_events(ntp_host *h, ntp_disc_decision *o)
{
	if (o->old_state == o->new_state) {
		return;
	}
	switch (o->new_state) {
	case NTP_DISC_FREQ:
		host_event(h, NTP_EV_FREQ_MODE, 0, "measuring frequency: %s",
		           ntp_disc_decision_reason(o));
		break;
	case NTP_DISC_SYNC:
		host_event(h, NTP_EV_CLOCK_SYNC, 0, "clock synchronised: %s",
		           ntp_disc_decision_reason(o));
		break;
	case NTP_DISC_SPIK:
		host_event(h, NTP_EV_SPIKE_DETECT, 0, "%s", ntp_disc_decision_reason(o));
		break;
	default:
		break;
	}
}

/* The system variables from the system peer (RFC 5905 App. A.5.5.4
 * clock_update, ntpd 4.2.8 clock_update). */
static void
update_system_variables(ntp_host *h, const ntp_peer *p, const ntp_estimate *e)
{
	double age = ntp_time_diff_s(h->now.mono, e->t);
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
		h->refid = p->stratum == 0 ? p->refid : NTP_LOCAL_NET | p->unit;
	} else {
		h->refid = ntp_addr_refid(&p->addr);
	}
	h->rootdelay = e->delay + p->rootdelay;
	disp = p->rootdisp + e->disp + h->jitter + h->phi * (age > 0.0 ? age : 0.0) +
	       fabs(h->offset);
	h->rootdisp = disp > NTP_MINDIST ? disp : NTP_MINDIST;
	h->reftime = ntp_ts_from_unix_ns(rx_local);
	h->t_update = h->now.mono;
}

/* ntpd clock_update() case -1: "Life as we know it ends."  ntpd logs
 * "CLOCK: Panic: offset too big" and exits with status 1; the caller does
 * the exiting (ntpsim stops the node, refd exits). */
static void
panic_exit(ntp_host *h, ntp_disc_decision *o)
{
	ntp_action *a;

	host_set_unsynchronised(h, "PANC");
	host_event(h, NTP_EV_PANIC_STOP, 0, "%s", ntp_disc_decision_reason(o));
	a = host_push(h, NTP_ACT_EXIT);
	if (a != NULL) {
		a->u.exit.status = 1;
		snprintf(a->u.exit.reason, sizeof a->u.exit.reason,
		         "Panic: offset too big: %.3f s; set clock manually", h->offset);
	}
	h->exited = true;
}

/* RFC 5905 App. A.5.5.4 clock_update for a new sample of the system peer:
 * the system variables, then the discipline's decision carried out. */
static void
clock_update(ntp_host *h, ntp_peer *p, const ntp_estimate *e, ntp_disc_decision *o)
{
	char name[48];

	if (h->orphan_active) {
		h->orphan_active = false;
		host_event(h, NTP_EV_ORPHAN, 0, "leaving orphan mode: a source is selected");
	}
	update_system_variables(h, p, e);
	state_events(h, o);
	switch (o->clock) {
	case NTP_DISC_CLOCK_ADJUST:
		adjust_clock(h, &o->adj);
		if (h->leap == NTP_LEAP_NOTSYNC) {
			h->leap = NTP_LEAP_NONE;
		}
		break;
	case NTP_DISC_CLOCK_STEP: {
		ntp_action *a = host_push(h, NTP_ACT_STEP);

		if (a != NULL) {
			a->u.step.offset = o->step;
		}
		adjust_clock(h, &o->adj);
		host_event(h, NTP_EV_CLOCK_STEP, 0, "step time server %s offset %+.6f sec (%s)",
		           host_remote_name(p, name, sizeof name), o->step,
		           ntp_disc_decision_reason(o));
		after_step(h, o->step);
		break;
	}
	case NTP_DISC_CLOCK_PANIC:
		panic_exit(h, o);
		return;
	default:
		/* nothing: a spike, a frequency measurement, `disable ntp` */
		break;
	}
	if (o->loopstats) {
		loopstats(h);
	}
	if (o->poll_changed && h->sys_peer != 0) {
		ntp_peer_set_hpoll(&h->peers[h->sys_peer - 1], ntp_system_poll(h, p));
	}
}

void
ntp_system_no_candidates(const ntp_host *h, char *buf, size_t size)
{
	char name[48], why[NTP_REASON_MAX];
	ntp_fit_params fp = host_fit(h);

	for (size_t i = 0; i < h->n_peers; i++) {
		const ntp_peer *p = &h->peers[i];
		ntp_estimate e;
		uint16_t u;

		if (!host_slot_used(p)) {
			continue;
		}
		u = ntp_system_unfit(h, p, h->now.mono, &e);
		if (u != 0) {
			snprintf(buf, size, "no server suitable for synchronization: %s %s",
			         host_remote_name(p, name, sizeof name),
			         ntp_proto_unfit_format(p, &e, u, h->now.mono, &fp, why,
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
		    ntp_system_unfit(h, &h->peers[i], h->now.mono, NULL) == 0) {
			return true;
		}
	}
	return false;
}

static void
lose_sys_peer(ntp_host *h, const char *why, size_t n_cand)
{
	if (n_cand == 0) {
		ntp_system_no_candidates(h, h->no_peer_reason, sizeof h->no_peer_reason);
	} else {
		snprintf(h->no_peer_reason, sizeof h->no_peer_reason, "%s", why);
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
 * orphan stratum, the lowest address refid wins if it is below ours.
 * Returns its association id, 0 for none. */
static int
orphan_parent(const ntp_host *h)
{
	uint32_t best = h->local_refid != 0 ? h->local_refid : UINT32_MAX;
	int pick = 0;

	if (h->orphan >= NTP_STRATUM_UNSPEC) {
		return 0;
	}
	for (size_t i = 0; i < h->n_peers; i++) {
		const ntp_peer *p = &h->peers[i];
		uint32_t met;

		if (!host_slot_used(p) || p->stratum != h->orphan ||
		    ntp_system_unfit(h, p, h->now.mono, NULL) != 0) {
			continue;
		}
		met = ntp_addr_refid(&p->addr);
		if (met < best) {
			best = met;
			pick = (int)i + 1;
		}
	}
	return pick;
}

static void
new_sys_peer(ntp_host *h, ntp_peer *p, ntp_disc_decision *o)
{
	char name[48];

	if (h->sys_peer != host_assoc_id(h, p)) {
		h->sys_peer = host_assoc_id(h, p);
		host_peer_event(p, NTP_PEVNT_NEWPEER);
		host_event(h, NTP_EV_SYS_PEER, host_assoc_id(h, p), "%s: %s",
		           host_remote_name(p, name, sizeof name), ntp_disc_decision_why(o));
	}
}

static ntp_disc_cand
make_cand(const ntp_host *h, const ntp_peer *p, const ntp_estimate *e)
{
	ntp_fit_params fp = host_fit(h);

	return (ntp_disc_cand){
	        .id = host_assoc_id(h, p),
	        .src = host_src(h, p),
	        .est = *e,
	        .rootdist = ntp_peer_root_distance(p, e, h->now.mono, &fp),
	        .stratum = p->stratum,
	        .prefer = (p->flags & NTP_PEER_F_PREFER) != 0,
	        .trueticker = (p->flags & NTP_PEER_F_TRUE) != 0,
	        .local = p->kind == NTP_PEER_LOCAL,
	};
}

/* The fit tests over every association: the candidates for the
 * discipline.  Peers at or above the orphan stratum take part only in the
 * orphan election (ntpd bug 2050: they may have us as an ancestor). */
static size_t
fit_candidates(ntp_host *h, ntp_disc_cand *cand)
{
	size_t n = 0;

	for (size_t i = 0; i < h->n_peers && n < NTP_SELECT_MAX; i++) {
		ntp_peer *p = &h->peers[i];
		ntp_estimate e;
		uint16_t u;

		if (!host_slot_used(p)) {
			continue;
		}
		u = ntp_system_unfit(h, p, h->now.mono, &e);
		p->flash = (uint16_t)((p->flash & NTP_PKT_TEST_MASK) | u);
		p->sel = NTP_SEL_REJECT;
		if (u != 0 || (h->orphan < NTP_STRATUM_UNSPEC && p->stratum >= h->orphan)) {
			continue;
		}
		cand[n++] = make_cand(h, p, &e);
	}
	return n;
}

/* The associations that count for a discipline's majority (servers and
 * peers, not LOCAL drivers or demobilized ones), and how many are
 * reachable. */
static void
count_sources(const ntp_host *h, int *n_assoc, int *n_reach)
{
	*n_assoc = *n_reach = 0;
	for (size_t i = 0; i < h->n_peers; i++) {
		const ntp_peer *p = &h->peers[i];

		if (!host_slot_used(p) || p->kind == NTP_PEER_LOCAL ||
		    (p->flags & NTP_PEER_F_DEMOBILIZED)) {
			continue;
		}
		(*n_assoc)++;
		*n_reach += p->reach != 0;
	}
}

void
ntp_system_select(ntp_host *h)
{
	ntp_disc_cand cand[NTP_SELECT_MAX], parent;
	ntp_disc_decision o;
	int parent_id = orphan_parent(h);
	size_t n = fit_candidates(h, cand);
	ntp_disc_input in = {
	        .cand = cand,
	        .n = n,
	        .prev_sys_peer = h->sys_peer,
	        .now = h->now,
	        .leap = h->leap,
	        .rootdelay = h->rootdelay,
	        .rootdisp = h->rootdisp,
	};
	ntp_peer *sys;

	count_sources(h, &in.n_assoc, &in.n_reach);
	if (parent_id != 0) {
		ntp_estimate e;

		ntp_system_estimate(h, &h->peers[parent_id - 1], &e);
		parent = make_cand(h, &h->peers[parent_id - 1], &e);
		in.fallback = &parent;
	}
	memset(&o, 0, sizeof o);
	h->algo->update(h->algo_sys, &in, &o);
	for (size_t k = 0; k < n; k++) {
		h->peers[cand[k].id - 1].sel = cand[k].sel;
	}
	if (in.fallback != NULL) {
		h->peers[parent_id - 1].sel = parent.sel;
	}
	if (o.updated && o.clock == NTP_DISC_CLOCK_ADJUST) {
		/* NTPsec counts the votes at a normal clock update (clock_update
		 * case 1), not after a step */
		ntp_leapsys_vote(h, cand, n);
	}
	if (o.sys_peer < 1 || (size_t)o.sys_peer > h->n_peers) {
		lose_sys_peer(h, ntp_disc_decision_why(&o), n);
		if (o.clock == NTP_DISC_CLOCK_ADJUST) {
			/* holdover: a discipline that changes course without a
			 * source (regress's fallback drift) */
			adjust_clock(h, &o.adj);
			host_event(h, NTP_EV_FREQ_SET, 0, "%s", ntp_disc_decision_reason(&o));
		}
		return;
	}
	sys = &h->peers[o.sys_peer - 1];
	h->offset = o.offset;
	h->jitter = o.jitter;
	new_sys_peer(h, sys, &o);
	h->no_peer_reason[0] = '\0';
	if (o.updated) {
		ntp_estimate e;

		ntp_system_estimate(h, sys, &e);
		clock_update(h, sys, &e, &o);
	}
}

void
ntp_system_sampled(ntp_host *h, ntp_peer *p, const ntp_sample *smp)
{
	char name[48];
	double spike = 0.0;
	ntp_estimate e;

	switch (h->algo->sample(h->algo_sys, host_src(h, p), smp, &spike)) {
	case NTP_SAMPLE_NEW:
		ntp_system_estimate(h, p, &e);
		host_peerstats(h, p, &e);
		ntp_peer_poll_faster(p, ntp_system_poll(h, p), h->now.mono);
		/* ntpd: select unless in a burst, or always while unsynchronised */
		if (p->burst == 0 || h->leap == NTP_LEAP_NOTSYNC) {
			ntp_system_select(h);
		}
		break;
	case NTP_SAMPLE_POPCORN:
		host_peer_event(p, NTP_PEVNT_POPCORN);
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
