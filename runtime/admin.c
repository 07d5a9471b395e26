/*
 * admin: access checks, the three endpoints, and the reload and rollout
 * figures of /metrics.
 *
 * The token is compared by hashing both sides to 32 bytes (BLAKE2b) and
 * comparing the digests with sodium_memcmp: constant time whatever the
 * lengths. The last refused reload is kept (reason word, message, time) for
 * reload_last_error_info; a later successful reload does not clear it (the
 * time tells which came last), so an operator can still read why.
 */
#include "admin.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "app_int.h"
#include "dualrun.h"
#include "rollout.h"

#define MAX_PINS 256

typedef struct pin_count {
	char edition[32], version[16];
	unsigned long long n;
} pin_count;

static struct {
	pthread_mutex_t lock;
	unsigned char token_hash[32];
	int have_token, remote;
	char reason[32], message[512];
	long long refused_at, ok_at;
	pin_count pins[MAX_PINS];
	size_t n_pins;
} adm = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* --- the token ---------------------------------------------------------------- */

static void hash_token(const char *t, size_t n, unsigned char out[32])
{
	crypto_generichash(out, 32, (const unsigned char *)t, n, NULL, 0);
}

void admin_set_token(const char *token)
{
	pthread_mutex_lock(&adm.lock);
	adm.have_token = token != NULL;
	if (token)
		hash_token(token, strlen(token), adm.token_hash);
	pthread_mutex_unlock(&adm.lock);
}

void admin_allow_remote(int yes)
{
	adm.remote = yes;
}

int admin_load_token(const char *path, strbuf *err)
{
	strbuf text = STRBUF_INIT;
	size_t n;

	if (strbuf_read_file(&text, path, 4096) < 0) {
		strbuf_addf(err, "cannot read admin token file '%s': %s", path, strerror(errno));
		strbuf_release(&text);
		return -1;
	}
	n = strcspn(text.buf, "\r\n");
	text.buf[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (text.buf[i] <= ' ' || text.buf[i] == 0x7f)
			n = 0;
	if (n < 16 || n > 256) {
		strbuf_addf(err, "admin token file '%s': want one line of 16 to 256 printable characters", path);
		strbuf_release(&text);
		return -1;
	}
	admin_set_token(text.buf);
	sodium_memzero(text.buf, text.len);
	strbuf_release(&text);
	return 0;
}

/* 1 when the request may use the admin endpoints; else 403/401 was answered. */
/*
 * A browser on the operator's machine is also "loopback": a page from another
 * site could post to /admin/reload. Browsers say where a request comes from
 * (Sec-Fetch-Site, Origin); admin calls come from curl and scripts, which send
 * neither, so any cross-site sign refuses the call.
 */
static int from_another_site(req *r)
{
	const char *site = http_header(r->rq, "Sec-Fetch-Site");
	if (site && strcmp(site, "same-origin") && strcmp(site, "none"))
		return 1;
	const char *origin = http_header(r->rq, "Origin");
	if (!origin)
		return 0;
	const char *host = http_header(r->rq, "Host");
	const char *rest = !strncmp(origin, "http://", 7) ? origin + 7 : NULL;
	return !rest || !host || strcmp(rest, host) != 0;
}

static int admin_allowed(req *r)
{
	const char *auth = http_header(r->rq, "Authorization");
	unsigned char got[32];
	int ok;

	if (from_another_site(r)) {
		app_send_json(r, 403, json_pack("{s:s}", "error", "cross-site admin request refused"));
		return 0;
	}
	if (!(adm.remote && adm.have_token) &&
	    (!http_peer_is_loopback(r->rq) || http_header(r->rq, "X-Forwarded-For"))) {
		app_send_json(r, 403, json_pack("{s:s}", "error", "forbidden"));
		return 0;
	}
	if (!adm.have_token)
		return 1;
	if (!auth || strncasecmp(auth, "Bearer ", 7)) {
		http_response_header(r->rs, "WWW-Authenticate", "Bearer realm=\"admin\"");
		app_send_json(r, 401, json_pack("{s:s}", "error", "admin token required"));
		return 0;
	}
	hash_token(auth + 7, strlen(auth + 7), got);
	pthread_mutex_lock(&adm.lock);
	ok = sodium_memcmp(got, adm.token_hash, sizeof got) == 0;
	pthread_mutex_unlock(&adm.lock);
	if (!ok)
		app_send_json(r, 403, json_pack("{s:s}", "error", "bad admin token"));
	return ok;
}

/* --- the endpoints ---------------------------------------------------------------- */

static void do_reload(req *r)
{
	strbuf why = STRBUF_INIT;

	if (!r->a->reload) {
		app_send_json(r, 503, json_pack("{s:s}", "error", "reload not available"));
	} else if (r->a->reload(r->a->reload_cls, &why) < 0) {
		app_send_json(r, 409, json_pack("{s:s, s:s}", "error", "refused", "message", why.buf));
	} else {
		registry *now = registry_acquire();
		app_send_json(r, 200, json_pack("{s:b, s:I, s:I}", "reloaded", 1,
						"editions", (json_int_t)registry_count(now),
						"packs", (json_int_t)registry_versions_count(now)));
		registry_release(now);
	}
	strbuf_release(&why);
}

static unsigned long long pins_of(const char *edition, const char *version)
{
	unsigned long long n = 0;

	pthread_mutex_lock(&adm.lock);
	for (size_t i = 0; i < adm.n_pins; i++)
		if (!strcmp(adm.pins[i].edition, edition) && !strcmp(adm.pins[i].version, version))
			n = adm.pins[i].n;
	pthread_mutex_unlock(&adm.lock);
	return n;
}

static const char *version_role(const registry *reg, const rt_edition *e)
{
	const rollout *ro = registry_rollout(reg);
	const char *c = rollout_canary(ro, e->id);

	if (registry_stable(reg, e->id) == e)
		return "stable";
	if (c && !strcmp(c, e->version))
		return "canary";
	return ro ? "withdrawn" : "older";
}

/* One edition of /admin/rollout: its rollout entry plus the versions loaded. */
static json_t *edition_json(const registry *reg, const char *id, size_t *i)
{
	const rollout *ro = registry_rollout(reg);
	json_t *o = ro ? rollout_entry_json(ro, id) : json_pack("{s:s, s:n}", "stable",
		registry_stable(reg, id)->version, "canary");
	json_t *versions = json_array();
	size_t n = registry_versions_count(reg);

	for (; *i < n && !strcmp(registry_version_at(reg, *i)->id, id); (*i)++) {
		const rt_edition *e = registry_version_at(reg, *i);
		json_array_append_new(versions, json_pack("{s:s, s:s, s:s, s:I}", "version", e->version,
			"pack", registry_file(e), "role", version_role(reg, e),
			"sessions_pinned", (json_int_t)pins_of(id, e->version)));
	}
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "versions", versions);
	return o;
}

/* The last reloads as JSON (a copy taken under the lock). */
static json_t *last_reload_json(void)
{
	json_t *o;

	pthread_mutex_lock(&adm.lock);
	o = json_pack("{s:s?, s:s?, s:I, s:I}", "refused_reason", adm.refused_at ? adm.reason : NULL,
		      "refused_message", adm.refused_at ? adm.message : NULL,
		      "refused_at", (json_int_t)adm.refused_at, "ok_at", (json_int_t)adm.ok_at);
	pthread_mutex_unlock(&adm.lock);
	return o;
}

static void show_rollout(req *r)
{
	registry *reg = registry_acquire();
	json_t *eds = json_array();
	size_t i = 0, n = registry_versions_count(reg);

	while (i < n)
		json_array_append_new(eds, edition_json(reg, registry_version_at(reg, i)->id, &i));
	app_send_json(r, 200, json_pack("{s:b, s:o, s:o}", "rollout_file", registry_rollout(reg) != NULL,
					"editions", eds, "last_reload", last_reload_json()));
	registry_release(reg);
}

int admin_route(req *r, const char *method, const char *path)
{
	if (strncmp(path, "/admin/", 7))
		return 0;
	app_set_route(r, "", !strcmp(path, "/admin/reload") ? "admin.reload" : !strcmp(path, "/admin/rollout")
		      ? "admin.rollout" : !strcmp(path, "/admin/mismatches") ? "admin.mismatches" : "admin");
	if (!admin_allowed(r))
		return 1;
	if (!strcmp(path, "/admin/reload") && !strcmp(method, "POST"))
		do_reload(r);
	else if (!strcmp(path, "/admin/rollout") && !strcmp(method, "GET"))
		show_rollout(r);
	else if (!strcmp(path, "/admin/mismatches") && !strcmp(method, "GET"))
		app_send_json(r, 200, json_pack("{s:o, s:i}", "mismatches", dualrun_mismatches(),
						"keep", DUALRUN_KEEP));
	else
		app_send_json(r, 404, json_pack("{s:s}", "error", "not_found"));
	return 1;
}

/* --- figures ------------------------------------------------------------------------ */

void admin_note_reload(int ok, const char *reason, const char *message)
{
	pthread_mutex_lock(&adm.lock);
	if (ok) {
		adm.ok_at = (long long)time(NULL);
	} else {
		adm.refused_at = (long long)time(NULL);
		snprintf(adm.reason, sizeof adm.reason, "%s", reason ? reason : "unknown");
		snprintf(adm.message, sizeof adm.message, "%s", message ? message : "");
	}
	pthread_mutex_unlock(&adm.lock);
}

void admin_note_pin(const char *edition, const char *version)
{
	pin_count *p = NULL;

	pthread_mutex_lock(&adm.lock);
	for (size_t i = 0; i < adm.n_pins && !p; i++)
		if (!strcmp(adm.pins[i].edition, edition) && !strcmp(adm.pins[i].version, version))
			p = &adm.pins[i];
	if (!p && adm.n_pins < MAX_PINS) {
		p = &adm.pins[adm.n_pins++];
		snprintf(p->edition, sizeof p->edition, "%s", edition);
		snprintf(p->version, sizeof p->version, "%s", version);
	}
	if (p)
		p->n++;
	pthread_mutex_unlock(&adm.lock);
}

/* A label value with backslash, quote and newline escaped. */
static void add_escaped(strbuf *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			strbuf_addc(out, '\\');
		if (*v == '\n')
			strbuf_adds(out, "\\n");
		else
			strbuf_addc(out, *v);
	}
}

static void versions_metrics(strbuf *out)
{
	registry *reg = registry_acquire();

	strbuf_adds(out, "# HELP edition_version_info versions loaded, by role (stable, canary, withdrawn, older)\n"
		    "# TYPE edition_version_info gauge\n");
	for (size_t i = 0; i < registry_versions_count(reg); i++) {
		const rt_edition *e = registry_version_at(reg, i);
		strbuf_addf(out, "edition_version_info{edition=\"%s\",version=\"%s\",role=\"%s\"} 1\n",
			    e->id, e->version, version_role(reg, e));
	}
	registry_release(reg);
	strbuf_adds(out, "# HELP rollout_pins_total sessions pinned to a version at their first use\n"
		    "# TYPE rollout_pins_total counter\n");
	pthread_mutex_lock(&adm.lock);
	for (size_t i = 0; i < adm.n_pins; i++)
		strbuf_addf(out, "rollout_pins_total{edition=\"%s\",version=\"%s\"} %llu\n",
			    adm.pins[i].edition, adm.pins[i].version, adm.pins[i].n);
	pthread_mutex_unlock(&adm.lock);
}

void admin_metrics(strbuf *out)
{
	pthread_mutex_lock(&adm.lock);
	strbuf_adds(out, "# HELP reload_last_error_info the last refused reload: reason word and message\n"
		    "# TYPE reload_last_error_info gauge\n");
	if (adm.refused_at) {
		strbuf_addf(out, "reload_last_error_info{reason=\"%s\",message=\"", adm.reason);
		add_escaped(out, adm.message);
		strbuf_adds(out, "\"} 1\n");
	}
	strbuf_addf(out, "# HELP reload_last_refused_timestamp_seconds when a reload was last refused (0: never)\n"
		    "# TYPE reload_last_refused_timestamp_seconds gauge\n"
		    "reload_last_refused_timestamp_seconds %lld\n"
		    "# HELP reload_last_success_timestamp_seconds when a reload last succeeded (0: never)\n"
		    "# TYPE reload_last_success_timestamp_seconds gauge\n"
		    "reload_last_success_timestamp_seconds %lld\n", adm.refused_at, adm.ok_at);
	pthread_mutex_unlock(&adm.lock);
	strbuf_addf(out, "# HELP pack_sets_alive pack sets in memory: the current one and older ones requests still hold\n"
		    "# TYPE pack_sets_alive gauge\npack_sets_alive %ld\n", registry_sets_alive());
	versions_metrics(out);
}
