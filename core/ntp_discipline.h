/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_discipline: the seam between the NTP protocol and the algorithms that
 * turn its samples into clock decisions -- "samples in, clock decisions
 * out" -- on the model of quicly's congestion-control ops table
 * (quicly_cc_type_t) and ntpd-rs's time-sync controller traits.
 *
 * The host keeps the protocol: packets and their tests (TEST1-9), the poll
 * process, the fit tests (TEST10-13), the system variables, orphan mode and
 * events.  A discipline owns everything between a raw sample and the clock:
 *
 *   sample   one raw offset/delay/dispersion of one source (RFC 5905 §8),
 *            what its per-source state makes of it (ntpd: the clock filter);
 *   estimate what it now believes of that source: offset, delay,
 *            dispersion, jitter -- the fit tests and root distance read it;
 *   update   the system update over the sources that passed the fit tests:
 *            which is the system peer, the system offset and jitter, and a
 *            clock decision (nothing, slew/ntp_adjtime, step, panic);
 *   poll     the poll interval it wants (ntpd: the time constant);
 *   step     the clock was stepped: shift or forget what it holds;
 *   info     introspection for ntpq, mode 6, the report and loopstats.
 *
 * Memory: a discipline declares the sizes of its system state and of one
 * source's state; the host carves both from its single allocation
 * (ntp_host_new), so a discipline never allocates and keeps no globals.
 *
 * Selection: by name, with parameters -- ntp.conf's `discipline NAME
 * [PARAM VALUE]...` (ntplab's own directive; ntp_conf), which ntpsim's
 * scenario key `discipline:` also sets.  Swapping a discipline touches no
 * file of the host: a new one is an ops table added to the list in
 * ntp_discipline.c.
 */
#ifndef NTP_DISCIPLINE_H
#define NTP_DISCIPLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp_clock.h"
#include "ntp_conf.h"
#include "ntp_const.h"
#include "ntp_disc.h"
#include "ntp_select.h"
#include "ntp_time.h"

#define NTP_DISC_NAME_MAX   24  /* bytes of a discipline name with its NUL (ours) */
#define NTP_DISC_REASON_MAX 128 /* bytes of a reason text (= NTP_REASON_MAX) */

/* One raw sample of one source (RFC 5905 §8), or a lost poll. */
typedef struct ntp_sample {
	double offset; /* s, positive = local clock behind the source */
	double delay;  /* s, round trip (>= the precision) */
	double disp;   /* s, the sample's own dispersion; NTP_MAXDISPERSE for a lost poll */
	ntp_time mono; /* when it was taken (the reply's arrival) */
	int8_t poll;   /* log2 s, the source's poll interval then (ntpd hpoll) */
	bool lost;     /* no reply to the last polls: a dummy sample (RFC 5905 §13) */
} ntp_sample;

/* What a discipline does with a sample. */
enum ntp_sample_verdict {
	NTP_SAMPLE_NEW = 0,     /* the estimate changed: worth a system update */
	NTP_SAMPLE_EMPTY = 1,   /* nothing usable yet */
	NTP_SAMPLE_OLD = 2,     /* the estimate did not take a new sample */
	NTP_SAMPLE_POPCORN = 3, /* an outlier suppressed (spike says how big) */
};

/* The discipline's view of one source: what the fit tests, the root
 * distance (RFC 5905 App. A.5.5.2), the peer variables and ntpq read. */
typedef struct ntp_estimate {
	double offset, delay, disp, jitter; /* s */
	ntp_time t;     /* mono time disp was computed at: it grows at PHI from here */
	ntp_time epoch; /* mono time of the newest sample behind it; NTP_TIME_NONE none */
} ntp_estimate;

/* A source that passed the fit tests, as the host hands it to update(). */
typedef struct ntp_disc_cand {
	int id;           /* association id (1..) */
	void *src;        /* its per-source state */
	ntp_estimate est; /* its estimate (the host asked for it for the fit tests) */
	double rootdist;  /* s, root distance lambda, >= mindist */
	uint8_t stratum;
	bool prefer, trueticker, local; /* `prefer`, `true`, LOCAL(u) driver */
	uint8_t sel;                    /* out: ntp_select.h enum ntp_select_state (ntpq's tally) */
} ntp_disc_cand;

enum ntp_disc_clock {
	NTP_DISC_CLOCK_NONE = 0, /* leave the clock alone */
	NTP_DISC_CLOCK_ADJUST,   /* apply adj (a slew, or ntp_adjtime) */
	NTP_DISC_CLOCK_STEP,     /* step by `step`, then apply adj */
	NTP_DISC_CLOCK_PANIC,    /* |offset| over the panic threshold: give up (ntpd exits) */
};

typedef struct ntp_disc_input {
	ntp_disc_cand *cand; /* the fit sources; update() writes their sel */
	size_t n;
	int prev_sys_peer;       /* id of the current system peer, 0 none */
	ntp_disc_cand *fallback; /* the source to take as system peer when selection
	                            finds none (the orphan parent, ntpd
	                            clock_select), not among cand; NULL none */
	int n_assoc;             /* associations that may become candidates (mobilized
	                            servers and peers; not LOCAL drivers) */
	int n_reach;             /* of those, the ones whose reach register is not 0 */
	ntp_now now;
	uint8_t leap;     /* the system leap indicator (NTP_LEAP_*) */
	double rootdelay; /* s, system root delay and dispersion (ntp_adjtime maxerror) */
	double rootdisp;
} ntp_disc_input;

typedef struct ntp_disc_decision {
	int sys_peer;                  /* id, 0 = none (reason says why) */
	double offset;                 /* s, system offset (RFC 5905 §11.2.3 combine) */
	double jitter;                 /* s, system jitter */
	bool updated;                  /* a new sample of the system peer went to the clock:
	                                  the system variables follow it */
	int clock;                     /* enum ntp_disc_clock */
	double step;                   /* s, for STEP: add to the clock */
	ntp_clock_adj adj;             /* for ADJUST and STEP: the adjustment (none: adj.how 0) */
	bool poll_changed;             /* the wanted poll changed: the host updates the sources */
	bool loopstats;                /* write a loopstats record for this update */
	int old_state, new_state;      /* enum ntp_disc_state (ntp_disc.h), the common
	                                  vocabulary of clock states */
	char why[NTP_DISC_REASON_MAX]; /* why this system peer, or why none: read it
	                                  with ntp_disc_decision_why() */
	ntp_select_note why_note;      /* the selection's reason, not yet formatted */
	char reason[NTP_DISC_REASON_MAX]; /* the clock decision in words:
	                                     "step +28.203650 s > step threshold 0.128 s";
	                                     read it with ntp_disc_decision_reason() */
	ntp_disc_note note;               /* a slew's reason not yet formatted (ntp_disc.h) */
} ntp_disc_decision;

/* o's clock decision in words, formatted from o->note into o->reason first
 * when that is pending: hot paths keep numbers, readers get the text. */
const char *ntp_disc_decision_reason(ntp_disc_decision *o);

/* Why this system peer (or none), formatted from o->why_note first when
 * that is pending. */
const char *ntp_disc_decision_why(ntp_disc_decision *o);

/* Introspection of the system part. */
typedef struct ntp_disc_info {
	const char *name;    /* "ntpd-kernel" */
	int8_t poll;         /* log2 s, the poll the discipline wants */
	int state;           /* enum ntp_disc_state */
	double clock_offset; /* s, offset of the last update (ntpd loopstats) */
	double freq;         /* s/s, frequency correction */
	bool freq_trusted;   /* freq is worth keeping in the drift file */
	double clk_jitter;   /* s */
	double clk_wander;   /* s/s */
	bool interval;       /* low/high hold the last intersection interval */
	double low, high;    /* s */
} ntp_disc_info;

/* A source's register of recent samples, newest first, for ntpq's
 * filtdelay/filtoffset/filtdisp (an empty stage: delay 0, disp 16 s). */
typedef struct ntp_disc_register {
	double delay[NTP_NSTAGE], offset[NTP_NSTAGE], disp[NTP_NSTAGE];
} ntp_disc_register;

/* What a discipline starts with. */
typedef struct ntp_disc_setup {
	const ntp_conf *conf;    /* tinker, tos, `disable ntp/kernel`, the
	                            `discipline` parameters (conf->discipline) */
	int8_t precision;        /* log2 s, system precision */
	int8_t minpoll, maxpoll; /* log2 s, over the configured sources */
	double maxdist, mindist; /* s, tos */
	int minsane, minclock, maxclock;
	bool allow_big_first_step; /* ntpd -g */
	bool have_drift;           /* drift file value present */
	double drift_ppm;          /* ppm */
	ntp_now now;
} ntp_disc_setup;

/* A parameter a discipline accepts, with its default and bounds. */
typedef struct ntp_disc_param {
	const char *name; /* "pll_gain" */
	const char *unit; /* "s", "log2 s"; NULL: none */
	double dflt, min, max;
	bool integer;     /* whole numbers only */
	const char *what; /* one line for `ntpsim disciplines` and the docs */
} ntp_disc_param;

typedef struct ntp_discipline {
	const char *name;    /* "ntpd-kernel" */
	const char *summary; /* one line */
	const ntp_disc_param *params;
	size_t n_params;
	size_t sys_size, src_size; /* bytes of the system and of one source's state */
	/* Bytes the system state needs after its sys_size for this
	 * configuration (ntpd: the huff-n'-puff window); NULL: none. */
	size_t (*sys_extra)(const ntp_conf *c);
	int8_t poll_min;         /* log2 s, the fastest poll it can run (ntpd: NTPsec's
	                            NTP_MINPOLL 0; below 0: sub-second polls) */
	bool step_keeps_sources; /* its samples survive the clock's step, so the host
	                            does not clear the associations (ntpd does) */
	double freq_max;         /* s/s, the largest |frequency| an ADJUST of it ever
	                            asks for (ntpd: NTP_MAXFREQ 500 ppm) */

	/* Start the system part.  Returns 0, or -1 with err naming the
	 * parameter and the config line. */
	int (*init)(void *sys, const ntp_disc_setup *s, char *err, size_t errsize);
	/* The adjustment to make at start-up (ntpd: the drift file's frequency,
	 * the kernel's PLL mode); false: none. */
	bool (*start)(void *sys, ntp_now now, ntp_clock_adj *adj);
	/* A new source, or one that starts over (ntpd peer_clear). */
	void (*src_init)(void *sys, void *src, ntp_time mono);
	/* One sample of a source; returns enum ntp_sample_verdict and, for a
	 * popcorn spike, its size in *spike. */
	int (*sample)(void *sys, void *src, const ntp_sample *smp, double *spike);
	void (*estimate)(const void *sys, const void *src, ntp_estimate *e);
	void (*update)(void *sys, const ntp_disc_input *in, ntp_disc_decision *out);
	/* The poll interval the discipline wants for a source (log2 s); src
	 * NULL: the system poll. */
	int8_t (*poll)(const void *sys, const void *src);
	/* The clock was stepped by offset s; called once for the system and
	 * once per source (src non-NULL). */
	void (*step)(void *sys, void *src, double offset, ntp_time mono);
	void (*info)(const void *sys, ntp_disc_info *out);
	/* The discipline's model of the kernel (ntpd-kernel): what
	 * ntp_adjtime(2) with modes 0 would report now (ntpq kerninfo); false
	 * when it runs none.  Apart from info, which the host reads after every
	 * sample: this reads the model, which costs. NULL: none. */
	bool (*kernel)(const void *sys, ntp_kernel_timex *out);
	void (*src_register)(const void *sys, const void *src, ntp_disc_register *out);
} ntp_discipline;

/* The disciplines ntplab has, by name; NULL if there is none. */
const ntp_discipline *ntp_discipline_find(const char *name);
/* The i-th discipline (0..), NULL past the last: for listings. */
const ntp_discipline *ntp_discipline_at(size_t i);
/* Discipline d's parameter `name`, NULL if it has none (or d is NULL). */
const ntp_disc_param *ntp_discipline_param_of(const ntp_discipline *d, const char *name);

/* The default: ntpd as it runs on Linux ("ntpd-kernel"), or "ntpd-daemon"
 * when the config says `disable kernel`. */
const ntp_discipline *ntp_discipline_for(const ntp_conf *c);

/* Check a config's discipline choice: the name exists, every parameter
 * is known and within its bounds, and no server polls faster than the
 * discipline can (minpoll under its poll_min).  0, or -1 with err as
 * "FILE:LINE: discipline ntpd-kernel: unknown parameter 'foo' (known:
 * ...)". */
int ntp_discipline_check(const ntp_conf *c, char *err, size_t errsize);

/* The same for a choice without a config file around it (ntpsim's
 * scenario key): the message names no file or line. */
int ntp_discipline_check_choice(const ntp_conf_discipline *cd, char *err, size_t errsize);

/* The value of parameter `name` under config c: its `discipline`
 * parameter if given, else dflt (the caller's, e.g. from tinker). */
double ntp_discipline_param(const ntp_conf *c, const char *name, double dflt);

#endif
