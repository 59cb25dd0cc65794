/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Strict decimal numbers (refd_num.h).
 */
#include "refd_num.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

static size_t
digits(const char *s)
{
	size_t n = 0;

	while (isdigit((unsigned char)s[n])) {
		n++;
	}
	return n;
}

size_t
refd_num_scan(const char *s)
{
	size_t i = 0, whole, frac = 0, exp;

	if (s[i] == '+' || s[i] == '-') {
		i++;
	}
	whole = digits(s + i);
	i += whole;
	if (s[i] == '.') {
		frac = digits(s + i + 1);
		if (whole == 0 && frac == 0) {
			return 0; /* "." or "-." */
		}
		i += 1 + frac;
	}
	if (whole == 0 && frac == 0) {
		return 0;
	}
	if (s[i] == 'e' || s[i] == 'E') {
		size_t j = i + 1;

		if (s[j] == '+' || s[j] == '-') {
			j++;
		}
		exp = digits(s + j);
		/* "1e" or "1e+": the exponent is not part of the number. */
		if (exp > 0) {
			i = j + exp;
		}
	}
	return i;
}

bool
refd_num_parse(const char *s, double *out)
{
	size_t n = refd_num_scan(s);
	char *end;
	double v;

	if (n == 0 || s[n] != '\0') {
		return false;
	}
	errno = 0;
	v = strtod(s, &end);
	if (end != s + n || errno == ERANGE || !isfinite(v)) {
		return false;
	}
	*out = v;
	return true;
}

bool
refd_num_parse_long(const char *s, long lo, long hi, long *out)
{
	size_t i = (lo < 0 && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
	size_t n = digits(s + i);
	char *end;
	long v;

	if (n == 0 || s[i + n] != '\0') {
		return false;
	}
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end != '\0' || errno == ERANGE || v < lo || v > hi) {
		return false;
	}
	*out = v;
	return true;
}

bool
refd_num_prefix_ok(const char *s)
{
	size_t n;
	char *end;

	while (*s == ' ' || *s == '\t') {
		s++;
	}
	n = refd_num_scan(s);
	if (n == 0) {
		return false;
	}
	(void)strtod(s, &end);
	return end == s + n;
}
