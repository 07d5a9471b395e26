/*
 * check_common.h: helpers shared by the meaning checks (check.c) and the
 * edition policies (policy.c). Private to those files; the phases themselves are
 * declared in model.h.
 *
 * Every report goes through check_report, which formats the message, reports it
 * at the offending value's position and adds the value's inheritance chain as
 * notes, so no caller can forget either.
 */
#ifndef CHECK_COMMON_H
#define CHECK_COMMON_H

#include "model.h"

/* Reports at n->pos (or at `fallback` when n is NULL) and notes n's origin. Returns 1 for errors, 0 else. */
int check_report(project *p, diag_severity sev, const node *n, const node *fallback,
		 const char *code, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* The `id` of a map item for messages: "?" when it has none. */
const char *check_id_of(const node *item);

/* The item of a sequence of maps whose `id` is id, or NULL. */
node *check_find_by_id(const node *seq, const char *id);

/* The product catalogue as a sequence (products.yaml is a list or holds `products:`), or NULL. */
const node *check_catalogue(const project *p);

/* The id a listed product item names: `- id: x` or `- x`; the scalar node or NULL. */
const node *check_product_ref(const node *item);

/* 1 when e is the edition `id` or extends it somewhere along its chain. */
int check_edition_is(const project *p, const edition *e, const char *id);

/* Calls fn on every component (a map holding `component`) under n, depth first. */
typedef void (*check_component_fn)(const node *component, void *arg);
void check_each_component(const node *n, check_component_fn fn, void *arg);

#endif
