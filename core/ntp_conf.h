/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_conf: the ntp.conf parser.  Text in, config struct out; no files are
 * opened here (the caller reads the file and passes its name for messages).
 *
 * Syntax is ntpd's (ntp.conf(5), NTPsec ntp_config.c): one directive per
 * line, `#` starts a comment, words separated by blanks.  Every problem is a
 * diagnostic with file, line, column, a message and a hint; parsing goes on
 * after an error so that all errors of a file are reported.  Directives
 * ntpd knows but ntplab does not implement produce a warning, never
 * silence.
 */
#ifndef NTP_CONF_H
#define NTP_CONF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp_addr.h"
#include "ntp_const.h"
#include "ntp_restrict.h"

#define NTP_CONF_MAX_SERVERS  64 /* associations per config (ours) */
#define NTP_CONF_MAX_RESTRICT 64 /* restrict lines per config (ours) */
#define NTP_CONF_MAX_DIAGS    64 /* diagnostics kept; more are counted */
#define NTP_CONF_MAX_FILEGEN  8
#define NTP_CONF_DISC_PARAMS  16 /* parameters on a `discipline` line (ours) */
#define NTP_CONF_DISC_NAME    24 /* bytes of a discipline or parameter name, NUL included */
#define NTP_CONF_PATH_MAX     256
#define NTP_CONF_HOST_MAX     256
#define NTP_CONF_MAX_TRUSTED  64 /* `trustedkey` ids and ranges kept (ours) */

/* What a server-like line configures. */
enum ntp_conf_kind {
	NTP_CONF_SERVER = 0,      /* `server` */
	NTP_CONF_POOL = 1,        /* `pool` (the caller expands it to addresses) */
	NTP_CONF_PEER = 2,        /* `peer`: symmetric active */
	NTP_CONF_LOCAL_CLOCK = 3, /* `server 127.127.1.u` or `refclock local` */
};

/* Association option bits. */
enum ntp_conf_flag {
	NTP_CONF_F_PREFER = 1u << 0,
	NTP_CONF_F_IBURST = 1u << 1,
	NTP_CONF_F_BURST = 1u << 2,
	NTP_CONF_F_NOSELECT = 1u << 3,
	NTP_CONF_F_TRUE = 1u << 4,
};

typedef struct ntp_conf_server {
	uint8_t kind;                 /* enum ntp_conf_kind */
	char host[NTP_CONF_HOST_MAX]; /* as written */
	ntp_addr addr;                /* parsed when host is numeric; else family NTP_AF_NONE
	                                 and the caller resolves host */
	uint32_t flags;               /* enum ntp_conf_flag bits */
	int8_t minpoll;               /* log2 s; default 6 (NTP_MINDPOLL) */
	int8_t maxpoll;               /* log2 s; default 10 (NTP_MAXDPOLL) */
	uint32_t key;                 /* 0 = none */
	uint8_t version;              /* 1..4, default 4 */
	int unit;                     /* local clock unit (127.127.1.unit) */
	int stratum;                  /* local clock: fudge/refclock stratum; default 5 */
	double time1;                 /* local clock: fudge time1 offset (s) */
	int line;                     /* where it was configured */
} ntp_conf_server;

enum ntp_conf_stats {
	NTP_STATS_LOOPSTATS = 1u << 0,
	NTP_STATS_PEERSTATS = 1u << 1,
	NTP_STATS_CLOCKSTATS = 1u << 2,
	NTP_STATS_RAWSTATS = 1u << 3,
	NTP_STATS_SYSSTATS = 1u << 4,
	NTP_STATS_PROTOSTATS = 1u << 5,
};

typedef struct ntp_conf_filegen {
	uint32_t which;               /* one NTP_STATS_* bit */
	char file[NTP_CONF_PATH_MAX]; /* file name prefix; default the stats name */
	char type[16];                /* none, pid, day, week, month, year, age */
	bool enable;
	int line;
} ntp_conf_filegen;

typedef struct ntp_conf_disc_param {
	char name[NTP_CONF_DISC_NAME];
	double value;
} ntp_conf_disc_param;

typedef struct ntp_conf_discipline {
	char name[NTP_CONF_DISC_NAME]; /* "" = the default */
	ntp_conf_disc_param params[NTP_CONF_DISC_PARAMS];
	size_t n_params;
	int line; /* of the `discipline` line; 0 = not from a file (ntpsim) */
} ntp_conf_discipline;

/* A `trustedkey` entry: one key id (lo == hi) or a range (lo ... hi). */
typedef struct ntp_conf_key_range {
	uint16_t lo, hi;
} ntp_conf_key_range;

enum ntp_conf_severity { NTP_CONF_WARNING = 1, NTP_CONF_ERROR = 2 };

typedef struct ntp_conf_diag {
	uint8_t severity; /* enum ntp_conf_severity */
	int line;         /* 1-based */
	int col;          /* 1-based column of the offending word */
	char msg[160];    /* "unknown directive 'sever'" */
	char hint[160];   /* "did you mean 'server'?"; may be empty */
} ntp_conf_diag;

typedef struct ntp_conf {
	char filename[NTP_CONF_PATH_MAX];

	ntp_conf_server servers[NTP_CONF_MAX_SERVERS];
	size_t n_servers;

	ntp_restrict_entry restrict_list[NTP_CONF_MAX_RESTRICT];
	size_t n_restrict;

	char driftfile[NTP_CONF_PATH_MAX]; /* empty = none */
	char logfile[NTP_CONF_PATH_MAX];
	char statsdir[NTP_CONF_PATH_MAX];
	uint32_t statistics; /* NTP_STATS_* enabled by `statistics` */
	ntp_conf_filegen filegen[NTP_CONF_MAX_FILEGEN];
	size_t n_filegen;

	/* tinker (s); a value < 0 means "not set, use the default" */
	double tinker_step;       /* default 0.128, RFC 5905 STEPT; 0 disables steps */
	double tinker_stepfwd;    /* forward step threshold (ntpd clock_max_fwd); default step */
	double tinker_stepback;   /* backward step threshold (ntpd clock_max_back); default step */
	double tinker_stepout;    /* default 300, floor 300 (NTPsec CLOCK_MINSTEP) */
	double tinker_panic;      /* default 1000, RFC 5905 PANICT; 0 disables panic */
	double tinker_allan;      /* log2 s, Allan intercept; default 11 (ntpd CLOCK_ALLAN) */
	double tinker_huffpuff;   /* s, huff-n'-puff window; default off */
	double tinker_dispersion; /* ppm, dispersion rate PHI; default 15 (RFC 5905) */
	bool have_tinker_freq;    /* `tinker freq`: initial frequency (ppm) as if from a */
	double tinker_freq;       /* drift file (ntpd LOOP_FREQ) */

	/* tos; < 0 means default */
	int tos_minsane;       /* default 1 (ntpd) */
	int tos_minclock;      /* default 3 (ntpd; RFC 5905 NMIN) */
	double tos_maxdist;    /* s, default 1.5 (ntpd; RFC 5905 MAXDIST is 1) */
	int tos_orphan;        /* stratum; default 16 = orphan mode off */
	double tos_orphanwait; /* s, default 300 (ntpd) */

	/* discard (rate limits for `restrict limited`), log2 s; < 0 default */
	int discard_average; /* default 3 (ntpd: 8 s) */
	int discard_minimum; /* default 1 (ntpd: 2 s) */

	/* mru (the rate-limit table, NTPsec ntp_monitor.c).  Of maxdepth and
	 * maxmem the last one given counts (ntpd); the other is then < 0. */
	long mru_maxdepth; /* entries; < 0: from mru_maxmem */
	long mru_maxmem;   /* KiB; < 0: from mru_maxdepth; default 1024 (NTPsec) */
	long mru_mindepth; /* entries; default 600 (NTPsec) */
	int mru_maxage;    /* s; default 3600 (NTPsec) */
	int mru_minage;    /* s; default 64 (NTPsec) */

	/* `discipline NAME [PARAM VALUE]...` (ntplab's own): the algorithm
	 * behind core/ntp_discipline.h; name "" = the default (ntpd-kernel,
	 * or ntpd-daemon under `disable kernel`).  Names and parameters are
	 * checked by ntp_discipline_check (ntp_host_new refuses bad ones). */
	ntp_conf_discipline discipline;

	bool disable_ntp;    /* `disable ntp`: measure, never adjust the clock */
	bool disable_kernel; /* `disable kernel`: ntpd's daemon loop, not the kernel PLL */
	bool disable_auth;   /* `disable auth`: ephemeral (symmetric passive) peers need no
	                        authentication -- ntpd's opt-in, CVE-2016-1549 */
	uint16_t port;       /* `port N` (ntplab): listen/serve there; default 123 */
	uint16_t clientport; /* `clientport N` (ntplab): client requests leave from UDP port N;
	                        0 = `clientport random` (default): a random port per
	                        association, RFC 9109 */
	char leapfile[NTP_CONF_PATH_MAX]; /* `leapfile FILE`: empty = none (the caller reads it) */
	int leapfile_line;                /* of the `leapfile` line, for messages */
	double leapsmearinterval;         /* `leapsmearinterval N` (s): serve smeared time over
	                                     the N s before a leap (NTPsec); 0 = off */

	/* Symmetric-key authentication (ntp.conf(5) "Authentication"; the
	 * key file itself is core/ntp_keys, read by the caller). */
	char keysfile[NTP_CONF_PATH_MAX];                 /* `keys FILE`; empty = none */
	int keys_line;                                    /* where `keys` was given (0: not) */
	ntp_conf_key_range trusted[NTP_CONF_MAX_TRUSTED]; /* `trustedkey` ids and ranges */
	size_t n_trusted;
	uint32_t controlkey; /* `controlkey N`: mode 6 writes and MAC'd replies; 0 none */
	uint32_t requestkey; /* `requestkey N`: parsed, mode 7 is never served */

	ntp_conf_diag diags[NTP_CONF_MAX_DIAGS];
	size_t n_diags;    /* kept */
	unsigned n_errors; /* counted, including those not kept */
	unsigned n_warnings;
} ntp_conf;

/* Set every field to its default (no servers, no restrictions). */
void ntp_conf_init(ntp_conf *c, const char *filename);

/* Parse len bytes of text into c (call ntp_conf_init first).  Returns the
 * number of errors (0 = usable).  Warnings do not make a config unusable. */
unsigned ntp_conf_parse(ntp_conf *c, const char *text, size_t len);

/* "ntp.conf:12:1: error: unknown directive 'sever' (hint: did you mean
 * 'server'?)" into buf.  Returns buf. */
char *ntp_conf_diag_format(const ntp_conf *c, const ntp_conf_diag *d, char *buf, size_t size);
/* Append a diagnostic to diags (NTP_CONF_MAX_DIAGS long; *n_diags kept),
 * counting it in *n_errors or *n_warnings either way: ntp_conf's own and
 * the key file's (ntp_keys) lists. */
void ntp_conf_diag_add(ntp_conf_diag *diags, size_t *n_diags, unsigned *n_errors,
                       unsigned *n_warnings, int severity, int line, int col, const char *hint,
                       const char *fmt, va_list ap) __attribute__((format(printf, 9, 0)));
/* len bytes at p as a message may quote them: printable ASCII only
 * (others become '?'), at most max bytes then "..." (buf >= max + 4). */
const char *ntp_conf_quote(const char *p, size_t len, size_t max, char *buf);
/* The value of a hex digit (either case), or -1: for the key file's hex
 * keys and the leapfile's #h words. */
int ntp_conf_hex_digit(char ch);
/* The same for a diagnostic of another file (the key file, ntp_keys). */
char *ntp_conf_diag_format_file(const char *filename, const ntp_conf_diag *d, char *buf,
                                size_t size);

/* Effective values with defaults applied. */
double ntp_conf_step(const ntp_conf *c);
double ntp_conf_stepout(const ntp_conf *c);
/* PHI (s/s): `tinker dispersion` ppm, else RFC 5905's 15 ppm. */
double ntp_conf_phi(const ntp_conf *c);
/* Step thresholds (s) for positive and negative offsets: `tinker
 * stepfwd`/`stepback`, else `tinker step`, else 0.128. */
double ntp_conf_step_fwd(const ntp_conf *c);
double ntp_conf_step_back(const ntp_conf *c);
double ntp_conf_panic(const ntp_conf *c);
/* The association option that sets flag bit (enum ntp_conf_flag, one
 * bit): "iburst", "prefer", ...; "?" for none. */
const char *ntp_conf_flag_name(uint32_t bit);
/* The statistics files the host writes (NTP_STATS_* bits): `statistics`
 * plus every `filegen ... enable`. */
uint32_t ntp_conf_stats(const ntp_conf *c);
/* Is key id named by a `trustedkey` line? */
bool ntp_conf_key_trusted(const ntp_conf *c, uint32_t id);

#endif
