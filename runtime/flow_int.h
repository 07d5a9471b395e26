/*
 * flow_int: what flow.c and flow_lua.c share. Nothing else includes it.
 *
 * A flow_vm is one Lua state for one pack, owned by one runner (one thread).
 * While a flow runs, vm->run points at that run: the bank bridge takes the
 * identity from there, the count hook its deadline, the pcall wrappers its
 * kill flag. Between runs vm->run is NULL and the bridge refuses to act.
 */
#ifndef FLOW_INT_H
#define FLOW_INT_H

#include <lua.h>
#include <stdbool.h>
#include <time.h>

#include "flow.h"

enum flow_kill { KILL_NONE, KILL_TIMEOUT, KILL_MEMORY };

typedef struct flow_run_state {
	flow_runner *runner;
	const rt_edition *ed;
	const bank_identity *who;
	struct timespec deadline;
	int killed;                 /* enum flow_kill: once set, no pcall in Lua can catch it */
	char bank_code[40];         /* the last bank refusal raised into Lua */
	json_t *pending;            /* JSON to free if Lua unwinds past its owner */
} flow_run_state;

typedef struct flow_chunk {
	char *flow_id;
	int ref;                    /* registry ref of the loaded main chunk */
} flow_chunk;

typedef struct flow_vm {
	lua_State *L;
	unsigned char key[32];      /* the pack's SHA-256 (or the edition's address when packless) */
	size_t used, cap;           /* bytes allocated by this state, and its cap */
	int env_mt_ref;             /* metatable of each run's _ENV: __index = the sandbox globals */
	json_t *catalogue;          /* the product catalogue catalogue_ref was made from (not owned) */
	int catalogue_ref;          /* its products as Lua lists of keys and values, or LUA_NOREF */
	flow_run_state *run;
	flow_chunk *chunks;
	size_t n_chunks, cap_chunks;
	unsigned long last_use;
	struct flow_vm *next;
} flow_vm;

#define FLOW_TIER_SLOTS 64

struct flow_runner {
	bank *bank;
	struct { long long customer; char tier[16]; time_t at; } tiers[FLOW_TIER_SLOTS];
	size_t mem_cap;
	flow_vm *vms;
	unsigned long clock;        /* for least-recently-used eviction */
};

/* flow_lua.c */
flow_vm *flow_vm_new(size_t cap, strbuf *err);
void flow_vm_free(flow_vm *vm);
/* Pushes a JSON value as Lua (may raise a Lua error: call inside a protected call). */
void flow_push_json(lua_State *L, json_t *v);
/* The Lua value at idx as JSON; NULL with the reason in err (never raises). */
json_t *flow_to_json(lua_State *L, int idx, strbuf *err);
/* A table at idx with keys 1..n and nothing else: n (0 when empty); otherwise -1. */
long long flow_table_length(lua_State *L, int idx);
/* Would flow_to_json take the value at idx? If not, the reason in err (never raises). */
bool flow_json_check(lua_State *L, int idx, strbuf *err);
/* Appends the text json_dumps(flow_to_json(v), JSON_COMPACT) gives; false (and
 * part of it appended) when flow_to_json would not take the value. */
bool flow_json_write(lua_State *L, int idx, strbuf *out);
/* Would jansson take the string as an object key as it is (valid UTF-8, no NUL)? */
bool flow_json_key(const char *s, size_t len);
/* The flow's deadline passed? */
bool flow_deadline_passed(const flow_run_state *run);

/* flow.c: flow_run_ex, with the result also written as JSON text (JSON_COMPACT)
 * into text; *result then holds at least its "ok" and "message". */
int flow_run_text(flow_runner *r, const rt_edition *ed, const char *flow_id, json_t *raw_params,
		  const bank_identity *who, json_t **result, strbuf *text, strbuf *err);

#endif
