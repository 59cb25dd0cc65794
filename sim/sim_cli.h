/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_cli: ntpsim's command lines go through getopt_long(3), as refd's do:
 * `--seed 3` and `--seed=3`, `-j2` and `-j 2`, options before or after the
 * scenario, `--` ends the options, and every subcommand knows `--help`.
 * This is the one wrapper: getopt prints nothing, the caller prints the
 * reason this writes.
 */
#ifndef SIM_CLI_H
#define SIM_CLI_H

#include <getopt.h>
#include <stddef.h>

/* Start parsing a new argv (getopt keeps its position between calls). */
void sim_cli_reset(void);

/* The next option of argv, as getopt_long: its code (the `val` of a long
 * option, the letter of a short one), -1 when the options are over (then
 * argv[optind..] are the arguments, getopt having moved them to the end),
 * or '?' with a one-line reason in err: "unknown option '--sed'", "option
 * '--seed' needs a value", "option '--quiet' takes no value". */
int sim_cli_next(int argc, char **argv, const char *shorts, const struct option *longs, char *err,
                 size_t errsize);

#endif
