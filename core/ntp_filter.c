/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The clock filter, RFC 5905 §10 and App. A.5.2, in ntpd's arrangement
 * (ntp_proto.c clock_filter()).  See ntp_filter.h for the deviations.
 */
#include "ntp_filter.h"

#include <math.h>
#include <stddef.h>

#include "ntp_const.h"

#define FWEIGHT 0.5 /* stage weight factor, ntpd NTP_FWEIGHT: stage i weighs 1/2^(i+1) */

void
ntp_filter_reset(ntp_filter *f, ntp_time mono, double precision)
{
	for (int i = 0; i < NTP_NSTAGE; i++) {
		f->f[i].offset = 0.0;
		f->f[i].delay = 0.0;
		f->f[i].disp = NTP_MAXDISPERSE;
		f->f[i].t = mono;
	}
	f->next = 0;
	f->used = 0;
	f->update = mono;
	f->epoch = NTP_FILTER_NEVER;
	f->offset = 0.0;
	f->delay = 0.0;
	f->disp = NTP_MAXDISPERSE;
	f->jitter = precision;
}

/* Age the older stages by PHI since the last update and build the
 * distance list dst[] with stage indexes ord[], newest first. */
static void
age_and_measure(ntp_filter *f, ntp_time mono, double phi, double dst[], uint8_t ord[])
{
	double aged = phi * ntp_time_diff_s(mono, f->update);
	int j = f->next; /* oldest stage */

	if (aged < 0.0) {
		aged = 0.0; /* the monotonic clock never runs back; never shrink */
	}
	f->update = mono;
	for (int i = NTP_NSTAGE - 1; i >= 0; i--) {
		ntp_filter_stage *s = &f->f[j];

		if (i != 0) {
			s->disp += aged;
		}
		if (s->disp >= NTP_MAXDISPERSE) {
			s->disp = NTP_MAXDISPERSE;
			dst[i] = NTP_MAXDISPERSE;
		} else if (ntp_time_diff_s(mono, s->t) > NTP_ALLAN_XPT) {
			/* Samples past the Allan intercept are uncorrelated: charge
			 * them their dispersion so fresher ones win. */
			dst[i] = s->delay + s->disp;
		} else {
			dst[i] = s->delay;
		}
		ord[i] = (uint8_t)j;
		j = (j + 1) % NTP_NSTAGE;
	}
}

/* Sort by distance; ties keep the newer sample first. */
static void
sort_by_distance(double dst[], uint8_t ord[])
{
	for (int i = 1; i < NTP_NSTAGE; i++) {
		for (int j = 0; j < i; j++) {
			if (dst[j] > dst[i]) {
				double d = dst[j];
				uint8_t o = ord[j];

				dst[j] = dst[i];
				ord[j] = ord[i];
				dst[i] = d;
				ord[i] = o;
			}
		}
	}
}

/* Newest first, but unusable (MAXDISPERSE) stages after the usable ones;
 * stable, so the order is otherwise by age. */
static void
usable_first(double dst[], uint8_t ord[])
{
	double d2[NTP_NSTAGE];
	uint8_t o2[NTP_NSTAGE];
	int n = 0;

	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < NTP_NSTAGE; i++) {
			if ((dst[i] < NTP_MAXDISPERSE) == (pass == 0)) {
				d2[n] = dst[i];
				o2[n] = ord[i];
				n++;
			}
		}
	}
	for (int i = 0; i < NTP_NSTAGE; i++) {
		dst[i] = d2[i];
		ord[i] = o2[i];
	}
}

/* Stages usable for the jitter estimate: below MAXDISPERSE and, beyond the
 * first two, below maxdist (ntpd). */
static int
count_usable(const double dst[], double maxdist)
{
	int m = 0;

	for (int i = 0; i < NTP_NSTAGE; i++) {
		if (dst[i] >= NTP_MAXDISPERSE || (m >= 2 && dst[i] >= maxdist)) {
			continue;
		}
		m++;
	}
	return m;
}

int
ntp_filter_add(ntp_filter *f, double offset, double delay, double disp, ntp_time mono,
               const ntp_filter_params *p, double *spike)
{
	double dst[NTP_NSTAGE];
	uint8_t ord[NTP_NSTAGE];
	ntp_filter_stage *in = &f->f[f->next];
	double sum_disp = 0.0, sum_sq = 0.0, jump;
	int m;

	in->offset = offset;
	in->delay = delay;
	in->disp = disp;
	in->t = mono;
	f->next = (uint8_t)((f->next + 1) % NTP_NSTAGE);
	if (f->used < UINT8_MAX) {
		f->used++;
	}

	age_and_measure(f, mono, p->phi > 0.0 ? p->phi : NTP_PHI, dst, ord);
	if (p->no_sort) {
		usable_first(dst, ord);
	} else {
		sort_by_distance(dst, ord);
	}
	m = count_usable(dst, p->maxdist);

	/* RFC 5905 §10: epsilon = sum of disp_i / 2^(i+1) over the sorted
	 * stages; psi = RMS of offset_i - offset_0 over the usable ones. */
	const ntp_filter_stage *best = &f->f[ord[0]];
	for (int i = NTP_NSTAGE - 1; i >= 0; i--) {
		const ntp_filter_stage *s = &f->f[ord[i]];

		sum_disp = FWEIGHT * (sum_disp + s->disp);
		if (i < m) {
			sum_sq += (s->offset - best->offset) * (s->offset - best->offset);
		}
	}
	f->disp = sum_disp;
	if (m == 0) {
		return NTP_FILTER_EMPTY;
	}
	f->jitter = fmax(sqrt(m > 1 ? sum_sq / (m - 1) : sum_sq), p->precision);

	/* Popcorn spike suppressor (ntpd 4.2.8 clock_filter): a jump over SGATE
	 * jitters within two poll intervals of the last sample used is not
	 * passed on.  As in ntpd the peer offset is updated first, so the next
	 * sample is compared with this one: keeping the old offset instead let a
	 * stale pre-slew offset reject genuine samples for several polls. */
	jump = fabs(f->offset - best->offset);
	f->offset = best->offset;
	f->delay = best->delay;
	if (f->epoch != NTP_FILTER_NEVER && f->disp < p->maxdist && best->disp < p->maxdist &&
	    jump > NTP_SGATE * f->jitter &&
	    ntp_time_diff_s(best->t, f->epoch) < 2.0 * ldexp(1.0, p->hpoll)) {
		if (spike != NULL) {
			*spike = jump;
		}
		return NTP_FILTER_POPCORN;
	}

	/* Use a sample only once and never one older than the last used. */
	if (f->epoch != NTP_FILTER_NEVER && best->t <= f->epoch) {
		return NTP_FILTER_OLD;
	}
	f->epoch = best->t;
	return NTP_FILTER_NEW;
}

const char *
ntp_filter_verdict_name(int verdict)
{
	switch (verdict) {
	case NTP_FILTER_NEW:
		return "new sample";
	case NTP_FILTER_EMPTY:
		return "no usable sample";
	case NTP_FILTER_OLD:
		return "best sample already used";
	case NTP_FILTER_POPCORN:
		return "popcorn spike";
	default:
		return "unknown";
	}
}
