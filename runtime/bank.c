/*
 * bank: the sandbox core bank on SQLite.
 *
 * Connections. SQLite connections must not be shared between threads without
 * serialising every call, so each thread opens its own, lazily, on its first
 * call (a pthread key per bank); all of them are listed in the bank and closed
 * by bank_close, or when their thread ends. Each connection caches its
 * prepared statements by SQL text (the SQL is always a string literal).
 *
 * Calls. bank_call checks the identity against the database (the customer
 * exists, the enterprise binding and role are real), then runs the operation
 * inside one transaction: BEGIN IMMEDIATE for writes, so two writers never
 * deadlock, retried when the database stays busy past the busy timeout. A
 * read made of one SELECT runs without an explicit transaction (SQLite gives
 * the statement its own read snapshot), and a thread trusts an identity it
 * verified within the last BANK_VERIFIED_SECS until it runs a write: only the
 * seed writes customers and bindings. Account ownership is checked every
 * call. Money
 * moves need an idempotency key; the first result for (identity, key) is stored
 * in the same transaction, and a retry returns it without moving anything. The
 * same key with a different request is refused ("conflict").
 *
 * Ledger. Every movement is a journal whose postings sum to zero. The bank's
 * own accounts (clearing for other banks and external flows, fee income, loan
 * disbursement, product custody, opening equity) may go negative; a customer's
 * or enterprise's balance never does (checked here and by a CHECK constraint).
 */
#include "bank_int.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BUSY_RETRIES 20

/* --- connections ------------------------------------------------------ */

static void conn_close(bank_conn *c)
{
	for (int i = 0; i < BANK_STMT_SLOTS; i++)
		if (c->slots[i].st)
			sqlite3_finalize(c->slots[i].st);
	sqlite3_close(c->db);
	free(c);
}

/* Runs at thread exit for a thread that still holds a connection. */
static void conn_thread_end(void *p)
{
	bank_conn *c = p;
	bank *b = c->b;
	pthread_mutex_lock(&b->mu);
	for (bank_conn **pp = &b->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	pthread_mutex_unlock(&b->mu);
	conn_close(c);
}

static int conn_setup(sqlite3 *db)
{
	sqlite3_busy_timeout(db, 5000);
	return sqlite3_exec(db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
			    NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static bank_conn *conn_get(bank *b)
{
	bank_conn *c = pthread_getspecific(b->key);
	if (c)
		return c;
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(b->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    conn_setup(db) < 0) {
		sqlite3_close(db);
		return NULL;
	}
	c = xcalloc(1, sizeof *c);
	c->db = db;
	c->b = b;
	pthread_mutex_lock(&b->mu);
	c->next = b->conns;
	b->conns = c;
	pthread_mutex_unlock(&b->mu);
	pthread_setspecific(b->key, c);
	return c;
}

/* --- statements --------------------------------------------------------- */

static unsigned slot_of(const char *sql)
{
	uintptr_t h = (uintptr_t)sql;
	return (unsigned)((h >> 3) ^ (h >> 11)) % BANK_STMT_SLOTS;
}

static sqlite3_stmt *stmt_get(bank_conn *c, const char *sql)
{
	unsigned s = slot_of(sql);
	for (unsigned n = 0; n < BANK_STMT_SLOTS; n++, s = (s + 1) % BANK_STMT_SLOTS) {
		if (c->slots[s].sql == sql || (c->slots[s].sql && !strcmp(c->slots[s].sql, sql))) {
			sqlite3_reset(c->slots[s].st);
			sqlite3_clear_bindings(c->slots[s].st);
			return c->slots[s].st;
		}
		if (!c->slots[s].sql) {
			sqlite3_stmt *st = NULL;
			if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
				return NULL;
			c->slots[s].sql = sql;
			c->slots[s].st = st;
			return st;
		}
	}
	return NULL;     /* more distinct statements than slots: a programming error */
}

static sqlite3_stmt *bind_args(sqlite3_stmt *st, const char *types, va_list ap)
{
	int i = 1;
	for (const char *t = types; *t; t++, i++) {
		int rc;
		if (*t == 'i')
			rc = sqlite3_bind_int64(st, i, va_arg(ap, long long));
		else if (*t == 't')
			rc = sqlite3_bind_text(st, i, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
		else
			rc = sqlite3_bind_null(st, i);
		if (rc != SQLITE_OK)
			return NULL;
	}
	return st;
}

sqlite3_stmt *bk_q(bank_conn *c, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st = stmt_get(c, sql);
	if (!st)
		return NULL;
	va_list ap;
	va_start(ap, types);
	st = bind_args(st, types, ap);
	va_end(ap);
	return st;
}

int bk_run(bank_conn *c, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st = stmt_get(c, sql);
	if (!st)
		return -1;
	va_list ap;
	va_start(ap, types);
	st = bind_args(st, types, ap);
	va_end(ap);
	int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
	if (st)
		sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

int bk_int(bank_conn *c, long long *out, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st = stmt_get(c, sql);
	if (!st)
		return -1;
	va_list ap;
	va_start(ap, types);
	st = bind_args(st, types, ap);
	va_end(ap);
	if (!st)
		return -1;
	int rc = sqlite3_step(st), found = 0;
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		found = 1;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}

json_t *bk_text(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	return json_string(s ? (const char *)s : "");
}

json_t *bk_row(sqlite3_stmt *st)
{
	json_t *o = json_object();
	int n = sqlite3_column_count(st);
	for (int i = 0; i < n; i++) {
		json_t *v;
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_INTEGER: v = json_integer(sqlite3_column_int64(st, i)); break;
		case SQLITE_FLOAT: v = json_real(sqlite3_column_double(st, i)); break;
		case SQLITE_NULL: v = json_null(); break;
		default: v = bk_text(st, i); break;
		}
		/* column names are the ASCII aliases of our own SQL: no UTF-8 check */
		json_object_set_new_nocheck(o, sqlite3_column_name(st, i), v);
	}
	return o;
}

json_t *bk_rows(bk_call *k, sqlite3_stmt *st)
{
	if (!st) {
		bk_fail(k, "internal");
		return NULL;
	}
	json_t *a = json_array();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(a, bk_row(st));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		json_decref(a);
		bk_fail(k, rc == SQLITE_BUSY ? "busy" : "internal");
		return NULL;
	}
	return a;
}

json_t *bk_one(bk_call *k, sqlite3_stmt *st)
{
	if (!st) {
		bk_fail(k, "internal");
		return NULL;
	}
	int rc = sqlite3_step(st);
	json_t *o = rc == SQLITE_ROW ? bk_row(st) : NULL;
	sqlite3_reset(st);
	if (!o)
		bk_fail(k, rc == SQLITE_DONE ? "not_found" : rc == SQLITE_BUSY ? "busy" : "internal");
	return o;
}

int bk_fail(bk_call *k, const char *code)
{
	if (!k->code)
		k->code = code;
	return -1;
}

/* --- time and ids --------------------------------------------------------- */

void bk_today(time_t now, int day_offset, char out[11])
{
	time_t t = now + BANK_UTC_OFFSET + (time_t)day_offset * 86400;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

void bk_stamp(time_t now, char out[20])
{
	time_t t = now + BANK_UTC_OFFSET;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm);
}

json_t *bk_doc_id(const char *prefix, long long id)
{
	char buf[48];
	snprintf(buf, sizeof buf, "%s%06lld", prefix, id);
	return json_string(buf);
}

/* --- arguments -------------------------------------------------------- */

json_t *bk_arg(bk_call *k, size_t i)
{
	return json_array_get(k->args, i);   /* NULL past the end */
}

int bk_arg_obj(bk_call *k, json_t **obj)
{
	*obj = bk_arg(k, 0);
	return json_is_object(*obj) ? 0 : bk_fail(k, "bad_argument");
}

int bk_get_amount(bk_call *k, json_t *v, long long *out)
{
	if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
	    json_integer_value(v) > 1000000000000000LL)   /* 10^13 yuan: beyond any real amount */
		return bk_fail(k, "bad_argument");
	*out = json_integer_value(v);
	return 0;
}

int bk_get_id(bk_call *k, json_t *v, long long *out)
{
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		*out = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return bk_fail(k, "bad_argument");
	const char *s = json_string_value(v);
	while (*s >= 'A' && *s <= 'Z')         /* document prefix such as "TR" */
		s++;
	if (!*s || strlen(s) > 18 || strspn(s, "0123456789") != strlen(s))
		return bk_fail(k, "bad_argument");
	*out = atoll(s);
	return *out > 0 ? 0 : bk_fail(k, "bad_argument");
}

int bk_get_str(bk_call *k, json_t *v, size_t max, bool required, const char **out)
{
	if (!v || json_is_null(v)) {
		*out = "";
		return required ? bk_fail(k, "bad_argument") : 0;
	}
	if (!json_is_string(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return bk_fail(k, "bad_argument");
	*out = json_string_value(v);
	return required && !**out ? bk_fail(k, "bad_argument") : 0;
}

int bk_own_account(bk_call *k, json_t *ref, long long *id, char *currency)
{
	static const char by_number[] = "SELECT id FROM accounts WHERE number = ?";
	static const char sql[] = "SELECT owner_kind, owner_id, currency FROM accounts WHERE id = ?";
	long long acct = 0;
	if (json_is_string(ref) && json_string_length(ref) >= 12) {
		if (bk_int(k->c, &acct, by_number, "t", json_string_value(ref)) < 0)
			return bk_fail(k, "internal");
	}
	if (!acct && bk_get_id(k, ref, &acct) < 0)
		return -1;
	sqlite3_stmt *st = bk_q(k->c, sql, "i", acct);
	if (!st)
		return bk_fail(k, "internal");
	int rc = sqlite3_step(st), ok = 0;
	if (rc == SQLITE_ROW) {
		ok = !strcmp((const char *)sqlite3_column_text(st, 0), k->owner_kind) &&
		     sqlite3_column_int64(st, 1) == k->owner_id;
		if (currency)
			snprintf(currency, 4, "%s", (const char *)sqlite3_column_text(st, 2));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return bk_fail(k, rc == SQLITE_DONE ? "not_found" : "internal");
	if (!ok)
		return bk_fail(k, "forbidden");
	*id = acct;
	return 0;
}

int bk_own_source(bk_call *k, json_t *ref, long long *id, char *currency)
{
	static const char sql[] = "SELECT kind = 'deposit' FROM accounts WHERE id = ?";
	long long is_deposit = 1;
	if (bk_own_account(k, ref, id, currency) < 0)
		return -1;
	if (bk_int(k->c, &is_deposit, sql, "i", *id) != 1)
		return bk_fail(k, "internal");
	return is_deposit ? bk_fail(k, "bad_argument") : 0;
}

/* --- ledger ------------------------------------------------------------- */

static int post_leg(bk_call *k, long long journal, const bk_leg *leg, const char *memo)
{
	static const char upd[] =
		"UPDATE accounts SET balance = balance + ?1 WHERE id = ?2 RETURNING balance, owner_kind";
	static const char ins[] =
		"INSERT INTO postings (journal_id, account_id, amount, balance_after, counterparty, memo) "
		"VALUES (?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *st = bk_q(k->c, upd, "ii", leg->amount, leg->account_id);
	if (!st)
		return bk_fail(k, "internal");
	int rc = sqlite3_step(st);
	long long after = 0;
	bool bank_side = false;
	if (rc == SQLITE_ROW) {
		after = sqlite3_column_int64(st, 0);
		bank_side = !strcmp((const char *)sqlite3_column_text(st, 1), "bank");
	}
	int ext = sqlite3_extended_errcode(k->c->db);
	sqlite3_reset(st);
	if (rc == SQLITE_CONSTRAINT || ext == SQLITE_CONSTRAINT_CHECK)
		return bk_fail(k, "insufficient_funds");
	if (rc != SQLITE_ROW)
		return bk_fail(k, rc == SQLITE_BUSY ? "busy" : "internal");
	if (after < 0 && !bank_side)
		return bk_fail(k, "insufficient_funds");
	if (bk_run(k->c, ins, "iiiitt", journal, leg->account_id, leg->amount, after,
		   leg->counterparty ? leg->counterparty : "", memo) < 0)
		return bk_fail(k, "internal");
	return 0;
}

int bk_post(bk_call *k, const char *kind, const char *memo, const bk_leg *legs, int n,
	    long long *journal_id)
{
	static const char ins[] =
		"INSERT INTO journals (at, kind, memo, scope, idem_key) VALUES (?, ?, ?, ?, ?) RETURNING id";
	long long sum = 0;
	for (int i = 0; i < n; i++) {
		if (legs[i].amount == 0)
			return bk_fail(k, "bad_argument");
		sum += legs[i].amount;
	}
	if (sum != 0 || n < 2)
		return bk_fail(k, "internal");
	char at[20];
	bk_stamp(k->now, at);
	long long jid = 0;
	int rc = k->idem_key ? bk_int(k->c, &jid, ins, "ttttt", at, kind, memo, k->scope, k->idem_key)
			     : bk_int(k->c, &jid, ins, "tttnn", at, kind, memo);
	if (rc <= 0)
		return bk_fail(k, "internal");
	for (int i = 0; i < n; i++)
		if (post_leg(k, jid, &legs[i], memo) < 0)
			return -1;
	if (journal_id)
		*journal_id = jid;
	return 0;
}

/* --- open and close ------------------------------------------------------- */

static int bank_load_accounts(bank *b, sqlite3 *db)
{
	static const struct { const char *number; size_t off; } sys[] = {
		{ "9558000000000000001", offsetof(bank, acct_clearing) },
		{ "9558000000000000002", offsetof(bank, acct_fees) },
		{ "9558000000000000003", offsetof(bank, acct_loans) },
		{ "9558000000000000004", offsetof(bank, acct_custody) },
		{ "9558000000000000009", offsetof(bank, acct_equity) },
	};
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT id FROM accounts WHERE number = ? AND owner_kind = 'bank'",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	int ok = 0;
	for (size_t i = 0; i < sizeof sys / sizeof sys[0]; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, sys[i].number, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW) {
			ok = -1;
			break;
		}
		*(long long *)((char *)b + sys[i].off) = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return ok;
}

static int user_version(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int v = -1;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Creates and seeds a new database in one transaction; another process that
 * seeded first wins and this one finds user_version already set. */
static int bank_prepare(sqlite3 *db, strbuf *err)
{
	if (sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		strbuf_addf(err, "cannot open the bank database: %s", sqlite3_errmsg(db));
		return -1;
	}
	int v = user_version(db);
	if (v == 0 && bank_seed(db, err) < 0) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (v > BANK_SCHEMA_VERSION || v < 0) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		strbuf_addf(err, "unsupported bank schema version %d", v);
		return -1;
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		strbuf_addf(err, "cannot commit the bank seed: %s", sqlite3_errmsg(db));
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

int bank_open(const char *data_dir, bank **out, strbuf *err)
{
	if (sodium_init() < 0) {
		strbuf_adds(err, "cannot initialise libsodium");
		return -1;
	}
	if (mkdir(data_dir, 0700) < 0 && errno != EEXIST) {
		strbuf_addf(err, "cannot create '%s': %s", data_dir, strerror(errno));
		return -1;
	}
	bank *b = xcalloc(1, sizeof *b);
	strbuf path = STRBUF_INIT;
	strbuf_addf(&path, "%s/bank.sqlite", data_dir);
	b->path = strbuf_detach(&path, NULL);
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(b->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				 SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK || conn_setup(db) < 0) {
		strbuf_addf(err, "cannot open '%s': %s", b->path, db ? sqlite3_errmsg(db) : "out of memory");
		goto fail;
	}
	if (bank_prepare(db, err) < 0)
		goto fail;
	if (bank_load_accounts(b, db) < 0) {
		strbuf_addf(err, "'%s' lacks the bank's own accounts", b->path);
		goto fail;
	}
	sqlite3_close(db);
	pthread_mutex_init(&b->mu, NULL);
	pthread_key_create(&b->key, conn_thread_end);
	*out = b;
	return 0;
fail:
	sqlite3_close(db);
	free(b->path);
	free(b);
	return -1;
}

void bank_close(bank *b)
{
	if (!b)
		return;
	pthread_key_delete(b->key);
	pthread_mutex_lock(&b->mu);
	bank_conn *c = b->conns;
	b->conns = NULL;
	pthread_mutex_unlock(&b->mu);
	while (c) {
		bank_conn *next = c->next;
		conn_close(c);
		c = next;
	}
	pthread_mutex_destroy(&b->mu);
	free(b->path);
	free(b);
}

/* --- customers ------------------------------------------------------------ */

static int customer_row(sqlite3_stmt *st, bank_customer *out)
{
	memset(out, 0, sizeof *out);
	out->id = sqlite3_column_int64(st, 0);
	snprintf(out->username, sizeof out->username, "%s", (const char *)sqlite3_column_text(st, 1));
	snprintf(out->name, sizeof out->name, "%s", (const char *)sqlite3_column_text(st, 2));
	snprintf(out->tier, sizeof out->tier, "%s", (const char *)sqlite3_column_text(st, 3));
	snprintf(out->preference, sizeof out->preference, "%s", (const char *)sqlite3_column_text(st, 4));
	snprintf(out->locale, sizeof out->locale, "%s", (const char *)sqlite3_column_text(st, 5));
	return 0;
}

int bank_authenticate(bank *b, const char *username, const char *password, bank_customer *out)
{
	static const char sql[] =
		"SELECT id, username, name, tier, preference, locale, pwhash FROM customers WHERE username = ?";
	static const char any[] = "SELECT pwhash FROM customers ORDER BY id LIMIT 1";
	memset(out, 0, sizeof *out);
	bank_conn *c = conn_get(b);
	if (!c || !username || !password || strlen(username) > 64 || strlen(password) > 256)
		return -1;
	sqlite3_stmt *st = bk_q(c, sql, "t", username);
	if (!st)
		return -1;
	char hash[crypto_pwhash_STRBYTES] = "";
	bool found = sqlite3_step(st) == SQLITE_ROW;
	if (found) {
		customer_row(st, out);
		snprintf(hash, sizeof hash, "%s", (const char *)sqlite3_column_text(st, 6));
	}
	sqlite3_reset(st);
	if (!found) {
		/* spend the same time on an unknown name, so timing does not tell names apart */
		st = bk_q(c, any, "");
		if (st && sqlite3_step(st) == SQLITE_ROW)
			snprintf(hash, sizeof hash, "%s", (const char *)sqlite3_column_text(st, 0));
		if (st)
			sqlite3_reset(st);
	}
	int ok = hash[0] && crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
	if (!found || !ok) {
		memset(out, 0, sizeof *out);
		return -1;
	}
	return 0;
}

int bank_customer_get(bank *b, long long id, bank_customer *out)
{
	static const char sql[] =
		"SELECT id, username, name, tier, preference, locale FROM customers WHERE id = ?";
	bank_conn *c = conn_get(b);
	sqlite3_stmt *st = c ? bk_q(c, sql, "i", id) : NULL;
	if (!st)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		customer_row(st, out);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int bank_bindings(bank *b, long long customer_id, bank_binding *out, int max)
{
	static const char sql[] =
		"SELECT e.id, e.name, bi.role FROM bindings bi JOIN enterprises e ON e.id = bi.enterprise_id "
		"WHERE bi.customer_id = ? ORDER BY e.id";
	bank_conn *c = conn_get(b);
	sqlite3_stmt *st = c ? bk_q(c, sql, "i", customer_id) : NULL;
	if (!st)
		return 0;
	int n = 0;
	while (n < max && sqlite3_step(st) == SQLITE_ROW) {
		memset(&out[n], 0, sizeof out[n]);
		out[n].enterprise_id = sqlite3_column_int64(st, 0);
		snprintf(out[n].enterprise_name, sizeof out[n].enterprise_name, "%s",
			 (const char *)sqlite3_column_text(st, 1));
		snprintf(out[n].role, sizeof out[n].role, "%s", (const char *)sqlite3_column_text(st, 2));
		n++;
	}
	sqlite3_reset(st);
	return n;
}

/* --- dispatch ------------------------------------------------------------- */

/* OP_SINGLE: the operation reads with one SELECT and needs no transaction. */
enum { OP_WRITE = 1, OP_KEYED = 2, OP_ENTERPRISE = 4, OP_SINGLE = 8 };

static const struct bank_op {
	const char *name;
	int (*fn)(bk_call *k, json_t **res);
	int flags;
} bank_ops[] = {
	{ "profile", bk_op_profile, OP_SINGLE },
	{ "accounts", bk_op_accounts, OP_SINGLE },
	{ "history", bk_op_history, 0 },
	{ "payees", bk_op_payees, OP_SINGLE },
	{ "transfer", bk_op_transfer, OP_WRITE | OP_KEYED },
	{ "products", bk_op_products, OP_SINGLE },
	{ "buy_product", bk_op_buy_product, OP_WRITE | OP_KEYED },
	{ "loan_apply", bk_op_loan_apply, OP_WRITE | OP_KEYED },
	{ "loan_disburse", bk_op_loan_disburse, OP_WRITE },
	{ "deposit_open", bk_op_deposit_open, OP_WRITE | OP_KEYED },
	{ "payroll", bk_op_payroll, OP_WRITE | OP_KEYED | OP_ENTERPRISE },
	{ "bill_issue", bk_op_bill_issue, OP_WRITE | OP_KEYED | OP_ENTERPRISE },
	{ "fx_quote", bk_op_fx_quote, OP_WRITE },
	{ "crossborder_pay", bk_op_crossborder_pay, OP_WRITE | OP_KEYED | OP_ENTERPRISE },
	{ "merchant_summary", bk_op_merchant_summary, OP_ENTERPRISE },
	{ "pending_payments", bk_op_pending_payments, OP_ENTERPRISE },
	{ "decide_payment", bk_op_decide_payment, OP_WRITE | OP_ENTERPRISE },
	{ "calendar", bk_op_calendar, 0 },
	{ "cockpit", bk_op_cockpit, OP_ENTERPRISE },
	{ "manager", bk_op_manager, OP_SINGLE },
	{ "benefits", bk_op_benefits, OP_SINGLE },
};

static const struct bank_op *op_find(const char *name)
{
	for (size_t i = 0; i < sizeof bank_ops / sizeof bank_ops[0]; i++)
		if (!strcmp(bank_ops[i].name, name))
			return &bank_ops[i];
	return NULL;
}

static bool identity_same(const bank_identity *a, const bank_identity *b)
{
	return a->customer_id == b->customer_id && a->enterprise_id == b->enterprise_id &&
	       !strncmp(a->role, b->role, sizeof a->role);
}

/* Whether this thread verified the identity lately. */
static bool identity_cached(bk_call *k)
{
	bank_conn *c = k->c;
	for (int i = 0; i < BANK_VERIFIED_SLOTS; i++) {
		if (c->verified[i].at == 0 || !identity_same(&c->verified[i].who, k->who))
			continue;
		if (k->now >= c->verified[i].at && k->now - c->verified[i].at < BANK_VERIFIED_SECS)
			return true;
		c->verified[i].at = 0;
	}
	return false;
}

static void identity_remember(bk_call *k)
{
	bank_conn *c = k->c;
	c->verified[c->verified_next].who = *k->who;
	c->verified[c->verified_next].at = k->now;
	c->verified_next = (c->verified_next + 1) % BANK_VERIFIED_SLOTS;
}

static void identity_forget(bank_conn *c)
{
	for (int i = 0; i < BANK_VERIFIED_SLOTS; i++)
		c->verified[i].at = 0;
}

/* The identity must be real: the customer exists and, in enterprise service,
 * is bound to the enterprise with the role claimed. */
static int identity_check(bk_call *k)
{
	static const char cust[] = "SELECT 1 FROM customers WHERE id = ?";
	static const char bind[] = "SELECT 1 FROM bindings WHERE customer_id = ? AND enterprise_id = ? AND role = ?";
	const bank_identity *w = k->who;
	long long one;
	bool known = w->customer_id > 0 && identity_cached(k);
	if (!known && (w->customer_id <= 0 || bk_int(k->c, &one, cust, "i", w->customer_id) != 1))
		return bk_fail(k, "forbidden");
	if (w->enterprise_id == 0) {
		k->owner_kind = "customer";
		k->owner_id = w->customer_id;
		snprintf(k->scope, sizeof k->scope, "c%lld", w->customer_id);
		if (!known)
			identity_remember(k);
		return 0;
	}
	if (!known && bk_int(k->c, &one, bind, "iit", w->customer_id, w->enterprise_id, w->role) != 1)
		return bk_fail(k, "forbidden");
	k->owner_kind = "enterprise";
	k->owner_id = w->enterprise_id;
	snprintf(k->scope, sizeof k->scope, "e%lld/c%lld", w->enterprise_id, w->customer_id);
	if (!known)
		identity_remember(k);
	return 0;
}

/* 1 and *res when the key already has a result; 0 when new; -1 on error. */
static int idem_lookup(bk_call *k, const struct bank_op *op, const char *request, json_t **res)
{
	static const char sql[] = "SELECT op, request, result FROM idempotency WHERE scope = ? AND key = ?";
	sqlite3_stmt *st = bk_q(k->c, sql, "tt", k->scope, k->idem_key);
	if (!st)
		return bk_fail(k, "internal");
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? 0 : bk_fail(k, rc == SQLITE_BUSY ? "busy" : "internal");
	}
	bool same = !strcmp((const char *)sqlite3_column_text(st, 0), op->name) &&
		    !strcmp((const char *)sqlite3_column_text(st, 1), request);
	*res = same ? json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL) : NULL;
	sqlite3_reset(st);
	if (!same)
		return bk_fail(k, "conflict");
	return *res ? 1 : bk_fail(k, "internal");
}

static int idem_store(bk_call *k, const struct bank_op *op, const char *request, json_t *res)
{
	static const char sql[] =
		"INSERT INTO idempotency (scope, key, op, request, result, at) VALUES (?, ?, ?, ?, ?, ?)";
	char *text = json_dumps(res, JSON_COMPACT | JSON_SORT_KEYS);
	char at[20];
	bk_stamp(k->now, at);
	int rc = text ? bk_run(k->c, sql, "tttttt", k->scope, k->idem_key, op->name, request, text, at) : -1;
	free(text);
	return rc < 0 ? bk_fail(k, "internal") : 0;
}

/* The key of a money move, and the request text a retry must match. */
static int idem_prepare(bk_call *k, char **request)
{
	json_t *obj = json_array_get(k->args, 0);
	json_t *key = json_object_get(obj, "key");
	if (!json_is_object(obj) || !json_is_string(key) || json_string_length(key) == 0 ||
	    json_string_length(key) > 128)
		return bk_fail(k, "bad_argument");
	k->idem_key = json_string_value(key);
	*request = json_dumps(k->args, JSON_COMPACT | JSON_SORT_KEYS);
	return *request ? 0 : bk_fail(k, "internal");
}

/* Transaction control goes through the statement cache too: no parsing per call. */
static const char sql_begin[] = "BEGIN", sql_begin_write[] = "BEGIN IMMEDIATE";
static const char sql_commit[] = "COMMIT", sql_rollback[] = "ROLLBACK";

static int call_once(bk_call *k, const struct bank_op *op, const char *request, json_t **res)
{
	bool txn = !(op->flags & OP_SINGLE);
	if (op->flags & OP_WRITE)
		identity_forget(k->c);
	if (txn && bk_run(k->c, op->flags & OP_WRITE ? sql_begin_write : sql_begin, "") < 0)
		return bk_fail(k, "busy");
	int rc = identity_check(k);
	if (rc == 0 && (op->flags & OP_ENTERPRISE) && k->who->enterprise_id == 0)
		rc = bk_fail(k, "forbidden");
	int found = 0;
	if (rc == 0 && request) {
		found = idem_lookup(k, op, request, res);
		rc = found < 0 ? -1 : 0;
	}
	if (rc == 0 && !found) {
		rc = op->fn(k, res);
		if (rc == 0 && request)
			rc = idem_store(k, op, request, *res);
	}
	if (rc == 0 && txn && bk_run(k->c, sql_commit, "") < 0)
		rc = bk_fail(k, "busy");
	if (rc != 0) {
		if (!k->code)
			k->code = "internal";
		if (!sqlite3_get_autocommit(k->c->db))
			bk_run(k->c, sql_rollback, "");
		json_decref(*res);
		*res = NULL;
	}
	return rc;
}

int bank_call(bank *b, const bank_identity *who, const char *op_name, json_t *args,
	      json_t **result, strbuf *err)
{
	*result = NULL;
	const struct bank_op *op = op_name ? op_find(op_name) : NULL;
	if (!op || !who || (args && !json_is_array(args))) {
		strbuf_adds(err, op ? "bad_argument" : "not_found");
		return -1;
	}
	json_t *empty = args ? NULL : json_array();
	bk_call k = { .b = b, .c = conn_get(b), .who = who, .args = args ? args : empty };
	char *request = NULL;
	int rc = k.c ? 0 : bk_fail(&k, "unavailable");
	if (rc == 0 && (op->flags & OP_KEYED))
		rc = idem_prepare(&k, &request);
	for (int attempt = 0; rc == 0 && attempt < BUSY_RETRIES; attempt++) {
		k.code = NULL;
		k.now = time(NULL);
		rc = call_once(&k, op, request, result);
		if (rc == 0 || strcmp(k.code, "busy"))
			break;
		usleep(1000u * (unsigned)(1 + attempt));
		rc = 0;
		k.code = "unavailable";
	}
	free(request);
	json_decref(empty);
	if (rc != 0 || !*result) {
		strbuf_adds(err, k.code && strcmp(k.code, "busy") ? k.code : "unavailable");
		json_decref(*result);
		*result = NULL;
		return -1;
	}
	return 0;
}

/* --- audit ---------------------------------------------------------------- */

int bank_audit(bank *b, long long *postings_sum, long long *balances_sum)
{
	static const char sums[] =
		"SELECT (SELECT COALESCE(SUM(amount), 0) FROM postings), "
		"(SELECT COALESCE(SUM(balance), 0) FROM accounts WHERE owner_kind <> 'bank')";
	static const char broken[] =
		"SELECT (SELECT COUNT(*) FROM (SELECT journal_id FROM postings GROUP BY journal_id "
		"HAVING SUM(amount) <> 0)) + (SELECT COUNT(*) FROM accounts a WHERE a.balance <> "
		"(SELECT COALESCE(SUM(amount), 0) FROM postings p WHERE p.account_id = a.id)) + "
		"(SELECT COUNT(*) FROM accounts WHERE balance < 0 AND owner_kind <> 'bank')";
	bank_conn *c = conn_get(b);
	if (!c || bk_run(c, sql_begin, "") < 0)
		return -1;
	sqlite3_stmt *st = bk_q(c, sums, "");
	int ok = st && sqlite3_step(st) == SQLITE_ROW;
	if (ok) {
		*postings_sum = sqlite3_column_int64(st, 0);
		*balances_sum = sqlite3_column_int64(st, 1);
	}
	if (st)
		sqlite3_reset(st);
	long long bad = 1;
	if (ok && bk_int(c, &bad, broken, "") != 1)
		bad = 1;
	bk_run(c, sql_commit, "");
	return ok && bad == 0 ? 0 : -1;
}
