/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_disc: the clock discipline -- RFC 5905 §11.3 and App. A.5.5.6
 * local_clock(), A.5.5.7 rstclock(), the system side of A.5.7.2
 * poll_update() -- as ntpd implements it in daemon (non-kernel) mode
 * (NTPsec and ntp-4.2.8 ntpd/ntp_loopfilter.c): a hybrid PLL/FLL with the
 * NSET/FSET/SPIK/FREQ/SYNC state machine, step and panic thresholds, the
 * stepout wait, the direct frequency measurement in FREQ state, the
 * startup clamp, and the poll (time constant) adaptation.
 *
 * Sans-I/O: the caller passes each combined system offset with its local
 * time and carries out the result: STEP the clock, or SLEW it (a phase to
 * remove with a time constant, and a frequency), and/or hand the kernel an
 * ntp_adjtime(2) call.  core/ntp_clock applies all three exactly.
 *
 * Kernel mode (p.kernel, ntpd on Linux: pll_control && kern_enable): the
 * frequency lives in the kernel (set_freq() is MOD_FREQUENCY), the
 * daemon's slews carry none, and once the startup clamp is over each
 * update goes to the kernel's PLL (ntp_kernel) as ntpd's local_clock()
 * sends it, and ntpd's offset and frequency are what the kernel reports
 * back.  ntp_disc keeps its own copy of the kernel (`kern`) to read those
 * back: it sees exactly the calls the clock does.
 *
 * Sign convention everywhere: offset = server - local, so a positive
 * offset means the local clock is BEHIND and must be advanced; a STEP adds
 * `step` (= offset) to the clock, a SLEW removes `adj_offset` (= offset) by
 * advancing the clock that much over time.
 *
 * Where RFC 5905 and ntpd differ this module follows ntpd; where ntpd
 * versions differ it follows NTPsec unless a comment in ntp_disc.c says
 * why not.
 */
#ifndef NTP_DISC_H
#define NTP_DISC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp_clock.h"
#include "ntp_const.h"
#include "ntp_kernel.h"
#include "ntp_time.h"

/* Stepout: RFC 5905 WATCH and ntpd <= 4.2.6 CLOCK_MINSTEP are 900 s; ntp-4.2.8 and
 * NTPsec compile in 300 s (their comments still say 900), and `tinker stepout`
 * cannot go below it.  ntplab follows the code. */
#define NTP_DISC_KERNEL_STEP_MAX                                                                   \
	0.5                     /* s, over this (or 0) ntpd leaves the kernel                      \
	                           loop (loop_config LOOP_MAX) */
#define NTP_DISC_HUFFPUFF 900.0 /* s, ntpd HUFFPUFF: one huff-n'-puff slot */
/* ntpd's adj_host_clock() hands adjtime(2) one second's slew at a time and
 * Linux runs it through its next second (second_overflow()), so when an
 * update changes the slew, the old one still runs 1-2 s, by where ntpd's
 * 1-s timer falls in the kernel's second: 1.94 s in NTPsec's runs under
 * clknetsim; ntplab takes the mean over the timer's phase. */
#define NTP_DISC_ADJTIME_LAG       1.5 /* s */
#define NTP_DISC_HUFF_SLOTS        96  /* slots at most: a 24 h window (ours; ntpd any) */
#define NTP_DISC_PRECISION_DEFAULT 9.5367431640625e-07 /* s, 2^-20: ntpd's usual sys_precision */

enum ntp_disc_state {
	NTP_DISC_NSET = 0, /* never set: no drift file value */
	NTP_DISC_FSET,     /* frequency set from the drift file */
	NTP_DISC_SPIK,     /* offset over the step threshold, waiting the stepout */
	NTP_DISC_FREQ,     /* measuring frequency over the stepout interval */
	NTP_DISC_SYNC,     /* normal PLL/FLL operation */
};

enum ntp_disc_result {
	NTP_DISC_IGNORE = 0, /* nothing to do (spike, FREQ measuring, disabled, bad input) */
	NTP_DISC_SLEW,       /* remove adj_offset with adj_tau, run at adj_freq */
	NTP_DISC_STEP,       /* add step to the clock, drop any phase left, run at adj_freq */
	NTP_DISC_PANIC,      /* |offset| > panic: ntpd exits ("set clock manually") */
};

/* ntpd's loop constants (ntp_loopfilter.c), each a discipline parameter. */
typedef struct ntp_disc_gains {
	double pll;   /* PLL loop gain: phase time constant = pll x 2^poll s (CLOCK_PLL 16) */
	double fll;   /* FLL loop gain (CLOCK_FLL 0.25) */
	double avg;   /* jitter/wander averaging constant (CLOCK_AVG 8; RFC 5905 AVG is 4) */
	double floor; /* s, offset that ends the startup clamp early (CLOCK_FLOOR 0.0005) */
	double pgate; /* poll-adjust gate, x clock jitter (CLOCK_PGATE 4) */
	int allan;    /* log2 s, Allan intercept: FLL from this poll up (CLOCK_ALLAN 11;
	                 tinker allan) */
	int limit;    /* poll-adjust threshold of tc_counter (CLOCK_LIMIT 30) */
} ntp_disc_gains;

#define NTP_DISC_CLOCK_PLL   16.0   /* ntpd CLOCK_PLL */
#define NTP_DISC_CLOCK_FLL   0.25   /* ntpd CLOCK_FLL */
#define NTP_DISC_CLOCK_AVG   8.0    /* ntpd CLOCK_AVG */
#define NTP_DISC_CLOCK_FLOOR 0.0005 /* s, ntpd CLOCK_FLOOR */
#define NTP_DISC_CLOCK_PGATE 4.0    /* ntpd CLOCK_PGATE; RFC 5905 PGATE */
#define NTP_DISC_CLOCK_ALLAN 11     /* log2 s, ntpd CLOCK_ALLAN */
#define NTP_DISC_CLOCK_LIMIT 30     /* ntpd CLOCK_LIMIT; RFC 5905 LIMIT */

typedef struct ntp_disc_params {
	double step;               /* s, step threshold (tinker step), 0.128; 0 = never step */
	double step_back;          /* s, threshold for negative offsets (tinker stepback);
	                              < 0: step */
	double stepout;            /* s, stepout (tinker stepout), 900 */
	double panic;              /* s, panic threshold (tinker panic), 1000; 0 = no check */
	bool allow_big_first_step; /* ntpd -g: corrections may exceed panic until the
	                              first in-threshold update has been taken */
	int8_t minpoll, maxpoll;   /* log2 s, system-wide poll bounds (6 / 10) */
	bool have_drift;           /* drift file value present: start in FSET */
	double drift_ppm;          /* ppm, drift file value (clamped to +-500) */
	bool disabled;             /* `disable ntp`: compute and report, never adjust */
	double precision;          /* s, sys_precision as seconds (jitter floor and reset
	                              value); <= 0 or unset: NTP_DISC_PRECISION_DEFAULT */
	double huffpuff;           /* s, huff-n'-puff window (tinker huffpuff): 0 = off, else
	                              at least one 900 s slot, at most NTP_DISC_HUFF_SLOTS */
	double *huff_store;        /* ntp_disc_huff_slots(huffpuff) doubles the caller keeps
	                              for the window (most hosts run without one, so the
	                              discipline holds none of its own); NULL: off */
	bool kernel;               /* the kernel PLL takes the updates (ntpd on Linux);
	                              off by itself when a step threshold is 0 or > 0.5 s */
	ntp_disc_gains g;
} ntp_disc_params;

typedef struct ntp_disc {
	ntp_disc_params p;
	int state;           /* enum ntp_disc_state */
	double clock_offset; /* s, offset taken at the last rstclock() (ntpd clock_offset,
	                        what loopstats records) */
	double last_offset;  /* s, previous offset for the jitter estimate */
	double freq;         /* s/s, frequency correction (ntpd drift_comp) */
	double clk_jitter;   /* s, RMS of offset differences (ntpd clock_jitter) */
	double clk_wander;   /* s/s, RMS of frequency changes (ntpd clock_stability) */
	double sys_jitter;   /* s, last sys_jitter passed in (reported, not used: as ntpd) */
	int8_t poll;         /* log2 s, system poll = time constant (ntpd sys_poll) */
	int tc_counter;      /* poll-adjust counter, +-CLOCK_LIMIT (ntpd tc_counter) */
	double freq_cnt;     /* s of SYNC left in the startup clamp (ntpd freq_cnt) */
	ntp_time t_epoch;    /* mono time of the last rstclock() (ntpd clock_epoch) */
	ntp_time t_last;     /* mono time of the last call */
	ntp_time t_spike;    /* mono time SPIK was entered */
	bool allow_panic;    /* -g allowance still open (ntpd allow_panic) */
	unsigned steps;      /* clock steps so far */
	unsigned updates;    /* local_clock() calls so far */
	ntp_slew resid;      /* the phase slew in progress on mono time, to know what is
	                         left (FLL) */
	ntp_kernel kern;     /* kernel mode: the kernel as ntpd's calls left it, on mono
	                        time, for what ntp_adjtime() reports back */
	bool kern_engaged;   /* kernel mode: updates go to the kernel's PLL (the startup
	                        clamp is over) */
	/* huff-n'-puff (ntpd sys_huffpuff): the lowest system peer delay per
	 * 900 s slot, the slots rotated every 900 s from the start. */
	double *huff; /* s, hufflen slots: p.huff_store */
	int hufflen, huffptr;
	double mindly;      /* s, lowest delay over the window */
	int64_t huff_turns; /* rotations done (ntpd's huffpuff() calls) */
	ntp_time t_start;   /* mono time of ntp_disc_init */
} ntp_disc;

/* The slots a huff-n'-puff window of huffpuff s takes (ntpd loop_config():
 * at least one of 900 s), at most NTP_DISC_HUFF_SLOTS; 0 when off. */
size_t ntp_disc_huff_slots(double huffpuff);

/* Defaults: step 0.128 s, stepout 300 s, panic 1000 s, poll 6..10, no -g,
 * no drift file, enabled, precision 2^-20 s. */
void ntp_disc_params_default(ntp_disc_params *p);

/* Start the discipline at monotonic time mono: FSET with the drift value when
 * p->have_drift (clamped to +-500 ppm, as ntpd's loop_config()), else NSET
 * with frequency 0; poll = minpoll.  Out-of-range params are repaired
 * (poll bounds clamped to 0..17 and ordered, negative thresholds -> 0). */
void ntp_disc_init(ntp_disc *d, const ntp_disc_params *p, ntp_time mono);

/* The reason of an ordinary slew, kept as numbers: a slew happens on every
 * update, its text is read only by an event or a test, so it is formatted
 * by ntp_disc_note_format() when asked for (issue 17 §1). */
enum ntp_disc_note_kind {
	NTP_DISC_NOTE_NONE = 0, /* the reason text (if any) is already written */
	NTP_DISC_NOTE_KERNEL,   /* "kernel PLL %+.6f s, tc %d, freq %+.3f ppm" */
	NTP_DISC_NOTE_SLEW      /* "slew %+.6f s, tc %.0f s, freq %+.3f ppm" */
};

typedef struct ntp_disc_note {
	uint8_t kind;  /* enum ntp_disc_note_kind */
	bool measured; /* " (measured in FREQ)" */
	int8_t tc;     /* log2 s, the kernel PLL's time constant */
	double offset; /* s, the phase handed over */
	double tau;    /* s, the daemon slew's time constant */
	double freq;   /* s/s, the frequency correction */
} ntp_disc_note;

/* The text of n into buf (size bytes, NUL-terminated; "" for NONE). */
void ntp_disc_note_format(const ntp_disc_note *n, char *buf, size_t size);

/* When n is pending: its text into reason (size bytes) and n done.
 * Returns reason. */
const char *ntp_disc_note_flush(ntp_disc_note *n, char *reason, size_t size);

typedef struct ntp_disc_out {
	int result;           /* enum ntp_disc_result */
	bool kernel_mode;     /* the kernel holds the frequency: slews carry none */
	ntp_kernel_timex ktx; /* the ntp_adjtime(2) call to make after any step or slew
	                         (ktx.modes 0: none) */
	double step;          /* s, for STEP: add to the clock (= offset) */
	double adj_offset;    /* s, for SLEW: phase to remove (= offset); 0 for STEP */
	double adj_freq;      /* s/s, total frequency correction after this update */
	double adj_for;       /* s, kernel mode in the startup clamp: the daemon's slew stops
	                         when the clamp runs out, this long from now (adj_host_clock()
	                         slews no more once freq_cnt is 0); 0 = until the next update */
	double adj_tau;       /* s, phase time constant: CLOCK_PLL * 2^poll (16 x 2^poll),
	                         32 in the startup clamp, 0 = adjtime-style constant-rate
	                         slew (first update, NSET) */
	int old_state, new_state;
	int8_t poll;        /* log2 s, system poll after this update */
	bool poll_changed;  /* poll differs from before: update the associations */
	bool freq_measured; /* the FREQ-state direct frequency measurement completed */
	bool loopstats;     /* ntpd writes a loopstats record for this update */
	char reason[128];   /* readable: "step +28.203650 s > step threshold 0.128 s";
	                       read it with ntp_disc_reason() (a slew leaves it in note) */
	ntp_disc_note note; /* a slew's reason not yet formatted (kind NONE: none) */
} ntp_disc_out;

/* out's reason text, formatted from out->note into out->reason first when
 * that is pending. */
const char *ntp_disc_reason(ntp_disc_out *out);

/* What local_clock() is called with. */
typedef struct ntp_disc_in {
	double offset;     /* s, combined system offset (positive = local clock behind) */
	double sys_jitter; /* s */
	ntp_now now;       /* mono: intervals such as the stepout are measured on it, so a
	                      step of the local clock from outside does not shorten or
	                      stretch them; local: the kernel counts its seconds on it */
	double delay;      /* s, the system peer's delay (huff-n'-puff); NaN: none */
	double rootdelay;  /* s, system root delay and dispersion: the kernel's maxerror */
	double rootdisp;
	uint8_t leap; /* system leap indicator: STA_INS/STA_DEL (kept by the kernel) */
} ntp_disc_in;

/* local_clock() (RFC 5905 App. A.5.5.6, NTPsec ntp_loopfilter.c).
 * Returns out->result.  A non-finite offset is IGNOREd with a reason. */
int ntp_disc_update(ntp_disc *d, const ntp_disc_in *in, ntp_disc_out *out);

/* The same for a daemon-mode loop given only offset, jitter and mono time
 * (local = mono, no delay, root delay or dispersion, no leap). */
int ntp_disc_local_clock(ntp_disc *d, double offset, double sys_jitter, ntp_time mono,
                         ntp_disc_out *out);

/* Kernel mode at start-up (ntpd loop_config LOOP_DRIFTINIT: start_kern_loop()
 * then set_freq()): fills *tx with the one ntp_adjtime(2) call that does
 * both -- STA_PLL | STA_UNSYNC, the time constant, the errors at
 * NTP_MAXDISPERSE and the frequency (drift file or 0) -- and makes it on
 * the copy.  false (no call) outside kernel mode or when disabled. */
bool ntp_disc_start(ntp_disc *d, ntp_now now, ntp_kernel_timex *tx);

int8_t ntp_disc_poll(const ntp_disc *d);     /* current system poll (log2 s) */
double ntp_disc_freq_ppm(const ntp_disc *d); /* ppm, for the drift file */

/* ntpd loopstats record (NTPsec ntp_util.c record_loop_stats):
 * "MJD SOD offset freq_ppm clk_jitter wander_ppm poll", e.g.
 * "61000 3723.250 0.000123456 -12.345678 0.000001907 0.012345 6",
 * without newline.  Returns the length snprintf reports. */
size_t ntp_disc_loopstats(const ntp_disc *d, ntp_time local, char *buf, size_t size);

/* "NSET", "FSET", "SPIK", "FREQ", "SYNC"; "?" for anything else. */
const char *ntp_disc_state_name(int state);

#endif
