/* SPDX-License-Identifier: BSD-2-Clause */
/* core/ntp_leap: the IERS list (hash, expiry, queries), synthetic and broken
 * lists, and the ntp.conf directives `leapfile` and `leapsmearinterval`. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_fixture.h"
#include "ntp_conf.h"
#include "ntp_leap.h"

static ntp_leap_table tbl;
static ntp_conf conf;

#define JAN_2017    INT64_C(1483228800) /* s, 2017-01-01T00:00:00Z POSIX */
#define JUL_2015    INT64_C(1435708800) /* s, 2015-07-01T00:00:00Z POSIX */
#define MAR_2036    INT64_C(2087942400) /* s, 2036-03-01T00:00:00Z POSIX */
#define JUL_2036    INT64_C(2098483200) /* s, 2036-07-01T00:00:00Z POSIX */
#define EXPIRY_IERS INT64_C(1782604800) /* s, 2026-06-28T00:00:00Z: #@ 3991593600 of the list */
#define DAY         INT64_C(86400)

static unsigned
leap_parse_text(const char *text)
{
	ntp_leap_init(&tbl, "test.list");
	return ntp_leap_parse(&tbl, text, strlen(text));
}

static unsigned
leap_parse_file(const char *name)
{
	char path[1024];
	size_t len;
	unsigned n;

	snprintf(path, sizeof path, "%s/%s", NTPLAB_TEST_DATA, name);
	char *buf = fixture_read_file(path, &len);
	ntp_leap_init(&tbl, name);
	n = ntp_leap_parse(&tbl, buf, len);
	free(buf);
	return n;
}

static const char *
leap_diag(size_t i)
{
	static char buf[512];

	cr_assert_lt(i, tbl.n_diags, "diagnostic %zu of %zu", i, tbl.n_diags);
	return ntp_leap_diag_format(&tbl, &tbl.diags[i], buf, sizeof buf);
}

Test(leap, iers_list_hash_good)
{
	cr_assert_eq(leap_parse_file("leap-seconds.list"), 0, "%s", leap_diag(0));
	cr_assert_eq(tbl.hash, NTP_LEAP_HASH_GOOD);
	cr_assert_eq(tbl.n_warnings, 0);
	cr_assert_eq(tbl.n, 28);
	cr_assert_eq(tbl.e[0].tai_utc, 10);
	cr_assert_eq(tbl.e[0].step, 0);
	cr_assert_eq(tbl.e[27].when, JAN_2017);
	cr_assert_eq(tbl.e[27].tai_utc, 37);
	cr_assert_eq(tbl.e[27].step, 1);
	cr_assert_eq(tbl.expires, EXPIRY_IERS);
}

Test(leap, iers_list_queries)
{
	ntp_leap_entry next;

	cr_assert_eq(leap_parse_file("leap-seconds.list"), 0);
	cr_assert_eq(ntp_leap_tai_utc(&tbl, JAN_2017 - 1), 36);
	cr_assert_eq(ntp_leap_tai_utc(&tbl, JAN_2017), 37);
	cr_assert_eq(ntp_leap_tai_utc(&tbl, 0), 0, "before 1972 there is no entry");
	cr_assert(ntp_leap_next(&tbl, JUL_2015, &next));
	cr_assert_eq(next.when, JAN_2017, "the leap at JUL_2015 itself is past");
	cr_assert(ntp_leap_next(&tbl, JAN_2017 - 1, &next));
	cr_assert_eq(next.when, JAN_2017);
	cr_assert_not(ntp_leap_next(&tbl, JAN_2017, &next));
	/* announced over the last UTC day only */
	cr_assert_eq(ntp_leap_pending(&tbl, JAN_2017 - DAY - 1), 0);
	cr_assert_eq(ntp_leap_pending(&tbl, JAN_2017 - DAY), 1);
	cr_assert_eq(ntp_leap_pending(&tbl, JAN_2017 - 1), 1);
	cr_assert_eq(ntp_leap_pending(&tbl, JAN_2017), 0);
}

Test(leap, iers_list_expiry)
{
	char buf[256];

	cr_assert_eq(leap_parse_file("leap-seconds.list"), 0);
	cr_assert_not(ntp_leap_expired(&tbl, EXPIRY_IERS - 1));
	cr_assert_str_empty(ntp_leap_expiry_text(&tbl, EXPIRY_IERS - 1, buf, sizeof buf));
	cr_assert(ntp_leap_expired(&tbl, EXPIRY_IERS));
	cr_assert_str_eq(ntp_leap_expiry_text(&tbl, EXPIRY_IERS + 162 * DAY + 5, buf, sizeof buf),
	                 "leapsecond file ('leap-seconds.list'): expired 162 days ago");
}

Test(leap, tampered_list_refused)
{
	cr_assert_eq(leap_parse_file("leap/tampered.list"), 1);
	cr_assert_eq(tbl.hash, NTP_LEAP_HASH_BAD);
	cr_assert_str_eq(leap_diag(0),
	                 "leap/tampered.list:120:4: error: hash mismatch: the data hash "
	                 "to ffc66187addc3bf12676a8a8eb032b8d2636e446 (the file was "
	                 "altered or damaged)");
}

Test(leap, synthetic_2036_era1)
{
	cr_assert_eq(leap_parse_file("leap/synthetic-2036.list"), 0, "%s", leap_diag(0));
	cr_assert_eq(tbl.hash, NTP_LEAP_HASH_GOOD, "a hash word with its leading zero dropped");
	cr_assert_eq(tbl.n, 4);
	cr_assert_eq(tbl.e[2].when, MAR_2036, "NTP seconds past 2^32 are era 1");
	cr_assert_eq(tbl.e[2].step, 1);
	cr_assert_eq(tbl.e[3].when, JUL_2036);
	cr_assert_eq(tbl.e[3].step, -1);
	cr_assert_eq(ntp_leap_pending(&tbl, MAR_2036 - 600), 1);
	cr_assert_eq(ntp_leap_pending(&tbl, JUL_2036 - 600), -1);
	cr_assert_eq(ntp_leap_tai_utc(&tbl, JUL_2036), 11);
}

Test(leap, no_hash_is_a_warning)
{
	cr_assert_eq(leap_parse_file("leap/nohash.list"), 0);
	cr_assert_eq(tbl.hash, NTP_LEAP_HASH_NONE);
	cr_assert_eq(tbl.n_warnings, 1);
	cr_assert_str_eq(leap_diag(0), "leap/nohash.list:1:1: warning: no '#h' hash line: the data "
	                               "cannot be checked");
	cr_assert_eq(tbl.n, 4);
}

Test(leap, errors_name_line_and_column)
{
	cr_assert_eq(leap_parse_text("#@ 3991593600\n"
	                             "2272060800 10\n"
	                             "2287785600\tx1\n"
	                             "2287785600 12\n"
	                             "2303683200 11 7\n"
	                             "2303683201 12\n"
	                             "#h 1 2 3\n"),
	             5);
	cr_assert_str_eq(leap_diag(0), "test.list:3:12: error: expected TAI-UTC seconds, not 'x1'");
	cr_assert_str_eq(leap_diag(1), "test.list:4:1: error: TAI-UTC goes from 10 to 12 s; a leap "
	                               "second changes it by 1 s");
	cr_assert_str_eq(leap_diag(2), "test.list:5:15: error: unexpected '7' after TAI-UTC");
	cr_assert_str_eq(leap_diag(3),
	                 "test.list:6:1: error: 2303683201 is not 00:00:00 UTC of a day");
	cr_assert_str_eq(leap_diag(4), "test.list:7:4: error: malformed hash: 3 words, expected 5");
}

Test(leap, order_and_empty)
{
	cr_assert_eq(leap_parse_text("#@ 3991593600\n2287785600 11\n2272060800 10\n"), 1);
	cr_assert_str_eq(leap_diag(0),
	                 "test.list:3:1: error: time is not after the previous entry (line 2)");
	cr_assert_eq(leap_parse_text("# nothing\n\n"), 1);
	cr_assert_str_eq(leap_diag(0),
	                 "test.list:2:1: error: no data lines ('NTP-seconds TAI-UTC')");
	cr_assert_str_eq(leap_diag(1),
	                 "test.list:1:1: warning: no '#@' expiry line: the file counts as expired");
	cr_assert(ntp_leap_expired(&tbl, 0));
}

Test(leap, times_beyond_two_eras_refused)
{
	cr_assert_eq(leap_parse_text("#@ 8589934592\n2272060800 10\n999999999999999 11\n"), 2);
	cr_assert_str_eq(leap_diag(0), "test.list:1:4: error: '#@' needs NTP seconds (below "
	                               "8589934592, 2172), not '8589934592'");
	cr_assert_str_eq(leap_diag(1), "test.list:3:1: error: expected NTP seconds (below "
	                               "8589934592, 2172), not '999999999999999'");
}

Test(leap, bad_hash_word)
{
	cr_assert_eq(leap_parse_text("#@ 3991593600\n2272060800 10\n#h 1 2 3 4 xyz\n"), 1);
	cr_assert_str_eq(leap_diag(0), "test.list:3:12: error: malformed hash: 'xyz' (expected 5 "
	                               "words of up to 8 hex digits)");
	cr_assert_eq(tbl.hash, NTP_LEAP_HASH_BAD);
}

Test(leap, add_builds_a_table)
{
	ntp_leap_init(&tbl, "scenario");
	cr_assert(ntp_leap_add(&tbl, JAN_2017, 1));
	cr_assert_not(ntp_leap_add(&tbl, JAN_2017, 1), "not after the last entry");
	cr_assert_not(ntp_leap_add(&tbl, MAR_2036 + 1, 1), "not a day boundary");
	cr_assert_not(ntp_leap_add(&tbl, MAR_2036, 2), "a leap is one second");
	cr_assert(ntp_leap_add(&tbl, MAR_2036, -1));
	cr_assert_eq(ntp_leap_tai_utc(&tbl, MAR_2036), 10);
	cr_assert_eq(ntp_leap_pending(&tbl, MAR_2036 - 1), -1);
	cr_assert_not(ntp_leap_expired(&tbl, MAR_2036), "a built table never expires");
}

Test(leap, conf_directives)
{
	const char *text = "leapfile /etc/leap-seconds.list\nleapsmearinterval 3600\n";

	ntp_conf_init(&conf, "test.conf");
	cr_assert_eq(ntp_conf_parse(&conf, text, strlen(text)), 0);
	cr_assert_eq(conf.n_warnings, 0);
	cr_assert_str_eq(conf.leapfile, "/etc/leap-seconds.list");
	cr_assert_eq(conf.leapfile_line, 1);
	cr_assert_float_eq(conf.leapsmearinterval, 3600.0, 0);
}

Test(leap, conf_directive_errors)
{
	char buf[512];
	const char *text = "leapfile\nleapsmearinterval 90000\nleapsmearinterval x\nleapfile a b\n";

	ntp_conf_init(&conf, "test.conf");
	cr_assert_eq(ntp_conf_parse(&conf, text, strlen(text)), 4);
	cr_assert_str_eq(ntp_conf_diag_format(&conf, &conf.diags[0], buf, sizeof buf),
	                 "test.conf:1:1: error: 'leapfile' needs a file name");
	cr_assert_str_eq(ntp_conf_diag_format(&conf, &conf.diags[1], buf, sizeof buf),
	                 "test.conf:2:19: error: leapsmearinterval 90000 is out of range [0, "
	                 "86400]");
	cr_assert_str_eq(ntp_conf_diag_format(&conf, &conf.diags[2], buf, sizeof buf),
	                 "test.conf:3:19: error: 'leapsmearinterval' needs an integer, not 'x'");
	cr_assert_str_eq(ntp_conf_diag_format(&conf, &conf.diags[3], buf, sizeof buf),
	                 "test.conf:4:12: error: unexpected 'b' after 'leapfile'");
	cr_assert_str_empty(conf.leapfile);
	cr_assert_float_eq(conf.leapsmearinterval, 0.0, 0);
}
