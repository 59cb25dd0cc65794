/* SPDX-License-Identifier: BSD-2-Clause */
/* refd/refd_sandbox: the seccomp filter and capability drop refd runs
 * under (issue 11 item 8), applied in a forked child, exactly the function
 * refd calls; the child reports each probe's result on a pipe.
 *
 * Safety: the child drops every capability (CAP_SYS_TIME included) before
 * the filter, so no probe could change the clock even without a filter;
 * the only clock-setting probe is clock_settime(CLOCK_MONOTONIC), which no
 * kernel allows (EINVAL), and clock_adjtime is only asked to read
 * (modes 0). */
#define _GNU_SOURCE /* syscall, recvmmsg */

#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <seccomp.h>

#include "refd_sandbox.h"

#ifndef AF_PACKET
#define AF_PACKET 17 /* linux/socket.h */
#endif

#define REPORT_MAX 2048 /* bytes of the child's report */

/* One probe's line: "NAME ok" or "NAME errno=N". */
static void
say(int fd, const char *name, long rc)
{
	char line[96];
	int n = rc >= 0 ? snprintf(line, sizeof line, "%s ok\n", name)
	                : snprintf(line, sizeof line, "%s errno=%d\n", name, errno);

	if (write(fd, line, (size_t)n) != n) {
		_exit(3);
	}
}

/* A UDP socket on 127.0.0.1 that holds one datagram from itself. */
static int
loopback_socket_with_datagram(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0 ||
	    sendto(fd, "ntp", 3, 0, (struct sockaddr *)&a, sizeof a) != 3) {
		_exit(4);
	}
	return fd;
}

/* The probes, run under the filter. */
static void
probe(int out, int udp)
{
	char buf[64];
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
	struct mmsghdr m;
	struct timespec ts = {.tv_sec = 1, .tv_nsec = 0};
	struct timex tx;
	char *const argv[] = {"/bin/true", NULL};
	int s;

	memset(&m, 0, sizeof m);
	m.msg_hdr.msg_iov = &iov;
	m.msg_hdr.msg_iovlen = 1;
	say(out, "recvmmsg", recvmmsg(udp, &m, 1, MSG_DONTWAIT, NULL));
	/* The system call itself, not the vDSO. */
	say(out, "clock_gettime", syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts));
	s = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	say(out, "socket_udp6", s);
	say(out, "socket_tcp", socket(AF_INET, SOCK_STREAM, 0));
	say(out, "socket_packet", socket(AF_PACKET, SOCK_RAW, 0));
	say(out, "socket_netlink", socket(AF_NETLINK, SOCK_DGRAM, 0));
	say(out, "execve", execve(argv[0], argv, NULL));
	say(out, "clock_settime", clock_settime(CLOCK_MONOTONIC, &ts));
	memset(&tx, 0, sizeof tx); /* modes 0: only read the kernel clock state */
	say(out, "clock_adjtime", syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx));
	say(out, "getuid", (long)syscall(SYS_getuid));
	say(out, "mmap_rw",
	    (long)syscall(SYS_mmap, NULL, 1 << 20, PROT_READ | PROT_WRITE,
	                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	say(out, "mmap_exec",
	    (long)syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
	                  -1, 0));
	say(out, "done", 0);
}

/* Fork; the child drops its capabilities, enters the filter for cfg and
 * probes.  report gets what it said. */
static void
run_filtered(const refd_sandbox_cfg *cfg, char *report, size_t size)
{
	int p[2], status = 0;
	size_t n = 0;
	ssize_t got;
	pid_t pid;

	/* ASan's run-time makes calls of its own (sigaltstack in its execve
	 * interceptor, ptrace for LeakSanitizer) that the filter refuses:
	 * refd never enters the sandbox in such a build, nor does this test. */
	if (!refd_sandbox_supported()) {
		cr_skip_test("built with AddressSanitizer: no sandbox (refd_sandbox.h)");
	}
	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char err[256];
		int udp = loopback_socket_with_datagram();

		close(p[0]);
		if (refd_sandbox_drop_caps(false, err, sizeof err) != 0 ||
		    refd_sandbox_filter(cfg, err, sizeof err) != 0) {
			dprintf(p[1], "setup %s\n", err);
			_exit(2);
		}
		probe(p[1], udp);
		_exit(0);
	}
	close(p[1]);
	while (n + 1 < size && (got = read(p[0], report + n, size - n - 1)) > 0) {
		n += (size_t)got;
	}
	report[n] = '\0';
	close(p[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x: %s", status,
	          report);
}

static void
expect(const char *report, const char *line)
{
	cr_expect(strstr(report, line) != NULL, "'%s' not in the child's report:\n%s", line,
	          report);
}

Test(refd_sandbox, forbidden_calls_fail_with_eperm_allowed_ones_work)
{
	refd_sandbox_cfg cfg = {.system_clock = false};
	char report[REPORT_MAX], want[64];

	run_filtered(&cfg, report, sizeof report);
	expect(report, "recvmmsg ok\n");
	expect(report, "clock_gettime ok\n");
	expect(report, "socket_udp6 ok\n");
	expect(report, "mmap_rw ok\n");
	snprintf(want, sizeof want, "errno=%d\n", EPERM);
	for (size_t i = 0; i < 7; i++) {
		static const char *const refused[] = {
		        "socket_tcp",    "socket_packet", "socket_netlink", "execve",
		        "clock_settime", "clock_adjtime", "getuid"};
		char line[96];

		snprintf(line, sizeof line, "%s %s", refused[i], want);
		expect(report, line);
	}
	expect(report, "done ok\n");
}

/* --clock system: the clock calls pass the filter (clock_settime of
 * CLOCK_MONOTONIC then fails in the kernel with EINVAL, as it always
 * does); everything else is as strict. */
Test(refd_sandbox, system_clock_filter_allows_the_clock_calls_only)
{
	refd_sandbox_cfg cfg = {.system_clock = true};
	char report[REPORT_MAX], line[64];

	run_filtered(&cfg, report, sizeof report);
	expect(report, "clock_adjtime ok\n");
	snprintf(line, sizeof line, "clock_settime errno=%d\n", EINVAL);
	expect(report, line);
	snprintf(line, sizeof line, "execve errno=%d\n", EPERM);
	expect(report, line);
	snprintf(line, sizeof line, "socket_packet errno=%d\n", EPERM);
	expect(report, line);
}

/* The capability sets a dropped process shows in /proc/self/status. */
static void
caps_of_self(unsigned long long *eff, unsigned long long *prm, unsigned long long *bnd)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];

	cr_assert_not_null(fp);
	while (fgets(line, sizeof line, fp) != NULL) {
		sscanf(line, "CapEff: %llx", eff);
		sscanf(line, "CapPrm: %llx", prm);
		sscanf(line, "CapBnd: %llx", bnd);
	}
	fclose(fp);
}

Test(refd_sandbox, capabilities_are_dropped_but_cap_sys_time_on_request)
{
	for (int keep = 0; keep < 2; keep++) {
		pid_t pid = fork();
		int status = 0;

		cr_assert_geq(pid, 0);
		if (pid == 0) {
			unsigned long long eff = 1, prm = 1, bnd = 1, had = 0, x, y;
			unsigned long long sys_time = 1ULL << 25; /* CAP_SYS_TIME */
			char err[256];

			caps_of_self(&had, &x, &y);
			if (refd_sandbox_drop_caps(keep, err, sizeof err) != 0) {
				_exit(10);
			}
			caps_of_self(&eff, &prm, &bnd);
			/* Without CAP_SYS_TIME to begin with there is none to keep. */
			if (eff != (keep ? (had & sys_time) : 0) || prm != eff) {
				_exit(11);
			}
			/* The bounding set goes too where CAP_SETPCAP (bit 8) allowed. */
			if ((had & (1ULL << 8)) && (bnd & ~sys_time) != 0) {
				_exit(12);
			}
			_exit(0);
		}
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "keep %d: status %#x",
		          keep, status);
	}
}

/* The allow list names only calls libseccomp knows (on this architecture:
 * x86-64 has them all), and every rule says why it is there. */
Test(refd_sandbox, every_rule_is_explained)
{
	const refd_sandbox_rule *rules;
	size_t n = refd_sandbox_rules(&rules);

	cr_assert_gt(n, 10);
	for (size_t i = 0; i < n; i++) {
		cr_assert(rules[i].why != NULL && rules[i].why[0] != '\0', "%s", rules[i].name);
		cr_assert_neq(seccomp_syscall_resolve_name(rules[i].name), __NR_SCMP_ERROR,
		              "'%s' is no system call libseccomp knows", rules[i].name);
		cr_assert(strcmp(rules[i].name, "execve") != 0 &&
		                  strcmp(rules[i].name, "ptrace") != 0,
		          "%s must never be allowed", rules[i].name);
	}
}
