/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * host_fixture: an ntp_host from ntp.conf text, for the Criterion suites
 * (tests/unit and refd/tests).  Failures are Criterion assertions, so a
 * test never goes on with a half-made host.
 */
#ifndef HOST_FIXTURE_H
#define HOST_FIXTURE_H

#include "ntp_host.h"

/* A nonce key derived from p->seed, unless the test set one: test hosts
 * need no real entropy, only a key that is not all zero. */
void fixture_nonce_key(ntp_host_params *p);

/* Parse conf_text (named "test.conf" in messages; it must have no errors)
 * and create a host with params (a nonce key from its seed unless it has
 * one).  Free it with ntp_host_free. */
ntp_host *fixture_host(const char *conf_text, const ntp_host_params *params);

/* Both clocks of ntp_time.h ntp_now at t, for a driver whose local clock
 * has not been stepped from outside (monotonic = local).  Tests that step
 * a clock keep the two apart themselves. */
#define AT(t) ntp_now_at((t), (t))

/* A numeric address with a port; a bad address fails the test. */
ntp_addr fixture_addr(const char *text, uint16_t port);

/* An empty action list on the heap (it holds NTP_ACTIONS_MAX actions with
 * their datagrams).  Free it with free. */
ntp_actions *fixture_actions(void);

/* The bytes of the file at path, exactly its length and no NUL (ASan sees
 * a parser read past the end), on the heap; the test fails if it cannot be
 * read or is empty.  Free it with free. */
char *fixture_read_file(const char *path, size_t *len);
/* A minimal NTPv4 client request (mode 3) with transmit timestamp xmt, the
 * client's nonce, encoded into buf (at least NTP_PKT_HEADER_LEN bytes);
 * returns its length. */
size_t fixture_client_request(uint8_t *buf, size_t cap, ntp_ts64 xmt);

/* A fresh directory /tmp/<prefix>XXXXXX for a test's files, its path in dir
 * (size >= 64); fixture_tmpdir_remove deletes it and everything in it (only a
 * path that still starts with /tmp/<prefix>, so a bad path removes nothing). */
void fixture_tmpdir(char *dir, size_t size, const char *prefix);
void fixture_tmpdir_remove(const char *dir, const char *prefix);

/* The first action of this kind in a (for events: with this code), or
 * NULL. */
const ntp_action *fixture_find_action(const ntp_actions *a, int kind, int code);

#endif
