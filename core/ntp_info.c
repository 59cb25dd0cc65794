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

#define KIB 1024 /* bytes per KiB: ntpd rounds mru_mem to nearest */

/* ntpq's refid column; a LOCAL(u) source's refid is its code (".LOCL."). */
static char *
peer_refid(const ntp_peer *p, char *buf, size_t size)
{
	uint8_t stratum = p->kind == NTP_PEER_LOCAL ? 0 : p->stratum;

	return ntp_pkt_refid_assoc_format(p->refid, stratum, buf, size);
}

/* Our address on an association's path (ntpq dstadr): an IPv4 one is its
 * loop-test refid itself (kept per association); for IPv6, whose refid is
 * a hash, the address the host was last reached at. */
static ntp_addr
peer_local(const ntp_host *h, const ntp_peer *p)
{
	ntp_addr a = {0};

	if (p->addr.family == NTP_AF_INET && p->local_refid != 0) {
		a.family = NTP_AF_INET;
		for (int i = 0; i < 4; i++) {
			a.a[i] = (uint8_t)(p->local_refid >> (24 - 8 * i));
		}
	} else if (p->addr.family == NTP_AF_INET6 && h->local.family == NTP_AF_INET6) {
		a = h->local;
		a.port = 0;
	}
	return a;
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
	o->badauth = p->badauth;
	o->bogusorg = p->bogus;
	o->oldpkt = p->duplicate;
	o->kod = p->kod;
	o->local_port = p->lport;
	o->precision = p->precision;
	o->unreach = p->unreach;
	o->keyid = p->keyid;
	o->rootdelay = p->rootdelay;
	o->rootdisp = p->rootdisp;
	o->reftime = p->reftime;
	o->xmt = p->xmt;
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
		o->reach_for = p->received != 0
		                       ? (double)(uint32_t)((uint32_t)ntp_time_whole_s(mono) -
		                                            p->reach_rise_s)
		                       : -1.0;
		o->next_in =
		        p->nextdate != NTP_TIME_NEVER ? ntp_time_diff_s(p->nextdate, mono) : -1.0;
		o->local = peer_local(h, p);
		o->headway = p->headway > mono ? ntp_time_diff_s(p->headway, mono) : 0.0;
		sample_register(h, p, o);
		n++;
	}
	return n;
}

/* The system peer's address and mode (ntpq sysinfo), and the root
 * distance the host advertises (RFC 5905 A.5.5.2: rootdelay / 2 +
 * rootdisp); zero without a system peer, as ntpd has them. */
static void
sys_peer_info(const ntp_host *h, ntp_sys_info *out)
{
	const ntp_peer *p;

	if (h->sys_peer < 1 || (size_t)h->sys_peer > h->n_peers) {
		return;
	}
	p = &h->peers[h->sys_peer - 1];
	out->peer_addr = p->addr;
	out->peer_mode = ntp_peer_request_mode(p);
	if (p->kind == NTP_PEER_LOCAL) {
		/* ntpd: a reference clock is a client on the NTP port */
		out->peer_mode = NTP_MODE_CLIENT;
		out->peer_addr.port = NTP_PORT;
	}
	out->rootdist = h->rootdelay / 2.0 + h->rootdisp;
}

#define KERN_PRECISION_S   1e-6    /* s, timex.precision: Linux reports 1 us */
#define KERN_TOLERANCE_PPM 500.0   /* ppm, timex.tolerance: Linux's MAXFREQ */
#define KERN_FREQ_SCALE    65536.0 /* timex.freq is ppm * 2^16 (SHIFT_USEC) */
#define KERN_US            1e-6    /* s per us */
#define KERN_NS            1e-9    /* s per ns */

/* ntpq kerninfo: the discipline's kernel model read back as ntp_adjtime
 * reports it; without one, the model as Linux boots it (ntp_kernel_init:
 * unsynchronised, 16 s errors), so the boot values have one home. */
static void
kern_info(const ntp_host *h, ntp_kern_info *k)
{
	ntp_kernel_timex tx;

	if (h->algo->kernel == NULL || !h->algo->kernel(h->algo_sys, &tx)) {
		ntp_kernel boot;

		ntp_kernel_init(&boot, 0, 0);
		ntp_kernel_query(&boot, 0, &tx);
	}
	memset(k, 0, sizeof *k);
	k->precision_s = KERN_PRECISION_S;
	k->tolerance_ppm = KERN_TOLERANCE_PPM;
	k->offset_s = (double)tx.offset * ((tx.status & NTP_KERNEL_STA_NANO) ? KERN_NS : KERN_US);
	k->freq_ppm = (double)tx.freq / KERN_FREQ_SCALE;
	k->maxerror_s = (double)tx.maxerror * KERN_US;
	k->esterror_s = (double)tx.esterror * KERN_US;
	k->status = tx.status;
	k->constant = (int)tx.constant;
}

void
ntp_host_mru_info(const ntp_host *h, ntp_mru_info *m)
{
	const ntp_server *s = &h->server;
	ntp_time mono = h->now.mono;
	const ntp_server_mru *oldest = NULL;

	memset(m, 0, sizeof *m);
	m->enabled = s->cap > 0 && s->table != NULL;
	m->entries = s->n;
	m->deepest = s->n; /* slots are only ever added: the peak is the count */
	m->cap = s->cap;
	m->mindepth = s->mindepth;
	m->maxage = s->maxage;
	m->minage = s->minage;
	for (size_t b = 0; b < s->n_buckets; b++) {
		m->hashslots += s->bucket[b] != 0;
	}
	m->mem_kib = (s->n * NTP_SERVER_MRU_ENTRY_BYTES + KIB / 2) / KIB;
	m->maxmem_kib = (s->cap * NTP_SERVER_MRU_ENTRY_BYTES + KIB / 2) / KIB;
	m->exists = s->mru_exists;
	m->fresh = s->mru_new;
	m->recycle_old = s->mru_recycle_old;
	m->recycle_full = s->mru_recycle_full;
	m->none = s->mru_none;
	if (s->oldest != 0 && s->oldest <= s->n) {
		oldest = &s->table[s->oldest - 1]; /* the MRU list's tail, index + 1 */
	}
	if (oldest != NULL && mono > oldest->last) {
		m->oldest_age = ntp_time_to_s(mono - oldest->last);
	}
}

static void
vars_from(const ntp_host *h, const ntp_disc_info *di, ntp_sys_vars *v)
{
	v->leap = h->leap;
	v->stratum = h->stratum;
	v->poll = di->poll;
	v->refid = h->refid;
	v->sys_peer = h->sys_peer;
	v->disc_state = di->state;
	v->rootdelay = h->rootdelay;
	v->rootdisp = h->rootdisp;
	v->offset = h->offset;
	v->freq_ppm = di->freq * 1e6;
}

void
ntp_host_sys_vars(const ntp_host *h, ntp_sys_vars *out)
{
	ntp_disc_info di;

	if (h == NULL || out == NULL) {
		return;
	}
	h->algo->info(h->algo_sys, &di);
	vars_from(h, &di, out);
}

void
ntp_host_sys_brief(const ntp_host *h, ntp_sys_info *out)
{
	ntp_disc_info di;
	ntp_sys_vars v;

	if (h == NULL || out == NULL) {
		return;
	}
	h->algo->info(h->algo_sys, &di);
	memset(out, 0, sizeof *out);
	vars_from(h, &di, &v);
	out->leap = v.leap;
	out->stratum = v.stratum;
	out->precision = h->precision;
	out->poll = v.poll;
	out->rootdelay = v.rootdelay;
	out->rootdisp = v.rootdisp;
	out->refid = v.refid;
	out->reftime = h->reftime;
	out->sys_peer = v.sys_peer;
	out->offset = v.offset;
	out->freq_ppm = v.freq_ppm;
	out->freq_trusted = di.freq_trusted;
	out->sys_jitter = h->jitter;
	out->clk_jitter = di.clk_jitter;
	out->clk_wander = di.clk_wander * 1e6;
	out->disc_state = v.disc_state;
	out->steps = h->steps;
	out->served = h->server.served;
	out->kod_sent = h->server.kod_sent;
	out->dropped_restrict = h->server.dropped_restrict;
	out->dropped_rate = h->server.dropped_rate;
	out->dropped_bad = h->server.dropped_bad;
	out->mru_entries = h->server.n;
	out->mru_depth = h->server.cap;
	out->mru_none = h->server.mru_none;
	out->uptime = ntp_time_to_s(h->now.mono - h->t_start);
	sys_peer_info(h, out);
	out->stats = h->sysstats;
	out->auth_encrypts = h->sysstats.auth_digest_encrypts + h->sysstats.auth_cmac_encrypts;
	out->auth_decrypts = h->sysstats.auth_digest_decrypts + h->sysstats.auth_cmac_decrypts;
	for (size_t i = 0; i < h->n_peers; i++) {
		out->xmits += h->peers[i].sent; /* the poll process's requests */
	}
	out->have_io = h->io != NULL;
	if (h->io != NULL) {
		out->io = *h->io;
	}
	out->auth_keys = h->n_keys;
}

void
ntp_host_sys(const ntp_host *h, ntp_sys_info *out)
{
	ntp_disc_info di;

	if (h == NULL || out == NULL) {
		return;
	}
	ntp_host_sys_brief(h, out);
	kern_info(h, &out->kern);
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
