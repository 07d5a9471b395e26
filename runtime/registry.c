/*
 * registry: pack sets.
 *
 * A set is built completely before anyone sees it: every pack is opened and
 * verified by the shared reader, its JSON sections are parsed once, its routes
 * indexed (by id, and by path+method for the request path). Any failure refuses
 * the whole set with the pack's file name and the reason, so a bad file at
 * reload never leaves the server half-updated.
 *
 * The process-wide current set is one pointer under a mutex; acquire takes a
 * reference under the same mutex (so a swap cannot free the set between the
 * read and the increment), and the reference count itself is atomic.
 *
 * Gray release: a set may hold several versions of one edition (keyed by id
 * and version; the same pair twice is refused). For each id one version is
 * the stable one: the rollout's, or the highest loaded when there is no
 * rollout file. registry_find and registry_at see the stable versions only; a
 * view (registry_view) is a small set of its own that shows one edition in
 * another version and holds a reference on the set it is made from, so a
 * request that chose the canary reads every lookup through it unchanged.
 */
#include "registry.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollout.h"

typedef struct ed_priv {
	rt_edition pub;             /* first: an rt_edition * is an ed_priv * */
	char *file;                 /* the pack's file name, for messages */
	json_t *routes_json;        /* owns the strings rt_route points at */
	json_t *etags;              /* screen id -> [etag of json, etag of gz] */
	const rt_route **by_path;   /* sorted by path, then method */
} ed_priv;

struct registry {
	atomic_long refs;
	ed_priv *eds;               /* every loaded pack, by id then version */
	size_t n;
	const ed_priv **sel;        /* the stable version of each id, by id */
	size_t n_sel;
	rollout *ro;                /* owned, or NULL: highest versions, no canary */
	int versioned;              /* a rollout file, or some id in several versions */
	int complete;               /* built whole (counted in sets_built) */
	registry *base;             /* a view: the set it shows (referenced) ... */
	const ed_priv *over;        /* ... with this edition in place of its stable version */
};

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static registry *current;
static atomic_long sets_freed, sets_built;

/* A view's lookups go to the set it was made from. */
static const registry *root(const registry *r)
{
	return r && r->base ? r->base : r;
}

/* --- building one edition ------------------------------------------------- */

static json_t *section_json(const pack *p, int section, const char *name, int required,
			    const char *file, strbuf *err)
{
	size_t len;
	const void *data = pack_get(p, section, name, &len);
	json_error_t je;
	json_t *v;

	if (!data) {
		if (required)
			strbuf_addf(err, "'%s': section '%s' has no '%s' entry", file,
				    pack_section_name(section), name);
		return required ? NULL : json_object();
	}
	v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!v)
		strbuf_addf(err, "'%s': section '%s' entry '%s': bad json: %s", file,
			    pack_section_name(section), name, je.text);
	return v;
}

static const char *route_str(json_t *r, const char *key, const char *dflt)
{
	json_t *v = json_object_get(r, key);

	return json_is_string(v) ? json_string_value(v) : dflt;
}

static int cmp_route_id(const void *a, const void *b)
{
	return strcmp(((const rt_route *)a)->id, ((const rt_route *)b)->id);
}

static int cmp_route_path(const void *a, const void *b)
{
	const rt_route *x = *(const rt_route *const *)a, *y = *(const rt_route *const *)b;
	int c = strcmp(x->path, y->path);

	return c ? c : strcmp(x->method, y->method);
}

static int build_routes(ed_priv *e, strbuf *err)
{
	json_t *arr = e->routes_json;
	rt_edition *pub = &e->pub;
	size_t i;

	if (!json_is_array(arr)) {
		strbuf_addf(err, "'%s': route table is not a list", e->file);
		return -1;
	}
	pub->n_routes = json_array_size(arr);
	pub->routes = xcalloc(pub->n_routes, sizeof *pub->routes);
	e->by_path = xcalloc(pub->n_routes, sizeof *e->by_path);
	for (i = 0; i < pub->n_routes; i++) {
		json_t *r = json_array_get(arr, i);
		rt_route *rt = &pub->routes[i];

		rt->id = route_str(r, "id", NULL);
		rt->path = route_str(r, "path", NULL);
		if (!rt->id || !rt->path || rt->path[0] != '/') {
			strbuf_addf(err, "'%s': route %zu has no id or no path starting with '/'", e->file, i);
			return -1;
		}
		rt->method = route_str(r, "method", "GET");
		rt->screen = route_str(r, "screen", NULL);
		rt->flow = route_str(r, "flow", NULL);
		rt->auth = route_str(r, "auth", "login");   /* absent: the safe side */
		rt->then = route_str(r, "then", NULL);
	}
	qsort(pub->routes, pub->n_routes, sizeof *pub->routes, cmp_route_id);
	for (i = 0; i < pub->n_routes; i++)
		e->by_path[i] = &pub->routes[i];
	qsort(e->by_path, pub->n_routes, sizeof *e->by_path, cmp_route_path);
	for (i = 1; i < pub->n_routes; i++)
		if (!cmp_route_path(&e->by_path[i - 1], &e->by_path[i])) {
			strbuf_addf(err, "'%s': two routes for %s '%s'", e->file,
				    e->by_path[i]->method, e->by_path[i]->path);
			return -1;
		}
	return 0;
}

static json_t *etag_of(const void *data, size_t len)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[33], tag[36];

	if (!data)
		return json_null();
	crypto_hash_sha256(h, data, len);
	sodium_bin2hex(hex, sizeof hex, h, 16);
	snprintf(tag, sizeof tag, "\"%s\"", hex);
	return json_string(tag);
}

static int build_screens(ed_priv *e, strbuf *err)
{
	const pack *p = e->pub.pack;
	size_t n = pack_count(p, PACK_SCREENS);

	e->pub.screens = json_object();
	e->etags = json_object();
	for (size_t i = 0; i < n; i++) {
		const void *data;
		size_t len;
		json_error_t je;
		const char *name = pack_entry(p, PACK_SCREENS, i, &data, &len);
		json_t *v = json_loadb(data, len, 0, &je);

		if (!v) {
			strbuf_addf(err, "'%s': screen '%s': bad json: %s", e->file, name, je.text);
			return -1;
		}
		json_object_set_new(e->pub.screens, name, v);
		size_t gz_len = 0;
		const void *gz = pack_get(p, PACK_SCREENS_GZ, name, &gz_len);
		json_object_set_new(e->etags, name, json_pack("[o, o]", etag_of(data, len), etag_of(gz, gz_len)));
	}
	return 0;
}

static int build_edition(ed_priv *e, strbuf *err)
{
	rt_edition *pub = &e->pub;
	const pack *p = pub->pack;
	size_t css_len = 0;

	pub->id = pack_get_info(p)->edition;
	pub->version = pack_get_info(p)->version;
	if (!(pub->meta = section_json(p, PACK_META, "json", 1, e->file, err)) ||
	    !(pub->theme = section_json(p, PACK_THEME, "json", 0, e->file, err)) ||
	    !(pub->strings = section_json(p, PACK_STRINGS, "json", 1, e->file, err)) ||
	    !(pub->flow_specs = section_json(p, PACK_FLOW_SPECS, "json", 0, e->file, err)) ||
	    !(pub->products = section_json(p, PACK_PRODUCTS, "json", 0, e->file, err)) ||
	    !(e->routes_json = section_json(p, PACK_ROUTES, "json", 1, e->file, err)))
		return -1;
	if (!json_is_object(pub->meta) || !json_is_object(pub->strings)) {
		strbuf_addf(err, "'%s': meta or strings is not an object", e->file);
		return -1;
	}
	pub->css = pack_get(p, PACK_THEME, "css", &css_len);
	if (!pub->css)
		pub->css = "";
	pub->css_len = css_len;
	if (build_routes(e, err) < 0 || build_screens(e, err) < 0)
		return -1;
	return 0;
}

static void edition_release(ed_priv *e)
{
	rt_edition *pub = &e->pub;

	json_decref(pub->meta);
	json_decref(pub->theme);
	json_decref(pub->strings);
	json_decref(pub->flow_specs);
	json_decref(pub->products);
	json_decref(pub->screens);
	json_decref(e->routes_json);
	json_decref(e->etags);
	free(pub->routes);
	free(e->by_path);
	if (pub->pack)
		pack_free(pub->pack);
	free(e->file);
}

/* --- building a set ----------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int registry_version_cmp(const char *a, const char *b)
{
	while (*a || *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			unsigned long x = strtoul(a, (char **)&a, 10), y = strtoul(b, (char **)&b, 10);
			if (x != y)
				return x < y ? -1 : 1;
		} else if (*a != *b) {
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		} else {
			a++;
			b++;
		}
	}
	return 0;
}

static int cmp_edition(const void *a, const void *b)
{
	const ed_priv *x = a, *y = b;
	int c = strcmp(x->pub.id, y->pub.id);

	return c ? c : registry_version_cmp(x->pub.version, y->pub.version);
}

/* The sorted *.pack file names of dir; -1 when dir cannot be read. */
static int list_packs(const char *dir, char ***names, size_t *n, strbuf *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t cap = 0;

	*names = NULL;
	*n = 0;
	if (!d) {
		strbuf_addf(err, "cannot open pack directory '%s': %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".pack"))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*names = xrealloc(*names, cap * sizeof **names);
		}
		(*names)[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*n)
		qsort(*names, *n, sizeof **names, cmp_str);
	return 0;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int open_all(registry *r, const char *dir, char **names, const unsigned char *trust_pk,
		    strbuf *err)
{
	for (size_t i = 0; i < r->n; i++) {
		ed_priv *e = &r->eds[i];
		strbuf path = STRBUF_INIT, why = STRBUF_INIT;
		int rc;

		e->file = xstrdup(names[i]);
		strbuf_addf(&path, "%s/%s", dir, names[i]);
		rc = pack_open_file(path.buf, trust_pk, &e->pub.pack, &why);
		if (rc < 0) {
			e->pub.pack = NULL;
			strbuf_addf(err, "pack '%s' refused: %s", path.buf, why.len ? why.buf : "unreadable");
		}
		strbuf_release(&path);
		strbuf_release(&why);
		if (rc < 0 || build_edition(e, err) < 0)
			return -1;
	}
	qsort(r->eds, r->n, sizeof *r->eds, cmp_edition);
	for (size_t i = 1; i < r->n; i++)
		if (!cmp_edition(&r->eds[i - 1], &r->eds[i])) {
			strbuf_addf(err, "edition '%s' version %s is in two packs ('%s' and '%s')",
				    r->eds[i].pub.id, r->eds[i].pub.version, r->eds[i - 1].file, r->eds[i].file);
			return -2;
		}
	return 0;
}

/* Every pack's edition is in the rollout, every version the rollout names is loaded. */
static int check_rollout(registry *r, strbuf *err)
{
	for (size_t i = 0; i < r->n; i++)
		if (!rollout_has_edition(r->ro, r->eds[i].pub.id)) {
			strbuf_addf(err, "pack '%s': edition '%s' is not in the rollout", r->eds[i].file,
				    r->eds[i].pub.id);
			return -1;
		}
	for (size_t i = 0; i < rollout_count(r->ro); i++) {
		const char *id = rollout_edition_at(r->ro, i);
		const char *want[2] = { rollout_stable(r->ro, id), rollout_canary(r->ro, id) };
		for (int k = 0; k < 2; k++)
			if (want[k] && !registry_find_version(r, id, want[k])) {
				strbuf_addf(err, "rollout: edition '%s' version %s is not loaded", id, want[k]);
				return -1;
			}
	}
	return 0;
}

/* One stable version per id: the rollout's, else the highest (the last of its id). */
static void select_stable(registry *r)
{
	r->sel = xcalloc(r->n, sizeof *r->sel);
	r->versioned = r->ro != NULL;
	for (size_t i = 0; i < r->n; i++) {
		const ed_priv *e = &r->eds[i];
		int same = r->n_sel && !strcmp(r->sel[r->n_sel - 1]->pub.id, e->pub.id);
		if (same)
			r->versioned = 1;
		if (r->ro && strcmp(e->pub.version, rollout_stable(r->ro, e->pub.id)))
			continue;
		if (same)
			r->sel[r->n_sel - 1] = e;
		else
			r->sel[r->n_sel++] = e;
	}
}

static int refuse(registry *r, const char **reason, const char *why)
{
	if (reason)
		*reason = why;
	registry_release(r);
	return -1;
}

int registry_load_set(const char *dir, const unsigned char *trust_pk, const char *rollout_file,
		      registry **out, strbuf *err, const char **reason)
{
	char **names;
	size_t n;
	registry *r;
	int rc;

	*out = NULL;
	if (reason)
		*reason = "directory";
	if (list_packs(dir, &names, &n, err) < 0)
		return -1;
	if (n == 0) {
		strbuf_addf(err, "no pack in '%s'", dir);
		free(names);
		return -1;
	}
	r = xcalloc(1, sizeof *r);
	atomic_init(&r->refs, 1);
	r->n = n;
	r->eds = xcalloc(n, sizeof *r->eds);
	rc = open_all(r, dir, names, trust_pk, err);
	free_names(names, n);
	if (rc < 0)
		return refuse(r, reason, rc == -2 ? "duplicate" : "pack");
	if (rollout_file && rollout_load(rollout_file, &r->ro, err) < 0)
		return refuse(r, reason, "rollout");
	if (r->ro && check_rollout(r, err) < 0)
		return refuse(r, reason, "foreign");
	select_stable(r);
	r->complete = 1;
	atomic_fetch_add(&sets_built, 1);
	*out = r;
	return 0;
}

int registry_load(const char *dir, const unsigned char *trust_pk, registry **out, strbuf *err)
{
	return registry_load_set(dir, trust_pk, NULL, out, err, NULL);
}

/* --- references and the current set ------------------------------------------- */

registry *registry_ref(registry *r)
{
	if (r)
		atomic_fetch_add(&r->refs, 1);
	return r;
}

void registry_release(registry *r)
{
	if (!r || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	if (r->base) {
		registry_release(r->base);
		free(r);
		return;
	}
	for (size_t i = 0; i < r->n; i++)
		if (r->eds)
			edition_release(&r->eds[i]);
	free(r->eds);
	free(r->sel);
	rollout_free(r->ro);
	if (r->complete)
		atomic_fetch_add(&sets_freed, 1);
	free(r);
}

long registry_sets_freed(void)
{
	return atomic_load(&sets_freed);
}

long registry_sets_alive(void)
{
	return atomic_load(&sets_built) - atomic_load(&sets_freed);
}

registry *registry_view(registry *r, const rt_edition *chosen)
{
	registry *v;

	if (!r || !chosen)
		return registry_ref(r);
	v = xcalloc(1, sizeof *v);
	atomic_init(&v->refs, 1);
	v->base = registry_ref((registry *)root(r));
	v->over = (const ed_priv *)chosen;
	return v;
}

registry *registry_acquire(void)
{
	registry *r;

	pthread_mutex_lock(&current_lock);
	r = registry_ref(current);
	pthread_mutex_unlock(&current_lock);
	return r;
}

void registry_swap(registry *next)
{
	registry *old;

	pthread_mutex_lock(&current_lock);
	old = current;
	current = next;
	pthread_mutex_unlock(&current_lock);
	registry_release(old);
}

/* --- lookups ------------------------------------------------------------------ */

/* The view's own edition when it has this id, else e. */
static const rt_edition *shown(const registry *r, const ed_priv *e)
{
	if (r && r->over && e && !strcmp(r->over->pub.id, e->pub.id))
		return &r->over->pub;
	return e ? &e->pub : NULL;
}

size_t registry_count(const registry *r)
{
	return r ? root(r)->n_sel : 0;
}

const rt_edition *registry_at(const registry *r, size_t i)
{
	const registry *b = root(r);

	return b && i < b->n_sel ? shown(r, b->sel[i]) : NULL;
}

const rt_edition *registry_find(const registry *r, const char *edition_id)
{
	const registry *b = root(r);
	size_t lo = 0, hi = b ? b->n_sel : 0;

	while (edition_id && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(edition_id, b->sel[mid]->pub.id);
		if (!c)
			return shown(r, b->sel[mid]);
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const rt_edition *registry_stable(const registry *r, const char *edition_id)
{
	registry plain = { .base = (registry *)root(r) };

	return registry_find(&plain, edition_id);
}

size_t registry_versions_count(const registry *r)
{
	return r ? root(r)->n : 0;
}

const rt_edition *registry_version_at(const registry *r, size_t i)
{
	const registry *b = root(r);

	return b && i < b->n ? &b->eds[i].pub : NULL;
}

const rt_edition *registry_find_version(const registry *r, const char *edition_id, const char *version)
{
	const registry *b = root(r);
	ed_priv key = { .pub = { .id = edition_id, .version = version } };

	if (!b || !edition_id || !version)
		return NULL;
	const ed_priv *hit = bsearch(&key, b->eds, b->n, sizeof *b->eds, cmp_edition);
	return hit ? &hit->pub : NULL;
}

const rollout *registry_rollout(const registry *r)
{
	return r ? root(r)->ro : NULL;
}

int registry_versioned(const registry *r)
{
	return r ? root(r)->versioned : 0;
}

int registry_serving(const registry *r, const rt_edition *e)
{
	const rollout *ro = registry_rollout(r);
	const char *c;

	if (!e)
		return 0;
	if (!ro)
		return 1;
	c = rollout_canary(ro, e->id);
	return !strcmp(e->version, rollout_stable(ro, e->id)) || (c && !strcmp(e->version, c));
}

const char *registry_file(const rt_edition *e)
{
	return e ? ((const ed_priv *)e)->file : NULL;
}

const rt_route *edition_route_by_path(const rt_edition *e, const char *method, const char *path)
{
	const ed_priv *p = (const ed_priv *)e;
	rt_route key = { .path = path, .method = method };
	const rt_route *kp = &key;
	const rt_route **hit;

	if (!e || !method || !path)
		return NULL;
	hit = bsearch(&kp, p->by_path, e->n_routes, sizeof *p->by_path, cmp_route_path);
	return hit ? *hit : NULL;
}

const rt_route *edition_route_by_id(const rt_edition *e, const char *route_id)
{
	rt_route key = { .id = route_id };

	if (!e || !route_id)
		return NULL;
	return bsearch(&key, e->routes, e->n_routes, sizeof *e->routes, cmp_route_id);
}

json_t *edition_screen(const rt_edition *e, const char *screen_id)
{
	return e && screen_id ? json_object_get(e->screens, screen_id) : NULL;
}

const void *edition_screen_gz(const rt_edition *e, const char *screen_id, size_t *len)
{
	return e && screen_id ? pack_get(e->pack, PACK_SCREENS_GZ, screen_id, len) : NULL;
}

const void *edition_screen_json(const rt_edition *e, const char *screen_id, size_t *len)
{
	return e && screen_id ? pack_get(e->pack, PACK_SCREENS, screen_id, len) : NULL;
}

const char *edition_string(const rt_edition *e, const char *key)
{
	json_t *v = e && key ? json_object_get(e->strings, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : key;
}

const char *edition_screen_etag(const rt_edition *e, const char *screen_id, int gz)
{
	const ed_priv *p = (const ed_priv *)e;
	json_t *pair = e && screen_id ? json_object_get(p->etags, screen_id) : NULL;

	return json_string_value(json_array_get(pair, gz ? 1 : 0));
}
