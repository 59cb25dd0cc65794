/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pcap writer.  Formats: libpcap file format (pcap-savefile(5)), IPv4
 * header RFC 791, IPv6 header RFC 8200, UDP RFC 768, the Internet
 * checksum RFC 1071 over the pseudo-header (RFC 768 / RFC 8200 §8.1).
 */
#include "sim_pcap.h"

#include <string.h>

#define PCAP_MAGIC_NS      0xa1b23c4du /* nanosecond-resolution pcap */
#define PCAP_VERSION_MAJOR 2
#define PCAP_VERSION_MINOR 4
#define PCAP_SNAPLEN       65535  /* bytes */
#define LINKTYPE_RAW       101    /* raw IPv4/IPv6, tcpdump.org link-layer header types */
#define IPV4_HEADER_LEN    20     /* bytes, no options */
#define IPV6_HEADER_LEN    40     /* bytes */
#define UDP_HEADER_LEN     8      /* bytes */
#define IP_PROTO_UDP       17     /* IANA */
#define IPV4_TTL           64     /* hops, Linux default */
#define IPV4_DF            0x4000 /* don't-fragment flag */
#define DATAGRAM_MAX       1600   /* bytes: NTP payloads here are <= 1024 */

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void
put16le(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* One's-complement sum of 16-bit big-endian words (odd tail padded). */
static uint32_t
sum16(uint32_t acc, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		acc += ((uint32_t)p[i] << 8) | p[i + 1];
	}
	if (i < len) {
		acc += (uint32_t)p[i] << 8;
	}
	return acc;
}

static uint16_t
fold(uint32_t acc)
{
	while (acc >> 16) {
		acc = (acc & 0xffff) + (acc >> 16);
	}
	return (uint16_t)~acc;
}

size_t
sim_pcap_datagram(uint8_t *buf, size_t cap, uint16_t ip_id, const ntp_addr *src,
                  const ntp_addr *dst, const uint8_t *payload, size_t len)
{
	bool v4 = src->family == NTP_AF_INET;
	size_t iph = v4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN;
	size_t alen = v4 ? 4 : 16;
	size_t udp_len = UDP_HEADER_LEN + len;
	uint8_t *udp = buf + iph;
	uint32_t acc = 0;
	uint16_t csum;

	if (src->family != dst->family || src->family == NTP_AF_NONE || iph + udp_len > cap ||
	    udp_len > 0xffff) {
		return 0;
	}
	memset(buf, 0, iph + UDP_HEADER_LEN);
	if (v4) {
		buf[0] = 0x45; /* version 4, 5 words */
		put16(buf + 2, (uint16_t)(iph + udp_len));
		put16(buf + 4, ip_id);
		put16(buf + 6, IPV4_DF);
		buf[8] = IPV4_TTL;
		buf[9] = IP_PROTO_UDP;
		memcpy(buf + 12, src->a, 4);
		memcpy(buf + 16, dst->a, 4);
		put16(buf + 10, fold(sum16(0, buf, IPV4_HEADER_LEN)));
	} else {
		buf[0] = 0x60; /* version 6 */
		put16(buf + 4, (uint16_t)udp_len);
		buf[6] = IP_PROTO_UDP;
		buf[7] = IPV4_TTL; /* hop limit */
		memcpy(buf + 8, src->a, 16);
		memcpy(buf + 24, dst->a, 16);
	}
	put16(udp, src->port);
	put16(udp + 2, dst->port);
	put16(udp + 4, (uint16_t)udp_len);
	memcpy(udp + UDP_HEADER_LEN, payload, len);
	/* Pseudo-header: addresses, protocol, UDP length. */
	acc = sum16(acc, src->a, alen);
	acc = sum16(acc, dst->a, alen);
	acc += IP_PROTO_UDP;
	acc += (uint32_t)udp_len;
	acc = sum16(acc, udp, udp_len);
	csum = fold(acc);
	put16(udp + 6, csum == 0 ? 0xffff : csum); /* 0 means "no checksum" */
	return iph + udp_len;
}

int
sim_pcap_open(sim_pcap *p, const char *path)
{
	uint8_t h[24];

	memset(p, 0, sizeof(*p));
	p->f = fopen(path, "wb");
	if (p->f == NULL) {
		return -1;
	}
	put32le(h, PCAP_MAGIC_NS);
	put16le(h + 4, PCAP_VERSION_MAJOR);
	put16le(h + 6, PCAP_VERSION_MINOR);
	put32le(h + 8, 0);  /* thiszone */
	put32le(h + 12, 0); /* sigfigs */
	put32le(h + 16, PCAP_SNAPLEN);
	put32le(h + 20, LINKTYPE_RAW);
	if (fwrite(h, sizeof(h), 1, p->f) != 1) {
		p->error = 1;
	}
	return 0;
}

void
sim_pcap_write(sim_pcap *p, int64_t t_ns, const ntp_addr *src, const ntp_addr *dst,
               const uint8_t *payload, size_t len)
{
	uint8_t rec[16 + DATAGRAM_MAX];
	size_t n;
	int64_t sec, nsec;

	if (p->f == NULL) {
		return;
	}
	n = sim_pcap_datagram(rec + 16, DATAGRAM_MAX, p->ip_id++, src, dst, payload, len);
	if (n == 0) {
		return;
	}
	/* pcap seconds are unsigned 32-bit: clamp times outside 1970..2106. */
	if (t_ns < 0) {
		t_ns = 0;
	}
	sec = t_ns / 1000000000;
	nsec = t_ns % 1000000000;
	if (sec > UINT32_MAX) {
		sec = UINT32_MAX;
	}
	put32le(rec, (uint32_t)sec);
	put32le(rec + 4, (uint32_t)nsec);
	put32le(rec + 8, (uint32_t)n);
	put32le(rec + 12, (uint32_t)n);
	if (fwrite(rec, 16 + n, 1, p->f) != 1) {
		p->error = 1;
	}
	p->packets++;
}

int
sim_pcap_close(sim_pcap *p)
{
	int rc = p->error ? -1 : 0;

	if (p->f != NULL) {
		if (fclose(p->f) != 0) {
			rc = -1;
		}
		p->f = NULL;
	}
	return rc;
}
