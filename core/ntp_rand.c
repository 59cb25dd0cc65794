/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xoshiro256** 1.0 (Blackman and Vigna, public domain reference), seeded
 * with splitmix64 as its authors recommend.  Names are folded in with
 * 64-bit FNV-1a.
 */
#include "ntp_rand.h"

#include <math.h>

#define TWO_PI 6.283185307179586476925 /* rad */

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void
ntp_rand_seed(ntp_rand *r, uint64_t seed)
{
	uint64_t x = seed;

	for (int i = 0; i < 4; i++) {
		r->s[i] = splitmix64(&x);
	}
}

uint64_t
ntp_rand_name_hash(uint64_t h, const char *more)
{
	for (const unsigned char *p = (const unsigned char *)more; *p != '\0'; p++) {
		h ^= *p;
		h *= UINT64_C(0x100000001b3); /* FNV-1a 64 prime */
	}
	return h;
}

void
ntp_rand_seed_hashed(ntp_rand *r, uint64_t seed, uint64_t name_hash)
{
	ntp_rand_seed(r, seed ^ name_hash);
}

void
ntp_rand_seed_named(ntp_rand *r, uint64_t seed, const char *name)
{
	ntp_rand_seed_hashed(r, seed, ntp_rand_name_hash(NTP_RAND_NAME_HASH0, name));
}

uint64_t
ntp_rand_u64(ntp_rand *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double
ntp_rand_uniform(ntp_rand *r)
{
	return (double)(ntp_rand_u64(r) >> 11) * 0x1.0p-53;
}

uint64_t
ntp_rand_below(ntp_rand *r, uint64_t n)
{
	/* Reject the top partial block so every residue is equally likely. */
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t x;

	do {
		x = ntp_rand_u64(r);
	} while (x >= limit);
	return x % n;
}

double
ntp_rand_normal(ntp_rand *r)
{
	/* 1 - u keeps the logarithm's argument in (0, 1]. */
	double u1 = 1.0 - ntp_rand_uniform(r);
	double u2 = ntp_rand_uniform(r);

	return sqrt(-2.0 * log(u1)) * cos(TWO_PI * u2);
}

double
ntp_rand_exponential(ntp_rand *r, double mean)
{
	return -mean * log(1.0 - ntp_rand_uniform(r));
}
