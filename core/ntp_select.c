/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Selection, clustering and combining: RFC 5905 §11.2, App. A.5.5.1
 * clock_select() and A.5.5.5 clock_combine(), in ntpd's arrangement.
 * ntp_select.h lists where we follow ntpd 4.2.6, 4.2.8/NTPsec or the RFC.
 */
#include "ntp_select.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ntp_const.h"

#define PRECISION_DEFAULT 9.5367431640625e-07 /* s, 2^-20, a typical sys.precision */
#define ENDPOINT_LOWER    (-1)                /* ntpd endpoint type of theta - lambda */
#define ENDPOINT_UPPER    1                   /* ntpd endpoint type of theta + lambda */

/* The parameters with defaults filled in and nonsense cleaned up. */
typedef struct settings {
	int minsane;
	int minclock;
	int maxclock;
	int prev_sys_peer;
	double precision;
	double maxdist;
	double mindist;
	double clockhop;
} settings;

typedef struct endpoint {
	double val;
	int type; /* ENDPOINT_LOWER or ENDPOINT_UPPER */
	int idx;  /* input index */
} endpoint;

/* One run's working set; everything lives on the caller's stack. */
typedef struct selection {
	const ntp_select_cand *c;
	int n; /* inputs */
	ntp_select_result *r;
	settings s;
	double lambda[NTP_SELECT_MAX]; /* root distance, floored at mindist */
	int cand[NTP_SELECT_MAX];      /* input indexes entering the intersection */
	int ncand;
	int invalid;              /* inputs rejected as invalid */
	int local_idx;            /* LOCAL fallback, -1 if none */
	int surv[NTP_SELECT_MAX]; /* survivors, best metric first */
	int nsurv;
	double weight_sum; /* sum of 1/lambda over the survivors */
} selection;

/* Rows written when read (ntp_select_why). */
enum why_pending {
	WHY_WRITTEN = 0,
	WHY_SURVIVOR_PREFER,
	WHY_SURVIVOR_WEIGHT,
	WHY_SYSPEER_PREFER, /* num: root distance */
	WHY_SYSPEER_LOCAL,
	WHY_SYSPEER_KEPT, /* num: distance from the best, num2: the hop threshold */
	WHY_SYSPEER_BEST  /* num: root distance, num2: stratum */
};

/* Set candidate i's state; returns its reason buffer for snprintf. */
static char *
mark(selection *w, int i, int state)
{
	w->r->state[i] = (uint8_t)state;
	w->r->why_pending[i] = WHY_WRITTEN;
	return w->r->why[i];
}

/* Set candidate i's state with its reason pending as numbers. */
static void
mark_pending2(selection *w, int i, int state, int kind, double num, double num2)
{
	mark(w, i, state)[0] = '\0';
	w->r->why_pending[i] = (uint8_t)kind;
	w->r->why_num[i][0] = num;
	w->r->why_num[i][1] = num2;
}

static void
mark_pending(selection *w, int i, int state, int kind, double num)
{
	mark_pending2(w, i, state, kind, num, 0.0);
}

void
ntp_select_note_format(ntp_select_note *n, char *b, size_t size)
{
	switch (n->kind) {
	case WHY_SURVIVOR_PREFER:
		snprintf(b, size, "candidate: survivor; prefer peer %d sets the offset alone",
		         (int)n->num);
		break;
	case WHY_SURVIVOR_WEIGHT:
		snprintf(b, size, "candidate: survivor, combine weight %.3f", n->num);
		break;
	case WHY_SYSPEER_PREFER:
		snprintf(b, size, "sys_peer: prefer peer, root distance %.6f s", n->num);
		break;
	case WHY_SYSPEER_LOCAL:
		snprintf(b, size, "sys_peer: local clock fallback, no other source survives");
		break;
	case WHY_SYSPEER_KEPT:
		snprintf(b, size, "sys_peer: kept (clockhop: %.6f s from best < %.6f s)", n->num,
		         n->num2);
		break;
	case WHY_SYSPEER_BEST:
		snprintf(b, size, "sys_peer: best metric, stratum %d, root distance %.6f s",
		         (int)n->num2, n->num);
		break;
	default:
		break;
	}
	n->kind = WHY_WRITTEN;
}

bool
ntp_select_note_take(const ntp_select_result *r, size_t i, ntp_select_note *out)
{
	if (i >= NTP_SELECT_MAX || r->why_pending[i] == WHY_WRITTEN) {
		return false;
	}
	*out = (ntp_select_note){
	        .kind = r->why_pending[i], .num = r->why_num[i][0], .num2 = r->why_num[i][1]};
	return true;
}

const char *
ntp_select_why(ntp_select_result *r, size_t i)
{
	ntp_select_note n;

	if (i >= NTP_SELECT_MAX) {
		return "";
	}
	if (ntp_select_note_take(r, i, &n)) {
		ntp_select_note_format(&n, r->why[i], NTP_SELECT_WHY_MAX);
		r->why_pending[i] = WHY_WRITTEN;
	}
	return r->why[i];
}

const char *
ntp_select_reason(ntp_select_result *r)
{
	if (r->reason_pending) {
		snprintf(
		        r->reason, sizeof r->reason,
		        "sys_peer %d: %d survivors of %d candidates, %d falsetickers, %d discarded",
		        r->sys_peer, r->n_survivors, r->n_candidates, r->n_falsetickers,
		        r->n_discarded);
		r->reason_pending = false;
	}
	return r->reason;
}

void
ntp_select_params_default(ntp_select_params *p)
{
	memset(p, 0, sizeof *p);
	p->minsane = NTP_SELECT_MINSANE;
	p->minclock = NTP_SELECT_MINCLOCK;
	p->maxclock = NTP_SELECT_MAXCLOCK;
	p->prev_sys_peer = -1;
	p->sys_precision = PRECISION_DEFAULT;
	p->maxdist = NTP_SELECT_MAXDIST;
	p->mindist = NTP_SELECT_MINDIST;
	p->clockhop = 0.0;
}

static bool
positive_finite(double x)
{
	return isfinite(x) && x > 0.0;
}

static void
resolve_params(const ntp_select_params *p, settings *s)
{
	ntp_select_params d;

	if (p == NULL) {
		ntp_select_params_default(&d);
		p = &d;
	}
	s->minsane = p->minsane < 0 ? 0 : p->minsane;
	s->minclock = p->minclock < 1 ? 1 : p->minclock;
	s->maxclock = p->maxclock < 1 ? NTP_SELECT_MAXCLOCK : p->maxclock;
	s->prev_sys_peer = p->prev_sys_peer;
	s->precision = positive_finite(p->sys_precision) ? p->sys_precision : 0.0;
	s->maxdist = positive_finite(p->maxdist) ? p->maxdist : NTP_SELECT_MAXDIST;
	s->mindist = positive_finite(p->mindist) ? p->mindist : NTP_SELECT_MINDIST;
	s->clockhop = positive_finite(p->clockhop) ? p->clockhop : 0.0;
}

/* Step 1: one candidate's numbers.  Writes the reason and returns false
 * when they cannot take part. */
static bool
check_input(selection *w, int i)
{
	const ntp_select_cand *c = &w->c[i];

	if (!isfinite(c->offset) || fabs(c->offset) >= NTP_SELECT_LIMIT) {
		snprintf(mark(w, i, NTP_SEL_REJECT), NTP_SELECT_WHY_MAX,
		         "invalid input: offset %g s", c->offset);
		return false;
	}
	if (!isfinite(c->jitter) || c->jitter < 0.0 || c->jitter >= NTP_SELECT_LIMIT) {
		snprintf(mark(w, i, NTP_SEL_REJECT), NTP_SELECT_WHY_MAX,
		         "invalid input: jitter %g s", c->jitter);
		return false;
	}
	if (!isfinite(c->rootdist) || c->rootdist < 0.0 || c->rootdist >= NTP_SELECT_LIMIT) {
		snprintf(mark(w, i, NTP_SEL_REJECT), NTP_SELECT_WHY_MAX,
		         "invalid input: root distance %g s", c->rootdist);
		return false;
	}
	if (c->stratum < 0 || c->stratum >= NTP_STRATUM_UNSPEC) {
		snprintf(mark(w, i, NTP_SEL_REJECT), NTP_SELECT_WHY_MAX,
		         "invalid input: stratum %d outside 0..15", c->stratum);
		return false;
	}
	/* ntpd root_distance(): never below mindist, so weights stay finite and
	 * near-perfect clocks do not hop on noise. */
	w->lambda[i] = c->rootdist < w->s.mindist ? w->s.mindist : c->rootdist;
	return true;
}

/* Steps 1 and 2: sort the inputs into intersection candidates, the LOCAL
 * fallback and rejects. */
static void
gather_candidates(selection *w)
{
	for (int i = 0; i < w->n; i++) {
		const ntp_select_cand *c = &w->c[i];

		if (!check_input(w, i)) {
			w->invalid++;
			continue;
		}
		if (c->local && !c->prefer) {
			if (w->local_idx < 0) {
				w->local_idx = i;
			}
			continue;
		}
		w->cand[w->ncand++] = i;
	}
}

/* Ascending by value; at equal values an upper end sorts before a lower
 * one, so intervals that only touch do not count as overlapping; then
 * input order, for a total (deterministic) order. */
static bool
endpoint_before(const endpoint *a, const endpoint *b)
{
	if (a->val != b->val) {
		return a->val < b->val;
	}
	if (a->type != b->type) {
		return a->type > b->type;
	}
	return a->idx < b->idx;
}

static int
build_endpoints(const selection *w, endpoint e[])
{
	int ne = 0;

	for (int k = 0; k < w->ncand; k++) {
		int i = w->cand[k];

		e[ne++] = (endpoint){w->c[i].offset - w->lambda[i], ENDPOINT_LOWER, i};
		e[ne++] = (endpoint){w->c[i].offset + w->lambda[i], ENDPOINT_UPPER, i};
	}
	for (int a = 1; a < ne; a++) {
		endpoint x = e[a];
		int b = a - 1;

		while (b >= 0 && endpoint_before(&x, &e[b])) {
			e[b + 1] = e[b];
			b--;
		}
		e[b + 1] = x;
	}
	return ne;
}

/* The largest number of correctness intervals with a common point (of
 * nonzero width): how many sources agree at most. */
static int
max_agreement(const endpoint e[], int ne)
{
	int depth = 0, best = 0;

	for (int i = 0; i < ne; i++) {
		depth -= e[i].type;
		if (depth > best) {
			best = depth;
		}
	}
	return best;
}

/* The intersection algorithm (RFC 5905 §11.2.1, ntpd clock_select()):
 * allow f falsetickers, f = 0, 1, ... while 2f < m; the first f for which
 * the points covered by m - f intervals span a nonzero width wins. */
static bool
find_intersection(const endpoint e[], int ne, int m, double *low, double *high)
{
	for (int allow = 0; 2 * allow < m; allow++) {
		int need = m - allow, count = 0;
		double lo = e[ne - 1].val, hi = e[0].val;

		for (int i = 0; i < ne; i++) {
			count -= e[i].type;
			if (count >= need) {
				lo = e[i].val;
				break;
			}
		}
		count = 0;
		for (int i = ne - 1; i >= 0; i--) {
			count += e[i].type;
			if (count >= need) {
				hi = e[i].val;
				break;
			}
		}
		if (hi > lo) {
			*low = lo;
			*high = hi;
			return true;
		}
	}
	return false;
}

/* Step 3: truechimers go on to the cluster list, falsetickers get 'x'. */
static void
intersect(selection *w)
{
	endpoint e[2 * NTP_SELECT_MAX];
	ntp_select_result *r = w->r;
	int ne, agree, need = w->ncand / 2 + 1;

	if (w->ncand == 0) {
		return;
	}
	ne = build_endpoints(w, e);
	r->interval_found = find_intersection(e, ne, w->ncand, &r->low, &r->high);
	agree = max_agreement(e, ne);
	for (int k = 0; k < w->ncand; k++) {
		int i = w->cand[k];
		const ntp_select_cand *c = &w->c[i];
		double lam = w->lambda[i];
		bool inside = r->interval_found && c->offset + lam >= r->low &&
		              c->offset - lam <= r->high;

		if (inside || c->trueticker) {
			w->surv[w->nsurv++] = i;
			continue;
		}
		if (r->interval_found) {
			snprintf(mark(w, i, NTP_SEL_FALSETICKER), NTP_SELECT_WHY_MAX,
			         "falseticker: offset %+.6f s +- %.6f outside intersection "
			         "[%+.6f, %+.6f]",
			         c->offset, lam, r->low, r->high);
		} else {
			snprintf(mark(w, i, NTP_SEL_FALSETICKER), NTP_SELECT_WHY_MAX,
			         "falseticker: no majority: only %d of %d sources agree, need %d",
			         agree, w->ncand, need);
		}
	}
	if (!r->interval_found) {
		snprintf(r->reason, sizeof r->reason,
		         "no majority: only %d of %d sources agree, need %d", agree, w->ncand,
		         need);
	}
}

/* RFC 5905 / ntpd 4.2.6 survivor metric: stratum first, then distance. */
static double
metric(const selection *w, int i)
{
	return w->c[i].stratum * w->s.maxdist + w->lambda[i];
}

/* Stable insertion sort of the survivors by metric (ties: input order,
 * which is the order they were added in). */
static void
sort_survivors(selection *w)
{
	for (int a = 1; a < w->nsurv; a++) {
		int x = w->surv[a];
		double mx = metric(w, x);
		int b = a - 1;

		while (b >= 0 && metric(w, w->surv[b]) > mx) {
			w->surv[b + 1] = w->surv[b];
			b--;
		}
		w->surv[b + 1] = x;
	}
}

/* Selection jitter of survivor k: RMS offset difference to the others
 * (RFC 5905 §11.2.2). */
static double
selection_jitter(const selection *w, int k)
{
	double sum = 0.0;
	double own = w->c[w->surv[k]].offset;

	if (w->nsurv < 2) {
		return 0.0;
	}
	for (int j = 0; j < w->nsurv; j++) {
		double d = w->c[w->surv[j]].offset - own;

		sum += d * d;
	}
	return sqrt(sum / (w->nsurv - 1));
}

static void
remove_survivor(selection *w, int k)
{
	for (int j = k + 1; j < w->nsurv; j++) {
		w->surv[j - 1] = w->surv[j];
	}
	w->nsurv--;
}

/* Step 4, the cluster algorithm (RFC 5905 §11.2.2, ntpd clock_select()).
 * Returns the number discarded. */
static int
cluster(selection *w)
{
	int floor_n = w->s.minclock;
	int discarded = 0;

	while (w->nsurv > floor_n) {
		double min_jitter = INFINITY, worst = -1.0, worst_seljit = 0.0;
		int k = 0;

		for (int j = 0; j < w->nsurv; j++) {
			int i = w->surv[j];
			double sj = selection_jitter(w, j);

			if (w->c[i].jitter < min_jitter) {
				min_jitter = w->c[i].jitter;
			}
			if (sj * w->lambda[i] > worst) {
				worst = sj * w->lambda[i];
				worst_seljit = sj;
				k = j;
			}
		}
		if (min_jitter < w->s.precision) {
			min_jitter = w->s.precision;
		}
		int i = w->surv[k];
		if (worst_seljit <= min_jitter || w->c[i].prefer || w->c[i].trueticker) {
			break;
		}
		if (w->nsurv > w->s.maxclock) {
			snprintf(mark(w, i, NTP_SEL_BACKUP), NTP_SELECT_WHY_MAX,
			         "backup: cluster discard with %d survivors > maxclock %d, "
			         "selection jitter %.6f s",
			         w->nsurv, w->s.maxclock, worst_seljit);
		} else {
			snprintf(mark(w, i, NTP_SEL_OUTLIER), NTP_SELECT_WHY_MAX,
			         "outlier: cluster discard, selection jitter %.6f s > min peer "
			         "jitter %.6f s",
			         worst_seljit, min_jitter);
		}
		remove_survivor(w, k);
		discarded++;
	}
	return discarded;
}

static int
survivor_position(const selection *w, int id)
{
	for (int j = 0; j < w->nsurv; j++) {
		if (w->c[w->surv[j]].id == id) {
			return j;
		}
	}
	return -1;
}

/* Step 5 (ntpd 4.2.8/NTPsec clockhop): stay with the previous system peer
 * while its offset is within the hop threshold of the best survivor's; the
 * threshold starts at mindist and halves every time it is applied.
 * Returns the survivor position of the system peer. */
static int
clockhop(selection *w, bool *kept, double *x_out)
{
	int prev = w->s.prev_sys_peer < 0 ? -1 : survivor_position(w, w->s.prev_sys_peer);
	double x;

	*kept = false;
	w->r->clockhop = 0.0;
	if (prev <= 0) {
		return 0; /* no previous peer, it is the best, or it did not survive */
	}
	x = fabs(w->c[w->surv[0]].offset - w->c[w->surv[prev]].offset);
	*x_out = x;
	if (x >= w->s.mindist) {
		return 0;
	}
	w->r->clockhop = w->s.clockhop > 0.0 ? w->s.clockhop * 0.5 : w->s.mindist;
	if (x < w->r->clockhop) {
		*kept = true;
		return prev;
	}
	w->r->clockhop = 0.0;
	return 0;
}

static int
first_prefer(const selection *w)
{
	for (int j = 0; j < w->nsurv; j++) {
		if (w->c[w->surv[j]].prefer) {
			return j;
		}
	}
	return -1;
}

/* Step 6, clock_combine (RFC 5905 §11.2.3): offsets weighted by 1/lambda;
 * jitter from the weighted spread around the system peer plus its own. */
static void
combine(selection *w, int sys)
{
	double sum_w = 0.0, sum_off = 0.0, sum_sq = 0.0;
	double sys_off = w->c[sys].offset;

	for (int j = 0; j < w->nsurv; j++) {
		int i = w->surv[j];
		double x = 1.0 / w->lambda[i];
		double d = w->c[i].offset - sys_off;

		sum_w += x;
		sum_off += x * w->c[i].offset;
		sum_sq += x * d * d;
	}
	w->weight_sum = sum_w;
	w->r->offset = sum_off / sum_w;
	w->r->jitter = sqrt(sum_sq / sum_w + w->c[sys].jitter * w->c[sys].jitter);
}

static void
mark_survivors(selection *w, int sys, bool prefer_used)
{
	for (int j = 0; j < w->nsurv; j++) {
		int i = w->surv[j];

		if (i == sys) {
			continue;
		}
		if (prefer_used) {
			mark_pending(w, i, NTP_SEL_CANDIDATE, WHY_SURVIVOR_PREFER, w->c[sys].id);
		} else {
			mark_pending(w, i, NTP_SEL_CANDIDATE, WHY_SURVIVOR_WEIGHT,
			             (1.0 / w->lambda[i]) / w->weight_sum);
		}
	}
}

/* Step 5 and 6: pick the system peer among the survivors and combine. */
static void
choose_sys_peer(selection *w, bool local_fallback)
{
	ntp_select_result *r = w->r;
	int pos, pref, sys;
	bool kept;
	double x = 0.0;

	pos = clockhop(w, &kept, &x);
	pref = first_prefer(w);
	if (pref >= 0) {
		pos = pref;
		r->clockhop = 0.0;
	}
	sys = w->surv[pos];
	r->sys_index = sys;
	r->sys_peer = w->c[sys].id;
	r->rootdist = w->lambda[sys];
	combine(w, sys);
	if (pref >= 0) {
		r->offset = w->c[sys].offset;
		r->jitter = w->c[sys].jitter;
		mark_pending(w, sys, NTP_SEL_SYSPEER, WHY_SYSPEER_PREFER, w->lambda[sys]);
	} else if (local_fallback) {
		mark_pending(w, sys, NTP_SEL_SYSPEER, WHY_SYSPEER_LOCAL, 0.0);
	} else if (kept) {
		mark_pending2(w, sys, NTP_SEL_SYSPEER, WHY_SYSPEER_KEPT, x, r->clockhop);
	} else {
		mark_pending2(w, sys, NTP_SEL_SYSPEER, WHY_SYSPEER_BEST, w->lambda[sys],
		              (double)w->c[sys].stratum);
	}
	mark_survivors(w, sys, pref >= 0);
}

/* Why there is no survivor at all. */
static void
explain_nothing(selection *w)
{
	if (w->ncand == 0 && w->invalid > 0) {
		snprintf(w->r->reason, sizeof w->r->reason,
		         "no candidates: %d rejected as invalid input", w->invalid);
	} else if (w->ncand == 0) {
		snprintf(w->r->reason, sizeof w->r->reason, "no candidates");
	} else if (w->r->reason[0] == '\0') {
		snprintf(w->r->reason, sizeof w->r->reason, "no survivors of %d candidates",
		         w->ncand);
	}
}

/* Everything but the reason table cleared, and of that the n rows in use
 * (a clear of all 64 x 128 bytes on every selection was a hot spot, issue
 * 17 §1); rows >= n are left as they were. */
static void
reset_result(ntp_select_result *r, size_t n)
{
	size_t rows = n < NTP_SELECT_MAX ? n : NTP_SELECT_MAX;

	memset(r, 0, offsetof(ntp_select_result, why));
	memset(r->why, 0, rows * sizeof r->why[0]);
	r->sys_peer = -1;
	r->sys_index = -1;
	for (size_t i = 0; i < rows; i++) {
		r->state[i] = NTP_SEL_REJECT;
	}
}

static bool
check_call(const ntp_select_cand *c, size_t n, ntp_select_result *r)
{
	if (n > NTP_SELECT_MAX) {
		snprintf(r->reason, sizeof r->reason, "too many candidates: %zu > %d", n,
		         NTP_SELECT_MAX);
		return false;
	}
	if (c == NULL && n > 0) {
		snprintf(r->reason, sizeof r->reason, "no candidate array for %zu candidates", n);
		return false;
	}
	return true;
}

static void
mark_local(selection *w, bool used)
{
	for (int i = 0; i < w->n && w->local_idx >= 0; i++) {
		if (i == w->local_idx && used) {
			continue;
		}
		if (w->r->why[i][0] == '\0' && w->c[i].local && !w->c[i].prefer) {
			if (used) {
				snprintf(mark(w, i, NTP_SEL_REJECT), NTP_SELECT_WHY_MAX,
				         "local clock not used: local clock %d is the fallback",
				         w->c[w->local_idx].id);
			} else {
				snprintf(mark(w, i, NTP_SEL_REJECT), NTP_SELECT_WHY_MAX,
				         "local clock not used: real sources available (%d "
				         "truechimers)",
				         w->nsurv);
			}
		}
	}
}

static void
summarize(selection *w, int discarded)
{
	ntp_select_result *r = w->r;
	int falsetickers = 0;

	for (int k = 0; k < w->ncand; k++) {
		if (r->state[w->cand[k]] == NTP_SEL_FALSETICKER) {
			falsetickers++;
		}
	}
	r->n_falsetickers = falsetickers;
	r->n_discarded = discarded;
	r->reason_pending = true; /* ntp_select_reason writes it */
}

int
ntp_select_run(const ntp_select_cand *c, size_t n, const ntp_select_params *p, ntp_select_result *r)
{
	selection w;
	bool local_fallback = false;
	int discarded;

	if (r == NULL) {
		return -1;
	}
	reset_result(r, n);
	if (!check_call(c, n, r)) {
		return -1;
	}
	memset(&w, 0, sizeof w);
	w.c = c;
	w.n = (int)n;
	w.r = r;
	w.local_idx = -1;
	resolve_params(p, &w.s);

	gather_candidates(&w);
	r->n_candidates = w.ncand;
	intersect(&w);
	if (w.nsurv == 0 && w.local_idx >= 0) {
		w.surv[w.nsurv++] = w.local_idx;
		local_fallback = true;
	}
	mark_local(&w, local_fallback);
	r->n_truechimers = w.nsurv;
	if (w.nsurv == 0) {
		explain_nothing(&w);
		return -1;
	}
	sort_survivors(&w);
	discarded = cluster(&w);
	r->n_survivors = w.nsurv;
	if (w.nsurv < w.s.minsane) {
		for (int j = 0; j < w.nsurv; j++) {
			snprintf(mark(&w, w.surv[j], NTP_SEL_CANDIDATE), NTP_SELECT_WHY_MAX,
			         "candidate: survivor, but %d survivors < minsane %d", w.nsurv,
			         w.s.minsane);
		}
		snprintf(r->reason, sizeof r->reason, "%d survivor%s, fewer than minsane %d",
		         w.nsurv, w.nsurv == 1 ? "" : "s", w.s.minsane);
		return -1;
	}
	choose_sys_peer(&w, local_fallback);
	summarize(&w, discarded);
	return r->sys_peer;
}

char
ntp_select_tally(int state)
{
	static const char tally[] = " x.-+#*";

	if (state < 0 || state > NTP_SEL_SYSPEER) {
		return ' ';
	}
	return tally[state];
}

const char *
ntp_select_state_name(int state)
{
	static const char *const names[] = {"reject",    "falseticker", "excess",  "outlier",
	                                    "candidate", "backup",      "sys_peer"};

	if (state < 0 || state > NTP_SEL_SYSPEER) {
		return "unknown";
	}
	return names[state];
}
