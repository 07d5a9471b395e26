/*
 * render_bind: data bindings of screens, "${path | filter}".
 *
 * A path is dot-separated names with optional [n] indexes
 * (`accounts[0].balance`), read from the screen flow's result. A path that
 * does not resolve gives the empty text: a page never fails because a
 * service left out a field. Filters turn raw values into what a customer
 * reads: money (integer minor units -> "¥12,345.67", "CNY 12,345.67" in
 * English), date ("2026-11-26", "Nov 26, 2026"), percent (basis points ->
 * "3.25%"), mask (account numbers -> "**** 1234"), code (a status, decision
 * or reason code -> the edition's string "code.<value>", the code itself when
 * the edition has no such string). Anything a filter cannot read also gives
 * the empty text. Only texts expanded in a page (rc_attr_text) know the
 * edition's strings; elsewhere `code` shows the code as it is.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render_internal.h"

#define PATH_MAX_SEGMENT 128
#define CODE_MAX_LEN 64

/* One segment: a name and any number of [n] indexes. Returns the end or NULL. */
static const char *step_segment(const char *p, const char *end, json_t **cur)
{
	const char *name = p;
	while (p < end && *p != '.' && *p != '[')
		p++;
	size_t n = (size_t)(p - name);
	if (n >= PATH_MAX_SEGMENT)
		return NULL;
	if (n) {
		char key[PATH_MAX_SEGMENT];
		memcpy(key, name, n);
		key[n] = '\0';
		*cur = json_is_object(*cur) ? json_object_get(*cur, key) : NULL;
	}
	while (p < end && *p == '[' && *cur) {
		char *close;
		long idx = strtol(p + 1, &close, 10);
		if (close >= end || *close != ']' || close == p + 1 || idx < 0)
			return NULL;
		*cur = json_is_array(*cur) ? json_array_get(*cur, (size_t)idx) : NULL;
		p = close + 1;
	}
	return *cur ? p : NULL;
}

static json_t *resolve_path(json_t *data, const char *p, const char *end)
{
	while (p < end && isspace((unsigned char)*p))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	if (p == end || !data)
		return NULL;
	json_t *cur = data;
	while (p && p < end) {
		p = step_segment(p, end, &cur);
		if (p && p < end) {
			if (*p != '.')
				return NULL;
			p++;
		}
	}
	return p ? cur : NULL;
}

/* Splits "path | filter" (no ${}); filter copied into fbuf ("" when none). */
static json_t *eval_inner(json_t *data, const char *s, const char *end, char *fbuf, size_t fsize)
{
	const char *bar = memchr(s, '|', (size_t)(end - s));
	fbuf[0] = '\0';
	if (bar) {
		const char *f = bar + 1;
		while (f < end && isspace((unsigned char)*f))
			f++;
		size_t n = 0;
		while (f + n < end && !isspace((unsigned char)f[n]) && n + 1 < fsize)
			n++;
		memcpy(fbuf, f, n);
		fbuf[n] = '\0';
	}
	return resolve_path(data, s, bar ? bar : end);
}

json_t *rb_value(json_t *data, const char *expr)
{
	if (!expr)
		return NULL;
	char filter[32];
	size_t len = strlen(expr);
	if (len >= 3 && expr[0] == '$' && expr[1] == '{' && expr[len - 1] == '}')
		return eval_inner(data, expr + 2, expr + len - 1, filter, sizeof filter);
	return eval_inner(data, expr, expr + len, filter, sizeof filter);
}

static const char *currency_prefix(const char *currency, const char *locale, char *buf, size_t n)
{
	int english = locale && strncmp(locale, "en", 2) == 0;
	if (!currency || !*currency)
		currency = "CNY";
	if (!english && strcmp(currency, "CNY") == 0)
		return "¥";
	snprintf(buf, n, "%.8s ", currency);
	return buf;
}

char *rb_money(long long minor, const char *currency, const char *locale)
{
	unsigned long long mag = minor < 0 ? 0ULL - (unsigned long long)minor : (unsigned long long)minor;
	char digits[32], grouped[48], cbuf[16];
	snprintf(digits, sizeof digits, "%llu", mag / 100);
	size_t nd = strlen(digits), o = 0;
	for (size_t i = 0; i < nd; i++) {
		if (i && (nd - i) % 3 == 0)
			grouped[o++] = ',';
		grouped[o++] = digits[i];
	}
	grouped[o] = '\0';
	strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s%s%s.%02llu", minor < 0 ? "-" : "",
		    currency_prefix(currency, locale, cbuf, sizeof cbuf), grouped, mag % 100);
	return strbuf_detach(&sb, NULL);
}

/* An integer from a JSON integer, a whole real, or a decimal string. */
static int as_integer(json_t *v, long long *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d > -9.2e18 && d < 9.2e18) {
			*out = (long long)(d < 0 ? d - 0.5 : d + 0.5);
			return 0;
		}
		return -1;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		long long x = strtoll(s, &end, 10);
		if (end != s && *end == '\0') {
			*out = x;
			return 0;
		}
	}
	return -1;
}

static char *fmt_percent(json_t *v)
{
	long long bp;
	if (as_integer(v, &bp) < 0)
		return xstrdup("");
	unsigned long long mag = bp < 0 ? 0ULL - (unsigned long long)bp : (unsigned long long)bp;
	strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s%llu.%02llu%%", bp < 0 ? "-" : "", mag / 100, mag % 100);
	return strbuf_detach(&sb, NULL);
}

static char *fmt_mask(const char *s)
{
	size_t n = strlen(s);
	strbuf sb = STRBUF_INIT;
	if (n <= 4) {
		strbuf_adds(&sb, n ? "****" : "");
	} else {
		strbuf_adds(&sb, "**** ");
		strbuf_add(&sb, s + n - 4, 4);
	}
	return strbuf_detach(&sb, NULL);
}

static const char *const month_names[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

/* "2026-11-26" or "2026-11-26T10:00:00Z" -> the locale's date. */
static char *fmt_date(const char *s, const char *locale)
{
	int y, m, d;
	if (sscanf(s, "%4d-%2d-%2d", &y, &m, &d) != 3 || m < 1 || m > 12 || d < 1 || d > 31)
		return xstrdup(s);
	strbuf sb = STRBUF_INIT;
	if (locale && strncmp(locale, "en", 2) == 0)
		strbuf_addf(&sb, "%s %d, %04d", month_names[m - 1], d, y);
	else
		strbuf_addf(&sb, "%04d-%02d-%02d", y, m, d);
	return strbuf_detach(&sb, NULL);
}

static char *plain_text(json_t *v)
{
	char buf[64];
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_integer(v)) {
		snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return xstrdup(buf);
	}
	if (json_is_real(v)) {
		snprintf(buf, sizeof buf, "%.15g", json_real_value(v));
		return xstrdup(buf);
	}
	if (json_is_boolean(v))
		return xstrdup(json_is_true(v) ? "true" : "false");
	return xstrdup("");
}

/* "code.<value>" looked up in the edition; the value itself when absent or odd. */
static char *fmt_code(const rctx *rc, char *text)
{
	size_t n = strlen(text);
	if (!rc || n == 0 || n > CODE_MAX_LEN)
		return text;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)text[i];
		if (!isalnum(ch) && ch != '_' && ch != '-' && ch != '.')
			return text;
	}
	char key[CODE_MAX_LEN + 8];
	snprintf(key, sizeof key, "code.%s", text);
	char *out = xstrdup(rc_string(rc, key, text));
	free(text);
	return out;
}

static char *format_in(const rctx *rc, json_t *v, const char *filter, const char *locale,
		       const char *currency)
{
	if (!v)
		return xstrdup("");
	if (!filter || !*filter)
		return plain_text(v);
	if (strcmp(filter, "money") == 0) {
		long long minor;
		return as_integer(v, &minor) == 0 ? rb_money(minor, currency, locale) : xstrdup("");
	}
	if (strcmp(filter, "percent") == 0)
		return fmt_percent(v);
	char *text = plain_text(v);
	char *out = NULL;
	if (strcmp(filter, "mask") == 0)
		out = fmt_mask(text);
	else if (strcmp(filter, "date") == 0 && json_is_string(v))
		out = fmt_date(text, locale);
	else if (strcmp(filter, "code") == 0)
		return fmt_code(rc, text);
	if (!out)
		return text;
	free(text);
	return out;
}

char *rb_format(json_t *v, const char *filter, const char *locale, const char *currency)
{
	return format_in(NULL, v, filter, locale, currency);
}

static char *expand_in(const rctx *rc, const char *text, json_t *data, const char *locale)
{
	strbuf sb = STRBUF_INIT;
	const char *p = text ? text : "";
	for (;;) {
		const char *open = strstr(p, "${");
		const char *close = open ? strchr(open + 2, '}') : NULL;
		if (!close) {
			strbuf_adds(&sb, p);
			break;
		}
		strbuf_add(&sb, p, (size_t)(open - p));
		char filter[32];
		json_t *v = eval_inner(data, open + 2, close, filter, sizeof filter);
		char *piece = format_in(rc, v, filter, locale, NULL);
		strbuf_adds(&sb, piece);
		free(piece);
		p = close + 1;
	}
	return strbuf_detach(&sb, NULL);
}

char *rb_expand(const char *text, json_t *data, const char *locale)
{
	return expand_in(NULL, text, data, locale);
}

char *rb_expand_rc(const rctx *rc, const char *text)
{
	return expand_in(rc, text, rc->data, rc->locale);
}

char *render_binding(const char *expr, json_t *data, const char *locale)
{
	return rb_expand(expr, data, locale);
}

const char *rc_attr(json_t *comp, const char *key)
{
	json_t *v = json_object_get(comp, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

char *rc_attr_text(const rctx *rc, json_t *comp, const char *key)
{
	json_t *v = json_object_get(comp, key);
	if (json_is_string(v))
		return rb_expand_rc(rc, json_string_value(v));
	if (json_is_number(v))
		return plain_text(v);
	return NULL;
}

json_t *rc_items(const rctx *rc, json_t *comp)
{
	static const char *const keys[] = { "items", "bind", "value", "series" };
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		json_t *attr = json_object_get(comp, keys[i]);
		json_t *v = json_is_string(attr) ? rb_value(rc->data, json_string_value(attr))
						 : json_is_array(attr) ? attr : NULL;
		if (json_is_object(v))
			v = json_object_get(v, "items");
		if (json_is_array(v))
			return v;
	}
	return NULL;
}

char *ri_field(json_t *obj, const char *const *names)
{
	for (; *names; names++) {
		json_t *v = json_object_get(obj, *names);
		if (v && !json_is_null(v))
			return plain_text(v);
	}
	return NULL;
}

long long ri_int(json_t *obj, const char *name, int *found)
{
	long long x = 0;
	int ok = as_integer(json_object_get(obj, name), &x) == 0;
	if (found)
		*found = ok;
	return ok ? x : 0;
}
