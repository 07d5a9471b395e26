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
 *
 * canon_write_node writes the same bytes without building jansson values, for
 * the large trees (screens): keys sorted bytewise (as JSON_SORT_KEYS does for
 * keys without NUL), strings escaped as jansson escapes them (", \\, and
 * control characters; UTF-8 as is), scalars that are not plain text through
 * canon_scalar.
 * Anything unusual gives up, and the caller takes the jansson path.
 */
#include "canon.h"

#include <math.h>
#include <stdlib.h>
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

/* ---- canonical bytes straight from the tree ---- */

typedef struct writer {
	const char *const *attrs;
	canon_text_fn text;
	void *arg;
	strbuf *out;
} writer;

/* jansson's rule: shortest forms only, no surrogates, nothing past U+10FFFF. */
static int utf8_valid(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned c = s[i];
		size_t n = c < 0x80 ? 1 : c < 0xC2 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
		if (!n || len - i < n)
			return 0;
		unsigned cp = n == 1 ? c : c & (0xFFu >> (n + 1));
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += n;
	}
	return 1;
}

static void write_string(strbuf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	strbuf_addc(out, '"');
	size_t run = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		strbuf_add(out, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': strbuf_add(out, "\\\"", 2); break;
		case '\\': strbuf_add(out, "\\\\", 2); break;
		case '\b': strbuf_add(out, "\\b", 2); break;
		case '\f': strbuf_add(out, "\\f", 2); break;
		case '\n': strbuf_add(out, "\\n", 2); break;
		case '\r': strbuf_add(out, "\\r", 2); break;
		case '\t': strbuf_add(out, "\\t", 2); break;
		default: {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			strbuf_add(out, u, sizeof u);
		}
		}
	}
	strbuf_add(out, s + run, len - run);
	strbuf_addc(out, '"');
}

/* Whether canon_scalar gives a string for n, decided without converting it. */
static int plain_text(const node *n)
{
	if (n->tag)
		return 0;
	if (n->quoted)
		return 1;
	char c = n->str && n->len ? n->str[0] : '\0';
	return c && !strchr("0123456789+-.tTfF", c) && !is_null_scalar(n);
}

/* A string value, or the text its i18n key stands for. */
static void write_text(writer *w, const char *s, size_t len, int is_text)
{
	const char *t = is_text && w->text ? w->text(w->arg, s) : NULL;
	if (t)
		write_string(w->out, t, strlen(t));
	else
		write_string(w->out, s, len);
}

static int write_scalar(writer *w, const node *n, int is_text)
{
	if (plain_text(n)) {
		const char *s = n->str ? n->str : "";
		if (!utf8_valid((const unsigned char *)s, n->len))
			return -1;
		write_text(w, s, n->len, is_text);
		return 0;
	}
	json_t *j = canon_scalar(n);
	if (!j)
		return -1;
	int rc = 0;
	if (json_is_string(j))
		write_text(w, json_string_value(j), json_string_length(j), is_text);
	else
		rc = canon_dump(j, w->out);
	json_decref(j);
	return rc;
}

static int write_node(writer *w, const node *n, int is_text);

typedef struct sorted_key {
	const node *key, *value;
} sorted_key;

static int sorted_key_cmp(const void *x, const void *y)
{
	const node *a = ((const sorted_key *)x)->key, *b = ((const sorted_key *)y)->key;
	size_t n = a->len < b->len ? a->len : b->len;
	int r = memcmp(a->str, b->str, n);
	return r ? r : (a->len > b->len) - (a->len < b->len);
}

static int in_attrs(const char *const *attrs, const char *key)
{
	for (; attrs && *attrs; attrs++)
		if (!strcmp(*attrs, key))
			return 1;
	return 0;
}

/* A map, leaving out the keys listed in skip (NULL-terminated, or NULL). */
static int write_map(writer *w, const node *n, const char *const *skip)
{
	sorted_key small[32], *keys = n->count <= 32 ? small : malloc(n->count * sizeof *keys);
	int rc = keys ? 0 : -1;
	for (size_t i = 0; !rc && i < n->count; i++) {
		const node *k = n->keys[i];
		if (k->kind != NODE_SCALAR || !k->str || strlen(k->str) != k->len ||
		    !utf8_valid((const unsigned char *)k->str, k->len))
			rc = -1;
		keys[i] = (sorted_key){ k, n->items[i] };
	}
	if (!rc)
		qsort(keys, n->count, sizeof *keys, sorted_key_cmp);
	for (size_t i = 1; !rc && i < n->count; i++)
		if (!sorted_key_cmp(&keys[i - 1], &keys[i]))
			rc = -1;        /* a key given twice: jansson keeps the last value */
	strbuf_addc(w->out, '{');
	for (size_t i = 0, first = 1; !rc && i < n->count; i++) {
		if (in_attrs(skip, keys[i].key->str))
			continue;
		if (!first)
			strbuf_addc(w->out, ',');
		first = 0;
		write_string(w->out, keys[i].key->str, keys[i].key->len);
		strbuf_addc(w->out, ':');
		rc = write_node(w, keys[i].value, in_attrs(w->attrs, keys[i].key->str));
	}
	strbuf_addc(w->out, '}');
	if (keys != small)
		free(keys);
	return rc;
}

static int write_node(writer *w, const node *n, int is_text)
{
	if (n->kind == NODE_SCALAR)
		return write_scalar(w, n, is_text);
	if (n->kind == NODE_MAP)
		return write_map(w, n, NULL);
	strbuf_addc(w->out, '[');
	for (size_t i = 0; i < n->count; i++) {
		if (i)
			strbuf_addc(w->out, ',');
		if (write_node(w, n->items[i], 0) < 0)
			return -1;
	}
	strbuf_addc(w->out, ']');
	return 0;
}

int canon_write_node(const node *n, const char *const *skip, const char *const *attrs,
		     canon_text_fn text, void *arg, strbuf *out)
{
	size_t before = out->len;
	writer w = { attrs, text, arg, out };
	if (!n) {
		strbuf_adds(out, "null");
		return 0;
	}
	if ((n->kind == NODE_MAP ? write_map(&w, n, skip) : write_node(&w, n, 0)) == 0)
		return 0;
	out->len = before;
	if (out->buf)
		out->buf[before] = '\0';
	return -1;
}

int canon_utf8_valid(const char *s, size_t len)
{
	return utf8_valid((const unsigned char *)s, len);
}

void canon_write_string(strbuf *out, const char *s, size_t len)
{
	write_string(out, s, len);
}
