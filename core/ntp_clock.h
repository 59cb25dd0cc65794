/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_clock: the arithmetic of a disciplined clock, as a closed-form
 * function of the raw (undisciplined) time -- no per-second ticks.
 *
 * The discipline (core/ntp_disc) hands out three numbers per update: a
 * phase offset to remove, a frequency correction and a time constant.  A
 * clock that obeys them reads
 *
 *     local(raw) = raw + correction(raw)
 *     correction(raw) = corr0 + freq * (raw - t0) + removed(raw - t0)
 *
 * where removed() is the part of `phase` slewed away so far.  The phase is
 * removed at rate phase_left / tau (ntpd's adj_host_clock() takes
 * clock_offset / (CLOCK_PLL * 2^poll) every second), never faster than
 * slew_max (500 ppm, the most adjtime(2) and ntpd slew).  So the slew runs
 * in two pieces: at the constant rate slew_max while |phase_left| >
 * slew_max * tau, then exponentially.  tau <= 0 selects a pure
 * constant-rate slew at slew_max (adjtime(2) with the whole offset, as ntpd
 * uses for the very first update).
 *
 * A slew may ask for a lag: the slew it replaces runs on that long first,
 * evenly, as the adjtime(2) ntpd already handed the kernel does (Linux
 * runs it through its next second).
 *
 * Under the daemon loop's slew sits the Linux kernel's PLL (ntp_kernel):
 * what ntpd hands the kernel with ntp_adjtime(2) once it runs the kernel
 * discipline (NTP_CLOCK_KERNEL adjustments).  The reading is raw plus both
 * corrections; a step clears the kernel's phase as Linux's ntp_clear()
 * does.
 *
 * ntpsim's model clocks and refd's virtual clock both use this, so the
 * simulated and the real daemon disciplined clocks agree to the
 * nanosecond.  All times are ntp_time (ns); corrections are double seconds.
 *
 * Difference from ntpd, on purpose: ntpd bounds phase rate + frequency
 * together to 500 ppm; here slew_max bounds the phase rate alone (what the
 * kernel's adjtime does with the frequency set through adjtimex).
 */
#ifndef NTP_CLOCK_H
#define NTP_CLOCK_H

#include <stdint.h>

#include "ntp_const.h"
#include "ntp_kernel.h"
#include "ntp_time.h"

#define NTP_CLOCK_SLEW_MAX   500e-6 /* s/s, ntpd NTP_MAXFREQ; Linux adjtime(2) slew rate */
#define NTP_CLOCK_LAG_MAX    4.0    /* s, longest lag an adjustment may ask for (ours) */
#define NTP_CLOCK_FREQ_LIMIT 0.1    /* s/s, |freq| bound that keeps the clock increasing (ours) */

/* The daemon's slew alone: what adjtime(2) and the daemon loop's phase and
 * frequency corrections do, without the kernel's PLL or a leap.  The
 * discipline's own record of the phase it still owes (ntp_disc) is one. */
typedef struct ntp_slew {
	ntp_time t0;      /* raw (undisciplined) time of the last update, ns */
	double corr0;     /* s, total correction in effect at t0 */
	double phase;     /* s, phase still to remove at t0 (decays with tau) */
	double tau;       /* s, phase slew time constant; <= 0: constant-rate slew */
	double freq;      /* s/s, frequency correction */
	double slew_max;  /* s/s, max phase slew rate; <= 0: uncapped */
	double slew_for;  /* s, the phase slew stops this long after t0 and what is left
	                     is dropped; <= 0: it runs until the next adjustment */
	double carry;     /* s, the previous slew's share still queued at t0 (adjtime(2)
	                     handed over, not yet run), removed evenly over carry_for */
	double carry_for; /* s */
} ntp_slew;

/* A slew with no correction at raw_now, frequency freq (s/s), cap
 * NTP_CLOCK_SLEW_MAX. */
void ntp_slew_init(ntp_slew *s, ntp_time raw_now, double freq);

/* Start removing offset (s) with time constant tau at raw_now, the
 * correction so far kept (ntp_clock_adjust without a kernel or a leap). */
void ntp_slew_adjust(ntp_slew *s, ntp_time raw_now, double offset, double freq, double tau);

/* Phase (s) not yet slewed away at raw (same sign as s->phase). */
double ntp_slew_phase_left(const ntp_slew *s, ntp_time raw);

typedef struct ntp_clock {
	ntp_slew s;       /* the daemon's slew */
	ntp_kernel kern;  /* the kernel's PLL (ntp_adjtime), its own correction on top */
	int8_t leap;      /* armed leap second: +1 insert, -1 delete, 0 none (STA_INS/STA_DEL) */
	ntp_time leap_at; /* ns, the reading (POSIX: a UTC midnight) the leap ends at */
} ntp_clock;

/* A clock with no correction at raw_now, running at frequency correction
 * freq (s/s), slew cap NTP_CLOCK_SLEW_MAX. */
void ntp_clock_init(ntp_clock *c, ntp_time raw_now, double freq);

/* Total correction (s) at raw, the daemon's slew and the kernel's.  Meant for raw >= t0; before t0
 * only the frequency term is extrapolated (no phase), which keeps it monotonic. */
double ntp_clock_correction(const ntp_clock *c, ntp_time raw);

/* Phase (s) of the daemon's slew not yet slewed away at raw (same sign as
 * c->phase); the kernel's is ntp_kernel_offset_left(&c->kern, raw). */
double ntp_clock_phase_left(const ntp_clock *c, ntp_time raw);

/* Frequency correction (s/s) the clock runs at: the daemon's plus the
 * kernel's. */
double ntp_clock_freq(const ntp_clock *c);

/* Disciplined reading at raw: raw + correction, rounded to the ns. */
ntp_time ntp_clock_read(const ntp_clock *c, ntp_time raw);

/* Apply a discipline update at raw_now: the correction so far becomes
 * corr0, the new phase REPLACES whatever phase was left (as ntpd's
 * rstclock() overwrites clock_offset), and freq and tau take effect.
 * Non-finite arguments are ignored (treated as 0 / unchanged); freq is
 * clamped to +-NTP_CLOCK_FREQ_LIMIT. */
void ntp_clock_adjust(ntp_clock *c, ntp_time raw_now, double offset, double freq, double tau);

/* What a discipline asks of the clock in one update (the ADJUST action,
 * ntp_host.h).  NTP_CLOCK_SLEW: the daemon loop's adjustment -- remove
 * `offset` s of phase with time constant `tau` s, never faster than
 * `slew_max`, and run at `freq` -- as ntp_clock_adjust() applies it.
 * NTP_CLOCK_KERNEL: the ntp_adjtime(2) call `kernel`.  Either, both or
 * neither; they act on independent parts of the correction. */
enum ntp_clock_adj_what {
	NTP_CLOCK_SLEW = 1u << 0,
	NTP_CLOCK_KERNEL = 1u << 1,
};

typedef struct ntp_clock_adj {
	uint8_t what;    /* enum ntp_clock_adj_what bits; 0 = nothing */
	double offset;   /* s, phase to remove; positive = the clock is behind, advance it */
	double freq;     /* s/s, total frequency correction */
	double tau;      /* s, phase time constant; <= 0: the whole offset at the constant
	                    rate slew_max (adjtime(2), ntpd's first update) */
	double slew_max; /* s/s, fastest phase slew; <= 0: NTP_CLOCK_SLEW_MAX (500 ppm,
	                    what adjtime(2) and ntpd do; chronyd slews up to 83,333 ppm);
	                    at most NTP_CLOCK_FREQ_LIMIT */
	double slew_for; /* s, stop the phase slew after this long and drop what is left
	                    (ntpd in kernel mode when its startup clamp runs out); <= 0:
	                    until the next adjustment */
	double lag;      /* s, the slew in progress still runs this long before this one
	                    takes over: the adjtime(2) ntpd handed the kernel at its last
	                    1-s call runs through the kernel's next second whatever comes
	                    after (0..4 s; 0: at once) */
	ntp_kernel_timex kernel; /* for NTP_CLOCK_KERNEL */
} ntp_clock_adj;

/* Carry out an adjustment at raw_now (nothing for what == 0). */
void ntp_clock_apply(ntp_clock *c, ntp_time raw_now, const ntp_clock_adj *adj);

/* The raw clock itself jumped by d ns at raw time raw_before (ntpsim's
 * and refd's external steps): the reading jumps by exactly d, the
 * corrections in progress carry on. */
void ntp_clock_shift_raw(ntp_clock *c, ntp_time raw_before, ntp_time d);

/* Step at raw_now: the reading jumps by offset (s, positive = forward);
 * any remaining phase is dropped, frequency and tau are kept; the kernel's
 * PLL state is cleared as a step on Linux clears it (ntp_kernel_step). */
void ntp_clock_step(ntp_clock *c, ntp_time raw_now, double offset);

/* Arm a leap second as the Linux kernel does with STA_INS / STA_DEL
 * (kernel/time/ntp.c second_overflow): step +1 inserts one, -1 deletes one,
 * 0 disarms.  at is the reading (ns) of the UTC midnight that ends the
 * leap's day.  Insert: when the reading reaches `at` it is set back 1 s,
 * so 23:59:59 repeats (POSIX has no 23:59:60).  Delete: when it reaches
 * at - 1 s it is set forward 1 s, so 23:59:59 never shows.  The clock
 * disarms itself once the leap is done.  In closed form like the rest:
 * the jump is part of the correction from that reading on. */
void ntp_clock_leap(ntp_clock *c, int step, ntp_time at);

#endif
