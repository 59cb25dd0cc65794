/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for core/ntp_conf: arbitrary bytes as an ntp.conf.  The
 * parser must not crash, must keep every string NUL-terminated and every
 * count within its array, and every diagnostic must format.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "ntp_conf.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ntp_conf *c; /* ~60 KB: never on the stack */
	char line[1024];

	if (c == NULL) {
		c = malloc(sizeof *c);
		CHECK(c != NULL);
	}
	ntp_conf_init(c, "fuzz.conf");
	unsigned errors = ntp_conf_parse(c, (const char *)data, size);

	CHECK(errors == c->n_errors);
	CHECK(c->n_diags <= NTP_CONF_MAX_DIAGS);
	CHECK(c->n_diags <= (size_t)c->n_errors + c->n_warnings);
	CHECK(c->n_servers <= NTP_CONF_MAX_SERVERS);
	CHECK(c->n_restrict <= NTP_CONF_MAX_RESTRICT);
	CHECK(c->n_filegen <= NTP_CONF_MAX_FILEGEN);
	CHECK(fuzz_terminated(c->driftfile, sizeof c->driftfile));
	CHECK(fuzz_terminated(c->logfile, sizeof c->logfile));
	CHECK(fuzz_terminated(c->statsdir, sizeof c->statsdir));
	for (size_t i = 0; i < c->n_diags; i++) {
		const ntp_conf_diag *d = &c->diags[i];
		CHECK(fuzz_terminated(d->msg, sizeof d->msg) &&
		      fuzz_terminated(d->hint, sizeof d->hint));
		CHECK(d->line >= 1 && d->col >= 1);
		CHECK(d->severity == NTP_CONF_ERROR || d->severity == NTP_CONF_WARNING);
		ntp_conf_diag_format(c, d, line, sizeof line);
		CHECK(fuzz_terminated(line, sizeof line));
	}
	for (size_t i = 0; i < c->n_servers; i++) {
		const ntp_conf_server *s = &c->servers[i];
		CHECK(fuzz_terminated(s->host, sizeof s->host));
		CHECK(s->minpoll >= -7 && s->minpoll <= s->maxpoll && s->maxpoll <= 17);
		CHECK(s->version >= 1 && s->version <= 4);
	}
	for (size_t i = 0; i < c->n_filegen; i++) {
		CHECK(fuzz_terminated(c->filegen[i].file, sizeof c->filegen[i].file));
		CHECK(fuzz_terminated(c->filegen[i].type, sizeof c->filegen[i].type));
	}
	(void)ntp_conf_step(c);
	return 0;
}
