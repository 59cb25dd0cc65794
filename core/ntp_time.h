/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_time: NTP's fixed-point time formats and the arithmetic on them
 * (RFC 5905 §6).
 *
 *   ntp_ts64   timestamp format, 32.32 unsigned seconds since the start of
 *              an NTP era (era 0 began 1900-01-01 00:00 UTC).  The era
 *              number is not on the wire: it is recovered by choosing the
 *              era that puts the timestamp nearest a pivot time (as NTPsec
 *              and chrony do), so the 2036 rollover is just arithmetic.
 *   ntp_short  short format, 16.16 unsigned seconds (root delay and root
 *              dispersion on the wire).
 *   ntp_dur    a signed duration in 32.32 fixed point seconds.  The
 *              difference of two timestamps is taken in 64-bit modular
 *              arithmetic, which is exact whenever the true difference is
 *              under 2^31 s (68 years); only then is it turned into a double.
 *   ntp_time   signed nanoseconds: a local clock reading since
 *              1970-01-01 00:00 UTC (the caller's, possibly wrong, idea
 *              of UTC), or a reading of a monotonic clock (any origin).
 *   ntp_now    the two clocks every core entry point takes (see below).
 *
 * "The only operation permitted with these values is subtraction"
 * (RFC 5905 App. A): add and subtract durations, never two timestamps.
 */
#ifndef NTP_TIME_H
#define NTP_TIME_H

#include <stdint.h>

typedef uint64_t ntp_ts64;
typedef uint32_t ntp_short;
typedef int64_t ntp_dur;
typedef int64_t ntp_time;

#define NTP_UNIX_EPOCH_OFFSET INT64_C(2208988800) /* s, 1900-01-01 to 1970-01-01 */
#define NTP_NS_PER_S          INT64_C(1000000000) /* ns per s */
#define NTP_ERA_SECONDS       INT64_C(4294967296) /* s in one NTP era, 2^32 */
#define NTP_S_PER_DAY         INT64_C(86400)      /* s, a UTC day as MJD counts it */
#define NTP_MJD_UNIX_EPOCH    40587L              /* d, MJD of 1970-01-01 (ntpd MJD_1970) */
#define NTP_TIME_NONE         INT64_MIN /* a time that has not happened ("never heard from") */
#define NTP_TIME_NEVER        INT64_MAX /* a timer that never falls due */

/* Wire timestamp for a Unix time in ns (the era is dropped, as on the
 * wire).  The fraction is rounded to nearest. */
ntp_ts64 ntp_ts_from_unix_ns(ntp_time unix_ns);

/* Unix ns for a wire timestamp, choosing the era whose value lies nearest
 * pivot_unix_ns (within +-2^31 s).  Pass the local clock as the pivot. */
ntp_time ntp_ts_to_unix_ns(ntp_ts64 ts, ntp_time pivot_unix_ns);

/* a - b as a signed duration, exact while |a - b| < 2^31 s. */
ntp_dur ntp_ts_sub(ntp_ts64 a, ntp_ts64 b);

/* t + d, modulo the era. */
ntp_ts64 ntp_ts_add(ntp_ts64 t, ntp_dur d);

/* RFC 5905 §8, the one copy of the on-wire arithmetic (associations and
 * one-shot queries): offset theta = ((T2 - T1) + (T3 - T4)) / 2 and delay
 * delta = (T4 - T1) - (T3 - T2), computed as (T2 - T1) - (T3 - T4) (the
 * same value): first-order differences in 64-bit fixed point, only then
 * in double, so that era-spanning timestamps lose nothing.  The delay is
 * raw (it may be negative); each caller applies its own floor.  s. */
void ntp_ts_offset_delay(ntp_ts64 t1, ntp_ts64 t2, ntp_ts64 t3, ntp_ts64 t4, double *offset,
                         double *delay);

/* Conversions of durations.  From double saturates at +-2^31 s. */
double ntp_dur_to_s(ntp_dur d);
ntp_dur ntp_dur_from_s(double s);
int64_t ntp_dur_to_ns(ntp_dur d);
ntp_dur ntp_dur_from_ns(int64_t ns);

/* Short format; from double saturates to [0, 65535.99998] s. */
double ntp_short_to_s(ntp_short v);
ntp_short ntp_short_from_s(double s);

/* Seconds and fraction parts, for printing and tests. */
static inline uint32_t
ntp_ts_seconds(ntp_ts64 t)
{
	return (uint32_t)(t >> 32);
}

static inline uint32_t
ntp_ts_fraction(ntp_ts64 t)
{
	return (uint32_t)t;
}

static inline ntp_ts64
ntp_ts_make(uint32_t seconds, uint32_t fraction)
{
	return ((ntp_ts64)seconds << 32) | fraction;
}

/* Local time arithmetic helpers (ntp_time is ns). */
static inline double
ntp_time_to_s(ntp_time t)
{
	return (double)t / 1e9;
}

/* Difference of two readings of one clock in seconds; subtract first, then convert. */
static inline double
ntp_time_diff_s(ntp_time a, ntp_time b)
{
	return (double)(a - b) / 1e9;
}

ntp_time ntp_time_from_s(double s);

/* The two clocks a caller hands the core, as ntpd keeps them apart (its
 * timers run on `current_time`, a seconds counter that nothing steps; only
 * its timestamps come from the system clock):
 *   mono   a monotonic reading (ns, any origin: CLOCK_MONOTONIC in refd,
 *          the node's oscillator without external steps in ntpsim).  Every
 *          timer and every age runs on it: poll, reach, stepout, rate
 *          limits, MRU ages, `when`, dispersion growth.  A step of the
 *          local clock -- ours, an administrator's `date -s`, a VM resumed
 *          after an hour -- does not move it, so no timer moves either.
 *   local  the clock this host disciplines (ns since 1970): packet
 *          timestamps, offsets, reference time, stats records. */
typedef struct ntp_now {
	ntp_time mono;
	ntp_time local;
} ntp_now;

static inline ntp_now
ntp_now_at(ntp_time mono, ntp_time local)
{
	ntp_now n = {.mono = mono, .local = local};

	return n;
}

/* a + b, saturating at the ends of ntp_time instead of overflowing. */
static inline ntp_time
ntp_time_add_sat(ntp_time a, ntp_time b)
{
	if (b > 0 && a > INT64_MAX - b) {
		return INT64_MAX;
	}
	if (b < 0 && a < INT64_MIN - b) {
		return INT64_MIN;
	}
	return a + b;
}

/* Format a Unix ns time as "YYYY-MM-DD HH:MM:SS.ffffff" (UTC) into buf of
 * at least 32 bytes, without libc's time functions (core/ has no tz).
 * Returns buf. */
char *ntp_time_format(ntp_time unix_ns, char *buf, unsigned long size);

/* Modified Julian Day and seconds of day for a Unix ns time: the first two
 * fields of ntpd's peerstats and loopstats records. */
void ntp_time_mjd(ntp_time unix_ns, long *mjd, double *sec_of_day);

/* The whole POSIX second a Unix ns time falls in (floor: before 1970
 * too). */
int64_t ntp_time_whole_s(ntp_time unix_ns);

/* POSIX seconds of 00:00:00 UTC on the first day of the month after the
 * one unix_ns falls in: when a leap second announced this month takes
 * effect (leap seconds end a month, IERS). */
int64_t ntp_time_next_month_s(ntp_time unix_ns);

#endif
