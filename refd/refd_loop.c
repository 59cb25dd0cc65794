/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refd's event loop (refd_loop.h).
 */
#define _GNU_SOURCE /* ppoll */

#include "refd_loop.h"

#include "refd_workers.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POLL_CAP_NS   NTP_NS_PER_S /* ns, longest single wait: system clock slices are 1 s */
#define SPIN_PAUSE_NS 1000000      /* ns, pause after REFD_SPIN_MAX immediate re-ticks */
#define RX_ROUNDS     8 /* recvmmsg batches per wake-up: timers still run under a flood */
#define SLICE_NS      NTP_NS_PER_S /* ns between system clock phase slices (ntpd: 1 s) */
#define TIMER_OVERRUN_NS                                                                           \
	NTP_NS_PER_S        /* ns late that makes a timer run an overrun (ntpd: a                  \
	                       missed 1-s alarm) */
#define PEER_TABLE_MAX 8192 /* bytes of the peer table logged at exit */
#define SRC_UNSPEC     0    /* ntpd system status source codes (CTL_SST_TS_*) */
#define SRC_LOCAL      5
#define SRC_NTP        6

static volatile sig_atomic_t got_stop;
static volatile sig_atomic_t got_hup;

static void
on_signal(int sig)
{
	if (sig == SIGHUP) {
		got_hup = 1;
	} else {
		got_stop = 1;
	}
}

refd_daemon *
refd_daemon_new(const refd_opts *o, ntp_conf *conf)
{
	refd_daemon *d = calloc(1, sizeof *d);

	if (d == NULL) {
		return NULL;
	}
	d->opts = o;
	d->conf = conf;
	d->exit_status = -1;
	for (size_t i = 0; i < REFD_SOCKS_MAX; i++) {
		d->socks[i].fd = -1;
	}
	refd_ctl_init(&d->ctl);
	d->port = o->port >= 0 ? (uint16_t)o->port : conf->port != 0 ? conf->port : NTP_PORT;
	snprintf(d->driftfile, sizeof d->driftfile, "%s",
	         o->driftfile != NULL ? o->driftfile : conf->driftfile);
	return d;
}

void
refd_daemon_free(refd_daemon *d)
{
	if (d == NULL) {
		return;
	}
	for (size_t i = 0; i < d->n_socks; i++) {
		refd_sock_close(&d->socks[i]);
	}
	refd_workers_free(d->workers);
	refd_ctl_close(&d->ctl);
	ntp_host_free(d->host);
	free(d);
}

/* ---- sockets ---- */

/* Requests' T1 from the kernel's transmit stamp where it can give one. */
static void
enable_tx_stamps(refd_daemon *d, refd_sock *s)
{
	int rc = refd_sock_enable_tx_stamps(s, &d->txts[s - d->socks]);
	char name[80];

	if (rc != 0 && !d->tx_stamps_off) {
		d->tx_stamps_off = true;
		refd_logf(&d->log, REFD_LOG_DEBUG,
		          "%s: no kernel transmit timestamps (%s): T1 is read before sendmmsg",
		          refd_addr_port_format(&s->local, name, sizeof name), strerror(-rc));
	}
}

static int
bind_one(refd_daemon *d, const ntp_addr *a, bool optional, char *err, size_t errsize)
{
	refd_sock *s = &d->socks[d->n_socks];
	char owners[512];
	int rc = refd_sock_open_reuse(s, a, d->opts->workers > 1, err, errsize);

	if (rc == 0) {
		enable_tx_stamps(d, s);
		d->n_socks++;
		d->n_listen++;
		return 0;
	}
	if (optional && (rc == -EAFNOSUPPORT || rc == -EADDRNOTAVAIL)) {
		refd_logf(&d->log, REFD_LOG_NOTICE, "%s; IPv6 not served", err);
		return 0;
	}
	if (rc == -EADDRINUSE) {
		size_t len = strlen(err);

		if (refd_port_owners(a->port, owners, sizeof owners) > 0) {
			snprintf(err + len, errsize - len, "; UDP port %u is held by %s", a->port,
			         owners);
		} else {
			snprintf(err + len, errsize - len,
			         "; UDP port %u is in use (no holder visible in /proc)", a->port);
		}
	}
	return -1;
}

static int
bind_listeners(refd_daemon *d, char *err, size_t errsize)
{
	ntp_addr a;

	if (d->opts->n_listen == 0) {
		memset(&a, 0, sizeof a);
		a.family = NTP_AF_INET;
		a.port = d->port;
		if (bind_one(d, &a, false, err, errsize) != 0) {
			return -1;
		}
		a.family = NTP_AF_INET6;
		return bind_one(d, &a, true, err, errsize);
	}
	for (size_t i = 0; i < d->opts->n_listen; i++) {
		char host[REFD_HOST_MAX];
		uint16_t port = d->port;

		if (refd_parse_hostport(d->opts->listen[i], host, sizeof host, &port, err,
		                        errsize) != 0) {
			return -1;
		}
		if (!ntp_addr_parse(host, &a)) {
			snprintf(err, errsize, "--listen %s: not a numeric IPv4 or IPv6 address",
			         d->opts->listen[i]);
			return -1;
		}
		a.port = port;
		if (bind_one(d, &a, false, err, errsize) != 0) {
			return -1;
		}
	}
	return 0;
}

int
refd_daemon_bind(refd_daemon *d, char *err, size_t errsize)
{
	if (bind_listeners(d, err, errsize) != 0) {
		return -1;
	}
	if (d->opts->workers > 1) {
		d->workers = refd_workers_open(d, d->opts->workers, err, errsize);
		if (d->workers == NULL) {
			return -1;
		}
	}
	return 0;
}

int
refd_daemon_open_ctl(refd_daemon *d, char *err, size_t errsize)
{
	if (d->opts->ctl_path == NULL) {
		return 0;
	}
	return refd_ctl_open(&d->ctl, d->opts->ctl_path, err, errsize);
}

static bool
can_reach(const refd_sock *s, const ntp_addr *to)
{
	/* A socket bound to a loopback address cannot talk to the network. */
	return s->wildcard || !ntp_addr_is_loopback(&s->local) || ntp_addr_is_loopback(to);
}

/* A client association's own port (RFC 9109): the socket bound to it,
 * opened on first use.  If the port cannot be bound (taken by another
 * program), a socket on a port the kernel picks; the caller tells the
 * host which (ntp_host_sent_port). */
static refd_sock *
port_sock_for(refd_daemon *d, const ntp_addr *to, uint16_t port)
{
	ntp_addr any;
	char err[200];

	for (size_t i = d->n_listen; i < d->n_socks; i++) {
		if (d->socks[i].local.family == to->family && d->socks[i].local.port == port) {
			return &d->socks[i];
		}
	}
	if (d->n_socks >= REFD_SOCKS_MAX) {
		refd_logf(&d->log, REFD_LOG_ERR, "client socket for port %u: all %d sockets in use",
		          (unsigned)port, REFD_SOCKS_MAX);
		return NULL;
	}
	memset(&any, 0, sizeof any);
	any.family = to->family;
	any.port = port;
	if (refd_sock_open(&d->socks[d->n_socks], &any, err, sizeof err) != 0) {
		refd_logf(&d->log, REFD_LOG_NOTICE,
		          "client socket: %s; a port of the kernel's choice instead", err);
		any.port = 0;
		if (refd_sock_open(&d->socks[d->n_socks], &any, err, sizeof err) != 0) {
			refd_logf(&d->log, REFD_LOG_ERR, "client socket: %s", err);
			return NULL;
		}
	}
	enable_tx_stamps(d, &d->socks[d->n_socks]);
	return &d->socks[d->n_socks++];
}

refd_sock *
refd_daemon_sock_for(refd_daemon *d, const ntp_addr *to, const ntp_addr *from)
{
	refd_sock *wild = NULL;
	ntp_addr any;
	char err[200];

	if (from->port != 0 && from->port != d->port) {
		return port_sock_for(d, to, from->port);
	}
	for (size_t i = 0; i < d->n_listen; i++) {
		refd_sock *s = &d->socks[i];

		if (s->local.family != to->family) {
			continue;
		}
		if (from->family == to->family) {
			if (!s->wildcard && ntp_addr_same_host(&s->local, from)) {
				return s;
			}
			if (s->wildcard && wild == NULL) {
				wild = s;
			}
		} else if (can_reach(s, to)) {
			return s;
		}
	}
	if (wild != NULL) {
		return wild;
	}
	for (size_t i = d->n_listen; i < d->n_socks; i++) {
		if (d->socks[i].local.family == to->family && d->socks[i].shared) {
			return &d->socks[i];
		}
	}
	if (d->n_socks >= REFD_SOCKS_MAX) {
		return NULL;
	}
	memset(&any, 0, sizeof any);
	any.family = to->family;
	if (refd_sock_open(&d->socks[d->n_socks], &any, err, sizeof err) != 0) {
		refd_logf(&d->log, REFD_LOG_ERR, "client socket: %s", err);
		return NULL;
	}
	d->socks[d->n_socks].shared = true;
	enable_tx_stamps(d, &d->socks[d->n_socks]);
	return &d->socks[d->n_socks++];
}

/* ---- sending ---- */

static ntp_ts64
xmt_now(void *ctx)
{
	refd_daemon *d = ctx;

	return ntp_ts_from_unix_ns(refd_clock_local_at(&d->clock, refd_real_now()));
}

/* A request of the host's own associations (client or symmetric), whose
 * send time is its T1. */
static bool
is_request(const refd_tx *t)
{
	unsigned mode = t->len >= NTP_PKT_HEADER_LEN ? t->buf[0] & 7u : 0;

	return !t->patch_xmt &&
	       (mode == NTP_MODE_CLIENT || mode == NTP_MODE_ACTIVE || mode == NTP_MODE_PASSIVE);
}

/* The kernel's software transmit stamps of requests sent from s become
 * their T1 (RFC 5905 §8: T1 is when the request left; chrony corrects its
 * send time the same way).  The stamps are CLOCK_REALTIME, like the receive
 * stamps.  Read inside a call (flush_sock from send_actions), they need the
 * call's STEPs not applied yet, as `sent` does; call_shift is 0 elsewhere. */
static void
read_tx_stamps(refd_daemon *d, refd_sock *s)
{
	refd_txstamp st[REFD_TXTS_BURST];
	int n = refd_sock_tx_stamps(s, st, REFD_TXTS_BURST);

	for (int k = 0; k < n; k++) {
		ntp_time when = refd_clock_local_at(&d->clock, st[k].real) + d->call_shift;

		ntp_host_sent(d->host, &st[k].to, st[k].head, sizeof st[k].head, when);
	}
	d->tx_stamps += (unsigned long)n;
}

static void
flush_sock(refd_daemon *d, size_t i)
{
	refd_txq *q = &d->txq[i];
	bool requests = false;
	ntp_time sent = 0;
	int n_sent;

	if (q->n == 0) {
		return;
	}
	for (int k = 0; k < q->n; k++) {
		requests |= q->tx[k].tx_stamp;
	}
	if (requests) {
		/* T1 is read just before the datagram leaves (RFC 5905 §8; ntpd
		 * reads the clock right before sending), on the host's clock:
		 * a STEP of the same call is not applied to ours yet. */
		sent = refd_clock_local_at(&d->clock, refd_real_now()) + d->call_shift;
	}
	/* The core thread alone writes d->clock, which xmt_now reads: the
	 * send needs no lock. */
	refd_workers_unlock(d->workers);
	n_sent = refd_sock_send(&d->socks[i], q->tx, q->n, xmt_now, d);
	refd_workers_lock(d->workers);
	d->tx_count += (unsigned long)n_sent;
	d->io.send_failed += (uint64_t)(q->n - n_sent);
	for (int k = 0; requests && k < q->n; k++) {
		if (q->tx[k].tx_stamp) {
			ntp_host_sent(d->host, &q->tx[k].to, q->tx[k].buf, q->tx[k].len, sent);
		}
	}
	/* Software stamps are usually queued before sendmmsg returns: the
	 * reply, due tens of microseconds later, then finds T1 in place. */
	if (requests && d->socks[i].txts != NULL) {
		read_tx_stamps(d, &d->socks[i]);
	}
	q->n = 0;
}

static void
flush_all(refd_daemon *d)
{
	for (size_t i = 0; i < d->n_socks; i++) {
		flush_sock(d, i);
	}
}

static void
queue_send(refd_daemon *d, const ntp_action *a)
{
	refd_sock *s = refd_daemon_sock_for(d, &a->u.send.to, &a->u.send.from);
	size_t i;
	refd_tx *t;

	if (s == NULL || a->u.send.len > sizeof t->buf) {
		return;
	}
	if (a->u.send.from.port != 0 && s->local.port != a->u.send.from.port) {
		/* not the association's port after all: its replies come here */
		ntp_host_sent_port(d->host, &a->u.send.to, a->u.send.buf, a->u.send.len,
		                   s->local.port);
	}
	i = (size_t)(s - d->socks);
	if (d->txq[i].n >= REFD_BATCH) {
		flush_sock(d, i);
	}
	t = &d->txq[i].tx[d->txq[i].n++];
	t->to = a->u.send.to;
	t->from = a->u.send.from;
	t->patch_xmt = a->u.send.patch_xmt;
	t->len = a->u.send.len;
	memcpy(t->buf, a->u.send.buf, a->u.send.len);
	/* Only requests ask for a stamp and have their send time reported
	 * (flush_sock): the server path stays as fast as it was. */
	t->tx_stamp = is_request(t);
}

/* ---- events ---- */

static int
event_level(int code)
{
	switch (code) {
	case NTP_EV_PKT_REJECTED:
	case NTP_EV_ACCESS_DENIED:
	case NTP_EV_RATE_EXCEEDED:
	case NTP_EV_POPCORN:
		/* One per datagram under load: detail, not news. */
		return REFD_LOG_DEBUG;
	default:
		return REFD_LOG_NOTICE;
	}
}

static unsigned
sys_source(refd_daemon *d, const ntp_sys_info *sys, ntp_time mono)
{
	ntp_peer_info *peers;
	size_t n;
	unsigned src = SRC_NTP;

	if (sys->sys_peer == 0) {
		return SRC_UNSPEC;
	}
	peers = calloc(NTP_CONF_MAX_SERVERS + 4, sizeof *peers);
	if (peers == NULL) {
		return src;
	}
	n = ntp_host_peers(d->host, mono, peers, NTP_CONF_MAX_SERVERS + 4);
	for (size_t i = 0; i < n; i++) {
		if (peers[i].assoc == sys->sys_peer && peers[i].type == 'l') {
			src = SRC_LOCAL;
		}
	}
	free(peers);
	return src;
}

static void
peer_name(refd_daemon *d, int assoc, ntp_time mono, char *buf, size_t size)
{
	ntp_peer_info *peers = calloc(NTP_CONF_MAX_SERVERS + 4, sizeof *peers);
	size_t n;

	snprintf(buf, size, "assoc-%d", assoc);
	if (peers == NULL) {
		return;
	}
	n = ntp_host_peers(d->host, mono, peers, NTP_CONF_MAX_SERVERS + 4);
	for (size_t i = 0; i < n; i++) {
		if (peers[i].assoc == assoc) {
			snprintf(buf, size, "%s", peers[i].remote);
		}
	}
	free(peers);
}

static void
log_event(refd_daemon *d, const ntp_action *a, ntp_time mono)
{
	int level = event_level(a->u.event.code);
	bool peer_event;
	unsigned code = refd_event_ntpd_code(a->u.event.code, &peer_event);
	unsigned status;
	char addr[64], line[512];
	ntp_sys_info sys;

	if (level > REFD_LOG_NOTICE + d->log.verbose) {
		return;
	}
	ntp_host_sys(d->host, &sys);
	if (a->u.event.assoc != 0) {
		ntp_peer_counters pc;

		peer_name(d, a->u.event.assoc, mono, addr, sizeof addr);
		status = ntp_host_peer_counters(d->host, a->u.event.assoc, &pc) ? pc.status : 0;
	} else {
		snprintf(addr, sizeof addr, "0.0.0.0");
		if (!peer_event && code != 0) {
			d->sys_events++;
		}
		status = refd_sys_status(sys.leap, sys_source(d, &sys, mono), d->sys_events, code);
	}
	refd_event_line(addr, status, code, ntp_event_name(a->u.event.code), a->u.event.reason,
	                line, sizeof line);
	refd_logf(&d->log, level, "%s", line);
}

/* ---- actions ---- */

/* SENDs first.  A packet whose timestamps the core fixed at the call's
 * `now` (a client request: the core keeps T1; a symmetric packet) leaves
 * at once, before any logging, or the delay would bias the sample.
 * Server replies get their transmit timestamp at send time, so they may
 * wait for the end of the receive batch and go out in one sendmmsg. */
static void
send_actions(refd_daemon *d)
{
	bool urgent = false;

	d->call_shift = 0;
	for (size_t i = 0; i < d->acts.n && i < NTP_ACTIONS_MAX; i++) {
		if (d->acts.v[i].kind == NTP_ACT_STEP) {
			d->call_shift += ntp_time_from_s(d->acts.v[i].u.step.offset);
		}
	}
	for (size_t i = 0; i < d->acts.n && i < NTP_ACTIONS_MAX; i++) {
		if (d->acts.v[i].kind == NTP_ACT_SEND) {
			queue_send(d, &d->acts.v[i]);
			urgent |= !d->acts.v[i].u.send.patch_xmt;
		}
	}
	if (urgent) {
		flush_all(d);
	}
	d->call_shift = 0;
}

static void
clock_action(refd_daemon *d, const ntp_action *a, ntp_time real)
{
	char err[200];

	if (a->kind == NTP_ACT_STEP) {
		if (refd_clock_step(&d->clock, real, a->u.step.offset, err, sizeof err) != 0) {
			refd_logf(&d->log, REFD_LOG_ERR, "clock: %s", err);
		}
		refd_logf(&d->log, REFD_LOG_NOTICE, "clock: step %+.6f s (%s clock)",
		          a->u.step.offset,
		          d->clock.kind == REFD_CLOCK_SYSTEM ? "system" : "virtual");
		return;
	}
	if (refd_clock_adjust(&d->clock, real, &a->u.adjust, err, sizeof err) != 0) {
		refd_logf(&d->log, REFD_LOG_ERR, "clock: %s", err);
	}
	if (a->u.adjust.what & NTP_CLOCK_SLEW) {
		refd_logf(&d->log, REFD_LOG_DEBUG,
		          "clock: adjust phase %+.9f s tau %g s, frequency %+.3f ppm",
		          a->u.adjust.offset, a->u.adjust.tau, a->u.adjust.freq * 1e6);
	}
	if (a->u.adjust.what & NTP_CLOCK_KERNEL) {
		const ntp_kernel_timex *k = &a->u.adjust.kernel;

		refd_logf(&d->log, REFD_LOG_DEBUG,
		          "clock: ntp_adjtime modes %#x offset %lld constant %lld status %#x freq "
		          "%+.3f ppm",
		          k->modes, (long long)k->offset, (long long)k->constant, k->status,
		          (double)k->freq / 65536.0);
	}
}

/* Arm the leap second in the virtual clock.  The machine's clock is never
 * given one: with --clock system the core's STA_INS/STA_DEL are taken out
 * of the ntp_adjtime calls too (refd_clock.c), and the leap is logged. */
static void
leap_action(refd_daemon *d, const ntp_action *a)
{
	char when[40];

	if (d->clock.kind != REFD_CLOCK_SYSTEM) {
		ntp_clock_leap(&d->clock.disc, a->u.leap.step, a->u.leap.at);
	}
	refd_logf(&d->log, REFD_LOG_NOTICE, "clock: leap second %s at %s (%s clock)",
	          a->u.leap.step > 0   ? "insert"
	          : a->u.leap.step < 0 ? "delete"
	                               : "disarmed",
	          a->u.leap.step != 0 ? ntp_time_format(a->u.leap.at, when, sizeof when) : "-",
	          d->clock.kind == REFD_CLOCK_SYSTEM ? "system: not applied" : "virtual");
}

/* ntpd on panic: "CLOCK: Panic: offset too big", exit status 1. */
static void
host_exit(refd_daemon *d, const ntp_action *a)
{
	refd_logf(&d->log, REFD_LOG_ERR, "CLOCK: %s; refd exits with status %d", a->u.exit.reason,
	          a->u.exit.status);
	d->exit_status = a->u.exit.status;
}

void
refd_daemon_apply_others(refd_daemon *d, const ntp_actions *acts, ntp_now now)
{
	ntp_time real = refd_real_now();
	char err[200];

	for (size_t i = 0; i < acts->n && i < NTP_ACTIONS_MAX; i++) {
		const ntp_action *a = &acts->v[i];

		switch (a->kind) {
		case NTP_ACT_STEP:
		case NTP_ACT_ADJUST:
			clock_action(d, a, real);
			break;
		case NTP_ACT_EVENT:
			log_event(d, a, now.mono);
			break;
		case NTP_ACT_STATS:
			if (refd_stats_write(&d->stats, a->u.stats.file, a->u.stats.line, now.local,
			                     err, sizeof err) != 0) {
				refd_logf(&d->log, REFD_LOG_ERR, "statistics: %s", err);
			}
			refd_logf(&d->log, REFD_LOG_TRACE, "%s %s",
			          a->u.stats.file == NTP_STATS_LOOPSTATS ? "loopstats"
			                                                 : "peerstats",
			          a->u.stats.line);
			break;
		case NTP_ACT_EXIT:
			host_exit(d, a);
			break;
		case NTP_ACT_LEAP:
			leap_action(d, a);
			break;
		default:
			break;
		}
	}
	if (acts->overflow != 0) {
		refd_logf(&d->log, REFD_LOG_ERR, "core: %u actions did not fit (a core bug)",
		          acts->overflow);
	}
}

static void
apply_actions(refd_daemon *d, ntp_now now)
{
	send_actions(d);
	refd_daemon_apply_others(d, &d->acts, now);
}

/* ---- start ---- */

int
refd_daemon_start(refd_daemon *d, char *err, size_t errsize)
{
	ntp_host_params p;
	ntp_time real = refd_real_now();
	double drift = 0.0;
	char listening[REFD_SOCKS_MAX * 64];
	int rc = 0;

	memset(&p, 0, sizeof p);
	if (d->driftfile[0] != '\0') {
		rc = refd_drift_read(d->driftfile, &drift, err, errsize);
		if (rc < 0) {
			refd_logf(&d->log, REFD_LOG_ERR, "%s; starting without it", err);
			rc = 0;
		}
	}
	p.have_drift = rc > 0;
	p.drift_ppm = drift;
	if (d->opts->clock_kind == REFD_CLOCK_SYSTEM) {
		if (refd_clock_init_system(&d->clock, real, drift * 1e-6, err, errsize) != 0) {
			return -1;
		}
	} else {
		refd_clock_init_virtual(&d->clock, real, d->opts->clock_offset,
		                        d->opts->clock_freq_ppm, drift * 1e-6);
	}
	if (refd_entropy(&p.seed, sizeof p.seed, err, errsize) != 0 ||
	    refd_entropy(p.nonce_key, sizeof p.nonce_key, err, errsize) != 0) {
		return -1;
	}
	p.precision = (int8_t)refd_clock_measure_precision();
	p.allow_big_first_step = d->opts->big_first_step;
	p.control_remote = d->opts->control_remote;
	p.keys = d->keys;
	p.now = ntp_now_at(refd_mono_now(), refd_clock_local_at(&d->clock, refd_real_now()));
	p.leapfile = d->leapfile;
	d->io.rx_buffers = REFD_BATCH;
	p.io = &d->io;
	d->host = ntp_host_new(d->conf, &p, err, errsize);
	if (d->host == NULL) {
		return -1;
	}
	if (d->opts->fault.kinds != 0) {
		char what[200];

		d->fault = d->opts->fault;
		ntp_host_set_fault(d->host, &d->fault);
		refd_logf(&d->log, REFD_LOG_NOTICE, "fault (--fault): %s",
		          ntp_fault_format(&d->fault, what, sizeof what));
	}
	refd_stats_init(&d->stats, d->conf, (long)getpid());
	listening[0] = '\0';
	for (size_t i = 0; i < d->n_listen; i++) {
		size_t used = strlen(listening);
		char name[80];

		snprintf(listening + used, sizeof listening - used, "%s%s", i ? " " : "",
		         refd_addr_port_format(&d->socks[i].local, name, sizeof name));
	}
	refd_logf(&d->log, REFD_LOG_NOTICE,
	          "refd started: serving %s; %s clock (offset %+.6f s, frequency error %+.3f ppm), "
	          "precision 2^%d s, drift %s%.3f ppm",
	          listening, d->clock.kind == REFD_CLOCK_SYSTEM ? "system" : "virtual",
	          d->opts->clock_offset, d->opts->clock_freq_ppm, p.precision,
	          p.have_drift ? "" : "(none) ", drift);
	return 0;
}

/* ---- loop ---- */

static void
write_drift(refd_daemon *d)
{
	ntp_sys_info sys;
	char err[200];

	if (d->driftfile[0] == '\0' || d->host == NULL) {
		return;
	}
	ntp_host_sys(d->host, &sys);
	/* ntpd writes only once the frequency means something. */
	if (!sys.freq_trusted) {
		return;
	}
	if (refd_drift_write(d->driftfile, sys.freq_ppm, err, sizeof err) != 0) {
		refd_logf(&d->log, REFD_LOG_ERR, "%s", err);
	} else {
		refd_logf(&d->log, REFD_LOG_DEBUG, "drift file %s: %.3f ppm", d->driftfile,
		          sys.freq_ppm);
	}
}

/* The n datagrams in d->rx through the host, then their replies out. */
static void
process_rx(refd_daemon *d, int n)
{
	/* The monotonic clock only ages things: once per batch will do. */
	ntp_time mono = refd_mono_now();

	for (int i = 0; i < n; i++) {
		refd_rx *r = &d->rx[i];
		ntp_now t_recv = ntp_now_at(mono, refd_clock_local_at(&d->clock, r->real));

		if (r->from.family == NTP_AF_NONE) {
			continue;
		}
		d->rx_count++;
		ntp_actions_clear(&d->acts);
		ntp_host_recv(d->host, &r->from, &r->to, r->buf, r->len, t_recv, &d->acts);
		apply_actions(d, t_recv);
	}
	flush_all(d);
}

static void
receive_from(refd_daemon *d, refd_sock *s)
{
	for (int round = 0; round < RX_ROUNDS && !got_stop && d->exit_status < 0; round++) {
		int n;

		/* d->rx is the core thread's own: no lock to read into it. */
		refd_workers_unlock(d->workers);
		n = refd_sock_recv(s, d->rx, REFD_BATCH);
		refd_workers_lock(d->workers);
		if (n <= 0) {
			break;
		}
		process_rx(d, n);
		if (n < REFD_BATCH) {
			break;
		}
	}
}

/* Datagrams the workers handed over (refd_workers.h), with their receive
 * stamps, as if they had arrived on the core thread's socket. */
static void
receive_handed(refd_daemon *d)
{
	int n;

	for (int round = 0; round < RX_ROUNDS && !got_stop && d->exit_status < 0 &&
	                    (n = refd_workers_take(d->workers, d->rx, REFD_BATCH)) > 0;
	     round++) {
		process_rx(d, n);
	}
}

/* ns to wait until the host's next timer (CLOCK_MONOTONIC: no clock step,
 * ours or anyone's, moves it), capped. */
static ntp_time
wait_for_timer(refd_daemon *d)
{
	ntp_time next = ntp_host_next(d->host);
	ntp_time wait;

	if (next == NTP_TIME_NEVER) {
		return POLL_CAP_NS;
	}
	wait = next - refd_mono_now();
	return wait < 0 ? 0 : wait > POLL_CAP_NS ? POLL_CAP_NS : wait;
}

static void
run_timers(refd_daemon *d, int *spins)
{
	ntp_now now = ntp_now_at(refd_mono_now(), refd_clock_local_at(&d->clock, refd_real_now()));

	if (now.mono < ntp_host_next(d->host)) {
		*spins = 0;
		return;
	}
	d->io.timer_overruns += now.mono - ntp_host_next(d->host) > TIMER_OVERRUN_NS;
	ntp_actions_clear(&d->acts);
	ntp_host_tick(d->host, now, &d->acts);
	d->ticks++;
	apply_actions(d, now);
	flush_all(d);
	(*spins)++;
}

/* Commands on the --ctl socket: each logged and answered.  At most
 * REFD_CTL_BURST per turn, so a flood cannot hold up the timers. */
static void
handle_ctl(refd_daemon *d)
{
	for (int i = 0; i < REFD_CTL_BURST; i++) {
		char buf[REFD_CTL_LINE_MAX + 1], err[REFD_CTL_REPLY_MAX - 8];
		char reply[REFD_CTL_REPLY_MAX], quoted[128];
		refd_ctl_peer from;
		refd_ctl_cmd cmd;
		ssize_t n = refd_ctl_recv(&d->ctl, buf, sizeof buf, &from);
		int rc;

		if (n < 0) {
			return;
		}
		refd_ctl_quote(buf, (size_t)n, quoted, sizeof quoted);
		rc = refd_ctl_parse(buf, (size_t)n, &cmd, err, sizeof err);
		if (rc != 0) {
			snprintf(reply, sizeof reply, "error: %s", err);
		} else {
			rc = refd_ctl_apply(&cmd, &d->clock, d->host, &d->fault, refd_real_now(),
			                    reply, sizeof reply);
		}
		refd_logf(&d->log, REFD_LOG_NOTICE, "ctl: %s %s -> %s",
		          rc == 0 ? "accepted" : "refused", quoted, reply);
		if (refd_ctl_send(&d->ctl, &from, reply) != 0) {
			refd_logf(&d->log, REFD_LOG_DEBUG, "ctl: answer not delivered (%s)",
			          from.len <= (socklen_t)sizeof(sa_family_t)
			                  ? "the sender has no address"
			                  : strerror(errno));
		}
	}
}

static void
handle_hup(refd_daemon *d)
{
	got_hup = 0;
	if (refd_log_reopen(&d->log) != 0) {
		refd_logf(&d->log, REFD_LOG_ERR, "SIGHUP: cannot reopen %s", d->log.path);
	}
	refd_stats_close(&d->stats);
	refd_logf(&d->log, REFD_LOG_NOTICE, "SIGHUP: log and statistics files reopened");
}

static int
install_signals(sigset_t *wait_mask)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	/* Blocked except inside ppoll: no signal is lost between checks. */
	if (sigprocmask(SIG_BLOCK, &block, wait_mask) != 0) {
		return -1;
	}
	sigdelset(wait_mask, SIGTERM);
	sigdelset(wait_mask, SIGINT);
	sigdelset(wait_mask, SIGHUP);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* ppoll with the core lock released: the workers serve meanwhile. */
static int
wait_events(refd_daemon *d, struct pollfd *pfd, nfds_t nfds, const struct timespec *ts,
            const sigset_t *wait_mask)
{
	int rc;

	refd_workers_unlock(d->workers);
	rc = ppoll(pfd, nfds, ts, wait_mask);
	refd_workers_lock(d->workers);
	return rc;
}

static int
run_loop(refd_daemon *d, const sigset_t *wait_mask)
{
	ntp_time drift_due = refd_mono_now() + ntp_time_from_s(REFD_DRIFT_INTERVAL);
	ntp_time slice_due = refd_mono_now() + SLICE_NS;
	int spins = 0;
	char err[200];

	while (!got_stop && d->exit_status < 0) {
		struct pollfd pfd[REFD_SOCKS_MAX + 2];
		size_t ctl_at, wake_at;
		struct timespec ts;
		ntp_time wait;
		size_t n_polled;
		nfds_t nfds;

		run_timers(d, &spins);
		if (got_hup) {
			handle_hup(d);
		}
		if (refd_mono_now() >= slice_due) {
			slice_due += SLICE_NS;
			if (refd_clock_poll(&d->clock, refd_real_now(), err, sizeof err) != 0) {
				refd_logf(&d->log, REFD_LOG_ERR, "clock: %s", err);
			}
		}
		if (refd_mono_now() >= drift_due) {
			write_drift(d);
			drift_due += ntp_time_from_s(REFD_DRIFT_INTERVAL);
		}
		wait = wait_for_timer(d);
		if (wait == 0 && spins < REFD_SPIN_MAX) {
			continue;
		}
		if (wait == 0) {
			/* The host keeps asking for "now": a core bug; do not burn the CPU. */
			wait = SPIN_PAUSE_NS;
			spins = 0;
		}
		/* Receiving may open a client socket: only those polled count. */
		n_polled = d->n_socks;
		for (size_t i = 0; i < n_polled; i++) {
			pfd[i].fd = d->socks[i].fd;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		nfds = (nfds_t)n_polled;
		ctl_at = wake_at = SIZE_MAX;
		if (d->ctl.fd >= 0) {
			ctl_at = nfds;
			pfd[nfds].fd = d->ctl.fd;
			pfd[nfds].events = POLLIN;
			pfd[nfds].revents = 0;
			nfds++;
		}
		if (d->workers != NULL) {
			wake_at = nfds;
			pfd[nfds].fd = refd_workers_wake_fd(d->workers);
			pfd[nfds].events = POLLIN;
			pfd[nfds].revents = 0;
			nfds++;
		}
		ts.tv_sec = (time_t)(wait / NTP_NS_PER_S);
		ts.tv_nsec = (long)(wait % NTP_NS_PER_S);
		if (wait_events(d, pfd, nfds, &ts, wait_mask) < 0) {
			if (errno == EINTR) {
				continue;
			}
			refd_logf(&d->log, REFD_LOG_ERR, "ppoll: %s", strerror(errno));
			return 1;
		}
		d->io.wakeups++;
		for (size_t i = 0; i < n_polled; i++) {
			if (pfd[i].revents & POLLIN) {
				d->io.good_wakeups++;
				break;
			}
		}
		for (size_t i = 0; i < n_polled; i++) {
			/* Stamps before replies: a reply whose request's stamp
			 * is still queued would be taken with T1 read before
			 * sendmmsg.  POLLERR also means the error queue holds
			 * something, which must be read or ppoll never waits. */
			if (pfd[i].revents & POLLERR) {
				read_tx_stamps(d, &d->socks[i]);
			}
			if (pfd[i].revents & (POLLIN | POLLERR)) {
				receive_from(d, &d->socks[i]);
			}
		}
		/* A jump or a new skew of the virtual clock moves no timer:
		 * they run on CLOCK_MONOTONIC.  The host sees the jump as an
		 * offset in its next sample. */
		if (ctl_at != SIZE_MAX && (pfd[ctl_at].revents & POLLIN)) {
			handle_ctl(d);
		}
		if (wake_at != SIZE_MAX && (pfd[wake_at].revents & POLLIN)) {
			receive_handed(d);
		}
	}
	if (d->exit_status >= 0) {
		return d->exit_status;
	}
	refd_logf(&d->log, REFD_LOG_NOTICE, "refd stopping on signal");
	return 0;
}

int
refd_daemon_run(refd_daemon *d)
{
	sigset_t wait_mask;
	char err[200];
	int rc;

	if (install_signals(&wait_mask) != 0) {
		refd_logf(&d->log, REFD_LOG_ERR, "sigprocmask: %s", strerror(errno));
		return 1;
	}
	if (d->workers != NULL && refd_workers_start(d->workers, err, sizeof err) != 0) {
		refd_logf(&d->log, REFD_LOG_ERR, "%s", err);
		refd_workers_free(d->workers);
		d->workers = NULL;
		return 1;
	}
	refd_workers_lock(d->workers);
	rc = run_loop(d, &wait_mask);
	refd_workers_unlock(d->workers);
	/* The threads stop before the host is read for the exit report. */
	refd_workers_free(d->workers);
	d->workers = NULL;
	return rc;
}

void
refd_daemon_finish(refd_daemon *d)
{
	char *table;
	ntp_sys_info sys;

	if (d->host == NULL) {
		return;
	}
	write_drift(d);
	ntp_host_sys(d->host, &sys);
	table = malloc(PEER_TABLE_MAX);
	if (table != NULL) {
		ntp_host_peer_table(d->host, refd_mono_now(), table, PEER_TABLE_MAX);
		size_t len = strlen(table);

		while (len > 0 && table[len - 1] == '\n') {
			table[--len] = '\0';
		}
		refd_logf(&d->log, REFD_LOG_NOTICE, "peers at exit:\n%s", table);
		free(table);
	}
	refd_logf(&d->log, REFD_LOG_NOTICE,
	          "refd exiting: %lu datagrams in, %lu out, %u steps, %u clients served, "
	          "%u KoD sent, frequency %+.3f ppm, %lu kernel transmit stamps",
	          d->rx_count, d->tx_count, d->clock.steps, sys.served, sys.kod_sent, sys.freq_ppm,
	          d->tx_stamps);
	refd_stats_close(&d->stats);
}
