/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_pkt: decode and encode NTP datagrams (RFC 5905 §7.3, RFC 7822).
 *
 * Decode, don't cast: every field is read big-endian out of the buffer into
 * a host-order struct after its length has been checked.  A datagram that is
 * not a well-formed NTP packet yields an error code and a sentence naming the
 * field and byte offset that was wrong; nothing in *out is then meaningful.
 *
 * Layout after the 48-byte header (RFC 7822 §3, as NTPsec parses it): the
 * bytes that remain are a MAC when exactly 4 (crypto-NAK, key id 0 only),
 * 20 (key id + 16-byte MD5/AES-CMAC digest) or 24 (key id + 20-byte SHA-1
 * digest) remain; otherwise they must be extension fields (type, length,
 * value padded to a multiple of 4, length >= 16), optionally followed by a
 * MAC.  NTPv1-v3 packets have no extension fields.
 *
 * Mode 6 (control) and mode 7 (private) datagrams have other formats: the
 * decoder fills leap/version/mode only and returns NTP_PKT_IS_CONTROL or
 * NTP_PKT_IS_PRIVATE so the caller can dispatch.  Mode 7 is never answered.
 */
#ifndef NTP_PKT_H
#define NTP_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp_const.h"

#include "ntp_time.h"

#define NTP_PKT_HEADER_LEN   48   /* bytes, RFC 5905 Fig. 8 */
#define NTP_PKT_MAX_EXT      8    /* extension fields kept per packet (ours) */
#define NTP_PKT_EXT_MIN_LEN  16   /* bytes, RFC 5905 §7.5 as updated by RFC 7822 */
#define NTP_PKT_EXT_LAST_MIN 28   /* bytes, last field when no MAC, RFC 7822 §3 */
#define NTP_PKT_MAX_DIGEST   20   /* bytes, SHA-1 digest */
#define NTP_PKT_MAX_LEN      1024 /* bytes accepted/produced (ours; ntpd's is 1024 too) */

enum ntp_leap {
	NTP_LEAP_NONE = 0,    /* no warning */
	NTP_LEAP_ADD = 1,     /* last minute of the day has 61 s */
	NTP_LEAP_DEL = 2,     /* last minute of the day has 59 s */
	NTP_LEAP_NOTSYNC = 3, /* clock unsynchronised (alarm) */
};

enum ntp_mode {
	NTP_MODE_UNSPEC = 0,  /* reserved; NTPv1 packets carry 0 here */
	NTP_MODE_ACTIVE = 1,  /* symmetric active */
	NTP_MODE_PASSIVE = 2, /* symmetric passive */
	NTP_MODE_CLIENT = 3,
	NTP_MODE_SERVER = 4,
	NTP_MODE_BROADCAST = 5,
	NTP_MODE_CONTROL = 6, /* ntpq, RFC 9327 */
	NTP_MODE_PRIVATE = 7, /* ntpdc; never answered */
};

/* Result codes.  Negative: the datagram is malformed.  Positive: it is
 * well formed but not a time packet (mode 6 or 7). */
enum ntp_pkt_result {
	NTP_PKT_OK = 0,
	NTP_PKT_IS_CONTROL = 1,
	NTP_PKT_IS_PRIVATE = 2,
	NTP_PKT_E_SHORT = -1,     /* shorter than the 48-byte header */
	NTP_PKT_E_VERSION = -2,   /* version 0 or > 4 */
	NTP_PKT_E_EXT_LEN = -3,   /* extension field length bad or past the end */
	NTP_PKT_E_EXT_COUNT = -4, /* more than NTP_PKT_MAX_EXT fields */
	NTP_PKT_E_TRAILER = -5,   /* bytes after the header that are neither ext nor MAC */
	NTP_PKT_E_TOO_LONG = -6,  /* longer than NTP_PKT_MAX_LEN */
	NTP_PKT_E_BUFFER = -7,    /* encode: output buffer too small */
	NTP_PKT_E_INVALID = -8,   /* encode: a field out of range */
};

/* Why a decode failed: code, byte offset of the problem, and a sentence
 * such as "extension field length 3 not a multiple of 4 at offset 48". */
typedef struct ntp_pkt_err {
	int code;
	size_t offset;
	char msg[128];
} ntp_pkt_err;

/* One RFC 7822 extension field.  value points into the decoded buffer
 * (caller-owned); encode copies length - 4 bytes from it (a NULL value gives
 * a zero-filled body). */
typedef struct ntp_pkt_ext {
	uint16_t type;
	uint16_t length;      /* whole field incl. 4-byte header and padding */
	const uint8_t *value; /* length - 4 bytes */
} ntp_pkt_ext;

/* A decoded NTP packet in host byte order (RFC 5905 Fig. 8). */
typedef struct ntp_pkt {
	uint8_t leap;        /* enum ntp_leap, 2 bits */
	uint8_t version;     /* 1..4 */
	uint8_t mode;        /* enum ntp_mode */
	uint8_t stratum;     /* 0 = unspecified/KoD, 1 = primary, 2..15, 16 = unsynchronised */
	int8_t poll;         /* log2 s */
	int8_t precision;    /* log2 s */
	ntp_short rootdelay; /* 16.16 s */
	ntp_short rootdisp;  /* 16.16 s */
	uint32_t refid;      /* as on the wire, host order of the 4 bytes read big-endian */
	ntp_ts64 reftime;
	ntp_ts64 org; /* T1 as echoed by the server */
	ntp_ts64 rec; /* T2 */
	ntp_ts64 xmt; /* T3 */
	uint8_t n_ext;
	ntp_pkt_ext ext[NTP_PKT_MAX_EXT];
	bool has_mac;
	uint32_t keyid;
	uint8_t digest_len; /* 0 (crypto-NAK), 16 or 20 */
	uint8_t digest[NTP_PKT_MAX_DIGEST];
} ntp_pkt;

/* Decode len bytes.  Returns enum ntp_pkt_result; on a negative result err
 * (if not NULL) says why.  out->ext[].value points into buf.  Checks run in
 * this order: too long, empty, version, mode 6/7 (only byte 0 is needed for
 * those), shorter than 48, extension fields, MAC.  A 4/20/24-byte remainder is
 * always read as a MAC.  NULL buf or out gives NTP_PKT_E_INVALID. */
int ntp_pkt_decode(const uint8_t *buf, size_t len, ntp_pkt *out, ntp_pkt_err *err);

/* Encode p into buf (cap bytes); *len gets the datagram length (on
 * NTP_PKT_E_BUFFER: the length needed).  Returns NTP_PKT_OK, NTP_PKT_E_BUFFER
 * or NTP_PKT_E_INVALID (modes 6/7, or any layout decode would read back
 * differently). */
int ntp_pkt_encode(const ntp_pkt *p, uint8_t *buf, size_t cap, size_t *len);

/* Kiss-o'-death (RFC 5905 §7.4): a mode 4 (or 2) packet with stratum 0;
 * the refid then holds four ASCII characters. */
bool ntp_pkt_is_kod(const ntp_pkt *p);

/* The refid as a 4-byte code, e.g. NTP_REFID("RATE"). */
#define NTP_REFID(s)                                                                               \
	(((uint32_t)(uint8_t)(s)[0] << 24) | ((uint32_t)(uint8_t)(s)[1] << 16) |                   \
	 ((uint32_t)(uint8_t)(s)[2] << 8) | (uint32_t)(uint8_t)(s)[3])

/* Format a refid the way ntpq shows it (NTPsec refid_str): for stratum 0/1
 * (and KoD) the ASCII code in dots (".LOCL.", ".RATE."), unprintable as
 * "0x%08x"; for stratum >= 2 (16 included) a dotted IPv4 address.
 * buf >= 16 bytes.  Returns buf. */
char *ntp_pkt_refid_format(uint32_t refid, uint8_t stratum, char *buf, size_t size);

/* Format a refid the way ntpq -p's refid column shows an association's or a
 * host's (NTPsec ctl_putrefid as ntpq prints it): the code in dots at stratum
 * 0, 1 and 16 (".INIT.", ".GPS."), a LOCAL(u) driver's 127.127.1.u by name,
 * else a dotted IPv4 address.  The one formatter behind ntp_info's peers,
 * the simulator's state checks and the mode-6 "refid" variables.
 * buf >= 16 bytes.  Returns buf. */
char *ntp_pkt_refid_assoc_format(uint32_t refid, uint8_t stratum, char *buf, size_t size);

/* The name of a mode ("client", "server", ...) and of a leap indicator. */
const char *ntp_pkt_mode_name(int mode);
const char *ntp_pkt_leap_name(int leap);

#endif
