/*
 * render_forms: the components that post: form, input, amount_input, select,
 * payee_picker, approval_list, and the identity switcher of the header bar.
 *
 * Every form posts (method post) to its route's path and carries _csrf and a
 * fresh _idem, so a double submit is recognised by the bank as one request.
 * Every field has a <label for>. After a refused POST the runtime hands back
 * what the customer typed (render_page.form_values) and the fields show it
 * again, so nobody types an amount twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render_internal.h"

/* The value a field shows: what was posted back, else its `value` binding. Caller frees. */
static char *field_value(rctx *rc, json_t *comp, const char *name)
{
	json_t *fv = rc->pg ? rc->pg->form_values : NULL;
	json_t *v = name ? json_object_get(fv, name) : NULL;
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (v && !json_is_null(v))
		return rb_format(v, NULL, rc->locale, NULL);
	return rc_attr_text(rc, comp, "value");
}

/* div.c-field with its label; *id_out receives the input's id (caller frees). */
static xmlNodePtr field_wrap(rctx *rc, xmlNodePtr parent, json_t *comp, const char *kind,
			     const char *name, char **id_out)
{
	char cls[80];
	snprintf(cls, sizeof cls, "c-field c-%.40s", kind);
	xmlNodePtr wrap = rn_el(parent, "div", cls);
	strbuf id = STRBUF_INIT;
	strbuf_addf(&id, "f%d-%s", ++rc->seq, name);
	char *label = rc_attr_text(rc, comp, "label");
	xmlNodePtr l = rn_text(wrap, "label", "c-label", label && *label ? label : name);
	rn_attr(l, "for", id.buf);
	free(label);
	*id_out = strbuf_detach(&id, NULL);
	return wrap;
}

/* The field's hint under it; control (when given) is described by it for screen readers. */
static void field_hint(rctx *rc, xmlNodePtr wrap, json_t *comp, xmlNodePtr control, const char *id)
{
	char *hint = rc_attr_text(rc, comp, "hint");
	if (hint && *hint) {
		xmlNodePtr p = rn_text(wrap, "p", "c-hint", hint);
		if (control && id) {
			strbuf hid = STRBUF_INIT;
			strbuf_addf(&hid, "%s-hint", id);
			rn_attr(p, "id", hid.buf);
			rn_attr(control, "aria-describedby", hid.buf);
			strbuf_release(&hid);
		}
	}
	free(hint);
}

static void common_input_attrs(rctx *rc, xmlNodePtr in, json_t *comp, const char *id, const char *name)
{
	rn_attr(in, "id", id);
	rn_attr(in, "name", name);
	if (json_is_true(json_object_get(comp, "required")))
		rn_attr(in, "required", "required");
	char *ph = rc_attr_text(rc, comp, "placeholder");
	if (ph && *ph)
		rn_attr(in, "placeholder", ph);
	free(ph);
}

static void input_field(rctx *rc, xmlNodePtr parent, json_t *comp, const char *name)
{
	static const char *const types[] = { "text", "password", "tel", "date", "number", "email", NULL };
	char *id;
	xmlNodePtr wrap = field_wrap(rc, parent, comp, "input", name, &id);
	const char *want = rc_attr(comp, "type") ? rc_attr(comp, "type") : rc_attr(comp, "kind");
	const char *type = "text";
	for (int i = 0; want && types[i]; i++)
		if (strcmp(want, types[i]) == 0)
			type = types[i];
	xmlNodePtr in = rn_el(wrap, "input", "c-control");
	rn_attr(in, "type", type);
	common_input_attrs(rc, in, comp, id, name);
	json_int_t max_len = json_integer_value(json_object_get(comp, "max_len"));
	if (max_len > 0) {
		char buf[32];
		snprintf(buf, sizeof buf, "%lld", (long long)max_len);
		rn_attr(in, "maxlength", buf);
	}
	char *v = strcmp(type, "password") ? field_value(rc, comp, name) : NULL;
	rn_attr(in, "value", v && *v ? v : NULL);
	free(v);
	field_hint(rc, wrap, comp, in, id);
	free(id);
}

static void amount_field(rctx *rc, xmlNodePtr parent, json_t *comp, const char *name)
{
	char *id;
	xmlNodePtr wrap = field_wrap(rc, parent, comp, "amount_input", name, &id);
	xmlNodePtr row = rn_el(wrap, "div", "c-amount");
	int english = rc->locale && strncmp(rc->locale, "en", 2) == 0;
	const char *ccy = rc_attr(comp, "currency") ? rc_attr(comp, "currency") : "CNY";
	rn_text(row, "span", "c-amount-currency", !english && strcmp(ccy, "CNY") == 0 ? "¥" : ccy);
	xmlNodePtr in = rn_el(row, "input", "c-control c-control-amount");
	rn_attr(in, "type", "text");
	rn_attr(in, "inputmode", "decimal");
	rn_attr(in, "pattern", "[0-9]+([.][0-9]{1,2})?");
	rn_attr(in, "autocomplete", "off");
	common_input_attrs(rc, in, comp, id, name);
	char *v = field_value(rc, comp, name);
	rn_attr(in, "value", v && *v ? v : NULL);
	free(v);
	field_hint(rc, wrap, comp, in, id);
	free(id);
}

/* The option text of an item: an account shows name, masked number and balance. */
static char *option_text(rctx *rc, json_t *it)
{
	static const char *const name_keys[] = { "label", "name", "title", "text", "value", "id", NULL };
	if (!json_is_object(it))
		return rb_format(it, NULL, rc->locale, NULL);
	strbuf sb = STRBUF_INIT;
	char *name = ri_field(it, name_keys);
	strbuf_adds(&sb, name ? name : "");
	free(name);
	json_t *num = json_object_get(it, "number");
	if (!num)
		num = json_object_get(it, "account_number");
	if (json_is_string(num)) {
		char *m = rb_format(num, "mask", rc->locale, NULL);
		strbuf_addf(&sb, " %s", m);
		free(m);
	}
	int found;
	long long bal = ri_int(it, "balance", &found);
	if (found) {
		char *m = rb_money(bal, json_string_value(json_object_get(it, "currency")), rc->locale);
		strbuf_addf(&sb, " · %s", m);
		free(m);
	}
	return strbuf_detach(&sb, NULL);
}

static char *option_value(json_t *it, const char *name)
{
	static const char *const by_number[] = { "account_number", "number", "id", "value", NULL };
	static const char *const by_id[] = { "value", "id", NULL };
	if (!json_is_object(it))
		return rb_format(it, NULL, NULL, NULL);
	if (name && strcmp(name, "to_account") == 0)
		return ri_field(it, by_number);
	return ri_field(it, by_id);
}

static json_t *options_of(rctx *rc, json_t *comp)
{
	json_t *opts = json_object_get(comp, "options");
	return json_is_array(opts) ? opts : rc_items(rc, comp);
}

/*
 * The text of a fixed choice (`values: [own, icbc]`): the edition's string
 * "option.<field>.<value>", else "option.<value>", else the value itself.
 */
static const char *choice_text(rctx *rc, const char *field, const char *value)
{
	char key[160];
	snprintf(key, sizeof key, "option.%.64s.%.64s", field, value);
	const char *t = rc_string(rc, key, NULL);
	if (t != key && strcmp(t, key) != 0)
		return t;
	snprintf(key, sizeof key, "option.%.64s", value);
	t = rc_string(rc, key, NULL);
	return t != key && strcmp(t, key) != 0 ? t : value;
}

static void select_field(rctx *rc, xmlNodePtr parent, json_t *comp, const char *name)
{
	char *id;
	xmlNodePtr wrap = field_wrap(rc, parent, comp, "select", name, &id);
	xmlNodePtr sel = rn_el(wrap, "select", "c-control");
	common_input_attrs(rc, sel, comp, id, name);
	char *chosen = field_value(rc, comp, name);
	json_t *fixed = json_object_get(comp, "values"), *it;
	size_t i;
	json_array_foreach(fixed, i, it) {
		const char *v = json_string_value(it);
		if (!v)
			continue;
		xmlNodePtr o = rn_text(sel, "option", NULL, choice_text(rc, name, v));
		rn_attr(o, "value", v);
		if (chosen && strcmp(v, chosen) == 0)
			rn_attr(o, "selected", "selected");
	}
	json_t *opts = json_is_array(fixed) ? NULL : options_of(rc, comp);
	json_array_foreach(opts, i, it) {
		if (i >= RENDER_MAX_ITEMS)
			break;
		char *v = option_value(it, name), *t = option_text(rc, it);
		xmlNodePtr o = rn_text(sel, "option", NULL, t);
		rn_attr(o, "value", v ? v : "");
		if (v && chosen && strcmp(v, chosen) == 0)
			rn_attr(o, "selected", "selected");
		free(v);
		free(t);
	}
	free(chosen);
	field_hint(rc, wrap, comp, sel, id);
	free(id);
}

static void payee_field(rctx *rc, xmlNodePtr parent, json_t *comp, const char *name)
{
	static const char *const bank_keys[] = { "bank_name", "bank", NULL };
	xmlNodePtr fs = rn_el(parent, "fieldset", "c-field c-payee_picker");
	char *label = rc_attr_text(rc, comp, "label");
	rn_text(fs, "legend", "c-label", label && *label ? label : name);
	free(label);
	char *chosen = field_value(rc, comp, name);
	json_t *items = options_of(rc, comp), *it;
	size_t i;
	json_array_foreach(items, i, it) {
		if (i >= RENDER_MAX_ITEMS)
			break;
		char *v = option_value(it, name);
		xmlNodePtr l = rn_el(fs, "label", "c-payee");
		xmlNodePtr in = rn_el(l, "input", "c-radio");
		rn_attr(in, "type", "radio");
		rn_attr(in, "name", name);
		rn_attr(in, "value", v ? v : "");
		if ((chosen && v && strcmp(chosen, v) == 0) || ((!chosen || !*chosen) && i == 0))
			rn_attr(in, "checked", "checked");
		if (json_is_true(json_object_get(comp, "required")))
			rn_attr(in, "required", "required");
		char *t = option_text(rc, it);
		rn_text(l, "span", "c-payee-name", t);
		free(t);
		char *bank = ri_field(it, bank_keys);
		if (bank)
			rn_text(l, "span", "c-payee-bank", bank);
		free(bank);
		free(v);
	}
	if (!json_array_size(items))
		rn_text(fs, "p", "c-muted", "—");
	free(chosen);
	field_hint(rc, fs, comp, NULL, NULL);
}

char *render_choice_text(rctx *rc, json_t *field, const char *value)
{
	json_t *fixed = json_object_get(field, "values"), *it;
	const char *name = rc_attr(field, "name");
	size_t i;
	if (json_is_array(fixed))
		return xstrdup(choice_text(rc, name ? name : "", value));
	json_array_foreach(options_of(rc, field), i, it) {
		char *v = option_value(it, name);
		int same = v && strcmp(v, value) == 0;
		free(v);
		if (same)
			return option_text(rc, it);
	}
	return xstrdup(value);
}

void render_field_component(rctx *rc, xmlNodePtr parent, json_t *comp, const char *kind)
{
	const char *name = rc_attr(comp, "name");
	if (!name)
		name = strcmp(kind, "amount_input") == 0 ? "amount" : strcmp(kind, "payee_picker") == 0 ? "payee" : "value";
	if (strcmp(kind, "amount_input") == 0)
		amount_field(rc, parent, comp, name);
	else if (strcmp(kind, "select") == 0)
		select_field(rc, parent, comp, name);
	else if (strcmp(kind, "payee_picker") == 0)
		payee_field(rc, parent, comp, name);
	else
		input_field(rc, parent, comp, name);
}

/* A `button` inside a form without `to` submits that form (its `action`, if any, is the form's). */
static int is_submit(json_t *c)
{
	const char *name = json_string_value(json_object_get(c, "component"));
	return name && strcmp(name, "button") == 0 && !json_object_get(c, "to");
}

void render_form_component(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	char *href = rc_route_href(rc, rc_attr(comp, "action"));
	xmlNodePtr form = rn_form(rc, parent, href, "c-form", NULL);
	free(href);
	const char *id = rc_attr(comp, "id");
	if (id)
		rn_attr(form, "data-id", id);
	char *title = rc_attr_text(rc, comp, "title");
	if (title && *title)
		rn_text(form, "h2", "c-heading", title);
	free(title);
	int has_submit = 0;
	json_t *kids = json_object_get(comp, "children"), *k;
	size_t i;
	json_array_foreach(kids, i, k) {
		if (is_submit(k)) {
			char *t = rc_attr_text(rc, k, "label");
			if (!t || !*t) {
				free(t);
				t = rc_attr_text(rc, k, "text");
			}
			const char *style = rc_attr(k, "style");
			char cls[64];
			snprintf(cls, sizeof cls, "c-button c-button-%.20s", style ? style : "primary");
			rn_button(form, cls, t && *t ? t : rc_string(rc, "ui.submit", NULL));
			free(t);
			has_submit = 1;
		} else {
			render_component(rc, form, k);
		}
	}
	if (!has_submit) {
		char *t = rc_attr_text(rc, comp, "submit");
		rn_button(form, NULL, t && *t ? t : rc_string(rc, "ui.submit", NULL));
		free(t);
	}
}

/* --- approvals ------------------------------------------------------------ */

static void decision_form(rctx *rc, xmlNodePtr parent, json_t *comp, const char *decision,
			  const char *payment_id)
{
	const char *route = rc_attr(comp, decision);   /* `approve`/`reject` route ids ... */
	if (!route)
		route = rc_attr(comp, "action");        /* ... or one route with a decision field */
	char *href = rc_route_href(rc, route);
	char cls[48];
	snprintf(cls, sizeof cls, "c-decision c-decision-%s", decision);
	xmlNodePtr f = rn_form(rc, parent, href, cls, NULL);
	free(href);
	const char *param = rc_attr(comp, "param") ? rc_attr(comp, "param") : "payment_id";
	rn_hidden(f, param, payment_id);
	rn_hidden(f, "decision", decision);
	char key[32];
	snprintf(key, sizeof key, "ui.%s", decision);
	rn_button(f, strcmp(decision, "approve") == 0 ? "c-button c-button-primary" : "c-button c-button-secondary",
		  rc_string(rc, key, NULL));
}

void render_approval_list(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	static const char *const id_keys[] = { "payment_id", "id", NULL };
	static const char *const payee_keys[] = { "payee_name", "to_name", "payee", "beneficiary", "name", NULL };
	static const char *const memo_keys[] = { "memo", "purpose", NULL };
	static const char *const by_keys[] = { "initiator", "created_by", "operator", NULL };
	char *title = rc_attr_text(rc, comp, "title");
	if (title && *title)
		rn_text(parent, "h2", "c-heading", title);
	free(title);
	xmlNodePtr ul = rn_el(parent, "ul", "c-approval_list");
	json_t *items = rc_items(rc, comp), *it;
	size_t i;
	json_array_foreach(items, i, it) {
		if (i >= RENDER_MAX_ITEMS)
			break;
		char *pid = ri_field(it, id_keys);
		xmlNodePtr li = rn_el(ul, "li", "c-approval");
		rn_attr(li, "data-payment", pid);
		xmlNodePtr info = rn_el(li, "div", "c-row");
		xmlNodePtr left = rn_el(info, "span", "c-row-main");
		char *payee = ri_field(it, payee_keys);
		rn_text(left, "span", "c-row-title", payee);
		free(payee);
		char *memo = ri_field(it, memo_keys), *by = ri_field(it, by_keys);
		if (memo && *memo)
			rn_text(left, "span", "c-row-caption", memo);
		if (by && *by)
			rn_text(left, "span", "c-row-caption", by);
		free(memo);
		free(by);
		char *amt = rb_format(json_object_get(it, "amount"), "money", rc->locale,
				      json_string_value(json_object_get(it, "currency")));
		rn_text(info, "span", "c-row-value c-money", amt);
		free(amt);
		xmlNodePtr actions = rn_el(li, "div", "c-actions");
		decision_form(rc, actions, comp, "approve", pid ? pid : "");
		decision_form(rc, actions, comp, "reject", pid ? pid : "");
		free(pid);
	}
	if (!json_array_size(items)) {
		char *t = rc_attr_text(rc, comp, "empty");
		rn_text(ul, "li", "c-row c-empty", t && *t ? t : "—");
		free(t);
	}
}

/* --- identities ----------------------------------------------------------- */

void render_identity_forms(rctx *rc, xmlNodePtr parent)
{
	json_t *ids = rc->pg ? rc->pg->identities : NULL;
	if (json_array_size(ids) < 2)
		return;
	xmlNodePtr f = rn_form(rc, parent, "/switch", "c-switch", NULL);
	rn_attr(f, "aria-label", rc_string(rc, "ui.switch", NULL));
	json_t *it;
	size_t i;
	json_array_foreach(ids, i, it) {
		const char *key = json_string_value(json_object_get(it, "key"));
		const char *name = json_string_value(json_object_get(it, "name"));
		if (!key)
			continue;
		int current = json_is_true(json_object_get(it, "current"));
		int enterprise = strncmp(key, "enterprise", 10) == 0;
		xmlNodePtr b = rn_el(f, "button", current ? "c-chip c-chip-current" : "c-chip");
		rn_attr(b, "type", "submit");
		rn_attr(b, "name", "identity");
		rn_attr(b, "value", key);
		if (current) {
			rn_attr(b, "aria-pressed", "true");
			rn_attr(b, "disabled", "disabled");
		}
		rn_text(b, "span", "c-chip-kind", rc_string(rc, enterprise ? "ui.enterprise" : "ui.personal", NULL));
		if (name && *name)
			rn_text(b, "span", "c-chip-name", name);
	}
}
