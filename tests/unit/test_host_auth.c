/* SPDX-License-Identifier: BSD-2-Clause */
/* Symmetric-key authentication in the host: MAC'd requests, TEST5 with its
 * reasons, crypto-NAKs, notrust, the reply size rule, and that no
 * unauthenticated packet moves an association that requires a key. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_fixture.h"
#include "ntp_info.h"
#include "ntp_keys.h"
#include "ntp_mac.h"
#include "ntp_proto.h"

#define T0   ((ntp_time)1700000000 * 1000000000)
#define S(x) ((ntp_time)((x)*1e9))

/* 7 and 8 trusted (MD5, SHA1), 9 in the file but untrusted, 5 AES-CMAC. */
static const char KEYS[] = "7 MD5 seven-secret\n"
                           "8 SHA1 eight-secret\n"
                           "9 MD5 nine-untrusted\n"
                           "5 AES128CMAC 000102030405060708090a0b0c0d0e0f\n";
static const char AUTH_CONF[] = "keys /etc/ntp.keys\ntrustedkey 5 7 8\n";

static ntp_keys_file kf;

static ntp_host *
keyed_host(const char *conf_tail)
{
	static char text[1024];
	ntp_host_params p;

	ntp_keys_init(&kf, "ntp.keys");
	cr_assert_eq(ntp_keys_parse(&kf, KEYS, strlen(KEYS)), 0u);
	snprintf(text, sizeof text, "%s%s", AUTH_CONF, conf_tail);
	memset(&p, 0, sizeof p);
	p.seed = 3;
	p.precision = -20;
	p.now = AT(T0);
	p.keys = &kf.ring;
	return fixture_host(text, &p);
}

/* The test's own copy of a key, trusted, to sign and verify with. */
static ntp_key
key_of(uint32_t id)
{
	const ntp_key *k = ntp_keyring_find(&kf.ring, id);
	ntp_key c;

	cr_assert_not_null(k);
	c = *k;
	c.trusted = true;
	return c;
}

/* Tick a one-server client until it sends; the request's action. */
static const ntp_action *
next_send(ntp_host *h, ntp_actions *a, ntp_time *when)
{
	for (int i = 0; i < 4; i++) {
		*when = ntp_host_next(h);
		ntp_actions_clear(a);
		ntp_host_tick(h, AT(*when), a);
		if (fixture_find_action(a, NTP_ACT_SEND, 0) != NULL) {
			break;
		}
	}
	cr_assert_not_null(fixture_find_action(a, NTP_ACT_SEND, 0), "no request");
	return fixture_find_action(a, NTP_ACT_SEND, 0);
}

/* A synchronised server's reply to request q (no MAC) into buf. */
static size_t
reply_to(const ntp_pkt *q, ntp_time t, uint8_t *buf)
{
	ntp_pkt r;
	size_t len = 0;

	memset(&r, 0, sizeof r);
	r.version = 4;
	r.mode = NTP_MODE_SERVER;
	r.stratum = 2;
	r.refid = 0x0a000001;
	r.org = q->xmt;
	r.rec = r.xmt = ntp_ts_from_unix_ns(t + S(0.001));
	r.reftime = ntp_ts_from_unix_ns(t - S(10));
	cr_assert_eq(ntp_pkt_encode(&r, buf, NTP_PKT_MAX_LEN, &len), NTP_PKT_OK);
	return len;
}

/* Deliver a reply from the server to association 1; the rejection reason
 * ("" when it was accepted). */
static const char *
deliver(ntp_host *h, ntp_actions *a, const uint8_t *buf, size_t len, ntp_time t)
{
	ntp_addr srv = fixture_addr("10.0.0.1", 123);
	const ntp_action *ev;

	ntp_actions_clear(a);
	ntp_host_recv(h, &srv, NULL, buf, len, AT(t + S(0.002)), a);
	ev = fixture_find_action(a, NTP_ACT_EVENT, NTP_EV_PKT_REJECTED);
	return ev != NULL ? ev->u.event.reason : "";
}

Test(host_auth, request_carries_the_association_key)
{
	ntp_host *h = keyed_host("server 10.0.0.1 key 7 iburst\n");
	ntp_actions *a = fixture_actions();
	ntp_key k7 = key_of(7);
	ntp_time t;
	const ntp_action *s = next_send(h, a, &t);
	ntp_pkt q;
	uint32_t id;

	cr_assert_eq(s->u.send.len, 48u + 20u, "header + key id + MD5 digest");
	cr_assert_not(s->u.send.patch_xmt);
	cr_assert_eq(ntp_pkt_decode(s->u.send.buf, s->u.send.len, &q, NULL), NTP_PKT_OK);
	cr_assert(q.has_mac);
	cr_assert_eq(q.keyid, 7u);
	cr_assert_eq(ntp_mac_verify(&k7, 1, s->u.send.buf, s->u.send.len, &q, &id), NTP_AUTH_OK);
	ntp_host_free(h);
	free(a);
}

/* Every kind of unauthenticated reply is refused with its TEST5 reason
 * and changes nothing: the good reply that follows is still taken as the
 * answer to the same request. */
Test(host_auth, keyed_association_takes_only_its_key)
{
	static const struct {
		uint32_t sign; /* key id to sign with, 0 none */
		int damage;    /* 1: flip a digest bit, 2: crypto-NAK, 3: unknown key 33 */
		const char *why;
	} v[] = {
	        {0, 0, "10.0.0.1: TEST5 not authenticated"},
	        {8, 0, "10.0.0.1: TEST5 authenticated by key 8, the association requires key 7"},
	        {7, 1, "10.0.0.1: TEST5 bad MAC (key 7)"},
	        {0, 2, "10.0.0.1: TEST5 crypto-NAK"},
	        {7, 3, "10.0.0.1: TEST5 unknown key 33"},
	        {9, 0, "10.0.0.1: TEST5 key 9 not trusted"},
	};
	ntp_host *h = keyed_host("server 10.0.0.1 key 7 iburst\n");
	ntp_actions *a = fixture_actions();
	uint8_t buf[NTP_PKT_MAX_LEN];
	ntp_peer_counters pc;
	ntp_peer_info info;
	ntp_time t;
	ntp_pkt q;
	size_t len;

	const ntp_action *s = next_send(h, a, &t);
	cr_assert_eq(ntp_pkt_decode(s->u.send.buf, s->u.send.len, &q, NULL), NTP_PKT_OK);
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		ntp_key k = v[i].sign != 0 ? key_of(v[i].sign) : key_of(7);

		len = reply_to(&q, t, buf);
		if (v[i].sign != 0) {
			len = ntp_mac_sign(&k, buf, len, sizeof buf);
		}
		if (v[i].damage == 1) {
			buf[len - 1] ^= 1;
		} else if (v[i].damage == 2) {
			len = ntp_mac_nak(buf, len, sizeof buf);
		} else if (v[i].damage == 3) {
			buf[len - 17] = 33; /* low byte of the key id */
		}
		cr_assert_str_eq(deliver(h, a, buf, len, t), v[i].why);
		cr_assert(ntp_host_peer_counters(h, 1, &pc));
		cr_assert_eq(pc.rejected, i + 1);
		cr_assert(pc.flash & NTP_TEST5);
		cr_assert_eq(ntp_host_peers(h, t, &info, 1), 1u);
		cr_assert_eq(info.reach, 0, "an unauthenticated reply made the server reachable");
		cr_assert_str_eq(info.reason, v[i].why + strlen("10.0.0.1: "));
	}
	/* A KoD without a MAC: not believed either (minpoll stays). */
	len = reply_to(&q, t, buf);
	buf[1] = 0; /* stratum 0 */
	memcpy(buf + 12, "RATE", 4);
	cr_assert_str_eq(deliver(h, a, buf, len, t), "10.0.0.1: TEST5 not authenticated");
	cr_assert(ntp_host_peer_counters(h, 1, &pc));
	cr_assert_eq(pc.kod, 0u);
	cr_assert_eq(pc.minpoll, 6);

	/* The real answer, MAC'd with key 7, still answers the request. */
	ntp_key k7 = key_of(7);
	len = ntp_mac_sign(&k7, buf, reply_to(&q, t, buf), sizeof buf);
	cr_assert_str_eq(deliver(h, a, buf, len, t), "");
	cr_assert(ntp_host_peer_counters(h, 1, &pc));
	cr_assert_eq(pc.rejected, 7u);
	cr_assert_not(pc.flash & NTP_TEST5);
	cr_assert_eq(ntp_host_peers(h, t, &info, 1), 1u);
	cr_assert_eq(info.reach, 1);
	ntp_host_free(h);
	free(a);
}

/* Without `key`, a reply with no MAC or a good one is fine; a bad MAC is
 * not (ntpd's AUTH(has_mac, ...)). */
Test(host_auth, unkeyed_association_refuses_a_bad_mac)
{
	ntp_host *h = keyed_host("server 10.0.0.1 iburst\n");
	ntp_actions *a = fixture_actions();
	uint8_t buf[NTP_PKT_MAX_LEN];
	ntp_key k8 = key_of(8);
	ntp_time t;
	ntp_pkt q;
	size_t len;

	const ntp_action *s = next_send(h, a, &t);
	cr_assert_eq(s->u.send.len, 48u, "no key: no MAC");
	cr_assert_eq(ntp_pkt_decode(s->u.send.buf, s->u.send.len, &q, NULL), NTP_PKT_OK);
	len = ntp_mac_sign(&k8, buf, reply_to(&q, t, buf), sizeof buf);
	buf[20] ^= 1; /* the reference time, under the MAC */
	cr_assert_str_eq(deliver(h, a, buf, len, t), "10.0.0.1: TEST5 bad MAC (key 8)");
	buf[20] ^= 1;
	cr_assert_str_eq(deliver(h, a, buf, len, t), "");
	ntp_host_free(h);
	free(a);
}

/* ---- the server side ---- */

/* Send one request to the server host; its reply action (NULL: none). */
static const ntp_action *
ask(ntp_host *h, ntp_actions *a, const uint8_t *buf, size_t len, const char *from)
{
	ntp_addr cli = fixture_addr(from, 123), me = fixture_addr("10.0.0.2", 123);

	ntp_actions_clear(a);
	ntp_host_recv(h, &cli, &me, buf, len, AT(T0 + S(1)), a);
	return fixture_find_action(a, NTP_ACT_SEND, 0);
}

Test(host_auth, server_macs_with_the_request_key_or_naks)
{
	ntp_host *h = keyed_host("server 127.127.1.0\n");
	ntp_actions *a = fixture_actions();
	uint8_t buf[NTP_PKT_MAX_LEN];
	const ntp_action *s;
	ntp_pkt r;
	uint32_t id;
	size_t len;

	/* trusted keys of each type: a reply MAC'd with the same key, no larger */
	static const uint32_t keys[] = {5, 7, 8}; /* AES-CMAC, MD5, SHA1 */
	for (size_t i = 0; i < 3; i++) {
		uint32_t key = keys[i];
		ntp_key k = key_of(key);

		len = ntp_mac_sign(&k, buf,
		                   fixture_client_request(buf, NTP_PKT_HEADER_LEN, 0x1111 + key),
		                   sizeof buf);
		s = ask(h, a, buf, len, "10.0.0.3");
		cr_assert_not_null(s);
		cr_assert_leq(s->u.send.len, len, "reply larger than the request");
		cr_assert_eq(s->u.send.len, len);
		cr_assert_not(s->u.send.patch_xmt, "a MAC'd reply's xmt may not be rewritten");
		cr_assert_eq(ntp_pkt_decode(s->u.send.buf, s->u.send.len, &r, NULL), NTP_PKT_OK);
		cr_assert_eq(r.keyid, key);
		cr_assert_eq(ntp_mac_verify(&k, 1, s->u.send.buf, s->u.send.len, &r, &id),
		             NTP_AUTH_OK);
	}
	/* untrusted key 9, unknown key, bad MAC: a crypto-NAK (52 bytes) */
	ntp_key k9 = key_of(9), k7 = key_of(7);
	ntp_key k77 = k7;
	k77.id = 77;
	const ntp_key *bad[] = {&k9, &k77, &k7};
	for (size_t i = 0; i < 3; i++) {
		len = ntp_mac_sign(bad[i], buf,
		                   fixture_client_request(buf, NTP_PKT_HEADER_LEN, 0x2222 + i),
		                   sizeof buf);
		if (i == 2) {
			buf[len - 1] ^= 1;
		}
		s = ask(h, a, buf, len, "10.0.0.3");
		cr_assert_not_null(s);
		cr_assert_eq(s->u.send.len, 52u);
		cr_assert_eq(ntp_pkt_decode(s->u.send.buf, s->u.send.len, &r, NULL), NTP_PKT_OK);
		cr_assert(r.has_mac);
		cr_assert_eq(r.keyid, 0u);
		cr_assert_eq(r.digest_len, 0);
		cr_assert_not_null(fixture_find_action(a, NTP_ACT_EVENT, NTP_EV_PKT_REJECTED));
	}
	/* no MAC: an ordinary reply */
	len = fixture_client_request(buf, NTP_PKT_HEADER_LEN, 0x3333);
	s = ask(h, a, buf, len, "10.0.0.3");
	cr_assert_not_null(s);
	cr_assert_eq(s->u.send.len, 48u);
	cr_assert(s->u.send.patch_xmt);
	/* a crypto-NAK is no request */
	len = ntp_mac_nak(buf, fixture_client_request(buf, NTP_PKT_HEADER_LEN, 0x4444), sizeof buf);
	cr_assert_null(ask(h, a, buf, len, "10.0.0.3"));
	ntp_host_free(h);
	free(a);
}

Test(host_auth, notrust_serves_only_authenticated_requests)
{
	ntp_host *h = keyed_host("server 127.127.1.0\nrestrict default notrust\n");
	ntp_actions *a = fixture_actions();
	uint8_t buf[NTP_PKT_MAX_LEN];
	ntp_key k7 = key_of(7);
	const ntp_action *ev;
	size_t len;

	len = fixture_client_request(buf, NTP_PKT_HEADER_LEN, 0x5555);
	cr_assert_null(ask(h, a, buf, len, "10.0.0.4"));
	ev = fixture_find_action(a, NTP_ACT_EVENT, NTP_EV_ACCESS_DENIED);
	cr_assert_not_null(ev);
	cr_assert(strstr(ev->u.event.reason, "notrust") != NULL, "%s", ev->u.event.reason);
	len = ntp_mac_sign(&k7, buf, fixture_client_request(buf, NTP_PKT_HEADER_LEN, 0x6666),
	                   sizeof buf);
	cr_assert_not_null(ask(h, a, buf, len, "10.0.0.4"));
	ntp_host_free(h);
	free(a);
}

/* Keys named on association lines must be trusted keys of the file. */
Test(host_auth, host_creation_names_bad_keys)
{
	static const struct {
		const char *conf;
		bool with_keys;
		const char *err;
	} v[] = {
	        {"keys /k\ntrustedkey 7\nserver 10.0.0.1 key 6\n", true,
	         "test.conf:3: 10.0.0.1 key 6: no such key in the key file"},
	        {"keys /k\nserver 10.0.0.1 key 7\n", true,
	         "test.conf:2: 10.0.0.1 key 7: key 7 is not trusted: add 'trustedkey 7'"},
	        {"server 10.0.0.1 key 7\n", false,
	         "test.conf:1: 10.0.0.1 key 7: no key file: add 'keys FILE'"},
	        {"keys /k\ntrustedkey 7\npeer 10.0.0.1 key 7\n", false,
	         "test.conf:3: 10.0.0.1 key 7: the key file was not read"},
	};
	static ntp_conf c;
	ntp_host_params p;
	char err[256];

	ntp_keys_init(&kf, "k");
	cr_assert_eq(ntp_keys_parse(&kf, KEYS, strlen(KEYS)), 0u);
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		ntp_conf_init(&c, "test.conf");
		cr_assert_eq(ntp_conf_parse(&c, v[i].conf, strlen(v[i].conf)), 0u);
		memset(&p, 0, sizeof p);
		p.seed = 1;
		p.now = AT(T0);
		p.keys = v[i].with_keys ? &kf.ring : NULL;
		fixture_nonce_key(&p);
		cr_assert_null(ntp_host_new(&c, &p, err, sizeof err));
		cr_assert_str_eq(err, v[i].err);
	}
}

/* ---- mode 6 ---- */

/* An ntpq readvar of the system variables, padded to 8 bytes and MAC'd as
 * NTPsec's ntpq does with `authenticate yes`. */
static size_t
ntpq_readvar(uint8_t *buf, const ntp_key *k)
{
	static const uint8_t hdr[12] = {(0 << 6) | (2 << 3) | 6, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};

	memset(buf, 0, 64);
	memcpy(buf, hdr, sizeof hdr);
	return k != NULL ? ntp_mac_sign(k, buf, 16, 64) : 12;
}

Test(host_auth, mode6_replies_are_maced_with_the_request_key)
{
	ntp_host *h = keyed_host("server 127.127.1.0\ncontrolkey 8\n");
	ntp_actions *a = fixture_actions();
	ntp_addr lo = fixture_addr("127.0.0.1", 40000), me = fixture_addr("127.0.0.1", 123);
	uint8_t buf[64];
	ntp_key k8 = key_of(8), k7 = key_of(7);
	uint32_t id;
	size_t len = ntpq_readvar(buf, &k8), n = 0;

	ntp_host_recv(h, &lo, &me, buf, len, AT(T0 + S(1)), a);
	for (size_t i = 0; i < a->n; i++) {
		const ntp_action *s = &a->v[i];
		size_t count, off;

		if (s->kind != NTP_ACT_SEND) {
			continue;
		}
		n++;
		count = (size_t)s->u.send.buf[10] << 8 | s->u.send.buf[11];
		off = (12 + count + 7) / 8 * 8;
		cr_assert_eq(s->u.send.len, off + 24, "fragment %zu: padded data + SHA1 MAC", n);
		cr_assert_eq(ntp_mac_check(&k8, 1, s->u.send.buf, off, s->u.send.len, &id),
		             NTP_AUTH_OK);
		cr_assert_eq(id, 8u);
		/* and not with another key */
		cr_assert_neq(ntp_mac_check(&k7, 1, s->u.send.buf, off, s->u.send.len, &id),
		              NTP_AUTH_OK);
	}
	cr_assert_gt(n, 0u);
	/* a bad MAC or none: replies without one */
	len = ntpq_readvar(buf, &k8);
	buf[len - 1] ^= 1;
	ntp_actions_clear(a);
	ntp_host_recv(h, &lo, &me, buf, len, AT(T0 + S(2)), a);
	const ntp_action *s = NULL;
	for (size_t i = 0; i < a->n && s == NULL; i++) {
		s = a->v[i].kind == NTP_ACT_SEND ? &a->v[i] : NULL;
	}
	cr_assert_not_null(s);
	cr_assert_eq(s->u.send.len % 4, 0u);
	size_t count = (size_t)s->u.send.buf[10] << 8 | s->u.send.buf[11];
	cr_assert_eq(s->u.send.len, (12 + count + 3) / 4 * 4, "no MAC on the reply");
	ntp_host_free(h);
	free(a);
}

/* ---- symmetric passive under `enable auth` (ntpd's default) ---- */

static size_t
active_packet(uint8_t *buf, ntp_time t)
{
	ntp_pkt q;
	size_t len = 0;

	memset(&q, 0, sizeof q);
	q.version = 4;
	q.mode = NTP_MODE_ACTIVE;
	q.stratum = 3;
	q.poll = 6;
	q.precision = -20;
	q.reftime = ntp_ts_from_unix_ns(t - S(30));
	q.xmt = ntp_ts_from_unix_ns(t);
	cr_assert_eq(ntp_pkt_encode(&q, buf, NTP_PKT_MAX_LEN, &len), NTP_PKT_OK);
	return len;
}

/* A stranger's mode 1 packet MAC'd by a trusted key mobilises an
 * ephemeral association that MACs its own packets with that key; one
 * without a MAC gets only a stateless mode 2 answer (CVE-2016-1549), and
 * one with a bad MAC a crypto-NAK. */
Test(host_auth, authenticated_stranger_gets_a_keyed_passive_association)
{
	ntp_host *h = keyed_host("server 127.127.1.0\n");
	ntp_actions *a = fixture_actions();
	ntp_addr peer = fixture_addr("10.0.0.5", 123);
	uint8_t buf[NTP_PKT_MAX_LEN];
	ntp_key k8 = key_of(8);
	ntp_peer_info pi[4];
	const ntp_action *s;
	ntp_pkt r;
	size_t len;

	/* no MAC: stateless answer, no association */
	len = active_packet(buf, T0 + S(5));
	ntp_host_recv(h, &peer, NULL, buf, len, AT(T0 + S(5)), a);
	cr_assert_eq(ntp_host_peers(h, T0 + S(5), pi, 4), 1u);
	s = fixture_find_action(a, NTP_ACT_SEND, 0);
	cr_assert_not_null(s);
	cr_assert_eq(s->u.send.len, 48u);
	/* bad MAC: a crypto-NAK, no association */
	len = ntp_mac_sign(&k8, buf, active_packet(buf, T0 + S(6)), sizeof buf);
	buf[len - 1] ^= 1;
	ntp_actions_clear(a);
	ntp_host_recv(h, &peer, NULL, buf, len, AT(T0 + S(6)), a);
	cr_assert_eq(ntp_host_peers(h, T0 + S(6), pi, 4), 1u);
	s = fixture_find_action(a, NTP_ACT_SEND, 0);
	cr_assert_not_null(s);
	cr_assert_eq(s->u.send.len, 52u);
	/* MAC'd by trusted key 8: an ephemeral association keyed 8 */
	len = ntp_mac_sign(&k8, buf, active_packet(buf, T0 + S(7)), sizeof buf);
	ntp_actions_clear(a);
	ntp_host_recv(h, &peer, NULL, buf, len, AT(T0 + S(7)), a);
	cr_assert_eq(ntp_host_peers(h, T0 + S(7), pi, 4), 2u);
	cr_assert_eq(pi[1].type, 's');
	ntp_actions_clear(a);
	ntp_host_tick(h, AT(T0 + S(11)), a);
	s = fixture_find_action(a, NTP_ACT_SEND, 0);
	cr_assert_not_null(s, "the passive side polls");
	cr_assert_eq(ntp_pkt_decode(s->u.send.buf, s->u.send.len, &r, NULL), NTP_PKT_OK);
	cr_assert_eq(r.mode, NTP_MODE_PASSIVE);
	cr_assert(r.has_mac);
	cr_assert_eq(r.keyid, 8u);
	ntp_host_free(h);
	free(a);
}
