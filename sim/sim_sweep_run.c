/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The worker processes of ntpsim sweep (sim_sweep_run.h).
 *
 * One forked child per run: a run that crashes or is killed costs only
 * itself (the parent records it as failed), and the children share the
 * parent's loaded scenarios without reloading them.  Every wait ends: the
 * parent waits only while a child it started is running, and a run is a
 * simulation of a bounded duration.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim_engine.h"
#include "sim_sweep_run.h"

#define PATH_MAX_SWEEP 4096 /* B, a path under DIR (ours) */
#define ERR_RUN        8192 /* B, a run's error message (as ntpsim's ERR_MAX) */
#define CHILD_FAILED   1    /* a child's exit status: error.txt written */

void
sim_sweep_run_name(char *buf, size_t size, size_t setting, uint64_t seed)
{
	snprintf(buf, size, "s%zu-seed%llu", setting, (unsigned long long)seed);
}

static bool
exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

/* Remove a run directory: it holds only files (report, traces, stats). */
static int
remove_run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX_SWEEP];

	if (d == NULL) {
		return errno == ENOENT ? 0 : -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) != 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return rmdir(dir);
}

/* error.txt in dir: why the run could not be done. */
static int
write_error(const char *dir, const char *why)
{
	char path[PATH_MAX_SWEEP];
	FILE *f;

	snprintf(path, sizeof(path), "%s/error.txt", dir);
	f = fopen(path, "w");
	if (f == NULL) {
		return -1;
	}
	fprintf(f, "%s\n", why);
	return fclose(f) == 0 ? 0 : -1;
}

/* Put the finished temp dir in place of the run dir (and of an older
 * attempt's error.txt). */
static int
publish(const char *tmp, const char *final)
{
	if (remove_run_dir(final) != 0) {
		return -1;
	}
	return rename(tmp, final);
}

/* A failed run's dir: just error.txt, written aside and renamed in. */
static void
record_failure(const char *tmp, const char *final, const char *why)
{
	remove_run_dir(tmp);
	if (mkdir(tmp, 0777) == 0 && write_error(tmp, why) == 0) {
		publish(tmp, final);
	}
}

static void
run_paths(const sim_sweep_plan *p, size_t setting, uint64_t seed, char *tmp, char *final)
{
	char name[64];

	sim_sweep_run_name(name, sizeof(name), setting, seed);
	snprintf(tmp, PATH_MAX_SWEEP, "%s/runs/.%s.tmp", p->dir, name);
	snprintf(final, PATH_MAX_SWEEP, "%s/runs/%s", p->dir, name);
}

/* The child: one run, quiet, no plots, no traces unless asked.  Returns
 * its exit status: 0 done, CHILD_FAILED error.txt written. */
static int
child_run(const sim_sweep_plan *p, size_t setting, uint64_t seed)
{
	char tmp[PATH_MAX_SWEEP], final[PATH_MAX_SWEEP];
	static char err[ERR_RUN];
	sim_opts o;
	sim_summary sum;

	run_paths(p, setting, seed, tmp, final);
	memset(&o, 0, sizeof(o));
	o.seed_set = true;
	o.seed = seed;
	o.out_dir = tmp;
	o.no_trace = !p->traces;
	o.quiet = true;
	if (remove_run_dir(tmp) != 0) {
		snprintf(err, sizeof(err), "%s: cannot remove an old attempt: %s", tmp,
		         strerror(errno));
	} else if (sim_run(&p->settings[setting], &o, &sum, err, sizeof(err)) != SIM_ERROR) {
		if (publish(tmp, final) == 0) {
			return 0;
		}
		snprintf(err, sizeof(err), "%.2000s: cannot put the run in place as %.2000s: %s",
		         tmp, final, strerror(errno));
	}
	record_failure(tmp, final, err);
	return CHILD_FAILED;
}

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* For people only (no file depends on it): how far, and an ETA from the
 * mean wall time per run so far. */
static void
show_progress(const sim_sweep_counts *c, size_t todo, size_t finished, double t0)
{
	double spent = mono_s() - t0;
	double eta = finished > 0 ? spent / (double)finished * (double)(todo - finished) : 0.0;

	fprintf(stderr, "\rntpsim sweep: %zu/%zu runs, %zu failed, %.0f s, ETA %.0f s   ",
	        c->kept + finished, c->runs, c->failed, spent, eta);
}

typedef struct job {
	size_t setting;
	uint64_t seed;
	pid_t pid; /* 0: slot free */
} job;

/* A child ended: count it; one killed by a signal or gone wrong without
 * writing error.txt gets one from the parent. */
static void
reap(const sim_sweep_plan *p, job *j, int status, sim_sweep_counts *c)
{
	char tmp[PATH_MAX_SWEEP], final[PATH_MAX_SWEEP], why[128];

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		c->done++;
	} else {
		c->failed++;
		if (!(WIFEXITED(status) && WEXITSTATUS(status) == CHILD_FAILED)) {
			if (WIFSIGNALED(status)) {
				snprintf(why, sizeof(why), "the run was killed by signal %d (%s)",
				         WTERMSIG(status), strsignal(WTERMSIG(status)));
			} else {
				snprintf(why, sizeof(why),
				         "the run's process exited with status %d",
				         WEXITSTATUS(status));
			}
			run_paths(p, j->setting, j->seed, tmp, final);
			record_failure(tmp, final, why);
		}
	}
	j->pid = 0;
}

/* Start a child for run (setting, seed) in a free slot of jobs. */
static int
start(const sim_sweep_plan *p, job *slot, size_t setting, uint64_t seed, char *err, size_t errsize)
{
	pid_t pid;

	fflush(NULL); /* nothing buffered is written twice */
	pid = fork();
	if (pid < 0) {
		snprintf(err, errsize, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		_exit(child_run(p, setting, seed));
	}
	slot->setting = setting;
	slot->seed = seed;
	slot->pid = pid;
	return 0;
}

/* Wait for one of our children; -1 when none is running. */
static int
wait_one(const sim_sweep_plan *p, job *jobs, sim_sweep_counts *c)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, 0);

		if (pid < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -1; /* ECHILD: none left */
		}
		for (unsigned i = 0; i < p->jobs; i++) {
			if (jobs[i].pid == pid) {
				reap(p, &jobs[i], status, c);
				return 0;
			}
		}
	}
}

/* Whether run (setting, seed) is done already: its report is in place. */
static bool
kept(const sim_sweep_plan *p, size_t setting, uint64_t seed)
{
	char tmp[PATH_MAX_SWEEP], final[PATH_MAX_SWEEP], report[PATH_MAX_SWEEP + 16];

	run_paths(p, setting, seed, tmp, final);
	snprintf(report, sizeof(report), "%s/report.json", final);
	return exists(report);
}

int
sim_sweep_run(const sim_sweep_plan *p, sim_sweep_counts *c, char *err, size_t errsize)
{
	size_t total = p->n_settings * p->n_seeds, todo = 0, finished = 0;
	job *jobs = calloc(p->jobs, sizeof(*jobs));
	unsigned running = 0;
	double t0 = mono_s();
	int rc = 0;

	memset(c, 0, sizeof(*c));
	if (jobs == NULL) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	for (size_t i = p->shard_k; i < total; i += p->shard_n) {
		c->runs++;
		if (kept(p, i / p->n_seeds, p->seeds[i % p->n_seeds])) {
			c->kept++;
		}
	}
	todo = c->runs - c->kept;
	for (size_t i = p->shard_k; i < total && rc == 0; i += p->shard_n) {
		size_t setting = i / p->n_seeds;
		uint64_t seed = p->seeds[i % p->n_seeds];
		unsigned free_slot = 0;

		if (kept(p, setting, seed)) {
			continue;
		}
		if (running == p->jobs) {
			wait_one(p, jobs, c);
			running--;
			finished++;
			if (p->progress) {
				show_progress(c, todo, finished, t0);
			}
		}
		while (jobs[free_slot].pid != 0) {
			free_slot++;
		}
		if (start(p, &jobs[free_slot], setting, seed, err, errsize) != 0) {
			rc = -1;
		} else {
			running++;
		}
	}
	for (; running > 0 && wait_one(p, jobs, c) == 0; running--) {
		finished++;
		if (p->progress) {
			show_progress(c, todo, finished, t0);
		}
	}
	if (p->progress && finished > 0) {
		fputc('\n', stderr);
	}
	free(jobs);
	return rc;
}
