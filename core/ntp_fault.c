/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Server misbehaviour for tests.  Each fault edits the decoded reply in
 * the way a broken or hostile server would produce it.
 */
#include "ntp_fault.h"

#include <stdio.h>
#include <string.h>

#include "ntp_const.h"

static const struct {
	uint32_t bit;
	const char *name;
} fault_names[] = {
        {NTP_FAULT_WRONG_LEAP, "wrong-leap"},
        {NTP_FAULT_STRATUM16, "stratum16"},
        {NTP_FAULT_KOD, "kod"},
        {NTP_FAULT_FALSETICKER, "falseticker"},
        {NTP_FAULT_STALE_REFTIME, "stale-reftime"},
        {NTP_FAULT_HUGE_ROOTDISP, "huge-rootdisp"},
        {NTP_FAULT_BAD_ORIGIN, "bad-origin"},
        {NTP_FAULT_SILENT, "silent"},
};

#define N_FAULTS (sizeof fault_names / sizeof fault_names[0])

/* A kiss-o'-death in NTPsec's form, which every client validates: LI 3,
 * stratum 0, the code in the refid, the request's transmit timestamp
 * echoed in origin (kept from the reply), receive and transmit. */
static void
make_kod(const ntp_fault *f, ntp_pkt *r)
{
	const char *code = f->kod[0] != '\0' ? f->kod : "RATE";
	char c[4] = {' ', ' ', ' ', ' '};

	for (int i = 0; i < 4 && code[i] != '\0'; i++) {
		c[i] = code[i];
	}
	r->leap = 3;
	r->stratum = 0;
	r->refid = NTP_REFID(c);
	r->rec = r->org;
	r->xmt = r->org;
}

bool
ntp_fault_apply(const ntp_fault *f, ntp_pkt *reply)
{
	if (f == NULL || reply == NULL || f->kinds == NTP_FAULT_NONE) {
		return true;
	}
	if (f->kinds & NTP_FAULT_SILENT) {
		return false;
	}
	if (f->kinds & NTP_FAULT_FALSETICKER) {
		ntp_dur d = ntp_dur_from_s(f->offset);

		reply->rec = ntp_ts_add(reply->rec, d);
		reply->xmt = ntp_ts_add(reply->xmt, d);
		if (reply->reftime != 0) {
			reply->reftime = ntp_ts_add(reply->reftime, d);
		}
	}
	if (f->kinds & NTP_FAULT_WRONG_LEAP) {
		reply->leap = (uint8_t)(f->leap & 3);
	}
	if (f->kinds & NTP_FAULT_STRATUM16) {
		reply->stratum = NTP_STRATUM_UNSPEC;
	}
	if ((f->kinds & NTP_FAULT_STALE_REFTIME) && reply->reftime != 0) {
		double age = f->stale > 0.0 ? f->stale : NTP_FAULT_STALE_DEF;

		reply->reftime = ntp_ts_add(reply->reftime, -ntp_dur_from_s(age));
	}
	if (f->kinds & NTP_FAULT_HUGE_ROOTDISP) {
		reply->rootdisp =
		        ntp_short_from_s(f->rootdisp > 0.0 ? f->rootdisp : NTP_FAULT_ROOTDISP_DEF);
	}
	if (f->kinds & NTP_FAULT_KOD) {
		make_kod(f, reply);
	}
	if (f->kinds & NTP_FAULT_BAD_ORIGIN) {
		/* One second off: still nonzero, never the request's. */
		reply->org = ntp_ts_add(reply->org, ntp_dur_from_s(1.0));
	}
	return true;
}

int
ntp_fault_from_name(const char *name)
{
	if (name == NULL) {
		return 0;
	}
	for (size_t i = 0; i < N_FAULTS; i++) {
		if (strcmp(name, fault_names[i].name) == 0) {
			return (int)fault_names[i].bit;
		}
	}
	return 0;
}

const char *
ntp_fault_name(uint32_t kind)
{
	for (size_t i = 0; i < N_FAULTS; i++) {
		if (fault_names[i].bit == kind) {
			return fault_names[i].name;
		}
	}
	return "";
}

char *
ntp_fault_format(const ntp_fault *f, char *buf, unsigned long size)
{
	size_t len = 0;

	if (size == 0) {
		return buf;
	}
	buf[0] = '\0';
	if (f == NULL || f->kinds == NTP_FAULT_NONE) {
		snprintf(buf, size, "none");
		return buf;
	}
	for (size_t i = 0; i < N_FAULTS && len < size; i++) {
		uint32_t bit = fault_names[i].bit;
		int n;

		if (!(f->kinds & bit)) {
			continue;
		}
		if (bit == NTP_FAULT_FALSETICKER) {
			n = snprintf(buf + len, size - len, "%s%s %+.3f s", len ? ", " : "",
			             fault_names[i].name, f->offset);
		} else if (bit == NTP_FAULT_KOD) {
			n = snprintf(buf + len, size - len, "%s%s %s", len ? ", " : "",
			             fault_names[i].name, f->kod[0] ? f->kod : "RATE");
		} else if (bit == NTP_FAULT_WRONG_LEAP) {
			n = snprintf(buf + len, size - len, "%s%s %u", len ? ", " : "",
			             fault_names[i].name, f->leap & 3u);
		} else {
			n = snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
			             fault_names[i].name);
		}
		if (n < 0) {
			break;
		}
		len += (size_t)n;
	}
	return buf;
}
