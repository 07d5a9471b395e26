/*
 * flow: runs an edition's Lua flows in a sandbox.
 *
 * Params are checked against the flow's declared types in C before Lua runs
 * (a bad one gives FLOW_BAD_PARAMS naming the field). Each worker thread has
 * its own flow_runner, which keeps one Lua state per pack; a state reaches only
 * whitelisted libraries, allocates under a cap, and an instruction-count hook
 * stops it at the flow's deadline. The `bank` table in Lua calls bank_call for
 * the identity given here, never one from Lua.
 */
#ifndef FLOW_H
#define FLOW_H

#include <jansson.h>

#include "bank.h"
#include "registry.h"
#include "strbuf.h"

typedef enum flow_status {
	FLOW_OK = 0,
	FLOW_BAD_PARAMS = 400,      /* err names the field */
	FLOW_FORBIDDEN = 403,
	FLOW_NOT_FOUND = 404,
	FLOW_REFUSED = 422,         /* the bank said no: insufficient funds, over limit; err holds the code */
	FLOW_ERROR = 500,           /* a Lua error: logged, never shown */
	FLOW_UNAVAILABLE = 503,     /* a service is down: the flow's fallback applies */
	FLOW_TIMEOUT = 504
} flow_status;

typedef struct flow_runner flow_runner;

flow_runner *flow_runner_new(bank *b, size_t mem_cap_bytes);
void flow_runner_free(flow_runner *r);

/*
 * Checks params (JSON values, or strings from a form) against spec_params (the
 * flow's "params" array). On success *typed holds the converted object (money
 * and int as integers, bool as booleans) and 0 is returned; otherwise
 * FLOW_BAD_PARAMS with "field 'amount': expected an amount like 123.45" in err.
 */
int flow_check_params(json_t *spec_params, json_t *raw, json_t **typed, strbuf *err);

/* Runs flow_id of edition ed. *result (caller decrefs) on FLOW_OK. */
int flow_run(flow_runner *r, const rt_edition *ed, const char *flow_id, json_t *raw_params,
	     const bank_identity *who, json_t **result, strbuf *err);

#endif
