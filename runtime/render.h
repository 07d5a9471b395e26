/*
 * render: H5 pages built as libxml2 trees and serialised, so that every text is
 * escaped by construction. Styles come from one base stylesheet (render_base_css)
 * driven by the edition's theme custom properties (the pack's theme/css), so care
 * is visibly larger and private-banking has its own colours without a line of
 * edition-specific code. Pages work without JavaScript.
 */
#ifndef RENDER_H
#define RENDER_H

#include <jansson.h>

#include "registry.h"
#include "strbuf.h"

typedef struct render_page {   /* public: what one page needs */
	const rt_edition *ed;
	json_t *screen;             /* layout JSON (borrowed) */
	json_t *data;               /* the screen flow's result, or NULL */
	const char *csrf;           /* token for every form */
	const char *user_name;      /* NULL when not logged in */
	json_t *identities;         /* [{"key":"personal"|"enterprise:7","name":...,"role":...,"current":true}] or NULL */
	const char *notice;         /* one-line message on top (after a PRG), or NULL */
	const char *error;          /* one-line error on top, or NULL */
	json_t *form_values;        /* values to put back into a form after an error, or NULL */
	const char *query;          /* the request's query string ("id=a1&page=2"), or NULL: pager links keep its other params */
} render_page;

int render_screen(const render_page *pg, strbuf *html);
/* The confirmation step of a money-moving POST: the values, a confirm button, the same action. */
int render_confirm(const render_page *pg, const rt_route *action, json_t *values, strbuf *html);
int render_login(const rt_edition *ed, const char *csrf, const char *error, strbuf *html);
int render_index(const registry *r, strbuf *html);
int render_message(const rt_edition *ed, int status, const char *title, const char *text,
		   const char *request_id, strbuf *html);
/* The shared stylesheet, served at /static/app.css. */
const char *render_base_css(size_t *len);
/* "${balance | money}" against data: the formatted text (caller frees). */
char *render_binding(const char *expr, json_t *data, const char *locale);

#endif
