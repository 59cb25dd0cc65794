/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refd_opts: the command line of refd, in ntpd's conventions where ntpd has
 * one (-c, -n, -d, -u, -l, -f, -g), the where they differ (-p is the
 * port, so the pid file is --pidfile / -P).  `refd -Q` switches to the
 * one-shot query mode, which has its own options (-n is then the number of
 * samples, as ntpdate's -p is).
 *
 * The parser is getopt_long(3), as ntpsim's (`--conf=F` and `--conf F`,
 * `-cF`, `-nd`, options and -Q's hosts in any order, `--` ends the options),
 * run on a copy of argv from a fresh start each call; it never exits.
 */
#ifndef REFD_OPTS_H
#define REFD_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ntp_const.h"
#include "ntp_fault.h"

#define REFD_LISTEN_MAX        8    /* --listen addresses (ours) */
#define REFD_QUERY_HOSTS_MAX   16   /* servers one -Q asks (ours) */
#define REFD_QUERY_TIMEOUT     2.0  /* s, default -t: ntpdate's per-server wait */
#define REFD_QUERY_SAMPLES     4    /* default -n: ntpdate's -p default */
#define REFD_QUERY_SAMPLES_MAX 8    /* ntpdate NTP_SHIFT */
#define REFD_QUERY_TIMEOUT_MAX 60.0 /* s (ours: every wait is bounded) */
#define REFD_WORKERS_MAX       64   /* --workers, and the cap of "auto" (issue 17 §4) */

enum refd_mode {
	REFD_MODE_DAEMON = 0,
	REFD_MODE_QUERY,
	REFD_MODE_HELP,
	REFD_MODE_VERSION,
	REFD_MODE_CHECK_CONFIG, /* --check-config FILE: read and judge the config, run nothing */
};

typedef struct refd_opts {
	int mode; /* enum refd_mode */

	/* daemon */
	const char *conf_path;               /* -c */
	bool foreground;                     /* -n (also implied by -d, as in ntpd) */
	int debug;                           /* number of -d */
	int port;                            /* -p; -1 when not given */
	const char *user;                    /* -u */
	int clock_kind;                      /* --clock: enum refd_clock_kind */
	bool clock_given;                    /* --clock was on the command line */
	double clock_offset;                 /* s, --clock-offset (also in query mode) */
	double clock_freq_ppm;               /* ppm, --clock-freq */
	bool i_mean_it;                      /* --i-mean-it: confirms --clock system */
	const char *pidfile;                 /* --pidfile / -P */
	const char *logfile;                 /* -l: overrides `logfile` */
	const char *driftfile;               /* -f: overrides `driftfile` */
	bool big_first_step;                 /* -g: the first step may exceed the panic threshold */
	uint16_t server_port;                /* --server-port: remote servers' port (0: 123) */
	bool control_remote;                 /* --control-remote: answer ntpq from non-loopback */
	const char *listen[REFD_LISTEN_MAX]; /* --listen ADDR[:PORT] */
	size_t n_listen;
	const char *ctl_path; /* --ctl: control socket (refd_ctl.h); NULL none */
	ntp_fault fault;      /* --fault: misbehaviour from the start */
	bool no_sandbox;      /* --no-sandbox: keep capabilities, no seccomp (debugging) */
	int workers;          /* --workers: threads serving the port, 1..REFD_WORKERS_MAX */

	/* query (-Q) */
	const char *hosts[REFD_QUERY_HOSTS_MAX];
	size_t n_hosts;
	bool json;      /* --json / -j */
	double timeout; /* s, -t */
	int samples;    /* -n */
} refd_opts;

/* Parse argv.  Returns 0, or -1 with a one-line reason in err (the caller
 * prints it and exits 2). */
int refd_opts_parse(int argc, char *const argv[], refd_opts *o, char *err, size_t errsize);

/* The --help text. */
void refd_opts_usage(FILE *out);

#endif
