/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_leap: the leap second table.  Text in, table out; no files are opened
 * here (the caller reads the leapfile and passes its name for messages).
 *
 * The format is the IERS/NIST leap-seconds.list (as ntpd's `leapfile` reads
 * it, NTPsec ntpd/ntp_leapsec.c):
 *   #$ NTP-seconds        when the file was last updated
 *   #@ NTP-seconds        when the file expires
 *   #h w1 w2 w3 w4 w5     SHA-1 of the digits of the #$ line, the #@ line and
 *                         every data line (up to its comment), in file order
 *   NTP-seconds TAI-UTC   from that instant (00:00:00 UTC of a day) on,
 *                         TAI - UTC is this many seconds
 *   # anything else       comment
 * NTP seconds count from 1900-01-01 without an era (a value >= 2^32 is a
 * time after the 2036 rollover).  A bad hash makes the file unusable (as
 * NTPsec: "signature mismatch"); a missing hash is a warning (NTPsec logs
 * "no hash signature" and loads the file).  Diagnostics are ntp.conf's
 * (ntp_conf_diag, "file:line:col: error: ...").
 *
 * Times in the queries are POSIX seconds (since 1970, a leap second not
 * counted): the leap inserted at the end of 2016-12-31 is the entry whose
 * `when` is 2017-01-01T00:00:00Z = 1483228800.
 */
#ifndef NTP_LEAP_H
#define NTP_LEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp_conf.h"

#define NTP_LEAP_MAX_ENTRIES 128 /* data lines kept (ours; the IERS list has 28 in 2025) */

enum ntp_leap_hash {
	NTP_LEAP_HASH_NONE = 0, /* no #h line */
	NTP_LEAP_HASH_GOOD = 1,
	NTP_LEAP_HASH_BAD = 2, /* mismatch or malformed: an error */
};

typedef struct ntp_leap_entry {
	int64_t when;    /* POSIX s of the 00:00:00 UTC from which tai_utc holds */
	int32_t tai_utc; /* s, TAI - UTC from `when` on */
	int8_t step;     /* +1 leap second inserted before `when`, -1 deleted, 0 first entry */
	int line;        /* of the data line; 0 = added by ntp_leap_add */
} ntp_leap_entry;

typedef struct ntp_leap_table {
	char filename[NTP_CONF_PATH_MAX];
	ntp_leap_entry e[NTP_LEAP_MAX_ENTRIES]; /* sorted by `when`, strictly increasing */
	size_t n;
	int64_t updated;  /* POSIX s of #$; INT64_MIN = absent */
	int64_t expires;  /* POSIX s of #@; INT64_MIN = absent (counts as expired) */
	uint8_t hash;     /* enum ntp_leap_hash */
	bool have_expiry; /* a #@ line was read */

	ntp_conf_diag diags[NTP_CONF_MAX_DIAGS]; /* ntp_conf_diag_add's list */
	size_t n_diags;                          /* kept */
	unsigned n_errors;                       /* counted, including those not kept */
	unsigned n_warnings;
} ntp_leap_table;

/* An empty table that never expires (for tables built by ntp_leap_add). */
void ntp_leap_init(ntp_leap_table *t, const char *filename);

/* Parse len bytes of leap-seconds.list text into t (call ntp_leap_init
 * first).  Returns the number of errors (0 = usable). */
unsigned ntp_leap_parse(ntp_leap_table *t, const char *text, size_t len);

/* "leap-seconds.list:12:1: error: ..." into buf.  Returns buf. */
char *ntp_leap_diag_format(const ntp_leap_table *t, const ntp_conf_diag *d, char *buf, size_t size);

/* Add a leap (step +1 or -1) taking effect at `when` (POSIX s, a multiple
 * of 86400) after every entry already there; TAI-UTC follows from the last
 * entry (10 s, the 1972 value, if the table is empty).  Returns false if
 * when is not a day boundary, not after the last entry, or the table is full. */
bool ntp_leap_add(ntp_leap_table *t, int64_t when, int step);

/* Expired at posix_s: no #@ line, or #@ <= posix_s. */
bool ntp_leap_expired(const ntp_leap_table *t, int64_t posix_s);

/* "leapsecond file ('NAME'): expired N days ago" (NTPsec's words) into buf
 * when expired at posix_s, else "" .  Returns buf. */
char *ntp_leap_expiry_text(const ntp_leap_table *t, int64_t posix_s, char *buf, size_t size);

/* The first leap (step != 0) whose `when` is after posix_s, into *out.
 * False when there is none. */
bool ntp_leap_next(const ntp_leap_table *t, int64_t posix_s, ntp_leap_entry *out);

/* TAI - UTC (s) at posix_s; 0 before the first entry. */
int ntp_leap_tai_utc(const ntp_leap_table *t, int64_t posix_s);

/* +1 (insert) or -1 (delete) when posix_s lies in the last UTC day before a
 * leap ([when - 86400, when)): the day a server announces it (LI 01/10);
 * 0 otherwise. */
int ntp_leap_pending(const ntp_leap_table *t, int64_t posix_s);

#endif
