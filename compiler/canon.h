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

/*
 * The text an i18n key stands for, or NULL to keep the key (canon_write_node).
 * Returns a NUL-terminated string: like json_string_set, text stops at a NUL.
 */
typedef const char *(*canon_text_fn)(void *arg, const char *key);

/*
 * Appends the canonical bytes of n straight from the tree, the same bytes as
 * canon_dump(canon_from_node(n)) after deleting the top-level keys listed in
 * skip (NULL-terminated list, or NULL) and, when attrs is not NULL, every string
 * value of a map key listed in attrs (NULL-terminated list), at any depth, was
 * replaced by text(arg, value) where that is not NULL. Returns 0, or -1 with
 * out unchanged when n needs the general path (text that is not UTF-8, a key
 * that is not a plain string, a key given twice): callers then use jansson.
 */
int canon_write_node(const node *n, const char *const *skip, const char *const *attrs,
		     canon_text_fn text, void *arg, strbuf *out);

/* Whether s is UTF-8 as jansson accepts it (shortest forms, no surrogates, <= U+10FFFF). */
int canon_utf8_valid(const char *s, size_t len);
/* Appends s as a JSON string, escaped as canon_dump escapes it (s must be valid UTF-8). */
void canon_write_string(strbuf *out, const char *s, size_t len);

#endif
