/*
 * diag: diagnostics the way a C compiler prints them.
 *
 *   editions/care.yaml:12:5: error: unknown key 'fnot_scale' in theme; did you mean 'font_scale'? [unknown-key]
 *      12 |     fnot_scale: 1.4
 *         |     ^
 *   editions/mass.yaml:40:5: note: inherited from here
 *
 * Phases report into one diag_ctx and go on; the driver prints everything at the
 * end (every error of a run, in the order found), as text or as JSON for CI.
 * Codes are short kebab-case names (`unknown-key`, `extends-cycle`); the golden
 * tests pin them, so a code once given never changes meaning.
 */
#ifndef DIAG_H
#define DIAG_H

#include <stddef.h>
#include <stdio.h>

#include "node.h"

typedef enum diag_severity { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE } diag_severity;

typedef struct diag_ctx diag_ctx;

diag_ctx *diag_new(void);
void diag_free(diag_ctx *d);
void diag_set_werror(diag_ctx *d, int on);            /* warnings count as errors */

/*
 * The length of the line break at s (n bytes left): 2 for "\r\n", 1 for "\n" or "\r",
 * 2 or 3 for U+0085, U+2028, U+2029 (libyaml counts these as line breaks too), 0
 * when s does not start with one. Everyone who turns offsets into lines uses it,
 * so line numbers agree with libyaml's.
 */
size_t diag_line_break(const char *s, size_t n);

/* Registers a source text so that messages can quote its lines. The text is copied. */
void diag_add_source(diag_ctx *d, const char *file, const char *text, size_t len);

/* Reports an error or warning. pos.file may be NULL for messages about no file. */
void diag_report(diag_ctx *d, diag_severity sev, src_pos pos, const char *code,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Attaches a note to the last error or warning reported. */
void diag_note(diag_ctx *d, src_pos pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * Notes for the inheritance chain of a value: "note: inherited from FILE:L:C" when the
 * value was copied from a base, then one "note: overrides the value inherited from
 * FILE:L:C" per replaced value. In text these notes carry the place in the message;
 * JSON gives it as file/line/column too.
 */
void diag_note_origin(diag_ctx *d, const node *value);

/*
 * "did you mean": the candidate closest to word (Damerau-Levenshtein), or NULL when
 * none is close enough (distance <= max(1, strlen(word) / 3)). Candidates equal to
 * word are skipped.
 */
const char *diag_suggest(const char *word, const char *const *candidates, size_t n);

int diag_errors(const diag_ctx *d);                   /* errors, plus warnings under -Werror */
int diag_warnings(const diag_ctx *d);

typedef enum diag_format { DIAG_TEXT, DIAG_JSON } diag_format;
/*
 * Prints every collected diagnostic in report order; text ends, when there is any,
 * with a summary like clang's: "2 errors generated.", "1 warning and 2 errors generated."
 * color: ANSI colours (bold, red error, magenta warning, cyan note); only when asked.
 */
void diag_print(const diag_ctx *d, FILE *out, diag_format fmt, int color);

#endif
