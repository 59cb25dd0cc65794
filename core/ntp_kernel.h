/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_kernel: the Linux kernel's NTP discipline (kernel/time/ntp.c) as a
 * pure clock model -- what a disciplined CLOCK_REALTIME reads as a
 * function of the raw (undisciplined) clock, in closed form per interval.
 *
 * NTPsec on Linux hands its offsets to this code once its start-up clamp
 * ends (ntpd/ntp_loopfilter.c local_clock(): ntp_adjtime() with
 * MOD_OFFSET | MOD_MAXERROR | MOD_ESTERROR | MOD_STATUS | MOD_TIMECONST |
 * MOD_NANO, status STA_PLL, offset in ns, constant = sys_poll) and reads
 * back the kernel's frequency as its drift_comp (ntv.freq).  The kernel
 * then runs its own PLL/FLL:
 *   - on each ADJ_OFFSET, ntp_update_offset(): phase = offset (clamped to
 *     MAXPHASE), frequency += PLL term offset * secs / 2^(2 (SHIFT_PLL + 2
 *     + tc)) (+ FLL term offset / (secs * 2^SHIFT_FLL) when the interval
 *     is long or STA_FLL is set), clamped to MAXFREQ;
 *   - once a second, second_overflow(): 1 / 2^(SHIFT_PLL + tc) of the
 *     phase still left is added to the coming second (a geometric decay),
 *     plus up to 500 us of an adjtime() (time_adjust);
 *   - the frequency all the time.
 *
 * The model keeps the kernel's variables in the kernel's integer units
 * (s64 values scaled by 2^32, the shift_right() rounding toward zero) and
 * evaluates the per-second decay in closed form, so one call costs O(1)
 * whatever the interval.  The one approximation: the phase left after m
 * whole seconds is round(x0 (1 - 2^-s)^m) instead of the kernel's
 * truncating iteration; the clock reading differs from the exact
 * iteration by less than HZ * 2^(s - 32) ns per ADJ_OFFSET (< 0.001 ns at
 * HZ 1000).  docs/kernel-pll.md has the equations, the error bound and
 * what is left out (PPS, leap seconds, ADJ_TICK, ADJ_TAI).
 *
 * Second boundaries: the kernel runs second_overflow() when its own
 * CLOCK_REALTIME passes a whole second; the model places them at whole
 * seconds of the raw clock (raw = k * 10^9 ns), which keeps the closed
 * form closed.  The seconds the PLL counts between updates (time_reftime,
 * get_seconds()) are whole seconds of the disciplined reading, as in the
 * kernel, so a step of the clock moves them.
 *
 * Sign convention: as ntp_clock and the kernel, an offset is what the
 * clock must be advanced by (positive: the clock is behind).  All times
 * are ntp_time (ns); raw times are clamped to +-2^62 ns, as the host
 * clamps its clocks.
 */
#ifndef NTP_KERNEL_H
#define NTP_KERNEL_H

#include <stdint.h>

#include "ntp_time.h"

/* Mode bits of struct timex, values of Linux include/uapi/linux/timex.h. */
#define NTP_KERNEL_ADJ_OFFSET            0x0001 /* ADJ_OFFSET: phase offset */
#define NTP_KERNEL_ADJ_FREQUENCY         0x0002 /* ADJ_FREQUENCY: frequency */
#define NTP_KERNEL_ADJ_MAXERROR          0x0004 /* ADJ_MAXERROR */
#define NTP_KERNEL_ADJ_ESTERROR          0x0008 /* ADJ_ESTERROR */
#define NTP_KERNEL_ADJ_STATUS            0x0010 /* ADJ_STATUS */
#define NTP_KERNEL_ADJ_TIMECONST         0x0020 /* ADJ_TIMECONST */
#define NTP_KERNEL_ADJ_MICRO             0x1000 /* ADJ_MICRO: offsets in us */
#define NTP_KERNEL_ADJ_NANO              0x2000 /* ADJ_NANO: offsets in ns */
#define NTP_KERNEL_ADJ_OFFSET_SINGLESHOT 0x8001 /* adjtime(2), offset in us */
#define NTP_KERNEL_ADJ_OFFSET_SS_READ    0xa001 /* adjtime(2), read only */

/* Status bits, values of Linux include/uapi/linux/timex.h. */
#define NTP_KERNEL_STA_PLL      0x0001 /* enable PLL updates */
#define NTP_KERNEL_STA_FLL      0x0008 /* FLL mode (the FLL term below MAXSEC too) */
#define NTP_KERNEL_STA_INS      0x0010 /* insert leap (kept; the step is ntp_clock_leap) */
#define NTP_KERNEL_STA_DEL      0x0020 /* delete leap (kept; the step is ntp_clock_leap) */
#define NTP_KERNEL_STA_UNSYNC   0x0040 /* clock unsynchronised */
#define NTP_KERNEL_STA_FREQHOLD 0x0080 /* hold frequency: ADJ_OFFSET sets phase only */
#define NTP_KERNEL_STA_NANO     0x2000 /* offsets in ns (read only) */
#define NTP_KERNEL_STA_MODE     0x4000 /* the last update used the FLL (read only) */

/* Results, as ntp_adjtime(2) returns them (TIME_OK, TIME_ERROR, -EINVAL). */
#define NTP_KERNEL_TIME_OK    0
#define NTP_KERNEL_TIME_ERROR 5   /* STA_UNSYNC set */
#define NTP_KERNEL_EINVAL     -22 /* rejected as ntp_validate_timex() rejects it */

#define NTP_KERNEL_HZ_DEFAULT 250 /* 1/s, CONFIG_HZ: Linux kernel/Kconfig.hz default, Debian */

/* The fields of struct timex the daemon uses, in the kernel's units. */
typedef struct ntp_kernel_timex {
	unsigned modes;   /* NTP_KERNEL_ADJ_* */
	int64_t offset;   /* ns with STA_NANO, else us; us for adjtime(2) */
	int64_t freq;     /* scaled ppm: ppm * 2^16 (SHIFT_USEC) */
	int64_t maxerror; /* us */
	int64_t esterror; /* us */
	int status;       /* NTP_KERNEL_STA_* */
	int64_t constant; /* log2: PLL time constant (NTPsec passes sys_poll) */
} ntp_kernel_timex;

/* The kernel's variables that second_overflow() changes (kernel/time/ntp.c
 * struct ntp_data), as they stand after the boundary of raw second `sec`
 * and any ntp_adjtime() since. */
typedef struct ntp_kernel_second {
	int64_t sec;           /* floor(raw / 1 s) of that boundary */
	int64_t time_offset;   /* ns * 2^32 / HZ: phase still to apply */
	int64_t time_adjust;   /* us of adjtime(2) not yet begun */
	int64_t time_maxerror; /* us */
	int64_t tick_extra;    /* ns * 2^32 per tick: tick_length - tick_length_base
	                          (this second's phase and adjtime share) */
	int time_status;       /* NTP_KERNEL_STA_* */
} ntp_kernel_second;

typedef struct ntp_kernel {
	ntp_kernel_second at;  /* as of the last change */
	int64_t time_freq;     /* ns/s * 2^32: frequency correction */
	int64_t time_constant; /* log2, 0..MAXTC */
	int64_t time_reftime;  /* s of CLOCK_REALTIME at the last ADJ_OFFSET */
	int64_t time_esterror; /* us */
	int64_t hz;            /* 1/s, ticks per second (NTP_INTERVAL_FREQ = HZ) */
	/* Where the model stands. */
	ntp_time raw0;    /* raw time of the last change, ns; at.sec = floor(raw0 / 1 s) */
	ntp_time corr_ns; /* whole ns of correction at raw0 */
	double corr_frac; /* ns, the rest of it */
	int64_t freq_eff; /* ns/s * 2^32: HZ * tick_length_base - 10^9 * 2^32, the rate
	                     the clock really gains (time_freq less the remainder) */
} ntp_kernel;

/* The kernel as it boots (ntp_init()): no correction at raw_now, status
 * STA_UNSYNC, time constant 2, frequency 0, errors at NTP_PHASE_LIMIT.  hz:
 * the kernel's CONFIG_HZ (100, 250, 300, 1000); outside 1..10000 ->
 * NTP_KERNEL_HZ_DEFAULT. */
void ntp_kernel_init(ntp_kernel *k, ntp_time raw_now, int hz);

/* ntp_adjtime(2) at raw time raw_now: the modes NTP_KERNEL_ADJ_* of tx in
 * the kernel's order (STATUS, NANO, MICRO, FREQUENCY, MAXERROR, ESTERROR,
 * TIMECONST, OFFSET) or, with NTP_KERNEL_ADJ_OFFSET_SINGLESHOT, adjtime(2).
 * Returns NTP_KERNEL_TIME_OK, NTP_KERNEL_TIME_ERROR (STA_UNSYNC) or
 * NTP_KERNEL_EINVAL (tx NULL, adjtime bits without SINGLESHOT, freq beyond
 * what the kernel can scale).  raw_now before the last change counts as
 * that change's time.  tx is the caller's; nothing is kept. */
int ntp_kernel_adjtime(ntp_kernel *k, ntp_time raw_now, const ntp_kernel_timex *tx);

/* The same with the whole second of CLOCK_REALTIME (get_seconds(), what
 * the PLL counts its interval in) given by the caller: a clock whose
 * reading is more than this model's correction (ntp_clock adds the daemon
 * loop's slew) passes its own, and ntpd's mirror of the kernel
 * (ntp_disc) passes the host's local clock. */
int ntp_kernel_adjtime_sec(ntp_kernel *k, ntp_time raw_now, int64_t now_sec,
                           const ntp_kernel_timex *tx);

/* floor(t / 1 s): the whole second a clock reading t (ns) falls in. */
int64_t ntp_kernel_second_of(ntp_time t);

/* What ntp_adjtime(2) with modes 0 returns at raw: offset left (ns with
 * STA_NANO, else us), freq (scaled ppm), maxerror, esterror, status,
 * constant; the return value as ntp_kernel_adjtime's. */
int ntp_kernel_query(const ntp_kernel *k, ntp_time raw, ntp_kernel_timex *out);

/* Total correction (s) the kernel has applied by raw time raw: the clock
 * reads raw + this.  Before the last change only the frequency is
 * extrapolated back. */
double ntp_kernel_correction(const ntp_kernel *k, ntp_time raw);

/* CLOCK_REALTIME at raw: raw + correction, rounded to the ns. */
ntp_time ntp_kernel_read(const ntp_kernel *k, ntp_time raw);

/* A step by offset (s, positive = forward) at raw_now: clock_settime(2) or
 * ADJ_SETOFFSET.  Both end in timekeeping_update(TK_CLEAR_NTP), i.e.
 * ntp_clear(): the phase left, the adjtime(2) left and this second's share
 * are dropped, STA_UNSYNC is set and the errors go to NTP_PHASE_LIMIT;
 * frequency, time constant, time_reftime and STA_PLL stay.  A non-finite
 * offset steps by 0 (still clears). */
void ntp_kernel_step(ntp_kernel *k, ntp_time raw_now, double offset);

/* The raw clock under the kernel jumped by d ns at raw time raw_before
 * (a VM resumed, ntpsim's or refd's external step): the reading jumps by
 * d too and the kernel's state is kept.  The second in progress is cut
 * or stretched where the jump lands, so its phase share may be off by at
 * most that one second's share. */
void ntp_kernel_shift_raw(ntp_kernel *k, ntp_time raw_before, ntp_time d);

/* The frequency (s/s) as NTPsec reads it back: FREQTOD(ntv.freq), i.e. the
 * kernel's scaled-ppm report / 65536e6. */
double ntp_kernel_freq(const ntp_kernel *k);

/* The phase (s) not yet applied at raw as NTPsec reads it back
 * (ntv.offset * S_PER_NS): whole ns with STA_NANO, whole us without. */
double ntp_kernel_offset_left(const ntp_kernel *k, ntp_time raw);

/* The adjtime(2) correction (us) not yet begun at raw: what adjtime(2)
 * returns as olddelta, less the second in progress. */
int64_t ntp_kernel_adjtime_left(const ntp_kernel *k, ntp_time raw);

#endif
