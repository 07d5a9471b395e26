/*
 * bank_int: what the bank's own files share (bank.c, bank_seed.c, bank_ops.c,
 * bank_enterprise.c). Nothing outside the bank includes this header.
 *
 * A call runs inside one SQLite transaction on the calling thread's own
 * connection. Operations report failure by returning -1 after bk_fail() has
 * put a stable code ("insufficient_funds", "forbidden", ...) into the call;
 * the dispatcher rolls back and hands the code to the caller.
 */
#ifndef BANK_INT_H
#define BANK_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <time.h>

#include "bank.h"

#define BANK_SCHEMA_VERSION 1
#define BANK_UTC_OFFSET (8 * 3600)         /* the bank keeps China Standard Time */
#define BANK_APPROVAL_THRESHOLD 5000000LL  /* fen: an operator's transfer above this waits for the boss */
#define BANK_NAME "华兴银行"
#define BANK_STMT_SLOTS 128
#define BANK_VERIFIED_SLOTS 8
#define BANK_VERIFIED_SECS 2        /* how long a verified identity is trusted */

typedef struct bank_conn bank_conn;

struct bank {
	char *path;
	pthread_key_t key;          /* thread -> bank_conn */
	pthread_mutex_t mu;         /* guards conns */
	bank_conn *conns;
	/* bank-side accounts of the ledger */
	long long acct_clearing, acct_fees, acct_loans, acct_equity, acct_custody;
};

struct bank_conn {
	sqlite3 *db;
	bank *b;
	bank_conn *next;
	struct { const char *sql; sqlite3_stmt *st; } slots[BANK_STMT_SLOTS];
	/* identities this thread verified lately (customers and bindings are only
	 * written by the seed); emptied by every write operation */
	struct { bank_identity who; time_t at; } verified[BANK_VERIFIED_SLOTS];
	int verified_next;
};

/* One bank_call in progress. */
typedef struct bk_call {
	bank *b;
	bank_conn *c;
	const bank_identity *who;
	const char *owner_kind;     /* "customer" or "enterprise": who owns what this identity sees */
	long long owner_id;
	char scope[48];             /* idempotency scope: "c7" or "e3/c7" */
	json_t *args;               /* array */
	const char *code;           /* set by bk_fail */
	const char *idem_key;       /* key of the current money move, or NULL */
	time_t now;
} bk_call;

typedef struct bk_leg {        /* one posting of a journal */
	long long account_id;
	long long amount;           /* signed: debit of a customer account is negative */
	const char *counterparty;
} bk_leg;

/* --- bank.c: statements and ledger ---------------------------------- */

/* The cached statement for sql (a string literal), reset, with args bound by
 * types: 'i' long long, 't' const char *, 'n' NULL (no argument). NULL on error. */
sqlite3_stmt *bk_q(bank_conn *c, const char *sql, const char *types, ...);
/* Runs a statement without rows: 0, or -1. */
int bk_run(bank_conn *c, const char *sql, const char *types, ...);
/* First column of the first row as integer: 1 found, 0 no row, -1 error. */
int bk_int(bank_conn *c, long long *out, const char *sql, const char *types, ...);
int bk_fail(bk_call *k, const char *code);
/* A text column copied into a JSON string (NULL -> ""). */
json_t *bk_text(sqlite3_stmt *st, int col);
/* The current row as an object keyed by column names (use SQL aliases):
 * integers stay integers, text is text, NULL is null. */
json_t *bk_row(sqlite3_stmt *st);
/* Steps st to the end: every row as an object, in an array; resets st.
 * NULL (after bk_fail) on error. */
json_t *bk_rows(bk_call *k, sqlite3_stmt *st);
/* Steps st once: the row as an object, or NULL with "not_found"; resets st. */
json_t *bk_one(bk_call *k, sqlite3_stmt *st);

/* Appends a journal whose legs sum to zero; refuses a customer or enterprise
 * balance below zero ("insufficient_funds"). *journal_id may be NULL. */
int bk_post(bk_call *k, const char *kind, const char *memo, const bk_leg *legs, int n,
	    long long *journal_id);

/* Argument helpers: each returns 0, or -1 with "bad_argument". */
json_t *bk_arg(bk_call *k, size_t i);
int bk_arg_obj(bk_call *k, json_t **obj);
int bk_get_amount(bk_call *k, json_t *v, long long *out);
int bk_get_id(bk_call *k, json_t *v, long long *out);        /* 17, "17" or "TR000017" */
int bk_get_str(bk_call *k, json_t *v, size_t max, bool required, const char **out);
/* An account of this identity (by id or number); "forbidden" for another's, "not_found" when absent. */
int bk_own_account(bk_call *k, json_t *ref, long long *id, char *currency);
/* The same, for money going out: a time deposit cannot pay ("bad_argument"). */
int bk_own_source(bk_call *k, json_t *ref, long long *id, char *currency);
/* Stored-result helpers for ids shown to clients. */
json_t *bk_doc_id(const char *prefix, long long id);
void bk_today(time_t now, int day_offset, char out[11]);
void bk_stamp(time_t now, char out[20]);

/* --- bank_seed.c ----------------------------------------------------- */

int bank_seed(sqlite3 *db, strbuf *err);

/* --- bank_ops.c: personal service ------------------------------------ */

int bk_op_profile(bk_call *k, json_t **res);
int bk_op_accounts(bk_call *k, json_t **res);
int bk_op_history(bk_call *k, json_t **res);
int bk_op_payees(bk_call *k, json_t **res);
int bk_op_transfer(bk_call *k, json_t **res);
int bk_op_products(bk_call *k, json_t **res);
int bk_op_buy_product(bk_call *k, json_t **res);
int bk_op_loan_apply(bk_call *k, json_t **res);
int bk_op_loan_disburse(bk_call *k, json_t **res);
int bk_op_deposit_open(bk_call *k, json_t **res);
int bk_op_manager(bk_call *k, json_t **res);
int bk_op_benefits(bk_call *k, json_t **res);
/* Moves money out of an own account (transfer and an approved payment share it). */
int bk_move_out(bk_call *k, long long from_id, const char *to_account, const char *to_name,
		const char *to_bank, long long amount, long long fee, const char *memo,
		long long *journal_id, long long *balance_after);

/* --- bank_enterprise.c ----------------------------------------------- */

int bk_op_payroll(bk_call *k, json_t **res);
int bk_op_bill_issue(bk_call *k, json_t **res);
int bk_op_fx_quote(bk_call *k, json_t **res);
int bk_op_crossborder_pay(bk_call *k, json_t **res);
int bk_op_merchant_summary(bk_call *k, json_t **res);
int bk_op_pending_payments(bk_call *k, json_t **res);
int bk_op_decide_payment(bk_call *k, json_t **res);
int bk_op_calendar(bk_call *k, json_t **res);
int bk_op_cockpit(bk_call *k, json_t **res);

#endif
