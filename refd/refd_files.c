/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refd's files: log, event lines, drift file, statistics, pid file
 * (refd_files.h).
 */
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

#include "ntp_host.h"

#define LOG_LINE_MAX  1024
#define DRIFT_MAX_PPM 500.0   /* ppm, ntpd NTP_MAXFREQ: larger drift values are clamped by ntpd */
#define DRIFT_TEMP    ".TEMP" /* suffix ntpd uses for the file it renames over the drift file */
#define S_PER_DAY     86400   /* s */

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
	        {NTP_EV_FREQ_NOT_SET, 0x1, false}, {NTP_EV_FREQ_SET, 0x2, false},
	        {NTP_EV_SPIKE_DETECT, 0x3, false}, {NTP_EV_FREQ_MODE, 0x4, false},
	        {NTP_EV_CLOCK_SYNC, 0x5, false},   {NTP_EV_RESTART, 0x6, false},
	        {NTP_EV_PANIC_STOP, 0x7, false},   {NTP_EV_NO_SYS_PEER, 0x8, false},
	        {NTP_EV_CLOCK_STEP, 0xc, false},   {NTP_EV_DEMOBILIZE, 0x2, true},
	        {NTP_EV_UNREACHABLE, 0x3, true},   {NTP_EV_REACHABLE, 0x4, true},
	        {NTP_EV_RATE_EXCEEDED, 0x7, true}, {NTP_EV_KOD, 0x7, true},
	        {NTP_EV_ACCESS_DENIED, 0x8, true}, {NTP_EV_SYS_PEER, 0xa, true},
	        {NTP_EV_POPCORN, 0xd, true},
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

int
refd_drift_read(const char *path, double *ppm, char *err, size_t errsize)
{
	FILE *fp = fopen(path, "r");
	char line[128], *end;
	double v;

	if (fp == NULL) {
		if (errno == ENOENT) {
			return 0;
		}
		snprintf(err, errsize, "cannot read drift file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fgets(line, sizeof line, fp) == NULL) {
		fclose(fp);
		snprintf(err, errsize, "drift file %s is empty", path);
		return -1;
	}
	fclose(fp);
	errno = 0;
	v = strtod(line, &end);
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r') {
		end++;
	}
	if (end == line || *end != '\0' || errno != 0 || !isfinite(v)) {
		line[strcspn(line, "\n")] = '\0';
		snprintf(err, errsize, "drift file %s: '%.40s' is not a frequency in ppm", path,
		         line);
		return -1;
	}
	*ppm = fmax(-DRIFT_MAX_PPM, fmin(DRIFT_MAX_PPM, v));
	return 1;
}

int
refd_drift_write(const char *path, double ppm, char *err, size_t errsize)
{
	char tmp[REFD_PATH_MAX + sizeof DRIFT_TEMP], text[64];
	int fd, n;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s%s", path, DRIFT_TEMP) >= sizeof tmp) {
		snprintf(err, errsize, "drift file name too long");
		return -1;
	}
	n = snprintf(text, sizeof text, "%.3f\n", isfinite(ppm) ? ppm : 0.0);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errsize, "cannot write %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write(fd, text, (size_t)n) != n || fsync(fd) != 0) {
		snprintf(err, errsize, "cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
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
		snprintf(suffix, sizeof suffix, ".a%08lld", (long long)(secs / S_PER_DAY));
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
