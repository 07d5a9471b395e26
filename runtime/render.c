/*
 * render: H5 pages. Every page is a libxml2 HTML tree (htmlNewDoc, xmlNewChild,
 * xmlNewProp, xmlNewText) serialised once at the end, so customer data is text
 * in the tree and escaped by construction; no markup is ever pasted together.
 *
 * This file holds the page shell (head, header bar with the identity switcher
 * and logout, title, banners), the small node helpers the component files use,
 * and the runtime's own pages: confirmation, login, edition index and status
 * messages. Components live in render_components.c and render_forms.c, the
 * chart in render_svg.c, bindings in render_bind.c, the stylesheet in
 * render_css.c.
 *
 * Pages carry no script. Forms post with _csrf and a fresh _idem (16 random
 * bytes from libsodium, hex) so that a resubmitted form moves money once.
 */
#include <libxml/HTMLtree.h>
#include <libxml/parser.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render_internal.h"

/* --- node helpers --------------------------------------------------------- */

/* Valid UTF-8 as is; otherwise a copy with the invalid bytes dropped (in *tmp). */
static const char *utf8_clean(const char *s, char **tmp)
{
	*tmp = NULL;
	if (!s || xmlCheckUTF8((const xmlChar *)s))
		return s;
	strbuf sb = STRBUF_INIT;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		int len = 4;
		int c = xmlGetUTF8Char(p, &len);
		if (c < 0 || len <= 0) {
			p++;
			continue;
		}
		strbuf_add(&sb, p, (size_t)len);
		p += len;
	}
	*tmp = strbuf_detach(&sb, NULL);
	return *tmp;
}

xmlNodePtr rn_el(xmlNodePtr parent, const char *tag, const char *cls)
{
	xmlNodePtr n = xmlNewChild(parent, NULL, BAD_CAST tag, NULL);
	if (cls)
		rn_attr(n, "class", cls);
	return n;
}

void rn_add_text(xmlNodePtr n, const char *text)
{
	if (!text || !*text)
		return;
	char *tmp;
	const char *s = utf8_clean(text, &tmp);
	xmlAddChild(n, xmlNewText(BAD_CAST s));
	free(tmp);
}

xmlNodePtr rn_text(xmlNodePtr parent, const char *tag, const char *cls, const char *text)
{
	xmlNodePtr n = rn_el(parent, tag, cls);
	rn_add_text(n, text);
	return n;
}

void rn_attr(xmlNodePtr n, const char *name, const char *value)
{
	if (!value)
		return;
	char *tmp;
	const char *s = utf8_clean(value, &tmp);
	xmlSetProp(n, BAD_CAST name, BAD_CAST s);
	free(tmp);
}

xmlNodePtr rn_link(xmlNodePtr parent, const char *href, const char *cls, const char *text)
{
	xmlNodePtr a = rn_text(parent, "a", cls, text);
	rn_attr(a, "href", href ? href : "#");
	return a;
}

void rn_hidden(xmlNodePtr form, const char *name, const char *value)
{
	xmlNodePtr in = rn_el(form, "input", NULL);
	rn_attr(in, "type", "hidden");
	rn_attr(in, "name", name);
	rn_attr(in, "value", value ? value : "");
}

static void new_idem(char out[33])
{
	unsigned char raw[16];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(out, 33, raw, sizeof raw);
}

xmlNodePtr rn_form(rctx *rc, xmlNodePtr parent, const char *action_href, const char *cls,
		   const char *idem)
{
	char fresh[33];
	xmlNodePtr f = rn_el(parent, "form", cls);
	rn_attr(f, "method", "post");
	rn_attr(f, "action", action_href ? action_href : "#");
	const char *csrf = rc->pg ? rc->pg->csrf : NULL;
	rn_hidden(f, "_csrf", csrf ? csrf : "");
	if (!idem || !*idem) {
		new_idem(fresh);
		idem = fresh;
	}
	rn_hidden(f, "_idem", idem);
	return f;
}

xmlNodePtr rn_button(xmlNodePtr parent, const char *cls, const char *text)
{
	xmlNodePtr b = rn_text(parent, "button", cls ? cls : "c-button c-button-primary", text);
	rn_attr(b, "type", "submit");
	return b;
}

/* --- edition look-ups ----------------------------------------------------- */

struct ui_default { const char *key, *zh, *en; };

static const struct ui_default ui_defaults[] = {
	{ "ui.login.title", "登录", "Log in" },
	{ "ui.login.username", "用户名", "User name" },
	{ "ui.login.password", "密码", "Password" },
	{ "ui.login.submit", "登录", "Log in" },
	{ "ui.login.failed", "用户名或密码错误", "Wrong user name or password" },
	{ "ui.logout", "退出", "Log out" },
	{ "ui.switch", "切换身份", "Switch" },
	{ "ui.personal", "个人", "Personal" },
	{ "ui.enterprise", "企业", "Enterprise" },
	{ "ui.confirm.title", "请确认", "Please confirm" },
	{ "ui.confirm.submit", "确认", "Confirm" },
	{ "ui.cancel", "取消", "Cancel" },
	{ "ui.back", "返回", "Back" },
	{ "ui.home", "首页", "Home" },
	{ "ui.done", "完成", "Done" },
	{ "ui.error.title", "出错了", "Something went wrong" },
	{ "ui.error.not_found", "页面不存在", "Page not found" },
	{ "ui.error.forbidden", "无权访问", "Not allowed" },
	{ "ui.error.bad_request", "请求有误", "Bad request" },
	{ "ui.error.server", "系统繁忙，请稍后再试", "Server error, please try again later" },
	{ "ui.error.unavailable", "服务暂不可用", "Service unavailable" },
	{ "ui.error.csrf", "页面已过期，请重试", "The page expired, please try again" },
	{ "ui.error.session_expired", "登录已过期，请重新登录", "Your session expired, please log in again" },
	{ "ui.approve", "同意", "Approve" },
	{ "ui.reject", "拒绝", "Reject" },
	{ "ui.prev", "上一页", "Previous" },
	{ "ui.next", "下一页", "Next" },
	{ "ui.call", "致电", "Call" },
	{ "ui.submit", "提交", "Submit" },
	{ "ui.request_id", "请求编号", "Request id" },
	{ NULL, NULL, NULL }
};

static int is_english(const char *locale)
{
	return locale && strncmp(locale, "en", 2) == 0;
}

const char *rc_string(const rctx *rc, const char *key, const char *fallback)
{
	if (rc->ed && rc->ed->strings) {
		json_t *v = json_object_get(rc->ed->strings, key);
		if (json_is_string(v))
			return json_string_value(v);
	}
	for (const struct ui_default *d = ui_defaults; d->key; d++)
		if (strcmp(d->key, key) == 0)
			return is_english(rc->locale) ? d->en : d->zh;
	return fallback ? fallback : key;
}

char *rc_route_href(const rctx *rc, const char *route_id)
{
	if (!rc->ed || !route_id)
		return NULL;
	const rt_route *r = edition_route_by_id(rc->ed, route_id);
	if (!r || !r->path)
		return NULL;
	strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "/%s%s", rc->ed->id, r->path);
	return strbuf_detach(&sb, NULL);
}

char *rc_screen_href(const rctx *rc, const char *screen_id)
{
	if (!rc->ed || !screen_id)
		return NULL;
	for (size_t i = 0; i < rc->ed->n_routes; i++) {
		const rt_route *r = &rc->ed->routes[i];
		if (r->screen && strcmp(r->screen, screen_id) == 0 &&
		    (!r->method || strcmp(r->method, "GET") == 0))
			return rc_route_href(rc, r->id);
	}
	return NULL;
}

char *rc_home_href(const rctx *rc)
{
	if (!rc->ed)
		return xstrdup("/");
	json_t *home = json_object_get(rc->ed->meta, "home");
	char *href = rc_screen_href(rc, json_is_string(home) ? json_string_value(home) : "home");
	if (!href) {
		strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "/%s/", rc->ed->id);
		href = strbuf_detach(&sb, NULL);
	}
	return href;
}

static const char *meta_text(const rt_edition *ed, const char *key)
{
	json_t *v = ed ? json_object_get(ed->meta, key) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static pthread_once_t render_once = PTHREAD_ONCE_INIT;

/* libxml2 wants its globals set up once before threads build trees; libsodium its random source. */
static void render_init_once(void)
{
	xmlInitParser();
	if (sodium_init() < 0)
		abort();        /* no usable random source: nothing safe can be served */
}

static void rc_init(rctx *rc, const render_page *pg, const rt_edition *ed, json_t *data)
{
	memset(rc, 0, sizeof *rc);
	rc->pg = pg;
	rc->ed = ed;
	rc->data = data;
	const char *loc = meta_text(ed, "locale");
	rc->locale = loc ? loc : "zh-CN";
	pthread_once(&render_once, render_init_once);
}

/* --- page shell ----------------------------------------------------------- */

static void page_head(rctx *rc, xmlNodePtr html, const char *title)
{
	xmlNodePtr head = rn_el(html, "head", NULL);
	rn_attr(rn_el(head, "meta", NULL), "charset", "utf-8");
	xmlNodePtr vp = rn_el(head, "meta", NULL);
	rn_attr(vp, "name", "viewport");
	rn_attr(vp, "content", "width=device-width, initial-scale=1");
	const char *ed_title = meta_text(rc->ed, "title");
	strbuf t = STRBUF_INIT;
	strbuf_adds(&t, title ? title : "");
	if (ed_title && (!title || strcmp(title, ed_title) != 0))
		strbuf_addf(&t, "%s%s", t.len ? " - " : "", ed_title);
	rn_text(head, "title", NULL, t.len ? t.buf : "OneBank");
	strbuf_release(&t);
	xmlNodePtr css = rn_el(head, "link", NULL);
	rn_attr(css, "rel", "stylesheet");
	rn_attr(css, "href", "/static/app.css");
	if (rc->ed) {
		strbuf href = STRBUF_INIT;
		strbuf_addf(&href, "/%s/theme.css", rc->ed->id);
		xmlNodePtr theme = rn_el(head, "link", NULL);
		rn_attr(theme, "rel", "stylesheet");
		rn_attr(theme, "href", href.buf);
		strbuf_release(&href);
	}
}

static void page_header(rctx *rc, xmlNodePtr body)
{
	xmlNodePtr bar = rn_el(body, "header", "c-appbar");
	char *home = rc_home_href(rc);
	const char *title = meta_text(rc->ed, "title");
	rn_link(bar, home, "c-appbar-title", title ? title : "OneBank");
	free(home);
	const render_page *pg = rc->pg;
	if (!pg || !pg->user_name)
		return;
	/* title, name and logout on the first line; the identities on a line of their own */
	rn_text(bar, "span", "c-appbar-name", pg->user_name);
	xmlNodePtr out = rn_form(rc, bar, "/logout", "c-logout", NULL);
	rn_button(out, "c-button c-button-small", rc_string(rc, "ui.logout", NULL));
	render_identity_forms(rc, bar);
}

/* html, head and body with the header bar; returns main, the content column. */
static xmlDocPtr page_new(rctx *rc, const char *title, xmlNodePtr *main_out)
{
	xmlDocPtr doc = htmlNewDocNoDtD(NULL, NULL);
	xmlCreateIntSubset(doc, BAD_CAST "html", NULL, NULL);
	xmlNodePtr html = xmlNewNode(NULL, BAD_CAST "html");
	xmlDocSetRootElement(doc, html);
	rn_attr(html, "lang", rc->locale);
	page_head(rc, html, title);
	xmlNodePtr body = rn_el(html, "body", NULL);
	if (rc->ed) {
		strbuf cls = STRBUF_INIT;
		strbuf_addf(&cls, "e-%s", rc->ed->id);
		rn_attr(body, "class", cls.buf);
		strbuf_release(&cls);
	}
	page_header(rc, body);
	xmlNodePtr main = rn_el(body, "main", "c-page");
	if (title && *title)
		rn_text(main, "h1", "c-page-title", title);
	*main_out = main;
	return doc;
}

static void page_banners(xmlNodePtr main, const char *notice, const char *error)
{
	if (notice && *notice)
		rn_attr(rn_text(main, "p", "c-flash c-flash-notice", notice), "role", "status");
	if (error && *error)
		rn_attr(rn_text(main, "p", "c-flash c-flash-error", error), "role", "alert");
}

/* Serialises doc as UTF-8 into html (appended) and frees it. */
static int page_finish(xmlDocPtr doc, strbuf *html)
{
	/* no encoder: the tree is UTF-8 already and goes out as is, without &#x..; */
	xmlOutputBufferPtr out = xmlAllocOutputBuffer(NULL);
	if (!out) {
		xmlFreeDoc(doc);
		return -1;
	}
	htmlDocContentDumpFormatOutput(out, doc, "UTF-8", 1);
	xmlOutputBufferFlush(out);
	int rc = out->error ? -1 : 0;
	if (rc == 0)
		strbuf_add(html, xmlOutputBufferGetContent(out), xmlOutputBufferGetSize(out));
	xmlOutputBufferClose(out);
	xmlFreeDoc(doc);
	return rc;
}

/* --- pages ---------------------------------------------------------------- */

int render_screen(const render_page *pg, strbuf *html)
{
	if (!pg || !pg->ed || !json_is_object(pg->screen))
		return -1;
	rctx rc;
	rc_init(&rc, pg, pg->ed, pg->data);
	const char *title = rc_attr(pg->screen, "title");
	char *ttl = title ? rb_expand(title, rc.data, rc.locale) : NULL;
	xmlNodePtr main;
	xmlDocPtr doc = page_new(&rc, ttl, &main);
	free(ttl);
	const char *sid = rc_attr(pg->screen, "id");
	if (sid)
		rn_attr(main, "data-screen", sid);
	page_banners(main, pg->notice, pg->error);
	json_t *layout = json_object_get(pg->screen, "layout");
	size_t i;
	json_t *comp;
	json_array_foreach(layout, i, comp)
		render_component(&rc, main, comp);
	return page_finish(doc, html);
}

/* name -> the field component, for the fields of the form that posts to route_id. */
static void collect_fields(json_t *node, const char *route_id, int inside, json_t *out, int depth)
{
	if (depth > RENDER_MAX_DEPTH)
		return;
	if (json_is_array(node)) {
		size_t i;
		json_t *c;
		json_array_foreach(node, i, c)
			collect_fields(c, route_id, inside, out, depth + 1);
		return;
	}
	if (!json_is_object(node))
		return;
	const char *action = rc_attr(node, "action");
	if (action && strcmp(action, route_id) == 0)
		inside = 1;
	const char *name = rc_attr(node, "name");
	if (inside && name && !json_object_get(out, name))
		json_object_set(out, name, node);
	collect_fields(json_object_get(node, "layout"), route_id, inside, out, depth + 1);
	collect_fields(json_object_get(node, "children"), route_id, inside, out, depth + 1);
}

/* "123.45" -> 12345; -1 when it is not an amount. */
static long long parse_amount(const char *s)
{
	long long units = 0;
	int frac = -1;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s == '.' && frac < 0) {
			frac = 0;
		} else if (*s >= '0' && *s <= '9' && frac < 2 && units < 1000000000000000LL) {
			units = units * 10 + (*s - '0');
			if (frac >= 0)
				frac++;
		} else if (*s != ',') {
			return -1;
		}
	}
	for (int f = frac < 0 ? 0 : frac; f < 2; f++)
		units *= 10;
	return units;
}

static void confirm_rows(rctx *rc, xmlNodePtr main, json_t *values, json_t *fields)
{
	xmlNodePtr dl = rn_el(main, "dl", "c-kv c-confirm-values");
	const char *name;
	json_t *v;
	json_object_foreach(values, name, v) {
		if (name[0] == '_' || !json_is_string(v))
			continue;
		json_t *f = json_object_get(fields, name);
		const char *label = rc_attr(f, "label") ? rc_attr(f, "label") : name;
		const char *kind = rc_attr(f, "component") ? rc_attr(f, "component") : "";
		xmlNodePtr row = rn_el(dl, "div", "c-kv-row");
		rn_text(row, "dt", NULL, label);
		char *text;
		if (strcmp(kind, "amount_input") == 0 && parse_amount(json_string_value(v)) >= 0)
			text = rb_money(parse_amount(json_string_value(v)), rc_attr(f, "currency"), rc->locale);
		else if (strcmp(kind, "select") == 0 || strcmp(kind, "payee_picker") == 0)
			text = render_choice_text(rc, f, json_string_value(v));
		else
			text = xstrdup(json_string_value(v));
		rn_text(row, "dd", NULL, text);
		free(text);
	}
}

int render_confirm(const render_page *pg, const rt_route *action, json_t *values, strbuf *html)
{
	if (!pg || !pg->ed || !action)
		return -1;
	rctx rc;
	rc_init(&rc, pg, pg->ed, pg->data);
	xmlNodePtr main;
	xmlDocPtr doc = page_new(&rc, rc_string(&rc, "ui.confirm.title", NULL), &main);
	page_banners(main, pg->notice, pg->error);
	json_t *fields = json_object();
	if (pg->screen)
		collect_fields(json_object_get(pg->screen, "layout"), action->id, 0, fields, 0);
	confirm_rows(&rc, main, values, fields);
	json_decref(fields);
	char *href = rc_route_href(&rc, action->id);
	const char *idem = json_string_value(json_object_get(values, "_idem"));
	xmlNodePtr form = rn_form(&rc, main, href, "c-form c-confirm-step", idem);
	free(href);
	const char *name;
	json_t *v;
	json_object_foreach(values, name, v)
		if (name[0] != '_' && json_is_string(v))
			rn_hidden(form, name, json_string_value(v));
	rn_hidden(form, "_confirm", "1");
	xmlNodePtr actions = rn_el(form, "div", "c-actions");
	rn_button(actions, NULL, rc_string(&rc, "ui.confirm.submit", NULL));
	char *home = rc_home_href(&rc);
	rn_link(actions, home, "c-button c-button-secondary", rc_string(&rc, "ui.cancel", NULL));
	free(home);
	return page_finish(doc, html);
}

static void login_field(xmlNodePtr form, const char *label, const char *name, const char *type,
			const char *autocomplete)
{
	xmlNodePtr wrap = rn_el(form, "div", "c-field");
	strbuf id = STRBUF_INIT;
	strbuf_addf(&id, "f-%s", name);
	rn_attr(rn_text(wrap, "label", "c-label", label), "for", id.buf);
	xmlNodePtr in = rn_el(wrap, "input", "c-control");
	rn_attr(in, "id", id.buf);
	rn_attr(in, "name", name);
	rn_attr(in, "type", type);
	rn_attr(in, "autocomplete", autocomplete);
	rn_attr(in, "required", "required");
	strbuf_release(&id);
}

int render_login(const rt_edition *ed, const char *csrf, const char *error, strbuf *html)
{
	render_page pg = { .ed = ed, .csrf = csrf };
	rctx rc;
	rc_init(&rc, &pg, ed, NULL);
	xmlNodePtr main;
	xmlDocPtr doc = page_new(&rc, rc_string(&rc, "ui.login.title", NULL), &main);
	page_banners(main, NULL, error);
	xmlNodePtr form = rn_form(&rc, main, "/login", "c-form c-login", NULL);
	login_field(form, rc_string(&rc, "ui.login.username", NULL), "username", "text", "username");
	login_field(form, rc_string(&rc, "ui.login.password", NULL), "password", "password",
		    "current-password");
	rn_button(form, NULL, rc_string(&rc, "ui.login.submit", NULL));
	rn_text(main, "p", "c-hint", is_english(rc.locale)
		? "After you log in, the app opens the edition made for you."
		: "登录后将自动进入为您定制的版本。");
	return page_finish(doc, html);
}

int render_index(const registry *r, strbuf *html)
{
	rctx rc;
	rc_init(&rc, NULL, NULL, NULL);
	xmlNodePtr main;
	xmlDocPtr doc = page_new(&rc, "OneBank", &main);
	rn_text(main, "p", "c-text", "一个银行，一个应用：六个版本。 One bank, one app: six editions.");
	xmlNodePtr ul = rn_el(main, "ul", "c-list c-edition-list");
	for (size_t i = 0; r && i < registry_count(r); i++) {
		const rt_edition *e = registry_at(r, i);
		rctx erc;
		rc_init(&erc, NULL, e, NULL);
		xmlNodePtr li = rn_el(ul, "li", "c-list-item");
		char *home = rc_home_href(&erc);
		const char *title = meta_text(e, "title");
		rn_link(li, home, "c-link", title ? title : e->id);
		free(home);
		rn_text(li, "span", "c-muted", e->id);
	}
	rn_link(main, "/login", "c-button c-button-primary", "登录 · Log in");
	rn_text(main, "p", "c-hint",
		"演示：登录后按您的身份进入对应版本（密码 demo1234）。 "
		"Demo: log in and your edition is chosen for you (password demo1234).");
	return page_finish(doc, html);
}

static const char *status_key(int status)
{
	switch (status) {
	case 400: return "ui.error.bad_request";
	case 401: return "ui.error.session_expired";
	case 403: return "ui.error.forbidden";
	case 404: return "ui.error.not_found";
	case 503: return "ui.error.unavailable";
	default: return status >= 500 ? "ui.error.server" : "ui.error.title";
	}
}

int render_message(const rt_edition *ed, int status, const char *title, const char *text,
		   const char *request_id, strbuf *html)
{
	rctx rc;
	rc_init(&rc, NULL, ed, NULL);
	if (!title)
		title = status >= 400 ? rc_string(&rc, "ui.error.title", NULL) : rc_string(&rc, "ui.done", NULL);
	xmlNodePtr main;
	xmlDocPtr doc = page_new(&rc, title, &main);
	xmlNodePtr box = rn_el(main, "section", status >= 400 ? "c-message c-message-error" : "c-message");
	if (status >= 400) {
		char code[16];
		snprintf(code, sizeof code, "%d", status);
		rn_text(box, "p", "c-message-status", code);
	}
	rn_text(box, "p", "c-text", text ? text : status >= 400 ? rc_string(&rc, status_key(status), NULL) : NULL);
	if (request_id && status >= 500) {
		xmlNodePtr p = rn_el(box, "p", "c-muted c-request-id");
		strbuf t = STRBUF_INIT;
		strbuf_addf(&t, "%s: ", rc_string(&rc, "ui.request_id", NULL));
		rn_add_text(p, t.buf);
		rn_text(p, "code", NULL, request_id);
		strbuf_release(&t);
	}
	char *home = rc_home_href(&rc);
	rn_link(main, home, "c-button c-button-secondary", rc_string(&rc, "ui.home", NULL));
	free(home);
	return page_finish(doc, html);
}
