/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_utc: true UTC with leap seconds (see sim_utc.h).
 */
#include "sim_utc.h"

#include <string.h>

#include "ntp_time.h"

/* POSIX s of the midnights the IERS leaps ended at (all inserted), from
 * IERS leap-seconds.list (tests/data/leap-seconds.list, #$ 3960835200). */
static const int64_t iers_leaps[] = {
        78796800,  94694400,   126230400,  157766400,  189302400,  220924800,  252460800,
        283996800, 315532800,  362793600,  394329600,  425865600,  489024000,  567993600,
        631152000, 662688000,  709948800,  741484800,  773020800,  820454400,  867715200,
        915148800, 1136073600, 1230768000, 1341100800, 1435708800, 1483228800,
};

void
sim_utc_iers(ntp_leap_table *t)
{
	ntp_leap_init(t, "IERS");
	for (size_t i = 0; i < sizeof iers_leaps / sizeof iers_leaps[0]; i++) {
		ntp_leap_add(t, iers_leaps[i], 1);
	}
}

void
sim_utc_init(sim_utc *u, const ntp_leap_table *t, int64_t start_ns)
{
	int64_t shift = 0;

	memset(u, 0, sizeof *u);
	for (size_t i = 0; i < t->n && u->n < SIM_UTC_EDGES_MAX; i++) {
		const ntp_leap_entry *l = &t->e[i];
		/* the POSIX reading at which the ideal clock jumps: the midnight
		 * for an insert (back to 23:59:59), 23:59:59 for a delete */
		int64_t edge = l->when * NTP_NS_PER_S - (l->step < 0 ? NTP_NS_PER_S : 0);

		if (l->step == 0 || edge <= start_ns) {
			continue;
		}
		u->e[u->n].at = edge + shift;
		shift += l->step * NTP_NS_PER_S;
		u->e[u->n].shift = shift;
		u->n++;
	}
}

int64_t
sim_utc_posix(const sim_utc *u, int64_t now)
{
	int64_t shift = 0;

	for (size_t i = 0; i < u->n && now >= u->e[i].at; i++) {
		shift = u->e[i].shift;
	}
	return now - shift;
}
