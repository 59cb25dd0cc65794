/* SPDX-License-Identifier: BSD-2-Clause */
/* refd/refd_loop and refd_conf: config loading, socket choice, and the
 * daemon end to end on loopback (a forked child runs the loop; the test
 * talks to it over UDP and stops it with SIGTERM). */
#include <criterion/criterion.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "host_fixture.h"
#include "ntp_leap.h"
#include "ntp_pkt.h"
#include "ntp_rand.h"
#include "refd_conf.h"
#include "refd_loop.h"

static char dir[64];

static void
make_dir(void)
{
	fixture_tmpdir(dir, sizeof dir, "refd_loop_");
}

static void
remove_dir(void)
{
	fixture_tmpdir_remove(dir, "refd_loop_");
}

static void
write_file(const char *name, const char *text, char *path, size_t size)
{
	FILE *fp;

	snprintf(path, size, "%s/%s", dir, name);
	fp = fopen(path, "w");
	cr_assert_not_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void
read_file(const char *path, char *buf, size_t size)
{
	FILE *fp = fopen(path, "r");
	size_t n;

	cr_assert_not_null(fp, "%s", path);
	n = fread(buf, 1, size - 1, fp);
	buf[n] = '\0';
	fclose(fp);
}

Test(refd_conf, errors_are_reported_with_file_line_column, .init = make_dir, .fini = remove_dir)
{
	char path[128], diag_buf[4096] = "", want[200];
	FILE *diag = fmemopen(diag_buf, sizeof diag_buf, "w");
	unsigned n_errors = 0;

	write_file("bad.conf", "server 127.127.1.0\nsever 10.0.0.1\nrestrict default bogusflag\n",
	           path, sizeof path);
	cr_assert_null(refd_conf_load(path, diag, &n_errors));
	fclose(diag);
	cr_assert_eq(n_errors, 2);
	snprintf(want, sizeof want, "%s:2:1: error: unknown directive 'sever'", path);
	cr_assert(strstr(diag_buf, want) != NULL, "%s", diag_buf);
	snprintf(want, sizeof want, "%s:3:18: error:", path);
	cr_assert(strstr(diag_buf, want) != NULL, "%s", diag_buf);
	cr_assert(strstr(diag_buf, "2 errors; not started") != NULL, "%s", diag_buf);
}

Test(refd_conf, leapfile_errors_name_file_line_column, .init = make_dir, .fini = remove_dir)
{
	char path[128], diag_buf[4096] = "", want[200];
	FILE *diag = fmemopen(diag_buf, sizeof diag_buf, "w");
	unsigned n_errors = 0;

	/* the expiry changed by one digit: the hash no longer matches */
	write_file("leap.list",
	           "#$\t3944678400\n#@\t3976214401\n3692217600\t37\n"
	           "#h\te36e4c51 b60cc2e0 d99905e6 26891f3b a8df93a5\n",
	           path, sizeof path);
	cr_assert_null(refd_leap_load(path, diag, &n_errors));
	fclose(diag);
	cr_assert_eq(n_errors, 1);
	snprintf(want, sizeof want, "%s:4:4: error: hash mismatch", path);
	cr_assert(strstr(diag_buf, want) != NULL, "%s", diag_buf);
	cr_assert(strstr(diag_buf, "1 error; not started") != NULL, "%s", diag_buf);
}

Test(refd_conf, leapfile_good_hash_loads, .init = make_dir, .fini = remove_dir)
{
	char path[128];
	unsigned n_errors = 7;

	write_file("leap.list",
	           "#$\t3944678400\n#@\t3976214400\n3692217600\t37\n"
	           "#h\te36e4c51 b60cc2e0 d99905e6 26891f3b a8df93a5\n",
	           path, sizeof path);
	ntp_leap_table *t = refd_leap_load(path, stderr, &n_errors);
	cr_assert_not_null(t);
	cr_assert_eq(n_errors, 0);
	cr_assert_eq(t->hash, NTP_LEAP_HASH_GOOD);
	cr_assert_eq(t->n, 1);
	free(t);
}

Test(refd_conf, unreadable_file_is_named, .init = make_dir, .fini = remove_dir)
{
	char diag_buf[512] = "";
	FILE *diag = fmemopen(diag_buf, sizeof diag_buf, "w");
	unsigned n_errors = 7;

	cr_assert_null(refd_conf_load("/nonexistent/ntp.conf", diag, &n_errors));
	fclose(diag);
	cr_assert_eq(n_errors, 0);
	cr_assert(strstr(diag_buf, "/nonexistent/ntp.conf: cannot read") != NULL, "%s", diag_buf);
}

Test(refd_conf, names_resolve_pools_expand_and_ports_apply, .init = make_dir, .fini = remove_dir)
{
	char path[128], logpath[128], err[256];
	unsigned n_errors;
	ntp_conf *c;
	refd_log log;
	size_t servers = 0;

	write_file("n.conf",
	           "server localhost iburst\nserver no-such-host.invalid\npool 127.0.0.2\n"
	           "server 127.127.1.0\n",
	           path, sizeof path);
	snprintf(logpath, sizeof logpath, "%s/log", dir);
	c = refd_conf_load(path, stderr, &n_errors);
	cr_assert_not_null(c);
	cr_assert_eq(refd_log_open(&log, logpath, true, 0, err, sizeof err), 0);
	cr_assert_eq(refd_conf_resolve(c, 11123, &log), 1, "the .invalid name is dropped");
	refd_log_close(&log);
	for (size_t i = 0; i < c->n_servers; i++) {
		const ntp_conf_server *s = &c->servers[i];

		if (s->kind == NTP_CONF_SERVER) {
			cr_assert_neq(s->addr.family, NTP_AF_NONE, "%s resolved", s->host);
			cr_assert(ntp_addr_is_loopback(&s->addr), "%s", s->host);
			cr_assert_eq(s->addr.port, 11123);
			servers++;
		}
	}
	cr_assert_geq(servers, 2, "localhost and at least one pool address");
	free(c);
}

static ntp_conf *
conf_from(const char *text)
{
	ntp_conf *c = calloc(1, sizeof *c);

	cr_assert_not_null(c);
	ntp_conf_init(c, "test.conf");
	cr_assert_eq(ntp_conf_parse(c, text, strlen(text)), 0);
	return c;
}

Test(refd_loop, socket_choice, .init = make_dir, .fini = remove_dir)
{
	refd_opts o;
	ntp_conf *c = conf_from("restrict default nomodify\n");
	refd_daemon *d;
	ntp_addr to, from;
	char err[256];
	refd_sock *s;

	memset(&o, 0, sizeof o);
	o.port = -1;
	o.listen[0] = "127.0.0.1:0";
	o.n_listen = 1;
	d = refd_daemon_new(&o, c);
	cr_assert_not_null(d);
	cr_assert_eq(refd_log_open(&d->log, NULL, true, 0, err, sizeof err), 0);
	cr_assert_eq(refd_daemon_bind(d, err, sizeof err), 0, "%s", err);
	cr_assert_eq(d->n_listen, 1);
	memset(&from, 0, sizeof from);
	cr_assert(ntp_addr_parse("127.0.0.9", &to));
	cr_assert_eq(refd_daemon_sock_for(d, &to, &from), &d->socks[0],
	             "loopback via the listener");
	cr_assert(ntp_addr_parse("10.200.0.11", &to));
	s = refd_daemon_sock_for(d, &to, &from);
	cr_assert_not_null(s);
	cr_assert_neq(s, &d->socks[0], "a 127/8-bound socket cannot reach 10.200.0.11");
	cr_assert_eq(refd_daemon_sock_for(d, &to, &from), s, "the client socket is reused");
	cr_assert(ntp_addr_parse("::1", &to));
	s = refd_daemon_sock_for(d, &to, &from);
	cr_assert_not_null(s);
	cr_assert_eq(s->local.family, NTP_AF_INET6);
	cr_assert_eq(d->n_socks, 3);
	refd_daemon_free(d);
	free(c);
}

Test(refd_loop, busy_port_is_reported, .init = make_dir, .fini = remove_dir)
{
	refd_opts o;
	ntp_conf *c = conf_from("restrict default nomodify\n");
	refd_daemon *a, *b;
	char err[512], listen[64], me[32];

	memset(&o, 0, sizeof o);
	o.port = -1;
	o.listen[0] = "127.0.0.1:0";
	o.n_listen = 1;
	a = refd_daemon_new(&o, c);
	refd_log_open(&a->log, NULL, true, 0, err, sizeof err);
	cr_assert_eq(refd_daemon_bind(a, err, sizeof err), 0, "%s", err);
	snprintf(listen, sizeof listen, "127.0.0.1:%u", a->socks[0].local.port);
	o.listen[0] = listen;
	b = refd_daemon_new(&o, c);
	refd_log_open(&b->log, NULL, true, 0, err, sizeof err);
	cr_assert_eq(refd_daemon_bind(b, err, sizeof err), -1);
	snprintf(me, sizeof me, "(pid %ld ", (long)getpid());
	cr_assert(strstr(err, "Address already in use") != NULL, "%s", err);
	cr_assert(strstr(err, "is held by") != NULL && strstr(err, me) != NULL, "%s", err);
	refd_daemon_free(a);
	refd_daemon_free(b);
	free(c);
}

static void
pause_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Ask the daemon once; true with the decoded reply if it answered in 2 s. */
static bool
ask(refd_sock *s, const ntp_addr *to, ntp_ts64 nonce, ntp_pkt *out)
{
	static refd_tx tx;
	static refd_rx rx[REFD_BATCH];
	struct pollfd pfd = {.fd = s->fd, .events = POLLIN};

	memset(&tx, 0, sizeof tx);
	tx.to = *to;
	tx.len = fixture_client_request(tx.buf, sizeof tx.buf, nonce);
	cr_assert_eq(refd_sock_send(s, &tx, 1, NULL, NULL), 1);
	for (int tries = 0; tries < 20; tries++) {
		int n;

		poll(&pfd, 1, 100);
		n = refd_sock_recv(s, rx, REFD_BATCH);
		for (int i = 0; i < n; i++) {
			if (ntp_pkt_decode(rx[i].buf, rx[i].len, out, NULL) == NTP_PKT_OK &&
			    out->org == nonce) {
				return true;
			}
		}
	}
	return false;
}

static void
barrage(refd_sock *s, const ntp_addr *to, int count)
{
	static refd_tx tx[REFD_BATCH];
	ntp_rand r;

	ntp_rand_seed(&r, 20261124);
	for (int sent = 0; sent < count; sent += REFD_BATCH) {
		for (int i = 0; i < REFD_BATCH; i++) {
			memset(&tx[i], 0, sizeof tx[i]);
			tx[i].to = *to;
			tx[i].len = (size_t)ntp_rand_below(&r, sizeof tx[i].buf + 1);
			for (size_t k = 0; k < tx[i].len; k++) {
				tx[i].buf[k] = (uint8_t)ntp_rand_u64(&r);
			}
			if (i % 4 == 0 && tx[i].len > 0) {
				/* Keep some looking like NTP so deeper code runs. */
				tx[i].buf[0] = (uint8_t)(0x20 | (i % 8));
			}
		}
		refd_sock_send(s, tx, REFD_BATCH, NULL, NULL);
		pause_ms(2);
	}
}

static int
wait_child(pid_t pid)
{
	int status = 0;

	for (int tries = 0; tries < 100; tries++) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		pause_ms(50);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

Test(refd_loop, serves_survives_garbage_and_stops_cleanly, .init = make_dir, .fini = remove_dir,
     .timeout = 60)
{
	char conf_path[128], drift[128], logpath[128], err[256];
	static char text[1 << 20];
	char conf_text[512];
	refd_opts o;
	ntp_conf *c;
	refd_daemon *d;
	refd_sock client;
	ntp_addr lo;
	ntp_pkt rep;
	unsigned n_errors;
	pid_t pid;
	double v;

	write_file("drift", "12.500\n", drift, sizeof drift);
	snprintf(conf_text, sizeof conf_text,
	         "server 127.127.1.0 minpoll 3\nfudge 127.127.1.0 stratum 5\n"
	         "restrict default nomodify notrap\ndriftfile %s\n",
	         drift);
	write_file("ntp.conf", conf_text, conf_path, sizeof conf_path);
	snprintf(logpath, sizeof logpath, "%s/refd.log", dir);
	memset(&o, 0, sizeof o);
	o.port = -1;
	o.listen[0] = "127.0.0.1:0";
	o.n_listen = 1;
	o.foreground = true;
	o.debug = 1;
	c = refd_conf_load(conf_path, stderr, &n_errors);
	cr_assert_not_null(c);
	d = refd_daemon_new(&o, c);
	cr_assert_eq(refd_log_open(&d->log, logpath, true, 1, err, sizeof err), 0, "%s", err);
	cr_assert_eq(refd_daemon_bind(d, err, sizeof err), 0, "%s", err);
	cr_assert_eq(refd_daemon_start(d, err, sizeof err), 0, "%s", err);
	lo = d->socks[0].local;
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int rc = refd_daemon_run(d);

		refd_daemon_finish(d);
		refd_log_close(&d->log);
		_exit(rc);
	}
	memset(&lo.a, 0, sizeof lo.a);
	cr_assert(ntp_addr_parse("127.0.0.1", &lo));
	lo.port = d->socks[0].local.port;
	{
		ntp_addr any = lo;

		any.port = 0;
		cr_assert_eq(refd_sock_open(&client, &any, err, sizeof err), 0, "%s", err);
	}
	cr_assert(ask(&client, &lo, UINT64_C(0x0123456789abcdef), &rep), "no answer");
	cr_assert_eq(rep.mode, NTP_MODE_SERVER);
	cr_assert_neq(rep.rec, 0);
	cr_assert_geq(ntp_ts_sub(rep.xmt, rep.rec), 0, "T3 patched at send, after T2");
	barrage(&client, &lo, 2048);
	cr_assert(ask(&client, &lo, UINT64_C(0x0fedcba987654321), &rep), "silent after garbage");
	cr_assert_eq(kill(pid, 0), 0, "still running");
	cr_assert_eq(kill(pid, SIGTERM), 0);
	cr_assert_eq(wait_child(pid), 0, "clean exit on SIGTERM");
	read_file(drift, text, sizeof text);
	cr_assert_eq(sscanf(text, "%lf", &v), 1);
	cr_assert(fabs(v - 12.5) < 0.5, "drift written at exit: %s", text);
	cr_assert(strstr(text, ".") != NULL && text[strlen(text) - 1] == '\n');
	read_file(logpath, text, sizeof text);
	cr_assert(strstr(text, "refd started") != NULL, "%s", text);
	cr_assert(strstr(text, "freq_set") != NULL, "%s", text);
	cr_assert(strstr(text, "refd exiting") != NULL, "%s", text);
	refd_sock_close(&client);
	refd_daemon_free(d);
	free(c);
}
