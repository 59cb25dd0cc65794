/* SPDX-License-Identifier: BSD-2-Clause */
/* refd/refd_files: drift file, statistics, events, log, pid file. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host_fixture.h"
#include "ntp_host.h"
#include "refd_files.h"

static char dir[64];

static void
make_dir(void)
{
	fixture_tmpdir(dir, sizeof dir, "refd_files_");
}

static void
remove_dir(void)
{
	fixture_tmpdir_remove(dir, "refd_files_");
}

static void
path_in(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

static size_t
slurp(const char *path, char *buf, size_t size)
{
	FILE *fp = fopen(path, "r");
	size_t n;

	cr_assert_not_null(fp, "%s", path);
	n = fread(buf, 1, size - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return n;
}

static void
spit(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	cr_assert_not_null(fp);
	fputs(text, fp);
	fclose(fp);
}

Test(refd_files, drift_round_trip_is_atomic, .init = make_dir, .fini = remove_dir)
{
	char path[128], tmp[140], text[64], err[256];
	double ppm = 0.0;

	path_in(path, sizeof path, "ntp.drift");
	cr_assert_eq(refd_drift_write(path, -12.3456, err, sizeof err), 0, "%s", err);
	slurp(path, text, sizeof text);
	cr_assert_str_eq(text, "-12.346\n", "ntpd's format: one number, 3 decimals");
	snprintf(tmp, sizeof tmp, "%s.TEMP", path);
	cr_assert_neq(access(tmp, F_OK), 0, "the temporary file was renamed away");
	cr_assert_eq(refd_drift_read(path, &ppm, err, sizeof err), 1, "%s", err);
	cr_assert_float_eq(ppm, -12.346, 1e-12);
}

Test(refd_files, drift_missing_malformed_and_clamped, .init = make_dir, .fini = remove_dir)
{
	char path[128], err[256] = "";
	double ppm = 7.0;

	path_in(path, sizeof path, "none");
	cr_assert_eq(refd_drift_read(path, &ppm, err, sizeof err), 0);
	cr_assert_float_eq(ppm, 7.0, 0.0, "untouched when there is no file");
	path_in(path, sizeof path, "bad");
	spit(path, "twelve\n");
	cr_assert_eq(refd_drift_read(path, &ppm, err, sizeof err), -1);
	cr_assert(strstr(err, "'twelve' is not a frequency") != NULL, "%s", err);
	spit(path, "1.5 2.5\n");
	cr_assert_eq(refd_drift_read(path, &ppm, err, sizeof err), -1);
	spit(path, "");
	cr_assert_eq(refd_drift_read(path, &ppm, err, sizeof err), -1);
	cr_assert(strstr(err, "empty") != NULL, "%s", err);
	spit(path, "  -900.25\n");
	cr_assert_eq(refd_drift_read(path, &ppm, err, sizeof err), 1, "%s", err);
	cr_assert_float_eq(ppm, -500.0, 0.0, "clamped to ntpd's 500 ppm");
}

/* Issue 11 item 9: fgets read the first 127 bytes of a 10 MB line of
 * digits, strtod made 1.1e126 of them and the clamp 500 ppm. */
Test(refd_files, drift_line_longer_than_the_bound_is_refused, .init = make_dir, .fini = remove_dir)
{
	size_t big = 10u * 1024u * 1024u; /* bytes: the outside attack's 10 MB line */
	char path[128], err[256] = "";
	double ppm = 7.0;
	FILE *fp;

	path_in(path, sizeof path, "ntp.drift");
	fp = fopen(path, "w");
	cr_assert_not_null(fp);
	for (size_t i = 0; i < big; i++) {
		fputc('1', fp);
	}
	fputc('\n', fp);
	fclose(fp);
	cr_assert_eq(refd_drift_read(path, &ppm, err, sizeof err), -1, "accepted as %g ppm", ppm);
	cr_assert_float_eq(ppm, 7.0, 0.0, "the frequency stays unset");
	cr_assert(strstr(err, path) != NULL, "names the file: %s", err);
	cr_assert(strstr(err, "longer than 64 bytes") != NULL, "says why: %s", err);
	spit(path, "0x10\n");
	cr_assert_eq(refd_drift_read(path, &ppm, err, sizeof err), -1, "hex is no frequency");
	cr_assert(strstr(err, "'0x10' is not a frequency") != NULL, "%s", err);
	spit(path, "inf\n");
	cr_assert_eq(refd_drift_read(path, &ppm, err, sizeof err), -1);
	spit(path, "-12.346"); /* no newline at the end: still one line */
	cr_assert_eq(refd_drift_read(path, &ppm, err, sizeof err), 1, "%s", err);
	cr_assert_float_eq(ppm, -12.346, 1e-12);
}

static int
count_entries(const char *d)
{
	char cmd[128], out[32] = "";
	FILE *p;

	snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", d);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	cr_assert_not_null(fgets(out, sizeof out, p));
	pclose(p);
	return atoi(out);
}

/* Issue 11 item 6: the temporary file was opened with O_CREAT|O_TRUNC at
 * the predictable PATH.TEMP, so a link planted there made refd truncate
 * and overwrite the link's target, then rename the link over the drift
 * file. */
Test(refd_files, drift_write_follows_no_planted_link, .init = make_dir, .fini = remove_dir)
{
	char path[128], tmp[140], target[128], text[64], err[256];
	struct stat st;

	path_in(path, sizeof path, "ntp.drift");
	path_in(target, sizeof target, "precious");
	snprintf(tmp, sizeof tmp, "%s.TEMP", path);
	spit(target, "do not touch\n");
	cr_assert_eq(symlink(target, tmp), 0);
	cr_assert_eq(refd_drift_write(path, 3.25, err, sizeof err), 0, "%s", err);
	slurp(target, text, sizeof text);
	cr_assert_str_eq(text, "do not touch\n", "the link's target is untouched");
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISREG(st.st_mode), "the drift file is a regular file, not the link");
	cr_assert_eq(st.st_mode & 0777, 0644, "mode %o", st.st_mode & 0777);
	slurp(path, text, sizeof text);
	cr_assert_str_eq(text, "3.250\n");
	cr_assert_eq(lstat(tmp, &st), 0);
	cr_assert(S_ISLNK(st.st_mode), "the planted link is left alone");
	cr_assert_eq(count_entries(dir), 3, "drift file, link, target: no temporary file left");
}

/* A link at the drift file itself is replaced, never written through. */
Test(refd_files, drift_write_replaces_a_link_at_the_drift_path, .init = make_dir,
     .fini = remove_dir)
{
	char path[128], target[128], text[64], err[256];
	struct stat st;

	path_in(path, sizeof path, "ntp.drift");
	path_in(target, sizeof target, "precious");
	spit(target, "do not touch\n");
	cr_assert_eq(symlink(target, path), 0);
	cr_assert_eq(refd_drift_write(path, -1.0, err, sizeof err), 0, "%s", err);
	slurp(target, text, sizeof text);
	cr_assert_str_eq(text, "do not touch\n");
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISREG(st.st_mode));
}

/* No directory to write in: the error names the file. */
Test(refd_files, drift_write_error_names_the_file, .init = make_dir, .fini = remove_dir)
{
	char path[128], err[256] = "";

	path_in(path, sizeof path, "no/such/dir/ntp.drift");
	cr_assert_eq(refd_drift_write(path, 1.0, err, sizeof err), -1);
	cr_assert(strstr(err, path) != NULL, "%s", err);
	cr_assert(strstr(err, "No such file or directory") != NULL, "%s", err);
}

Test(refd_files, stats_file_names_follow_filegen_types)
{
	/* 2026-11-24 06:56:13 UTC */
	ntp_time t = INT64_C(1795503373) * NTP_NS_PER_S;
	char buf[256];

	cr_assert_eq(
	        refd_stats_path("/var/log/ntpstats", "loopstats", "day", t, 42, buf, sizeof buf),
	        0);
	cr_assert_str_eq(buf, "/var/log/ntpstats/loopstats.20261124");
	refd_stats_path("/s/", "peerstats", "none", t, 42, buf, sizeof buf);
	cr_assert_str_eq(buf, "/s/peerstats");
	refd_stats_path("/s", "peers", "pid", t, 42, buf, sizeof buf);
	cr_assert_str_eq(buf, "/s/peers.42");
	refd_stats_path("/s", "l", "month", t, 42, buf, sizeof buf);
	cr_assert_str_eq(buf, "/s/l.202611");
	refd_stats_path("/s", "l", "year", t, 42, buf, sizeof buf);
	cr_assert_str_eq(buf, "/s/l.2026");
	cr_assert_eq(refd_stats_path("/s", "l", "day", t, 42, buf, 8), -1, "too small a buffer");
}

Test(refd_files, stats_lines_are_appended, .init = make_dir, .fini = remove_dir)
{
	ntp_conf *c = calloc(1, sizeof *c);
	refd_stats st;
	char path[160], text[256], err[256];
	ntp_time t = INT64_C(1795503373) * NTP_NS_PER_S;
	const char *conf = "statistics loopstats peerstats\nfilegen peerstats type none\n";

	cr_assert_not_null(c);
	ntp_conf_init(c, "t.conf");
	cr_assert_eq(ntp_conf_parse(c, conf, strlen(conf)), 0);
	snprintf(c->statsdir, sizeof c->statsdir, "%s", dir);
	refd_stats_init(&st, c, 42);
	cr_assert_eq(refd_stats_write(&st, NTP_STATS_LOOPSTATS, "61368 25014.000 0.1", t, err,
	                              sizeof err),
	             0, "%s", err);
	cr_assert_eq(refd_stats_write(&st, NTP_STATS_LOOPSTATS, "61368 25078.000 0.2", t, err,
	                              sizeof err),
	             0, "%s", err);
	cr_assert_eq(refd_stats_write(&st, NTP_STATS_PEERSTATS, "p", t, err, sizeof err), 0);
	refd_stats_close(&st);
	snprintf(path, sizeof path, "%s/loopstats.20261124", dir);
	slurp(path, text, sizeof text);
	cr_assert_str_eq(text, "61368 25014.000 0.1\n61368 25078.000 0.2\n");
	snprintf(path, sizeof path, "%s/peerstats", dir);
	slurp(path, text, sizeof text);
	cr_assert_str_eq(text, "p\n");
	free(c);
}

Test(refd_files, event_lines_look_like_ntpd)
{
	char buf[256];
	bool peer;
	unsigned code = refd_event_ntpd_code(NTP_EV_CLOCK_STEP, &peer);

	cr_assert_eq(code, 0xc);
	cr_assert_not(peer);
	/* The seed's "0.0.0.0 c61c 0c clock_step" status word. */
	cr_assert_eq(refd_sys_status(3, 6, 1, code), 0xc61c);
	refd_event_line("0.0.0.0", refd_sys_status(3, 6, 1, code), code, "clock_step",
	                "+28.203650 s", buf, sizeof buf);
	cr_assert_str_eq(buf, "0.0.0.0 c61c 0c clock_step +28.203650 s");
	cr_assert_eq(refd_event_ntpd_code(NTP_EV_SYS_PEER, &peer), 0xa);
	cr_assert(peer);
	cr_assert_eq(refd_event_ntpd_code(NTP_EV_REACHABLE, &peer), 0x4);
	cr_assert_eq(refd_sys_status(0, 0, 99, 0), 0x00f0, "event count saturates at 15");
	refd_event_line("127.0.0.4", 0x9014, 4, "reachable", "", buf, sizeof buf);
	cr_assert_str_eq(buf, "127.0.0.4 9014 04 reachable");
}

Test(refd_files, log_file_levels_and_reopen, .init = make_dir, .fini = remove_dir)
{
	refd_log l;
	char path[128], moved[140], text[1024], err[256];

	path_in(path, sizeof path, "refd.log");
	cr_assert_eq(refd_log_open(&l, path, true, 0, err, sizeof err), 0, "%s", err);
	refd_logf(&l, REFD_LOG_NOTICE, "notice %d", 1);
	refd_logf(&l, REFD_LOG_DEBUG, "debug %d", 2);
	snprintf(moved, sizeof moved, "%s.1", path);
	cr_assert_eq(rename(path, moved), 0);
	cr_assert_eq(refd_log_reopen(&l), 0);
	refd_logf(&l, REFD_LOG_ERR, "after rotation");
	refd_log_close(&l);
	slurp(moved, text, sizeof text);
	cr_assert(strstr(text, "refd[") != NULL && strstr(text, "]: notice 1\n") != NULL, "%s",
	          text);
	cr_assert(strstr(text, "debug 2") == NULL, "-d not given: debug dropped");
	slurp(path, text, sizeof text);
	cr_assert(strstr(text, "after rotation") != NULL, "%s", text);
	path_in(path, sizeof path, "no/such/dir/log");
	cr_assert_eq(refd_log_open(&l, path, true, 0, err, sizeof err), -1);
	cr_assert(strstr(err, "cannot open logfile") != NULL, "%s", err);
}

Test(refd_files, pid_file, .init = make_dir, .fini = remove_dir)
{
	char path[128], text[64], err[256];

	path_in(path, sizeof path, "refd.pid");
	cr_assert_eq(refd_pidfile_write(path, 4321, err, sizeof err), 0, "%s", err);
	slurp(path, text, sizeof text);
	cr_assert_str_eq(text, "4321\n");
	refd_pidfile_remove(path);
	cr_assert_neq(access(path, F_OK), 0);
}
