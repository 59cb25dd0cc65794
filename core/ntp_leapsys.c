/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_leapsys: the system leap (leapfile, vote) and its arming in the clock.
 * See ntp_leapsys.h for the rules.
 */
#include "ntp_leapsys.h"

#include "ntp_leap.h"
#include "ntp_select.h"

void
ntp_leapsys_init(ntp_host *h, const ntp_conf *conf, const ntp_host_params *p)
{
	h->leapfile = p->leapfile;
	h->leapsmear = conf->leapsmearinterval;
	h->leap_vote = 0;
	h->leap_vote_end = 0;
	h->leap_armed = 0;
	h->leap_at = 0;
	h->leap_done = 0;
	h->leap_mono = 0;
	h->leapfile_told = false;
}

void
ntp_leapsys_vote(ntp_host *h, const ntp_disc_cand *cand, size_t n)
{
	int ins = 0, del = 0, survivors = 0;

	for (size_t k = 0; k < n; k++) {
		if (cand[k].sel != NTP_SEL_CANDIDATE && cand[k].sel != NTP_SEL_SYSPEER) {
			continue;
		}
		const ntp_peer *p = &h->peers[cand[k].id - 1];
		survivors++;
		ins += p->leap == NTP_LEAP_ADD;
		del += p->leap == NTP_LEAP_DEL;
	}
	/* NTPsec: leap_vote_ins > leap_vote_del && leap_vote_ins > sys_survivors / 2 */
	int v = ins > del && ins > survivors / 2 ? 1 : del > ins && del > survivors / 2 ? -1 : 0;
	if (v == 0) {
		return; /* the calendar only for a vote: this runs at every update */
	}
	int64_t month_end = ntp_time_next_month_s(h->now.local);
	if (month_end - ntp_time_whole_s(h->now.local) <= NTP_S_PER_DAY) {
		/* kept for this month's end, as NTPsec keeps the leap it adds to
		 * its table: a later selection without the majority does not
		 * call it off */
		h->leap_vote = (int8_t)v;
		h->leap_vote_end = month_end;
	}
}

/* The leap the host wants armed at h->now (see the header), and its time. */
static int
wanted(const ntp_host *h, ntp_time *at)
{
	int64_t now = ntp_time_whole_s(h->now.local);
	ntp_leap_entry next;

	if (h->leapfile != NULL) {
		int file = ntp_leap_pending(h->leapfile, now);
		if (file != 0 && ntp_leap_next(h->leapfile, now, &next)) {
			*at = next.when * NTP_NS_PER_S;
			return file;
		}
		if (!ntp_leap_expired(h->leapfile, now)) {
			return 0;
		}
	}
	if (h->leap_vote == 0) {
		return 0; /* no calendar without a vote: this runs at every call */
	}
	int64_t month_end = ntp_time_next_month_s(h->now.local);
	if (h->leap_vote_end != month_end) {
		return 0;
	}
	*at = month_end * NTP_NS_PER_S;
	return h->leap_vote;
}

static void
push_leap(ntp_host *h, int step, ntp_time at)
{
	ntp_action *a = host_push(h, NTP_ACT_LEAP);

	if (a != NULL) {
		a->u.leap.step = (int8_t)step;
		a->u.leap.at = at;
	}
}

/* The leap in the clock is done once the reading is past its midnight
 * (an insert: 1 s after 23:59:59 began to repeat). */
static void
note_done(ntp_host *h)
{
	char when[40];

	if (h->leap_armed == 0 || h->now.local < h->leap_at) {
		return;
	}
	host_event(h, NTP_EV_LEAP_EVENT, 0, "leap second %s before %s",
	           h->leap_armed > 0 ? "inserted (23:59:59 repeated)"
	                             : "deleted (23:59:59 skipped)",
	           ntp_time_format(h->leap_at, when, sizeof when));
	h->leap_done = h->leap_at;
	h->leap_armed = 0;
	if (h->leap == NTP_LEAP_ADD || h->leap == NTP_LEAP_DEL) {
		h->leap = NTP_LEAP_NONE;
	}
}

static void
tell_expiry(ntp_host *h)
{
	char text[NTP_REASON_MAX];

	if (h->leapfile == NULL || h->leapfile_told) {
		return;
	}
	ntp_leap_expiry_text(h->leapfile, ntp_time_whole_s(h->now.local), text, sizeof text);
	if (text[0] != '\0') {
		h->leapfile_told = true;
		host_event(h, NTP_EV_LEAPFILE, 0, "%s", text);
	}
}

void
ntp_leapsys_update(ntp_host *h)
{
	char when[40];
	ntp_time at = 0;

	tell_expiry(h);
	note_done(h);
	if (h->leap == NTP_LEAP_NOTSYNC) {
		return; /* an unsynchronised host keeps what it armed (the kernel does) */
	}
	int want = wanted(h, &at);
	if (want != 0 && at <= h->leap_done) {
		want = 0; /* done already: servers behind us still announce it */
	}
	if (want != h->leap_armed || (want != 0 && at != h->leap_at)) {
		push_leap(h, want, at);
		if (want != 0) {
			host_event(h, NTP_EV_LEAP_ARMED, 0,
			           "leap second %s at the end of the day (%s)",
			           want > 0 ? "insert" : "delete",
			           ntp_time_format(at - NTP_NS_PER_S, when, sizeof when));
		} else {
			host_event(h, NTP_EV_LEAP_DISARMED, 0, "leap second called off");
		}
		h->leap_armed = (int8_t)want;
		h->leap_at = want != 0 ? at : 0;
	}
	h->leap = want > 0 ? NTP_LEAP_ADD : want < 0 ? NTP_LEAP_DEL : NTP_LEAP_NONE;
	if (h->leap_armed != 0 && h->now.local < h->leap_at - NTP_NS_PER_S) {
		/* the clock's jump: at midnight for an insert, at 23:59:59 for
		 * a delete (ntp_clock_leap) */
		ntp_time edge = h->leap_at - (h->leap_armed < 0 ? NTP_NS_PER_S : 0);
		h->leap_mono = ntp_time_add_sat(h->now.mono, edge - h->now.local);
	}
}

ntp_time
ntp_leapsys_smear(const ntp_host *h)
{
	if (h->leapsmear <= 0.0 || h->leap_armed == 0 || h->leap_mono == 0) {
		return 0;
	}
	double to_go = ntp_time_diff_s(h->leap_mono, h->now.mono); /* s until the leap */
	if (to_go <= 0.0 || to_go >= h->leapsmear) {
		return 0;
	}
	double done = (h->leapsmear - to_go) / h->leapsmear; /* 0..1 of the smear */
	return ntp_time_from_s(-done * h->leap_armed);
}

ntp_time
ntp_leapsys_next(const ntp_host *h)
{
	ntp_time local = NTP_TIME_NEVER;
	ntp_leap_entry next;

	if (h->leap_armed != 0) {
		local = h->leap_at;
	} else if (h->leapfile != NULL &&
	           ntp_leap_next(h->leapfile, ntp_time_whole_s(h->now.local), &next)) {
		int64_t day_before = (next.when - NTP_S_PER_DAY) * NTP_NS_PER_S;
		local = day_before > h->now.local ? day_before : next.when * NTP_NS_PER_S;
	}
	if (local == NTP_TIME_NEVER) {
		return NTP_TIME_NEVER;
	}
	/* mono runs with local (to the frequency correction): 1 ms past the
	 * instant, so that the reading is surely there (ours) */
	return ntp_time_add_sat(h->now.mono, local - h->now.local + NTP_NS_PER_S / 1000);
}
