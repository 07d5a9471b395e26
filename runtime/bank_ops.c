/*
 * bank_ops: the operations every identity has (personal service, and the same
 * ones in enterprise service, where "own" means the enterprise's).
 *
 * Each operation runs inside the transaction bank_call opened, reads its
 * arguments from k->args (a JSON array: the Lua call's arguments), and checks
 * every account it touches against the identity (bk_own_account). Ids shown
 * to clients are strings: account ids are decimal ("12"), document ids carry a
 * prefix ("TR000042"); both forms are accepted back. Rows become JSON through
 * their SQL column aliases (bk_row), so each query reads as the shape it gives.
 */
#include "bank_int.h"

#include <stdio.h>
#include <string.h>

/* --- reads ----------------------------------------------------------------- */

int bk_op_profile(bk_call *k, json_t **res)
{
	static const char personal[] =
		"SELECT name, tier, age, risk_level, credit_score, monthly_income, preference, tags "
		"FROM customers WHERE id = ?";
	static const char enterprise[] =
		"SELECT c.name AS name, e.name AS enterprise_name, b.role AS role, c.tier AS tier "
		"FROM customers c JOIN bindings b ON b.customer_id = c.id "
		"JOIN enterprises e ON e.id = b.enterprise_id WHERE c.id = ? AND e.id = ?";
	if (k->who->enterprise_id) {
		*res = bk_one(k, bk_q(k->c, enterprise, "ii", k->who->customer_id, k->who->enterprise_id));
		return *res ? 0 : -1;
	}
	*res = bk_one(k, bk_q(k->c, personal, "i", k->who->customer_id));
	if (!*res)
		return -1;
	json_t *tags = json_loads(json_string_value(json_object_get(*res, "tags")), 0, NULL);
	json_object_set_new(*res, "tags", tags ? tags : json_array());
	return 0;
}

int bk_op_accounts(bk_call *k, json_t **res)
{
	static const char sql[] =
		"SELECT CAST(id AS TEXT) AS id, number, name, kind, currency, balance FROM accounts "
		"WHERE owner_kind = ? AND owner_id = ? ORDER BY accounts.id";   /* the index's own order: no sort */
	*res = bk_rows(k, bk_q(k->c, sql, "ti", k->owner_kind, k->owner_id));
	return *res ? 0 : -1;
}

static int opt_int(bk_call *k, json_t *v, long long dflt, long long lo, long long hi, long long *out)
{
	if (!v || json_is_null(v)) {
		*out = dflt;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return bk_fail(k, "bad_argument");
	*out = json_integer_value(v);
	return 0;
}

int bk_op_history(bk_call *k, json_t **res)
{
	static const char count[] = "SELECT COUNT(*) FROM postings WHERE account_id = ?";
	static const char sql[] =
		"SELECT printf('P%06d', p.id) AS id, j.at AS at, p.amount AS amount, "
		"p.balance_after AS balance_after, p.memo AS memo, p.counterparty AS counterparty "
		"FROM postings p JOIN journals j ON j.id = p.journal_id WHERE p.account_id = ? "
		"ORDER BY p.id DESC LIMIT ? OFFSET ?";
	long long acct, page, size, total = 0;
	if (bk_own_account(k, bk_arg(k, 0), &acct, NULL) < 0 ||
	    opt_int(k, bk_arg(k, 1), 1, 1, 1000000, &page) < 0 ||
	    opt_int(k, bk_arg(k, 2), 20, 1, 100, &size) < 0)
		return -1;
	if (bk_int(k->c, &total, count, "i", acct) < 0)
		return bk_fail(k, "internal");
	json_t *items = bk_rows(k, bk_q(k->c, sql, "iii", acct, size, (page - 1) * size));
	if (!items)
		return -1;
	*res = json_pack("{s:o,s:I,s:I,s:I,s:I}", "items", items, "page", (json_int_t)page,
			 "pages", (json_int_t)((total + size - 1) / size), "total", (json_int_t)total,
			 "page_size", (json_int_t)size);
	return 0;
}

int bk_op_payees(bk_call *k, json_t **res)
{
	static const char sql[] =
		"SELECT CAST(id AS TEXT) AS id, name, account_number, bank_name, "
		"json(CASE own_bank WHEN 1 THEN 'true' ELSE 'false' END) AS own_bank "
		"FROM payees WHERE owner_kind = ? AND owner_id = ? ORDER BY payees.id";
	*res = bk_rows(k, bk_q(k->c, sql, "ti", k->owner_kind, k->owner_id));
	if (!*res)
		return -1;
	size_t i;
	json_t *p;
	json_array_foreach(*res, i, p) {
		const char *own = json_string_value(json_object_get(p, "own_bank"));
		json_object_set_new(p, "own_bank", json_boolean(own && !strcmp(own, "true")));
	}
	return 0;
}

int bk_op_manager(bk_call *k, json_t **res)
{
	/* customers without a dedicated manager are served by the branch's personal desk (id 3) */
	static const char personal[] =
		"SELECT m.name AS name, m.phone AS phone, m.title AS title FROM managers m "
		"WHERE m.id = COALESCE((SELECT manager_id FROM customers WHERE id = ?), 3)";
	static const char enterprise[] =
		"SELECT m.name AS name, m.phone AS phone, m.title AS title FROM managers m "
		"JOIN enterprises e ON e.manager_id = m.id WHERE e.id = ?";
	*res = k->who->enterprise_id ? bk_one(k, bk_q(k->c, enterprise, "i", k->owner_id))
				     : bk_one(k, bk_q(k->c, personal, "i", k->owner_id));
	return *res ? 0 : -1;
}

int bk_op_benefits(bk_call *k, json_t **res)
{
	static const char sql[] =
		"SELECT code AS id, name, used, quota FROM benefits WHERE customer_id = ? ORDER BY id";
	if (k->who->enterprise_id) {
		*res = json_array();
		return 0;
	}
	*res = bk_rows(k, bk_q(k->c, sql, "i", k->who->customer_id));
	return *res ? 0 : -1;
}

/* --- products -------------------------------------------------------------- */

/* args[0]: the edition's products (the runtime passes them from the pack); each
 * comes back with the identity's holding. Without them: the holdings alone. */
int bk_op_products(bk_call *k, json_t **res)
{
	static const char sql[] =
		"SELECT product_id AS id, amount AS holding FROM holdings "
		"WHERE owner_kind = ? AND owner_id = ? AND amount > 0 ORDER BY product_id";
	json_t *held = bk_rows(k, bk_q(k->c, sql, "ti", k->owner_kind, k->owner_id));
	json_t *catalogue = bk_arg(k, 0);
	if (!held || !json_is_array(catalogue)) {
		*res = held;
		return held ? 0 : -1;
	}
	*res = json_array();
	size_t i, j;
	json_t *p, *h;
	json_array_foreach(catalogue, i, p) {
		const char *id = json_string_value(json_object_get(p, "id"));
		if (!json_is_object(p) || !id)
			continue;
		json_t *copy = json_copy(p), *amount = NULL;    /* shallow: only "holding" is added */
		json_array_foreach(held, j, h)
			if (!strcmp(json_string_value(json_object_get(h, "id")), id))
				amount = json_object_get(h, "holding");
		json_object_set_new(copy, "holding", amount ? json_incref(amount) : json_integer(0));
		json_array_append_new(*res, copy);
	}
	json_decref(held);
	return 0;
}

static int product_id_arg(bk_call *k, json_t *v, const char **out)
{
	if (bk_get_str(k, v, 64, true, out) < 0)
		return -1;
	if (strspn(*out, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != strlen(*out))
		return bk_fail(k, "bad_argument");
	return 0;
}

static int holding_add(bk_call *k, const char *product_id, long long amount)
{
	static const char sql[] =
		"INSERT INTO holdings (owner_kind, owner_id, product_id, amount) VALUES (?, ?, ?, ?) "
		"ON CONFLICT (owner_kind, owner_id, product_id) DO UPDATE SET amount = amount + excluded.amount";
	return bk_run(k->c, sql, "titi", k->owner_kind, k->owner_id, product_id, amount) < 0
		? bk_fail(k, "internal") : 0;
}

int bk_op_buy_product(bk_call *k, json_t **res)
{
	static const char ins[] =
		"INSERT INTO orders (owner_kind, owner_id, product_id, amount, account_id, journal_id, status, at) "
		"VALUES (?, ?, ?, ?, ?, ?, 'done', ?) RETURNING id";
	json_t *a;
	const char *product;
	long long amount, from, jid, order;
	if (bk_arg_obj(k, &a) < 0 || product_id_arg(k, json_object_get(a, "product_id"), &product) < 0 ||
	    bk_get_amount(k, json_object_get(a, "amount"), &amount) < 0 ||
	    bk_own_source(k, json_object_get(a, "from"), &from, NULL) < 0)
		return -1;
	bk_leg legs[2] = { { from, -amount, product }, { k->b->acct_custody, amount, "" } };
	if (bk_post(k, "product_buy", "理财购买", legs, 2, &jid) < 0 || holding_add(k, product, amount) < 0)
		return -1;
	char at[20];
	bk_stamp(k->now, at);
	if (bk_int(k->c, &order, ins, "titiiit", k->owner_kind, k->owner_id, product, amount, from, jid, at) != 1)
		return bk_fail(k, "internal");
	*res = json_pack("{s:o,s:s,s:I}", "order_id", bk_doc_id("OD", order), "status", "done",
			 "amount", (json_int_t)amount);
	return 0;
}

/* --- loans ------------------------------------------------------------------- */

int bk_op_loan_apply(bk_call *k, json_t **res)
{
	static const char ins[] =
		"INSERT INTO loan_applications (owner_kind, owner_id, product_id, amount, term_months, rate_bp,"
		" status, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";
	json_t *a;
	const char *product, *decision;
	long long amount, term, rate, id;
	if (bk_arg_obj(k, &a) < 0 || product_id_arg(k, json_object_get(a, "product_id"), &product) < 0 ||
	    bk_get_amount(k, json_object_get(a, "amount"), &amount) < 0 ||
	    opt_int(k, json_object_get(a, "term_months"), 12, 1, 360, &term) < 0 ||
	    opt_int(k, json_object_get(a, "rate_bp"), 0, 0, 3600, &rate) < 0 ||
	    bk_get_str(k, json_object_get(a, "decision"), 16, true, &decision) < 0)
		return -1;
	if (strcmp(decision, "approved") && strcmp(decision, "declined") && strcmp(decision, "referred"))
		return bk_fail(k, "bad_argument");
	char at[20];
	bk_stamp(k->now, at);
	if (bk_int(k->c, &id, ins, "titiiitt", k->owner_kind, k->owner_id, product, amount, term, rate,
		   decision, at) != 1)
		return bk_fail(k, "internal");
	*res = json_pack("{s:o,s:s}", "application_id", bk_doc_id("LA", id), "status", decision);
	return 0;
}

static int loan_schedule(bk_call *k, long long amount, long long term, long long rate)
{
	static const char sql[] =
		"INSERT INTO scheduled_items (owner_kind, owner_id, date, kind, title, amount) "
		"VALUES (?, ?, ?, 'loan', ?, ?)";
	char due[11];
	bk_today(k->now, 30, due);
	long long first = amount / term + amount * rate / 10000 / 12;
	return bk_run(k->c, sql, "titti", k->owner_kind, k->owner_id, due, "贷款 首期还款", first) < 0
		? bk_fail(k, "internal") : 0;
}

int bk_op_loan_disburse(bk_call *k, json_t **res)
{
	static const char sel[] =
		"SELECT owner_kind, owner_id, amount, status, term_months, rate_bp, COALESCE(account_id, 0) "
		"FROM loan_applications WHERE id = ?";
	static const char upd[] =
		"UPDATE loan_applications SET status = 'disbursed', account_id = ?, journal_id = ? WHERE id = ?";
	long long app, acct;
	if (bk_get_id(k, bk_arg(k, 0), &app) < 0 || bk_own_account(k, bk_arg(k, 1), &acct, NULL) < 0)
		return -1;
	sqlite3_stmt *st = bk_q(k->c, sel, "i", app);
	if (!st)
		return bk_fail(k, "internal");
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return bk_fail(k, "not_found");
	}
	bool mine = !strcmp((const char *)sqlite3_column_text(st, 0), k->owner_kind) &&
		    sqlite3_column_int64(st, 1) == k->owner_id;
	long long amount = sqlite3_column_int64(st, 2), term = sqlite3_column_int64(st, 4);
	long long rate = sqlite3_column_int64(st, 5), paid_to = sqlite3_column_int64(st, 6);
	char status[16];
	snprintf(status, sizeof status, "%s", (const char *)sqlite3_column_text(st, 3));
	sqlite3_reset(st);
	if (!mine)
		return bk_fail(k, "forbidden");
	if (!strcmp(status, "disbursed") && paid_to == acct)   /* a retry: nothing moves again */
		goto done;
	if (strcmp(status, "approved"))
		return bk_fail(k, "conflict");
	bk_leg legs[2] = { { k->b->acct_loans, -amount, "" }, { acct, amount, "贷款发放" } };
	long long jid;
	if (bk_post(k, "loan_disburse", "贷款发放", legs, 2, &jid) < 0 ||
	    bk_run(k->c, upd, "iii", acct, jid, app) < 0 || loan_schedule(k, amount, term, rate) < 0)
		return bk_fail(k, "internal");
done:
	*res = json_pack("{s:o,s:s,s:I}", "application_id", bk_doc_id("LA", app), "status", "disbursed",
			 "amount", (json_int_t)amount);
	return 0;
}

/* --- deposits ------------------------------------------------------------------ */

static int deposit_account(bk_call *k, const char *product, long long *acct)
{
	static const char next[] = "SELECT COALESCE(MAX(id), 0) + 1 FROM accounts";
	static const char ins[] =
		"INSERT INTO accounts (id, owner_kind, owner_id, number, name, kind, currency) "
		"VALUES (?, ?, ?, ?, ?, 'deposit', 'CNY')";
	long long id;
	if (bk_int(k->c, &id, next, "") != 1)
		return bk_fail(k, "internal");
	char number[24], name[96];
	snprintf(number, sizeof number, "880%016lld", id);
	snprintf(name, sizeof name, "定期存款 %s", product);
	if (bk_run(k->c, ins, "ititt", id, k->owner_kind, k->owner_id, number, name) < 0)
		return bk_fail(k, "internal");
	*acct = id;
	return 0;
}

int bk_op_deposit_open(bk_call *k, json_t **res)
{
	static const char ins[] =
		"INSERT INTO deposits (owner_kind, owner_id, product_id, amount, account_id, term_months,"
		" start_date, maturity_date, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open') RETURNING id";
	static const char cal[] =
		"INSERT INTO scheduled_items (owner_kind, owner_id, date, kind, title, amount) "
		"VALUES (?, ?, ?, 'deposit', ?, ?)";
	json_t *a;
	const char *product;
	long long amount, from, term, dep_acct = 0, id;
	if (bk_arg_obj(k, &a) < 0 || product_id_arg(k, json_object_get(a, "product_id"), &product) < 0 ||
	    bk_get_amount(k, json_object_get(a, "amount"), &amount) < 0 ||
	    opt_int(k, json_object_get(a, "term_months"), 12, 1, 60, &term) < 0 ||
	    bk_own_source(k, json_object_get(a, "from"), &from, NULL) < 0 ||
	    deposit_account(k, product, &dep_acct) < 0)
		return -1;
	bk_leg legs[2] = { { from, -amount, "定期存款" }, { dep_acct, amount, "活期转入" } };
	if (bk_post(k, "deposit_open", "定期存款开户", legs, 2, NULL) < 0 || holding_add(k, product, amount) < 0)
		return -1;
	char start[11], maturity[11];
	bk_today(k->now, 0, start);
	bk_today(k->now, (int)(term * 365 / 12), maturity);
	if (bk_int(k->c, &id, ins, "titiiitt", k->owner_kind, k->owner_id, product, amount, dep_acct, term,
		   start, maturity) != 1 ||
	    bk_run(k->c, cal, "titti", k->owner_kind, k->owner_id, maturity, "定期存款到期", amount) < 0)
		return bk_fail(k, "internal");
	char acct_id[24];
	snprintf(acct_id, sizeof acct_id, "%lld", dep_acct);
	*res = json_pack("{s:o,s:s,s:s,s:s}", "deposit_id", bk_doc_id("DP", id), "status", "open",
			 "account_id", acct_id, "maturity_date", maturity);
	return 0;
}

/* --- transfers ------------------------------------------------------------------- */

static int owner_name(bk_call *k, char *out, size_t n)
{
	static const char cust[] = "SELECT name FROM customers WHERE id = ?";
	static const char ent[] = "SELECT name FROM enterprises WHERE id = ?";
	sqlite3_stmt *st = bk_q(k->c, k->who->enterprise_id ? ent : cust, "i", k->owner_id);
	if (!st || sqlite3_step(st) != SQLITE_ROW) {
		if (st)
			sqlite3_reset(st);
		return bk_fail(k, "internal");
	}
	snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	return 0;
}

static bool own_bank(const char *to_bank)
{
	return !*to_bank || !strcmp(to_bank, "own") || !strcmp(to_bank, BANK_NAME);
}

int bk_move_out(bk_call *k, long long from, const char *to_account, const char *to_name,
		const char *to_bank, long long amount, long long fee, const char *memo,
		long long *journal_id, long long *balance_after)
{
	static const char same_ccy[] =
		"SELECT t.id FROM accounts t JOIN accounts f ON f.id = ?2 "
		"WHERE t.number = ?1 AND t.owner_kind <> 'bank' AND t.currency = f.currency";
	static const char bal[] = "SELECT balance FROM accounts WHERE id = ?";
	long long to = k->b->acct_clearing, have = 0;
	bool internal = own_bank(to_bank);
	if (internal) {
		/* own-bank transfers credit the payee's account; currencies must match */
		int rc = bk_int(k->c, &to, same_ccy, "ti", to_account, from);
		if (rc < 0)
			return bk_fail(k, "internal");
		if (rc == 0)
			return bk_fail(k, "not_found");
		if (to == from)
			return bk_fail(k, "bad_argument");
	}
	if (bk_int(k->c, &have, bal, "i", from) != 1)
		return bk_fail(k, "internal");
	if (have < amount + fee)
		return bk_fail(k, "insufficient_funds");
	char sender[96];
	if (owner_name(k, sender, sizeof sender) < 0)
		return -1;
	bk_leg legs[3] = { { from, -(amount + fee), *to_name ? to_name : to_account },
			   { to, amount, sender }, { k->b->acct_fees, fee, sender } };
	if (bk_post(k, internal ? "transfer" : "transfer_out", *memo ? memo : "转账", legs, fee ? 3 : 2,
		    journal_id) < 0)
		return -1;
	return bk_int(k->c, balance_after, bal, "i", from) == 1 ? 0 : bk_fail(k, "internal");
}

/* Outgoing own-initiated transfers of the account today (local time). */
static int spent_today(bk_call *k, long long acct, long long *sum)
{
	static const char sql[] =
		"SELECT COALESCE(SUM(-p.amount), 0) FROM postings p JOIN journals j ON j.id = p.journal_id "
		"WHERE p.account_id = ? AND p.amount < 0 AND j.kind IN ('transfer', 'transfer_out') AND j.at >= ?";
	char today[11];
	bk_today(k->now, 0, today);     /* "2026-11-26" sorts before any stamp of that day */
	return bk_int(k->c, sum, sql, "it", acct, today) < 0 ? bk_fail(k, "internal") : 0;
}

static int pending_create(bk_call *k, long long from, const char *to_account, const char *to_name,
			  const char *to_bank, long long amount, long long fee, const char *memo,
			  json_t **res)
{
	static const char ins[] =
		"INSERT INTO pending_payments (enterprise_id, account_id, to_account, to_name, to_bank, amount,"
		" fee, memo, created_by, created_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending') "
		"RETURNING id";
	static const char bal[] = "SELECT balance FROM accounts WHERE id = ?";
	long long id, balance = 0;
	char at[20];
	bk_stamp(k->now, at);
	if (bk_int(k->c, &id, ins, "iitttiitit", k->owner_id, from, to_account, to_name, to_bank, amount, fee,
		   memo, k->who->customer_id, at) != 1 ||
	    bk_int(k->c, &balance, bal, "i", from) != 1)
		return bk_fail(k, "internal");
	*res = json_pack("{s:o,s:s,s:I,s:I}", "transfer_id", bk_doc_id("PP", id), "status", "pending_approval",
			 "fee", (json_int_t)fee, "balance_after", (json_int_t)balance);
	return 0;
}

typedef struct transfer_args {
	long long from, amount, fee, limit, daily_limit;
	const char *to_account, *to_name, *to_bank, *memo;
} transfer_args;

static int transfer_parse(bk_call *k, transfer_args *t)
{
	json_t *a;
	if (bk_arg_obj(k, &a) < 0 ||
	    bk_own_source(k, json_object_get(a, "from"), &t->from, NULL) < 0 ||
	    bk_get_str(k, json_object_get(a, "to_account"), 34, true, &t->to_account) < 0 ||
	    bk_get_str(k, json_object_get(a, "to_name"), 120, false, &t->to_name) < 0 ||
	    bk_get_str(k, json_object_get(a, "to_bank"), 120, false, &t->to_bank) < 0 ||
	    bk_get_str(k, json_object_get(a, "memo"), 240, false, &t->memo) < 0 ||
	    bk_get_amount(k, json_object_get(a, "amount"), &t->amount) < 0 ||
	    opt_int(k, json_object_get(a, "fee"), 0, 0, 100000000, &t->fee) < 0 ||
	    opt_int(k, json_object_get(a, "limit"), 0, 0, 1000000000000000LL, &t->limit) < 0 ||
	    opt_int(k, json_object_get(a, "daily_limit"), 0, 0, 1000000000000000LL, &t->daily_limit) < 0)
		return -1;
	if (strspn(t->to_account, "0123456789- ") != strlen(t->to_account))
		return bk_fail(k, "bad_argument");
	return 0;
}

int bk_op_transfer(bk_call *k, json_t **res)
{
	transfer_args t;
	long long spent = 0, jid, after;
	if (transfer_parse(k, &t) < 0)
		return -1;
	if (t.limit && t.amount > t.limit)
		return bk_fail(k, "limit_exceeded");
	if (t.daily_limit && (spent_today(k, t.from, &spent) < 0 || spent + t.amount > t.daily_limit))
		return k->code ? -1 : bk_fail(k, "limit_exceeded");
	if (k->who->enterprise_id && !strcmp(k->who->role, "operator") && t.amount > BANK_APPROVAL_THRESHOLD)
		return pending_create(k, t.from, t.to_account, t.to_name, t.to_bank, t.amount, t.fee, t.memo, res);
	if (bk_move_out(k, t.from, t.to_account, t.to_name, t.to_bank, t.amount, t.fee, t.memo, &jid, &after) < 0)
		return -1;
	*res = json_pack("{s:o,s:s,s:I,s:I}", "transfer_id", bk_doc_id("TR", jid), "status", "done",
			 "fee", (json_int_t)t.fee, "balance_after", (json_int_t)after);
	return 0;
}
