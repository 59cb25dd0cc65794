/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_keys: the symmetric key file of ntpd (NTPsec ntp.keys(5), ntp
 * classic authreadkeys), parsed from text the caller read; no files are
 * opened here.
 *
 * One key a line: `keyid type key [# comment]`.  keyid is 1..65535; type
 * is a digest (MD5, SHA1 or SHA-1, SHA224..SHA512, SHA3-224..SHA3-512, as
 * OpenSSL names them for NTPsec) or a CMAC cipher (AES, AES128CMAC or
 * AES-128: AES-128-CMAC, RFC 8573; AES-256: AES-256-CMAC), any case; the
 * key is printable ASCII when at most 20 characters, else hex (at most 64
 * digits, 32 bytes, NTPsec's keystr[32]).  As NTPsec: a CMAC key is padded
 * with zeros or cut to the cipher's key size, an unknown type starting
 * with 'M' is MD5, a key id given twice keeps the later line.  Unlike
 * NTPsec, every dropped line is an error with file:line:col (ntpd logs
 * and skips it), and an odd number of hex digits is refused.
 */
#ifndef NTP_KEYS_H
#define NTP_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp_conf.h"

#define NTP_KEYS_MAX      128   /* keys kept per file (ours) */
#define NTP_KEY_ID_MAX    65535 /* NTPsec NTP_MAXKEY */
#define NTP_KEY_BYTES_MAX 32    /* bytes of key material, NTPsec authreadkeys keystr[32] */
#define NTP_KEY_ASCII_MAX 20    /* characters: longer keys are hex (ntp.keys(5)) */

enum ntp_key_type {
	NTP_KEY_NONE = 0,
	NTP_KEY_MD5,
	NTP_KEY_SHA1,
	NTP_KEY_SHA224,
	NTP_KEY_SHA256,
	NTP_KEY_SHA384,
	NTP_KEY_SHA512,
	NTP_KEY_SHA3_224,
	NTP_KEY_SHA3_256,
	NTP_KEY_SHA3_384,
	NTP_KEY_SHA3_512,
	NTP_KEY_AES128CMAC, /* RFC 8573 */
	NTP_KEY_AES256CMAC,
};

typedef struct ntp_key {
	uint16_t id;  /* 1..65535 */
	uint8_t type; /* enum ntp_key_type */
	uint8_t len;  /* bytes of key */
	bool trusted; /* `trustedkey` (set by the host from ntp.conf) */
	int line;     /* where it was defined */
	uint8_t key[NTP_KEY_BYTES_MAX];
} ntp_key;

typedef struct ntp_keyring {
	ntp_key keys[NTP_KEYS_MAX];
	size_t n;
} ntp_keyring;

/* A parsed key file: the keys and what was wrong with the text. */
typedef struct ntp_keys_file {
	char filename[NTP_CONF_PATH_MAX];
	ntp_keyring ring;
	ntp_conf_diag diags[NTP_CONF_MAX_DIAGS];
	size_t n_diags;    /* kept */
	unsigned n_errors; /* counted, including those not kept */
	unsigned n_warnings;
} ntp_keys_file;

void ntp_keys_init(ntp_keys_file *f, const char *filename);

/* Parse len bytes of key file text into f (after ntp_keys_init).  Returns
 * the number of errors; the keys of good lines are kept either way. */
unsigned ntp_keys_parse(ntp_keys_file *f, const char *text, size_t len);

/* "ntp.keys:3:4: error: ..." into buf (ntp_conf's format).  Returns buf. */
char *ntp_keys_diag_format(const ntp_keys_file *f, const ntp_conf_diag *d, char *buf, size_t size);

/* The key with this id among n keys (or in a keyring), or NULL. */
const ntp_key *ntp_key_find(const ntp_key *keys, size_t n, uint32_t id);
const ntp_key *ntp_keyring_find(const ntp_keyring *kr, uint32_t id);

/* Why an association's `key N` cannot be used (ntp_keys_check_conf). */
enum ntp_keys_conf_problem {
	NTP_KEYS_CONF_OK = 0,
	NTP_KEYS_CONF_NO_FILE,   /* the config names no key file (`keys FILE`) */
	NTP_KEYS_CONF_NOT_READ,  /* it names one, but no keyring was given */
	NTP_KEYS_CONF_NO_KEY,    /* the key file has no key N */
	NTP_KEYS_CONF_UNTRUSTED, /* key N is not a `trustedkey` */
};

/* Every `key N` of c's associations must name a trusted key of kr (NULL:
 * no key file read): else ntpd would start and never authenticate, a
 * silent failure.  Returns the problem of the first association that has
 * one (its index into c->servers in *which), or NTP_KEYS_CONF_OK.  Each
 * caller words it for its world (ntp_host_new, ntpsim's loader, refd
 * --check-config). */
int ntp_keys_check_conf(const ntp_conf *c, const ntp_keyring *kr, size_t *which);

/* That problem said as refd and ntp_host_new say it, with the ntp.conf
 * line: "ntp.conf:4: 10.0.0.1 key 7: key 7 is not trusted: add 'trustedkey
 * 7'".  Returns buf. */
char *ntp_keys_conf_problem_format(const ntp_conf *c, size_t which, int problem, char *buf,
                                   size_t size);

/* "MD5", "SHA1", "AES128CMAC", ...: the canonical name of a type. */
const char *ntp_key_type_name(int type);

#endif
