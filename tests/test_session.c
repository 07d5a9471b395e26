/*
 * Sessions: tokens, CSRF, lockout, idle expiry on an injected clock, no
 * fixation at login, switching identities, the one-shot flash.
 */
#include <check.h>
#include <string.h>

#include "session.h"

static long long fake_now;

static long long fake_clock(void)
{
	return fake_now;
}

static session_mgr *new_mgr(void)
{
	session_config cfg = { .idle_s = 900, .now = fake_clock };

	fake_now = 1000000;
	return session_mgr_new(&cfg);
}

static void demo_customer(bank_customer *c, bank_binding *b)
{
	memset(c, 0, sizeof *c);
	c->id = 1;
	strcpy(c->username, "zhangwei");
	strcpy(c->name, "张伟");
	strcpy(c->tier, "mass");
	memset(b, 0, sizeof *b);
	b->enterprise_id = 7;
	strcpy(b->enterprise_name, "深圳兴旺贸易有限公司");
	strcpy(b->role, "boss");
}

START_TEST(test_tokens_unique_hex)
{
	session_mgr *m = new_mgr();
	session a, b;

	session_new(m, &a);
	session_new(m, &b);
	ck_assert_uint_eq(strlen(a.id), 64);
	ck_assert_uint_eq(strspn(a.id, "0123456789abcdef"), 64);
	ck_assert_uint_eq(strlen(a.csrf), 64);
	ck_assert_str_ne(a.id, b.id);
	ck_assert_str_ne(a.id, a.csrf);
	ck_assert_str_ne(a.csrf, b.csrf);
	ck_assert_int_eq(session_count(m), 2);
	session_clear(&a);
	session_clear(&b);
	session_mgr_free(m);
}
END_TEST

START_TEST(test_get_rejects_bad_tokens)
{
	session_mgr *m = new_mgr();
	session s, got;

	session_new(m, &s);
	ck_assert_int_eq(session_get(m, s.id, &got), 0);
	ck_assert_str_eq(got.csrf, s.csrf);
	ck_assert_int_eq(session_get(m, NULL, &got), -1);
	ck_assert_int_eq(session_get(m, "", &got), -1);
	ck_assert_int_eq(session_get(m, "abc", &got), -1);
	char upper[65];
	strcpy(upper, s.id);
	upper[0] = 'G';
	ck_assert_int_eq(session_get(m, upper, &got), -1);
	char other[65];
	session_random_token(other);
	ck_assert_int_eq(session_get(m, other, &got), -1);
	session_mgr_free(m);
}
END_TEST

START_TEST(test_csrf_compare)
{
	session_mgr *m = new_mgr();
	session s;
	char wrong[65];

	session_new(m, &s);
	ck_assert(session_csrf_ok(&s, s.csrf));
	strcpy(wrong, s.csrf);
	wrong[63] = wrong[63] == 'a' ? 'b' : 'a';
	ck_assert(!session_csrf_ok(&s, wrong));
	ck_assert(!session_csrf_ok(&s, NULL));
	ck_assert(!session_csrf_ok(&s, ""));
	wrong[10] = '\0';
	ck_assert(!session_csrf_ok(&s, wrong));
	session_mgr_free(m);
}
END_TEST

START_TEST(test_lockout_after_five)
{
	session_mgr *m = new_mgr();

	for (int i = 0; i < 4; i++) {
		ck_assert(session_login_allowed(m, "lina", "10.0.0.1"));
		session_login_failed(m, "lina", "10.0.0.1");
	}
	ck_assert(session_login_allowed(m, "lina", "10.0.0.1"));
	session_login_failed(m, "lina", "10.0.0.1");
	ck_assert(!session_login_allowed(m, "lina", "10.0.0.2"));
	ck_assert(session_login_allowed(m, "john", "10.0.0.1"));
	fake_now += 899;
	ck_assert(!session_login_allowed(m, "lina", "10.0.0.2"));
	fake_now += 2;
	ck_assert(session_login_allowed(m, "lina", "10.0.0.2"));
	session_mgr_free(m);
}
END_TEST

START_TEST(test_failures_outside_window_forgotten)
{
	session_mgr *m = new_mgr();

	for (int i = 0; i < 4; i++)
		session_login_failed(m, "john", "10.0.0.1");
	fake_now += 901;
	session_login_failed(m, "john", "10.0.0.1");
	ck_assert(session_login_allowed(m, "john", "10.0.0.1"));
	session_login_succeeded(m, "john");
	for (int i = 0; i < 4; i++)
		session_login_failed(m, "john", "10.0.0.1");
	ck_assert(session_login_allowed(m, "john", "10.0.0.1"));
	session_mgr_free(m);
}
END_TEST

START_TEST(test_lockout_per_ip)
{
	session_mgr *m = new_mgr();
	char name[32];

	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof name, "user%d", i);
		session_login_failed(m, name, "10.9.9.9");
	}
	ck_assert(!session_login_allowed(m, "chenjing", "10.9.9.9"));
	ck_assert(session_login_allowed(m, "chenjing", "10.9.9.8"));
	session_mgr_free(m);
}
END_TEST

START_TEST(test_idle_expiry)
{
	session_mgr *m = new_mgr();
	session s, got;

	session_new(m, &s);
	fake_now += 899;
	ck_assert_int_eq(session_get(m, s.id, &got), 0);   /* refreshes the idle clock */
	fake_now += 899;
	ck_assert_int_eq(session_get(m, s.id, &got), 0);
	fake_now += 900;
	ck_assert_int_eq(session_get(m, s.id, &got), -1);
	ck_assert_int_eq(session_count(m), 0);
	session_mgr_free(m);
}
END_TEST

START_TEST(test_login_makes_new_token)
{
	session_mgr *m = new_mgr();
	session s, got;
	bank_customer c;
	bank_binding b;
	char pre[65], pre_csrf[65];

	demo_customer(&c, &b);
	session_new(m, &s);
	strcpy(pre, s.id);
	strcpy(pre_csrf, s.csrf);
	session_login(m, &s, &c, &b, 1);
	ck_assert_str_ne(s.id, pre);
	ck_assert_str_ne(s.csrf, pre_csrf);
	ck_assert_int_eq(session_get(m, pre, &got), -1);     /* the pre-login token is dead */
	ck_assert_int_eq(session_get(m, s.id, &got), 0);
	ck_assert_int_eq(got.customer_id, 1);
	ck_assert_str_eq(got.username, "zhangwei");
	ck_assert_int_eq(got.n_identities, 2);
	ck_assert_str_eq(session_current(&got)->key, "personal");
	session_clear(&got);
	session_mgr_free(m);
}
END_TEST

START_TEST(test_switch_identity)
{
	session_mgr *m = new_mgr();
	session s, got;
	bank_customer c;
	bank_binding b;
	bank_identity who;

	demo_customer(&c, &b);
	memset(&s, 0, sizeof s);
	session_login(m, &s, &c, &b, 1);
	ck_assert_int_eq(session_switch(&s, "enterprise:8"), -1);
	ck_assert_int_eq(session_switch(&s, "enterprise:7"), 0);
	session_save(m, &s);
	ck_assert_int_eq(session_get(m, s.id, &got), 0);
	session_bank_identity(&got, &who);
	ck_assert_int_eq(who.customer_id, 1);
	ck_assert_int_eq(who.enterprise_id, 7);
	ck_assert_str_eq(who.role, "boss");
	ck_assert_int_eq(session_switch(&got, "personal"), 0);
	session_bank_identity(&got, &who);
	ck_assert_int_eq(who.enterprise_id, 0);
	ck_assert_str_eq(who.role, "");
	session_mgr_free(m);
}
END_TEST

START_TEST(test_anonymous_has_no_identity)
{
	session_mgr *m = new_mgr();
	session s;
	bank_identity who;

	session_new(m, &s);
	ck_assert_ptr_null(session_current(&s));
	ck_assert_int_eq(session_switch(&s, "personal"), -1);
	session_bank_identity(&s, &who);
	ck_assert_int_eq(who.customer_id, 0);
	session_mgr_free(m);
}
END_TEST

START_TEST(test_flash_one_shot)
{
	session_mgr *m = new_mgr();
	session s, got;
	char *f;

	session_new(m, &s);
	session_set_flash(&s, "{\"flow\":\"transfer\"}");
	session_save(m, &s);
	session_clear(&s);
	ck_assert_int_eq(session_get(m, s.id, &got), 0);
	f = session_take_flash(&got);
	ck_assert_str_eq(f, "{\"flow\":\"transfer\"}");
	free(f);
	session_save(m, &got);
	session_clear(&got);
	ck_assert_int_eq(session_get(m, s.id, &got), 0);
	ck_assert_ptr_null(got.flash);
	session_mgr_free(m);
}
END_TEST

START_TEST(test_destroy_and_cookie)
{
	session_mgr *m = new_mgr();
	session s, got;
	strbuf sb = STRBUF_INIT;

	session_new(m, &s);
	session_cookie(m, s.id, &sb);
	ck_assert_ptr_nonnull(strstr(sb.buf, "obe_session="));
	ck_assert_ptr_nonnull(strstr(sb.buf, "HttpOnly"));
	ck_assert_ptr_nonnull(strstr(sb.buf, "SameSite=Lax"));
	ck_assert_ptr_nonnull(strstr(sb.buf, "Path=/"));
	session_destroy(m, s.id);
	ck_assert_int_eq(session_get(m, s.id, &got), -1);
	strbuf_release(&sb);
	session_mgr_free(m);
}
END_TEST

/* A one-record store that shows what the manager hands to a store. */
typedef struct fake_store {
	char key[65];
	session s;
	int have, puts, last_ttl;
} fake_store;

static int fake_get(void *impl, const char *key, long long now, int idle_s, session *out)
{
	fake_store *f = impl;

	if (!f->have || strcmp(f->key, key))
		return -1;
	*out = f->s;
	out->flash = NULL;
	return 0;
}

static int fake_put(void *impl, const char *key, const session *s, int ttl_s)
{
	fake_store *f = impl;

	snprintf(f->key, sizeof f->key, "%s", key);
	f->s = *s;
	f->s.flash = NULL;
	f->have = 1;
	f->puts++;
	f->last_ttl = ttl_s;
	return 0;
}

static void fake_del(void *impl, const char *key) { ((fake_store *)impl)->have = 0; }
static long fake_count(void *impl, long long now, int idle_s) { return ((fake_store *)impl)->have; }
static int fake_attempts_get(void *impl, const char *key, session_attempts *out) { return -1; }
static void fake_attempts_put(void *impl, const char *key, const session_attempts *a, int ttl_s) { }
static void fake_attempts_del(void *impl, const char *key) { }
static void fake_free(void *impl) { }

START_TEST(test_store_sees_hashed_keys_only)
{
	static const session_store_ops ops = { fake_get, fake_put, fake_del, fake_count,
		fake_attempts_get, fake_attempts_put, fake_attempts_del, fake_free };
	fake_store f = { 0 };
	session_config cfg = { .idle_s = 600, .now = fake_clock };
	session_mgr *m = session_mgr_new_store(&cfg, &ops, &f);
	session s, got;

	session_new(m, &s);
	ck_assert_int_eq(f.puts, 1);
	ck_assert_int_eq(f.last_ttl, 600);
	ck_assert_uint_eq(strlen(f.key), 64);
	ck_assert_str_ne(f.key, s.id);                  /* the store never sees the token */
	ck_assert_ptr_null(strstr(f.s.id, s.id));
	ck_assert_int_eq(session_get(m, s.id, &got), 0);
	ck_assert_str_eq(got.id, s.id);
	ck_assert_str_eq(got.csrf, s.csrf);
	ck_assert_int_eq(session_count(m), 1);
	session_destroy(m, s.id);
	ck_assert_int_eq(session_get(m, s.id, &got), -1);
	session_mgr_free(m);
}
END_TEST

Suite *suite_session(void);

Suite *suite_session(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_tokens_unique_hex);
	tcase_add_test(tc, test_get_rejects_bad_tokens);
	tcase_add_test(tc, test_csrf_compare);
	tcase_add_test(tc, test_lockout_after_five);
	tcase_add_test(tc, test_failures_outside_window_forgotten);
	tcase_add_test(tc, test_lockout_per_ip);
	tcase_add_test(tc, test_idle_expiry);
	tcase_add_test(tc, test_login_makes_new_token);
	tcase_add_test(tc, test_switch_identity);
	tcase_add_test(tc, test_anonymous_has_no_identity);
	tcase_add_test(tc, test_flash_one_shot);
	tcase_add_test(tc, test_destroy_and_cookie);
	tcase_add_test(tc, test_store_sees_hashed_keys_only);
	suite_add_tcase(s, tc);
	return s;
}
