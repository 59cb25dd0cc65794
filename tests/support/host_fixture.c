/* SPDX-License-Identifier: BSD-2-Clause */
#define _XOPEN_SOURCE 700 /* nftw */
#include "host_fixture.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntp_conf.h"
#include "ntp_pkt.h"

#define TMPDIR_FDS 16 /* directories nftw keeps open while it walks (ours) */

void
fixture_nonce_key(ntp_host_params *p)
{
	static const uint8_t zero[NTP_HOST_NONCE_KEY_BYTES];
	uint64_t x = p->seed;

	if (memcmp(p->nonce_key, zero, sizeof zero) != 0) {
		return;
	}
	for (size_t i = 0; i < sizeof p->nonce_key; i++) {
		x = x * 6364136223846793005u + 1442695040888963407u; /* Knuth's MMIX LCG */
		p->nonce_key[i] = (uint8_t)(x >> 56);
	}
}

ntp_host *
fixture_host(const char *conf_text, const ntp_host_params *params)
{
	ntp_conf *c = malloc(sizeof *c);
	ntp_host_params p = *params;
	ntp_host *h;
	char err[256];

	cr_assert_not_null(c);
	ntp_conf_init(c, "test.conf");
	cr_assert_eq(ntp_conf_parse(c, conf_text, strlen(conf_text)), 0u, "config has errors");
	fixture_nonce_key(&p);
	h = ntp_host_new(c, &p, err, sizeof err);
	cr_assert_not_null(h, "ntp_host_new: %s", err);
	free(c);
	return h;
}

ntp_addr
fixture_addr(const char *text, uint16_t port)
{
	ntp_addr a;

	memset(&a, 0, sizeof a);
	cr_assert(ntp_addr_parse(text, &a), "bad address %s", text);
	a.port = port;
	return a;
}

ntp_actions *
fixture_actions(void)
{
	ntp_actions *a = malloc(sizeof *a);

	cr_assert_not_null(a);
	ntp_actions_clear(a);
	return a;
}

char *
fixture_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long n;
	char *buf;

	cr_assert_not_null(f, "cannot open %s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	cr_assert_gt(n, 0, "%s is empty", path);
	rewind(f);
	buf = malloc((size_t)n);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

const ntp_action *
fixture_find_action(const ntp_actions *a, int kind, int code)
{
	for (size_t i = 0; i < a->n; i++) {
		if (a->v[i].kind == kind &&
		    (kind != NTP_ACT_EVENT || a->v[i].u.event.code == code)) {
			return &a->v[i];
		}
	}
	return NULL;
}

size_t
fixture_client_request(uint8_t *buf, size_t cap, ntp_ts64 xmt)
{
	ntp_pkt p;
	size_t len = 0;

	memset(&p, 0, sizeof p);
	p.version = NTP_VERSION_CUR;
	p.mode = NTP_MODE_CLIENT;
	p.xmt = xmt;
	cr_assert_eq(ntp_pkt_encode(&p, buf, cap, &len), NTP_PKT_OK);
	return len;
}

void
fixture_tmpdir(char *dir, size_t size, const char *prefix)
{
	int n = snprintf(dir, size, "/tmp/%sXXXXXX", prefix);

	cr_assert(n > 0 && (size_t)n < size, "temporary directory name too long");
	cr_assert_not_null(mkdtemp(dir), "mkdtemp %s", dir);
}

static int
remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

void
fixture_tmpdir_remove(const char *dir, const char *prefix)
{
	char expect[64];

	snprintf(expect, sizeof expect, "/tmp/%s", prefix);
	if (strncmp(dir, expect, strlen(expect)) != 0) {
		return;
	}
	cr_expect_eq(nftw(dir, remove_entry, TMPDIR_FDS, FTW_DEPTH | FTW_PHYS), 0, "remove %s",
	             dir);
}
