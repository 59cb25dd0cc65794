/* SPDX-License-Identifier: BSD-2-Clause */
/* core/ntp_nonce: the ChaCha20 keystream, checked against an independent
 * implementation, and what the host does with it. */
#include <criterion/criterion.h>
#include <string.h>

#include "ntp_nonce.h"

/* ChaCha20 keystream for key 01 02 .. 20 (hex), nonce and counter 0, from
 * OpenSSL through python3-cryptography:
 *   Cipher(algorithms.ChaCha20(bytes(range(1, 33)), bytes(16)),
 *          mode=None).encryptor().update(bytes(80))
 * read 8 bytes at a time, big-endian. */
static const uint64_t KEYSTREAM[] = {
        0xb1697e9fc6461e19u, 0x83d131cf69691ca1u, 0xa7a3fc134f149880u, 0xe8bb2b5d2365e103u,
        0x0f6ae77c4dc90b31u, 0x073aa31a94c9be89u, 0x7b89a6702aa6c1c9u, 0x83b1ab2251676120u,
        0x638ad71667c2a939u, /* the first 8 bytes of the second block */
};

static void
key_1_to_32(uint8_t key[NTP_NONCE_KEY_BYTES])
{
	for (int i = 0; i < NTP_NONCE_KEY_BYTES; i++) {
		key[i] = (uint8_t)(i + 1);
	}
}

Test(nonce, chacha20_keystream_matches_openssl)
{
	uint8_t key[NTP_NONCE_KEY_BYTES];
	ntp_nonce n;

	key_1_to_32(key);
	cr_assert(ntp_nonce_init(&n, key));
	for (size_t i = 0; i < sizeof KEYSTREAM / sizeof KEYSTREAM[0]; i++) {
		cr_assert_eq(ntp_nonce_u64(&n), KEYSTREAM[i], "word %zu", i);
	}
}

Test(nonce, zero_key_is_refused)
{
	uint8_t key[NTP_NONCE_KEY_BYTES] = {0};
	ntp_nonce n;

	cr_assert_not(ntp_nonce_init(&n, key));
	cr_assert_not(ntp_nonce_init(&n, NULL));
	key[31] = 1;
	cr_assert(ntp_nonce_init(&n, key));
}

Test(nonce, below_is_in_range_and_covers_it)
{
	uint8_t key[NTP_NONCE_KEY_BYTES];
	unsigned seen[16] = {0};
	ntp_nonce n;

	key_1_to_32(key);
	cr_assert(ntp_nonce_init(&n, key));
	for (int i = 0; i < 1600; i++) {
		uint64_t v = ntp_nonce_below(&n, 16);

		cr_assert_lt(v, 16u);
		seen[v]++;
	}
	for (int v = 0; v < 16; v++) {
		/* 100 expected each; a binomial sd of ~10 */
		cr_assert(seen[v] > 50 && seen[v] < 150, "%d seen %u times", v, seen[v]);
	}
	cr_assert_eq(ntp_nonce_below(&n, 1), 0u);
	cr_assert_eq(ntp_nonce_below(&n, 0), 0u);
}

Test(nonce, subkeys_are_stable_per_domain_and_apart_from_the_nonces)
{
	uint8_t key[NTP_NONCE_KEY_BYTES];
	uint8_t k1[16], k1_again[16], k2[16], stream0[16];
	uint64_t first = 0;
	ntp_nonce n;

	key_1_to_32(key);
	cr_assert(ntp_nonce_init(&n, key));
	ntp_nonce_subkey(key, 1, k1, sizeof k1);
	ntp_nonce_subkey(key, 1, k1_again, sizeof k1_again);
	ntp_nonce_subkey(key, 2, k2, sizeof k2);
	ntp_nonce_subkey(key, 0, stream0, sizeof stream0);
	cr_assert_arr_eq(k1, k1_again, sizeof k1, "a domain always gives the same bytes");
	cr_assert_arr_neq(k1, k2, sizeof k1, "domains differ");
	/* Domain 0 is the nonce generator's own stream; others are not. */
	for (int i = 0; i < 8; i++) {
		first = first << 8 | stream0[i];
	}
	cr_assert_eq(ntp_nonce_u64(&n), first);
	cr_assert_arr_neq(k1, stream0, sizeof k1);
}
