/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_pcap: every simulated datagram as a classic libpcap file that
 * Wireshark and tshark read: nanosecond timestamps (magic 0xa1b23c4d),
 * LINKTYPE_RAW (101), and a synthesised IPv4 or IPv6 header plus a UDP
 * header with correct lengths and checksums in front of each NTP payload.
 * Timestamps are the simulator's true time of transmission (a tap on the
 * wire at the sender).
 */
#ifndef SIM_PCAP_H
#define SIM_PCAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ntp_addr.h"

typedef struct sim_pcap {
	FILE *f;
	uint64_t packets;
	uint16_t ip_id; /* IPv4 identification, counts up */
	int error;      /* a write failed */
} sim_pcap;

/* Create the file and write the global header.  Returns 0 or -1. */
int sim_pcap_open(sim_pcap *p, const char *path);

/* Append one datagram src -> dst (ports from the addresses) sent at true
 * time t_ns (ns since 1970).  The families of src and dst must match. */
void sim_pcap_write(sim_pcap *p, int64_t t_ns, const ntp_addr *src, const ntp_addr *dst,
                    const uint8_t *payload, size_t len);

/* Flush and close; returns -1 if any write failed. */
int sim_pcap_close(sim_pcap *p);

/* Build the IP + UDP datagram into buf (cap bytes); returns its length, 0
 * if it does not fit or the families differ.  Exposed for tests. */
size_t sim_pcap_datagram(uint8_t *buf, size_t cap, uint16_t ip_id, const ntp_addr *src,
                         const ntp_addr *dst, const uint8_t *payload, size_t len);

#endif
