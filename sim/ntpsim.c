/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntpsim: run or validate a scenario.
 *
 *   ntpsim run SCENARIO.yaml [--seed N] [--out DIR] [--pcap FILE] [--no-plots]
 *                            [--plots-dir DIR] [--overlay DIR] [--quiet] [--junit FILE]
 *                            [--tap FILE]
 *                            [--no-trace]
 *   ntpsim sweep SCENARIO.yaml --seeds LIST --out DIR [--set PATH=V1,V2,...]...
 *                [-j N] [--shard K/N] [--traces] [--no-plots] [--quiet]
 *   ntpsim sweep --merge DIR... --out DIR [--no-plots] [--quiet]
 *   ntpsim check SCENARIO.yaml...
 *   ntpsim check --normalized SCENARIO.yaml
 *   ntpsim disciplines
 *
 * Exit status: 0 every check passed (or the file is valid), 1 a check
 * failed, 2 bad input or the run could not be done.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ntp_discipline.h"
#include "ntp_units.h"
#include "ntplab_version.h"
#include "sim_cli.h"
#include "sim_engine.h"
#include "sim_report.h"
#include "sim_scenario.h"
#include "sim_scenario_json.h"
#include "sim_sweep.h"

#define ERR_MAX 8192 /* bytes of an error message (several ntp.conf errors) */

static void
usage(FILE *f)
{
	char plots[PATH_MAX];

	fprintf(f,
	        "usage: ntpsim run SCENARIO.yaml [--seed N] [--out DIR] [--pcap FILE]\n"
	        "                              [--no-plots] [--plots-dir DIR] [--overlay DIR] "
	        "[--quiet]\n"
	        "                              [--junit FILE] [--tap FILE] [--no-trace]\n"
	        "       ntpsim sweep SCENARIO.yaml --seeds LIST --out DIR [--set "
	        "PATH=V1,V2,...]...\n"
	        "                    [-j N] [--shard K/N] [--traces] [--no-plots] [--quiet]\n"
	        "       ntpsim sweep --merge DIR... --out DIR [--no-plots] [--quiet]\n"
	        "       ntpsim check SCENARIO.yaml...\n"
	        "       ntpsim check --normalized SCENARIO.yaml\n"
	        "       ntpsim disciplines\n"
	        "       ntpsim units TIME...\n"
	        "       ntpsim --help | --version\n"
	        "\n"
	        "run     simulate the scenario in virtual time and judge its checks; the report\n"
	        "        goes to stdout and, with --out, report.txt/report.json, per-node trace\n"
	        "        CSV, peerstats/loopstats, events.log and plots (gnuplot) into DIR\n"
	        "sweep   run the scenario over seeds x settings (--set: any field by dotted\n"
	        "        path, list items by name; several --set form the product) in -j worker\n"
	        "        processes (default: the CPUs), each run into DIR/runs/, then a summary\n"
	        "        per setting (DIR/summary.csv/.json/.md, DIR/plots/); resumable;\n"
	        "        --shard K/N runs one slice, --merge DIR... summarises the slices\n"
	        "        (docs/sweep.md)\n"
	        "check   validate scenario files without running them; with --normalized,\n"
	        "        print the one file as ntpsim loaded it, as JSON (units resolved,\n"
	        "        replicas expanded, addresses assigned: what realnet runs)\n"
	        "units   print each scenario time (\"30s\", \"5min\", \"190us\") in seconds, a\n"
	        "        line each, as the scenario loader reads it (core/ntp_units)\n"
	        "disciplines\n"
	        "        list the clock disciplines a node's 'discipline:' key (or ntp.conf's\n"
	        "        'discipline' line) can name, with their parameters\n"
	        "\n"
	        "  --seed N        override the scenario's seed (same seed, same bytes out)\n"
	        "  --out DIR       write the outputs into DIR (created if needed)\n"
	        "  --pcap FILE     write every simulated packet to FILE (pcap, tshark reads it)\n"
	        "  --no-plots      do not run gnuplot\n"
	        "  --no-trace      no trace CSV, peerstats or loopstats (nor plots): only\n"
	        "                  report.txt, report.json and events.log\n"
	        "  --plots-dir DIR where ntpsim.gp lives (default: $NTPSIM_PLOTS_DIR, else the\n"
	        "                  installed one next to ntpsim, else the source tree's; here:\n"
	        "                  %s)\n"
	        "  --overlay DIR   plots: draw DIR's NODE.trace.csv (realnet's real run) over "
	        "ours\n"
	        "  --quiet         print only the verdict and the failed checks\n"
	        "  --junit FILE    the checks as JUnit XML, one test case each ('-': stdout)\n"
	        "  --tap FILE      the checks as TAP version 13 ('-': stdout)\n"
	        "\n"
	        "exit status: 0 all checks passed, 1 a check failed, 2 bad input or error\n"
	        "scenario format: docs/scenarios.md; manual: docs/ntpsim.1.md\n",
	        sim_report_plots_dir(NULL, plots, sizeof(plots)));
}

/* Each warning is a line "FILE:LINE:COL: warning: ...", like the errors;
 * warnings never change the exit status. */
static void
print_warnings(const sim_scenario *sc)
{
	if (sc->warnings != NULL) {
		fputs(sc->warnings, stderr);
	}
}

/* check --normalized FILE: the loaded scenario as JSON on stdout (one
 * file: the output is one JSON document); warnings go to stderr. */
static int
cmd_normalized(int argc, char **argv)
{
	char *err;
	sim_scenario sc;
	int rc;

	if (argc != 1) {
		fprintf(stderr, "ntpsim: check --normalized takes exactly one scenario file\n");
		usage(stderr);
		return 2;
	}
	err = malloc(ERR_MAX);
	if (err == NULL) {
		return 2;
	}
	if (sim_scenario_load_file(&sc, argv[0], err, ERR_MAX) != 0) {
		fprintf(stderr, "%s\n", err);
		free(err);
		return 2;
	}
	print_warnings(&sc);
	rc = sim_scenario_write_json(&sc, stdout) == 0 && fflush(stdout) == 0 ? 0 : 2;
	if (rc != 0) {
		fprintf(stderr, "ntpsim: %s: cannot write the JSON to stdout\n", argv[0]);
	}
	sim_scenario_free(&sc);
	free(err);
	return rc;
}

static const struct option check_options[] = {
        {"normalized", no_argument, NULL, 'N'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

/* check [--normalized] FILE... (argv[0] is "check") */
static int
cmd_check(int argc, char **argv)
{
	char *err;
	char why[160];
	bool normalized = false;
	int rc = 0, c;

	sim_cli_reset();
	while ((c = sim_cli_next(argc, argv, "h", check_options, why, sizeof(why))) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (c == '?') {
			fprintf(stderr, "ntpsim check: %s\n", why);
			usage(stderr);
			return 2;
		}
		normalized = true;
	}
	argc -= optind;
	argv += optind;
	if (normalized) {
		return cmd_normalized(argc, argv);
	}
	if (argc < 1) {
		fprintf(stderr, "ntpsim check: a scenario file is needed\n");
		usage(stderr);
		return 2;
	}
	err = malloc(ERR_MAX);
	if (err == NULL) {
		return 2;
	}
	for (int i = 0; i < argc; i++) {
		sim_scenario sc;

		if (sim_scenario_load_file(&sc, argv[i], err, ERR_MAX) != 0) {
			fprintf(stderr, "%s\n", err);
			rc = 2;
			continue;
		}
		print_warnings(&sc);
		printf("%s: ok (%u nodes, %zu links, %zu firewall rules, %zu events, %zu checks)\n",
		       argv[i], sc.total_nodes, sc.n_links, sc.n_fw, sc.n_events, sc.n_checks);
		sim_scenario_free(&sc);
	}
	free(err);
	return rc;
}

enum run_opt {
	RUN_SEED = 256,
	RUN_OUT,
	RUN_JUNIT,
	RUN_TAP,
	RUN_PCAP,
	RUN_OVERLAY,
	RUN_PLOTS_DIR,
	RUN_NO_PLOTS,
	RUN_NO_TRACE,
	RUN_QUIET,
};

static const struct option run_options[] = {
        {"seed", required_argument, NULL, RUN_SEED},
        {"out", required_argument, NULL, RUN_OUT},
        {"junit", required_argument, NULL, RUN_JUNIT},
        {"tap", required_argument, NULL, RUN_TAP},
        {"pcap", required_argument, NULL, RUN_PCAP},
        {"overlay", required_argument, NULL, RUN_OVERLAY},
        {"plots-dir", required_argument, NULL, RUN_PLOTS_DIR},
        {"no-plots", no_argument, NULL, RUN_NO_PLOTS},
        {"no-trace", no_argument, NULL, RUN_NO_TRACE},
        {"quiet", no_argument, NULL, RUN_QUIET},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

/* One option of `run` into o; false with a message printed when bad. */
static bool
run_option(int c, const char *v, sim_opts *o)
{
	long long seed;

	switch (c) {
	case RUN_SEED:
		if (ntp_parse_int(v, 0, INT64_MAX, &seed) != 0) {
			fprintf(stderr, "ntpsim run: --seed: expected an integer >= 0, got '%s'\n",
			        v);
			return false;
		}
		o->seed = (uint64_t)seed;
		o->seed_set = true;
		return true;
	case RUN_OUT:
		o->out_dir = v;
		return true;
	case RUN_JUNIT:
		o->junit_path = v;
		return true;
	case RUN_TAP:
		o->tap_path = v;
		return true;
	case RUN_PCAP:
		o->pcap_path = v;
		return true;
	case RUN_OVERLAY:
		o->overlay_dir = v;
		return true;
	case RUN_PLOTS_DIR:
		o->plots_dir = v;
		return true;
	case RUN_NO_PLOTS:
		o->plots = false;
		return true;
	case RUN_NO_TRACE:
		o->no_trace = true;
		return true;
	case RUN_QUIET:
		o->quiet = true;
		return true;
	default:
		return false;
	}
}

/* `run`'s command line (argv[0] is "run").  Returns -1 to go on with the
 * run, else the exit status (0 after --help, 2 for a bad command line). */
static int
parse_run(int argc, char **argv, sim_opts *o, const char **file)
{
	char why[160];
	int c;

	sim_cli_reset();
	while ((c = sim_cli_next(argc, argv, "h", run_options, why, sizeof(why))) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (c == '?') {
			fprintf(stderr, "ntpsim run: %s\n", why);
			usage(stderr);
			return 2;
		}
		if (!run_option(c, optarg, o)) {
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "ntpsim run: a scenario file is needed\n");
		usage(stderr);
		return 2;
	}
	if (argc - optind > 1) {
		fprintf(stderr, "ntpsim run: one scenario per run (got '%s' and '%s')\n",
		        argv[optind], argv[optind + 1]);
		return 2;
	}
	*file = argv[optind];
	return -1;
}

static int
cmd_run(int argc, char **argv)
{
	sim_opts o;
	sim_scenario sc;
	sim_summary sum;
	const char *file = NULL;
	char *err;
	double wall;
	int rc;

	memset(&o, 0, sizeof(o));
	o.plots = true;
	o.report = stdout;
	rc = parse_run(argc, argv, &o, &file);
	if (rc >= 0) {
		return rc;
	}
	if (file == NULL) {
		usage(stderr);
		return 2;
	}
	/* TAP or JUnit on stdout replaces the text report there. */
	if ((o.tap_path != NULL && strcmp(o.tap_path, "-") == 0) ||
	    (o.junit_path != NULL && strcmp(o.junit_path, "-") == 0)) {
		o.report = NULL;
	}
	o.plots = o.plots && !o.no_trace; /* the plots draw the traces */
	o.progress = !o.quiet && isatty(STDERR_FILENO);
	err = malloc(ERR_MAX);
	if (err == NULL) {
		return 2;
	}
	if (sim_scenario_load_file(&sc, file, err, ERR_MAX) != 0) {
		fprintf(stderr, "%s\n", err);
		free(err);
		return 2;
	}
	print_warnings(&sc);
	rc = sim_run(&sc, &o, &sum, err, ERR_MAX);
	wall = sum.wall;
	if (rc == SIM_ERROR) {
		fprintf(stderr, "ntpsim: %s\n", err);
	} else if (!o.quiet) {
		fprintf(stderr,
		        "ntpsim: %s, %zu of %zu checks passed; %.0f s simulated in %.3f s "
		        "(%.3g x real time), %llu events (%.3g/s), seed %llu\n",
		        rc == SIM_PASS ? "PASS" : "FAIL", sum.checks - sum.failed, sum.checks,
		        sum.simulated, wall, wall > 0.0 ? sum.simulated / wall : 0.0,
		        (unsigned long long)sum.events,
		        wall > 0.0 ? (double)sum.events / wall : 0.0, (unsigned long long)sum.seed);
	}
	sim_scenario_free(&sc);
	free(err);
	return rc;
}

/* The registry of core/ntp_discipline.c, for people choosing one. */
static int
cmd_disciplines(void)
{
	for (size_t i = 0; ntp_discipline_at(i) != NULL; i++) {
		const ntp_discipline *d = ntp_discipline_at(i);

		printf("%s%s\n  %s\n", d->name, i == 0 ? " (default)" : "", d->summary);
		for (size_t k = 0; k < d->n_params; k++) {
			const ntp_disc_param *p = &d->params[k];
			const char *u = p->unit != NULL ? p->unit : "";

			printf("  %-9s %g%s%s [%g, %g]%s: %s\n", p->name, p->dflt, *u ? " " : "", u,
			       p->min, p->max, p->integer ? " whole" : "", p->what);
		}
	}
	return 0;
}

/* units TIME... (argv[0] is "units"): the scenario loader's reading of
 * each time, for tools outside C (realnet's time scaling) that must not
 * parse units a second way.  %.17g: the double itself, exactly. */
static int
cmd_units(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "ntpsim units: a time is needed, e.g. 30s, 5min or 190us\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		double s;

		if (ntp_parse_duration(argv[i], &s) != 0) {
			fprintf(stderr,
			        "ntpsim units: '%s' is not a time (a number with ns, us, ms, s, "
			        "min, "
			        "h or d)\n",
			        argv[i]);
			return 2;
		}
		printf("%.17g\n", s);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("ntpsim (ntplab) %s, commit %s\n", NTPLAB_VERSION, NTPLAB_COMMIT);
		return 0;
	}
	if (strcmp(argv[1], "run") == 0) {
		return cmd_run(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "check") == 0) {
		return cmd_check(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "sweep") == 0) {
		return sim_sweep_main(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "units") == 0) {
		return cmd_units(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "disciplines") == 0 && argc == 2) {
		return cmd_disciplines();
	}
	fprintf(stderr, "ntpsim: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
