/*
 * registry: the immutable set of editions the server serves, built from packs.
 *
 * registry_load reads every *.pack of a directory through the shared pack reader
 * (compiler/pack.h), verifies it, parses its JSON sections once and indexes the
 * routes. A set is never changed after it is built; a reload builds a new set
 * and swaps one pointer (registry_swap). Requests hold a reference for their whole
 * life (registry_acquire/registry_release), so the old set is freed when its
 * last request ends.
 *
 * A set may hold several versions of one edition (gray release). registry_find,
 * registry_at and registry_count see one version per edition id, the stable
 * one (the rollout's, or the highest loaded); a view shows one edition in
 * another version (the canary a customer was given) through the same calls.
 */
#ifndef REGISTRY_H
#define REGISTRY_H

#include <jansson.h>
#include <stddef.h>

#include "pack.h"
#include "strbuf.h"

typedef struct rt_route {      /* public */
	const char *id;
	const char *path;           /* "/transfer" */
	const char *method;         /* "GET" or "POST" */
	const char *screen;         /* screen id or NULL */
	const char *flow;           /* flow id or NULL */
	const char *auth;           /* "none", "login", "step_up" */
	const char *then;           /* route id after a successful POST, or NULL */
} rt_route;

typedef struct rt_edition {    /* public: read-only once built */
	const char *id;             /* "mass" */
	const char *version;
	pack *pack;
	json_t *meta, *theme, *strings, *flow_specs, *products;
	json_t *screens;            /* object: screen id -> layout JSON */
	const char *css;            /* theme custom properties */
	size_t css_len;
	rt_route *routes;
	size_t n_routes;
} rt_edition;

typedef struct registry registry;
struct rollout;

/* Loads every pack of dir. On any refused pack the whole set is refused: returns -1, reason in err. */
int registry_load(const char *dir, const unsigned char *trust_pk, registry **out, strbuf *err);
/*
 * The same, with a rollout file (rollout.h; NULL: none) read and checked
 * against the packs: every pack's edition must be in it, every version it
 * names loaded. On refusal *reason (when not NULL) is a short static word for
 * metrics: "directory", "pack" (unreadable, corrupt, unsigned), "duplicate",
 * "rollout" (the file itself), "foreign" (packs and rollout disagree).
 */
int registry_load_set(const char *dir, const unsigned char *trust_pk, const char *rollout_file,
		      registry **out, strbuf *err, const char **reason);
void registry_release(registry *r);            /* drops one reference; frees at zero */
registry *registry_ref(registry *r);           /* adds one reference */

/* The process-wide current set. acquire returns it with a reference the caller releases. */
registry *registry_acquire(void);
void registry_swap(registry *next);            /* takes next's reference; releases the old set */

size_t registry_count(const registry *r);
const rt_edition *registry_at(const registry *r, size_t i);     /* sorted by id */
const rt_edition *registry_find(const registry *r, const char *edition_id);

/* Every loaded pack, by id then version (views: their set's). */
size_t registry_versions_count(const registry *r);
const rt_edition *registry_version_at(const registry *r, size_t i);
const rt_edition *registry_find_version(const registry *r, const char *edition_id, const char *version);
const rt_edition *registry_stable(const registry *r, const char *edition_id);  /* ignores a view's choice */
const struct rollout *registry_rollout(const registry *r);   /* NULL without a rollout file */
/* 1 when customers may be served different versions (a rollout file, or an id loaded twice). */
int registry_versioned(const registry *r);
/* 1 when e may be served: with a rollout, its stable or canary version; without, any loaded. */
int registry_serving(const registry *r, const rt_edition *e);
const char *registry_file(const rt_edition *e);              /* the pack's file name */
/* -1, 0, 1 comparing versions by their numeric parts ("7.10.0" > "7.9.1"). */
int registry_version_cmp(const char *a, const char *b);

/*
 * A view of r in which chosen (one of r's editions) stands for its id. Holds a
 * reference on r's set; release with registry_release. Without chosen: r itself, referenced.
 */
registry *registry_view(registry *r, const rt_edition *chosen);
/* Whole pack sets freed since the process started (views and refused sets not counted): for tests. */
long registry_sets_freed(void);
/* Whole pack sets built and not yet freed: the current one plus those requests still hold. */
long registry_sets_alive(void);

const rt_route *edition_route_by_path(const rt_edition *e, const char *method, const char *path);
const rt_route *edition_route_by_id(const rt_edition *e, const char *route_id);
json_t *edition_screen(const rt_edition *e, const char *screen_id);      /* borrowed */
const void *edition_screen_gz(const rt_edition *e, const char *screen_id, size_t *len);
const void *edition_screen_json(const rt_edition *e, const char *screen_id, size_t *len);
const char *edition_string(const rt_edition *e, const char *key);       /* key itself when absent */
/*
 * The strong ETag of a screen's stored bytes, "\"<32 hex>\"" (the first 16
 * bytes of their SHA-256), computed once at load; gz selects the gzip body's.
 * NULL when the screen is absent.
 */
const char *edition_screen_etag(const rt_edition *e, const char *screen_id, int gz);

#endif
