/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_nonce: unpredictable numbers for what an off-path attacker must not
 * guess -- the transmit timestamp of a client request (the origin its
 * reply must echo: RFC 5905 §8, data minimisation as chrony and ntpdig do
 * it) and the source port of a client association (RFC 9109).
 *
 * ChaCha20 (RFC 8439, nettle's implementation) keyed once with
 * NTP_NONCE_KEY_BYTES that the caller draws from its entropy source:
 * refd from getrandom(2), ntpsim from the scenario seed (so runs stay
 * byte-identical).  ntp_rand (xoshiro256**) is not fit for this: four
 * outputs reveal its whole state, and an attacker who saw six nonces at one
 * server predicted every later one sent to another (issue 11).  From any
 * number of ChaCha20 outputs nothing about the next one follows.
 *
 * Sans-I/O like the rest of core: no entropy is read here.
 */
#ifndef NTP_NONCE_H
#define NTP_NONCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nettle/chacha.h>

#define NTP_NONCE_KEY_BYTES 32 /* bytes, a ChaCha20 key (RFC 8439 §2.3) */

typedef struct ntp_nonce {
	struct chacha_ctx ctx;
	uint8_t block[CHACHA_BLOCK_SIZE]; /* keystream not handed out yet */
	uint8_t used;                     /* bytes of block already used */
} ntp_nonce;

/* Key the generator.  A key of all zero bytes is refused (false): it is
 * what a caller that forgot to supply entropy would pass. */
bool ntp_nonce_init(ntp_nonce *n, const uint8_t key[NTP_NONCE_KEY_BYTES]);

/* The next 64 bits of keystream. */
uint64_t ntp_nonce_u64(ntp_nonce *n);

/* Uniform in [0, bound) (bound > 0), without modulo bias. */
uint64_t ntp_nonce_below(ntp_nonce *n, uint64_t bound);

/* Key material for another purpose (e.g. the rate-limit table's hash key),
 * derived from the same key without touching any generator's stream: len
 * bytes of the ChaCha20 keystream under stream number `domain` (1 or
 * more; stream 0 is ntp_nonce_init's).  Different domains give unrelated
 * bytes. */
void ntp_nonce_subkey(const uint8_t key[NTP_NONCE_KEY_BYTES], uint64_t domain, uint8_t *out,
                      size_t len);

#endif
