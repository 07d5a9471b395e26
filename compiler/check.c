/*
 * check: stage 4, what a resolved edition means.
 *
 * Structure is already settled by validate.c (the XSD); this phase asks whether
 * the pieces fit together in one edition:
 *   - references: route -> screen, flow, then; component to/action -> route;
 *     screen flow/result_of -> flow; products -> catalogue; text attributes ->
 *     the edition's strings; flow script -> flows/<name>.lua;
 *   - uniqueness: route paths; screen, route and flow ids as written;
 *   - bindings `${path | filter}`: syntax, filter, first segment a returned field;
 *   - forms: every input a param of the flow the form's action runs;
 *   - reachability of every screen from `home` (concrete editions only);
 *   - money: flows that move funds confirm, and their routes ask for step_up;
 *   - Lua: every script compiles (messages at the script's own lines).
 *
 * Lookups go through sorted name tables built once per edition, so a large
 * edition costs O(refs log names); "did you mean" runs only on a miss. Values that
 * are not scalars where a name is expected are left to the schema.
 */
#include "check_common.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

/* ---- helpers shared with policy.c ---- */

int check_report(project *p, diag_severity sev, const node *n, const node *fallback,
		 const char *code, const char *fmt, ...)
{
	strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	const node *at = n ? n : fallback;
	src_pos pos = at ? at->pos : (src_pos){ NULL, 0, 0 };
	diag_report(p->diag, sev, pos, code, "%s", sb.buf);
	diag_note_origin(p->diag, at);
	strbuf_release(&sb);
	return sev == DIAG_ERROR;
}

const char *check_id_of(const node *item)
{
	const char *id = node_get_str(item, "id");
	return id ? id : "?";
}

node *check_find_by_id(const node *seq, const char *id)
{
	if (!seq || seq->kind != NODE_SEQ || !id)
		return NULL;
	for (size_t i = 0; i < seq->count; i++) {
		const char *s = node_get_str(seq->items[i], "id");
		if (s && !strcmp(s, id))
			return seq->items[i];
	}
	return NULL;
}

const node *check_catalogue(const project *p)
{
	const node *c = p->products;
	if (c && c->kind == NODE_MAP)
		c = node_get(c, "products");
	return c && c->kind == NODE_SEQ ? c : NULL;
}

const node *check_product_ref(const node *item)
{
	if (item && item->kind == NODE_MAP)
		item = node_get(item, "id");
	return item && item->kind == NODE_SCALAR ? item : NULL;
}

int check_edition_is(const project *p, const edition *e, const char *id)
{
	if (e->id && !strcmp(e->id, id))
		return 1;
	for (size_t i = 1; i < e->chain_len; i++)
		for (size_t j = 0; j < p->n_editions; j++) {
			const edition *b = p->editions[j];
			if (b->path && e->chain[i] && !strcmp(b->path, e->chain[i]) &&
			    b->id && !strcmp(b->id, id))
				return 1;
		}
	return 0;
}

void check_each_component(const node *n, check_component_fn fn, void *arg)
{
	if (!n || n->kind == NODE_SCALAR)
		return;
	if (n->kind == NODE_MAP && node_get(n, "component"))
		fn(n, arg);
	for (size_t i = 0; i < n->count; i++)
		check_each_component(n->items[i], fn, arg);
}

/* ---- name tables ---- */

typedef struct names {
	const char **v;             /* sorted, arena-owned */
	size_t n;
} names;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void names_sort(names *t)
{
	if (t->n)
		qsort(t->v, t->n, sizeof *t->v, cmp_str);
}

/* The `id` of every map item of seq. */
static names names_of_ids(arena *a, const node *seq)
{
	names t = { NULL, 0 };
	if (!seq || seq->kind != NODE_SEQ)
		return t;
	t.v = arena_alloc(a, (seq->count + 1) * sizeof *t.v);
	for (size_t i = 0; i < seq->count; i++) {
		const char *id = node_get_str(seq->items[i], "id");
		if (id)
			t.v[t.n++] = id;
	}
	names_sort(&t);
	return t;
}

static names names_of_keys(arena *a, const node *map)
{
	names t = { NULL, 0 };
	if (!map || map->kind != NODE_MAP)
		return t;
	t.v = arena_alloc(a, (map->count + 1) * sizeof *t.v);
	for (size_t i = 0; i < map->count; i++)
		if (map->keys[i] && map->keys[i]->str)
			t.v[t.n++] = map->keys[i]->str;
	names_sort(&t);
	return t;
}

static names names_of_products(arena *a, const node *catalogue)
{
	names t = { NULL, 0 };
	if (!catalogue)
		return t;
	t.v = arena_alloc(a, (catalogue->count + 1) * sizeof *t.v);
	for (size_t i = 0; i < catalogue->count; i++) {
		const node *id = check_product_ref(catalogue->items[i]);
		if (id)
			t.v[t.n++] = id->str;
	}
	names_sort(&t);
	return t;
}

static names names_of_scripts(arena *a, const project *p)
{
	names t = { arena_alloc(a, (p->n_scripts + 1) * sizeof(char *)), 0 };
	for (size_t i = 0; i < p->n_scripts; i++)
		if (p->scripts[i].name)
			t.v[t.n++] = p->scripts[i].name;
	names_sort(&t);
	return t;
}

static int names_has(const names *t, const char *s)
{
	return t->n && s && bsearch(&s, t->v, t->n, sizeof *t->v, cmp_str) != NULL;
}

/* ---- the context of one edition's check ---- */

/*
 * A list with children draws one row per element of its `items` with them; their
 * bindings read the row's fields first (`${item}` is the row itself). When the
 * returned field declares its `fields`, those are the row's; else any name goes.
 */
#define ROW_DEPTH 8
typedef struct row_ctx {
	const node *fields;         /* the row's declared fields (a sequence), or NULL */
	int any;                    /* fields unknown: every name is accepted */
} row_ctx;

typedef struct check_ctx {
	project *p;
	const edition *e;
	const node *root, *screens, *routes, *flows, *strings;
	const char *locale;
	names routes_n, screens_n, flows_n, strings_n, products_n, scripts_n;
	int errors;
	/* while walking one screen */
	const node *screen;
	const char *screen_id;
	const node *field_flows[2];  /* the screen's flow and result_of flow */
	row_ctx rows[ROW_DEPTH];     /* list row templates around the component walked */
	size_t n_rows;
} check_ctx;

/* Attributes that hold string keys (components.xsd: type text_key) and bindings. */
static const char *const text_keys[] = {
	"title", "text", "label", "hint", "placeholder", "caption", "body", "empty", "submit",
};
static const char *const binding_keys[] = {
	"value", "items", "bind", "series", "badge", "page", "pages",
};
static const char *const filters[] = { "money", "date", "percent", "mask", "code" };

static int in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, list[i]))
			return 1;
	return 0;
}

#define IN_LIST(s, list) in_list((s), (list), sizeof(list) / sizeof((list)[0]))

/*
 * Checks that the scalar val names a member of set; reports
 *   <owner> names unknown <what> '<val>'; did you mean '<x>'?
 * Returns 1 when the name is known or not checkable here (not a scalar).
 */
static int ref_check(check_ctx *c, const node *val, const names *set, const char *code,
		     const char *what, const char *owner)
{
	if (!val || val->kind != NODE_SCALAR || names_has(set, val->str))
		return 1;
	const char *hint = diag_suggest(val->str, set->v, set->n);
	if (hint)
		c->errors += check_report(c->p, DIAG_ERROR, val, NULL, code,
					  "%s names unknown %s '%s'; did you mean '%s'?",
					  owner, what, val->str, hint);
	else
		c->errors += check_report(c->p, DIAG_ERROR, val, NULL, code,
					  "%s names unknown %s '%s'", owner, what, val->str);
	return 0;
}

/* A text attribute: an i18n key of the edition's locale. */
static void string_check(check_ctx *c, const node *val, const char *owner)
{
	if (!c->strings || !val || val->kind != NODE_SCALAR || names_has(&c->strings_n, val->str))
		return;
	const char *hint = diag_suggest(val->str, c->strings_n.v, c->strings_n.n);
	strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s names unknown string '%s' (edition '%s', locale '%s')",
		    owner, val->str, c->e->id, c->locale ? c->locale : "?");
	if (hint)
		strbuf_addf(&sb, "; did you mean '%s'?", hint);
	c->errors += check_report(c->p, DIAG_ERROR, val, NULL, "unknown-string", "%s", sb.buf);
	strbuf_release(&sb);
}

static const char *owner_of(check_ctx *c, const char *kind, const node *item)
{
	return arena_printf(c->p->arena, "%s '%s'", kind, check_id_of(item));
}

/* ---- edition, routes, flows, products ---- */

static void check_duplicate_paths(check_ctx *c)
{
	const node *rs = c->routes;
	for (size_t i = 0; rs && i < rs->count; i++) {
		const node *path = node_get(rs->items[i], "path");
		if (!path || path->kind != NODE_SCALAR)
			continue;
		for (size_t j = 0; j < i; j++) {
			const node *prev = node_get(rs->items[j], "path");
			if (!prev || prev->kind != NODE_SCALAR || strcmp(prev->str, path->str))
				continue;
			const char *a = check_id_of(rs->items[i]), *b = check_id_of(rs->items[j]);
			c->errors += check_report(c->p, DIAG_ERROR, path, NULL, "duplicate-path",
						  "route '%s' has path '%s', already used by route '%s'",
						  a, path->str, b);
			diag_note(c->p->diag, prev->pos, "route '%s' takes the path here", b);
			break;
		}
	}
}

static void check_routes(check_ctx *c)
{
	for (size_t i = 0; c->routes && i < c->routes->count; i++) {
		const node *r = c->routes->items[i];
		const char *owner = owner_of(c, "route", r);
		ref_check(c, node_get(r, "screen"), &c->screens_n, "unknown-screen", "screen", owner);
		ref_check(c, node_get(r, "flow"), &c->flows_n, "unknown-flow", "flow", owner);
		ref_check(c, node_get(r, "then"), &c->routes_n, "unknown-route", "route", owner);
		string_check(c, node_get(r, "title"), owner);
	}
	check_duplicate_paths(c);
}

static int flow_moves_funds(const node *flow)
{
	const node *fx = node_get(flow, "effects");
	for (size_t i = 0; fx && fx->kind == NODE_SEQ && i < fx->count; i++)
		if (node_is(fx->items[i], "moves_funds"))
			return 1;
	return node_is(fx, "moves_funds");
}

/* Money: a flow that moves funds confirms; every route running it asks for step_up. */
static void check_money(check_ctx *c)
{
	for (size_t i = 0; c->flows && i < c->flows->count; i++) {
		const node *f = c->flows->items[i];
		if (!flow_moves_funds(f))
			continue;
		const node *confirm = node_get(f, "confirm");
		int on = 0;
		if (node_as_bool(confirm, &on) < 0 || !on)
			c->errors += check_report(c->p, DIAG_ERROR, confirm, node_get(f, "id"),
						  "money-needs-confirm",
						  "flow '%s' moves funds but does not ask for confirmation; "
						  "set 'confirm: true'", check_id_of(f));
	}
	for (size_t i = 0; c->routes && i < c->routes->count; i++) {
		const node *r = c->routes->items[i];
		const char *fid = node_get_str(r, "flow");
		const node *f = check_find_by_id(c->flows, fid);
		if (!f || !flow_moves_funds(f))
			continue;
		const node *auth = node_get(r, "auth");
		if (node_is(auth, "step_up"))
			continue;
		const char *level = auth && auth->kind == NODE_SCALAR ? auth->str : "none";
		c->errors += check_report(c->p, DIAG_ERROR, auth, node_get(r, "id"), "money-needs-login",
					  "route '%s' runs flow '%s', which moves funds, with auth '%s'; "
					  "it needs 'step_up'", check_id_of(r), fid, level);
	}
}

static void check_flows(check_ctx *c)
{
	for (size_t i = 0; c->flows && i < c->flows->count; i++) {
		const node *f = c->flows->items[i];
		const char *owner = owner_of(c, "flow", f);
		string_check(c, node_get(f, "fallback"), owner);
		for (int k = 0; k < 2; k++) {
			const node *fields = node_get(f, k ? "returns" : "params");
			for (size_t j = 0; fields && fields->kind == NODE_SEQ && j < fields->count; j++)
				string_check(c, node_get(fields->items[j], "label"), owner);
		}
	}
	check_money(c);
}

static void check_products(check_ctx *c)
{
	const node *list = node_get(c->root, "products");
	const node *cat = check_catalogue(c->p);
	const char *owner = arena_printf(c->p->arena, "edition '%s'", c->e->id);
	for (size_t i = 0; list && list->kind == NODE_SEQ && i < list->count; i++) {
		const node *id = check_product_ref(list->items[i]);
		if (!ref_check(c, id, &c->products_n, "unknown-product", "product", owner) || !id)
			continue;
		string_check(c, node_get(list->items[i], "badge"), owner);
		/* the catalogue's name of a listed product is a string of this edition too */
		const node *prod = check_find_by_id(cat, id->str);
		string_check(c, node_get(prod, "name"), arena_printf(c->p->arena, "product '%s'", id->str));
	}
}

/* ---- screens: references, text, bindings, forms ---- */

/* The fields a binding may start with: the returns of the screen's flows. */
static names screen_fields(check_ctx *c, const char **flow_id)
{
	size_t n = 0;
	for (int k = 0; k < 2; k++) {
		const node *ret = node_get(c->field_flows[k], "returns");
		n += ret && ret->kind == NODE_SEQ ? ret->count : 0;
	}
	names t = { arena_alloc(c->p->arena, (n + 1) * sizeof(char *)), 0 };
	*flow_id = NULL;
	for (int k = 0; k < 2; k++) {
		const node *ret = node_get(c->field_flows[k], "returns");
		if (c->field_flows[k] && !*flow_id)
			*flow_id = check_id_of(c->field_flows[k]);
		for (size_t i = 0; ret && ret->kind == NODE_SEQ && i < ret->count; i++)
			if (node_get_str(ret->items[i], "id"))
				t.v[t.n++] = node_get_str(ret->items[i], "id");
	}
	names_sort(&t);
	return t;
}

/* Inside a list's row template: `item`, or a field of the row (any, when undeclared). */
static int row_field(const check_ctx *c, const char *field)
{
	if (c->n_rows > ROW_DEPTH)
		return 1;
	for (size_t r = 0; r < c->n_rows; r++)
		if (c->rows[r].any || !strcmp(field, "item") ||
		    check_find_by_id(c->rows[r].fields, field))
			return 1;
	return 0;
}

/* The first segment of a binding's path: a row field, or a field the screen's flow returns. */
static void field_check(check_ctx *c, const node *val, const char *whole, const char *field)
{
	if (row_field(c, field))
		return;
	if (!c->field_flows[0] && !c->field_flows[1]) {
		if (!node_get(c->screen, "flow") && !node_get(c->screen, "result_of"))
			c->errors += check_report(c->p, DIAG_ERROR, val, NULL, "binding-without-flow",
						  "binding '%s' in screen '%s' has no data: the screen has "
						  "neither 'flow' nor 'result_of'", whole, c->screen_id);
		return;                  /* an unknown flow was reported already */
	}
	const char *flow_id;
	names t = screen_fields(c, &flow_id);
	if (names_has(&t, field))
		return;
	const char *hint = diag_suggest(field, t.v, t.n);
	for (size_t r = 0; !hint && r < c->n_rows && r < ROW_DEPTH; r++) {
		names rf = names_of_ids(c->p->arena, c->rows[r].fields);
		hint = diag_suggest(field, rf.v, rf.n);
	}
	c->errors += check_report(c->p, DIAG_ERROR, val, NULL, "unknown-field",
				  "binding '%s' names unknown field '%s' of flow '%s'%s%s%s", whole,
				  field, flow_id ? flow_id : "?", hint ? "; did you mean '" : "",
				  hint ? hint : "", hint ? "'?" : "");
}

static int ident_char(char ch)
{
	return ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9');
}

static size_t skip_spaces(const char *in, size_t i, size_t len)
{
	while (i < len && in[i] == ' ')
		i++;
	return i;
}

/* One binding's inside, between "${" and "}": path ('.' segment)* ['|' filter]. */
static void binding_check(check_ctx *c, const node *val, const char *in, size_t len)
{
	const char *whole = arena_printf(c->p->arena, "${%.*s}", (int)len, in);
	size_t i = skip_spaces(in, 0, len), first_len = 0;
	const char *first = in + i;
	for (;;) {
		size_t start = i;
		while (i < len && ident_char(in[i]))
			i++;
		if (i == start)
			goto bad;
		if (!first_len)
			first_len = i - start;
		if (i < len && in[i] == '.' && ++i)
			continue;
		break;
	}
	i = skip_spaces(in, i, len);
	if (i < len && in[i] == '|') {
		size_t f0 = skip_spaces(in, i + 1, len), f1 = f0;
		while (f1 < len && ident_char(in[f1]))
			f1++;
		if (f1 == f0 || skip_spaces(in, f1, len) != len)
			goto bad;
		const char *f = arena_strndup(c->p->arena, in + f0, f1 - f0);
		const char *hint = IN_LIST(f, filters) ? NULL : diag_suggest(f, filters, 4);
		if (!IN_LIST(f, filters))
			c->errors += check_report(c->p, DIAG_ERROR, val, NULL, "unknown-filter",
						  "binding '%s' uses unknown filter '%s'%s%s%s", whole, f,
						  hint ? "; did you mean '" : "", hint ? hint : "",
						  hint ? "'?" : "");
		i = len;
	}
	if (i != len)
		goto bad;
	field_check(c, val, whole, arena_strndup(c->p->arena, first, first_len));
	return;
bad:
	c->errors += check_report(c->p, DIAG_ERROR, val, NULL, "bad-binding",
				  "malformed binding '%s'; write '${field.path}' or '${field.path | filter}'",
				  whole);
}

/* Every `${...}` of a binding attribute (a scalar, or a list of scalars). */
static void bindings_scan(check_ctx *c, const node *val)
{
	if (val && val->kind == NODE_SEQ)
		for (size_t i = 0; i < val->count; i++)
			if (val->items[i]->kind == NODE_SCALAR)
				bindings_scan(c, val->items[i]);
	if (!val || val->kind != NODE_SCALAR)
		return;
	const char *s = val->str;
	for (size_t i = 0; i + 1 < val->len; i++) {
		if (s[i] != '$' || s[i + 1] != '{')
			continue;
		const char *end = memchr(s + i + 2, '}', val->len - i - 2);
		if (!end) {
			c->errors += check_report(c->p, DIAG_ERROR, val, NULL, "bad-binding",
						  "unclosed binding in '%s'; write '${field.path | filter}'", s);
			return;
		}
		binding_check(c, val, s + i + 2, (size_t)(end - (s + i + 2)));
		i = (size_t)(end - s);
	}
}

/* The named inputs of a form: components with `name`, not looking into nested forms. */
static void form_inputs(const node *n, const node ***v, size_t *k, size_t *cap, int top)
{
	if (!n || n->kind == NODE_SCALAR)
		return;
	if (n->kind == NODE_MAP && !top && node_get(n, "component")) {
		if (node_is(node_get(n, "component"), "form"))
			return;
		const node *name = node_get(n, "name");
		if (name && name->kind == NODE_SCALAR) {
			if (*k == *cap) {
				*cap = *cap ? *cap * 2 : 8;
				*v = xrealloc(*v, *cap * sizeof **v);
			}
			(*v)[(*k)++] = name;
		}
	}
	for (size_t i = 0; i < n->count; i++)
		form_inputs(n->items[i], v, k, cap, 0);
}

static void report_missing_params(check_ctx *c, const node *form, const node *flow,
				  const node **inputs, size_t n_inputs, const char *form_desc)
{
	const node *params = node_get(flow, "params");
	for (size_t i = 0; params && params->kind == NODE_SEQ && i < params->count; i++) {
		int required = 0;
		const char *id = node_get_str(params->items[i], "id");
		if (!id || node_as_bool(node_get(params->items[i], "required"), &required) < 0 || !required)
			continue;
		size_t j = 0;
		while (j < n_inputs && strcmp(inputs[j]->str, id))
			j++;
		if (j == n_inputs)
			check_report(c->p, DIAG_WARNING, node_get(form, "action"), form, "missing-param",
				     "%s does not send param '%s', which flow '%s' requires", form_desc,
				     id, check_id_of(flow));
	}
}

/* A form's inputs are params of the flow its action's route runs. */
static void form_check(check_ctx *c, const node *form)
{
	const node *route = check_find_by_id(c->routes, node_get_str(form, "action"));
	const node *flow = check_find_by_id(c->flows, node_get_str(route, "flow"));
	if (!flow)
		return;
	const char *fid = node_get_str(form, "id");
	const char *desc = fid ? arena_printf(c->p->arena, "form '%s'", fid)
			       : arena_printf(c->p->arena, "the form in screen '%s'", c->screen_id);
	names pn = names_of_ids(c->p->arena, node_get(flow, "params"));
	const node **inputs = NULL;
	size_t k = 0, cap = 0;
	form_inputs(form, &inputs, &k, &cap, 1);
	for (size_t i = 0; i < k; i++) {
		if (names_has(&pn, inputs[i]->str))
			continue;
		const char *hint = diag_suggest(inputs[i]->str, pn.v, pn.n);
		c->errors += check_report(c->p, DIAG_ERROR, inputs[i], NULL, "unknown-param",
					  "input '%s' of %s is not a param of flow '%s'%s%s%s",
					  inputs[i]->str, desc, check_id_of(flow),
					  hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
	}
	report_missing_params(c, form, flow, inputs, k, desc);
	free(inputs);
}

/* The returned field a list's `items: ${a.b}` leads to, following declared `fields`. */
static const node *binding_target(check_ctx *c, const node *items)
{
	const char *s = items && items->kind == NODE_SCALAR ? strstr(items->str, "${") : NULL;
	const node *field = NULL;
	for (s = s ? s + 2 : NULL; s && *s == ' ';)
		s++;
	for (; s && ident_char(*s); s++) {
		const char *start = s;
		while (ident_char(*s))
			s++;
		const char *seg = arena_strndup(c->p->arena, start, (size_t)(s - start));
		if (field) {
			field = check_find_by_id(node_get(field, "fields"), seg);
		} else {
			for (size_t r = c->n_rows < ROW_DEPTH ? c->n_rows : ROW_DEPTH; !field && r-- > 0;)
				field = check_find_by_id(c->rows[r].fields, seg);
			for (int k = 0; !field && k < 2; k++)
				field = check_find_by_id(node_get(c->field_flows[k], "returns"), seg);
		}
		if (!field || *s != '.')
			break;
	}
	return field;
}

static void row_push(check_ctx *c, const node *list)
{
	const node *fields = node_get(binding_target(c, node_get(list, "items")), "fields");
	if (c->n_rows < ROW_DEPTH) {
		c->rows[c->n_rows].fields = fields && fields->kind == NODE_SEQ ? fields : NULL;
		c->rows[c->n_rows].any = !c->rows[c->n_rows].fields;
	}
	c->n_rows++;                 /* deeper than ROW_DEPTH: row_field accepts any name */
}

/* One component's (or plain map's) own attributes. */
static void screen_attrs(check_ctx *c, const node *n, const char *comp, const char *owner)
{
	for (size_t i = 0; i < n->count; i++) {
		const char *key = n->keys[i]->str;
		const node *v = n->items[i];
		if (IN_LIST(key, text_keys))
			string_check(c, v, owner);
		else if (IN_LIST(key, binding_keys))
			bindings_scan(c, v);
		else if (comp && (!strcmp(key, "to") || !strcmp(key, "action")))
			ref_check(c, v, &c->routes_n, "unknown-route", "route", owner);
		else if (comp && !strcmp(key, "product"))
			ref_check(c, v, &c->products_n, "unknown-product", "product", owner);
	}
	if (comp && !strcmp(comp, "form"))
		form_check(c, n);
}

/* Every map under a screen: text keys, bindings, links; components name the owner. */
static void screen_walk(check_ctx *c, const node *n, const char *owner)
{
	if (!n || n->kind == NODE_SCALAR)
		return;
	const char *comp = n->kind == NODE_MAP ? node_get_str(n, "component") : NULL;
	if (comp)
		owner = arena_printf(c->p->arena, "%s in screen '%s'", comp, c->screen_id);
	if (n->kind == NODE_MAP)
		screen_attrs(c, n, comp, owner);
	int rows = comp && !strcmp(comp, "list") && node_get(n, "children");
	if (rows)
		row_push(c, n);
	for (size_t i = 0; i < n->count; i++)
		if (n->items[i]->kind != NODE_SCALAR)
			screen_walk(c, n->items[i], owner);
	if (rows)
		c->n_rows--;
}

static void check_screen(check_ctx *c, const node *s)
{
	c->screen = s;
	c->screen_id = node_get_str(s, "id");
	if (!c->screen_id)
		c->screen_id = "?";
	const char *owner = arena_printf(c->p->arena, "screen '%s'", c->screen_id);
	const node *flow = node_get(s, "flow"), *result_of = node_get(s, "result_of");
	ref_check(c, flow, &c->flows_n, "unknown-flow", "flow", owner);
	ref_check(c, result_of, &c->flows_n, "unknown-flow", "flow", owner);
	c->field_flows[0] = check_find_by_id(c->flows, node_get_str(s, "flow"));
	c->field_flows[1] = check_find_by_id(c->flows, node_get_str(s, "result_of"));
	string_check(c, node_get(s, "title"), owner);
	for (size_t i = 0; i < s->count; i++)
		if (s->items[i]->kind != NODE_SCALAR)
			screen_walk(c, s->items[i], owner);
	c->screen = NULL;
}

static void check_screens(check_ctx *c)
{
	for (size_t i = 0; c->screens && i < c->screens->count; i++)
		check_screen(c, c->screens->items[i]);
}

/* ---- ids written twice ---- */

static void duplicate_ids(check_ctx *c, const node *doc, const char *key, const char *what,
			  const char *code)
{
	const node *list = node_get(doc, key);
	for (size_t i = 0; list && list->kind == NODE_SEQ && i < list->count; i++) {
		const node *id = node_get(list->items[i], "id");
		for (size_t j = 0; id && id->kind == NODE_SCALAR && j < i; j++) {
			const node *prev = node_get(list->items[j], "id");
			if (!node_is(prev, id->str))
				continue;
			c->errors += check_report(c->p, DIAG_ERROR, id, NULL, code,
						  "%s '%s' is defined twice", what, id->str);
			diag_note(c->p->diag, prev->pos, "%s '%s' is first defined here", what, id->str);
			break;
		}
	}
}

/*
 * Lists merge by id, so an id written twice in one file silently merges into
 * one item: look at the documents as written, this edition's and those of the
 * abstract bases it extends (bases are not checked on their own).
 */
static void check_duplicates(check_ctx *c)
{
	for (size_t k = 0; k < (c->e->chain_len ? c->e->chain_len : 1); k++) {
		const edition *d = k ? NULL : c->e;
		for (size_t j = 0; k && j < c->p->n_editions; j++)
			if (c->p->editions[j]->path && !strcmp(c->p->editions[j]->path, c->e->chain[k]))
				d = c->p->editions[j];
		if (!d || !d->doc || (k && !d->abstract))
			continue;
		duplicate_ids(c, d->doc, "screens", "screen", "duplicate-screen");
		duplicate_ids(c, d->doc, "routes", "route", "duplicate-route");
		duplicate_ids(c, d->doc, "flows", "flow", "duplicate-flow");
	}
}

/* ---- reachability from home ---- */

typedef struct reach {
	char *screen_seen, *route_seen;
	size_t *stack;              /* route indexes to visit */
	size_t n, cap;
} reach;

static long index_of(const node *seq, const char *id)
{
	for (size_t i = 0; id && seq && seq->kind == NODE_SEQ && i < seq->count; i++)
		if (node_is(node_get(seq->items[i], "id"), id))
			return (long)i;
	return -1;
}

static void reach_route(check_ctx *c, reach *r, const char *id)
{
	long i = index_of(c->routes, id);
	if (i < 0 || r->route_seen[i])
		return;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 32;
		r->stack = xrealloc(r->stack, r->cap * sizeof *r->stack);
	}
	r->stack[r->n++] = (size_t)i;
}

/* The routes a screen links to: `to` and `action` of its components. */
static void reach_links(check_ctx *c, reach *r, const node *n)
{
	if (!n || n->kind == NODE_SCALAR)
		return;
	if (n->kind == NODE_MAP && node_get(n, "component")) {
		reach_route(c, r, node_get_str(n, "to"));
		reach_route(c, r, node_get_str(n, "action"));
	}
	for (size_t i = 0; i < n->count; i++)
		reach_links(c, r, n->items[i]);
}

static void reach_screen(check_ctx *c, reach *r, const char *id)
{
	long i = index_of(c->screens, id);
	if (i < 0 || r->screen_seen[i])
		return;
	r->screen_seen[i] = 1;
	reach_links(c, r, c->screens->items[i]);
}

static void check_reachable(check_ctx *c)
{
	const node *home = node_get(c->root, "home");
	const char *owner = arena_printf(c->p->arena, "edition '%s'", c->e->id);
	if (!home) {
		c->errors += check_report(c->p, DIAG_ERROR, NULL, c->root, "unknown-screen",
					  "edition '%s' names no home screen; set 'home'", c->e->id);
		return;
	}
	if (!ref_check(c, home, &c->screens_n, "unknown-screen", "home screen", owner) ||
	    !c->screens || c->screens->kind != NODE_SEQ)
		return;
	reach r = { arena_alloc(c->p->arena, c->screens->count + 1),
		    arena_alloc(c->p->arena, (c->routes ? c->routes->count : 0) + 1), NULL, 0, 0 };
	reach_screen(c, &r, home->str);
	while (r.n) {
		size_t i = r.stack[--r.n];
		if (r.route_seen[i])
			continue;
		r.route_seen[i] = 1;
		reach_screen(c, &r, node_get_str(c->routes->items[i], "screen"));
		reach_route(c, &r, node_get_str(c->routes->items[i], "then"));
	}
	free(r.stack);
	for (size_t i = 0; i < c->screens->count; i++) {
		const node *id = node_get(c->screens->items[i], "id");
		if (!r.screen_seen[i] && id && id->kind == NODE_SCALAR)
			c->errors += check_report(c->p, DIAG_ERROR, id, NULL, "unreachable-screen",
						  "screen '%s' cannot be reached from home screen '%s'",
						  id->str, home->str);
	}
}

/* ---- Lua scripts ---- */

/* Lua says "<chunk>:<line>: <what>"; the chunk id may be shortened, so find ":<digits>: ". */
static const char *lua_message_line(const char *msg, int *line)
{
	for (const char *s = strchr(msg, ':'); s; s = strchr(s + 1, ':')) {
		const char *d = s + 1;
		int v = 0;
		while (*d >= '0' && *d <= '9' && v < 100000000)
			v = v * 10 + (*d++ - '0');
		if (d > s + 1 && d[0] == ':') {
			*line = v;
			return d[1] == ' ' ? d + 2 : d + 1;
		}
	}
	*line = 1;
	return msg;
}

/* The static shape of a flow script: it must contain `return function`. */
static int returns_function(const char *s, size_t len)
{
	for (size_t i = 0; i + 6 <= len; i++) {
		if (memcmp(s + i, "return", 6) || (i && ident_char(s[i - 1])))
			continue;
		size_t j = i + 6;
		while (j < len && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r'))
			j++;
		if (j > i + 6 && j + 8 <= len && !memcmp(s + j, "function", 8) &&
		    (j + 8 == len || !ident_char(s[j + 8])))
			return 1;
	}
	return 0;
}

/* 1 when the script compiles (a warning does not count), 0 after reporting why not. */
static int lua_compile(check_ctx *c, lua_State *L, const named_doc *doc, const node *script,
		       const char *flow_id)
{
	if (!L) {
		c->errors += check_report(c->p, DIAG_ERROR, script, NULL, "lua-syntax",
					  "cannot compile script '%s': out of memory", doc->name);
		return 0;
	}
	int ok = 1;
	const char *chunk = arena_printf(c->p->arena, "@%s", doc->path);
	if (luaL_loadbufferx(L, doc->text ? doc->text : "", doc->len, chunk, "t") != LUA_OK) {
		const char *msg = lua_tostring(L, -1);
		int line = 1;
		const char *what = lua_message_line(msg ? msg : "unknown error", &line);
		diag_add_source(c->p->diag, doc->path, doc->text ? doc->text : "", doc->len);
		src_pos pos = { doc->path, line, 1 };
		diag_report(c->p->diag, DIAG_ERROR, pos, "lua-syntax", "syntax error in script '%s': %s",
			    doc->name, what);
		diag_note(c->p->diag, script->pos, "flow '%s' runs this script", flow_id);
		c->errors++;
		ok = 0;
	} else if (!returns_function(doc->text, doc->len)) {
		src_pos pos = { doc->path, 1, 1 };
		diag_report(c->p->diag, DIAG_WARNING, pos, "lua-return",
			    "script '%s' does not return a function; end it with "
			    "'return function(params, ctx) ... end'", doc->name);
		diag_note(c->p->diag, script->pos, "flow '%s' runs this script", flow_id);
	}
	lua_settop(L, 0);
	return ok;
}

/*
 * Each script is compiled once per project: editions share their flows, and a
 * broken script is one mistake, reported once, at the first flow that runs it.
 */
static void check_scripts(check_ctx *c)
{
	lua_State *L = NULL;            /* one state compiles every script of the edition */
	for (size_t i = 0; c->flows && i < c->flows->count; i++) {
		const node *f = c->flows->items[i], *script = node_get(f, "script");
		if (!script || script->kind != NODE_SCALAR)
			continue;
		const named_doc *found = project_script(c->p, script->str);
		if (!found) {
			ref_check(c, script, &c->scripts_n, "unknown-script", "script", owner_of(c, "flow", f));
			continue;
		}
		named_doc *doc = &c->p->scripts[found - c->p->scripts];
		/* atomic: editions may be checked on several threads (each may compile it) */
		if (__atomic_load_n(&doc->checked, __ATOMIC_ACQUIRE))
			continue;
		if (!L)
			L = luaL_newstate();
		__atomic_store_n(&doc->checked, lua_compile(c, L, doc, script, check_id_of(f)) ? 1 : -1,
				 __ATOMIC_RELEASE);
	}
	if (L)
		lua_close(L);
}

/* ---- the phase ---- */

static int has_locale(const project *p, const char *locale)
{
	for (size_t i = 0; i < p->n_i18n; i++)
		if (p->i18n[i].name && !strcmp(p->i18n[i].name, locale))
			return 1;
	return 0;
}

/* A list the schema rejects (a map where a list belongs) is left to the schema. */
static const node *seq_or_null(const node *n)
{
	return n && n->kind == NODE_SEQ ? n : NULL;
}

static void ctx_init(check_ctx *c, project *p, const edition *e)
{
	memset(c, 0, sizeof *c);
	c->p = p;
	c->e = e;
	c->root = e->resolved;
	c->screens = seq_or_null(node_get(c->root, "screens"));
	c->routes = seq_or_null(node_get(c->root, "routes"));
	c->flows = seq_or_null(node_get(c->root, "flows"));
	c->locale = node_get_str(c->root, "locale");
	c->strings = c->locale ? edition_strings(p, e) : NULL;   /* a base may leave it open */
	if (c->strings && !has_locale(p, c->locale))
		c->strings = NULL;      /* reported once as unknown-locale: no cascade of unknown strings */
	c->routes_n = names_of_ids(p->arena, c->routes);
	c->screens_n = names_of_ids(p->arena, c->screens);
	c->flows_n = names_of_ids(p->arena, c->flows);
	c->strings_n = names_of_keys(p->arena, c->strings);
	c->products_n = names_of_products(p->arena, check_catalogue(p));
	c->scripts_n = names_of_scripts(p->arena, p);
}

int check_edition(project *p, const edition *e)
{
	if (!p || !e || !e->resolved || e->resolved->kind != NODE_MAP)
		return 0;
	check_ctx c;
	ctx_init(&c, p, e);
	const char *owner = arena_printf(p->arena, "edition '%s'", e->id);
	string_check(&c, node_get(c.root, "title"), owner);
	string_check(&c, node_get(node_get(c.root, "contact"), "hours"), owner);
	check_routes(&c);
	check_flows(&c);
	check_products(&c);
	check_screens(&c);
	check_duplicates(&c);
	if (!e->abstract)
		check_reachable(&c);
	check_scripts(&c);
	return c.errors;
}
