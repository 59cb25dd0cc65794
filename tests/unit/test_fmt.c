/* SPDX-License-Identifier: BSD-2-Clause */
/* sim/sim_fmt: the integer "%.*f" writer gives printf's bytes, edge values
 * included (exact halves at the last digit, -0.0, huge, subnormal, NaN). */
#include <criterion/criterion.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ntp_rand.h"
#include "sim_fmt.h"

#define RANDOM_VALUES 200000 /* per test: enough to hit every exponent many times */

static unsigned long compared;

/* sim_fmt_fixed and snprintf agree on x at every number of decimals. */
static void
same_as_printf(double x)
{
	for (int d = 0; d <= SIM_FMT_DIGITS_MAX; d++) {
		char want[SIM_FMT_NUM_MAX], got[SIM_FMT_NUM_MAX];
		int lw = snprintf(want, sizeof(want), "%.*f", d, x);
		int lg = sim_fmt_fixed(got, sizeof(got), x, d);

		cr_assert_eq(lg, lw, "%a at %d: length %d, printf %d", x, d, lg, lw);
		cr_assert_str_eq(got, want, "%a at %d decimals", x, d);
		compared++;
	}
}

static double
from_bits(uint64_t b)
{
	double x;

	memcpy(&x, &b, sizeof(x));
	return x;
}

Test(fmt, edge_values_match_printf)
{
	const double v[] = {0.0,
	                    -0.0,
	                    1e-12,
	                    -1e-12,
	                    -4e-10,
	                    -5e-10,
	                    5e-10,
	                    0.5,
	                    1.5,
	                    2.5,
	                    -0.5,
	                    -2.5,
	                    0.0009765625, /* 1/1024: a half at the 9th decimal */
	                    -0.0009765625,
	                    0.9999999995,
	                    9.9999999995,
	                    0.99999999949999994,
	                    1e9,
	                    9999999999.9999990,
	                    9999999999.999998,
	                    1e10,
	                    nextafter(1e10, 0.0),
	                    -nextafter(1e10, 0.0),
	                    1e15,
	                    123456789012345678.0,
	                    1e300,
	                    -1e300,
	                    DBL_MAX,
	                    -DBL_MAX,
	                    DBL_MIN,
	                    -DBL_MIN,
	                    DBL_TRUE_MIN,
	                    -DBL_TRUE_MIN,
	                    DBL_EPSILON,
	                    INFINITY,
	                    -INFINITY,
	                    NAN,
	                    -NAN,
	                    0.1,
	                    0.2,
	                    0.3,
	                    1e-9,
	                    -1e-9,
	                    1.2345678905,
	                    100.0,
	                    86400.0,
	                    1000000.0000005};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		same_as_printf(v[i]);
	}
}

/* k / 2^m for odd k: 2^-(d+1) steps are exact halves at decimal d, so
 * this walks every half-even case, and the neighbours one ulp either side. */
Test(fmt, dyadic_halves_and_neighbours_match_printf)
{
	for (int m = 1; m <= 40; m++) {
		for (int64_t k = 1; k < 4000; k += 2) {
			double x = ldexp((double)k, -m);

			same_as_printf(x);
			same_as_printf(-x);
			same_as_printf(nextafter(x, 0.0));
			same_as_printf(nextafter(x, INFINITY));
		}
	}
	cr_assert_gt(compared, 1000000u);
}

/* n + 0.5 ulps of the last decimal, and the nearest doubles, across the
 * magnitudes the traces see (offsets of ns to seconds, times to 1e9 s). */
Test(fmt, decimal_halves_match_printf)
{
	ntp_rand r;

	ntp_rand_seed_named(&r, 1, "test_fmt:halves");
	for (int i = 0; i < RANDOM_VALUES / 4; i++) {
		int d = (int)ntp_rand_below(&r, SIM_FMT_DIGITS_MAX + 1);
		double scale = pow(10.0, (double)ntp_rand_below(&r, 10));
		double n = floor(ntp_rand_uniform(&r) * scale);
		double x = (n + 0.5) / pow(10.0, d);

		same_as_printf(x);
		same_as_printf(nextafter(x, 0.0));
		same_as_printf(nextafter(x, INFINITY));
		same_as_printf(-x);
	}
}

Test(fmt, random_magnitudes_match_printf)
{
	ntp_rand r;

	ntp_rand_seed_named(&r, 1, "test_fmt:magnitudes");
	for (int i = 0; i < RANDOM_VALUES; i++) {
		double e = -15.0 + 27.0 * ntp_rand_uniform(&r); /* 1e-15 .. 1e12 */
		double x = pow(10.0, e) * (ntp_rand_u64(&r) & 1u ? -1.0 : 1.0);

		same_as_printf(x);
	}
}

/* Any 64-bit pattern: subnormals, NaNs with payloads, infinities. */
Test(fmt, random_bit_patterns_match_printf)
{
	ntp_rand r;

	ntp_rand_seed_named(&r, 1, "test_fmt:bits");
	for (int i = 0; i < RANDOM_VALUES / 10; i++) {
		same_as_printf(from_bits(ntp_rand_u64(&r)));
	}
}

Test(fmt, short_buffer_cuts_like_snprintf)
{
	for (size_t size = 0; size < 16; size++) {
		char want[16], got[16];

		memset(want, 'x', sizeof(want));
		memset(got, 'x', sizeof(got));
		cr_assert_eq(sim_fmt_fixed(got, size, -12.3456789125, 9),
		             snprintf(want, size, "%.9f", -12.3456789125));
		cr_assert_eq(memcmp(got, want, sizeof(got)), 0, "size %zu", size);
	}
}

Test(fmt, row_matches_fprintf_format)
{
	sim_fmt_row row;
	char want[256];
	const long long iv[] = {0, 1, -1, 9, 10, -128, LLONG_MAX, LLONG_MIN};
	const unsigned long long uv[] = {0u, 1u, 255u, 4294967295u, ULLONG_MAX};

	for (size_t i = 0; i < sizeof(iv) / sizeof(iv[0]); i++) {
		row.n = 0;
		sim_fmt_row_int(&row, iv[i]);
		sim_fmt_row_char(&row, ',');
		sim_fmt_row_uint(&row, uv[i % 5]);
		sim_fmt_row_char(&row, ',');
		sim_fmt_row_fixed(&row, 1.0 / (double)(i + 3), 6);
		sim_fmt_row_str(&row, ",SYNC\n");
		snprintf(want, sizeof(want), "%lld,%llu,%.6f,SYNC\n", iv[i], uv[i % 5],
		         1.0 / (double)(i + 3));
		cr_assert_not(sim_fmt_row_cut(&row));
		cr_assert_eq(row.n, strlen(want));
		cr_assert_eq(memcmp(row.b, want, row.n), 0, "%s", want);
	}
}

/* A row longer than the buffer (here: huge values at %.9f) is marked cut
 * and not written, so the caller falls back to fprintf. */
Test(fmt, overlong_row_is_cut_and_refused)
{
	sim_fmt_row row;
	FILE *f = tmpfile();

	cr_assert_not_null(f);
	row.n = 0;
	for (int i = 0; i < 4; i++) {
		sim_fmt_row_fixed(&row, DBL_MAX, 9);
	}
	cr_assert(sim_fmt_row_cut(&row));
	cr_assert_eq(sim_fmt_row_write(&row, f), -1);
	cr_assert_eq(ftell(f), 0L);
	row.n = 0;
	sim_fmt_row_fixed(&row, DBL_MAX, 9);
	cr_assert_not(sim_fmt_row_cut(&row));
	cr_assert_eq(sim_fmt_row_write(&row, f), 0);
	cr_assert_eq(ftell(f), (long)row.n);
	fclose(f);
}
