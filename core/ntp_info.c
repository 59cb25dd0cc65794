/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_info: the host's introspection (see ntp_info.h): snapshots of the
 * associations and the system variables, and the protocol counters.
 */
#include "ntp_info.h"

#include <stdio.h>
#include <string.h>

#include "ntp_filter.h"
#include "ntp_hostcore.h"
#include "ntp_select.h"
#include "ntp_system.h"

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
	mono = host_clamp_now(mono);
	for (size_t i = 0; i < h->n_peers && n < max; i++) {
		const ntp_peer *p = &h->peers[i];
		ntp_peer_info *o = &out[n];

		if (!host_slot_used(p)) {
			continue;
		}
		memset(o, 0, sizeof *o);
		o->assoc = (int)i + 1;
		o->addr = p->addr;
		host_remote_name(p, o->remote, sizeof o->remote);
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
	if (h->sys_peer == 0 && !ntp_system_any_fit(h)) {
		/* as of the last call: nobody passes the fit tests */
		ntp_system_no_candidates(h, out->no_sys_peer_reason,
		                         sizeof out->no_sys_peer_reason);
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
