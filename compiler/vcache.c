/*
 * vcache: the memo and clean sets of validate.c (see vcache.h).
 *
 * Memo tables are per thread (a pthread key): a thread's table is linked in
 * memo_tabs, so none is lost, and freed when its thread ends. The clean set is
 * one open-addressing table under clean_lock, bounded in bytes. Both empty
 * themselves when asked about another generation of the schema.
 */
#include "vcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "strbuf.h"

/* ---------------------------------------------------------------- memo */

typedef struct memo_entry {
	const void *type;
	int kind;
	char *name;                 /* owned; NULL marks a free slot */
	const void *result;
} memo_entry;

typedef struct memo_tab {
	memo_entry *slot;
	size_t cap, n;
	unsigned generation;
	struct memo_tab *next;      /* in memo_tabs */
} memo_tab;

#define MEMO_MAX 100000         /* past this, answers are computed, not kept */

static pthread_mutex_t memo_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t memo_once = PTHREAD_ONCE_INIT;
static pthread_key_t memo_key;
static memo_tab *memo_tabs;

static size_t memo_hash(const void *type, int kind, const char *name)
{
	size_t h = (size_t)(uintptr_t)type * 31u + (size_t)kind;
	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		h = h * 16777619u ^ *c;
	return h;
}

static void memo_clear(memo_tab *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->slot[i].name);
	free(t->slot);
	t->slot = NULL;
	t->cap = t->n = 0;
}

static void memo_tab_free(void *arg)
{
	memo_tab *t = arg;
	pthread_mutex_lock(&memo_lock);
	for (memo_tab **at = &memo_tabs; *at; at = &(*at)->next)
		if (*at == t) {
			*at = t->next;
			break;
		}
	pthread_mutex_unlock(&memo_lock);
	memo_clear(t);
	free(t);
}

static void memo_key_create(void)
{
	if (pthread_key_create(&memo_key, memo_tab_free))
		abort();
}

/* The calling thread's table, emptied when it holds another generation. */
static memo_tab *memo_current(unsigned generation)
{
	pthread_once(&memo_once, memo_key_create);
	memo_tab *t = pthread_getspecific(memo_key);
	if (!t) {
		t = xcalloc(1, sizeof *t);
		pthread_mutex_lock(&memo_lock);
		t->next = memo_tabs;
		memo_tabs = t;
		pthread_mutex_unlock(&memo_lock);
		if (pthread_setspecific(memo_key, t))
			abort();
		t->generation = generation;
	}
	if (t->generation != generation) {
		memo_clear(t);
		t->generation = generation;
	}
	return t;
}

/* The slot for a question: its answer when e->name is set, else where to put it. */
static memo_entry *memo_slot(memo_tab *t, const void *type, int kind, const char *name)
{
	size_t i = memo_hash(type, kind, name) & (t->cap - 1);
	while (t->slot[i].name && !(t->slot[i].type == type && t->slot[i].kind == kind &&
				    !strcmp(t->slot[i].name, name)))
		i = (i + 1) & (t->cap - 1);
	return &t->slot[i];
}

int vcache_memo_get(unsigned generation, const void *type, int kind, const char *name,
		    const void **result)
{
	memo_tab *t = memo_current(generation);
	memo_entry *e = t->cap ? memo_slot(t, type, kind, name) : NULL;
	if (!e || !e->name)
		return 0;
	*result = e->result;
	return 1;
}

void vcache_memo_put(unsigned generation, const void *type, int kind, const char *name,
		     const void *result)
{
	memo_tab *t = memo_current(generation);
	if (t->n >= MEMO_MAX)
		return;
	if (2 * (t->n + 1) > t->cap) {
		memo_entry *old = t->slot;
		size_t old_cap = t->cap;
		t->cap = old_cap ? 2 * old_cap : 256;
		t->slot = xcalloc(t->cap, sizeof *t->slot);
		for (size_t i = 0; i < old_cap; i++)
			if (old[i].name)
				*memo_slot(t, old[i].type, old[i].kind, old[i].name) = old[i];
		free(old);
	}
	memo_entry *e = memo_slot(t, type, kind, name);
	if (!e->name) {
		*e = (memo_entry){ type, kind, xstrdup(name), result };
		t->n++;
	}
}

/* ---------------------------------------------------------------- clean items */

typedef struct clean_entry {
	const void *decl;
	uint32_t hash;
	char *bytes;                /* the serialised item; NULL marks a free slot */
	size_t len;
} clean_entry;

static struct {
	clean_entry *slot;
	size_t cap, n, bytes;
	unsigned generation;
} clean;

static pthread_mutex_t clean_lock = PTHREAD_MUTEX_INITIALIZER;

#define CLEAN_MAX_BYTES (32u << 20)  /* beyond this, stop remembering */

/*
 * One header per node, then a scalar's tag and text, or the children. The header
 * is two 32-bit words: kind (2 bits), quoted and tagged (1 bit each) and the tag's
 * length (28 bits); the text's length or the number of children. A node too big
 * for them marks the buffer unusable (b->too_big): never the case for what the
 * reader accepts (64 MiB files, 4 million nodes).
 */
void vcache_serialise(vcache_ser *b, const node *n)
{
	size_t tag_len = n->tag ? strlen(n->tag) : 0;
	size_t len = n->kind == NODE_SCALAR ? (n->str ? n->len : 0) : n->count;
	if (tag_len >= (1u << 28) || len > UINT32_MAX) {
		b->too_big = 1;
		return;
	}
	uint32_t hd[2] = { (uint32_t)n->kind | (n->quoted ? 4u : 0u) | (n->tag ? 8u : 0u) |
			   (uint32_t)tag_len << 4, (uint32_t)len };
	size_t need = sizeof hd + (n->kind == NODE_SCALAR ? tag_len + len : 0);
	if (b->cap - b->len < need) {
		b->cap = 2 * (b->len + need) + 4096;
		b->buf = xrealloc(b->buf, b->cap);
	}
	memcpy(b->buf + b->len, hd, sizeof hd);
	b->len += sizeof hd;
	if (n->kind == NODE_SCALAR) {
		if (tag_len)
			memcpy(b->buf + b->len, n->tag, tag_len);
		if (len)
			memcpy(b->buf + b->len + tag_len, n->str, len);
		b->len += tag_len + len;
		return;
	}
	for (size_t i = 0; i < n->count; i++) {
		if (n->kind == NODE_MAP)
			vcache_serialise(b, n->keys[i]);
		vcache_serialise(b, n->items[i]);
	}
}

uint32_t vcache_hash(const char *bytes, size_t len)
{
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), (const Bytef *)bytes, (uInt)len);
}

static size_t clean_index(const void *decl, uint32_t h)
{
	return (size_t)(h ^ (uint64_t)(uintptr_t)decl * 0x9E3779B97F4A7C15u) & (clean.cap - 1);
}

/* Drops the set when it is about another generation (caller holds clean_lock). */
static void clean_sync(unsigned generation)
{
	if (clean.generation == generation)
		return;
	for (size_t i = 0; i < clean.cap; i++)
		free(clean.slot[i].bytes);
	free(clean.slot);
	memset(&clean, 0, sizeof clean);
	clean.generation = generation;
}

/* The slot holding these bytes for decl, or the free slot where they would go (lock held). */
static clean_entry *clean_slot(const void *decl, uint32_t h, const char *bytes, size_t len)
{
	size_t i = clean_index(decl, h);
	for (;; i = (i + 1) & (clean.cap - 1)) {
		clean_entry *e = &clean.slot[i];
		if (!e->bytes || (e->decl == decl && e->hash == h && e->len == len &&
				  !memcmp(e->bytes, bytes, len)))
			return e;
	}
}

int vcache_clean_has(unsigned generation, const void *decl, const char *bytes, size_t len, uint32_t h)
{
	pthread_mutex_lock(&clean_lock);
	clean_sync(generation);
	int found = clean.cap && clean_slot(decl, h, bytes, len)->bytes;
	pthread_mutex_unlock(&clean_lock);
	return found;
}

static void clean_grow(void)
{
	clean_entry *old = clean.slot;
	size_t old_cap = clean.cap;
	clean.cap = old_cap ? 2 * old_cap : 256;
	clean.slot = xcalloc(clean.cap, sizeof *clean.slot);
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].bytes)
			*clean_slot(old[i].decl, old[i].hash, old[i].bytes, old[i].len) = old[i];
	free(old);
}

void vcache_clean_add(unsigned generation, const void *decl, char *bytes, size_t len, uint32_t h)
{
	pthread_mutex_lock(&clean_lock);
	clean_sync(generation);
	clean_entry *e = NULL;
	if (clean.bytes + len <= CLEAN_MAX_BYTES) {
		if (2 * (clean.n + 1) > clean.cap)
			clean_grow();
		e = clean_slot(decl, h, bytes, len);
	}
	if (e && !e->bytes) {
		*e = (clean_entry){ decl, h, bytes, len };
		clean.n++;
		clean.bytes += len;
		bytes = NULL;
	}
	pthread_mutex_unlock(&clean_lock);
	free(bytes);            /* not kept: full, or another thread was first */
}
