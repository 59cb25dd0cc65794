/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * refd's control socket (refd_ctl.h): a small command language for the
 * disturbances of a scenario's events, parsed without trusting a byte.
 */
#define _GNU_SOURCE /* SOCK_NONBLOCK, SOCK_CLOEXEC */

#include "refd_ctl.h"
#include "ntp_units.h"
#include "refd_num.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define QUOTE_MAX    80   /* characters of a command echoed in the log (ours) */
#define WORD_SHOWN   "40" /* characters of a bad word echoed in an error (ours) */
#define KOD_CODE_MAX 4    /* characters of a kiss code, RFC 5905 §7.4 */
#define LEAP_MAX     3    /* largest LI value, RFC 5905 §7.3 */
#define SOCKET_MODE  0600 /* only the owner (root) may command refd */
#define SOCKET_UMASK 0177 /* umask while binding: no window with a wider mode */

_Static_assert(sizeof(((struct sockaddr_un *)0)->sun_path) == REFD_CTL_PATH_MAX,
               "REFD_CTL_PATH_MAX must be sun_path's size");

static const char KINDS_LIST[] = "wrong-leap, stratum16, kod, falseticker, stale-reftime, "
                                 "huge-rootdisp, bad-origin, silent";
static const char KEYS_LIST[] = "offset, leap, rootdisp, stale, kod";
static const char COMMANDS_LIST[] = "step, freq, fault, status";

/* ---- numbers with units: the parser ntpsim uses (core/ntp_units.c), ----
 * ---- behind refd's strict decimal check (no 0x10, inf, nan: refd_num.h) ---- */

static const char *
skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t') {
		s++;
	}
	return s;
}

static bool
parse_time(const char *s, double *out)
{
	return refd_num_prefix_ok(s) && ntp_parse_duration(s, out) == 0 &&
	       fabs(*out) <= REFD_CTL_TIME_MAX;
}

/* ---- errors ---- */

static int fail(char *err, size_t errsize, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errsize, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errsize > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsize, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* The first byte that is neither printable ASCII nor a tab, or len. */
static size_t
first_unprintable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c != '\t' && (c < 0x20 || c > 0x7e)) {
			return i;
		}
	}
	return len;
}

/* ---- fault specs ---- */

static int
parse_kinds(char *word, ntp_fault *f, bool *none, char *err, size_t errsize)
{
	char *save = NULL;
	size_t pieces = 0;

	if (strchr(word, '=') != NULL) {
		return fail(err, errsize,
		            "the kinds come first, then KEY=VALUE: e.g. 'falseticker offset=0.5', "
		            "got '%." WORD_SHOWN "s' first",
		            word);
	}
	if (word[0] == ',' || word[strlen(word) - 1] == ',' || strstr(word, ",,") != NULL) {
		return fail(err, errsize, "empty fault kind in '%." WORD_SHOWN "s'", word);
	}
	*none = false;
	for (char *k = strtok_r(word, ",", &save); k != NULL; k = strtok_r(NULL, ",", &save)) {
		int bit = ntp_fault_from_name(k);

		pieces++;
		if (strcmp(k, "none") == 0) {
			*none = true;
			continue;
		}
		if (bit == 0) {
			return fail(err, errsize,
			            "unknown fault kind '%." WORD_SHOWN "s' (kinds: %s, or none)",
			            k, KINDS_LIST);
		}
		f->kinds |= (uint32_t)bit;
	}
	if (*none && pieces > 1) {
		return fail(err, errsize, "'none' cannot be combined with other fault kinds");
	}
	return 0;
}

enum fault_key { K_OFFSET, K_LEAP, K_ROOTDISP, K_STALE, K_KOD, K_COUNT };

static const char *const fault_keys[K_COUNT] = {"offset", "leap", "rootdisp", "stale", "kod"};

static int
parse_kod(const char *v, ntp_fault *f, char *err, size_t errsize)
{
	size_t len = strlen(v);

	if (len == 0 || len > KOD_CODE_MAX) {
		return fail(err, errsize,
		            "kod '%." WORD_SHOWN "s' is not a kiss code of 1 to 4 characters such "
		            "as RATE or DENY",
		            v);
	}
	memcpy(f->kod, v, len + 1);
	return 0;
}

static int
parse_fault_value(int key, const char *v, ntp_fault *f, char *err, size_t errsize)
{
	long leap;

	switch (key) {
	case K_OFFSET:
		if (!parse_time(v, &f->offset)) {
			return fail(err, errsize,
			            "offset '%." WORD_SHOWN
			            "s' is not a time such as 0.5, -20ms or 1s "
			            "(at most 1e9 s)",
			            v);
		}
		return 0;
	case K_LEAP:
		if (!refd_num_parse_long(v, 0, LEAP_MAX, &leap)) {
			return fail(err, errsize, "leap '%." WORD_SHOWN "s' is not 0, 1, 2 or 3",
			            v);
		}
		f->leap = (uint8_t)leap;
		return 0;
	case K_ROOTDISP:
	case K_STALE:
		if (!parse_time(v, key == K_ROOTDISP ? &f->rootdisp : &f->stale) ||
		    (key == K_ROOTDISP ? f->rootdisp : f->stale) < 0.0) {
			return fail(err, errsize,
			            "%s '%." WORD_SHOWN
			            "s' is not a time >= 0 such as 16, 2s or 1d",
			            fault_keys[key], v);
		}
		return 0;
	default:
		return parse_kod(v, f, err, errsize);
	}
}

static int
parse_param(char *word, ntp_fault *f, unsigned *seen, char *err, size_t errsize)
{
	char *eq = strchr(word, '=');
	int key;

	if (eq == NULL) {
		return fail(err, errsize,
		            "expected KEY=VALUE after the fault kinds, got '%." WORD_SHOWN
		            "s' (keys: %s)",
		            word, KEYS_LIST);
	}
	*eq = '\0';
	for (key = 0; key < K_COUNT && strcmp(word, fault_keys[key]) != 0; key++) {
	}
	if (key == K_COUNT) {
		return fail(err, errsize, "unknown fault parameter '%." WORD_SHOWN "s' (keys: %s)",
		            word, KEYS_LIST);
	}
	if (*seen & (1u << key)) {
		return fail(err, errsize, "'%s' given twice", fault_keys[key]);
	}
	*seen |= 1u << key;
	return parse_fault_value(key, eq + 1, f, err, errsize);
}

int
refd_ctl_parse_fault(const char *spec, ntp_fault *out, char *err, size_t errsize)
{
	char text[REFD_CTL_LINE_MAX + 1];
	char *save = NULL, *word;
	size_t len, bad;
	unsigned seen = 0;
	bool none = false;

	if (out == NULL) {
		return fail(err, errsize, "internal: no fault to fill");
	}
	memset(out, 0, sizeof *out);
	if (spec == NULL) {
		spec = "";
	}
	len = strlen(spec);
	if (len > REFD_CTL_LINE_MAX) {
		return fail(err, errsize, "fault spec of %zu bytes is longer than %d bytes", len,
		            REFD_CTL_LINE_MAX);
	}
	bad = first_unprintable(spec, len);
	if (bad < len) {
		return fail(err, errsize, "byte 0x%02x at offset %zu is not printable text",
		            (unsigned char)spec[bad], bad);
	}
	memcpy(text, spec, len + 1);
	word = strtok_r(text, " \t", &save);
	if (word == NULL) {
		return fail(err, errsize, "needs KIND[,KIND...] [KEY=VALUE...] or none (kinds: %s)",
		            KINDS_LIST);
	}
	if (parse_kinds(word, out, &none, err, errsize) != 0) {
		return -1;
	}
	while ((word = strtok_r(NULL, " \t", &save)) != NULL) {
		if (none) {
			return fail(err, errsize,
			            "'none' takes no parameters, got '%." WORD_SHOWN "s'", word);
		}
		if (parse_param(word, out, &seen, err, errsize) != 0) {
			return -1;
		}
	}
	return 0;
}

/* ---- commands ---- */

static int
parse_step(const char *arg, refd_ctl_cmd *out, char *err, size_t errsize)
{
	if (*arg == '\0') {
		return fail(err, errsize,
		            "step needs SECONDS, e.g. 'step 0.25', 'step -1s' or "
		            "'step 500ms'");
	}
	if (!refd_num_prefix_ok(arg) || ntp_parse_duration(arg, &out->value) != 0) {
		return fail(err, errsize,
		            "step: '%." WORD_SHOWN "s' is not a time such as 0.25, -1s or 500ms",
		            arg);
	}
	if (fabs(out->value) > REFD_CTL_TIME_MAX) {
		return fail(err, errsize, "step: %g s is beyond +-%g s", out->value,
		            REFD_CTL_TIME_MAX);
	}
	out->kind = REFD_CTL_STEP;
	return 0;
}

static int
parse_freq(const char *arg, refd_ctl_cmd *out, char *err, size_t errsize)
{
	if (*arg == '\0') {
		return fail(err, errsize,
		            "freq needs a frequency error, e.g. 'freq 12ppm' or "
		            "'freq -1.2e-5'");
	}
	if (!refd_num_prefix_ok(arg) || ntp_parse_freq(arg, &out->value) != 0) {
		return fail(err, errsize,
		            "freq: '%." WORD_SHOWN "s' is not a frequency such as 12ppm, 5ppb or "
		            "1.2e-5",
		            arg);
	}
	if (fabs(out->value) * 1e6 > REFD_CLOCK_MAX_SKEW_PPM) {
		return fail(err, errsize, "freq: %+g ppm is beyond +-%g ppm", out->value * 1e6,
		            REFD_CLOCK_MAX_SKEW_PPM);
	}
	out->kind = REFD_CTL_FREQ;
	return 0;
}

static int
parse_fault_cmd(const char *arg, refd_ctl_cmd *out, char *err, size_t errsize)
{
	char why[REFD_CTL_REPLY_MAX];

	if (refd_ctl_parse_fault(arg, &out->fault, why, sizeof why) != 0) {
		return fail(err, errsize, "fault: %s", why);
	}
	out->kind = REFD_CTL_FAULT;
	return 0;
}

int
refd_ctl_parse(const char *line, size_t len, refd_ctl_cmd *out, char *err, size_t errsize)
{
	char text[REFD_CTL_LINE_MAX + 1];
	char *word, *arg;
	size_t bad, n;

	if (out == NULL) {
		return fail(err, errsize, "internal: no command to fill");
	}
	memset(out, 0, sizeof *out);
	if (line == NULL || len == 0) {
		return fail(err, errsize, "empty command (commands: %s)", COMMANDS_LIST);
	}
	if (len > REFD_CTL_LINE_MAX) {
		return fail(err, errsize, "command longer than %d bytes", REFD_CTL_LINE_MAX);
	}
	/* One line, as `echo` or `socat` would send it. */
	if (line[len - 1] == '\n') {
		len--;
		if (len > 0 && line[len - 1] == '\r') {
			len--;
		}
	}
	bad = first_unprintable(line, len);
	if (bad < len) {
		return fail(err, errsize, "byte 0x%02x at offset %zu is not printable text",
		            (unsigned char)line[bad], bad);
	}
	memcpy(text, line, len);
	text[len] = '\0';
	word = (char *)skip_blanks(text);
	n = strcspn(word, " \t");
	arg = (char *)skip_blanks(word + n);
	word[n] = '\0';
	for (size_t end = strlen(arg); end > 0 && (arg[end - 1] == ' ' || arg[end - 1] == '\t');
	     end--) {
		arg[end - 1] = '\0';
	}
	if (*word == '\0') {
		return fail(err, errsize, "empty command (commands: %s)", COMMANDS_LIST);
	}
	if (strcmp(word, "step") == 0) {
		return parse_step(arg, out, err, errsize);
	}
	if (strcmp(word, "freq") == 0) {
		return parse_freq(arg, out, err, errsize);
	}
	if (strcmp(word, "fault") == 0) {
		return parse_fault_cmd(arg, out, err, errsize);
	}
	if (strcmp(word, "status") == 0) {
		if (*arg != '\0') {
			return fail(err, errsize,
			            "status takes no arguments, got '%." WORD_SHOWN "s'", arg);
		}
		out->kind = REFD_CTL_STATUS;
		return 0;
	}
	return fail(err, errsize, "unknown command '%." WORD_SHOWN "s' (commands: %s)", word,
	            COMMANDS_LIST);
}

/* ---- carrying them out ---- */

static int
refuse(char *reply, size_t size, const char *why)
{
	snprintf(reply, size, "error: %s", why);
	return -1;
}

static void
status_line(const refd_clock *clock, const ntp_fault *fault, ntp_time real_now, char *reply,
            size_t size)
{
	char what[REFD_CTL_REPLY_MAX / 2];

	ntp_fault_format(fault, what, sizeof what);
	snprintf(reply, size,
	         "ok: clock=%s bias_s=%+.9f skew_ppm=%+.6f jumps=%u steps=%u adjusts=%u "
	         "freq_ppm=%+.3f fault=%s",
	         clock->kind == REFD_CLOCK_SYSTEM ? "system" : "virtual",
	         refd_clock_bias_at(clock, real_now), refd_clock_skew_ppm(clock), clock->jumps,
	         clock->steps, clock->adjusts, refd_clock_freq_ppm(clock), what);
}

int
refd_ctl_apply(const refd_ctl_cmd *cmd, refd_clock *clock, ntp_host *host, ntp_fault *fault,
               ntp_time real_now, char *reply, size_t replysize)
{
	char err[REFD_CTL_REPLY_MAX / 2], what[REFD_CTL_REPLY_MAX / 2];
	double was;

	if (cmd == NULL || clock == NULL || fault == NULL) {
		return refuse(reply, replysize, "internal: nothing to apply the command to");
	}
	switch (cmd->kind) {
	case REFD_CTL_STEP:
		if (refd_clock_jump(clock, real_now, cmd->value, err, sizeof err) != 0) {
			return refuse(reply, replysize, err);
		}
		snprintf(reply, replysize,
		         "ok: virtual clock stepped by %+.9f s (external jump, not through the "
		         "discipline); raw clock now %+.9f s off",
		         cmd->value, refd_clock_bias_at(clock, real_now));
		return 0;
	case REFD_CTL_FREQ:
		was = refd_clock_skew_ppm(clock);
		if (refd_clock_set_skew(clock, real_now, cmd->value, err, sizeof err) != 0) {
			return refuse(reply, replysize, err);
		}
		snprintf(reply, replysize,
		         "ok: virtual clock frequency error now %+.6f ppm (was %+.6f ppm)",
		         refd_clock_skew_ppm(clock), was);
		return 0;
	case REFD_CTL_FAULT:
		*fault = cmd->fault;
		ntp_host_set_fault(host, fault->kinds != 0 ? fault : NULL);
		snprintf(reply, replysize, "ok: fault %s%s",
		         ntp_fault_format(fault, what, sizeof what),
		         fault->kinds != 0 ? "" : " (normal service)");
		return 0;
	case REFD_CTL_STATUS:
		status_line(clock, fault, real_now, reply, replysize);
		return 0;
	default:
		snprintf(err, sizeof err, "internal: unknown command kind %d", cmd->kind);
		return refuse(reply, replysize, err);
	}
}

char *
refd_ctl_quote(const char *bytes, size_t len, char *buf, size_t size)
{
	size_t o = 0;

	if (buf == NULL || size == 0) {
		return buf;
	}
	buf[0] = '\0';
	if (size < 8) {
		return buf;
	}
	buf[o++] = '\'';
	for (size_t i = 0; bytes != NULL && i < len; i++) {
		unsigned char c = (unsigned char)bytes[i];
		int w;

		if (o + 8 >= size || o >= QUOTE_MAX) {
			snprintf(buf + o, size - o, "...");
			o += strlen(buf + o);
			break;
		}
		if (c >= 0x20 && c <= 0x7e && c != '\\' && c != '\'') {
			buf[o++] = (char)c;
			continue;
		}
		w = snprintf(buf + o, size - o, "\\x%02x", c);
		o += w > 0 ? (size_t)w : 0;
	}
	if (o + 2 <= size) {
		buf[o++] = '\'';
	}
	buf[o < size ? o : size - 1] = '\0';
	return buf;
}

/* ---- the socket ---- */

void
refd_ctl_init(refd_ctl *c)
{
	memset(c, 0, sizeof *c);
	c->fd = -1;
}

/* Does a process read the socket at sa?  1 yes, 0 no (stale), -1 cannot
 * tell (err says why). */
static int
socket_in_use(const struct sockaddr_un *sa, char *err, size_t errsize)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc;

	if (fd < 0) {
		return fail(err, errsize, "socket(AF_UNIX): %s", strerror(errno));
	}
	rc = connect(fd, (const struct sockaddr *)sa, sizeof *sa);
	if (rc == 0) {
		close(fd);
		return 1;
	}
	rc = errno == ECONNREFUSED ? 0 : -1;
	if (rc < 0) {
		fail(err, errsize, "cannot tell whether the socket is in use: %s", strerror(errno));
	}
	close(fd);
	return rc;
}

static int
clear_path(const char *path, const struct sockaddr_un *sa, char *err, size_t errsize)
{
	struct stat st;
	char why[256];
	int used;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT) {
			return 0;
		}
		return fail(err, errsize, "--ctl %s: %s", path, strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode)) {
		return fail(err, errsize,
		            "--ctl %s: exists and is not a socket; refusing to replace it", path);
	}
	used = socket_in_use(sa, why, sizeof why);
	if (used != 0) {
		return fail(err, errsize, "--ctl %s: %s", path,
		            used > 0 ? "a process is reading this socket (another refd?)" : why);
	}
	if (unlink(path) != 0) {
		return fail(err, errsize, "--ctl %s: cannot remove the stale socket: %s", path,
		            strerror(errno));
	}
	return 0;
}

/* path made absolute, since a detaching refd changes to "/" before it
 * removes the socket at exit.  "" when the directory cannot be named: the
 * socket then stays behind (and the next start replaces it as stale). */
static void
absolute_path(const char *path, char *out, size_t size)
{
	char cwd[REFD_CTL_ABS_MAX];
	int n;

	out[0] = '\0';
	if (path[0] == '/') {
		n = snprintf(out, size, "%s", path);
	} else if (getcwd(cwd, sizeof cwd) != NULL) {
		n = snprintf(out, size, "%s/%s", cwd, path);
	} else {
		return;
	}
	if (n < 0 || (size_t)n >= size) {
		out[0] = '\0';
	}
}

int
refd_ctl_open(refd_ctl *c, const char *path, char *err, size_t errsize)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int fd, rc;

	refd_ctl_init(c);
	if (path == NULL || path[0] == '\0') {
		return fail(err, errsize, "--ctl: empty path");
	}
	if (strlen(path) >= sizeof sa.sun_path) {
		return fail(err, errsize, "--ctl %s: longer than %zu bytes (a socket path limit)",
		            path, sizeof sa.sun_path - 1);
	}
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (clear_path(path, &sa, err, errsize) != 0) {
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return fail(err, errsize, "--ctl %s: socket: %s", path, strerror(errno));
	}
	old = umask(SOCKET_UMASK);
	rc = bind(fd, (const struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (rc != 0 || chmod(path, SOCKET_MODE) != 0 || stat(path, &st) != 0) {
		fail(err, errsize, "--ctl %s: %s: %s", path, rc != 0 ? "bind" : "chmod",
		     strerror(errno));
		if (rc == 0) {
			unlink(path);
		}
		close(fd);
		return -1;
	}
	c->fd = fd;
	absolute_path(path, c->path, sizeof c->path);
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	return 0;
}

void
refd_ctl_close(refd_ctl *c)
{
	struct stat st;

	if (c->fd >= 0) {
		close(c->fd);
	}
	/* Someone may have put another file there since: leave it alone. */
	if (c->path[0] != '\0' && lstat(c->path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == c->dev && st.st_ino == c->ino) {
		unlink(c->path);
	}
	refd_ctl_init(c);
}

ssize_t
refd_ctl_recv(refd_ctl *c, char *buf, size_t size, refd_ctl_peer *from)
{
	ssize_t n;

	if (c->fd < 0) {
		return -1;
	}
	memset(from, 0, sizeof *from);
	from->len = sizeof from->addr;
	do {
		n = recvfrom(c->fd, buf, size, 0, (struct sockaddr *)&from->addr, &from->len);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : n;
}

int
refd_ctl_send(refd_ctl *c, const refd_ctl_peer *to, const char *text)
{
	/* An unbound sender has no address to answer to. */
	if (c->fd < 0 || to->len <= (socklen_t)offsetof(struct sockaddr_un, sun_path)) {
		return -1;
	}
	if (sendto(c->fd, text, strlen(text), MSG_DONTWAIT, (const struct sockaddr *)&to->addr,
	           to->len) < 0) {
		return -1;
	}
	return 0;
}
