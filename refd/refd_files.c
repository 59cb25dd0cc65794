/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refd's files: log, event lines, drift file, statistics, pid file
 * (refd_files.h).
 */
#define _GNU_SOURCE /* mkostemp */

#include "refd_files.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "ntp_const.h"
#include "ntp_host.h"
#include "refd_num.h"

#define LOG_LINE_MAX  1024
#define DRIFT_MAX_PPM 500.0 /* ppm, ntpd NTP_MAXFREQ: larger drift values are clamped by ntpd */
#define DRIFT_TEMP    ".TEMP.XXXXXX" /* ntpd's ".TEMP" suffix, made unique by mkostemp */
#define DRIFT_MODE    0644           /* the drift file's mode (ntpd: fopen "w" under umask 022) */
/* bytes of the drift file's one line: ntpd writes "%.3f\n" (at most 9 for
 * +-500 ppm); more than this is not a drift file (issue 11: a 10 MB line). */
#define DRIFT_LINE_MAX 64

/* ---- log ---- */

static FILE *
open_append(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	FILE *fp;

	if (fd < 0) {
		return NULL;
	}
	fp = fdopen(fd, "a");
	if (fp == NULL) {
		close(fd);
	}
	return fp;
}

int
refd_log_open(refd_log *l, const char *path, bool foreground, int verbose, char *err,
              size_t errsize)
{
	memset(l, 0, sizeof *l);
	l->verbose = verbose;
	l->pid = (long)getpid();
	if (path != NULL && path[0] != '\0') {
		snprintf(l->path, sizeof l->path, "%s", path);
		l->fp = open_append(path);
		if (l->fp == NULL) {
			snprintf(err, errsize, "cannot open logfile %s: %s", path, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (foreground) {
		l->use_stderr = true;
	} else {
		l->use_syslog = true;
		openlog("refd", LOG_PID, LOG_DAEMON);
	}
	return 0;
}

int
refd_log_reopen(refd_log *l)
{
	FILE *fp;

	l->pid = (long)getpid();
	if (l->path[0] == '\0') {
		return 0;
	}
	fp = open_append(l->path);
	if (fp == NULL) {
		return -1;
	}
	if (l->fp != NULL) {
		fclose(l->fp);
	}
	l->fp = fp;
	return 0;
}

void
refd_log_close(refd_log *l)
{
	if (l->fp != NULL) {
		fclose(l->fp);
		l->fp = NULL;
	}
	if (l->use_syslog) {
		closelog();
	}
}

void
refd_logf(refd_log *l, int level, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX], stamp[32];
	va_list ap;
	struct timespec ts;
	struct tm tm;
	FILE *out;

	if (level > REFD_LOG_NOTICE + l->verbose) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (l->use_syslog) {
		syslog(level == REFD_LOG_ERR      ? LOG_ERR
		       : level == REFD_LOG_NOTICE ? LOG_NOTICE
		                                  : LOG_DEBUG,
		       "%s", msg);
		return;
	}
	out = l->fp != NULL ? l->fp : stderr;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(out, "%s refd[%ld]: %s\n", stamp, l->pid, msg);
	fflush(out);
}

/* ---- events ---- */

unsigned
refd_event_ntpd_code(int code, bool *peer_event)
{
	/* ntpd ntp_control.h EVNT_* (system) and PEVNT_* (peer) numbers. */
	static const struct {
		int code;
		unsigned ntpd;
		bool peer;
	} map[] = {
	        {NTP_EV_FREQ_NOT_SET, 0x1, false},  {NTP_EV_FREQ_SET, 0x2, false},
	        {NTP_EV_SPIKE_DETECT, 0x3, false},  {NTP_EV_FREQ_MODE, 0x4, false},
	        {NTP_EV_CLOCK_SYNC, 0x5, false},    {NTP_EV_RESTART, 0x6, false},
	        {NTP_EV_PANIC_STOP, 0x7, false},    {NTP_EV_NO_SYS_PEER, 0x8, false},
	        {NTP_EV_CLOCK_STEP, 0xc, false},    {NTP_EV_DEMOBILIZE, 0x2, true},
	        {NTP_EV_UNREACHABLE, 0x3, true},    {NTP_EV_REACHABLE, 0x4, true},
	        {NTP_EV_RATE_EXCEEDED, 0x7, true},  {NTP_EV_KOD, 0x7, true},
	        {NTP_EV_ACCESS_DENIED, 0x8, true},  {NTP_EV_SYS_PEER, 0xa, true},
	        {NTP_EV_POPCORN, 0xd, true},        {NTP_EV_LEAP_ARMED, 0x9, false},
	        {NTP_EV_LEAP_DISARMED, 0xa, false}, {NTP_EV_LEAP_EVENT, 0xb, false},
	        {NTP_EV_LEAPFILE, 0xf, false},
	};

	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
		if (map[i].code == code) {
			*peer_event = map[i].peer;
			return map[i].ntpd;
		}
	}
	*peer_event = false;
	return 0;
}

unsigned
refd_sys_status(unsigned leap, unsigned source, unsigned count, unsigned code)
{
	return ((leap & 0x3u) << 14) | ((source & 0x3fu) << 8) | ((count > 15 ? 15 : count) << 4) |
	       (code & 0xfu);
}

char *
refd_event_line(const char *addr, unsigned status, unsigned ntpd_code, const char *name,
                const char *reason, char *buf, size_t size)
{
	snprintf(buf, size, "%s %04x %02x %s%s%s", addr, status & 0xffffu, ntpd_code & 0xffu, name,
	         reason[0] != '\0' ? " " : "", reason);
	return buf;
}

/* ---- drift file ---- */

/* The first line of fp, without its end, in line[size]; -1 when it is
 * longer than size - 2 bytes (one is for the newline, one for the NUL). */
static int
read_line(FILE *fp, char *line, size_t size)
{
	size_t n;

	if (fgets(line, (int)size, fp) == NULL) {
		line[0] = '\0';
		return 0;
	}
	n = strlen(line);
	if (n > 0 && line[n - 1] == '\n') {
		line[n - 1] = '\0';
		return 0;
	}
	/* No newline: the end of the file, or a line that did not fit. */
	return (n >= size - 1 && fgetc(fp) != EOF) ? -1 : 0;
}

/* line without leading and trailing blanks (changes line). */
static char *
trim(char *line)
{
	size_t n;

	while (*line == ' ' || *line == '\t') {
		line++;
	}
	n = strlen(line);
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r')) {
		line[--n] = '\0';
	}
	return line;
}

int
refd_drift_read(const char *path, double *ppm, char *err, size_t errsize)
{
	FILE *fp = fopen(path, "r");
	char line[DRIFT_LINE_MAX + 2], *word;
	double v;
	int rc;

	if (fp == NULL) {
		if (errno == ENOENT) {
			return 0;
		}
		snprintf(err, errsize, "cannot read drift file %s: %s", path, strerror(errno));
		return -1;
	}
	rc = read_line(fp, line, sizeof line);
	fclose(fp);
	if (rc != 0) {
		snprintf(err, errsize,
		         "drift file %s: first line longer than %d bytes: not a frequency in ppm",
		         path, DRIFT_LINE_MAX);
		return -1;
	}
	word = trim(line);
	if (word[0] == '\0') {
		snprintf(err, errsize, "drift file %s is empty", path);
		return -1;
	}
	if (!refd_num_parse(word, &v)) {
		snprintf(err, errsize, "drift file %s: '%.40s' is not a frequency in ppm", path,
		         word);
		return -1;
	}
	*ppm = fmax(-DRIFT_MAX_PPM, fmin(DRIFT_MAX_PPM, v));
	return 1;
}

/* The new drift file, in a temporary file of the same directory: mkostemp
 * creates it with O_CREAT|O_EXCL, which never follows a link and never
 * opens a file that exists, under a name nobody can plant a link at in
 * advance (issue 11: O_TRUNC on the fixed PATH.TEMP wrote through a link
 * planted there).  tmp gets the file's name.  Returns 0, or -1 with err. */
static int
write_temp(const char *tmp_template, char *tmp, size_t size, const char *text, char *err,
           size_t errsize)
{
	size_t len = strlen(text);
	int fd;

	snprintf(tmp, size, "%s", tmp_template);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errsize, "cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	/* mkostemp makes 0600; fsync before the rename, so a crash leaves the
	 * old file or the new one, never an empty one. */
	if (fchmod(fd, DRIFT_MODE) != 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
		snprintf(err, errsize, "cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) != 0) {
		snprintf(err, errsize, "cannot write %s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int
refd_drift_write(const char *path, double ppm, char *err, size_t errsize)
{
	char tmpl[REFD_PATH_MAX + sizeof DRIFT_TEMP], tmp[sizeof tmpl], text[64];

	if ((size_t)snprintf(tmpl, sizeof tmpl, "%s%s", path, DRIFT_TEMP) >= sizeof tmpl) {
		snprintf(err, errsize, "drift file name %.80s... too long", path);
		return -1;
	}
	snprintf(text, sizeof text, "%.3f\n", isfinite(ppm) ? ppm : 0.0);
	if (write_temp(tmpl, tmp, sizeof tmp, text, err, errsize) != 0) {
		return -1;
	}
	/* rename replaces whatever is at path (a link too) without following it. */
	if (rename(tmp, path) != 0) {
		snprintf(err, errsize, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* ---- statistics ---- */

static void
stats_file_init(refd_stats_file *f, uint32_t which, const char *name, const ntp_conf *c)
{
	memset(f, 0, sizeof *f);
	f->which = which;
	snprintf(f->name, sizeof f->name, "%s", name);
	snprintf(f->type, sizeof f->type, "day");
	for (size_t i = 0; c != NULL && i < c->n_filegen && i < NTP_CONF_MAX_FILEGEN; i++) {
		if (c->filegen[i].which == which) {
			snprintf(f->name, sizeof f->name, "%s", c->filegen[i].file);
			snprintf(f->type, sizeof f->type, "%s", c->filegen[i].type);
		}
	}
}

void
refd_stats_init(refd_stats *s, const ntp_conf *c, long pid)
{
	memset(s, 0, sizeof *s);
	snprintf(s->dir, sizeof s->dir, "%s",
	         c != NULL && c->statsdir[0] != '\0' ? c->statsdir : REFD_STATSDIR_DEF);
	s->pid = pid;
	stats_file_init(&s->f[0], NTP_STATS_LOOPSTATS, "loopstats", c);
	stats_file_init(&s->f[1], NTP_STATS_PEERSTATS, "peerstats", c);
}

int
refd_stats_path(const char *dir, const char *name, const char *type, ntp_time unix_ns, long pid,
                char *buf, size_t size)
{
	time_t secs = (time_t)(unix_ns / NTP_NS_PER_S);
	const char *sep = (dir[0] != '\0' && dir[strlen(dir) - 1] != '/') ? "/" : "";
	char suffix[32] = "";
	struct tm tm;
	int n;

	gmtime_r(&secs, &tm);
	if (strcmp(type, "none") == 0) {
		suffix[0] = '\0';
	} else if (strcmp(type, "pid") == 0) {
		snprintf(suffix, sizeof suffix, ".%ld", pid);
	} else if (strcmp(type, "week") == 0) {
		/* ntpd: year and week number, "W" in between. */
		snprintf(suffix, sizeof suffix, ".%04dW%02d", tm.tm_year + 1900, tm.tm_yday / 7);
	} else if (strcmp(type, "month") == 0) {
		strftime(suffix, sizeof suffix, ".%Y%m", &tm);
	} else if (strcmp(type, "year") == 0) {
		strftime(suffix, sizeof suffix, ".%Y", &tm);
	} else if (strcmp(type, "age") == 0) {
		/* ntpd counts 24-hour periods of daemon uptime; refd uses whole days since 1970. */
		snprintf(suffix, sizeof suffix, ".a%08lld", (long long)(secs / NTP_S_PER_DAY));
	} else {
		strftime(suffix, sizeof suffix, ".%Y%m%d", &tm);
	}
	n = snprintf(buf, size, "%s%s%s%s", dir, sep, name, suffix);
	return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

int
refd_stats_write(refd_stats *s, uint32_t which, const char *line, ntp_time unix_ns, char *err,
                 size_t errsize)
{
	refd_stats_file *f = NULL;
	char path[REFD_PATH_MAX];

	for (int i = 0; i < 2; i++) {
		if (s->f[i].which == which) {
			f = &s->f[i];
		}
	}
	if (f == NULL) {
		return 0;
	}
	if (refd_stats_path(s->dir, f->name, f->type, unix_ns, s->pid, path, sizeof path) != 0) {
		snprintf(err, errsize, "statistics file name too long in %s", s->dir);
		return -1;
	}
	if (f->fp == NULL || strcmp(path, f->open_path) != 0) {
		if (f->fp != NULL) {
			fclose(f->fp);
		}
		f->fp = open_append(path);
		if (f->fp == NULL) {
			f->open_path[0] = '\0';
			snprintf(err, errsize, "cannot open %s: %s", path, strerror(errno));
			return -1;
		}
		snprintf(f->open_path, sizeof f->open_path, "%s", path);
	}
	fprintf(f->fp, "%s\n", line);
	fflush(f->fp);
	return 0;
}

void
refd_stats_close(refd_stats *s)
{
	for (int i = 0; i < 2; i++) {
		if (s->f[i].fp != NULL) {
			fclose(s->f[i].fp);
			s->f[i].fp = NULL;
			s->f[i].open_path[0] = '\0';
		}
	}
}

/* ---- pid file ---- */

int
refd_pidfile_write(const char *path, long pid, char *err, size_t errsize)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL) {
		snprintf(err, errsize, "cannot write pid file %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(fp, "%ld\n", pid);
	if (fclose(fp) != 0) {
		snprintf(err, errsize, "cannot write pid file %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

void
refd_pidfile_remove(const char *path)
{
	if (path != NULL && path[0] != '\0') {
		unlink(path);
	}
}
