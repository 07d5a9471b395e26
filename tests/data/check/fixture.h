/*
 * fixture.h: a small bank project for the check and policy tests.
 *
 * The default project is tests/data/check/project/ (one edition, `mass`, its
 * products, both locales and two flow scripts), read as if it lived under
 * editions/. A test replaces one piece of text (fx_sub), builds the project with
 * its own files over the defaults (fx_build), runs a phase and asserts the exact
 * diagnostic at the exact position (fx_expect), the position being computed from
 * where the needle sits in the text the test built.
 *
 * Implemented in tests/test_check.c.
 */
#ifndef TEST_CHECK_FIXTURE_H
#define TEST_CHECK_FIXTURE_H

#include <stddef.h>

#include "model.h"

typedef struct fx_file {
	const char *path;           /* "editions/mass.yaml", "editions/i18n/en-US.yaml", ... */
	const char *text;           /* NULL drops a default file */
} fx_file;

/* A file of tests/data/check/project/; caller frees. */
char *fx_read(const char *name);
/* text with the single occurrence of old replaced by new_text; frees text, caller frees the result. */
char *fx_sub(char *text, const char *old, const char *new_text);
/* The default files with `over` put over them, loaded and resolved; free with project_free. */
project *fx_build(const fx_file *over, size_t n);
/* Every diagnostic of p, as text without colour; caller frees. */
char *fx_diags(project *p);
/* line and col of the first needle in text at or after the first `after` (NULL: the start). */
void fx_pos(const char *text, const char *after, const char *needle, int *line, int *col);
/* Asserts that p's diagnostics, as text, contain want. */
void fx_expect_text(project *p, const char *want);
/*
 * Asserts that p reported "<file>:<line>:<col>: <sev>: <msg>" where line:col is the
 * first occurrence of needle in text at or after the first occurrence of after
 * (NULL: from the start); a quoted value's position is its opening quote.
 */
void fx_expect_at(project *p, const char *file, const char *text, const char *after,
		  const char *needle, const char *sev, const char *msg);
#define fx_expect(p, file, text, needle, sev, msg) fx_expect_at(p, file, text, NULL, needle, sev, msg)
/* Asserts that p reported nothing at all. */
void fx_expect_clean(project *p);

#endif
