/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * noclockset: an LD_PRELOAD library that turns the clock-setting calls of
 * libc into successful no-ops, for running a real NTP daemon (OpenNTPD)
 * in the interop tests without letting it change anything.
 *
 * Why it exists: every daemon in the tests runs under
 * `capsh --drop=cap_sys_time`, so adjtime() and friends fail with EPERM.
 * OpenNTPD only declares its clock synced (and only then serves time)
 * after two adjtime() calls that succeeded with nothing left pending, so
 * with the capability dropped it never syncs.  Here those calls report
 * success, the clock stays as it is, and OpenNTPD's own state machine
 * runs as it would on a host it may steer.
 *
 * This library is a convenience, NOT the safety net.  The machine's clock
 * is protected by the dropped capability: a program that bypasses this
 * library (a raw syscall, a static binary, a child that clears
 * LD_PRELOAD) still gets EPERM from the kernel.  Never run a daemon with
 * this library and CAP_SYS_TIME.
 *
 * Reads pass through to the kernel (a read of the clock state needs no
 * privilege); every call that would change a clock returns 0 and changes
 * nothing.  The first intercepted write of each kind is logged once to
 * stderr, so the daemon's log shows that the library was in effect.
 */
#define _GNU_SOURCE /* adjtime, adjtimex, settimeofday, syscall numbers */

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

/* One flag per intercepted function: logged once per process. */
enum shim_call {
	SHIM_ADJTIME,
	SHIM_ADJTIMEX,
	SHIM_NTP_ADJTIME,
	SHIM_CLOCK_ADJTIME,
	SHIM_SETTIMEOFDAY,
	SHIM_CLOCK_SETTIME,
	SHIM_STIME,
	SHIM_NCALLS
};

static const char *const shim_names[SHIM_NCALLS] = {
        "adjtime",      "adjtimex",      "ntp_adjtime", "clock_adjtime",
        "settimeofday", "clock_settime", "stime",
};

static atomic_flag shim_logged[SHIM_NCALLS] = {
        ATOMIC_FLAG_INIT, ATOMIC_FLAG_INIT, ATOMIC_FLAG_INIT, ATOMIC_FLAG_INIT,
        ATOMIC_FLAG_INIT, ATOMIC_FLAG_INIT, ATOMIC_FLAG_INIT,
};

/* write(2), not stdio: the daemon may have closed or redirected stdout,
 * and this must not allocate or take stdio locks inside a libc call. */
static void
shim_log_once(enum shim_call which)
{
	char line[160];
	int len;

	if (atomic_flag_test_and_set(&shim_logged[which])) {
		return;
	}
	len = snprintf(
	        line, sizeof(line),
	        "noclockset: %s() intercepted in pid %ld: reported success, no clock changed\n",
	        shim_names[which], (long)getpid());
	if (len > 0) {
		size_t n = (size_t)len < sizeof(line) ? (size_t)len : sizeof(line) - 1;
		ssize_t w = write(STDERR_FILENO, line, n);

		(void)w; /* a lost log line must not change the call's result */
	}
}

/* A timex request that only reads (needs no privilege in the kernel). */
static int
timex_is_read(const struct timex *tx)
{
	return tx->modes == 0 || tx->modes == ADJ_OFFSET_SS_READ;
}

/* Fill *tx with the kernel's current state, as a real write would have
 * returned it afterwards; the request itself is dropped. */
static int
timex_pretend_write(clockid_t clk, int use_clock, struct timex *tx, enum shim_call which)
{
	struct timex now;
	long state;

	shim_log_once(which);
	memset(&now, 0, sizeof(now));
	if (use_clock) {
		state = syscall(SYS_clock_adjtime, clk, &now);
	} else {
		state = syscall(SYS_adjtimex, &now);
	}
	if (state < 0) {
		return (int)state; /* errno set by syscall(): a bad clock id stays an error */
	}
	*tx = now;
	return (int)state;
}

int
adjtime(const struct timeval *delta, struct timeval *olddelta)
{
	if (delta != NULL) {
		shim_log_once(SHIM_ADJTIME);
	}
	if (olddelta != NULL) {
		/* Nothing of the caller's is pending: every adjustment it asked
		 * for "completed" at once.  OpenNTPD's sync test reads this. */
		olddelta->tv_sec = 0;
		olddelta->tv_usec = 0;
	}
	return 0;
}

int
adjtimex(struct timex *tx)
{
	if (timex_is_read(tx)) {
		return (int)syscall(SYS_adjtimex, tx);
	}
	return timex_pretend_write(CLOCK_REALTIME, 0, tx, SHIM_ADJTIMEX);
}

int
ntp_adjtime(struct timex *tx)
{
	if (timex_is_read(tx)) {
		return (int)syscall(SYS_adjtimex, tx);
	}
	return timex_pretend_write(CLOCK_REALTIME, 0, tx, SHIM_NTP_ADJTIME);
}

int
clock_adjtime(clockid_t clk, struct timex *tx)
{
	if (timex_is_read(tx)) {
		return (int)syscall(SYS_clock_adjtime, clk, tx);
	}
	return timex_pretend_write(clk, 1, tx, SHIM_CLOCK_ADJTIME);
}

int
settimeofday(const struct timeval *tv, const struct timezone *tz)
{
	(void)tv;
	(void)tz;
	shim_log_once(SHIM_SETTIMEOFDAY);
	return 0;
}

int
clock_settime(clockid_t clk, const struct timespec *tp)
{
	(void)clk;
	(void)tp;
	shim_log_once(SHIM_CLOCK_SETTIME);
	return 0;
}

/* stime() left glibc's headers in 2.31 (only a compat symbol remains, which
 * new binaries cannot bind to); intercept it where it is still declared. */
#if defined(__GLIBC__) && (__GLIBC__ < 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ < 31))
int
stime(const time_t *t)
{
	(void)t;
	shim_log_once(SHIM_STIME);
	return 0;
}
#endif
