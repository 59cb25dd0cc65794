/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp.conf loading and name resolution for refd (refd_conf.h).
 */
#include "refd_conf.h"

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ntp_leap.h"
#include "refd_sock.h"

static char *
read_file(const char *path, size_t *len, FILE *diag)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	size_t n;

	if (fp == NULL) {
		fprintf(diag, "%s: cannot read: %s\n", path, strerror(errno));
		return NULL;
	}
	buf = malloc(REFD_CONF_FILE_MAX + 1);
	if (buf == NULL) {
		fclose(fp);
		fprintf(diag, "%s: out of memory\n", path);
		return NULL;
	}
	n = fread(buf, 1, REFD_CONF_FILE_MAX + 1, fp);
	if (ferror(fp) || n > REFD_CONF_FILE_MAX) {
		fprintf(diag, "%s: %s\n", path,
		        ferror(fp) ? "read error" : "larger than 1 MiB; not an ntp.conf");
		fclose(fp);
		free(buf);
		return NULL;
	}
	fclose(fp);
	*len = n;
	return buf;
}

ntp_conf *
refd_conf_load(const char *path, FILE *diag, unsigned *n_errors)
{
	ntp_conf *c;
	size_t len = 0;
	char *text, line[512];

	*n_errors = 0;
	text = read_file(path, &len, diag);
	if (text == NULL) {
		return NULL;
	}
	c = calloc(1, sizeof *c);
	if (c == NULL) {
		free(text);
		fprintf(diag, "%s: out of memory\n", path);
		return NULL;
	}
	ntp_conf_init(c, path);
	*n_errors = ntp_conf_parse(c, text, len);
	free(text);
	for (size_t i = 0; i < c->n_diags && i < NTP_CONF_MAX_DIAGS; i++) {
		fprintf(diag, "%s\n", ntp_conf_diag_format(c, &c->diags[i], line, sizeof line));
	}
	if (c->n_errors + c->n_warnings > c->n_diags) {
		fprintf(diag, "%s: %u more diagnostics not shown\n", path,
		        c->n_errors + c->n_warnings - (unsigned)c->n_diags);
	}
	if (*n_errors != 0) {
		fprintf(diag, "%s: %u error%s; not started\n", path, *n_errors,
		        *n_errors == 1 ? "" : "s");
		free(c);
		return NULL;
	}
	return c;
}

struct ntp_leap_table *
refd_leap_load(const char *path, FILE *diag, unsigned *n_errors)
{
	ntp_leap_table *t;
	size_t len = 0;
	char *text, line[512];

	*n_errors = 0;
	text = read_file(path, &len, diag);
	if (text == NULL) {
		return NULL;
	}
	t = calloc(1, sizeof *t);
	if (t == NULL) {
		free(text);
		fprintf(diag, "%s: out of memory\n", path);
		return NULL;
	}
	ntp_leap_init(t, path);
	*n_errors = ntp_leap_parse(t, text, len);
	free(text);
	for (size_t i = 0; i < t->n_diags; i++) {
		fprintf(diag, "%s\n", ntp_leap_diag_format(t, &t->diags[i], line, sizeof line));
	}
	if (*n_errors != 0) {
		fprintf(diag, "%s: %u error%s; not started\n", path, *n_errors,
		        *n_errors == 1 ? "" : "s");
		free(t);
		return NULL;
	}
	return t;
}

/* Does anything in the config use a key? */
static bool
keys_needed(const ntp_conf *c)
{
	if (c->n_trusted > 0 || c->controlkey != 0) {
		return true;
	}
	for (size_t i = 0; i < c->n_servers && i < NTP_CONF_MAX_SERVERS; i++) {
		if (c->servers[i].key != 0) {
			return true;
		}
	}
	return false;
}

ntp_keys_file *
refd_keys_load(const ntp_conf *c, FILE *diag, bool *failed)
{
	ntp_keys_file *f;
	size_t len = 0;
	char *text, line[512];

	*failed = false;
	if (c->keysfile[0] == '\0') {
		return NULL;
	}
	text = read_file(c->keysfile, &len, diag);
	if (text == NULL) {
		*failed = keys_needed(c);
		fprintf(diag, "%s:%d: %s: key file '%s' not read%s\n", c->filename, c->keys_line,
		        *failed ? "error" : "warning", c->keysfile,
		        *failed ? "; not started" : "; no key is used, running without");
		return NULL;
	}
	f = calloc(1, sizeof *f);
	if (f == NULL) {
		free(text);
		*failed = true;
		fprintf(diag, "%s: out of memory\n", c->keysfile);
		return NULL;
	}
	ntp_keys_init(f, c->keysfile);
	ntp_keys_parse(f, text, len);
	free(text);
	for (size_t i = 0; i < f->n_diags && i < NTP_CONF_MAX_DIAGS; i++) {
		fprintf(diag, "%s\n", ntp_keys_diag_format(f, &f->diags[i], line, sizeof line));
	}
	if (f->n_errors + f->n_warnings > f->n_diags) {
		fprintf(diag, "%s: %u more diagnostics not shown\n", c->keysfile,
		        f->n_errors + f->n_warnings - (unsigned)f->n_diags);
	}
	if (f->n_errors != 0) {
		fprintf(diag, "%s: %u error%s; not started\n", c->keysfile, f->n_errors,
		        f->n_errors == 1 ? "" : "s");
		free(f);
		*failed = true;
		return NULL;
	}
	return f;
}

static void
drop_entry(ntp_conf *c, size_t i)
{
	memmove(&c->servers[i], &c->servers[i + 1], (c->n_servers - i - 1) * sizeof c->servers[0]);
	c->n_servers--;
}

/* Up to max addresses of host into out; returns how many. */
static size_t
lookup(const char *host, ntp_addr *out, size_t max, char *why, size_t whysize)
{
	struct addrinfo hints, *res = NULL;
	size_t n = 0;
	int rc;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0) {
		snprintf(why, whysize, "%s", gai_strerror(rc));
		return 0;
	}
	for (struct addrinfo *ai = res; ai != NULL && n < max; ai = ai->ai_next) {
		ntp_addr a;
		bool dup = false;

		if (!refd_addr_from_sockaddr(ai->ai_addr, &a)) {
			continue;
		}
		a.port = 0;
		for (size_t k = 0; k < n; k++) {
			dup |= ntp_addr_same_host(&out[k], &a);
		}
		if (!dup) {
			out[n++] = a;
		}
	}
	freeaddrinfo(res);
	if (n == 0) {
		snprintf(why, whysize, "no IPv4 or IPv6 address");
	}
	return n;
}

static void
expand_pool(ntp_conf *c, size_t i, refd_log *log)
{
	ntp_addr addrs[REFD_POOL_MAX];
	char why[128], name[64];
	size_t n = lookup(c->servers[i].host, addrs, REFD_POOL_MAX, why, sizeof why);

	if (n == 0) {
		refd_logf(log, REFD_LOG_ERR, "pool %s: cannot resolve: %s", c->servers[i].host,
		          why);
	}
	for (size_t k = 0; k < n; k++) {
		ntp_conf_server *s;

		if (c->n_servers >= NTP_CONF_MAX_SERVERS) {
			refd_logf(log, REFD_LOG_ERR, "pool %s: association table full (%d)",
			          c->servers[i].host, NTP_CONF_MAX_SERVERS);
			return;
		}
		s = &c->servers[c->n_servers++];
		*s = c->servers[i];
		s->kind = NTP_CONF_SERVER;
		s->addr = addrs[k];
		refd_logf(log, REFD_LOG_NOTICE, "pool %s: adding server %s", s->host,
		          ntp_addr_format(&addrs[k], name, sizeof name));
	}
}

int
refd_conf_resolve(ntp_conf *c, uint16_t server_port, refd_log *log)
{
	int dropped = 0;
	size_t n_orig = c->n_servers;

	for (size_t i = 0; i < n_orig; i++) {
		if (c->servers[i].kind == NTP_CONF_POOL) {
			expand_pool(c, i, log);
		}
	}
	for (size_t i = 0; i < c->n_servers;) {
		ntp_conf_server *s = &c->servers[i];
		char why[128];

		if ((s->kind == NTP_CONF_SERVER || s->kind == NTP_CONF_PEER) &&
		    s->addr.family == NTP_AF_NONE &&
		    lookup(s->host, &s->addr, 1, why, sizeof why) == 0) {
			refd_logf(log, REFD_LOG_ERR,
			          "%s:%d: server %s: cannot resolve (%s); dropped", c->filename,
			          s->line, s->host, why);
			drop_entry(c, i);
			dropped++;
			continue;
		}
		if ((s->kind == NTP_CONF_SERVER || s->kind == NTP_CONF_PEER) && server_port != 0) {
			s->addr.port = server_port;
		}
		i++;
	}
	return dropped;
}
