/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_rand: a small, seedable pseudo-random generator (xoshiro256**,
 * seeded through splitmix64).
 *
 * The core never calls libc rand() or reads /dev/urandom: whoever owns an
 * ntp_rand seeds it.  ntpsim derives one stream per noise source from the
 * scenario seed and the source's name (ntp_rand_seed_named), so adding a
 * new source never shifts the numbers another source draws.  refd seeds
 * from getrandom(2).  State is 32 bytes and lives in the caller's struct.
 */
#ifndef NTP_RAND_H
#define NTP_RAND_H

#include <stdint.h>

typedef struct ntp_rand {
	uint64_t s[4];
} ntp_rand;

/* Seed from a 64-bit value; any value (including 0) gives a valid state. */
void ntp_rand_seed(ntp_rand *r, uint64_t seed);

/* Seed from a base seed and a name: the stream for "link:a->b:jitter" is
 * independent of every other name under the same base seed. */
void ntp_rand_seed_named(ntp_rand *r, uint64_t seed, const char *name);

/* The same in two parts, for a caller that seeds several streams
 * "<prefix><suffix>" later: ntp_rand_name_hash(NTP_RAND_NAME_HASH0, "a:b")
 * equals ntp_rand_name_hash(ntp_rand_name_hash(NTP_RAND_NAME_HASH0, "a:"),
 * "b"), and ntp_rand_seed_hashed(r, seed, that) seeds as
 * ntp_rand_seed_named(r, seed, "a:b") does. */
#define NTP_RAND_NAME_HASH0 UINT64_C(0xcbf29ce484222325) /* FNV-1a 64 offset basis */
uint64_t ntp_rand_name_hash(uint64_t h, const char *more);
void ntp_rand_seed_hashed(ntp_rand *r, uint64_t seed, uint64_t name_hash);

/* Next 64 uniformly distributed bits. */
uint64_t ntp_rand_u64(ntp_rand *r);

/* Uniform double in [0, 1), 53 bits of precision. */
double ntp_rand_uniform(ntp_rand *r);

/* Uniform integer in [0, n), without modulo bias; n > 0. */
uint64_t ntp_rand_below(ntp_rand *r, uint64_t n);

/* Standard normal deviate (mean 0, sd 1), Box-Muller without caching so
 * the stream stays a pure function of the number of calls. */
double ntp_rand_normal(ntp_rand *r);

/* Exponential deviate with the given mean (mean >= 0). */
double ntp_rand_exponential(ntp_rand *r, double mean);

#endif
