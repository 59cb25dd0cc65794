/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for core/ntp_host: a whole configured host driven the
 * way ntpsim and refd drive it, not only the decoders.
 *
 * The first input bytes pick one of a few fixed ntp.conf texts (servers
 * with iburst/burst, a symmetric peer, the LOCAL clock, restrict lists with
 * limited/kod/nopeer/noquery/noepeer/ippeerlimit/ignore/noserve/version,
 * discard, `disable auth`, `tos orphan`, tinker) and the host parameters;
 * the rest is a sequence of at most MAX_OPS operations:
 *   - datagrams from loopback, the LAN, a configured source or a stranger,
 *     raw or structured so that the fuzzer gets past the decoder and the
 *     origin check: a reply (or KoD, or symmetric packet) that echoes the
 *     transmit timestamp of one of the host's recent requests (read from
 *     its SEND actions), a client or mode 1 request, a mode 6 request, our
 *     own request reflected back, a replay of the previous datagram;
 *   - time: the monotonic clock advances (the local clock with it, at a
 *     frequency error) and the driver ticks whenever a timer falls due, as
 *     ntpsim's event loop does; the local clock alone jumps (`date -s`, a
 *     resumed VM); a tick at a time nothing is due;
 *   - ntp_host_sent reports and server faults (ntp_host_set_fault).
 *
 * After every call: no action overflow; every SEND is 1..NTP_SEND_MAX
 * bytes and decodes (a time packet, or a mode 6 response to the loopback
 * source that asked); no mode 7 ever leaves; a time packet received gets at
 * most one reply, to its source, no longer than it (no amplification);
 * STEP/ADJUST values are finite and the frequency within +-500 PPM; EVENT,
 * STATS and EXIT are well formed, EXIT is the last action and the host then
 * stays silent; timers never land in the past (after a tick at now, every
 * association's next poll and ntp_host_next() are later than now, so a
 * driver's "tick while due" loop ends; any other call moves a timer only to
 * now or later).  The config's restrict list is the oracle for what a
 * source may get: nothing at all under `ignore`, no time reply under
 * `noserve` (nor to an old version under `version`), no mode 6 reply
 * under `noquery`, and a new association only where ntpd would mobilise an
 * ephemeral passive one (`disable auth`, no nopeer/noepeer, within
 * ippeerlimit).  After every operation: ntp_host_peers (also into a
 * one-entry buffer), ntp_host_sys, ntp_host_peer_counters and
 * ntp_host_peer_table (into small buffers) stay within their buffers,
 * terminate their strings and report finite numbers.
 *
 * Deterministic: no clock, no rand; the host's seed and nonce key are
 * fixed.  Seeds: tests/fuzz/corpus/host/, written by tests/fuzz/host_seeds.py
 * (which documents the input language by its encoders).
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "ntp_conf.h"
#include "ntp_control.h"
#include "ntp_disc.h"
#include "ntp_discipline.h"
#include "ntp_fault.h"
#include "ntp_host.h"
#include "ntp_pkt.h"
#include "ntp_restrict.h"

/* The harness's own checks are not worth coverage features: only the
 * core's branches should steer the fuzzer (and fewer features make each
 * execution cheaper for libFuzzer's entropic schedule). */
#define HARNESS FUZZ_HARNESS

#define MAX_OPS               64  /* operations per input: keeps one execution cheap */
#define MAX_TICKS_PER_ADVANCE 32  /* due ticks one time step runs before it skips ahead */
#define MAX_TICKS             512 /* due ticks per input */
#define SENT_RING             8   /* recent requests a structured reply can answer */
#define MAX_SLOTS             (NTP_CONF_MAX_SERVERS + 2) /* configured + passive slots */
#define ORACLE_MAX            64 /* restrict entries of a fixture, `source` expanded */
#define CANARY                0xa5
#define START_LOCAL           (INT64_C(1795507750) * NTP_NS_PER_S) /* 2026-11-24 */
#define ERA_2036              (INT64_C(2085978496) * NTP_NS_PER_S) /* NTP era 1 begins */
#define MS                    INT64_C(1000000)                     /* ns */

/* Findings of this fuzzer, all fixed in core/ and checked below: a mode 1
 * packet from source port 0 or from 127.127.t.u, or an unauthenticated one
 * under `notrust`, or an older version under `version`, mobilised a
 * passive association; a local clock at the ends of ntp_time overflowed
 * ntp_control's "rec"; an origin near 2^64 overflowed a float cast in a
 * reason.  Their inputs are regression seeds in corpus/host/. */

/* ---- the hosts: fixed configurations ---- */

static const char *const conf_texts[] = {
        /* 0: a client (the seed's host132 grown up): iburst servers, an
         * IPv6 burst server, a symmetric peer, a fudged LOCAL clock, CentOS
         * restrict lines, rate limits, statistics. */
        "server 192.0.2.1 iburst prefer\n"
        "server 192.0.2.2 iburst minpoll 4 maxpoll 6\n"
        "server 2001:db8::123 burst minpoll 3 maxpoll 5\n"
        "peer 192.0.2.10 minpoll 4 maxpoll 6\n"
        "server 127.127.1.0\n"
        "fudge 127.127.1.0 stratum 10\n"
        "restrict default kod limited nomodify notrap nopeer noquery\n"
        "restrict -6 default kod limited nomodify notrap nopeer noquery\n"
        "restrict 127.0.0.1\n"
        "restrict ::1\n"
        "restrict 192.168.1.0 mask 255.255.255.0 nomodify notrap\n"
        "restrict source nomodify notrap noquery\n"
        "restrict 198.51.100.0/24 ignore\n"
        "restrict 203.0.113.0/24 noserve\n"
        "discard average 2 minimum 1\n"
        "statistics loopstats peerstats\n"
        "filegen loopstats file loopstats type day enable\n"
        "filegen peerstats file peerstats type day enable\n"
        "driftfile /var/lib/ntp/drift\n",
        /* 1: the seed's host131: a LAN server on its local clock, which
         * must never panic (VMware's advice). */
        "server 127.127.1.0\n"
        "fudge 127.127.1.0 stratum 5\n"
        "restrict default nomodify notrap\n"
        "restrict 127.0.0.1\n"
        "restrict 192.168.1.0 mask 255.255.255.0 nomodify notrap\n"
        "tinker panic 0\n",
        /* 2: symmetric peers without authentication: ephemeral passive
         * associations from strangers, per-address and per-net limits,
         * orphan mode, fast polls, steps allowed and no panic. */
        "disable auth\n"
        "peer 192.0.2.10 minpoll 3 maxpoll 4\n"
        "server 192.0.2.1 minpoll 3 maxpoll 5 burst\n"
        "server 192.0.2.2 iburst noselect\n"
        "restrict default limited kod ippeerlimit 1\n"
        "restrict 10.0.0.0 mask 255.0.0.0 noepeer\n"
        "restrict 192.168.1.0/24 nopeer\n"
        "restrict 203.0.113.0/24 notrust\n"
        "restrict 198.51.100.0/24 version\n"
        "tos orphan 8 orphanwait 10 minclock 1 minsane 1 maxdist 4\n"
        "discard average 0 minimum 0\n"
        "tinker step 0.5 stepout 60 panic 0\n",
        /* 3: no sources at all: orphan at once, serves everyone, never
         * adjusts its clock (`disable ntp`), IPv6 closed. */
        "tos orphan 5 orphanwait 0\n"
        "disable auth\n"
        "disable ntp\n"
        "restrict default limited noepeer\n"
        "restrict -6 default ignore\n"
        "restrict 127.0.0.1 noquery\n",
        /* 4: the NTPsec (Debian) style without a LOCAL clock: default
         * step and panic thresholds, a short stepout, a true source, an
         * IPv6 symmetric peer. */
        "server 192.0.2.1 iburst minpoll 3 maxpoll 4 true\n"
        "server 192.0.2.2 iburst minpoll 3\n"
        "server 192.0.2.3 iburst minpoll 3 version 3\n"
        "peer 2001:db8::10 minpoll 3 maxpoll 3\n"
        "disable auth\n"
        "restrict default kod nomodify nopeer noquery limited\n"
        "restrict 127.0.0.1\n"
        "restrict ::1\n"
        "tos minclock 2 maxdist 2\n"
        "tinker stepout 30\n",
        /* 5: slew only (tinker step 0), two sane sources required, every
         * stranger ignored. */
        "server 192.0.2.1 iburst minpoll 3 maxpoll 3\n"
        "server 192.0.2.2 iburst minpoll 3 maxpoll 3 prefer\n"
        "tinker step 0 stepout 30\n"
        "tos minclock 1 minsane 2\n"
        "restrict default ignore\n"
        "restrict 192.0.2.0 mask 255.255.255.0 nomodify noquery\n"
        "restrict ::1\n",
        /* 6: issue 13's regress: sub-second polls, every step allowed,
         * holdover by fallback drifts, a true source, a peer. */
        "discipline regress makestep 0.5 makestep_limit -1 fallbackmin 2 fallbackmax 6 "
        "maxdelayratio 3\n"
        "server 192.0.2.1 iburst minpoll -3 maxpoll 2\n"
        "server 192.0.2.2 iburst minpoll 3 maxpoll 4 true\n"
        "server 192.0.2.3 minpoll 0 maxpoll 6\n"
        "peer 2001:db8::10 minpoll 3 maxpoll 3\n"
        "restrict default kod nomodify nopeer noquery limited\n",
};
#define N_CONFS (sizeof conf_texts / sizeof conf_texts[0])

static ntp_conf *confs[N_CONFS];

static const ntp_conf *
conf_get(size_t i)
{
	if (confs[i] == NULL) {
		ntp_conf *c = malloc(sizeof *c);

		CHECK(c != NULL);
		ntp_conf_init(c, "fuzz-host.conf");
		/* a fixture that does not parse would fuzz nothing */
		CHECK(ntp_conf_parse(c, conf_texts[i], strlen(conf_texts[i])) == 0);
		confs[i] = c;
	}
	return confs[i];
}

/* ---- input ---- */

typedef struct reader {
	const uint8_t *p;
	size_t n;
} reader;

/* Exhausted input reads as zeros, so every input is a complete program. */
static uint8_t
take8(reader *r)
{
	if (r->n == 0) {
		return 0;
	}
	r->n--;
	return *r->p++;
}

static uint16_t
take16(reader *r)
{
	uint16_t v = take8(r);

	return (uint16_t)(v << 8 | take8(r));
}

static uint32_t
take32(reader *r)
{
	uint32_t v = take16(r);

	return v << 16 | take16(r);
}

static uint64_t
take64(reader *r)
{
	uint64_t v = take32(r);

	return v << 32 | take32(r);
}

static size_t
take_bytes(reader *r, uint8_t *dst, size_t want)
{
	size_t n = want < r->n ? want : r->n;

	memcpy(dst, r->p, n);
	r->p += n;
	r->n -= n;
	return n;
}

/* ---- the driver ---- */

typedef struct sent_req {
	ntp_addr to;
	uint8_t buf[NTP_SEND_MAX];
	size_t len;
	ntp_time local; /* driver's local clock when the call that built it returned */
} sent_req;

typedef struct driver {
	ntp_host *h;
	const ntp_conf *conf;
	/* the config's restrict list with `restrict source` expanded: an
	 * oracle for what the host may do for a source */
	ntp_restrict_entry res[ORACLE_MAX];
	size_t n_res;
	bool control_remote;
	bool exited;
	ntp_now now;
	int ppm;        /* local clock frequency error against mono */
	unsigned calls; /* ntp_host_recv/tick calls, this one included */
	unsigned ticks; /* due ticks run */
	sent_req sent[SENT_RING];
	size_t n_sent; /* requests seen; sent[(n_sent - 1) % SENT_RING] is the latest */
	uint8_t last[NTP_PKT_MAX_LEN + 8];
	size_t last_len;
	ntp_addr last_from;
	bool have_last;
} driver;

/* What a call may legitimately send, from what it was given. */
typedef struct call_ctx {
	bool is_tick;
	bool is_recv;
	int rc;          /* ntp_pkt_decode of the datagram */
	uint8_t version; /* its version when rc is NTP_PKT_OK */
	ntp_addr from;
	size_t len;
	ntp_restrict_match m;         /* the restrict oracle's verdict for from */
	ntp_time next[MAX_SLOTS + 1]; /* per association before the call (NEVER: no slot) */
	bool present[MAX_SLOTS + 1];
} call_ctx;

static ntp_actions actions; /* ~90 KB: never on the stack */
static driver drv;

/* NTPLAB_FUZZ_TRACE=1 prints every call and its actions to stderr, for
 * reading a crashing input; it changes nothing the host sees. */
static int trace_on = -1;

static bool
tracing(void)
{
	if (trace_on < 0) {
		const char *e = getenv("NTPLAB_FUZZ_TRACE");

		trace_on = e != NULL && e[0] == '1';
	}
	return trace_on != 0;
}

HARNESS static void
trace_call(const driver *d, const char *what, const ntp_addr *from, const uint8_t *buf, size_t len)
{
	char name[48];

	if (!tracing()) {
		return;
	}
	fprintf(stderr, "mono %.9f local %.9f: %s", ntp_time_to_s(d->now.mono),
	        ntp_time_to_s(d->now.local), what);
	if (from != NULL) {
		fprintf(stderr, " from %s port %u, %zu bytes",
		        ntp_addr_format(from, name, sizeof name), from->port, len);
		for (size_t i = 0; i < len && i < 48; i++) {
			fprintf(stderr, "%s%02x", i % 4 ? "" : " ", buf[i]);
		}
	}
	fputc('\n', stderr);
}

HARNESS static void
trace_actions(void)
{
	char name[48];

	if (!tracing()) {
		return;
	}
	for (size_t i = 0; i < actions.n; i++) {
		const ntp_action *a = &actions.v[i];

		switch (a->kind) {
		case NTP_ACT_SEND:
			fprintf(stderr, "  SEND %zu bytes mode %u to %s port %u\n", a->u.send.len,
			        a->u.send.buf[0] & 7u,
			        ntp_addr_format(&a->u.send.to, name, sizeof name),
			        a->u.send.to.port);
			break;
		case NTP_ACT_STEP:
			fprintf(stderr, "  STEP %+.9f\n", a->u.step.offset);
			break;
		case NTP_ACT_ADJUST:
			fprintf(stderr, "  ADJUST offset %+.9f freq %+.9f tau %g\n",
			        a->u.adjust.offset, a->u.adjust.freq, a->u.adjust.tau);
			break;
		case NTP_ACT_EVENT:
			fprintf(stderr, "  EVENT %s assoc %d: %s\n",
			        ntp_event_name(a->u.event.code), a->u.event.assoc,
			        a->u.event.reason);
			break;
		case NTP_ACT_STATS:
			fprintf(stderr, "  STATS %s\n", a->u.stats.line);
			break;
		case NTP_ACT_EXIT:
			fprintf(stderr, "  EXIT %d: %s\n", a->u.exit.status, a->u.exit.reason);
			break;
		default:
			fprintf(stderr, "  kind %u\n", a->kind);
			break;
		}
	}
}

static size_t
slots(const driver *d)
{
	size_t n = d->conf->n_servers + 2;

	return n < MAX_SLOTS ? n : MAX_SLOTS;
}

HARNESS static void
snapshot(const driver *d, call_ctx *c)
{
	ntp_peer_counters pc;

	for (size_t i = 1; i <= slots(d); i++) {
		c->present[i] = ntp_host_peer_counters(d->h, (int)i, &pc);
		c->next[i] = c->present[i] ? pc.next : NTP_TIME_NEVER;
	}
}

HARNESS static void
remember_request(driver *d, const ntp_action *a)
{
	sent_req *s = &d->sent[d->n_sent % SENT_RING];

	s->to = a->u.send.to;
	memcpy(s->buf, a->u.send.buf, a->u.send.len);
	s->len = a->u.send.len;
	s->local = d->now.local;
	d->n_sent++;
}

/* The driver's local clock moves by delta, saturating at the ends of
 * ntp_time as the host's own copy does. */
static void
local_move(driver *d, ntp_time delta)
{
	d->now.local = ntp_time_add_sat(d->now.local, delta);
}

HARNESS static void
check_send(driver *d, const call_ctx *c, const ntp_action *a, unsigned *to_source)
{
	ntp_pkt p;
	int rc;

	CHECK(a->u.send.len > 0 && a->u.send.len <= NTP_SEND_MAX);
	CHECK(a->u.send.to.family == NTP_AF_INET || a->u.send.to.family == NTP_AF_INET6);
	CHECK(a->u.send.from.family == NTP_AF_NONE || a->u.send.from.family == NTP_AF_INET ||
	      a->u.send.from.family == NTP_AF_INET6);
	rc = ntp_pkt_decode(a->u.send.buf, a->u.send.len, &p, NULL);
	if (rc == NTP_PKT_IS_CONTROL) {
		ntp_control_hdr h;

		/* ntpq answers go back to the loopback (or permitted) source that
		 * asked, in the call that answered it */
		CHECK(c->is_recv && c->rc == NTP_PKT_IS_CONTROL);
		CHECK(ntp_addr_equal(&a->u.send.to, &c->from));
		CHECK(d->control_remote || ntp_addr_is_loopback(&c->from));
		CHECK(ntp_control_decode(a->u.send.buf, a->u.send.len, &h, NULL, 0) ==
		      NTP_CONTROL_OK);
		CHECK(h.response);
		CHECK(!(c->m.flags & NTP_RES_NOQUERY));
		return;
	}
	CHECK(rc == NTP_PKT_OK); /* never mode 7, never malformed */
	if (c->is_tick) {
		/* polls are requests of an association, never to the LOCAL
		 * clock's pseudo-address */
		CHECK(p.mode == NTP_MODE_CLIENT || p.mode == NTP_MODE_ACTIVE ||
		      p.mode == NTP_MODE_PASSIVE);
		CHECK(a->u.send.to.port != 0);
		CHECK(!(a->u.send.to.family == NTP_AF_INET && a->u.send.to.a[0] == 127 &&
		        a->u.send.to.a[1] == 127));
		remember_request(d, a);
		return;
	}
	/* a received time packet is answered once, to its source, with no
	 * more bytes than it had */
	CHECK(c->is_recv && c->rc == NTP_PKT_OK);
	CHECK(ntp_addr_equal(&a->u.send.to, &c->from));
	CHECK(a->u.send.len <= c->len);
	CHECK(p.mode == NTP_MODE_SERVER || p.mode == NTP_MODE_PASSIVE);
	CHECK(!(c->m.flags & NTP_RES_NOSERVE));
	CHECK(!(c->m.flags & NTP_RES_VERSION) || c->version == 4);
	(*to_source)++;
}

HARNESS static void
check_actions(driver *d, const call_ctx *c)
{
	const ntp_actions *out = &actions;
	unsigned to_source = 0;

	CHECK(out->overflow == 0);
	CHECK(out->n <= NTP_ACTIONS_MAX);
	if (d->exited) {
		CHECK(out->n == 0); /* a host that gave up does nothing more */
	}
	for (size_t i = 0; i < out->n; i++) {
		const ntp_action *a = &out->v[i];

		switch (a->kind) {
		case NTP_ACT_SEND:
			check_send(d, c, a, &to_source);
			break;
		case NTP_ACT_STEP:
			CHECK(isfinite(a->u.step.offset));
			/* the driver's clock moves as refd's virtual clock does */
			local_move(d, ntp_time_from_s(a->u.step.offset));
			break;
		case NTP_ACT_ADJUST:
			CHECK(isfinite(a->u.adjust.offset) && isfinite(a->u.adjust.freq) &&
			      isfinite(a->u.adjust.tau));
			/* the discipline's own limit: ntpd's 500 ppm; regress's is
			 * chrony's on Linux (the kernel's 100000 ppm, less a slew) */
			CHECK(fabs(a->u.adjust.freq) <=
			      ntp_discipline_for(d->conf)->freq_max * (1.0 + 1e-9));
			break;
		case NTP_ACT_EVENT:
			CHECK(a->u.event.code >= NTP_EV_RESTART &&
			      a->u.event.code <= NTP_EV_DEMOBILIZE);
			CHECK(a->u.event.assoc >= 0 && (size_t)a->u.event.assoc <= slots(d));
			CHECK(fuzz_terminated(a->u.event.reason, sizeof a->u.event.reason));
			CHECK(strcmp(ntp_event_name(a->u.event.code), "unknown") != 0);
			break;
		case NTP_ACT_STATS:
			CHECK(a->u.stats.file == NTP_STATS_LOOPSTATS ||
			      a->u.stats.file == NTP_STATS_PEERSTATS);
			CHECK(fuzz_terminated(a->u.stats.line, sizeof a->u.stats.line));
			break;
		case NTP_ACT_EXIT:
			CHECK(a->u.exit.status != 0);
			CHECK(fuzz_terminated(a->u.exit.reason, sizeof a->u.exit.reason));
			CHECK(i + 1 == out->n); /* nothing after giving up */
			d->exited = true;
			break;
		default:
			CHECK(false);
		}
	}
	CHECK(to_source <= 1);
	CHECK(ntp_host_exited(d->h) == d->exited);
	if (c->is_recv && (c->m.flags & NTP_RES_IGNORE) && d->calls > 1) {
		/* ntpd: not even an event (the first call has the start-up ones) */
		CHECK(out->n == 0);
	}
}

/* Associations with the same host as a. */
HARNESS static int
peers_with(const driver *d, const ntp_addr *a)
{
	static ntp_peer_info info[MAX_SLOTS];
	size_t n = ntp_host_peers(d->h, d->now.mono, info, MAX_SLOTS);
	int k = 0;

	for (size_t i = 0; i < n; i++) {
		k += info[i].type != 'l' && ntp_addr_same_host(&info[i].addr, a);
	}
	return k;
}

/* A new association after a datagram is an ephemeral symmetric passive one
 * for its source, only where ntpd would mobilise one: `disable auth` (no
 * keys exist, so nothing is authenticated), none of nopeer, noepeer,
 * noserve, notrust (ntpd's AM_NEWPASS wants authentication under notrust),
 * the current version under `version`, and within ippeerlimit. */
HARNESS static void
check_new_assoc(const driver *d, const call_ctx *c)
{
	const uint32_t closed = NTP_RES_IGNORE | NTP_RES_NOSERVE | NTP_RES_NOPEER |
	                        NTP_RES_NOEPEER | NTP_RES_NOTRUST;
	ntp_peer_counters pc;

	for (size_t i = 1; i <= slots(d); i++) {
		if (c->present[i] || !ntp_host_peer_counters(d->h, (int)i, &pc)) {
			continue;
		}
		CHECK(c->is_recv && c->rc == NTP_PKT_OK);
		CHECK(d->conf->disable_auth && !(c->m.flags & closed));
		CHECK(!(c->m.flags & NTP_RES_VERSION) || c->version == 4);
		CHECK(c->m.ippeerlimit == NTP_RES_NO_PEERLIMIT ||
		      peers_with(d, &c->from) <= c->m.ippeerlimit);
	}
}

/* Timers: a tick leaves nothing due at its own time (or the driver's "tick
 * while next <= now" loop would spin); no call puts a timer in the past. */
HARNESS static void
check_timers(const driver *d, const call_ctx *c)
{
	ntp_time next = ntp_host_next(d->h);
	ntp_peer_counters pc;

	if (d->exited) {
		CHECK(next == NTP_TIME_NEVER);
		return;
	}
	if (c->is_tick) {
		CHECK(next > d->now.mono);
	}
	for (size_t i = 1; i <= slots(d); i++) {
		if (!ntp_host_peer_counters(d->h, (int)i, &pc)) {
			continue;
		}
		CHECK(pc.minpoll <= pc.maxpoll);
		if (pc.demobilized) {
			CHECK(pc.next == NTP_TIME_NEVER);
		}
		if (c->is_tick) {
			CHECK(pc.next > d->now.mono);
		} else if (!c->present[i] || pc.next != c->next[i]) {
			CHECK(pc.next >= d->now.mono);
		}
	}
}

static void
after_call(driver *d, const call_ctx *c)
{
	d->calls += c->is_tick || c->is_recv;
	trace_actions();
	check_actions(d, c);
	check_new_assoc(d, c);
	check_timers(d, c);
}

static void
do_tick(driver *d)
{
	call_ctx c = {.is_tick = true};

	snapshot(d, &c);
	ntp_actions_clear(&actions);
	trace_call(d, "tick", NULL, NULL, 0);
	ntp_host_tick(d->h, d->now, &actions);
	after_call(d, &c);
}

static void
deliver(driver *d, const ntp_addr *from, const ntp_addr *to, const uint8_t *buf, size_t len)
{
	call_ctx c = {.is_recv = true, .from = *from, .len = len};
	ntp_pkt p;

	c.rc = ntp_pkt_decode(buf, len, &p, NULL);
	c.version = c.rc == NTP_PKT_OK ? p.version : 0;
	c.m = ntp_restrict_lookup(d->res, d->n_res, from);
	snapshot(d, &c);
	ntp_actions_clear(&actions);
	trace_call(d, "recv", from, buf, len);
	ntp_host_recv(d->h, from, to, buf, len, d->now, &actions);
	after_call(d, &c);
	if (len <= sizeof d->last) {
		memcpy(d->last, buf, len);
		d->last_len = len;
		d->last_from = *from;
		d->have_last = true;
	}
}

/* Move both clocks: local follows mono at the frequency error. */
static void
clocks_forward(driver *d, ntp_time dmono)
{
	d->now.mono += dmono;
	local_move(d, dmono + dmono / 1000000 * d->ppm);
}

/* Advance mono by dmono, ticking at every timer that falls due on the way
 * (at its own time, as ntpsim does), up to the tick budget; beyond it the
 * driver is late and the remaining timers are overdue at the target. */
static void
advance(driver *d, ntp_time dmono)
{
	ntp_time target = d->now.mono + dmono;

	for (unsigned k = 0; k < MAX_TICKS_PER_ADVANCE && d->ticks < MAX_TICKS; k++) {
		ntp_time next = ntp_host_next(d->h);

		if (next == NTP_TIME_NEVER || next > target) {
			break;
		}
		if (next > d->now.mono) {
			clocks_forward(d, next - d->now.mono);
		}
		d->ticks++;
		do_tick(d);
	}
	if (target > d->now.mono) {
		clocks_forward(d, target - d->now.mono);
	}
}

/* ---- addresses ---- */

static ntp_addr
addr(const char *s, uint16_t port)
{
	ntp_addr a;

	CHECK(ntp_addr_parse(s, &a));
	a.port = port;
	return a;
}

/* Loopback, the LAN, strangers (one of them under `ignore`/`noserve` in
 * some configs), the LOCAL clock's pseudo-address, or a configured
 * source. */
static ntp_addr
pick_source(const driver *d, reader *r)
{
	static const char *const fixed[] = {
	        "127.0.0.1",   "::1",          "192.168.1.77", "10.1.2.3",
	        "203.0.113.9", "198.51.100.7", "2001:db8::99", "127.127.1.0",
	};
	const size_t n_fixed = sizeof fixed / sizeof fixed[0];
	uint8_t sel = take8(r);
	uint8_t pb = take8(r);
	uint16_t port = (pb & 3) == 0 ? take16(r) : NTP_PORT;
	size_t k = sel % (n_fixed + d->conf->n_servers);
	ntp_addr a;

	if (k < n_fixed) {
		return addr(fixed[k], port);
	}
	a = d->conf->servers[k - n_fixed].addr;
	if (a.family == NTP_AF_NONE) {
		return addr(fixed[sel % n_fixed], port); /* the LOCAL clock line */
	}
	a.port = port;
	return a;
}

/* The local address a datagram arrived at (none, or one of ours; the
 * refid of it is what TEST12 compares). */
static const ntp_addr *
pick_local(reader *r, ntp_addr *buf)
{
	static const char *const mine[] = {"192.168.1.1", "127.0.0.1", "::1", "2001:db8::1"};
	uint8_t b = take8(r);

	if (b % 5 == 4) {
		return NULL;
	}
	*buf = addr(mine[b % 5], NTP_PORT);
	return buf;
}

/* ---- structured datagrams ---- */

/* Optional trailers: an extension field and/or a MAC, bytes from input,
 * so the host sees what the packet decoder accepts. */
static size_t
add_trailers(reader *r, uint8_t flags, uint8_t *buf, size_t len, size_t cap)
{
	if ((flags & 1) && len + 28 <= cap) {
		buf[len] = take8(r);
		buf[len + 1] = take8(r);
		buf[len + 2] = 0;
		buf[len + 3] = 28;
		memset(buf + len + 4, 0, 24);
		take_bytes(r, buf + len + 4, 24);
		len += 28;
	}
	if ((flags & 2) && len + 20 <= cap) {
		memset(buf + len, 0, 20);
		take_bytes(r, buf + len, 20);
		len += 20;
	}
	return len;
}

static int8_t
signed8(uint8_t v)
{
	return (int8_t)v;
}

/* A 16-bit mantissa shifted left by up to max_shift - 1 bits, read in a
 * fixed order (two reads in one expression would be unsequenced). */
static uint64_t
take_scaled(reader *r, unsigned max_shift)
{
	uint64_t m = take16(r);

	return m << (take8(r) % max_shift);
}

/* A signed duration from input: magnitudes from ns to ~146 years. */
static ntp_time
take_span(reader *r)
{
	int32_t m = (int32_t)take32(r);
	unsigned shift = take8(r) % 32;

	return (ntp_time)m * ((ntp_time)1 << shift);
}

/* The idx-th latest request the host sent (0 = the latest); there must be
 * one. */
static const sent_req *
recent_request(const driver *d, uint8_t idx)
{
	size_t kept = d->n_sent < SENT_RING ? d->n_sent : SENT_RING;

	return &d->sent[(d->n_sent - 1 - idx % kept) % SENT_RING];
}

/* An answer to one of the host's recent requests: a server reply (or
 * KoD) to a client poll, a symmetric packet to a peer's, echoing its
 * transmit timestamp unless told to corrupt it. */
static void
op_reply(driver *d, reader *r)
{
	uint8_t idx = take8(r), flags = take8(r), hdr = take8(r);
	const sent_req *s;
	ntp_pkt req, p;
	ntp_addr from, lbuf;
	const ntp_addr *to;
	ntp_time t2, t3, off, delay, proc;
	uint8_t buf[NTP_PKT_MAX_LEN];
	size_t len = 0;

	if (d->n_sent == 0) {
		return;
	}
	s = recent_request(d, idx);
	CHECK(ntp_pkt_decode(s->buf, s->len, &req, NULL) == NTP_PKT_OK);
	memset(&p, 0, sizeof p);
	p.leap = hdr & 3;
	p.version = (uint8_t)(((hdr >> 2) & 3) + 1);
	p.mode = req.mode == NTP_MODE_CLIENT    ? NTP_MODE_SERVER
	         : req.mode == NTP_MODE_PASSIVE ? NTP_MODE_ACTIVE
	         : (flags & 0x40)               ? NTP_MODE_ACTIVE
	                                        : NTP_MODE_PASSIVE;
	p.stratum = (hdr & 0x80) ? (uint8_t)(1 + take8(r) % 15) : take8(r);
	p.poll = signed8(take8(r));
	p.precision = signed8(take8(r));
	p.rootdelay = (ntp_short)take_scaled(r, 17);
	p.rootdisp = (ntp_short)take_scaled(r, 17);
	p.refid = take32(r);
	off = take_span(r);
	delay = (ntp_time)take_scaled(r, 24);
	/* The server got the request delay/2 after it left and answers so
	 * that the reply arrives now, delay/2 after it left there: the host
	 * then measures offset `off` and delay `delay` however long the
	 * fuzzer waited (at least the processing time from input). */
	t2 = ntp_time_add_sat(ntp_time_add_sat(s->local, off), delay / 2);
	t3 = ntp_time_add_sat(ntp_time_add_sat(d->now.local, off), -delay / 2);
	proc = ntp_time_add_sat(t2, (ntp_time)take8(r) * MS);
	t3 = t3 > proc ? t3 : proc;
	p.rec = (flags & 0x04) ? 0 : ntp_ts_from_unix_ns(t2);
	p.xmt = ntp_ts_from_unix_ns(t3);
	p.reftime = (flags & 0x80) ? 0
	                           : ntp_ts_from_unix_ns(ntp_time_add_sat(
	                                     t3, -(ntp_time)take16(r) * NTP_NS_PER_S));
	p.org = req.xmt;
	if (flags & 0x01) {
		p.org ^= (ntp_ts64)take8(r) + 1; /* a bogus origin */
	}
	if (flags & 0x02) {
		/* a kiss-o'-death: RATE, DENY, RSTR or another code */
		static const char *const kiss[] = {"RATE", "DENY", "RSTR", "INIT", "STEP", "AUTH"};
		uint8_t k = take8(r);

		p.leap = NTP_LEAP_NOTSYNC;
		p.stratum = 0;
		p.refid = k < 200 ? NTP_REFID(kiss[k % 6]) : take32(r);
	}
	from = s->to;
	if (flags & 0x08) {
		from.port = take16(r); /* from an unexpected port */
	}
	to = pick_local(r, &lbuf);
	if (ntp_pkt_encode(&p, buf, sizeof buf, &len) != NTP_PKT_OK) {
		return;
	}
	len = add_trailers(r, (uint8_t)(flags >> 4), buf, len, sizeof buf);
	deliver(d, &from, to, buf, len);
}

/* A request to the host's server part: mode 3 (or v1 mode 0), or mode 1
 * from a would-be symmetric peer, header fields from input. */
static void
op_request(driver *d, reader *r)
{
	static const uint8_t modes[] = {NTP_MODE_CLIENT, NTP_MODE_CLIENT,  NTP_MODE_ACTIVE,
	                                NTP_MODE_UNSPEC, NTP_MODE_PASSIVE, NTP_MODE_SERVER};
	ntp_addr from = pick_source(d, r), lbuf;
	const ntp_addr *to = pick_local(r, &lbuf);
	uint8_t hdr = take8(r), flags = take8(r);
	ntp_pkt p;
	uint8_t buf[NTP_PKT_MAX_LEN];
	size_t len = 0;

	memset(&p, 0, sizeof p);
	p.mode = modes[(hdr & 7) % 6];
	p.version = p.mode == NTP_MODE_UNSPEC ? 1 : (uint8_t)(((hdr >> 3) & 3) + 1);
	p.leap = (hdr >> 5) & 3;
	p.stratum = take8(r);
	p.poll = signed8(take8(r));
	p.precision = signed8(take8(r));
	p.xmt = (flags & 0x80) ? ntp_ts_from_unix_ns(d->now.local) : take64(r);
	if (flags & 0x40) {
		/* a symmetric peer's real timestamps */
		p.org = take64(r);
		p.rec = ntp_ts_from_unix_ns(ntp_time_add_sat(d->now.local, -take_span(r)));
		p.reftime = ntp_ts_from_unix_ns(d->now.local);
		p.rootdelay = take16(r);
		p.rootdisp = take16(r);
		p.refid = take32(r);
	}
	if (ntp_pkt_encode(&p, buf, sizeof buf, &len) != NTP_PKT_OK) {
		return;
	}
	len = add_trailers(r, flags, buf, len, sizeof buf);
	deliver(d, &from, to, buf, len);
}

/* A mode 6 request as ntpq sends it: opcode, association, variable list. */
static void
op_control(driver *d, reader *r)
{
	static const char *const vars[] = {"",
	                                   "stratum,offset,refid",
	                                   "leap",
	                                   "srcadr,srcport,dstadr",
	                                   "rootdisp,bogus",
	                                   "filtdelay,filtoffset,filtdisp,flash,reach,hpoll,ppoll"};
	ntp_addr from = pick_source(d, r), lbuf;
	const ntp_addr *to = pick_local(r, &lbuf);
	uint8_t b0 = take8(r), b1 = take8(r), v = take8(r);
	uint16_t seq = take16(r), assoc = take16(r);
	uint8_t buf[NTP_PKT_MAX_LEN];
	size_t count, len;

	memset(buf, 0, sizeof buf);
	/* mostly well formed: LI 0, version 2..4, mode 6, no R/E/M bits */
	buf[0] = (b0 & 0x80) ? b0 : (uint8_t)((((b0 % 3) + 2) << 3) | NTP_MODE_CONTROL);
	buf[1] = (b1 & 0x80) ? b1 : (uint8_t)(b1 & 0x1f);
	buf[2] = (uint8_t)(seq >> 8);
	buf[3] = (uint8_t)seq;
	if (!(v & 0x80)) {
		assoc = (uint16_t)(assoc % (slots(d) + 2)); /* 0, an association, or one past */
	}
	buf[6] = (uint8_t)(assoc >> 8);
	buf[7] = (uint8_t)assoc;
	if ((v & 0x40) || (v % 8) >= 6) {
		count = take_bytes(r, buf + 12, (size_t)take8(r) % 128);
	} else {
		count = strlen(vars[v % 8]);
		memcpy(buf + 12, vars[v % 8], count);
	}
	buf[10] = (uint8_t)(count >> 8);
	buf[11] = (uint8_t)count;
	len = 12 + (count + 3) / 4 * 4;
	if (v & 0x20) {
		len = 12 + count; /* unpadded: ntpd answers BADFMT */
	}
	deliver(d, &from, to, buf, len);
}

/* Any bytes from any source. */
static void
op_raw(driver *d, reader *r)
{
	ntp_addr from = pick_source(d, r), lbuf;
	const ntp_addr *to = pick_local(r, &lbuf);
	uint8_t buf[NTP_PKT_MAX_LEN + 8];
	size_t want = take16(r) % sizeof buf;
	size_t len = take_bytes(r, buf, want);

	deliver(d, &from, to, buf, len);
}

/* One of our own requests comes back: from its destination (a reflector)
 * or from elsewhere. */
static void
op_reflect(driver *d, reader *r)
{
	uint8_t idx = take8(r), how = take8(r);
	const sent_req *s;
	ntp_addr from, lbuf;
	const ntp_addr *to;

	if (d->n_sent == 0) {
		return;
	}
	s = recent_request(d, idx);
	from = (how & 1) ? pick_source(d, r) : s->to;
	to = pick_local(r, &lbuf);
	deliver(d, &from, to, s->buf, s->len);
}

/* The previous datagram again (a duplicate), maybe from another source. */
static void
op_replay(driver *d, reader *r)
{
	uint8_t how = take8(r);
	ntp_addr from, lbuf;
	const ntp_addr *to;
	uint8_t buf[sizeof d->last];
	size_t len = d->last_len;

	if (!d->have_last) {
		return;
	}
	from = (how & 1) ? pick_source(d, r) : d->last_from;
	to = pick_local(r, &lbuf);
	memcpy(buf, d->last, len); /* deliver() overwrites d->last */
	deliver(d, &from, to, buf, len);
}

/* refd's send-time report for a recent request, early, late or on time. */
static void
op_sent(driver *d, reader *r)
{
	uint8_t idx = take8(r);
	const sent_req *s;
	call_ctx c = {0};
	ntp_time when;

	if (d->n_sent == 0) {
		return;
	}
	s = recent_request(d, idx);
	when = ntp_time_add_sat(s->local, take_span(r) / 1024);
	snapshot(d, &c);
	ntp_actions_clear(&actions);
	ntp_host_sent(d->h, &s->to, s->buf, s->len, when);
	after_call(d, &c); /* no actions, no timer moves */
}

/* A scenario's misbehaviour switched on or off. */
static void
op_fault(driver *d, reader *r)
{
	ntp_fault f;
	uint32_t code = take32(r);

	memset(&f, 0, sizeof f);
	f.kinds = take8(r);
	f.leap = take8(r) & 3;
	f.offset = (double)(int32_t)take32(r) / 1000.0;
	f.rootdisp = (double)take16(r) / 100.0;
	f.stale = (double)take16(r);
	for (int i = 0; i < 4; i++) {
		/* kiss codes are ASCII in a scenario file */
		f.kod[i] = (char)('A' + (code >> (8 * i) & 0xff) % 26);
	}
	f.kod[4] = '\0';
	ntp_host_set_fault(d->h, f.kinds != 0 ? &f : NULL);
}

/* ---- introspection ---- */

HARNESS static bool
finite_info(const ntp_peer_info *p)
{
	bool ok = isfinite(p->delay) && isfinite(p->offset) && isfinite(p->jitter) &&
	          isfinite(p->disp) && isfinite(p->when);

	for (int i = 0; i < NTP_NSTAGE; i++) {
		ok = ok && isfinite(p->filt_delay[i]) && isfinite(p->filt_offset[i]) &&
		     isfinite(p->filt_disp[i]);
	}
	return ok;
}

HARNESS static void
check_introspection(const driver *d, unsigned op)
{
	static ntp_peer_info info[MAX_SLOTS + 1];
	static char table[8192];
	static const size_t table_sizes[] = {1, 37, 200, sizeof table - 1};
	ntp_sys_info sys;
	ntp_peer_counters pc;
	size_t n, sz, len;
	int sys_peer_seen = 0;

	n = ntp_host_peers(d->h, d->now.mono, info, MAX_SLOTS);
	CHECK(n <= slots(d));
	for (size_t i = 0; i < n; i++) {
		const ntp_peer_info *p = &info[i];

		CHECK(p->assoc >= 1 && (size_t)p->assoc <= slots(d));
		CHECK(ntp_host_peer_counters(d->h, p->assoc, &pc));
		CHECK(fuzz_terminated(p->remote, sizeof p->remote));
		CHECK(fuzz_terminated(p->refid, sizeof p->refid));
		CHECK(fuzz_terminated(p->reason, sizeof p->reason));
		CHECK(strchr("ulsp", p->type) != NULL && p->type != '\0');
		CHECK(strchr(" x.-+#*o", p->tally) != NULL && p->tally != '\0');
		/* regress polls LAN sources below 1 s (its poll_min) */
		CHECK(p->poll >= ntp_discipline_for(d->conf)->poll_min && p->poll <= 17);
		CHECK(p->when == -1.0 || p->when >= 0.0);
		CHECK(p->leap <= 3);
		CHECK(finite_info(p));
		sys_peer_seen += p->tally == '*';
	}
	CHECK(sys_peer_seen <= 1);
	/* one entry asked for: the next one stays untouched */
	memset(&info[1], CANARY, sizeof info[1]);
	CHECK(ntp_host_peers(d->h, d->now.mono, info, 1) <= 1);
	for (size_t k = 0; k < sizeof info[1]; k++) {
		CHECK(((const uint8_t *)&info[1])[k] == CANARY);
	}

	ntp_host_sys(d->h, &sys);
	CHECK(sys.leap <= 3 && sys.stratum <= 16);
	CHECK(isfinite(sys.rootdelay) && isfinite(sys.rootdisp) && isfinite(sys.offset));
	CHECK(isfinite(sys.sys_jitter) && isfinite(sys.clk_jitter) && isfinite(sys.clk_wander));
	CHECK(isfinite(sys.freq_ppm) &&
	      fabs(sys.freq_ppm) <= ntp_discipline_for(d->conf)->freq_max * 1e6 * 1.000001);
	CHECK(fuzz_terminated(sys.no_sys_peer_reason, sizeof sys.no_sys_peer_reason));
	CHECK(sys.sys_peer == 0 || ntp_host_peer_counters(d->h, sys.sys_peer, &pc));

	CHECK(!ntp_host_peer_counters(d->h, 0, &pc));
	CHECK(!ntp_host_peer_counters(d->h, (int)slots(d) + 1, &pc));

	/* one buffer size per operation, in turn: formatting the table is
	 * the dearest check, and the sizes need not all be tried each time */
	sz = table_sizes[op % (sizeof table_sizes / sizeof table_sizes[0])];
	memset(table, CANARY, sz + 1);
	len = ntp_host_peer_table(d->h, d->now.mono, table, sz);
	CHECK(len < sz && table[len] == '\0');
	CHECK((uint8_t)table[sz] == CANARY);
}

/* ---- one input ---- */

/* The restrict list as ntp_host_new builds it (ntpd: `restrict source`
 * instantiated for each server address unless it has a host entry; the
 * fixtures have none). */
static void
build_oracle(driver *d)
{
	const ntp_conf *c = d->conf;

	d->n_res = 0;
	for (size_t i = 0; i < c->n_restrict; i++) {
		if (c->restrict_list[i].kind != NTP_RES_SOURCE) {
			CHECK(d->n_res < ORACLE_MAX);
			d->res[d->n_res++] = c->restrict_list[i];
		}
	}
	for (size_t i = 0; i < c->n_restrict; i++) {
		if (c->restrict_list[i].kind != NTP_RES_SOURCE) {
			continue;
		}
		for (size_t k = 0; k < c->n_servers; k++) {
			if (c->servers[k].addr.family != NTP_AF_NONE) {
				CHECK(d->n_res < ORACLE_MAX);
				d->res[d->n_res++] = ntp_restrict_expand_source(
				        &c->restrict_list[i], &c->servers[k].addr);
			}
		}
	}
}

static void
setup(driver *d, reader *r)
{
	static const int8_t precisions[] = {-20, -23, -6, -10, -29, -18, -1, -30};
	static const ntp_time starts[] = {START_LOCAL, ERA_2036 - 90 * NTP_NS_PER_S, 0,
	                                  -NTP_UNIX_EPOCH_OFFSET * NTP_NS_PER_S + NTP_NS_PER_S};
	uint8_t b0 = take8(r), b1 = take8(r), b2 = take8(r);
	ntp_host_params p;
	char err[256];

	memset(d, 0, sizeof *d);
	d->conf = conf_get(b0 % N_CONFS);
	build_oracle(d);
	memset(&p, 0, sizeof p);
	p.seed = 0x6e74706c6162u;
	for (size_t i = 0; i < sizeof p.nonce_key; i++) {
		p.nonce_key[i] = (uint8_t)(i * 37 + 11);
	}
	p.precision = precisions[(b0 >> 3) & 7];
	p.allow_big_first_step = (b1 & 1) != 0;
	p.control_remote = (b1 & 2) != 0;
	p.have_drift = (b1 & 4) != 0;
	p.drift_ppm = (double)signed8(b2) * 5.0; /* +-640 PPM: beyond the clamp too */
	d->ppm = signed8(take8(r)) * 2;          /* a clock up to 256 PPM off */
	d->control_remote = p.control_remote;
	d->now.mono = (b1 & 8) ? INT64_C(1000000000000000) : 0;
	d->now.local = starts[(b1 >> 4) & 3];
	p.now = d->now;
	d->h = ntp_host_new(d->conf, &p, err, sizeof err);
	CHECK(d->h != NULL);
	if (b1 & 0x40) {
		advance(d, 0); /* start-up tick before anything arrives */
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	reader r = {data, size};
	driver *d = &drv;

	setup(d, &r);
	for (unsigned op = 0; op < MAX_OPS && r.n > 0; op++) {
		uint8_t kind = take8(&r);

		switch (kind % 16) {
		case 0:
		case 1:
		case 2:
			/* the common case: time passes */
			advance(d, (ntp_time)take_scaled(&r, 37) + 1);
			break;
		case 3:
		case 4:
			op_reply(d, &r);
			break;
		case 5:
			op_request(d, &r);
			break;
		case 6:
			op_control(d, &r);
			break;
		case 7:
			op_raw(d, &r);
			break;
		case 8:
			/* the local clock alone jumps: an administrator, a resumed VM */
			local_move(d, take_span(&r));
			break;
		case 9:
			/* a tick whether or not anything is due: must be harmless */
			do_tick(d);
			break;
		case 10:
			op_reflect(d, &r);
			break;
		case 11:
			op_replay(d, &r);
			break;
		case 12:
			op_sent(d, &r);
			break;
		case 13:
			op_fault(d, &r);
			break;
		default:
			/* a reply right after a short wait: the usual exchange */
			advance(d, (ntp_time)take16(&r) * 100000);
			op_reply(d, &r);
			break;
		}
		check_introspection(d, op);
	}
	ntp_host_free(d->h);
	d->h = NULL;
	return 0;
}
