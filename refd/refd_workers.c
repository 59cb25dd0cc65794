/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refd's server threads (refd_workers.h).
 */
#define _GNU_SOURCE /* ppoll */

#include "refd_workers.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "refd_loop.h"

typedef struct refd_worker {
	refd_workers *all;
	pthread_t thread;
	refd_sock socks[REFD_LISTEN_MAX]; /* the same addresses as the core's listeners */
	size_t n_socks;
	refd_clock clock; /* the core's clock, copied under the lock for each batch */
	ntp_actions acts;
	refd_rx rx[REFD_BATCH];
	refd_tx tx[REFD_BATCH];
	unsigned long served;      /* plain requests put to the host */
	unsigned long sent;        /* datagrams the kernel took */
	unsigned long send_failed; /* not yet added to the daemon's io counters */
} refd_worker;

struct refd_workers {
	refd_daemon *d;
	pthread_mutex_t lock;
	atomic_bool stop;
	int efd; /* eventfd: the queue has datagrams */
	int n;   /* worker threads (--workers - 1) */
	int n_started;
	/* the hand-off queue, a ring under the lock */
	size_t head, count;
	unsigned long handed, dropped;
	refd_rx queue[REFD_HANDOFF_MAX];
	refd_worker *w; /* n of them */
};

bool
refd_workers_plain_request(const uint8_t *buf, size_t len)
{
	return len == NTP_PKT_HEADER_LEN && (buf[0] & 7u) == NTP_MODE_CLIENT;
}

void
refd_workers_lock(refd_workers *w)
{
	if (w != NULL) {
		pthread_mutex_lock(&w->lock);
	}
}

void
refd_workers_unlock(refd_workers *w)
{
	if (w != NULL) {
		pthread_mutex_unlock(&w->lock);
	}
}

int
refd_workers_wake_fd(const refd_workers *w)
{
	return w != NULL ? w->efd : -1;
}

refd_workers *
refd_workers_open(refd_daemon *d, int n_workers, char *err, size_t errsize)
{
	refd_workers *w = calloc(1, sizeof *w);

	if (w == NULL || (w->w = calloc((size_t)n_workers, sizeof *w->w)) == NULL) {
		snprintf(err, errsize, "--workers %d: out of memory", n_workers);
		free(w);
		return NULL;
	}
	w->d = d;
	w->n = n_workers - 1;
	w->efd = -1;
	atomic_init(&w->stop, false);
	pthread_mutex_init(&w->lock, NULL);
	for (int i = 0; i < w->n; i++) {
		refd_worker *k = &w->w[i];

		k->all = w;
		for (size_t j = 0; j < d->n_listen; j++) {
			if (refd_sock_open_reuse(&k->socks[j], &d->socks[j].local, true, err,
			                         errsize) != 0) {
				refd_workers_free(w);
				return NULL;
			}
			k->n_socks++;
		}
	}
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0) {
		snprintf(err, errsize, "--workers: eventfd: %s", strerror(errno));
		refd_workers_free(w);
		return NULL;
	}
	return w;
}

/* ---- the hand-off queue ---- */

static void
hand_off(refd_workers *w, const refd_rx *r)
{
	if (w->count >= REFD_HANDOFF_MAX) {
		w->dropped++;
		return;
	}
	w->queue[(w->head + w->count) % REFD_HANDOFF_MAX] = *r;
	w->count++;
	w->handed++;
}

static void
wake_core(refd_workers *w)
{
	uint64_t one = 1;

	/* eventfd(2): a write of 1 fails only with EAGAIN, when the counter
	 * is near 2^64 -- the core thread has been rung already. */
	(void)!write(w->efd, &one, sizeof one);
}

int
refd_workers_take(refd_workers *w, refd_rx *out, int max)
{
	uint64_t v;
	int n = 0;

	/* Reset first: a datagram queued after this read rings it again. */
	if (read(w->efd, &v, sizeof v) < 0 && errno != EAGAIN) {
		refd_logf(&w->d->log, REFD_LOG_DEBUG, "workers: eventfd read: %s", strerror(errno));
	}
	while (n < max && w->count > 0) {
		out[n++] = w->queue[w->head];
		w->head = (w->head + 1) % REFD_HANDOFF_MAX;
		w->count--;
	}
	if (w->count > 0) {
		wake_core(w); /* more than max: the core thread comes back for them */
	}
	return n;
}

/* ---- serving ---- */

static ntp_ts64
worker_xmt(void *ctx)
{
	refd_worker *k = ctx;

	return ntp_ts_from_unix_ns(refd_clock_local_at(&k->clock, refd_real_now()));
}

/* One plain request through the host, as the core thread's receive path
 * does it; its SEND actions become the batch's replies, anything else the
 * host asks for (events) is carried out by the core's code. */
static int
serve_one(refd_worker *k, const refd_rx *r, ntp_time mono, int n_tx)
{
	refd_daemon *d = k->all->d;
	ntp_now t_recv = ntp_now_at(mono, refd_clock_local_at(&k->clock, r->real));

	ntp_actions_clear(&k->acts);
	ntp_host_recv(d->host, &r->from, &r->to, r->buf, r->len, t_recv, &k->acts);
	for (size_t i = 0; i < k->acts.n && i < NTP_ACTIONS_MAX; i++) {
		const ntp_action *a = &k->acts.v[i];
		refd_tx *t = &k->tx[n_tx];

		if (a->kind != NTP_ACT_SEND || n_tx >= REFD_BATCH ||
		    a->u.send.len > sizeof t->buf) {
			continue;
		}
		t->to = a->u.send.to;
		t->from = a->u.send.from;
		t->patch_xmt = a->u.send.patch_xmt;
		t->tx_stamp = false; /* a reply, never a request of ours */
		t->len = a->u.send.len;
		memcpy(t->buf, a->u.send.buf, a->u.send.len);
		n_tx++;
	}
	refd_daemon_apply_others(d, &k->acts, t_recv);
	return n_tx;
}

static void
serve_sock(refd_worker *k, refd_sock *s)
{
	refd_workers *w = k->all;
	refd_daemon *d = w->d;
	int n = refd_sock_recv(s, k->rx, REFD_BATCH);
	int n_tx = 0, sent;
	bool queued = false;
	ntp_time mono;

	if (n <= 0) {
		return;
	}
	pthread_mutex_lock(&w->lock);
	/* The monotonic clock read under the lock: the host never sees its
	 * `now` go back between two threads' calls. */
	mono = refd_mono_now();
	k->clock = d->clock;
	d->io.send_failed += k->send_failed;
	k->send_failed = 0;
	for (int i = 0; i < n; i++) {
		const refd_rx *r = &k->rx[i];

		if (r->from.family == NTP_AF_NONE) {
			continue;
		}
		if (refd_workers_plain_request(r->buf, r->len)) {
			/* the core thread counts the others when it takes them */
			d->rx_count++;
			k->served++;
			n_tx = serve_one(k, r, mono, n_tx);
		} else {
			hand_off(w, r);
			queued = true;
		}
	}
	pthread_mutex_unlock(&w->lock);
	if (queued) {
		wake_core(w);
	}
	sent = n_tx > 0 ? refd_sock_send(s, k->tx, n_tx, worker_xmt, k) : 0;
	k->sent += (unsigned long)sent;
	k->send_failed += (unsigned long)(n_tx - sent);
}

static void *
worker_main(void *arg)
{
	refd_worker *k = arg;
	struct pollfd pfd[REFD_LISTEN_MAX];
	struct timespec ts = {.tv_sec = 0, .tv_nsec = REFD_WORKER_WAIT_NS};

	while (!atomic_load(&k->all->stop)) {
		for (size_t i = 0; i < k->n_socks; i++) {
			pfd[i].fd = k->socks[i].fd;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		if (ppoll(pfd, (nfds_t)k->n_socks, &ts, NULL) <= 0) {
			continue; /* timeout (look at the flag) or EINTR */
		}
		for (size_t i = 0; i < k->n_socks; i++) {
			if (pfd[i].revents & (POLLIN | POLLERR)) {
				serve_sock(k, &k->socks[i]);
			}
		}
	}
	return NULL;
}

int
refd_workers_start(refd_workers *w, char *err, size_t errsize)
{
	sigset_t all, old;
	int rc = 0;

	/* Threads inherit the mask: the core thread alone takes the signals. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int i = 0; i < w->n && rc == 0; i++) {
		rc = pthread_create(&w->w[i].thread, NULL, worker_main, &w->w[i]);
		if (rc == 0) {
			w->n_started++;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errsize, "--workers: thread %d of %d: %s", w->n_started + 1, w->n,
		         strerror(rc));
		return -1;
	}
	refd_logf(&w->d->log, REFD_LOG_NOTICE,
	          "workers: %d server threads beside the core thread, %zu sockets each "
	          "(SO_REUSEPORT)",
	          w->n, w->n > 0 ? w->w[0].n_socks : (size_t)0);
	return 0;
}

void
refd_workers_free(refd_workers *w)
{
	unsigned long served = 0, sent = 0;

	if (w == NULL) {
		return;
	}
	atomic_store(&w->stop, true);
	for (int i = 0; i < w->n_started; i++) {
		pthread_join(w->w[i].thread, NULL);
	}
	for (int i = 0; i < w->n; i++) {
		served += w->w[i].served;
		sent += w->w[i].sent;
		for (size_t j = 0; j < w->w[i].n_socks; j++) {
			refd_sock_close(&w->w[i].socks[j]);
		}
	}
	w->d->tx_count += sent;
	if (w->n_started > 0) {
		refd_logf(
		        &w->d->log, REFD_LOG_NOTICE,
		        "workers: %lu client requests answered by %d threads (%lu datagrams out), "
		        "%lu datagrams handed to the core thread, %lu dropped (queue full)",
		        served, w->n_started, sent, w->handed, w->dropped);
	}
	if (w->efd >= 0) {
		close(w->efd);
	}
	pthread_mutex_destroy(&w->lock);
	free(w->w);
	free(w);
}
