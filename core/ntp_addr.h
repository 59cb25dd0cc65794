/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_addr: an IPv4 or IPv6 address and UDP port as plain data, so the core
 * can compare, match and print addresses without a sockets API.  Bytes are in
 * network order; an IPv4 address uses a[0..3].
 */
#ifndef NTP_ADDR_H
#define NTP_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { NTP_AF_NONE = 0, NTP_AF_INET = 4, NTP_AF_INET6 = 6 };

#define NTP_PORT 123 /* UDP port, RFC 5905 §7.2 */

typedef struct ntp_addr {
	uint8_t family; /* NTP_AF_* */
	uint8_t a[16];
	uint16_t port; /* host order; 0 = unspecified */
} ntp_addr;

/* Parse a numeric IPv4 or IPv6 address (no port, no brackets).  Returns
 * true on success; hostnames are not resolved here. */
bool ntp_addr_parse(const char *s, ntp_addr *out);

/* "192.168.163.131" or "fe80::1" (no port); buf >= 46 bytes.  Returns buf. */
char *ntp_addr_format(const ntp_addr *a, char *buf, size_t size);

/* Same family and address bytes (ports ignored). */
bool ntp_addr_same_host(const ntp_addr *x, const ntp_addr *y);

/* Same host and same port. */
bool ntp_addr_equal(const ntp_addr *x, const ntp_addr *y);

/* (a & mask) == (net & mask), families equal. */
bool ntp_addr_match_masked(const ntp_addr *a, const ntp_addr *net, const ntp_addr *mask);

/* Number of leading one bits in a mask (its prefix length). */
int ntp_addr_prefix_len(const ntp_addr *mask);

/* A mask of the given prefix length in a family. */
ntp_addr ntp_addr_mask_from_prefix(int family, int prefix_len);

/* 127.0.0.0/8 or ::1. */
bool ntp_addr_is_loopback(const ntp_addr *a);

/* The refid an IPv4 server's clients see for it; for IPv6 the first four
 * bytes of the MD5 of the address, as ntpd does (RFC 5905 §7.3). */
uint32_t ntp_addr_refid(const ntp_addr *a);

#endif
