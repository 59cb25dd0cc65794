/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refd_files: what refd keeps on disk, in ntpd's formats.
 *
 *   log       `logfile` (or -l), stderr in the foreground, syslog otherwise;
 *             lines "2026-11-24T06:59:29 refd[812]: MESSAGE" (UTC, machine
 *             clock); reopened on SIGHUP so logrotate works.
 *   events    ntpd's event log lines: "0.0.0.0 c61c 0c clock_step REASON"
 *             (address, status word, event code, name, reason).
 *   drift     one number, the frequency correction in ppm ("%.3f", ntpd);
 *             written to a new PATH.TEMP.XXXXXX (mkostemp: O_EXCL, follows
 *             no link), fsynced and renamed over PATH, so a reader never
 *             sees half a file and a planted link is never written through.
 *   stats     `statsdir` + `statistics`/`filegen`: the core's peerstats and
 *             loopstats lines appended to STATSDIR/NAME.YYYYMMDD (filegen
 *             type day, ntpd's default), NAME (type none), NAME.PID, ...
 *   pid file  the daemon's pid and a newline.
 */
#ifndef REFD_FILES_H
#define REFD_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ntp_conf.h"
#include "ntp_time.h"

#define REFD_PATH_MAX     512
#define REFD_STATSDIR_DEF "/var/log/ntpstats" /* Debian ntpsec's statsdir */

enum refd_log_level {
	REFD_LOG_ERR = 0,    /* always */
	REFD_LOG_NOTICE = 1, /* always: events, steps, start and stop */
	REFD_LOG_DEBUG = 2,  /* -d: slews, rejected packets, refused clients */
	REFD_LOG_TRACE = 3,  /* -dd: every stats line */
};

typedef struct refd_log {
	FILE *fp;                 /* open logfile, or NULL */
	char path[REFD_PATH_MAX]; /* logfile path; empty: none */
	bool use_stderr;          /* no logfile, in the foreground */
	bool use_syslog;          /* no logfile, detached */
	int verbose;              /* number of -d */
	long pid;
} refd_log;

/* Log to `path` if not empty (appending), else to stderr when foreground,
 * else to syslog.  Returns 0, or -1 with a reason in err. */
int refd_log_open(refd_log *l, const char *path, bool foreground, int verbose, char *err,
                  size_t errsize);

/* Reopen the logfile (SIGHUP).  Returns 0 or -1 (the old stream is kept). */
int refd_log_reopen(refd_log *l);
void refd_log_close(refd_log *l);

/* One line at `level` (enum refd_log_level); dropped when level exceeds
 * what -d asked for. */
void refd_logf(refd_log *l, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ntpd's event code for an ntp_event_code, and whether it is a peer event
 * (its status word is the peer's) rather than a system event. */
unsigned refd_event_ntpd_code(int code, bool *peer_event);

/* ntpd's event line "ADDR SSSS CC NAME REASON" into buf; returns buf. */
char *refd_event_line(const char *addr, unsigned status, unsigned ntpd_code, const char *name,
                      const char *reason, char *buf, size_t size);

/* ntpd's system status word: leap (2 bits), source (6), event count (4),
 * last event code (4). */
unsigned refd_sys_status(unsigned leap, unsigned source, unsigned count, unsigned code);

/* Drift file.  read: 1 with *ppm set, 0 when the file does not exist, -1
 * when it exists but its first line is not one plain decimal number of at
 * most 64 bytes (reason, with the path, in err; *ppm untouched). */
int refd_drift_read(const char *path, double *ppm, char *err, size_t errsize);
int refd_drift_write(const char *path, double ppm, char *err, size_t errsize);

/* Statistics files. */
typedef struct refd_stats_file {
	uint32_t which;               /* NTP_STATS_LOOPSTATS or NTP_STATS_PEERSTATS */
	char name[NTP_CONF_PATH_MAX]; /* file name prefix */
	char type[16];                /* filegen type */
	FILE *fp;
	char open_path[REFD_PATH_MAX];
} refd_stats_file;

typedef struct refd_stats {
	char dir[REFD_PATH_MAX];
	long pid;
	refd_stats_file f[2];
} refd_stats;

void refd_stats_init(refd_stats *s, const ntp_conf *c, long pid);

/* The file a record written at unix_ns goes to.  Returns 0, or -1 when
 * the name does not fit. */
int refd_stats_path(const char *dir, const char *name, const char *type, ntp_time unix_ns, long pid,
                    char *buf, size_t size);

/* Append one line (no newline in `line`).  Returns 0 or -1 with err. */
int refd_stats_write(refd_stats *s, uint32_t which, const char *line, ntp_time unix_ns, char *err,
                     size_t errsize);
void refd_stats_close(refd_stats *s);

/* Pid file. */
int refd_pidfile_write(const char *path, long pid, char *err, size_t errsize);
void refd_pidfile_remove(const char *path);

#endif
