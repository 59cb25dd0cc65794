/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Preload shim that lets NTPsec 1.2.2's ntpd run under clknetsim
 * (github.com/mlichvar/clknetsim, 134028f), loaded before clknetsim.so:
 *
 *   - pselect() becomes clknetsim's select(), with the signal mask swapped
 *     in around it (clknetsim has no pselect());
 *   - a socket with SO_TIMESTAMPNS gets an SCM_TIMESTAMPNS receive stamp,
 *     the simulated CLOCK_REALTIME when recvmsg() returns, i.e. when
 *     clknetsim delivers the datagram (clknetsim supplies none);
 *   - every ntp_adjtime()/adjtimex()/clock_adjtime() call that sets
 *     something, and every adjtime() with a delta, is logged to $SHIM_LOG
 *     with the simulated monotonic time: what ntpd asks of the kernel.
 *
 * A measurement tool for docs/disciplines.md, built and run outside the
 * project's build (run_ntpsec.sh); no test depends on it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>

#define MAX_FD 1024 /* descriptors tracked for SO_TIMESTAMPNS (ntpd has a few) */

static bool ts_wanted[MAX_FD];
static FILE *log_file;
static int inside; /* a wrapped call is in progress: do not log nested ones */

static void *
next_sym(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (p == NULL) {
		fprintf(stderr, "ntpsec_shim: no %s: %s\n", name, dlerror());
		abort();
	}
	return p;
}

static FILE *
shim_log(void)
{
	const char *path = getenv("SHIM_LOG");

	if (log_file == NULL && path != NULL) {
		log_file = fopen(path, "w");
		if (log_file != NULL) {
			setvbuf(log_file, NULL, _IOLBF, 0);
		}
	}
	return log_file;
}

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int
pselect(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timespec *timeout,
        const sigset_t *sigmask)
{
	struct timeval tv, *ptv = NULL;
	sigset_t old;
	int ret, saved;

	if (timeout != NULL) {
		tv.tv_sec = timeout->tv_sec;
		tv.tv_usec = timeout->tv_nsec / 1000;
		ptv = &tv;
	}
	if (sigmask != NULL) {
		pthread_sigmask(SIG_SETMASK, sigmask, &old);
	}
	ret = select(nfds, r, w, e, ptv);
	saved = errno;
	if (sigmask != NULL) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	errno = saved;
	return ret;
}

int
setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	static int (*real)(int, int, int, const void *, socklen_t);

	if (real == NULL) {
		real = next_sym("setsockopt");
	}
	if (level == SOL_SOCKET && name == SO_TIMESTAMPNS && fd >= 0 && fd < MAX_FD) {
		ts_wanted[fd] = len < sizeof(int) || *(const int *)val != 0;
		return 0;
	}
	return real(fd, level, name, val, len);
}

ssize_t
recvmsg(int fd, struct msghdr *msg, int flags)
{
	static ssize_t (*real)(int, struct msghdr *, int);
	void *ctl = msg->msg_control;
	size_t ctl_len = msg->msg_controllen;
	struct timespec now;
	struct cmsghdr *c;
	ssize_t n;

	if (real == NULL) {
		real = next_sym("recvmsg");
	}
	n = real(fd, msg, flags);
	if (n < 0 || fd < 0 || fd >= MAX_FD || !ts_wanted[fd] || ctl == NULL ||
	    ctl_len < CMSG_SPACE(sizeof now)) {
		return n;
	}
	msg->msg_control = ctl;
	msg->msg_controllen = ctl_len;
	c = CMSG_FIRSTHDR(msg);
	memset(c, 0, CMSG_SPACE(sizeof now));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_TIMESTAMPNS;
	c->cmsg_len = CMSG_LEN(sizeof now);
	clock_gettime(CLOCK_REALTIME, &now);
	memcpy(CMSG_DATA(c), &now, sizeof now);
	msg->msg_controllen = CMSG_SPACE(sizeof now);
	return n;
}

static void
log_timex(const char *fn, const struct timex *in, const struct timex *out, int ret)
{
	FILE *f = shim_log();

	if (f == NULL || in->modes == 0) {
		return;
	}
	fprintf(f,
	        "%s mono %.6f modes %#x in_off %ld in_freq %ld in_const %ld in_status %#x -> ret "
	        "%d "
	        "off %ld freq %ld const %ld status %#x\n",
	        fn, mono_now(), in->modes, in->offset, in->freq, in->constant, in->status, ret,
	        out->offset, out->freq, out->constant, out->status);
}

int
ntp_adjtime(struct timex *buf)
{
	static int (*real)(struct timex *);
	struct timex in = *buf;
	int r;

	if (real == NULL) {
		real = next_sym("ntp_adjtime");
	}
	if (inside) {
		return real(buf);
	}
	inside++;
	r = real(buf);
	inside--;
	log_timex("ntp_adjtime", &in, buf, r);
	return r;
}

int
adjtimex(struct timex *buf)
{
	static int (*real)(struct timex *);
	struct timex in = *buf;
	int r;

	if (real == NULL) {
		real = next_sym("adjtimex");
	}
	if (inside) {
		return real(buf);
	}
	inside++;
	r = real(buf);
	inside--;
	log_timex("adjtimex", &in, buf, r);
	return r;
}

int
adjtime(const struct timeval *delta, struct timeval *olddelta)
{
	static int (*real)(const struct timeval *, struct timeval *);
	FILE *f = shim_log();
	int r;

	if (real == NULL) {
		real = next_sym("adjtime");
	}
	r = real(delta, olddelta);
	if (f != NULL && delta != NULL && (delta->tv_sec != 0 || delta->tv_usec != 0)) {
		fprintf(f, "adjtime mono %.6f delta %.6f\n", mono_now(),
		        (double)delta->tv_sec + delta->tv_usec * 1e-6);
	}
	return r;
}
