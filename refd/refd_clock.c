/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refd's clock drivers (refd_clock.h).  The virtual driver is arithmetic
 * only; the system driver is the one place in ntplab that may call
 * clock_adjtime(2), and it is reached only through an explicit opt-in.
 */
#define _GNU_SOURCE /* clock_adjtime, struct timex ADJ_* */

#include "refd_clock.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/timex.h>
#include <time.h>

#define PRECISION_READS   64      /* successive differing readings ntpd-style */
#define PRECISION_FLOOR   -30     /* log2 s, 1 ns: finer is not meaningful */
#define SLICE_MIN_US      1       /* us, smallest phase slice handed to adjtime */
#define KERNEL_FREQ_SCALE 65536e6 /* timex.freq units per s/s: ppm with 16-bit fraction */

void
refd_clock_init_virtual(refd_clock *c, ntp_time real_now, double offset_s, double skew_ppm,
                        double freq)
{
	memset(c, 0, sizeof *c);
	c->kind = REFD_CLOCK_VIRTUAL;
	c->real0 = real_now;
	c->bias = ntp_time_from_s(isfinite(offset_s) ? offset_s : 0.0);
	c->skew = isfinite(skew_ppm) ? skew_ppm * 1e-6 : 0.0;
	ntp_clock_init(&c->disc, refd_clock_raw_at(c, real_now), freq);
}

/* CapEff from /proc/self/status, or false when it cannot be read. */
static bool
have_cap_sys_time(void)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	bool have = false;

	if (fp == NULL) {
		return false;
	}
	while (fgets(line, sizeof line, fp) != NULL) {
		if (strncmp(line, "CapEff:", 7) == 0) {
			unsigned long long eff = strtoull(line + 7, NULL, 16);

			have = ((eff >> REFD_CAP_SYS_TIME) & 1u) != 0;
			break;
		}
	}
	fclose(fp);
	return have;
}

bool
refd_clock_system_permitted(bool confirmed, char *err, size_t errsize)
{
	if (!confirmed) {
		snprintf(err, errsize,
		         "--clock system disciplines this machine's real clock; "
		         "add --i-mean-it to confirm (the default --clock virtual never touches "
		         "it)");
		return false;
	}
	if (!have_cap_sys_time()) {
		snprintf(err, errsize,
		         "--clock system needs CAP_SYS_TIME, which this process does not have");
		return false;
	}
	return true;
}

static int
kernel_set_freq(double freq, char *err, size_t errsize)
{
	struct timex tx;

	memset(&tx, 0, sizeof tx);
	tx.modes = ADJ_FREQUENCY;
	tx.freq = (long)llround(freq * KERNEL_FREQ_SCALE);
	if (clock_adjtime(CLOCK_REALTIME, &tx) < 0) {
		snprintf(err, errsize, "clock_adjtime(ADJ_FREQUENCY %+.3f ppm): %s", freq * 1e6,
		         strerror(errno));
		return -1;
	}
	return 0;
}

/* The discipline's ntp_adjtime(2) call, as is, to the real kernel: its
 * PLL runs the clock from here (ntpd-kernel).  The kernel's frequency is
 * read back so the drift file and status show it. */
static int
kernel_adjtimex(refd_clock *c, const ntp_kernel_timex *k, char *err, size_t errsize)
{
	struct timex tx;

	memset(&tx, 0, sizeof tx);
	tx.modes = k->modes;
	tx.offset = (long)k->offset;
	tx.freq = (long)k->freq;
	tx.maxerror = (long)k->maxerror;
	tx.esterror = (long)k->esterror;
	/* the machine's clock never gets a leap second from refd (issue 15):
	 * the core's STA_INS / STA_DEL stay out */
	tx.status = k->status & ~(STA_INS | STA_DEL);
	tx.constant = (long)k->constant;
	if (clock_adjtime(CLOCK_REALTIME, &tx) < 0) {
		snprintf(err, errsize, "clock_adjtime(modes %#x offset %lld): %s", k->modes,
		         (long long)k->offset, strerror(errno));
		return -1;
	}
	c->kernel_pll = (tx.status & STA_PLL) != 0;
	c->kernel_freq = (double)tx.freq / KERNEL_FREQ_SCALE;
	return 0;
}

int
refd_clock_init_system(refd_clock *c, ntp_time real_now, double freq, char *err, size_t errsize)
{
	memset(c, 0, sizeof *c);
	c->kind = REFD_CLOCK_SYSTEM;
	c->real0 = real_now;
	/* The model holds the phase only: the kernel applies the frequency. */
	ntp_clock_init(&c->disc, real_now, 0.0);
	c->kernel_freq = freq;
	return kernel_set_freq(freq, err, errsize);
}

ntp_time
refd_clock_raw_at(const refd_clock *c, ntp_time real)
{
	if (c->kind == REFD_CLOCK_SYSTEM) {
		return real;
	}
	return ntp_time_add_sat(ntp_time_add_sat(real, c->bias),
	                        llround(c->skew * (double)(real - c->real0)));
}

ntp_time
refd_clock_local_at(const refd_clock *c, ntp_time real)
{
	if (c->kind == REFD_CLOCK_SYSTEM) {
		return real;
	}
	return ntp_clock_read(&c->disc, refd_clock_raw_at(c, real));
}

static int
kernel_step(double offset, char *err, size_t errsize)
{
	struct timex tx;
	int64_t ns = llround(offset * 1e9);
	int64_t sec = ns / NTP_NS_PER_S;
	int64_t frac = ns % NTP_NS_PER_S;

	/* ADJ_SETOFFSET wants tv_usec (ns with ADJ_NANO) in [0, 1e9). */
	if (frac < 0) {
		frac += NTP_NS_PER_S;
		sec--;
	}
	memset(&tx, 0, sizeof tx);
	tx.modes = ADJ_SETOFFSET | ADJ_NANO;
	tx.time.tv_sec = (time_t)sec;
	tx.time.tv_usec = (long)frac;
	if (clock_adjtime(CLOCK_REALTIME, &tx) < 0) {
		snprintf(err, errsize, "clock_adjtime(ADJ_SETOFFSET %+.6f s): %s", offset,
		         strerror(errno));
		return -1;
	}
	return 0;
}

int
refd_clock_step(refd_clock *c, ntp_time real_now, double offset, char *err, size_t errsize)
{
	c->steps++;
	if (c->kind == REFD_CLOCK_SYSTEM) {
		/* The kernel's pending adjtime slice belongs to the old phase. */
		c->disc.s.phase = 0.0;
		c->disc.s.t0 = real_now;
		c->phase_fed = 0.0;
		return kernel_step(offset, err, errsize);
	}
	ntp_clock_step(&c->disc, refd_clock_raw_at(c, real_now), offset);
	return 0;
}

int
refd_clock_adjust(refd_clock *c, ntp_time real_now, const ntp_clock_adj *adj, char *err,
                  size_t errsize)
{
	c->adjusts++;
	if (c->kind == REFD_CLOCK_SYSTEM) {
		/* The phase is fed to the kernel from our model of it; the
		 * frequency goes to the kernel as is. */
		ntp_clock_adj phase = *adj;

		phase.freq = 0.0;
		phase.lag = 0.0; /* the real kernel queues its adjtime(2) itself */
		phase.what &= ~(unsigned)NTP_CLOCK_KERNEL;
		ntp_clock_apply(&c->disc, real_now, &phase);
		c->phase_fed = 0.0;
		if ((adj->what & NTP_CLOCK_KERNEL) &&
		    kernel_adjtimex(c, &adj->kernel, err, errsize) < 0) {
			return -1;
		}
		if ((adj->what & NTP_CLOCK_SLEW) && !c->kernel_pll && isfinite(adj->freq) &&
		    adj->freq != c->kernel_freq) {
			c->kernel_freq = adj->freq;
			return kernel_set_freq(adj->freq, err, errsize);
		}
		return 0;
	}
	ntp_clock_apply(&c->disc, refd_clock_raw_at(c, real_now), adj);
	return 0;
}

static bool
virtual_only(const refd_clock *c, char *err, size_t errsize)
{
	if (c->kind == REFD_CLOCK_SYSTEM) {
		snprintf(err, errsize,
		         "refd steps/skews only its virtual clock on command; the system clock is "
		         "never changed on request");
		return false;
	}
	return true;
}

int
refd_clock_jump(refd_clock *c, ntp_time real_now, double offset, char *err, size_t errsize)
{
	ntp_time d;

	if (!virtual_only(c, err, errsize)) {
		return -1;
	}
	if (!isfinite(offset) || fabs(offset) > REFD_CLOCK_MAX_BIAS_S) {
		snprintf(err, errsize, "a jump of %g s is beyond +-%g s", offset,
		         REFD_CLOCK_MAX_BIAS_S);
		return -1;
	}
	d = ntp_time_from_s(offset);
	if (fabs(refd_clock_bias_at(c, real_now) + offset) > REFD_CLOCK_MAX_BIAS_S) {
		snprintf(err, errsize, "the raw clock would end %+.9f s off, beyond +-%g s",
		         refd_clock_bias_at(c, real_now) + offset, REFD_CLOCK_MAX_BIAS_S);
		return -1;
	}
	ntp_time raw_before = refd_clock_raw_at(c, real_now);

	c->bias += d;
	ntp_clock_shift_raw(&c->disc, raw_before, d);
	c->jumps++;
	return 0;
}

int
refd_clock_set_skew(refd_clock *c, ntp_time real_now, double skew, char *err, size_t errsize)
{
	ntp_time raw_now;

	if (!virtual_only(c, err, errsize)) {
		return -1;
	}
	if (!isfinite(skew) || fabs(skew) * 1e6 > REFD_CLOCK_MAX_SKEW_PPM) {
		snprintf(err, errsize, "a frequency error of %g ppm is beyond +-%g ppm", skew * 1e6,
		         REFD_CLOCK_MAX_SKEW_PPM);
		return -1;
	}
	/* Re-anchor at real_now so the new skew only acts from now on. */
	raw_now = refd_clock_raw_at(c, real_now);
	c->real0 = real_now;
	c->bias = raw_now - real_now;
	c->skew = skew;
	return 0;
}

double
refd_clock_bias_at(const refd_clock *c, ntp_time real)
{
	if (c->kind == REFD_CLOCK_SYSTEM) {
		return 0.0;
	}
	return ntp_time_diff_s(refd_clock_raw_at(c, real), real);
}

double
refd_clock_skew_ppm(const refd_clock *c)
{
	return c->kind == REFD_CLOCK_SYSTEM ? 0.0 : c->skew * 1e6;
}

int
refd_clock_poll(refd_clock *c, ntp_time real_now, char *err, size_t errsize)
{
	struct timex tx;
	double removed, delta;
	long us;

	if (c->kind != REFD_CLOCK_SYSTEM) {
		return 0;
	}
	removed = c->disc.s.phase - ntp_clock_phase_left(&c->disc, real_now);
	delta = removed - c->phase_fed;
	us = (long)llround(delta * 1e6);
	if (labs(us) < SLICE_MIN_US) {
		return 0;
	}
	memset(&tx, 0, sizeof tx);
	tx.modes = ADJ_OFFSET_SINGLESHOT;
	tx.offset = us;
	if (clock_adjtime(CLOCK_REALTIME, &tx) < 0) {
		snprintf(err, errsize, "clock_adjtime(ADJ_OFFSET_SINGLESHOT %ld us): %s", us,
		         strerror(errno));
		return -1;
	}
	c->phase_fed += (double)us * 1e-6;
	return 0;
}

double
refd_clock_freq_ppm(const refd_clock *c)
{
	return (c->kind == REFD_CLOCK_SYSTEM ? c->kernel_freq : ntp_clock_freq(&c->disc)) * 1e6;
}

static ntp_time
read_clock(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (ntp_time)ts.tv_sec * NTP_NS_PER_S + ts.tv_nsec;
}

ntp_time
refd_real_now(void)
{
	return read_clock(CLOCK_REALTIME);
}

ntp_time
refd_mono_now(void)
{
	return read_clock(CLOCK_MONOTONIC);
}

int
refd_entropy(void *buf, size_t n, char *err, size_t errsize)
{
	uint8_t *p = buf;
	size_t got = 0;

	/* getrandom(2) blocks only until the kernel's pool is initialised and
	 * returns at most 256 bytes per call without a short read. */
	while (got < n) {
		ssize_t r = getrandom(p + got, n - got, 0);

		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			snprintf(err, errsize, "getrandom: %s",
			         r < 0 ? strerror(errno) : "no bytes");
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

int
refd_clock_measure_precision(void)
{
	ntp_time best = INT64_MAX, prev = refd_real_now();
	int found = 0, tries = 0, prec = 0;
	double s;

	while (found < PRECISION_READS && tries < 100 * PRECISION_READS) {
		ntp_time t = refd_real_now();

		tries++;
		if (t > prev) {
			if (t - prev < best) {
				best = t - prev;
			}
			found++;
		}
		prev = t;
	}
	if (best == INT64_MAX) {
		return -20;
	}
	s = (double)best / 1e9;
	while (prec > PRECISION_FLOOR && ldexp(1.0, prec - 1) >= s) {
		prec--;
	}
	return prec;
}
