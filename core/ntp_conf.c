/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp.conf parser (ntp_conf.h; the supported subset is docs/ntp-conf.md).
 *
 * One pass over the text.  Each line is split into words (blanks separate
 * them, `#` starts a comment, a word may be "double quoted"), the first word
 * is looked up in a sorted directive table with bsearch (OpenNTPD parse.y
 * style) and the directive's handler reads the other words.  A line with an
 * error changes nothing in the config and parsing goes on with the next
 * line, so every error of a file is reported.  `fudge` lines are matched
 * with the local clocks after the last line: ntpd also applies fudge after
 * all associations exist, whatever the order of the lines.
 */
#include "ntp_conf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntp_const.h"
#include "ntp_server.h" /* the `mru` defaults and bounds */

#define WORD_MAX       255 /* bytes in one word (ours; NTP_CONF_PATH_MAX - 1) */
#define LINE_WORDS_MAX 64  /* words kept per line (ours) */
#define QUOTE_MAX      48  /* bytes of a word repeated in a message (ours) */
#define QUOTE_BUF      (QUOTE_MAX + 4)
#define HINT_DISTANCE  2   /* "did you mean": edit distance at most this (ours) */
#define KEYWORD_MAX    31  /* longest keyword the distance code compares (ours) */
#define HOSTNAME_MAX   253 /* bytes, RFC 1035 §2.3.4 (255 on the wire) */

#define VERSION_MIN            1     /* ntp.conf(5) `version`: 1..4 */
#define KEY_MIN                1     /* ntp.conf(5) `key`: 1..65535 */
#define KEY_MAX                65535 /* ntpd NTP_MAXKEY */
#define RESTRICT_PEERLIMIT_MAX 1000  /* `ippeerlimit` bound (ours; a host holds only a few) */

#define REFCLOCK_NET      127 /* 127.127.t.u is a reference clock (ntpd ISREFCLOCKADR) */
#define REFCLOCK_LOCAL    1   /* type 1 = LOCAL, ntpd refclock_conf[] */
#define LOCAL_STRATUM     5   /* NTPsec ntpd/refclock_local.c STRATUM (ntp classic: 5) */
#define CLOCK_STRATUM_MAX 15  /* ntp.conf(5) refclock `stratum`: 0..15 */
#define REFID_MAX         4   /* bytes, RFC 5905 §7.3 refid */

#define TINKER_MAX     1e9 /* s, sanity bound on tinker values (ours) */
#define ALLAN_MAX      30  /* log2 s, bound on `tinker allan` (ours; ntpd takes a uint8) */
#define FREQ_MAX_PPM   (NTP_MAXFREQ * 1e6) /* ppm, `tinker freq` bound: ntpd clamps beyond */
#define HUFFPUFF_MAX   86400.0 /* s, `tinker huffpuff` bound: 96 slots of 900 s (ours) */
#define DISPERSION_MIN 0.0     /* ppm, `tinker dispersion` bounds (ours: NTP_PHI is a rate, */
#define DISPERSION_MAX 500.0   /* ppm   no larger than the frequency tolerance) */

#define TOS_COUNT_MAX    255         /* minsane/minclock upper bound (ours; ntpd stores u_char) */
#define TOS_DIST_MIN     1e-6        /* s, maxdist must be positive (ours) */
#define TOS_DIST_MAX     1e6         /* s (ours) */
#define ORPHANWAIT_MAX   1e6         /* s (ours) */
#define DISCARD_LOG2_MAX NTP_MAXPOLL /* log2 s, as the poll exponents (ours) */
#define MRU_DEPTH_MAX    ((long)NTP_SERVER_MRU_MAX) /* entries, the largest table */
#define MRU_MEM_MAX      ((long)(NTP_SERVER_TABLE_BYTES(NTP_SERVER_MRU_MAX) / 1024)) /* KiB */
#define ANY_NUMBER       1e300 /* bound for values that are only syntax-checked */

/* A word always fits the struct's strings, so copies never truncate. */
_Static_assert(WORD_MAX < NTP_CONF_PATH_MAX && WORD_MAX < NTP_CONF_HOST_MAX, "word limit");

#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

/* A word of a line: points into the caller's text, which need not be
 * NUL-terminated. */
typedef struct conf_word {
	const char *p;
	size_t len;
	int col; /* 1-based byte column */
} conf_word;

typedef struct conf_line {
	conf_word w[LINE_WORDS_MAX];
	size_t n;
	bool overflow; /* the line had more than LINE_WORDS_MAX words */
} conf_line;

/* A `fudge` (or its effect) waiting for the end of the file. */
typedef struct pending_fudge {
	int line;
	int col;
	int unit;
	bool has_stratum;
	bool has_time1;
	int stratum;
	double time1;
} pending_fudge;

typedef struct parser {
	ntp_conf *c;
	int lineno;
	pending_fudge fudges[NTP_CONF_MAX_SERVERS];
	size_t n_fudges;
} parser;

typedef void directive_fn(parser *ps, const conf_line *l);

/* Every table below starts each entry with its name and is sorted by
 * strcmp: lookups use bsearch, hints scan the whole table. */

/* ---------------------------------------------------------------------
 * Diagnostics
 */

static void vdiag(parser *ps, int severity, int col, const char *hint, int line, const char *fmt,
                  va_list ap) PRINTF_LIKE(6, 0);
static void err(parser *ps, int col, const char *hint, const char *fmt, ...) PRINTF_LIKE(4, 5);
static void warn(parser *ps, int col, const char *hint, const char *fmt, ...) PRINTF_LIKE(4, 5);

static void
vdiag(parser *ps, int severity, int col, const char *hint, int line, const char *fmt, va_list ap)
{
	ntp_conf *c = ps->c;

	ntp_conf_diag_add(c->diags, &c->n_diags, &c->n_errors, &c->n_warnings, severity, line, col,
	                  hint, fmt, ap);
}

static void
err(parser *ps, int col, const char *hint, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(ps, NTP_CONF_ERROR, col, hint, ps->lineno, fmt, ap);
	va_end(ap);
}

static void
warn(parser *ps, int col, const char *hint, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(ps, NTP_CONF_WARNING, col, hint, ps->lineno, fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------------------
 * Words
 */

static bool
word_is(const conf_word *w, const char *s)
{
	size_t n = strlen(s);

	return w->len == n && memcmp(w->p, s, n) == 0;
}

/* NUL-terminated copy, truncated to size - 1 bytes. */
static char *
word_copy(const conf_word *w, char *buf, size_t size)
{
	size_t n = w->len < size - 1 ? w->len : size - 1;

	memcpy(buf, w->p, n);
	buf[n] = '\0';
	return buf;
}

/* The word as it may appear in a message: printable ASCII only (others
 * become '?') and at most QUOTE_MAX bytes ("..." marks a cut). */
static const char *
q(const conf_word *w, char buf[QUOTE_BUF])
{
	return ntp_conf_quote(w->p, w->len, QUOTE_MAX, buf);
}

static bool
is_blank(unsigned char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* 1-based column of byte offset off from col (saturating). */
static int
col_add(int col, size_t off)
{
	return off >= (size_t)(INT32_MAX - col) ? INT32_MAX : col + (int)off;
}

/* Control bytes (NUL included) cannot be part of a word: a NUL would cut
 * the word short in every C string it is copied into. */
static bool
check_bytes(parser *ps, const conf_word *w)
{
	for (size_t i = 0; i < w->len; i++) {
		unsigned char ch = (unsigned char)w->p[i];
		if (ch < 0x20 || ch == 0x7f) {
			err(ps, col_add(w->col, i), "only a comment may contain control characters",
			    "control byte 0x%02x in a word; line ignored", ch);
			return false;
		}
	}
	return true;
}

/* Split [p, end) into words.  Returns false (after an error) when the line
 * cannot be used. */
static bool
split_line(parser *ps, const char *p, const char *end, conf_line *l)
{
	const char *start = p;

	l->n = 0;
	l->overflow = false;
	while (p < end) {
		conf_word w;

		if (is_blank((unsigned char)*p)) {
			p++;
			continue;
		}
		if (*p == '#') {
			break;
		}
		w.col = col_add(1, (size_t)(p - start));
		if (*p == '"') {
			const char *close = memchr(p + 1, '"', (size_t)(end - p - 1));
			if (close == NULL) {
				err(ps, w.col, "close the string with '\"' on the same line",
				    "unterminated quoted string");
				return false;
			}
			w.p = p + 1;
			w.len = (size_t)(close - w.p);
			p = close + 1;
		} else {
			w.p = p;
			while (p < end && !is_blank((unsigned char)*p) && *p != '#') {
				p++;
			}
			w.len = (size_t)(p - w.p);
		}
		if (!check_bytes(ps, &w)) {
			return false;
		}
		if (w.len > WORD_MAX) {
			char qb[QUOTE_BUF];
			err(ps, w.col, NULL,
			    "word '%s' is %zu bytes long, more than %d; line ignored", q(&w, qb),
			    w.len, WORD_MAX);
			return false;
		}
		if (l->n == LINE_WORDS_MAX) {
			l->overflow = true;
			continue;
		}
		l->w[l->n++] = w;
	}
	return true;
}

/* ---------------------------------------------------------------------
 * Tables and hints
 */

static const char *
entry_name(const void *table, size_t i, size_t stride)
{
	return *(const char *const *)(const void *)((const char *)table + i * stride);
}

static int
compare_name(const void *key, const void *entry)
{
	return strcmp(key, *(const char *const *)entry);
}

static const void *
lookup(const conf_word *w, const void *table, size_t n, size_t stride)
{
	char key[WORD_MAX + 1];

	return bsearch(word_copy(w, key, sizeof key), table, n, stride, compare_name);
}

#define LOOKUP(w, table)                                                                           \
	lookup((w), (table), sizeof(table) / sizeof((table)[0]), sizeof((table)[0]))

/* Optimal string alignment distance (Levenshtein plus transpositions, so
 * "iburts" is one edit from "iburst"). */
static size_t
edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t rows[3][KEYWORD_MAX + HINT_DISTANCE + 2];
	size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];

	for (size_t j = 0; j <= lb; j++) {
		prev[j] = j;
	}
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = prev[j] + 1;
			if (cur[j - 1] + 1 < best) {
				best = cur[j - 1] + 1;
			}
			if (prev[j - 1] + cost < best) {
				best = prev[j - 1] + cost;
			}
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < best) {
				best = prev2[j - 2] + 1;
			}
			cur[j] = best;
		}
		size_t *t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb];
}

/* "did you mean 'X'?" for the closest table name, or NULL. */
static const char *
suggest(const conf_word *w, const void *table, size_t n, size_t stride, char *buf, size_t size)
{
	const char *best = NULL;
	size_t best_d = HINT_DISTANCE + 1;

	for (size_t i = 0; i < n; i++) {
		const char *name = entry_name(table, i, stride);
		size_t ln = strlen(name);
		if (ln > KEYWORD_MAX || w->len > ln + HINT_DISTANCE ||
		    ln > w->len + HINT_DISTANCE) {
			continue;
		}
		size_t d = edit_distance(w->p, w->len, name, ln);
		if (d < best_d) {
			best_d = d;
			best = name;
		}
	}
	if (best == NULL) {
		return NULL;
	}
	snprintf(buf, size, "did you mean '%s'?", best);
	return buf;
}

#define SUGGEST(w, table, buf)                                                                     \
	suggest((w), (table), sizeof(table) / sizeof((table)[0]), sizeof((table)[0]), (buf),       \
	        sizeof(buf))

/* ---------------------------------------------------------------------
 * Numbers
 */

enum num_result { NUM_OK, NUM_SYNTAX, NUM_RANGE };

static enum num_result
parse_long(const conf_word *w, long lo, long hi, long *out)
{
	size_t i = 0;
	bool neg = false;
	long v = 0;

	if (i < w->len && (w->p[i] == '-' || w->p[i] == '+')) {
		neg = w->p[i] == '-';
		i++;
	}
	if (i == w->len) {
		return NUM_SYNTAX;
	}
	for (; i < w->len; i++) {
		if (w->p[i] < '0' || w->p[i] > '9') {
			return NUM_SYNTAX;
		}
		if (v > (INT32_MAX - 9) / 10) {
			return NUM_RANGE; /* far outside every range we accept */
		}
		v = v * 10 + (w->p[i] - '0');
	}
	v = neg ? -v : v;
	if (v < lo || v > hi) {
		return NUM_RANGE;
	}
	*out = v;
	return NUM_OK;
}

/* [+-]digits[.digits][e[+-]digits]: no "inf", "nan" or hex floats. */
static bool
decimal_syntax(const conf_word *w)
{
	size_t i = 0, digits = 0;

	if (i < w->len && (w->p[i] == '-' || w->p[i] == '+')) {
		i++;
	}
	for (; i < w->len && w->p[i] >= '0' && w->p[i] <= '9'; i++) {
		digits++;
	}
	if (i < w->len && w->p[i] == '.') {
		for (i++; i < w->len && w->p[i] >= '0' && w->p[i] <= '9'; i++) {
			digits++;
		}
	}
	if (digits == 0) {
		return false;
	}
	if (i < w->len && (w->p[i] == 'e' || w->p[i] == 'E')) {
		size_t exp_digits = 0;
		i++;
		if (i < w->len && (w->p[i] == '-' || w->p[i] == '+')) {
			i++;
		}
		for (; i < w->len && w->p[i] >= '0' && w->p[i] <= '9'; i++) {
			exp_digits++;
		}
		if (exp_digits == 0) {
			return false;
		}
	}
	return i == w->len;
}

static enum num_result
parse_double(const conf_word *w, double lo, double hi, double *out)
{
	char buf[WORD_MAX + 1];
	double v;

	if (!decimal_syntax(w)) {
		return NUM_SYNTAX;
	}
	/* strtod rounds correctly; it reads '.' as long as LC_NUMERIC is "C",
	 * which holds unless the program calls setlocale. */
	v = strtod(word_copy(w, buf, sizeof buf), NULL);
	if (!isfinite(v) || v < lo || v > hi) {
		return NUM_RANGE;
	}
	*out = v;
	return NUM_OK;
}

/* The argument of the option at l->w[*i]; advances *i.  NULL (after an
 * error) when the line ends first. */
static const conf_word *
take_arg(parser *ps, const conf_line *l, size_t *i, const char *what)
{
	char qb[QUOTE_BUF];

	if (*i + 1 >= l->n) {
		err(ps, l->w[*i].col, NULL, "'%s' needs %s", q(&l->w[*i], qb), what);
		return NULL;
	}
	(*i)++;
	return &l->w[*i];
}

static bool
take_long(parser *ps, const conf_line *l, size_t *i, long lo, long hi, long *out)
{
	const conf_word *opt = &l->w[*i];
	const conf_word *arg = take_arg(ps, l, i, "an integer");
	char qo[QUOTE_BUF], qa[QUOTE_BUF];

	if (arg == NULL) {
		return false;
	}
	switch (parse_long(arg, lo, hi, out)) {
	case NUM_OK:
		return true;
	case NUM_SYNTAX:
		err(ps, arg->col, NULL, "'%s' needs an integer, not '%s'", q(opt, qo), q(arg, qa));
		return false;
	case NUM_RANGE:
	default:
		err(ps, arg->col, NULL, "%s %s is out of range [%ld, %ld]", q(opt, qo), q(arg, qa),
		    lo, hi);
		return false;
	}
}

static bool
take_double(parser *ps, const conf_line *l, size_t *i, double lo, double hi, double *out)
{
	const conf_word *opt = &l->w[*i];
	const conf_word *arg = take_arg(ps, l, i, "a number");
	char qo[QUOTE_BUF], qa[QUOTE_BUF];

	if (arg == NULL) {
		return false;
	}
	switch (parse_double(arg, lo, hi, out)) {
	case NUM_OK:
		return true;
	case NUM_SYNTAX:
		err(ps, arg->col, NULL, "'%s' needs a number, not '%s'", q(opt, qo), q(arg, qa));
		return false;
	case NUM_RANGE:
	default:
		err(ps, arg->col, NULL, "%s %s is out of range [%g, %g]", q(opt, qo), q(arg, qa),
		    lo, hi);
		return false;
	}
}

/* ---------------------------------------------------------------------
 * Addresses
 */

static bool
is_digits_and_dots(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s != '.' && (*s < '0' || *s > '9')) {
			return false;
		}
	}
	return true;
}

/* RFC 1123 host names, plus '_' which real zones contain. */
static bool
valid_hostname(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > HOSTNAME_MAX || s[0] == '.' || s[0] == '-' || strstr(s, "..") != NULL) {
		return false;
	}
	for (; *s != '\0'; s++) {
		char ch = *s;
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		             (ch >= '0' && ch <= '9');
		if (!alnum && ch != '-' && ch != '.' && ch != '_') {
			return false;
		}
	}
	return true;
}

/* 127.127.t.u: fills type and unit. */
static bool
refclock_addr(const char *s, int *type, int *unit)
{
	ntp_addr a;

	if (!ntp_addr_parse(s, &a) || a.family != NTP_AF_INET || a.a[0] != REFCLOCK_NET ||
	    a.a[1] != REFCLOCK_NET) {
		return false;
	}
	*type = a.a[2];
	*unit = a.a[3];
	return true;
}

/* A server or restrict address: numeric (IPv6 may be [bracketed]) fills
 * *out; a host name leaves out->family NTP_AF_NONE.  False after an error. */
static bool
parse_address(parser *ps, const conf_word *w, const char *s, ntp_addr *out)
{
	char qb[QUOTE_BUF];
	size_t n = strlen(s);

	memset(out, 0, sizeof *out);
	if (s[0] == '[') {
		char inner[WORD_MAX + 1];
		if (n < 2 || s[n - 1] != ']') {
			err(ps, w->col, NULL, "'%s': missing ']'", q(w, qb));
			return false;
		}
		memcpy(inner, s + 1, n - 2);
		inner[n - 2] = '\0';
		if (strchr(inner, '%') != NULL) {
			err(ps, w->col, "give the address without %interface",
			    "'%s': scoped IPv6 addresses are not supported", q(w, qb));
			return false;
		}
		if (!ntp_addr_parse(inner, out) || out->family != NTP_AF_INET6) {
			err(ps, w->col, NULL, "'%s' is not a valid IPv6 address", q(w, qb));
			return false;
		}
		return true;
	}
	if (ntp_addr_parse(s, out)) {
		return true;
	}
	if (strchr(s, '%') != NULL && strchr(s, ':') != NULL) {
		err(ps, w->col, "give the address without %interface",
		    "'%s': scoped IPv6 addresses are not supported", q(w, qb));
		return false;
	}
	if (strchr(s, ':') != NULL) {
		err(ps, w->col, NULL, "'%s' is not a valid IPv6 address", q(w, qb));
		return false;
	}
	if (is_digits_and_dots(s)) {
		err(ps, w->col, "write four decimal octets, e.g. 192.168.163.131",
		    "'%s' is not a valid IPv4 address", q(w, qb));
		return false;
	}
	if (!valid_hostname(s)) {
		err(ps, w->col, NULL, "'%s' is neither an address nor a valid host name", q(w, qb));
		return false;
	}
	return true;
}

/* `-4` / `-6` before an address: NTP_AF_INET(6), or NTP_AF_NONE. */
static int
family_flag(const conf_line *l, size_t *i)
{
	if (*i < l->n && word_is(&l->w[*i], "-4")) {
		(*i)++;
		return NTP_AF_INET;
	}
	if (*i < l->n && word_is(&l->w[*i], "-6")) {
		(*i)++;
		return NTP_AF_INET6;
	}
	return NTP_AF_NONE;
}

/* False (after an error) when a numeric address contradicts -4/-6. */
static bool
check_family(parser *ps, const conf_word *famw, int family, const conf_word *w, const ntp_addr *a)
{
	char qf[QUOTE_BUF], qa[QUOTE_BUF];

	if (family == NTP_AF_NONE || a->family == NTP_AF_NONE || a->family == family) {
		return true;
	}
	err(ps, famw->col, NULL, "'%s' contradicts the %s address '%s'", q(famw, qf),
	    a->family == NTP_AF_INET ? "IPv4" : "IPv6", q(w, qa));
	return false;
}

/* ---------------------------------------------------------------------
 * server, pool, peer
 */

enum server_opt_kind {
	SOPT_FLAG,
	SOPT_MINPOLL,
	SOPT_MAXPOLL,
	SOPT_KEY,
	SOPT_VERSION,
	SOPT_IGNORED,     /* recognised, not supported, no argument */
	SOPT_IGNORED_ARG, /* recognised, not supported, one argument */
};

typedef struct server_opt {
	const char *name;
	uint8_t kind;
	uint32_t flag;
} server_opt;

/* ntp.conf(5) association options; NTPsec keyword-gen.c; NTS options of
 * NTPsec 1.2. */
static const server_opt server_opts[] = {
        {"aead", SOPT_IGNORED_ARG, 0},
        {"ask", SOPT_IGNORED_ARG, 0},
        {"autokey", SOPT_IGNORED, 0},
        {"bias", SOPT_IGNORED_ARG, 0},
        {"burst", SOPT_FLAG, NTP_CONF_F_BURST},
        {"ca", SOPT_IGNORED_ARG, 0},
        {"iburst", SOPT_FLAG, NTP_CONF_F_IBURST},
        {"ident", SOPT_IGNORED_ARG, 0},
        {"key", SOPT_KEY, 0},
        {"maxpoll", SOPT_MAXPOLL, 0},
        {"minpoll", SOPT_MINPOLL, 0},
        {"mode", SOPT_IGNORED_ARG, 0},
        {"noselect", SOPT_FLAG, NTP_CONF_F_NOSELECT},
        {"noval", SOPT_IGNORED, 0},
        {"nts", SOPT_IGNORED, 0},
        {"preempt", SOPT_IGNORED, 0},
        {"prefer", SOPT_FLAG, NTP_CONF_F_PREFER},
        {"require", SOPT_IGNORED_ARG, 0},
        {"true", SOPT_FLAG, NTP_CONF_F_TRUE},
        {"ttl", SOPT_IGNORED_ARG, 0},
        {"version", SOPT_VERSION, 0},
        {"xleave", SOPT_IGNORED, 0},
};

static const char *const kind_names[] = {"server", "pool", "peer", "local clock"};

const char *
ntp_conf_flag_name(uint32_t bit)
{
	for (size_t i = 0; bit != 0 && i < sizeof server_opts / sizeof server_opts[0]; i++) {
		if (server_opts[i].kind == SOPT_FLAG && server_opts[i].flag == bit) {
			return server_opts[i].name;
		}
	}
	return "?";
}

static void
init_server(ntp_conf_server *s, uint8_t kind, int line)
{
	memset(s, 0, sizeof *s);
	s->kind = kind;
	s->minpoll = NTP_MINDPOLL;
	s->maxpoll = NTP_MAXDPOLL;
	s->version = NTP_VERSION_CUR;
	s->line = line;
}

/* Poll limits as ntpd settles them (NTPsec ntp_peer.c newpeer): a reference
 * clock's maxpoll defaults to its minpoll; an explicit minpoll above the
 * default maxpoll is lowered to it. */
static bool
settle_polls(parser *ps, ntp_conf_server *s, const conf_word *minw, const conf_word *maxw)
{
	if (s->kind == NTP_CONF_LOCAL_CLOCK && maxw == NULL) {
		s->maxpoll = s->minpoll;
	}
	if (s->minpoll <= s->maxpoll) {
		return true;
	}
	if (minw != NULL && maxw != NULL) {
		err(ps, minw->col, NULL, "minpoll %d is greater than maxpoll %d", s->minpoll,
		    s->maxpoll);
		return false;
	}
	if (minw != NULL) {
		char hint[64];
		snprintf(hint, sizeof hint, "add 'maxpoll %d'", s->minpoll);
		warn(ps, minw->col, hint,
		     "minpoll %d is above the default maxpoll %d; ntpd lowers minpoll to %d",
		     s->minpoll, s->maxpoll, s->maxpoll);
	}
	s->minpoll = s->maxpoll;
	return true;
}

static bool
same_association(const ntp_conf_server *a, const ntp_conf_server *b)
{
	if (a->kind == NTP_CONF_LOCAL_CLOCK || b->kind == NTP_CONF_LOCAL_CLOCK) {
		return a->kind == b->kind && a->unit == b->unit;
	}
	if (a->addr.family != NTP_AF_NONE || b->addr.family != NTP_AF_NONE) {
		return ntp_addr_same_host(&a->addr, &b->addr);
	}
	return strcmp(a->host, b->host) == 0;
}

/* Append s unless it duplicates an earlier association (ntpd keeps the
 * first: NTPsec newpeer finds the existing peer and adds nothing). */
static void
add_server(parser *ps, const ntp_conf_server *s, int col)
{
	ntp_conf *c = ps->c;

	for (size_t i = 0; i < c->n_servers; i++) {
		if (same_association(&c->servers[i], s)) {
			warn(ps, col, "ntpd keeps only the first association to a source",
			     "duplicate association for '%s' (first on line %d); line ignored",
			     s->host, c->servers[i].line);
			return;
		}
	}
	if (c->n_servers >= NTP_CONF_MAX_SERVERS) {
		err(ps, col, NULL, "more than %d associations", NTP_CONF_MAX_SERVERS);
		return;
	}
	c->servers[c->n_servers++] = *s;
}

/* Options after the address, from l->w[i]. */
static bool
server_options(parser *ps, const conf_line *l, size_t i, ntp_conf_server *s)
{
	const conf_word *minw = NULL, *maxw = NULL;
	char qb[QUOTE_BUF], qd[QUOTE_BUF], hint[64];
	long v;

	for (; i < l->n; i++) {
		const conf_word *w = &l->w[i];
		const server_opt *o = LOOKUP(w, server_opts);
		if (o == NULL) {
			err(ps, w->col, SUGGEST(w, server_opts, hint),
			    "unknown option '%s' for '%s'", q(w, qb), q(&l->w[0], qd));
			return false;
		}
		switch (o->kind) {
		case SOPT_FLAG:
			s->flags |= o->flag;
			break;
		case SOPT_MINPOLL:
		case SOPT_MAXPOLL:
			if (!take_long(ps, l, &i, NTP_POLL_FLOOR, NTP_MAXPOLL, &v)) {
				return false;
			}
			if (o->kind == SOPT_MINPOLL) {
				s->minpoll = (int8_t)v;
				minw = w;
			} else {
				s->maxpoll = (int8_t)v;
				maxw = w;
			}
			break;
		case SOPT_KEY:
			if (!take_long(ps, l, &i, KEY_MIN, KEY_MAX, &v)) {
				return false;
			}
			s->key = (uint32_t)v;
			break;
		case SOPT_VERSION:
			if (!take_long(ps, l, &i, VERSION_MIN, NTP_VERSION_CUR, &v)) {
				return false;
			}
			s->version = (uint8_t)v;
			break;
		case SOPT_IGNORED_ARG:
			if (take_arg(ps, l, &i, "a value") == NULL) {
				return false;
			}
			/* fall through */
		case SOPT_IGNORED:
		default:
			warn(ps, w->col, NULL, "option '%s' is not supported; ignored", o->name);
			break;
		}
	}
	return settle_polls(ps, s, minw, maxw);
}

static void
association(parser *ps, const conf_line *l, uint8_t kind)
{
	ntp_conf_server s;
	size_t i = 1;
	const conf_word *famw = i < l->n ? &l->w[i] : NULL;
	int family = family_flag(l, &i);
	int type, unit;
	char qb[QUOTE_BUF];

	if (i >= l->n) {
		err(ps, l->w[0].col, NULL, "'%s' needs an address or host name", q(&l->w[0], qb));
		return;
	}
	const conf_word *a = &l->w[i++];
	init_server(&s, kind, ps->lineno);
	word_copy(a, s.host, sizeof s.host);

	if (refclock_addr(s.host, &type, &unit)) {
		if (type != REFCLOCK_LOCAL) {
			warn(ps, a->col, "ntplab simulates only the local clock, 127.127.1.u",
			     "reference clock type %d (%s) is not supported; line ignored", type,
			     s.host);
			return;
		}
		if (kind != NTP_CONF_SERVER) {
			err(ps, l->w[0].col, "write 'server 127.127.1.u'",
			    "a reference clock needs 'server', not '%s'", kind_names[kind]);
			return;
		}
		if (family == NTP_AF_INET6) {
			err(ps, famw->col, NULL, "'-6' contradicts the reference clock %s", s.host);
			return;
		}
		s.kind = NTP_CONF_LOCAL_CLOCK;
		s.unit = unit;
		s.stratum = LOCAL_STRATUM;
	} else {
		if (!parse_address(ps, a, s.host, &s.addr) ||
		    !check_family(ps, famw, family, a, &s.addr)) {
			return;
		}
		if (family != NTP_AF_NONE && s.addr.family == NTP_AF_NONE) {
			warn(ps, famw->col, "use a numeric address to pin the family",
			     "'%s' with a host name is not kept; the name may resolve to either "
			     "family",
			     family == NTP_AF_INET ? "-4" : "-6");
		}
	}
	if (!server_options(ps, l, i, &s)) {
		return;
	}
	add_server(ps, &s, a->col);
}

static void
do_server(parser *ps, const conf_line *l)
{
	association(ps, l, NTP_CONF_SERVER);
}

static void
do_pool(parser *ps, const conf_line *l)
{
	association(ps, l, NTP_CONF_POOL);
}

static void
do_peer(parser *ps, const conf_line *l)
{
	association(ps, l, NTP_CONF_PEER);
}

/* ---------------------------------------------------------------------
 * Local clock: fudge and refclock
 */

enum clock_opt_kind {
	COPT_UNIT,
	COPT_STRATUM,
	COPT_TIME1,
	COPT_REFID,
	COPT_MINPOLL,
	COPT_MAXPOLL,
	COPT_FLAG,
	COPT_IGNORED,
	COPT_IGNORED_ARG,
};

enum { FOR_FUDGE = 1, FOR_REFCLOCK = 2 };

typedef struct clock_opt {
	const char *name;
	uint8_t kind;
	uint8_t where; /* FOR_* */
	uint32_t flag;
} clock_opt;

/* ntp.conf(5) `refclock` options and ntp classic `fudge` factors. */
static const clock_opt clock_opts[] = {
        {"baud", COPT_IGNORED_ARG, FOR_REFCLOCK, 0},
        {"flag1", COPT_IGNORED_ARG, FOR_FUDGE | FOR_REFCLOCK, 0},
        {"flag2", COPT_IGNORED_ARG, FOR_FUDGE | FOR_REFCLOCK, 0},
        {"flag3", COPT_IGNORED_ARG, FOR_FUDGE | FOR_REFCLOCK, 0},
        {"flag4", COPT_IGNORED_ARG, FOR_FUDGE | FOR_REFCLOCK, 0},
        {"holdover", COPT_IGNORED, FOR_REFCLOCK, 0},
        {"maxpoll", COPT_MAXPOLL, FOR_REFCLOCK, 0},
        {"minpoll", COPT_MINPOLL, FOR_REFCLOCK, 0},
        {"mode", COPT_IGNORED_ARG, FOR_REFCLOCK, 0},
        {"noselect", COPT_FLAG, FOR_REFCLOCK, NTP_CONF_F_NOSELECT},
        {"path", COPT_IGNORED_ARG, FOR_REFCLOCK, 0},
        {"ppspath", COPT_IGNORED_ARG, FOR_REFCLOCK, 0},
        {"prefer", COPT_FLAG, FOR_REFCLOCK, NTP_CONF_F_PREFER},
        {"refid", COPT_REFID, FOR_FUDGE | FOR_REFCLOCK, 0},
        {"stratum", COPT_STRATUM, FOR_FUDGE | FOR_REFCLOCK, 0},
        {"subtype", COPT_IGNORED_ARG, FOR_REFCLOCK, 0},
        {"time1", COPT_TIME1, FOR_FUDGE | FOR_REFCLOCK, 0},
        {"time2", COPT_IGNORED_ARG, FOR_FUDGE | FOR_REFCLOCK, 0},
        {"true", COPT_FLAG, FOR_REFCLOCK, NTP_CONF_F_TRUE},
        {"unit", COPT_UNIT, FOR_REFCLOCK, 0},
};

/* What a fudge or refclock line sets. */
typedef struct clock_settings {
	const conf_word *minw;
	const conf_word *maxw;
	bool has_stratum;
	bool has_time1;
	int unit;
	int stratum;
	int minpoll;
	int maxpoll;
	double time1;
	uint32_t flags;
} clock_settings;

static bool
clock_options(parser *ps, const conf_line *l, size_t i, int where, clock_settings *cs)
{
	const char *what = where == FOR_FUDGE ? "fudge" : "refclock";
	char qb[QUOTE_BUF], hint[64];
	long v;

	for (; i < l->n; i++) {
		const conf_word *w = &l->w[i];
		const clock_opt *o = LOOKUP(w, clock_opts);
		if (o == NULL || (o->where & where) == 0) {
			err(ps, w->col, o == NULL ? SUGGEST(w, clock_opts, hint) : NULL,
			    "unknown option '%s' for '%s'", q(w, qb), what);
			return false;
		}
		switch (o->kind) {
		case COPT_UNIT:
			if (!take_long(ps, l, &i, 0, UINT8_MAX, &v)) {
				return false;
			}
			cs->unit = (int)v;
			break;
		case COPT_STRATUM:
			if (!take_long(ps, l, &i, 0, CLOCK_STRATUM_MAX, &v)) {
				return false;
			}
			cs->stratum = (int)v;
			cs->has_stratum = true;
			break;
		case COPT_TIME1:
			if (!take_double(ps, l, &i, -ANY_NUMBER, ANY_NUMBER, &cs->time1)) {
				return false;
			}
			cs->has_time1 = true;
			break;
		case COPT_REFID: {
			const conf_word *arg = take_arg(ps, l, &i, "1 to 4 characters");
			if (arg == NULL) {
				return false;
			}
			if (arg->len < 1 || arg->len > REFID_MAX) {
				err(ps, arg->col, NULL, "refid '%s' is not 1 to %d characters",
				    q(arg, qb), REFID_MAX);
				return false;
			}
			warn(ps, w->col, NULL,
			     "refid is not stored; ntplab's local clock always uses refid LOCL");
			break;
		}
		case COPT_MINPOLL:
		case COPT_MAXPOLL:
			if (!take_long(ps, l, &i, NTP_POLL_FLOOR, NTP_MAXPOLL, &v)) {
				return false;
			}
			if (o->kind == COPT_MINPOLL) {
				cs->minpoll = (int)v;
				cs->minw = w;
			} else {
				cs->maxpoll = (int)v;
				cs->maxw = w;
			}
			break;
		case COPT_FLAG:
			cs->flags |= o->flag;
			break;
		case COPT_IGNORED_ARG:
			if (take_arg(ps, l, &i, "a value") == NULL) {
				return false;
			}
			/* fall through */
		case COPT_IGNORED:
		default:
			warn(ps, w->col, NULL, "%s option '%s' is not supported; ignored", what,
			     o->name);
			break;
		}
	}
	return true;
}

static void
do_fudge(parser *ps, const conf_line *l)
{
	char host[WORD_MAX + 1], qb[QUOTE_BUF];
	clock_settings cs;
	int type, unit;

	if (l->n < 2) {
		err(ps, l->w[0].col, NULL, "'fudge' needs a reference clock address 127.127.t.u");
		return;
	}
	const conf_word *a = &l->w[1];
	if (!refclock_addr(word_copy(a, host, sizeof host), &type, &unit)) {
		err(ps, a->col, "fudge only applies to reference clocks such as 127.127.1.0",
		    "'%s' is not a reference clock address 127.127.t.u", q(a, qb));
		return;
	}
	if (type != REFCLOCK_LOCAL) {
		warn(ps, a->col, "ntplab simulates only the local clock, 127.127.1.u",
		     "reference clock type %d (%s) is not supported; fudge ignored", type, host);
		return;
	}
	memset(&cs, 0, sizeof cs);
	if (!clock_options(ps, l, 2, FOR_FUDGE, &cs)) {
		return;
	}
	if (ps->n_fudges >= NTP_CONF_MAX_SERVERS) {
		err(ps, a->col, NULL, "more than %d fudge lines", NTP_CONF_MAX_SERVERS);
		return;
	}
	pending_fudge *f = &ps->fudges[ps->n_fudges++];
	f->line = ps->lineno;
	f->col = a->col;
	f->unit = unit;
	f->has_stratum = cs.has_stratum;
	f->stratum = cs.stratum;
	f->has_time1 = cs.has_time1;
	f->time1 = cs.time1;
}

/* After the last line: each fudge must name a configured local clock. */
static void
apply_fudges(parser *ps)
{
	ntp_conf *c = ps->c;

	for (size_t i = 0; i < ps->n_fudges; i++) {
		const pending_fudge *f = &ps->fudges[i];
		ntp_conf_server *s = NULL;

		for (size_t j = 0; j < c->n_servers && s == NULL; j++) {
			if (c->servers[j].kind == NTP_CONF_LOCAL_CLOCK &&
			    c->servers[j].unit == f->unit) {
				s = &c->servers[j];
			}
		}
		ps->lineno = f->line;
		if (s == NULL) {
			char hint[96];
			snprintf(hint, sizeof hint,
			         "add 'server 127.127.1.%d' (or 'refclock local unit %d')", f->unit,
			         f->unit);
			err(ps, f->col, hint, "fudge for 127.127.1.%d, which no line configures",
			    f->unit);
			continue;
		}
		if (f->has_stratum) {
			s->stratum = f->stratum;
		}
		if (f->has_time1) {
			s->time1 = f->time1;
		}
	}
}

typedef struct driver {
	const char *name;
} driver;

/* NTPsec refclock driver short names (docs/refclock.adoc). */
static const driver drivers[] = {
        {"arbiter"}, {"generic"},    {"gpsd"},     {"hpgps"},    {"jjy"},    {"jupiter"},
        {"local"},   {"modem"},      {"neoclock"}, {"nmea"},     {"oncore"}, {"pps"},
        {"shm"},     {"spectracom"}, {"trimble"},  {"truetime"}, {"zyfer"},
};

static void
do_refclock(parser *ps, const conf_line *l)
{
	char qb[QUOTE_BUF], hint[64];
	clock_settings cs;
	ntp_conf_server s;

	if (l->n < 2) {
		err(ps, l->w[0].col, NULL, "'refclock' needs a driver name such as 'local'");
		return;
	}
	const conf_word *d = &l->w[1];
	if (LOOKUP(d, drivers) == NULL) {
		err(ps, d->col, SUGGEST(d, drivers, hint), "unknown refclock driver '%s'",
		    q(d, qb));
		return;
	}
	if (!word_is(d, "local")) {
		warn(ps, d->col, "ntplab simulates only 'refclock local'",
		     "refclock driver '%s' is not supported; line ignored", q(d, qb));
		return;
	}
	memset(&cs, 0, sizeof cs);
	cs.minpoll = NTP_MINDPOLL;
	cs.stratum = LOCAL_STRATUM;
	if (!clock_options(ps, l, 2, FOR_REFCLOCK, &cs)) {
		return;
	}
	init_server(&s, NTP_CONF_LOCAL_CLOCK, ps->lineno);
	snprintf(s.host, sizeof s.host, "127.127.1.%d", cs.unit);
	s.unit = cs.unit;
	s.stratum = cs.stratum;
	s.time1 = cs.time1;
	s.flags = cs.flags;
	s.minpoll = (int8_t)cs.minpoll;
	s.maxpoll = (int8_t)(cs.maxw != NULL ? cs.maxpoll : NTP_MAXDPOLL);
	if (!settle_polls(ps, &s, cs.minw, cs.maxw)) {
		return;
	}
	add_server(ps, &s, d->col);
}

/* ---------------------------------------------------------------------
 * restrict
 */

typedef struct restrict_flag {
	const char *name;
	uint32_t bit; /* 0: recognised, not supported */
	const char *unsupported;
} restrict_flag;

/* ntp.conf(5) access control flags (NTPsec and ntp classic). */
static const restrict_flag restrict_flags[] = {
        {"flake", 0, "flake (drop 10% of packets) is not supported; ignored"},
        {"ignore", NTP_RES_IGNORE, NULL},
        {"kod", NTP_RES_KOD, NULL},
        {"limited", NTP_RES_LIMITED, NULL},
        {"lowpriotrap", 0, "lowpriotrap has no effect; ignored"},
        {"mssntp", 0, "mssntp (MS-SNTP signing) is not supported; ignored"},
        {"noepeer", NTP_RES_NOEPEER, NULL},
        {"nomodify", NTP_RES_NOMODIFY, NULL},
        {"nomrulist", NTP_RES_NOMRULIST, NULL},
        {"non-ntpport", 0, "non-ntpport is not supported; the entry matches every source port"},
        {"nopeer", NTP_RES_NOPEER, NULL},
        {"noquery", NTP_RES_NOQUERY, NULL},
        {"noserve", NTP_RES_NOSERVE, NULL},
        {"notrap", NTP_RES_NOTRAP, NULL},
        {"notrust", NTP_RES_NOTRUST, NULL},
        {"ntpport", 0, "ntpport is not supported; the entry matches every source port"},
        {"version", NTP_RES_VERSION, NULL},
};

/* `ippeerlimit N` (ntp-4.2.8p11): at most N peer associations per source
 * address; N = -1 means no limit, as in ntpd.  *i is at the keyword. */
static bool
restrict_peerlimit(parser *ps, const conf_line *l, size_t *i, ntp_restrict_entry *e)
{
	const conf_word *kw = &l->w[*i];
	char qb[QUOTE_BUF];
	long n;

	if (*i + 1 >= l->n) {
		err(ps, kw->col, "e.g. 'ippeerlimit 1'",
		    "'ippeerlimit' needs the number of peer associations one address may have");
		return false;
	}
	const conf_word *v = &l->w[++*i];
	if (parse_long(v, -1, RESTRICT_PEERLIMIT_MAX, &n) != NUM_OK) {
		err(ps, v->col, NULL, "'ippeerlimit %s': expected a whole number from -1 to %d",
		    q(v, qb), RESTRICT_PEERLIMIT_MAX);
		return false;
	}
	e->flags |= NTP_RES_PEERLIMIT;
	e->ippeerlimit = (int)n;
	return true;
}

static int
host_prefix(int family)
{
	return family == NTP_AF_INET ? 32 : 128;
}

/* "ADDR" or "ADDR/prefix" into e->addr and e->mask.  Sets *hostname when
 * ADDR is a host name (the caller skips the line).  False after an error. */
static bool
restrict_address(parser *ps, const conf_word *w, ntp_restrict_entry *e, bool *has_prefix,
                 bool *hostname)
{
	char buf[WORD_MAX + 1], qb[QUOTE_BUF];
	char *slash = strchr(word_copy(w, buf, sizeof buf), '/');
	long prefix = 0;

	*has_prefix = slash != NULL;
	*hostname = false;
	if (slash != NULL) {
		conf_word pw = {slash + 1, strlen(slash + 1),
		                col_add(w->col, (size_t)(slash - buf) + 1)};
		*slash = '\0';
		if (parse_long(&pw, 0, 128, &prefix) != NUM_OK) {
			err(ps, pw.col, NULL, "'%s' is not a prefix length", q(&pw, qb));
			return false;
		}
	}
	if (!parse_address(ps, w, buf, &e->addr)) {
		return false;
	}
	if (e->addr.family == NTP_AF_NONE) {
		*hostname = true;
		return true;
	}
	if (prefix > host_prefix(e->addr.family)) {
		err(ps, w->col, NULL, "prefix /%ld is longer than the address (%d bits)", prefix,
		    host_prefix(e->addr.family));
		return false;
	}
	e->mask = ntp_addr_mask_from_prefix(
	        e->addr.family, slash != NULL ? (int)prefix : host_prefix(e->addr.family));
	return true;
}

static bool
restrict_mask(parser *ps, const conf_line *l, size_t *i, ntp_restrict_entry *e, bool hostname)
{
	const conf_word *m = take_arg(ps, l, i, "a mask such as 255.255.255.0");
	char buf[WORD_MAX + 1], qb[QUOTE_BUF];
	ntp_addr mask;

	if (m == NULL) {
		return false;
	}
	if (!ntp_addr_parse(word_copy(m, buf, sizeof buf), &mask)) {
		err(ps, m->col, NULL, "mask '%s' is not a numeric address", q(m, qb));
		return false;
	}
	if (!hostname && mask.family != e->addr.family) {
		err(ps, m->col, NULL, "mask '%s' is not of the address's family", q(m, qb));
		return false;
	}
	ntp_addr contiguous = ntp_addr_mask_from_prefix(mask.family, ntp_addr_prefix_len(&mask));
	if (!ntp_addr_same_host(&mask, &contiguous)) {
		err(ps, m->col, "a mask is a run of leading one bits, e.g. 255.255.255.0",
		    "mask '%s' is not contiguous", q(m, qb));
		return false;
	}
	e->mask = mask;
	return true;
}

/* ntpd clears the host bits (ntp_restrict.c hack_restrict); say so, since
 * "restrict 192.168.163.131 mask 255.255.255.0" usually means the net. */
static void
restrict_clear_host_bits(parser *ps, const conf_word *w, ntp_restrict_entry *e)
{
	ntp_addr net = e->addr;
	char qb[QUOTE_BUF], nb[64];

	for (size_t k = 0; k < sizeof net.a; k++) {
		net.a[k] &= e->mask.a[k];
	}
	if (ntp_addr_same_host(&net, &e->addr)) {
		return;
	}
	warn(ps, w->col, NULL, "'%s' has host bits outside the mask (/%d); using %s", q(w, qb),
	     ntp_addr_prefix_len(&e->mask), ntp_addr_format(&net, nb, sizeof nb));
	e->addr = net;
}

static void
do_restrict(parser *ps, const conf_line *l)
{
	ntp_restrict_entry e;
	size_t i = 1;
	const conf_word *famw = i < l->n ? &l->w[i] : NULL;
	const conf_word *kodw = NULL, *noservew = NULL, *maskw = NULL;
	int family = family_flag(l, &i);
	bool has_prefix = false, hostname = false;
	char qb[QUOTE_BUF], hint[64];

	memset(&e, 0, sizeof e);
	e.line = ps->lineno;
	if (i >= l->n) {
		err(ps, l->w[0].col, NULL, "'restrict' needs an address, 'default' or 'source'");
		return;
	}
	const conf_word *a = &l->w[i++];
	if (word_is(a, "default")) {
		e.kind = NTP_RES_DEFAULT;
		e.addr.family = (uint8_t)family;
		if (family != NTP_AF_NONE) {
			e.mask = ntp_addr_mask_from_prefix(family, 0);
		}
	} else if (word_is(a, "source")) {
		e.kind = NTP_RES_SOURCE;
		if (family != NTP_AF_NONE) {
			warn(ps, famw->col, NULL, "'%s' has no effect on 'restrict source'",
			     q(famw, qb));
		}
	} else {
		e.kind = NTP_RES_ADDR;
		if (!restrict_address(ps, a, &e, &has_prefix, &hostname) ||
		    !check_family(ps, famw, family, a, &e.addr)) {
			return;
		}
	}
	for (; i < l->n; i++) {
		const conf_word *w = &l->w[i];
		if (word_is(w, "mask")) {
			if (e.kind != NTP_RES_ADDR) {
				err(ps, w->col, NULL, "'mask' needs an address, not '%s'",
				    q(a, qb));
				return;
			}
			if (has_prefix || maskw != NULL) {
				err(ps, w->col, NULL, "the address already has a mask");
				return;
			}
			maskw = w;
			if (!restrict_mask(ps, l, &i, &e, hostname)) {
				return;
			}
			continue;
		}
		if (word_is(w, "ippeerlimit")) {
			if (!restrict_peerlimit(ps, l, &i, &e)) {
				return;
			}
			continue;
		}
		const restrict_flag *f = LOOKUP(w, restrict_flags);
		if (f == NULL) {
			err(ps, w->col, SUGGEST(w, restrict_flags, hint),
			    "unknown restrict flag '%s'", q(w, qb));
			return;
		}
		if (f->bit == 0) {
			warn(ps, w->col, NULL, "%s", f->unsupported);
			continue;
		}
		e.flags |= f->bit;
		if (f->bit == NTP_RES_KOD) {
			kodw = w;
		} else if (f->bit == NTP_RES_NOSERVE) {
			noservew = w;
		}
	}
	/* NTPsec ntp_config.c config_access: "KOD does nothing without LIMITED". */
	if (kodw != NULL && (e.flags & NTP_RES_LIMITED) == 0) {
		warn(ps, kodw->col,
		     "add 'limited' (rate limits come from 'discard'), or drop 'kod'",
		     "kod has no effect without limited");
	}
	if (noservew != NULL && e.kind == NTP_RES_SOURCE) {
		warn(ps, noservew->col,
		     "'restrict source' covers your own servers, which do not "
		     "ask this host for time",
		     "noserve has no effect on 'restrict source'");
	}
	if (hostname) {
		warn(ps, a->col, "use a numeric address (ntpd resolves the name once, at startup)",
		     "host names in restrict are not supported; line skipped");
		return;
	}
	if (e.kind == NTP_RES_ADDR) {
		restrict_clear_host_bits(ps, a, &e);
	}
	if (ps->c->n_restrict >= NTP_CONF_MAX_RESTRICT) {
		err(ps, a->col, NULL, "more than %d restrict lines", NTP_CONF_MAX_RESTRICT);
		return;
	}
	ps->c->restrict_list[ps->c->n_restrict++] = e;
}

/* ---------------------------------------------------------------------
 * Files and statistics
 */

static bool
take_path(parser *ps, const conf_line *l, char *dst, size_t size)
{
	char qb[QUOTE_BUF];

	if (l->n < 2) {
		err(ps, l->w[0].col, NULL, "'%s' needs a file name", q(&l->w[0], qb));
		return false;
	}
	if (l->w[1].len == 0) {
		err(ps, l->w[1].col, NULL, "empty file name");
		return false;
	}
	word_copy(&l->w[1], dst, size);
	return true;
}

static bool
no_more_words(parser *ps, const conf_line *l, size_t i)
{
	char qb[QUOTE_BUF], qd[QUOTE_BUF];

	if (i < l->n) {
		err(ps, l->w[i].col, NULL, "unexpected '%s' after '%s'", q(&l->w[i], qb),
		    q(&l->w[0], qd));
		return false;
	}
	return true;
}

static void
do_driftfile(parser *ps, const conf_line *l)
{
	char path[NTP_CONF_PATH_MAX];

	/* ntpd's grammar: no argument turns the drift file off. */
	if (l->n == 1) {
		ps->c->driftfile[0] = '\0';
		return;
	}
	if (!take_path(ps, l, path, sizeof path)) {
		return;
	}
	if (!no_more_words(ps, l, 3)) {
		return;
	}
	if (l->n > 2) {
		/* ntp classic: driftfile NAME [wander threshold] */
		warn(ps, l->w[2].col, NULL, "driftfile threshold is not supported; ignored");
	}
	memcpy(ps->c->driftfile, path, sizeof path);
}

static void
do_logfile(parser *ps, const conf_line *l)
{
	char path[NTP_CONF_PATH_MAX];

	if (take_path(ps, l, path, sizeof path) && no_more_words(ps, l, 2)) {
		memcpy(ps->c->logfile, path, sizeof path);
	}
}

static void
do_statsdir(parser *ps, const conf_line *l)
{
	char path[NTP_CONF_PATH_MAX];

	if (take_path(ps, l, path, sizeof path) && no_more_words(ps, l, 2)) {
		memcpy(ps->c->statsdir, path, sizeof path);
	}
}

typedef struct stats_name {
	const char *name;
	uint32_t bit; /* 0: recognised, not supported */
} stats_name;

static const stats_name stats_names[] = {
        {"clockstats", NTP_STATS_CLOCKSTATS},
        {"cryptostats", 0},
        {"loopstats", NTP_STATS_LOOPSTATS},
        {"peerstats", NTP_STATS_PEERSTATS},
        {"protostats", NTP_STATS_PROTOSTATS},
        {"rawstats", NTP_STATS_RAWSTATS},
        {"sysstats", NTP_STATS_SYSSTATS},
        {"timingstats", 0},
        {"usestats", 0},
};

static const stats_name *
stats_lookup(parser *ps, const conf_word *w)
{
	const stats_name *s = LOOKUP(w, stats_names);
	char qb[QUOTE_BUF], hint[64];

	if (s == NULL) {
		err(ps, w->col, SUGGEST(w, stats_names, hint), "unknown statistics '%s'", q(w, qb));
	}
	return s;
}

static void
do_statistics(parser *ps, const conf_line *l)
{
	uint32_t bits = 0;

	if (l->n < 2) {
		err(ps, l->w[0].col, "e.g. 'statistics loopstats peerstats'",
		    "'statistics' needs at least one statistics name");
		return;
	}
	for (size_t i = 1; i < l->n; i++) {
		const stats_name *s = stats_lookup(ps, &l->w[i]);
		if (s == NULL) {
			return;
		}
		if (s->bit == 0) {
			warn(ps, l->w[i].col, NULL, "%s are not supported; ignored", s->name);
		}
		bits |= s->bit;
	}
	ps->c->statistics |= bits;
}

typedef struct name_only {
	const char *name;
} name_only;

static const name_only filegen_types[] = {
        {"age"}, {"day"}, {"month"}, {"none"}, {"pid"}, {"week"}, {"year"},
};

static const name_only filegen_opts[] = {
        {"disable"}, {"enable"}, {"file"}, {"link"}, {"nolink"}, {"type"},
};

#define FILEGEN_DEFAULT_TYPE "day" /* ntpd filegen default, FILEGEN_DAY */

static bool
filegen_option(parser *ps, const conf_line *l, size_t *i, ntp_conf_filegen *fg)
{
	const conf_word *w = &l->w[*i];
	const conf_word *arg;
	char qb[QUOTE_BUF], hint[64];

	if (word_is(w, "file")) {
		if ((arg = take_arg(ps, l, i, "a file name")) == NULL) {
			return false;
		}
		if (arg->len == 0) {
			err(ps, arg->col, NULL, "empty file name");
			return false;
		}
		word_copy(arg, fg->file, sizeof fg->file);
	} else if (word_is(w, "type")) {
		if ((arg = take_arg(ps, l, i, "a type such as 'day'")) == NULL) {
			return false;
		}
		if (LOOKUP(arg, filegen_types) == NULL) {
			err(ps, arg->col, SUGGEST(arg, filegen_types, hint),
			    "unknown filegen type '%s'", q(arg, qb));
			return false;
		}
		word_copy(arg, fg->type, sizeof fg->type);
	} else if (word_is(w, "enable") || word_is(w, "disable")) {
		fg->enable = word_is(w, "enable");
	} else if (word_is(w, "link") || word_is(w, "nolink")) {
		warn(ps, w->col, NULL, "filegen '%s' is not supported; ignored", q(w, qb));
	} else {
		err(ps, w->col, SUGGEST(w, filegen_opts, hint), "unknown filegen option '%s'",
		    q(w, qb));
		return false;
	}
	return true;
}

static void
do_filegen(parser *ps, const conf_line *l)
{
	ntp_conf *c = ps->c;
	ntp_conf_filegen fg;

	if (l->n < 2) {
		err(ps, l->w[0].col, NULL, "'filegen' needs a statistics name");
		return;
	}
	const stats_name *s = stats_lookup(ps, &l->w[1]);
	if (s == NULL) {
		return;
	}
	memset(&fg, 0, sizeof fg);
	fg.which = s->bit;
	snprintf(fg.file, sizeof fg.file, "%s", s->name);
	snprintf(fg.type, sizeof fg.type, "%s", FILEGEN_DEFAULT_TYPE);
	fg.enable = true; /* NTPsec config_monitor: enabled unless 'disable' */
	fg.line = ps->lineno;
	for (size_t i = 2; i < l->n; i++) {
		if (!filegen_option(ps, l, &i, &fg)) {
			return;
		}
	}
	if (s->bit == 0) {
		warn(ps, l->w[1].col, NULL, "%s are not supported; filegen ignored", s->name);
		return;
	}
	for (size_t i = 0; i < c->n_filegen; i++) {
		if (c->filegen[i].which == fg.which) {
			c->filegen[i] = fg;
			return;
		}
	}
	if (c->n_filegen >= NTP_CONF_MAX_FILEGEN) {
		err(ps, l->w[1].col, NULL, "more than %d filegen lines", NTP_CONF_MAX_FILEGEN);
		return;
	}
	c->filegen[c->n_filegen++] = fg;
}

/* ---------------------------------------------------------------------
 * tinker, tos, discard: "keyword value" pairs
 */

typedef struct knob {
	const char *name;
	int id; /* <0: recognised, not supported */
	bool integer;
	double lo;
	double hi;
} knob;

enum {
	K_IGNORED = -1,
	K_STEP,
	K_STEPFWD,
	K_STEPBACK,
	K_ALLAN,
	K_FREQ,
	K_HUFFPUFF,
	K_DISPERSION,
	K_STEPOUT,
	K_PANIC,
	K_MINSANE,
	K_MINCLOCK,
	K_MAXDIST,
	K_ORPHAN,
	K_ORPHANWAIT,
	K_AVERAGE,
	K_MINIMUM,
	K_COUNT
};

static const knob tinker_knobs[] = {
        {"allan", K_ALLAN, true, 0, ALLAN_MAX},
        {"dispersion", K_DISPERSION, false, DISPERSION_MIN, DISPERSION_MAX},
        {"freq", K_FREQ, false, -FREQ_MAX_PPM, FREQ_MAX_PPM},
        {"huffpuff", K_HUFFPUFF, false, 0, HUFFPUFF_MAX},
        {"panic", K_PANIC, false, 0, TINKER_MAX},
        {"step", K_STEP, false, 0, TINKER_MAX},
        {"stepback", K_STEPBACK, false, 0, TINKER_MAX},
        {"stepfwd", K_STEPFWD, false, 0, TINKER_MAX},
        {"stepout", K_STEPOUT, false, 0, TINKER_MAX},
        {"tick", K_IGNORED, false, -ANY_NUMBER, ANY_NUMBER},
};

static const knob tos_knobs[] = {
        {"beacon", K_IGNORED, false, -ANY_NUMBER, ANY_NUMBER},
        {"ceiling", K_IGNORED, false, -ANY_NUMBER, ANY_NUMBER},
        {"cohort", K_IGNORED, false, -ANY_NUMBER, ANY_NUMBER},
        {"floor", K_IGNORED, false, -ANY_NUMBER, ANY_NUMBER},
        {"maxclock", K_IGNORED, false, -ANY_NUMBER, ANY_NUMBER},
        {"maxdisp", K_IGNORED, false, -ANY_NUMBER, ANY_NUMBER},
        {"maxdist", K_MAXDIST, false, TOS_DIST_MIN, TOS_DIST_MAX},
        {"minclock", K_MINCLOCK, true, 1, TOS_COUNT_MAX},
        {"mindist", K_IGNORED, false, -ANY_NUMBER, ANY_NUMBER},
        {"minsane", K_MINSANE, true, 1, TOS_COUNT_MAX},
        {"orphan", K_ORPHAN, true, 1, NTP_STRATUM_UNSPEC},
        {"orphanwait", K_ORPHANWAIT, false, 0, ORPHANWAIT_MAX},
};

static const knob discard_knobs[] = {
        {"average", K_AVERAGE, true, 0, DISCARD_LOG2_MAX},
        {"minimum", K_MINIMUM, true, 0, DISCARD_LOG2_MAX},
        {"monitor", K_IGNORED, false, -ANY_NUMBER, ANY_NUMBER},
};

/* Reads every pair of the line into set[]/val[] (indexed by K_*); false
 * after an error, and then the caller changes nothing. */
static bool
knob_pairs(parser *ps, const conf_line *l, const knob *table, size_t n, bool set[K_COUNT],
           double val[K_COUNT])
{
	char qb[QUOTE_BUF], qd[QUOTE_BUF], hint[64];

	if (l->n < 2) {
		err(ps, l->w[0].col, NULL, "'%s' needs at least one option", q(&l->w[0], qb));
		return false;
	}
	for (size_t i = 1; i < l->n; i++) {
		const conf_word *w = &l->w[i];
		const knob *k = lookup(w, table, n, sizeof *table);
		if (k == NULL) {
			err(ps, w->col, suggest(w, table, n, sizeof *table, hint, sizeof hint),
			    "unknown %s option '%s'", q(&l->w[0], qd), q(w, qb));
			return false;
		}
		double v;
		if (k->integer) {
			long lv;
			if (!take_long(ps, l, &i, (long)k->lo, (long)k->hi, &lv)) {
				return false;
			}
			v = (double)lv;
		} else if (!take_double(ps, l, &i, k->lo, k->hi, &v)) {
			return false;
		}
		if (k->id == K_IGNORED) {
			warn(ps, w->col, NULL, "%s %s is not supported; ignored", q(&l->w[0], qd),
			     k->name);
			continue;
		}
		set[k->id] = true;
		val[k->id] = v;
	}
	return true;
}

static void
do_tinker(parser *ps, const conf_line *l)
{
	bool set[K_COUNT] = {false};
	double val[K_COUNT] = {0};
	ntp_conf *c = ps->c;

	if (!knob_pairs(ps, l, tinker_knobs, sizeof tinker_knobs / sizeof tinker_knobs[0], set,
	                val)) {
		return;
	}
	/* ntpd's `step` sets both thresholds; on one line it is applied
	 * before `stepfwd`/`stepback`, whatever the order written. */
	if (set[K_STEP]) {
		c->tinker_step = val[K_STEP];
		c->tinker_stepfwd = -1;
		c->tinker_stepback = -1;
	}
	c->tinker_stepfwd = set[K_STEPFWD] ? val[K_STEPFWD] : c->tinker_stepfwd;
	c->tinker_stepback = set[K_STEPBACK] ? val[K_STEPBACK] : c->tinker_stepback;
	c->tinker_allan = set[K_ALLAN] ? val[K_ALLAN] : c->tinker_allan;
	c->tinker_huffpuff = set[K_HUFFPUFF] ? val[K_HUFFPUFF] : c->tinker_huffpuff;
	c->tinker_dispersion = set[K_DISPERSION] ? val[K_DISPERSION] : c->tinker_dispersion;
	if (set[K_FREQ]) {
		c->have_tinker_freq = true;
		c->tinker_freq = val[K_FREQ];
	}
	c->tinker_stepout = set[K_STEPOUT] ? val[K_STEPOUT] : c->tinker_stepout;
	c->tinker_panic = set[K_PANIC] ? val[K_PANIC] : c->tinker_panic;
}

static void
do_tos(parser *ps, const conf_line *l)
{
	bool set[K_COUNT] = {false};
	double val[K_COUNT] = {0};
	ntp_conf *c = ps->c;

	if (!knob_pairs(ps, l, tos_knobs, sizeof tos_knobs / sizeof tos_knobs[0], set, val)) {
		return;
	}
	c->tos_minsane = set[K_MINSANE] ? (int)val[K_MINSANE] : c->tos_minsane;
	c->tos_minclock = set[K_MINCLOCK] ? (int)val[K_MINCLOCK] : c->tos_minclock;
	c->tos_maxdist = set[K_MAXDIST] ? val[K_MAXDIST] : c->tos_maxdist;
	c->tos_orphan = set[K_ORPHAN] ? (int)val[K_ORPHAN] : c->tos_orphan;
	c->tos_orphanwait = set[K_ORPHANWAIT] ? val[K_ORPHANWAIT] : c->tos_orphanwait;
}

static void
do_discard(parser *ps, const conf_line *l)
{
	bool set[K_COUNT] = {false};
	double val[K_COUNT] = {0};
	ntp_conf *c = ps->c;

	if (!knob_pairs(ps, l, discard_knobs, sizeof discard_knobs / sizeof discard_knobs[0], set,
	                val)) {
		return;
	}
	if (set[K_MINIMUM]) {
		/* ntp_conf.h stores log2 s, as Red Hat's documentation describes
		 * the value; ntpd's code (ntp_monitor.c, ntp_minpkt) reads
		 * plain seconds.  Say which reading applies. */
		for (size_t i = 1; i < l->n; i++) {
			if (word_is(&l->w[i], "minimum")) {
				warn(ps, l->w[i].col, "ntpd's code reads plain seconds here",
				     "discard minimum %d is read as log2 s (%d s)",
				     (int)val[K_MINIMUM], 1 << (int)val[K_MINIMUM]);
			}
		}
	}
	c->discard_average = set[K_AVERAGE] ? (int)val[K_AVERAGE] : c->discard_average;
	c->discard_minimum = set[K_MINIMUM] ? (int)val[K_MINIMUM] : c->discard_minimum;
}

/* ---------------------------------------------------------------------
 * mru: the rate-limit table's size and recycling (NTPsec ntp_config.c
 * config_access(), ntp_monitor.c)
 */

enum mru_opt {
	MRU_INCALLOC,
	MRU_INCMEM,
	MRU_INITALLOC,
	MRU_INITMEM,
	MRU_MAXAGE,
	MRU_MAXDEPTH,
	MRU_MAXMEM,
	MRU_MINAGE,
	MRU_MINDEPTH,
};

typedef struct mru_knob {
	const char *name;
	int id; /* enum mru_opt */
} mru_knob;

static const mru_knob mru_knobs[] = {
        {"incalloc", MRU_INCALLOC}, {"incmem", MRU_INCMEM}, {"initalloc", MRU_INITALLOC},
        {"initmem", MRU_INITMEM},   {"maxage", MRU_MAXAGE}, {"maxdepth", MRU_MAXDEPTH},
        {"maxmem", MRU_MAXMEM},     {"minage", MRU_MINAGE}, {"mindepth", MRU_MINDEPTH},
};

/* A size (entries or KiB) in [0, max]: ntpd reads a negative maxdepth or
 * maxmem as "no limit"; ntplab keeps one, so both become max, with a
 * warning. */
static long
mru_size(parser *ps, const conf_word *w, long v, long max, const char *unit)
{
	char qb[QUOTE_BUF];

	if (v < 0 || v > max) {
		warn(ps, w->col, "the table is allocated whole at start-up: it needs a bound",
		     "mru %s %ld: using the largest table, %ld %s", q(w, qb), v, max, unit);
		return max;
	}
	return v;
}

static void
mru_apply(parser *ps, ntp_conf *c, const conf_word *w, int id, long v)
{
	char qb[QUOTE_BUF];

	switch (id) {
	case MRU_MAXDEPTH:
		c->mru_maxdepth = mru_size(ps, w, v, MRU_DEPTH_MAX, "entries");
		c->mru_maxmem = -1; /* the last of maxdepth and maxmem counts */
		break;
	case MRU_MAXMEM:
		c->mru_maxmem = mru_size(ps, w, v, MRU_MEM_MAX, "KiB");
		c->mru_maxdepth = -1;
		break;
	case MRU_MINDEPTH:
		if (v < 0) {
			/* ntpd: "mru mindepth -1 out of range, ignored" */
			warn(ps, w->col, NULL, "mru mindepth %ld out of range; ignored", v);
		} else {
			c->mru_mindepth = v < MRU_DEPTH_MAX ? v : MRU_DEPTH_MAX;
		}
		break;
	case MRU_MAXAGE:
		c->mru_maxage = (int)v;
		break;
	case MRU_MINAGE:
		c->mru_minage = (int)v;
		break;
	default:
		/* ntpd grows its list in steps of initalloc/incalloc entries;
		 * ntplab's table is one block sized by maxdepth/maxmem. */
		warn(ps, w->col, "the table is allocated whole at start-up (maxdepth/maxmem)",
		     "mru %s has no effect in ntplab; ignored", q(w, qb));
		break;
	}
}

/* `mru KEY N [KEY N ...]`: every value an integer (ntpd's grammar).  The
 * pairs are read first and applied in order only when all are valid: a
 * line with an error changes nothing. */
static void
do_mru(parser *ps, const conf_line *l)
{
	const conf_word *words[LINE_WORDS_MAX / 2];
	const mru_knob *knobs[LINE_WORDS_MAX / 2];
	long vals[LINE_WORDS_MAX / 2];
	char qb[QUOTE_BUF], hint[64];
	size_t n = 0;

	if (l->n < 2) {
		err(ps, l->w[0].col, NULL, "'mru' needs at least one option such as 'maxmem'");
		return;
	}
	for (size_t i = 1; i < l->n; i++, n++) {
		words[n] = &l->w[i];
		knobs[n] = LOOKUP(words[n], mru_knobs);
		if (knobs[n] == NULL) {
			err(ps, words[n]->col, SUGGEST(words[n], mru_knobs, hint),
			    "unknown mru option '%s'", q(words[n], qb));
			return;
		}
		if (!take_long(ps, l, &i, INT32_MIN, INT32_MAX, &vals[n])) {
			return;
		}
	}
	for (size_t k = 0; k < n; k++) {
		mru_apply(ps, ps->c, words[k], knobs[k]->id, vals[k]);
	}
}

/* ---------------------------------------------------------------------
 * enable / disable, port
 */

typedef struct system_flag {
	const char *name;
	bool supported;
} system_flag;

static const system_flag system_flags[] = {
        {"auth", true},   {"bclient", false}, {"calibrate", false},
        {"kernel", true}, {"mode7", false},   {"monitor", false},
        {"ntp", true},    {"pps", false},     {"stats", false},
};

static void
enable_disable(parser *ps, const conf_line *l, bool on)
{
	char qb[QUOTE_BUF], qd[QUOTE_BUF], hint[64];
	bool ntp = !ps->c->disable_ntp, auth = !ps->c->disable_auth;
	bool kernel = !ps->c->disable_kernel;

	if (l->n < 2) {
		err(ps, l->w[0].col, NULL, "'%s' needs a flag such as 'ntp'", q(&l->w[0], qb));
		return;
	}
	for (size_t i = 1; i < l->n; i++) {
		const conf_word *w = &l->w[i];
		const system_flag *f = LOOKUP(w, system_flags);
		if (f == NULL) {
			err(ps, w->col, SUGGEST(w, system_flags, hint), "unknown %s flag '%s'",
			    q(&l->w[0], qd), q(w, qb));
			return;
		}
		if (!f->supported) {
			warn(ps, w->col, NULL, "'%s %s' is not supported; ignored", q(&l->w[0], qd),
			     f->name);
			continue;
		}
		if (strcmp(f->name, "auth") == 0) {
			auth = on;
		} else if (strcmp(f->name, "kernel") == 0) {
			kernel = on;
		} else {
			ntp = on;
		}
	}
	/* a line with an error changes nothing */
	ps->c->disable_ntp = !ntp;
	ps->c->disable_auth = !auth;
	ps->c->disable_kernel = !kernel;
}

static void
do_enable(parser *ps, const conf_line *l)
{
	enable_disable(ps, l, true);
}

static void
do_disable(parser *ps, const conf_line *l)
{
	enable_disable(ps, l, false);
}

/* `port N`: ntplab's own directive. */
static void
do_port(parser *ps, const conf_line *l)
{
	size_t i = 0;
	long v;

	if (take_long(ps, l, &i, 1, UINT16_MAX, &v) && no_more_words(ps, l, 2)) {
		ps->c->port = (uint16_t)v;
	}
}

/* `clientport random|N`: ntplab's own.  Client requests leave from a
 * random port per association by default (RFC 9109: an off-path attacker
 * must then guess the port as well as the origin timestamp); `clientport
 * 123` sends them from the NTP port as ntpd does, for firewalls that only
 * pass port 123 both ways. */
static void
do_clientport(parser *ps, const conf_line *l)
{
	size_t i = 0;
	long v;

	if (l->n >= 2 && word_is(&l->w[1], "random")) {
		if (no_more_words(ps, l, 2)) {
			ps->c->clientport = 0;
		}
		return;
	}
	if (take_long(ps, l, &i, 1, UINT16_MAX, &v) && no_more_words(ps, l, 2)) {
		ps->c->clientport = (uint16_t)v;
	}
}

/* A name of letters, digits, '-' and '_' that fits size bytes. */
static bool
take_name(parser *ps, const conf_word *w, const char *what, char *out, size_t size)
{
	char qb[QUOTE_BUF];

	if (w->len == 0 || w->len >= size) {
		err(ps, w->col, NULL, "%s '%s' is longer than %zu characters", what, q(w, qb),
		    size - 1);
		return false;
	}
	for (size_t i = 0; i < w->len; i++) {
		char ch = w->p[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_')) {
			err(ps, w->col, NULL,
			    "%s '%s' has a character other than letters, digits, "
			    "'-' and '_'",
			    what, q(w, qb));
			return false;
		}
	}
	memcpy(out, w->p, w->len);
	out[w->len] = '\0';
	return true;
}

/* `discipline NAME [PARAM VALUE]...`: ntplab's own.  Which names and
 * parameters exist is core/ntp_discipline's to say (ntp_discipline_check);
 * here only the shape is checked.  A second line replaces the first. */
static void
do_discipline(parser *ps, const conf_line *l)
{
	char qb[QUOTE_BUF];
	ntp_conf_discipline d;

	memset(&d, 0, sizeof d);
	d.line = ps->lineno;
	if (l->n < 2) {
		err(ps, l->w[0].col, "e.g. 'discipline ntpd-kernel' or 'discipline ntpd-daemon'",
		    "'discipline' needs a name");
		return;
	}
	if (!take_name(ps, &l->w[1], "discipline", d.name, sizeof d.name)) {
		return;
	}
	for (size_t i = 2; i < l->n; i++) {
		ntp_conf_disc_param *p = &d.params[d.n_params];

		if (d.n_params == NTP_CONF_DISC_PARAMS) {
			err(ps, l->w[i].col, NULL, "more than %d discipline parameters",
			    NTP_CONF_DISC_PARAMS);
			return;
		}
		if (!take_name(ps, &l->w[i], "parameter", p->name, sizeof p->name)) {
			return;
		}
		for (size_t k = 0; k < d.n_params; k++) {
			if (strcmp(d.params[k].name, p->name) == 0) {
				err(ps, l->w[i].col, NULL, "discipline parameter '%s' given twice",
				    q(&l->w[i], qb));
				return;
			}
		}
		if (!take_double(ps, l, &i, -ANY_NUMBER, ANY_NUMBER, &p->value)) {
			return;
		}
		d.n_params++;
	}
	ps->c->discipline = d;
}

/* `leapfile FILE` (ntpd): the caller reads FILE and hands it to ntp_leap. */
static void
do_leapfile(parser *ps, const conf_line *l)
{
	char path[NTP_CONF_PATH_MAX];

	if (take_path(ps, l, path, sizeof path) && no_more_words(ps, l, 2)) {
		memcpy(ps->c->leapfile, path, sizeof path);
		ps->c->leapfile_line = ps->lineno;
	}
}

/* The longest smear (s): ntplab smears within the last UTC day before the
 * leap, the day a server announces it (ours; NTPsec suggests 86400). */
#define LEAPSMEAR_MAX 86400

/* `leapsmearinterval N` (NTPsec): seconds, 0 = no smear. */
static void
do_leapsmearinterval(parser *ps, const conf_line *l)
{
	size_t i = 0;
	long v;

	if (take_long(ps, l, &i, 0, LEAPSMEAR_MAX, &v) && no_more_words(ps, l, 2)) {
		ps->c->leapsmearinterval = (double)v;
	}
}

/* ---------------------------------------------------------------------
 * Authentication: keys, trustedkey, controlkey, requestkey
 */

static void
do_keys(parser *ps, const conf_line *l)
{
	char path[NTP_CONF_PATH_MAX];

	if (take_path(ps, l, path, sizeof path) && no_more_words(ps, l, 2)) {
		memcpy(ps->c->keysfile, path, sizeof path);
		ps->c->keys_line = ps->lineno;
	}
}

/* One key id of a `trustedkey`, `controlkey` or `requestkey` line. */
static bool
key_id(parser *ps, const conf_word *w, const char *what, long *id)
{
	char qb[QUOTE_BUF];

	switch (parse_long(w, KEY_MIN, KEY_MAX, id)) {
	case NUM_OK:
		return true;
	case NUM_SYNTAX:
		err(ps, w->col, "ntp.conf(5): trustedkey 1 2 (10 ... 20)",
		    "%s: '%s' is not a key id", what, q(w, qb));
		return false;
	default:
		err(ps, w->col, NULL, "%s: key id %s is out of range [%d, %d]", what, q(w, qb),
		    KEY_MIN, KEY_MAX);
		return false;
	}
}

static bool
add_trusted(parser *ps, int col, long lo, long hi)
{
	ntp_conf *c = ps->c;

	if (lo > hi) {
		err(ps, col, NULL, "trustedkey: range (%ld ... %ld) is empty", lo, hi);
		return false;
	}
	if (c->n_trusted >= NTP_CONF_MAX_TRUSTED) {
		err(ps, col, "use a range: (A ... B)", "more than %d trustedkey ids and ranges",
		    NTP_CONF_MAX_TRUSTED);
		return false;
	}
	c->trusted[c->n_trusted].lo = (uint16_t)lo;
	c->trusted[c->n_trusted].hi = (uint16_t)hi;
	c->n_trusted++;
	return true;
}

/* The lexemes of a trustedkey line: '(' and ')' stand alone even when
 * written against a number (NTPsec's scanner), "..." is the ellipsis. */
enum { TK_NUM, TK_OPEN, TK_CLOSE, TK_ELLIPSIS, TK_BAD };

static int
trusted_lexeme(const conf_word *w, size_t *off, conf_word *out)
{
	const char *p = w->p + *off;
	size_t left = w->len - *off, n = 1;
	int kind = TK_BAD;

	if (*p == '(' || *p == ')') {
		kind = *p == '(' ? TK_OPEN : TK_CLOSE;
	} else if (left >= 3 && memcmp(p, "...", 3) == 0) {
		kind = TK_ELLIPSIS;
		n = 3;
	} else {
		while (n < left && p[n] != '(' && p[n] != ')' && p[n] != '.') {
			n++;
		}
		kind = TK_NUM;
	}
	out->p = p;
	out->len = n;
	out->col = col_add(w->col, *off);
	*off += n;
	return kind;
}

/* `trustedkey N [N ...] [(A ... B) ...]`: state 0 between entries, 1 after
 * '(', 2 after its first id, 3 after the ellipsis, 4 before ')'. */
static void
do_trustedkey(parser *ps, const conf_line *l)
{
	int state = 0, col = l->w[0].col;
	long lo = 0, v = 0;

	for (size_t i = 1; i < l->n; i++) {
		for (size_t off = 0; off < l->w[i].len;) {
			conf_word t;
			int kind = trusted_lexeme(&l->w[i], &off, &t);
			bool ok = (state == 0 && (kind == TK_NUM || kind == TK_OPEN)) ||
			          (state == 1 && kind == TK_NUM) ||
			          (state == 2 && kind == TK_ELLIPSIS) ||
			          (state == 3 && kind == TK_NUM) ||
			          (state == 4 && kind == TK_CLOSE);
			char qb[QUOTE_BUF];

			if (!ok) {
				err(ps, t.col, "ntp.conf(5): trustedkey 1 2 (10 ... 20)",
				    "trustedkey: unexpected '%s'; line ignored from here",
				    q(&t, qb));
				return;
			}
			if (kind == TK_NUM && !key_id(ps, &t, "trustedkey", &v)) {
				return;
			}
			if (kind == TK_OPEN) {
				col = t.col;
			}
			if (state == 0 && kind == TK_NUM && !add_trusted(ps, t.col, v, v)) {
				return;
			}
			if (state == 4 && !add_trusted(ps, col, lo, v)) {
				return;
			}
			lo = state == 1 ? v : lo;
			state = state == 0 ? (kind == TK_OPEN ? 1 : 0) : (state + 1) % 5;
		}
	}
	if (l->n < 2 || state != 0) {
		err(ps, l->n < 2 ? l->w[0].col : col, "ntp.conf(5): trustedkey 1 2 (10 ... 20)",
		    l->n < 2 ? "trustedkey needs key ids" : "trustedkey: unfinished range");
	}
}

/* `controlkey N` and `requestkey N`: one key id. */
static bool
one_key_id(parser *ps, const conf_line *l, uint32_t *out)
{
	char qb[QUOTE_BUF];
	long v;

	if (l->n < 2) {
		err(ps, l->w[0].col, NULL, "'%s' needs a key id", q(&l->w[0], qb));
		return false;
	}
	if (!key_id(ps, &l->w[1], q(&l->w[0], qb), &v) || !no_more_words(ps, l, 2)) {
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

static void
do_controlkey(parser *ps, const conf_line *l)
{
	one_key_id(ps, l, &ps->c->controlkey);
}

static void
do_requestkey(parser *ps, const conf_line *l)
{
	if (one_key_id(ps, l, &ps->c->requestkey)) {
		warn(ps, l->w[0].col, "NTPsec removed mode 7 too",
		     "requestkey is parsed but mode 7 (ntpdc) is never served");
	}
}

/* ---------------------------------------------------------------------
 * Directives
 */

typedef struct directive {
	const char *name;
	directive_fn *fn; /* NULL: ntpd knows it, ntplab does not implement it */
	const char *hint;
} directive;

#define NO_MULTICAST "ntplab supports unicast server, pool and peer associations only"

/* NTPsec ntpd/keyword-gen.c and ntp classic ntp.conf(5) directives. */
static const directive directives[] = {
        {"authdelay", NULL, NULL},
        {"authenticate", NULL, NULL},
        {"automax", NULL, "Autokey is not supported (NTPsec removed it too)"},
        {"broadcast", NULL, NO_MULTICAST},
        {"broadcastclient", NULL, NO_MULTICAST},
        {"broadcastdelay", NULL, NO_MULTICAST},
        {"calldelay", NULL, NULL},
        {"clientport", do_clientport, NULL},
        {"controlkey", do_controlkey, NULL},
        {"crypto", NULL, "Autokey is not supported (NTPsec removed it too)"},
        {"device", NULL, NULL},
        {"disable", do_disable, NULL},
        {"discard", do_discard, NULL},
        {"discipline", do_discipline, NULL},
        {"driftfile", do_driftfile, NULL},
        {"dscp", NULL, NULL},
        {"enable", do_enable, NULL},
        {"end", NULL, NULL},
        {"filegen", do_filegen, NULL},
        {"fudge", do_fudge, NULL},
        {"includefile", NULL, "ntplab reads one file; paste the included directives into it"},
        {"interface", NULL, NULL},
        {"keys", do_keys, NULL},
        {"keysdir", NULL, "an Autokey directory; give the key file with 'keys FILE'"},
        {"leapfile", do_leapfile, NULL},
        {"leapsmearinterval", do_leapsmearinterval, NULL},
        {"limit", NULL, "use 'discard' and 'restrict ... limited'"},
        {"logconfig", NULL, NULL},
        {"logfile", do_logfile, NULL},
        {"manycastclient", NULL, NO_MULTICAST},
        {"manycastserver", NULL, NO_MULTICAST},
        {"mdnstries", NULL, NULL},
        {"mru", do_mru, NULL},
        {"multicastclient", NULL, NO_MULTICAST},
        {"nic", NULL, NULL},
        {"nonvolatile", NULL, NULL},
        {"ntpsigndsocket", NULL, NULL},
        {"nts", NULL, NULL},
        {"peer", do_peer, NULL},
        {"phone", NULL, NULL},
        {"pidfile", NULL, NULL},
        {"pollskewlist", NULL, NULL},
        {"pool", do_pool, NULL},
        {"port", do_port, NULL},
        {"qos", NULL, NULL},
        {"refclock", do_refclock, NULL},
        {"requestkey", do_requestkey, NULL},
        {"reset", NULL, NULL},
        {"restrict", do_restrict, NULL},
        {"revoke", NULL, "Autokey is not supported (NTPsec removed it too)"},
        {"rlimit", NULL, NULL},
        {"saveconfigdir", NULL, NULL},
        {"server", do_server, NULL},
        {"setvar", NULL, NULL},
        {"statistics", do_statistics, NULL},
        {"statsdir", do_statsdir, NULL},
        {"tick", NULL, NULL},
        {"tinker", do_tinker, NULL},
        {"tos", do_tos, NULL},
        {"trap", NULL, NULL},
        {"trustedkey", do_trustedkey, NULL},
        {"ttl", NULL, NO_MULTICAST},
        {"unconfig", NULL, NULL},
        {"unpeer", NULL, NULL},
        {"unrestrict", NULL, NULL},
};

static void
parse_line(parser *ps, const char *p, const char *end, conf_line *l)
{
	char qb[QUOTE_BUF], hint[64];

	if (!split_line(ps, p, end, l) || l->n == 0) {
		return;
	}
	const conf_word *w = &l->w[0];
	const directive *d = LOOKUP(w, directives);
	if (d == NULL) {
		err(ps, w->col, SUGGEST(w, directives, hint), "unknown directive '%s'", q(w, qb));
		return;
	}
	if (d->fn == NULL) {
		warn(ps, w->col, d->hint, "'%s' is not supported by ntplab; line ignored", d->name);
		return;
	}
	if (l->overflow) {
		err(ps, w->col, NULL, "more than %d words on one line; line ignored",
		    LINE_WORDS_MAX);
		return;
	}
	d->fn(ps, l);
}

/* ---------------------------------------------------------------------
 * Public API
 */

void
ntp_conf_init(ntp_conf *c, const char *filename)
{
	memset(c, 0, sizeof *c);
	snprintf(c->filename, sizeof c->filename, "%s", filename != NULL ? filename : "ntp.conf");
	c->tinker_step = -1;
	c->tinker_stepfwd = -1;
	c->tinker_stepback = -1;
	c->tinker_allan = -1;
	c->tinker_huffpuff = -1;
	c->tinker_dispersion = -1;
	c->tinker_stepout = -1;
	c->tinker_panic = -1;
	c->tos_minsane = -1;
	c->tos_minclock = -1;
	c->tos_maxdist = -1;
	c->tos_orphan = -1;
	c->tos_orphanwait = -1;
	c->discard_average = -1;
	c->discard_minimum = -1;
	c->mru_maxdepth = -1;
	c->mru_maxmem = NTP_SERVER_MRU_MAXMEM_DEF;
	c->mru_mindepth = NTP_SERVER_MRU_MINDEPTH_DEF;
	c->mru_maxage = NTP_SERVER_MRU_MAXAGE_DEF;
	c->mru_minage = NTP_SERVER_MRU_MINAGE_DEF;
	c->port = NTP_PORT;
}

unsigned
ntp_conf_parse(ntp_conf *c, const char *text, size_t len)
{
	parser ps;
	conf_line l;

	memset(&ps, 0, sizeof ps);
	ps.c = c;
	if (text == NULL) {
		return c->n_errors;
	}
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;
		if (ps.lineno < INT32_MAX) {
			ps.lineno++;
		}
		parse_line(&ps, p, eol, &l);
		p = nl != NULL ? nl + 1 : end;
	}
	apply_fudges(&ps);
	return c->n_errors;
}

void
ntp_conf_diag_add(ntp_conf_diag *diags, size_t *n_diags, unsigned *n_errors, unsigned *n_warnings,
                  int severity, int line, int col, const char *hint, const char *fmt, va_list ap)
{
	ntp_conf_diag *d;

	if (severity == NTP_CONF_ERROR) {
		(*n_errors)++;
	} else {
		(*n_warnings)++;
	}
	if (*n_diags >= NTP_CONF_MAX_DIAGS) {
		return;
	}
	d = &diags[(*n_diags)++];
	memset(d, 0, sizeof *d);
	d->severity = (uint8_t)severity;
	d->line = line;
	d->col = col;
	vsnprintf(d->msg, sizeof d->msg, fmt, ap);
	if (hint != NULL) {
		snprintf(d->hint, sizeof d->hint, "%s", hint);
	}
}

int
ntp_conf_hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9') {
		return ch - '0';
	}
	if (ch >= 'a' && ch <= 'f') {
		return ch - 'a' + 10;
	}
	if (ch >= 'A' && ch <= 'F') {
		return ch - 'A' + 10;
	}
	return -1;
}

const char *
ntp_conf_quote(const char *p, size_t len, size_t max, char *buf)
{
	size_t n = len < max ? len : max;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		buf[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	if (len > max) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

char *
ntp_conf_diag_format(const ntp_conf *c, const ntp_conf_diag *d, char *buf, size_t size)
{
	return ntp_conf_diag_format_file(c != NULL ? c->filename : NULL, d, buf, size);
}

char *
ntp_conf_diag_format_file(const char *filename, const ntp_conf_diag *d, char *buf, size_t size)
{
	const char *file = filename != NULL && filename[0] != '\0' ? filename : "ntp.conf";
	const char *sev = d->severity == NTP_CONF_ERROR ? "error" : "warning";

	if (size == 0) {
		return buf;
	}
	if (d->hint[0] != '\0') {
		snprintf(buf, size, "%s:%d:%d: %s: %s (hint: %s)", file, d->line, d->col, sev,
		         d->msg, d->hint);
	} else {
		snprintf(buf, size, "%s:%d:%d: %s: %s", file, d->line, d->col, sev, d->msg);
	}
	return buf;
}

double
ntp_conf_step(const ntp_conf *c)
{
	return c->tinker_step < 0 ? NTP_STEPT : c->tinker_step;
}

double
ntp_conf_stepout(const ntp_conf *c)
{
	/* ntpd loop_config(LOOP_MINSTEP): nothing below CLOCK_MINSTEP */
	return c->tinker_stepout < NTP_STEPOUT ? NTP_STEPOUT : c->tinker_stepout;
}

double
ntp_conf_phi(const ntp_conf *c)
{
	/* ntpd loop_config(LOOP_PHI): clock_phi = ppm / US_PER_S */
	return c == NULL || c->tinker_dispersion < 0 ? NTP_PHI : c->tinker_dispersion / 1e6;
}

double
ntp_conf_step_fwd(const ntp_conf *c)
{
	return c->tinker_stepfwd < 0 ? ntp_conf_step(c) : c->tinker_stepfwd;
}

double
ntp_conf_step_back(const ntp_conf *c)
{
	return c->tinker_stepback < 0 ? ntp_conf_step(c) : c->tinker_stepback;
}

double
ntp_conf_panic(const ntp_conf *c)
{
	return c->tinker_panic < 0 ? NTP_PANICT : c->tinker_panic;
}

bool
ntp_conf_key_trusted(const ntp_conf *c, uint32_t id)
{
	for (size_t i = 0; c != NULL && i < c->n_trusted && i < NTP_CONF_MAX_TRUSTED; i++) {
		if (id >= c->trusted[i].lo && id <= c->trusted[i].hi) {
			return true;
		}
	}
	return false;
}

uint32_t
ntp_conf_stats(const ntp_conf *c)
{
	uint32_t bits = c->statistics;

	for (size_t i = 0; i < c->n_filegen && i < NTP_CONF_MAX_FILEGEN; i++) {
		if (c->filegen[i].enable) {
			bits |= c->filegen[i].which;
		}
	}
	return bits;
}
