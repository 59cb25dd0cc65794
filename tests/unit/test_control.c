/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/ntp_control: mode 6 for ntpq.  The golden files in
 * tests/data/control/ hold what NTPsec 1.2.2's ntpq sent to ntpd
 * ntpsec-1.2.2 (-p, -c rv, -c as, -c "rv 17767", unsynchronised rv/pe/as)
 * and crafted requests with ntpd's replies; the tests feed the real
 * requests in and compare with what ntpd answered.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_fixture.h"
#include "ntp_control.h"
#include "ntp_disc.h"

#ifndef NTPLAB_TEST_DATA
#error "NTPLAB_TEST_DATA must name tests/data"
#endif

#define NTPQ_TSV       NTPLAB_TEST_DATA "/control/ntpsec-ntpq.tsv"
#define PROBES_TSV     NTPLAB_TEST_DATA "/control/ntpsec-probes.tsv"
#define MAX_RECS       160
#define MAX_BYTES      1100
#define TEXT_CAP       (NTP_CONTROL_MAX_FRAGS * NTP_CONTROL_MAX_DATA + 1)
#define CAPTURED_ASSOC 17767 /* ntpd's association id for LOCAL(0) in the captures */

/* 2026-11-24 08:09:10 UTC, near the captures. */
static const ntp_time NOW = INT64_C(1795507750) * NTP_NS_PER_S;

typedef struct rec {
	char name[64];
	char dir[8];
	uint8_t b[MAX_BYTES];
	size_t len;
} golden_rec;

typedef struct recs {
	size_t n;
	golden_rec r[MAX_RECS];
} recs;

static int
hexval(int c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	return -1;
}

static void
load_tsv(const char *path, recs *out)
{
	FILE *f = fopen(path, "r");
	char line[4096];

	cr_assert_not_null(f, "cannot open %s", path);
	out->n = 0;
	while (fgets(line, sizeof line, f) != NULL) {
		char *name = strtok(line, "\t\n");
		char *dir = strtok(NULL, "\t\n");
		char *hex = strtok(NULL, "\t\n");
		golden_rec *r;

		if (name == NULL || name[0] == '#' || dir == NULL || hex == NULL) {
			continue;
		}
		cr_assert_lt(out->n, MAX_RECS);
		r = &out->r[out->n++];
		snprintf(r->name, sizeof r->name, "%s", name);
		snprintf(r->dir, sizeof r->dir, "%s", dir);
		r->len = 0;
		for (size_t i = 0; hex[i] != '\0' && hex[i + 1] != '\0' && hex[0] != '-'; i += 2) {
			cr_assert_lt(r->len, MAX_BYTES);
			r->b[r->len++] = (uint8_t)(hexval(hex[i]) << 4 | hexval(hex[i + 1]));
		}
	}
	fclose(f);
	cr_assert_gt(out->n, 0);
}

/* The host ntpd was in while the ntpq captures ran: LOCAL(0) at stratum 4
 * selected, stratum 5, FREQ state (no drift file). */
static void
synced_snapshot(ntp_sys_info *sys, ntp_peer_info *p)
{
	memset(sys, 0, sizeof *sys);
	sys->leap = 0;
	sys->stratum = 5;
	sys->precision = -24;
	sys->poll = 3;
	sys->rootdelay = 0.0;
	sys->rootdisp = 0.072657;
	sys->refid = 0x7f7f0100u; /* 127.127.1.0 */
	sys->reftime = ntp_ts_make(0xeeafc4a3u, 0x0a0373c3u);
	sys->sys_peer = CAPTURED_ASSOC;
	sys->disc_state = NTP_DISC_FREQ;

	memset(p, 0, sizeof *p);
	p->assoc = CAPTURED_ASSOC;
	snprintf(p->remote, sizeof p->remote, "LOCAL(0)");
	snprintf(p->refid, sizeof p->refid, ".LOCL.");
	p->stratum = 4;
	p->type = 'l';
	p->when = 5.0;
	p->poll = 3;
	p->reach = 0x0f; /* as when the crafted probes ran */
	p->tally = '*';
	p->status = 0x961a; /* ntpd: configured, reachable, sys.peer; 1 event, sys_peer */
	p->received = 4;
	p->sent = 4;
}

/* ntpd 0.3 s after its start: nothing heard, restart the last event. */
static void
unsynced_snapshot(ntp_sys_info *sys, ntp_peer_info *p)
{
	synced_snapshot(sys, p);
	sys->leap = 3;
	sys->stratum = 16;
	sys->poll = 0;
	sys->rootdisp = 0.0;
	sys->refid = 0x494e4954u; /* "INIT" */
	sys->reftime = 0;
	sys->sys_peer = 0;
	sys->disc_state = NTP_DISC_NSET;
	p->reach = 0;
	p->tally = ' ';
	p->status = 0x8011; /* ntpd at start: configured; 1 event, mobilize */
	p->received = 0;
	p->when = -1.0;
	p->disp = 16.0;
	p->leap = 3;
	p->jitter = 60e-9; /* ntpd showed jitter=0.000060 (ms) */
}

/* Checks every fragment of a reply against the request and against
 * RFC 9327's framing, and returns the reassembled data. */
static size_t
reassemble(const ntp_control_reply *out, const uint8_t *req, char *text, size_t cap)
{
	ntp_control_hdr h;
	size_t total = 0;
	char why[128];

	cr_assert_geq(out->n, 1);
	cr_assert_leq(out->n, NTP_CONTROL_MAX_FRAGS);
	for (size_t i = 0; i < out->n; i++) {
		cr_assert_leq(out->len[i], NTP_CONTROL_FRAG_MAX);
		cr_assert_leq(out->len[i], NTP_SEND_MAX);
		cr_assert_eq(ntp_control_decode(out->buf[i], out->len[i], &h, why, sizeof why),
		             NTP_CONTROL_OK, "fragment %zu: %s", i, why);
		cr_assert(h.response);
		cr_assert_eq(h.opcode, req[1] & 0x1f);
		cr_assert_eq(h.sequence, req[2] << 8 | req[3]);
		cr_assert_eq(h.assoc, req[6] << 8 | req[7]);
		cr_assert_eq(h.version, (req[0] >> 3) & 7);
		cr_assert_eq(h.offset, total, "fragment %zu at offset %u, expected %zu", i,
		             (unsigned)h.offset, total);
		cr_assert_eq(h.more, i + 1 < out->n);
		cr_assert_lt(h.trailer, 4, "padding beyond the next multiple of 4");
		for (size_t k = 0; k < h.trailer; k++) {
			cr_assert_eq(h.data[h.count + k], 0, "padding must be zeros");
		}
		cr_assert_leq(total + h.count, cap - 1);
		memcpy(text + total, h.data, h.count);
		total += h.count;
	}
	text[total] = '\0';
	return total;
}

/* Value of name in a "a=1, b=2,\r\nc=3\r\n" list, copied into val.
 * Returns false when absent. */
static bool
var_value(const char *text, const char *name, char *val, size_t size)
{
	size_t n = strlen(name);
	const char *p = text;

	while (*p != '\0') {
		while (*p == ' ' || *p == ',' || *p == '\r' || *p == '\n') {
			p++;
		}
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			const char *v = p + n + 1;
			size_t k = 0;
			bool quoted = false;

			while (v[k] != '\0' && (quoted || (v[k] != ',' && v[k] != '\r'))) {
				if (v[k] == '"') {
					quoted = !quoted;
				}
				k++;
			}
			snprintf(val, size, "%.*s", (int)k, v);
			return true;
		}
		while (*p != '\0' && *p != ',') {
			if (*p == '"') {
				p = strchr(p + 1, '"');
				if (p == NULL) {
					return false;
				}
			}
			p++;
		}
	}
	return false;
}

static void
assert_same_value(const char *ours, const char *theirs, const char *name)
{
	char a[300], b[300];

	cr_assert(var_value(ours, name, a, sizeof a), "we do not send %s", name);
	cr_assert(var_value(theirs, name, b, sizeof b), "ntpd did not send %s", name);
	cr_assert_str_eq(a, b, "%s: ours %s, ntpd %s", name, a, b);
}

/* ntpd's reply data to a request, fragments joined in offset order. */
static size_t
ntpd_text(const recs *rs, size_t req_index, char *text, size_t cap)
{
	size_t total = 0;
	ntp_control_hdr h;

	for (size_t i = req_index + 1; i < rs->n && strcmp(rs->r[i].dir, "resp") == 0; i++) {
		cr_assert_eq(ntp_control_decode(rs->r[i].b, rs->r[i].len, &h, NULL, 0),
		             NTP_CONTROL_OK);
		cr_assert_leq((size_t)h.offset + h.count, cap - 1);
		memcpy(text + h.offset, h.data, h.count);
		if ((size_t)h.offset + h.count > total) {
			total = (size_t)h.offset + h.count;
		}
	}
	text[total] = '\0';
	return total;
}

static int
answer(const uint8_t *req, size_t len, const ntp_sys_info *sys, const ntp_peer_info *peers,
       size_t n, ntp_control_reply *out, char *why)
{
	return ntp_control_answer(req, len, true, sys, peers, n, NOW, out, why, 128);
}

static void
make_req(uint8_t *b, uint8_t op, uint16_t seq, uint16_t assoc, const char *data, size_t *len)
{
	size_t count = data != NULL ? strlen(data) : 0;

	memset(b, 0, 12 + count + 4);
	b[0] = 0x16; /* LI 0, version 2, mode 6: what ntpq 1.2.2 sends (with LI 3) */
	b[1] = op;
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	b[6] = (uint8_t)(assoc >> 8);
	b[7] = (uint8_t)assoc;
	b[10] = (uint8_t)(count >> 8);
	b[11] = (uint8_t)count;
	if (count > 0) {
		memcpy(b + 12, data, count);
	}
	*len = (12 + count + 3) & ~(size_t)3;
}

/* ---- the real ntpq requests ---- */

Test(control, ntpq_requests_get_what_ntpd_answered)
{
	static recs rs;
	static ntp_control_reply out;
	static char ours[TEXT_CAP], theirs[TEXT_CAP];
	ntp_sys_info sys;
	ntp_peer_info peer;
	char why[128];
	unsigned checked = 0;

	load_tsv(NTPQ_TSV, &rs);
	for (size_t i = 0; i < rs.n; i++) {
		const golden_rec *q = &rs.r[i];
		const golden_rec *last = NULL;
		ntp_control_hdr qh, ours_h, ntpd_h;

		if (strcmp(q->dir, "req") != 0) {
			continue;
		}
		if (strcmp(q->name, "unsync") == 0) {
			unsynced_snapshot(&sys, &peer);
		} else {
			synced_snapshot(&sys, &peer);
			peer.reach = 0xff;
		}
		for (size_t k = i + 1; k < rs.n && strcmp(rs.r[k].dir, "resp") == 0; k++) {
			last = &rs.r[k];
		}
		cr_assert_not_null(last, "%s: request without ntpd reply", q->name);
		ntpd_text(&rs, i, theirs, sizeof theirs);
		if (var_value(theirs, "reach", why, sizeof why)) {
			peer.reach =
			        (uint8_t)strtoul(why, NULL, 16); /* it grows capture by capture */
		}
		cr_assert_eq(answer(q->b, q->len, &sys, &peer, 1, &out, why), 0, "%s: %s", q->name,
		             why);
		cr_assert_eq(ntp_control_decode(q->b, q->len, &qh, NULL, 0), NTP_CONTROL_OK);
		reassemble(&out, q->b, ours, sizeof ours);

		/* Same first byte (leap and version), opcode, status word. */
		ntp_control_decode(out.buf[out.n - 1], out.len[out.n - 1], &ours_h, NULL, 0);
		ntp_control_decode(last->b, last->len, &ntpd_h, NULL, 0);
		cr_assert_eq(out.buf[0][0], last->b[0], "%s: byte 0 %02x, ntpd %02x", q->name,
		             out.buf[0][0], last->b[0]);
		cr_assert_eq(ours_h.status, ntpd_h.status, "%s op %u: status %04x, ntpd %04x",
		             q->name, qh.opcode, ours_h.status, ntpd_h.status);
		if (qh.opcode == NTP_CONTROL_OP_READSTAT) {
			cr_assert_eq(ours_h.count, ntpd_h.count);
			cr_assert_eq(memcmp(ours_h.data, ntpd_h.data, ntpd_h.count), 0,
			             "%s: association list differs", q->name);
		} else if (qh.assoc != 0) {
			static const char *same[] = {"srcadr",  "srcport", "leap",   "hmode",
			                             "stratum", "ppoll",   "hpoll",  "refid",
			                             "delay",   "offset",  "jitter", "pmode",
			                             "srchost", "reach"};
			char val[64];

			for (size_t k = 0; k < sizeof same / sizeof same[0]; k++) {
				assert_same_value(ours, theirs, same[k]);
			}
			/* What ntpq -p also needs: "when" comes from rec. */
			cr_assert(var_value(ours, "rec", val, sizeof val));
			cr_assert(var_value(ours, "dispersion", val, sizeof val));
		} else {
			static const char *same[] = {
			        "leap",      "stratum",    "precision", "rootdelay", "rootdisp",
			        "refid",     "reftime",    "tc",        "peer",      "offset",
			        "frequency", "sys_jitter", "clk_wander"};
			char val[64];

			for (size_t k = 0; k < sizeof same / sizeof same[0]; k++) {
				assert_same_value(ours, theirs, same[k]);
			}
			cr_assert(var_value(ours, "version", val, sizeof val));
			cr_assert_str_eq(val, "\"ntplab " NTPLAB_VERSION "\"");
			cr_assert(var_value(ours, "clock", val, sizeof val));
		}
		checked++;
	}
	cr_assert_geq(checked, 14, "only %u requests in %s", checked, NTPQ_TSV);
}

/* ---- ntpd's answers to crafted requests ---- */

static bool
is_known_deviation(const char *name)
{
	/* ntpd hands out nonces for mrulist (and ignores a READ_MRU without
	 * one); ntp_control_answer has no MRU context (ntp_control_answer_mru
	 * has: the control/read_mru_* tests): bad opcode. */
	return strcmp(name, "op-10-mru") == 0 || strcmp(name, "op-12-nonce") == 0;
}

Test(control, crafted_requests_match_ntpd)
{
	static recs rs;
	static ntp_control_reply out;
	ntp_sys_info sys;
	ntp_peer_info peer;
	char why[128];
	unsigned exact = 0, dropped = 0, errors = 0;

	load_tsv(PROBES_TSV, &rs);
	synced_snapshot(&sys, &peer);
	for (size_t i = 0; i < rs.n; i++) {
		const golden_rec *q = &rs.r[i];
		const golden_rec *r = i + 1 < rs.n ? &rs.r[i + 1] : NULL;
		bool allowed = strstr(q->name, "nomodify-source") == NULL;
		int rc;

		if (strcmp(q->dir, "req") != 0) {
			continue;
		}
		cr_assert_not_null(r);
		rc = ntp_control_answer(q->b, q->len, allowed, &sys, &peer, 1, NOW, &out, why,
		                        sizeof why);
		if (is_known_deviation(q->name)) {
			cr_assert_eq(rc, 0, "%s", q->name);
			cr_assert_eq(out.n, 1);
			cr_assert_eq(out.buf[0][1] & 0xc0, 0xc0, "%s: error reply expected",
			             q->name);
			cr_assert_eq(out.buf[0][4], NTP_CONTROL_CERR_BADOP);
			continue;
		}
		if (strcmp(r->dir, "noresp") == 0) {
			cr_assert_lt(rc, 0, "%s: ntpd sent nothing, we answered", q->name);
			cr_assert_eq(out.n, 0);
			cr_assert_neq(why[0], '\0');
			dropped++;
			continue;
		}
		cr_assert_eq(rc, 0, "%s: %s", q->name, why);
		cr_assert_eq(out.n, 1, "%s", q->name);
		if (r->b[1] & 0x40) {
			/* Error replies: the whole datagram is the header. */
			cr_assert_eq(out.len[0], r->len, "%s", q->name);
			cr_assert_eq(memcmp(out.buf[0], r->b, r->len), 0, "%s (%s)", q->name, why);
			errors++;
		} else if (r->len < 48) {
			/* Short variable lists: byte for byte but for the padding,
			 * which ntpd leaves unzeroed. */
			size_t used = 12 + (size_t)(r->b[10] << 8 | r->b[11]);

			cr_assert_eq(out.len[0], r->len, "%s: %zu bytes, ntpd %zu", q->name,
			             out.len[0], r->len);
			cr_assert_eq(memcmp(out.buf[0], r->b, used), 0, "%s: reply differs",
			             q->name);
			exact++;
		} else {
			/* Full lists: same header but for the count. */
			cr_assert_eq(memcmp(out.buf[0], r->b, 10), 0, "%s: header differs",
			             q->name);
		}
	}
	cr_assert_geq(exact, 6);
	cr_assert_geq(errors, 14);
	cr_assert_geq(dropped, 9);
}

/* ---- text layout ---- */

Test(control, text_lines_stop_at_column_72_and_end_in_crlf)
{
	static ntp_control_reply out;
	static char text[TEXT_CAP];
	ntp_sys_info sys;
	ntp_peer_info peer;
	uint8_t req[64];
	size_t len, n;
	char why[128];
	const char *line;

	synced_snapshot(&sys, &peer);
	for (uint16_t assoc = 0; assoc <= 1; assoc++) {
		make_req(req, NTP_CONTROL_OP_READVAR, 9, assoc != 0 ? CAPTURED_ASSOC : 0, NULL,
		         &len);
		cr_assert_eq(answer(req, len, &sys, &peer, 1, &out, why), 0);
		n = reassemble(&out, req, text, sizeof text);
		cr_assert_gt(n, 100);
		cr_assert_eq(memcmp(text + n - 2, "\r\n", 2), 0);
		line = text;
		while (*line != '\0') {
			const char *end = strstr(line, "\r\n");

			cr_assert_not_null(end, "line without CRLF");
			cr_assert_leq(end - line, 72, "line of %td chars", end - line);
			cr_assert_neq(*line, ' ', "line starts with a blank");
			line = end + 2;
		}
	}
}

/* ---- fragmentation ---- */

Test(control, readstat_of_200_peers_takes_two_fragments)
{
	static ntp_peer_info peers[200];
	static ntp_control_reply out;
	static char data[TEXT_CAP];
	ntp_sys_info sys;
	ntp_peer_info one;
	uint8_t req[16];
	size_t len, n;
	char why[128];

	synced_snapshot(&sys, &one);
	for (int i = 0; i < 200; i++) {
		peers[i] = one;
		peers[i].assoc = i + 1;
		peers[i].tally = " x.-+#*o"[i % 8];
		peers[i].reach = (uint8_t)(i % 3 == 0 ? 0 : 0x7f);
		peers[i].status = (uint16_t)(0x8000 | i);
	}
	sys.sys_peer = 7;
	make_req(req, NTP_CONTROL_OP_READSTAT, 300, 0, NULL, &len);
	cr_assert_eq(answer(req, len, &sys, peers, 200, &out, why), 0, "%s", why);
	cr_assert_eq(out.n, 2);
	cr_assert_eq(out.len[0], 480);
	cr_assert_eq(out.len[1], 12 + 800 - 468);
	cr_assert_eq(out.buf[0][1], 0x80 | 0x20 | NTP_CONTROL_OP_READSTAT);
	cr_assert_eq(out.buf[1][1], 0x80 | NTP_CONTROL_OP_READSTAT);
	n = reassemble(&out, req, data, sizeof data);
	cr_assert_eq(n, 800);
	for (int i = 0; i < 200; i++) {
		const uint8_t *e = (const uint8_t *)data + 4 * i;

		cr_assert_eq(e[0] << 8 | e[1], i + 1);
		cr_assert_eq(e[2] << 8 | e[3], 0x8000 | i);
	}
	cr_assert(strstr(why, "2 fragments") != NULL, "%s", why);
}

Test(control, long_variable_list_spans_fragments)
{
	static ntp_control_reply out;
	static char text[TEXT_CAP];
	ntp_sys_info sys;
	ntp_peer_info peer;
	uint8_t req[600];
	char list[400] = "";
	size_t len, n;
	char why[128], val[300];

	synced_snapshot(&sys, &peer);
	for (int i = 0; i < 20; i++) {
		strcat(list, i == 0 ? "sys_var_list" : ",clock");
	}
	make_req(req, NTP_CONTROL_OP_READVAR, 77, 0, list, &len);
	cr_assert_eq(answer(req, len, &sys, &peer, 1, &out, why), 0, "%s", why);
	cr_assert_eq(out.n, 2, "%s", why);
	n = reassemble(&out, req, text, sizeof text);
	cr_assert_gt(n, 468);
	cr_assert(var_value(text, "sys_var_list", val, sizeof val));
	cr_assert(strstr(val, "clk_wander") != NULL);
	cr_assert_eq(val[0], '"');
	/* 19 clock items, all complete, across the fragment boundary. */
	for (const char *p = text, *c; (c = strstr(p, "clock=")) != NULL; p = c + 1) {
		cr_assert_eq(c[6 + 10], '.', "clock item cut");
	}
}

Test(control, reply_stops_at_eight_fragments)
{
	static ntp_control_reply out;
	static char text[TEXT_CAP];
	ntp_sys_info sys;
	ntp_peer_info peer;
	uint8_t req[600];
	char list[470] = "";
	size_t len, n;
	char why[128];

	synced_snapshot(&sys, &peer);
	while (strlen(list) + 14 <= 468) {
		strcat(list, list[0] != '\0' ? ",peer_var_list" : "peer_var_list");
	}
	make_req(req, NTP_CONTROL_OP_READVAR, 1, CAPTURED_ASSOC, list, &len);
	cr_assert_eq(answer(req, len, &sys, &peer, 1, &out, why), 0, "%s", why);
	cr_assert_eq(out.n, NTP_CONTROL_MAX_FRAGS);
	cr_assert(strstr(why, "truncated") != NULL, "%s", why);
	n = reassemble(&out, req, text, sizeof text);
	cr_assert_leq(n, NTP_CONTROL_MAX_FRAGS * NTP_CONTROL_MAX_DATA);
	cr_assert_eq(memcmp(text + n - 3, "\"\r\n", 3), 0, "last item cut: ...%s", text + n - 20);
}

/* ---- the decoder ---- */

Test(control, decoder_names_every_length_fault)
{
	static const struct {
		const char *hex;
		int rc;
		const char *says;
	} cases[] = {
	        {"", NTP_CONTROL_E_SHORT, "truncated header: 0 bytes"},
	        {"160200070000000000", NTP_CONTROL_E_SHORT, "truncated header: 9 bytes"},
	        {"1302000700000000000000", NTP_CONTROL_E_SHORT, "truncated header: 11 bytes"},
	        {"1b0200070000000000000000", NTP_CONTROL_E_MODE, "mode 3 is not a control message"},
	        {"060200070000000000000000", NTP_CONTROL_E_VERSION, "version 0 not answered"},
	        {"2e0200070000000000000000", NTP_CONTROL_E_VERSION, "version 5 not answered"},
	        {"160200070000000000000008", NTP_CONTROL_E_COUNT,
	         "count 8 exceeds the 0 data bytes present"},
	        {"1602000700000000000001d5", NTP_CONTROL_E_COUNT, "count 469 over the 468-byte"},
	        {"1602000700000000000000026162", NTP_CONTROL_E_PADDING,
	         "length 14 not padded to a multiple of 4"},
	};
	uint8_t b[32];
	ntp_control_hdr h;
	char why[128];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = strlen(cases[i].hex) / 2;

		for (size_t k = 0; k < n; k++) {
			b[k] = (uint8_t)(hexval(cases[i].hex[2 * k]) << 4 |
			                 hexval(cases[i].hex[2 * k + 1]));
		}
		cr_assert_eq(ntp_control_decode(b, n, &h, why, sizeof why), cases[i].rc,
		             "case %zu: %s", i, why);
		cr_assert(strstr(why, cases[i].says) != NULL, "case %zu: \"%s\"", i, why);
		cr_assert_null(h.data);
	}
	/* On a count fault the header is still there to answer with. */
	b[0] = 0x16, b[1] = 0x02, b[2] = 0x12, b[3] = 0x34;
	memset(b + 4, 0, 8);
	b[11] = 8;
	cr_assert_eq(ntp_control_decode(b, 12, &h, NULL, 0), NTP_CONTROL_E_COUNT);
	cr_assert_eq(h.sequence, 0x1234);
	cr_assert_eq(h.opcode, 2);
	cr_assert_eq(ntp_control_decode(NULL, 12, &h, why, sizeof why), NTP_CONTROL_E_INVALID);
	cr_assert_eq(ntp_control_decode(b, 12, NULL, NULL, 0), NTP_CONTROL_E_INVALID);
}

Test(control, decoder_reads_a_reply_with_padding)
{
	/* ntpd's reply to "leap" (crafted probe "readvar-seq-0" + 4 padding). */
	static const uint8_t b[] = {0x16, 0xa2, 0x00, 0x05, 0x05, 0x14, 0x45, 0x67, 0x01, 0xd4,
	                            0x00, 0x05, 'l',  'e',  'a',  'p',  '=',  0,    0,    0};
	ntp_control_hdr h;

	cr_assert_eq(ntp_control_decode(b, sizeof b, &h, NULL, 0), NTP_CONTROL_OK);
	cr_assert(h.response && h.more && !h.error);
	cr_assert_eq(h.opcode, NTP_CONTROL_OP_READVAR);
	cr_assert_eq(h.version, 2);
	cr_assert_eq(h.sequence, 5);
	cr_assert_eq(h.status, 0x0514);
	cr_assert_eq(h.assoc, 17767);
	cr_assert_eq(h.offset, 468);
	cr_assert_eq(h.count, 5);
	cr_assert_eq(h.trailer, 3);
	cr_assert_eq(memcmp(h.data, "leap=", 5), 0);
}

/* ---- what is never answered ---- */

Test(control, noquery_sources_and_non_requests_get_nothing)
{
	static ntp_control_reply out;
	ntp_sys_info sys;
	ntp_peer_info peer;
	uint8_t req[16];
	size_t len;
	char why[128];
	static const struct {
		uint8_t byte1;
		uint8_t offset_lo;
		const char *says;
	} cases[] = {
	        {0x82, 0, "R bit"},
	        {0x42, 0, "error bit"},
	        {0x22, 0, "M bit"},
	        {0x02, 4, "non-zero offset"},
	};

	synced_snapshot(&sys, &peer);
	make_req(req, NTP_CONTROL_OP_READVAR, 1, 0, NULL, &len);
	cr_assert_lt(
	        ntp_control_answer(req, len, false, &sys, &peer, 1, NOW, &out, why, sizeof why), 0);
	cr_assert_eq(out.n, 0);
	cr_assert_str_eq(why, "noquery");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		make_req(req, NTP_CONTROL_OP_READVAR, 1, 0, NULL, &len);
		req[1] = cases[i].byte1;
		req[9] = cases[i].offset_lo;
		cr_assert_lt(answer(req, len, &sys, &peer, 1, &out, why), 0);
		cr_assert_eq(out.n, 0);
		cr_assert(strstr(why, cases[i].says) != NULL, "%s", why);
	}
	cr_assert_lt(answer(req, 9, &sys, &peer, 1, &out, why), 0);
	cr_assert_str_eq(why, "truncated header: 9 bytes");
	cr_assert_lt(answer(NULL, 0, &sys, &peer, 1, &out, why), 0);
	cr_assert_lt(answer(req, len, NULL, &peer, 1, &out, why), 0);
	cr_assert_lt(answer(req, len, &sys, NULL, 1, &out, why), 0);
	cr_assert_lt(ntp_control_answer(req, len, true, &sys, &peer, 1, NOW, NULL, NULL, 0), 0);
}

/* ---- error replies ---- */

static uint8_t
error_code(const ntp_control_reply *out)
{
	cr_assert_eq(out->n, 1);
	cr_assert_eq(out->len[0], 12);
	cr_assert_eq(out->buf[0][1] & 0xc0, 0xc0, "not an error reply");
	cr_assert_eq(out->buf[0][5], 0);
	cr_assert_eq(out->buf[0][10] | out->buf[0][11], 0);
	return out->buf[0][4];
}

Test(control, errors_for_bad_assoc_unknown_variables_writes_and_opcodes)
{
	static ntp_control_reply out;
	ntp_sys_info sys;
	ntp_peer_info peer;
	uint8_t req[128];
	size_t len;
	char why[128];

	synced_snapshot(&sys, &peer);
	make_req(req, NTP_CONTROL_OP_READVAR, 1, 999, NULL, &len);
	cr_assert_eq(answer(req, len, &sys, &peer, 1, &out, why), 0);
	cr_assert_eq(error_code(&out), NTP_CONTROL_CERR_BADASSOC);
	cr_assert(strstr(why, "no association 999") != NULL, "%s", why);
	make_req(req, NTP_CONTROL_OP_READSTAT, 1, 999, NULL, &len);
	cr_assert_eq(answer(req, len, &sys, &peer, 1, &out, why), 0);
	cr_assert_eq(error_code(&out), NTP_CONTROL_CERR_BADASSOC);

	make_req(req, NTP_CONTROL_OP_READVAR, 1, 0, "stratum, bogus", &len);
	cr_assert_eq(answer(req, len, &sys, &peer, 1, &out, why), 0);
	cr_assert_eq(error_code(&out), NTP_CONTROL_CERR_UNKNOWNVAR);
	cr_assert_str_eq(why, "unknown variable \"bogus\"");
	make_req(req, NTP_CONTROL_OP_READVAR, 1, CAPTURED_ASSOC, "tc", &len);
	cr_assert_eq(answer(req, len, &sys, &peer, 1, &out, why), 0);
	cr_assert_eq(error_code(&out), NTP_CONTROL_CERR_UNKNOWNVAR, "a system variable of a peer");
	make_req(req, NTP_CONTROL_OP_READVAR, 1, 0,
	         "a_name_much_longer_than_thirty_two_bytes_is_unknown", &len);
	cr_assert_eq(answer(req, len, &sys, &peer, 1, &out, why), 0);
	cr_assert_eq(error_code(&out), NTP_CONTROL_CERR_UNKNOWNVAR);
	cr_assert(strstr(why, "...\"") != NULL, "%s", why);

	/* 4 (read clock variables): the LOCAL clock answers; 10 and 12 (mrulist)
	 * need the MRU context of ntp_control_answer_mru */
	for (uint8_t op = 0; op <= 31; op++) {
		int want = op == 3 || op == 5 || op == 8 || op == 11 ? NTP_CONTROL_CERR_PERMISSION
		           : op <= 2 || op == 4                      ? -1
		                                                     : NTP_CONTROL_CERR_BADOP;

		make_req(req, op, op, 0, op == 3 ? "leap=0" : NULL, &len);
		cr_assert_eq(answer(req, len, &sys, &peer, 1, &out, why), 0, "op %u", op);
		if (want < 0) {
			cr_assert_eq(out.buf[0][1], 0x80 | op, "op %u answered normally", op);
			continue;
		}
		cr_assert_eq(error_code(&out), want, "op %u", op);
		cr_assert_eq(out.buf[0][1], 0xc0 | op);
		if (want == NTP_CONTROL_CERR_PERMISSION) {
			cr_assert(strstr(why, "read-only") != NULL, "%s", why);
		}
	}
	make_req(req, NTP_CONTROL_OP_WRITEVAR, 1, 0, "leap=0", &len);
	answer(req, len, &sys, &peer, 1, &out, why);
	cr_assert_str_eq(why, "unsupported opcode 3 (write variables): read-only");
}

Test(control, unspec_opcode_returns_the_system_status_only)
{
	static ntp_control_reply out;
	ntp_sys_info sys;
	ntp_peer_info peer;
	uint8_t req[16];
	size_t len;
	char why[128];

	unsynced_snapshot(&sys, &peer);
	make_req(req, NTP_CONTROL_OP_UNSPEC, 42, 0, NULL, &len);
	cr_assert_eq(answer(req, len, &sys, &peer, 1, &out, why), 0);
	cr_assert_eq(out.n, 1);
	cr_assert_eq(out.len[0], 12);
	cr_assert_eq(out.buf[0][0], 0xd6, "leap 3 of the host, version 2 of the request");
	cr_assert_eq(out.buf[0][4] << 8 | out.buf[0][5], 0xc016);
}

/* ---- status words ---- */

Test(control, peer_status_word_is_the_hosts)
{
	ntp_peer_info p;

	/* Served as the host keeps it (host_peer_status_word, which peerstats
	 * writes too: test_host stats_only_when_enabled), not re-derived from
	 * the tally. */
	memset(&p, 0, sizeof p);
	p.tally = '*';
	p.reach = 0xff;
	p.status = 0x9424;
	cr_assert_eq(ntp_control_peer_status(&p), 0x9424);
	cr_assert_eq(ntp_control_peer_status(NULL), 0);
}

Test(control, system_status_word_source_and_event)
{
	ntp_sys_info sys;
	ntp_peer_info p;

	synced_snapshot(&sys, &p);
	cr_assert_eq(ntp_control_sys_status(&sys, &p, 1), 0x0514); /* ntpd: sync_local freq_mode */
	p.type = 'u';
	snprintf(p.remote, sizeof p.remote, "192.0.2.1");
	sys.disc_state = NTP_DISC_SYNC;
	cr_assert_eq(ntp_control_sys_status(&sys, &p, 1), 0x0615); /* sync_ntp clock_sync */
	sys.leap = 1;
	cr_assert_eq(ntp_control_sys_status(&sys, &p, 1) >> 14, 1u);
	sys.leap = 0;
	sys.sys_peer = 0;
	cr_assert_eq(ntp_control_sys_status(&sys, &p, 1), 0x0018); /* lost it: no_sys_peer */
	sys.disc_state = NTP_DISC_FSET;
	cr_assert_eq(ntp_control_sys_status(&sys, &p, 1), 0x0012); /* freq_set */
	unsynced_snapshot(&sys, &p);
	cr_assert_eq(ntp_control_sys_status(&sys, &p, 1), 0xc016); /* ntpd at start: restart */
	cr_assert_eq(ntp_control_sys_status(NULL, &p, 1), 0);
}

/* ---- variable values ---- */

static void
read_vars(const ntp_sys_info *sys, const ntp_peer_info *peers, size_t n, uint16_t assoc,
          const char *list, char *text)
{
	static ntp_control_reply out;
	uint8_t req[512];
	size_t len;
	char why[128];

	make_req(req, NTP_CONTROL_OP_READVAR, 3, assoc, list, &len);
	cr_assert_eq(answer(req, len, sys, peers, n, &out, why), 0, "%s", why);
	cr_assert_eq(out.buf[0][1] & 0x40, 0, "error reply: %s", why);
	reassemble(&out, req, text, TEXT_CAP);
}

Test(control, peer_rec_is_now_minus_when)
{
	static char text[TEXT_CAP];
	ntp_sys_info sys;
	ntp_peer_info p;
	char val[64], want[64];
	ntp_ts64 rec = ntp_ts_from_unix_ns(NOW - INT64_C(5500000000));

	synced_snapshot(&sys, &p);
	p.when = 5.5;
	read_vars(&sys, &p, 1, CAPTURED_ASSOC, "rec", text);
	snprintf(want, sizeof want, "0x%08x.%08x", (unsigned)ntp_ts_seconds(rec),
	         (unsigned)ntp_ts_fraction(rec));
	cr_assert(var_value(text, "rec", val, sizeof val));
	cr_assert_str_eq(val, want);
	p.when = -1.0;
	read_vars(&sys, &p, 1, CAPTURED_ASSOC, "rec", text);
	cr_assert_str_eq(text, "rec=0x00000000.00000000\r\n");
}

Test(control, server_peer_variables)
{
	static char text[TEXT_CAP];
	ntp_sys_info sys;
	ntp_peer_info p[2];
	char val[64];

	synced_snapshot(&sys, &p[0]);
	p[1] = p[0];
	p[1].assoc = 2;
	p[1].type = 'u';
	cr_assert(ntp_addr_parse("192.168.163.131", &p[1].addr));
	p[1].addr.port = 123;
	snprintf(p[1].remote, sizeof p[1].remote, "192.168.163.131");
	snprintf(p[1].refid, sizeof p[1].refid, "LOCAL(1)");
	p[1].stratum = 6;
	p[1].delay = 0.000250;
	p[1].offset = -28.2;
	p[1].jitter = 0.0000125;
	p[1].disp = 0.5;
	p[1].reach = 0377;
	read_vars(&sys, p, 2, 2, NULL, text);
	cr_assert(var_value(text, "srcadr", val, sizeof val));
	cr_assert_str_eq(val, "192.168.163.131");
	cr_assert(var_value(text, "refid", val, sizeof val));
	cr_assert_str_eq(val, "127.127.1.1");
	cr_assert(var_value(text, "offset", val, sizeof val));
	cr_assert_str_eq(val, "-28200.000000");
	cr_assert(var_value(text, "delay", val, sizeof val));
	cr_assert_str_eq(val, "0.250000");
	cr_assert(var_value(text, "jitter", val, sizeof val));
	cr_assert_str_eq(val, "0.012500");
	cr_assert(var_value(text, "dispersion", val, sizeof val));
	cr_assert_str_eq(val, "500.000000");
	cr_assert(var_value(text, "reach", val, sizeof val));
	cr_assert_str_eq(val, "0xff");
	cr_assert(!var_value(text, "srchost", val, sizeof val), "a server has no clock name");

	p[1].type = 's';
	cr_assert(ntp_addr_parse("fe80::1", &p[1].addr));
	snprintf(p[1].refid, sizeof p[1].refid, ".IN,T.");
	read_vars(&sys, p, 2, 2, NULL, text);
	cr_assert(var_value(text, "srcadr", val, sizeof val));
	cr_assert_str_eq(val, "fe80::1");
	cr_assert(var_value(text, "hmode", val, sizeof val));
	cr_assert_str_eq(val, "1");
	cr_assert(!var_value(text, "pmode", val, sizeof val), "symmetric peer's mode unknown");
	cr_assert(var_value(text, "refid", val, sizeof val));
	cr_assert_str_eq(val, "IN?T", "a comma in a value would split it");
}

/* The core's reason text reaches ntpq on request only, as one quoted value
 * whatever punctuation the reason holds. */
Test(control, reason_only_on_request_and_quoted)
{
	static char text[TEXT_CAP];
	ntp_sys_info sys;
	ntp_peer_info p;
	char val[NTP_REASON_MAX + 8];

	synced_snapshot(&sys, &p);
	snprintf(p.reason, sizeof p.reason, "%s",
	         "falseticker: offset +0.5 s outside intersection [-0.01, +0.01] \"x\"");
	read_vars(&sys, &p, 1, CAPTURED_ASSOC, NULL, text);
	cr_assert(!var_value(text, "reason", val, sizeof val), "not in the default list");
	read_vars(&sys, &p, 1, CAPTURED_ASSOC, "reason,reach", text);
	cr_assert(var_value(text, "reason", val, sizeof val));
	cr_assert_str_eq(val,
	                 "\"falseticker: offset +0.5 s outside intersection [-0.01; +0.01] 'x'\"");
	cr_assert(var_value(text, "reach", val, sizeof val), "the next variable still parses");

	p.reason[0] = '\0';
	read_vars(&sys, &p, 1, CAPTURED_ASSOC, "reason,reach", text);
	cr_assert(!var_value(text, "reason", val, sizeof val), "no reason, no variable");
}

/* flash as ntpd's ctl_puthex, the filter register as ntpd 4.2.8's
 * ctl_putarray: ms, two decimals, newest first, each after a blank. */
Test(control, flash_and_filter_register)
{
	static char text[TEXT_CAP];
	ntp_sys_info sys;
	ntp_peer_info p;
	char val[200];

	synced_snapshot(&sys, &p);
	p.flash = 0x1400;
	for (int i = 0; i < NTP_NSTAGE; i++) {
		p.filt_delay[i] = i < 3 ? 0.000431 + i * 1e-5 : 0.0;
		p.filt_offset[i] = i < 3 ? -0.0285 : 0.0;
		p.filt_disp[i] = i < 3 ? 0.00012 * i : 16.0;
	}
	read_vars(&sys, &p, 1, CAPTURED_ASSOC, "flash,filtdelay,filtoffset,filtdisp", text);
	cr_assert(var_value(text, "flash", val, sizeof val));
	cr_assert_str_eq(val, "0x1400");
	cr_assert(var_value(text, "filtdelay", val, sizeof val));
	cr_assert_str_eq(val, " 0.43 0.44 0.45 0.00 0.00 0.00 0.00 0.00");
	cr_assert(var_value(text, "filtoffset", val, sizeof val));
	cr_assert_str_eq(val, " -28.50 -28.50 -28.50 0.00 0.00 0.00 0.00 0.00");
	cr_assert(var_value(text, "filtdisp", val, sizeof val));
	cr_assert_str_eq(val, " 0.00 0.12 0.24 16000.00 16000.00 16000.00 16000.00 16000.00");
}

Test(control, system_refid_address_or_text)
{
	static char text[TEXT_CAP];
	ntp_sys_info sys;
	ntp_peer_info p;

	synced_snapshot(&sys, &p);
	sys.stratum = 3;
	sys.refid = 0xc0a8a383u;
	read_vars(&sys, &p, 1, 0, "refid", text);
	cr_assert_str_eq(text, "refid=192.168.163.131\r\n");
	sys.stratum = 1;
	sys.refid = 0x47505300u; /* "GPS\0" */
	read_vars(&sys, &p, 1, 0, "refid", text);
	cr_assert_str_eq(text, "refid=GPS\r\n");
	sys.stratum = 16;
	sys.refid = 0x492c0a54u; /* 'I' ',' '\n' 'T' */
	read_vars(&sys, &p, 1, 0, "refid", text);
	cr_assert_str_eq(text, "refid=I??T\r\n");
}

Test(control, requested_names_with_blanks_values_and_nul_padding)
{
	static char text[TEXT_CAP];
	ntp_sys_info sys;
	ntp_peer_info p;

	synced_snapshot(&sys, &p);
	sys.freq_ppm = -12.5;
	sys.offset = 0.0015;
	read_vars(&sys, &p, 1, 0, " frequency , offset=3,,leap", text);
	cr_assert_str_eq(text, "frequency=-12.500000, offset=1.500000, leap=0\r\n");
	read_vars(&sys, &p, 1, 0, "version", text);
	cr_assert_str_eq(text, "version=\"ntplab " NTPLAB_VERSION "\"\r\n");
}

Test(control, line_breaks_fall_where_ntpd_puts_them)
{
	static recs rs;
	static char ours[TEXT_CAP], theirs[TEXT_CAP];
	ntp_sys_info sys;
	ntp_peer_info p;
	size_t n = 0;

	load_tsv(NTPQ_TSV, &rs);
	for (size_t i = 0; i < rs.n && n == 0; i++) {
		if (strcmp(rs.r[i].name, "rv") == 0 && strcmp(rs.r[i].dir, "req") == 0) {
			n = ntpd_text(&rs, i, theirs, sizeof theirs);
		}
	}
	cr_assert_gt(n, 200);
	synced_snapshot(&sys, &p);
	sys.clk_jitter = 37e-9; /* ntpd: clk_jitter=0.000037 (ms) */
	/* ntpd's order up to the first variable whose value we cannot share. */
	read_vars(&sys, &p, 1, 0,
	          "leap,stratum,precision,rootdelay,rootdisp,refid,reftime,tc,peer,offset,"
	          "frequency,sys_jitter,clk_jitter",
	          ours);
	n = strlen(ours);
	cr_assert_gt(n, 150);
	cr_assert_eq(memcmp(ours, theirs, n - 2), 0, "ours:\n%s\nntpd:\n%.*s", ours, (int)n,
	             theirs);
	cr_assert_eq(memcmp(theirs + n - 2, ", clock=", 8), 0);
}

/* ---- the amplification cap (ntp_control_cap) ---- */

Test(control, cap_keeps_a_reply_that_fits_and_refuses_one_that_does_not)
{
	static ntp_control_reply out;
	ntp_sys_info sys;
	ntp_peer_info peer;
	uint8_t req[16];
	size_t len;
	char why[128];

	/* ntpq -c rv: 12 bytes in, 25 times as much out */
	synced_snapshot(&sys, &peer);
	make_req(req, NTP_CONTROL_OP_READVAR, 4242, 0, NULL, &len);
	cr_assert_eq(len, 12u);
	cr_assert_eq(answer(req, len, &sys, &peer, 1, &out, why), 0, "%s", why);
	cr_assert_gt(out.len[0], 25 * len, "%zu bytes", out.len[0]);
	cr_assert_not(ntp_control_cap(&out, out.len[0]), "a reply that fits is kept");
	cr_assert_gt(out.len[0], 25 * len);

	cr_assert(ntp_control_cap(&out, len));
	cr_assert_eq(out.n, 1u);
	cr_assert_eq(out.len[0], 12u);
	cr_assert_eq(out.buf[0][0] & 7, 6, "mode 6");
	cr_assert_eq(out.buf[0][1], 0x80 | 0x40 | NTP_CONTROL_OP_READVAR, "R + E, no M");
	cr_assert_eq(out.buf[0][2] << 8 | out.buf[0][3], 4242, "sequence echoed");
	cr_assert_eq(error_code(&out), NTP_CONTROL_CERR_PERMISSION);
	cr_assert_eq(out.buf[0][10] << 8 | out.buf[0][11], 0, "count 0");

	/* two fragments: refused whole, never cut into a partial answer */
	static ntp_peer_info peers[200];
	for (int i = 0; i < 200; i++) {
		peers[i] = peer;
		peers[i].assoc = i + 1;
	}
	make_req(req, NTP_CONTROL_OP_READSTAT, 1, 0, NULL, &len);
	cr_assert_eq(answer(req, len, &sys, peers, 200, &out, why), 0, "%s", why);
	cr_assert_eq(out.n, 2u);
	cr_assert(ntp_control_cap(&out, 480));
	cr_assert_eq(out.n, 1u);
	cr_assert_eq(out.len[0], 12u);
	cr_assert(ntp_control_cap(&out, 11), "under a header: nothing at all");
	cr_assert_eq(out.n, 0u);
	cr_assert_not(ntp_control_cap(&out, 0));
	cr_assert_not(ntp_control_cap(NULL, 0));
}

/* ---- ntpq sysinfo, sysstats, iostats, monstats, kerninfo, authinfo ---- */

static void
read_sys(const ntp_sys_info *sys, const char *names, char *text)
{
	static ntp_control_reply out;
	ntp_peer_info peer;
	ntp_sys_info copy = *sys;
	uint8_t req[600];
	size_t len;
	char why[128];

	synced_snapshot(&copy, &peer);
	copy = *sys;
	make_req(req, NTP_CONTROL_OP_READVAR, 7, 0, names, &len);
	cr_assert_eq(answer(req, len, &copy, &peer, 1, &out, why), 0);
	cr_assert_eq(out.buf[0][1] & 0x40, 0, "error reply: %s", why);
	reassemble(&out, req, text, TEXT_CAP);
}

static void
assert_var(const char *text, const char *name, const char *want)
{
	char val[300];

	cr_assert(var_value(text, name, val, sizeof val), "%s missing in %s", name, text);
	cr_assert_str_eq(val, want, "%s", name);
}

Test(control, sysstats_iostats_authinfo_counters)
{
	static char text[TEXT_CAP];
	ntp_sys_info sys;
	ntp_peer_info peer;

	synced_snapshot(&sys, &peer);
	sys.uptime = 3725.9;
	sys.stats.received = 42;
	sys.stats.thisver = 30;
	sys.stats.oldver = 7;
	sys.stats.ver1 = 2;
	sys.stats.badformat = 3;
	sys.stats.badauth = 4;
	sys.stats.ctlreq = 5;
	sys.stats.processed = 29;
	sys.stats.sent = 33;
	sys.stats.ignored = 1;
	sys.dropped_restrict = 6;
	sys.dropped_rate = 8;
	sys.kod_sent = 9;
	sys.dropped_bad = 10;
	sys.auth_keys = 2;
	sys.stats.auth_lookups = 11;
	sys.stats.auth_notfound = 1;
	sys.auth_encrypts = 12;
	sys.stats.auth_cmac_encrypts = 2;
	sys.stats.auth_digest_encrypts = 10;
	sys.stats.auth_digest_fails = 3;
	read_sys(&sys,
	         "ss_uptime, ss_reset, ss_received, ss_received_r, ss_thisver, ss_oldver, ss_ver1, "
	         "ss_badformat, ss_badauth, ss_restricted_r, ss_limited, ss_kodsent, ss_processed, "
	         "ss_numctlreq",
	         text);
	assert_var(text, "ss_uptime", "3725");
	assert_var(text, "ss_reset", "3725");
	assert_var(text, "ss_received", "42");
	assert_var(text, "ss_received_r", "42");
	assert_var(text, "ss_thisver", "30");
	assert_var(text, "ss_oldver", "7");
	assert_var(text, "ss_ver1", "2");
	assert_var(text, "ss_badformat", "3");
	assert_var(text, "ss_badauth", "4");
	assert_var(text, "ss_restricted_r", "6");
	assert_var(text, "ss_limited", "8");
	assert_var(text, "ss_kodsent", "9");
	assert_var(text, "ss_processed", "29");
	assert_var(text, "ss_numctlreq", "5");

	read_sys(&sys,
	         "io_received, io_sent, io_dropped, io_ignored, total_rbuf, io_wakeups, authkeys, "
	         "authfreek, authklookups, authknotfound, authencrypts, authdigestencrypts, "
	         "authcmacencrypts, authdigestfails, timer_xmts",
	         text);
	assert_var(text, "io_received", "42");
	assert_var(text, "io_sent", "33");
	assert_var(text, "io_dropped", "10");
	assert_var(text, "io_ignored", "1");
	cr_assert(!var_value(text, "total_rbuf", text + TEXT_CAP - 1, 1),
	          "no driver I/O counters: not served");
	assert_var(text, "authkeys", "2");
	assert_var(text, "authfreek", "0");
	assert_var(text, "authklookups", "11");
	assert_var(text, "authknotfound", "1");
	assert_var(text, "authencrypts", "12");
	assert_var(text, "authdigestencrypts", "10");
	assert_var(text, "authcmacencrypts", "2");
	assert_var(text, "authdigestfails", "3");

	sys.have_io = true;
	sys.io.rx_buffers = 32;
	sys.io.wakeups = 77;
	sys.io.send_failed = 1;
	read_sys(&sys, "total_rbuf, free_rbuf, used_rbuf, io_wakeups, io_sendfailed", text);
	assert_var(text, "total_rbuf", "32");
	assert_var(text, "free_rbuf", "32");
	assert_var(text, "used_rbuf", "0");
	assert_var(text, "io_wakeups", "77");
	assert_var(text, "io_sendfailed", "1");
}

Test(control, sysinfo_monstats_kerninfo)
{
	static char text[TEXT_CAP];
	ntp_sys_info sys;
	ntp_peer_info peer;

	synced_snapshot(&sys, &peer);
	read_sys(&sys, "peeradr, peermode, rootdist, authdelay", text);
	assert_var(text, "peeradr", "0.0.0.0:0");
	assert_var(text, "peermode", "0");
	assert_var(text, "rootdist", "0.000");
	assert_var(text, "authdelay", "0");
	ntp_addr_parse("192.0.2.7", &sys.peer_addr);
	sys.peer_addr.port = 123;
	sys.peer_mode = 3;
	sys.rootdist = 0.0125;
	read_sys(&sys, "peeradr, peermode, rootdist", text);
	assert_var(text, "peeradr", "192.0.2.7:123");
	assert_var(text, "peermode", "3");
	assert_var(text, "rootdist", "12.500");

	sys.mru.enabled = 1;
	sys.mru.entries = 3;
	sys.mru.deepest = 3;
	sys.mru.cap = 15420;
	sys.mru.mindepth = 600;
	sys.mru.maxage = 3600;
	sys.mru.minage = 64;
	sys.mru.exists = 4;
	sys.mru.fresh = 3;
	sys.mru.oldest_age = 12.7;
	read_sys(&sys,
	         "mru_enabled, mru_depth, mru_maxdepth, mru_mindepth, mru_maxage, mru_minage, "
	         "mru_exists, mru_new, mru_none, mru_oldest_age",
	         text);
	assert_var(text, "mru_enabled", "1");
	assert_var(text, "mru_depth", "3");
	assert_var(text, "mru_maxdepth", "15420");
	assert_var(text, "mru_mindepth", "600");
	assert_var(text, "mru_maxage", "3600");
	assert_var(text, "mru_minage", "64");
	assert_var(text, "mru_exists", "4");
	assert_var(text, "mru_new", "3");
	assert_var(text, "mru_none", "0");
	assert_var(text, "mru_oldest_age", "12");

	sys.kern.offset_s = -0.0015;
	sys.kern.freq_ppm = 12.5;
	sys.kern.maxerror_s = 0.25;
	sys.kern.status = NTP_KERNEL_STA_PLL | NTP_KERNEL_STA_NANO;
	sys.kern.constant = 6;
	sys.kern.precision_s = 1e-6;
	sys.kern.tolerance_ppm = 500;
	read_sys(&sys, "koffset, kfreq, kmaxerr, kstflags, ktimeconst, kprecis, kfreqtol, kppsfreq",
	         text);
	assert_var(text, "koffset", "-1.5");
	assert_var(text, "kfreq", "12.5");
	assert_var(text, "kmaxerr", "250");
	assert_var(text, "kstflags", "\"pll nano\"");
	assert_var(text, "ktimeconst", "6");
	assert_var(text, "kprecis", "0.001");
	assert_var(text, "kfreqtol", "500");
	assert_var(text, "kppsfreq", "0");
}

/* ---- mrulist: the nonce and READ_MRU ---- */

#define MRU_ENTRIES 64

typedef struct mru_fixture {
	ntp_server s;
	ntp_server_mru table[MRU_ENTRIES + 8];
	ntp_control_mru m;
} mru_fixture;

static void
mru_setup(mru_fixture *f, int n_sources)
{
	static const uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	ntp_serve_result r;

	memset(f, 0, sizeof *f);
	ntp_server_init(&f->s, f->table, MRU_ENTRIES, -1, -1);
	ntp_server_set_hash_key(&f->s, key);
	for (int i = 0; i < n_sources; i++) {
		ntp_addr a;
		char text[32];

		snprintf(text, sizeof text, "192.0.2.%d", 10 + i);
		cr_assert(ntp_addr_parse(text, &a));
		a.port = (uint16_t)(40000 + i);
		/* 100 s apart on the monotonic clock: the oldest first */
		ntp_server_limit_control(
		        &f->s, &a, 2, ntp_now_at((ntp_time)(i + 1) * 100 * NTP_NS_PER_S, NOW), &r);
	}
	f->m.table = &f->s;
	cr_assert(ntp_addr_parse("127.0.0.1", &f->m.from));
	f->m.from.port = 55555;
	f->m.mono = (ntp_time)(n_sources + 1) * 100 * NTP_NS_PER_S;
}

static int
mru_answer(mru_fixture *f, uint8_t op, const char *data, ntp_time now, ntp_control_reply *out,
           char *text, char *why)
{
	ntp_sys_info sys;
	ntp_peer_info peer;
	uint8_t req[600];
	size_t len;
	int rc;

	synced_snapshot(&sys, &peer);
	make_req(req, op, 9, 0, data, &len);
	rc = ntp_control_answer_mru(req, len, true, &sys, &peer, 1, now, &f->m, out, why, 128);
	if (rc == 0 && text != NULL && (out->buf[0][1] & 0x40) == 0) {
		reassemble(out, req, text, TEXT_CAP);
	}
	return rc;
}

Test(control, nonce_good_tampered_stale_and_foreign)
{
	static mru_fixture f;
	char nonce[25], bad[25];
	ntp_addr other;

	mru_setup(&f, 0);
	ntp_control_nonce(&f.s, &f.m.from, NOW, nonce);
	cr_assert_eq(strlen(nonce), 24);
	cr_assert(ntp_control_nonce_ok(&f.s, &f.m.from, NOW, nonce, 24));
	cr_assert(ntp_control_nonce_ok(&f.s, &f.m.from, NOW + 15 * NTP_NS_PER_S, nonce, 24));
	cr_assert(!ntp_control_nonce_ok(&f.s, &f.m.from, NOW + 16 * NTP_NS_PER_S, nonce, 24),
	          "16 s old: expired (NTPsec NONCE_TIMEOUT)");
	cr_assert(!ntp_control_nonce_ok(&f.s, &f.m.from, NOW - NTP_NS_PER_S, nonce, 24),
	          "made in the future");
	for (int i = 0; i < 24; i++) {
		memcpy(bad, nonce, sizeof bad);
		bad[i] = bad[i] == '0' ? '1' : '0';
		cr_assert(!ntp_control_nonce_ok(&f.s, &f.m.from, NOW, bad, 24), "digit %d changed",
		          i);
	}
	cr_assert(!ntp_control_nonce_ok(&f.s, &f.m.from, NOW, nonce, 23));
	other = f.m.from;
	other.port++;
	cr_assert(!ntp_control_nonce_ok(&f.s, &other, NOW, nonce, 24), "another port");
	cr_assert(ntp_addr_parse("127.0.0.2", &other));
	other.port = f.m.from.port;
	cr_assert(!ntp_control_nonce_ok(&f.s, &other, NOW, nonce, 24), "another address");
	/* another key: another nonce */
	ntp_server_set_hash_key(&f.s, (const uint8_t[16]){9});
	cr_assert(!ntp_control_nonce_ok(&f.s, &f.m.from, NOW, nonce, 24), "another key");
}

Test(control, read_mru_needs_the_nonce_ntpd_gave)
{
	static mru_fixture f;
	static ntp_control_reply out;
	static char text[TEXT_CAP];
	char why[128], nonce[80], req[200], val[64];

	mru_setup(&f, 3);
	cr_assert_eq(mru_answer(&f, NTP_CONTROL_OP_REQ_NONCE, NULL, NOW, &out, text, why), 0);
	cr_assert(var_value(text, "nonce", val, sizeof val), "%s", text);
	snprintf(nonce, sizeof nonce, "nonce=%s", val);

	snprintf(req, sizeof req, "%s, frags=32", nonce);
	cr_assert_eq(
	        mru_answer(&f, NTP_CONTROL_OP_READ_MRU, req, NOW + NTP_NS_PER_S, &out, text, why),
	        0, "%s", why);
	assert_var(text, "addr.0", "192.0.2.10:40000");
	assert_var(text, "addr.2", "192.0.2.12:40002");
	assert_var(text, "ct.0", "1");
	assert_var(text, "mv.0", "22"); /* version 2, mode 6 */
	assert_var(text, "dr.0", "0");
	cr_assert(var_value(text, "now", val, sizeof val), "complete list ends in now=");
	cr_assert(var_value(text, "last.newest", val, sizeof val));
	cr_assert(var_value(text, "nonce", val, sizeof val), "a new nonce for the next request");

	/* tampered: no reply at all */
	snprintf(req, sizeof req, "%s, frags=32", nonce);
	req[8] = req[8] == '0' ? '1' : '0';
	cr_assert_lt(mru_answer(&f, NTP_CONTROL_OP_READ_MRU, req, NOW, &out, NULL, why), 0);
	cr_assert_eq(out.n, 0);
	cr_assert(strstr(why, "nonce") != NULL, "%s", why);
	/* stale: no reply */
	snprintf(req, sizeof req, "%s, frags=32", nonce);
	cr_assert_lt(mru_answer(&f, NTP_CONTROL_OP_READ_MRU, req, NOW + 20 * NTP_NS_PER_S, &out,
	                        NULL, why),
	             0);
	cr_assert_eq(out.n, 0);
	/* none: no reply */
	cr_assert_lt(mru_answer(&f, NTP_CONTROL_OP_READ_MRU, "frags=32", NOW, &out, NULL, why), 0);
	/* neither frags nor limit: BADVALUE */
	cr_assert_eq(mru_answer(&f, NTP_CONTROL_OP_READ_MRU, nonce, NOW, &out, NULL, why), 0);
	cr_assert_eq(error_code(&out), NTP_CONTROL_CERR_BADVALUE);
	/* restrict nomrulist: PERMISSION */
	f.m.nomrulist = true;
	snprintf(req, sizeof req, "%s, frags=32", nonce);
	cr_assert_eq(mru_answer(&f, NTP_CONTROL_OP_READ_MRU, req, NOW, &out, NULL, why), 0);
	cr_assert_eq(error_code(&out), NTP_CONTROL_CERR_PERMISSION);
}

Test(control, read_mru_pages_from_the_last_entry_seen)
{
	static mru_fixture f;
	static ntp_control_reply out;
	static char text[TEXT_CAP];
	char why[128], nonce[40], req[300], last1[40];

	mru_setup(&f, 3);
	ntp_control_nonce(&f.s, &f.m.from, NOW, nonce + 6);
	memcpy(nonce, "nonce=", 6);
	snprintf(req, sizeof req, "%s, frags=32, mincount=1", nonce);
	cr_assert_eq(mru_answer(&f, NTP_CONTROL_OP_READ_MRU, req, NOW, &out, text, why), 0, "%s",
	             why);
	cr_assert(var_value(text, "last.1", last1, sizeof last1));

	/* the client has entries 0 and 1: it asks for what follows 1 */
	snprintf(req, sizeof req, "%s, frags=32, last.0=%s, addr.0=192.0.2.11:40001", nonce, last1);
	cr_assert_eq(mru_answer(&f, NTP_CONTROL_OP_READ_MRU, req, NOW, &out, text, why), 0, "%s",
	             why);
	assert_var(text, "last.older", last1);
	assert_var(text, "addr.older", "192.0.2.11:40001");
	assert_var(text, "addr.0", "192.0.2.12:40002");
	cr_assert(!var_value(text, "addr.1", last1, sizeof last1), "only the newer entry");

	/* an entry that changed since: UNKNOWNVAR, ntpq backs up */
	snprintf(req, sizeof req,
	         "%s, frags=32, last.0=0x00000001.00000000, addr.0=192.0.2.11:40001", nonce);
	cr_assert_eq(mru_answer(&f, NTP_CONTROL_OP_READ_MRU, req, NOW, &out, NULL, why), 0);
	cr_assert_eq(error_code(&out), NTP_CONTROL_CERR_UNKNOWNVAR);

	/* a filter: mincount 2 leaves none */
	snprintf(req, sizeof req, "%s, frags=32, mincount=2", nonce);
	cr_assert_eq(mru_answer(&f, NTP_CONTROL_OP_READ_MRU, req, NOW, &out, text, why), 0);
	cr_assert(!var_value(text, "addr.0", last1, sizeof last1));
	cr_assert(var_value(text, "now", last1, sizeof last1));
}

Test(control, clocklist_of_the_local_clock)
{
	static ntp_control_reply out;
	static char text[TEXT_CAP];
	ntp_sys_info sys;
	ntp_peer_info peer;
	uint8_t req[128];
	size_t len;
	char why[128];

	synced_snapshot(&sys, &peer);
	peer.received = 7;
	make_req(req, NTP_CONTROL_OP_READCLOCK, 3, 0, NULL, &len);
	cr_assert_eq(answer(req, len, &sys, &peer, 1, &out, why), 0);
	reassemble(&out, req, text, TEXT_CAP);
	cr_assert_eq(out.buf[0][4] << 8 | out.buf[0][5], 0, "clock status word");
	assert_var(text, "name", "\"LOCAL\"");
	assert_var(text, "poll", "7");
	assert_var(text, "noreply", "0");
	assert_var(text, "stratum", "4");
	assert_var(text, "refid", "76.79.67.76"); /* "LOCL", as ntpd prints it */
	assert_var(text, "device", "\"Undisciplined local clock\"");

	/* a server association is no clock */
	peer.type = 'u';
	snprintf(peer.remote, sizeof peer.remote, "192.0.2.1");
	cr_assert_eq(answer(req, len, &sys, &peer, 1, &out, why), 0);
	cr_assert_eq(error_code(&out), NTP_CONTROL_CERR_BADASSOC);
}

/* ---- ntpq pstats: per-association counters ---- */

Test(control, pstats_variables_are_the_associations_counters)
{
	static char text[TEXT_CAP];
	char val[64];
	ntp_sys_info sys;
	ntp_peer_info p;

	synced_snapshot(&sys, &p);
	p.addr = fixture_addr("192.0.2.7", 123);
	p.local = fixture_addr("192.0.2.1", 0);
	p.badauth = 3;
	p.bogusorg = 5;
	p.oldpkt = 7;
	p.kod = 2;
	p.when = 12.7;
	p.next_in = 40.2;
	p.reach_for = 300.9;
	read_vars(&sys, &p, 1, CAPTURED_ASSOC,
	          "dstadr,timerec,timer,timereach,badauth,bogusorg,oldpkt,seldisp,selbroken,"
	          "candidate,ntscookies",
	          text);
	cr_assert(var_value(text, "dstadr", val, sizeof val));
	cr_assert_str_eq(val, "192.0.2.1");
	cr_assert(var_value(text, "timerec", val, sizeof val));
	cr_assert_str_eq(val, "12");
	cr_assert(var_value(text, "timer", val, sizeof val));
	cr_assert_str_eq(val, "40");
	cr_assert(var_value(text, "timereach", val, sizeof val));
	cr_assert_str_eq(val, "300");
	cr_assert(var_value(text, "badauth", val, sizeof val));
	cr_assert_str_eq(val, "3");
	cr_assert(var_value(text, "bogusorg", val, sizeof val));
	cr_assert_str_eq(val, "5");
	cr_assert(var_value(text, "oldpkt", val, sizeof val));
	cr_assert_str_eq(val, "7");
	cr_assert(var_value(text, "seldisp", val, sizeof val));
	cr_assert_str_eq(val, "0");
	cr_assert(var_value(text, "selbroken", val, sizeof val));
	cr_assert_str_eq(val, "2");
	cr_assert(var_value(text, "candidate", val, sizeof val));
	cr_assert_str_eq(val, "6", "sys.peer: select code 6 of status 0x961a");
	cr_assert(var_value(text, "ntscookies", val, sizeof val));
	cr_assert_str_eq(val, "-1");
	/* before any packet: no local address yet, ntpd's 0.0.0.0 */
	memset(&p.local, 0, sizeof p.local);
	read_vars(&sys, &p, 1, CAPTURED_ASSOC, "dstadr", text);
	cr_assert_str_eq(text, "dstadr=0.0.0.0\r\n");
}
