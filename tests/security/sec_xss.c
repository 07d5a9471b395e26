/*
 * sec_xss: script injection. Every string param of every form flow a customer
 * can post, in every edition, gets each payload in turn (the other params
 * valid); the confirmation page, the answer, the page it leads to, and then
 * every page of the edition and the history of every own account are
 * fetched, and no payload may appear unescaped. Also the login's "next"
 * must not lead off the site or to a javascript: URL.
 */
#include "sec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const payloads[] = {
	"<script>alert(1)</script>",
	"\"><img src=x onerror=alert(1)>",
	"'><svg onload=alert(1)>",
	"javascript:alert(1)",
};

/* What must never appear in HTML: the payload's markup unescaped, or a javascript: URL in an attribute. */
static const char *unescaped(const char *html)
{
	static const char *const raw[] = { "<script>alert", "<img src=x", "\"><img", "<svg onload", "'><svg" };

	for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++)
		if (strstr(html, raw[i]))
			return raw[i];
	static const char *const attrs[] = { "href=\"javascript:", "src=\"javascript:", "action=\"javascript:",
		"formaction=\"javascript:", "href='javascript:", "href=javascript:" };
	for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++)
		if (strcasestr(html, attrs[i]))
			return attrs[i];
	return NULL;
}

typedef struct page_log {
	int pages, bad, escaped;  /* pages seen, pages with a payload raw, pages with one escaped */
	char detail[600];
} page_log;

static void inspect(page_log *lg, const char *where, const sec_resp *r)
{
	const char *hit = unescaped(r->body);

	lg->pages++;
	if (strstr(r->body, "&lt;script&gt;alert") || strstr(r->body, "&lt;img src=x") ||
	    strstr(r->body, "&lt;svg onload") || strstr(r->body, "javascript:alert(1)"))
		lg->escaped++;
	if (getenv("SEC_VERBOSE") && r->status != 200 && r->status != 303)
		fprintf(stderr, "  %s: %ld %.200s\n", where, r->status, r->body);
	if (hit) {
		size_t l = strlen(lg->detail);
		lg->bad++;
		snprintf(lg->detail + l, sizeof lg->detail - l, " %s shows '%s'", where, hit);
	}
}

static void submit(sec_client *cl, const char *edition, const char *path, json_t *params, page_log *lg)
{
	static int seq;
	char body[8192], idem[64], url[300], loc[300] = "";
	sec_resp r;

	snprintf(idem, sizeof idem, "xss-%d-%d", (int)getpid(), ++seq);
	snprintf(url, sizeof url, "/%s%s", edition, path);
	sec_form_body(params, cl->csrf, idem, 0, body, sizeof body);
	r = sec_post_form(cl, url, body);
	inspect(lg, "confirmation page", &r);
	sec_resp_free(&r);
	sec_form_body(params, cl->csrf, idem, 1, body, sizeof body);
	r = sec_post_form(cl, url, body);
	inspect(lg, "answer", &r);
	if (r.status == 303 && sec_header(&r, "Location", loc, sizeof loc)) {
		sec_resp_free(&r);
		r = sec_get(cl, loc);
		inspect(lg, "result page", &r);
	}
	sec_resp_free(&r);
}

/* A fresh FX quote for 100.00 yuan (flows with a quote_id param pay against one), or "x1". */
static void fresh_quote(sec_client *cl, const char *edition, json_t *params)
{
	char path[128];
	sec_resp r;
	json_t *j;

	snprintf(path, sizeof path, "/api/v1/%s/flows/fx_quote", edition);
	r = sec_post_json(cl, path, "{\"currency\":\"usd\",\"amount\":\"100.00\"}", NULL);
	j = json_loads(r.body, 0, NULL);
	json_object_set_new(params, "quote_id", json_string(json_string_value(json_object_get(j, "quote_id")) ?: "x1"));
	json_object_set_new(params, "amount", json_string("100.00"));
	json_decref(j);
	sec_resp_free(&r);
}

static const char *first_account(sec_client *cl, const char *edition)
{
	static char id[32];
	char path[128];
	sec_resp r;
	json_t *j;

	snprintf(path, sizeof path, "/api/v1/%s/data/accounts", edition);
	r = sec_get(cl, path);
	j = json_loads(r.body, 0, NULL);
	snprintf(id, sizeof id, "%s",
		 json_string_value(json_object_get(json_array_get(json_object_get(j, "accounts"), 0), "id")) ?: "1");
	json_decref(j);
	sec_resp_free(&r);
	return id;
}

/* Every GET page of the edition (no params) and the history of the first account. */
static void sweep(sec_client *cl, const char *edition, json_t *routes, const char *acct, page_log *lg)
{
	json_t *rt;
	size_t i;
	char url[300];

	json_array_foreach(routes, i, rt) {
		if (strcmp(json_string_value(json_object_get(rt, "method")) ?: "", "GET"))
			continue;
		snprintf(url, sizeof url, "/%s%s", edition, json_string_value(json_object_get(rt, "path")));
		sec_resp r = sec_get(cl, url);
		inspect(lg, url, &r);
		sec_resp_free(&r);
	}
	snprintf(url, sizeof url, "/%s/accounts/history?id=%s", edition, acct);
	sec_resp r = sec_get(cl, url);
	inspect(lg, "history", &r);
	sec_resp_free(&r);
}

static void xss_edition(const char *user, const char *identity, const char *edition, const char *pack_dir)
{
	json_t *specs, *routes, *products, *rt;
	sec_client *cl = sec_identity(user, identity);
	page_log sweep_log = { 0 };
	char name[300];
	size_t i;

	if (!cl || sec_pack_json(pack_dir, edition, &specs, &routes, &products)) {
		snprintf(name, sizeof name, "xss: %s set-up", edition);
		sec_check(0, name, "cannot log in or read the pack");
		sec_client_free(cl);
		return;
	}
	const char *acct = first_account(cl, edition);
	sec_load_payee(cl, edition);
	json_array_foreach(routes, i, rt) {
		const char *flow = json_string_value(json_object_get(rt, "flow"));
		const char *path = json_string_value(json_object_get(rt, "path"));
		json_t *spec = flow ? json_object_get(specs, flow) : NULL, *p;
		size_t k;

		if (!spec || strcmp(json_string_value(json_object_get(rt, "method")) ?: "", "POST"))
			continue;
		json_array_foreach(json_object_get(spec, "params"), k, p) {
			const char *pid = json_string_value(json_object_get(p, "id"));
			page_log lg = { 0 };
			if (strcmp(json_string_value(json_object_get(p, "type")) ?: "", "string"))
				continue;
			for (size_t x = 0; x < sizeof payloads / sizeof payloads[0]; x++) {
				json_t *params = sec_flow_params(acct, flow, spec, products);
				char value[200];
				/* payroll lines are "name,account,amount": the payload goes in as a name */
				snprintf(value, sizeof value, "%s%s", payloads[x],
					 !strcmp(pid, "items") ? ",6229092222111100018,1" : "");
				json_object_set_new(params, pid, json_string(value));
				if (json_object_get(params, "quote_id"))
					fresh_quote(cl, edition, params);
				submit(cl, edition, path, params, &lg);
				json_decref(params);
			}
			snprintf(name, sizeof name, "xss: %s %s field '%s' never rendered unescaped", edition, path, pid);
			sec_check(lg.pages > 0 && lg.bad == 0, name, "%d of %d pages:%s", lg.bad, lg.pages, lg.detail);
			if (getenv("SEC_VERBOSE"))
				fprintf(stderr, "  %s: %d pages, %d with a payload escaped\n", name, lg.pages, lg.escaped);
		}
	}
	sweep(cl, edition, routes, acct, &sweep_log);
	snprintf(name, sizeof name, "xss: every %s page afterwards free of the payloads", edition);
	if (getenv("SEC_VERBOSE"))
		fprintf(stderr, "  %s: %d pages, %d with a payload escaped\n", name, sweep_log.pages, sweep_log.escaped);
	sec_check(sweep_log.pages > 0 && sweep_log.bad == 0, name, "%d of %d pages:%s", sweep_log.bad,
		  sweep_log.pages, sweep_log.detail);
	json_decref(specs);
	json_decref(routes);
	json_decref(products);
	sec_client_free(cl);
}

/* A payee's view: what zhangwei typed as memo and name must be escaped in chenjing's history too. */
static void xss_recipient(void)
{
	sec_client *cl = sec_identity("chenjing", NULL);
	page_log lg = { 0 };

	if (!cl)
		return;
	const char *acct = first_account(cl, "mass");
	char url[200];
	snprintf(url, sizeof url, "/mass/accounts/history?id=%s", acct);
	sec_resp r = sec_get(cl, url);
	inspect(&lg, "recipient's history", &r);
	sec_resp_free(&r);
	r = sec_get(cl, "/mass/home");
	inspect(&lg, "recipient's home", &r);
	sec_resp_free(&r);
	sec_check(lg.bad == 0, "xss: the recipient's pages escape the sender's memo and name", "%s", lg.detail);
	sec_client_free(cl);
}

static void reflected(void)
{
	static const char *const urls[] = {
		"/login?next=%3Cscript%3Ealert(1)%3C/script%3E", "/login?next=%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E",
		"/mass/wealth/product?id=%3Cscript%3Ealert(1)%3C/script%3E",
		"/nowhere/%3Cscript%3Ealert(1)%3C/script%3E", "/mass/%3Cscript%3Ealert(1)%3C/script%3E",
		"/api/v1/mass/screens/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
	};
	sec_client *cl = sec_client_new();
	page_log lg = { 0 };

	for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
		sec_resp r = sec_get(cl, urls[i]);
		inspect(&lg, urls[i], &r);
		sec_resp_free(&r);
	}
	sec_check(lg.bad == 0, "xss: reflected payloads in urls are escaped", "%s", lg.detail);
	sec_resp j = sec_get(cl, "/api/v1/mass/screens/%3Cscript%3Ealert(1)%3C%2Fscript%3E");
	char ct[128] = "", nosniff[64] = "";
	sec_header(&j, "Content-Type", ct, sizeof ct);
	sec_header(&j, "X-Content-Type-Options", nosniff, sizeof nosniff);
	sec_check(!strncmp(ct, "application/json", 16) && !strcmp(nosniff, "nosniff"),
		  "xss: api answers are JSON, never sniffed as HTML", "'%s' '%s'", ct, nosniff);
	sec_resp_free(&j);
	sec_client_free(cl);
	/* response splitting through the login's next */
	cl = sec_client_new();
	sec_resp split = sec_get(cl, "/login?next=/mass/home%0d%0aSet-Cookie:%20injected=1%0d%0aX-Injected:%201");
	sec_resp_free(&split);
	sec_login_form(cl, "chenjing", "demo1234");
	split = sec_get(cl, "/mass/home");
	char inj[64] = "";
	sec_check(!strcasestr(cl->location, "\n") && !strcasestr(cl->location, "\r") &&
		  !sec_header(&split, "X-Injected", inj, sizeof inj), "redirect: CR LF in next never splits the answer",
		  "Location '%s'", cl->location);
	sec_resp_free(&split);
	struct curl_slist *cookies = NULL;
	curl_easy_getinfo(cl->c, CURLINFO_COOKIELIST, &cookies);
	int injected = 0;
	for (struct curl_slist *c = cookies; c; c = c->next)
		injected |= strstr(c->data, "injected") != NULL;
	curl_slist_free_all(cookies);
	sec_check(!injected, "redirect: no cookie set through next", "a cookie 'injected' was set");
	sec_client_free(cl);
	static const char *const nexts[] = { "javascript:alert(1)", "//evil.example/", "https://evil.example/",
		"/\\evil.example", "%2F%2Fevil.example" };
	for (size_t i = 0; i < sizeof nexts / sizeof nexts[0]; i++) {
		char url[200], loc[300] = "", name[200];
		cl = sec_client_new();
		snprintf(url, sizeof url, "/login?next=%s", nexts[i]);
		sec_resp r = sec_get(cl, url);
		sec_resp_free(&r);
		sec_login_form(cl, "chenjing", "demo1234");
		snprintf(loc, sizeof loc, "%s", cl->location);
		snprintf(name, sizeof name, "redirect: login next=%s stays on the site", nexts[i]);
		sec_check(loc[0] == '/' && loc[1] != '/' && loc[1] != '\\' && !strcasestr(loc, "javascript:"), name,
			  "Location '%s'", loc);
		sec_client_free(cl);
	}
}

void sec_xss_attacks(const char *pack_dir)
{
	xss_edition("zhangwei", NULL, "mass", pack_dir);
	xss_edition("lina", NULL, "private-banking", pack_dir);
	xss_edition("wangfang", NULL, "care", pack_dir);
	xss_edition("john", NULL, "english", pack_dir);
	xss_edition("zhangwei", "enterprise:1", "enterprise-boss", pack_dir);
	xss_edition("liuqiang", "enterprise:1", "enterprise-standard", pack_dir);
	xss_recipient();
	reflected();
}
