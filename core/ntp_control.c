/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_control: read-only NTP mode 6 (RFC 9327) for ntpq.  See ntp_control.h.
 *
 * The shapes of the replies were measured against ntpd ntpsec-1.2.2 with
 * ntpq 1.2.2 (tests/data/control/): variables are "name=value" items joined
 * by ", ", a line break "\r\n" is put in place of the space when the next
 * item would reach column 72, and the text ends in "\r\n"; times are
 * "0x%08x.%08x" NTP timestamps, delays and offsets are milliseconds,
 * frequencies ppm, the peer reach register is hex.
 */
#include "ntp_control.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntp_const.h"
#include "ntp_disc.h"
#include "ntp_restrict.h"

#define VERSION_MIN        1               /* oldest version answered, ntpd NTP_OLDVERSION */
#define VERSION_MAX        NTP_VERSION_CUR /* newest version answered, ntpd NTP_VERSION */
#define MODE_CONTROL       6               /* RFC 5905 §7.3 */
#define BIT_RESPONSE       0x80            /* R bit, RFC 9327 §2 */
#define BIT_ERROR          0x40            /* E bit */
#define BIT_MORE           0x20            /* M bit */
#define OP_MASK            0x1f            /* opcode bits */
#define LINE_COLUMNS       72              /* chars, ntpd MAXDATALINELEN: where a "\r\n" goes */
#define PAYLOAD_MAX        (NTP_CONTROL_MAX_FRAGS * NTP_CONTROL_MAX_DATA) /* bytes per reply */
#define ITEM_MAX           512   /* bytes of one value, e.g. peer_var_list (ours) */
#define NAME_MAX_LEN       32    /* bytes of a requested variable name (ours) */
#define ASSOC_MAX          65535 /* association ids are 16 bits on the wire */
#define VALUE_LIMIT        1e12  /* |value| printed; keeps every item within ITEM_MAX (ours) */
#define LOCAL_REFCLOCK_NET "127.127.1." /* ntpd's address for the LOCAL(u) driver */
#define UNKNOWN_STRING     "unknown"    /* "processor" and "system": a pure core has no uname() */

/* Association modes for hmode/pmode (RFC 5905 §3). */
#define HMODE_ACTIVE 1
#define HMODE_CLIENT 3
#define HMODE_SERVER 4

/* The reply being built: data bytes of every fragment back to back, and
 * the column the text has reached on its current line. */
typedef struct payload {
	uint8_t b[PAYLOAD_MAX];
	size_t len;
	size_t column;
	bool truncated;
} payload;

/* Everything a variable formatter may read. */
typedef struct view {
	const ntp_sys_info *sys;
	const ntp_peer_info *peers;
	size_t n_peers;
	const ntp_peer_info *peer; /* the association asked about, or NULL */
	ntp_time now;
} view;

/* A variable: its name and a formatter that writes the value (without
 * the name) or returns false when this host has no value for it. */
typedef bool (*var_format)(const view *v, char *val, size_t size);

typedef struct var {
	const char *name;
	var_format format; /* NULL: a plain field of ntp_sys_info, below */
	bool listed;       /* part of the reply when no variables are asked for */
	uint8_t type;      /* enum field_type, when format is NULL */
	size_t off;        /* offsetof(ntp_sys_info, the field) */
} var;

/* How a plain field of the system snapshot is printed (ntpd ctl_putuint,
 * ctl_putdbl, ctl_putdblf and ctl_putsfp). */
enum field_type {
	F_U32 = 1, /* uint32_t counter */
	F_UINT,    /* unsigned counter */
	F_SIZE,    /* size_t count */
	F_INT,     /* int */
	F_SECS,    /* double s, as whole seconds (ntpd's uptimes and ages) */
	F_MS,      /* double s, as ms with 3 decimals (ctl_putdbl) */
	F_MS_G,    /* double s, as ms "%g" (ctl_putdblf false, -1) */
	F_G,       /* double as "%g" (ctl_putsfp) */
	F_IO,      /* uint64_t of the driver's I/O counters: only when it has them */
	F_ZERO,    /* what ntplab has none of: NTS, PPS (an honest 0) */
	F_TS,      /* ntp_ts64, as ntpd's ctl_putts: 0xSSSSSSSS.FFFFFFFF */
	F_I8,      /* int8_t (log2 s: precision) */
	F_U8,      /* uint8_t */
	F_U16,     /* uint16_t */
};
#define F_OF_PEER 0x80 /* type flag: the field is ntp_peer_info's, not ntp_sys_info's */

#define FIELD(name, type, member)                                                                  \
	{                                                                                          \
		name, NULL, false, type, offsetof(ntp_sys_info, member)                            \
	}
#define PEER_FIELD(name, type, member, listed)                                                     \
	{                                                                                          \
		name, NULL, listed, (type) | F_OF_PEER, offsetof(ntp_peer_info, member)            \
	}
#define NOTHING(name)                                                                              \
	{                                                                                          \
		name, NULL, false, F_ZERO, 0                                                       \
	}

/* ---- small helpers ---- */

static void say(char *reason, size_t size, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
say(char *reason, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (reason == NULL || size == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(reason, size, fmt, ap);
	va_end(ap);
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static double
clamp_value(double x)
{
	if (isnan(x)) {
		return 0.0;
	}
	if (x > VALUE_LIMIT) {
		return VALUE_LIMIT;
	}
	if (x < -VALUE_LIMIT) {
		return -VALUE_LIMIT;
	}
	return x;
}

/* A string ntpq can carry in a value: no separators, quotes or controls. */
static void
copy_safe(char *dst, size_t size, const char *src, size_t max_src)
{
	size_t n = 0;

	for (size_t i = 0; i < max_src && src[i] != '\0' && n + 1 < size; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[n++] =
		        (c > ' ' && c < 0x7f && c != ',' && c != '"' && c != '=') ? (char)c : '?';
	}
	dst[n] = '\0';
}

static bool
put_ts(char *val, size_t size, ntp_ts64 t)
{
	snprintf(val, size, "0x%08x.%08x", (unsigned)ntp_ts_seconds(t),
	         (unsigned)ntp_ts_fraction(t));
	return true;
}

static bool
put_fixed(char *val, size_t size, int decimals, double x)
{
	snprintf(val, size, "%.*f", decimals, clamp_value(x));
	return true;
}

/* ---- status words ---- */

static const ntp_peer_info *
find_peer(const ntp_peer_info *peers, size_t n, int assoc)
{
	if (assoc <= 0 || peers == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (peers[i].assoc == assoc) {
			return &peers[i];
		}
	}
	return NULL;
}

/* The last system event, as far as a snapshot tells it: the discipline
 * state names the event that put it there (ntpd rstclock() reports
 * exactly these), and a host that lost its system peer reports
 * no_sys_peer.  Before the first update, ntpd's last event is restart. */
static unsigned
sys_last_event(const ntp_sys_info *sys)
{
	switch (sys->disc_state) {
	case NTP_DISC_FSET:
		return NTP_EVNT_FSET;
	case NTP_DISC_SPIK:
		return sys->sys_peer == 0 ? NTP_EVNT_NOPEER : NTP_EVNT_SPIK;
	case NTP_DISC_FREQ:
		return sys->sys_peer == 0 ? NTP_EVNT_NOPEER : NTP_EVNT_FREQ;
	case NTP_DISC_SYNC:
		return sys->sys_peer == 0 ? NTP_EVNT_NOPEER : NTP_EVNT_SYNC;
	default: /* NTP_DISC_NSET: no update yet */
		return NTP_EVNT_RESTART;
	}
}

uint16_t
ntp_control_sys_status(const ntp_sys_info *sys, const ntp_peer_info *peers, size_t n_peers)
{
	const ntp_peer_info *p;
	unsigned source = NTP_CTL_SST_UNSPEC;
	unsigned event;

	if (sys == NULL) {
		return 0;
	}
	if (sys->sys_peer != 0) {
		p = find_peer(peers, n_peers, sys->sys_peer);
		source = (p != NULL && p->type == 'l') ? NTP_CTL_SST_LOCAL : NTP_CTL_SST_NTP;
	}
	event = sys_last_event(sys);
	/* One event counted, as ntpd showed in every capture; the snapshot
	 * has no event history to count more. */
	return (uint16_t)((unsigned)(sys->leap & 3u) << 14 | source << 8 | 1u << 4 | event);
}

/* The association's status word as the host keeps it (host_peer_status_word:
 * select code, config and reach bits, event count and last event), so ntpq
 * and peerstats show one value. */
uint16_t
ntp_control_peer_status(const ntp_peer_info *p)
{
	return p != NULL ? p->status : 0;
}

/* ---- system variables (ntpd ctl_putsys) ---- */

static bool
sys_leap(const view *v, char *val, size_t size)
{
	snprintf(val, size, "%u", (unsigned)(v->sys->leap & 3u));
	return true;
}

static bool
sys_stratum(const view *v, char *val, size_t size)
{
	snprintf(val, size, "%u", (unsigned)v->sys->stratum);
	return true;
}

static bool
sys_precision(const view *v, char *val, size_t size)
{
	snprintf(val, size, "%d", (int)v->sys->precision);
	return true;
}

static bool
sys_rootdelay(const view *v, char *val, size_t size)
{
	return put_fixed(val, size, 3, v->sys->rootdelay * 1e3);
}

static bool
sys_rootdisp(const view *v, char *val, size_t size)
{
	return put_fixed(val, size, 3, v->sys->rootdisp * 1e3);
}

/* LOCAL(u) has no socket address: ntpd shows 127.127.1.u. */
static void
local_clock_addr(const char *name, char *val, size_t size)
{
	unsigned unit = 0;
	const char *d = name + 6; /* after "LOCAL(" */

	if (strncmp(name, "LOCAL(", 6) == 0) {
		while (*d >= '0' && *d <= '9' && unit < 256) {
			unit = unit * 10 + (unsigned)(*d++ - '0');
		}
	}
	snprintf(val, size, "%s%u", LOCAL_REFCLOCK_NET, unit % 256);
}

/* What ntpd serves for a refid ntpq shows: ".LOCL." -> "LOCL" (ntpq adds
 * the dots), "LOCAL(0)" -> 127.127.1.0, an address as it is. */
static void
wire_refid(const char *shown, char *val, size_t size)
{
	size_t n = strnlen(shown, 16);

	if (strncmp(shown, "LOCAL(", 6) == 0) {
		local_clock_addr(shown, val, size);
	} else if (n >= 2 && shown[0] == '.' && shown[n - 1] == '.') {
		copy_safe(val, size, shown + 1, n - 2);
	} else {
		copy_safe(val, size, shown, n);
	}
}

/* The host's refid as its clients' ntpq shows it (one formatter,
 * ntp_pkt_refid_assoc_format), served as ntpd's ctl_putrefid does. */
static bool
sys_refid(const view *v, char *val, size_t size)
{
	char shown[16];

	ntp_pkt_refid_assoc_format(v->sys->refid, v->sys->stratum, shown, sizeof shown);
	wire_refid(shown, val, size);
	return true;
}

static bool
sys_reftime(const view *v, char *val, size_t size)
{
	return put_ts(val, size, v->sys->reftime);
}

static bool
sys_tc(const view *v, char *val, size_t size)
{
	snprintf(val, size, "%d", (int)v->sys->poll);
	return true;
}

static bool
sys_peer(const view *v, char *val, size_t size)
{
	snprintf(val, size, "%d", v->sys->sys_peer);
	return true;
}

static bool
sys_offset(const view *v, char *val, size_t size)
{
	return put_fixed(val, size, 6, v->sys->offset * 1e3);
}

static bool
sys_frequency(const view *v, char *val, size_t size)
{
	return put_fixed(val, size, 6, v->sys->freq_ppm);
}

static bool
sys_sys_jitter(const view *v, char *val, size_t size)
{
	return put_fixed(val, size, 6, v->sys->sys_jitter * 1e3);
}

static bool
sys_clk_jitter(const view *v, char *val, size_t size)
{
	return put_fixed(val, size, 6, v->sys->clk_jitter * 1e3);
}

static bool
sys_clock(const view *v, char *val, size_t size)
{
	return put_ts(val, size, ntp_ts_from_unix_ns(v->now));
}

static bool
sys_unknown_string(const view *v, char *val, size_t size)
{
	(void)v;
	snprintf(val, size, "\"%s\"", UNKNOWN_STRING);
	return true;
}

static bool
sys_version(const view *v, char *val, size_t size)
{
	(void)v;
	snprintf(val, size, "\"ntplab %s\"", NTPLAB_VERSION);
	return true;
}

static bool
sys_clk_wander(const view *v, char *val, size_t size)
{
	return put_fixed(val, size, 6, v->sys->clk_wander);
}

/* ntpq sysinfo's system peer: "addr:port", "0.0.0.0:0" without one. */
static bool
sys_peeradr(const view *v, char *val, size_t size)
{
	char name[48];

	if (v->sys->peer_addr.family == NTP_AF_NONE) {
		snprintf(val, size, "0.0.0.0:0");
		return true;
	}
	ntp_addr_format(&v->sys->peer_addr, name, sizeof name);
	snprintf(val, size, "%s:%u", name, (unsigned)v->sys->peer_addr.port);
	return true;
}

/* The kernel status word as ntpd's k_st_flags() spells it. */
static bool
sys_kstflags(const view *v, char *val, size_t size)
{
	static const struct {
		int bit;
		const char *name;
	} bits[] = {
	        {NTP_KERNEL_STA_PLL, "pll"},       {NTP_KERNEL_STA_FLL, "fll"},
	        {NTP_KERNEL_STA_INS, "ins"},       {NTP_KERNEL_STA_DEL, "del"},
	        {NTP_KERNEL_STA_UNSYNC, "unsync"}, {NTP_KERNEL_STA_FREQHOLD, "freqhold"},
	        {NTP_KERNEL_STA_NANO, "nano"},     {NTP_KERNEL_STA_MODE, "mode=fll"},
	};
	size_t used;

	snprintf(val, size, "\"");
	for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++) {
		if (v->sys->kern.status & bits[i].bit) {
			used = strlen(val);
			snprintf(val + used, size - used, "%s%s", used > 1 ? " " : "",
			         bits[i].name);
		}
	}
	used = strlen(val);
	snprintf(val + used, size - used, "\"");
	return true;
}

static bool sys_var_list(const view *v, char *val, size_t size);

/* In ntpd ntpsec-1.2.2's default order ("mintc" left out: not in the
 * snapshot). */
static const var SYS_VARS[] = {
        {"leap", sys_leap, true, 0, 0},
        {"stratum", sys_stratum, true, 0, 0},
        {"precision", sys_precision, true, 0, 0},
        {"rootdelay", sys_rootdelay, true, 0, 0},
        {"rootdisp", sys_rootdisp, true, 0, 0},
        {"refid", sys_refid, true, 0, 0},
        {"reftime", sys_reftime, true, 0, 0},
        {"tc", sys_tc, true, 0, 0},
        {"peer", sys_peer, true, 0, 0},
        {"offset", sys_offset, true, 0, 0},
        {"frequency", sys_frequency, true, 0, 0},
        {"sys_jitter", sys_sys_jitter, true, 0, 0},
        {"clk_jitter", sys_clk_jitter, true, 0, 0},
        {"clock", sys_clock, true, 0, 0},
        {"processor", sys_unknown_string, true, 0, 0},
        {"system", sys_unknown_string, true, 0, 0},
        {"version", sys_version, true, 0, 0},
        {"clk_wander", sys_clk_wander, true, 0, 0},
        {"sys_var_list", sys_var_list, false, 0, 0},
};

#define N_SYS_VARS (sizeof SYS_VARS / sizeof SYS_VARS[0])

/* The variables of ntpq sysinfo, sysstats, iostats, monstats, kerninfo,
 * authinfo, timerstats and ntsinfo (ntpd ctl_putsys, NTPsec 1.2.2 names;
 * never in the default list).  ntplab never resets its counters: the
 * "_r" (since reset) values are the totals and every reset time is the
 * uptime. */
static const var STAT_VARS[] = {
        {"peeradr", sys_peeradr, false, 0, 0},
        FIELD("peermode", F_INT, peer_mode),
        FIELD("rootdist", F_MS, rootdist),
        NOTHING("authdelay"),
        FIELD("ss_uptime", F_SECS, uptime),
        FIELD("ss_numctlreq", F_U32, stats.ctlreq),
        FIELD("ss_reset", F_SECS, uptime),
        FIELD("ss_reset_r", F_SECS, uptime),
        FIELD("ss_received", F_U32, stats.received),
        FIELD("ss_received_r", F_U32, stats.received),
        FIELD("ss_thisver", F_U32, stats.thisver),
        FIELD("ss_thisver_r", F_U32, stats.thisver),
        FIELD("ss_oldver", F_U32, stats.oldver),
        FIELD("ss_oldver_r", F_U32, stats.oldver),
        FIELD("ss_ver1", F_U32, stats.ver1),
        FIELD("ss_ver1_r", F_U32, stats.ver1),
        FIELD("ss_ver1client", F_U32, stats.ver1client),
        FIELD("ss_ver1client_r", F_U32, stats.ver1client),
        FIELD("ss_ver1zero", F_U32, stats.ver1zero),
        FIELD("ss_ver1zero_r", F_U32, stats.ver1zero),
        FIELD("ss_ver1symm", F_U32, stats.ver1symm),
        FIELD("ss_ver1symm_r", F_U32, stats.ver1symm),
        FIELD("ss_badformat", F_U32, stats.badformat),
        FIELD("ss_badformat_r", F_U32, stats.badformat),
        FIELD("ss_badauth", F_U32, stats.badauth),
        FIELD("ss_badauth_r", F_U32, stats.badauth),
        FIELD("ss_declined", F_U32, stats.declined),
        FIELD("ss_declined_r", F_U32, stats.declined),
        FIELD("ss_restricted", F_UINT, dropped_restrict),
        FIELD("ss_restricted_r", F_UINT, dropped_restrict),
        FIELD("ss_limited", F_UINT, dropped_rate),
        FIELD("ss_limited_r", F_UINT, dropped_rate),
        FIELD("ss_kodsent", F_UINT, kod_sent),
        FIELD("ss_kodsent_r", F_UINT, kod_sent),
        FIELD("ss_processed", F_U32, stats.processed),
        FIELD("ss_processed_r", F_U32, stats.processed),
        FIELD("iostats_reset", F_SECS, uptime),
        FIELD("total_rbuf", F_IO, io.rx_buffers),
        FIELD("free_rbuf", F_IO, io.rx_buffers), /* all free between batches */
        NOTHING("used_rbuf"),                    /* ... so none in use */
        NOTHING("rbuf_lowater"),                 /* a fixed batch is never refilled */
        FIELD("io_dropped", F_UINT, dropped_bad),
        FIELD("io_ignored", F_U32, stats.ignored),
        FIELD("io_received", F_U32, stats.received),
        FIELD("io_sent", F_U32, stats.sent),
        FIELD("io_sendfailed", F_IO, io.send_failed),
        FIELD("io_wakeups", F_IO, io.wakeups),
        FIELD("io_goodwakeups", F_IO, io.good_wakeups),
        FIELD("timerstats_reset", F_SECS, uptime),
        FIELD("timer_overruns", F_IO, io.timer_overruns),
        FIELD("timer_xmts", F_U32, xmits),
        FIELD("mru_enabled", F_INT, mru.enabled),
        FIELD("mru_hashslots", F_SIZE, mru.hashslots),
        FIELD("mru_depth", F_SIZE, mru.entries),
        FIELD("mru_deepest", F_SIZE, mru.deepest),
        FIELD("mru_maxdepth", F_SIZE, mru.cap),
        FIELD("mru_mindepth", F_SIZE, mru.mindepth),
        FIELD("mru_maxage", F_INT, mru.maxage),
        FIELD("mru_minage", F_INT, mru.minage),
        FIELD("mru_mem", F_SIZE, mru.mem_kib),
        FIELD("mru_maxmem", F_SIZE, mru.maxmem_kib),
        FIELD("mru_exists", F_UINT, mru.exists),
        FIELD("mru_new", F_UINT, mru.fresh),
        FIELD("mru_recycleold", F_UINT, mru.recycle_old),
        FIELD("mru_recyclefull", F_UINT, mru.recycle_full),
        FIELD("mru_none", F_UINT, mru.none),
        FIELD("mru_oldest_age", F_SECS, mru.oldest_age),
        FIELD("authreset", F_SECS, uptime),
        FIELD("authkeys", F_SIZE, auth_keys),
        NOTHING("authfreek"), /* the host's key table holds exactly the keys loaded */
        FIELD("authklookups", F_U32, stats.auth_lookups),
        FIELD("authknotfound", F_U32, stats.auth_notfound),
        FIELD("authencrypts", F_U32, auth_encrypts),
        FIELD("authdigestencrypts", F_U32, stats.auth_digest_encrypts),
        FIELD("authcmacencrypts", F_U32, stats.auth_cmac_encrypts),
        FIELD("authdecrypts", F_U32, auth_decrypts),
        FIELD("authdigestdecrypts", F_U32, stats.auth_digest_decrypts),
        FIELD("authdigestfails", F_U32, stats.auth_digest_fails),
        FIELD("authcmacdecrypts", F_U32, stats.auth_cmac_decrypts),
        FIELD("authcmacfails", F_U32, stats.auth_cmac_fails),
        FIELD("koffset", F_MS_G, kern.offset_s),
        FIELD("kfreq", F_G, kern.freq_ppm),
        FIELD("kmaxerr", F_MS_G, kern.maxerror_s),
        FIELD("kesterr", F_MS_G, kern.esterror_s),
        {"kstflags", sys_kstflags, false, 0, 0},
        FIELD("ktimeconst", F_INT, kern.constant),
        FIELD("kprecis", F_MS_G, kern.precision_s),
        FIELD("kfreqtol", F_G, kern.tolerance_ppm),
        NOTHING("kppsfreq"),
        NOTHING("kppsstab"),
        NOTHING("kppsjitter"),
        NOTHING("kppscalibdur"),
        NOTHING("kppscalibs"),
        NOTHING("kppsjitexc"),
        NOTHING("kppsstbexc"),
        NOTHING("kppscaliberrs"),
        NOTHING("nts_client_send"),
        NOTHING("nts_client_recv_good"),
        NOTHING("nts_client_recv_bad"),
        NOTHING("nts_server_recv_good"),
        NOTHING("nts_server_recv_bad"),
        NOTHING("nts_server_send"),
        NOTHING("nts_cookie_make"),
        NOTHING("nts_cookie_decode"),
        NOTHING("nts_cookie_decode_old"),
        NOTHING("nts_cookie_decode_old2"),
        NOTHING("nts_cookie_decode_older"),
        NOTHING("nts_cookie_decode_too_old"),
        NOTHING("nts_cookie_decode_error"),
        NOTHING("nts_ke_probes_good"),
        NOTHING("nts_ke_probes_bad"),
        NOTHING("nts_ke_serves_good"),
        NOTHING("nts_ke_serves_bad"),
};

#define N_STAT_VARS (sizeof STAT_VARS / sizeof STAT_VARS[0])

/* Print a FIELD; false when the host has no value for it. */
static bool
field_format(const var *x, const view *v, char *val, size_t size)
{
	const unsigned char *base = (x->type & F_OF_PEER) ? (const unsigned char *)v->peer
	                                                  : (const unsigned char *)v->sys;
	const unsigned char *f = base + x->off;
	uint64_t u64;
	uint32_t u32;
	unsigned u;
	size_t z;
	int i;
	double d;

	switch (x->type & ~F_OF_PEER) {
	case F_IO:
		if (!v->sys->have_io) {
			return false;
		}
		memcpy(&u64, f, sizeof u64);
		snprintf(val, size, "%" PRIu64, u64);
		return true;
	case F_U32:
		memcpy(&u32, f, sizeof u32);
		snprintf(val, size, "%" PRIu32, u32);
		return true;
	case F_UINT:
		memcpy(&u, f, sizeof u);
		snprintf(val, size, "%u", u);
		return true;
	case F_SIZE:
		memcpy(&z, f, sizeof z);
		snprintf(val, size, "%zu", z);
		return true;
	case F_INT:
		memcpy(&i, f, sizeof i);
		snprintf(val, size, "%d", i);
		return true;
	case F_ZERO:
		snprintf(val, size, "0");
		return true;
	case F_TS: {
		ntp_ts64 ts;

		memcpy(&ts, f, sizeof ts);
		return put_ts(val, size, ts);
	}
	case F_I8:
		snprintf(val, size, "%d", (int)*(const int8_t *)f);
		return true;
	case F_U8:
		snprintf(val, size, "%u", (unsigned)*f);
		return true;
	case F_U16: {
		uint16_t u16;

		memcpy(&u16, f, sizeof u16);
		snprintf(val, size, "%u", (unsigned)u16);
		return true;
	}
	default:
		break;
	}
	memcpy(&d, f, sizeof d);
	d = clamp_value(d);
	switch (x->type & ~F_OF_PEER) {
	case F_SECS:
		snprintf(val, size, "%.0f", d > 0.0 ? floor(d) : 0.0);
		return true;
	case F_MS:
		return put_fixed(val, size, 3, d * 1e3);
	case F_MS_G:
		snprintf(val, size, "%g", d * 1e3);
		return true;
	case F_G:
		snprintf(val, size, "%g", d);
		return true;
	default:
		return false;
	}
}

static bool
list_names(const var *vars, size_t n, char *val, size_t size)
{
	size_t used;

	snprintf(val, size, "\"");
	for (size_t i = 0; i < n; i++) {
		used = strlen(val);
		snprintf(val + used, size - used, "%s%s", i > 0 ? "," : "", vars[i].name);
	}
	used = strlen(val);
	snprintf(val + used, size - used, "\"");
	return true;
}

static bool
sys_var_list(const view *v, char *val, size_t size)
{
	(void)v;
	return list_names(SYS_VARS, N_SYS_VARS, val, size);
}

/* ---- peer variables (ntpd ctl_putpeer) ---- */

static bool
is_local_clock(const ntp_peer_info *p)
{
	return p->type == 'l' || strncmp(p->remote, "LOCAL(", 6) == 0;
}

static bool
peer_srcadr(const view *v, char *val, size_t size)
{
	const ntp_peer_info *p = v->peer;
	char text[48];

	if (p->addr.family != NTP_AF_INET && p->addr.family != NTP_AF_INET6) {
		if (is_local_clock(p)) {
			local_clock_addr(p->remote, val, size);
		} else {
			snprintf(val, size, "0.0.0.0");
		}
		return true;
	}
	ntp_addr_format(&p->addr, text, sizeof text);
	copy_safe(val, size, text, sizeof text);
	return true;
}

/* Our address on the path (ntpd's dstadr: the interface the association's
 * packets come in on); 0.0.0.0 before the first, as ntpd shows no interface. */
static bool
peer_dstadr(const view *v, char *val, size_t size)
{
	char text[48];
	ntp_addr local = v->peer->local;

	if (local.family != NTP_AF_INET && local.family != NTP_AF_INET6) {
		snprintf(val, size, "0.0.0.0");
		return true;
	}
	local.port = 0;
	ntp_addr_format(&local, text, sizeof text);
	copy_safe(val, size, text, sizeof text);
	return true;
}

/* A port as ntpd shows it: 0 (not set) is NTP's own. */
static bool
put_port(char *val, size_t size, uint16_t port)
{
	snprintf(val, size, "%u", (unsigned)(port != 0 ? port : NTP_PORT));
	return true;
}

/* Our port on the path: the association's own client port, else NTP's. */
static bool
peer_dstport(const view *v, char *val, size_t size)
{
	return put_port(val, size, v->peer->local_port);
}

/* NTPsec shows -1 for an association that is not NTS. */
static bool
peer_ntscookies(const view *v, char *val, size_t size)
{
	(void)v;
	snprintf(val, size, "-1");
	return true;
}

/* ntpd's candidate: the select code of the status word (ntpd p->status). */
static bool
peer_candidate(const view *v, char *val, size_t size)
{
	snprintf(val, size, "%u", (unsigned)(v->peer->status >> 8) & 7u);
	return true;
}

static bool
peer_srcport(const view *v, char *val, size_t size)
{
	return put_port(val, size, v->peer->addr.port);
}

static bool
peer_leap(const view *v, char *val, size_t size)
{
	snprintf(val, size, "%u", (unsigned)(v->peer->leap & 3u));
	return true;
}

static int
host_mode(const ntp_peer_info *p)
{
	return p->type == 's' ? HMODE_ACTIVE : HMODE_CLIENT;
}

static bool
peer_hmode(const view *v, char *val, size_t size)
{
	snprintf(val, size, "%d", host_mode(v->peer));
	return true;
}

/* The snapshot has one poll exponent; it stands for the peer's (ppoll)
 * and ours (hpoll), whose minimum is ntpq's poll column. */
static bool
peer_poll(const view *v, char *val, size_t size)
{
	snprintf(val, size, "%d", (int)v->peer->poll);
	return true;
}

static bool
peer_refid(const view *v, char *val, size_t size)
{
	wire_refid(v->peer->refid, val, size);
	return true;
}

/* ntpq's "when" column is now - rec. */
static bool
peer_rec(const view *v, char *val, size_t size)
{
	double when = v->peer->when;

	if (!(when >= 0.0)) {
		return put_ts(val, size, 0);
	}
	if (when > (double)INT32_MAX) {
		when = (double)INT32_MAX;
	}
	return put_ts(val, size,
	              ntp_ts_from_unix_ns(ntp_time_add_sat(v->now, -ntp_time_from_s(when))));
}

static bool
peer_reach(const view *v, char *val, size_t size)
{
	snprintf(val, size, "0x%x", (unsigned)v->peer->reach);
	return true;
}

static bool
peer_delay(const view *v, char *val, size_t size)
{
	return put_fixed(val, size, 6, v->peer->delay * 1e3);
}

static bool
peer_offset(const view *v, char *val, size_t size)
{
	return put_fixed(val, size, 6, v->peer->offset * 1e3);
}

static bool
peer_jitter(const view *v, char *val, size_t size)
{
	return put_fixed(val, size, 6, v->peer->jitter * 1e3);
}

static bool
peer_dispersion(const view *v, char *val, size_t size)
{
	return put_fixed(val, size, 6, v->peer->disp * 1e3);
}

/* A client's peer is a server; a symmetric peer's mode is not in the
 * snapshot. */
static bool
peer_pmode(const view *v, char *val, size_t size)
{
	if (host_mode(v->peer) != HMODE_CLIENT) {
		return false;
	}
	snprintf(val, size, "%d", HMODE_SERVER);
	return true;
}

/* ntpq recognises a reference clock by a '(' in srchost. */
static bool
peer_srchost(const view *v, char *val, size_t size)
{
	char name[sizeof v->peer->remote];
	char addr[48];

	if (!is_local_clock(v->peer)) {
		return false;
	}
	copy_safe(name, sizeof name, v->peer->remote, sizeof v->peer->remote);
	if (peer_srcadr(v, addr, sizeof addr) && strcmp(name, addr) == 0) {
		return false;
	}
	snprintf(val, size, "\"%s\"", name);
	return true;
}

/* ntpd's ctl_puthex: the TEST bits that failed on the last packet. */
static bool
peer_flash(const view *v, char *val, size_t size)
{
	snprintf(val, size, "0x%x", (unsigned)v->peer->flash);
	return true;
}

/* ntpd 4.2.8's ctl_putarray: the eight stages newest first, in ms with
 * two decimals, each after a blank ("filtdelay= 0.43 0.41 ..."). */
static bool
put_stages(char *val, size_t size, const double *stage_s)
{
	size_t len = 0;

	val[0] = '\0';
	for (int i = 0; i < NTP_NSTAGE && len < size; i++) {
		int n = snprintf(val + len, size - len, " %.2f", clamp_value(stage_s[i] * 1e3));

		if (n < 0) {
			return false;
		}
		len += (size_t)n;
	}
	return len < size;
}

static bool
peer_filtdelay(const view *v, char *val, size_t size)
{
	return put_stages(val, size, v->peer->filt_delay);
}

static bool
peer_filtoffset(const view *v, char *val, size_t size)
{
	return put_stages(val, size, v->peer->filt_offset);
}

static bool
peer_filtdisp(const view *v, char *val, size_t size)
{
	return put_stages(val, size, v->peer->filt_disp);
}

/* A reason text as one quoted ntpq value: a comma would end the value in
 * ntpq's parser and a double quote would end the string. */
static char
reason_char(unsigned char c)
{
	if (c == ',') {
		return ';';
	}
	if (c == '"') {
		return '\'';
	}
	return (c >= ' ' && c < 0x7f) ? (char)c : '?';
}

/* ntplab's own variable: why the association has its tally (a packet
 * test's or the selection's reason, the words ntpsim reports), so that a
 * real run reads the core's reason instead of inferring it.  Not in the
 * default list: a plain "rv" stays what ntpd sends. */
static bool
peer_reason(const view *v, char *val, size_t size)
{
	char text[NTP_REASON_MAX];
	size_t n = 0;

	while (n < sizeof v->peer->reason && n + 1 < sizeof text && v->peer->reason[n] != '\0') {
		text[n] = reason_char((unsigned char)v->peer->reason[n]);
		n++;
	}
	text[n] = '\0';
	if (n == 0) {
		return false;
	}
	snprintf(val, size, "\"%s\"", text);
	return true;
}

static bool peer_var_list(const view *v, char *val, size_t size);

/* ntpd's default peer list, less what the snapshot lacks (dstadr,
 * dstport, precision, rootdelay, rootdisp, reftime, xmt, unreach, keyid,
 * headway), plus the packet counters. */
static const var PEER_VARS[] = {
        /* listed: ntpd's def_peer_var, in its order (ntpq rv ASSOC) */
        {"srcadr", peer_srcadr, true, 0, 0},
        {"srcport", peer_srcport, true, 0, 0},
        {"dstadr", peer_dstadr, true, 0, 0},
        {"dstport", peer_dstport, true, 0, 0},
        {"leap", peer_leap, true, 0, 0},
        {"hmode", peer_hmode, true, 0, 0},
        PEER_FIELD("stratum", F_U8, stratum, true),
        {"ppoll", peer_poll, true, 0, 0},
        {"hpoll", peer_poll, true, 0, 0},
        PEER_FIELD("precision", F_I8, precision, true),
        PEER_FIELD("rootdelay", F_MS, rootdelay, true),
        PEER_FIELD("rootdisp", F_MS, rootdisp, true),
        {"refid", peer_refid, true, 0, 0},
        PEER_FIELD("reftime", F_TS, reftime, true),
        {"rec", peer_rec, true, 0, 0},
        PEER_FIELD("xmt", F_TS, xmt, true),
        {"reach", peer_reach, true, 0, 0},
        PEER_FIELD("unreach", F_U8, unreach, true),
        {"delay", peer_delay, true, 0, 0},
        {"offset", peer_offset, true, 0, 0},
        {"jitter", peer_jitter, true, 0, 0},
        {"dispersion", peer_dispersion, true, 0, 0},
        PEER_FIELD("keyid", F_U16, keyid, true),
        {"filtdelay", peer_filtdelay, true, 0, 0},
        {"filtoffset", peer_filtoffset, true, 0, 0},
        {"pmode", peer_pmode, true, 0, 0},
        {"filtdisp", peer_filtdisp, true, 0, 0},
        {"flash", peer_flash, true, 0, 0},
        {"mode", NULL, true, F_ZERO, 0}, /* ntpd's `mode` option of server lines: none here */
        PEER_FIELD("headway", F_SECS, headway, true),
        {"srchost", peer_srchost, true, 0, 0},
        {"ntscookies", peer_ntscookies, true, 0, 0},
        /* on request */
        PEER_FIELD("received", F_UINT, received, false),
        PEER_FIELD("sent", F_UINT, sent, false),
        /* ntpq pstats (NTPsec ntp_control.c CP_TIMEREC .. CP_NTSCOOKIES) */
        PEER_FIELD("timerec", F_SECS, when, false),
        PEER_FIELD("timer", F_SECS, next_in, false),
        PEER_FIELD("timereach", F_SECS, reach_for, false),
        PEER_FIELD("badauth", F_U32, badauth, false),
        PEER_FIELD("bogusorg", F_U32, bogusorg, false),
        PEER_FIELD("oldpkt", F_U32, oldpkt, false),
        NOTHING("seldisp"), /* NTPsec never counts seldisptoolarge: always 0 there too */
        PEER_FIELD("selbroken", F_U32, kod, false), /* NTPsec counts its KoD RATE packets here */
        {"candidate", peer_candidate, false, 0, 0},
        {"reason", peer_reason, false, 0, 0},
        {"peer_var_list", peer_var_list, false, 0, 0},
};

#define N_PEER_VARS (sizeof PEER_VARS / sizeof PEER_VARS[0])

static bool
peer_var_list(const view *v, char *val, size_t size)
{
	(void)v;
	return list_names(PEER_VARS, N_PEER_VARS, val, size);
}

/* ---- reference clock variables (ntpd ctl_putclock, ntpq clocklist) ---- */

#define LOCAL_DEVICE "Undisciplined local clock" /* ntpd's LOCAL driver description */

static bool
clock_name(const view *v, char *val, size_t size)
{
	(void)v;
	snprintf(val, size, "\"LOCAL\"");
	return true;
}

static bool
clock_timecode(const view *v, char *val, size_t size)
{
	(void)v;
	snprintf(val, size, "\"\""); /* the LOCAL driver reads no timecode */
	return true;
}

/* The fudged refid ("LOCL"), as ntpd prints it for a stratum above 1: the
 * four bytes as a dotted quad. */
static bool
clock_refid(const view *v, char *val, size_t size)
{
	const char *r = v->peer->refid;
	size_t n = strlen(r);
	unsigned char b[4] = {0, 0, 0, 0};

	if (n >= 2 && r[0] == '.' && r[n - 1] == '.') {
		r++;
		n -= 2;
	}
	for (size_t i = 0; i < 4 && i < n; i++) {
		b[i] = (unsigned char)r[i];
	}
	snprintf(val, size, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
	return true;
}

static bool
clock_device(const view *v, char *val, size_t size)
{
	(void)v;
	snprintf(val, size, "\"%s\"", LOCAL_DEVICE);
	return true;
}

static const var CLOCK_VARS[] = {
        {"name", clock_name, true, 0, 0},
        {"timecode", clock_timecode, true, 0, 0},
        PEER_FIELD("poll", F_UINT, received, true), /* readings taken */
        /* the LOCAL clock cannot fail to answer nor send bad data */
        {"noreply", NULL, true, F_ZERO, 0},
        {"badformat", NULL, true, F_ZERO, 0},
        {"baddata", NULL, true, F_ZERO, 0},
        PEER_FIELD("stratum", F_U8, stratum, true),
        {"refid", clock_refid, true, 0, 0},
        {"flags", NULL, true, F_ZERO, 0}, /* ntplab's `fudge` has no flags */
        {"device", clock_device, true, 0, 0},
};

#define N_CLOCK_VARS (sizeof CLOCK_VARS / sizeof CLOCK_VARS[0])

/* ---- building the payload ---- */

/* Append one "name=value" item the way ntpd's ctl_putdata does; false
 * (and truncated) when it no longer fits, keeping room for the final
 * "\r\n". */
static bool
append_item(payload *pl, const char *item)
{
	size_t n = strlen(item);
	size_t sep = pl->len > 0 ? 2 : 0;

	if (pl->truncated || pl->len + sep + n + 2 > sizeof pl->b) {
		pl->truncated = true;
		return false;
	}
	if (pl->len > 0) {
		pl->b[pl->len++] = ',';
		pl->column++;
		if (n + pl->column + 1 >= LINE_COLUMNS) {
			pl->b[pl->len++] = '\r';
			pl->b[pl->len++] = '\n';
			pl->column = 0;
		} else {
			pl->b[pl->len++] = ' ';
			pl->column++;
		}
	}
	memcpy(pl->b + pl->len, item, n);
	pl->len += n;
	pl->column += n;
	return true;
}

static void
append_var(payload *pl, const var *x, const view *v)
{
	char val[ITEM_MAX];
	char item[ITEM_MAX + NAME_MAX_LEN + 2];

	if (x->format != NULL ? !x->format(v, val, sizeof val)
	                      : !field_format(x, v, val, sizeof val)) {
		return;
	}
	snprintf(item, sizeof item, "%s=%s", x->name, val);
	append_item(pl, item);
}

static void
finish_text(payload *pl)
{
	if (pl->len > 0) {
		pl->b[pl->len++] = '\r';
		pl->b[pl->len++] = '\n';
	}
}

static const var *
lookup_var(const var *vars, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(vars[i].name, name) == 0) {
			return &vars[i];
		}
	}
	return NULL;
}

/* The next name of a request's variable list ("a, b=1,c"): stops at the
 * count or a NUL, skips blanks, drops "=value" (ntpd reads and ignores it
 * on a read).  Returns false when the list is exhausted; *len_out is the
 * name's length (possibly over NAME_MAX_LEN). */
static bool
next_name(const uint8_t *data, size_t count, size_t *pos, char *name, size_t *len_out)
{
	size_t i = *pos;
	size_t n = 0;

	for (;;) {
		while (i < count && data[i] != '\0' &&
		       (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n')) {
			i++;
		}
		if (i >= count || data[i] == '\0') {
			*pos = count;
			return false;
		}
		n = 0;
		while (i < count && data[i] != '\0' && data[i] != ',' && data[i] != '=') {
			if (n < NAME_MAX_LEN) {
				name[n] = (char)data[i];
			}
			n++;
			i++;
		}
		while (i < count && data[i] != '\0' && data[i] != ',') {
			i++; /* the "=value" part */
		}
		if (i < count && data[i] == ',') {
			i++;
		}
		while (n > 0 && n <= NAME_MAX_LEN && (name[n - 1] == ' ' || name[n - 1] == '\t')) {
			n--;
		}
		if (n > 0) {
			break;
		}
	}
	name[n < NAME_MAX_LEN ? n : NAME_MAX_LEN] = '\0';
	*pos = i;
	*len_out = n;
	return true;
}

/* Fill pl with the variables asked for (all listed ones when the request
 * has no data).  Returns 0, or NTP_CONTROL_CERR_UNKNOWNVAR with the
 * offending name in reason. */
static int
put_vars(payload *pl, const var *vars, size_t n_vars, const view *v, const ntp_control_hdr *h,
         char *reason, size_t reason_size)
{
	char name[NAME_MAX_LEN + 1];
	char shown[NAME_MAX_LEN + 1];
	size_t pos = 0;
	size_t len;
	const var *x;
	bool any = false;

	while (next_name(h->data, h->count, &pos, name, &len)) {
		any = true;
		x = len <= NAME_MAX_LEN ? lookup_var(vars, n_vars, name) : NULL;
		if (x == NULL && len <= NAME_MAX_LEN && vars == SYS_VARS) {
			x = lookup_var(STAT_VARS, N_STAT_VARS, name);
		}
		if (x == NULL) {
			copy_safe(shown, sizeof shown, name, sizeof name);
			say(reason, reason_size, "unknown variable \"%s%s\"", shown,
			    len > NAME_MAX_LEN ? "..." : "");
			return NTP_CONTROL_CERR_UNKNOWNVAR;
		}
		append_var(pl, x, v);
	}
	if (!any) {
		for (size_t i = 0; i < n_vars; i++) {
			if (vars[i].listed) {
				append_var(pl, &vars[i], v);
			}
		}
	}
	finish_text(pl);
	return 0;
}

/* READSTAT of one association: ntpd answers with a shorter list than its
 * readvar default (NTPsec read_status; captured in tests/data/control),
 * one fragment: these, in its order (config, authenable and authentic
 * are not kept here). */
static const char *const READSTAT_PEER_VARS[] = {
        "srcadr",  "srcport", "dstadr", "dstport",   "leap",      "hmode",
        "stratum", "ppoll",   "hpoll",  "precision", "rootdelay", "rootdisp",
        "refid",   "reftime", "xmt",    "reach",     "unreach",   "timer",
};

static void
put_readstat_peer(payload *pl, const view *v)
{
	for (size_t i = 0; i < sizeof READSTAT_PEER_VARS / sizeof READSTAT_PEER_VARS[0]; i++) {
		append_var(pl, lookup_var(PEER_VARS, N_PEER_VARS, READSTAT_PEER_VARS[i]), v);
	}
	finish_text(pl);
}

/* READSTAT of association 0: (association id, status word) pairs. */
static void
put_assoc_list(payload *pl, const ntp_peer_info *peers, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (peers[i].assoc <= 0 || peers[i].assoc > ASSOC_MAX) {
			continue;
		}
		if (pl->len + 4 > sizeof pl->b) {
			pl->truncated = true;
			return;
		}
		put16(pl->b + pl->len, (uint16_t)peers[i].assoc);
		put16(pl->b + pl->len + 2, ntp_control_peer_status(&peers[i]));
		pl->len += 4;
	}
}

/* ---- the wire ---- */

static size_t
write_header(uint8_t *b, const ntp_control_hdr *req, uint8_t leap, uint8_t flags, uint16_t status,
             uint16_t offset, uint16_t count)
{
	b[0] = (uint8_t)((leap & 3u) << 6 | (req->version & 7u) << 3 | MODE_CONTROL);
	b[1] = (uint8_t)(BIT_RESPONSE | flags | (req->opcode & OP_MASK));
	put16(b + 2, req->sequence);
	put16(b + 4, status);
	put16(b + 6, req->assoc);
	put16(b + 8, offset);
	put16(b + 10, count);
	return NTP_CONTROL_HEADER_LEN;
}

static void
reply_error(ntp_control_reply *out, const ntp_control_hdr *req, uint8_t leap, int cerr)
{
	out->n = 1;
	out->len[0] = write_header(out->buf[0], req, leap, BIT_ERROR, (uint16_t)(cerr << 8), 0, 0);
}

/* Cut the payload into fragments of NTP_CONTROL_MAX_DATA bytes; every one
 * but the last has the More bit; each is zero-padded to 4 bytes. */
static void
reply_data(ntp_control_reply *out, const ntp_control_hdr *req, uint8_t leap, uint16_t status,
           const payload *pl)
{
	size_t off = 0;

	out->n = 0;
	do {
		size_t chunk = pl->len - off;
		uint8_t *b = out->buf[out->n];
		size_t len;

		if (chunk > NTP_CONTROL_MAX_DATA) {
			chunk = NTP_CONTROL_MAX_DATA;
		}
		len = write_header(b, req, leap, off + chunk < pl->len ? BIT_MORE : 0, status,
		                   (uint16_t)off, (uint16_t)chunk);
		memcpy(b + len, pl->b + off, chunk);
		len += chunk;
		while (len % 4 != 0) {
			b[len++] = 0;
		}
		out->len[out->n++] = len;
		off += chunk;
	} while (off < pl->len && out->n < NTP_CONTROL_MAX_FRAGS);
}

static const char *
op_name(unsigned op)
{
	switch (op) {
	case NTP_CONTROL_OP_UNSPEC:
		return "unspecified";
	case NTP_CONTROL_OP_READSTAT:
		return "read status";
	case NTP_CONTROL_OP_READVAR:
		return "read variables";
	case NTP_CONTROL_OP_WRITEVAR:
		return "write variables";
	case NTP_CONTROL_OP_READCLOCK:
		return "read clock variables";
	case NTP_CONTROL_OP_WRITECLOCK:
		return "write clock variables";
	case NTP_CONTROL_OP_CONFIGURE:
		return "configure";
	case NTP_CONTROL_OP_READ_MRU:
		return "read MRU list";
	case NTP_CONTROL_OP_READ_ORDLIST:
		return "read ordered list";
	case NTP_CONTROL_OP_REQ_NONCE:
		return "request nonce";
	default:
		return "unknown";
	}
}

/* ---- public ---- */

int
ntp_control_decode(const uint8_t *buf, size_t len, ntp_control_hdr *out, char *reason,
                   size_t reason_size)
{
	say(reason, reason_size, "ok");
	if (out == NULL || (buf == NULL && len != 0)) {
		say(reason, reason_size, "no datagram or no place to decode it");
		return NTP_CONTROL_E_INVALID;
	}
	memset(out, 0, sizeof *out);
	if (len < NTP_CONTROL_HEADER_LEN) {
		say(reason, reason_size, "truncated header: %zu bytes", len);
		return NTP_CONTROL_E_SHORT;
	}
	out->leap = (uint8_t)(buf[0] >> 6);
	out->version = (uint8_t)((buf[0] >> 3) & 7u);
	out->mode = (uint8_t)(buf[0] & 7u);
	out->response = (buf[1] & BIT_RESPONSE) != 0;
	out->error = (buf[1] & BIT_ERROR) != 0;
	out->more = (buf[1] & BIT_MORE) != 0;
	out->opcode = (uint8_t)(buf[1] & OP_MASK);
	out->sequence = get16(buf + 2);
	out->status = get16(buf + 4);
	out->assoc = get16(buf + 6);
	out->offset = get16(buf + 8);
	out->count = get16(buf + 10);
	if (out->mode != MODE_CONTROL) {
		say(reason, reason_size, "mode %u is not a control message (mode 6)",
		    (unsigned)out->mode);
		return NTP_CONTROL_E_MODE;
	}
	if (out->version < VERSION_MIN || out->version > VERSION_MAX) {
		say(reason, reason_size, "version %u not answered (1..4)", (unsigned)out->version);
		return NTP_CONTROL_E_VERSION;
	}
	if (out->count > NTP_CONTROL_MAX_DATA) {
		say(reason, reason_size, "count %u over the %d-byte maximum", (unsigned)out->count,
		    NTP_CONTROL_MAX_DATA);
		return NTP_CONTROL_E_COUNT;
	}
	if (out->count > len - NTP_CONTROL_HEADER_LEN) {
		say(reason, reason_size, "count %u exceeds the %zu data bytes present",
		    (unsigned)out->count, len - NTP_CONTROL_HEADER_LEN);
		return NTP_CONTROL_E_COUNT;
	}
	if (len % 4 != 0) {
		say(reason, reason_size, "length %zu not padded to a multiple of 4", len);
		return NTP_CONTROL_E_PADDING;
	}
	out->data = buf + NTP_CONTROL_HEADER_LEN;
	out->trailer = len - NTP_CONTROL_HEADER_LEN - out->count;
	return NTP_CONTROL_OK;
}

/* Why a well-formed mode 6 datagram is not a request ntpd answers, or NULL. */
static const char *
not_a_request(const ntp_control_hdr *h)
{
	if (h->response) {
		return "a response (R bit set): never answered";
	}
	if (h->error) {
		return "error bit set in a request: dropped";
	}
	if (h->more) {
		return "fragmented request (M bit set): dropped";
	}
	if (h->offset != 0) {
		return "request with a non-zero offset: dropped";
	}
	return NULL;
}

/* READCLOCK (ntpd read_clockstatus): association 0 means the system peer
 * if it is a reference clock, else the first one; only the LOCAL clock is
 * one here.  Status word 0: the driver reports no events. */
static int
answer_readclock(const ntp_control_hdr *h, const view *base, ntp_control_reply *out, char *reason,
                 size_t reason_size)
{
	view v = *base;
	payload pl;
	int cerr;

	v.peer = h->assoc != 0 ? find_peer(base->peers, base->n_peers, h->assoc)
	                       : find_peer(base->peers, base->n_peers, base->sys->sys_peer);
	for (size_t i = 0;
	     h->assoc == 0 && (v.peer == NULL || !is_local_clock(v.peer)) && i < base->n_peers;
	     i++) {
		v.peer = &base->peers[i];
	}
	if (v.peer == NULL || !is_local_clock(v.peer)) {
		say(reason, reason_size, "read clock variables assoc %u: no reference clock",
		    (unsigned)h->assoc);
		reply_error(out, h, base->sys->leap, NTP_CONTROL_CERR_BADASSOC);
		return 0;
	}
	memset(&pl, 0, sizeof pl);
	cerr = put_vars(&pl, CLOCK_VARS, N_CLOCK_VARS, &v, h, reason, reason_size);
	if (cerr != 0) {
		reply_error(out, h, base->sys->leap, cerr);
		return 0;
	}
	reply_data(out, h, base->sys->leap, 0, &pl);
	say(reason, reason_size, "read clock variables assoc %u: %zu bytes", (unsigned)h->assoc,
	    pl.len);
	return 0;
}

static int
answer_read(const ntp_control_hdr *h, const view *base, ntp_control_reply *out, char *reason,
            size_t reason_size)
{
	uint8_t leap = base->sys->leap;
	payload pl;
	view v = *base;
	uint16_t status;
	int cerr = 0;

	memset(&pl, 0, sizeof pl);
	if (h->assoc != 0) {
		v.peer = find_peer(base->peers, base->n_peers, h->assoc);
		if (v.peer == NULL) {
			say(reason, reason_size, "%s: no association %u", op_name(h->opcode),
			    (unsigned)h->assoc);
			reply_error(out, h, leap, NTP_CONTROL_CERR_BADASSOC);
			return 0;
		}
		status = ntp_control_peer_status(v.peer);
		if (h->opcode == NTP_CONTROL_OP_READSTAT) {
			put_readstat_peer(&pl, &v);
		} else {
			cerr = put_vars(&pl, PEER_VARS, N_PEER_VARS, &v, h, reason, reason_size);
		}
	} else {
		status = ntp_control_sys_status(base->sys, base->peers, base->n_peers);
		if (h->opcode == NTP_CONTROL_OP_READSTAT) {
			put_assoc_list(&pl, base->peers, base->n_peers);
		} else {
			cerr = put_vars(&pl, SYS_VARS, N_SYS_VARS, &v, h, reason, reason_size);
		}
	}
	if (cerr != 0) {
		reply_error(out, h, leap, cerr);
		return 0;
	}
	reply_data(out, h, leap, status, &pl);
	say(reason, reason_size, "%s assoc %u: %zu bytes in %zu fragment%s%s", op_name(h->opcode),
	    (unsigned)h->assoc, pl.len, out->n, out->n == 1 ? "" : "s",
	    pl.truncated ? " (truncated: reply limit reached)" : "");
	return 0;
}

/* ---- ntpq mrulist: REQ_NONCE and READ_MRU (NTPsec read_mru_list) ---- */

#define NONCE_LEN 24 /* chars, "%08x%08x%08x" */
#define NONCE_DOMAIN                                                                               \
	"ntplab mode 6 nonce" /* keeps these MACs apart from the table's                           \
	                          address hashes under the same key */
#define MRU_PRIORS    16      /* last.N/addr.N pairs read, NTPsec COUNTOF(last) */
#define MRU_ENTRY_MAX 200     /* bytes one entry's items take at most (ours) */
#define MRU_TRAILER   80      /* bytes of "now=..., last.newest=..." (ours) */
#define MRU_LAST_TOL                                                                               \
	0.001                     /* s: last.N matches an entry's last this closely; entry         \
	                             times are kept on the monotonic clock and shown on the        \
	                             local one, which a slew moves by microseconds between         \
	                             two requests (ours) */
#define VALUE_MAX          64     /* bytes of one request value (ours) */
#define NTPD_RES_IGNORE    0x0001 /* NTPsec ntp.h RES_* bits, what rs.N carries */
#define NTPD_RES_NOSERVE   0x0002
#define NTPD_RES_NOTRUST   0x0004
#define NTPD_RES_VERSION   0x0008
#define NTPD_RES_NOPEER    0x0010
#define NTPD_RES_LIMITED   0x0020
#define NTPD_RES_NOQUERY   0x0040
#define NTPD_RES_NOMODIFY  0x0080
#define NTPD_RES_NOTRAP    0x0100
#define NTPD_RES_KOD       0x0400
#define NTPD_RES_NOMRULIST 0x2000

static uint32_t
nonce_mac(const ntp_server *table, const ntp_addr *from, ntp_ts64 t)
{
	uint8_t msg[sizeof NONCE_DOMAIN + 8 + 1 + sizeof from->a + 2];
	size_t n = sizeof NONCE_DOMAIN;

	memcpy(msg, NONCE_DOMAIN, sizeof NONCE_DOMAIN);
	for (int i = 0; i < 8; i++) {
		msg[n++] = (uint8_t)(t >> (56 - 8 * i));
	}
	msg[n++] = (uint8_t)from->family;
	memcpy(msg + n, from->a, sizeof from->a);
	n += sizeof from->a;
	put16(msg + n, from->port);
	n += 2;
	return (uint32_t)ntp_server_keyed_hash(table, msg, n);
}

void
ntp_control_nonce(const ntp_server *table, const ntp_addr *from, ntp_time now, char buf[25])
{
	ntp_ts64 t = ntp_ts_from_unix_ns(now);

	snprintf(buf, NONCE_LEN + 1, "%08x%08x%08x", (unsigned)ntp_ts_seconds(t),
	         (unsigned)ntp_ts_fraction(t), (unsigned)nonce_mac(table, from, t));
}

static bool
parse_hex32(const char *s, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 8; i++) {
		char c = s[i];
		unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
		             : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
		             : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
		                                    : 16u;

		if (d > 15) {
			return false;
		}
		v = v << 4 | d;
	}
	*out = v;
	return true;
}

bool
ntp_control_nonce_ok(const ntp_server *table, const ntp_addr *from, ntp_time now, const char *text,
                     size_t len)
{
	uint32_t sec, frac, mac;
	ntp_ts64 t, now_ts = ntp_ts_from_unix_ns(now);

	if (table == NULL || from == NULL || text == NULL || len != NONCE_LEN ||
	    !parse_hex32(text, &sec) || !parse_hex32(text + 8, &frac) ||
	    !parse_hex32(text + 16, &mac)) {
		return false;
	}
	t = ntp_ts_make(sec, frac);
	/* unsigned 32.32 difference: a nonce from the future is a huge age */
	return mac == nonce_mac(table, from, t) && now_ts - t < (ntp_ts64)NTP_CONTROL_NONCE_TIMEOUT
	                                                                << 32;
}

/* The next "name=value" item of a request (value "" when there is none):
 * false when the list is exhausted.  Names and values longer than their
 * buffers are cut (and then match nothing / fail to parse). */
static bool
next_item(const uint8_t *data, size_t count, size_t *pos, char *name, size_t nsize, char *value,
          size_t vsize)
{
	size_t i = *pos, n = 0, v = 0;

	while (i < count && data[i] != '\0' &&
	       (data[i] == ' ' || data[i] == ',' || data[i] == '\r' || data[i] == '\n')) {
		i++;
	}
	if (i >= count || data[i] == '\0') {
		*pos = count;
		return false;
	}
	while (i < count && data[i] != '\0' && data[i] != ',' && data[i] != '=') {
		if (n + 1 < nsize && data[i] != ' ') {
			name[n++] = (char)data[i];
		}
		i++;
	}
	if (i < count && data[i] == '=') {
		i++;
		while (i < count && data[i] != '\0' && data[i] != ',') {
			if (v + 1 < vsize && data[i] != ' ') {
				value[v++] = (char)data[i];
			}
			i++;
		}
	}
	name[n] = '\0';
	value[v] = '\0';
	*pos = i;
	return true;
}

/* A whole decimal number (no sign), at most max. */
static bool
parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (*s == '\0') {
		return false;
	}
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (max - (unsigned long)(*s - '0')) / 10) {
			return false;
		}
		v = v * 10 + (unsigned long)(*s - '0');
	}
	*out = v;
	return true;
}

/* "a.b.c.d:port" or "[v6]:port", as ntpd's sockporttoa writes them. */
static bool
parse_addr_port(const char *s, ntp_addr *out)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t n;
	unsigned long port;

	if (colon == NULL || !parse_uint(colon + 1, 65535, &port)) {
		return false;
	}
	n = (size_t)(colon - s);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof host) {
		return false;
	}
	memcpy(host, s, n);
	host[n] = '\0';
	if (!ntp_addr_parse(host, out)) {
		return false;
	}
	out->port = (uint16_t)port;
	return true;
}

static void
format_addr_port(const ntp_addr *a, char *buf, size_t size)
{
	char host[48];

	ntp_addr_format(a, host, sizeof host);
	snprintf(buf, size, a->family == NTP_AF_INET6 ? "[%s]:%u" : "%s:%u", host,
	         (unsigned)a->port);
}

/* ntp_restrict.h flags as NTPsec's RES_* bits (what ntpq's rstr shows). */
static unsigned
ntpd_res_bits(uint32_t f)
{
	static const struct {
		uint32_t ours;
		unsigned ntpd;
	} map[] = {
	        {NTP_RES_IGNORE, NTPD_RES_IGNORE},       {NTP_RES_NOSERVE, NTPD_RES_NOSERVE},
	        {NTP_RES_NOTRUST, NTPD_RES_NOTRUST},     {NTP_RES_VERSION, NTPD_RES_VERSION},
	        {NTP_RES_NOPEER, NTPD_RES_NOPEER},       {NTP_RES_LIMITED, NTPD_RES_LIMITED},
	        {NTP_RES_NOQUERY, NTPD_RES_NOQUERY},     {NTP_RES_NOMODIFY, NTPD_RES_NOMODIFY},
	        {NTP_RES_NOTRAP, NTPD_RES_NOTRAP},       {NTP_RES_KOD, NTPD_RES_KOD},
	        {NTP_RES_NOMRULIST, NTPD_RES_NOMRULIST},
	};
	unsigned out = 0;

	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
		out |= (f & map[i].ours) ? map[i].ntpd : 0u;
	}
	return out;
}

/* What a READ_MRU request asks for. */
typedef struct mru_req {
	bool have_nonce;
	char nonce[NONCE_LEN + 1];
	unsigned long frags, limit, mincount, mindrop, maxlstint, minlstint, recent;
	double minscore;
	unsigned long resall, resany;
	bool laddr;
	ntp_ts64 last[MRU_PRIORS];
	ntp_addr addr[MRU_PRIORS];
	bool have_last[MRU_PRIORS], have_addr[MRU_PRIORS];
} mru_req;

/* One "last.N" / "addr.N" item; false when name is not one. */
static bool
parse_prior(mru_req *r, const char *name, const char *value, bool *ok)
{
	unsigned long i;
	uint32_t sec, frac;

	if (strncmp(name, "last.", 5) == 0 && parse_uint(name + 5, MRU_PRIORS - 1, &i)) {
		*ok = strlen(value) == 19 && strncmp(value, "0x", 2) == 0 && value[10] == '.' &&
		      parse_hex32(value + 2, &sec) && parse_hex32(value + 11, &frac);
		r->last[i] = *ok ? ntp_ts_make(sec, frac) : 0;
		r->have_last[i] = *ok;
		return true;
	}
	if (strncmp(name, "addr.", 5) == 0 && parse_uint(name + 5, MRU_PRIORS - 1, &i)) {
		*ok = parse_addr_port(value, &r->addr[i]);
		r->have_addr[i] = *ok;
		return true;
	}
	return false;
}

/* One item of a READ_MRU request; false on a value ntpd would not take
 * (it then "bails": no reply).  Unknown names are ignored, as by ntpd. */
static bool
parse_mru_item(mru_req *r, const char *name, const char *value)
{
	static const struct {
		const char *name;
		size_t off;
		unsigned long max;
	} nums[] = {
	        {"frags", offsetof(mru_req, frags), 65535},
	        {"limit", offsetof(mru_req, limit), 0xffffffffUL},
	        {"mincount", offsetof(mru_req, mincount), 0x7fffffffUL},
	        {"mindrop", offsetof(mru_req, mindrop), 0xffffffffUL},
	        {"maxlstint", offsetof(mru_req, maxlstint), 0xffffffffUL},
	        {"minlstint", offsetof(mru_req, minlstint), 0xffffffffUL},
	        {"recent", offsetof(mru_req, recent), 0xffffffffUL},
	};
	char *end;
	bool ok = true;

	if (strcmp(name, "nonce") == 0) {
		r->have_nonce = strlen(value) == NONCE_LEN;
		if (r->have_nonce) {
			memcpy(r->nonce, value, NONCE_LEN + 1);
		}
		return true;
	}
	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
		if (strcmp(name, nums[i].name) == 0) {
			return parse_uint(value, nums[i].max,
			                  (unsigned long *)(void *)((char *)r + nums[i].off));
		}
	}
	if (strcmp(name, "resall") == 0 || strcmp(name, "resany") == 0) {
		unsigned long *dst = name[3] == 'a' && name[4] == 'l' ? &r->resall : &r->resany;

		if (strncmp(value, "0x", 2) != 0 || value[2] == '\0') {
			return false;
		}
		*dst = strtoul(value + 2, &end, 16);
		return *end == '\0' && *dst <= 0xffff;
	}
	if (strcmp(name, "minscore") == 0) {
		r->minscore = strtod(value, &end);
		return *end == '\0' && value[0] != '\0' && isfinite(r->minscore);
	}
	if (strcmp(name, "laddr") == 0) {
		r->laddr = true;
		return true;
	}
	if (parse_prior(r, name, value, &ok)) {
		return ok;
	}
	return true;
}

/* Local time (shown) of a time on the table's monotonic clock. */
static ntp_ts64
mru_ts(const ntp_control_mru *m, ntp_time now_local, ntp_time mono)
{
	return ntp_ts_from_unix_ns(now_local - (m->mono - mono));
}

/* Average request rate (1/s) over the entry's life: ntplab keeps no
 * decaying score as ntpd does, so sc.N is this plain rate. */
static double
mru_score(const ntp_server_mru *e)
{
	double life = ntp_time_to_s(e->last - e->first);

	return (double)e->count / (life > 1.0 ? life : 1.0);
}

static uint32_t
entry_res(const ntp_control_mru *m, const ntp_server_mru *e)
{
	return m->res_flags != NULL ? m->res_flags(m->res_ctx, &e->addr) : 0u;
}

static void
put_mru_entry(payload *pl, const ntp_control_mru *m, ntp_time now, const ntp_server_mru *e,
              unsigned idx)
{
	char item[ITEM_MAX], addr[64];
	char ts[32];

	format_addr_port(&e->addr, addr, sizeof addr);
	snprintf(item, sizeof item, "addr.%u=%s", idx, addr);
	append_item(pl, item);
	put_ts(ts, sizeof ts, mru_ts(m, now, e->last));
	snprintf(item, sizeof item, "last.%u=%s", idx, ts);
	append_item(pl, item);
	put_ts(ts, sizeof ts, mru_ts(m, now, e->first));
	snprintf(item, sizeof item, "first.%u=%s", idx, ts);
	append_item(pl, item);
	snprintf(item, sizeof item, "ct.%u=%" PRIu32, idx, e->count);
	append_item(pl, item);
	snprintf(item, sizeof item, "mv.%u=%u", idx, (unsigned)(e->version << 3 | e->mode));
	append_item(pl, item);
	snprintf(item, sizeof item, "rs.%u=0x%x", idx, ntpd_res_bits(entry_res(m, e)));
	append_item(pl, item);
	snprintf(item, sizeof item, "sc.%u=%.3f", idx, clamp_value(mru_score(e)));
	append_item(pl, item);
	snprintf(item, sizeof item, "dr.%u=%" PRIu32, idx, e->limited);
	append_item(pl, item);
}

/* Does an entry pass the request's filters? */
static bool
mru_wanted(const mru_req *r, const ntp_control_mru *m, const ntp_server_mru *e)
{
	double since = ntp_time_to_s(m->mono - e->last);
	unsigned rs = ntpd_res_bits(entry_res(m, e));

	return e->count >= r->mincount && e->limited >= r->mindrop && mru_score(e) >= r->minscore &&
	       (r->resall == 0 || (rs & r->resall) == r->resall) &&
	       (r->resany == 0 || (rs & r->resany) != 0) &&
	       (r->maxlstint == 0 || since <= (double)r->maxlstint) &&
	       (r->minlstint == 0 || since >= (double)r->minlstint);
}

/* The entry the request's last.N/addr.N pairs point at (the first of
 * them still unchanged), NULL when none is; *priors says whether any was
 * given. */
static const ntp_server_mru *
mru_start(const mru_req *r, const ntp_control_mru *m, ntp_time now, bool *priors)
{
	*priors = false;
	for (size_t i = 0; i < MRU_PRIORS && r->have_last[i] && r->have_addr[i]; i++) {
		const ntp_server_mru *e = ntp_server_mru_find(m->table, &r->addr[i]);

		*priors = true;
		if (e != NULL && e->addr.port == r->addr[i].port &&
		    fabs(ntp_time_to_s(ntp_ts_sub(mru_ts(m, now, e->last), r->last[i]))) <
		            MRU_LAST_TOL) {
			return e;
		}
	}
	return NULL;
}

/* Entries oldest first from start (NULL: the oldest) into pl, while they
 * fit in budget bytes and limit; returns the last one sent, *done when the
 * list was exhausted. */
static const ntp_server_mru *
put_mru_entries(payload *pl, const mru_req *r, const ntp_control_mru *m, ntp_time now,
                const ntp_server_mru *e, size_t budget, bool *done)
{
	const ntp_server_mru *prior = NULL;
	unsigned long count = 0, skip = r->recent != 0 && m->table->n > r->recent
	                                        ? m->table->n - r->recent
	                                        : 0;

	for (; e != NULL && count < r->limit; e = ntp_server_mru_newer(m->table, e)) {
		if (pl->len + MRU_ENTRY_MAX + MRU_TRAILER > budget) {
			break;
		}
		if (skip > 0) {
			skip--;
			continue;
		}
		if (!mru_wanted(r, m, e)) {
			continue;
		}
		put_mru_entry(pl, m, now, e, (unsigned)count++);
		prior = e;
	}
	*done = e == NULL;
	return prior;
}

static int
answer_read_mru(const ntp_control_hdr *h, const view *v, const ntp_control_mru *m,
                ntp_control_reply *out, char *reason, size_t reason_size)
{
	char name[NAME_MAX_LEN + 1], value[VALUE_MAX], item[ITEM_MAX], ts[32], nonce[NONCE_LEN + 1];
	uint8_t leap = v->sys->leap;
	const ntp_server_mru *e = NULL, *last = NULL;
	size_t pos = 0, budget;
	bool priors = false, done = false;
	payload pl;
	mru_req r;

	if (m->nomrulist) {
		say(reason, reason_size, "read MRU list: restrict nomrulist");
		reply_error(out, h, leap, NTP_CONTROL_CERR_PERMISSION);
		return 0;
	}
	memset(&r, 0, sizeof r);
	while (next_item(h->data, h->count, &pos, name, sizeof name, value, sizeof value)) {
		if (!parse_mru_item(&r, name, value)) {
			say(reason, reason_size,
			    "read MRU list: bad value for \"%s\": no reply (ntpd)", name);
			return -1;
		}
	}
	if (!r.have_nonce ||
	    !ntp_control_nonce_ok(m->table, &m->from, v->now, r.nonce, strlen(r.nonce))) {
		say(reason, reason_size, "read MRU list: %s nonce: no reply (ntpd)",
		    r.have_nonce ? "wrong or expired" : "no");
		return -1;
	}
	if ((r.frags == 0 && !(r.limit > 0 && r.limit <= NTP_CONTROL_MRU_ROWS)) ||
	    r.frags > NTP_CONTROL_MRU_FRAGS || r.laddr) {
		say(reason, reason_size, "read MRU list: %s",
		    r.laddr ? "laddr: the table keeps no local addresses" : "bad frags/limit");
		reply_error(out, h, leap, NTP_CONTROL_CERR_BADVALUE);
		return 0;
	}
	if (r.limit == 0) {
		r.limit = ULONG_MAX;
	}
	if (r.frags == 0 || r.frags > NTP_CONTROL_MAX_FRAGS) {
		r.frags = NTP_CONTROL_MAX_FRAGS;
	}
	budget = r.frags * NTP_CONTROL_MAX_DATA;
	memset(&pl, 0, sizeof pl);
	if (r.limit > 1) {
		e = mru_start(&r, m, v->now, &priors);
		if (priors && e == NULL) {
			say(reason, reason_size, "read MRU list: no prior entry unchanged");
			reply_error(out, h, leap, NTP_CONTROL_CERR_UNKNOWNVAR);
			return 0;
		}
	}
	if (priors) {
		put_ts(ts, sizeof ts, mru_ts(m, v->now, e->last));
		snprintf(item, sizeof item, "last.older=%s", ts);
		append_item(&pl, item);
		format_addr_port(&e->addr, value, sizeof value);
		snprintf(item, sizeof item, "addr.older=%s", value);
		append_item(&pl, item);
		e = ntp_server_mru_newer(m->table, e);
	} else if (r.limit > 1) {
		e = ntp_server_mru_newer(m->table, NULL);
	}
	ntp_control_nonce(m->table, &m->from, v->now, nonce);
	snprintf(item, sizeof item, "nonce=%s", nonce);
	append_item(&pl, item);
	if (r.limit == 1) {
		/* ntpd: limit=1 fetches the entries addr.N name */
		for (size_t i = 0; i < MRU_PRIORS; i++) {
			e = r.have_addr[i] ? ntp_server_mru_find(m->table, &r.addr[i]) : NULL;
			if (e != NULL) {
				put_mru_entry(&pl, m, v->now, e, (unsigned)i);
			}
		}
		done = true;
	} else {
		last = put_mru_entries(&pl, &r, m, v->now, e, budget, &done);
	}
	if (done) {
		put_ts(ts, sizeof ts, ntp_ts_from_unix_ns(v->now));
		snprintf(item, sizeof item, "now=%s", ts);
		append_item(&pl, item);
		if (last != NULL) {
			put_ts(ts, sizeof ts, mru_ts(m, v->now, last->last));
			snprintf(item, sizeof item, "last.newest=%s", ts);
			append_item(&pl, item);
		}
	}
	finish_text(&pl);
	reply_data(out, h, leap, ntp_control_sys_status(v->sys, v->peers, v->n_peers), &pl);
	say(reason, reason_size, "read MRU list: %zu bytes in %zu fragment%s%s", pl.len, out->n,
	    out->n == 1 ? "" : "s", done ? ", complete" : "");
	return 0;
}

/* REQ_NONCE: "nonce=..." for the requester (ntpd req_nonce). */
static int
answer_nonce(const ntp_control_hdr *h, const view *v, const ntp_control_mru *m,
             ntp_control_reply *out, char *reason, size_t reason_size)
{
	char nonce[NONCE_LEN + 1], item[NONCE_LEN + 8];
	payload pl;

	memset(&pl, 0, sizeof pl);
	ntp_control_nonce(m->table, &m->from, v->now, nonce);
	snprintf(item, sizeof item, "nonce=%s", nonce);
	append_item(&pl, item);
	finish_text(&pl);
	reply_data(out, h, v->sys->leap, ntp_control_sys_status(v->sys, v->peers, v->n_peers), &pl);
	say(reason, reason_size, "request nonce: given");
	return 0;
}

int
ntp_control_answer(const uint8_t *req, size_t len, bool allowed, const ntp_sys_info *sys,
                   const ntp_peer_info *peers, size_t n_peers, ntp_time now, ntp_control_reply *out,
                   char *reason, size_t reason_size)
{
	return ntp_control_answer_mru(req, len, allowed, sys, peers, n_peers, now, NULL, out,
	                              reason, reason_size);
}

int
ntp_control_answer_mru(const uint8_t *req, size_t len, bool allowed, const ntp_sys_info *sys,
                       const ntp_peer_info *peers, size_t n_peers, ntp_time now,
                       const ntp_control_mru *mru, ntp_control_reply *out, char *reason,
                       size_t reason_size)
{
	ntp_control_hdr h;
	const char *why;
	view v;
	int rc;

	if (out == NULL) {
		say(reason, reason_size, "no reply buffer");
		return -1;
	}
	out->n = 0;
	if (sys == NULL || (peers == NULL && n_peers != 0)) {
		say(reason, reason_size, "no system or peer snapshot");
		return -1;
	}
	if (!allowed) {
		say(reason, reason_size, "noquery");
		return -1;
	}
	rc = ntp_control_decode(req, len, &h, reason, reason_size);
	if (rc != NTP_CONTROL_OK && rc != NTP_CONTROL_E_COUNT && rc != NTP_CONTROL_E_PADDING) {
		return -1;
	}
	why = not_a_request(&h);
	if (why != NULL) {
		say(reason, reason_size, "%s", why);
		return -1;
	}
	if (rc != NTP_CONTROL_OK) {
		/* ntpd answers a request whose lengths do not add up with BADFMT;
		 * reason still holds the decoder's sentence. */
		reply_error(out, &h, sys->leap, NTP_CONTROL_CERR_BADFMT);
		return 0;
	}
	v.sys = sys;
	v.peers = peers;
	v.n_peers = n_peers;
	v.peer = NULL;
	v.now = now;
	switch (h.opcode) {
	case NTP_CONTROL_OP_UNSPEC:
		out->n = 1;
		out->len[0] = write_header(out->buf[0], &h, sys->leap, 0,
		                           ntp_control_sys_status(sys, peers, n_peers), 0, 0);
		say(reason, reason_size, "unspecified opcode 0: system status only");
		return 0;
	case NTP_CONTROL_OP_READSTAT:
	case NTP_CONTROL_OP_READVAR:
		return answer_read(&h, &v, out, reason, reason_size);
	case NTP_CONTROL_OP_READCLOCK:
		return answer_readclock(&h, &v, out, reason, reason_size);
	case NTP_CONTROL_OP_REQ_NONCE:
		if (mru == NULL || mru->table == NULL) {
			break;
		}
		return answer_nonce(&h, &v, mru, out, reason, reason_size);
	case NTP_CONTROL_OP_READ_MRU:
		if (mru == NULL || mru->table == NULL) {
			break;
		}
		return answer_read_mru(&h, &v, mru, out, reason, reason_size);
	case NTP_CONTROL_OP_WRITEVAR:
	case NTP_CONTROL_OP_WRITECLOCK:
	case NTP_CONTROL_OP_CONFIGURE:
	case NTP_CONTROL_OP_READ_ORDLIST:
		/* ntpd: these need an authenticated request (and no nomodify);
		 * ntplab has no writable state at all. */
		say(reason, reason_size, "unsupported opcode %u (%s): read-only",
		    (unsigned)h.opcode, op_name(h.opcode));
		reply_error(out, &h, sys->leap, NTP_CONTROL_CERR_PERMISSION);
		return 0;
	default:
		break;
	}
	say(reason, reason_size, "unsupported opcode %u (%s)", (unsigned)h.opcode,
	    op_name(h.opcode));
	reply_error(out, &h, sys->leap, NTP_CONTROL_CERR_BADOP);
	return 0;
}

bool
ntp_control_cap(ntp_control_reply *out, size_t budget)
{
	size_t total = 0;
	uint8_t *b;

	if (out == NULL || out->n == 0) {
		return false;
	}
	for (size_t i = 0; i < out->n && i < NTP_CONTROL_MAX_FRAGS; i++) {
		total += out->len[i];
	}
	if (total <= budget) {
		return false;
	}
	if (budget < NTP_CONTROL_HEADER_LEN) {
		out->n = 0;
		return true;
	}
	/* The first fragment's header already echoes version, opcode,
	 * sequence and association: turn it into an error reply. */
	b = out->buf[0];
	b[1] = (uint8_t)((b[1] & ~BIT_MORE) | BIT_RESPONSE | BIT_ERROR);
	put16(b + 4, (uint16_t)(NTP_CONTROL_CERR_PERMISSION << 8));
	put16(b + 8, 0);
	put16(b + 10, 0);
	out->n = 1;
	out->len[0] = NTP_CONTROL_HEADER_LEN;
	return true;
}
