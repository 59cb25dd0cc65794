/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refd_loop: the daemon's event loop around one ntp_host, driven exactly
 * as ntpsim drives it:
 *
 *   datagrams   recvmmsg -> t_recv = local clock at the kernel timestamp
 *               and CLOCK_MONOTONIC -> ntp_host_recv
 *   timers      ppoll until CLOCK_MONOTONIC reaches ntp_host_next, then
 *               ntp_host_tick(monotonic and local now): no step of the
 *               virtual or the system clock moves a timer
 *   actions     SEND  -> per-socket batch, transmit timestamp patched just
 *                        before sendmmsg; a request's send time reported
 *                        back (ntp_host_sent) as its T1: the clock read
 *                        just before sendmmsg, then, where the kernel gives
 *                        it, the request's software transmit stamp from the
 *                        socket's error queue (read right after the send and
 *                        before that socket's received datagrams)
 *               STEP / ADJUST -> refd_clock (virtual or system), logged
 *               EVENT -> ntpd-style event line in the log
 *               STATS -> peerstats / loopstats files
 *               EXIT  -> logged ("CLOCK: Panic: ..."), refd exits with its
 *                        status (1), as ntpd does
 *
 * With --workers N > 1, N-1 server threads answer client requests beside
 * this loop (refd_workers.h); the loop then holds the core lock except
 * while it waits (ppoll) or moves datagrams (recvmmsg, sendmmsg).
 *
 * Housekeeping: the drift file hourly and at exit, SIGHUP reopens the log
 * and statistics files, SIGTERM/SIGINT end the loop cleanly.  With --ctl,
 * commands on the control socket (refd_ctl.h) step or skew the virtual
 * clock and set server faults between two turns of the loop.
 */
#ifndef REFD_LOOP_H
#define REFD_LOOP_H

#include <stdbool.h>
#include <stddef.h>

#include "ntp_conf.h"
#include "ntp_host.h"
#include "refd_clock.h"
#include "refd_ctl.h"
#include "refd_files.h"
#include "refd_opts.h"
#include "refd_sock.h"

/* listeners, one client socket per family for requests from the NTP port,
 * and one per client association port (RFC 9109, core/ntp_host.h) */
#define REFD_SOCKS_MAX      (REFD_LISTEN_MAX + 2 + NTP_CONF_MAX_SERVERS)
#define REFD_DRIFT_INTERVAL 3600.0 /* s, ntpd writes the drift file hourly (stats_write) */
#define REFD_SPIN_MAX       64     /* immediate re-ticks before the loop forces a pause */

typedef struct refd_txq {
	int n;
	refd_tx tx[REFD_BATCH];
} refd_txq;

typedef struct refd_daemon {
	const refd_opts *opts;
	ntp_conf *conf;
	const ntp_keyring *keys; /* the `keys` file's keys (refd_keys_load); NULL: none */
	ntp_host *host;
	refd_clock clock;
	refd_log log;
	refd_stats stats;
	char driftfile[REFD_PATH_MAX]; /* empty: none */
	uint16_t port;                 /* serving port */
	refd_sock socks[REFD_SOCKS_MAX];
	refd_txq txq[REFD_SOCKS_MAX];
	refd_txts_ring txts[REFD_SOCKS_MAX]; /* requests awaiting a kernel transmit stamp */
	size_t n_listen;                     /* socks[0 .. n_listen) serve */
	size_t n_socks;
	ntp_actions acts;
	refd_rx rx[REFD_BATCH];
	unsigned sys_events; /* system events since start (ntpd's 4-bit count) */
	refd_ctl ctl;        /* --ctl socket (fd -1: none) */
	ntp_fault fault;     /* server fault in force (--fault, ctl `fault`) */
	ntp_time call_shift; /* ns: the host's clock minus ours until the STEP actions of
	                        the call being carried out are applied */
	unsigned long rx_count, tx_count, ticks;
	ntp_io_stats io;         /* for ntpq iostats / timerstats (the host reads them) */
	unsigned long tx_stamps; /* kernel transmit stamps reported to the host */
	int exit_status;         /* >= 0: the host asked to exit (panic) with this status */
	bool tx_stamps_off;      /* a socket could not have them (logged once) */
	const struct ntp_leap_table *leapfile; /* `leapfile`, read at start; NULL none
	                                          (the caller's, as conf) */
	struct refd_workers *workers;          /* --workers > 1: the server threads and the
	                                          core lock (refd_workers.h); NULL: none */
} refd_daemon;

/* Allocate a daemon for options and a resolved config (the daemon does not
 * own either).  NULL when out of memory. */
refd_daemon *refd_daemon_new(const refd_opts *o, ntp_conf *conf);
void refd_daemon_free(refd_daemon *d);

/* Bind the serving sockets: every --listen address, else 0.0.0.0 and ::
 * (IPv6 silently skipped where the kernel has none).  On "address in use"
 * err names the port and, where /proc tells, the process holding it.
 * Returns 0 or -1. */
int refd_daemon_bind(refd_daemon *d, char *err, size_t errsize);

/* Open the --ctl socket, if one was asked for.  Returns 0 or -1 with err. */
int refd_daemon_open_ctl(refd_daemon *d, char *err, size_t errsize);

/* Read the drift file, set up the clock driver, create the host, apply
 * --fault.  Returns 0 or -1 with err. */
int refd_daemon_start(refd_daemon *d, char *err, size_t errsize);

/* Run until SIGTERM/SIGINT.  Returns the exit status. */
int refd_daemon_run(refd_daemon *d);

/* Carry out every action of acts but the SENDs (clock, events, statistics,
 * exit, leap), as after any host call; under the core lock.  A worker
 * calls it for what the host asks besides its replies. */
void refd_daemon_apply_others(refd_daemon *d, const ntp_actions *acts, ntp_now now);

/* Write the drift file, log the peer table, close sockets and files. */
void refd_daemon_finish(refd_daemon *d);

/* The choice of socket for a datagram to `to` from local `from` (family 0:
 * any): a serving socket of the family bound to `from` or wildcard, one
 * that can reach `to`, else the client socket of the family (opened on
 * first use).  NULL if none can be opened. */
refd_sock *refd_daemon_sock_for(refd_daemon *d, const ntp_addr *to, const ntp_addr *from);

#endif
