/*
 * The bank backend: calls routed to the embedded bank or, over HTTP, to a
 * bank server (bankd on a free 127.0.0.1 port, started per test), with the
 * same answers; refusals that are answers, failures that open the circuit
 * (an injected clock lets it turn half-open and close), the server's secret,
 * the command-line options and the metrics text.
 */
#include <arpa/inet.h>
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend.h"
#include "bankd.h"

static char dir[64];
static bank *bk;
static bankd *bd;
static http_server *srv;
static char url[64];
static long long now_ms;

static long long test_clock(void *cls)
{
	(void)cls;
	return now_ms;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void start_server(const char *secret)
{
	http_config cfg = { .host = "127.0.0.1", .port = 0, .workers = 2 };
	strbuf err = STRBUF_INIT;
	bd = bankd_new(bk, secret);
	ck_assert_msg(http_start(&cfg, bankd_handle, bd, &srv, &err) == 0, "%s", err.buf);
	snprintf(url, sizeof url, "http://127.0.0.1:%d", http_port(srv));
	strbuf_release(&err);
}

static void setup(void)
{
	strcpy(dir, "/tmp/backend-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	strbuf err = STRBUF_INIT;
	ck_assert_msg(bank_open(dir, &bk, &err) == 0, "%s", err.buf);
	strbuf_release(&err);
	start_server(NULL);
	now_ms = 1000000;
}

static void teardown(void)
{
	backend_reset();
	http_stop(srv);
	bankd_free(bd);
	bank_close(bk);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static const bank_identity zhangwei = { .customer_id = 1 };

/* A call: NULL on success (*res set), else the error code (static copy). */
static const char *call(const char *op, const char *args, json_t **res)
{
	static char code[64];
	json_t *a = json_loads(args, 0, NULL);
	strbuf err = STRBUF_INIT;
	ck_assert_ptr_nonnull(a);
	int rc = backend_call(bk, &zhangwei, op, a, res, &err);
	snprintf(code, sizeof code, "%s", err.buf);
	json_decref(a);
	strbuf_release(&err);
	return rc == 0 ? NULL : code;
}

/* The id of zhangwei's first account (static copy). */
static const char *first_account(void)
{
	static char id[32];
	json_t *res = NULL;
	ck_assert_ptr_null(call("accounts", "[]", &res));
	snprintf(id, sizeof id, "%s", json_string_value(json_object_get(json_array_get(res, 0), "id")));
	json_decref(res);
	return id;
}

static int metrics_has(const char *line)
{
	strbuf m = STRBUF_INIT;
	backend_metrics(&m);
	int found = strstr(m.buf, line) != NULL;
	strbuf_release(&m);
	return found;
}

START_TEST(embedded_by_default)
{
	json_t *res = NULL;
	ck_assert_ptr_null(backend_url_of("accounts"));
	ck_assert_ptr_null(call("accounts", "[]", &res));
	ck_assert(json_is_array(res) && json_array_size(res) > 0);
	json_decref(res);
	ck_assert(metrics_has("backend_calls_total{service=\"accounts\",result=\"ok\"} 1\n"));
	ck_assert(!metrics_has("breaker_state{"));      /* no remote service, no circuit */
}
END_TEST

START_TEST(remote_answers_like_embedded)
{
	json_t *local = NULL, *remote = NULL;
	strbuf err = STRBUF_INIT;
	ck_assert_ptr_null(call("accounts", "[]", &local));
	ck_assert_int_eq(backend_set("*", url, &err), 0);
	char want[96];
	snprintf(want, sizeof want, "%s/bank/v1/call", url);
	ck_assert_str_eq(backend_url_of("accounts"), want);
	ck_assert_ptr_null(call("accounts", "[]", &remote));
	ck_assert(json_equal(local, remote));
	ck_assert(metrics_has("breaker_state{service=\"accounts\"} 0\n"));
	json_decref(local);
	json_decref(remote);
	strbuf_release(&err);
}
END_TEST

START_TEST(refusals_are_answers)
{
	strbuf err = STRBUF_INIT;
	breaker_config c = { .min_calls = 5 };
	backend_set_breaker(&c, test_clock, NULL);
	ck_assert_int_eq(backend_set("payments", url, &err), 0);
	json_t *res = NULL;
	char args[256];
	snprintf(args, sizeof args, "[{\"from\":\"%s\",\"to_account\":\"6229092222111100018\","
		 "\"to_name\":\"x\",\"amount\":99999999999,\"key\":\"k1\"}]", first_account());
	for (int i = 0; i < 10; i++) {
		const char *code = call("transfer", args, &res);
		ck_assert_ptr_nonnull(code);
		ck_assert_str_eq(code, "insufficient_funds");
	}
	ck_assert_int_eq(backend_breaker_state("payments"), BREAKER_CLOSED);
	ck_assert(metrics_has("backend_calls_total{service=\"payments\",result=\"refused\"} 10\n"));
	ck_assert_ptr_nonnull(call("bogus_op", "[]", &res));                     /* the bank says no */
	strbuf_release(&err);
}
END_TEST

START_TEST(failures_open_then_probe_closes)
{
	strbuf err = STRBUF_INIT;
	json_t *res = NULL;
	breaker_config c = { .min_calls = 4, .open_ms = 1000 };
	backend_set_breaker(&c, test_clock, NULL);
	backend_set_timeouts(200, 500);
	ck_assert_int_eq(backend_set("accounts", "http://127.0.0.1:1", &err), 0);   /* nobody listens */
	for (int i = 0; i < 4; i++)
		ck_assert_str_eq(call("accounts", "[]", &res), "unavailable");
	ck_assert_int_eq(backend_breaker_state("accounts"), BREAKER_OPEN);
	ck_assert_str_eq(call("accounts", "[]", &res), "unavailable");           /* failed fast */
	ck_assert(metrics_has("backend_calls_total{service=\"accounts\",result=\"failed\"} 4\n"));
	ck_assert(metrics_has("backend_calls_total{service=\"accounts\",result=\"rejected\"} 1\n"));
	ck_assert(metrics_has("breaker_state{service=\"accounts\"} 1\n"));
	ck_assert_ptr_null(call("profile", "[]", &res));                          /* another service */
	json_decref(res);
	now_ms += 1000;
	ck_assert_int_eq(backend_breaker_state("accounts"), BREAKER_HALF_OPEN);
	ck_assert_str_eq(call("accounts", "[]", &res), "unavailable");           /* the probe fails */
	ck_assert_int_eq(backend_breaker_state("accounts"), BREAKER_OPEN);
	now_ms += 2000;                                                           /* doubled */
	ck_assert_int_eq(backend_set("accounts", url, &err), 0);                  /* the service is back */
	ck_assert_ptr_null(call("accounts", "[]", &res));
	json_decref(res);
	ck_assert_int_eq(backend_breaker_state("accounts"), BREAKER_CLOSED);
	strbuf_release(&err);
}
END_TEST

/* A port that accepts connections (the kernel's backlog) and never answers. */
static int silent_port(int *fd)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	*fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(*fd, 0);
	ck_assert_int_eq(bind(*fd, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(listen(*fd, 8), 0);
	ck_assert_int_eq(getsockname(*fd, (struct sockaddr *)&a, &len), 0);
	return ntohs(a.sin_port);
}

START_TEST(deadline_cut_is_no_verdict)
{
	strbuf err = STRBUF_INIT;
	json_t *res = NULL, *args = json_array();
	int fd;
	char silent[64];
	breaker_config c = { .min_calls = 1 };
	backend_set_breaker(&c, test_clock, NULL);
	backend_set_timeouts(200, 300);
	snprintf(silent, sizeof silent, "http://127.0.0.1:%d", silent_port(&fd));
	ck_assert_int_eq(backend_set("accounts", silent, &err), 0);
	ck_assert_int_eq(backend_call_by(bk, &zhangwei, "accounts", args, 50, &res, &err), -1);
	ck_assert_str_eq(err.buf, "unavailable");
	ck_assert_int_eq(backend_breaker_state("accounts"), BREAKER_CLOSED);  /* the flow ran out, not the service */
	strbuf_reset(&err);
	ck_assert_int_eq(backend_call_by(bk, &zhangwei, "accounts", args, 0, &res, &err), -1);
	ck_assert_str_eq(err.buf, "unavailable");
	ck_assert_int_eq(backend_breaker_state("accounts"), BREAKER_OPEN);    /* its own timeout: a failure */
	close(fd);
	json_decref(args);
	strbuf_release(&err);
}
END_TEST

START_TEST(secret_is_required)
{
	strbuf err = STRBUF_INIT;
	json_t *res = NULL;
	http_stop(srv);
	bankd_free(bd);
	start_server("0123456789abcdef-secret");
	ck_assert_int_eq(backend_set("*", url, &err), 0);
	ck_assert_str_eq(call("accounts", "[]", &res), "unavailable");           /* 403: not the protocol */
	ck_assert_int_eq(backend_set_secret("wrong-secret-0123456789", &err), 0);
	ck_assert_str_eq(call("accounts", "[]", &res), "unavailable");
	ck_assert_int_eq(backend_set_secret("0123456789abcdef-secret", &err), 0);
	ck_assert_ptr_null(call("accounts", "[]", &res));
	json_decref(res);
	ck_assert_int_eq(backend_set_secret("bad\nsecret", &err), -1);
	strbuf_release(&err);
}
END_TEST

START_TEST(secret_file_is_checked)
{
	char path[96];
	strbuf err = STRBUF_INIT;
	snprintf(path, sizeof path, "%s/secret", dir);
	FILE *f = fopen(path, "w");
	fputs("short\n", f);
	fclose(f);
	ck_assert_ptr_null(backend_read_secret_file(path, &err));
	ck_assert_ptr_nonnull(strstr(err.buf, "16 to 256"));
	f = fopen(path, "w");
	fputs("0123456789abcdef0123\n", f);
	fclose(f);
	char *s = backend_read_secret_file(path, &err);
	ck_assert_str_eq(s, "0123456789abcdef0123");
	free(s);
	ck_assert_ptr_null(backend_read_secret_file("/nonexistent/secret", &err));
	strbuf_release(&err);
}
END_TEST

START_TEST(options_are_taken_out)
{
	char *argv[] = { "editiond", "--packs", "x", "--backend", "accounts=http://127.0.0.1:9/",
			 "--bank-url=http://127.0.0.1:8", "--backend", "fx=http://127.0.0.1:7",
			 "--backend-timeout", "50", "--", "--backend", NULL };
	int argc = 12;
	ck_assert_int_eq(backend_take_options(&argc, argv), 0);
	ck_assert_int_eq(argc, 5);
	ck_assert_str_eq(argv[3], "--");
	ck_assert_str_eq(argv[4], "--backend");
	ck_assert_ptr_null(argv[5]);
	ck_assert_str_eq(backend_url_of("accounts"), "http://127.0.0.1:8/bank/v1/call");
	ck_assert_str_eq(backend_url_of("fx"), "http://127.0.0.1:7/bank/v1/call");
	static const char *const bad[][3] = {
		{ "--backend", "nosuch=http://127.0.0.1:1", "unknown" }, { "--backend", "accounts", "want" },
		{ "--backend-timeout", "abc", "ms" }, { "--bank-url", "gopher://x", "url" },
		{ "--bank-secret-file", "/nonexistent", "file" } };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *v[] = { "editiond", (char *)bad[i][0], (char *)bad[i][1], NULL };
		int n = 3;
		ck_assert_msg(backend_take_options(&n, v) == 2, "%s %s accepted", bad[i][0], bad[i][1]);
	}
	char *missing[] = { "editiond", "--bank-url", NULL };
	int n = 2;
	ck_assert_int_eq(backend_take_options(&n, missing), 2);
}
END_TEST

START_TEST(every_op_has_a_service)
{
	static const char *const ops[] = { "profile", "accounts", "history", "payees", "transfer",
		"products", "buy_product", "loan_apply", "loan_disburse", "deposit_open", "payroll",
		"bill_issue", "fx_quote", "crossborder_pay", "merchant_summary", "pending_payments",
		"decide_payment", "calendar", "cockpit", "manager", "benefits" };
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		ck_assert_msg(backend_service_of(ops[i]) != NULL, "'%s' has no service", ops[i]);
	ck_assert_str_eq(backend_service_of("transfer"), "payments");
	ck_assert_ptr_null(backend_service_of("drop_tables"));
	ck_assert_ptr_null(backend_service_of(NULL));
}
END_TEST

START_TEST(fallbacks_are_counted)
{
	backend_fallback("mass", "home_summary");
	backend_fallback("mass", "home_summary");
	backend_fallback("care", "transfer");
	backend_fallback("we\"ird", NULL);
	ck_assert(metrics_has("fallbacks_total{edition=\"mass\",flow=\"home_summary\"} 2\n"));
	ck_assert(metrics_has("fallbacks_total{edition=\"care\",flow=\"transfer\"} 1\n"));
	ck_assert(metrics_has("fallbacks_total{edition=\"we\\\"ird\",flow=\"\"} 1\n"));
}
END_TEST

Suite *suite_backend(void);

Suite *suite_backend(void)
{
	Suite *s = suite_create("backend");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, embedded_by_default);
	tcase_add_test(tc, remote_answers_like_embedded);
	tcase_add_test(tc, refusals_are_answers);
	tcase_add_test(tc, failures_open_then_probe_closes);
	tcase_add_test(tc, deadline_cut_is_no_verdict);
	tcase_add_test(tc, secret_is_required);
	tcase_add_test(tc, secret_file_is_checked);
	tcase_add_test(tc, options_are_taken_out);
	tcase_add_test(tc, every_op_has_a_service);
	tcase_add_test(tc, fallbacks_are_counted);
	suite_add_tcase(s, tc);
	return s;
}
