/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * NTP datagram codec: the header of RFC 5905 §7.3 (Fig. 8), extension
 * fields of RFC 7822, the MAC of RFC 5905 §7.3 / App. A.1.1 and the
 * kiss-o'-death packet of RFC 5905 §7.4.
 *
 * What may follow the 48-byte header is decided by the rule NTPsec's
 * parse_packet() applies (ntpd/ntp_proto.c, as read at commit 756e09a),
 * which is simpler than the wording of RFC 5905 §7.5 as RFC 7822 updates
 * it:
 *
 *   1. NTPv4 only: as long as at least 28 bytes remain, the next bytes are
 *      an extension field.  Its length must be a multiple of 4, at least
 *      16, and must not run past the end of the datagram.
 *   2. What is left after that must be nothing or a MAC of exactly 4, 20
 *      or 24 bytes.
 *
 * Rule 1 is how RFC 7822's "without a MAC the last field is at least 28
 * bytes" comes out in practice: a remainder of 4, 20 or 24 bytes is always
 * read as a MAC, never as a short field.  Our own choices (ntp_pkt.h and
 * the project brief): MACs are accepted on every version 1..4 (NTPsec: v3
 * and up only); a 4-byte MAC must carry key id 0 (a crypto-NAK); NTPsec's
 * 6-byte NTPv2 and 72-byte MS-SNTP trailers are refused; at most
 * NTP_PKT_MAX_EXT fields; version 0 is refused first, even for modes 6
 * and 7 (NTPsec lets a version 0 mode 6 packet through to ntp_control).
 *
 * Encoding refuses any packet that decoding would read back differently,
 * so encode(decode(x)) == x for every x that decodes to NTP_PKT_OK.
 */
#include "ntp_pkt.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ntp_const.h"

#define VERSION_MIN            1  /* RFC 1059 */
#define EXT_HEADER_LEN         4  /* bytes, type + length, RFC 7822 §3 */
#define EXT_ALIGN              4  /* bytes, RFC 7822 §3 */
#define KEYID_LEN              4  /* bytes, RFC 5905 Fig. 8 */
#define MAC_NAK_LEN            4  /* bytes, key id 0 alone: crypto-NAK, RFC 5905 §7.4 */
#define MAC_MD5_LEN            20 /* bytes, key id + MD5 or AES-CMAC digest */
#define MAC_SHA1_LEN           24 /* bytes, key id + SHA-1 digest */
#define DIGEST_MD5_LEN         16 /* bytes */
#define DIGEST_SHA1_LEN        20 /* bytes */
#define REFID_TEXT_MAX_STRATUM 1  /* ASCII refid up to here, ntpd refid_str() */

/* ---- big-endian access ---- */

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

/* ---- errors ---- */

static int fail(ntp_pkt_err *err, int code, size_t offset, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Record why decoding failed; returns code. */
static int
fail(ntp_pkt_err *err, int code, size_t offset, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL) {
		return code;
	}
	err->code = code;
	err->offset = offset;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return code;
}

static void
clear_err(ntp_pkt_err *err)
{
	if (err != NULL) {
		err->code = NTP_PKT_OK;
		err->offset = 0;
		err->msg[0] = '\0';
	}
}

static bool
is_mac_len(size_t n)
{
	return n == MAC_NAK_LEN || n == MAC_MD5_LEN || n == MAC_SHA1_LEN;
}

/* ---- decoding ---- */

/* RFC 5905 Fig. 8: the fixed header; len >= 48 already checked. */
static void
decode_header(const uint8_t *b, ntp_pkt *p)
{
	p->stratum = b[1];
	p->poll = (int8_t)b[2];
	p->precision = (int8_t)b[3];
	p->rootdelay = get32(b + 4);
	p->rootdisp = get32(b + 8);
	p->refid = get32(b + 12);
	p->reftime = get64(b + 16);
	p->org = get64(b + 24);
	p->rec = get64(b + 32);
	p->xmt = get64(b + 40);
}

/* One RFC 7822 extension field at *off (>= 28 bytes remain there); on
 * success *off moves past it. */
static int
decode_ext(const uint8_t *b, size_t len, size_t *off, ntp_pkt *p, ntp_pkt_err *err)
{
	size_t at = *off;
	uint16_t flen = get16(b + at + 2);
	ntp_pkt_ext *e;

	if (flen % EXT_ALIGN != 0) {
		return fail(err, NTP_PKT_E_EXT_LEN, at,
		            "extension field length %u not a multiple of %d at offset %zu", flen,
		            EXT_ALIGN, at);
	}
	if (flen < NTP_PKT_EXT_MIN_LEN) {
		return fail(err, NTP_PKT_E_EXT_LEN, at,
		            "extension field length %u less than the %d-byte minimum at offset %zu",
		            flen, NTP_PKT_EXT_MIN_LEN, at);
	}
	if (flen > len - at) {
		return fail(err, NTP_PKT_E_EXT_LEN, at,
		            "extension field length %u at offset %zu runs past the end of the "
		            "%zu-byte packet",
		            flen, at, len);
	}
	if (p->n_ext >= NTP_PKT_MAX_EXT) {
		return fail(err, NTP_PKT_E_EXT_COUNT, at,
		            "extension field at offset %zu is one more than the %d kept", at,
		            NTP_PKT_MAX_EXT);
	}
	e = &p->ext[p->n_ext++];
	e->type = get16(b + at);
	e->length = flen;
	e->value = b + at + EXT_HEADER_LEN;
	*off = at + flen;
	return NTP_PKT_OK;
}

/* The MAC (or nothing) that ends the datagram at off. */
static int
decode_mac(const uint8_t *b, size_t len, size_t off, ntp_pkt *p, ntp_pkt_err *err)
{
	size_t rest = len - off;

	if (rest == 0) {
		return NTP_PKT_OK;
	}
	if (!is_mac_len(rest)) {
		if (p->version < NTP_VERSION_CUR) {
			return fail(err, NTP_PKT_E_TRAILER, off,
			            "%zu bytes after the NTPv%u header at offset %zu are not a MAC "
			            "(4, 20 or 24 bytes; extension fields need NTPv4)",
			            rest, p->version, off);
		}
		return fail(err, NTP_PKT_E_TRAILER, off,
		            "%zu bytes at offset %zu are neither an extension field (needs %d "
		            "bytes left) nor a MAC (4, 20 or 24 bytes)",
		            rest, off, NTP_PKT_EXT_LAST_MIN);
	}
	p->keyid = get32(b + off);
	if (rest == MAC_NAK_LEN && p->keyid != 0) {
		return fail(err, NTP_PKT_E_TRAILER, off,
		            "4-byte MAC at offset %zu has key id %u; only a crypto-NAK (key id 0) "
		            "is that short",
		            off, p->keyid);
	}
	p->has_mac = true;
	p->digest_len = (uint8_t)(rest - KEYID_LEN);
	memcpy(p->digest, b + off + KEYID_LEN, p->digest_len);
	return NTP_PKT_OK;
}

int
ntp_pkt_decode(const uint8_t *buf, size_t len, ntp_pkt *out, ntp_pkt_err *err)
{
	size_t off = NTP_PKT_HEADER_LEN;
	unsigned version;
	int rc;

	clear_err(err);
	if (out == NULL || (buf == NULL && len != 0)) {
		return fail(err, NTP_PKT_E_INVALID, 0, "no packet or no place to decode it");
	}
	memset(out, 0, sizeof *out);
	if (len > NTP_PKT_MAX_LEN) {
		return fail(err, NTP_PKT_E_TOO_LONG, NTP_PKT_MAX_LEN,
		            "packet of %zu bytes longer than the %d-byte maximum", len,
		            NTP_PKT_MAX_LEN);
	}
	if (len == 0) {
		return fail(err, NTP_PKT_E_SHORT, 0,
		            "packet of 0 bytes shorter than the %d-byte header",
		            NTP_PKT_HEADER_LEN);
	}
	version = (buf[0] >> 3) & 7u;
	if (version < VERSION_MIN || version > NTP_VERSION_CUR) {
		return fail(err, NTP_PKT_E_VERSION, 0, "version %u not supported (byte 0 = 0x%02x)",
		            version, buf[0]);
	}
	out->leap = (uint8_t)(buf[0] >> 6);
	out->version = (uint8_t)version;
	out->mode = (uint8_t)(buf[0] & 7u);
	/* Modes 6 and 7 have their own layouts (RFC 9327, ntpdc): their
	 * readers check their own lengths. */
	if (out->mode == NTP_MODE_CONTROL) {
		return NTP_PKT_IS_CONTROL;
	}
	if (out->mode == NTP_MODE_PRIVATE) {
		return NTP_PKT_IS_PRIVATE;
	}
	if (len < NTP_PKT_HEADER_LEN) {
		return fail(err, NTP_PKT_E_SHORT, len,
		            "packet of %zu bytes shorter than the %d-byte header", len,
		            NTP_PKT_HEADER_LEN);
	}
	decode_header(buf, out);
	if (version == NTP_VERSION_CUR) {
		while (len - off >= NTP_PKT_EXT_LAST_MIN) {
			rc = decode_ext(buf, len, &off, out, err);
			if (rc != NTP_PKT_OK) {
				return rc;
			}
		}
	}
	return decode_mac(buf, len, off, out, err);
}

/* ---- encoding ---- */

static size_t
mac_len(const ntp_pkt *p)
{
	return p->has_mac ? KEYID_LEN + (size_t)p->digest_len : 0;
}

/* Whether decode() would read p's fields and MAC back as they are. */
static bool
trailer_is_valid(const ntp_pkt *p)
{
	const ntp_pkt_ext *last;
	unsigned i;

	if (p->has_mac) {
		if (p->digest_len != 0 && p->digest_len != DIGEST_MD5_LEN &&
		    p->digest_len != DIGEST_SHA1_LEN) {
			return false;
		}
		if (p->digest_len == 0 && p->keyid != 0) {
			return false;
		}
	}
	if (p->n_ext > NTP_PKT_MAX_EXT || (p->n_ext > 0 && p->version != NTP_VERSION_CUR)) {
		return false;
	}
	for (i = 0; i < p->n_ext; i++) {
		if (p->ext[i].length < NTP_PKT_EXT_MIN_LEN || p->ext[i].length % EXT_ALIGN != 0) {
			return false;
		}
	}
	/* Rule 1 above: the last field must start where >= 28 bytes remain,
	 * or its bytes and the MAC would be read as something else. */
	last = p->n_ext > 0 ? &p->ext[p->n_ext - 1] : NULL;
	return last == NULL || last->length + mac_len(p) >= NTP_PKT_EXT_LAST_MIN;
}

static bool
header_is_valid(const ntp_pkt *p)
{
	return p->leap <= NTP_LEAP_NOTSYNC && p->version >= VERSION_MIN &&
	       p->version <= NTP_VERSION_CUR && p->mode < NTP_MODE_CONTROL;
}

static size_t
encoded_len(const ntp_pkt *p)
{
	size_t n = NTP_PKT_HEADER_LEN + mac_len(p);
	unsigned i;

	for (i = 0; i < p->n_ext && i < NTP_PKT_MAX_EXT; i++) {
		n += p->ext[i].length;
	}
	return n;
}

static void
encode_header(const ntp_pkt *p, uint8_t *b)
{
	b[0] = (uint8_t)(p->leap << 6 | p->version << 3 | p->mode);
	b[1] = p->stratum;
	b[2] = (uint8_t)p->poll;
	b[3] = (uint8_t)p->precision;
	put32(b + 4, p->rootdelay);
	put32(b + 8, p->rootdisp);
	put32(b + 12, p->refid);
	put64(b + 16, p->reftime);
	put64(b + 24, p->org);
	put64(b + 32, p->rec);
	put64(b + 40, p->xmt);
}

/* A field with a NULL value goes out with a zero body. */
static size_t
encode_ext(const ntp_pkt_ext *e, uint8_t *b)
{
	size_t body = (size_t)e->length - EXT_HEADER_LEN;

	put16(b, e->type);
	put16(b + 2, e->length);
	if (e->value != NULL) {
		memcpy(b + EXT_HEADER_LEN, e->value, body);
	} else {
		memset(b + EXT_HEADER_LEN, 0, body);
	}
	return e->length;
}

int
ntp_pkt_encode(const ntp_pkt *p, uint8_t *buf, size_t cap, size_t *len)
{
	size_t need;
	size_t off = NTP_PKT_HEADER_LEN;
	unsigned i;

	if (len != NULL) {
		*len = 0;
	}
	if (p == NULL || len == NULL || !header_is_valid(p) || !trailer_is_valid(p)) {
		return NTP_PKT_E_INVALID;
	}
	need = encoded_len(p);
	if (need > NTP_PKT_MAX_LEN) {
		return NTP_PKT_E_INVALID;
	}
	*len = need; /* also on E_BUFFER: the size the caller must provide */
	if (buf == NULL || cap < need) {
		return NTP_PKT_E_BUFFER;
	}
	encode_header(p, buf);
	for (i = 0; i < p->n_ext; i++) {
		off += encode_ext(&p->ext[i], buf + off);
	}
	if (p->has_mac) {
		put32(buf + off, p->keyid);
		memcpy(buf + off + KEYID_LEN, p->digest, p->digest_len);
	}
	return NTP_PKT_OK;
}

/* ---- helpers ---- */

bool
ntp_pkt_is_kod(const ntp_pkt *p)
{
	return p != NULL && p->stratum == 0 &&
	       (p->mode == NTP_MODE_SERVER || p->mode == NTP_MODE_PASSIVE);
}

/* A refid's ASCII code in dots (".GPS.").  ntpdig's view (strict) refuses
 * an unprintable byte or one after a NUL, so the caller can show the number
 * instead; ntpq's view of what ntpd serves (ctl_putrefid) stops at the
 * first NUL and shows an unprintable byte as '?'. */
static bool
format_refid_code(uint32_t refid, bool strict, char *buf, size_t size)
{
	char code[5];
	size_t n = 0;

	for (int shift = 24; shift >= 0; shift -= 8) {
		unsigned c = (refid >> shift) & 0xffu;
		bool printable = c >= 0x20 && c <= 0x7e;

		if (c == 0) {
			if (strict && (refid & ((UINT32_C(1) << shift) - 1)) != 0) {
				return false;
			}
			break;
		}
		if (!printable && strict) {
			return false;
		}
		code[n++] = printable ? (char)c : '?';
	}
	code[n] = '\0';
	snprintf(buf, size, ".%s.", code);
	return true;
}

char *
ntp_pkt_refid_format(uint32_t refid, uint8_t stratum, char *buf, size_t size)
{
	if (buf == NULL || size == 0) {
		return buf;
	}
	if (stratum <= REFID_TEXT_MAX_STRATUM) {
		if (!format_refid_code(refid, true, buf, size)) {
			snprintf(buf, size, "0x%08x", (unsigned)refid);
		}
		return buf;
	}
	snprintf(buf, size, "%u.%u.%u.%u", (unsigned)(refid >> 24), (unsigned)(refid >> 16) & 0xffu,
	         (unsigned)(refid >> 8) & 0xffu, (unsigned)refid & 0xffu);
	return buf;
}

char *
ntp_pkt_refid_assoc_format(uint32_t refid, uint8_t stratum, char *buf, size_t size)
{
	if (buf == NULL || size == 0) {
		return buf;
	}
	if (stratum <= REFID_TEXT_MAX_STRATUM || stratum >= NTP_STRATUM_UNSPEC) {
		format_refid_code(refid, false, buf, size);
		return buf;
	}
	if ((refid & NTP_LOCAL_MASK) == NTP_LOCAL_NET) {
		snprintf(buf, size, "LOCAL(%u)", (unsigned)(refid & ~NTP_LOCAL_MASK));
		return buf;
	}
	return ntp_pkt_refid_format(refid, stratum, buf, size);
}

const char *
ntp_pkt_mode_name(int mode)
{
	static const char *const names[] = {
	        "unspecified", "symmetric active", "symmetric passive", "client",
	        "server",      "broadcast",        "control",           "private",
	};

	if (mode < 0 || mode >= (int)(sizeof names / sizeof names[0])) {
		return "invalid";
	}
	return names[mode];
}

/* The names ntpq prints in its system status word. */
const char *
ntp_pkt_leap_name(int leap)
{
	static const char *const names[] = {
	        "leap_none",
	        "leap_add_sec",
	        "leap_del_sec",
	        "leap_alarm",
	};

	if (leap < 0 || leap >= (int)(sizeof names / sizeof names[0])) {
		return "invalid";
	}
	return names[leap];
}
