/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refd_num: the one strict number parser for everything a person types at
 * refd -- the command lines of refd, refd -Q and refbench, the values of
 * --fault and of control-socket commands -- and for the drift file.
 *
 * strtod and strtol accept more than a person means: hexadecimal
 * ("0x10" is 16), "inf", "nan", "infinity", leading blanks and, for
 * strtod, hexadecimal floats ("0x1p3").  Here a number is plain decimal:
 *
 *     [+-] digits [. digits] [(e|E) [+-] digits]     or     [+-] . digits ...
 *
 * and nothing else; the value must be finite.
 */
#ifndef REFD_NUM_H
#define REFD_NUM_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes of the plain decimal number at the very start of s (no leading
 * blanks), 0 when s does not start with one. */
size_t refd_num_scan(const char *s);

/* s is exactly one finite plain decimal number: *out gets its value. */
bool refd_num_parse(const char *s, double *out);

/* s is exactly one decimal integer (digits, a sign only when lo < 0)
 * within [lo, hi]: *out gets it. */
bool refd_num_parse_long(const char *s, long lo, long hi, long *out);

/* s, after any blanks, starts with a plain decimal number and strtod reads
 * exactly that number, so a unit parser built on strtod (ntp_units) sees
 * no hexadecimal, inf or nan.  The rest of s is the unit parser's. */
bool refd_num_prefix_ok(const char *s);

#endif
