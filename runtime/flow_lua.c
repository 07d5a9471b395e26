/*
 * flow_lua: the Lua 5.4 sandbox flows run in, and the glue between Lua values
 * and JSON.
 *
 * A state is created with lua_newstate and an allocator that counts its bytes
 * and refuses to grow past the cap (Lua then raises a memory error). Only base,
 * string, table, math and utf8 are opened, and the flow never sees them
 * directly: it sees a sandbox globals table S holding a whitelist of base
 * functions and read-only proxies of the libraries and of `bank`. Each run
 * gets a fresh _ENV table whose metatable's __index is S, so globals a flow
 * sets die with the run and the next request starts clean.
 *
 * Holes closed here, each with a reason:
 *  - load, loadfile, dofile, require, collectgarbage, io, os, debug,
 *    string.dump, coroutine: absent (code loading, files, process, GC tuning);
 *  - print: swallowed; warn: absent;
 *  - the string metatable and every protected table carry __metatable, so
 *    getmetatable("").__index cannot be reached or changed;
 *  - rawset refuses the read-only proxies (it would bypass __newindex);
 *  - setmetatable refuses __gc (a finalizer would run in a later request);
 *  - pcall/xpcall are wrapped: after a timeout or a memory error they rethrow,
 *    so a flow cannot swallow its own kill;
 *  - a count hook every 1000 instructions checks the run's deadline.
 *
 * A hook fires only between Lua instructions, so one call into C that runs
 * long is not interrupted. The libraries' C functions are bounded by the
 * memory cap, except pattern matching (string.find/match/gmatch/gsub), whose
 * backtracking on a pathological pattern ("(.-)(.-)(.-)...x") can take far
 * longer than any deadline. Those four are wrapped (pattern_guard): before the
 * match, the worst case of Lua's backtracking matcher, about
 * (n + 1) * C(n + q, q) * 2^o steps for a subject of n bytes and a pattern
 * with q repetitions (*, -, +) and o optional items (?), must stay under
 * PATTERN_MAX_STEPS, else the call raises an error instead of running away
 * with the worker thread.
 */
#include "flow_int.h"

#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

#define HOOK_EVERY 1000
#define JSON_MAX_DEPTH 32
#define SANDBOX_MARK "__sandbox_readonly"

static const char *const bank_ops[] = {
	"profile", "accounts", "history", "payees", "transfer", "products", "buy_product",
	"loan_apply", "loan_disburse", "deposit_open", "payroll", "bill_issue", "fx_quote",
	"crossborder_pay", "merchant_summary", "pending_payments", "decide_payment", "calendar",
	"cockpit", "manager", "benefits",
};

static flow_vm *vm_of(lua_State *L)
{
	return *(flow_vm **)lua_getextraspace(L);
}

/* --- allocator and hook ------------------------------------------------------ */

static void *vm_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	flow_vm *vm = ud;
	size_t old = ptr ? osize : 0;
	if (nsize == 0) {
		free(ptr);
		vm->used -= old;
		return NULL;
	}
	if (nsize > old && vm->used - old + nsize > vm->cap)
		return NULL;                 /* Lua collects and retries, then raises a memory error */
	void *p = realloc(ptr, nsize);
	if (!p)
		return NULL;
	vm->used = vm->used - old + nsize;
	return p;
}

bool flow_deadline_passed(const flow_run_state *run)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > run->deadline.tv_sec ||
	       (now.tv_sec == run->deadline.tv_sec && now.tv_nsec >= run->deadline.tv_nsec);
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
	flow_vm *vm = vm_of(L);
	if (vm->run && (vm->run->killed || flow_deadline_passed(vm->run))) {
		if (!vm->run->killed)
			vm->run->killed = KILL_TIMEOUT;
		luaL_error(L, "flow timed out");
	}
}

/* --- wrapped base functions ----------------------------------------------- */

/* Rethrows what must not be caught: the run's kill, memory errors. */
static void protect_kill(lua_State *L, int status)
{
	flow_vm *vm = vm_of(L);
	if (status == LUA_ERRMEM && vm->run && !vm->run->killed)
		vm->run->killed = KILL_MEMORY;
	if (status != LUA_OK && (status == LUA_ERRMEM || (vm->run && vm->run->killed)))
		lua_error(L);                /* the error object is on top */
}

static int sb_pcall(lua_State *L)
{
	luaL_checkany(L, 1);
	int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
	protect_kill(L, status);
	luaL_checkstack(L, 1, NULL);
	lua_pushboolean(L, status == LUA_OK);
	lua_insert(L, 1);
	return lua_gettop(L);
}

static int sb_xpcall(lua_State *L)
{
	int n = lua_gettop(L);
	luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_pushvalue(L, 1);             /* f above the handler: handler, ..., f, args */
	lua_copy(L, 2, 1);
	lua_replace(L, 2);               /* now: handler, f, args... */
	int status = lua_pcall(L, n - 2, LUA_MULTRET, 1);
	protect_kill(L, status);
	luaL_checkstack(L, 1, NULL);
	lua_pushboolean(L, status == LUA_OK);
	lua_replace(L, 1);               /* the handler's slot holds the status */
	return lua_gettop(L);
}

static bool is_protected(lua_State *L, int idx)
{
	if (!lua_getmetatable(L, idx))
		return false;
	lua_pushstring(L, SANDBOX_MARK);
	lua_rawget(L, -2);
	bool p = lua_toboolean(L, -1);
	lua_pop(L, 2);
	return p;
}

static int sb_rawset(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checkany(L, 2);
	luaL_checkany(L, 3);
	if (is_protected(L, 1))
		return luaL_error(L, "attempt to modify a read-only table");
	lua_settop(L, 3);
	lua_rawset(L, 1);
	return 1;
}

static int sb_setmetatable(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	if (lua_type(L, 2) == LUA_TTABLE) {
		lua_pushstring(L, "__gc");
		if (lua_rawget(L, 2) != LUA_TNIL)
			return luaL_error(L, "__gc metamethods are not allowed in flows");
		lua_pop(L, 1);
	}
	lua_pushvalue(L, lua_upvalueindex(1));    /* the real setmetatable */
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

static int sb_print(lua_State *L)
{
	return 0;
}

static int sb_readonly(lua_State *L)
{
	return luaL_error(L, "attempt to modify a read-only table");
}

/* --- JSON <-> Lua ----------------------------------------------------------------- */

static void push_json_depth(lua_State *L, json_t *v, int depth)
{
	if (depth > JSON_MAX_DEPTH || !lua_checkstack(L, 4))
		luaL_error(L, "JSON value nested too deeply");
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *e;
		lua_createtable(L, 0, (int)json_object_size(v));
		json_object_foreach(v, k, e) {
			push_json_depth(L, e, depth + 1);
			lua_setfield(L, -2, k);
		}
		break;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *e;
		lua_createtable(L, (int)json_array_size(v), 0);
		json_array_foreach(v, i, e) {
			push_json_depth(L, e, depth + 1);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		break;
	}
	case JSON_STRING: lua_pushlstring(L, json_string_value(v), json_string_length(v)); break;
	case JSON_INTEGER: lua_pushinteger(L, (lua_Integer)json_integer_value(v)); break;
	case JSON_REAL: lua_pushnumber(L, json_real_value(v)); break;
	case JSON_TRUE: lua_pushboolean(L, 1); break;
	case JSON_FALSE: lua_pushboolean(L, 0); break;
	default: lua_pushnil(L); break;
	}
}

void flow_push_json(lua_State *L, json_t *v)
{
	if (!v)
		lua_pushnil(L);
	else
		push_json_depth(L, v, 0);
}

static json_t *to_json_depth(lua_State *L, int idx, int depth, strbuf *err);

/* 1..n keys and nothing else -> n; otherwise -1. Never raises. */
long long flow_table_length(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	long long count = 0, max = 0;
	bool all_int = true;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		if (lua_isinteger(L, -2)) {
			long long k = lua_tointeger(L, -2);
			if (k < 1)
				all_int = false;
			else if (k > max)
				max = k;
		} else {
			all_int = false;
		}
		count++;
		lua_pop(L, 1);
	}
	return all_int && count == max ? count : -1;
}

static json_t *table_to_json(lua_State *L, int idx, int depth, strbuf *err)
{
	long long n = flow_table_length(L, idx);
	if (n >= 0) {
		json_t *a = json_array();
		for (long long i = 1; i <= n; i++) {
			lua_rawgeti(L, idx, i);
			json_t *e = to_json_depth(L, lua_gettop(L), depth + 1, err);
			lua_pop(L, 1);
			if (!e || json_array_append_new(a, e)) {
				json_decref(a);
				return NULL;
			}
		}
		return a;
	}
	json_t *o = json_object();
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		char num[32];
		const char *key = NULL;
		if (lua_type(L, -2) == LUA_TSTRING)
			key = lua_tostring(L, -2);         /* a string already: no conversion */
		else if (lua_isinteger(L, -2))
			key = (snprintf(num, sizeof num, "%lld", (long long)lua_tointeger(L, -2)), num);
		json_t *e = key ? to_json_depth(L, lua_gettop(L), depth + 1, err) : NULL;
		if (!key && !err->len)
			strbuf_adds(err, "a table key is neither a string nor an integer");
		if (!e || json_object_set_new(o, key, e)) {
			lua_pop(L, 2);
			json_decref(o);
			if (!err->len)
				strbuf_adds(err, "a table key is not valid UTF-8");
			return NULL;
		}
		lua_pop(L, 1);
	}
	return o;
}

static json_t *to_json_depth(lua_State *L, int idx, int depth, strbuf *err)
{
	if (depth > JSON_MAX_DEPTH || !lua_checkstack(L, 4)) {
		strbuf_adds(err, "value nested too deeply (or a cycle)");
		return NULL;
	}
	switch (lua_type(L, idx)) {
	case LUA_TNIL: return json_null();
	case LUA_TBOOLEAN: return json_boolean(lua_toboolean(L, idx));
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			return json_integer((json_int_t)lua_tointeger(L, idx));
		if (!isfinite(lua_tonumber(L, idx))) {
			strbuf_adds(err, "a number is NaN or infinite");
			return NULL;
		}
		return json_real(lua_tonumber(L, idx));
	case LUA_TSTRING: {
		size_t len;
		const char *s = lua_tolstring(L, idx, &len);
		json_t *j = json_stringn(s, len);
		if (!j)
			strbuf_adds(err, "a string is not valid UTF-8");
		return j;
	}
	case LUA_TTABLE:
		return table_to_json(L, idx, depth, err);
	default:
		strbuf_addf(err, "cannot encode a %s", lua_typename(L, lua_type(L, idx)));
		return NULL;
	}
}

json_t *flow_to_json(lua_State *L, int idx, strbuf *err)
{
	return to_json_depth(L, lua_absindex(L, idx), 0, err);
}

/* --- Lua -> JSON text ------------------------------------------------------------- */

/*
 * The result of a flow goes straight from Lua to JSON text, without a jansson
 * tree in between. The text is the one json_dumps(flow_to_json(v), JSON_COMPACT)
 * would give: the same key order (lua_next), the same checks and messages.
 * What is rare is handed to jansson itself: strings that need escaping or are
 * not ASCII (checked as jansson checks UTF-8), reals, and objects with integer
 * keys (two keys may meet as one string there).
 */

/* What a byte asks of the writer: 0 nothing, 1 an escape, 2 a UTF-8 check. */
#define K16(k) k, k, k, k, k, k, k, k, k, k, k, k, k, k, k, k
static const unsigned char byte_kind[256] = {
	K16(1), K16(1),
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,            /* '"' */
	K16(0), K16(0),
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,            /* '\\' */
	K16(0), K16(0),
	K16(2), K16(2), K16(2), K16(2), K16(2), K16(2), K16(2), K16(2),
};
#undef K16

/* UTF-8 as jansson accepts it: no overlong forms, no surrogates, nothing past U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		size_t n = c < 0x80 ? 1 : c < 0xC2 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
		if (n == 0 || i + n > len)
			return false;
		unsigned long v = n == 1 ? c : n == 2 ? c & 0x1Fu : n == 3 ? c & 0x0Fu : c & 0x07u;
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			v = (v << 6) | (s[i + k] & 0x3Fu);
		}
		if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || (n == 3 && v < 0x800) ||
		    (n == 4 && v < 0x10000))
			return false;
		i += n;
	}
	return true;
}

/* Appends j as compact JSON text to out (when out is set) and drops j; false when j is NULL. */
static bool append_json(json_t *j, strbuf *out)
{
	if (!j)
		return false;
	if (out) {
		char *t = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
		strbuf_adds(out, t ? t : "null");
		free(t);
	}
	json_decref(j);
	return true;
}

/* A string as jansson writes it; false when it is not valid UTF-8. */
static bool text_string(const char *s, size_t len, bool check, strbuf *out)
{
	unsigned char need = 0;
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < len; i++)
		need |= byte_kind[u[i]];
	if (!(need & 1)) {
		if (check && need && !utf8_valid((const unsigned char *)s, len))
			return false;
		if (out) {
			strbuf_grow(out, len + 2);
			out->buf[out->len] = '"';
			memcpy(out->buf + out->len + 1, s, len);
			out->len += len + 2;
			out->buf[out->len - 1] = '"';
			out->buf[out->len] = '\0';
		}
		return true;
	}
	return append_json(json_stringn(s, len), out);
}

static void text_integer(long long v, strbuf *out)
{
	char digits[24];
	size_t n = 0;
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
	do {
		digits[sizeof digits - 1 - n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		digits[sizeof digits - 1 - n++] = '-';
	strbuf_add(out, digits + sizeof digits - n, n);
}

static bool text_value(lua_State *L, int idx, int depth, bool check, strbuf *out, strbuf *err);

/* Via jansson: the value at idx (a table with integer keys, or a real). */
static bool text_by_jansson(lua_State *L, int idx, int depth, strbuf *out, strbuf *err)
{
	return append_json(to_json_depth(L, idx, depth, err), out);
}

static bool text_array(lua_State *L, int idx, long long n, int depth, bool check, strbuf *out,
		       strbuf *err)
{
	if (out)
		strbuf_addc(out, '[');
	for (long long i = 1; i <= n; i++) {
		if (out && i > 1)
			strbuf_addc(out, ',');
		lua_rawgeti(L, idx, i);
		bool ok = text_value(L, lua_gettop(L), depth + 1, check, out, err);
		lua_pop(L, 1);
		if (!ok)
			return false;
	}
	if (out)
		strbuf_addc(out, ']');
	return true;
}

/* flow_table_length, and in the same pass: are all keys strings without NUL? */
static long long table_shape(lua_State *L, int idx, bool *plain_keys)
{
	long long count = 0, max = 0;
	bool all_int = true;
	*plain_keys = true;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) == LUA_TSTRING) {
			size_t klen;
			const char *k = lua_tolstring(L, -1, &klen);
			all_int = false;
			if (memchr(k, 0, klen))
				*plain_keys = false;
		} else if (lua_isinteger(L, -1)) {
			long long k = lua_tointeger(L, -1);
			*plain_keys = false;
			if (k < 1)
				all_int = false;
			else if (k > max)
				max = k;
		} else {
			*plain_keys = all_int = false;
		}
		count++;
	}
	return all_int && count == max ? count : -1;
}

static bool text_table(lua_State *L, int idx, int depth, bool check, strbuf *out, strbuf *err)
{
	bool plain_keys;
	long long n = table_shape(L, idx, &plain_keys);
	if (n >= 0)
		return text_array(L, idx, n, depth, check, out, err);
	/* jansson reads a key up to its first NUL, and makes integer keys text: leave those to it */
	if (!plain_keys)
		return text_by_jansson(L, idx, depth, out, err);
	bool first = true;
	if (out)
		strbuf_addc(out, '{');
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		size_t klen;
		const char *k = lua_tolstring(L, -2, &klen);   /* a string: no conversion */
		if (out && !first)
			strbuf_addc(out, ',');
		first = false;
		if (!text_string(k, klen, check, out)) {
			lua_pop(L, 2);
			strbuf_adds(err, "a table key is not valid UTF-8");
			return false;
		}
		if (out)
			strbuf_addc(out, ':');
		if (!text_value(L, lua_gettop(L), depth + 1, check, out, err)) {
			lua_pop(L, 2);
			return false;
		}
		lua_pop(L, 1);
	}
	if (out)
		strbuf_addc(out, '}');
	return true;
}

static bool text_value(lua_State *L, int idx, int depth, bool check, strbuf *out, strbuf *err)
{
	if (depth > JSON_MAX_DEPTH || !lua_checkstack(L, 4)) {
		strbuf_adds(err, "value nested too deeply (or a cycle)");
		return false;
	}
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		if (out)
			strbuf_adds(out, "null");
		return true;
	case LUA_TBOOLEAN:
		if (out)
			strbuf_adds(out, lua_toboolean(L, idx) ? "true" : "false");
		return true;
	case LUA_TNUMBER:
		if (!lua_isinteger(L, idx))
			return text_by_jansson(L, idx, depth, out, err);
		if (out)
			text_integer((long long)lua_tointeger(L, idx), out);
		return true;
	case LUA_TSTRING: {
		size_t len;
		const char *s = lua_tolstring(L, idx, &len);
		if (!text_string(s, len, check, out)) {
			strbuf_adds(err, "a string is not valid UTF-8");
			return false;
		}
		return true;
	}
	case LUA_TTABLE:
		return text_table(L, idx, depth, check, out, err);
	default:
		strbuf_addf(err, "cannot encode a %s", lua_typename(L, lua_type(L, idx)));
		return false;
	}
}

bool flow_json_check(lua_State *L, int idx, strbuf *err)
{
	return text_value(L, lua_absindex(L, idx), 0, true, NULL, err);
}

bool flow_json_write(lua_State *L, int idx, strbuf *out)
{
	strbuf err = STRBUF_INIT;
	bool ok = text_value(L, lua_absindex(L, idx), 0, true, out, &err);
	strbuf_release(&err);
	return ok;
}

bool flow_json_key(const char *s, size_t len)
{
	return !memchr(s, 0, len) && text_string(s, len, true, NULL);
}

/* --- the bank bridge ------------------------------------------------------------- */

/* The edition's limits, forced into a transfer so the bank checks them too. */
static void transfer_limits(const rt_edition *ed, json_t *args)
{
	static const char *const map[][2] = { { "transfer_single", "limit" }, { "transfer_daily", "daily_limit" } };
	json_t *obj = json_array_get(args, 0), *limits = json_object_get(ed->meta, "limits");
	for (size_t i = 0; json_is_object(obj) && i < 2; i++) {
		json_t *lim = json_object_get(limits, map[i][0]), *given = json_object_get(obj, map[i][1]);
		if (!json_is_integer(lim) || json_integer_value(lim) <= 0)
			continue;
		if (!json_is_integer(given) || json_integer_value(given) <= 0 ||
		    json_integer_value(given) > json_integer_value(lim))
			json_object_set_new(obj, map[i][1], json_integer(json_integer_value(lim)));
	}
}

static json_t *bridge_args(lua_State *L, flow_run_state *run, const char *op, strbuf *err)
{
	json_t *args = json_array();
	int n = lua_gettop(L);
	for (int i = 1; i <= n; i++) {
		json_t *v = flow_to_json(L, i, err);
		if (!v) {
			json_decref(args);
			return NULL;
		}
		json_array_append_new(args, v);
	}
	if (!strcmp(op, "products") && n == 0 && run->ed->products)
		json_array_append(args, run->ed->products);
	if (!strcmp(op, "transfer"))
		transfer_limits(run->ed, args);
	return args;
}

/* What is left of the run's deadline, in ms (at least 1): a remote bank call waits no longer. */
static int budget_ms(const flow_run_state *run)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long ms = (long long)(run->deadline.tv_sec - now.tv_sec) * 1000 +
		       (run->deadline.tv_nsec - now.tv_nsec) / 1000000;
	return ms < 1 ? 1 : ms > 600000 ? 600000 : (int)ms;
}

/*
 * bank.products() against the embedded bank: the bank is asked for the
 * holdings only, and each product comes from a Lua template of the edition's
 * catalogue made once per state: a list k1, v1, k2, v2... in the catalogue's
 * order, copied into a fresh table per run (the same insertions, in the same
 * order, as pushing the bank's JSON would make, so the same table). Only a
 * catalogue of flat products (no lists or objects inside) gets templates:
 * a nested value would be shared between runs.
 */
static bool catalogue_flat(json_t *catalogue)
{
	size_t i;
	json_t *p, *v;
	const char *k;
	if (!json_is_array(catalogue))
		return false;
	json_array_foreach(catalogue, i, p) {
		if (!json_is_object(p))
			continue;
		json_object_foreach(p, k, v)
			if (json_is_object(v) || json_is_array(v))
				return false;
	}
	return true;
}

/* Pushes the templates of the products bk_op_products would answer (objects with a string id). */
static void push_templates(lua_State *L, json_t *catalogue)
{
	size_t i, n = 0;
	json_t *p, *v;
	const char *k;
	lua_createtable(L, (int)json_array_size(catalogue), 0);
	json_array_foreach(catalogue, i, p) {
		if (!json_is_object(p) || !json_is_string(json_object_get(p, "id")))
			continue;
		lua_createtable(L, 2 * (int)json_object_size(p), 0);
		lua_Integer m = 0;
		json_object_foreach(p, k, v) {
			if (json_is_null(v))
				continue;            /* pushing null sets nothing */
			lua_pushstring(L, k);
			lua_rawseti(L, -2, ++m);
			flow_push_json(L, v);
			lua_rawseti(L, -2, ++m);
		}
		lua_rawseti(L, -2, (lua_Integer)++n);
	}
}

/* The templates' registry ref for this catalogue, made on first use; LUA_NOREF: not flat. */
static int catalogue_templates(lua_State *L, flow_vm *vm, json_t *catalogue)
{
	if (vm->catalogue == catalogue)
		return vm->catalogue_ref;
	if (!catalogue_flat(catalogue))
		return LUA_NOREF;
	push_templates(L, catalogue);
	int ref = luaL_ref(L, LUA_REGISTRYINDEX);
	luaL_unref(L, LUA_REGISTRYINDEX, vm->catalogue_ref);
	vm->catalogue = catalogue;
	vm->catalogue_ref = ref;
	return ref;
}

/* Pushes the products: the templates filled in with the holdings (a list of {id, holding}). */
static void push_products(lua_State *L, int ref, json_t *catalogue, json_t *held)
{
	size_t i, j, n = 0;
	json_t *p, *h;
	lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
	int tpl = lua_gettop(L);
	lua_createtable(L, (int)lua_rawlen(L, tpl), 0);
	json_array_foreach(catalogue, i, p) {
		const char *id = json_string_value(json_object_get(p, "id"));
		if (!json_is_object(p) || !id)
			continue;
		lua_rawgeti(L, tpl, (lua_Integer)++n);
		lua_Integer len = (lua_Integer)lua_rawlen(L, -1);
		lua_createtable(L, 0, (int)json_object_size(p) + !json_object_get(p, "holding"));
		for (lua_Integer m = 1; m < len; m += 2) {
			lua_rawgeti(L, -2, m);
			lua_rawgeti(L, -3, m + 1);
			lua_rawset(L, -3);
		}
		json_t *amount = NULL;
		json_array_foreach(held, j, h)
			if (!strcmp(json_string_value(json_object_get(h, "id")), id))
				amount = json_object_get(h, "holding");
		lua_pushliteral(L, "holding");
		if (amount)
			flow_push_json(L, amount);
		else
			lua_pushinteger(L, 0);
		lua_rawset(L, -3);
		lua_remove(L, -2);                /* the template */
		lua_rawseti(L, -2, (lua_Integer)n);
	}
	lua_remove(L, tpl);
}

/* bank.products() with no arguments against the embedded bank; false: not this case. */
static bool products_local(lua_State *L, flow_run_state *run, const char *op, int *rc, strbuf *err)
{
	json_t *catalogue = run->ed->products, *held = NULL;
	if (strcmp(op, "products") || lua_gettop(L) != 0 || !catalogue ||
	    backend_url_of(backend_service_of(op)))
		return false;
	int ref = catalogue_templates(L, vm_of(L), catalogue);
	if (ref == LUA_NOREF)
		return false;
	json_t *args = json_array();
	*rc = backend_call_by(run->runner->bank, run->who, op, args, budget_ms(run), &held, err);
	json_decref(args);
	if (*rc != 0)
		return true;
	if (!json_is_array(held)) {
		*rc = -1;
		json_decref(held);
		strbuf_adds(err, "internal");
		return true;
	}
	run->pending = held;                 /* freed by the run if pushing runs out of memory */
	push_products(L, ref, catalogue, held);
	run->pending = NULL;
	json_decref(held);
	return true;
}

/* The bank's refusal code, raised into Lua (and kept to map it to a status). */
static int raise_refusal(lua_State *L, flow_run_state *run, strbuf *err)
{
	snprintf(run->bank_code, sizeof run->bank_code, "%s", err->buf);
	strbuf_release(err);
	lua_pushstring(L, run->bank_code);
	return lua_error(L);
}

static int bank_bridge(lua_State *L)
{
	flow_vm *vm = vm_of(L);
	flow_run_state *run = vm->run;
	const char *op = lua_tostring(L, lua_upvalueindex(1));
	if (!run)
		return luaL_error(L, "bank is not available here");
	if (run->killed || flow_deadline_passed(run)) {
		/* a loop of bank calls runs few instructions: check the deadline here too */
		if (!run->killed)
			run->killed = KILL_TIMEOUT;
		return luaL_error(L, "flow timed out");
	}
	strbuf err = STRBUF_INIT;
	int rc = -1;
	if (products_local(L, run, op, &rc, &err)) {
		if (rc != 0)
			return raise_refusal(L, run, &err);
		strbuf_release(&err);
		return 1;
	}
	json_t *args = bridge_args(L, run, op, &err), *res = NULL;
	if (args)
		rc = backend_call_by(run->runner->bank, run->who, op, args, budget_ms(run), &res, &err);
	json_decref(args);
	if (rc != 0) {
		if (!args) {
			/* a flow bug, not a refusal: a plain error naming the call */
			char msg[200];
			snprintf(msg, sizeof msg, "bank.%s: %s", op, err.buf);
			strbuf_release(&err);
			return luaL_error(L, "%s", msg);
		}
		return raise_refusal(L, run, &err);
	}
	strbuf_release(&err);
	run->pending = res;                  /* freed by the run if pushing runs out of memory */
	lua_settop(L, 0);
	flow_push_json(L, res);
	run->pending = NULL;
	json_decref(res);
	return 1;
}

/* --- building the sandbox --------------------------------------------------------- */

/* Leaves a read-only proxy of the table at the top in its place. */
static void make_proxy(lua_State *L)
{
	lua_newtable(L);                     /* proxy */
	lua_createtable(L, 0, 4);            /* its metatable */
	lua_pushvalue(L, -3);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, sb_readonly);
	lua_setfield(L, -2, "__newindex");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_pushboolean(L, 1);
	lua_setfield(L, -2, SANDBOX_MARK);
	lua_setmetatable(L, -2);
	lua_replace(L, -2);
}

static void sandbox_base(lua_State *L, int sandbox)
{
	static const char *const keep[] = {
		"assert", "error", "ipairs", "next", "pairs", "rawequal", "rawlen", "rawget", "select",
		"tonumber", "tostring", "type", "getmetatable", "_VERSION",
	};
	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
		lua_getglobal(L, keep[i]);
		lua_setfield(L, sandbox, keep[i]);
	}
	static const luaL_Reg wrapped[] = {
		{ "pcall", sb_pcall }, { "xpcall", sb_xpcall }, { "rawset", sb_rawset }, { "print", sb_print },
	};
	for (size_t i = 0; i < sizeof wrapped / sizeof wrapped[0]; i++) {
		lua_pushcfunction(L, wrapped[i].func);
		lua_setfield(L, sandbox, wrapped[i].name);
	}
	lua_getglobal(L, "setmetatable");
	lua_pushcclosure(L, sb_setmetatable, 1);
	lua_setfield(L, sandbox, "setmetatable");
}

#define PATTERN_MAX_STEPS 1e8

/*
 * The worst-case step count of matching pattern p against n bytes: the matcher
 * tries each start position (one, when the pattern is anchored with '^'), and
 * from each it may try every way of splitting the subject among the q
 * repetitions, C(n + q, q) of them, times two for each optional item. Every
 * repetition counts, narrow ones too: %d*%d*%d*x backtracks as badly on a run
 * of digits as .-.-.-x does on anything.
 */
static double pattern_cost(const char *p, size_t plen, size_t n)
{
	int reps = 0, optional = 0;
	for (size_t i = 0; i < plen; i++) {
		if (p[i] == '%') {              /* an escape: %a, %b(), %f[set] */
			if (i + 1 < plen && p[i + 1] == 'b')
				reps++;                 /* %bxy scans like a repetition */
			i++;
		} else if (p[i] == '[') {       /* a set: its '-' are ranges, not repetitions */
			for (i++; i < plen && p[i] != ']'; i++)
				if (p[i] == '%')
					i++;
		}
		if (i + 1 < plen && (p[i + 1] == '*' || p[i + 1] == '-' || p[i + 1] == '+')) {
			reps++;
			i++;
		} else if (i + 1 < plen && p[i + 1] == '?') {
			optional++;
			i++;
		}
	}
	double cost = plen && p[0] == '^' ? 1.0 : (double)n + 1.0;
	for (int k = 1; k <= reps && cost <= PATTERN_MAX_STEPS; k++)
		cost = cost * ((double)n + k) / k;
	return cost * pow(2.0, optional < 64 ? optional : 64);
}

static int pattern_guard(lua_State *L)
{
	int top = lua_gettop(L);
	int plain = top >= 4 && lua_toboolean(L, 4) && lua_toboolean(L, lua_upvalueindex(2));
	/* numbers are strings to these functions too: measure what they will match */
	if (!plain && top >= 2 && lua_isstring(L, 1) && lua_isstring(L, 2)) {
		size_t n, plen;
		lua_tolstring(L, 1, &n);
		const char *p = lua_tolstring(L, 2, &plen);
		if (pattern_cost(p, plen, n) > PATTERN_MAX_STEPS)
			return luaL_error(L, "pattern '%s' is too costly for a subject of %d bytes",
					  plen > 40 ? "(long pattern)" : p, (int)n);
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, top, LUA_MULTRET);
	return lua_gettop(L);
}

/*
 * string.rep of an empty piece with an empty separator makes "" but loops n
 * times in C first; string.rep('', 1 << 62) would hold the thread for ever.
 */
static int rep_guard(lua_State *L)
{
	size_t l, lsep = 0;
	luaL_checklstring(L, 1, &l);
	lua_Integer n = luaL_checkinteger(L, 2);
	luaL_optlstring(L, 3, "", &lsep);
	if (n <= 0 || l + lsep == 0) {
		lua_pushliteral(L, "");
		return 1;
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

#define MOVE_MAX_ITEMS 1000000

/* table.move over absent keys allocates nothing, so only a bound on the range stops it. */
static int move_guard(lua_State *L)
{
	lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);
	if (e >= f && ((lua_Unsigned)e - (lua_Unsigned)f) >= MOVE_MAX_ITEMS)
		return luaL_error(L, "table.move of more than %d items", MOVE_MAX_ITEMS);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

static void guard_loops(lua_State *L)
{
	lua_getglobal(L, "string");
	lua_getfield(L, -1, "rep");
	lua_pushcclosure(L, rep_guard, 1);
	lua_setfield(L, -2, "rep");
	lua_getglobal(L, "table");
	lua_getfield(L, -1, "move");
	lua_pushcclosure(L, move_guard, 1);
	lua_setfield(L, -2, "move");
	lua_pop(L, 2);
}

/* Replaces the pattern functions of the string library (also reached as s:find) by guarded ones. */
static void guard_patterns(lua_State *L)
{
	static const char *const fns[] = { "find", "match", "gmatch", "gsub" };
	lua_getglobal(L, "string");
	for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
		lua_getfield(L, -1, fns[i]);
		lua_pushboolean(L, i == 0);     /* only find has a 'plain' argument */
		lua_pushcclosure(L, pattern_guard, 2);
		lua_setfield(L, -2, fns[i]);
	}
	lua_pop(L, 1);
}

static void sandbox_libs(lua_State *L, int sandbox)
{
	guard_patterns(L);
	guard_loops(L);
	static const char *const libs[] = { "string", "table", "math", "utf8" };
	lua_getglobal(L, "string");
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	lua_pop(L, 1);
	for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
		lua_getglobal(L, libs[i]);
		make_proxy(L);
		lua_setfield(L, sandbox, libs[i]);
	}
	lua_createtable(L, 0, (int)(sizeof bank_ops / sizeof bank_ops[0]));
	for (size_t i = 0; i < sizeof bank_ops / sizeof bank_ops[0]; i++) {
		lua_pushstring(L, bank_ops[i]);
		lua_pushcclosure(L, bank_bridge, 1);
		lua_setfield(L, -2, bank_ops[i]);
	}
	make_proxy(L);
	lua_setfield(L, sandbox, "bank");
	/* strings keep their methods, but their metatable is out of reach */
	lua_pushliteral(L, "");
	lua_getmetatable(L, -1);
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 2);
}

static int sandbox_setup(lua_State *L)
{
	flow_vm *vm = lua_touserdata(L, 1);
	luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
	luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
	luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
	luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
	luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
	lua_settop(L, 0);
	lua_newtable(L);                                  /* 1: the sandbox globals */
	sandbox_base(L, 1);
	sandbox_libs(L, 1);
	/* the real globals lose what no one may call, in case a reference ever leaks */
	static const char *const drop[] = { "load", "loadfile", "dofile", "collectgarbage", "require", "warn" };
	for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++) {
		lua_pushnil(L);
		lua_setglobal(L, drop[i]);
	}
	lua_createtable(L, 0, 2);                         /* 2: metatable of every run's _ENV */
	lua_pushvalue(L, 1);
	lua_setfield(L, 2, "__index");
	lua_pushboolean(L, 0);
	lua_setfield(L, 2, "__metatable");
	vm->env_mt_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

flow_vm *flow_vm_new(size_t cap, strbuf *err)
{
	flow_vm *vm = xcalloc(1, sizeof *vm);
	vm->cap = cap;
	vm->L = lua_newstate(vm_alloc, vm);
	if (!vm->L) {
		strbuf_addf(err, "cannot create a Lua state within %zu bytes", cap);
		free(vm);
		return NULL;
	}
	*(flow_vm **)lua_getextraspace(vm->L) = vm;
	vm->catalogue_ref = LUA_NOREF;
	lua_pushcfunction(vm->L, sandbox_setup);
	lua_pushlightuserdata(vm->L, vm);
	if (lua_pcall(vm->L, 1, 0, 0) != LUA_OK) {
		strbuf_addf(err, "cannot set up the flow sandbox: %s", lua_tostring(vm->L, -1));
		flow_vm_free(vm);
		return NULL;
	}
	lua_sethook(vm->L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
	return vm;
}

void flow_vm_free(flow_vm *vm)
{
	if (!vm)
		return;
	vm->run = NULL;
	lua_close(vm->L);
	for (size_t i = 0; i < vm->n_chunks; i++)
		free(vm->chunks[i].flow_id);
	free(vm->chunks);
	free(vm);
}
