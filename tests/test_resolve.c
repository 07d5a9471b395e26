/*
 * test_resolve: extends chains (deep merge, overrides, id lists, replaced lists),
 * cycles and missing bases with their exact messages, fragments, strings.
 * Projects are built in memory from inline YAML, one edition per string.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static char *printed(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	diag_print(P->diag, f, DIAG_TEXT, 0);
	fclose(f);
	return buf;
}

static void assert_output_has(const char *want)
{
	char *out = printed();
	ck_assert_msg(strstr(out, want) != NULL, "want '%s' in:\n%s", want, out);
	free(out);
}

/* Adds an edition (kept sorted by id, as project_load does). */
static edition *add_edition(const char *id, const char *text)
{
	edition *e = arena_alloc(P->arena, sizeof *e);
	e->id = id;
	e->path = arena_printf(P->arena, "editions/%s.yaml", id);
	e->doc = read_yaml_text(P, e->path, text, strlen(text));
	ck_assert_ptr_nonnull(e->doc);
	int abs = 0;
	if (node_as_bool(node_get(e->doc, "abstract"), &abs) == 0)
		e->abstract = abs;
	edition **list = arena_alloc(P->arena, (P->n_editions + 1) * sizeof *list);
	size_t at = 0;
	while (at < P->n_editions && strcmp(P->editions[at]->id, id) < 0)
		at++;
	for (size_t i = 0; i < at; i++)
		list[i] = P->editions[i];
	list[at] = e;
	for (size_t i = at; i < P->n_editions; i++)
		list[i + 1] = P->editions[i];
	P->editions = list;
	P->n_editions++;
	return e;
}

static void add_named(named_doc **docs, size_t *n, const char *name, const char *path, const char *text)
{
	named_doc *list = arena_alloc(P->arena, (*n + 1) * sizeof *list);
	for (size_t i = 0; i < *n; i++)
		list[i] = (*docs)[i];
	list[*n].name = name;
	list[*n].path = path;
	list[*n].doc = read_yaml_text(P, path, text, strlen(text));
	*docs = list;
	(*n)++;
}

static const char personal[] =
	"edition: personal\n"
	"abstract: true\n"
	"locale: zh-CN\n"
	"theme:\n"
	"  primary: \"#C8102E\"\n"
	"  font_scale: 1.0\n"
	"  spacing: 8\n"
	"features: {video_counter: true, recommendations: true}\n"
	"products:\n"
	"  - id: xingedai\n"
	"  - id: deposit\n"
	"    kind: deposit\n"
	"routes:\n"
	"  - {id: home, path: /home}\n"
	"  - {id: transfer, path: /transfer, auth: login}\n"
	"tags: [a, b]\n";

static const char mass[] =
	"edition: mass\n"
	"extends: personal\n"
	"theme:\n"
	"  primary: \"#D0103A\"\n"
	"features: {recommendations: false}\n"
	"routes:\n"
	"  - {id: wealth, path: /wealth, after: home}\n"
	"  - {id: transfer, auth: step_up}\n";

static const char care[] =
	"edition: care\n"
	"extends: mass\n"
	"theme:\n"
	"  primary: \"#B00020\"\n"
	"  font_scale: 1.4\n"
	"tags: [x]\n"
	"products:\n"
	"  - id: xingedai\n"
	"    remove: true\n"
	"  - id: pension\n"
	"    before: deposit\n"
	"  - id: deposit\n"
	"    rate_bp: 150\n";

static void three_editions(void)
{
	add_edition("personal", personal);
	add_edition("mass", mass);
	add_edition("care", care);
	project_resolve(P);
}

START_TEST(test_chain_and_deep_merge)
{
	three_editions();
	ck_assert_int_eq(diag_errors(P->diag), 0);
	edition *e = project_find(P, "care");
	ck_assert_ptr_nonnull(e->resolved);
	ck_assert_uint_eq(e->chain_len, 3);
	ck_assert_str_eq(e->chain[0], "editions/care.yaml");
	ck_assert_str_eq(e->chain[1], "editions/mass.yaml");
	ck_assert_str_eq(e->chain[2], "editions/personal.yaml");
	const node *theme = node_get(e->resolved, "theme");
	ck_assert_str_eq(node_get_str(theme, "font_scale"), "1.4");
	ck_assert_str_eq(node_get_str(theme, "spacing"), "8");
	const node *features = node_get(e->resolved, "features");
	ck_assert_str_eq(node_get_str(features, "video_counter"), "true");
	ck_assert_str_eq(node_get_str(features, "recommendations"), "false");
	/* identity keys are each edition's own */
	ck_assert_str_eq(node_get_str(e->resolved, "edition"), "care");
	ck_assert_ptr_null(node_get(e->resolved, "abstract"));
	ck_assert_str_eq(node_get_str(e->resolved, "extends"), "mass");
	ck_assert_ptr_null(node_get(e->resolved, "extends")->overrides);
	/* the documents as written are untouched */
	ck_assert_ptr_null(node_get(project_find(P, "mass")->doc, "products"));
}
END_TEST

START_TEST(test_inherited_and_overrides)
{
	three_editions();
	edition *e = project_find(P, "care");
	const node *theme = node_get(e->resolved, "theme");
	const node *spacing = node_get(theme, "spacing");
	ck_assert_int_eq(spacing->inherited, 1);
	ck_assert_str_eq(spacing->pos.file, "editions/personal.yaml");
	ck_assert_int_eq(spacing->pos.line, 7);
	ck_assert_int_eq(spacing->pos.col, 12);
	/* care's primary overrides mass's, which overrode personal's */
	const node *primary = node_get(theme, "primary");
	ck_assert_int_eq(primary->inherited, 0);
	ck_assert_str_eq(primary->pos.file, "editions/care.yaml");
	ck_assert_ptr_nonnull(primary->overrides);
	ck_assert_str_eq(primary->overrides->pos.file, "editions/mass.yaml");
	ck_assert_ptr_nonnull(primary->overrides->overrides);
	ck_assert_str_eq(primary->overrides->overrides->pos.file, "editions/personal.yaml");
	ck_assert_ptr_null(primary->overrides->overrides->overrides);
	/* the notes a checker attaches */
	diag_report(P->diag, DIAG_ERROR, primary->pos, "test", "primary");
	diag_note_origin(P->diag, primary);
	diag_report(P->diag, DIAG_ERROR, spacing->pos, "test", "spacing");
	diag_note_origin(P->diag, spacing);
	char *out = printed();
	ck_assert_str_eq(out,
		"editions/care.yaml:4:12: error: primary [test]\n"
		"    4 |   primary: \"#B00020\"\n"
		"      |            ^\n"
		"note: overrides the value inherited from editions/mass.yaml:4:12\n"
		"note: overrides the value inherited from editions/personal.yaml:5:12\n"
		"editions/personal.yaml:7:12: error: spacing [test]\n"
		"    7 |   spacing: 8\n"
		"      |            ^\n"
		"note: inherited from editions/personal.yaml:7:12\n"
		"2 errors generated.\n");
	free(out);
}
END_TEST

static void assert_ids(const node *list, const char *const *ids, size_t n)
{
	ck_assert_ptr_nonnull(list);
	ck_assert_uint_eq(list->count, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(node_get_str(list->items[i], "id"), ids[i]);
}

START_TEST(test_id_lists)
{
	three_editions();
	const node *mroutes = node_get(project_find(P, "mass")->resolved, "routes");
	assert_ids(mroutes, (const char *const[]){ "home", "wealth", "transfer" }, 3);
	/* merged in place: inherited path, own auth */
	const node *transfer = mroutes->items[2];
	ck_assert_str_eq(node_get_str(transfer, "path"), "/transfer");
	ck_assert_int_eq(node_get(transfer, "path")->inherited, 1);
	ck_assert_str_eq(node_get_str(transfer, "auth"), "step_up");
	ck_assert_str_eq(node_get(transfer, "auth")->overrides->str, "login");
	/* the id restated in a derived edition points at the item it merges into */
	ck_assert_str_eq(node_get(transfer, "id")->overrides->pos.file, "editions/personal.yaml");
	/* placement keys never reach the result */
	ck_assert_ptr_null(node_get(mroutes->items[1], "after"));
	const node *products = node_get(project_find(P, "care")->resolved, "products");
	assert_ids(products, (const char *const[]){ "pension", "deposit" }, 2);
	ck_assert_ptr_null(node_get(products->items[0], "before"));
	ck_assert_str_eq(node_get_str(products->items[1], "kind"), "deposit");
	ck_assert_str_eq(node_get_str(products->items[1], "rate_bp"), "150");
}
END_TEST

START_TEST(test_plain_list_replaced)
{
	three_editions();
	const node *tags = node_get(project_find(P, "care")->resolved, "tags");
	ck_assert_uint_eq(tags->count, 1);
	ck_assert_str_eq(tags->items[0]->str, "x");
	ck_assert_ptr_nonnull(tags->overrides);
	ck_assert_uint_eq(tags->overrides->count, 2);
	const node *mtags = node_get(project_find(P, "mass")->resolved, "tags");
	ck_assert_uint_eq(mtags->count, 2);
	ck_assert_int_eq(mtags->inherited, 1);
	ck_assert_int_eq(mtags->items[1]->inherited, 1);
}
END_TEST

START_TEST(test_unknown_base)
{
	add_edition("mass", "edition: mass\n");
	add_edition("care", "edition: care\nextends: mas\n");
	add_edition("english", "edition: english\nextends: care\n");
	project_resolve(P);
	ck_assert_int_eq(diag_errors(P->diag), 1);   /* english fails quietly: its base failed */
	ck_assert_ptr_null(project_find(P, "care")->resolved);
	ck_assert_ptr_null(project_find(P, "english")->resolved);
	ck_assert_ptr_nonnull(project_find(P, "mass")->resolved);
	char *out = printed();
	ck_assert_str_eq(out,
		"editions/care.yaml:2:10: error: unknown base 'mas'; did you mean 'mass'? [unknown-base]\n"
		"    2 | extends: mas\n"
		"      |          ^\n"
		"1 error generated.\n");
	free(out);
}
END_TEST

START_TEST(test_unknown_base_without_suggestion)
{
	add_edition("care", "edition: care\nextends: enterprise\n");
	project_resolve(P);
	assert_output_has("editions/care.yaml:2:10: error: unknown base 'enterprise' [unknown-base]\n");
}
END_TEST

START_TEST(test_extends_cycle)
{
	add_edition("care", "edition: care\nextends: mass\n");
	add_edition("mass", "edition: mass\nextends: care\n");
	add_edition("self", "edition: self\nextends: self\n");
	project_resolve(P);
	ck_assert_int_eq(diag_errors(P->diag), 2);
	ck_assert_ptr_null(project_find(P, "care")->resolved);
	ck_assert_ptr_null(project_find(P, "mass")->resolved);
	assert_output_has("editions/mass.yaml:2:10: error: extends cycle: care -> mass -> care [extends-cycle]\n");
	assert_output_has("editions/self.yaml:2:10: error: extends cycle: self -> self [extends-cycle]\n");
}
END_TEST

START_TEST(test_placement_errors)
{
	add_edition("base", "edition: base\nroutes:\n  - id: home\n  - id: transfer\n");
	add_edition("kid", "edition: kid\nextends: base\nroutes:\n"
			   "  - {id: pay, before: tranfser}\n"
			   "  - {id: gone, remove: true}\n"
			   "  - {id: first, before: home}\n");
	project_resolve(P);
	ck_assert_int_eq(diag_errors(P->diag), 2);
	assert_output_has("editions/kid.yaml:4:23: error: unknown item 'tranfser' in 'before'; "
			  "did you mean 'transfer'? [unknown-anchor-item]\n");
	assert_output_has("editions/kid.yaml:5:10: error: cannot remove 'gone': no inherited item has this id "
			  "[unknown-remove-item]\n");
	/* the misplaced item still goes somewhere: the end */
	assert_ids(node_get(project_find(P, "kid")->resolved, "routes"),
		   (const char *const[]){ "first", "home", "transfer", "pay" }, 4);
}
END_TEST

START_TEST(test_move_existing_item)
{
	add_edition("base", "edition: base\nl:\n  - {id: a}\n  - {id: b}\n  - {id: c}\n");
	add_edition("kid", "edition: kid\nextends: base\nl:\n  - {id: c, before: a, x: 1}\n  - {id: a, after: b}\n");
	project_resolve(P);
	ck_assert_int_eq(diag_errors(P->diag), 0);
	const node *l = node_get(project_find(P, "kid")->resolved, "l");
	assert_ids(l, (const char *const[]){ "c", "b", "a" }, 3);
	ck_assert_str_eq(node_get_str(l->items[0], "x"), "1");
}
END_TEST

START_TEST(test_big_lists_and_maps)
{
	/* 20,000 items: every third removed, one moved to the front, one re-added */
	size_t n = 20000;
	char *base = malloc(n * 40 + 64), *kid = malloc(n * 40 + 256);
	size_t bl = (size_t)sprintf(base, "edition: base\nl:\n");
	size_t kl = (size_t)sprintf(kid, "edition: kid\nextends: base\nl:\n");
	for (size_t i = 0; i < n; i++) {
		bl += (size_t)sprintf(base + bl, "  - {id: i%zu, v: %zu}\n", i, i);
		if (i % 3 == 0)
			kl += (size_t)sprintf(kid + kl, "  - {id: i%zu, remove: true}\n", i);
	}
	kl += (size_t)sprintf(kid + kl, "  - {id: i19999, before: i1, v: last}\n  - {id: i0, v: again}\nm:\n");
	bl += (size_t)sprintf(base + bl, "m:\n");
	for (size_t i = 0; i < 100; i++) {
		bl += (size_t)sprintf(base + bl, "  k%zu: %zu\n", i, i);
		if (i % 2)
			kl += (size_t)sprintf(kid + kl, "  k%zu: odd\n", i);
	}
	add_edition("base", base);
	add_edition("kid", kid);
	free(base);
	free(kid);
	project_resolve(P);
	ck_assert_int_eq(diag_errors(P->diag), 0);
	const node *r = project_find(P, "kid")->resolved;
	const node *l = node_get(r, "l");
	ck_assert_uint_eq(l->count, n - (n + 2) / 3 + 1);
	ck_assert_str_eq(node_get_str(l->items[0], "id"), "i19999");
	ck_assert_str_eq(node_get_str(l->items[0], "v"), "last");
	ck_assert_str_eq(node_get_str(l->items[1], "id"), "i1");
	ck_assert_str_eq(node_get_str(l->items[2], "id"), "i2");
	ck_assert_str_eq(node_get_str(l->items[3], "id"), "i4");
	ck_assert_str_eq(node_get_str(l->items[l->count - 1], "id"), "i0");
	ck_assert_str_eq(node_get_str(l->items[l->count - 1], "v"), "again");
	ck_assert_str_eq(node_get_str(l->items[l->count - 2], "id"), "i19997");
	const node *m = node_get(r, "m");
	ck_assert_uint_eq(m->count, 100);
	ck_assert_str_eq(node_get_str(m, "k7"), "odd");
	ck_assert_str_eq(node_get_str(m, "k8"), "8");
	ck_assert_int_eq(node_get(m, "k8")->inherited, 1);
}
END_TEST

START_TEST(test_kind_change_overrides)
{
	add_edition("base", "edition: base\ncontact: {phone: \"95577\"}\nlist: [{id: a}]\n");
	add_edition("kid", "edition: kid\nextends: base\ncontact: none\nlist: []\n");
	project_resolve(P);
	ck_assert_int_eq(diag_errors(P->diag), 0);
	const node *r = project_find(P, "kid")->resolved;
	ck_assert_str_eq(node_get_str(r, "contact"), "none");
	ck_assert_int_eq(node_get(r, "contact")->overrides->kind, NODE_MAP);
	ck_assert_uint_eq(node_get(r, "list")->count, 0);   /* an empty list clears */
}
END_TEST

/* ---- fragments ---- */

static const char picker[] =
	"fragment: account_picker\n"
	"params: [label, size]\n"
	"body:\n"
	"  - component: select\n"
	"    label: \"{{label}}\"\n"
	"    hint: \"pick {{ label }} now\"\n"
	"    size: \"{{size}}\"\n"
	"  - use: divider_pair\n"
	"    with: {caption: \"{{label}}\"}\n";

static const char pair[] =
	"fragment: divider_pair\n"
	"params: [caption]\n"
	"body:\n"
	"  - component: divider\n"
	"    caption: \"{{caption}}\"\n"
	"  - component: divider\n";

START_TEST(test_fragments)
{
	add_named(&P->fragments, &P->n_fragments, "account_picker", "editions/fragments/account_picker.yaml", picker);
	add_named(&P->fragments, &P->n_fragments, "divider_pair", "editions/fragments/divider_pair.yaml", pair);
	add_edition("mass", "edition: mass\nscreens:\n  - id: home\n    layout:\n"
			    "      - component: heading\n"
			    "      - use: account_picker\n"
			    "        with: {label: transfer.from, size: 3}\n"
			    "      - use: account_picker\n"
			    "        with: {label: x, size: \"3\"}\n");
	project_resolve(P);
	ck_assert_int_eq(diag_errors(P->diag), 0);
	const node *layout = node_get(node_get(project_find(P, "mass")->resolved, "screens")->items[0], "layout");
	ck_assert_uint_eq(layout->count, 7);
	const node *sel = layout->items[1];
	ck_assert_str_eq(node_get_str(sel, "component"), "select");
	ck_assert_str_eq(node_get_str(sel, "label"), "transfer.from");
	ck_assert_str_eq(node_get_str(sel, "hint"), "pick transfer.from now");
	/* positions are the fragment's */
	ck_assert_str_eq(node_get(sel, "label")->pos.file, "editions/fragments/account_picker.yaml");
	ck_assert_int_eq(node_get(sel, "label")->pos.line, 5);
	/* a whole-scalar placeholder takes the argument's type */
	long long n;
	ck_assert_int_eq(node_as_int(node_get(sel, "size"), &n), 0);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(node_as_int(node_get(layout->items[4], "size"), &n), -1);
	/* nested use */
	ck_assert_str_eq(node_get_str(layout->items[2], "caption"), "transfer.from");
	ck_assert_ptr_null(node_get(layout->items[3], "caption"));
	ck_assert_str_eq(node_get_str(layout->items[5], "caption"), "x");
}
END_TEST

START_TEST(test_fragment_errors)
{
	add_named(&P->fragments, &P->n_fragments, "account_picker", "editions/fragments/account_picker.yaml", picker);
	add_named(&P->fragments, &P->n_fragments, "divider_pair", "editions/fragments/divider_pair.yaml", pair);
	add_named(&P->fragments, &P->n_fragments, "loop", "editions/fragments/loop.yaml",
		  "fragment: loop\nbody:\n  - use: loop\n");
	add_named(&P->fragments, &P->n_fragments, "typo", "editions/fragments/typo.yaml",
		  "fragment: typo\nparams: [a]\nbody:\n  - text: \"{{b}}\"\n");
	add_edition("mass", "edition: mass\nlayout:\n"
			    "  - use: acount_picker\n"
			    "  - use: account_picker\n"
			    "    with: {label: a}\n"
			    "  - use: account_picker\n"
			    "    with: {label: a, size: 1, colour: red}\n"
			    "  - use: loop\n"
			    "  - use: {name: x}\n");
	project_resolve(P);
	assert_output_has("editions/fragments/typo.yaml:4:11: error: unknown parameter 'b' in fragment 'typo' "
			  "[fragment-param]\n");
	assert_output_has("editions/mass.yaml:3:10: error: unknown fragment 'acount_picker'; "
			  "did you mean 'account_picker'? [unknown-fragment]\n");
	assert_output_has("editions/mass.yaml:4:5: error: missing argument 'size' for fragment 'account_picker' "
			  "[fragment-param]\n");
	assert_output_has("editions/mass.yaml:7:31: error: fragment 'account_picker' has no parameter 'colour' "
			  "[fragment-param]\n");
	assert_output_has("editions/fragments/loop.yaml:3:5: error: fragment uses itself: loop -> loop "
			  "[fragment-cycle]\n");
	assert_output_has("editions/mass.yaml:9:10: error: 'use' takes a fragment name, not a map [unknown-fragment]\n");
	ck_assert_int_eq(diag_errors(P->diag), 6);
}
END_TEST

START_TEST(test_fragment_expansion_bomb)
{
	/* each level uses the next ten times: 10^8 nodes if nothing stopped it */
	static const char *const names[] = { "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8" };
	for (int i = 0; i < 8; i++) {
		char *text = arena_printf(P->arena, "fragment: %s\nbody:\n", names[i]);
		for (int k = 0; k < 10; k++)
			text = arena_printf(P->arena, "%s  - use: %s\n", text, names[i + 1]);
		add_named(&P->fragments, &P->n_fragments, names[i], arena_printf(P->arena, "f/%s.yaml", names[i]), text);
	}
	add_named(&P->fragments, &P->n_fragments, "f8", "f/f8.yaml", "fragment: f8\nbody:\n  - {a: 1, b: 2}\n");
	add_edition("mass", "edition: mass\nlayout:\n  - use: f0\n");
	project_resolve(P);
	ck_assert_ptr_null(project_find(P, "mass")->resolved);
	ck_assert_int_eq(diag_errors(P->diag), 1);
	assert_output_has("error: fragment expansion exceeds 1000000 nodes [expansion-limit]");
}
END_TEST

/* ---- strings ---- */

START_TEST(test_strings)
{
	add_named(&P->i18n, &P->n_i18n, "zh-CN", "editions/i18n/zh-CN.yaml",
		  "home:\n  title: 首页\n  greeting: 您好\ntransfer.title: 转账\nui:\n  login:\n    title: 登录\n");
	add_edition("mass", "edition: mass\nlocale: zh-CN\n");
	add_edition("care", "edition: care\nextends: mass\nstrings:\n  home.greeting: 您好，欢迎\n  care:\n    call: 一键呼叫\n");
	project_resolve(P);
	const node *s = edition_strings(P, project_find(P, "care"));
	ck_assert_ptr_eq(edition_strings(P, project_find(P, "care")), s);   /* cached */
	ck_assert_str_eq(node_get_str(s, "home.title"), "首页");
	ck_assert_str_eq(node_get_str(s, "home.greeting"), "您好，欢迎");
	ck_assert_str_eq(node_get_str(s, "ui.login.title"), "登录");
	ck_assert_str_eq(node_get_str(s, "care.call"), "一键呼叫");
	ck_assert_str_eq(node_get_str(s, "transfer.title"), "转账");
	ck_assert_str_eq(node_get(s, "home.title")->pos.file, "editions/i18n/zh-CN.yaml");
	const node *m = edition_strings(P, project_find(P, "mass"));
	ck_assert_str_eq(node_get_str(m, "home.greeting"), "您好");
	ck_assert_int_eq(diag_errors(P->diag), 0);
}
END_TEST

START_TEST(test_strings_unknown_locale)
{
	add_named(&P->i18n, &P->n_i18n, "en-US", "editions/i18n/en-US.yaml", "a: b\n");
	add_edition("english", "edition: english\nlocale: en-us\n");
	project_resolve(P);
	const node *s = edition_strings(P, project_find(P, "english"));
	ck_assert_uint_eq(s->count, 0);
	assert_output_has("editions/english.yaml:2:9: error: no strings for locale 'en-us' (no i18n/en-us.yaml); "
			  "did you mean 'en-US'? [unknown-locale]\n");
}
END_TEST

START_TEST(test_project_directory)
{
	ck_assert_int_eq(project_load(P, "tests/data/front/proj"), 0);
	project_resolve(P);
	ck_assert_int_eq(diag_errors(P->diag), 0);
	edition *care_e = project_find(P, "care");
	const node *layout = node_get(node_get(care_e->resolved, "screens")->items[0], "layout");
	ck_assert_uint_eq(layout->count, 3);
	ck_assert_str_eq(node_get_str(layout->items[1], "label"), "transfer.from");
	ck_assert_str_eq(node_get_str(edition_strings(P, care_e), "home.title"), "关怀首页");
}
END_TEST

Suite *suite_resolve(void);

Suite *suite_resolve(void)
{
	Suite *s = suite_create("resolve");
	TCase *tc = tcase_create("extends");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_chain_and_deep_merge);
	tcase_add_test(tc, test_inherited_and_overrides);
	tcase_add_test(tc, test_id_lists);
	tcase_add_test(tc, test_plain_list_replaced);
	tcase_add_test(tc, test_unknown_base);
	tcase_add_test(tc, test_unknown_base_without_suggestion);
	tcase_add_test(tc, test_extends_cycle);
	tcase_add_test(tc, test_placement_errors);
	tcase_add_test(tc, test_move_existing_item);
	tcase_add_test(tc, test_kind_change_overrides);
	tcase_add_test(tc, test_big_lists_and_maps);
	suite_add_tcase(s, tc);
	TCase *fr = tcase_create("fragments");
	tcase_add_checked_fixture(fr, setup, teardown);
	tcase_add_test(fr, test_fragments);
	tcase_add_test(fr, test_fragment_errors);
	tcase_add_test(fr, test_fragment_expansion_bomb);
	suite_add_tcase(s, fr);
	TCase *st = tcase_create("strings");
	tcase_add_checked_fixture(st, setup, teardown);
	tcase_add_test(st, test_strings);
	tcase_add_test(st, test_strings_unknown_locale);
	tcase_add_test(st, test_project_directory);
	suite_add_tcase(s, st);
	return s;
}
