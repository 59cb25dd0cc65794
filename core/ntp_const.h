/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_const: the protocol's constants, one home each.
 *
 * RFC 5905 Appendix A.1.1's parameters as NTPsec ntpd uses them, and the
 * codes of ntpd's mode-6 status words (RFC 9327 §2.2-2.3, ntpd
 * ntp_control.h) that the association code, ntpq's view and peerstats all
 * write.  A module that needs one of these includes this header; it does not
 * define its own copy.  Tunable defaults (ntp.conf's `tinker`, `tos`) keep
 * their own names in the module that owns them, defined from these.
 */
#ifndef NTP_CONST_H
#define NTP_CONST_H

/* ---- RFC 5905 App. A.1.1 ---- */

#define NTP_VERSION_CUR    4     /* RFC 5905 §7.3 VERSION */
#define NTP_STRATUM_UNSPEC 16    /* RFC 5905 MAXSTRAT: unsynchronised */
#define NTP_MAXDISPERSE    16.0  /* s, RFC 5905 MAXDISP, ntpd MAXDISPERSE */
#define NTP_PHI            15e-6 /* s/s, frequency tolerance, RFC 5905 PHI */
#define NTP_NSTAGE         8     /* clock filter stages, RFC 5905 NSTAGE, ntpd NTP_SHIFT */
/* ntpd's name for NSTAGE, which it also uses as its headway and rate-limit scale. */
#define NTP_SHIFT   NTP_NSTAGE
#define NTP_STEPT   0.128  /* s, step threshold, RFC 5905 STEPT, ntpd CLOCK_MAX */
#define NTP_PANICT  1000.0 /* s, panic threshold, RFC 5905 PANICT, ntpd CLOCK_PANIC */
#define NTP_MAXFREQ 500e-6 /* s/s, frequency clamp, ntpd NTP_MAXFREQ (RFC 5905 §A.5.5.1) */
#define NTP_STEPOUT 300.0  /* s, stepout, NTPsec CLOCK_MINSTEP (RFC 5905 WATCH is 900) */
#define NTP_MINDIST 0.001  /* s, ntpd MINDISTANCE (tos mindist default; RFC 5905 MINDISP .005) */

/* The poll range.  NTPsec lets `minpoll` go down to 0 (1 s); ntp classic
 * and RFC 5905's MINPOLL stop at 4 (16 s), and ntplab follows NTPsec, whose
 * loop it reproduces.  Below 0 are the sub-second polls of the disciplines
 * that ask for them (chrony's floor, 1/128 s); the discipline check refuses
 * them for ntpd's loops. */
#define NTP_MINPOLL    0    /* log2 s, NTPsec NTP_MINPOLL (1 s) */
#define NTP_POLL_FLOOR (-7) /* log2 s, chrony's floor (1/128 s), sub-second disciplines only */
#define NTP_MAXPOLL    17   /* log2 s (36 h), RFC 5905 MAXPOLL, ntpd NTP_MAXPOLL */
#define NTP_MINDPOLL   6    /* log2 s (64 s), ntpd NTP_MINDPOLL: `minpoll` default */
#define NTP_MAXDPOLL   10   /* log2 s (1024 s), ntpd NTP_MAXDPOLL: `maxpoll` default */

/* ---- the LOCAL(u) reference clock ---- */

#define NTP_LOCAL_NET  0x7f7f0100u /* 127.127.1.0: the LOCAL(u) driver's address and refid */
#define NTP_LOCAL_MASK 0xffffff00u /* its unit u is the last byte */

/* ---- ntpd's peer status word (RFC 9327 §2.3, ntpd ctlpeerstatus) ---- */

#define NTP_CTL_PST_CONFIG 0x80 /* high byte: configured association */
#define NTP_CTL_PST_REACH  0x10 /* high byte: reachable */

/* Peer event codes, the low nibble (ntpd ntp_control.h PEVNT_*). */
enum ntp_ctl_peer_event {
	NTP_PEVNT_MOBIL = 1,
	NTP_PEVNT_DEMOBIL = 2,
	NTP_PEVNT_UNREACH = 3,
	NTP_PEVNT_REACH = 4,
	NTP_PEVNT_RESTART = 5,
	NTP_PEVNT_RATE = 7,
	NTP_PEVNT_DENY = 8,
	NTP_PEVNT_NEWPEER = 10,
	NTP_PEVNT_POPCORN = 13,
};

/* ---- ntpd's system status word (RFC 9327 §2.1, ntpd CTL_SST_TS_*, EVNT_*) ---- */

#define NTP_CTL_SST_UNSPEC 0 /* clock source: no system peer */
#define NTP_CTL_SST_LOCAL  5 /* clock source: a local clock */
#define NTP_CTL_SST_NTP    6 /* clock source: an NTP server */

/* System event codes, the low nibble (ntpd ntp_control.h EVNT_*). */
enum ntp_ctl_sys_event {
	NTP_EVNT_FSET = 2,    /* freq_set */
	NTP_EVNT_SPIK = 3,    /* spike_detect */
	NTP_EVNT_FREQ = 4,    /* freq_mode */
	NTP_EVNT_SYNC = 5,    /* clock_sync */
	NTP_EVNT_RESTART = 6, /* restart */
	NTP_EVNT_NOPEER = 8,  /* no_sys_peer */
};

#endif
