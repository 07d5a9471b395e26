/*
 * Tests of the flow engine: param checking (a table of good and bad values per
 * type, with the exact messages), the Lua sandbox (every escape tried fails,
 * loops and memory bombs are stopped and the process goes on), the bank bridge
 * (identity from C only, refusals mapped to statuses) and a real transfer flow
 * that moves money once per idempotency key.
 *
 * Flows are compiled here from source into stripped bytecode, as editionc
 * does; most tests feed them through flow_set_loader, one through a real pack.
 */
#include <check.h>
#include <ftw.h>
#include <lauxlib.h>
#include <lualib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flow.h"
#include "flow_int.h"
#include "pack.h"

/* --- flows under test ------------------------------------------------------- */

static const struct test_flow {
	const char *id, *source;
} test_flows[] = {
	{ "echo", "return function(p, ctx) return { a = p.a, n = p.n, extra = 1, key = ctx.idempotency_key,"
		  " today = ctx.today, who = ctx.customer_id, tier = ctx.tier, limit = ctx.limits.transfer_single } end" },
	{ "load", "return function() return { a = load('return 1')() } end" },
	{ "loadstring", "return function() return { a = loadstring('return 1')() } end" },
	{ "dofile", "return function() dofile('/etc/passwd') return {} end" },
	{ "loadfile", "return function() loadfile('/etc/passwd') return {} end" },
	{ "require", "return function() require('os') return {} end" },
	{ "io", "return function() io.open('/etc/passwd') return {} end" },
	{ "os", "return function() os.exit(1) return {} end" },
	{ "debug", "return function() debug.getregistry() return {} end" },
	{ "dump", "return function() return { a = string.dump(function() end) } end" },
	{ "collect", "return function() collectgarbage('stop') return {} end" },
	{ "strmeta", "return function() getmetatable('').__index.upper = nil return {} end" },
	{ "strmeta2", "return function() local m = getmetatable('') return { a = tostring(m) } end" },
	{ "setmeta_str", "return function() setmetatable('', {}) return {} end" },
	{ "lib_write", "return function() string.upper = nil return {} end" },
	{ "lib_rawset", "return function() rawset(string, 'upper', nil) return {} end" },
	{ "bank_rawset", "return function() rawset(bank, 'accounts', function() return {} end) return {} end" },
	{ "env_meta", "return function() setmetatable(_ENV, nil) return {} end" },
	{ "env_meta2", "return function() return { a = tostring(getmetatable(_ENV)) } end" },
	{ "gc", "return function() setmetatable({}, { __gc = function() end }) return {} end" },
	{ "coroutine", "return function() coroutine.wrap(function() while true do end end)() return {} end" },
	{ "leave", "counter = (counter or 0) + 1 local t = _G t.bank = nil t.string = nil leftover = 1"
		   " rawset(_ENV, 'raw_left', 1) return function() return { a = tostring(counter) } end" },
	{ "check_left", "local n = 0 return function() n = n + 1 return { a = tostring(leftover) .. tostring(raw_left),"
			" n = n, ok = bank ~= nil and string.upper('x') == 'X' } end" },
	{ "loop", "return function() while true do end end" },
	{ "pcall_loop", "return function() while true do pcall(function() while true do end end) end end" },
	{ "bomb_table", "return function() local t = {} for i = 1, 1e9 do t[i] = { i, i, i } end return {} end" },
	{ "bomb_rep", "return function() local s = string.rep('x', 1 << 30) return { a = s } end" },
	{ "bomb_pcall", "return function() local t = {} while true do pcall(function() "
			"for i = 1, 1e9 do t[#t + 1] = ('y'):rep(64) .. i end end) end end" },
	{ "pattern_bomb", "return function() local s = string.rep('a', 3000)"
			  " return { a = tostring(s:find('(.-)(.-)(.-)(.-)b')) } end" },
	{ "pattern_bomb2", "return function() local s = string.rep('a', 3000)"
			   " return { a = tostring(string.match(s, '(%a-)(%a-)(%a-)(%a-)(%a-)b')) } end" },
	{ "pattern_ok", "return function() local s = string.rep('a b ', 500)"
			" local t, k = s:gsub('%s+', '_')"
			" local plain = string.find(s .. '(.-)', '(.-)', 1, true)"
			" local line = string.rep('x', 20) .. ', 6222-0001 , 12.50'"
			" assert(line:match('^%s*([^,]+),%s*([%d%-]+)%s*,(.+)$'))"
			" return { a = t:sub(1, 8) .. ',' .. tostring(plain) .. ',' .. ('x=1'):match('^(%w+)=(%d+)$'),"
			"          n = k } end" },
	{ "other_customer", "return function() return { n = #bank.history('8') } end" },
	{ "own_only", "return function() return { n = #bank.accounts({ customer_id = 2 }) } end" },
	{ "not_found", "return function() return bank.history('9999') end" },
	{ "caught", "return function() local ok, e = pcall(bank.history, '8') return { a = e, ok = ok } end" },
	{ "ret_func", "return function() return { a = print } end" },
	{ "ret_nan", "return function() return { n = 0/0 } end" },
	{ "ret_number", "return function() return 42 end" },
	{ "ret_types", "return function() return { a = 7, n = 3, list = {}, obj = {} } end" },
	{ "ret_bad_type", "return function() return { n = 'seven' } end" },
	{ "error", "return function() error('boom') end" },
	{ "pcalls", "return function()\n"
		    "  local ok1, a, b = pcall(function(x, y) return x + y, x * y end, 3, 4)\n"
		    "  local ok2, e = pcall(error, 'oops', 0)\n"
		    "  local ok3, h = xpcall(function() error('x', 0) end, function(m) return 'handled ' .. m end)\n"
		    "  local ok4, s = xpcall(function(p, q) return p .. q end, print, 'a', 'b')\n"
		    "  return { a = table.concat({ tostring(ok1), a, b, tostring(ok2), e, tostring(ok3), h,"
		    " tostring(ok4), s }, ',') }\n"
		    "end" },
	{ "not_function", "return 17" },
	{ "recurse", "local function f(n) return 1 + f(n + 1) end return function() return { n = f(1) } end" },
	{ "close", "return function() local x <close> = setmetatable({}, { __close = function() while true do end end })"
		   " while true do end end" },
	{ "transfer", "return function(p, ctx)\n"
		      "  if p.amount > (ctx.limits.transfer_single or math.maxinteger) then\n"
		      "    return { ok = false, message = 'over_limit' }\n"
		      "  end\n"
		      "  local r = bank.transfer{ from = p.from, to_account = p.to_account, amount = p.amount,\n"
		      "                           memo = p.memo, key = ctx.idempotency_key }\n"
		      "  return { transfer_id = r.transfer_id, status = r.status, balance_after = r.balance_after }\n"
		      "end" },
	{ "shapes", "return function(p, ctx)\n"
		    "  local list = {}\n"
		    "  for i = 1, 5 do list[i] = { id = 'P' .. i, name = '\\u{7A33}\\u{5065} \"q\" \\\\ ' .. i,"
		    " rate = i / 3, risk_level = i, tags = {}, on = i % 2 == 0 } end\n"
		    "  return { products = list, count = #list, name = 'line\\nbreak\\t\\0end', rate = 2.5,"
		    " whole = 2.0, odd = { [1] = 'a', [3] = 'b' }, mixed = { 'x', y = 1 }, nested = { a = { b = { c = {} } } },"
		    " ok = true, message = 'fine', extra = print ~= nil } end" },
	{ "shapes_polite", "return function() return { ok = false, message = 'over_limit', count = 1 } end" },
	{ "shapes_convert", "return function() return { name = 42, count = 3 } end" },
	{ "shapes_empty", "return function() return {} end" },
	{ "shapes_list", "return function() return { 1, 2 } end" },
	{ "shapes_bad_utf8", "return function() return { name = 'a\\xff' } end" },
	{ "shapes_bad_key", "return function() return { products = { ['\\xc3'] = 1 } } end" },
	{ "shapes_hidden", "return function() return { count = 1, other = { print } } end" },
	{ "utf8_overlong", "return function() return { name = 'a\\xc0\\xafb' } end" },
	{ "utf8_overlong3", "return function() return { name = '\\xe0\\x80\\xaf' } end" },
	{ "utf8_surrogate", "return function() return { name = '\\u{D800}' } end" },
	{ "utf8_too_big", "return function() return { name = '\\u{110000}' } end" },
	{ "utf8_cut", "return function() return { name = 'ab\\xe7\\xa8' } end" },
	{ "utf8_max", "return function() return { name = '\\u{10FFFF}\\u{FFFF}\\u{80}\\u{7FF}\\u{800}\\u{10000}' } end" },
	{ "utf8_hidden", "return function() return { count = 2, other = '\\xff' } end" },
	{ "utf8_top_key", "return function() return { count = 2, ['\\xff'] = 1 } end" },
	{ "ret_meta", "return function() return setmetatable({ count = 1 }, { __index = function() return 'x' end }) end" },
	{ "prod_list", "return function()\n"
		       "  local first = bank.products()\n"
		       "  for _, p in ipairs(first) do p.name = 'changed' p.extra = { 1 } end\n"
		       "  first[#first + 1] = { id = 'fake' }\n"
		       "  return { products = bank.products(), count = #first } end" },
	{ "shapes_nulkey", "return function() return { mixed = { ['a\\0b'] = 1, ['a'] = 2 }, nested = { ['a\\0'] = 1 } } end" },
	{ "transfer_nolimit", "return function(p, ctx)\n"
			      "  return bank.transfer{ from = p.from, to_account = p.to_account, amount = p.amount,\n"
			      "                        key = ctx.idempotency_key, limit = 999999999999 }\n"
			      "end" },
};

static strbuf compiled[sizeof test_flows / sizeof test_flows[0]];

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
	strbuf_add(ud, p, sz);
	return 0;
}

static void compile_flows(void)
{
	lua_State *L = luaL_newstate();
	for (size_t i = 0; i < sizeof test_flows / sizeof test_flows[0]; i++) {
		ck_assert_msg(luaL_loadstring(L, test_flows[i].source) == LUA_OK, "%s: %s", test_flows[i].id,
			      lua_tostring(L, -1));
		strbuf_init(&compiled[i]);
		lua_dump(L, dump_writer, &compiled[i], 1);
		lua_pop(L, 1);
	}
	lua_close(L);
}

static const void *test_loader(const rt_edition *ed, const char *flow_id, size_t *len)
{
	for (size_t i = 0; i < sizeof test_flows / sizeof test_flows[0]; i++) {
		if (!strcmp(test_flows[i].id, flow_id)) {
			*len = compiled[i].len;
			return compiled[i].buf;
		}
	}
	return NULL;
}

/* --- the edition and the bank ---------------------------------------------------- */

static char template_dir[64], test_dir[64];
static bank *bk;
static flow_runner *runner;
static rt_edition ed;

#define SHAPES_RETURNS \
	"[{\"id\":\"products\",\"type\":\"list\"},{\"id\":\"count\",\"type\":\"int\"},{\"id\":\"name\"," \
	"\"type\":\"string\"},{\"id\":\"rate\",\"type\":\"number\"},{\"id\":\"whole\",\"type\":\"number\"}," \
	"{\"id\":\"odd\",\"type\":\"object\"},{\"id\":\"mixed\"},{\"id\":\"nested\",\"type\":\"object\"}," \
	"{\"id\":\"absent\",\"type\":\"money\"}]"

static const char specs_json[] =
	"{\"echo\":{\"params\":[{\"id\":\"a\",\"type\":\"string\",\"max_len\":10},{\"id\":\"n\",\"type\":\"int\"}],"
	"  \"returns\":[{\"id\":\"a\",\"type\":\"string\"},{\"id\":\"n\",\"type\":\"int\"},{\"id\":\"key\",\"type\":\"string\"},"
	"   {\"id\":\"today\",\"type\":\"date\"},{\"id\":\"who\",\"type\":\"int\"},{\"id\":\"tier\",\"type\":\"string\"},"
	"   {\"id\":\"limit\",\"type\":\"money\"},{\"id\":\"missing\",\"type\":\"string\"}]},"
	" \"transfer\":{\"params\":[{\"id\":\"from\",\"type\":\"account\",\"required\":true},"
	"   {\"id\":\"to_account\",\"type\":\"string\",\"required\":true,\"max_len\":34},"
	"   {\"id\":\"amount\",\"type\":\"money\",\"required\":true,\"min\":1},{\"id\":\"memo\",\"type\":\"string\",\"max_len\":60}],"
	"  \"returns\":[{\"id\":\"transfer_id\",\"type\":\"string\"},{\"id\":\"status\",\"type\":\"string\"},"
	"   {\"id\":\"balance_after\",\"type\":\"money\"}],\"effects\":[\"moves_funds\"],\"timeout_ms\":3000},"
	" \"ret_types\":{\"returns\":[{\"id\":\"a\",\"type\":\"string\"},{\"id\":\"n\",\"type\":\"money\"},"
	"   {\"id\":\"list\",\"type\":\"list\"},{\"id\":\"obj\",\"type\":\"object\"}]},"
	" \"ret_bad_type\":{\"returns\":[{\"id\":\"n\",\"type\":\"int\"}]},"
	" \"other_customer\":{\"returns\":[{\"id\":\"n\",\"type\":\"int\"}]},"
	" \"own_only\":{\"returns\":[{\"id\":\"n\",\"type\":\"int\"}]},"
	" \"caught\":{\"returns\":[{\"id\":\"a\",\"type\":\"string\"}]},"
	" \"leave\":{\"returns\":[{\"id\":\"a\",\"type\":\"string\"}]},"
	" \"check_left\":{\"returns\":[{\"id\":\"a\",\"type\":\"string\"},{\"id\":\"n\",\"type\":\"int\"}]},"
	" \"strmeta2\":{\"returns\":[{\"id\":\"a\",\"type\":\"string\"}]},"
	" \"pattern_ok\":{\"returns\":[{\"id\":\"a\",\"type\":\"string\"},{\"id\":\"n\",\"type\":\"int\"}]},"
	" \"env_meta2\":{\"returns\":[{\"id\":\"a\",\"type\":\"string\"}]},"
	" \"shapes\":{\"returns\":" SHAPES_RETURNS "},"
	" \"shapes_polite\":{\"returns\":" SHAPES_RETURNS "},"
	" \"shapes_convert\":{\"returns\":" SHAPES_RETURNS "},"
	" \"shapes_empty\":{\"returns\":" SHAPES_RETURNS "},"
	" \"shapes_list\":{\"returns\":" SHAPES_RETURNS "},"
	" \"shapes_bad_utf8\":{\"returns\":" SHAPES_RETURNS "},"
	" \"shapes_bad_key\":{\"returns\":" SHAPES_RETURNS "},"
	" \"shapes_hidden\":{\"returns\":" SHAPES_RETURNS "},"
	" \"utf8_overlong\":{\"returns\":" SHAPES_RETURNS "}, \"utf8_overlong3\":{\"returns\":" SHAPES_RETURNS "},"
	" \"utf8_surrogate\":{\"returns\":" SHAPES_RETURNS "}, \"utf8_too_big\":{\"returns\":" SHAPES_RETURNS "},"
	" \"utf8_cut\":{\"returns\":" SHAPES_RETURNS "}, \"utf8_max\":{\"returns\":" SHAPES_RETURNS "},"
	" \"utf8_hidden\":{\"returns\":" SHAPES_RETURNS "}, \"utf8_top_key\":{\"returns\":" SHAPES_RETURNS "},"
	" \"ret_meta\":{\"returns\":" SHAPES_RETURNS "},"
	" \"prod_list\":{\"returns\":" SHAPES_RETURNS "},"
	" \"shapes_nulkey\":{\"returns\":" SHAPES_RETURNS "}}";

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void template_setup(void)
{
	strcpy(template_dir, "/tmp/flow-template-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(template_dir));
	strbuf err = STRBUF_INIT;
	bank *b = NULL;
	ck_assert_msg(bank_open(template_dir, &b, &err) == 0, "%s", err.buf);
	bank_close(b);
	strbuf_release(&err);
}

static void template_teardown(void)
{
	nftw(template_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void flow_setup(void)
{
	strcpy(test_dir, "/tmp/flow-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(test_dir));
	char from[128], to[128];
	snprintf(from, sizeof from, "%s/bank.sqlite", template_dir);
	snprintf(to, sizeof to, "%s/bank.sqlite", test_dir);
	strbuf data = STRBUF_INIT, err = STRBUF_INIT;
	ck_assert_int_eq(strbuf_read_file(&data, from, 1u << 30), 0);
	FILE *f = fopen(to, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fwrite(data.buf, 1, data.len, f), data.len);
	fclose(f);
	strbuf_release(&data);
	ck_assert_msg(bank_open(test_dir, &bk, &err) == 0, "%s", err.buf);
	strbuf_release(&err);
	compile_flows();
	flow_set_loader(test_loader);
	memset(&ed, 0, sizeof ed);
	ed.id = "mass";
	ed.meta = json_loads("{\"locale\":\"zh-CN\",\"segment\":\"personal\",\"limits\":{\"transfer_single\":5000000,"
			     "\"transfer_daily\":20000000},\"fees\":{\"cross_bank_transfer\":0}}", 0, NULL);
	ed.flow_specs = json_loads(specs_json, 0, NULL);
	ck_assert_ptr_nonnull(ed.flow_specs);
	json_object_set_new(ed.flow_specs, "transfer_nolimit",
			    json_deep_copy(json_object_get(ed.flow_specs, "transfer")));
	/* flows without a spec above get an empty one */
	for (size_t i = 0; i < sizeof test_flows / sizeof test_flows[0]; i++)
		if (!json_object_get(ed.flow_specs, test_flows[i].id))
			json_object_set_new(ed.flow_specs, test_flows[i].id,
					    json_pack("{s:[],s:[{s:s,s:s},{s:s,s:s}],s:i}", "params", "returns", "id", "a",
						      "type", "string", "id", "n", "type", "int", "timeout_ms", 100));
	/* memory bombs get time enough to meet the memory cap first */
	static const char *const bombs[] = { "bomb_table", "bomb_rep", "bomb_pcall" };
	for (size_t i = 0; i < 3; i++)
		json_object_set_new(json_object_get(ed.flow_specs, bombs[i]), "timeout_ms", json_integer(20000));
	ed.products = json_loads("[{\"id\":\"xingfu-daily\",\"kind\":\"wealth\"}]", 0, NULL);
	runner = flow_runner_new(bk, 4u << 20);
}

static void flow_teardown(void)
{
	flow_runner_free(runner);
	json_decref(ed.meta);
	json_decref(ed.flow_specs);
	json_decref(ed.products);
	for (size_t i = 0; i < sizeof test_flows / sizeof test_flows[0]; i++)
		strbuf_release(&compiled[i]);
	bank_close(bk);
	nftw(test_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static const bank_identity zhangwei = { .customer_id = 1 };

/* Runs a flow for zhangwei with params given as JSON text; *err_out gets the message. */
static int run(const char *flow, const char *params, json_t **res, char *err_out, size_t n)
{
	json_t *raw = json_loads(params, 0, NULL);
	ck_assert_ptr_nonnull(raw);
	strbuf err = STRBUF_INIT;
	json_t *r = NULL;
	int st = flow_run(runner, &ed, flow, raw, &zhangwei, &r, &err);
	ck_assert_int_eq(st == FLOW_OK, r != NULL);
	if (err_out)
		snprintf(err_out, n, "%s", err.buf);
	strbuf_release(&err);
	json_decref(raw);
	if (res)
		*res = r;
	else
		json_decref(r);
	return st;
}

/* --- params ---------------------------------------------------------------------------- */

static const struct param_case {
	const char *spec, *value, *typed, *error;   /* typed JSON, or the exact error */
} param_cases[] = {
	{ "{\"type\":\"string\",\"max_len\":5}", "\"hello\"", "\"hello\"", NULL },
	{ "{\"type\":\"string\",\"max_len\":5}", "\"你好世界好\"", "\"你好世界好\"", NULL },
	{ "{\"type\":\"string\",\"max_len\":5}", "\"hello!\"", NULL, "field 'x': longer than 5 characters" },
	{ "{\"type\":\"string\"}", "\"a\\u0001b\"", NULL, "field 'x': contains a control character" },
	{ "{\"type\":\"string\"}", "\"line\\nbreak\"", "\"line\\nbreak\"", NULL },
	{ "{\"type\":\"string\"}", "12", NULL, "field 'x': expected text" },
	{ "{\"type\":\"int\",\"min\":1,\"max\":12}", "12", "12", NULL },
	{ "{\"type\":\"int\",\"min\":1,\"max\":12}", "\"7\"", "7", NULL },
	{ "{\"type\":\"int\",\"min\":1,\"max\":12}", "13", NULL, "field 'x': must be at most 12" },
	{ "{\"type\":\"int\",\"min\":1,\"max\":12}", "\"0\"", NULL, "field 'x': must be at least 1" },
	{ "{\"type\":\"int\"}", "\"-42\"", "-42", NULL },
	{ "{\"type\":\"int\"}", "\"4.2\"", NULL, "field 'x': expected a whole number" },
	{ "{\"type\":\"int\"}", "\"99999999999999999999\"", NULL, "field 'x': expected a whole number" },
	{ "{\"type\":\"int\"}", "1.5", NULL, "field 'x': expected a whole number" },
	{ "{\"type\":\"money\"}", "12345", "12345", NULL },
	{ "{\"type\":\"money\"}", "\"123.45\"", "12345", NULL },
	{ "{\"type\":\"money\"}", "\"123.4\"", "12340", NULL },
	{ "{\"type\":\"money\"}", "\"123\"", "12300", NULL },
	{ "{\"type\":\"money\"}", "\"0.01\"", "1", NULL },
	{ "{\"type\":\"money\"}", "\"123.456\"", NULL, "field 'x': expected an amount like 123.45" },
	{ "{\"type\":\"money\"}", "\"12a\"", NULL, "field 'x': expected an amount like 123.45" },
	{ "{\"type\":\"money\"}", "\"-5\"", NULL, "field 'x': expected an amount like 123.45" },
	{ "{\"type\":\"money\"}", "\"1.\"", NULL, "field 'x': expected an amount like 123.45" },
	{ "{\"type\":\"money\"}", "\".5\"", NULL, "field 'x': expected an amount like 123.45" },
	{ "{\"type\":\"money\"}", "\"99999999999999999999.00\"", NULL, "field 'x': expected an amount like 123.45" },
	{ "{\"type\":\"money\"}", "12.5", NULL, "field 'x': expected an amount like 123.45" },
	{ "{\"type\":\"money\"}", "0", NULL, "field 'x': must be at least 0.01" },
	{ "{\"type\":\"money\"}", "\"0.00\"", NULL, "field 'x': must be at least 0.01" },
	{ "{\"type\":\"money\",\"min\":0}", "0", "0", NULL },
	{ "{\"type\":\"money\"}", "\"9999999999999.99\"", "999999999999999", NULL },
	{ "{\"type\":\"money\"}", "1000000000000001", NULL, "field 'x': must be at most 10000000000000.00" },
	{ "{\"type\":\"money\"}", "9223372036854775807", NULL, "field 'x': must be at most 10000000000000.00" },
	{ "{\"type\":\"money\",\"max\":100000}", "\"1000.01\"", NULL, "field 'x': must be at most 1000.00" },
	{ "{\"type\":\"bool\"}", "\"on\"", "true", NULL },
	{ "{\"type\":\"bool\"}", "\"1\"", "true", NULL },
	{ "{\"type\":\"bool\"}", "true", "true", NULL },
	{ "{\"type\":\"bool\"}", "\"false\"", "false", NULL },
	{ "{\"type\":\"bool\"}", "\"maybe\"", NULL, "field 'x': expected yes or no" },
	{ "{\"type\":\"enum\",\"values\":[\"approve\",\"reject\"]}", "\"reject\"", "\"reject\"", NULL },
	{ "{\"type\":\"enum\",\"values\":[\"approve\",\"reject\"]}", "\"maybe\"", NULL,
	  "field 'x': expected one of approve, reject" },
	{ "{\"type\":\"date\"}", "\"2024-02-29\"", "\"2024-02-29\"", NULL },
	{ "{\"type\":\"date\"}", "\"2023-02-29\"", NULL, "field 'x': expected a date like 2026-01-31" },
	{ "{\"type\":\"date\"}", "\"2026-13-01\"", NULL, "field 'x': expected a date like 2026-01-31" },
	{ "{\"type\":\"date\"}", "\"2026-1-01\"", NULL, "field 'x': expected a date like 2026-01-31" },
	{ "{\"type\":\"account\"}", "\"6229091234567800011\"", "\"6229091234567800011\"", NULL },
	{ "{\"type\":\"account\"}", "6", "\"6\"", NULL },
	{ "{\"type\":\"account\"}", "\"6 OR 1=1\"", NULL, "field 'x': expected an account number" },
	{ "{\"type\":\"account\"}", "\"123456789012345678901234567890123\"", NULL, "field 'x': expected an account number" },
	{ "{\"type\":\"id\"}", "\"PP000001\"", "\"PP000001\"", NULL },
	{ "{\"type\":\"id\"}", "\"../etc\"", NULL, "field 'x': expected an id" },
	{ "{\"type\":\"phone\"}", "\"+86 138-0013-8000\"", "\"+86 138-0013-8000\"", NULL },
	{ "{\"type\":\"phone\"}", "\"call me\"", NULL, "field 'x': expected a phone number" },
	{ "{\"type\":\"string\",\"required\":true}", "\"\"", NULL, "field 'x': required" },
	{ "{\"type\":\"money\",\"required\":true}", "null", NULL, "field 'x': required" },
};

START_TEST(test_params_table)
{
	for (size_t i = 0; i < sizeof param_cases / sizeof param_cases[0]; i++) {
		const struct param_case *c = &param_cases[i];
		json_t *spec = json_loads(c->spec, 0, NULL);
		json_object_set_new(spec, "id", json_string("x"));
		json_t *specs = json_pack("[o]", spec), *raw = json_object(), *typed = NULL;
		json_object_set_new(raw, "x", json_loads(c->value, JSON_DECODE_ANY, NULL));
		strbuf err = STRBUF_INIT;
		int rc = flow_check_params(specs, raw, &typed, &err);
		if (c->error) {
			ck_assert_msg(rc == FLOW_BAD_PARAMS, "case %zu: %s accepted", i, c->value);
			ck_assert_str_eq(err.buf, c->error);
			ck_assert_ptr_null(typed);
		} else {
			ck_assert_msg(rc == 0, "case %zu: %s refused: %s", i, c->value, err.buf);
			json_t *want = json_loads(c->typed, JSON_DECODE_ANY, NULL);
			ck_assert_msg(json_equal(json_object_get(typed, "x"), want), "case %zu: wrong value", i);
			json_decref(want);
		}
		json_decref(typed);
		json_decref(specs);
		json_decref(raw);
		strbuf_release(&err);
	}
}
END_TEST

START_TEST(test_params_fields)
{
	json_t *specs = json_loads("[{\"id\":\"amount\",\"type\":\"money\",\"required\":true},"
				   "{\"id\":\"agree\",\"type\":\"bool\"},{\"id\":\"memo\",\"type\":\"string\"}]", 0, NULL);
	json_t *typed = NULL, *raw = json_loads("{\"amount\":\"1.00\",\"_csrf\":\"t\",\"_idem\":\"k\",\"memo\":\"\"}", 0, NULL);
	strbuf err = STRBUF_INIT;
	ck_assert_int_eq(flow_check_params(specs, raw, &typed, &err), 0);
	/* transport fields dropped, an unticked checkbox is false, an empty optional string is absent */
	ck_assert_int_eq(json_object_size(typed), 2);
	ck_assert(json_is_false(json_object_get(typed, "agree")));
	json_decref(typed);
	json_decref(raw);
	raw = json_loads("{\"amount\":100,\"evil\":1}", 0, NULL);
	ck_assert_int_eq(flow_check_params(specs, raw, &typed, &err), FLOW_BAD_PARAMS);
	ck_assert_str_eq(err.buf, "field 'evil': unknown parameter");
	json_decref(raw);
	raw = json_loads("{\"memo\":\"x\"}", 0, NULL);
	strbuf_reset(&err);
	ck_assert_int_eq(flow_check_params(specs, raw, &typed, &err), FLOW_BAD_PARAMS);
	ck_assert_str_eq(err.buf, "field 'amount': required");
	json_decref(raw);
	raw = json_loads("[1]", 0, NULL);
	strbuf_reset(&err);
	ck_assert_int_eq(flow_check_params(specs, raw, &typed, &err), FLOW_BAD_PARAMS);
	json_decref(raw);
	json_decref(specs);
	specs = json_loads("[{\"id\":\"q\",\"type\":\"blob\"}]", 0, NULL);
	raw = json_object();
	strbuf_reset(&err);
	ck_assert_int_eq(flow_check_params(specs, raw, &typed, &err), FLOW_ERROR);
	json_decref(raw);
	json_decref(specs);
	strbuf_release(&err);
}
END_TEST

/* --- sandbox ----------------------------------------------------------------------------- */

START_TEST(test_echo_and_ctx)
{
	json_t *r;
	char err[256];
	ck_assert_int_eq(run("echo", "{\"a\":\"hi\",\"n\":\"5\",\"_idem\":\"key-1\"}", &r, err, sizeof err), FLOW_OK);
	ck_assert_str_eq(json_string_value(json_object_get(r, "a")), "hi");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "n")), 5);
	ck_assert_str_eq(json_string_value(json_object_get(r, "key")), "key-1");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "who")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(r, "tier")), "mass");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "limit")), 5000000);
	ck_assert_int_eq(strlen(json_string_value(json_object_get(r, "today"))), 10);
	ck_assert(json_is_null(json_object_get(r, "missing")));       /* declared, not returned */
	ck_assert_ptr_null(json_object_get(r, "extra"));              /* returned, not declared */
	json_decref(r);
	ck_assert_int_eq(run("echo", "{\"a\":\"far too long\"}", NULL, err, sizeof err), FLOW_BAD_PARAMS);
	ck_assert_str_eq(err, "field 'a': longer than 10 characters");
	ck_assert_int_eq(run("nope", "{}", NULL, err, sizeof err), FLOW_NOT_FOUND);
}
END_TEST

START_TEST(test_escapes)
{
	static const char *const escapes[] = {
		"load", "loadstring", "dofile", "loadfile", "require", "io", "os", "debug", "dump", "collect",
		"strmeta", "setmeta_str", "lib_write", "lib_rawset", "bank_rawset", "env_meta", "gc", "coroutine",
		"error", "not_function", "recurse",
	};
	for (size_t i = 0; i < sizeof escapes / sizeof escapes[0]; i++) {
		char err[256];
		int st = run(escapes[i], "{}", NULL, err, sizeof err);
		ck_assert_msg(st == FLOW_ERROR, "escape '%s' gave %d (%s)", escapes[i], st, err);
		ck_assert_msg(strstr(err, escapes[i]) != NULL, "'%s' error does not name the flow: %s", escapes[i], err);
	}
	json_t *r;
	ck_assert_int_eq(run("pcalls", "{}", &r, NULL, 0), FLOW_OK);
	ck_assert_str_eq(json_string_value(json_object_get(r, "a")), "true,7,12,false,oops,false,handled x,true,ab");
	json_decref(r);
	ck_assert_int_eq(run("strmeta2", "{}", &r, NULL, 0), FLOW_OK);
	ck_assert_str_eq(json_string_value(json_object_get(r, "a")), "false");
	json_decref(r);
	ck_assert_int_eq(run("env_meta2", "{}", &r, NULL, 0), FLOW_OK);
	ck_assert_str_eq(json_string_value(json_object_get(r, "a")), "false");
	json_decref(r);
	/* after all that the libraries still work */
	ck_assert_int_eq(run("check_left", "{}", &r, NULL, 0), FLOW_OK);
	ck_assert(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
}
END_TEST

START_TEST(test_no_state_between_runs)
{
	json_t *r;
	char err[256];
	ck_assert_int_eq(run("leave", "{}", &r, err, sizeof err), FLOW_OK);
	ck_assert_str_eq(json_string_value(json_object_get(r, "a")), "1");
	json_decref(r);
	ck_assert_int_eq(run("leave", "{}", &r, err, sizeof err), FLOW_OK);
	ck_assert_str_eq(json_string_value(json_object_get(r, "a")), "1");   /* the global did not survive */
	json_decref(r);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(run("check_left", "{}", &r, err, sizeof err), FLOW_OK);
		ck_assert_str_eq(json_string_value(json_object_get(r, "a")), "nilnil");
		ck_assert_int_eq(json_integer_value(json_object_get(r, "n")), 1);   /* chunk locals are new */
		ck_assert(json_is_true(json_object_get(r, "ok")));                  /* bank and string intact */
		json_decref(r);
	}
}
END_TEST

START_TEST(test_timeouts)
{
	char err[256];
	ck_assert_int_eq(run("loop", "{}", NULL, err, sizeof err), FLOW_TIMEOUT);
	ck_assert_int_eq(flow_runner_states(runner), 0);    /* the stopped state is gone */
	ck_assert_int_eq(run("pcall_loop", "{}", NULL, err, sizeof err), FLOW_TIMEOUT);
	ck_assert_int_eq(run("close", "{}", NULL, err, sizeof err), FLOW_TIMEOUT);   /* __close cannot hold it */
	json_t *r;
	ck_assert_int_eq(run("check_left", "{}", &r, err, sizeof err), FLOW_OK);
	json_decref(r);
	ck_assert_int_eq(flow_runner_states(runner), 1);
}
END_TEST

/* Patterns whose backtracking would outlast any deadline are refused before they run. */
START_TEST(test_pattern_bombs)
{
	char err[256];
	ck_assert_int_eq(run("pattern_bomb", "{}", NULL, err, sizeof err), FLOW_ERROR);
	ck_assert_msg(strstr(err, "too costly"), "%s", err);
	ck_assert_int_eq(run("pattern_bomb2", "{}", NULL, err, sizeof err), FLOW_ERROR);
	ck_assert_msg(strstr(err, "too costly"), "%s", err);
	json_t *r;
	ck_assert_int_eq(run("pattern_ok", "{}", &r, err, sizeof err), FLOW_OK);
	ck_assert_str_eq(json_string_value(json_object_get(r, "a")), "a_b_a_b_,2001,x");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "n")), 1000);
	json_decref(r);
}
END_TEST

START_TEST(test_memory_bombs)
{
	static const char *const bombs[] = { "bomb_table", "bomb_rep", "bomb_pcall" };
	for (size_t i = 0; i < 3; i++) {
		char err[256];
		int st = run(bombs[i], "{}", NULL, err, sizeof err);
		ck_assert_msg(st == FLOW_ERROR, "%s gave %d: %s", bombs[i], st, err);
		ck_assert_msg(strstr(err, "memory") || strstr(err, "too large"), "%s: %s", bombs[i], err);
		json_t *r;
		ck_assert_int_eq(run("check_left", "{}", &r, err, sizeof err), FLOW_OK);
		json_decref(r);
	}
}
END_TEST

START_TEST(test_tiny_cap)
{
	flow_runner *tiny = flow_runner_new(bk, 4096);     /* too small for the libraries */
	json_t *raw = json_object(), *r = NULL;
	strbuf err = STRBUF_INIT;
	ck_assert_int_eq(flow_run(tiny, &ed, "check_left", raw, &zhangwei, &r, &err), FLOW_ERROR);
	ck_assert_ptr_null(r);
	ck_assert_int_gt(err.len, 0);
	ck_assert_int_eq(flow_runner_states(tiny), 0);
	flow_runner_free(tiny);
	json_decref(raw);
	strbuf_release(&err);
}
END_TEST

START_TEST(test_results)
{
	char err[256];
	json_t *r;
	ck_assert_int_eq(run("ret_func", "{}", NULL, err, sizeof err), FLOW_ERROR);
	ck_assert_int_eq(run("ret_nan", "{}", NULL, err, sizeof err), FLOW_ERROR);
	ck_assert_int_eq(run("ret_number", "{}", NULL, err, sizeof err), FLOW_ERROR);
	ck_assert_int_eq(run("ret_bad_type", "{}", NULL, err, sizeof err), FLOW_ERROR);
	ck_assert_int_eq(run("ret_types", "{}", &r, err, sizeof err), FLOW_OK);
	ck_assert_str_eq(json_string_value(json_object_get(r, "a")), "7");
	ck_assert(json_is_integer(json_object_get(r, "n")));
	ck_assert(json_is_array(json_object_get(r, "list")));
	ck_assert(json_is_object(json_object_get(r, "obj")));
	json_decref(r);
}
END_TEST

static bool same_field(json_t *a, json_t *b, const char *key)
{
	json_t *x = json_object_get(a, key), *y = json_object_get(b, key);
	return x == y || json_equal(x, y);
}

/* The text the API sends is json_dumps of what flow_run gives, byte for byte, and the same errors. */
START_TEST(test_result_text)
{
	static const struct { const char *flow; int status; } cases[] = {
		{ "shapes", FLOW_OK }, { "shapes_polite", FLOW_OK }, { "shapes_convert", FLOW_OK },
		{ "shapes_empty", FLOW_OK }, { "shapes_list", FLOW_ERROR }, { "shapes_bad_utf8", FLOW_ERROR },
		{ "shapes_bad_key", FLOW_ERROR }, { "shapes_hidden", FLOW_ERROR }, { "shapes_nulkey", FLOW_OK },
		{ "ret_types", FLOW_OK }, { "ret_func", FLOW_ERROR }, { "ret_nan", FLOW_ERROR },
		{ "ret_number", FLOW_ERROR }, { "ret_bad_type", FLOW_ERROR }, { "echo", FLOW_OK },
		{ "caught", FLOW_OK }, { "pattern_ok", FLOW_OK }, { "error", FLOW_ERROR },
		{ "utf8_overlong", FLOW_ERROR }, { "utf8_overlong3", FLOW_ERROR }, { "utf8_surrogate", FLOW_ERROR },
		{ "utf8_too_big", FLOW_ERROR }, { "utf8_cut", FLOW_ERROR }, { "utf8_max", FLOW_OK },
		{ "utf8_hidden", FLOW_ERROR }, { "utf8_top_key", FLOW_ERROR }, { "ret_meta", FLOW_OK },
	};
	json_t *echo = json_pack("{s:s, s:i}", "a", "x", "n", 3), *none = json_object();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		strbuf e1 = STRBUF_INIT, e2 = STRBUF_INIT, text = STRBUF_INIT;
		json_t *r1 = NULL, *r2 = NULL, *raw = strcmp(cases[i].flow, "echo") ? none : echo;
		int st1 = flow_run(runner, &ed, cases[i].flow, raw, &zhangwei, &r1, &e1);
		int st2 = flow_run_text(runner, &ed, cases[i].flow, raw, &zhangwei, &r2, &text, &e2);
		ck_assert_msg(st1 == cases[i].status, "%s: status %d (%s)", cases[i].flow, st1, e1.buf);
		ck_assert_int_eq(st1, st2);
		ck_assert_str_eq(e1.buf, e2.buf);
		if (st1 == FLOW_OK) {
			char *want = json_dumps(r1, JSON_COMPACT);
			ck_assert_msg(!strcmp(want, text.buf), "%s: '%s' != '%s'", cases[i].flow, text.buf, want);
			ck_assert(same_field(r1, r2, "ok"));
			ck_assert(same_field(r1, r2, "message"));
			free(want);
		}
		json_decref(r1);
		json_decref(r2);
		strbuf_release(&e1);
		strbuf_release(&e2);
		strbuf_release(&text);
	}
	json_decref(echo);
	json_decref(none);
}
END_TEST

/* bank.products() gives what the bank gives for the edition's catalogue, fresh tables each time,
 * whether the catalogue is flat (Lua templates) or not (the bank's JSON). */
START_TEST(test_products)
{
	static const char *const catalogues[] = {
		"[{\"id\":\"xingfu-daily\",\"kind\":\"wealth\",\"risk_level\":2,\"rate_bp\":215,\"name\":\"\u5174\u798f\"},"
		" {\"id\":\"no-holding\",\"kind\":\"deposit\",\"note\":null,\"holding\":77,\"flag\":true},"
		" 42, {\"kind\":\"no id\"}, {\"id\":\"r\",\"rate\":1.5}]",
		"[{\"id\":\"xingfu-daily\",\"kind\":\"wealth\",\"tags\":[\"a\",\"b\"]},{\"id\":\"x\",\"o\":{\"k\":1}}]",
		"[]",
	};
	json_t *saved = ed.products, *none = json_object();
	for (size_t c = 0; c < sizeof catalogues / sizeof catalogues[0]; c++) {
		ed.products = json_loads(catalogues[c], 0, NULL);
		ck_assert_ptr_nonnull(ed.products);
		json_t *want = NULL, *args = json_pack("[O]", ed.products);
		strbuf err = STRBUF_INIT, text = STRBUF_INIT;
		ck_assert_int_eq(bank_call(bk, &zhangwei, "products", args, &want, &err), 0);
		size_t i;
		json_t *p;
		json_array_foreach(want, i, p)
			json_object_del(p, "note");          /* a null field is no field in Lua */
		for (int round = 0; round < 2; round++) {
			json_t *got = NULL;
			strbuf_reset(&text);
			ck_assert_int_eq(flow_run_text(runner, &ed, "prod_list", none, &zhangwei, &got, &text, &err), FLOW_OK);
			json_t *parsed = json_loads(text.buf, 0, NULL);
			ck_assert_msg(json_equal(json_object_get(parsed, "products"), want), "catalogue %zu: %s", c, text.buf);
			ck_assert_int_eq(json_integer_value(json_object_get(parsed, "count")), json_array_size(want) + 1);
			json_decref(parsed);
			json_decref(got);
		}
		json_decref(want);
		json_decref(args);
		json_decref(ed.products);
		strbuf_release(&err);
		strbuf_release(&text);
	}
	ed.products = saved;
	json_decref(none);
}
END_TEST

/* --- the bank through flows -------------------------------------------------------------- */

START_TEST(test_identity_from_c)
{
	char err[256];
	json_t *r;
	ck_assert_int_eq(run("other_customer", "{}", NULL, err, sizeof err), FLOW_FORBIDDEN);
	ck_assert_str_eq(err, "forbidden");
	ck_assert_int_eq(run("own_only", "{}", &r, err, sizeof err), FLOW_OK);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "n")), 2);     /* zhangwei's two, not lina's */
	json_decref(r);
	ck_assert_int_eq(run("not_found", "{}", NULL, err, sizeof err), FLOW_NOT_FOUND);
	ck_assert_int_eq(run("caught", "{}", &r, err, sizeof err), FLOW_OK);
	ck_assert_str_eq(json_string_value(json_object_get(r, "a")), "forbidden");
	ck_assert(json_is_false(json_object_get(r, "ok")));
	json_decref(r);
	/* no session at all: the bank refuses */
	strbuf e = STRBUF_INIT;
	json_t *raw = json_object();
	ck_assert_int_eq(flow_run(runner, &ed, "own_only", raw, NULL, &r, &e), FLOW_FORBIDDEN);
	json_decref(raw);
	strbuf_release(&e);
}
END_TEST

static long long balance(long long account)
{
	json_t *list = NULL, *a;
	strbuf err = STRBUF_INIT;
	ck_assert_int_eq(bank_call(bk, &zhangwei, "accounts", NULL, &list, &err), 0);
	long long bal = -1;
	size_t i;
	json_array_foreach(list, i, a)
		if (atoll(json_string_value(json_object_get(a, "id"))) == account)
			bal = json_integer_value(json_object_get(a, "balance"));
	json_decref(list);
	strbuf_release(&err);
	return bal;
}

START_TEST(test_transfer_flow)
{
	const char *params = "{\"from\":\"6\",\"to_account\":\"6229092222111100018\",\"amount\":\"88.50\","
			     "\"memo\":\"饭钱\",\"_idem\":\"form-key-1\"}";
	long long before = balance(6);
	json_t *a, *b;
	char err[256];
	ck_assert_int_eq(run("transfer", params, &a, err, sizeof err), FLOW_OK);
	ck_assert_int_eq(run("transfer", params, &b, err, sizeof err), FLOW_OK);
	ck_assert(json_equal(a, b));
	ck_assert_str_eq(json_string_value(json_object_get(a, "status")), "done");
	ck_assert_int_eq(json_integer_value(json_object_get(a, "balance_after")), before - 8850);
	json_decref(a);
	json_decref(b);
	ck_assert_int_eq(balance(6), before - 8850);
	/* over the edition's limit: the flow refuses politely, nothing moves */
	ck_assert_int_eq(run("transfer", "{\"from\":\"6\",\"to_account\":\"6229092222111100018\","
			     "\"amount\":\"50000.01\",\"_idem\":\"k2\"}", &a, err, sizeof err), FLOW_OK);
	ck_assert(json_is_false(json_object_get(a, "ok")));
	ck_assert_str_eq(json_string_value(json_object_get(a, "message")), "over_limit");
	json_decref(a);
	/* a flow that forgets the limit still meets it in the bank */
	ck_assert_int_eq(run("transfer_nolimit", "{\"from\":\"6\",\"to_account\":\"6229092222111100018\","
			     "\"amount\":\"50000.01\",\"_idem\":\"k3\"}", NULL, err, sizeof err), FLOW_REFUSED);
	ck_assert_str_eq(err, "limit_exceeded");
	/* another customer's account as `from` */
	ck_assert_int_eq(run("transfer", "{\"from\":\"8\",\"to_account\":\"6229092222111100018\","
			     "\"amount\":1,\"_idem\":\"k4\"}", NULL, err, sizeof err), FLOW_FORBIDDEN);
	/* insufficient funds (the savings account emptied first), and no key */
	json_t *drain = json_pack("[{s:s,s:s,s:I,s:s}]", "from", "7", "to_account", "6229092222111100018",
				  "amount", (json_int_t)balance(7), "key", "drain");
	strbuf e = STRBUF_INIT;
	ck_assert_int_eq(bank_call(bk, &zhangwei, "transfer", drain, &a, &e), 0);
	json_decref(a);
	json_decref(drain);
	strbuf_release(&e);
	ck_assert_int_eq(balance(7), 0);
	ck_assert_int_eq(run("transfer", "{\"from\":\"7\",\"to_account\":\"6229092222111100018\","
			     "\"amount\":\"0.01\",\"_idem\":\"k5\"}", NULL, err, sizeof err), FLOW_REFUSED);
	ck_assert_str_eq(err, "insufficient_funds");
	ck_assert_int_eq(run("transfer", "{\"from\":\"6\",\"to_account\":\"6229092222111100018\","
			     "\"amount\":1}", NULL, err, sizeof err), FLOW_REFUSED);
	ck_assert_str_eq(err, "bad_argument");
	ck_assert_int_eq(balance(6), before - 8850);
	long long postings, sum;
	ck_assert_int_eq(bank_audit(bk, &postings, &sum), 0);
	ck_assert_int_eq(postings, 0);
}
END_TEST

/* Worker threads, each with its own runner, run the transfer flow at once. */
#define FLOW_THREADS 4
#define FLOW_RUNS 100

static void *flow_worker(void *arg)
{
	long index = (long)arg, failures = 0;
	flow_runner *own = flow_runner_new(bk, 4u << 20);
	for (int i = 0; i < FLOW_RUNS; i++) {
		char key[32];
		snprintf(key, sizeof key, "th%ld-%d", index, i);
		json_t *raw = json_pack("{s:s,s:s,s:s,s:s}", "from", "6", "to_account", "6229092222111100018",
					"amount", "1.00", "_idem", key);
		json_t *first = NULL;
		for (int attempt = 0; attempt < 2; attempt++) {
			json_t *res = NULL;
			strbuf err = STRBUF_INIT;
			int st = flow_run(own, &ed, "transfer", raw, &zhangwei, &res, &err);
			if (st != FLOW_OK || (first && !json_equal(first, res)))
				failures++;
			if (!first)
				first = json_incref(res);
			json_decref(res);
			strbuf_release(&err);
		}
		json_decref(first);
		json_decref(raw);
	}
	flow_runner_free(own);
	return (void *)failures;
}

START_TEST(test_threads)
{
	long long before = balance(6);
	pthread_t th[FLOW_THREADS];
	for (long i = 0; i < FLOW_THREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, flow_worker, (void *)i), 0);
	for (int i = 0; i < FLOW_THREADS; i++) {
		void *failures;
		pthread_join(th[i], &failures);
		ck_assert_int_eq((long)failures, 0);
	}
	ck_assert_int_eq(balance(6), before - FLOW_THREADS * FLOW_RUNS * 100);
	long long postings, sum;
	ck_assert_int_eq(bank_audit(bk, &postings, &sum), 0);
}
END_TEST

/* The same flow, read from a real pack through pack_get. */
START_TEST(test_flow_from_pack)
{
	pack_writer *w = pack_writer_new("mass", "1.0.0", "1.0.0", "5.4");
	for (size_t i = 0; i < sizeof test_flows / sizeof test_flows[0]; i++)
		pack_writer_add(w, PACK_FLOWS, test_flows[i].id, compiled[i].buf, compiled[i].len);
	strbuf bytes = STRBUF_INIT, err = STRBUF_INIT;
	ck_assert_msg(pack_writer_finish(w, NULL, &bytes, &err) == 0, "%s", err.buf);
	pack_writer_free(w);
	pack *p = NULL;
	ck_assert_msg(pack_open_mem(bytes.buf, bytes.len, NULL, &p, &err) == 0, "%s", err.buf);
	ed.pack = p;
	json_t *r;
	char msg[256];
	ck_assert_int_eq(run("echo", "{\"a\":\"pk\"}", &r, msg, sizeof msg), FLOW_OK);
	ck_assert_str_eq(json_string_value(json_object_get(r, "a")), "pk");
	json_decref(r);
	ck_assert_int_eq(run("loop", "{}", NULL, msg, sizeof msg), FLOW_TIMEOUT);
	flow_runner_free(runner);          /* states go before their pack */
	runner = flow_runner_new(bk, 4u << 20);
	ed.pack = NULL;
	pack_free(p);
	strbuf_release(&bytes);
	strbuf_release(&err);
}
END_TEST

Suite *suite_flow(void);

Suite *suite_flow(void)
{
	Suite *s = suite_create("flow");
	TCase *tc = tcase_create("flow");
	tcase_add_unchecked_fixture(tc, template_setup, template_teardown);
	tcase_add_checked_fixture(tc, flow_setup, flow_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_params_table);
	tcase_add_test(tc, test_params_fields);
	tcase_add_test(tc, test_echo_and_ctx);
	tcase_add_test(tc, test_escapes);
	tcase_add_test(tc, test_no_state_between_runs);
	tcase_add_test(tc, test_timeouts);
	tcase_add_test(tc, test_memory_bombs);
	tcase_add_test(tc, test_pattern_bombs);
	tcase_add_test(tc, test_results);
	tcase_add_test(tc, test_result_text);
	tcase_add_test(tc, test_products);
	tcase_add_test(tc, test_tiny_cap);
	tcase_add_test(tc, test_identity_from_c);
	tcase_add_test(tc, test_transfer_flow);
	tcase_add_test(tc, test_flow_from_pack);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return s;
}
