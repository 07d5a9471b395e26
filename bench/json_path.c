/*
 * json_path: what the JSON conversions around a flow cost, measured apart
 * from HTTP, sessions and SQLite, and what a direct path would cost.
 *
 *   json_path STUB.json FLOW.lua [RUNS]
 *
 * STUB.json is bench/stubdata's output (ctx, profile, products); FLOW.lua a
 * flow of editions/flows that calls bank.profile(), bank.accounts() or
 * bank.products(). Each
 * run calls the flow once, in one Lua 5.4 state, two ways:
 *
 *   jansson  as editiond does it: bank results are jansson values (a shallow
 *            json_copy per row, as the bank does for products) pushed into Lua one
 *            by one; ctx is pushed from JSON; the result table becomes a
 *            jansson tree, then json_dumps.
 *   direct   the catalogue, accounts, profile and ctx are Lua tables built once; a
 *            bank call returns shallow copies of them (fresh tables, the
 *            same fields); the result table is written as JSON text in one
 *            pass.
 *
 * Prints CPU microseconds (this thread) per run for each way (median of 5 blocks of RUNS,
 * alternating) and checks that both ways give equal JSON values.
 */
#include <jansson.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strbuf.h"

static json_t *stub;
static int direct;            /* 0: jansson way, 1: direct way */
static int ref_products, ref_accounts, ref_profile, ref_ctx;

/* --- the jansson way ------------------------------------------------------------ */

static void push_json(lua_State *L, json_t *v)
{
	const char *k;
	json_t *e;
	size_t i;

	luaL_checkstack(L, 4, "deep");
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		lua_createtable(L, 0, (int)json_object_size(v));
		json_object_foreach(v, k, e) {
			push_json(L, e);
			lua_setfield(L, -2, k);
		}
		break;
	case JSON_ARRAY:
		lua_createtable(L, (int)json_array_size(v), 0);
		json_array_foreach(v, i, e) {
			push_json(L, e);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		break;
	case JSON_STRING: lua_pushlstring(L, json_string_value(v), json_string_length(v)); break;
	case JSON_INTEGER: lua_pushinteger(L, (lua_Integer)json_integer_value(v)); break;
	case JSON_REAL: lua_pushnumber(L, json_real_value(v)); break;
	case JSON_TRUE: lua_pushboolean(L, 1); break;
	case JSON_FALSE: lua_pushboolean(L, 0); break;
	default: lua_pushnil(L); break;
	}
}

/* 1..n keys only -> n (0 for an empty table, written as an object); else -1. */
static long long seq_length(lua_State *L, int idx)
{
	long long n = 0, max = 0;

	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1) {
			lua_pop(L, 1);
			return -1;
		}
		n++;
		if (lua_tointeger(L, -1) > max)
			max = lua_tointeger(L, -1);
	}
	return n == max ? n : -1;
}

static json_t *to_json(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	switch (lua_type(L, idx)) {
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);
		return json_stringn(s, n);
	}
	case LUA_TNUMBER:
		return lua_isinteger(L, idx) ? json_integer(lua_tointeger(L, idx)) : json_real(lua_tonumber(L, idx));
	case LUA_TBOOLEAN: return json_boolean(lua_toboolean(L, idx));
	case LUA_TTABLE: break;
	default: return json_null();
	}
	long long n = seq_length(L, idx);
	if (n > 0) {
		json_t *a = json_array();
		for (long long i = 1; i <= n; i++) {
			lua_rawgeti(L, idx, i);
			json_array_append_new(a, to_json(L, -1));
			lua_pop(L, 1);
		}
		return a;
	}
	json_t *o = json_object();
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		if (lua_type(L, -2) == LUA_TSTRING)
			json_object_set_new(o, lua_tostring(L, -2), to_json(L, -1));
		lua_pop(L, 1);
	}
	return o;
}

/* --- the direct way --------------------------------------------------------------- */

static void copy_table(lua_State *L, int idx)   /* pushes a shallow copy */
{
	idx = lua_absindex(L, idx);
	lua_createtable(L, 0, 12);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, -4);
	}
}

static void add_string(strbuf *sb, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	strbuf_addc(sb, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		strbuf_add(sb, s + run, i - run);
		run = i + 1;
		if (c == '"' || c == '\\') {
			strbuf_addc(sb, '\\');
			strbuf_addc(sb, (char)c);
		} else {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			strbuf_add(sb, u, 6);
		}
	}
	strbuf_add(sb, s + run, n - run);
	strbuf_addc(sb, '"');
}

static void write_json(lua_State *L, int idx, strbuf *sb)
{
	idx = lua_absindex(L, idx);
	switch (lua_type(L, idx)) {
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);
		add_string(sb, s, n);
		return;
	}
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			strbuf_addf(sb, "%lld", (long long)lua_tointeger(L, idx));
		else
			strbuf_addf(sb, "%.17g", lua_tonumber(L, idx));
		return;
	case LUA_TBOOLEAN: strbuf_adds(sb, lua_toboolean(L, idx) ? "true" : "false"); return;
	case LUA_TTABLE: break;
	default: strbuf_adds(sb, "null"); return;
	}
	long long n = seq_length(L, idx);
	if (n > 0) {
		strbuf_addc(sb, '[');
		for (long long i = 1; i <= n; i++) {
			if (i > 1)
				strbuf_addc(sb, ',');
			lua_rawgeti(L, idx, i);
			write_json(L, -1, sb);
			lua_pop(L, 1);
		}
		strbuf_addc(sb, ']');
		return;
	}
	int first = 1;
	strbuf_addc(sb, '{');
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		if (lua_type(L, -2) == LUA_TSTRING) {
			size_t kn;
			const char *k = lua_tolstring(L, -2, &kn);
			if (!first)
				strbuf_addc(sb, ',');
			first = 0;
			add_string(sb, k, kn);
			strbuf_addc(sb, ':');
			write_json(L, -1, sb);
		}
		lua_pop(L, 1);
	}
	strbuf_addc(sb, '}');
}

/* --- the bank stub ------------------------------------------------------------------- */

/* bank.products() and bank.accounts(): a list of objects (upvalue 1: its key in STUB.json). */
static int bank_list(lua_State *L)
{
	const char *key = lua_tostring(L, lua_upvalueindex(1));
	if (direct) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, strcmp(key, "products") ? ref_accounts : ref_products);
		lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
		lua_createtable(L, (int)n, 0);
		for (lua_Integer i = 1; i <= n; i++) {
			lua_rawgeti(L, -2, i);
			copy_table(L, -1);
			lua_rawseti(L, -3, i);
			lua_pop(L, 1);
		}
		return 1;
	}
	json_t *list = json_object_get(stub, key), *out = json_array(), *p;
	size_t i;
	json_array_foreach(list, i, p)
		json_array_append_new(out, json_copy(p));
	push_json(L, out);
	json_decref(out);
	return 1;
}

static int bank_profile(lua_State *L)
{
	if (direct) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, ref_profile);
		copy_table(L, -1);
		return 1;
	}
	push_json(L, json_object_get(stub, "profile"));
	return 1;
}

/* One run of the flow (at stack index 1); the JSON text in out. */
static void run_once(lua_State *L, strbuf *out)
{
	lua_pushvalue(L, 1);
	lua_newtable(L);
	if (direct) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, ref_ctx);
		copy_table(L, -1);
		lua_remove(L, -2);
	} else {
		push_json(L, json_object_get(stub, "ctx"));
	}
	if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
		fprintf(stderr, "json_path: %s\n", lua_tostring(L, -1));
		exit(1);
	}
	strbuf_reset(out);
	if (direct) {
		write_json(L, -1, out);
	} else {
		json_t *res = to_json(L, -1);
		char *text = json_dumps(res, JSON_COMPACT);
		strbuf_adds(out, text);
		free(text);
		json_decref(res);
	}
	lua_pop(L, 1);
}

static double block(lua_State *L, int way, int runs, strbuf *out)
{
	struct timespec t0, t1;

	direct = way;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	for (int i = 0; i < runs; i++)
		run_once(L, out);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	return ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / runs;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: json_path STUB.json FLOW.lua [RUNS]\n");
		return 2;
	}
	int runs = argc == 4 ? atoi(argv[3]) : 20000;
	json_error_t jerr;
	if (!(stub = json_load_file(argv[1], 0, &jerr)) || runs < 1) {
		fprintf(stderr, "json_path: cannot read '%s': %s\n", argv[1], jerr.text);
		return 1;
	}
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	lua_newtable(L);
	lua_pushstring(L, "products");
	lua_pushcclosure(L, bank_list, 1);
	lua_setfield(L, -2, "products");
	lua_pushstring(L, "accounts");
	lua_pushcclosure(L, bank_list, 1);
	lua_setfield(L, -2, "accounts");
	lua_pushcfunction(L, bank_profile);
	lua_setfield(L, -2, "profile");
	lua_setglobal(L, "bank");
	push_json(L, json_object_get(stub, "products"));
	ref_products = luaL_ref(L, LUA_REGISTRYINDEX);
	push_json(L, json_object_get(stub, "accounts"));
	ref_accounts = luaL_ref(L, LUA_REGISTRYINDEX);
	push_json(L, json_object_get(stub, "profile"));
	ref_profile = luaL_ref(L, LUA_REGISTRYINDEX);
	push_json(L, json_object_get(stub, "ctx"));
	ref_ctx = luaL_ref(L, LUA_REGISTRYINDEX);
	if (luaL_loadfile(L, argv[2]) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK || !lua_isfunction(L, -1)) {
		fprintf(stderr, "json_path: cannot load '%s': %s\n", argv[2], lua_tostring(L, -1));
		return 1;
	}
	strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	double t[2][5];
	for (int k = 0; k < 5; k++) {
		t[0][k] = block(L, 0, runs, &a);
		t[1][k] = block(L, 1, runs, &b);
	}
	json_t *ja = json_loads(a.buf, 0, NULL), *jb = json_loads(b.buf, 0, NULL);
	int same = ja && jb && json_equal(ja, jb);
	qsort(t[0], 5, sizeof(double), cmp_double);
	qsort(t[1], 5, sizeof(double), cmp_double);
	printf("%s: jansson way %.2f us/run, direct way %.2f us/run (%.2f us less), %zu bytes, results %s\n",
	       argv[2], t[0][2], t[1][2], t[0][2] - t[1][2], b.len, same ? "equal" : "DIFFER");
	json_decref(ja);
	json_decref(jb);
	strbuf_release(&a);
	strbuf_release(&b);
	lua_close(L);
	json_decref(stub);
	return same ? 0 : 1;
}
