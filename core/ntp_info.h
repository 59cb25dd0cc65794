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
} ntp_sys_info;

void ntp_host_sys(const ntp_host *h, ntp_sys_info *out);

/* The same without the words (discipline and no_sys_peer_reason are ""),
 * for a caller that reads the numbers after every call (issue 17 §1). */
void ntp_host_sys_brief(const ntp_host *h, ntp_sys_info *out);

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
