/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim_cli: getopt_long with readable errors (sim_cli.h).
 */
#include "sim_cli.h"

#include <stdio.h>
#include <string.h>

void
sim_cli_reset(void)
{
	optind = 0; /* glibc: 0 re-initialises getopt fully, GNU extension included */
	opterr = 0; /* the reasons are ours */
}

/* The long option whose `val` is code, or NULL. */
static const struct option *
long_for(const struct option *longs, int code)
{
	for (const struct option *o = longs; o != NULL && o->name != NULL; o++) {
		if (o->flag == NULL && o->val == code) {
			return o;
		}
	}
	return NULL;
}

int
sim_cli_next(int argc, char **argv, const char *shorts, const struct option *longs, char *err,
             size_t errsize)
{
	/* a leading ':' makes a missing value ':' rather than '?' */
	char optstring[64];
	int c;

	snprintf(optstring, sizeof(optstring), ":%s", shorts);
	c = getopt_long(argc, argv, optstring, longs, NULL);
	if (c != '?' && c != ':') {
		return c;
	}
	/* the word that failed: getopt has moved optind past it */
	const char *word = optind >= 1 && optind <= argc ? argv[optind - 1] : "?";
	const struct option *lo = long_for(longs, optopt);

	if (c == ':') {
		if (strncmp(word, "--", 2) == 0 || lo == NULL) {
			snprintf(err, errsize, "option '%s' needs a value", word);
		} else {
			snprintf(err, errsize, "option '-%c' needs a value", optopt);
		}
	} else if (strncmp(word, "--", 2) == 0 && optopt != 0 && lo != NULL &&
	           lo->has_arg == no_argument) {
		snprintf(err, errsize, "option '--%s' takes no value", lo->name);
	} else if (strncmp(word, "--", 2) == 0 || optopt == 0) {
		snprintf(err, errsize, "unknown option '%s'", word);
	} else {
		snprintf(err, errsize, "unknown option '-%c'", optopt);
	}
	return '?';
}
