/*
 * canon: canonical JSON, the one way the compiler turns values into bytes.
 *
 * Canonical means: object keys sorted bytewise, no insignificant whitespace,
 * integers as integers, UTF-8 written as is (no \u escapes). Two equal values
 * always give the same bytes, which is what makes packs byte-identical and
 * lets `editionc diff` compare entries by their bytes.
 *
 * Scalars of the YAML tree convert by the YAML 1.2 core schema (node_as_int,
 * node_as_double, node_as_bool; plain null/~/empty is null); a quoted or
 * !!str-tagged scalar always stays a string.
 */
#ifndef CANON_H
#define CANON_H

#include <jansson.h>

#include "node.h"
#include "strbuf.h"

#define CANON_JSON_FLAGS (JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15))

/*
 * The JSON value of a node tree (new reference: caller owns it, json_decref).
 * NULL when a string is not valid UTF-8; then *bad (if given) is the offending node.
 */
json_t *canon_from_node(const node *n, const node **bad);
/* The JSON value of one scalar, by the rules above (new reference, or NULL on bad UTF-8). */
json_t *canon_scalar(const node *n);
/* Appends the canonical bytes of j to out. Returns 0, or -1 (a value JSON cannot hold). */
int canon_dump(const json_t *j, strbuf *out);
/* Canonical bytes as a malloc'd string (caller frees), or NULL. */
char *canon_dumps(const json_t *j);

#endif
