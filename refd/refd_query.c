/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refd -Q: one-shot queries (refd_query.h).
 */
#include "refd_query.h"

#include <errno.h>
#include <math.h>
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

/* Which of our requests this reply answers, or -1. */
static int
match_request(const refd_query_server *s, ntp_ts64 org)
{
	for (int k = 0; k < s->sent && k < REFD_QUERY_SAMPLES_MAX; k++) {
		if (s->xmt[k] == org) {
			return k;
		}
	}
	return -1;
}

char *
refd_query_refid(uint32_t refid, uint8_t stratum, char *buf, size_t size)
{
	char code[5];
	size_t n = 0;

	if (stratum > 1) {
		return ntp_pkt_refid_format(refid, stratum, buf, size);
	}
	for (int i = 0; i < 4; i++) {
		uint8_t c = (uint8_t)(refid >> (24 - 8 * i));

		if (c == 0) {
			break;
		}
		code[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	code[n] = '\0';
	snprintf(buf, size, "%s", code);
	return buf;
}

/* RFC 5905 Fig. 13: INIT ("not yet synchronized for the first time") and
 * STEP ("a step ... has not yet resynchronized") report a state, and ntpd
 * and refd answer INIT all the while they are unsynchronised: such a reply
 * is an unsynchronised server's, whose clock can still be read.  Every
 * other kiss code denies, restricts or rate-limits us (§7.4). */
static bool
kiss_is_state(uint32_t refid)
{
	return refid == NTP_REFID("INIT") || refid == NTP_REFID("STEP");
}

/* RFC 5905 App. A.5.1.1 header tests: LI=3, stratum 0 (an INIT or STEP
 * kiss) or 16 (TEST6), a
 * reference time after the transmit time, a root distance of MAXDISP or
 * more (TEST7). */
static int
check_header(const ntp_pkt *p, char *why, size_t whysize)
{
	double rootdist = ntp_short_to_s(p->rootdelay) / 2.0 + ntp_short_to_s(p->rootdisp);
	char refid[16];

	refd_query_refid(p->refid, p->stratum, refid, sizeof refid);
	if (p->leap == NTP_LEAP_NOTSYNC || p->stratum == 0 || p->stratum >= 16) {
		snprintf(why, whysize, "server unsynchronised (LI=%u, stratum %u, refid %s)",
		         p->leap, p->stratum, refid);
		return REFD_REPLY_UNUSABLE;
	}
	if (p->reftime != 0 && ntp_ts_sub(p->reftime, p->xmt) > 0) {
		snprintf(why, whysize, "reference time %.6f s after its transmit time",
		         ntp_dur_to_s(ntp_ts_sub(p->reftime, p->xmt)));
		return REFD_REPLY_UNUSABLE;
	}
	if (rootdist >= REFD_QUERY_MAXDISPERSE) {
		snprintf(why, whysize, "root distance %.3f s is %.0f s or more", rootdist,
		         REFD_QUERY_MAXDISPERSE);
		return REFD_REPLY_UNUSABLE;
	}
	return REFD_REPLY_OK;
}

static void
keep_sample(refd_query_server *s, const ntp_pkt *p, int k, ntp_time t4, bool usable)
{
	ntp_ts64 t1 = ntp_ts_from_unix_ns(s->t1[k]);
	ntp_ts64 t4w = ntp_ts_from_unix_ns(t4);
	/* RFC 5905 §8: first-order differences in fixed point, then double. */
	double t21 = ntp_dur_to_s(ntp_ts_sub(p->rec, t1));
	double t34 = ntp_dur_to_s(ntp_ts_sub(p->xmt, t4w));
	double offset = (t21 + t34) / 2.0;
	double delay = fmax(t21 - t34, 0.0);

	if (usable ? (s->have && delay >= s->delay)
	           : (s->have || (s->measured && delay >= s->delay))) {
		return;
	}
	s->have |= usable;
	s->measured = true;
	s->offset = offset;
	s->delay = delay;
	s->leap = p->leap;
	s->stratum = p->stratum;
	s->version = p->version;
	s->precision = p->precision;
	s->refid = p->refid;
	s->rootdelay = ntp_short_to_s(p->rootdelay);
	s->rootdisp = ntp_short_to_s(p->rootdisp);
}

int
refd_query_reply(refd_query_server *s, const uint8_t *buf, size_t len, ntp_time t4, char *why,
                 size_t whysize)
{
	ntp_pkt p;
	ntp_pkt_err e;
	int rc = ntp_pkt_decode(buf, len, &p, &e);
	int k;

	why[0] = '\0';
	if (rc != NTP_PKT_OK) {
		snprintf(why, whysize, "malformed reply: %s",
		         rc < 0 ? e.msg : "a control or private mode packet");
		s->ignored++;
		return REFD_REPLY_IGNORED;
	}
	if (p.mode != NTP_MODE_SERVER) {
		snprintf(why, whysize, "mode %u (%s) is not a server reply", p.mode,
		         ntp_pkt_mode_name(p.mode));
		s->ignored++;
		return REFD_REPLY_IGNORED;
	}
	k = p.org == 0 ? -1 : match_request(s, p.org);
	if (k < 0) {
		snprintf(why, whysize, "%s",
		         p.org == 0 ? "TEST3 zero origin timestamp"
		                    : "TEST2 bogus origin: matches no request");
		s->ignored++;
		return REFD_REPLY_IGNORED;
	}
	if (s->answered[k]) {
		snprintf(why, whysize, "TEST1 duplicate reply to request %d", k + 1);
		return REFD_REPLY_DUP;
	}
	s->answered[k] = true;
	s->replies++;
	/* RFC 5905 §7.4: a stratum 0 reply is a kiss-o'-death, whatever its
	 * LI: ntpd, NTPsec and refd send RATE with LI=3.  Checked before the
	 * timestamps: a kiss need not carry any.  The server has asked us to
	 * go away, so its earlier answers are withdrawn as well. */
	if (ntp_pkt_is_kod(&p) && !kiss_is_state(p.refid)) {
		refd_query_refid(p.refid, 0, s->kiss, sizeof s->kiss);
		s->kod = true;
		s->have = false;
		snprintf(why, whysize, "KoD %s", s->kiss);
		return REFD_REPLY_KOD;
	}
	if (p.xmt == 0 || p.rec == 0) {
		snprintf(why, whysize, "TEST3 zero %s timestamp",
		         p.xmt == 0 ? "transmit" : "receive");
		snprintf(s->unusable, sizeof s->unusable, "%s", why);
		return REFD_REPLY_UNUSABLE;
	}
	rc = check_header(&p, why, whysize);
	keep_sample(s, &p, k, t4, rc == REFD_REPLY_OK);
	if (rc != REFD_REPLY_OK) {
		snprintf(s->unusable, sizeof s->unusable, "%s", why);
	}
	return rc;
}

size_t
refd_query_request(refd_query_server *s, int k, ntp_ts64 nonce, ntp_time t1, uint8_t *buf,
                   size_t cap)
{
	ntp_pkt p;
	size_t len = 0;

	if (k < 0 || k >= REFD_QUERY_SAMPLES_MAX || cap < NTP_PKT_HEADER_LEN) {
		return 0;
	}
	/* Data minimisation (as ntpdig and chrony): only version, mode and a
	 * random transmit timestamp; the real T1 stays here. */
	memset(&p, 0, sizeof p);
	p.leap = NTP_LEAP_NOTSYNC;
	p.version = 4;
	p.mode = NTP_MODE_CLIENT;
	p.xmt = nonce != 0 ? nonce : 1;
	if (ntp_pkt_encode(&p, buf, cap, &len) != NTP_PKT_OK) {
		return 0;
	}
	s->xmt[k] = p.xmt;
	s->t1[k] = t1;
	s->answered[k] = false;
	if (s->sent <= k) {
		s->sent = k + 1;
	}
	return len;
}

int
refd_query_choose(const refd_query_server *s, size_t n)
{
	int best = -1;

	for (size_t i = 0; i < n; i++) {
		if (!s[i].have) {
			continue;
		}
		if (best < 0 || s[i].stratum < s[best].stratum ||
		    (s[i].stratum == s[best].stratum && s[i].delay < s[best].delay)) {
			best = (int)i;
		}
	}
	return best;
}

char *
refd_query_reason(const refd_query_server *s, double timeout, char *buf, size_t size)
{
	if (!s->resolved) {
		snprintf(buf, size, "cannot resolve: %s", s->resolve_err);
	} else if (s->have) {
		snprintf(buf, size, "usable");
	} else if (s->kod) {
		snprintf(buf, size, "KoD %s", s->kiss);
	} else if (s->unusable[0] != '\0') {
		snprintf(buf, size, "%s", s->unusable);
	} else if (s->ignored > 0) {
		snprintf(buf, size,
		         "no valid reply in %g s (%d request%s, %d datagram%s ignored: %s)",
		         timeout, s->sent, s->sent == 1 ? "" : "s", s->ignored,
		         s->ignored == 1 ? "" : "s", s->ignored_why);
	} else {
		snprintf(buf, size, "no reply in %g s (%d request%s)", timeout, s->sent,
		         s->sent == 1 ? "" : "s");
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
	char addr[64], refid[16], reason[256];

	fputs("{\"host\":", out);
	json_string(out, s->label);
	if (s->resolved) {
		fputs(",\"address\":", out);
		json_string(out, ntp_addr_format(&s->addr, addr, sizeof addr));
		fprintf(out, ",\"port\":%u", s->addr.port);
	}
	fprintf(out, ",\"requests\":%d,\"replies\":%d,\"usable\":%s", s->sent, s->replies,
	        s->have ? "true" : "false");
	if (s->measured) {
		refd_query_refid(s->refid, s->stratum, refid, sizeof refid);
		fprintf(out,
		        ",\"offset\":%.9f,\"delay\":%.9f,\"stratum\":%u,\"leap\":\"%s\","
		        "\"precision\":%d,\"rootdelay\":%.6f,\"rootdisp\":%.6f,\"refid\":",
		        s->offset, s->delay, s->stratum, leap_names[s->leap & 3], s->precision,
		        s->rootdelay, s->rootdisp);
		json_string(out, refid);
	}
	if (!s->have) {
		fputs(",\"reason\":", out);
		json_string(out, refd_query_reason(s, timeout, reason, sizeof reason));
	}
	if (s->kod) {
		fputs(",\"kod\":", out);
		json_string(out, s->kiss);
	}
	fputc('}', out);
}

static void
text_server(FILE *out, const refd_query_server *s, double timeout)
{
	char addr[64], refid[16], reason[256];

	if (!s->have) {
		fprintf(out, "server %s: %s\n", s->label,
		        refd_query_reason(s, timeout, reason, sizeof reason));
		return;
	}
	refd_query_refid(s->refid, s->stratum, refid, sizeof refid);
	fprintf(out,
	        "server %s, port %u, stratum %u, offset %+.6f, delay %.6f, leap %s, refid %s\n",
	        ntp_addr_format(&s->addr, addr, sizeof addr), s->addr.port, s->stratum, s->offset,
	        s->delay, leap_names[s->leap & 3], refid);
}

/* The exit status when no server is suitable: REFD_QUERY_EXIT_KOD when a
 * server sent a kiss, else 1. */
static int
none_status(const refd_query_server *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i].kod) {
			return REFD_QUERY_EXIT_KOD;
		}
	}
	return 1;
}

int
refd_query_report(const refd_query_server *s, size_t n, double timeout, bool json, FILE *out,
                  FILE *err_out)
{
	int best = refd_query_choose(s, n);
	char addr[64], reason[256];
	const char *verdict = best < 0                                            ? "none"
	                      : fabs(s[best].offset) >= REFD_QUERY_STEP_THRESHOLD ? "step"
	                                                                          : "adjust";

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
			        s[best].offset, s[best].delay, s[best].stratum);
		} else {
			fputs(",\"message\":\"no server suitable for synchronization found\"", out);
		}
		fputs("}\n", out);
		return best >= 0 ? 0 : none_status(s, n);
	}
	if (best < 0) {
		fputs("no server suitable for synchronization found\n", err_out);
		for (size_t i = 0; i < n; i++) {
			fprintf(err_out, "%s: %s\n", s[i].label,
			        refd_query_reason(&s[i], timeout, reason, sizeof reason));
		}
		return none_status(s, n);
	}
	for (size_t i = 0; i < n; i++) {
		text_server(out, &s[i], timeout);
	}
	fprintf(out, "%s time server %s offset %+.6f sec (not set: query only)\n", verdict,
	        ntp_addr_format(&s[best].addr, addr, sizeof addr), s[best].offset);
	return 0;
}

/* ---- the I/O ---- */

typedef struct query_run {
	refd_query_server *srv;
	size_t n;
	refd_sock sock[2]; /* IPv4, IPv6 */
	ntp_nonce nonce;   /* transmit timestamps an off-path attacker cannot guess */
	double offset;     /* s, --clock-offset */
	double interval;   /* s between requests without a reply */
	ntp_time next[REFD_QUERY_HOSTS_MAX]; /* monotonic ns of the next request */
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
server_done(const refd_query_server *s, int samples)
{
	if (!s->resolved || s->kod) {
		return true;
	}
	if (s->sent < samples) {
		return false;
	}
	for (int k = 0; k < s->sent; k++) {
		if (!s->answered[k]) {
			return false;
		}
	}
	return true;
}

static void
send_request(query_run *q, size_t i, ntp_time mono)
{
	refd_query_server *s = &q->srv[i];
	refd_sock *sock = sock_for(q, &s->addr);
	refd_tx tx;

	q->next[i] = mono + ntp_time_from_s(q->interval);
	if (sock == NULL) {
		return;
	}
	memset(&tx, 0, sizeof tx);
	tx.to = s->addr;
	/* T1 is read at the last moment before the send. */
	tx.len = refd_query_request(s, s->sent, ntp_nonce_u64(&q->nonce),
	                            local_of(q, refd_real_now()), tx.buf, sizeof tx.buf);
	if (tx.len > 0) {
		refd_sock_send(sock, &tx, 1, NULL, NULL);
	}
}

static void
receive_all(query_run *q, refd_sock *sock, int samples, ntp_time mono)
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
				char why[160];
				int v;

				if (!s->resolved || !ntp_addr_equal(&s->addr, &rx[r].from)) {
					continue;
				}
				v = refd_query_reply(s, rx[r].buf, rx[r].len,
				                     local_of(q, rx[r].real), why, sizeof why);
				if (v == REFD_REPLY_IGNORED) {
					snprintf(s->ignored_why, sizeof s->ignored_why, "%s", why);
				} else if (v != REFD_REPLY_DUP && !s->kod && s->sent < samples) {
					send_request(q, i, mono);
				}
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
	q.interval = o->timeout / o->samples;
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
		ntp_time wake = deadline;
		struct pollfd pfd[2];
		nfds_t nfd = 0;
		bool all_done = true;

		for (size_t i = 0; i < q.n; i++) {
			if (server_done(&srv[i], o->samples)) {
				continue;
			}
			all_done = false;
			if (srv[i].sent < o->samples && now >= q.next[i]) {
				send_request(&q, i, now);
			}
			if (srv[i].sent < o->samples && q.next[i] < wake) {
				wake = q.next[i];
			}
		}
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
			ntp_time ms = (wake - now + 999999) / 1000000;

			if (poll(pfd, nfd, (int)(ms < POLL_SLICE_MS ? ms : POLL_SLICE_MS)) < 0 &&
			    errno != EINTR) {
				break;
			}
		}
		now = refd_mono_now();
		for (int k = 0; k < 2; k++) {
			if (q.sock[k].fd >= 0) {
				receive_all(&q, &q.sock[k], o->samples, now);
			}
		}
	}
	rc = refd_query_report(srv, q.n, o->timeout, o->json, stdout, stderr);
	refd_sock_close(&q.sock[0]);
	refd_sock_close(&q.sock[1]);
	free(srv);
	return rc;
}
