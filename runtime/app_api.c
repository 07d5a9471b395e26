/*
 * app_api: the JSON API for native clients.
 *
 *   GET  /api/v1/<edition>/screens/<id>   the pack's canonical layout JSON, as
 *        stored: strong ETag (SHA-256 prefix of the bytes sent, computed at
 *        load by the registry), 304 on
 *        If-None-Match, the pack's ready gzip body when the client accepts it
 *   GET  /api/v1/<edition>/data/<screen>  the screen flow's result
 *   POST /api/v1/<edition>/flows/<flow>   a JSON object of params
 *
 * A native client names its session with `Authorization: Bearer <token>`; a
 * browser script using the cookie must also send the session's CSRF token in
 * X-CSRF-Token. Flows that move money need "_confirm": true (else 428), and
 * the Idempotency-Key header becomes the flow's idempotency key (_idem); a
 * flow with effects (money, writes) needs one (else 400), so that a client's
 * retry never acts twice.
 */
#include "app_int.h"
#include "flow_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void api_error(req *r, int status, const char *code, const char *message)
{
	json_t *body = json_pack("{s:s, s:s}", "error", code, "request_id", http_request_id(r->rq));

	if (message)
		json_object_set_new(body, "message", json_string(message) ?: json_string("?"));
	app_send_json(r, status, body);
}

/* --- screens ------------------------------------------------------------------- */

/* Does the If-None-Match list hold etag (or "*")? Weak validators compare weakly, as RFC 9110 says for GET. */
static int etag_matches(const char *inm, const char *etag)
{
	size_t n = strlen(etag);

	while (inm && *inm) {
		inm += strspn(inm, " \t,");
		if (*inm == '*')
			return 1;
		if (!strncmp(inm, "W/", 2))
			inm += 2;
		if (!strncmp(inm, etag, n) && (inm[n] == '\0' || inm[n] == ',' || inm[n] == ' '))
			return 1;
		inm += strcspn(inm, ",");
	}
	return 0;
}

static int accepts_gzip(const char *ae)
{
	while (ae && *ae) {
		ae += strspn(ae, " \t,");
		size_t n = strcspn(ae, ",");
		if (!strncasecmp(ae, "gzip", 4) && (n == 4 || ae[4] == ';' || ae[4] == ' ')) {
			const char *q = memchr(ae, '=', n);
			return !(q && strtod(q + 1, NULL) == 0.0);
		}
		ae += n;
	}
	return 0;
}

static void api_screen(req *r, const rt_edition *ed, const char *id)
{
	size_t len, gz_len = 0;
	const void *json = edition_screen_json(ed, id, &len);
	/* the gzip body is looked up only for a client that takes it */
	const void *gz = accepts_gzip(http_header(r->rq, "Accept-Encoding"))
			 ? edition_screen_gz(ed, id, &gz_len) : NULL;
	int use_gz = gz != NULL;
	const char *etag = edition_screen_etag(ed, id, use_gz);

	if (!json || !etag) {
		api_error(r, 404, "not_found", "no such screen");
		return;
	}
	http_response_header(r->rs, "ETag", etag);
	http_response_header(r->rs, "Vary", "Accept-Encoding");
	http_response_header(r->rs, "Cache-Control", "no-cache");
	r->rs->content_type = CT_JSON;
	if (etag_matches(http_header(r->rq, "If-None-Match"), etag)) {
		r->rs->status = 304;
		return;
	}
	if (use_gz)
		http_response_header(r->rs, "Content-Encoding", "gzip");
	r->rs->borrowed = use_gz ? gz : json;
	r->rs->borrowed_len = use_gz ? gz_len : len;
}

/* --- access --------------------------------------------------------------------- */

/* The strictest auth level of the routes that show screen_id or run flow_id; "login" when none does. */
static const char *auth_level(const rt_edition *ed, const char *screen_id, const char *flow_id)
{
	const char *level = NULL;

	for (size_t i = 0; i < ed->n_routes; i++) {
		const rt_route *rt = &ed->routes[i];
		if ((screen_id && rt->screen && !strcmp(rt->screen, screen_id)) ||
		    (flow_id && rt->flow && !strcmp(rt->flow, flow_id))) {
			if (!level || !strcmp(rt->auth, "step_up") ||
			    (!strcmp(rt->auth, "login") && !strcmp(level, "none")))
				level = rt->auth;
		}
	}
	return level ? level : "login";
}

/* 1 when the caller may act on ed at this auth level; else an answer was sent. */
static int api_access(req *r, const rt_edition *ed, const char *level)
{
	app_load_session(r);
	if (!app_logged_in(r)) {
		if (strcmp(level, "none")) {
			api_error(r, 401, "login_required", edition_string(ed, "ui.error.session_expired"));
			return 0;
		}
		return 1;
	}
	const rt_edition *own = app_edition_for(r->reg, &r->s);
	if ((own && own != ed) || !app_identity_fits(&r->s, ed)) {
		json_t *body = json_pack("{s:s, s:s?, s:s}", "error", "wrong_edition",
					 "edition", own ? own->id : NULL, "request_id", http_request_id(r->rq));
		app_send_json(r, 403, body);
		return 0;
	}
	return 1;
}

/* The flow's result, already JSON text, as the body. */
static void send_text(req *r, strbuf *text)
{
	r->rs->status = 200;
	r->rs->content_type = CT_JSON;
	http_response_header(r->rs, "Cache-Control", "no-store");
	strbuf body = r->rs->body;         /* the text becomes the body: no copy */
	r->rs->body = *text;
	*text = body;
}

/* Answers a flow's status as JSON: on success the result's text when there is one. */
static void flow_answer(req *r, const rt_edition *ed, const char *flow, int st, json_t *result,
			strbuf *text, const char *err)
{
	const char *fb;

	if (st == FLOW_OK && app_polite_refusal(result)) {
		err = app_polite_refusal(result);
		st = FLOW_REFUSED;
	}
	switch (st) {
	case FLOW_OK:
		if (text)
			send_text(r, text);
		else
			app_send_json(r, 200, json_incref(result));
		break;
	case FLOW_BAD_PARAMS:
		api_error(r, 400, "bad_params", err);
		break;
	case FLOW_REFUSED: {
		json_t *b = json_pack("{s:s, s:s, s:s, s:s}", "error", "refused", "code", err,
				      "message", app_refusal_text(ed, err), "request_id", http_request_id(r->rq));
		app_send_json(r, 422, b);
		break;
	}
	case FLOW_UNAVAILABLE:
		fb = json_string_value(json_object_get(app_flow_spec(ed, flow), "fallback"));
		api_error(r, 503, "unavailable", fb ? fb : edition_string(ed, "ui.error.unavailable"));
		break;
	case FLOW_FORBIDDEN:
		api_error(r, 403, "forbidden", NULL);
		break;
	case FLOW_NOT_FOUND:
		api_error(r, 404, "not_found", NULL);
		break;
	default:
		app_log_flow_failure(r, ed, flow, st, err);
		api_error(r, 500, "server_error", NULL);
	}
}

static void api_data(req *r, const rt_edition *ed, const char *screen_id)
{
	json_t *screen = edition_screen(ed, screen_id);
	const char *flow = json_string_value(json_object_get(screen, "flow"));
	json_t *raw, *result = NULL;
	bank_identity who;
	strbuf err = STRBUF_INIT, text = STRBUF_INIT;
	int st;

	if (!screen || !flow) {
		api_error(r, 404, "not_found", screen ? "this screen has no data flow" : "no such screen");
		return;
	}
	if (!api_access(r, ed, auth_level(ed, screen_id, NULL)))
		return;
	raw = http_query_object(r->rq);
	session_bank_identity(&r->s, &who);
	st = flow_run_text(app_runner(r->a), ed, flow, raw, &who, &result, &text, &err);
	flow_answer(r, ed, flow, st, result, &text, err.buf);
	json_decref(raw);
	json_decref(result);
	strbuf_release(&text);
	strbuf_release(&err);
}

/* --- flows ------------------------------------------------------------------------ */

/* The JSON object of the body, or NULL after answering 415/400. */
static json_t *json_body(req *r)
{
	const char *ct = http_header(r->rq, "Content-Type");
	size_t len;
	const char *body = http_body(r->rq, &len);
	json_error_t je;
	json_t *in;

	if (!ct || strncasecmp(ct, "application/json", 16)) {
		api_error(r, 415, "unsupported_media_type", "send application/json");
		return NULL;
	}
	in = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(in)) {
		api_error(r, 400, "bad_json", in ? "the body must be a JSON object" : je.text);
		json_decref(in);
		return NULL;
	}
	return in;
}

static void api_flow(req *r, const rt_edition *ed, const char *flow)
{
	json_t *spec = app_flow_spec(ed, flow), *in, *result = NULL;
	const char *level = auth_level(ed, NULL, flow);
	const char *key = http_header(r->rq, "Idempotency-Key");
	bank_identity who;
	strbuf err = STRBUF_INIT, text = STRBUF_INIT;
	int st;

	if (!spec) {
		api_error(r, 404, "not_found", "no such flow");
		return;
	}
	if (!api_access(r, ed, level))
		return;
	if (r->has_session && !r->via_bearer &&
	    !session_csrf_ok(&r->s, http_header(r->rq, "X-CSRF-Token"))) {
		api_error(r, 403, "csrf", edition_string(ed, "ui.error.csrf"));
		return;
	}
	if (!(in = json_body(r)))
		return;
	if ((!strcmp(level, "step_up") || json_is_true(json_object_get(spec, "confirm"))) &&
	    !json_is_true(json_object_get(in, "_confirm"))) {
		api_error(r, 428, "confirmation_required", "this flow needs \"_confirm\": true");
		json_decref(in);
		return;
	}
	if (json_array_size(json_object_get(spec, "effects")) && !(key && *key)) {
		api_error(r, 400, "bad_params", "header 'Idempotency-Key' is required for this flow");
		json_decref(in);
		return;
	}
	json_object_del(in, "_confirm");
	json_object_del(in, "_idem");
	if (key && *key)
		json_object_set_new(in, "_idem", json_string(key) ?: json_string(""));
	session_bank_identity(&r->s, &who);
	st = flow_run_text(app_runner(r->a), ed, flow, in, &who, &result, &text, &err);
	flow_answer(r, ed, flow, st, result, &text, err.buf);
	json_decref(in);
	json_decref(result);
	strbuf_release(&text);
	strbuf_release(&err);
}

/* --- entry ----------------------------------------------------------------------------- */

/* Copies the next non-empty '/'-free segment of *p into out (n bytes at most with its NUL). */
static int take_segment(const char **p, char *out, size_t n)
{
	size_t len = strcspn(*p, "/");

	if (len == 0 || len >= n)
		return 0;
	memcpy(out, *p, len);
	out[len] = '\0';
	*p += len;
	return 1;
}

/* "<edition>/<kind>/<name>" (after "/api/v1/"): exactly three non-empty segments. */
static int split_api_path(const char *p, char *ed, size_t ed_n, char *kind, size_t kind_n,
			  char *name, size_t name_n)
{
	return take_segment(&p, ed, ed_n) && *p++ == '/' && take_segment(&p, kind, kind_n) &&
	       *p++ == '/' && take_segment(&p, name, name_n) && *p == '\0';
}

void app_api(req *r, const char *method, const char *path)
{
	char ed_id[64], kind[16], name[128];
	const rt_edition *ed;

	if (!split_api_path(path + 8, ed_id, sizeof ed_id, kind, sizeof kind, name, sizeof name) ||
	    !(ed = registry_find(r->reg, ed_id))) {
		app_set_route(r, "", "api");
		api_error(r, 404, "not_found", NULL);
		return;
	}
	/* Metric labels only from a fixed set: a client must not be able to mint series. */
	app_set_route(r, ed->id, !strcmp(kind, "screens") ? "api.screens" : !strcmp(kind, "data")
		      ? "api.data" : !strcmp(kind, "flows") ? "api.flows" : "api");
	if (!strcmp(kind, "screens") && !strcmp(method, "GET"))
		api_screen(r, ed, name);
	else if (!strcmp(kind, "data") && !strcmp(method, "GET"))
		api_data(r, ed, name);
	else if (!strcmp(kind, "flows") && !strcmp(method, "POST"))
		api_flow(r, ed, name);
	else
		api_error(r, !strcmp(kind, "screens") || !strcmp(kind, "data") || !strcmp(kind, "flows")
			  ? 405 : 404, "not_allowed", NULL);
}
