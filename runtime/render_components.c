/*
 * render_components: one function per library component (schemas/components.xsd),
 * each turning a component's JSON into nodes under its parent.
 *
 * Conventions every function keeps: the root node carries class `c-<component>`;
 * text attributes (title, text, label, caption, body, hint) were resolved by the
 * compiler and may still hold ${...} bindings, which are expanded here; `to` and
 * `action` name route ids, turned into "/<edition><path>"; lists take their rows
 * from a binding in `items`. A component that names something missing (a field,
 * a route, a product) renders what it can and never fails the page; an unknown
 * component renders an empty, hidden placeholder.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/uri.h>

#include "render_internal.h"

typedef void (*component_fn)(rctx *rc, xmlNodePtr parent, json_t *comp);

static const char *const NAME_KEYS[] = { "name", "title", "label", "text", "payee_name", "id", NULL };

static xmlNodePtr root(xmlNodePtr parent, const char *tag, const char *component)
{
	char cls[64];
	snprintf(cls, sizeof cls, "c-%s", component);
	return rn_el(parent, tag, cls);
}

/* Adds a child <tag class=cls> holding the expanded text attribute key, if any. */
static xmlNodePtr attr_text(rctx *rc, xmlNodePtr parent, json_t *comp, const char *key,
			    const char *tag, const char *cls)
{
	char *t = rc_attr_text(rc, comp, key);
	xmlNodePtr n = NULL;
	if (t && *t)
		n = rn_text(parent, tag, cls, t);
	free(t);
	return n;
}

/* The first of the text attributes present, expanded (caller frees) or NULL. */
static char *first_text(rctx *rc, json_t *comp, const char *a, const char *b, const char *c)
{
	const char *keys[] = { a, b, c };
	for (int i = 0; i < 3; i++) {
		char *t = keys[i] ? rc_attr_text(rc, comp, keys[i]) : NULL;
		if (t && *t)
			return t;
		free(t);
	}
	return NULL;
}

/* Whether the screen a route shows runs a flow that takes param (else a link must not send it). */
static int route_takes(rctx *rc, const char *route_id, const char *param)
{
	const rt_route *r = rc->ed ? edition_route_by_id(rc->ed, route_id) : NULL;
	json_t *screen = r && r->screen ? edition_screen(rc->ed, r->screen) : NULL;
	const char *flow = json_string_value(json_object_get(screen, "flow"));
	json_t *spec = flow ? json_object_get(rc->ed->flow_specs, flow) : NULL;
	json_t *p;
	size_t i;
	json_array_foreach(json_object_get(spec, "params"), i, p) {
		const char *id = json_string_value(json_object_get(p, "id"));
		if (id && strcmp(id, param) == 0)
			return 1;
	}
	return 0;
}

/*
 * href of a row's route plus "?<param>=<row id>" (param: the component's
 * `param`, default "id") when the route's screen flow takes that param.
 * Caller frees.
 */
static char *item_href(rctx *rc, json_t *comp, json_t *item)
{
	char *base = rc_route_href(rc, rc_attr(comp, "to"));
	const char *param = rc_attr(comp, "param") ? rc_attr(comp, "param") : "id";
	if (!base || !item || !route_takes(rc, rc_attr(comp, "to"), param))
		return base;
	static const char *const id_keys[] = { "id", NULL };
	char *id = ri_field(item, id_keys);
	if (!id)
		return base;
	char *esc = (char *)xmlURIEscapeStr(BAD_CAST id, BAD_CAST "");
	strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s?%s=%s", base, param, esc ? esc : "");
	xmlFree(esc);
	free(id);
	free(base);
	return strbuf_detach(&sb, NULL);
}

static char *item_money(rctx *rc, json_t *item, const char *key)
{
	int found;
	long long v = ri_int(item, key, &found);
	if (!found)
		return NULL;
	const char *ccy = json_string_value(json_object_get(item, "currency"));
	return rb_money(v, ccy, rc->locale);
}

/* A span with an item's formatted money field; returns the span or NULL. */
static xmlNodePtr money_span(rctx *rc, xmlNodePtr parent, json_t *item, const char *key, const char *cls)
{
	char *m = item_money(rc, item, key);
	xmlNodePtr n = m ? rn_text(parent, "span", cls, m) : NULL;
	free(m);
	return n;
}

static void field_span(xmlNodePtr parent, json_t *item, const char *const *keys, const char *cls)
{
	char *t = ri_field(item, keys);
	if (t && *t)
		rn_text(parent, "span", cls, t);
	free(t);
}

/* The icon of a tile, banner or zone: a round badge holding the label's first character. */
static void icon_badge(xmlNodePtr parent, const char *icon, const char *label)
{
	xmlNodePtr badge = rn_el(parent, "span", "c-icon");
	rn_attr(badge, "aria-hidden", "true");
	rn_attr(badge, "data-icon", icon);
	if (!label)
		return;
	int len = 4;
	int c = xmlGetUTF8Char((const unsigned char *)label, &len);
	if (c > 0 && len > 0) {
		char first[8] = { 0 };
		memcpy(first, label, (size_t)len);
		rn_add_text(badge, first);
	}
}

/* --- text and navigation -------------------------------------------------- */

static void c_heading(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	json_int_t level = json_integer_value(json_object_get(comp, "level"));
	const char *tag = level >= 3 ? "h4" : level == 2 ? "h3" : "h2";
	char *t = first_text(rc, comp, "text", "title", "label");
	rn_text(parent, tag, "c-heading", t);
	free(t);
}

/* A paragraph; `value` adds a bound value after the text; `tone` muted or emphasis. */
static void c_text(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	const char *tone = rc_attr(comp, "tone");
	char cls[48];
	snprintf(cls, sizeof cls, "c-text c-text-%.20s", tone ? tone : "normal");
	char *t = first_text(rc, comp, "text", "body", NULL);
	char *v = rc_attr_text(rc, comp, "value");
	xmlNodePtr p = rn_el(parent, "p", cls);
	if (v && *v) {
		rn_text(p, "span", "c-text-label", t);
		rn_text(p, "strong", "c-text-value", v);
	} else {
		rn_add_text(p, t);
	}
	free(t);
	free(v);
}

static void c_notice(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	const char *level = rc_attr(comp, "level") ? rc_attr(comp, "level") : rc_attr(comp, "kind");
	char cls[64];
	snprintf(cls, sizeof cls, "c-notice c-notice-%.20s", level ? level : "info");
	xmlNodePtr n = rn_el(parent, "div", cls);
	rn_attr(n, "role", level && strcmp(level, "error") == 0 ? "alert" : "note");
	attr_text(rc, n, comp, "title", "strong", "c-notice-title");
	char *t = first_text(rc, comp, "text", "body", NULL);
	rn_text(n, "p", "c-notice-text", t);
	free(t);
}

static void c_banner(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	char *href = rc_route_href(rc, rc_attr(comp, "to"));
	xmlNodePtr n = root(parent, href ? "a" : "section", "banner");
	rn_attr(n, "href", href);
	free(href);
	if (rc_attr(comp, "icon")) {
		char *t = rc_attr_text(rc, comp, "title");
		icon_badge(n, rc_attr(comp, "icon"), t);
		free(t);
	}
	attr_text(rc, n, comp, "title", "strong", "c-banner-title");
	attr_text(rc, n, comp, "text", "span", "c-banner-text");
	attr_text(rc, n, comp, "body", "span", "c-banner-text");
	attr_text(rc, n, comp, "caption", "span", "c-banner-caption");
}

static void c_button(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	char *t = first_text(rc, comp, "label", "text", "title");
	const char *kind = rc_attr(comp, "style") ? rc_attr(comp, "style") : rc_attr(comp, "kind");
	char cls[80];
	snprintf(cls, sizeof cls, "c-button c-button-%.20s", kind ? kind : "primary");
	if (rc_attr(comp, "action")) {
		char *href = rc_route_href(rc, rc_attr(comp, "action"));
		xmlNodePtr f = rn_form(rc, parent, href, "c-button-form", NULL);
		rn_button(f, cls, t);
		free(href);
	} else {
		char *href = rc_route_href(rc, rc_attr(comp, "to"));
		rn_link(parent, href, cls, t);
		free(href);
	}
	free(t);
}

static void c_link(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	char *t = first_text(rc, comp, "label", "text", "title");
	char *href = rc_route_href(rc, rc_attr(comp, "to"));
	rn_link(parent, href, "c-link", t);
	free(href);
	free(t);
}

static void c_tile_grid(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	attr_text(rc, parent, comp, "title", "h2", "c-heading");
	xmlNodePtr n = root(parent, "nav", "tile_grid");
	json_int_t cols = json_integer_value(json_object_get(comp, "columns"));
	if (cols >= 2 && cols <= 4) {
		char cls[48];
		snprintf(cls, sizeof cls, "c-tile_grid c-cols-%d", (int)cols);
		rn_attr(n, "class", cls);
	}
	render_children(rc, n, comp);
}

static void c_tile(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	char *href = rc_route_href(rc, rc_attr(comp, "to"));
	xmlNodePtr n = root(parent, "a", "tile");
	rn_attr(n, "href", href ? href : "#");
	free(href);
	char *t = first_text(rc, comp, "label", "title", "text");
	icon_badge(n, rc_attr(comp, "icon"), t);
	rn_text(n, "span", "c-tile-title", t);
	free(t);
	attr_text(rc, n, comp, "hint", "span", "c-tile-caption");
	attr_text(rc, n, comp, "caption", "span", "c-tile-caption");
	attr_text(rc, n, comp, "badge", "span", "c-badge c-tile-badge");
}

static void c_divider(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	json_t *space = json_object_get(comp, "space");
	xmlNodePtr hr = root(parent, "hr", "divider");
	if (json_is_integer(space)) {     /* 0..32 px, in steps of 8 */
		char cls[48];
		snprintf(cls, sizeof cls, "c-divider c-space-%d", (int)(json_integer_value(space) / 8 % 5));
		rn_attr(hr, "class", cls);
	}
}

static void c_zone(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	xmlNodePtr n = root(parent, "section", "zone");
	char *t = first_text(rc, comp, "title", "label", NULL);
	if (rc_attr(comp, "icon"))
		icon_badge(n, rc_attr(comp, "icon"), t);
	char *href = rc_route_href(rc, rc_attr(comp, "to"));
	if (t && href)
		rn_link(rn_el(n, "h2", "c-zone-title"), href, NULL, t);
	else if (t)
		rn_text(n, "h2", "c-zone-title", t);
	free(href);
	free(t);
	attr_text(rc, n, comp, "text", "p", "c-zone-text");
	attr_text(rc, n, comp, "caption", "p", "c-muted");
	render_children(rc, n, comp);
}

/* --- money and lists ------------------------------------------------------ */

static void c_balance_card(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	xmlNodePtr n = root(parent, "section", "balance_card");
	char *t = first_text(rc, comp, "title", "label", NULL);
	rn_text(n, "p", "c-balance-card-title", t);
	free(t);
	attr_text(rc, n, comp, "value", "p", "c-balance-card-value");
	attr_text(rc, n, comp, "account", "p", "c-balance-card-account");
	attr_text(rc, n, comp, "caption", "p", "c-muted");
	char *href = rc_route_href(rc, rc_attr(comp, "to"));
	if (href) {
		char *lt = first_text(rc, comp, "text", NULL, NULL);
		rn_link(n, href, "c-link", lt ? lt : rc_string(rc, "ui.more", "›"));
		free(lt);
	}
	free(href);
}

static xmlNodePtr list_root(rctx *rc, xmlNodePtr parent, json_t *comp, const char *component)
{
	attr_text(rc, parent, comp, "title", "h2", "c-heading");
	xmlNodePtr ul = root(parent, "ul", component);
	return ul;
}

/* A row: an <li> holding a link when the component has `to`, else the <li> itself. */
static xmlNodePtr list_row(rctx *rc, xmlNodePtr ul, json_t *comp, json_t *item)
{
	xmlNodePtr li = rn_el(ul, "li", "c-row");
	char *href = item_href(rc, comp, item);
	xmlNodePtr inner = li;
	if (href) {
		inner = rn_el(li, "a", "c-row-link");
		rn_attr(inner, "href", href);
	}
	free(href);
	return inner;
}

static void empty_row(rctx *rc, xmlNodePtr ul, json_t *comp)
{
	char *t = rc_attr_text(rc, comp, "empty");
	rn_text(ul, "li", "c-row c-empty", t && *t ? t : "—");
	free(t);
}

static void c_account_list(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	static const char *const name_keys[] = { "name", "kind", NULL };
	static const char *const num_keys[] = { "number", "account_number", NULL };
	xmlNodePtr ul = list_root(rc, parent, comp, "account_list");
	json_t *items = rc_items(rc, comp), *it;
	size_t i;
	json_array_foreach(items, i, it) {
		if (i >= RENDER_MAX_ITEMS)
			break;
		xmlNodePtr row = list_row(rc, ul, comp, it);
		xmlNodePtr left = rn_el(row, "span", "c-row-main");
		field_span(left, it, name_keys, "c-row-title");
		char *num = ri_field(it, num_keys);
		if (num) {
			char *masked = rb_format(json_object_get(it, num_keys[json_object_get(it, "number") ? 0 : 1]),
						 "mask", rc->locale, NULL);
			rn_text(left, "span", "c-row-caption", masked);
			free(masked);
		}
		free(num);
		money_span(rc, row, it, "balance", "c-row-value c-money");
	}
	if (!json_array_size(items))
		empty_row(rc, ul, comp);
}

static void c_transaction_list(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	static const char *const who_keys[] = { "counterparty", "memo", "title", "name", NULL };
	static const char *const memo_keys[] = { "memo", NULL };
	xmlNodePtr ul = list_root(rc, parent, comp, "transaction_list");
	json_t *items = rc_items(rc, comp), *it;
	size_t i;
	json_array_foreach(items, i, it) {
		if (i >= RENDER_MAX_ITEMS)
			break;
		xmlNodePtr row = list_row(rc, ul, comp, it);
		xmlNodePtr left = rn_el(row, "span", "c-row-main");
		field_span(left, it, who_keys, "c-row-title");
		if (json_object_get(it, "counterparty"))
			field_span(left, it, memo_keys, "c-row-caption");
		json_t *at = json_object_get(it, "at") ? json_object_get(it, "at") : json_object_get(it, "date");
		char *when = rb_format(at, "date", rc->locale, NULL);
		if (*when)
			rn_text(left, "time", "c-row-caption", when);
		free(when);
		int found;
		long long amount = ri_int(it, "amount", &found);
		xmlNodePtr right = rn_el(row, "span", "c-row-side");
		money_span(rc, right, it, "amount", found && amount < 0 ? "c-row-value c-money c-neg"
									   : "c-row-value c-money c-pos");
		money_span(rc, right, it, "balance_after", "c-row-caption c-money");
	}
	if (!json_array_size(items))
		empty_row(rc, ul, comp);
}

/*
 * A list with children draws each row with them, their bindings reading the
 * row's fields first and the screen's data after (`${name}` is the row's
 * name; `${item}` the row itself).
 */
static void list_template_row(rctx *rc, xmlNodePtr row, json_t *comp, json_t *item)
{
	json_t *scope = json_object();
	if (json_is_object(rc->data))
		json_object_update(scope, rc->data);
	if (json_is_object(item))
		json_object_update(scope, item);
	json_object_set(scope, "item", item);
	json_t *saved = rc->data;
	rc->data = scope;
	render_children(rc, row, comp);
	rc->data = saved;
	json_decref(scope);
}

static void c_list(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	static const char *const cap_keys[] = { "caption", "description", "memo", "date", NULL };
	static const char *const val_keys[] = { "value", "status", NULL };
	xmlNodePtr ul = list_root(rc, parent, comp, "list");
	json_t *items = rc_items(rc, comp), *it;
	int templated = json_array_size(json_object_get(comp, "children")) > 0;
	size_t i;
	json_array_foreach(items, i, it) {
		if (i >= RENDER_MAX_ITEMS)
			break;
		xmlNodePtr row = list_row(rc, ul, comp, it);
		if (templated) {
			list_template_row(rc, row, comp, it);
			continue;
		}
		if (!json_is_object(it)) {
			char *t = rb_format(it, NULL, rc->locale, NULL);
			rn_text(row, "span", "c-row-title", t);
			free(t);
			continue;
		}
		xmlNodePtr left = rn_el(row, "span", "c-row-main");
		field_span(left, it, NAME_KEYS, "c-row-title");
		field_span(left, it, cap_keys, "c-row-caption");
		if (!money_span(rc, row, it, "amount", "c-row-value c-money"))
			field_span(row, it, val_keys, "c-row-value");
	}
	if (!json_object_get(comp, "items"))
		render_children(rc, parent, comp);
	else if (!json_array_size(items))
		empty_row(rc, ul, comp);
}

static void kv_row(xmlNodePtr dl, const char *label, const char *value)
{
	xmlNodePtr row = rn_el(dl, "div", "c-kv-row");
	rn_text(row, "dt", NULL, label);
	rn_text(row, "dd", NULL, value);
}

static void c_kv(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	attr_text(rc, parent, comp, "title", "h2", "c-heading");
	xmlNodePtr dl = root(parent, "dl", "kv");
	char *label = rc_attr_text(rc, comp, "label");
	char *value = rc_attr_text(rc, comp, "value");
	if (label || value)
		kv_row(dl, label, value);
	free(label);
	free(value);
	json_t *rows = json_object_get(comp, "children");
	if (!json_is_array(rows))
		rows = json_object_get(comp, "rows");
	json_t *r;
	size_t i;
	json_array_foreach(rows, i, r) {
		char *l = rc_attr_text(rc, r, "label"), *v = rc_attr_text(rc, r, "value");
		kv_row(dl, l, v);
		free(l);
		free(v);
	}
	json_t *items = rc_items(rc, comp);
	json_array_foreach(items, i, r) {
		static const char *const lk[] = { "label", "name", NULL }, *const vk[] = { "value", NULL };
		char *l = ri_field(r, lk), *v = ri_field(r, vk);
		kv_row(dl, l, v);
		free(l);
		free(v);
	}
}

/* A statement the customer ticks before submitting: a required checkbox. */
static void c_confirm(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	const char *name = rc_attr(comp, "name");
	xmlNodePtr l = root(parent, "label", "confirm");
	xmlNodePtr box = rn_el(l, "input", "c-checkbox");
	rn_attr(box, "type", "checkbox");
	rn_attr(box, "name", name);
	rn_attr(box, "value", "true");
	rn_attr(box, "required", "required");
	json_t *fv = rc->pg && name ? json_object_get(rc->pg->form_values, name) : NULL;
	if (fv && !json_is_false(fv) && !json_is_null(fv))
		rn_attr(box, "checked", "checked");
	char *t = first_text(rc, comp, "text", "label", NULL);
	rn_text(l, "span", "c-confirm-text", t);
	free(t);
}

/* --- products and private banking ------------------------------------------ */

static void product_body(rctx *rc, xmlNodePtr n, json_t *p)
{
	static const char *const desc_keys[] = { "description", "summary", "caption", NULL };
	static const char *const term_keys[] = { "term", "term_days", "term_months", NULL };
	field_span(n, p, NAME_KEYS, "c-product-name");
	field_span(n, p, desc_keys, "c-product-desc");
	json_t *rate = json_object_get(p, "rate_bp");
	if (!rate)
		rate = json_object_get(p, "expected_return_bp");
	if (rate) {
		char *t = rb_format(rate, "percent", rc->locale, NULL);
		rn_text(n, "span", "c-product-rate", t);
		free(t);
	}
	field_span(n, p, term_keys, "c-product-term");
	money_span(rc, n, p, "min_amount", "c-product-min c-money");
	static const char *const risk_keys[] = { "risk_level", "risk", NULL };
	field_span(n, p, risk_keys, "c-product-risk");
}

static void c_product_list(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	xmlNodePtr ul = list_root(rc, parent, comp, "product_list");
	json_t *items = rc_items(rc, comp), *it;
	if (!items && rc->ed && !json_object_get(comp, "items"))
		items = rc->ed->products;
	const char *kind = rc_attr(comp, "kind");
	if (kind && strcmp(kind, "all") == 0)
		kind = NULL;
	size_t i, shown = 0;
	json_array_foreach(items, i, it) {
		const char *k = json_string_value(json_object_get(it, "kind"));
		if (kind && (!k || strcmp(k, kind) != 0))
			continue;
		if (shown++ >= RENDER_MAX_ITEMS)
			break;
		xmlNodePtr row = list_row(rc, ul, comp, it);
		product_body(rc, rn_el(row, "span", "c-product"), it);
	}
	if (!shown)
		empty_row(rc, ul, comp);
}

static json_t *find_product(rctx *rc, const char *id)
{
	json_t *p;
	size_t i;
	if (!rc->ed || !id)
		return NULL;
	json_array_foreach(rc->ed->products, i, p) {
		const char *pid = json_string_value(json_object_get(p, "id"));
		if (pid && strcmp(pid, id) == 0)
			return p;
	}
	return NULL;
}

static void c_product_card(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	json_t *p = rb_value(rc->data, rc_attr(comp, "value") ? rc_attr(comp, "value") : rc_attr(comp, "bind"));
	if (!json_is_object(p))
		p = find_product(rc, rc_attr(comp, "product"));
	xmlNodePtr n = root(parent, "section", "product_card");
	attr_text(rc, n, comp, "title", "h2", "c-heading");
	if (json_is_object(p))
		product_body(rc, n, p);
	attr_text(rc, n, comp, "text", "p", "c-text");
	char *href = item_href(rc, comp, p);
	if (href) {
		char *t = first_text(rc, comp, "label", "caption", NULL);
		rn_link(n, href, "c-button c-button-primary", t ? t : rc_string(rc, "ui.submit", NULL));
		free(t);
	}
	free(href);
}

static void c_risk_disclosure(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	xmlNodePtr n = root(parent, "aside", "risk_disclosure");
	rn_attr(n, "role", "note");
	attr_text(rc, n, comp, "title", "strong", "c-risk-title");
	json_t *level = json_object_get(comp, "level");
	if (json_is_integer(level)) {
		char r[24];
		snprintf(r, sizeof r, "R%d", (int)json_integer_value(level));
		rn_text(n, "span", "c-badge c-risk-level", r);
	}
	char *t = first_text(rc, comp, "text", "body", NULL);
	rn_text(n, "p", "c-text", t);
	free(t);
}

static void c_call_button(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	char *phone = rc_attr_text(rc, comp, "phone");
	if (!phone || !*phone) {
		free(phone);
		json_t *contact = rc->ed ? json_object_get(rc->ed->meta, "contact") : NULL;
		const char *p = json_string_value(json_object_get(contact, "phone"));
		phone = xstrdup(p ? p : "95561");
	}
	strbuf href = STRBUF_INIT;
	strbuf_adds(&href, "tel:");
	for (const char *s = phone; *s; s++)
		if ((*s >= '0' && *s <= '9') || *s == '+')
			strbuf_addc(&href, *s);
	char *t = first_text(rc, comp, "label", "text", "title");
	xmlNodePtr a = rn_el(parent, "a", "c-call_button c-button c-button-primary");
	rn_attr(a, "href", href.buf);
	rn_text(a, "span", "c-call-label", t ? t : rc_string(rc, "ui.call", NULL));
	rn_text(a, "span", "c-call-number", phone);
	free(t);
	free(phone);
	strbuf_release(&href);
}

static void c_manager_card(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	static const char *const nk[] = { "name", NULL }, *const tk[] = { "title", NULL };
	static const char *const pk[] = { "phone", NULL };
	json_t *m = rb_value(rc->data, rc_attr(comp, "value") ? rc_attr(comp, "value") : rc_attr(comp, "bind"));
	xmlNodePtr n = root(parent, "section", "manager_card");
	char *t = first_text(rc, comp, "title", "label", NULL);
	rn_text(n, "h2", "c-heading", t);
	free(t);
	field_span(n, m, nk, "c-manager-name");
	field_span(n, m, tk, "c-manager-title");
	char *phone = ri_field(m, pk);
	if (phone && *phone) {
		strbuf href = STRBUF_INIT;
		strbuf_adds(&href, "tel:");
		for (const char *s = phone; *s; s++)
			if ((*s >= '0' && *s <= '9') || *s == '+')
				strbuf_addc(&href, *s);
		rn_link(n, href.buf, "c-button c-button-secondary", phone);
		strbuf_release(&href);
	}
	free(phone);
	char *more = rc_route_href(rc, rc_attr(comp, "to"));
	if (more)
		rn_link(n, more, "c-link", rc_string(rc, "ui.more", "›"));
	free(more);
}

static void c_benefit_list(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	xmlNodePtr ul = list_root(rc, parent, comp, "benefit_list");
	json_t *items = rc_items(rc, comp), *it;
	size_t i;
	json_array_foreach(items, i, it) {
		if (i >= RENDER_MAX_ITEMS)
			break;
		xmlNodePtr row = list_row(rc, ul, comp, it);
		field_span(rn_el(row, "span", "c-row-main"), it, NAME_KEYS, "c-row-title");
		int has_used, has_quota;
		long long used = ri_int(it, "used", &has_used), quota = ri_int(it, "quota", &has_quota);
		if (has_quota) {
			char t[64];
			snprintf(t, sizeof t, "%lld / %lld", has_used ? used : 0, quota);
			rn_text(row, "span", "c-row-value", t);
		}
	}
	if (!json_array_size(items))
		empty_row(rc, ul, comp);
}

static void c_recommendations(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	static const char *const why_keys[] = { "reason", "description", "caption", NULL };
	xmlNodePtr n = root(parent, "section", "recommendations");
	attr_text(rc, n, comp, "title", "h2", "c-heading");
	xmlNodePtr ul = rn_el(n, "ul", "c-list");
	json_t *items = rc_items(rc, comp), *it;
	size_t i;
	json_int_t max = json_integer_value(json_object_get(comp, "max"));
	if (max <= 0 || max > 20)
		max = 20;
	json_array_foreach(items, i, it) {
		if ((json_int_t)i >= max)
			break;
		xmlNodePtr row = list_row(rc, ul, comp, it);
		xmlNodePtr left = rn_el(row, "span", "c-row-main");
		field_span(left, it, NAME_KEYS, "c-row-title");
		field_span(left, it, why_keys, "c-row-caption");
		json_t *rate = json_object_get(it, "rate_bp");
		if (rate) {
			char *t = rb_format(rate, "percent", rc->locale, NULL);
			rn_text(row, "span", "c-row-value", t);
			free(t);
		}
	}
}

/* --- calendar and pager --------------------------------------------------- */

static void c_calendar(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	static const char *const kind_keys[] = { "kind", NULL };
	xmlNodePtr ol = list_root(rc, parent, comp, "calendar");
	json_t *items = rc_items(rc, comp), *it;
	size_t i;
	json_array_foreach(items, i, it) {
		if (i >= RENDER_MAX_ITEMS)
			break;
		xmlNodePtr row = list_row(rc, ol, comp, it);
		json_t *date = json_object_get(it, "date");
		char *d = rb_format(date, "date", rc->locale, NULL);
		xmlNodePtr t = rn_text(row, "time", "c-calendar-date", d);
		rn_attr(t, "datetime", json_string_value(date));
		free(d);
		xmlNodePtr mid = rn_el(row, "span", "c-row-main");
		char *kind = ri_field(it, kind_keys);
		if (kind) {
			char key[64], cls[64];
			snprintf(key, sizeof key, "calendar.%.40s", kind);
			snprintf(cls, sizeof cls, "c-badge c-badge-%.40s", kind);
			rn_text(mid, "span", cls, rc_string(rc, key, kind));
		}
		free(kind);
		field_span(mid, it, NAME_KEYS, "c-row-title");
		money_span(rc, row, it, "amount", "c-row-value c-money");
	}
	if (!json_array_size(items))
		empty_row(rc, ol, comp);
}

/* A number from a binding attribute (`page: "${pager.page}"`), or from obj's field. */
static long long pager_number(rctx *rc, json_t *comp, json_t *state, const char *key, int *found)
{
	const char *expr = rc_attr(comp, key);
	json_t *v = expr ? rb_value(rc->data, expr) : json_object_get(state, key);
	long long x = 0;
	*found = 0;
	if (json_is_integer(v)) {
		x = json_integer_value(v);
		*found = 1;
	} else if (json_is_string(v)) {
		char *end;
		x = strtoll(json_string_value(v), &end, 10);
		*found = end != json_string_value(v) && !*end;
	}
	return x;
}

/* base + "?" + the request's query without its page params + "page=N". */
static char *pager_href(rctx *rc, const char *base, long long page)
{
	strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s?", base ? base : "");
	const char *q = rc->pg ? rc->pg->query : NULL;
	while (q && *q) {
		const char *amp = strchr(q, '&');
		size_t n = amp ? (size_t)(amp - q) : strlen(q);
		if (n && strncmp(q, "page=", 5) != 0 && !(n == 4 && strncmp(q, "page", 4) == 0)) {
			char *piece = xstrndup(q, n);
			xmlChar *esc = xmlURIEscapeStr(BAD_CAST piece, BAD_CAST "=%+-_.~");
			strbuf_addf(&sb, "%s&", esc ? (const char *)esc : "");
			xmlFree(esc);
			free(piece);
		}
		q = amp ? amp + 1 : NULL;
	}
	strbuf_addf(&sb, "page=%lld", page);
	return strbuf_detach(&sb, NULL);
}

static void c_pager(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	json_t *state = rb_value(rc->data, rc_attr(comp, "bind"));
	int f1, f2;
	long long page = pager_number(rc, comp, state, "page", &f1);
	long long pages = pager_number(rc, comp, state, "pages", &f2);
	if (!f1 || page < 1)
		page = 1;
	char *base = rc_route_href(rc, rc_attr(comp, "to"));
	xmlNodePtr nav = root(parent, "nav", "pager");
	if (page > 1) {
		char *href = pager_href(rc, base, page - 1);
		rn_attr(rn_link(nav, href, "c-pager-prev", rc_string(rc, "ui.prev", NULL)), "rel", "prev");
		free(href);
	}
	char label[48];
	if (f2 && pages > 0)
		snprintf(label, sizeof label, "%lld / %lld", page, pages);
	else
		snprintf(label, sizeof label, "%lld", page);
	rn_text(nav, "span", "c-pager-state", label);
	if (f2 && page < pages) {
		char *href = pager_href(rc, base, page + 1);
		rn_attr(rn_link(nav, href, "c-pager-next", rc_string(rc, "ui.next", NULL)), "rel", "next");
		free(href);
	}
	free(base);
}

static void c_identity_switch(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	xmlNodePtr n = root(parent, "section", "identity_switch");
	char *t = first_text(rc, comp, "label", "title", NULL);
	rn_text(n, "h2", "c-heading", t);
	free(t);
	render_identity_forms(rc, n);
}

static void c_unknown(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	xmlNodePtr n = rn_el(parent, "div", "c-unknown");
	rn_attr(n, "hidden", "hidden");
	rn_attr(n, "data-component", rc_attr(comp, "component"));
}

/* --- dispatch ------------------------------------------------------------- */

static const struct { const char *name; component_fn fn; } components[] = {
	{ "account_list", c_account_list },
	{ "amount_input", NULL },
	{ "approval_list", render_approval_list },
	{ "balance_card", c_balance_card },
	{ "banner", c_banner },
	{ "benefit_list", c_benefit_list },
	{ "button", c_button },
	{ "calendar", c_calendar },
	{ "call_button", c_call_button },
	{ "chart", render_chart },
	{ "confirm", c_confirm },
	{ "divider", c_divider },
	{ "form", render_form_component },
	{ "heading", c_heading },
	{ "identity_switch", c_identity_switch },
	{ "input", NULL },
	{ "kv", c_kv },
	{ "link", c_link },
	{ "list", c_list },
	{ "manager_card", c_manager_card },
	{ "notice", c_notice },
	{ "pager", c_pager },
	{ "payee_picker", NULL },
	{ "product_card", c_product_card },
	{ "product_list", c_product_list },
	{ "recommendations", c_recommendations },
	{ "risk_disclosure", c_risk_disclosure },
	{ "select", NULL },
	{ "text", c_text },
	{ "tile", c_tile },
	{ "tile_grid", c_tile_grid },
	{ "transaction_list", c_transaction_list },
	{ "zone", c_zone },
};

/* A component gated by `feature: name` shows only when the edition turns it on. */
static int feature_off(rctx *rc, json_t *comp)
{
	const char *f = rc_attr(comp, "feature");
	if (!f || !rc->ed)
		return 0;
	json_t *v = json_object_get(json_object_get(rc->ed->meta, "features"), f);
	return !json_is_true(v);
}

void render_component(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	if (!json_is_object(comp) || rc->depth >= RENDER_MAX_DEPTH || feature_off(rc, comp))
		return;
	const char *name = rc_attr(comp, "component");
	size_t n = sizeof components / sizeof components[0];
	size_t lo = 0, hi = n;
	while (name && lo < hi) {          /* the table is sorted by name */
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, components[mid].name);
		if (c == 0) {
			rc->depth++;
			if (components[mid].fn)
				components[mid].fn(rc, parent, comp);
			else
				render_field_component(rc, parent, comp, name);
			rc->depth--;
			return;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	c_unknown(rc, parent, comp);
}

void render_children(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	json_t *kids = json_object_get(comp, "children"), *k;
	size_t i;
	json_array_foreach(kids, i, k)
		render_component(rc, parent, k);
}
