/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_leap: the IERS/NIST leap-seconds.list parser and the leap table
 * queries.  See ntp_leap.h for the format.
 */
#include "ntp_leap.h"

#include <inttypes.h>
#include <nettle/sha1.h>
#include <stdio.h>
#include <string.h>

#include "ntp_time.h"

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

#define HASH_WORDS   5      /* #h: five 32-bit words of SHA-1 (NIST) */
#define HASH_HEX_MAX 8      /* hex digits of one word */
#define NUM_DIGITS   15     /* decimal digits of a number we accept (ours; < 2^53) */
#define TAI_UTC_MAX  100000 /* s, a sanity bound on TAI - UTC (ours; 37 in 2017) */
#define TAI_UTC_1972 10     /* s, TAI - UTC when leap seconds began (1972-01-01, IERS) */
#define QUOTE_MAX    32     /* bytes of a quoted word in a message */
/* s, NTP seconds we accept: two eras, to 2172 (ours: ns since 1970 of any
 * such time fit int64_t, and scenarios end by 2150) */
#define NTP_SECONDS_MAX (2 * NTP_ERA_SECONDS)

typedef struct parser {
	ntp_leap_table *t;
	int lineno;
	struct sha1_ctx sha;
	uint32_t want[HASH_WORDS]; /* the #h words */
	int hash_line, hash_col;   /* where #h was; 0 = none */
	bool have_updated;
} parser;

/* A word of a line: [p, p + len), at 1-based column col. */
typedef struct word {
	const char *p;
	size_t len;
	int col;
} word;

static void diag(parser *ps, int severity, int col, const char *fmt, ...) PRINTF_LIKE(4, 5);

static void
diag(parser *ps, int severity, int col, const char *fmt, ...)
{
	ntp_leap_table *t = ps->t;
	va_list ap;

	va_start(ap, fmt);
	ntp_conf_diag_add(t->diags, &t->n_diags, &t->n_errors, &t->n_warnings, severity, ps->lineno,
	                  col, NULL, fmt, ap);
	va_end(ap);
}

/* The word printable for a message (ntp_conf_quote). */
static const char *
quote(const word *w, char buf[QUOTE_MAX + 4])
{
	return ntp_conf_quote(w->p, w->len, QUOTE_MAX, buf);
}

static bool
is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* The next blank-separated word of [*p, end) into *w; false at the end. */
static bool
next_word(const char *line, const char **p, const char *end, word *w)
{
	while (*p < end && is_blank(**p)) {
		(*p)++;
	}
	if (*p >= end) {
		return false;
	}
	w->p = *p;
	while (*p < end && !is_blank(**p)) {
		(*p)++;
	}
	w->len = (size_t)(*p - w->p);
	w->col = (int)(w->p - line) + 1;
	return true;
}

/* Feed the decimal digits of [p, end) to the hash (NIST: only the digits). */
static void
hash_digits(parser *ps, const char *p, const char *end)
{
	for (; p < end; p++) {
		if (*p >= '0' && *p <= '9') {
			sha1_update(&ps->sha, 1, (const uint8_t *)p);
		}
	}
}

/* A decimal number of at most NUM_DIGITS digits. */
static bool
parse_decimal(const word *w, int64_t *out)
{
	int64_t v = 0;

	if (w->len == 0 || w->len > NUM_DIGITS) {
		return false;
	}
	for (size_t i = 0; i < w->len; i++) {
		if (w->p[i] < '0' || w->p[i] > '9') {
			return false;
		}
		v = v * 10 + (w->p[i] - '0');
	}
	*out = v;
	return true;
}

/* One #h word: 1..8 hex digits (NIST drops leading zeros). */
static bool
parse_hex_word(const word *w, uint32_t *out)
{
	uint32_t v = 0;

	if (w->len == 0 || w->len > HASH_HEX_MAX) {
		return false;
	}
	for (size_t i = 0; i < w->len; i++) {
		int h = ntp_conf_hex_digit(w->p[i]);
		if (h < 0) {
			return false;
		}
		v = v << 4 | (uint32_t)h;
	}
	*out = v;
	return true;
}

/* The NTP seconds of a #$ / #@ line (after the marker), hashed; POSIX s out. */
static bool
time_line(parser *ps, const char *line, const char *p, const char *end, const char *what,
          int64_t *out)
{
	char qb[QUOTE_MAX + 4];
	word w, extra;
	int64_t ntp;

	hash_digits(ps, p, end);
	if (!next_word(line, &p, end, &w)) {
		diag(ps, NTP_CONF_ERROR, 1, "'%s' line without a time (NTP seconds)", what);
		return false;
	}
	if (!parse_decimal(&w, &ntp) || ntp >= NTP_SECONDS_MAX) {
		diag(ps, NTP_CONF_ERROR, w.col,
		     "'%s' needs NTP seconds (below %" PRId64 ", 2172), not '%s'", what,
		     NTP_SECONDS_MAX, quote(&w, qb));
		return false;
	}
	if (next_word(line, &p, end, &extra)) {
		diag(ps, NTP_CONF_ERROR, extra.col, "unexpected '%s' after the '%s' time",
		     quote(&extra, qb), what);
		return false;
	}
	*out = ntp - NTP_UNIX_EPOCH_OFFSET;
	return true;
}

static void
hash_line(parser *ps, const char *line, const char *p, const char *end)
{
	char qb[QUOTE_MAX + 4];
	word w;
	size_t n = 0;

	if (ps->hash_line != 0) {
		diag(ps, NTP_CONF_ERROR, 1, "second '#h' line (the first is line %d)",
		     ps->hash_line);
		return;
	}
	ps->hash_line = ps->lineno;
	ps->hash_col = 1;
	while (next_word(line, &p, end, &w)) {
		if (n == HASH_WORDS || !parse_hex_word(&w, &ps->want[n])) {
			diag(ps, NTP_CONF_ERROR, w.col,
			     "malformed hash: '%s' (expected %d words of up to %d hex digits)",
			     quote(&w, qb), HASH_WORDS, HASH_HEX_MAX);
			ps->t->hash = NTP_LEAP_HASH_BAD;
			return;
		}
		if (n == 0) {
			ps->hash_col = w.col;
		}
		n++;
	}
	if (n != HASH_WORDS) {
		diag(ps, NTP_CONF_ERROR, ps->hash_col, "malformed hash: %zu words, expected %d", n,
		     HASH_WORDS);
		ps->t->hash = NTP_LEAP_HASH_BAD;
	}
}

static void
special_line(parser *ps, const char *line, const char *end)
{
	ntp_leap_table *t = ps->t;
	int64_t v;

	if (end - line < 2) {
		return;
	}
	switch (line[1]) {
	case '$':
		if (ps->have_updated) {
			diag(ps, NTP_CONF_ERROR, 1, "second '#$' line");
		} else if (time_line(ps, line, line + 2, end, "#$", &v)) {
			t->updated = v;
			ps->have_updated = true;
		}
		break;
	case '@':
		if (t->have_expiry) {
			diag(ps, NTP_CONF_ERROR, 1, "second '#@' line");
		} else if (time_line(ps, line, line + 2, end, "#@", &v)) {
			t->expires = v;
			t->have_expiry = true;
		}
		break;
	case 'h':
		hash_line(ps, line, line + 2, end);
		break;
	default:
		break; /* a comment */
	}
}

/* The checks of a new entry against the one before it; its step out. */
static bool
entry_follows(parser *ps, const word *tw, int64_t when, int64_t tai, int8_t *step)
{
	const ntp_leap_table *t = ps->t;

	*step = 0;
	if (t->n == 0) {
		return true;
	}
	const ntp_leap_entry *prev = &t->e[t->n - 1];
	if (when <= prev->when) {
		diag(ps, NTP_CONF_ERROR, tw->col, "time is not after the previous entry (line %d)",
		     prev->line);
		return false;
	}
	if (tai - prev->tai_utc != 1 && tai - prev->tai_utc != -1) {
		diag(ps, NTP_CONF_ERROR, tw->col,
		     "TAI-UTC goes from %" PRId32 " to %" PRId64
		     " s; a leap second changes it by 1 s",
		     prev->tai_utc, tai);
		return false;
	}
	*step = (int8_t)(tai - prev->tai_utc);
	return true;
}

static void
data_line(parser *ps, const char *line, const char *end)
{
	const char *hash = memchr(line, '#', (size_t)(end - line));
	const char *stop = hash != NULL ? hash : end, *p = line;
	char qb[QUOTE_MAX + 4];
	word tw, ow, extra;
	int64_t ntp, tai;
	int8_t step;

	if (!next_word(line, &p, stop, &tw)) {
		return; /* blank, or only a comment */
	}
	hash_digits(ps, line, stop);
	if (!parse_decimal(&tw, &ntp) || ntp >= NTP_SECONDS_MAX) {
		diag(ps, NTP_CONF_ERROR, tw.col,
		     "expected NTP seconds (below %" PRId64 ", 2172), not '%s'", NTP_SECONDS_MAX,
		     quote(&tw, qb));
		return;
	}
	if (!next_word(line, &p, stop, &ow)) {
		diag(ps, NTP_CONF_ERROR, tw.col, "NTP seconds without TAI-UTC");
		return;
	}
	if (!parse_decimal(&ow, &tai) || tai > TAI_UTC_MAX) {
		diag(ps, NTP_CONF_ERROR, ow.col, "expected TAI-UTC seconds, not '%s'",
		     quote(&ow, qb));
		return;
	}
	if (next_word(line, &p, stop, &extra)) {
		diag(ps, NTP_CONF_ERROR, extra.col, "unexpected '%s' after TAI-UTC",
		     quote(&extra, qb));
		return;
	}
	if (ntp % NTP_S_PER_DAY != 0) {
		diag(ps, NTP_CONF_ERROR, tw.col, "%" PRId64 " is not 00:00:00 UTC of a day", ntp);
		return;
	}
	int64_t when = ntp - NTP_UNIX_EPOCH_OFFSET;
	if (!entry_follows(ps, &tw, when, tai, &step)) {
		return;
	}
	if (ps->t->n >= NTP_LEAP_MAX_ENTRIES) {
		diag(ps, NTP_CONF_ERROR, tw.col, "more than %d entries", NTP_LEAP_MAX_ENTRIES);
		return;
	}
	ps->t->e[ps->t->n++] = (ntp_leap_entry){
	        .when = when, .tai_utc = (int32_t)tai, .step = step, .line = ps->lineno};
}

/* The hash of the data against the #h line (NIST's check). */
static void
check_hash(parser *ps)
{
	uint8_t digest[SHA1_DIGEST_SIZE];
	char got[2 * SHA1_DIGEST_SIZE + 1];
	bool same = true;

	if (ps->hash_line == 0) {
		ps->lineno = 1;
		diag(ps, NTP_CONF_WARNING, 1, "no '#h' hash line: the data cannot be checked");
		return;
	}
	if (ps->t->hash == NTP_LEAP_HASH_BAD) {
		return; /* malformed: already reported */
	}
	sha1_digest(&ps->sha, sizeof digest, digest);
	for (size_t i = 0; i < HASH_WORDS; i++) {
		uint32_t w = (uint32_t)digest[4 * i] << 24 | (uint32_t)digest[4 * i + 1] << 16 |
		             (uint32_t)digest[4 * i + 2] << 8 | digest[4 * i + 3];
		same = same && w == ps->want[i];
	}
	if (same) {
		ps->t->hash = NTP_LEAP_HASH_GOOD;
		return;
	}
	for (size_t i = 0; i < sizeof digest; i++) {
		snprintf(got + 2 * i, 3, "%02x", digest[i]);
	}
	ps->t->hash = NTP_LEAP_HASH_BAD;
	ps->lineno = ps->hash_line;
	diag(ps, NTP_CONF_ERROR, ps->hash_col,
	     "hash mismatch: the data hash to %s (the file was altered or damaged)", got);
}

void
ntp_leap_init(ntp_leap_table *t, const char *filename)
{
	memset(t, 0, sizeof *t);
	snprintf(t->filename, sizeof t->filename, "%s",
	         filename != NULL ? filename : "leap-seconds.list");
	t->updated = INT64_MIN;
	t->expires = INT64_MAX;
}

unsigned
ntp_leap_parse(ntp_leap_table *t, const char *text, size_t len)
{
	parser ps;

	memset(&ps, 0, sizeof ps);
	ps.t = t;
	sha1_init(&ps.sha);
	t->expires = INT64_MIN;
	t->have_expiry = false;
	const char *p = text != NULL ? text : "", *end = p + (text != NULL ? len : 0);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;
		if (ps.lineno < INT32_MAX) {
			ps.lineno++;
		}
		if (*p == '#') {
			special_line(&ps, p, eol);
		} else {
			data_line(&ps, p, eol);
		}
		p = nl != NULL ? nl + 1 : end;
	}
	if (t->n == 0) {
		ps.lineno = ps.lineno > 0 ? ps.lineno : 1;
		diag(&ps, NTP_CONF_ERROR, 1, "no data lines ('NTP-seconds TAI-UTC')");
	}
	if (!t->have_expiry) {
		ps.lineno = 1;
		diag(&ps, NTP_CONF_WARNING, 1, "no '#@' expiry line: the file counts as expired");
	}
	check_hash(&ps);
	return t->n_errors;
}

char *
ntp_leap_diag_format(const ntp_leap_table *t, const ntp_conf_diag *d, char *buf, size_t size)
{
	return ntp_conf_diag_format_file(t->filename, d, buf, size);
}

bool
ntp_leap_add(ntp_leap_table *t, int64_t when, int step)
{
	if (when % NTP_S_PER_DAY != 0 || (step != 1 && step != -1) ||
	    t->n >= NTP_LEAP_MAX_ENTRIES || (t->n > 0 && when <= t->e[t->n - 1].when)) {
		return false;
	}
	int32_t before = t->n > 0 ? t->e[t->n - 1].tai_utc : TAI_UTC_1972;
	t->e[t->n++] =
	        (ntp_leap_entry){.when = when, .tai_utc = before + step, .step = (int8_t)step};
	return true;
}

bool
ntp_leap_expired(const ntp_leap_table *t, int64_t posix_s)
{
	return posix_s >= t->expires;
}

char *
ntp_leap_expiry_text(const ntp_leap_table *t, int64_t posix_s, char *buf, size_t size)
{
	if (size == 0) {
		return buf;
	}
	buf[0] = '\0';
	if (!t->have_expiry && t->expires == INT64_MIN) {
		snprintf(buf, size, "leapsecond file ('%s'): no expiry ('#@') line: expired",
		         t->filename);
	} else if (ntp_leap_expired(t, posix_s)) {
		snprintf(buf, size, "leapsecond file ('%s'): expired %" PRId64 " days ago",
		         t->filename, (posix_s - t->expires) / NTP_S_PER_DAY);
	}
	return buf;
}

bool
ntp_leap_next(const ntp_leap_table *t, int64_t posix_s, ntp_leap_entry *out)
{
	for (size_t i = 0; i < t->n; i++) {
		if (t->e[i].when > posix_s && t->e[i].step != 0) {
			*out = t->e[i];
			return true;
		}
	}
	return false;
}

int
ntp_leap_tai_utc(const ntp_leap_table *t, int64_t posix_s)
{
	int v = 0;

	for (size_t i = 0; i < t->n && t->e[i].when <= posix_s; i++) {
		v = t->e[i].tai_utc;
	}
	return v;
}

int
ntp_leap_pending(const ntp_leap_table *t, int64_t posix_s)
{
	ntp_leap_entry next;

	if (!ntp_leap_next(t, posix_s, &next) || posix_s < next.when - NTP_S_PER_DAY) {
		return 0;
	}
	return next.step;
}
