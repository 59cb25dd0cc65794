/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for core/ntp_leap: arbitrary bytes as a leapfile.  The
 * parser must not crash, must keep every count within its array, the table
 * sorted with +-1 s steps, and every diagnostic must format; the queries
 * must hold up on whatever table results.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "ntp_leap.h"

static void
check_table(const ntp_leap_table *t)
{
	CHECK(t->n <= NTP_LEAP_MAX_ENTRIES);
	for (size_t i = 0; i < t->n; i++) {
		CHECK(t->e[i].when % 86400 == 0);
		if (i > 0) {
			CHECK(t->e[i].when > t->e[i - 1].when);
			CHECK(t->e[i].tai_utc - t->e[i - 1].tai_utc == t->e[i].step);
			CHECK(t->e[i].step == 1 || t->e[i].step == -1);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ntp_leap_table t; /* ~8 KB: never on the stack */
	char line[1024];
	ntp_leap_entry next;

	ntp_leap_init(&t, "fuzz.list");
	unsigned errors = ntp_leap_parse(&t, (const char *)data, size);

	CHECK(errors == t.n_errors);
	CHECK(t.n_diags <= NTP_CONF_MAX_DIAGS);
	CHECK(t.n_diags <= (size_t)t.n_errors + t.n_warnings);
	CHECK(t.hash <= NTP_LEAP_HASH_BAD);
	CHECK((t.hash == NTP_LEAP_HASH_BAD) <= (errors > 0));
	for (size_t i = 0; i < t.n_diags; i++) {
		const ntp_conf_diag *d = &t.diags[i];
		CHECK(fuzz_terminated(d->msg, sizeof d->msg) &&
		      fuzz_terminated(d->hint, sizeof d->hint));
		CHECK(d->line >= 1 && d->col >= 1);
		ntp_leap_diag_format(&t, d, line, sizeof line);
		CHECK(fuzz_terminated(line, sizeof line));
	}
	check_table(&t);
	for (size_t i = 0; i < t.n; i++) {
		int64_t w = t.e[i].when;
		CHECK(ntp_leap_tai_utc(&t, w) == t.e[i].tai_utc);
		CHECK(ntp_leap_pending(&t, w - 1) == t.e[i].step || i == 0);
		CHECK(!ntp_leap_next(&t, w - 1, &next) || next.when <= w || i == 0);
	}
	ntp_leap_expiry_text(&t, t.n > 0 ? t.e[0].when : 0, line, sizeof line);
	CHECK(fuzz_terminated(line, sizeof line));
	return 0;
}
