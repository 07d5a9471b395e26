/*
 * test_render: H5 pages. The pages are checked as text (what a browser gets)
 * and parsed back with libxml2's HTML parser. The fixture edition is built by
 * hand from the public rt_edition fields, with routes sorted by id as in a pack.
 */
#include <check.h>
#include <libxml/HTMLparser.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"

#define PAYLOAD "<script>alert(1)</script>"

static rt_route fixture_routes[] = {
	{ "approve", "/approvals/decide", "POST", NULL, "decide_payment", "login", "approvals" },
	{ "home", "/home", "GET", "home", NULL, "login", NULL },
	{ "product", "/product", "GET", "product", NULL, "login", NULL },
	{ "transfer", "/transfer", "GET", "transfer", NULL, "login", NULL },
	{ "transfer-submit", "/transfer/submit", "POST", NULL, "transfer", "step_up", "transfer" },
};

static rt_edition ed;

static void fixture_setup(void)
{
	memset(&ed, 0, sizeof ed);
	ed.id = "mass";
	ed.version = "7.0.0";
	ed.meta = json_loads("{\"edition\":\"mass\",\"home\":\"home\",\"locale\":\"zh-CN\","
			     "\"title\":\"华兴银行\",\"contact\":{\"phone\":\"955-61\"},"
			     "\"features\":{\"video_counter\":false}}", 0, NULL);
	ed.strings = json_loads("{\"ui.logout\":\"退出登录\",\"ui.approve\":\"同意\","
				"\"code.done\":\"已完成\",\"code.auto_approved\":\"自动审批通过\"}", 0, NULL);
	ed.products = json_loads("[{\"id\":\"xingedai\",\"kind\":\"loan\",\"name\":\"兴e贷\","
				 "\"rate_bp\":325}]", 0, NULL);
	ed.screens = json_loads("{\"product\":{\"id\":\"product\",\"flow\":\"product_detail\",\"layout\":[]},"
			       "\"transfer\":{\"id\":\"transfer\",\"flow\":\"transfer_form\",\"layout\":[]}}", 0, NULL);
	ed.flow_specs = json_loads("{\"product_detail\":{\"params\":[{\"id\":\"id\",\"type\":\"id\"}]},"
				  "\"transfer_form\":{\"params\":[{\"id\":\"account\",\"type\":\"account\"}]}}",
				  0, NULL);
	ed.routes = fixture_routes;
	ed.n_routes = sizeof fixture_routes / sizeof fixture_routes[0];
	ck_assert_ptr_nonnull(ed.meta);
}

static void fixture_teardown(void)
{
	json_decref(ed.meta);
	json_decref(ed.strings);
	json_decref(ed.products);
	json_decref(ed.screens);
	json_decref(ed.flow_specs);
}

/* Renders layout (a JSON array) against data (JSON text or NULL). Caller frees. */
static char *render_layout(const char *layout, const char *data, render_page *extra)
{
	json_error_t jerr;
	strbuf screen = STRBUF_INIT;
	strbuf_addf(&screen, "{\"id\":\"t\",\"title\":\"测试\",\"layout\":%s}", layout);
	json_t *sc = json_loads(screen.buf, 0, &jerr);
	ck_assert_msg(sc != NULL, "bad fixture layout: %s", jerr.text);
	json_t *d = data ? json_loads(data, 0, &jerr) : NULL;
	ck_assert_msg(!data || d, "bad fixture data: %s", jerr.text);
	render_page pg = { .ed = &ed, .screen = sc, .data = d, .csrf = "csrf-token-1" };
	if (extra) {
		pg.user_name = extra->user_name;
		pg.identities = extra->identities;
		pg.notice = extra->notice;
		pg.error = extra->error;
		pg.form_values = extra->form_values;
	}
	strbuf html = STRBUF_INIT;
	ck_assert_int_eq(render_screen(&pg, &html), 0);
	json_decref(sc);
	json_decref(d);
	strbuf_release(&screen);
	return strbuf_detach(&html, NULL);
}

static void assert_parses(const char *html);

static int count_of(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

#define ck_contains(hay, needle) \
	ck_assert_msg(strstr((hay), (needle)) != NULL, "expected '%s' in:\n%s", (needle), (hay))
#define ck_not_contains(hay, needle) \
	ck_assert_msg(strstr((hay), (needle)) == NULL, "unexpected '%s' in:\n%s", (needle), (hay))

/* --- bindings ------------------------------------------------------------- */

static const struct { const char *expr, *data, *locale, *want; } binding_cases[] = {
	{ "${b | money}", "{\"b\":1234567}", "zh-CN", "¥12,345.67" },
	{ "${b | money}", "{\"b\":1234567}", "en-US", "CNY 12,345.67" },
	{ "${b | money}", "{\"b\":0}", "zh-CN", "¥0.00" },
	{ "${b | money}", "{\"b\":-5}", "zh-CN", "-¥0.05" },
	{ "${b | money}", "{\"b\":-123456789}", "en-US", "-CNY 1,234,567.89" },
	{ "${b | money}", "{\"b\":922337203685477580}", "zh-CN", "¥9,223,372,036,854,775.80" },
	{ "${b | money}", "{\"b\":-9223372036854775807}", "zh-CN", "-¥92,233,720,368,547,758.07" },
	{ "${b | money}", "{\"b\":100000}", "zh-CN", "¥1,000.00" },
	{ "${b | money}", "{\"b\":\"x\"}", "zh-CN", "" },
	{ "${r | percent}", "{\"r\":325}", "zh-CN", "3.25%" },
	{ "${r | percent}", "{\"r\":-50}", "zh-CN", "-0.50%" },
	{ "${r | percent}", "{\"r\":10000}", "zh-CN", "100.00%" },
	{ "${n | mask}", "{\"n\":\"6222021234561234\"}", "zh-CN", "**** 1234" },
	{ "${n | mask}", "{\"n\":\"12\"}", "zh-CN", "****" },
	{ "${d | date}", "{\"d\":\"2026-11-26T10:00:00Z\"}", "zh-CN", "2026-11-26" },
	{ "${d | date}", "{\"d\":\"2026-11-26\"}", "en-US", "Nov 26, 2026" },
	{ "${a[1].x}", "{\"a\":[{\"x\":1},{\"x\":\"two\"}]}", "zh-CN", "two" },
	{ "${a[1][0]}", "{\"a\":[[1],[7]]}", "zh-CN", "7" },
	{ "${p.q.r}", "{\"p\":{\"q\":{\"r\":true}}}", "zh-CN", "true" },
	{ "${missing.path | money}", "{\"b\":1}", "zh-CN", "" },
	{ "${a[9].x}", "{\"a\":[]}", "zh-CN", "" },
	{ "${a[x]}", "{\"a\":[1]}", "zh-CN", "" },
	{ "${a.b}", "{\"a\":\"s\"}", "zh-CN", "" },
	{ "您好，${name}！", "{\"name\":\"张伟\"}", "zh-CN", "您好，张伟！" },
	{ "${x} and ${y | percent}", "{\"x\":1,\"y\":5}", "en-US", "1 and 0.05%" },
	{ "open ${ and no close", "{}", "zh-CN", "open ${ and no close" },
	{ "${}", "{}", "zh-CN", "" },
	{ "${b | nosuchfilter}", "{\"b\":12}", "zh-CN", "12" },
};

START_TEST(test_binding_filters)
{
	json_t *d = json_loads(binding_cases[_i].data, 0, NULL);
	ck_assert_ptr_nonnull(d);
	char *got = render_binding(binding_cases[_i].expr, d, binding_cases[_i].locale);
	ck_assert_str_eq(got, binding_cases[_i].want);
	free(got);
	json_decref(d);
}
END_TEST

START_TEST(test_binding_null_data)
{
	char *got = render_binding("a ${x.y | money} b", NULL, "zh-CN");
	ck_assert_str_eq(got, "a  b");
	free(got);
}
END_TEST

/* `code`: the edition's "code.<value>" string, else the value; nothing when missing. */
static const struct { const char *data, *want; } code_cases[] = {
	{ "{\"s\":\"done\"}", "<dd>已完成</dd>" },
	{ "{\"s\":\"auto_approved\"}", "<dd>自动审批通过</dd>" },
	{ "{\"s\":\"on_hold\"}", "<dd>on_hold</dd>" },
	{ "{\"s\":\"logout\"}", "<dd>logout</dd>" },
	{ "{\"s\":\"a <b>\"}", "<dd>a &lt;b&gt;</dd>" },
	{ "{\"s\":7}", "<dd>7</dd>" },
	{ "{\"s\":\"\"}", "<dd></dd>" },
	{ "{}", "<dd></dd>" },
};

START_TEST(test_code_filter)
{
	static const char *layout = "[{\"component\":\"kv\",\"label\":\"状态\",\"value\":\"${s | code}\"}]";
	char *html = render_layout(layout, code_cases[_i].data, NULL);
	ck_contains(html, code_cases[_i].want);
	ck_not_contains(html, "code.");
	free(html);
}
END_TEST

START_TEST(test_code_filter_without_edition)
{
	json_t *d = json_pack("{ss}", "s", "done");
	char *got = render_binding("${s | code} / ${t | code}", d, "zh-CN");
	ck_assert_str_eq(got, "done / ");
	free(got);
	json_decref(d);
}
END_TEST

/* --- escaping ------------------------------------------------------------- */

static const char *const all_components[] = {
	"heading", "text", "notice", "banner", "button", "link", "tile_grid", "tile",
	"balance_card", "account_list", "transaction_list", "list", "kv", "form", "input",
	"amount_input", "select", "payee_picker", "confirm", "product_list", "product_card",
	"risk_disclosure", "call_button", "chart", "calendar", "approval_list", "zone", "divider",
	"identity_switch", "pager", "recommendations", "manager_card", "benefit_list",
};

#define NCOMP (sizeof all_components / sizeof all_components[0])

static const char *payload_data =
	"{\"items\":[{\"id\":\"" PAYLOAD "\",\"name\":\"" PAYLOAD "\",\"memo\":\"" PAYLOAD "\","
	"\"counterparty\":\"" PAYLOAD "\",\"payee_name\":\"" PAYLOAD "\",\"title\":\"" PAYLOAD "\","
	"\"number\":\"" PAYLOAD "\",\"account_number\":\"" PAYLOAD "\",\"bank_name\":\"" PAYLOAD "\","
	"\"reason\":\"" PAYLOAD "\",\"description\":\"" PAYLOAD "\",\"kind\":\"" PAYLOAD "\","
	"\"date\":\"" PAYLOAD "\",\"at\":\"" PAYLOAD "\",\"risk_level\":\"" PAYLOAD "\","
	"\"initiator\":\"" PAYLOAD "\",\"phone\":\"" PAYLOAD "\",\"currency\":\"" PAYLOAD "\","
	"\"amount\":100,\"balance\":100,\"used\":1,\"quota\":2}],"
	"\"obj\":{\"name\":\"" PAYLOAD "\",\"title\":\"" PAYLOAD "\",\"phone\":\"" PAYLOAD "\"},"
	"\"page\":1,\"pages\":2}";

static char *payload_layout(void)
{
	json_t *layout = json_array();
	for (size_t i = 0; i < NCOMP; i++) {
		json_t *c = json_pack("{ss ss ss ss ss ss ss ss ss ss ss ss ss ss ss ss}",
				      "component", all_components[i], "title", PAYLOAD, "text", PAYLOAD,
				      "label", PAYLOAD, "caption", PAYLOAD, "body", PAYLOAD, "hint", PAYLOAD,
				      "placeholder", PAYLOAD, "items", "${items}", "series", "${items}",
				      "value", "${obj.name}", "name", "f", "to", "product",
				      "phone", PAYLOAD, "x", "name", "empty", PAYLOAD);
		json_object_set_new(c, "children", json_pack("[{ss ss}]", "component", "text", "text", PAYLOAD));
		if (strcmp(all_components[i], "form") == 0 || strcmp(all_components[i], "approval_list") == 0)
			json_object_set_new(c, "action", json_string("transfer-submit"));
		if (strcmp(all_components[i], "manager_card") == 0)
			json_object_set_new(c, "value", json_string("${obj}"));
		json_array_append_new(layout, c);
	}
	char *s = json_dumps(layout, JSON_COMPACT);
	json_decref(layout);
	return s;
}

START_TEST(test_escapes_every_text)
{
	char *layout = payload_layout();
	json_t *ids = json_loads("[{\"key\":\"personal\",\"name\":\"" PAYLOAD "\",\"current\":true},"
				 "{\"key\":\"enterprise:7\",\"name\":\"" PAYLOAD "\"}]", 0, NULL);
	json_t *fv = json_pack("{ss}", "f", PAYLOAD);
	render_page extra = { .user_name = PAYLOAD, .identities = ids, .notice = PAYLOAD,
			      .error = PAYLOAD, .form_values = fv };
	char *html = render_layout(layout, payload_data, &extra);
	ck_not_contains(html, "<script");
	ck_not_contains(html, "<SCRIPT");
	ck_contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;");
	/* every component's own class is there: none fell through to the placeholder */
	ck_not_contains(html, "c-unknown");
	ck_assert_int_ge(count_of(html, "&lt;script&gt;"), 60);
	free(html);
	free(layout);
	json_decref(ids);
	json_decref(fv);
}
END_TEST

START_TEST(test_escapes_quotes_in_attributes)
{
	json_t *fv = json_pack("{ss}", "memo", "\"'><img src=x onerror=alert(1)>");
	render_page extra = { .form_values = fv };
	char *html = render_layout("[{\"component\":\"form\",\"action\":\"transfer-submit\",\"children\":"
				   "[{\"component\":\"input\",\"name\":\"memo\",\"label\":\"x\"}]}]",
				   NULL, &extra);
	ck_not_contains(html, "<img");
	ck_contains(html, "value=\"&quot;'&gt;&lt;img");
	free(html);
	json_decref(fv);
}
END_TEST

START_TEST(test_invalid_utf8_is_dropped)
{
	render_page extra = { .user_name = "bad\xff\xfe name", .notice = "ok \xc3\x28" };
	char *html = render_layout("[]", NULL, &extra);
	ck_contains(html, "bad name");
	ck_not_contains(html, "\xff");
	free(html);
}
END_TEST

/* --- components ----------------------------------------------------------- */

static const struct { const char *layout, *data; const char *want[5]; } comp_cases[] = {
	{ "[{\"component\":\"heading\",\"text\":\"欢迎\"}]", NULL,
	  { "<h2 class=\"c-heading\">欢迎</h2>" } },
	{ "[{\"component\":\"heading\",\"text\":\"小\",\"level\":2}]", NULL, { "<h3 class=\"c-heading\">小</h3>" } },
	{ "[{\"component\":\"text\",\"text\":\"余额 ${a.b | money}\"}]", "{\"a\":{\"b\":123456}}",
	  { "<p class=\"c-text c-text-normal\">余额 ¥1,234.56</p>" } },
	{ "[{\"component\":\"notice\",\"level\":\"warning\",\"title\":\"防诈骗\",\"text\":\"注意\"}]", NULL,
	  { "c-notice c-notice-warning", "<p class=\"c-notice-text\">注意</p>", "role=\"note\"", "防诈骗" } },
	{ "[{\"component\":\"text\",\"text\":\"名称\",\"value\":\"${p.name}\",\"tone\":\"muted\"}]",
	  "{\"p\":{\"name\":\"兴享存\"}}",
	  { "c-text c-text-muted", "<span class=\"c-text-label\">名称</span>", "<strong class=\"c-text-value\">兴享存</strong>" } },
	{ "[{\"component\":\"banner\",\"title\":\"新客\",\"text\":\"礼\",\"to\":\"transfer\"}]", NULL,
	  { "<a class=\"c-banner\" href=\"/mass/transfer\">", "新客", "礼" } },
	{ "[{\"component\":\"button\",\"label\":\"转账\",\"to\":\"transfer\"}]", NULL,
	  { "href=\"/mass/transfer\"", "c-button c-button-primary", ">转账</a>" } },
	{ "[{\"component\":\"button\",\"text\":\"提交\",\"action\":\"transfer-submit\"}]", NULL,
	  { "action=\"/mass/transfer/submit\"", "method=\"post\"", ">提交</button>" } },
	{ "[{\"component\":\"link\",\"text\":\"更多\",\"to\":\"no-such-route\"}]", NULL,
	  { "<a class=\"c-link\" href=\"#\">更多</a>" } },
	{ "[{\"component\":\"tile_grid\",\"children\":[{\"component\":\"tile\",\"title\":\"转账\",\"to\":\"transfer\"},"
	  "{\"component\":\"tile\",\"title\":\"理财\",\"to\":\"product\",\"icon\":\"wealth\"}]}]", NULL,
	  { "class=\"c-tile_grid\"", "<span class=\"c-tile-title\">转账</span>", "href=\"/mass/product\"",
	    "data-icon=\"wealth\"" } },
	{ "[{\"component\":\"balance_card\",\"title\":\"总资产\",\"value\":\"${total | money}\"}]", "{\"total\":100000}",
	  { "c-balance_card", "总资产", "¥1,000.00" } },
	{ "[{\"component\":\"account_list\",\"items\":\"${accounts}\",\"to\":\"transfer\",\"param\":\"account\"}]",
	  "{\"accounts\":[{\"id\":\"a1\",\"name\":\"活期\",\"number\":\"6222020200001234\",\"balance\":500000,"
	  "\"currency\":\"CNY\"},{\"id\":\"a2\",\"name\":\"USD\",\"number\":\"6222020200005678\",\"balance\":1,"
	  "\"currency\":\"USD\"}]}",
	  { "活期", "**** 1234", "¥5,000.00", "USD 0.01", "href=\"/mass/transfer?account=a1\"" } },
	{ "[{\"component\":\"transaction_list\",\"items\":\"${history}\"}]",
	  "{\"history\":{\"items\":[{\"id\":1,\"at\":\"2026-11-20 10:00:00\",\"amount\":-1234,\"balance_after\":98766,"
	  "\"memo\":\"房租\",\"counterparty\":\"李四\"}],\"page\":1,\"pages\":1}}",
	  { "李四", "房租", "-¥12.34", "¥987.66", "2026-11-20" } },
	{ "[{\"component\":\"list\",\"items\":\"${xs}\"}]", "{\"xs\":[{\"name\":\"甲\",\"amount\":1},\"乙\"]}",
	  { "甲", "¥0.01", "乙" } },
	{ "[{\"component\":\"kv\",\"label\":\"手续费\",\"value\":\"${fee | money}\"}]", "{\"fee\":0}",
	  { "<dt>手续费</dt>", "<dd>¥0.00</dd>" } },
	{ "[{\"component\":\"confirm\",\"name\":\"agree\",\"text\":\"我已阅读\"}]", NULL,
	  { "<label class=\"c-confirm\"><input class=\"c-checkbox\" type=\"checkbox\" name=\"agree\" value=\"true\" required=\"required\">",
	    "我已阅读" } },
	{ "[{\"component\":\"list\",\"items\":\"${rows}\",\"to\":\"product\",\"children\":["
	  "{\"component\":\"kv\",\"label\":\"名\",\"value\":\"${name} / ${total | money}\"}]}]",
	  "{\"total\":5,\"rows\":[{\"id\":\"x1\",\"name\":\"甲\"},{\"id\":\"x2\",\"name\":\"乙\",\"total\":7}]}",
	  { "<dd>甲 / ¥0.05</dd>", "<dd>乙 / ¥0.07</dd>", "href=\"/mass/product?id=x2\"" } },
	{ "[{\"component\":\"list\",\"items\":\"${none}\",\"empty\":\"暂无\"}]", "{\"none\":[]}",
	  { "<li class=\"c-row c-empty\">暂无</li>" } },
	{ "[{\"component\":\"product_list\",\"kind\":\"deposit\",\"empty\":\"无\"}]", NULL,
	  { ">无</li>" } },
	{ "[{\"component\":\"risk_disclosure\",\"text\":\"风险\",\"level\":3}]", NULL, { ">R3</span>" } },
	{ "[{\"component\":\"product_list\",\"items\":\"${ps}\",\"to\":\"product\"}]",
	  "{\"ps\":[{\"id\":\"p1\",\"name\":\"兴享存\",\"rate_bp\":325,\"min_amount\":100000}]}",
	  { "兴享存", "3.25%", "¥1,000.00", "href=\"/mass/product?id=p1\"" } },
	{ "[{\"component\":\"product_list\"}]", NULL, { "兴e贷", "3.25%" } },
	{ "[{\"component\":\"product_card\",\"product\":\"xingedai\",\"to\":\"product\",\"label\":\"申请\"}]", NULL,
	  { "c-product_card", "兴e贷", "href=\"/mass/product?id=xingedai\"", ">申请</a>" } },
	{ "[{\"component\":\"product_card\",\"product\":\"xingedai\",\"to\":\"home\"}]", NULL,
	  { "href=\"/mass/home\"" } },
	{ "[{\"component\":\"risk_disclosure\",\"text\":\"理财非存款\"}]", NULL,
	  { "<aside class=\"c-risk_disclosure\" role=\"note\">", "理财非存款" } },
	{ "[{\"component\":\"call_button\",\"label\":\"一键呼叫\"}]", NULL,
	  { "href=\"tel:95561\"", "一键呼叫", "955-61" } },
	{ "[{\"component\":\"calendar\",\"items\":\"${cal}\"}]",
	  "{\"cal\":[{\"date\":\"2026-12-01\",\"kind\":\"loan\",\"title\":\"好企贷还款\",\"amount\":1000000}]}",
	  { "datetime=\"2026-12-01\"", "好企贷还款", "¥10,000.00", "c-badge-loan" } },
	{ "[{\"component\":\"zone\",\"title\":\"商票\",\"to\":\"product\",\"children\":[{\"component\":\"text\",\"text\":\"内\"}]}]",
	  NULL, { "c-zone", "href=\"/mass/product\"", "商票", ">内</p>" } },
	{ "[{\"component\":\"divider\"}]", NULL, { "<hr class=\"c-divider\">" } },
	{ "[{\"component\":\"pager\",\"page\":\"${h.page}\",\"pages\":\"${h.pages}\"}]",
	  "{\"h\":{\"page\":2,\"pages\":3}}",
	  { "href=\"?page=1\"", "href=\"?page=3\"", "2 / 3" } },
	{ "[{\"component\":\"pager\",\"page\":\"${h.page}\",\"pages\":\"${h.pages}\"}]",
	  "{\"h\":{\"page\":1,\"pages\":1}}", { "<span class=\"c-pager-state\">1 / 1</span></nav>" } },
	{ "[{\"component\":\"recommendations\",\"title\":\"为您推荐\",\"items\":\"${recs}\",\"to\":\"product\",\"max\":1}]",
	  "{\"recs\":[{\"id\":\"r1\",\"name\":\"兴e贷\",\"reason\":\"信用良好\"},{\"id\":\"r2\",\"name\":\"第二\"}]}",
	  { "为您推荐", "信用良好", "href=\"/mass/product?id=r1\"" } },
	{ "[{\"component\":\"manager_card\",\"title\":\"专属客户经理\",\"value\":\"${m}\"}]",
	  "{\"m\":{\"name\":\"王经理\",\"phone\":\"138 0000 0000\",\"title\":\"私人银行家\"}}",
	  { "王经理", "私人银行家", "href=\"tel:13800000000\"" } },
	{ "[{\"component\":\"benefit_list\",\"items\":\"${b}\"}]",
	  "{\"b\":[{\"id\":\"lounge\",\"name\":\"机场贵宾厅\",\"used\":1,\"quota\":6}]}",
	  { "机场贵宾厅", "1 / 6" } },
	{ "[{\"component\":\"tile\",\"title\":\"视频柜台\",\"feature\":\"video_counter\"},"
	  "{\"component\":\"text\",\"text\":\"shown\"}]", NULL, { "shown" } },
	{ "[{\"component\":\"wormhole\",\"text\":\"x\"}]", NULL,
	  { "<div class=\"c-unknown\" hidden=\"hidden\" data-component=\"wormhole\"></div>" } },
};

START_TEST(test_component_content)
{
	char *html = render_layout(comp_cases[_i].layout, comp_cases[_i].data, NULL);
	for (int k = 0; k < 5 && comp_cases[_i].want[k]; k++)
		ck_contains(html, comp_cases[_i].want[k]);
	ck_not_contains(html, "视频柜台");
	ck_not_contains(html, "第二");
	free(html);
}
END_TEST

START_TEST(test_pager_keeps_query)
{
	json_t *sc = json_loads("{\"id\":\"h\",\"layout\":[{\"component\":\"pager\",\"page\":\"${p}\","
				"\"pages\":\"${n}\",\"to\":\"transfer\"}]}", 0, NULL);
	json_t *d = json_pack("{si si}", "p", 2, "n", 5);
	render_page pg = { .ed = &ed, .screen = sc, .data = d, .query = "id=a%201&page=2&x=<q>" };
	strbuf html = STRBUF_INIT;
	ck_assert_int_eq(render_screen(&pg, &html), 0);
	ck_contains(html.buf, "href=\"/mass/transfer?id=a%201&amp;x=%3Cq%3E&amp;page=1\"");
	ck_contains(html.buf, "href=\"/mass/transfer?id=a%201&amp;x=%3Cq%3E&amp;page=3\"");
	ck_not_contains(html.buf, "<q>");
	strbuf_release(&html);
	json_decref(sc);
	json_decref(d);
}
END_TEST

START_TEST(test_select_fixed_values)
{
	json_object_set_new(ed.strings, "option.to_bank.icbc", json_string("工商银行"));
	char *html = render_layout("[{\"component\":\"select\",\"name\":\"to_bank\",\"label\":\"银行\","
				   "\"values\":[\"own\",\"icbc\"],\"value\":\"${b}\"}]", "{\"b\":\"icbc\"}", NULL);
	ck_contains(html, "<option value=\"own\">own</option>");
	ck_contains(html, "<option value=\"icbc\" selected>工商银行</option>");
	free(html);
}
END_TEST

START_TEST(test_unknown_and_malformed_components)
{
	char *html = render_layout("[1,\"x\",null,{},{\"component\":7},{\"component\":\"list\",\"items\":5},"
				   "{\"component\":\"chart\",\"series\":\"${nope}\"},{\"component\":\"text\",\"text\":\"after\"}]",
				   "[]", NULL);
	ck_contains(html, ">after</p>");
	ck_contains(html, "class=\"c-chart\"");
	free(html);
}
END_TEST

/* A small deterministic generator: layouts of every component with attributes of every JSON type. */
static unsigned long rng_state;

static unsigned rng(unsigned n)
{
	rng_state = rng_state * 6364136223846793005UL + 1442695040888963407UL;
	return (unsigned)(rng_state >> 33) % n;
}

static json_t *random_value(int depth)
{
	static const char *const strings[] = {
		"", "${items}", "${obj}", "${obj.name | money}", "${items[0].amount | percent}", "${ | }",
		"${a.b.c[99999999999]}", "transfer", "home", "no-such-route", PAYLOAD, "\xe4\xb8", "${",
		"}", "line\nbreak", "%s%n", "-9223372036854775808",
	};
	switch (rng(depth > 2 ? 5 : 7)) {
	case 0: return json_string(strings[rng(sizeof strings / sizeof strings[0])]);
	case 1: return json_integer((json_int_t)rng(2000000) - 1000000);
	case 2: return json_real(rng(100) / 7.0);
	case 3: return json_boolean(rng(2));
	case 4: return json_null();
	case 5: {
		json_t *a = json_array();
		for (unsigned i = rng(4); i > 0; i--)
			json_array_append_new(a, random_value(depth + 1));
		return a;
	}
	default: {
		json_t *o = json_object();
		for (unsigned i = rng(4); i > 0; i--)
			json_object_set_new(o, rng(2) ? "name" : "amount", random_value(depth + 1));
		return o;
	}
	}
}

static json_t *random_component(int depth)
{
	static const char *const keys[] = {
		"title", "text", "label", "value", "items", "series", "to", "action", "name", "level",
		"kind", "x", "y", "height", "columns", "page", "pages", "product", "phone", "max", "values",
		"required", "max_len", "children", "feature", "style", "tone", "space", "param", "submit",
	};
	json_t *c = json_object();
	json_object_set_new(c, "component", rng(10) ? json_string(all_components[rng(NCOMP)]) : random_value(3));
	for (unsigned i = rng(8); i > 0; i--) {
		const char *k = keys[rng(sizeof keys / sizeof keys[0])];
		if (!strcmp(k, "children") && depth < 3) {
			json_t *kids = json_array();
			for (unsigned j = rng(3); j > 0; j--)
				json_array_append_new(kids, random_component(depth + 1));
			json_object_set_new(c, k, kids);
		} else {
			json_object_set_new(c, k, random_value(1));
		}
	}
	return c;
}

START_TEST(test_random_layouts_never_fail)
{
	rng_state = 20261126;
	for (int round = 0; round < 150; round++) {
		json_t *layout = json_array();
		for (unsigned i = 1 + rng(6); i > 0; i--)
			json_array_append_new(layout, random_component(0));
		char *text = json_dumps(layout, JSON_COMPACT);
		char *html = render_layout(text, payload_data, NULL);
		ck_assert_msg(strstr(html, "</html>") != NULL, "no page for %s", text);
		ck_assert_msg(strstr(html, "<script") == NULL, "markup leaked for %s", text);
		assert_parses(html);
		free(html);
		free(text);
		json_decref(layout);
	}
}
END_TEST

START_TEST(test_deep_nesting_is_bounded)
{
	strbuf s = STRBUF_INIT;
	for (int i = 0; i < 200; i++)
		strbuf_adds(&s, "[{\"component\":\"zone\",\"children\":");
	strbuf_adds(&s, "[]");
	for (int i = 0; i < 200; i++)
		strbuf_adds(&s, "}]");
	char *html = render_layout(s.buf, NULL, NULL);
	ck_assert_int_le(count_of(html, "class=\"c-zone\""), 24);
	free(html);
	strbuf_release(&s);
}
END_TEST

/* --- forms ---------------------------------------------------------------- */

static const char *transfer_form =
	"[{\"component\":\"form\",\"id\":\"transfer-form\",\"action\":\"transfer-submit\",\"submit\":\"下一步\",\"children\":["
	"{\"component\":\"select\",\"name\":\"from\",\"label\":\"付款账户\",\"items\":\"${accounts}\"},"
	"{\"component\":\"payee_picker\",\"name\":\"to_account\",\"label\":\"收款人\",\"items\":\"${payees}\"},"
	"{\"component\":\"amount_input\",\"name\":\"amount\",\"label\":\"金额\",\"required\":true},"
	"{\"component\":\"input\",\"name\":\"memo\",\"label\":\"附言\",\"max_len\":60,\"hint\":\"最多60字\"}]},"
	"{\"component\":\"button\",\"text\":\"再来\",\"action\":\"transfer-submit\"}]";

static const char *transfer_data =
	"{\"accounts\":[{\"id\":\"a1\",\"name\":\"活期\",\"number\":\"6222000011112222\",\"balance\":100},"
	"{\"id\":\"a2\",\"name\":\"定期\",\"number\":\"6222000033334444\",\"balance\":200}],"
	"\"payees\":[{\"id\":\"p1\",\"name\":\"李四\",\"account_number\":\"6222999988887777\",\"bank_name\":\"工行\"}]}";

START_TEST(test_forms_carry_tokens)
{
	char *html = render_layout(transfer_form, transfer_data, NULL);
	ck_assert_int_eq(count_of(html, "<form "), 2);
	ck_assert_int_eq(count_of(html, "name=\"_csrf\" value=\"csrf-token-1\""), 2);
	ck_assert_int_eq(count_of(html, "name=\"_idem\" value=\""), 2);
	/* each form gets its own 32-hex-digit key */
	const char *a = strstr(html, "name=\"_idem\" value=\"") + 20;
	const char *b = strstr(a, "name=\"_idem\" value=\"") + 20;
	ck_assert_int_eq((int)strspn(a, "0123456789abcdef"), 32);
	ck_assert_int_eq((int)strspn(b, "0123456789abcdef"), 32);
	ck_assert(strncmp(a, b, 32) != 0);
	ck_contains(html, "action=\"/mass/transfer/submit\"");
	ck_contains(html, "<option value=\"a1\">活期 **** 2222 · ¥1.00</option>");
	ck_contains(html, "type=\"radio\" name=\"to_account\" value=\"6222999988887777\" checked");
	ck_contains(html, "name=\"amount\" required=\"required\"");
	ck_contains(html, "maxlength=\"60\" aria-describedby=\"f3-memo-hint\"");
	ck_contains(html, "<p class=\"c-hint\" id=\"f3-memo-hint\">最多60字</p>");
	ck_contains(html, ">下一步</button>");
	/* every field has a label pointing at it */
	ck_contains(html, "<label class=\"c-label\" for=\"f2-amount\">金额</label>");
	ck_contains(html, "id=\"f2-amount\"");
	free(html);
}
END_TEST

START_TEST(test_form_values_put_back)
{
	json_t *fv = json_pack("{ss ss ss}", "amount", "12.50", "memo", "午饭", "from", "a2");
	render_page extra = { .form_values = fv, .error = "余额不足" };
	char *html = render_layout(transfer_form, transfer_data, &extra);
	ck_contains(html, "value=\"12.50\"");
	ck_contains(html, "value=\"午饭\"");
	ck_contains(html, "<option value=\"a2\" selected>");
	ck_contains(html, "role=\"alert\">余额不足</p>");
	free(html);
	json_decref(fv);
}
END_TEST

START_TEST(test_approval_list_forms)
{
	char *html = render_layout("[{\"component\":\"approval_list\",\"items\":\"${pending}\",\"action\":\"approve\"}]",
				   "{\"pending\":[{\"id\":41,\"payee_name\":\"供应商A\",\"amount\":2500000},"
				   "{\"id\":42,\"payee_name\":\"供应商B\",\"amount\":1}]}", NULL);
	ck_assert_int_eq(count_of(html, "<form "), 4);
	ck_assert_int_eq(count_of(html, "name=\"_csrf\""), 4);
	ck_assert_int_eq(count_of(html, "name=\"_idem\""), 4);
	ck_assert_int_eq(count_of(html, "name=\"payment_id\" value=\"41\""), 2);
	ck_assert_int_eq(count_of(html, "name=\"decision\" value=\"approve\""), 2);
	ck_assert_int_eq(count_of(html, "name=\"decision\" value=\"reject\""), 2);
	ck_contains(html, "action=\"/mass/approvals/decide\"");
	ck_contains(html, "¥25,000.00");
	ck_contains(html, ">同意</button>");
	free(html);
}
END_TEST

START_TEST(test_header_identities_and_logout)
{
	json_t *ids = json_loads("[{\"key\":\"personal\",\"name\":\"张伟\",\"current\":true},"
				 "{\"key\":\"enterprise:7\",\"name\":\"深圳兴旺贸易有限公司\",\"role\":\"boss\"}]", 0, NULL);
	render_page extra = { .user_name = "张伟", .identities = ids };
	char *html = render_layout("[]", NULL, &extra);
	ck_contains(html, "action=\"/switch\"");
	ck_contains(html, "name=\"identity\" value=\"enterprise:7\"");
	ck_contains(html, "深圳兴旺贸易有限公司");
	ck_contains(html, "action=\"/logout\"");
	ck_contains(html, ">退出登录</button>");
	ck_contains(html, "<a class=\"c-appbar-title\" href=\"/mass/home\">华兴银行</a>");
	free(html);
	json_decref(ids);
}
END_TEST

/* --- chart ---------------------------------------------------------------- */

static int polyline_points(const char *html, const char *cls)
{
	const char *p = strstr(html, cls);
	ck_assert_ptr_nonnull(p);
	p = strstr(p, "points=\"");
	ck_assert_ptr_nonnull(p);
	p += 8;
	int n = 0;
	for (; *p && *p != '"'; p++)
		n += *p == ',';
	return n;
}

START_TEST(test_chart_points)
{
	strbuf data = STRBUF_INIT;
	strbuf_adds(&data, "{\"cockpit\":{\"flow\":[");
	for (int i = 0; i < 30; i++)
		strbuf_addf(&data, "%s{\"date\":\"2026-11-%02d\",\"balance\":%d,\"inflow\":%d,\"outflow\":%d}",
			    i ? "," : "", i + 1, 100000 + i * 1000, i * 10, i * 5);
	strbuf_adds(&data, "]}}");
	char *html = render_layout("[{\"component\":\"chart\",\"kind\":\"area\",\"title\":\"30天现金流\","
				   "\"series\":\"${cockpit.flow}\",\"x\":\"date\",\"y\":\"balance\"},"
				   "{\"component\":\"chart\",\"kind\":\"bar\",\"series\":\"${cockpit.flow}\",\"y\":\"inflow,outflow\","
				   "\"height\":160}]",
				   data.buf, NULL);
	ck_assert_int_eq(polyline_points(html, "c-chart-line c-chart-series-1"), 30);
	ck_contains(html, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 360 200\"");
	ck_contains(html, "class=\"c-chart-area c-chart-series-1\" d=\"M");
	ck_contains(html, "2026-11-01");
	ck_contains(html, "2026-11-30");
	ck_contains(html, ">¥1290</text>");       /* the highest balance labels the y axis, short */
	ck_contains(html, "30天现金流");
	ck_assert_int_eq(count_of(html, "<rect "), 60);
	ck_contains(html, "viewBox=\"0 0 360 160\"");
	free(html);
	strbuf_release(&data);
}
END_TEST

START_TEST(test_chart_single_and_flat)
{
	char *html = render_layout("[{\"component\":\"chart\",\"series\":\"${s}\"}]",
				   "{\"s\":[{\"date\":\"2026-11-01\",\"balance\":5}]}", NULL);
	ck_assert_int_eq(polyline_points(html, "c-chart-line"), 1);
	ck_not_contains(html, "nan");
	ck_not_contains(html, "inf");
	free(html);
}
END_TEST

START_TEST(test_chart_axis_labels_short)
{
	char *html = render_layout("[{\"component\":\"chart\",\"series\":\"${s}\",\"y\":\"v\"}]",
				   "{\"s\":[{\"date\":\"2026-11-01\",\"v\":492054050},{\"date\":\"2026-11-02\",\"v\":-150000}]}",
				   NULL);
	ck_contains(html, ">¥492万</text>");
	ck_contains(html, ">-¥1500</text>");
	free(html);
	json_object_set_new(ed.meta, "locale", json_string("en-US"));
	html = render_layout("[{\"component\":\"chart\",\"series\":\"${s}\",\"y\":\"v\"}]",
			     "{\"s\":[{\"date\":\"2026-11-01\",\"v\":492054050},{\"date\":\"2026-11-02\",\"v\":0}]}", NULL);
	ck_contains(html, ">CNY 4.9M</text>");
	ck_contains(html, ">Nov 1, 2026</text>");
	free(html);
}
END_TEST

/* --- whole pages ---------------------------------------------------------- */

static int parse_errors;

static void count_error(void *ctx, xmlErrorPtr e)
{
	(void)ctx;
	/* libxml2 2.9 knows HTML 4 only: main, section, svg ... are "unknown", not wrong */
	if (e->code != XML_HTML_UNKNOWN_TAG)
		parse_errors++;
}

static void assert_parses(const char *html)
{
	parse_errors = 0;
	xmlSetStructuredErrorFunc(NULL, count_error);
	htmlDocPtr doc = htmlReadMemory(html, (int)strlen(html), NULL, "UTF-8", HTML_PARSE_NONET);
	xmlSetStructuredErrorFunc(NULL, NULL);
	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(parse_errors, 0);
	xmlNodePtr root = xmlDocGetRootElement(doc);
	ck_assert_str_eq((const char *)root->name, "html");
	xmlFreeDoc(doc);
}

START_TEST(test_page_shell_parses)
{
	char *layout = payload_layout();
	char *html = render_layout(layout, payload_data, NULL);
	ck_assert(strncmp(html, "<!DOCTYPE html>", 15) == 0);
	ck_contains(html, "<html lang=\"zh-CN\">");
	ck_contains(html, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
	ck_contains(html, "<link rel=\"stylesheet\" href=\"/static/app.css\">");
	ck_contains(html, "<link rel=\"stylesheet\" href=\"/mass/theme.css\">");
	ck_contains(html, "<h1 class=\"c-page-title\">测试</h1>");
	ck_contains(html, "<title>测试 - 华兴银行</title>");
	assert_parses(html);
	free(html);
	free(layout);
}
END_TEST

START_TEST(test_confirm_page)
{
	json_t *screen = json_loads(transfer_form, 0, NULL);
	json_t *sc = json_pack("{ss so}", "id", "transfer", "layout", screen);
	json_t *values = json_pack("{ss ss ss ss ss ss}", "from", "a1", "amount", "12.30", "memo", PAYLOAD,
				   "_idem", "00112233445566778899aabbccddeeff", "_csrf", "old",
				   "to_account", "6222999988887777");
	json_t *data = json_loads(transfer_data, 0, NULL);
	render_page pg = { .ed = &ed, .screen = sc, .csrf = "csrf-2", .user_name = "张伟", .data = data };
	strbuf html = STRBUF_INIT;
	ck_assert_int_eq(render_confirm(&pg, &fixture_routes[4], values, &html), 0);
	ck_contains(html.buf, "<dt>金额</dt>");
	ck_contains(html.buf, "<dd>¥12.30</dd>");
	ck_contains(html.buf, "<dt>附言</dt>");
	ck_contains(html.buf, "<dd>活期 **** 2222 · ¥1.00</dd>");     /* the account as the form showed it */
	ck_contains(html.buf, "<dd>李四 **** 7777</dd>");
	ck_contains(html.buf, "name=\"from\" value=\"a1\"");
	ck_contains(html.buf, "name=\"_confirm\" value=\"1\"");
	ck_contains(html.buf, "name=\"_idem\" value=\"00112233445566778899aabbccddeeff\"");
	ck_contains(html.buf, "name=\"_csrf\" value=\"csrf-2\"");
	ck_not_contains(html.buf, "value=\"old\"");
	ck_contains(html.buf, "name=\"amount\" value=\"12.30\"");
	ck_contains(html.buf, "action=\"/mass/transfer/submit\"");
	ck_not_contains(html.buf, "<script");
	assert_parses(html.buf);
	strbuf_release(&html);
	json_decref(sc);
	json_decref(values);
	json_decref(data);
}
END_TEST

START_TEST(test_login_page)
{
	strbuf html = STRBUF_INIT;
	ck_assert_int_eq(render_login(NULL, "tok", PAYLOAD, &html), 0);
	ck_contains(html.buf, "action=\"/login\"");
	ck_contains(html.buf, "name=\"username\"");
	ck_contains(html.buf, "type=\"password\"");
	ck_contains(html.buf, "name=\"_csrf\" value=\"tok\"");
	ck_contains(html.buf, "&lt;script&gt;");
	ck_not_contains(html.buf, "<script");
	assert_parses(html.buf);
	strbuf_release(&html);
}
END_TEST

START_TEST(test_index_and_messages)
{
	strbuf html = STRBUF_INIT;
	ck_assert_int_eq(render_index(NULL, &html), 0);
	ck_contains(html.buf, "href=\"/login\"");
	assert_parses(html.buf);
	strbuf_reset(&html);
	ck_assert_int_eq(render_message(&ed, 500, NULL, NULL, "req-" PAYLOAD, &html), 0);
	ck_contains(html.buf, "500");
	ck_contains(html.buf, "<code>req-&lt;script&gt;");
	ck_contains(html.buf, "系统繁忙");
	assert_parses(html.buf);
	strbuf_reset(&html);
	ck_assert_int_eq(render_message(&ed, 404, NULL, NULL, "req-1", &html), 0);
	ck_contains(html.buf, "页面不存在");
	ck_not_contains(html.buf, "req-1");   /* request ids only for server errors */
	strbuf_release(&html);
}
END_TEST

START_TEST(test_bad_inputs_refused)
{
	strbuf html = STRBUF_INIT;
	render_page pg = { .ed = &ed, .screen = NULL };
	ck_assert_int_eq(render_screen(&pg, &html), -1);
	ck_assert_int_eq(render_screen(NULL, &html), -1);
	ck_assert_int_eq(render_confirm(&pg, NULL, NULL, &html), -1);
	ck_assert_uint_eq(html.len, 0);
	strbuf_release(&html);
}
END_TEST

START_TEST(test_base_css_uses_tokens)
{
	size_t len = 0;
	const char *css = render_base_css(&len);
	ck_assert_uint_eq(len, strlen(css));
	ck_contains(css, "calc(var(--font-size,16px) * var(--font-scale,1))");
	ck_contains(css, "font-size:var(--fs)");
	ck_contains(css, "var(--touch-target");
	ck_contains(css, "min-height:var(--tt)");
	ck_contains(css, "max-width:480px");
	ck_not_contains(css, "<");
}
END_TEST

Suite *suite_render(void);

Suite *suite_render(void)
{
	Suite *s = suite_create("render");
	TCase *tc = tcase_create("render");
	tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
	tcase_add_loop_test(tc, test_binding_filters, 0, sizeof binding_cases / sizeof binding_cases[0]);
	tcase_add_test(tc, test_binding_null_data);
	tcase_add_loop_test(tc, test_code_filter, 0, sizeof code_cases / sizeof code_cases[0]);
	tcase_add_test(tc, test_code_filter_without_edition);
	tcase_add_test(tc, test_escapes_every_text);
	tcase_add_test(tc, test_escapes_quotes_in_attributes);
	tcase_add_test(tc, test_invalid_utf8_is_dropped);
	tcase_add_loop_test(tc, test_component_content, 0, sizeof comp_cases / sizeof comp_cases[0]);
	tcase_add_test(tc, test_pager_keeps_query);
	tcase_add_test(tc, test_select_fixed_values);
	tcase_add_test(tc, test_unknown_and_malformed_components);
	tcase_add_test(tc, test_deep_nesting_is_bounded);
	tcase_add_test(tc, test_random_layouts_never_fail);
	tcase_add_test(tc, test_forms_carry_tokens);
	tcase_add_test(tc, test_form_values_put_back);
	tcase_add_test(tc, test_approval_list_forms);
	tcase_add_test(tc, test_header_identities_and_logout);
	tcase_add_test(tc, test_chart_points);
	tcase_add_test(tc, test_chart_single_and_flat);
	tcase_add_test(tc, test_chart_axis_labels_short);
	tcase_add_test(tc, test_page_shell_parses);
	tcase_add_test(tc, test_confirm_page);
	tcase_add_test(tc, test_login_page);
	tcase_add_test(tc, test_index_and_messages);
	tcase_add_test(tc, test_bad_inputs_refused);
	tcase_add_test(tc, test_base_css_uses_tokens);
	suite_add_tcase(s, tc);
	return s;
}
