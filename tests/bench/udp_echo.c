/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * udp_echo: the "UDP echo floor" of issue 17 §4 for tests/bench/bench_refd.sh.
 *
 *   udp_echo ADDR PORT [THREADS]      (THREADS 1..64, default 1)
 *
 * The least work a UDP server can do per NTP request and still be counted
 * by refbench as a reply: each thread owns one SO_REUSEPORT socket on
 * ADDR:PORT, reads batches with recvmmsg, turns each 48-byte request into
 * a reply in place (mode 4, stratum 5, the request's transmit timestamp as
 * the origin: no clock read, no table, no timestamps from the kernel) and
 * writes the batch back with sendmmsg -- the same batching as refd
 * (REFD_BATCH), so refd's CPU per reply over this one is the cost of being
 * an NTP server.  Runs until SIGTERM or SIGINT; every wait is bounded.
 */
#define _GNU_SOURCE /* recvmmsg, sendmmsg, ppoll */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH       32        /* datagrams per recvmmsg/sendmmsg: refd's REFD_BATCH */
#define DGRAM_MAX   1100      /* bytes read per datagram: refd's REFD_RX_MAX */
#define NTP_LEN     48        /* bytes, an NTP header (RFC 5905 §7.3) */
#define THREADS_MAX 64        /* refd's --workers bound */
#define WAIT_NS     200000000 /* ns, longest ppoll: how soon a thread sees the stop flag */
#define RCVBUF      (1 << 20) /* bytes, as refd's REFD_RCVBUF */

static atomic_bool stop;

typedef struct echo_thread {
	pthread_t id;
	int fd;
	unsigned long replies;
} echo_thread;

/* A request becomes its own reply: VN 4, mode 4 (server), stratum 5, and
 * the origin timestamp (bytes 24..31) = the request's transmit (40..47). */
static void
answer(unsigned char *b)
{
	b[0] = (unsigned char)((4u << 3) | 4u);
	b[1] = 5;
	memcpy(b + 24, b + 40, 8);
}

static void *
serve(void *arg)
{
	echo_thread *t = arg;
	unsigned char buf[BATCH][DGRAM_MAX];
	struct sockaddr_in from[BATCH];
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	struct timespec ts = {.tv_sec = 0, .tv_nsec = WAIT_NS};
	struct pollfd pfd = {.fd = t->fd, .events = POLLIN};

	while (!atomic_load(&stop)) {
		int n, k = 0;

		if (ppoll(&pfd, 1, &ts, NULL) <= 0) {
			continue;
		}
		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){.iov_base = buf[i], .iov_len = DGRAM_MAX};
			memset(&msg[i], 0, sizeof msg[i]);
			msg[i].msg_hdr.msg_name = &from[i];
			msg[i].msg_hdr.msg_namelen = sizeof from[i];
			msg[i].msg_hdr.msg_iov = &iov[i];
			msg[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(t->fd, msg, BATCH, MSG_DONTWAIT, NULL);
		for (int i = 0; i < n; i++) {
			if (msg[i].msg_len != NTP_LEN) {
				continue;
			}
			answer(buf[i]);
			iov[i].iov_len = NTP_LEN;
			msg[k++] = msg[i];
		}
		if (k > 0) {
			int sent = sendmmsg(t->fd, msg, (unsigned)k, 0);

			t->replies += sent > 0 ? (unsigned long)sent : 0;
		}
	}
	return NULL;
}

static int
open_socket(const char *addr, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int one = 1, rcvbuf = RCVBUF;

	if (fd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		fprintf(stderr, "udp_echo: %s:%d: %s\n", addr, port, strerror(errno));
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	return fd;
}

/* A whole decimal number in [lo, hi], else -1. */
static long
whole(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	return errno == 0 && end != s && *end == '\0' && s[0] != '+' && v >= lo && v <= hi ? v : -1;
}

int
main(int argc, char *argv[])
{
	echo_thread t[THREADS_MAX];
	long port = argc >= 3 ? whole(argv[2], 1, 65535) : -1;
	long n = argc >= 4 ? whole(argv[3], 1, THREADS_MAX) : 1;
	unsigned long total = 0;
	sigset_t sigs, old;
	int sig;

	if (argc < 3 || argc > 4 || port < 0 || n < 0) {
		fprintf(stderr, "usage: udp_echo IPV4-ADDR PORT [THREADS 1..64]\n");
		return 2;
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	/* blocked in every thread; the main thread waits for them */
	pthread_sigmask(SIG_BLOCK, &sigs, &old);
	for (long i = 0; i < n; i++) {
		t[i].replies = 0;
		t[i].fd = open_socket(argv[1], (int)port);
		if (t[i].fd < 0 || pthread_create(&t[i].id, NULL, serve, &t[i]) != 0) {
			return 1;
		}
	}
	sigwait(&sigs, &sig);
	atomic_store(&stop, true);
	for (long i = 0; i < n; i++) {
		pthread_join(t[i].id, NULL);
		close(t[i].fd);
		total += t[i].replies;
	}
	fprintf(stderr, "udp_echo: %lu replies from %ld threads\n", total, n);
	return 0;
}
