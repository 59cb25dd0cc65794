/* SPDX-License-Identifier: BSD-2-Clause */
/* refd/refd_sock: addresses, HOST[:PORT], /proc/net/udp, batched I/O on
 * loopback, kernel transmit stamps (parsing, matching, end to end). */
#define _GNU_SOURCE /* SCM_TIMESTAMPING, SCM_TIMESTAMPNS, as in refd_sock.c */

#include <criterion/criterion.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "refd_clock.h"
#include "refd_sock.h"

static ntp_addr
loop4(uint16_t port)
{
	ntp_addr a;

	cr_assert(ntp_addr_parse("127.0.0.1", &a));
	a.port = port;
	return a;
}

Test(refd_sock, host_port_forms)
{
	struct {
		const char *in, *host;
		uint16_t port;
	} ok[] = {
	        {"127.0.0.3", "127.0.0.3", 123},
	        {"127.0.0.3:11123", "127.0.0.3", 11123},
	        {"[::1]:11123", "::1", 11123},
	        {"[::1]", "::1", 123},
	        {"::1", "::1", 123},
	        {"fe80::1:2", "fe80::1:2", 123},
	        {"ntp.example.org:0", "ntp.example.org", 0},
	};
	const char *bad[] = {"[::1", "[::1]x", "host:", "host:65536", ":123", "host:12a"};

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		char host[64], err[128];
		uint16_t port = 123;

		cr_assert_eq(
		        refd_parse_hostport(ok[i].in, host, sizeof host, &port, err, sizeof err), 0,
		        "%s: %s", ok[i].in, err);
		cr_assert_str_eq(host, ok[i].host);
		cr_assert_eq(port, ok[i].port, "%s", ok[i].in);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char host[64], err[128] = "";
		uint16_t port = 123;

		cr_assert_eq(refd_parse_hostport(bad[i], host, sizeof host, &port, err, sizeof err),
		             -1, "%s accepted", bad[i]);
		cr_assert_neq(err[0], '\0');
	}
}

Test(refd_sock, sockaddr_round_trip)
{
	const char *addrs[] = {"192.168.163.131", "::1", "2001:db8::7"};

	for (size_t i = 0; i < 3; i++) {
		ntp_addr a, b;
		struct sockaddr_storage ss;
		socklen_t len;
		char buf[80];

		cr_assert(ntp_addr_parse(addrs[i], &a));
		a.port = 11123;
		cr_assert(refd_addr_to_sockaddr(&a, &ss, &len));
		cr_assert(refd_addr_from_sockaddr((struct sockaddr *)&ss, &b));
		cr_assert(ntp_addr_equal(&a, &b), "%s", addrs[i]);
		refd_addr_port_format(&b, buf, sizeof buf);
		cr_assert(strstr(buf, ":11123") != NULL, "%s", buf);
	}
}

Test(refd_sock, proc_net_udp_lines)
{
	const char *v4 = "  963: 0300007F:007B 00000000:0000 07 00000000:00000000 00:00000000 "
	                 "00000000     0        0 4242 2 0000000000000000 0\n";
	const char *v6 = "  12: 00000000000000000000000001000000:2B73 "
	                 "00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 "
	                 "00000000     0        0 77 2 0000000000000000 0\n";
	const char *hdr = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
	                  "retrnsmt   uid  timeout inode ref pointer drops\n";
	ntp_addr a, want;
	unsigned long inode = 0;

	cr_assert(refd_proc_udp_line(v4, false, &a, &inode));
	cr_assert(ntp_addr_parse("127.0.0.3", &want));
	cr_assert(ntp_addr_same_host(&a, &want));
	cr_assert_eq(a.port, 123);
	cr_assert_eq(inode, 4242);
	cr_assert(refd_proc_udp_line(v6, true, &a, &inode));
	cr_assert(ntp_addr_parse("::1", &want));
	cr_assert(ntp_addr_same_host(&a, &want));
	cr_assert_eq(a.port, 11123);
	cr_assert_eq(inode, 77);
	cr_assert_not(refd_proc_udp_line(hdr, false, &a, &inode));
	cr_assert_not(refd_proc_udp_line(v6, false, &a, &inode), "a v6 line is not a v4 line");
	cr_assert_not(refd_proc_udp_line("", false, &a, &inode));
	cr_assert_not(
	        refd_proc_udp_line("  1: ZZ00007F:007B 0 0 0 0 0 0 0 1\n", false, &a, &inode));
}

Test(refd_sock, busy_port_names_its_holder)
{
	refd_sock s, t;
	ntp_addr a = loop4(0);
	char err[256], owners[512], me[64];

	cr_assert_eq(refd_sock_open(&s, &a, err, sizeof err), 0, "%s", err);
	cr_assert_neq(s.local.port, 0, "the ephemeral port is read back");
	cr_assert_eq(refd_sock_open(&t, &s.local, err, sizeof err), -EADDRINUSE);
	cr_assert(strstr(err, "cannot bind 127.0.0.1:") != NULL, "%s", err);
	cr_assert_geq(refd_port_owners(s.local.port, owners, sizeof owners), 1);
	snprintf(me, sizeof me, "(pid %ld ", (long)getpid());
	cr_assert(strstr(owners, me) != NULL, "'%s' should name pid %ld", owners, (long)getpid());
	refd_sock_close(&s);
	cr_assert_eq(s.fd, -1);
}

static ntp_ts64
fixed_xmt(void *ctx)
{
	return *(ntp_ts64 *)ctx;
}

Test(refd_sock, batched_send_and_receive_with_kernel_stamps)
{
	refd_sock rx_sock, tx_sock;
	ntp_addr any = loop4(0);
	static refd_tx tx[5];
	static refd_rx rx[REFD_BATCH];
	ntp_ts64 stamp = UINT64_C(0xeeafcb7a29fccc55);
	char err[256];
	struct pollfd pfd;
	int got = 0;

	cr_assert_eq(refd_sock_open(&rx_sock, &any, err, sizeof err), 0, "%s", err);
	cr_assert_eq(refd_sock_open(&tx_sock, &any, err, sizeof err), 0, "%s", err);
	for (int i = 0; i < 5; i++) {
		memset(&tx[i], 0, sizeof tx[i]);
		tx[i].to = rx_sock.local;
		tx[i].len = 48;
		tx[i].buf[0] = (uint8_t)i;
		tx[i].patch_xmt = (i % 2) == 0;
	}
	cr_assert_eq(refd_sock_send(&tx_sock, tx, 5, fixed_xmt, &stamp), 5);
	pfd.fd = rx_sock.fd;
	pfd.events = POLLIN;
	for (int tries = 0; got < 5 && tries < 50; tries++) {
		int n;

		poll(&pfd, 1, 100);
		n = refd_sock_recv(&rx_sock, rx + got, REFD_BATCH - got);
		cr_assert_geq(n, 0);
		got += n;
	}
	cr_assert_eq(got, 5);
	for (int i = 0; i < 5; i++) {
		uint64_t x = 0;

		for (int k = 0; k < 8; k++) {
			x = (x << 8) | rx[i].buf[40 + k];
		}
		cr_assert_eq(rx[i].len, 48);
		cr_assert_eq(rx[i].buf[0], i, "order kept");
		cr_assert_eq(x, (i % 2) == 0 ? stamp : 0, "patched only where allowed");
		cr_assert(rx[i].kernel_ts, "SO_TIMESTAMPNS stamp present");
		cr_assert(ntp_addr_equal(&rx[i].from, &tx_sock.local));
		cr_assert(ntp_addr_equal(&rx[i].to, &rx_sock.local));
	}
	refd_sock_close(&rx_sock);
	refd_sock_close(&tx_sock);
}

Test(refd_sock, wildcard_socket_learns_the_destination)
{
	refd_sock rx_sock, tx_sock;
	ntp_addr any, lo = loop4(0), dst;
	static refd_rx rx[2];
	static refd_tx tx;
	char err[256];
	struct pollfd pfd;
	int n = 0;

	memset(&any, 0, sizeof any);
	any.family = NTP_AF_INET;
	cr_assert_eq(refd_sock_open(&rx_sock, &any, err, sizeof err), 0, "%s", err);
	cr_assert(rx_sock.wildcard);
	cr_assert_eq(refd_sock_open(&tx_sock, &lo, err, sizeof err), 0, "%s", err);
	cr_assert(ntp_addr_parse("127.0.0.7", &dst));
	dst.port = rx_sock.local.port;
	memset(&tx, 0, sizeof tx);
	tx.to = dst;
	tx.len = 48;
	cr_assert_eq(refd_sock_send(&tx_sock, &tx, 1, NULL, NULL), 1);
	pfd.fd = rx_sock.fd;
	pfd.events = POLLIN;
	for (int tries = 0; n == 0 && tries < 50; tries++) {
		poll(&pfd, 1, 100);
		n = refd_sock_recv(&rx_sock, rx, 2);
	}
	cr_assert_eq(n, 1);
	cr_assert(ntp_addr_same_host(&rx[0].to, &dst), "IP_PKTINFO gave 127.0.0.7");
	refd_sock_close(&rx_sock);
	refd_sock_close(&tx_sock);
}

/* ---- kernel transmit stamps ---- */

#define STAMP_SEC  1700000000L /* s, an arbitrary stamp for the parser tests */
#define STAMP_NSEC 123456789L  /* ns */

typedef union {
	char buf[512];
	struct cmsghdr align;
} test_ctl;

/* Append a control message to h (whose buffer is ctl), as the kernel
 * would lay it out; cmsg_len may claim more than data holds. */
static void
put_cmsg(struct msghdr *h, test_ctl *ctl, int level, int type, const void *data, size_t size,
         size_t claim)
{
	struct cmsghdr *c = (struct cmsghdr *)(void *)(ctl->buf + h->msg_controllen);

	cr_assert_leq(h->msg_controllen + CMSG_SPACE(size), sizeof ctl->buf);
	c->cmsg_level = level;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(claim);
	memcpy(CMSG_DATA(c), data, size);
	h->msg_control = ctl->buf;
	h->msg_controllen += CMSG_SPACE(size);
}

static void
put_stamp(struct msghdr *h, test_ctl *ctl, long sec, long nsec)
{
	struct timespec ts[3];

	memset(ts, 0, sizeof ts);
	ts[0].tv_sec = sec;
	ts[0].tv_nsec = nsec;
	put_cmsg(h, ctl, SOL_SOCKET, SCM_TIMESTAMPING, ts, sizeof ts, sizeof ts);
}

static void
put_err(struct msghdr *h, test_ctl *ctl, int level, int type, unsigned errnum, unsigned origin,
        unsigned info, unsigned key)
{
	struct sock_extended_err ee;

	memset(&ee, 0, sizeof ee);
	ee.ee_errno = errnum;
	ee.ee_origin = (uint8_t)origin;
	ee.ee_info = info;
	ee.ee_data = key;
	put_cmsg(h, ctl, level, type, &ee, sizeof ee, sizeof ee);
}

static void
empty_msg(struct msghdr *h, test_ctl *ctl)
{
	memset(h, 0, sizeof *h);
	memset(ctl, 0, sizeof *ctl);
}

Test(refd_sock_txts, parse_ipv4_and_ipv6_send_stamps)
{
	const int levels[2] = {IPPROTO_IP, IPPROTO_IPV6};
	const int types[2] = {IP_RECVERR, IPV6_RECVERR};

	for (int v = 0; v < 2; v++) {
		struct msghdr h;
		test_ctl ctl;
		struct timespec rx = {.tv_sec = 5, .tv_nsec = 6};
		ntp_time real = 0;
		uint32_t key = 0;

		empty_msg(&h, &ctl);
		/* The kernel adds the SO_TIMESTAMPNS copy first: not the one. */
		put_cmsg(&h, &ctl, SOL_SOCKET, SCM_TIMESTAMPNS, &rx, sizeof rx, sizeof rx);
		put_stamp(&h, &ctl, STAMP_SEC, STAMP_NSEC);
		put_err(&h, &ctl, levels[v], types[v], ENOMSG, SO_EE_ORIGIN_TIMESTAMPING,
		        SCM_TSTAMP_SND, 41u + (unsigned)v);
		cr_assert(refd_tx_stamp_parse(&h, &real, &key), "family %d", v);
		cr_assert_eq(real, (ntp_time)STAMP_SEC * NTP_NS_PER_S + STAMP_NSEC);
		cr_assert_eq(key, 41u + (unsigned)v);
	}
}

Test(refd_sock_txts, parse_refuses_what_is_no_send_stamp)
{
	struct msghdr h;
	test_ctl ctl;
	ntp_time real;
	uint32_t key;
	struct sock_extended_err ee;
	struct timespec ts[3];

	empty_msg(&h, &ctl);
	cr_assert_not(refd_tx_stamp_parse(&h, &real, &key), "no control data");

	empty_msg(&h, &ctl);
	put_stamp(&h, &ctl, STAMP_SEC, STAMP_NSEC);
	cr_assert_not(refd_tx_stamp_parse(&h, &real, &key), "a stamp without its key");

	empty_msg(&h, &ctl);
	put_err(&h, &ctl, IPPROTO_IP, IP_RECVERR, ENOMSG, SO_EE_ORIGIN_TIMESTAMPING, SCM_TSTAMP_SND,
	        1);
	cr_assert_not(refd_tx_stamp_parse(&h, &real, &key), "a key without its stamp");

	empty_msg(&h, &ctl);
	put_stamp(&h, &ctl, STAMP_SEC, STAMP_NSEC);
	put_err(&h, &ctl, IPPROTO_IP, IP_RECVERR, ECONNREFUSED, SO_EE_ORIGIN_ICMP, 3, 0);
	cr_assert_not(refd_tx_stamp_parse(&h, &real, &key), "an ICMP error");

	empty_msg(&h, &ctl);
	put_stamp(&h, &ctl, STAMP_SEC, STAMP_NSEC);
	put_err(&h, &ctl, IPPROTO_IP, IP_RECVERR, ENOMSG, SO_EE_ORIGIN_TIMESTAMPING,
	        SCM_TSTAMP_SCHED, 1);
	cr_assert_not(refd_tx_stamp_parse(&h, &real, &key), "a scheduler stamp");

	empty_msg(&h, &ctl);
	memset(ts, 0, sizeof ts);
	ts[2].tv_sec = STAMP_SEC; /* hardware only: no software time */
	put_cmsg(&h, &ctl, SOL_SOCKET, SCM_TIMESTAMPING, ts, sizeof ts, sizeof ts);
	put_err(&h, &ctl, IPPROTO_IP, IP_RECVERR, ENOMSG, SO_EE_ORIGIN_TIMESTAMPING, SCM_TSTAMP_SND,
	        1);
	cr_assert_not(refd_tx_stamp_parse(&h, &real, &key), "no software stamp");

	empty_msg(&h, &ctl);
	put_stamp(&h, &ctl, STAMP_SEC, NTP_NS_PER_S);
	put_err(&h, &ctl, IPPROTO_IP, IP_RECVERR, ENOMSG, SO_EE_ORIGIN_TIMESTAMPING, SCM_TSTAMP_SND,
	        1);
	cr_assert_not(refd_tx_stamp_parse(&h, &real, &key), "nanoseconds out of range");

	empty_msg(&h, &ctl);
	put_stamp(&h, &ctl, (long)(INT64_MAX / 1000), 0);
	put_err(&h, &ctl, IPPROTO_IP, IP_RECVERR, ENOMSG, SO_EE_ORIGIN_TIMESTAMPING, SCM_TSTAMP_SND,
	        1);
	real = 77;
	key = 78;
	cr_assert_not(refd_tx_stamp_parse(&h, &real, &key), "seconds beyond ntp_time");
	cr_assert(real == 77 && key == 78, "nothing written on refusal");

	empty_msg(&h, &ctl);
	put_stamp(&h, &ctl, -1, 5);
	put_err(&h, &ctl, IPPROTO_IP, IP_RECVERR, ENOMSG, SO_EE_ORIGIN_TIMESTAMPING, SCM_TSTAMP_SND,
	        1);
	cr_assert_not(refd_tx_stamp_parse(&h, &real, &key), "before 1970");

	empty_msg(&h, &ctl);
	put_stamp(&h, &ctl, STAMP_SEC, STAMP_NSEC);
	memset(&ee, 0, sizeof ee);
	ee.ee_errno = ENOMSG;
	ee.ee_origin = SO_EE_ORIGIN_TIMESTAMPING;
	put_cmsg(&h, &ctl, IPPROTO_IP, IP_RECVERR, &ee, sizeof ee, 4);
	cr_assert_not(refd_tx_stamp_parse(&h, &real, &key), "cmsg_len too short for its type");

	/* A message cut short by the end of the buffer (the kernel's
	 * MSG_CTRUNC): nothing past the buffer is read (ASan would see). */
	for (int k = 0; k < 2; k++) {
		struct cmsghdr *c;
		char *exact;

		empty_msg(&h, &ctl);
		if (k == 0) {
			put_stamp(&h, &ctl, STAMP_SEC, STAMP_NSEC);
		} else {
			put_err(&h, &ctl, IPPROTO_IP, IP_RECVERR, ENOMSG, SO_EE_ORIGIN_TIMESTAMPING,
			        SCM_TSTAMP_SND, 1);
		}
		h.msg_controllen = CMSG_LEN(8);
		exact = malloc(h.msg_controllen);
		cr_assert_not_null(exact);
		memcpy(exact, ctl.buf, h.msg_controllen);
		h.msg_control = exact;
		c = CMSG_FIRSTHDR(&h);
		cr_assert_not_null(c);
		cr_assert_gt(c->cmsg_len, h.msg_controllen, "the message claims more");
		cr_assert_not(refd_tx_stamp_parse(&h, &real, &key));
		free(exact);
	}
}

static void
note_request(refd_txts_ring *r, int i, size_t len, ntp_time not_before)
{
	uint8_t buf[NTP_PKT_HEADER_LEN];
	ntp_addr to = loop4((uint16_t)(1000 + i));

	memset(buf, 0, sizeof buf);
	buf[0] = 0x23;        /* v4 client */
	buf[47] = (uint8_t)i; /* the transmit timestamp tells them apart */
	refd_txts_note(r, &to, buf, len, not_before);
}

Test(refd_sock_txts, ring_matches_keys_to_requests)
{
	static refd_txts_ring r;
	refd_txstamp st;
	const ntp_time t0 = (ntp_time)STAMP_SEC * NTP_NS_PER_S;

	refd_txts_reset(&r);
	for (int i = 0; i < 3; i++) {
		note_request(&r, i, NTP_PKT_HEADER_LEN, t0 + i);
	}
	cr_assert(refd_txts_take(&r, 1, t0 + 50, &st));
	cr_assert_eq(st.to.port, 1001);
	cr_assert_eq(st.head[47], 1);
	cr_assert_eq(st.real, t0 + 50);
	cr_assert_not(refd_txts_take(&r, 1, t0 + 60, &st), "a key is taken once");
	cr_assert_not(refd_txts_take(&r, 2, t0 + 1, &st), "a stamp older than its send");
	cr_assert(refd_txts_take(&r, 2, t0 + 2, &st), "a refused stamp leaves the slot");
	cr_assert_eq(st.head[47], 2);
	cr_assert_not(refd_txts_take(&r, 7, t0 + 50, &st), "a key never given");

	/* A short datagram uses up its key. */
	note_request(&r, 3, 20, t0);
	note_request(&r, 4, NTP_PKT_HEADER_LEN, t0);
	cr_assert_not(refd_txts_take(&r, 3, t0 + 50, &st));
	cr_assert(refd_txts_take(&r, 4, t0 + 50, &st));
	cr_assert_eq(st.head[47], 4);

	/* A full lap of the ring replaces key 0 by key REFD_TXTS_RING. */
	for (int i = 5; i <= REFD_TXTS_RING; i++) {
		note_request(&r, i, NTP_PKT_HEADER_LEN, t0);
	}
	cr_assert_not(refd_txts_take(&r, 0, t0 + 50, &st), "overwritten");
	cr_assert(refd_txts_take(&r, REFD_TXTS_RING, t0 + 50, &st));
	cr_assert_eq(st.to.port, 1000 + REFD_TXTS_RING);

	refd_txts_reset(&r);
	cr_assert_not(refd_txts_take(&r, 5, t0 + 50, &st), "forgotten");
	note_request(&r, 9, NTP_PKT_HEADER_LEN, t0);
	cr_assert(refd_txts_take(&r, 0, t0 + 50, &st), "the count starts again at 0");
	cr_assert_eq(st.head[47], 9);
}

/* Wait (bounded) until `want` stamps have come back on s. */
static int
collect_stamps(refd_sock *s, refd_txstamp *st, int want)
{
	int got = 0;

	for (int tries = 0; got < want && tries < 50; tries++) {
		struct pollfd pfd = {.fd = s->fd, .events = 0, .revents = 0};

		poll(&pfd, 1, 20);
		got += refd_sock_tx_stamps(s, st + got, want - got);
	}
	return got;
}

static void
request_to(refd_tx *t, const ntp_addr *to, uint8_t tag, bool stamp)
{
	memset(t, 0, sizeof *t);
	t->to = *to;
	t->len = NTP_PKT_HEADER_LEN;
	t->buf[0] = 0x23;
	t->buf[47] = tag;
	t->tx_stamp = stamp;
	t->patch_xmt = !stamp; /* a reply's way: stamped by refd, not the kernel */
}

static void
stamps_requests_only(const char *addr)
{
	static refd_sock rx_sock, tx_sock;
	static refd_txts_ring ring, rx_ring;
	static refd_tx tx[3];
	static refd_rx rx[REFD_BATCH];
	refd_txstamp st[4];
	ntp_addr lo;
	ntp_time before, after;
	char err[256];
	struct pollfd pfd;
	int got = 0;

	cr_assert(ntp_addr_parse(addr, &lo));
	lo.port = 0;
	if (refd_sock_open(&rx_sock, &lo, err, sizeof err) != 0) {
		cr_skip_test("%s: %s", addr, err);
	}
	cr_assert_eq(refd_sock_open(&tx_sock, &lo, err, sizeof err), 0, "%s", err);
	cr_assert_eq(refd_sock_enable_tx_stamps(&tx_sock, &ring), 0, "SO_TIMESTAMPING refused");
	cr_assert_eq(refd_sock_enable_tx_stamps(&rx_sock, &rx_ring), 0);
	request_to(&tx[0], &rx_sock.local, 10, true);
	request_to(&tx[1], &rx_sock.local, 11, false);
	request_to(&tx[2], &rx_sock.local, 12, true);
	before = refd_real_now();
	cr_assert_eq(refd_sock_send(&tx_sock, tx, 3, NULL, NULL), 3);
	after = refd_real_now();

	cr_assert_eq(collect_stamps(&tx_sock, st, 2), 2, "one stamp per request");
	for (int i = 0; i < 2; i++) {
		cr_assert(ntp_addr_equal(&st[i].to, &rx_sock.local));
		cr_assert_eq(st[i].head[47], i == 0 ? 10 : 12, "keys in send order");
		cr_assert_eq(memcmp(st[i].head, tx[2 * i].buf, NTP_PKT_HEADER_LEN), 0);
		cr_assert(st[i].real >= before && st[i].real <= after,
		          "stamp %lld outside [%lld, %lld]", (long long)st[i].real,
		          (long long)before, (long long)after);
	}
	pfd.fd = tx_sock.fd;
	pfd.events = 0;
	cr_assert_eq(poll(&pfd, 1, 50), 0,
	             "error queue empty: the reply-like datagram "
	             "queued no stamp");

	/* Datagrams still arrive with their receive stamps. */
	pfd.fd = rx_sock.fd;
	pfd.events = POLLIN;
	for (int tries = 0; got < 3 && tries < 50; tries++) {
		int n;

		poll(&pfd, 1, 100);
		n = refd_sock_recv(&rx_sock, rx + got, REFD_BATCH - got);
		cr_assert_geq(n, 0);
		got += n;
	}
	cr_assert_eq(got, 3);
	for (int i = 0; i < 3; i++) {
		cr_assert(rx[i].kernel_ts);
		cr_assert_eq(rx[i].buf[47], 10 + i);
		cr_assert(rx[i].real >= before, "received after it was sent");
	}
	cr_assert_eq(refd_sock_tx_stamps(&rx_sock, st, 4), 0, "receiving queues nothing");
	refd_sock_close(&rx_sock);
	refd_sock_close(&tx_sock);
}

Test(refd_sock_txts, kernel_stamps_requests_only_ipv4)
{
	stamps_requests_only("127.0.0.1");
}

Test(refd_sock_txts, kernel_stamps_requests_only_ipv6)
{
	stamps_requests_only("::1");
}

Test(refd_sock_txts, refused_request_restarts_the_key_count)
{
	static refd_sock rx_sock, tx_sock;
	static refd_txts_ring ring;
	static refd_tx tx;
	ntp_addr any = loop4(0), nowhere = loop4(0);
	refd_txstamp st[2];
	char err[256];

	cr_assert_eq(refd_sock_open(&rx_sock, &any, err, sizeof err), 0, "%s", err);
	cr_assert_eq(refd_sock_open(&tx_sock, &any, err, sizeof err), 0, "%s", err);
	cr_assert_eq(refd_sock_enable_tx_stamps(&tx_sock, &ring), 0);
	request_to(&tx, &rx_sock.local, 1, true);
	refd_sock_send(&tx_sock, &tx, 1, NULL, NULL);
	cr_assert_eq(collect_stamps(&tx_sock, st, 1), 1);
	cr_assert_eq(ring.next_key, 1);
	/* Port 0: the kernel refuses it (EINVAL) and nothing leaves. */
	request_to(&tx, &nowhere, 2, true);
	refd_sock_send(&tx_sock, &tx, 1, NULL, NULL);
	cr_assert_not_null(tx_sock.txts, "stamps stay on: the stamp request was not the fault");
	cr_assert_eq(ring.next_key, 0, "the count restarted");
	/* The kernel restarted too: the next request's key matches. */
	request_to(&tx, &rx_sock.local, 3, true);
	refd_sock_send(&tx_sock, &tx, 1, NULL, NULL);
	cr_assert_eq(collect_stamps(&tx_sock, st, 2), 1);
	cr_assert_eq(st[0].head[47], 3);
	refd_sock_close(&rx_sock);
	refd_sock_close(&tx_sock);
}

Test(refd_sock_txts, no_stamps_unless_enabled)
{
	static refd_sock rx_sock, tx_sock;
	static refd_txts_ring ring;
	static refd_tx tx;
	ntp_addr any = loop4(0);
	refd_txstamp st[1];
	struct pollfd pfd;
	char err[256];

	cr_assert_eq(refd_sock_open(&rx_sock, &any, err, sizeof err), 0, "%s", err);
	cr_assert_eq(refd_sock_open(&tx_sock, &any, err, sizeof err), 0, "%s", err);
	cr_assert_null(tx_sock.txts, "off after open (refd -Q, refbench)");
	request_to(&tx, &rx_sock.local, 1, true);
	cr_assert_eq(refd_sock_send(&tx_sock, &tx, 1, NULL, NULL), 1);
	pfd.fd = tx_sock.fd;
	pfd.events = 0;
	cr_assert_eq(poll(&pfd, 1, 50), 0, "tx_stamp alone queues nothing");
	cr_assert_eq(refd_sock_tx_stamps(&tx_sock, st, 1), 0);
	refd_sock_close(&tx_sock);
	cr_assert_lt(refd_sock_enable_tx_stamps(&tx_sock, &ring), 0, "a closed socket");
	cr_assert_null(tx_sock.txts);
	refd_sock_close(&rx_sock);
}
