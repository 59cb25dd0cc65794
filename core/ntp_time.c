/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * NTP time formats, RFC 5905 §6.  All conversions are integer arithmetic
 * except the explicit *_to_s / *_from_s ones.
 */
#include "ntp_time.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#define FRAC_ONE (INT64_C(1) << 32) /* 1 s in 32.32 fixed point */

/* Floor division and modulo for a positive divisor. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b) < 0) {
		q--;
	}
	return q;
}

static int64_t
floor_mod(int64_t a, int64_t b)
{
	int64_t m = a % b;

	return m < 0 ? m + b : m;
}

/* Nanoseconds (0 <= ns < 1e9) to a 32-bit binary fraction, rounded; may
 * return exactly 2^32, which the caller carries into the seconds. */
static uint64_t
ns_to_frac(int64_t ns)
{
	return (((uint64_t)ns << 32) + (uint64_t)(NTP_NS_PER_S / 2)) / (uint64_t)NTP_NS_PER_S;
}

static int64_t
frac_to_ns(uint64_t frac)
{
	return (int64_t)((frac * (uint64_t)NTP_NS_PER_S + (UINT64_C(1) << 31)) >> 32);
}

ntp_ts64
ntp_ts_from_unix_ns(ntp_time unix_ns)
{
	int64_t sec = floor_div(unix_ns, NTP_NS_PER_S);
	uint64_t frac = ns_to_frac(floor_mod(unix_ns, NTP_NS_PER_S));
	uint64_t ntp_sec = (uint64_t)(sec + NTP_UNIX_EPOCH_OFFSET);

	/* Unsigned arithmetic wraps modulo 2^64, which drops the era. */
	return (ntp_sec << 32) + frac;
}

ntp_time
ntp_ts_to_unix_ns(ntp_ts64 ts, ntp_time pivot_unix_ns)
{
	/* The era nearest the pivot is the one that makes |ts - pivot| < 2^31 s. */
	ntp_dur d = ntp_ts_sub(ts, ntp_ts_from_unix_ns(pivot_unix_ns));

	return pivot_unix_ns + ntp_dur_to_ns(d);
}

ntp_dur
ntp_ts_sub(ntp_ts64 a, ntp_ts64 b)
{
	uint64_t diff = a - b;

	/* Two's complement reinterpretation without implementation-defined casts. */
	if (diff <= (uint64_t)INT64_MAX) {
		return (ntp_dur)diff;
	}
	return -(ntp_dur)(~diff) - 1;
}

ntp_ts64
ntp_ts_add(ntp_ts64 t, ntp_dur d)
{
	return t + (uint64_t)d;
}

double
ntp_dur_to_s(ntp_dur d)
{
	return (double)d / (double)FRAC_ONE;
}

ntp_dur
ntp_dur_from_s(double s)
{
	double x = s * (double)FRAC_ONE;

	if (isnan(x)) {
		return 0;
	}
	if (x >= 9.2233720368547748e18) {
		return INT64_MAX;
	}
	if (x <= -9.2233720368547758e18) {
		return INT64_MIN;
	}
	return (ntp_dur)llround(x);
}

int64_t
ntp_dur_to_ns(ntp_dur d)
{
	uint64_t frac = (uint64_t)d & 0xffffffffu;
	int64_t sec = (d - (int64_t)frac) / FRAC_ONE;

	return sec * NTP_NS_PER_S + frac_to_ns(frac);
}

ntp_dur
ntp_dur_from_ns(int64_t ns)
{
	int64_t sec = floor_div(ns, NTP_NS_PER_S);
	uint64_t frac = ns_to_frac(floor_mod(ns, NTP_NS_PER_S));

	if (sec >= INT32_MAX) {
		return INT64_MAX;
	}
	if (sec < INT32_MIN) {
		return INT64_MIN;
	}
	return sec * FRAC_ONE + (int64_t)frac;
}

double
ntp_short_to_s(ntp_short v)
{
	return (double)v / 65536.0;
}

ntp_short
ntp_short_from_s(double s)
{
	double x = s * 65536.0;

	if (!(x > 0.0)) {
		return 0; /* negative and NaN */
	}
	if (x >= 4294967295.0) {
		return UINT32_MAX;
	}
	return (ntp_short)(x + 0.5);
}

ntp_time
ntp_time_from_s(double s)
{
	double x = s * 1e9;

	if (isnan(x)) {
		return 0;
	}
	if (x >= 9.2233720368547748e18) {
		return INT64_MAX;
	}
	if (x <= -9.2233720368547758e18) {
		return INT64_MIN;
	}
	return (ntp_time)llround(x);
}

/* Howard Hinnant's days_from_civil inverse: days since 1970-01-01 to a
 * proleptic Gregorian date. */
static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2 ? 1 : 0);
}

char *
ntp_time_format(ntp_time unix_ns, char *buf, unsigned long size)
{
	int64_t sec = floor_div(unix_ns, NTP_NS_PER_S);
	int64_t usec = floor_mod(unix_ns, NTP_NS_PER_S) / 1000;
	int64_t days = floor_div(sec, NTP_S_PER_DAY);
	int64_t sod = floor_mod(sec, NTP_S_PER_DAY);
	int64_t y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	snprintf(buf, size, "%04lld-%02u-%02u %02d:%02d:%02d.%06lld", (long long)y, m, d,
	         (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), (long long)usec);
	return buf;
}

void
ntp_time_mjd(ntp_time unix_ns, long *mjd, double *sec_of_day)
{
	int64_t day_ns = NTP_S_PER_DAY * NTP_NS_PER_S;

	*mjd = NTP_MJD_UNIX_EPOCH + (long)floor_div(unix_ns, day_ns);
	*sec_of_day = (double)floor_mod(unix_ns, day_ns) / 1e9;
}

int64_t
ntp_time_next_month_s(ntp_time unix_ns)
{
	static const unsigned days_in[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int64_t days = floor_div(floor_div(unix_ns, NTP_NS_PER_S), NTP_S_PER_DAY);
	int64_t y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	/* Gregorian leap years: every 4th, not every 100th, every 400th */
	bool leap_year = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	unsigned dim = days_in[m - 1] + (m == 2 && leap_year ? 1u : 0u);
	return (days + (int64_t)(dim - d) + 1) * NTP_S_PER_DAY;
}

int64_t
ntp_time_whole_s(ntp_time unix_ns)
{
	return floor_div(unix_ns, NTP_NS_PER_S);
}

void
ntp_ts_offset_delay(ntp_ts64 t1, ntp_ts64 t2, ntp_ts64 t3, ntp_ts64 t4, double *offset,
                    double *delay)
{
	double t21 = ntp_dur_to_s(ntp_ts_sub(t2, t1));
	double t34 = ntp_dur_to_s(ntp_ts_sub(t3, t4));

	*offset = (t21 + t34) / 2.0;
	*delay = t21 - t34;
}
