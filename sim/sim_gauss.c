/* SPDX-License-Identifier: BSD-2-Clause */
/* Ziggurat normal deviates (see sim_gauss.h). */
#include "sim_gauss.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#define ZIG_LAYERS 128                 /* rectangles of equal area */
#define ZIG_R      3.442619855899      /* x where the base strip meets the tail (128 layers) */
#define ZIG_V      9.91256303526217e-3 /* area of each layer */

/* The layer edges are a constant of the method, computed once; ntpsim is
 * single-threaded and the values do not depend on anything. */
static double zig_x[ZIG_LAYERS + 1];
static double zig_ratio[ZIG_LAYERS];
static bool zig_ready;

static void
zig_setup(void)
{
	double f = exp(-0.5 * ZIG_R * ZIG_R);

	zig_x[0] = ZIG_V / f; /* the base strip includes the tail */
	zig_x[1] = ZIG_R;
	for (int i = 2; i < ZIG_LAYERS; i++) {
		zig_x[i] = sqrt(-2.0 * log(ZIG_V / zig_x[i - 1] + f));
		f = exp(-0.5 * zig_x[i] * zig_x[i]);
	}
	zig_x[ZIG_LAYERS] = 0.0;
	for (int i = 0; i < ZIG_LAYERS; i++) {
		zig_ratio[i] = zig_x[i + 1] / zig_x[i];
	}
	zig_ready = true;
}

/* Uniform on (0, 1]: never 0, for the logarithms. */
static double
uniform_open(ntp_rand *r)
{
	return ((double)(ntp_rand_u64(r) >> 11) + 1.0) * 0x1.0p-53;
}

/* Marsaglia's tail algorithm beyond ZIG_R. */
static double
tail(ntp_rand *r, bool negative)
{
	double x, y;

	do {
		x = -log(uniform_open(r)) / ZIG_R;
		y = -log(uniform_open(r));
	} while (y + y < x * x);
	return negative ? -(ZIG_R + x) : ZIG_R + x;
}

double
sim_gauss(ntp_rand *r)
{
	if (!zig_ready) {
		zig_setup();
	}
	for (;;) {
		uint64_t bits = ntp_rand_u64(r);
		int i = (int)(bits & (ZIG_LAYERS - 1));
		/* the top 53 bits: u uniform in [-1, 1) */
		double u = (double)(bits >> 11) * 0x1.0p-52 - 1.0;
		double x, f0, f1;

		if (fabs(u) < zig_ratio[i]) {
			return u * zig_x[i];
		}
		if (i == 0) {
			return tail(r, u < 0.0);
		}
		x = u * zig_x[i];
		f0 = exp(-0.5 * (zig_x[i] * zig_x[i] - x * x));
		f1 = exp(-0.5 * (zig_x[i + 1] * zig_x[i + 1] - x * x));
		if (f1 + ntp_rand_uniform(r) * (f0 - f1) < 1.0) {
			return x;
		}
	}
}
