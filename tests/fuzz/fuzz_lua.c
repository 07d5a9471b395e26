/*
 * fuzz_lua: the flow sandbox and the bank.* host API, on fuzzed Lua source.
 *
 * The runtime loads only stripped bytecode from verified packs, so the target
 * compiles the input as Lua source in a plain state of its own (text mode),
 * dumps it stripped and hands it to flow_run_ex through flow_set_loader, the
 * hook the runtime keeps for packless editions. From there on everything is
 * the real way of a flow: the params check, a fresh runner and Lua state with
 * the sandbox, the memory cap, the count hook (a 50 ms deadline here), ctx,
 * the bank bridge acting for a real demo identity against a sandbox bank in a
 * temporary directory, and the result filter over declared returns of every
 * type. The edition is the real mass pack's, without its pack.
 *
 * Checks after each input: a refusal has a reason and no result, a result is
 * an object, and bank_audit holds (every journal sums to zero, every balance
 * is the sum of its postings, none is negative).
 */
#include <lauxlib.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#include "bank.h"
#include "flow.h"
#include "fuzz_common.h"
#include "registry.h"

static bank *sandbox_bank;
static registry *packs;
static rt_edition edition;          /* the mass edition's JSON, no pack */
static lua_State *compiler;         /* compiles the input; never runs it */
static strbuf code = STRBUF_INIT;   /* this input's bytecode */
static bank_identity identities[3];

static const char fuzz_spec[] =
	"{\"fuzz\":{\"params\":[{\"id\":\"amount\",\"type\":\"money\"},{\"id\":\"from\",\"type\":\"string\"}],"
	"\"returns\":[{\"id\":\"s\",\"type\":\"string\"},{\"id\":\"n\",\"type\":\"int\"},"
	"{\"id\":\"x\",\"type\":\"number\"},{\"id\":\"b\",\"type\":\"bool\"},{\"id\":\"l\",\"type\":\"list\"},"
	"{\"id\":\"o\",\"type\":\"object\"},{\"id\":\"a\",\"type\":\"account\"}],"
	"\"effects\":[\"moves_funds\"],\"confirm\":true,\"timeout_ms\":50}}";

static const void *load_fuzz_code(const rt_edition *ed, const char *flow_id, size_t *len)
{
	if (ed != &edition || strcmp(flow_id, "fuzz"))
		return NULL;
	*len = code.len;
	return code.buf;
}

static void find_identities(void)
{
	bank_customer boss, operator;
	bank_binding bind;
	if (bank_authenticate(sandbox_bank, "zhangwei", "demo1234", &boss) < 0 ||
	    bank_authenticate(sandbox_bank, "liuqiang", "demo1234", &operator) < 0 ||
	    bank_bindings(sandbox_bank, boss.id, &bind, 1) < 1)
		fuzz_die("the sandbox bank lacks its demo customers");
	identities[0] = (bank_identity){ .customer_id = boss.id };
	identities[1] = (bank_identity){ .customer_id = boss.id, .enterprise_id = bind.enterprise_id };
	strcpy(identities[1].role, "boss");
	identities[2] = (bank_identity){ .customer_id = operator.id, .enterprise_id = bind.enterprise_id };
	strcpy(identities[2].role, "operator");
}

static void release_all(void)
{
	lua_close(compiler);
	strbuf_release(&code);
	json_decref(edition.flow_specs);
	registry_release(packs);
	bank_close(sandbox_bank);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	strbuf err = STRBUF_INIT;
	fuzz_quiet_logs();
	if (bank_open(fuzz_tempdir("lua"), &sandbox_bank, &err) < 0)
		fuzz_die("cannot open the sandbox bank: %s", err.buf);
	if (registry_load(fuzz_packs_dir(), NULL, &packs, &err) < 0)
		fuzz_die("cannot load the packs in '%s': %s", fuzz_packs_dir(), err.buf);
	const rt_edition *mass = registry_find(packs, "mass");
	if (!mass)
		fuzz_die("no mass pack in '%s'", fuzz_packs_dir());
	edition = *mass;
	edition.pack = NULL;
	edition.flow_specs = json_loads(fuzz_spec, 0, NULL);
	if (!edition.flow_specs)
		fuzz_die("the target's own flow spec does not parse");
	flow_set_loader(load_fuzz_code);
	find_identities();
	compiler = luaL_newstate();
	atexit(release_all);
	strbuf_release(&err);
	return 0;
}

static int add_code(lua_State *L, const void *p, size_t n, void *ud)
{
	strbuf_add(ud, p, n);
	return 0;
}

static void audit(void)
{
	long long postings = 0, balances = 0;
	if (bank_audit(sandbox_bank, &postings, &balances) < 0 || postings != 0) {
		fprintf(stderr, "ledger invariant broken: postings sum %lld\n", postings);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (luaL_loadbufferx(compiler, (const char *)data, size, "=fuzz", "t") != LUA_OK) {
		lua_settop(compiler, 0);
		return 0;
	}
	strbuf_reset(&code);
	lua_dump(compiler, add_code, &code, 1);
	lua_settop(compiler, 0);

	flow_runner *r = flow_runner_new(sandbox_bank, 0);
	json_t *params = json_pack("{s:s,s:s,s:s}", "amount", "12.34", "from", "1", "_idem", "fuzz-key");
	json_t *result = NULL;
	strbuf err = STRBUF_INIT;
	const flow_request req = { .today = "2026-11-26" };
	int rc = flow_run_ex(r, &edition, "fuzz", params, &identities[size % 3], &req, &result, &err);
	if (rc == FLOW_OK ? !json_is_object(result) : result != NULL || !err.len) {
		fprintf(stderr, "flow_run_ex broke its contract: status %d, err '%s'\n", rc, err.buf);
		abort();
	}
	json_decref(result);
	json_decref(params);
	strbuf_release(&err);
	flow_runner_free(r);
	audit();
	return 0;
}
