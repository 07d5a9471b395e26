/*
 * render_internal: what the render_*.c files share and nobody else uses.
 *
 * A page is rendered in one rctx: the edition, the page's inputs and the
 * data the bindings read. Helpers build libxml2 nodes; every text goes in
 * through xmlNewText/xmlNewProp so the serialiser escapes it. Strings given
 * to the helpers may be NULL (nothing is added) and need not be valid UTF-8
 * (invalid bytes are dropped before they reach the tree).
 */
#ifndef RENDER_INTERNAL_H
#define RENDER_INTERNAL_H

#include <jansson.h>
#include <libxml/tree.h>

#include "render.h"

typedef struct rctx {
	const render_page *pg;      /* NULL outside render_screen/render_confirm */
	const rt_edition *ed;       /* may be NULL (index, early errors) */
	const char *locale;         /* "zh-CN" or "en-US" */
	json_t *data;               /* what bindings read (borrowed), may be NULL */
	int depth;                  /* nesting of components, bounded */
	int seq;                    /* makes field ids unique in the page */
} rctx;

#define RENDER_MAX_DEPTH 24
#define RENDER_MAX_ITEMS 500    /* rows of one list rendered at most */

/* --- nodes (render.c) ----------------------------------------------------- */
xmlNodePtr rn_el(xmlNodePtr parent, const char *tag, const char *cls);
xmlNodePtr rn_text(xmlNodePtr parent, const char *tag, const char *cls, const char *text);
void rn_add_text(xmlNodePtr n, const char *text);
void rn_attr(xmlNodePtr n, const char *name, const char *value);
xmlNodePtr rn_link(xmlNodePtr parent, const char *href, const char *cls, const char *text);
void rn_hidden(xmlNodePtr form, const char *name, const char *value);
/* A <form method="post"> with _csrf and a fresh _idem (or idem when given). */
xmlNodePtr rn_form(rctx *rc, xmlNodePtr parent, const char *action_href, const char *cls,
		   const char *idem);
xmlNodePtr rn_button(xmlNodePtr parent, const char *cls, const char *text);

/* --- edition look-ups (render.c) ----------------------------------------- */
const char *rc_string(const rctx *rc, const char *key, const char *fallback);
/* "/<edition><path>" of a route id; NULL when the route is unknown. Caller frees. */
char *rc_route_href(const rctx *rc, const char *route_id);
/* The href of the route that shows screen_id, or of home. Caller frees. */
char *rc_screen_href(const rctx *rc, const char *screen_id);
char *rc_home_href(const rctx *rc);

/* --- bindings (render_bind.c) ---------------------------------------------- */
/* The value a binding or a plain path names (borrowed), or NULL. */
json_t *rb_value(json_t *data, const char *expr);
/* Text of a value through a filter ("money", "date", "percent", "mask", "code" or
 * NULL); without an edition at hand, "code" gives the code as it is. */
char *rb_format(json_t *v, const char *filter, const char *locale, const char *currency);
/* Text with every ${...} replaced. Caller frees; never NULL. */
char *rb_expand(const char *text, json_t *data, const char *locale);
/* The same against rc->data, with "code" looked up in the edition's strings. */
char *rb_expand_rc(const rctx *rc, const char *text);
char *rb_money(long long minor, const char *currency, const char *locale);

/* Attribute helpers: string attribute of a component, expanded against rc->data. */
char *rc_attr_text(const rctx *rc, json_t *comp, const char *key);
const char *rc_attr(json_t *comp, const char *key);
/* The items a list component shows: its binding (items/bind/value) as an array. */
json_t *rc_items(const rctx *rc, json_t *comp);

/* --- components (render_components.c, render_forms.c, render_svg.c) ------ */
void render_component(rctx *rc, xmlNodePtr parent, json_t *comp);
void render_children(rctx *rc, xmlNodePtr parent, json_t *comp);
void render_form_component(rctx *rc, xmlNodePtr parent, json_t *comp);
void render_field_component(rctx *rc, xmlNodePtr parent, json_t *comp, const char *kind);
void render_approval_list(rctx *rc, xmlNodePtr parent, json_t *comp);
void render_identity_forms(rctx *rc, xmlNodePtr parent);
void render_chart(rctx *rc, xmlNodePtr parent, json_t *comp);
/* What a customer chose in a select or payee picker, as the field showed it. Caller frees. */
char *render_choice_text(rctx *rc, json_t *field, const char *value);

/* Item field: the first of names present in obj, as text (caller frees) or NULL. */
char *ri_field(json_t *obj, const char *const *names);
long long ri_int(json_t *obj, const char *name, int *found);

#endif
