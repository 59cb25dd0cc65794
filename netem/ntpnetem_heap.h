/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntpnetem_heap: the packets ntpnetem holds, ordered by the time they are
 * due to leave (CLOCK_MONOTONIC ns).  Packets due at the same nanosecond
 * leave in the order they were pushed, like the kernel's time-sorted netem
 * queue, so a run's release order depends only on the due times.
 *
 * Pure: no I/O, no clock.  The capacity is fixed at init (tc's `limit`), so
 * the daemon's memory is bounded whatever arrives.
 */
#ifndef NTPNETEM_HEAP_H
#define NTPNETEM_HEAP_H

#include <stddef.h>
#include <stdint.h>

enum ntpnetem_kind {
	NTPNETEM_VERDICT = 0, /* the queued packet itself: NF_ACCEPT when due */
	NTPNETEM_COPY         /* a duplicate: the saved bytes are sent when due */
};

typedef struct ntpnetem_item {
	int64_t due;        /* ns, CLOCK_MONOTONIC, when the copy leaves */
	int64_t offered;    /* ns, CLOCK_MONOTONIC, when the packet was queued */
	uint64_t order;     /* set by push: ties leave in push order */
	uint64_t seq;       /* packet number in offer order, from 0 */
	uint32_t id;        /* NFQUEUE packet id (NTPNETEM_VERDICT) */
	int kind;           /* enum ntpnetem_kind */
	unsigned char *buf; /* NTPNETEM_COPY: the IP packet, owned by the item */
	size_t len;         /* bytes in buf */
} ntpnetem_item;

typedef struct ntpnetem_heap {
	ntpnetem_item *v; /* v[0] is the earliest due */
	size_t n;
	size_t cap;
	uint64_t pushed; /* items ever pushed: the next order value */
} ntpnetem_heap;

/* Room for cap items.  Returns 0, or -1 when cap is 0 or memory is short. */
int ntpnetem_heap_init(ntpnetem_heap *h, size_t cap);

/* Frees the array; items' buffers are the caller's to free first. */
void ntpnetem_heap_fini(ntpnetem_heap *h);

/* Adds a copy of *it (its order is assigned here).  Returns 0, or -1 when
 * the heap is full. */
int ntpnetem_heap_push(ntpnetem_heap *h, const ntpnetem_item *it);

/* The earliest item, or NULL when empty; it stays in the heap. */
const ntpnetem_item *ntpnetem_heap_peek(const ntpnetem_heap *h);

/* Removes the earliest item into *out.  Returns 0, or -1 when empty. */
int ntpnetem_heap_pop(ntpnetem_heap *h, ntpnetem_item *out);

#endif
