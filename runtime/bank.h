/*
 * bank: the sandbox core bank, an embedded SQLite database (WAL) in the data
 * directory, created and seeded with demo customers on first start.
 *
 * Money is integer minor units (fen). Every movement is a double-entry posting
 * inside one transaction; no balance goes below zero; an idempotency key makes
 * a retried request move money once. Each thread gets its own connection.
 * Functions that act for a customer take the identity from the caller (the
 * session), never from request data.
 */
#ifndef BANK_H
#define BANK_H

#include <jansson.h>

#include "strbuf.h"

typedef struct bank bank;

typedef struct bank_identity { /* public: who a call acts for */
	long long customer_id;
	long long enterprise_id;    /* 0 in personal service */
	char role[16];              /* "boss", "operator", or "" */
} bank_identity;

typedef struct bank_customer { /* public */
	long long id;
	char username[32];
	char name[64];
	char tier[16];              /* "mass", "private" */
	char preference[24];        /* "", "care", "english" */
	char locale[8];
} bank_customer;

typedef struct bank_binding {  /* public */
	long long enterprise_id;
	char enterprise_name[96];
	char role[16];              /* "boss" (legal person) or "operator" */
} bank_binding;

/* Opens (creating and seeding when new) data_dir/bank.sqlite. 0, or -1 with err. */
int bank_open(const char *data_dir, bank **out, strbuf *err);
/* Closes every thread's connection: call once no other thread uses b any more. */
void bank_close(bank *b);

/* 0 on success; -1 on a bad user name or password (no hint which). */
int bank_authenticate(bank *b, const char *username, const char *password, bank_customer *out);
int bank_customer_get(bank *b, long long id, bank_customer *out);
/* Up to max bindings of the customer; returns how many. */
int bank_bindings(bank *b, long long customer_id, bank_binding *out, int max);

/*
 * Calls a named operation for an identity: op is one of the bank.* functions of
 * docs/architecture.md section 4 ("accounts", "transfer", ...), args a JSON
 * array of its arguments. Returns 0 with *result (caller decrefs), or a
 * non-zero error with a stable code in err ("insufficient_funds",
 * "not_found", "forbidden", "limit_exceeded", "bad_argument").
 *
 * More codes: "conflict" (an idempotency key reused for another request, a
 * loan not approved, a used fx quote), "already_decided" (a payment decided
 * before), "quote_expired", "unavailable" (the database stayed busy),
 * "internal". Money moves (transfer, buy_product, loan_apply, deposit_open,
 * payroll, bill_issue, crossborder_pay) need a "key" in their argument
 * object. Account ids are decimal strings ("12"); an account number also
 * works wherever an account id is taken. "products" takes the edition's
 * product list as its argument and returns it with each product's "holding".
 * "transfer" also takes "limit" and "daily_limit" (fen) and refuses above
 * them; an operator's transfer above 50,000.00 yuan in enterprise service
 * waits for the boss ("pending_approval") instead of moving money.
 * Safe to call from any thread: each thread uses its own connection.
 */
int bank_call(bank *b, const bank_identity *who, const char *op, json_t *args,
	      json_t **result, strbuf *err);

/*
 * The ledger's invariant, for tests: sum of all postings (must be 0) and of the
 * balances of customers and enterprises (unchanged by moves between them).
 * Returns 0 when every journal sums to zero, every balance equals the sum of
 * its postings and no customer or enterprise balance is negative; else -1.
 */
int bank_audit(bank *b, long long *postings_sum, long long *balances_sum);

#endif
