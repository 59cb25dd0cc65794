/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The values of a check's fields that are more than one number: ranges,
 * counts, a check's reference (`since`), a comparison with another node
 * (`more_than`, `less_than`) and the variables of a `state` check
 * (docs/scenarios.md, "Checks").
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntp_host.h"
#include "ntp_units.h"
#include "sim_check.h"
#include "sim_scenario_load.h"

#define STRATUM_MAX     16   /* ntpq's unsynchronised stratum */
#define POLL_MIN        (-7) /* log2 s: what a poll exponent may be (ours) */
#define POLL_MAX        17   /* log2 s, NTP_MAXPOLL */
#define REACH_MAX       0377 /* the 8-bit reach register */
#define REFID_CHARS_MAX 15   /* "255.255.255.255" */
#define FACTOR_MAX      1e9  /* a comparison's factor (ours) */

/* Words of events.log's `what` column that are not host event names. */
static const char *const log_words[] = {"daemon", "scenario", "fault", "query", "dns", NULL};

int
ld_event_code_from_name(const char *s)
{
	/* The host names its codes; the list ends where names run out. */
	for (int code = 1; code < 256; code++) {
		const char *name = ntp_event_name(code);

		if (name == NULL || name[0] == '\0' || strcmp(name, "unknown") == 0) {
			break;
		}
		if (strcmp(name, s) == 0) {
			return code;
		}
	}
	return 0;
}

int
ld_get_event_name(loader *ld, const yaml_node_t *v, char *out, size_t size, int *code)
{
	const char *s = ld_scalar(ld, v, "an event name");

	if (s == NULL) {
		return -1;
	}
	*code = ld_event_code_from_name(s);
	if (*code == 0) {
		return ld_fail(ld, v,
		               "unknown event name '%.40s' (names as ntpq shows them, e.g. "
		               "clock_step, sys_peer, no_sys_peer)",
		               s);
	}
	snprintf(out, size, "%s", s);
	return 0;
}

int
ld_get_what(loader *ld, const yaml_node_t *v, char *out, size_t size)
{
	const char *s = ld_scalar(ld, v, "an events.log word");

	if (s == NULL) {
		return -1;
	}
	if (!ld_in_list(s, log_words) && ld_event_code_from_name(s) == 0) {
		return ld_fail(
		        ld, v,
		        "unknown events.log word '%.40s' (daemon, scenario, fault, query, dns, "
		        "or an event name such as sys_peer, clock_step)",
		        s);
	}
	snprintf(out, size, "%s", s);
	return 0;
}

int
ld_get_check_time(loader *ld, const yaml_node_t *v, double *out)
{
	const char *s = ld_scalar(ld, v, "a time or end");

	if (s == NULL) {
		return -1;
	}
	if (strcmp(s, "end") == 0) {
		*out = INFINITY;
		return 0;
	}
	if (ld_get_time_nonneg(ld, v, out) != 0) {
		return -1;
	}
	return ld_check_in_run(ld, v, *out, true,
	                       "the check would judge a state the run never reaches (write "
	                       "end for the end)");
}

/* One end of a range: a time, or inf / -inf for no limit. */
static int
get_bound(loader *ld, const yaml_node_t *v, bool negative_ok, double *out)
{
	const char *s = ld_scalar(ld, v, "a time or inf");

	if (s == NULL) {
		return -1;
	}
	if (strcmp(s, "inf") == 0 || (negative_ok && strcmp(s, "-inf") == 0)) {
		*out = s[0] == '-' ? -INFINITY : INFINITY;
		return 0;
	}
	if (ld_get_duration(ld, v, out) != 0) {
		return -1;
	}
	if (!negative_ok && *out < 0.0) {
		return ld_fail(ld, v, "expected a time >= 0");
	}
	return 0;
}

int
ld_get_time_range(loader *ld, const yaml_node_t *v, bool negative_ok, double *lo, double *hi)
{
	double b[2];

	if (v->type != YAML_SEQUENCE_NODE || ld_seq_len(v) != 2) {
		return ld_fail(ld, v,
		               "expected a range [min, max] such as [450, 1200]%s (inf: no limit)",
		               negative_ok ? " or [-70, 70]" : "");
	}
	for (size_t i = 0; i < 2; i++) {
		size_t mark = ld_path_index(ld, i);
		int rc = get_bound(ld, ld_seq_item(ld, v, i), negative_ok, &b[i]);

		ld_path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	}
	if (b[0] > b[1]) {
		return ld_fail(ld, v, "the range's min (%g s) is larger than its max (%g s)", b[0],
		               b[1]);
	}
	*lo = b[0];
	*hi = b[1];
	return 0;
}

int
ld_get_time_floor(loader *ld, const yaml_node_t *v, double *lo, double *hi)
{
	if (v->type == YAML_SEQUENCE_NODE) {
		return ld_get_time_range(ld, v, false, lo, hi);
	}
	*hi = INFINITY;
	return get_bound(ld, v, false, lo);
}

int
ld_get_count(loader *ld, const yaml_node_t *v, long long *min, long long *max)
{
	const char *s = ld_scalar(ld, v, "a count");
	const char *dash;
	char a[32];

	if (s == NULL) {
		return -1;
	}
	dash = strchr(s, '-');
	if (dash == NULL) {
		if (ntp_parse_int(s, 0, LLONG_MAX, min) != 0) {
			return ld_fail(ld, v, "expected a count such as 3 or 9-10, got '%.60s'", s);
		}
		*max = *min;
		return 0;
	}
	snprintf(a, sizeof(a), "%.*s", (int)(dash - s) < 31 ? (int)(dash - s) : 31, s);
	if (ntp_parse_int(a, 0, LLONG_MAX, min) != 0 ||
	    ntp_parse_int(dash + 1, 0, LLONG_MAX, max) != 0) {
		return ld_fail(ld, v, "expected a count such as 3 or 9-10, got '%.60s'", s);
	}
	if (*min > *max) {
		return ld_fail(ld, v, "count %lld-%lld: the first is larger than the second", *min,
		               *max);
	}
	return 0;
}

/* The second node of a check: one node, the same for `since` and a
 * comparison. */
static int
set_other(loader *ld, const yaml_node_t *v, sim_check_spec *c)
{
	sim_range r;

	if (ld_get_node_ref(ld, v, &r, true) != 0) {
		return -1;
	}
	if (c->other.count == 1 && c->other.first != r.first) {
		return ld_fail(ld, v,
		               "a check names one other node; 'since' and the comparison "
		               "name different ones");
	}
	c->other = r;
	return 0;
}

/* One field of a small mapping, by its index in the mapping's keys. */
typedef void (*field_getter)(loader *ld, int i, const yaml_node_t *v, sim_check_spec *c);

/* Hand each field of mapping v to get (unknown and repeated fields are
 * errors); *seen gets a bit per key given.  Returns the errors found. */
static int
read_fields(loader *ld, const yaml_node_t *v, const char *const *keys, const char *where,
            field_getter get, sim_check_spec *c, uint64_t *seen)
{
	unsigned errors = ld->n_errors;

	*seen = 0;
	FOR_PAIRS(v, pr)
	{
		yaml_node_t *k = ld_get(ld, pr->key), *x = ld_get(ld, pr->value);
		int i = ld_key_index(ld, k, keys, seen, where);
		size_t mark;

		if (i < 0) {
			continue;
		}
		mark = ld_path_key(ld, keys[i]);
		get(ld, i, x, c);
		ld_path_restore(ld, mark);
	}
	return ld_errors_since(ld, errors);
}

/* since: {node, name, reason} in an event check, {node, what, text} in a
 * log check: the keys of the check itself. */
static void
get_since_field(loader *ld, int i, const yaml_node_t *x, sim_check_spec *c)
{
	int code;

	if (i == 0) {
		set_other(ld, x, c);
	} else if (i == 1 && c->kind == SIM_CHECK_EVENT) {
		ld_get_event_name(ld, x, c->since_match.what, sizeof(c->since_match.what), &code);
	} else if (i == 1) {
		ld_get_what(ld, x, c->since_match.what, sizeof(c->since_match.what));
	} else {
		ld_get_text(ld, x, c->since_match.text, sizeof(c->since_match.text),
		            "text to find");
	}
}

int
ld_get_since(loader *ld, const yaml_node_t *v, sim_check_spec *c)
{
	static const char *const event_keys[] = {"node", "name", "reason", NULL};
	static const char *const log_keys[] = {"node", "what", "text", NULL};
	const char *const *keys = c->kind == SIM_CHECK_EVENT ? event_keys : log_keys;
	uint64_t seen;

	if (v->type != YAML_MAPPING_NODE) {
		if (ld_get_time_nonneg(ld, v, &c->since) != 0) {
			return -1;
		}
		return ld_check_in_run(ld, v, c->since, true, "no line can come after it");
	}
	if (read_fields(ld, v, keys, "'since'", get_since_field, c, &seen) != 0) {
		return -1;
	}
	if (c->since_match.what[0] == '\0') {
		return ld_fail(ld, v,
		               "'since' needs '%s': the line whose first time is the reference",
		               keys[1]);
	}
	c->since_line = true;
	return 0;
}

static void
get_compare_field(loader *ld, int i, const yaml_node_t *x, sim_check_spec *c)
{
	if (i == 0) {
		set_other(ld, x, c);
	} else if (ld_get_number(ld, x, &c->factor) == 0 &&
	           !(c->factor > 0.0 && c->factor <= FACTOR_MAX)) {
		ld_fail(ld, x, "expected a factor > 0 and <= %g", FACTOR_MAX);
	}
}

int
ld_get_compare(loader *ld, const yaml_node_t *v, int cmp, sim_check_spec *c)
{
	static const char *const keys[] = {"node", "factor", NULL};
	uint64_t seen;

	if (ld_expect_mapping(ld, v, "{node: NAME, factor: F}") != 0) {
		return -1;
	}
	if (c->cmp != SIM_CMP_NONE) {
		return ld_fail(ld, v, "give 'more_than' or 'less_than', not both");
	}
	c->factor = 1.0;
	if (read_fields(ld, v, keys, "a comparison", get_compare_field, c, &seen) != 0) {
		return -1;
	}
	if (!(seen & 1u)) {
		return ld_fail(ld, v, "a comparison needs 'node': the node to compare with");
	}
	c->cmp = cmp;
	return 0;
}

/* ------------------------------------------------------------------ */
/* state variables                                                     */

/* ntpq shows the reach register in octal: so is it written here. */
static int
parse_octal(const char *s, long long *out)
{
	long long v = 0;

	if (*s == '\0' || strlen(s) > 4) {
		return -1;
	}
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '7') {
			return -1;
		}
		v = v * 8 + (*s - '0');
	}
	*out = v;
	return v <= REACH_MAX ? 0 : -1;
}

static int
get_int_value(loader *ld, const yaml_node_t *v, int field, long long *out)
{
	const char *s = ld_scalar(ld, v, "an integer");

	if (s == NULL) {
		return -1;
	}
	if (field == SIM_SF_REACH) {
		if (parse_octal(s, out) != 0) {
			return ld_fail(
			        ld, v,
			        "expected the reach register in octal as ntpq shows it (0 to "
			        "377), got '%.40s'",
			        s);
		}
		return 0;
	}
	if (field == SIM_SF_POLL) {
		if (ntp_parse_int(s, LLONG_MIN, LLONG_MAX, out) == 0 && *out > POLL_MAX) {
			return ld_fail(
			        ld, v,
			        "poll %lld: poll is log2 s (ntpq's 1024 is poll: 10), from %d "
			        "to %d",
			        *out, POLL_MIN, POLL_MAX);
		}
		return ld_get_int(ld, v, POLL_MIN, POLL_MAX, out);
	}
	return ld_get_int(ld, v, 0, field == SIM_SF_LEAP ? LD_LEAP_MAX : STRATUM_MAX, out);
}

/* stratum, leap, poll, reach: a value or [min, max]. */
static int
get_int_cond(loader *ld, const yaml_node_t *v, sim_state_cond *k)
{
	long long b[2];

	if (v->type != YAML_SEQUENCE_NODE) {
		if (get_int_value(ld, v, k->field, &b[0]) != 0) {
			return -1;
		}
		k->lo = k->hi = (double)b[0];
		return 0;
	}
	if (ld_seq_len(v) != 2) {
		return ld_fail(ld, v, "expected a value or a range [min, max] such as [6, 10]");
	}
	for (size_t i = 0; i < 2; i++) {
		size_t mark = ld_path_index(ld, i);
		int rc = get_int_value(ld, ld_seq_item(ld, v, i), k->field, &b[i]);

		ld_path_restore(ld, mark);
		if (rc != 0) {
			return -1;
		}
	}
	if (b[0] > b[1]) {
		return ld_fail(ld, v, "the range's min is larger than its max");
	}
	k->lo = (double)b[0];
	k->hi = (double)b[1];
	return 0;
}

/* type and tally: one character of ntpq's column. */
static int
get_char_cond(loader *ld, const yaml_node_t *v, sim_state_cond *k)
{
	const char *set = k->field == SIM_SF_TYPE ? "ulsbmp" : " x.-+#*o";
	const char *s = ld_scalar(ld, v, "one character");

	if (s == NULL) {
		return -1;
	}
	if (strlen(s) != 1 || strchr(set, s[0]) == NULL) {
		return ld_fail(ld, v, "expected one of ntpq's %s characters (%s), got '%.20s'",
		               k->field == SIM_SF_TYPE ? "type" : "tally",
		               k->field == SIM_SF_TYPE ? "u l s b m p"
		                                       : "\" \" x . - + # * o; quote the blank",
		               s);
	}
	snprintf(k->text, sizeof(k->text), "%s", s);
	return 0;
}

static int
get_flag_cond(loader *ld, const yaml_node_t *v, sim_state_cond *k)
{
	bool b;

	if (ld_get_bool(ld, v, &b) != 0) {
		return -1;
	}
	k->lo = k->hi = b ? 1.0 : 0.0;
	return 0;
}

/* when: never, or a range of seconds. */
static int
get_when_cond(loader *ld, const yaml_node_t *v, sim_state_cond *k)
{
	if (v->type == YAML_SCALAR_NODE &&
	    strcmp((const char *)v->data.scalar.value, "never") == 0) {
		k->lo = k->hi = -1.0; /* the view's "no valid packet yet" */
		return 0;
	}
	if (v->type != YAML_SEQUENCE_NODE) {
		return ld_fail(ld, v,
		               "expected never (ntpq's '-') or a range [min, max] of seconds");
	}
	return ld_get_time_range(ld, v, false, &k->lo, &k->hi);
}

int
ld_get_state_cond(loader *ld, const yaml_node_t *v, int field, sim_state_cond *k)
{
	memset(k, 0, sizeof(*k));
	k->field = field;
	switch (field) {
	case SIM_SF_STRATUM:
	case SIM_SF_LEAP:
	case SIM_SF_POLL:
	case SIM_SF_REACH:
		return get_int_cond(ld, v, k);
	case SIM_SF_RUNNING:
	case SIM_SF_PRESENT:
		return get_flag_cond(ld, v, k);
	case SIM_SF_EST_ERROR:
		return ld_get_time_range(ld, v, true, &k->lo, &k->hi);
	case SIM_SF_WHEN:
		return get_when_cond(ld, v, k);
	case SIM_SF_TYPE:
	case SIM_SF_TALLY:
		return get_char_cond(ld, v, k);
	case SIM_SF_REFID:
		if (ld_get_text(ld, v, k->text, REFID_CHARS_MAX + 1, "a refid such as .INIT.") !=
		    0) {
			return -1;
		}
		return 0;
	default:
		return ld_get_text(ld, v, k->text, sizeof(k->text), "text to find");
	}
}
