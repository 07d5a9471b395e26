/*
 * vcache: what schema validation (validate.c) keeps between editions and
 * threads. Both sets are about one loaded schema, named by a generation number:
 * an entry of another generation is never answered.
 *
 *   memo   answers of questions about the schema's types, (type, kind, name)
 *          -> declaration; one table per thread, so asking takes no lock.
 *   clean  list items (serialised YAML) that were part of an edition validated
 *          without any error, per declaration; shared by threads, under a lock.
 *
 * Keys are opaque pointers (libxml2 nodes of the schema documents).
 */
#ifndef VCACHE_H
#define VCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "node.h"

/* The remembered answer: 1 and *result, or 0 when not asked before. */
int vcache_memo_get(unsigned generation, const void *type, int kind, const char *name,
		    const void **result);
void vcache_memo_put(unsigned generation, const void *type, int kind, const char *name,
		     const void *result);

typedef struct vcache_ser {    /* public: a growing byte buffer */
	char *buf;
	size_t len, cap;
	int too_big;                /* a node did not fit the format: do not use the bytes */
} vcache_ser;

/*
 * Appends everything validation reads from a YAML subtree, positions aside:
 * kinds, keys in order, text (with its length), quoting and tags.
 */
void vcache_serialise(vcache_ser *b, const node *n);
uint32_t vcache_hash(const char *bytes, size_t len);

/* Whether these bytes are known clean under decl. */
int vcache_clean_has(unsigned generation, const void *decl, const char *bytes, size_t len, uint32_t h);
/* Remembers them (takes bytes, malloc'd; frees them when not kept). */
void vcache_clean_add(unsigned generation, const void *decl, char *bytes, size_t len, uint32_t h);

#endif
