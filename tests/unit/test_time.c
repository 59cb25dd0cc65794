/* SPDX-License-Identifier: BSD-2-Clause */
/* core/ntp_time: fixed-point formats, eras and the 2036 rollover. */
#include <criterion/criterion.h>
#include <math.h>

#include "ntp_time.h"

#define S(x) ((ntp_time)(x)*NTP_NS_PER_S)

Test(time, unix_epoch_is_ntp_2208988800)
{
	ntp_ts64 t = ntp_ts_from_unix_ns(0);

	cr_assert_eq(ntp_ts_seconds(t), 2208988800u);
	cr_assert_eq(ntp_ts_fraction(t), 0u);
}

Test(time, half_second_fraction)
{
	ntp_ts64 t = ntp_ts_from_unix_ns(S(1) + 500000000);

	cr_assert_eq(ntp_ts_seconds(t), 2208988801u);
	cr_assert_eq(ntp_ts_fraction(t), 0x80000000u);
}

Test(time, roundtrip_within_one_ns)
{
	/* 2026-11-24 06:56:13.313026688 UTC, from a tshark capture. */
	ntp_time now = INT64_C(1795503373313026688);
	ntp_ts64 t = ntp_ts_from_unix_ns(now);

	cr_assert_eq(ntp_ts_to_unix_ns(t, now), now);
	cr_assert_eq(ntp_ts_to_unix_ns(t, now + S(1000000000)), now); /* 31 years off */
}

Test(time, era_rollover_2036)
{
	/* Era 0 ends at Unix 2085978496 (2036-02-07 06:28:16 UTC). */
	ntp_time rollover = S(INT64_C(4294967296) - NTP_UNIX_EPOCH_OFFSET);
	ntp_time before = rollover - S(1);
	ntp_time after = rollover + S(1);
	ntp_ts64 tb = ntp_ts_from_unix_ns(before);
	ntp_ts64 ta = ntp_ts_from_unix_ns(after);

	cr_assert_eq(ntp_ts_seconds(tb), 0xffffffffu);
	cr_assert_eq(ntp_ts_seconds(ta), 1u);
	/* Differences across the rollover are just modular subtraction. */
	cr_assert_eq(ntp_ts_sub(ta, tb), INT64_C(2) << 32);
	cr_assert_eq(ntp_ts_sub(tb, ta), -(INT64_C(2) << 32));
	/* Either side of the rollover as pivot recovers the right era. */
	cr_assert_eq(ntp_ts_to_unix_ns(ta, before), after);
	cr_assert_eq(ntp_ts_to_unix_ns(tb, after), before);
	/* A pivot 500 s before the rollover still maps era-1 timestamps forward. */
	cr_assert_eq(ntp_ts_to_unix_ns(ta, rollover - S(500)), after);
}

Test(time, pre_1970_and_far_future)
{
	ntp_time t1900 = -S(NTP_UNIX_EPOCH_OFFSET);

	cr_assert_eq(ntp_ts_from_unix_ns(t1900), 0u);
	cr_assert_eq(ntp_ts_to_unix_ns(0, t1900 + S(100)), t1900);
	/* Year 2100 (era 1). */
	ntp_time y2100 = S(INT64_C(4102444800));
	cr_assert_eq(ntp_ts_to_unix_ns(ntp_ts_from_unix_ns(y2100), y2100 - S(86400)), y2100);
}

Test(time, durations)
{
	cr_assert_eq(ntp_dur_from_ns(-1000000000), -(INT64_C(1) << 32));
	cr_assert_eq(ntp_dur_to_ns(-(INT64_C(1) << 31)), -500000000);
	cr_assert_eq(ntp_dur_to_ns(ntp_dur_from_ns(-28203650000)), -28203650000);
	cr_assert_float_eq(ntp_dur_to_s(ntp_dur_from_s(-28.2)), -28.2, 1e-9);
	cr_assert_eq(ntp_dur_from_s(1e12), INT64_MAX);
	cr_assert_eq(ntp_dur_from_s(-1e12), INT64_MIN);
	cr_assert_eq(ntp_dur_from_s(NAN), 0);
}

Test(time, subtract_before_converting)
{
	/* Two timestamps 1 ns apart near 2026: a double holding either one has
	 * only ~0.2 us resolution, the fixed-point difference keeps the 1 ns. */
	ntp_time now = INT64_C(1795503373313026688);
	ntp_ts64 a = ntp_ts_from_unix_ns(now + 1000);
	ntp_ts64 b = ntp_ts_from_unix_ns(now);

	cr_assert_float_eq(ntp_dur_to_s(ntp_ts_sub(a, b)), 1e-6, 1e-9);
}

Test(time, short_format)
{
	cr_assert_eq(ntp_short_from_s(1.0), 0x10000u);
	cr_assert_float_eq(ntp_short_to_s(0x00018000u), 1.5, 1e-12);
	cr_assert_eq(ntp_short_from_s(-3.0), 0u);
	cr_assert_eq(ntp_short_from_s(1e9), UINT32_MAX);
	cr_assert_eq(ntp_short_from_s(NAN), 0u);
}

Test(time, format_and_mjd)
{
	char buf[40];
	long mjd;
	double sod;

	ntp_time_format(INT64_C(1795503373313026688), buf, sizeof buf);
	cr_assert_str_eq(buf, "2026-11-24 06:56:13.313026");
	ntp_time_mjd(INT64_C(1795503373313026688), &mjd, &sod);
	cr_assert_eq(mjd, 61368); /* 40587 + 20781 days */
	cr_assert_float_eq(sod, 24973.313026688, 1e-6);
	ntp_time_format(-S(1), buf, sizeof buf);
	cr_assert_str_eq(buf, "1969-12-31 23:59:59.000000");
}
