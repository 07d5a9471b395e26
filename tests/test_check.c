/*
 * test_check: stage 4 (check.c) on a small bank project, one edit at a time.
 *
 * Each case edits one fixture file (tests/data/check/project/, read as if under
 * editions/), runs check_edition on `mass` and asserts the exact diagnostics, at
 * the positions where the offending text sits in the edited file, and the
 * number of errors. The unedited project must be clean: no error, no warning.
 * The fixture helpers (fixture.h) live here and are shared with test_policy.c.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/check/fixture.h"
#include "model.h"
#include "strbuf.h"

#define FX_DIR "tests/data/check/project/"
#define FX_MAX_FILES 16

/* ---- fixture ---- */

static const char *const fx_defaults[] = {
	"mass.yaml", "products.yaml", "i18n/zh-CN.yaml", "i18n/en-US.yaml",
	"flows/home.lua", "flows/transfer.lua",
};

char *fx_read(const char *name)
{
	strbuf sb = STRBUF_INIT;
	char path[256];
	snprintf(path, sizeof path, FX_DIR "%s", name);
	ck_assert_msg(strbuf_read_file(&sb, path, 1 << 20) == 0, "cannot read '%s'", path);
	return strbuf_detach(&sb, NULL);
}

char *fx_sub(char *text, const char *old, const char *new_text)
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

static int has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static const char *base_name(project *p, const char *path, const char *suffix)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	size_t n = strlen(name), ls = strlen(suffix);
	return arena_strndup(p->arena, name, n >= ls ? n - ls : n);
}

static void fx_add_edition(project *p, const char *path, node *doc, int base)
{
	edition *e = arena_alloc(p->arena, sizeof *e);
	e->id = base_name(p, path, ".yaml");
	e->path = arena_strdup(p->arena, path);
	e->doc = doc;
	int flag = 0;
	e->abstract = base || (node_as_bool(node_get(doc, "abstract"), &flag) == 0 && flag);
	size_t i = p->n_editions++;
	while (i > 0 && strcmp(p->editions[i - 1]->id, e->id) > 0) {   /* kept sorted by id */
		p->editions[i] = p->editions[i - 1];
		i--;
	}
	p->editions[i] = e;
}

static void fx_add(project *p, const char *path, const char *text)
{
	size_t len = strlen(text);
	if (strstr(path, ".lua")) {
		named_doc *s = &p->scripts[p->n_scripts++];
		s->name = arena_printf(p->arena, "flows/%s", base_name(p, path, ""));
		s->path = arena_strdup(p->arena, path);
		s->text = arena_strndup(p->arena, text, len);
		s->len = len;
		diag_add_source(p->diag, path, text, len);
		return;
	}
	node *doc = read_yaml_text(p, path, text, len);
	ck_assert_msg(doc != NULL, "fixture '%s' does not parse", path);
	named_doc *nd = NULL;
	if (!strcmp(path, "editions/products.yaml")) {
		p->products = doc;
		p->products_path = arena_strdup(p->arena, path);
	} else if (has_prefix(path, "editions/i18n/")) {
		nd = &p->i18n[p->n_i18n++];
	} else if (has_prefix(path, "editions/fragments/")) {
		nd = &p->fragments[p->n_fragments++];
	} else {
		fx_add_edition(p, path, doc, has_prefix(path, "editions/base/"));
	}
	if (nd) {
		nd->name = base_name(p, path, ".yaml");
		nd->path = arena_strdup(p->arena, path);
		nd->doc = doc;
	}
}

project *fx_build(const fx_file *over, size_t n)
{
	project *p = project_new();
	p->dir = "editions";
	p->editions = arena_alloc(p->arena, FX_MAX_FILES * sizeof *p->editions);
	p->i18n = arena_alloc(p->arena, FX_MAX_FILES * sizeof *p->i18n);
	p->fragments = arena_alloc(p->arena, FX_MAX_FILES * sizeof *p->fragments);
	p->scripts = arena_alloc(p->arena, FX_MAX_FILES * sizeof *p->scripts);
	for (size_t i = 0; i < sizeof fx_defaults / sizeof *fx_defaults; i++) {
		char path[256];
		snprintf(path, sizeof path, "editions/%s", fx_defaults[i]);
		size_t j = 0;
		while (j < n && strcmp(over[j].path, path))
			j++;
		if (j < n)
			continue;
		char *text = fx_read(fx_defaults[i]);
		fx_add(p, path, text);
		free(text);
	}
	for (size_t j = 0; j < n; j++)
		if (over[j].text)
			fx_add(p, over[j].path, over[j].text);
	project_resolve(p);
	return p;
}

char *fx_diags(project *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert(f != NULL);
	diag_print(p->diag, f, DIAG_TEXT, 0);
	fclose(f);
	return buf;
}

void fx_pos(const char *text, const char *after, const char *needle, int *line, int *col)
{
	const char *from = after ? strstr(text, after) : text;
	ck_assert_msg(from != NULL, "'%s' not in the text", after);
	const char *hit = strstr(from, needle);
	ck_assert_msg(hit != NULL, "'%s' not in the text", needle);
	const char *bol = text;
	*line = 1;
	for (const char *s = text; s < hit; s++)
		if (*s == '\n') {
			++*line;
			bol = s + 1;
		}
	*col = (int)(hit - bol) + 1;
}

void fx_expect_text(project *p, const char *want)
{
	char *got = fx_diags(p);
	int found = strstr(got, want) != NULL;
	if (!found)                 /* Check cuts long messages: the whole output goes to stderr */
		fprintf(stderr, "expected\n  %s\nin\n%s\n", want, got);
	free(got);
	ck_assert_msg(found, "expected '%.200s'", want);
}

void fx_expect_at(project *p, const char *file, const char *text, const char *after,
		  const char *needle, const char *sev, const char *msg)
{
	int line, col;
	fx_pos(text, after, needle, &line, &col);
	char want[1024];
	snprintf(want, sizeof want, "%s:%d:%d: %s: %s\n", file, line, col, sev, msg);
	fx_expect_text(p, want);
}

void fx_expect_clean(project *p)
{
	int clean = diag_errors(p->diag) == 0 && diag_warnings(p->diag) == 0;
	if (!clean) {
		char *got = fx_diags(p);
		fprintf(stderr, "expected no diagnostics, got\n%s\n", got);
		free(got);
	}
	ck_assert_msg(clean, "expected no diagnostics");
}

/* ---- cases: one edit, its diagnostics ---- */

typedef struct expectation {
	const char *file;           /* fixture file; NULL: the edited one */
	const char *after, *needle; /* where it points, in that file's (edited) text */
	const char *sev, *msg;
} expectation;

typedef struct check_case {
	const char *file;           /* the fixture file edited */
	const char *old, *new_text;
	int errors;                 /* check_edition's result */
	expectation want[2];
} check_case;

static const check_case cases[] = {
	{ "mass.yaml", "screen: transfer_result", "screen: transfer_reslt", 2, {
	  { NULL, NULL, "transfer_reslt", "error", "route 'transfer-result' names unknown screen "
	    "'transfer_reslt'; did you mean 'transfer_result'? [unknown-screen]" },
	  { NULL, "- id: transfer_result", "transfer_result", "error", "screen 'transfer_result' "
	    "cannot be reached from home screen 'home' [unreachable-screen]" } } },
	{ "mass.yaml", "home: home", "home: hme", 1, {
	  { NULL, NULL, "hme", "error", "edition 'mass' names unknown home screen 'hme'; "
	    "did you mean 'home'? [unknown-screen]" } } },
	{ "mass.yaml", "flow: transfer\n    auth", "flow: transfr\n    auth", 1, {
	  { NULL, NULL, "transfr", "error", "route 'transfer-submit' names unknown flow 'transfr'; "
	    "did you mean 'transfer'? [unknown-flow]" } } },
	{ "mass.yaml", "flow: home_summary", "flow: home_sumary", 1, {
	  { NULL, NULL, "home_sumary", "error", "screen 'home' names unknown flow 'home_sumary'; "
	    "did you mean 'home_summary'? [unknown-flow]" } } },
	{ "mass.yaml", "to: wealth", "to: welth", 2, {
	  { NULL, NULL, "welth", "error", "tile in screen 'home' names unknown route 'welth'; "
	    "did you mean 'wealth'? [unknown-route]" },
	  { NULL, "- id: wealth", "wealth", "error", "screen 'wealth' cannot be reached from "
	    "home screen 'home' [unreachable-screen]" } } },
	{ "mass.yaml", "then: transfer-result", "then: transfer-reslt", 2, {
	  { NULL, NULL, "transfer-reslt", "error", "route 'transfer-submit' names unknown route "
	    "'transfer-reslt'; did you mean 'transfer-result'? [unknown-route]" } } },
	{ "mass.yaml", "action: transfer-submit", "action: transfer-sbmit", 2, {
	  { NULL, NULL, "transfer-sbmit", "error", "form in screen 'transfer' names unknown route "
	    "'transfer-sbmit'; did you mean 'transfer-submit'? [unknown-route]" } } },
	{ "mass.yaml", "- id: xingedai", "- id: xingdai", 1, {
	  { NULL, NULL, "xingdai", "error", "edition 'mass' names unknown product 'xingdai'; "
	    "did you mean 'xingedai'? [unknown-product]" } } },
	{ "mass.yaml", "product: fund_a", "product: fund_b", 1, {
	  { NULL, NULL, "fund_b", "error", "product_card in screen 'wealth' names unknown product "
	    "'fund_b'; did you mean 'fund_a'? [unknown-product]" } } },
	{ "mass.yaml", "label: home.balance", "label: home.balanc", 1, {
	  { NULL, NULL, "home.balanc", "error", "balance_card in screen 'home' names unknown string "
	    "'home.balanc' (edition 'mass', locale 'zh-CN'); did you mean 'home.balance'? "
	    "[unknown-string]" } } },
	{ "mass.yaml", "fallback: notice.service_down", "fallback: notice.service_dwn", 1, {
	  { NULL, NULL, "notice.service_dwn", "error", "flow 'transfer' names unknown string "
	    "'notice.service_dwn' (edition 'mass', locale 'zh-CN'); did you mean "
	    "'notice.service_down'? [unknown-string]" } } },
	{ "mass.yaml", "title: edition.mass.title", "title: edition.mas.title", 1, {
	  { NULL, NULL, "edition.mas.title", "error", "edition 'mass' names unknown string "
	    "'edition.mas.title' (edition 'mass', locale 'zh-CN'); did you mean "
	    "'edition.mass.title'? [unknown-string]" } } },
	{ "products.yaml", "name: product.xingedai", "name: product.xingeda", 1, {
	  { NULL, NULL, "product.xingeda", "error", "product 'xingedai' names unknown string "
	    "'product.xingeda' (edition 'mass', locale 'zh-CN'); did you mean "
	    "'product.xingedai'? [unknown-string]" } } },
	{ "mass.yaml", "path: /wealth", "path: /home", 1, {
	  { NULL, "id: wealth\n    path", "/home", "error", "route 'wealth' has path '/home', "
	    "already used by route 'home' [duplicate-path]" },
	  { NULL, NULL, "/home", "note", "route 'home' takes the path here" } } },
	{ "mass.yaml", "  - id: wealth\n    title: wealth.title", "  - id: transfer\n    title: wealth.title", 3, {
	  { NULL, "- id: transfer\n    title: wealth", "transfer", "error",
	    "screen 'transfer' is defined twice [duplicate-screen]" },
	  { NULL, "- id: transfer\n    title: transfer", "transfer", "note",
	    "screen 'transfer' is first defined here" } } },
	{ "mass.yaml", "  - id: wealth\n    path", "  - id: home\n    path", 3, {
	  { NULL, "- id: home\n    path: /wealth", "home", "error",
	    "route 'home' is defined twice [duplicate-route]" } } },
	{ "mass.yaml", "${summary.balance | money}", "${summary..balance | money}", 1, {
	  { NULL, NULL, "${summary..", "error", "malformed binding '${summary..balance | money}'; "
	    "write '${field.path}' or '${field.path | filter}' [bad-binding]" } } },
	{ "mass.yaml", "${summary.balance | money}", "${summary.balance | money", 1, {
	  { NULL, NULL, "${summary.", "error", "unclosed binding in '${summary.balance | money'; "
	    "write '${field.path | filter}' [bad-binding]" } } },
	{ "mass.yaml", "| money}", "| mony}", 1, {
	  { NULL, NULL, "${summary.", "error", "binding '${summary.balance | mony}' uses unknown "
	    "filter 'mony'; did you mean 'money'? [unknown-filter]" } } },
	{ "mass.yaml", "${summary.balance", "${sumary.balance", 1, {
	  { NULL, NULL, "${sumary.", "error", "binding '${sumary.balance | money}' names unknown "
	    "field 'sumary' of flow 'home_summary'; did you mean 'summary'? [unknown-field]" } } },
	{ "mass.yaml", "value: ${status}", "value: ${statu}", 1, {
	  { NULL, NULL, "${statu}", "error", "binding '${statu}' names unknown field 'statu' of "
	    "flow 'transfer'; did you mean 'status'? [unknown-field]" } } },
	{ "mass.yaml", "    flow: home_summary\n", "", 1, {
	  { NULL, NULL, "${summary.", "error", "binding '${summary.balance | money}' in screen "
	    "'home' has no data: the screen has neither 'flow' nor 'result_of' "
	    "[binding-without-flow]" } } },
	{ "mass.yaml", "name: amount", "name: amout", 1, {
	  { NULL, NULL, "amout", "error", "input 'amout' of form 'transfer-form' is not a param of "
	    "flow 'transfer'; did you mean 'amount'? [unknown-param]" },
	  { NULL, "action: ", "transfer-submit", "warning", "form 'transfer-form' does not send "
	    "param 'amount', which flow 'transfer' requires [missing-param]" } } },
	{ "mass.yaml", "to: wealth", "to: home", 1, {
	  { NULL, "- id: wealth", "wealth", "error", "screen 'wealth' cannot be reached from "
	    "home screen 'home' [unreachable-screen]" } } },
	{ "mass.yaml", "confirm: true", "confirm: false", 1, {
	  { NULL, NULL, "false", "error", "flow 'transfer' moves funds but does not ask for "
	    "confirmation; set 'confirm: true' [money-needs-confirm]" } } },
	{ "mass.yaml", "flow: transfer\n    auth: step_up", "flow: transfer\n    auth: login", 1, {
	  { NULL, "flow: transfer\n    auth", "login", "error", "route 'transfer-submit' runs "
	    "flow 'transfer', which moves funds, with auth 'login'; it needs 'step_up' "
	    "[money-needs-login]" } } },
	{ "mass.yaml", "script: flows/transfer.lua", "script: flows/transfr.lua", 1, {
	  { NULL, NULL, "flows/transfr.lua", "error", "flow 'transfer' names unknown script "
	    "'flows/transfr.lua'; did you mean 'flows/transfer.lua'? [unknown-script]" } } },
	{ "flows/transfer.lua", "params.amount > ctx.limits.transfer_single", "params.amount >", 1, {
	  { NULL, NULL, "  if params", "error", "syntax error in script 'flows/transfer.lua': "
	    "unexpected symbol near 'then' [lua-syntax]" },
	  { "mass.yaml", NULL, "flows/transfer.lua", "note", "flow 'transfer' runs this script" } } },
	{ "flows/home.lua", "return function(params, ctx)", "local function summary(params, ctx)", 0, {
	  { NULL, NULL, "-- home", "warning", "script 'flows/home.lua' does not return a function; "
	    "end it with 'return function(params, ctx) ... end' [lua-return]" } } },
};

START_TEST(check_case_reports)
{
	const check_case *c = &cases[_i];
	char *text = fx_sub(fx_read(c->file), c->old, c->new_text);
	char path[256];
	snprintf(path, sizeof path, "editions/%s", c->file);
	fx_file over = { path, text };
	project *p = fx_build(&over, 1);
	edition *e = project_find(p, "mass");
	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_nonnull(e->resolved);
	int errors = check_edition(p, e);
	for (size_t k = 0; k < 2 && c->want[k].msg; k++) {
		const expectation *w = &c->want[k];
		const char *file = w->file ? w->file : c->file;
		char *other = w->file && strcmp(w->file, c->file) ? fx_read(w->file) : NULL;
		char wpath[256];
		snprintf(wpath, sizeof wpath, "editions/%s", file);
		fx_expect_at(p, wpath, other ? other : text, w->after, w->needle, w->sev, w->msg);
		free(other);
	}
	ck_assert_int_eq(errors, c->errors);
	project_free(p);
	free(text);
}
END_TEST

/* ---- the passing side ---- */

START_TEST(check_clean_project)
{
	project *p = fx_build(NULL, 0);
	ck_assert_int_eq(check_edition(p, project_find(p, "mass")), 0);
	fx_expect_clean(p);
	project_free(p);
}
END_TEST

/* A bare script name, a binding without a filter, a form sending every param. */
START_TEST(check_accepts_variants)
{
	char *text = fx_sub(fx_read("mass.yaml"), "script: flows/home.lua", "script: home.lua");
	text = fx_sub(text, "${summary.balance | money}", "${ summary.balance }");
	text = fx_sub(text, "label: transfer.amount\n",
		      "label: transfer.amount\n          - component: input\n"
		      "            name: memo\n            label: transfer.to\n");
	fx_file over = { "editions/mass.yaml", text };
	project *p = fx_build(&over, 1);
	ck_assert_int_eq(check_edition(p, project_find(p, "mass")), 0);
	fx_expect_clean(p);
	project_free(p);
	free(text);
}
END_TEST

/* A list's row template binds the row's declared fields, `item`, and the screen's fields. */
static char *with_list(const char *row_binding, const char *returns)
{
	char *text = fx_sub(fx_read("mass.yaml"), "      - { id: summary, type: object }\n", returns);
	char buf[512];
	snprintf(buf, sizeof buf, "      - component: list\n        items: ${payees}\n        children:\n"
		 "          - { component: kv, label: home.title, value: \"%s\" }\n"
		 "          - { component: kv, label: home.title, value: \"${item.account}\" }\n"
		 "      - component: call_button\n", row_binding);
	return fx_sub(text, "      - component: call_button\n", buf);
}

static const char *const payees_declared =
	"      - { id: summary, type: object }\n"
	"      - { id: payees, type: list, fields: [ { id: name, type: string } ] }\n";
static const char *const payees_open =
	"      - { id: summary, type: object }\n      - { id: payees, type: list }\n";

START_TEST(check_list_rows)
{
	static const struct { const char *binding, *returns, *msg; } rows[] = {
		{ "${name | mask}", NULL, NULL },
		{ "${summary.balance | money}", NULL, NULL },
		{ "${anything}", "open", NULL },
		{ "${nam}", NULL, "binding '${nam}' names unknown field 'nam' of flow 'home_summary'; "
		  "did you mean 'name'? [unknown-field]" },
	};
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		char *text = with_list(rows[i].binding, rows[i].returns ? payees_open : payees_declared);
		fx_file over = { "editions/mass.yaml", text };
		project *p = fx_build(&over, 1);
		int errors = check_edition(p, project_find(p, "mass"));
		if (rows[i].msg)
			fx_expect(p, "editions/mass.yaml", text, "\"${nam}", "error", rows[i].msg);
		else
			fx_expect_clean(p);
		ck_assert_int_eq(errors, rows[i].msg != NULL);
		project_free(p);
		free(text);
	}
}
END_TEST

/* A locale without strings is one error (from resolve), not one per text attribute. */
START_TEST(check_unknown_locale_no_cascade)
{
	char *text = fx_sub(fx_read("mass.yaml"), "locale: zh-CN", "locale: zh-TW");
	fx_file over = { "editions/mass.yaml", text };
	project *p = fx_build(&over, 1);
	ck_assert_int_eq(check_edition(p, project_find(p, "mass")), 0);
	ck_assert_int_eq(diag_errors(p->diag), 1);
	project_free(p);
	free(text);
}
END_TEST

/* A base is not packed: screens it cannot reach yet are no error there. */
START_TEST(check_abstract_skips_reachability)
{
	char *text = fx_sub(fx_read("mass.yaml"), "edition: mass", "edition: personal\nabstract: true");
	text = fx_sub(text, "to: wealth", "to: home");
	fx_file over[] = { { "editions/mass.yaml", NULL }, { "editions/base/personal.yaml", text } };
	project *p = fx_build(over, 2);
	edition *e = project_find(p, "personal");
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(check_edition(p, e), 0);
	fx_expect_clean(p);
	project_free(p);
	free(text);
}
END_TEST

/* Editions share scripts: a broken one is reported once, at the first flow that runs it. */
START_TEST(check_script_reported_once)
{
	char *lua = fx_sub(fx_read("flows/transfer.lua"), "then\n", "\n");
	char *care = fx_sub(fx_read("mass.yaml"), "edition: mass", "edition: care");
	fx_file over[] = { { "editions/flows/transfer.lua", lua }, { "editions/care.yaml", care } };
	project *p = fx_build(over, 2);
	ck_assert_int_eq(check_edition(p, project_find(p, "care")), 1);
	ck_assert_int_eq(check_edition(p, project_find(p, "mass")), 0);
	fx_expect(p, "editions/flows/transfer.lua", lua, "    return", "error",
		  "syntax error in script 'flows/transfer.lua': 'then' expected near 'return' [lua-syntax]");
	ck_assert_int_eq(diag_errors(p->diag), 1);
	project_free(p);
	free(lua);
	free(care);
}
END_TEST

/* Every mistake of one edition in one run. */
START_TEST(check_reports_everything)
{
	char *text = fx_sub(fx_read("mass.yaml"), "home: home", "home: hme");
	text = fx_sub(text, "product: fund_a", "product: fund_b");
	text = fx_sub(text, "confirm: true", "confirm: false");
	fx_file over = { "editions/mass.yaml", text };
	project *p = fx_build(&over, 1);
	ck_assert_int_eq(check_edition(p, project_find(p, "mass")), 3);
	ck_assert_int_eq(diag_errors(p->diag), 3);
	project_free(p);
	free(text);
}
END_TEST

Suite *suite_check(void);
Suite *suite_check(void)
{
	Suite *s = suite_create("check");
	TCase *tc = tcase_create("meaning");
	tcase_add_loop_test(tc, check_case_reports, 0, (int)(sizeof cases / sizeof *cases));
	tcase_add_test(tc, check_clean_project);
	tcase_add_test(tc, check_accepts_variants);
	tcase_add_test(tc, check_list_rows);
	tcase_add_test(tc, check_unknown_locale_no_cascade);
	tcase_add_test(tc, check_abstract_skips_reachability);
	tcase_add_test(tc, check_reports_everything);
	tcase_add_test(tc, check_script_reported_once);
	suite_add_tcase(s, tc);
	return s;
}
