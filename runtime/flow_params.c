/*
 * flow_params: checks a request's params against a flow's declared params
 * before any Lua runs, and converts them to typed JSON.
 *
 * Values come either from the JSON API (typed JSON) or from an H5 form (all
 * strings), so every numeric type accepts both: an integer, or its decimal
 * text. Money is integer minor units; a form sends yuan with at most two
 * decimals ("123.45"), parsed digit by digit, never through a double, with an
 * overflow bound. Every message names the field first: "field 'amount': ...".
 *
 * Fields whose name starts with '_' are transport fields of forms and the API
 * (_csrf, _confirm, _idem): they never reach the flow and are not "unknown".
 * An optional field that is absent, null or an empty form string is left out
 * of the typed params, except bool, which is then false (an unticked checkbox
 * is absent from a form).
 */
#include "flow.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MONEY_MAX_WHOLE_DIGITS 13          /* 10^13 yuan: no real amount comes near */
#define MONEY_MAX_MINOR 1000000000000000LL   /* 10^13 yuan in fen */
#define STRING_DEFAULT_MAX 4096

typedef struct param_ctx {
	const char *field;
	json_t *spec;
	strbuf *err;
} param_ctx;

static int bad(param_ctx *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(param_ctx *p, const char *fmt, ...)
{
	va_list ap;
	strbuf_reset(p->err);
	strbuf_adds(p->err, "field '");
	/* the name may come from the request: at most 64 bytes, whole characters, no controls */
	const unsigned char *f = (const unsigned char *)p->field;
	size_t n = strlen(p->field);
	while (n > 64 || (n > 0 && n < strlen(p->field) && (f[n] & 0xc0) == 0x80))
		n--;
	for (size_t i = 0; i < n; i++)
		strbuf_addc(p->err, f[i] < 0x20 || f[i] == 0x7f ? '?' : (char)f[i]);
	strbuf_adds(p->err, "': ");
	va_start(ap, fmt);
	strbuf_vaddf(p->err, fmt, ap);
	va_end(ap);
	return FLOW_BAD_PARAMS;
}

static bool spec_int(json_t *spec, const char *key, long long *out)
{
	json_t *v = json_object_get(spec, key);
	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return true;
}

/* "-?[0-9]{1,18}" -> integer; false on anything else (no overflow possible). */
static bool parse_decimal(const char *s, long long *out)
{
	bool neg = *s == '-';
	if (neg)
		s++;
	size_t n = strlen(s);
	if (n == 0 || n > 18 || strspn(s, "0123456789") != n)
		return false;
	long long v = 0;
	for (; *s; s++)
		v = v * 10 + (*s - '0');
	*out = neg ? -v : v;
	return true;
}

/* "123", "123.4", "123.45" (yuan) -> minor units; false on anything else. */
static bool parse_money(const char *s, long long *out)
{
	size_t whole = strspn(s, "0123456789");
	if (whole == 0 || whole > MONEY_MAX_WHOLE_DIGITS)
		return false;
	long long v = 0;
	for (size_t i = 0; i < whole; i++)
		v = v * 10 + (s[i] - '0');
	const char *rest = s + whole;
	long long cents = 0;
	if (*rest == '.') {
		size_t frac = strspn(rest + 1, "0123456789");
		if (frac == 0 || frac > 2 || rest[1 + frac])
			return false;
		cents = (rest[1] - '0') * 10 + (frac == 2 ? rest[2] - '0' : 0);
	} else if (*rest) {
		return false;
	}
	*out = v * 100 + cents;
	return true;
}

static void format_yuan(long long minor, char *buf, size_t n)
{
	const char *sign = minor < 0 ? "-" : "";
	unsigned long long m = minor < 0 ? 0ULL - (unsigned long long)minor : (unsigned long long)minor;
	snprintf(buf, n, "%s%llu.%02llu", sign, m / 100, m % 100);
}

static int check_range(param_ctx *p, long long v, bool money)
{
	long long lo, hi;
	char a[32];
	bool has_lo = spec_int(p->spec, "min", &lo);
	if (money && !has_lo) {
		lo = 1;
		has_lo = true;
	}
	if (has_lo && v < lo) {
		if (money)
			format_yuan(lo, a, sizeof a);
		else
			snprintf(a, sizeof a, "%lld", lo);
		return bad(p, "must be at least %s", a);
	}
	bool has_hi = spec_int(p->spec, "max", &hi);
	if (money && (!has_hi || hi > MONEY_MAX_MINOR)) {
		hi = MONEY_MAX_MINOR;        /* what the bank accepts at most */
		has_hi = true;
	}
	if (has_hi && v > hi) {
		if (money)
			format_yuan(hi, a, sizeof a);
		else
			snprintf(a, sizeof a, "%lld", hi);
		return bad(p, "must be at most %s", a);
	}
	return 0;
}

/* Counts UTF-8 characters; -1 on a control character (tab, CR and LF allowed). */
static long long text_chars(const char *s, size_t len)
{
	long long n = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
			return -1;
		if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9f)
			return -1;          /* C1 controls U+0080..U+009F */
		if ((c & 0xc0) != 0x80)
			n++;
	}
	return n;
}

static bool utf8_valid(const char *s, size_t len)
{
	json_t *probe = json_stringn(s, len);   /* jansson refuses invalid UTF-8 */
	bool ok = probe != NULL;
	json_decref(probe);
	return ok;
}

/* --- one checker per type: each returns 0 with *out set, or FLOW_BAD_PARAMS --- */

static int check_string(param_ctx *p, json_t *v, json_t **out)
{
	if (!json_is_string(v))
		return bad(p, "expected text");
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (!utf8_valid(s, len))
		return bad(p, "not valid UTF-8");
	long long chars = text_chars(s, len);
	if (chars < 0)
		return bad(p, "contains a control character");
	long long max = STRING_DEFAULT_MAX;
	spec_int(p->spec, "max_len", &max);
	if (chars > max)
		return bad(p, "longer than %lld characters", max);
	*out = json_incref(v);
	return 0;
}

static int check_int(param_ctx *p, json_t *v, json_t **out)
{
	long long n;
	if (json_is_integer(v))
		n = json_integer_value(v);
	else if (!json_is_string(v) || !parse_decimal(json_string_value(v), &n))
		return bad(p, "expected a whole number");
	int rc = check_range(p, n, false);
	if (rc == 0)
		*out = json_integer(n);
	return rc;
}

static int check_money(param_ctx *p, json_t *v, json_t **out)
{
	long long n;
	if (json_is_integer(v))
		n = json_integer_value(v);
	else if (!json_is_string(v) || !parse_money(json_string_value(v), &n))
		return bad(p, "expected an amount like 123.45");
	int rc = check_range(p, n, true);
	if (rc == 0)
		*out = json_integer(n);
	return rc;
}

static int check_bool(param_ctx *p, json_t *v, json_t **out)
{
	static const char *const yes[] = { "on", "true", "1", "yes" };
	static const char *const no[] = { "off", "false", "0", "no", "" };
	if (json_is_boolean(v)) {
		*out = json_incref(v);
		return 0;
	}
	for (size_t i = 0; json_is_string(v) && i < 4; i++)
		if (!strcmp(json_string_value(v), yes[i]))
			return *out = json_true(), 0;
	for (size_t i = 0; json_is_string(v) && i < 5; i++)
		if (!strcmp(json_string_value(v), no[i]))
			return *out = json_false(), 0;
	return bad(p, "expected yes or no");
}

static int check_enum(param_ctx *p, json_t *v, json_t **out)
{
	json_t *values = json_object_get(p->spec, "values"), *e;
	size_t i;
	json_array_foreach(values, i, e) {
		if (json_is_string(v) && json_is_string(e) && json_equal(v, e))
			return *out = json_incref(v), 0;
	}
	strbuf list = STRBUF_INIT;
	json_array_foreach(values, i, e)
		strbuf_addf(&list, "%s%s", i ? ", " : "", json_is_string(e) ? json_string_value(e) : "?");
	int rc = bad(p, "expected one of %s", list.buf);
	strbuf_release(&list);
	return rc;
}

static bool date_real(const char *s)
{
	static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || strspn(s, "0123456789") != 4 ||
	    strspn(s + 5, "0123456789") != 2 || strspn(s + 8, "0123456789") != 2)
		return false;
	int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1900 || m < 1 || m > 12 || d < 1)
		return false;
	return d <= dim[m - 1] + (m == 2 && leap);
}

static int check_date(param_ctx *p, json_t *v, json_t **out)
{
	if (!json_is_string(v) || !date_real(json_string_value(v)))
		return bad(p, "expected a date like 2026-01-31");
	*out = json_incref(v);
	return 0;
}

/* A JSON integer becomes its decimal text; then the text must match charset and length. */
static int check_token(param_ctx *p, json_t *v, json_t **out, const char *charset, size_t max,
		       const char *what)
{
	char num[24];
	const char *s;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
		s = num;
	} else if (json_is_string(v)) {
		s = json_string_value(v);
	} else {
		return bad(p, "expected %s", what);
	}
	size_t n = strlen(s);
	if (n == 0 || n > max || strspn(s, charset) != n || (json_is_string(v) && n != json_string_length(v)))
		return bad(p, "expected %s", what);
	*out = json_string(s);
	return 0;
}

static int check_account(param_ctx *p, json_t *v, json_t **out)
{
	return check_token(p, v, out, "0123456789", 32, "an account number");
}

static int check_id(param_ctx *p, json_t *v, json_t **out)
{
	return check_token(p, v, out, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", 64,
			   "an id");
}

static int check_phone(param_ctx *p, json_t *v, json_t **out)
{
	if (!json_is_string(v))
		return bad(p, "expected a phone number");
	const char *s = json_string_value(v);
	const char *digits = *s == '+' ? s + 1 : s;
	size_t n = strlen(digits), nd = 0;
	for (size_t i = 0; i < n; i++)
		nd += digits[i] >= '0' && digits[i] <= '9';
	if (n == 0 || n > 24 || strspn(digits, "0123456789 -") != n || nd < 3 || nd > 20 ||
	    digits[0] < '0' || digits[0] > '9')
		return bad(p, "expected a phone number");
	*out = json_incref(v);
	return 0;
}

static const struct param_type {
	const char *name;
	int (*check)(param_ctx *p, json_t *v, json_t **out);
} param_types[] = {
	{ "string", check_string }, { "int", check_int }, { "money", check_money },
	{ "bool", check_bool }, { "enum", check_enum }, { "date", check_date },
	{ "account", check_account }, { "id", check_id }, { "phone", check_phone },
};

static const struct param_type *type_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof param_types / sizeof param_types[0]; i++)
		if (!strcmp(param_types[i].name, name))
			return &param_types[i];
	return NULL;
}

static bool absent(json_t *v)
{
	return !v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0);
}

static int check_one(json_t *spec, json_t *raw, json_t *typed, strbuf *err)
{
	param_ctx p = { json_string_value(json_object_get(spec, "id")), spec, err };
	const char *type_name = json_string_value(json_object_get(spec, "type"));
	const struct param_type *t = type_find(type_name);
	if (!p.field || !t) {
		strbuf_reset(err);
		strbuf_addf(err, "flow spec: param '%s' has unknown type '%s'", p.field ? p.field : "?",
			    type_name ? type_name : "");
		return FLOW_ERROR;
	}
	json_t *v = json_object_get(raw, p.field), *out = NULL;
	bool is_bool = t->check == check_bool;
	if (absent(v) && !(is_bool && json_is_string(v))) {
		if (json_is_true(json_object_get(spec, "required")))
			return bad(&p, "required");
		if (is_bool)
			json_object_set_new(typed, p.field, json_false());
		return 0;
	}
	int rc = t->check(&p, v, &out);
	if (rc == 0)
		json_object_set_new(typed, p.field, out);
	return rc;
}

static bool declared(json_t *spec_params, const char *name)
{
	size_t i;
	json_t *s;
	json_array_foreach(spec_params, i, s) {
		const char *id = json_string_value(json_object_get(s, "id"));
		if (id && !strcmp(id, name))
			return true;
	}
	return false;
}

int flow_check_params(json_t *spec_params, json_t *raw, json_t **typed, strbuf *err)
{
	*typed = NULL;
	if (raw && !json_is_object(raw)) {
		strbuf_adds(err, "params: expected an object");
		return FLOW_BAD_PARAMS;
	}
	if (spec_params && !json_is_array(spec_params)) {
		strbuf_adds(err, "flow spec: params is not a list");
		return FLOW_ERROR;
	}
	const char *key;
	json_t *v;
	json_object_foreach(raw, key, v) {
		if (key[0] != '_' && !declared(spec_params, key)) {
			param_ctx p = { key, NULL, err };
			return bad(&p, "unknown parameter");
		}
	}
	json_t *out = json_object();
	size_t i;
	json_t *spec;
	json_array_foreach(spec_params, i, spec) {
		int rc = check_one(spec, raw, out, err);
		if (rc) {
			json_decref(out);
			return rc;
		}
	}
	*typed = out;
	return 0;
}
