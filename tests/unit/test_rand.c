/* SPDX-License-Identifier: BSD-2-Clause */
/* core/ntp_rand: determinism, independence of named streams, moments. */
#include <criterion/criterion.h>
#include <math.h>

#include "ntp_rand.h"

Test(rand, same_seed_same_stream)
{
	ntp_rand a, b;

	ntp_rand_seed(&a, 42);
	ntp_rand_seed(&b, 42);
	for (int i = 0; i < 1000; i++) {
		cr_assert_eq(ntp_rand_u64(&a), ntp_rand_u64(&b));
	}
}

Test(rand, named_streams_differ)
{
	ntp_rand a, b;

	ntp_rand_seed_named(&a, 1, "link:a->b:delay");
	ntp_rand_seed_named(&b, 1, "link:b->a:delay");
	cr_assert_neq(ntp_rand_u64(&a), ntp_rand_u64(&b));
}

Test(rand, moments)
{
	ntp_rand r;
	double sum = 0, sum2 = 0, esum = 0;
	const int n = 200000;

	ntp_rand_seed(&r, 7);
	for (int i = 0; i < n; i++) {
		double x = ntp_rand_normal(&r);
		sum += x;
		sum2 += x * x;
		esum += ntp_rand_exponential(&r, 2.0);
	}
	cr_assert_float_eq(sum / n, 0.0, 0.01);
	cr_assert_float_eq(sum2 / n, 1.0, 0.01);
	cr_assert_float_eq(esum / n, 2.0, 0.02);
}

Test(rand, below_is_in_range)
{
	ntp_rand r;
	unsigned counts[3] = {0};

	ntp_rand_seed(&r, 9);
	for (int i = 0; i < 30000; i++) {
		uint64_t x = ntp_rand_below(&r, 3);
		cr_assert_lt(x, 3u);
		counts[x]++;
	}
	for (int i = 0; i < 3; i++) {
		cr_assert_gt(counts[i], 9500u);
	}
}
