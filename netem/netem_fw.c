/* SPDX-License-Identifier: BSD-2-Clause */
/* netem_fw: first-match packet filter over address/mask, protocol and ports. */
#include "netem_fw.h"

static bool
addr_matches(const ntp_addr *a, const ntp_addr *net, const ntp_addr *mask)
{
	if (net->family == NTP_AF_NONE) {
		return true;
	}
	if (mask->family == NTP_AF_NONE) {
		return ntp_addr_same_host(a, net);
	}
	/* A mask of the other family never matches: a v4 /8 is not a v6 rule. */
	return mask->family == net->family && ntp_addr_match_masked(a, net, mask);
}

static bool
rule_matches(const netem_fw_rule *r, const ntp_addr *src, const ntp_addr *dst, uint8_t proto,
             uint16_t sport, uint16_t dport)
{
	return (r->proto == 0 || r->proto == proto) && (r->sport == 0 || r->sport == sport) &&
	       (r->dport == 0 || r->dport == dport) && addr_matches(src, &r->src, &r->src_mask) &&
	       addr_matches(dst, &r->dst, &r->dst_mask);
}

int
netem_fw_eval(const netem_fw_rule *rules, size_t n, const ntp_addr *src, const ntp_addr *dst,
              uint8_t proto, uint16_t sport, uint16_t dport, const netem_fw_rule **hit)
{
	if (hit != NULL) {
		*hit = NULL;
	}
	for (size_t i = 0; rules != NULL && i < n; i++) {
		if (rules[i].enabled && rule_matches(&rules[i], src, dst, proto, sport, dport)) {
			if (hit != NULL) {
				*hit = &rules[i];
			}
			return rules[i].action;
		}
	}
	return NETEM_FW_ACCEPT;
}

const char *
netem_fw_action_name(int action)
{
	switch (action) {
	case NETEM_FW_ACCEPT:
		return "accept";
	case NETEM_FW_DROP:
		return "drop";
	case NETEM_FW_REJECT:
		return "reject";
	default:
		return "?";
	}
}
