/* SPDX-License-Identifier: BSD-2-Clause */
#include "host_fixture.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ntp_conf.h"

ntp_host *
fixture_host(const char *conf_text, const ntp_host_params *params)
{
	ntp_conf *c = malloc(sizeof *c);
	ntp_host *h;
	char err[256];

	cr_assert_not_null(c);
	ntp_conf_init(c, "test.conf");
	cr_assert_eq(ntp_conf_parse(c, conf_text, strlen(conf_text)), 0u, "config has errors");
	h = ntp_host_new(c, params, err, sizeof err);
	cr_assert_not_null(h, "ntp_host_new: %s", err);
	free(c);
	return h;
}

ntp_actions *
fixture_actions(void)
{
	ntp_actions *a = malloc(sizeof *a);

	cr_assert_not_null(a);
	ntp_actions_clear(a);
	return a;
}
