/* SPDX-License-Identifier: BSD-2-Clause */
/* refd/refd_workers: which datagrams a worker thread puts to the host
 * itself and which go to the core thread. */
#include <criterion/criterion.h>
#include <string.h>

#include "ntp_pkt.h"
#include "refd_workers.h"

Test(refd_workers, only_plain_mode_3_requests_stay_on_the_worker)
{
	uint8_t b[NTP_PKT_HEADER_LEN + 24];

	memset(b, 0, sizeof b);
	b[0] = (4u << 3) | NTP_MODE_CLIENT;
	cr_assert(refd_workers_plain_request(b, NTP_PKT_HEADER_LEN));
	b[0] = (3u << 6) | (1u << 3) | NTP_MODE_CLIENT; /* LI and version are the host's to judge */
	cr_assert(refd_workers_plain_request(b, NTP_PKT_HEADER_LEN));
	/* a MAC (key id + digest) or an extension field: the core thread */
	cr_assert_not(refd_workers_plain_request(b, NTP_PKT_HEADER_LEN + 20));
	cr_assert_not(refd_workers_plain_request(b, NTP_PKT_HEADER_LEN - 1));
	for (unsigned mode = 0; mode < 8; mode++) {
		b[0] = (uint8_t)((4u << 3) | mode);
		cr_assert_eq(refd_workers_plain_request(b, NTP_PKT_HEADER_LEN),
		             mode == NTP_MODE_CLIENT, "mode %u", mode);
	}
}
