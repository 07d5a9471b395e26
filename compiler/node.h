/*
 * node: the document tree every compiler phase works on, and the arena it lives in.
 *
 * read.c turns YAML into nodes (anchors, aliases and merge keys already applied);
 * resolve.c merges an edition with the bases it extends into new nodes; validate.c,
 * check.c and policy.c only read them; emit.c turns them into pack sections.
 *
 * Every node carries the position where its value was written (the libyaml mark,
 * 1-based line and column). A value that replaced an inherited one keeps the
 * replaced node in `overrides`, so a diagnostic can print the whole chain:
 *   note: overrides the value inherited from editions/mass.yaml:40:5
 *
 * Memory: one arena per compilation; every node and string of a run comes from it
 * and is freed at once with arena_free. Nothing here is freed on its own.
 */
#ifndef NODE_H
#define NODE_H

#include <stddef.h>

typedef struct arena arena;

arena *arena_new(void);
void arena_free(arena *a);                          /* frees every allocation of a */
void *arena_alloc(arena *a, size_t size);           /* zeroed, 16-byte aligned */
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_strdup(arena *a, const char *s);
char *arena_printf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef struct src_pos {       /* public */
	const char *file;           /* path as given on the command line; arena-owned */
	int line, col;              /* 1-based; 0 when unknown */
} src_pos;

typedef enum node_kind { NODE_SCALAR, NODE_MAP, NODE_SEQ } node_kind;

typedef struct node node;
struct node {                  /* public: phases read the fields directly */
	node_kind kind;
	src_pos pos;
	/* scalars */
	const char *str;            /* NUL-terminated text (may contain NUL: use len) */
	size_t len;
	int quoted;                 /* written quoted or as a block scalar: always a string */
	const char *tag;            /* explicit YAML tag ("!!str", "!!int") or NULL */
	/* maps (keys[i] -> items[i], keys are scalars, in document order) and sequences */
	size_t count;
	node **keys;                /* NULL for sequences and scalars */
	node **items;
	/* inheritance: the value this one replaced, from a base edition, or NULL */
	const node *overrides;
	/* set on values copied unchanged from a base: where the derived edition got it */
	int inherited;
	/* allocated slots of keys/items; kept by node_map_set/node_seq_push (0 = exactly count) */
	size_t cap;
};

node *node_new_scalar(arena *a, src_pos pos, const char *s, size_t len, int quoted);
node *node_new_map(arena *a, src_pos pos);
node *node_new_seq(arena *a, src_pos pos);
void node_map_set(arena *a, node *map, node *key, node *value);  /* appends or replaces */
void node_seq_push(arena *a, node *seq, node *item);
void node_map_push(arena *a, node *map, node *key, node *value); /* appends, no key lookup */
node *node_copy(arena *a, const node *n);                       /* deep copy */

/* Lookups return NULL when absent or when the node is not of the asked kind. */
node *node_get(const node *map, const char *key);
const char *node_get_str(const node *map, const char *key);      /* scalar value or NULL */
int node_is(const node *n, const char *s);                        /* scalar equal to s */
/*
 * Scalar conversions following YAML 1.2 core schema; quoted scalars never convert.
 * Each returns 0 and sets *out on success, -1 (leaving *out alone) when n is not a
 * plain scalar of that type (quoted, tagged !!str, out of range, a map, NULL).
 */
int node_as_int(const node *n, long long *out);
int node_as_double(const node *n, double *out);
int node_as_bool(const node *n, int *out);

/* A path for messages: "screens[home].layout[2].label". Arena-owned. */
const char *node_kind_name(node_kind k);

#endif
