/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for core/ntp_pkt.  Properties checked on every input:
 *   - decoding never crashes; a refusal carries its code, a reason and an
 *     offset inside the datagram (or at the size limit);
 *   - a packet that decodes re-encodes to exactly the input bytes (the
 *     decoder accounts for every byte), decodes again to the same fields,
 *     and is refused with E_BUFFER by a buffer one byte short;
 *   - the refid formatter and the name lookups accept any value and never
 *     write past the size they are given.
 * Seeds: tests/fuzz/corpus/pkt/ (scripts/capture-golden.sh writes them).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "ntp_pkt.h"

static void
check_refused(int rc, const ntp_pkt_err *err, size_t size)
{
	CHECK(err->code == rc);
	CHECK(err->msg[0] != '\0');
	CHECK(memchr(err->msg, '\0', sizeof err->msg) != NULL);
	CHECK(err->offset <= size || (rc == NTP_PKT_E_TOO_LONG && err->offset == NTP_PKT_MAX_LEN));
}

/* p and q hold the same fields; extension values are compared by content
 * since they point into different buffers. */
static void
check_same(const ntp_pkt *p, const ntp_pkt *q)
{
	unsigned i;

	CHECK(p->leap == q->leap && p->version == q->version && p->mode == q->mode);
	CHECK(p->stratum == q->stratum && p->poll == q->poll && p->precision == q->precision);
	CHECK(p->rootdelay == q->rootdelay && p->rootdisp == q->rootdisp && p->refid == q->refid);
	CHECK(p->reftime == q->reftime && p->org == q->org && p->rec == q->rec && p->xmt == q->xmt);
	CHECK(p->n_ext == q->n_ext && p->n_ext <= NTP_PKT_MAX_EXT);
	for (i = 0; i < p->n_ext; i++) {
		CHECK(p->ext[i].type == q->ext[i].type && p->ext[i].length == q->ext[i].length);
		CHECK(memcmp(p->ext[i].value, q->ext[i].value, (size_t)p->ext[i].length - 4) == 0);
	}
	CHECK(p->has_mac == q->has_mac && p->keyid == q->keyid && p->digest_len == q->digest_len);
	CHECK(memcmp(p->digest, q->digest, sizeof p->digest) == 0);
}

static void
check_round_trip(const uint8_t *data, size_t size, const ntp_pkt *p)
{
	uint8_t out[NTP_PKT_MAX_LEN];
	size_t len = 0;
	ntp_pkt q;
	ntp_pkt_err err;

	CHECK(ntp_pkt_encode(p, out, sizeof out, &len) == NTP_PKT_OK);
	CHECK(len == size);
	CHECK(memcmp(out, data, size) == 0);
	CHECK(ntp_pkt_decode(out, len, &q, &err) == NTP_PKT_OK);
	check_same(p, &q);
	CHECK(ntp_pkt_encode(p, out, len - 1, &len) == NTP_PKT_E_BUFFER);
	CHECK(len == size);
	CHECK(ntp_pkt_is_kod(p) == (p->stratum == 0 && (p->mode == 2 || p->mode == 4)));
}

static void
check_refid_format(const uint8_t *data, size_t size)
{
	char text[17];
	size_t cap;
	uint32_t refid;

	if (size < 6) {
		return;
	}
	refid = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 |
	        data[3];
	cap = data[5] % sizeof text;
	memset(text, 'Z', sizeof text);
	CHECK(ntp_pkt_refid_format(refid, data[4], text, cap) == text);
	if (cap > 0) {
		CHECK(memchr(text, '\0', cap) != NULL);
	}
	for (size_t i = cap; i < sizeof text; i++) {
		CHECK(text[i] == 'Z');
	}
	CHECK(ntp_pkt_mode_name((int8_t)data[4]) != NULL);
	CHECK(ntp_pkt_leap_name((int8_t)data[5]) != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ntp_pkt p;
	ntp_pkt_err err;
	int rc = ntp_pkt_decode(data, size, &p, &err);

	if (rc < 0) {
		check_refused(rc, &err, size);
	} else if (rc == NTP_PKT_OK) {
		check_round_trip(data, size, &p);
	} else {
		CHECK(rc == (p.mode == NTP_MODE_CONTROL ? NTP_PKT_IS_CONTROL : NTP_PKT_IS_PRIVATE));
		CHECK(size >= 1 && p.mode == (data[0] & 7));
	}
	check_refid_format(data, size);
	return 0;
}
