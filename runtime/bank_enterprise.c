/*
 * bank_enterprise: operations of enterprise service (payroll, bills, foreign
 * exchange and cross-border payment, merchant acquiring, the boss's approvals,
 * calendar and cockpit). The dispatcher has already refused them in personal
 * service; the boss-only decision is checked here against the binding's role,
 * which bank_call verified in the database.
 *
 * FX rates are the sandbox's fixed board rates, in micro-units of the target
 * currency per unit of the source; amounts convert in 128-bit arithmetic.
 */
#include "bank_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAYROLL_MAX_ITEMS 1000
#define QUOTE_SECONDS 600

/* --- payroll ------------------------------------------------------------------ */

typedef struct payroll_line {
	const char *name;
	char account[40];
	long long amount, to;
} payroll_line;

static int payroll_line_parse(bk_call *k, json_t *item, payroll_line *l)
{
	static const char find[] = "SELECT id FROM accounts WHERE number = ? AND owner_kind <> 'bank'";
	const char *acct;
	if (!json_is_object(item) || bk_get_str(k, json_object_get(item, "name"), 120, true, &l->name) < 0 ||
	    bk_get_str(k, json_object_get(item, "account"), 34, true, &acct) < 0 ||
	    bk_get_amount(k, json_object_get(item, "amount"), &l->amount) < 0)
		return bk_fail(k, "bad_argument");
	size_t n = 0;
	for (const char *p = acct; *p; p++) {
		if (*p >= '0' && *p <= '9')
			l->account[n++] = *p;
		else if (*p != '-' && *p != ' ')
			return bk_fail(k, "bad_argument");
	}
	l->account[n] = '\0';
	if (n < 6)
		return bk_fail(k, "bad_argument");
	l->to = k->b->acct_clearing;
	return bk_int(k->c, &l->to, find, "t", l->account) < 0 ? bk_fail(k, "internal") : 0;
}

static int payroll_record(bk_call *k, long long from, payroll_line *lines, size_t n, long long total,
			  long long jid, long long *batch)
{
	static const char ins[] =
		"INSERT INTO payroll_batches (enterprise_id, account_id, count, total, journal_id, status, at) "
		"VALUES (?, ?, ?, ?, ?, 'done', ?) RETURNING id";
	static const char item[] =
		"INSERT INTO payroll_items (batch_id, name, account_number, amount) VALUES (?, ?, ?, ?)";
	char at[20];
	bk_stamp(k->now, at);
	if (bk_int(k->c, batch, ins, "iiiiit", k->owner_id, from, (long long)n, total, jid, at) != 1)
		return bk_fail(k, "internal");
	for (size_t i = 0; i < n; i++)
		if (bk_run(k->c, item, "itti", *batch, lines[i].name, lines[i].account, lines[i].amount) < 0)
			return bk_fail(k, "internal");
	return 0;
}

int bk_op_payroll(bk_call *k, json_t **res)
{
	json_t *a, *items;
	long long from, total = 0, jid, batch;
	if (bk_arg_obj(k, &a) < 0 || bk_own_source(k, json_object_get(a, "from"), &from, NULL) < 0)
		return -1;
	items = json_object_get(a, "items");
	size_t n = json_array_size(items);
	if (!json_is_array(items) || n == 0 || n > PAYROLL_MAX_ITEMS)
		return bk_fail(k, "bad_argument");
	payroll_line *lines = xcalloc(n, sizeof *lines);
	bk_leg *legs = xcalloc(n + 1, sizeof *legs);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = payroll_line_parse(k, json_array_get(items, i), &lines[i]);
		if (rc == 0 && lines[i].to == from)
			rc = bk_fail(k, "bad_argument");
		total += lines[i].amount;        /* each below 10^15, at most 1000 of them */
		legs[i + 1] = (bk_leg){ lines[i].to, lines[i].amount, "代发工资" };
	}
	legs[0] = (bk_leg){ from, -total, "代发工资" };
	if (rc == 0)
		rc = bk_post(k, "payroll", "代发工资", legs, (int)n + 1, &jid);
	if (rc == 0)
		rc = payroll_record(k, from, lines, n, total, jid, &batch);
	free(lines);
	free(legs);
	if (rc < 0)
		return -1;
	*res = json_pack("{s:o,s:I,s:I,s:s}", "batch_id", bk_doc_id("PB", batch), "count", (json_int_t)n,
			 "total", (json_int_t)total, "status", "done");
	return 0;
}

/* --- bills ---------------------------------------------------------------------- */

static bool date_valid(const char *s)
{
	int y, m, d;
	char tail;
	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || s[4] != '-' || s[7] != '-')
		return false;
	static const int dim[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return y >= 1900 && m >= 1 && m <= 12 && d >= 1 && d <= dim[m - 1] && (m != 2 || d <= 28 || leap);
}

int bk_op_bill_issue(bk_call *k, json_t **res)
{
	static const char ins[] =
		"INSERT INTO bills (enterprise_id, payee_name, amount, due_date, status, at) "
		"VALUES (?, ?, ?, ?, 'issued', ?) RETURNING id";
	static const char cal[] =
		"INSERT INTO scheduled_items (owner_kind, owner_id, date, kind, title, amount) "
		"VALUES ('enterprise', ?, ?, 'bill', ?, ?)";
	json_t *a;
	const char *payee, *due;
	long long amount, id;
	if (bk_arg_obj(k, &a) < 0 || bk_get_str(k, json_object_get(a, "payee_name"), 120, true, &payee) < 0 ||
	    bk_get_amount(k, json_object_get(a, "amount"), &amount) < 0 ||
	    bk_get_str(k, json_object_get(a, "due_date"), 10, true, &due) < 0)
		return -1;
	char today[11], at[20], title[200];
	bk_today(k->now, 0, today);
	if (!date_valid(due) || strcmp(due, today) <= 0)
		return bk_fail(k, "bad_argument");
	bk_stamp(k->now, at);
	snprintf(title, sizeof title, "银行承兑汇票到期 (%s)", payee);
	if (bk_int(k->c, &id, ins, "ititt", k->owner_id, payee, amount, due, at) != 1 ||
	    bk_run(k->c, cal, "itti", k->owner_id, due, title, amount) < 0)
		return bk_fail(k, "internal");
	*res = json_pack("{s:o,s:s}", "bill_id", bk_doc_id("BL", id), "status", "issued");
	return 0;
}

/* --- foreign exchange ----------------------------------------------------------- */

static const struct { const char *ccy; long long cny_micro; } board[] = {
	{ "CNY", 1000000 }, { "USD", 7105000 }, { "EUR", 7712000 }, { "HKD", 910300 },
	{ "GBP", 9023000 }, { "JPY", 47600 }, { "SGD", 5298000 },
};

static long long board_rate(const char *ccy)
{
	for (size_t i = 0; i < sizeof board / sizeof board[0]; i++)
		if (!strcmp(board[i].ccy, ccy))
			return board[i].cny_micro;
	return 0;
}

int bk_op_fx_quote(bk_call *k, json_t **res)
{
	static const char ins[] =
		"INSERT INTO fx_quotes (scope, from_ccy, to_ccy, amount, rate_micro, amount_to, expires_at) "
		"VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id";
	const char *from, *to;
	long long amount, id;
	if (bk_get_str(k, bk_arg(k, 0), 3, true, &from) < 0 || bk_get_str(k, bk_arg(k, 1), 3, true, &to) < 0 ||
	    bk_get_amount(k, bk_arg(k, 2), &amount) < 0)
		return -1;
	long long rf = board_rate(from), rt = board_rate(to);
	if (!rf || !rt || !strcmp(from, to))
		return bk_fail(k, "bad_argument");
	long long rate_micro = (long long)((__int128)rf * 1000000 / rt);
	long long amount_to = (long long)((__int128)amount * rate_micro / 1000000);
	long long expires = (long long)k->now + QUOTE_SECONDS;
	if (amount_to <= 0)
		return bk_fail(k, "bad_argument");
	if (bk_int(k->c, &id, ins, "tttiiii", k->scope, from, to, amount, rate_micro, amount_to, expires) != 1)
		return bk_fail(k, "internal");
	char stamp[20];
	bk_stamp((time_t)expires, stamp);
	*res = json_pack("{s:f,s:I,s:I,s:o,s:s}", "rate", (double)rate_micro / 1e6, "rate_micro",
			 (json_int_t)rate_micro, "amount_to", (json_int_t)amount_to, "quote_id",
			 bk_doc_id("FX", id), "expires_at", stamp);
	return 0;
}

typedef struct quote {
	long long amount, amount_to, expires, used;
	char from[4], to[4];
} quote;

static int quote_take(bk_call *k, long long id, quote *q)
{
	static const char sel[] =
		"SELECT amount, amount_to, expires_at, used, from_ccy, to_ccy, scope FROM fx_quotes WHERE id = ?";
	static const char use[] = "UPDATE fx_quotes SET used = 1 WHERE id = ?";
	sqlite3_stmt *st = bk_q(k->c, sel, "i", id);
	if (!st)
		return bk_fail(k, "internal");
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return bk_fail(k, "not_found");
	}
	q->amount = sqlite3_column_int64(st, 0);
	q->amount_to = sqlite3_column_int64(st, 1);
	q->expires = sqlite3_column_int64(st, 2);
	q->used = sqlite3_column_int64(st, 3);
	snprintf(q->from, sizeof q->from, "%s", (const char *)sqlite3_column_text(st, 4));
	snprintf(q->to, sizeof q->to, "%s", (const char *)sqlite3_column_text(st, 5));
	bool mine = !strcmp((const char *)sqlite3_column_text(st, 6), k->scope);
	sqlite3_reset(st);
	if (!mine)
		return bk_fail(k, "forbidden");
	if (q->used)
		return bk_fail(k, "conflict");
	if (q->expires < (long long)k->now)
		return bk_fail(k, "quote_expired");
	return bk_run(k->c, use, "i", id) < 0 ? bk_fail(k, "internal") : 0;
}

static bool swift_valid(const char *s)
{
	size_t n = strlen(s);
	return (n == 8 || n == 11) && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == n &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") >= 6;
}

int bk_op_crossborder_pay(bk_call *k, json_t **res)
{
	static const char ins[] =
		"INSERT INTO crossborder_payments (enterprise_id, account_id, quote_id, beneficiary, swift, amount,"
		" amount_to, currency_to, journal_id, status, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'submitted', ?) "
		"RETURNING id";
	json_t *a;
	const char *benef, *swift;
	long long from, qid, amount, jid, id;
	char ccy[4];
	quote q;
	if (bk_arg_obj(k, &a) < 0 || bk_own_source(k, json_object_get(a, "from"), &from, ccy) < 0 ||
	    bk_get_id(k, json_object_get(a, "quote_id"), &qid) < 0 ||
	    bk_get_str(k, json_object_get(a, "beneficiary"), 140, true, &benef) < 0 ||
	    bk_get_str(k, json_object_get(a, "swift"), 11, true, &swift) < 0 ||
	    bk_get_amount(k, json_object_get(a, "amount"), &amount) < 0)
		return -1;
	if (!swift_valid(swift))
		return bk_fail(k, "bad_argument");
	if (quote_take(k, qid, &q) < 0)
		return -1;
	if (q.amount != amount || strcmp(q.from, ccy))
		return bk_fail(k, "bad_argument");
	bk_leg legs[2] = { { from, -amount, benef }, { k->b->acct_clearing, amount, "跨境汇款" } };
	if (bk_post(k, "crossborder", "跨境汇款", legs, 2, &jid) < 0)
		return -1;
	char at[20];
	bk_stamp(k->now, at);
	if (bk_int(k->c, &id, ins, "iiittiitit", k->owner_id, from, qid, benef, swift, amount, q.amount_to,
		   q.to, jid, at) != 1)
		return bk_fail(k, "internal");
	*res = json_pack("{s:o,s:s,s:I,s:s}", "payment_id", bk_doc_id("CB", id), "status", "submitted",
			 "amount_to", (json_int_t)q.amount_to, "currency_to", q.to);
	return 0;
}

/* --- merchant acquiring ----------------------------------------------------------- */

int bk_op_merchant_summary(bk_call *k, json_t **res)
{
	static const char today[] =
		"SELECT COALESCE(SUM(count), 0), COALESCE(SUM(amount), 0) FROM merchant_daily "
		"WHERE enterprise_id = ? AND day_offset = 0";
	static const char month[] =
		"SELECT COALESCE(SUM(amount), 0) FROM merchant_daily WHERE enterprise_id = ? AND day_offset > ?";
	static const char settle[] =
		"SELECT date(?2, 'unixepoch', '+8 hours', printf('%+d days', day_offset)) AS date, amount, status "
		"FROM merchant_settlements WHERE enterprise_id = ?1 ORDER BY day_offset DESC";
	long long count = 0, amount = 0, month_amount = 0;
	sqlite3_stmt *st = bk_q(k->c, today, "i", k->owner_id);
	if (!st || sqlite3_step(st) != SQLITE_ROW) {
		if (st)
			sqlite3_reset(st);
		return bk_fail(k, "internal");
	}
	count = sqlite3_column_int64(st, 0);
	amount = sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	char date[11];
	bk_today(k->now, 0, date);
	int day_of_month = atoi(date + 8);
	if (bk_int(k->c, &month_amount, month, "ii", k->owner_id, (long long)-day_of_month) < 0)
		return bk_fail(k, "internal");
	json_t *list = bk_rows(k, bk_q(k->c, settle, "ii", k->owner_id, (long long)k->now));
	if (!list)
		return -1;
	*res = json_pack("{s:I,s:I,s:I,s:o}", "today_count", (json_int_t)count, "today_amount",
			 (json_int_t)amount, "month_amount", (json_int_t)month_amount, "settlements", list);
	return 0;
}

/* --- approvals ---------------------------------------------------------------------- */

int bk_op_pending_payments(bk_call *k, json_t **res)
{
	static const char sql[] =
		"SELECT printf('PP%06d', p.id) AS id, printf('PP%06d', p.id) AS payment_id, "
		"CAST(p.account_id AS TEXT) AS from_account, a.number AS from_number, p.to_account AS to_account, "
		"p.to_name AS to_name, p.to_bank AS to_bank, p.amount AS amount, p.fee AS fee, p.memo AS memo, "
		"c.name AS created_by, p.created_at AS created_at, p.status AS status "
		"FROM pending_payments p JOIN customers c ON c.id = p.created_by "
		"JOIN accounts a ON a.id = p.account_id "
		"WHERE p.enterprise_id = ? AND p.status = 'pending' ORDER BY p.id";
	*res = bk_rows(k, bk_q(k->c, sql, "i", k->owner_id));
	return *res ? 0 : -1;
}

int bk_op_decide_payment(bk_call *k, json_t **res)
{
	static const char sel[] =
		"SELECT enterprise_id, account_id, to_account, to_name, to_bank, amount, fee, memo, status "
		"FROM pending_payments WHERE id = ?";
	static const char upd[] =
		"UPDATE pending_payments SET status = ?, decided_by = ?, decided_at = ?, journal_id = ? WHERE id = ?";
	long long id, jid = 0, after;
	const char *decision;
	if (bk_get_id(k, bk_arg(k, 0), &id) < 0 || bk_get_str(k, bk_arg(k, 1), 10, true, &decision) < 0)
		return -1;
	bool approve = !strcmp(decision, "approve");
	if (!approve && strcmp(decision, "reject"))
		return bk_fail(k, "bad_argument");
	if (strcmp(k->who->role, "boss"))
		return bk_fail(k, "forbidden");
	json_t *p = bk_one(k, bk_q(k->c, sel, "i", id));
	if (!p)
		return -1;
	int rc = 0;
	if (json_integer_value(json_object_get(p, "enterprise_id")) != k->owner_id)
		rc = bk_fail(k, "forbidden");
	else if (strcmp(json_string_value(json_object_get(p, "status")), "pending"))
		rc = bk_fail(k, "already_decided");
	else if (approve)
		rc = bk_move_out(k, json_integer_value(json_object_get(p, "account_id")),
				 json_string_value(json_object_get(p, "to_account")),
				 json_string_value(json_object_get(p, "to_name")),
				 json_string_value(json_object_get(p, "to_bank")),
				 json_integer_value(json_object_get(p, "amount")),
				 json_integer_value(json_object_get(p, "fee")),
				 json_string_value(json_object_get(p, "memo")), &jid, &after);
	json_decref(p);
	if (rc < 0)
		return -1;
	char at[20];
	bk_stamp(k->now, at);
	const char *status = approve ? "approved" : "rejected";
	int urc = approve ? bk_run(k->c, upd, "titii", status, k->who->customer_id, at, jid, id)
			  : bk_run(k->c, upd, "titni", status, k->who->customer_id, at, id);
	if (urc < 0)
		return bk_fail(k, "internal");
	*res = json_pack("{s:o,s:s}", "payment_id", bk_doc_id("PP", id), "status", status);
	if (approve)
		json_object_set_new(*res, "transfer_id", bk_doc_id("TR", jid));
	return 0;
}

/* --- calendar and cockpit ----------------------------------------------------------- */

int bk_op_calendar(bk_call *k, json_t **res)
{
	static const char sql[] =
		"SELECT date, kind, title, amount FROM scheduled_items "
		"WHERE owner_kind = ? AND owner_id = ? AND date >= ? AND date <= ? ORDER BY date, id";
	json_t *d = bk_arg(k, 0);
	long long days = 30;
	if (d && !json_is_null(d)) {
		if (!json_is_integer(d) || json_integer_value(d) < 1 || json_integer_value(d) > 366)
			return bk_fail(k, "bad_argument");
		days = json_integer_value(d);
	}
	char from[11], to[11];
	bk_today(k->now, 0, from);
	bk_today(k->now, (int)days, to);
	*res = bk_rows(k, bk_q(k->c, sql, "titt", k->owner_kind, k->owner_id, from, to));
	return *res ? 0 : -1;
}

int bk_op_cockpit(bk_call *k, json_t **res)
{
	static const char cash[] =
		"SELECT COALESCE(SUM(balance), 0) FROM accounts WHERE owner_kind = 'enterprise' AND owner_id = ? "
		"AND currency = 'CNY' AND kind <> 'deposit'";
	static const char recv[] = "SELECT COALESCE(SUM(amount), 0) FROM receivables WHERE enterprise_id = ?";
	static const char loans[] =
		"SELECT COALESCE(SUM(amount), 0) FROM loan_applications WHERE owner_kind = 'enterprise' "
		"AND owner_id = ? AND status = 'disbursed'";
	static const char flow[] =
		"SELECT date(?2, 'unixepoch', '+8 hours', printf('%+d days', day_offset)) AS date, inflow, outflow "
		"FROM cashflow WHERE enterprise_id = ?1 ORDER BY day_offset DESC";
	long long c = 0, r = 0, l = 0;
	if (bk_int(k->c, &c, cash, "i", k->owner_id) < 0 || bk_int(k->c, &r, recv, "i", k->owner_id) < 0 ||
	    bk_int(k->c, &l, loans, "i", k->owner_id) < 0)
		return bk_fail(k, "internal");
	json_t *days = bk_rows(k, bk_q(k->c, flow, "ii", k->owner_id, (long long)k->now));
	if (!days)
		return -1;
	/* newest first: each day's closing balance, walking back from today's cash */
	long long bal = c;
	size_t n = json_array_size(days);
	for (size_t i = 0; i < n; i++) {
		json_t *day = json_array_get(days, i);
		json_object_set_new(day, "balance", json_integer(bal));
		bal -= json_integer_value(json_object_get(day, "inflow")) -
		       json_integer_value(json_object_get(day, "outflow"));
	}
	json_t *ordered = json_array();
	for (size_t i = n; i-- > 0;)
		json_array_append(ordered, json_array_get(days, i));
	json_decref(days);
	*res = json_pack("{s:I,s:I,s:I,s:o}", "cash", (json_int_t)c, "receivables", (json_int_t)r, "loans",
			 (json_int_t)l, "flow", ordered);
	return 0;
}
