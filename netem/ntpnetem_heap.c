/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntpnetem_heap: a binary min-heap on (due, order).
 */
#include "ntpnetem_heap.h"

#include <stdbool.h>
#include <stdlib.h>

static bool
earlier(const ntpnetem_item *a, const ntpnetem_item *b)
{
	if (a->due != b->due) {
		return a->due < b->due;
	}
	return a->order < b->order;
}

static void
swap(ntpnetem_item *a, ntpnetem_item *b)
{
	ntpnetem_item t = *a;

	*a = *b;
	*b = t;
}

static void
sift_up(ntpnetem_heap *h, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!earlier(&h->v[i], &h->v[parent])) {
			return;
		}
		swap(&h->v[i], &h->v[parent]);
		i = parent;
	}
}

static void
sift_down(ntpnetem_heap *h, size_t i)
{
	for (;;) {
		size_t left = 2 * i + 1;
		size_t best = i;

		if (left < h->n && earlier(&h->v[left], &h->v[best])) {
			best = left;
		}
		if (left + 1 < h->n && earlier(&h->v[left + 1], &h->v[best])) {
			best = left + 1;
		}
		if (best == i) {
			return;
		}
		swap(&h->v[i], &h->v[best]);
		i = best;
	}
}

int
ntpnetem_heap_init(ntpnetem_heap *h, size_t cap)
{
	h->n = 0;
	h->cap = 0;
	h->pushed = 0;
	h->v = NULL;
	if (cap == 0) {
		return -1;
	}
	h->v = calloc(cap, sizeof *h->v);
	if (h->v == NULL) {
		return -1;
	}
	h->cap = cap;
	return 0;
}

void
ntpnetem_heap_fini(ntpnetem_heap *h)
{
	free(h->v);
	h->v = NULL;
	h->n = 0;
	h->cap = 0;
}

int
ntpnetem_heap_push(ntpnetem_heap *h, const ntpnetem_item *it)
{
	if (h->n >= h->cap) {
		return -1;
	}
	h->v[h->n] = *it;
	h->v[h->n].order = h->pushed++;
	h->n++;
	sift_up(h, h->n - 1);
	return 0;
}

const ntpnetem_item *
ntpnetem_heap_peek(const ntpnetem_heap *h)
{
	return h->n > 0 ? &h->v[0] : NULL;
}

int
ntpnetem_heap_pop(ntpnetem_heap *h, ntpnetem_item *out)
{
	if (h->n == 0) {
		return -1;
	}
	*out = h->v[0];
	h->n--;
	if (h->n > 0) {
		h->v[0] = h->v[h->n];
		sift_down(h, 0);
	}
	return 0;
}
