/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_units: numbers with units, as scenario files write them and refd's
 * control commands take them (one parser, so "500ms" means the same in
 * both worlds).
 *
 * A bare number is in the base unit (seconds, s/s, a fraction, bit/s); a
 * suffix, with or without a blank before it, scales it: "100us", "1.5 ms",
 * "28.2s", "2h", "100ppm", "5ppb", "5%", "1mbit".  Every parser rejects
 * empty text, trailing garbage, NaN and infinities, and returns -1 without
 * touching *out; 0 on success.
 */
#ifndef NTP_UNITS_H
#define NTP_UNITS_H

#include <stdbool.h>

/* Seconds: ns, us, ms, s, min, h, d (and "sec"). */
int ntp_parse_duration(const char *s, double *out);

/* Fractional frequency (s/s): ppm, ppb, ppt, or a bare number. */
int ntp_parse_freq(const char *s, double *out);

/* A probability 0..1: "5%" or "0.05". */
int ntp_parse_prob(const char *s, double *out);

/* A rate in bit/s: bit, kbit, mbit, gbit (tc's units). */
int ntp_parse_rate(const char *s, double *out);

/* A plain finite number. */
int ntp_parse_number(const char *s, double *out);

/* An integer in [min, max] (decimal, optional sign). */
int ntp_parse_int(const char *s, long long min, long long max, long long *out);

/* true/false, yes/no, on/off (YAML 1.1 spellings, lower case). */
int ntp_parse_bool(const char *s, bool *out);

/* A UTC date "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SS[.frac][Z]" (also with a
 * blank for T; years 1900-2150), or a number of seconds since 1970, into
 * ns since 1970. */
int ntp_parse_utc(const char *s, long long *out_ns);

/* Format seconds for people: "1.50 ms", "28.200 s", "120 us".  Returns buf. */
char *ntp_format_seconds(double s, char *buf, unsigned long size);

#endif
