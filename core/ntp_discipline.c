/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The disciplines ntplab has, and the checks of a config's choice (see
 * ntp_discipline.h).  A new discipline is one more line in `all`.
 */
#include "ntp_discipline.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ntp_ntpd.h"
#include "ntp_regress.h"

static const ntp_discipline *const all[] = {
        &ntp_ntpd_kernel,
        &ntp_ntpd_daemon,
        &ntp_regress,
};

const ntp_discipline *
ntp_discipline_at(size_t i)
{
	return i < sizeof all / sizeof all[0] ? all[i] : NULL;
}

const ntp_discipline *
ntp_discipline_find(const char *name)
{
	for (size_t i = 0; name != NULL && i < sizeof all / sizeof all[0]; i++) {
		if (strcmp(all[i]->name, name) == 0) {
			return all[i];
		}
	}
	return NULL;
}

const ntp_discipline *
ntp_discipline_for(const ntp_conf *c)
{
	if (c != NULL && c->discipline.name[0] != '\0') {
		return ntp_discipline_find(c->discipline.name);
	}
	return c != NULL && c->disable_kernel ? &ntp_ntpd_daemon : &ntp_ntpd_kernel;
}

const ntp_disc_param *
ntp_discipline_param_of(const ntp_discipline *d, const char *name)
{
	for (size_t i = 0; d != NULL && name != NULL && i < d->n_params; i++) {
		if (strcmp(d->params[i].name, name) == 0) {
			return &d->params[i];
		}
	}
	return NULL;
}

/* "a, b, c" of the discipline's parameters, or "none". */
static void
param_names(const ntp_discipline *d, char *buf, size_t size)
{
	size_t len = 0;

	snprintf(buf, size, "%s", d->n_params == 0 ? "none" : "");
	for (size_t i = 0; i < d->n_params && len < size; i++) {
		int w = snprintf(buf + len, size - len, "%s%s", i > 0 ? ", " : "",
		                 d->params[i].name);

		len += w > 0 ? (size_t)w : 0;
	}
}

static void
discipline_names(char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof all / sizeof all[0] && len < size; i++) {
		int w = snprintf(buf + len, size - len, "%s%s", i > 0 ? ", " : "", all[i]->name);

		len += w > 0 ? (size_t)w : 0;
	}
}

int
ntp_discipline_check_choice(const ntp_conf_discipline *cd, char *err, size_t errsize)
{
	const ntp_discipline *d;
	char names[256];

	if (cd->name[0] == '\0') {
		return 0;
	}
	d = ntp_discipline_find(cd->name);
	if (d == NULL) {
		discipline_names(names, sizeof names);
		snprintf(err, errsize, "unknown discipline '%s' (known: %s)", cd->name, names);
		return -1;
	}
	for (size_t i = 0; i < cd->n_params; i++) {
		const ntp_conf_disc_param *cp = &cd->params[i];
		const ntp_disc_param *p = ntp_discipline_param_of(d, cp->name);

		if (p == NULL) {
			param_names(d, names, sizeof names);
			snprintf(err, errsize, "discipline %s: unknown parameter '%s' (known: %s)",
			         d->name, cp->name, names);
			return -1;
		}
		if (!(cp->value >= p->min && cp->value <= p->max)) {
			snprintf(err, errsize, "discipline %s: %s %g is out of range [%g, %g]%s%s",
			         d->name, cp->name, cp->value, p->min, p->max,
			         p->unit != NULL ? " " : "", p->unit != NULL ? p->unit : "");
			return -1;
		}
		if (p->integer && cp->value != floor(cp->value)) {
			snprintf(err, errsize, "discipline %s: %s %g is not a whole number",
			         d->name, cp->name, cp->value);
			return -1;
		}
	}
	return 0;
}

int
ntp_discipline_check(const ntp_conf *c, char *err, size_t errsize)
{
	char why[384];
	const ntp_discipline *d;

	if (ntp_discipline_check_choice(&c->discipline, why, sizeof why) != 0) {
		snprintf(err, errsize, "%s:%d: %s", c->filename, c->discipline.line, why);
		return -1;
	}
	d = ntp_discipline_for(c);
	for (size_t i = 0; d != NULL && i < c->n_servers; i++) {
		const ntp_conf_server *cs = &c->servers[i];

		if (cs->minpoll < d->poll_min) {
			snprintf(err, errsize,
			         "%s:%d: minpoll %d: discipline %s polls every %g s at the fastest "
			         "(minpoll %d); sub-second polls need discipline regress",
			         c->filename, cs->line, cs->minpoll, d->name,
			         ldexp(1.0, d->poll_min), d->poll_min);
			return -1;
		}
	}
	return 0;
}

double
ntp_discipline_param(const ntp_conf *c, const char *name, double dflt)
{
	for (size_t i = 0; c != NULL && i < c->discipline.n_params; i++) {
		if (strcmp(c->discipline.params[i].name, name) == 0) {
			return c->discipline.params[i].value;
		}
	}
	return dflt;
}

const char *
ntp_disc_decision_why(ntp_disc_decision *o)
{
	if (o->why_note.kind != 0) {
		ntp_select_note_format(&o->why_note, o->why, sizeof o->why);
	}
	return o->why;
}

const char *
ntp_disc_decision_reason(ntp_disc_decision *o)
{
	return ntp_disc_note_flush(&o->note, o->reason, sizeof o->reason);
}
