/*
 * test_validate: stage 3 (validate.c and the XSDs under schemas/) on one small edition.
 *
 * tests/data/validate/edition.yaml is a valid edition; each case replaces one
 * piece of its text, validates it as if it were editions/sample.yaml and asserts
 * the exact diagnostic line printed, `path:line:col: error: message [code]`.
 * The expected line and column are computed from the edited text (where the
 * offending key or value starts), so they say where a product owner must look.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "strbuf.h"

#define VT_PATH "editions/sample.yaml"
#define VT_FIXTURE "tests/data/validate/edition.yaml"

typedef struct vt_run {
	project *p;
	edition e;
	int errors;                 /* validate_edition's result */
	char *out;                  /* everything diag_print wrote */
} vt_run;

static char *vt_fixture(void)
{
	strbuf sb = STRBUF_INIT;
	ck_assert_msg(strbuf_read_file(&sb, VT_FIXTURE, 1 << 20) == 0, "cannot read '%s'", VT_FIXTURE);
	return strbuf_detach(&sb, NULL);
}

/* Replaces the only occurrence of old in text. */
static char *vt_sub(char *text, const char *old, const char *new_text)
{
	char *at = strstr(text, old);
	ck_assert_msg(at != NULL, "'%s' not found in the fixture", old);
	ck_assert_msg(strstr(at + 1, old) == NULL, "'%s' occurs twice in the fixture", old);
	strbuf sb = STRBUF_INIT;
	strbuf_add(&sb, text, (size_t)(at - text));
	strbuf_adds(&sb, new_text);
	strbuf_adds(&sb, at + strlen(old));
	free(text);
	return strbuf_detach(&sb, NULL);
}

/* "line:col" of the first occurrence of needle (ASCII before it on its line). */
static char *vt_pos(const char *text, const char *needle)
{
	const char *at = strstr(text, needle);
	ck_assert_msg(at != NULL, "'%s' not in the text", needle);
	int line = 1, col = 1;
	for (const char *c = text; c < at; c++) {
		if (*c == '\n') {
			line++;
			col = 1;
		} else if ((*c & 0xC0) != 0x80) {
			col++;
		}
	}
	char *s = NULL;
	ck_assert(asprintf(&s, "%d:%d", line, col) > 0);
	return s;
}

static void vt_validate(vt_run *r, const char *text, int abstract, const char *schema_dir)
{
	memset(r, 0, sizeof *r);
	r->p = project_new();
	node *doc = read_yaml_text(r->p, VT_PATH, text, strlen(text));
	ck_assert_msg(doc != NULL, "the test YAML does not parse");
	r->e.id = "sample";
	r->e.path = VT_PATH;
	r->e.doc = doc;
	r->e.resolved = doc;
	r->e.abstract = abstract;
	r->errors = validate_edition(r->p, &r->e, schema_dir);
	size_t len = 0;
	FILE *f = open_memstream(&r->out, &len);
	diag_print(r->p->diag, f, DIAG_TEXT, 0);
	fclose(f);
}

static void vt_release(vt_run *r)
{
	free(r->out);
	project_free(r->p);
}

/* The printed output has the line "editions/sample.yaml:<pos>: error: <msg>". */
static void vt_expect_line(const vt_run *r, const char *pos, const char *msg)
{
	char *want = NULL;
	ck_assert(asprintf(&want, VT_PATH ":%s: error: %s\n", pos, msg) > 0);
	const char *at = strstr(r->out, want);
	ck_assert_msg(at && (at == r->out || at[-1] == '\n'), "expected\n  %swithin\n%s", want, r->out);
	free(want);
}

/* One edit, exactly one error: at the start of `where` in the edited text. */
static void vt_case(const char *old, const char *new_text, const char *where, const char *msg)
{
	char *text = vt_sub(vt_fixture(), old, new_text);
	vt_run r;
	vt_validate(&r, text, 0, "schemas");
	char *pos = vt_pos(text, where);
	vt_expect_line(&r, pos, msg);
	ck_assert_msg(r.errors == 1, "expected 1 error, got %d:\n%s", r.errors, r.out);
	ck_assert_int_eq(diag_errors(r.p->diag), 1);
	free(pos);
	free(text);
	vt_release(&r);
}

START_TEST(test_valid_edition)
{
	char *text = vt_fixture();
	vt_run r;
	vt_validate(&r, text, 0, "schemas");
	ck_assert_msg(r.errors == 0, "the fixture must be valid:\n%s", r.out);
	ck_assert_int_eq(diag_errors(r.p->diag), 0);
	ck_assert_int_eq(diag_warnings(r.p->diag), 0);
	free(text);
	vt_release(&r);
}
END_TEST

START_TEST(test_unknown_key_suggests)
{
	vt_case("  font_scale: 1.3", "  fnot_scale: 1.3", "fnot_scale",
		"unknown key 'fnot_scale' in theme; did you mean 'font_scale'? [unknown-key]");
}
END_TEST

START_TEST(test_unknown_key_in_component)
{
	vt_case("        level: 1", "        levle: 1", "levle",
		"unknown key 'levle' in heading; did you mean 'level'? [unknown-key]");
}
END_TEST

START_TEST(test_unknown_top_level_map)
{
	vt_case("contact:\n", "contcat:\n", "contcat",
		"unknown key 'contcat' in the edition; did you mean 'contact'? [unknown-key]");
}
END_TEST

START_TEST(test_unknown_component_suggests)
{
	vt_case("component: balance_card", "component: balance_crad", "balance_crad",
		"unknown component 'balance_crad'; did you mean 'balance_card'? [unknown-component]");
}
END_TEST

START_TEST(test_decimal_out_of_range)
{
	vt_case("font_scale: 1.3", "font_scale: 3.5", "3.5",
		"'font_scale' must be between 0.8 and 2.0, found '3.5' [schema-range]");
}
END_TEST

START_TEST(test_integer_out_of_range)
{
	vt_case("touch_target: 56", "touch_target: 20", "20\n",
		"'touch_target' must be between 32 and 96, found '20' [schema-range]");
}
END_TEST

START_TEST(test_not_a_number)
{
	vt_case("radius: 8", "radius: large", "large",
		"'radius' must be a whole number, found 'large' [schema-type]");
}
END_TEST

START_TEST(test_bad_colour)
{
	vt_case("primary: \"#C8102E\"", "primary: red", "red",
		"'primary' must be a colour like #1A2B3C, found 'red' [schema-pattern]");
}
END_TEST

START_TEST(test_bad_colour_in_list)
{
	vt_case("\"#F2ECE4\"]", "\"#F2ECE\"]", "\"#F2ECE\"",
		"item 2 of 'auxiliary' must be a colour like #1A2B3C, found '#F2ECE' [schema-pattern]");
}
END_TEST

START_TEST(test_bad_enum)
{
	vt_case("style: primary", "style: big", "big",
		"'style' must be one of primary, secondary, danger, found 'big' [schema-enum]");
}
END_TEST

START_TEST(test_bad_enum_suggests)
{
	vt_case("    method: POST", "    method: PSOT", "PSOT",
		"'method' must be one of GET, POST, found 'PSOT'; did you mean 'POST'? [schema-enum]");
}
END_TEST

START_TEST(test_missing_required_key)
{
	/* the heading's text is required; the error points at the component */
	vt_case("        text: home.heading\n", "", "component: heading",
		"missing required key 'text' in heading [missing-key]");
}
END_TEST

START_TEST(test_missing_required_top_level)
{
	vt_case("home: home\n", "", "edition: sample",
		"missing required key 'home' in the edition [missing-key]");
}
END_TEST

START_TEST(test_missing_id_in_list_item)
{
	vt_case("  - id: transfer\n    path: /transfer\n", "  - path: /transfer\n", "path: /transfer\n",
		"missing required key 'id' in item 2 of 'routes' [missing-key]");
}
END_TEST

START_TEST(test_quoted_number)
{
	vt_case("font_size: 16", "font_size: \"16\"", "\"16\"",
		"'font_size' expects a number, found the string \"16\" (remove the quotes) [quoted-number]");
}
END_TEST

START_TEST(test_quoted_number_in_entry)
{
	vt_case("cross_bank_transfer: 0", "cross_bank_transfer: '0'", "'0'",
		"'cross_bank_transfer' expects a number, found the string \"0\" (remove the quotes) [quoted-number]");
}
END_TEST

START_TEST(test_quoted_bool)
{
	vt_case("confirm: true", "confirm: \"true\"", "\"true\"",
		"'confirm' expects true or false, found the string \"true\" (remove the quotes) [quoted-bool]");
}
END_TEST

START_TEST(test_yaml_bool_spelling)
{
	vt_case("video_counter: true", "video_counter: yes", "yes",
		"'video_counter' must be true or false, found 'yes' [schema-type]");
}
END_TEST

START_TEST(test_children_on_leaf)
{
	vt_case("        level: 1\n",
		"        level: 1\n        children:\n          - component: text\n            text: a\n",
		"children:",
		"'heading' cannot have children; only form, list, tile_grid and zone can [schema-children]");
}
END_TEST

START_TEST(test_deep_component)
{
	/* zone > form > button, four levels down the layout */
	vt_case("                style: primary", "                style: primary\n                to: Home",
		"Home", "'to' must be a route id like transfer-submit, found 'Home' [schema-pattern]");
}
END_TEST

START_TEST(test_deep_unknown_component)
{
	vt_case("component: amount_input", "component: amount", "amount\n",
		"unknown component 'amount' [unknown-component]");
}
END_TEST

START_TEST(test_map_where_value_belongs)
{
	vt_case("title: home.title", "title: {zh: 首页}", "{zh",
		"'title' must be a single value, found a map [schema-type]");
}
END_TEST

START_TEST(test_value_where_map_belongs)
{
	vt_case("contact:\n  phone: \"95577\"\n", "contact: \"95577\"\n", "\"95577\"",
		"'contact' must be a map, found '95577' [schema-type]");
}
END_TEST

START_TEST(test_scalar_list_item_where_map_belongs)
{
	vt_case("products:\n  - id: xingedai\n", "products: [xingedai]\n", "xingedai",
		"item 1 of 'products' must be a map, found 'xingedai' [schema-type]");
}
END_TEST

START_TEST(test_bad_string_key)
{
	vt_case("  home.greeting: 您好", "  home greeting: 您好", "home greeting",
		"the key 'home greeting' in strings must be a string key like home.title (the text itself belongs in i18n/) [schema-pattern]");
}
END_TEST

/* Every error of a document in one run, in source order, none lost after an unexpected key. */
START_TEST(test_every_error_reported)
{
	char *text = vt_fixture();
	text = vt_sub(text, "font_scale: 1.3", "font_scale: 3.5");
	text = vt_sub(text, "component: balance_card", "component: balance_crad");
	text = vt_sub(text, "columns: 3", "columns: 9");
	text = vt_sub(text, "style: primary", "style: big");
	text = vt_sub(text, "timeout_ms: 300", "timeout_ms: \"300\"");
	vt_run r;
	vt_validate(&r, text, 0, "schemas");
	ck_assert_msg(r.errors == 5, "expected 5 errors, got %d:\n%s", r.errors, r.out);
	const char *a = strstr(r.out, "font_scale"), *b = strstr(r.out, "balance_crad");
	const char *c = strstr(r.out, "'columns'"), *d = strstr(r.out, "'style'");
	const char *e = strstr(r.out, "'timeout_ms'");
	ck_assert_msg(a && b && c && d && e && a < b && b < c && c < d && d < e, "order:\n%s", r.out);
	free(text);
	vt_release(&r);
}
END_TEST

/* An abstract base may leave top-level keys to its editions, but not keys of list items. */
/*
 * List items equal to ones of an edition validated without error are left out
 * of later documents: an item that differs in anything (a value, a quote, a
 * missing key) must still be checked, in the same process, after the clean run.
 */
START_TEST(test_clean_items_remembered)
{
	for (int round = 0; round < 2; round++) {
		char *text = vt_fixture();
		vt_run r;
		vt_validate(&r, text, round, "schemas");
		ck_assert_msg(r.errors == 0, "the fixture must be valid:\n%s", r.out);
		free(text);
		vt_release(&r);
	}
	vt_case("  - id: transfer\n    path: /transfer\n", "  - path: /transfer\n", "path: /transfer\n",
		"missing required key 'id' in item 2 of 'routes' [missing-key]");
	vt_case("    method: POST", "    method: PSOT", "PSOT",
		"'method' must be one of GET, POST, found 'PSOT'; did you mean 'POST'? [schema-enum]");
	vt_case("style: primary", "style: big", "big",
		"'style' must be one of primary, secondary, danger, found 'big' [schema-enum]");
	vt_case("confirm: true", "confirm: \"true\"", "\"true\"",
		"'confirm' expects true or false, found the string \"true\" (remove the quotes) [quoted-bool]");
	char *text = vt_fixture();
	vt_run r;
	vt_validate(&r, text, 0, "schemas");
	ck_assert_msg(r.errors == 0, "the fixture must stay valid:\n%s", r.out);
	free(text);
	vt_release(&r);
}
END_TEST

START_TEST(test_abstract_base)
{
	char *text = vt_fixture();
	text = vt_sub(text, "home: home\n", "");
	text = vt_sub(text, "  - id: transfer\n    path: /transfer\n", "  - path: /transfer\n");
	vt_run r;
	vt_validate(&r, text, 1, "schemas");
	ck_assert_msg(r.errors == 1, "expected 1 error, got %d:\n%s", r.errors, r.out);
	ck_assert_ptr_nonnull(strstr(r.out, "missing required key 'id' in item 2 of 'routes'"));
	free(text);
	vt_release(&r);
}
END_TEST

/* A bad value inherited from a base says where it came from. */
START_TEST(test_inherited_value_note)
{
	char *text = vt_sub(vt_fixture(), "font_size: 16", "font_size: 40");
	vt_run r;
	memset(&r, 0, sizeof r);
	r.p = project_new();
	node *doc = read_yaml_text(r.p, VT_PATH, text, strlen(text));
	node *size = node_get(node_get(doc, "theme"), "font_size");
	ck_assert_ptr_nonnull(size);
	size->inherited = 1;
	r.e = (edition){ .id = "sample", .path = VT_PATH, .doc = doc, .resolved = doc };
	ck_assert_int_eq(validate_edition(r.p, &r.e, "schemas"), 1);
	size_t len = 0;
	FILE *f = open_memstream(&r.out, &len);
	diag_print(r.p->diag, f, DIAG_TEXT, 0);
	fclose(f);
	char *pos = vt_pos(text, "40");
	vt_expect_line(&r, pos, "'font_size' must be between 12 and 32, found '40' [schema-range]");
	char *note = NULL;
	ck_assert(asprintf(&note, "inherited from " VT_PATH ":%s", pos) > 0);
	ck_assert_msg(strstr(r.out, note) != NULL, "no note '%s' in\n%s", note, r.out);
	free(note);
	free(pos);
	free(text);
	vt_release(&r);
}
END_TEST

START_TEST(test_missing_schema_dir)
{
	char *text = vt_fixture();
	vt_run r;
	vt_validate(&r, text, 0, "tests/data/validate/no-such-dir");
	ck_assert_int_eq(r.errors, 1);
	ck_assert_msg(strstr(r.out, "error: cannot read the schema 'tests/data/validate/no-such-dir/edition.xsd' [schema-missing]"),
		      "%s", r.out);
	/* said once per run, not once per edition */
	ck_assert_int_eq(validate_edition(r.p, &r.e, "tests/data/validate/no-such-dir"), 1);
	ck_assert_int_eq(diag_errors(r.p->diag), 1);
	vt_release(&r);
	/* the real schemas load again afterwards */
	vt_validate(&r, text, 0, "schemas");
	ck_assert_msg(r.errors == 0, "%s", r.out);
	free(text);
	vt_release(&r);
}
END_TEST

START_TEST(test_root_not_a_map)
{
	vt_run r;
	vt_validate(&r, "- a\n- b\n", 0, "schemas");
	ck_assert_int_eq(r.errors, 1);
	vt_expect_line(&r, "1:1", "an edition must be a map of keys, found a list [schema-type]");
	vt_release(&r);
}
END_TEST

/* The 33 components of docs/architecture.md are all in the library. */
START_TEST(test_all_components_known)
{
	static const char *const names[] = {
		"heading", "text", "notice", "banner", "button", "link", "tile_grid", "tile",
		"balance_card", "account_list", "transaction_list", "list", "kv", "form", "input",
		"amount_input", "select", "payee_picker", "confirm", "product_list", "product_card",
		"risk_disclosure", "call_button", "chart", "calendar", "approval_list", "zone",
		"divider", "identity_switch", "pager", "recommendations", "manager_card", "benefit_list",
	};
	strbuf layout = STRBUF_INIT;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		strbuf_addf(&layout, "      - component: %s\n        id: c%zu\n", names[i], i);
	strbuf_adds(&layout, "      - component: heading\n");
	char *text = vt_sub(vt_fixture(), "      - component: heading\n", layout.buf);
	vt_run r;
	vt_validate(&r, text, 0, "schemas");
	ck_assert_msg(strstr(r.out, "[unknown-component]") == NULL, "%s", r.out);
	ck_assert_msg(strstr(r.out, "[unknown-key]") == NULL, "%s", r.out);
	ck_assert_msg(r.errors > 0, "components with required keys must report them");
	strbuf_release(&layout);
	free(text);
	vt_release(&r);
}
END_TEST

/* The bank's own editions, resolved, follow the schema. */
START_TEST(test_real_editions_valid)
{
	project *p = project_new();
	ck_assert_int_eq(project_load(p, "editions"), 0);
	project_resolve(p);
	ck_assert_int_ge(p->n_editions, 6);
	int errors = 0;
	for (size_t i = 0; i < p->n_editions; i++)
		errors += validate_edition(p, p->editions[i], "schemas");
	if (errors) {
		char *out = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&out, &len);
		diag_print(p->diag, f, DIAG_TEXT, 0);
		fclose(f);
		ck_assert_msg(errors == 0, "%d schema errors in editions/:\n%s", errors, out);
		free(out);
	}
	project_free(p);
}
END_TEST

/* ---------------------------------------------------------------- products.yaml */

#define PT_PATH "editions/products.yaml"

/* A valid catalogue; each case below changes one piece of it. */
static const char pt_catalogue[] =
	"products:\n"
	"  - id: xingedai\n"
	"    name: product.xingedai.name\n"
	"    description: product.xingedai.desc\n"
	"    kind: loan\n"
	"    segment: personal\n"
	"    risk_level: 1\n"
	"    rate_bp: 720\n"
	"    min_amount: 100000\n"
	"    term_days: 365\n"
	"  - id: pb-family-trust\n"
	"    name: product.pb-family-trust.name\n"
	"    kind: trust\n"
	"    segment: personal\n"
	"    risk_level: 4\n"
	"    series: six-butlers\n"
	"    exclusive_to: [private-banking]\n";

/* The catalogue text in a project with the base 'personal' and the editions 'mass' and 'private-banking'. */
static void pt_validate(vt_run *r, const char *text, const char *schema_dir)
{
	static const char *const ids[] = { "mass", "personal", "private-banking" };
	memset(r, 0, sizeof *r);
	r->p = project_new();
	r->p->editions = arena_alloc(r->p->arena, 3 * sizeof *r->p->editions);
	for (size_t i = 0; i < 3; i++) {
		edition *e = arena_alloc(r->p->arena, sizeof *e);
		e->id = ids[i];
		e->path = arena_printf(r->p->arena, "editions/%s.yaml", ids[i]);
		e->abstract = i == 1;
		r->p->editions[r->p->n_editions++] = e;
	}
	r->p->products_path = PT_PATH;
	r->p->products = read_yaml_text(r->p, PT_PATH, text, strlen(text));
	ck_assert_msg(r->p->products != NULL, "the test YAML does not parse");
	r->errors = validate_products(r->p, schema_dir);
	size_t len = 0;
	FILE *f = open_memstream(&r->out, &len);
	diag_print(r->p->diag, f, DIAG_TEXT, 0);
	fclose(f);
}

/* One edit of the catalogue, exactly one error: "PT_PATH:line:col: error: msg" at `where`. */
static void pt_case(const char *old, const char *new_text, const char *where, const char *msg)
{
	char *text = vt_sub(xstrdup(pt_catalogue), old, new_text);
	vt_run r;
	pt_validate(&r, text, "schemas");
	char *pos = vt_pos(text, where), *want = NULL;
	ck_assert(asprintf(&want, PT_PATH ":%s: error: %s\n", pos, msg) > 0);
	ck_assert_msg(strstr(r.out, want) != NULL, "expected\n  %swithin\n%s", want, r.out);
	ck_assert_msg(r.errors == 1, "expected 1 error, got %d:\n%s", r.errors, r.out);
	free(want);
	free(pos);
	free(text);
	vt_release(&r);
}

START_TEST(test_products_valid)
{
	vt_run r;
	pt_validate(&r, pt_catalogue, "schemas");
	ck_assert_msg(r.errors == 0 && diag_errors(r.p->diag) == 0, "%s", r.out);
	vt_release(&r);
}
END_TEST

START_TEST(test_products_range)
{
	pt_case("risk_level: 1", "risk_level: 9", "9\n",
		"'risk_level' must be between 1 and 5, found '9' [schema-range]");
	pt_case("risk_level: 4", "risk_level: 0", "0\n    series",
		"'risk_level' must be between 1 and 5, found '0' [schema-range]");
	pt_case("rate_bp: 720", "rate_bp: 100001", "100001",
		"'rate_bp' must be between 0 and 100000, found '100001' [schema-range]");
	pt_case("min_amount: 100000", "min_amount: -1", "-1",
		"'min_amount' must be at least 0, found '-1' [schema-range]");
	pt_case("term_days: 365", "term_days: -30", "-30",
		"'term_days' must be at least 0, found '-30' [schema-range]");
}
END_TEST

START_TEST(test_products_type)
{
	pt_case("min_amount: 100000", "min_amount: 1000.50", "1000.50",
		"'min_amount' must be an amount in fen like 100000 (for 1,000.00 yuan), found '1000.50' [schema-type]");
	pt_case("rate_bp: 720", "rate_bp: 7.2%", "7.2%",
		"'rate_bp' must be a rate in basis points like 320 (for 3.20%), found '7.2%' [schema-type]");
	pt_case("risk_level: 1", "risk_level: R1", "R1",
		"'risk_level' must be a whole number, found 'R1' [schema-type]");
}
END_TEST

START_TEST(test_products_enum)
{
	pt_case("kind: loan", "kind: laon", "laon",
		"'kind' must be one of deposit, loan, wealth, fund, trust, insurance, bill, fx, acquiring, "
		"payroll, pool, found 'laon'; did you mean 'loan'? [schema-enum]");
	pt_case("segment: personal\n    risk_level: 1", "segment: persnal\n    risk_level: 1", "persnal",
		"'segment' must be one of personal, enterprise, found 'persnal'; did you mean 'personal'? [schema-enum]");
	pt_case("series: six-butlers", "series: butlers", "butlers",
		"'series' must be one of six-butlers, found 'butlers' [schema-enum]");
}
END_TEST

START_TEST(test_products_keys)
{
	pt_case("term_days: 365", "term_dayz: 365", "term_dayz",
		"unknown key 'term_dayz' in product 'xingedai'; did you mean 'term_days'? [unknown-key]");
	pt_case("    risk_level: 4\n", "", "id: pb-family-trust",
		"missing required key 'risk_level' in product 'pb-family-trust' [missing-key]");
	pt_case("exclusive_to: [private-banking]", "exclusive_to: private-banking", "private-banking",
		"'exclusive_to' must be a list, found 'private-banking' [schema-type]");
	pt_case("id: pb-family-trust", "id: PB-Trust", "PB-Trust",
		"'id' must be an id like transfer-form (lowercase letters, digits, '_' and '-', "
		"starting with a letter), found 'PB-Trust' [schema-pattern]");
}
END_TEST

START_TEST(test_products_quoted_number)
{
	pt_case("min_amount: 100000", "min_amount: \"100\"", "\"100\"",
		"'min_amount' expects a number, found the string \"100\" (remove the quotes) [quoted-number]");
	pt_case("risk_level: 4", "risk_level: '4'", "'4'",
		"'risk_level' expects a number, found the string \"4\" (remove the quotes) [quoted-number]");
}
END_TEST

START_TEST(test_products_duplicate)
{
	pt_case("id: pb-family-trust", "id: xingedai", "xingedai\n    name: product.pb",
		"product 'xingedai' is defined twice [duplicate-product]");
	vt_run r;
	char *text = vt_sub(xstrdup(pt_catalogue), "id: pb-family-trust", "id: xingedai");
	pt_validate(&r, text, "schemas");
	ck_assert_msg(strstr(r.out, PT_PATH ":2:9: note: product 'xingedai' is first defined here\n"), "%s", r.out);
	free(text);
	vt_release(&r);
}
END_TEST

START_TEST(test_products_exclusive_to)
{
	pt_case("[private-banking]", "[private-bankng]", "private-bankng",
		"product 'pb-family-trust' names unknown edition 'private-bankng' in 'exclusive_to'; "
		"did you mean 'private-banking'? [unknown-edition]");
	pt_case("[private-banking]", "[private-banking, care]", "care",
		"product 'pb-family-trust' names unknown edition 'care' in 'exclusive_to' [unknown-edition]");
	pt_case("[private-banking]", "[personal]", "personal]",
		"product 'pb-family-trust' names the base 'personal' in 'exclusive_to'; only editions offer "
		"products, name those that extend it [unknown-edition]");
	/* a value of the wrong form is reported once, by the schema */
	pt_case("[private-banking]", "[Private]", "Private",
		"item 1 of 'exclusive_to' must be an id like transfer-form (lowercase letters, digits, '_' and "
		"'-', starting with a letter), found 'Private' [schema-pattern]");
}
END_TEST

START_TEST(test_products_several_errors)
{
	char *text = vt_sub(xstrdup(pt_catalogue), "risk_level: 1", "risk_level: 6");
	text = vt_sub(text, "kind: trust", "kind: trusts");
	text = vt_sub(text, "[private-banking]", "[mas]");
	vt_run r;
	pt_validate(&r, text, "schemas");
	ck_assert_msg(r.errors == 3, "%s", r.out);
	ck_assert_msg(strstr(r.out, "[schema-range]") && strstr(r.out, "did you mean 'trust'? [schema-enum]") &&
		      strstr(r.out, "did you mean 'mass'? [unknown-edition]"), "%s", r.out);
	ck_assert_msg(strstr(r.out, "[schema-range]") < strstr(r.out, "[schema-enum]"), "source order:\n%s", r.out);
	free(text);
	vt_release(&r);
}
END_TEST

START_TEST(test_products_root)
{
	vt_run r;
	pt_validate(&r, "- id: xingedai\n", "schemas");
	ck_assert_msg(strstr(r.out, PT_PATH ":1:1: error: the product catalogue must be a map of keys, "
			     "found a list [schema-type]\n"), "%s", r.out);
	ck_assert_int_eq(r.errors, 1);
	vt_release(&r);
	pt_validate(&r, "products: {a: 1}\n", "schemas");
	ck_assert_msg(strstr(r.out, PT_PATH ":1:11: error: 'products' must be a list, found a map [schema-type]\n"),
		      "%s", r.out);
	vt_release(&r);
	/* a misspelt `products:` is unknown, and the list it should be is missing */
	pt_validate(&r, "prodcts: []\n", "schemas");
	ck_assert_int_eq(r.errors, 2);
	ck_assert_msg(strstr(r.out, PT_PATH ":1:1: error: unknown key 'prodcts' in the product catalogue; "
			     "did you mean 'products'? [unknown-key]\n") &&
		      strstr(r.out, PT_PATH ":1:1: error: missing required key 'products' in the product "
			     "catalogue [missing-key]\n"), "%s", r.out);
	vt_release(&r);
	/* no catalogue: nothing to check */
	project *p = project_new();
	ck_assert_int_eq(validate_products(p, "schemas"), 0);
	project_free(p);
}
END_TEST

/* A schema directory without products.xsd: editions validate, the catalogue says why it cannot. */
START_TEST(test_products_schema_missing)
{
	char dir[] = "/tmp/vt-schemas-XXXXXX", *cwd = getcwd(NULL, 0), *from = NULL, *to = NULL;
	ck_assert(mkdtemp(dir) != NULL);
	static const char *const files[] = { "edition.xsd", "components.xsd" };
	for (size_t i = 0; i < 2; i++) {
		ck_assert(asprintf(&from, "%s/schemas/%s", cwd, files[i]) > 0);
		ck_assert(asprintf(&to, "%s/%s", dir, files[i]) > 0);
		ck_assert_int_eq(symlink(from, to), 0);
		free(from);
		free(to);
	}
	vt_run r;
	pt_validate(&r, pt_catalogue, dir);
	ck_assert_int_eq(r.errors, 1);
	char *want = NULL;
	ck_assert(asprintf(&want, "error: cannot read the schema '%s/products.xsd' [schema-missing]", dir) > 0);
	ck_assert_msg(strstr(r.out, want), "%s", r.out);
	char *ed = vt_fixture();
	vt_run e;
	vt_validate(&e, ed, 0, dir);
	ck_assert_msg(e.errors == 0, "%s", e.out);
	vt_release(&e);
	for (size_t i = 0; i < 2; i++) {
		ck_assert(asprintf(&to, "%s/%s", dir, files[i]) > 0);
		unlink(to);
		free(to);
	}
	rmdir(dir);
	free(want);
	free(ed);
	free(cwd);
	vt_release(&r);
}
END_TEST

/* The bank's own catalogue follows products.xsd. */
START_TEST(test_real_products_valid)
{
	project *p = project_new();
	ck_assert_int_eq(project_load(p, "editions"), 0);
	ck_assert_ptr_nonnull(p->products);
	int errors = validate_products(p, "schemas");
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	diag_print(p->diag, f, DIAG_TEXT, 0);
	fclose(f);
	ck_assert_msg(errors == 0, "%d errors in editions/products.yaml:\n%s", errors, out);
	free(out);
	project_free(p);
}
END_TEST

Suite *suite_validate(void);
Suite *suite_validate(void)
{
	Suite *s = suite_create("validate");
	TCase *tc = tcase_create("schema");
	tcase_add_test(tc, test_valid_edition);
	tcase_add_test(tc, test_unknown_key_suggests);
	tcase_add_test(tc, test_unknown_key_in_component);
	tcase_add_test(tc, test_unknown_top_level_map);
	tcase_add_test(tc, test_unknown_component_suggests);
	tcase_add_test(tc, test_decimal_out_of_range);
	tcase_add_test(tc, test_integer_out_of_range);
	tcase_add_test(tc, test_not_a_number);
	tcase_add_test(tc, test_bad_colour);
	tcase_add_test(tc, test_bad_colour_in_list);
	tcase_add_test(tc, test_bad_enum);
	tcase_add_test(tc, test_bad_enum_suggests);
	tcase_add_test(tc, test_missing_required_key);
	tcase_add_test(tc, test_missing_required_top_level);
	tcase_add_test(tc, test_missing_id_in_list_item);
	tcase_add_test(tc, test_quoted_number);
	tcase_add_test(tc, test_quoted_number_in_entry);
	tcase_add_test(tc, test_quoted_bool);
	tcase_add_test(tc, test_yaml_bool_spelling);
	tcase_add_test(tc, test_children_on_leaf);
	tcase_add_test(tc, test_deep_component);
	tcase_add_test(tc, test_deep_unknown_component);
	tcase_add_test(tc, test_map_where_value_belongs);
	tcase_add_test(tc, test_value_where_map_belongs);
	tcase_add_test(tc, test_scalar_list_item_where_map_belongs);
	tcase_add_test(tc, test_bad_string_key);
	tcase_add_test(tc, test_every_error_reported);
	tcase_add_test(tc, test_clean_items_remembered);
	tcase_add_test(tc, test_abstract_base);
	tcase_add_test(tc, test_inherited_value_note);
	tcase_add_test(tc, test_missing_schema_dir);
	tcase_add_test(tc, test_root_not_a_map);
	tcase_add_test(tc, test_all_components_known);
	tcase_add_test(tc, test_real_editions_valid);
	tcase_add_test(tc, test_products_valid);
	tcase_add_test(tc, test_products_range);
	tcase_add_test(tc, test_products_type);
	tcase_add_test(tc, test_products_enum);
	tcase_add_test(tc, test_products_keys);
	tcase_add_test(tc, test_products_quoted_number);
	tcase_add_test(tc, test_products_duplicate);
	tcase_add_test(tc, test_products_exclusive_to);
	tcase_add_test(tc, test_products_several_errors);
	tcase_add_test(tc, test_products_root);
	tcase_add_test(tc, test_products_schema_missing);
	tcase_add_test(tc, test_real_products_valid);
	suite_add_tcase(s, tc);
	return s;
}
