/* SPDX-License-Identifier: BSD-2-Clause */
/* core/ntp_restrict: ntpd's restrict list matching, source templates, flag names. */
#include <criterion/criterion.h>
#include <string.h>

#include "ntp_restrict.h"

static ntp_addr
res_ip(const char *s)
{
	ntp_addr a;

	cr_assert(ntp_addr_parse(s, &a), "parse %s", s);
	return a;
}

/* `restrict ADDR [mask MASK] FLAGS`; mask NULL = host mask. */
static ntp_restrict_entry
res_addr(const char *addr, const char *mask, uint32_t flags, int line)
{
	ntp_restrict_entry e;

	memset(&e, 0, sizeof e);
	e.kind = NTP_RES_ADDR;
	e.addr = res_ip(addr);
	e.mask = mask != NULL ? res_ip(mask)
	                      : ntp_addr_mask_from_prefix(e.addr.family,
	                                                  e.addr.family == NTP_AF_INET ? 32 : 128);
	e.flags = flags;
	e.line = line;
	return e;
}

/* `restrict [-4|-6] default FLAGS` (family NTP_AF_NONE = both). */
static ntp_restrict_entry
res_default(int family, uint32_t flags, int line)
{
	ntp_restrict_entry e;

	memset(&e, 0, sizeof e);
	e.kind = NTP_RES_DEFAULT;
	e.addr.family = (uint8_t)family;
	e.flags = flags;
	e.line = line;
	return e;
}

static ntp_restrict_match
res_lookup(const ntp_restrict_entry *v, size_t n, const char *from)
{
	ntp_addr a = res_ip(from);

	return ntp_restrict_lookup(v, n, &a);
}

Test(restrict, seed_lan_config_most_specific_wins)
{
	/* The seed's server: restrict default ignore, the LAN allowed to query. */
	ntp_restrict_entry v[] = {
	        res_default(NTP_AF_NONE, NTP_RES_IGNORE, 3),
	        res_addr("192.168.163.0", "255.255.255.0", NTP_RES_NOMODIFY | NTP_RES_NOTRAP, 4),
	        res_addr("127.0.0.1", NULL, 0, 5),
	};
	ntp_restrict_match m = res_lookup(v, 3, "192.168.163.132");

	cr_assert_eq(m.flags, NTP_RES_NOMODIFY | NTP_RES_NOTRAP);
	cr_assert_eq(m.entry, &v[1]);
	cr_assert_eq(m.entry->line, 4);

	m = res_lookup(v, 3, "10.0.0.1");
	cr_assert_eq(m.flags, NTP_RES_IGNORE);
	cr_assert_eq(m.entry, &v[0]);

	m = res_lookup(v, 3, "192.168.164.1"); /* just outside the /24 */
	cr_assert_eq(m.flags, NTP_RES_IGNORE);

	m = res_lookup(v, 3, "127.0.0.1"); /* a host entry without flags */
	cr_assert_eq(m.flags, 0u);
	cr_assert_eq(m.entry, &v[2]);
}

Test(restrict, default_covers_both_families_unless_limited)
{
	ntp_restrict_entry both[] = {res_default(NTP_AF_NONE, NTP_RES_NOQUERY, 1)};
	ntp_restrict_entry split[] = {
	        res_default(NTP_AF_INET, NTP_RES_IGNORE, 1),
	        res_default(NTP_AF_INET6, NTP_RES_NOPEER, 2),
	};
	ntp_restrict_entry v4_only[] = {res_default(NTP_AF_INET, NTP_RES_IGNORE, 1)};

	cr_assert_eq(res_lookup(both, 1, "::1").flags, NTP_RES_NOQUERY);
	cr_assert_eq(res_lookup(both, 1, "2001:db8::7").flags, NTP_RES_NOQUERY);
	cr_assert_eq(res_lookup(both, 1, "192.0.2.1").flags, NTP_RES_NOQUERY);

	cr_assert_eq(res_lookup(split, 2, "192.0.2.1").flags, NTP_RES_IGNORE);
	cr_assert_eq(res_lookup(split, 2, "2001:db8::7").flags, NTP_RES_NOPEER);
	cr_assert_eq(res_lookup(split, 2, "2001:db8::7").entry, &split[1]);

	/* -4 default only: an IPv6 client matches nothing and is unrestricted. */
	ntp_restrict_match m = res_lookup(v4_only, 1, "2001:db8::7");
	cr_assert_eq(m.flags, 0u);
	cr_assert_null(m.entry);
}

Test(restrict, ipv6_most_specific_and_no_cross_family)
{
	ntp_restrict_entry v[] = {
	        res_default(NTP_AF_NONE, NTP_RES_IGNORE, 1),
	        res_addr("2001:db8::", "ffff:ffff::", NTP_RES_NOQUERY, 2),
	        res_addr("2001:db8:1::", "ffff:ffff:ffff::", NTP_RES_NOTRAP, 3),
	        res_addr("0.0.0.0", "0.0.0.0", NTP_RES_LIMITED, 4), /* IPv4 only */
	};

	cr_assert_eq(res_lookup(v, 4, "2001:db8:1::5").flags, NTP_RES_NOTRAP);
	cr_assert_eq(res_lookup(v, 4, "2001:db8:2::5").flags, NTP_RES_NOQUERY);
	cr_assert_eq(res_lookup(v, 4, "2001:db9::5").flags, NTP_RES_IGNORE);
	/* 0.0.0.0/0 is the IPv4 default: it merges with `default` for IPv4. */
	cr_assert_eq(res_lookup(v, 4, "198.51.100.1").flags, NTP_RES_IGNORE | NTP_RES_LIMITED);
}

Test(restrict, longest_mask_wins_in_any_order)
{
	static const uint32_t f[4] = {NTP_RES_NOQUERY, NTP_RES_NOTRAP, NTP_RES_NOPEER,
	                              NTP_RES_NOMODIFY};
	ntp_restrict_entry base[4] = {
	        res_addr("10.0.0.0", "255.0.0.0", f[0], 1),
	        res_addr("10.1.0.0", "255.255.0.0", f[1], 2),
	        res_addr("10.1.2.0", "255.255.255.0", f[2], 3),
	        res_addr("10.1.2.3", NULL, f[3], 4),
	};
	static const struct {
		const char *addr;
		int want; /* index into base */
	} probe[] = {
	        {"10.1.2.3", 3},
	        {"10.1.2.4", 2},
	        {"10.1.3.3", 1},
	        {"10.2.2.3", 0},
	};
	int tried = 0;

	/* All 24 orders of the four lines: every base-4 tuple of distinct digits. */
	for (int code = 0; code < 256; code++) {
		int perm[4] = {code & 3, (code >> 2) & 3, (code >> 4) & 3, (code >> 6) & 3};
		unsigned seen = 0;
		ntp_restrict_entry v[4];
		for (int k = 0; k < 4; k++) {
			seen |= 1u << perm[k];
			v[k] = base[perm[k]];
		}
		if (seen != 0xfu) {
			continue;
		}
		for (size_t p = 0; p < sizeof probe / sizeof probe[0]; p++) {
			ntp_restrict_match m = res_lookup(v, 4, probe[p].addr);
			cr_assert_eq(m.flags, f[probe[p].want], "%s in order %d%d%d%d",
			             probe[p].addr, perm[0], perm[1], perm[2], perm[3]);
			cr_assert_eq(m.entry->line, probe[p].want + 1);
		}
		tried++;
	}
	cr_assert_eq(tried, 24);
	cr_assert_eq(res_lookup(base, 4, "11.0.0.1").flags, 0u);
	cr_assert_null(res_lookup(base, 4, "11.0.0.1").entry);
}

Test(restrict, equal_address_and_mask_combine_as_ntpd)
{
	/* ntpd hack_restrict(): a second line for the same address and mask
	 * adds its flags to the existing entry. */
	ntp_restrict_entry v[] = {
	        res_default(NTP_AF_NONE, NTP_RES_KOD | NTP_RES_LIMITED, 1),
	        res_addr("192.168.163.0", "255.255.255.0", NTP_RES_NOMODIFY, 2),
	        res_default(NTP_AF_NONE, NTP_RES_NOQUERY, 3),
	        /* an unmasked address names the same network */
	        res_addr("192.168.163.77", "255.255.255.0", NTP_RES_NOTRAP, 4),
	};
	ntp_restrict_match m = res_lookup(v, 4, "10.9.8.7");

	cr_assert_eq(m.flags, NTP_RES_KOD | NTP_RES_LIMITED | NTP_RES_NOQUERY);
	cr_assert_eq(m.entry, &v[0]);
	m = res_lookup(v, 4, "192.168.163.132");
	cr_assert_eq(m.flags, NTP_RES_NOMODIFY | NTP_RES_NOTRAP);
	cr_assert_eq(m.entry, &v[1]);
}

Test(restrict, ntpsec_measured_config)
{
	/* Run against NTPsec 1.2.2 in a network namespace: 127.0.0.2 got no
	 * answer (noserve kept, nomodify added), 127.0.0.4 was served (host
	 * entry beats the /8), 127.0.0.5 was not (the /8's noserve). */
	ntp_restrict_entry v[] = {
	        res_addr("127.0.0.2", NULL, NTP_RES_NOSERVE, 4),
	        res_addr("127.0.0.2", NULL, NTP_RES_NOMODIFY, 5),
	        res_addr("127.0.0.0", "255.0.0.0", NTP_RES_NOSERVE, 6),
	        res_addr("127.0.0.4", NULL, 0, 7),
	};

	cr_assert_eq(res_lookup(v, 4, "127.0.0.2").flags, NTP_RES_NOSERVE | NTP_RES_NOMODIFY);
	cr_assert_eq(res_lookup(v, 4, "127.0.0.4").flags, 0u);
	cr_assert_eq(res_lookup(v, 4, "127.0.0.5").flags, NTP_RES_NOSERVE);
}

Test(restrict, noncontiguous_mask_uses_ntpd_order)
{
	/* Both entries cover 10.1.1.5 with 16 mask bits; ntpd's list is sorted
	 * by descending masked address, so 10.1.0.0 beats 10.0.1.0. */
	ntp_restrict_entry v[] = {
	        res_addr("10.0.1.0", "255.0.255.0", NTP_RES_NOQUERY, 1),
	        res_addr("10.1.0.0", "255.255.0.0", NTP_RES_NOTRAP, 2),
	};

	cr_assert_eq(res_lookup(v, 2, "10.1.1.5").flags, NTP_RES_NOTRAP);
	cr_assert_eq(res_lookup(v, 2, "10.7.1.5").flags, NTP_RES_NOQUERY);
}

Test(restrict, mask_of_wrong_family_is_a_host_mask)
{
	ntp_restrict_entry v[] = {res_addr("10.0.0.1", NULL, NTP_RES_IGNORE, 1)};

	memset(&v[0].mask, 0, sizeof v[0].mask); /* family NONE, all zero */
	cr_assert_eq(res_lookup(v, 1, "10.0.0.1").flags, NTP_RES_IGNORE);
	cr_assert_eq(res_lookup(v, 1, "10.0.0.2").flags, 0u);
}

Test(restrict, empty_list_and_bad_input)
{
	ntp_addr none;
	ntp_restrict_entry v[] = {res_default(NTP_AF_NONE, NTP_RES_IGNORE, 1)};
	ntp_restrict_match m = res_lookup(NULL, 0, "192.0.2.1");

	cr_assert_eq(m.flags, 0u);
	cr_assert_null(m.entry);
	memset(&none, 0, sizeof none);
	m = ntp_restrict_lookup(v, 1, &none);
	cr_assert_eq(m.flags, 0u);
	m = ntp_restrict_lookup(v, 1, NULL);
	cr_assert_eq(m.flags, 0u);
	m = ntp_restrict_lookup(NULL, 3, &none);
	cr_assert_null(m.entry);
}

Test(restrict, multicast_sources_always_ignored)
{
	ntp_restrict_entry v[] = {res_default(NTP_AF_NONE, 0, 1)};

	cr_assert_eq(res_lookup(v, 1, "224.0.1.1").flags, NTP_RES_IGNORE);
	cr_assert_eq(res_lookup(v, 1, "239.255.0.1").flags, NTP_RES_IGNORE);
	cr_assert_eq(res_lookup(v, 1, "ff02::101").flags, NTP_RES_IGNORE);
	cr_assert_eq(res_lookup(v, 1, "223.255.255.255").flags, 0u);
	cr_assert_eq(res_lookup(v, 1, "fe80::1").flags, 0u);
}

Test(restrict, source_template_skipped_then_expanded)
{
	ntp_restrict_entry v[4];
	ntp_restrict_entry tmpl;
	ntp_addr server = res_ip("192.168.163.131");
	ntp_addr server6 = res_ip("2001:db8::123");

	memset(&tmpl, 0, sizeof tmpl);
	tmpl.kind = NTP_RES_SOURCE;
	tmpl.flags = NTP_RES_NOMODIFY | NTP_RES_NOQUERY | NTP_RES_NOTRAP;
	tmpl.line = 7;
	v[0] = res_default(NTP_AF_NONE, NTP_RES_IGNORE, 6);
	v[1] = tmpl;
	/* The template itself matches nothing. */
	cr_assert_eq(res_lookup(v, 2, "192.168.163.131").flags, NTP_RES_IGNORE);

	server.port = 123;
	v[2] = ntp_restrict_expand_source(&tmpl, &server);
	cr_assert_eq(v[2].kind, NTP_RES_ADDR);
	cr_assert(ntp_addr_same_host(&v[2].addr, &server));
	cr_assert_eq(v[2].addr.port, 0);
	cr_assert_eq(v[2].mask.family, NTP_AF_INET);
	cr_assert_eq(ntp_addr_prefix_len(&v[2].mask), 32);
	cr_assert_eq(v[2].flags, tmpl.flags);
	cr_assert_eq(v[2].line, 7);
	v[3] = ntp_restrict_expand_source(&tmpl, &server6);
	cr_assert_eq(ntp_addr_prefix_len(&v[3].mask), 128);

	cr_assert_eq(res_lookup(v, 4, "192.168.163.131").flags, tmpl.flags);
	cr_assert_eq(res_lookup(v, 4, "192.168.163.131").entry, &v[2]);
	cr_assert_eq(res_lookup(v, 4, "192.168.163.132").flags, NTP_RES_IGNORE);
	cr_assert_eq(res_lookup(v, 4, "2001:db8::123").flags, tmpl.flags);
	cr_assert_eq(res_lookup(v, 4, "2001:db8::124").flags, NTP_RES_IGNORE);
}

Test(restrict, flags_format)
{
	char buf[160];
	char small[6];

	cr_assert_str_eq(ntp_restrict_flags_format(0, buf, sizeof buf), "none");
	cr_assert_str_eq(
	        ntp_restrict_flags_format(NTP_RES_NOTRAP | NTP_RES_NOMODIFY, buf, sizeof buf),
	        "nomodify notrap");
	cr_assert_str_eq(ntp_restrict_flags_format(NTP_RES_KOD | NTP_RES_LIMITED | NTP_RES_NOPEER |
	                                                   NTP_RES_NOQUERY,
	                                           buf, sizeof buf),
	                 "noquery nopeer limited kod");
	cr_assert_str_eq(ntp_restrict_flags_format(NTP_RES_IGNORE | (1u << 20), buf, sizeof buf),
	                 "ignore 0x100000");
	/* Truncation keeps a terminated prefix; size 0 writes nothing. */
	cr_assert_eq(
	        ntp_restrict_flags_format(NTP_RES_NOMODIFY | NTP_RES_NOTRAP, small, sizeof small),
	        small);
	cr_assert_str_eq(small, "nomod");
	buf[0] = 'x';
	ntp_restrict_flags_format(NTP_RES_IGNORE, buf, 0);
	cr_assert_eq(buf[0], 'x');
}

Test(restrict, flag_names_round_trip)
{
	char buf[32];
	int named = 0;

	for (int bit = 0; bit < 32; bit++) {
		uint32_t f = 1u << bit;
		ntp_restrict_flags_format(f, buf, sizeof buf);
		if (strncmp(buf, "0x", 2) == 0) {
			continue;
		}
		cr_assert_eq(ntp_restrict_flag_from_name(buf), f, "%s", buf);
		named++;
	}
	cr_assert_eq(named, 13);
	cr_assert_eq(ntp_restrict_flag_from_name("nomodify"), NTP_RES_NOMODIFY);
	cr_assert_eq(ntp_restrict_flag_from_name("NOMODIFY"), 0u);
	cr_assert_eq(ntp_restrict_flag_from_name("lowpriotrap"), 0u);
	cr_assert_eq(ntp_restrict_flag_from_name(""), 0u);
	cr_assert_eq(ntp_restrict_flag_from_name(NULL), 0u);
}
