/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * netem_heap: the one event queue of the house, a 4-ary min-heap keyed by
 * time (int64 ns) and then by insertion sequence number, so two events due
 * at the same nanosecond leave in the order they were pushed: ntpsim's
 * engine (true time; a run is a pure function of its inputs) and ntpnetem's
 * held packets (CLOCK_MONOTONIC; ties leave like the kernel's time-sorted
 * netem queue).  Pure: no I/O, no clock.
 *
 * Events are small fixed-size records (32 bytes); what they refer to (a
 * node, a packet slot, a scenario event) is an index the caller owns.  The
 * array grows by doubling, so pushing is amortised O(log n) with no
 * allocation once the heap has reached its working size.
 */
#ifndef NETEM_HEAP_H
#define NETEM_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct netem_event {
	int64_t t;     /* ns: ntpsim's true time, ntpnetem's CLOCK_MONOTONIC */
	uint64_t seq;  /* insertion order: breaks ties */
	uint32_t kind; /* the caller's event kind */
	uint32_t node; /* node index, or unused */
	uint32_t arg;  /* packet slot, scenario event index, ... */
	uint32_t gen;  /* generation, to recognise superseded timers */
} netem_event;

typedef struct netem_heap {
	netem_event *v;
	size_t n;
	size_t cap;
	uint64_t next_seq;
} netem_heap;

void netem_heap_init(netem_heap *h);
void netem_heap_free(netem_heap *h);

/* Schedule an event.  Returns 0, or -1 when memory runs out. */
int netem_heap_push(netem_heap *h, int64_t t, uint32_t kind, uint32_t node, uint32_t arg,
                    uint32_t gen);

/* The earliest event (NULL when empty); it stays in the heap. */
const netem_event *netem_heap_peek(const netem_heap *h);

/* The event that leaves after the earliest (NULL when fewer than two): what
 * a caller prefetches for ahead of time. */
const netem_event *netem_heap_peek_second(const netem_heap *h);

/* Remove the earliest event into *out; false when empty. */
bool netem_heap_pop(netem_heap *h, netem_event *out);

#endif
