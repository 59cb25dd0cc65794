/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/ntp_pkt: golden packets captured from NTPsec ntpd, chronyd and
 * ntpdig on loopback (tests/data/pkt/, scripts/capture-golden.sh) checked
 * field by field against tshark's dissection; crafted packets for what a
 * capture cannot show (KoD, extension fields, MACs, old versions, modes 6
 * and 7); every error path.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ntp_pkt.h"

#ifndef NTPLAB_TEST_DATA
#error "NTPLAB_TEST_DATA must name tests/data"
#endif

#define GOLDEN_PATH NTPLAB_TEST_DATA "/pkt/golden.tsv"
#define GOLDEN_MAX  64   /* packets the loader keeps */
#define GOLDEN_LINE 2048 /* bytes per line, generous */

/* golden.tsv columns, in the order scripts/capture-golden.sh writes them. */
enum golden_col {
	G_NAME,
	G_PAYLOAD,
	G_LI,
	G_VN,
	G_MODE,
	G_STRATUM,
	G_PPOLL,
	G_PRECISION,
	G_PRECISION_S,
	G_ROOTDELAY,
	G_ROOTDELAY_S,
	G_ROOTDISP,
	G_ROOTDISP_S,
	G_REFID,
	G_REFID_SHOWN,
	G_REFTIME,
	G_REFTIME_RAW,
	G_ORG,
	G_ORG_RAW,
	G_REC,
	G_REC_RAW,
	G_XMT,
	G_XMT_RAW,
	G_NCOLS
};

typedef struct golden_pkt {
	char line[GOLDEN_LINE];
	char *col[G_NCOLS];
	uint8_t bytes[NTP_PKT_MAX_LEN];
	size_t len;
} golden_pkt;

/* tshark puts NTP time in era 1 when the top bit of the seconds is clear
 * (RFC 4330 §3): the pivot that makes ntp_ts_to_unix_ns do the same is
 * the start of era 1, 2036-02-07 06:28:16 UTC. */
#define TSHARK_PIVOT_NS ((NTP_ERA_SECONDS - NTP_UNIX_EPOCH_OFFSET) * NTP_NS_PER_S)

static int
hexval(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

/* Hex digits (optionally separated by ':') into bytes; returns the count
 * or (size_t)-1 on a bad digit or overflow. */
static size_t
unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (*s != '\0') {
		int hi, lo;

		if (*s == ':') {
			s++;
			continue;
		}
		hi = hexval(s[0]);
		lo = hi < 0 ? -1 : hexval(s[1]);
		if (lo < 0 || n == cap) {
			return (size_t)-1;
		}
		out[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	return n;
}

static uint64_t
hex64(const char *s)
{
	uint8_t b[8];

	cr_assert_eq(unhex(s, b, sizeof b), 8u, "bad 64-bit hex \"%s\"", s);
	return (uint64_t)b[0] << 56 | (uint64_t)b[1] << 48 | (uint64_t)b[2] << 40 |
	       (uint64_t)b[3] << 32 | (uint64_t)b[4] << 24 | (uint64_t)b[5] << 16 |
	       (uint64_t)b[6] << 8 | b[7];
}

static unsigned long
num(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	cr_assert(*s != '\0' && *end == '\0', "not a number: \"%s\"", s);
	return v;
}

/* Read golden.tsv; returns the number of packets (asserts on a bad file). */
static size_t
load_golden(golden_pkt *g, size_t max)
{
	FILE *f = fopen(GOLDEN_PATH, "r");
	size_t n = 0;

	cr_assert_not_null(f, "cannot open %s", GOLDEN_PATH);
	while (n < max && fgets(g[n].line, sizeof g[n].line, f) != NULL) {
		char *p = g[n].line;
		size_t c = 0;

		p[strcspn(p, "\r\n")] = '\0';
		if (p[0] == '#' || strncmp(p, "name\t", 5) == 0 || p[0] == '\0') {
			continue;
		}
		g[n].col[c++] = p;
		for (; *p != '\0'; p++) {
			if (*p == '\t') {
				*p = '\0';
				cr_assert_lt(c, (size_t)G_NCOLS, "too many columns: %s", g[n].line);
				g[n].col[c++] = p + 1;
			}
		}
		cr_assert_eq(c, (size_t)G_NCOLS, "line %zu has %zu columns", n + 1, c);
		g[n].len = unhex(g[n].col[G_PAYLOAD], g[n].bytes, sizeof g[n].bytes);
		cr_assert_neq(g[n].len, (size_t)-1, "bad payload hex in %s", g[n].col[G_NAME]);
		n++;
	}
	cr_assert_lt(n, max, "more than %zu packets in %s: raise GOLDEN_MAX", max, GOLDEN_PATH);
	fclose(f);
	return n;
}

/* A timestamp as tshark prints it: "Nov 24, 2026 07:58:49.410874366 UTC",
 * nanoseconds truncated, "NULL" for zero. */
static void
tshark_time(ntp_ts64 ts, char *buf, size_t size)
{
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	ntp_time whole = ntp_ts_to_unix_ns(ntp_ts_make(ntp_ts_seconds(ts), 0), TSHARK_PIVOT_NS);
	uint32_t ns = (uint32_t)(((uint64_t)ntp_ts_fraction(ts) * 1000000000u) >> 32);
	time_t secs = (time_t)(whole / NTP_NS_PER_S);
	struct tm tm;

	if (ts == 0) {
		snprintf(buf, size, "NULL");
		return;
	}
	cr_assert_not_null(gmtime_r(&secs, &tm));
	snprintf(buf, size, "%s %2d, %d %02d:%02d:%02d.%09u UTC", mon[tm.tm_mon], tm.tm_mday,
	         tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)ns);
}

static void
assert_ts(const char *name, const char *field, ntp_ts64 got, const char *raw, const char *shown)
{
	char text[64];

	cr_assert_eq(got, hex64(raw), "%s: %s 0x%016llx, tshark %s", name, field,
	             (unsigned long long)got, raw);
	tshark_time(got, text, sizeof text);
	cr_assert_str_eq(text, shown, "%s: %s shown as \"%s\", tshark \"%s\"", name, field, text,
	                 shown);
}

static void
assert_seconds(const char *name, const char *field, double s, const char *shown)
{
	char text[64];

	snprintf(text, sizeof text, "%.6f", s);
	cr_assert_str_eq(text, shown, "%s: %s %s s, tshark %s s", name, field, text, shown);
}

static void
assert_roundtrip(const uint8_t *bytes, size_t len, const ntp_pkt *p, const char *name)
{
	uint8_t out[NTP_PKT_MAX_LEN];
	size_t n = 0;
	int rc = ntp_pkt_encode(p, out, sizeof out, &n);

	cr_assert_eq(rc, NTP_PKT_OK, "%s: encode returned %d", name, rc);
	cr_assert_eq(n, len, "%s: encoded %zu bytes, decoded %zu", name, n, len);
	cr_assert(memcmp(out, bytes, len) == 0, "%s: encode(decode(x)) != x", name);
}

/* Decode and require OK, with the error text in the failure message. */
static void
decode_ok(const uint8_t *b, size_t len, ntp_pkt *p, const char *name)
{
	ntp_pkt_err err;
	int rc = ntp_pkt_decode(b, len, p, &err);

	cr_assert_eq(rc, NTP_PKT_OK, "%s: decode returned %d: %s", name, rc, err.msg);
	cr_assert_eq(err.code, NTP_PKT_OK);
	cr_assert_str_eq(err.msg, "");
}

/* Every header field of every captured packet equals tshark's dissection,
 * and re-encoding gives the captured bytes back. */
Test(pkt, golden_every_field_matches_tshark)
{
	static golden_pkt g[GOLDEN_MAX];
	size_t n = load_golden(g, GOLDEN_MAX);

	cr_assert_geq(n, 10u, "only %zu golden packets", n);
	for (size_t i = 0; i < n; i++) {
		char **c = g[i].col;
		const char *name = c[G_NAME];
		uint8_t refid[4];
		char text[32];
		ntp_pkt p;

		decode_ok(g[i].bytes, g[i].len, &p, name);
		cr_assert_eq(p.leap, num(c[G_LI]), "%s: leap", name);
		cr_assert_eq(p.version, num(c[G_VN]), "%s: version", name);
		cr_assert_eq(p.mode, num(c[G_MODE]), "%s: mode", name);
		cr_assert_eq(p.stratum, num(c[G_STRATUM]), "%s: stratum", name);
		/* tshark shows poll and precision as unsigned bytes. */
		cr_assert_eq((uint8_t)p.poll, num(c[G_PPOLL]), "%s: poll %d", name, p.poll);
		cr_assert_eq((uint8_t)p.precision, num(c[G_PRECISION]), "%s: precision", name);
		assert_seconds(name, "precision", ldexp(1.0, p.precision), c[G_PRECISION_S]);
		cr_assert_eq(p.rootdelay, num(c[G_ROOTDELAY]), "%s: root delay", name);
		assert_seconds(name, "root delay", ntp_short_to_s(p.rootdelay), c[G_ROOTDELAY_S]);
		cr_assert_eq(p.rootdisp, num(c[G_ROOTDISP]), "%s: root dispersion", name);
		assert_seconds(name, "root dispersion", ntp_short_to_s(p.rootdisp),
		               c[G_ROOTDISP_S]);
		cr_assert_eq(unhex(c[G_REFID], refid, sizeof refid), 4u);
		cr_assert_eq(p.refid, NTP_REFID(refid), "%s: refid 0x%08x", name, p.refid);
		if (p.stratum >= 2 && p.stratum <= 15) {
			/* tshark names stratum 0/1 codes from its own table, but
			 * shows an IPv4 refid the way ntpq does. */
			cr_assert_str_eq(
			        ntp_pkt_refid_format(p.refid, p.stratum, text, sizeof text),
			        c[G_REFID_SHOWN], "%s: refid", name);
		}
		assert_ts(name, "reftime", p.reftime, c[G_REFTIME_RAW], c[G_REFTIME]);
		assert_ts(name, "org", p.org, c[G_ORG_RAW], c[G_ORG]);
		assert_ts(name, "rec", p.rec, c[G_REC_RAW], c[G_REC]);
		assert_ts(name, "xmt", p.xmt, c[G_XMT_RAW], c[G_XMT]);
		cr_assert_eq(p.n_ext, 0, "%s", name);
		cr_assert(!p.has_mac, "%s", name);
		assert_roundtrip(g[i].bytes, g[i].len, &p, name);
	}
}

/* The first golden packet whose name starts with prefix and has mode. */
static const golden_pkt *
find_golden(const golden_pkt *g, size_t n, const char *prefix, int mode, ntp_pkt *p)
{
	for (size_t i = 0; i < n; i++) {
		if (strncmp(g[i].col[G_NAME], prefix, strlen(prefix)) == 0 &&
		    g[i].col[G_NAME][strlen(prefix)] == '#' &&
		    ntp_pkt_decode(g[i].bytes, g[i].len, p, NULL) == NTP_PKT_OK &&
		    p->mode == mode) {
			return &g[i];
		}
	}
	cr_assert_fail("no %s packet of mode %d in %s", prefix, mode, GOLDEN_PATH);
	return NULL;
}

/* What each captured conversation is known to contain. */
Test(pkt, golden_conversations_are_what_they_claim)
{
	static golden_pkt g[GOLDEN_MAX];
	size_t n = load_golden(g, GOLDEN_MAX);
	char text[32];
	ntp_pkt p, q;

	/* NTPsec ntpd just after start: unsynchronised, INIT, which a client
	 * reads as a kiss-o'-death (ntpdig: "probable KOD packet"). */
	find_golden(g, n, "ntpdig-ntpd-unsync", NTP_MODE_SERVER, &p);
	cr_assert_eq(p.leap, NTP_LEAP_NOTSYNC);
	cr_assert_eq(p.stratum, 0);
	cr_assert_eq(p.refid, NTP_REFID("INIT"));
	cr_assert(ntp_pkt_is_kod(&p));
	cr_assert_str_eq(ntp_pkt_refid_format(p.refid, p.stratum, text, sizeof text), ".INIT.");
	cr_assert_eq(p.reftime, 0u);

	/* ntpd on its LOCAL refclock (stratum 4 + 1): refid 127.127.1.0. */
	find_golden(g, n, "ntpdig-ntpd", NTP_MODE_SERVER, &p);
	cr_assert_eq(p.leap, NTP_LEAP_NONE);
	cr_assert_eq(p.stratum, 5);
	cr_assert_eq(p.precision, -24, "ntpd measured precision %d", p.precision);
	cr_assert_str_eq(ntp_pkt_refid_format(p.refid, p.stratum, text, sizeof text),
	                 "127.127.1.0");
	cr_assert(!ntp_pkt_is_kod(&p));
	/* The reply echoes the request's transmit time as origin. */
	find_golden(g, n, "ntpdig-ntpd", NTP_MODE_CLIENT, &q);
	cr_assert_eq(p.org, q.xmt);
	cr_assert_geq(ntp_ts_sub(p.xmt, p.rec), 0);
	/* ntpdig's request: LI 3, everything but xmt zero. */
	cr_assert_eq(q.leap, NTP_LEAP_NOTSYNC);
	cr_assert_eq(q.org, 0u);
	cr_assert_eq(q.rec, 0u);
	cr_assert_neq(q.xmt, 0u);

	/* chronyd `local stratum 5`: refid 127.127.1.1. */
	find_golden(g, n, "ntpdig-chronyd", NTP_MODE_SERVER, &p);
	cr_assert_eq(p.stratum, 5);
	cr_assert_eq(p.refid, 0x7f7f0101u);
	cr_assert_eq(p.rootdelay, 0u);

	/* chronyd as a client: no leap, poll 6, precision byte 0x20, and a
	 * random transmit timestamp that the server must echo. */
	find_golden(g, n, "chronyd-ntpd", NTP_MODE_CLIENT, &q);
	cr_assert_eq(q.leap, NTP_LEAP_NONE);
	cr_assert_eq(q.poll, 6);
	cr_assert_eq(q.precision, 32);
	find_golden(g, n, "chronyd-ntpd", NTP_MODE_SERVER, &p);
	cr_assert_eq(p.org, q.xmt);

	/* ntpd as a client (of itself), port 123 to port 123. */
	find_golden(g, n, "ntpd-self", NTP_MODE_CLIENT, &q);
	cr_assert_eq(q.version, 4);
	cr_assert_eq(q.stratum, 0);
	cr_assert(!ntp_pkt_is_kod(&q));
}

/* Flip every header byte of every golden packet to a few values: whatever
 * still decodes must encode back to the same bytes. */
Test(pkt, golden_mutations_round_trip)
{
	static golden_pkt g[GOLDEN_MAX];
	static const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0xc3, 0xff};
	size_t n = load_golden(g, GOLDEN_MAX);
	unsigned ok = 0, refused = 0;

	for (size_t i = 0; i < n; i++) {
		for (size_t at = 0; at < g[i].len; at++) {
			for (size_t v = 0; v < sizeof vals; v++) {
				uint8_t b[NTP_PKT_MAX_LEN];
				ntp_pkt p;
				ntp_pkt_err err;
				int rc;

				memcpy(b, g[i].bytes, g[i].len);
				b[at] = vals[v];
				rc = ntp_pkt_decode(b, g[i].len, &p, &err);
				if (rc == NTP_PKT_OK) {
					assert_roundtrip(b, g[i].len, &p, g[i].col[G_NAME]);
					ok++;
				} else if (rc < 0) {
					cr_assert_eq(rc, NTP_PKT_E_VERSION, "byte %zu = %u: %s", at,
					             vals[v], err.msg);
					refused++;
				}
			}
		}
	}
	cr_assert_gt(ok, 1000u);
	cr_assert_gt(refused, 0u);
}

/* ---- crafted packets ---- */

#define TS_A 0xeeafc1539a3e552aull /* 2026-11-24, from the ntpd capture */
#define TS_B 0xeeafc153fdde3884ull

/* A 48-byte header; returns 48. */
static size_t
craft(uint8_t *b, unsigned li, unsigned vn, unsigned mode, unsigned stratum, uint32_t refid)
{
	static const uint8_t rest[] = {
	        0xee, 0xaf, 0xc1, 0x53, 0x9a, 0x3e, 0x55, 0x2a, 0xee, 0xaf, 0xc1,
	        0x53, 0xfd, 0xc9, 0x50, 0x00, 0xee, 0xaf, 0xc1, 0x53, 0xfd, 0xd4,
	        0x36, 0x50, 0xee, 0xaf, 0xc1, 0x53, 0xfd, 0xde, 0x38, 0x84,
	};

	memset(b, 0, NTP_PKT_HEADER_LEN);
	b[0] = (uint8_t)(li << 6 | vn << 3 | mode);
	b[1] = (uint8_t)stratum;
	b[2] = 6;
	b[3] = 0xec; /* precision -20 */
	b[5] = 0x01; /* root delay 1 s */
	b[10] = 0x02;
	b[12] = (uint8_t)(refid >> 24);
	b[13] = (uint8_t)(refid >> 16);
	b[14] = (uint8_t)(refid >> 8);
	b[15] = (uint8_t)refid;
	memcpy(b + 16, rest, sizeof rest);
	return NTP_PKT_HEADER_LEN;
}

/* An extension field of length len with body bytes 0, 1, 2, ...; returns len. */
static size_t
craft_ext(uint8_t *b, uint16_t type, uint16_t len)
{
	b[0] = (uint8_t)(type >> 8);
	b[1] = (uint8_t)type;
	b[2] = (uint8_t)(len >> 8);
	b[3] = (uint8_t)len;
	for (size_t i = 4; i < len; i++) {
		b[i] = (uint8_t)(i - 4);
	}
	return len;
}

/* A MAC: key id, then digest bytes 0xd0, 0xd1, ...; returns its length. */
static size_t
craft_mac(uint8_t *b, uint32_t keyid, size_t digest_len)
{
	b[0] = (uint8_t)(keyid >> 24);
	b[1] = (uint8_t)(keyid >> 16);
	b[2] = (uint8_t)(keyid >> 8);
	b[3] = (uint8_t)keyid;
	for (size_t i = 0; i < digest_len; i++) {
		b[4 + i] = (uint8_t)(0xd0 + i);
	}
	return 4 + digest_len;
}

static int
decode_err(const uint8_t *b, size_t len, ntp_pkt_err *err)
{
	ntp_pkt p;
	int rc = ntp_pkt_decode(b, len, &p, err);

	cr_assert_eq(err->code, rc);
	if (rc < 0) {
		cr_assert_neq(err->msg[0], '\0', "error %d without a reason", rc);
	}
	return rc;
}

Test(pkt, header_fields_big_endian)
{
	uint8_t b[NTP_PKT_MAX_LEN];
	size_t n = craft(b, 1, 4, 4, 2, 0xc0000201u);
	ntp_pkt p;

	decode_ok(b, n, &p, "crafted");
	cr_assert_eq(p.leap, NTP_LEAP_ADD);
	cr_assert_eq(p.version, 4);
	cr_assert_eq(p.mode, NTP_MODE_SERVER);
	cr_assert_eq(p.stratum, 2);
	cr_assert_eq(p.poll, 6);
	cr_assert_eq(p.precision, -20);
	cr_assert_eq(p.rootdelay, 0x00010000u);
	cr_assert_eq(ntp_short_to_s(p.rootdelay), 1.0);
	cr_assert_eq(p.rootdisp, 0x00000200u);
	cr_assert_eq(p.refid, 0xc0000201u);
	cr_assert_eq(p.reftime, TS_A);
	cr_assert_eq(p.xmt, TS_B);
	assert_roundtrip(b, n, &p, "crafted");
}

Test(pkt, kod_rate)
{
	uint8_t b[NTP_PKT_MAX_LEN];
	size_t n = 0;
	ntp_pkt p = {0}, q;
	char text[16];

	p.leap = NTP_LEAP_NOTSYNC;
	p.version = 4;
	p.mode = NTP_MODE_SERVER;
	p.stratum = 0;
	p.poll = 10;
	p.refid = NTP_REFID("RATE");
	p.org = p.rec = p.xmt = TS_B;
	cr_assert_eq(ntp_pkt_encode(&p, b, sizeof b, &n), NTP_PKT_OK);
	cr_assert_eq(n, 48u);
	cr_assert_eq(b[0], 0xe4); /* LI 3, VN 4, mode 4 */
	cr_assert_eq(b[1], 0);
	cr_assert(memcmp(b + 12, "RATE", 4) == 0);
	decode_ok(b, n, &q, "KoD");
	cr_assert(ntp_pkt_is_kod(&q));
	cr_assert_eq(q.refid, NTP_REFID("RATE"));
	cr_assert_str_eq(ntp_pkt_refid_format(q.refid, q.stratum, text, sizeof text), ".RATE.");
	cr_assert(memcmp(&p, &q, sizeof p) == 0, "decode(encode(p)) != p");
}

Test(pkt, kod_needs_stratum0_and_server_or_passive)
{
	ntp_pkt p = {.version = 4, .mode = NTP_MODE_SERVER, .stratum = 0};

	cr_assert(ntp_pkt_is_kod(&p));
	p.mode = NTP_MODE_PASSIVE;
	cr_assert(ntp_pkt_is_kod(&p));
	p.mode = NTP_MODE_CLIENT;
	cr_assert(!ntp_pkt_is_kod(&p));
	p.mode = NTP_MODE_ACTIVE;
	cr_assert(!ntp_pkt_is_kod(&p));
	p.mode = NTP_MODE_SERVER;
	p.stratum = 1;
	cr_assert(!ntp_pkt_is_kod(&p));
	cr_assert(!ntp_pkt_is_kod(NULL));
}

Test(pkt, extension_field_last_28)
{
	uint8_t b[NTP_PKT_MAX_LEN];
	size_t n = craft(b, 0, 4, 3, 0, 0);
	ntp_pkt p;

	n += craft_ext(b + n, 0x0104, 28);
	decode_ok(b, n, &p, "ext 28");
	cr_assert_eq(p.n_ext, 1);
	cr_assert_eq(p.ext[0].type, 0x0104);
	cr_assert_eq(p.ext[0].length, 28);
	cr_assert_eq(p.ext[0].value, b + 52, "value must point into the buffer");
	cr_assert_eq(p.ext[0].value[23], 23);
	cr_assert(!p.has_mac);
	assert_roundtrip(b, n, &p, "ext 28");
}

Test(pkt, extension_fields_then_mac)
{
	uint8_t b[NTP_PKT_MAX_LEN];
	size_t n = craft(b, 0, 4, 3, 0, 0);
	ntp_pkt p;

	n += craft_ext(b + n, 0x0204, 16);
	n += craft_ext(b + n, 0x0404, 36);
	n += craft_mac(b + n, 9, 20);
	decode_ok(b, n, &p, "2 ext + SHA-1 MAC");
	cr_assert_eq(p.n_ext, 2);
	cr_assert_eq(p.ext[0].length, 16);
	cr_assert_eq(p.ext[1].type, 0x0404);
	cr_assert_eq(p.ext[1].value, b + 48 + 16 + 4);
	cr_assert(p.has_mac);
	cr_assert_eq(p.keyid, 9u);
	cr_assert_eq(p.digest_len, 20);
	cr_assert_eq(p.digest[19], 0xd0 + 19);
	assert_roundtrip(b, n, &p, "2 ext + SHA-1 MAC");
}

/* A 16-byte field is fine when a 20-byte MAC follows: 36 bytes remain. */
Test(pkt, extension_16_before_mac20)
{
	uint8_t b[NTP_PKT_MAX_LEN];
	size_t n = craft(b, 0, 4, 3, 0, 0);
	ntp_pkt p;

	n += craft_ext(b + n, 0x0104, 16);
	n += craft_mac(b + n, 7, 16);
	decode_ok(b, n, &p, "ext 16 + MD5 MAC");
	cr_assert_eq(p.n_ext, 1);
	cr_assert_eq(p.keyid, 7u);
	cr_assert_eq(p.digest_len, 16);
	assert_roundtrip(b, n, &p, "ext 16 + MD5 MAC");
}

/* NTPsec's rule reads any 20-byte remainder as a MAC, even when it was
 * meant as a 16-byte field plus a crypto-NAK; the encoder refuses to make
 * such a packet. */
Test(pkt, twenty_bytes_left_are_a_mac)
{
	uint8_t b[NTP_PKT_MAX_LEN];
	size_t n = craft(b, 0, 4, 4, 1, NTP_REFID("GPS\0"));
	ntp_pkt p;
	size_t len;

	n += craft_ext(b + n, 0x0104, 16);
	n += craft_mac(b + n, 0, 0);
	decode_ok(b, n, &p, "ambiguous");
	cr_assert_eq(p.n_ext, 0);
	cr_assert(p.has_mac);
	cr_assert_eq(p.keyid, 0x01040010u);
	cr_assert_eq(p.digest_len, 16);
	assert_roundtrip(b, n, &p, "ambiguous");

	p.n_ext = 1;
	p.ext[0] = (ntp_pkt_ext){.type = 0x0104, .length = 16, .value = b + 52};
	p.keyid = 0;
	p.digest_len = 0;
	cr_assert_eq(ntp_pkt_encode(&p, b, sizeof b, &len), NTP_PKT_E_INVALID);
	p.ext[0].length = 24; /* 24 + 4 = 28: unambiguous */
	cr_assert_eq(ntp_pkt_encode(&p, b, sizeof b, &len), NTP_PKT_OK);
	cr_assert_eq(len, 48u + 24 + 4);
	decode_ok(b, len, &p, "ext 24 + crypto-NAK");
	cr_assert_eq(p.n_ext, 1);
	cr_assert(p.has_mac);
	cr_assert_eq(p.digest_len, 0);
}

Test(pkt, mac_md5_and_sha1)
{
	static const struct {
		unsigned vn;
		size_t digest;
	} v[] = {{4, 16}, {4, 20}, {3, 16}, {3, 20}, {2, 16}, {1, 20}};

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		uint8_t b[NTP_PKT_MAX_LEN];
		size_t n = craft(b, 0, v[i].vn, 3, 0, 0);
		ntp_pkt p;

		n += craft_mac(b + n, 0x12345678u, v[i].digest);
		decode_ok(b, n, &p, "MAC");
		cr_assert(p.has_mac);
		cr_assert_eq(p.keyid, 0x12345678u);
		cr_assert_eq(p.digest_len, v[i].digest, "v%u", v[i].vn);
		cr_assert_eq(p.digest[0], 0xd0);
		assert_roundtrip(b, n, &p, "MAC");
	}
}

Test(pkt, crypto_nak)
{
	uint8_t b[NTP_PKT_MAX_LEN];
	size_t n = craft(b, 0, 4, 4, 2, 0x0a000001u);
	ntp_pkt p;
	ntp_pkt_err err;

	n += craft_mac(b + n, 0, 0);
	decode_ok(b, n, &p, "crypto-NAK");
	cr_assert(p.has_mac);
	cr_assert_eq(p.keyid, 0u);
	cr_assert_eq(p.digest_len, 0);
	assert_roundtrip(b, n, &p, "crypto-NAK");

	craft_mac(b + 48, 5, 0);
	cr_assert_eq(decode_err(b, n, &err), NTP_PKT_E_TRAILER);
	cr_assert_eq(err.offset, 48u);
	cr_assert(strstr(err.msg, "key id 5") != NULL, "%s", err.msg);
}

Test(pkt, old_versions)
{
	/* NTPv1 has no mode field (it reads 0), v2 and v3 do. */
	static const unsigned modes[] = {0, 3, 4};

	for (unsigned vn = 1; vn <= 3; vn++) {
		uint8_t b[NTP_PKT_MAX_LEN];
		size_t n = craft(b, 0, vn, modes[vn - 1], 2, 0x7f000001u);
		ntp_pkt p;
		ntp_pkt_err err;

		decode_ok(b, n, &p, "old version");
		cr_assert_eq(p.version, vn);
		cr_assert_eq(p.mode, modes[vn - 1]);
		assert_roundtrip(b, n, &p, "old version");
		/* No extension fields before v4: 28 bytes of field are garbage. */
		n += craft_ext(b + n, 0x0104, 28);
		cr_assert_eq(decode_err(b, n, &err), NTP_PKT_E_TRAILER, "v%u", vn);
		cr_assert_eq(err.offset, 48u);
		cr_assert(strstr(err.msg, "NTPv") != NULL, "%s", err.msg);
	}
}

Test(pkt, mode6_and_mode7_headers)
{
	/* ntpq READVAR (RFC 9327): 12-byte header, no data. */
	static const uint8_t ctl[] = {0x16, 0x02, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0};
	/* ntpdc request header, version 2 mode 7. */
	static const uint8_t priv[] = {0x17, 0x00, 0x03, 0x2a, 0, 0, 0, 0};
	ntp_pkt p;
	ntp_pkt_err err;
	uint8_t b[64];
	size_t len;

	cr_assert_eq(ntp_pkt_decode(ctl, sizeof ctl, &p, &err), NTP_PKT_IS_CONTROL);
	cr_assert_eq(p.leap, 0);
	cr_assert_eq(p.version, 2);
	cr_assert_eq(p.mode, NTP_MODE_CONTROL);
	cr_assert_eq(p.stratum, 0, "nothing but byte 0 is read");
	cr_assert_eq(ntp_pkt_decode(ctl, 1, &p, &err), NTP_PKT_IS_CONTROL);
	cr_assert_eq(ntp_pkt_decode(priv, sizeof priv, &p, &err), NTP_PKT_IS_PRIVATE);
	cr_assert_eq(p.mode, NTP_MODE_PRIVATE);
	cr_assert_eq(p.version, 2);
	/* The encoder does not produce them. */
	p.mode = NTP_MODE_CONTROL;
	cr_assert_eq(ntp_pkt_encode(&p, b, sizeof b, &len), NTP_PKT_E_INVALID);
}

/* ---- error paths ---- */

Test(pkt, short_packets)
{
	uint8_t b[NTP_PKT_MAX_LEN];
	ntp_pkt_err err;

	craft(b, 0, 4, 3, 0, 0);
	cr_assert_eq(decode_err(b, 47, &err), NTP_PKT_E_SHORT);
	cr_assert_str_eq(err.msg, "packet of 47 bytes shorter than the 48-byte header");
	cr_assert_eq(err.offset, 47u);
	cr_assert_eq(decode_err(b, 1, &err), NTP_PKT_E_SHORT);
	cr_assert_eq(decode_err(b, 0, &err), NTP_PKT_E_SHORT);
	cr_assert_eq(err.offset, 0u);
	cr_assert_eq(decode_err(NULL, 0, &err), NTP_PKT_E_SHORT);
}

Test(pkt, bad_versions)
{
	uint8_t b[NTP_PKT_MAX_LEN];
	ntp_pkt_err err;

	craft(b, 0, 0, 3, 0, 0);
	cr_assert_eq(decode_err(b, 48, &err), NTP_PKT_E_VERSION);
	cr_assert_str_eq(err.msg, "version 0 not supported (byte 0 = 0x03)");
	cr_assert_eq(err.offset, 0u);
	for (unsigned vn = 5; vn <= 7; vn++) {
		b[0] = (uint8_t)(vn << 3 | 3);
		cr_assert_eq(decode_err(b, 48, &err), NTP_PKT_E_VERSION, "v%u", vn);
	}
	/* Checked before the mode: a version 0 control packet is refused too. */
	b[0] = 0x06;
	cr_assert_eq(decode_err(b, 12, &err), NTP_PKT_E_VERSION);
}

Test(pkt, extension_length_not_multiple_of_4)
{
	uint8_t b[NTP_PKT_MAX_LEN];
	size_t n = craft(b, 0, 4, 3, 0, 0);
	ntp_pkt_err err;

	n += craft_ext(b + n, 1, 28);
	b[51] = 3;
	cr_assert_eq(decode_err(b, n, &err), NTP_PKT_E_EXT_LEN);
	cr_assert_str_eq(err.msg, "extension field length 3 not a multiple of 4 at offset 48");
	cr_assert_eq(err.offset, 48u);
	b[51] = 30;
	cr_assert_eq(decode_err(b, n, &err), NTP_PKT_E_EXT_LEN);
}

Test(pkt, extension_length_below_16)
{
	uint8_t b[NTP_PKT_MAX_LEN];
	size_t n = craft(b, 0, 4, 3, 0, 0);
	ntp_pkt_err err;

	n += craft_ext(b + n, 1, 28);
	for (unsigned l = 0; l < 16; l += 4) {
		b[51] = (uint8_t)l;
		cr_assert_eq(decode_err(b, n, &err), NTP_PKT_E_EXT_LEN, "length %u", l);
		cr_assert_eq(err.offset, 48u);
		cr_assert(strstr(err.msg, "minimum") != NULL, "%s", err.msg);
	}
}

Test(pkt, extension_past_end)
{
	uint8_t b[NTP_PKT_MAX_LEN];
	size_t n = craft(b, 0, 4, 3, 0, 0);
	ntp_pkt_err err;

	n += craft_ext(b + n, 1, 16);
	n += craft_ext(b + n, 2, 28);
	b[64 + 3] = 32; /* the second field claims 4 bytes more than there are */
	cr_assert_eq(decode_err(b, n, &err), NTP_PKT_E_EXT_LEN);
	cr_assert_eq(err.offset, 64u);
	cr_assert_str_eq(err.msg, "extension field length 32 at offset 64 runs past the end of "
	                          "the 92-byte packet");
	b[64 + 2] = 0xff; /* 0xff20: far past */
	cr_assert_eq(decode_err(b, n, &err), NTP_PKT_E_EXT_LEN);
}

Test(pkt, eight_fields_ok_nine_too_many)
{
	uint8_t b[NTP_PKT_MAX_LEN];
	size_t n = craft(b, 0, 4, 3, 0, 0);
	ntp_pkt p;
	ntp_pkt_err err;

	for (int i = 0; i < 7; i++) {
		n += craft_ext(b + n, (uint16_t)i, 16);
	}
	n += craft_ext(b + n, 7, 28);
	decode_ok(b, n, &p, "8 fields");
	cr_assert_eq(p.n_ext, 8);
	assert_roundtrip(b, n, &p, "8 fields");

	n = NTP_PKT_HEADER_LEN;
	for (int i = 0; i < 8; i++) {
		n += craft_ext(b + n, (uint16_t)i, 16);
	}
	n += craft_ext(b + n, 8, 28);
	cr_assert_eq(decode_err(b, n, &err), NTP_PKT_E_EXT_COUNT);
	cr_assert_eq(err.offset, 48u + 8 * 16);
}

Test(pkt, trailer_garbage)
{
	static const size_t rest[] = {1, 2, 3, 8, 12, 16, 21, 25, 27};
	uint8_t b[NTP_PKT_MAX_LEN];
	ntp_pkt_err err;

	craft(b, 0, 4, 3, 0, 0);
	memset(b + 48, 0, 64);
	for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++) {
		cr_assert_eq(decode_err(b, 48 + rest[i], &err), NTP_PKT_E_TRAILER, "%zu bytes",
		             rest[i]);
		cr_assert_eq(err.offset, 48u);
	}
	/* After a valid field: 12 bytes that are neither field nor MAC. */
	craft_ext(b + 48, 1, 16);
	cr_assert_eq(decode_err(b, 48 + 16 + 12, &err), NTP_PKT_E_TRAILER);
	cr_assert_eq(err.offset, 64u);
}

Test(pkt, too_long)
{
	uint8_t b[NTP_PKT_MAX_LEN + 8];
	size_t n = craft(b, 0, 4, 3, 0, 0);
	ntp_pkt p;
	ntp_pkt_err err;

	n += craft_ext(b + n, 1, NTP_PKT_MAX_LEN - NTP_PKT_HEADER_LEN);
	decode_ok(b, n, &p, "1024 bytes");
	cr_assert_eq(n, (size_t)NTP_PKT_MAX_LEN);
	assert_roundtrip(b, n, &p, "1024 bytes");
	cr_assert_eq(decode_err(b, n + 4, &err), NTP_PKT_E_TOO_LONG);
	cr_assert_eq(err.offset, (size_t)NTP_PKT_MAX_LEN);
	cr_assert_str_eq(err.msg, "packet of 1028 bytes longer than the 1024-byte maximum");
}

Test(pkt, decode_bad_arguments)
{
	uint8_t b[48];
	ntp_pkt p;
	ntp_pkt_err err;

	craft(b, 0, 4, 3, 0, 0);
	cr_assert_eq(ntp_pkt_decode(b, sizeof b, NULL, &err), NTP_PKT_E_INVALID);
	cr_assert_eq(ntp_pkt_decode(NULL, 48, &p, &err), NTP_PKT_E_INVALID);
	cr_assert_eq(ntp_pkt_decode(b, 47, &p, NULL), NTP_PKT_E_SHORT);
	cr_assert_eq(ntp_pkt_decode(b, sizeof b, &p, NULL), NTP_PKT_OK);
}

/* ---- timestamps across the 2036 era rollover ---- */

Test(pkt, era_rollover_timestamps)
{
	uint8_t b[NTP_PKT_MAX_LEN];
	size_t n = craft(b, 0, 4, 4, 2, 0x0a000001u);
	/* 2036-02-07 06:28:16 UTC is era 1 second 0. */
	ntp_time rollover = (NTP_ERA_SECONDS - NTP_UNIX_EPOCH_OFFSET) * NTP_NS_PER_S;
	ntp_pkt p;
	char text[64];

	memcpy(b + 24, "\xff\xff\xff\xff\x80\x00\x00\x00", 8); /* org: 0.5 s before */
	memcpy(b + 32, "\x00\x00\x00\x00\x40\x00\x00\x00", 8); /* rec: 0.25 s after */
	memcpy(b + 40, "\x00\x00\x00\x01\x00\x00\x00\x00", 8); /* xmt: 1 s after */
	decode_ok(b, n, &p, "rollover");
	cr_assert_eq(p.org, 0xffffffff80000000ull);
	cr_assert_eq(p.rec, 0x0000000040000000ull);
	cr_assert_eq(ntp_ts_sub(p.rec, p.org), (ntp_dur)3 << 30, "0.75 s across the rollover");
	cr_assert_eq(ntp_ts_to_unix_ns(p.org, rollover), rollover - NTP_NS_PER_S / 2);
	cr_assert_eq(ntp_ts_to_unix_ns(p.xmt, rollover), rollover + NTP_NS_PER_S);
	tshark_time(p.xmt, text, sizeof text);
	cr_assert_str_eq(text, "Feb  7, 2036 06:28:17.000000000 UTC");
	tshark_time(p.org, text, sizeof text);
	cr_assert_str_eq(text, "Feb  7, 2036 06:28:15.500000000 UTC");
	assert_roundtrip(b, n, &p, "rollover");
}

/* ---- encoding ---- */

static ntp_pkt
client_request(void)
{
	ntp_pkt p = {0};

	p.version = 4;
	p.mode = NTP_MODE_CLIENT;
	p.poll = 6;
	p.precision = -20;
	p.xmt = TS_B;
	return p;
}

Test(pkt, encode_buffer_too_small)
{
	ntp_pkt p = client_request();
	uint8_t b[NTP_PKT_MAX_LEN];
	size_t len = 99;

	cr_assert_eq(ntp_pkt_encode(&p, b, 47, &len), NTP_PKT_E_BUFFER);
	cr_assert_eq(len, 48u, "the size needed is reported");
	cr_assert_eq(ntp_pkt_encode(&p, NULL, 0, &len), NTP_PKT_E_BUFFER);
	cr_assert_eq(ntp_pkt_encode(&p, b, 48, &len), NTP_PKT_OK);
	cr_assert_eq(len, 48u);
	p.has_mac = true;
	p.keyid = 1;
	p.digest_len = 20;
	cr_assert_eq(ntp_pkt_encode(&p, b, 71, &len), NTP_PKT_E_BUFFER);
	cr_assert_eq(len, 72u);
	cr_assert_eq(ntp_pkt_encode(&p, b, 72, &len), NTP_PKT_OK);
	cr_assert_eq(ntp_pkt_encode(&p, b, 72, NULL), NTP_PKT_E_INVALID);
	cr_assert_eq(ntp_pkt_encode(NULL, b, 72, &len), NTP_PKT_E_INVALID);
}

Test(pkt, encode_refuses_out_of_range_fields)
{
	uint8_t b[2 * NTP_PKT_MAX_LEN];
	size_t len;
	ntp_pkt p;

#define REFUSED(mutation)                                                                          \
	do {                                                                                       \
		p = client_request();                                                              \
		mutation;                                                                          \
		cr_assert_eq(ntp_pkt_encode(&p, b, sizeof b, &len), NTP_PKT_E_INVALID, #mutation); \
	} while (0)

	REFUSED(p.leap = 4);
	REFUSED(p.version = 0);
	REFUSED(p.version = 5);
	REFUSED(p.mode = NTP_MODE_CONTROL);
	REFUSED(p.mode = NTP_MODE_PRIVATE);
	REFUSED(p.mode = 8);
	REFUSED((p.has_mac = true, p.keyid = 1, p.digest_len = 8));
	REFUSED((p.has_mac = true, p.keyid = 3, p.digest_len = 0));
	REFUSED((p.n_ext = 9));
	REFUSED((p.n_ext = 1, p.ext[0].length = 28, p.version = 3));
	REFUSED((p.n_ext = 1, p.ext[0].length = 30));
	REFUSED((p.n_ext = 1, p.ext[0].length = 12));
	REFUSED((p.n_ext = 1, p.ext[0].length = 24)); /* last field, no MAC: >= 28 */
	REFUSED((p.n_ext = 2, p.ext[0].length = 28, p.ext[1].length = 16));
	REFUSED((p.n_ext = 1, p.ext[0].length = 1000)); /* 1048 bytes */
#undef REFUSED
}

/* Fields with a NULL value go out zero-filled; the result decodes. */
Test(pkt, encode_null_extension_value)
{
	uint8_t b[NTP_PKT_MAX_LEN];
	size_t len;
	ntp_pkt p = client_request(), q;

	memset(b, 0xaa, sizeof b);
	p.n_ext = 1;
	p.ext[0] = (ntp_pkt_ext){.type = 0x0104, .length = 32, .value = NULL};
	cr_assert_eq(ntp_pkt_encode(&p, b, sizeof b, &len), NTP_PKT_OK);
	cr_assert_eq(len, 80u);
	for (size_t i = 52; i < 80; i++) {
		cr_assert_eq(b[i], 0, "byte %zu", i);
	}
	decode_ok(b, len, &q, "NULL value");
	cr_assert_eq(q.ext[0].type, 0x0104);
	cr_assert_eq(q.ext[0].length, 32);
}

/* ---- names ---- */

Test(pkt, refid_format)
{
	char t[16];

	cr_assert_str_eq(ntp_pkt_refid_format(NTP_REFID("LOCL"), 1, t, sizeof t), ".LOCL.");
	cr_assert_str_eq(ntp_pkt_refid_format(NTP_REFID("RATE"), 0, t, sizeof t), ".RATE.");
	cr_assert_str_eq(ntp_pkt_refid_format(NTP_REFID("INIT"), 0, t, sizeof t), ".INIT.");
	cr_assert_str_eq(ntp_pkt_refid_format(NTP_REFID("GPS\0"), 1, t, sizeof t), ".GPS.");
	cr_assert_str_eq(ntp_pkt_refid_format(NTP_REFID("FB  "), 1, t, sizeof t), ".FB  .");
	cr_assert_str_eq(ntp_pkt_refid_format(0, 0, t, sizeof t), "..");
	/* Unprintable, or text after a NUL: hex. */
	cr_assert_str_eq(ntp_pkt_refid_format(0x7f7f0100u, 1, t, sizeof t), "0x7f7f0100");
	cr_assert_str_eq(ntp_pkt_refid_format(NTP_REFID("A\0BC"), 1, t, sizeof t), "0x41004243");
	cr_assert_str_eq(ntp_pkt_refid_format(0x4142430au, 0, t, sizeof t), "0x4142430a");
	/* Stratum 2 and up (16 too, as ntpd's refid_str()): an IPv4 address. */
	cr_assert_str_eq(ntp_pkt_refid_format(0xc0000201u, 2, t, sizeof t), "192.0.2.1");
	cr_assert_str_eq(ntp_pkt_refid_format(0xffffffffu, 15, t, sizeof t), "255.255.255.255");
	cr_assert_str_eq(ntp_pkt_refid_format(NTP_REFID("INIT"), 16, t, sizeof t), "73.78.73.84");
	/* Short buffers are cut, never overrun. */
	memset(t, 'x', sizeof t);
	cr_assert_str_eq(ntp_pkt_refid_format(0xc0000201u, 2, t, 4), "192");
	cr_assert_eq(t[4], 'x');
	t[0] = 'x';
	cr_assert_eq(ntp_pkt_refid_format(0xc0000201u, 2, t, 0), t);
	cr_assert_eq(t[0], 'x');
	cr_assert_null(ntp_pkt_refid_format(1, 2, NULL, 16));
}

Test(pkt, mode_and_leap_names)
{
	cr_assert_str_eq(ntp_pkt_mode_name(NTP_MODE_UNSPEC), "unspecified");
	cr_assert_str_eq(ntp_pkt_mode_name(NTP_MODE_ACTIVE), "symmetric active");
	cr_assert_str_eq(ntp_pkt_mode_name(NTP_MODE_PASSIVE), "symmetric passive");
	cr_assert_str_eq(ntp_pkt_mode_name(NTP_MODE_CLIENT), "client");
	cr_assert_str_eq(ntp_pkt_mode_name(NTP_MODE_SERVER), "server");
	cr_assert_str_eq(ntp_pkt_mode_name(NTP_MODE_BROADCAST), "broadcast");
	cr_assert_str_eq(ntp_pkt_mode_name(NTP_MODE_CONTROL), "control");
	cr_assert_str_eq(ntp_pkt_mode_name(NTP_MODE_PRIVATE), "private");
	cr_assert_str_eq(ntp_pkt_mode_name(8), "invalid");
	cr_assert_str_eq(ntp_pkt_mode_name(-1), "invalid");
	cr_assert_str_eq(ntp_pkt_leap_name(NTP_LEAP_NONE), "leap_none");
	cr_assert_str_eq(ntp_pkt_leap_name(NTP_LEAP_ADD), "leap_add_sec");
	cr_assert_str_eq(ntp_pkt_leap_name(NTP_LEAP_DEL), "leap_del_sec");
	cr_assert_str_eq(ntp_pkt_leap_name(NTP_LEAP_NOTSYNC), "leap_alarm");
	cr_assert_str_eq(ntp_pkt_leap_name(4), "invalid");
	cr_assert_str_eq(ntp_pkt_leap_name(-1), "invalid");
}
