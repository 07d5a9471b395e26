/*
 * app: the request's way through the server, behind http.
 *
 * app_handle is the http handler: it routes a request to the edition index,
 * login/logout/switch, an edition's H5 page or form (through the edition's
 * route table, with auth levels, CSRF, the confirmation step and
 * post-redirect-get), the JSON API, static styles, health and metrics.
 * Logged-in customers are kept on the edition that follows who they are
 * (docs/architecture.md section 6).
 */
#ifndef APP_H
#define APP_H

#include "bank.h"
#include "http.h"
#include "session.h"

typedef struct app app;

/* Borrows b and sessions; both outlive the app. */
app *app_new(bank *b, session_mgr *sessions, size_t flow_mem_cap);
void app_free(app *a);

/*
 * What POST /admin/reload runs (accepted from this host only): 0 after the new
 * set is in place, -1 with the reason in why when it was refused.
 */
typedef int (*app_reload_fn)(void *cls, strbuf *why);
void app_set_reloader(app *a, app_reload_fn fn, void *cls);

/* The session store's name for /readyz ("memory", "redis"); "memory" unless set. */
void app_set_session_store(app *a, const char *name);

/* An http_handler: cls is the app. */
void app_handle(void *cls, http_request *rq, http_response *rs);

/* The edition a logged-in session belongs to (see app.c), or NULL when none of its candidates is loaded. */
const rt_edition *app_edition_for(const registry *r, const session *s);
/* 0 when the session's current identity may not use ed (enterprise editions, the boss's edition). */
int app_identity_fits(const session *s, const rt_edition *ed);

#endif
