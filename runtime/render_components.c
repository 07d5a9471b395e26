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

/* href of a route id plus "?<param>=<value>" when value is given. Caller frees. */
static char *item_href(rctx *rc, json_t *comp, json_t *item)
{
	char *base = rc_route_href(rc, rc_attr(comp, "to"));
	if (!base || !item)
		return base;
	const char *param = rc_attr(comp, "param") ? rc_attr(comp, "param") : "id";
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

/* --- text and navigation -------------------------------------------------- */

static void c_heading(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	json_int_t level = json_integer_value(json_object_get(comp, "level"));
	const char *tag = level >= 3 ? "h4" : level == 2 ? "h3" : "h2";
	char *t = first_text(rc, comp, "text", "title", "label");
	rn_text(parent, tag, "c-heading", t);
	free(t);
}

static void c_text(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	char *t = first_text(rc, comp, "text", "body", "value");
	rn_text(parent, "p", "c-text", t);
	free(t);
}

static void c_notice(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	const char *kind = rc_attr(comp, "kind");
	char cls[64];
	snprintf(cls, sizeof cls, "c-notice c-notice-%.20s", kind ? kind : "info");
	char *t = first_text(rc, comp, "text", "body", "title");
	rn_attr(rn_text(parent, "div", cls, t), "role", "note");
	free(t);
}

static void c_banner(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	char *href = rc_route_href(rc, rc_attr(comp, "to"));
	xmlNodePtr n = root(parent, href ? "a" : "section", "banner");
	rn_attr(n, "href", href);
	free(href);
	attr_text(rc, n, comp, "title", "strong", "c-banner-title");
	attr_text(rc, n, comp, "text", "span", "c-banner-text");
	attr_text(rc, n, comp, "body", "span", "c-banner-text");
	attr_text(rc, n, comp, "caption", "span", "c-banner-caption");
}

static void c_button(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	char *t = first_text(rc, comp, "text", "label", "title");
	const char *kind = rc_attr(comp, "kind");
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
	char *t = first_text(rc, comp, "text", "label", "title");
	char *href = rc_route_href(rc, rc_attr(comp, "to"));
	rn_link(parent, href, "c-link", t);
	free(href);
	free(t);
}

static void c_tile_grid(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	attr_text(rc, parent, comp, "title", "h2", "c-heading");
	xmlNodePtr n = root(parent, "nav", "tile_grid");
	render_children(rc, n, comp);
}

static void c_tile(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	char *href = rc_route_href(rc, rc_attr(comp, "to"));
	xmlNodePtr n = root(parent, "a", "tile");
	rn_attr(n, "href", href ? href : "#");
	free(href);
	char *t = first_text(rc, comp, "title", "text", "label");
	const char *icon = rc_attr(comp, "icon");
	xmlNodePtr badge = rn_el(n, "span", "c-tile-icon");
	rn_attr(badge, "aria-hidden", "true");
	if (icon)
		rn_attr(badge, "data-icon", icon);
	if (t) {
		int len = 4;
		int c = xmlGetUTF8Char((const unsigned char *)t, &len);
		if (c > 0 && len > 0) {
			char first[8] = { 0 };
			memcpy(first, t, (size_t)len);
			rn_add_text(badge, first);
		}
	}
	rn_text(n, "span", "c-tile-title", t);
	free(t);
	attr_text(rc, n, comp, "caption", "span", "c-tile-caption");
}

static void c_divider(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	root(parent, "hr", "divider");
}

static void c_zone(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	xmlNodePtr n = root(parent, "section", "zone");
	char *t = first_text(rc, comp, "title", "label", NULL);
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

static void c_list(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	static const char *const cap_keys[] = { "caption", "description", "memo", "date", NULL };
	static const char *const val_keys[] = { "value", "status", NULL };
	xmlNodePtr ul = list_root(rc, parent, comp, "list");
	json_t *items = rc_items(rc, comp), *it;
	size_t i;
	json_array_foreach(items, i, it) {
		if (i >= RENDER_MAX_ITEMS)
			break;
		xmlNodePtr row = list_row(rc, ul, comp, it);
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
	if (!items)
		render_children(rc, parent, comp);
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

/* The confirm component: a summary of a bound object (a flow's result) with a title. */
static void c_confirm(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	xmlNodePtr n = root(parent, "section", "confirm");
	attr_text(rc, n, comp, "title", "h2", "c-heading");
	attr_text(rc, n, comp, "text", "p", "c-text");
	json_t *obj = rb_value(rc->data, rc_attr(comp, "value") ? rc_attr(comp, "value") : rc_attr(comp, "bind"));
	if (!json_is_object(obj))
		return;
	xmlNodePtr dl = rn_el(n, "dl", "c-kv");
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		int money = strcmp(key, "amount") == 0 || strcmp(key, "fee") == 0 || strcmp(key, "balance_after") == 0;
		char *t = rb_format(v, money ? "money" : NULL, rc->locale, NULL);
		kv_row(dl, rc_string(rc, key, key), t);
		free(t);
	}
	render_children(rc, n, comp);
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
	size_t i;
	json_array_foreach(items, i, it) {
		if (i >= RENDER_MAX_ITEMS)
			break;
		xmlNodePtr row = list_row(rc, ul, comp, it);
		product_body(rc, rn_el(row, "span", "c-product"), it);
	}
	if (!json_array_size(items))
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
	json_array_foreach(items, i, it) {
		if (i >= 20)
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

static void c_pager(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	json_t *state = rb_value(rc->data, rc_attr(comp, "bind") ? rc_attr(comp, "bind") : rc_attr(comp, "value"));
	int f1, f2;
	long long page = ri_int(state, "page", &f1), pages = ri_int(state, "pages", &f2);
	if (!f1)
		page = ri_int(rc->data, "page", &f1);
	if (!f2)
		pages = ri_int(rc->data, "pages", &f2);
	if (!f1 || page < 1)
		page = 1;
	xmlNodePtr nav = root(parent, "nav", "pager");
	char href[48], label[48];
	if (page > 1) {
		snprintf(href, sizeof href, "?page=%lld", page - 1);
		rn_attr(rn_link(nav, href, "c-pager-prev", rc_string(rc, "ui.prev", NULL)), "rel", "prev");
	}
	snprintf(label, sizeof label, f2 && pages > 0 ? "%lld / %lld" : "%lld", page, pages);
	rn_text(nav, "span", "c-pager-state", label);
	if (f2 && page < pages) {
		snprintf(href, sizeof href, "?page=%lld", page + 1);
		rn_attr(rn_link(nav, href, "c-pager-next", rc_string(rc, "ui.next", NULL)), "rel", "next");
	}
}

static void c_identity_switch(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	xmlNodePtr n = root(parent, "section", "identity_switch");
	attr_text(rc, n, comp, "title", "h2", "c-heading");
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
