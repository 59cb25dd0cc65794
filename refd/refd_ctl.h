/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refd_ctl: run-time disturbances of a running refd, so that a scenario
 * file's events can be played against the real daemon as ntpsim plays
 * them against its model (docs/scenarios.md "Events"):
 *
 *   step SECONDS        the virtual raw clock jumps (ntpsim `step`, `by`)
 *   freq FREQ           its frequency error becomes FREQ (ntpsim `freq`)
 *   fault none | fault KIND[,KIND...] [offset=S] [leap=N] [rootdisp=S]
 *                       [stale=S] [kod=CODE]   (ntpsim `fault`)
 *   status              bias, skew, jumps, steps, adjusts, fault
 *
 * Numbers take ntpsim's units: times "0.25", "-1s", "500ms", "1.5 ms",
 * "2min"; frequencies "12ppm", "5ppb" or a bare fraction "1.2e-5".  Fault
 * kinds and parameters mean what they mean in a scenario's fault event,
 * with its defaults (core/ntp_fault.h).
 *
 * The commands arrive as datagrams on a UNIX datagram socket (--ctl PATH,
 * mode 0600); each is answered with one datagram to the sender's address:
 * "ok: WHAT WAS DONE" or "error: WHY".  The system clock is never stepped
 * or skewed on request.
 *
 * Parsing is a pure function of the bytes (fuzzable); applying a command
 * takes the clock and host explicitly, with an explicit real time, so both
 * are unit-testable without a socket.
 */
#ifndef REFD_CTL_H
#define REFD_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "ntp_fault.h"
#include "ntp_host.h"
#include "refd_clock.h"

#define REFD_CTL_LINE_MAX  256  /* bytes of one command (ours) */
#define REFD_CTL_REPLY_MAX 512  /* bytes of one answer (ours) */
#define REFD_CTL_TIME_MAX  1e9  /* s, largest time in a command: ntpsim's SIM_TIME_MAX */
#define REFD_CTL_BURST     16   /* commands handled per wake-up: timers still run (ours) */
#define REFD_CTL_PATH_MAX  108  /* bytes of a socket path with its NUL: Linux sun_path */
#define REFD_CTL_ABS_MAX   1024 /* bytes of its absolute form, kept for the unlink (ours) */

enum refd_ctl_kind {
	REFD_CTL_STEP = 1, /* value: s */
	REFD_CTL_FREQ,     /* value: s/s */
	REFD_CTL_FAULT,    /* fault (kinds 0: none) */
	REFD_CTL_STATUS,
};

typedef struct refd_ctl_cmd {
	int kind;        /* enum refd_ctl_kind */
	double value;    /* step: s; freq: s/s */
	ntp_fault fault; /* fault */
} refd_ctl_cmd;

/* Parse one command: len bytes at line (not NUL-terminated; one trailing
 * newline allowed).  Returns 0, or -1 with a reason naming the offending
 * word in err (never NULL-dereferences, never reads past len, never
 * crashes on any bytes). */
int refd_ctl_parse(const char *line, size_t len, refd_ctl_cmd *out, char *err, size_t errsize);

/* Parse a fault spec, the words after "fault" (also --fault SPEC):
 * "none" or "KIND[,KIND...] [offset=S] [leap=N] [rootdisp=S] [stale=S]
 * [kod=CODE]".  Returns 0, or -1 with err. */
int refd_ctl_parse_fault(const char *spec, ntp_fault *out, char *err, size_t errsize);

/* Carry out cmd at real time real_now: step/freq on the clock, fault on
 * the host (may be NULL: only *fault is updated) and *fault (the fault in
 * force, kept by the caller for status).  The answer, "ok: ..." or
 * "error: ...", goes to reply.  Returns 0 or -1 (refused). */
int refd_ctl_apply(const refd_ctl_cmd *cmd, refd_clock *clock, ntp_host *host, ntp_fault *fault,
                   ntp_time real_now, char *reply, size_t replysize);

/* len bytes as a printable, quoted word for the log: "step 1", with
 * non-printable bytes as \xNN and at most ~80 characters.  Returns buf. */
char *refd_ctl_quote(const char *bytes, size_t len, char *buf, size_t size);

/* ---- the socket ---- */

typedef struct refd_ctl {
	int fd;                      /* -1: none */
	char path[REFD_CTL_ABS_MAX]; /* bound path, absolute ("" when none): refd may chdir */
	dev_t dev;                   /* the socket file we made, so that */
	ino_t ino;                   /* only it is removed at exit */
} refd_ctl;

typedef struct refd_ctl_peer {
	struct sockaddr_un addr;
	socklen_t len;
} refd_ctl_peer;

/* Mark c closed (fd -1), e.g. before an open that may not happen. */
void refd_ctl_init(refd_ctl *c);

/* Bind a non-blocking UNIX datagram socket at path, mode 0600.  An
 * existing socket nobody listens on is replaced; anything else at path
 * (a file, a directory, a socket in use) is refused.  Returns 0, or -1 with
 * a reason in err. */
int refd_ctl_open(refd_ctl *c, const char *path, char *err, size_t errsize);

/* Close and remove the socket file, if it is still the one we made. */
void refd_ctl_close(refd_ctl *c);

/* One waiting datagram into buf (at most size bytes: a longer one is cut
 * to size).  Returns its length (>= 0), or -1 when none is waiting. */
ssize_t refd_ctl_recv(refd_ctl *c, char *buf, size_t size, refd_ctl_peer *from);

/* Answer text to a peer (dropped if it has no address or its queue is
 * full: the daemon never waits).  Returns 0 or -1. */
int refd_ctl_send(refd_ctl *c, const refd_ctl_peer *to, const char *text);

#endif
