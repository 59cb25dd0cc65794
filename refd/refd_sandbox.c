/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refd's sandbox: capabilities, no_new_privs, seccomp (refd_sandbox.h).
 */
#define _GNU_SOURCE /* syscall */

#include "refd_sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* AddressSanitizer, as gcc (__SANITIZE_ADDRESS__) and clang (__has_feature)
 * announce it. */
#if defined(__SANITIZE_ADDRESS__)
#define REFD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REFD_ASAN 1
#endif
#endif
#ifndef REFD_ASAN
#define REFD_ASAN 0
#endif
/* ThreadSanitizer likewise: its pthread_create makes calls of its own (a
 * TSan refd with the filter starts no worker thread). */
#if defined(__SANITIZE_THREAD__)
#define REFD_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define REFD_TSAN 1
#endif
#endif
#ifndef REFD_TSAN
#define REFD_TSAN 0
#endif

#define SOCK_TYPE_BITS 0xf /* linux/net.h SOCK_TYPE_MASK: the type without its flags */
#define CAP_LAST_MAX   63  /* highest capability number the bounding-set loop tries */

enum cond {
	C_NONE = 0,
	C_UDP4,        /* socket(AF_INET, SOCK_DGRAM [|flags], ...) */
	C_UDP6,        /* socket(AF_INET6, SOCK_DGRAM [|flags], ...) */
	C_UNIX_DGRAM,  /* socket(AF_UNIX, SOCK_DGRAM [|flags], ...) */
	C_FCNTL_GETFL, /* fcntl(..., F_GETFL) */
	C_SIGABRT,     /* tgkill(..., ..., SIGABRT) */
	C_NO_EXEC,     /* mmap(..., prot without PROT_EXEC, ...) */
	C_THREAD,      /* clone(flags with CLONE_THREAD, ...): a thread, never a process */
	C_ENOSYS,      /* refused with ENOSYS instead of EPERM */
};

/* The allow list, found by reading refd's code and confirmed under
 * `strace -f` through the interop tests (docs/refd.8.md SANDBOX lists it
 * with what was seen).  Names are x86-64's; a name another architecture
 * lacks is skipped. */
static const refd_sandbox_rule rules[] = {
        /* the event loop and its sockets */
        {"ppoll", C_NONE, "", "the event loop's wait", false},
        {"recvmmsg", C_NONE, "", "datagrams in, in batches", false},
        {"sendmmsg", C_NONE, "", "datagrams out, in batches", false},
        {"recvmsg", C_NONE, "", "kernel transmit stamps (MSG_ERRQUEUE)", false},
        {"recvfrom", C_NONE, "", "control-socket commands", false},
        {"sendto", C_NONE, "", "control-socket answers; syslog(3)", false},
        {"socket", C_UDP4, "AF_INET, SOCK_DGRAM", "the client socket, opened at the first request",
         false},
        {"socket", C_UDP6, "AF_INET6, SOCK_DGRAM", "the same for IPv6", false},
        {"socket", C_UNIX_DGRAM, "AF_UNIX, SOCK_DGRAM", "syslog(3) reconnecting to /dev/log",
         false},
        {"connect", C_NONE, "", "syslog(3) reconnecting to /dev/log", false},
        {"bind", C_NONE, "", "the client socket (port 0)", false},
        {"setsockopt", C_NONE, "", "the client socket's options; transmit stamp key restarts",
         false},
        {"getsockname", C_NONE, "", "the client socket's address", false},
        {"close", C_NONE, "", "sockets and files", false},
        /* files */
        {"openat", C_NONE, "", "log reopen (SIGHUP), statistics files, drift file (mkostemp)",
         false},
        {"write", C_NONE, "", "log lines, statistics lines, drift file", false},
        {"newfstatat", C_NONE, "", "stdio's buffer size (fstat); the --ctl socket's lstat at exit",
         false},
        {"fcntl", C_FCNTL_GETFL, "F_GETFL", "fdopen(3) reads the open flags", false},
        {"fsync", C_NONE, "", "the drift file before its rename", false},
        {"fchmod", C_NONE, "", "the drift file's mode 0644 (mkostemp makes 0600)", false},
        {"rename", C_NONE, "", "the drift file over the old one", false},
        {"unlink", C_NONE, "", "a failed drift file; pid file and --ctl socket at exit", false},
        {"getpid", C_NONE, "", "log lines, syslog(3)", false},
        /* time */
        {"clock_gettime", C_NONE, "", "every clock reading (the vDSO's fallback)", false},
        /* signals, memory, exit */
        {"rt_sigaction", C_NONE, "", "SIGTERM, SIGINT, SIGHUP handlers at the loop start", false},
        {"rt_sigprocmask", C_NONE, "", "signals blocked outside ppoll", false},
        {"rt_sigreturn", C_NONE, "", "return from a signal handler", false},
        {"restart_syscall", C_NONE, "", "ppoll resumed after SIGSTOP/SIGCONT", false},
        {"brk", C_NONE, "", "malloc", false},
        {"mmap", C_NO_EXEC, "prot without PROT_EXEC", "malloc of large blocks", false},
        {"munmap", C_NONE, "", "free of large blocks", false},
        {"exit_group", C_NONE, "", "exit", false},
        {"gettid", C_NONE, "", "abort(3) (glibc on a corrupted heap)", false},
        {"tgkill", C_SIGABRT, "SIGABRT", "abort(3): still dies of SIGABRT", false},
        /* --clock system only */
        {"clock_adjtime", C_NONE, "", "STEP, ADJUST and the phase slices (refd_clock.c)", true},
        {"adjtimex", C_NONE, "", "the same through an older glibc's adjtimex(3)", true},
        {"clock_settime", C_NONE, "", "a step by setting the time (not called today)", true},
        /* --workers > 1 only */
        {"clone", C_THREAD, "flags with CLONE_THREAD", "pthread_create: a server thread",
         REFD_RULE_THREADS},
        {"clone3", C_ENOSYS, "refused with ENOSYS",
         "pthread_create tries it first; its flags are in memory the filter cannot read, so "
         "glibc is told it does not exist and falls back to clone",
         REFD_RULE_THREADS},
        {"mprotect", C_NO_EXEC, "prot without PROT_EXEC", "the guard page of a thread's stack",
         REFD_RULE_THREADS},
        {"futex", C_NONE, "", "the core lock; pthread_join", REFD_RULE_THREADS},
        {"set_robust_list", C_NONE, "", "a new thread's start (glibc)", REFD_RULE_THREADS},
        {"rseq", C_NONE, "", "a new thread's start (glibc)", REFD_RULE_THREADS},
        {"madvise", C_NONE, "", "an ended thread's stack given back (glibc)", REFD_RULE_THREADS},
        {"exit", C_NONE, "", "a thread's end", REFD_RULE_THREADS},
        {"read", C_NONE, "", "the core thread resets the hand-off eventfd", REFD_RULE_THREADS},
};

size_t
refd_sandbox_rules(const refd_sandbox_rule **out)
{
	*out = rules;
	return sizeof rules / sizeof rules[0];
}

bool
refd_sandbox_supported(void)
{
	return !REFD_ASAN && !REFD_TSAN;
}

/* ---- capabilities ---- */

/* The bounding set, but for keep (-1: none).  Dropping needs CAP_SETPCAP:
 * a process that switched to -u USER has none, and no capability left that
 * a bound would matter for (no_new_privs and the filter forbid exec). */
static int
drop_bounding(int keep, char *err, size_t errsize)
{
	for (int cap = 0; cap <= CAP_LAST_MAX; cap++) {
		if (cap == keep || prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0) {
			continue;
		}
		if (errno == EINVAL || errno == EPERM) {
			return 0; /* past the kernel's last capability, or no CAP_SETPCAP */
		}
		snprintf(err, errsize, "sandbox: PR_CAPBSET_DROP %d: %s", cap, strerror(errno));
		return -1;
	}
	return 0;
}

int
refd_sandbox_drop_caps(bool keep_sys_time, char *err, size_t errsize)
{
	struct __user_cap_header_struct head = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	int keep = keep_sys_time ? CAP_SYS_TIME : -1;

	/* The bounding set first: dropping it needs CAP_SETPCAP, which the
	 * capset below takes away. */
	if (drop_bounding(keep, err, errsize) != 0) {
		return -1;
	}
	/* EINVAL: a kernel without ambient capabilities (before 4.3). */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
		snprintf(err, errsize, "sandbox: PR_CAP_AMBIENT_CLEAR_ALL: %s", strerror(errno));
		return -1;
	}
	memset(data, 0, sizeof data);
	if (keep >= 0) {
		data[CAP_TO_INDEX(keep)].effective = CAP_TO_MASK(keep);
		data[CAP_TO_INDEX(keep)].permitted = CAP_TO_MASK(keep);
	}
	if (syscall(SYS_capset, &head, data) != 0) {
		snprintf(err, errsize, "sandbox: capset (keep %s): %s",
		         keep >= 0 ? "CAP_SYS_TIME" : "none", strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- seccomp ---- */

static int
add_rule(scmp_filter_ctx ctx, int nr, int cond)
{
	switch (cond) {
	case C_UDP4:
	case C_UDP6:
	case C_UNIX_DGRAM:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 2,
		                        SCMP_A0(SCMP_CMP_EQ, cond == C_UDP4   ? AF_INET
		                                             : cond == C_UDP6 ? AF_INET6
		                                                              : AF_UNIX),
		                        SCMP_A1(SCMP_CMP_MASKED_EQ, SOCK_TYPE_BITS, SOCK_DGRAM));
	case C_FCNTL_GETFL:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A1(SCMP_CMP_EQ, F_GETFL));
	case C_SIGABRT:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A2(SCMP_CMP_EQ, SIGABRT));
	case C_THREAD:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
		                        SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	case C_ENOSYS:
		return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
	case C_NO_EXEC:
		/* No new executable memory: malloc maps read-write only. */
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
		                        SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	default:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
}

static int
add_rules(scmp_filter_ctx ctx, const refd_sandbox_cfg *cfg, char *err, size_t errsize)
{
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
		int nr, rc;

		if ((rules[i].only == REFD_RULE_SYSTEM_CLOCK && !cfg->system_clock) ||
		    (rules[i].only == REFD_RULE_THREADS && !cfg->threads)) {
			continue;
		}
		/* A call this architecture does not have cannot be made. */
		nr = seccomp_syscall_resolve_name(rules[i].name);
		if (nr == __NR_SCMP_ERROR) {
			continue;
		}
		rc = add_rule(ctx, nr, rules[i].cond);
		if (rc != 0) {
			snprintf(err, errsize, "sandbox: seccomp rule for %s: %s", rules[i].name,
			         strerror(-rc));
			return -1;
		}
	}
	return 0;
}

int
refd_sandbox_filter(const refd_sandbox_cfg *cfg, char *err, size_t errsize)
{
	scmp_filter_ctx ctx;
	int rc;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		snprintf(err, errsize, "sandbox: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -1;
	}
	/* Refuse with EPERM rather than kill: refd reports the failing
	 * operation itself, and a daemon that serves on is easier to debug. */
	ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (ctx == NULL) {
		snprintf(err, errsize, "sandbox: seccomp_init failed");
		return -1;
	}
	/* Calls of another ABI (i386 or x32 on x86-64) are refused the same
	 * way, not killed; the kernel logs every refusal (audit type 1326)
	 * where it can (Linux 4.14 and later). */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(EPERM));
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
	rc = add_rules(ctx, cfg, err, errsize);
	if (rc == 0 && (rc = seccomp_load(ctx)) != 0) {
		snprintf(err, errsize, "sandbox: seccomp_load: %s", strerror(-rc));
		rc = -1;
	}
	seccomp_release(ctx);
	return rc;
}

int
refd_sandbox_enter(const refd_sandbox_cfg *cfg, char *err, size_t errsize)
{
	if (!refd_sandbox_supported()) {
		snprintf(err, errsize,
		         "sandbox: not entered: built with %s, whose run-time makes calls of its "
		         "own",
		         REFD_ASAN ? "AddressSanitizer" : "ThreadSanitizer");
		return 1;
	}
	if (refd_sandbox_drop_caps(cfg->system_clock, err, errsize) != 0) {
		return -1;
	}
	return refd_sandbox_filter(cfg, err, errsize);
}
