/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_heap: the simulator's event queue, a 4-ary min-heap keyed by true
 * time (int64 ns) and then by insertion sequence number, so two events due
 * at the same nanosecond run in the order they were scheduled and a run is
 * a pure function of its inputs.
 *
 * Events are small fixed-size records (32 bytes); what they refer to (a
 * node, a packet slot, a scenario event) is an index the engine owns.  The
 * array grows by doubling, so pushing is amortised O(log n) with no
 * allocation once the heap has reached its working size.
 */
#ifndef SIM_HEAP_H
#define SIM_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sim_event {
	int64_t t;     /* ns, true time */
	uint64_t seq;  /* insertion order: breaks ties */
	uint32_t kind; /* the engine's event kind */
	uint32_t node; /* node index, or unused */
	uint32_t arg;  /* packet slot, scenario event index, ... */
	uint32_t gen;  /* generation, to recognise superseded timers */
} sim_event;

typedef struct sim_heap {
	sim_event *v;
	size_t n;
	size_t cap;
	uint64_t next_seq;
} sim_heap;

void sim_heap_init(sim_heap *h);
void sim_heap_free(sim_heap *h);

/* Schedule an event.  Returns 0, or -1 when memory runs out. */
int sim_heap_push(sim_heap *h, int64_t t, uint32_t kind, uint32_t node, uint32_t arg, uint32_t gen);

/* The earliest event (NULL when empty); it stays in the heap. */
const sim_event *sim_heap_peek(const sim_heap *h);

/* Remove the earliest event into *out; false when empty. */
bool sim_heap_pop(sim_heap *h, sim_event *out);

#endif
