/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for core/ntp_query: arbitrary reply bytes.  Input: a
 * control byte, then the datagram.  Control bit 0 writes one of our
 * transmit timestamps into the origin field (bytes 24..31) so that the
 * checks past TEST2 are reached; bits 1..2 pick which of the three
 * requests it answers.  The datagram is judged twice (a replay).
 * Properties checked on every input:
 *   - judging never crashes and returns a known verdict;
 *   - anything but OK carries a reason, OK none; reasons are terminated;
 *   - the counters add up: every call is a reply, an ignored datagram or
 *     a duplicate; a replay of an answer is a duplicate (TEST1);
 *   - a usable sample has a finite offset and delay; a kiss leaves the
 *     server unusable and ends its requests;
 *   - the choice over the one server agrees with `have`.
 * Seeds: tests/fuzz/corpus/query/.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "ntp_pkt.h"
#include "ntp_query.h"

#define T1        (INT64_C(1795503373) * NTP_NS_PER_S) /* ns, local clock at the requests */
#define REQUESTS  3                                    /* requests out before the reply */
#define MAX_DGRAM 2048                                 /* bytes kept of the input */
#define ORG_AT    24                                   /* byte offset of the origin field */

static const ntp_query_params PAR = {.version = 4, .samples = 4, .gap = NTP_NS_PER_S};

static void
check_reason(ntp_query_verdict v, const char *why, size_t size)
{
	CHECK(v >= NTP_QUERY_OK && v <= NTP_QUERY_UNUSABLE);
	CHECK(fuzz_terminated(why, size));
	CHECK((v == NTP_QUERY_OK) == (why[0] == '\0'));
}

static void
check_state(const ntp_query_server *s, int calls, int dups)
{
	char buf[NTP_QUERY_WHY_MAX];
	ntp_query_result r = ntp_query_choose(s, 1, sizeof *s);

	CHECK(s->replies + s->ignored + dups == calls);
	CHECK(fuzz_terminated(s->unusable, sizeof s->unusable));
	CHECK(fuzz_terminated(s->ignored_why, sizeof s->ignored_why));
	CHECK(fuzz_terminated(s->kiss, sizeof s->kiss));
	if (s->have) {
		CHECK(s->measured && isfinite(s->offset) && isfinite(s->delay));
	}
	if (s->kod) {
		CHECK(!s->have && ntp_query_done(s, &PAR));
		CHECK(ntp_query_due(s, &PAR) == NTP_TIME_NEVER);
	}
	CHECK((r.chosen == 0) == s->have);
	CHECK((ntp_query_unsuitable(s, buf, sizeof buf)[0] == '\0') ==
	      (s->have || (!s->kod && s->unusable[0] == '\0')));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ntp_query_server s;
	uint8_t req[64], dgram[MAX_DGRAM];
	char why[NTP_QUERY_WHY_MAX];
	ntp_now t4 = ntp_now_at(T1 + 3000000, T1 + 3000000);
	ntp_query_verdict v1, v2;
	size_t len;
	int dups = 0;

	if (size < 1) {
		return 0;
	}
	len = size - 1 < sizeof dgram ? size - 1 : sizeof dgram;
	memcpy(dgram, data + 1, len);
	ntp_query_server_init(&s);
	for (int k = 0; k < REQUESTS; k++) {
		CHECK(ntp_query_request(&s, &PAR, UINT64_C(0x1c2d3e4f5a6b7c80) + (uint64_t)k,
		                        ntp_now_at(T1, T1), req, sizeof req) == NTP_PKT_HEADER_LEN);
	}
	if ((data[0] & 1) != 0 && len >= ORG_AT + 8) {
		ntp_ts64 org = s.xmt[((data[0] >> 1) & 3) % REQUESTS];

		for (int i = 0; i < 8; i++) {
			dgram[ORG_AT + i] = (uint8_t)(org >> (56 - 8 * i));
		}
	}
	v1 = ntp_query_reply(&s, &PAR, dgram, len, t4, why, sizeof why);
	check_reason(v1, why, sizeof why);
	dups += v1 == NTP_QUERY_DUP;
	check_state(&s, 1, dups);
	v2 = ntp_query_reply(&s, &PAR, dgram, len, t4, why, sizeof why);
	check_reason(v2, why, sizeof why);
	dups += v2 == NTP_QUERY_DUP;
	check_state(&s, 2, dups);
	if (v1 == NTP_QUERY_IGNORED) {
		CHECK(v2 == NTP_QUERY_IGNORED);
	} else {
		CHECK(v2 == NTP_QUERY_DUP);
	}
	return 0;
}
