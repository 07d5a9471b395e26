/*
 * test_emit: canonical JSON, deterministic gzip, and whole-edition packs built
 * from the small bank of tests/cli/editions (the CLI tests' editions):
 * sections hold what docs/pack-format.md says, builds are byte-identical, and
 * a build with an error writes nothing.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "canon.h"
#include "emit.h"
#include "model.h"
#include "pack.h"

#define FIXTURE "tests/cli/editions"

static arena *A;

static void setup(void)
{
	A = arena_new();
}

static void teardown(void)
{
	arena_free(A);
}

static node *sc(const char *s, int quoted)
{
	return node_new_scalar(A, (src_pos){ "t.yaml", 1, 1 }, s, strlen(s), quoted);
}

static void set(node *m, const char *k, node *v)
{
	node_map_set(A, m, sc(k, 0), v);
}

static void expect_canon(const node *n, const char *want)
{
	json_t *j = canon_from_node(n, NULL);
	ck_assert_ptr_nonnull(j);
	strbuf sb = STRBUF_INIT;
	ck_assert_int_eq(canon_dump(j, &sb), 0);
	ck_assert_str_eq(sb.buf, want);
	strbuf_release(&sb);
	json_decref(j);
	strbuf direct = STRBUF_INIT;             /* the writer without jansson: same bytes */
	ck_assert_int_eq(canon_write_node(n, NULL, NULL, NULL, NULL, &direct), 0);
	ck_assert_str_eq(direct.buf, want);
	strbuf_release(&direct);
}

START_TEST(test_canonical_json)
{
	node *m = node_new_map(A, (src_pos){ 0 });
	set(m, "zeta", sc("1", 0));
	set(m, "alpha", sc("2", 1));                 /* quoted: stays a string */
	set(m, "Beta", sc("0x10", 0));
	set(m, "scale", sc("1.4", 0));
	set(m, "on", sc("true", 0));
	set(m, "nothing", sc("~", 0));
	set(m, "inf", sc(".inf", 0));                /* no JSON form: kept as written */
	set(m, "text", sc("首页 \"q\"", 0));
	set(m, "é", sc("yes", 1));
	node *seq = node_new_seq(A, (src_pos){ 0 });
	node_seq_push(A, seq, sc("3", 0));
	node_seq_push(A, seq, sc("-7", 0));
	node_seq_push(A, seq, sc("x", 0));
	set(m, "list", seq);
	expect_canon(m, "{\"Beta\":16,\"alpha\":\"2\",\"inf\":\".inf\",\"list\":[3,-7,\"x\"],"
		     "\"nothing\":null,\"on\":true,\"scale\":1.4,\"text\":\"首页 \\\"q\\\"\","
		     "\"zeta\":1,\"é\":\"yes\"}");
	node *t = sc("12", 0);
	t->tag = "!!str";
	expect_canon(t, "\"12\"");
	expect_canon(sc("0.30000000000000004", 0), "0.3");
	/* every kind of scalar the core schema knows, plain and quoted */
	expect_canon(sc("+5", 0), "5");
	expect_canon(sc("-0x1F", 0), "\"-0x1F\"");
	expect_canon(sc("0o17", 0), "15");
	expect_canon(sc(".5", 0), "0.5");
	expect_canon(sc("-.inf", 0), "\"-.inf\"");
	expect_canon(sc("True", 0), "true");
	expect_canon(sc("FALSE", 0), "false");
	expect_canon(sc("tru", 0), "\"tru\"");
	expect_canon(sc("Null", 0), "null");
	expect_canon(sc("", 0), "null");
	expect_canon(sc("null", 1), "\"null\"");
	expect_canon(sc("true", 1), "\"true\"");
	expect_canon(sc("95577", 1), "\"95577\"");
	node *ti = sc("42", 0);
	ti->tag = "!!int";
	expect_canon(ti, "42");
	expect_canon(sc("1e3", 0), "1000.0");
}
END_TEST

START_TEST(test_canonical_bad_utf8)
{
	node *m = node_new_map(A, (src_pos){ 0 });
	node *bad = sc("ok \xff\xfe", 0);
	set(m, "k", bad);
	const node *where = NULL;
	ck_assert_ptr_null(canon_from_node(m, &where));
	ck_assert_ptr_eq(where, bad);
	node *m2 = node_new_map(A, (src_pos){ 0 });
	node *badkey = sc("\xc3", 0);
	node_map_set(A, m2, badkey, sc("v", 0));
	where = NULL;
	ck_assert_ptr_null(canon_from_node(m2, &where));
	ck_assert_ptr_eq(where, badkey);
}
END_TEST

static const char *test_text(void *arg, const char *key)
{
	return json_string_value(json_object_get(arg, key));
}

/* canon_write_node: texts replaced where resolve_texts would, escapes as jansson's. */
START_TEST(test_direct_writer)
{
	json_t *texts = json_pack("{s:s, s:s}", "home.title", "首页", "cut", "a");
	node *m = node_new_map(A, (src_pos){ 0 });
	set(m, "title", sc("home.title", 0));
	set(m, "text", sc("no.such.key", 0));
	set(m, "label", sc("5", 0));                 /* a number: never a key */
	set(m, "hint", sc("true", 1));               /* quoted: a string, looked up, absent */
	node *seq = node_new_seq(A, (src_pos){ 0 });
	node_seq_push(A, seq, sc("home.title", 0));  /* list items are not text attributes */
	set(m, "title_list", seq);
	node *inner = node_new_map(A, (src_pos){ 0 });
	set(inner, "caption", sc("home.title", 0));
	set(inner, "x", sc("home.title", 0));
	set(m, "nested", inner);
	set(m, "esc", node_new_scalar(A, (src_pos){ 0 }, "a\"b\\c\n\t\x01\x1f\x7f/\0z", 13, 1));
	set(m, "tag", sc("from", 0));
	static const char *const attrs[] = { "title", "text", "label", "hint", "caption", NULL };
	strbuf sb = STRBUF_INIT;
	ck_assert_int_eq(canon_write_node(m, NULL, attrs, test_text, texts, &sb), 0);
	ck_assert_str_eq(sb.buf, "{\"esc\":\"a\\\"b\\\\c\\n\\t\\u0001\\u001F\x7f/\\u0000z\",\"hint\":\"true\","
			 "\"label\":5,\"nested\":{\"caption\":\"首页\",\"x\":\"home.title\"},\"tag\":\"from\","
			 "\"text\":\"no.such.key\",\"title\":\"首页\",\"title_list\":[\"home.title\"]}");
	/* the same bytes as jansson's general path */
	json_t *j = canon_from_node(m, NULL);
	json_object_set_new(j, "title", json_string("首页"));
	json_object_set_new(json_object_get(j, "nested"), "caption", json_string("首页"));
	strbuf ref = STRBUF_INIT;
	ck_assert_int_eq(canon_dump(j, &ref), 0);
	ck_assert_str_eq(sb.buf, ref.buf);
	json_decref(j);
	strbuf_release(&ref);
	/* what it leaves to jansson: out unchanged */
	strbuf_reset(&sb);
	strbuf_adds(&sb, "keep");
	node *bad = node_new_map(A, (src_pos){ 0 });
	set(bad, "k", sc("ok \xff", 0));
	ck_assert_int_eq(canon_write_node(bad, NULL, NULL, NULL, NULL, &sb), -1);
	node *twice = node_new_map(A, (src_pos){ 0 });
	node_map_push(A, twice, sc("k", 0), sc("1", 0));
	node_map_push(A, twice, sc("k", 0), sc("2", 0));
	ck_assert_int_eq(canon_write_node(twice, NULL, NULL, NULL, NULL, &sb), -1);
	node *nul = node_new_map(A, (src_pos){ 0 });
	node_map_push(A, nul, node_new_scalar(A, (src_pos){ 0 }, "a\0b", 3, 0), sc("1", 0));
	ck_assert_int_eq(canon_write_node(nul, NULL, NULL, NULL, NULL, &sb), -1);
	ck_assert_str_eq(sb.buf, "keep");
	strbuf_release(&sb);
	json_decref(texts);
}
END_TEST

/* canon_write_string and canon_utf8_valid agree with jansson on every kind of text. */
START_TEST(test_strings_like_jansson)
{
	static const char *const texts[] = {
		"", "plain", "末 首页", "x\"y\\z", "line\nbreak\ttab\r", "\x01\x1f\x7f", "a/b", "é€𝄞",
		"\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80",
		"\xff", "ok\xe4\xb8",
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		json_t *j = json_stringn(texts[i], strlen(texts[i]));
		ck_assert_int_eq(canon_utf8_valid(texts[i], strlen(texts[i])), j != NULL);
		if (!j)
			continue;
		strbuf fast = STRBUF_INIT, ref = STRBUF_INIT;
		canon_write_string(&fast, texts[i], strlen(texts[i]));
		ck_assert_int_eq(canon_dump(j, &ref), 0);
		ck_assert_str_eq(fast.buf, ref.buf);
		strbuf_release(&fast);
		strbuf_release(&ref);
		json_decref(j);
	}
	strbuf nul = STRBUF_INIT;
	canon_write_string(&nul, "a\0b", 3);
	ck_assert_str_eq(nul.buf, "\"a\\u0000b\"");
	strbuf_release(&nul);
}
END_TEST

static void gunzip(const strbuf *gz, strbuf *out)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	ck_assert_int_eq(inflateInit2(&z, 31), Z_OK);
	unsigned char buf[4096];
	z.next_in = (Bytef *)gz->buf;
	z.avail_in = (uInt)gz->len;
	int rc;
	do {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		rc = inflate(&z, Z_NO_FLUSH);
		ck_assert(rc == Z_OK || rc == Z_STREAM_END);
		strbuf_add(out, buf, sizeof(buf) - z.avail_out);
	} while (rc != Z_STREAM_END);
	ck_assert_uint_eq(z.avail_in, 0);
	inflateEnd(&z);
}

START_TEST(test_gzip_deterministic)
{
	strbuf in = STRBUF_INIT, a = STRBUF_INIT, b = STRBUF_INIT, back = STRBUF_INIT;
	for (int i = 0; i < 500; i++)
		strbuf_addf(&in, "{\"component\":\"tile\",\"label\":\"转账 %d\"},", i);
	emit_gzip(in.buf, in.len, &a);
	emit_gzip(in.buf, in.len, &b);
	ck_assert_uint_eq(a.len, b.len);
	ck_assert_int_eq(memcmp(a.buf, b.buf, a.len), 0);
	ck_assert_uint_lt(a.len, in.len / 4);
	/* gzip header: magic, deflate, no flags (no name), mtime 0 */
	ck_assert_int_eq((unsigned char)a.buf[0], 0x1f);
	ck_assert_int_eq((unsigned char)a.buf[1], 0x8b);
	ck_assert_int_eq(a.buf[2], 8);
	ck_assert_int_eq(a.buf[3], 0);
	ck_assert_int_eq(a.buf[4] | a.buf[5] | a.buf[6] | a.buf[7], 0);
	gunzip(&a, &back);
	ck_assert_uint_eq(back.len, in.len);
	ck_assert_int_eq(memcmp(back.buf, in.buf, in.len), 0);
	strbuf_reset(&a);
	emit_gzip("", 0, &a);
	strbuf_reset(&back);
	gunzip(&a, &back);
	ck_assert_uint_eq(back.len, 0);
	strbuf_release(&in);
	strbuf_release(&a);
	strbuf_release(&b);
	strbuf_release(&back);
}
END_TEST

/* --- whole editions ----------------------------------------------------- */

static project *load(const char *dir)
{
	project *p = project_new();
	ck_assert_int_eq(project_load(p, dir), 0);
	project_resolve(p);
	ck_assert_int_eq(diag_errors(p->diag), 0);
	return p;
}

static pack *emit_and_open(project *p, const char *id, strbuf *bytes)
{
	edition *e = project_find(p, id);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(emit_pack(p, e, NULL, bytes, NULL), 0);
	pack *pk = NULL;
	strbuf err = STRBUF_INIT;
	if (pack_open_mem(bytes->buf, bytes->len, NULL, &pk, &err))
		ck_abort_msg("emitted pack refused: %s", err.buf);
	strbuf_release(&err);
	return pk;
}

static json_t *entry_json(const pack *pk, int section, const char *name)
{
	size_t len;
	const void *d = pack_get(pk, section, name, &len);
	ck_assert_ptr_nonnull(d);
	json_t *j = json_loadb(d, len, 0, NULL);
	ck_assert_ptr_nonnull(j);
	/* canonical: dumping the parsed value again gives the same bytes */
	char *again = canon_dumps(j);
	ck_assert_uint_eq(strlen(again), len);
	ck_assert_int_eq(memcmp(again, d, len), 0);
	free(again);
	return j;
}

START_TEST(test_edition_sections)
{
	project *p = load(FIXTURE);
	strbuf bytes = STRBUF_INIT;
	pack *pk = emit_and_open(p, "care", &bytes);
	ck_assert_str_eq(pack_get_info(pk)->edition, "care");
	ck_assert_str_eq(pack_get_info(pk)->lua_version, "5.4");

	json_t *meta = entry_json(pk, PACK_META, "json");
	ck_assert_str_eq(json_string_value(json_object_get(meta, "title")), "华兴关怀版");
	json_t *chain = json_object_get(meta, "chain");
	ck_assert_uint_eq(json_array_size(chain), 3);
	ck_assert_str_eq(json_string_value(json_array_get(chain, 2)), "personal");
	ck_assert_ptr_null(json_object_get(meta, "screens"));
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(meta, "limits"), "transfer_single")), 500000);

	size_t len;
	const char *css = pack_get(pk, PACK_THEME, "css", &len);
	ck_assert_ptr_nonnull(strstr(css, "--font-scale:1.3;"));
	ck_assert_ptr_nonnull(strstr(css, "--touch-target:56px;"));
	ck_assert_ptr_nonnull(strstr(css, "--max-tiles:6;"));
	ck_assert_ptr_nonnull(strstr(css, "--auxiliary-2:#F2ECE4;"));

	/* every screen: text resolved, gzip body is exactly the JSON */
	ck_assert_uint_eq(pack_count(pk, PACK_SCREENS), 4);
	ck_assert_uint_eq(pack_count(pk, PACK_SCREENS_GZ), 4);
	for (size_t i = 0; i < pack_count(pk, PACK_SCREENS); i++) {
		const void *d;
		const char *id = pack_entry(pk, PACK_SCREENS, i, &d, &len);
		size_t gl;
		const void *g = pack_get(pk, PACK_SCREENS_GZ, id, &gl);
		ck_assert_ptr_nonnull(g);
		strbuf gz = STRBUF_INIT, back = STRBUF_INIT;
		strbuf_add(&gz, g, gl);
		gunzip(&gz, &back);
		ck_assert_uint_eq(back.len, len);
		ck_assert_int_eq(memcmp(back.buf, d, len), 0);
		strbuf_release(&gz);
		strbuf_release(&back);
	}
	json_t *home = entry_json(pk, PACK_SCREENS, "home");
	ck_assert_str_eq(json_string_value(json_object_get(home, "title")), "首页");
	json_t *tiles = json_object_get(json_array_get(json_object_get(home, "layout"), 1), "children");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(tiles, 1), "label")), "理财");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(tiles, 1), "to")), "wealth");

	json_t *routes = entry_json(pk, PACK_ROUTES, "json");
	ck_assert_uint_eq(json_array_size(routes), 5);
	const char *prev = "";
	for (size_t i = 0; i < json_array_size(routes); i++) {
		json_t *r = json_array_get(routes, i);
		const char *rid = json_string_value(json_object_get(r, "id"));
		ck_assert_int_lt(strcmp(prev, rid), 0);
		ck_assert_ptr_nonnull(json_object_get(r, "method"));
		prev = rid;
	}

	const unsigned char *code = pack_get(pk, PACK_FLOWS, "transfer", &len);
	ck_assert_ptr_nonnull(code);
	ck_assert_int_eq(memcmp(code, "\x1bLua\x54", 5), 0);
	json_t *specs = entry_json(pk, PACK_FLOW_SPECS, "json");
	json_t *tr = json_object_get(specs, "transfer");
	ck_assert_str_eq(json_string_value(json_object_get(tr, "fallback")), "服务暂不可用");
	ck_assert_ptr_null(json_object_get(tr, "script"));
	ck_assert_int_eq(json_is_true(json_object_get(tr, "confirm")), 1);

	json_t *products = entry_json(pk, PACK_PRODUCTS, "json");
	ck_assert_uint_eq(json_array_size(products), 2);     /* only the listed ones */
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(products, 0), "id")), "xingedai");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(products, 0), "name")), "兴e贷");

	json_t *strings = entry_json(pk, PACK_STRINGS, "json");
	ck_assert_str_eq(json_string_value(json_object_get(strings, "home.title")), "首页");

	json_decref(meta);
	json_decref(home);
	json_decref(routes);
	json_decref(specs);
	json_decref(products);
	json_decref(strings);
	pack_free(pk);
	strbuf_release(&bytes);
	project_free(p);
}
END_TEST

static node *psc(project *p, const char *s)
{
	return node_new_scalar(p->arena, (src_pos){ "t.yaml", 1, 1 }, s, strlen(s), 0);
}

/* The texts table: a key given twice keeps its last text; text that is not UTF-8 is an error. */
START_TEST(test_edition_texts)
{
	project *p = load(FIXTURE);
	edition *e = project_find(p, "care");
	ck_assert_ptr_nonnull(e);
	node *m = (node *)edition_strings(p, e);
	ck_assert_ptr_nonnull(m);
	node_map_push(p->arena, m, psc(p, "home.title"), psc(p, "再见"));
	strbuf bytes = STRBUF_INIT;
	pack *pk = emit_and_open(p, "care", &bytes);
	json_t *strings = entry_json(pk, PACK_STRINGS, "json");
	ck_assert_str_eq(json_string_value(json_object_get(strings, "home.title")), "再见");
	json_t *home = entry_json(pk, PACK_SCREENS, "home");
	ck_assert_str_eq(json_string_value(json_object_get(home, "title")), "再见");
	json_decref(strings);
	json_decref(home);
	pack_free(pk);
	node_map_push(p->arena, m, psc(p, "bad.text"), psc(p, "ok \xff"));
	strbuf_reset(&bytes);
	ck_assert_int_eq(emit_pack(p, e, NULL, &bytes, NULL), -1);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	diag_print(p->diag, f, DIAG_TEXT, 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(text, "string 'bad.text' is not valid UTF-8 [emit-encoding]"));
	free(text);
	strbuf_release(&bytes);
	project_free(p);
}
END_TEST

START_TEST(test_edition_deterministic_and_relocatable)
{
	char dir[] = "/tmp/test_emit_XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/x/y && cp -r " FIXTURE " %s/x/y/eds", dir, dir);
	ck_assert_int_eq(system(cmd), 0);
	project *p1 = load(FIXTURE);
	char copy[256];
	snprintf(copy, sizeof(copy), "%s/x/y/eds", dir);
	project *p2 = load(copy);
	strbuf a = STRBUF_INIT, b = STRBUF_INIT, c = STRBUF_INIT;
	const char *ids[] = { "mass", "care" };
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(emit_pack(p1, project_find(p1, ids[i]), NULL, &a, NULL), 0);
		ck_assert_int_eq(emit_pack(p1, project_find(p1, ids[i]), NULL, &b, NULL), 0);
		ck_assert_int_eq(emit_pack(p2, project_find(p2, ids[i]), NULL, &c, NULL), 0);
		ck_assert_uint_eq(a.len, b.len);
		ck_assert_uint_eq(a.len, c.len);
		ck_assert_int_eq(memcmp(a.buf, b.buf, a.len), 0);
		ck_assert_int_eq(memcmp(a.buf, c.buf, a.len), 0);
	}
	project_free(p1);
	project_free(p2);
	strbuf_release(&a);
	strbuf_release(&b);
	strbuf_release(&c);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.' || strncmp(e->d_name, ".editionc-tmp", 13) == 0;
	closedir(d);
	return n;
}

START_TEST(test_build_writes_all_or_nothing)
{
	char dir[] = "/tmp/test_emit_XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char cmd[512], out[300], src[300];
	snprintf(src, sizeof(src), "%s/eds", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(cmd, sizeof(cmd), "cp -r " FIXTURE " %s", src);
	ck_assert_int_eq(system(cmd), 0);

	project *p = load(src);
	ck_assert_int_eq(emit_build(p, out, NULL, NULL), 0);
	ck_assert_int_eq(count_entries(out), 3);              /* two packs and the manifest */
	struct stat st;
	char f[400];
	snprintf(f, sizeof(f), "%s/care-1.0.0.pack", out);
	ck_assert_int_eq(stat(f, &st), 0);
	/* the threaded build writes exactly what emit_pack makes for each edition */
	const char *ids[] = { "care", "mass" };
	for (int i = 0; i < 2; i++) {
		strbuf file = STRBUF_INIT, mem = STRBUF_INIT;
		snprintf(f, sizeof(f), "%s/%s-1.0.0.pack", out, ids[i]);
		ck_assert_int_eq(strbuf_read_file(&file, f, 1 << 20), 0);
		ck_assert_int_eq(emit_pack(p, project_find(p, ids[i]), NULL, &mem, NULL), 0);
		ck_assert_uint_eq(file.len, mem.len);
		ck_assert_int_eq(memcmp(file.buf, mem.buf, mem.len), 0);
		strbuf_release(&file);
		strbuf_release(&mem);
	}
	snprintf(f, sizeof(f), "%s/manifest.json", out);
	strbuf man = STRBUF_INIT;
	ck_assert_int_eq(strbuf_read_file(&man, f, 1 << 20), 0);
	ck_assert_ptr_nonnull(strstr(man.buf, "\"file\":\"care-1.0.0.pack\""));
	ck_assert_int_eq(man.buf[man.len - 1], '\n');
	strbuf_release(&man);
	snprintf(f, sizeof(f), "%s/care-1.0.0.pack", out);
	project_free(p);

	/* a flow that does not compile: emit reports it and writes nothing */
	snprintf(cmd, sizeof(cmd), "echo 'return function(' >> %s/flows/transfer.lua", src);
	ck_assert_int_eq(system(cmd), 0);
	unlink(f);
	p = load(src);
	ck_assert_int_eq(emit_build(p, out, NULL, NULL), -1);
	ck_assert_int_gt(diag_errors(p->diag), 0);
	ck_assert_int_eq(count_entries(out), 2);              /* nothing new */
	ck_assert_int_eq(count_entries(dir), 2);              /* eds and out: no temporary left */
	project_free(p);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

Suite *suite_emit(void);

Suite *suite_emit(void)
{
	Suite *s = suite_create("emit");
	TCase *tc = tcase_create("canon");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_canonical_json);
	tcase_add_test(tc, test_canonical_bad_utf8);
	tcase_add_test(tc, test_direct_writer);
	tcase_add_test(tc, test_strings_like_jansson);
	tcase_add_test(tc, test_gzip_deterministic);
	suite_add_tcase(s, tc);
	tc = tcase_create("edition");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_edition_sections);
	tcase_add_test(tc, test_edition_texts);
	tcase_add_test(tc, test_edition_deterministic_and_relocatable);
	tcase_add_test(tc, test_build_writes_all_or_nothing);
	suite_add_tcase(s, tc);
	return s;
}
