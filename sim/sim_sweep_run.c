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
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim_engine.h"
#include "sim_sweep_run.h"

#define ERR_RUN      8192 /* B, a run's error message (as ntpsim's ERR_MAX) */
#define CHILD_FAILED 1    /* a run's status: error.txt written */

void
sim_sweep_run_name(char *buf, size_t size, size_t setting, uint64_t seed)
{
	snprintf(buf, size, "s%zu-seed%llu", setting, (unsigned long long)seed);
}

/* Remove a run directory: it holds only files (report, traces, stats). */
static int
remove_run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[SIM_SWEEP_PATH_MAX];

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
	char path[SIM_SWEEP_PATH_MAX];
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
	snprintf(tmp, SIM_SWEEP_PATH_MAX, "%s/runs/.%s.tmp", p->dir, name);
	snprintf(final, SIM_SWEEP_PATH_MAX, "%s/runs/%s", p->dir, name);
}

/* The child: one run, quiet, no plots, no traces unless asked.  Returns
 * its exit status: 0 done, CHILD_FAILED error.txt written. */
static int
child_run(const sim_sweep_plan *p, size_t setting, uint64_t seed)
{
	char tmp[SIM_SWEEP_PATH_MAX], final[SIM_SWEEP_PATH_MAX];
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

/* For people only (no file depends on it): how far, and an ETA from the
 * mean wall time per run so far. */
static void
show_progress(const sim_sweep_counts *c, size_t todo, size_t finished, double t0)
{
	double spent = sim_wall_s() - t0;
	double eta = finished > 0 ? spent / (double)finished * (double)(todo - finished) : 0.0;

	fprintf(stderr, "\rntpsim sweep: %zu/%zu runs, %zu failed, %.0f s, ETA %.0f s   ",
	        c->kept + finished, c->runs, c->failed, spent, eta);
}

typedef struct worker {
	pid_t pid;  /* 0: none */
	int cmd;    /* parent -> worker: the index of the next run */
	int res;    /* worker -> parent: its status (int) */
	bool busy;  /* a run is out */
	size_t run; /* that run's index */
} worker;

static int
read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);

		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

static int
write_full(int fd, const void *buf, size_t n)
{
	size_t put = 0;

	while (put < n) {
		ssize_t r = write(fd, (const char *)buf + put, n - put);

		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			return -1;
		}
		put += (size_t)r;
	}
	return 0;
}

/* A worker: runs the indexes it is sent, one at a time, answering each
 * with its status, until the parent closes its pipe.  Reusing the process
 * keeps its heap warm: half the page faults of a process per run, 12 %
 * less time per run (measured, chrony 001), and the two CPUs contend less.
 * Runs share nothing: sim_run keeps no state between runs (the only
 * statics in sim/ are sim_gauss's constant tables). */
static void
worker_loop(const sim_sweep_plan *p, int cmd, int res)
{
	size_t run;

	while (read_full(cmd, &run, sizeof(run)) == 0) {
		int st = child_run(p, run / p->n_seeds, p->seeds[run % p->n_seeds]);

		if (write_full(res, &st, sizeof(st)) != 0) {
			break;
		}
	}
	_exit(0);
}

static void
close_worker(worker *w)
{
	close(w->cmd);
	close(w->res);
	w->cmd = w->res = -1;
	w->pid = 0;
	w->busy = false;
}

/* Start worker ws[i]; the child keeps only its own two pipe ends (another
 * worker's command pipe held open would keep that worker from ever
 * seeing its end). */
static int
spawn(const sim_sweep_plan *p, worker *ws, unsigned i, char *err, size_t errsize)
{
	int cmd[2], res[2];
	pid_t pid;

	if (pipe(cmd) != 0 || pipe(res) != 0) {
		snprintf(err, errsize, "pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL); /* nothing buffered is written twice */
	pid = fork();
	if (pid < 0) {
		snprintf(err, errsize, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		for (unsigned k = 0; k < p->jobs; k++) {
			if (ws[k].pid != 0) {
				close(ws[k].cmd);
				close(ws[k].res);
			}
		}
		close(cmd[1]);
		close(res[0]);
		worker_loop(p, cmd[0], res[1]);
	}
	close(cmd[0]);
	close(res[1]);
	ws[i].pid = pid;
	ws[i].cmd = cmd[1];
	ws[i].res = res[0];
	return 0;
}

/* A run ended with status (a worker's answer, or the wait status of a
 * worker that died in it): count it; a run that died without writing
 * error.txt gets one from the parent. */
static void
account(const sim_sweep_plan *p, size_t run, int status, bool died, sim_sweep_counts *c)
{
	char tmp[SIM_SWEEP_PATH_MAX], final[SIM_SWEEP_PATH_MAX], why[128];

	if (!died && status == 0) {
		c->done++;
		return;
	}
	c->failed++;
	if (!died) {
		return; /* CHILD_FAILED: error.txt written by the worker */
	}
	if (WIFSIGNALED(status)) {
		snprintf(why, sizeof(why), "the run was killed by signal %d (%s)", WTERMSIG(status),
		         strsignal(WTERMSIG(status)));
	} else {
		snprintf(why, sizeof(why), "the run's process exited with status %d",
		         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	run_paths(p, run / p->n_seeds, p->seeds[run % p->n_seeds], tmp, final);
	record_failure(tmp, final, why);
}

/* Wait for the next answer of a busy worker (poll: a run is a bounded
 * simulation, so every wait ends).  Returns the worker's index; a worker
 * that died is reaped, its run accounted as failed, and left stopped. */
static int
next_answer(const sim_sweep_plan *p, worker *ws, sim_sweep_counts *c)
{
	struct pollfd fds[SIM_SWEEP_JOBS_MAX];
	unsigned map[SIM_SWEEP_JOBS_MAX], n = 0;

	for (unsigned i = 0; i < p->jobs; i++) {
		if (ws[i].busy) { /* implies a worker (pid != 0) */
			fds[n].fd = ws[i].res;
			fds[n].events = POLLIN;
			map[n++] = i;
		}
	}
	if (n == 0) {
		return -1;
	}
	while (poll(fds, n, -1) < 0) {
		if (errno != EINTR) {
			return -1;
		}
	}
	for (unsigned k = 0; k < n; k++) {
		worker *w = &ws[map[k]];
		int st;

		if (fds[k].revents == 0) {
			continue;
		}
		w->busy = false;
		if (read_full(w->res, &st, sizeof(st)) == 0) {
			account(p, w->run, st, false, c);
		} else {
			/* it died in the run: EOF on its answer pipe */
			while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR) {
			}
			account(p, w->run, st, true, c);
			close_worker(w);
		}
		return (int)map[k];
	}
	return -1;
}

/* Send run `run` to worker i, starting it first if needed.  A worker whose
 * pipe is gone is restarted once. */
static int
assign(const sim_sweep_plan *p, worker *ws, unsigned i, size_t run, char *err, size_t errsize)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (ws[i].pid == 0 && spawn(p, ws, i, err, errsize) != 0) {
			return -1;
		}
		if (write_full(ws[i].cmd, &run, sizeof(run)) == 0) {
			ws[i].busy = true;
			ws[i].run = run;
			return 0;
		}
		waitpid(ws[i].pid, NULL, 0);
		close_worker(&ws[i]);
	}
	snprintf(err, errsize, "a worker process could not take a run");
	return -1;
}

/* Close every worker's command pipe (its end of work) and reap it. */
static void
stop_workers(const sim_sweep_plan *p, worker *ws)
{
	for (unsigned i = 0; i < p->jobs; i++) {
		if (ws[i].pid != 0) {
			pid_t pid = ws[i].pid;

			close_worker(&ws[i]);
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
			}
		}
	}
}

/* Whether run (setting, seed) is done already: its report is in place. */
static bool
kept(const sim_sweep_plan *p, size_t setting, uint64_t seed)
{
	char tmp[SIM_SWEEP_PATH_MAX], final[SIM_SWEEP_PATH_MAX], report[SIM_SWEEP_PATH_MAX + 16];
	struct stat sb;

	run_paths(p, setting, seed, tmp, final);
	snprintf(report, sizeof(report), "%s/report.json", final);
	return stat(report, &sb) == 0;
}

/* This shard's runs not done yet, in run order, into todo (room for all
 * of the shard's runs); c->runs and c->kept counted.  Each run dir is
 * looked at once: the ETA needs the count before the first run. */
static size_t
runs_to_do(const sim_sweep_plan *p, size_t *todo, sim_sweep_counts *c)
{
	size_t total = p->n_settings * p->n_seeds, n = 0;

	for (size_t i = p->shard_k; i < total; i += p->shard_n) {
		c->runs++;
		if (kept(p, i / p->n_seeds, p->seeds[i % p->n_seeds])) {
			c->kept++;
		} else {
			todo[n++] = i;
		}
	}
	return n;
}

static int
idle_worker(const worker *ws, unsigned jobs)
{
	for (unsigned k = 0; k < jobs; k++) {
		if (!ws[k].busy) {
			return (int)k;
		}
	}
	return -1;
}

int
sim_sweep_run(const sim_sweep_plan *p, sim_sweep_counts *c, char *err, size_t errsize)
{
	size_t total = p->n_settings * p->n_seeds, n_todo, finished = 0, next = 0;
	size_t *todo;
	worker ws[SIM_SWEEP_JOBS_MAX];
	unsigned jobs =
	        p->jobs < SIM_SWEEP_JOBS_MAX ? p->jobs : SIM_SWEEP_JOBS_MAX; /* -j checked */
	sim_sweep_plan q = *p;
	double t0;
	void (*old_pipe)(int);
	int rc = 0;

	memset(c, 0, sizeof(*c));
	/* a shard has at most total / shard_n runs, rounded up (+1: no malloc(0)) */
	todo = malloc(((total + p->shard_n - 1) / p->shard_n + 1) * sizeof(*todo));
	if (todo == NULL) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	memset(ws, 0, sizeof(ws));
	q.jobs = jobs;
	t0 = sim_wall_s();
	old_pipe = signal(SIGPIPE, SIG_IGN); /* a dead worker's pipe: EPIPE */
	n_todo = runs_to_do(p, todo, c);
	for (;;) {
		int i = idle_worker(ws, jobs);

		if (next < n_todo && i >= 0 && rc == 0) {
			if (assign(&q, ws, (unsigned)i, todo[next], err, errsize) != 0) {
				rc = -1;
			}
			next++;
			continue;
		}
		if (next_answer(&q, ws, c) < 0) {
			break; /* nothing out: all done */
		}
		finished++;
		if (p->progress) {
			show_progress(c, n_todo, finished, t0);
		}
	}
	stop_workers(&q, ws);
	signal(SIGPIPE, old_pipe);
	free(todo);
	if (p->progress && finished > 0) {
		fputc('\n', stderr);
	}
	return rc;
}
