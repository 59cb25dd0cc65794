/* SPDX-License-Identifier: BSD-2-Clause */
#include "ntp_addr.h"

#include <arpa/inet.h>
#include <nettle/md5.h>
#include <string.h>

static size_t
addr_len(int family)
{
	return family == NTP_AF_INET ? 4 : family == NTP_AF_INET6 ? 16 : 0;
}

bool
ntp_addr_parse(const char *s, ntp_addr *out)
{
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, s, out->a) == 1) {
		out->family = NTP_AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, out->a) == 1) {
		out->family = NTP_AF_INET6;
		return true;
	}
	memset(out, 0, sizeof *out);
	return false;
}

char *
ntp_addr_format(const ntp_addr *a, char *buf, size_t size)
{
	int af = a->family == NTP_AF_INET ? AF_INET : AF_INET6;

	if (size == 0) {
		return buf;
	}
	if (a->family == NTP_AF_NONE || inet_ntop(af, a->a, buf, (socklen_t)size) == NULL) {
		buf[0] = '\0';
		if (size > 1) {
			buf[0] = '-';
			buf[1] = '\0';
		}
	}
	return buf;
}

bool
ntp_addr_same_host(const ntp_addr *x, const ntp_addr *y)
{
	return x->family == y->family && memcmp(x->a, y->a, addr_len(x->family)) == 0;
}

bool
ntp_addr_equal(const ntp_addr *x, const ntp_addr *y)
{
	return ntp_addr_same_host(x, y) && x->port == y->port;
}

bool
ntp_addr_match_masked(const ntp_addr *a, const ntp_addr *net, const ntp_addr *mask)
{
	if (a->family != net->family) {
		return false;
	}
	for (size_t i = 0; i < addr_len(a->family); i++) {
		if ((a->a[i] & mask->a[i]) != (net->a[i] & mask->a[i])) {
			return false;
		}
	}
	return true;
}

int
ntp_addr_prefix_len(const ntp_addr *mask)
{
	int n = 0;

	for (size_t i = 0; i < addr_len(mask->family); i++) {
		for (int b = 7; b >= 0; b--) {
			if ((mask->a[i] >> b & 1) == 0) {
				return n;
			}
			n++;
		}
	}
	return n;
}

ntp_addr
ntp_addr_mask_from_prefix(int family, int prefix_len)
{
	ntp_addr m;

	memset(&m, 0, sizeof m);
	m.family = (uint8_t)family;
	for (size_t i = 0; i < addr_len(family); i++) {
		int bits = prefix_len - (int)i * 8;
		m.a[i] = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
	return m;
}

bool
ntp_addr_is_loopback(const ntp_addr *a)
{
	static const uint8_t v6_loopback[16] = {[15] = 1};

	if (a->family == NTP_AF_INET) {
		return a->a[0] == 127;
	}
	return a->family == NTP_AF_INET6 && memcmp(a->a, v6_loopback, 16) == 0;
}

uint32_t
ntp_addr_refid(const ntp_addr *a)
{
	uint8_t digest[MD5_DIGEST_SIZE];
	const uint8_t *b = a->a;

	if (a->family == NTP_AF_INET6) {
		/* RFC 5905 §7.3: the first four bytes of the MD5 of the address */
		struct md5_ctx ctx;

		md5_init(&ctx);
		md5_update(&ctx, 16, a->a);
		md5_digest(&ctx, sizeof digest, digest);
		b = digest;
	}
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}
