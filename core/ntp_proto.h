/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_proto: the per-association on-wire protocol (RFC 5905 §8, §13 and
 * App. A.5.1 receive()/packet(), A.5.7 poll()/poll_update(), as ntpd 4.2.x
 * does them): the packet tests with ntpd's flash bits, the origin /
 * duplicate checks, the reach register, poll timers with jitter, burst and
 * iburst, unreachable backoff, kiss-o'-death, and the raw offset/delay
 * sample (ntp_discipline.h ntp_sample) that the host hands to its
 * discipline.
 *
 * One ntp_peer is one association: a client (`server`), a symmetric active
 * (`peer`) or passive (mobilised by a mode 1 packet) association, or the
 * LOCAL(u) pseudo-source (ntpd's driver 1), which produces a zero sample on
 * every poll.  The host owns the table of them and does the dispatching,
 * selection and discipline; these functions never allocate, never read a
 * clock and touch nothing but the association they are given.
 *
 * Security choices (field-failures.md, CVE-2015-8138, CVE-2016-9042,
 * CVE-2015-7704):
 *  - A client request carries a random 64-bit transmit timestamp drawn from
 *    the host's ntp_nonce, a cryptographic generator (chrony/ntpdig-style
 *    data minimisation: every other field is zero except version, mode and
 *    poll); the real T1 is kept locally.  An off-path attacker cannot guess
 *    the origin to echo, even after seeing earlier ones.
 *  - A zero origin never matches; a packet failing any test changes no state
 *    of a client association (not even the expected origin).  Symmetric
 *    associations are the one exception RFC 5905 App. A.5.1 requires: a
 *    non-duplicate packet updates the timestamps we echo back (the peer's
 *    transmit time and our receive time), otherwise crossing packets would
 *    lock both peers out forever.  Symmetric packets carry real timestamps,
 *    since the peer computes its own sample from them.
 *  - A KoD is believed only when its origin matches the request it answers;
 *    one that does not is ignored and counted as spoofed.
 */
#ifndef NTP_PROTO_H
#define NTP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp_addr.h"
#include "ntp_const.h"
#include "ntp_discipline.h"
#include "ntp_pkt.h"
#include "ntp_rand.h"
#include "ntp_time.h"

struct ntp_nonce; /* ntp_nonce.h */

/* Flash bits: ntpd 4.2.8 ntp.h TEST1..TEST13 (ntpq shows them as
 * pkt_dup, pkt_bogus, pkt_unsync, pkt_denied, pkt_auth, pkt_stratum,
 * pkt_header, pkt_autokey, pkt_crypto, peer_stratum, peer_dist, peer_loop,
 * peer_unreach).  TEST1-9 are packet tests, TEST10-13 the fit tests the
 * host applies before selection. */
enum ntp_flash {
	NTP_TEST1 = 0x0001,  /* duplicate packet */
	NTP_TEST2 = 0x0002,  /* bogus: origin does not match our request */
	NTP_TEST3 = 0x0004,  /* invalid: zero origin/receive/transmit timestamp */
	NTP_TEST4 = 0x0008,  /* access denied (restrict) */
	NTP_TEST5 = 0x0010,  /* authentication: MAC missing, bad, unknown or untrusted key */
	NTP_TEST6 = 0x0020,  /* server unsynchronised: leap 3, stratum, reftime */
	NTP_TEST7 = 0x0040,  /* header: rootdelay/2 + rootdisp >= MAXDISPERSE */
	NTP_TEST8 = 0x0080,  /* autokey (n/a) */
	NTP_TEST9 = 0x0100,  /* crypto (n/a) */
	NTP_TEST10 = 0x0200, /* fit: peer unsynchronised or stratum >= 16 */
	NTP_TEST11 = 0x0400, /* fit: root distance over tos maxdist */
	NTP_TEST12 = 0x0800, /* fit: synchronisation loop (its refid is us) */
	NTP_TEST13 = 0x1000, /* fit: unreachable or noselect */
};
#define NTP_PKT_TEST_MASK  0x01ff /* TEST1-9 */
#define NTP_PEER_TEST_MASK 0x1e00 /* TEST10-13 */

#define NTP_BURST_COUNT      8    /* packets in a `burst`, RFC 5905 BCOUNT, ntpd NTP_SHIFT */
#define NTP_IBURST_COUNT     6    /* packets in an `iburst`, ntpd/NTPsec NTP_IBURST */
#define NTP_BURST_SPACING    2    /* s between burst packets, RFC 5905 BTIME, ntpd ntp_minpkt */
#define NTP_UNREACH          10   /* polls without reply before backoff, ntpd NTP_UNREACH */
#define NTP_LOCAL_DISPERSION 0.01 /* s, LOCAL(u) root dispersion, ntpd DISPERSION */

enum ntp_peer_kind {
	NTP_PEER_CLIENT = 0,  /* `server`: we send mode 3 */
	NTP_PEER_ACTIVE = 1,  /* `peer`: we send mode 1 */
	NTP_PEER_PASSIVE = 2, /* mobilised by a mode 1 packet: we send mode 2 */
	NTP_PEER_LOCAL = 3,   /* LOCAL(u) pseudo-source (127.127.1.u) */
};

enum ntp_peer_flag {
	NTP_PEER_F_PREFER = 1u << 0,
	NTP_PEER_F_IBURST = 1u << 1,
	NTP_PEER_F_BURST = 1u << 2,
	NTP_PEER_F_NOSELECT = 1u << 3,
	NTP_PEER_F_TRUE = 1u << 4,
	NTP_PEER_F_CONFIG = 1u << 5,      /* from the config (not ephemeral) */
	NTP_PEER_F_DEMOBILIZED = 1u << 6, /* DENY/RSTR: never sends again */
};

/* Why the last packet was rejected or acted on: a short code and up to two
 * numbers, formatted on demand (ntp_proto_why_format) to keep an
 * association small. */
enum ntp_why {
	NTP_WHY_NONE = 0,
	NTP_WHY_ZERO_XMT,      /* TEST3 */
	NTP_WHY_DUPLICATE,     /* TEST1 */
	NTP_WHY_ZERO_ORG,      /* TEST3 */
	NTP_WHY_NO_REQUEST,    /* TEST2: nothing outstanding */
	NTP_WHY_BOGUS_ORG,     /* TEST2: a, b = the received origin's high, low 32 bits */
	NTP_WHY_ZERO_REC,      /* TEST3 */
	NTP_WHY_UNSYNC_LEAP,   /* TEST6 */
	NTP_WHY_STRATUM,       /* TEST6: a = stratum */
	NTP_WHY_REFTIME_AHEAD, /* TEST6: a = reftime - xmt (s) */
	NTP_WHY_HEADER,        /* TEST7: a = rootdelay/2 + rootdisp (s) */
	NTP_WHY_KOD_SPOOFED,   /* KoD with wrong/zero origin: a = kiss code */
	NTP_WHY_KOD_RATE,      /* a = new minpoll */
	NTP_WHY_KOD_DENY,      /* a = kiss code (DENY/RSTR) */
	NTP_WHY_KOD_OTHER,     /* a = kiss code */
	NTP_WHY_BAD_MODE,      /* a = mode received */
	NTP_WHY_DEMOBILIZED,   /* after DENY/RSTR */
	NTP_WHY_AUTH,          /* TEST5: a = enum ntp_auth (ntp_mac.h), b = key id in the packet */
	NTP_WHY_AUTH_KEY,      /* TEST5: authentic, but a = its key id, b = the key we require */
};

/* The system context an association reads (never writes). */
typedef struct ntp_proto_sys {
	int8_t precision; /* log2 s, system precision */
	int8_t poll;      /* log2 s, the poll the discipline wants (ntp_discipline poll) */
	/* System variables a symmetric packet carries (RFC 5905 §7.3). */
	uint8_t leap;
	uint8_t stratum; /* 16 = unsynchronised (sent as 0) */
	uint32_t refid;
	ntp_ts64 reftime;
	double rootdelay; /* s */
	double rootdisp;  /* s */
	double phi;       /* s/s, frequency tolerance: a sample's dispersion grows PHI x delay */
} ntp_proto_sys;

typedef struct ntp_peer {
	/* configuration */
	ntp_addr addr;       /* remote (LOCAL: 127.127.1.u) */
	uint16_t lport;      /* local UDP port our requests leave from and replies must reach;
	                        0: the host's NTP port (symmetric modes, `clientport`) */
	uint8_t kind;        /* enum ntp_peer_kind */
	uint8_t flags;       /* enum ntp_peer_flag */
	uint8_t version;     /* 1..4 */
	int8_t minpoll;      /* log2 s (raised by KoD RATE) */
	int8_t maxpoll;      /* log2 s */
	uint8_t unit;        /* LOCAL(u) */
	uint8_t cfg_stratum; /* LOCAL: fudge stratum */
	uint16_t keyid;      /* `key N`: every packet we send carries a MAC with key N and
	                        every packet we accept must (ntp_peer_auth); 0 = none */

	/* poll process (RFC 5905 §13) */
	int8_t hpoll;      /* log2 s, host poll */
	int8_t ppoll;      /* log2 s, peer poll from its packets */
	uint8_t reach;     /* 8-bit reach shift register */
	uint8_t unreach;   /* polls since last heard (ntpd peer->unreach) */
	uint8_t burst;     /* packets left in the current burst */
	ntp_time nextdate; /* mono time of the next poll (NTP_TIME_NEVER: none) */
	ntp_time outdate;  /* mono time of the last poll (burst start) */
	ntp_time headway;  /* mono time the client headway runs out (ntpd peer->throttle
	                      is headway - now: +2^minpoll - 2 s per request, -1 s per s) */

	/* on-wire state (RFC 5905 §8) */
	ntp_ts64 aorg;    /* transmit timestamp we sent (client: the random
	                     nonce); the origin we expect; 0 = none outstanding */
	ntp_time t1;      /* local clock when we sent it: the real T1 */
	ntp_ts64 xmt;     /* peer's transmit timestamp of its last packet
	                     (TEST1; echoed as origin in symmetric mode) */
	ntp_time dst;     /* local clock when we received that packet (echoed as
	                     receive timestamp in symmetric mode; 0 none) */
	ntp_time last_rx; /* mono time of the last valid packet/sample (ntpq's
	                     `when`); NTP_TIME_NONE never */

	/* peer variables from its last valid packet (RFC 5905 §9.1) */
	uint8_t leap;
	uint8_t stratum;
	uint8_t pmode;
	int8_t precision; /* log2 s */
	uint32_t refid;
	double rootdelay; /* s */
	double rootdisp;  /* s */
	ntp_ts64 reftime;
	uint32_t local_refid; /* refid of our own address on this path (loop test) */

	/* status */
	uint16_t flash;     /* TEST bits of the last packet and fit tests */
	uint8_t sel;        /* enum ntp_select_state from the last selection */
	uint8_t last_event; /* ntpd peer event code (for the status word) */
	uint8_t num_events; /* 4-bit event counter (for the status word) */
	uint8_t why;        /* enum ntp_why of the last rejection / KoD */
	uint32_t badauth;   /* packets that failed TEST5 (ntpd peer->badauth; fills padding) */
	double why_a;       /* its numbers */
	double why_b;

	/* the host's rate limit on this association's events (ntp_host.c
	 * event_gate): what a flood of spoofed packets may log */
	ntp_time ev_tat;        /* mono time the event bucket is empty again (GCRA) */
	uint32_t ev_suppressed; /* events dropped by it since the last one logged */
	uint16_t ev_code;       /* the kind of the last one dropped */
	bool ev_limited;        /* the limit was reached and said so; a pass clears it */

	/* counters */
	uint32_t sent, received, rejected;
	uint32_t duplicate, bogus, kod, kod_spoofed;
	/* mono time reach last rose from 0 (ntpd timereachable), in whole
	 * seconds modulo 2^32: 4 bytes where an ntp_time would grow every
	 * association by 8 (ntpsim's per-client budget); meaningless until
	 * something was received */
	uint32_t reach_rise_s;
} ntp_peer;

/* Set up an association (ntpd newpeer + peer_clear "INIT") at monotonic
 * time mono (its client headway starts there).  addr is the remote (ignored for LOCAL);
 * minpoll/maxpoll are clamped to [NTP_POLL_FLOOR, NTP_MAXPOLL] (the discipline check keeps
 * ntpd's at NTP_MINPOLL and up); LOCAL polls at minpoll only, as ntpd's
 * refclocks do (maxpoll = minpoll).  The first poll is scheduled by the caller (ntp_peer_schedule).
 */
void ntp_peer_init(ntp_peer *p, uint8_t kind, const ntp_addr *addr, uint8_t flags, int8_t minpoll,
                   int8_t maxpoll, uint8_t version, ntp_time mono);

/* ntpd peer_clear(): forget reach and the peer variables (the refid shows
 * `ident`, e.g. "STEP"), back to minpoll.  The outstanding request,
 * counters and configuration stay; the discipline's state of the source
 * (ntpd: its clock filter) is the caller's to reset. */
void ntp_peer_clear(ntp_peer *p, const char *ident);

/* Set the next poll (monotonic time). */
void ntp_peer_schedule(ntp_peer *p, ntp_time mono_at);

/* A discipline wants a sub-second poll (< 0) faster than the current one:
 * it takes effect at once, the next poll moving up to one new interval
 * after the last (chrony reschedules its transmission when its poll
 * drops; ntpd's polls of 1 s and more wait for the next poll). */
void ntp_peer_poll_faster(ntp_peer *p, int8_t poll, ntp_time mono);

/* What one poll did. */
typedef struct ntp_poll_result {
	bool send;    /* *req holds a packet for p->addr */
	bool sampled; /* `sample` holds one for the discipline: LOCAL's,
	                 or a lost-poll dummy (sample.lost) */
	ntp_sample sample;
	bool became_reachable;   /* LOCAL's first sample */
	bool became_unreachable; /* reach register just went to 0 */
	bool timed_out;          /* ephemeral association unreachable too long:
	                            the caller frees it */
} ntp_poll_result;

/* The poll process, called when now.mono >= p->nextdate (RFC 5905 App.
 * A.5.7 poll(), ntpd transmit()): shifts the reach register (once per
 * poll, not per burst packet), polls at minpoll while an iburst waits for
 * its first reply, starts a burst (NTP_BURST_COUNT packets when reachable
 * and fit), backs off after NTP_UNREACH silent polls, builds the request
 * (T1 = now.local) and schedules the next poll with ntpd's random jitter
 * (up to 1/16 of the interval later) and its client headway (ntpd
 * poll_update(): never sooner than 2 s, later when requests came too
 * fast).  Returns true when *req should be sent. */
bool ntp_peer_poll(ntp_peer *p, const ntp_proto_sys *sys, bool fit, ntp_now now, ntp_rand *rnd,
                   struct ntp_nonce *nonce, ntp_pkt *req, ntp_poll_result *res);

/* Verdicts of ntp_peer_receive. */
enum ntp_rx_verdict {
	NTP_RX_SAMPLE = 0,      /* valid: res->sample holds the sample */
	NTP_RX_REJECT = 1,      /* a packet test failed: nothing changed */
	NTP_RX_KOD = 2,         /* a valid kiss-o'-death was acted on */
	NTP_RX_KOD_SPOOFED = 3, /* a KoD with a wrong origin: ignored, counted */
};

typedef struct ntp_rx_result {
	int verdict;    /* enum ntp_rx_verdict */
	uint16_t flash; /* TEST bits that failed */
	uint8_t why;    /* enum ntp_why */
	double why_a, why_b;
	uint32_t kiss; /* kiss code of a KoD */
	bool became_reachable;
	bool demobilized;  /* DENY/RSTR */
	ntp_sample sample; /* for NTP_RX_SAMPLE: the raw sample */
} ntp_rx_result;

/* receive() + packet() for a packet that belongs to this association,
 * received at t_recv (local: T4; mono: its age from now on).  Runs the packet tests in ntpd's order
 * (TEST3 zero xmt, TEST1 duplicate, KoD check, TEST3 zero origin, TEST2
 * bogus origin, TEST3 zero receive, TEST6 unsynchronised, TEST7 header),
 * and for a good packet updates the peer variables, the reach register,
 * computes offset and delay from T1..T4 (RFC 5905 §8: differences in
 * fixed point, then double; delay clamped to >= precision; dispersion
 * = precision_s + precision_p + PHI * delay) into res->sample.
 * Returns res->verdict. */
int ntp_peer_receive(ntp_peer *p, const ntp_pkt *pkt, ntp_now t_recv, const ntp_proto_sys *sys,
                     ntp_rx_result *res);

/* Sample of the LOCAL pseudo-source (ntpd refclock_local), taken by
 * ntp_peer_poll; exposed for tests. */
void ntp_peer_local_sample(ntp_peer *p, const ntp_proto_sys *sys, ntp_now now, ntp_sample *smp);

/* The authentication test (TEST5, RFC 5905 §9.2 and ntpd's AUTH(): run
 * before every other test, so an unauthenticated packet -- a KoD or a
 * symmetric packet included -- changes nothing): auth is what the
 * packet's MAC says (enum ntp_auth, ntp_mac_verify) and keyid the key it
 * names.  An association with a key accepts only packets authenticated by
 * that key; one without accepts packets without a MAC or with a good one.
 * On failure counts the packet as received and rejected, sets TEST5 and
 * the reason, fills *res (NTP_RX_REJECT) and returns false. */
bool ntp_peer_auth(ntp_peer *p, int auth, uint32_t keyid, ntp_rx_result *res);

/* Build the packet this association sends when the local clock reads
 * `local` (RFC 5905 App. A.5.1 peer_xmit), remembering the expected origin
 * and T1. */
void ntp_peer_build_request(ntp_peer *p, const ntp_proto_sys *sys, ntp_time local,
                            struct ntp_nonce *nonce, ntp_pkt *req);

/* The mode of the requests this association sends: 3 (client), 1
 * (active) or 2 (passive); 0 for the local clock, which sends none. */
uint8_t ntp_peer_request_mode(const ntp_peer *p);

/* This host stepped its local clock by delta_ns: move the two stored
 * local-clock readings (T1 of the outstanding request, the receive time
 * echoed in symmetric mode) so a reply already in flight still gives a
 * true sample.  Timers and ages are monotonic and do not move. */
void ntp_peer_local_step(ntp_peer *p, ntp_time delta_ns);

/* What the distance and fit tests depend on beyond the source. */
typedef struct ntp_fit_params {
	double maxdist; /* s, tos maxdist (RFC 5905 MAXDIST; ntpd 1.5) */
	double mindist; /* s, tos mindist (ntpd MINDISTANCE 0.001) */
	double phi;     /* s/s, frequency tolerance (RFC 5905 PHI 15e-6; tinker dispersion) */
} ntp_fit_params;

/* Root distance (RFC 5905 App. A.5.5.2, ntpd root_distance()) from the
 * discipline's estimate e of the source and its packet variables:
 * (delay + rootdelay)/2 + disp + phi*(now - e->t) + rootdisp + jitter,
 * at least mindist. */
double ntp_peer_root_distance(const ntp_peer *p, const ntp_estimate *e, ntp_time mono,
                              const ntp_fit_params *fp);

/* The fit tests (ntpd peer_unfit): TEST10 unsynchronised/stratum,
 * TEST11 distance >= maxdist + phi * 2^hpoll (not for LOCAL, like ntpd's
 * refclocks), TEST12 loop (stratum > 1 and its refid is our address),
 * TEST13 unreachable or noselect.  Returns the failing bits (0 = fit). */
uint16_t ntp_peer_unfit(const ntp_peer *p, const ntp_estimate *e, ntp_time mono,
                        const ntp_fit_params *fp);

/* "TEST2 bogus origin: 0x... does not match the request 0x..." etc. into
 * buf.  Returns buf. */
char *ntp_proto_why_format(int why, double a, double b, char *buf, size_t size);

/* "TEST11 distance 1.94 s >= maxdist 1.50 s" for the first failing fit
 * bit; "" when fit.  Returns buf. */
char *ntp_proto_unfit_format(const ntp_peer *p, const ntp_estimate *e, uint16_t unfit,
                             ntp_time mono, const ntp_fit_params *fp, char *buf, size_t size);

/* Interval of the next poll in log2 s, as ntpd poll_update() chooses it:
 * minpoll during a retry/unreachable iburst, else min(hpoll, ppoll). */
int8_t ntp_peer_poll_log2(const ntp_peer *p);

/* 2^poll s in ns; poll may be negative (sub-second polls). */
ntp_time ntp_poll_ns(int poll);

/* Adopt the system poll: hpoll = clamp(sys_poll, minpoll, maxpoll). */
void ntp_peer_set_hpoll(ntp_peer *p, int8_t sys_poll);

#endif
