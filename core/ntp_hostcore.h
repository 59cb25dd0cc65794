/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_hostcore: what the parts of the host share -- its state (struct
 * ntp_host) and the helpers every part uses: the action buffer, events and
 * their rate limits, names, statistics lines, and the views of the system
 * variables that the association and server procedures read.
 *
 * Private to core: the host (ntp_host.c: construction, calls, the poll and
 * receive processes), the system process (ntp_system.c: selection, clock
 * updates, orphan mode) and introspection (ntp_info.c) include it; it
 * includes none of them, so the split has no include circle.
 */
#ifndef NTP_HOSTCORE_H
#define NTP_HOSTCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp_disc.h"
#include "ntp_discipline.h"
#include "ntp_fault.h"
#include "ntp_host.h"
#include "ntp_nonce.h"
#include "ntp_proto.h"
#include "ntp_rand.h"
#include "ntp_restrict.h"
#include "ntp_server.h"

#define ORPHWAIT_DEF 300.0       /* s, ntpd NTP_ORPHWAIT */
#define ORPHAN_REFID 0x7f000001u /* 127.0.0.1, ntpd orphan refid (LOOPBACKADR) */
#define NEVER        NTP_TIME_NEVER

struct ntp_host {
	/* configuration, fixed at ntp_host_new */
	int8_t precision; /* log2 s */
	bool control_remote;
	bool auth_required; /* `enable auth` (default): ephemeral peers must authenticate */
	ntp_key *keys;      /* the key file's keys, trust applied (in the host's block) */
	size_t n_keys;
	uint32_t controlkey; /* `controlkey`: mode 6 writes and MAC'd mode 6 replies */
	int rx_auth;         /* enum ntp_auth of the datagram being handled (ntp_mac.h) */
	uint32_t rx_keyid;   /* the key id it names */
	double maxdist;      /* s, tos maxdist */
	double phi;          /* s/s, frequency tolerance (PHI; tinker dispersion) */
	int orphan;          /* tos orphan stratum; 16 = off */
	ntp_time orphanwait; /* ns */
	uint32_t stats;      /* NTP_STATS_* bits that are enabled */

	/* system variables (RFC 5905 §11, ntpd sys_*) */
	uint8_t leap;
	uint8_t stratum; /* 16 = unsynchronised */
	uint32_t refid;
	ntp_ts64 reftime;
	double rootdelay;   /* s */
	double rootdisp;    /* s */
	ntp_time t_update;  /* mono time of the last clock update (dispersion ages) */
	int sys_peer;       /* slot + 1, 0 = none */
	double offset;      /* s, combined offset of the last selection */
	double jitter;      /* s, system jitter of the last selection */
	ntp_time orphan_at; /* mono time orphan mode may begin; NEVER = not armed */
	bool orphan_active; /* (beside the other flags: no padding between) */
	bool exited;        /* panic: EXIT emitted, the host does nothing more */
	bool started;       /* restart events emitted */
	ntp_time t_start;   /* mono time of ntp_host_new: the first tick is due */
	unsigned steps;
	ntp_sys_stats sysstats; /* traffic and MAC counters (ntpq sysstats, authinfo) */
	const ntp_io_stats *io; /* the driver's, borrowed; NULL none */
	uint32_t local_refid;   /* refid of the local address we were last reached at */
	ntp_addr local;         /* that address (ntpq dstadr for IPv6 associations) */
	char no_peer_reason[NTP_REASON_MAX];

	/* the discipline (ntp_discipline.h): its ops, its system state and
	 * the state of each association slot (src_size bytes apiece), all in
	 * the host's block */
	const ntp_discipline *algo;
	void *algo_sys;
	char *algo_src;

	/* modules */
	ntp_server server;
	ntp_rand rnd;
	ntp_nonce nonce; /* client transmit timestamps (cryptographic) */
	ntp_fault fault;

	/* tables, inside the same allocation as the host */
	ntp_peer *peers;
	size_t n_peers; /* slots: configured + passive */
	size_t n_config;
	ntp_restrict_entry *res;
	size_t n_res;
	size_t alloc_size; /* bytes of the one allocation */

	/* rate limits of the host's own (assoc 0) flood-prone events, by kind */
	ntp_time ev_tat[4];
	uint32_t ev_suppressed[4];
	bool ev_limited[4];

	/* the call in progress */
	ntp_actions *out;
	ntp_now now; /* its clocks; a step within the call moves now.local */

	/* leap seconds (ntp_leapsys.c) */
	const struct ntp_leap_table *leapfile; /* borrowed from the params; NULL none */
	double leapsmear;                      /* s, `leapsmearinterval`; 0 = off */
	int64_t leap_vote_end;                 /* POSIX s of the month end leap_vote is for */
	ntp_time leap_at;                      /* local ns of the midnight it ends at */
	ntp_time leap_done;                    /* local ns of the last leap done; 0 none */
	ntp_time leap_mono;                    /* mono ns of the armed leap's jump in the
	                                          clock, as last seen before its last second */
	bool leapfile_told;                    /* the expiry event was emitted */
	int8_t leap_vote;                      /* the survivors' majority on the last day of
	                                          a month: +1, -1, 0 none */
	int8_t leap_armed;                     /* the leap handed to the clock: +1, -1, 0 */
};

/* The clocks the core accepts: +-2^62 ns (146 years) around their origin,
 * so that a time plus any interval the core adds (at most 2^31 s) cannot
 * overflow ntp_time (found by fuzz_host: a driver's clock at INT64_MIN). */
ntp_time host_clamp_now(ntp_time t);
ntp_now host_clamp_both(ntp_now n);

bool host_slot_used(const ntp_peer *p);
int host_assoc_id(const ntp_host *h, const ntp_peer *p);           /* 1.. */
char *host_remote_name(const ntp_peer *p, char *buf, size_t size); /* "LOCAL(0)", "192.0.2.1" */

/* A fresh action of this kind in the call's buffer; NULL outside a call
 * or when the buffer is full (counted as overflow). */
ntp_action *host_push(ntp_host *h, uint8_t kind);

/* Take back the SEND host_push just made (it could not be completed). */
void host_unpush_send(ntp_host *h);

/* An EVENT action, unless the event's rate limit holds it back (events a
 * flood of packets can cause: rejections, KoDs, refusals). */
void host_event(ntp_host *h, int code, int assoc, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* Say how many events a limit held back once it reopens; when that is due. */
void host_flush_gates(ntp_host *h);
ntp_time host_next_gate_flush(const ntp_host *h);

/* Note a peer event for the status word (4-bit count, last code). */
void host_peer_event(ntp_peer *p, int code);
void host_reachable(ntp_host *h, ntp_peer *p);

/* A SEND action with pkt encoded; from may be NULL (any address, NTP port).
 * Returns the action (NULL when none was added). */
ntp_action *host_send_packet(ntp_host *h, const ntp_addr *to, const ntp_addr *from,
                             const ntp_pkt *pkt, bool patch_xmt);
void host_stats_line(ntp_host *h, uint32_t file, const char *line);
unsigned host_peer_status_word(const ntp_peer *p);
void host_peerstats(ntp_host *h, const ntp_peer *p, const ntp_estimate *e);

/* The discipline's state of association p (in the host's block). */
void *host_src(const ntp_host *h, const ntp_peer *p);

/* What association p's procedures and the server read of the system. */
/* The distance and fit-test parameters: tos maxdist, MINDIST, PHI. */
ntp_fit_params host_fit(const ntp_host *h);
ntp_proto_sys host_proto_sys(const ntp_host *h, const ntp_peer *p);
ntp_server_sys host_server_sys(const ntp_host *h);
void host_set_unsynchronised(ntp_host *h, const char *refid);

#endif
