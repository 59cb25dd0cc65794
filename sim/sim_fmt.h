/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_fmt: number formatting for the hot output rows (trace CSV), without
 * printf.  sim_fmt_fixed writes exactly the bytes of printf("%.*f") -- the
 * exact binary value rounded half to even at the last digit, a '-' on any
 * negative value including -0.0 -- by integer arithmetic; a value it cannot
 * do that way (not finite, or too large) goes to snprintf.  A row is built
 * in a sim_fmt_row and written with one fwrite.
 */
#ifndef SIM_FMT_H
#define SIM_FMT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SIM_FMT_DIGITS_MAX 9    /* decimals sim_fmt_fixed does itself: 10^9 < 2^32 */
#define SIM_FMT_NUM_MAX    352  /* bytes of the longest "%.9f" of a double, with '\0' */
#define SIM_FMT_ROW_MAX    1024 /* bytes of one row; a longer row is cut (ours) */

/* Writes x as snprintf(buf, size, "%.*f", digits, x) would and returns the
 * same value (the length it needs).  size >= SIM_FMT_NUM_MAX never cuts. */
int sim_fmt_fixed(char *buf, size_t size, double x, int digits);

/* A row under construction; n counts the bytes appended.  Past
 * SIM_FMT_ROW_MAX the row is cut: sim_fmt_row_write refuses it and the
 * caller writes the row its slow way.  Start a row with n = 0 (not = {0}:
 * that clears the whole buffer on every row). */
typedef struct sim_fmt_row {
	size_t n;
	char b[SIM_FMT_ROW_MAX];
} sim_fmt_row;

void sim_fmt_row_fixed(sim_fmt_row *r, double x, int digits);
void sim_fmt_row_int(sim_fmt_row *r, long long v);
void sim_fmt_row_uint(sim_fmt_row *r, unsigned long long v);
void sim_fmt_row_str(sim_fmt_row *r, const char *s);
void sim_fmt_row_char(sim_fmt_row *r, char c);

/* Whether something did not fit. */
int sim_fmt_row_cut(const sim_fmt_row *r);

/* Writes the row to f with one fwrite: 0, or -1 (nothing written) on a cut
 * row, or -1 on a short write. */
int sim_fmt_row_write(const sim_fmt_row *r, FILE *f);

#endif
