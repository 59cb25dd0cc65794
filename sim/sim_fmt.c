/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fixed-point decimal output by integer arithmetic.  A finite double is
 * m * 2^e exactly (m < 2^53); x * 10^d is then m * 10^d / 2^-e, a 128-bit
 * product shifted right, rounded half to even on the bits shifted out:
 * exactly what glibc's printf does for "%.*f" (it formats the exact binary
 * value and rounds in the current rounding mode, to nearest-even by
 * default).  tests/unit/test_fmt.c compares both on edge values.
 */
#include "sim_fmt.h"

#include <float.h>
#include <math.h>
#include <string.h>

#define FAST_ABS_MAX 1e10 /* |x| below which x * 10^9 < 2^64: the integer path holds */
#define UINT_DIGITS  20   /* decimal digits of UINT64_MAX */

/* 10^d for d in [0, SIM_FMT_DIGITS_MAX]: all below 2^32. */
static const uint32_t pow10_u32[SIM_FMT_DIGITS_MAX + 1] = {
        1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u, 10000000u, 100000000u, 1000000000u};

/* scaled_round reads doubles as IEEE 754 binary64. */
_Static_assert(sizeof(double) == sizeof(uint64_t) && DBL_MANT_DIG == 53 && DBL_MAX_EXP == 1024,
               "sim_fmt needs IEEE 754 binary64 doubles");

typedef struct u128 {
	uint64_t hi, lo;
} u128;

static u128
mul_64_32(uint64_t a, uint32_t b)
{
	uint64_t lo = (a & 0xffffffffu) * b;
	uint64_t mid = (a >> 32) * b;
	u128 r;

	r.lo = lo + (mid << 32);
	r.hi = (mid >> 32) + (r.lo < lo ? 1u : 0u);
	return r;
}

static unsigned
bit_of(u128 v, int i)
{
	return (unsigned)((i >= 64 ? v.hi >> (i - 64) : v.lo >> i) & 1u);
}

/* Whether any of the bits below bit i (i in [0, 127]) is set. */
static int
any_below(u128 v, int i)
{
	if (i == 0) {
		return 0;
	}
	if (i <= 64) {
		return (i == 64 ? v.lo : v.lo & ((UINT64_C(1) << i) - 1u)) != 0;
	}
	return v.lo != 0 || (v.hi & ((UINT64_C(1) << (i - 64)) - 1u)) != 0;
}

/* v >> s for s in [1, 127], where the result fits 64 bits. */
static uint64_t
shift_right(u128 v, int s)
{
	if (s >= 64) {
		return v.hi >> (s - 64);
	}
	return (v.lo >> s) | (v.hi << (64 - s));
}

/* round-half-even(|x| * 10^digits) for finite |x| < FAST_ABS_MAX.  The
 * significand and exponent come from the IEEE 754 binary64 bits (frexp and
 * ldexp were a quarter of the writer's time). */
static uint64_t
scaled_round(double ax, int digits)
{
	uint64_t bits, m, q;
	int biased, s;
	u128 p;

	memcpy(&bits, &ax, sizeof(bits));
	biased = (int)((bits >> 52) & 0x7ffu);
	m = bits & ((UINT64_C(1) << 52) - 1u);
	if (biased != 0) {
		m |= UINT64_C(1) << 52; /* the implicit leading 1 */
	}
	s = biased != 0 ? 1075 - biased : 1074; /* ax = m / 2^s; s >= 19 here */
	if (m == 0 || s >= 128) {
		return 0; /* below 2^-75: m * 10^9 < 2^83 rounds to 0 */
	}
	p = mul_64_32(m, pow10_u32[digits]);
	q = shift_right(p, s);
	/* bit s-1 is the half; round up above it, or on it to an even q */
	if (bit_of(p, s - 1) && (any_below(p, s - 1) || (q & 1u))) {
		q++;
	}
	return q;
}

/* "00" .. "99": two digits per division, half the divisions of one at a
 * time (the trace writer was a sixth of a 1-sample-per-second run). */
static const char digit_pairs[] = "00010203040506070809101112131415161718192021222324"
                                  "25262728293031323334353637383940414243444546474849"
                                  "50515253545556575859606162636465666768697071727374"
                                  "75767778798081828384858687888990919293949596979899";

/* Decimal digits of v into end[-k..-1]; returns k. */
static int
put_uint_back(char *end, uint64_t v)
{
	int k = 0;

	while (v >= 100u) {
		unsigned r = (unsigned)(v % 100u);

		v /= 100u;
		k += 2;
		memcpy(end - k, &digit_pairs[2 * r], 2);
	}
	if (v >= 10u) {
		k += 2;
		memcpy(end - k, &digit_pairs[2 * v], 2);
	} else {
		end[-++k] = (char)('0' + v);
	}
	return k;
}

/* Exactly n digits of f (< 10^n, zero-padded) into out[0..n-1]. */
static void
put_fraction(char *out, uint32_t f, int n)
{
	int i = n;

	for (; i >= 2; i -= 2) {
		memcpy(out + i - 2, &digit_pairs[2 * (f % 100u)], 2);
		f /= 100u;
	}
	if (i == 1) {
		out[0] = (char)('0' + f % 10u);
	}
}

/* The integer path into out (at least 32 bytes); returns the length. */
static int
fixed_fast(char *out, double x, int digits)
{
	uint64_t p = pow10_u32[digits];
	uint64_t n = scaled_round(fabs(x), digits);
	char tmp[UINT_DIGITS + 1];
	int len = 0, k;

	if (signbit(x)) {
		out[len++] = '-';
	}
	k = put_uint_back(tmp + sizeof(tmp), n / p);
	memcpy(out + len, tmp + sizeof(tmp) - k, (size_t)k);
	len += k;
	if (digits > 0) {
		out[len++] = '.';
		put_fraction(out + len, (uint32_t)(n % p), digits);
		len += digits;
	}
	return len;
}

static int
fast_ok(double x, int digits)
{
	return digits >= 0 && digits <= SIM_FMT_DIGITS_MAX && isfinite(x) && fabs(x) < FAST_ABS_MAX;
}

int
sim_fmt_fixed(char *buf, size_t size, double x, int digits)
{
	char tmp[64];
	int len;

	if (!fast_ok(x, digits)) {
		return snprintf(buf, size, "%.*f", digits, x);
	}
	len = fixed_fast(tmp, x, digits);
	if (size > 0) {
		size_t c = (size_t)len < size ? (size_t)len : size - 1;

		memcpy(buf, tmp, c);
		buf[c] = '\0';
	}
	return len;
}

/* Appends len bytes; past the end only the count grows (a cut row). */
static void
row_put(sim_fmt_row *r, const char *s, size_t len)
{
	if (r->n < sizeof(r->b) && len <= sizeof(r->b) - r->n) {
		memcpy(r->b + r->n, s, len);
	}
	r->n += len;
}

void
sim_fmt_row_fixed(sim_fmt_row *r, double x, int digits)
{
	char tmp[SIM_FMT_NUM_MAX];
	int len;

	if (fast_ok(x, digits) &&
	    sizeof(r->b) - (r->n < sizeof(r->b) ? r->n : sizeof(r->b)) >= 64) {
		r->n += (size_t)fixed_fast(r->b + r->n, x, digits);
		return;
	}
	len = sim_fmt_fixed(tmp, sizeof(tmp), x, digits);
	if (len < 0 || (size_t)len >= sizeof(tmp)) {
		r->n = sizeof(r->b) + 1; /* not representable here: the row is cut */
		return;
	}
	row_put(r, tmp, (size_t)len);
}

void
sim_fmt_row_uint(sim_fmt_row *r, unsigned long long v)
{
	char tmp[UINT_DIGITS + 1];
	int k = put_uint_back(tmp + sizeof(tmp), v);

	row_put(r, tmp + sizeof(tmp) - k, (size_t)k);
}

void
sim_fmt_row_int(sim_fmt_row *r, long long v)
{
	if (v < 0) {
		sim_fmt_row_char(r, '-');
		/* -(v + 1) + 1: no overflow at LLONG_MIN */
		sim_fmt_row_uint(r, (unsigned long long)(-(v + 1)) + 1u);
		return;
	}
	sim_fmt_row_uint(r, (unsigned long long)v);
}

void
sim_fmt_row_str(sim_fmt_row *r, const char *s)
{
	row_put(r, s, strlen(s));
}

void
sim_fmt_row_char(sim_fmt_row *r, char c)
{
	row_put(r, &c, 1);
}

int
sim_fmt_row_cut(const sim_fmt_row *r)
{
	return r->n > sizeof(r->b);
}

int
sim_fmt_row_write(const sim_fmt_row *r, FILE *f)
{
	if (sim_fmt_row_cut(r)) {
		return -1;
	}
	return fwrite(r->b, 1, r->n, f) == r->n ? 0 : -1;
}
