/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_restrict: ntpd's access control list (the `restrict` directive).
 *
 * Matching as ntpd does it: of the entries whose address/mask covers the
 * source, the most specific (longest mask) wins; `restrict default` is the
 * /0 entry for IPv4 and for IPv6 (`-4`/`-6` limit it to one family); a second
 * line with the same address and mask adds its flags to the first (ntpd's
 * hack_restrict ORs them; checked on NTPsec 1.2.2).  `restrict source` is a
 * template: the host instantiates it as a /32 (/128) entry for each configured
 * server address, unless the list already has a host entry for that address
 * (ntpd adds nothing then).  With no matching entry nothing is restricted.
 */
#ifndef NTP_RESTRICT_H
#define NTP_RESTRICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp_addr.h"

/* Restrict flags, as in ntp.conf(5) / ntp_restrict.c. */
enum ntp_res_flag {
	NTP_RES_IGNORE = 1u << 0,   /* drop every packet */
	NTP_RES_NOSERVE = 1u << 1,  /* no time service (mode 3/1 requests dropped) */
	NTP_RES_NOQUERY = 1u << 2,  /* no mode 6/7 queries */
	NTP_RES_NOMODIFY = 1u << 3, /* no mode 6/7 writes */
	NTP_RES_NOTRAP = 1u << 4,   /* no mode 6 trap service */
	NTP_RES_NOPEER = 1u << 5,   /* no new symmetric passive associations */
	NTP_RES_NOTRUST = 1u << 6,  /* unauthenticated packets not trusted */
	NTP_RES_LIMITED = 1u << 7,  /* apply `discard` rate limits */
	NTP_RES_KOD = 1u << 8,      /* send KoD RATE when limited */
	NTP_RES_NOMRULIST = 1u << 9,
	NTP_RES_VERSION = 1u << 10,   /* only current version (4) served */
	NTP_RES_NOEPEER = 1u << 11,   /* no ephemeral peer associations, even authenticated
	                                 (ntp-4.2.8p11, CVE-2016-1549) */
	NTP_RES_PEERLIMIT = 1u << 12, /* `ippeerlimit N` given: the entry's ippeerlimit holds */
};

#define NTP_RES_NO_PEERLIMIT (-1) /* lookup result: no per-address peer limit */

enum ntp_res_kind {
	NTP_RES_ADDR = 0,    /* address + mask */
	NTP_RES_DEFAULT = 1, /* `restrict default` (family NTP_AF_NONE = both) */
	NTP_RES_SOURCE = 2,  /* `restrict source` template */
};

typedef struct ntp_restrict_entry {
	uint8_t kind;    /* enum ntp_res_kind */
	ntp_addr addr;   /* for NTP_RES_ADDR; family also for -4/-6 default */
	ntp_addr mask;   /* for NTP_RES_ADDR; host mask when none given */
	uint32_t flags;  /* enum ntp_res_flag bits */
	int ippeerlimit; /* peer associations per source address (ntp-4.2.8p11
	                    `ippeerlimit`), when flags has NTP_RES_PEERLIMIT */
	int line;        /* ntp.conf line, 0 if built-in */
} ntp_restrict_entry;

/* The result of a lookup: the flags to apply and the entry that gave them
 * (NULL when nothing matched: everything allowed). */
typedef struct ntp_restrict_match {
	uint32_t flags;
	int ippeerlimit; /* the smallest limit among the matching entries;
	                    NTP_RES_NO_PEERLIMIT: none set */
	const ntp_restrict_entry *entry;
} ntp_restrict_match;

/* Look up the flags for a source address among n entries (NTP_RES_SOURCE
 * templates are skipped: expand them with ntp_restrict_expand_source). */
ntp_restrict_match ntp_restrict_lookup(const ntp_restrict_entry *v, size_t n, const ntp_addr *from);

/* Build a host entry for server address addr from a `restrict source`
 * template. */
ntp_restrict_entry ntp_restrict_expand_source(const ntp_restrict_entry *tmpl, const ntp_addr *addr);

/* "nomodify notrap" etc. into buf; "none" when flags == 0.  Returns buf. */
char *ntp_restrict_flags_format(uint32_t flags, char *buf, size_t size);

/* Flag bit for a keyword ("nomodify" -> NTP_RES_NOMODIFY), 0 if unknown. */
uint32_t ntp_restrict_flag_from_name(const char *name);

#endif
