/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_host: one NTP entity (system variables, associations, clock filter,
 * selection, discipline, restrict list, server), driven from outside.
 *
 * Sans-I/O, in the manner of quicly and BearSSL: the caller passes each
 * datagram in with its receive time, calls ntp_host_tick() when its
 * monotonic clock reaches ntp_host_next(), and carries out the typed
 * actions that come back: SEND bytes, STEP or ADJUST its clock, log an
 * EVENT, append a STATS line, EXIT.  The host never reads a clock, touches
 * a socket, sleeps or keeps globals.  ntpsim and refd drive exactly this
 * API.
 *
 * Time: every entry point takes both of the caller's clocks (ntp_time.h
 * ntp_now): `mono`, a monotonic clock that nothing steps, drives every
 * timer and age (poll, reach, stepout, rate limits, `when`); `local`, the
 * clock this host disciplines (ns since 1970 as the host believes it),
 * gives packet timestamps and offsets.  This is ntpd's split between its
 * `current_time` counter and the system clock: when the local clock jumps
 * -- by our own STEP, an administrator's `date -s`, a VM resumed an hour
 * later -- the host keeps polling at its poll interval and sees the jump
 * as an offset at its next update.
 */
#ifndef NTP_HOST_H
#define NTP_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp_addr.h"
#include "ntp_clock.h"
#include "ntp_conf.h"
#include "ntp_info.h"
#include "ntp_keys.h"
#include "ntp_pkt.h"
#include "ntp_time.h"

#define NTP_SEND_MAX    512 /* bytes of one SEND action (ours; mode 6 replies fit) */
#define NTP_ACTIONS_MAX 160 /* actions one call can emit (>= 2 per association) */

/* Event codes: ntpd's system and peer event names where they exist
 * (ntpq's "rv" and "as" show them), plus ntplab's own. */
enum ntp_event_code {
	NTP_EV_RESTART = 1,   /* host started */
	NTP_EV_FREQ_NOT_SET,  /* no drift file value */
	NTP_EV_FREQ_SET,      /* frequency from the drift file */
	NTP_EV_SPIKE_DETECT,  /* discipline: offset over step threshold, waiting stepout */
	NTP_EV_FREQ_MODE,     /* discipline: measuring frequency (FREQ state) */
	NTP_EV_CLOCK_SYNC,    /* discipline: in SYNC state */
	NTP_EV_PANIC_STOP,    /* offset over the panic threshold: the host gives up (EXIT) */
	NTP_EV_NO_SYS_PEER,   /* selection found no survivor; reason says why */
	NTP_EV_CLOCK_STEP,    /* clock stepped; reason says by how much */
	NTP_EV_SYS_PEER,      /* association became the system peer */
	NTP_EV_REACHABLE,     /* association became reachable */
	NTP_EV_UNREACHABLE,   /* association became unreachable */
	NTP_EV_KOD,           /* valid kiss-o'-death received: reason has the code */
	NTP_EV_RATE_EXCEEDED, /* we sent a KoD RATE or dropped a client over `discard` */
	NTP_EV_ACCESS_DENIED, /* a request was refused by `restrict` */
	NTP_EV_PKT_REJECTED,  /* a received packet failed a test: reason names it */
	NTP_EV_POPCORN,       /* clock filter popcorn spike suppressed */
	NTP_EV_ORPHAN,        /* orphan mode entered/left */
	NTP_EV_DEMOBILIZE,    /* association stopped (DENY/RSTR KoD) */
	NTP_EV_LEAP_ARMED,    /* a leap second is armed for the end of the day (NTPsec name) */
	NTP_EV_LEAP_DISARMED, /* an armed leap second was called off (NTPsec name) */
	NTP_EV_LEAP_EVENT,    /* the clock inserted or deleted the leap second (NTPsec name) */
	NTP_EV_LEAPFILE,      /* leapfile news: "leapsecond file ('F'): expired N days ago" */
};

enum ntp_action_kind {
	NTP_ACT_SEND = 1, /* send bytes to an address */
	NTP_ACT_STEP,     /* step the clock by offset */
	NTP_ACT_ADJUST,   /* adjust the clock: slew, frequency (u.adjust, ntp_clock_adj) */
	NTP_ACT_EVENT,    /* something to log */
	NTP_ACT_STATS,    /* a line for peerstats/loopstats in ntpd's format */
	NTP_ACT_EXIT,     /* the host gave up (panic: "set clock manually"): ntpd
	                     exits with u.exit.status; the host does nothing more */
	NTP_ACT_LEAP,     /* arm (or disarm) a leap second in the clock: u.leap, applied
	                     with ntp_clock_leap (what ntpd does with STA_INS/STA_DEL) */
};

typedef struct ntp_action {
	uint8_t kind; /* enum ntp_action_kind */
	union {
		struct {
			ntp_addr to;
			ntp_addr from; /* local address to send from (family 0: any); its
			                  port: 0 = the host's NTP port, else this port (a
			                  client association's own, RFC 9109) */
			size_t len;
			bool patch_xmt; /* caller may rewrite bytes 40..47 with a later
			                   transmit timestamp (server replies without MAC) */
			uint8_t buf[NTP_SEND_MAX];
		} send;
		struct {
			double offset; /* s; add to the clock (positive = forward) */
		} step;
		/* The discipline's output: core/ntp_clock applies it
		 * (ntp_clock_apply), as ntpsim's clocks and refd's virtual
		 * clock do. */
		ntp_clock_adj adjust;
		struct {
			uint16_t code; /* enum ntp_event_code */
			int assoc;     /* association id, 0 = system */
			char reason[NTP_REASON_MAX];
		} event;
		struct {
			uint32_t file;  /* NTP_STATS_LOOPSTATS or NTP_STATS_PEERSTATS */
			char line[192]; /* without newline */
		} stats;
		struct {
			int status; /* process exit status ntpd uses (1) */
			char reason[NTP_REASON_MAX];
		} exit;
		struct {
			int8_t step; /* +1 insert, -1 delete, 0 disarm */
			ntp_time at; /* local reading (ns) of the midnight ending the leap's day */
		} leap;
	} u;
} ntp_action;

/* Caller-owned action buffer.  Reset n to 0 before each call (or call
 * ntp_actions_clear).  overflow counts actions that did not fit (a bug:
 * NTP_ACTIONS_MAX bounds what one call can produce). */
typedef struct ntp_actions {
	size_t n;
	unsigned overflow;
	ntp_action v[NTP_ACTIONS_MAX];
} ntp_actions;

static inline void
ntp_actions_clear(ntp_actions *a)
{
	a->n = 0;
	a->overflow = 0;
}

#define NTP_HOST_NONCE_KEY_BYTES 32 /* = ntp_nonce.h NTP_NONCE_KEY_BYTES */

typedef struct ntp_host_params {
	uint64_t seed; /* poll jitter and the start-up spread (ntp_rand) */
	/* Entropy for what an attacker must not guess (client transmit
	 * timestamps, source ports): refd reads it from getrandom(2), ntpsim
	 * derives it from the scenario seed.  All zero is refused. */
	uint8_t nonce_key[NTP_HOST_NONCE_KEY_BYTES];
	int8_t precision;          /* log2 s of one clock reading, e.g. -20 */
	bool have_drift;           /* drift file value present */
	double drift_ppm;          /* frequency from the drift file (ppm) */
	bool allow_big_first_step; /* like ntpd -g: the first step may exceed panic */
	bool control_remote;       /* answer mode 6 from non-loopback addresses */
	ntp_now now;               /* both clocks at start */
	/* The parsed `leapfile` (core/ntp_leap.h), NULL = none.  Borrowed: the
	 * caller keeps it alive and unchanged as long as the host. */
	const struct ntp_leap_table *leapfile;
	/* The key file `keys` names (core/ntp_keys: the caller reads and
	 * parses it); NULL = none.  Copied; `trustedkey` marks the usable
	 * ones.  Every `key N` of an association must be a trusted key. */
	const ntp_keyring *keys;
	/* The driver's I/O counters for ntpq iostats (refd); NULL = none.
	 * Borrowed: the caller keeps them alive and updates them in place. */
	const ntp_io_stats *io;
} ntp_host_params;

/* Create a host from a parsed config.  Every NTP_CONF_SERVER/PEER entry must
 * have a resolved addr (family != 0); POOL entries are ignored (the caller
 * expands them into SERVER entries).  Returns NULL and a reason in err on
 * failure. */
ntp_host *ntp_host_new(const ntp_conf *conf, const ntp_host_params *p, char *err, size_t errsize);
void ntp_host_free(ntp_host *h);

/* A datagram arrived from `from` to local address `to` at t_recv: its
 * local clock reading as early as possible (ideally a kernel timestamp),
 * and the monotonic clock then (read when the datagram is handled is good
 * enough: it only ages things). */
void ntp_host_recv(ntp_host *h, const ntp_addr *from, const ntp_addr *to, const uint8_t *buf,
                   size_t len, ntp_now t_recv, ntp_actions *out);

/* Run the timers that are due at now.mono. */
void ntp_host_tick(ntp_host *h, ntp_now now, ntp_actions *out);

/* Monotonic time of the next timer (NTP_TIME_NEVER: none); call
 * ntp_host_tick when the monotonic clock reaches it.  A new host is due at
 * once (start-up: events, the drift file's frequency). */
ntp_time ntp_host_next(const ntp_host *h);

struct ntp_fault;

/* Make this host's server part misbehave (core/ntp_fault.h): every reply
 * it sends gets the fault applied.  NULL (or kinds 0) restores normal
 * behaviour.  The fault is copied. */
void ntp_host_set_fault(ntp_host *h, const struct ntp_fault *f);

/* Bytes ntp_host_new allocated for h (one block: host, association slots,
 * restrict list, and the rate-limit table, sized by `mru`, when `limited`
 * is configured or mode 6 is answered to remote sources). */
size_t ntp_host_mem_size(const ntp_host *h);

/* The send time of a request (refd reads its clock just before sendmmsg) */

#define NTP_HOST_SENT_LATE_MAX                                                                     \
	0.1 /* s, latest report after the build time taken (ours:                                  \
	       far beyond a send path, below RFC 5905 STEPT) */

/* The driver reports that the datagram of a SEND action -- its destination
 * `to` and its bytes, as the action had them -- left at local time `when`.
 * If it is one of this host's client or symmetric requests still
 * outstanding, that association's T1 becomes `when` (RFC 5905 §8 wants T1
 * when the request leaves; ntpd reads the clock just before sending,
 * chrony corrects its TX timestamp after sending), so the time between the
 * call that built the request and the system call no longer biases offset
 * and delay.  The key is the destination and the transmit timestamp in the
 * bytes (the origin the reply must echo), so a driver may copy or batch
 * datagrams before it sends them.
 *
 * Ignored: server replies, mode 6, requests already answered or replaced by
 * a newer poll, and reports before the build time or more than
 * NTP_HOST_SENT_LATE_MAX after it (a reading of another clock).  `when` is
 * on the local clock as it stands after the call that built the request: a
 * driver that sends before carrying out that call's STEP actions adds
 * their offsets.  A driver that sends at the call's `now` (ntpsim) need not
 * call this. */
void ntp_host_sent(ntp_host *h, const ntp_addr *to, const uint8_t *buf, size_t len, ntp_time when);

/* The driver could not send a client request from the port its SEND
 * action asked for (action.u.send.from.port: a random port per association,
 * RFC 9109) and sent it from `port` instead (e.g. the bind failed): the
 * association then expects its replies there.  Same key as ntp_host_sent;
 * anything else is ignored. */
void ntp_host_sent_port(ntp_host *h, const ntp_addr *to, const uint8_t *buf, size_t len,
                        uint16_t port);

/* Does one of the host's client associations send from (and so expect
 * replies on) UDP port `port`?  A driver delivers datagrams for these ports
 * to the host as well as those for its NTP port (ntpsim; refd has a socket
 * per port). */
bool ntp_host_uses_port(const ntp_host *h, uint16_t port);

/* Has the host given up (an EXIT action was emitted)?  It then ignores
 * every call and has no next timer. */
bool ntp_host_exited(const ntp_host *h);

#endif
