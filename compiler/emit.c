/*
 * emit: resolved editions -> pack sections -> pack files.
 *
 * Every section is built as a jansson value from the resolved tree and then
 * dumped canonically (canon.c), so the bytes depend only on the values: key
 * order, whitespace and number formatting are fixed. Text attributes hold
 * i18n keys; they are replaced here by the edition's text (a key the strings
 * lack is left as written: check.c has already reported it). Flow scripts are
 * compiled with a chunk name made from the script's name inside editions/
 * ("=flows/transfer.lua"), never a file path, and dumped stripped, so a copy
 * of editions/ in another directory gives the same bytecode.
 *
 * emit_build first builds every pack in memory; only when all succeeded does
 * it touch the file system, and then through a temporary directory beside the
 * output, renaming the finished files into place with the manifest last.
 *
 * Packs are independent, so emit_build builds them on one thread per idle core.
 * A thread only reads the model (edition_strings is warmed on the main thread
 * first, since it fills a cache) and keeps its errors until the main thread
 * reports them in edition order. The threads remember together (under one
 * lock) the gzip body of every screen JSON and the bytecode of every script
 * made: editions that extend one another share most of them. The results are the same bytes as
 * without threads or memos (tests/test_emit.c compares them).
 */
#include "emit.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "canon.h"
#include "pack.h"

const char *const emit_text_attrs[] = {
	"title", "text", "label", "hint", "placeholder", "caption", "body", "empty", "submit", NULL,
};
/* Other places that hold i18n keys (as check.c checks them). */
static const char *const meta_text_attrs[] = { "title", "hours", NULL };
static const char *const flow_text_attrs[] = {
	"fallback", "title", "text", "label", "hint", "placeholder", "caption", "body", NULL,
};
static const char *const product_text_attrs[] = {
	"name", "badge", "description", "summary", "title", "text", "label", "hint", "caption", "body", NULL,
};

/* Keys of the resolved edition that have their own section (not copied into meta). */
static const char *const non_meta_keys[] = {
	"screens", "routes", "flows", "products", "strings", "theme", "extends", "abstract", NULL,
};

/*
 * memo: bytes -> bytes, open addressing on a crc32 of the key. Editions that
 * extend one another share most screens and every flow script; a worker
 * compresses each distinct screen body and compiles each script once.
 */
typedef struct memo_entry {
	uint32_t hash;
	unsigned char *key, *val;   /* one allocation: key then value; NULL = empty slot */
	size_t klen, vlen;
} memo_entry;

typedef struct memo {
	memo_entry *slot;
	size_t cap, n, bytes;
} memo;

#define MEMO_MAX_BYTES (64u << 20)  /* beyond this, stop remembering */

/* What every thread of a build reuses: one thread's work serves all. */
typedef struct emit_memos {
	pthread_mutex_t lock;
	memo gz;                    /* screen JSON -> gzip body */
	memo lua;                   /* script name NUL text -> stripped bytecode */
} emit_memos;

/* What one thread reuses across the packs it builds. */
typedef struct emit_worker {
	z_stream gz;                /* every screen's gzip body, reset between them */
	lua_State *L;
	emit_memos *memos;
} emit_worker;

typedef struct emit_msg {       /* an error kept until it can be reported on the main thread */
	src_pos pos;
	const char *code;
	char *text;
} emit_msg;

typedef struct emit_msgs {
	emit_msg *v;
	size_t n, cap;
} emit_msgs;

typedef struct emit_ctx {
	project *p;
	const edition *e;
	struct text_table *texts;   /* key -> text of the edition's locale, sorted */
	json_t *strings;            /* the same as jansson values, when texts cannot hold it */
	pack_writer *w;
	emit_worker *wk;
	emit_msgs *msgs;
	emit_stats st;
	int errors;
} emit_ctx;

static int in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

static src_pos pos_of(const emit_ctx *c, const node *n)
{
	if (n && n->pos.file)
		return n->pos;
	return (src_pos){ c->e->path, 0, 0 };
}

static void emit_error(emit_ctx *c, const node *n, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void emit_error(emit_ctx *c, const node *n, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit_msgs *m = c->msgs;
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 8;
		m->v = xrealloc(m->v, m->cap * sizeof(*m->v));
	}
	m->v[m->n++] = (emit_msg){ pos_of(c, n), code, xstrdup(msg) };
	c->errors++;
}

/* Reports kept messages to the project's diagnostics (main thread only) and frees them. */
static void msgs_flush(project *p, emit_msgs *m)
{
	for (size_t i = 0; i < m->n; i++) {
		diag_report(p->diag, DIAG_ERROR, m->v[i].pos, m->v[i].code, "%s", m->v[i].text);
		free(m->v[i].text);
	}
	free(m->v);
	*m = (emit_msgs){ 0 };
}

static uint32_t memo_hash(const void *k, size_t len)
{
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), k, (uInt)len);
}

static memo_entry *memo_slot(const memo *m, const void *k, size_t klen, uint32_t h)
{
	size_t i = h & (m->cap - 1);
	for (;; i = (i + 1) & (m->cap - 1)) {
		memo_entry *e = &m->slot[i];
		if (!e->key || (e->hash == h && e->klen == klen && !memcmp(e->key, k, klen)))
			return e;
	}
}

static const memo_entry *memo_get(const memo *m, const void *k, size_t klen, uint32_t h)
{
	if (!m->cap)
		return NULL;
	memo_entry *e = memo_slot(m, k, klen, h);
	return e->key ? e : NULL;
}

static void memo_put(memo *m, const void *k, size_t klen, uint32_t h, const void *v, size_t vlen)
{
	if (m->bytes + klen + vlen > MEMO_MAX_BYTES)
		return;
	if (2 * (m->n + 1) > m->cap) {
		memo old = *m;
		m->cap = old.cap ? old.cap * 2 : 64;
		m->slot = xcalloc(m->cap, sizeof(*m->slot));
		for (size_t i = 0; i < old.cap; i++)
			if (old.slot[i].key)
				*memo_slot(m, old.slot[i].key, old.slot[i].klen, old.slot[i].hash) = old.slot[i];
		free(old.slot);
	}
	memo_entry *e = memo_slot(m, k, klen, h);
	if (e->key)
		return;
	e->hash = h;
	e->key = xmalloc(klen + vlen + 1);
	memcpy(e->key, k, klen);
	if (vlen)
		memcpy(e->key + klen, v, vlen);
	e->val = e->key + klen;
	e->klen = klen;
	e->vlen = vlen;
	m->n++;
	m->bytes += klen + vlen;
}

static void memo_free(memo *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slot[i].key);
	free(m->slot);
	*m = (memo){ 0 };
}

static void memos_init(emit_memos *m)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
}

static void memos_release(emit_memos *m)
{
	memo_free(&m->gz);
	memo_free(&m->lua);
	pthread_mutex_destroy(&m->lock);
}

/* Appends the value remembered for k to out: 1, or 0 when there is none. */
static int memo_fetch(emit_memos *ms, memo *m, const void *k, size_t klen, uint32_t h, strbuf *out)
{
	pthread_mutex_lock(&ms->lock);
	const memo_entry *e = memo_get(m, k, klen, h);
	if (e)
		strbuf_add(out, e->val, e->vlen);
	pthread_mutex_unlock(&ms->lock);
	return e != NULL;
}

static void memo_store(emit_memos *ms, memo *m, const void *k, size_t klen, uint32_t h,
		       const void *v, size_t vlen)
{
	pthread_mutex_lock(&ms->lock);
	memo_put(m, k, klen, h, v, vlen);
	pthread_mutex_unlock(&ms->lock);
}

/* JSON of a node, reporting text that is not UTF-8. */
static json_t *to_json(emit_ctx *c, const node *n, const char *what)
{
	const node *bad = NULL;
	json_t *j = canon_from_node(n, &bad);
	if (!j)
		emit_error(c, bad ? bad : n, "emit-encoding", "%s holds text that is not valid UTF-8", what);
	return j;
}

/* Adds the canonical bytes of j as an entry; takes the reference. */
static void add_json(emit_ctx *c, int section, const char *name, json_t *j)
{
	strbuf sb = STRBUF_INIT;
	if (j && canon_dump(j, &sb) == 0)
		pack_writer_add(c->w, section, name, sb.buf, sb.len);
	else if (j)
		emit_error(c, NULL, "emit-encoding", "cannot encode %s/%s as JSON",
			   pack_section_name(section), name);
	strbuf_release(&sb);
	json_decref(j);
}

/*
 * The edition's texts as a table sorted bytewise by key (each key once, the last
 * value given winning, as in a jansson object): looked up by binary search and
 * written as the strings section directly. Keys with a NUL in them take the
 * jansson path (c->strings) instead.
 */
typedef struct text_entry {
	const char *key, *val;
	size_t klen, vlen, seq;
} text_entry;

typedef struct text_table {
	text_entry *v;
	size_t n;
} text_table;

static int text_key_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int r = memcmp(a, b, al < bl ? al : bl);
	return r ? r : (al > bl) - (al < bl);
}

static int text_entry_cmp(const void *x, const void *y)
{
	const text_entry *a = x, *b = y;
	int r = text_key_cmp(a->key, a->klen, b->key, b->klen);
	return r ? r : (a->seq > b->seq) - (a->seq < b->seq);
}

/* The text of an i18n key, or NULL. */
static const char *text_of(const emit_ctx *c, const char *key)
{
	if (!c->texts)
		return json_string_value(json_object_get(c->strings, key));
	size_t lo = 0, hi = c->texts->n, klen = strlen(key);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const text_entry *e = &c->texts->v[mid];
		int r = text_key_cmp(e->key, e->klen, key, klen);
		if (!r)
			return e->val;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Replaces, in place and at any depth, the i18n keys of the given attributes by their text. */
static void resolve_texts(const emit_ctx *c, json_t *v, const char *const *attrs)
{
	const char *k;
	json_t *item;
	size_t i;
	if (json_is_object(v)) {
		json_object_foreach(v, k, item) {
			const char *t;
			if (json_is_string(item) && in_list(attrs, k) &&
			    (t = text_of(c, json_string_value(item))))
				json_string_set(item, t);
			else
				resolve_texts(c, item, attrs);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, item)
			resolve_texts(c, item, attrs);
	}
}

/* The jansson path of load_strings. */
static void load_strings_json(emit_ctx *c, const node *m)
{
	c->strings = json_object();
	for (size_t i = 0; i < m->count; i++) {
		const node *k = m->keys[i], *v = m->items[i];
		if (k->kind != NODE_SCALAR || v->kind != NODE_SCALAR)
			continue;
		json_t *s = json_stringn(v->str, v->len);
		if (!s || json_object_setn_new(c->strings, k->str, k->len, s) < 0)
			emit_error(c, v, "emit-encoding", "string '%s' is not valid UTF-8", k->str);
	}
}

static void load_strings(emit_ctx *c)
{
	const node *m = edition_strings(c->p, c->e);
	if (!m || m->kind != NODE_MAP) {
		c->texts = xcalloc(1, sizeof(*c->texts));
		return;
	}
	for (size_t i = 0; i < m->count; i++)
		if (m->keys[i]->kind == NODE_SCALAR && strlen(m->keys[i]->str) != m->keys[i]->len) {
			load_strings_json(c, m);
			return;
		}
	text_table *t = xcalloc(1, sizeof(*t));
	t->v = xmalloc((m->count ? m->count : 1) * sizeof(*t->v));
	for (size_t i = 0; i < m->count; i++) {
		const node *k = m->keys[i], *v = m->items[i];
		if (k->kind != NODE_SCALAR || v->kind != NODE_SCALAR)
			continue;
		if (!canon_utf8_valid(v->str, v->len) || !canon_utf8_valid(k->str, k->len))
			emit_error(c, v, "emit-encoding", "string '%s' is not valid UTF-8", k->str);
		else
			t->v[t->n++] = (text_entry){ k->str, v->str, k->len, v->len, i };
	}
	qsort(t->v, t->n, sizeof(*t->v), text_entry_cmp);
	size_t n = 0;                   /* a key given twice keeps its last value */
	for (size_t i = 0; i < t->n; i++) {
		if (n && !text_key_cmp(t->v[n - 1].key, t->v[n - 1].klen, t->v[i].key, t->v[i].klen))
			n--;
		t->v[n++] = t->v[i];
	}
	t->n = n;
	c->texts = t;
}

static void free_strings(emit_ctx *c)
{
	if (c->texts)
		free(c->texts->v);
	free(c->texts);
	json_decref(c->strings);
}

/* --- meta, theme, strings ----------------------------------------------- */

static const char *chain_id(const project *p, const char *path)
{
	for (size_t i = 0; i < p->n_editions; i++)
		if (strcmp(p->editions[i]->path, path) == 0)
			return p->editions[i]->id;
	return path;
}

static void emit_meta(emit_ctx *c)
{
	const node *r = c->e->resolved;
	json_t *meta = json_object();
	for (size_t i = 0; i < r->count; i++) {
		const node *k = r->keys[i];
		if (k->kind != NODE_SCALAR || in_list(non_meta_keys, k->str))
			continue;
		json_t *v = to_json(c, r->items[i], k->str);
		if (v)
			json_object_set_new(meta, k->str, v);
	}
	json_t *chain = json_array();
	for (size_t i = 0; i < c->e->chain_len; i++)
		json_array_append_new(chain, json_string(chain_id(c->p, c->e->chain[i])));
	if (!c->e->chain_len)
		json_array_append_new(chain, json_string(c->e->id));
	json_object_set_new(meta, "chain", chain);
	resolve_texts(c, meta, meta_text_attrs);
	add_json(c, PACK_META, "json", meta);
}

static int css_safe(const char *s)
{
	for (; *s; s++)
		if (strchr(";{}<>\"'\\\n\r", *s))
			return 0;
	return 1;
}

static int css_unitless(const char *name)
{
	return !strncmp(name, "max_", 4) || !strncmp(name, "min_", 4) || strstr(name, "scale") ||
	       strstr(name, "ratio") || strstr(name, "weight") || strstr(name, "count") ||
	       strstr(name, "opacity") || strstr(name, "line_height");
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void css_token(strbuf *css, const char *name, const json_t *v);

static void css_object(strbuf *css, const char *prefix, const json_t *obj)
{
	size_t n = json_object_size(obj), i = 0;
	const char **keys = xmalloc((n ? n : 1) * sizeof(*keys));
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v)
		keys[i++] = k;
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 0; i < n; i++) {
		strbuf full = STRBUF_INIT;
		if (prefix)
			strbuf_addf(&full, "%s_%s", prefix, keys[i]);
		else
			strbuf_adds(&full, keys[i]);
		css_token(css, full.buf, json_object_get(obj, keys[i]));
		strbuf_release(&full);
	}
	free(keys);
}

/* One custom property (or several, for lists and maps): --name-with-dashes:value; */
static void css_token(strbuf *css, const char *name, const json_t *v)
{
	if (json_is_object(v)) {
		css_object(css, name, v);
		return;
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *item;
		json_array_foreach((json_t *)v, i, item) {
			char sub[256];
			snprintf(sub, sizeof(sub), "%s_%zu", name, i + 1);
			css_token(css, sub, item);
		}
		return;
	}
	strbuf val = STRBUF_INIT;
	if (json_is_integer(v))
		strbuf_addf(&val, "%lld%s", (long long)json_integer_value(v), css_unitless(name) ? "" : "px");
	else if (json_is_real(v))
		canon_dump(v, &val);
	else if (json_is_string(v) && css_safe(json_string_value(v)))
		strbuf_adds(&val, json_string_value(v));
	if (val.len) {
		strbuf_adds(css, "--");
		for (const char *s = name; *s; s++)
			strbuf_addc(css, *s == '_' ? '-' : *s);
		strbuf_addf(css, ":%s;", val.buf);
	}
	strbuf_release(&val);
}

static void emit_theme(emit_ctx *c)
{
	const node *t = node_get(c->e->resolved, "theme");
	json_t *j = t ? to_json(c, t, "theme") : json_object();
	if (!j)
		return;
	if (!json_is_object(j)) {
		emit_error(c, t, "emit-theme", "theme is not a map");
		json_decref(j);
		return;
	}
	strbuf css = STRBUF_INIT;
	strbuf_adds(&css, ":root{");
	css_object(&css, NULL, j);
	strbuf_adds(&css, "}");
	pack_writer_add(c->w, PACK_THEME, "css", css.buf, css.len);
	strbuf_release(&css);
	add_json(c, PACK_THEME, "json", j);
}

static void emit_strings(emit_ctx *c)
{
	if (!c->texts) {
		c->st.strings = json_object_size(c->strings);
		add_json(c, PACK_STRINGS, "json", json_incref(c->strings));
		return;
	}
	strbuf sb = STRBUF_INIT;
	strbuf_addc(&sb, '{');
	for (size_t i = 0; i < c->texts->n; i++) {
		const text_entry *e = &c->texts->v[i];
		if (i)
			strbuf_addc(&sb, ',');
		canon_write_string(&sb, e->key, e->klen);
		strbuf_addc(&sb, ':');
		canon_write_string(&sb, e->val, e->vlen);
	}
	strbuf_addc(&sb, '}');
	c->st.strings = c->texts->n;
	pack_writer_add(c->w, PACK_STRINGS, "json", sb.buf, sb.len);
	strbuf_release(&sb);
}

/* --- screens ------------------------------------------------------------ */

static void zlib_fatal(const char *what, int rc)
{
	fprintf(stderr, "fatal: zlib %s failed (%d)\n", what, rc);
	abort();
}

/* gzip (windowBits 31); no deflateSetHeader, so mtime 0 and no name. */
static void gz_init(z_stream *z)
{
	memset(z, 0, sizeof(*z));
	int rc = deflateInit2(z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
	if (rc != Z_OK)
		zlib_fatal("deflateInit2", rc);
}

/* One member with a reused stream: deflateReset keeps the ~270 KiB of state. */
static void gz_member(z_stream *z, const void *data, size_t len, strbuf *out)
{
	int rc = deflateReset(z);
	if (rc != Z_OK)
		zlib_fatal("deflateReset", rc);
	uLong bound = deflateBound(z, len) + 32;
	strbuf_grow(out, bound);
	z->next_in = (Bytef *)data;
	z->avail_in = (uInt)len;
	z->next_out = (Bytef *)out->buf + out->len;
	z->avail_out = (uInt)bound;
	rc = deflate(z, Z_FINISH);
	if (rc != Z_STREAM_END)
		zlib_fatal("deflate", rc);
	out->len += bound - z->avail_out;
	out->buf[out->len] = '\0';
}

void emit_gzip(const void *data, size_t len, strbuf *out)
{
	z_stream z;
	gz_init(&z);
	gz_member(&z, data, len, out);
	deflateEnd(&z);
}

static const char *text_cb(void *arg, const char *key)
{
	return text_of(arg, key);
}

/* A screen's JSON with its texts, straight from the tree when it can (same bytes). */
static json_t *screen_body(emit_ctx *c, const node *s, strbuf *body, int *rc)
{
	*rc = 0;
	if (canon_write_node(s, NULL, emit_text_attrs, text_cb, c, body) == 0)
		return json_null();
	json_t *j = to_json(c, s, "screen");
	if (!j)
		return NULL;
	resolve_texts(c, j, emit_text_attrs);
	*rc = canon_dump(j, body);
	return j;
}

static void emit_screen(emit_ctx *c, const node *s)
{
	const char *id = node_get_str(s, "id");
	if (!id) {
		emit_error(c, s, "emit-screen", "screen without an id");
		return;
	}
	strbuf body = STRBUF_INIT, gz = STRBUF_INIT;
	int dumped;
	json_t *j = screen_body(c, s, &body, &dumped);
	if (!j) {
		strbuf_release(&body);
		return;
	}
	if (dumped == 0) {
		uint32_t h = memo_hash(body.buf, body.len);
		emit_memos *ms = c->wk->memos;
		if (!memo_fetch(ms, &ms->gz, body.buf, body.len, h, &gz)) {
			gz_member(&c->wk->gz, body.buf, body.len, &gz);
			memo_store(ms, &ms->gz, body.buf, body.len, h, gz.buf, gz.len);
		}
		pack_writer_add(c->w, PACK_SCREENS, id, body.buf, body.len);
		pack_writer_add(c->w, PACK_SCREENS_GZ, id, gz.buf, gz.len);
		c->st.screens++;
	} else {
		emit_error(c, s, "emit-encoding", "cannot encode screen '%s' as JSON", id);
	}
	strbuf_release(&body);
	strbuf_release(&gz);
	json_decref(j);
}

static void emit_screens(emit_ctx *c)
{
	const node *seq = node_get(c->e->resolved, "screens");
	if (!seq || seq->kind != NODE_SEQ)
		return;
	for (size_t i = 0; i < seq->count; i++)
		emit_screen(c, seq->items[i]);
}

/* --- routes ------------------------------------------------------------- */

static int route_cmp(const void *a, const void *b)
{
	const char *x = json_string_value(json_object_get(*(json_t *const *)a, "id"));
	const char *y = json_string_value(json_object_get(*(json_t *const *)b, "id"));
	return strcmp(x ? x : "", y ? y : "");
}

static void emit_routes(emit_ctx *c)
{
	const node *seq = node_get(c->e->resolved, "routes");
	size_t n = seq && seq->kind == NODE_SEQ ? seq->count : 0, k = 0;
	json_t **items = xmalloc((n ? n : 1) * sizeof(*items));
	for (size_t i = 0; i < n; i++) {
		json_t *r = to_json(c, seq->items[i], "route");
		if (!r)
			continue;
		if (!json_is_object(r) || !json_is_string(json_object_get(r, "id"))) {
			emit_error(c, seq->items[i], "emit-route", "route without an id");
			json_decref(r);
			continue;
		}
		if (!json_object_get(r, "method"))
			json_object_set_new(r, "method", json_string("GET"));
		if (!json_object_get(r, "auth"))
			json_object_set_new(r, "auth", json_string("login"));   /* absent: the safe side */
		resolve_texts(c, r, emit_text_attrs);
		items[k++] = r;
	}
	qsort(items, k, sizeof(*items), route_cmp);
	json_t *arr = json_array();
	for (size_t i = 0; i < k; i++)
		json_array_append_new(arr, items[i]);
	free(items);
	c->st.routes = k;
	add_json(c, PACK_ROUTES, "json", arr);
}

/* --- flows -------------------------------------------------------------- */

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
	strbuf_add(ud, p, sz);
	return 0;
}

/* Compiles a script and appends its stripped bytecode; -1 with the Lua message. */
static int compile_flow(emit_worker *wk, const named_doc *script, strbuf *out, strbuf *msg)
{
	strbuf key = STRBUF_INIT;
	strbuf_adds(&key, script->name);
	strbuf_addc(&key, '\0');
	strbuf_add(&key, script->text ? script->text : "", script->len);
	uint32_t h = memo_hash(key.buf, key.len);
	if (memo_fetch(wk->memos, &wk->memos->lua, key.buf, key.len, h, out)) {
		strbuf_release(&key);
		return 0;
	}
	lua_State *L = wk->L;
	size_t before = out->len;
	strbuf chunk = STRBUF_INIT;
	strbuf_addf(&chunk, "=%s", script->name);
	int rc = luaL_loadbufferx(L, script->text ? script->text : "", script->len, chunk.buf, "t");
	strbuf_release(&chunk);
	if (rc != LUA_OK) {
		strbuf_adds(msg, lua_tostring(L, -1) ? lua_tostring(L, -1) : "cannot load");
		lua_settop(L, 0);
		strbuf_release(&key);
		return -1;
	}
	lua_dump(L, dump_writer, out, 1);
	lua_settop(L, 0);
	memo_store(wk->memos, &wk->memos->lua, key.buf, key.len, h, out->buf + before, out->len - before);
	strbuf_release(&key);
	return 0;
}

/* Compiles a flow's script into the pack; -1 when the flow has no spec (reported). */
static int emit_flow_code(emit_ctx *c, const node *f)
{
	const char *id = node_get_str(f, "id"), *script = node_get_str(f, "script");
	if (!id || !script) {
		emit_error(c, f, "emit-flow", "flow without %s", id ? "a script" : "an id");
		return -1;
	}
	const named_doc *sd = project_script(c->p, script);
	if (!sd) {
		emit_error(c, node_get(f, "script"), "emit-flow", "flow '%s': no script '%s'", id, script);
		return -1;
	}
	strbuf code = STRBUF_INIT, msg = STRBUF_INIT;
	if (compile_flow(c->wk, sd, &code, &msg) == 0) {
		pack_writer_add(c->w, PACK_FLOWS, id, code.buf, code.len);
		c->st.flows++;
	} else {
		emit_error(c, node_get(f, "script"), "emit-flow", "flow '%s' does not compile: %s", id, msg.buf);
	}
	strbuf_release(&code);
	strbuf_release(&msg);
	return 0;
}

static const char *const flow_spec_skip[] = { "id", "script", NULL };

/* A flow's spec: its canonical bytes when they can be written directly, else its JSON. */
typedef struct flow_spec {
	const char *id;
	const node *f;
	strbuf bytes;
	json_t *json;               /* the general path; NULL when bytes hold it */
} flow_spec;

static int flow_spec_cmp(const void *a, const void *b)
{
	return strcmp(((const flow_spec *)a)->id, ((const flow_spec *)b)->id);
}

/* The spec object from the bytes, ids sorted: each plain and given once, else -1. */
static int write_specs(const flow_spec *v, size_t n, strbuf *out)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].json)
			return -1;
	flow_spec *sorted = xmalloc((n ? n : 1) * sizeof(*sorted));
	memcpy(sorted, v, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), flow_spec_cmp);
	int rc = 0;
	strbuf_addc(out, '{');
	for (size_t i = 0; i < n && !rc; i++) {
		json_t *key = json_string(sorted[i].id);
		rc = (i && !strcmp(sorted[i - 1].id, sorted[i].id)) || !key ? -1 : 0;
		if (i)
			strbuf_addc(out, ',');
		if (key)
			canon_dump(key, out);
		json_decref(key);
		strbuf_addc(out, ':');
		strbuf_add(out, sorted[i].bytes.buf, sorted[i].bytes.len);
	}
	strbuf_addc(out, '}');
	free(sorted);
	return rc;
}

/* The general path, in flow order: jansson values, the last spec of an id wins. */
static json_t *specs_json(emit_ctx *c, flow_spec *v, size_t n)
{
	json_t *specs = json_object();
	for (size_t i = 0; i < n; i++) {
		json_t *spec = v[i].json ? json_incref(v[i].json) : canon_from_node(v[i].f, NULL);
		if (!spec)
			continue;
		json_object_del(spec, "id");
		json_object_del(spec, "script");
		resolve_texts(c, spec, flow_text_attrs);
		json_object_set_new(specs, v[i].id, spec);
	}
	return specs;
}

static void emit_flows(emit_ctx *c)
{
	const node *seq = node_get(c->e->resolved, "flows");
	size_t n = seq && seq->kind == NODE_SEQ ? seq->count : 0, k = 0;
	flow_spec *v = xcalloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		const node *f = seq->items[i];
		if (emit_flow_code(c, f) < 0)
			continue;
		flow_spec *fs = &v[k];
		*fs = (flow_spec){ node_get_str(f, "id"), f, STRBUF_INIT, NULL };
		if (canon_write_node(f, flow_spec_skip, flow_text_attrs, text_cb, c, &fs->bytes) < 0 &&
		    !(fs->json = to_json(c, f, "flow"))) {
			strbuf_release(&fs->bytes);
			continue;       /* reported: no spec */
		}
		k++;
	}
	strbuf out = STRBUF_INIT;
	if (write_specs(v, k, &out) == 0)
		pack_writer_add(c->w, PACK_FLOW_SPECS, "json", out.buf, out.len);
	else
		add_json(c, PACK_FLOW_SPECS, "json", specs_json(c, v, k));
	strbuf_release(&out);
	for (size_t i = 0; i < n; i++) {
		strbuf_release(&v[i].bytes);
		json_decref(v[i].json);
	}
	free(v);
}

/* --- products ----------------------------------------------------------- */

static const node *catalogue(const project *p)
{
	const node *cat = p->products;
	if (cat && cat->kind == NODE_MAP)
		cat = node_get(cat, "products");
	return cat && cat->kind == NODE_SEQ ? cat : NULL;
}

static const node *catalogue_item(const node *cat, const char *id)
{
	for (size_t i = 0; cat && i < cat->count; i++)
		if (node_is(node_get(cat->items[i], "id"), id))
			return cat->items[i];
	return NULL;
}

/* A listed product: the catalogue entry with the edition's item merged over it. */
static json_t *product_json(emit_ctx *c, const node *cat, const node *item)
{
	const node *idn = item->kind == NODE_SCALAR ? item : node_get(item, "id");
	if (!idn || idn->kind != NODE_SCALAR) {
		emit_error(c, item, "emit-product", "product item without an id");
		return NULL;
	}
	const node *base = catalogue_item(cat, idn->str);
	json_t *j = base ? to_json(c, base, "product") : json_object();
	if (!j)
		return NULL;
	if (!json_is_object(j))
		json_decref(j), j = json_object();
	json_object_set_new(j, "id", json_stringn(idn->str, idn->len));
	if (item->kind == NODE_MAP) {
		json_t *over = to_json(c, item, "product");
		if (over && json_is_object(over))
			json_object_update(j, over);
		json_decref(over);
	}
	resolve_texts(c, j, product_text_attrs);
	return j;
}

static void emit_products(emit_ctx *c)
{
	const node *seq = node_get(c->e->resolved, "products");
	const node *cat = catalogue(c->p);
	json_t *arr = json_array();
	for (size_t i = 0; seq && seq->kind == NODE_SEQ && i < seq->count; i++) {
		json_t *j = product_json(c, cat, seq->items[i]);
		if (j)
			json_array_append_new(arr, j);
	}
	c->st.products = json_array_size(arr);
	add_json(c, PACK_PRODUCTS, "json", arr);
}

/* --- one pack ----------------------------------------------------------- */

static void worker_init(emit_worker *wk, emit_memos *memos)
{
	memset(wk, 0, sizeof(*wk));
	wk->memos = memos;
	gz_init(&wk->gz);
	wk->L = luaL_newstate();
	if (!wk->L) {
		fprintf(stderr, "fatal: cannot create a Lua state\n");
		abort();
	}
}

static void worker_release(emit_worker *wk)
{
	deflateEnd(&wk->gz);
	lua_close(wk->L);
}

/*
 * One pack, touching nothing shared but reading the model: errors are kept in
 * msgs, so that emit_build can run this on several threads. edition_strings
 * must have been called for e before (it fills a cache).
 */
static int emit_one(project *p, const edition *e, const unsigned char *sign_sk, strbuf *out,
		    emit_stats *st, emit_worker *wk, emit_msgs *msgs)
{
	emit_ctx c = { .p = p, .e = e, .wk = wk, .msgs = msgs };
	strbuf_reset(out);
	const char *version = node_get_str(e->resolved, "version");
	const char *min_client = node_get_str(e->resolved, "min_client");
	if (!version) {
		emit_error(&c, NULL, "emit-edition", "edition '%s' has no version", e->id);
		return -1;
	}
	c.w = pack_writer_new(e->id, version, min_client ? min_client : version,
			      LUA_VERSION_MAJOR "." LUA_VERSION_MINOR);
	load_strings(&c);
	emit_meta(&c);
	emit_theme(&c);
	emit_strings(&c);
	emit_screens(&c);
	emit_routes(&c);
	emit_flows(&c);
	emit_products(&c);
	strbuf err = STRBUF_INIT;
	if (!c.errors && pack_writer_finish(c.w, sign_sk, out, &err) < 0)
		emit_error(&c, NULL, "emit-pack", "edition '%s': %s", e->id, err.buf);
	else if (!c.errors)
		memcpy(c.st.sha256, pack_writer_file_sha256(c.w), sizeof(c.st.sha256));
	strbuf_release(&err);
	pack_writer_free(c.w);
	free_strings(&c);
	c.st.size = out->len;
	if (st)
		*st = c.st;
	return c.errors ? -1 : 0;
}

/* Checks what emit_one needs and warms the strings cache; reports on failure. */
static int emit_prepare(project *p, const edition *e)
{
	if (!e->resolved || e->resolved->kind != NODE_MAP) {
		diag_report(p->diag, DIAG_ERROR, (src_pos){ e->path, 0, 0 }, "emit-edition",
			    "edition '%s' was not resolved", e->id);
		return -1;
	}
	edition_strings(p, e);
	return 0;
}

int emit_pack(project *p, const edition *e, const unsigned char *sign_sk, strbuf *out,
	      emit_stats *st)
{
	strbuf_reset(out);
	if (emit_prepare(p, e) < 0)
		return -1;
	emit_worker wk;
	emit_memos memos;
	emit_msgs msgs = { 0 };
	memos_init(&memos);
	worker_init(&wk, &memos);
	int rc = emit_one(p, e, sign_sk, out, st, &wk, &msgs);
	worker_release(&wk);
	memos_release(&memos);
	msgs_flush(p, &msgs);
	return rc;
}

char *emit_pack_name(const char *edition_id, const char *version)
{
	strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s-%s.pack", edition_id, version);
	return strbuf_detach(&sb, NULL);
}

/* --- the output directory ------------------------------------------------ */

typedef struct built {
	const edition *e;
	const char *version;
	char *file;
	strbuf data;
	emit_stats st;
	emit_msgs msgs;
	int rc;
} built;

static void build_error(project *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void build_error(project *p, const char *fmt, ...)
{
	char msg[PATH_MAX + 256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_report(p->diag, DIAG_ERROR, (src_pos){ NULL, 0, 0 }, "output", "%s", msg);
}

/* Edition ids and versions become file names: letters, digits, '.', '_', '-' only. */
static int file_name_safe(const char *s)
{
	if (!*s || *s == '.')
		return 0;
	for (; *s; s++)
		if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') ||
		      ('0' <= *s && *s <= '9') || strchr("._-", *s)))
			return 0;
	return 1;
}

static int mkdir_p(const char *path)
{
	char *tmp = xstrdup(path);
	for (char *s = tmp + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST) {
			free(tmp);
			return -1;
		}
		*s = '/';
	}
	int rc = mkdir(tmp, 0755) < 0 && errno != EEXIST ? -1 : 0;
	free(tmp);
	return rc;
}

static char *parent_of(const char *path)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	while (n > 0 && path[n - 1] != '/')
		n--;
	while (n > 1 && path[n - 1] == '/')
		n--;
	return n == 0 ? xstrdup(".") : xstrndup(path, n);
}

static int fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* Writes a new file; write_output makes it durable with one syncfs for all files. */
/*
 * Makes every file written into dir durable before any of them is renamed into
 * place: one syncfs flushes them all (one journal commit instead of one per
 * file), then the directory itself.
 */
static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = syncfs(fd) < 0 || fsync(fd) < 0 ? -1 : 0;
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

static int write_new(const char *dir, const char *name, const void *data, size_t len)
{
	strbuf path = STRBUF_INIT;
	strbuf_addf(&path, "%s/%s", dir, name);
	int fd = open(path.buf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	strbuf_release(&path);
	if (fd < 0)
		return -1;
	const char *b = data;
	while (len) {
		ssize_t w = write(fd, b, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		b += w, len -= (size_t)w;
	}
	return close(fd);
}

static void remove_tmp(const char *tmp, const built *b, size_t n)
{
	strbuf path = STRBUF_INIT;
	for (size_t i = 0; i <= n; i++) {
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s", tmp, i < n ? b[i].file : "manifest.json");
		unlink(path.buf);
	}
	strbuf_release(&path);
	rmdir(tmp);
}

/* Renames tmp/name to out/name. */
static int move_into(const char *tmp, const char *out, const char *name)
{
	strbuf from = STRBUF_INIT, to = STRBUF_INIT;
	strbuf_addf(&from, "%s/%s", tmp, name);
	strbuf_addf(&to, "%s/%s", out, name);
	int rc = rename(from.buf, to.buf);
	strbuf_release(&from);
	strbuf_release(&to);
	return rc;
}

/* Writes into a fresh directory beside out_dir, then moves the files into place. */
/* Writes every pack and the manifest into tmp and makes them durable; removes tmp on failure. */
static int fill_tmp(project *p, const char *tmp, const built *b, size_t n, const strbuf *manifest)
{
	for (size_t i = 0; i <= n; i++) {
		const char *name = i < n ? b[i].file : "manifest.json";
		const strbuf *data = i < n ? &b[i].data : manifest;
		if (write_new(tmp, name, data->buf, data->len) < 0) {
			build_error(p, "cannot write '%s/%s': %s", tmp, name, strerror(errno));
			remove_tmp(tmp, b, n);
			return -1;
		}
	}
	if (sync_dir(tmp) < 0) {
		build_error(p, "cannot sync '%s': %s", tmp, strerror(errno));
		remove_tmp(tmp, b, n);
		return -1;
	}
	mode_t mask = umask(0);
	umask(mask);
	chmod(tmp, 0777 & ~mask);              /* mkdtemp made it 0700 */
	return 0;
}

/* Moves the files of tmp into out_dir, the manifest last, or tmp itself when out_dir is new. */
static int install(project *p, const char *tmp, const char *out_dir, const char *parent,
		   int exists, const built *b, size_t n)
{
	if (!exists && rename(tmp, out_dir) == 0) {
		fsync_path(parent, O_RDONLY | O_DIRECTORY);
		return 0;
	}
	for (size_t i = 0; i <= n; i++) {
		const char *name = i < n ? b[i].file : "manifest.json";
		if (move_into(tmp, out_dir, name) < 0) {
			build_error(p, "cannot move '%s' into '%s': %s", name, out_dir, strerror(errno));
			remove_tmp(tmp, b, n);
			return -1;
		}
	}
	fsync_path(out_dir, O_RDONLY | O_DIRECTORY);
	rmdir(tmp);
	return 0;
}

/* Writes into a fresh directory beside out_dir (same file system), then moves the files into place. */
static int write_output(project *p, const char *out_dir, const built *b, size_t n, const strbuf *manifest)
{
	struct stat st;
	int exists = stat(out_dir, &st) == 0;
	if (exists && !S_ISDIR(st.st_mode)) {
		build_error(p, "'%s' exists and is not a directory", out_dir);
		return -1;
	}
	char *parent = parent_of(out_dir);
	struct stat pst;
	strbuf tmp = STRBUF_INIT;
	/* out_dir a mount point: its parent is another file system, so stay inside it */
	if (exists && stat(parent, &pst) == 0 && pst.st_dev != st.st_dev)
		strbuf_addf(&tmp, "%s/.editionc-tmp-XXXXXX", out_dir);
	else
		strbuf_addf(&tmp, "%s/.editionc-tmp-XXXXXX", parent);
	int rc = -1;
	if (mkdir_p(parent) < 0 || !mkdtemp(tmp.buf))
		build_error(p, "cannot create a temporary directory in '%s': %s", parent, strerror(errno));
	else if (fill_tmp(p, tmp.buf, b, n, manifest) == 0)
		rc = install(p, tmp.buf, out_dir, parent, exists, b, n);
	strbuf_release(&tmp);
	free(parent);
	return rc;
}

static void manifest_json(const built *b, size_t n, strbuf *out)
{
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		char hex[2 * sizeof(b[i].st.sha256) + 1];
		sodium_bin2hex(hex, sizeof(hex), b[i].st.sha256, sizeof(b[i].st.sha256));
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:I, s:s}",
			"edition", b[i].e->id, "version", b[i].version, "file", b[i].file,
			"size", (json_int_t)b[i].data.len, "sha256", hex));
	}
	json_t *m = json_pack("{s:o, s:i}", "editions", list, "format", PACK_FORMAT_VERSION);
	canon_dump(m, out);
	strbuf_addc(out, '\n');
	json_decref(m);
}

static void progress_line(FILE *out, const edition *e, const char *version, const emit_stats *st)
{
	if (!out)
		return;
	fprintf(out, "compiled %s %s: %zu screen%s, %zu route%s, %zu flow%s (%.1f KiB)\n",
		e->id, version, st->screens, st->screens == 1 ? "" : "s", st->routes,
		st->routes == 1 ? "" : "s", st->flows, st->flows == 1 ? "" : "s", st->size / 1024.0);
}

/* Packs are built by up to this many threads, each with its own worker state. */
#define EMIT_MAX_THREADS 8

typedef struct build_job {
	project *p;
	const unsigned char *sign_sk;
	built *b;
	size_t n;
	atomic_size_t next;         /* the next edition to take */
	emit_memos memos;           /* shared by the threads */
} build_job;

static void *build_thread(void *arg)
{
	build_job *j = arg;
	emit_worker wk;
	worker_init(&wk, &j->memos);
	for (;;) {
		size_t i = atomic_fetch_add(&j->next, 1);
		if (i >= j->n)
			break;
		built *b = &j->b[i];
		b->rc = emit_one(j->p, b->e, j->sign_sk, &b->data, &b->st, &wk, &b->msgs);
	}
	worker_release(&wk);
	return NULL;
}

/* Runnable tasks right now ("procs_running" of /proc/stat, this one included), or 0. */
static long procs_running(void)
{
	FILE *f = fopen("/proc/stat", "re");
	char line[256];
	long n = 0;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "procs_running %ld", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

size_t emit_thread_count(size_t jobs, size_t max)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	if (cores < 2 || jobs < 2 || max < 2)
		return 1;
	long busy = procs_running() - 1;        /* other tasks that want a core */
	long idle = cores - (busy > 0 ? busy : 0);
	size_t want = idle > 1 ? (size_t)idle : 1;
	if (want > max)
		want = max;
	return want > jobs ? jobs : want;
}

/* Runs build_thread on the calling thread and on helpers, one per idle core. */
static void build_all(build_job *j)
{
	size_t want = emit_thread_count(j->n, EMIT_MAX_THREADS), started = 0;
	pthread_t tid[EMIT_MAX_THREADS];
	json_decref(json_object());     /* jansson's hash seed, set once before threads */
	for (size_t i = 1; i < want; i++)
		if (pthread_create(&tid[started], NULL, build_thread, j) == 0)
			started++;
	build_thread(j);
	for (size_t i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
}

/* After the threads: reports in edition order, names the files, prints progress. */
static int build_finish(project *p, built *b, size_t n, FILE *progress)
{
	int failed = 0;
	for (size_t i = 0; i < n; i++) {
		msgs_flush(p, &b[i].msgs);
		if (b[i].rc) {
			failed = 1;
			continue;
		}
		b[i].version = node_get_str(b[i].e->resolved, "version");
		if (!file_name_safe(b[i].e->id) || !file_name_safe(b[i].version)) {
			build_error(p, "edition '%s' version '%s' cannot name a file", b[i].e->id, b[i].version);
			failed = 1;
			continue;
		}
		b[i].file = emit_pack_name(b[i].e->id, b[i].version);
		progress_line(progress, b[i].e, b[i].version, &b[i].st);
	}
	return failed;
}

int emit_build(project *p, const char *out_dir, const unsigned char *sign_sk, FILE *progress)
{
	built *b = xcalloc(p->n_editions ? p->n_editions : 1, sizeof(*b));
	size_t n = 0;
	int failed = 0;
	for (size_t i = 0; i < p->n_editions; i++) {
		if (p->editions[i]->abstract)
			continue;
		if (emit_prepare(p, p->editions[i]) < 0) {
			failed = 1;
			continue;
		}
		strbuf_init(&b[n].data);
		b[n++].e = p->editions[i];
	}
	if (!n && !failed) {
		build_error(p, "no edition to build in '%s'", p->dir ? p->dir : ".");
		failed = 1;
	}
	build_job job = { .p = p, .sign_sk = sign_sk, .b = b, .n = n };
	atomic_init(&job.next, 0);
	memos_init(&job.memos);
	if (n)
		build_all(&job);
	memos_release(&job.memos);
	failed |= build_finish(p, b, n, progress);
	if (!failed) {
		strbuf manifest = STRBUF_INIT;
		manifest_json(b, n, &manifest);
		failed = write_output(p, out_dir, b, n, &manifest) < 0;
		strbuf_release(&manifest);
	}
	for (size_t i = 0; i < n; i++) {
		strbuf_release(&b[i].data);
		free(b[i].file);
	}
	free(b);
	return failed ? -1 : 0;
}
