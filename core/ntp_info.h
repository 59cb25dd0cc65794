/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_info: what a host shows of itself -- ntpq -p and rv, the mode 6
 * variables, the simulator's report and refd's status -- as plain structs
 * filled from snapshots, and the peer table in ntpq's layout.
 */
#ifndef NTP_INFO_H
#define NTP_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp_addr.h"
#include "ntp_const.h"
#include "ntp_pkt.h"
#include "ntp_time.h"

typedef struct ntp_host ntp_host;

#define NTP_REASON_MAX 128 /* bytes of a reason text, with its NUL (ours) */

typedef struct ntp_peer_info {
	int assoc; /* association id (1..) */
	ntp_addr addr;
	char remote[48]; /* "192.168.163.131", "LOCAL(0)" */
	char refid[16];  /* ".INIT.", ".LOCL.", "192.168.163.131" */
	uint8_t stratum;
	char type;                          /* 'u' unicast, 'l' local, 's' symmetric, 'p' pool */
	double when;                        /* s since last valid packet (monotonic); < 0: never */
	int8_t poll;                        /* log2 s */
	uint8_t reach;                      /* 8-bit shift register */
	double delay, offset, jitter, disp; /* s */
	char tally;                         /* ' ' 'x' '.' '-' '+' '#' '*' 'o' (ntpq -p) */
	char reason[NTP_REASON_MAX];        /* why this tally / why rejected */
	uint8_t leap;
	bool prefer;
	unsigned sent, received, rejected;
	/* ntpq pstats: TEST5 failures, bogus origins (TEST2), duplicates
	 * (TEST1), kiss-o'-death packets acted on */
	uint32_t badauth, bogusorg, oldpkt, kod;
	double reach_for;    /* s since reach last rose from 0; < 0: never */
	double next_in;      /* s until the next poll; < 0: none due */
	ntp_addr local;      /* our address on this path (ntpq dstadr); family NONE: unknown */
	uint16_t local_port; /* the association's own client port; 0: the NTP port */
	/* its last packet's header (ntpq rv ASSOC) */
	int8_t precision;           /* log2 s */
	uint8_t unreach;            /* polls since last heard */
	uint16_t keyid;             /* `key N`; 0 none */
	double rootdelay, rootdisp; /* s */
	ntp_ts64 reftime, xmt;
	double headway;  /* s of client headway left (ntpd peer->throttle); 0: none */
	uint16_t flash;  /* TEST bits of the last packet (ntp_proto.h enum ntp_flash) */
	uint16_t status; /* ntpd peer status word: what ntpq and peerstats both show */
	/* The clock filter's register, newest sample first (ntpq's filtdelay,
	 * filtoffset, filtdisp); an empty stage has delay 0 and disp 16 s. */
	double filt_delay[NTP_NSTAGE], filt_offset[NTP_NSTAGE];
	double filt_disp[NTP_NSTAGE]; /* s */
} ntp_peer_info;

/* Every association as of monotonic time mono. */
size_t ntp_host_peers(const ntp_host *h, ntp_time mono, ntp_peer_info *out, size_t max);

/* The same without words or estimates, for a caller on a hot path that
 * reads a byte or two (tally, reach): assoc, addr, stratum, type, poll,
 * reach, tally, leap, prefer, the counters, flash and status are filled;
 * remote, refid and reason are "", when, the estimate and the register 0
 * (issue 17 §1: no formatting of every peer to read one byte). */
size_t ntp_host_peers_brief(const ntp_host *h, ntp_peer_info *out, size_t max);
/* The host's own traffic counters (ntpd's sys_stat / stat_* and auth
 * counters, ntpq sysstats, iostats, authinfo).  Plain integers bumped where
 * the event happens; never reset, so "since reset" is "since start".  32
 * bits, as ntpd's on a 32-bit system (they wrap): ntpsim's per-host budget
 * is 4 KiB. */
typedef struct ntp_sys_stats {
	uint32_t received; /* datagrams handed to the host */
	uint32_t ignored;  /* of which dropped by `restrict ignore` */
	uint32_t thisver;  /* decoded time packets of NTPv4 */
	uint32_t oldver;   /* ... of NTPv1..3 */
	uint32_t ver1;     /* ... of NTPv1, by mode: */
	uint32_t ver1client, ver1zero, ver1symm;
	uint32_t badformat; /* malformed datagrams */
	uint32_t declined;  /* well-formed, but nothing here takes them (bogus source,
	                       no association, crypto-NAK request) */
	uint32_t badauth;   /* time packets whose MAC did not verify (TEST5 path) */
	uint32_t processed; /* time packets served or taken by an association */
	uint32_t ctlreq;    /* mode 6 requests answered */
	uint32_t sent;      /* datagrams the host asked to send */
	/* MACs (ntpd authkeylookups ... authcmacfails): a lookup per MAC
	 * seen, a decrypt per check with a known key, an encrypt per MAC made */
	uint32_t auth_lookups, auth_notfound;
	uint32_t auth_digest_encrypts, auth_cmac_encrypts;
	uint32_t auth_digest_decrypts, auth_cmac_decrypts;
	uint32_t auth_digest_fails, auth_cmac_fails;
} ntp_sys_stats;

/* The driver's own I/O counters (refd's socket loop), borrowed by the host
 * through ntp_host_params.io for ntpq iostats.  A driver without sockets
 * (ntpsim) passes none and those variables are not served. */
typedef struct ntp_io_stats {
	uint64_t rx_buffers;     /* datagrams one receive batch holds */
	uint64_t send_failed;    /* datagrams the kernel refused */
	uint64_t wakeups;        /* returns from the poll(2) wait */
	uint64_t good_wakeups;   /* of which with a datagram to read */
	uint64_t timer_overruns; /* timer runs more than 1 s late (ntpd timer_overruns) */
} ntp_io_stats;

/* The kernel's NTP variables as the discipline's kernel model has them
 * (ntp_disc_info.kernel); the state Linux boots with when the discipline
 * has no kernel model (it never calls ntp_adjtime). */
typedef struct ntp_kern_info {
	double offset_s, maxerror_s, esterror_s, precision_s; /* s */
	double freq_ppm, tolerance_ppm;                       /* ppm */
	int status;                                           /* NTP_KERNEL_STA_* */
	int constant;                                         /* log2 */
} ntp_kern_info;

/* The rate-limit table as ntpq monstats shows it (ntpd mon_data). */
typedef struct ntp_mru_info {
	int enabled; /* ntpd MON_ON (1) when the table exists, else 0 */
	size_t entries, deepest, cap, mindepth, hashslots; /* entries, buckets */
	size_t mem_kib, maxmem_kib;                        /* KiB */
	int maxage, minage;                                /* s */
	unsigned exists, fresh, recycle_old, recycle_full, none;
	double oldest_age; /* s since the oldest entry's latest request; 0 empty */
} ntp_mru_info;

typedef struct ntp_sys_info {
	uint8_t leap;
	uint8_t stratum;
	int8_t precision;
	int8_t poll;                /* log2 s, system poll interval */
	double rootdelay, rootdisp; /* s */
	uint32_t refid;
	ntp_ts64 reftime;
	int sys_peer;                              /* assoc id, 0 = none */
	double offset;                             /* s, last offset the discipline saw */
	double freq_ppm;                           /* ppm, frequency correction */
	bool freq_trusted;                         /* the discipline would keep freq in a
	                                              drift file (measured, not a guess) */
	double sys_jitter, clk_jitter, clk_wander; /* s, s, ppm */
	int disc_state;                            /* enum ntp_disc_state (every discipline
	                                              reports in ntpd's clock states) */
	char discipline[24];                       /* its name: "ntpd-kernel" */
	unsigned steps;
	char no_sys_peer_reason[NTP_REASON_MAX];
	/* server side */
	unsigned served, kod_sent, dropped_restrict, dropped_rate, dropped_bad;
	size_t mru_entries, mru_depth; /* rate-limit table: sources in it, its size (`mru`) */
	unsigned mru_none;             /* new sources it had no slot for (not rate limited) */
	/* ntpq sysinfo, sysstats, iostats, monstats, kerninfo, authinfo */
	double uptime;      /* s since the host started (mono) */
	int peer_mode;      /* host mode of the system peer (RFC 5905 §3), 0 none */
	ntp_addr peer_addr; /* its address and port; family 0 none */
	double rootdist;    /* s, root distance of the system peer, 0 none */
	ntp_sys_stats stats;
	uint32_t auth_encrypts, auth_decrypts; /* digest + CMAC */
	uint32_t xmits;                        /* requests the associations sent */
	bool have_io;                          /* io is the driver's (refd) */
	ntp_io_stats io;
	ntp_kern_info kern;
	ntp_mru_info mru; /* ntp_host_mru_info fills it; ntp_host_sys does not */
	size_t auth_keys; /* keys loaded */
} ntp_sys_info;

/* Leaves out mru (below): its hash slot count walks every bucket. */
void ntp_host_sys(const ntp_host *h, ntp_sys_info *out);

/* The system variables a driver watches after every call (ntpsim's checks,
 * traces and reports): a few numbers, read without copying the rest. */
typedef struct ntp_sys_vars {
	uint8_t leap;
	uint8_t stratum;
	int8_t poll; /* log2 s */
	uint32_t refid;
	int sys_peer;               /* assoc id, 0 = none */
	int disc_state;             /* enum ntp_disc_state */
	double rootdelay, rootdisp; /* s */
	double offset;              /* s, last offset the discipline saw */
	double freq_ppm;            /* ppm */
} ntp_sys_vars;

void ntp_host_sys_vars(const ntp_host *h, ntp_sys_vars *out);

/* The same without the words (discipline and no_sys_peer_reason are "")
 * and without kern (the kernel model is read only for ntpq kerninfo), for a
 * caller that reads the numbers after every call (issue 17 §1). */
void ntp_host_sys_brief(const ntp_host *h, ntp_sys_info *out);
/* The rate-limit table for ntpq monstats (ntpd mon_data), as of the host's
 * last call.  O(hash buckets): for mode 6 answers, not every event. */
void ntp_host_mru_info(const ntp_host *h, ntp_mru_info *out);

/* The peer table in ntpq -p layout (header, rule, one line per association),
 * NUL-terminated; returns the length written (truncated to size - 1). */
size_t ntp_host_peer_table(const ntp_host *h, ntp_time mono, char *buf, size_t size);

/* Name of an event code ("clock_step", "sys_peer", ...). */
const char *ntp_event_name(int code);

/* Per-association protocol counters and state, for tests and reports. */
typedef struct ntp_peer_counters {
	unsigned sent, received, rejected;
	unsigned duplicate;             /* TEST1 */
	unsigned bogus;                 /* TEST2 (origin mismatch / nothing outstanding) */
	unsigned kod;                   /* valid kiss-o'-death packets acted on */
	unsigned kod_spoofed;           /* KoDs with a wrong origin, ignored */
	uint16_t flash;                 /* TEST bits (ntpd flash) of the last packet + fit tests */
	uint16_t status;                /* ntpd peer status word (as in peerstats) */
	int8_t minpoll, maxpoll, hpoll; /* log2 s; minpoll rises with KoD RATE */
	uint8_t burst;                  /* packets left in the current burst */
	bool demobilized;               /* stopped by KoD DENY/RSTR */
	ntp_time next;                  /* mono time of its next poll (NTP_TIME_NEVER: never) */
} ntp_peer_counters;

/* Counters of association `assoc` (1..); false if there is none. */
bool ntp_host_peer_counters(const ntp_host *h, int assoc, ntp_peer_counters *out);

#endif
