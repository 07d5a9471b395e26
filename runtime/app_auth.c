/*
 * app_auth: login, logout and the identity switch, for browsers (forms) and
 * native clients (POST /api/v1/login returns a bearer token).
 *
 * Login never promotes the pre-login session: session_login makes a new token.
 * The page to return to after login (`next`) is kept in the pre-login session,
 * not in the form, and only same-site paths are accepted, so the login page
 * cannot be used to send a customer elsewhere. Failures count towards the
 * lockout of the user name and of the address; a locked account gets the same
 * answer whether the password was right or not.
 */
#include "app_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

#define MAX_BINDINGS SESSION_MAX_IDENTITIES

/* A same-site path: "/x...", not "//host", no backslash or control bytes. */
static int safe_next(const char *next)
{
	if (!next || next[0] != '/' || next[1] == '/' || strlen(next) > 512)
		return 0;
	for (const unsigned char *p = (const unsigned char *)next; *p; p++)
		if (*p < 0x20 || *p == '\\' || *p == 0x7f)
			return 0;
	return 1;
}

/* The edition whose login page to show: the one `next` points into, else the default. */
static const rt_edition *login_edition(req *r, const char *next)
{
	if (safe_next(next)) {
		char id[64];
		size_t n = strcspn(next + 1, "/?");
		if (n < sizeof id) {
			memcpy(id, next + 1, n);
			id[n] = '\0';
			const rt_edition *e = registry_find(r->reg, id);
			if (e)
				return e;
		}
	}
	return app_default_edition(r->reg);
}

static char *saved_next(const session *s)
{
	json_t *f = s->flash ? json_loads(s->flash, 0, NULL) : NULL;
	const char *next = json_string_value(json_object_get(f, "next"));
	char *out = safe_next(next) ? xstrdup(next) : NULL;

	json_decref(f);
	return out;
}

static void login_page(req *r)
{
	const char *next = http_query(r->rq, "next");
	strbuf html = STRBUF_INIT;

	app_ensure_session(r);
	if (app_logged_in(r)) {         /* already in: straight to where they were going */
		const rt_edition *own = app_edition_for(r->reg, &r->s);
		char *home = own ? app_home_path(own) : xstrdup("/");
		app_send_redirect(r, safe_next(next) ? next : home);
		free(home);
		return;
	}
	if (safe_next(next)) {
		json_t *f = json_pack("{s:s}", "next", next);
		char *text = json_dumps(f, JSON_COMPACT);
		session_set_flash(&r->s, text);
		session_save(r->a->sessions, &r->s);
		free(text);
		json_decref(f);
	}
	render_login(login_edition(r, next), r->s.csrf, NULL, &html);
	app_send_html(r, 200, &html);
}

/*
 * Checks the lockout and the password. 0 and *c on success; else the HTTP
 * status (429 locked, 401 failed) and *msg_key.
 */
static int authenticate(req *r, const char *user, const char *password, bank_customer *c,
			const char **msg_key)
{
	const char *ip = http_client_ip(r->rq);

	if (!session_login_allowed(r->a->sessions, user, ip)) {
		*msg_key = "ui.login.locked";
		return 429;
	}
	if (!user || !password || bank_authenticate(r->a->bank, user, password, c) < 0) {
		session_login_failed(r->a->sessions, user ? user : "", ip);
		log_warn("login failed for '%s' from %s", user ? user : "", ip);
		*msg_key = session_login_allowed(r->a->sessions, user, ip)
			? "ui.login.failed" : "ui.login.locked";
		return 401;
	}
	session_login_succeeded(r->a->sessions, user);
	return 0;
}

static void start_session(req *r, const bank_customer *c)
{
	bank_binding b[MAX_BINDINGS];
	int n = bank_bindings(r->a->bank, c->id, b, MAX_BINDINGS);

	if (!r->has_session)
		memset(&r->s, 0, sizeof r->s);
	session_login(r->a->sessions, &r->s, c, b, n < 0 ? 0 : n);
	r->has_session = 1;
}

static void login_submit(req *r)
{
	json_t *form = http_form(r->rq);
	const char *user = json_string_value(json_object_get(form, "username"));
	const char *pass = json_string_value(json_object_get(form, "password"));
	const rt_edition *ed;
	bank_customer c;
	const char *msg;
	char *next;
	int st;

	if (!app_load_session(r) || !session_csrf_ok(&r->s, json_string_value(json_object_get(form, "_csrf")))) {
		/* typically a login page left open past the idle expiry: a fresh form, with the reason */
		strbuf html = STRBUF_INIT;
		app_ensure_session(r);
		ed = app_default_edition(r->reg);
		render_login(ed, r->s.csrf, edition_string(ed, "ui.error.csrf"), &html);
		app_send_html(r, 403, &html);
		json_decref(form);
		return;
	}
	next = saved_next(&r->s);
	ed = login_edition(r, next);
	if ((st = authenticate(r, user, pass, &c, &msg))) {
		strbuf html = STRBUF_INIT;
		render_login(ed, r->s.csrf, edition_string(ed, msg), &html);
		app_send_html(r, st, &html);
	} else {
		strbuf cookie = STRBUF_INIT;
		start_session(r, &c);
		session_cookie(r->a->sessions, r->s.id, &cookie);
		http_response_header(r->rs, "Set-Cookie", cookie.buf);
		strbuf_release(&cookie);
		ed = app_edition_for(r->reg, &r->s);
		char *home = ed ? app_home_path(ed) : xstrdup("/");
		app_send_redirect(r, next ? next : home);
		free(home);
	}
	free(next);
	json_decref(form);
}

static int csrf_form_ok(req *r, json_t *form)
{
	return app_load_session(r) && !r->via_bearer &&
	       session_csrf_ok(&r->s, json_string_value(json_object_get(form, "_csrf")));
}

static void logout(req *r)
{
	json_t *form = http_form(r->rq);
	strbuf cookie = STRBUF_INIT;

	if (!csrf_form_ok(r, form)) {
		json_decref(form);
		app_send_message(r, app_default_edition(r->reg), 403,
				 edition_string(app_default_edition(r->reg), "ui.error.csrf"));
		return;
	}
	json_decref(form);
	session_destroy(r->a->sessions, r->s.id);
	session_cookie_clear(r->a->sessions, &cookie);
	http_response_header(r->rs, "Set-Cookie", cookie.buf);
	strbuf_release(&cookie);
	app_send_redirect(r, "/login");
}

static void switch_identity(req *r)
{
	json_t *form = http_form(r->rq);
	const rt_edition *ed = app_default_edition(r->reg);

	if (!csrf_form_ok(r, form)) {
		app_send_message(r, ed, 403, edition_string(ed, "ui.error.csrf"));
	} else if (!app_logged_in(r)) {
		app_send_redirect(r, "/login");
	} else if (session_switch(&r->s, json_string_value(json_object_get(form, "identity"))) < 0) {
		app_send_message(r, ed, 400, NULL);
	} else {
		session_save(r->a->sessions, &r->s);
		ed = app_edition_for(r->reg, &r->s);
		char *home = ed ? app_home_path(ed) : xstrdup("/");
		app_send_redirect(r, home);
		free(home);
	}
	json_decref(form);
}

/* POST /api/v1/login {"username":..., "password":...} -> {"token", "csrf", "edition", "identities"} */
static void api_login(req *r)
{
	size_t len;
	const char *body = http_body(r->rq, &len);
	json_t *in = json_loadb(body, len, 0, NULL);
	const char *user = json_string_value(json_object_get(in, "username"));
	const char *pass = json_string_value(json_object_get(in, "password"));
	const rt_edition *ed = app_default_edition(r->reg);
	bank_customer c;
	const char *msg;
	int st;

	const char *ct = http_header(r->rq, "Content-Type");

	if (!ct || strncasecmp(ct, "application/json", 16)) {
		app_send_json(r, 415, json_pack("{s:s, s:s}", "error", "unsupported_media_type",
						"message", "send application/json"));
	} else if (!json_is_object(in) || !user || !pass) {
		app_send_json(r, 400, json_pack("{s:s, s:s}", "error", "bad_request",
			"message", "body must be {\"username\": ..., \"password\": ...}"));
	} else if ((st = authenticate(r, user, pass, &c, &msg))) {
		app_send_json(r, st, json_pack("{s:s, s:s}", "error", st == 429 ? "locked" : "login_failed",
					       "message", edition_string(ed, msg)));
	} else {
		r->has_session = 0;
		start_session(r, &c);
		r->via_bearer = 1;
		ed = app_edition_for(r->reg, &r->s);
		app_send_json(r, 200, json_pack("{s:s, s:s, s:s?, s:o}", "token", r->s.id,
			"csrf", r->s.csrf, "edition", ed ? ed->id : NULL,
			"identities", app_identities(&r->s)));
	}
	json_decref(in);
}

/* The API's session: a bearer token, or the cookie with the CSRF token in X-CSRF-Token. */
static int api_session_ok(req *r)
{
	if (!app_load_session(r))
		return 0;
	return r->via_bearer || session_csrf_ok(&r->s, http_header(r->rq, "X-CSRF-Token"));
}

/* POST /api/v1/logout */
static void api_logout(req *r)
{
	if (!api_session_ok(r)) {
		app_send_json(r, 401, json_pack("{s:s}", "error", "login_required"));
		return;
	}
	session_destroy(r->a->sessions, r->s.id);
	app_send_json(r, 200, json_pack("{s:b}", "logged_out", 1));
}

/* POST /api/v1/switch {"identity": "personal" | "enterprise:<id>"} -> the edition and identities */
static void api_switch(req *r)
{
	size_t len;
	const char *body = http_body(r->rq, &len);
	json_t *in = json_loadb(body, len, 0, NULL);
	const rt_edition *ed;

	if (!api_session_ok(r) || !app_logged_in(r)) {
		app_send_json(r, 401, json_pack("{s:s}", "error", "login_required"));
	} else if (session_switch(&r->s, json_string_value(json_object_get(in, "identity"))) < 0) {
		app_send_json(r, 400, json_pack("{s:s, s:s}", "error", "bad_params",
			"message", "field 'identity': expected one of the session's identities"));
	} else {
		session_save(r->a->sessions, &r->s);
		ed = app_edition_for(r->reg, &r->s);
		app_send_json(r, 200, json_pack("{s:s?, s:o}", "edition", ed ? ed->id : NULL,
						"identities", app_identities(&r->s)));
	}
	json_decref(in);
}

int app_auth_route(req *r, const char *method, const char *path)
{
	int get = !strcmp(method, "GET"), post = !strcmp(method, "POST");

	if (!strcmp(path, "/login") && get)
		login_page(r);
	else if (!strcmp(path, "/login") && post)
		login_submit(r);
	else if (!strcmp(path, "/logout") && post)
		logout(r);
	else if (!strcmp(path, "/switch") && post)
		switch_identity(r);
	else if (!strcmp(path, "/api/v1/login") && post)
		api_login(r);
	else if (!strcmp(path, "/api/v1/logout") && post)
		api_logout(r);
	else if (!strcmp(path, "/api/v1/switch") && post)
		api_switch(r);
	else
		return 0;
	app_set_route(r, "", path + 1);
	return 1;
}
