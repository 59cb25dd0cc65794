/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_md5: MD5 (RFC 1321).  NTP uses it for the refid of an IPv6 server
 * (RFC 5905 §7.3) and for symmetric-key MACs (RFC 5905 §7.3, key type MD5).
 * Not for anything where collision resistance matters.
 */
#ifndef NTP_MD5_H
#define NTP_MD5_H

#include <stddef.h>
#include <stdint.h>

#define NTP_MD5_LEN 16 /* bytes */

void ntp_md5(const void *data, size_t len, uint8_t out[NTP_MD5_LEN]);

#endif
