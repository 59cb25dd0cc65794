/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refd_clock: the clock refd disciplines (its "clock driver").
 *
 *   virtual  (default)  local = ntp_clock_read(raw), raw = CLOCK_REALTIME
 *                       + a deliberate offset + a deliberate frequency error
 *                       times the time elapsed since start.  STEP and ADJUST
 *                       actions change only the ntp_clock inside refd: the
 *                       machine's clock is never touched.  This is how "a
 *                       client 28 s ahead" is reproduced for real.  The
 *                       deliberate offset and frequency error can also
 *                       change at run time (refd_clock_jump,
 *                       refd_clock_set_skew: ntpsim's `step` and `freq`
 *                       events, on refd's --ctl socket).
 *   system              local = CLOCK_REALTIME, disciplined through
 *                       clock_adjtime(2): STEP with ADJ_SETOFFSET, the
 *                       frequency with ADJ_FREQUENCY, the phase in 1-second
 *                       slices with ADJ_OFFSET_SINGLESHOT (adjtime(2)), as
 *                       ntpd's adj_host_clock() does without the kernel loop.
 *                       Only after refd_clock_system_permitted() agreed.
 *
 * Every time here is ntp_time (ns since 1970).  "real" is a CLOCK_REALTIME
 * reading (also what SO_TIMESTAMPNS stamps packets with); "local" is the
 * disciplined reading the core sees.
 */
#ifndef REFD_CLOCK_H
#define REFD_CLOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "ntp_clock.h"
#include "ntp_time.h"

enum refd_clock_kind { REFD_CLOCK_VIRTUAL = 0, REFD_CLOCK_SYSTEM = 1 };

#define REFD_CLOCK_MAX_SKEW_PPM 100000.0 /* ppm, |--clock-freq| bound (ours; ntp_clock's limit) */
#define REFD_CLOCK_MAX_BIAS_S   1e9      /* s, |--clock-offset| bound (ours: ~31 years) */
#define REFD_CAP_SYS_TIME       25       /* linux/capability.h CAP_SYS_TIME bit */

typedef struct refd_clock {
	int kind;           /* enum refd_clock_kind */
	ntp_time real0;     /* ns, CLOCK_REALTIME when the skew last changed (or set-up) */
	ntp_time bias;      /* ns, deliberate offset of the raw clock at real0 (virtual) */
	double skew;        /* s/s, deliberate frequency error of the raw clock (virtual) */
	ntp_clock disc;     /* virtual: the disciplined clock; system: the phase slew model */
	double phase_fed;   /* system: s of the current phase already handed to the kernel */
	double kernel_freq; /* system: s/s, frequency last set in the kernel */
	bool kernel_pll;    /* system: the discipline runs the kernel's PLL (ntpd-kernel):
	                       the frequency is the kernel's, set through ntp_adjtime */
	unsigned steps;     /* STEP actions applied */
	unsigned adjusts;   /* ADJUST actions applied */
	unsigned jumps;     /* external jumps (refd_clock_jump) */
} refd_clock;

/* A virtual clock at real_now: raw = real + offset_s + skew_ppm * 1e-6 *
 * (real - real_now); it starts running at frequency correction freq (s/s,
 * the drift file value, as ntpd loads it into the kernel at start). */
void refd_clock_init_virtual(refd_clock *c, ntp_time real_now, double offset_s, double skew_ppm,
                             double freq);

/* May this process discipline the machine's clock?  Needs the explicit
 * confirmation flag and CAP_SYS_TIME in the effective set (read from
 * /proc/self/status).  On refusal writes a sentence into err. */
bool refd_clock_system_permitted(bool confirmed, char *err, size_t errsize);

/* A system clock driver.  Sets the kernel frequency to freq (s/s) at once.
 * Call only after refd_clock_system_permitted() said yes.  Returns 0, or -1
 * with a reason in err. */
int refd_clock_init_system(refd_clock *c, ntp_time real_now, double freq, char *err,
                           size_t errsize);

/* The raw (undisciplined) reading at real time `real`. */
ntp_time refd_clock_raw_at(const refd_clock *c, ntp_time real);

/* The disciplined local reading at real time `real`. */
ntp_time refd_clock_local_at(const refd_clock *c, ntp_time real);

/* Carry out a STEP action at real_now (offset s, positive = forward).
 * Returns 0, or -1 with a reason in err (system clock only). */
int refd_clock_step(refd_clock *c, ntp_time real_now, double offset, char *err, size_t errsize);

/* Carry out an ADJUST action at real_now (ntp_clock_adj: phase offset,
 * time constant, slew limit, total frequency correction).  Returns 0 or -1
 * with err. */
int refd_clock_adjust(refd_clock *c, ntp_time real_now, const ntp_clock_adj *adj, char *err,
                      size_t errsize);

/* An external jump of the virtual raw clock at real_now by offset s (like
 * `date -s`; ntpsim's `step` event): raw and local readings both jump by
 * exactly offset and a slew in progress goes on as if nothing happened --
 * the discipline is not involved and learns of the jump only from its next
 * readings.  Returns 0, or -1 with a reason in err: the system clock (never
 * changed on request), or an offset or resulting bias beyond
 * REFD_CLOCK_MAX_BIAS_S. */
int refd_clock_jump(refd_clock *c, ntp_time real_now, double offset, char *err, size_t errsize);

/* From real_now on the virtual raw clock runs with frequency error skew
 * (s/s, ntpsim's `freq` event: the new value replaces the old one).  The
 * reading is continuous: raw_at(real_now) is the same before and after.
 * Returns 0, or -1 with err (system clock; |skew| beyond
 * REFD_CLOCK_MAX_SKEW_PPM). */
int refd_clock_set_skew(refd_clock *c, ntp_time real_now, double skew, char *err, size_t errsize);

/* The deliberate offset of the raw clock at real (s) and its frequency
 * error (ppm): 0 for the system clock. */
double refd_clock_bias_at(const refd_clock *c, ntp_time real);
double refd_clock_skew_ppm(const refd_clock *c);

/* System clock: hand the kernel the phase slewed since the last call
 * (call about once a second).  Virtual clock: nothing to do.  Returns 0 or
 * -1 with err. */
int refd_clock_poll(refd_clock *c, ntp_time real_now, char *err, size_t errsize);

/* Frequency correction in effect (ppm), for the drift file and the log. */
double refd_clock_freq_ppm(const refd_clock *c);

/* CLOCK_REALTIME and CLOCK_MONOTONIC readings in ns. */
ntp_time refd_real_now(void);
ntp_time refd_mono_now(void);

/* n bytes from the kernel's random generator (getrandom(2)), for the
 * core's nonce key and seeds.  Returns 0, or -1 with a reason in err: refd
 * never falls back to a guessable value. */
int refd_entropy(void *buf, size_t n, char *err, size_t errsize);

/* Precision of the system clock as ntpd measures it (default_get_precision:
 * the smallest difference between two successive readings that differ,
 * at least 2^-30 s), as log2 s. */
int refd_clock_measure_precision(void);

#endif
