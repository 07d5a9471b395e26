/*
 * Dual run: a canary flow runs beside the stable answer on the comparison
 * pool. Equal results count as matches; a changed flow counts as a mismatch
 * and is listed with both bodies; a canary that fails or loops forever counts
 * as an error or a timeout; the stable result handed in is never changed; a
 * full queue drops work instead of waiting. Flows come from Lua source
 * compiled here (flow_set_loader), two versions of one packless edition.
 */
#include <check.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dualrun.h"
#include "flow.h"
#include "log.h"

static const struct { const char *version, *id, *source; } flows[] = {
	{ "7.0.0", "same", "return function(p, ctx) return { v = 'a', n = 1 } end" },
	{ "7.1.0", "same", "return function(p, ctx) return { n = 1, v = 'a' } end" },
	{ "7.0.0", "changed", "return function(p, ctx) return { v = 'a', n = p.n } end" },
	{ "7.1.0", "changed", "return function(p, ctx) return { v = 'b', n = p.n } end" },
	{ "7.0.0", "loop", "return function(p, ctx) return { v = 'a', n = 2 } end" },
	{ "7.1.0", "loop", "return function(p, ctx) local i = 0 while true do i = i + 1 end end" },
	{ "7.0.0", "boom", "return function(p, ctx) return { v = 'a', n = 3 } end" },
	{ "7.1.0", "boom", "return function(p, ctx) error('canary broke') end" },
};
#define N_FLOWS (sizeof flows / sizeof flows[0])

static const char specs[] =
	"{\"%s\":{\"params\":[{\"id\":\"n\",\"type\":\"int\"}],"
	"\"returns\":[{\"id\":\"v\",\"type\":\"string\"},{\"id\":\"n\",\"type\":\"int\"}],\"timeout_ms\":2000}}";

static strbuf compiled[N_FLOWS];
static char dir[64];
static bank *bk;
static rt_edition stable_ed, canary_ed;

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
	strbuf_add(ud, p, sz);
	return 0;
}

static const void *loader(const rt_edition *ed, const char *flow_id, size_t *len)
{
	for (size_t i = 0; i < N_FLOWS; i++)
		if (!strcmp(flows[i].id, flow_id) && !strcmp(flows[i].version, ed->version)) {
			*len = compiled[i].len;
			return compiled[i].buf;
		}
	return NULL;
}

static json_t *all_specs(void)
{
	json_t *o = json_object();
	char text[512];

	for (size_t i = 0; i < N_FLOWS; i += 2) {
		snprintf(text, sizeof text, specs, flows[i].id);
		json_t *one = json_loads(text, 0, NULL);
		json_object_update(o, one);
		json_decref(one);
	}
	return o;
}

static void setup(void)
{
	lua_State *L = luaL_newstate();
	strbuf err = STRBUF_INIT;
	dualrun_config cfg = { .workers = 1, .queue = 4, .timeout_ms = 50 };

	for (size_t i = 0; i < N_FLOWS; i++) {
		ck_assert_int_eq(luaL_loadstring(L, flows[i].source), LUA_OK);
		strbuf_init(&compiled[i]);
		lua_dump(L, dump_writer, &compiled[i], 1);
		lua_pop(L, 1);
	}
	lua_close(L);
	flow_set_loader(loader);
	log_open("/dev/null");
	strcpy(dir, "/tmp/dualrun-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_msg(bank_open(dir, &bk, &err) == 0, "%s", err.buf);
	memset(&stable_ed, 0, sizeof stable_ed);
	stable_ed.id = "mass";
	stable_ed.version = "7.0.0";
	stable_ed.meta = json_pack("{s:s, s:s}", "locale", "zh-CN", "segment", "personal");
	stable_ed.flow_specs = all_specs();
	canary_ed = stable_ed;
	canary_ed.version = "7.1.0";
	dualrun_reset();
	ck_assert_int_eq(dualrun_start(bk, &cfg), 0);
	strbuf_release(&err);
}

static void teardown(void)
{
	char cmd[128];

	dualrun_stop();
	dualrun_reset();
	json_decref(stable_ed.meta);
	json_decref(stable_ed.flow_specs);
	bank_close(bk);
	for (size_t i = 0; i < N_FLOWS; i++)
		strbuf_release(&compiled[i]);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Runs flow on stable (as a request would), hands it to the pool, returns the stable answer's text. */
static char *answer_and_compare(flow_runner *fr, const char *flow, int n)
{
	json_t *params = json_pack("{s:i}", "n", n), *result = NULL;
	bank_identity who = { .customer_id = 6 };
	strbuf err = STRBUF_INIT;
	char *text;

	ck_assert_int_eq(flow_run(fr, &stable_ed, flow, params, &who, &result, &err), FLOW_OK);
	text = json_dumps(result, JSON_SORT_KEYS | JSON_COMPACT);
	dualrun_submit(NULL, &canary_ed, flow, params, &who, result);
	json_decref(params);
	json_decref(result);
	strbuf_release(&err);
	return text;
}

START_TEST(test_match_and_mismatch)
{
	flow_runner *fr = flow_runner_new(bk, 0);
	char *a = answer_and_compare(fr, "same", 0);
	char *b;

	ck_assert(dualrun_wait_idle(10000));
	b = answer_and_compare(fr, "changed", 7);
	ck_assert(dualrun_wait_idle(10000));
	ck_assert_str_eq(a, "{\"n\":1,\"v\":\"a\"}");
	ck_assert_str_eq(b, "{\"n\":7,\"v\":\"a\"}");      /* the answer is stable's */
	ck_assert_uint_eq(dualrun_count("mass", "same", "match"), 1);
	ck_assert_uint_eq(dualrun_count("mass", "same", "mismatch"), 0);
	ck_assert_uint_eq(dualrun_count("mass", "changed", "mismatch"), 1);
	ck_assert_uint_eq(dualrun_count("mass", "changed", "match"), 0);

	json_t *list = dualrun_mismatches(), *m = json_array_get(list, 0);
	ck_assert_uint_eq(json_array_size(list), 1);
	ck_assert_str_eq(json_string_value(json_object_get(m, "flow")), "changed");
	ck_assert_str_eq(json_string_value(json_object_get(m, "canary_version")), "7.1.0");
	ck_assert_int_eq(json_integer_value(json_object_get(m, "customer_id")), 6);
	ck_assert_str_eq(json_string_value(json_object_get(m, "stable")), "{\"n\":7,\"v\":\"a\"}");
	ck_assert_str_eq(json_string_value(json_object_get(m, "canary")), "{\"n\":7,\"v\":\"b\"}");

	strbuf metrics = STRBUF_INIT;
	dualrun_metrics(&metrics);
	ck_assert_ptr_nonnull(strstr(metrics.buf, "dualrun_total{edition=\"mass\",flow=\"changed\",result=\"mismatch\"} 1\n"));
	strbuf_release(&metrics);
	json_decref(list);
	free(a);
	free(b);
	flow_runner_free(fr);
}
END_TEST

START_TEST(test_loop_times_out_error_counted)
{
	flow_runner *fr = flow_runner_new(bk, 0);
	char *a = answer_and_compare(fr, "loop", 0);

	ck_assert(dualrun_wait_idle(10000));
	char *b = answer_and_compare(fr, "boom", 0);
	ck_assert(dualrun_wait_idle(10000));
	ck_assert_str_eq(a, "{\"n\":2,\"v\":\"a\"}");
	ck_assert_str_eq(b, "{\"n\":3,\"v\":\"a\"}");
	ck_assert_uint_eq(dualrun_count("mass", "loop", "canary_timeout"), 1);
	ck_assert_uint_eq(dualrun_count("mass", "boom", "canary_error"), 1);
	json_t *list = dualrun_mismatches();
	ck_assert_uint_eq(json_array_size(list), 0);
	json_decref(list);
	/* the pool goes on after a timeout: a matching flow still matches */
	free(answer_and_compare(fr, "same", 0));
	ck_assert(dualrun_wait_idle(10000));
	ck_assert_uint_eq(dualrun_count("mass", "same", "match"), 1);
	free(a);
	free(b);
	flow_runner_free(fr);
}
END_TEST

/* A queue of four behind one looping canary: the rest is dropped, never waited for. */
START_TEST(test_full_queue_drops)
{
	json_t *result = json_pack("{s:s, s:i}", "v", "a", "n", 2);
	bank_identity who = { .customer_id = 6 };
	int queued = 0;

	for (int i = 0; i < 20; i++)
		queued += dualrun_submit(NULL, &canary_ed, "loop", NULL, &who, result) == 0;
	ck_assert_int_le(queued, 5);          /* four waiting, one perhaps already running */
	ck_assert_uint_ge(dualrun_dropped(), 15);
	ck_assert(dualrun_wait_idle(20000));
	ck_assert_uint_eq(dualrun_count("mass", "loop", "canary_timeout"), (unsigned)queued);
	json_decref(result);
}
END_TEST

/* Only the last DUALRUN_KEEP mismatches are kept, newest first; long bodies are cut. */
START_TEST(test_mismatches_bounded)
{
	bank_identity who = { .customer_id = 9 };
	strbuf big = STRBUF_INIT;

	for (int i = 0; i < 3000; i++)
		strbuf_adds(&big, "x");
	json_t *params = json_pack("{s:i}", "n", 0);
	for (int i = 0; i < DUALRUN_KEEP + 10; i++) {
		json_t *stable = json_pack("{s:s, s:i}", "v", big.buf, "n", i);
		while (dualrun_submit(NULL, &canary_ed, "changed", params, &who, stable) < 0)
			dualrun_wait_idle(1000);
		json_decref(stable);
	}
	ck_assert(dualrun_wait_idle(20000));
	json_t *list = dualrun_mismatches();
	ck_assert_uint_eq(json_array_size(list), DUALRUN_KEEP);
	ck_assert_uint_eq(dualrun_count("mass", "changed", "mismatch"), DUALRUN_KEEP + 10);
	const char *s = json_string_value(json_object_get(json_array_get(list, 0), "stable"));
	ck_assert_uint_le(strlen(s), 1100);
	ck_assert_ptr_nonnull(strstr(s, "..."));
	json_decref(list);
	json_decref(params);
	strbuf_release(&big);
}
END_TEST

Suite *suite_dualrun(void);

Suite *suite_dualrun(void)
{
	Suite *s = suite_create("dualrun");
	TCase *tc = tcase_create("dualrun");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_match_and_mismatch);
	tcase_add_test(tc, test_loop_times_out_error_counted);
	tcase_add_test(tc, test_full_queue_drops);
	tcase_add_test(tc, test_mismatches_bounded);
	suite_add_tcase(s, tc);
	return s;
}
