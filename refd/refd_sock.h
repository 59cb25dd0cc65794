/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refd_sock: UDP sockets for refd, its query mode and refbench.
 *
 * Receive in batches (recvmmsg) with the kernel's receive timestamp
 * (SO_TIMESTAMPNS, CLOCK_REALTIME) and, on wildcard sockets, the address
 * the datagram was sent to (IP_PKTINFO / IPV6_PKTINFO).  Send in batches
 * (sendmmsg); the transmit timestamp of replies that allow it is written
 * into bytes 40..47 immediately before the system call, so it is as late as
 * user space can make it.
 *
 * Requests (refd's own T1) can ask for the kernel's software transmit
 * timestamp instead: per datagram, with an SO_TIMESTAMPING control message,
 * so replies never queue a stamp.  The stamp comes back later on the
 * socket's error queue, keyed by the kernel's SOF_TIMESTAMPING_OPT_ID
 * counter, which counts only the datagrams that asked for a stamp; a small
 * ring maps the key back to the request's destination and header.
 *
 * Also: turning ntp_addr into sockaddrs and back, "HOST[:PORT]" parsing,
 * and finding which process holds a UDP port (/proc/net/udp{,6} and
 * /proc/PID/fd), for the "port in use" message.
 */
#ifndef REFD_SOCK_H
#define REFD_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ntp_addr.h"
#include "ntp_host.h"
#include "ntp_pkt.h"
#include "ntp_time.h"

#define REFD_BATCH 32 /* datagrams per recvmmsg/sendmmsg (ours) */
#define REFD_RX_MAX                                                                                \
	1100                    /* bytes read per datagram: above NTP_PKT_MAX_LEN, so an           \
	                           oversized datagram still reaches the core and is rejected */
#define REFD_RCVBUF   (1 << 20) /* bytes, socket receive buffer asked for (ours) */
#define REFD_HOST_MAX 256       /* bytes of a host name */

/* Requests awaiting their transmit stamp (ours: many polls' worth; an older
 * one has its answer or has been given up by then). */
#define REFD_TXTS_RING  64
#define REFD_TXTS_BURST 64 /* error-queue messages read per refd_sock_tx_stamps call (ours) */

/* A request that asked for a transmit stamp: the OPT_ID key the kernel
 * gave it, where it went and its header (the transmit timestamp there is
 * the origin its reply must echo). */
typedef struct refd_txts_slot {
	bool used;
	uint32_t key;
	ntp_time not_before; /* CLOCK_REALTIME read before the send: no stamp is older */
	ntp_addr to;
	uint8_t head[NTP_PKT_HEADER_LEN];
} refd_txts_slot;

typedef struct refd_txts_ring {
	uint32_t next_key; /* the key the kernel gives the next stamped datagram */
	refd_txts_slot slot[REFD_TXTS_RING];
} refd_txts_ring;

/* A request and when it left. */
typedef struct refd_txstamp {
	ntp_addr to;
	uint8_t head[NTP_PKT_HEADER_LEN];
	ntp_time real; /* CLOCK_REALTIME: the kernel's software transmit stamp */
} refd_txstamp;

typedef struct refd_sock {
	int fd;               /* -1: closed */
	ntp_addr local;       /* bound address; port filled in after bind */
	bool wildcard;        /* 0.0.0.0 or ::, destination address from pktinfo */
	bool shared;          /* the family's client socket for requests without a port
	                         of their own (no listener of that family) */
	refd_txts_ring *txts; /* NULL: no transmit stamps (refd_sock_enable_tx_stamps) */
	unsigned ts_flags;    /* SO_TIMESTAMPING flags in force on fd */
} refd_sock;

typedef struct refd_rx {
	ntp_addr from;
	ntp_addr to;    /* local address it was sent to */
	ntp_time real;  /* CLOCK_REALTIME at arrival: kernel stamp, else read after recv */
	bool kernel_ts; /* real came from SO_TIMESTAMPNS */
	size_t len;
	uint8_t buf[REFD_RX_MAX];
} refd_rx;

typedef struct refd_tx {
	ntp_addr to;
	ntp_addr from;  /* local source address (family 0: the kernel chooses) */
	bool patch_xmt; /* write the transmit timestamp into bytes 40..47 at send time */
	bool tx_stamp;  /* ask for the kernel's transmit stamp (socket with txts, len >= 48) */
	size_t len;
	uint8_t buf[NTP_SEND_MAX];
} refd_tx;

/* Returns the transmit timestamp to write at send time. */
typedef ntp_ts64 refd_xmt_fn(void *ctx);

/* ntp_addr <-> sockaddr.  to_sockaddr fails on family NTP_AF_NONE. */
bool refd_addr_to_sockaddr(const ntp_addr *a, struct sockaddr_storage *ss, socklen_t *len);
bool refd_addr_from_sockaddr(const struct sockaddr *sa, ntp_addr *out);

/* "host", "host:port", "1.2.3.4:123", "[::1]:123", "::1" (an address with
 * two or more colons and no brackets has no port).  *port is left alone when
 * none is given.  Returns 0, or -1 with a reason in err. */
int refd_parse_hostport(const char *s, char *host, size_t hostsize, uint16_t *port, char *err,
                        size_t errsize);

/* Open a UDP socket bound to `local` (port 0: ephemeral), non-blocking,
 * with kernel receive timestamps; IPv6 sockets are IPv6-only.  Returns 0,
 * or the negative errno with a reason in err. */
int refd_sock_open(refd_sock *s, const ntp_addr *local, char *err, size_t errsize);
/* The same with SO_REUSEPORT when reuseport: the kernel spreads the
 * datagrams to one address and port over every socket bound to it so (by a
 * hash of the source address and port), one per --workers thread. */
int refd_sock_open_reuse(refd_sock *s, const ntp_addr *local, bool reuseport, char *err,
                         size_t errsize);
void refd_sock_close(refd_sock *s);

/* Read up to max waiting datagrams.  Returns how many (0 when none is
 * waiting), or -1 on an error (errno set). */
int refd_sock_recv(refd_sock *s, refd_rx *rx, int max);

/* Send n datagrams, patching transmit timestamps with xmt(ctx) just before
 * the call.  Returns how many the kernel took (the rest are dropped: UDP).
 * A datagram with tx_stamp, on a socket with transmit stamps, is noted in
 * the socket's ring; if the kernel refuses one, the socket's key count is
 * restarted, since the kernel may or may not have counted it. */
int refd_sock_send(refd_sock *s, refd_tx *tx, int n, refd_xmt_fn *xmt, void *ctx);

/* Have the kernel report the software transmit stamps of the datagrams
 * sent with tx_stamp (SO_TIMESTAMPING: SOF_TIMESTAMPING_SOFTWARE, OPT_ID,
 * OPT_TSONLY, and OPT_RX_FILTER where the kernel knows it, so received
 * datagrams carry no second stamp); ring (owned by the caller, outlives
 * the socket's use) keeps the requests until their stamps arrive.  Returns
 * 0, or the negative errno (then s sends as before, without stamps). */
int refd_sock_enable_tx_stamps(refd_sock *s, refd_txts_ring *ring);

/* Read up to REFD_TXTS_BURST messages from s's error queue and return, in
 * out (at most max), the requests whose transmit stamps they are.  Other
 * messages are consumed and dropped.  Returns how many (0: none). */
int refd_sock_tx_stamps(refd_sock *s, refd_txstamp *out, int max);

/* One error-queue message's control data: true, with the software stamp
 * (CLOCK_REALTIME) and the OPT_ID key, if it is a transmit stamp
 * (SCM_TIMESTAMPING with a non-zero software time, and IP_RECVERR or
 * IPV6_RECVERR of origin SO_EE_ORIGIN_TIMESTAMPING, SCM_TSTAMP_SND).
 * Anything else, or a control message too short for its type: false. */
bool refd_tx_stamp_parse(const struct msghdr *h, ntp_time *real, uint32_t *key);

/* The ring: forget everything and expect key 0 next (the kernel's count
 * starts at 0 when OPT_ID is switched on). */
void refd_txts_reset(refd_txts_ring *r);

/* Note a stamped datagram of len bytes to `to`, sent after CLOCK_REALTIME
 * not_before, under the next key.  A datagram shorter than an NTP header
 * uses up its key but is not kept. */
void refd_txts_note(refd_txts_ring *r, const ntp_addr *to, const uint8_t *buf, size_t len,
                    ntp_time not_before);

/* The request of key, stamped at real: true, filling out (and freeing the
 * slot), if it is still in the ring and real is not before its send. */
bool refd_txts_take(refd_txts_ring *r, uint32_t key, ntp_time real, refd_txstamp *out);

/* Parse one line of /proc/net/udp (v6 false) or /proc/net/udp6: the local
 * address and port and the socket inode.  False for the header line or
 * anything malformed. */
bool refd_proc_udp_line(const char *line, bool v6, ntp_addr *local, unsigned long *inode);

/* Who holds UDP `port`: "127.0.0.2:123 (pid 812 chronyd), 0.0.0.0:123 (pid
 * unknown)" into buf, from /proc.  Returns the number of sockets found. */
size_t refd_port_owners(uint16_t port, char *buf, size_t size);

/* "127.0.0.1:123" or "[::1]:123". */
char *refd_addr_port_format(const ntp_addr *a, char *buf, size_t size);

#endif
