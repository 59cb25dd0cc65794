/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refd: ntplab's reference NTP daemon -- main: options, start-up order,
 * detaching, pid file, privilege drop.  See docs/refd.8.md.
 *
 * Start-up order (ntpd's): parse the command line, parse ntp.conf (every
 * diagnostic printed, errors are fatal), open the log, resolve names, bind
 * the sockets (port 123 needs root) and the --ctl socket, detach, write the
 * pid file, drop privileges, then create the host and run.
 */
#define _GNU_SOURCE /* setgroups */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "refd_conf.h"
#include "refd_loop.h"
#include "refd_opts.h"
#include "refd_query.h"

#define EXIT_USAGE   2 /* bad command line */
#define REFD_VERSION "refd (ntplab) 0.1"

static int
drop_privileges(const char *user, char *err, size_t errsize)
{
	struct passwd *pw = getpwnam(user);
	gid_t gid;

	if (pw == NULL) {
		snprintf(err, errsize, "-u %s: no such user", user);
		return -1;
	}
	gid = pw->pw_gid;
	if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(pw->pw_uid) != 0) {
		snprintf(err, errsize, "-u %s: cannot drop privileges: %s", user, strerror(errno));
		return -1;
	}
	/* Paranoia: root must not be regainable. */
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		snprintf(err, errsize, "-u %s: could regain root after setuid", user);
		return -1;
	}
	return 0;
}

/* fork, new session, stdio to /dev/null.  The parent exits 0. */
static int
detach(char *err, size_t errsize)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0) {
		snprintf(err, errsize, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		_exit(0);
	}
	if (setsid() < 0) {
		snprintf(err, errsize, "setsid: %s", strerror(errno));
		return -1;
	}
	if (chdir("/") != 0) {
		snprintf(err, errsize, "chdir /: %s", strerror(errno));
		return -1;
	}
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO) {
			close(fd);
		}
	}
	return 0;
}

static int
check_clock_choice(const refd_opts *o)
{
	char err[256];

	if (o->clock_kind != REFD_CLOCK_SYSTEM) {
		return 0;
	}
	if (!o->i_mean_it) {
		refd_clock_system_permitted(false, err, sizeof err);
		fprintf(stderr, "refd: %s\n", err);
		return EXIT_USAGE;
	}
	if (!refd_clock_system_permitted(true, err, sizeof err)) {
		fprintf(stderr, "refd: %s\n", err);
		return 1;
	}
	return 0;
}

static int
run_daemon(const refd_opts *o)
{
	ntp_conf *conf;
	refd_daemon *d;
	unsigned n_errors;
	char err[1024];
	int rc;

	conf = refd_conf_load(o->conf_path, stderr, &n_errors);
	if (conf == NULL) {
		return 1;
	}
	if ((rc = check_clock_choice(o)) != 0) {
		free(conf);
		return rc;
	}
	d = refd_daemon_new(o, conf);
	if (d == NULL || refd_log_open(&d->log, o->logfile != NULL ? o->logfile : conf->logfile,
	                               o->foreground, o->debug, err, sizeof err) != 0) {
		fprintf(stderr, "refd: %s\n", d == NULL ? "out of memory" : err);
		free(d);
		free(conf);
		return 1;
	}
	refd_conf_resolve(conf, o->server_port, &d->log);
	rc = 1;
	if (refd_daemon_bind(d, err, sizeof err) != 0) {
		fprintf(stderr, "refd: %s\n", err);
		if (d->log.fp != NULL) {
			refd_logf(&d->log, REFD_LOG_ERR, "%s", err);
		}
		goto out;
	}
	if (refd_daemon_open_ctl(d, err, sizeof err) != 0) {
		fprintf(stderr, "refd: %s\n", err);
		if (d->log.fp != NULL) {
			refd_logf(&d->log, REFD_LOG_ERR, "%s", err);
		}
		goto out;
	}
	if (!o->foreground && detach(err, sizeof err) != 0) {
		refd_logf(&d->log, REFD_LOG_ERR, "%s", err);
		goto out;
	}
	d->log.pid = (long)getpid();
	if (o->pidfile != NULL &&
	    refd_pidfile_write(o->pidfile, (long)getpid(), err, sizeof err) != 0) {
		refd_logf(&d->log, REFD_LOG_ERR, "%s", err);
		goto out;
	}
	if (o->user != NULL && drop_privileges(o->user, err, sizeof err) != 0) {
		refd_logf(&d->log, REFD_LOG_ERR, "%s", err);
		goto out_pid;
	}
	if (refd_daemon_start(d, err, sizeof err) != 0) {
		refd_logf(&d->log, REFD_LOG_ERR, "%s", err);
		goto out_pid;
	}
	rc = refd_daemon_run(d);
	refd_daemon_finish(d);
out_pid:
	if (o->pidfile != NULL) {
		refd_pidfile_remove(o->pidfile);
	}
out:
	refd_log_close(&d->log);
	refd_daemon_free(d);
	free(conf);
	return rc;
}

int
main(int argc, char *argv[])
{
	refd_opts o;
	char err[256];

	if (refd_opts_parse(argc, argv, &o, err, sizeof err) != 0) {
		fprintf(stderr, "refd: %s\n", err);
		return EXIT_USAGE;
	}
	switch (o.mode) {
	case REFD_MODE_HELP:
		refd_opts_usage(stdout);
		return 0;
	case REFD_MODE_VERSION:
		puts(REFD_VERSION);
		return 0;
	case REFD_MODE_QUERY:
		return refd_query_run(&o);
	default:
		return run_daemon(&o);
	}
}
