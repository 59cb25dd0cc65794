/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The key file parser.  Behaviour read from NTPsec libntp/authreadkeys.c
 * (nexttok, try_cmac, try_digest, check_cmac_key_length); every line ntpd
 * would skip with a log message is an error here, with its place.
 */
#include "ntp_keys.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define KEYS_WORDS     3  /* id, type, key; more words are an error */
#define QUOTE_MAX      24 /* bytes of a word quoted in a message (ours) */
#define AES128_KEY     16 /* bytes, AES-128 key size (FIPS 197) */
#define AES256_KEY     32 /* bytes, AES-256 key size (FIPS 197) */
#define HEX_DIGITS_MAX (2 * NTP_KEY_BYTES_MAX)

#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

typedef struct key_word {
	const char *p;
	size_t len;
	int col; /* 1-based */
} key_word;

typedef struct type_name {
	const char *name; /* upper case */
	uint8_t type;
} type_name;

/* The names NTPsec resolves through OpenSSL (EVP_get_cipherbyname with
 * "-CBC" appended, EVP_get_digestbyname) that nettle implements. */
static const type_name type_names[] = {
        {"AES", NTP_KEY_AES128CMAC},
        {"AES-128", NTP_KEY_AES128CMAC},
        {"AES128CMAC", NTP_KEY_AES128CMAC},
        {"AES-256", NTP_KEY_AES256CMAC},
        {"MD5", NTP_KEY_MD5},
        {"SHA1", NTP_KEY_SHA1},
        {"SHA-1", NTP_KEY_SHA1},
        {"SHA224", NTP_KEY_SHA224},
        {"SHA256", NTP_KEY_SHA256},
        {"SHA384", NTP_KEY_SHA384},
        {"SHA512", NTP_KEY_SHA512},
        {"SHA3-224", NTP_KEY_SHA3_224},
        {"SHA3-256", NTP_KEY_SHA3_256},
        {"SHA3-384", NTP_KEY_SHA3_384},
        {"SHA3-512", NTP_KEY_SHA3_512},
};

static const char *const canonical[] = {
        [NTP_KEY_NONE] = "?",
        [NTP_KEY_MD5] = "MD5",
        [NTP_KEY_SHA1] = "SHA1",
        [NTP_KEY_SHA224] = "SHA224",
        [NTP_KEY_SHA256] = "SHA256",
        [NTP_KEY_SHA384] = "SHA384",
        [NTP_KEY_SHA512] = "SHA512",
        [NTP_KEY_SHA3_224] = "SHA3-224",
        [NTP_KEY_SHA3_256] = "SHA3-256",
        [NTP_KEY_SHA3_384] = "SHA3-384",
        [NTP_KEY_SHA3_512] = "SHA3-512",
        [NTP_KEY_AES128CMAC] = "AES128CMAC",
        [NTP_KEY_AES256CMAC] = "AES256CMAC",
};

const char *
ntp_key_type_name(int type)
{
	if (type <= 0 || (size_t)type >= sizeof canonical / sizeof canonical[0]) {
		return "?";
	}
	return canonical[type];
}

/* ---- diagnostics ---- */

static void diag(ntp_keys_file *f, int severity, int line, int col, const char *hint,
                 const char *fmt, ...) PRINTF_LIKE(6, 7);

static void
diag(ntp_keys_file *f, int severity, int line, int col, const char *hint, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ntp_conf_diag_add(f->diags, &f->n_diags, &f->n_errors, &f->n_warnings, severity, line, col,
	                  hint, fmt, ap);
	va_end(ap);
}

static const char *
quote(const key_word *w, char buf[QUOTE_MAX + 4])
{
	return ntp_conf_quote(w->p, w->len, QUOTE_MAX, buf);
}

/* ---- words ---- */

static bool
is_blank(unsigned char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* Split a line the way NTPsec's nexttok does: blanks separate words and
 * '#' ends the line, even inside a word.  Returns the number of words
 * (KEYS_WORDS + 1 means "more than KEYS_WORDS"). */
static size_t
split(const char *p, const char *end, key_word w[KEYS_WORDS + 1])
{
	const char *start = p;
	size_t n = 0;

	while (p < end && *p != '#') {
		if (is_blank((unsigned char)*p)) {
			p++;
			continue;
		}
		const char *b = p;
		while (p < end && *p != '#' && !is_blank((unsigned char)*p)) {
			p++;
		}
		if (n <= KEYS_WORDS) {
			w[n].p = b;
			w[n].len = (size_t)(p - b);
			w[n].col = (int)(b - start) + 1;
			n++;
		}
	}
	return n;
}

/* ---- fields ---- */

static bool
parse_id(ntp_keys_file *f, int line, const key_word *w, uint16_t *id)
{
	char qb[QUOTE_MAX + 4];
	uint32_t v = 0;

	for (size_t i = 0; i < w->len; i++) {
		if (w->p[i] < '0' || w->p[i] > '9') {
			diag(f, NTP_CONF_ERROR, line, w->col, "a key line is 'keyid type key'",
			     "key id '%s' is not a number; line ignored", quote(w, qb));
			return false;
		}
		v = v * 10 + (uint32_t)(w->p[i] - '0');
		if (v > NTP_KEY_ID_MAX) {
			break;
		}
	}
	if (v == 0 || v > NTP_KEY_ID_MAX) {
		diag(f, NTP_CONF_ERROR, line, w->col, "key ids are 1..65535 (0 is the crypto-NAK)",
		     "key id '%s' out of range; line ignored", quote(w, qb));
		return false;
	}
	*id = (uint16_t)v;
	return true;
}

static uint8_t
lookup_type(const key_word *w)
{
	char up[QUOTE_MAX + 1];

	if (w->len > QUOTE_MAX) {
		return NTP_KEY_NONE;
	}
	for (size_t i = 0; i < w->len; i++) {
		char ch = w->p[i];
		up[i] = ch >= 'a' && ch <= 'z' ? (char)(ch - 'a' + 'A') : ch;
	}
	up[w->len] = '\0';
	for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++) {
		if (strcmp(up, type_names[i].name) == 0) {
			return type_names[i].type;
		}
	}
	return NTP_KEY_NONE;
}

static bool
parse_type(ntp_keys_file *f, int line, const key_word *w, uint8_t *type)
{
	char qb[QUOTE_MAX + 4];

	*type = lookup_type(w);
	if (*type != NTP_KEY_NONE) {
		return true;
	}
	if (w->p[0] == 'M' || w->p[0] == 'm') {
		/* NTPsec try_digest: "hack for backward compatibility" */
		diag(f, NTP_CONF_WARNING, line, w->col, "write MD5",
		     "unknown key type '%s' read as MD5, as ntpd does", quote(w, qb));
		*type = NTP_KEY_MD5;
		return true;
	}
	diag(f, NTP_CONF_ERROR, line, w->col,
	     "types: MD5, SHA1, SHA224..SHA512, SHA3-224..SHA3-512, AES128CMAC, AES-256",
	     "unknown key type '%s'; line ignored", quote(w, qb));
	return false;
}

static bool
parse_hex(ntp_keys_file *f, int line, const key_word *w, ntp_key *k)
{
	if (w->len > HEX_DIGITS_MAX) {
		diag(f, NTP_CONF_ERROR, line, w->col, "at most 64 hex digits (32 bytes)",
		     "key %u: hex key of %zu digits is too long; line ignored", k->id, w->len);
		return false;
	}
	if (w->len % 2 != 0) {
		diag(f, NTP_CONF_ERROR, line, w->col, "two hex digits a byte",
		     "key %u: odd number of hex digits (%zu); line ignored", k->id, w->len);
		return false;
	}
	for (size_t i = 0; i < w->len; i++) {
		int v = ntp_conf_hex_digit(w->p[i]);
		if (v < 0) {
			diag(f, NTP_CONF_ERROR, line, w->col + (int)i,
			     "keys over 20 characters are hex",
			     "key %u: invalid hex digit; line ignored", k->id);
			return false;
		}
		k->key[i / 2] = (uint8_t)(i % 2 == 0 ? v << 4 : k->key[i / 2] | v);
	}
	k->len = (uint8_t)(w->len / 2);
	return true;
}

static bool
parse_key(ntp_keys_file *f, int line, const key_word *w, ntp_key *k)
{
	if (w->len > NTP_KEY_ASCII_MAX) {
		return parse_hex(f, line, w, k);
	}
	for (size_t i = 0; i < w->len; i++) {
		unsigned char ch = (unsigned char)w->p[i];
		if (ch <= 0x20 || ch >= 0x7f) {
			diag(f, NTP_CONF_ERROR, line, w->col + (int)i, NULL,
			     "key %u: byte 0x%02x in an ASCII key; line ignored", k->id, ch);
			return false;
		}
	}
	memcpy(k->key, w->p, w->len);
	k->len = (uint8_t)w->len;
	return true;
}

/* NTPsec check_cmac_key_length: a cipher takes exactly its key size. */
static void
fit_cmac_key(ntp_keys_file *f, int line, int col, ntp_key *k)
{
	uint8_t want = k->type == NTP_KEY_AES128CMAC   ? AES128_KEY
	               : k->type == NTP_KEY_AES256CMAC ? AES256_KEY
	                                               : 0;

	if (want == 0 || k->len == want) {
		return;
	}
	diag(f, NTP_CONF_WARNING, line, col, NULL,
	     "key %u: %s key of %u bytes %s to %u, as ntpd does", k->id, ntp_key_type_name(k->type),
	     k->len, k->len < want ? "padded with zeros" : "cut", want);
	if (k->len < want) {
		memset(k->key + k->len, 0, (size_t)(want - k->len));
	}
	k->len = want;
}

static void
store(ntp_keys_file *f, const ntp_key *k)
{
	ntp_keyring *kr = &f->ring;

	for (size_t i = 0; i < kr->n; i++) {
		if (kr->keys[i].id == k->id) {
			diag(f, NTP_CONF_WARNING, k->line, 1, NULL,
			     "key %u defined again (first on line %d); this line replaces it, as "
			     "ntpd does",
			     k->id, kr->keys[i].line);
			kr->keys[i] = *k;
			return;
		}
	}
	if (kr->n >= NTP_KEYS_MAX) {
		diag(f, NTP_CONF_ERROR, k->line, 1, NULL, "more than %d keys; key %u ignored",
		     NTP_KEYS_MAX, k->id);
		return;
	}
	kr->keys[kr->n++] = *k;
}

static void
parse_line(ntp_keys_file *f, int line, const char *p, const char *end)
{
	key_word w[KEYS_WORDS + 1];
	size_t n = split(p, end, w);
	ntp_key k;

	if (n == 0) {
		return;
	}
	memset(&k, 0, sizeof k);
	k.line = line;
	if (!parse_id(f, line, &w[0], &k.id)) {
		return;
	}
	if (n < KEYS_WORDS) {
		diag(f, NTP_CONF_ERROR, line, w[n - 1].col + (int)w[n - 1].len,
		     "a key line is 'keyid type key'", "key %u: no %s; line ignored", k.id,
		     n == 1 ? "key type" : "key");
		return;
	}
	if (n > KEYS_WORDS) {
		diag(f, NTP_CONF_ERROR, line, w[KEYS_WORDS].col, "a comment starts with '#'",
		     "key %u: extra words after the key; line ignored", k.id);
		return;
	}
	if (!parse_type(f, line, &w[1], &k.type) || !parse_key(f, line, &w[2], &k)) {
		return;
	}
	fit_cmac_key(f, line, w[2].col, &k);
	store(f, &k);
}

/* ---- public ---- */

void
ntp_keys_init(ntp_keys_file *f, const char *filename)
{
	memset(f, 0, sizeof *f);
	snprintf(f->filename, sizeof f->filename, "%s", filename != NULL ? filename : "ntp.keys");
}

unsigned
ntp_keys_parse(ntp_keys_file *f, const char *text, size_t len)
{
	int line = 0;

	if (text == NULL) {
		return f->n_errors;
	}
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;

		if (line < INT32_MAX) {
			line++;
		}
		parse_line(f, line, p, eol);
		p = nl != NULL ? nl + 1 : end;
	}
	return f->n_errors;
}

char *
ntp_keys_diag_format(const ntp_keys_file *f, const ntp_conf_diag *d, char *buf, size_t size)
{
	return ntp_conf_diag_format_file(f != NULL ? f->filename : NULL, d, buf, size);
}

const ntp_key *
ntp_key_find(const ntp_key *keys, size_t n, uint32_t id)
{
	if (keys == NULL || id == 0) {
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (keys[i].id == id) {
			return &keys[i];
		}
	}
	return NULL;
}

const ntp_key *
ntp_keyring_find(const ntp_keyring *kr, uint32_t id)
{
	return kr != NULL ? ntp_key_find(kr->keys, kr->n < NTP_KEYS_MAX ? kr->n : NTP_KEYS_MAX, id)
	                  : NULL;
}

int
ntp_keys_check_conf(const ntp_conf *c, const ntp_keyring *kr, size_t *which)
{
	*which = 0;
	for (size_t i = 0; i < c->n_servers && i < NTP_CONF_MAX_SERVERS; i++) {
		const ntp_conf_server *s = &c->servers[i];

		*which = i;
		if (s->key == 0 || s->kind == NTP_CONF_LOCAL_CLOCK) {
			continue;
		}
		if (ntp_keyring_find(kr, s->key) == NULL) {
			return c->keysfile[0] == '\0' ? NTP_KEYS_CONF_NO_FILE
			       : kr == NULL           ? NTP_KEYS_CONF_NOT_READ
			                              : NTP_KEYS_CONF_NO_KEY;
		}
		if (!ntp_conf_key_trusted(c, s->key)) {
			return NTP_KEYS_CONF_UNTRUSTED;
		}
	}
	return NTP_KEYS_CONF_OK;
}

char *
ntp_keys_conf_problem_format(const ntp_conf *c, size_t which, int problem, char *buf, size_t size)
{
	const ntp_conf_server *s = &c->servers[which < NTP_CONF_MAX_SERVERS ? which : 0];

	if (problem == NTP_KEYS_CONF_UNTRUSTED) {
		snprintf(buf, size, "%s:%d: %s key %u: key %u is not trusted: add 'trustedkey %u'",
		         c->filename, s->line, s->host, s->key, s->key, s->key);
	} else {
		snprintf(buf, size, "%s:%d: %s key %u: %s", c->filename, s->line, s->host, s->key,
		         problem == NTP_KEYS_CONF_NO_FILE    ? "no key file: add 'keys FILE'"
		         : problem == NTP_KEYS_CONF_NOT_READ ? "the key file was not read"
		                                             : "no such key in the key file");
	}
	return buf;
}
