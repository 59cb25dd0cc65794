/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The ntpq -p peer table and event names of ntp_host, built on the public
 * introspection call ntp_host_peers().  Layout as classic ntpq (4.2.x)
 * prints it, e.g. the seed's
 *
 *   *LOCAL(0)        .LOCL.           5 l   41   64    7    0.000    0.000   0.000
 *
 * tally, remote (15), refid (15), stratum, type, when, poll, reach in
 * octal, delay, offset and jitter in ms with 3 decimals (strings cut to
 * the column width as ntpq cuts them).
 */
#include "ntp_host.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define TABLE_HEADER                                                                               \
	"     remote           refid      st t when poll reach   delay   offset   jitter"
#define PRETTY_SECONDS_MAX 2048 /* s, ntpq prettyinterval(): plain seconds up to here */
#define PRETTY_MINUTES_MAX 300  /* min */
#define PRETTY_HOURS_MAX   96   /* h */

/* ntpq prettyinterval(): "-", seconds, then minutes, hours, days. */
static char *
pretty_interval(double seconds, char *buf, size_t size)
{
	long diff = (long)seconds;

	if (seconds < 0.0 || diff <= 0) {
		snprintf(buf, size, "-");
		return buf;
	}
	if (diff <= PRETTY_SECONDS_MAX) {
		snprintf(buf, size, "%ld", diff);
		return buf;
	}
	diff = (diff + 29) / 60;
	if (diff <= PRETTY_MINUTES_MAX) {
		snprintf(buf, size, "%ldm", diff);
		return buf;
	}
	diff = (diff + 29) / 60;
	if (diff <= PRETTY_HOURS_MAX) {
		snprintf(buf, size, "%ldh", diff);
		return buf;
	}
	diff = (diff + 11) / 24;
	snprintf(buf, size, "%ldd", diff);
	return buf;
}

static size_t
append(char *buf, size_t size, size_t len, const char *text)
{
	int n;

	if (len >= size) {
		return len;
	}
	n = snprintf(buf + len, size - len, "%s", text);
	return n < 0 ? len : len + (size_t)n;
}

static void
format_line(const ntp_peer_info *p, char *line, size_t size)
{
	char when[24], poll[24], delay[32], offset[32], jitter[32];

	pretty_interval(p->when, when, sizeof when);
	pretty_interval(ldexp(1.0, p->poll), poll, sizeof poll);
	snprintf(delay, sizeof delay, "%.3f", p->delay * 1e3);
	snprintf(offset, sizeof offset, "%.3f", p->offset * 1e3);
	snprintf(jitter, sizeof jitter, "%.3f", p->jitter * 1e3);
	snprintf(line, size, "%c%-15.15s %-15.15s %2d %c %4.4s %4.4s %4o %8.8s %8.8s %7.7s\n",
	         p->tally, p->remote, p->refid, p->stratum, p->type, when, poll, (unsigned)p->reach,
	         delay, offset, jitter);
}

size_t
ntp_host_peer_table(const ntp_host *h, ntp_time mono, char *buf, size_t size)
{
	ntp_peer_info info[NTP_CONF_MAX_SERVERS + 8];
	char rule[sizeof TABLE_HEADER];
	char line[160];
	size_t n, len = 0;

	if (buf == NULL || size == 0) {
		return 0;
	}
	buf[0] = '\0';
	memset(rule, '=', sizeof rule - 1);
	rule[sizeof rule - 1] = '\0';
	len = append(buf, size, len, TABLE_HEADER "\n");
	len = append(buf, size, len, rule);
	len = append(buf, size, len, "\n");
	n = ntp_host_peers(h, mono, info, sizeof info / sizeof info[0]);
	for (size_t i = 0; i < n; i++) {
		format_line(&info[i], line, sizeof line);
		len = append(buf, size, len, line);
	}
	return len < size ? len : size - 1;
}

const char *
ntp_event_name(int code)
{
	switch (code) {
	case NTP_EV_RESTART:
		return "restart";
	case NTP_EV_FREQ_NOT_SET:
		return "freq_not_set";
	case NTP_EV_FREQ_SET:
		return "freq_set";
	case NTP_EV_SPIKE_DETECT:
		return "spike_detect";
	case NTP_EV_FREQ_MODE:
		return "freq_mode";
	case NTP_EV_CLOCK_SYNC:
		return "clock_sync";
	case NTP_EV_PANIC_STOP:
		return "panic_stop";
	case NTP_EV_NO_SYS_PEER:
		return "no_sys_peer";
	case NTP_EV_CLOCK_STEP:
		return "clock_step";
	case NTP_EV_SYS_PEER:
		return "sys_peer";
	case NTP_EV_REACHABLE:
		return "reachable";
	case NTP_EV_UNREACHABLE:
		return "unreachable";
	case NTP_EV_KOD:
		return "kod";
	case NTP_EV_RATE_EXCEEDED:
		return "rate_exceeded";
	case NTP_EV_ACCESS_DENIED:
		return "access_denied";
	case NTP_EV_PKT_REJECTED:
		return "pkt_rejected";
	case NTP_EV_POPCORN:
		return "popcorn";
	case NTP_EV_ORPHAN:
		return "orphan";
	case NTP_EV_DEMOBILIZE:
		return "demobilize";
	case NTP_EV_LEAP_ARMED:
		return "leap_armed";
	case NTP_EV_LEAP_DISARMED:
		return "leap_disarmed";
	case NTP_EV_LEAP_EVENT:
		return "leap_event";
	case NTP_EV_LEAPFILE:
		return "leapfile";
	default:
		return "unknown";
	}
}
