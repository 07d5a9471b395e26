/*
 * read: YAML files -> nodes, and an editions directory -> a project.
 *
 * The reader consumes libyaml's event stream (libyaml's parser is a state machine
 * with heap stacks, so it does not recurse) and builds nodes on an explicit stack
 * of open collections, so no input can exhaust the C stack. Limits, each with its
 * own error code:
 *   - a file larger than READ_MAX_FILE_SIZE           too-large
 *   - bytes that are not UTF-8 text, NUL included     yaml-syntax
 *   - collections nested deeper than READ_MAX_DEPTH   too-deep (aliases included)
 *   - more than READ_MAX_NODES after alias expansion  alias-bomb
 * Every collection frame counts the nodes its value would have if every alias were
 * copied out; an alias adds the size of the anchored node, so "billion laughs"
 * stops after a few thousand events instead of after a billion nodes.
 *
 * An alias is a reference to the anchored node, not a copy: later phases never
 * modify a read tree (resolve builds new nodes), so sharing is safe. Anchors are
 * registered when their node is complete, which also makes an alias to an
 * enclosing node (a cycle) an "unknown anchor".
 *
 * Merge keys follow YAML 1.1: `<<: *base` or `<<: [*a, *b]`; keys written in the
 * map win, then earlier merged maps win over later ones. Merged keys take the
 * place of the `<<` entry. Duplicate keys are errors (the first one is kept).
 *
 * Fatal problems (syntax, limits, I/O) stop the file and return NULL; duplicate
 * keys, bad merge values and unknown anchors are reported and reading goes on, so
 * one run shows them all.
 *
 * project_load, in the second half, reads an editions directory in name order so
 * that every run sees the files, and reports their problems, in the same order.
 */
#include "model.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "strbuf.h"

typedef struct frame {
	node *n;
	size_t size;                /* nodes after alias expansion, saturating */
	size_t height;              /* levels of collections below, aliases included */
	node *key;                  /* a map's key waiting for its value */
	char *anchor;               /* registered when the collection ends */
} frame;

typedef struct anchor_entry {
	struct anchor_entry *next;
	const char *name;
	node *n;
	size_t size;
	size_t height;
} anchor_entry;

#define ANCHOR_BUCKETS 256

typedef struct reader {
	arena *a;
	diag_ctx *d;
	const char *path;           /* arena-owned */
	frame *stack;
	size_t depth, alloc;
	anchor_entry *anchors[ANCHOR_BUCKETS];
	node *root;
	int docs;
	int fatal;
	node skip;                  /* key sentinel: drop the value that follows */
} reader;

static src_pos mark_pos(const reader *r, yaml_mark_t m)
{
	return (src_pos){ r->path, (int)m.line + 1, (int)m.column + 1 };
}

static size_t size_add(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static unsigned hash_name(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % ANCHOR_BUCKETS;
}

static void anchor_set(reader *r, const char *name, node *n, size_t size, size_t height)
{
	anchor_entry *e = arena_alloc(r->a, sizeof *e);
	unsigned h = hash_name(name);
	e->name = arena_strdup(r->a, name);
	e->n = n;
	e->size = size;
	e->height = height;
	e->next = r->anchors[h];    /* a redefined anchor shadows the old one */
	r->anchors[h] = e;
}

static anchor_entry *anchor_get(reader *r, const char *name)
{
	for (anchor_entry *e = r->anchors[hash_name(name)]; e; e = e->next)
		if (!strcmp(e->name, name))
			return e;
	return NULL;
}

/* "tag:yaml.org,2002:int" -> "!!int"; other tags as written. */
static const char *short_tag(reader *r, const unsigned char *tag)
{
	static const char core[] = "tag:yaml.org,2002:";
	if (!tag)
		return NULL;
	if (!strncmp((const char *)tag, core, sizeof core - 1))
		return arena_printf(r->a, "!!%s", (const char *)tag + sizeof core - 1);
	return arena_strdup(r->a, (const char *)tag);
}

/* Hands a finished value to the enclosing collection (or makes it the root). */
static void add_value(reader *r, node *v, size_t size, size_t height)
{
	if (r->depth == 0) {
		r->root = v;
		return;
	}
	frame *f = &r->stack[r->depth - 1];
	if (height + 1 > f->height)
		f->height = height + 1;
	f->size = size_add(f->size, size);
	if (f->size > READ_MAX_NODES) {
		diag_report(r->d, DIAG_ERROR, v->pos, "alias-bomb",
			    "alias expansion exceeds %d nodes", READ_MAX_NODES);
		r->fatal = 1;
		return;
	}
	if (f->n->kind == NODE_SEQ) {
		node_seq_push(r->a, f->n, v);
	} else if (!f->key) {
		if (v->kind != NODE_SCALAR) {
			diag_report(r->d, DIAG_ERROR, v->pos, "yaml-key",
				    "a map key must be a scalar, not a %s", node_kind_name(v->kind));
			f->key = &r->skip;
		} else {
			f->key = v;
		}
	} else {
		if (f->key != &r->skip)
			node_map_push(r->a, f->n, f->key, v);
		f->key = NULL;
	}
}

static void open_collection(reader *r, node *n, const unsigned char *anchor)
{
	if (r->depth >= READ_MAX_DEPTH) {
		diag_report(r->d, DIAG_ERROR, n->pos, "too-deep",
			    "nesting deeper than %d levels", READ_MAX_DEPTH);
		r->fatal = 1;
		return;
	}
	if (r->depth == r->alloc) {
		r->alloc = r->alloc ? r->alloc * 2 : 32;
		r->stack = xrealloc(r->stack, r->alloc * sizeof(frame));
	}
	frame *f = &r->stack[r->depth++];
	f->n = n;
	f->size = 1;
	f->height = 1;
	f->key = NULL;
	f->anchor = anchor ? arena_strdup(r->a, (const char *)anchor) : NULL;
}

/* ---- maps: duplicate keys and merge keys ---- */

typedef struct key_ref {
	const node *key;
	size_t index;
} key_ref;

static int key_ref_cmp(const void *x, const void *y)
{
	const key_ref *a = x, *b = y;
	size_t n = a->key->len < b->key->len ? a->key->len : b->key->len;
	int c = memcmp(a->key->str, b->key->str, n);
	if (c)
		return c;
	if (a->key->len != b->key->len)
		return a->key->len < b->key->len ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

static int same_key(const node *a, const node *b)
{
	return a->len == b->len && !memcmp(a->str, b->str, a->len);
}

/* Small maps, the common case: a plain scan, no allocation. */
static int has_duplicate_small(const node *map)
{
	for (size_t i = 1; i < map->count; i++)
		for (size_t j = 0; j < i; j++)
			if (same_key(map->keys[i], map->keys[j]))
				return 1;
	return 0;
}

/* Reports each repeated key at its second writing and keeps the first. */
static void drop_duplicate_keys(reader *r, node *map)
{
	size_t n = map->count;
	if (n <= 16 && !has_duplicate_small(map))
		return;
	key_ref *refs = xmalloc(n * sizeof *refs);
	size_t *first = xmalloc(n * sizeof *first);   /* first index of the same key, or n */
	for (size_t i = 0; i < n; i++) {
		refs[i] = (key_ref){ map->keys[i], i };
		first[i] = n;
	}
	qsort(refs, n, sizeof *refs, key_ref_cmp);
	for (size_t i = 1; i < n; i++)
		if (key_ref_cmp(&(key_ref){ refs[i].key, 0 }, &(key_ref){ refs[i - 1].key, 0 }) == 0)
			first[refs[i].index] = first[refs[i - 1].index] < n ? first[refs[i - 1].index]
									   : refs[i - 1].index;
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		if (first[i] < n) {
			const node *k = map->keys[i];
			diag_report(r->d, DIAG_ERROR, k->pos, "duplicate-key", "duplicate key '%s'", k->str);
			diag_note(r->d, map->keys[first[i]]->pos, "'%s' first defined here", k->str);
			continue;
		}
		map->keys[out] = map->keys[i];
		map->items[out] = map->items[i];
		out++;
	}
	map->count = out;
	free(refs);
	free(first);
}

static int is_merge_key(const node *k)
{
	if (k->kind != NODE_SCALAR || k->quoted || k->len != 2 || memcmp(k->str, "<<", 2))
		return 0;
	return !k->tag || !strcmp(k->tag, "!!merge");
}

static int has_key(const node *map, const node *key)
{
	for (size_t i = 0; i < map->count; i++)
		if (map->keys[i]->len == key->len && !memcmp(map->keys[i]->str, key->str, key->len))
			return 1;
	return 0;
}

/* Appends the keys of src that neither the map nor an earlier merge set. */
static void merge_from(reader *r, const node *map, node *out, const node *src)
{
	for (size_t i = 0; i < src->count; i++) {
		const node *k = src->keys[i];
		int explicit = 0;
		for (size_t j = 0; j < map->count && !explicit; j++)
			explicit = !is_merge_key(map->keys[j]) && map->keys[j]->len == k->len &&
				   !memcmp(map->keys[j]->str, k->str, k->len);
		if (!explicit && !has_key(out, k))
			node_map_push(r->a, out, src->keys[i], src->items[i]);
	}
}

static void apply_merge(reader *r, const node *map, node *out, const node *v)
{
	if (v->kind == NODE_MAP) {
		merge_from(r, map, out, v);
		return;
	}
	if (v->kind == NODE_SEQ) {
		for (size_t i = 0; i < v->count; i++) {
			if (v->items[i]->kind == NODE_MAP)
				merge_from(r, map, out, v->items[i]);
			else
				diag_report(r->d, DIAG_ERROR, v->items[i]->pos, "merge-key",
					    "merge key '<<' takes maps, not a %s", node_kind_name(v->items[i]->kind));
		}
		return;
	}
	diag_report(r->d, DIAG_ERROR, v->pos, "merge-key",
		    "merge key '<<' needs a map or a list of maps");
}

static void resolve_merge_keys(reader *r, node *map)
{
	int any = 0;
	for (size_t i = 0; i < map->count && !any; i++)
		any = is_merge_key(map->keys[i]);
	if (!any)
		return;
	node *out = node_new_map(r->a, map->pos);
	for (size_t i = 0; i < map->count; i++) {
		if (is_merge_key(map->keys[i]))
			apply_merge(r, map, out, map->items[i]);
		else if (!has_key(out, map->keys[i]))
			node_map_push(r->a, out, map->keys[i], map->items[i]);
	}
	map->keys = out->keys;
	map->items = out->items;
	map->count = out->count;
	map->cap = out->cap;
}

static void close_collection(reader *r)
{
	frame f = r->stack[--r->depth];
	if (f.n->kind == NODE_MAP && f.n->count > 1)
		drop_duplicate_keys(r, f.n);
	if (f.n->kind == NODE_MAP)
		resolve_merge_keys(r, f.n);
	if (f.anchor)
		anchor_set(r, f.anchor, f.n, f.size, f.height);
	add_value(r, f.n, f.size, f.height);
}

/* ---- events ---- */

static void on_scalar(reader *r, const yaml_event_t *ev)
{
	int quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
	node *n = node_new_scalar(r->a, mark_pos(r, ev->start_mark),
				  (const char *)ev->data.scalar.value, ev->data.scalar.length, quoted);
	n->tag = short_tag(r, ev->data.scalar.tag);
	if (ev->data.scalar.anchor)
		anchor_set(r, (const char *)ev->data.scalar.anchor, n, 1, 0);
	add_value(r, n, 1, 0);
}

static void on_alias(reader *r, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	anchor_entry *e = anchor_get(r, name);
	if (!e) {
		src_pos pos = mark_pos(r, ev->start_mark);
		diag_report(r->d, DIAG_ERROR, pos, "unknown-anchor", "unknown anchor '%s'", name);
		add_value(r, node_new_scalar(r->a, pos, "", 0, 0), 1, 0);
		return;
	}
	/* an alias puts the whole anchored tree here: its height counts at this depth */
	if (r->depth + e->height > READ_MAX_DEPTH) {
		diag_report(r->d, DIAG_ERROR, mark_pos(r, ev->start_mark), "too-deep",
			    "nesting deeper than %d levels (through alias '%s')", READ_MAX_DEPTH, name);
		r->fatal = 1;
		return;
	}
	add_value(r, e->n, e->size, e->height);
}

static void on_document_start(reader *r, const yaml_event_t *ev)
{
	if (++r->docs > 1) {
		diag_report(r->d, DIAG_ERROR, mark_pos(r, ev->start_mark), "multiple-documents",
			    "more than one YAML document in one file");
		r->fatal = 1;
	}
}

static void on_event(reader *r, const yaml_event_t *ev)
{
	node *n;
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		on_document_start(r, ev);
		break;
	case YAML_SCALAR_EVENT:
		on_scalar(r, ev);
		break;
	case YAML_ALIAS_EVENT:
		on_alias(r, ev);
		break;
	case YAML_SEQUENCE_START_EVENT:
		n = node_new_seq(r->a, mark_pos(r, ev->start_mark));
		n->tag = short_tag(r, ev->data.sequence_start.tag);
		open_collection(r, n, ev->data.sequence_start.anchor);
		break;
	case YAML_MAPPING_START_EVENT:
		n = node_new_map(r->a, mark_pos(r, ev->start_mark));
		n->tag = short_tag(r, ev->data.mapping_start.tag);
		open_collection(r, n, ev->data.mapping_start.anchor);
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		close_collection(r);
		break;
	default:
		break;
	}
}

/* Line and column (in characters) of a byte offset, for libyaml's reader errors. */
static src_pos offset_pos(const reader *r, const char *text, size_t len, size_t offset)
{
	src_pos pos = { r->path, 1, 1 };
	for (size_t i = 0; i < offset && i < len;) {
		size_t b = diag_line_break(text + i, len - i);
		if (b) {
			pos.line++, pos.col = 1;
			i += b;
			continue;
		}
		if (((unsigned char)text[i] & 0xc0) != 0x80)
			pos.col++;
		i++;
	}
	return pos;
}

/* libyaml's words: "did not find expected key while parsing a block mapping". */
static void report_syntax(reader *r, const yaml_parser_t *ps, const char *text, size_t len)
{
	if (ps->error == YAML_MEMORY_ERROR) {
		diag_report(r->d, DIAG_ERROR, (src_pos){ r->path, 0, 0 }, "yaml-syntax",
			    "out of memory while parsing");
		return;
	}
	const char *problem = ps->problem ? ps->problem : "invalid YAML";
	if (ps->error == YAML_READER_ERROR) {
		diag_report(r->d, DIAG_ERROR, offset_pos(r, text, len, ps->problem_offset), "yaml-syntax",
			    "%s", problem);
		return;
	}
	src_pos at = mark_pos(r, ps->problem_mark);
	if (!ps->context) {
		diag_report(r->d, DIAG_ERROR, at, "yaml-syntax", "%s", problem);
		return;
	}
	diag_report(r->d, DIAG_ERROR, at, "yaml-syntax", "%s %s", problem, ps->context);
	src_pos from = mark_pos(r, ps->context_mark);
	if (from.line != at.line || from.col != at.col) {
		const char *what = ps->context;
		if (!strncmp(what, "while parsing ", 14))
			what += 14;
		else if (!strncmp(what, "while scanning ", 15))
			what += 15;
		diag_note(r->d, from, "%s started here", what);
	}
}

/* ---- text checks ---- */

/* Length of a valid UTF-8 sequence at s (strict: no overlong, no surrogate), or 0. */
static size_t utf8_valid(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	if (c < 0x80)
		return c ? 1 : 0;
	size_t len = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
	if (!len || len > n)
		return 0;
	uint32_t v = c & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	return len;
}

/* Reports the first byte that is not UTF-8 text; 0 when the text is clean. */
static int check_utf8(reader *r, const char *text, size_t len)
{
	int line = 1, col = 1;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_valid((const unsigned char *)text + i, len - i);
		if (!n) {
			unsigned char b = (unsigned char)text[i];
			src_pos at = { r->path, line, col };
			if (b)
				diag_report(r->d, DIAG_ERROR, at, "yaml-syntax",
					    "file is not UTF-8 text (invalid byte 0x%02x)", b);
			else
				diag_report(r->d, DIAG_ERROR, at, "yaml-syntax",
					    "file is not UTF-8 text (NUL byte)");
			return -1;
		}
		size_t b = diag_line_break(text + i, len - i);
		if (b)
			line++, col = 1, n = b;
		else
			col++;
		i += n;
	}
	return 0;
}

static node *parse_events(reader *r, const char *text, size_t len)
{
	yaml_parser_t ps;
	if (!yaml_parser_initialize(&ps)) {
		diag_report(r->d, DIAG_ERROR, (src_pos){ r->path, 0, 0 }, "yaml-syntax",
			    "cannot start the YAML parser");
		return NULL;
	}
	yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
	yaml_parser_set_encoding(&ps, YAML_UTF8_ENCODING);
	while (!r->fatal) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&ps, &ev)) {
			report_syntax(r, &ps, text, len);
			r->fatal = 1;
			break;
		}
		on_event(r, &ev);
		int done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
		if (done)
			break;
	}
	yaml_parser_delete(&ps);
	return r->fatal ? NULL : r->root;
}

node *read_yaml_text(project *p, const char *path, const char *text, size_t len)
{
	reader r;
	memset(&r, 0, sizeof r);
	r.a = p->arena;
	r.d = p->diag;
	r.path = arena_strdup(p->arena, path);
	if (len > READ_MAX_FILE_SIZE) {
		diag_report(r.d, DIAG_ERROR, (src_pos){ r.path, 0, 0 }, "too-large",
			    "file is larger than %u MiB", READ_MAX_FILE_SIZE >> 20);
		return NULL;
	}
	if (check_utf8(&r, text, len) < 0)
		return NULL;
	/*
	 * A byte-order mark (editors on Windows write one) is dropped here: libyaml,
	 * told the encoding, would count it as a character of line 1 and then see the
	 * next top-level key as a change of indentation.
	 */
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		text += 3, len -= 3;
	diag_add_source(p->diag, path, text, len);
	node *root = parse_events(&r, text, len);
	free(r.stack);
	if (!root && !r.fatal)      /* an empty file: an empty map */
		root = node_new_map(p->arena, (src_pos){ r.path, 1, 1 });
	return root;
}

node *read_yaml_file(project *p, const char *path)
{
	strbuf sb = STRBUF_INIT;
	if (strbuf_read_file(&sb, path, READ_MAX_FILE_SIZE) < 0) {
		src_pos pos = { arena_strdup(p->arena, path), 0, 0 };
		if (errno == EFBIG)
			diag_report(p->diag, DIAG_ERROR, pos, "too-large",
				    "file is larger than %u MiB", READ_MAX_FILE_SIZE >> 20);
		else
			diag_report(p->diag, DIAG_ERROR, pos, "io", "cannot open '%s': %s",
				    path, strerror(errno));
		strbuf_release(&sb);
		return NULL;
	}
	node *n = read_yaml_text(p, path, sb.buf, sb.len);
	strbuf_release(&sb);
	return n;
}

/* ---- the project ---- */

project *project_new(void)
{
	project *p = xcalloc(1, sizeof *p);
	p->arena = arena_new();
	p->diag = diag_new();
	return p;
}

void project_free(project *p)
{
	if (!p)
		return;
	diag_free(p->diag);
	arena_free(p->arena);
	free(p);
}

static const char *join_path(project *p, const char *dir, const char *name)
{
	size_t n = strlen(dir);
	if (n && dir[n - 1] == '/')
		return arena_printf(p->arena, "%s%s", dir, name);
	return arena_printf(p->arena, "%s/%s", dir, name);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The regular files of dir whose names end in suffix, sorted bytewise; names
 * arena-owned. A missing directory is an empty list (every part is optional).
 */
static size_t list_files(project *p, const char *dir, const char *suffix, const char ***out)
{
	*out = NULL;
	DIR *dh = opendir(dir);
	if (!dh)
		return 0;
	size_t n = 0, alloc = 0, ls = strlen(suffix);
	const char **names = NULL;
	struct dirent *de;
	while ((de = readdir(dh))) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l <= ls || strcmp(de->d_name + l - ls, suffix))
			continue;
		struct stat st;
		if (stat(join_path(p, dir, de->d_name), &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == alloc) {
			alloc = alloc ? alloc * 2 : 16;
			names = xrealloc(names, alloc * sizeof *names);
		}
		names[n++] = arena_strdup(p->arena, de->d_name);
	}
	closedir(dh);
	if (n)
		qsort(names, n, sizeof *names, name_cmp);
	const char **copy = arena_alloc(p->arena, (n ? n : 1) * sizeof *copy);
	if (n)
		memcpy(copy, names, n * sizeof *names);
	free(names);
	*out = copy;
	return n;
}

static const char *strip_suffix(project *p, const char *name, const char *suffix)
{
	return arena_strndup(p->arena, name, strlen(name) - strlen(suffix));
}

/* edition: must name the file it is in. */
static void check_edition_id(project *p, edition *e)
{
	if (!e->doc)
		return;
	if (e->doc->kind != NODE_MAP) {
		diag_report(p->diag, DIAG_ERROR, e->doc->pos, "edition-not-map",
			    "an edition must be a map of keys, not a %s", node_kind_name(e->doc->kind));
		e->doc = NULL;
		return;
	}
	node *id = node_get(e->doc, "edition");
	if (id && (id->kind != NODE_SCALAR || strcmp(id->str, e->id)))
		diag_report(p->diag, DIAG_ERROR, id->pos, "edition-id-mismatch",
			    "edition '%s' is in the file of edition '%s'; the id must equal the file name",
			    id->kind == NODE_SCALAR ? id->str : "?", e->id);
	int flag = 0;
	if (node_as_bool(node_get(e->doc, "abstract"), &flag) == 0 && flag)
		e->abstract = 1;
}

static edition *load_edition(project *p, const char *dir, const char *file, int base)
{
	edition *e = arena_alloc(p->arena, sizeof *e);
	e->id = strip_suffix(p, file, ".yaml");
	e->path = join_path(p, dir, file);
	e->abstract = base;
	e->doc = read_yaml_file(p, e->path);
	check_edition_id(p, e);
	return e;
}

static int edition_cmp(const void *a, const void *b)
{
	const edition *x = *(edition *const *)a, *y = *(edition *const *)b;
	int c = strcmp(x->id, y->id);
	return c ? c : strcmp(x->path, y->path);
}

/* A care.yml would be silently skipped otherwise: say so. */
static void warn_yml(project *p, const char *dir)
{
	const char **names;
	size_t n = list_files(p, dir, ".yml", &names);
	for (size_t i = 0; i < n; i++)
		diag_report(p->diag, DIAG_WARNING, (src_pos){ join_path(p, dir, names[i]), 0, 0 },
			    "ignored-file", "ignoring '%s': edition files end in '.yaml'", names[i]);
}

static void load_editions(project *p, const char *dir)
{
	const char **top, **bases;
	const char *base_dir = join_path(p, dir, "base");
	warn_yml(p, dir);
	warn_yml(p, base_dir);
	size_t n_top = list_files(p, dir, ".yaml", &top);
	size_t n_base = list_files(p, base_dir, ".yaml", &bases);
	p->editions = arena_alloc(p->arena, (n_top + n_base + 1) * sizeof(edition *));
	p->n_editions = 0;
	for (size_t i = 0; i < n_base; i++)
		p->editions[p->n_editions++] = load_edition(p, base_dir, bases[i], 1);
	for (size_t i = 0; i < n_top; i++)
		if (strcmp(top[i], "products.yaml"))
			p->editions[p->n_editions++] = load_edition(p, dir, top[i], 0);
	qsort(p->editions, p->n_editions, sizeof(edition *), edition_cmp);
	for (size_t i = 1; i < p->n_editions; i++) {
		edition *a = p->editions[i - 1], *b = p->editions[i];
		if (strcmp(a->id, b->id))
			continue;
		diag_report(p->diag, DIAG_ERROR, (src_pos){ b->path, 0, 0 }, "duplicate-edition",
			    "edition id '%s' is defined twice", b->id);
		diag_note(p->diag, (src_pos){ a->path, 0, 0 }, "'%s' is also defined here", a->id);
	}
}

/* fragments/, i18n/: one YAML document each, named by the file. */
static size_t load_named_yaml(project *p, const char *dir, const char *sub, named_doc **out)
{
	const char **files;
	const char *path = join_path(p, dir, sub);
	size_t n = list_files(p, path, ".yaml", &files);
	named_doc *docs = arena_alloc(p->arena, (n ? n : 1) * sizeof *docs);
	for (size_t i = 0; i < n; i++) {
		docs[i].name = strip_suffix(p, files[i], ".yaml");
		docs[i].path = join_path(p, path, files[i]);
		docs[i].doc = read_yaml_file(p, docs[i].path);
	}
	*out = docs;
	return n;
}

static void load_scripts(project *p, const char *dir)
{
	const char **files;
	const char *path = join_path(p, dir, "flows");
	size_t n = list_files(p, path, ".lua", &files);
	p->scripts = arena_alloc(p->arena, (n ? n : 1) * sizeof(named_doc));
	p->n_scripts = 0;
	for (size_t i = 0; i < n; i++) {
		named_doc *s = &p->scripts[p->n_scripts];
		s->name = arena_printf(p->arena, "flows/%s", files[i]);
		s->path = join_path(p, path, files[i]);
		strbuf sb = STRBUF_INIT;
		if (strbuf_read_file(&sb, s->path, READ_MAX_FILE_SIZE) < 0) {
			diag_report(p->diag, DIAG_ERROR, (src_pos){ s->path, 0, 0 }, "io",
				    "cannot open '%s': %s", s->path, strerror(errno));
			strbuf_release(&sb);
			continue;
		}
		s->text = arena_strndup(p->arena, sb.buf, sb.len);
		s->len = sb.len;
		diag_add_source(p->diag, s->path, sb.buf, sb.len);
		strbuf_release(&sb);
		p->n_scripts++;
	}
}

static void load_products(project *p, const char *dir)
{
	const char *path = join_path(p, dir, "products.yaml");
	struct stat st;
	if (stat(path, &st) < 0 && errno == ENOENT)
		return;
	p->products_path = path;
	p->products = read_yaml_file(p, path);
}

/* The editions directory itself must be there and readable: one clear error if not. */
static int check_dir(project *p, const char *dir)
{
	struct stat st;
	const char *why = NULL;
	DIR *dh;
	if (stat(dir, &st) < 0)
		why = strerror(errno);
	else if (!S_ISDIR(st.st_mode))
		why = strerror(ENOTDIR);
	else if (!(dh = opendir(dir)))
		why = strerror(errno);
	else
		closedir(dh);
	if (!why)
		return 0;
	diag_report(p->diag, DIAG_ERROR, (src_pos){ 0 }, "io", "cannot open editions directory '%s': %s",
		    dir, why);
	return -1;
}

int project_load(project *p, const char *dir)
{
	if (check_dir(p, dir) < 0)
		return -1;
	p->dir = arena_strdup(p->arena, dir);
	load_editions(p, dir);
	p->n_fragments = load_named_yaml(p, dir, "fragments", &p->fragments);
	p->n_i18n = load_named_yaml(p, dir, "i18n", &p->i18n);
	load_scripts(p, dir);
	load_products(p, dir);
	return 0;
}

edition *project_find(const project *p, const char *id)
{
	if (!id)
		return NULL;
	size_t lo = 0, hi = p->n_editions;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(p->editions[mid]->id, id);
		if (!c)
			return p->editions[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const named_doc *project_script(const project *p, const char *name)
{
	if (!name)
		return NULL;
	int bare = strncmp(name, "flows/", 6) != 0;
	for (size_t i = 0; i < p->n_scripts; i++) {
		const char *s = p->scripts[i].name;
		if (!strcmp(s, name) || (bare && !strcmp(s + 6, name)))
			return &p->scripts[i];
	}
	return NULL;
}
