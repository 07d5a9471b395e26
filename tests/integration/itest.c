/*
 * itest: talks real HTTP to a running editiond (libcurl for ordinary
 * requests, raw sockets for the shapes a normal client never sends).
 *
 *   itest PORT            runs every check, prints "ok NAME" / "FAIL NAME: why"
 *                         and a last line "N passed, N failed"
 *   itest inflight PORT PID
 *                         starts a request, sends SIGTERM to PID while it is in
 *                         flight, finishes it and checks that it was answered
 *
 * The server must run with --request-timeout 2 and --max-body 65536 (run.sh).
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int port;
static int n_pass, n_fail;
static char base[64];

static void check(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		n_pass++;
		printf("ok %s\n", name);
		return;
	}
	n_fail++;
	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* --- libcurl client ------------------------------------------------------------ */

typedef struct resp {
	long status;
	char *body;
	size_t len;
	char *headers;
	size_t hlen;
} resp;

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
	char **buf = ((char **)ud);
	size_t *len = (size_t *)(((char **)ud) + 1);
	*buf = realloc(*buf, *len + sz * n + 1);
	memcpy(*buf + *len, p, sz * n);
	*len += sz * n;
	(*buf)[*len] = '\0';
	return sz * n;
}

typedef struct client {
	CURL *c;
} client;

static client *client_new(void)
{
	client *cl = calloc(1, sizeof *cl);
	cl->c = curl_easy_init();
	curl_easy_setopt(cl->c, CURLOPT_COOKIEFILE, "");     /* cookie engine on */
	return cl;
}

static void client_free(client *cl)
{
	curl_easy_cleanup(cl->c);
	free(cl);
}

static void resp_free(resp *r)
{
	free(r->body);
	free(r->headers);
	memset(r, 0, sizeof *r);
}

/* method "GET"/"POST"; body NULL for none; extra headers NULL-terminated. */
static resp request(client *cl, const char *method, const char *path, const char *ctype,
		    const char *body, const char **extra)
{
	resp r = { 0 };
	struct { char *buf; size_t len; } b = { NULL, 0 }, h = { NULL, 0 };
	struct curl_slist *hl = NULL;
	char url[512];
	CURL *c = cl->c;

	snprintf(url, sizeof url, "%s%s", base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, NULL);
	if (strcmp(method, "GET") && strcmp(method, "POST"))
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (!strcmp(method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
	}
	if (ctype) {
		char line[128];
		snprintf(line, sizeof line, "Content-Type: %s", ctype);
		hl = curl_slist_append(hl, line);
	}
	for (int i = 0; extra && extra[i]; i++)
		hl = curl_slist_append(hl, extra[i]);
	if (extra && extra[0] && !strcmp(extra[0], "Accept-Encoding: gzip"))
		curl_easy_setopt(c, CURLOPT_HTTP_CONTENT_DECODING, 0L);
	else
		curl_easy_setopt(c, CURLOPT_HTTP_CONTENT_DECODING, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hl);
	r.body = b.buf ? b.buf : strdup("");
	r.len = b.len;
	r.headers = h.buf ? h.buf : strdup("");
	r.hlen = h.len;
	return r;
}

static resp get(client *cl, const char *path)
{
	return request(cl, "GET", path, NULL, NULL, NULL);
}

static resp post_form(client *cl, const char *path, const char *body)
{
	return request(cl, "POST", path, "application/x-www-form-urlencoded", body, NULL);
}

/* The value of a response header (case-insensitive name), copied into out. */
static int header(const resp *r, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);

	for (const char *p = r->headers; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1;
			v += strspn(v, " ");
			size_t len = strcspn(v, "\r\n");
			snprintf(out, n, "%.*s", (int)len, v);
			return 1;
		}
	}
	return 0;
}

/* value="..." of the input named name in html. */
static int form_value(const char *html, const char *name, char *out, size_t n)
{
	char pat[96];
	const char *p, *v;

	snprintf(pat, sizeof pat, "name=\"%s\"", name);
	if (!(p = strstr(html, pat)) || !(v = strstr(p, "value=\"")))
		return 0;
	v += 7;
	snprintf(out, n, "%.*s", (int)strcspn(v, "\""), v);
	return 1;
}

/* --- raw sockets ---------------------------------------------------------------- */

static int raw_connect(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = { 5, 0 };

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	return fd;
}

/* Sends data, reads until the server closes or 5 s pass; returns what came (malloc'd). */
static char *raw_exchange(const char *data, size_t len)
{
	int fd = raw_connect();
	size_t cap = 65536, got = 0;
	char *out = calloc(1, cap + 1);
	ssize_t n;

	if (fd < 0)
		return out;
	for (size_t off = 0; off < len; off += (size_t)n) {
		n = send(fd, data + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
	}
	while (got < cap && (n = recv(fd, out + got, cap - got, 0)) > 0)
		got += (size_t)n;
	close(fd);
	return out;
}

static void expect_status_line(const char *name, const char *request, const char *want)
{
	char *out = raw_exchange(request, strlen(request));
	check(!strncmp(out, want, strlen(want)), name, "got '%.40s'", out);
	free(out);
}

/* --- checks ------------------------------------------------------------------------ */

static void t_health(void)
{
	client *cl = client_new();
	resp r = get(cl, "/healthz");
	char v[256];

	check(r.status == 200 && !strcmp(r.body, "ok\n"), "healthz", "status %ld", r.status);
	check(header(&r, "X-Request-Id", v, sizeof v) && strlen(v) == 16 && strspn(v, "0123456789abcdef") == 16,
	      "request id header", "'%s'", v);
	check(header(&r, "Content-Security-Policy", v, sizeof v) && !strstr(v, "unsafe-inline"),
	      "csp without inline script", "'%s'", v);
	check(header(&r, "X-Frame-Options", v, sizeof v) && !strcmp(v, "DENY"), "x-frame-options", "'%s'", v);
	check(header(&r, "X-Content-Type-Options", v, sizeof v) && !strcmp(v, "nosniff"), "nosniff", "'%s'", v);
	check(header(&r, "Referrer-Policy", v, sizeof v), "referrer-policy", "absent");
	resp_free(&r);
	r = get(cl, "/readyz");
	json_t *j = json_loads(r.body, 0, NULL);
	check(r.status == 200 && json_is_true(json_object_get(j, "ready")) &&
	      json_array_size(json_object_get(j, "editions")) == 6, "readyz", "%ld %s", r.status, r.body);
	json_decref(j);
	resp_free(&r);
	r = get(cl, "/nowhere/at/all");
	check(r.status == 404, "unknown path 404", "%ld", r.status);
	resp_free(&r);
	r = get(cl, "/mass/no-such-page");
	check(r.status == 404, "unknown edition page 404", "%ld", r.status);
	resp_free(&r);
	r = get(cl, "/static/app.css");
	check(r.status == 200 && r.len > 100, "base css", "%ld", r.status);
	resp_free(&r);
	r = get(cl, "/care/theme.css");
	check(r.status == 200 && strstr(r.body, "--"), "edition theme css", "%ld", r.status);
	resp_free(&r);
	client_free(cl);
}

/* Two requests on one connection: the first answer must not close it (0.9.75's first-call trap). */
static void t_keep_alive(void)
{
	const char *req = "GET /api/v1/mass/screens/home HTTP/1.1\r\nHost: a\r\n\r\n";
	int fd = raw_connect(), answers = 0;
	char buf[65536];

	for (int i = 0; fd >= 0 && i < 2; i++) {
		size_t got = 0;
		ssize_t n;
		send(fd, req, strlen(req), MSG_NOSIGNAL);
		while (got < sizeof buf - 1 && (n = recv(fd, buf + got, sizeof buf - 1 - got, 0)) > 0) {
			got += (size_t)n;
			buf[got] = '\0';
			char *end = strstr(buf, "\r\n\r\n"), *cl = strcasestr(buf, "Content-Length:");
			if (end && cl && got >= (size_t)(end + 4 - buf) + strtoul(cl + 15, NULL, 10))
				break;
		}
		buf[got] = '\0';
		if (!strncmp(buf, "HTTP/1.1 200", 12) && !strcasestr(buf, "Connection: close"))
			answers++;
	}
	check(answers == 2, "keep-alive: two answers on one connection", "%d", answers);
	if (fd >= 0)
		close(fd);
}

static void t_smuggling(void)
{
	expect_status_line("two equal content-length -> 400",
		"POST /login HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 400");
	expect_status_line("two different content-length -> 400",
		"POST /login HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde",
		"HTTP/1.1 400");
	expect_status_line("content-length with transfer-encoding -> 400",
		"POST /login HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 400");
	expect_status_line("transfer-encoding other than chunked -> 400",
		"POST /login HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 400");
}

static void t_limits(void)
{
	size_t big = 100000;
	char *req = malloc(big + 256), *out;
	int n = sprintf(req, "GET / HTTP/1.1\r\nHost: a\r\nX-Filler: ");

	memset(req + n, 'a', big);
	strcpy(req + n + big, "\r\n\r\n");
	out = raw_exchange(req, strlen(req));
	check(strncmp(out, "HTTP/1.1 200", 12) != 0 && (!*out || !strncmp(out, "HTTP/1.1 431", 12)),
	      "oversized header refused", "got '%.40s'", out);
	free(out);
	n = sprintf(req, "POST /login HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\n"
		    "Content-Length: 70000\r\n\r\n");
	memset(req + n, 'a', 70000);
	out = raw_exchange(req, (size_t)n + 70000);
	check(!strncmp(out, "HTTP/1.1 413", 12), "oversized body -> 413", "got '%.40s'", out);
	free(out);
	free(req);
}

/* One header byte every 500 ms: the server must drop the connection well before we are done. */
static void t_trickle(void)
{
	const char *msg = "GET /healthz HTTP/1.1\r\nHost: a\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
	int fd = raw_connect(), cut = 0;
	size_t i;
	char buf[256];

	for (i = 0; fd >= 0 && msg[i]; i++) {
		struct timespec ts = { 0, 500000000 };
		if (send(fd, msg + i, 1, MSG_NOSIGNAL) != 1) {
			cut = 1;
			break;
		}
		nanosleep(&ts, NULL);
		ssize_t got = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			cut = 1;
			break;
		}
		if (got > 0 && !strncmp(buf, "HTTP/1.1 200", 12))
			break;
	}
	check(cut && msg[i], "trickling client disconnected before the end", "sent %zu of %zu bytes", i, strlen(msg));
	if (fd >= 0)
		close(fd);
}

/* Logs in through the form; returns the status of the POST. */
static long login(client *cl, const char *user, const char *password, char *location, size_t n)
{
	resp r = get(cl, "/login");
	char csrf[80] = "", body[256];
	long st;

	form_value(r.body, "_csrf", csrf, sizeof csrf);
	resp_free(&r);
	snprintf(body, sizeof body, "_csrf=%s&username=%s&password=%s", csrf, user, password);
	r = post_form(cl, "/login", body);
	st = r.status;
	if (location)
		if (!header(&r, "Location", location, n))
			location[0] = '\0';
	resp_free(&r);
	return st;
}

static void cookie_of(client *cl, char *out, size_t n)
{
	struct curl_slist *cookies = NULL;

	out[0] = '\0';
	curl_easy_getinfo(cl->c, CURLINFO_COOKIELIST, &cookies);
	for (struct curl_slist *c = cookies; c; c = c->next) {
		const char *p = strstr(c->data, "obe_session\t");
		if (p)
			snprintf(out, n, "%s", p + 12);
	}
	curl_slist_free_all(cookies);
}

static void t_login(void)
{
	client *cl = client_new();
	char loc[256], pre[80], post[80];
	resp r;

	r = get(cl, "/mass/accounts");
	check(r.status == 303 && header(&r, "Location", loc, sizeof loc) && strstr(loc, "/login?next="),
	      "anonymous page -> login", "%ld", r.status);
	resp_free(&r);
	check(login(cl, "chenjing", "wrong-password", NULL, 0) == 401, "bad password -> 401", "");
	r = get(cl, "/login");
	cookie_of(cl, pre, sizeof pre);
	resp_free(&r);
	check(login(cl, "chenjing", "demo1234", loc, sizeof loc) == 303 && !strcmp(loc, "/mass/home"),
	      "login -> 303 own home", "location '%s'", loc);
	cookie_of(cl, post, sizeof post);
	check(strlen(post) == 64 && strcmp(pre, post), "new session id at login", "'%s' vs '%s'", pre, post);
	client_free(cl);

	/* the pre-login token does not carry the login */
	client *other = client_new();
	char hdr[128];
	snprintf(hdr, sizeof hdr, "Cookie: obe_session=%s", pre);
	const char *extra[] = { hdr, NULL };
	r = request(other, "GET", "/mass/accounts", NULL, NULL, extra);
	check(r.status == 303, "pre-login session id is not logged in", "%ld", r.status);
	resp_free(&r);
	client_free(other);
}

static void t_lockout(void)
{
	client *cl = client_new();
	resp r;
	long st;

	for (int i = 0; i < 5; i++)
		login(cl, "john", "nope", NULL, 0);
	st = login(cl, "john", "demo1234", NULL, 0);
	check(st == 429, "locked after 5 failures, even with the right password", "%ld", st);
	r = request(cl, "POST", "/api/v1/login", "application/json",
		    "{\"username\":\"john\",\"password\":\"demo1234\"}", NULL);
	check(r.status == 429, "api login locked too", "%ld", r.status);
	resp_free(&r);
	client_free(cl);
}

/* An operator of the enterprise gets enterprise-standard, never the boss's edition. */
static void t_operator(void)
{
	client *cl = client_new();
	char loc[256] = "", csrf[80] = "", body[200];
	resp r;

	login(cl, "liuqiang", "demo1234", NULL, 0);
	r = get(cl, "/mass/home");
	form_value(r.body, "_csrf", csrf, sizeof csrf);
	resp_free(&r);
	snprintf(body, sizeof body, "_csrf=%s&identity=enterprise:1", csrf);
	r = post_form(cl, "/switch", body);
	check(r.status == 303 && header(&r, "Location", loc, sizeof loc) && !strncmp(loc, "/enterprise-standard/", 21),
	      "operator -> enterprise-standard", "%ld '%s'", r.status, loc);
	resp_free(&r);
	r = get(cl, "/enterprise-boss/home");
	check(r.status == 303 && header(&r, "Location", loc, sizeof loc) && !strncmp(loc, "/enterprise-standard/", 21),
	      "boss edition refused to an operator", "%ld '%s'", r.status, loc);
	resp_free(&r);
	snprintf(body, sizeof body, "_csrf=%s&identity=enterprise:99", csrf);
	r = post_form(cl, "/switch", body);
	check(r.status == 400, "switch to an enterprise not bound -> 400", "%ld", r.status);
	resp_free(&r);
	client_free(cl);
}

static void t_edition_follows_customer(void)
{
	client *cl = client_new();
	char loc[256], csrf[80] = "";
	resp r;

	login(cl, "zhangwei", "demo1234", NULL, 0);
	r = get(cl, "/care/accounts");
	check(r.status == 303 && header(&r, "Location", loc, sizeof loc) && !strcmp(loc, "/mass/accounts"),
	      "other edition -> own edition's same page", "%ld '%s'", r.status, loc);
	resp_free(&r);
	r = get(cl, "/mass/home");
	check(r.status == 200, "own home 200", "%ld", r.status);
	form_value(r.body, "_csrf", csrf, sizeof csrf);
	resp_free(&r);
	char body[200];
	snprintf(body, sizeof body, "_csrf=%s&identity=enterprise:1", csrf);
	r = post_form(cl, "/switch", body);
	check(r.status == 303 && header(&r, "Location", loc, sizeof loc) && !strncmp(loc, "/enterprise-boss/", 17),
	      "switch to the enterprise -> enterprise-boss", "%ld '%s'", r.status, loc);
	resp_free(&r);
	r = get(cl, "/enterprise-boss/home");
	check(r.status == 200, "enterprise-boss home after switching", "%ld", r.status);
	resp_free(&r);
	r = get(cl, "/mass/home");
	check(r.status == 303, "personal page after switching -> redirect", "%ld", r.status);
	resp_free(&r);
	r = request(cl, "DELETE", "/mass/home", NULL, NULL, NULL);
	check(r.status == 405, "unsupported method -> 405", "%ld", r.status);
	resp_free(&r);
	r = post_form(cl, "/switch", "identity=personal");
	check(r.status == 403, "switch without csrf -> 403", "%ld", r.status);
	resp_free(&r);
	r = get(cl, "/login");
	check(r.status == 303, "login page when logged in -> on", "%ld", r.status);
	resp_free(&r);
	r = post_form(cl, "/logout", "x=1");
	check(r.status == 403, "logout without csrf -> 403", "%ld", r.status);
	resp_free(&r);
	snprintf(body, sizeof body, "_csrf=%s", csrf);
	r = post_form(cl, "/logout", body);
	check(r.status == 303 && header(&r, "Location", loc, sizeof loc) && !strcmp(loc, "/login"),
	      "logout -> login page", "%ld", r.status);
	resp_free(&r);
	r = get(cl, "/enterprise-boss/home");
	check(r.status == 303 && header(&r, "Location", loc, sizeof loc) && strstr(loc, "/login?next="),
	      "logged out: pages need login again", "%ld '%s'", r.status, loc);
	resp_free(&r);
	client_free(cl);
}

/* Balance of account id (0: the first account) of the logged-in client through the API; -1 on failure. */
static long long balance(client *cl, const char *edition, long long *id)
{
	char path[128];
	resp r;
	json_t *j, *accts, *a;
	long long bal = -1;

	snprintf(path, sizeof path, "/api/v1/%s/data/accounts", edition);
	r = get(cl, path);
	j = json_loads(r.body, 0, NULL);
	accts = json_object_get(j, "accounts");
	for (size_t i = 0; i < json_array_size(accts); i++) {
		a = json_array_get(accts, i);
		json_t *aid = json_object_get(a, "id");
		long long v = json_is_integer(aid) ? json_integer_value(aid)
			: json_is_string(aid) ? atoll(json_string_value(aid)) : 0;
		if (*id == 0 || v == *id) {
			*id = v;
			bal = json_integer_value(json_object_get(a, "balance"));
			break;
		}
	}
	json_decref(j);
	resp_free(&r);
	return bal;
}

static void t_transfer(void)
{
	client *cl = client_new(), *cj = client_new();
	long long from = 0, to = 0, before, after, to_before, to_after;
	char csrf[80] = "", idem[80] = "", body[600], loc[256] = "";
	resp r;

	login(cj, "chenjing", "demo1234", NULL, 0);
	to_before = balance(cj, "mass", &to);
	login(cl, "zhangwei", "demo1234", NULL, 0);
	before = balance(cl, "mass", &from);
	check(before > 0 && to_before >= 0, "balances through the api", "%lld %lld", before, to_before);

	r = post_form(cl, "/mass/transfer/submit", "from=1&to_account=6229092222111100018&to_name=x&amount=1.00");
	check(r.status == 403, "transfer without csrf -> 403", "%ld", r.status);
	resp_free(&r);

	r = get(cl, "/mass/transfer");
	form_value(r.body, "_csrf", csrf, sizeof csrf);
	form_value(r.body, "_idem", idem, sizeof idem);
	check(r.status == 200 && *csrf && *idem, "transfer form", "%ld", r.status);
	resp_free(&r);
	snprintf(body, sizeof body, "_csrf=%s&_idem=%s&from=%lld&to_account=6229092222111100018"
		 "&to_name=%%E9%%99%%88%%E9%%9D%%99&to_bank=own&amount=100.00&memo=test", csrf, idem, from);
	r = post_form(cl, "/mass/transfer/submit", body);
	check(r.status == 200 && strstr(r.body, "_confirm"), "step-up answers a confirmation page", "%ld", r.status);
	resp_free(&r);
	check(balance(cl, "mass", &from) == before, "no money moved before confirming", "");

	strcat(body, "&_confirm=1");
	r = post_form(cl, "/mass/transfer/submit", body);
	check(r.status == 303 && header(&r, "Location", loc, sizeof loc) && !strcmp(loc, "/mass/transfer/result"),
	      "confirmed transfer -> 303 result", "%ld '%s' %.200s", r.status, loc, r.body);
	resp_free(&r);
	r = get(cl, "/mass/transfer/result");
	check(r.status == 200 && strstr(r.body, "100.00"), "result page shows the flash", "%ld", r.status);
	resp_free(&r);
	r = get(cl, "/mass/transfer/result");
	check(r.status == 200 && !strstr(r.body, "100.00"), "the flash is shown once", "%ld", r.status);
	resp_free(&r);
	after = balance(cl, "mass", &from);
	check(after == before - 10000, "balance moved by 100.00 exactly", "%lld -> %lld", before, after);

	r = post_form(cl, "/mass/transfer/submit", body);        /* the same form again */
	resp_free(&r);
	check(balance(cl, "mass", &from) == after, "a resubmitted form moves money once", "");
	to_after = balance(cj, "mass", &to);
	check(to_after == to_before + 10000, "the payee received it", "%lld -> %lld", to_before, to_after);

	/* chenjing's account as the source, from zhangwei's session */
	snprintf(body, sizeof body, "{\"from\":\"%lld\",\"to_account\":\"6229091234567800011\",\"to_name\":\"x\","
		 "\"to_bank\":\"own\",\"amount\":\"5.00\",\"_confirm\":true}", to);
	r = request(cl, "POST", "/api/v1/mass/flows/transfer", "application/json", body,
		    (const char *[]){ "X-CSRF-Token: none", NULL });
	long st_cookie_nocsrf = r.status;
	resp_free(&r);
	check(st_cookie_nocsrf == 403, "api with cookie but no csrf header -> 403", "%ld", st_cookie_nocsrf);

	r = request(cl, "POST", "/api/v1/login", "application/json",
		    "{\"username\":\"zhangwei\",\"password\":\"demo1234\"}", NULL);
	json_t *j = json_loads(r.body, 0, NULL);
	char auth[200];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", json_string_value(json_object_get(j, "token")) ?: "");
	check(r.status == 200 && json_string_value(json_object_get(j, "token")), "api login returns a token", "%ld", r.status);
	json_decref(j);
	resp_free(&r);
	client *nat = client_new();
	const char *hb[] = { auth, NULL };
	r = request(nat, "POST", "/api/v1/mass/flows/transfer", "application/json", body,
		    (const char *[]){ auth, "Idempotency-Key: k-other-account", NULL });
	check((r.status == 403 || r.status == 400 || r.status == 422) && !strstr(r.body, "Idempotency"),
	      "another customer's account refused", "%ld %s", r.status, r.body);
	resp_free(&r);
	check(balance(cj, "mass", &to) == to_after, "the other customer's balance is untouched", "");

	snprintf(body, sizeof body, "{\"from\":\"%lld\",\"to_account\":\"6229092222111100018\",\"to_name\":\"x\","
		 "\"to_bank\":\"own\",\"amount\":\"1.00\"}", from);
	r = request(nat, "POST", "/api/v1/mass/flows/transfer", "application/json", body, hb);
	check(r.status == 428, "api money flow without _confirm -> 428", "%ld", r.status);
	resp_free(&r);
	r = request(nat, "POST", "/api/v1/mass/flows/transfer", "application/json",
		    "{\"to_account\":\"1\",\"to_name\":\"x\",\"amount\":\"1.00\",\"_confirm\":true}",
		    (const char *[]){ auth, "Idempotency-Key: k-missing-field", NULL });
	check(r.status == 400 && strstr(r.body, "from"), "api missing field -> 400 naming it", "%ld %s", r.status, r.body);
	resp_free(&r);
	r = request(nat, "POST", "/api/v1/mass/flows/transfer", "application/json", "{not json", hb);
	check(r.status == 400, "api bad json -> 400", "%ld", r.status);
	resp_free(&r);
	/* through the API: a retried request with the same key moves money once */
	{
		long long f0 = balance(cl, "mass", &from);
		char key[64];
		const char *hk[] = { auth, key, NULL };
		snprintf(key, sizeof key, "Idempotency-Key: it-%ld", (long)getpid());
		snprintf(body, sizeof body, "{\"from\":\"%lld\",\"to_account\":\"6229092222111100018\","
			 "\"to_name\":\"x\",\"to_bank\":\"own\",\"amount\":\"2.50\",\"_confirm\":true}", from);
		resp a = request(nat, "POST", "/api/v1/mass/flows/transfer", "application/json", body, hk);
		resp b = request(nat, "POST", "/api/v1/mass/flows/transfer", "application/json", body, hk);
		json_t *ja = json_loads(a.body, 0, NULL), *jb = json_loads(b.body, 0, NULL);
		const char *ta = json_string_value(json_object_get(ja, "transfer_id"));
		const char *tb = json_string_value(json_object_get(jb, "transfer_id"));
		check(a.status == 200 && b.status == 200 && ta && tb && !strcmp(ta, tb),
		      "api transfer retried with its key answers the same transfer", "%ld %ld %s", a.status, b.status, a.body);
		check(balance(cl, "mass", &from) == f0 - 250, "api transfer moved money once", "");
		json_decref(ja);
		json_decref(jb);
		resp_free(&a);
		resp_free(&b);
		a = request(nat, "POST", "/api/v1/mass/flows/transfer", "application/json", body, hb);
		check(a.status == 400 && strstr(a.body, "Idempotency-Key"), "api money flow without a key -> 400",
		      "%ld %s", a.status, a.body);
		resp_free(&a);
	}
	r = request(nat, "POST", "/api/v1/switch", "application/json", "{\"identity\":\"enterprise:1\"}", hb);
	check(r.status == 200 && strstr(r.body, "\"edition\":\"enterprise-boss\""), "api switch identity",
	      "%ld %s", r.status, r.body);
	resp_free(&r);
	r = request(nat, "GET", "/api/v1/enterprise-boss/data/cockpit", NULL, NULL, hb);
	check(r.status == 200 && strstr(r.body, "cash"), "api cockpit data for the boss", "%ld %.200s", r.status, r.body);
	resp_free(&r);
	r = request(nat, "GET", "/api/v1/mass/data/accounts", NULL, NULL, hb);
	check(r.status == 403 && strstr(r.body, "wrong_edition"), "api other edition's data -> 403", "%ld", r.status);
	resp_free(&r);
	r = request(nat, "POST", "/api/v1/logout", "application/json", "{}", hb);
	check(r.status == 200, "api logout", "%ld", r.status);
	resp_free(&r);
	r = request(nat, "GET", "/api/v1/enterprise-boss/data/cockpit", NULL, NULL, hb);
	check(r.status == 401, "token dead after logout", "%ld", r.status);
	resp_free(&r);
	client_free(nat);
	client_free(cl);
	client_free(cj);
}

static void t_api_screens(void)
{
	client *cl = client_new();
	char etag[80] = "", v[128], inm[120];
	resp r = get(cl, "/api/v1/mass/screens/home"), r2, rz;
	json_t *j = json_loads(r.body, 0, NULL);

	check(r.status == 200 && json_is_object(j) && header(&r, "ETag", etag, sizeof etag) && etag[0] == '"',
	      "api screen json with etag", "%ld", r.status);
	json_decref(j);
	snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
	r2 = request(cl, "GET", "/api/v1/mass/screens/home", NULL, NULL, (const char *[]){ inm, NULL });
	check(r2.status == 304 && r2.len == 0, "if-none-match -> 304", "%ld", r2.status);
	resp_free(&r2);
	rz = request(cl, "GET", "/api/v1/mass/screens/home", NULL, NULL,
		     (const char *[]){ "Accept-Encoding: gzip", NULL });
	check(rz.status == 200 && header(&rz, "Content-Encoding", v, sizeof v) && !strcmp(v, "gzip") &&
	      rz.len > 2 && (unsigned char)rz.body[0] == 0x1f && (unsigned char)rz.body[1] == 0x8b,
	      "gzip body from the pack", "%ld", rz.status);
	check(header(&rz, "Vary", v, sizeof v) && strstr(v, "Accept-Encoding"), "vary accept-encoding", "");
	resp_free(&rz);
	curl_easy_setopt(cl->c, CURLOPT_ACCEPT_ENCODING, "gzip");
	rz = request(cl, "GET", "/api/v1/mass/screens/home", NULL, NULL, NULL);
	resp_free(&rz);
	r2 = get(cl, "/api/v1/mass/screens/nope");
	check(r2.status == 404, "api unknown screen 404", "%ld", r2.status);
	resp_free(&r2);
	r2 = get(cl, "/api/v1/mass/data/accounts");
	check(r2.status == 401, "api data needs login", "%ld", r2.status);
	resp_free(&r2);
	resp_free(&r);
	client_free(cl);
}

static void t_metrics(void)
{
	client *cl = client_new();
	resp r = get(cl, "/metrics");

	check(r.status == 200 && strstr(r.body, "requests_total{") && strstr(r.body, "request_duration_seconds_bucket") &&
	      strstr(r.body, "\nrequests_in_flight ") &&
	      strstr(r.body, "packs_loaded 6") && strstr(r.body, "sessions_active") &&
	      strstr(r.body, "route=\"api.screens\""), "metrics counters", "%.300s", r.body);
	resp_free(&r);
	client_free(cl);
}

/* A request in flight when SIGTERM arrives is still answered. */
static int inflight(pid_t pid)
{
	const char *body = "{\"username\":\"nobody\",\"password\":\"xxxxxxxx\"}";
	char head[256];
	snprintf(head, sizeof head, "POST /api/v1/login HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n", strlen(body));
	int fd = raw_connect();
	char out[4096] = "";
	size_t got = 0;
	ssize_t n;
	struct timespec ts = { 0, 300000000 };

	if (fd < 0)
		return 1;
	send(fd, head, strlen(head), MSG_NOSIGNAL);
	send(fd, body, 20, MSG_NOSIGNAL);
	/* wait until the server counts it (the scrape itself is the other one in flight) */
	snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
	for (int i = 0; i < 100; i++) {
		client *cl = client_new();
		resp r = get(cl, "/metrics");
		const char *g = strstr(r.body, "\nrequests_in_flight ");
		int busy = g && atoi(g + 20) >= 2;
		resp_free(&r);
		client_free(cl);
		if (busy)
			break;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGTERM);
	nanosleep(&ts, NULL);
	send(fd, body + 20, strlen(body) - 20, MSG_NOSIGNAL);
	while (got < sizeof out - 1 && (n = recv(fd, out + got, sizeof out - 1 - got, 0)) > 0)
		got += (size_t)n;
	close(fd);
	check(!strncmp(out, "HTTP/1.1 401", 12), "request in flight at SIGTERM is answered", "got '%.40s'", out);
	printf("%d passed, %d failed\n", n_pass, n_fail);
	return n_fail != 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "inflight")) {
		port = atoi(argv[2]);
		curl_global_init(CURL_GLOBAL_DEFAULT);
		return inflight((pid_t)atoi(argv[3]));
	}
	if (argc != 2) {
		fprintf(stderr, "usage: itest PORT | itest inflight PORT PID\n");
		return 2;
	}
	port = atoi(argv[1]);
	snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	t_health();
	t_keep_alive();
	t_smuggling();
	t_limits();
	t_trickle();
	t_login();
	t_operator();
	t_lockout();
	t_edition_follows_customer();
	t_transfer();
	t_api_screens();
	t_metrics();
	curl_global_cleanup();
	printf("%d passed, %d failed\n", n_pass, n_fail);
	return n_fail != 0;
}
