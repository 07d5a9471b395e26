/*
 * bankd: the sandbox core bank served over HTTP, so that several editiond
 * instances (started with --bank-url) share one bank.
 *
 *   editiond --serve-bank [--listen 127.0.0.1:8090] [--data DIR] [--workers N]
 *            [--log FILE|-] [--bank-secret-file FILE]
 *
 * POST /bank/v1/call takes {"op":..,"args":[..],"identity":{"customer_id":N,
 * "enterprise_id":N,"role":".."}} and answers 200 {"ok":true,"result":..},
 * 200 {"ok":false,"error":"code"} for a refusal, 503 or 500 with the same
 * shape when the bank itself failed, 400 for a malformed request. The
 * identity is trusted, so only trusted callers get in: with a secret file,
 * those sending it in X-Bank-Secret; without one, only this host (and the
 * server refuses to listen on anything but a loopback address). GET /healthz
 * and, from this host, GET /metrics are served too.
 */
#ifndef BANKD_H
#define BANKD_H

#include "bank.h"
#include "http.h"

/* Does the command line ask for --serve-bank? */
int bankd_requested(int argc, char **argv);
/* The whole --serve-bank mode: parses its options, serves until TERM/INT. Exit status. */
int bankd_main(int argc, char **argv);

typedef struct bankd bankd;

/* A handler for http_start serving bank b (borrowed); secret NULL: loopback callers only. */
bankd *bankd_new(bank *b, const char *secret);
void bankd_free(bankd *d);
void bankd_handle(void *cls, http_request *rq, http_response *rs);

#endif
