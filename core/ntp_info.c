/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_info: the host's introspection (see ntp_info.h): snapshots of the
 * associations and the system variables, and the protocol counters.
 */
#include "ntp_info.h"

#include <stdio.h>
#include <string.h>

#include "ntp_const.h"
#include "ntp_hostcore.h"
#include "ntp_pkt.h"
#include "ntp_select.h"
#include "ntp_system.h"

/* ntpq's refid column; a LOCAL(u) source's refid is its code (".LOCL."). */
static char *
peer_refid(const ntp_peer *p, char *buf, size_t size)
{
	uint8_t stratum = p->kind == NTP_PEER_LOCAL ? 0 : p->stratum;

	return ntp_pkt_refid_assoc_format(p->refid, stratum, buf, size);
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
peer_reason(const ntp_host *h, const ntp_peer *p, const ntp_estimate *e, ntp_time mono, char *buf,
            size_t size)
{
	ntp_fit_params fp = host_fit(h);
	uint16_t u = ntp_peer_unfit(p, e, mono, &fp);
	ntp_disc_info di;

	h->algo->info(h->algo_sys, &di);
	if (p->flags & NTP_PEER_F_DEMOBILIZED) {
		ntp_proto_why_format(p->why, p->why_a, p->why_b, buf, size);
	} else if (p->flash & NTP_TEST5) {
		/* the last packet failed authentication: say so, not just "unreachable" */
		ntp_proto_why_format(p->why, p->why_a, p->why_b, buf, size);
	} else if (u != 0) {
		ntp_proto_unfit_format(p, e, u, mono, &fp, buf, size);
	} else if (p->sel == NTP_SEL_FALSETICKER && di.interval) {
		snprintf(buf, size,
		         "falseticker: offset %+.6f s outside intersection [%+.6f, %+.6f]",
		         e->offset, di.low, di.high);
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

/* The discipline's register of recent samples (ntpd: the filter's ring,
 * newest first, as its ctl_putarray shows it). */
static void
sample_register(const ntp_host *h, const ntp_peer *p, ntp_peer_info *o)
{
	ntp_disc_register r;

	_Static_assert(NTP_NSTAGE == NTP_NSTAGE, "one value per register stage");
	h->algo->src_register(h->algo_sys, host_src(h, p), &r);
	memcpy(o->filt_delay, r.delay, sizeof o->filt_delay);
	memcpy(o->filt_offset, r.offset, sizeof o->filt_offset);
	memcpy(o->filt_disp, r.disp, sizeof o->filt_disp);
}

/* The numbers of p that cost no formatting and no estimate. */
static void
peer_numbers(const ntp_peer *p, size_t i, ntp_peer_info *o)
{
	memset(o, 0, sizeof *o);
	o->assoc = (int)i + 1;
	o->addr = p->addr;
	o->stratum = p->stratum;
	o->type = peer_type(p);
	o->poll = ntp_peer_poll_log2(p);
	o->reach = p->reach;
	o->tally = ntp_select_tally(p->sel);
	o->leap = p->leap;
	o->prefer = (p->flags & NTP_PEER_F_PREFER) != 0;
	o->sent = p->sent;
	o->received = p->received;
	o->rejected = p->rejected;
	o->flash = p->flash;
	o->status = (uint16_t)host_peer_status_word(p);
}

size_t
ntp_host_peers_brief(const ntp_host *h, ntp_peer_info *out, size_t max)
{
	size_t n = 0;

	if (h == NULL || out == NULL) {
		return 0;
	}
	for (size_t i = 0; i < h->n_peers && n < max; i++) {
		if (host_slot_used(&h->peers[i])) {
			peer_numbers(&h->peers[i], i, &out[n++]);
		}
	}
	return n;
}

size_t
ntp_host_peers(const ntp_host *h, ntp_time mono, ntp_peer_info *out, size_t max)
{
	size_t n = 0;

	if (h == NULL || out == NULL) {
		return 0;
	}
	mono = host_clamp_now(mono);
	for (size_t i = 0; i < h->n_peers && n < max; i++) {
		const ntp_peer *p = &h->peers[i];
		ntp_peer_info *o = &out[n];
		ntp_estimate e;

		if (!host_slot_used(p)) {
			continue;
		}
		ntp_system_estimate(h, p, &e);
		peer_numbers(p, i, o);
		host_remote_name(p, o->remote, sizeof o->remote);
		peer_refid(p, o->refid, sizeof o->refid);
		o->when = p->last_rx != NTP_TIME_NONE ? ntp_time_diff_s(mono, p->last_rx) : -1.0;
		o->delay = e.delay;
		o->offset = e.offset;
		o->jitter = e.jitter;
		o->disp = e.disp;
		peer_reason(h, p, &e, mono, o->reason, sizeof o->reason);
		sample_register(h, p, o);
		n++;
	}
	return n;
}

void
ntp_host_sys_brief(const ntp_host *h, ntp_sys_info *out)
{
	ntp_disc_info di;

	if (h == NULL || out == NULL) {
		return;
	}
	h->algo->info(h->algo_sys, &di);
	memset(out, 0, sizeof *out);
	out->leap = h->leap;
	out->stratum = h->stratum;
	out->precision = h->precision;
	out->poll = di.poll;
	out->rootdelay = h->rootdelay;
	out->rootdisp = h->rootdisp;
	out->refid = h->refid;
	out->reftime = h->reftime;
	out->sys_peer = h->sys_peer;
	out->offset = h->offset;
	out->freq_ppm = di.freq * 1e6;
	out->freq_trusted = di.freq_trusted;
	out->sys_jitter = h->jitter;
	out->clk_jitter = di.clk_jitter;
	out->clk_wander = di.clk_wander * 1e6;
	out->disc_state = di.state;
	out->steps = h->steps;
	out->served = h->server.served;
	out->kod_sent = h->server.kod_sent;
	out->dropped_restrict = h->server.dropped_restrict;
	out->dropped_rate = h->server.dropped_rate;
	out->dropped_bad = h->server.dropped_bad;
	out->mru_entries = h->server.n;
	out->mru_depth = h->server.cap;
	out->mru_none = h->server.mru_none;
}

void
ntp_host_sys(const ntp_host *h, ntp_sys_info *out)
{
	ntp_disc_info di;

	if (h == NULL || out == NULL) {
		return;
	}
	ntp_host_sys_brief(h, out);
	h->algo->info(h->algo_sys, &di);
	snprintf(out->discipline, sizeof out->discipline, "%s", di.name);
	if (h->sys_peer == 0 && !ntp_system_any_fit(h)) {
		/* as of the last call: nobody passes the fit tests */
		ntp_system_no_candidates(h, out->no_sys_peer_reason,
		                         sizeof out->no_sys_peer_reason);
	} else if (h->sys_peer == 0) {
		snprintf(out->no_sys_peer_reason, sizeof out->no_sys_peer_reason, "%s",
		         h->no_peer_reason);
	}
}

bool
ntp_host_peer_counters(const ntp_host *h, int assoc, ntp_peer_counters *out)
{
	const ntp_peer *p;

	if (h == NULL || out == NULL || assoc < 1 || (size_t)assoc > h->n_peers) {
		return false;
	}
	p = &h->peers[assoc - 1];
	if (!host_slot_used(p)) {
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
	out->status = (uint16_t)host_peer_status_word(p);
	return true;
}
