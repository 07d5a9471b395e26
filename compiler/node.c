/*
 * node: the arena and the document tree.
 *
 * The arena hands out zeroed, 16-byte aligned memory from big blocks (64 KiB, or
 * one block of its own for a larger request) chained in a list; arena_free walks
 * the list once. There is no per-allocation free: a compilation is short-lived and
 * everything it builds dies together.
 *
 * Maps and sequences grow by doubling inside the arena (the old arrays are simply
 * left behind; the waste is bounded by the final size). Maps keep document order;
 * lookups are linear, which is right for the small maps editions are made of.
 *
 * Scalar conversions follow the YAML 1.2 core schema exactly: `true`/`True`/`TRUE`,
 * decimal, 0o octal and 0x hex integers, decimal floats and .inf/.nan. A quoted or
 * block scalar, or one tagged !!str, is a string and never converts: a quoted "2"
 * where an integer is wanted must be reported, not silently accepted.
 */
#include "node.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

#define ARENA_BLOCK (64u * 1024u)
#define ARENA_ALIGN 16u

struct block {
	struct block *next;
	size_t size, used;
	/* data follows, aligned */
	max_align_t data[];
};

struct arena {
	struct block *head;         /* the block allocations come from */
	struct block *big;          /* oversized allocations, one block each */
};

arena *arena_new(void)
{
	return xcalloc(1, sizeof(arena));
}

static void free_blocks(struct block *b)
{
	while (b) {
		struct block *next = b->next;
		free(b);
		b = next;
	}
}

void arena_free(arena *a)
{
	if (!a)
		return;
	free_blocks(a->head);
	free_blocks(a->big);
	free(a);
}

static struct block *block_new(size_t size)
{
	struct block *b = xmalloc(sizeof(struct block) + size);
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

void *arena_alloc(arena *a, size_t size)
{
	if (size > SIZE_MAX / 2) {
		fprintf(stderr, "fatal: arena request of %zu bytes\n", size);
		abort();
	}
	size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (size == 0)
		size = ARENA_ALIGN;
	if (size > ARENA_BLOCK / 4) {
		struct block *b = block_new(size);
		b->next = a->big;
		a->big = b;
		memset(b->data, 0, size);
		return b->data;
	}
	struct block *b = a->head;
	if (!b || b->size - b->used < size) {
		b = block_new(ARENA_BLOCK);
		b->next = a->head;
		a->head = b;
	}
	char *p = (char *)b->data + b->used;
	b->used += size;
	memset(p, 0, size);
	return p;
}

char *arena_strndup(arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *arena_printf(arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return arena_strdup(a, "");
	char *p = arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

/* ---- nodes ---- */

static node *node_new(arena *a, node_kind kind, src_pos pos)
{
	node *n = arena_alloc(a, sizeof(node));
	n->kind = kind;
	n->pos = pos;
	return n;
}

node *node_new_scalar(arena *a, src_pos pos, const char *s, size_t len, int quoted)
{
	node *n = node_new(a, NODE_SCALAR, pos);
	n->str = arena_strndup(a, s ? s : "", s ? len : 0);
	n->len = s ? len : 0;
	n->quoted = quoted;
	return n;
}

node *node_new_map(arena *a, src_pos pos)
{
	return node_new(a, NODE_MAP, pos);
}

node *node_new_seq(arena *a, src_pos pos)
{
	return node_new(a, NODE_SEQ, pos);
}

/* Makes room for one more entry; arrays built by hand (cap 0) are copied first. */
static void node_reserve(arena *a, node *n, int with_keys)
{
	if (n->count < n->cap)
		return;
	size_t cap = n->count < 4 ? 8 : n->count * 2;
	node **items = arena_alloc(a, cap * sizeof(node *));
	if (n->count)
		memcpy(items, n->items, n->count * sizeof(node *));
	n->items = items;
	if (with_keys) {
		node **keys = arena_alloc(a, cap * sizeof(node *));
		if (n->count)
			memcpy(keys, n->keys, n->count * sizeof(node *));
		n->keys = keys;
	}
	n->cap = cap;
}

static int scalar_eq(const node *k, const char *s, size_t len)
{
	return k && k->kind == NODE_SCALAR && k->len == len && memcmp(k->str, s, len) == 0;
}

void node_map_set(arena *a, node *map, node *key, node *value)
{
	for (size_t i = 0; i < map->count; i++) {
		if (scalar_eq(map->keys[i], key->str, key->len)) {
			map->items[i] = value;
			return;
		}
	}
	node_map_push(a, map, key, value);
}

void node_map_push(arena *a, node *map, node *key, node *value)
{
	node_reserve(a, map, 1);
	map->keys[map->count] = key;
	map->items[map->count] = value;
	map->count++;
}

void node_seq_push(arena *a, node *seq, node *item)
{
	node_reserve(a, seq, 0);
	seq->items[seq->count++] = item;
}

node *node_copy(arena *a, const node *n)
{
	if (!n)
		return NULL;
	node *c = node_new(a, n->kind, n->pos);
	c->str = n->str;
	c->len = n->len;
	c->quoted = n->quoted;
	c->tag = n->tag;
	c->overrides = n->overrides;
	c->inherited = n->inherited;
	if (n->kind == NODE_SCALAR)
		return c;
	c->cap = n->count;
	c->count = n->count;
	if (n->count) {
		c->items = arena_alloc(a, n->count * sizeof(node *));
		if (n->keys)
			c->keys = arena_alloc(a, n->count * sizeof(node *));
	}
	for (size_t i = 0; i < n->count; i++) {
		c->items[i] = node_copy(a, n->items[i]);
		if (n->keys)
			c->keys[i] = n->keys[i];   /* keys are immutable scalars: shared */
	}
	return c;
}

node *node_get(const node *map, const char *key)
{
	if (!map || map->kind != NODE_MAP || !key)
		return NULL;
	size_t len = strlen(key);
	for (size_t i = 0; i < map->count; i++)
		if (scalar_eq(map->keys[i], key, len))
			return map->items[i];
	return NULL;
}

const char *node_get_str(const node *map, const char *key)
{
	node *v = node_get(map, key);
	return v && v->kind == NODE_SCALAR ? v->str : NULL;
}

int node_is(const node *n, const char *s)
{
	return n && s && scalar_eq(n, s, strlen(s));
}

const char *node_kind_name(node_kind k)
{
	switch (k) {
	case NODE_SCALAR: return "scalar";
	case NODE_MAP: return "map";
	case NODE_SEQ: return "list";
	}
	return "node";
}

/* ---- YAML 1.2 core schema ---- */

/* A plain scalar that may be read as a number or boolean; NUL inside refuses. */
static int plain_scalar(const node *n)
{
	if (!n || n->kind != NODE_SCALAR || n->quoted)
		return 0;
	/* an explicit tag other than a core scalar type (!!str, !, !custom) means "not a number" */
	if (n->tag && strcmp(n->tag, "!!int") && strcmp(n->tag, "!!float") && strcmp(n->tag, "!!bool"))
		return 0;
	return n->len > 0 && strlen(n->str) == n->len;
}

static int all_digits(const char *s, const char *set)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!strchr(set, *s))
			return 0;
	return 1;
}

int node_as_int(const node *n, long long *out)
{
	if (!plain_scalar(n))
		return -1;
	const char *s = n->str;
	int base = 10;
	const char *digits = s;
	if (s[0] == '0' && s[1] == 'o') {
		base = 8, digits = s + 2;
		if (!all_digits(digits, "01234567"))
			return -1;
	} else if (s[0] == '0' && s[1] == 'x') {
		base = 16, digits = s + 2;
		if (!all_digits(digits, "0123456789abcdefABCDEF"))
			return -1;
	} else {
		const char *d = (*s == '-' || *s == '+') ? s + 1 : s;
		if (!all_digits(d, "0123456789"))
			return -1;
	}
	errno = 0;
	char *end;
	long long v = strtoll(digits, &end, base);
	if (errno == ERANGE || *end)
		return -1;
	*out = v;
	return 0;
}

/* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
static int core_float_syntax(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	size_t before = strspn(s, "0123456789");
	s += before;
	size_t after = 0;
	if (*s == '.') {
		s++;
		after = strspn(s, "0123456789");
		s += after;
	}
	if (before == 0 && after == 0)
		return 0;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		size_t exp = strspn(s, "0123456789");
		if (!exp)
			return 0;
		s += exp;
	}
	return *s == '\0';
}

static int special_float(const char *s, double *out)
{
	const char *t = (*s == '-' || *s == '+') ? s + 1 : s;
	if (!strcmp(t, ".inf") || !strcmp(t, ".Inf") || !strcmp(t, ".INF")) {
		*out = *s == '-' ? -INFINITY : INFINITY;
		return 1;
	}
	if (t == s && (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN"))) {
		*out = NAN;
		return 1;
	}
	return 0;
}

int node_as_double(const node *n, double *out)
{
	if (!plain_scalar(n))
		return -1;
	double v;
	if (special_float(n->str, &v)) {
		*out = v;
		return 0;
	}
	long long i;
	if (node_as_int(n, &i) == 0) {
		*out = (double)i;
		return 0;
	}
	if (!core_float_syntax(n->str))
		return -1;
	errno = 0;
	char *end;
	v = strtod(n->str, &end);
	if (*end || (errno == ERANGE && isinf(v)))
		return -1;
	*out = v;
	return 0;
}

int node_as_bool(const node *n, int *out)
{
	if (!plain_scalar(n))
		return -1;
	static const char *const yes[] = { "true", "True", "TRUE" };
	static const char *const no[] = { "false", "False", "FALSE" };
	for (size_t i = 0; i < 3; i++) {
		if (!strcmp(n->str, yes[i])) {
			*out = 1;
			return 0;
		}
		if (!strcmp(n->str, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}
