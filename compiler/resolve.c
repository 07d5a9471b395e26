/*
 * resolve: an edition merged with the editions it extends, fragments expanded.
 *
 * For each edition, base first:
 *   1. expand: a fresh copy of the edition's own document in which every list
 *      item `{use: NAME, with: {...}}` is replaced by the fragment's body, with
 *      `{{param}}` in its scalars replaced by the argument (nested uses expand too).
 *      The copy is a tree that belongs to this edition alone, so the merge below
 *      may set fields on its nodes; the base's resolved tree is shared and is
 *      never written to.
 *   2. merge the copy over the base's resolved tree: maps merge deeply, a scalar
 *      (or a replaced list) records the value it replaced in `overrides`, values
 *      taken unchanged from the base are copied with `inherited` set, lists of
 *      maps that all carry an `id` merge by id (before:/after:/remove: are
 *      instructions, dropped from the result), other lists are replaced.
 *      `edition` and `abstract` belong to each edition and are never inherited.
 *
 * An edition whose base failed (missing, cyclic, unreadable) gets resolved ==
 * NULL and no further message: the root cause was reported once.
 *
 * edition_strings flattens the locale file (nested keys joined with '.') once per
 * locale and overlays the edition's `strings:`; the result is cached.
 */
#include "model.h"

#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

#define FRAGMENT_MAX_DEPTH 16
#define FRAGMENT_MAX_NODES 1000000     /* nodes made by expanding fragments, per edition */

typedef struct expander {
	project *p;
	const named_doc *active[FRAGMENT_MAX_DEPTH];   /* fragments being expanded */
	size_t depth;
	size_t made;                /* nodes made so far: fragments using fragments can explode */
	int over;                   /* the budget was exceeded (reported once) */
} expander;

static const char *const directive_keys[] = { "before", "after", "remove" };

static int is_directive(const node *key)
{
	for (size_t i = 0; i < 3; i++)
		if (node_is(key, directive_keys[i]))
			return 1;
	return 0;
}

static const char *item_id(const node *n)
{
	if (!n || n->kind != NODE_MAP)
		return NULL;
	return node_get_str(n, "id");
}

/* A list whose items are all maps with an `id`: it merges by id. */
static int is_id_list(const node *seq)
{
	if (!seq || seq->kind != NODE_SEQ || seq->count == 0)
		return 0;
	for (size_t i = 0; i < seq->count; i++)
		if (!item_id(seq->items[i]))
			return 0;
	return 1;
}

/* ---- fragments ---- */

static const named_doc *find_fragment(const project *p, const char *name)
{
	for (size_t i = 0; i < p->n_fragments; i++)
		if (!strcmp(p->fragments[i].name, name))
			return &p->fragments[i];
	return NULL;
}

static const char *suggest_fragment(const project *p, const char *name)
{
	const char **names = xmalloc((p->n_fragments + 1) * sizeof *names);
	for (size_t i = 0; i < p->n_fragments; i++)
		names[i] = p->fragments[i].name;
	const char *s = diag_suggest(name, names, p->n_fragments);
	free(names);
	return s;
}

/* The argument for {{name}}, or NULL. */
static const node *argument(const node *with, const char *name, size_t len)
{
	if (!with)
		return NULL;
	for (size_t i = 0; i < with->count; i++)
		if (with->keys[i]->len == len && !memcmp(with->keys[i]->str, name, len))
			return with->items[i];
	return NULL;
}

/*
 * Replaces every {{name}} (spaces inside the braces allowed) by its argument. A
 * scalar that is exactly one placeholder takes the argument's quoting and tag too,
 * so `with: {size: "3"}` stays a string. Unknown names are left as written; they
 * were reported once by check_fragment.
 */
static node *substitute(arena *a, const node *s, const node *with)
{
	if (!with || !strstr(s->str, "{{"))
		return node_copy(a, s);
	strbuf sb = STRBUF_INIT;
	const char *p = s->str, *end = s->str + s->len;
	const node *whole = NULL;
	while (p < end) {
		const char *open = strstr(p, "{{");
		const char *close = open ? strstr(open + 2, "}}") : NULL;
		if (!open || !close || open >= end) {
			strbuf_add(&sb, p, (size_t)(end - p));
			break;
		}
		const char *n = open + 2, *ne = close;
		while (n < ne && *n == ' ')
			n++;
		while (ne > n && ne[-1] == ' ')
			ne--;
		const node *arg = argument(with, n, (size_t)(ne - n));
		strbuf_add(&sb, p, (size_t)(open - p));
		if (arg && arg->kind == NODE_SCALAR)
			strbuf_add(&sb, arg->str, arg->len);
		else
			strbuf_add(&sb, open, (size_t)(close + 2 - open));
		if (arg && open == s->str && close + 2 == end)
			whole = arg;
		p = close + 2;
	}
	node *r = node_new_scalar(a, s->pos, sb.buf, sb.len, s->quoted);
	r->tag = s->tag;
	if (whole) {
		r->quoted = whole->quoted;
		r->tag = whole->tag;
	}
	strbuf_release(&sb);
	return r;
}

static node *expand(expander *x, const node *n, const node *with);

static void expand_use(expander *x, node *out, const node *use, const node *with);

static node *expand_seq(expander *x, const node *n, const node *with)
{
	arena *a = x->p->arena;
	node *out = node_new_seq(a, n->pos);
	out->tag = n->tag;
	for (size_t i = 0; i < n->count && !x->over; i++) {
		const node *it = n->items[i];
		if (it->kind == NODE_MAP && node_get(it, "use"))
			expand_use(x, out, it, with);
		else
			node_seq_push(a, out, expand(x, it, with));
	}
	return out;
}

/* A copy of n with fragments expanded and (inside a fragment body) {{params}} replaced. */
static node *expand(expander *x, const node *n, const node *with)
{
	arena *a = x->p->arena;
	if (x->depth && ++x->made > FRAGMENT_MAX_NODES && !x->over) {
		x->over = 1;
		diag_report(x->p->diag, DIAG_ERROR, n->pos, "expansion-limit",
			    "fragment expansion exceeds %d nodes", FRAGMENT_MAX_NODES);
	}
	if (x->over)
		return node_new_scalar(a, n->pos, "", 0, 0);
	if (n->kind == NODE_SCALAR)
		return substitute(a, n, with);
	if (n->kind == NODE_SEQ)
		return expand_seq(x, n, with);
	node *out = node_new_map(a, n->pos);
	out->tag = n->tag;
	for (size_t i = 0; i < n->count; i++)
		node_map_push(a, out, substitute(a, n->keys[i], with), expand(x, n->items[i], with));
	return out;
}

/* The use item's arguments, checked against the fragment's params. */
static int check_arguments(project *p, const named_doc *f, const node *use, const node *args)
{
	int bad = 0;
	const node *params = node_get(f->doc, "params");
	for (size_t i = 0; params && params->kind == NODE_SEQ && i < params->count; i++) {
		const node *pn = params->items[i];
		if (pn->kind == NODE_SCALAR && !node_get(args, pn->str)) {
			diag_report(p->diag, DIAG_ERROR, use->pos, "fragment-param",
				    "missing argument '%s' for fragment '%s'", pn->str, f->name);
			diag_note(p->diag, pn->pos, "parameter '%s' declared here", pn->str);
			bad = 1;
		}
	}
	for (size_t i = 0; args && i < args->count; i++) {
		const node *k = args->keys[i];
		int known = 0;
		for (size_t j = 0; params && params->kind == NODE_SEQ && j < params->count; j++)
			known |= node_is(params->items[j], k->str);
		if (!known) {
			diag_report(p->diag, DIAG_ERROR, k->pos, "fragment-param",
				    "fragment '%s' has no parameter '%s'", f->name, k->str);
			bad = 1;
		} else if (args->items[i]->kind != NODE_SCALAR) {
			diag_report(p->diag, DIAG_ERROR, args->items[i]->pos, "fragment-param",
				    "argument '%s' must be a scalar, not a %s", k->str,
				    node_kind_name(args->items[i]->kind));
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

static int fragment_active(expander *x, const named_doc *f, const node *at)
{
	for (size_t i = 0; i < x->depth; i++) {
		if (x->active[i] != f)
			continue;
		strbuf sb = STRBUF_INIT;
		for (size_t j = i; j < x->depth; j++)
			strbuf_addf(&sb, "%s -> ", x->active[j]->name);
		strbuf_adds(&sb, f->name);
		diag_report(x->p->diag, DIAG_ERROR, at->pos, "fragment-cycle",
			    "fragment uses itself: %s", sb.buf);
		strbuf_release(&sb);
		return 1;
	}
	if (x->depth == FRAGMENT_MAX_DEPTH) {
		diag_report(x->p->diag, DIAG_ERROR, at->pos, "fragment-cycle",
			    "fragments nested deeper than %d uses", FRAGMENT_MAX_DEPTH);
		return 1;
	}
	return 0;
}

/* The fragment a use item names, or NULL after reporting why not. */
static const named_doc *used_fragment(expander *x, const node *use, const node *with)
{
	project *p = x->p;
	for (size_t i = 0; i < use->count; i++)
		if (!node_is(use->keys[i], "use") && !node_is(use->keys[i], "with"))
			diag_report(p->diag, DIAG_ERROR, use->keys[i]->pos, "fragment-param",
				    "unexpected key '%s' in a fragment use (only 'use' and 'with')",
				    use->keys[i]->str);
	const node *raw = node_get(use, "use");
	if (raw->kind != NODE_SCALAR) {
		diag_report(p->diag, DIAG_ERROR, raw->pos, "unknown-fragment",
			    "'use' takes a fragment name, not a %s", node_kind_name(raw->kind));
		return NULL;
	}
	node *name = substitute(p->arena, raw, with);
	const named_doc *f = find_fragment(p, name->str);
	if (!f) {
		const char *s = suggest_fragment(p, name->str);
		diag_report(p->diag, DIAG_ERROR, name->pos, "unknown-fragment", "unknown fragment '%s'%s%s%s",
			    name->str, s ? "; did you mean '" : "", s ? s : "", s ? "'?" : "");
	}
	return f;
}

/* Appends the expansion of one `use:` item to out (nothing when it is wrong). */
static void expand_use(expander *x, node *out, const node *use, const node *with)
{
	project *p = x->p;
	const named_doc *f = used_fragment(x, use, with);
	if (!f)
		return;
	const node *body = f->doc ? node_get(f->doc, "body") : NULL;
	if (!body || body->kind != NODE_SEQ)
		return;                 /* reported by check_fragment */
	const node *raw = node_get(use, "with");
	node *args = raw && raw->kind == NODE_MAP ? expand(x, raw, with) : NULL;
	if (raw && raw->kind != NODE_MAP) {
		diag_report(p->diag, DIAG_ERROR, raw->pos, "fragment-param",
			    "'with' takes a map of arguments, not a %s", node_kind_name(raw->kind));
		return;
	}
	if (check_arguments(p, f, use, args) < 0 || fragment_active(x, f, use))
		return;
	x->active[x->depth++] = f;
	node *expanded = expand_seq(x, body, args ? args : node_new_map(p->arena, use->pos));
	x->depth--;
	for (size_t i = 0; i < expanded->count; i++)
		node_seq_push(p->arena, out, expanded->items[i]);
}

/* Placeholders naming no declared parameter, reported once per fragment file. */
static void check_placeholders(project *p, const named_doc *f, const node *n, const node *params)
{
	if (n->kind != NODE_SCALAR) {
		for (size_t i = 0; i < n->count; i++) {
			if (n->keys)
				check_placeholders(p, f, n->keys[i], params);
			check_placeholders(p, f, n->items[i], params);
		}
		return;
	}
	for (const char *s = strstr(n->str, "{{"); s; s = strstr(s + 2, "{{")) {
		const char *e = strstr(s + 2, "}}");
		if (!e)
			return;
		const char *a = s + 2, *b = e;
		while (a < b && *a == ' ')
			a++;
		while (b > a && b[-1] == ' ')
			b--;
		int known = 0;
		for (size_t i = 0; params && params->kind == NODE_SEQ && i < params->count; i++)
			known |= params->items[i]->len == (size_t)(b - a) &&
				 !memcmp(params->items[i]->str, a, (size_t)(b - a));
		if (!known)
			diag_report(p->diag, DIAG_ERROR, n->pos, "fragment-param",
				    "unknown parameter '%.*s' in fragment '%s'", (int)(b - a), a, f->name);
	}
}

static void check_fragment(project *p, const named_doc *f)
{
	if (!f->doc)
		return;
	if (f->doc->kind != NODE_MAP) {
		diag_report(p->diag, DIAG_ERROR, f->doc->pos, "fragment-body",
			    "a fragment must be a map with 'fragment', 'params' and 'body'");
		return;
	}
	const node *id = node_get(f->doc, "fragment");
	if (id && (id->kind != NODE_SCALAR || strcmp(id->str, f->name)))
		diag_report(p->diag, DIAG_ERROR, id->pos, "fragment-id-mismatch",
			    "fragment '%s' is in the file of fragment '%s'; the name must equal the file name",
			    id->kind == NODE_SCALAR ? id->str : "?", f->name);
	const node *params = node_get(f->doc, "params");
	if (params && params->kind != NODE_SEQ)
		diag_report(p->diag, DIAG_ERROR, params->pos, "fragment-param",
			    "'params' takes a list of names, not a %s", node_kind_name(params->kind));
	const node *body = node_get(f->doc, "body");
	if (!body || body->kind != NODE_SEQ) {
		diag_report(p->diag, DIAG_ERROR, body ? body->pos : f->doc->pos, "fragment-body",
			    "fragment '%s' needs a 'body' list of components", f->name);
		return;
	}
	check_placeholders(p, f, body, params);
}

/* ---- merging ---- */

typedef struct merger {
	project *p;
	edition *e;
} merger;

/* A deep copy of a base value taken unchanged: every node marked inherited. */
static node *inherit_copy(arena *a, const node *n)
{
	node *c = node_copy(a, n);
	node *stack_small[64];
	node **stack = stack_small;
	size_t depth = 0, alloc = 64;
	stack[depth++] = c;
	while (depth) {
		node *t = stack[--depth];
		t->inherited = 1;
		for (size_t i = 0; t->kind != NODE_SCALAR && i < t->count; i++) {
			if (depth == alloc) {
				alloc *= 2;
				node **bigger = xmalloc(alloc * sizeof *bigger);
				memcpy(bigger, stack, depth * sizeof *bigger);
				if (stack != stack_small)
					free(stack);
				stack = bigger;
			}
			stack[depth++] = t->items[i];
		}
	}
	if (stack != stack_small)
		free(stack);
	return c;
}

static node *merge_value(merger *m, const node *base, node *own);

/* Removes before/after/remove from a list item (own, fresh: may be changed). */
static void strip_directives(node *item)
{
	size_t out = 0;
	for (size_t i = 0; i < item->count; i++) {
		if (is_directive(item->keys[i]))
			continue;
		item->keys[out] = item->keys[i];
		item->items[out] = item->items[i];
		out++;
	}
	item->count = out;
}

/*
 * The list being built by an id merge: items in slots chained in order (so
 * placing, moving and removing are O(1)) and a hash from id to its newest slot
 * (so lookups are too). A list of any length merges in linear time.
 */
typedef struct id_slot {
	node *item;
	long prev, next;
	int live;
} id_slot;

typedef struct id_list {
	id_slot *slots;
	size_t n, alloc;
	long head, tail;
	long *table;                /* slot index, or -1; size a power of two */
	size_t table_size;
} id_list;

static size_t id_hash(const char *s)
{
	size_t h = 1469598103934665603u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

/* The table entry for id: the one holding it, or the empty one where it would go. */
static long *id_entry(const id_list *l, const char *id)
{
	size_t mask = l->table_size - 1;
	for (size_t i = id_hash(id) & mask;; i = (i + 1) & mask) {
		long s = l->table[i];
		if (s < 0 || !strcmp(item_id(l->slots[s].item), id))
			return &l->table[i];
	}
}

static void id_rehash(id_list *l)
{
	free(l->table);
	l->table_size = l->table_size ? l->table_size * 2 : 64;
	l->table = xmalloc(l->table_size * sizeof(long));
	for (size_t i = 0; i < l->table_size; i++)
		l->table[i] = -1;
	for (size_t s = 0; s < l->n; s++)
		*id_entry(l, item_id(l->slots[s].item)) = (long)s;   /* later slots win */
}

static long id_find(const id_list *l, const char *id)
{
	if (!l->table_size)
		return -1;
	long s = *id_entry(l, id);
	return s >= 0 && l->slots[s].live ? s : -1;
}

/* A new slot for item, not yet in the order. */
static long id_slot_new(id_list *l, node *item)
{
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 16;
		l->slots = xrealloc(l->slots, l->alloc * sizeof(id_slot));
	}
	long s = (long)l->n++;
	l->slots[s] = (id_slot){ item, -1, -1, 1 };
	if (2 * l->n > l->table_size)
		id_rehash(l);
	else
		*id_entry(l, item_id(item)) = s;
	return s;
}

static void id_unlink(id_list *l, long s)
{
	id_slot *x = &l->slots[s];
	if (x->prev >= 0)
		l->slots[x->prev].next = x->next;
	else
		l->head = x->next;
	if (x->next >= 0)
		l->slots[x->next].prev = x->prev;
	else
		l->tail = x->prev;
	x->prev = x->next = -1;
}

/* Links s before slot at (at < 0: at the end). */
static void id_link_before(id_list *l, long s, long at)
{
	id_slot *x = &l->slots[s];
	x->next = at;
	x->prev = at >= 0 ? l->slots[at].prev : l->tail;
	if (x->prev >= 0)
		l->slots[x->prev].next = s;
	else
		l->head = s;
	if (at >= 0)
		l->slots[at].prev = s;
	else
		l->tail = s;
}

static const char *suggest_id(const id_list *l, const char *id)
{
	const char **ids = xmalloc((l->n + 1) * sizeof *ids);
	size_t n = 0;
	for (long s = l->head; s >= 0; s = l->slots[s].next)
		ids[n++] = item_id(l->slots[s].item);
	const char *best = diag_suggest(id, ids, n);
	free(ids);
	return best;
}

/* The message is head + 'id' + tail, then the suggestion if there is one. */
static void report_unknown_item(merger *m, const id_list *l, const node *at, const char *code,
				const char *head, const char *tail)
{
	const char *s = suggest_id(l, at->str);
	strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s'%s'%s", head, at->str, tail);
	if (s)
		strbuf_addf(&sb, "; did you mean '%s'?", s);
	diag_report(m->p->diag, DIAG_ERROR, at->pos, code, "%s", sb.buf);
	strbuf_release(&sb);
}

/*
 * Where an item goes, as "link before this slot" (-1: at the end); 0 when it
 * names no place. An unknown anchor is reported and the item goes to the end.
 */
static int placement(merger *m, const id_list *l, const node *item, long *before_slot)
{
	const node *before = node_get(item, "before"), *after = node_get(item, "after");
	const node *anchor = before ? before : after;
	*before_slot = -1;
	if (!anchor)
		return 0;
	if (anchor->kind != NODE_SCALAR) {
		diag_report(m->p->diag, DIAG_ERROR, anchor->pos, "unknown-anchor-item",
			    "'%s' takes an item id", before ? "before" : "after");
		return 1;
	}
	long at = id_find(l, anchor->str);
	if (at < 0) {
		report_unknown_item(m, l, anchor, "unknown-anchor-item",
				    "unknown item ", before ? " in 'before'" : " in 'after'");
		return 1;
	}
	*before_slot = before ? at : l->slots[at].next;
	return 1;
}

/* One own item applied to the list being built: remove, merge in place, or add. */
static void apply_item(merger *m, id_list *l, node *item)
{
	long at = id_find(l, item_id(item));
	int remove = 0;
	if (node_as_bool(node_get(item, "remove"), &remove) == 0 && remove) {
		if (at < 0) {
			report_unknown_item(m, l, node_get(item, "id"), "unknown-remove-item",
					    "cannot remove ", ": no inherited item has this id");
		} else {
			id_unlink(l, at);
			l->slots[at].live = 0;
		}
		return;
	}
	long where;
	int placed = placement(m, l, item, &where);
	strip_directives(item);
	if (at < 0) {
		id_link_before(l, id_slot_new(l, merge_value(m, NULL, item)), where);
		return;
	}
	l->slots[at].item = merge_value(m, l->slots[at].item, item);
	if (placed && where != at) {
		id_unlink(l, at);
		id_link_before(l, at, where);
	}
}

static node *merge_id_list(merger *m, const node *base, node *own)
{
	arena *a = m->p->arena;
	id_list l = { NULL, 0, 0, -1, -1, NULL, 0 };
	for (size_t i = 0; base && i < base->count; i++)
		id_link_before(&l, id_slot_new(&l, inherit_copy(a, base->items[i])), -1);
	for (size_t i = 0; i < own->count; i++)
		apply_item(m, &l, own->items[i]);
	node *out = node_new_seq(a, own->pos);
	out->tag = own->tag;
	for (long s = l.head; s >= 0; s = l.slots[s].next)
		node_seq_push(a, out, l.slots[s].item);
	free(l.slots);
	free(l.table);
	return out;
}

/* Keys each edition has for itself; a derived edition never inherits them. */
static int edition_own_key(const node *key)
{
	return node_is(key, "edition") || node_is(key, "extends") || node_is(key, "abstract");
}

/* Keys of a big map sorted for binary search; small maps are scanned. */
typedef struct key_ref {
	const node *key;
	size_t index;
} key_ref;

static int key_ref_cmp(const void *x, const void *y)
{
	const node *a = ((const key_ref *)x)->key, *b = ((const key_ref *)y)->key;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->str, b->str, n);
	return c ? c : (a->len > b->len) - (a->len < b->len);
}

static key_ref *sorted_keys(const node *map)
{
	if (map->count <= 16)
		return NULL;
	key_ref *refs = xmalloc(map->count * sizeof *refs);
	for (size_t i = 0; i < map->count; i++)
		refs[i] = (key_ref){ map->keys[i], i };
	qsort(refs, map->count, sizeof *refs, key_ref_cmp);
	return refs;
}

static long find_key(const node *map, const key_ref *sorted, const node *key)
{
	if (sorted) {
		key_ref want = { key, 0 };
		const key_ref *r = bsearch(&want, sorted, map->count, sizeof want, key_ref_cmp);
		return r ? (long)r->index : -1;
	}
	for (size_t i = 0; i < map->count; i++)
		if (map->keys[i]->len == key->len && !memcmp(map->keys[i]->str, key->str, key->len))
			return (long)i;
	return -1;
}

/*
 * Base keys first, in the base's order, then the keys only this edition has. At
 * the top of an edition (top), its own identity keys come first and the base's
 * are skipped.
 */
static node *merge_map(merger *m, const node *base, node *own, int top)
{
	arena *a = m->p->arena;
	node *out = node_new_map(a, own->pos);
	out->tag = own->tag;
	char *used = xcalloc(own->count + 1, 1);
	key_ref *index = sorted_keys(own);
	for (size_t i = 0; top && i < own->count; i++) {
		if (edition_own_key(own->keys[i])) {
			node_map_push(a, out, own->keys[i], merge_value(m, NULL, own->items[i]));
			used[i] = 1;
		}
	}
	for (size_t i = 0; base && i < base->count; i++) {
		if (top && edition_own_key(base->keys[i]))
			continue;
		long mine = find_key(own, index, base->keys[i]);
		if (mine >= 0) {
			used[mine] = 1;
			node_map_push(a, out, own->keys[mine], merge_value(m, base->items[i], own->items[mine]));
		} else {
			node_map_push(a, out, base->keys[i], inherit_copy(a, base->items[i]));
		}
	}
	for (size_t i = 0; i < own->count; i++)
		if (!used[i])
			node_map_push(a, out, own->keys[i], merge_value(m, NULL, own->items[i]));
	free(index);
	free(used);
	return out;
}

static int mergeable_by_id(const node *base, const node *own)
{
	if (!is_id_list(own))
		return 0;
	return !base || (base->kind == NODE_SEQ && (base->count == 0 || is_id_list(base)));
}

/*
 * base: shared and read-only (NULL when the base has no such value); own: this
 * edition's fresh copy, which may be changed. A value that replaces another
 * (scalar, list, or a map over a non-map) records it in `overrides`.
 */
static node *merge_value(merger *m, const node *base, node *own)
{
	node *out = own;
	if (own->kind == NODE_MAP) {
		if (!base || base->kind == NODE_MAP)
			return merge_map(m, base, own, 0);
		out = merge_map(m, NULL, own, 0);
	} else if (mergeable_by_id(base, own)) {
		return merge_id_list(m, base, own);
	} else if (is_id_list(own)) {
		out = merge_id_list(m, NULL, own);
	} else if (own->kind == NODE_SEQ) {
		for (size_t i = 0; i < own->count; i++)
			own->items[i] = merge_value(m, NULL, own->items[i]);
	}
	if (base)
		out->overrides = base;
	return out;
}

/* ---- editions ---- */

typedef struct resolve_stack {
	edition **items;
	size_t n;
} resolve_stack;

static void report_unknown_base(project *p, const edition *e, const node *ext)
{
	const char **ids = xmalloc((p->n_editions + 1) * sizeof *ids);
	size_t n = 0;
	for (size_t i = 0; i < p->n_editions; i++)
		if (p->editions[i] != e)
			ids[n++] = p->editions[i]->id;
	const char *s = diag_suggest(ext->str, ids, n);
	diag_report(p->diag, DIAG_ERROR, ext->pos, "unknown-base", "unknown base '%s'%s%s%s", ext->str,
		    s ? "; did you mean '" : "", s ? s : "", s ? "'?" : "");
	free(ids);
}

static void report_cycle(project *p, const resolve_stack *st, const edition *again, const node *ext)
{
	size_t from = 0;
	while (from < st->n && st->items[from] != again)
		from++;
	strbuf sb = STRBUF_INIT;
	for (size_t i = from; i < st->n; i++)
		strbuf_addf(&sb, "%s -> ", st->items[i]->id);
	strbuf_adds(&sb, again->id);
	diag_report(p->diag, DIAG_ERROR, ext->pos, "extends-cycle", "extends cycle: %s", sb.buf);
	strbuf_release(&sb);
}

static void set_chain(project *p, edition *e, const edition *base)
{
	size_t n = 1 + (base ? base->chain_len : 0);
	e->chain = arena_alloc(p->arena, n * sizeof(char *));
	e->chain[0] = e->path;
	for (size_t i = 1; i < n; i++)
		e->chain[i] = base->chain[i - 1];
	e->chain_len = n;
}

static void resolve_edition(project *p, edition *e, resolve_stack *st);

/* The resolved base named by extends, or NULL (reported unless the base itself failed). */
static edition *resolve_base(project *p, edition *e, const node *ext, resolve_stack *st)
{
	if (ext->kind != NODE_SCALAR || ext->len == 0) {
		diag_report(p->diag, DIAG_ERROR, ext->pos, "unknown-base",
			    "'extends' takes the id of an edition or base");
		return NULL;
	}
	edition *b = project_find(p, ext->str);
	if (!b) {
		report_unknown_base(p, e, ext);
		return NULL;
	}
	if (b->resolving == 1) {
		report_cycle(p, st, b, ext);
		return NULL;
	}
	resolve_edition(p, b, st);
	return b->resolved ? b : NULL;
}

static void resolve_edition(project *p, edition *e, resolve_stack *st)
{
	if (e->resolving)
		return;
	e->resolving = 1;
	st->items[st->n++] = e;
	const node *ext = e->doc ? node_get(e->doc, "extends") : NULL;
	edition *base = ext ? resolve_base(p, e, ext, st) : NULL;
	if (e->doc && e->doc->kind == NODE_MAP && (!ext || base)) {
		expander x = { p, { 0 }, 0, 0, 0 };
		node *own = expand(&x, e->doc, NULL);
		merger m = { p, e };
		if (!x.over)
			e->resolved = merge_map(&m, base ? base->resolved : NULL, own, 1);
		set_chain(p, e, base);
	}
	st->n--;
	e->resolving = 2;
}

void project_resolve(project *p)
{
	for (size_t i = 0; i < p->n_fragments; i++)
		check_fragment(p, &p->fragments[i]);
	resolve_stack st = { xmalloc((p->n_editions + 1) * sizeof(edition *)), 0 };
	for (size_t i = 0; i < p->n_editions; i++)
		resolve_edition(p, p->editions[i], &st);
	free(st.items);
}

/* ---- strings ---- */

static void flatten(project *p, node *out, const node *map, const char *prefix, const char *file)
{
	for (size_t i = 0; i < map->count; i++) {
		const node *k = map->keys[i], *v = map->items[i];
		const char *key = prefix ? arena_printf(p->arena, "%s.%s", prefix, k->str) : k->str;
		if (v->kind == NODE_MAP) {
			flatten(p, out, v, key, file);
		} else if (v->kind == NODE_SCALAR) {
			node_map_set(p->arena, out, node_new_scalar(p->arena, k->pos, key, strlen(key), 1), (node *)v);
		} else {
			diag_report(p->diag, DIAG_ERROR, v->pos, "string-value",
				    "string '%s' in '%s' must be text, not a list", key, file);
		}
	}
}

static const node *locale_strings(project *p, const char *locale, const node *at)
{
	for (size_t i = 0; i < p->n_i18n; i++) {
		named_doc *d = &p->i18n[i];
		if (strcmp(d->name, locale))
			continue;
		if (!d->strings) {
			node *flat = node_new_map(p->arena, (src_pos){ d->path, 1, 1 });
			if (d->doc && d->doc->kind == NODE_MAP)
				flatten(p, flat, d->doc, NULL, d->path);
			d->strings = flat;
		}
		return d->strings;
	}
	const char **names = xmalloc((p->n_i18n + 1) * sizeof *names);
	for (size_t i = 0; i < p->n_i18n; i++)
		names[i] = p->i18n[i].name;
	const char *s = diag_suggest(locale, names, p->n_i18n);
	diag_report(p->diag, DIAG_ERROR, at ? at->pos : (src_pos){ 0 }, "unknown-locale",
		    "no strings for locale '%s' (no i18n/%s.yaml)%s%s%s", locale, locale,
		    s ? "; did you mean '" : "", s ? s : "", s ? "'?" : "");
	free(names);
	return NULL;
}

const node *edition_strings(project *p, const edition *ce)
{
	edition *e = (edition *)ce;     /* the cache is the only thing written */
	if (e->strings)
		return e->strings;
	const node *root = e->resolved ? e->resolved : e->doc;
	node *out = node_new_map(p->arena, (src_pos){ e->path, 1, 1 });
	const node *loc = node_get(root, "locale");
	if (loc && loc->kind == NODE_SCALAR) {
		const node *base = locale_strings(p, loc->str, loc);
		for (size_t i = 0; base && i < base->count; i++)
			node_map_push(p->arena, out, base->keys[i], base->items[i]);
	}
	const node *own = node_get(root, "strings");
	if (own && own->kind == NODE_MAP)
		flatten(p, out, own, NULL, e->path);
	e->strings = out;
	return out;
}
