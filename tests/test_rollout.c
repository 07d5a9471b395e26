/*
 * Gray release: the rollout file is checked whole; a set holds several
 * versions of one edition and refuses packs the rollout does not know;
 * whitelisted customers get the canary, a percentage holds over many customer
 * ids; a real server (app_handle behind http, the sandbox bank) keeps a
 * logged-in session on the version it began with across a rollout change and
 * moves it when that version is withdrawn; a swapped-out set is freed when its
 * last holder lets go.
 */
#include <check.h>
#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.h"
#include "app.h"
#include "log.h"
#include "registry.h"
#include "rollout.h"

static char dir[64], packs[96], data[96];

static void setup(void)
{
	strcpy(dir, "/tmp/rollout-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(packs, sizeof packs, "%s/packs", dir);
	snprintf(data, sizeof data, "%s/data", dir);
	ck_assert_int_eq(mkdir(packs, 0755), 0);
	ck_assert_int_eq(sodium_init() < 0, 0);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* A pack whose home screen says which version it is. */
static void write_pack(const char *edition, const char *version, const char *file)
{
	static const char routes[] = "[{\"auth\":\"none\",\"id\":\"home\",\"method\":\"GET\",\"path\":\"/home\",\"screen\":\"home\"}]";
	pack_writer *w = pack_writer_new(edition, version, "1.0.0", "5.4");
	strbuf out = STRBUF_INIT, err = STRBUF_INIT, meta = STRBUF_INIT, screen = STRBUF_INIT, path = STRBUF_INIT;
	FILE *fp;

	strbuf_addf(&meta, "{\"edition\":\"%s\",\"home\":\"home\",\"segment\":\"personal\"}", edition);
	strbuf_addf(&screen, "{\"id\":\"home\",\"layout\":[],\"version\":\"%s\"}", version);
	pack_writer_add(w, PACK_META, "json", meta.buf, meta.len);
	pack_writer_add(w, PACK_STRINGS, "json", "{}", 2);
	pack_writer_add(w, PACK_ROUTES, "json", routes, strlen(routes));
	pack_writer_add(w, PACK_SCREENS, "home", screen.buf, screen.len);
	pack_writer_add(w, PACK_FLOW_SPECS, "json", "{}", 2);
	ck_assert_int_eq(pack_writer_finish(w, NULL, &out, &err), 0);
	strbuf_addf(&path, "%s/%s", packs, file);
	fp = fopen(path.buf, "wb");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(out.buf, 1, out.len, fp), out.len);
	fclose(fp);
	pack_writer_free(w);
	strbuf_release(&out);
	strbuf_release(&err);
	strbuf_release(&meta);
	strbuf_release(&screen);
	strbuf_release(&path);
}

static const char *write_rollout(const char *text)
{
	static char path[128];
	FILE *fp;

	snprintf(path, sizeof path, "%s/rollout.json", dir);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

/* --- the file --------------------------------------------------------------------- */

START_TEST(test_bad_files_refused)
{
	static const struct { const char *text, *want; } cases[] = {
		{ "{\"editions\":{\"mass\":{\"stable\":\"7.0.0\",\"canary\":\"7.0.0\"}}}", "canary and stable are both" },
		{ "{\"editions\":{\"mass\":{\"stable\":\"7.0.0\",\"percent\":150,\"canary\":\"7.1.0\"}}}", "percent must be" },
		{ "{\"editions\":{\"mass\":{\"stable\":\"7.0.0\",\"whitelist\":[\"zhangwei\"]}}}", "need a canary" },
		{ "{\"editions\":{\"mass\":{\"stable\":\"7.0.0\",\"compare\":\"yes\",\"canary\":\"7.1.0\"}}}", "'compare' must be" },
		{ "{\"editions\":{\"mass\":{\"stable\":\"7.0.0\",\"percentage\":5}}}", "unknown field 'percentage'" },
		{ "{\"editions\":{\"mass\":{\"canary\":\"7.1.0\"}}}", "'stable' must name a version" },
		{ "{\"editions\":{\"mass\":{\"stable\":\"7.0.0\",\"canary\":\"7.1.0\",\"whitelist\":[{}]}}}", "whitelist entry 0" },
		{ "{\"editions\":{\"mass\":{\"stable\":\"7.0.0\"}},\"extra\":1}", "want one object" },
		{ "{\"editions\":{\"mass\":{\"stable\":\"7.0.0\"},\"mass\":{\"stable\":\"7.1.0\"}}}", "duplicate" },
		{ "{\"editions\":", "line 1" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		rollout *ro = (rollout *)1;
		strbuf err = STRBUF_INIT;
		ck_assert_int_eq(rollout_parse(cases[i].text, strlen(cases[i].text), "r.json", &ro, &err), -1);
		ck_assert_ptr_null(ro);
		ck_assert_msg(strstr(err.buf, cases[i].want), "case %zu: %s", i, err.buf);
		strbuf_release(&err);
	}
}
END_TEST

START_TEST(test_whitelist_and_percentage)
{
	static const char text[] = "{\"editions\":{\"mass\":{\"stable\":\"7.0.0\",\"canary\":\"7.1.0\","
		"\"whitelist\":[\"zhangwei\",424242],\"percent\":10,\"compare\":true},"
		"\"care\":{\"stable\":\"7.0.0\"}}}";
	rollout *ro;
	strbuf err = STRBUF_INIT;
	int canary = 0;

	ck_assert_msg(rollout_parse(text, strlen(text), "r.json", &ro, &err) == 0, "%s", err.buf);
	ck_assert_str_eq(rollout_stable(ro, "mass"), "7.0.0");
	ck_assert_str_eq(rollout_canary(ro, "mass"), "7.1.0");
	ck_assert(rollout_compare(ro, "mass"));
	ck_assert(!rollout_compare(ro, "care"));
	ck_assert_ptr_null(rollout_canary(ro, "care"));
	/* whitelisted by user name and by customer id, whatever their bucket */
	ck_assert(rollout_wants_canary(ro, "mass", 999999, "zhangwei"));
	ck_assert(rollout_wants_canary(ro, "mass", 424242, "someone"));
	ck_assert(!rollout_wants_canary(ro, "care", 424242, "zhangwei"));
	ck_assert(!rollout_wants_canary(ro, "mass", 0, NULL));      /* anonymous: stable */
	for (long long id = 1; id <= 10000; id++) {
		int w = rollout_wants_canary(ro, "mass", id, NULL);
		ck_assert_int_eq(w, rollout_wants_canary(ro, "mass", id, NULL));    /* sticky */
		ck_assert_int_eq(w, rollout_bucket("mass", id) < 1000);
		canary += w;
	}
	ck_assert_msg(canary >= 850 && canary <= 1150, "%d of 10000 got the canary", canary);
	rollout_free(ro);
}
END_TEST

/* --- sets ----------------------------------------------------------------------------- */

START_TEST(test_versions_in_one_set)
{
	registry *r;
	strbuf err = STRBUF_INIT;

	write_pack("mass", "7.9.0", "mass-7.9.0.pack");
	write_pack("mass", "7.10.0", "mass-7.10.0.pack");
	write_pack("care", "7.0.0", "care-7.0.0.pack");
	/* no rollout file: the highest version is stable, by number not by text */
	ck_assert_msg(registry_load(packs, NULL, &r, &err) == 0, "%s", err.buf);
	ck_assert_uint_eq(registry_count(r), 2);
	ck_assert_uint_eq(registry_versions_count(r), 3);
	ck_assert_str_eq(registry_find(r, "mass")->version, "7.10.0");
	ck_assert(registry_versioned(r));
	ck_assert_ptr_nonnull(registry_find_version(r, "mass", "7.9.0"));
	/* a view shows the other version under the same id, the rest unchanged */
	registry *v = registry_view(r, registry_find_version(r, "mass", "7.9.0"));
	ck_assert_str_eq(registry_find(v, "mass")->version, "7.9.0");
	ck_assert_str_eq(registry_at(v, 1)->version, "7.9.0");
	ck_assert_str_eq(registry_find(v, "care")->version, "7.0.0");
	ck_assert_str_eq(registry_stable(v, "mass")->version, "7.10.0");
	registry_release(r);                    /* the view keeps the set alive */
	ck_assert_str_eq(edition_route_by_id(registry_find(v, "mass"), "home")->path, "/home");
	registry_release(v);
	/* with a rollout: its stable version, whatever is higher */
	const char *ro = write_rollout("{\"editions\":{\"mass\":{\"stable\":\"7.9.0\",\"canary\":\"7.10.0\"},"
				       "\"care\":{\"stable\":\"7.0.0\"}}}");
	ck_assert_msg(registry_load_set(packs, NULL, ro, &r, &err, NULL) == 0, "%s", err.buf);
	ck_assert_str_eq(registry_find(r, "mass")->version, "7.9.0");
	ck_assert(registry_serving(r, registry_find_version(r, "mass", "7.10.0")));
	registry_release(r);
	strbuf_release(&err);
}
END_TEST

START_TEST(test_foreign_and_duplicate_refused)
{
	static const struct { const char *rollout, *reason, *want; } cases[] = {
		{ "{\"editions\":{\"mass\":{\"stable\":\"7.0.0\"}}}", "foreign", "edition 'care' is not in the rollout" },
		{ "{\"editions\":{\"mass\":{\"stable\":\"7.0.0\",\"canary\":\"7.2.0\"},\"care\":{\"stable\":\"7.0.0\"}}}",
		  "foreign", "edition 'mass' version 7.2.0 is not loaded" },
		{ "{\"editions\":{\"mass\":{\"stable\":\"7.0.0\"},\"care\":{\"stable\":\"7.0.0\"},"
		  "\"english\":{\"stable\":\"7.0.0\"}}}", "foreign", "edition 'english' version 7.0.0 is not loaded" },
		{ "{\"editions\":{\"mass\":{\"stable\":7}}}", "rollout", "'stable' must name a version" },
	};
	registry *r;
	const char *reason;

	write_pack("mass", "7.0.0", "mass-7.0.0.pack");
	write_pack("mass", "7.1.0", "mass-7.1.0.pack");
	write_pack("care", "7.0.0", "care-7.0.0.pack");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		strbuf err = STRBUF_INIT;
		reason = NULL;
		ck_assert_int_eq(registry_load_set(packs, NULL, write_rollout(cases[i].rollout), &r, &err, &reason), -1);
		ck_assert_ptr_null(r);
		ck_assert_str_eq(reason, cases[i].reason);
		ck_assert_msg(strstr(err.buf, cases[i].want), "case %zu: %s", i, err.buf);
		strbuf_release(&err);
	}
	/* the same edition and version in two files */
	write_pack("care", "7.0.0", "care-copy.pack");
	strbuf err = STRBUF_INIT;
	ck_assert_int_eq(registry_load_set(packs, NULL, NULL, &r, &err, &reason), -1);
	ck_assert_str_eq(reason, "duplicate");
	ck_assert_msg(strstr(err.buf, "edition 'care' version 7.0.0 is in two packs"), "%s", err.buf);
	strbuf_release(&err);
}
END_TEST

/* A swapped-out set lives while a request holds it and is freed with its last reference. */
START_TEST(test_old_set_freed_by_last_holder)
{
	registry *a, *b, *held;
	strbuf err = STRBUF_INIT;
	long freed;

	write_pack("mass", "7.0.0", "mass-7.0.0.pack");
	ck_assert_int_eq(registry_load(packs, NULL, &a, &err), 0);
	ck_assert_int_eq(registry_load(packs, NULL, &b, &err), 0);
	registry_swap(a);
	held = registry_acquire();
	registry *view = registry_view(held, registry_find(held, "mass"));
	freed = registry_sets_freed();
	registry_swap(b);
	ck_assert_int_eq(registry_sets_freed(), freed);         /* held: still alive */
	registry_release(held);
	ck_assert_int_eq(registry_sets_freed(), freed);         /* the view holds it too */
	ck_assert_str_eq(registry_find(view, "mass")->version, "7.0.0");
	registry_release(view);
	ck_assert_int_eq(registry_sets_freed(), freed + 1);
	registry_swap(NULL);
	ck_assert_int_eq(registry_sets_freed(), freed + 2);
	strbuf_release(&err);
}
END_TEST

/* --- sessions on a real server ------------------------------------------------------------ */

typedef struct server {
	bank *bank;
	session_mgr *sessions;
	app *app;
	http_server *http;
	int port;
} server;

static void server_start(server *s)
{
	http_config cfg = { .host = "127.0.0.1", .workers = 2 };
	session_config sc = { 0 };
	strbuf err = STRBUF_INIT;

	log_open("/dev/null");
	ck_assert_msg(bank_open(data, &s->bank, &err) == 0, "%s", err.buf);
	s->sessions = session_mgr_new(&sc);
	s->app = app_new(s->bank, s->sessions, 0);
	ck_assert_msg(http_start(&cfg, app_handle, s->app, &s->http, &err) == 0, "%s", err.buf);
	s->port = http_port(s->http);
	strbuf_release(&err);
}

static void server_stop(server *s)
{
	http_stop(s->http);
	app_free(s->app);
	session_mgr_free(s->sessions);
	bank_close(s->bank);
	registry_swap(NULL);
}

static void swap_in(const char *rollout_text)
{
	registry *r;
	strbuf err = STRBUF_INIT;

	ck_assert_msg(registry_load_set(packs, NULL, write_rollout(rollout_text), &r, &err, NULL) == 0,
		      "%s", err.buf);
	registry_swap(r);
	strbuf_release(&err);
}

static size_t collect(char *p, size_t size, size_t n, void *sb)
{
	strbuf_add(sb, p, size * n);
	return size * n;
}

/* The body of one request (status in *status); caller frees. */
static json_t *call(int port, const char *method, const char *path, const char *bearer,
		    const char *body, long *status)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	strbuf url = STRBUF_INIT, auth = STRBUF_INIT, out = STRBUF_INIT;
	json_t *v;

	strbuf_addf(&url, "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url.buf);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (bearer) {
		strbuf_addf(&auth, "Authorization: Bearer %s", bearer);
		h = curl_slist_append(h, auth.buf);
	}
	if (body) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	v = json_loadb(out.buf, out.len, 0, NULL);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	strbuf_release(&url);
	strbuf_release(&auth);
	strbuf_release(&out);
	return v;
}

static char *login(int port, const char *user)
{
	long st;
	char body[128];
	json_t *v;
	char *token;

	snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"demo1234\"}", user);
	v = call(port, "POST", "/api/v1/login", NULL, body, &st);
	ck_assert_int_eq(st, 200);
	token = xstrdup(json_string_value(json_object_get(v, "token")));
	json_decref(v);
	return token;
}

/* The version of mass this session is served (the home screen says it). */
static char *served(int port, const char *token)
{
	long st;
	json_t *v = call(port, "GET", "/api/v1/mass/screens/home", token, NULL, &st);
	char *ver;

	ck_assert_int_eq(st, 200);
	ver = xstrdup(json_string_value(json_object_get(v, "version")));
	json_decref(v);
	return ver;
}

#define ASSERT_SERVED(port, token, want) do { \
	char *got_ = served(port, token); \
	ck_assert_str_eq(got_, want); \
	free(got_); \
} while (0)

START_TEST(test_sessions_pinned_and_moved)
{
	server s = { 0 };

	write_pack("mass", "7.0.0", "mass-7.0.0.pack");
	write_pack("mass", "7.1.0", "mass-7.1.0.pack");
	swap_in("{\"editions\":{\"mass\":{\"stable\":\"7.0.0\",\"canary\":\"7.1.0\",\"whitelist\":[\"zhangwei\"]}}}");
	server_start(&s);
	char *zw = login(s.port, "zhangwei"), *cj = login(s.port, "chenjing");
	ASSERT_SERVED(s.port, zw, "7.1.0");     /* whitelisted */
	ASSERT_SERVED(s.port, cj, "7.0.0");
	ASSERT_SERVED(s.port, NULL, "7.0.0");   /* anonymous */
	/* the whitelist emptied: zhangwei's session keeps its version, a new one does not get it */
	swap_in("{\"editions\":{\"mass\":{\"stable\":\"7.0.0\",\"canary\":\"7.1.0\",\"whitelist\":[]}}}");
	ASSERT_SERVED(s.port, zw, "7.1.0");
	char *zw2 = login(s.port, "zhangwei");
	ASSERT_SERVED(s.port, zw2, "7.0.0");
	/* chenjing, pinned to stable, stays there when the whitelist names her */
	swap_in("{\"editions\":{\"mass\":{\"stable\":\"7.0.0\",\"canary\":\"7.1.0\",\"whitelist\":[\"chenjing\"]}}}");
	ASSERT_SERVED(s.port, cj, "7.0.0");
	/* the canary withdrawn (still on disk, no longer in the rollout): the session moves */
	swap_in("{\"editions\":{\"mass\":{\"stable\":\"7.0.0\"}}}");
	ASSERT_SERVED(s.port, zw, "7.0.0");
	/* and stays moved when the canary comes back */
	swap_in("{\"editions\":{\"mass\":{\"stable\":\"7.0.0\",\"canary\":\"7.1.0\",\"whitelist\":[\"zhangwei\"]}}}");
	ASSERT_SERVED(s.port, zw, "7.0.0");
	/* the operator's view: versions, roles and pins; the token guards it */
	long st;
	admin_set_token("0123456789abcdef-token");
	json_t *v = call(s.port, "GET", "/admin/rollout", NULL, NULL, &st);
	ck_assert_int_eq(st, 401);
	json_decref(v);
	v = call(s.port, "GET", "/admin/rollout", "0123456789abcdef-tokeN", NULL, &st);
	ck_assert_int_eq(st, 403);
	json_decref(v);
	v = call(s.port, "GET", "/admin/rollout", "0123456789abcdef-token", NULL, &st);
	ck_assert_int_eq(st, 200);
	json_t *mass = json_array_get(json_object_get(v, "editions"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(mass, "id")), "mass");
	ck_assert_str_eq(json_string_value(json_object_get(mass, "canary")), "7.1.0");
	json_t *v710 = json_array_get(json_object_get(mass, "versions"), 1);
	ck_assert_str_eq(json_string_value(json_object_get(v710, "role")), "canary");
	ck_assert_int_eq(json_integer_value(json_object_get(v710, "sessions_pinned")), 1);
	json_decref(v);
	admin_set_token(NULL);
	free(zw);
	free(zw2);
	free(cj);
	server_stop(&s);
}
END_TEST

START_TEST(test_admin_token_file)
{
	static const struct { const char *text; int rc; } cases[] = {
		{ "short\n", -1 },
		{ "with a space in it, long enough\n", -1 },
		{ "", -1 },
		{ "0123456789abcdef0123456789abcdef\n", 0 },
		{ "0123456789abcdef\r\nsecond line ignored", 0 },
	};
	char path[128];

	snprintf(path, sizeof path, "%s/token", dir);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		strbuf err = STRBUF_INIT;
		FILE *fp = fopen(path, "w");
		fputs(cases[i].text, fp);
		fclose(fp);
		ck_assert_msg(admin_load_token(path, &err) == cases[i].rc, "case %zu: %s", i, err.buf);
		ck_assert(cases[i].rc == 0 || strstr(err.buf, "admin token file"));
		strbuf_release(&err);
	}
	strbuf err = STRBUF_INIT;
	ck_assert_int_eq(admin_load_token("/nonexistent/token", &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, "cannot read admin token file '/nonexistent/token'"));
	strbuf_release(&err);
	admin_set_token(NULL);
}
END_TEST

Suite *suite_rollout(void);

Suite *suite_rollout(void)
{
	Suite *s = suite_create("rollout");
	TCase *tc = tcase_create("rollout");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_bad_files_refused);
	tcase_add_test(tc, test_whitelist_and_percentage);
	tcase_add_test(tc, test_versions_in_one_set);
	tcase_add_test(tc, test_foreign_and_duplicate_refused);
	tcase_add_test(tc, test_old_set_freed_by_last_holder);
	tcase_add_test(tc, test_sessions_pinned_and_moved);
	tcase_add_test(tc, test_admin_token_file);
	suite_add_tcase(s, tc);
	return s;
}
