/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unpredictable nonces: the ChaCha20 keystream, 8 bytes at a time.
 */
#include "ntp_nonce.h"

#include <string.h>

bool
ntp_nonce_init(ntp_nonce *n, const uint8_t key[NTP_NONCE_KEY_BYTES])
{
	static const uint8_t zero_key[NTP_NONCE_KEY_BYTES];
	static const uint8_t stream[CHACHA_NONCE_SIZE]; /* one stream per key: zero */

	memset(n, 0, sizeof *n);
	if (key == NULL || memcmp(key, zero_key, sizeof zero_key) == 0) {
		return false;
	}
	chacha_set_key(&n->ctx, key);
	chacha_set_nonce(&n->ctx, stream);
	n->used = sizeof n->block; /* the first draw fills the block */
	return true;
}

/* The next keystream block: ChaCha20 applied to zeros is the keystream. */
static void
refill(ntp_nonce *n)
{
	static const uint8_t zeros[CHACHA_BLOCK_SIZE];

	chacha_crypt(&n->ctx, sizeof n->block, n->block, zeros);
	n->used = 0;
}

uint64_t
ntp_nonce_u64(ntp_nonce *n)
{
	uint64_t v = 0;

	if (n->used + sizeof v > sizeof n->block) {
		refill(n);
	}
	for (size_t i = 0; i < sizeof v; i++) {
		v = (v << 8) | n->block[n->used + i];
	}
	n->used = (uint8_t)(n->used + sizeof v);
	return v;
}

uint64_t
ntp_nonce_below(ntp_nonce *n, uint64_t bound)
{
	uint64_t limit, v;

	if (bound <= 1) {
		return 0;
	}
	/* Reject the top partial range so every value is equally likely. */
	limit = UINT64_MAX - UINT64_MAX % bound;
	do {
		v = ntp_nonce_u64(n);
	} while (v >= limit);
	return v % bound;
}

void
ntp_nonce_subkey(const uint8_t key[NTP_NONCE_KEY_BYTES], uint64_t domain, uint8_t *out, size_t len)
{
	struct chacha_ctx ctx;
	uint8_t stream[CHACHA_NONCE_SIZE];

	if (key == NULL || out == NULL) {
		return;
	}
	for (size_t i = 0; i < sizeof stream; i++) {
		stream[i] = (uint8_t)(domain >> (8 * i));
	}
	chacha_set_key(&ctx, key);
	chacha_set_nonce(&ctx, stream);
	memset(out, 0, len);
	chacha_crypt(&ctx, len, out, out); /* the keystream XOR zeros */
}
