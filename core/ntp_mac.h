/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_mac: the symmetric-key MAC of an NTP packet.
 *
 * Digest keys (RFC 5905 §7.3 and App. A.2, NTPsec digest_encrypt):
 * digest(key || packet), packet = the header and extension fields before
 * the MAC.  CMAC keys (RFC 8573, NTPsec cmac_encrypt): AES-CMAC(key,
 * packet).  The MAC field is the 4-byte key id then the digest cut to 20
 * bytes (NTPsec MAX_BARE_MAC_LENGTH: MD5 and CMAC give 16, SHA-1 and the
 * longer digests 20).  Digests and CMAC come from nettle; verification
 * compares in constant time (nettle memeql_sec).
 */
#ifndef NTP_MAC_H
#define NTP_MAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp_keys.h"
#include "ntp_pkt.h"

#define NTP_MAC_KEYID_LEN  4  /* bytes, RFC 5905 Fig. 8 key identifier */
#define NTP_MAC_DIGEST_MAX 20 /* bytes, NTPsec MAX_BARE_MAC_LENGTH */

/* What a received packet's MAC says. */
enum ntp_auth {
	NTP_AUTH_NONE = 0,      /* no MAC */
	NTP_AUTH_OK = 1,        /* MAC verifies with a trusted key */
	NTP_AUTH_NAK = 2,       /* crypto-NAK (key id 0, no digest), RFC 5905 §7.4 */
	NTP_AUTH_BAD = 3,       /* the digest does not verify (or has the wrong length) */
	NTP_AUTH_UNKNOWN = 4,   /* no key with that id */
	NTP_AUTH_UNTRUSTED = 5, /* the key exists but is not a `trustedkey` */
};

/* Bytes of digest a key's MAC carries: 16 (MD5, CMAC) or 20. */
size_t ntp_mac_digest_len(const ntp_key *k);

/* The digest of len bytes of packet into out; returns its length. */
size_t ntp_mac_compute(const ntp_key *k, const uint8_t *pkt, size_t len,
                       uint8_t out[NTP_MAC_DIGEST_MAX]);

/* Append k's MAC to the len-byte packet in buf (cap bytes).  Returns the
 * new length, or 0 when it does not fit. */
size_t ntp_mac_sign(const ntp_key *k, uint8_t *buf, size_t len, size_t cap);

/* Append a crypto-NAK (4 zero bytes).  Returns the new length or 0. */
size_t ntp_mac_nak(uint8_t *buf, size_t len, size_t cap);

/* Check the MAC of a datagram (buf, len) that decoded into pkt, against
 * n keys (only trusted keys verify).  *keyid gets the key id the packet
 * names (0 when none).  Returns enum ntp_auth. */
int ntp_mac_verify(const ntp_key *keys, size_t n, const uint8_t *buf, size_t len,
                   const ntp_pkt *pkt, uint32_t *keyid);

/* The same for a MAC at byte mac_off of a datagram of len bytes (mode 6
 * puts its MAC after the padded data): the key id there, the digest after
 * it, both to the end; the MAC covers buf[0..mac_off). */
int ntp_mac_check(const ntp_key *keys, size_t n, const uint8_t *buf, size_t mac_off, size_t len,
                  uint32_t *keyid);

/* "bad MAC (key 7)", "unknown key 9", "not authenticated", "crypto-NAK",
 * "key 3 not trusted", "authenticated (key 7)". */
char *ntp_auth_format(int auth, uint32_t keyid, char *buf, size_t size);

#endif
