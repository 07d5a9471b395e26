/*
 * test_read: YAML to nodes (positions, anchors, merge keys, scalar styles), the
 * limits that keep hostile input harmless, and loading an editions directory.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"

static project *P;

static void setup(void)
{
	P = project_new();
}

static void teardown(void)
{
	project_free(P);
	P = NULL;
}

static node *read_text(const char *text)
{
	return read_yaml_text(P, "t.yaml", text, strlen(text));
}

static char *printed(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	diag_print(P->diag, f, DIAG_TEXT, 0);
	fclose(f);
	return buf;
}

/* The first diagnostic line contains want (and the output is freed). */
static void assert_first_error(const char *want)
{
	char *out = printed();
	char *nl = strchr(out, '\n');
	if (nl)
		*nl = '\0';
	ck_assert_msg(strstr(out, want) != NULL, "got '%s', want '%s'", out, want);
	free(out);
}

START_TEST(test_positions)
{
	node *doc = read_text("edition: care\n"
			      "theme:\n"
			      "  font_scale: 1.4\n"
			      "  aux: [\"#E9EEF4\", x]\n"
			      "title: 标题\n"
			      "名字: 值\n");
	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(diag_errors(P->diag), 0);
	node *fs = node_get(node_get(doc, "theme"), "font_scale");
	ck_assert_str_eq(fs->pos.file, "t.yaml");
	ck_assert_int_eq(fs->pos.line, 3);
	ck_assert_int_eq(fs->pos.col, 15);
	node *aux = node_get(node_get(doc, "theme"), "aux");
	ck_assert_int_eq(aux->kind, NODE_SEQ);
	ck_assert_int_eq(aux->items[1]->pos.line, 4);
	ck_assert_int_eq(aux->items[1]->pos.col, 20);
	ck_assert_int_eq(aux->items[0]->quoted, 1);
	ck_assert_int_eq(aux->items[1]->quoted, 0);
	/* columns count characters, not bytes */
	node *v = node_get(doc, "名字");
	ck_assert_int_eq(v->pos.col, 5);
	ck_assert_int_eq(doc->keys[0]->pos.line, 1);
	ck_assert_int_eq(doc->keys[0]->pos.col, 1);
}
END_TEST

START_TEST(test_scalar_styles_and_tags)
{
	node *doc = read_text("a: 2\nb: \"2\"\nc: '2'\nd: |\n  text\ne: !!str 2\nf: !!int 3\ng: >\n  folded\nh:\n");
	long long i;
	ck_assert_int_eq(node_as_int(node_get(doc, "a"), &i), 0);
	ck_assert_int_eq(node_as_int(node_get(doc, "b"), &i), -1);
	ck_assert_int_eq(node_as_int(node_get(doc, "c"), &i), -1);
	ck_assert_int_eq(node_get(doc, "d")->quoted, 1);
	ck_assert_str_eq(node_get(doc, "d")->str, "text\n");
	ck_assert_str_eq(node_get(doc, "e")->tag, "!!str");
	ck_assert_int_eq(node_as_int(node_get(doc, "e"), &i), -1);
	ck_assert_str_eq(node_get(doc, "f")->tag, "!!int");
	ck_assert_int_eq(node_get(doc, "g")->quoted, 1);
	ck_assert_int_eq(node_get(doc, "h")->kind, NODE_SCALAR);
	ck_assert_uint_eq(node_get(doc, "h")->len, 0);
}
END_TEST

START_TEST(test_anchors_and_aliases)
{
	node *doc = read_text("colors: &c {primary: \"#C8102E\", text: \"#1F2329\"}\n"
			      "again: *c\n"
			      "list: &l [1, 2]\n"
			      "both: [*l, *l]\n"
			      "one: &s scalar\n"
			      "ref: *s\n");
	ck_assert_int_eq(diag_errors(P->diag), 0);
	ck_assert_ptr_eq(node_get(doc, "again"), node_get(doc, "colors"));
	node *both = node_get(doc, "both");
	ck_assert_ptr_eq(both->items[0], node_get(doc, "list"));
	ck_assert_str_eq(node_get_str(doc, "ref"), "scalar");
}
END_TEST

START_TEST(test_unknown_and_self_alias)
{
	node *doc = read_text("a: *nope\nb: &x [*x]\n");
	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(diag_errors(P->diag), 2);
	assert_first_error("t.yaml:1:4: error: unknown anchor 'nope' [unknown-anchor]");
}
END_TEST

START_TEST(test_merge_keys)
{
	node *doc = read_text("base: &base {a: 1, b: 2}\n"
			      "other: &o {b: 3, c: 4}\n"
			      "m1:\n"
			      "  <<: *base\n"
			      "  b: 9\n"
			      "m2:\n"
			      "  <<: [*o, *base]\n"
			      "  d: 5\n"
			      "m3: {\"<<\": 1}\n"
			      "m4: {!!merge <<: *o}\n");
	ck_assert_int_eq(diag_errors(P->diag), 0);
	node *m1 = node_get(doc, "m1");
	ck_assert_uint_eq(m1->count, 2);
	ck_assert_str_eq(node_get_str(m1, "a"), "1");
	ck_assert_str_eq(node_get_str(m1, "b"), "9");       /* explicit keys win */
	ck_assert_ptr_null(node_get(m1, "<<"));
	node *m2 = node_get(doc, "m2");
	ck_assert_uint_eq(m2->count, 4);
	ck_assert_str_eq(node_get_str(m2, "b"), "3");       /* earlier merged maps win */
	ck_assert_str_eq(node_get_str(m2, "a"), "1");
	ck_assert_str_eq(node_get_str(m2, "c"), "4");
	ck_assert_str_eq(node_get_str(m2, "d"), "5");
	/* a quoted "<<" is an ordinary key */
	ck_assert_str_eq(node_get_str(node_get(doc, "m3"), "<<"), "1");
	ck_assert_str_eq(node_get_str(node_get(doc, "m4"), "c"), "4");
	/* merged values keep where they were written */
	ck_assert_int_eq(node_get(m1, "a")->pos.line, 1);
}
END_TEST

START_TEST(test_bad_merge_value)
{
	node *doc = read_text("a:\n  <<: 3\n  b: 1\n");
	ck_assert_ptr_nonnull(doc);
	ck_assert_str_eq(node_get_str(node_get(doc, "a"), "b"), "1");
	assert_first_error("t.yaml:2:7: error: merge key '<<' needs a map or a list of maps [merge-key]");
}
END_TEST

START_TEST(test_duplicate_keys)
{
	node *doc = read_text("theme:\n  radius: 8\n  spacing: 4\n  radius: 12\n");
	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(diag_errors(P->diag), 1);
	node *theme = node_get(doc, "theme");
	ck_assert_uint_eq(theme->count, 2);
	ck_assert_str_eq(node_get_str(theme, "radius"), "8");
	char *out = printed();
	ck_assert_str_eq(out,
		"t.yaml:4:3: error: duplicate key 'radius' [duplicate-key]\n"
		"    4 |   radius: 12\n"
		"      |   ^\n"
		"t.yaml:2:3: note: 'radius' first defined here\n"
		"    2 |   radius: 8\n"
		"      |   ^\n"
		"1 error generated.\n");
	free(out);
}
END_TEST

START_TEST(test_many_keys_one_duplicate)
{
	/* the duplicate check must not be quadratic in spirit nor wrong on big maps */
	size_t n = 20000;
	char *text = malloc(n * 16 + 32);
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "k%zu: %zu\n", i, i);
	len += (size_t)sprintf(text + len, "k77: again\n");
	node *doc = read_yaml_text(P, "big.yaml", text, len);
	free(text);
	ck_assert_uint_eq(doc->count, n);
	ck_assert_int_eq(diag_errors(P->diag), 1);
	assert_first_error("big.yaml:20001:1: error: duplicate key 'k77' [duplicate-key]");
}
END_TEST

START_TEST(test_alias_bomb)
{
	const char *bomb =
		"a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
		"b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
		"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
		"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
		"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
		"f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
		"g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
		"h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
		"i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
	ck_assert_ptr_null(read_text(bomb));
	ck_assert_int_eq(diag_errors(P->diag), 1);
	assert_first_error("error: alias expansion exceeds 4000000 nodes [alias-bomb]");
}
END_TEST

START_TEST(test_deep_nesting)
{
	size_t n = 10000;
	char *text = malloc(2 * n + 2);
	memset(text, '[', n);
	memset(text + n, ']', n);
	text[2 * n] = '\n';
	ck_assert_ptr_null(read_yaml_text(P, "deep.yaml", text, 2 * n + 1));
	free(text);
	ck_assert_int_eq(diag_errors(P->diag), 1);
	assert_first_error("deep.yaml:1:257: error: nesting deeper than 256 levels [too-deep]");
}
END_TEST

START_TEST(test_deep_through_aliases)
{
	/* each anchor nests the previous one 100 levels deeper: the tree, not the text, is deep */
	char *text = malloc(64 * 1024);
	size_t len = (size_t)sprintf(text, "a0: &a0 x\n");
	for (int i = 1; i < 10; i++) {
		len += (size_t)sprintf(text + len, "a%d: &a%d ", i, i);
		for (int k = 0; k < 100; k++)
			text[len++] = '[';
		len += (size_t)sprintf(text + len, "*a%d", i - 1);
		for (int k = 0; k < 100; k++)
			text[len++] = ']';
		text[len++] = '\n';
	}
	ck_assert_ptr_null(read_yaml_text(P, "alias-deep.yaml", text, len));
	free(text);
	ck_assert_int_eq(diag_errors(P->diag), 1);
	assert_first_error("alias-deep.yaml:4:109: error: nesting deeper than 256 levels (through alias 'a2') [too-deep]");
}
END_TEST

START_TEST(test_deep_block_maps_within_limit)
{
	/* 200 levels of block maps are fine */
	char *text = malloc(200 * 210);
	size_t len = 0;
	for (int i = 0; i < 200; i++)
		len += (size_t)sprintf(text + len, "%*sk:\n", i, "");
	len += (size_t)sprintf(text + len, "%*sleaf\n", 200, "");
	node *doc = read_yaml_text(P, "d.yaml", text, len);
	free(text);
	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(diag_errors(P->diag), 0);
}
END_TEST

START_TEST(test_binary_garbage)
{
	unsigned char junk[512];
	unsigned x = 12345;
	for (size_t i = 0; i < sizeof junk; i++) {
		x = x * 1103515245u + 12345u;
		junk[i] = (unsigned char)(x >> 16);
	}
	junk[0] = 0xff;
	ck_assert_ptr_null(read_yaml_text(P, "junk.yaml", (const char *)junk, sizeof junk));
	assert_first_error("junk.yaml:1:1: error: file is not UTF-8 text (invalid byte 0xff) [yaml-syntax]");
}
END_TEST

START_TEST(test_nul_and_bad_utf8)
{
	ck_assert_ptr_null(read_yaml_text(P, "n.yaml", "a: 1\nb: x\0y\n", 12));
	assert_first_error("n.yaml:2:5: error: file is not UTF-8 text (NUL byte) [yaml-syntax]");
	project_free(P);
	P = project_new();
	/* an overlong encoding of '/' and a lone surrogate are not UTF-8 either */
	ck_assert_ptr_null(read_text("a: \xc0\xaf\n"));
	ck_assert_ptr_null(read_text("a: \xed\xa0\x80\n"));
	ck_assert_int_eq(diag_errors(P->diag), 2);
}
END_TEST

START_TEST(test_control_character)
{
	/* the text is not NUL-terminated: only len bytes may be read */
	static const char src[] = "a: 1\nb: x\001y\n";
	char *exact = malloc(sizeof src - 1);
	memcpy(exact, src, sizeof src - 1);
	ck_assert_ptr_null(read_yaml_text(P, "t.yaml", exact, sizeof src - 1));
	free(exact);
	char *out = printed();
	ck_assert_str_eq(out,
		"t.yaml:2:5: error: control characters are not allowed [yaml-syntax]\n"
		"    2 | b: x?y\n"
		"      |     ^\n"
		"1 error generated.\n");
	free(out);
}
END_TEST

START_TEST(test_syntax_error)
{
	ck_assert_ptr_null(read_text("a: [1, 2\nb: 3\n"));
	char *out = printed();
	ck_assert_msg(strstr(out, "error: did not find expected ',' or ']' while parsing a flow sequence [yaml-syntax]"),
		      "%s", out);
	ck_assert_msg(strstr(out, "t.yaml:1:4: note: a flow sequence started here"), "%s", out);
	free(out);
}
END_TEST

START_TEST(test_multiple_documents)
{
	ck_assert_ptr_null(read_text("a: 1\n---\nb: 2\n"));
	assert_first_error("t.yaml:2:1: error: more than one YAML document in one file [multiple-documents]");
}
END_TEST

START_TEST(test_non_scalar_key)
{
	node *doc = read_text("? [a, b]\n: 1\nc: 2\n");
	ck_assert_ptr_nonnull(doc);
	ck_assert_uint_eq(doc->count, 1);
	assert_first_error("t.yaml:1:3: error: a map key must be a scalar, not a list [yaml-key]");
}
END_TEST

START_TEST(test_byte_order_mark)
{
	node *doc = read_text("\xef\xbb\xbf" "a: 1\nb: [2\n");
	ck_assert_ptr_null(doc);
	char *out = printed();
	ck_assert_msg(strstr(out, "t.yaml:2:4: note: a flow sequence started here\n"
				  "    2 | b: [2\n"), "%s", out);
	free(out);
	doc = read_text("\xef\xbb\xbf" "a: 1\nb: 2\n");
	ck_assert_ptr_nonnull(doc);
	ck_assert_uint_eq(doc->count, 2);
	ck_assert_int_eq(node_get(doc, "a")->pos.col, 4);
}
END_TEST

START_TEST(test_line_breaks_as_libyaml_counts_them)
{
	/* \r alone, \r\n and U+2028 each end a line, for libyaml and for the caret */
	ck_assert_ptr_null(read_text("a: 1\rb: 2\r\nc: x\xe2\x80\xa8" "d: [1\n"));
	char *out = printed();
	ck_assert_msg(strstr(out, "t.yaml:4:4: note: a flow sequence started here\n"
				  "    4 | d: [1\n"
				  "      |    ^\n"), "%s", out);
	free(out);
}
END_TEST

START_TEST(test_empty_file)
{
	node *doc = read_text("");
	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(doc->kind, NODE_MAP);
	ck_assert_uint_eq(doc->count, 0);
	doc = read_text("# only a comment\n");
	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(diag_errors(P->diag), 0);
}
END_TEST

START_TEST(test_missing_file)
{
	ck_assert_ptr_null(read_yaml_file(P, "tests/data/front/no-such-file.yaml"));
	assert_first_error("tests/data/front/no-such-file.yaml: error: cannot open "
			   "'tests/data/front/no-such-file.yaml': No such file or directory [io]");
}
END_TEST

START_TEST(test_too_large)
{
	char path[] = "/tmp/front-large-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)READ_MAX_FILE_SIZE + 1), 0);
	close(fd);
	ck_assert_ptr_null(read_yaml_file(P, path));
	unlink(path);
	assert_first_error("error: file is larger than 64 MiB [too-large]");
}
END_TEST

/* ---- directories ---- */

START_TEST(test_project_load)
{
	ck_assert_int_eq(project_load(P, "tests/data/front/proj"), 0);
	ck_assert_int_eq(diag_errors(P->diag), 0);
	ck_assert_uint_eq(P->n_editions, 3);
	ck_assert_str_eq(P->editions[0]->id, "care");
	ck_assert_str_eq(P->editions[1]->id, "mass");
	ck_assert_str_eq(P->editions[2]->id, "personal");
	ck_assert_str_eq(P->editions[2]->path, "tests/data/front/proj/base/personal.yaml");
	ck_assert_int_eq(P->editions[2]->abstract, 1);
	ck_assert_int_eq(P->editions[0]->abstract, 0);
	ck_assert_ptr_eq(project_find(P, "mass"), P->editions[1]);
	ck_assert_ptr_null(project_find(P, "products"));
	ck_assert_ptr_null(project_find(P, "nope"));
	ck_assert_uint_eq(P->n_fragments, 1);
	ck_assert_str_eq(P->fragments[0].name, "account_picker");
	ck_assert_uint_eq(P->n_i18n, 1);
	ck_assert_str_eq(P->i18n[0].name, "zh-CN");
	ck_assert_ptr_nonnull(P->products);
	ck_assert_str_eq(P->products_path, "tests/data/front/proj/products.yaml");
	const named_doc *s = project_script(P, "flows/transfer.lua");
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_eq(project_script(P, "transfer.lua"), s);
	ck_assert_ptr_nonnull(strstr(s->text, "return function"));
	ck_assert_ptr_null(s->doc);
}
END_TEST

START_TEST(test_project_load_missing_dir)
{
	ck_assert_int_eq(project_load(P, "tests/data/front/nowhere"), -1);
	ck_assert_int_eq(diag_errors(P->diag), 1);
	assert_first_error("error: cannot open editions directory 'tests/data/front/nowhere': "
			   "No such file or directory [io]");
}
END_TEST

START_TEST(test_project_load_bad_files)
{
	ck_assert_int_eq(project_load(P, "tests/data/front/bad"), 0);
	char *out = printed();
	ck_assert_msg(strstr(out, "tests/data/front/bad/wrong-id.yaml:1:10: error: edition 'other' is in the file "
				  "of edition 'wrong-id'; the id must equal the file name [edition-id-mismatch]"), "%s", out);
	ck_assert_msg(strstr(out, "tests/data/front/bad/broken.yaml:"), "%s", out);
	ck_assert_msg(strstr(out, "[yaml-syntax]"), "%s", out);
	ck_assert_msg(strstr(out, "tests/data/front/bad/broken.yaml: error: edition id 'broken' is defined twice "
				  "[duplicate-edition]\n"
				  "tests/data/front/bad/base/broken.yaml: note: 'broken' is also defined here\n"), "%s", out);
	ck_assert_msg(strstr(out, "tests/data/front/bad/care.yml: warning: ignoring 'care.yml': edition files end "
				  "in '.yaml' [ignored-file]\n"), "%s", out);
	free(out);
	/* both are kept, the base first; the broken one without a document */
	ck_assert_uint_eq(P->n_editions, 3);
	ck_assert_str_eq(P->editions[0]->path, "tests/data/front/bad/base/broken.yaml");
	ck_assert_ptr_nonnull(P->editions[0]->doc);
	ck_assert_str_eq(P->editions[1]->path, "tests/data/front/bad/broken.yaml");
	ck_assert_ptr_null(P->editions[1]->doc);
	edition *abs = project_find(P, "wrong-id");
	ck_assert_int_eq(abs->abstract, 1);
}
END_TEST

Suite *suite_read(void);

Suite *suite_read(void)
{
	Suite *s = suite_create("read");
	TCase *tc = tcase_create("yaml");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_positions);
	tcase_add_test(tc, test_scalar_styles_and_tags);
	tcase_add_test(tc, test_anchors_and_aliases);
	tcase_add_test(tc, test_unknown_and_self_alias);
	tcase_add_test(tc, test_merge_keys);
	tcase_add_test(tc, test_bad_merge_value);
	tcase_add_test(tc, test_duplicate_keys);
	tcase_add_test(tc, test_many_keys_one_duplicate);
	tcase_add_test(tc, test_non_scalar_key);
	tcase_add_test(tc, test_byte_order_mark);
	tcase_add_test(tc, test_line_breaks_as_libyaml_counts_them);
	tcase_add_test(tc, test_empty_file);
	suite_add_tcase(s, tc);
	TCase *lim = tcase_create("limits");
	tcase_add_checked_fixture(lim, setup, teardown);
	tcase_add_test(lim, test_alias_bomb);
	tcase_add_test(lim, test_deep_nesting);
	tcase_add_test(lim, test_deep_through_aliases);
	tcase_add_test(lim, test_deep_block_maps_within_limit);
	tcase_add_test(lim, test_binary_garbage);
	tcase_add_test(lim, test_nul_and_bad_utf8);
	tcase_add_test(lim, test_control_character);
	tcase_add_test(lim, test_syntax_error);
	tcase_add_test(lim, test_multiple_documents);
	tcase_add_test(lim, test_missing_file);
	tcase_add_test(lim, test_too_large);
	suite_add_tcase(s, lim);
	TCase *dir = tcase_create("project");
	tcase_add_checked_fixture(dir, setup, teardown);
	tcase_add_test(dir, test_project_load);
	tcase_add_test(dir, test_project_load_missing_dir);
	tcase_add_test(dir, test_project_load_bad_files);
	suite_add_tcase(s, dir);
	return s;
}
