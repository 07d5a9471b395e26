/*
 * diag: collected diagnostics, printed like a C compiler's.
 *
 * Phases report and carry on; every diagnostic is kept in report order with its
 * notes, and diag_print writes them all at the end, as text or as one JSON
 * document. Messages and source texts are copied, so callers may pass
 * temporaries.
 *
 * Columns are 1-based character (code point) positions, as libyaml counts them.
 * The caret line is aligned by display width: a tab advances to the next multiple
 * of 8 (the source line is printed with its tabs expanded the same way) and East
 * Asian wide characters take two cells, so the caret lands under the character on
 * a terminal.
 *
 * Under -Werror a warning counts and prints as an error, with the code shown as
 * [-Werror,code], like gcc and clang.
 */
#include "diag.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

typedef struct diag_note_entry {
	src_pos pos;                /* file NULL: no position */
	int bare;                   /* position only in the message (text); still in JSON */
	char *msg;
} diag_note_entry;

typedef struct diag_entry {
	diag_severity sev;
	src_pos pos;
	char *code;
	char *msg;
	diag_note_entry *notes;
	size_t n_notes;
	unsigned long hash;         /* of severity, position, code and message */
	int duplicate;              /* same as an earlier entry: counted and printed once */
} diag_entry;

typedef struct diag_source {
	char *file;
	char *text;
	size_t len;
	size_t *lines;              /* byte offset of each line start */
	size_t n_lines;
} diag_source;

struct diag_ctx {
	diag_entry *entries;
	size_t n, alloc;
	diag_source *sources;
	size_t n_sources;
	int werror;
	int n_errors, n_warnings;
};

diag_ctx *diag_new(void)
{
	return xcalloc(1, sizeof(diag_ctx));
}

void diag_free(diag_ctx *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		diag_entry *e = &d->entries[i];
		free((char *)e->pos.file);
		free(e->code);
		free(e->msg);
		for (size_t j = 0; j < e->n_notes; j++) {
			free((char *)e->notes[j].pos.file);
			free(e->notes[j].msg);
		}
		free(e->notes);
	}
	free(d->entries);
	for (size_t i = 0; i < d->n_sources; i++) {
		free(d->sources[i].file);
		free(d->sources[i].text);
		free(d->sources[i].lines);
	}
	free(d->sources);
	free(d);
}

void diag_set_werror(diag_ctx *d, int on)
{
	d->werror = on;
}

size_t diag_line_break(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	if (n == 0)
		return 0;
	if (u[0] == '\n')
		return 1;
	if (u[0] == '\r')
		return n > 1 && u[1] == '\n' ? 2 : 1;
	if (n > 1 && u[0] == 0xc2 && u[1] == 0x85)
		return 2;
	if (n > 2 && u[0] == 0xe2 && u[1] == 0x80 && (u[2] == 0xa8 || u[2] == 0xa9))
		return 3;
	return 0;
}

void diag_add_source(diag_ctx *d, const char *file, const char *text, size_t len)
{
	diag_source *s = NULL;
	for (size_t i = 0; i < d->n_sources; i++)
		if (!strcmp(d->sources[i].file, file))
			s = &d->sources[i];
	if (s) {
		free(s->text);
		free(s->lines);
	} else {
		d->sources = xrealloc(d->sources, (d->n_sources + 1) * sizeof(diag_source));
		s = &d->sources[d->n_sources++];
		s->file = xstrdup(file);
	}
	s->text = xstrndup(text, len);
	s->len = len;
	size_t alloc = 64;
	s->lines = xmalloc(alloc * sizeof(size_t));
	s->n_lines = 0;
	s->lines[s->n_lines++] = 0;
	for (size_t i = 0; i < len;) {
		size_t b = diag_line_break(text + i, len - i);
		if (!b) {
			i++;
			continue;
		}
		i += b;
		if (s->n_lines == alloc) {
			alloc *= 2;
			s->lines = xrealloc(s->lines, alloc * sizeof(size_t));
		}
		s->lines[s->n_lines++] = i;
	}
}

static src_pos pos_copy(src_pos pos)
{
	src_pos c = pos;
	c.file = pos.file ? xstrdup(pos.file) : NULL;
	return c;
}

static int same_pos(src_pos a, src_pos b)
{
	if (a.line != b.line || a.col != b.col)
		return 0;
	if (!a.file || !b.file)
		return a.file == b.file;
	return strcmp(a.file, b.file) == 0;
}

static unsigned long entry_hash(const diag_entry *e)
{
	unsigned long h = 5381u * 33u + (unsigned long)e->sev;
	const char *parts[] = { e->pos.file ? e->pos.file : "", e->code, e->msg };
	for (size_t i = 0; i < 3; i++)
		for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++)
			h = h * 33u + *p;
	return h * 33u + (unsigned long)e->pos.line * 7919u + (unsigned long)e->pos.col;
}

/*
 * An error in a base is found once for every edition that inherits it; the
 * product owner needs to read it once. An entry equal to an earlier one
 * (severity, position, code, message) is kept, so that notes attach to it as
 * usual, but it is neither counted nor printed.
 */
static int is_duplicate(const diag_ctx *d, const diag_entry *e)
{
	for (size_t i = 0; i + 1 < d->n; i++) {
		const diag_entry *o = &d->entries[i];
		if (o->hash == e->hash && o->sev == e->sev && !o->duplicate &&
		    same_pos(o->pos, e->pos) && strcmp(o->code, e->code) == 0 &&
		    strcmp(o->msg, e->msg) == 0)
			return 1;
	}
	return 0;
}

static char *vformat(const char *fmt, va_list ap)
{
	strbuf sb = STRBUF_INIT;
	strbuf_vaddf(&sb, fmt, ap);
	return strbuf_detach(&sb, NULL);
}

void diag_report(diag_ctx *d, diag_severity sev, src_pos pos, const char *code,
		 const char *fmt, ...)
{
	if (sev == DIAG_NOTE) {
		va_list ap;
		va_start(ap, fmt);
		char *msg = vformat(fmt, ap);
		va_end(ap);
		diag_note(d, pos, "%s", msg);
		free(msg);
		return;
	}
	if (d->n == d->alloc) {
		d->alloc = d->alloc ? d->alloc * 2 : 16;
		d->entries = xrealloc(d->entries, d->alloc * sizeof(diag_entry));
	}
	diag_entry *e = &d->entries[d->n++];
	memset(e, 0, sizeof *e);
	e->sev = sev;
	e->pos = pos_copy(pos);
	e->code = xstrdup(code ? code : "");
	va_list ap;
	va_start(ap, fmt);
	e->msg = vformat(fmt, ap);
	va_end(ap);
	e->hash = entry_hash(e);
	e->duplicate = is_duplicate(d, e);
	if (e->duplicate)
		return;
	if (sev == DIAG_ERROR)
		d->n_errors++;
	else
		d->n_warnings++;
}

static void add_note(diag_ctx *d, src_pos pos, int bare, char *msg)
{
	if (!d->n) {            /* a note needs something to belong to */
		free(msg);
		return;
	}
	diag_entry *e = &d->entries[d->n - 1];
	e->notes = xrealloc(e->notes, (e->n_notes + 1) * sizeof(diag_note_entry));
	diag_note_entry *nt = &e->notes[e->n_notes++];
	nt->pos = pos_copy(pos);
	nt->bare = bare;
	nt->msg = msg;
}

void diag_note(diag_ctx *d, src_pos pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = vformat(fmt, ap);
	va_end(ap);
	add_note(d, pos, 0, msg);
}

static char *pos_text(src_pos pos)
{
	strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s:%d:%d", pos.file ? pos.file : "<unknown>", pos.line, pos.col);
	return strbuf_detach(&sb, NULL);
}

void diag_note_origin(diag_ctx *d, const node *value)
{
	if (!value)
		return;
	if (value->inherited && value->pos.file) {
		char *where = pos_text(value->pos);
		strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "inherited from %s", where);
		add_note(d, value->pos, 1, strbuf_detach(&sb, NULL));
		free(where);
	}
	int steps = 0;
	for (const node *o = value->overrides; o && steps < 64; o = o->overrides, steps++) {
		char *where = pos_text(o->pos);
		strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "overrides the value inherited from %s", where);
		add_note(d, o->pos, 1, strbuf_detach(&sb, NULL));
		free(where);
	}
}

/* ---- did you mean ---- */

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/*
 * Optimal string alignment distance in half steps: an edit costs 2, a change of
 * letter case only 1, so "Transfer" is nearer to "transfer" than any real typo.
 */
static size_t osa_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t w = lb + 1;
	size_t *m = xmalloc((la + 1) * w * sizeof(size_t));
	for (size_t i = 0; i <= la; i++)
		m[i * w] = 2 * i;
	for (size_t j = 0; j <= lb; j++)
		m[j] = 2 * j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			int ca = (unsigned char)a[i - 1], cb = (unsigned char)b[j - 1];
			size_t sub = ca == cb ? 0 : lower(ca) == lower(cb) ? 1 : 2;
			size_t best = m[(i - 1) * w + j - 1] + sub;
			if (m[(i - 1) * w + j] + 2 < best)
				best = m[(i - 1) * w + j] + 2;
			if (m[i * w + j - 1] + 2 < best)
				best = m[i * w + j - 1] + 2;
			if (i > 1 && j > 1 && ca == (unsigned char)b[j - 2] && (unsigned char)a[i - 2] == cb
			    && m[(i - 2) * w + j - 2] + 2 < best)
				best = m[(i - 2) * w + j - 2] + 2;
			m[i * w + j] = best;
		}
	}
	size_t r = m[la * w + lb];
	free(m);
	return r;
}

static int same_ignoring_case(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (lower((unsigned char)*a) != lower((unsigned char)*b))
			return 0;
	return *a == *b;
}

const char *diag_suggest(const char *word, const char *const *candidates, size_t n)
{
	if (!word)
		return NULL;
	size_t lw = strlen(word);
	size_t limit = 2 * (lw / 3 > 1 ? lw / 3 : 1);
	const char *best = NULL;
	size_t best_d = SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		const char *c = candidates[i];
		if (!c || !strcmp(c, word))
			continue;
		size_t lc = strlen(c);
		size_t gap = lc > lw ? lc - lw : lw - lc;
		int case_only = same_ignoring_case(c, word);
		if (!case_only && 2 * gap > limit)
			continue;
		size_t dist = osa_distance(word, lw, c, lc);
		if ((dist <= limit || case_only) && dist < best_d) {
			best = c;
			best_d = dist;
		}
	}
	return best;
}

int diag_errors(const diag_ctx *d)
{
	return d->n_errors + (d->werror ? d->n_warnings : 0);
}

int diag_warnings(const diag_ctx *d)
{
	return d->werror ? 0 : d->n_warnings;
}

/* ---- printing: text ---- */

static const diag_source *find_source(const diag_ctx *d, const char *file)
{
	if (!file)
		return NULL;
	for (size_t i = 0; i < d->n_sources; i++)
		if (!strcmp(d->sources[i].file, file))
			return &d->sources[i];
	return NULL;
}

/* Decodes one UTF-8 character; a malformed byte reads as itself, one column wide. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned c = s[0];
	size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
	if (len == 0 || len > n)
		goto bad;
	uint32_t v = len == 1 ? c : c & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto bad;
		v = (v << 6) | (s[i] & 0x3f);
	}
	*cp = v;
	return len;
bad:
	*cp = 0xfffd;
	return 1;
}

static int char_width(uint32_t c)
{
	if ((c >= 0x300 && c <= 0x36f) || (c >= 0x200b && c <= 0x200f) || c == 0xfeff ||
	    (c >= 0xfe00 && c <= 0xfe0f))
		return 0;
	if ((c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0x303e) ||
	    (c >= 0x3041 && c <= 0x33ff) || (c >= 0x3400 && c <= 0x4dbf) ||
	    (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xa000 && c <= 0xa4cf) ||
	    (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
	    (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
	    (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1f64f) ||
	    (c >= 0x1f900 && c <= 0x1f9ff) || (c >= 0x20000 && c <= 0x3fffd))
		return 2;
	return 1;
}

/*
 * Prints the source line with tabs expanded and returns, in *caret, the display
 * column (0-based) of character col (1-based); past the end it is the line's end.
 */
static void print_source_line(FILE *out, const char *line, size_t n, int col, size_t *caret,
			      const char *tail)
{
	size_t cell = 0, chars = 0, i = 0;
	*caret = SIZE_MAX;
	while (i < n) {
		if ((int)chars + 1 == col)
			*caret = cell;
		uint32_t cp;
		size_t len = utf8_next((const unsigned char *)line + i, n - i, &cp);
		if (cp == '\t') {
			size_t next = (cell / 8 + 1) * 8;
			fprintf(out, "%*s", (int)(next - cell), "");
			cell = next;
		} else if (cp < 0x20 || cp == 0x7f || (cp == 0xfffd && len == 1)) {
			fputc('?', out);    /* control or broken bytes: visible, one cell */
			cell++;
		} else {
			fwrite(line + i, 1, len, out);
			cell += char_width(cp);
		}
		i += len;
		chars++;
	}
	fputs(tail, out);
	fputc('\n', out);
	if (*caret == SIZE_MAX)
		*caret = cell;
}

/* Byte offset of the character after `chars` characters from i (or of the end). */
static size_t skip_chars(const char *line, size_t n, size_t i, size_t chars)
{
	while (i < n && chars--) {
		uint32_t cp;
		i += utf8_next((const unsigned char *)line + i, n - i, &cp);
	}
	return i;
}

/* Back from i by up to `chars` characters (continuation bytes are not characters). */
static size_t back_chars(const char *line, size_t i, size_t chars)
{
	while (i > 0 && chars) {
		i--;
		if (((unsigned char)line[i] & 0xc0) != 0x80)
			chars--;
	}
	return i;
}

/*
 * The source line and a caret under pos.col. A very long line (minified input, a
 * wall of brackets) is cut to SNIPPET_CONTEXT characters either side of the
 * column, with "..." where text was left out.
 */
#define SNIPPET_LONG 240
#define SNIPPET_CONTEXT 60

static void print_snippet(const diag_ctx *d, FILE *out, src_pos pos, int color)
{
	const diag_source *s = find_source(d, pos.file);
	if (!s || pos.line < 1 || (size_t)pos.line > s->n_lines)
		return;
	size_t start = s->lines[pos.line - 1];
	size_t end = start;
	while (end < s->len && !diag_line_break(s->text + end, s->len - end))
		end++;
	if (end == start && start == s->len && pos.line > 1)
		return;                 /* the empty "line" after a final newline */
	const char *line = s->text + start;
	size_t n = end - start, from = 0, to = n;
	int col = pos.col;
	if (n > SNIPPET_LONG && col > 0) {
		size_t at = skip_chars(line, n, 0, (size_t)col - 1);
		from = back_chars(line, at, SNIPPET_CONTEXT);
		to = skip_chars(line, n, at, SNIPPET_CONTEXT);
		col = 1;
		for (size_t i = from; i < at; i++)
			col += ((unsigned char)line[i] & 0xc0) != 0x80;
	}
	char num[32];
	int width = snprintf(num, sizeof num, "%d", pos.line);
	if (width < 5)
		width = 5;
	fprintf(out, "%*d | %s", width, pos.line, from > 0 ? "..." : "");
	size_t caret;
	print_source_line(out, line + from, to - from, col, &caret, to < n ? "..." : "");
	if (pos.col < 1)
		return;
	if (from > 0)
		caret += 3;
	fprintf(out, "%*s | %*s%s^%s\n", width, "", (int)caret, "",
		color ? "\033[1;32m" : "", color ? "\033[0m" : "");
}

static void print_location(FILE *out, src_pos pos)
{
	if (!pos.file)
		return;
	fputs(pos.file, out);
	if (pos.line > 0) {
		fprintf(out, ":%d", pos.line);
		if (pos.col > 0)
			fprintf(out, ":%d", pos.col);
	}
	fputs(": ", out);
}

static void print_head(FILE *out, src_pos pos, const char *label, const char *label_color,
		       const char *msg, int color)
{
	if (color)
		fputs("\033[1m", out);
	print_location(out, pos);
	if (color)
		fprintf(out, "%s%s:\033[0m\033[1m %s\033[0m", label_color, label, msg);
	else
		fprintf(out, "%s: %s", label, msg);
}

static void print_entry(const diag_ctx *d, FILE *out, const diag_entry *e, int color)
{
	int as_error = e->sev == DIAG_ERROR || d->werror;
	print_head(out, e->pos, as_error ? "error" : "warning",
		   as_error ? "\033[1;31m" : "\033[1;35m", e->msg, color);
	if (e->code[0]) {
		if (e->sev == DIAG_WARNING && d->werror)
			fprintf(out, " [-Werror,%s]", e->code);
		else
			fprintf(out, " [%s]", e->code);
	}
	fputc('\n', out);
	print_snippet(d, out, e->pos, color);
	for (size_t i = 0; i < e->n_notes; i++) {
		const diag_note_entry *nt = &e->notes[i];
		src_pos where = nt->bare ? (src_pos){ 0 } : nt->pos;
		print_head(out, where, "note", "\033[1;36m", nt->msg, color);
		fputc('\n', out);
		if (!nt->bare)
			print_snippet(d, out, nt->pos, color);
	}
}

static void print_summary(FILE *out, int errors, int warnings)
{
	if (!errors && !warnings)
		return;
	if (warnings)
		fprintf(out, "%d warning%s", warnings, warnings == 1 ? "" : "s");
	if (warnings && errors)
		fputs(" and ", out);
	if (errors)
		fprintf(out, "%d error%s", errors, errors == 1 ? "" : "s");
	fputs(" generated.\n", out);
}

/* ---- printing: JSON ---- */

static void json_pos(json_t *o, src_pos pos)
{
	json_object_set_new(o, "file", pos.file ? json_string(pos.file) : json_null());
	json_object_set_new(o, "line", json_integer(pos.line));
	json_object_set_new(o, "column", json_integer(pos.col));
}

/* jansson refuses invalid UTF-8; such a message is kept with the bad bytes replaced. */
static json_t *json_text(const char *s)
{
	json_t *j = json_string(s);
	if (j)
		return j;
	strbuf sb = STRBUF_INIT;
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		uint32_t cp;
		size_t len = utf8_next(p, strlen((const char *)p), &cp);
		if (cp == 0xfffd && len == 1 && *p != 0xef)
			strbuf_adds(&sb, "\xef\xbf\xbd");
		else
			strbuf_add(&sb, p, len);
		p += len;
	}
	j = json_string(sb.buf);
	strbuf_release(&sb);
	return j ? j : json_string("");
}

static json_t *json_entry(const diag_ctx *d, const diag_entry *e)
{
	json_t *o = json_object();
	json_pos(o, e->pos);
	int as_error = e->sev == DIAG_ERROR || d->werror;
	json_object_set_new(o, "severity", json_string(as_error ? "error" : "warning"));
	json_object_set_new(o, "code", json_text(e->code));
	json_object_set_new(o, "message", json_text(e->msg));
	json_t *notes = json_array();
	for (size_t i = 0; i < e->n_notes; i++) {
		json_t *n = json_object();
		json_pos(n, e->notes[i].pos);
		json_object_set_new(n, "message", json_text(e->notes[i].msg));
		json_array_append_new(notes, n);
	}
	json_object_set_new(o, "notes", notes);
	return o;
}

static void print_json(const diag_ctx *d, FILE *out)
{
	json_t *root = json_object();
	json_t *list = json_array();
	for (size_t i = 0; i < d->n; i++)
		if (!d->entries[i].duplicate)
			json_array_append_new(list, json_entry(d, &d->entries[i]));
	json_object_set_new(root, "diagnostics", list);
	json_object_set_new(root, "errors", json_integer(diag_errors(d)));
	json_object_set_new(root, "warnings", json_integer(diag_warnings(d)));
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text) {
		fputs(text, out);
		fputc('\n', out);
		free(text);
	}
	json_decref(root);
}

void diag_print(const diag_ctx *d, FILE *out, diag_format fmt, int color)
{
	if (fmt == DIAG_JSON) {
		print_json(d, out);
		return;
	}
	for (size_t i = 0; i < d->n; i++)
		if (!d->entries[i].duplicate)
			print_entry(d, out, &d->entries[i], color);
	print_summary(out, diag_errors(d), diag_warnings(d));
}
