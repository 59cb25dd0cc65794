/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refd -Q: one-shot queries (refd_query.h).
 */
#include "refd_query.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "ntp_nonce.h"
#include "ntp_pkt.h"
#include "refd_clock.h"

#define POLL_SLICE_MS 50 /* ms, longest single wait (keeps the loop responsive) */

static const char *const leap_names[4] = {"no-leap", "add-leap", "del-leap", "unsync"};

char *
refd_query_reason(const refd_query_server *s, double timeout, char *buf, size_t size)
{
	const ntp_query_server *q = &s->q;

	if (!s->resolved) {
		snprintf(buf, size, "cannot resolve: %s", s->resolve_err);
	} else if (q->have) {
		snprintf(buf, size, "usable");
	} else if (ntp_query_unsuitable(q, buf, size)[0] != '\0') {
		/* the core's reason: KoD, unsynchronised, insane header */
	} else if (q->ignored > 0) {
		snprintf(buf, size,
		         "no valid reply in %g s (%d request%s, %d datagram%s ignored: %s)",
		         timeout, q->sent, q->sent == 1 ? "" : "s", q->ignored,
		         q->ignored == 1 ? "" : "s", q->ignored_why);
	} else {
		snprintf(buf, size, "no reply in %g s (%d request%s)", timeout, q->sent,
		         q->sent == 1 ? "" : "s");
	}
	return buf;
}

/* ---- output ---- */

static void
json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			fprintf(out, "\\%c", c);
		} else if (c < 0x20 || c >= 0x7f) {
			fprintf(out, "\\u%04x", c);
		} else {
			fputc(c, out);
		}
	}
	fputc('"', out);
}

static void
json_server(FILE *out, const refd_query_server *s, double timeout)
{
	const ntp_query_server *q = &s->q;
	char addr[64], refid[16], reason[256];

	fputs("{\"host\":", out);
	json_string(out, s->label);
	if (s->resolved) {
		fputs(",\"address\":", out);
		json_string(out, ntp_addr_format(&s->addr, addr, sizeof addr));
		fprintf(out, ",\"port\":%u", s->addr.port);
	}
	fprintf(out, ",\"requests\":%d,\"replies\":%d,\"usable\":%s", q->sent, q->replies,
	        q->have ? "true" : "false");
	if (q->measured) {
		ntp_pkt_refid_format(q->refid, q->stratum, refid, sizeof refid);
		fprintf(out,
		        ",\"offset\":%.9f,\"delay\":%.9f,\"stratum\":%u,\"leap\":\"%s\","
		        "\"precision\":%d,\"rootdelay\":%.6f,\"rootdisp\":%.6f,\"refid\":",
		        q->offset, q->delay, q->stratum, leap_names[q->leap & 3], q->precision,
		        q->rootdelay, q->rootdisp);
		json_string(out, refid);
	}
	if (!q->have) {
		fputs(",\"reason\":", out);
		json_string(out, refd_query_reason(s, timeout, reason, sizeof reason));
	}
	if (q->kod) {
		fputs(",\"kod\":", out);
		json_string(out, q->kiss);
	}
	fputc('}', out);
}

static void
text_server(FILE *out, const refd_query_server *s, double timeout)
{
	const ntp_query_server *q = &s->q;
	char addr[64], refid[16], reason[256];

	if (!q->have) {
		fprintf(out, "server %s: %s\n", s->label,
		        refd_query_reason(s, timeout, reason, sizeof reason));
		return;
	}
	fprintf(out,
	        "server %s, port %u, stratum %u, offset %+.6f, delay %.6f, leap %s, refid %s\n",
	        ntp_addr_format(&s->addr, addr, sizeof addr), s->addr.port, q->stratum, q->offset,
	        q->delay, leap_names[q->leap & 3],
	        ntp_pkt_refid_format(q->refid, q->stratum, refid, sizeof refid));
}

int
refd_query_report(const refd_query_server *s, size_t n, double timeout, bool json, FILE *out,
                  FILE *err_out)
{
	ntp_query_result r = ntp_query_choose(&s[0].q, n, sizeof(s[0]));
	int best = r.chosen;
	/* exit status: 0 a suitable server; else REFD_QUERY_EXIT_KOD when a
	 * server sent a kiss, 1 otherwise */
	int none = r.any_kod ? REFD_QUERY_EXIT_KOD : 1;
	char addr[64], reason[256];
	const char *verdict = best < 0 ? "none" : r.step ? "step" : "adjust";

	if (json) {
		fputs("{\"servers\":[", out);
		for (size_t i = 0; i < n; i++) {
			if (i > 0) {
				fputc(',', out);
			}
			json_server(out, &s[i], timeout);
		}
		fprintf(out, "],\"result\":\"%s\"", verdict);
		if (best >= 0) {
			fputs(",\"server\":", out);
			json_string(out, ntp_addr_format(&s[best].addr, addr, sizeof addr));
			fprintf(out, ",\"offset\":%.9f,\"delay\":%.9f,\"stratum\":%u",
			        s[best].q.offset, s[best].q.delay, s[best].q.stratum);
		} else {
			fputs(",\"message\":\"no server suitable for synchronization found\"", out);
		}
		fputs("}\n", out);
		return best >= 0 ? 0 : none;
	}
	if (best < 0) {
		fputs("no server suitable for synchronization found\n", err_out);
		for (size_t i = 0; i < n; i++) {
			fprintf(err_out, "%s: %s\n", s[i].label,
			        refd_query_reason(&s[i], timeout, reason, sizeof reason));
		}
		return none;
	}
	for (size_t i = 0; i < n; i++) {
		text_server(out, &s[i], timeout);
	}
	fprintf(out, "%s time server %s offset %+.6f sec (not set: query only)\n", verdict,
	        ntp_addr_format(&s[best].addr, addr, sizeof addr), s[best].q.offset);
	return 0;
}

/* ---- the I/O ---- */

typedef struct query_run {
	refd_query_server *srv;
	size_t n;
	refd_sock sock[2];    /* IPv4, IPv6 */
	ntp_nonce nonce;      /* transmit timestamps an off-path attacker cannot guess */
	double offset;        /* s, --clock-offset */
	ntp_query_params par; /* ntpdig's request, -n samples, timeout/samples apart */
} query_run;

static ntp_time
local_of(const query_run *q, ntp_time real)
{
	return real + ntp_time_from_s(q->offset);
}

static void
resolve(refd_query_server *s, const char *spec, uint16_t default_port)
{
	struct addrinfo hints, *res = NULL;
	uint16_t port = default_port;
	int rc;

	memset(s, 0, sizeof *s);
	ntp_query_server_init(&s->q);
	snprintf(s->label, sizeof s->label, "%s", spec);
	if (refd_parse_hostport(spec, s->host, sizeof s->host, &port, s->resolve_err,
	                        sizeof s->resolve_err) != 0) {
		snprintf(s->host, sizeof s->host, "%s", spec);
		return;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	rc = getaddrinfo(s->host, NULL, &hints, &res);
	if (rc != 0) {
		snprintf(s->resolve_err, sizeof s->resolve_err, "%s", gai_strerror(rc));
		return;
	}
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		if (refd_addr_from_sockaddr(ai->ai_addr, &s->addr)) {
			s->addr.port = port;
			s->resolved = true;
			break;
		}
	}
	freeaddrinfo(res);
	if (!s->resolved) {
		snprintf(s->resolve_err, sizeof s->resolve_err, "no IPv4 or IPv6 address");
	}
}

static refd_sock *
sock_for(query_run *q, const ntp_addr *to)
{
	int i = to->family == NTP_AF_INET6 ? 1 : 0;

	if (q->sock[i].fd < 0) {
		ntp_addr any;
		char err[160];

		memset(&any, 0, sizeof any);
		any.family = to->family;
		if (refd_sock_open(&q->sock[i], &any, err, sizeof err) != 0) {
			fprintf(stderr, "refd: %s\n", err);
			return NULL;
		}
	}
	return &q->sock[i];
}

static bool
server_done(const query_run *q, const refd_query_server *s)
{
	return !s->resolved || ntp_query_done(&s->q, &q->par);
}

static void
send_request(query_run *q, size_t i, ntp_time mono)
{
	refd_query_server *s = &q->srv[i];
	refd_sock *sock = sock_for(q, &s->addr);
	refd_tx tx;

	memset(&tx, 0, sizeof tx);
	tx.to = s->addr;
	/* T1 is read at the last moment before the send; the transmit
	 * timestamp is a nonce (ntpdig, chrony: data minimisation). */
	tx.len = ntp_query_request(&s->q, &q->par, ntp_nonce_u64(&q->nonce),
	                           ntp_now_at(mono, local_of(q, refd_real_now())), tx.buf,
	                           sizeof tx.buf);
	if (sock != NULL && tx.len > 0) {
		refd_sock_send(sock, &tx, 1, NULL, NULL);
	}
}

static void
receive_all(query_run *q, refd_sock *sock, ntp_time mono)
{
	refd_rx *rx = malloc(sizeof(refd_rx) * REFD_BATCH);
	int n;

	if (rx == NULL) {
		return;
	}
	while ((n = refd_sock_recv(sock, rx, REFD_BATCH)) > 0) {
		for (int r = 0; r < n; r++) {
			for (size_t i = 0; i < q->n; i++) {
				refd_query_server *s = &q->srv[i];
				char why[NTP_QUERY_WHY_MAX];

				if (!s->resolved || !ntp_addr_equal(&s->addr, &rx[r].from)) {
					continue;
				}
				/* an answer makes the next request due at once */
				ntp_query_reply(&s->q, &q->par, rx[r].buf, rx[r].len,
				                ntp_now_at(mono, local_of(q, rx[r].real)), why,
				                sizeof why);
				break;
			}
		}
	}
	free(rx);
}

/* A nonce generator keyed from getrandom(2); false with err on failure. */
static bool
key_nonce(ntp_nonce *n, char *err, size_t errsize)
{
	uint8_t key[NTP_NONCE_KEY_BYTES];

	if (refd_entropy(key, sizeof key, err, errsize) != 0) {
		return false;
	}
	if (!ntp_nonce_init(n, key)) {
		snprintf(err, errsize, "getrandom returned an all-zero key");
		return false;
	}
	return true;
}

/* Send what is due; the earliest time something falls due (capped at
 * deadline); *all_done when no server awaits anything. */
static ntp_time
send_due(query_run *q, ntp_time now, ntp_time deadline, bool *all_done)
{
	ntp_time wake = deadline;

	*all_done = true;
	for (size_t i = 0; i < q->n; i++) {
		ntp_time due;

		if (server_done(q, &q->srv[i])) {
			continue;
		}
		*all_done = false;
		if (ntp_query_due(&q->srv[i].q, &q->par) <= now) {
			send_request(q, i, now);
		}
		due = ntp_query_due(&q->srv[i].q, &q->par);
		if (due < wake) {
			wake = due;
		}
	}
	return wake;
}

int
refd_query_run(const refd_opts *o)
{
	query_run q;
	refd_query_server *srv = calloc(o->n_hosts, sizeof *srv);
	ntp_time start, deadline;
	char err[160];
	int rc;

	if (srv == NULL) {
		fprintf(stderr, "refd: out of memory\n");
		return 1;
	}
	memset(&q, 0, sizeof q);
	q.srv = srv;
	q.n = o->n_hosts;
	q.sock[0].fd = q.sock[1].fd = -1;
	q.offset = o->clock_offset;
	/* ntpdig's request: version 4, poll and precision 0 (only what the
	 * server needs). */
	q.par.version = 4;
	q.par.samples = o->samples;
	q.par.gap = ntp_time_from_s(o->timeout / o->samples);
	if (!key_nonce(&q.nonce, err, sizeof err)) {
		fprintf(stderr, "refd: %s\n", err);
		free(srv);
		return 1;
	}
	for (size_t i = 0; i < q.n; i++) {
		resolve(&srv[i], o->hosts[i], NTP_PORT);
	}
	start = refd_mono_now();
	deadline = start + ntp_time_from_s(o->timeout);
	for (size_t i = 0; i < q.n; i++) {
		if (srv[i].resolved) {
			send_request(&q, i, start);
		}
	}
	for (;;) {
		ntp_time now = refd_mono_now();
		struct pollfd pfd[2];
		nfds_t nfd = 0;
		bool all_done;
		ntp_time wake = send_due(&q, now, deadline, &all_done);

		if (all_done || now >= deadline) {
			break;
		}
		for (int k = 0; k < 2; k++) {
			if (q.sock[k].fd >= 0) {
				pfd[nfd].fd = q.sock[k].fd;
				pfd[nfd].events = POLLIN;
				nfd++;
			}
		}
		{
			ntp_time ms = wake > now ? (wake - now + 999999) / 1000000 : 0;

			if (poll(pfd, nfd, (int)(ms < POLL_SLICE_MS ? ms : POLL_SLICE_MS)) < 0 &&
			    errno != EINTR) {
				break;
			}
		}
		now = refd_mono_now();
		for (int k = 0; k < 2; k++) {
			if (q.sock[k].fd >= 0) {
				receive_all(&q, &q.sock[k], now);
			}
		}
	}
	rc = refd_query_report(srv, q.n, o->timeout, o->json, stdout, stderr);
	refd_sock_close(&q.sock[0]);
	refd_sock_close(&q.sock[1]);
	free(srv);
	return rc;
}
