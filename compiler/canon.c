/*
 * canon: node trees to jansson values and values to canonical bytes.
 *
 * jansson does the escaping and the number formatting; JSON_SORT_KEYS sorts
 * keys with strcmp, which on UTF-8 is the bytewise order the format promises.
 * Reals are printed with 15 significant digits: every decimal an author can
 * write with up to 15 digits reads back as the same text (1.4 stays 1.4, where
 * jansson's default of 17 digits would print 1.3999999999999999). A real that
 * is not finite (.inf, .nan) has no JSON form and stays the string it was
 * written as.
 */
#include "canon.h"

#include <math.h>
#include <string.h>

static int is_null_scalar(const node *n)
{
	if (n->quoted)
		return 0;
	if (n->tag)
		return strcmp(n->tag, "!!null") == 0 || strcmp(n->tag, "tag:yaml.org,2002:null") == 0;
	return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
	       strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

/*
 * Most scalars are text; the first character says which conversions could
 * apply (core schema: numbers start with a digit, sign or '.', booleans with
 * t/f, null is ~, null or empty), so text skips three failed parses.
 */
json_t *canon_scalar(const node *n)
{
	long long i;
	double d;
	int b;
	char c = n->str && n->len ? n->str[0] : '\0';
	if (n->quoted || n->tag)
		;                       /* node_as_* decide: a quoted or tagged value stays text */
	else if (strchr("0123456789+-.", c) && c) {
		if (node_as_int(n, &i) == 0)
			return json_integer((json_int_t)i);
		if (node_as_double(n, &d) == 0 && isfinite(d))
			return json_real(d);
	} else if (strchr("tTfF", c) && c) {
		if (node_as_bool(n, &b) == 0)
			return json_boolean(b);
	}
	if (n->tag && node_as_int(n, &i) == 0)
		return json_integer((json_int_t)i);
	if (n->tag && node_as_bool(n, &b) == 0)
		return json_boolean(b);
	if (n->tag && node_as_double(n, &d) == 0 && isfinite(d))
		return json_real(d);
	if (is_null_scalar(n))
		return json_null();
	return json_stringn(n->str ? n->str : "", n->len);
}

static json_t *from_map(const node *n, const node **bad)
{
	json_t *o = json_object();
	for (size_t i = 0; i < n->count; i++) {
		const node *k = n->keys[i];
		json_t *v = canon_from_node(n->items[i], bad);
		if (!v) {
			json_decref(o);
			return NULL;
		}
		/* setn_new takes v even when it fails (a key that is not UTF-8) */
		if (k->kind != NODE_SCALAR || json_object_setn_new(o, k->str, k->len, v) < 0) {
			if (k->kind != NODE_SCALAR)
				json_decref(v);
			if (bad && !*bad)
				*bad = k;
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

json_t *canon_from_node(const node *n, const node **bad)
{
	if (!n)
		return json_null();
	if (n->kind == NODE_MAP)
		return from_map(n, bad);
	if (n->kind == NODE_SEQ) {
		json_t *a = json_array();
		for (size_t i = 0; i < n->count; i++) {
			json_t *v = canon_from_node(n->items[i], bad);
			if (!v) {
				json_decref(a);
				return NULL;
			}
			json_array_append_new(a, v);
		}
		return a;
	}
	json_t *v = canon_scalar(n);
	if (!v && bad && !*bad)
		*bad = n;
	return v;
}

static int append_cb(const char *buffer, size_t size, void *data)
{
	strbuf_add(data, buffer, size);
	return 0;
}

int canon_dump(const json_t *j, strbuf *out)
{
	return json_dump_callback(j, append_cb, out, CANON_JSON_FLAGS) == 0 ? 0 : -1;
}

char *canon_dumps(const json_t *j)
{
	return json_dumps(j, CANON_JSON_FLAGS);
}
