/*
 * xsd: the schemas, loaded and read. See xsd.h for what is asked of them.
 *
 * Loading. edition.xsd (which includes components.xsd) and products.xsd (which
 * includes edition.xsd) are read as plain documents, following xs:include, and
 * compiled by libxml2 for validation. A missing or broken edition.xsd is an
 * error for everything; a missing products.xsd stops only the catalogue's check.
 * The set is parsed once per process and kept while the same directory is asked
 * for; loading another one releases it and bumps the generation, so answers the
 * memo (vcache.c) holds about the old documents are never used again.
 *
 * Reading. To name the keys allowed somewhere ("did you mean"), to say what a
 * value should look like, and to know which keys hold numbers or booleans,
 * validation needs more than libxml2's validator tells, so this file reads the
 * XSD documents itself. It understands the subset the schemas use: global and
 * local element/attribute declarations (name, ref, type, use, minOccurs),
 * complexType with sequence, choice, all, group and attributeGroup references and
 * complexContent extension, simpleType restrictions with their facets, xs:include,
 * and <xs:appinfo> under a simpleType as the phrase messages use ("a colour like
 * #1A2B3C"). Built-in types are written with the prefix xs:, and the schemas have
 * no target namespace. Top-level declarations are indexed (sorted, searched by
 * kind and name); the walks over a type's content are remembered per question.
 */
#include "xsd.h"

#include <libxml/parser.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "vcache.h"

#define XS_NS "http://www.w3.org/2001/XMLSchema"
#define MAX_XSD_DOCS 8
#define MAX_XSD_DEPTH 64

/* ---------------------------------------------------------------- schema cache */

typedef struct schema_set {
	xsd_set pub;                /* the compiled schemas, errors and told */
	char *dir;                  /* the schema_dir it was loaded from */
	xmlDocPtr docs[MAX_XSD_DOCS];
	size_t n_docs;
	const char *components[XSD_MAX_NAMES];   /* names in the group "component" */
	size_t n_components;
	struct global_entry *globals;        /* every top-level declaration, sorted */
	size_t n_globals;
	unsigned generation;        /* bumped on release: older memo answers are stale */
	int local;                  /* validity is local (see schema_is_local) */
} schema_set;

#define MEMO_IS_LIST 2         /* memo kinds besides xsd_kind */
#define MEMO_ITEM_DECL 3

typedef struct global_entry {
	const char *kind;           /* "element", "complexType", ... */
	const char *name;
	const xmlNode *decl;
} global_entry;

static schema_set cache;

/*
 * Threads. Editions may be validated on several threads at once: the schema is
 * loaded (and cache.pub.told written) under schema_lock, libxml2 only reads a
 * compiled schema, and the memo is vcache.c's (one table per thread).
 */
static pthread_mutex_t schema_lock = PTHREAD_MUTEX_INITIALIZER;

void xsd_lock(void)
{
	pthread_mutex_lock(&schema_lock);
}

void xsd_unlock(void)
{
	pthread_mutex_unlock(&schema_lock);
}

static int streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static int is_xs(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
	       xmlStrEqual(n->ns->href, BAD_CAST XS_NS) && xmlStrEqual(n->name, BAD_CAST name);
}

/* An attribute of an XSD node, pointing into the document (no copy to free). */
static const char *prop(const xmlNode *n, const char *name)
{
	xmlAttrPtr a = n ? xmlHasProp((xmlNodePtr)n, BAD_CAST name) : NULL;
	if (!a || !a->children || a->children->type != XML_TEXT_NODE)
		return NULL;
	return (const char *)a->children->content;
}

static int is_builtin(const char *qname)
{
	return qname && !strncmp(qname, "xs:", 3);
}

static int global_cmp(const void *x, const void *y)
{
	const global_entry *a = x, *b = y;
	int k = strcmp(a->kind, b->kind);
	return k ? k : strcmp(a->name, b->name);
}

/* Indexes the top-level declarations of every loaded document (looked up constantly). */
static void index_globals(schema_set *s)
{
	size_t n = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < s->n_docs; i++) {
			const xmlNode *root = xmlDocGetRootElement(s->docs[i]);
			for (const xmlNode *c = root ? root->children : NULL; c; c = c->next) {
				if (c->type != XML_ELEMENT_NODE || !prop(c, "name"))
					continue;
				if (pass)
					s->globals[n] = (global_entry){ (const char *)c->name, prop(c, "name"), c };
				n++;
			}
		}
		if (!pass) {
			s->globals = xcalloc(n ? n : 1, sizeof *s->globals);
			n = 0;
		}
	}
	s->n_globals = n;
	qsort(s->globals, n, sizeof *s->globals, global_cmp);
}

/* A global declaration of the given XSD kind ("element", "simpleType", ...). */
const xmlNode *xsd_global(const char *kind, const char *qname)
{
	if (!qname || is_builtin(qname) || !cache.n_globals)
		return NULL;
	const char *colon = strchr(qname, ':');
	global_entry key = { kind, colon ? colon + 1 : qname, NULL };
	const global_entry *g = bsearch(&key, cache.globals, cache.n_globals, sizeof key, global_cmp);
	return g ? g->decl : NULL;
}

static void parse_error(void *ctx, xmlErrorPtr err)
{
	char **out = ctx;
	if (*out || !err || !err->message)
		return;
	size_t n = strlen(err->message);
	while (n && (err->message[n - 1] == '\n' || err->message[n - 1] == '.'))
		n--;
	*out = xstrndup(err->message, n);
}

static int load_xsd_doc(schema_set *s, const char *dir, const char *file, int depth)
{
	char *path = NULL;
	if (asprintf(&path, "%s/%s", dir, file) < 0)
		abort();
	for (size_t i = 0; i < s->n_docs; i++)
		if (streq((const char *)s->docs[i]->URL, path)) {
			free(path);
			return 0;
		}
	xmlDocPtr doc = s->n_docs < MAX_XSD_DOCS && depth < 8 ?
		xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING) : NULL;
	if (!doc) {
		if (asprintf(&s->pub.error, "cannot read the schema '%s'", path) < 0)
			abort();
		free(path);
		return -1;
	}
	free(path);
	s->docs[s->n_docs++] = doc;
	for (const xmlNode *c = xmlDocGetRootElement(doc)->children; c; c = c->next)
		if (is_xs(c, "include") && prop(c, "schemaLocation") &&
		    load_xsd_doc(s, dir, prop(c, "schemaLocation"), depth + 1) < 0)
			return -1;
	return 0;
}

static void schema_release(schema_set *s)
{
	if (s->pub.schema)
		xmlSchemaFree(s->pub.schema);
	if (s->pub.products_schema)
		xmlSchemaFree(s->pub.products_schema);
	free(s->pub.products_error);
	for (size_t i = 0; i < s->n_docs; i++)
		xmlFreeDoc(s->docs[i]);
	free(s->dir);
	free(s->pub.error);
	free(s->globals);
	unsigned generation = s->generation + 1;
	memset(s, 0, sizeof *s);
	s->generation = generation;
}

static void collect_components(schema_set *s);

/*
 * Whether validity is local: no identity constraints (unique, key, keyref) and
 * no ID/IDREF types, the only XSD features that relate one element to others.
 */
static int schema_is_local(const xmlNode *n)
{
	static const char *const refs[] = { "type", "base", "itemType", "memberTypes" };
	for (; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (is_xs(n, "unique") || is_xs(n, "key") || is_xs(n, "keyref"))
			return 0;
		for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
			const char *t = prop(n, refs[i]);
			if (t && (strstr(t, "xs:ID") || strstr(t, "ENTIT") || strstr(t, "NOTATION")))
				return 0;
		}
		if (!schema_is_local(n->children))
			return 0;
	}
	return 1;
}

static xmlSchemaPtr compile_xsd(const char *dir, const char *file, char **error)
{
	char *path = NULL, *err = NULL;
	if (asprintf(&path, "%s/%s", dir, file) < 0)
		abort();
	xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(path);
	xmlSchemaSetParserStructuredErrors(pc, parse_error, &err);
	xmlSchemaPtr schema = xmlSchemaParse(pc);
	xmlSchemaFreeParserCtxt(pc);
	if (!schema && asprintf(error, "the schema '%s' is broken: %s", path,
				err ? err : "libxml2 could not compile it") < 0)
		abort();
	free(err);
	free(path);
	return schema;
}

/*
 * The compiled schemas and their documents for dir, loaded on first use.
 * products.xsd includes edition.xsd, so one index holds the declarations of both.
 */
xsd_set *xsd_load(const char *dir)
{
	if (cache.dir && streq(cache.dir, dir))
		return &cache.pub;
	schema_release(&cache);
	cache.dir = xstrdup(dir);
	if (load_xsd_doc(&cache, dir, "edition.xsd", 0) < 0)
		return &cache.pub;
	if (load_xsd_doc(&cache, dir, "products.xsd", 0) < 0) {
		cache.pub.products_error = cache.pub.error;
		cache.pub.error = NULL;
	}
	index_globals(&cache);
	cache.pub.schema = compile_xsd(dir, "edition.xsd", &cache.pub.error);
	if (cache.pub.schema) {
		collect_components(&cache);
		cache.local = 1;
		for (size_t i = 0; i < cache.n_docs; i++)
			cache.local &= schema_is_local(xmlDocGetRootElement(cache.docs[i]));
		if (!cache.pub.products_error)
			cache.pub.products_schema = compile_xsd(dir, "products.xsd", &cache.pub.products_error);
	}
	return &cache.pub;
}

unsigned xsd_generation(void)
{
	return cache.generation;
}

/* ---------------------------------------------------------------- reading the XSD */

/* A visit of the keys a complex type allows; visit returns 1 to stop. */
typedef struct xsd_walk {
	int (*visit)(struct xsd_walk *w, xsd_kind kind, const char *name, const xmlNode *decl, int required);
	xsd_kind want_kind;
	const char *want;
	const xmlNode *found;
	xsd_names *out;             /* visit_collect's */
} xsd_walk;

const char *xsd_decl_name(const xmlNode *decl, const char *kind)
{
	const char *name = prop(decl, "name");
	if (!name) {
		const xmlNode *g = xsd_global(kind, prop(decl, "ref"));
		name = g ? prop(g, "name") : NULL;
	}
	return name;
}

static int walk_content(xsd_walk *w, const xmlNode *n, int optional, int depth)
{
	if (!n || depth > MAX_XSD_DEPTH)
		return 0;
	for (const xmlNode *c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || is_xs(c, "annotation"))
			continue;
		int opt = optional || is_xs(c, "choice") || streq(prop(c, "minOccurs"), "0");
		if (is_xs(c, "element")) {
			const char *name = xsd_decl_name(c, "element");
			if (name && w->visit(w, XSD_ELEMENT, name, c, !opt))
				return 1;
		} else if (is_xs(c, "attribute")) {
			const char *name = xsd_decl_name(c, "attribute");
			if (name && w->visit(w, XSD_ATTRIBUTE, name, c, streq(prop(c, "use"), "required")))
				return 1;
		} else if (is_xs(c, "group") || is_xs(c, "attributeGroup")) {
			if (walk_content(w, xsd_global((const char *)c->name, prop(c, "ref")), opt, depth + 1))
				return 1;
		} else if (is_xs(c, "extension")) {
			if (walk_content(w, xsd_global("complexType", prop(c, "base")), opt, depth + 1) ||
			    walk_content(w, c, opt, depth + 1))
				return 1;
		} else if (is_xs(c, "sequence") || is_xs(c, "choice") || is_xs(c, "all") ||
			   is_xs(c, "complexContent")) {
			if (walk_content(w, c, opt, depth + 1))
				return 1;
		}
	}
	return 0;
}

/* ---- memo: the walks below are asked the same questions for every element ---- */

/* The remembered answer (1 and *result) of a question about the loaded schema's type. */
static int memo_get(const xmlNode *type, int kind, const char *name, const xmlNode **result)
{
	const void *r = NULL;
	int known = vcache_memo_get(cache.generation, type, kind, name, &r);
	*result = r;
	return known;
}

static void memo_put(const xmlNode *type, int kind, const char *name, const xmlNode *result)
{
	vcache_memo_put(cache.generation, type, kind, name, result);
}

static int visit_find(xsd_walk *w, xsd_kind kind, const char *name, const xmlNode *decl, int required)
{
	if (kind != w->want_kind || !streq(name, w->want))
		return 0;
	w->found = decl;
	return 1;
}

/* The declaration of a key allowed by a complex type, or NULL. */
const xmlNode *xsd_type_child(const xmlNode *type, xsd_kind kind, const char *name)
{
	if (!type || !is_xs(type, "complexType"))
		return NULL;
	const xmlNode *known;
	if (memo_get(type, (int)kind, name, &known))
		return known;
	xsd_walk w = { .visit = visit_find, .want_kind = kind, .want = name };
	walk_content(&w, type, 0, 0);
	memo_put(type, (int)kind, name, w.found);
	return w.found;
}

static int visit_collect(xsd_walk *w, xsd_kind kind, const char *name, const xmlNode *decl, int required)
{
	if (w->want && !(kind == w->want_kind && required))
		return 0;
	for (size_t i = 0; i < w->out->n_names; i++)
		if (streq(w->out->names[i], name))
			return 0;
	if (w->out->n_names < XSD_MAX_NAMES)
		w->out->names[w->out->n_names++] = name;
	return 0;
}

void xsd_type_names(const xmlNode *type, xsd_names *out, int only_required, xsd_kind kind)
{
	memset(out, 0, sizeof *out);
	xsd_walk w = { .visit = visit_collect, .want_kind = kind, .want = only_required ? "" : NULL,
		       .out = out };
	if (type && is_xs(type, "complexType"))
		walk_content(&w, type, 0, 0);
}

const xmlNode *xsd_decl_type(const xmlNode *decl)
{
	for (int i = 0; decl && prop(decl, "ref") && i < 8; i++)
		decl = xsd_global((const char *)decl->name, prop(decl, "ref"));
	if (!decl)
		return NULL;
	const char *t = prop(decl, "type");
	if (t) {
		const xmlNode *ct = xsd_global("complexType", t);
		return ct ? ct : xsd_global("simpleType", t);
	}
	for (const xmlNode *c = decl->children; c; c = c->next)
		if (is_xs(c, "complexType") || is_xs(c, "simpleType"))
			return c;
	return NULL;
}

static void collect_components(schema_set *s)
{
	xsd_names names;
	memset(&names, 0, sizeof names);
	xsd_walk w = { .visit = visit_collect, .out = &names };
	walk_content(&w, xsd_global("group", "component"), 0, 0);
	memcpy(s->components, names.names, names.n_names * sizeof names.names[0]);
	s->n_components = names.n_names;
}

const char *const *xsd_components(size_t *n)
{
	*n = cache.n_components;
	return cache.components;
}

int xsd_is_component(const char *name)
{
	for (size_t i = 0; i < cache.n_components; i++)
		if (streq(cache.components[i], name))
			return 1;
	return 0;
}

int xsd_is_container(const char *component)
{
	const xmlNode *type = xsd_decl_type(xsd_global("element", component));
	return cache.n_components && xsd_type_child(type, XSD_ELEMENT, cache.components[0]) != NULL;
}

/* Stops at the first attribute. */
static int visit_attribute(xsd_walk *w, xsd_kind kind, const char *name, const xmlNode *decl, int required)
{
	return kind == XSD_ATTRIBUTE;
}

/* No attributes, a repeated content (maps of <entry> are maps). */
int xsd_type_is_list(const xmlNode *type)
{
	if (!type || !is_xs(type, "complexType"))
		return 0;
	const xmlNode *known;
	if (memo_get(type, MEMO_IS_LIST, "", &known))
		return known != NULL;
	xsd_walk w = { .visit = visit_attribute };
	int list = !walk_content(&w, type, 0, 0) && !xsd_type_child(type, XSD_ELEMENT, "entry");
	memo_put(type, MEMO_IS_LIST, "", list ? type : NULL);
	return list;
}

static const char *appinfo(const xmlNode *type)
{
	for (const xmlNode *a = type->children; a; a = a->next)
		if (is_xs(a, "annotation"))
			for (const xmlNode *i = a->children; i; i = i->next)
				if (is_xs(i, "appinfo") && i->children && i->children->type == XML_TEXT_NODE)
					return (const char *)i->children->content;
	return NULL;
}

static void take_facets(const xmlNode *r, xsd_simple_info *si)
{
	int had_enums = si->n_enums > 0;
	for (const xmlNode *f = r->children; f; f = f->next) {
		const char *v = prop(f, "value");
		if (is_xs(f, "minInclusive") && !si->min)
			si->min = v;
		else if (is_xs(f, "maxInclusive") && !si->max)
			si->max = v;
		else if (is_xs(f, "pattern") && !si->pattern)
			si->pattern = v;
		else if (is_xs(f, "minLength") && !si->min_len)
			si->min_len = v;
		else if (is_xs(f, "maxLength") && !si->max_len)
			si->max_len = v;
		else if (is_xs(f, "enumeration") && !had_enums && si->n_enums < XSD_MAX_ENUMS)
			si->enums[si->n_enums++] = v;
	}
}

void xsd_simple_info_of(const xmlNode *decl, xsd_simple_info *si)
{
	memset(si, 0, sizeof *si);
	for (int i = 0; decl && prop(decl, "ref") && i < 8; i++)
		decl = xsd_global((const char *)decl->name, prop(decl, "ref"));
	if (!decl)
		return;
	if (is_builtin(prop(decl, "type"))) {
		si->builtin = prop(decl, "type") + 3;
		return;
	}
	const xmlNode *st = xsd_decl_type(decl);
	for (int depth = 0; st && is_xs(st, "simpleType") && depth < MAX_XSD_DEPTH; depth++) {
		if (!si->phrase)
			si->phrase = appinfo(st);
		const xmlNode *r = st->children;
		while (r && !is_xs(r, "restriction"))
			r = r->next;
		if (!r)
			return;
		take_facets(r, si);
		const char *base = prop(r, "base");
		if (is_builtin(base)) {
			si->builtin = base + 3;
			return;
		}
		if (base) {
			st = xsd_global("simpleType", base);
		} else {
			st = r->children;
			while (st && !is_xs(st, "simpleType"))
				st = st->next;
		}
	}
}

char xsd_builtin_class(const char *b)
{
	static const char *const ints[] = { "integer", "long", "int", "short", "byte",
		"nonNegativeInteger", "positiveInteger", "negativeInteger", "nonPositiveInteger",
		"unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte" };
	if (!b)
		return 's';
	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
		if (streq(b, ints[i]))
			return 'i';
	if (streq(b, "decimal") || streq(b, "float") || streq(b, "double"))
		return 'd';
	return streq(b, "boolean") ? 'b' : 's';
}

/* ---------------------------------------------------------------- lists of free items */

/*
 * validate.c leaves out of the document a list item equal to one already found
 * clean under the same declaration (see known_clean there). That is only sound
 * where validity is local (schema_is_local) and in a list whose type is one
 * optional, unbounded particle: any number of items is allowed, so the list
 * itself stays valid without the item.
 */
static int is_unbounded_optional(const xmlNode *particle)
{
	return streq(prop(particle, "minOccurs"), "0") && streq(prop(particle, "maxOccurs"), "unbounded");
}

/* The only child element of a non-annotation node, or NULL when it has none or several. */
static const xmlNode *only_child(const xmlNode *n)
{
	const xmlNode *one = NULL;
	for (const xmlNode *c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || is_xs(c, "annotation"))
			continue;
		if (one)
			return NULL;
		one = c;
	}
	return one;
}

/* A choice of single elements: each alternative is one item, nothing more. */
static int choice_of_elements(const xmlNode *group)
{
	const xmlNode *choice = group ? only_child(group) : NULL;
	if (!choice || !is_xs(choice, "choice") || prop(choice, "minOccurs") || prop(choice, "maxOccurs"))
		return 0;
	for (const xmlNode *c = choice->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || is_xs(c, "annotation"))
			continue;
		if (!is_xs(c, "element") || prop(c, "minOccurs") || prop(c, "maxOccurs"))
			return 0;
	}
	return 1;
}

/*
 * The declaration of an item of a list type where items may be left out: the
 * type's whole content is one optional, unbounded particle, either
 *   <xs:sequence><xs:element minOccurs="0" maxOccurs="unbounded"/></xs:sequence>
 * or <xs:group ref minOccurs="0" maxOccurs="unbounded"/> of a choice of single
 * elements (layout). NULL for an item of any other type.
 */
const xmlNode *xsd_list_item_decl(const xmlNode *type, const char *name)
{
	if (!cache.local || !type || !is_xs(type, "complexType"))
		return NULL;
	const xmlNode *free_list;
	if (!memo_get(type, MEMO_ITEM_DECL, "", &free_list)) {
		const xmlNode *p = only_child(type), *el = p && is_xs(p, "sequence") ? only_child(p) : NULL;
		int ok = (el && is_xs(el, "element") && is_unbounded_optional(el)) ||
			 (p && is_xs(p, "group") && is_unbounded_optional(p) &&
			  choice_of_elements(xsd_global("group", prop(p, "ref"))));
		free_list = ok ? type : NULL;
		memo_put(type, MEMO_ITEM_DECL, "", free_list);
	}
	return free_list ? xsd_type_child(type, XSD_ELEMENT, name) : NULL;
}
