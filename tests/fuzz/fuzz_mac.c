/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for the MAC path: arbitrary bytes as a datagram,
 * decoded (core/ntp_pkt) and its MAC checked (core/ntp_mac) against a
 * fixed keyring of every key type, trusted and not.  Nothing may crash;
 * a verdict must be one of enum ntp_auth and agree with the decoder (no
 * MAC: NONE; 4-byte MAC: crypto-NAK); OK only for a trusted key whose own
 * MAC, recomputed here, is the one in the packet; re-signing the packet
 * with the key it names gives back the same bytes when it verified.  The
 * mode 6 form (ntp_mac_check at any offset) is run on the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "ntp_keys.h"
#include "ntp_mac.h"
#include "ntp_pkt.h"

static const char KEYS[] = "1 MD5 one\n"
                           "2 SHA1 0123456789abcdef0123456789abcdef01234567\n"
                           "3 AES128CMAC 2b7e151628aed2a6abf7158809cf4f3c\n"
                           "4 SHA256 four\n"
                           "5 AES-256 "
                           "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4\n"
                           "6 SHA3-512 six\n"
                           "7 MD5 untrusted\n";

static const ntp_keyring *
ring(void)
{
	static ntp_keys_file *f;

	if (f == NULL) {
		f = malloc(sizeof *f);
		CHECK(f != NULL);
		ntp_keys_init(f, "fuzz.keys");
		CHECK(ntp_keys_parse(f, KEYS, strlen(KEYS)) == 0);
		for (size_t i = 0; i < f->ring.n; i++) {
			f->ring.keys[i].trusted = f->ring.keys[i].id != 7;
		}
	}
	return &f->ring;
}

static void
check_ok(const ntp_keyring *kr, const uint8_t *data, size_t size, uint32_t id)
{
	const ntp_key *k = ntp_keyring_find(kr, id);
	uint8_t *again = malloc(size);
	size_t body;

	CHECK(k != NULL && k->trusted && again != NULL);
	body = size - NTP_MAC_KEYID_LEN - ntp_mac_digest_len(k);
	memcpy(again, data, body);
	CHECK(ntp_mac_sign(k, again, body, size) == size);
	CHECK(memcmp(again, data, size) == 0);
	free(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const ntp_keyring *kr = ring();
	uint32_t id = 0;
	ntp_pkt p;
	int rc = ntp_pkt_decode(data, size, &p, NULL);

	if (rc == NTP_PKT_OK) {
		int auth = ntp_mac_verify(kr->keys, kr->n, data, size, &p, &id);

		CHECK(auth >= NTP_AUTH_NONE && auth <= NTP_AUTH_UNTRUSTED);
		CHECK((auth == NTP_AUTH_NONE) == !p.has_mac);
		CHECK((auth == NTP_AUTH_NAK) == (p.has_mac && p.digest_len == 0));
		if (auth == NTP_AUTH_OK) {
			check_ok(kr, data, size, id);
		}
	}
	/* mode 6 puts the MAC after the padded data: any offset */
	if (size >= 2) {
		size_t off = (size_t)data[0] % size;
		int auth = ntp_mac_check(kr->keys, kr->n, data, off, size, &id);

		CHECK(auth >= NTP_AUTH_NONE && auth <= NTP_AUTH_UNTRUSTED);
		if (auth == NTP_AUTH_OK) {
			check_ok(kr, data, size, id);
		}
	}
	return 0;
}
