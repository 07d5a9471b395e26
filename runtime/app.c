/*
 * app: dispatch and the helpers every part of the request's way uses.
 *
 * Order of dispatch: health, readiness and metrics first (they must answer even
 * when nothing else can), then the index and static styles, the session
 * endpoints, the JSON API, and last the editions' own paths. Each worker
 * thread keeps its own flow_runner (Lua states are not shared between
 * threads); a thread-specific key frees it when the thread ends.
 *
 * Gray release: when the set holds versions to choose from (registry_versioned),
 * a logged-in customer's edition is served in the version the session is
 * pinned to, or, at its first use, in the one the rollout gives it (then
 * pinned and saved). A canary choice replaces the request's set with a view of
 * it, so every later lookup (pages, API, login answers) sees that version. A
 * pinned version no longer served moves the session to the current choice.
 * Anonymous requests see stable versions.
 */
#include "app_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "dualrun.h"
#include "log.h"
#include "metrics.h"
#include "rollout.h"
#include "session_redis.h"

static pthread_key_t runner_key;
static pthread_once_t runner_once = PTHREAD_ONCE_INIT;

static void runner_destroy(void *p)
{
	flow_runner_free(p);
}

static void runner_key_init(void)
{
	pthread_key_create(&runner_key, runner_destroy);
}

flow_runner *app_runner(app *a)
{
	flow_runner *fr;

	pthread_once(&runner_once, runner_key_init);
	fr = pthread_getspecific(runner_key);
	if (!fr) {
		fr = flow_runner_new(a->bank, a->flow_mem_cap);
		pthread_setspecific(runner_key, fr);
	}
	return fr;
}

app *app_new(bank *b, session_mgr *sessions, size_t flow_mem_cap)
{
	app *a = xcalloc(1, sizeof *a);

	a->bank = b;
	a->sessions = sessions;
	a->flow_mem_cap = flow_mem_cap ? flow_mem_cap : 8u << 20;
	return a;
}

void app_set_reloader(app *a, app_reload_fn fn, void *cls)
{
	a->reload = fn;
	a->reload_cls = cls;
}

void app_set_session_store(app *a, const char *name)
{
	a->store_name = name;
}

void app_free(app *a)
{
	free(a);
}

/* --- answers ------------------------------------------------------------------ */

void app_send_html(req *r, int status, strbuf *html)
{
	r->rs->status = status;
	r->rs->content_type = CT_HTML;
	strbuf_reset(&r->rs->body);
	strbuf_add(&r->rs->body, html->buf, html->len);
	strbuf_release(html);
	http_response_header(r->rs, "Cache-Control", "no-store");
}

void app_send_json(req *r, int status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);

	r->rs->status = status;
	r->rs->content_type = CT_JSON;
	http_response_header(r->rs, "Cache-Control", "no-store");
	strbuf_reset(&r->rs->body);
	strbuf_adds(&r->rs->body, text ? text : "null");
	free(text);
	json_decref(body);
}

void app_send_redirect(req *r, const char *location)
{
	r->rs->status = 303;
	r->rs->content_type = "text/plain; charset=utf-8";
	http_response_header(r->rs, "Location", location);
	strbuf_reset(&r->rs->body);
}

void app_send_message(req *r, const rt_edition *ed, int status, const char *text)
{
	strbuf html = STRBUF_INIT;

	if (render_message(ed, status, NULL, text, http_request_id(r->rq), &html) < 0) {
		strbuf_reset(&html);
		strbuf_addf(&html, "error %d (request %s)\n", status, http_request_id(r->rq));
		r->rs->status = status;
		strbuf_add(&r->rs->body, html.buf, html.len);
		strbuf_release(&html);
		return;
	}
	app_send_html(r, status, &html);
}

void app_set_route(req *r, const char *edition, const char *route)
{
	snprintf(r->rs->edition, sizeof r->rs->edition, "%s", edition ? edition : "");
	snprintf(r->rs->route, sizeof r->rs->route, "%s", route ? route : "");
}

/* --- sessions --------------------------------------------------------------------- */

int app_load_session(req *r)
{
	const char *auth = http_header(r->rq, "Authorization");
	const char *token = NULL;

	if (r->has_session)
		return 1;
	if (auth && !strncasecmp(auth, "Bearer ", 7)) {
		token = auth + 7;
		r->via_bearer = 1;
	} else {
		token = http_cookie(r->rq, SESSION_COOKIE);
	}
	r->has_session = token && session_get(r->a->sessions, token, &r->s) == 0;
	return r->has_session;
}

void app_ensure_session(req *r)
{
	strbuf cookie = STRBUF_INIT;

	if (app_load_session(r))
		return;
	session_new(r->a->sessions, &r->s);
	r->has_session = 1;
	r->via_bearer = 0;
	session_cookie(r->a->sessions, r->s.id, &cookie);
	http_response_header(r->rs, "Set-Cookie", cookie.buf);
	strbuf_release(&cookie);
}

int app_logged_in(const req *r)
{
	return r->has_session && r->s.customer_id != 0;
}

json_t *app_identities(const session *s)
{
	json_t *arr;

	if (!s->customer_id)
		return NULL;
	arr = json_array();
	for (int i = 0; i < s->n_identities; i++) {
		const session_identity *id = &s->identities[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:b}", "key", id->key, "name", id->name,
				      "role", id->role, "current", i == s->current);
		if (o)
			json_array_append_new(arr, o);
	}
	return arr;
}

/* --- editions ----------------------------------------------------------------------- */

/*
 * The edition follows who you are: enterprise service by role (boss ->
 * enterprise-boss, else enterprise-standard), personal service by tier and
 * preference (private -> private-banking, care, english, else mass). When the
 * chosen edition is not loaded, the segment's general edition stands in.
 */
const rt_edition *app_edition_for(const registry *reg, const session *s)
{
	const session_identity *id = session_current(s);
	const rt_edition *e = NULL;

	if (!id)
		return NULL;
	if (id->enterprise_id) {
		if (!strcmp(id->role, "boss"))
			e = registry_find(reg, "enterprise-boss");
		return e ? e : registry_find(reg, "enterprise-standard");
	}
	if (!strcmp(s->tier, "private"))
		e = registry_find(reg, "private-banking");
	else if (!strcmp(s->preference, "care"))
		e = registry_find(reg, "care");
	else if (!strcmp(s->preference, "english"))
		e = registry_find(reg, "english");
	return e ? e : registry_find(reg, "mass");
}

/*
 * Whether the session's current identity may use ed at all, whatever the
 * edition choice says: an enterprise edition needs the enterprise identity,
 * enterprise-boss the legal person (role boss).
 */
int app_identity_fits(const session *s, const rt_edition *ed)
{
	const session_identity *id = session_current(s);
	const char *segment = json_string_value(json_object_get(ed->meta, "segment"));

	if (!id)
		return 1;
	if (segment && !strcmp(segment, "enterprise") && !id->enterprise_id)
		return 0;
	if (!strcmp(ed->id, "enterprise-boss") && strcmp(id->role, "boss"))
		return 0;
	return 1;
}

const rt_edition *app_default_edition(const registry *reg)
{
	const rt_edition *e = registry_find(reg, "mass");

	return e ? e : registry_at(reg, 0);
}

char *app_home_path(const rt_edition *ed)
{
	const char *home = json_string_value(json_object_get(ed->meta, "home"));
	strbuf sb = STRBUF_INIT;

	for (size_t i = 0; home && i < ed->n_routes; i++) {
		const rt_route *rt = &ed->routes[i];
		if (rt->screen && !strcmp(rt->screen, home) && !strcmp(rt->method, "GET")) {
			strbuf_addf(&sb, "/%s%s", ed->id, rt->path);
			return strbuf_detach(&sb, NULL);
		}
	}
	strbuf_addf(&sb, "/%s/home", ed->id);
	return strbuf_detach(&sb, NULL);
}

json_t *app_flow_spec(const rt_edition *ed, const char *flow_id)
{
	return flow_id ? json_object_get(ed->flow_specs, flow_id) : NULL;
}

/* A refusal code ("insufficient_funds") as the customer reads it. */
const char *app_refusal_text(const rt_edition *ed, const char *code)
{
	strbuf key = STRBUF_INIT;
	const char *text;

	strbuf_addf(&key, "error.%s", code && *code ? code : "refused");
	text = edition_string(ed, key.buf);
	if (text == key.buf)    /* absent: edition_string gave the key back */
		text = edition_string(ed, "error.refused");
	if (!strcmp(text, "error.refused"))
		text = edition_string(ed, "ui.error.bad_request");
	strbuf_release(&key);
	return text;
}

const char *app_polite_refusal(json_t *result)
{
	const char *code;

	if (!json_is_false(json_object_get(result, "ok")))
		return NULL;
	code = json_string_value(json_object_get(result, "message"));
	return code && *code ? code : "refused";
}

void app_log_flow_failure(req *r, const rt_edition *ed, const char *flow, int st, const char *err)
{
	log_error("request %s: flow '%s' of edition '%s' failed (%d): %s", http_request_id(r->rq),
		  flow, ed->id, st, err);
	metrics_flow_error(ed->id, flow);
}

static int has_effects(json_t *spec)
{
	return json_array_size(json_object_get(spec, "effects")) > 0;
}

void app_compare(req *r, const rt_edition *ed, const char *flow, json_t *raw, json_t *stable_result)
{
	const rollout *ro = registry_rollout(r->reg);
	const rt_edition *canary;
	json_t *spec;
	bank_identity who = { 0 };

	if (!ro || r->on_canary || !ed || !rollout_compare(ro, ed->id) || registry_stable(r->reg, ed->id) != ed)
		return;
	canary = registry_find_version(r->reg, ed->id, rollout_canary(ro, ed->id));
	spec = app_flow_spec(ed, flow);
	if (!canary || !spec || has_effects(spec) || has_effects(app_flow_spec(canary, flow)))
		return;
	if (r->has_session)
		session_bank_identity(&r->s, &who);
	dualrun_submit(r->reg, canary, flow, raw, &who, stable_result);
}

/* The API's read-only answers (api.data, api.flows with 200) compared after the fact, from the body sent. */
static void compare_api(req *r, const char *method, const char *path)
{
	char ed_id[64], kind[16], name[128];
	const rt_edition *ed;
	const char *flow;
	json_t *raw = NULL, *result;
	size_t len;

	if (r->rs->status != 200 || r->rs->borrowed || !registry_rollout(r->reg) ||
	    sscanf(path, "/api/v1/%63[^/]/%15[^/]/%127[^/]", ed_id, kind, name) != 3 ||
	    !(ed = registry_find(r->reg, ed_id)) || !rollout_compare(registry_rollout(r->reg), ed->id))
		return;
	if (!strcmp(kind, "data") && !strcmp(method, "GET")) {
		flow = json_string_value(json_object_get(edition_screen(ed, name), "flow"));
		raw = http_query_object(r->rq);
	} else if (!strcmp(kind, "flows") && !strcmp(method, "POST")) {
		const char *body = http_body(r->rq, &len);
		flow = name;
		raw = json_loadb(body ? body : "", body ? len : 0, 0, NULL);
		json_object_del(raw, "_confirm");
		json_object_del(raw, "_idem");
	} else {
		return;
	}
	result = json_loadb(r->rs->body.buf, r->rs->body.len, 0, NULL);
	if (flow && json_is_object(raw) && result)
		app_compare(r, ed, flow, raw, result);
	json_decref(raw);
	json_decref(result);
}

/* --- health, readiness, metrics, styles ---------------------------------------------- */

static void send_readyz(req *r)
{
	json_t *eds = json_array();
	size_t n = registry_count(r->reg);

	for (size_t i = 0; i < n; i++) {
		const rt_edition *e = registry_at(r->reg, i);
		json_array_append_new(eds, json_pack("{s:s, s:s}", "id", e->id, "version", e->version));
	}
	/* A degraded session store still serves (from its local copy): ready, and says so. */
	app_send_json(r, n ? 200 : 503, json_pack("{s:b, s:o, s:s, s:b, s:I}", "ready", n > 0,
		"editions", eds, "session_store", r->a->store_name ? r->a->store_name : "memory",
		"session_store_degraded", session_redis_degraded(),
		"sessions_active", (json_int_t)session_count(r->a->sessions)));
}

static void send_metrics(req *r)
{
	r->rs->content_type = "text/plain; version=0.0.4; charset=utf-8";
	metrics_render(&r->rs->body, session_count(r->a->sessions));
	session_redis_metrics(&r->rs->body);      /* nothing unless a Redis store is open */
	admin_metrics(&r->rs->body);
	dualrun_metrics(&r->rs->body);
}

static void send_css(req *r, const char *css, size_t len)
{
	r->rs->content_type = "text/css; charset=utf-8";
	r->rs->borrowed = css;
	r->rs->borrowed_len = len;
	http_response_header(r->rs, "Cache-Control", "public, max-age=300");
}

static int system_route(req *r, const char *method, const char *path)
{
	if (admin_route(r, method, path))
		return 1;
	if (!strcmp(path, "/healthz")) {
		app_set_route(r, "", "healthz");
		strbuf_adds(&r->rs->body, "ok\n");
		return 1;
	}
	if (!strcmp(path, "/readyz")) {
		app_set_route(r, "", "readyz");
		send_readyz(r);
		return 1;
	}
	if (!strcmp(path, "/metrics")) {
		app_set_route(r, "", "metrics");
		send_metrics(r);
		return 1;
	}
	return 0;
}

/* "/mass/transfer" -> edition "mass", rest "/transfer"; NULL when no such edition. */
static const rt_edition *split_edition(const registry *reg, const char *path, const char **rest)
{
	char id[64];
	const char *slash = strchr(path + 1, '/');
	size_t n = slash ? (size_t)(slash - path - 1) : strlen(path + 1);

	if (n == 0 || n >= sizeof id)
		return NULL;
	memcpy(id, path + 1, n);
	id[n] = '\0';
	*rest = slash ? slash : "";
	return registry_find(reg, id);
}

static void dispatch(req *r, const char *method, const char *path)
{
	const rt_edition *ed;
	const char *rest;

	if (!strcmp(path, "/") && !strcmp(method, "GET")) {
		strbuf html = STRBUF_INIT;
		app_set_route(r, "", "index");
		render_index(r->reg, &html);
		app_send_html(r, 200, &html);
		return;
	}
	if (!strcmp(path, "/static/app.css")) {
		size_t len;
		const char *css = render_base_css(&len);
		app_set_route(r, "", "static");
		send_css(r, css, len);
		return;
	}
	if (app_auth_route(r, method, path))
		return;
	if (!strncmp(path, "/api/v1/", 8)) {
		app_api(r, method, path);
		return;
	}
	ed = split_edition(r->reg, path, &rest);
	if (ed && !strcmp(rest, "/theme.css")) {
		app_set_route(r, ed->id, "theme");
		send_css(r, ed->css, ed->css_len);
		return;
	}
	if (ed && *rest) {
		app_page(r, ed, method, rest);
		return;
	}
	if (ed) {
		char *home = app_home_path(ed);
		app_send_redirect(r, home);
		free(home);
		return;
	}
	app_send_message(r, app_default_edition(r->reg), 404, NULL);
}

/* The version of the customer's edition this request is served (see the note at the top). */
static void choose_version(req *r, const char *path)
{
	const rt_edition *own, *pick = NULL;
	const rollout *ro = registry_rollout(r->reg);

	if (!registry_versioned(r->reg) || !strcmp(path, "/") || !strncmp(path, "/static/", 8) ||
	    !app_load_session(r) || !app_logged_in(r) || !(own = app_edition_for(r->reg, &r->s)))
		return;
	if (!strcmp(r->s.pinned_edition, own->id)) {
		pick = registry_find_version(r->reg, own->id, r->s.pinned_version);
		if (pick && !registry_serving(r->reg, pick))
			pick = NULL;            /* withdrawn: move to the current choice */
	}
	if (!pick) {
		pick = own;
		if (rollout_wants_canary(ro, own->id, r->s.customer_id, r->s.username))
			pick = registry_find_version(r->reg, own->id, rollout_canary(ro, own->id));
		if (!pick)
			pick = own;
		snprintf(r->s.pinned_edition, sizeof r->s.pinned_edition, "%s", pick->id);
		snprintf(r->s.pinned_version, sizeof r->s.pinned_version, "%s", pick->version);
		session_save(r->a->sessions, &r->s);
		admin_note_pin(pick->id, pick->version);
	}
	if (pick != own) {
		r->view = registry_view(r->reg, pick);
		r->reg = r->view;
		r->on_canary = 1;
	}
}

/* A canary's requests count apart in the log and metrics: edition "mass@7.1.0". */
static void label_canary(req *r)
{
	const rt_edition *ed = registry_find(r->reg, r->rs->edition);
	size_t n = strlen(r->rs->edition);

	if (ed && registry_stable(r->reg, ed->id) != ed && n + 1 + strlen(ed->version) < sizeof r->rs->edition)
		snprintf(r->rs->edition + n, sizeof r->rs->edition - n, "@%s", ed->version);
}

void app_handle(void *cls, http_request *rq, http_response *rs)
{
	req r = { .a = cls, .rq = rq, .rs = rs, .reg = http_registry(rq) };
	const char *method = http_method(rq);
	const char *path = http_path(rq);

	if (system_route(&r, method, path))
		return;
	if (!r.reg) {
		rs->status = 503;
		strbuf_adds(&rs->body, "no pack set loaded\n");
		return;
	}
	if (strcmp(method, "GET") && strcmp(method, "POST")) {
		http_response_header(rs, "Allow", "GET, HEAD, POST");
		app_send_message(&r, app_default_edition(r.reg), 405, NULL);
	} else {
		choose_version(&r, path);
		dispatch(&r, method, path);
		if (!strncmp(path, "/api/v1/", 8))
			compare_api(&r, method, path);
		if (r.on_canary)
			label_canary(&r);
	}
	if (r.has_session)
		session_clear(&r.s);
	registry_release(r.view);
}

