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
/* The first action of this kind in a (for events: with this code), or
 * NULL. */
const ntp_action *fixture_find_action(const ntp_actions *a, int kind, int code);

#endif
