/* SPDX-License-Identifier: BSD-2-Clause */
#include "host_fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntp_conf.h"

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
