/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for core/ntp_control.  Arbitrary bytes go into
 * ntp_control_answer with a small fixed snapshot (a LOCAL clock, an IPv4
 * server, an IPv6 symmetric peer).  Properties checked on every input:
 *   - nothing crashes, and the reason is always a terminated sentence;
 *   - no reply to anything but a well-formed request: an R, E or M bit, a
 *     non-zero offset, a short header or a bad version means out->n == 0;
 *   - every reply fragment decodes, is a response to the same opcode,
 *     sequence and association, fits NTP_SEND_MAX, is padded with zeros to
 *     4 bytes, and the fragments' offsets are contiguous with the More bit
 *     on all but the last;
 *   - a refused source (allowed = false) never gets a reply;
 *   - held to the request's size (ntp_control_cap, a remote stranger's
 *     cap), a reply sends at most that many bytes, and what it sends is
 *     still a well-formed reply to the same request.
 * The same input then goes to ntp_control_answer_mru with a small rate-limit
 * table (ntpq mrulist: REQ_NONCE, READ_MRU), under the same properties; a
 * READ_MRU without a nonce this host made gets no reply.  So that the
 * fuzzer gets past the nonce, the placeholder NONCE_SLOT in the input is
 * replaced by a valid nonce for the fixed requester.
 * Seeds: tests/fuzz/corpus/control/ (requests ntpq 1.2.2 sent, crafted
 * requests sent to ntpd ntpsec-1.2.2, READ_MRU requests ntpq 1.2.2 sends,
 * with the placeholder).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "ntp_control.h"

#define NOW (INT64_C(1795507750) * NTP_NS_PER_S) /* 2026-11-24, near the captures */

static void
snapshot(ntp_sys_info *sys, ntp_peer_info *p)
{
	memset(sys, 0, sizeof *sys);
	sys->stratum = 5;
	sys->precision = -20;
	sys->poll = 6;
	sys->rootdisp = 0.01;
	sys->refid = 0x7f7f0100u;
	sys->reftime = ntp_ts_make(0xeeafc4a3u, 0x0a0373c3u);
	sys->sys_peer = 1;
	sys->disc_state = 4;

	memset(p, 0, 3 * sizeof *p);
	p[0].assoc = 1;
	snprintf(p[0].remote, sizeof p[0].remote, "%s", "LOCAL(0)");
	snprintf(p[0].refid, sizeof p[0].refid, "%s", ".LOCL.");
	p[0].stratum = 4;
	p[0].type = 'l';
	p[0].when = 3;
	p[0].poll = 6;
	p[0].reach = 0377;
	p[0].tally = '*';

	p[1].assoc = 2;
	ntp_addr_parse("192.168.163.131", &p[1].addr);
	p[1].addr.port = 123;
	snprintf(p[1].remote, sizeof p[1].remote, "%s", "192.168.163.131");
	snprintf(p[1].refid, sizeof p[1].refid, "%s", "10.0.0.1");
	p[1].stratum = 3;
	p[1].type = 'u';
	p[1].when = 1e300; /* absurd values must not break the text */
	p[1].offset = -1e300;
	p[1].delay = NAN;
	p[1].tally = 'x';

	p[2].assoc = 65535;
	ntp_addr_parse("fe80::1", &p[2].addr);
	snprintf(p[2].remote, sizeof p[2].remote, "%s", "fe80::1");
	snprintf(p[2].refid, sizeof p[2].refid, "%s", ".IN,\"T.");
	p[2].type = 's';
	p[2].when = -1;
	p[2].tally = '?';
}

static void
check_reply(const uint8_t *req, size_t size, const ntp_control_reply *out)
{
	ntp_control_hdr q, h;
	size_t offset = 0;
	int rc = ntp_control_decode(req, size, &q, NULL, 0);

	/* Only well-formed requests (or ones whose lengths merely do not add
	 * up, which get BADFMT) are answered. */
	CHECK(rc == NTP_CONTROL_OK || rc == NTP_CONTROL_E_COUNT || rc == NTP_CONTROL_E_PADDING);
	CHECK(!q.response && !q.error && !q.more && q.offset == 0);
	CHECK(out->n >= 1 && out->n <= NTP_CONTROL_MAX_FRAGS);
	for (size_t i = 0; i < out->n; i++) {
		CHECK(out->len[i] <= NTP_CONTROL_FRAG_MAX && out->len[i] <= NTP_SEND_MAX);
		CHECK(ntp_control_decode(out->buf[i], out->len[i], &h, NULL, 0) == NTP_CONTROL_OK);
		CHECK(h.response && h.opcode == q.opcode && h.sequence == q.sequence);
		CHECK(h.assoc == q.assoc && h.version == q.version);
		CHECK(h.offset == offset && h.more == (i + 1 < out->n));
		CHECK(!h.error || (out->n == 1 && h.count == 0));
		CHECK(h.trailer < 4);
		for (size_t k = 0; k < h.trailer; k++) {
			CHECK(h.data[h.count + k] == 0);
		}
		offset += h.count;
	}
}

/* The amplification cap: at most `size` bytes, still a valid reply. */
static void
check_cap(const uint8_t *req, size_t size, ntp_control_reply *out)
{
	size_t total = 0;
	bool capped = ntp_control_cap(out, size);

	for (size_t i = 0; i < out->n; i++) {
		total += out->len[i];
	}
	CHECK(total <= size);
	if (capped) {
		CHECK(out->n == 1 && out->len[0] == NTP_CONTROL_HEADER_LEN);
	}
	check_reply(req, size, out);
}

#define NONCE_SLOT  "NNNNNNNNNNNNNNNNNNNNNNNN" /* 24 chars: a nonce's place in a seed */
#define MRU_SOURCES 5
#define MRU_TABLE   8 /* entries */
#define MAX_INPUT   2048

/* A table of five sources 10 s apart, a requester on loopback. */
static void
mru_table(ntp_server *s, ntp_server_mru *slots, ntp_control_mru *m)
{
	static const uint8_t key[16] = {7};
	ntp_serve_result r;

	ntp_server_init(s, slots, MRU_TABLE, -1, -1);
	ntp_server_set_hash_key(s, key);
	for (int i = 0; i < MRU_SOURCES; i++) {
		ntp_addr a;
		char text[32];

		snprintf(text, sizeof text, i % 2 ? "2001:db8::%d" : "192.0.2.%d", i + 1);
		ntp_addr_parse(text, &a);
		a.port = (uint16_t)(1000 + i);
		ntp_server_limit_control(
		        s, &a, 4, ntp_now_at((ntp_time)(i + 1) * 10 * NTP_NS_PER_S, NOW), &r);
	}
	memset(m, 0, sizeof *m);
	m->table = s;
	ntp_addr_parse("127.0.0.1", &m->from);
	m->from.port = 40000;
	m->mono = (MRU_SOURCES + 1) * 10 * NTP_NS_PER_S;
}

/* The input with a valid nonce in place of NONCE_SLOT (if it has one). */
static size_t
with_nonce(const uint8_t *data, size_t size, const ntp_control_mru *m, uint8_t *buf)
{
	size_t n = size < MAX_INPUT ? size : MAX_INPUT;
	size_t slot = sizeof NONCE_SLOT - 1;
	char nonce[25];

	memcpy(buf, data, n);
	for (size_t i = 0; i + slot <= n; i++) {
		if (memcmp(buf + i, NONCE_SLOT, slot) == 0) {
			ntp_control_nonce(m->table, &m->from, NOW, nonce);
			memcpy(buf + i, nonce, slot);
			break;
		}
	}
	return n;
}

static void
fuzz_mru(const uint8_t *data, size_t size, const ntp_sys_info *sys, const ntp_peer_info *peers)
{
	static ntp_control_reply out;
	static ntp_server_mru slots[MRU_TABLE + 1];
	static uint8_t buf[MAX_INPUT];
	ntp_server s;
	ntp_control_mru m;
	char reason[96];
	size_t n;
	int rc;

	mru_table(&s, slots, &m);
	n = with_nonce(data, size, &m, buf);
	rc = ntp_control_answer_mru(buf, n, true, sys, peers, 3, NOW, &m, &out, reason,
	                            sizeof reason);
	CHECK(memchr(reason, '\0', sizeof reason) != NULL && reason[0] != '\0');
	if (rc < 0) {
		CHECK(out.n == 0);
		return;
	}
	check_reply(buf, n, &out);
	/* a nonce from another requester is never taken */
	m.from.port++;
	rc = ntp_control_answer_mru(buf, n, true, sys, peers, 3, NOW, &m, &out, NULL, 0);
	if (rc == 0 && n >= 2 && (buf[1] & 0x1f) == NTP_CONTROL_OP_READ_MRU) {
		CHECK(out.n == 1 && (out.buf[0][1] & 0x40) != 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ntp_control_reply out;
	ntp_sys_info sys;
	ntp_peer_info peers[3];
	char reason[96];
	int rc;

	snapshot(&sys, peers);
	memset(reason, 'x', sizeof reason);
	rc = ntp_control_answer(data, size, true, &sys, peers, 3, NOW, &out, reason, sizeof reason);
	CHECK(memchr(reason, '\0', sizeof reason) != NULL && reason[0] != '\0');
	if (rc < 0) {
		CHECK(out.n == 0);
	} else {
		CHECK(rc == 0);
		check_reply(data, size, &out);
		check_cap(data, size, &out);
	}
	rc = ntp_control_answer(data, size, false, &sys, peers, 3, NOW, &out, NULL, 0);
	CHECK(rc < 0 && out.n == 0);
	fuzz_mru(data, size, &sys, peers);
	return 0;
}
