/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * netem_fw: a stateless packet filter for simulated links, the part of an
 * iptables/nftables rule set that NTP scenarios need ("firewall blocks UDP
 * 123"): an ordered list of rules, the first enabled rule that matches a
 * packet decides, and a packet no rule matches is accepted.
 *
 * Pure: the caller owns the rule array and flips `enabled` at timed events.
 */
#ifndef NETEM_FW_H
#define NETEM_FW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp_addr.h"

enum netem_fw_action {
	NETEM_FW_ACCEPT = 0,
	NETEM_FW_DROP,  /* silently discarded (nftables drop) */
	NETEM_FW_REJECT /* discarded; a real firewall would answer ICMP unreachable */
};

#define NETEM_FW_PROTO_UDP 17 /* IANA protocol number, RFC 768 */

typedef struct netem_fw_rule {
	char name[32];          /* for reports: "block-ntp" */
	ntp_addr src, src_mask; /* src.family 0 = any source; src_mask.family 0 =
	                           the whole address (a host rule) */
	ntp_addr dst, dst_mask; /* the same for the destination */
	uint8_t proto;          /* 17 = UDP, 0 = any */
	uint16_t sport, dport;  /* 0 = any */
	int action;             /* enum netem_fw_action */
	bool enabled;
} netem_fw_rule;

/* First enabled matching rule decides; no match = NETEM_FW_ACCEPT.  *hit (if
 * hit is not NULL) gets the deciding rule or NULL.  The ports of src and dst
 * are ignored: sport and dport are the packet's ports. */
int netem_fw_eval(const netem_fw_rule *rules, size_t n, const ntp_addr *src, const ntp_addr *dst,
                  uint8_t proto, uint16_t sport, uint16_t dport, const netem_fw_rule **hit);

/* "accept", "drop", "reject"; "?" for an unknown value. */
const char *netem_fw_action_name(int action);

#endif
