/* SPDX-License-Identifier: BSD-2-Clause */
/* refd/refd_sock: addresses, HOST[:PORT], /proc/net/udp, batched I/O on
 * loopback. */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
