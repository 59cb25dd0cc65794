/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refd_workers: refd on every core (issue 17 §4, `--workers N`).
 *
 * The design.  The core (ntp_host) is single-threaded by design, and it
 * stays so: at any moment at most one thread is inside it.  What a server
 * spends its CPU on is not the core -- answering a mode 3 request there is
 * a restrict lookup, a hash lookup in the rate-limit table and a 48-byte
 * encode -- but the kernel: recvmmsg, sendmmsg and the UDP stack under them.
 * So refd keeps its one core thread (timers, the clock, the log, statistics,
 * mode 6, its own polls) and adds N-1 server threads ("workers"):
 *
 *   - every serving address is bound N times with SO_REUSEPORT: the core
 *     thread's socket (as today) and one socket per worker; the kernel
 *     spreads the clients over the N sockets by a hash of their address and
 *     port;
 *   - a worker reads a batch (recvmmsg) and writes the replies (sendmmsg)
 *     with no lock held; between the two it takes the core lock once and,
 *     for each plain client request in the batch (48 bytes, mode 3: no MAC,
 *     no extension field), calls the very function the core thread calls,
 *     ntp_host_recv.  The reply is therefore byte for byte the one the
 *     single-threaded daemon sends for the same input and state (the
 *     transmit timestamp is written at send time from the worker's copy of
 *     the clock, taken under the lock, as the core thread writes it from
 *     its own), and the rate-limit / MRU table, the restrict list, the
 *     `limited`/`kod` verdicts, the server counters and ntpq's mrulist are
 *     the host's own: one table, whichever socket a client hashes to;
 *   - everything else arriving on a worker's socket (mode 6, replies to
 *     refd's own polls, symmetric modes, authenticated requests, NTPv1
 *     mode 0, anything malformed) goes to the core thread through a bounded
 *     queue, with its kernel receive timestamp, and the core thread wakes
 *     on an eventfd.  A full queue drops the datagram and counts it (logged
 *     at exit); a worker never waits for the core thread but for the lock.
 *
 * Why not a snapshot of the server variables and a table of the workers'
 * own: the reply depends on more than a snapshot holds -- the root
 * dispersion ages with the time of the request, a leap smear, a --fault,
 * the keys, the restrict list -- and all of it lives inside the host.  A
 * copy of serve() outside the core would be a second server to keep in
 * step with the first.  The lock costs little: it is held for the host
 * calls of one batch (refd spends ~0.5 us per reply more than a bare UDP
 * echo, docs/bench-refd.md), never for a system call; the core thread
 * releases it around its own recvmmsg, sendmmsg and ppoll.  One lock
 * rather than shards: the host is one object, and its table is not ours
 * to split (core/ntp_server.h).  Measured: 104 futex calls in 288 942
 * requests on 2 threads (docs/bench-refd.md), so it is hardly contended.
 *
 * With --workers 1 (the default) none of this exists: no thread, no lock
 * taken, no SO_REUSEPORT, the same system calls as before.
 */
#ifndef REFD_WORKERS_H
#define REFD_WORKERS_H

#include <stdbool.h>
#include <stddef.h>

#include "refd_sock.h"

#define REFD_HANDOFF_MAX 256 /* datagrams queued for the core thread (ours: 8 batches) */
#define REFD_WORKER_WAIT_NS                                                                        \
	200000000 /* ns, longest wait of a worker's ppoll: how soon it sees the stop flag (ours)   \
	           */

struct refd_daemon;
typedef struct refd_workers refd_workers;

/* Open the sockets of n_workers - 1 workers: each binds every serving
 * socket of d (d->socks[0 .. n_listen), already bound with SO_REUSEPORT)
 * again, and the eventfd the core thread waits on.  Before privileges are
 * dropped (port 123).  NULL with err on failure. */
refd_workers *refd_workers_open(struct refd_daemon *d, int n_workers, char *err, size_t errsize);

/* Start the threads (with every signal blocked: the core thread takes
 * them).  Call with the core lock not held.  0, or -1 with err (then no
 * thread runs). */
int refd_workers_start(refd_workers *w, char *err, size_t errsize);

/* Stop and join the threads (each sees the flag within
 * REFD_WORKER_WAIT_NS), log what they did, close their sockets, free w.
 * NULL: nothing. */
void refd_workers_free(refd_workers *w);

/* The core lock: held by the core thread whenever it is not in a system
 * call that waits or moves datagrams, and by a worker around its host
 * calls.  NULL: no-op (one thread). */
void refd_workers_lock(refd_workers *w);
void refd_workers_unlock(refd_workers *w);

/* The eventfd that becomes readable when the queue has datagrams (-1 for
 * NULL). */
int refd_workers_wake_fd(const refd_workers *w);

/* Under the lock: move up to max queued datagrams into out, oldest first,
 * and reset the eventfd.  Returns how many. */
int refd_workers_take(refd_workers *w, refd_rx *out, int max);

/* Is this datagram a plain client request a worker puts to the host
 * itself: 48 bytes (no extension field, no MAC), mode 3?  The host judges
 * the rest (version, restrict) as for any request; everything else goes
 * to the core thread. */
bool refd_workers_plain_request(const uint8_t *buf, size_t len);

#endif
