/* SPDX-License-Identifier: BSD-2-Clause */
/* refd/refd_num: the strict decimal parser behind every number a person
 * types at refd (issue 11 item 9). */
#include <criterion/criterion.h>
#include <limits.h>
#include <math.h>

#include "refd_num.h"

Test(refd_num, plain_decimal_forms)
{
	static const struct {
		const char *s;
		double v;
	} ok[] = {
	        {"0", 0.0},    {"28.2", 28.2},  {"+28.2", 28.2},  {"-0.5", -0.5},
	        {".5", 0.5},   {"-.5e1", -5.0}, {"12.", 12.0},    {"1e-3", 1e-3},
	        {"1E+3", 1e3}, {"007", 7.0},    {"1e308", 1e308}, {"-0", 0.0},
	};

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		double v = -1.0;

		cr_assert(refd_num_parse(ok[i].s, &v), "'%s' refused", ok[i].s);
		cr_assert_float_eq(v, ok[i].v, 1e-12 * (1.0 + fabs(ok[i].v)), "'%s'", ok[i].s);
	}
}

Test(refd_num, what_strtod_takes_and_a_person_does_not_mean)
{
	static const char *const bad[] = {
	        "0x10", "-0x10", "0X1p3", "inf", "-inf",  "infinity", "nan", "NaN", "nan(1)",
	        " 5",   "5 ",    "\t5",   "",    ".",     "-",        "+",   "e5",  "1e",
	        "1e+",  "1.2.3", "1,5",   "5s",  "1e999", "-1e999",   "--1", "+-1",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		double v = 42.0;

		cr_assert_not(refd_num_parse(bad[i], &v), "'%s' accepted as %g", bad[i], v);
		cr_assert_float_eq(v, 42.0, 0.0, "'%s': untouched when refused", bad[i]);
	}
}

Test(refd_num, integers)
{
	long v = 0;

	cr_assert(refd_num_parse_long("123", 0, 65535, &v));
	cr_assert_eq(v, 123);
	cr_assert(refd_num_parse_long("0123", 0, 65535, &v), "leading zeros: decimal");
	cr_assert_eq(v, 123);
	cr_assert(refd_num_parse_long("-3", -5, 5, &v));
	cr_assert_eq(v, -3);
	cr_assert_not(refd_num_parse_long("-3", 0, 5, &v), "a sign only where negatives are");
	cr_assert_not(refd_num_parse_long("+3", 0, 5, &v));
	cr_assert_not(refd_num_parse_long("0x3", 0, 5, &v));
	cr_assert_not(refd_num_parse_long("3.0", 0, 5, &v));
	cr_assert_not(refd_num_parse_long(" 3", 0, 5, &v));
	cr_assert_not(refd_num_parse_long("", 0, 5, &v));
	cr_assert_not(refd_num_parse_long("6", 0, 5, &v));
	cr_assert_not(refd_num_parse_long("99999999999999999999999", 0, LONG_MAX, &v));
}

Test(refd_num, prefix_before_a_unit)
{
	cr_assert(refd_num_prefix_ok("500ms"));
	cr_assert(refd_num_prefix_ok("  1.5 ms"));
	cr_assert(refd_num_prefix_ok("-1s"));
	cr_assert(refd_num_prefix_ok("1.2e-5"));
	cr_assert_not(refd_num_prefix_ok("0x10"), "strtod reads more than the decimal 0");
	cr_assert_not(refd_num_prefix_ok("0x1p3ms"));
	cr_assert_not(refd_num_prefix_ok("inf"));
	cr_assert_not(refd_num_prefix_ok("nan"));
	cr_assert_not(refd_num_prefix_ok("ms"));
	cr_assert_not(refd_num_prefix_ok(""));
}
