/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refd_sandbox: what refd may still do once it runs.
 *
 * When its sockets and the --ctl socket are bound, its privileges dropped
 * (-u) and its host created, refd
 *
 *   1. drops every capability it does not need: all of them, or all but
 *      CAP_SYS_TIME with --clock system (CAP_NET_BIND_SERVICE is not needed
 *      once port 123 is bound).  The permitted, effective and inheritable
 *      sets, the ambient set and, while it still has CAP_SETPCAP (that is,
 *      without -u), the bounding set;
 *   2. sets PR_SET_NO_NEW_PRIVS, so that no exec can give any back;
 *   3. installs a seccomp filter (libseccomp) that allows only the system
 *      calls of refd_sandbox_rules(), some only with the arguments refd
 *      uses, and with --clock system also clock_adjtime, adjtimex and
 *      clock_settime, and with --workers > 1 what threads need (clone
 *      with CLONE_THREAD only, futex, ...).  Any other call fails with EPERM instead of killing
 *      refd: refd logs the operation that failed like any other error, and
 *      the kernel logs the call (SECCOMP_FILTER_FLAG_LOG: an audit record
 *      "type=1326 ... syscall=N").
 *
 * --no-sandbox leaves all three out, for debugging.  So does a build with
 * AddressSanitizer (detected at compile time): ASan and LeakSanitizer make
 * calls of their own (LeakSanitizer ptraces the process at exit), which no
 * list of refd's calls allows.
 */
#ifndef REFD_SANDBOX_H
#define REFD_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

typedef struct refd_sandbox_cfg {
	bool system_clock; /* --clock system: keep CAP_SYS_TIME, allow the clock calls */
	bool threads;      /* --workers > 1: allow what server threads need */
} refd_sandbox_cfg;

/* When a rule applies (refd_sandbox_rule.only). */
enum refd_rule_only {
	REFD_RULE_ALWAYS = 0,
	REFD_RULE_SYSTEM_CLOCK = 1, /* --clock system */
	REFD_RULE_THREADS = 2,      /* --workers > 1 */
};

/* One allowed system call and why refd makes it (docs/refd.8.md SANDBOX
 * lists the same table). */
typedef struct refd_sandbox_rule {
	const char *name; /* as libseccomp and strace name it */
	int cond;         /* the argument check (enum in refd_sandbox.c); 0 none */
	const char *args; /* that check in words, "" for none */
	const char *why;  /* which part of refd makes the call */
	int only;         /* enum refd_rule_only */
} refd_sandbox_rule;

/* The allow list: *rules gets the table, the return value its length. */
size_t refd_sandbox_rules(const refd_sandbox_rule **rules);

/* False when the build cannot sandbox itself (AddressSanitizer). */
bool refd_sandbox_supported(void);

/* Step 1: drop every capability but CAP_SYS_TIME when keep_sys_time.
 * Returns 0, or -1 with err. */
int refd_sandbox_drop_caps(bool keep_sys_time, char *err, size_t errsize);

/* Steps 2 and 3: PR_SET_NO_NEW_PRIVS and the seccomp filter for cfg.
 * Returns 0, or -1 with err.  Irreversible for the calling process. */
int refd_sandbox_filter(const refd_sandbox_cfg *cfg, char *err, size_t errsize);

/* All three steps, as refd runs them.  Returns 0 when the sandbox is in
 * force, 1 when the build cannot have one (err says why), -1 on failure
 * (err says what failed). */
int refd_sandbox_enter(const refd_sandbox_cfg *cfg, char *err, size_t errsize);

#endif
