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

/*
 * Runs flow_id of edition ed. *result (caller decrefs) on FLOW_OK. The
 * request's idempotency key is the string field "_idem" of raw_params (the
 * form's hidden field, or the API's Idempotency-Key header put there); the
 * flow sees it as ctx.idempotency_key. Other fields starting with '_' are
 * transport fields and never reach the flow.
 *
 * The result is the flow's table encoded as JSON, keeping only the fields the
 * spec's "returns" declares (a declared field the flow left out is null) plus
 * "ok" and "message", the flows' own way of refusing politely. On FLOW_ERROR
 * err holds the Lua message for the log, never for the customer.
 */
int flow_run(flow_runner *r, const rt_edition *ed, const char *flow_id, json_t *raw_params,
	     const bank_identity *who, json_t **result, strbuf *err);

typedef struct flow_request {  /* public: optional per-request inputs of flow_run_ex */
	const char *idem_key;       /* overrides raw_params' "_idem"; NULL: use it */
	const char *today;          /* "YYYY-MM-DD" for ctx.today; NULL: the bank's date (UTC+8) */
} flow_request;

int flow_run_ex(flow_runner *r, const rt_edition *ed, const char *flow_id, json_t *raw_params,
		const bank_identity *who, const flow_request *req, json_t **result, strbuf *err);

/*
 * Where bytecode comes from when an edition has no pack (ed->pack == NULL):
 * tests register a loader returning a flow's stripped Lua 5.4 bytecode (or
 * NULL when absent). Process-wide; set it before any flow_run.
 */
typedef const void *(*flow_loader_fn)(const rt_edition *ed, const char *flow_id, size_t *len);
void flow_set_loader(flow_loader_fn loader);

/* Lua states the runner holds (one per pack it has run flows of), for tests and metrics. */
size_t flow_runner_states(const flow_runner *r);

#endif
