/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Numbers with units for scenario files.  strtod does the number (the C
 * locale is never changed, so the decimal point is '.'); a table does the
 * unit.
 */
#include "ntp_units.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct unit {
	const char *name;
	double scale;
} unit;

static const unit duration_units[] = {
        {"ns", 1e-9},  {"us", 1e-6},  {"ms", 1e-3},   {"s", 1.0},  {"sec", 1.0},
        {"min", 60.0}, {"h", 3600.0}, {"d", 86400.0}, {NULL, 0.0},
};

static const unit freq_units[] = {
        {"ppm", 1e-6},
        {"ppb", 1e-9},
        {"ppt", 1e-12},
        {NULL, 0.0},
};

static const unit prob_units[] = {
        {"%", 0.01},
        {NULL, 0.0},
};

/* tc(8) rate units are bits per second with SI prefixes. */
static const unit rate_units[] = {
        {"bit", 1.0}, {"kbit", 1e3}, {"mbit", 1e6}, {"gbit", 1e9}, {"tbit", 1e12},
        {"bps", 8.0}, {"kbps", 8e3}, {"mbps", 8e6}, {"gbps", 8e9}, {NULL, 0.0},
};

static const char *
skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t') {
		s++;
	}
	return s;
}

/* Number, optional blanks, optional unit from the table, optional blanks. */
static int
parse_with_units(const char *s, const unit *units, double *out)
{
	char *end;
	double v;
	size_t len;

	if (s == NULL) {
		return -1;
	}
	s = skip_blanks(s);
	if (*s == '\0' || isalpha((unsigned char)*s)) {
		return -1; /* strtod would take "inf"/"nan" */
	}
	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno == ERANGE || !isfinite(v)) {
		return -1;
	}
	s = skip_blanks(end);
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t')) {
		len--;
	}
	if (len == 0) {
		*out = v;
		return 0;
	}
	for (const unit *u = units; u != NULL && u->name != NULL; u++) {
		if (strlen(u->name) == len && strncmp(u->name, s, len) == 0) {
			v *= u->scale;
			if (!isfinite(v)) {
				return -1;
			}
			*out = v;
			return 0;
		}
	}
	return -1;
}

int
ntp_parse_duration(const char *s, double *out)
{
	return parse_with_units(s, duration_units, out);
}

int
ntp_parse_freq(const char *s, double *out)
{
	return parse_with_units(s, freq_units, out);
}

int
ntp_parse_prob(const char *s, double *out)
{
	double v;

	if (parse_with_units(s, prob_units, &v) != 0 || v < 0.0 || v > 1.0) {
		return -1;
	}
	*out = v;
	return 0;
}

int
ntp_parse_rate(const char *s, double *out)
{
	double v;

	if (parse_with_units(s, rate_units, &v) != 0 || v < 0.0) {
		return -1;
	}
	*out = v;
	return 0;
}

int
ntp_parse_number(const char *s, double *out)
{
	return parse_with_units(s, NULL, out);
}

int
ntp_parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (s == NULL) {
		return -1;
	}
	s = skip_blanks(s);
	if (*s == '\0') {
		return -1;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || errno == ERANGE || *skip_blanks(end) != '\0' || v < min || v > max) {
		return -1;
	}
	*out = v;
	return 0;
}

int
ntp_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", NULL};
	static const char *const no[] = {"false", "no", "off", NULL};

	if (s == NULL) {
		return -1;
	}
	for (int i = 0; yes[i] != NULL; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date: count in 400-year
 * eras of 146097 days with years starting on March 1, so the leap day is
 * the last day of a year (H. Hinnant's days_from_civil method). */
static long long
days_from_civil(long long y, unsigned m, unsigned d)
{
	long long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

static int
read_digits(const char **p, int n, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i])) {
			return -1;
		}
		v = v * 10 + (unsigned)((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int
ntp_parse_utc(const char *s, long long *out_ns)
{
	const char *p;
	unsigned y, mo, d, h = 0, mi = 0, se = 0;
	long long frac_ns = 0, scale = 100000000;
	double secs;
	static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (s == NULL) {
		return -1;
	}
	p = skip_blanks(s);
	if (strlen(p) < 10 || p[4] != '-') {
		/* Not a date: seconds since the epoch. */
		if (ntp_parse_duration(s, &secs) != 0 || secs < -2.2e9 || secs > 5.6e9) {
			return -1;
		}
		*out_ns = llround(secs * 1e9);
		return 0;
	}
	if (read_digits(&p, 4, &y) != 0 || *p++ != '-' || read_digits(&p, 2, &mo) != 0 ||
	    *p++ != '-' || read_digits(&p, 2, &d) != 0) {
		return -1;
	}
	if (*p == 'T' || *p == ' ') {
		p++;
		if (read_digits(&p, 2, &h) != 0 || *p++ != ':' || read_digits(&p, 2, &mi) != 0 ||
		    *p++ != ':' || read_digits(&p, 2, &se) != 0) {
			return -1;
		}
		if (*p == '.') {
			p++;
			if (!isdigit((unsigned char)*p)) {
				return -1;
			}
			while (isdigit((unsigned char)*p)) {
				frac_ns += (*p - '0') * scale;
				scale /= 10;
				p++;
			}
		}
	}
	if (*p == 'Z') {
		p++;
	}
	if (*skip_blanks(p) != '\0' || y < 1900 || y > 2150 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60) {
		return -1;
	}
	*out_ns = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se) * 1000000000LL) +
	          frac_ns;
	return 0;
}

char *
ntp_format_seconds(double s, char *buf, unsigned long size)
{
	double a = fabs(s);

	if (!isfinite(s)) {
		snprintf(buf, size, "%g", s);
	} else if (a == 0.0) {
		snprintf(buf, size, "0 s");
	} else if (a < 1e-6) {
		snprintf(buf, size, "%.1f ns", s * 1e9);
	} else if (a < 1e-3) {
		snprintf(buf, size, "%.1f us", s * 1e6);
	} else if (a < 1.0) {
		snprintf(buf, size, "%.3f ms", s * 1e3);
	} else {
		snprintf(buf, size, "%.6f s", s);
	}
	return buf;
}
