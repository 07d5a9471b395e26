/*
 * Sandbox escapes and denial of service through flow_run that tests/test_flow.c
 * does not already try (it covers load, loadstring, dofile, loadfile, require,
 * io, os, debug, string.dump, collectgarbage, the string metatable,
 * setmetatable on strings and _ENV, writes and rawset on libraries and bank,
 * __gc, coroutine loops, globals left between runs, endless loops, pcall
 * loops, __close, table/string.rep/pcall memory bombs and deep Lua recursion).
 *
 * Tried here: backtracking pattern bombs (one C call the count hook cannot
 * interrupt), with repeated literal characters, digit, space and set items as
 * well as '.', and with a number as the subject (the string functions take
 * numbers too), and library loops that allocate nothing (string.rep of '',
 * table.move over absent keys), recursion through metamethods and C (C stack), error objects
 * whose __tostring loops or fails, every dangerous name looked up through
 * _ENV, the string metatable's methods and the sandbox's own tables, ctx
 * tampering (limits and identity), library functions with absurd sizes, and
 * a memory bomb assembled in C by table.concat over a metamethod. Each flow
 * must end as FLOW_ERROR or FLOW_TIMEOUT (or answer harmlessly), and the
 * runner must go on serving an ordinary flow afterwards.
 */
#include <check.h>
#include <ftw.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"

static const struct sec_flow {
	const char *id, *source;
} sec_flows[] = {
	{ "ok", "return function(p, ctx) return { a = 'fine', n = #bank.accounts() } end" },
	{ "pattern_find", "return function() return { n = string.find(('a'):rep(40), ('a*'):rep(40) .. 'b') } end" },
	{ "pattern_match", "return function() local s = ('x'):rep(3000)\n"
			   "  return { a = s:match(('(.-)'):rep(12) .. 'y') } end" },
	{ "pattern_gsub", "return function() local s = ('ab'):rep(2000)\n"
			  "  return { a = (s:gsub(('.-.-'):rep(10) .. 'z', '')) } end" },
	{ "pattern_digits", "return function() return { n = string.find(('1'):rep(40), ('%d*'):rep(40) .. 'x') } end" },
	{ "pattern_spaces", "return function() return { n = string.find((' '):rep(40), ('%s-'):rep(40) .. 'x') } end" },
	{ "pattern_set", "return function() return { n = string.find(('a'):rep(40), ('[ab]*'):rep(40) .. 'c') } end" },
	{ "pattern_number_subject", "return function()\n"
				    "  return { n = string.find(1111111111111111111, ('.-'):rep(40) .. 'x') } end" },
	{ "pattern_number_gmatch", "return function() local n = 0\n"
				   "  for m in string.gmatch(1111111111111111111, ('.-'):rep(40) .. 'x') do n = n + 1 end\n"
				   "  return { n = n } end" },
	{ "rep_empty_bomb", "return function() return { a = string.rep('', 1 << 62) } end" },
	{ "rep_empty_sep_bomb", "return function() return { a = (''):rep(1 << 62, '') } end" },
	{ "move_bomb", "return function() table.move({}, 1, 1 << 62, 1, {}) return {} end" },
	{ "index_recursion", "return function() local t = setmetatable({}, {})\n"
			     "  getmetatable(t).__index = function(s, k) return s[k] end return { a = t.x } end" },
	{ "tostring_recursion", "return function() local t = setmetatable({}, {})\n"
				"  getmetatable(t).__tostring = function(s) return tostring(s) end\n"
				"  return { a = tostring(t) } end" },
	{ "concat_recursion", "return function() local t = setmetatable({}, {})\n"
			      "  getmetatable(t).__concat = function(a, b) return a .. b end return { a = t .. 'x' } end" },
	{ "error_tostring_loop", "return function() error(setmetatable({}, { __tostring = function()\n"
				 "  while true do end end })) end" },
	{ "error_tostring_error", "return function() error(setmetatable({}, { __tostring = function()\n"
				  "  error('again') end })) end" },
	{ "error_table", "return function() error({ code = 'insufficient_funds' }) end" },
	{ "names", "return function()\n"
		   "  local found = {}\n"
		   "  local names = { 'load', 'loadfile', 'dofile', 'require', 'loadstring', 'collectgarbage', 'io',\n"
		   "    'os', 'debug', 'package', 'coroutine', 'module', 'getfenv', 'setfenv', 'newproxy', 'warn',\n"
		   "    'rawequal_', 'unpack_' }\n"
		   "  for _, n in ipairs(names) do if _ENV[n] ~= nil or _G and _G[n] ~= nil then found[#found + 1] = n end end\n"
		   "  if string.dump ~= nil then found[#found + 1] = 'string.dump' end\n"
		   "  if ('').dump ~= nil then found[#found + 1] = ('').dump and \"('').dump\" end\n"
		   "  local m = getmetatable('')\n"
		   "  if type(m) == 'table' and m.__index ~= nil then found[#found + 1] = 'string metatable' end\n"
		   "  local e = getmetatable(_ENV)\n"
		   "  if type(e) == 'table' and e.__index ~= nil then found[#found + 1] = '_ENV metatable' end\n"
		   "  local b = getmetatable(bank)\n"
		   "  if type(b) == 'table' and (b.__index ~= nil or b.__newindex ~= nil) then\n"
		   "    found[#found + 1] = 'bank metatable' end\n"
		   "  return { a = table.concat(found, ','), n = (string.rep ~= nil and ('x'):upper() == 'X') and 1 or 0 }\n"
		   "end" },
	{ "plant", "return function()\n"
		   "  local planted = 0\n"
		   "  for _, lib in ipairs({ string, table, math, utf8, bank }) do\n"
		   "    if pcall(function() lib.planted = 1 end) then planted = planted + 1 end\n"
		   "    if pcall(rawset, lib, 'planted', 1) then planted = planted + 1 end\n"
		   "  end\n"
		   "  if pcall(function() string.upper = function() return 'owned' end end) then planted = planted + 1 end\n"
		   "  return { n = planted }\n"
		   "end" },
	{ "check_plant", "return function() return { a = tostring(string.planted) .. tostring(bank.planted)\n"
			 "  .. tostring(math.planted) .. ('x'):upper(), n = 0 } end" },
	{ "ctx_tamper", "return function(p, ctx)\n"
			"  ctx.customer_id = 2 ctx.enterprise_id = 1 ctx.role = 'boss' ctx.tier = 'private'\n"
			"  ctx.limits.transfer_single = 1 ctx.limits.planted = 1\n"
			"  local ids = {} for _, a in ipairs(bank.accounts()) do ids[#ids + 1] = tostring(a.id) end\n"
			"  return { a = table.concat(ids, ','), n = 0 } end" },
	{ "ctx_read", "return function(p, ctx) return { a = tostring(ctx.limits.planted) .. ',' .. ctx.tier,\n"
		      "  n = ctx.limits.transfer_single } end" },
	{ "unpack_bomb", "return function() return { n = select('#', table.unpack({}, 1, 1 << 30)) } end" },
	{ "rep_sep_bomb", "return function() return { a = ('x'):rep(1 << 28, ('y'):rep(64)) } end" },
	{ "format_bomb", "return function() return { a = string.format('%0999999999d', 1) } end" },
	{ "concat_meta_bomb", "return function() local t = setmetatable({}, { __index = function() return ('z'):rep(4096) end })\n"
			      "  return { a = table.concat(t, '', 1, 1 << 30) } end" },
	{ "closure_bomb", "return function() local t = {} for i = 1, 1 << 30 do t[i] = function() return i end end\n"
			  "  return {} end" },
	{ "utf8_bomb", "return function() local t = {} for i = 1, 1 << 24 do t[i] = 0x10FFFF end\n"
		       "  return { a = utf8.char(table.unpack(t)) } end" },
	{ "sort_loop", "return function() local t = {} for i = 1, 1000 do t[i] = i end\n"
		       "  table.sort(t, function(a, b) while true do end end) return {} end" },
	{ "deep_result", "return function() local t = {} local c = t for i = 1, 100000 do c.x = {} c = c.x end\n"
			 "  return { a = t } end" },
	{ "cyclic_result", "return function() local t = {} t.self = t return { a = t } end" },
	{ "history_huge_arg", "return function() return { a = bank.history(('9'):rep(100000)) } end" },
};
#define N_SEC_FLOWS (sizeof sec_flows / sizeof sec_flows[0])

static strbuf sec_compiled[N_SEC_FLOWS];
static char sec_dir[64];
static bank *sec_bank;
static flow_runner *sec_runner;
static rt_edition sec_ed;
static const bank_identity sec_zhangwei = { .customer_id = 1 };

static int sec_dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
	strbuf_add(ud, p, sz);
	return 0;
}

static const void *sec_loader(const rt_edition *ed, const char *flow_id, size_t *len)
{
	for (size_t i = 0; i < N_SEC_FLOWS; i++) {
		if (!strcmp(sec_flows[i].id, flow_id)) {
			*len = sec_compiled[i].len;
			return sec_compiled[i].buf;
		}
	}
	return NULL;
}

static int sec_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void sec_setup(void)
{
	lua_State *L = luaL_newstate();
	strbuf err = STRBUF_INIT;

	for (size_t i = 0; i < N_SEC_FLOWS; i++) {
		ck_assert_msg(luaL_loadstring(L, sec_flows[i].source) == LUA_OK, "%s: %s", sec_flows[i].id,
			      lua_tostring(L, -1));
		strbuf_init(&sec_compiled[i]);
		lua_dump(L, sec_dump_writer, &sec_compiled[i], 1);
		lua_pop(L, 1);
	}
	lua_close(L);
	strcpy(sec_dir, "/tmp/flow-security-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(sec_dir));
	ck_assert_msg(bank_open(sec_dir, &sec_bank, &err) == 0, "%s", err.buf);
	strbuf_release(&err);
	flow_set_loader(sec_loader);
	memset(&sec_ed, 0, sizeof sec_ed);
	sec_ed.id = "mass";
	sec_ed.meta = json_loads("{\"locale\":\"zh-CN\",\"segment\":\"personal\",\"limits\":{\"transfer_single\":5000000},"
				 "\"fees\":{}}", 0, NULL);
	sec_ed.flow_specs = json_object();
	for (size_t i = 0; i < N_SEC_FLOWS; i++)
		json_object_set_new(sec_ed.flow_specs, sec_flows[i].id,
				    json_pack("{s:[],s:[{s:s,s:s},{s:s,s:s}],s:i}", "params", "returns", "id", "a",
					      "type", "string", "id", "n", "type", "int", "timeout_ms", 300));
	/* results of any shape for the encoder tests */
	json_object_set_new(json_object_get(sec_ed.flow_specs, "deep_result"), "returns",
			    json_pack("[{s:s,s:s}]", "id", "a", "type", "object"));
	json_object_set_new(json_object_get(sec_ed.flow_specs, "cyclic_result"), "returns",
			    json_pack("[{s:s,s:s}]", "id", "a", "type", "object"));
	json_object_set_new(json_object_get(sec_ed.flow_specs, "history_huge_arg"), "returns",
			    json_pack("[{s:s,s:s}]", "id", "a", "type", "object"));
	sec_ed.products = json_array();
	sec_runner = flow_runner_new(sec_bank, 4u << 20);
}

static void sec_teardown(void)
{
	flow_runner_free(sec_runner);
	json_decref(sec_ed.meta);
	json_decref(sec_ed.flow_specs);
	json_decref(sec_ed.products);
	for (size_t i = 0; i < N_SEC_FLOWS; i++)
		strbuf_release(&sec_compiled[i]);
	bank_close(sec_bank);
	nftw(sec_dir, sec_rm, 8, FTW_DEPTH | FTW_PHYS);
}

/* Runs flow for zhangwei with no params; the result (when wanted) and the message. */
static int sec_run(const char *flow, json_t **res, char *msg, size_t n)
{
	json_t *raw = json_object(), *r = NULL;
	strbuf err = STRBUF_INIT;
	int st = flow_run(sec_runner, &sec_ed, flow, raw, &sec_zhangwei, &r, &err);

	snprintf(msg, n, "%s", err.buf);
	strbuf_release(&err);
	json_decref(raw);
	if (res)
		*res = r;
	else
		json_decref(r);
	return st;
}

/* The runner still serves an ordinary flow with the bank behind it. */
static void assert_still_serving(const char *after)
{
	json_t *r = NULL;
	char msg[256];
	int st = sec_run("ok", &r, msg, sizeof msg);

	ck_assert_msg(st == FLOW_OK, "after '%s' an ordinary flow gave %d (%s)", after, st, msg);
	ck_assert_str_eq(json_string_value(json_object_get(r, "a")), "fine");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "n")), 2);
	json_decref(r);
}

/* Each of these must be stopped (error or deadline), never answered, never hang or crash. */
static void assert_stopped(const char *const *flows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char msg[512];
		int st = sec_run(flows[i], NULL, msg, sizeof msg);
		ck_assert_msg(st == FLOW_ERROR || st == FLOW_TIMEOUT, "'%s' gave %d (%s)", flows[i], st, msg);
		assert_still_serving(flows[i]);
	}
}

/*
 * Backtracking in Lua patterns runs inside one C call (str_find_aux), where
 * the count hook never fires: unguarded, a flow holds a worker far past its
 * deadline (flow_lua.c's pattern_guard refuses such matches up front).
 */
/*
 * One test per flow, so a hang names its flow. Besides patterns, two library
 * loops that allocate nothing and so never meet the memory cap: string.rep of
 * an empty string (n - 1 empty copies) and table.move over absent keys (one
 * get and set per index).
 */
#define LONG_C_CALL(test, flow)                        \
	START_TEST(test)                               \
	{                                              \
		static const char *const f[] = { flow }; \
		assert_stopped(f, 1);                  \
	}                                              \
	END_TEST

LONG_C_CALL(test_pattern_literal_chars, "pattern_find")
LONG_C_CALL(test_pattern_lazy_captures, "pattern_match")
LONG_C_CALL(test_pattern_gsub_dots, "pattern_gsub")
LONG_C_CALL(test_pattern_digit_class, "pattern_digits")
LONG_C_CALL(test_pattern_space_class, "pattern_spaces")
LONG_C_CALL(test_pattern_plain_set, "pattern_set")
LONG_C_CALL(test_pattern_number_subject, "pattern_number_subject")
LONG_C_CALL(test_pattern_number_gmatch, "pattern_number_gmatch")
/* string.rep of nothing is nothing: answered at once, without the loop. */
#define EMPTY_REP(test, flow)                                                     \
	START_TEST(test)                                                          \
	{                                                                         \
		char msg[512];                                                    \
		json_t *r = NULL;                                                 \
		ck_assert_int_eq(sec_run(flow, &r, msg, sizeof msg), FLOW_OK);    \
		ck_assert_str_eq(json_string_value(json_object_get(r, "a")), ""); \
		json_decref(r);                                                   \
		assert_still_serving(flow);                                       \
	}                                                                         \
	END_TEST

EMPTY_REP(test_rep_empty_string, "rep_empty_bomb")
EMPTY_REP(test_rep_empty_with_separator, "rep_empty_sep_bomb")
LONG_C_CALL(test_move_absent_keys, "move_bomb")

START_TEST(test_c_recursion)
{
	static const char *const flows[] = { "index_recursion", "tostring_recursion", "concat_recursion" };

	assert_stopped(flows, 3);
}
END_TEST

START_TEST(test_error_objects)
{
	static const char *const flows[] = { "error_tostring_loop", "error_tostring_error" };
	char msg[256];

	assert_stopped(flows, 2);
	/* a table thrown by the flow is not mistaken for a bank refusal */
	ck_assert_int_eq(sec_run("error_table", NULL, msg, sizeof msg), FLOW_ERROR);
	assert_still_serving("error_table");
}
END_TEST

START_TEST(test_names_unreachable)
{
	json_t *r = NULL;
	char msg[256];

	ck_assert_msg(sec_run("names", &r, msg, sizeof msg) == FLOW_OK, "%s", msg);
	ck_assert_msg(!strcmp(json_string_value(json_object_get(r, "a")), ""), "reachable: %s",
		      json_string_value(json_object_get(r, "a")));
	ck_assert_int_eq(json_integer_value(json_object_get(r, "n")), 1);   /* the string library works */
	json_decref(r);
}
END_TEST

START_TEST(test_no_planting)
{
	json_t *r = NULL;
	char msg[256];

	ck_assert_msg(sec_run("plant", &r, msg, sizeof msg) == FLOW_OK, "%s", msg);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "n")), 0);
	json_decref(r);
	ck_assert_msg(sec_run("check_plant", &r, msg, sizeof msg) == FLOW_OK, "%s", msg);
	ck_assert_str_eq(json_string_value(json_object_get(r, "a")), "nilnilnilX");
	json_decref(r);
}
END_TEST

/* ctx is the flow's to read: changing it neither changes the identity nor reaches the next run. */
START_TEST(test_ctx_tamper)
{
	json_t *r = NULL;
	char msg[256];

	ck_assert_msg(sec_run("ctx_tamper", &r, msg, sizeof msg) == FLOW_OK, "%s", msg);
	ck_assert_str_eq(json_string_value(json_object_get(r, "a")), "6,7");   /* zhangwei's accounts only */
	json_decref(r);
	ck_assert_msg(sec_run("ctx_read", &r, msg, sizeof msg) == FLOW_OK, "%s", msg);
	ck_assert_str_eq(json_string_value(json_object_get(r, "a")), "nil,mass");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "n")), 5000000);
	json_decref(r);
}
END_TEST

START_TEST(test_size_bombs)
{
	static const char *const flows[] = { "unpack_bomb", "rep_sep_bomb", "format_bomb", "concat_meta_bomb",
		"closure_bomb", "utf8_bomb", "sort_loop" };

	assert_stopped(flows, sizeof flows / sizeof flows[0]);
}
END_TEST

/* Results the encoder must refuse without recursing without end or crashing. */
START_TEST(test_hostile_results)
{
	char msg[256];
	int st;

	ck_assert_int_eq(sec_run("deep_result", NULL, msg, sizeof msg), FLOW_ERROR);
	assert_still_serving("deep_result");
	ck_assert_int_eq(sec_run("cyclic_result", NULL, msg, sizeof msg), FLOW_ERROR);
	assert_still_serving("cyclic_result");
	st = sec_run("history_huge_arg", NULL, msg, sizeof msg);
	ck_assert_msg(st == FLOW_NOT_FOUND || st == FLOW_FORBIDDEN || st == FLOW_ERROR || st == FLOW_REFUSED,
		      "history of a 100000-digit account gave %d (%s)", st, msg);
	assert_still_serving("history_huge_arg");
}
END_TEST

Suite *suite_security_lua(void);

Suite *suite_security_lua(void)
{
	Suite *s = suite_create("security_lua");
	TCase *tc = tcase_create("escapes");
	TCase *holes = tcase_create("c_calls");

	tcase_add_checked_fixture(tc, sec_setup, sec_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_c_recursion);
	tcase_add_test(tc, test_error_objects);
	tcase_add_test(tc, test_names_unreachable);
	tcase_add_test(tc, test_no_planting);
	tcase_add_test(tc, test_ctx_tamper);
	tcase_add_test(tc, test_size_bombs);
	tcase_add_test(tc, test_hostile_results);
	suite_add_tcase(s, tc);
	/* one C call the count hook cannot stop: were the guard gone, this timeout would end the hang */
	tcase_add_checked_fixture(holes, sec_setup, sec_teardown);
	tcase_set_timeout(holes, 8);
	tcase_add_test(holes, test_pattern_literal_chars);
	tcase_add_test(holes, test_pattern_lazy_captures);
	tcase_add_test(holes, test_pattern_gsub_dots);
	tcase_add_test(holes, test_pattern_digit_class);
	tcase_add_test(holes, test_pattern_space_class);
	tcase_add_test(holes, test_pattern_plain_set);
	tcase_add_test(holes, test_pattern_number_subject);
	tcase_add_test(holes, test_pattern_number_gmatch);
	tcase_add_test(holes, test_rep_empty_string);
	tcase_add_test(holes, test_rep_empty_with_separator);
	tcase_add_test(holes, test_move_absent_keys);
	suite_add_tcase(s, holes);
	return s;
}
