/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for core/ntp_keys: arbitrary bytes as a key file.  The
 * parser must not crash, must keep every count within its array, every
 * key id in 1..65535 and unique, every key length within the key buffer
 * (CMAC keys exactly their cipher's size), and every diagnostic must
 * format.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "ntp_keys.h"
#include "ntp_mac.h"

static void
check_key(const ntp_keyring *kr, size_t i)
{
	const ntp_key *k = &kr->keys[i];
	uint8_t d[NTP_MAC_DIGEST_MAX];
	static const uint8_t pkt[48];

	CHECK(k->id >= 1 && k->len <= NTP_KEY_BYTES_MAX && k->type != NTP_KEY_NONE);
	CHECK(ntp_keyring_find(kr, k->id) == k); /* ids are unique */
	if (k->type == NTP_KEY_AES128CMAC) {
		CHECK(k->len == 16);
	} else if (k->type == NTP_KEY_AES256CMAC) {
		CHECK(k->len == 32);
	}
	/* every parsed key makes a MAC of the length it promises */
	CHECK(ntp_mac_compute(k, pkt, sizeof pkt, d) == ntp_mac_digest_len(k));
	CHECK(ntp_mac_digest_len(k) == 16 || ntp_mac_digest_len(k) == 20);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ntp_keys_file *f; /* ~27 KB: never on the stack */
	char line[1024];

	if (f == NULL) {
		f = malloc(sizeof *f);
		CHECK(f != NULL);
	}
	ntp_keys_init(f, "fuzz.keys");
	unsigned errors = ntp_keys_parse(f, (const char *)data, size);

	CHECK(errors == f->n_errors);
	CHECK(f->n_diags <= NTP_CONF_MAX_DIAGS);
	CHECK(f->n_diags <= (size_t)f->n_errors + f->n_warnings);
	CHECK(f->ring.n <= NTP_KEYS_MAX);
	for (size_t i = 0; i < f->n_diags; i++) {
		const ntp_conf_diag *d = &f->diags[i];

		CHECK(memchr(d->msg, '\0', sizeof d->msg) != NULL);
		CHECK(d->line >= 1 && d->col >= 1);
		ntp_keys_diag_format(f, d, line, sizeof line);
		CHECK(memchr(line, '\0', sizeof line) != NULL);
	}
	for (size_t i = 0; i < f->ring.n; i++) {
		check_key(&f->ring, i);
	}
	return 0;
}
