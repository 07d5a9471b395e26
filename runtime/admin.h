/*
 * admin: the operator's endpoints and what they report.
 *
 *   POST /admin/reload       reload packs and rollout (as SIGHUP does)
 *   GET  /admin/rollout      editions, versions loaded, stable, canary, whitelist size,
 *                            percentage, compare, sessions pinned per version
 *   GET  /admin/mismatches   the last dual-run mismatches
 *
 * Only from this host (the socket's peer, no X-Forwarded-For) unless remote
 * access was allowed, and, once a token is set (--admin-token-file), only with
 * `Authorization: Bearer <token>`, compared in constant time.
 */
#ifndef ADMIN_H
#define ADMIN_H

#include "strbuf.h"

struct req;

/* Reads the token (first line, 16 to 256 printable characters). 0, or -1 with the reason. */
int admin_load_token(const char *path, strbuf *err);
void admin_set_token(const char *token);        /* NULL: none (tests) */
void admin_allow_remote(int yes);               /* accept other hosts too (needs a token) */

/* 1 when path is an admin endpoint (answered here), 0 otherwise. */
int admin_route(struct req *r, const char *method, const char *path);

/* A reload's outcome: reason is registry_load_set's word, message the whole reason. */
void admin_note_reload(int ok, const char *reason, const char *message);
/* A session pinned to a version (counted per edition and version). */
void admin_note_pin(const char *edition, const char *version);

/* Appends the reload, version and pin series of /metrics. */
void admin_metrics(strbuf *out);

#endif
