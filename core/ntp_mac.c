/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * MACs with nettle: the digests through nettle-meta's generic hash table,
 * AES-CMAC through nettle/cmac.h.
 */
#include "ntp_mac.h"

#include <nettle/cmac.h>
#include <nettle/md5.h>
#include <nettle/memops.h>
#include <nettle/nettle-meta.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>
#include <nettle/sha3.h>
#include <stdio.h>
#include <string.h>

#define CMAC_DIGEST 16 /* bytes, AES-CMAC tag (RFC 4493 §2.4) */

/* The largest hash context of the digests below (sha3_224 has the
 * largest block, sha512 the largest state). */
typedef union hash_ctx {
	struct md5_ctx md5;
	struct sha1_ctx sha1;
	struct sha256_ctx sha256;
	struct sha512_ctx sha512;
	struct sha3_224_ctx sha3_224;
	struct sha3_256_ctx sha3_256;
	struct sha3_384_ctx sha3_384;
	struct sha3_512_ctx sha3_512;
} hash_ctx;

static const struct nettle_hash *
digest_of(int type)
{
	switch (type) {
	case NTP_KEY_MD5:
		return &nettle_md5;
	case NTP_KEY_SHA1:
		return &nettle_sha1;
	case NTP_KEY_SHA224:
		return &nettle_sha224;
	case NTP_KEY_SHA256:
		return &nettle_sha256;
	case NTP_KEY_SHA384:
		return &nettle_sha384;
	case NTP_KEY_SHA512:
		return &nettle_sha512;
	case NTP_KEY_SHA3_224:
		return &nettle_sha3_224;
	case NTP_KEY_SHA3_256:
		return &nettle_sha3_256;
	case NTP_KEY_SHA3_384:
		return &nettle_sha3_384;
	case NTP_KEY_SHA3_512:
		return &nettle_sha3_512;
	default:
		return NULL;
	}
}

size_t
ntp_mac_digest_len(const ntp_key *k)
{
	const struct nettle_hash *h = k != NULL ? digest_of(k->type) : NULL;

	if (h != NULL) {
		return h->digest_size < NTP_MAC_DIGEST_MAX ? h->digest_size : NTP_MAC_DIGEST_MAX;
	}
	return k != NULL && (k->type == NTP_KEY_AES128CMAC || k->type == NTP_KEY_AES256CMAC)
	               ? CMAC_DIGEST
	               : 0;
}

/* RFC 5905 App. A.2: digest(key || packet), cut to 20 bytes. */
static size_t
digest_mac(const struct nettle_hash *h, const ntp_key *k, const uint8_t *pkt, size_t len,
           uint8_t out[NTP_MAC_DIGEST_MAX])
{
	uint8_t full[SHA512_DIGEST_SIZE];
	hash_ctx ctx;
	size_t n = ntp_mac_digest_len(k);

	_Static_assert(sizeof full >= SHA3_512_DIGEST_SIZE, "largest digest");
	h->init(&ctx);
	h->update(&ctx, k->len, k->key);
	h->update(&ctx, len, pkt);
	h->digest(&ctx, h->digest_size, full);
	memcpy(out, full, n);
	return n;
}

/* RFC 8573 §4: AES-CMAC over the packet. */
static size_t
cmac_mac(const ntp_key *k, const uint8_t *pkt, size_t len, uint8_t out[NTP_MAC_DIGEST_MAX])
{
	if (k->type == NTP_KEY_AES128CMAC && k->len == AES128_KEY_SIZE) {
		struct cmac_aes128_ctx c;

		cmac_aes128_set_key(&c, k->key);
		cmac_aes128_update(&c, len, pkt);
		cmac_aes128_digest(&c, CMAC_DIGEST, out);
		return CMAC_DIGEST;
	}
	if (k->type == NTP_KEY_AES256CMAC && k->len == AES256_KEY_SIZE) {
		struct cmac_aes256_ctx c;

		cmac_aes256_set_key(&c, k->key);
		cmac_aes256_update(&c, len, pkt);
		cmac_aes256_digest(&c, CMAC_DIGEST, out);
		return CMAC_DIGEST;
	}
	return 0; /* a key the parser did not fit to its cipher: never verifies */
}

size_t
ntp_mac_compute(const ntp_key *k, const uint8_t *pkt, size_t len, uint8_t out[NTP_MAC_DIGEST_MAX])
{
	const struct nettle_hash *h;

	if (k == NULL || (pkt == NULL && len > 0)) {
		return 0;
	}
	h = digest_of(k->type);
	return h != NULL ? digest_mac(h, k, pkt, len, out) : cmac_mac(k, pkt, len, out);
}

static void
put_keyid(uint8_t *p, uint32_t id)
{
	p[0] = (uint8_t)(id >> 24);
	p[1] = (uint8_t)(id >> 16);
	p[2] = (uint8_t)(id >> 8);
	p[3] = (uint8_t)id;
}

size_t
ntp_mac_sign(const ntp_key *k, uint8_t *buf, size_t len, size_t cap)
{
	uint8_t d[NTP_MAC_DIGEST_MAX];
	size_t n;

	if (k == NULL || buf == NULL || len > cap) {
		return 0;
	}
	n = ntp_mac_compute(k, buf, len, d);
	if (n == 0 || cap - len < NTP_MAC_KEYID_LEN + n) {
		return 0;
	}
	put_keyid(buf + len, k->id);
	memcpy(buf + len + NTP_MAC_KEYID_LEN, d, n);
	return len + NTP_MAC_KEYID_LEN + n;
}

size_t
ntp_mac_nak(uint8_t *buf, size_t len, size_t cap)
{
	if (buf == NULL || len > cap || cap - len < NTP_MAC_KEYID_LEN) {
		return 0;
	}
	put_keyid(buf + len, 0);
	return len + NTP_MAC_KEYID_LEN;
}

int
ntp_mac_check(const ntp_key *keys, size_t n_keys, const uint8_t *buf, size_t mac_off, size_t len,
              uint32_t *keyid)
{
	uint8_t d[NTP_MAC_DIGEST_MAX];
	const ntp_key *k;
	size_t digest_len, n;

	*keyid = 0;
	if (buf == NULL || mac_off > len || len - mac_off < NTP_MAC_KEYID_LEN) {
		return NTP_AUTH_NONE;
	}
	*keyid = (uint32_t)buf[mac_off] << 24 | (uint32_t)buf[mac_off + 1] << 16 |
	         (uint32_t)buf[mac_off + 2] << 8 | buf[mac_off + 3];
	digest_len = len - mac_off - NTP_MAC_KEYID_LEN;
	if (digest_len == 0) {
		return NTP_AUTH_NAK;
	}
	k = ntp_key_find(keys, n_keys, *keyid);
	if (k == NULL) {
		return NTP_AUTH_UNKNOWN;
	}
	if (!k->trusted) {
		return NTP_AUTH_UNTRUSTED;
	}
	if (digest_len != ntp_mac_digest_len(k)) {
		return NTP_AUTH_BAD;
	}
	n = ntp_mac_compute(k, buf, mac_off, d);
	if (n != digest_len || !memeql_sec(d, buf + len - digest_len, n)) {
		return NTP_AUTH_BAD;
	}
	return NTP_AUTH_OK;
}

int
ntp_mac_verify(const ntp_key *keys, size_t n_keys, const uint8_t *buf, size_t len,
               const ntp_pkt *pkt, uint32_t *keyid)
{
	size_t mac_len;

	*keyid = 0;
	if (pkt == NULL || !pkt->has_mac) {
		return NTP_AUTH_NONE;
	}
	mac_len = NTP_MAC_KEYID_LEN + (size_t)pkt->digest_len;
	if (buf == NULL || len < mac_len) {
		*keyid = pkt->keyid;
		return NTP_AUTH_BAD;
	}
	return ntp_mac_check(keys, n_keys, buf, len - mac_len, len, keyid);
}

char *
ntp_auth_format(int auth, uint32_t keyid, char *buf, size_t size)
{
	switch (auth) {
	case NTP_AUTH_NONE:
		snprintf(buf, size, "not authenticated");
		break;
	case NTP_AUTH_OK:
		snprintf(buf, size, "authenticated (key %u)", keyid);
		break;
	case NTP_AUTH_NAK:
		snprintf(buf, size, "crypto-NAK");
		break;
	case NTP_AUTH_BAD:
		snprintf(buf, size, "bad MAC (key %u)", keyid);
		break;
	case NTP_AUTH_UNKNOWN:
		snprintf(buf, size, "unknown key %u", keyid);
		break;
	case NTP_AUTH_UNTRUSTED:
		snprintf(buf, size, "key %u not trusted", keyid);
		break;
	default:
		snprintf(buf, size, "auth state %d", auth);
		break;
	}
	return buf;
}
