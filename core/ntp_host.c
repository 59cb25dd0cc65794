/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ntp_host: one NTP entity driven from outside (see ntp_host.h).
 *
 *   ntp_host_recv  -> restrict -> dispatch by mode (RFC 5905 §9.2 table):
 *                     mode 3 (and v1 mode 0) to the server, mode 4/1/2 to
 *                     the matching association (ntp_proto), an unknown
 *                     mode 1 mobilises a passive association unless
 *                     `nopeer` (then the server answers it statelessly),
 *                     mode 6 is refused for now, mode 7 never answered;
 *   ntp_host_tick  -> the poll process of every association that is due;
 *   a new sample   -> the system process (ntp_system.c): clock_select
 *                     (ntp_select) -> clock_update (system variables,
 *                     RFC 5905 App. A.5.5.4 / ntpd) -> local_clock
 *                     (ntp_disc) -> STEP / ADJUST actions.
 *
 * The parts: this file (construction, the calls, the poll and receive
 * processes, mode 6), ntp_system.c (the system process), ntp_info.c
 * (introspection), and ntp_hostcore.c, the state and helpers all three
 * share.
 *
 * Memory: one allocation at ntp_host_new holds the host, the association
 * slots (one per configured source, plus NTP_HOST_PASSIVE_SLOTS when some
 * source may mobilise a symmetric passive association), the restrict list
 * (with `restrict source` expanded) and, only when some entry has
 * `limited` or mode 6 is answered to remote sources, the server's
 * rate-limit table, sized by `mru`.  Nothing allocates later.
 *
 * LOCAL(u): ntp classic 4.2.x behaviour, as on the seed's CentOS ntpd: the
 * pseudo-source produces a sample on every poll from the start and is
 * used as soon as no other source survives selection (ntp_select's LOCAL
 * fallback).  NTPsec (and ntp 4.2.8) only consider a non-prefer LOCAL
 * after `orphanwait` (300 s) without a system peer; we do not wait.
 */
#include "ntp_host.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntp_const.h"
#include "ntp_control.h"
#include "ntp_hostcore.h"
#include "ntp_leapsys.h"
#include "ntp_mac.h"
#include "ntp_select.h"
#include "ntp_system.h"

#define NTP_HOST_PASSIVE_SLOTS 2 /* symmetric passive associations a host can hold (ours) */
#define MRU_HASH_DOMAIN        1 /* ntp_nonce_subkey stream of the rate-limit hash key (ours) */
#define FIRST_POLL_SPREAD_NS   NTP_NS_PER_S       /* ntpd: associations start 1 s apart */
#define PASSIVE_FIRST_POLL_NS  (3 * NTP_NS_PER_S) /* ntpd peer_clear: ntp_minpkt + 1 s */
#define CLIENT_PORT_LO         49152 /* dynamic ports (RFC 6335 §6): random client ports */
#define CLIENT_PORT_HI         65535

/* ---- construction ---- */

static size_t
align_up(size_t n)
{
	size_t a = _Alignof(max_align_t);

	return (n + a - 1) / a * a;
}

static bool
is_network_server(const ntp_conf_server *s)
{
	return s->kind == NTP_CONF_SERVER || s->kind == NTP_CONF_PEER;
}

/* Could any source mobilise a passive association?  Not while ephemeral
 * peers need authentication (`enable auth`, ntpd's default) and no key is
 * trusted to give it, nor when both defaults and every address entry say nopeer (or
 * noepeer/ignore/noserve), as in CentOS's "restrict default nomodify
 * notrap nopeer noquery" with no other lines. */
static bool
passive_possible(const ntp_conf *c)
{
	const uint32_t closed = NTP_RES_NOPEER | NTP_RES_NOEPEER | NTP_RES_IGNORE | NTP_RES_NOSERVE;
	bool v4_closed = false, v6_closed = false;

	if (!c->disable_auth && c->n_trusted == 0) {
		return false;
	}
	for (size_t i = 0; i < c->n_restrict; i++) {
		const ntp_restrict_entry *e = &c->restrict_list[i];
		bool is_closed = (e->flags & closed) != 0;

		if (e->kind == NTP_RES_DEFAULT) {
			if (e->addr.family != NTP_AF_INET6) {
				v4_closed = is_closed;
			}
			if (e->addr.family != NTP_AF_INET) {
				v6_closed = is_closed;
			}
		} else if (e->kind == NTP_RES_ADDR && !is_closed) {
			return true;
		}
	}
	return !(v4_closed && v6_closed);
}

static bool
uses_limited(const ntp_conf *c)
{
	for (size_t i = 0; i < c->n_restrict; i++) {
		if (c->restrict_list[i].flags & NTP_RES_LIMITED) {
			return true;
		}
	}
	return false;
}

/* Entries of the rate-limit table: none unless some source is rate
 * limited (`limited`, or remote mode 6, which is always accounted);
 * otherwise `mru maxdepth` or `maxmem` (the last given; NTPsec's 1 MiB by
 * default), and at least mindepth, which ntpd fills whatever maxdepth says. */
static size_t
mru_entries(const ntp_conf *c, bool control_remote)
{
	size_t n;

	if (!uses_limited(c) && !control_remote) {
		return 0;
	}
	if (c->mru_maxdepth >= 0) {
		n = (size_t)c->mru_maxdepth;
	} else {
		/* a config not from ntp_conf_init may have neither size */
		n = ntp_server_mru_entries(c->mru_maxmem >= 0 ? (size_t)c->mru_maxmem
		                                              : NTP_SERVER_MRU_MAXMEM_DEF);
	}
	if (c->mru_mindepth > 0 && (size_t)c->mru_mindepth > n) {
		n = (size_t)c->mru_mindepth;
	}
	return n < NTP_SERVER_MRU_MAX ? n : NTP_SERVER_MRU_MAX;
}

/* The rate-limit table in the host's block, with ntp.conf's `mru` knobs
 * and a hash key from the caller's entropy. */
static void
setup_server(ntp_host *h, const ntp_conf *c, const ntp_host_params *p, void *table, size_t entries)
{
	uint8_t key[16];

	ntp_server_init(&h->server, table, entries, c->discard_average, c->discard_minimum);
	ntp_server_set_mru(&h->server, c->mru_mindepth > 0 ? (size_t)c->mru_mindepth : 0,
	                   c->mru_maxage, c->mru_minage);
	ntp_nonce_subkey(p->nonce_key, MRU_HASH_DOMAIN, key, sizeof key);
	ntp_server_set_hash_key(&h->server, key);
}

/* An explicit host entry for addr (ntpd's restrict source does not
 * override one). */
static bool
has_host_entry(const ntp_restrict_entry *v, size_t n, const ntp_addr *addr)
{
	int full = addr->family == NTP_AF_INET ? 32 : 128;

	for (size_t i = 0; i < n; i++) {
		if (v[i].kind == NTP_RES_ADDR && ntp_addr_same_host(&v[i].addr, addr) &&
		    ntp_addr_prefix_len(&v[i].mask) == full) {
			return true;
		}
	}
	return false;
}

/* Copy the restrict list, instantiating `restrict source` for every
 * configured server address.  Returns the entries written. */
static size_t
build_restrict(const ntp_conf *c, ntp_restrict_entry *out)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_restrict; i++) {
		if (c->restrict_list[i].kind != NTP_RES_SOURCE) {
			out[n++] = c->restrict_list[i];
		}
	}
	for (size_t i = 0; i < c->n_restrict; i++) {
		const ntp_restrict_entry *t = &c->restrict_list[i];

		if (t->kind != NTP_RES_SOURCE) {
			continue;
		}
		for (size_t s = 0; s < c->n_servers; s++) {
			const ntp_addr *a = &c->servers[s].addr;

			if (!is_network_server(&c->servers[s]) || a->family == NTP_AF_NONE ||
			    has_host_entry(out, n, a)) {
				continue;
			}
			out[n++] = ntp_restrict_expand_source(t, a);
		}
	}
	return n;
}

static size_t
count_restrict(const ntp_conf *c, size_t n_net)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_restrict; i++) {
		n += c->restrict_list[i].kind == NTP_RES_SOURCE ? n_net : 1;
	}
	return n;
}

static uint8_t
peer_flags(uint32_t conf_flags)
{
	uint8_t f = NTP_PEER_F_CONFIG;

	f |= (conf_flags & NTP_CONF_F_PREFER) ? NTP_PEER_F_PREFER : 0;
	f |= (conf_flags & NTP_CONF_F_IBURST) ? NTP_PEER_F_IBURST : 0;
	f |= (conf_flags & NTP_CONF_F_BURST) ? NTP_PEER_F_BURST : 0;
	f |= (conf_flags & NTP_CONF_F_NOSELECT) ? NTP_PEER_F_NOSELECT : 0;
	f |= (conf_flags & NTP_CONF_F_TRUE) ? NTP_PEER_F_TRUE : 0;
	return f;
}

static void
setup_peer(ntp_host *h, ntp_peer *p, const ntp_conf_server *cs, size_t index, ntp_time mono)
{
	ntp_addr a = cs->addr;
	uint8_t kind = cs->kind == NTP_CONF_PEER          ? NTP_PEER_ACTIVE
	               : cs->kind == NTP_CONF_LOCAL_CLOCK ? NTP_PEER_LOCAL
	                                                  : NTP_PEER_CLIENT;
	int unit = cs->unit < 0 ? 0 : cs->unit > 255 ? 255 : cs->unit;

	if (kind == NTP_PEER_LOCAL) {
		memset(&a, 0, sizeof a);
		a.family = NTP_AF_INET;
		a.a[0] = 127;
		a.a[1] = 127;
		a.a[2] = 1;
		a.a[3] = (uint8_t)unit;
	} else if (a.port == 0) {
		a.port = NTP_PORT;
	}
	ntp_peer_init(p, kind, &a, peer_flags(cs->flags), cs->minpoll, cs->maxpoll, cs->version,
	              mono);
	p->keyid = kind == NTP_PEER_LOCAL ? 0 : (uint16_t)cs->key;
	if (kind == NTP_PEER_LOCAL) {
		p->unit = (uint8_t)unit;
		p->cfg_stratum = (uint8_t)(cs->stratum < 0    ? 5
		                           : cs->stratum > 15 ? 15
		                                              : cs->stratum);
		ntp_peer_clear(p, "INIT");
	}
	/* ntpd peer_clear() during startup: the associations poll 1 s apart;
	 * a random fraction keeps simulated hosts from marching in step. */
	ntp_peer_schedule(
	        p, mono + (ntp_time)(index + 1) * FIRST_POLL_SPREAD_NS +
	                   (ntp_time)ntp_rand_below(&h->rnd, (uint64_t)FIRST_POLL_SPREAD_NS));
}

static bool
client_port_taken(const ntp_host *h, uint16_t port)
{
	for (size_t i = 0; i < h->n_config; i++) {
		if (h->peers[i].lport == port) {
			return true;
		}
	}
	return false;
}

/* RFC 9109: each client association sends from a port of its own, drawn
 * from the nonce generator (an off-path attacker must guess it as well as
 * the origin timestamp), distinct within the host.  `clientport N` puts
 * them all on N instead, as ntpd does with 123.  Symmetric associations
 * keep the NTP port (0): the peer sends to it. */
static void
assign_client_ports(ntp_host *h, const ntp_conf *c)
{
	for (size_t i = 0; i < h->n_config; i++) {
		ntp_peer *p = &h->peers[i];

		if (p->kind != NTP_PEER_CLIENT) {
			continue;
		}
		if (c->clientport != 0) {
			p->lport = c->clientport;
			continue;
		}
		uint16_t port;

		do {
			port = (uint16_t)(CLIENT_PORT_LO +
			                  ntp_nonce_below(&h->nonce,
			                                  CLIENT_PORT_HI - CLIENT_PORT_LO + 1));
		} while (client_port_taken(h, port));
		p->lport = port;
	}
}

static int
check_conf(const ntp_conf *c, const ntp_host_params *p, size_t *n_config, size_t *n_net, char *err,
           size_t errsize)
{
	if (c == NULL || p == NULL) {
		snprintf(err, errsize, "ntp_host_new: no config or no parameters");
		return -1;
	}
	*n_config = 0;
	*n_net = 0;
	for (size_t i = 0; i < c->n_servers && i < NTP_CONF_MAX_SERVERS; i++) {
		const ntp_conf_server *s = &c->servers[i];

		if (s->kind == NTP_CONF_POOL) {
			continue;
		}
		if (is_network_server(s)) {
			if (s->addr.family == NTP_AF_NONE) {
				snprintf(err, errsize,
				         "%s:%d: server '%s' has no resolved address (resolve it "
				         "before ntp_host_new)",
				         c->filename, s->line, s->host);
				return -1;
			}
			(*n_net)++;
		} else if (s->kind != NTP_CONF_LOCAL_CLOCK) {
			snprintf(err, errsize, "%s:%d: unknown association kind %u", c->filename,
			         s->line, s->kind);
			return -1;
		}
		(*n_config)++;
	}
	if (c->n_restrict > NTP_CONF_MAX_RESTRICT) {
		snprintf(err, errsize, "ntp_host_new: %zu restrict entries, at most %d",
		         c->n_restrict, NTP_CONF_MAX_RESTRICT);
		return -1;
	}
	return 0;
}

/* Every `key N` of an association names a trusted key of the key file
 * (ntp_keys_check_conf), said with the ntp.conf line. */
static int
check_keys(const ntp_conf *c, const ntp_keyring *kr, char *err, size_t errsize)
{
	size_t i = 0;
	int why = ntp_keys_check_conf(c, kr, &i);

	if (why == NTP_KEYS_CONF_OK) {
		return 0;
	}
	ntp_keys_conf_problem_format(c, i, why, err, errsize);
	return -1;
}

/* The key file's keys into the host's block, with `trustedkey` applied. */
static void
setup_keys(ntp_host *h, const ntp_conf *c, const ntp_keyring *kr, ntp_key *slots, size_t n)
{
	h->keys = slots;
	h->n_keys = n;
	h->controlkey = c->controlkey;
	for (size_t i = 0; i < n; i++) {
		slots[i] = kr->keys[i];
		slots[i].trusted = ntp_conf_key_trusted(c, slots[i].id);
	}
}

ntp_host *
ntp_host_new(const ntp_conf *conf, const ntp_host_params *p, char *err, size_t errsize)
{
	char scratch[8];
	size_t n_config, n_net, n_slots, n_res, n_mru, off_peers, off_res, off_mru, total;
	size_t off_algo, off_src, off_keys, n_keys;
	const ntp_discipline *algo;
	ntp_host *h;
	size_t k = 0;

	if (err == NULL || errsize == 0) {
		err = scratch;
		errsize = sizeof scratch;
	}
	err[0] = '\0';
	if (check_conf(conf, p, &n_config, &n_net, err, errsize) != 0 ||
	    check_keys(conf, p->keys, err, errsize) != 0 ||
	    ntp_discipline_check(conf, err, errsize) != 0) {
		return NULL;
	}
	n_keys = p->keys == NULL ? 0 : p->keys->n < NTP_KEYS_MAX ? p->keys->n : NTP_KEYS_MAX;
	algo = ntp_discipline_for(conf);
	n_slots = n_config + (passive_possible(conf) ? NTP_HOST_PASSIVE_SLOTS : 0);
	n_res = count_restrict(conf, n_net);
	n_mru = mru_entries(conf, p->control_remote);
	off_peers = align_up(sizeof(ntp_host));
	off_res = off_peers + align_up(n_slots * sizeof(ntp_peer));
	off_mru = off_res + align_up(n_res * sizeof(ntp_restrict_entry));
	off_algo = off_mru + align_up(NTP_SERVER_TABLE_BYTES(n_mru));
	off_src = off_algo +
	          align_up(algo->sys_size + (algo->sys_extra != NULL ? algo->sys_extra(conf) : 0));
	off_keys = off_src + n_slots * align_up(algo->src_size);
	total = off_keys + align_up(n_keys * sizeof(ntp_key));
	h = calloc(1, total);
	if (h == NULL) {
		snprintf(err, errsize, "ntp_host_new: out of memory (%zu bytes)", total);
		return NULL;
	}
	h->alloc_size = total;
	h->peers = (ntp_peer *)(void *)((char *)h + off_peers);
	h->res = (ntp_restrict_entry *)(void *)((char *)h + off_res);
	h->algo = algo;
	ntp_leapsys_init(h, conf, p);
	h->algo_sys = (char *)h + off_algo;
	h->algo_src = (char *)h + off_src;
	h->n_peers = n_slots;
	h->n_config = n_config;
	h->n_res = build_restrict(conf, h->res);
	h->precision = p->precision != 0 ? p->precision : -20;
	h->control_remote = p->control_remote;
	h->io = p->io;
	h->auth_required = !conf->disable_auth;
	setup_keys(h, conf, p->keys, (ntp_key *)(void *)((char *)h + off_keys), n_keys);
	h->stats = ntp_conf_stats(conf);
	h->now = host_clamp_both(p->now);
	h->t_start = h->now.mono;
	ntp_rand_seed(&h->rnd, p->seed);
	_Static_assert(NTP_HOST_NONCE_KEY_BYTES == NTP_NONCE_KEY_BYTES, "one key size");
	if (!ntp_nonce_init(&h->nonce, p->nonce_key)) {
		snprintf(err, errsize,
		         "ntp_host_new: nonce_key is all zero: pass %d bytes of "
		         "entropy (refd: getrandom; ntpsim: derived from the seed)",
		         NTP_HOST_NONCE_KEY_BYTES);
		free(h);
		return NULL;
	}
	ntp_system_setup_tos(h, conf, h->now.mono);
	for (size_t i = 0; i < conf->n_servers && i < NTP_CONF_MAX_SERVERS; i++) {
		if (conf->servers[i].kind != NTP_CONF_POOL) {
			setup_peer(h, &h->peers[k], &conf->servers[i], k, h->now.mono);
			k++;
		}
	}
	assign_client_ports(h, conf);
	if (ntp_system_setup_discipline(h, conf, p, err, errsize) != 0) {
		free(h);
		return NULL;
	}
	setup_server(h, conf, p, (char *)h + off_mru, n_mru);
	host_set_unsynchronised(h, "INIT");
	h->t_update = h->now.mono;
	h->jitter = ldexp(1.0, h->precision);
	snprintf(h->no_peer_reason, sizeof h->no_peer_reason, "no update yet");
	return h;
}

void
ntp_host_free(ntp_host *h)
{
	free(h);
}

/* ---- the call in progress ---- */

static void
begin_call(ntp_host *h, ntp_actions *out, ntp_now now)
{
	h->out = out;
	h->now = host_clamp_both(now);
	if (!h->started) {
		h->started = true;
		ntp_system_start(h);
	}
}

static void
end_call(ntp_host *h)
{
	if (h->out != NULL && !h->exited) {
		ntp_leapsys_update(h); /* whatever the call changed: the time, the vote */
	}
	h->out = NULL;
}

/* ---- the poll process ---- */

static void
free_slot(ntp_peer *p)
{
	memset(p, 0, sizeof *p);
	p->kind = NTP_PEER_PASSIVE;
	p->nextdate = NEVER;
}

/* The trusted key with this id, or NULL. */
static const ntp_key *
trusted_key(const ntp_host *h, uint32_t id)
{
	const ntp_key *k = ntp_key_find(h->keys, h->n_keys, id);

	return k != NULL && k->trusted ? k : NULL;
}

/* ntpd's sys_stat version counters of a decoded time packet. */
static void
count_version(ntp_sys_stats *st, const ntp_pkt *pkt)
{
	if (pkt->version == NTP_VERSION_CUR) {
		st->thisver++;
		return;
	}
	st->oldver++;
	if (pkt->version == 1) {
		st->ver1++;
		st->ver1client += pkt->mode == NTP_MODE_CLIENT;
		st->ver1zero += pkt->mode == NTP_MODE_UNSPEC;
		st->ver1symm += pkt->mode == NTP_MODE_ACTIVE;
	}
}

static bool
is_cmac(const ntp_host *h, uint32_t keyid)
{
	const ntp_key *k = ntp_key_find(h->keys, h->n_keys, keyid);

	return k != NULL && (k->type == NTP_KEY_AES128CMAC || k->type == NTP_KEY_AES256CMAC);
}

/* ntpd's authentication counters for one MAC check (authinfo): every MAC
 * is a key lookup; a known key makes a decryption, which may fail. */
static void
count_auth(ntp_host *h, int auth, uint32_t keyid)
{
	ntp_sys_stats *st = &h->sysstats;
	bool cmac;

	if (auth == NTP_AUTH_NONE || auth == NTP_AUTH_NAK) {
		return;
	}
	st->auth_lookups++;
	if (auth == NTP_AUTH_UNKNOWN) {
		st->auth_notfound++;
		return;
	}
	if (auth == NTP_AUTH_UNTRUSTED) {
		return; /* found, not trusted: never checked */
	}
	cmac = is_cmac(h, keyid);
	st->auth_cmac_decrypts += cmac;
	st->auth_digest_decrypts += !cmac;
	if (auth == NTP_AUTH_BAD) {
		st->auth_cmac_fails += cmac;
		st->auth_digest_fails += !cmac;
	}
}

/* One MAC made with k (authinfo encryptions). */
static void
count_sign(ntp_host *h, const ntp_key *k)
{
	bool cmac = is_cmac(h, k->id);

	h->sysstats.auth_cmac_encrypts += cmac;
	h->sysstats.auth_digest_encrypts += !cmac;
}

/* host_send_packet with a MAC by key k (NULL: none) or, when nak, a
 * crypto-NAK.  A MAC covers the transmit timestamp: the caller may not
 * rewrite it (patch_xmt off).  The datagram is dropped when it would be
 * longer than max_len (0: no limit): a reply is never larger than its
 * request, so a forged request buys an attacker no amplification. */
static void
send_authed(ntp_host *h, const ntp_addr *to, const ntp_addr *from, const ntp_pkt *pkt,
            bool patch_xmt, const ntp_key *k, bool nak, size_t max_len)
{
	ntp_action *a = host_send_packet(h, to, from, pkt, patch_xmt && k == NULL && !nak);
	size_t n;

	if (a == NULL || (k == NULL && !nak)) {
		return;
	}
	n = k != NULL ? ntp_mac_sign(k, a->u.send.buf, a->u.send.len, sizeof a->u.send.buf)
	              : ntp_mac_nak(a->u.send.buf, a->u.send.len, sizeof a->u.send.buf);
	if (n == 0 || (max_len != 0 && n > max_len)) {
		host_unpush_send(h); /* a is the action just pushed */
		h->server.dropped_bad++;
		return;
	}
	if (k != NULL) {
		count_sign(h, k);
	}
	a->u.send.len = n;
}

static void
poll_peer(ntp_host *h, ntp_peer *p)
{
	ntp_proto_sys s = host_proto_sys(h, p);
	bool fit = ntp_system_unfit(h, p, h->now.mono, NULL) == 0;
	bool was_sys = h->sys_peer == host_assoc_id(h, p);
	ntp_poll_result res;
	ntp_pkt req;
	char name[48];

	ntp_peer_poll(p, &s, fit, h->now, &h->rnd, &h->nonce, &req, &res);
	if (res.send) {
		ntp_addr from;

		memset(&from, 0, sizeof from); /* any local address ... */
		from.port = p->lport;          /* ... from this port (0: the NTP port) */
		send_authed(h, &p->addr, &from, &req, false, trusted_key(h, p->keyid), false, 0);
	}
	if (res.became_reachable) {
		host_reachable(h, p);
	}
	if (res.became_unreachable) {
		host_peer_event(p, NTP_PEVNT_UNREACH);
		host_event(h, NTP_EV_UNREACHABLE, host_assoc_id(h, p),
		           "%s unreachable: no reply to 8 polls",
		           host_remote_name(p, name, sizeof name));
	}
	if (res.timed_out) {
		host_event(h, NTP_EV_DEMOBILIZE, host_assoc_id(h, p),
		           "%s: passive association timed out (unreachable)",
		           host_remote_name(p, name, sizeof name));
		free_slot(p);
		if (was_sys) {
			ntp_system_select(h);
		}
		return;
	}
	if (res.sampled) {
		ntp_system_sampled(h, p, &res.sample);
	}
	if (res.became_unreachable && was_sys && h->sys_peer == host_assoc_id(h, p)) {
		ntp_system_select(h); /* ntpd waits for another sample; we drop it now */
	}
}

void
ntp_host_tick(ntp_host *h, ntp_now now, ntp_actions *out)
{
	if (h == NULL || h->exited) {
		return;
	}
	begin_call(h, out, now);
	for (size_t i = 0; i < h->n_peers && !h->exited; i++) {
		ntp_peer *p = &h->peers[i];

		if (host_slot_used(p) && p->nextdate <= h->now.mono) {
			poll_peer(h, p);
		}
	}
	ntp_system_orphan(h);
	host_flush_gates(h);
	end_call(h);
}

ntp_time
ntp_host_next(const ntp_host *h)
{
	ntp_time next = NEVER;

	if (h == NULL || h->exited) {
		return NEVER;
	}
	if (!h->started) {
		return h->t_start; /* start-up is due, sources or not */
	}
	for (size_t i = 0; i < h->n_peers; i++) {
		const ntp_peer *p = &h->peers[i];

		if (host_slot_used(p) && p->nextdate < next) {
			next = p->nextdate;
		}
	}
	if (h->orphan < NTP_STRATUM_UNSPEC && h->sys_peer == 0 && !h->orphan_active &&
	    h->orphan_at < next) {
		next = h->orphan_at;
	}
	if (host_next_gate_flush(h) < next) {
		next = host_next_gate_flush(h);
	}
	if (ntp_leapsys_next(h) < next) {
		next = ntp_leapsys_next(h);
	}
	return next;
}

/* ---- receive ---- */

/* A reply belongs to a client association only on the port its requests
 * left from (RFC 9109): one sent to another port was not meant for it. */
static bool
port_matches(const ntp_peer *p, const ntp_addr *to)
{
	return p->kind != NTP_PEER_CLIENT || p->lport == 0 || to == NULL || to->port == 0 ||
	       to->port == p->lport;
}

static ntp_peer *
find_assoc(ntp_host *h, const ntp_addr *from, const ntp_addr *to, uint8_t mode)
{
	for (size_t i = 0; i < h->n_peers; i++) {
		ntp_peer *p = &h->peers[i];

		if (!host_slot_used(p) || p->kind == NTP_PEER_LOCAL ||
		    !ntp_addr_same_host(&p->addr, from) ||
		    (p->addr.port != 0 && from->port != 0 && p->addr.port != from->port) ||
		    !port_matches(p, to)) {
			continue;
		}
		if ((mode == NTP_MODE_SERVER && p->kind == NTP_PEER_CLIENT) ||
		    (mode == NTP_MODE_ACTIVE &&
		     (p->kind == NTP_PEER_ACTIVE || p->kind == NTP_PEER_PASSIVE)) ||
		    (mode == NTP_MODE_PASSIVE && p->kind == NTP_PEER_ACTIVE)) {
			return p;
		}
	}
	return NULL;
}

/* The words of a receive verdict for its event: who, and why. Only the
 * paths that log one call this; a sample accepted formats nothing. */
static void
rx_words(const ntp_peer *p, const ntp_rx_result *rr, char *name, size_t name_size, char *why,
         size_t why_size)
{
	host_remote_name(p, name, name_size);
	ntp_proto_why_format(rr->why, rr->why_a, rr->why_b, why, why_size);
}

static void
assoc_receive(ntp_host *h, ntp_peer *p, const ntp_pkt *pkt, const ntp_addr *to)
{
	ntp_proto_sys s = host_proto_sys(h, p);
	bool was_sys = h->sys_peer == host_assoc_id(h, p);
	ntp_rx_result rr;
	char name[48], why[NTP_REASON_MAX];

	if (!ntp_peer_auth(p, h->rx_auth, h->rx_keyid, &rr)) {
		p->badauth++;
		rx_words(p, &rr, name, sizeof name, why, sizeof why);
		host_event(h, NTP_EV_PKT_REJECTED, host_assoc_id(h, p), "%s: %s", name, why);
		return;
	}
	if (to != NULL && to->family != NTP_AF_NONE) {
		p->local_refid = ntp_addr_refid(to);
	}
	ntp_peer_receive(p, pkt, h->now, &s, &rr);
	if (rr.verdict == NTP_RX_REJECT || rr.verdict == NTP_RX_KOD_SPOOFED ||
	    rr.verdict == NTP_RX_KOD) {
		rx_words(p, &rr, name, sizeof name, why, sizeof why);
	}
	switch (rr.verdict) {
	case NTP_RX_REJECT:
		host_event(h, NTP_EV_PKT_REJECTED, host_assoc_id(h, p), "%s: %s", name, why);
		return;
	case NTP_RX_KOD_SPOOFED:
		/* an event for every KoD, this one ignored */
		host_event(h, NTP_EV_KOD, host_assoc_id(h, p), "%s: %s", name, why);
		return;
	case NTP_RX_KOD:
		host_peer_event(p, rr.demobilized ? NTP_PEVNT_DENY : NTP_PEVNT_RATE);
		host_event(h, NTP_EV_KOD, host_assoc_id(h, p), "%s: %s", name, why);
		if (rr.demobilized) {
			char code[5] = {(char)(rr.kiss >> 24), (char)(rr.kiss >> 16),
			                (char)(rr.kiss >> 8), (char)rr.kiss, '\0'};

			host_event(h, NTP_EV_DEMOBILIZE, host_assoc_id(h, p),
			           "%s: kiss code %s: stopped polling", name, code);
			ntp_peer_clear(p, code);
			ntp_system_src_reset(h, p);
			if (was_sys) {
				ntp_system_select(h);
			}
		}
		return;
	default:
		break;
	}
	if (rr.became_reachable) {
		host_reachable(h, p);
	}
	ntp_system_sampled(h, p, &rr.sample);
}

static ntp_peer *
free_passive_slot(ntp_host *h)
{
	for (size_t i = h->n_config; i < h->n_peers; i++) {
		if (!host_slot_used(&h->peers[i])) {
			return &h->peers[i];
		}
	}
	return NULL;
}

/* An answer from the server part (fast_xmit), with the fault applied. */
static void
serve(ntp_host *h, const ntp_pkt *req, size_t len, const ntp_addr *from, const ntp_addr *to,
      uint32_t flags)
{
	ntp_server_sys sys = host_server_sys(h);
	ntp_serve_result r;
	ntp_server before;
	ntp_pkt reply;
	char name[48];
	int v;

	/* ntp 4.2.8 receive()/fast_xmit() and RFC 5905 §7.4: a request
	 * authenticated by a trusted key gets a reply MAC'd with that key;
	 * one whose MAC fails gets a crypto-NAK, even under notrust (NTPsec
	 * 1.2 drops it: "FIXME: crypto-NAK?"); a crypto-NAK is no request. */
	const ntp_key *k = h->rx_auth == NTP_AUTH_OK ? trusted_key(h, h->rx_keyid) : NULL;
	bool nak = h->rx_auth == NTP_AUTH_BAD || h->rx_auth == NTP_AUTH_UNKNOWN ||
	           h->rx_auth == NTP_AUTH_UNTRUSTED;
	char auth[48];

	if (h->rx_auth == NTP_AUTH_NAK) {
		h->server.dropped_bad++;
		h->sysstats.declined++;
		host_event(h, NTP_EV_PKT_REJECTED, 0, "request from %s dropped: a crypto-NAK",
		           ntp_addr_format(from, name, sizeof name));
		return;
	}
	if (k != NULL || nak) {
		flags &= ~(uint32_t)NTP_RES_NOTRUST;
	}
	before = h->server;
	v = ntp_server_answer(&h->server, &sys, req, len, from, flags, h->now, h->now.local, &reply,
	                      &r);
	if (v == NTP_SERVE_DROP) {
		/* the server counted the drop under its cause */
		int code = h->server.dropped_rate != before.dropped_rate ? NTP_EV_RATE_EXCEEDED
		           : h->server.dropped_restrict != before.dropped_restrict
		                   ? NTP_EV_ACCESS_DENIED
		                   : NTP_EV_PKT_REJECTED;

		host_event(h, code, 0, "request from %s dropped: %s",
		           ntp_addr_format(from, name, sizeof name), ntp_serve_reason(&r));
		return;
	}
	h->sysstats.processed++;
	if (v == NTP_SERVE_KOD) {
		host_event(h, NTP_EV_RATE_EXCEEDED, 0, "request from %s: %s",
		           ntp_addr_format(from, name, sizeof name), ntp_serve_reason(&r));
	}
	if (nak) {
		/* the names are formatted only for an event (issue 17 §1) */
		ntp_auth_format(h->rx_auth, h->rx_keyid, auth, sizeof auth);
		host_event(h, NTP_EV_PKT_REJECTED, 0, "request from %s: TEST5 %s: crypto-NAK sent",
		           ntp_addr_format(from, name, sizeof name), auth);
	}
	if (!ntp_fault_apply(&h->fault, &reply)) {
		return; /* fault "silent" */
	}
	/* Replies may get a later transmit timestamp from the caller; a KoD
	 * (its xmt echoes the request) or a falseticker's xmt must stay. */
	send_authed(h, from, to, &reply,
	            v == NTP_SERVE_REPLY && sys.smear == 0 &&
	                    !(h->fault.kinds & (NTP_FAULT_FALSETICKER | NTP_FAULT_KOD)),
	            k, nak, k != NULL || nak ? len : 0);
}

/* Associations (configured or ephemeral) with this address. */
static int
peers_from(const ntp_host *h, const ntp_addr *from)
{
	int n = 0;

	for (size_t i = 0; i < h->n_peers; i++) {
		n += host_slot_used(&h->peers[i]) && h->peers[i].kind != NTP_PEER_LOCAL &&
		     ntp_addr_same_host(&h->peers[i].addr, from);
	}
	return n;
}

/* May a mode 1 packet from a stranger mobilise an ephemeral symmetric
 * passive association?  As ntp-4.2.8p11 receive() decides: never under
 * `noepeer`; without authentication, never under `nopeer` or while
 * authentication is required (`enable auth`, ntpd's default: an
 * unauthenticated ephemeral peer can slew or step this host's clock,
 * CVE-2016-1549); never beyond `ippeerlimit` associations with the
 * address, nor without a free slot. */
static bool
passive_allowed(const ntp_host *h, const ntp_addr *from, const ntp_restrict_match *m,
                bool authentic)
{
	if (m->flags & (NTP_RES_NOEPEER | NTP_RES_NOSERVE)) {
		return false;
	}
	/* ntp-4.2.8 AM_NEWPASS: nopeer and notrust both demand authentication */
	if (!authentic && ((m->flags & (NTP_RES_NOPEER | NTP_RES_NOTRUST)) || h->auth_required)) {
		return false;
	}
	if (m->ippeerlimit != NTP_RES_NO_PEERLIMIT && peers_from(h, from) >= m->ippeerlimit) {
		return false;
	}
	return true;
}

/* A mode 1 packet from a source without an association (RFC 5905 §9.2
 * NEWPS): mobilise a symmetric passive association where allowed, else
 * answer it statelessly in mode 2 (ntpd's fast_xmit(MODE_PASSIVE)): one
 * reply per request, no state, no effect on our clock. */
static void
new_passive(ntp_host *h, const ntp_pkt *pkt, size_t len, const ntp_addr *from, const ntp_addr *to,
            const ntp_restrict_match *m)
{
	bool authentic = h->rx_auth == NTP_AUTH_OK;
	ntp_peer *p = passive_allowed(h, from, m, authentic) ? free_passive_slot(h) : NULL;
	char name[48];

	if (p == NULL) {
		serve(h, pkt, len, from, to, m->flags);
		return;
	}
	/* The stranger's poll is only a hint: ntpd clamps an ephemeral
	 * association to NTP_MINDPOLL..NTP_MAXDPOLL, so one packet claiming
	 * poll 17 cannot hold the slot for days (10 unanswered polls). */
	ntp_peer_init(p, NTP_PEER_PASSIVE, from, 0, NTP_MINDPOLL, NTP_MAXDPOLL, pkt->version,
	              h->now.mono);
	/* ntpd: the passive side answers with the key the active side used */
	p->keyid = authentic ? (uint16_t)h->rx_keyid : 0;
	ntp_system_src_reset(h, p);
	ntp_peer_schedule(p, h->now.mono + PASSIVE_FIRST_POLL_NS);
	host_event(h, NTP_EV_REACHABLE, host_assoc_id(h, p),
	           "%s: symmetric passive association mobilised",
	           ntp_addr_format(from, name, sizeof name));
	h->sysstats.processed++;
	assoc_receive(h, p, pkt, to);
}

#define CONTROL_PEERS_MAX 64 /* associations listed to ntpq (ours; = NTP_CONF_MAX_SERVERS) */
#define CONTROL_MAC_ALIGN                                                                          \
	8 /* bytes: ntpq pads MAC'd mode 6 data to 8 (NTPsec MODE_SIX_ALIGNMENT) */
#define CONTROL_PAD_ALIGN 4  /* bytes: where NTPsec's process_control looks for it */
#define CONTROL_MAC_MIN   20 /* bytes: key id + the shortest digest (MD5, CMAC) */

static size_t
round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

/* The MAC of a mode 6 request (NTPsec process_control; ntpq's layout):
 * after the data padded to 8 bytes, or to 4.  NONE when it has none. */
static int
control_auth(const ntp_host *h, const uint8_t *buf, size_t len, uint32_t *keyid)
{
	static const size_t align[] = {CONTROL_MAC_ALIGN, CONTROL_PAD_ALIGN};
	ntp_control_hdr hdr;
	char why[80];

	*keyid = 0;
	if (ntp_control_decode(buf, len, &hdr, why, sizeof why) != NTP_CONTROL_OK) {
		return NTP_AUTH_NONE;
	}
	for (size_t i = 0; i < sizeof align / sizeof align[0]; i++) {
		size_t off = round_up(NTP_CONTROL_HEADER_LEN + (size_t)hdr.count, align[i]);

		if (off < len && len - off >= CONTROL_MAC_MIN &&
		    len - off <= NTP_MAC_KEYID_LEN + NTP_MAC_DIGEST_MAX) {
			return ntp_mac_check(h->keys, h->n_keys, buf, off, len, keyid);
		}
	}
	return NTP_AUTH_NONE;
}

/* MAC one reply fragment with k after padding it to 8 bytes (NTPsec
 * ctl_flushpkt; ntpq checks the MAC there).  False when it does not fit. */
static bool
sign_control(ntp_host *h, const ntp_key *k, ntp_action *a)
{
	size_t padded = round_up(a->u.send.len, CONTROL_MAC_ALIGN), n;

	if (padded > sizeof a->u.send.buf) {
		return false;
	}
	memset(a->u.send.buf + a->u.send.len, 0, padded - a->u.send.len);
	n = ntp_mac_sign(k, a->u.send.buf, padded, sizeof a->u.send.buf);
	a->u.send.len = n;
	if (n != 0) {
		count_sign(h, k);
	}
	return n != 0;
}

/* restrict flags of an MRU entry's address (ntpq mrulist's rstr). */
static uint32_t
res_flags_of(const void *ctx, const ntp_addr *a)
{
	const ntp_host *h = ctx;

	return ntp_restrict_lookup(h->res, h->n_res, a).flags;
}

/* Mode 6 (ntpq): answer from snapshots of the public introspection structs,
 * one SEND per fragment (each <= 480 bytes, within NTP_SEND_MAX), at most
 * `budget` bytes in all (ntp_control_cap). */
static void
answer_control(ntp_host *h, const ntp_addr *from, const ntp_addr *to, const uint8_t *buf,
               size_t len, size_t budget)
{
	ntp_peer_info peers[CONTROL_PEERS_MAX];
	ntp_control_reply reply;
	ntp_sys_info sys;
	char reason[NTP_REASON_MAX], name[48];
	size_t n_peers = ntp_host_peers(h, h->now.mono, peers, CONTROL_PEERS_MAX);
	uint32_t keyid;
	int auth = control_auth(h, buf, len, &keyid);
	/* a request MAC'd by a trusted key gets replies MAC'd with it */
	const ntp_key *k = auth == NTP_AUTH_OK ? trusted_key(h, keyid) : NULL;

	ntp_control_mru mru = {
	        .table = &h->server,
	        .from = *from,
	        .mono = h->now.mono,
	        .nomrulist = (res_flags_of(h, from) & NTP_RES_NOMRULIST) != 0,
	        .res_flags = res_flags_of,
	        .res_ctx = h,
	};

	count_auth(h, auth, keyid);
	ntp_host_sys(h, &sys);
	ntp_host_mru_info(h, &sys.mru);
	if (ntp_control_answer_mru(buf, len, true, &sys, peers, n_peers, h->now.local, &mru, &reply,
	                           reason, sizeof reason) < 0) {
		h->server.dropped_bad++;
		h->sysstats.badformat++;
		host_event(h, NTP_EV_PKT_REJECTED, 0, "mode 6 from %s dropped: %s",
		           ntp_addr_format(from, name, sizeof name), reason);
		return;
	}
	h->sysstats.ctlreq++;
	if (ntp_control_cap(&reply, budget)) {
		host_event(
		        h, NTP_EV_ACCESS_DENIED, 0,
		        "mode 6 from %s: reply held to the %zu-byte request (no restrict entry of "
		        "its own): permission denied sent",
		        ntp_addr_format(from, name, sizeof name), len);
	}
	for (size_t i = 0; i < reply.n; i++) {
		ntp_action *a = host_push(h, NTP_ACT_SEND);

		if (a == NULL || reply.len[i] > sizeof a->u.send.buf) {
			return;
		}
		memcpy(a->u.send.buf, reply.buf[i], reply.len[i]);
		a->u.send.len = reply.len[i];
		if (k != NULL && !sign_control(h, k, a)) {
			host_unpush_send(h);
			return;
		}
		a->u.send.to = *from;
		if (to != NULL) {
			a->u.send.from = *to;
		} else {
			memset(&a->u.send.from, 0, sizeof a->u.send.from);
		}
		a->u.send.patch_xmt = false;
	}
}

/* Does the source have a restrict entry of its own: an address or a
 * network the administrator named, not `default` nor its spelling
 * `0.0.0.0 mask 0.0.0.0`? */
static bool
named_by_restrict(const ntp_restrict_match *m)
{
	return m->entry != NULL && m->entry->kind == NTP_RES_ADDR &&
	       ntp_addr_prefix_len(&m->entry->mask) > 0;
}

/* Mode 6 from a remote (non-loopback) source, with remote control on.  A
 * source named by a restrict entry of its own that allows queries is
 * trusted: full replies, rate limited only under `limited`.  Every other
 * source is a stranger whose address may be forged: its requests always
 * pass the `discard` rate limit (the table time requests use) and its
 * replies are held to the request's size, so refd cannot amplify a
 * reflection attack (docs/security.md ("Mode 6 is no longer an amplifier")). */
static void
answer_remote_control(ntp_host *h, const ntp_addr *from, const ntp_addr *to,
                      const ntp_restrict_match *m, const uint8_t *buf, size_t len)
{
	bool trusted = named_by_restrict(m);
	uint8_t version = (uint8_t)((buf[0] >> 3) & 7u);
	ntp_serve_result r;
	char name[48];

	if ((!trusted || (m->flags & NTP_RES_LIMITED)) &&
	    ntp_server_limit_control(&h->server, from, version, h->now, &r) == NTP_SERVE_DROP) {
		host_event(h, NTP_EV_RATE_EXCEEDED, 0, "mode 6 from %s: %s",
		           ntp_addr_format(from, name, sizeof name), ntp_serve_reason(&r));
		return;
	}
	answer_control(h, from, to, buf, len, trusted ? SIZE_MAX : len);
}

static void
refuse_control(ntp_host *h, const ntp_addr *from, const ntp_addr *to, const ntp_restrict_match *m,
               int rc, const uint8_t *buf, size_t len)
{
	char name[48];

	ntp_addr_format(from, name, sizeof name);
	if (rc == NTP_PKT_IS_PRIVATE) {
		h->server.dropped_restrict++;
		host_event(h, NTP_EV_ACCESS_DENIED, 0, "mode 7 (ntpdc) from %s is never answered",
		           name);
	} else if (m->flags & NTP_RES_NOQUERY) {
		h->server.dropped_restrict++;
		host_event(h, NTP_EV_ACCESS_DENIED, 0, "mode 6 from %s refused: restrict noquery",
		           name);
	} else if (ntp_addr_is_loopback(from)) {
		answer_control(h, from, to, buf, len, SIZE_MAX);
	} else if (!h->control_remote) {
		h->server.dropped_restrict++;
		host_event(h, NTP_EV_ACCESS_DENIED, 0, "mode 6 from %s refused: not from loopback",
		           name);
	} else {
		answer_remote_control(h, from, to, m, buf, len);
	}
}

/* Packets for our associations are subject to noserve and notrust too
 * (ntpd receive(): RES_DONTSERVE drops all time packets). */
static bool
assoc_access_ok(ntp_host *h, ntp_peer *p, const ntp_pkt *pkt, uint32_t flags)
{
	const char *why = NULL;
	char name[48], auth[48], text[NTP_REASON_MAX];

	if (flags & NTP_RES_NOSERVE) {
		why = "restrict noserve";
	} else if ((flags & NTP_RES_NOTRUST) && h->rx_auth != NTP_AUTH_OK) {
		/* Only a MAC that verifies with a trusted key counts: a packet
		 * that merely carries MAC-shaped bytes is no more authenticated
		 * than one without. */
		ntp_auth_format(h->rx_auth, h->rx_keyid, auth, sizeof auth);
		snprintf(text, sizeof text, "restrict notrust: %s%s",
		         pkt->has_mac ? "MAC not verified: " : "packet ", auth);
		why = text;
	}
	if (why == NULL) {
		return true;
	}
	p->flash |= NTP_TEST4;
	p->rejected++;
	h->server.dropped_restrict++;
	host_event(h, NTP_EV_ACCESS_DENIED, host_assoc_id(h, p), "%s: TEST4 access denied: %s",
	           host_remote_name(p, name, sizeof name), why);
	return false;
}

static void
dispatch(ntp_host *h, const ntp_pkt *pkt, size_t len, const ntp_addr *from, const ntp_addr *to,
         const ntp_restrict_match *m)
{
	uint32_t flags = m->flags;
	ntp_peer *p;
	char name[48];

	/* `restrict ... version`: only NTPv4, whatever the mode (ntpd
	 * receive() drops the others before dispatch; the server part checks
	 * client requests itself). */
	if ((flags & NTP_RES_VERSION) && pkt->version != NTP_VERSION_CUR &&
	    pkt->mode != NTP_MODE_CLIENT && pkt->mode != NTP_MODE_UNSPEC) {
		h->server.dropped_restrict++;
		host_event(h, NTP_EV_ACCESS_DENIED, 0,
		           "NTPv%u %s packet from %s dropped: restrict version", pkt->version,
		           ntp_pkt_mode_name(pkt->mode), ntp_addr_format(from, name, sizeof name));
		return;
	}

	switch (pkt->mode) {
	case NTP_MODE_CLIENT:
	case NTP_MODE_UNSPEC:
		serve(h, pkt, len, from, to, flags);
		return;
	case NTP_MODE_SERVER:
	case NTP_MODE_ACTIVE:
	case NTP_MODE_PASSIVE:
		p = find_assoc(h, from, to, pkt->mode);
		if (p != NULL) {
			if (assoc_access_ok(h, p, pkt, flags)) {
				h->sysstats.processed++;
				assoc_receive(h, p, pkt, to);
			}
			return;
		}
		if (pkt->mode == NTP_MODE_ACTIVE) {
			new_passive(h, pkt, len, from, to, m);
			return;
		}
		break;
	default:
		break;
	}
	h->server.dropped_bad++;
	h->sysstats.declined++;
	host_event(h, NTP_EV_PKT_REJECTED, 0,
	           "%s packet from %s to port %u matches no association: dropped",
	           ntp_pkt_mode_name(pkt->mode), ntp_addr_format(from, name, sizeof name),
	           to != NULL ? (unsigned)to->port : 0u);
}

/* Sources no datagram may come from, as ntpd's receive() has them: port
 * 0 (no reply could reach it: ntpd counts it as a bogus port), and the
 * reference clock pseudo-addresses 127.127.t.u (any local process can send
 * from 127/8; they are never network peers).  NULL for a fine source. */
static const char *
bogus_source(const ntp_addr *from)
{
	if (from->port == 0) {
		return "source port 0";
	}
	if (from->family == NTP_AF_INET && from->a[0] == 127 && from->a[1] == 127) {
		return "a reference clock pseudo-address (127.127.t.u)";
	}
	return NULL;
}

void
ntp_host_recv(ntp_host *h, const ntp_addr *from, const ntp_addr *to, const uint8_t *buf, size_t len,
              ntp_now t_recv, ntp_actions *out)
{
	ntp_restrict_match m;
	ntp_pkt_err perr;
	ntp_pkt pkt;
	char name[48];
	int rc;

	if (h == NULL || h->exited) {
		return;
	}
	begin_call(h, out, t_recv);
	if (from == NULL || buf == NULL) {
		h->server.dropped_bad++;
		h->sysstats.badformat++;
		host_event(h, NTP_EV_PKT_REJECTED, 0, "datagram without source address or data");
		end_call(h);
		return;
	}
	h->sysstats.received++;
	m = ntp_restrict_lookup(h->res, h->n_res, from);
	if (m.flags & NTP_RES_IGNORE) {
		h->sysstats.ignored++;
		h->server.dropped_restrict++; /* ntpd: "ignore" means not even an event */
		end_call(h);
		return;
	}
	if (bogus_source(from) != NULL) {
		h->server.dropped_bad++;
		h->sysstats.declined++;
		host_event(h, NTP_EV_PKT_REJECTED, 0, "datagram from %s dropped: %s",
		           ntp_addr_format(from, name, sizeof name), bogus_source(from));
		end_call(h);
		return;
	}
	if (to != NULL && to->family != NTP_AF_NONE) {
		h->local_refid = ntp_addr_refid(to);
		h->local = *to;
	}
	rc = ntp_pkt_decode(buf, len, &pkt, &perr);
	h->rx_auth = NTP_AUTH_NONE;
	h->rx_keyid = 0;
	if (rc == NTP_PKT_OK) {
		h->rx_auth = ntp_mac_verify(h->keys, h->n_keys, buf, len, &pkt, &h->rx_keyid);
		count_version(&h->sysstats, &pkt);
		count_auth(h, h->rx_auth, h->rx_keyid);
		h->sysstats.badauth += h->rx_auth == NTP_AUTH_BAD ||
		                       h->rx_auth == NTP_AUTH_UNKNOWN ||
		                       h->rx_auth == NTP_AUTH_UNTRUSTED;
	}
	if (rc < 0) {
		h->server.dropped_bad++;
		h->sysstats.badformat++;
		host_event(h, NTP_EV_PKT_REJECTED, 0, "malformed packet from %s: %s",
		           ntp_addr_format(from, name, sizeof name), perr.msg);
	} else if (rc == NTP_PKT_IS_CONTROL || rc == NTP_PKT_IS_PRIVATE) {
		refuse_control(h, from, to, &m, rc, buf, len);
	} else {
		dispatch(h, &pkt, len, from, to, &m);
	}
	end_call(h);
}

/* ---- send time reports ---- */

/* The association whose outstanding request is this datagram: the key is
 * its destination and transmit timestamp (the origin the reply echoes). */
static ntp_peer *
outstanding_request(ntp_host *h, const ntp_addr *to, const uint8_t *buf, size_t len)
{
	ntp_pkt pkt;

	if (h == NULL || to == NULL || buf == NULL ||
	    ntp_pkt_decode(buf, len, &pkt, NULL) != NTP_PKT_OK || pkt.xmt == 0) {
		return NULL;
	}
	for (size_t i = 0; i < h->n_peers; i++) {
		ntp_peer *p = &h->peers[i];

		if (host_slot_used(p) && p->kind != NTP_PEER_LOCAL &&
		    ntp_peer_request_mode(p) == pkt.mode && p->aorg == pkt.xmt &&
		    ntp_addr_same_host(&p->addr, to) && p->addr.port == to->port) {
			return p;
		}
	}
	return NULL;
}

void
ntp_host_sent(ntp_host *h, const ntp_addr *to, const uint8_t *buf, size_t len, ntp_time when)
{
	uint64_t late_max = (uint64_t)ntp_time_from_s(NTP_HOST_SENT_LATE_MAX);
	ntp_peer *p = outstanding_request(h, to, buf, len);

	/* A request cannot leave before it was built, nor long after
	 * (unsigned: no overflow whatever the caller passes). */
	if (p != NULL && when >= p->t1 && (uint64_t)when - (uint64_t)p->t1 <= late_max) {
		p->t1 = when;
	}
}

void
ntp_host_sent_port(ntp_host *h, const ntp_addr *to, const uint8_t *buf, size_t len, uint16_t port)
{
	ntp_peer *p = outstanding_request(h, to, buf, len);

	if (p != NULL && p->kind == NTP_PEER_CLIENT && port != 0) {
		p->lport = port;
	}
}

/* ---- introspection ---- */

void
ntp_host_set_fault(ntp_host *h, const ntp_fault *f)
{
	if (h == NULL) {
		return;
	}
	if (f == NULL) {
		memset(&h->fault, 0, sizeof h->fault);
	} else {
		h->fault = *f;
	}
}

bool
ntp_host_uses_port(const ntp_host *h, uint16_t port)
{
	if (h == NULL || port == 0) {
		return false;
	}
	for (size_t i = 0; i < h->n_peers; i++) {
		if (host_slot_used(&h->peers[i]) && h->peers[i].lport == port) {
			return true;
		}
	}
	return false;
}

bool
ntp_host_exited(const ntp_host *h)
{
	return h != NULL && h->exited;
}

size_t
ntp_host_mem_size(const ntp_host *h)
{
	return h != NULL ? h->alloc_size : 0;
}
