/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_leapsys: the host's system leap indicator and the leap second in its
 * clock.  Part of the host (includes ntp_hostcore.h's state).
 *
 * Where the leap comes from, at each call (local clock, POSIX time):
 *   1. the leapfile (ntp_leap.h), expired or not, says a leap ends today
 *      (its last UTC day): that leap;
 *   2. else a leapfile that has not expired says there is none: none (the
 *      file is authoritative; a wrong majority of servers is ignored);
 *   3. else (no leapfile, or an expired one) the vote: more than half of the
 *      survivors of a selection that updates the clock (not a step), and
 *      more than vote the other way,
 *      announce it (NTPsec clock_select / clock_update: leap_vote_ins >
 *      sys_survivors / 2), and today is the last day of a month (when a
 *      leap can happen: IERS, and chrony's check): a leap at the end of
 *      the month.  Once a selection on that day has the majority the leap
 *      stays armed, as NTPsec keeps a voted leap in its table (a later
 *      selection without the majority does not call it off).  Votes on
 *      other days count for nothing (NTPsec would schedule a leap for the
 *      end of the month from a vote on any day: a difference).
 * A synchronised host serves that leap as its LI (01 insert, 10 delete)
 * and hands it to the clock (NTP_ACT_LEAP -> ntp_clock_leap: the step at
 * 23:59:59 as Linux does with STA_INS/STA_DEL, for every discipline;
 * chronyd's default leapsecmode system is the same), unless it smears
 * (ntp_leapsys_smear).  Events: leap_armed,
 * leap_disarmed, leap_event (done), leapfile (expired, once).
 */
#ifndef NTP_LEAPSYS_H
#define NTP_LEAPSYS_H

#include <stddef.h>

#include "ntp_discipline.h"
#include "ntp_hostcore.h"

/* From the config and the params at ntp_host_new. */
void ntp_leapsys_init(ntp_host *h, const ntp_conf *conf, const ntp_host_params *p);

/* Count the leap bits of the survivors of a selection (cand with their sel)
 * at h->now. */
void ntp_leapsys_vote(ntp_host *h, const ntp_disc_cand *cand, size_t n);

/* Work out the system leap at h->now, arm or disarm the clock, note a leap
 * that is done.  Called on every tick and after every selection. */
void ntp_leapsys_update(ntp_host *h);

/* The leap smear (ns) to add to the time served now: with
 * `leapsmearinterval N`, over the N s before an armed leap the offset
 * goes linearly from 0 to -1 s (insert; +1 s delete), as NTPsec's
 * leap_smear.doffset = -(leap_smear_time * tai_diff / interval), and is 0
 * from the instant the host's own clock jumps (midnight for an insert,
 * 23:59:59 for a delete): the time served runs on without a jump.  Measured on the monotonic clock,
 * so the repeated 23:59:59 is not smeared twice (NTPsec's "TODO see if we're inside an inserted
 * leap second").  A smearing host serves LI 00. */
ntp_time ntp_leapsys_smear(const ntp_host *h);

/* Monotonic time at which ntp_leapsys_update has something to do next
 * (the start of a leap's last day, the leap itself); NTP_TIME_NEVER none. */
ntp_time ntp_leapsys_next(const ntp_host *h);

#endif
