/*
 * app_pages: an edition's H5 pages and forms.
 *
 * GET of a screen route: the screen's data flow runs with the query string as
 * raw params, then the page is rendered. POST of a flow route: the form is
 * parsed by MHD's post processor, the CSRF token checked, a step-up route
 * first answers a confirmation page (the flow runs only on the POST that
 * carries _confirm=1), and a success is kept as the session's one-shot flash
 * and redirected (303) to the route named by `then` (post-redirect-get).
 * Failures show the form again with the values entered and a message.
 */
#include "app_int.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

/* --- access ------------------------------------------------------------------ */

static void redirect_to_login(req *r, const rt_edition *ed, const char *path)
{
	strbuf next = STRBUF_INIT, loc = STRBUF_INIT;
	char *esc;

	if (!strcmp(http_method(r->rq), "GET")) {
		strbuf_addf(&next, "/%s%s", ed->id, path);
	} else {
		char *home = app_home_path(ed);
		strbuf_adds(&next, home);
		free(home);
	}
	esc = curl_easy_escape(NULL, next.buf, (int)next.len);
	strbuf_addf(&loc, "/login?next=%s", esc ? esc : "");
	app_send_redirect(r, loc.buf);
	curl_free(esc);
	strbuf_release(&next);
	strbuf_release(&loc);
}

/*
 * 1 when the request may go on. A customer on another edition's page goes to
 * the same path of their own edition when it has one, else to its home; an
 * anonymous visitor of a page that needs login goes to the login page; an
 * identity that does not fit the edition gets 403.
 */
static int check_access(req *r, const rt_edition *ed, const rt_route *rt, const char *path)
{
	app_load_session(r);
	if (app_logged_in(r)) {
		const rt_edition *own = app_edition_for(r->reg, &r->s);
		if (own && own != ed) {
			char *home = app_home_path(own);
			strbuf loc = STRBUF_INIT;
			if (edition_route_by_path(own, "GET", path))
				strbuf_addf(&loc, "/%s%s", own->id, path);
			else
				strbuf_adds(&loc, home);
			app_send_redirect(r, loc.buf);
			strbuf_release(&loc);
			free(home);
			return 0;
		}
		if (!app_identity_fits(&r->s, ed)) {
			app_send_message(r, ed, 403, NULL);
			return 0;
		}
		return 1;
	}
	if (strcmp(rt->auth, "none")) {
		redirect_to_login(r, ed, path);
		return 0;
	}
	return 1;
}

/* --- screens ---------------------------------------------------------------------- */

/* Does the layout hold something that posts (and so needs a session for its CSRF token)? */
static int has_form(json_t *node, int depth)
{
	size_t i;
	json_t *v;

	if (depth > 32)
		return 0;
	if (json_is_array(node)) {
		json_array_foreach(node, i, v)
			if (has_form(v, depth + 1))
				return 1;
		return 0;
	}
	if (!json_is_object(node))
		return 0;
	if (json_object_get(node, "action"))
		return 1;
	v = json_object_get(node, "component");
	if (json_is_string(v) && (!strcmp(json_string_value(v), "form") ||
				  !strcmp(json_string_value(v), "approval_list")))
		return 1;
	return has_form(json_object_get(node, "children"), depth + 1) ||
	       has_form(json_object_get(node, "layout"), depth + 1);
}

/* Does this layout (sub)tree hold a form or action that posts to route_id? */
static int posts_to(json_t *node, const char *route_id, int depth)
{
	size_t i;
	json_t *v;

	if (depth > 32)
		return 0;
	if (json_is_array(node)) {
		json_array_foreach(node, i, v)
			if (posts_to(v, route_id, depth + 1))
				return 1;
		return 0;
	}
	if (!json_is_object(node))
		return 0;
	v = json_object_get(node, "action");
	if (json_is_string(v) && !strcmp(json_string_value(v), route_id))
		return 1;
	return posts_to(json_object_get(node, "children"), route_id, depth + 1) ||
	       posts_to(json_object_get(node, "layout"), route_id, depth + 1);
}

/* The id of the screen whose form posts to route_id (where to show it again), or NULL. */
static const char *form_screen_of(const rt_edition *ed, const char *route_id)
{
	const char *id;
	json_t *screen;

	json_object_foreach(ed->screens, id, screen)
		if (posts_to(screen, route_id, 0))
			return id;
	return NULL;
}

/* The request's query string, re-encoded from MHD's decoded arguments (caller frees), or NULL. */
static char *query_string(req *r)
{
	json_t *q = http_query_object(r->rq);
	strbuf sb = STRBUF_INIT;
	const char *key;
	json_t *v;

	json_object_foreach(q, key, v) {
		char *k = curl_easy_escape(NULL, key, 0);
		char *e = curl_easy_escape(NULL, json_string_value(v), 0);
		if (k && e)
			strbuf_addf(&sb, "%s%s=%s", sb.len ? "&" : "", k, e);
		curl_free(k);
		curl_free(e);
	}
	json_decref(q);
	if (!sb.len)
		return NULL;
	return strbuf_detach(&sb, NULL);
}

/* The result the flash holds for flow_id (new reference), or NULL; the flash is used up. */
static json_t *take_flash(req *r, const char *flow_id, int *had_flash)
{
	char *text;
	json_t *f, *out = NULL;

	*had_flash = 0;
	if (!r->has_session || !r->s.flash)
		return NULL;
	text = session_take_flash(&r->s);
	session_save(r->a->sessions, &r->s);
	f = json_loads(text, 0, NULL);
	free(text);
	if (json_object_get(f, "result")) {
		*had_flash = 1;
		if (flow_id && !strcmp(flow_id, json_string_value(json_object_get(f, "flow")) ?: ""))
			out = json_incref(json_object_get(f, "result"));
	}
	json_decref(f);
	return out;
}

typedef struct page_state {
	int status;
	const char *error;
	json_t *values;             /* form values to show again, or NULL */
} page_state;

/* Runs the screen's data flow. 0 with *data, or -1 when an answer was sent. */
static int screen_data(req *r, const rt_edition *ed, json_t *screen, json_t **data, page_state *ps)
{
	const char *flow = json_string_value(json_object_get(screen, "flow"));
	json_t *raw;
	bank_identity who;
	strbuf err = STRBUF_INIT;
	int st;

	*data = NULL;
	if (!flow)
		return 0;
	raw = http_query_object(r->rq);
	session_bank_identity(&r->s, &who);
	st = flow_run(app_runner(r->a), ed, flow, raw, &who, data, &err);
	if (st == FLOW_OK)
		app_compare(r, ed, flow, raw, *data);
	json_decref(raw);
	if (st == FLOW_OK || st == FLOW_UNAVAILABLE || st == FLOW_REFUSED) {
		if (st == FLOW_OK && app_polite_refusal(*data)) {
			ps->error = app_refusal_text(ed, app_polite_refusal(*data));
		} else if (st == FLOW_UNAVAILABLE) {
			ps->status = 503;
			ps->error = json_string_value(json_object_get(app_flow_spec(ed, flow), "fallback"));
			if (!ps->error)
				ps->error = edition_string(ed, "ui.error.unavailable");
		} else if (st == FLOW_REFUSED) {
			ps->status = 422;
			ps->error = app_refusal_text(ed, err.buf);
		}
		strbuf_release(&err);
		return 0;
	}
	if (st == FLOW_ERROR || st == FLOW_TIMEOUT)
		app_log_flow_failure(r, ed, flow, st, err.buf);
	app_send_message(r, ed, st == FLOW_TIMEOUT ? 500 : st, st == FLOW_BAD_PARAMS ? err.buf : NULL);
	strbuf_release(&err);
	return -1;
}

static void show_screen(req *r, const rt_edition *ed, const char *screen_id, page_state *ps)
{
	json_t *screen = edition_screen(ed, screen_id);
	json_t *data = NULL, *identities;
	const char *result_of, *notice = NULL;
	strbuf html = STRBUF_INIT;
	int had_flash;

	if (!screen) {
		app_send_message(r, ed, 404, NULL);
		return;
	}
	if (!app_logged_in(r) && has_form(screen, 0))
		app_ensure_session(r);
	result_of = json_string_value(json_object_get(screen, "result_of"));
	data = take_flash(r, result_of, &had_flash);
	if (had_flash && !result_of)
		notice = edition_string(ed, "ui.done");
	if (!data && screen_data(r, ed, screen, &data, ps) < 0)
		return;
	identities = r->has_session ? app_identities(&r->s) : NULL;
	char *query = query_string(r);
	render_page pg = { .ed = ed, .screen = screen, .data = data, .query = query,
			   .csrf = r->has_session ? r->s.csrf : NULL,
			   .user_name = app_logged_in(r) ? r->s.name : NULL,
			   .identities = identities, .notice = notice, .error = ps->error,
			   .form_values = ps->values };
	if (render_screen(&pg, &html) < 0) {
		strbuf_release(&html);
		app_send_message(r, ed, 500, NULL);
	} else {
		app_send_html(r, ps->status ? ps->status : 200, &html);
	}
	json_decref(data);
	json_decref(identities);
	free(query);
}

/* --- forms ------------------------------------------------------------------------------ */

/* The form again, with a message and the values entered. */
static void form_again(req *r, const rt_edition *ed, const rt_route *rt, int status,
		       const char *error, json_t *values)
{
	const char *screen = form_screen_of(ed, rt->id);
	page_state ps = { status, error, values };

	if (screen)
		show_screen(r, ed, screen, &ps);
	else
		app_send_message(r, ed, status, error);
}

/* The form value of the field whose default is bound to "${<object>.<param>}"
 * (a product form's `product_id` field carries its `id`), or NULL. */
static json_t *bound_field_value(json_t *comp, const char *param, json_t *values, int depth)
{
	if (depth > 24)
		return NULL;
	if (json_is_array(comp)) {
		size_t i;
		json_t *c, *found;
		json_array_foreach(comp, i, c)
			if ((found = bound_field_value(c, param, values, depth + 1)))
				return found;
		return NULL;
	}
	if (!json_is_object(comp))
		return NULL;
	const char *name = json_string_value(json_object_get(comp, "name"));
	const char *bind = json_string_value(json_object_get(comp, "value"));
	size_t pl = strlen(param), bl = bind ? strlen(bind) : 0;
	if (name && bind && bl > pl + 3 && !strncmp(bind, "${", 2) && bind[bl - 1] == '}' &&
	    bind[bl - pl - 2] == '.' && !strncmp(bind + bl - pl - 1, param, pl))
		return json_object_get(values, name);
	json_t *found = bound_field_value(json_object_get(comp, "layout"), param, values, depth + 1);
	return found ? found : bound_field_value(json_object_get(comp, "children"), param, values, depth + 1);
}

/* What the form screen's flow showed, so that the confirmation names accounts,
 * payees and products as the form did: the flow runs again with the request's
 * query and, for params the query lacks, the posted values. NULL when the
 * screen has no flow or the flow does not answer (the raw values are shown). */
static json_t *confirm_data(req *r, const rt_edition *ed, json_t *screen, json_t *values)
{
	const char *flow = json_string_value(json_object_get(screen, "flow"));
	json_t *raw, *p, *data = NULL;
	bank_identity who;
	strbuf err = STRBUF_INIT;
	size_t i;

	if (!flow)
		return NULL;
	raw = http_query_object(r->rq);
	if (!raw)
		raw = json_object();
	json_array_foreach(json_object_get(app_flow_spec(ed, flow), "params"), i, p) {
		const char *id = json_string_value(json_object_get(p, "id"));
		if (!id || json_object_get(raw, id))
			continue;
		json_t *v = json_object_get(values, id);
		if (!v)
			v = bound_field_value(screen, id, values, 0);
		if (json_is_string(v))
			json_object_set(raw, id, v);
	}
	session_bank_identity(&r->s, &who);
	if (flow_run(app_runner(r->a), ed, flow, raw, &who, &data, &err) != FLOW_OK ||
	    app_polite_refusal(data)) {
		json_decref(data);
		data = NULL;
	}
	json_decref(raw);
	strbuf_release(&err);
	return data;
}

static void confirm_page(req *r, const rt_edition *ed, const rt_route *rt, json_t *values)
{
	const char *screen_id = form_screen_of(ed, rt->id);
	json_t *screen = screen_id ? edition_screen(ed, screen_id) : NULL;
	json_t *identities = app_identities(&r->s);
	json_t *data = screen ? confirm_data(r, ed, screen, values) : NULL;
	strbuf html = STRBUF_INIT;
	render_page pg = { .ed = ed, .screen = screen, .data = data,
			   .csrf = r->s.csrf, .user_name = r->s.name, .identities = identities };

	if (render_confirm(&pg, rt, values, &html) < 0) {
		strbuf_release(&html);
		app_send_message(r, ed, 500, NULL);
	} else {
		app_send_html(r, 200, &html);
	}
	json_decref(identities);
	json_decref(data);
}

static void flow_succeeded(req *r, const rt_edition *ed, const rt_route *rt, json_t *result)
{
	json_t *flash = json_pack("{s:s, s:O}", "flow", rt->flow, "result", result);
	char *text = json_dumps(flash, JSON_COMPACT);
	const rt_route *then = edition_route_by_id(ed, rt->then);
	strbuf loc = STRBUF_INIT;

	session_set_flash(&r->s, text);
	session_save(r->a->sessions, &r->s);
	if (then) {
		strbuf_addf(&loc, "/%s%s", ed->id, then->path);
	} else {
		char *home = app_home_path(ed);
		strbuf_adds(&loc, home);
		free(home);
	}
	app_send_redirect(r, loc.buf);
	strbuf_release(&loc);
	free(text);
	json_decref(flash);
}

static void run_form_flow(req *r, const rt_edition *ed, const rt_route *rt, json_t *values)
{
	bank_identity who;
	json_t *result = NULL;
	strbuf err = STRBUF_INIT;
	int st;

	session_bank_identity(&r->s, &who);
	st = flow_run(app_runner(r->a), ed, rt->flow, values, &who, &result, &err);
	if (st == FLOW_OK && app_polite_refusal(result)) {
		strbuf_reset(&err);
		strbuf_adds(&err, app_polite_refusal(result));
		st = FLOW_REFUSED;
	}
	switch (st) {
	case FLOW_OK:
		flow_succeeded(r, ed, rt, result);
		break;
	case FLOW_BAD_PARAMS:
		form_again(r, ed, rt, 400, err.buf, values);
		break;
	case FLOW_REFUSED:
		form_again(r, ed, rt, 422, app_refusal_text(ed, err.buf), values);
		break;
	case FLOW_UNAVAILABLE: {
		const char *fb = json_string_value(json_object_get(app_flow_spec(ed, rt->flow), "fallback"));
		form_again(r, ed, rt, 503, fb ? fb : edition_string(ed, "ui.error.unavailable"), values);
		break;
	}
	case FLOW_FORBIDDEN:
	case FLOW_NOT_FOUND:
		app_send_message(r, ed, st, NULL);
		break;
	default:
		app_log_flow_failure(r, ed, rt->flow, st, err.buf);
		app_send_message(r, ed, 500, NULL);
	}
	json_decref(result);
	strbuf_release(&err);
}

static int needs_confirm(const rt_edition *ed, const rt_route *rt)
{
	json_t *spec = app_flow_spec(ed, rt->flow);

	return !strcmp(rt->auth, "step_up") || json_is_true(json_object_get(spec, "confirm"));
}

static void post_form(req *r, const rt_edition *ed, const rt_route *rt)
{
	json_t *form = http_form(r->rq);
	const char *confirm;
	int confirmed;
	json_t *typed = NULL;
	strbuf err = STRBUF_INIT;

	if (!form) {
		app_send_message(r, ed, 400, NULL);
		return;
	}
	if (!r->has_session || r->via_bearer ||
	    !session_csrf_ok(&r->s, json_string_value(json_object_get(form, "_csrf")))) {
		app_send_message(r, ed, 403, edition_string(ed, "ui.error.csrf"));
		json_decref(form);
		return;
	}
	confirm = json_string_value(json_object_get(form, "_confirm"));
	confirmed = confirm && !strcmp(confirm, "1");
	json_object_del(form, "_csrf");     /* frees confirm: only confirmed is used below */
	json_object_del(form, "_confirm");
	if (needs_confirm(ed, rt) && !confirmed) {
		json_t *spec_params = json_object_get(app_flow_spec(ed, rt->flow), "params");
		if (flow_check_params(spec_params, form, &typed, &err))
			form_again(r, ed, rt, 400, err.buf, form);
		else
			confirm_page(r, ed, rt, form);
	} else {
		run_form_flow(r, ed, rt, form);
	}
	json_decref(typed);
	json_decref(form);
	strbuf_release(&err);
}

/* --- entry ---------------------------------------------------------------------------------- */

void app_page(req *r, const rt_edition *ed, const char *method, const char *path)
{
	const rt_route *rt = edition_route_by_path(ed, method, path);

	if (!rt) {
		int other = edition_route_by_path(ed, strcmp(method, "GET") ? "GET" : "POST", path) != NULL;
		app_set_route(r, ed->id, "");
		if (other)
			http_response_header(r->rs, "Allow", strcmp(method, "GET") ? "GET, HEAD" : "POST");
		app_send_message(r, ed, other ? 405 : 404, NULL);
		return;
	}
	app_set_route(r, ed->id, rt->id);
	if (!check_access(r, ed, rt, path))
		return;
	if (!strcmp(method, "GET") && rt->screen) {
		page_state ps = { 0, NULL, NULL };
		show_screen(r, ed, rt->screen, &ps);
	} else if (!strcmp(method, "POST") && rt->flow) {
		post_form(r, ed, rt);
	} else {
		app_send_message(r, ed, 404, NULL);
	}
}
