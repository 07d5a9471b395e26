/*
 * validate: the resolved edition against schemas/edition.xsd (which includes
 * schemas/components.xsd), and products.yaml against schemas/products.xsd, with
 * messages a product owner can act on.
 *
 * YAML -> XML. The resolved tree is rebuilt as a libxml2 document:
 *   - the edition's root map is the element <edition>;
 *   - in a map, a key with a scalar value becomes an attribute, a key with a map
 *     or a list becomes a child element named after the key;
 *   - a list under key K is the element <K> with one child per item: items of
 *     screens, routes, flows, params/returns/fields and products are <screen>,
 *     <route>, <flow>, <field>, <product>; other items are <item> (a scalar item
 *     as its text);
 *   - items of `layout` and `children` are components: `{component: NAME, ...}`
 *     becomes the element <NAME> (so components.xsd types each component's own
 *     keys), its `children` its child elements;
 *   - maps whose keys the author chooses (any element whose schema type declares
 *     <entry>: features, limits, fees, strings) become one
 *     <entry key=".." value=".."/> per key, nested maps joined with '.'.
 * Every element and attribute built carries an `origin` in its `_private` field
 * (never node->line, which stops at 65535): the YAML key and value it came from.
 *
 * Errors. Keys that would become child elements are checked while building (an
 * unknown key, a map where a single value belongs, an unknown component, children
 * under a leaf component): those are reported here and left out of the document,
 * so the schema still checks everything around them. Then libxml2 validates with
 * structured errors; each error's node leads back to the YAML through `origin`,
 * and its wording is replaced by ours, built from what the schema says about that
 * key. libxml2 stops checking an element's content at the first unexpected child,
 * so such children are removed and the document validated again (a few passes at
 * most), keeping one copy of each message.
 *
 * Reading the schema. The keys allowed somewhere ("did you mean"), what a value
 * should look like, and which keys hold numbers or booleans (a quoted "16" is a
 * string, not a number: after validation every such value written quoted is an
 * error) come from xsd.c, which loads the schemas and reads the XSD documents.
 *
 * Abstract bases are checked too, but may leave required keys outside list items
 * (version, home, theme tokens, ...) to the editions that extend them.
 *
 * The product catalogue (products.yaml) goes the same way against products.xsd
 * (which includes edition.xsd): the file is the element <catalogue>. Then ids must
 * be unique (duplicate-product) and exclusive_to name concrete editions
 * (unknown-edition). A missing products.xsd stops only the catalogue's check.
 *
 * The schemas are parsed once per process and kept for the next edition (xsd.c).
 * Editions may be validated on several threads at once: the schemas are loaded
 * under xsd_lock, libxml2 only reads a compiled schema, and the memo and clean
 * sets are vcache.c's (thread-safe).
 */
#include "model.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "vcache.h"
#include "xsd.h"

#define MAX_PASSES 16
#define MAX_NAMES 256

static int streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* ---------------------------------------------------------------- building */

typedef struct origin {
	const node *key;            /* the YAML key; NULL for the root, list items, entries' value */
	const node *value;          /* the YAML value the element or attribute was made from */
	const char *list;           /* list items: the key of their list */
	size_t index;               /* list items: 0-based */
	int component;              /* made from a layout item */
	int reported;               /* an error was reported about this value */
	int decl_done;
	const xmlNode *decl;        /* elements: the schema's declaration, once looked up */
} origin;

typedef struct pending {
	src_pos pos;
	const char *code;
	char *msg;
	const node *value;          /* for the inheritance notes */
	size_t seq;
	const node *first;          /* duplicate-product: where the id was first defined */
} pending;

typedef struct vctx {
	project *p;
	const edition *e;
	const char *top;            /* the root, for messages: "the edition" */
	xmlDocPtr doc;
	pending *out;
	size_t n_out, cap_out;
	xmlNodePtr *drop;           /* unexpected elements, removed before the next pass */
	size_t n_drop, cap_drop;
	struct seen_item *seen;     /* list items built: clean if the edition is */
	size_t n_seen, cap_seen;
	vcache_ser ser;             /* known_clean's scratch */
} vctx;

typedef struct seen_item {
	const xmlNode *decl;
	char *bytes;
	size_t len;
	uint32_t hash;
} seen_item;

static void add(vctx *v, src_pos pos, const node *value, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void add(vctx *v, src_pos pos, const node *value, const char *code, const char *fmt, ...)
{
	strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (!pos.file)
		pos.file = v->e->path;
	for (size_t i = 0; i < v->n_out; i++) {
		pending *o = &v->out[i];
		if (o->pos.line == pos.line && o->pos.col == pos.col && streq(o->pos.file, pos.file) &&
		    streq(o->msg, sb.buf)) {
			strbuf_release(&sb);
			return;
		}
	}
	if (v->n_out == v->cap_out) {
		v->cap_out = v->cap_out ? 2 * v->cap_out : 16;
		v->out = xrealloc(v->out, v->cap_out * sizeof *v->out);
	}
	v->out[v->n_out] = (pending){ pos, code, strbuf_detach(&sb, NULL), value, v->n_out, NULL };
	v->n_out++;
}

static origin *origin_new(vctx *v, const node *key, const node *value)
{
	origin *o = arena_alloc(v->p->arena, sizeof *o);
	o->key = key;
	o->value = value;
	return o;
}

static origin *origin_of(const xmlNode *n)
{
	return n ? n->_private : NULL;
}

static const xmlNode *decl_of(const xmlNode *el)
{
	origin *o = origin_of(el);
	if (!el || el->type != XML_ELEMENT_NODE)
		return NULL;
	if (o && o->decl_done)
		return o->decl;
	const xmlNode *d;
	if (!el->parent || el->parent->type != XML_ELEMENT_NODE)
		d = xsd_global("element", (const char *)el->name);
	else
		d = xsd_type_child(xsd_decl_type(decl_of(el->parent)), XSD_ELEMENT, (const char *)el->name);
	if (o) {
		o->decl = d;
		o->decl_done = 1;
	}
	return d;
}

static const xmlNode *type_of(const xmlNode *el)
{
	return xsd_decl_type(decl_of(el));
}

static xmlNodePtr new_element(vctx *v, xmlNodePtr parent, const char *name, origin *o)
{
	xmlNodePtr el = xmlNewDocNode(v->doc, NULL, BAD_CAST name, NULL);
	if (!el)
		abort();
	el->_private = o;
	xmlAddChild(parent, el);
	return el;
}

static int valid_name(const node *k)
{
	return k && k->kind == NODE_SCALAR && k->len == strlen(k->str) &&
	       xmlValidateNCName(BAD_CAST k->str, 0) == 0;
}

static const char *kind_text(const node *n)
{
	return n->kind == NODE_MAP ? "a map" : n->kind == NODE_SEQ ? "a list" : "a single value";
}

/* What was found, for "found ...": "a map", "a list" or the quoted value. */
static const char *shown(vctx *v, const node *n)
{
	if (n->kind != NODE_SCALAR)
		return kind_text(n);
	return *n->str ? arena_printf(v->p->arena, "'%s'", n->str) : "an empty value";
}

/* "theme", "button", "route 'transfer'", "the edition": where a key sits, for messages. */
static const char *where(vctx *v, const xmlNode *el)
{
	origin *o = origin_of(el);
	if (!el->parent || el->parent->type != XML_ELEMENT_NODE)
		return v->top;
	if (o && o->component)
		return (const char *)el->name;
	if (o && o->list) {
		const char *id = o->value ? node_get_str(o->value, "id") : NULL;
		if (id)
			return arena_printf(v->p->arena, "%s '%s'", (const char *)el->name, id);
		return arena_printf(v->p->arena, "item %zu of '%s'", o->index + 1, o->list);
	}
	return o && o->key ? o->key->str : (const char *)el->name;
}

static void unknown_key(vctx *v, const xmlNode *el, const node *key, const node *value)
{
	xsd_names w;
	xsd_type_names(type_of(el), &w, 0, XSD_ELEMENT);
	origin *o = origin_of(el);
	if (o && o->component && w.n_names < XSD_MAX_NAMES)
		w.names[w.n_names++] = "component";
	if (o && o->component && xsd_is_container((const char *)el->name) && w.n_names < XSD_MAX_NAMES)
		w.names[w.n_names++] = "children";
	const char *word = key->kind == NODE_SCALAR ? key->str : "?";
	const char *hint = diag_suggest(word, w.names, w.n_names);
	if (key->kind != NODE_SCALAR)
		add(v, key->pos, value, "unknown-key", "a key in %s must be a plain name, found %s",
		    where(v, el), kind_text(key));
	else if (hint)
		add(v, key->pos, value, "unknown-key", "unknown key '%s' in %s; did you mean '%s'?",
		    word, where(v, el), hint);
	else
		add(v, key->pos, value, "unknown-key", "unknown key '%s' in %s", word, where(v, el));
}

/* A map or list value under el: 1 when the schema declares it there, else reported. */
static int child_allowed(vctx *v, const xmlNode *el, const node *key, const node *value)
{
	const xmlNode *type = type_of(el);
	if (!type)
		return 1;
	const xmlNode *child = xsd_type_child(type, XSD_ELEMENT, key->str);
	if (child) {
		int list = xsd_type_is_list(xsd_decl_type(child));
		if (list == (value->kind == NODE_SEQ))
			return 1;
		add(v, value->pos, value, "schema-type", "'%s' must be %s, found %s", key->str,
		    list ? "a list" : "a map", kind_text(value));
		return 0;
	}
	if (xsd_type_child(type, XSD_ATTRIBUTE, key->str))
		add(v, value->pos, value, "schema-type", "'%s' must be a single value, found %s",
		    key->str, kind_text(value));
	else
		unknown_key(v, el, key, value);
	return 0;
}

static void build_map(vctx *v, xmlNodePtr el, const node *map);
static void build_seq(vctx *v, xmlNodePtr list, const char *key, const node *seq);

static void build_entries(vctx *v, xmlNodePtr el, const node *map, const char *prefix)
{
	for (size_t i = 0; i < map->count; i++) {
		const node *k = map->keys[i], *val = map->items[i];
		if (k->kind != NODE_SCALAR) {
			unknown_key(v, el, k, val);
			continue;
		}
		const char *name = prefix ? arena_printf(v->p->arena, "%s.%s", prefix, k->str) : k->str;
		if (val->kind == NODE_MAP) {
			build_entries(v, el, val, name);
			continue;
		}
		if (val->kind == NODE_SEQ) {
			add(v, val->pos, val, "schema-type", "'%s' must be a single value, found a list", name);
			continue;
		}
		origin *eo = origin_new(v, k, val);
		xmlNodePtr entry = new_element(v, el, "entry", eo);
		xmlAttrPtr ka = xmlNewProp(entry, BAD_CAST "key", BAD_CAST name);
		xmlAttrPtr va = xmlNewProp(entry, BAD_CAST "value", BAD_CAST val->str);
		ka->_private = origin_new(v, k, k);
		va->_private = origin_new(v, k, val);
	}
}

/* The element name of a list's map items. */
static const char *item_element(const char *list)
{
	static const char *const names[][2] = {
		{ "screens", "screen" }, { "routes", "route" }, { "flows", "flow" },
		{ "params", "field" }, { "returns", "field" }, { "fields", "field" },
		{ "products", "product" },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (streq(list, names[i][0]))
			return names[i][1];
	return "item";
}

static int is_component_list(const char *key)
{
	return streq(key, "layout") || streq(key, "children");
}

static int known_clean(vctx *v, const xmlNode *list_el, const node *item, const char *name);

static void build_component(vctx *v, xmlNodePtr parent, const char *list, size_t idx, const node *item)
{
	if (item->kind != NODE_MAP) {
		add(v, item->pos, item, "schema-type",
		    "item %zu of '%s' must be a component (a map with 'component:'), found %s",
		    idx + 1, list, shown(v, item));
		return;
	}
	const node *c = node_get(item, "component");
	if (!c) {
		add(v, item->pos, item, "missing-key", "missing required key 'component' in item %zu of '%s'",
		    idx + 1, list);
		return;
	}
	if (c->kind != NODE_SCALAR) {
		add(v, c->pos, c, "schema-type", "'component' must be a component name, found %s",
		    kind_text(c));
		return;
	}
	if (!valid_name(c) || !xsd_is_component(c->str)) {
		size_t n;
		const char *const *components = xsd_components(&n);
		const char *hint = diag_suggest(c->str, components, n);
		if (hint)
			add(v, c->pos, c, "unknown-component", "unknown component '%s'; did you mean '%s'?",
			    c->str, hint);
		else
			add(v, c->pos, c, "unknown-component", "unknown component '%s'", c->str);
		return;
	}
	if (known_clean(v, parent, item, c->str))
		return;
	origin *o = origin_new(v, NULL, item);
	o->list = list;
	o->index = idx;
	o->component = 1;
	build_map(v, new_element(v, parent, c->str, o), item);
}

static int name_cmp(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* "form, list, tile_grid and zone", from the schema. */
static void containers_text(strbuf *sb)
{
	const char *names[XSD_MAX_NAMES];
	size_t n = 0, n_components;
	const char *const *components = xsd_components(&n_components);
	for (size_t i = 0; i < n_components; i++)
		if (xsd_is_container(components[i]))
			names[n++] = components[i];
	qsort(names, n, sizeof names[0], name_cmp);
	for (size_t i = 0; i < n; i++)
		strbuf_addf(sb, "%s%s", i == 0 ? "" : i + 1 == n ? " and " : ", ", names[i]);
}

static void build_children(vctx *v, xmlNodePtr el, const node *key, const node *val)
{
	if (val->kind != NODE_SEQ) {
		add(v, val->pos, val, "schema-type", "'children' must be a list of components, found %s",
		    shown(v, val));
		return;
	}
	if (val->count && !xsd_is_container((const char *)el->name)) {
		strbuf sb = STRBUF_INIT;
		containers_text(&sb);
		add(v, key->pos, val, "schema-children", "'%s' cannot have children; only %s can",
		    (const char *)el->name, sb.buf);
		strbuf_release(&sb);
		return;
	}
	for (size_t i = 0; i < val->count; i++)
		build_component(v, el, "children", i, val->items[i]);
}

static void build_map(vctx *v, xmlNodePtr el, const node *map)
{
	origin *o = origin_of(el);
	for (size_t i = 0; i < map->count; i++) {
		const node *k = map->keys[i], *val = map->items[i];
		if (!valid_name(k)) {
			unknown_key(v, el, k, val);
			continue;
		}
		if (o->component && streq(k->str, "component"))
			continue;
		if (o->component && streq(k->str, "children")) {
			build_children(v, el, k, val);
			continue;
		}
		if (val->kind == NODE_SCALAR) {
			if (!xmlHasProp(el, BAD_CAST k->str))
				xmlNewProp(el, BAD_CAST k->str, BAD_CAST val->str)->_private = origin_new(v, k, val);
			continue;
		}
		if (!child_allowed(v, el, k, val))
			continue;
		xmlNodePtr c = new_element(v, el, k->str, origin_new(v, k, val));
		if (val->kind == NODE_SEQ)
			build_seq(v, c, k->str, val);
		else if (xsd_type_child(type_of(c), XSD_ELEMENT, "entry"))
			build_entries(v, c, val, NULL);
		else
			build_map(v, c, val);
	}
}

/* An item of the wrong shape for its list: 1 when reported. */
static int item_misfit(vctx *v, const xmlNode *list_el, const char *list, size_t idx,
		       const node *item, const char *name)
{
	const xmlNode *type = type_of(list_el);
	if (!type || xsd_type_child(type, XSD_ELEMENT, name))
		return 0;
	if (item->kind == NODE_SCALAR)
		add(v, item->pos, item, "schema-type", "item %zu of '%s' must be a map, found '%s'",
		    idx + 1, list, item->str);
	else if (xsd_type_child(type, XSD_ELEMENT, "item"))
		add(v, item->pos, item, "schema-type", "item %zu of '%s' must be a single value, found %s",
		    idx + 1, list, kind_text(item));
	else
		add(v, item->pos, item, "schema-type", "item %zu of '%s' must be a map, found %s",
		    idx + 1, list, kind_text(item));
	return 1;
}

/*
 * Clean subtrees. Editions that extend one another hold many equal list items (a
 * screen taken unchanged from the base is a copy of it). Where validity is local,
 * an item's result depends only on its declaration and its content: its keys,
 * values, kinds, quoting and tags, in order. So an item equal to one that was part
 * of an edition validated without any error, under the same declaration, would be
 * found without error again, and is left out of the document. Positions do not
 * matter: they only place messages, and there are none. Leaving an item out is
 * only done in a list whose type allows any number of items (xsd_list_item_decl),
 * so the list itself stays valid. Equality is checked on the whole serialised
 * content (vcache_serialise), never on a hash alone. The set (vcache.c) belongs
 * to the loaded schema and is shared by threads.
 */

/* 1 when a map item of a list is known clean (left out); else it is noted for later. */
static int known_clean(vctx *v, const xmlNode *list_el, const node *item, const char *name)
{
	const xmlNode *decl = item->kind == NODE_MAP ? xsd_list_item_decl(type_of(list_el), name) : NULL;
	if (!decl || !streq(xsd_decl_name(decl, "element"), name))
		return 0;
	v->ser.len = 0;
	v->ser.too_big = 0;
	vcache_serialise(&v->ser, item);
	if (v->ser.too_big)
		return 0;
	uint32_t h = vcache_hash(v->ser.buf, v->ser.len);
	if (vcache_clean_has(xsd_generation(), decl, v->ser.buf, v->ser.len, h))
		return 1;
	if (v->n_seen == v->cap_seen) {
		v->cap_seen = v->cap_seen ? 2 * v->cap_seen : 16;
		v->seen = xrealloc(v->seen, v->cap_seen * sizeof *v->seen);
	}
	char *copy = xmalloc(v->ser.len ? v->ser.len : 1);
	memcpy(copy, v->ser.buf, v->ser.len);
	v->seen[v->n_seen++] = (seen_item){ decl, copy, v->ser.len, h };
	return 0;
}

/* After the edition: its items are clean when nothing at all was reported. */
static void remember_clean(vctx *v)
{
	for (size_t i = 0; i < v->n_seen; i++)
		if (v->n_out)
			free(v->seen[i].bytes);
		else
			vcache_clean_add(xsd_generation(), v->seen[i].decl, v->seen[i].bytes, v->seen[i].len,
					 v->seen[i].hash);
	free(v->seen);
	free(v->ser.buf);
}

static void build_seq(vctx *v, xmlNodePtr list_el, const char *key, const node *seq)
{
	for (size_t i = 0; i < seq->count; i++) {
		const node *item = seq->items[i];
		if (is_component_list(key)) {
			build_component(v, list_el, key, i, item);
			continue;
		}
		const char *name = item->kind == NODE_SCALAR ? "item" : item_element(key);
		if (item->kind == NODE_SEQ)
			name = "item";
		if (item_misfit(v, list_el, key, i, item, name) || known_clean(v, list_el, item, name))
			continue;
		origin *o = origin_new(v, NULL, item);
		o->list = key;
		o->index = i;
		xmlNodePtr el = new_element(v, list_el, name, o);
		if (item->kind == NODE_SCALAR)
			xmlAddChild(el, xmlNewDocTextLen(v->doc, BAD_CAST item->str, (int)strlen(item->str)));
		else if (item->kind == NODE_MAP)
			build_map(v, el, item);
		else
			build_seq(v, el, "item", item);
	}
}

/* ---------------------------------------------------------------- schema errors */

typedef struct xerr {
	xmlNodePtr node;
	int code;
	char *str1;
	char *msg;
} xerr;

typedef struct xerr_list {
	xerr *items;
	size_t n, cap;
} xerr_list;

static void on_schema_error(void *ctx, xmlErrorPtr err)
{
	xerr_list *l = ctx;
	if (!err || l->n >= 10000)
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->items = xrealloc(l->items, l->cap * sizeof *l->items);
	}
	l->items[l->n++] = (xerr){ err->node, err->code, err->str1 ? xstrdup(err->str1) : NULL,
				   xstrdup(err->message ? err->message : "") };
}

/* The attribute a libxml2 message is about: "Element 'theme', attribute 'x': ...". */
static char *message_attr(const char *msg)
{
	const char *a = strstr(msg, ", attribute '");
	if (!a)
		return NULL;
	a += strlen(", attribute '");
	const char *end = strchr(a, '\'');
	return end ? xstrndup(a, (size_t)(end - a)) : NULL;
}

/* Abstract bases may leave keys to the editions that extend them, except inside list items. */
static int missing_allowed(vctx *v, const xmlNode *el)
{
	if (!v->e->abstract)
		return 0;
	for (const xmlNode *n = el; n && n->type == XML_ELEMENT_NODE; n = n->parent) {
		origin *o = origin_of(n);
		if (o && o->list)
			return 0;
	}
	return 1;
}

static void missing_key(vctx *v, const xmlNode *el, const char *name)
{
	origin *o = origin_of(el);
	if (missing_allowed(v, el) || !o || !o->value)
		return;
	if (o->value->kind == NODE_MAP && node_get(o->value, name))
		return;              /* present, but of the wrong shape: reported while building */
	add(v, o->value->pos, NULL, "missing-key", "missing required key '%s' in %s", name, where(v, el));
}

static void missing_children(vctx *v, const xmlNode *el)
{
	xsd_names w;
	xsd_type_names(type_of(el), &w, 1, XSD_ELEMENT);
	for (size_t i = 0; i < w.n_names; i++) {
		int present = 0;
		for (const xmlNode *c = el->children; c && !present; c = c->next)
			present = c->type == XML_ELEMENT_NODE && streq((const char *)c->name, w.names[i]);
		if (!present)
			missing_key(v, el, w.names[i]);
	}
}

static void attr_not_allowed(vctx *v, xmlNodePtr el, const char *name)
{
	xmlAttrPtr a = name ? xmlHasProp(el, BAD_CAST name) : NULL;
	origin *ao = a ? a->_private : NULL;
	if (!ao || !ao->key)
		return;
	ao->reported = 1;
	const xmlNode *child = xsd_type_child(type_of(el), XSD_ELEMENT, name);
	if (child)
		add(v, ao->value->pos, ao->value, "schema-type", "'%s' must be %s, found '%s'", name,
		    xsd_type_is_list(xsd_decl_type(child)) ? "a list" : "a map", ao->value->str);
	else
		unknown_key(v, el, ao->key, ao->value);
}

static void unexpected_element(vctx *v, xmlNodePtr el)
{
	origin *o = origin_of(el);
	const node *at = o ? (o->key ? o->key : o->value) : NULL;
	if (at && el->parent && el->parent->type == XML_ELEMENT_NODE)
		add(v, at->pos, o->value, "unknown-key", "'%s' is not allowed in %s",
		    o->key ? o->key->str : (const char *)el->name, where(v, el->parent));
	if (v->n_drop == v->cap_drop) {
		v->cap_drop = v->cap_drop ? 2 * v->cap_drop : 8;
		v->drop = xrealloc(v->drop, v->cap_drop * sizeof *v->drop);
	}
	v->drop[v->n_drop++] = el;
}

/* "'font_scale'", "item 2 of 'auxiliary'", "the key 'X' in features". */
static const char *subject(vctx *v, const xmlNode *el, const char *attr, const origin *o)
{
	if (!attr)
		return arena_printf(v->p->arena, "item %zu of '%s'", o->index + 1, o->list ? o->list : "?");
	if (streq((const char *)el->name, "entry") && streq(attr, "key"))
		return arena_printf(v->p->arena, "the key '%s' in %s", o->key->str,
				    where(v, el->parent));
	return arena_printf(v->p->arena, "'%s'", o->key ? o->key->str : attr);
}

static const char *type_phrase(const xsd_simple_info *si)
{
	if (si->phrase)
		return si->phrase;
	if (streq(si->builtin, "nonNegativeInteger"))
		return "a whole number, 0 or more";
	if (streq(si->builtin, "positiveInteger"))
		return "a whole number, 1 or more";
	if (streq(si->builtin, "long"))
		return "a whole number of at most 18 digits";
	switch (xsd_builtin_class(si->builtin)) {
	case 'i': return "a whole number";
	case 'd': return "a number";
	case 'b': return "true or false";
	default: return "a valid value";
	}
}

static void add_found(strbuf *sb, const char *found, int quiet);

static void enum_message(strbuf *sb, const xsd_simple_info *si, const char *found, int quiet)
{
	strbuf_adds(sb, "must be one of ");
	for (size_t i = 0; i < si->n_enums; i++)
		strbuf_addf(sb, "%s%s", i ? ", " : "", si->enums[i]);
	add_found(sb, found, quiet);
	const char *hint = diag_suggest(found, si->enums, si->n_enums);
	if (hint)
		strbuf_addf(sb, "; did you mean '%s'?", hint);
}

/* ", found 'x'", unless the subject already shows the value (a key of a free map). */
static void add_found(strbuf *sb, const char *found, int quiet)
{
	if (quiet)
		return;
	if (*found)
		strbuf_addf(sb, ", found '%s'", found);
	else
		strbuf_adds(sb, ", found an empty value");
}

/* The message and code for a value the schema refused. */
static const char *value_message(strbuf *sb, int code, const xsd_simple_info *si, const char *found,
				 int quiet)
{
	switch (code) {
	case XML_SCHEMAV_CVC_ENUMERATION_VALID:
		enum_message(sb, si, found, quiet);
		return "schema-enum";
	case XML_SCHEMAV_CVC_MININCLUSIVE_VALID: case XML_SCHEMAV_CVC_MAXINCLUSIVE_VALID:
	case XML_SCHEMAV_CVC_MINEXCLUSIVE_VALID: case XML_SCHEMAV_CVC_MAXEXCLUSIVE_VALID:
		if (si->min && si->max)
			strbuf_addf(sb, "must be between %s and %s", si->min, si->max);
		else if (si->min)
			strbuf_addf(sb, "must be at least %s", si->min);
		else
			strbuf_addf(sb, "must be at most %s", si->max ? si->max : "the maximum");
		add_found(sb, found, quiet);
		return "schema-range";
	case XML_SCHEMAV_CVC_PATTERN_VALID:
		if (si->phrase)
			strbuf_addf(sb, "must be %s", si->phrase);
		else
			strbuf_addf(sb, "must match the pattern '%s'", si->pattern);
		add_found(sb, found, quiet);
		return "schema-pattern";
	case XML_SCHEMAV_CVC_MINLENGTH_VALID: case XML_SCHEMAV_CVC_MAXLENGTH_VALID:
	case XML_SCHEMAV_CVC_LENGTH_VALID:
		if (!*found)
			strbuf_adds(sb, "must not be empty");
		else if (si->max_len)
			strbuf_addf(sb, "must be at most %s characters long", si->max_len);
		else
			strbuf_addf(sb, "must be at least %s characters long", si->min_len);
		add_found(sb, found, quiet);
		return "schema-length";
	default:
		strbuf_addf(sb, "must be %s", type_phrase(si));
		add_found(sb, found, quiet);
		return "schema-type";
	}
}

static void bad_value(vctx *v, xmlNodePtr el, const char *attr, int code)
{
	origin *o;
	const xmlNode *decl;
	if (attr) {
		xmlAttrPtr a = xmlHasProp(el, BAD_CAST attr);
		o = a ? a->_private : NULL;
		decl = xsd_type_child(type_of(el), XSD_ATTRIBUTE, attr);
	} else {
		o = origin_of(el);
		decl = decl_of(el);
	}
	if (!o || !o->value || o->value->kind != NODE_SCALAR || o->reported)
		return;
	o->reported = 1;
	xsd_simple_info si;
	xsd_simple_info_of(decl, &si);
	strbuf sb = STRBUF_INIT;
	const char *what = subject(v, el, attr, o);
	int quiet = attr && streq(attr, "key") && streq((const char *)el->name, "entry");
	const char *code_name = value_message(&sb, code, &si, o->value->str, quiet);
	add(v, o->value->pos, o->value, code_name, "%s %s", what, sb.buf);
	strbuf_release(&sb);
}

static void generic_error(vctx *v, xmlNodePtr el, const char *msg)
{
	origin *o = origin_of(el);
	const char *text = strstr(msg, ": ");
	text = text ? text + 2 : msg;
	size_t n = strlen(text);
	while (n && (text[n - 1] == '\n' || text[n - 1] == '.'))
		n--;
	src_pos pos = o && o->value ? o->value->pos : (src_pos){ v->e->path, 0, 0 };
	add(v, pos, o ? o->value : NULL, "schema", "%.*s", (int)n, text);
}

static void schema_error(vctx *v, const xerr *x)
{
	xmlNodePtr el = x->node;
	if (!el || el->type != XML_ELEMENT_NODE || el->doc != v->doc || !origin_of(el)) {
		generic_error(v, NULL, x->msg);
		return;
	}
	char *attr = message_attr(x->msg);
	switch (x->code) {
	case XML_SCHEMAV_CVC_COMPLEX_TYPE_3_2_1: case XML_SCHEMAV_CVC_COMPLEX_TYPE_3_2_2:
		attr_not_allowed(v, el, x->str1 ? x->str1 : attr);
		break;
	case XML_SCHEMAV_CVC_COMPLEX_TYPE_4:
		if (x->str1)
			missing_key(v, el, x->str1);
		break;
	case XML_SCHEMAV_ELEMENT_CONTENT:
		if (strstr(x->msg, "Missing child"))
			missing_children(v, el);
		else
			unexpected_element(v, el);
		break;
	case XML_SCHEMAV_CVC_DATATYPE_VALID_1_2_1: case XML_SCHEMAV_CVC_DATATYPE_VALID_1_2_2:
	case XML_SCHEMAV_CVC_DATATYPE_VALID_1_2_3: case XML_SCHEMAV_CVC_FACET_VALID:
	case XML_SCHEMAV_CVC_LENGTH_VALID: case XML_SCHEMAV_CVC_MINLENGTH_VALID:
	case XML_SCHEMAV_CVC_MAXLENGTH_VALID: case XML_SCHEMAV_CVC_MININCLUSIVE_VALID:
	case XML_SCHEMAV_CVC_MAXINCLUSIVE_VALID: case XML_SCHEMAV_CVC_MINEXCLUSIVE_VALID:
	case XML_SCHEMAV_CVC_MAXEXCLUSIVE_VALID: case XML_SCHEMAV_CVC_TOTALDIGITS_VALID:
	case XML_SCHEMAV_CVC_FRACTIONDIGITS_VALID: case XML_SCHEMAV_CVC_PATTERN_VALID:
	case XML_SCHEMAV_CVC_ENUMERATION_VALID:
		bad_value(v, el, attr, x->code);
		break;
	case XML_SCHEMAV_CVC_ATTRIBUTE_3: case XML_SCHEMAV_CVC_TYPE_3_1_1:
	case XML_SCHEMAV_CVC_ELT_1: case XML_SCHEMAV_CVC_COMPLEX_TYPE_2_3:
		/* follow-ups of an error already reported on the same value */
		if (attr || x->code == XML_SCHEMAV_CVC_COMPLEX_TYPE_2_3)
			break;
		generic_error(v, el, x->msg);
		break;
	default:
		generic_error(v, el, x->msg);
		break;
	}
	free(attr);
}

/* Validates, reports, drops unexpected elements and goes again while it dropped any. */
static void run_schema(vctx *v, xmlSchemaPtr schema)
{
	for (int pass = 0; pass < MAX_PASSES; pass++) {
		xerr_list errs = { 0 };
		xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
		if (!vc)
			abort();
		xmlSchemaSetValidStructuredErrors(vc, on_schema_error, &errs);
		xmlSchemaValidateDoc(vc, v->doc);
		xmlSchemaFreeValidCtxt(vc);
		v->n_drop = 0;
		for (size_t i = 0; i < errs.n; i++) {
			schema_error(v, &errs.items[i]);
			free(errs.items[i].str1);
			free(errs.items[i].msg);
		}
		free(errs.items);
		if (!v->n_drop)
			return;
		for (size_t i = 0; i < v->n_drop; i++)
			if (v->drop[i] != xmlDocGetRootElement(v->doc))
				xmlUnlinkNode(v->drop[i]);
		for (size_t i = 0; i < v->n_drop; i++)
			if (v->drop[i] != xmlDocGetRootElement(v->doc))
				xmlFreeNode(v->drop[i]);
	}
}

/* ---------------------------------------------------------------- quoted scalars */

static int written_as_string(const node *n)
{
	return n && n->kind == NODE_SCALAR &&
	       (n->quoted || streq(n->tag, "!!str") || streq(n->tag, "tag:yaml.org,2002:str"));
}

static void quoted_value(vctx *v, const xmlNode *el, const char *attr, origin *o, const xmlNode *decl)
{
	if (!o || o->reported || !written_as_string(o->value))
		return;
	xsd_simple_info si;
	xsd_simple_info_of(decl, &si);
	char cls = xsd_builtin_class(si.builtin);
	if (cls == 's')
		return;
	const char *what = subject(v, el, attr, o);
	const char *how = o->value->quoted ? "remove the quotes" : "remove the !!str tag";
	if (cls == 'b')
		add(v, o->value->pos, o->value, "quoted-bool",
		    "%s expects true or false, found the string \"%s\" (%s)", what, o->value->str, how);
	else
		add(v, o->value->pos, o->value, "quoted-number",
		    "%s expects a number, found the string \"%s\" (%s)", what, o->value->str, how);
}

static void check_quoted(vctx *v, const xmlNode *el)
{
	for (const xmlNode *c = el; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		for (xmlAttrPtr a = c->properties; a; a = a->next) {
			origin *ao = a->_private;
			if (ao && !ao->reported && written_as_string(ao->value))
				quoted_value(v, c, (const char *)a->name, ao,
					     xsd_type_child(type_of(c), XSD_ATTRIBUTE, (const char *)a->name));
		}
		origin *o = origin_of(c);
		if (o && o->list && !o->reported && written_as_string(o->value))
			quoted_value(v, c, NULL, o, decl_of(c));
		check_quoted(v, c->children);
	}
}

/* ---------------------------------------------------------------- entry point */

static int pending_cmp(const void *x, const void *y)
{
	const pending *a = x, *b = y;
	int f = strcmp(a->pos.file ? a->pos.file : "", b->pos.file ? b->pos.file : "");
	if (f)
		return f;
	if (a->pos.line != b->pos.line)
		return a->pos.line < b->pos.line ? -1 : 1;
	if (a->pos.col != b->pos.col)
		return a->pos.col < b->pos.col ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Reports everything found, in source order, with the inheritance of each value. */
static int flush(vctx *v)
{
	if (v->n_out)
		qsort(v->out, v->n_out, sizeof *v->out, pending_cmp);
	for (size_t i = 0; i < v->n_out; i++) {
		diag_report(v->p->diag, DIAG_ERROR, v->out[i].pos, v->out[i].code, "%s", v->out[i].msg);
		if (v->out[i].value)
			diag_note_origin(v->p->diag, v->out[i].value);
		if (v->out[i].first)
			diag_note(v->p->diag, v->out[i].first->pos, "product '%s' is first defined here",
				  v->out[i].first->str);
		free(v->out[i].msg);
	}
	int n = (int)v->n_out;
	free(v->out);
	free(v->drop);
	return n;
}

/*
 * The product catalogue, after the schema: ids are unique, and `exclusive_to`
 * names concrete editions. A value the schema already refused is left alone.
 */
static int reported_at(const vctx *v, src_pos pos)
{
	for (size_t i = 0; i < v->n_out; i++)
		if (v->out[i].pos.line == pos.line && v->out[i].pos.col == pos.col &&
		    streq(v->out[i].pos.file, pos.file))
			return 1;
	return 0;
}

static void exclusive_edition(vctx *v, const node *ed, const char *product, const char **names, size_t n)
{
	const edition *e = ed->kind == NODE_SCALAR ? project_find(v->p, ed->str) : NULL;
	if (ed->kind != NODE_SCALAR || reported_at(v, ed->pos) || (e && !e->abstract))
		return;
	const char *hint = diag_suggest(ed->str, names, n);
	if (e)
		add(v, ed->pos, NULL, "unknown-edition", "product '%s' names the base '%s' in 'exclusive_to'; "
		    "only editions offer products, name those that extend it", product, ed->str);
	else
		add(v, ed->pos, NULL, "unknown-edition", "product '%s' names unknown edition '%s' in "
		    "'exclusive_to'%s%s%s", product, ed->str, hint ? "; did you mean '" : "",
		    hint ? hint : "", hint ? "'?" : "");
}

static void check_catalogue(vctx *v, const node *list)
{
	const char *names[MAX_NAMES];
	size_t n = 0;
	for (size_t i = 0; i < v->p->n_editions && n < MAX_NAMES; i++)
		if (!v->p->editions[i]->abstract)
			names[n++] = v->p->editions[i]->id;
	for (size_t i = 0; list && list->kind == NODE_SEQ && i < list->count; i++) {
		const node *id = node_get(list->items[i], "id"), *ex = node_get(list->items[i], "exclusive_to");
		if (!id || id->kind != NODE_SCALAR)
			continue;
		for (size_t j = 0; j < i; j++)
			if (node_is(node_get(list->items[j], "id"), id->str) && !reported_at(v, id->pos)) {
				add(v, id->pos, NULL, "duplicate-product", "product '%s' is defined twice", id->str);
				v->out[v->n_out - 1].first = node_get(list->items[j], "id");
				break;
			}
		for (size_t j = 0; ex && ex->kind == NODE_SEQ && j < ex->count; j++)
			exclusive_edition(v, ex->items[j], id->str, names, n);
	}
}

/* The tree of e (an edition, or the catalogue as root element "catalogue") against its schema. */
static int validate_tree(project *p, const edition *e, const char *schema_dir, const char *root_el)
{
	const node *root = e->resolved;
	int products = streq(root_el, "catalogue");
	if (!root)
		return 0;           /* resolution failed and said why */
	xsd_lock();
	xsd_set *s = xsd_load(schema_dir ? schema_dir : "schemas");
	const char *error = s->error ? s->error : products ? s->products_error : NULL;
	if (error) {
		if (s->told != p->diag || products)  /* once per run, not once per edition */
			diag_report(p->diag, DIAG_ERROR, (src_pos){ NULL, 0, 0 }, "schema-missing", "%s", error);
		if (s->error)
			s->told = p->diag;
		xsd_unlock();
		return 1;
	}
	xsd_unlock();
	vctx v = { .p = p, .e = e, .top = products ? "the product catalogue" : "the edition" };
	if (root->kind != NODE_MAP) {
		add(&v, root->pos, NULL, "schema-type", "%s must be a map of keys, found %s",
		    products ? "the product catalogue" : "an edition", kind_text(root));
		return flush(&v);
	}
	v.doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr top = xmlNewDocNode(v.doc, NULL, BAD_CAST root_el, NULL);
	top->_private = origin_new(&v, NULL, root);
	xmlDocSetRootElement(v.doc, top);
	build_map(&v, top, root);
	run_schema(&v, products ? s->products_schema : s->schema);
	check_quoted(&v, xmlDocGetRootElement(v.doc));
	xmlFreeDoc(v.doc);
	if (products)
		check_catalogue(&v, node_get(root, "products"));
	remember_clean(&v);
	return flush(&v);
}

int validate_edition(project *p, const edition *e, const char *schema_dir)
{
	return validate_tree(p, e, schema_dir, "edition");
}

int validate_products(project *p, const char *schema_dir)
{
	if (!p->products)
		return 0;
	edition cat = { .id = "products", .path = p->products_path, .resolved = p->products };
	return validate_tree(p, &cat, schema_dir, "catalogue");
}
