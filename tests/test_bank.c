/*
 * Tests of the sandbox core bank: seeding and logins, every operation for its
 * own identity, refusals (another customer's ids, insufficient funds, bad
 * arguments, role), idempotency, approvals, and money moved by many threads
 * at once with retried keys.
 *
 * The demo database is seeded once per test case (password hashing is the slow
 * part) into a template directory; every test opens its own copy.
 */
#include <check.h>
#include <stdbool.h>
#include <ftw.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bank.h"

/* Seeded ids (bank_seed.c): customers 1..6 in the order of architecture.md section 7. */
enum { ZHANGWEI = 1, LINA, WANGFANG, JOHN, LIUQIANG, CHENJING };
enum { ZW_DEBIT = 6, ZW_SAVINGS = 7, LINA_DEBIT = 8, LINA_USD = 9, WF_DEBIT = 10, JOHN_DEBIT = 11,
       JOHN_USD = 12, LQ_DEBIT = 13, CJ_DEBIT = 14, ENT_BASIC = 15, ENT_GENERAL = 16, ENT_USD = 17 };
#define CJ_NUMBER "6229092222111100018"
#define ZW_NUMBER "6229091234567800011"

static char template_dir[64];
static char test_dir[64];
static bank *bk;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void template_setup(void)
{
	strcpy(template_dir, "/tmp/bank-template-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(template_dir));
	strbuf err = STRBUF_INIT;
	bank *b = NULL;
	ck_assert_msg(bank_open(template_dir, &b, &err) == 0, "%s", err.buf);
	bank_close(b);
	strbuf_release(&err);
}

static void template_teardown(void)
{
	rm_tree(template_dir);
}

static void copy_file(const char *from, const char *to)
{
	strbuf data = STRBUF_INIT;
	ck_assert_int_eq(strbuf_read_file(&data, from, 1u << 30), 0);
	FILE *f = fopen(to, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fwrite(data.buf, 1, data.len, f), data.len);
	fclose(f);
	strbuf_release(&data);
}

static void bank_setup(void)
{
	strcpy(test_dir, "/tmp/bank-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(test_dir));
	char from[128], to[128];
	snprintf(from, sizeof from, "%s/bank.sqlite", template_dir);
	snprintf(to, sizeof to, "%s/bank.sqlite", test_dir);
	copy_file(from, to);
	strbuf err = STRBUF_INIT;
	ck_assert_msg(bank_open(test_dir, &bk, &err) == 0, "%s", err.buf);
	strbuf_release(&err);
}

static void bank_teardown(void)
{
	bank_close(bk);
	bk = NULL;
	rm_tree(test_dir);
}

static bank_identity personal(long long customer)
{
	bank_identity w = { .customer_id = customer };
	return w;
}

static bank_identity enterprise(long long customer, const char *role)
{
	bank_identity w = { .customer_id = customer, .enterprise_id = 1 };
	snprintf(w.role, sizeof w.role, "%s", role);
	return w;
}

/* Calls op with args given as JSON text; returns the error code ("" on success). */
static const char *call(bank_identity w, const char *op, const char *args, json_t **res)
{
	static char code[64];
	json_t *a = json_loads(args, 0, NULL);
	ck_assert_msg(a != NULL, "bad test json %s", args);
	strbuf err = STRBUF_INIT;
	json_t *r = NULL;
	int rc = bank_call(bk, &w, op, a, &r, &err);
	snprintf(code, sizeof code, "%s", rc ? err.buf : "");
	ck_assert_int_eq(rc != 0, r == NULL);
	ck_assert_int_eq(rc != 0, err.len > 0);
	strbuf_release(&err);
	json_decref(a);
	if (res)
		*res = r;
	else
		json_decref(r);
	return code;
}

static json_t *ok(bank_identity w, const char *op, const char *args)
{
	json_t *r = NULL;
	const char *code = call(w, op, args, &r);
	ck_assert_msg(!*code, "%s %s failed: %s", op, args, code);
	return r;
}

static long long balance_of(bank_identity w, long long account)
{
	json_t *list = ok(w, "accounts", "[]");
	size_t i;
	json_t *a;
	long long bal = -1;
	char id[24];
	snprintf(id, sizeof id, "%lld", account);
	json_array_foreach(list, i, a)
		if (!strcmp(json_string_value(json_object_get(a, "id")), id))
			bal = json_integer_value(json_object_get(a, "balance"));
	json_decref(list);
	ck_assert_msg(bal >= 0, "account %lld not found", account);
	return bal;
}

static void audit_ok(long long *balances)
{
	long long postings = -1, sum = -1;
	ck_assert_int_eq(bank_audit(bk, &postings, &sum), 0);
	ck_assert_int_eq(postings, 0);
	if (balances)
		*balances = sum;
}

/* --- seeding and logins ------------------------------------------------- */

START_TEST(test_logins)
{
	static const struct { const char *user, *tier, *pref; } demo[] = {
		{ "zhangwei", "mass", "" }, { "lina", "private", "" }, { "wangfang", "mass", "care" },
		{ "john", "mass", "english" }, { "liuqiang", "mass", "" }, { "chenjing", "mass", "" },
	};
	for (size_t i = 0; i < 6; i++) {
		bank_customer c;
		ck_assert_msg(bank_authenticate(bk, demo[i].user, "demo1234", &c) == 0, "%s", demo[i].user);
		ck_assert_str_eq(c.username, demo[i].user);
		ck_assert_str_eq(c.tier, demo[i].tier);
		ck_assert_str_eq(c.preference, demo[i].pref);
		ck_assert_int_eq(c.id, (long long)i + 1);
		ck_assert_int_eq(bank_authenticate(bk, demo[i].user, "demo12345", &c), -1);
		ck_assert_int_eq(c.id, 0);
	}
	bank_customer c;
	ck_assert_int_eq(bank_authenticate(bk, "nobody", "demo1234", &c), -1);
	ck_assert_int_eq(bank_authenticate(bk, "zhangwei", "", &c), -1);
	ck_assert_int_eq(bank_customer_get(bk, JOHN, &c), 0);
	ck_assert_str_eq(c.locale, "en-US");
	ck_assert_int_eq(bank_customer_get(bk, 99, &c), -1);
}
END_TEST

START_TEST(test_bindings)
{
	bank_binding b[4];
	ck_assert_int_eq(bank_bindings(bk, ZHANGWEI, b, 4), 1);
	ck_assert_str_eq(b[0].enterprise_name, "深圳兴旺贸易有限公司");
	ck_assert_str_eq(b[0].role, "boss");
	ck_assert_int_eq(bank_bindings(bk, LIUQIANG, b, 4), 1);
	ck_assert_str_eq(b[0].role, "operator");
	ck_assert_int_eq(bank_bindings(bk, CHENJING, b, 4), 0);
	ck_assert_int_eq(bank_bindings(bk, LINA, b, 4), 0);
}
END_TEST

START_TEST(test_seeded_ledger)
{
	audit_ok(NULL);
	static const struct { long long who, acct; } main_accounts[] = {
		{ ZHANGWEI, ZW_DEBIT }, { LINA, LINA_DEBIT }, { WANGFANG, WF_DEBIT }, { JOHN, JOHN_DEBIT },
		{ LIUQIANG, LQ_DEBIT }, { CHENJING, CJ_DEBIT },
	};
	char args[64];
	for (size_t i = 0; i < 6; i++) {
		snprintf(args, sizeof args, "[\"%lld\", 1, 20]", main_accounts[i].acct);
		json_t *h = ok(personal(main_accounts[i].who), "history", args);
		ck_assert_int_ge(json_integer_value(json_object_get(h, "total")), 60);
		ck_assert_int_eq(json_array_size(json_object_get(h, "items")), 20);
		ck_assert_int_ge(json_integer_value(json_object_get(h, "pages")), 3);
		json_decref(h);
	}
	json_t *h = ok(enterprise(ZHANGWEI, "boss"), "history", "[\"15\", 2, 25]");
	ck_assert_int_ge(json_integer_value(json_object_get(h, "total")), 60);
	ck_assert_int_eq(json_integer_value(json_object_get(h, "page")), 2);
	json_decref(h);
}
END_TEST

START_TEST(test_open_refusals)
{
	char path[128];
	snprintf(path, sizeof path, "%s/sub", test_dir);
	FILE *f = fopen(path, "w");           /* a file where the data directory should be */
	ck_assert_ptr_nonnull(f);
	fclose(f);
	strbuf err = STRBUF_INIT;
	bank *b = NULL;
	ck_assert_int_eq(bank_open(path, &b, &err), -1);
	ck_assert_ptr_null(b);
	ck_assert_int_gt(err.len, 0);
	/* a data directory whose bank.sqlite is not a database */
	snprintf(path, sizeof path, "%s/junk", test_dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/junk/bank.sqlite", test_dir);
	f = fopen(path, "w");
	fputs("this is not a database, but it is long enough to look like a header.......\n", f);
	fclose(f);
	snprintf(path, sizeof path, "%s/junk", test_dir);
	strbuf_reset(&err);
	ck_assert_int_eq(bank_open(path, &b, &err), -1);
	ck_assert_msg(strstr(err.buf, "bank") != NULL, "%s", err.buf);
	strbuf_release(&err);
}
END_TEST

/* --- reads for the right identity -------------------------------------- */

START_TEST(test_personal_reads)
{
	json_t *r = ok(personal(ZHANGWEI), "profile", "[]");
	ck_assert_str_eq(json_string_value(json_object_get(r, "name")), "张伟");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "age")), 41);
	ck_assert(json_is_array(json_object_get(r, "tags")));
	json_decref(r);
	r = ok(personal(ZHANGWEI), "accounts", "[]");
	ck_assert_int_eq(json_array_size(r), 2);
	ck_assert(json_is_integer(json_object_get(json_array_get(r, 0), "balance")));
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 0), "id")), "6");
	json_decref(r);
	r = ok(personal(ZHANGWEI), "payees", "[]");
	ck_assert_int_ge(json_array_size(r), 3);
	ck_assert(json_is_boolean(json_object_get(json_array_get(r, 0), "own_bank")));
	json_decref(r);
	r = ok(personal(LINA), "benefits", "[]");
	ck_assert_int_eq(json_array_size(r), 4);
	json_decref(r);
	r = ok(personal(LINA), "manager", "[]");
	ck_assert_str_eq(json_string_value(json_object_get(r, "name")), "陈敏");
	json_decref(r);
	r = ok(personal(CHENJING), "manager", "[]");
	ck_assert_ptr_nonnull(json_object_get(r, "phone"));
	json_decref(r);
	r = ok(personal(LINA), "products", "[[{\"id\":\"pb-select-fof\",\"kind\":\"wealth\"},{\"id\":\"xingedai\"}]]");
	ck_assert_int_eq(json_array_size(r), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(r, 0), "holding")), 150000000);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(r, 1), "holding")), 0);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 0), "kind")), "wealth");
	json_decref(r);
	r = ok(personal(ZHANGWEI), "calendar", "[60]");
	ck_assert_int_eq(json_array_size(r), 1);
	json_decref(r);
}
END_TEST

START_TEST(test_enterprise_reads)
{
	bank_identity boss = enterprise(ZHANGWEI, "boss");
	json_t *r = ok(boss, "profile", "[]");
	ck_assert_str_eq(json_string_value(json_object_get(r, "enterprise_name")), "深圳兴旺贸易有限公司");
	ck_assert_str_eq(json_string_value(json_object_get(r, "role")), "boss");
	json_decref(r);
	r = ok(boss, "accounts", "[]");
	ck_assert_int_eq(json_array_size(r), 4);
	json_decref(r);
	r = ok(boss, "cockpit", "[]");
	ck_assert_int_eq(json_array_size(json_object_get(r, "flow")), 30);
	ck_assert_int_gt(json_integer_value(json_object_get(r, "cash")), 0);
	ck_assert_int_gt(json_integer_value(json_object_get(r, "loans")), 0);
	json_t *last = json_array_get(json_object_get(r, "flow"), 29);
	ck_assert_int_eq(json_integer_value(json_object_get(last, "balance")),
			 json_integer_value(json_object_get(r, "cash")));
	json_decref(r);
	r = ok(boss, "merchant_summary", "[]");
	ck_assert_int_gt(json_integer_value(json_object_get(r, "today_count")), 0);
	ck_assert_int_ge(json_integer_value(json_object_get(r, "month_amount")),
			 json_integer_value(json_object_get(r, "today_amount")));
	ck_assert_int_eq(json_array_size(json_object_get(r, "settlements")), 8);
	json_decref(r);
	r = ok(boss, "pending_payments", "[]");
	ck_assert_int_eq(json_array_size(r), 3);
	json_decref(r);
	r = ok(boss, "calendar", "[30]");
	ck_assert_int_ge(json_array_size(r), 3);
	json_decref(r);
	r = ok(enterprise(LIUQIANG, "operator"), "pending_payments", "[]");
	ck_assert_int_eq(json_array_size(r), 3);
	json_decref(r);
}
END_TEST

/* --- money moves --------------------------------------------------------- */

START_TEST(test_transfer_internal)
{
	long long before_zw = balance_of(personal(ZHANGWEI), ZW_DEBIT);
	long long before_cj = balance_of(personal(CHENJING), CJ_DEBIT);
	long long total;
	audit_ok(&total);
	json_t *r = ok(personal(ZHANGWEI), "transfer",
		       "[{\"from\":\"6\",\"to_account\":\"" CJ_NUMBER "\",\"to_name\":\"陈静\","
		       "\"amount\":12345,\"memo\":\"午饭\",\"key\":\"k-1\"}]");
	ck_assert_str_eq(json_string_value(json_object_get(r, "status")), "done");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "balance_after")), before_zw - 12345);
	json_decref(r);
	ck_assert_int_eq(balance_of(personal(ZHANGWEI), ZW_DEBIT), before_zw - 12345);
	ck_assert_int_eq(balance_of(personal(CHENJING), CJ_DEBIT), before_cj + 12345);
	long long after;
	audit_ok(&after);
	ck_assert_int_eq(after, total);
	/* the payee sees it in their history, newest first */
	r = ok(personal(CHENJING), "history", "[14]");
	json_t *first = json_array_get(json_object_get(r, "items"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(first, "amount")), 12345);
	ck_assert_str_eq(json_string_value(json_object_get(first, "counterparty")), "张伟");
	json_decref(r);
}
END_TEST

START_TEST(test_transfer_cross_bank_fee)
{
	long long before = balance_of(personal(JOHN), JOHN_DEBIT), total, after;
	audit_ok(&total);
	json_t *r = ok(personal(JOHN), "transfer",
		       "[{\"from\":11,\"to_account\":\"6222021001122334455\",\"to_name\":\"Li\","
		       "\"to_bank\":\"中国工商银行\",\"amount\":50000,\"fee\":200,\"key\":\"x\"}]");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "fee")), 200);
	json_decref(r);
	ck_assert_int_eq(balance_of(personal(JOHN), JOHN_DEBIT), before - 50200);
	audit_ok(&after);
	ck_assert_int_eq(after, total - 50200);     /* to another bank and to the fee account */
}
END_TEST

START_TEST(test_refusals)
{
	bank_identity zw = personal(ZHANGWEI);
	long long before = balance_of(zw, ZW_DEBIT);
	ck_assert_str_eq(call(zw, "transfer", "[{\"from\":\"6\",\"to_account\":\"" CJ_NUMBER "\","
			      "\"amount\":999999999999,\"key\":\"big\"}]", NULL), "insufficient_funds");
	ck_assert_str_eq(call(zw, "transfer", "[{\"from\":\"6\",\"to_account\":\"" CJ_NUMBER "\","
			      "\"amount\":100}]", NULL), "bad_argument");
	ck_assert_str_eq(call(zw, "transfer", "[{\"from\":\"6\",\"to_account\":\"" CJ_NUMBER "\","
			      "\"amount\":-100,\"key\":\"neg\"}]", NULL), "bad_argument");
	ck_assert_str_eq(call(zw, "transfer", "[{\"from\":\"6\",\"to_account\":\"" CJ_NUMBER "\","
			      "\"amount\":1.5,\"key\":\"real\"}]", NULL), "bad_argument");
	ck_assert_str_eq(call(zw, "transfer", "[{\"from\":\"6\",\"to_account\":\"" CJ_NUMBER "\","
			      "\"amount\":\"100\",\"key\":\"str\"}]", NULL), "bad_argument");
	ck_assert_str_eq(call(zw, "transfer", "[{\"from\":\"6\",\"to_account\":\"" CJ_NUMBER "\","
			      "\"amount\":0,\"key\":\"zero\"}]", NULL), "bad_argument");
	ck_assert_str_eq(call(zw, "transfer", "[{\"from\":\"6\",\"to_account\":\"" ZW_NUMBER "\","
			      "\"amount\":10,\"key\":\"self\"}]", NULL), "bad_argument");
	ck_assert_str_eq(call(zw, "transfer", "[{\"from\":\"6\",\"to_account\":\"1111222233334444\","
			      "\"amount\":10,\"key\":\"nobody\"}]", NULL), "not_found");
	ck_assert_str_eq(call(zw, "transfer", "[{\"from\":\"6\",\"to_account\":\"" CJ_NUMBER "\","
			      "\"amount\":5000001,\"limit\":5000000,\"key\":\"lim\"}]", NULL), "limit_exceeded");
	ck_assert_str_eq(call(zw, "transfer", "[{\"from\":\"6\",\"to_account\":\"" CJ_NUMBER "\","
			      "\"amount\":600,\"daily_limit\":1000,\"key\":\"d1\"}]", NULL), "");
	ck_assert_str_eq(call(zw, "transfer", "[{\"from\":\"6\",\"to_account\":\"" CJ_NUMBER "\","
			      "\"amount\":600,\"daily_limit\":1000,\"key\":\"d2\"}]", NULL), "limit_exceeded");
	ck_assert_str_eq(call(zw, "no_such_op", "[]", NULL), "not_found");
	ck_assert_str_eq(call(zw, "history", "[\"6\", 0]", NULL), "bad_argument");
	ck_assert_str_eq(call(zw, "fx_quote", "[\"CNY\", \"XXX\", 100]", NULL), "bad_argument");
	ck_assert_int_eq(balance_of(zw, ZW_DEBIT), before - 600);
	audit_ok(NULL);
}
END_TEST

START_TEST(test_forbidden)
{
	bank_identity zw = personal(ZHANGWEI);
	/* every op that takes an account id, given another customer's (lina's) or the enterprise's */
	static const char *const tries[][2] = {
		{ "history", "[\"8\"]" },
		{ "history", "[\"15\"]" },
		{ "history", "[\"" CJ_NUMBER "\"]" },
		{ "transfer", "[{\"from\":\"8\",\"to_account\":\"" CJ_NUMBER "\",\"amount\":1,\"key\":\"f1\"}]" },
		{ "transfer", "[{\"from\":15,\"to_account\":\"" CJ_NUMBER "\",\"amount\":1,\"key\":\"f2\"}]" },
		{ "transfer", "[{\"from\":\"" CJ_NUMBER "\",\"to_account\":\"" ZW_NUMBER "\",\"amount\":1,\"key\":\"f3\"}]" },
		{ "buy_product", "[{\"from\":\"8\",\"product_id\":\"xingfu-daily\",\"amount\":100,\"key\":\"f4\"}]" },
		{ "deposit_open", "[{\"from\":\"9\",\"product_id\":\"personal-time-deposit\",\"amount\":100,\"key\":\"f5\"}]" },
		{ "loan_disburse", "[\"LA000001\", \"8\"]" },
		{ "payroll", "[{\"from\":\"15\",\"items\":[{\"name\":\"a\",\"account\":\"" CJ_NUMBER "\",\"amount\":1}],\"key\":\"f6\"}]" },
		{ "cockpit", "[]" },
		{ "pending_payments", "[]" },
		{ "decide_payment", "[\"PP000001\", \"approve\"]" },
		{ "merchant_summary", "[]" },
		{ "bill_issue", "[{\"payee_name\":\"x\",\"amount\":1,\"due_date\":\"2099-01-01\",\"key\":\"f7\"}]" },
	};
	for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++)
		ck_assert_msg(!strcmp(call(zw, tries[i][0], tries[i][1], NULL), "forbidden"), "%s %s -> %s",
			      tries[i][0], tries[i][1], call(zw, tries[i][0], tries[i][1], NULL));
	/* the enterprise identity cannot reach a personal account either */
	ck_assert_str_eq(call(enterprise(ZHANGWEI, "boss"), "history", "[\"6\"]", NULL), "forbidden");
	ck_assert_str_eq(call(enterprise(LIUQIANG, "operator"), "transfer",
			      "[{\"from\":\"13\",\"to_account\":\"" CJ_NUMBER "\",\"amount\":1,\"key\":\"f8\"}]", NULL),
			 "forbidden");
	/* identities that are not real */
	ck_assert_str_eq(call(enterprise(CHENJING, "boss"), "accounts", "[]", NULL), "forbidden");
	ck_assert_str_eq(call(enterprise(LIUQIANG, "boss"), "accounts", "[]", NULL), "forbidden");
	ck_assert_str_eq(call(personal(0), "accounts", "[]", NULL), "forbidden");
	ck_assert_str_eq(call(personal(77), "accounts", "[]", NULL), "forbidden");
	/* an unknown account id is not found, not forbidden */
	ck_assert_str_eq(call(zw, "history", "[\"9999\"]", NULL), "not_found");
	/* another customer's loan application */
	json_t *r = ok(personal(LINA), "loan_apply", "[{\"product_id\":\"xingedai\",\"amount\":100000,"
		       "\"term_months\":12,\"decision\":\"approved\",\"rate_bp\":720,\"key\":\"l\"}]");
	char args[256];
	snprintf(args, sizeof args, "[\"%s\", \"6\"]", json_string_value(json_object_get(r, "application_id")));
	json_decref(r);
	ck_assert_str_eq(call(zw, "loan_disburse", args, NULL), "forbidden");
	/* another identity's fx quote */
	r = ok(enterprise(ZHANGWEI, "boss"), "fx_quote", "[\"USD\", \"EUR\", 10000]");
	snprintf(args, sizeof args, "[{\"from\":\"17\",\"quote_id\":\"%s\",\"beneficiary\":\"ACME\","
		 "\"swift\":\"DEUTDEFF\",\"amount\":10000,\"key\":\"q\"}]",
		 json_string_value(json_object_get(r, "quote_id")));
	json_decref(r);
	ck_assert_str_eq(call(enterprise(LIUQIANG, "operator"), "crossborder_pay", args, NULL), "forbidden");
	audit_ok(NULL);
}
END_TEST

/* Every identity against every account of the bank: its own are readable, all others forbidden. */
/* An identity verified by one call vouches for nothing else: another role, another
 * enterprise binding or another customer is checked afresh, account ownership is
 * checked on every call, and a read after a move sees the move. */
START_TEST(test_verified_identity)
{
	json_t *r = ok(enterprise(LIUQIANG, "operator"), "accounts", "[]");
	json_decref(r);
	ck_assert_str_eq(call(enterprise(LIUQIANG, "boss"), "accounts", "[]", NULL), "forbidden");
	ck_assert_str_eq(call(enterprise(LIUQIANG, "boss"), "profile", "[]", NULL), "forbidden");
	r = ok(enterprise(ZHANGWEI, "boss"), "accounts", "[]");
	json_t *mine = ok(personal(ZHANGWEI), "accounts", "[]");
	ck_assert(!json_equal(r, mine));
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(mine, 0), "id")), "6");
	json_decref(r);
	json_decref(mine);
	ck_assert_str_eq(call(enterprise(ZHANGWEI, "boss"), "history", "[\"6\"]", NULL), "forbidden");
	ck_assert_str_eq(call(personal(ZHANGWEI), "history", "[\"8\"]", NULL), "forbidden");
	bank_identity other = { .customer_id = ZHANGWEI, .enterprise_id = 2 };
	snprintf(other.role, sizeof other.role, "boss");
	ck_assert_str_eq(call(other, "accounts", "[]", NULL), "forbidden");
	ck_assert_str_eq(call(personal(77), "profile", "[]", NULL), "forbidden");
	long long before = balance_of(personal(ZHANGWEI), ZW_DEBIT);
	r = ok(personal(ZHANGWEI), "transfer",
	       "[{\"from\":\"6\",\"to_account\":\"" CJ_NUMBER "\",\"amount\":700,\"key\":\"v-1\"}]");
	json_decref(r);
	ck_assert_int_eq(balance_of(personal(ZHANGWEI), ZW_DEBIT), before - 700);
}
END_TEST

START_TEST(test_forbidden_matrix)
{
	static const struct { bank_identity who; long long own_lo, own_hi; } ids[] = {
		{ { .customer_id = ZHANGWEI }, ZW_DEBIT, ZW_SAVINGS },
		{ { .customer_id = LINA }, LINA_DEBIT, LINA_USD },
		{ { .customer_id = WANGFANG }, WF_DEBIT, WF_DEBIT },
		{ { .customer_id = JOHN }, JOHN_DEBIT, JOHN_USD },
		{ { .customer_id = LIUQIANG }, LQ_DEBIT, LQ_DEBIT },
		{ { .customer_id = CHENJING }, CJ_DEBIT, CJ_DEBIT },
		{ { .customer_id = ZHANGWEI, .enterprise_id = 1, .role = "boss" }, ENT_BASIC, 18 },
		{ { .customer_id = LIUQIANG, .enterprise_id = 1, .role = "operator" }, ENT_BASIC, 18 },
	};
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		for (long long acct = 1; acct <= 18; acct++) {
			bool own = acct >= ids[i].own_lo && acct <= ids[i].own_hi;
			char args[200];
			snprintf(args, sizeof args, "[\"%lld\", 1, 5]", acct);
			const char *code = call(ids[i].who, "history", args, NULL);
			ck_assert_msg(!strcmp(code, own ? "" : "forbidden"), "identity %zu history %lld: '%s'", i, acct, code);
			if (own)
				continue;
			snprintf(args, sizeof args, "[{\"from\":\"%lld\",\"to_account\":\"" CJ_NUMBER "\",\"amount\":1,"
				 "\"key\":\"m%zu-%lld\"}]", acct, i, acct);
			ck_assert_str_eq(call(ids[i].who, "transfer", args, NULL), "forbidden");
			snprintf(args, sizeof args, "[{\"from\":%lld,\"product_id\":\"xingfu-daily\",\"amount\":1,"
				 "\"key\":\"b%zu-%lld\"}]", acct, i, acct);
			ck_assert_str_eq(call(ids[i].who, "buy_product", args, NULL), "forbidden");
		}
	}
	audit_ok(NULL);
}
END_TEST

START_TEST(test_idempotency)
{
	bank_identity zw = personal(ZHANGWEI);
	const char *args = "[{\"from\":\"6\",\"to_account\":\"" CJ_NUMBER "\",\"amount\":777,\"key\":\"same\"}]";
	long long before = balance_of(zw, ZW_DEBIT);
	json_t *a = ok(zw, "transfer", args), *b = ok(zw, "transfer", args);
	ck_assert(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	ck_assert_int_eq(balance_of(zw, ZW_DEBIT), before - 777);
	/* the same key for a different request is refused and moves nothing */
	ck_assert_str_eq(call(zw, "transfer", "[{\"from\":\"6\",\"to_account\":\"" CJ_NUMBER "\","
			      "\"amount\":778,\"key\":\"same\"}]", NULL), "conflict");
	/* another identity may use the same key for itself */
	ck_assert_str_eq(call(personal(CHENJING), "transfer", "[{\"from\":\"14\",\"to_account\":\"" ZW_NUMBER
			      "\",\"amount\":5,\"key\":\"same\"}]", NULL), "");
	ck_assert_int_eq(balance_of(zw, ZW_DEBIT), before - 777 + 5);
	/* a refused move stores nothing: after topping up, the same key goes through */
	long long cj = balance_of(personal(CHENJING), CJ_DEBIT);
	char big[160], topup[160];
	snprintf(big, sizeof big, "[{\"from\":\"14\",\"to_account\":\"" ZW_NUMBER "\",\"amount\":%lld,"
		 "\"key\":\"later\"}]", cj + 1000);
	snprintf(topup, sizeof topup, "[{\"from\":\"6\",\"to_account\":\"" CJ_NUMBER "\",\"amount\":1000,"
		 "\"key\":\"topup\"}]");
	ck_assert_str_eq(call(personal(CHENJING), "transfer", big, NULL), "insufficient_funds");
	ck_assert_str_eq(call(zw, "transfer", topup, NULL), "");
	ck_assert_str_eq(call(personal(CHENJING), "transfer", big, NULL), "");
	ck_assert_int_eq(balance_of(personal(CHENJING), CJ_DEBIT), 0);
	audit_ok(NULL);
}
END_TEST

START_TEST(test_approvals)
{
	bank_identity op = enterprise(LIUQIANG, "operator"), boss = enterprise(ZHANGWEI, "boss");
	long long before = balance_of(boss, ENT_BASIC);
	json_t *r = ok(op, "transfer", "[{\"from\":\"15\",\"to_account\":\"" CJ_NUMBER "\",\"amount\":6000000,"
		       "\"memo\":\"货款\",\"key\":\"big\"}]");
	ck_assert_str_eq(json_string_value(json_object_get(r, "status")), "pending_approval");
	char pid[32];
	snprintf(pid, sizeof pid, "%s", json_string_value(json_object_get(r, "transfer_id")));
	json_decref(r);
	ck_assert_int_eq(balance_of(boss, ENT_BASIC), before);
	/* below the threshold the operator moves money directly */
	r = ok(op, "transfer", "[{\"from\":\"15\",\"to_account\":\"" CJ_NUMBER "\",\"amount\":100,\"key\":\"small\"}]");
	ck_assert_str_eq(json_string_value(json_object_get(r, "status")), "done");
	json_decref(r);
	before -= 100;
	char args[64];
	snprintf(args, sizeof args, "[\"%s\", \"approve\"]", pid);
	ck_assert_str_eq(call(op, "decide_payment", args, NULL), "forbidden");
	ck_assert_int_eq(balance_of(boss, ENT_BASIC), before);
	long long cj = balance_of(personal(CHENJING), CJ_DEBIT);
	r = ok(boss, "decide_payment", args);
	ck_assert_str_eq(json_string_value(json_object_get(r, "status")), "approved");
	json_decref(r);
	ck_assert_int_eq(balance_of(boss, ENT_BASIC), before - 6000000);
	ck_assert_int_eq(balance_of(personal(CHENJING), CJ_DEBIT), cj + 6000000);
	ck_assert_str_eq(call(boss, "decide_payment", args, NULL), "already_decided");
	ck_assert_str_eq(call(boss, "decide_payment", "[\"PP000001\", \"reject\"]", NULL), "");
	ck_assert_str_eq(call(boss, "decide_payment", "[\"PP000001\", \"approve\"]", NULL), "already_decided");
	ck_assert_str_eq(call(boss, "decide_payment", "[\"PP000002\", \"maybe\"]", NULL), "bad_argument");
	ck_assert_str_eq(call(boss, "decide_payment", "[\"PP000999\", \"approve\"]", NULL), "not_found");
	ck_assert_int_eq(balance_of(boss, ENT_BASIC), before - 6000000);
	r = ok(boss, "pending_payments", "[]");
	ck_assert_int_eq(json_array_size(r), 2);
	json_decref(r);
	audit_ok(NULL);
}
END_TEST

START_TEST(test_enterprise_moves)
{
	bank_identity boss = enterprise(ZHANGWEI, "boss");
	long long basic = balance_of(boss, ENT_BASIC), cj = balance_of(personal(CHENJING), CJ_DEBIT), total;
	audit_ok(&total);
	json_t *r = ok(boss, "payroll", "[{\"from\":\"15\",\"key\":\"pay-11\",\"items\":["
		       "{\"name\":\"陈静\",\"account\":\"6229-0922-2211-1100-018\",\"amount\":800000},"
		       "{\"name\":\"外部\",\"account\":\"6222020200112233445\",\"amount\":650000}]}]");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "total")), 1450000);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "count")), 2);
	json_decref(r);
	ck_assert_int_eq(balance_of(boss, ENT_BASIC), basic - 1450000);
	ck_assert_int_eq(balance_of(personal(CHENJING), CJ_DEBIT), cj + 800000);
	long long after;
	audit_ok(&after);
	ck_assert_int_eq(after, total - 650000);
	r = ok(boss, "bill_issue", "[{\"payee_name\":\"华南电子\",\"amount\":100000,\"due_date\":\"2099-02-28\",\"key\":\"b\"}]");
	ck_assert_str_eq(json_string_value(json_object_get(r, "status")), "issued");
	json_decref(r);
	ck_assert_str_eq(call(boss, "bill_issue", "[{\"payee_name\":\"x\",\"amount\":1,\"due_date\":\"2099-02-30\","
			      "\"key\":\"b2\"}]", NULL), "bad_argument");
	r = ok(boss, "fx_quote", "[\"USD\", \"EUR\", 100000]");
	ck_assert_int_gt(json_integer_value(json_object_get(r, "amount_to")), 0);
	char args[200];
	snprintf(args, sizeof args, "[{\"from\":\"17\",\"quote_id\":\"%s\",\"beneficiary\":\"ACME GmbH\","
		 "\"swift\":\"DEUTDEFF\",\"amount\":100000,\"key\":\"cb\"}]",
		 json_string_value(json_object_get(r, "quote_id")));
	json_decref(r);
	long long usd = balance_of(boss, ENT_USD);
	r = ok(boss, "crossborder_pay", args);
	ck_assert_str_eq(json_string_value(json_object_get(r, "status")), "submitted");
	json_decref(r);
	ck_assert_int_eq(balance_of(boss, ENT_USD), usd - 100000);
	/* a quote is used once; a retry with the same key returns the first result */
	ck_assert_str_eq(call(boss, "crossborder_pay", args, NULL), "");
	ck_assert_int_eq(balance_of(boss, ENT_USD), usd - 100000);
	/* a loan: apply, disburse, disburse again moves nothing */
	r = ok(boss, "loan_apply", "[{\"product_id\":\"haoqidai\",\"amount\":5000000,\"term_months\":12,"
	       "\"decision\":\"approved\",\"rate_bp\":385,\"key\":\"loan\"}]");
	snprintf(args, sizeof args, "[\"%s\", \"16\"]", json_string_value(json_object_get(r, "application_id")));
	json_decref(r);
	long long general = balance_of(boss, ENT_GENERAL);
	json_decref(ok(boss, "loan_disburse", args));
	json_decref(ok(boss, "loan_disburse", args));
	ck_assert_int_eq(balance_of(boss, ENT_GENERAL), general + 5000000);
	r = ok(boss, "loan_apply", "[{\"product_id\":\"haoqidai\",\"amount\":5000000,\"decision\":\"referred\","
	       "\"key\":\"loan2\"}]");
	snprintf(args, sizeof args, "[\"%s\", \"16\"]", json_string_value(json_object_get(r, "application_id")));
	json_decref(r);
	ck_assert_str_eq(call(boss, "loan_disburse", args, NULL), "conflict");
	audit_ok(NULL);
}
END_TEST

START_TEST(test_products_and_deposits)
{
	bank_identity zw = personal(ZHANGWEI);
	long long before = balance_of(zw, ZW_DEBIT);
	json_t *r = ok(zw, "buy_product", "[{\"product_id\":\"xingfu-steady-90\",\"amount\":100000,\"from\":\"6\",\"key\":\"p\"}]");
	ck_assert_str_eq(json_string_value(json_object_get(r, "status")), "done");
	json_decref(r);
	r = ok(zw, "deposit_open", "[{\"product_id\":\"personal-time-deposit\",\"amount\":200000,\"from\":\"6\",\"key\":\"d\"}]");
	ck_assert_str_eq(json_string_value(json_object_get(r, "status")), "open");
	json_decref(r);
	ck_assert_int_eq(balance_of(zw, ZW_DEBIT), before - 300000);
	r = ok(zw, "accounts", "[]");
	ck_assert_int_eq(json_array_size(r), 3);      /* the new time-deposit account */
	json_decref(r);
	r = ok(zw, "products", "[[{\"id\":\"xingfu-steady-90\"},{\"id\":\"personal-time-deposit\"}]]");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(r, 0), "holding")), 100000);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(r, 1), "holding")), 200000);
	json_decref(r);
	ck_assert_str_eq(call(zw, "buy_product", "[{\"product_id\":\"bad id!\",\"amount\":1,\"from\":\"6\","
			      "\"key\":\"p2\"}]", NULL), "bad_argument");
	/* the new time deposit is the customer's, but it cannot pay */
	ck_assert_str_eq(call(zw, "history", "[\"19\"]", NULL), "");
	ck_assert_str_eq(call(zw, "transfer", "[{\"from\":\"19\",\"to_account\":\"" CJ_NUMBER "\",\"amount\":1,"
			      "\"key\":\"p3\"}]", NULL), "bad_argument");
	audit_ok(NULL);
}
END_TEST

/* --- many threads ------------------------------------------------------------ */

#define THREADS 8
#define MOVES 500

static const struct { long long who, acct; const char *number; } cny[] = {
	{ ZHANGWEI, ZW_DEBIT, "6229091234567800011" }, { ZHANGWEI, ZW_SAVINGS, "6229091234567800029" },
	{ LINA, LINA_DEBIT, "6229099876543200017" }, { WANGFANG, WF_DEBIT, "6229095555666600013" },
	{ JOHN, JOHN_DEBIT, "6229097777888800019" }, { LIUQIANG, LQ_DEBIT, "6229093333444400015" },
	{ CHENJING, CJ_DEBIT, "6229092222111100018" },
};

typedef struct worker {
	int index;
	int moved;          /* keys that moved money */
	int errors;         /* unexpected outcomes */
} worker;

static void *transfer_worker(void *arg)
{
	worker *w = arg;
	unsigned seed = 1234u + (unsigned)w->index;
	size_t n = sizeof cny / sizeof cny[0];
	for (int i = 0; i < MOVES; i++) {
		size_t f = (size_t)rand_r(&seed) % n, t = (size_t)rand_r(&seed) % (n - 1);
		if (t >= f)
			t++;
		long long amount = 1 + rand_r(&seed) % 200000;
		char key[48], from[24];
		snprintf(key, sizeof key, "t%d-%d-%u", w->index, i, (unsigned)rand_r(&seed));
		snprintf(from, sizeof from, "%lld", cny[f].acct);
		json_t *args = json_pack("[{s:s,s:s,s:I,s:s}]", "from", from, "to_account", cny[t].number,
					 "amount", (json_int_t)amount, "key", key);
		bank_identity who = { .customer_id = cny[f].who };
		json_t *first = NULL;     /* the first success; every later attempt must return it */
		int attempts = 2 + rand_r(&seed) % 2;
		for (int r = 0; r < attempts; r++) {
			json_t *res = NULL;
			strbuf err = STRBUF_INIT;
			int rc = bank_call(bk, &who, "transfer", args, &res, &err);
			if (rc == 0 && !first) {
				first = res;
				w->moved++;
				res = NULL;
			} else if (rc == 0 && !json_equal(first, res)) {
				w->errors++;
			} else if (rc != 0 && (first || strcmp(err.buf, "insufficient_funds"))) {
				w->errors++;
			}
			json_decref(res);
			strbuf_release(&err);
		}
		json_decref(first);
		json_decref(args);
	}
	return NULL;
}

static long long count_sql(const char *sql)
{
	char path[128];
	snprintf(path, sizeof path, "%s/bank.sqlite", test_dir);
	sqlite3 *db = NULL;
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	long long v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

START_TEST(test_concurrent_transfers)
{
	long long before, after;
	audit_ok(&before);
	pthread_t th[THREADS];
	worker w[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (worker){ .index = i };
		ck_assert_int_eq(pthread_create(&th[i], NULL, transfer_worker, &w[i]), 0);
	}
	int moved = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(w[i].errors, 0);
		moved += w[i].moved;
	}
	ck_assert_int_gt(moved, THREADS * MOVES / 2);
	audit_ok(&after);
	ck_assert_int_eq(after, before);
	/* each key that moved money has exactly one journal, and no key has two */
	ck_assert_int_eq(count_sql("SELECT COUNT(*) FROM journals WHERE idem_key IS NOT NULL"), moved);
	ck_assert_int_eq(count_sql("SELECT COUNT(*) FROM (SELECT 1 FROM journals WHERE idem_key IS NOT NULL "
				   "GROUP BY scope, idem_key HAVING COUNT(*) > 1)"), 0);
	ck_assert_int_eq(count_sql("SELECT COUNT(*) FROM accounts WHERE balance < 0 AND owner_kind <> 'bank'"), 0);
	ck_assert_int_eq(count_sql("SELECT COUNT(*) FROM idempotency"), moved);
}
END_TEST

Suite *suite_bank(void);

Suite *suite_bank(void)
{
	Suite *s = suite_create("bank");
	TCase *tc = tcase_create("bank");
	tcase_add_unchecked_fixture(tc, template_setup, template_teardown);
	tcase_add_checked_fixture(tc, bank_setup, bank_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_logins);
	tcase_add_test(tc, test_bindings);
	tcase_add_test(tc, test_seeded_ledger);
	tcase_add_test(tc, test_open_refusals);
	tcase_add_test(tc, test_personal_reads);
	tcase_add_test(tc, test_enterprise_reads);
	tcase_add_test(tc, test_transfer_internal);
	tcase_add_test(tc, test_transfer_cross_bank_fee);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_forbidden);
	tcase_add_test(tc, test_forbidden_matrix);
	tcase_add_test(tc, test_verified_identity);
	tcase_add_test(tc, test_idempotency);
	tcase_add_test(tc, test_approvals);
	tcase_add_test(tc, test_enterprise_moves);
	tcase_add_test(tc, test_products_and_deposits);
	tcase_add_test(tc, test_concurrent_transfers);
	suite_add_tcase(s, tc);
	return s;
}
