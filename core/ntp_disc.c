/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The clock discipline, RFC 5905 §11.3 / App. A.5.5.6 local_clock(), as
 * ntpd runs it without kernel support (NTPsec ntpd/ntp_loopfilter.c, which
 * is ntp-4.2.8's file with the kernel parts moved around).
 *
 * State machine (ntpd's table; mu = time since the last rstclock()):
 *
 *   state   |offset| <= step              |offset| > step
 *   NSET    slew (adjtime), FREQ          step, FREQ
 *   FSET    PLL, SYNC                     step, SYNC
 *   FREQ    mu < stepout: ignore          mu < stepout: ignore
 *           else freq = offset/mu, SYNC   else freq = offset/mu, step, SYNC
 *   SYNC    PLL/FLL, SYNC                 SPIK, ignore
 *   SPIK    PLL/FLL, SYNC                 mu < stepout: ignore; else step, SYNC
 *
 * So a big offset at startup (NSET or FSET) is stepped at once -- ntpd
 * does not make a freshly started host wait a stepout for its first clock
 * set -- while in SYNC a big offset must persist for the stepout interval,
 * counted from the last good update, before it is stepped.
 *
 * Differences from RFC 5905 App. A, all following ntpd:
 *  - AVG (jitter/wander averaging) is 8 (ntpd CLOCK_AVG), not the RFC's 4;
 *  - a step does not reset the poll to MINPOLL (ntpd keeps sys_poll);
 *  - the FREQ-state measurement is offset/mu (ntpd direct_freq()), not
 *    (offset - clock_offset)/mu: the first slew has already been done;
 *  - the startup clamp (ntpd freq_cnt, CLOCK_FLOOR): for the first stepout
 *    seconds in SYNC the phase time constant is 2^1 and neither frequency
 *    nor poll is adjusted, unless an offset under 0.5 ms ends it early;
 *  - -g (allow_panic) stays open until the first in-threshold update is
 *    taken by the PLL (NTPsec; ntp-4.2.8 closes it after the first update).
 * Differences from NTPsec, with reasons:
 *  - the jitter sample is floored at the precision (RFC 5905 and ntp-4.2.8
 *    do this; NTPsec dropped it), so noiseless simulated offsets do not
 *    drive the jitter to 0 and the poll to minpoll;
 *  - the FLL gain multiplies by CLOCK_FLL (RFC 5905, ntp-4.2.8); NTPsec's
 *    parenthesisation divides by it, a gain of 4 that overshoots;
 *  - in SPIK the caller's phase slew keeps running (ntpd pauses it): an
 *    IGNORE result carries no action, and the next inlier replaces the
 *    phase anyway;
 *  - mu is not truncated to whole seconds;
 *  - in kernel mode the daemon's startup-clamp slew runs until the update
 *    that ends the clamp, where ntpd stops it on the second freq_cnt runs
 *    out (at most one poll interval later here).
 *
 * Kernel mode (ntpd on Linux) differs only where ntpd's code says
 * pll_control && kern_enable: set_freq() goes to the kernel, the daemon's
 * slews carry no frequency, and once freq_cnt is 0 each update is an
 * ntp_adjtime() whose read-back sets clock_offset and the frequency.
 */
#include "ntp_disc.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ntp_const.h"
#include "ntp_pkt.h"

#define STARTUP_POLL 1   /* log2 s, time constant poll in the startup clamp (ntpd) */
#define ADJTIME_TAU  0.0 /* s, "no time constant": adjtime(2) slews at a constant rate */
/* The bits local_clock() hands the kernel (NTPsec MOD_BITS). */
#define MOD_BITS                                                                                   \
	(NTP_KERNEL_ADJ_OFFSET | NTP_KERNEL_ADJ_MAXERROR | NTP_KERNEL_ADJ_ESTERROR |               \
	 NTP_KERNEL_ADJ_STATUS | NTP_KERNEL_ADJ_TIMECONST)

static double
clampd(double x, double lo, double hi)
{
	return x < lo ? lo : (x > hi ? hi : x);
}

/* Seconds from a to b on the monotonic clock, 0 if it ran backwards. */
static double
seconds_since(ntp_time from, ntp_time to)
{
	if (to <= from) {
		return 0.0;
	}
	if (from < 0 && to > INT64_MAX + from) {
		return (double)INT64_MAX / 1e9;
	}
	return (double)(to - from) / 1e9;
}

void
ntp_disc_params_default(ntp_disc_params *p)
{
	memset(p, 0, sizeof(*p));
	p->step = NTP_STEPT;
	p->stepout = NTP_STEPOUT;
	p->panic = NTP_PANICT;
	p->minpoll = NTP_MINDPOLL;
	p->maxpoll = NTP_MAXDPOLL;
	p->precision = NTP_DISC_PRECISION_DEFAULT;
	p->step_back = -1.0;
	p->g = (ntp_disc_gains){
	        .pll = NTP_DISC_CLOCK_PLL,
	        .fll = NTP_DISC_CLOCK_FLL,
	        .avg = NTP_DISC_CLOCK_AVG,
	        .floor = NTP_DISC_CLOCK_FLOOR,
	        .pgate = NTP_DISC_CLOCK_PGATE,
	        .allan = NTP_DISC_CLOCK_ALLAN,
	        .limit = NTP_DISC_CLOCK_LIMIT,
	};
}

static double
threshold_or_default(double v, double dflt)
{
	return (isfinite(v) && v >= 0.0) ? v : dflt;
}

static int8_t
clamp_poll_bound(int8_t v)
{
	if (v < NTP_MINPOLL) {
		return NTP_MINPOLL;
	}
	return v > NTP_MAXPOLL ? NTP_MAXPOLL : v;
}

static double
positive_or_default(double v, double dflt)
{
	return (isfinite(v) && v > 0.0) ? v : dflt;
}

static void
repair_gains(ntp_disc_gains *g)
{
	g->pll = positive_or_default(g->pll, NTP_DISC_CLOCK_PLL);
	g->fll = positive_or_default(g->fll, NTP_DISC_CLOCK_FLL);
	g->avg = g->avg >= 1.0 && isfinite(g->avg) ? g->avg : NTP_DISC_CLOCK_AVG;
	g->floor = threshold_or_default(g->floor, NTP_DISC_CLOCK_FLOOR);
	g->pgate = threshold_or_default(g->pgate, NTP_DISC_CLOCK_PGATE);
	g->allan = g->allan < 0 || g->allan > 62 ? NTP_DISC_CLOCK_ALLAN : g->allan;
	g->limit = g->limit < 1 ? NTP_DISC_CLOCK_LIMIT : g->limit;
}

/* ntpd loop_config(LOOP_MAX...): "the kernel discipline is used only if
 * the step threshold is less than 0.5 s", and not at all when steps are
 * off. */
static bool
kernel_allowed(const ntp_disc_params *p)
{
	return p->step > 0.0 && p->step <= NTP_DISC_KERNEL_STEP_MAX && p->step_back > 0.0 &&
	       p->step_back <= NTP_DISC_KERNEL_STEP_MAX;
}

static void
repair_params(ntp_disc_params *p)
{
	p->step = threshold_or_default(p->step, NTP_STEPT);
	p->step_back = (isfinite(p->step_back) && p->step_back >= 0.0) ? p->step_back : p->step;
	repair_gains(&p->g);
	p->kernel = p->kernel && kernel_allowed(p);
	p->stepout = threshold_or_default(p->stepout, NTP_STEPOUT);
	p->panic = threshold_or_default(p->panic, NTP_PANICT);
	if (!(isfinite(p->precision) && p->precision > 0.0)) {
		p->precision = NTP_DISC_PRECISION_DEFAULT;
	}
	p->minpoll = clamp_poll_bound(p->minpoll);
	p->maxpoll = clamp_poll_bound(p->maxpoll);
	if (p->minpoll > p->maxpoll) {
		int8_t t = p->minpoll;

		p->minpoll = p->maxpoll;
		p->maxpoll = t;
	}
}

/* RFC 5905 App. A.5.5.7 rstclock(): enter a state, take the offset as the
 * new clock offset, restart the interval. */
static void
rstclock(ntp_disc *d, int state, double offset, ntp_time mono)
{
	d->state = state;
	d->clock_offset = offset;
	d->last_offset = offset;
	d->t_epoch = mono;
}

size_t
ntp_disc_huff_slots(double huffpuff)
{
	double slots;

	if (!(huffpuff > 0.0)) {
		return 0;
	}
	/* ntpd loop_config(LOOP_HUFFPUFF): at least one slot */
	slots = fmax(huffpuff, NTP_DISC_HUFFPUFF) / NTP_DISC_HUFFPUFF;
	return slots >= NTP_DISC_HUFF_SLOTS ? NTP_DISC_HUFF_SLOTS : (size_t)slots;
}

void
ntp_disc_init(ntp_disc *d, const ntp_disc_params *p, ntp_time mono)
{
	memset(d, 0, sizeof(*d));
	if (p != NULL) {
		d->p = *p;
	} else {
		ntp_disc_params_default(&d->p);
	}
	repair_params(&d->p);
	d->poll = d->p.minpoll;
	d->clk_jitter = d->p.precision;
	/* ntpd init_loopfilter(): the startup clamp lasts one stepout. */
	d->freq_cnt = d->p.stepout;
	d->allow_panic = d->p.allow_big_first_step;
	/* ntpd loop_config(LOOP_DRIFTINIT): clamp, not reject, the file value. */
	if (d->p.have_drift && isfinite(d->p.drift_ppm)) {
		d->freq = clampd(d->p.drift_ppm * 1e-6, -NTP_MAXFREQ, NTP_MAXFREQ);
		rstclock(d, NTP_DISC_FSET, 0.0, mono);
	} else {
		rstclock(d, NTP_DISC_NSET, 0.0, mono);
	}
	d->t_last = mono;
	ntp_slew_init(&d->resid, mono, 0.0);
	ntp_kernel_init(&d->kern, mono, NTP_KERNEL_HZ_DEFAULT);
	if (d->p.huff_store != NULL) {
		d->huff = d->p.huff_store;
		d->hufflen = (int)ntp_disc_huff_slots(d->p.huffpuff);
	}
	for (int i = 0; i < d->hufflen; i++) {
		d->huff[i] = 1e9;
	}
	d->mindly = 1e9;
	d->t_start = mono;
}

/* ntpd huffpuff(), every HUFFPUFF s from the start (its timer's first call
 * included), done lazily: the rotations due by mono. */
static void
huff_rotate(ntp_disc *d, ntp_time mono)
{
	int64_t due = (int64_t)(seconds_since(d->t_start, mono) / NTP_DISC_HUFFPUFF) + 1;
	int64_t k = due - d->huff_turns;

	if (k <= 0) {
		return;
	}
	d->huff_turns = due;
	for (int64_t i = 0; i < (k < d->hufflen ? k : d->hufflen); i++) {
		d->huff[(d->huffptr + 1 + i) % d->hufflen] = 1e9;
	}
	d->huffptr = (int)((d->huffptr + k) % d->hufflen);
	d->mindly = 1e9;
	for (int i = 0; i < d->hufflen; i++) {
		d->mindly = fmin(d->mindly, d->huff[i]);
	}
}

/* The huff-n'-puff filter (local_clock()): take half the delay over the
 * window's lowest off the offset, toward zero -- the path is assumed
 * symmetric at its lowest delay and the excess all on one side. */
static double
huff_n_puff(ntp_disc *d, double offset, double delay, ntp_time mono)
{
	if (d->hufflen == 0 || !isfinite(delay)) {
		return offset;
	}
	huff_rotate(d, mono);
	d->huff[d->huffptr] = fmin(d->huff[d->huffptr], delay);
	d->mindly = fmin(d->mindly, delay);
	return offset + (offset > 0 ? -(delay - d->mindly) / 2 : (delay - d->mindly) / 2);
}

/* NTPsec DTOFREQ(): s/s to the kernel's scaled ppm, truncated. */
static int64_t
dtofreq(double freq)
{
	return (int32_t)(freq * 65536e6);
}

bool
ntp_disc_start(ntp_disc *d, ntp_now now, ntp_kernel_timex *tx)
{
	memset(tx, 0, sizeof *tx);
	if (!d->p.kernel || d->p.disabled) {
		return false;
	}
	/* start_kern_loop() */
	tx->modes = MOD_BITS;
	tx->status = NTP_KERNEL_STA_PLL | NTP_KERNEL_STA_UNSYNC;
	tx->maxerror = (int64_t)(NTP_MAXDISPERSE * 1e6);
	tx->esterror = (int64_t)(NTP_MAXDISPERSE * 1e6);
	/* NTPsec 1.2.2 passes sys_poll as is; without STA_NANO the kernel
	 * adds 4 (later NTPsec subtracts the 4 first) */
	tx->constant = d->poll;
	/* set_freq(drift_comp) */
	tx->modes |= NTP_KERNEL_ADJ_FREQUENCY;
	tx->freq = dtofreq(d->freq);
	ntp_kernel_adjtime_sec(&d->kern, now.mono, ntp_kernel_second_of(now.local), tx);
	return true;
}

/* ntpd adj_host_clock() counts freq_cnt down once a second, in SYNC only. */
static void
age_startup_clamp(ntp_disc *d, ntp_time mono)
{
	if (d->state == NTP_DISC_SYNC && d->freq_cnt > 0.0) {
		d->freq_cnt = fmax(0.0, d->freq_cnt - seconds_since(d->t_last, mono));
	}
}

/* Forward and back thresholds apart, as ntpd's clock_max_fwd/back. */
static bool
over_step(const ntp_disc *d, double offset)
{
	return (offset > d->p.step && d->p.step > 0.0) ||
	       (-offset > d->p.step_back && d->p.step_back > 0.0);
}

/* Phase time constant the clock uses after this update (adj_host_clock()). */
static double
phase_tau(const ntp_disc *d)
{
	int poll = d->freq_cnt > 0.0 ? STARTUP_POLL : d->poll;

	return d->p.g.pll * ldexp(1.0, poll);
}

/* Exponentially averaged RMS of offset differences, floored at the
 * precision (RFC 5905 App. A.5.5.6). */
static void
update_jitter(ntp_disc *d, double offset)
{
	double old2 = d->clk_jitter * d->clk_jitter;
	double diff = fmax(fabs(offset - d->last_offset), d->p.precision);

	d->clk_jitter = sqrt(old2 + (diff * diff - old2) / d->p.g.avg);
}

/* ntpd direct_freq(): the first offset was slewed out (or stepped) at the
 * start of the interval with zero frequency, so what has built up since is
 * all frequency error.  set_freq() hands it to the kernel in kernel mode. */
static double
direct_freq(ntp_disc *d, double offset, double mu, ntp_disc_out *out)
{
	if (mu > 0.0) {
		d->freq = offset / mu;
	}
	if (d->p.kernel) {
		out->ktx.modes |= NTP_KERNEL_ADJ_FREQUENCY;
		out->ktx.freq = dtofreq(d->freq);
	}
	out->freq_measured = true;
	return d->freq;
}

/* Hybrid loop (RFC 5905 §11.3): PLL always, its gain falling as mu passes
 * the Allan intercept; FLL only when the poll is at or above it. */
static double
pll_fll_adjust(const ntp_disc *d, double offset, double mu, double phase_left)
{
	const ntp_disc_gains *g = &d->p.g;
	double adj = 0.0;
	double pll_interval = 4.0 * g->pll * ldexp(1.0, d->poll);

	if (d->poll >= g->allan) {
		adj += (offset - phase_left) / fmax(ldexp(1.0, d->poll), mu) * g->fll;
	}
	adj += offset * fmin(ldexp(1.0, g->allan), mu) / (pll_interval * pll_interval);
	return adj;
}

/* Clamp to +-500 ppm and fold the change into the wander estimate. */
static void
set_frequency(ntp_disc *d, double clock_frequency)
{
	double delta = clock_frequency - d->freq;
	double old2 = d->clk_wander * d->clk_wander;

	d->freq = clampd(clock_frequency, -NTP_MAXFREQ, NTP_MAXFREQ);
	d->clk_wander = sqrt(old2 + (delta * delta - old2) / d->p.g.avg);
}

/* ntpd's poll "jiggle": small offsets (against the jitter) push tc_counter
 * up by poll, large ones down by 2 x poll; at +-CLOCK_LIMIT the poll moves
 * one step within minpoll..maxpoll.  Frozen during the startup clamp. */
static void
adapt_poll(ntp_disc *d)
{
	if (d->freq_cnt > 0.0) {
		d->tc_counter = 0;
		return;
	}
	if (fabs(d->clock_offset) < d->p.g.pgate * d->clk_jitter) {
		d->tc_counter += d->poll;
		if (d->tc_counter > d->p.g.limit) {
			d->tc_counter = d->p.g.limit;
			if (d->poll < d->p.maxpoll) {
				d->tc_counter = 0;
				d->poll++;
			}
		}
	} else {
		d->tc_counter -= d->poll * 2;
		if (d->tc_counter < -d->p.g.limit) {
			d->tc_counter = -d->p.g.limit;
			if (d->poll > d->p.minpoll) {
				d->tc_counter = 0;
				d->poll--;
			}
		}
	}
}

static void
do_step(ntp_disc *d, double offset, double mu, ntp_time mono, ntp_disc_out *out)
{
	out->result = NTP_DISC_STEP;
	out->step = offset;
	d->steps++;
	if (d->p.kernel) {
		/* step_systime(): Linux's ntp_clear() */
		ntp_kernel_step(&d->kern, mono, 0.0);
	}
	d->tc_counter = 0;
	d->clk_jitter = d->p.precision;
	if (d->state == NTP_DISC_SPIK || d->state == NTP_DISC_FREQ) {
		snprintf(out->reason, sizeof(out->reason),
		         "step %+.6f s > step threshold %.3f s for %.0f s (stepout %.0f s)", offset,
		         d->p.step, mu, d->p.stepout);
	} else {
		snprintf(out->reason, sizeof(out->reason), "step %+.6f s > step threshold %.3f s",
		         offset, d->p.step);
	}
}

/* |offset| > step.  Returns true when the update goes on to the frequency
 * and poll bookkeeping (ntpd falls out of its switch), false when ntpd
 * returns early. */
static bool
take_outlier(ntp_disc *d, double offset, double mu, ntp_time mono, double *clock_frequency,
             ntp_disc_out *out)
{
	if (d->state == NTP_DISC_SYNC) {
		d->state = NTP_DISC_SPIK;
		d->t_spike = mono;
		snprintf(out->reason, sizeof(out->reason),
		         "spike: %+.3f s over threshold %.3f s, waiting %.0f s stepout", offset,
		         d->p.step, d->p.stepout);
		return false;
	}
	if (d->state == NTP_DISC_FREQ || d->state == NTP_DISC_SPIK) {
		if (mu < d->p.stepout) {
			snprintf(
			        out->reason, sizeof(out->reason),
			        "%s: %+.3f s over threshold %.3f s ignored, %.0f of %.0f s stepout",
			        d->state == NTP_DISC_SPIK ? "spike" : "freq", offset, d->p.step, mu,
			        d->p.stepout);
			return false;
		}
		if (d->state == NTP_DISC_FREQ) {
			*clock_frequency = direct_freq(d, offset, mu, out);
		}
	}
	do_step(d, offset, mu, mono, out);
	if (d->state == NTP_DISC_NSET) {
		/* Frequency unknown: measure it over the next stepout. */
		rstclock(d, NTP_DISC_FREQ, 0.0, mono);
		return false;
	}
	rstclock(d, NTP_DISC_SYNC, 0.0, mono);
	return true;
}

/* |offset| <= step (or steps disabled). */
static bool
take_inlier(ntp_disc *d, double offset, double mu, double phase_left, ntp_time mono,
            double *clock_frequency, ntp_disc_out *out)
{
	update_jitter(d, offset);
	if (d->state == NTP_DISC_NSET) {
		/* ntpd hands the first offset to adjtime(2) whole and
		 * measures the frequency over the next stepout. */
		rstclock(d, NTP_DISC_FREQ, offset, mono);
		out->result = NTP_DISC_SLEW;
		out->adj_offset = offset;
		snprintf(out->reason, sizeof(out->reason),
		         "first update: slew %+.6f s, measuring frequency for %.0f s", offset,
		         d->p.stepout);
		return true;
	}
	if (d->state == NTP_DISC_FREQ) {
		if (mu < d->p.stepout) {
			snprintf(out->reason, sizeof(out->reason),
			         "freq: measuring frequency, %.0f of %.0f s", mu, d->p.stepout);
			return false;
		}
		*clock_frequency = direct_freq(d, offset, mu, out);
	}
	d->allow_panic = false;
	if (d->freq_cnt <= 0.0) {
		*clock_frequency += pll_fll_adjust(d, offset, mu, phase_left);
	}
	rstclock(d, NTP_DISC_SYNC, offset, mono);
	if (fabs(offset) < d->p.g.floor) {
		d->freq_cnt = 0.0;
	}
	out->result = NTP_DISC_SLEW;
	out->adj_offset = offset;
	return true;
}

static void
begin_out(const ntp_disc *d, ntp_disc_out *out)
{
	memset(out, 0, sizeof(*out));
	out->result = NTP_DISC_IGNORE;
	out->adj_freq = d->freq;
	out->adj_tau = phase_tau(d);
	out->old_state = d->state;
	out->new_state = d->state;
	out->poll = d->poll;
}

/* The kernel part of local_clock() (pll_control && kern_enable &&
 * freq_cnt == 0): the offset for the kernel's PLL, as ntpd fills struct
 * timex. */
static void
kernel_pll_bits(ntp_disc *d, const ntp_disc_in *in, ntp_disc_out *out)
{
	ntp_kernel_timex *tx = &out->ktx;

	tx->modes |= MOD_BITS | NTP_KERNEL_ADJ_NANO;
	tx->offset = (int64_t)(d->clock_offset * 1e9 + (d->clock_offset < 0 ? -0.5 : 0.5));
	if (!(d->kern.at.time_status & NTP_KERNEL_STA_NANO)) {
		/* NTPsec 1.2.2 ntp_adjtime_ns() decides the offset's unit from
		 * the status the last call returned, before this call turns
		 * STA_NANO on: on a kernel not yet in ns mode the first PLL
		 * update goes in us and the kernel reads it as ns, a 1000x
		 * smaller phase (seen in NTPsec's calls under clknetsim; fixed
		 * after 1.2.2 by commit a610310d2). */
		tx->offset /= 1000;
	}
	tx->constant = d->poll;
	tx->esterror = (int64_t)(d->clk_jitter * 1e6);
	tx->maxerror = (int64_t)((in->rootdelay / 2 + in->rootdisp) * 1e6);
	tx->status = NTP_KERNEL_STA_PLL;
	if (in->leap == NTP_LEAP_ADD) {
		tx->status |= NTP_KERNEL_STA_INS;
	} else if (in->leap == NTP_LEAP_DEL) {
		tx->status |= NTP_KERNEL_STA_DEL;
	}
}

/* Make this update's ntp_adjtime() call (set_freq() and/or the PLL bits)
 * on the copy, as the clock will: at mono, the PLL counting seconds of
 * the local clock after any step of this update. */
static void
kernel_call(ntp_disc *d, const ntp_disc_in *in, const ntp_disc_out *out)
{
	ntp_time local = in->now.local;

	if (out->ktx.modes == 0) {
		return;
	}
	if (out->result == NTP_DISC_STEP) {
		local = ntp_time_add_sat(local, ntp_time_from_s(out->step));
	}
	ntp_kernel_adjtime_sec(&d->kern, in->now.mono, ntp_kernel_second_of(local), &out->ktx);
}

/* What ntpd reads back after the PLL call: clock_offset = ntv.offset *
 * S_PER_NS and clock_frequency = FREQTOD(ntv.freq). */
static void
kernel_read_back(ntp_disc *d, ntp_time mono, double *clock_frequency)
{
	d->clock_offset = ntp_kernel_offset_left(&d->kern, mono);
	*clock_frequency = ntp_kernel_freq(&d->kern);
	d->kern_engaged = true;
}

void
ntp_disc_note_format(const ntp_disc_note *n, char *buf, size_t size)
{
	const char *measured = n->measured ? " (measured in FREQ)" : "";

	if (size == 0) {
		return;
	}
	buf[0] = '\0';
	if (n->kind == NTP_DISC_NOTE_KERNEL) {
		snprintf(buf, size, "kernel PLL %+.6f s, tc %d, freq %+.3f ppm%s", n->offset,
		         (int)n->tc, n->freq * 1e6, measured);
	} else if (n->kind == NTP_DISC_NOTE_SLEW) {
		snprintf(buf, size, "slew %+.6f s, tc %.0f s, freq %+.3f ppm%s", n->offset, n->tau,
		         n->freq * 1e6, measured);
	}
}

const char *
ntp_disc_note_flush(ntp_disc_note *n, char *reason, size_t size)
{
	if (n->kind != NTP_DISC_NOTE_NONE) {
		ntp_disc_note_format(n, reason, size);
		n->kind = NTP_DISC_NOTE_NONE;
	}
	return reason;
}

const char *
ntp_disc_reason(ntp_disc_out *out)
{
	return ntp_disc_note_flush(&out->note, out->reason, sizeof out->reason);
}

static void
finish_out(ntp_disc *d, ntp_disc_out *out, int8_t old_poll, ntp_time mono)
{
	bool first_slew = out->result == NTP_DISC_SLEW && out->old_state == NTP_DISC_NSET;

	out->new_state = d->state;
	out->poll = d->poll;
	out->poll_changed = d->poll != old_poll;
	out->adj_freq = d->freq;
	out->adj_tau = first_slew ? ADJTIME_TAU : phase_tau(d);
	if (out->ktx.modes & NTP_KERNEL_ADJ_OFFSET) {
		/* adj_host_clock() slews nothing more: the kernel has the phase */
		out->adj_offset = 0.0;
	}
	if (d->p.kernel && d->state == NTP_DISC_SYNC && d->freq_cnt > 0.0) {
		out->adj_for = d->freq_cnt;
	}
	if (out->result == NTP_DISC_SLEW) {
		ntp_slew_adjust(&d->resid, mono, out->adj_offset, 0.0, out->adj_tau);
		d->resid.slew_for = out->adj_for;
		if (out->reason[0] == '\0') {
			/* numbers now, text when asked (ntp_disc_reason) */
			bool kernel = (out->ktx.modes & NTP_KERNEL_ADJ_OFFSET) != 0;

			out->note = (ntp_disc_note){
			        .kind = kernel ? NTP_DISC_NOTE_KERNEL : NTP_DISC_NOTE_SLEW,
			        .measured = out->freq_measured,
			        .tc = d->poll,
			        .offset = kernel ? d->clock_offset : out->adj_offset,
			        .tau = out->adj_tau,
			        .freq = d->freq,
			};
		}
	} else if (out->result == NTP_DISC_STEP) {
		ntp_slew_adjust(&d->resid, mono, 0.0, 0.0, out->adj_tau);
	}
}

/* What is left of the last offset for the FLL (ntpd's clock_offset at the
 * time of the update): the daemon's slew decays it; the kernel's read-back
 * stays as it was read. */
static double
offset_left(const ntp_disc *d, ntp_time mono)
{
	return d->kern_engaged ? d->clock_offset : ntp_slew_phase_left(&d->resid, mono);
}

int
ntp_disc_update(ntp_disc *d, const ntp_disc_in *in, ntp_disc_out *out)
{
	double offset = in->offset;
	ntp_time mono = in->now.mono;

	begin_out(d, out);
	out->kernel_mode = d->p.kernel;
	if (!isfinite(offset)) {
		snprintf(out->reason, sizeof(out->reason), "bad offset: not a finite number");
		return out->result;
	}
	if (isfinite(in->sys_jitter) && in->sys_jitter >= 0.0) {
		d->sys_jitter = in->sys_jitter;
	}
	d->updates++;
	age_startup_clamp(d, mono);
	d->t_last = mono;
	if (d->p.disabled) {
		/* ntpd records the open-loop offset and goes home. */
		d->clock_offset = offset;
		out->loopstats = true;
		snprintf(out->reason, sizeof(out->reason),
		         "discipline disabled: offset %+.6f s not applied", offset);
		return out->result;
	}
	if (d->p.panic > 0.0 && fabs(offset) > d->p.panic && !d->allow_panic) {
		out->result = NTP_DISC_PANIC;
		snprintf(out->reason, sizeof(out->reason),
		         "panic: offset %+.0f s > %.0f s: set clock manually", offset, d->p.panic);
		return out->result;
	}

	offset = huff_n_puff(d, offset, in->delay, mono);

	int8_t old_poll = d->poll;
	double mu = seconds_since(d->t_epoch, mono);
	double phase_left = offset_left(d, mono);
	double clock_frequency = d->freq;
	bool bookkeeping;

	if (d->poll < d->p.minpoll) {
		d->poll = d->p.minpoll;
	}
	if (d->poll > d->p.maxpoll) {
		d->poll = d->p.maxpoll;
	}
	if (over_step(d, offset)) {
		bookkeeping = take_outlier(d, offset, mu, mono, &clock_frequency, out);
	} else {
		bookkeeping = take_inlier(d, offset, mu, phase_left, mono, &clock_frequency, out);
	}
	bool pll = bookkeeping && d->p.kernel && d->freq_cnt <= 0.0;

	if (pll) {
		kernel_pll_bits(d, in, out);
	}
	kernel_call(d, in, out);
	if (pll) {
		kernel_read_back(d, mono, &clock_frequency);
	}
	if (bookkeeping) {
		set_frequency(d, clock_frequency);
		adapt_poll(d);
		out->loopstats = true;
	}
	finish_out(d, out, old_poll, mono);
	return out->result;
}

int
ntp_disc_local_clock(ntp_disc *d, double offset, double sys_jitter, ntp_time mono,
                     ntp_disc_out *out)
{
	ntp_disc_in in = {
	        .offset = offset,
	        .sys_jitter = sys_jitter,
	        .now = {.mono = mono, .local = mono},
	        .delay = NAN,
	};

	return ntp_disc_update(d, &in, out);
}

int8_t
ntp_disc_poll(const ntp_disc *d)
{
	return d->poll;
}

double
ntp_disc_freq_ppm(const ntp_disc *d)
{
	return d->freq * 1e6;
}

size_t
ntp_disc_loopstats(const ntp_disc *d, ntp_time local, char *buf, size_t size)
{
	const int64_t ns_per_day = INT64_C(86400) * NTP_NS_PER_S;
	int64_t sod_ns = local % ns_per_day;
	long mjd;
	double sod;
	long ms;
	int n;

	ntp_time_mjd(local, &mjd, &sod);
	/* Milliseconds from the integer time, truncated (never "86400.000"). */
	if (sod_ns < 0) {
		sod_ns += ns_per_day;
	}
	ms = (long)(sod_ns / INT64_C(1000000));
	n = snprintf(buf, size, "%ld %ld.%03ld %.9f %.6f %.9f %.6f %d", mjd, ms / 1000, ms % 1000,
	             d->clock_offset, d->freq * 1e6, d->clk_jitter, d->clk_wander * 1e6,
	             (int)d->poll);
	return n < 0 ? 0 : (size_t)n;
}

const char *
ntp_disc_state_name(int state)
{
	switch (state) {
	case NTP_DISC_NSET:
		return "NSET";
	case NTP_DISC_FSET:
		return "FSET";
	case NTP_DISC_SPIK:
		return "SPIK";
	case NTP_DISC_FREQ:
		return "FREQ";
	case NTP_DISC_SYNC:
		return "SYNC";
	default:
		return "?";
	}
}
