/* SPDX-License-Identifier: BSD-2-Clause */
/* A 4-ary min-heap of events ordered by (t, seq): half the depth of a
 * binary heap, and the four children share a cache line or two. */
#include "netem_heap.h"

#include <stdlib.h>

#define HEAP_INITIAL_CAP 256 /* events; grows by doubling */
#define ARITY            4   /* children per node */

static bool
before(const netem_event *a, const netem_event *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

void
netem_heap_init(netem_heap *h)
{
	h->v = NULL;
	h->n = 0;
	h->cap = 0;
	h->next_seq = 0;
}

void
netem_heap_free(netem_heap *h)
{
	free(h->v);
	netem_heap_init(h);
}

static int
grow(netem_heap *h)
{
	size_t cap = h->cap == 0 ? HEAP_INITIAL_CAP : h->cap * 2;
	netem_event *v;

	if (cap > SIZE_MAX / sizeof(*v)) {
		return -1;
	}
	v = realloc(h->v, cap * sizeof(*v));
	if (v == NULL) {
		return -1;
	}
	h->v = v;
	h->cap = cap;
	return 0;
}

int
netem_heap_push(netem_heap *h, int64_t t, uint32_t kind, uint32_t node, uint32_t arg, uint32_t gen)
{
	netem_event e;
	size_t i;

	if (h->n == h->cap && grow(h) != 0) {
		return -1;
	}
	e.t = t;
	e.seq = h->next_seq++;
	e.kind = kind;
	e.node = node;
	e.arg = arg;
	e.gen = gen;
	/* Sift up: move parents down until e's place is found. */
	i = h->n++;
	while (i > 0) {
		size_t parent = (i - 1) / ARITY;

		if (!before(&e, &h->v[parent])) {
			break;
		}
		h->v[i] = h->v[parent];
		i = parent;
	}
	h->v[i] = e;
	return 0;
}

const netem_event *
netem_heap_peek(const netem_heap *h)
{
	return h->n > 0 ? &h->v[0] : NULL;
}

const netem_event *
netem_heap_peek_second(const netem_heap *h)
{
	const netem_event *best = NULL;

	/* the second earliest is one of the root's children, v[1..4] */
	for (size_t i = 1; i <= 4 && i < h->n; i++) {
		if (best == NULL || before(&h->v[i], best)) {
			best = &h->v[i];
		}
	}
	return best;
}

bool
netem_heap_pop(netem_heap *h, netem_event *out)
{
	netem_event last;
	size_t i = 0;

	if (h->n == 0) {
		return false;
	}
	*out = h->v[0];
	last = h->v[--h->n];
	/* Sift down the former last element from the root. */
	for (;;) {
		size_t first = ARITY * i + 1, best, end;

		if (first >= h->n) {
			break;
		}
		best = first;
		end = first + ARITY < h->n ? first + ARITY : h->n;
		for (size_t c = first + 1; c < end; c++) {
			if (before(&h->v[c], &h->v[best])) {
				best = c;
			}
		}
		if (!before(&h->v[best], &last)) {
			break;
		}
		h->v[i] = h->v[best];
		i = best;
	}
	if (h->n > 0) {
		h->v[i] = last;
	}
	return true;
}
