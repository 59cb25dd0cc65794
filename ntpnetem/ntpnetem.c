/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntpnetem: a userspace packet shaper.  It applies libnetem's link model
 * (netem_link_offer(), the code ntpsim's simulated links run) to real packets
 * that an NFQUEUE rule hands it, for kernels built without sch_netem.
 *
 * Each queued packet is offered to the model at the CLOCK_MONOTONIC time it
 * reaches us.  A lost packet gets NF_DROP at once; a delivered one is held in
 * a heap and gets NF_ACCEPT when its arrival time comes (verdicts go out in
 * time order, whatever the packet ids); a duplicate's second copy is sent
 * again through a raw socket, with a firewall mark by which we recognise it
 * and let it pass when it comes back through the queue.  The program never
 * touches the realtime clock and installs no firewall rules; docs/ntpnetem.8.md
 * shows the rule to add.  Its lifetime is bounded (--duration).
 *
 * API: libnetfilter_queue's classic nfq_* interface (nfq_open,
 * nfq_create_queue, nfq_set_mode(NFQNL_COPY_PACKET), nfq_set_verdict).  It is
 * the documented, stable interface of libnetfilter-queue 1.0.x and needs no
 * libmnl message building.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#ifndef SO_MARK
/* glibc exposes SO_MARK only to _DEFAULT_SOURCE; the kernel's header has it */
#include <asm/socket.h>
#endif

#include "netem_heap.h"
#include "netem_link.h"
#include "ntplab_version.h"

#define NS_PER_S         INT64_C(1000000000) /* ns per s */
#define DURATION_DEFAULT 60.0                /* s, lifetime when --duration is not given */
#define DURATION_MAX     3600.0              /* s, the longest lifetime accepted */
#define LIMIT_DEFAULT    1000   /* packets held at most, tc-netem's default (tc/q_netem.c) */
#define LIMIT_MAX        100000 /* packets, an upper bound on memory (each copy <= 64 KiB) */
/* packets the kernel queue may hold beyond ours: read but not yet verdicted,
 * and our own copies on their way through */
#define KERNEL_QUEUE_SLACK 256
/* bytes, an Ethernet header: tc's rate counts the frame, NFQUEUE hands us
 * the IP packet (docs/netem.md) */
#define ETH_FRAME_OVERHEAD 14
#define NL_RCVBUF          (4u << 20)       /* bytes, netlink receive buffer for bursts */
#define COPY_RANGE         0xffff           /* bytes of each packet copied to us: all */
#define RECV_BUF_SIZE      (0x10000 + 4096) /* bytes, one netlink message: packet + attrs */
#define MARK_DEFAULT       0x4e54454dU      /* "NTEM": fwmark of the copies we send */
#define POLL_BACKSTOP      1000             /* ms, poll's own bound should the timerfd misbehave */
#define IPV4_HDR_MIN       20               /* bytes, RFC 791 */
#define IPV4_DST_OFF       16               /* byte offset of the destination, RFC 791 */
#define IPV6_HDR_LEN       40               /* bytes, RFC 8200 */
#define IPV6_DST_OFF       24               /* byte offset of the destination, RFC 8200 */
#define DEV_NAME_MAX       15               /* bytes, IFNAMSIZ - 1 (linux/if.h) */
#define EXIT_USAGE         2                /* bad command line or spec */
#define PRIORITY_MAX       99               /* SCHED_FIFO's highest on Linux, sched(7) */

enum ntpnetem_kind {
	NTPNETEM_VERDICT = 0, /* the queued packet itself: NF_ACCEPT when due */
	NTPNETEM_COPY         /* a duplicate: the saved bytes are sent when due */
};

/* A packet (or its copy) held until it is due. */
typedef struct ntpnetem_item {
	int64_t due;        /* ns, CLOCK_MONOTONIC, when the copy leaves */
	int64_t offered;    /* ns, CLOCK_MONOTONIC, when the packet was queued */
	uint64_t seq;       /* packet number in offer order, from 0 */
	uint32_t id;        /* NFQUEUE packet id (NTPNETEM_VERDICT) */
	int kind;           /* enum ntpnetem_kind */
	unsigned char *buf; /* NTPNETEM_COPY: the IP packet, owned by the item */
	size_t len;         /* bytes in buf */
} ntpnetem_item;

/* What is held: the items in a fixed pool of slots (tc's `limit`, so memory
 * is bounded whatever arrives), their due times in the simulator's event
 * heap (netem/netem_heap.h: ties leave in push order, like the kernel's
 * time-sorted netem queue), each event's arg naming its slot. */
typedef struct held_set {
	netem_heap heap;
	ntpnetem_item *slot;
	uint32_t *free_slots; /* a stack of unused slot numbers */
	size_t n_free;
	size_t cap;
} held_set;

static int
held_init(held_set *h, size_t cap)
{
	netem_heap_init(&h->heap);
	h->slot = calloc(cap, sizeof *h->slot);
	h->free_slots = calloc(cap, sizeof *h->free_slots);
	h->cap = cap;
	h->n_free = cap;
	if (h->slot == NULL || h->free_slots == NULL) {
		return -1;
	}
	for (size_t i = 0; i < cap; i++) {
		h->free_slots[i] = (uint32_t)(cap - 1 - i);
	}
	return 0;
}

static void
held_fini(held_set *h)
{
	netem_heap_free(&h->heap);
	free(h->slot);
	free(h->free_slots);
	memset(h, 0, sizeof *h);
}

static size_t
held_count(const held_set *h)
{
	return h->heap.n;
}

/* Holds a copy of *it.  Returns 0, or -1 when every slot is taken. */
static int
held_push(held_set *h, const ntpnetem_item *it)
{
	uint32_t k;

	if (h->n_free == 0) {
		return -1;
	}
	k = h->free_slots[--h->n_free];
	if (netem_heap_push(&h->heap, it->due, (uint32_t)it->kind, 0, k, 0) != 0) {
		h->n_free++;
		return -1;
	}
	h->slot[k] = *it;
	return 0;
}

/* The earliest due time into *due; false when nothing is held. */
static bool
held_next_due(const held_set *h, int64_t *due)
{
	const netem_event *e = netem_heap_peek(&h->heap);

	if (e == NULL) {
		return false;
	}
	*due = e->t;
	return true;
}

/* Removes the earliest item into *out.  Returns 0, or -1 when empty. */
static int
held_pop(held_set *h, ntpnetem_item *out)
{
	netem_event e;

	if (!netem_heap_pop(&h->heap, &e)) {
		return -1;
	}
	*out = h->slot[e.arg];
	h->free_slots[h->n_free++] = e.arg;
	return 0;
}

typedef struct options {
	long queue;       /* NFQUEUE number, -1 = not given */
	const char *spec; /* tc-netem syntax */
	uint64_t seed;    /* the link's streams are seeded from (seed, name) */
	bool have_seed;
	const char *name;     /* the link's stream name */
	double duration;      /* s */
	const char *stats;    /* JSON file, or NULL */
	const char *log;      /* per-packet CSV, or NULL */
	uint32_t mark;        /* fwmark of our own copies */
	const char *print_tc; /* device: print the tc command and exit */
	int priority;         /* SCHED_FIFO priority, 0 = the normal scheduler */
} options;

/* Welford's running mean and variance. */
typedef struct running {
	uint64_t n;
	double mean;
	double m2;
} running;

typedef struct counters {
	uint64_t seen;       /* packets offered to the model */
	uint64_t accepted;   /* NF_ACCEPT for offered packets */
	uint64_t delayed;    /* of those, held for a delay > 0 */
	uint64_t dropped;    /* NF_DROP by the model (loss, partition) */
	uint64_t duplicated; /* second copies sent through the raw socket */
	uint64_t reordered;  /* released after a later-offered packet (RFC 4737 §3) */
	uint64_t overflow;   /* NF_DROP because `limit` copies were held (not offered) */
	uint64_t own;        /* our copies seen again in the queue, accepted at once */
	uint64_t flushed;    /* released ahead of time at exit */
	uint64_t passed;     /* accepted unshaped while shutting down */
	uint64_t verdict_errors;
	uint64_t send_errors; /* second copies that could not be sent */
	uint64_t overruns;    /* ENOBUFS on the netlink socket (kernel messages lost) */
	uint64_t max_held;
	running delay; /* s, applied delay of every copy released on schedule */
	running late;  /* s, release time minus due time, the same copies */
	double late_max;
	uint64_t max_seq_released;
	bool any_released;
} counters;

typedef struct shaper {
	options opt;
	netem_link_params params;
	netem_link link;
	held_set held;
	counters c;
	struct nfq_handle *h;
	struct nfq_q_handle *qh;
	int raw4;
	int raw6;
	FILE *log;
	int64_t t0;       /* ns, CLOCK_MONOTONIC at start */
	size_t limit;     /* copies held at most */
	bool passthrough; /* shutting down: accept what still arrives */
	char *buf;        /* RECV_BUF_SIZE */
	const char *exit_reason;
} shaper;

/* ----------------------------------------------------------------- helpers */

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void
running_add(running *r, double x)
{
	double d = x - r->mean;

	r->n++;
	r->mean += d / (double)r->n;
	r->m2 += d * (x - r->mean);
}

static double
running_sd(const running *r)
{
	return r->n > 0 ? sqrt(r->m2 / (double)r->n) : 0.0;
}

static void
usage(FILE *f)
{
	fputs("usage: ntpnetem --queue N --spec SPEC [--seed S] [--name NAME]\n"
	      "                [--duration SECONDS] [--stats FILE] [--log FILE] [--mark MARK]\n"
	      "                [--priority 1..99]\n"
	      "       ntpnetem --print-tc DEV --spec SPEC\n"
	      "SPEC is tc-netem syntax, e.g. \"delay 20ms 5ms distribution normal loss 5%\".\n"
	      "Packets reach ntpnetem through a rule the caller adds, e.g.\n"
	      "  iptables -A OUTPUT -p udp --sport 123 -j NFQUEUE --queue-num N --queue-bypass\n"
	      "See docs/ntpnetem.8.md.\n",
	      f);
}

static int
bad_usage(const char *what, const char *arg)
{
	fprintf(stderr, "ntpnetem: %s: '%s'\n", what, arg != NULL ? arg : "");
	fputs("try 'ntpnetem --help'\n", stderr);
	return -1;
}

static int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s == '\0' || *s == '-' || *s == '+') {
		return -1;
	}
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0' || v > max) {
		return -1;
	}
	*out = (uint64_t)v;
	return 0;
}

/* A device name tc would accept, and nothing a shell would expand. */
static bool
dev_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > DEV_NAME_MAX) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		          (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' ||
		          ch == '@';

		if (!ok) {
			return false;
		}
	}
	return true;
}

/* Returns 0, 1 for --help/--version (done), -1 for a bad command line. */
static int
parse_args(int argc, char **argv, options *o)
{
	memset(o, 0, sizeof *o);
	o->queue = -1;
	o->name = "ntpnetem";
	o->duration = DURATION_DEFAULT;
	o->mark = MARK_DEFAULT;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t u;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 1;
		}
		if (strcmp(a, "--version") == 0) {
			printf("ntpnetem (ntplab) %s, commit %s\n", NTPLAB_VERSION, NTPLAB_COMMIT);
			return 1;
		}
		if (v == NULL) {
			return bad_usage("unknown option or missing value", a);
		}
		i++;
		if (strcmp(a, "--queue") == 0) {
			if (parse_u64(v, UINT16_MAX, &u) != 0) {
				return bad_usage("--queue expects 0..65535", v);
			}
			o->queue = (long)u;
		} else if (strcmp(a, "--spec") == 0) {
			o->spec = v;
		} else if (strcmp(a, "--seed") == 0) {
			if (parse_u64(v, UINT64_MAX, &o->seed) != 0) {
				return bad_usage("--seed expects an unsigned 64-bit number", v);
			}
			o->have_seed = true;
		} else if (strcmp(a, "--name") == 0) {
			o->name = v;
		} else if (strcmp(a, "--duration") == 0) {
			char *end;
			double d = strtod(v, &end);

			if (*v == '\0' || *end != '\0' || !isfinite(d) || d <= 0.0 ||
			    d > DURATION_MAX) {
				return bad_usage("--duration expects seconds in (0, 3600]", v);
			}
			o->duration = d;
		} else if (strcmp(a, "--stats") == 0) {
			o->stats = v;
		} else if (strcmp(a, "--log") == 0) {
			o->log = v;
		} else if (strcmp(a, "--mark") == 0) {
			if (parse_u64(v, UINT32_MAX, &u) != 0 || u == 0) {
				return bad_usage("--mark expects a nonzero 32-bit fwmark", v);
			}
			o->mark = (uint32_t)u;
		} else if (strcmp(a, "--priority") == 0) {
			if (parse_u64(v, PRIORITY_MAX, &u) != 0 || u == 0) {
				return bad_usage("--priority expects 1..99", v);
			}
			o->priority = (int)u;
		} else if (strcmp(a, "--print-tc") == 0) {
			if (!dev_name_ok(v)) {
				return bad_usage("--print-tc expects an interface name", v);
			}
			o->print_tc = v;
		} else {
			return bad_usage("unknown option", a);
		}
	}
	if (o->spec == NULL) {
		return bad_usage("--spec is required", "");
	}
	if (o->print_tc == NULL && o->queue < 0) {
		return bad_usage("--queue is required", "");
	}
	return 0;
}

/* --------------------------------------------------------------- per packet */

static void
log_event(shaper *s, uint64_t seq, const char *event, int64_t offered, int64_t due, int64_t done,
          size_t len)
{
	if (s->log == NULL) {
		return;
	}
	fprintf(s->log, "%" PRIu64 ",%s,%" PRId64 ",%" PRId64 ",%" PRId64 ",%zu\n", seq, event,
	        offered - s->t0, due - s->t0, done - s->t0, len);
}

static void
verdict(shaper *s, uint32_t id, uint32_t v)
{
	if (nfq_set_verdict(s->qh, id, v, 0, NULL) < 0) {
		s->c.verdict_errors++;
	}
}

/* Sends the saved IP packet again, to the destination in its own header;
 * IPPROTO_RAW sockets take the header as given (raw(7), IP_HDRINCL). */
static int
send_copy(shaper *s, const unsigned char *pkt, size_t len)
{
	int version = len > 0 ? pkt[0] >> 4 : 0;
	ssize_t sent = -1;

	if (version == 4 && len >= IPV4_HDR_MIN && s->raw4 >= 0) {
		struct sockaddr_in to;

		memset(&to, 0, sizeof to);
		to.sin_family = AF_INET;
		memcpy(&to.sin_addr, pkt + IPV4_DST_OFF, sizeof to.sin_addr);
		sent = sendto(s->raw4, pkt, len, 0, (const struct sockaddr *)&to, sizeof to);
	} else if (version == 6 && len >= IPV6_HDR_LEN && s->raw6 >= 0) {
		struct sockaddr_in6 to;

		memset(&to, 0, sizeof to);
		to.sin6_family = AF_INET6;
		memcpy(&to.sin6_addr, pkt + IPV6_DST_OFF, sizeof to.sin6_addr);
		sent = sendto(s->raw6, pkt, len, 0, (const struct sockaddr *)&to, sizeof to);
	}
	return sent == (ssize_t)len ? 0 : -1;
}

/* One copy leaves at `now`.  on_time is false when flushing at exit, which
 * keeps the delay statistics to copies that waited their full time. */
static void
release(shaper *s, ntpnetem_item *it, int64_t now, bool on_time)
{
	const char *event;

	if (it->kind == NTPNETEM_VERDICT) {
		verdict(s, it->id, NF_ACCEPT);
		s->c.accepted++;
		if (s->c.any_released && it->seq < s->c.max_seq_released) {
			s->c.reordered++;
		}
		if (!s->c.any_released || it->seq > s->c.max_seq_released) {
			s->c.max_seq_released = it->seq;
		}
		s->c.any_released = true;
		event = "accept";
	} else {
		if (send_copy(s, it->buf, it->len) == 0) {
			s->c.duplicated++;
			event = "copy";
		} else {
			s->c.send_errors++;
			event = "copy-failed";
		}
		free(it->buf);
		it->buf = NULL;
	}
	if (on_time) {
		double late = (double)(now - it->due) / (double)NS_PER_S;

		running_add(&s->c.delay, (double)(now - it->offered) / (double)NS_PER_S);
		running_add(&s->c.late, late);
		if (late > s->c.late_max) {
			s->c.late_max = late;
		}
	} else {
		s->c.flushed++;
		event = it->kind == NTPNETEM_VERDICT ? "flush" : "flush-copy";
	}
	log_event(s, it->seq, event, it->offered, it->due, now, it->len);
}

static void
release_due(shaper *s)
{
	int64_t due;

	while (held_next_due(&s->held, &due)) {
		int64_t now = mono_ns();
		ntpnetem_item it;

		if (due > now) {
			return;
		}
		held_pop(&s->held, &it);
		release(s, &it, now, true);
	}
}

/* Returns 0, or -1 when the heap is full: offer() leaves room for a packet
 * and its copy, so that would be a bug there, and the packet then passes
 * unshaped rather than being lost. */
static int
hold(shaper *s, const ntpnetem_item *it)
{
	if (held_push(&s->held, it) != 0) {
		return -1;
	}
	if (held_count(&s->held) > s->c.max_held) {
		s->c.max_held = held_count(&s->held);
	}
	return 0;
}

/* A packet from the queue, read at `now`: the model decides its fate. */
static void
offer(shaper *s, uint32_t id, const unsigned char *pkt, size_t len, int64_t now)
{
	ntpnetem_item it;
	/* The tc-netem spec cannot ask for ntplab's extensions (the parser
	 * refuses pass_one_in, extra, copies and up), so n <= 2 here. */
	int64_t out[NETEM_OUT_MAX];
	int n;

	memset(&it, 0, sizeof it);
	it.offered = now;
	it.id = id;
	it.len = len;
	if (held_count(&s->held) >= s->limit) {
		/* tc-netem's tail drop at `limit`; the model never sees the packet */
		verdict(s, id, NF_DROP);
		s->c.overflow++;
		log_event(s, s->c.seen, "overflow", now, now, now, len);
		return;
	}
	it.seq = s->c.seen++;
	n = netem_link_offer(&s->link, now, len + ETH_FRAME_OVERHEAD, out);
	if (n == 0) {
		verdict(s, id, NF_DROP);
		s->c.dropped++;
		log_event(s, it.seq, "drop", now, now, now, len);
		return;
	}
	it.kind = NTPNETEM_VERDICT;
	it.due = out[0];
	if (hold(s, &it) != 0) {
		verdict(s, id, NF_ACCEPT);
		s->c.accepted++;
		return;
	}
	if (out[0] > now) {
		s->c.delayed++;
	}
	if (n == 2) {
		it.kind = NTPNETEM_COPY;
		it.due = out[1];
		it.buf = len > 0 ? malloc(len) : NULL;
		if (it.buf == NULL) {
			s->c.send_errors++;
			return;
		}
		memcpy(it.buf, pkt, len);
		if (hold(s, &it) != 0) {
			free(it.buf);
			s->c.send_errors++;
		}
	}
}

static int
on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa, void *data)
{
	shaper *s = data;
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
	unsigned char *pkt = NULL;
	int64_t now = mono_ns();
	uint32_t id;
	int len;

	(void)qh;
	(void)msg;
	if (ph == NULL) {
		return 0;
	}
	id = ntohl(ph->packet_id);
	if (nfq_get_nfmark(nfa) == s->opt.mark) {
		verdict(s, id, NF_ACCEPT);
		s->c.own++;
		return 0;
	}
	if (s->passthrough) {
		verdict(s, id, NF_ACCEPT);
		s->c.passed++;
		return 0;
	}
	len = nfq_get_payload(nfa, &pkt);
	if (len < 0) {
		len = 0;
	}
	offer(s, id, pkt, (size_t)len, now);
	return 0;
}

/* Reads every queued message.  Returns 0, or -1 on a socket error. */
static int
drain(shaper *s)
{
	int fd = nfq_fd(s->h);

	for (;;) {
		ssize_t n = recv(fd, s->buf, RECV_BUF_SIZE, MSG_DONTWAIT);

		if (n > 0) {
			nfq_handle_packet(s->h, s->buf, (int)n);
			continue;
		}
		if (n < 0 && errno == ENOBUFS) {
			/* the kernel still holds those packets; they pass at exit, when the
			 * queue is unbound (--queue-bypass) */
			s->c.overruns++;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			return 0;
		}
		fprintf(stderr, "ntpnetem: recv from the queue: %s\n",
		        n == 0 ? "closed" : strerror(errno));
		return -1;
	}
}

/* ------------------------------------------------------------------- setup */

static int
open_raw(int family, uint32_t mark)
{
	int fd = socket(family, SOCK_RAW, IPPROTO_RAW);

	if (fd < 0) {
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
open_queue(shaper *s)
{
	uint32_t maxlen = (uint32_t)(s->limit + KERNEL_QUEUE_SLACK);
	int fd;

	s->h = nfq_open();
	if (s->h == NULL) {
		fprintf(stderr, "ntpnetem: nfq_open: %s (root or CAP_NET_ADMIN needed)\n",
		        strerror(errno));
		return -1;
	}
	s->qh = nfq_create_queue(s->h, (uint16_t)s->opt.queue, on_packet, s);
	if (s->qh == NULL) {
		fprintf(stderr, "ntpnetem: cannot bind queue %ld: %s (another listener?)\n",
		        s->opt.queue, strerror(errno));
		return -1;
	}
	if (nfq_set_mode(s->qh, NFQNL_COPY_PACKET, COPY_RANGE) < 0) {
		fprintf(stderr, "ntpnetem: nfq_set_mode: %s\n", strerror(errno));
		return -1;
	}
	if (nfq_set_queue_maxlen(s->qh, maxlen) < 0) {
		fprintf(stderr, "ntpnetem: nfq_set_queue_maxlen %u: %s\n", maxlen, strerror(errno));
		return -1;
	}
	nfnl_rcvbufsiz(nfq_nfnlh(s->h), NL_RCVBUF);
	fd = nfq_fd(s->h);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
		fprintf(stderr, "ntpnetem: O_NONBLOCK: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* Real-time scheduling, so that a busy machine delays our wake-ups less.
 * The loop always blocks in poll(), so it cannot starve other tasks. */
static int
set_priority(int priority)
{
	struct sched_param sp;

	memset(&sp, 0, sizeof sp);
	sp.sched_priority = priority;
	if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0) {
		fprintf(stderr, "ntpnetem: SCHED_FIFO priority %d: %s (CAP_SYS_NICE needed)\n",
		        priority, strerror(errno));
		return -1;
	}
	return 0;
}

static int
setup(shaper *s)
{
	s->raw4 = -1;
	s->raw6 = -1;
	if (s->opt.priority > 0 && set_priority(s->opt.priority) != 0) {
		return -1;
	}
	s->limit = s->params.limit > 0 ? (size_t)s->params.limit : LIMIT_DEFAULT;
	if (s->limit > LIMIT_MAX) {
		fprintf(stderr, "ntpnetem: limit %zu is above %d\n", s->limit, LIMIT_MAX);
		return -1;
	}
	/* one slot more than limit: a packet admitted at limit-1 may bring a copy */
	if (held_init(&s->held, s->limit + 1) != 0) {
		fprintf(stderr, "ntpnetem: out of memory\n");
		return -1;
	}
	s->buf = malloc(RECV_BUF_SIZE);
	if (s->buf == NULL) {
		fprintf(stderr, "ntpnetem: out of memory\n");
		return -1;
	}
	if (s->params.duplicate > 0.0) {
		s->raw4 = open_raw(AF_INET, s->opt.mark);
		s->raw6 = open_raw(AF_INET6, s->opt.mark);
		if (s->raw4 < 0 && s->raw6 < 0) {
			fprintf(stderr, "ntpnetem: duplicate needs a raw socket with SO_MARK: %s\n",
			        strerror(errno));
			return -1;
		}
	}
	if (s->opt.log != NULL) {
		s->log = fopen(s->opt.log, "w");
		if (s->log == NULL) {
			fprintf(stderr, "ntpnetem: %s: %s\n", s->opt.log, strerror(errno));
			return -1;
		}
		fputs("seq,event,offered_ns,due_ns,done_ns,bytes\n", s->log);
	}
	return open_queue(s);
}

static void
teardown(shaper *s)
{
	ntpnetem_item it;

	while (held_pop(&s->held, &it) == 0) {
		free(it.buf);
	}
	held_fini(&s->held);
	if (s->qh != NULL) {
		nfq_destroy_queue(s->qh);
	}
	if (s->h != NULL) {
		nfq_close(s->h);
	}
	if (s->raw4 >= 0) {
		close(s->raw4);
	}
	if (s->raw6 >= 0) {
		close(s->raw6);
	}
	if (s->log != NULL) {
		fclose(s->log);
	}
	free(s->buf);
}

/* -------------------------------------------------------------------- loop */

static int
arm_timer(int tfd, int64_t at)
{
	struct itimerspec its;

	memset(&its, 0, sizeof its);
	if (at < 1) {
		at = 1; /* 0 would disarm the timer */
	}
	its.it_value.tv_sec = (time_t)(at / NS_PER_S);
	its.it_value.tv_nsec = (long)(at % NS_PER_S);
	return timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static const char *
signal_name(int sig)
{
	switch (sig) {
	case SIGINT:
		return "SIGINT";
	case SIGHUP:
		return "SIGHUP";
	default:
		return "SIGTERM";
	}
}

/* Shapes until the deadline or a signal.  Returns 0, or -1 on an error. */
static int
run(shaper *s, int sfd, int tfd)
{
	int64_t deadline = s->t0 + (int64_t)(s->opt.duration * (double)NS_PER_S);
	struct pollfd fds[3];

	fds[0].fd = nfq_fd(s->h);
	fds[1].fd = tfd;
	fds[2].fd = sfd;
	for (int i = 0; i < 3; i++) {
		fds[i].events = POLLIN;
	}
	for (;;) {
		int64_t next = deadline, due;

		release_due(s);
		if (mono_ns() >= deadline) {
			s->exit_reason = "duration";
			return 0;
		}
		if (held_next_due(&s->held, &due) && due < next) {
			next = due;
		}
		if (arm_timer(tfd, next) != 0) {
			fprintf(stderr, "ntpnetem: timerfd_settime: %s\n", strerror(errno));
			return -1;
		}
		if (poll(fds, 3, POLL_BACKSTOP) < 0) {
			if (errno == EINTR) {
				continue;
			}
			fprintf(stderr, "ntpnetem: poll: %s\n", strerror(errno));
			return -1;
		}
		if (fds[2].revents != 0) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
				s->exit_reason = signal_name((int)si.ssi_signo);
				return 0;
			}
		}
		if (fds[1].revents != 0) {
			uint64_t expirations;

			if (read(tfd, &expirations, sizeof expirations) < 0 && errno != EAGAIN) {
				fprintf(stderr, "ntpnetem: timerfd read: %s\n", strerror(errno));
				return -1;
			}
		}
		if (fds[0].revents != 0 && drain(s) != 0) {
			return -1;
		}
	}
}

/* Lets every held copy go now, then accepts what is still arriving, so that
 * unbinding the queue (which drops what the kernel still holds) loses as
 * little as possible. */
static void
flush(shaper *s)
{
	ntpnetem_item it;

	while (held_pop(&s->held, &it) == 0) {
		release(s, &it, mono_ns(), false);
	}
	s->passthrough = true;
	if (s->h != NULL) {
		(void)drain(s);
	}
}

/* ------------------------------------------------------------------ report */

static void
json_string(FILE *f, const char *str)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)str; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			fprintf(f, "\\%c", *p);
		} else if (*p < 0x20) {
			fprintf(f, "\\u%04x", *p);
		} else {
			fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void
write_json(FILE *f, const shaper *s, const char *tc, double runtime)
{
	const counters *c = &s->c;
	const netem_link *l = &s->link;

	fprintf(f, "{\n  \"queue\": %ld,\n  \"spec\": ", s->opt.queue);
	json_string(f, s->opt.spec);
	fputs(",\n  \"tc\": ", f);
	json_string(f, tc);
	fprintf(f, ",\n  \"seed\": %" PRIu64 ",\n  \"name\": ", s->opt.seed);
	json_string(f, s->opt.name);
	fputs(",\n  \"exit\": ", f);
	json_string(f, s->exit_reason);
	fprintf(f,
	        ",\n  \"runtime_s\": %.6f,\n  \"limit\": %zu,\n"
	        "  \"seen\": %" PRIu64 ",\n  \"accepted\": %" PRIu64 ",\n  \"delayed\": %" PRIu64
	        ",\n  \"dropped\": %" PRIu64 ",\n  \"duplicated\": %" PRIu64
	        ",\n  \"reordered\": %" PRIu64 ",\n  \"overflow\": %" PRIu64
	        ",\n  \"own_copies\": %" PRIu64 ",\n  \"flushed\": %" PRIu64
	        ",\n  \"passed_at_exit\": %" PRIu64 ",\n  \"verdict_errors\": %" PRIu64
	        ",\n  \"send_errors\": %" PRIu64 ",\n  \"overruns\": %" PRIu64
	        ",\n  \"max_held\": %" PRIu64 ",\n",
	        runtime, s->limit, c->seen, c->accepted, c->delayed, c->dropped, c->duplicated,
	        c->reordered, c->overflow, c->own, c->flushed, c->passed, c->verdict_errors,
	        c->send_errors, c->overruns, c->max_held);
	fprintf(f,
	        "  \"delay_n\": %" PRIu64 ",\n  \"delay_mean_s\": %.9f,\n  \"delay_sd_s\": %.9f,\n"
	        "  \"late_mean_s\": %.9f,\n  \"late_sd_s\": %.9f,\n  \"late_max_s\": %.9f,\n",
	        c->delay.n, c->delay.mean, running_sd(&c->delay), c->late.mean,
	        running_sd(&c->late), c->late_max);
	fprintf(f,
	        "  \"model\": {\"offered\": %" PRIu64 ", \"delivered\": %" PRIu64
	        ", \"dropped\": %" PRIu64 ", \"duplicated\": %" PRIu64
	        ", \"reordered_by_rule\": %" PRIu64
	        ", \"delay_mean_s\": %.9f, \"delay_sd_s\": %.9f}\n}\n",
	        l->offered, l->delivered, l->dropped, l->duplicated, l->reordered,
	        netem_link_delay_mean(l), netem_link_delay_sd(l));
}

/* Written to FILE.tmp and renamed, so a reader never sees half a file. */
static int
write_stats(const shaper *s, const char *tc, double runtime)
{
	size_t n = strlen(s->opt.stats) + sizeof ".tmp";
	char *tmp = malloc(n);
	FILE *f;
	int rc = -1;

	if (tmp == NULL) {
		return -1;
	}
	snprintf(tmp, n, "%s.tmp", s->opt.stats);
	f = fopen(tmp, "w");
	if (f != NULL) {
		write_json(f, s, tc, runtime);
		rc = fclose(f) == 0 ? 0 : -1;
		if (rc == 0 && rename(tmp, s->opt.stats) != 0) {
			rc = -1;
		}
	}
	if (rc != 0) {
		fprintf(stderr, "ntpnetem: %s: %s\n", s->opt.stats, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	return rc;
}

static void
print_summary(const shaper *s, double runtime)
{
	const counters *c = &s->c;

	printf("ntpnetem: exit (%s) after %.3f s: seen %" PRIu64 ", accepted %" PRIu64
	       ", delayed %" PRIu64 ", dropped %" PRIu64 ", duplicated %" PRIu64
	       ", reordered %" PRIu64 ", overflow %" PRIu64 ", flushed %" PRIu64 "\n",
	       s->exit_reason, runtime, c->seen, c->accepted, c->delayed, c->dropped, c->duplicated,
	       c->reordered, c->overflow, c->flushed);
	printf("ntpnetem: applied delay mean %.6f s sd %.6f s over %" PRIu64
	       " copies (model %.6f s sd %.6f s); late by mean %.6f s max %.6f s\n",
	       c->delay.mean, running_sd(&c->delay), c->delay.n, netem_link_delay_mean(&s->link),
	       netem_link_delay_sd(&s->link), c->late.mean, c->late_max);
	if (c->verdict_errors + c->send_errors + c->overruns + c->own + c->passed > 0) {
		printf("ntpnetem: verdict errors %" PRIu64 ", send errors %" PRIu64
		       ", netlink overruns %" PRIu64 ", own copies passed %" PRIu64
		       ", passed at exit %" PRIu64 "\n",
		       c->verdict_errors, c->send_errors, c->overruns, c->own, c->passed);
	}
	fflush(stdout);
}

/* ------------------------------------------------------------------- main */

static int
print_tc(const options *o, const netem_link_params *p)
{
	char buf[512];
	size_t need = netem_link_format_tc(p, buf, sizeof buf);

	if (need >= sizeof buf) {
		fprintf(stderr, "ntpnetem: the tc arguments are too long (%zu bytes)\n", need);
		return 1;
	}
	printf("tc qdisc add dev %s root netem %s\n", o->print_tc, buf);
	return 0;
}

static int
block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	return sigprocmask(SIG_BLOCK, set, NULL);
}

int
main(int argc, char **argv)
{
	shaper s;
	char err[256];
	char tc[512];
	sigset_t sigs;
	int sfd, tfd, rc;
	double runtime;

	memset(&s, 0, sizeof s);
	rc = parse_args(argc, argv, &s.opt);
	if (rc != 0) {
		return rc > 0 ? 0 : EXIT_USAGE;
	}
	if (netem_link_parse(s.opt.spec, &s.params, err, sizeof err) != 0) {
		fprintf(stderr, "ntpnetem: %s\n", err);
		return EXIT_USAGE;
	}
	if (s.opt.print_tc != NULL) {
		return print_tc(&s.opt, &s.params);
	}
	if (!s.opt.have_seed &&
	    getrandom(&s.opt.seed, sizeof s.opt.seed, 0) != (ssize_t)sizeof s.opt.seed) {
		fprintf(stderr, "ntpnetem: getrandom: %s\n", strerror(errno));
		return 1;
	}
	netem_link_format_tc(&s.params, tc, sizeof tc);
	if (netem_link_init(&s.link, &s.params, s.opt.seed, s.opt.name) != 0) {
		fprintf(stderr, "ntpnetem: out of memory (link state)\n");
		return 1;
	}
	if (block_signals(&sigs) != 0) {
		fprintf(stderr, "ntpnetem: sigprocmask: %s\n", strerror(errno));
		return 1;
	}
	sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (sfd < 0 || tfd < 0) {
		fprintf(stderr, "ntpnetem: signalfd/timerfd: %s\n", strerror(errno));
		return 1;
	}
	s.exit_reason = "error";
	s.t0 = mono_ns();
	rc = setup(&s) == 0 ? 0 : 1;
	if (rc == 0) {
		printf("ntpnetem: queue %ld, seed %" PRIu64 ", name %s, limit %zu, "
		       "duration %.3f s: %s\n",
		       s.opt.queue, s.opt.seed, s.opt.name, s.limit, s.opt.duration, tc);
		fflush(stdout);
		rc = run(&s, sfd, tfd) == 0 ? 0 : 1;
	}
	flush(&s);
	runtime = (double)(mono_ns() - s.t0) / (double)NS_PER_S;
	if (s.h != NULL) {
		print_summary(&s, runtime);
	}
	if (s.opt.stats != NULL && write_stats(&s, tc, runtime) != 0) {
		rc = 1;
	}
	teardown(&s);
	netem_link_free(&s.link);
	close(sfd);
	close(tfd);
	return rc;
}
