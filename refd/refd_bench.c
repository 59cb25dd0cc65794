/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refbench: a closed-loop NTP load generator for loopback and test
 * namespaces.
 *
 *   refbench HOST[:PORT] [-c CLIENTS] [-d SECONDS] [-r RATE] [-w WINDOW] [--json]
 *
 * CLIENTS sockets each keep up to WINDOW requests in flight; every reply
 * (matched by its origin timestamp, a random nonce per request) frees a slot
 * that is refilled at once, so the offered load follows the server (closed
 * loop), optionally capped at RATE requests/s overall.  Requests go out with
 * sendmmsg and replies come in with recvmmsg.  A request unanswered after
 * 1 s counts as lost.  Latency is kernel receive stamp minus send time, in a
 * 1-us histogram; the report gives replies/s, loss and p50/p90/p99/max.
 *
 * Targets are restricted to loopback and private addresses (test namespaces):
 * this is a load generator, not a tool for other people's servers.
 */
#define _GNU_SOURCE /* ppoll-free poll */

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ntp_addr.h"
#include "ntp_pkt.h"
#include "ntp_rand.h"
#include "refd_clock.h"
#include "refd_num.h"
#include "refd_sock.h"

#define BENCH_CLIENTS_DEF 16
#define BENCH_CLIENTS_MAX 1024
#define BENCH_WINDOW_DEF  4
#define BENCH_SECONDS_DEF 5.0
#define BENCH_SECONDS_MAX 60.0
#define BENCH_LOST_NS     NTP_NS_PER_S /* ns: unanswered this long = lost (ours) */
#define BENCH_DRAIN_NS    NTP_NS_PER_S /* ns: wait for stragglers at the end */
#define BENCH_POLL_MS     5            /* ms, longest wait in the loop */
#define HIST_US           100000       /* 1-us buckets up to 100 ms */
#define EXIT_USAGE        2

typedef struct slot {
	bool busy;
	ntp_ts64 nonce;
	ntp_time sent; /* CLOCK_REALTIME ns */
} slot;

typedef struct client {
	refd_sock sock;
	slot slots[REFD_BATCH];
} client;

typedef struct bench {
	ntp_addr target;
	int n_clients, window;
	double seconds, rate;
	bool json;
	client *clients;
	ntp_rand rnd;
	double tokens;
	ntp_time last_refill;
	unsigned long sent, replies, lost, kod, bad, late;
	uint32_t *hist; /* HIST_US + 1 buckets: the last one is "100 ms or more" */
	ntp_time max_ns;
} bench;

static volatile sig_atomic_t interrupted;

static void
on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void
usage(FILE *out)
{
	fputs("usage: refbench HOST[:PORT] [-c CLIENTS] [-d SECONDS] [-r RATE] [-w WINDOW] "
	      "[--json]\n"
	      "  -c CLIENTS   sockets, 1..1024 (default 16)\n"
	      "  -d SECONDS   duration, (0, 60] (default 5)\n"
	      "  -r RATE      cap on requests/s over all clients (default 0: as fast as the\n"
	      "               server answers, closed loop)\n"
	      "  -w WINDOW    requests in flight per client, 1..32 (default 4)\n"
	      "  --json       one JSON object instead of the text report\n"
	      "Targets: loopback and private (test namespace) addresses only.\n",
	      out);
}

/* Loopback, RFC 1918, link-local, or IPv6 ULA / link-local / ::1. */
static bool
target_allowed(const ntp_addr *a)
{
	if (ntp_addr_is_loopback(a)) {
		return true;
	}
	if (a->family == NTP_AF_INET) {
		return a->a[0] == 10 || (a->a[0] == 172 && (a->a[1] & 0xf0) == 16) ||
		       (a->a[0] == 192 && a->a[1] == 168) || (a->a[0] == 169 && a->a[1] == 254);
	}
	return (a->a[0] & 0xfe) == 0xfc || (a->a[0] == 0xfe && (a->a[1] & 0xc0) == 0x80);
}

/* Plain decimal only (refd_num.h): no 0x10, inf or nan. */
static bool
num(const char *s, double lo, double hi, double *out)
{
	return refd_num_parse(s, out) && *out >= lo && *out <= hi;
}

static int
resolve_target(const char *spec, ntp_addr *out, char *err, size_t errsize)
{
	char host[REFD_HOST_MAX];
	uint16_t port = NTP_PORT;
	struct addrinfo hints, *res = NULL;
	int rc;

	if (refd_parse_hostport(spec, host, sizeof host, &port, err, errsize) != 0) {
		return -1;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0 || res == NULL || !refd_addr_from_sockaddr(res->ai_addr, out)) {
		snprintf(err, errsize, "%.100s: cannot resolve: %s", host,
		         rc != 0 ? gai_strerror(rc) : "no address");
		if (res != NULL) {
			freeaddrinfo(res);
		}
		return -1;
	}
	freeaddrinfo(res);
	out->port = port;
	return 0;
}

static int
parse_args(int argc, char **argv, bench *b, char *err, size_t errsize)
{
	const char *target = NULL;
	double v;

	b->n_clients = BENCH_CLIENTS_DEF;
	b->window = BENCH_WINDOW_DEF;
	b->seconds = BENCH_SECONDS_DEF;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has_val = i + 1 < argc;

		if (strcmp(a, "--json") == 0) {
			b->json = true;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(a, "-c") == 0 && has_val &&
		           num(argv[i + 1], 1, BENCH_CLIENTS_MAX, &v)) {
			b->n_clients = (int)v;
			i++;
		} else if (strcmp(a, "-d") == 0 && has_val &&
		           num(argv[i + 1], 1e-3, BENCH_SECONDS_MAX, &v)) {
			b->seconds = v;
			i++;
		} else if (strcmp(a, "-r") == 0 && has_val && num(argv[i + 1], 0, 1e9, &v)) {
			b->rate = v;
			i++;
		} else if (strcmp(a, "-w") == 0 && has_val && num(argv[i + 1], 1, REFD_BATCH, &v)) {
			b->window = (int)v;
			i++;
		} else if (a[0] == '-') {
			snprintf(err, errsize, "bad option or value: '%s%s%s' (try --help)", a,
			         has_val ? " " : "", has_val ? argv[i + 1] : "");
			return -1;
		} else if (target == NULL) {
			target = a;
		} else {
			snprintf(err, errsize, "one target only ('%s' and '%s')", target, a);
			return -1;
		}
	}
	if (target == NULL) {
		snprintf(err, errsize, "missing HOST[:PORT] (try --help)");
		return -1;
	}
	if (resolve_target(target, &b->target, err, errsize) != 0) {
		return -1;
	}
	if (!target_allowed(&b->target)) {
		snprintf(
		        err, errsize,
		        "%s is not a loopback or private address; refbench only loads test servers",
		        target);
		return -1;
	}
	return 0;
}

static void
record_latency(bench *b, ntp_time ns)
{
	long us = (long)(ns / 1000);

	if (ns > b->max_ns) {
		b->max_ns = ns;
	}
	b->hist[us < 0 ? 0 : us >= HIST_US ? HIST_US : us]++;
}

static double
percentile_us(const bench *b, double p)
{
	unsigned long want = (unsigned long)ceil(p * (double)b->replies), seen = 0;

	if (b->replies == 0) {
		return NAN;
	}
	for (long us = 0; us <= HIST_US; us++) {
		seen += b->hist[us];
		if (seen >= want && seen > 0) {
			return (double)us;
		}
	}
	return (double)HIST_US;
}

static bool
take_token(bench *b, ntp_time now)
{
	/* A bucket of at least 10 ms of tokens smooths the loop's own pauses. */
	double cap = fmax((double)b->n_clients * b->window, b->rate * 0.01);

	if (b->rate <= 0.0) {
		return true;
	}
	b->tokens = fmin(cap, b->tokens + b->rate * (double)(now - b->last_refill) / 1e9);
	b->last_refill = now;
	if (b->tokens < 1.0) {
		return false;
	}
	b->tokens -= 1.0;
	return true;
}

/* How long the loop may sleep: until the next token when rate-capped. */
static int
wait_ms(const bench *b)
{
	double ms;

	if (b->rate <= 0.0 || b->tokens >= 1.0) {
		return BENCH_POLL_MS;
	}
	ms = ceil((1.0 - b->tokens) / b->rate * 1e3);
	return ms < 1.0 ? 1 : ms > BENCH_POLL_MS ? BENCH_POLL_MS : (int)ms;
}

static void
refill(bench *b, client *c, const uint8_t *tmpl, bool sending)
{
	refd_tx tx[REFD_BATCH];
	int n = 0;
	ntp_time now = refd_real_now();

	for (int k = 0; k < b->window; k++) {
		slot *s = &c->slots[k];

		if (s->busy && now - s->sent > BENCH_LOST_NS) {
			s->busy = false;
			b->lost++;
		}
		if (s->busy || !sending || !take_token(b, now)) {
			continue;
		}
		do {
			s->nonce = ntp_rand_u64(&b->rnd);
		} while (s->nonce == 0);
		memset(&tx[n].from, 0, sizeof tx[n].from);
		tx[n].to = b->target;
		tx[n].patch_xmt = false;
		tx[n].len = NTP_PKT_HEADER_LEN;
		memcpy(tx[n].buf, tmpl, NTP_PKT_HEADER_LEN);
		for (int i = 0; i < 8; i++) {
			tx[n].buf[40 + i] = (uint8_t)(s->nonce >> (56 - 8 * i));
		}
		s->busy = true;
		s->sent = now;
		n++;
	}
	if (n > 0) {
		b->sent += (unsigned long)refd_sock_send(&c->sock, tx, n, NULL, NULL);
	}
}

static void
take_replies(bench *b, client *c, refd_rx *rx)
{
	int n;

	while ((n = refd_sock_recv(&c->sock, rx, REFD_BATCH)) > 0) {
		for (int i = 0; i < n; i++) {
			ntp_pkt p;
			int k;

			if (ntp_pkt_decode(rx[i].buf, rx[i].len, &p, NULL) != NTP_PKT_OK ||
			    p.mode != NTP_MODE_SERVER) {
				b->bad++;
				continue;
			}
			for (k = 0; k < b->window; k++) {
				if (c->slots[k].busy && c->slots[k].nonce == p.org) {
					break;
				}
			}
			if (k == b->window) {
				b->late++; /* answered after we gave up, or not ours */
				continue;
			}
			c->slots[k].busy = false;
			if (ntp_pkt_is_kod(&p)) {
				b->kod++;
				continue;
			}
			b->replies++;
			record_latency(b, rx[i].real - c->slots[k].sent);
		}
	}
}

static int
open_clients(bench *b, char *err, size_t errsize)
{
	ntp_addr any;

	memset(&any, 0, sizeof any);
	any.family = b->target.family;
	for (int i = 0; i < b->n_clients; i++) {
		if (refd_sock_open(&b->clients[i].sock, &any, err, errsize) != 0) {
			return -1;
		}
	}
	return 0;
}

static void
run(bench *b, const uint8_t *tmpl)
{
	struct pollfd *pfd = calloc((size_t)b->n_clients, sizeof *pfd);
	refd_rx *rx = malloc(sizeof(refd_rx) * REFD_BATCH);
	ntp_time start = refd_mono_now();
	ntp_time end = start + ntp_time_from_s(b->seconds);

	if (pfd == NULL || rx == NULL) {
		free(pfd);
		free(rx);
		return;
	}
	b->last_refill = refd_real_now();
	for (int i = 0; i < b->n_clients; i++) {
		pfd[i].fd = b->clients[i].sock.fd;
		pfd[i].events = POLLIN;
	}
	while (!interrupted) {
		ntp_time now = refd_mono_now();
		bool sending = now < end;
		bool busy = false;

		if (now >= end + BENCH_DRAIN_NS) {
			break;
		}
		for (int i = 0; i < b->n_clients; i++) {
			refill(b, &b->clients[i], tmpl, sending);
			for (int k = 0; k < b->window && !busy; k++) {
				busy = b->clients[i].slots[k].busy;
			}
		}
		if (!sending && !busy) {
			break;
		}
		if (poll(pfd, (nfds_t)b->n_clients, wait_ms(b)) < 0 && errno != EINTR) {
			break;
		}
		for (int i = 0; i < b->n_clients; i++) {
			if (pfd[i].revents & POLLIN) {
				take_replies(b, &b->clients[i], rx);
			}
		}
	}
	for (int i = 0; i < b->n_clients; i++) {
		for (int k = 0; k < b->window; k++) {
			b->lost += b->clients[i].slots[k].busy ? 1u : 0u;
		}
	}
	free(pfd);
	free(rx);
}

static void
report(const bench *b)
{
	char target[80];
	double per_s = (double)b->replies / b->seconds;
	double loss = b->sent ? 100.0 * (double)b->lost / (double)b->sent : 0.0;

	refd_addr_port_format(&b->target, target, sizeof target);
	if (b->json) {
		printf("{\"target\":\"%s\",\"clients\":%d,\"window\":%d,\"seconds\":%g,\"rate_"
		       "cap\":%g,"
		       "\"sent\":%lu,\"replies\":%lu,\"replies_per_s\":%.1f,\"lost\":%lu,"
		       "\"loss_pct\":%.3f,\"kod\":%lu,\"bad\":%lu,\"late\":%lu,"
		       "\"latency_us\":{\"p50\":%.0f,\"p90\":%.0f,\"p99\":%.0f,\"max\":%.1f}}\n",
		       target, b->n_clients, b->window, b->seconds, b->rate, b->sent, b->replies,
		       per_s, b->lost, loss, b->kod, b->bad, b->late, percentile_us(b, 0.50),
		       percentile_us(b, 0.90), percentile_us(b, 0.99), (double)b->max_ns / 1e3);
		return;
	}
	printf("refbench %s: %d clients x %d in flight, %g s%s\n", target, b->n_clients, b->window,
	       b->seconds, b->rate > 0 ? " (rate capped)" : "");
	printf("sent %lu, replies %lu (%.0f/s), lost %lu (%.3f %%), KoD %lu, bad %lu, late %lu\n",
	       b->sent, b->replies, per_s, b->lost, loss, b->kod, b->bad, b->late);
	printf("latency us: p50 %.0f  p90 %.0f  p99 %.0f  max %.1f\n", percentile_us(b, 0.50),
	       percentile_us(b, 0.90), percentile_us(b, 0.99), (double)b->max_ns / 1e3);
}

int
main(int argc, char **argv)
{
	bench b;
	ntp_pkt req;
	uint8_t tmpl[NTP_PKT_HEADER_LEN];
	size_t len = 0;
	uint64_t seed = 0;
	char err[256];
	int rc = 0;

	memset(&b, 0, sizeof b);
	if (parse_args(argc, argv, &b, err, sizeof err) != 0) {
		fprintf(stderr, "refbench: %s\n", err);
		return EXIT_USAGE;
	}
	b.clients = calloc((size_t)b.n_clients, sizeof *b.clients);
	b.hist = calloc(HIST_US + 1, sizeof *b.hist);
	if (b.clients == NULL || b.hist == NULL) {
		fprintf(stderr, "refbench: out of memory\n");
		return 1;
	}
	for (int i = 0; i < b.n_clients; i++) {
		b.clients[i].sock.fd = -1;
	}
	if (refd_entropy(&seed, sizeof seed, err, sizeof err) != 0) {
		fprintf(stderr, "refbench: %s\n", err);
		free(b.clients);
		free(b.hist);
		return 1;
	}
	ntp_rand_seed(&b.rnd, seed);
	memset(&req, 0, sizeof req);
	req.leap = NTP_LEAP_NOTSYNC;
	req.version = 4;
	req.mode = NTP_MODE_CLIENT;
	req.xmt = 1;
	ntp_pkt_encode(&req, tmpl, sizeof tmpl, &len);
	signal(SIGINT, on_sigint);
	if (open_clients(&b, err, sizeof err) != 0) {
		fprintf(stderr, "refbench: %s\n", err);
		rc = 1;
	} else {
		run(&b, tmpl);
		report(&b);
		rc = b.replies > 0 ? 0 : 1;
	}
	for (int i = 0; i < b.n_clients; i++) {
		refd_sock_close(&b.clients[i].sock);
	}
	free(b.clients);
	free(b.hist);
	return rc;
}
