/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_control: the read-only subset of NTP mode 6 control messages
 * (RFC 9327) that NTPsec's ntpq needs for `ntpq -p`, `-c rv`, `-c as`,
 * `-c "rv ASSOC"`, `-c pe` and `-c lpeers`.
 *
 * Pure: a request datagram and snapshots of the host's system and peer
 * variables (core/ntp_host.h) go in, reply datagrams come out.  No I/O, no
 * clock reads, no globals.
 *
 * What is answered, and how, follows ntpd ntpsec-1.2.2 as measured on the
 * wire (tests/data/control/): READSTAT (1) and READVAR (2) for the system
 * (association 0) and each peer, UNSPEC (0) with the system status word.
 * Writes and other privileged opcodes (3, 5, 8, 11) get a "permission"
 * error reply, unknown opcodes a "bad opcode" error reply.  Datagrams that
 * are not requests (R, E or M bit set, non-zero offset, shorter than the
 * 12-byte header, version 0 or > 4) get no reply at all, and neither does
 * anything from a source that may not query (restrict noquery).
 *
 * Replies are split into fragments of at most 468 data bytes with the More
 * bit and byte offsets, each padded with zeros to a multiple of 4 bytes.
 */
#ifndef NTP_CONTROL_H
#define NTP_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp_host.h"
#include "ntp_server.h"
#include "ntp_time.h"

#define NTP_CONTROL_HEADER_LEN 12  /* bytes, RFC 9327 §2 header */
#define NTP_CONTROL_MAX_DATA   468 /* bytes of data per fragment, ntpd CTL_MAX_DATA_LEN */
#define NTP_CONTROL_MAX_FRAGS  8   /* fragments in one reply (ours) */
#define NTP_CONTROL_FRAG_MAX   (NTP_CONTROL_HEADER_LEN + NTP_CONTROL_MAX_DATA) /* 480 bytes */

/* Opcodes (RFC 9327 §2, NTPsec ntp_control.h CTL_OP_*). */
enum ntp_control_op {
	NTP_CONTROL_OP_UNSPEC = 0,
	NTP_CONTROL_OP_READSTAT = 1,
	NTP_CONTROL_OP_READVAR = 2,
	NTP_CONTROL_OP_WRITEVAR = 3,
	NTP_CONTROL_OP_READCLOCK = 4,
	NTP_CONTROL_OP_WRITECLOCK = 5,
	NTP_CONTROL_OP_CONFIGURE = 8,
	NTP_CONTROL_OP_READ_MRU = 10,
	NTP_CONTROL_OP_READ_ORDLIST = 11,
	NTP_CONTROL_OP_REQ_NONCE = 12,
};

/* Error codes carried in the upper byte of the status word of a reply
 * with the E bit (RFC 9327 §2, ntpd CERR_*). */
enum ntp_control_cerr {
	NTP_CONTROL_CERR_UNSPEC = 0,
	NTP_CONTROL_CERR_PERMISSION = 1,
	NTP_CONTROL_CERR_BADFMT = 2,
	NTP_CONTROL_CERR_BADOP = 3,
	NTP_CONTROL_CERR_BADASSOC = 4,
	NTP_CONTROL_CERR_UNKNOWNVAR = 5,
	NTP_CONTROL_CERR_BADVALUE = 6,
};

/* Results of ntp_control_decode. */
enum ntp_control_result {
	NTP_CONTROL_OK = 0,
	NTP_CONTROL_E_INVALID = -1, /* no buffer or no place to decode into */
	NTP_CONTROL_E_SHORT = -2,   /* shorter than the 12-byte header */
	NTP_CONTROL_E_MODE = -3,    /* mode is not 6 */
	NTP_CONTROL_E_VERSION = -4, /* version 0 or > 4 */
	NTP_CONTROL_E_COUNT = -5,   /* count beyond the datagram or over 468 */
	NTP_CONTROL_E_PADDING = -6, /* datagram length not a multiple of 4 */
};

/* A decoded mode 6 header (RFC 9327 §2), host byte order. */
typedef struct ntp_control_hdr {
	uint8_t leap, version, mode;
	bool response;  /* R bit */
	bool error;     /* E bit */
	bool more;      /* M bit */
	uint8_t opcode; /* 5 bits */
	uint16_t sequence, status, assoc, offset, count;
	const uint8_t *data; /* count bytes inside the datagram; NULL on error */
	size_t trailer;      /* bytes after the data (padding, MAC) */
} ntp_control_hdr;

/* Decode and validate the header of a mode 6 datagram (request or reply):
 * length >= 12, mode 6, version 1..4, count <= 468 and within the datagram,
 * length a multiple of 4.  Returns enum ntp_control_result and a sentence
 * in reason ("count 8 exceeds the 0 data bytes present").  On E_COUNT and
 * E_PADDING every header field is filled in (only data is NULL), so a
 * responder can still echo sequence and opcode in its error reply. */
int ntp_control_decode(const uint8_t *buf, size_t len, ntp_control_hdr *out, char *reason,
                       size_t reason_size);

/* Reply datagrams; the caller sends buf[0..n-1], each len[i] bytes, in order. */
typedef struct ntp_control_reply {
	size_t n;
	size_t len[NTP_CONTROL_MAX_FRAGS];
	uint8_t buf[NTP_CONTROL_MAX_FRAGS][NTP_CONTROL_FRAG_MAX];
} ntp_control_reply;

/* Answer one mode 6 datagram.
 *   req/len   the datagram (the packet decoder said mode 6)
 *   allowed   false when restrict says noquery, or the source is not
 *             loopback and remote control is off: nothing is sent
 *   sys       the host's system variables (ntp_host_sys)
 *   peers     n_peers associations (ntp_host_peers), taken at `now`
 *   now       local time: the "clock" variable, and "rec" = now - when
 * Returns 0 with out filled (a normal or an error reply), or < 0 with
 * out->n == 0 when nothing must be sent.  Either way reason says what
 * happened ("noquery", "truncated header: 9 bytes", "unsupported opcode 3
 * (write variables): read-only", "readvar assoc 0: 356 bytes in 1 fragment").
 * reason may be NULL. */
int ntp_control_answer(const uint8_t *req, size_t len, bool allowed, const ntp_sys_info *sys,
                       const ntp_peer_info *peers, size_t n_peers, ntp_time now,
                       ntp_control_reply *out, char *reason, size_t reason_size);

/* What ntpq mrulist needs besides the snapshots (NTPsec read_mru_list,
 * req_nonce): the host's rate-limit table, served as it stands, and the
 * nonce handshake.  A nonce is "%08x%08x%08x": the NTP time it was made
 * and 32 bits of a keyed MAC over that time and the requester's address
 * and port; READ_MRU is answered only to a nonce this host made for that
 * address less than NTP_CONTROL_NONCE_TIMEOUT s ago (anything else gets no
 * reply at all, as from ntpd): the requester proved it receives what is
 * sent to its address, so mrulist cannot be aimed at someone else. */
#define NTP_CONTROL_NONCE_TIMEOUT 16  /* s, NTPsec NONCE_TIMEOUT */
#define NTP_CONTROL_MRU_ROWS      256 /* entries, NTPsec MRU_ROW_LIMIT: largest limit= */
#define NTP_CONTROL_MRU_FRAGS     128 /* NTPsec MRU_FRAGS_LIMIT: largest frags= */

typedef struct ntp_control_mru {
	const ntp_server *table; /* the rate-limit table (its keyed hash makes the nonces) */
	ntp_addr from;           /* the requester, with its port */
	ntp_time mono;           /* now on the table's (monotonic) clock */
	bool nomrulist;          /* restrict nomrulist for from: READ_MRU refused */
	/* restrict flags of an entry's address (ntp_restrict.h), for rs.N and
	 * resall/resany; NULL: none */
	uint32_t (*res_flags)(const void *ctx, const ntp_addr *a);
	const void *res_ctx;
} ntp_control_mru;

/* ntp_control_answer, plus REQ_NONCE (12) and READ_MRU (10) when mru is
 * not NULL (without it they are "bad opcode", as before). */
int ntp_control_answer_mru(const uint8_t *req, size_t len, bool allowed, const ntp_sys_info *sys,
                           const ntp_peer_info *peers, size_t n_peers, ntp_time now,
                           const ntp_control_mru *mru, ntp_control_reply *out, char *reason,
                           size_t reason_size);

/* The nonce this host gives `from` at local time `now` ("%08x%08x%08x",
 * 24 characters and a NUL in buf), and its check: true when text is such
 * a nonce, made for this address and port, at most
 * NTP_CONTROL_NONCE_TIMEOUT s before now (and not after it). */
void ntp_control_nonce(const ntp_server *table, const ntp_addr *from, ntp_time now, char buf[25]);
bool ntp_control_nonce_ok(const ntp_server *table, const ntp_addr *from, ntp_time now,
                          const char *text, size_t len);

/* Hold a reply to at most budget bytes in total (an amplification cap:
 * budget is the request's size).  A reply that fits is left alone (false);
 * one that does not becomes a single 12-byte error reply "permission
 * denied" to the same request (true): a partial multi-fragment answer
 * would only leave ntpq waiting for the rest.  A budget under 12 bytes
 * leaves nothing to send (out->n == 0, true). */
bool ntp_control_cap(ntp_control_reply *out, size_t budget);

/* The RFC 9327 status words ntp_control_answer puts in its replies.
 * System: leap (2 bits), clock source (6: sync_local 5 for a local clock,
 * sync_ntp 6, unspec 0 without a system peer), event count and last event.
 * Peer: configured and reachable bits, selection code 0..7 from the tally
 * (' ' 'x' '.' '-' '+' '#' '*' 'o'), event count and last event. */
uint16_t ntp_control_sys_status(const ntp_sys_info *sys, const ntp_peer_info *peers,
                                size_t n_peers);
uint16_t ntp_control_peer_status(const ntp_peer_info *p);

#endif
