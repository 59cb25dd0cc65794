/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for refd/refd_ctl: arbitrary bytes as one control
 * datagram.  The parser must not crash or read past the bytes, must
 * leave a terminated, non-empty reason on refusal, and an accepted command
 * must be one of the four kinds with values inside the documented bounds.
 * Every accepted command is also applied to a virtual clock, and every
 * datagram is quoted for the log.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "refd_ctl.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1); /* exact size: ASan sees any over-read */
	char err[REFD_CTL_REPLY_MAX], reply[REFD_CTL_REPLY_MAX], quoted[128];
	refd_ctl_cmd cmd;
	refd_clock clock;
	ntp_fault fault;

	CHECK(copy != NULL);
	if (size > 0) {
		memcpy(copy, data, size);
	}
	memset(err, 'x', sizeof err);
	if (refd_ctl_parse(copy, size, &cmd, err, sizeof err) == 0) {
		CHECK(cmd.kind >= REFD_CTL_STEP && cmd.kind <= REFD_CTL_STATUS);
		CHECK(isfinite(cmd.value) && fabs(cmd.value) <= REFD_CTL_TIME_MAX);
		CHECK(memchr(cmd.fault.kod, '\0', sizeof cmd.fault.kod) != NULL);
		CHECK(cmd.fault.leap <= 3 && cmd.fault.rootdisp >= 0.0 && cmd.fault.stale >= 0.0);
		refd_clock_init_virtual(&clock, INT64_C(1795503373000000000), 0.0, 0.0, 0.0);
		memset(&fault, 0, sizeof fault);
		refd_ctl_apply(&cmd, &clock, NULL, &fault, INT64_C(1795503374000000000), reply,
		               sizeof reply);
		CHECK(strncmp(reply, "ok: ", 4) == 0 || strncmp(reply, "error: ", 7) == 0);
	} else {
		CHECK(memchr(err, '\0', sizeof err) != NULL && err[0] != '\0');
	}
	refd_ctl_quote(copy, size, quoted, sizeof quoted);
	CHECK(memchr(quoted, '\0', sizeof quoted) != NULL);
	/* the same bytes as a --fault spec (NUL-terminated there) */
	copy[size] = '\0';
	refd_ctl_parse_fault(copy, &fault, err, sizeof err);
	free(copy);
	return 0;
}
