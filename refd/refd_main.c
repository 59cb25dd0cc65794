/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refd: ntplab's reference NTP daemon -- main: options, start-up order,
 * detaching, pid file, privilege drop.  See docs/refd.8.md.
 *
 * Start-up order (ntpd's): parse the command line, parse ntp.conf (every
 * diagnostic printed, errors are fatal), open the log, resolve names, bind
 * the sockets (port 123 needs root) and the --ctl socket, detach, write the
 * pid file, drop privileges, create the host, enter the sandbox, tell the
 * parent (detach), run.
 */
#define _GNU_SOURCE /* setgroups, pipe2 */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ntp_leap.h"
#include "ntplab_version.h"
#include "refd_conf.h"
#include "refd_loop.h"
#include "refd_opts.h"
#include "refd_query.h"
#include "refd_sandbox.h"

#define EXIT_USAGE 2 /* bad command line */

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

/* ---- detaching, and the daemon's word to the parent ----
 *
 * Without -n the parent does not exit at the fork: it waits until the
 * daemon has written its pid file, dropped privileges and created the host
 * (issue 11: before, `-u nosuchuser` or an unwritable pid file killed the
 * daemon while the parent had already exited 0).  The daemon writes one
 * report on a pipe: a status byte (0: started, else its exit status) and,
 * on failure, the message.  The parent prints the message on stderr and
 * exits with the status. */

#define START_WAIT_MS 30000 /* ms the parent waits for the report (ours: every wait is bounded) */
#define START_POLL_MS 100   /* ms per poll of that wait, to see a daemon that died */
#define START_MSG_MAX 1024  /* bytes of a failure message on the pipe */
#define START_OK      0     /* status byte: the daemon runs */

/* What the parent makes of the report it read (n bytes of msg; n == 0:
 * none came before the pipe closed). */
static int
parent_verdict(pid_t pid, const unsigned char *msg, size_t n)
{
	int wstatus;

	if (n > 0) {
		if (msg[0] != START_OK) {
			fprintf(stderr, "refd: %.*s\n", (int)(n - 1), (const char *)msg + 1);
		}
		return msg[0];
	}
	if (waitpid(pid, &wstatus, WNOHANG) == pid && WIFSIGNALED(wstatus)) {
		fprintf(stderr,
		        "refd: the daemon (pid %ld) was killed by signal %d during start-up\n",
		        (long)pid, WTERMSIG(wstatus));
	} else {
		fprintf(stderr,
		        "refd: the daemon (pid %ld) exited during start-up without a word; "
		        "see its log\n",
		        (long)pid);
	}
	return 1;
}

/* The parent: read the daemon's report (bounded), then exit with it. */
static void
wait_for_daemon(int fd, pid_t pid)
{
	unsigned char msg[START_MSG_MAX + 1];
	size_t n = 0;

	for (int waited = 0; waited < START_WAIT_MS;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int rc = poll(&pfd, 1, START_POLL_MS);
		ssize_t got;

		if (rc < 0 && errno != EINTR) {
			break;
		}
		if (rc <= 0) {
			waited += START_POLL_MS;
			continue;
		}
		got = read(fd, msg + n, sizeof msg - n);
		if (got < 0 && errno == EINTR) {
			continue;
		}
		if (got <= 0 || (n += (size_t)got) == sizeof msg) {
			_exit(parent_verdict(pid, msg, n));
		}
	}
	fprintf(stderr, "refd: no start-up report from the daemon (pid %ld) within %d s\n",
	        (long)pid, START_WAIT_MS / 1000);
	_exit(1);
}

/* fork, new session, stdio to /dev/null.  The parent waits for the
 * child's report and exits with it; the child gets the pipe's write end
 * in *report. */
static int
detach(int *report, char *err, size_t errsize)
{
	int p[2], fd;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0) {
		snprintf(err, errsize, "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errsize, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		wait_for_daemon(p[0], pid);
	}
	close(p[0]);
	*report = p[1];
	/* A parent killed meanwhile must not take the daemon with it (EPIPE). */
	signal(SIGPIPE, SIG_IGN);
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

/* The daemon's one report to a waiting parent (no-op without one). */
static void
report_start(int *report, int status, const char *msg)
{
	unsigned char buf[START_MSG_MAX];
	size_t len = 1;

	if (*report < 0) {
		return;
	}
	buf[0] = (unsigned char)status;
	if (msg != NULL) {
		len += (size_t)snprintf((char *)buf + 1, sizeof buf - 1, "%s", msg);
		len = len < sizeof buf ? len : sizeof buf - 1;
	}
	/* A pipe takes 1 KB at once; a parent that is gone costs nothing. */
	(void)!write(*report, buf, len);
	close(*report);
	*report = -1;
}

/* A failure after the sockets are bound: logged, and told to whoever
 * started refd -- the waiting parent, or the terminal in the foreground
 * when the log goes elsewhere. */
static void
start_failed(refd_daemon *d, int *report, const char *err)
{
	refd_logf(&d->log, REFD_LOG_ERR, "%s", err);
	if (*report >= 0) {
		report_start(report, 1, err);
	} else if (!d->log.use_stderr) {
		fprintf(stderr, "refd: %s\n", err);
	}
}

/* Capabilities, no_new_privs and the seccomp filter (refd_sandbox.h), once
 * nothing needs more: after binding, -u and the host.  A sandbox that
 * cannot be had stops refd (--no-sandbox runs without). */
static int
enter_sandbox(refd_daemon *d, const refd_opts *o, char *err, size_t errsize)
{
	refd_sandbox_cfg cfg = {.system_clock = o->clock_kind == REFD_CLOCK_SYSTEM,
	                        .threads = o->workers > 1};
	const refd_sandbox_rule *rules;
	size_t n = refd_sandbox_rules(&rules);
	int rc;

	if (o->no_sandbox) {
		refd_logf(&d->log, REFD_LOG_NOTICE, "sandbox: off (--no-sandbox)");
		return 0;
	}
	rc = refd_sandbox_enter(&cfg, err, errsize);
	if (rc > 0) {
		refd_logf(&d->log, REFD_LOG_NOTICE, "%s", err);
		return 0;
	}
	if (rc < 0) {
		size_t len = strlen(err);

		snprintf(err + len, errsize - len, " (--no-sandbox runs without one)");
		return -1;
	}
	refd_logf(&d->log, REFD_LOG_NOTICE,
	          "sandbox: capabilities %s, no_new_privs, seccomp allows %zu rules, others "
	          "fail with EPERM",
	          cfg.system_clock ? "CAP_SYS_TIME only" : "none", n);
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

/* refd --check-config FILE (ntpd has `--configfile F --saveconfigquit`):
 * read what refd reads at start -- ntp.conf, the key file and leapfile it
 * names -- with every diagnostic on stderr as FILE:LINE:COL, and check what
 * ntp_host_new would refuse that needs no name resolution (the `key N` of
 * each association).  Binds, resolves and starts nothing.  Exit 0 when refd
 * would start with this config (warnings allowed), else 1. */
static int
check_config(const char *path)
{
	unsigned n_errors = 0;
	bool keys_failed = false;
	ntp_conf *conf = refd_conf_load(path, stderr, &n_errors);
	ntp_leap_table *leapfile = NULL;
	ntp_keys_file *keys = NULL;
	char why[512];
	size_t which = 0;
	int problem, rc = 1;

	if (conf == NULL) {
		fprintf(stderr, "%s: %s\n", path, n_errors > 0 ? "not usable" : "not read");
		return 1;
	}
	if (conf->leapfile[0] != '\0' &&
	    (leapfile = refd_leap_load(conf->leapfile, stderr, &n_errors)) == NULL) {
		fprintf(stderr, "%s:%d: the leapfile above cannot be used\n", path,
		        conf->leapfile_line);
		goto out;
	}
	keys = refd_keys_load(conf, stderr, &keys_failed);
	if (keys_failed) {
		goto out;
	}
	problem = ntp_keys_check_conf(conf, keys != NULL ? &keys->ring : NULL, &which);
	if (problem != NTP_KEYS_CONF_OK) {
		fprintf(stderr, "%s\n",
		        ntp_keys_conf_problem_format(conf, which, problem, why, sizeof why));
		goto out;
	}
	printf("%s: usable (%zu associations, %zu restrict lines, %u warnings%s%s)\n", path,
	       conf->n_servers, conf->n_restrict, conf->n_warnings,
	       keys != NULL ? ", key file read" : "", leapfile != NULL ? ", leapfile read" : "");
	rc = 0;
out:
	free(leapfile);
	free(keys);
	free(conf);
	return rc;
}

static int
run_daemon(const refd_opts *o)
{
	ntp_conf *conf;
	ntp_leap_table *leapfile = NULL;
	ntp_keys_file *keys;
	refd_daemon *d;
	unsigned n_errors;
	bool keys_failed;
	char err[1024];
	int rc, report = -1;

	conf = refd_conf_load(o->conf_path, stderr, &n_errors);
	if (conf == NULL) {
		return 1;
	}
	if (conf->leapfile[0] != '\0') {
		leapfile = refd_leap_load(conf->leapfile, stderr, &n_errors);
		if (leapfile == NULL) {
			fprintf(stderr, "%s:%d: the leapfile above cannot be used\n", o->conf_path,
			        conf->leapfile_line);
			free(conf);
			return 1;
		}
	}
	keys = refd_keys_load(conf, stderr, &keys_failed);
	if (keys_failed) {
		free(leapfile);
		free(conf);
		return 1;
	}
	if ((rc = check_clock_choice(o)) != 0) {
		free(keys);
		free(conf);
		free(leapfile);
		return rc;
	}
	d = refd_daemon_new(o, conf);
	if (d != NULL) {
		d->leapfile = leapfile;
	}
	if (d == NULL || refd_log_open(&d->log, o->logfile != NULL ? o->logfile : conf->logfile,
	                               o->foreground, o->debug, err, sizeof err) != 0) {
		fprintf(stderr, "refd: %s\n", d == NULL ? "out of memory" : err);
		free(d);
		free(keys);
		free(conf);
		free(leapfile);
		return 1;
	}
	d->keys = keys != NULL ? &keys->ring : NULL;
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
	if (!o->foreground && detach(&report, err, sizeof err) != 0) {
		start_failed(d, &report, err);
		goto out;
	}
	d->log.pid = (long)getpid();
	if (o->pidfile != NULL &&
	    refd_pidfile_write(o->pidfile, (long)getpid(), err, sizeof err) != 0) {
		start_failed(d, &report, err);
		goto out;
	}
	if (o->user != NULL && drop_privileges(o->user, err, sizeof err) != 0) {
		start_failed(d, &report, err);
		goto out_pid;
	}
	if (refd_daemon_start(d, err, sizeof err) != 0 ||
	    enter_sandbox(d, o, err, sizeof err) != 0) {
		start_failed(d, &report, err);
		goto out_pid;
	}
	report_start(&report, START_OK, NULL);
	rc = refd_daemon_run(d);
	refd_daemon_finish(d);
out_pid:
	if (o->pidfile != NULL) {
		refd_pidfile_remove(o->pidfile);
	}
out:
	refd_log_close(&d->log);
	refd_daemon_free(d);
	free(keys);
	free(conf);
	free(leapfile);
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
		printf("refd (ntplab) %s, commit %s\n", NTPLAB_VERSION, NTPLAB_COMMIT);
		return 0;
	case REFD_MODE_QUERY:
		return refd_query_run(&o);
	case REFD_MODE_CHECK_CONFIG:
		return check_config(o.conf_path);
	default:
		return run_daemon(&o);
	}
}
