/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The ntpd disciplines behind the seam (ntp_discipline.h): ntpd's own
 * algorithms, put together as ntpd puts them together --
 *
 *   sample   -> the clock filter (ntp_filter, RFC 5905 §10 clock_filter());
 *   update   -> selection, clustering and combining (ntp_select, §11.2),
 *               then local_clock() (ntp_disc, §11.3) for a sample of the
 *               system peer not used before;
 *   poll     -> the loop's time constant (sys_poll).
 *
 * "ntpd-kernel" is ntpd as it runs on Linux: after the startup clamp each
 * update goes to the kernel's PLL (ntp_adjtime(2), ntp_kernel.h);
 * "ntpd-daemon" runs ntpd's own loop (`disable kernel`): adjtime() every
 * second.  Both are ntp_disc; they differ in its `kernel` flag only.
 *
 * Parameters: ntpd's loop constants, with ntpd's defaults (`tinker allan`
 * sets allan; `tinker stepout` sets stepout, floored at 300 s as ntpd
 * floors it -- the parameter is not floored, for research).
 */
#include "ntp_ntpd.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ntp_const.h"
#include "ntp_disc.h"
#include "ntp_filter.h"
#include "ntp_proto.h"
#include "ntp_select.h"

typedef struct ntpd_sys {
	ntp_disc disc;
	const char *name;
	double precision; /* s */
	double phi;       /* s/s, the filter's dispersion growth (tinker dispersion) */
	ntp_select_params sel;
	ntp_time sys_epoch; /* filter epoch of the last sample given to local_clock() */
	bool interval;      /* low/high hold the last intersection */
	double low, high;   /* s */
} ntpd_sys;

typedef struct ntpd_src {
	ntp_filter filter;
} ntpd_src;

/* ntpd's loop constants (ntp_loopfilter.c), ntplab's names. */
static const ntp_disc_param ntpd_params[] = {
        {.name = "pll",
         .dflt = NTP_DISC_CLOCK_PLL,
         .min = 1,
         .max = 1024,
         .what = "CLOCK_PLL: PLL gain; the daemon's phase time constant is pll x 2^poll s"},
        {.name = "fll",
         .dflt = NTP_DISC_CLOCK_FLL,
         .min = 0.001,
         .max = 16,
         .what = "CLOCK_FLL: FLL gain"},
        {.name = "avg",
         .dflt = NTP_DISC_CLOCK_AVG,
         .min = 1,
         .max = 1024,
         .what = "CLOCK_AVG: jitter and wander averaging constant"},
        {.name = "allan",
         .unit = "log2 s",
         .dflt = NTP_DISC_CLOCK_ALLAN,
         .min = 0,
         .max = 30,
         .integer = true,
         .what = "CLOCK_ALLAN: Allan intercept, FLL from this poll up (tinker allan)"},
        {.name = "limit",
         .dflt = NTP_DISC_CLOCK_LIMIT,
         .min = 1,
         .max = 1000,
         .integer = true,
         .what = "CLOCK_LIMIT: poll-adjust counter threshold"},
        {.name = "pgate",
         .dflt = NTP_DISC_CLOCK_PGATE,
         .min = 0,
         .max = 1000,
         .what = "CLOCK_PGATE: the poll goes up while |offset| < pgate x clock jitter"},
        {.name = "floor",
         .unit = "s",
         .dflt = NTP_DISC_CLOCK_FLOOR,
         .min = 0,
         .max = 1,
         .what = "CLOCK_FLOOR: an offset under this ends the startup clamp"},
        {.name = "huffpuff",
         .unit = "s",
         .dflt = 0,
         .min = 0,
         .max = 86400,
         .what = "huff-n'-puff window: offsets corrected by half the delay over its lowest "
                 "(tinker huffpuff); 0 = off"},
        {.name = "stepout",
         .unit = "s",
         .dflt = NTP_STEPOUT,
         .min = 0,
         .max = 1e9,
         .what = "CLOCK_MINSTEP: stepout and startup clamp (tinker stepout; 300 s at least there)"},
};

#define PARAM(s, name, dflt) ntp_discipline_param((s)->conf, (name), (dflt))

/* s, the huff-n'-puff window: the discipline's parameter, else tinker's */
static double
ntpd_huffpuff(const ntp_conf *c)
{
	return ntp_discipline_param(c, "huffpuff",
	                            c->tinker_huffpuff > 0 ? c->tinker_huffpuff : 0.0);
}

/* The window's slots live right after ntpd_sys, only when configured. */
static size_t
ntpd_sys_extra(const ntp_conf *c)
{
	return ntp_disc_huff_slots(ntpd_huffpuff(c)) * sizeof(double);
}

static void
ntpd_init(void *sys, const ntp_disc_setup *s, bool kernel)
{
	const ntp_conf *c = s->conf;
	ntpd_sys *n = sys;
	ntp_disc_params dp;

	memset(n, 0, sizeof *n);
	n->precision = ldexp(1.0, s->precision);
	n->phi = ntp_conf_phi(c);
	ntp_disc_params_default(&dp);
	dp.step = ntp_conf_step_fwd(c);
	dp.step_back = ntp_conf_step_back(c);
	dp.stepout = PARAM(s, "stepout", ntp_conf_stepout(c));
	dp.panic = ntp_conf_panic(c);
	dp.allow_big_first_step = s->allow_big_first_step;
	dp.minpoll = s->minpoll;
	dp.maxpoll = s->maxpoll;
	dp.have_drift = s->have_drift || c->have_tinker_freq;
	dp.drift_ppm = s->have_drift ? s->drift_ppm : c->tinker_freq;
	dp.disabled = c->disable_ntp;
	dp.precision = n->precision;
	dp.kernel = kernel;
	dp.g.pll = PARAM(s, "pll", NTP_DISC_CLOCK_PLL);
	dp.g.fll = PARAM(s, "fll", NTP_DISC_CLOCK_FLL);
	dp.g.avg = PARAM(s, "avg", NTP_DISC_CLOCK_AVG);
	dp.g.allan = (int)PARAM(s, "allan",
	                        c->tinker_allan >= 0 ? c->tinker_allan : NTP_DISC_CLOCK_ALLAN);
	dp.g.limit = (int)PARAM(s, "limit", NTP_DISC_CLOCK_LIMIT);
	dp.g.pgate = PARAM(s, "pgate", NTP_DISC_CLOCK_PGATE);
	dp.g.floor = PARAM(s, "floor", NTP_DISC_CLOCK_FLOOR);
	dp.huffpuff = ntpd_huffpuff(c);
	dp.huff_store = dp.huffpuff > 0.0 ? (double *)(void *)(n + 1) : NULL;
	ntp_disc_init(&n->disc, &dp, s->now.mono);

	ntp_select_params_default(&n->sel);
	n->sel.minsane = s->minsane;
	n->sel.minclock = s->minclock;
	n->sel.maxclock = s->maxclock;
	n->sel.sys_precision = n->precision;
	n->sel.maxdist = s->maxdist;
	n->sel.mindist = s->mindist;
	n->sys_epoch = NTP_FILTER_NEVER;
	n->name = kernel ? NTP_NTPD_KERNEL : NTP_NTPD_DAEMON;
}

/* ntpd sets the kernel frequency from the drift file at start-up
 * ("freq_set kernel N PPM"), long before the first clock update: without
 * this the clock would run uncorrected until a server is reached, or for
 * ever if none is. */
static bool
ntpd_start(void *sys, ntp_now now, ntp_clock_adj *adj)
{
	ntpd_sys *n = sys;

	memset(adj, 0, sizeof *adj);
	if (ntp_disc_start(&n->disc, now, &adj->kernel)) {
		/* start_kern_loop() and set_freq() to the kernel */
		adj->what = NTP_CLOCK_KERNEL;
		return true;
	}
	if (n->disc.p.disabled || n->disc.state != NTP_DISC_FSET) {
		return false;
	}
	adj->what = NTP_CLOCK_SLEW;
	adj->freq = n->disc.freq;
	return true;
}

static void
ntpd_src_init(void *sys, void *src, ntp_time mono)
{
	const ntpd_sys *n = sys;
	ntpd_src *s = src;

	ntp_filter_reset(&s->filter, mono, n->precision);
}

static int
ntpd_sample(void *sys, void *src, const ntp_sample *smp, double *spike)
{
	const ntpd_sys *n = sys;
	ntpd_src *s = src;
	ntp_filter_params fp = {
	        .precision = n->precision,
	        .maxdist = n->sel.maxdist,
	        .hpoll = smp->poll,
	        .phi = n->phi,
	        /* ntpd 4.2.8: no filter sort until the startup clamp is over */
	        .no_sort = n->disc.freq_cnt > 0.0,
	};

	_Static_assert((int)NTP_FILTER_NEW == (int)NTP_SAMPLE_NEW &&
	                       (int)NTP_FILTER_EMPTY == (int)NTP_SAMPLE_EMPTY &&
	                       (int)NTP_FILTER_OLD == (int)NTP_SAMPLE_OLD &&
	                       (int)NTP_FILTER_POPCORN == (int)NTP_SAMPLE_POPCORN,
	               "the filter's verdicts are the seam's");
	return ntp_filter_add(&s->filter, smp->offset, smp->delay, smp->disp, smp->mono, &fp,
	                      spike);
}

static void
ntpd_estimate(const void *sys, const void *src, ntp_estimate *e)
{
	const ntpd_src *s = src;

	(void)sys;
	e->offset = s->filter.offset;
	e->delay = s->filter.delay;
	e->disp = s->filter.disp;
	e->jitter = s->filter.jitter;
	e->t = s->filter.update;
	e->epoch = s->filter.epoch;
}

/* src into dst (size bytes, NUL-terminated, cut as snprintf cuts):
 * a copy without printf's machinery, for every selection. */
static void
copy_text(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* ntp_disc's result as the seam's clock decision. */
static void
decide(const ntp_disc_out *o, ntp_disc_decision *out)
{
	out->old_state = o->old_state;
	out->new_state = o->new_state;
	out->poll_changed = o->poll_changed;
	out->loopstats = o->loopstats;
	/* a copy of the text only when there is one; a slew's stays numbers */
	_Static_assert(sizeof out->reason == sizeof o->reason, "reason buffers differ");
	if (o->reason[0] != '\0') {
		memcpy(out->reason, o->reason, sizeof out->reason);
	}
	out->note = o->note;
	if (o->ktx.modes != 0) {
		out->adj.what |= NTP_CLOCK_KERNEL;
		out->adj.kernel = o->ktx;
	}
	switch (o->result) {
	case NTP_DISC_SLEW:
		out->clock = NTP_DISC_CLOCK_ADJUST;
		out->adj.what |= NTP_CLOCK_SLEW;
		out->adj.offset = o->adj_offset;
		break;
	case NTP_DISC_STEP:
		out->clock = NTP_DISC_CLOCK_STEP;
		out->step = o->step;
		out->adj.what |= NTP_CLOCK_SLEW;
		break;
	case NTP_DISC_PANIC:
		out->clock = NTP_DISC_CLOCK_PANIC;
		return;
	default:
		out->clock = NTP_DISC_CLOCK_NONE; /* spike, frequency measurement, `disable ntp` */
		return;
	}
	/* in kernel mode the kernel holds the frequency (set_freq()) */
	out->adj.freq = o->kernel_mode ? 0.0 : o->adj_freq;
	out->adj.tau = o->adj_tau;
	out->adj.slew_for = o->adj_for;
	out->adj.lag = NTP_DISC_ADJTIME_LAG;
}

/* RFC 5905 App. A.5.5.1 clock_select() and A.5.5.5 clock_combine() over
 * the fit candidates; the orphan parent when none survives.  Returns the
 * system peer's candidate, or NULL. */
static const ntp_disc_cand *
select_sys_peer(ntpd_sys *n, const ntp_disc_input *in, ntp_disc_decision *out)
{
	ntp_select_cand c[NTP_SELECT_MAX] = {{0}};
	ntp_select_result r;
	size_t m = in->n < NTP_SELECT_MAX ? in->n : NTP_SELECT_MAX;
	const ntp_disc_cand *sys;
	size_t k;

	for (k = 0; k < m; k++) {
		const ntp_disc_cand *d = &in->cand[k];

		c[k] = (ntp_select_cand){
		        .id = d->id,
		        .offset = d->est.offset,
		        .jitter = d->est.jitter,
		        .rootdist = d->rootdist,
		        .stratum = d->stratum,
		        .prefer = d->prefer,
		        .trueticker = d->trueticker,
		        .local = d->local,
		};
	}
	n->sel.prev_sys_peer = in->prev_sys_peer != 0 ? in->prev_sys_peer : -1;
	ntp_select_run(c, m, &n->sel, &r);
	n->sel.clockhop = r.clockhop;
	n->interval = r.interval_found;
	n->low = r.low;
	n->high = r.high;
	for (k = 0; k < m; k++) {
		in->cand[k].sel = r.state[k];
	}
	if (r.sys_peer >= 0) {
		sys = &in->cand[r.sys_index];
		out->offset = r.offset;
		out->jitter = r.jitter;
		if (!ntp_select_note_take(&r, (size_t)r.sys_index, &out->why_note)) {
			copy_text(out->why, sizeof out->why,
			          ntp_select_why(&r, (size_t)r.sys_index));
		}
		return sys;
	}
	if (in->fallback != NULL) {
		in->fallback->sel = NTP_SEL_SYSPEER;
		out->offset = in->fallback->est.offset;
		out->jitter = in->fallback->est.jitter;
		snprintf(out->why, sizeof out->why, "orphan parent");
		return in->fallback;
	}
	copy_text(out->why, sizeof out->why, r.reason);
	return NULL;
}

static void
ntpd_update(void *sys, const ntp_disc_input *in, ntp_disc_decision *out)
{
	ntpd_sys *n = sys;
	const ntp_disc_cand *peer = select_sys_peer(n, in, out);
	ntp_disc_out o;

	if (peer == NULL) {
		return;
	}
	out->sys_peer = peer->id;
	/* ntpd: "Do not use old data, as this may mess up the clock
	 * discipline stability." */
	if (peer->est.epoch == NTP_FILTER_NEVER || peer->est.epoch <= n->sys_epoch) {
		return;
	}
	n->sys_epoch = peer->est.epoch;
	out->updated = true;
	ntp_disc_update(&n->disc,
	                &(ntp_disc_in){
	                        .offset = out->offset,
	                        .sys_jitter = out->jitter,
	                        .now = in->now,
	                        .delay = peer->est.delay,
	                        .rootdelay = in->rootdelay,
	                        .rootdisp = in->rootdisp,
	                        .leap = in->leap,
	                },
	                &o);
	decide(&o, out);
}

static int8_t
ntpd_poll(const void *sys, const void *src)
{
	const ntpd_sys *n = sys;

	(void)src;
	return ntp_disc_poll(&n->disc);
}

/* ntpd clock_update() after a step: every association starts over
 * (peer_clear "STEP"), its filter with it. */
static void
ntpd_step(void *sys, void *src, double offset, ntp_time mono)
{
	(void)offset;
	if (src != NULL) {
		ntpd_src_init(sys, src, mono);
	}
}

static void
ntpd_info(const void *sys, ntp_disc_info *out)
{
	const ntpd_sys *n = sys;

	memset(out, 0, sizeof *out);
	out->name = n->name;
	out->poll = ntp_disc_poll(&n->disc);
	out->state = n->disc.state;
	out->clock_offset = n->disc.clock_offset;
	out->freq = n->disc.freq;
	/* ntpd writes the drift file only once the frequency is measured */
	out->freq_trusted = n->disc.state != NTP_DISC_NSET && n->disc.state != NTP_DISC_FREQ;
	out->clk_jitter = n->disc.clk_jitter;
	out->clk_wander = n->disc.clk_wander;
	out->interval = n->interval;
	out->low = n->low;
	out->high = n->high;
}

static bool
ntpd_kernel(const void *sys, ntp_kernel_timex *out)
{
	const ntpd_sys *n = sys;

	if (!n->disc.p.kernel) {
		return false;
	}
	ntp_kernel_query(&n->disc.kern, n->disc.t_last, out);
	return true;
}

/* The filter's ring, newest first, as ntpd's ctl_putarray shows it. */
static void
ntpd_src_register(const void *sys, const void *src, ntp_disc_register *out)
{
	const ntp_filter *f = &((const ntpd_src *)src)->filter;

	(void)sys;
	_Static_assert(NTP_NSTAGE == NTP_NSTAGE, "one value per filter stage");
	for (int i = 0; i < NTP_NSTAGE; i++) {
		const ntp_filter_stage *s = &f->f[(f->next + NTP_NSTAGE - 1 - i) % NTP_NSTAGE];

		out->delay[i] = s->delay;
		out->offset[i] = s->offset;
		out->disp[i] = s->disp;
	}
}

static int
ntpd_kernel_init(void *sys, const ntp_disc_setup *s, char *err, size_t errsize)
{
	(void)err;
	(void)errsize;
	ntpd_init(sys, s, true);
	return 0;
}

static int
ntpd_daemon_init(void *sys, const ntp_disc_setup *s, char *err, size_t errsize)
{
	(void)err;
	(void)errsize;
	ntpd_init(sys, s, false);
	return 0;
}

#define NTPD_OPS                                                                                   \
	.params = ntpd_params, .n_params = sizeof ntpd_params / sizeof ntpd_params[0],             \
	.sys_size = sizeof(ntpd_sys), .sys_extra = ntpd_sys_extra, .src_size = sizeof(ntpd_src),   \
	.poll_min = NTP_MINPOLL, .freq_max = NTP_MAXFREQ, .start = ntpd_start,                     \
	.src_init = ntpd_src_init, .sample = ntpd_sample, .estimate = ntpd_estimate,               \
	.update = ntpd_update, .poll = ntpd_poll, .step = ntpd_step, .info = ntpd_info,            \
	.kernel = ntpd_kernel, .src_register = ntpd_src_register

const ntp_discipline ntp_ntpd_kernel = {
        .name = NTP_NTPD_KERNEL,
        .summary = "ntpd as it runs on Linux: after the startup clamp the kernel PLL "
                   "(ntp_adjtime) takes the updates",
        .init = ntpd_kernel_init,
        NTPD_OPS,
};

const ntp_discipline ntp_ntpd_daemon = {
        .name = NTP_NTPD_DAEMON,
        .summary = "ntpd's own loop (`disable kernel`): adjtime() every second",
        .init = ntpd_daemon_init,
        NTPD_OPS,
};
