/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * UDP sockets for refd (refd_sock.h).
 */
#define _GNU_SOURCE /* recvmmsg, sendmmsg, struct in6_pktinfo */

#include "refd_sock.h"
#include "refd_clock.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CMSG_ROOM      256   /* bytes of ancillary data per datagram: timestamp + pktinfo */
#define PROC_PIDS_MAX  65536 /* /proc entries looked at when hunting a port's owner */
#define PROC_FDS_MAX   4096  /* descriptors looked at per process */
#define OWNERS_MAX     8     /* sockets listed in the "port in use" message */
#define PROC_UDP_INODE 9     /* token index of the inode in /proc/net/udp */
#define ERRQ_DATA_MAX  64    /* bytes read per error-queue message: OPT_TSONLY brings none */
/* SOF_TIMESTAMPING_OPT_RX_FILTER of Linux 6.12's uapi net_tstamp.h (older headers lack it) */
#define TS_RX_FILTER (1u << 17)

/* Room for one datagram's ancillary data, aligned for its headers. */
typedef union cmsg_buf {
	char buf[CMSG_ROOM];
	struct cmsghdr align;
} cmsg_buf;

bool
refd_addr_to_sockaddr(const ntp_addr *a, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof *ss);
	if (a->family == NTP_AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)(void *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(a->port);
		memcpy(&sin->sin_addr, a->a, 4);
		*len = sizeof *sin;
		return true;
	}
	if (a->family == NTP_AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(a->port);
		memcpy(&sin6->sin6_addr, a->a, 16);
		*len = sizeof *sin6;
		return true;
	}
	return false;
}

bool
refd_addr_from_sockaddr(const struct sockaddr *sa, ntp_addr *out)
{
	memset(out, 0, sizeof *out);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;

		out->family = NTP_AF_INET;
		memcpy(out->a, &sin->sin_addr, 4);
		out->port = ntohs(sin->sin_port);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;

		out->family = NTP_AF_INET6;
		memcpy(out->a, &sin6->sin6_addr, 16);
		out->port = ntohs(sin6->sin6_port);
		return true;
	}
	return false;
}

char *
refd_addr_port_format(const ntp_addr *a, char *buf, size_t size)
{
	char host[64];

	ntp_addr_format(a, host, sizeof host);
	if (a->family == NTP_AF_INET6) {
		snprintf(buf, size, "[%s]:%u", host, a->port);
	} else {
		snprintf(buf, size, "%s:%u", host, a->port);
	}
	return buf;
}

static int
parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s == '\0' || !isdigit((unsigned char)*s)) {
		return -1;
	}
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > 65535) {
		return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

static int
copy_host(const char *s, size_t n, char *host, size_t hostsize, char *err, size_t errsize)
{
	if (n == 0) {
		snprintf(err, errsize, "'%s': empty host", s);
		return -1;
	}
	if (n >= hostsize) {
		snprintf(err, errsize, "host name longer than %zu bytes", hostsize - 1);
		return -1;
	}
	memcpy(host, s, n);
	host[n] = '\0';
	return 0;
}

int
refd_parse_hostport(const char *s, char *host, size_t hostsize, uint16_t *port, char *err,
                    size_t errsize)
{
	const char *colon;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL) {
			snprintf(err, errsize, "'%s': '[' without ']'", s);
			return -1;
		}
		if (copy_host(s + 1, (size_t)(close - s - 1), host, hostsize, err, errsize) != 0) {
			return -1;
		}
		if (close[1] == '\0') {
			return 0;
		}
		if (close[1] != ':' || parse_port(close + 2, port) != 0) {
			snprintf(err, errsize, "'%s': expected ':PORT' (0..65535) after ']'", s);
			return -1;
		}
		return 0;
	}
	colon = strchr(s, ':');
	if (colon == NULL || strchr(colon + 1, ':') != NULL) {
		/* No colon, or a bare IPv6 address. */
		return copy_host(s, strlen(s), host, hostsize, err, errsize);
	}
	if (copy_host(s, (size_t)(colon - s), host, hostsize, err, errsize) != 0) {
		return -1;
	}
	if (parse_port(colon + 1, port) != 0) {
		snprintf(err, errsize, "'%s': port '%s' is not a number 0..65535", s, colon + 1);
		return -1;
	}
	return 0;
}

static void
set_int_opt(int fd, int level, int name, int value)
{
	/* Best effort: a missing option only costs precision or batching. */
	(void)setsockopt(fd, level, name, &value, sizeof value);
}

int
refd_sock_open(refd_sock *s, const ntp_addr *local, char *err, size_t errsize)
{
	return refd_sock_open_reuse(s, local, false, err, errsize);
}

int
refd_sock_open_reuse(refd_sock *s, const ntp_addr *local, bool reuseport, char *err, size_t errsize)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, e;
	char name[80];
	static const uint8_t zero[16];

	s->fd = -1;
	s->local = *local;
	s->txts = NULL;
	s->ts_flags = 0;
	s->shared = false;
	s->wildcard = memcmp(local->a, zero, local->family == NTP_AF_INET6 ? 16 : 4) == 0;
	refd_addr_port_format(local, name, sizeof name);
	if (!refd_addr_to_sockaddr(local, &ss, &len)) {
		snprintf(err, errsize, "%s: no address family", name);
		return -EAFNOSUPPORT;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0) {
		e = errno;
		snprintf(err, errsize, "socket for %s: %s", name, strerror(e));
		return -e;
	}
	set_int_opt(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1);
	set_int_opt(fd, SOL_SOCKET, SO_RCVBUF, REFD_RCVBUF);
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &(int){1}, sizeof(int)) != 0) {
		e = errno;
		snprintf(err, errsize, "SO_REUSEPORT on %s: %s", name, strerror(e));
		close(fd);
		return -e;
	}
	if (ss.ss_family == AF_INET6) {
		set_int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
		set_int_opt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, s->wildcard);
	} else {
		set_int_opt(fd, IPPROTO_IP, IP_PKTINFO, s->wildcard);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		e = errno;
		snprintf(err, errsize, "cannot bind %s: %s", name, strerror(e));
		close(fd);
		return -e;
	}
	len = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
		refd_addr_from_sockaddr((struct sockaddr *)&ss, &s->local);
	}
	s->fd = fd;
	return 0;
}

void
refd_sock_close(refd_sock *s)
{
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
}

static void
read_cmsgs(struct msghdr *h, refd_rx *rx)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(c), sizeof ts);
			rx->real = (ntp_time)ts.tv_sec * NTP_NS_PER_S + ts.tv_nsec;
			rx->kernel_ts = true;
		} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof pi);
			memcpy(rx->to.a, &pi.ipi_addr, 4);
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof pi);
			memcpy(rx->to.a, &pi.ipi6_addr, 16);
		}
	}
}

int
refd_sock_recv(refd_sock *s, refd_rx *rx, int max)
{
	struct mmsghdr msgs[REFD_BATCH];
	struct iovec iov[REFD_BATCH];
	struct sockaddr_storage names[REFD_BATCH];
	cmsg_buf ctl[REFD_BATCH];
	struct timespec now;
	ntp_time fallback;
	int n;

	if (max > REFD_BATCH) {
		max = REFD_BATCH;
	}
	memset(msgs, 0, sizeof(msgs[0]) * (size_t)max);
	for (int i = 0; i < max; i++) {
		iov[i].iov_base = rx[i].buf;
		iov[i].iov_len = sizeof rx[i].buf;
		msgs[i].msg_hdr.msg_name = &names[i];
		msgs[i].msg_hdr.msg_namelen = sizeof names[i];
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_control = ctl[i].buf;
		msgs[i].msg_hdr.msg_controllen = sizeof ctl[i].buf;
	}
	n = recvmmsg(s->fd, msgs, (unsigned)max, MSG_DONTWAIT, NULL);
	if (n < 0) {
		return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
	}
	/* Without a kernel stamp, the earliest time user space can know. */
	clock_gettime(CLOCK_REALTIME, &now);
	fallback = (ntp_time)now.tv_sec * NTP_NS_PER_S + now.tv_nsec;
	for (int i = 0; i < n; i++) {
		refd_rx *r = &rx[i];

		r->len = msgs[i].msg_len;
		r->real = fallback;
		r->kernel_ts = false;
		r->to = s->local;
		if (!refd_addr_from_sockaddr((struct sockaddr *)&names[i], &r->from)) {
			memset(&r->from, 0, sizeof r->from);
		}
		read_cmsgs(&msgs[i].msg_hdr, r);
	}
	return n;
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* ---- transmit stamps ---- */

static int
set_ts_flags(int fd, unsigned flags)
{
	return setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof flags) == 0 ? 0 : -errno;
}

int
refd_sock_enable_tx_stamps(refd_sock *s, refd_txts_ring *ring)
{
	/* Reporting flags only: no datagram is stamped unless it asks. */
	unsigned base =
	        SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY;
	int rc;

	if (s->fd < 0 || ring == NULL) {
		return -EBADF;
	}
	/* Without the filter every received datagram also carries an
	 * SCM_TIMESTAMPING copy of its SO_TIMESTAMPNS stamp: harmless. */
	rc = set_ts_flags(s->fd, base | TS_RX_FILTER);
	if (rc == 0) {
		s->ts_flags = base | TS_RX_FILTER;
	} else if ((rc = set_ts_flags(s->fd, base)) == 0) {
		s->ts_flags = base;
	} else {
		return rc;
	}
	refd_txts_reset(ring);
	s->txts = ring;
	return 0;
}

/* The kernel may or may not have counted a datagram it refused (it gives
 * the key back only since Linux 6.9): switching OPT_ID off and on restarts
 * its count at 0, and ours with it. */
static void
restart_tx_keys(refd_sock *s)
{
	if (set_ts_flags(s->fd, s->ts_flags & ~(unsigned)SOF_TIMESTAMPING_OPT_ID) != 0 ||
	    set_ts_flags(s->fd, s->ts_flags) != 0) {
		s->txts = NULL;
		return;
	}
	refd_txts_reset(s->txts);
}

void
refd_txts_reset(refd_txts_ring *r)
{
	memset(r, 0, sizeof *r);
}

void
refd_txts_note(refd_txts_ring *r, const ntp_addr *to, const uint8_t *buf, size_t len,
               ntp_time not_before)
{
	uint32_t key = r->next_key++;
	refd_txts_slot *slot = &r->slot[key % REFD_TXTS_RING];

	if (len < NTP_PKT_HEADER_LEN) {
		return;
	}
	slot->used = true;
	slot->key = key;
	slot->not_before = not_before;
	slot->to = *to;
	memcpy(slot->head, buf, NTP_PKT_HEADER_LEN);
}

bool
refd_txts_take(refd_txts_ring *r, uint32_t key, ntp_time real, refd_txstamp *out)
{
	refd_txts_slot *slot = &r->slot[key % REFD_TXTS_RING];

	/* A stamp older than the send belongs to an earlier datagram that
	 * had the same key before a restart of the count. */
	if (!slot->used || slot->key != key || real < slot->not_before) {
		return false;
	}
	slot->used = false;
	out->to = slot->to;
	memcpy(out->head, slot->head, NTP_PKT_HEADER_LEN);
	out->real = real;
	return true;
}

/* The control message c of h, if its data holds at least size bytes
 * inside h's control buffer. */
static bool
cmsg_holds(const struct msghdr *h, const struct cmsghdr *c, size_t size)
{
	const unsigned char *end = (const unsigned char *)h->msg_control + h->msg_controllen;
	ptrdiff_t room = end - (const unsigned char *)CMSG_DATA(c);

	return c->cmsg_len >= CMSG_LEN(size) && room >= 0 && (size_t)room >= size;
}

static bool
is_send_stamp(const struct sock_extended_err *ee)
{
	return ee->ee_errno == ENOMSG && ee->ee_origin == SO_EE_ORIGIN_TIMESTAMPING &&
	       ee->ee_info == SCM_TSTAMP_SND;
}

/* A kernel stamp as ntp_time, if it is one: 1970 .. 2262. */
static bool
stamp_time(const struct timespec *ts, ntp_time *out)
{
	if (ts->tv_sec < 0 || ts->tv_sec >= INT64_MAX / NTP_NS_PER_S || ts->tv_nsec < 0 ||
	    ts->tv_nsec >= NTP_NS_PER_S || (ts->tv_sec == 0 && ts->tv_nsec == 0)) {
		return false;
	}
	*out = (ntp_time)ts->tv_sec * NTP_NS_PER_S + ts->tv_nsec;
	return true;
}

bool
refd_tx_stamp_parse(const struct msghdr *h, ntp_time *real, uint32_t *key)
{
	bool have_ts = false, have_key = false;
	ntp_time t = 0;
	uint32_t k = 0;

	if (h->msg_control == NULL) {
		return false;
	}
	/* CMSG_NXTHDR casts away const but only reads. */
	for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)h); c != NULL;
	     c = CMSG_NXTHDR((struct msghdr *)h, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPING &&
		    cmsg_holds(h, c, sizeof(struct timespec))) {
			struct timespec ts; /* ts[0] of scm_timestamping: the software stamp */

			memcpy(&ts, CMSG_DATA(c), sizeof ts);
			have_ts = stamp_time(&ts, &t);
		} else if (((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
		            (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) &&
		           cmsg_holds(h, c, sizeof(struct sock_extended_err))) {
			struct sock_extended_err ee;

			memcpy(&ee, CMSG_DATA(c), sizeof ee);
			if (is_send_stamp(&ee)) {
				k = ee.ee_data;
				have_key = true;
			}
		}
	}
	if (!have_ts || !have_key) {
		return false;
	}
	*real = t;
	*key = k;
	return true;
}

int
refd_sock_tx_stamps(refd_sock *s, refd_txstamp *out, int max)
{
	int got = 0;

	for (int i = 0; i < REFD_TXTS_BURST && got < max; i++) {
		uint8_t data[ERRQ_DATA_MAX];
		cmsg_buf ctl;
		struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
		struct msghdr h;
		ntp_time real;
		uint32_t key;

		memset(&h, 0, sizeof h);
		h.msg_iov = &iov;
		h.msg_iovlen = 1;
		h.msg_control = ctl.buf;
		h.msg_controllen = sizeof ctl.buf;
		if (recvmsg(s->fd, &h, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
			if (errno == EINTR) {
				continue;
			}
			break; /* EAGAIN: the queue is empty */
		}
		if (s->txts != NULL && refd_tx_stamp_parse(&h, &real, &key) &&
		    refd_txts_take(s->txts, key, real, &out[got])) {
			got++;
		}
	}
	return got;
}

/* ---- sending ---- */

/* Append one control message to ctl (used bytes so far), if it fits. */
static size_t
add_cmsg(char *ctl, size_t used, size_t room, int level, int type, const void *data, size_t size)
{
	struct cmsghdr *c = (struct cmsghdr *)(void *)(ctl + used);

	if (used + CMSG_SPACE(size) > room) {
		return used;
	}
	memset(c, 0, CMSG_SPACE(size));
	c->cmsg_level = level;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(size);
	memcpy(CMSG_DATA(c), data, size);
	return used + CMSG_SPACE(size);
}

/* The ancillary data of one datagram: its source address on a wildcard
 * socket; the request for a software transmit stamp (per message, so
 * nothing else the socket sends is stamped). */
static size_t
build_ctl(const refd_sock *s, const refd_tx *t, bool stamp, char *ctl, size_t room)
{
	size_t used = 0;

	if (s->wildcard && t->from.family == s->local.family) {
		if (t->from.family == NTP_AF_INET) {
			struct in_pktinfo pi;

			memset(&pi, 0, sizeof pi);
			memcpy(&pi.ipi_spec_dst, t->from.a, 4);
			used = add_cmsg(ctl, used, room, IPPROTO_IP, IP_PKTINFO, &pi, sizeof pi);
		} else {
			struct in6_pktinfo pi;

			memset(&pi, 0, sizeof pi);
			memcpy(&pi.ipi6_addr, t->from.a, 16);
			used = add_cmsg(ctl, used, room, IPPROTO_IPV6, IPV6_PKTINFO, &pi,
			                sizeof pi);
		}
	}
	if (stamp) {
		uint32_t flags = SOF_TIMESTAMPING_TX_SOFTWARE;

		used = add_cmsg(ctl, used, room, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof flags);
	}
	return used;
}

/* One sendmmsg batch: msgs[k] carries tx[src[k]]. */
typedef struct send_batch {
	struct mmsghdr msgs[REFD_BATCH];
	struct iovec iov[REFD_BATCH];
	struct sockaddr_storage names[REFD_BATCH];
	cmsg_buf ctl[REFD_BATCH];
	int src[REFD_BATCH];
	bool stamped[REFD_BATCH]; /* asks for a transmit stamp */
	int count;
} send_batch;

static void
set_ctl(const refd_sock *s, const refd_tx *tx, send_batch *b, int k)
{
	struct msghdr *h = &b->msgs[k].msg_hdr;

	h->msg_controllen =
	        build_ctl(s, &tx[b->src[k]], b->stamped[k], b->ctl[k].buf, sizeof b->ctl[k].buf);
	h->msg_control = h->msg_controllen ? b->ctl[k].buf : NULL;
}

/* Message k, which asked for a stamp, was refused with errno e.  A kernel
 * without per-message SO_TIMESTAMPING (before Linux 4.7) says EINVAL: then
 * k goes out without, and the socket stops asking.  Otherwise k is dropped
 * (UDP) and the key count restarts.  Once the socket asks no more, neither
 * do the messages after k. */
static void
stamped_refused(refd_sock *s, const refd_tx *tx, send_batch *b, int k, int e)
{
	b->stamped[k] = false;
	set_ctl(s, tx, b, k);
	if (e == EINVAL && sendmmsg(s->fd, &b->msgs[k], 1, MSG_DONTWAIT) == 1) {
		s->txts = NULL;
	} else {
		restart_tx_keys(s);
	}
	for (int m = k + 1; s->txts == NULL && m < b->count; m++) {
		if (b->stamped[m]) {
			b->stamped[m] = false;
			set_ctl(s, tx, b, m);
		}
	}
}

static void
build_batch(refd_sock *s, refd_tx *tx, int n, send_batch *b)
{
	b->count = 0;
	memset(b->msgs, 0, sizeof(b->msgs[0]) * (size_t)(n > 0 ? n : 0));
	for (int i = 0; i < n; i++) {
		int k = b->count;
		struct msghdr *h = &b->msgs[k].msg_hdr;
		socklen_t len;

		if (!refd_addr_to_sockaddr(&tx[i].to, &b->names[k], &len)) {
			continue;
		}
		b->iov[k].iov_base = tx[i].buf;
		b->iov[k].iov_len = tx[i].len;
		h->msg_name = &b->names[k];
		h->msg_namelen = len;
		h->msg_iov = &b->iov[k];
		h->msg_iovlen = 1;
		b->src[k] = i;
		b->stamped[k] =
		        s->txts != NULL && tx[i].tx_stamp && tx[i].len >= NTP_PKT_HEADER_LEN;
		set_ctl(s, tx, b, k);
		b->count++;
	}
}

int
refd_sock_send(refd_sock *s, refd_tx *tx, int n, refd_xmt_fn *xmt, void *ctx)
{
	send_batch b;
	int done = 0;
	bool patch = false, any_stamp = false;
	ntp_time not_before = 0;

	if (n > REFD_BATCH) {
		n = REFD_BATCH;
	}
	build_batch(s, tx, n, &b);
	for (int k = 0; k < b.count; k++) {
		const refd_tx *t = &tx[b.src[k]];

		patch |= t->patch_xmt && t->len >= NTP_PKT_HEADER_LEN;
		any_stamp |= b.stamped[k];
	}
	if (patch && xmt != NULL) {
		/* The last moment before the datagrams leave. */
		ntp_ts64 t3 = xmt(ctx);

		for (int i = 0; i < n; i++) {
			if (tx[i].patch_xmt && tx[i].len >= NTP_PKT_HEADER_LEN) {
				put_be64(tx[i].buf + 40, t3);
			}
		}
	}
	if (any_stamp) {
		not_before = refd_real_now();
	}
	while (done < b.count) {
		int r = sendmmsg(s->fd, b.msgs + done, (unsigned)(b.count - done), MSG_DONTWAIT);

		if (r <= 0) {
			if (r < 0 && errno == EINTR) {
				continue;
			}
			/* A datagram the kernel refused (EAGAIN, unreachable): skip it. */
			if (b.stamped[done] && s->txts != NULL) {
				stamped_refused(s, tx, &b, done, r < 0 ? errno : 0);
				/* Stamps of the datagrams sent before the restart
				 * are older than this, so they match no new key. */
				not_before = refd_real_now();
			}
			done++;
			continue;
		}
		for (int k = done; k < done + r; k++) {
			const refd_tx *t = &tx[b.src[k]];

			if (b.stamped[k] && s->txts != NULL) {
				refd_txts_note(s->txts, &t->to, t->buf, t->len, not_before);
			}
		}
		done += r;
	}
	return b.count;
}

/* ---- who holds a port ---- */

static bool
hex_word(const char *s, uint32_t *out)
{
	char tmp[9];
	char *end;

	for (int i = 0; i < 8; i++) {
		if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
		tmp[i] = s[i];
	}
	tmp[8] = '\0';
	*out = (uint32_t)strtoul(tmp, &end, 16);
	return *end == '\0';
}

bool
refd_proc_udp_line(const char *line, bool v6, ntp_addr *local, unsigned long *inode)
{
	char tok[12][64];
	int n = 0;
	const char *p = line;
	size_t hexlen = v6 ? 32 : 8;
	unsigned long port;
	char *end;

	while (n < 12) {
		size_t k = 0;

		while (*p == ' ' || *p == '\t') {
			p++;
		}
		if (*p == '\0' || *p == '\n') {
			break;
		}
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n') {
			if (k + 1 >= sizeof tok[0]) {
				return false;
			}
			tok[n][k++] = *p++;
		}
		tok[n][k] = '\0';
		n++;
	}
	if (n <= PROC_UDP_INODE || strchr(tok[0], ':') == NULL ||
	    !isdigit((unsigned char)tok[0][0])) {
		return false;
	}
	if (strlen(tok[1]) != hexlen + 5 || tok[1][hexlen] != ':') {
		return false;
	}
	memset(local, 0, sizeof *local);
	local->family = v6 ? NTP_AF_INET6 : NTP_AF_INET;
	/* The kernel prints each 32-bit word of the network-order address as a
	 * native integer: copying the integer back gives the bytes in order. */
	for (size_t w = 0; w < hexlen / 8; w++) {
		uint32_t v;

		if (!hex_word(tok[1] + 8 * w, &v)) {
			return false;
		}
		memcpy(local->a + 4 * w, &v, 4);
	}
	port = strtoul(tok[1] + hexlen + 1, &end, 16);
	if (*end != '\0' || port > 65535) {
		return false;
	}
	local->port = (uint16_t)port;
	*inode = strtoul(tok[PROC_UDP_INODE], &end, 10);
	return *end == '\0';
}

/* pid and comm of the process holding socket inode, or 0. */
static long
inode_owner(unsigned long inode, char *comm, size_t commsize)
{
	char want[64], path[600], link[64];
	DIR *proc = opendir("/proc");
	struct dirent *pe;
	long found = 0;
	int pids = 0;

	if (proc == NULL) {
		return 0;
	}
	snprintf(want, sizeof want, "socket:[%lu]", inode);
	while (found == 0 && (pe = readdir(proc)) != NULL && pids++ < PROC_PIDS_MAX) {
		DIR *fds;
		struct dirent *fe;
		int nfd = 0;

		if (!isdigit((unsigned char)pe->d_name[0])) {
			continue;
		}
		snprintf(path, sizeof path, "/proc/%s/fd", pe->d_name);
		if ((fds = opendir(path)) == NULL) {
			continue;
		}
		while ((fe = readdir(fds)) != NULL && nfd++ < PROC_FDS_MAX) {
			ssize_t k;

			snprintf(path, sizeof path, "/proc/%s/fd/%s", pe->d_name, fe->d_name);
			k = readlink(path, link, sizeof link - 1);
			if (k <= 0) {
				continue;
			}
			link[k] = '\0';
			if (strcmp(link, want) == 0) {
				found = strtol(pe->d_name, NULL, 10);
				break;
			}
		}
		closedir(fds);
	}
	closedir(proc);
	comm[0] = '\0';
	if (found != 0) {
		FILE *fp;

		snprintf(path, sizeof path, "/proc/%ld/comm", found);
		if ((fp = fopen(path, "r")) != NULL) {
			if (fgets(comm, (int)commsize, fp) == NULL) {
				comm[0] = '\0';
			}
			comm[strcspn(comm, "\n")] = '\0';
			fclose(fp);
		}
	}
	return found;
}

size_t
refd_port_owners(uint16_t port, char *buf, size_t size)
{
	static const char *const files[2] = {"/proc/net/udp", "/proc/net/udp6"};
	size_t found = 0, used = 0;

	buf[0] = '\0';
	for (int f = 0; f < 2; f++) {
		FILE *fp = fopen(files[f], "r");
		char line[512];

		if (fp == NULL) {
			continue;
		}
		while (fgets(line, sizeof line, fp) != NULL && found < OWNERS_MAX) {
			ntp_addr a;
			unsigned long inode;
			char addr[80], comm[64];
			long pid;
			int k;

			if (!refd_proc_udp_line(line, f == 1, &a, &inode) || a.port != port) {
				continue;
			}
			pid = inode_owner(inode, comm, sizeof comm);
			refd_addr_port_format(&a, addr, sizeof addr);
			if (pid != 0) {
				k = snprintf(buf + used, size - used, "%s%s (pid %ld %s)",
				             found ? ", " : "", addr, pid, comm);
			} else {
				k = snprintf(buf + used, size - used, "%s%s (pid unknown)",
				             found ? ", " : "", addr);
			}
			if (k > 0 && (size_t)k < size - used) {
				used += (size_t)k;
			}
			found++;
		}
		fclose(fp);
	}
	return found;
}
