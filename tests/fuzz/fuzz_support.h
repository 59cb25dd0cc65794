/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What every libFuzzer target here shares: the property check that stops
 * the run (abort, so libFuzzer saves the input), and the string test the
 * text parsers' outputs must pass.  Both are harness code, not the code
 * under test: FUZZ_HARNESS keeps coverage instrumentation out of them, so
 * only the project's branches steer the fuzzer.
 */
#ifndef FUZZ_SUPPORT_H
#define FUZZ_SUPPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_HARNESS __attribute__((no_sanitize("coverage")))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property of the code under test; a violation aborts the run. */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* A text field a parser filled is NUL-terminated within its buffer. */
FUZZ_HARNESS static inline bool
fuzz_terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

#endif
