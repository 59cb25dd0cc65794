/* SPDX-License-Identifier: BSD-2-Clause */
/* refd/refd_opts: the command line. */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "refd_clock.h"
#include "refd_opts.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

Test(refd_opts, daemon_options_in_ntpd_conventions)
{
	char *argv[] = {"refd",
	                "-c",
	                "/etc/ntp.conf",
	                "-n",
	                "-p",
	                "11123",
	                "-u",
	                "ntp",
	                "--clock-offset",
	                "+28.2",
	                "--clock-freq=-12.5",
	                "--pidfile",
	                "/run/r.pid",
	                "-l",
	                "/tmp/log",
	                "-f",
	                "/tmp/drift",
	                "-g",
	                "--server-port",
	                "11124"};
	refd_opts o;
	char err[256];

	cr_assert_eq(refd_opts_parse(ARGC(argv), argv, &o, err, sizeof err), 0, "%s", err);
	cr_assert_eq(o.mode, REFD_MODE_DAEMON);
	cr_assert_str_eq(o.conf_path, "/etc/ntp.conf");
	cr_assert(o.foreground);
	cr_assert_eq(o.port, 11123);
	cr_assert_str_eq(o.user, "ntp");
	cr_assert_eq(o.clock_kind, REFD_CLOCK_VIRTUAL);
	cr_assert_float_eq(o.clock_offset, 28.2, 1e-12);
	cr_assert_float_eq(o.clock_freq_ppm, -12.5, 1e-12);
	cr_assert_str_eq(o.pidfile, "/run/r.pid");
	cr_assert_str_eq(o.logfile, "/tmp/log");
	cr_assert_str_eq(o.driftfile, "/tmp/drift");
	cr_assert(o.big_first_step);
	cr_assert_eq(o.server_port, 11124);
}

Test(refd_opts, defaults_and_grouped_debug)
{
	char *argv[] = {"refd", "-dd", "-cntp.conf"};
	refd_opts o;
	char err[256];

	cr_assert_eq(refd_opts_parse(ARGC(argv), argv, &o, err, sizeof err), 0, "%s", err);
	cr_assert_eq(o.debug, 2);
	cr_assert(o.foreground, "-d implies -n, as in ntpd");
	cr_assert_str_eq(o.conf_path, "ntp.conf");
	cr_assert_eq(o.port, -1);
	cr_assert_eq(o.n_listen, 0);
	cr_assert_eq(o.clock_kind, REFD_CLOCK_VIRTUAL);
}

Test(refd_opts, listen_is_repeatable_and_bounded)
{
	char *argv[] = {"refd", "-c", "f", "--listen", "127.0.0.3", "--listen=[::1]:11123"};
	char *many[2 + 2 * 9];
	refd_opts o;
	char err[256];

	cr_assert_eq(refd_opts_parse(ARGC(argv), argv, &o, err, sizeof err), 0, "%s", err);
	cr_assert_eq(o.n_listen, 2);
	cr_assert_str_eq(o.listen[1], "[::1]:11123");
	many[0] = "refd";
	many[1] = "-cf";
	for (int i = 0; i < 9; i++) {
		many[2 + 2 * i] = "--listen";
		many[3 + 2 * i] = "127.0.0.1";
	}
	cr_assert_eq(refd_opts_parse(ARGC(many), many, &o, err, sizeof err), -1);
	cr_assert(strstr(err, "at most 8") != NULL, "%s", err);
}

Test(refd_opts, bad_options_say_what_is_wrong)
{
	struct {
		char *argv[6];
		int argc;
		const char *want;
	} cases[] = {
	        {{"refd", "-n"}, 2, "missing -c FILE"},
	        {{"refd", "-c", "f", "--bogus"}, 4, "unknown option '--bogus'"},
	        {{"refd", "-c", "f", "-x"}, 4, "unknown option '-x'"},
	        {{"refd", "-c", "f", "-p", "70000"}, 5, "port number"},
	        {{"refd", "-c", "f", "-p"}, 4, "needs a value"},
	        {{"refd", "-c", "f", "--clock", "wall"}, 5, "'virtual' or 'system'"},
	        {{"refd", "-c", "f", "--clock-offset", "28s"}, 5, "expected seconds"},
	        {{"refd", "-c", "f", "--clock-freq", "1e6"}, 5, "ppm"},
	        {{"refd", "-c", "f", "--i-mean-it"}, 4, "confirms --clock system"},
	        {{"refd", "-c", "f", "stray"}, 4, "unexpected argument 'stray'"},
	        {{"refd", "-c", "f", "--nofork=yes"}, 4, "takes no value"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		refd_opts o;
		char err[256];

		cr_assert_eq(refd_opts_parse(cases[i].argc, cases[i].argv, &o, err, sizeof err), -1,
		             "case %zu accepted", i);
		cr_assert(strstr(err, cases[i].want) != NULL, "case %zu: '%s' lacks '%s'", i, err,
		          cases[i].want);
	}
}

Test(refd_opts, system_clock_needs_its_own_flags)
{
	char *with_offset[] = {"refd", "-c", "f", "--clock", "system", "--clock-offset", "1"};
	char *with_user[] = {"refd", "-c", "f", "--clock", "system", "--i-mean-it", "-u", "ntp"};
	char *ok[] = {"refd", "-c", "f", "--clock", "system", "--i-mean-it"};
	refd_opts o;
	char err[256];

	cr_assert_eq(refd_opts_parse(ARGC(with_offset), with_offset, &o, err, sizeof err), -1);
	cr_assert(strstr(err, "virtual clock only") != NULL, "%s", err);
	cr_assert_eq(refd_opts_parse(ARGC(with_user), with_user, &o, err, sizeof err), -1);
	cr_assert(strstr(err, "CAP_SYS_TIME") != NULL, "%s", err);
	cr_assert_eq(refd_opts_parse(ARGC(ok), ok, &o, err, sizeof err), 0, "%s", err);
	cr_assert_eq(o.clock_kind, REFD_CLOCK_SYSTEM);
	cr_assert(o.clock_given && o.i_mean_it);
}

Test(refd_opts, query_mode_has_its_own_meaning_of_n)
{
	char *argv[] = {"refd", "-Q", "127.0.0.1:11123", "[::1]", "--json", "-t", "0.5",
	                "-n",   "2",  "--clock-offset",  "-3"};
	refd_opts o;
	char err[256];

	cr_assert_eq(refd_opts_parse(ARGC(argv), argv, &o, err, sizeof err), 0, "%s", err);
	cr_assert_eq(o.mode, REFD_MODE_QUERY);
	cr_assert_eq(o.n_hosts, 2);
	cr_assert_str_eq(o.hosts[0], "127.0.0.1:11123");
	cr_assert_str_eq(o.hosts[1], "[::1]");
	cr_assert(o.json);
	cr_assert_float_eq(o.timeout, 0.5, 1e-12);
	cr_assert_eq(o.samples, 2);
	cr_assert_float_eq(o.clock_offset, -3.0, 1e-12);
}

Test(refd_opts, query_mode_rejects_daemon_options_and_bad_values)
{
	char *no_host[] = {"refd", "-Q"};
	char *daemon_opt[] = {"refd", "-Q", "h", "-c", "f"};
	char *samples[] = {"refd", "-Q", "h", "-n", "9"};
	char *timeout[] = {"refd", "-Q", "h", "-t", "0"};
	refd_opts o;
	char err[256];

	cr_assert_eq(refd_opts_parse(ARGC(no_host), no_host, &o, err, sizeof err), -1);
	cr_assert(strstr(err, "at least one HOST") != NULL, "%s", err);
	cr_assert_eq(refd_opts_parse(ARGC(daemon_opt), daemon_opt, &o, err, sizeof err), -1);
	cr_assert(strstr(err, "query mode") != NULL, "%s", err);
	cr_assert_eq(refd_opts_parse(ARGC(samples), samples, &o, err, sizeof err), -1);
	cr_assert_eq(refd_opts_parse(ARGC(timeout), timeout, &o, err, sizeof err), -1);
}

Test(refd_opts, help_and_version)
{
	char *help[] = {"refd", "--help"};
	char *version[] = {"refd", "-V"};
	refd_opts o;
	char err[256];

	cr_assert_eq(refd_opts_parse(ARGC(help), help, &o, err, sizeof err), 0);
	cr_assert_eq(o.mode, REFD_MODE_HELP);
	cr_assert_eq(refd_opts_parse(ARGC(version), version, &o, err, sizeof err), 0);
	cr_assert_eq(o.mode, REFD_MODE_VERSION);
}

Test(refd_opts, check_config_takes_its_file)
{
	char *check[] = {"refd", "--check-config", "/etc/ntplab/refd.conf"};
	char *check_eq[] = {"refd", "--check-config=x.conf"};
	char *no_file[] = {"refd", "--check-config"};
	refd_opts o;
	char err[256];

	cr_assert_eq(refd_opts_parse(ARGC(check), check, &o, err, sizeof err), 0, "%s", err);
	cr_assert_eq(o.mode, REFD_MODE_CHECK_CONFIG);
	cr_assert_str_eq(o.conf_path, "/etc/ntplab/refd.conf");
	cr_assert_eq(refd_opts_parse(ARGC(check_eq), check_eq, &o, err, sizeof err), 0, "%s", err);
	cr_assert_str_eq(o.conf_path, "x.conf");
	cr_assert_eq(refd_opts_parse(ARGC(no_file), no_file, &o, err, sizeof err), -1);
	cr_assert(strstr(err, "'--check-config' needs a value") != NULL, "%s", err);
}

/* Issue 11 item 9: strtod/strtol took "0x10" as 16, "inf", "nan" and
 * leading blanks.  Every number on the command line is plain decimal now. */
Test(refd_opts, numbers_are_plain_decimal_only)
{
	static const struct {
		const char *opt, *value, *want;
	} cases[] = {
	        {"--clock-offset", "0x10", "expected seconds"},
	        {"--clock-offset", "-0x10", "expected seconds"},
	        {"--clock-offset", "0x1p3", "expected seconds"},
	        {"--clock-offset", "inf", "expected seconds"},
	        {"--clock-offset", "-infinity", "expected seconds"},
	        {"--clock-offset", "nan", "expected seconds"},
	        {"--clock-offset", " 5", "expected seconds"},
	        {"--clock-offset", "5 ", "expected seconds"},
	        {"--clock-offset", "1e999", "expected seconds"},
	        {"--clock-offset", "", "expected seconds"},
	        {"--clock-offset", ".", "expected seconds"},
	        {"--clock-freq", "0x10", "ppm"},
	        {"--clock-freq", "NaN", "ppm"},
	        {"-p", "0x7b", "port number"},
	        {"-p", " 123", "port number"},
	        {"-p", "+123", "port number"},
	        {"-p", "12.0", "port number"},
	        {"--server-port", "0x7b", "port number"},
	        {"--fault", "falseticker offset=0x10", "offset '0x10'"},
	        {"--fault", "huge-rootdisp rootdisp=inf", "rootdisp 'inf'"},
	        {"--fault", "stale-reftime stale=nan", "stale 'nan'"},
	        {"--fault", "wrong-leap leap=0x1", "leap '0x1'"},
	        {"--fault", "wrong-leap leap=+1", "leap '+1'"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *argv[] = {"refd", "-c", "f", (char *)cases[i].opt, (char *)cases[i].value};
		refd_opts o;
		char err[256] = "";

		cr_assert_eq(refd_opts_parse(ARGC(argv), argv, &o, err, sizeof err), -1,
		             "%s '%s' accepted", cases[i].opt, cases[i].value);
		cr_assert(strstr(err, cases[i].want) != NULL, "%s '%s': '%s' lacks '%s'",
		          cases[i].opt, cases[i].value, err, cases[i].want);
		cr_assert(strstr(err, cases[i].opt) != NULL, "the option is named: %s", err);
	}
}

Test(refd_opts, query_and_decimal_forms_that_stay_accepted)
{
	char *q_hex[] = {"refd", "-Q", "h", "-t", "0x1"};
	char *q_inf[] = {"refd", "-Q", "h", "-t", "inf"};
	char *q_n[] = {"refd", "-Q", "h", "-n", "0x2"};
	char *q_off[] = {"refd", "-Q", "h", "--clock-offset", "nan"};
	char *ok[] = {"refd", "-c", "f",   "--clock-offset", "-.5e1", "--clock-freq",
	              "+12.", "-p", "0123"};
	refd_opts o;
	char err[256];

	cr_assert_eq(refd_opts_parse(ARGC(q_hex), q_hex, &o, err, sizeof err), -1);
	cr_assert(strstr(err, "-t '0x1'") != NULL, "%s", err);
	cr_assert_eq(refd_opts_parse(ARGC(q_inf), q_inf, &o, err, sizeof err), -1);
	cr_assert_eq(refd_opts_parse(ARGC(q_n), q_n, &o, err, sizeof err), -1);
	cr_assert_eq(refd_opts_parse(ARGC(q_off), q_off, &o, err, sizeof err), -1);
	cr_assert_eq(refd_opts_parse(ARGC(ok), ok, &o, err, sizeof err), 0, "%s", err);
	cr_assert_float_eq(o.clock_offset, -5.0, 1e-12);
	cr_assert_float_eq(o.clock_freq_ppm, 12.0, 1e-12);
	cr_assert_eq(o.port, 123, "leading zeros are still decimal, not octal");
}

/* Issue 11 item 9: a bad --listen was found only when binding (exit 1);
 * it is a command-line error (exit 2) like any other. */
Test(refd_opts, listen_syntax_is_checked_on_the_command_line)
{
	static const struct {
		const char *value, *want;
	} cases[] = {
	        {"127.0.0.1:99999", "port '99999'"},
	        {"127.0.0.1:0x7b", "port '0x7b'"},
	        {"127.0.0.1:", "port ''"},
	        {"[::1", "'[' without ']'"},
	        {"[::1]x", "after ']'"},
	        {"ntp.example.org", "not a numeric IPv4 or IPv6 address"},
	        {"300.1.2.3:123", "not a numeric IPv4 or IPv6 address"},
	        {":123", "empty host"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *argv[] = {"refd", "-c", "f", "--listen", (char *)cases[i].value};
		refd_opts o;
		char err[256] = "";

		cr_assert_eq(refd_opts_parse(ARGC(argv), argv, &o, err, sizeof err), -1,
		             "--listen '%s' accepted", cases[i].value);
		cr_assert(strstr(err, cases[i].want) != NULL, "'%s' lacks '%s'", err,
		          cases[i].want);
		cr_assert(strstr(err, "--listen") != NULL, "the option is named: %s", err);
	}
}

/* --workers N|auto (issue 17 §4): 1 by default, auto = the online CPUs
 * within 1..64, anything else an error naming the option and the value. */
Test(refd_opts, workers_takes_a_count_or_auto)
{
	char *one[] = {"refd", "-c", "f"};
	char *four[] = {"refd", "-c", "f", "--workers", "4"};
	char *autov[] = {"refd", "-c", "f", "--workers=auto"};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	refd_opts o;
	char err[256];

	cr_assert_eq(refd_opts_parse(ARGC(one), one, &o, err, sizeof err), 0, "%s", err);
	cr_assert_eq(o.workers, 1);
	cr_assert_eq(refd_opts_parse(ARGC(four), four, &o, err, sizeof err), 0, "%s", err);
	cr_assert_eq(o.workers, 4);
	cr_assert_eq(refd_opts_parse(ARGC(autov), autov, &o, err, sizeof err), 0, "%s", err);
	cr_assert_eq(o.workers, cpus < 1 ? 1 : cpus > REFD_WORKERS_MAX ? REFD_WORKERS_MAX : cpus);
	for (size_t i = 0; i < 6; i++) {
		static const char *const bad[] = {"0", "65", "-1", "two", "0x2", ""};
		char *argv[] = {"refd", "-c", "f", "--workers", (char *)bad[i]};

		cr_assert_eq(refd_opts_parse(ARGC(argv), argv, &o, err, sizeof err), -1, "%s",
		             bad[i]);
		cr_assert(strstr(err, "--workers") != NULL && strstr(err, bad[i]) != NULL, "%s",
		          err);
	}
}
