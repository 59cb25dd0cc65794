/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for core/ntp_conf: arbitrary bytes as an ntp.conf.  The
 * parser must not crash, must keep every string NUL-terminated and every
 * count within its array, and every diagnostic must format.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ntp_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok)
{
	if (!ok) {
		abort();
	}
}

static bool
terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ntp_conf *c; /* ~60 KB: never on the stack */
	char line[1024];

	if (c == NULL) {
		c = malloc(sizeof *c);
		check(c != NULL);
	}
	ntp_conf_init(c, "fuzz.conf");
	unsigned errors = ntp_conf_parse(c, (const char *)data, size);

	check(errors == c->n_errors);
	check(c->n_diags <= NTP_CONF_MAX_DIAGS);
	check(c->n_diags <= (size_t)c->n_errors + c->n_warnings);
	check(c->n_servers <= NTP_CONF_MAX_SERVERS);
	check(c->n_restrict <= NTP_CONF_MAX_RESTRICT);
	check(c->n_filegen <= NTP_CONF_MAX_FILEGEN);
	check(terminated(c->driftfile, sizeof c->driftfile));
	check(terminated(c->logfile, sizeof c->logfile));
	check(terminated(c->statsdir, sizeof c->statsdir));
	for (size_t i = 0; i < c->n_diags; i++) {
		const ntp_conf_diag *d = &c->diags[i];
		check(terminated(d->msg, sizeof d->msg) && terminated(d->hint, sizeof d->hint));
		check(d->line >= 1 && d->col >= 1);
		check(d->severity == NTP_CONF_ERROR || d->severity == NTP_CONF_WARNING);
		ntp_conf_diag_format(c, d, line, sizeof line);
		check(terminated(line, sizeof line));
	}
	for (size_t i = 0; i < c->n_servers; i++) {
		const ntp_conf_server *s = &c->servers[i];
		check(terminated(s->host, sizeof s->host));
		check(s->minpoll >= -7 && s->minpoll <= s->maxpoll && s->maxpoll <= 17);
		check(s->version >= 1 && s->version <= 4);
	}
	for (size_t i = 0; i < c->n_filegen; i++) {
		check(terminated(c->filegen[i].file, sizeof c->filegen[i].file));
		check(terminated(c->filegen[i].type, sizeof c->filegen[i].type));
	}
	(void)ntp_conf_step(c);
	return 0;
}
