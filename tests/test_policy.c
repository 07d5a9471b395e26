/*
 * test_policy: stage 5 (policy.c) on the small bank project of test_check.c.
 *
 * The care, english and private-banking editions of a case are the fixture's
 * `mass` made into that edition by a few edits (a care theme that passes, the
 * en-US locale, ...); each case then breaks one rule and asserts the exact
 * diagnostic at the exact position. Cases with errors == 0 are the passing side.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/check/fixture.h"
#include "model.h"

typedef struct sub {
	const char *old, *new_text;
} sub;

/* What turns the fixture's mass into each edition, passing every policy. */
static const sub care_base[] = {
	{ "edition: mass", "edition: care" },
	{ "title: edition.mass.title", "title: edition.care.title" },
	{ "font_scale: 1.0", "font_scale: 1.3" },
	{ "touch_target: 44", "touch_target: 56" },
	{ "max_tiles: 12", "max_tiles: 6" },
	{ "primary: \"#C8102E\"", "primary: \"#8B0A1E\"" },
	{ NULL, NULL },
};
static const sub english_base[] = {
	{ "edition: mass", "edition: english" },
	{ "locale: zh-CN", "locale: en-US" },
	{ "title: edition.mass.title", "title: edition.english.title" },
	{ NULL, NULL },
};
static const sub private_base[] = {
	{ "edition: mass", "edition: private-banking" },
	{ "- id: fund_a\n", "- id: fund_a\n  - id: pb_trust\n" },
	{ NULL, NULL },
};

typedef struct want {
	const char *file;           /* fixture file; NULL: the edition's */
	const char *after, *needle;
	const char *sev, *msg;
} want;

typedef struct policy_case {
	const char *edition;        /* mass, care, english, private-banking */
	const char *file;           /* the fixture file the case edits; NULL: the edition */
	sub edit;
	int errors;
	want w[2];
} policy_case;

static const policy_case cases[] = {
	{ "mass", NULL, { NULL, NULL }, 0, { { 0 } } },
	{ "mass", NULL, { "\"#E9EEF4\"", "\"#FF0000\"" }, 1, {
	  { NULL, NULL, "\"#FF0000\"", "error", "auxiliary colour '#FF0000' has saturation 1.00; "
	    "auxiliary colours need at most 0.35 [policy-saturation]" } } },
	{ "mass", NULL, { "\"#E9EEF4\"", "\"#C9D6E3\"" }, 0, { { 0 } } },
	{ "mass", NULL, { "- id: fund_a\n", "- id: fund_a\n  - id: haoqidai\n" }, 1, {
	  { NULL, NULL, "haoqidai", "error", "personal edition 'mass' lists enterprise product "
	    "'haoqidai' [policy-segment]" },
	  { "products.yaml", "id: haoqidai", "enterprise", "note",
	    "product 'haoqidai' is declared enterprise here" } } },
	{ "mass", NULL, { "- id: fund_a\n", "- id: fund_a\n  - id: pb_trust\n" }, 1, {
	  { NULL, NULL, "pb_trust", "error", "edition 'mass' lists product 'pb_trust', which is "
	    "exclusive to 'private-banking' [policy-segment]" },
	  { "products.yaml", NULL, "[private-banking]", "note",
	    "product 'pb_trust' is made exclusive here" } } },
	{ "private-banking", NULL, { NULL, NULL }, 0, { { 0 } } },
	{ "private-banking", NULL, { "      - component: risk_disclosure\n        text: wealth.risk\n", "" },
	  1, { { NULL, "- id: wealth", "wealth", "error", "investment screen 'wealth' of edition "
		 "'private-banking' has no risk_disclosure component [policy-risk-disclosure]" } } },
	{ "mass", NULL, { "      - component: risk_disclosure\n        text: wealth.risk\n", "" },
	  0, { { 0 } } },
	{ "care", NULL, { NULL, NULL }, 0, { { 0 } } },
	{ "care", NULL, { "font_scale: 1.3", "font_scale: 1.2" }, 1, {
	  { NULL, NULL, "1.2", "error", "font_scale 1.2 is too small for care edition 'care'; "
	    "care needs at least 1.3 [policy-care-font]" } } },
	{ "care", NULL, { "touch_target: 56", "touch_target: 48" }, 1, {
	  { NULL, NULL, "48", "error", "touch_target 48 is too small for care edition 'care'; "
	    "care needs at least 56 [policy-care-touch]" } } },
	{ "care", NULL, { "primary: \"#8B0A1E\"", "primary: \"#C8102E\"" }, 1, {
	  { NULL, "on_primary: ", "\"#FFFFFF\"", "error", "contrast of on_primary '#FFFFFF' on "
	    "primary '#C8102E' is 5.88:1; care needs at least 7:1 [policy-care-contrast]" },
	  { NULL, NULL, "\"#C8102E\"", "note", "primary is set here" } } },
	{ "care", NULL, { "text: \"#1F2329\"", "text: \"#5A5A5A\"" }, 2, {
	  { NULL, "  text: ", "\"#5A5A5A\"", "error", "contrast of text '#5A5A5A' on background "
	    "'#FFFFFF' is 6.90:1; care needs at least 7:1 [policy-care-contrast]" },
	  { NULL, "  text: ", "\"#5A5A5A\"", "error", "contrast of text '#5A5A5A' on surface "
	    "'#FFFFFF' is 6.90:1; care needs at least 7:1 [policy-care-contrast]" } } },
	{ "care", NULL, { "text: \"#1F2329\"", "text: \"#575757\"" }, 0, { { 0 } } },
	{ "care", NULL, { "max_tiles: 6", "max_tiles: 8" }, 1, {
	  { NULL, "max_tiles: ", "8", "error", "max_tiles 8 is too many for care edition 'care'; care "
	    "allows at most 6 [policy-care-tiles]" } } },
	{ "care", NULL, { "max_tiles: 6", "max_tiles: 1" }, 1, {
	  { NULL, "- id: home", "home", "error", "screen 'home' shows 2 tiles; care edition "
	    "'care' allows at most 1 [policy-care-tiles]" } } },
	{ "care", NULL, { "contact:\n  phone: \"95577\"\n", "" }, 1, {
	  { NULL, NULL, "edition: care", "error", "care edition 'care' has no contact phone for "
	    "the one-tap call; set 'contact: { phone: ... }' [policy-care-call]" } } },
	{ "care", NULL, { "      - component: call_button\n        label: home.call\n", "" }, 1, {
	  { NULL, "- id: home", "home", "error", "home screen 'home' of care edition 'care' has "
	    "no call_button [policy-care-call]" } } },
	{ "english", NULL, { NULL, NULL }, 0, { { 0 } } },
	{ "english", "i18n/en-US.yaml", { "balance: Balance", "balance: Balance 余额" }, 1, {
	  { NULL, NULL, "Balance 余额", "error", "string 'home.balance' of english edition "
	    "'english' holds CJK text 'Balance 余额' [policy-english-cjk]" } } },
	{ "english", "i18n/en-US.yaml", { "wealth: Wealth", "wealth: \"Wealth \xf0\xa0\x80\x80\"" }, 1, {
	  { NULL, NULL, "\"Wealth", "error", "string 'home.wealth' of english edition "
	    "'english' holds CJK text 'Wealth \xf0\xa0\x80\x80' [policy-english-cjk]" } } },
	{ "english", "i18n/en-US.yaml", { "title: Home", "title: Caf\xc3\xa9 \xe2\x80\x94 Home" }, 0,
	  { { 0 } } },
	{ "english", NULL, { "contact:\n", "strings:\n  home.title: 首页\ncontact:\n" }, 1, {
	  { NULL, NULL, "首页", "error", "string 'home.title' of english edition 'english' holds "
	    "CJK text '首页' [policy-english-cjk]" } } },
	{ "english", NULL, { "fallback: notice.service_down", "fallback: 服务暂不可用" }, 1, {
	  { NULL, NULL, "服务暂不可用", "error", "fallback of flow 'transfer' of english edition "
	    "'english' holds CJK text '服务暂不可用' [policy-english-cjk]" } } },
};

static char *apply(char *text, const sub *subs)
{
	for (; subs && subs->old; subs++)
		text = fx_sub(text, subs->old, subs->new_text);
	return text;
}

/* The fixture's mass made into the edition id, as editions/<id>.yaml. */
static char *edition_text(const char *id)
{
	char *text = fx_read("mass.yaml");
	if (!strcmp(id, "care"))
		return apply(text, care_base);
	if (!strcmp(id, "english"))
		return apply(text, english_base);
	if (!strcmp(id, "private-banking"))
		return apply(text, private_base);
	return text;
}

START_TEST(policy_case_reports)
{
	const policy_case *c = &cases[_i];
	char path[256], epath[256];
	snprintf(epath, sizeof epath, "editions/%s.yaml", c->edition);
	char *etext = edition_text(c->edition);
	char *other = c->file ? fx_read(c->file) : NULL;
	if (c->edit.old && other)
		other = fx_sub(other, c->edit.old, c->edit.new_text);
	else if (c->edit.old)
		etext = fx_sub(etext, c->edit.old, c->edit.new_text);
	snprintf(path, sizeof path, "editions/%s", c->file ? c->file : "");
	fx_file over[] = { { "editions/mass.yaml", NULL }, { epath, etext }, { path, other } };
	project *p = fx_build(over, other ? 3 : 2);
	edition *e = project_find(p, c->edition);
	ck_assert_ptr_nonnull(e);
	int errors = policy_edition(p, e);
	if (!c->errors)
		fx_expect_clean(p);
	for (size_t k = 0; k < 2 && c->w[k].msg; k++) {
		const want *w = &c->w[k];
		const char *file = w->file ? w->file : c->file;
		char *wtext = w->file ? fx_read(w->file) : NULL;
		char wpath[256];
		snprintf(wpath, sizeof wpath, "editions/%s", file ? file : "");
		if (!file)
			snprintf(wpath, sizeof wpath, "%s", epath);
		fx_expect_at(p, wpath, wtext ? wtext : other ? other : etext, w->after, w->needle,
			     w->sev, w->msg);
		free(wtext);
	}
	ck_assert_int_eq(errors, c->errors);
	project_free(p);
	free(etext);
	free(other);
}
END_TEST

/* The care rules follow an edition that extends care; the note names the value it overrode. */
START_TEST(policy_care_follows_extends)
{
	char *care = edition_text("care");
	const char *plus = "edition: care-plus\nextends: care\ntheme:\n  font_scale: 1.1\n";
	fx_file over[] = { { "editions/mass.yaml", NULL }, { "editions/care.yaml", care },
			   { "editions/care-plus.yaml", plus } };
	project *p = fx_build(over, 3);
	edition *e = project_find(p, "care-plus");
	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_nonnull(e->resolved);
	ck_assert_int_eq(policy_edition(p, e), 1);
	fx_expect(p, "editions/care-plus.yaml", plus, "1.1", "error", "font_scale 1.1 is too small "
		  "for care edition 'care-plus'; care needs at least 1.3 [policy-care-font]");
	int line, col;
	char note[256];
	fx_pos(care, NULL, "1.3", &line, &col);
	snprintf(note, sizeof note, "\nnote: overrides the value inherited from editions/care.yaml:%d:%d\n",
		 line, col);
	fx_expect_text(p, note);
	project_free(p);
	free(care);
}
END_TEST

/* The real editions pass, check and policy, when they are there (run from the top directory). */
START_TEST(policy_real_editions_pass)
{
	project *p = project_new();
	if (project_load(p, "editions") < 0 || p->n_editions == 0) {
		project_free(p);
		return;
	}
	project_resolve(p);
	int errors = 0;
	for (size_t i = 0; i < p->n_editions; i++) {
		errors += check_edition(p, p->editions[i]);
		errors += policy_edition(p, p->editions[i]);
	}
	if (errors || diag_errors(p->diag)) {
		char *got = fx_diags(p);
		fprintf(stderr, "%s\n", got);
		free(got);
	}
	ck_assert_msg(errors == 0 && diag_errors(p->diag) == 0, "editions/ has %d errors", errors);
	project_free(p);
}
END_TEST

Suite *suite_policy(void);
Suite *suite_policy(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("policies");
	tcase_add_loop_test(tc, policy_case_reports, 0, (int)(sizeof cases / sizeof *cases));
	tcase_add_test(tc, policy_care_follows_extends);
	tcase_add_test(tc, policy_real_editions_pass);
	suite_add_tcase(s, tc);
	return s;
}
