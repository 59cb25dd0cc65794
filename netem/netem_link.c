/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * netem_link: tc-netem's per-packet decisions (Linux net/sched/sch_netem.c
 * netem_enqueue()) as a pure function of the offer time and seeded streams.
 * docs/netem.md explains each parameter and where the model departs from the
 * kernel.
 */
#include "netem_link.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ntp_time.h"

#define NS_PER_S         1e9              /* ns/s */
#define MAX_TIME_S       NETEM_TIME_MAX_S /* s, clamp for any delay or window time */
#define MAX_RATE         1e15             /* bit/s, clamp for a rate */
#define NETEM_DIST_SCALE 8192.0           /* table units per sigma, linux/pkt_sched.h */
#define TABLE_MIN        (-32768.0 / NETEM_DIST_SCALE) /* s16 table entries clip at -4 sigma */
#define TABLE_MAX        (32767.0 / NETEM_DIST_SCALE)  /* ... and just under +4 sigma */
#define PARETO_ALPHA     3.0                           /* shape, iproute2 netem/pareto.c */
#define PARETO_MEAN      1.5         /* alpha/(alpha-1) with x_m = 1, subtracted by pareto.c */
#define PARETO_SCALE     (4.0 / 3.0) /* pareto.c's multiplier (not 1/sd) */
#define PARETONORMAL_W   0.25        /* weight of the normal part, netem/paretonormal.c */
#define SQRT2            1.41421356237309504880 /* sqrt(2) */
#define SQRT2PI          2.50662827463100050242 /* sqrt(2 pi) */
#define TOKEN_MAX        64                     /* bytes, longest number token parsed */
#define FORMAT_MAX       1024                   /* bytes, longer than any formatted spec */

/* ---------------------------------------------------------------- params */

void
netem_link_params_init(netem_link_params *p)
{
	memset(p, 0, sizeof *p);
	p->dist = NETEM_DIST_UNIFORM; /* the kernel's tabledist() without a table */
	p->ge_r = 1.0;
	p->ge_loss_bad = 1.0;
	p->copies = 1;
}

static double
clamp01(double x)
{
	if (!(x > 0.0)) { /* also NaN */
		return 0.0;
	}
	return x > 1.0 ? 1.0 : x;
}

static double
clamp_time(double x)
{
	if (!(x > 0.0)) {
		return 0.0;
	}
	return x > MAX_TIME_S ? MAX_TIME_S : x;
}

/* ntplab's own fields (see netem_link.h). */
static netem_link_params
sanitise_extensions(netem_link_params p)
{
	if (p.copies < 1) {
		p.copies = 1;
	} else if (p.copies > NETEM_COPIES_MAX) {
		p.copies = NETEM_COPIES_MAX;
	}
	if (p.pass_one_in < 0) {
		p.pass_one_in = 0;
	}
	p.extra_fraction = clamp01(p.extra_fraction);
	p.extra_delay = clamp_time(p.extra_delay);
	p.up_every = clamp_time(p.up_every);
	p.up_for = clamp_time(p.up_for);
	p.up_from = clamp_time(p.up_from);
	return p;
}

static netem_link_params
sanitise(const netem_link_params *in)
{
	netem_link_params p = *in;

	p.delay = clamp_time(p.delay);
	p.jitter = clamp_time(p.jitter);
	p.delay_corr = clamp01(p.delay_corr);
	if (p.dist < NETEM_DIST_CONSTANT || p.dist > NETEM_DIST_TRACE) {
		p.dist = NETEM_DIST_CONSTANT;
	}
	if (p.trace == NULL) {
		p.trace_len = 0;
	}
	p.loss = clamp01(p.loss);
	p.loss_corr = clamp01(p.loss_corr);
	p.ge_p = clamp01(p.ge_p);
	p.ge_r = clamp01(p.ge_r);
	p.ge_loss_bad = clamp01(p.ge_loss_bad);
	p.ge_loss_good = clamp01(p.ge_loss_good);
	p.duplicate = clamp01(p.duplicate);
	p.duplicate_corr = clamp01(p.duplicate_corr);
	p.reorder = clamp01(p.reorder);
	p.reorder_corr = clamp01(p.reorder_corr);
	if (p.reorder_gap < 0) {
		p.reorder_gap = 0;
	}
	if (!(p.rate > 0.0)) {
		p.rate = 0.0;
	} else if (p.rate > MAX_RATE) {
		p.rate = MAX_RATE;
	}
	if (p.rate_cellsize < 0) {
		p.rate_cellsize = 0;
	}
	if (p.limit < 0) {
		p.limit = 0;
	}
	return sanitise_extensions(p);
}

static void set_err(char *err, size_t size, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
set_err(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || size == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
}

static bool
bad_prob(double x)
{
	return !(x >= 0.0 && x <= 1.0);
}

static bool
bad_time(double x)
{
	return !(x >= 0.0 && x <= MAX_TIME_S);
}

/* ntplab's own fields: a window must fit its period, and a mixture or a
 * window names a time for each of its parts. */
static int
check_extensions(const netem_link_params *p, char *err, size_t errsize)
{
	if (p->copies < 0 || p->copies > NETEM_COPIES_MAX || p->pass_one_in < 0) {
		set_err(err, errsize,
		        "netem: copies must be 1..%d and pass_one_in >= 0, got %d and %d",
		        NETEM_COPIES_MAX, p->copies, p->pass_one_in);
		return -1;
	}
	if (bad_prob(p->extra_fraction) || bad_time(p->extra_delay)) {
		set_err(err, errsize,
		        "netem: extra fraction must be 0..1 and its delay 0..%g s, got %g and %g",
		        MAX_TIME_S, p->extra_fraction, p->extra_delay);
		return -1;
	}
	if (bad_time(p->up_every) || bad_time(p->up_for) || bad_time(p->up_from)) {
		set_err(err, errsize, "netem: up window times must be 0..%g s", MAX_TIME_S);
		return -1;
	}
	if ((p->up_every > 0.0 || p->up_for > 0.0) &&
	    !(p->up_for > 0.0 && p->up_for <= p->up_every)) {
		set_err(err, errsize,
		        "netem: an up window needs 0 < for <= every, got for %g s, every %g s",
		        p->up_for, p->up_every);
		return -1;
	}
	return 0;
}

int
netem_link_params_check(const netem_link_params *p, char *err, size_t errsize)
{
	const struct {
		const char *name;
		double v;
	} probs[] = {
	        {"delay correlation", p->delay_corr},
	        {"loss", p->loss},
	        {"loss correlation", p->loss_corr},
	        {"gemodel p", p->ge_p},
	        {"gemodel r", p->ge_r},
	        {"gemodel 1-h", p->ge_loss_bad},
	        {"gemodel 1-k", p->ge_loss_good},
	        {"duplicate", p->duplicate},
	        {"duplicate correlation", p->duplicate_corr},
	        {"reorder", p->reorder},
	        {"reorder correlation", p->reorder_corr},
	};

	if (bad_time(p->delay) || bad_time(p->jitter)) {
		set_err(err, errsize, "netem: delay and jitter must be 0..%g s, got %g and %g",
		        MAX_TIME_S, p->delay, p->jitter);
		return -1;
	}
	for (size_t i = 0; i < sizeof probs / sizeof probs[0]; i++) {
		if (bad_prob(probs[i].v)) {
			set_err(err, errsize, "netem: %s must be 0..1 (0..100%%), got %g",
			        probs[i].name, probs[i].v);
			return -1;
		}
	}
	if (p->dist < NETEM_DIST_CONSTANT || p->dist > NETEM_DIST_TRACE) {
		set_err(err, errsize, "netem: unknown distribution %d", p->dist);
		return -1;
	}
	if (p->dist == NETEM_DIST_TRACE && (p->trace == NULL || p->trace_len == 0)) {
		set_err(err, errsize, "netem: distribution trace needs a non-empty trace");
		return -1;
	}
	for (size_t i = 0; p->dist == NETEM_DIST_TRACE && i < p->trace_len; i++) {
		if (bad_time(p->trace[i])) {
			set_err(err, errsize, "netem: trace[%zu] must be 0..%g s, got %g", i,
			        MAX_TIME_S, p->trace[i]);
			return -1;
		}
	}
	if (p->reorder_gap < 0) {
		set_err(err, errsize, "netem: gap must be >= 0, got %d", p->reorder_gap);
		return -1;
	}
	if (!(p->rate >= 0.0 && p->rate <= MAX_RATE)) {
		set_err(err, errsize, "netem: rate must be 0..%g bit/s, got %g", MAX_RATE, p->rate);
		return -1;
	}
	if (p->rate_cellsize < 0 || p->limit < 0) {
		set_err(err, errsize, "netem: cell size and limit must be >= 0, got %d and %d",
		        p->rate_cellsize, p->limit);
		return -1;
	}
	return check_extensions(p, err, errsize);
}

const char *
netem_dist_name(int dist)
{
	static const char *const names[] = {"constant", "uniform",      "normal", "exponential",
	                                    "pareto",   "paretonormal", "trace"};

	if (dist < NETEM_DIST_CONSTANT || dist > NETEM_DIST_TRACE) {
		return "?";
	}
	return names[dist];
}

/* ---------------------------------------------------------- distributions */

/* Standard normal quantile: Abramowitz & Stegun 26.2.23 as a start (|error|
 * < 4.5e-4), then two Halley steps on erfc() give full double precision.
 * Works on the lower tail so 1 - p never loses digits. */
static double
normal_quantile(double p)
{
	double q = p < 0.5 ? p : 1.0 - p;
	double t, x;

	if (!(q > 0.0)) {
		return p < 0.5 ? -INFINITY : INFINITY;
	}
	t = sqrt(-2.0 * log(q));
	x = -(t - (2.515517 + t * (0.802853 + t * 0.010328)) /
	                  (1.0 + t * (1.432788 + t * (0.189269 + t * 0.001308))));
	for (int i = 0; i < 2; i++) {
		double e = 0.5 * erfc(-x / SQRT2) - q;
		double u = e * SQRT2PI * exp(0.5 * x * x);

		x -= u / (1.0 + 0.5 * x * u);
	}
	return p < 0.5 ? x : -x;
}

static double
clip_table(double x)
{
	if (x < TABLE_MIN) {
		return TABLE_MIN;
	}
	return x > TABLE_MAX ? TABLE_MAX : x;
}

/* The functions netem's tables sample (their index i/size is our u). */
static double
table_normal(double u)
{
	return clip_table(normal_quantile(u));
}

static double
table_pareto(double u)
{
	/* Pareto(alpha 3, x_m 1) quantile, shifted by its mean, scaled by 4/3. */
	double x = pow(1.0 - u, -1.0 / PARETO_ALPHA);

	return clip_table((x - PARETO_MEAN) * PARETO_SCALE);
}

static double
table_paretonormal(double u)
{
	/* Both parts from the same u: the table adds them index by index. */
	return clip_table(PARETONORMAL_W * table_normal(u) +
	                  (1.0 - PARETONORMAL_W) * table_pareto(u));
}

/* The standardised deviate for a uniform u in [0, 1). */
static double
dist_deviate(int dist, double u)
{
	switch (dist) {
	case NETEM_DIST_UNIFORM:
		return 2.0 * u - 1.0;
	case NETEM_DIST_NORMAL:
		return table_normal(u);
	case NETEM_DIST_EXPONENTIAL:
		return -log(1.0 - u);
	case NETEM_DIST_PARETO:
		return table_pareto(u);
	case NETEM_DIST_PARETONORMAL:
		return table_paretonormal(u);
	default:
		return 0.0;
	}
}

/* netem's get_crandom(): the next uniform is a mix of a fresh one and the
 * previous result, weighted by the correlation; with none, the state is left
 * alone as the kernel does. */
static double
correlated_uniform(ntp_rand *r, double *last, double rho)
{
	double u = ntp_rand_uniform(r);

	if (rho <= 0.0) {
		return u;
	}
	u = (1.0 - rho) * u + rho * *last;
	*last = u;
	return u;
}

static bool
delay_is_random(const netem_link_params *p)
{
	return p->dist != NETEM_DIST_CONSTANT && p->dist != NETEM_DIST_TRACE && p->jitter > 0.0;
}

/* One delay (s) for an offered packet.  Every packet draws one, lost or
 * reordered or not, so the delays do not depend on loss or reordering. */
static double
draw_delay(netem_link *l)
{
	const netem_link_params *p = l->p;
	double u;

	if (p->dist == NETEM_DIST_TRACE && p->trace_len > 0) {
		double d;

		l->trace_pos %= p->trace_len;
		d = p->trace[l->trace_pos];
		l->trace_pos = (l->trace_pos + 1) % p->trace_len;
		return d;
	}
	if (!delay_is_random(p)) {
		return p->delay; /* tabledist() returns mu when sigma is 0 */
	}
	u = correlated_uniform(&l->r_delay, &l->delay_last, p->delay_corr);
	return p->delay + p->jitter * dist_deviate(p->dist, u);
}

/* A duplicate copy's delay: its own uniform, correlated with the original's
 * (which it follows) without moving the correlation state. */
static double
copy_delay(netem_link *l, double u, double original)
{
	const netem_link_params *p = l->p;

	if (!delay_is_random(p)) {
		return p->dist == NETEM_DIST_TRACE ? original : p->delay;
	}
	if (p->delay_corr > 0.0) {
		u = (1.0 - p->delay_corr) * u + p->delay_corr * l->delay_last;
	}
	return p->delay + p->jitter * dist_deviate(p->dist, u);
}

/* -------------------------------------------------------------- decisions */

/* sch_netem.c loss_gilb_ell(): the loss probability is the one of the state
 * the packet finds; the transition is drawn first, from a separate number. */
static bool
ge_loss(netem_link *l)
{
	double u_move = ntp_rand_uniform(&l->imp->r_loss);
	double u_loss = ntp_rand_uniform(&l->imp->r_loss);
	bool lost = u_loss < (l->imp->ge_bad ? l->p->ge_loss_bad : l->p->ge_loss_good);

	if (l->imp->ge_bad) {
		if (u_move < l->p->ge_r) {
			l->imp->ge_bad = false;
		}
	} else if (u_move < l->p->ge_p) {
		l->imp->ge_bad = true;
	}
	return lost;
}

static bool
loss_event(netem_link *l)
{
	if (l->p->ge) {
		return ge_loss(l);
	}
	if (l->p->loss <= 0.0) {
		return false; /* the kernel draws nothing either */
	}
	return correlated_uniform(&l->imp->r_loss, &l->imp->loss_last, l->p->loss_corr) <
	       l->p->loss;
}

/* A duplicate's own loss decision: it meets the channel the original left. */
static bool
copy_loss(const netem_link *l, double u)
{
	if (l->p->ge) {
		return u < (l->imp->ge_bad ? l->p->ge_loss_bad : l->p->ge_loss_good);
	}
	if (l->p->loss <= 0.0) {
		return false;
	}
	if (l->p->loss_corr > 0.0) {
		u = (1.0 - l->p->loss_corr) * u + l->p->loss_corr * l->imp->loss_last;
	}
	return u < l->p->loss;
}

static bool
duplicate_event(netem_link *l)
{
	if (l->p->duplicate <= 0.0) {
		return false;
	}
	return correlated_uniform(&l->imp->r_dup, &l->imp->dup_last, l->p->duplicate_corr) <
	       l->p->duplicate;
}

/* sch_netem.c netem_enqueue(): after gap-1 delayed packets, each packet is
 * sent at once with probability `reorder`; tc turns "no gap" into gap 1. */
static bool
reorder_event(netem_link *l)
{
	uint64_t gap = l->p->reorder_gap > 0 ? (uint64_t)l->p->reorder_gap : 1;

	if (l->p->reorder <= 0.0) {
		return false;
	}
	if (l->imp->reorder_count + 1 < gap ||
	    correlated_uniform(&l->imp->r_reorder, &l->imp->reorder_last, l->p->reorder_corr) >=
	            l->p->reorder) {
		l->imp->reorder_count++;
		return false;
	}
	l->imp->reorder_count = 0;
	return true;
}

/* ------------------------------------------------------------ scheduling */

static int64_t
seconds_to_ns(double s)
{
	return (int64_t)llround(clamp_time(s) * NS_PER_S);
}

/* sch_netem.c packet_time_ns(): bytes plus overhead, rounded up to whole
 * cells each carrying its own overhead, at the rate. */
static int64_t
transmit_ns(const netem_link_params *p, size_t bytes)
{
	double len = (double)bytes + p->rate_overhead;

	if (p->rate_cellsize > 0) {
		double cells = ceil(len / p->rate_cellsize);

		len = cells * (double)(p->rate_cellsize + p->rate_celloverhead);
	}
	if (!(len > 0.0)) {
		return 0;
	}
	return seconds_to_ns(len * 8.0 / p->rate);
}

/* The kernel puts a packet behind the last one in the rate queue: it leaves
 * at max(now + delay, last departure) + its own transmission time. */
static int64_t
schedule(netem_link *l, int64_t t, double delay, size_t bytes)
{
	int64_t due = ntp_time_add_sat(t, seconds_to_ns(delay));

	if (l->p->rate > 0.0) {
		if (due < l->busy_until) {
			due = l->busy_until;
		}
		due = ntp_time_add_sat(due, transmit_ns(l->p, bytes));
		l->busy_until = due;
	}
	return due;
}

/* ------------------------------------------------------------------ link */

void
netem_link_params_sanitise(netem_link_params *p)
{
	*p = sanitise(p);
}

static void
seed_stream(const netem_link *l, ntp_rand *r, const char *source)
{
	ntp_rand_seed_hashed(r, l->seed, ntp_rand_name_hash(l->name_hash, source));
}

static bool
needs_impair(const netem_link_params *p)
{
	return p->ge || p->loss > 0.0 || p->duplicate > 0.0 || p->reorder > 0.0 ||
	       p->extra_fraction > 0.0;
}

/* The impairments' state, made when p first asks for it.  Each stream is
 * seeded and each correlation chain started from a random value (as the
 * kernel does) exactly as at init: nothing drew from them before. */
static int
make_impair(netem_link *l, const netem_link_params *p)
{
	netem_link_impair *m;

	if (l->imp != NULL || !needs_impair(p)) {
		return 0;
	}
	m = calloc(1, sizeof *m);
	if (m == NULL) {
		return -1;
	}
	seed_stream(l, &m->r_loss, "loss");
	seed_stream(l, &m->r_dup, "duplicate");
	seed_stream(l, &m->r_reorder, "reorder");
	seed_stream(l, &m->r_copy, "copy");
	seed_stream(l, &m->r_extra, "extra");
	seed_stream(l, &m->r_copy_extra, "copy-extra");
	m->loss_last = ntp_rand_uniform(&m->r_loss);
	m->dup_last = ntp_rand_uniform(&m->r_dup);
	m->reorder_last = ntp_rand_uniform(&m->r_reorder);
	l->imp = m;
	return 0;
}

int
netem_link_init(netem_link *l, netem_link_params *p, uint64_t seed, const char *name)
{
	memset(l, 0, sizeof *l);
	netem_link_params_sanitise(p);
	l->p = p;
	l->seed = seed;
	l->name_hash = ntp_rand_name_hash(
	        ntp_rand_name_hash(NTP_RAND_NAME_HASH0, name != NULL ? name : ""), ":");
	seed_stream(l, &l->r_delay, "delay");
	l->delay_last = ntp_rand_uniform(&l->r_delay);
	l->busy_until = INT64_MIN;
	return make_impair(l, p);
}

void
netem_link_free(netem_link *l)
{
	free(l->imp);
	l->imp = NULL;
}

void
netem_link_set_origin(netem_link *l, int64_t origin)
{
	l->origin = origin;
}

int
netem_link_set(netem_link *l, netem_link_params *p)
{
	netem_link_params_sanitise(p);
	if (make_impair(l, p) != 0) {
		return -1;
	}
	l->p = p;
	if (l->imp != NULL) {
		l->imp->reorder_count = 0;
	}
	return 0;
}

static void
record(netem_link *l, int64_t t, int64_t arrival)
{
	double d = (double)(arrival - t) / NS_PER_S;

	l->delivered++;
	l->delay_sum += d;
	l->delay_sum2 += d * d;
}

/* ntplab's gates in front of netem (docs/netem.md): a link that is down,
 * outside its up window, or not at a packet that pass_one_in lets through
 * drops packet k (0 = the first offered) and draws nothing, so the gates
 * never move another stream. */
static bool
in_up_window(const netem_link *l, int64_t t)
{
	int64_t every = seconds_to_ns(l->p->up_every);
	int64_t x;

	if (every <= 0) {
		return true;
	}
	/* floor modulo: the window repeats before up_from too */
	x = (t - l->origin - seconds_to_ns(l->p->up_from)) % every;
	if (x < 0) {
		x += every;
	}
	return x < seconds_to_ns(l->p->up_for);
}

static bool
gate_open(const netem_link *l, int64_t t, uint64_t k)
{
	if (l->p->down || !in_up_window(l, t)) {
		return false;
	}
	return l->p->pass_one_in <= 1 || k % (uint64_t)l->p->pass_one_in == 0;
}

/* The delay mixture: with probability extra_fraction a packet's delay gets
 * extra_delay on top.  One draw per packet from r whenever a fraction is
 * set, whether the packet gets it or not, so r stays aligned with offers. */
static double
mixture_delay(netem_link *l, bool copy)
{
	const netem_link_params *p = l->p;

	if (p->extra_fraction <= 0.0) {
		return 0.0;
	}
	return ntp_rand_uniform(copy ? &l->imp->r_copy_extra : &l->imp->r_extra) < p->extra_fraction
	               ? p->extra_delay
	               : 0.0;
}

/* Sort the few arrivals of one packet, earliest first. */
static void
sort_arrivals(int64_t *out, int n)
{
	for (int i = 1; i < n; i++) {
		int64_t x = out[i];
		int j = i;

		for (; j > 0 && out[j - 1] > x; j--) {
			out[j] = out[j - 1];
		}
		out[j] = x;
	}
}

/* The clones of a duplicated packet, into out[] from *n.  Each draws its
 * delay and loss test from the copy stream (two numbers, always, so the
 * stream stays aligned) and its mixture from copy-extra.  A loss event of
 * the packet takes the last clone away: with one clone this is
 * netem_enqueue()'s "a duplicated packet that is lost keeps its original". */
static void
offer_clones(netem_link *l, int64_t t, size_t bytes, double d, bool lost, int64_t *out, int *n)
{
	int copies = l->p->copies > 0 ? l->p->copies : 1;

	for (int i = 0; i < copies; i++) {
		double u_delay = ntp_rand_uniform(&l->imp->r_copy);
		double u_loss = ntp_rand_uniform(&l->imp->r_copy);
		double d_copy = copy_delay(l, u_delay, d) + mixture_delay(l, true);
		bool copy_lost = copy_loss(l, u_loss);

		if (!copy_lost && !(lost && i == copies - 1)) {
			out[(*n)++] = schedule(l, t, d_copy, bytes);
		}
	}
	l->duplicated += (uint64_t)copies;
}

int
netem_link_offer(netem_link *l, int64_t t, size_t bytes, int64_t out[NETEM_OUT_MAX])
{
	bool dup, lost;
	double d;
	int n = 0;
	uint64_t made = 1;

	if (!gate_open(l, t, l->offered++)) {
		l->dropped++;
		return 0;
	}
	dup = duplicate_event(l);
	d = draw_delay(l);
	lost = loss_event(l);
	/* netem_enqueue(): the clones are enqueued first, then the original,
	 * which a loss event removes only when nothing was duplicated. */
	if (dup) {
		uint64_t before = l->duplicated;

		offer_clones(l, t, bytes, d, lost, out, &n);
		made += l->duplicated - before;
	}
	d += mixture_delay(l, false);
	if (dup || !lost) {
		if (reorder_event(l)) {
			l->reordered++;
			out[n++] = t;
		} else {
			out[n++] = schedule(l, t, d, bytes);
		}
	}
	l->dropped += made - (uint64_t)n;
	sort_arrivals(out, n);
	for (int i = 0; i < n; i++) {
		record(l, t, out[i]);
	}
	return n;
}

double
netem_link_delay_mean(const netem_link *l)
{
	return l->delivered > 0 ? l->delay_sum / (double)l->delivered : 0.0;
}

double
netem_link_delay_sd(const netem_link *l)
{
	double mean, var;

	if (l->delivered == 0) {
		return 0.0;
	}
	mean = netem_link_delay_mean(l);
	var = l->delay_sum2 / (double)l->delivered - mean * mean;
	return var > 0.0 ? sqrt(var) : 0.0;
}

/* ---------------------------------------------------------------- parser */

typedef struct token {
	const char *s;
	size_t n;
} token;

typedef struct parser {
	const char *cur;
	char *err;
	size_t errsize;
} parser;

static bool
next_token(parser *ps, token *t)
{
	const char *c = ps->cur;

	while (*c != '\0' && isspace((unsigned char)*c)) {
		c++;
	}
	if (*c == '\0') {
		ps->cur = c;
		return false;
	}
	t->s = c;
	while (*c != '\0' && !isspace((unsigned char)*c)) {
		c++;
	}
	t->n = (size_t)(c - t->s);
	ps->cur = c;
	return true;
}

/* tc takes an optional positional argument when the next word starts with a
 * digit (NEXT_IS_NUMBER), or also '-' where it may be negative. */
static bool
next_is_number(const parser *ps, bool signed_ok)
{
	parser look = *ps;
	token t;

	if (!next_token(&look, &t)) {
		return false;
	}
	return isdigit((unsigned char)t.s[0]) || (signed_ok && t.s[0] == '-');
}

static bool
word_is(const token *t, const char *w)
{
	return strlen(w) == t->n && memcmp(t->s, w, t->n) == 0;
}

/* Split "20ms" into 20 and "ms"; false unless it starts with a finite number. */
static bool
split_number(const token *t, double *x, char *unit, size_t unit_size)
{
	char buf[TOKEN_MAX];
	char *end;

	if (t->n == 0 || t->n >= sizeof buf) {
		return false;
	}
	memcpy(buf, t->s, t->n);
	buf[t->n] = '\0';
	if (!(isdigit((unsigned char)buf[0]) || buf[0] == '.' || buf[0] == '-' || buf[0] == '+')) {
		return false; /* no "inf" or "nan" */
	}
	*x = strtod(buf, &end);
	if (end == buf || !isfinite(*x) || strlen(end) >= unit_size) {
		return false;
	}
	memcpy(unit, end, strlen(end) + 1);
	return true;
}

typedef struct unit {
	const char *name;
	double factor;
} unit;

static bool
find_unit(const unit *units, size_t n, const char *name, double *factor)
{
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(units[i].name, name) == 0) {
			*factor = units[i].factor;
			return true;
		}
	}
	return false;
}

/* Divisors to seconds; tc's get_time() accepts these spellings. */
static const unit time_units[] = {
        {"s", 1.0},  {"sec", 1.0},  {"secs", 1.0},  {"ms", 1e3}, {"msec", 1e3}, {"msecs", 1e3},
        {"us", 1e6}, {"usec", 1e6}, {"usecs", 1e6}, {"ns", 1e9}, {"nsec", 1e9}, {"nsecs", 1e9},
};

/* Multipliers to bit/s, tc's get_rate(): "bps" is bytes per second there. */
static const unit rate_units[] = {
        {"bit", 1.0},         {"kbit", 1e3},           {"mbit", 1e6},
        {"gbit", 1e9},        {"tbit", 1e12},          {"kibit", 1024.0},
        {"mibit", 1048576.0}, {"gibit", 1073741824.0}, {"tibit", 1099511627776.0},
        {"bps", 8.0},         {"kbps", 8e3},           {"mbps", 8e6},
        {"gbps", 8e9},        {"tbps", 8e12},          {"kibps", 8192.0},
        {"mibps", 8388608.0}, {"gibps", 8589934592.0}, {"tibps", 8796093022208.0},
};

static int
fail_value(parser *ps, const char *what, const char *expects, const token *got)
{
	if (got == NULL) {
		set_err(ps->err, ps->errsize, "netem: %s expects %s, got nothing", what, expects);
	} else {
		set_err(ps->err, ps->errsize, "netem: %s expects %s, got '%.*s'", what, expects,
		        (int)(got->n > 40 ? 40 : got->n), got->s);
	}
	return -1;
}

static int
parse_time(parser *ps, const char *what, double *out)
{
	static const char expects[] = "a time like 20ms (units ns, us, ms, s)";
	token t;
	char u[16];
	double x, div;

	if (!next_token(ps, &t)) {
		return fail_value(ps, what, expects, NULL);
	}
	if (!split_number(&t, &x, u, sizeof u) || x < 0.0 ||
	    !find_unit(time_units, sizeof time_units / sizeof time_units[0], u, &div) ||
	    x / div > MAX_TIME_S) {
		return fail_value(ps, what, expects, &t);
	}
	*out = x / div;
	return 0;
}

static int
parse_percent(parser *ps, const char *what, double *out)
{
	static const char expects[] = "a percentage from 0% to 100%";
	token t;
	char u[16];
	double x;

	if (!next_token(ps, &t)) {
		return fail_value(ps, what, expects, NULL);
	}
	if (!split_number(&t, &x, u, sizeof u) || strcmp(u, "%") != 0 || x < 0.0 || x > 100.0) {
		return fail_value(ps, what, expects, &t);
	}
	*out = x / 100.0;
	return 0;
}

static int
parse_rate(parser *ps, double *out)
{
	static const char expects[] = "a rate like 1mbit (bit, kbit, mbit, gbit, tbit, bps)";
	token t;
	char u[16];
	double x, mult;

	if (!next_token(ps, &t)) {
		return fail_value(ps, "'rate'", expects, NULL);
	}
	if (!split_number(&t, &x, u, sizeof u) || x < 0.0 ||
	    !find_unit(rate_units, sizeof rate_units / sizeof rate_units[0], u, &mult) ||
	    x * mult > MAX_RATE) {
		return fail_value(ps, "'rate'", expects, &t);
	}
	*out = x * mult;
	return 0;
}

static int
parse_int(parser *ps, const char *what, long lo, long hi, int *out)
{
	char expects[64];
	char buf[TOKEN_MAX];
	char *end;
	token t;
	long v;

	snprintf(expects, sizeof expects, "an integer from %ld to %ld", lo, hi);
	if (!next_token(ps, &t)) {
		return fail_value(ps, what, expects, NULL);
	}
	if (t.n >= sizeof buf) {
		return fail_value(ps, what, expects, &t);
	}
	memcpy(buf, t.s, t.n);
	buf[t.n] = '\0';
	v = strtol(buf, &end, 10);
	if (end == buf || *end != '\0' || v < lo || v > hi) {
		return fail_value(ps, what, expects, &t);
	}
	*out = (int)v;
	return 0;
}

/* Optional trailing percentage (a correlation) when the next word is a number. */
static int
parse_opt_percent(parser *ps, const char *what, double *out)
{
	if (!next_is_number(ps, false)) {
		return 0;
	}
	return parse_percent(ps, what, out);
}

static int
parse_delay(parser *ps, netem_link_params *q)
{
	if (parse_time(ps, "'delay'", &q->delay) != 0) {
		return -1;
	}
	if (!next_is_number(ps, false)) {
		return 0;
	}
	if (parse_time(ps, "'delay' jitter", &q->jitter) != 0) {
		return -1;
	}
	return parse_opt_percent(ps, "'delay' correlation", &q->delay_corr);
}

static int
parse_distribution(parser *ps, netem_link_params *q)
{
	static const char expects[] = "normal|pareto|paretonormal|uniform|exponential|constant";
	static const struct {
		const char *name;
		int dist;
	} dists[] = {
	        {"normal", NETEM_DIST_NORMAL},
	        {"pareto", NETEM_DIST_PARETO},
	        {"paretonormal", NETEM_DIST_PARETONORMAL},
	        {"uniform", NETEM_DIST_UNIFORM},
	        {"exponential", NETEM_DIST_EXPONENTIAL},
	        {"constant", NETEM_DIST_CONSTANT},
	};
	token t;

	if (!next_token(ps, &t)) {
		return fail_value(ps, "'distribution'", expects, NULL);
	}
	for (size_t i = 0; i < sizeof dists / sizeof dists[0]; i++) {
		if (word_is(&t, dists[i].name)) {
			q->dist = dists[i].dist;
			return 0;
		}
	}
	return fail_value(ps, "'distribution'", expects, &t);
}

static int
parse_gemodel(parser *ps, netem_link_params *q)
{
	q->ge = true;
	if (parse_percent(ps, "'loss gemodel' p", &q->ge_p) != 0) {
		return -1;
	}
	/* The third and fourth values are the loss probabilities in the bad and
	 * good states: tc/q_netem.c sends the kernel h = 1 - (its third
	 * value) and k1 = its fourth, and sch_netem.c loss_gilb_ell() loses a
	 * packet in the bad state when a uniform is > h, in the good one when
	 * it is < k1.  tc's defaults make "gemodel p" the Bernoulli model. */
	q->ge_r = 1.0 - q->ge_p;
	q->ge_loss_bad = 1.0;
	q->ge_loss_good = 0.0;
	if (parse_opt_percent(ps, "'loss gemodel' r", &q->ge_r) != 0 ||
	    parse_opt_percent(ps, "'loss gemodel' 1-h", &q->ge_loss_bad) != 0 ||
	    parse_opt_percent(ps, "'loss gemodel' 1-k", &q->ge_loss_good) != 0) {
		return -1;
	}
	return 0;
}

static int
parse_random_loss(parser *ps, const char *what, netem_link_params *q)
{
	char corr[48];

	snprintf(corr, sizeof corr, "%s correlation", what);
	q->ge = false;
	if (parse_percent(ps, what, &q->loss) != 0) {
		return -1;
	}
	return parse_opt_percent(ps, corr, &q->loss_corr);
}

/* PERCENT [CORRELATION], as duplicate and reorder take it. */
static int
parse_prob_corr(parser *ps, const char *what, const char *corr_what, double *prob, double *corr)
{
	if (parse_percent(ps, what, prob) != 0) {
		return -1;
	}
	return parse_opt_percent(ps, corr_what, corr);
}

static int
parse_loss(parser *ps, netem_link_params *q)
{
	static const char expects[] = "random PERCENT, gemodel P or a percentage";
	parser look = *ps;
	token t;

	if (!next_token(&look, &t)) {
		return fail_value(ps, "'loss'", expects, NULL);
	}
	if (isdigit((unsigned char)t.s[0])) { /* tc's older "loss 5%" */
		return parse_random_loss(ps, "'loss'", q);
	}
	*ps = look;
	if (word_is(&t, "random")) {
		return parse_random_loss(ps, "'loss random'", q);
	}
	if (word_is(&t, "gemodel")) {
		return parse_gemodel(ps, q);
	}
	if (word_is(&t, "state")) {
		set_err(ps->err, ps->errsize,
		        "netem: 'loss state' (4-state model) is not supported, use 'loss gemodel'");
		return -1;
	}
	return fail_value(ps, "'loss'", expects, &t);
}

static int
parse_rate_args(parser *ps, netem_link_params *q)
{
	if (parse_rate(ps, &q->rate) != 0) {
		return -1;
	}
	q->rate_overhead = q->rate_cellsize = q->rate_celloverhead = 0;
	if (next_is_number(ps, true) &&
	    parse_int(ps, "'rate' packet overhead", -65535, 65535, &q->rate_overhead) != 0) {
		return -1;
	}
	if (next_is_number(ps, false) &&
	    parse_int(ps, "'rate' cell size", 0, 65535, &q->rate_cellsize) != 0) {
		return -1;
	}
	if (next_is_number(ps, true) &&
	    parse_int(ps, "'rate' cell overhead", -65535, 65535, &q->rate_celloverhead) != 0) {
		return -1;
	}
	return 0;
}

typedef struct seen {
	bool loss, dist, gap;
} seen;

static int
parse_word(parser *ps, const token *w, netem_link_params *q, seen *s)
{
	static const char *const unsupported[] = {"corrupt", "ecn", "slot", "seed"};
	/* link fields of ntpsim's own, with no tc-netem syntax (docs/netem.md) */
	static const char *const scenario_only[] = {"pass_one_in", "extra", "copies", "up"};

	if (word_is(w, "delay") || word_is(w, "latency")) {
		return parse_delay(ps, q);
	}
	if (word_is(w, "distribution")) {
		s->dist = true;
		return parse_distribution(ps, q);
	}
	if (word_is(w, "loss") || word_is(w, "drop")) {
		if (s->loss) {
			set_err(ps->err, ps->errsize, "netem: 'loss' given twice");
			return -1;
		}
		s->loss = true;
		return parse_loss(ps, q);
	}
	if (word_is(w, "duplicate")) {
		return parse_prob_corr(ps, "'duplicate'", "'duplicate' correlation", &q->duplicate,
		                       &q->duplicate_corr);
	}
	if (word_is(w, "reorder")) {
		return parse_prob_corr(ps, "'reorder'", "'reorder' correlation", &q->reorder,
		                       &q->reorder_corr);
	}
	if (word_is(w, "gap")) {
		s->gap = true;
		return parse_int(ps, "'gap'", 0, 1000000000, &q->reorder_gap);
	}
	if (word_is(w, "rate")) {
		return parse_rate_args(ps, q);
	}
	if (word_is(w, "limit")) {
		return parse_int(ps, "'limit'", 0, 1000000000, &q->limit);
	}
	for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
		if (word_is(w, unsupported[i])) {
			set_err(ps->err, ps->errsize,
			        "netem: '%s' is not supported by ntplab's netem model",
			        unsupported[i]);
			return -1;
		}
	}
	for (size_t i = 0; i < sizeof scenario_only / sizeof scenario_only[0]; i++) {
		if (word_is(w, scenario_only[i])) {
			set_err(ps->err, ps->errsize,
			        "netem: '%s' is an ntplab extension with no tc-netem syntax: give "
			        "it "
			        "as a scenario link field (ntpsim only; ntpnetem cannot apply it)",
			        scenario_only[i]);
			return -1;
		}
	}
	set_err(ps->err, ps->errsize, "netem: unknown word '%.*s'", (int)(w->n > 40 ? 40 : w->n),
	        w->s);
	return -1;
}

/* tc's own cross-checks (q_netem.c netem_parse_opt, after the loop). */
static int
check_combination(parser *ps, const netem_link_params *q, const seen *s)
{
	if (q->reorder > 0.0 && q->delay == 0.0) {
		set_err(ps->err, ps->errsize,
		        "netem: 'reorder' needs a 'delay' (reordered packets are the ones "
		        "sent without it)");
		return -1;
	}
	if (s->gap && q->reorder_gap > 0 && q->reorder == 0.0) {
		set_err(ps->err, ps->errsize, "netem: 'gap' needs a 'reorder' probability");
		return -1;
	}
	if (s->dist && q->dist != NETEM_DIST_CONSTANT && (q->delay == 0.0 || q->jitter == 0.0)) {
		set_err(ps->err, ps->errsize,
		        "netem: 'distribution %s' needs a delay and a jitter (delay TIME JITTER)",
		        netem_dist_name(q->dist));
		return -1;
	}
	return 0;
}

int
netem_link_parse(const char *spec, netem_link_params *p, char *err, size_t errsize)
{
	parser ps = {spec, err, errsize};
	netem_link_params q;
	seen s = {false, false, false};
	token w;

	if (spec == NULL) {
		set_err(err, errsize, "netem: no spec");
		return -1;
	}
	netem_link_params_init(&q);
	while (next_token(&ps, &w)) {
		if (parse_word(&ps, &w, &q, &s) != 0) {
			return -1;
		}
	}
	if (check_combination(&ps, &q, &s) != 0) {
		return -1;
	}
	*p = q;
	return 0;
}

/* ---------------------------------------------------------------- format */

typedef struct out {
	char *buf;
	size_t size;
	size_t len;
} out;

static void emit(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
emit(out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	if (o->len < o->size) {
		n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	} else {
		n = vsnprintf(NULL, 0, fmt, ap);
	}
	va_end(ap);
	if (n > 0) {
		o->len += (size_t)n;
	}
}

/* The shortest decimal x with x / div == v (or x * div == v when mul), so
 * that netem_link_parse() reads back the very same double. */
static void
shortest(char *buf, size_t size, double v, double div, bool mul)
{
	double x = mul ? v / div : v * div;

	for (int pass = 0; pass < 5; pass++) {
		for (int prec = 1; prec <= 17; prec++) {
			double back;

			snprintf(buf, size, "%.*g", prec, x);
			back = strtod(buf, NULL);
			back = mul ? back * div : back / div;
			/* Plain digits read better than 2e+01, when they exist. */
			if (back == v && (strchr(buf, 'e') == NULL || prec == 17)) {
				return;
			}
		}
		/* A neighbour of the scaled value may map back exactly. */
		x = pass % 2 == 0 ? nextafter(x, INFINITY) : nextafter(nextafter(x, 0.0), 0.0);
	}
	snprintf(buf, size, "%.17g", mul ? v / div : v * div);
}

static void
emit_time(out *o, double s)
{
	char num[40];
	const char *u = s >= 1.0 ? "s" : s >= 1e-3 ? "ms" : s >= 1e-6 || s == 0.0 ? "us" : "ns";
	double div = s >= 1.0 ? 1.0 : s >= 1e-3 ? 1e3 : s >= 1e-6 || s == 0.0 ? 1e6 : 1e9;

	shortest(num, sizeof num, s, div, false);
	emit(o, " %s%s", num, u);
}

static void
emit_percent(out *o, double f)
{
	char num[40];

	shortest(num, sizeof num, f, 100.0, false);
	emit(o, " %s%%", num);
}

static void
emit_rate(out *o, double bits)
{
	char num[40];
	const char *u = bits >= 1e9 ? "gbit" : bits >= 1e6 ? "mbit" : bits >= 1e3 ? "kbit" : "bit";
	double mult = bits >= 1e9 ? 1e9 : bits >= 1e6 ? 1e6 : bits >= 1e3 ? 1e3 : 1.0;

	shortest(num, sizeof num, bits, mult, true);
	emit(o, " %s%s", num, u);
}

static void
emit_trace_delay(out *o, const netem_link_params *p)
{
	/* tc cannot replay a sequence: give the trace's mean and spread. */
	double sum = 0.0, sq = 0.0, mean, var;

	for (size_t i = 0; i < p->trace_len; i++) {
		sum += clamp_time(p->trace[i]);
	}
	mean = sum / (double)p->trace_len;
	for (size_t i = 0; i < p->trace_len; i++) {
		double e = clamp_time(p->trace[i]) - mean;

		sq += e * e;
	}
	var = sq / (double)p->trace_len;
	emit(o, " delay");
	emit_time(o, mean);
	if (var > 0.0) {
		emit_time(o, sqrt(var));
		emit(o, " distribution normal");
	}
}

static void
emit_delay(out *o, const netem_link_params *p)
{
	bool jitter = p->dist != NETEM_DIST_CONSTANT && (p->jitter > 0.0 || p->delay_corr > 0.0);

	if (p->dist == NETEM_DIST_TRACE) {
		if (p->trace_len > 0) {
			emit_trace_delay(o, p);
		}
		return;
	}
	if (p->delay == 0.0 && !jitter) {
		return;
	}
	emit(o, " delay");
	emit_time(o, p->delay);
	if (!jitter) {
		return;
	}
	emit_time(o, p->jitter);
	if (p->delay_corr > 0.0) {
		emit_percent(o, p->delay_corr);
	}
	if (p->dist != NETEM_DIST_UNIFORM && p->jitter > 0.0) {
		emit(o, " distribution %s", netem_dist_name(p->dist));
	}
}

static void
emit_loss(out *o, const netem_link_params *p)
{
	if (p->ge) {
		emit(o, " loss gemodel");
		emit_percent(o, p->ge_p);
		emit_percent(o, p->ge_r);
		emit_percent(o, p->ge_loss_bad);
		emit_percent(o, p->ge_loss_good);
	} else if (p->loss > 0.0) {
		emit(o, " loss random");
		emit_percent(o, p->loss);
		if (p->loss_corr > 0.0) {
			emit_percent(o, p->loss_corr);
		}
	}
}

static void
emit_rest(out *o, const netem_link_params *p)
{
	if (p->duplicate > 0.0) {
		emit(o, " duplicate");
		emit_percent(o, p->duplicate);
		if (p->duplicate_corr > 0.0) {
			emit_percent(o, p->duplicate_corr);
		}
	}
	if (p->reorder > 0.0) {
		emit(o, " reorder");
		emit_percent(o, p->reorder);
		if (p->reorder_corr > 0.0) {
			emit_percent(o, p->reorder_corr);
		}
		if (p->reorder_gap > 0) {
			emit(o, " gap %d", p->reorder_gap);
		}
	}
	if (p->rate > 0.0) {
		emit(o, " rate");
		emit_rate(o, p->rate);
		if (p->rate_overhead != 0 || p->rate_cellsize != 0 || p->rate_celloverhead != 0) {
			emit(o, " %d", p->rate_overhead);
		}
		if (p->rate_cellsize != 0 || p->rate_celloverhead != 0) {
			emit(o, " %d", p->rate_cellsize);
		}
		if (p->rate_celloverhead != 0) {
			emit(o, " %d", p->rate_celloverhead);
		}
	}
	if (p->limit > 0) {
		emit(o, " limit %d", p->limit);
	}
}

size_t
netem_link_format_tc(const netem_link_params *in, char *buf, size_t size)
{
	netem_link_params p = sanitise(in);
	char text[FORMAT_MAX];
	out o = {text, sizeof text, 0};

	text[0] = '\0';
	if (p.down) {
		emit(&o, " loss 100%%"); /* tc has no partition; this has the same effect */
	} else {
		emit_delay(&o, &p);
		emit_loss(&o, &p);
		emit_rest(&o, &p);
	}
	/* Every part starts with a blank; the text does not. */
	if (buf != NULL && size > 0) {
		snprintf(buf, size, "%s", o.len > 0 ? text + 1 : "");
	}
	return o.len > 0 ? o.len - 1 : 0;
}
