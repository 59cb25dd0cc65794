/* SPDX-License-Identifier: BSD-2-Clause */
/* core/ntp_conf: the seed's ntp.conf files, distribution defaults, every error path. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntp_conf.h"

/* ntp_conf is about 60 KB: static storage, not the test's stack.  Criterion
 * runs each test in its own process, so tests do not share it. */
static ntp_conf conf;

#define RES_SEED_DEFAULT (NTP_RES_NOMODIFY | NTP_RES_NOTRAP | NTP_RES_NOPEER | NTP_RES_NOQUERY)

static unsigned
conf_parse_text(const char *text)
{
	ntp_conf_init(&conf, "test.conf");
	return ntp_conf_parse(&conf, text, strlen(text));
}

static unsigned
conf_parse_file(const char *name)
{
	char path[1024];
	char *buf;
	long len;
	FILE *f;
	unsigned n;

	snprintf(path, sizeof path, "%s/conf/%s", NTPLAB_TEST_DATA, name);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	cr_assert_gt(len, 0);
	rewind(f);
	buf = malloc((size_t)len); /* exactly len bytes, no NUL: ASan sees over-reads */
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	ntp_conf_init(&conf, name);
	n = ntp_conf_parse(&conf, buf, (size_t)len);
	free(buf);
	return n;
}

static const char *
conf_diag(size_t i)
{
	static char buf[512];

	cr_assert_lt(i, conf.n_diags, "diagnostic %zu of %zu", i, conf.n_diags);
	return ntp_conf_diag_format(&conf, &conf.diags[i], buf, sizeof buf);
}

static ntp_addr
conf_ip(const char *s)
{
	ntp_addr a;

	cr_assert(ntp_addr_parse(s, &a), "bad test address %s", s);
	return a;
}

static void
conf_expect_addr(const ntp_addr *got, const char *want)
{
	char buf[64];

	if (want == NULL) {
		cr_assert_eq(got->family, NTP_AF_NONE, "family %d, want none", got->family);
		return;
	}
	ntp_addr w = conf_ip(want);
	cr_assert(ntp_addr_same_host(got, &w), "address %s, want %s",
	          ntp_addr_format(got, buf, sizeof buf), want);
	cr_assert_eq(got->port, 0);
}

/* Every field of servers[i]. */
static void
conf_expect_server(size_t i, int kind, const char *host, const char *addr, uint32_t flags,
                   int minpoll, int maxpoll, int line)
{
	const ntp_conf_server *s;

	cr_assert_lt(i, conf.n_servers, "server %zu of %zu", i, conf.n_servers);
	s = &conf.servers[i];
	cr_assert_eq(s->kind, kind, "server %zu kind %d", i, s->kind);
	cr_assert_str_eq(s->host, host);
	conf_expect_addr(&s->addr, addr);
	cr_assert_eq(s->flags, flags, "server %zu flags %#x", i, s->flags);
	cr_assert_eq(s->minpoll, minpoll, "server %zu minpoll %d", i, s->minpoll);
	cr_assert_eq(s->maxpoll, maxpoll, "server %zu maxpoll %d", i, s->maxpoll);
	cr_assert_eq(s->key, 0u);
	cr_assert_eq(s->version, 4);
	cr_assert_eq(s->line, line, "server %zu line %d", i, s->line);
	if (kind != NTP_CONF_LOCAL_CLOCK) {
		cr_assert_eq(s->unit, 0);
		cr_assert_eq(s->stratum, 0);
		cr_assert_float_eq(s->time1, 0.0, 0.0);
	}
}

static void
conf_expect_local(size_t i, int unit, int stratum, double time1)
{
	const ntp_conf_server *s = &conf.servers[i];

	cr_assert_eq(s->kind, NTP_CONF_LOCAL_CLOCK);
	cr_assert_eq(s->unit, unit);
	cr_assert_eq(s->stratum, stratum);
	cr_assert_float_eq(s->time1, time1, 1e-12);
}

/* Every field of restrict_list[i]; addr NULL for default/source. */
static void
conf_expect_restrict(size_t i, int kind, const char *addr, int prefix, uint32_t flags, int line)
{
	const ntp_restrict_entry *e;

	cr_assert_lt(i, conf.n_restrict, "restrict %zu of %zu", i, conf.n_restrict);
	e = &conf.restrict_list[i];
	cr_assert_eq(e->kind, kind, "restrict %zu kind %d", i, e->kind);
	cr_assert_eq(e->flags, flags, "restrict %zu flags %#x", i, e->flags);
	cr_assert_eq(e->line, line, "restrict %zu line %d", i, e->line);
	if (kind == NTP_RES_ADDR) {
		conf_expect_addr(&e->addr, addr);
		ntp_addr m = ntp_addr_mask_from_prefix(e->addr.family, prefix);
		cr_assert(ntp_addr_same_host(&e->mask, &m), "restrict %zu mask /%d, want /%d", i,
		          ntp_addr_prefix_len(&e->mask), prefix);
	}
}

/* Everything a file without those directives leaves at its default. */
static void
conf_expect_untouched_tuning(void)
{
	cr_assert_float_eq(conf.tinker_step, -1.0, 0.0);
	cr_assert_float_eq(conf.tinker_stepout, -1.0, 0.0);
	cr_assert_float_eq(conf.tinker_panic, -1.0, 0.0);
	cr_assert_eq(conf.tos_orphan, -1);
	cr_assert_float_eq(conf.tos_maxdist, -1.0, 0.0);
	cr_assert_float_eq(conf.tos_orphanwait, -1.0, 0.0);
	cr_assert_eq(conf.discard_average, -1);
	cr_assert_eq(conf.discard_minimum, -1);
	cr_assert_eq(conf.statistics, 0u);
	cr_assert_eq(conf.n_filegen, 0u);
	cr_assert_str_eq(conf.statsdir, "");
	cr_assert_eq(conf.disable_ntp, false);
	cr_assert_eq(conf.port, 123);
}

/* The two CentOS 7 warnings, at the given lines, and its `keys` line. */
static void
conf_expect_centos_warnings(size_t first, const char *file, int inc, int keys, int mon)
{
	char want[256];

	snprintf(want, sizeof want,
	         "%s:%d:1: warning: 'includefile' is not supported by ntplab; line ignored "
	         "(hint: ntplab reads one file; paste the included directives into it)",
	         file, inc);
	cr_assert_str_eq(conf_diag(first), want);
	/* `keys` is read now (the caller loads the file) */
	cr_assert_str_eq(conf.keysfile, "/etc/ntp/keys");
	cr_assert_eq(conf.keys_line, keys);
	snprintf(want, sizeof want, "%s:%d:9: warning: 'disable monitor' is not supported; ignored",
	         file, mon);
	cr_assert_str_eq(conf_diag(first + 1), want);
}

/* --------------------------------------------------------------------- */

Test(conf_seed, host131_lan_server_on_local_clock)
{
	cr_assert_eq(conf_parse_file("seed-host131.conf"), 0u);
	cr_assert_eq(conf.n_warnings, 2u);
	cr_assert_eq(conf.n_diags, 2u);
	conf_expect_centos_warnings(0, "seed-host131.conf", 39, 43, 61);

	cr_assert_eq(conf.n_servers, 1u);
	/* server 127.127.1.0: refclock maxpoll defaults to its minpoll (ntpd newpeer). */
	conf_expect_server(0, NTP_CONF_LOCAL_CLOCK, "127.127.1.0", NULL, 0, 6, 6, 26);
	conf_expect_local(0, 0, 5, 0.0); /* fudge 127.127.1.0 stratum 5 */

	cr_assert_eq(conf.n_restrict, 4u);
	conf_expect_restrict(0, NTP_RES_DEFAULT, NULL, 0, RES_SEED_DEFAULT, 8);
	cr_assert_eq(conf.restrict_list[0].addr.family, NTP_AF_NONE);
	conf_expect_restrict(1, NTP_RES_ADDR, "127.0.0.1", 32, 0, 13);
	conf_expect_restrict(2, NTP_RES_ADDR, "::1", 128, 0, 14);
	conf_expect_restrict(3, NTP_RES_ADDR, "192.168.163.0", 24,
	                     NTP_RES_NOMODIFY | NTP_RES_NOTRAP, 17);

	cr_assert_str_eq(conf.driftfile, "/var/lib/ntp/drift");
	cr_assert_str_eq(conf.logfile, "");
	cr_assert_eq(conf.tos_minsane, -1);
	cr_assert_eq(conf.tos_minclock, -1);
	conf_expect_untouched_tuning();
	cr_assert_str_eq(conf.filename, "seed-host131.conf");
}

Test(conf_seed, host132_lan_client)
{
	cr_assert_eq(conf_parse_file("seed-host132.conf"), 0u);
	cr_assert_eq(conf.n_warnings, 2u);
	conf_expect_centos_warnings(0, "seed-host132.conf", 37, 41, 59);

	cr_assert_eq(conf.n_servers, 1u);
	conf_expect_server(0, NTP_CONF_SERVER, "192.168.163.131", "192.168.163.131", 0, 6, 10, 25);

	cr_assert_eq(conf.n_restrict, 3u);
	conf_expect_restrict(0, NTP_RES_DEFAULT, NULL, 0, RES_SEED_DEFAULT, 8);
	conf_expect_restrict(1, NTP_RES_ADDR, "127.0.0.1", 32, 0, 13);
	conf_expect_restrict(2, NTP_RES_ADDR, "::1", 128, 0, 14);
	cr_assert_str_eq(conf.driftfile, "/var/lib/ntp/drift");
	conf_expect_untouched_tuning();
}

Test(conf_seed, option_walkthrough_file)
{
	cr_assert_eq(conf_parse_file("seed-options.conf"), 0u);
	/* The post's "restrict 192.168.163.131 mask 255.255.255.0": ntpd keeps the net. */
	cr_assert_eq(conf.n_warnings, 1u);
	cr_assert_str_eq(conf_diag(0), "seed-options.conf:18:10: warning: '192.168.163.131' has "
	                               "host bits outside the mask (/24); using 192.168.163.0");

	cr_assert_eq(conf.n_servers, 3u);
	conf_expect_server(0, NTP_CONF_SERVER, "192.168.163.131", "192.168.163.131",
	                   NTP_CONF_F_PREFER, 6, 10, 7);
	conf_expect_server(1, NTP_CONF_SERVER, "192.168.163.132", "192.168.163.132", 0, 6, 10, 8);
	conf_expect_server(2, NTP_CONF_LOCAL_CLOCK, "127.127.1.0", NULL, 0, 6, 6, 11);
	conf_expect_local(2, 0, 5, 0.0);

	cr_assert_str_eq(conf.logfile, "/var/log/ntpd.log");
	cr_assert_str_eq(conf.driftfile, "/var/lib/ntp/drift");

	cr_assert_eq(conf.n_restrict, 7u);
	conf_expect_restrict(0, NTP_RES_ADDR, "192.168.163.0", 24,
	                     NTP_RES_NOMODIFY | NTP_RES_NOTRAP, 18);
	conf_expect_restrict(1, NTP_RES_ADDR, "192.168.163.200", 32, NTP_RES_IGNORE, 21);
	conf_expect_restrict(2, NTP_RES_ADDR, "192.168.163.201", 32, NTP_RES_NOMODIFY, 22);
	conf_expect_restrict(3, NTP_RES_ADDR, "192.168.163.202", 32, NTP_RES_NOQUERY, 23);
	conf_expect_restrict(4, NTP_RES_ADDR, "192.168.163.203", 32, NTP_RES_NOTRAP, 24);
	conf_expect_restrict(5, NTP_RES_ADDR, "192.168.163.204", 32, NTP_RES_NOTRUST, 25);
	conf_expect_restrict(6, NTP_RES_ADDR, "192.168.163.205", 32, NTP_RES_NOPEER, 26);
	conf_expect_untouched_tuning();
}

Test(conf_seed, post_single_line_examples)
{
	static const struct {
		const char *text;
		const char *host;
		const char *addr;
		uint32_t flags;
	} ex[] = {
	        {"server 192.168.163.131", "192.168.163.131", "192.168.163.131", 0},
	        {"server host131", "host131", NULL, 0},
	        {"server 192.168.163.131 prefer", "192.168.163.131", "192.168.163.131",
	         NTP_CONF_F_PREFER},
	        {"server 192.168.163.131 burst", "192.168.163.131", "192.168.163.131",
	         NTP_CONF_F_BURST},
	        {"server 192.168.163.131 iburst", "192.168.163.131", "192.168.163.131",
	         NTP_CONF_F_IBURST},
	};

	for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
		cr_assert_eq(conf_parse_text(ex[i].text), 0u, "%s", ex[i].text);
		cr_assert_eq(conf.n_diags, 0u, "%s", ex[i].text);
		cr_assert_eq(conf.n_servers, 1u);
		conf_expect_server(0, NTP_CONF_SERVER, ex[i].host, ex[i].addr, ex[i].flags, 6, 10,
		                   1);
	}
}

Test(conf_seed, post_examples_pasted_together_keep_the_first)
{
	cr_assert_eq(conf_parse_text("server 192.168.163.131\n"
	                             "server 192.168.163.131 prefer\n"
	                             "server 192.168.163.131 burst\n"
	                             "server 192.168.163.131 iburst\n"),
	             0u);
	cr_assert_eq(conf.n_servers, 1u);
	conf_expect_server(0, NTP_CONF_SERVER, "192.168.163.131", "192.168.163.131", 0, 6, 10, 1);
	cr_assert_eq(conf.n_warnings, 3u);
	for (size_t i = 0; i < 3; i++) {
		char want[200];
		snprintf(want, sizeof want,
		         "test.conf:%zu:8: warning: duplicate association for '192.168.163.131' "
		         "(first on line 1); line ignored (hint: ntpd keeps only the first "
		         "association to a source)",
		         i + 2);
		cr_assert_str_eq(conf_diag(i), want);
	}
}

Test(conf_seed, fudge_may_come_before_its_server)
{
	cr_assert_eq(conf_parse_text("fudge 127.127.1.0 stratum 10\nserver 127.127.1.0\n"), 0u);
	cr_assert_eq(conf.n_diags, 0u);
	conf_expect_server(0, NTP_CONF_LOCAL_CLOCK, "127.127.1.0", NULL, 0, 6, 6, 2);
	conf_expect_local(0, 0, 10, 0.0);
}

/* --------------------------------------------------------------------- */

Test(conf_defaults, centos7_default_ntp_conf)
{
	cr_assert_eq(conf_parse_file("centos7-default.conf"), 0u);
	cr_assert_eq(conf.n_warnings, 2u);
	cr_assert_eq(conf.n_diags, 2u);
	conf_expect_centos_warnings(0, "centos7-default.conf", 36, 40, 58);
	cr_assert_eq(conf.n_servers, 4u);
	for (size_t i = 0; i < 4; i++) {
		char host[64];
		snprintf(host, sizeof host, "%zu.centos.pool.ntp.org", i);
		conf_expect_server(i, NTP_CONF_SERVER, host, NULL, NTP_CONF_F_IBURST, 6, 10,
		                   21 + (int)i);
	}
	cr_assert_eq(conf.n_restrict, 3u);
	conf_expect_restrict(0, NTP_RES_DEFAULT, NULL, 0, RES_SEED_DEFAULT, 8);
	conf_expect_restrict(1, NTP_RES_ADDR, "127.0.0.1", 32, 0, 13);
	conf_expect_restrict(2, NTP_RES_ADDR, "::1", 128, 0, 14);
	cr_assert_str_eq(conf.driftfile, "/var/lib/ntp/drift");
	conf_expect_untouched_tuning();
}

Test(conf_defaults, debian_ntpsec_default_ntp_conf)
{
	cr_assert_eq(conf_parse_file("debian-ntpsec.conf"), 0u);
	cr_assert_eq(conf.n_warnings, 1u);
	cr_assert_str_eq(conf.leapfile, "/usr/share/zoneinfo/leap-seconds.list");
	cr_assert_str_eq(conf_diag(0), "debian-ntpsec.conf:20:5: warning: tos maxclock is not "
	                               "supported; ignored");
	cr_assert_eq(conf.n_servers, 4u);
	for (size_t i = 0; i < 4; i++) {
		char host[64];
		snprintf(host, sizeof host, "%zu.debian.pool.ntp.org", i);
		conf_expect_server(i, NTP_CONF_POOL, host, NULL, NTP_CONF_F_IBURST, 6, 10,
		                   34 + (int)i);
	}
	cr_assert_eq(conf.tos_minclock, 4);
	cr_assert_eq(conf.tos_minsane, 3);
	/* kod together with limited: no "kod has no effect" warning. */
	cr_assert_eq(conf.n_restrict, 3u);
	conf_expect_restrict(0, NTP_RES_DEFAULT, NULL, 0,
	                     NTP_RES_KOD | NTP_RES_NOMODIFY | NTP_RES_NOPEER | NTP_RES_NOQUERY |
	                             NTP_RES_LIMITED,
	                     47);
	conf_expect_restrict(1, NTP_RES_ADDR, "127.0.0.1", 32, 0, 50);
	conf_expect_restrict(2, NTP_RES_ADDR, "::1", 128, 0, 51);
	cr_assert_str_eq(conf.driftfile, "/var/lib/ntpsec/ntp.drift");
	cr_assert_str_eq(conf.statsdir, ""); /* commented out */
}

Test(conf_defaults, init_and_effective_values)
{
	ntp_conf_init(&conf, NULL);
	cr_assert_str_eq(conf.filename, "ntp.conf");
	cr_assert_eq(conf.n_servers, 0u);
	cr_assert_eq(conf.n_restrict, 0u);
	conf_expect_untouched_tuning();
	cr_assert_float_eq(ntp_conf_step(&conf), 0.128, 1e-12);
	/* NTPsec's compiled CLOCK_MINSTEP, not RFC 5905's WATCH (900 s) */
	cr_assert_float_eq(ntp_conf_stepout(&conf), 300.0, 1e-12);
	cr_assert_float_eq(ntp_conf_panic(&conf), 1000.0, 1e-12);
	cr_assert_float_eq(ntp_conf_step_fwd(&conf), 0.128, 1e-12);
	cr_assert_float_eq(ntp_conf_step_back(&conf), 0.128, 1e-12);
	cr_assert(!conf.have_tinker_freq);
	cr_assert_float_eq(conf.tinker_allan, -1.0, 0.0);

	cr_assert_eq(conf_parse_text("tinker step 0 panic 0 stepout 300\n"), 0u);
	cr_assert_float_eq(ntp_conf_step(&conf), 0.0, 0.0);
	cr_assert_float_eq(ntp_conf_panic(&conf), 0.0, 0.0);
	cr_assert_float_eq(ntp_conf_stepout(&conf), 300.0, 1e-12);
}

Test(conf_defaults, empty_and_null_text)
{
	ntp_conf_init(&conf, "x");
	cr_assert_eq(ntp_conf_parse(&conf, NULL, 0), 0u);
	cr_assert_eq(conf_parse_text(""), 0u);
	cr_assert_eq(conf_parse_text("\n\n   \t\r\n# only a comment\n"), 0u);
	cr_assert_eq(conf.n_diags, 0u);
	cr_assert_eq(conf.n_servers, 0u);
}

/* --------------------------------------------------------------------- */

Test(conf_syntax, crlf_tabs_comments_and_quotes)
{
	cr_assert_eq(conf_parse_text("\tserver\t10.0.0.1\tiburst # the LAN server\r\n"
	                             "driftfile \"/var/lib/my drift\"   # quoted\r\n"
	                             "logfile /var/log/ntp.log#no blank before the comment"),
	             0u);
	cr_assert_eq(conf.n_diags, 0u);
	conf_expect_server(0, NTP_CONF_SERVER, "10.0.0.1", "10.0.0.1", NTP_CONF_F_IBURST, 6, 10, 1);
	cr_assert_str_eq(conf.driftfile, "/var/lib/my drift");
	cr_assert_str_eq(conf.logfile, "/var/log/ntp.log");
}

Test(conf_syntax, columns_count_bytes_from_one)
{
	cr_assert_eq(conf_parse_text("\t  sever x\n"), 1u);
	cr_assert_str_eq(conf_diag(0), "test.conf:1:4: error: unknown directive 'sever' (hint: "
	                               "did you mean 'server'?)");
}

Test(conf_syntax, nul_byte_in_a_word_is_an_error_and_later_lines_still_parse)
{
	static const char text[] = "server 10.0.0.1\0 iburst\nserver 10.0.0.2\n# \0 in a comment\n";

	ntp_conf_init(&conf, "nul.conf");
	cr_assert_eq(ntp_conf_parse(&conf, text, sizeof text - 1), 1u);
	cr_assert_str_eq(conf_diag(0), "nul.conf:1:16: error: control byte 0x00 in a word; line "
	                               "ignored (hint: only a comment may contain control "
	                               "characters)");
	cr_assert_eq(conf.n_servers, 1u);
	conf_expect_server(0, NTP_CONF_SERVER, "10.0.0.2", "10.0.0.2", 0, 6, 10, 2);
}

Test(conf_syntax, text_without_terminating_nul)
{
	static const char src[] = "server 10.0.0.1 prefer";
	char *buf = malloc(sizeof src - 1); /* no room for a NUL: ASan catches over-reads */

	cr_assert_not_null(buf);
	memcpy(buf, src, sizeof src - 1);
	ntp_conf_init(&conf, "t");
	cr_assert_eq(ntp_conf_parse(&conf, buf, sizeof src - 1), 0u);
	free(buf);
	conf_expect_server(0, NTP_CONF_SERVER, "10.0.0.1", "10.0.0.1", NTP_CONF_F_PREFER, 6, 10, 1);
}

Test(conf_syntax, very_long_word_is_cut_with_an_error)
{
	char text[700];

	memcpy(text, "logfile /", 9);
	memset(text + 9, 'a', 299);
	memcpy(text + 308, "\nport 4123\n", 12);
	cr_assert_eq(conf_parse_text(text), 1u);
	cr_assert_str_eq(conf_diag(0),
	                 "test.conf:1:9: error: word '/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	                 "aaaaaaaaaaaaaaaa...' is 300 bytes long, more than 255; "
	                 "line ignored");
	cr_assert_str_eq(conf.logfile, "");
	cr_assert_eq(conf.port, 4123); /* the next line still counts */
}

Test(conf_syntax, longest_word_and_path_fit)
{
	char text[300];

	memcpy(text, "logfile /", 9);
	memset(text + 9, 'b', 254);
	text[263] = '\0';
	cr_assert_eq(conf_parse_text(text), 0u);
	cr_assert_eq(strlen(conf.logfile), 255u);
}

Test(conf_syntax, too_many_words_on_a_line)
{
	char text[1024] = "statistics";

	for (int i = 0; i < 70; i++) {
		strcat(text, " loopstats");
	}
	cr_assert_eq(conf_parse_text(text), 1u);
	cr_assert_str_eq(conf_diag(0), "test.conf:1:1: error: more than 64 words on one line; "
	                               "line ignored");
	cr_assert_eq(conf.statistics, 0u);
}

Test(conf_syntax, unterminated_quote)
{
	cr_assert_eq(conf_parse_text("logfile \"/var/log/x\n"), 1u);
	cr_assert_str_eq(conf_diag(0), "test.conf:1:9: error: unterminated quoted string (hint: "
	                               "close the string with '\"' on the same line)");
}

Test(conf_syntax, non_ascii_words_are_quoted_safely)
{
	cr_assert_eq(conf_parse_text("设定 x\n"), 1u);
	cr_assert_str_eq(conf_diag(0), "test.conf:1:1: error: unknown directive '\?\?\?\?\?\?'");
}

/* --------------------------------------------------------------------- */

Test(conf_server, every_option)
{
	cr_assert_eq(conf_parse_text("server 10.0.0.1 minpoll 4 maxpoll 12 key 42 version 3 "
	                             "noselect true burst\n"
	                             "peer 10.0.0.2 minpoll 0 maxpoll 17 key 65535\n"
	                             "pool pool.example.org\n"),
	             0u);
	cr_assert_eq(conf.n_diags, 0u);
	cr_assert_eq(conf.n_servers, 3u);
	const ntp_conf_server *s = &conf.servers[0];
	cr_assert_eq(s->kind, NTP_CONF_SERVER);
	cr_assert_eq(s->minpoll, 4);
	cr_assert_eq(s->maxpoll, 12);
	cr_assert_eq(s->key, 42u);
	cr_assert_eq(s->version, 3);
	cr_assert_eq(s->flags, NTP_CONF_F_NOSELECT | NTP_CONF_F_TRUE | NTP_CONF_F_BURST);
	s = &conf.servers[1];
	cr_assert_eq(s->kind, NTP_CONF_PEER);
	cr_assert_eq(s->minpoll, 0); /* NTPsec allows 1 s (NTP_MINPOLL 0) */
	cr_assert_eq(s->maxpoll, 17);
	cr_assert_eq(s->key, 65535u);
	conf_expect_server(2, NTP_CONF_POOL, "pool.example.org", NULL, 0, 6, 10, 3);
}

Test(conf_server, ipv6_and_family_flags)
{
	cr_assert_eq(conf_parse_text("server -6 2001:db8::1\n"
	                             "server [2001:db8::2] iburst\n"
	                             "server -4 192.0.2.1\n"),
	             0u);
	conf_expect_server(0, NTP_CONF_SERVER, "2001:db8::1", "2001:db8::1", 0, 6, 10, 1);
	conf_expect_server(1, NTP_CONF_SERVER, "[2001:db8::2]", "2001:db8::2", NTP_CONF_F_IBURST, 6,
	                   10, 2);
	conf_expect_server(2, NTP_CONF_SERVER, "192.0.2.1", "192.0.2.1", 0, 6, 10, 3);

	cr_assert_eq(conf_parse_text("server -4 ::1\n"), 1u);
	cr_assert_str_eq(conf_diag(0), "test.conf:1:8: error: '-4' contradicts the IPv6 address "
	                               "'::1'");
	cr_assert_eq(conf.n_servers, 0u);

	cr_assert_eq(conf_parse_text("server -6 ntp.example.org\n"), 0u);
	cr_assert_str_eq(conf_diag(0), "test.conf:1:8: warning: '-6' with a host name is not kept; "
	                               "the name may resolve to either family (hint: use a numeric "
	                               "address to pin the family)");
	conf_expect_server(0, NTP_CONF_SERVER, "ntp.example.org", NULL, 0, 6, 10, 1);
}

Test(conf_server, bad_addresses)
{
	static const struct {
		const char *text;
		const char *diag;
	} bad[] = {
	        {"server 192.168.163.300", "test.conf:1:8: error: '192.168.163.300' is not a valid "
	                                   "IPv4 address (hint: write four decimal octets, e.g. "
	                                   "192.168.163.131)"},
	        {"server 2001:db8::g", "test.conf:1:8: error: '2001:db8::g' is not a valid IPv6 "
	                               "address"},
	        {"server [::1", "test.conf:1:8: error: '[::1': missing ']'"},
	        {"server fe80::1%eth0",
	         "test.conf:1:8: error: 'fe80::1%eth0': scoped IPv6 addresses "
	         "are not supported (hint: give the address without "
	         "%interface)"},
	        {"server bad!host", "test.conf:1:8: error: 'bad!host' is neither an address nor a "
	                            "valid host name"},
	        {"server -4", "test.conf:1:1: error: 'server' needs an address or host name"},
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_assert_eq(conf_parse_text(bad[i].text), 1u, "%s", bad[i].text);
		cr_assert_str_eq(conf_diag(0), bad[i].diag);
		cr_assert_eq(conf.n_servers, 0u);
	}
}

Test(conf_server, bad_options)
{
	static const struct {
		const char *text;
		const char *diag;
	} bad[] = {
	        {"server x minpoll", "test.conf:1:10: error: 'minpoll' needs an integer"},
	        {"server x minpoll abc", "test.conf:1:18: error: 'minpoll' needs an integer, not "
	                                 "'abc'"},
	        {"server x minpoll 18",
	         "test.conf:1:18: error: minpoll 18 is out of range [-7, 17]"},
	        {"server x maxpoll -8",
	         "test.conf:1:18: error: maxpoll -8 is out of range [-7, 17]"},
	        {"server x minpoll 8 maxpoll 7", "test.conf:1:10: error: minpoll 8 is greater than "
	                                         "maxpoll 7"},
	        {"server x version 5", "test.conf:1:18: error: version 5 is out of range [1, 4]"},
	        {"server x key 0", "test.conf:1:14: error: key 0 is out of range [1, 65535]"},
	        {"server x key 99999999999999",
	         "test.conf:1:14: error: key 99999999999999 is out of "
	         "range [1, 65535]"},
	        {"server x perfer", "test.conf:1:10: error: unknown option 'perfer' for 'server' "
	                            "(hint: did you mean 'prefer'?)"},
	        {"pool x iburts", "test.conf:1:8: error: unknown option 'iburts' for 'pool' (hint: "
	                          "did you mean 'iburst'?)"},
	        {"server x frobnicate", "test.conf:1:10: error: unknown option 'frobnicate' for "
	                                "'server'"},
	        {"server x ttl", "test.conf:1:10: error: 'ttl' needs a value"},
	        {"pool 127.127.1.0", "test.conf:1:1: error: a reference clock needs 'server', not "
	                             "'pool' (hint: write 'server 127.127.1.u')"},
	        {"server -6 127.127.1.0",
	         "test.conf:1:8: error: '-6' contradicts the reference clock "
	         "127.127.1.0"},
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_assert_eq(conf_parse_text(bad[i].text), 1u, "%s", bad[i].text);
		cr_assert_str_eq(conf_diag(0), bad[i].diag);
		cr_assert_eq(conf.n_servers, 0u, "%s", bad[i].text);
	}
}

Test(conf_server, unsupported_options_warn_and_keep_the_association)
{
	cr_assert_eq(conf_parse_text("server x xleave ttl 5 autokey iburst nts\n"), 0u);
	cr_assert_eq(conf.n_warnings, 4u);
	cr_assert_str_eq(conf_diag(0), "test.conf:1:10: warning: option 'xleave' is not "
	                               "supported; ignored");
	cr_assert_str_eq(conf_diag(1), "test.conf:1:17: warning: option 'ttl' is not supported; "
	                               "ignored");
	cr_assert_str_eq(conf_diag(2), "test.conf:1:23: warning: option 'autokey' is not "
	                               "supported; ignored");
	cr_assert_str_eq(conf_diag(3), "test.conf:1:38: warning: option 'nts' is not supported; "
	                               "ignored");
	conf_expect_server(0, NTP_CONF_SERVER, "x", NULL, NTP_CONF_F_IBURST, 6, 10, 1);
}

Test(conf_server, poll_limits_settle_as_ntpd_does)
{
	/* minpoll alone above the default maxpoll 10: ntpd lowers it to 10. */
	cr_assert_eq(conf_parse_text("server a minpoll 12\nserver b maxpoll 4\n"), 0u);
	cr_assert_eq(conf.n_warnings, 1u);
	cr_assert_str_eq(conf_diag(0), "test.conf:1:10: warning: minpoll 12 is above the default "
	                               "maxpoll 10; ntpd lowers minpoll to 10 (hint: add 'maxpoll "
	                               "12')");
	conf_expect_server(0, NTP_CONF_SERVER, "a", NULL, 0, 10, 10, 1);
	/* maxpoll alone below the default minpoll 6: minpoll follows it down. */
	conf_expect_server(1, NTP_CONF_SERVER, "b", NULL, 0, 4, 4, 2);
}

Test(conf_server, other_refclock_types_warn_and_stay_out)
{
	cr_assert_eq(conf_parse_text("server 127.127.20.0 mode 1\nserver 127.127.28.0\n"), 0u);
	cr_assert_eq(conf.n_servers, 0u);
	cr_assert_eq(conf.n_warnings, 2u);
	cr_assert_str_eq(conf_diag(0), "test.conf:1:8: warning: reference clock type 20 "
	                               "(127.127.20.0) is not supported; line ignored (hint: "
	                               "ntplab simulates only the local clock, 127.127.1.u)");
	cr_assert_str_eq(conf_diag(1), "test.conf:2:8: warning: reference clock type 28 "
	                               "(127.127.28.0) is not supported; line ignored (hint: "
	                               "ntplab simulates only the local clock, 127.127.1.u)");
}

Test(conf_server, capacity)
{
	static char text[64 * 40];
	char *p = text;

	for (int i = 0; i <= NTP_CONF_MAX_SERVERS; i++) {
		p += sprintf(p, "server 10.0.%d.%d\n", i / 256, i % 256);
	}
	cr_assert_eq(conf_parse_text(text), 1u);
	cr_assert_eq(conf.n_servers, (size_t)NTP_CONF_MAX_SERVERS);
	cr_assert_str_eq(conf_diag(0), "test.conf:65:8: error: more than 64 associations");
}

/* --------------------------------------------------------------------- */

Test(conf_local, server_form_with_options)
{
	cr_assert_eq(conf_parse_text("server 127.127.1.1 prefer minpoll 4\n"
	                             "fudge 127.127.1.1 stratum 10 time1 -0.25\n"),
	             0u);
	cr_assert_eq(conf.n_diags, 0u);
	conf_expect_server(0, NTP_CONF_LOCAL_CLOCK, "127.127.1.1", NULL, NTP_CONF_F_PREFER, 4, 4,
	                   1);
	conf_expect_local(0, 1, 10, -0.25);
}

Test(conf_local, refclock_form)
{
	cr_assert_eq(conf_parse_text("refclock local unit 2 stratum 8 minpoll 4 maxpoll 5 prefer "
	                             "time1 0.5\n"
	                             "refclock local\n"),
	             0u);
	cr_assert_eq(conf.n_diags, 0u);
	conf_expect_server(0, NTP_CONF_LOCAL_CLOCK, "127.127.1.2", NULL, NTP_CONF_F_PREFER, 4, 5,
	                   1);
	conf_expect_local(0, 2, 8, 0.5);
	conf_expect_server(1, NTP_CONF_LOCAL_CLOCK, "127.127.1.0", NULL, 0, 6, 6, 2);
	conf_expect_local(1, 0, 5, 0.0);
}

Test(conf_local, refclock_and_fudge_meet_by_unit)
{
	cr_assert_eq(conf_parse_text("refclock local unit 3\nfudge 127.127.1.3 stratum 12\n"), 0u);
	conf_expect_local(0, 3, 12, 0.0);
	cr_assert_eq(conf_parse_text("refclock local\nserver 127.127.1.0\n"), 0u);
	cr_assert_eq(conf.n_servers, 1u);
	cr_assert_str_eq(conf_diag(0), "test.conf:2:8: warning: duplicate association for "
	                               "'127.127.1.0' (first on line 1); line ignored (hint: ntpd "
	                               "keeps only the first association to a source)");
}

Test(conf_local, fudge_errors)
{
	static const struct {
		const char *text;
		const char *diag;
	} bad[] = {
	        {"fudge 127.127.1.0 stratum 5",
	         "test.conf:1:7: error: fudge for 127.127.1.0, which "
	         "no line configures (hint: add 'server 127.127.1.0' "
	         "(or 'refclock local unit 0'))"},
	        {"server 127.127.1.0\nfudge 127.127.1.0 stratum 16",
	         "test.conf:2:27: error: stratum 16 is out of range [0, 15]"},
	        {"server 127.127.1.0\nfudge 127.127.1.0 stratum",
	         "test.conf:2:19: error: 'stratum' "
	         "needs an integer"},
	        {"server 127.127.1.0\nfudge 127.127.1.0 time1 soon",
	         "test.conf:2:25: error: 'time1' needs a number, not 'soon'"},
	        {"server 127.127.1.0\nfudge 127.127.1.0 time1 nan",
	         "test.conf:2:25: error: 'time1' needs a number, not 'nan'"},
	        {"server 127.127.1.0\nfudge 127.127.1.0 unit 1",
	         "test.conf:2:19: error: unknown option 'unit' for 'fudge'"},
	        {"server 127.127.1.0\nfudge 127.127.1.0 stratun 3",
	         "test.conf:2:19: error: unknown option 'stratun' for 'fudge' (hint: did you mean "
	         "'stratum'?)"},
	        {"server 127.127.1.0\nfudge 127.127.1.0 refid TOOLONG",
	         "test.conf:2:25: error: refid 'TOOLONG' is not 1 to 4 characters"},
	        {"fudge 10.0.0.1 stratum 5",
	         "test.conf:1:7: error: '10.0.0.1' is not a reference "
	         "clock address 127.127.t.u (hint: fudge only applies to "
	         "reference clocks such as 127.127.1.0)"},
	        {"fudge",
	         "test.conf:1:1: error: 'fudge' needs a reference clock address 127.127.t.u"},
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_assert_eq(conf_parse_text(bad[i].text), 1u, "%s", bad[i].text);
		cr_assert_str_eq(conf_diag(0), bad[i].diag);
	}
	/* The failed fudge changed nothing. */
	cr_assert_eq(conf_parse_text("server 127.127.1.0\nfudge 127.127.1.0 stratum 9 time1 x\n"),
	             1u);
	conf_expect_local(0, 0, 5, 0.0);
}

Test(conf_local, fudge_capacity)
{
	static char text[80 * 40];
	char *p = text + sprintf(text, "server 127.127.1.0\n");

	for (int i = 0; i <= NTP_CONF_MAX_SERVERS; i++) {
		p += sprintf(p, "fudge 127.127.1.0 stratum %d\n", i % 16);
	}
	cr_assert_eq(conf_parse_text(text), 1u);
	cr_assert_str_eq(conf_diag(0), "test.conf:66:7: error: more than 64 fudge lines");
	conf_expect_local(0, 0, 63 % 16, 0.0); /* the 64th fudge applied last */
}

Test(conf_local, fudge_warnings)
{
	cr_assert_eq(conf_parse_text("server 127.127.1.0\n"
	                             "fudge 127.127.1.0 refid GPS time2 0.1 flag1 1\n"
	                             "fudge 127.127.20.0 flag1 1\n"),
	             0u);
	cr_assert_eq(conf.n_warnings, 4u);
	cr_assert_str_eq(conf_diag(0), "test.conf:2:19: warning: refid is not stored; ntplab's "
	                               "local clock always uses refid LOCL");
	cr_assert_str_eq(conf_diag(1), "test.conf:2:29: warning: fudge option 'time2' is not "
	                               "supported; ignored");
	cr_assert_str_eq(conf_diag(2), "test.conf:2:39: warning: fudge option 'flag1' is not "
	                               "supported; ignored");
	cr_assert_str_eq(conf_diag(3), "test.conf:3:7: warning: reference clock type 20 "
	                               "(127.127.20.0) is not supported; fudge ignored (hint: "
	                               "ntplab simulates only the local clock, 127.127.1.u)");
	conf_expect_local(0, 0, 5, 0.0);
}

Test(conf_local, refclock_errors_and_other_drivers)
{
	cr_assert_eq(conf_parse_text("refclock lcoal\n"), 1u);
	cr_assert_str_eq(conf_diag(0), "test.conf:1:10: error: unknown refclock driver 'lcoal' "
	                               "(hint: did you mean 'local'?)");
	cr_assert_eq(conf_parse_text("refclock\n"), 1u);
	cr_assert_str_eq(conf_diag(0), "test.conf:1:1: error: 'refclock' needs a driver name such "
	                               "as 'local'");
	cr_assert_eq(conf_parse_text("refclock local iburst\n"), 1u);
	cr_assert_str_eq(conf_diag(0), "test.conf:1:16: error: unknown option 'iburst' for "
	                               "'refclock'");
	cr_assert_eq(conf_parse_text("refclock local minpoll 6 maxpoll 5\n"), 1u);
	cr_assert_str_eq(conf_diag(0),
	                 "test.conf:1:16: error: minpoll 6 is greater than maxpoll 5");
	cr_assert_eq(conf_parse_text("refclock local unit 256\n"), 1u);
	cr_assert_str_eq(conf_diag(0), "test.conf:1:21: error: unit 256 is out of range [0, 255]");
	cr_assert_eq(conf.n_servers, 0u);

	cr_assert_eq(conf_parse_text("refclock shm unit 0 refid GPS\n"), 0u);
	cr_assert_eq(conf.n_servers, 0u);
	cr_assert_str_eq(conf_diag(0), "test.conf:1:10: warning: refclock driver 'shm' is not "
	                               "supported; line ignored (hint: ntplab simulates only "
	                               "'refclock local')");
}

/* --------------------------------------------------------------------- */

Test(conf_restrict, cidr_masks_and_families)
{
	cr_assert_eq(conf_parse_text("restrict 10.0.0.0/8 nomodify\n"
	                             "restrict 2001:db8::/32 noquery\n"
	                             "restrict -6 default ignore\n"
	                             "restrict -4 default noserve\n"
	                             "restrict fe80:: mask ffff:ffff:: notrust\n"
	                             "restrict 0.0.0.0 mask 0.0.0.0 version\n"
	                             "restrict source nomodify nomrulist\n"),
	             0u);
	cr_assert_eq(conf.n_diags, 0u);
	cr_assert_eq(conf.n_restrict, 7u);
	conf_expect_restrict(0, NTP_RES_ADDR, "10.0.0.0", 8, NTP_RES_NOMODIFY, 1);
	conf_expect_restrict(1, NTP_RES_ADDR, "2001:db8::", 32, NTP_RES_NOQUERY, 2);
	conf_expect_restrict(2, NTP_RES_DEFAULT, NULL, 0, NTP_RES_IGNORE, 3);
	cr_assert_eq(conf.restrict_list[2].addr.family, NTP_AF_INET6);
	cr_assert_eq(conf.restrict_list[2].mask.family, NTP_AF_INET6);
	conf_expect_restrict(3, NTP_RES_DEFAULT, NULL, 0, NTP_RES_NOSERVE, 4);
	cr_assert_eq(conf.restrict_list[3].addr.family, NTP_AF_INET);
	conf_expect_restrict(4, NTP_RES_ADDR, "fe80::", 32, NTP_RES_NOTRUST, 5);
	conf_expect_restrict(5, NTP_RES_ADDR, "0.0.0.0", 0, NTP_RES_VERSION, 6);
	conf_expect_restrict(6, NTP_RES_SOURCE, NULL, 0, NTP_RES_NOMODIFY | NTP_RES_NOMRULIST, 7);
}

Test(conf_restrict, errors)
{
	static const struct {
		const char *text;
		const char *diag;
	} bad[] = {
	        {"restrict", "test.conf:1:1: error: 'restrict' needs an address, 'default' or "
	                     "'source'"},
	        {"restrict 10.0.0.0/33",
	         "test.conf:1:10: error: prefix /33 is longer than the address "
	         "(32 bits)"},
	        {"restrict 10.0.0.0/x", "test.conf:1:19: error: 'x' is not a prefix length"},
	        {"restrict 10.0.0.0 mask 255.0.255.0",
	         "test.conf:1:24: error: mask '255.0.255.0' is "
	         "not contiguous (hint: a mask is a run of "
	         "leading one bits, e.g. 255.255.255.0)"},
	        {"restrict 10.0.0.0 mask ffff::",
	         "test.conf:1:24: error: mask 'ffff::' is not of the "
	         "address's family"},
	        {"restrict 10.0.0.0 mask", "test.conf:1:19: error: 'mask' needs a mask such as "
	                                   "255.255.255.0"},
	        {"restrict 10.0.0.0 mask 255.0.0.x",
	         "test.conf:1:24: error: mask '255.0.0.x' is not a "
	         "numeric address"},
	        {"restrict 10.0.0.0/8 mask 255.0.0.0",
	         "test.conf:1:21: error: the address already has "
	         "a mask"},
	        {"restrict default mask 0.0.0.0",
	         "test.conf:1:18: error: 'mask' needs an address, not "
	         "'default'"},
	        {"restrict -4 ::1",
	         "test.conf:1:10: error: '-4' contradicts the IPv6 address '::1'"},
	        {"restrict 10.0.0.1 nomodfy",
	         "test.conf:1:19: error: unknown restrict flag 'nomodfy' "
	         "(hint: did you mean 'nomodify'?)"},
	        {"restrict 10.0.0.256", "test.conf:1:10: error: '10.0.0.256' is not a valid IPv4 "
	                                "address (hint: write four decimal octets, e.g. "
	                                "192.168.163.131)"},
	        {"restrict default ippeerlimit",
	         "test.conf:1:18: error: 'ippeerlimit' needs the number of peer associations one "
	         "address may have (hint: e.g. 'ippeerlimit 1')"},
	        {"restrict default ippeerlimit -2", "test.conf:1:30: error: 'ippeerlimit -2': "
	                                            "expected a whole number from -1 to 1000"},
	        {"restrict default ippeerlimit 0x1", "test.conf:1:30: error: 'ippeerlimit 0x1': "
	                                             "expected a whole number from -1 to 1000"},
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_assert_eq(conf_parse_text(bad[i].text), 1u, "%s", bad[i].text);
		cr_assert_str_eq(conf_diag(0), bad[i].diag);
		cr_assert_eq(conf.n_restrict, 0u, "%s", bad[i].text);
	}
}

/* ntp-4.2.8p11's noepeer and ippeerlimit (CVE-2016-1549). */
Test(conf_restrict, noepeer_and_ippeerlimit)
{
	cr_assert_eq(conf_parse_text("restrict default noepeer ippeerlimit 2\n"
	                             "restrict 10.0.0.1 ippeerlimit -1 nopeer\n"),
	             0u);
	cr_assert_eq(conf.n_warnings, 0u);
	cr_assert_eq(conf.restrict_list[0].flags, NTP_RES_NOEPEER | NTP_RES_PEERLIMIT);
	cr_assert_eq(conf.restrict_list[0].ippeerlimit, 2);
	cr_assert_eq(conf.restrict_list[1].flags, NTP_RES_NOPEER | NTP_RES_PEERLIMIT);
	cr_assert_eq(conf.restrict_list[1].ippeerlimit, -1);
	/* ntpd's default is authentication for ephemeral peers; disable auth
	 * opts out; a line with an error changes nothing */
	cr_assert_not(conf.disable_auth);
	cr_assert_eq(conf_parse_text("disable auth\n"), 0u);
	cr_assert(conf.disable_auth);
	cr_assert_eq(conf_parse_text("disable auth\nenable auth\n"), 0u);
	cr_assert_not(conf.disable_auth);
	cr_assert_eq(conf_parse_text("disable auth bogus\n"), 1u);
	cr_assert_not(conf.disable_auth);
}

Test(conf_restrict, flags_that_do_nothing_warn)
{
	cr_assert_eq(conf_parse_text("restrict default kod nomodify notrap nopeer noquery\n"
	                             "restrict source noserve\n"
	                             "restrict 10.0.0.1 lowpriotrap ntpport\n"),
	             0u);
	cr_assert_eq(conf.n_warnings, 4u);
	cr_assert_str_eq(conf_diag(0), "test.conf:1:18: warning: kod has no effect without limited "
	                               "(hint: add 'limited' (rate limits come from 'discard'), or "
	                               "drop 'kod')");
	cr_assert_str_eq(conf_diag(1), "test.conf:2:17: warning: noserve has no effect on "
	                               "'restrict source' (hint: 'restrict source' covers your own "
	                               "servers, which do not ask this host for time)");
	cr_assert_str_eq(conf_diag(2), "test.conf:3:19: warning: lowpriotrap has no effect; "
	                               "ignored");
	cr_assert_str_eq(conf_diag(3), "test.conf:3:31: warning: ntpport is not supported; the "
	                               "entry matches every source port");
	/* The flags themselves are kept: the restrict module decides what they do. */
	cr_assert_eq(conf.n_restrict, 3u);
	conf_expect_restrict(0, NTP_RES_DEFAULT, NULL, 0, RES_SEED_DEFAULT | NTP_RES_KOD, 1);
	conf_expect_restrict(1, NTP_RES_SOURCE, NULL, 0, NTP_RES_NOSERVE, 2);
	conf_expect_restrict(2, NTP_RES_ADDR, "10.0.0.1", 32, 0, 3);
}

Test(conf_restrict, family_flag_on_source_warns)
{
	cr_assert_eq(conf_parse_text("restrict -6 source nomodify\n"), 0u);
	cr_assert_str_eq(conf_diag(0), "test.conf:1:10: warning: '-6' has no effect on 'restrict "
	                               "source'");
	conf_expect_restrict(0, NTP_RES_SOURCE, NULL, 0, NTP_RES_NOMODIFY, 1);
}

Test(conf_restrict, host_names_are_skipped)
{
	cr_assert_eq(conf_parse_text("restrict ntp1.aliyun.com nomodify notrap noquery\n"), 0u);
	cr_assert_eq(conf.n_restrict, 0u);
	cr_assert_str_eq(conf_diag(0), "test.conf:1:10: warning: host names in restrict are not "
	                               "supported; line skipped (hint: use a numeric address "
	                               "(ntpd resolves the name once, at startup))");
	cr_assert_eq(conf_parse_text("restrict ntp1.aliyun.com nomodfy\n"), 1u);
	cr_assert_eq(conf.n_restrict, 0u);
}

Test(conf_restrict, capacity)
{
	static char text[80 * 40];
	char *p = text;

	for (int i = 0; i <= NTP_CONF_MAX_RESTRICT; i++) {
		p += sprintf(p, "restrict 10.1.%d.%d\n", i / 256, i % 256);
	}
	cr_assert_eq(conf_parse_text(text), 1u);
	cr_assert_eq(conf.n_restrict, (size_t)NTP_CONF_MAX_RESTRICT);
	cr_assert_str_eq(conf_diag(0), "test.conf:65:10: error: more than 64 restrict lines");
}

/* --------------------------------------------------------------------- */

Test(conf_misc, statistics_and_filegen)
{
	cr_assert_eq(conf_parse_text("statsdir /var/log/ntpstats/\n"
	                             "statistics loopstats peerstats clockstats\n"
	                             "statistics rawstats sysstats protostats\n"
	                             "filegen loopstats file loops type week disable\n"
	                             "filegen peerstats\n"
	                             "filegen loopstats type month enable\n"),
	             0u);
	cr_assert_eq(conf.n_diags, 0u);
	cr_assert_str_eq(conf.statsdir, "/var/log/ntpstats/");
	cr_assert_eq(conf.statistics, NTP_STATS_LOOPSTATS | NTP_STATS_PEERSTATS |
	                                      NTP_STATS_CLOCKSTATS | NTP_STATS_RAWSTATS |
	                                      NTP_STATS_SYSSTATS | NTP_STATS_PROTOSTATS);
	cr_assert_eq(conf.n_filegen, 2u);
	/* The second loopstats line replaces the first entirely. */
	cr_assert_eq(conf.filegen[0].which, NTP_STATS_LOOPSTATS);
	cr_assert_str_eq(conf.filegen[0].file, "loopstats");
	cr_assert_str_eq(conf.filegen[0].type, "month");
	cr_assert(conf.filegen[0].enable);
	cr_assert_eq(conf.filegen[0].line, 6);
	cr_assert_eq(conf.filegen[1].which, NTP_STATS_PEERSTATS);
	cr_assert_str_eq(conf.filegen[1].file, "peerstats");
	cr_assert_str_eq(conf.filegen[1].type, "day");
	cr_assert(conf.filegen[1].enable);

	cr_assert_eq(conf_parse_text("filegen loopstats file loops type week disable\n"), 0u);
	cr_assert_str_eq(conf.filegen[0].file, "loops");
	cr_assert_str_eq(conf.filegen[0].type, "week");
	cr_assert_not(conf.filegen[0].enable);
}

Test(conf_misc, statistics_and_filegen_diagnostics)
{
	cr_assert_eq(conf_parse_text("statistics cryptostats loopstats\n"
	                             "filegen cryptostats file c\n"
	                             "filegen loopstats link\n"),
	             0u);
	cr_assert_eq(conf.statistics, NTP_STATS_LOOPSTATS);
	cr_assert_eq(conf.n_filegen, 1u);
	cr_assert_str_eq(conf_diag(0), "test.conf:1:12: warning: cryptostats are not supported; "
	                               "ignored");
	cr_assert_str_eq(conf_diag(1), "test.conf:2:9: warning: cryptostats are not supported; "
	                               "filegen ignored");
	cr_assert_str_eq(conf_diag(2), "test.conf:3:19: warning: filegen 'link' is not supported; "
	                               "ignored");

	static const struct {
		const char *text;
		const char *diag;
	} bad[] = {
	        {"statistics",
	         "test.conf:1:1: error: 'statistics' needs at least one statistics name "
	         "(hint: e.g. 'statistics loopstats peerstats')"},
	        {"statistics loopstat",
	         "test.conf:1:12: error: unknown statistics 'loopstat' (hint: "
	         "did you mean 'loopstats'?)"},
	        {"filegen loopstats type weekly",
	         "test.conf:1:24: error: unknown filegen type 'weekly' "
	         "(hint: did you mean 'week'?)"},
	        {"filegen loopstats fiel x", "test.conf:1:19: error: unknown filegen option 'fiel' "
	                                     "(hint: did you mean 'file'?)"},
	        {"filegen loopstats file", "test.conf:1:19: error: 'file' needs a file name"},
	        {"filegen", "test.conf:1:1: error: 'filegen' needs a statistics name"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_assert_eq(conf_parse_text(bad[i].text), 1u, "%s", bad[i].text);
		cr_assert_str_eq(conf_diag(0), bad[i].diag);
		cr_assert_eq(conf.statistics, 0u);
		cr_assert_eq(conf.n_filegen, 0u);
	}
}

Test(conf_misc, tinker_tos_discard)
{
	cr_assert_eq(
	        conf_parse_text("tinker panic 0 step 0.5 stepout 60\n"
	                        "tos minsane 2 minclock 5 maxdist 2.5 orphan 10 orphanwait 60\n"
	                        "discard average 4\n"),
	        0u);
	cr_assert_eq(conf.n_diags, 0u);
	cr_assert_float_eq(conf.tinker_panic, 0.0, 0.0);
	cr_assert_float_eq(conf.tinker_step, 0.5, 1e-12);
	cr_assert_float_eq(conf.tinker_stepout, 60.0, 1e-12);
	/* ntpd loop_config(LOOP_MINSTEP): nothing under 300 s */
	cr_assert_float_eq(ntp_conf_stepout(&conf), 300.0, 1e-12);
	cr_assert_eq(conf.tos_minsane, 2);
	cr_assert_eq(conf.tos_minclock, 5);
	cr_assert_float_eq(conf.tos_maxdist, 2.5, 1e-12);
	cr_assert_eq(conf.tos_orphan, 10);
	cr_assert_float_eq(conf.tos_orphanwait, 60.0, 1e-12);
	cr_assert_eq(conf.discard_average, 4);
	cr_assert_eq(conf.discard_minimum, -1);
}

Test(conf_misc, mru_defaults_are_ntpsecs)
{
	cr_assert_eq(conf_parse_text("server 10.0.0.1\n"), 0u);
	cr_assert_eq(conf.mru_maxdepth, -1);
	cr_assert_eq(conf.mru_maxmem, 1024); /* KiB: NTPsec MRU_MAXDEPTH_DEF */
	cr_assert_eq(conf.mru_mindepth, 600);
	cr_assert_eq(conf.mru_maxage, 3600);
	cr_assert_eq(conf.mru_minage, 64);
}

Test(conf_misc, mru_knobs_and_the_last_size_counts)
{
	cr_assert_eq(conf_parse_text("mru maxdepth 100000 mindepth 50 maxage 600 minage 4\n"), 0u);
	cr_assert_eq(conf.n_diags, 0u);
	cr_assert_eq(conf.mru_maxdepth, 100000);
	cr_assert_eq(conf.mru_maxmem, -1);
	cr_assert_eq(conf.mru_mindepth, 50);
	cr_assert_eq(conf.mru_maxage, 600);
	cr_assert_eq(conf.mru_minage, 4);

	/* ntpd: "whichever of mru maxmem or mru maxdepth occurs last controls" */
	cr_assert_eq(conf_parse_text("mru maxdepth 5000\nmru maxmem 4096\n"), 0u);
	cr_assert_eq(conf.mru_maxdepth, -1);
	cr_assert_eq(conf.mru_maxmem, 4096);
	cr_assert_eq(conf_parse_text("mru maxmem 4096 maxdepth 7\n"), 0u);
	cr_assert_eq(conf.mru_maxdepth, 7);
	cr_assert_eq(conf.mru_maxmem, -1);

	/* ntpd takes any integer for the ages: a negative maxage recycles the
	 * oldest entry whenever the table is past mindepth. */
	cr_assert_eq(conf_parse_text("mru maxage -1 minage 0\n"), 0u);
	cr_assert_eq(conf.n_diags, 0u);
	cr_assert_eq(conf.mru_maxage, -1);
	cr_assert_eq(conf.mru_minage, 0);
}

Test(conf_misc, mru_diagnostics)
{
	/* ntpd grows its list in steps; ntplab allocates the table whole. */
	cr_assert_eq(conf_parse_text("mru initalloc 100 incmem 8\n"), 0u);
	cr_assert_eq(conf.n_warnings, 2u);
	cr_assert_str_eq(conf_diag(0), "test.conf:1:5: warning: mru initalloc has no effect in "
	                               "ntplab; ignored (hint: the table is allocated whole at "
	                               "start-up (maxdepth/maxmem))");
	/* ntpd reads a negative maxdepth/maxmem as "no limit": ntplab needs one */
	cr_assert_eq(conf_parse_text("mru maxdepth -1\nmru maxmem 99999999\n"), 0u);
	cr_assert_eq(conf.n_warnings, 2u);
	cr_assert_str_eq(conf_diag(0), "test.conf:1:5: warning: mru maxdepth -1: using the "
	                               "largest table, 16777216 entries (hint: the table is "
	                               "allocated whole at start-up: it needs a bound)");
	cr_assert_eq(conf.mru_maxmem, 1114112);
	cr_assert_eq(conf.mru_maxdepth, -1);
	/* ntpd: "mru mindepth -5 out of range, ignored" */
	cr_assert_eq(conf_parse_text("mru mindepth -5\n"), 0u);
	cr_assert_eq(conf.n_warnings, 1u);
	cr_assert_eq(conf.mru_mindepth, 600);

	static const struct {
		const char *text;
		const char *diag;
	} bad[] = {
	        {"mru", "test.conf:1:1: error: 'mru' needs at least one option such as 'maxmem'"},
	        {"mru maxdpeth 5", "test.conf:1:5: error: unknown mru option 'maxdpeth' (hint: did "
	                           "you mean 'maxdepth'?)"},
	        {"mru maxmem", "test.conf:1:5: error: 'maxmem' needs an integer"},
	        {"mru maxmem 1.5", "test.conf:1:12: error: 'maxmem' needs an integer, not '1.5'"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_assert_eq(conf_parse_text(bad[i].text), 1u, "%s", bad[i].text);
		cr_assert_str_eq(conf_diag(0), bad[i].diag);
	}
	/* A line with an error changes nothing, not even its valid pairs. */
	cr_assert_eq(conf_parse_text("mru mindepth 10 maxmem x\n"), 1u);
	cr_assert_eq(conf.mru_mindepth, 600);
	cr_assert_eq(conf.mru_maxmem, 1024);
}

/* `tinker step` sets both thresholds, stepfwd/stepback one each (ntpd's
 * clock_max_fwd/back); freq and allan are ntpd's LOOP_FREQ/LOOP_ALLAN. */
Test(conf_misc, tinker_step_directions_freq_allan)
{
	cr_assert_eq(conf_parse_text("tinker stepback 0.3 freq -12.5 allan 9 stepout 1200 huffpuff "
	                             "7200\n"),
	             0u);
	cr_assert_float_eq(conf.tinker_huffpuff, 7200.0, 0.0);
	cr_assert_float_eq(ntp_conf_phi(&conf), 15e-6, 0.0, "RFC 5905 PHI by default");
	cr_assert_eq(conf.n_diags, 0u);
	cr_assert_float_eq(ntp_conf_step_fwd(&conf), 0.128, 1e-12);
	cr_assert_float_eq(ntp_conf_step_back(&conf), 0.3, 1e-12);
	cr_assert(conf.have_tinker_freq);
	cr_assert_float_eq(conf.tinker_freq, -12.5, 1e-12);
	cr_assert_float_eq(conf.tinker_allan, 9.0, 0.0);
	cr_assert_float_eq(ntp_conf_stepout(&conf), 1200.0, 1e-12);
	cr_assert_eq(conf_parse_text("tinker stepfwd 2 step 0.2\n"), 0u);
	cr_assert_float_eq(ntp_conf_step_fwd(&conf), 2.0, 1e-12, "stepfwd after step on the line");
	cr_assert_float_eq(ntp_conf_step_back(&conf), 0.2, 1e-12);
	cr_assert_eq(conf_parse_text("tinker freq 600\n"), 1u);
	cr_assert(strstr(conf_diag(0), "freq") != NULL, "%s", conf_diag(0));
	cr_assert_eq(conf_parse_text("tinker allan 11.5\n"), 1u);
	/* dispersion is ntpd's LOOP_PHI, in ppm */
	cr_assert_eq(conf_parse_text("tinker dispersion 100\n"), 0u);
	cr_assert_float_eq(ntp_conf_phi(&conf), 100e-6, 1e-18);
	cr_assert_eq(conf_parse_text("tinker dispersion 501\n"), 1u);
}

Test(conf_misc, tinker_tos_discard_diagnostics)
{
	cr_assert_eq(conf_parse_text("tinker allan 12 dispersion 15 step 1e-1\n"
	                             "tos maxclock 7 cohort 1\n"
	                             "discard minimum 2 monitor 3000\n"),
	             0u);
	cr_assert_eq(conf.n_warnings, 4u);
	cr_assert_eq(conf.tinker_allan, 12.0);
	cr_assert_float_eq(ntp_conf_phi(&conf), 15e-6, 1e-18);
	cr_assert_str_eq(conf_diag(0), "test.conf:2:5: warning: tos maxclock is not supported; "
	                               "ignored");
	cr_assert_str_eq(conf_diag(1), "test.conf:2:16: warning: tos cohort is not supported; "
	                               "ignored");
	cr_assert_str_eq(conf_diag(2), "test.conf:3:19: warning: discard monitor is not "
	                               "supported; ignored");
	cr_assert_str_eq(conf_diag(3),
	                 "test.conf:3:9: warning: discard minimum 2 is read as log2 s "
	                 "(4 s) (hint: ntpd's code reads plain seconds here)");
	cr_assert_float_eq(conf.tinker_step, 0.1, 1e-12);
	cr_assert_eq(conf.discard_minimum, 2);

	static const struct {
		const char *text;
		const char *diag;
	} bad[] = {
	        {"tinker", "test.conf:1:1: error: 'tinker' needs at least one option"},
	        {"tinker step -1", "test.conf:1:13: error: step -1 is out of range [0, 1e+09]"},
	        {"tinker step inf", "test.conf:1:13: error: 'step' needs a number, not 'inf'"},
	        {"tinker step 0x10", "test.conf:1:13: error: 'step' needs a number, not '0x10'"},
	        {"tinker step 1e999",
	         "test.conf:1:13: error: step 1e999 is out of range [0, 1e+09]"},
	        {"tinker stpe 1",
	         "test.conf:1:8: error: unknown tinker option 'stpe' (hint: did you "
	         "mean 'step'?)"},
	        {"tos minclock 0", "test.conf:1:14: error: minclock 0 is out of range [1, 255]"},
	        {"tos minclock 2.5",
	         "test.conf:1:14: error: 'minclock' needs an integer, not '2.5'"},
	        {"tos orphan 17", "test.conf:1:12: error: orphan 17 is out of range [1, 16]"},
	        {"tos maxdist 0",
	         "test.conf:1:13: error: maxdist 0 is out of range [1e-06, 1e+06]"},
	        {"discard average 18", "test.conf:1:17: error: average 18 is out of range [0, 17]"},
	        {"discard averge 3",
	         "test.conf:1:9: error: unknown discard option 'averge' (hint: did "
	         "you mean 'average'?)"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_assert_eq(conf_parse_text(bad[i].text), 1u, "%s", bad[i].text);
		cr_assert_str_eq(conf_diag(0), bad[i].diag);
	}
	/* A line with an error changes nothing, even the pairs before the error. */
	cr_assert_eq(conf_parse_text("tinker step 1 panic x\ntos minsane 3 orphan 99\n"), 2u);
	cr_assert_float_eq(conf.tinker_step, -1.0, 0.0);
	cr_assert_eq(conf.tos_minsane, -1);
}

Test(conf_misc, enable_disable)
{
	cr_assert_eq(conf_parse_text("disable ntp\n"), 0u);
	cr_assert(conf.disable_ntp);
	cr_assert_eq(conf_parse_text("disable ntp\nenable ntp\n"), 0u);
	cr_assert_not(conf.disable_ntp);
	cr_assert_eq(conf_parse_text("disable monitor kernel ntp\n"), 0u);
	cr_assert(conf.disable_ntp);
	cr_assert(conf.disable_kernel, "ntpd's daemon loop (ntp_discipline_for)");
	cr_assert_eq(conf.n_warnings, 1u);
	cr_assert_str_eq(conf_diag(0),
	                 "test.conf:1:9: warning: 'disable monitor' is not supported; "
	                 "ignored");
	cr_assert_eq(conf_parse_text("disable kernel\nenable kernel\n"), 0u);
	cr_assert_not(conf.disable_kernel);

	cr_assert_eq(conf_parse_text("disable ntpp\n"), 1u);
	cr_assert_str_eq(conf_diag(0), "test.conf:1:9: error: unknown disable flag 'ntpp' (hint: "
	                               "did you mean 'ntp'?)");
	cr_assert_eq(conf_parse_text("enable\n"), 1u);
	cr_assert_str_eq(conf_diag(0), "test.conf:1:1: error: 'enable' needs a flag such as 'ntp'");
	cr_assert_eq(conf_parse_text("disable ntp bogus\n"), 1u);
	cr_assert_not(conf.disable_ntp);
}

Test(conf_misc, clientport)
{
	cr_assert_eq(conf_parse_text("server 10.0.0.1\n"), 0u);
	cr_assert_eq(conf.clientport, 0, "random by default (RFC 9109)");
	cr_assert_eq(conf_parse_text("clientport 123\n"), 0u);
	cr_assert_eq(conf.clientport, 123);
	cr_assert_eq(conf_parse_text("clientport 123\nclientport random\n"), 0u);
	cr_assert_eq(conf.clientport, 0);
	cr_assert_eq(conf_parse_text("clientport 0\n"), 1u);
	cr_assert_eq(conf_parse_text("clientport random 5\n"), 1u);
}

Test(conf_misc, port_and_paths)
{
	cr_assert_eq(conf_parse_text("port 12345\n"), 0u);
	cr_assert_eq(conf.port, 12345);

	static const struct {
		const char *text;
		const char *diag;
	} bad[] = {
	        {"port 0", "test.conf:1:6: error: port 0 is out of range [1, 65535]"},
	        {"port 65536", "test.conf:1:6: error: port 65536 is out of range [1, 65535]"},
	        {"port", "test.conf:1:1: error: 'port' needs an integer"},
	        {"port 123 456", "test.conf:1:10: error: unexpected '456' after 'port'"},
	        {"logfile", "test.conf:1:1: error: 'logfile' needs a file name"},
	        {"logfile \"\"", "test.conf:1:9: error: empty file name"},
	        {"statsdir /a /b", "test.conf:1:13: error: unexpected '/b' after 'statsdir'"},
	        {"driftfile /a 1e-7 x", "test.conf:1:19: error: unexpected 'x' after 'driftfile'"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_assert_eq(conf_parse_text(bad[i].text), 1u, "%s", bad[i].text);
		cr_assert_str_eq(conf_diag(0), bad[i].diag);
		cr_assert_eq(conf.port, 123);
		cr_assert_str_eq(conf.logfile, "");
		cr_assert_str_eq(conf.driftfile, "");
	}

	/* ntpd's grammar: a bare driftfile turns the drift file off. */
	cr_assert_eq(conf_parse_text("driftfile /var/lib/ntp/drift\ndriftfile\n"), 0u);
	cr_assert_str_eq(conf.driftfile, "");
	cr_assert_eq(conf_parse_text("driftfile /var/lib/ntp/drift 1e-7\n"), 0u);
	cr_assert_str_eq(conf.driftfile, "/var/lib/ntp/drift");
	cr_assert_str_eq(conf_diag(0), "test.conf:1:30: warning: driftfile threshold is not "
	                               "supported; ignored");
}

Test(conf_misc, every_unsupported_directive_warns)
{
	static const char *const names[] = {
	        "authdelay",
	        "authenticate",
	        "automax",
	        "broadcast",
	        "broadcastclient",
	        "broadcastdelay",
	        "calldelay",
	        "crypto",
	        "device",
	        "dscp",
	        "end",
	        "includefile",
	        "interface",
	        "keysdir",
	        "limit",
	        "logconfig",
	        "manycastclient",
	        "manycastserver",
	        "mdnstries",
	        "multicastclient",
	        "nic",
	        "nonvolatile",
	        "ntpsigndsocket",
	        "nts",
	        "phone",
	        "pidfile",
	        "pollskewlist",
	        "qos",
	        "reset",
	        "revoke",
	        "rlimit",
	        "saveconfigdir",
	        "setvar",
	        "tick",
	        "trap",
	        "ttl",
	        "unconfig",
	        "unpeer",
	        "unrestrict",
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char text[64], want[128];
		snprintf(text, sizeof text, "%s 1 2 3\n", names[i]);
		cr_assert_eq(conf_parse_text(text), 0u, "%s", names[i]);
		cr_assert_eq(conf.n_warnings, 1u, "%s", names[i]);
		snprintf(want, sizeof want, "'%s' is not supported by ntplab; line ignored",
		         names[i]);
		cr_assert_str_eq(conf.diags[0].msg, want);
	}
}

Test(conf_misc, every_supported_directive_is_found)
{
	/* A bsearch over an unsorted table would miss some of these. */
	static const char *const lines[] = {
	        "disable ntp",        "discard average 3",     "driftfile /d",
	        "enable ntp",         "filegen loopstats",     "fudge 127.127.1.0",
	        "logfile /l",         "peer 10.0.0.9",         "pool p.example",
	        "port 1123",          "refclock local unit 1", "restrict default",
	        "server 127.127.1.0", "statistics loopstats",  "statsdir /s",
	        "tinker step 1",      "tos minsane 1",         "mru mindepth 600",
	};
	char text[1024] = "";

	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		strcat(text, lines[i]);
		strcat(text, "\n");
	}
	cr_assert_eq(conf_parse_text(text), 0u);
	cr_assert_eq(conf.n_diags, 0u);
	cr_assert_eq(conf.n_servers, 4u);
}

Test(conf_misc, every_keyword_of_every_table_is_found)
{
	/* Each line names every entry of one keyword table; bsearch over a table
	 * that is not sorted would report some of them as unknown. */
	static const char *const lines[] = {
	        "server x aead a ask a autokey bias 1 burst ca c iburst ident i key 1 maxpoll 10 "
	        "minpoll 6 mode 1 noselect noval nts preempt prefer require r true ttl 1 version 4 "
	        "xleave",
	        "restrict 10.0.0.1 flake ignore kod limited lowpriotrap mssntp noepeer nomodify "
	        "nomrulist non-ntpport nopeer noquery noserve notrap notrust ntpport version",
	        "refclock local baud 1 flag1 1 flag2 0 flag3 0 flag4 0 holdover maxpoll 6 minpoll "
	        "6 "
	        "mode 1 noselect path /p ppspath /q prefer refid LOCL stratum 5 subtype 1 time1 0 "
	        "time2 0 true unit 0",
	        "tinker allan 1 dispersion 1 freq 1 huffpuff 1 panic 1 step 1 stepback 1 stepfwd 1 "
	        "stepout 1 tick 1",
	        "tos beacon 1 ceiling 1 cohort 1 floor 1 maxclock 1 maxdisp 1 maxdist 1 minclock 1 "
	        "mindist 1 minsane 1 orphan 1 orphanwait 1",
	        "discard average 1 minimum 1 monitor 1",
	        "mru incalloc 1 incmem 1 initalloc 1 initmem 1 maxage 1 maxdepth 1 maxmem 1 minage "
	        "1 "
	        "mindepth 1",
	        "enable auth bclient calibrate kernel mode7 monitor ntp pps stats",
	        "statistics clockstats cryptostats loopstats peerstats protostats rawstats "
	        "sysstats "
	        "timingstats usestats",
	        "filegen loopstats type age type day type month type none type pid type week type "
	        "year file f enable disable link nolink",
	        "refclock arbiter",
	        "refclock generic",
	        "refclock gpsd",
	        "refclock hpgps",
	        "refclock jjy",
	        "refclock jupiter",
	        "refclock modem",
	        "refclock neoclock",
	        "refclock nmea",
	        "refclock oncore",
	        "refclock pps",
	        "refclock shm",
	        "refclock spectracom",
	        "refclock trimble",
	        "refclock truetime",
	        "refclock zyfer",
	};

	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		cr_assert_eq(conf_parse_text(lines[i]), 0u, "%s: %s", lines[i],
		             conf.n_diags > 0 ? conf_diag(0) : "");
	}
}

Test(conf_misc, unknown_directive_hints)
{
	static const struct {
		const char *text;
		const char *diag;
	} bad[] = {
	        {"sever 10.0.0.1", "test.conf:1:1: error: unknown directive 'sever' (hint: did you "
	                           "mean 'server'?)"},
	        {"restrcit default",
	         "test.conf:1:1: error: unknown directive 'restrcit' (hint: did "
	         "you mean 'restrict'?)"},
	        {"Server 10.0.0.1",
	         "test.conf:1:1: error: unknown directive 'Server' (hint: did you "
	         "mean 'server'?)"},
	        {"drifftfile /x",
	         "test.conf:1:1: error: unknown directive 'drifftfile' (hint: did you "
	         "mean 'driftfile'?)"},
	        {"xyzzy", "test.conf:1:1: error: unknown directive 'xyzzy'"},
	        {"-4 default", "test.conf:1:1: error: unknown directive '-4'"},
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_assert_eq(conf_parse_text(bad[i].text), 1u, "%s", bad[i].text);
		cr_assert_str_eq(conf_diag(0), bad[i].diag);
	}
}

/* --------------------------------------------------------------------- */

Test(conf_errors, multi_error_file_reports_every_error)
{
	static const char *const want[] = {
	        "errors-multi.conf:1:1: error: unknown directive 'sever' (hint: did you mean "
	        "'server'?)",
	        "errors-multi.conf:2:24: error: unknown option 'iburts' for 'server' (hint: did "
	        "you "
	        "mean 'iburst'?)",
	        "errors-multi.conf:3:1: error: 'server' needs an address or host name",
	        "errors-multi.conf:4:25: error: minpoll 20 is out of range [-7, 17]",
	        "errors-multi.conf:5:25: error: 'maxpoll' needs an integer, not 'x'",
	        "errors-multi.conf:6:24: error: mask '255.0.255.0' is not contiguous (hint: a mask "
	        "is "
	        "a run of leading one bits, e.g. 255.255.255.0)",
	        "errors-multi.conf:7:18: warning: kod has no effect without limited (hint: add "
	        "'limited' (rate limits come from 'discard'), or drop 'kod')",
	        "errors-multi.conf:9:13: error: step -1 is out of range [0, 1e+09]",
	        "errors-multi.conf:8:7: error: fudge for 127.127.1.3, which no line configures "
	        "(hint: "
	        "add 'server 127.127.1.3' (or 'refclock local unit 3'))",
	};

	cr_assert_eq(conf_parse_file("errors-multi.conf"), 8u);
	cr_assert_eq(conf.n_warnings, 1u);
	cr_assert_eq(conf.n_diags, sizeof want / sizeof want[0]);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		cr_assert_str_eq(conf_diag(i), want[i]);
	}
	/* Only the valid line took effect. */
	cr_assert_eq(conf.n_servers, 0u);
	cr_assert_eq(conf.n_restrict, 1u);
	conf_expect_restrict(0, NTP_RES_DEFAULT, NULL, 0, NTP_RES_KOD | NTP_RES_NOMODIFY, 7);
}

Test(conf_errors, diagnostics_beyond_the_cap_are_counted)
{
	static char text[200 * 8];
	char *p = text;

	for (int i = 0; i < 200; i++) {
		p += sprintf(p, "bogus\n");
	}
	for (int i = 0; i < 10; i++) {
		p += sprintf(p, "end\n");
	}
	cr_assert_eq(conf_parse_text(text), 200u);
	cr_assert_eq(conf.n_errors, 200u);
	cr_assert_eq(conf.n_warnings, 10u);
	cr_assert_eq(conf.n_diags, (size_t)NTP_CONF_MAX_DIAGS);
	cr_assert_eq(conf.diags[NTP_CONF_MAX_DIAGS - 1].line, NTP_CONF_MAX_DIAGS);
}

Test(conf_errors, diag_format)
{
	ntp_conf_diag d;
	char buf[128], tiny[8];

	memset(&d, 0, sizeof d);
	ntp_conf_init(&conf, "ntp.conf");
	d.severity = NTP_CONF_ERROR;
	d.line = 12;
	d.col = 1;
	snprintf(d.msg, sizeof d.msg, "unknown directive 'sever'");
	snprintf(d.hint, sizeof d.hint, "did you mean 'server'?");
	cr_assert_str_eq(ntp_conf_diag_format(&conf, &d, buf, sizeof buf),
	                 "ntp.conf:12:1: error: unknown directive 'sever' (hint: did you mean "
	                 "'server'?)");
	d.severity = NTP_CONF_WARNING;
	d.hint[0] = '\0';
	cr_assert_str_eq(ntp_conf_diag_format(&conf, &d, buf, sizeof buf),
	                 "ntp.conf:12:1: warning: unknown directive 'sever'");
	cr_assert_str_eq(ntp_conf_diag_format(&conf, &d, tiny, sizeof tiny), "ntp.con");
	tiny[0] = 'x';
	cr_assert_eq(ntp_conf_diag_format(&conf, &d, tiny, 0), tiny);
	cr_assert_eq(tiny[0], 'x');
}
