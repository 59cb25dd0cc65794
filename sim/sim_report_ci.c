/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The checks' verdicts for CI systems: JUnit XML (one <testcase> per check,
 * a <failure> with the detail when it failed; Jenkins, GitLab and GitHub
 * test reporters read it) and TAP version 13 (one test point per check, the
 * detail as a YAML diagnostic block; prove and tap-junit read it).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sim_check.h"
#include "sim_report.h"

/* Text as XML character data or attribute value. */
static void
xml_text(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			/* XML 1.0 allows no control characters but tab, LF, CR. */
			fputc(*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r' ? '?' : *p, f);
		}
	}
}

static void
junit_write(const sim_world *w, FILE *f)
{
	const sim_scenario *sc = w->sc;

	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"", f);
	xml_text(f, sc->name);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\">\n", sc->n_checks,
	        w->checks_failed);
	fprintf(f, "    <properties><property name=\"seed\" value=\"%llu\"/>",
	        (unsigned long long)w->seed);
	fputs("<property name=\"file\" value=\"", f);
	xml_text(f, sc->file);
	fputs("\"/></properties>\n", f);
	for (size_t i = 0; i < sc->n_checks; i++) {
		const sim_check_spec *c = &sc->checks[i];

		fputs("    <testcase classname=\"ntpsim.", f);
		xml_text(f, sc->name);
		fputs("\" name=\"", f);
		xml_text(f, sc->file);
		fprintf(f, ":%d ", c->line);
		xml_text(f, c->label);
		fputs("\">", f);
		if (!w->outcome[i].pass) {
			fputs("<failure message=\"", f);
			xml_text(f, w->outcome[i].detail);
			fprintf(f, "\" type=\"%s\"/>", sim_check_kind_name(c->kind));
		}
		fputs("<system-out>", f);
		xml_text(f, w->outcome[i].detail);
		fputs("</system-out></testcase>\n", f);
	}
	fputs("  </testsuite>\n</testsuites>\n", f);
}

/* A TAP description may not contain '#' (it starts a directive). */
static void
tap_desc(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		fputc(*s == '#' || *s == '\n' ? ' ' : *s, f);
	}
}

static void
tap_write(const sim_world *w, FILE *f)
{
	const sim_scenario *sc = w->sc;

	fprintf(f, "TAP version 13\n1..%zu\n", sc->n_checks);
	for (size_t i = 0; i < sc->n_checks; i++) {
		const sim_check_spec *c = &sc->checks[i];

		fprintf(f, "%s %zu - %s:%d ", w->outcome[i].pass ? "ok" : "not ok", i + 1, sc->file,
		        c->line);
		tap_desc(f, c->label);
		fputs("\n  ---\n  kind: ", f);
		fputs(sim_check_kind_name(c->kind), f);
		fputs("\n  detail: \"", f);
		for (const char *p = w->outcome[i].detail; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\') {
				fputc('\\', f);
			}
			fputc(*p, f);
		}
		fprintf(f, "\"\n  seed: %llu\n  ...\n", (unsigned long long)w->seed);
	}
}

/* Write one verdict file; path "-" is stdout. */
static int
write_one(const sim_world *w, const char *path, void (*fn)(const sim_world *, FILE *), char *err,
          size_t errsize)
{
	bool out = strcmp(path, "-") == 0;
	FILE *f = out ? stdout : fopen(path, "w");

	if (f == NULL) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return -1;
	}
	fn(w, f);
	if (out ? fflush(f) != 0 : fclose(f) != 0) {
		snprintf(err, errsize, "%s: write failed", path);
		return -1;
	}
	return 0;
}

int
sim_report_ci(const sim_world *w, char *err, size_t errsize)
{
	if (w->o->junit_path != NULL &&
	    write_one(w, w->o->junit_path, junit_write, err, errsize) != 0) {
		return -1;
	}
	if (w->o->tap_path != NULL && write_one(w, w->o->tap_path, tap_write, err, errsize) != 0) {
		return -1;
	}
	return 0;
}
