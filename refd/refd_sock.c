/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * UDP sockets for refd (refd_sock.h).
 */
#define _GNU_SOURCE /* recvmmsg, sendmmsg, struct in6_pktinfo */

#include "refd_sock.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
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
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, e;
	char name[80];
	static const uint8_t zero[16];

	s->fd = -1;
	s->local = *local;
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
	union {
		char buf[CMSG_ROOM];
		struct cmsghdr align;
	} ctl[REFD_BATCH];
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

/* The source-address ancillary data for a wildcard socket. */
static size_t
set_source(const refd_sock *s, const refd_tx *t, char *ctl, size_t room)
{
	struct msghdr h;
	struct cmsghdr *c;

	if (!s->wildcard || t->from.family != s->local.family) {
		return 0;
	}
	memset(&h, 0, sizeof h);
	h.msg_control = ctl;
	h.msg_controllen = room;
	c = CMSG_FIRSTHDR(&h);
	if (t->from.family == NTP_AF_INET) {
		struct in_pktinfo pi;

		memset(&pi, 0, sizeof pi);
		memcpy(&pi.ipi_spec_dst, t->from.a, 4);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof pi);
		memcpy(CMSG_DATA(c), &pi, sizeof pi);
		return CMSG_SPACE(sizeof pi);
	}
	{
		struct in6_pktinfo pi;

		memset(&pi, 0, sizeof pi);
		memcpy(&pi.ipi6_addr, t->from.a, 16);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof pi);
		memcpy(CMSG_DATA(c), &pi, sizeof pi);
		return CMSG_SPACE(sizeof pi);
	}
}

int
refd_sock_send(refd_sock *s, refd_tx *tx, int n, refd_xmt_fn *xmt, void *ctx)
{
	struct mmsghdr msgs[REFD_BATCH];
	struct iovec iov[REFD_BATCH];
	struct sockaddr_storage names[REFD_BATCH];
	union {
		char buf[CMSG_ROOM];
		struct cmsghdr align;
	} ctl[REFD_BATCH];
	int count = 0, done = 0;
	bool patch = false;

	if (n > REFD_BATCH) {
		n = REFD_BATCH;
	}
	memset(msgs, 0, sizeof(msgs[0]) * (size_t)(n > 0 ? n : 0));
	for (int i = 0; i < n; i++) {
		socklen_t len;

		if (!refd_addr_to_sockaddr(&tx[i].to, &names[count], &len)) {
			continue;
		}
		iov[count].iov_base = tx[i].buf;
		iov[count].iov_len = tx[i].len;
		msgs[count].msg_hdr.msg_name = &names[count];
		msgs[count].msg_hdr.msg_namelen = len;
		msgs[count].msg_hdr.msg_iov = &iov[count];
		msgs[count].msg_hdr.msg_iovlen = 1;
		msgs[count].msg_hdr.msg_controllen =
		        set_source(s, &tx[i], ctl[count].buf, sizeof ctl[count].buf);
		msgs[count].msg_hdr.msg_control =
		        msgs[count].msg_hdr.msg_controllen ? ctl[count].buf : NULL;
		patch |= tx[i].patch_xmt && tx[i].len >= NTP_PKT_HEADER_LEN;
		count++;
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
	while (done < count) {
		int r = sendmmsg(s->fd, msgs + done, (unsigned)(count - done), MSG_DONTWAIT);

		if (r <= 0) {
			if (r < 0 && errno == EINTR) {
				continue;
			}
			/* A datagram the kernel refused (EAGAIN, unreachable): skip it. */
			done++;
			continue;
		}
		done += r;
	}
	return count;
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
