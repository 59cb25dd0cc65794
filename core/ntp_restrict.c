/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_restrict: the `restrict` access list, matched the way ntpd matches it.
 *
 * Sources (behaviour, not code):
 *  - ntpd 4.2.8 and NTPsec ntpd/ntp_restrict.c keep one list per family,
 *    sorted by descending (address & mask), then descending mask, and take
 *    the first entry that covers the source.  For contiguous (CIDR) masks
 *    that is the longest mask; for odd masks such as 255.0.255.0 it is
 *    ntpd's order, which we reproduce by comparing the same two keys.
 *  - ntp_acc(5) / access.html: "restrict default, with no mask option,
 *    modifies both IPv4 and IPv6 default entries"; `-4`/`-6` limit it.
 *  - hack_restrict() (both ntpd and NTPsec): a second line with the same
 *    address and mask does not create a new entry; its flags are OR'ed into
 *    the existing one.  We therefore combine every entry whose masked
 *    address and mask equal the winner's.  Measured with NTPsec 1.2.2:
 *    `restrict 127.0.0.2 noserve` then `restrict 127.0.0.2 nomodify` still
 *    refuses 127.0.0.2.  (ntp_restrict.h says a later line replaces an
 *    earlier one; ntpd does not do that.)
 *  - restrictions(): a multicast source address is always RES_IGNORE.
 */
#include "ntp_restrict.h"

#include <stdio.h>
#include <string.h>

#define ADDR_BYTES_MAX 16 /* bytes of an IPv6 address */

static size_t
family_len(int family)
{
	return family == NTP_AF_INET ? 4 : family == NTP_AF_INET6 ? 16 : 0;
}

/* 224.0.0.0/4 (RFC 5771) or ff00::/8 (RFC 4291 §2.7). */
static bool
is_multicast(const ntp_addr *a)
{
	if (a->family == NTP_AF_INET) {
		return (a->a[0] & 0xf0) == 0xe0;
	}
	return a->family == NTP_AF_INET6 && a->a[0] == 0xff;
}

/* The network and mask an entry stands for in the source's family, or
 * false when the entry cannot apply to that family. */
static bool
entry_key(const ntp_restrict_entry *e, int family, uint8_t net[ADDR_BYTES_MAX],
          uint8_t mask[ADDR_BYTES_MAX])
{
	size_t n = family_len(family);

	memset(net, 0, ADDR_BYTES_MAX);
	memset(mask, 0, ADDR_BYTES_MAX);
	if (e->kind == NTP_RES_DEFAULT) {
		/* address 0, mask 0: covers the whole family */
		return e->addr.family == NTP_AF_NONE || e->addr.family == family;
	}
	if (e->kind != NTP_RES_ADDR || e->addr.family != family) {
		return false;
	}
	/* A mask of another family is a caller error; read it as the host
	 * mask (ntp.conf's default when no mask is given), never as /0. */
	if (e->mask.family == family) {
		memcpy(mask, e->mask.a, n);
	} else {
		memset(mask, 0xff, n);
	}
	for (size_t i = 0; i < n; i++) {
		net[i] = e->addr.a[i] & mask[i];
	}
	return true;
}

static bool
covers(const uint8_t net[ADDR_BYTES_MAX], const uint8_t mask[ADDR_BYTES_MAX], const ntp_addr *from)
{
	for (size_t i = 0; i < family_len(from->family); i++) {
		if ((from->a[i] & mask[i]) != net[i]) {
			return false;
		}
	}
	return true;
}

/* ntpd's list order (res_sorts_before4/6): higher network first, then
 * higher mask.  > 0 when (net1, mask1) sorts before (net2, mask2). */
static int
compare_specificity(const uint8_t *net1, const uint8_t *mask1, const uint8_t *net2,
                    const uint8_t *mask2, size_t n)
{
	int c = memcmp(net1, net2, n);

	return c != 0 ? c : memcmp(mask1, mask2, n);
}

/* The limit so far tightened by entry e's `ippeerlimit`, if it has one. */
static int
tighter_limit(int limit, const ntp_restrict_entry *e)
{
	if (!(e->flags & NTP_RES_PEERLIMIT) || e->ippeerlimit < 0) {
		return limit;
	}
	return limit == NTP_RES_NO_PEERLIMIT || e->ippeerlimit < limit ? e->ippeerlimit : limit;
}

ntp_restrict_match
ntp_restrict_lookup(const ntp_restrict_entry *v, size_t n, const ntp_addr *from)
{
	ntp_restrict_match m = {0, NTP_RES_NO_PEERLIMIT, NULL};
	uint8_t best_net[ADDR_BYTES_MAX], best_mask[ADDR_BYTES_MAX];
	uint8_t net[ADDR_BYTES_MAX], mask[ADDR_BYTES_MAX];
	size_t len;

	if (from == NULL || (v == NULL && n > 0)) {
		return m;
	}
	len = family_len(from->family);
	if (len == 0) {
		return m;
	}
	if (is_multicast(from)) {
		m.flags = NTP_RES_IGNORE; /* ntpd restrictions(): never talk to multicast */
		return m;
	}
	for (size_t i = 0; i < n; i++) {
		if (!entry_key(&v[i], from->family, net, mask) || !covers(net, mask, from)) {
			continue;
		}
		int c = m.entry == NULL ? 1
		                        : compare_specificity(net, mask, best_net, best_mask, len);
		if (c > 0) {
			m.entry = &v[i];
			m.flags = v[i].flags;
			m.ippeerlimit = tighter_limit(NTP_RES_NO_PEERLIMIT, &v[i]);
			memcpy(best_net, net, sizeof best_net);
			memcpy(best_mask, mask, sizeof best_mask);
		} else if (c == 0) {
			m.flags |= v[i].flags; /* same address and mask: hack_restrict ORs */
			m.ippeerlimit = tighter_limit(m.ippeerlimit, &v[i]);
		}
	}
	return m;
}

/* ntpd's restrict_source() adds nothing when a host entry for the address
 * already exists ("hands off": the configured line is more specific);
 * that check is the caller's, since with ntpd's OR rule an appended
 * duplicate would add the template's flags to it. */
ntp_restrict_entry
ntp_restrict_expand_source(const ntp_restrict_entry *tmpl, const ntp_addr *addr)
{
	ntp_restrict_entry e;

	memset(&e, 0, sizeof e);
	e.kind = NTP_RES_ADDR;
	if (addr != NULL && family_len(addr->family) != 0) {
		e.addr = *addr;
		e.addr.port = 0;
		e.mask = ntp_addr_mask_from_prefix(addr->family, (int)family_len(addr->family) * 8);
	}
	if (tmpl != NULL) {
		e.flags = tmpl->flags;
		e.ippeerlimit = tmpl->ippeerlimit;
		e.line = tmpl->line;
	}
	return e;
}

/* ntp.conf keywords in bit order (ntp_acc(5)). */
static const struct {
	uint32_t flag;
	const char *name;
} flag_names[] = {
        {NTP_RES_IGNORE, "ignore"},
        {NTP_RES_NOSERVE, "noserve"},
        {NTP_RES_NOQUERY, "noquery"},
        {NTP_RES_NOMODIFY, "nomodify"},
        {NTP_RES_NOTRAP, "notrap"},
        {NTP_RES_NOPEER, "nopeer"},
        {NTP_RES_NOTRUST, "notrust"},
        {NTP_RES_LIMITED, "limited"},
        {NTP_RES_KOD, "kod"},
        {NTP_RES_NOMRULIST, "nomrulist"},
        {NTP_RES_VERSION, "version"},
        {NTP_RES_NOEPEER, "noepeer"},
        {NTP_RES_PEERLIMIT, "ippeerlimit"},
};

#define N_FLAG_NAMES (sizeof flag_names / sizeof flag_names[0])

/* Append s (with a separating blank) to buf of size, truncating safely. */
static void
append_word(char *buf, size_t size, size_t *used, const char *s)
{
	int w;

	if (*used >= size) {
		return;
	}
	w = snprintf(buf + *used, size - *used, "%s%s", *used > 0 ? " " : "", s);
	if (w > 0) {
		*used += (size_t)w;
	}
}

char *
ntp_restrict_flags_format(uint32_t flags, char *buf, size_t size)
{
	size_t used = 0;
	uint32_t known = 0;
	char hex[16];

	if (buf == NULL || size == 0) {
		return buf;
	}
	buf[0] = '\0';
	if (flags == 0) {
		snprintf(buf, size, "none");
		return buf;
	}
	for (size_t i = 0; i < N_FLAG_NAMES; i++) {
		known |= flag_names[i].flag;
		if (flags & flag_names[i].flag) {
			append_word(buf, size, &used, flag_names[i].name);
		}
	}
	if (flags & ~known) {
		snprintf(hex, sizeof hex, "0x%x", (unsigned)(flags & ~known));
		append_word(buf, size, &used, hex);
	}
	return buf;
}

uint32_t
ntp_restrict_flag_from_name(const char *name)
{
	if (name == NULL) {
		return 0;
	}
	for (size_t i = 0; i < N_FLAG_NAMES; i++) {
		if (strcmp(name, flag_names[i].name) == 0) {
			return flag_names[i].flag;
		}
	}
	return 0;
}
