/* SPDX-License-Identifier: BSD-2-Clause */
/* core/ntp_discipline: the registry, the config checks and the seam as the
 * host uses it (no host file names a discipline). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "ntp_conf.h"
#include "ntp_discipline.h"
#include "ntp_host.h"
#include "ntp_ntpd.h"

static ntp_conf conf;

static unsigned
parse(const char *text)
{
	ntp_conf_init(&conf, "test.conf");
	ntp_conf_parse(&conf, text, strlen(text));
	return conf.n_errors;
}

static const char *
check(const char *text)
{
	static char err[512];

	cr_assert_eq(parse(text), 0u, "%s", text);
	err[0] = '\0';
	return ntp_discipline_check(&conf, err, sizeof err) == 0 ? NULL : err;
}

Test(discipline, registry)
{
	cr_assert_str_eq(ntp_discipline_at(0)->name, "ntpd-kernel");
	cr_assert_str_eq(ntp_discipline_at(1)->name, "ntpd-daemon");
	cr_assert_str_eq(ntp_discipline_at(2)->name, "regress");
	cr_assert_null(ntp_discipline_at(3));
	cr_assert_eq(ntp_discipline_find("ntpd-daemon"), &ntp_ntpd_daemon);
	cr_assert_null(ntp_discipline_find("chronyd"));
	cr_assert_null(ntp_discipline_find(NULL));
	for (size_t i = 0; ntp_discipline_at(i) != NULL; i++) {
		const ntp_discipline *d = ntp_discipline_at(i);

		cr_assert(d->sys_size > 0 && d->src_size > 0, "%s", d->name);
		cr_assert(d->init && d->sample && d->estimate && d->update && d->poll && d->step &&
		                  d->info && d->src_register && d->src_init,
		          "%s: an op is missing", d->name);
		for (size_t k = 0; k < d->n_params; k++) {
			const ntp_disc_param *p = &d->params[k];

			cr_assert(p->min <= p->dflt && p->dflt <= p->max, "%s %s", d->name,
			          p->name);
		}
	}
}

/* ntpd on Linux runs the kernel loop; `disable kernel` the daemon loop; a
 * `discipline` line wins over both. */
Test(discipline, default_follows_disable_kernel)
{
	cr_assert_eq(parse("server 192.0.2.1\n"), 0u);
	cr_assert_eq(ntp_discipline_for(&conf), &ntp_ntpd_kernel);
	cr_assert_eq(parse("disable kernel\nserver 192.0.2.1\n"), 0u);
	cr_assert_eq(ntp_discipline_for(&conf), &ntp_ntpd_daemon);
	cr_assert_eq(parse("disable kernel\ndiscipline ntpd-kernel\n"), 0u);
	cr_assert_eq(ntp_discipline_for(&conf), &ntp_ntpd_kernel);
}

Test(discipline, check_names_file_line_and_the_known)
{
	cr_assert_null(check("discipline ntpd-kernel pll 8 allan 12 stepout 60\n"));
	cr_assert_str_eq(check("server 192.0.2.1\ndiscipline ntpd-kernl\n"),
	                 "test.conf:2: unknown discipline 'ntpd-kernl' (known: ntpd-kernel, "
	                 "ntpd-daemon, regress)");
	cr_assert_str_eq(check("discipline ntpd-daemon pl 8\n"),
	                 "test.conf:1: discipline ntpd-daemon: unknown parameter 'pl' (known: "
	                 "pll, fll, avg, allan, limit, pgate, floor, huffpuff, stepout)");
	cr_assert_str_eq(check("discipline ntpd-kernel floor 2\n"),
	                 "test.conf:1: discipline ntpd-kernel: floor 2 is out of range [0, 1] s");
	cr_assert_str_eq(check("discipline ntpd-kernel limit 3.5\n"),
	                 "test.conf:1: discipline ntpd-kernel: limit 3.5 is not a whole number");
}

Test(discipline, param_overrides_the_callers_default)
{
	cr_assert_eq(parse("discipline ntpd-kernel pll 8\n"), 0u);
	cr_assert_float_eq(ntp_discipline_param(&conf, "pll", 16.0), 8.0, 0.0);
	cr_assert_float_eq(ntp_discipline_param(&conf, "fll", 0.25), 0.25, 0.0);
	cr_assert_float_eq(ntp_discipline_param(NULL, "fll", 0.25), 0.25, 0.0);
}

/* ntp_host_new refuses a bad choice with the check's message, and takes
 * a good one (the restart event names it). */
Test(discipline, host_refuses_a_bad_choice)
{
	ntp_host_params p;
	char err[512];
	ntp_host *h;
	ntp_sys_info si;

	memset(&p, 0, sizeof p);
	p.seed = 1;
	p.precision = -20;
	memset(p.nonce_key, 0x5a, sizeof p.nonce_key);
	cr_assert_eq(parse("discipline ntpd-daemon clock_pll 8\nserver 192.0.2.1\n"), 0u);
	cr_assert_null(ntp_host_new(&conf, &p, err, sizeof err));
	cr_assert(strstr(err, "test.conf:1: discipline ntpd-daemon: unknown parameter "
	                      "'clock_pll'") == err,
	          "%s", err);
	cr_assert_eq(parse("discipline ntpd-daemon pll 8\nserver 192.0.2.1\n"), 0u);
	h = ntp_host_new(&conf, &p, err, sizeof err);
	cr_assert_not_null(h, "%s", err);
	ntp_host_sys(h, &si);
	cr_assert_str_eq(si.discipline, "ntpd-daemon");
	ntp_host_free(h);
}

/* Sub-second polls: regress runs them; ntpd's disciplines stop at NTPsec's
 * 1 s and say so, naming the server's line. */
Test(discipline, subsecond_polls_need_regress)
{
	cr_assert_null(check("server 192.0.2.1 minpoll -3 maxpoll -3\ndiscipline regress\n"));
	cr_assert_null(check("server 192.0.2.1 minpoll 0 maxpoll 0\n"));
	cr_assert_str_eq(check("server 192.0.2.1\nserver 192.0.2.2 minpoll -1 maxpoll 4\n"),
	                 "test.conf:2: minpoll -1: discipline ntpd-kernel polls every 1 s at the "
	                 "fastest (minpoll 0); sub-second polls need discipline regress");
}
