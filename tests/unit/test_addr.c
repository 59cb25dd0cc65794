/* SPDX-License-Identifier: BSD-2-Clause */
/* core/ntp_addr (its IPv6 refid is an MD5, from nettle). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "ntp_addr.h"

Test(addr, parse_format_and_mask)
{
	ntp_addr a, net, mask;
	char buf[64];

	cr_assert(ntp_addr_parse("192.168.163.132", &a));
	cr_assert_eq(a.family, NTP_AF_INET);
	cr_assert(ntp_addr_parse("192.168.163.0", &net));
	cr_assert(ntp_addr_parse("255.255.255.0", &mask));
	cr_assert(ntp_addr_match_masked(&a, &net, &mask));
	cr_assert_eq(ntp_addr_prefix_len(&mask), 24);
	cr_assert_str_eq(ntp_addr_format(&a, buf, sizeof buf), "192.168.163.132");
	cr_assert(ntp_addr_parse("fe80::1", &a));
	cr_assert_eq(a.family, NTP_AF_INET6);
	cr_assert_str_eq(ntp_addr_format(&a, buf, sizeof buf), "fe80::1");
	cr_assert_not(ntp_addr_parse("host131", &a));
	cr_assert_not(ntp_addr_parse("300.1.1.1", &a));
	ntp_addr m = ntp_addr_mask_from_prefix(NTP_AF_INET6, 65);
	cr_assert_eq(ntp_addr_prefix_len(&m), 65);
}

Test(addr, refid)
{
	ntp_addr a;

	ntp_addr_parse("192.168.163.131", &a);
	cr_assert_eq(ntp_addr_refid(&a), 0xc0a8a383u);
	ntp_addr_parse("::1", &a);
	cr_assert(ntp_addr_is_loopback(&a));
	/* md5(::1 as 16 bytes) = cf404dc8... -> refid 0xcf404dc8 */
	cr_assert_eq(ntp_addr_refid(&a), 0xcf404dc8u);
}
