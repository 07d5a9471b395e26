/*
 * backend: where a flow's bank call goes. Each bank operation belongs to one
 * service (the names flows declare under `services`):
 *
 *   profile   profile, manager, benefits
 *   accounts  accounts, history, payees, calendar
 *   payments  transfer, payroll, pending_payments, decide_payment
 *   products  products, buy_product, deposit_open
 *   loans     loan_apply, loan_disburse
 *   merchant  merchant_summary, cockpit
 *   bills     bill_issue
 *   fx        fx_quote, crossborder_pay
 *
 * A service without a URL is served by the embedded sandbox bank (bank_call),
 * as when nothing is configured. A service with one is called over HTTP
 * (libcurl, one keep-alive handle per thread): POST URL/bank/v1/call with
 * {"op":..,"args":[..],"identity":{"customer_id":..,"enterprise_id":..,"role":..}},
 * answered {"ok":true,"result":..} or {"ok":false,"error":"code"}. The
 * identity is the caller's (the session's), never the flow's.
 *
 * Each remote service has a circuit breaker (breaker.h). Transport errors,
 * timeouts, 5xx and answers that are not the protocol count as failures; a
 * bank refusal ("insufficient_funds") is a good answer. A failed or refused
 * (breaker open) call gives the code "unavailable", which makes the flow
 * answer FLOW_UNAVAILABLE and the page show its fallback.
 *
 * Configuration happens before any call (from the command line at start);
 * calls are thread-safe.
 */
#ifndef BACKEND_H
#define BACKEND_H

#include <stdio.h>

#include "bank.h"
#include "breaker.h"
#include "strbuf.h"

#define BACKEND_PATH "/bank/v1/call"
#define BACKEND_SECRET_HEADER "X-Bank-Secret"

/*
 * Takes this module's options out of argv (so the caller's getopt never sees
 * them) and applies them: --backend SERVICE=URL (repeatable), --bank-url URL,
 * --backend-connect-timeout MS, --backend-timeout MS, --bank-secret-file FILE.
 * 0, or 2 after a message on standard error.
 */
int backend_take_options(int *argc, char **argv);
void backend_usage(FILE *fp);

/* service "*" sets every service. url "": back to the embedded bank. 0, or -1 with err. */
int backend_set(const char *service, const char *url, strbuf *err);
void backend_set_timeouts(int connect_ms, int total_ms);
void backend_set_breaker(const breaker_config *cfg, breaker_clock_fn clock, void *clock_cls);
/* The shared secret sent to bank servers (NULL: none). 0, or -1 with err. */
int backend_set_secret(const char *secret, strbuf *err);
/* Reads a secret file: one line of printable text, 16 to 256 bytes (caller frees). NULL with err. */
char *backend_read_secret_file(const char *path, strbuf *err);
/* Everything back to the embedded bank, counters zeroed, this thread's handle freed (tests, exit). */
void backend_reset(void);

/* The service an operation belongs to, or NULL for an unknown one. */
const char *backend_service_of(const char *op);
/* The URL serving a service, or NULL when it is the embedded bank. */
const char *backend_url_of(const char *service);
/* The breaker state of a remote service (BREAKER_CLOSED for an embedded one). */
breaker_state backend_breaker_state(const char *service);

/* bank_call through the configured route: same contract as bank_call. */
int backend_call(bank *b, const bank_identity *who, const char *op, json_t *args,
		 json_t **result, strbuf *err);

/*
 * The same within a time budget (ms; <= 0: the configured total timeout): a
 * remote call waits no longer than the smaller of the two. A call cut short by
 * the budget gives "unavailable" but is no verdict on the service.
 */
int backend_call_by(bank *b, const bank_identity *who, const char *op, json_t *args, int budget_ms,
		    json_t **result, strbuf *err);

/* A flow answered with its fallback (counted per edition and flow). */
void backend_fallback(const char *edition, const char *flow);
/* Appends backend_calls_total, breaker_state and fallbacks_total to a /metrics body. */
void backend_metrics(strbuf *out);

#endif
