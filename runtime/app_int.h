/*
 * app_int: what app.c, app_auth.c, app_pages.c and app_api.c share.
 *
 * One request is one `req`: the app, the http request and response, the pack
 * set the request holds, and its session (loaded once, saved when changed).
 */
#ifndef APP_INT_H
#define APP_INT_H

#include <jansson.h>

#include "app.h"
#include "flow.h"
#include "render.h"

struct app {
	bank *bank;
	session_mgr *sessions;
	size_t flow_mem_cap;
	app_reload_fn reload;
	void *reload_cls;
	const char *store_name;
};

typedef struct req {
	app *a;
	http_request *rq;
	http_response *rs;
	registry *reg;              /* the set, or a view of it showing the version chosen */
	registry *view;             /* owned when a canary was chosen, else NULL */
	int on_canary;              /* the customer's edition is served in its canary version */
	session s;
	int has_session;            /* s holds a live session */
	int via_bearer;             /* named by an Authorization header, not the cookie */
} req;

#define CT_HTML "text/html; charset=utf-8"
#define CT_JSON "application/json"

/* app.c */
void app_send_html(req *r, int status, strbuf *html);        /* takes html's contents */
void app_send_json(req *r, int status, json_t *body);        /* consumes body */
void app_send_redirect(req *r, const char *location);        /* 303 */
void app_send_message(req *r, const rt_edition *ed, int status, const char *text);
void app_set_route(req *r, const char *edition, const char *route);
int app_load_session(req *r);                 /* 1 when a live session was found */
void app_ensure_session(req *r);              /* an anonymous one (with cookie) when none */
int app_logged_in(const req *r);
json_t *app_identities(const session *s);
char *app_home_path(const rt_edition *ed);    /* "/mass/home"; caller frees */
const rt_edition *app_default_edition(const registry *reg);
flow_runner *app_runner(app *a);
json_t *app_flow_spec(const rt_edition *ed, const char *flow_id);   /* borrowed */
const char *app_refusal_text(const rt_edition *ed, const char *code);
/* A flow's own refusal ({"ok": false, "message": code}): the code, or NULL when it did not refuse. */
const char *app_polite_refusal(json_t *result);
void app_log_flow_failure(req *r, const rt_edition *ed, const char *flow, int st, const char *err);
/*
 * After a stable answer of flow (params raw, result stable_result): when the
 * edition's rollout compares and the flow declares no effects, queues the
 * canary's run beside it (dualrun.h). Never changes the answer.
 */
void app_compare(req *r, const rt_edition *ed, const char *flow, json_t *raw, json_t *stable_result);

/* app_auth.c */
int app_auth_route(req *r, const char *method, const char *path);   /* 1 when handled */

/* app_pages.c */
void app_page(req *r, const rt_edition *ed, const char *method, const char *path);

/* app_api.c */
void app_api(req *r, const char *method, const char *path);

#endif
