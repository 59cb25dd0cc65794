/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Linux kernel's NTP PLL/FLL as a pure clock model.  Sources read:
 * Linux kernel/time/ntp.c (struct ntp_data, ntp_update_frequency(),
 * ntp_update_offset_fll(), ntp_update_offset(), __ntp_clear(),
 * second_overflow(), process_adj_status(), process_adjtimex_modes(),
 * __do_adjtimex()), kernel/time/timekeeping.c (timekeeping_validate_timex(),
 * do_settimeofday64() and timekeeping_inject_offset(), which both clear the
 * NTP state), include/linux/timex.h and include/uapi/linux/timex.h for the
 * constants.  Nothing is copied; the arithmetic is re-derived and the
 * function each piece models is named beside it.
 *
 * Units: the kernel scales ns by 2^NTP_SCALE_SHIFT.  time_offset is ns *
 * 2^32 per tick (it is divided by HZ when set and each tick of the next
 * second gets the share taken from it), time_freq is ns/s * 2^32.
 */
#include "ntp_kernel.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>

/* Linux include/linux/timex.h */
#define SHIFT_PLL           2  /* log2, SHIFT_PLL: phase decay shift and PLL gain */
#define SHIFT_FLL           2  /* log2, SHIFT_FLL: FLL gain */
#define MAXTC               10 /* log2, MAXTC: largest time constant */
#define SHIFT_USEC          16 /* log2, SHIFT_USEC: timex.freq is ppm * 2^16 */
#define SCALE_SHIFT         32 /* log2, NTP_SCALE_SHIFT: fraction bits of scaled ns */
#define PPM_SCALE_INV_SHIFT 19 /* log2, PPM_SCALE_INV_SHIFT: for the freq report */
#define MAXPHASE            INT64_C(500000000) /* ns, MAXPHASE: largest phase accepted */
#define MAXFREQ             INT64_C(500000)    /* ns/s, MAXFREQ: largest frequency */
#define MINSEC              256                /* s, MINSEC: shortest interval for the FLL */
#define MAXSEC              2048 /* s, MAXSEC: longer intervals use the FLL without STA_FLL */
/* ns/s * 2^32 per scaled ppm (ppm * 2^16): PPM_SCALE = NSEC_PER_USEC << (32 - 16) */
#define PPM_SCALE (INT64_C(1000) << (SCALE_SHIFT - SHIFT_USEC))
/* 2^51 / PPM_SCALE + 1: PPM_SCALE_INV, the reciprocal the kernel reports freq with */
#define PPM_SCALE_INV  ((INT64_C(1) << (PPM_SCALE_INV_SHIFT + SCALE_SHIFT)) / PPM_SCALE + 1)
#define MAXFREQ_SCALED (MAXFREQ * (INT64_C(1) << SCALE_SHIFT)) /* ns/s * 2^32, MAXFREQ_SCALED */
#define PHASE_LIMIT    ((MAXPHASE / 1000) << 5) /* us, NTP_PHASE_LIMIT: 16 s, unsynchronised */
/* STA_PPSSIGNAL..STA_CLK: the bits ADJ_STATUS cannot change (STA_RONLY) */
#define STA_RONLY    0xff00
#define STA_CLOCKERR 0x1000 /* clock hardware fault (read only) */
/* ADJ_ADJTIME and ADJ_OFFSET_READONLY: kernel-internal halves of the adjtime(2) modes */
#define ADJ_ADJTIME         0x8000
#define ADJ_OFFSET_READONLY 0x2000

/* Linux kernel/time/ntp.c */
#define MAX_TICKADJ        INT64_C(500) /* us/s, MAX_TICKADJ: adjtime(2) slew rate */
#define TIME_CONSTANT_BOOT 2            /* log2, time_constant as the kernel boots */

#define NSEC_PER_USEC INT64_C(1000)       /* ns per us */
#define USEC_PER_SEC  INT64_C(1000000)    /* us per s */
#define NSEC_PER_SEC  INT64_C(1000000000) /* ns per s */
/* ns * 2^32 in one second: the tick_length_base of a whole second (tick_usec
 * 10000 us * USER_HZ 100 = 10^9 ns, shifted) */
#define SECOND_SCALED (NSEC_PER_SEC << SCALE_SHIFT)
#define SCALE         4294967296.0        /* 2^NTP_SCALE_SHIFT, as a double */
#define HZ_MAX        10000               /* 1/s, largest tick rate accepted (ours) */
#define RAW_LIMIT     ((ntp_time)1 << 62) /* ns, clocks clamped as ntp_host does */
#define CORR_LIMIT    ((ntp_time)1 << 62) /* ns, largest total correction (ours) */

/* ---- the kernel's integer helpers ---- */

/* shift_right() of include/linux/timex.h: a shift that rounds toward 0.
 * |x| < 2^63 always here (the model's values stay below 2^62). */
static int64_t
shift_right(int64_t x, int s)
{
	return x < 0 ? -((-x) >> s) : x >> s;
}

/* The kernel's s64 >> on a negative value: rounds toward -infinity. */
static int64_t
shift_floor(int64_t x, int s)
{
	return x < 0 ? -(((-x) - 1) >> s) - 1 : x >> s;
}

/* The kernel's s64 << (GNU C shifts negative values too); a product, which
 * C defines for negative x as well. */
static int64_t
shift_left(int64_t x, int s)
{
	return x * (INT64_C(1) << s);
}

static int64_t
clamp64(int64_t x, int64_t lo, int64_t hi)
{
	return x < lo ? lo : (x > hi ? hi : x);
}

/* ---- raw time ---- */

static ntp_time
clamp_raw(ntp_time t)
{
	return clamp64(t, -RAW_LIMIT, RAW_LIMIT);
}

/* The whole raw second t falls in: floor(t / 1 s). */
static int64_t
second_of(ntp_time t)
{
	return t / NSEC_PER_SEC - (t % NSEC_PER_SEC < 0 ? 1 : 0);
}

/* ns since the start of that second, [0, 10^9). */
static int64_t
into_second(ntp_time t)
{
	return t - second_of(t) * NSEC_PER_SEC;
}

/* b - a in ns for a <= b within +-2^62: up to 2^63, so taken unsigned. */
static double
elapsed_ns(ntp_time a, ntp_time b)
{
	return (double)((uint64_t)b - (uint64_t)a);
}

/* ---- the per-second decay in closed form ---- */

/* log2 of the phase decay divisor: second_overflow() takes time_offset >>
 * (SHIFT_PLL + time_constant) each second (ntp_offset_chunk()). */
static int
decay_shift(const ntp_kernel *k)
{
	return SHIFT_PLL + (int)k->time_constant;
}

/* time_offset after m whole seconds: x0 (1 - 2^-s)^m, rounded.  The kernel
 * truncates each second instead; its value lies in [x, x + 2^s) for x > 0
 * (each truncation keeps < 1 unit, and they decay with the same factor),
 * so the two differ by less than 2^s units (docs/kernel-pll.md). */
static int64_t
offset_after(const ntp_kernel *k, int64_t m)
{
	double per_second;

	if (m <= 0 || k->at.time_offset == 0) {
		return k->at.time_offset; /* nothing decays: no log1p, exp per read */
	}
	per_second = log1p(-ldexp(1.0, -decay_shift(k)));
	return llround((double)k->at.time_offset * exp((double)m * per_second));
}

/* adjtime(2) in second_overflow(): while |time_adjust| > MAX_TICKADJ each
 * second takes MAX_TICKADJ us, then the rest in one second. */
typedef struct adjtime_plan {
	int64_t sign;     /* of time_adjust */
	uint64_t full;    /* seconds at MAX_TICKADJ */
	int64_t rest_us;  /* us left for the last second, (0, MAX_TICKADJ] or 0 */
	int64_t full_ext; /* ns * 2^32 per tick at MAX_TICKADJ: MAX_TICKADJ_SCALED */
	int64_t rest_ext; /* ns * 2^32 per tick in the last second */
} adjtime_plan;

static adjtime_plan
plan_adjtime(const ntp_kernel *k)
{
	adjtime_plan p;
	int64_t a = k->at.time_adjust;
	uint64_t mag = a < 0 ? (uint64_t)(-(a + 1)) + 1 : (uint64_t)a;

	p.sign = a < 0 ? -1 : 1;
	p.full = mag > (uint64_t)MAX_TICKADJ ? (mag - 1) / (uint64_t)MAX_TICKADJ : 0;
	p.rest_us = (int64_t)(mag - p.full * (uint64_t)MAX_TICKADJ);
	/* MAX_TICKADJ_SCALED, and the last second's (time_adjust * NSEC_PER_USEC /
	 * NTP_INTERVAL_FREQ) << NTP_SCALE_SHIFT: C division, toward 0 */
	p.full_ext = p.sign * ((MAX_TICKADJ * NSEC_PER_USEC) << SCALE_SHIFT) / k->hz;
	p.rest_ext = shift_left(p.sign * p.rest_us * NSEC_PER_USEC / k->hz, SCALE_SHIFT);
	return p;
}

/* The adjtime(2) share per tick the j-th boundary (j >= 1) puts in its second. */
static int64_t
adjtime_share(const adjtime_plan *p, int64_t j)
{
	if ((uint64_t)j <= p->full) {
		return p->full_ext;
	}
	return (uint64_t)j == p->full + 1 ? p->rest_ext : 0;
}

/* Sum of the shares of boundaries 1..m, per tick. */
static double
adjtime_sum(const adjtime_plan *p, int64_t m)
{
	double full = (double)((uint64_t)m < p->full ? (uint64_t)m : p->full);

	return full * (double)p->full_ext + ((uint64_t)m > p->full ? (double)p->rest_ext : 0.0);
}

/* time_adjust (us) after m boundaries. */
static int64_t
adjtime_after(const ntp_kernel *k, const adjtime_plan *p, int64_t m)
{
	if ((uint64_t)m > p->full) {
		return 0;
	}
	return k->at.time_adjust - p->sign * MAX_TICKADJ * m;
}

/* ---- the model at a raw time ---- */

/* The kernel's variables at raw time t >= k->raw0 and the correction gained
 * since k->raw0. */
typedef struct kernel_at {
	ntp_kernel_second s;
	double gained_ns;
} kernel_at;

/* time_maxerror grows by MAXFREQ (500 us) a second up to NTP_PHASE_LIMIT,
 * where the clock counts as unsynchronised: n seconds of it into *a. */
static void
age_maxerror(const ntp_kernel *k, int64_t n, ntp_kernel_second *a)
{
	int64_t maxerror = k->at.time_maxerror + (MAXFREQ / NSEC_PER_USEC) * n;

	a->time_maxerror = maxerror > PHASE_LIMIT ? PHASE_LIMIT : maxerror;
	a->time_status = k->at.time_status | (maxerror > PHASE_LIMIT ? NTP_KERNEL_STA_UNSYNC : 0);
}

/* The boundaries of seconds k->at.sec + 1 .. k->at.sec + n (n >= 1), each as
 * second_overflow() runs it; *ticks_done gets the phase and adjtime shares
 * (ns * 2^32 per tick) of the n - 1 whole seconds between them. */
static void
run_boundaries(const ntp_kernel *k, int64_t n, ntp_kernel_second *a, double *ticks_done)
{
	adjtime_plan p = plan_adjtime(k);
	int64_t before = offset_after(k, n - 1);
	int64_t share = shift_right(before, decay_shift(k));

	*ticks_done = (double)(k->at.time_offset - before) + adjtime_sum(&p, n - 1);
	a->time_offset = before - share;
	a->tick_extra = share + adjtime_share(&p, n);
	a->time_adjust = adjtime_after(k, &p, n);
	age_maxerror(k, n, a);
}

/* No phase, no adjtime(2) and no share in this second: every second to
 * come is the same, only the frequency gains (most clocks, most of the
 * time: a discipline without the kernel's PLL never leaves this). */
static bool
quiet(const ntp_kernel *k)
{
	return k->at.time_offset == 0 && k->at.time_adjust == 0 && k->at.tick_extra == 0;
}

static kernel_at
model_at(const ntp_kernel *k, ntp_time t)
{
	kernel_at a;
	int64_t n = second_of(t) - k->at.sec;
	double ticks; /* ns * 2^32 per tick summed over the interval */

	a.s = k->at;
	a.s.sec = second_of(t);
	if (n > 0 && quiet(k)) {
		/* run_boundaries' result for a quiet kernel, without its work */
		age_maxerror(k, n, &a.s);
		ticks = 0.0;
	} else if (n <= 0) {
		ticks = (double)k->at.tick_extra * elapsed_ns(k->raw0, t) / 1e9;
	} else {
		double done;

		run_boundaries(k, n, &a.s, &done);
		ticks = (double)k->at.tick_extra * (double)(NSEC_PER_SEC - into_second(k->raw0)) /
		        1e9;
		ticks += done + (double)a.s.tick_extra * (double)into_second(t) / 1e9;
	}
	/* each second has HZ ticks of tick_length_base + tick_extra */
	a.gained_ns = ((double)k->freq_eff * elapsed_ns(k->raw0, t) / 1e9 + (double)k->hz * ticks) /
	              SCALE;
	return a;
}

/* Move the model to raw_now (not before its last change): the correction
 * so far becomes the anchor, the boundaries passed are done. */
static void
settle(ntp_kernel *k, ntp_time raw_now)
{
	ntp_time t = clamp_raw(raw_now) < k->raw0 ? k->raw0 : clamp_raw(raw_now);
	kernel_at a = model_at(k, t);
	double total = k->corr_frac + a.gained_ns;
	double whole = floor(total);

	whole = fmax(fmin(whole, (double)CORR_LIMIT), -(double)CORR_LIMIT);
	k->corr_ns = clamp64(ntp_time_add_sat(k->corr_ns, (int64_t)whole), -CORR_LIMIT, CORR_LIMIT);
	k->corr_frac = fmin(fmax(total - whole, 0.0), 1.0); /* [0, 1) unless saturated */
	k->raw0 = t;
	k->at = a.s;
}

/* ---- ntp_adjtime(2) ---- */

/* ntp_update_frequency(): tick_length_base = second_length / HZ, so the clock
 * gains HZ * tick_length_base - 10^9 * 2^32 a second (ntp_tick_adj is 0). */
static void
update_frequency(ntp_kernel *k)
{
	int64_t base = (SECOND_SCALED + k->time_freq) / k->hz;

	k->freq_eff = base * k->hz - SECOND_SCALED;
}

/* ntp_update_offset_fll(): offset / (secs * 2^SHIFT_FLL) once the interval
 * is at least MINSEC and either STA_FLL is set or it exceeds MAXSEC. */
static int64_t
fll_term(ntp_kernel *k, int64_t offset, int64_t secs)
{
	k->at.time_status &= ~NTP_KERNEL_STA_MODE;
	if (secs < MINSEC) {
		return 0;
	}
	if (!(k->at.time_status & NTP_KERNEL_STA_FLL) && secs <= MAXSEC) {
		return 0;
	}
	k->at.time_status |= NTP_KERNEL_STA_MODE;
	return shift_left(offset, SCALE_SHIFT - SHIFT_FLL) / secs;
}

/* The PLL term of ntp_update_offset(): (offset * secs) << (32 - 2 (SHIFT_PLL
 * + 2 + tc)), offset * secs / 2^(2 (4 + tc)) ns/s.  |offset| <= MAXPHASE <
 * 2^29 and secs <= 2^(3 + tc) when positive, so it fits; only a clock stepped
 * far back past time_reftime makes secs so negative that the kernel's s64
 * would wrap, and there we saturate (MAXFREQ clamps it right after). */
static int64_t
pll_term(const ntp_kernel *k, int64_t offset, int64_t secs)
{
	int shift = SCALE_SHIFT - 2 * (SHIFT_PLL + 2 + (int)k->time_constant);
	double approx = ldexp((double)offset * (double)secs, shift);

	if (fabs(approx) > ldexp(1.0, 62)) {
		return approx > 0 ? INT64_C(1) << 62 : -(INT64_C(1) << 62);
	}
	return shift_left(offset * secs, shift);
}

/* ntp_update_offset(): a new phase and the PLL/FLL frequency step.
 * now_sec: whole seconds of CLOCK_REALTIME (get_seconds()). */
static void
update_offset(ntp_kernel *k, int64_t offset, int64_t now_sec)
{
	int64_t secs, freq_adj;
	int64_t secs_max = INT64_C(1) << (SHIFT_PLL + 1 + k->time_constant);

	if (!(k->at.time_status & NTP_KERNEL_STA_PLL)) {
		return;
	}
	if (!(k->at.time_status & NTP_KERNEL_STA_NANO)) {
		/* us: clamped first so that the scaling cannot overflow */
		offset = clamp64(offset, -USEC_PER_SEC, USEC_PER_SEC) * NSEC_PER_USEC;
	}
	offset = clamp64(offset, -MAXPHASE, MAXPHASE);
	secs = (k->at.time_status & NTP_KERNEL_STA_FREQHOLD) ? 0 : now_sec - k->time_reftime;
	k->time_reftime = now_sec;
	freq_adj = fll_term(k, offset, secs);
	/* a long interval must not raise the PLL gain (intermittent links) */
	secs = secs > secs_max ? secs_max : secs;
	freq_adj += pll_term(k, offset, secs);
	k->time_freq = clamp64(freq_adj + k->time_freq, -MAXFREQ_SCALED, MAXFREQ_SCALED);
	k->at.time_offset = shift_left(offset, SCALE_SHIFT) / k->hz;
}

/* process_adj_status(): turning the PLL off resets the status (so STA_NANO
 * too), turning it on restarts the interval the PLL counts. */
static void
adj_status(ntp_kernel *k, int status, int64_t now_sec)
{
	if ((k->at.time_status & NTP_KERNEL_STA_PLL) && !(status & NTP_KERNEL_STA_PLL)) {
		k->at.time_status = NTP_KERNEL_STA_UNSYNC;
	}
	if (!(k->at.time_status & NTP_KERNEL_STA_PLL) && (status & NTP_KERNEL_STA_PLL)) {
		k->time_reftime = now_sec;
	}
	k->at.time_status = (k->at.time_status & STA_RONLY) | (status & ~STA_RONLY);
}

/* ADJ_TIMECONST: the microsecond API counts the constant 4 lower. */
static void
adj_timeconst(ntp_kernel *k, int64_t constant)
{
	int64_t tc = clamp64(constant, 0, MAXTC);

	if (!(k->at.time_status & NTP_KERNEL_STA_NANO)) {
		tc += 4;
	}
	k->time_constant = clamp64(tc, 0, MAXTC);
}

/* process_adjtimex_modes(), in its order; ADJ_TAI and ADJ_TICK are not
 * modelled (issue 15; NTPsec never sets the tick). */
static void
adjtimex_modes(ntp_kernel *k, const ntp_kernel_timex *tx, int64_t now_sec)
{
	unsigned m = tx->modes;

	if (m & NTP_KERNEL_ADJ_STATUS) {
		adj_status(k, tx->status, now_sec);
	}
	if (m & NTP_KERNEL_ADJ_NANO) {
		k->at.time_status |= NTP_KERNEL_STA_NANO;
	}
	if (m & NTP_KERNEL_ADJ_MICRO) {
		k->at.time_status &= ~NTP_KERNEL_STA_NANO;
	}
	if (m & NTP_KERNEL_ADJ_FREQUENCY) {
		k->time_freq = clamp64(tx->freq * PPM_SCALE, -MAXFREQ_SCALED, MAXFREQ_SCALED);
	}
	if (m & NTP_KERNEL_ADJ_MAXERROR) {
		k->at.time_maxerror = clamp64(tx->maxerror, 0, PHASE_LIMIT);
	}
	if (m & NTP_KERNEL_ADJ_ESTERROR) {
		k->time_esterror = clamp64(tx->esterror, 0, PHASE_LIMIT);
	}
	if (m & NTP_KERNEL_ADJ_TIMECONST) {
		adj_timeconst(k, tx->constant);
	}
	if (m & NTP_KERNEL_ADJ_OFFSET) {
		update_offset(k, tx->offset, now_sec);
	}
	if (m & (NTP_KERNEL_ADJ_FREQUENCY | NTP_KERNEL_ADJ_OFFSET)) {
		update_frequency(k);
	}
}

/* timekeeping_validate_timex(), the checks that do not concern privileges. */
static int
timex_valid(const ntp_kernel_timex *tx)
{
	if ((tx->modes & ADJ_ADJTIME) && !(tx->modes & NTP_KERNEL_ADJ_OFFSET)) {
		return 0; /* singleshot must not be used with any other mode bits */
	}
	if (tx->modes & NTP_KERNEL_ADJ_FREQUENCY) {
		/* time_freq = freq * PPM_SCALE must not overflow */
		return tx->freq >= INT64_MIN / PPM_SCALE && tx->freq <= INT64_MAX / PPM_SCALE;
	}
	return 1;
}

/* __do_adjtimex()'s result without leap seconds: is_error_status() without PPS. */
static int
time_state(int status)
{
	return (status & (NTP_KERNEL_STA_UNSYNC | STA_CLOCKERR)) ? NTP_KERNEL_TIME_ERROR
	                                                         : NTP_KERNEL_TIME_OK;
}

/* ---- public ---- */

void
ntp_kernel_init(ntp_kernel *k, ntp_time raw_now, int hz)
{
	ntp_kernel z = {0};

	*k = z;
	k->hz = (hz >= 1 && hz <= HZ_MAX) ? hz : NTP_KERNEL_HZ_DEFAULT;
	k->time_constant = TIME_CONSTANT_BOOT;
	k->at.time_status = NTP_KERNEL_STA_UNSYNC;
	k->at.time_maxerror = PHASE_LIMIT;
	k->time_esterror = PHASE_LIMIT;
	k->raw0 = clamp_raw(raw_now);
	k->at.sec = second_of(k->raw0);
	update_frequency(k);
}

int
ntp_kernel_adjtime(ntp_kernel *k, ntp_time raw_now, const ntp_kernel_timex *tx)
{
	/* the seconds the PLL counts: the kernel's own reading then */
	ntp_time t = clamp_raw(raw_now) < k->raw0 ? k->raw0 : clamp_raw(raw_now);

	return ntp_kernel_adjtime_sec(k, t, second_of(ntp_kernel_read(k, t)), tx);
}

int
ntp_kernel_adjtime_sec(ntp_kernel *k, ntp_time raw_now, int64_t now_sec, const ntp_kernel_timex *tx)
{
	if (tx == NULL || !timex_valid(tx)) {
		return NTP_KERNEL_EINVAL;
	}
	settle(k, raw_now);
	if (tx->modes & ADJ_ADJTIME) {
		/* adjtime(2) is independent of the PLL: only time_adjust */
		if (!(tx->modes & ADJ_OFFSET_READONLY)) {
			k->at.time_adjust = tx->offset;
		}
	} else {
		adjtimex_modes(k, tx, now_sec);
	}
	return time_state(k->at.time_status);
}

int64_t
ntp_kernel_second_of(ntp_time t)
{
	return second_of(t);
}

int
ntp_kernel_query(const ntp_kernel *k, ntp_time raw, ntp_kernel_timex *out)
{
	ntp_time t = clamp_raw(raw) < k->raw0 ? k->raw0 : clamp_raw(raw);
	kernel_at a = model_at(k, t);
	ntp_kernel_timex z = {0};

	*out = z;
	out->offset = shift_right(a.s.time_offset * k->hz, SCALE_SHIFT);
	if (!(a.s.time_status & NTP_KERNEL_STA_NANO)) {
		out->offset /= NSEC_PER_USEC;
	}
	out->freq = shift_right(shift_floor(k->time_freq, PPM_SCALE_INV_SHIFT) * PPM_SCALE_INV,
	                        SCALE_SHIFT);
	out->maxerror = a.s.time_maxerror;
	out->esterror = k->time_esterror;
	out->status = a.s.time_status;
	out->constant = k->time_constant;
	return time_state(a.s.time_status);
}

double
ntp_kernel_correction(const ntp_kernel *k, ntp_time raw)
{
	ntp_time t = clamp_raw(raw);
	double gained;

	if (t < k->raw0) {
		gained = -(double)k->freq_eff * elapsed_ns(t, k->raw0) / 1e9 / SCALE;
	} else {
		gained = model_at(k, t).gained_ns;
	}
	return ((double)k->corr_ns + (k->corr_frac + gained)) / 1e9;
}

ntp_time
ntp_kernel_read(const ntp_kernel *k, ntp_time raw)
{
	ntp_time t = clamp_raw(raw);
	double part;

	if (t < k->raw0) {
		part = k->corr_frac - (double)k->freq_eff * elapsed_ns(t, k->raw0) / 1e9 / SCALE;
	} else {
		part = k->corr_frac + model_at(k, t).gained_ns;
	}
	part = fmax(fmin(part, (double)CORR_LIMIT), -(double)CORR_LIMIT);
	return ntp_time_add_sat(t, ntp_time_add_sat(k->corr_ns, llround(part)));
}

void
ntp_kernel_step(ntp_kernel *k, ntp_time raw_now, double offset)
{
	double ns = isfinite(offset) ? offset * 1e9 : 0.0;

	settle(k, raw_now);
	ns = fmax(fmin(ns, (double)CORR_LIMIT), -(double)CORR_LIMIT);
	k->corr_ns = clamp64(ntp_time_add_sat(k->corr_ns, llround(ns)), -CORR_LIMIT, CORR_LIMIT);
	/* __ntp_clear() */
	k->at.time_adjust = 0;
	k->at.time_status |= NTP_KERNEL_STA_UNSYNC;
	k->at.time_maxerror = PHASE_LIMIT;
	k->time_esterror = PHASE_LIMIT;
	k->at.tick_extra = 0;
	k->at.time_offset = 0;
}

void
ntp_kernel_shift_raw(ntp_kernel *k, ntp_time raw_before, ntp_time d)
{
	settle(k, raw_before);
	k->raw0 = clamp_raw(ntp_time_add_sat(k->raw0, d));
	k->at.sec = second_of(k->raw0);
}

double
ntp_kernel_freq(const ntp_kernel *k)
{
	ntp_kernel_timex tx;

	ntp_kernel_query(k, k->raw0, &tx);
	return (double)tx.freq / 65536e6; /* NTPsec FREQTOD(): scaled ppm to s/s */
}

double
ntp_kernel_offset_left(const ntp_kernel *k, ntp_time raw)
{
	ntp_kernel_timex tx;

	ntp_kernel_query(k, raw, &tx);
	return (tx.status & NTP_KERNEL_STA_NANO) ? (double)tx.offset * 1e-9
	                                         : (double)tx.offset * 1e-6;
}

int64_t
ntp_kernel_adjtime_left(const ntp_kernel *k, ntp_time raw)
{
	ntp_time t = clamp_raw(raw) < k->raw0 ? k->raw0 : clamp_raw(raw);

	return model_at(k, t).s.time_adjust;
}
