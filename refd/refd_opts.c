/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refd's command line (refd_opts.h).
 */
#include "refd_opts.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ntp_addr.h"
#include "refd_clock.h"
#include "refd_ctl.h"
#include "refd_num.h"
#include "refd_sock.h"

enum opt_id {
	O_CONF,
	O_FOREGROUND,
	O_DEBUG,
	O_PORT,
	O_USER,
	O_CLOCK,
	O_CLOCK_OFFSET,
	O_CLOCK_FREQ,
	O_I_MEAN_IT,
	O_PIDFILE,
	O_LOGFILE,
	O_DRIFTFILE,
	O_BIG_STEP,
	O_SERVER_PORT,
	O_LISTEN,
	O_CONTROL_REMOTE,
	O_CTL,
	O_FAULT,
	O_NO_SANDBOX,
	O_WORKERS,
	O_HELP,
	O_VERSION,
	O_QUERY,
	O_JSON,
	O_TIMEOUT,
	O_SAMPLES,
	O_CHECK_CONFIG,
};

typedef struct opt_def {
	char short_name; /* 0: none */
	const char *long_name;
	bool arg;
	int id;
} opt_def;

static const opt_def daemon_opts[] = {
        {'c', "conf", true, O_CONF},
        {'n', "nofork", false, O_FOREGROUND},
        {'d', "debug", false, O_DEBUG},
        {'p', "port", true, O_PORT},
        {'u', "user", true, O_USER},
        {0, "clock", true, O_CLOCK},
        {0, "clock-offset", true, O_CLOCK_OFFSET},
        {0, "clock-freq", true, O_CLOCK_FREQ},
        {0, "i-mean-it", false, O_I_MEAN_IT},
        {'P', "pidfile", true, O_PIDFILE},
        {'l', "logfile", true, O_LOGFILE},
        {'f', "driftfile", true, O_DRIFTFILE},
        {'g', "panicgate", false, O_BIG_STEP},
        {0, "server-port", true, O_SERVER_PORT},
        {0, "listen", true, O_LISTEN},
        {0, "control-remote", false, O_CONTROL_REMOTE},
        {0, "ctl", true, O_CTL},
        {0, "fault", true, O_FAULT},
        {0, "no-sandbox", false, O_NO_SANDBOX},
        {0, "workers", true, O_WORKERS},
        {0, "check-config", true, O_CHECK_CONFIG},
        {'h', "help", false, O_HELP},
        {'V', "version", false, O_VERSION},
};

static const opt_def query_opts[] = {
        {'Q', "query", false, O_QUERY},
        {'j', "json", false, O_JSON},
        {'t', "timeout", true, O_TIMEOUT},
        {'n', "samples", true, O_SAMPLES},
        {0, "clock-offset", true, O_CLOCK_OFFSET},
        {'h', "help", false, O_HELP},
        {'V', "version", false, O_VERSION},
};

#define N_DAEMON_OPTS (sizeof daemon_opts / sizeof daemon_opts[0])
#define N_QUERY_OPTS  (sizeof query_opts / sizeof query_opts[0])
#define OPT_LONG_BASE 256 /* getopt_long val of table entry i: 256 + i, past every letter */
_Static_assert(N_QUERY_OPTS <= N_DAEMON_OPTS, "getopt_tables is sized by the daemon table");

static int
fail(char *err, size_t errsize, const char *what, const char *name, const char *value)
{
	if (value != NULL) {
		snprintf(err, errsize, "%s '%s': %s", name, value, what);
	} else {
		snprintf(err, errsize, "%s: %s", name, what);
	}
	return -1;
}

static int
apply_number(refd_opts *o, int id, const char *name, const char *v, char *err, size_t errsize)
{
	long n;
	double d;

	switch (id) {
	case O_PORT:
		if (!refd_num_parse_long(v, 0, 65535, &n)) {
			return fail(err, errsize, "expected a port number 0..65535", name, v);
		}
		o->port = (int)n;
		return 0;
	case O_SERVER_PORT:
		if (!refd_num_parse_long(v, 1, 65535, &n)) {
			return fail(err, errsize, "expected a port number 1..65535", name, v);
		}
		o->server_port = (uint16_t)n;
		return 0;
	case O_CLOCK_OFFSET:
		if (!refd_num_parse(v, &d) || fabs(d) > REFD_CLOCK_MAX_BIAS_S) {
			return fail(err, errsize, "expected seconds, e.g. +28.2 or -0.5", name, v);
		}
		o->clock_offset = d;
		return 0;
	case O_CLOCK_FREQ:
		if (!refd_num_parse(v, &d) || fabs(d) > REFD_CLOCK_MAX_SKEW_PPM) {
			return fail(err, errsize, "expected ppm within +-100000, e.g. 50 or -12.5",
			            name, v);
		}
		o->clock_freq_ppm = d;
		return 0;
	case O_TIMEOUT:
		if (!refd_num_parse(v, &d) || d <= 0.0 || d > REFD_QUERY_TIMEOUT_MAX) {
			return fail(err, errsize, "expected seconds in (0, 60]", name, v);
		}
		o->timeout = d;
		return 0;
	case O_SAMPLES:
		if (!refd_num_parse_long(v, 1, REFD_QUERY_SAMPLES_MAX, &n)) {
			return fail(err, errsize, "expected a number of samples 1..8", name, v);
		}
		o->samples = (int)n;
		return 0;
	default:
		return fail(err, errsize, "internal: not a numeric option", name, v);
	}
}

/* --workers N|auto: N threads serve the port (refd_workers.h); auto is
 * the online CPUs, capped like N. */
static int
apply_workers(refd_opts *o, const char *name, const char *v, char *err, size_t errsize)
{
	long n;

	if (strcmp(v, "auto") == 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		o->workers = n < 1 ? 1 : n > REFD_WORKERS_MAX ? REFD_WORKERS_MAX : (int)n;
		return 0;
	}
	if (!refd_num_parse_long(v, 1, REFD_WORKERS_MAX, &n)) {
		return fail(err, errsize, "expected a number of threads 1..64 or auto", name, v);
	}
	o->workers = (int)n;
	return 0;
}

/* --listen ADDR[:PORT]: checked here, so a typo is a command-line error
 * (exit 2) and not a failure to bind (exit 1). */
static int
check_listen(const char *name, const char *v, char *err, size_t errsize)
{
	char host[REFD_HOST_MAX], why[160];
	uint16_t port = 0;
	ntp_addr a;

	if (refd_parse_hostport(v, host, sizeof host, &port, why, sizeof why) != 0) {
		return fail(err, errsize, why, name, NULL);
	}
	if (!ntp_addr_parse(host, &a)) {
		return fail(err, errsize, "not a numeric IPv4 or IPv6 address", name, v);
	}
	return 0;
}

static int
apply_fault(refd_opts *o, const char *name, const char *v, char *err, size_t errsize)
{
	char why[REFD_CTL_REPLY_MAX];

	if (refd_ctl_parse_fault(v, &o->fault, why, sizeof why) != 0) {
		return fail(err, errsize, why, name, v);
	}
	return 0;
}

static int
apply(refd_opts *o, int id, const char *name, const char *v, char *err, size_t errsize)
{
	switch (id) {
	case O_CONF:
		o->conf_path = v;
		return 0;
	case O_FOREGROUND:
		o->foreground = true;
		return 0;
	case O_DEBUG:
		o->debug++;
		o->foreground = true;
		return 0;
	case O_USER:
		o->user = v;
		return 0;
	case O_CLOCK:
		if (strcmp(v, "virtual") == 0) {
			o->clock_kind = REFD_CLOCK_VIRTUAL;
		} else if (strcmp(v, "system") == 0) {
			o->clock_kind = REFD_CLOCK_SYSTEM;
		} else {
			return fail(err, errsize, "expected 'virtual' or 'system'", name, v);
		}
		o->clock_given = true;
		return 0;
	case O_I_MEAN_IT:
		o->i_mean_it = true;
		return 0;
	case O_PIDFILE:
		o->pidfile = v;
		return 0;
	case O_LOGFILE:
		o->logfile = v;
		return 0;
	case O_DRIFTFILE:
		o->driftfile = v;
		return 0;
	case O_BIG_STEP:
		o->big_first_step = true;
		return 0;
	case O_CONTROL_REMOTE:
		o->control_remote = true;
		return 0;
	case O_CTL:
		if (v[0] == '\0' || strlen(v) >= REFD_CTL_PATH_MAX) {
			return fail(err, errsize, "expected a socket path of 1 to 107 bytes", name,
			            v);
		}
		o->ctl_path = v;
		return 0;
	case O_FAULT:
		return apply_fault(o, name, v, err, errsize);
	case O_NO_SANDBOX:
		o->no_sandbox = true;
		return 0;
	case O_WORKERS:
		return apply_workers(o, name, v, err, errsize);
	case O_LISTEN:
		if (o->n_listen >= REFD_LISTEN_MAX) {
			return fail(err, errsize, "at most 8 --listen addresses", name, v);
		}
		if (check_listen(name, v, err, errsize) != 0) {
			return -1;
		}
		o->listen[o->n_listen++] = v;
		return 0;
	case O_HELP:
		o->mode = REFD_MODE_HELP;
		return 0;
	case O_CHECK_CONFIG:
		o->conf_path = v;
		o->mode = REFD_MODE_CHECK_CONFIG;
		return 0;
	case O_VERSION:
		o->mode = REFD_MODE_VERSION;
		return 0;
	case O_QUERY:
		return 0;
	case O_JSON:
		o->json = true;
		return 0;
	default:
		return apply_number(o, id, name, v, err, errsize);
	}
}

/* getopt_long's view of a table: its optstring (":" first, so that a
 * missing value is told apart) and its long options, val = the index of the
 * entry. */
typedef struct getopt_tables {
	char shorts[2 + 2 * N_DAEMON_OPTS];
	struct option longs[N_DAEMON_OPTS + 1];
} getopt_tables;

static void
build_tables(const opt_def *defs, size_t n, getopt_tables *t)
{
	size_t k = 0;

	memset(t, 0, sizeof *t);
	t->shorts[k++] = ':';
	for (size_t i = 0; i < n; i++) {
		if (defs[i].short_name != 0) {
			t->shorts[k++] = defs[i].short_name;
			if (defs[i].arg) {
				t->shorts[k++] = ':';
			}
		}
		t->longs[i] = (struct option){defs[i].long_name,
		                              defs[i].arg ? required_argument : no_argument, NULL,
		                              (int)(OPT_LONG_BASE + i)};
	}
}

/* The table entry getopt_long returned c for (a short letter or a long
 * option's val), or NULL. */
static const opt_def *
entry_for(const opt_def *defs, size_t n, int c)
{
	if (c >= OPT_LONG_BASE && (size_t)(c - OPT_LONG_BASE) < n) {
		return &defs[c - OPT_LONG_BASE];
	}
	for (size_t i = 0; i < n; i++) {
		if (defs[i].short_name != 0 && defs[i].short_name == c) {
			return &defs[i];
		}
	}
	return NULL;
}

/* What getopt_long refused (c is '?' or ':'), said as refd says it. */
static int
refused(const opt_def *defs, size_t n, int c, const char *word, char *err, size_t errsize)
{
	const opt_def *d = entry_for(defs, n, optopt);
	const char *mode = defs == query_opts ? " in query mode (-Q)" : "";
	bool is_long = strncmp(word, "--", 2) == 0;

	if (c == ':') {
		if (is_long && d != NULL) {
			snprintf(err, errsize, "option '--%s' needs a value", d->long_name);
		} else {
			snprintf(err, errsize, "option '-%c' needs a value", optopt);
		}
	} else if (is_long && d != NULL && !d->arg) {
		snprintf(err, errsize, "option '--%s' takes no value", d->long_name);
	} else if (is_long || optopt == 0) {
		snprintf(err, errsize, "unknown option '%.*s'%s (try --help)",
		         (int)strcspn(word, "="), word, mode);
	} else {
		snprintf(err, errsize, "unknown option '-%c'%s (try --help)", optopt, mode);
	}
	return -1;
}

/* The options of argv through getopt_long (on a copy of argv: getopt moves
 * the arguments to the end).  The arguments left are the hosts of -Q. */
static int
parse_words(const opt_def *defs, size_t n, int argc, char **args, refd_opts *o, char *err,
            size_t errsize)
{
	getopt_tables t;
	int c;

	build_tables(defs, n, &t);
	optind = 0; /* glibc: start afresh */
	opterr = 0;
	while ((c = getopt_long(argc, args, t.shorts, t.longs, NULL)) != -1) {
		const opt_def *d = entry_for(defs, n, c);
		const char *word = optind >= 1 && optind <= argc ? args[optind - 1] : "?";
		char name[40];

		if (c == '?' || c == ':' || d == NULL) {
			return refused(defs, n, c, word, err, errsize);
		}
		if (c >= OPT_LONG_BASE) {
			snprintf(name, sizeof name, "--%s", d->long_name);
		} else {
			snprintf(name, sizeof name, "-%c", d->short_name);
		}
		if (apply(o, d->id, name, optarg, err, errsize) != 0) {
			return -1;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (o->mode != REFD_MODE_QUERY) {
			snprintf(err, errsize,
			         "unexpected argument '%s' (servers go in the -c file; -Q queries "
			         "them once)",
			         args[i]);
			return -1;
		}
		if (o->n_hosts >= REFD_QUERY_HOSTS_MAX) {
			snprintf(err, errsize, "at most %d servers per query",
			         REFD_QUERY_HOSTS_MAX);
			return -1;
		}
		o->hosts[o->n_hosts++] = args[i];
	}
	return 0;
}

static bool
is_query(int argc, char *const argv[])
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			break;
		}
		if (strcmp(argv[i], "-Q") == 0 || strcmp(argv[i], "--query") == 0) {
			return true;
		}
	}
	return false;
}

static int
check_daemon(const refd_opts *o, char *err, size_t errsize)
{
	if (o->mode != REFD_MODE_DAEMON) {
		return 0;
	}
	if (o->conf_path == NULL) {
		snprintf(err, errsize, "missing -c FILE (the ntp.conf to run)");
		return -1;
	}
	if (o->clock_kind == REFD_CLOCK_SYSTEM &&
	    (o->clock_offset != 0.0 || o->clock_freq_ppm != 0.0)) {
		snprintf(err, errsize,
		         "--clock-offset and --clock-freq apply to the virtual clock only");
		return -1;
	}
	if (o->i_mean_it && o->clock_kind != REFD_CLOCK_SYSTEM) {
		snprintf(err, errsize,
		         "--i-mean-it confirms --clock system and means nothing alone");
		return -1;
	}
	if (o->clock_kind == REFD_CLOCK_SYSTEM && o->user != NULL) {
		snprintf(err, errsize,
		         "-u with --clock system would drop CAP_SYS_TIME; run as root or use "
		         "--clock virtual");
		return -1;
	}
	return 0;
}

int
refd_opts_parse(int argc, char *const argv[], refd_opts *o, char *err, size_t errsize)
{
	bool query = is_query(argc, argv);
	const opt_def *defs = query ? query_opts : daemon_opts;
	size_t n = query ? N_QUERY_OPTS : N_DAEMON_OPTS;

	memset(o, 0, sizeof *o);
	o->mode = query ? REFD_MODE_QUERY : REFD_MODE_DAEMON;
	o->port = -1;
	o->workers = 1;
	o->clock_kind = REFD_CLOCK_VIRTUAL;
	o->timeout = REFD_QUERY_TIMEOUT;
	o->samples = REFD_QUERY_SAMPLES;
	err[0] = '\0';
	/* getopt_long reorders the words it is given: a copy, so argv stays as
	 * the caller has it */
	char **args = malloc(((size_t)argc + 1) * sizeof *args);
	int rc;

	if (args == NULL) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	memcpy(args, argv, (size_t)argc * sizeof *args);
	args[argc] = NULL;
	rc = parse_words(defs, n, argc, args, o, err, errsize);
	free(args);
	if (rc != 0) {
		return -1;
	}
	if (o->mode == REFD_MODE_QUERY && o->n_hosts == 0) {
		snprintf(err, errsize, "-Q needs at least one HOST[:PORT]");
		return -1;
	}
	return check_daemon(o, err, errsize);
}

void
refd_opts_usage(FILE *out)
{
	fputs("usage: refd -c FILE [-n] [-d]... [-p PORT] [-u USER] [--listen ADDR[:PORT]]...\n"
	      "            [--clock virtual|system] [--clock-offset SECONDS] [--clock-freq PPM]\n"
	      "            [--pidfile PATH] [-l LOGFILE] [-f DRIFTFILE] [-g] [--server-port PORT]\n"
	      "            [--ctl PATH] [--fault SPEC] [--no-sandbox] [--workers N|auto]\n"
	      "       refd --check-config FILE\n"
	      "       refd -Q HOST[:PORT] [HOST[:PORT]...] [--json] [-t TIMEOUT] [-n SAMPLES]\n"
	      "       refbench HOST[:PORT] [-c CLIENTS] [-d SECONDS] [-r RATE]\n"
	      "\n"
	      "ntplab's reference NTP daemon (server and client at once) on the ntplab core.\n"
	      "\n"
	      "daemon options:\n"
	      "  -c, --conf FILE         ntp.conf to run (required)\n"
	      "  -n, --nofork            stay in the foreground; log to stderr without logfile\n"
	      "  -d, --debug             more log detail (repeat for more); implies -n\n"
	      "  -p, --port PORT         UDP port to serve on (default: `port` in FILE, else 123)\n"
	      "      --listen ADDR[:PORT] bind this address (repeatable; default 0.0.0.0 and ::)\n"
	      "  -u, --user USER         drop root privileges to USER after binding\n"
	      "      --clock virtual     (default) discipline a clock inside refd; the machine's\n"
	      "                          clock is never changed\n"
	      "      --clock system      discipline the machine's clock (clock_adjtime); needs\n"
	      "                          --i-mean-it and CAP_SYS_TIME\n"
	      "      --clock-offset S    start the virtual clock S seconds off (e.g. +28.2)\n"
	      "      --clock-freq PPM    give the virtual clock a frequency error of PPM\n"
	      "  -P, --pidfile PATH      write the daemon's pid to PATH\n"
	      "  -l, --logfile PATH      log here (overrides `logfile`)\n"
	      "  -f, --driftfile PATH    drift file (overrides `driftfile`)\n"
	      "  -g, --panicgate         allow a first step larger than the panic threshold\n"
	      "      --server-port PORT  send to configured servers on PORT instead of 123\n"
	      "      --control-remote    answer mode 6 (ntpq) from non-loopback addresses too\n"
	      "      --ctl PATH          control socket (UNIX datagram, mode 0600) for run-time\n"
	      "                          disturbances: step S, freq F, fault SPEC, status\n"
	      "      --fault SPEC        misbehave as a server from the start, SPEC as the ctl\n"
	      "                          command: KIND[,KIND...] [offset=S] [leap=N] ... | none\n"
	      "      --no-sandbox        keep capabilities and allow every system call\n"
	      "                          (debugging; see SANDBOX in refd(8))\n"
	      "      --workers N|auto    N threads (1..64; auto: one per online CPU, at most 64)\n"
	      "                          answer client requests, each on its own SO_REUSEPORT\n"
	      "                          socket; 1 (default): the single-threaded daemon\n"
	      "      --check-config FILE read FILE, its key file and leapfile as refd would at\n"
	      "                          start, print every error and warning, exit 0 (usable)\n"
	      "                          or 1; binds and starts nothing\n"
	      "\n"
	      "query options (-Q, like ntpdate -q; never sets any clock):\n"
	      "  -Q, --query             ask each HOST once and print offset, delay, stratum\n"
	      "  -j, --json              print JSON\n"
	      "  -t, --timeout SECONDS   wait per server (default 2)\n"
	      "  -n, --samples N         requests per server, 1..8 (default 4)\n"
	      "      --clock-offset S    pretend the local clock is S seconds off\n"
	      "\n"
	      "  -h, --help              this text;  -V, --version  the version\n"
	      "Signals: SIGTERM/SIGINT stop (drift file written), SIGHUP reopens log files.\n"
	      "Exit: 0 ok, 1 runtime failure (config errors, port in use, no suitable server),\n"
	      "2 bad command line, 3 -Q: no suitable server and a kiss-o'-death.\n"
	      "See refd(8) (docs/refd.8.md).\n",
	      out);
}
