/*
 * webdriver: the browser tests of the H5 pages, driving Debian's headless
 * Chromium through chromedriver over the W3C WebDriver protocol (JSON over
 * HTTP: libcurl for the calls, jansson for the bodies, libsodium for the
 * base64 of screenshots). tests/browser/run.sh builds the packs, starts
 * editiond and chromedriver, and runs this program:
 *
 *   webdriver --free-port                 print a free 127.0.0.1 port
 *   webdriver --wait URL [SECONDS]        wait until URL answers 200
 *   webdriver --driver URL --base URL --artifacts DIR --profile DIR
 *
 * What a customer does is what is tested: log in, open the transfer screen,
 * fill the form, confirm, read the result and the balance; switch to the
 * enterprise identity and approve a payment; the care edition's text is
 * visibly larger (computed style); tappable things are at least the
 * edition's touch target; home fits a 360px screen; every page reachable from
 * home renders without an error, an unknown component or sideways scrolling;
 * a screenshot of every edition's home.
 * Each check prints "ok" or "FAIL" with the reason; the last line is
 * "N passed, N failed" and the exit status is 1 when anything failed.
 * With BROWSER_SHOTS_ALL=1 every page visited is also saved as a screenshot.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ELEMENT_KEY "element-6066-11e4-a52e-4f735466cecf"
#define PASSWORD "demo1234"

typedef struct wd {
	CURL *curl;
	const char *driver;         /* http://127.0.0.1:PORT of chromedriver */
	const char *base;           /* http://127.0.0.1:PORT of editiond */
	const char *artifacts;
	char session[128];
	char last_error[512];
} wd;

static int n_passed, n_failed;

static void check(int ok, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void check(int ok, const char *name, const char *fmt, ...)
{
	if (ok) {
		n_passed++;
		printf("ok   %s\n", name);
	} else {
		va_list ap;
		n_failed++;
		printf("FAIL %s: ", name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	fflush(stdout);
}

/* --- HTTP ----------------------------------------------------------------- */

typedef struct buf { char *p; size_t n; } buf;

static size_t collect(char *data, size_t size, size_t nmemb, void *ud)
{
	buf *b = ud;
	size_t n = size * nmemb;
	char *p = realloc(b->p, b->n + n + 1);
	if (!p)
		return 0;
	memcpy(p + b->n, data, n);
	b->p = p;
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

/* One WebDriver command. Returns the "value" member (caller decrefs) or NULL with last_error set. */
static json_t *wd_call(wd *w, const char *method, const char *path, json_t *body)
{
	char url[1024];
	snprintf(url, sizeof url, "%s%s", w->driver, path);
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	buf resp = { NULL, 0 };
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_reset(w->curl);
	curl_easy_setopt(w->curl, CURLOPT_URL, url);
	curl_easy_setopt(w->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(w->curl, CURLOPT_TIMEOUT, 90L);
	curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(w->curl, CURLOPT_WRITEDATA, &resp);
	if (text || strcmp(method, "POST") == 0)
		curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, text ? text : "{}");
	CURLcode rc = curl_easy_perform(w->curl);
	long status = 0;
	curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdr);
	free(text);
	json_t *doc = rc == CURLE_OK && resp.p ? json_loads(resp.p, 0, NULL) : NULL;
	json_t *value = json_incref(json_object_get(doc, "value"));
	if (rc != CURLE_OK)
		snprintf(w->last_error, sizeof w->last_error, "%s %s: %s", method, path, curl_easy_strerror(rc));
	else if (status != 200) {
		const char *msg = json_string_value(json_object_get(value, "message"));
		snprintf(w->last_error, sizeof w->last_error, "%s %s: HTTP %ld: %.300s", method, path, status,
			 msg ? msg : resp.p ? resp.p : "");
		json_decref(value);
		value = NULL;
	} else if (!value) {
		value = json_null();
	}
	json_decref(doc);
	free(resp.p);
	return value;
}

static int wd_cmd(wd *w, const char *method, const char *fmt_path, const char *arg, json_t *body)
{
	char path[512];
	snprintf(path, sizeof path, fmt_path, w->session, arg ? arg : "");
	json_t *v = wd_call(w, method, path, body);
	json_decref(body);
	if (!v)
		return -1;
	json_decref(v);
	return 0;
}

/* --- session and elements ------------------------------------------------- */

static int wd_open(wd *w, const char *profile)
{
	char dir[600];
	snprintf(dir, sizeof dir, "--user-data-dir=%s", profile);
	json_t *args = json_pack("[sssssssssss]", "--headless", "--no-sandbox", "--disable-gpu",
				 "--disable-quic", "--no-first-run", "--disable-background-networking",
				 "--disable-component-update", "--disable-sync", "--window-size=390,844",
				 "--disable-dev-shm-usage", dir);
	json_t *caps = json_pack("{s:{s:{s:s, s:s, s:{s:s, s:o}}}}", "capabilities", "alwaysMatch",
				 "browserName", "chrome", "pageLoadStrategy", "normal",
				 "goog:chromeOptions", "binary", "/usr/bin/chromium", "args", args);
	json_t *v = wd_call(w, "POST", "/session", caps);
	json_decref(caps);
	const char *id = json_string_value(json_object_get(v, "sessionId"));
	if (id)
		snprintf(w->session, sizeof w->session, "%s", id);
	json_decref(v);
	return id ? 0 : -1;
}

static void wd_close(wd *w)
{
	if (w->session[0])
		wd_cmd(w, "DELETE", "/session/%s", NULL, NULL);
	w->session[0] = '\0';
}

static int wd_go(wd *w, const char *path)
{
	char url[1024];
	snprintf(url, sizeof url, "%s%s", w->base, path);
	return wd_cmd(w, "POST", "/session/%s/url", NULL, json_pack("{ss}", "url", url));
}

/* The element id for a CSS selector, or NULL. Caller frees. */
static char *wd_find(wd *w, const char *css)
{
	char path[256];
	snprintf(path, sizeof path, "/session/%s/element", w->session);
	json_t *body = json_pack("{ss ss}", "using", "css selector", "value", css);
	json_t *v = wd_call(w, "POST", path, body);
	json_decref(body);
	const char *id = json_string_value(json_object_get(v, ELEMENT_KEY));
	char *out = id ? strdup(id) : NULL;
	json_decref(v);
	return out;
}

/* Polls for an element up to seconds; NULL when it never appeared. Caller frees. */
static char *wd_wait(wd *w, const char *css, int seconds)
{
	for (int i = 0; i < seconds * 5; i++) {
		char *id = wd_find(w, css);
		if (id)
			return id;
		usleep(200000);
	}
	snprintf(w->last_error, sizeof w->last_error, "no element '%s'", css);
	return NULL;
}

static int wd_click(wd *w, const char *css)
{
	char *id = wd_find(w, css);
	if (!id) {
		snprintf(w->last_error, sizeof w->last_error, "no element '%s' to click", css);
		return -1;
	}
	int rc = wd_cmd(w, "POST", "/session/%s/element/%s/click", id, json_object());
	free(id);
	return rc;
}

static int wd_type(wd *w, const char *css, const char *text)
{
	char *id = wd_find(w, css);
	if (!id) {
		snprintf(w->last_error, sizeof w->last_error, "no field '%s'", css);
		return -1;
	}
	int rc = wd_cmd(w, "POST", "/session/%s/element/%s/clear", id, json_object());
	if (rc == 0)
		rc = wd_cmd(w, "POST", "/session/%s/element/%s/value", id, json_pack("{ss}", "text", text));
	free(id);
	return rc;
}

/* Runs a script in the page; its return value (caller decrefs) or NULL. */
static json_t *wd_js(wd *w, const char *script)
{
	char path[256];
	snprintf(path, sizeof path, "/session/%s/execute/sync", w->session);
	json_t *body = json_pack("{ss s[]}", "script", script, "args");
	json_t *v = wd_call(w, "POST", path, body);
	json_decref(body);
	return v;
}

static char *wd_js_string(wd *w, const char *script)
{
	json_t *v = wd_js(w, script);
	char *s = json_is_string(v) ? strdup(json_string_value(v)) : NULL;
	json_decref(v);
	return s;
}

static char *wd_path(wd *w)
{
	return wd_js_string(w, "return location.pathname;");
}

static int wd_screenshot(wd *w, const char *file)
{
	char path[256];
	snprintf(path, sizeof path, "/session/%s/screenshot", w->session);
	json_t *v = wd_call(w, "GET", path, NULL);
	const char *b64 = json_string_value(v);
	int rc = -1;
	if (b64) {
		size_t cap = strlen(b64), len = 0;
		unsigned char *png = malloc(cap ? cap : 1);
		if (png && sodium_base642bin(png, cap, b64, strlen(b64), "\n\r ", &len, NULL,
					     sodium_base64_VARIANT_ORIGINAL) == 0) {
			char out[1024];
			snprintf(out, sizeof out, "%s/%s", w->artifacts, file);
			FILE *fp = fopen(out, "wb");
			if (fp) {
				rc = fwrite(png, 1, len, fp) == len && len > 8 && memcmp(png, "\x89PNG", 4) == 0 ? 0 : -1;
				if (fclose(fp) != 0)
					rc = -1;
			}
		}
		free(png);
	}
	json_decref(v);
	return rc;
}

static void wd_forget_cookies(wd *w)
{
	wd_cmd(w, "DELETE", "/session/%s/cookie", NULL, NULL);
}

/* A screenshot of the page on screen as DIR/<edition>-<what>.png; failures only print. */
static void shot(wd *w, const char *edition, const char *what)
{
	char file[160];
	snprintf(file, sizeof file, "%s-%s.png", edition, what);
	if (wd_screenshot(w, file) < 0)
		fprintf(stderr, "webdriver: cannot save '%s': %s\n", file, w->last_error);
}

/* --- steps a customer takes ------------------------------------------------ */

/* Waits until the page's path starts with prefix. */
static int wait_path(wd *w, const char *prefix, int seconds)
{
	char *p = NULL;
	for (int i = 0; i < seconds * 5; i++) {
		free(p);
		p = wd_path(w);
		if (p && strncmp(p, prefix, strlen(prefix)) == 0) {
			free(p);
			return 0;
		}
		usleep(200000);
	}
	snprintf(w->last_error, sizeof w->last_error, "expected a page under '%s', got '%s'", prefix,
		 p ? p : "(none)");
	free(p);
	return -1;
}

/* Waits until no element matches css (the next page has loaded). */
static int wait_gone(wd *w, const char *css, int seconds)
{
	for (int i = 0; i < seconds * 5; i++) {
		char *id = wd_find(w, css);
		if (!id)
			return 0;
		free(id);
		usleep(200000);
	}
	snprintf(w->last_error, sizeof w->last_error, "'%s' still on the page after %d s", css, seconds);
	return -1;
}

/* The text of the page's error banner, or "" (caller frees). */
static char *page_error(wd *w)
{
	char *e = wd_js_string(w, "var e = document.querySelector('.c-flash-error, .c-message');"
				  "return e ? e.innerText : '';");
	return e ? e : strdup("");
}

static int login(wd *w, const char *user, const char *edition)
{
	char home[96];
	wd_forget_cookies(w);
	if (wd_go(w, "/login") < 0 || wd_type(w, "input[name=username]", user) < 0 ||
	    wd_type(w, "input[name=password]", PASSWORD) < 0 ||
	    wd_click(w, "form.c-login button[type=submit]") < 0)
		return -1;
	snprintf(home, sizeof home, "/%s/", edition);
	return wait_path(w, home, 10);
}

/* Money shown in a selector's text ("¥12,345.67", "CNY 12,345.67") as minor units. */
static int read_money(wd *w, const char *css, long long *out)
{
	char script[256];
	snprintf(script, sizeof script, "var e = document.querySelector('%s'); return e ? e.textContent : null;", css);
	char *t = wd_js_string(w, script);
	if (!t) {
		snprintf(w->last_error, sizeof w->last_error, "no '%s' on the page", css);
		return -1;
	}
	long long v = 0;
	int digits = 0, neg = strchr(t, '-') != NULL;
	for (const char *p = t; *p; p++)
		if (*p >= '0' && *p <= '9') {
			v = v * 10 + (*p - '0');
			digits++;
		}
	free(t);
	*out = neg ? -v : v;
	return digits ? 0 : -1;
}

static int balance(wd *w, const char *edition, long long *out)
{
	char path[96];
	snprintf(path, sizeof path, "/%s/accounts", edition);
	if (wd_go(w, path) < 0)
		return -1;
	char *id = wd_wait(w, ".c-balance-card-value", 5);
	free(id);
	return id ? read_money(w, ".c-balance-card-value", out) : -1;
}

static double body_font_px(wd *w)
{
	json_t *v = wd_js(w, "return parseFloat(getComputedStyle(document.body).fontSize);");
	double px = json_is_number(v) ? json_number_value(v) : 0;
	json_decref(v);
	return px;
}

static int set_width(wd *w, int width)
{
	return wd_cmd(w, "POST", "/session/%s/window/rect", NULL, json_pack("{si si}", "width", width, "height", 844));
}

/*
 * Every tappable thing on the page (tiles, buttons, fields, row links) is at
 * least the edition's --touch-target high; returns the offenders ("" when none).
 */
static char *small_targets(wd *w)
{
	char *s = wd_js_string(w,
		"var t = parseFloat(getComputedStyle(document.documentElement).getPropertyValue('--touch-target'));"
		"if (!t) return 'no --touch-target';"
		"var bad = [];"
		"document.querySelectorAll('main .c-tile, main .c-button, main .c-control, main .c-row-link, main .c-link')"
		".forEach(function (e) { var h = e.getBoundingClientRect().height;"
		"  if (h > 0 && h + 0.5 < t) bad.push(e.className + ' ' + h.toFixed(1) + '<' + t); });"
		"return bad.slice(0, 5).join('; ');");
	return s ? s : strdup("cannot measure");
}

/* Whether the page is wider than a window at most max_width wide (or the window is not that narrow). */
static int overflows(wd *w, int max_width)
{
	char script[160];
	snprintf(script, sizeof script, "return window.innerWidth > %d || "
		 "document.documentElement.scrollWidth > window.innerWidth + 1;", max_width);
	json_t *v = wd_js(w, script);
	int over = !json_is_false(v);
	json_decref(v);
	return over;
}

/* The home page: screenshot, touch targets, and a narrower 360px screen. */
static void home_screenshot(wd *w, const char *edition, double *font_px)
{
	char path[96], file[96], name[128];
	snprintf(path, sizeof path, "/%s/home", edition);
	snprintf(file, sizeof file, "%s-home.png", edition);
	snprintf(name, sizeof name, "%s: home screenshot", edition);
	int ok = wd_go(w, path) == 0 && wait_path(w, path, 5) == 0;
	if (ok && font_px)
		*font_px = body_font_px(w);
	check(ok && wd_screenshot(w, file) == 0, name, "%s", w->last_error);
	if (!ok)
		return;
	char *small = small_targets(w);
	snprintf(name, sizeof name, "%s: touch targets on home at least --touch-target", edition);
	check(!*small, name, "%s", small);
	free(small);
	snprintf(name, sizeof name, "%s: home fits a 360px screen", edition);
	int fits = set_width(w, 360) == 0 && wd_go(w, path) == 0 && !overflows(w, 360);
	check(fits, name, "page wider than the window %s", w->last_error);
	set_width(w, 390);
}

/* Fills whichever transfer fields the edition's form has; the payee picker keeps its first payee. */
static int fill_transfer(wd *w, const char *edition)
{
	static const struct { const char *css, *value; } fields[] = {
		{ "form.c-form input[name=to_account]", "6229092222111100018" },
		{ "form.c-form input[name=to_name]", "陈静" },
		{ "form.c-form input[name=memo]", "browser test" },
	};
	char *amount = wd_wait(w, "form.c-form input[name=amount]", 5);
	if (!amount)
		return -1;
	free(amount);
	if (wd_type(w, "form.c-form input[name=amount]", "1.00") < 0)
		return -1;
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		char *id = wd_find(w, fields[i].css);
		if (id && wd_type(w, fields[i].css, fields[i].value) < 0) {
			free(id);
			return -1;
		}
		free(id);
	}
	json_t *v = wd_js(w, "document.querySelectorAll('form.c-form input[type=checkbox]')"
			     ".forEach(function (c) { c.checked = true; }); return true;");
	json_decref(v);
	shot(w, edition, "transfer");
	return wd_click(w, "form.c-form:has(input[name=amount]) button[type=submit]");
}

/* From the confirmation page to the result page; the result's text (caller frees). */
static char *confirm_and_read(wd *w, const char *edition)
{
	char *form = wd_wait(w, "form.c-confirm-step", 5);
	if (!form)
		return NULL;
	free(form);
	shot(w, edition, "confirm");
	if (wd_click(w, "form.c-confirm-step button[type=submit]") < 0)
		return NULL;
	if (wait_gone(w, "form.c-confirm-step", 10) < 0)
		return NULL;
	shot(w, edition, "result");
	return wd_js_string(w, "return document.querySelector('main').innerText;");
}

static int says_done(const char *text)
{
	return text && (strstr(text, "done") || strstr(text, "Done") || strstr(text, "完成") ||
			strstr(text, "成功"));
}

/* --- every page of an edition ---------------------------------------------- */

#define CRAWL_MAX 60

/* What is wrong with the page on screen, or "" (caller frees). */
static char *page_problem(wd *w)
{
	char *p = wd_js_string(w,
		"var m = [];"
		"if (!document.querySelector('main h1')) m.push('no title');"
		"if (document.querySelector('.c-unknown')) m.push('unknown component');"
		"var e = document.querySelector('.c-message-status, .c-flash-error');"
		"if (e) m.push('error: ' + e.parentNode.innerText.slice(0, 120));"
		"if (document.documentElement.scrollWidth > window.innerWidth + 1)"
		"  m.push('wider than the screen: ' + document.documentElement.scrollWidth + 'px');"
		"return m.join('; ');");
	return p ? p : strdup("cannot read the page");
}

static int seen_before(json_t *seen, const char *href)
{
	if (json_object_get(seen, href))
		return 1;
	json_object_set_new(seen, href, json_true());
	return 0;
}

/* BROWSER_SHOTS_ALL=1: every crawled page as DIR/<edition>-<path_with_underscores>.png. */
static void crawl_shot(wd *w, const char *edition, const char *href)
{
	char what[160];
	size_t n = 0;
	for (const char *p = href + strlen(edition) + 2; *p && n + 1 < sizeof what; p++)
		what[n++] = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ? *p : '_';
	what[n] = '\0';
	shot(w, edition, what);
}

/* Follows every link of the edition from its home (GET only, up to CRAWL_MAX pages). */
static void crawl_test(wd *w, const char *edition)
{
	char home[96], script[256], name[128];
	snprintf(home, sizeof home, "/%s/home", edition);
	snprintf(script, sizeof script, "return Array.prototype.map.call(document.querySelectorAll("
		 "'a[href^=\"/%s/\"]'), function (a) { return a.getAttribute('href'); });", edition);
	json_t *queue = json_pack("[s]", home), *seen = json_object();
	seen_before(seen, home);
	char bad[2048] = "";
	size_t pages = 0;
	for (size_t i = 0; i < json_array_size(queue) && pages < CRAWL_MAX; i++, pages++) {
		const char *href = json_string_value(json_array_get(queue, i));
		if (wd_go(w, href) < 0)
			break;
		if (getenv("BROWSER_SHOTS_ALL"))
			crawl_shot(w, edition, href);
		char *problem = page_problem(w);
		if (*problem && strlen(bad) < sizeof bad - 200)
			snprintf(bad + strlen(bad), sizeof bad - strlen(bad), "\n     %s: %s", href, problem);
		free(problem);
		json_t *links = wd_js(w, script), *l;
		size_t k;
		json_array_foreach(links, k, l) {
			const char *h = json_string_value(l);
			if (h && !strstr(h, "page=") && !seen_before(seen, h))
				json_array_append_new(queue, json_string(h));
		}
		json_decref(links);
	}
	snprintf(name, sizeof name, "%s: %zu pages reachable from home render cleanly", edition, pages);
	check(pages > 3 && !*bad, name, "%s", *bad ? bad : "too few pages");
	json_decref(queue);
	json_decref(seen);
}

typedef struct persona { const char *user, *edition, *transfer; } persona;

static const persona personal[] = {
	{ "zhangwei", "mass", "/transfer" },
	{ "lina", "private-banking", "/transfer" },
	{ "wangfang", "care", "/transfer/simple" },
	{ "john", "english", "/transfer" },
};

/* The english customer reads his history and payees without a Chinese character. */
static void english_text_test(wd *w)
{
	static const char *const pages[] = { "history", "payees" };
	char *history = NULL;
	if (wd_go(w, "/english/accounts") == 0)
		history = wd_js_string(w, "var a = document.querySelector(\"main a[href*='/accounts/history']\");"
					  " return a ? a.getAttribute('href') : null;");
	for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
		char name[96];
		snprintf(name, sizeof name, "english: %s has no Chinese text", pages[i]);
		const char *path = i == 0 ? history : "/english/payees";
		char *cjk = path && wd_go(w, path) == 0
			? wd_js_string(w, "var m = document.querySelector('main').innerText"
					  ".match(/[\\u3000-\\u9fff\\uff00-\\uffef]+/g); return m ? m.join(' ') : '';")
			: NULL;
		check(cjk && !*cjk, name, "%s shows '%.200s' %s", path ? path : "(no history link)",
		      cjk ? cjk : "(unreadable)", w->last_error);
		free(cjk);
	}
	free(history);
}

#define FROM_SELECT "return document.querySelector('form.c-form select[name=from]')"

/* The confirmation shows the paying account as the form's picker did (name and
 * masked number), never the bare id, and still posts the id. */
static void confirm_names_account(wd *w, const char *edition, const char *from_text,
				  const char *from_value)
{
	char name[160];
	snprintf(name, sizeof name, "%s: confirmation names the account, not its id", edition);
	char *form = wd_wait(w, "form.c-confirm-step", 5);
	free(form);
	char *values = form ? wd_js_string(w, "return Array.prototype.map.call(document.querySelectorAll("
					   "'dl.c-confirm-values dd'), function (d) { return '|' + d.innerText.trim() + '|'; })"
					   ".join('');") : NULL;
	char *posted = form ? wd_js_string(w, "return document.querySelector("
					   "'form.c-confirm-step input[name=from]').value;") : NULL;
	char bare[96];
	snprintf(bare, sizeof bare, "|%s|", from_value ? from_value : "");
	int ok = values && posted && from_text && from_value && *from_value &&
		 strstr(values, from_text) && !strstr(values, bare) && strstr(from_text, "****") &&
		 strcmp(posted, from_value) == 0;
	check(ok, name, "form showed '%s' (id %s); confirmation shows %.300s, posts %s %s",
	      from_text ? from_text : "(none)", from_value ? from_value : "(none)",
	      values ? values : "(none)", posted ? posted : "(none)", w->last_error);
	free(values);
	free(posted);
}

static void transfer_test(wd *w, const persona *p, double *font_px)
{
	char name[160], path[128];
	snprintf(name, sizeof name, "%s: log in as %s", p->edition, p->user);
	int ok = login(w, p->user, p->edition) == 0;
	check(ok, name, "%s", w->last_error);
	if (!ok)
		return;
	home_screenshot(w, p->edition, font_px);
	crawl_test(w, p->edition);
	if (!strcmp(p->edition, "english"))
		english_text_test(w);
	long long before = 0, after = 0;
	snprintf(name, sizeof name, "%s: balance before", p->edition);
	check(balance(w, p->edition, &before) == 0, name, "%s", w->last_error);
	snprintf(path, sizeof path, "/%s%s", p->edition, p->transfer);
	snprintf(name, sizeof name, "%s: fill and send the transfer form", p->edition);
	ok = wd_go(w, path) == 0;
	char *from_text = ok ? wd_js_string(w, FROM_SELECT ".selectedOptions[0].text;") : NULL;
	char *from_value = ok ? wd_js_string(w, FROM_SELECT ".value;") : NULL;
	ok = ok && fill_transfer(w, p->edition) == 0;
	check(ok, name, "%s", w->last_error);
	if (!ok) {
		free(from_text);
		free(from_value);
		return;
	}
	confirm_names_account(w, p->edition, from_text, from_value);
	free(from_text);
	free(from_value);
	char *text = confirm_and_read(w, p->edition);
	char *err = page_error(w);
	snprintf(name, sizeof name, "%s: confirm, result says done", p->edition);
	check(says_done(text), name, "result page: %.200s %s %s", text ? text : "(none)", err, w->last_error);
	free(text);
	free(err);
	snprintf(name, sizeof name, "%s: balance went down by 1.00", p->edition);
	ok = balance(w, p->edition, &after) == 0;
	check(ok && before - after == 100, name, "before %lld, after %lld %s", before, after,
	      ok ? "" : w->last_error);
}

/* --- enterprise ----------------------------------------------------------- */

static json_t *pending_ids(wd *w)
{
	return wd_js(w, "return Array.prototype.map.call(document.querySelectorAll('li.c-approval'),"
			"function (e) { return e.getAttribute('data-payment'); });");
}

static int switch_to_enterprise(wd *w, const char *edition)
{
	char prefix[96];
	if (wd_click(w, "button[name=identity][value^=enterprise]") < 0)
		return -1;
	snprintf(prefix, sizeof prefix, "/%s/", edition);
	return wait_path(w, prefix, 10);
}

static void approval_test(wd *w)
{
	int ok = login(w, "zhangwei", "mass") == 0 && switch_to_enterprise(w, "enterprise-boss") == 0;
	check(ok, "enterprise-boss: zhangwei switches to the enterprise identity", "%s", w->last_error);
	if (!ok)
		return;
	home_screenshot(w, "enterprise-boss", NULL);
	crawl_test(w, "enterprise-boss");
	if (wd_go(w, "/enterprise-boss/cockpit") == 0)
		shot(w, "enterprise-boss", "cockpit");
	if (wd_go(w, "/enterprise-boss/calendar") == 0)
		shot(w, "enterprise-boss", "calendar");
	ok = wd_go(w, "/enterprise-boss/approvals") == 0;
	if (ok)
		shot(w, "enterprise-boss", "approvals");
	json_t *ids = ok ? pending_ids(w) : NULL;
	const char *first = json_string_value(json_array_get(ids, 0));
	check(first != NULL, "enterprise-boss: approvals list payments", "%s", w->last_error);
	if (!first) {
		json_decref(ids);
		return;
	}
	char css[160];
	snprintf(css, sizeof css, "li.c-approval[data-payment='%s'] form.c-decision-approve button[type=submit]", first);
	ok = wd_click(w, css) == 0;
	char *text = ok ? confirm_and_read(w, "enterprise-boss-approval") : NULL;
	char *err = page_error(w);
	check(text && !*err, "enterprise-boss: approve and confirm", "%s %s", err, w->last_error);
	free(text);
	free(err);
	json_t *left = wd_go(w, "/enterprise-boss/approvals") == 0 ? pending_ids(w) : NULL;
	int still = 0;
	size_t i;
	json_t *v;
	json_array_foreach(left, i, v)
		still |= json_string_value(v) && strcmp(json_string_value(v), first) == 0;
	check(left && !still && json_array_size(left) + 1 == json_array_size(ids),
	      "enterprise-boss: the approved payment left the list", "payment %s, %zu before, %zu after",
	      first, json_array_size(ids), json_array_size(left));
	json_decref(ids);
	json_decref(left);
}

static void standard_test(wd *w)
{
	int ok = login(w, "liuqiang", "mass") == 0 && switch_to_enterprise(w, "enterprise-standard") == 0;
	check(ok, "enterprise-standard: liuqiang switches to the enterprise identity", "%s", w->last_error);
	if (ok) {
		home_screenshot(w, "enterprise-standard", NULL);
		crawl_test(w, "enterprise-standard");
	}
}

/* --- driver --------------------------------------------------------------- */

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
	socklen_t len = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		fprintf(stderr, "webdriver: cannot find a free port: %s\n", strerror(errno));
		return 1;
	}
	printf("%d\n", ntohs(a.sin_port));
	close(fd);
	return 0;
}

static int wait_ready(const char *url, int seconds)
{
	CURL *c = curl_easy_init();
	buf sink = { NULL, 0 };
	for (int i = 0; i < seconds * 10; i++) {
		long status = 0;
		curl_easy_reset(c);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 2L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
		CURLcode rc = curl_easy_perform(c);
		free(sink.p);
		sink.p = NULL;
		sink.n = 0;
		if (rc == CURLE_OK &&
		    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200) {
			curl_easy_cleanup(c);
			return 0;
		}
		usleep(100000);
	}
	curl_easy_cleanup(c);
	fprintf(stderr, "webdriver: '%s' did not answer within %d s\n", url, seconds);
	return 1;
}

static int run_tests(wd *w, const char *profile)
{
	if (wd_open(w, profile) < 0) {
		check(0, "start chromium through chromedriver", "%s", w->last_error);
		return 1;
	}
	double mass_px = 0, care_px = 0;
	if (wd_go(w, "/") == 0)
		shot(w, "index", "page");
	if (wd_go(w, "/login") == 0)
		shot(w, "login", "page");
	for (size_t i = 0; i < sizeof personal / sizeof personal[0]; i++) {
		double *px = !strcmp(personal[i].edition, "mass") ? &mass_px
			   : !strcmp(personal[i].edition, "care") ? &care_px : NULL;
		transfer_test(w, &personal[i], px);
	}
	check(mass_px > 0 && care_px >= 1.3 * mass_px, "care: body text at least 1.3x mass",
	      "care %.2fpx, mass %.2fpx", care_px, mass_px);
	approval_test(w);
	standard_test(w);
	wd_close(w);
	return 0;
}

int main(int argc, char **argv)
{
	wd w = { 0 };
	const char *profile = "/tmp/webdriver-profile";
	if (argc == 2 && !strcmp(argv[1], "--free-port"))
		return free_port();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (argc >= 3 && !strcmp(argv[1], "--wait"))
		return wait_ready(argv[2], argc > 3 ? atoi(argv[3]) : 20);
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--driver"))
			w.driver = argv[i + 1];
		else if (!strcmp(argv[i], "--base"))
			w.base = argv[i + 1];
		else if (!strcmp(argv[i], "--artifacts"))
			w.artifacts = argv[i + 1];
		else if (!strcmp(argv[i], "--profile"))
			profile = argv[i + 1];
	}
	if (!w.driver || !w.base || !w.artifacts || sodium_init() < 0) {
		fprintf(stderr, "usage: webdriver --driver URL --base URL --artifacts DIR [--profile DIR]\n"
				"       webdriver --free-port | --wait URL [SECONDS]\n");
		return 2;
	}
	w.curl = curl_easy_init();
	run_tests(&w, profile);
	curl_easy_cleanup(w.curl);
	curl_global_cleanup();
	printf("%d passed, %d failed\n", n_passed, n_failed);
	return n_failed ? 1 : 0;
}
