/*
 * flow: runs one flow of an edition for one identity.
 *
 * The way of a run: find the spec, check the params in C (flow_params.c), find
 * or make the runner's Lua state for the edition's pack, load the flow's chunk
 * once per state (stripped bytecode from the verified pack, mode "b"), then in
 * one protected call: a fresh _ENV for the chunk, run the chunk (its locals
 * are new each time, so nothing a flow keeps survives the request), call the
 * function it returns with (params, ctx). The result is encoded to JSON in C
 * and filtered by the spec's "returns". For the API, flow_run_text writes the
 * filtered result straight from the Lua table as JSON text, with no jansson
 * tree between (the same text; whatever is unusual takes the jansson way).
 *
 * States are cached by the pack's SHA-256, not its address: after a reload a
 * new pack may reuse a freed address, but never the hash of other content.
 * A state that hit its memory cap or deadline is closed, not reused; the
 * runner keeps at most FLOW_MAX_STATES states and drops the least recently used.
 */
#include "flow_int.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

#define FLOW_MAX_STATES 16
#define FLOW_DEFAULT_CAP (8u << 20)
#define FLOW_DEFAULT_TIMEOUT_MS 1000
#define FLOW_MAX_TIMEOUT_MS 30000

static flow_loader_fn flow_loader;

void flow_set_loader(flow_loader_fn loader)
{
	flow_loader = loader;
}

flow_runner *flow_runner_new(bank *b, size_t mem_cap_bytes)
{
	flow_runner *r = xcalloc(1, sizeof *r);
	r->bank = b;
	r->mem_cap = mem_cap_bytes ? mem_cap_bytes : FLOW_DEFAULT_CAP;
	return r;
}

void flow_runner_free(flow_runner *r)
{
	if (!r)
		return;
	while (r->vms) {
		flow_vm *next = r->vms->next;
		flow_vm_free(r->vms);
		r->vms = next;
	}
	free(r);
}

size_t flow_runner_states(const flow_runner *r)
{
	size_t n = 0;
	for (const flow_vm *vm = r->vms; vm; vm = vm->next)
		n++;
	return n;
}

/* --- states and chunks ----------------------------------------------------- */

static void edition_key(const rt_edition *ed, unsigned char key[32])
{
	memset(key, 0, 32);
	const pack_info *info = ed->pack ? pack_get_info(ed->pack) : NULL;
	if (info) {
		memcpy(key, info->sha256, 32);
	} else {
		key[0] = 1;                      /* packless (tests): the edition's address */
		memcpy(key + 8, &ed, sizeof ed);
	}
}

static void runner_drop(flow_runner *r, flow_vm *vm)
{
	for (flow_vm **pp = &r->vms; *pp; pp = &(*pp)->next) {
		if (*pp == vm) {
			*pp = vm->next;
			break;
		}
	}
	flow_vm_free(vm);
}

static flow_vm *runner_vm(flow_runner *r, const rt_edition *ed, strbuf *err)
{
	unsigned char key[32];
	edition_key(ed, key);
	size_t n = 0;
	flow_vm *oldest = NULL;
	for (flow_vm *vm = r->vms; vm; vm = vm->next, n++) {
		if (!memcmp(vm->key, key, 32)) {
			vm->last_use = ++r->clock;
			return vm;
		}
		if (!oldest || vm->last_use < oldest->last_use)
			oldest = vm;
	}
	if (n >= FLOW_MAX_STATES)
		runner_drop(r, oldest);
	flow_vm *vm = flow_vm_new(r->mem_cap, err);
	if (!vm)
		return NULL;
	memcpy(vm->key, key, 32);
	vm->last_use = ++r->clock;
	vm->next = r->vms;
	r->vms = vm;
	return vm;
}

/* The registry ref of the flow's loaded chunk, loading it on first use; LUA_NOREF on error. */
static int vm_chunk(flow_vm *vm, const rt_edition *ed, const char *flow_id, strbuf *err)
{
	for (size_t i = 0; i < vm->n_chunks; i++)
		if (!strcmp(vm->chunks[i].flow_id, flow_id))
			return vm->chunks[i].ref;
	size_t len = 0;
	const void *code = ed->pack ? pack_get(ed->pack, PACK_FLOWS, flow_id, &len)
			 : flow_loader ? flow_loader(ed, flow_id, &len) : NULL;
	if (!code) {
		strbuf_addf(err, "flow '%s' has no code in the pack", flow_id);
		return LUA_NOREF;
	}
	if (luaL_loadbufferx(vm->L, code, len, flow_id, "b") != LUA_OK) {
		strbuf_addf(err, "cannot load flow '%s': %s", flow_id, lua_tostring(vm->L, -1));
		lua_pop(vm->L, 1);
		return LUA_NOREF;
	}
	int ref = luaL_ref(vm->L, LUA_REGISTRYINDEX);
	if (ref == LUA_REFNIL || ref == LUA_NOREF) {
		strbuf_addf(err, "cannot keep flow '%s'", flow_id);
		return LUA_NOREF;
	}
	if (vm->n_chunks == vm->cap_chunks) {
		vm->cap_chunks = vm->cap_chunks ? vm->cap_chunks * 2 : 16;
		vm->chunks = xrealloc(vm->chunks, vm->cap_chunks * sizeof *vm->chunks);
	}
	vm->chunks[vm->n_chunks++] = (flow_chunk){ xstrdup(flow_id), ref };
	return ref;
}

/* --- ctx ------------------------------------------------------------------------ */

static void bank_today(char out[11])
{
	time_t t = time(NULL) + 8 * 3600;       /* the bank's day: China Standard Time */
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/* ctx.tier: a customer's tier changes rarely, so each runner keeps it for a while
 * instead of asking the bank on every run. NULL when unknown. */
#define FLOW_TIER_SECONDS 30

static const char *customer_tier(flow_runner *r, long long customer)
{
	time_t now = time(NULL);
	unsigned slot = (unsigned)(customer % FLOW_TIER_SLOTS);
	if (r->tiers[slot].customer == customer && now - r->tiers[slot].at < FLOW_TIER_SECONDS)
		return r->tiers[slot].tier;
	bank_customer c;
	if (!r->bank || bank_customer_get(r->bank, customer, &c) < 0)
		return NULL;
	r->tiers[slot].customer = customer;
	r->tiers[slot].at = now;
	snprintf(r->tiers[slot].tier, sizeof r->tiers[slot].tier, "%s", c.tier);
	return r->tiers[slot].tier;
}

static json_t *make_ctx(flow_runner *r, const rt_edition *ed, const bank_identity *who,
			const char *idem, const char *today)
{
	json_t *meta = ed->meta;
	json_t *ctx = json_pack("{s:s,s:O?,s:O?,s:O?,s:O?,s:O?}", "edition", ed->id ? ed->id : "",
				"locale", json_object_get(meta, "locale"), "segment", json_object_get(meta, "segment"),
				"limits", json_object_get(meta, "limits"), "fees", json_object_get(meta, "fees"),
				"features", json_object_get(meta, "features"));
	char day[11];
	if (!today)
		bank_today(day);
	json_object_set_new(ctx, "today", json_string(today ? today : day));
	if (idem && *idem)
		json_object_set_new(ctx, "idempotency_key", json_string(idem));
	if (who && who->customer_id > 0) {
		const char *tier = customer_tier(r, who->customer_id);
		json_object_set_new(ctx, "customer_id", json_integer(who->customer_id));
		if (tier)
			json_object_set_new(ctx, "tier", json_string(tier));
	}
	if (who && who->enterprise_id > 0) {
		json_object_set_new(ctx, "enterprise_id", json_integer(who->enterprise_id));
		json_object_set_new(ctx, "role", json_string(who->role));
	}
	/* limits, fees, features are always tables, so a flow can index them */
	static const char *const tables[] = { "limits", "fees", "features" };
	for (size_t i = 0; i < 3; i++)
		if (!json_is_object(json_object_get(ctx, tables[i])))
			json_object_set_new(ctx, tables[i], json_object());
	return ctx;
}

/* --- the protected part of a run ---------------------------------------------------- */

typedef struct run_args {
	flow_vm *vm;
	int chunk_ref;
	json_t *params, *ctx;
} run_args;

static int run_protected(lua_State *L)
{
	run_args *a = lua_touserdata(L, 1);
	lua_settop(L, 0);
	lua_rawgeti(L, LUA_REGISTRYINDEX, a->chunk_ref);   /* 1: the chunk */
	lua_newtable(L);                                    /* 2: this run's _ENV */
	lua_rawgeti(L, LUA_REGISTRYINDEX, a->vm->env_mt_ref);
	lua_setmetatable(L, 2);
	lua_pushvalue(L, 2);
	lua_setfield(L, 2, "_G");
	if (!lua_setupvalue(L, 1, 1))                       /* a main chunk's one upvalue is _ENV */
		return luaL_error(L, "flow chunk has no environment");
	lua_call(L, 0, 1);
	if (lua_type(L, -1) != LUA_TFUNCTION)
		return luaL_error(L, "flow chunk did not return a function");
	flow_push_json(L, a->params);
	flow_push_json(L, a->ctx);
	lua_call(L, 2, 1);
	return 1;
}

/* --- results ------------------------------------------------------------------------- */

static const char *json_kind(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "a list";
	case JSON_STRING: return "text";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

/* The value fit for the declared type (new reference), or NULL. */
static json_t *fit_type(json_t *v, const char *type)
{
	if (json_is_null(v) || !type)
		return json_incref(v);
	if (!strcmp(type, "string") || !strcmp(type, "id") || !strcmp(type, "date") ||
	    !strcmp(type, "enum") || !strcmp(type, "account")) {
		if (json_is_string(v))
			return json_incref(v);
		if (json_is_integer(v))
			return json_sprintf("%lld", (long long)json_integer_value(v));
		return NULL;
	}
	if (!strcmp(type, "int") || !strcmp(type, "money"))
		return json_is_integer(v) ? json_incref(v) : NULL;
	if (!strcmp(type, "number"))
		return json_is_number(v) ? json_incref(v) : NULL;
	if (!strcmp(type, "bool"))
		return json_is_boolean(v) ? json_incref(v) : NULL;
	if (!strcmp(type, "list"))
		return json_is_array(v) ? json_incref(v) : json_is_object(v) && !json_object_size(v) ? json_array() : NULL;
	if (!strcmp(type, "object"))
		return json_is_object(v) ? json_incref(v) : json_is_array(v) && !json_array_size(v) ? json_object() : NULL;
	return json_incref(v);
}

static int filter_returns(json_t *spec, const char *flow_id, json_t *raw, json_t **out, strbuf *err)
{
	if (json_is_array(raw) && json_array_size(raw) == 0) {
		*out = json_object();                /* `return {}` */
		return 0;
	}
	if (!json_is_object(raw)) {
		strbuf_addf(err, "flow '%s' returned %s, not a table of fields", flow_id, json_kind(raw));
		return FLOW_ERROR;
	}
	json_t *res = json_object(), *decl;
	size_t i;
	json_array_foreach(json_object_get(spec, "returns"), i, decl) {
		const char *id = json_string_value(json_object_get(decl, "id"));
		const char *type = json_string_value(json_object_get(decl, "type"));
		if (!id)
			continue;
		json_t *v = json_object_get(raw, id), *fit = v ? fit_type(v, type) : json_null();
		if (!fit) {
			strbuf_addf(err, "flow '%s' returned '%s' as %s, declared %s", flow_id, id, json_kind(v), type);
			json_decref(res);
			return FLOW_ERROR;
		}
		json_object_set_new(res, id, fit);
	}
	/* ok and message: the flows' polite refusal ({ ok = false, message = "over_limit" }) */
	json_t *ok = json_object_get(raw, "ok"), *msg = json_object_get(raw, "message");
	if (json_is_boolean(ok))
		json_object_set(res, "ok", ok);
	if (json_is_string(msg))
		json_object_set(res, "message", msg);
	*out = res;
	return 0;
}

/* --- results as text ------------------------------------------------------------------- */

/*
 * The common case written straight from Lua: a table of string-keyed fields,
 * each declared field fit as it is. Anything else (a type to convert, a value
 * that does not fit, returns naming ok, message or a number) answers 1 and the
 * run takes the jansson way, which also words the errors.
 */
static bool text_decls_plain(json_t *decls)
{
	size_t i;
	json_t *decl;
	json_array_foreach(decls, i, decl) {
		const char *id = json_string_value(json_object_get(decl, "id"));
		if (!id)
			continue;
		if (!strcmp(id, "ok") || !strcmp(id, "message") || (*id >= '0' && *id <= '9') || *id == '-')
			return false;
		for (const char *c = id; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == '"' || *c == '\\')
				return false;
		for (size_t j = 0; j < i; j++)
			if (json_equal(json_object_get(json_array_get(decls, j), "id"), json_object_get(decl, "id")))
				return false;
	}
	return true;
}

/* Does the Lua value at idx fit the type as it is? */
static bool text_fits(lua_State *L, int idx, const char *type)
{
	int t = lua_type(L, idx);
	if (t == LUA_TNIL || !type)
		return true;
	if (!strcmp(type, "string") || !strcmp(type, "id") || !strcmp(type, "date") ||
	    !strcmp(type, "enum") || !strcmp(type, "account"))
		return t == LUA_TSTRING;
	if (!strcmp(type, "int") || !strcmp(type, "money"))
		return lua_isinteger(L, idx);
	if (!strcmp(type, "number"))
		return t == LUA_TNUMBER;
	if (!strcmp(type, "bool"))
		return t == LUA_TBOOLEAN;
	if (!strcmp(type, "list"))
		return t == LUA_TTABLE && flow_table_length(L, idx) >= 0;
	if (!strcmp(type, "object"))
		return t == LUA_TTABLE && flow_table_length(L, idx) < 0;
	return true;
}

typedef struct text_args {
	json_t *spec, *result;
	strbuf *text;
	int rc;
} text_args;

static bool declared(json_t *decls, const char *key)
{
	size_t i;
	json_t *decl;
	json_array_foreach(decls, i, decl) {
		const char *id = json_string_value(json_object_get(decl, "id"));
		if (id && !strcmp(id, key))
			return true;
	}
	return !strcmp(key, "ok") || !strcmp(key, "message");
}

/* The fields the text leaves out must still be fit for JSON, as the jansson way checks. */
static bool others_fit(lua_State *L, json_t *decls)
{
	strbuf why = STRBUF_INIT;
	bool fit = true;
	lua_pushnil(L);
	while (fit && lua_next(L, 1)) {
		size_t klen;
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &klen) : NULL;
		fit = k && flow_json_key(k, klen) && (declared(decls, k) || flow_json_check(L, -1, &why));
		lua_pop(L, 1);
	}
	if (!fit)
		lua_pop(L, 1);
	strbuf_release(&why);
	return fit;
}

/* Writes ,"id":value (or without the comma first); false when the value is not fit for JSON. */
static bool text_field(lua_State *L, const char *id, bool *first, strbuf *text)
{
	strbuf_adds(text, *first ? "\"" : ",\"");
	strbuf_adds(text, id);
	strbuf_adds(text, "\":");
	*first = false;
	return flow_json_write(L, -1, text);
}

/* In a protected call (pushing a key may allocate): the raw table at 1. Sets
 * a->rc 0 with the filtered result in text and its ok and message in
 * a->result, or 1: take the jansson way. */
static int text_result(lua_State *L)
{
	text_args *a = lua_touserdata(L, 2);
	json_t *decls = json_object_get(a->spec, "returns"), *decl;
	size_t i;
	bool first = true;
	a->rc = 1;
	if (lua_type(L, 1) != LUA_TTABLE || flow_table_length(L, 1) >= 0 || !text_decls_plain(decls) ||
	    !others_fit(L, decls))
		return 0;
	strbuf_grow(a->text, 4096);
	strbuf_addc(a->text, '{');
	json_array_foreach(decls, i, decl) {
		const char *id = json_string_value(json_object_get(decl, "id"));
		if (!id)
			continue;
		lua_pushstring(L, id);
		lua_rawget(L, 1);
		if (!text_fits(L, -1, json_string_value(json_object_get(decl, "type"))) ||
		    !text_field(L, id, &first, a->text))
			return 0;
		lua_pop(L, 1);
	}
	lua_pushliteral(L, "ok");
	lua_rawget(L, 1);
	lua_pushliteral(L, "message");
	lua_rawget(L, 1);
	bool has_ok = lua_type(L, -2) == LUA_TBOOLEAN, has_msg = lua_type(L, -1) == LUA_TSTRING;
	if (has_ok) {
		lua_pushvalue(L, -2);
		if (!text_field(L, "ok", &first, a->text))
			return 0;
		lua_pop(L, 1);
	}
	if (has_msg && !text_field(L, "message", &first, a->text))
		return 0;
	strbuf_addc(a->text, '}');
	a->result = json_object();
	if (has_ok)
		json_object_set_new(a->result, "ok", json_boolean(lua_toboolean(L, -2)));
	if (has_msg)
		json_object_set_new(a->result, "message", json_string(lua_tostring(L, -1)));
	a->rc = 0;
	return 0;
}

/* The flow's value (at the top) as text the fast way: 0, or 1 to take the jansson way. */
static int text_way(lua_State *L, json_t *spec, json_t **result, strbuf *text)
{
	text_args a = { spec, NULL, text, 1 };
	size_t mark = text->len;
	int top = lua_gettop(L);
	lua_pushcfunction(L, text_result);
	lua_pushvalue(L, top);
	lua_pushlightuserdata(L, &a);
	if (lua_pcall(L, 2, 0, 0) != LUA_OK || a.rc != 0) {
		json_decref(a.result);
		text->len = mark;
		if (text->alloc)
			text->buf[mark] = '\0';
		lua_settop(L, top);
		return 1;
	}
	*result = a.result;
	return 0;
}

/* The jansson way: the whole value to JSON, then filtered by the spec's "returns". */
static int json_result(lua_State *L, json_t *spec, const char *flow_id, json_t **result, strbuf *text,
		       strbuf *err)
{
	strbuf why = STRBUF_INIT;
	json_t *raw = flow_to_json(L, -1, &why);
	int rc;
	if (!raw) {
		strbuf_addf(err, "flow '%s' returned a value JSON cannot hold: %s", flow_id, why.buf);
		rc = FLOW_ERROR;
	} else {
		rc = filter_returns(spec, flow_id, raw, result, err);
	}
	if (rc == 0 && text) {
		char *t = json_dumps(*result, JSON_COMPACT);
		strbuf_adds(text, t ? t : "null");
		free(t);
	}
	json_decref(raw);
	strbuf_release(&why);
	return rc;
}

/* --- errors ------------------------------------------------------------------------------ */

static int bank_status(const char *code)
{
	if (!strcmp(code, "forbidden"))
		return FLOW_FORBIDDEN;
	if (!strcmp(code, "not_found"))
		return FLOW_NOT_FOUND;
	if (!strcmp(code, "unavailable"))
		return FLOW_UNAVAILABLE;
	if (!strcmp(code, "internal"))
		return FLOW_ERROR;
	return FLOW_REFUSED;
}

static int lua_failure(flow_vm *vm, flow_run_state *run, int status, const char *flow_id, strbuf *err)
{
	lua_State *L = vm->L;
	const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
	if (run->killed == KILL_TIMEOUT) {
		strbuf_addf(err, "flow '%s' ran past its deadline", flow_id);
		return FLOW_TIMEOUT;
	}
	if (run->killed == KILL_MEMORY || status == LUA_ERRMEM) {
		run->killed = KILL_MEMORY;
		strbuf_addf(err, "flow '%s' ran out of memory", flow_id);
		return FLOW_ERROR;
	}
	if (msg && run->bank_code[0] && !strcmp(msg, run->bank_code)) {
		strbuf_adds(err, run->bank_code);
		int st = bank_status(run->bank_code);
		if (st == FLOW_UNAVAILABLE)          /* the page shows the flow's fallback */
			backend_fallback(run->ed ? run->ed->id : NULL, flow_id);
		return st;
	}
	strbuf_addf(err, "flow '%s': %s", flow_id, msg ? msg : "error object is not a string");
	return FLOW_ERROR;
}

/* Runs the loaded chunk; the Lua stack is back where it was afterwards. */
static int run_lua(flow_vm *vm, flow_run_state *run, int ref, json_t *params, json_t *ctx,
		   const char *flow_id, json_t *spec, json_t **result, strbuf *text, strbuf *err)
{
	lua_State *L = vm->L;
	int top = lua_gettop(L);
	run_args a = { vm, ref, params, ctx };
	vm->run = run;
	lua_pushcfunction(L, run_protected);
	lua_pushlightuserdata(L, &a);
	int status = lua_pcall(L, 1, 1, 0), rc;
	if (status != LUA_OK || run->killed) {
		rc = lua_failure(vm, run, status, flow_id, err);
	} else if (text && text_way(L, spec, result, text) == 0) {
		rc = 0;
	} else {
		rc = json_result(L, spec, flow_id, result, text, err);
	}
	lua_settop(L, top);
	vm->run = NULL;
	json_decref(run->pending);
	run->pending = NULL;
	return rc;
}

static long long spec_timeout(json_t *spec)
{
	json_t *t = json_object_get(spec, "timeout_ms");
	long long ms = json_is_integer(t) ? json_integer_value(t) : FLOW_DEFAULT_TIMEOUT_MS;
	return ms < 1 ? 1 : ms > FLOW_MAX_TIMEOUT_MS ? FLOW_MAX_TIMEOUT_MS : ms;
}

static int run_flow(flow_runner *r, const rt_edition *ed, const char *flow_id, json_t *raw_params,
		    const bank_identity *who, const flow_request *req, json_t **result, strbuf *text,
		    strbuf *err)
{
	static const bank_identity nobody;    /* no session: every bank call is forbidden */
	*result = NULL;
	if (!who)
		who = &nobody;
	json_t *spec = flow_id ? json_object_get(ed->flow_specs, flow_id) : NULL, *typed = NULL;
	if (!json_is_object(spec)) {
		strbuf_addf(err, "no flow '%s' in edition '%s'", flow_id ? flow_id : "", ed->id ? ed->id : "");
		return FLOW_NOT_FOUND;
	}
	int rc = flow_check_params(json_object_get(spec, "params"), raw_params, &typed, err);
	if (rc)
		return rc;
	flow_vm *vm = runner_vm(r, ed, err);
	int ref = vm ? vm_chunk(vm, ed, flow_id, err) : LUA_NOREF;
	if (ref == LUA_NOREF) {
		json_decref(typed);
		return FLOW_ERROR;
	}
	const char *idem = req && req->idem_key ? req->idem_key
			   : json_string_value(json_object_get(raw_params, "_idem"));
	json_t *ctx = make_ctx(r, ed, who, idem && strlen(idem) <= 128 ? idem : NULL, req ? req->today : NULL);
	flow_run_state run = { .runner = r, .ed = ed, .who = who };
	long long ms = spec_timeout(spec);
	clock_gettime(CLOCK_MONOTONIC, &run.deadline);
	run.deadline.tv_sec += ms / 1000;
	run.deadline.tv_nsec += (ms % 1000) * 1000000L;
	if (run.deadline.tv_nsec >= 1000000000L) {
		run.deadline.tv_sec++;
		run.deadline.tv_nsec -= 1000000000L;
	}
	rc = run_lua(vm, &run, ref, typed, ctx, flow_id, spec, result, text, err);
	if (run.killed)
		runner_drop(r, vm);              /* never reuse a state that was stopped mid-way */
	json_decref(ctx);
	json_decref(typed);
	return rc;
}

int flow_run_ex(flow_runner *r, const rt_edition *ed, const char *flow_id, json_t *raw_params,
		const bank_identity *who, const flow_request *req, json_t **result, strbuf *err)
{
	return run_flow(r, ed, flow_id, raw_params, who, req, result, NULL, err);
}

int flow_run_text(flow_runner *r, const rt_edition *ed, const char *flow_id, json_t *raw_params,
		  const bank_identity *who, json_t **result, strbuf *text, strbuf *err)
{
	return run_flow(r, ed, flow_id, raw_params, who, NULL, result, text, err);
}

int flow_run(flow_runner *r, const rt_edition *ed, const char *flow_id, json_t *raw_params,
	     const bank_identity *who, json_t **result, strbuf *err)
{
	return flow_run_ex(r, ed, flow_id, raw_params, who, NULL, result, err);
}
