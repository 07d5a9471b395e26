/*
 * Registry: a directory of packs written here with pack_writer loads into a
 * set with parsed sections and indexed routes; one bad pack refuses the set;
 * references keep a swapped-out set alive until its last user lets go.
 */
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "registry.h"

static char dir[64];

static const char ROUTES[] =
	"[{\"auth\":\"none\",\"id\":\"home\",\"method\":\"GET\",\"path\":\"/home\",\"screen\":\"home\"},"
	"{\"auth\":\"step_up\",\"flow\":\"transfer\",\"id\":\"transfer-submit\",\"method\":\"POST\","
	"\"path\":\"/transfer\",\"then\":\"home\"},"
	"{\"auth\":\"login\",\"id\":\"transfer\",\"method\":\"GET\",\"path\":\"/transfer\",\"screen\":\"home\"}]";

static void write_pack_segment(const char *edition, const char *routes, int corrupt,
			       const char *segment);

static void write_pack(const char *edition, const char *routes, int corrupt)
{
	write_pack_segment(edition, routes, corrupt, "personal");
}

static void write_pack_segment(const char *edition, const char *routes, int corrupt,
			       const char *segment)
{
	pack_writer *w = pack_writer_new(edition, "1.0.0", "1.0.0", "5.4");
	strbuf out = STRBUF_INIT, err = STRBUF_INIT, meta = STRBUF_INIT, path = STRBUF_INIT;
	const char *screen = "{\"id\":\"home\",\"layout\":[]}";
	FILE *fp;

	strbuf_addf(&meta, "{\"edition\":\"%s\",\"home\":\"home\",\"segment\":\"%s\"}", edition, segment);
	pack_writer_add(w, PACK_META, "json", meta.buf, meta.len);
	pack_writer_add(w, PACK_THEME, "css", ":root{--primary:#C8102E}", 24);
	pack_writer_add(w, PACK_STRINGS, "json", "{\"ui.home\":\"Home\"}", 18);
	pack_writer_add(w, PACK_ROUTES, "json", routes, strlen(routes));
	pack_writer_add(w, PACK_SCREENS, "home", screen, strlen(screen));
	pack_writer_add(w, PACK_SCREENS_GZ, "home", "gz", 2);
	pack_writer_add(w, PACK_FLOW_SPECS, "json", "{}", 2);
	pack_writer_add(w, PACK_PRODUCTS, "json", "[]", 2);
	ck_assert_int_eq(pack_writer_finish(w, NULL, &out, &err), 0);
	if (corrupt)
		out.buf[out.len / 2] ^= 0x5a;
	strbuf_addf(&path, "%s/%s.pack", dir, edition);
	fp = fopen(path.buf, "wb");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(out.buf, 1, out.len, fp), out.len);
	fclose(fp);
	pack_writer_free(w);
	strbuf_release(&out);
	strbuf_release(&err);
	strbuf_release(&meta);
	strbuf_release(&path);
}

static void setup(void)
{
	strcpy(dir, "/tmp/registry-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_load_and_lookup)
{
	registry *r;
	strbuf err = STRBUF_INIT;
	const rt_edition *e;
	const rt_route *rt;
	size_t len;

	write_pack("mass", ROUTES, 0);
	write_pack("care", ROUTES, 0);
	ck_assert_msg(registry_load(dir, NULL, &r, &err) == 0, "%s", err.buf);
	ck_assert_uint_eq(registry_count(r), 2);
	ck_assert_str_eq(registry_at(r, 0)->id, "care");
	ck_assert_str_eq(registry_at(r, 1)->id, "mass");
	e = registry_find(r, "mass");
	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_null(registry_find(r, "english"));
	rt = edition_route_by_path(e, "POST", "/transfer");
	ck_assert_ptr_nonnull(rt);
	ck_assert_str_eq(rt->id, "transfer-submit");
	ck_assert_str_eq(rt->auth, "step_up");
	ck_assert_str_eq(rt->then, "home");
	rt = edition_route_by_path(e, "GET", "/transfer");
	ck_assert_str_eq(rt->id, "transfer");
	ck_assert_ptr_null(edition_route_by_path(e, "GET", "/nowhere"));
	ck_assert_ptr_null(edition_route_by_path(e, "DELETE", "/home"));
	ck_assert_str_eq(edition_route_by_id(e, "home")->path, "/home");
	ck_assert_ptr_null(edition_route_by_id(e, "nope"));
	ck_assert_str_eq(json_string_value(json_object_get(edition_screen(e, "home"), "id")), "home");
	ck_assert_ptr_nonnull(edition_screen_json(e, "home", &len));
	ck_assert_uint_eq(len, strlen("{\"id\":\"home\",\"layout\":[]}"));
	ck_assert_ptr_nonnull(edition_screen_gz(e, "home", &len));
	ck_assert_str_eq(edition_string(e, "ui.home"), "Home");
	{
		unsigned char h[32];
		char want[36] = "\"";
		const char *json = "{\"id\":\"home\",\"layout\":[]}";
		crypto_hash_sha256(h, (const unsigned char *)json, strlen(json));
		sodium_bin2hex(want + 1, 33, h, 16);
		strcat(want, "\"");
		ck_assert_str_eq(edition_screen_etag(e, "home", 0), want);
		ck_assert_str_ne(edition_screen_etag(e, "home", 1), want);
		ck_assert_ptr_null(edition_screen_etag(e, "nope", 0));
	}
	ck_assert_str_eq(edition_string(e, "ui.absent"), "ui.absent");
	ck_assert_str_eq(json_string_value(json_object_get(e->meta, "segment")), "personal");
	ck_assert_int_eq(strncmp(e->css, ":root{", 6), 0);
	registry_release(r);
	strbuf_release(&err);
}
END_TEST

START_TEST(test_corrupt_pack_refuses_set)
{
	registry *r = NULL;
	strbuf err = STRBUF_INIT;

	write_pack("mass", ROUTES, 0);
	write_pack("care", ROUTES, 1);
	ck_assert_int_eq(registry_load(dir, NULL, &r, &err), -1);
	ck_assert_ptr_null(r);
	ck_assert_msg(strstr(err.buf, "care.pack") != NULL, "%s", err.buf);
	strbuf_release(&err);
}
END_TEST

START_TEST(test_bad_route_json_refuses_set)
{
	registry *r = NULL;
	strbuf err = STRBUF_INIT;

	write_pack("mass", "[{\"id\":\"x\"", 0);
	ck_assert_int_eq(registry_load(dir, NULL, &r, &err), -1);
	ck_assert_msg(strstr(err.buf, "mass.pack") && strstr(err.buf, "bad json"), "%s", err.buf);
	strbuf_release(&err);
}
END_TEST

START_TEST(test_empty_or_missing_dir)
{
	registry *r = NULL;
	strbuf err = STRBUF_INIT;

	ck_assert_int_eq(registry_load(dir, NULL, &r, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, "no pack"));
	strbuf_reset(&err);
	ck_assert_int_eq(registry_load("/nonexistent/packs", NULL, &r, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, "/nonexistent/packs"));
	strbuf_release(&err);
}
END_TEST

START_TEST(test_swap_keeps_old_set_alive)
{
	registry *a, *b, *held;
	strbuf err = STRBUF_INIT;

	write_pack("mass", ROUTES, 0);
	ck_assert_int_eq(registry_load(dir, NULL, &a, &err), 0);
	ck_assert_int_eq(registry_load(dir, NULL, &b, &err), 0);
	registry_swap(a);
	held = registry_acquire();
	ck_assert_ptr_eq(held, a);
	registry_swap(b);                       /* a stays alive: held has a reference */
	ck_assert_str_eq(registry_find(held, "mass")->id, "mass");
	ck_assert_str_eq(edition_route_by_id(registry_find(held, "mass"), "home")->path, "/home");
	registry_release(held);                 /* frees a (ASan would see a use after free) */
	held = registry_acquire();
	ck_assert_ptr_eq(held, b);
	registry_release(held);
	registry_swap(NULL);
	ck_assert_ptr_null(registry_acquire());
	strbuf_release(&err);
}
END_TEST

static session who(const char *tier, const char *preference, long long enterprise, const char *role)
{
	session s;

	memset(&s, 0, sizeof s);
	s.customer_id = 1;
	snprintf(s.tier, sizeof s.tier, "%s", tier);
	snprintf(s.preference, sizeof s.preference, "%s", preference);
	strcpy(s.identities[0].key, "personal");
	s.n_identities = 1;
	if (enterprise) {
		snprintf(s.identities[1].key, sizeof s.identities[1].key, "enterprise:%lld", enterprise);
		s.identities[1].enterprise_id = enterprise;
		snprintf(s.identities[1].role, sizeof s.identities[1].role, "%s", role);
		s.n_identities = 2;
		s.current = 1;
	}
	return s;
}

/* The edition follows who you are (docs/architecture.md section 6). */
START_TEST(test_edition_choice)
{
	static const struct { const char *tier, *pref; long long ent; const char *role, *want; } cases[] = {
		{ "mass", "", 0, "", "mass" },
		{ "private", "", 0, "", "private-banking" },
		{ "private", "care", 0, "", "private-banking" },
		{ "mass", "care", 0, "", "care" },
		{ "mass", "english", 0, "", "english" },
		{ "mass", "", 7, "boss", "enterprise-boss" },
		{ "private", "care", 7, "operator", "enterprise-standard" },
	};
	static const char *const eds[] = { "mass", "care", "english", "private-banking" };
	registry *r;
	strbuf err = STRBUF_INIT;

	for (size_t i = 0; i < 4; i++)
		write_pack(eds[i], ROUTES, 0);
	write_pack_segment("enterprise-standard", ROUTES, 0, "enterprise");
	write_pack_segment("enterprise-boss", ROUTES, 0, "enterprise");
	ck_assert_msg(registry_load(dir, NULL, &r, &err) == 0, "%s", err.buf);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		session s = who(cases[i].tier, cases[i].pref, cases[i].ent, cases[i].role);
		const rt_edition *e = app_edition_for(r, &s);
		ck_assert_msg(e && !strcmp(e->id, cases[i].want), "case %zu: %s", i, e ? e->id : "none");
		ck_assert(app_identity_fits(&s, e));
	}
	session personal = who("mass", "", 0, ""), op = who("mass", "", 7, "operator");
	ck_assert(!app_identity_fits(&personal, registry_find(r, "enterprise-standard")));
	ck_assert(!app_identity_fits(&op, registry_find(r, "enterprise-boss")));
	ck_assert(app_identity_fits(&op, registry_find(r, "enterprise-standard")));
	session anonymous;
	memset(&anonymous, 0, sizeof anonymous);
	ck_assert_ptr_null(app_edition_for(r, &anonymous));
	registry_release(r);
	strbuf_release(&err);
}
END_TEST

/* A missing edition falls back to its segment's general one. */
START_TEST(test_edition_choice_fallback)
{
	registry *r;
	strbuf err = STRBUF_INIT;
	session boss = who("mass", "", 7, "boss"), care = who("mass", "care", 0, "");

	write_pack("mass", ROUTES, 0);
	write_pack_segment("enterprise-standard", ROUTES, 0, "enterprise");
	ck_assert_msg(registry_load(dir, NULL, &r, &err) == 0, "%s", err.buf);
	ck_assert_str_eq(app_edition_for(r, &boss)->id, "enterprise-standard");
	ck_assert_str_eq(app_edition_for(r, &care)->id, "mass");
	registry_release(r);
	strbuf_release(&err);
}
END_TEST

Suite *suite_registry(void);

Suite *suite_registry(void)
{
	Suite *s = suite_create("registry");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_load_and_lookup);
	tcase_add_test(tc, test_corrupt_pack_refuses_set);
	tcase_add_test(tc, test_bad_route_json_refuses_set);
	tcase_add_test(tc, test_empty_or_missing_dir);
	tcase_add_test(tc, test_swap_keeps_old_set_alive);
	tcase_add_test(tc, test_edition_choice);
	tcase_add_test(tc, test_edition_choice_fallback);
	suite_add_tcase(s, tc);
	return s;
}
