/* SPDX-License-Identifier: BSD-2-Clause */
/* refd/refd_ctl: the command language (every command, every refusal),
 * what the commands do to the virtual clock (with explicit real times),
 * faults on a real host, the --ctl/--fault options and the socket.  No
 * test touches the machine's clock: the "system" clock below is a struct
 * marked system, refused before any kernel call. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "host_fixture.h"
#include "ntp_fault.h"
#include "ntp_host.h"
#include "ntp_pkt.h"
#include "refd_clock.h"
#include "refd_ctl.h"
#include "refd_opts.h"

#define S(x)  ((ntp_time)((x)*1e9))
#define REAL0 S(1795503373) /* 2026-11-24 06:56:13 UTC */
#define MS    1000000       /* ns */

static const char SYSTEM_REFUSAL[] = "error: refd steps/skews only its virtual clock on "
                                     "command; the system clock is never changed on request";

/* ---- helpers ---- */

static int
parse(const char *text, refd_ctl_cmd *cmd, char *err, size_t errsize)
{
	return refd_ctl_parse(text, strlen(text), cmd, err, errsize);
}

static refd_ctl_cmd
parsed_ok(const char *text)
{
	refd_ctl_cmd cmd;
	char err[REFD_CTL_REPLY_MAX];

	cr_assert_eq(parse(text, &cmd, err, sizeof err), 0, "'%s' refused: %s", text, err);
	return cmd;
}

/* The command must be refused with a reason containing `needle`. */
static void
refused(const char *text, const char *needle)
{
	refd_ctl_cmd cmd;
	char err[REFD_CTL_REPLY_MAX];

	memset(err, 'x', sizeof err);
	cr_assert_eq(parse(text, &cmd, err, sizeof err), -1, "'%s' accepted", text);
	cr_assert_not_null(memchr(err, '\0', sizeof err));
	cr_assert(strstr(err, needle) != NULL, "'%s': reason '%s' lacks '%s'", text, err, needle);
}

static void
near(double got, double want, const char *what)
{
	cr_assert(fabs(got - want) <= 1e-12 * fmax(1.0, fabs(want)), "%s: %.15g, want %.15g", what,
	          got, want);
}

static refd_clock
virtual_clock(double offset_s, double skew_ppm)
{
	refd_clock c;

	refd_clock_init_virtual(&c, REAL0, offset_s, skew_ppm, 0.0);
	return c;
}

static ntp_host *
local_server(void)
{
	ntp_host_params p;

	memset(&p, 0, sizeof p);
	p.seed = 3;
	p.precision = -20;
	p.now = AT(REAL0);
	return fixture_host("server 127.127.1.0\nfudge 127.127.1.0 stratum 5\n", &p);
}

/* Ask the host for the time at local `now`; true with the decoded reply
 * in *r when it answered. */
static bool
ask(ntp_host *h, ntp_time now, ntp_pkt *r)
{
	ntp_actions *a = fixture_actions();
	ntp_addr cli, me;
	ntp_pkt q;
	uint8_t buf[NTP_PKT_MAX_LEN];
	size_t len = 0;
	bool answered = false;

	cr_assert(ntp_addr_parse("127.0.0.2", &cli));
	cr_assert(ntp_addr_parse("127.0.0.1", &me));
	cli.port = 40000;
	me.port = 123;
	memset(&q, 0, sizeof q);
	q.version = 4;
	q.mode = NTP_MODE_CLIENT;
	q.xmt = 0x1122334455667788ull;
	cr_assert_eq(ntp_pkt_encode(&q, buf, sizeof buf, &len), NTP_PKT_OK);
	ntp_host_recv(h, &cli, &me, buf, len, AT(now), a);
	for (size_t i = 0; i < a->n; i++) {
		if (a->v[i].kind == NTP_ACT_SEND) {
			cr_assert_eq(
			        ntp_pkt_decode(a->v[i].u.send.buf, a->v[i].u.send.len, r, NULL),
			        NTP_PKT_OK);
			answered = true;
		}
	}
	free(a);
	return answered;
}

static char *
temp_dir(void)
{
	static char tmpl[64];

	snprintf(tmpl, sizeof tmpl, "/tmp/refd_ctl_test.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpl), "mkdtemp: %s", strerror(errno));
	return tmpl;
}

/* ---- the command language ---- */

Test(refd_ctl, step_takes_ntpsim_time_units)
{
	static const struct {
		const char *text;
		double s;
	} cases[] = {
	        {"step 0.25", 0.25},       {"step -1s", -1.0},     {"step 500ms", 0.5},
	        {"step 1.5 ms", 1.5e-3},   {"step 100us", 100e-6}, {"step 5ns", 5e-9},
	        {"step 2min", 120.0},      {"step -1h", -3600.0},  {"step +1d", 86400.0},
	        {"step 3sec", 3.0},        {"step 0", 0.0},        {"step 1e9", 1e9},
	        {"\tstep\t-2s\t", -2.0},   {"step 1\n", 1.0},      {"step 1\r\n", 1.0},
	        {"  step   28.2  ", 28.2},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		refd_ctl_cmd cmd = parsed_ok(cases[i].text);

		cr_assert_eq(cmd.kind, REFD_CTL_STEP, "%s", cases[i].text);
		near(cmd.value, cases[i].s, cases[i].text);
	}
}

Test(refd_ctl, step_refusals_name_the_bad_word)
{
	refused("step", "step needs SECONDS");
	refused("step   ", "step needs SECONDS");
	refused("step x", "'x' is not a time");
	refused("step 1 parsec", "'1 parsec' is not a time");
	refused("step 1m", "'1m' is not a time");
	refused("step inf", "'inf'");
	refused("step nan", "'nan'");
	refused("step -nan", "'-nan'");
	refused("step 1e400", "'1e400'");
	refused("step 2e9", "beyond");
	refused("step 1 2", "'1 2'");
	refused("step ms", "'ms'");
	/* Issue 11 item 9: strtod's hexadecimal is not a time. */
	refused("step 0x10", "'0x10'");
	refused("step 0x1p3 ms", "'0x1p3 ms'");
}

Test(refd_ctl, freq_takes_ppm_or_a_fraction)
{
	static const struct {
		const char *text;
		double f;
	} cases[] = {
	        {"freq 12ppm", 12e-6}, {"freq 1.2e-5", 1.2e-5}, {"freq -5ppb", -5e-9},
	        {"freq 3 ppt", 3e-12}, {"freq 0", 0.0},         {"freq 100000ppm", 0.1},
	        {"freq -0.1", -0.1},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		refd_ctl_cmd cmd = parsed_ok(cases[i].text);

		cr_assert_eq(cmd.kind, REFD_CTL_FREQ, "%s", cases[i].text);
		near(cmd.value, cases[i].f, cases[i].text);
	}
	refused("freq", "freq needs a frequency error");
	refused("freq 12 Hz", "'12 Hz' is not a frequency");
	refused("freq ppm", "'ppm'");
	refused("freq 12ms", "'12ms'");
	refused("freq 0.2", "beyond");
	refused("freq 100001ppm", "beyond");
	refused("freq 0x10ppm", "'0x10ppm'");
}

Test(refd_ctl, fault_kinds_and_parameters)
{
	refd_ctl_cmd cmd;

	cmd = parsed_ok("fault none");
	cr_assert_eq(cmd.kind, REFD_CTL_FAULT);
	cr_assert_eq(cmd.fault.kinds, 0u);

	cmd = parsed_ok("fault falseticker offset=0.5");
	cr_assert_eq(cmd.fault.kinds, (uint32_t)NTP_FAULT_FALSETICKER);
	near(cmd.fault.offset, 0.5, "offset");

	cmd = parsed_ok("fault kod,silent kod=DENY");
	cr_assert_eq(cmd.fault.kinds, (uint32_t)(NTP_FAULT_KOD | NTP_FAULT_SILENT));
	cr_assert_str_eq(cmd.fault.kod, "DENY");

	cmd = parsed_ok("fault wrong-leap,stratum16 leap=1 offset=-20ms rootdisp=20 stale=2h "
	                "kod=RSTR");
	cr_assert_eq(cmd.fault.kinds, (uint32_t)(NTP_FAULT_WRONG_LEAP | NTP_FAULT_STRATUM16));
	cr_assert_eq(cmd.fault.leap, 1);
	near(cmd.fault.offset, -0.020, "offset");
	near(cmd.fault.rootdisp, 20.0, "rootdisp");
	near(cmd.fault.stale, 7200.0, "stale");
	cr_assert_str_eq(cmd.fault.kod, "RSTR");

	/* the same kind twice is the same kind */
	cmd = parsed_ok("fault silent,silent");
	cr_assert_eq(cmd.fault.kinds, (uint32_t)NTP_FAULT_SILENT);
}

/* Every kind ntp_fault knows, by its own name; unset parameters stay 0,
 * which ntp_fault reads as ntpsim's defaults (RATE, 16 s, one day). */
Test(refd_ctl, every_kind_with_ntpsim_defaults)
{
	for (uint32_t bit = 1; bit != 0 && bit <= NTP_FAULT_SILENT; bit <<= 1) {
		char text[64];
		refd_ctl_cmd cmd;
		ntp_fault zero;

		snprintf(text, sizeof text, "fault %s", ntp_fault_name(bit));
		cmd = parsed_ok(text);
		cr_assert_eq(cmd.fault.kinds, bit, "%s", text);
		memset(&zero, 0, sizeof zero);
		zero.kinds = bit;
		cr_assert_eq(memcmp(&cmd.fault, &zero, sizeof zero), 0, "%s: defaults differ",
		             text);
	}
}

Test(refd_ctl, fault_refusals_name_the_bad_word)
{
	refused("fault", "needs KIND");
	refused("fault bogus", "unknown fault kind 'bogus'");
	refused("fault falseticker,bogus", "unknown fault kind 'bogus'");
	refused("fault none offset=1", "'none' takes no parameters, got 'offset=1'");
	refused("fault none,kod", "'none' cannot be combined");
	refused("fault kod,,silent", "empty fault kind in 'kod,,silent'");
	refused("fault ,kod", "empty fault kind");
	refused("fault kod,", "empty fault kind");
	refused("fault offset=1 falseticker", "got 'offset=1' first");
	refused("fault falseticker offset", "expected KEY=VALUE after the fault kinds, got "
	                                    "'offset'");
	refused("fault falseticker color=red", "unknown fault parameter 'color'");
	refused("fault falseticker offset=1 offset=2", "'offset' given twice");
	refused("fault falseticker offset=abc", "offset 'abc' is not a time");
	refused("fault falseticker offset=", "offset '' is not a time");
	refused("fault falseticker offset=2e9", "offset '2e9'");
	refused("fault wrong-leap leap=4", "leap '4' is not 0, 1, 2 or 3");
	refused("fault wrong-leap leap=-1", "leap '-1'");
	refused("fault wrong-leap leap=1x", "leap '1x'");
	refused("fault kod kod=TOOLONG", "kod 'TOOLONG'");
	refused("fault kod kod=", "kod ''");
	refused("fault huge-rootdisp rootdisp=-1", "rootdisp '-1' is not a time >= 0");
	refused("fault stale-reftime stale=-2s", "stale '-2s'");
	refused("fault stale-reftime stale=1week", "stale '1week'");
}

Test(refd_ctl, status_and_unknown_commands)
{
	cr_assert_eq(parsed_ok("status").kind, REFD_CTL_STATUS);
	cr_assert_eq(parsed_ok("status\n").kind, REFD_CTL_STATUS);
	refused("status now", "status takes no arguments, got 'now'");
	refused("STEP 1", "unknown command 'STEP'");
	refused("stepp 1", "unknown command 'stepp'");
	refused("date -s 12:00", "unknown command 'date'");
}

Test(refd_ctl, bytes_that_are_not_a_command)
{
	char big[REFD_CTL_LINE_MAX + 40];
	const char nul[] = {'s', 't', 'e', 'p', ' ', '1', '\0', 'x'};
	const char high[] = {'s', 't', 'a', 't', 'u', 's', (char)0xff};
	const char status_unterminated[] = {'s', 't', 'a', 't', 'u', 's'};
	refd_ctl_cmd cmd;
	char err[200];

	refused("", "empty command");
	refused("   ", "empty command");
	refused("\n", "empty command");
	refused("\r", "byte 0x0d at offset 0");
	refused("step\n1", "byte 0x0a at offset 4");
	refused("step 1\n\n", "byte 0x0a at offset 6");
	cr_assert_eq(refd_ctl_parse(NULL, 5, &cmd, err, sizeof err), -1);
	cr_assert(strstr(err, "empty command") != NULL);
	cr_assert_eq(refd_ctl_parse(nul, sizeof nul, &cmd, err, sizeof err), -1);
	cr_assert(strstr(err, "byte 0x00 at offset 6") != NULL, "%s", err);
	cr_assert_eq(refd_ctl_parse(high, sizeof high, &cmd, err, sizeof err), -1);
	cr_assert(strstr(err, "byte 0xff at offset 6") != NULL, "%s", err);
	/* exactly len bytes are read: no terminator needed, none read past */
	cr_assert_eq(refd_ctl_parse(status_unterminated, sizeof status_unterminated, &cmd, err,
	                            sizeof err),
	             0);
	cr_assert_eq(refd_ctl_parse("step 1", 4, &cmd, err, sizeof err), -1);
	cr_assert(strstr(err, "step needs SECONDS") != NULL, "%s", err);
	/* overlong, even when every byte is fine */
	memset(big, 'a', sizeof big);
	memcpy(big, "step 1", 6);
	cr_assert_eq(refd_ctl_parse(big, REFD_CTL_LINE_MAX + 1, &cmd, err, sizeof err), -1);
	cr_assert(strstr(err, "longer than 256 bytes") != NULL, "%s", err);
	memset(big, ' ', REFD_CTL_LINE_MAX);
	memcpy(big + REFD_CTL_LINE_MAX - 6, "status", 6);
	cr_assert_eq(refd_ctl_parse(big, REFD_CTL_LINE_MAX, &cmd, err, sizeof err), 0);
	cr_assert_eq(cmd.kind, REFD_CTL_STATUS);
	/* no room for a reason, or no command to fill: refused, no crash */
	cr_assert_eq(refd_ctl_parse("bogus", 5, &cmd, NULL, 0), -1);
	cr_assert_eq(refd_ctl_parse("bogus", 5, &cmd, err, 1), -1);
	cr_assert_eq(err[0], '\0');
	cr_assert_eq(refd_ctl_parse("status", 6, NULL, err, sizeof err), -1);
}

/* Pseudo-random datagrams (xorshift, fixed seed): every one is parsed or
 * refused with a terminated, non-empty reason; ASan watches the reads. */
Test(refd_ctl, random_bytes_never_crash)
{
	static const char *const seeds[] = {"step ",  "freq ",      "fault ",
	                                    "status", "fault kod,", "fault falseticker offset="};
	uint64_t x = 0x9e3779b97f4a7c15ull;
	unsigned accepted = 0;

	for (int round = 0; round < 20000; round++) {
		char *buf;
		size_t len, pre;
		refd_ctl_cmd cmd;
		char err[REFD_CTL_REPLY_MAX];

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		len = (size_t)(x % (REFD_CTL_LINE_MAX + 20));
		buf = malloc(len + 1); /* exact size, so ASan sees an over-read */
		cr_assert_not_null(buf);
		pre = strlen(seeds[round % 6]);
		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* mostly printable, sometimes anything */
			buf[i] = (char)((x & 0x700) ? 0x20 + (x % 95) : (x & 0xff));
		}
		if (round % 2 == 0 && len >= pre) {
			memcpy(buf, seeds[round % 6], pre);
		}
		err[0] = 'x';
		if (refd_ctl_parse(buf, len, &cmd, err, sizeof err) == 0) {
			accepted++;
			cr_assert(cmd.kind >= REFD_CTL_STEP && cmd.kind <= REFD_CTL_STATUS);
		} else {
			cr_assert_not_null(memchr(err, '\0', sizeof err));
			cr_assert_gt(strlen(err), 0u);
		}
		free(buf);
	}
	cr_assert_lt(accepted, 20000u);
}

/* ---- what the commands do to the virtual clock ---- */

/* An external jump moves raw and local by exactly the step, and a slew in
 * progress goes on exactly as it would have: the discipline is not told. */
Test(refd_ctl, step_jumps_both_readings_and_leaves_the_slew_alone)
{
	refd_clock c = virtual_clock(0.0, 30.0), twin;
	ntp_host *host = NULL;
	ntp_fault fault;
	refd_ctl_cmd cmd = parsed_ok("step 250ms");
	ntp_time t = REAL0 + S(200);
	char reply[REFD_CTL_REPLY_MAX], err[128];

	memset(&fault, 0, sizeof fault);
	ntp_clock_adj adj = {.what = NTP_CLOCK_SLEW, .offset = 0.010, .freq = 20e-6, .tau = 64.0};

	cr_assert_eq(refd_clock_adjust(&c, REAL0 + S(100), &adj, err, sizeof err), 0);
	twin = c;
	cr_assert_eq(refd_ctl_apply(&cmd, &c, host, &fault, t, reply, sizeof reply), 0, "%s",
	             reply);
	cr_assert(strstr(reply, "ok: virtual clock stepped by +0.250000000 s") != NULL, "%s",
	          reply);
	for (int k = 0; k <= 4; k++) {
		ntp_time at = t + S(100 * k);

		cr_assert_eq(refd_clock_raw_at(&c, at), refd_clock_raw_at(&twin, at) + 250 * MS);
		cr_assert_eq(refd_clock_local_at(&c, at), refd_clock_local_at(&twin, at) + 250 * MS,
		             "%d s after the jump", 100 * k);
	}
	cr_assert_eq(c.jumps, 1u);
	cr_assert_eq(c.steps, 0u, "a jump is not a STEP action");
	cr_assert_eq(c.adjusts, 1u);
	near(refd_clock_freq_ppm(&c), 20.0, "discipline frequency");

	/* and back: -1 s, ntpsim's `by: -1s` */
	cmd = parsed_ok("step -1s");
	cr_assert_eq(refd_ctl_apply(&cmd, &c, host, &fault, t + S(10), reply, sizeof reply), 0);
	cr_assert_eq(refd_clock_local_at(&c, t + S(20)),
	             refd_clock_local_at(&twin, t + S(20)) - 750 * MS);
	cr_assert_eq(c.jumps, 2u);
}

/* A new frequency error acts from now on: no jump at the change, the old
 * one kept for the time before it. */
Test(refd_ctl, freq_change_is_continuous)
{
	refd_clock c = virtual_clock(0.5, 50.0);
	ntp_fault fault;
	refd_ctl_cmd cmd = parsed_ok("freq 12ppm");
	ntp_time t = REAL0 + S(1000), raw_t, local_t;
	char reply[REFD_CTL_REPLY_MAX];

	memset(&fault, 0, sizeof fault);
	raw_t = refd_clock_raw_at(&c, t);
	local_t = refd_clock_local_at(&c, t);
	cr_assert_eq(raw_t, t + 500 * MS + 50 * MS, "+50 ppm over the first 1000 s");
	cr_assert_eq(refd_ctl_apply(&cmd, &c, NULL, &fault, t, reply, sizeof reply), 0, "%s",
	             reply);
	cr_assert(strstr(reply, "now +12.000000 ppm (was +50.000000 ppm)") != NULL, "%s", reply);
	cr_assert_eq(refd_clock_raw_at(&c, t), raw_t, "the raw reading must not jump");
	cr_assert_eq(refd_clock_local_at(&c, t), local_t);
	cr_assert_eq(refd_clock_raw_at(&c, t + S(1000)), raw_t + S(1000) + 12 * MS);
	near(refd_clock_skew_ppm(&c), 12.0, "skew");
	/* a second change, to a fraction below zero */
	cmd = parsed_ok("freq -1e-5");
	raw_t = refd_clock_raw_at(&c, t + S(500));
	cr_assert_eq(refd_ctl_apply(&cmd, &c, NULL, &fault, t + S(500), reply, sizeof reply), 0);
	cr_assert_eq(refd_clock_raw_at(&c, t + S(500)), raw_t);
	cr_assert_eq(refd_clock_raw_at(&c, t + S(1500)), raw_t + S(1000) - 10 * MS);
	cr_assert_eq(c.jumps, 0u);
}

Test(refd_ctl, jump_limits_leave_the_clock_unchanged)
{
	refd_clock c = virtual_clock(9e8, 0.0), before;
	ntp_fault fault;
	refd_ctl_cmd cmd = parsed_ok("step 2e8");
	char reply[REFD_CTL_REPLY_MAX];

	memset(&fault, 0, sizeof fault);
	before = c;
	cr_assert_eq(refd_ctl_apply(&cmd, &c, NULL, &fault, REAL0, reply, sizeof reply), -1);
	cr_assert(strncmp(reply, "error: ", 7) == 0 && strstr(reply, "beyond") != NULL, "%s",
	          reply);
	cr_assert_eq(memcmp(&c, &before, sizeof c), 0);
}

Test(refd_ctl, system_clock_is_never_stepped_or_skewed_on_request)
{
	refd_clock c, before;
	ntp_fault fault;
	refd_ctl_cmd step = parsed_ok("step 1"), freq = parsed_ok("freq 1ppm");
	refd_ctl_cmd status = parsed_ok("status"), fault_cmd = parsed_ok("fault stratum16");
	char reply[REFD_CTL_REPLY_MAX];

	/* Marked "system" by hand: refd_clock_init_system would set the
	 * kernel frequency, which no test may do. */
	memset(&c, 0, sizeof c);
	c.kind = REFD_CLOCK_SYSTEM;
	memset(&fault, 0, sizeof fault);
	before = c;
	cr_assert_eq(refd_ctl_apply(&step, &c, NULL, &fault, REAL0, reply, sizeof reply), -1);
	cr_assert_str_eq(reply, SYSTEM_REFUSAL);
	cr_assert_eq(refd_ctl_apply(&freq, &c, NULL, &fault, REAL0, reply, sizeof reply), -1);
	cr_assert_str_eq(reply, SYSTEM_REFUSAL);
	cr_assert_eq(memcmp(&c, &before, sizeof c), 0);
	/* the rest works as with the virtual clock */
	cr_assert_eq(refd_ctl_apply(&status, &c, NULL, &fault, REAL0, reply, sizeof reply), 0);
	cr_assert(strstr(reply, "clock=system bias_s=+0.000000000 skew_ppm=+0.000000") != NULL,
	          "%s", reply);
	cr_assert_eq(refd_ctl_apply(&fault_cmd, &c, NULL, &fault, REAL0, reply, sizeof reply), 0);
	cr_assert_eq(fault.kinds, (uint32_t)NTP_FAULT_STRATUM16);
}

Test(refd_ctl, status_reports_clock_and_fault)
{
	refd_clock c = virtual_clock(0.0, 0.0);
	ntp_fault fault;
	char reply[REFD_CTL_REPLY_MAX];
	refd_ctl_cmd cmds[] = {parsed_ok("step 0.25"), parsed_ok("freq 12ppm"),
	                       parsed_ok("fault falseticker,kod offset=0.5"), parsed_ok("status")};

	memset(&fault, 0, sizeof fault);
	for (size_t i = 0; i < 4; i++) {
		cr_assert_eq(refd_ctl_apply(&cmds[i], &c, NULL, &fault, REAL0 + S(10), reply,
		                            sizeof reply),
		             0, "%s", reply);
	}
	cr_assert_str_eq(reply, "ok: clock=virtual bias_s=+0.250000000 skew_ppm=+12.000000 "
	                        "jumps=1 steps=0 adjusts=0 freq_ppm=+0.000 "
	                        "fault=kod RATE, falseticker +0.500 s");
	/* 1000 s later the 12 ppm show in the bias */
	cr_assert_eq(
	        refd_ctl_apply(&cmds[3], &c, NULL, &fault, REAL0 + S(1010), reply, sizeof reply),
	        0);
	cr_assert(strstr(reply, "bias_s=+0.262000000 ") != NULL, "%s", reply);
}

/* Faults reach the host's replies, and `none` restores them. */
Test(refd_ctl, fault_commands_change_what_the_server_sends)
{
	ntp_host *h = local_server();
	refd_clock c = virtual_clock(0.0, 0.0);
	ntp_fault fault;
	ntp_pkt good, r;
	char reply[REFD_CTL_REPLY_MAX];
	refd_ctl_cmd silent = parsed_ok("fault silent"), liar = parsed_ok("fault falseticker "
	                                                                  "offset=0.5");
	refd_ctl_cmd none = parsed_ok("fault none");
	ntp_time now = REAL0 + S(1);

	memset(&fault, 0, sizeof fault);
	cr_assert(ask(h, now, &good));
	cr_assert_eq(refd_ctl_apply(&silent, &c, h, &fault, now, reply, sizeof reply), 0);
	cr_assert_str_eq(reply, "ok: fault silent");
	cr_assert_not(ask(h, now, &r), "a silent server answers nothing");
	cr_assert_eq(refd_ctl_apply(&liar, &c, h, &fault, now, reply, sizeof reply), 0);
	cr_assert(ask(h, now, &r));
	near(ntp_dur_to_s(ntp_ts_sub(r.rec, good.rec)), 0.5, "falseticker receive time");
	cr_assert_eq(refd_ctl_apply(&none, &c, h, &fault, now, reply, sizeof reply), 0);
	cr_assert_str_eq(reply, "ok: fault none (normal service)");
	cr_assert_eq(fault.kinds, 0u);
	cr_assert(ask(h, now, &r));
	cr_assert_eq(r.rec, good.rec);
	ntp_host_free(h);
}

Test(refd_ctl, apply_without_a_clock_is_refused)
{
	refd_ctl_cmd cmd = parsed_ok("status");
	ntp_fault fault;
	char reply[REFD_CTL_REPLY_MAX];

	memset(&fault, 0, sizeof fault);
	cr_assert_eq(refd_ctl_apply(&cmd, NULL, NULL, &fault, REAL0, reply, sizeof reply), -1);
	cr_assert(strncmp(reply, "error: ", 7) == 0);
	cmd.kind = 99;
	{
		refd_clock c = virtual_clock(0.0, 0.0);

		cr_assert_eq(refd_ctl_apply(&cmd, &c, NULL, &fault, REAL0, reply, sizeof reply),
		             -1);
		cr_assert(strstr(reply, "unknown command kind 99") != NULL, "%s", reply);
	}
}

Test(refd_ctl, quote_for_the_log)
{
	char buf[128], tiny[6];
	char long_line[300];

	cr_assert_str_eq(refd_ctl_quote("step 1", 6, buf, sizeof buf), "'step 1'");
	cr_assert_str_eq(refd_ctl_quote("a\0b\xff'\\", 6, buf, sizeof buf),
	                 "'a\\x00b\\xff\\x27\\x5c'");
	memset(long_line, 'z', sizeof long_line);
	refd_ctl_quote(long_line, sizeof long_line, buf, sizeof buf);
	cr_assert_leq(strlen(buf), 90u);
	cr_assert(strstr(buf, "...'") != NULL, "%s", buf);
	refd_ctl_quote("status", 6, tiny, sizeof tiny);
	cr_assert_not_null(memchr(tiny, '\0', sizeof tiny));
	cr_assert_str_eq(refd_ctl_quote(NULL, 4, buf, sizeof buf), "''");
}

/* ---- options ---- */

Test(refd_ctl, options_ctl_and_fault)
{
	char *const argv[] = {"refd",
	                      "-c",
	                      "x.conf",
	                      "--ctl",
	                      "/run/refd.ctl",
	                      "--fault",
	                      "falseticker offset=0.5",
	                      NULL};
	char *const argv_eq[] = {"refd", "-c", "x.conf", "--fault=kod,silent", NULL};
	refd_opts o;
	char err[256];

	cr_assert_eq(refd_opts_parse(7, argv, &o, err, sizeof err), 0, "%s", err);
	cr_assert_str_eq(o.ctl_path, "/run/refd.ctl");
	cr_assert_eq(o.fault.kinds, (uint32_t)NTP_FAULT_FALSETICKER);
	near(o.fault.offset, 0.5, "--fault offset");
	cr_assert_eq(refd_opts_parse(4, argv_eq, &o, err, sizeof err), 0, "%s", err);
	cr_assert_eq(o.fault.kinds, (uint32_t)(NTP_FAULT_KOD | NTP_FAULT_SILENT));
	cr_assert_null(o.ctl_path);
}

Test(refd_ctl, options_refusals)
{
	char long_path[200];
	char *const bad_fault[] = {"refd", "-c", "x.conf", "--fault", "falsticker", NULL};
	char *const bad_param[] = {"refd", "-c", "x.conf", "--fault", "kod kod=TOOLONG", NULL};
	char *const empty_ctl[] = {"refd", "-c", "x.conf", "--ctl", "", NULL};
	char *const long_ctl[] = {"refd", "-c", "x.conf", "--ctl", long_path, NULL};
	char *const query_ctl[] = {"refd", "-Q", "127.0.0.1", "--ctl", "/tmp/x", NULL};
	refd_opts o;
	char err[256];

	cr_assert_eq(refd_opts_parse(5, bad_fault, &o, err, sizeof err), -1);
	cr_assert(strstr(err, "--fault 'falsticker': unknown fault kind 'falsticker'") != NULL,
	          "%s", err);
	cr_assert_eq(refd_opts_parse(5, bad_param, &o, err, sizeof err), -1);
	cr_assert(strstr(err, "kod 'TOOLONG'") != NULL, "%s", err);
	cr_assert_eq(refd_opts_parse(5, empty_ctl, &o, err, sizeof err), -1);
	cr_assert(strstr(err, "--ctl") != NULL, "%s", err);
	memset(long_path, 'p', sizeof long_path);
	long_path[0] = '/';
	long_path[sizeof long_path - 1] = '\0';
	cr_assert_eq(refd_opts_parse(5, long_ctl, &o, err, sizeof err), -1);
	cr_assert(strstr(err, "1 to 107 bytes") != NULL, "%s", err);
	cr_assert_eq(refd_opts_parse(5, query_ctl, &o, err, sizeof err), -1);
	cr_assert(strstr(err, "'--ctl'") != NULL, "%s", err);
}

/* ---- the socket ---- */

static int
client_socket(const char *dir, const char *name, struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	cr_assert_geq(fd, 0);
	memset(addr, 0, sizeof *addr);
	addr->sun_family = AF_UNIX;
	snprintf(addr->sun_path, sizeof addr->sun_path, "%s/%s", dir, name);
	if (name[0] != '\0') {
		cr_assert_eq(bind(fd, (struct sockaddr *)addr, sizeof *addr), 0, "%s",
		             strerror(errno));
	}
	return fd;
}

Test(refd_ctl, socket_round_trip_and_cleanup)
{
	char *dir = temp_dir();
	char path[64], buf[REFD_CTL_LINE_MAX + 1], answer[REFD_CTL_REPLY_MAX];
	refd_ctl c;
	refd_ctl_peer from;
	struct sockaddr_un srv, me;
	struct stat st;
	char err[256];
	int cli;
	ssize_t n;

	snprintf(path, sizeof path, "%s/refd.ctl", dir);
	cr_assert_eq(refd_ctl_open(&c, path, err, sizeof err), 0, "%s", err);
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISSOCK(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0600u, "mode %o", st.st_mode & 0777);
	cr_assert_eq(refd_ctl_recv(&c, buf, sizeof buf, &from), -1, "nothing waiting yet");

	cli = client_socket(dir, "me.sock", &me);
	memset(&srv, 0, sizeof srv);
	srv.sun_family = AF_UNIX;
	snprintf(srv.sun_path, sizeof srv.sun_path, "%s", path);
	cr_assert_eq(sendto(cli, "status", 6, 0, (struct sockaddr *)&srv, sizeof srv), 6);
	n = refd_ctl_recv(&c, buf, sizeof buf, &from);
	cr_assert_eq(n, 6);
	cr_assert_eq(memcmp(buf, "status", 6), 0);
	cr_assert_eq(refd_ctl_send(&c, &from, "ok: fine"), 0);
	n = recv(cli, answer, sizeof answer, 0);
	cr_assert_eq(n, 8);
	cr_assert_eq(memcmp(answer, "ok: fine", 8), 0);
	/* an overlong datagram arrives cut to the buffer: the parser refuses it */
	{
		char huge[2000];

		memset(huge, 's', sizeof huge);
		cr_assert_eq(sendto(cli, huge, sizeof huge, 0, (struct sockaddr *)&srv, sizeof srv),
		             (ssize_t)sizeof huge);
		n = refd_ctl_recv(&c, buf, sizeof buf, &from);
		cr_assert_eq(n, (ssize_t)sizeof buf);
	}
	close(cli);

	/* an unbound sender is read but cannot be answered */
	cli = client_socket(dir, "", &me);
	cr_assert_eq(sendto(cli, "status", 6, 0, (struct sockaddr *)&srv, sizeof srv), 6);
	cr_assert_eq(refd_ctl_recv(&c, buf, sizeof buf, &from), 6);
	cr_assert_eq(refd_ctl_send(&c, &from, "ok"), -1);
	close(cli);

	/* a second refd on the same path is refused while the first reads it */
	{
		refd_ctl second;

		cr_assert_eq(refd_ctl_open(&second, path, err, sizeof err), -1);
		cr_assert(strstr(err, "a process is reading this socket") != NULL, "%s", err);
		cr_assert_eq(second.fd, -1);
	}
	refd_ctl_close(&c);
	cr_assert_neq(lstat(path, &st), 0, "the socket must be gone at exit");
	cr_assert_eq(c.fd, -1);
	refd_ctl_close(&c); /* twice is harmless */
	snprintf(buf, sizeof buf, "%s/me.sock", dir);
	unlink(buf);
	rmdir(dir);
}

Test(refd_ctl, socket_path_refusals_and_stale_sockets)
{
	char *dir = temp_dir();
	char path[256], err[256];
	struct sockaddr_un addr;
	struct stat st;
	refd_ctl c;
	FILE *fp;
	int fd;

	/* a regular file is never replaced */
	snprintf(path, sizeof path, "%s/file", dir);
	fp = fopen(path, "w");
	cr_assert_not_null(fp);
	fputs("precious\n", fp);
	fclose(fp);
	cr_assert_eq(refd_ctl_open(&c, path, err, sizeof err), -1);
	cr_assert(strstr(err, "exists and is not a socket; refusing to replace it") != NULL, "%s",
	          err);
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISREG(st.st_mode) && st.st_size == 9);
	unlink(path);

	/* nor a directory */
	snprintf(path, sizeof path, "%s/sub", dir);
	cr_assert_eq(mkdir(path, 0700), 0);
	cr_assert_eq(refd_ctl_open(&c, path, err, sizeof err), -1);
	cr_assert(strstr(err, "not a socket") != NULL, "%s", err);
	rmdir(path);

	/* a socket nobody reads any more (a refd that was killed) is replaced */
	snprintf(path, sizeof path, "%s/stale", dir);
	fd = client_socket(dir, "stale", &addr);
	close(fd);
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert_eq(refd_ctl_open(&c, path, err, sizeof err), 0, "%s", err);
	cr_assert_eq(refd_ctl_recv(&c, err, sizeof err, &(refd_ctl_peer){0}), -1);

	/* if someone swaps the file while we run, close leaves theirs */
	cr_assert_eq(unlink(path), 0);
	fp = fopen(path, "w");
	cr_assert_not_null(fp);
	fclose(fp);
	refd_ctl_close(&c);
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISREG(st.st_mode));
	unlink(path);

	/* paths a socket cannot have */
	cr_assert_eq(refd_ctl_open(&c, "", err, sizeof err), -1);
	cr_assert(strstr(err, "empty path") != NULL, "%s", err);
	memset(path, 'a', sizeof path);
	path[0] = '/';
	path[150] = '\0';
	cr_assert_eq(refd_ctl_open(&c, path, err, sizeof err), -1);
	cr_assert(strstr(err, "longer than 107 bytes") != NULL, "%s", err);
	snprintf(path, sizeof path, "%s/no/such/dir/ctl", dir);
	cr_assert_eq(refd_ctl_open(&c, path, err, sizeof err), -1);
	cr_assert(strstr(err, "bind") != NULL, "%s", err);
	rmdir(dir);
}
