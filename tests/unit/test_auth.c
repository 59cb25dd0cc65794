/* SPDX-License-Identifier: BSD-2-Clause */
/* core/ntp_keys (the key file), core/ntp_mac (MACs with nettle) and the
 * authentication directives of core/ntp_conf. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "host_fixture.h"
#include "ntp_conf.h"
#include "ntp_keys.h"
#include "ntp_mac.h"
#include "ntp_pkt.h"

/* Large structs: static storage (Criterion runs each test in a process). */
static ntp_keys_file kf;
static ntp_conf conf;

static unsigned
keys_parse(const char *text)
{
	ntp_keys_init(&kf, "ntp.keys");
	return ntp_keys_parse(&kf, text, strlen(text));
}

static const char *
keys_diag(size_t i)
{
	static char buf[400];

	cr_assert_lt(i, kf.n_diags);
	return ntp_keys_diag_format(&kf, &kf.diags[i], buf, sizeof buf);
}

static void
hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	}
}

static size_t
unhex(const char *s, uint8_t *out)
{
	size_t n = strlen(s) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;
		cr_assert_eq(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* ---- key file ---- */

Test(keys, ntpsec_example_file)
{
	/* ntp.keys(5) style: ASCII, hex, comments, every case of type names */
	cr_assert_eq(
	        keys_parse("# ntpkeygen output\n"
	                   "1 MD5 L\";Nw<`.I<f4U0)247\"i  # MD5 key\n"
	                   "2 md5 abcdefghij\n"
	                   "3 SHA1 8a762b9ef4beef0f6c8d9a56c54e1bd27d3e3d37 # 40 hex\n"
	                   "4 sha-1 shortascii\n"
	                   "5 AES128CMAC 2b7e151628aed2a6abf7158809cf4f3c\n"
	                   "6 aes 2b7e151628aed2a6abf7158809cf4f3c\n"
	                   "7 SHA256 k7\n"
	                   "\n"
	                   "   \t# only a comment\n"
	                   "65535 AES-256 "
	                   "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4\n"),
	        0u);
	cr_assert_eq(kf.n_warnings, 0u);
	cr_assert_eq(kf.ring.n, 8u);
	const ntp_key *k = ntp_keyring_find(&kf.ring, 1);
	cr_assert_not_null(k);
	cr_assert_eq(k->type, NTP_KEY_MD5);
	cr_assert_eq(k->len, 20);
	cr_assert(memcmp(k->key, "L\";Nw<`.I<f4U0)247\"i", 20) == 0);
	k = ntp_keyring_find(&kf.ring, 3);
	cr_assert_eq(k->type, NTP_KEY_SHA1);
	cr_assert_eq(k->len, 20);
	cr_assert_eq(k->key[0], 0x8a);
	cr_assert_eq(k->key[19], 0x37);
	cr_assert_eq(ntp_keyring_find(&kf.ring, 4)->type, NTP_KEY_SHA1);
	cr_assert_eq(ntp_keyring_find(&kf.ring, 5)->type, NTP_KEY_AES128CMAC);
	cr_assert_eq(ntp_keyring_find(&kf.ring, 6)->type, NTP_KEY_AES128CMAC);
	cr_assert_eq(ntp_keyring_find(&kf.ring, 7)->type, NTP_KEY_SHA256);
	cr_assert_eq(ntp_keyring_find(&kf.ring, 65535)->type, NTP_KEY_AES256CMAC);
	cr_assert_eq(ntp_keyring_find(&kf.ring, 65535)->len, 32);
	cr_assert_null(ntp_keyring_find(&kf.ring, 8));
	cr_assert_null(ntp_keyring_find(&kf.ring, 0));
	cr_assert_eq(ntp_keyring_find(&kf.ring, 1)->line, 2);
}

Test(keys, errors_name_file_line_column)
{
	static const char *const want[] = {
	        "ntp.keys:1:1: error: key id '0' out of range; line ignored (hint: key ids are "
	        "1..65535 (0 is the crypto-NAK))",
	        "ntp.keys:2:1: error: key id '65536' out of range; line ignored (hint: key ids are "
	        "1..65535 (0 is the crypto-NAK))",
	        "ntp.keys:3:1: error: key id 'x1' is not a number; line ignored (hint: a key line "
	        "is "
	        "'keyid type key')",
	        "ntp.keys:4:4: error: unknown key type 'RC4'; line ignored (hint: types: MD5, "
	        "SHA1, "
	        "SHA224..SHA512, SHA3-224..SHA3-512, AES128CMAC, AES-256)",
	        "ntp.keys:5:6: error: key 5: no key; line ignored (hint: a key line is 'keyid type "
	        "key')",
	        "ntp.keys:6:2: error: key 6: no key type; line ignored (hint: a key line is 'keyid "
	        "type key')",
	        "ntp.keys:7:24: error: key 7: invalid hex digit; line ignored (hint: keys over 20 "
	        "characters are hex)",
	        "ntp.keys:8:7: error: key 8: odd number of hex digits (21); line ignored (hint: "
	        "two "
	        "hex digits a byte)",
	        "ntp.keys:9:9: error: key 9: extra words after the key; line ignored (hint: a "
	        "comment starts with '#')",
	        "ntp.keys:10:8: error: key 10: hex key of 66 digits is too long; line ignored "
	        "(hint: "
	        "at most 64 hex digits (32 bytes))",
	        "ntp.keys:11:4: warning: unknown key type 'Mdx' read as MD5, as ntpd does (hint: "
	        "write MD5)",
	        "ntp.keys:12:8: warning: key 12: AES128CMAC key of 3 bytes padded with zeros to "
	        "16, "
	        "as ntpd does",
	        "ntp.keys:13:1: warning: key 11 defined again (first on line 11); this line "
	        "replaces it, as ntpd does",
	};

	cr_assert_eq(
	        keys_parse("0 MD5 a\n"
	                   "65536 MD5 a\n"
	                   "x1 MD5 a\n"
	                   "4  RC4 a\n"
	                   "5 MD5\n"
	                   "6\n"
	                   "7 SHA1 0123456789abcdefgh0123\n"
	                   "8 MD5 0123456789abcdef01234\n"
	                   "9 MD5 a b\n"
	                   "10 MD5 "
	                   "000000000000000000000000000000000000000000000000000000000000000000\n"
	                   "11 Mdx secret\n"
	                   "12 AES abc\n"
	                   "11 SHA1 other"),
	        10u);
	cr_assert_eq(kf.n_warnings, 3u);
	cr_assert_eq(kf.n_diags, sizeof want / sizeof want[0]);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		cr_assert_str_eq(keys_diag(i), want[i]);
	}
	cr_assert_eq(kf.ring.n, 2u);
	cr_assert_eq(ntp_keyring_find(&kf.ring, 11)->type, NTP_KEY_SHA1); /* the later line */
	cr_assert_eq(ntp_keyring_find(&kf.ring, 12)->len, 16);
	cr_assert_eq(ntp_keyring_find(&kf.ring, 12)->key[3], 0);
}

Test(keys, control_bytes_and_no_newline_at_end)
{
	const char text[] = {'1',  ' ', 'M', 'D', '5', ' ', 'a', '\0', 'b',
	                     '\n', '2', ' ', 'M', 'D', '5', ' ', 'k'};

	ntp_keys_init(&kf, NULL);
	cr_assert_eq(ntp_keys_parse(&kf, text, sizeof text), 1u);
	cr_assert_str_eq(keys_diag(0), "ntp.keys:1:8: error: key 1: byte 0x00 in an ASCII key; "
	                               "line ignored");
	cr_assert_eq(kf.ring.n, 1u);
	cr_assert_eq(ntp_keyring_find(&kf.ring, 2)->len, 1);
}

/* ---- MACs ---- */

/* Digest MACs: digest(key || packet), the expected bytes from Python's
 * hashlib (hashlib.new(name, b"ntplab-key" + bytes(range(48)))), cut to
 * 20 bytes. */
Test(mac, digests_match_hashlib)
{
	static const struct {
		uint8_t type;
		const char *hex;
	} v[] = {
	        {NTP_KEY_MD5, "32ae98d1f16c880ac09acb1f2de9564d"},
	        {NTP_KEY_SHA1, "311ac016a7ae8957a90ce887abe79df832206c25"},
	        {NTP_KEY_SHA224, "f0021e96ffae76145311833d9052b247268b6333"},
	        {NTP_KEY_SHA256, "96dc2abfdaf662e479b77cb7009603e7f10216ca"},
	        {NTP_KEY_SHA384, "99954faa0f40e25e12c0c1e714c6d347390cbe2e"},
	        {NTP_KEY_SHA512, "b3affc09b939717b76aae2015a097a8a7a4fe16e"},
	        {NTP_KEY_SHA3_256, "164de8703615c3fa93e931d00e7d71b90859ae65"},
	};
	uint8_t pkt[48], d[NTP_MAC_DIGEST_MAX];
	char got[2 * NTP_MAC_DIGEST_MAX + 1];
	ntp_key k;

	for (size_t i = 0; i < sizeof pkt; i++) {
		pkt[i] = (uint8_t)i;
	}
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		memset(&k, 0, sizeof k);
		k.id = 1;
		k.type = v[i].type;
		k.len = 10;
		memcpy(k.key, "ntplab-key", 10);
		size_t n = ntp_mac_compute(&k, pkt, sizeof pkt, d);
		cr_assert_eq(n, strlen(v[i].hex) / 2, "%s", ntp_key_type_name(v[i].type));
		cr_assert_eq(n, ntp_mac_digest_len(&k));
		hex(d, n, got);
		cr_assert_str_eq(got, v[i].hex, "%s", ntp_key_type_name(v[i].type));
	}
}

/* AES-CMAC: RFC 4493 §4 (AES-128) and NIST SP 800-38B App. D.3 (AES-256). */
Test(mac, cmac_rfc4493_and_sp800_38b)
{
	static const struct {
		uint8_t type;
		const char *key, *msg, *tag;
	} v[] = {
	        {NTP_KEY_AES128CMAC, "2b7e151628aed2a6abf7158809cf4f3c", "",
	         "bb1d6929e95937287fa37d129b756746"},
	        {NTP_KEY_AES128CMAC, "2b7e151628aed2a6abf7158809cf4f3c",
	         "6bc1bee22e409f96e93d7e117393172a", "070a16b46b4d4144f79bdd9dd04a287c"},
	        {NTP_KEY_AES128CMAC, "2b7e151628aed2a6abf7158809cf4f3c",
	         "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
	         "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
	         "51f0bebf7e3b9d92fc49741779363cfe"},
	        {NTP_KEY_AES256CMAC,
	         "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", "",
	         "028962f61b7bf89efc6b551f4667d983"},
	        {NTP_KEY_AES256CMAC,
	         "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
	         "6bc1bee22e409f96e93d7e117393172a", "28a7023f452e8f82bd4bf28d8c37c35c"},
	};
	uint8_t msg[64], d[NTP_MAC_DIGEST_MAX];
	char got[2 * NTP_MAC_DIGEST_MAX + 1];
	ntp_key k;

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		memset(&k, 0, sizeof k);
		k.id = 5;
		k.type = v[i].type;
		k.len = (uint8_t)unhex(v[i].key, k.key);
		size_t m = unhex(v[i].msg, msg);
		cr_assert_eq(ntp_mac_compute(&k, msg, m, d), 16u);
		hex(d, 16, got);
		cr_assert_str_eq(got, v[i].tag, "vector %zu", i);
	}
	/* a CMAC key of the wrong size never makes a MAC */
	k.len = 5;
	cr_assert_eq(ntp_mac_compute(&k, msg, 16, d), 0u);
}

/* A keyring of one trusted key per type, for sign/verify. */
static void
ring_all_types(void)
{
	cr_assert_eq(keys_parse("1 MD5 one\n"
	                        "2 SHA1 two\n"
	                        "3 AES128CMAC 2b7e151628aed2a6abf7158809cf4f3c\n"
	                        "4 SHA512 four\n"
	                        "9 MD5 untrusted\n"),
	             0u);
	for (size_t i = 0; i < kf.ring.n; i++) {
		kf.ring.keys[i].trusted = kf.ring.keys[i].id != 9;
	}
}

/* The client request every test here signs: a fixed nonce. */
#define CLIENT_XMT 0x0123456789abcdefull

Test(mac, sign_then_verify_every_type_and_tamper)
{
	uint8_t buf[128];
	ntp_pkt p;
	uint32_t id;

	ring_all_types();
	for (uint32_t key = 1; key <= 4; key++) {
		size_t len = fixture_client_request(buf, sizeof buf, CLIENT_XMT);
		const ntp_key *k = ntp_keyring_find(&kf.ring, key);
		size_t n = ntp_mac_sign(k, buf, len, sizeof buf);

		cr_assert_eq(n, len + 4 + ntp_mac_digest_len(k), "key %u", key);
		cr_assert_eq(ntp_pkt_decode(buf, n, &p, NULL), NTP_PKT_OK);
		cr_assert(p.has_mac);
		cr_assert_eq(p.keyid, key);
		cr_assert_eq(ntp_mac_verify(kf.ring.keys, kf.ring.n, buf, n, &p, &id), NTP_AUTH_OK,
		             "key %u", key);
		cr_assert_eq(id, key);
		/* one flipped bit in the header, then in the digest */
		buf[1] ^= 1;
		cr_assert_eq(ntp_mac_verify(kf.ring.keys, kf.ring.n, buf, n, &p, &id),
		             NTP_AUTH_BAD);
		buf[1] ^= 1;
		buf[n - 1] ^= 0x80;
		cr_assert_eq(ntp_pkt_decode(buf, n, &p, NULL), NTP_PKT_OK);
		cr_assert_eq(ntp_mac_verify(kf.ring.keys, kf.ring.n, buf, n, &p, &id),
		             NTP_AUTH_BAD);
	}
}

Test(mac, unknown_untrusted_nak_none_and_wrong_length)
{
	uint8_t buf[128];
	ntp_pkt p;
	uint32_t id;
	char why[64];
	ntp_key other = {.id = 77, .type = NTP_KEY_MD5, .len = 1, .key = {'x'}};
	size_t len, n;

	ring_all_types();
	len = fixture_client_request(buf, sizeof buf, CLIENT_XMT);
	cr_assert_eq(ntp_pkt_decode(buf, len, &p, NULL), NTP_PKT_OK);
	cr_assert_eq(ntp_mac_verify(kf.ring.keys, kf.ring.n, buf, len, &p, &id), NTP_AUTH_NONE);
	cr_assert_str_eq(ntp_auth_format(NTP_AUTH_NONE, id, why, sizeof why), "not authenticated");

	n = ntp_mac_sign(&other, buf, len, sizeof buf);
	ntp_pkt_decode(buf, n, &p, NULL);
	cr_assert_eq(ntp_mac_verify(kf.ring.keys, kf.ring.n, buf, n, &p, &id), NTP_AUTH_UNKNOWN);
	cr_assert_str_eq(ntp_auth_format(NTP_AUTH_UNKNOWN, id, why, sizeof why), "unknown key 77");

	n = ntp_mac_sign(ntp_keyring_find(&kf.ring, 9), buf, len, sizeof buf);
	ntp_pkt_decode(buf, n, &p, NULL);
	cr_assert_eq(ntp_mac_verify(kf.ring.keys, kf.ring.n, buf, n, &p, &id), NTP_AUTH_UNTRUSTED);
	cr_assert_str_eq(ntp_auth_format(NTP_AUTH_UNTRUSTED, id, why, sizeof why),
	                 "key 9 not trusted");

	n = ntp_mac_nak(buf, len, sizeof buf);
	cr_assert_eq(n, len + 4);
	cr_assert_eq(ntp_pkt_decode(buf, n, &p, NULL), NTP_PKT_OK);
	cr_assert_eq(ntp_mac_verify(kf.ring.keys, kf.ring.n, buf, n, &p, &id), NTP_AUTH_NAK);

	/* an MD5-length MAC naming the SHA-1 key 2 */
	n = ntp_mac_sign(ntp_keyring_find(&kf.ring, 1), buf, len, sizeof buf);
	buf[len + 3] = 2;
	ntp_pkt_decode(buf, n, &p, NULL);
	cr_assert_eq(ntp_mac_verify(kf.ring.keys, kf.ring.n, buf, n, &p, &id), NTP_AUTH_BAD);
	cr_assert_str_eq(ntp_auth_format(NTP_AUTH_BAD, id, why, sizeof why), "bad MAC (key 2)");

	/* no room */
	cr_assert_eq(ntp_mac_sign(ntp_keyring_find(&kf.ring, 2), buf, len, len + 23), 0u);
	cr_assert_eq(ntp_mac_nak(buf, len, len + 3), 0u);
}

/* ---- ntp.conf ---- */

static unsigned
conf_parse(const char *text)
{
	ntp_conf_init(&conf, "a.conf");
	return ntp_conf_parse(&conf, text, strlen(text));
}

static const char *
conf_diag(size_t i)
{
	static char buf[400];

	cr_assert_lt(i, conf.n_diags);
	return ntp_conf_diag_format(&conf, &conf.diags[i], buf, sizeof buf);
}

Test(auth_conf, directives)
{
	cr_assert_eq(conf_parse("keys /etc/ntp.keys\n"
	                        "trustedkey 1 2 (10 ... 20) ( 30 ... 31 ) (40...41)\n"
	                        "trustedkey 7\n"
	                        "controlkey 7\n"
	                        "requestkey 8\n"
	                        "server 10.0.0.1 key 2 iburst\n"
	                        "restrict default notrust\n"),
	             0u);
	cr_assert_str_eq(conf.keysfile, "/etc/ntp.keys");
	cr_assert_eq(conf.keys_line, 1);
	cr_assert_eq(conf.n_trusted, 6u);
	cr_assert_eq(conf.controlkey, 7u);
	cr_assert_eq(conf.requestkey, 8u);
	cr_assert_eq(conf.servers[0].key, 2u);
	for (uint32_t id = 0; id < 50; id++) {
		bool want = id == 1 || id == 2 || (id >= 10 && id <= 20) || id == 30 || id == 31 ||
		            id == 40 || id == 41 || id == 7;
		cr_assert_eq(ntp_conf_key_trusted(&conf, id), want, "key %u", id);
	}
	cr_assert_eq(conf.n_warnings, 1u);
	cr_assert_str_eq(conf_diag(0), "a.conf:5:1: warning: requestkey is parsed but mode 7 "
	                               "(ntpdc) is never served (hint: NTPsec removed mode 7 too)");
}

Test(auth_conf, errors)
{
	static const char *const want[] = {
	        "a.conf:1:1: error: 'keys' needs a file name",
	        "a.conf:2:12: error: trustedkey: key id 0 is out of range [1, 65535]",
	        "a.conf:3:14: error: trustedkey: unexpected ')'; line ignored from here (hint: "
	        "ntp.conf(5): trustedkey 1 2 (10 ... 20))",
	        "a.conf:4:12: error: trustedkey: unfinished range (hint: ntp.conf(5): trustedkey 1 "
	        "2 (10 ... 20))",
	        "a.conf:5:12: error: trustedkey: range (9 ... 3) is empty",
	        "a.conf:6:12: error: trustedkey: 'x' is not a key id (hint: ntp.conf(5): "
	        "trustedkey 1 2 (10 ... 20))",
	        "a.conf:7:1: error: trustedkey needs key ids (hint: ntp.conf(5): trustedkey 1 2 "
	        "(10 "
	        "... 20))",
	        "a.conf:8:1: error: 'controlkey' needs a key id",
	        "a.conf:9:14: error: unexpected '2' after 'controlkey'",
	        "a.conf:10:12: error: requestkey: key id 70000 is out of range [1, 65535]",
	        "a.conf:11:21: error: key 0 is out of range [1, 65535]",
	        "a.conf:12:20: error: unexpected 'b' after 'keys'",
	};

	cr_assert_eq(conf_parse("keys\n"
	                        "trustedkey 0\n"
	                        "trustedkey (1)\n"
	                        "trustedkey (1 ... 2\n"
	                        "trustedkey (9 ... 3)\n"
	                        "trustedkey x\n"
	                        "trustedkey\n"
	                        "controlkey\n"
	                        "controlkey 1 2\n"
	                        "requestkey 70000\n"
	                        "server 10.0.0.1 key 0\n"
	                        "keys /etc/ntp.keys b\n"),
	             (unsigned)(sizeof want / sizeof want[0]));
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		cr_assert_str_eq(conf_diag(i), want[i]);
	}
	cr_assert_eq(conf.n_trusted, 0u);
	cr_assert_str_eq(conf.keysfile, "");
}
