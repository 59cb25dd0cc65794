/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntpsim's outputs: per-node trace CSV, ntpd-format peerstats/loopstats,
 * the events log, report.txt/report.json, and gnuplot plots.  Everything
 * written here is a function of the run (no wall clock, no paths that
 * differ between runs other than the output directory itself).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ntp_conf.h"
#include "ntp_select.h"
#include "ntp_time.h"
#include "ntp_units.h"
#include "sim_fmt.h"
#include "sim_report.h"
#include "sim_world.h"

#ifndef NTPSIM_PLOTS_DIR
#define NTPSIM_PLOTS_DIR "plots" /* the source tree's (sim/CMakeLists.txt) */
#endif
#ifndef NTPSIM_PLOTS_REL
#define NTPSIM_PLOTS_REL "../share/ntplab/plots" /* from bin/ (GNUInstallDirs) */
#endif

#define PLOT_NODES_MAX   16   /* nodes drawn on one page (ours) */
#define DETAIL_NODES_MAX 64   /* nodes given their own report section when none is traced */
#define PEER_TABLE_MAX   8192 /* bytes of an ntpq -p table */
#define LINKS_LISTED_MAX 64   /* links listed one by one in the report */
#define BOUND_CHARS_MAX  32   /* bytes of a trace row's bound, '\0' included (ours, as ever) */

extern char **environ;

static const char *const disc_state_names[] = {"NSET", "FSET", "SPIK", "FREQ", "SYNC"};

/* ------------------------------------------------------------------ */
/* files                                                               */

int
sim_mkdir_p(const char *path)
{
	char buf[1024];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (buf[i] == '/' || buf[i] == '\0') {
			char c = buf[i];

			buf[i] = '\0';
			if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
				return -1;
			}
			buf[i] = c;
		}
	}
	return 0;
}

static FILE *
open_out(const sim_world *w, const char *name, const char *suffix)
{
	char path[1200];

	snprintf(path, sizeof(path), "%s/%s%s", w->o->out_dir, name, suffix);
	return fopen(path, "w");
}

/* NODE.sources.csv of a traced ntp host (docs/outputs.md).  Its host writes
 * peerstats lines whatever its conf says (sim_report_wants_peerstats), so
 * remember whether the conf asked for the peerstats file itself. */
static int
open_sources(const sim_world *w, sim_node *n, const char *name, char *err, size_t errsize)
{
	const sim_node_spec *t = sim_scenario_tmpl(w->sc, n->index);

	if (n->kind != SIM_NODE_HOST || t->conf == NULL) {
		return 0;
	}
	n->out->conf_peerstats = (ntp_conf_stats(t->conf) & NTP_STATS_PEERSTATS) != 0;
	n->out->sources = open_out(w, name, ".sources.csv");
	if (n->out->sources == NULL) {
		snprintf(err, errsize, "%s/%s.sources.csv: %s", w->o->out_dir, name,
		         strerror(errno));
		return -1;
	}
	fprintf(n->out->sources, "t,source,offset,delay,dispersion,jitter,tally,state\n");
	return 0;
}

bool
sim_report_wants_peerstats(const sim_node *n)
{
	return n->out != NULL && n->out->sources != NULL;
}

int
sim_report_open_traces(sim_world *w, char *err, size_t errsize)
{
	char name[SIM_NAME_MAX + 12];

	if (w->o->out_dir == NULL) {
		return 0;
	}
	if (sim_mkdir_p(w->o->out_dir) != 0) {
		snprintf(err, errsize, "%s: cannot create the output directory: %s", w->o->out_dir,
		         strerror(errno));
		return -1;
	}
	w->events_log = open_out(w, "events", ".log");
	if (w->events_log == NULL) {
		snprintf(err, errsize, "%s/events.log: %s", w->o->out_dir, strerror(errno));
		return -1;
	}
	fprintf(w->events_log, "# ntpsim events: time (s since start), node, what, detail\n");
	for (uint32_t i = 0; i < w->n_nodes; i++) {
		sim_node *n = &w->nodes[i];

		if (!n->traced || w->o->no_trace) {
			continue;
		}
		n->out = calloc(1, sizeof(*n->out));
		if (n->out == NULL) {
			snprintf(err, errsize, "out of memory");
			return -1;
		}
		sim_scenario_node_name(w->sc, i, name, sizeof(name));
		n->out->trace = open_out(w, name, ".trace.csv");
		if (n->out->trace == NULL) {
			snprintf(err, errsize, "%s/%s.trace.csv: %s", w->o->out_dir, name,
			         strerror(errno));
			return -1;
		}
		fprintf(n->out->trace, "t,offset,est_offset,bound,freq_err_ppm,freq_ppm,poll,reach,"
		                       "stratum,leap,sys_peer,state,steps\n");
		if (open_sources(w, n, name, err, errsize) != 0) {
			return -1;
		}
	}
	return 0;
}

/* The row as printf wrote it before sim_fmt: the fallback for a row
 * sim_fmt_row cannot hold, and the definition of the format. */
static void
trace_row_printf(sim_node *n, double t, double offset, double freq_err, double bound,
                 bool has_bound, const char *state)
{
	char b[BOUND_CHARS_MAX] = "";

	if (has_bound) {
		snprintf(b, sizeof(b), "%.9f", bound);
	}
	fprintf(n->out->trace, "%.6f,%.9f,%.9f,%s,%.6f,%.6f,%d,%u,%u,%u,%d,%s,%u\n", t, offset,
	        n->est_offset, b, freq_err * 1e6, n->freq_ppm, n->poll, n->reach, n->stratum,
	        n->leap, n->sys_peer, state, n->st.steps);
}

/* One row per sample of a traced node: the hot output of a run with
 * sample_interval (issue 17: printf was 3/4 of such a run), so built by
 * sim_fmt, byte for byte the format of trace_row_printf. */
void
sim_report_trace_row(sim_world *w, sim_node *n, double t, double offset, double freq_err,
                     double bound)
{
	sim_fmt_row r;
	/* The bound means something only while the host claims to be synchronised. */
	bool has_bound = n->running && n->leap != NTP_LEAP_NOTSYNC && n->stratum < 16;
	const char *state =
	        n->disc_state >= 0 && n->disc_state < 5 ? disc_state_names[n->disc_state] : "?";

	(void)w;
	r.n = 0;
	sim_fmt_row_fixed(&r, t, 6);
	sim_fmt_row_char(&r, ',');
	sim_fmt_row_fixed(&r, offset, 9);
	sim_fmt_row_char(&r, ',');
	sim_fmt_row_fixed(&r, n->est_offset, 9);
	sim_fmt_row_char(&r, ',');
	if (has_bound) {
		char b[BOUND_CHARS_MAX];

		/* cut where the printf version cut it */
		sim_fmt_fixed(b, sizeof(b), bound, 9);
		sim_fmt_row_str(&r, b);
	}
	sim_fmt_row_char(&r, ',');
	sim_fmt_row_fixed(&r, freq_err * 1e6, 6);
	sim_fmt_row_char(&r, ',');
	sim_fmt_row_fixed(&r, n->freq_ppm, 6);
	sim_fmt_row_char(&r, ',');
	sim_fmt_row_int(&r, n->poll);
	sim_fmt_row_char(&r, ',');
	sim_fmt_row_uint(&r, n->reach);
	sim_fmt_row_char(&r, ',');
	sim_fmt_row_uint(&r, n->stratum);
	sim_fmt_row_char(&r, ',');
	sim_fmt_row_uint(&r, n->leap);
	sim_fmt_row_char(&r, ',');
	sim_fmt_row_int(&r, n->sys_peer);
	sim_fmt_row_char(&r, ',');
	sim_fmt_row_str(&r, state);
	sim_fmt_row_char(&r, ',');
	sim_fmt_row_uint(&r, n->st.steps);
	sim_fmt_row_char(&r, '\n');
	if (sim_fmt_row_cut(&r)) {
		trace_row_printf(n, t, offset, freq_err, bound, has_bound, state);
		return;
	}
	sim_fmt_row_write(&r, n->out->trace);
}

/* The file of day mjd: OUT/stats/NODE/STEM.YYYYMMDD, the name ntpd's filegen
 * gives it and ntpviz globs for (STEM.*).  A day this run wrote before (a
 * step back across midnight) is appended to, as filegen reopens with "a". */
static FILE *
stats_open(const sim_world *w, const sim_node *n, sim_stats_file *s, const char *stem, long mjd)
{
	char name[SIM_NAME_MAX + 12], dir[1100], path[1200], date[40];
	bool seen = false;
	long *days;

	for (size_t i = 0; i < s->n_days; i++) {
		seen |= s->days[i] == mjd;
	}
	if (!seen) {
		days = realloc(s->days, (s->n_days + 1) * sizeof(*days));
		if (days == NULL) {
			return NULL;
		}
		s->days = days;
		s->days[s->n_days++] = mjd;
	}
	sim_scenario_node_name(w->sc, n->index, name, sizeof(name));
	snprintf(dir, sizeof(dir), "%s/stats/%s", w->o->out_dir, name);
	if (sim_mkdir_p(dir) != 0) {
		return NULL;
	}
	/* "YYYY-MM-DD hh:mm:ss.uuuuuu" of the day's midnight */
	ntp_time_format((ntp_time)(mjd - NTP_MJD_UNIX_EPOCH) * NTP_S_PER_DAY * NTP_NS_PER_S, date,
	                sizeof(date));
	snprintf(path, sizeof(path), "%s/%s.%.4s%.2s%.2s", dir, stem, date, date + 5, date + 8);
	return fopen(path, seen ? "a" : "w");
}

/* A peerstats/loopstats line (it begins with its MJD) into its day's file. */
static void
stats_write(const sim_world *w, const sim_node *n, sim_stats_file *s, const char *stem,
            const char *line)
{
	long mjd;

	if (sscanf(line, "%ld", &mjd) != 1) {
		return;
	}
	if (s->f == NULL || mjd != s->mjd) {
		if (s->f != NULL) {
			fclose(s->f);
		}
		s->mjd = mjd;
		s->f = stats_open(w, n, s, stem, mjd);
		if (s->f == NULL) {
			return;
		}
	}
	fprintf(s->f, "%s\n", line);
}

/* A row of NODE.sources.csv from a peerstats line ("MJD SOD addr status
 * offset delay disp jitter", ntpd's record_peer_stats): the run's time and
 * the tally in the status word's select code (ntpd ctlpeerstatus). */
static void
sources_row(sim_node *n, double t, const char *line)
{
	char addr[48];
	unsigned status;
	long mjd;
	double sod, off, delay, disp, jitter;
	int sel;

	if (n->out->sources == NULL || sscanf(line, "%ld %lf %47s %x %lf %lf %lf %lf", &mjd, &sod,
	                                      addr, &status, &off, &delay, &disp, &jitter) != 8) {
		return;
	}
	sel = (int)((status >> 8) & 0x07u);
	fprintf(n->out->sources, "%.6f,%s,%.9f,%.9f,%.9f,%.9f,\"%c\",%s\n", t, addr, off, delay,
	        disp, jitter, ntp_select_tally(sel), ntp_select_state_name(sel));
}

void
sim_report_stats_line(sim_world *w, sim_node *n, double t, uint32_t file, const char *line)
{
	if (n->out == NULL || w->o->out_dir == NULL) {
		return;
	}
	if (file == NTP_STATS_LOOPSTATS) {
		stats_write(w, n, &n->out->loopstats, "loopstats", line);
	} else if (file == NTP_STATS_PEERSTATS) {
		sources_row(n, t, line);
		if (n->out->conf_peerstats || n->out->sources == NULL) {
			stats_write(w, n, &n->out->peerstats, "peerstats", line);
		}
	}
}

void
sim_report_event(sim_world *w, const sim_node *n, double t, const char *what, const char *reason)
{
	char name[SIM_NAME_MAX + 12];

	if (w->events_log == NULL) {
		return;
	}
	if (n != NULL) {
		sim_scenario_node_name(w->sc, n->index, name, sizeof(name));
	} else {
		snprintf(name, sizeof(name), "-");
	}
	fprintf(w->events_log, "%.6f %s %s %s\n", t, name, what, reason);
}

static void
stats_close(sim_stats_file *s)
{
	if (s->f != NULL) {
		fclose(s->f);
	}
	free(s->days);
}

void
sim_report_close(sim_world *w)
{
	if (w->events_log != NULL) {
		fclose(w->events_log);
		w->events_log = NULL;
	}
	for (uint32_t i = 0; w->nodes != NULL && i < w->n_nodes; i++) {
		sim_node_out *o = w->nodes[i].out;

		if (o == NULL) {
			continue;
		}
		if (o->trace != NULL) {
			fclose(o->trace);
		}
		if (o->sources != NULL) {
			fclose(o->sources);
		}
		stats_close(&o->peerstats);
		stats_close(&o->loopstats);
		free(o);
		w->nodes[i].out = NULL;
	}
}

/* ------------------------------------------------------------------ */
/* per-node facts for both report formats                              */

double
sim_report_rms(double sum2, double span, double fallback)
{
	return span > 0.0 ? sqrt(sum2 / span) : fallback;
}

void
sim_report_node_facts(sim_world *w, sim_node *n, node_facts *f)
{
	const sim_node_stats *st = &n->st;

	sim_scenario_node_name(w->sc, n->index, f->name, sizeof(f->name));
	ntp_addr_format(&n->addr, f->addr, sizeof(f->addr));
	f->sync_time = st->t_good >= 0.0 ? st->t_good : NAN;
	f->rms = st->t_good >= 0.0 ? sim_report_rms(st->sync_sum2, st->sync_span, st->sync_max)
	                           : NAN;
	f->max_after = st->t_good >= 0.0 ? st->sync_max : NAN;
	f->max_all = st->max_abs;
	f->freq_ppm = st->freq_last * 1e6;
	f->freq_rms_ppm =
	        st->t_good >= 0.0
	                ? sim_report_rms(st->sync_fsum2, st->sync_span, st->sync_fmax) * 1e6
	                : NAN;
	f->held = st->claim_span > 0.0 ? st->held_span / st->claim_span : NAN;
	f->peer[0] = '\0';
	f->n_peers = 0;
	if (n->host != NULL) {
		f->n_peers = ntp_host_peers(n->host, sim_osc_mono(&n->osc, w->now), w->peers,
		                            sizeof(w->peers) / sizeof(w->peers[0]));
		for (size_t i = 0; i < f->n_peers; i++) {
			if (w->peers[i].assoc == n->sys_peer) {
				snprintf(f->peer, sizeof(f->peer), "%s", w->peers[i].remote);
			}
		}
	}
}

static const char *
fmt_s(double v, char *buf, size_t size)
{
	if (isnan(v)) {
		snprintf(buf, size, "-");
		return buf;
	}
	return ntp_format_seconds(v, buf, size);
}

bool
sim_node_detailed(const sim_world *w, const sim_node *n)
{
	return n->traced || w->n_nodes <= DETAIL_NODES_MAX;
}

/* ------------------------------------------------------------------ */
/* report.txt                                                          */

static void
text_node(sim_world *w, sim_node *n, FILE *f)
{
	node_facts nf;
	char a[32], b[32], c[32], d[32];
	const sim_node_stats *st = &n->st;

	sim_report_node_facts(w, n, &nf);
	fprintf(f, "\n  %s %s (%s%s)\n", nf.name, nf.addr,
	        n->kind == SIM_NODE_QUERY ? "one-shot query" : "ntp host",
	        n->kind == SIM_NODE_HOST && !n->running ? ", stopped at the end" : "");
	if (n->exited != NULL) {
		fprintf(f, "    daemon exited    %s\n", n->exited);
	}
	if (n->kind == SIM_NODE_HOST) {
		if (n->host != NULL) {
			fprintf(f, "    system peer      %s", nf.peer[0] ? nf.peer : "none");
			fprintf(f, " (stratum %u, leap %u, poll %d, state %s)\n", n->stratum,
			        n->leap, n->poll,
			        n->disc_state >= 0 && n->disc_state < 5
			                ? disc_state_names[n->disc_state]
			                : "?");
		}
		if (isnan(nf.sync_time)) {
			fprintf(f,
			        "    sync time        never (|offset| < %s with a system peer)\n",
			        ntp_format_seconds(w->sc->sync_bound, a, sizeof(a)));
		} else {
			fprintf(f,
			        "    sync time        %.3f s (|offset| < %s with a system peer "
			        "from "
			        "then on)\n",
			        nf.sync_time, ntp_format_seconds(w->sc->sync_bound, a, sizeof(a)));
		}
		fprintf(f,
		        "    true offset      after sync: rms %s, max %s; whole run: max %s; at "
		        "the end %s\n",
		        fmt_s(nf.rms, a, sizeof(a)), fmt_s(nf.max_after, b, sizeof(b)),
		        fmt_s(nf.max_all, c, sizeof(c)), fmt_s(st->off_last, d, sizeof(d)));
		fprintf(f, "    host's estimate  offset %s (as local - server)\n",
		        fmt_s(n->est_offset, a, sizeof(a)));
		fprintf(f, "    frequency error  %+.4f ppm at the end; after sync rms %s ppm\n",
		        nf.freq_ppm,
		        isnan(nf.freq_rms_ppm)
		                ? "-"
		                : (snprintf(b, sizeof(b), "%.4f", nf.freq_rms_ppm), b));
		if (isnan(nf.held)) {
			fprintf(f, "    error bound      never claimed synchronisation\n");
		} else {
			fprintf(f,
			        "    error bound      |true offset| <= advertised root distance "
			        "%.2f%% of the %.1f s it claimed sync (worst excess %s)\n",
			        nf.held * 100.0, st->claim_span,
			        fmt_s(st->worst_excess, a, sizeof(a)));
		}
		if (st->steps > 0) {
			fprintf(f, "    steps            %u (last %+.6f s at %.3f s)\n", st->steps,
			        st->last_step, st->t_last_step);
		} else {
			fprintf(f, "    steps            0\n");
		}
	} else if (st->steps > 0) {
		fprintf(f, "    steps            %u (last %+.6f s at %.3f s)\n", st->steps,
		        st->last_step, st->t_last_step);
	}
	fprintf(f,
	        "    packets          sent %llu, received %llu, lost on the way %llu, "
	        "duplicated %llu\n",
	        (unsigned long long)st->sent, (unsigned long long)st->received,
	        (unsigned long long)st->dropped, (unsigned long long)st->duplicated);
	if (st->timer_spins > 0) {
		fprintf(f,
		        "    warning          the host asked for its timer again at the same "
		        "instant %u times (backed off 1 ms)\n",
		        st->timer_spins);
	}
	for (size_t i = 0; i < nf.n_peers; i++) {
		const ntp_peer_info *p = &w->peers[i];

		if (p->assoc == n->sys_peer && n->sys_peer != 0) {
			continue;
		}
		fprintf(f, "    source %-16s '%c' %s\n", p->remote, p->tally,
		        p->reason[0] ? p->reason : "-");
	}
	if (n->host != NULL && n->kind == SIM_NODE_HOST) {
		char *table = malloc(PEER_TABLE_MAX);
		if (table != NULL) {
			ntp_host_peer_table(n->host, sim_osc_mono(&n->osc, w->now), table,
			                    PEER_TABLE_MAX);
			fprintf(f, "    ntpq -p at the end:\n");
			for (char *line = table; *line != '\0';) {
				char *nl = strchr(line, '\n');

				if (nl != NULL) {
					*nl = '\0';
				}
				fprintf(f, "      %s\n", line);
				if (nl == NULL) {
					break;
				}
				line = nl + 1;
			}
			free(table);
		}
	}
	if (n->query != NULL && n->query->runs > 0) {
		fprintf(f, "    last query       %s\n", n->query->result);
		for (char *line = n->query->lines; *line != '\0';) {
			char *nl = strchr(line, '\n');
			int len = nl != NULL ? (int)(nl - line) : (int)strlen(line);

			fprintf(f, "                     %.*s\n", len, line);
			if (nl == NULL) {
				break;
			}
			line = nl + 1;
		}
	}
}

/* What the report says about the replicas of a template that have no
 * section of their own. */

bool
sim_report_summarised(const sim_world *w, const sim_node_spec *ts)
{
	return ts->count > 1 && !sim_node_detailed(w, &w->nodes[ts->first]);
}

void
sim_report_tmpl_facts(const sim_world *w, const sim_node_spec *ts, tmpl_facts *f)
{
	memset(f, 0, sizeof(*f));
	for (uint32_t i = 0; i < ts->count; i++) {
		const sim_node_stats *st = &w->nodes[ts->first + i].st;

		if (st->t_good >= 0.0) {
			f->synced++;
			f->worst_sync = fmax(f->worst_sync, st->t_good);
			f->worst_rms =
			        fmax(f->worst_rms,
			             sim_report_rms(st->sync_sum2, st->sync_span, st->sync_max));
			f->worst_max = fmax(f->worst_max, st->sync_max);
		}
		f->sent += st->sent;
		f->received += st->received;
		f->dropped += st->dropped;
		f->steps += st->steps;
	}
}

static void
text_aggregates(sim_world *w, FILE *f)
{
	const sim_scenario *sc = w->sc;

	for (size_t t = 0; t < sc->n_nodes; t++) {
		const sim_node_spec *ts = &sc->nodes[t];
		tmpl_facts tf;
		char a[32], b[32];

		if (!sim_report_summarised(w, ts)) {
			continue;
		}
		sim_report_tmpl_facts(w, ts, &tf);
		fprintf(f, "\n  %s1..%s%u (%u nodes, summarised)\n", ts->name, ts->name, ts->count,
		        ts->count);
		fprintf(f, "    synced           %u of %u; latest sync time %.3f s\n", tf.synced,
		        ts->count, tf.worst_sync);
		fprintf(f, "    true offset      after sync: worst rms %s, worst max %s\n",
		        ntp_format_seconds(tf.worst_rms, a, sizeof(a)),
		        ntp_format_seconds(tf.worst_max, b, sizeof(b)));
		fprintf(f, "    packets          sent %llu, received %llu, lost %llu; steps %llu\n",
		        (unsigned long long)tf.sent, (unsigned long long)tf.received,
		        (unsigned long long)tf.dropped, (unsigned long long)tf.steps);
	}
}

static void
text_network(sim_world *w, FILE *f)
{
	fprintf(f, "\nnetwork\n");
	fprintf(f,
	        "  %zu links used; packets lost: link %llu, firewall %llu, partition %llu, "
	        "unroutable %llu, at a stopped node %llu\n",
	        w->n_links, (unsigned long long)w->dropped_link, (unsigned long long)w->dropped_fw,
	        (unsigned long long)w->dropped_partition, (unsigned long long)w->dropped_unroutable,
	        (unsigned long long)w->dropped_stopped);
	if (w->n_links > LINKS_LISTED_MAX) {
		return;
	}
	for (size_t i = 0; i < w->n_links; i++) {
		const sim_link *l = &w->links[i];
		char a[SIM_NAME_MAX + 12], b[SIM_NAME_MAX + 12], m[32], s[32];

		sim_scenario_node_name(w->sc, l->src, a, sizeof(a));
		sim_scenario_node_name(w->sc, l->dst, b, sizeof(b));
		fprintf(f,
		        "  %s -> %s: offered %llu, delivered %llu, lost %llu, duplicated %llu, "
		        "delay mean %s sd %s\n",
		        a, b, (unsigned long long)l->l.offered, (unsigned long long)l->l.delivered,
		        (unsigned long long)l->l.dropped, (unsigned long long)l->l.duplicated,
		        ntp_format_seconds(netem_link_delay_mean(&l->l), m, sizeof(m)),
		        ntp_format_seconds(netem_link_delay_sd(&l->l), s, sizeof(s)));
	}
}

static void
text_checks(sim_world *w, FILE *f, bool failed_only)
{
	const sim_scenario *sc = w->sc;

	for (size_t c = 0; c < sc->n_checks; c++) {
		const sim_check_outcome *o = &w->outcome[c];

		if (failed_only && o->pass) {
			continue;
		}
		fprintf(f, "  %s  %s (line %d)\n        %s\n", o->pass ? "PASS" : "FAIL",
		        sc->checks[c].label, sc->checks[c].line, o->detail);
	}
}

static void
text_head(sim_world *w, FILE *f)
{
	char start[40];

	ntp_time_format(w->t0, start, sizeof(start));
	fprintf(f, "ntpsim report: %s\n", w->sc->name);
	fprintf(f, "scenario   %s\n", w->sc->file);
	fprintf(f, "seed       %llu (rerun: ntpsim run %s --seed %llu)\n",
	        (unsigned long long)w->seed, w->sc->file, (unsigned long long)w->seed);
	fprintf(f, "simulated  %.3f s from %s UTC, %zu nodes, %llu events\n", w->sc->duration,
	        start, (size_t)w->n_nodes, (unsigned long long)w->n_events);
	fprintf(f, "result     %s: %zu of %zu checks passed\n",
	        w->checks_failed == 0 ? "PASS" : "FAIL", w->sc->n_checks - w->checks_failed,
	        w->sc->n_checks);
	if (w->action_overflows > 0) {
		fprintf(f,
		        "warning    the host produced more actions than fit in one call %llu "
		        "times (core bug)\n",
		        (unsigned long long)w->action_overflows);
	}
}

static void
text_report(sim_world *w, FILE *f)
{
	text_head(w, f);
	if (w->sc->n_checks > 0) {
		fprintf(f, "\nchecks\n");
		text_checks(w, f, false);
	}
	fprintf(f,
	        "\nnodes (offsets are local clock - true time; the simulator knows true time)\n");
	for (uint32_t i = 0; i < w->n_nodes; i++) {
		if (sim_node_detailed(w, &w->nodes[i])) {
			text_node(w, &w->nodes[i], f);
		}
	}
	text_aggregates(w, f);
	text_network(w, f);
}

double
sim_report_settle_time(const sim_world *w, const sim_node *n)
{
	if (w->sc->settle >= 0.0) {
		return w->sc->settle;
	}
	return n->st.t_first_sync >= 0.0 ? n->st.t_first_sync : NAN;
}

/* Finish every detailed node's statistics over its settled part, for
 * report.json and NODE.stability.csv (the run's one sim_report_write). */
static void
finish_metrics(sim_world *w)
{
	for (uint32_t i = 0; i < w->n_nodes; i++) {
		sim_node *n = &w->nodes[i];

		if (n->metrics != NULL) {
			sim_metrics_finish(&n->metrics->m, sim_report_settle_time(w, n),
			                   &n->metrics->r);
		}
	}
}

static void
csv_value(FILE *f, double v)
{
	if (isfinite(v)) {
		fprintf(f, ",%.9g", v);
	} else {
		fputc(',', f);
	}
}

/* NODE.stability.csv next to the node's trace: tau,adev,tdev,mtie, an
 * empty field where the settled part is too short (plots/ntpsim.gp). */
static int
write_stability(sim_world *w, char *err, size_t errsize)
{
	for (uint32_t i = 0; i < w->n_nodes; i++) {
		const sim_node *n = &w->nodes[i];
		const sim_metrics_result *r;
		char name[SIM_NAME_MAX + 12];
		FILE *f;

		if (n->out == NULL || n->metrics == NULL) {
			continue;
		}
		r = &n->metrics->r;
		sim_scenario_node_name(w->sc, i, name, sizeof(name));
		f = open_out(w, name, ".stability.csv");
		if (f == NULL) {
			snprintf(err, errsize, "%s/%s.stability.csv: %s", w->o->out_dir, name,
			         strerror(errno));
			return -1;
		}
		fputs("tau,adev,tdev,mtie\n", f);
		for (size_t k = 0; k < r->n_taus; k++) {
			fprintf(f, "%.9g", r->taus[k]);
			csv_value(f, r->adev[k]);
			csv_value(f, r->tdev[k]);
			csv_value(f, r->mtie[k]);
			fputc('\n', f);
		}
		if (fclose(f) != 0) {
			snprintf(err, errsize, "%s/%s.stability.csv: write failed", w->o->out_dir,
			         name);
			return -1;
		}
	}
	return 0;
}

int
sim_report_write(sim_world *w, FILE *text_out, char *err, size_t errsize)
{
	finish_metrics(w);
	if (w->o->out_dir != NULL && write_stability(w, err, errsize) != 0) {
		return -1;
	}
	if (text_out != NULL) {
		if (w->o->quiet) {
			text_head(w, text_out);
			text_checks(w, text_out, true);
		} else {
			text_report(w, text_out);
		}
		fflush(text_out);
	}
	if (w->o->out_dir != NULL) {
		FILE *f = open_out(w, "report", ".txt");
		FILE *j;

		if (f == NULL) {
			snprintf(err, errsize, "%s/report.txt: %s", w->o->out_dir, strerror(errno));
			return -1;
		}
		text_report(w, f);
		if (fclose(f) != 0) {
			snprintf(err, errsize, "%s/report.txt: write failed", w->o->out_dir);
			return -1;
		}
		j = open_out(w, "report", ".json");
		if (j == NULL) {
			snprintf(err, errsize, "%s/report.json: %s", w->o->out_dir,
			         strerror(errno));
			return -1;
		}
		sim_report_json(w, j);
		if (fclose(j) != 0) {
			snprintf(err, errsize, "%s/report.json: write failed", w->o->out_dir);
			return -1;
		}
	}
	/* last: a bad --junit/--tap path loses none of the files above */
	return sim_report_ci(w, err, errsize);
}

/* ------------------------------------------------------------------ */
/* plots                                                               */

const char *
sim_report_plots_dir(const char *given, char *buf, size_t size)
{
	const char *env = getenv("NTPSIM_PLOTS_DIR");
	char exe[PATH_MAX], gp[PATH_MAX + 64];
	ssize_t n;
	char *slash;
	struct stat sb;

	if (given != NULL) {
		return given;
	}
	if (env != NULL && env[0] != '\0') {
		return env;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	slash = strrchr(exe, '/');
	if (slash != NULL) {
		*slash = '\0';
		snprintf(buf, size, "%s/%s", exe, NTPSIM_PLOTS_REL);
		snprintf(gp, sizeof(gp), "%s/ntpsim.gp", buf);
		if (stat(gp, &sb) == 0) {
			return buf;
		}
	}
	return NTPSIM_PLOTS_DIR;
}

int
sim_report_plots(sim_world *w, char *err, size_t errsize)
{
	char dir_buf[PATH_MAX];
	const char *dir = sim_report_plots_dir(w->o->plots_dir, dir_buf, sizeof(dir_buf));
	char script[1100], expr[4800], names[PLOT_NODES_MAX * (SIM_NAME_MAX + 13)] = "";
	char *argv[5];
	struct stat sb;
	pid_t pid;
	int status, drawn = 0;

	snprintf(script, sizeof(script), "%s/ntpsim.gp", dir);
	if (stat(script, &sb) != 0) {
		snprintf(err, errsize, "no plots: %s not found (--plots-dir)", script);
		return -1;
	}
	if (strchr(w->o->out_dir, '\'') != NULL) {
		snprintf(err, errsize, "no plots: the output directory name has a quote in it");
		return -1;
	}
	for (uint32_t i = 0; i < w->n_nodes && drawn < PLOT_NODES_MAX; i++) {
		char name[SIM_NAME_MAX + 12];

		if (!w->nodes[i].traced) {
			continue;
		}
		sim_scenario_node_name(w->sc, i, name, sizeof(name));
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
		         drawn ? " " : "", name);
		drawn++;
	}
	if (drawn == 0) {
		return 0;
	}
	if (w->o->overlay_dir != NULL && strchr(w->o->overlay_dir, '\'') != NULL) {
		snprintf(err, errsize, "no plots: the overlay directory name has a quote in it");
		return -1;
	}
	if ((size_t)snprintf(expr, sizeof(expr),
	                     "dir='%s'; nodes='%s'; title='%s (seed %llu)'; overlay='%s'",
	                     w->o->out_dir, names, w->sc->name, (unsigned long long)w->seed,
	                     w->o->overlay_dir != NULL ? w->o->overlay_dir : "") >= sizeof(expr)) {
		snprintf(err, errsize, "no plots: directory names too long");
		return -1;
	}
	argv[0] = (char *)"gnuplot";
	argv[1] = (char *)"-e";
	argv[2] = expr;
	argv[3] = script;
	argv[4] = NULL;
	if (posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ) != 0) {
		snprintf(err, errsize, "no plots: gnuplot not found");
		return -1;
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(err, errsize, "gnuplot failed on %s", script);
		return -1;
	}
	return 0;
}
