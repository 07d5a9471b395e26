/*
 * test_diag: the text a product owner reads and the JSON CI reads, compared
 * exactly; "did you mean"; notes for inherited values.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

static char *render(const diag_ctx *d, diag_format fmt, int color)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	diag_print(d, f, fmt, color);
	fclose(f);
	return buf;
}

static const char care_src[] =
	"edition: care\n"
	"theme:\n"
	"    fnot_scale: 1.4\n"
	"title: 关怀版标题: x\n"
	"\tspacing: 8\n";

START_TEST(test_text_with_caret)
{
	diag_ctx *d = diag_new();
	diag_add_source(d, "editions/care.yaml", care_src, strlen(care_src));
	diag_report(d, DIAG_ERROR, (src_pos){ "editions/care.yaml", 3, 5 }, "unknown-key",
		    "unknown key '%s' in theme; did you mean '%s'?", "fnot_scale", "font_scale");
	diag_note(d, (src_pos){ "editions/care.yaml", 2, 1 }, "in this map");
	char *out = render(d, DIAG_TEXT, 0);
	ck_assert_str_eq(out,
		"editions/care.yaml:3:5: error: unknown key 'fnot_scale' in theme; did you mean 'font_scale'? [unknown-key]\n"
		"    3 |     fnot_scale: 1.4\n"
		"      |     ^\n"
		"editions/care.yaml:2:1: note: in this map\n"
		"    2 | theme:\n"
		"      | ^\n"
		"1 error generated.\n");
	free(out);
	diag_free(d);
}
END_TEST

START_TEST(test_caret_after_wide_characters_and_tabs)
{
	diag_ctx *d = diag_new();
	diag_add_source(d, "c.yaml", care_src, strlen(care_src));
	/* column 13 is the second ':', after five CJK characters of two cells each */
	diag_report(d, DIAG_ERROR, (src_pos){ "c.yaml", 4, 13 }, "yaml-syntax", "bad colon");
	/* column 2 is 's' after a tab: the tab shows as 8 spaces */
	diag_report(d, DIAG_WARNING, (src_pos){ "c.yaml", 5, 2 }, "tab", "tab here");
	char *out = render(d, DIAG_TEXT, 0);
	ck_assert_str_eq(out,
		"c.yaml:4:13: error: bad colon [yaml-syntax]\n"
		"    4 | title: 关怀版标题: x\n"
		"      |                  ^\n"
		"c.yaml:5:2: warning: tab here [tab]\n"
		"    5 |         spacing: 8\n"
		"      |         ^\n"
		"1 warning and 1 error generated.\n");
	free(out);
	diag_free(d);
}
END_TEST

START_TEST(test_no_position_and_unknown_source)
{
	diag_ctx *d = diag_new();
	diag_report(d, DIAG_ERROR, (src_pos){ 0 }, "io", "cannot open editions directory '%s'", "x");
	diag_report(d, DIAG_ERROR, (src_pos){ "gone.yaml", 7, 3 }, "io", "no source text");
	diag_report(d, DIAG_ERROR, (src_pos){ "gone.yaml", 0, 0 }, "", "whole file");
	char *out = render(d, DIAG_TEXT, 0);
	ck_assert_str_eq(out,
		"error: cannot open editions directory 'x' [io]\n"
		"gone.yaml:7:3: error: no source text [io]\n"
		"gone.yaml: error: whole file\n"
		"3 errors generated.\n");
	free(out);
	ck_assert_int_eq(diag_errors(d), 3);
	diag_free(d);
}
END_TEST

START_TEST(test_werror)
{
	diag_ctx *d = diag_new();
	diag_report(d, DIAG_WARNING, (src_pos){ "a.yaml", 1, 1 }, "low-contrast", "contrast %.1f", 2.5);
	ck_assert_int_eq(diag_errors(d), 0);
	ck_assert_int_eq(diag_warnings(d), 1);
	char *out = render(d, DIAG_TEXT, 0);
	ck_assert_str_eq(out, "a.yaml:1:1: warning: contrast 2.5 [low-contrast]\n1 warning generated.\n");
	free(out);
	diag_set_werror(d, 1);
	ck_assert_int_eq(diag_errors(d), 1);
	ck_assert_int_eq(diag_warnings(d), 0);
	out = render(d, DIAG_TEXT, 0);
	ck_assert_str_eq(out, "a.yaml:1:1: error: contrast 2.5 [-Werror,low-contrast]\n1 error generated.\n");
	free(out);
	out = render(d, DIAG_JSON, 0);
	json_t *root = json_loads(out, 0, NULL);
	ck_assert_int_eq(json_integer_value(json_object_get(root, "errors")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(root, "warnings")), 0);
	json_t *e = json_array_get(json_object_get(root, "diagnostics"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "severity")), "error");
	ck_assert_str_eq(json_string_value(json_object_get(e, "code")), "low-contrast");
	json_decref(root);
	free(out);
	diag_free(d);
}
END_TEST

START_TEST(test_nothing_prints_nothing)
{
	diag_ctx *d = diag_new();
	char *out = render(d, DIAG_TEXT, 1);
	ck_assert_str_eq(out, "");
	free(out);
	diag_free(d);
}
END_TEST

START_TEST(test_color_only_when_asked)
{
	diag_ctx *d = diag_new();
	diag_report(d, DIAG_ERROR, (src_pos){ "a.yaml", 1, 1 }, "x", "boom");
	char *plain = render(d, DIAG_TEXT, 0);
	char *color = render(d, DIAG_TEXT, 1);
	ck_assert_ptr_null(strchr(plain, '\033'));
	ck_assert_ptr_nonnull(strstr(color, "\033[1;31merror:"));
	free(plain);
	free(color);
	diag_free(d);
}
END_TEST

START_TEST(test_json_round_trip)
{
	diag_ctx *d = diag_new();
	diag_add_source(d, "care.yaml", care_src, strlen(care_src));
	diag_report(d, DIAG_ERROR, (src_pos){ "care.yaml", 3, 5 }, "unknown-key", "unknown key \"%s\"", "fnot");
	diag_note(d, (src_pos){ "mass.yaml", 40, 5 }, "inherited from here");
	diag_report(d, DIAG_WARNING, (src_pos){ 0 }, "w", "标题 too long");
	char *out = render(d, DIAG_JSON, 1);
	json_error_t err;
	json_t *root = json_loads(out, 0, &err);
	ck_assert_msg(root != NULL, "%s", err.text);
	ck_assert_int_eq(json_integer_value(json_object_get(root, "errors")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(root, "warnings")), 1);
	json_t *list = json_object_get(root, "diagnostics");
	ck_assert_uint_eq(json_array_size(list), 2);
	json_t *e = json_array_get(list, 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "file")), "care.yaml");
	ck_assert_int_eq(json_integer_value(json_object_get(e, "line")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(e, "column")), 5);
	ck_assert_str_eq(json_string_value(json_object_get(e, "severity")), "error");
	ck_assert_str_eq(json_string_value(json_object_get(e, "code")), "unknown-key");
	ck_assert_str_eq(json_string_value(json_object_get(e, "message")), "unknown key \"fnot\"");
	json_t *note = json_array_get(json_object_get(e, "notes"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(note, "file")), "mass.yaml");
	ck_assert_int_eq(json_integer_value(json_object_get(note, "line")), 40);
	ck_assert_str_eq(json_string_value(json_object_get(note, "message")), "inherited from here");
	json_t *w = json_array_get(list, 1);
	ck_assert(json_is_null(json_object_get(w, "file")));
	ck_assert_str_eq(json_string_value(json_object_get(w, "severity")), "warning");
	ck_assert_str_eq(json_string_value(json_object_get(w, "message")), "标题 too long");
	ck_assert_uint_eq(json_array_size(json_object_get(w, "notes")), 0);
	ck_assert_ptr_null(strchr(out, '\033'));
	json_decref(root);
	free(out);
	diag_free(d);
}
END_TEST

START_TEST(test_json_survives_bad_utf8_in_message)
{
	diag_ctx *d = diag_new();
	diag_report(d, DIAG_ERROR, (src_pos){ "a", 1, 1 }, "x", "bad \xff byte");
	char *out = render(d, DIAG_JSON, 0);
	json_t *root = json_loads(out, 0, NULL);
	ck_assert_ptr_nonnull(root);
	const char *msg = json_string_value(json_object_get(json_array_get(json_object_get(root, "diagnostics"), 0), "message"));
	ck_assert_str_eq(msg, "bad \xef\xbf\xbd byte");
	json_decref(root);
	free(out);
	diag_free(d);
}
END_TEST

static const char *const keys[] = { "primary", "font_scale", "font_size", "spacing", "transfer",
				    "transfer_daily", "radius" };
#define N_KEYS (sizeof keys / sizeof keys[0])

START_TEST(test_suggest)
{
	ck_assert_str_eq(diag_suggest("fnot_scale", keys, N_KEYS), "font_scale");
	ck_assert_str_eq(diag_suggest("transfr", keys, N_KEYS), "transfer");
	ck_assert_str_eq(diag_suggest("spacng", keys, N_KEYS), "spacing");
	ck_assert_str_eq(diag_suggest("Radius", keys, N_KEYS), "radius");
	ck_assert_str_eq(diag_suggest("FONT_SCALE", keys, N_KEYS), "font_scale");
	ck_assert_ptr_null(diag_suggest("colour", keys, N_KEYS));
	ck_assert_ptr_null(diag_suggest("zzzzzzzz", keys, N_KEYS));
	ck_assert_ptr_null(diag_suggest("radius", (const char *const[]){ "radius" }, 1));
	ck_assert_ptr_null(diag_suggest("x", NULL, 0));
	/* ties go to the first candidate */
	ck_assert_str_eq(diag_suggest("ab", (const char *const[]){ "ax", "ay" }, 2), "ax");
	/* a case-only difference beats a one-letter typo */
	ck_assert_str_eq(diag_suggest("Mass", (const char *const[]){ "mast", "mass" }, 2), "mass");
}
END_TEST

START_TEST(test_note_origin)
{
	diag_ctx *d = diag_new();
	node base = { .kind = NODE_SCALAR, .pos = { "editions/base/personal.yaml", 12, 15 }, .str = "1.0" };
	node mid = { .kind = NODE_SCALAR, .pos = { "editions/mass.yaml", 40, 5 }, .str = "1.2",
		     .overrides = &base, .inherited = 1 };
	diag_report(d, DIAG_ERROR, (src_pos){ "editions/mass.yaml", 40, 5 }, "care-font-scale", "too small");
	diag_note_origin(d, &mid);
	char *out = render(d, DIAG_TEXT, 0);
	ck_assert_str_eq(out,
		"editions/mass.yaml:40:5: error: too small [care-font-scale]\n"
		"note: inherited from editions/mass.yaml:40:5\n"
		"note: overrides the value inherited from editions/base/personal.yaml:12:15\n"
		"1 error generated.\n");
	free(out);
	out = render(d, DIAG_JSON, 0);
	json_t *root = json_loads(out, 0, NULL);
	json_t *notes = json_object_get(json_array_get(json_object_get(root, "diagnostics"), 0), "notes");
	ck_assert_uint_eq(json_array_size(notes), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(notes, 1), "line")), 12);
	json_decref(root);
	free(out);
	diag_free(d);
}
END_TEST

/* An error in a base is found once per inheriting edition; it is printed once. */
START_TEST(test_identical_reports_print_once)
{
	diag_ctx *d = diag_new();
	src_pos at = { "editions/base/personal.yaml", 21, 11 };
	src_pos other = { "editions/base/personal.yaml", 22, 11 };
	for (int i = 0; i < 4; i++) {
		diag_report(d, DIAG_ERROR, at, "schema-range", "'radius' must be between 0 and 24");
		diag_note(d, (src_pos){ 0 }, "seen %d", i);
	}
	diag_report(d, DIAG_ERROR, other, "schema-range", "'radius' must be between 0 and 24");
	diag_report(d, DIAG_WARNING, at, "schema-range", "'radius' must be between 0 and 24");
	ck_assert_int_eq(diag_errors(d), 2);
	ck_assert_int_eq(diag_warnings(d), 1);
	char *out = render(d, DIAG_TEXT, 0);
	ck_assert_str_eq(out,
		"editions/base/personal.yaml:21:11: error: 'radius' must be between 0 and 24 [schema-range]\n"
		"note: seen 0\n"
		"editions/base/personal.yaml:22:11: error: 'radius' must be between 0 and 24 [schema-range]\n"
		"editions/base/personal.yaml:21:11: warning: 'radius' must be between 0 and 24 [schema-range]\n"
		"1 warning and 2 errors generated.\n");
	free(out);
	char *js = render(d, DIAG_JSON, 0);
	json_t *root = json_loads(js, 0, NULL);
	ck_assert_ptr_nonnull(root);
	ck_assert_int_eq((int)json_array_size(json_object_get(root, "diagnostics")), 3);
	json_decref(root);
	free(js);
	diag_free(d);
}
END_TEST

START_TEST(test_note_without_diagnostic_is_dropped)
{
	diag_ctx *d = diag_new();
	diag_note(d, (src_pos){ "a", 1, 1 }, "orphan");
	ck_assert_int_eq(diag_errors(d), 0);
	char *out = render(d, DIAG_TEXT, 0);
	ck_assert_str_eq(out, "");
	free(out);
	diag_free(d);
}
END_TEST

Suite *suite_diag(void);

Suite *suite_diag(void)
{
	Suite *s = suite_create("diag");
	TCase *tc = tcase_create("diag");
	tcase_add_test(tc, test_text_with_caret);
	tcase_add_test(tc, test_caret_after_wide_characters_and_tabs);
	tcase_add_test(tc, test_no_position_and_unknown_source);
	tcase_add_test(tc, test_werror);
	tcase_add_test(tc, test_nothing_prints_nothing);
	tcase_add_test(tc, test_color_only_when_asked);
	tcase_add_test(tc, test_json_round_trip);
	tcase_add_test(tc, test_json_survives_bad_utf8_in_message);
	tcase_add_test(tc, test_suggest);
	tcase_add_test(tc, test_note_origin);
	tcase_add_test(tc, test_note_without_diagnostic_is_dropped);
	tcase_add_test(tc, test_identical_reports_print_once);
	suite_add_tcase(s, tc);
	return s;
}
