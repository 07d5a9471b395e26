/*
 * sec_http: the suite's plumbing. A libcurl client with its own cookie jar
 * (one per simulated customer or attacker), raw sockets for malformed
 * requests, the pass/fail bookkeeping, and the pack reader (compiler/pack.c)
 * that gives the flow specs and routes the attacks are generated from.
 */
#include "sec.h"

#include <arpa/inet.h>
#include <glob.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "../../compiler/pack.h"

int sec_port;
char sec_base[64];
static int n_pass, n_fail;

void sec_check(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		n_pass++;
		printf("PASS %s\n", name);
	} else {
		n_fail++;
		printf("FAIL %s: ", name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	fflush(stdout);
}

void sec_summary(void)
{
	printf("%d passed, %d failed\n", n_pass, n_fail);
}

int sec_failed(void)
{
	return n_fail;
}

/* --- libcurl ------------------------------------------------------------------------ */

typedef struct buf {
	char *p;
	size_t len;
} buf;

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
	buf *b = ud;
	char *np = realloc(b->p, b->len + sz * n + 1);

	if (!np)
		return 0;
	b->p = np;
	memcpy(b->p + b->len, p, sz * n);
	b->len += sz * n;
	b->p[b->len] = '\0';
	return sz * n;
}

sec_client *sec_client_new(void)
{
	sec_client *cl = calloc(1, sizeof *cl);

	cl->c = curl_easy_init();
	curl_easy_setopt(cl->c, CURLOPT_COOKIEFILE, "");
	curl_easy_setopt(cl->c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(cl->c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(cl->c, CURLOPT_HEADERFUNCTION, collect);
	return cl;
}

void sec_client_free(sec_client *cl)
{
	if (!cl)
		return;
	curl_easy_cleanup(cl->c);
	free(cl);
}

void sec_resp_free(sec_resp *r)
{
	free(r->body);
	free(r->headers);
	memset(r, 0, sizeof *r);
}

static struct curl_slist *request_headers(sec_client *cl, const char *ctype, const char **extra)
{
	struct curl_slist *hl = NULL;
	char line[160];

	if (ctype) {
		snprintf(line, sizeof line, "Content-Type: %s", ctype);
		hl = curl_slist_append(hl, line);
	}
	if (cl->bearer[0])
		hl = curl_slist_append(hl, cl->bearer);
	if (cl->send_csrf && cl->csrf[0]) {
		snprintf(line, sizeof line, "X-CSRF-Token: %s", cl->csrf);
		hl = curl_slist_append(hl, line);
	}
	for (int i = 0; extra && extra[i]; i++)
		hl = curl_slist_append(hl, extra[i]);
	hl = curl_slist_append(hl, "Expect:");
	return hl;
}

sec_resp sec_request(sec_client *cl, const char *method, const char *path, const char *ctype,
		     const char *body, size_t body_len, const char **extra)
{
	sec_resp r = { 0 };
	buf b = { 0 }, h = { 0 };
	struct curl_slist *hl = request_headers(cl, ctype, extra);
	char url[2048];
	CURL *c = cl->c;

	snprintf(url, sizeof url, "%s%s", sec_base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
	if (!strcmp(method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
	} else if (strcmp(method, "GET")) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hl);
	r.body = b.p ? b.p : strdup("");
	r.len = b.len;
	r.headers = h.p ? h.p : strdup("");
	return r;
}

sec_resp sec_get(sec_client *cl, const char *path)
{
	return sec_request(cl, "GET", path, NULL, NULL, 0, NULL);
}

sec_resp sec_post_form(sec_client *cl, const char *path, const char *body)
{
	return sec_request(cl, "POST", path, "application/x-www-form-urlencoded", body, strlen(body), NULL);
}

sec_resp sec_post_json(sec_client *cl, const char *path, const char *body, const char *idem_key)
{
	char key[160];
	const char *extra[] = { key, NULL };

	snprintf(key, sizeof key, "Idempotency-Key: %s", idem_key ? idem_key : "");
	return sec_request(cl, "POST", path, "application/json", body, strlen(body), idem_key ? extra : NULL);
}

int sec_header(const sec_resp *r, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);

	for (const char *p = r->headers; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1;
			v += strspn(v, " ");
			snprintf(out, n, "%.*s", (int)strcspn(v, "\r\n"), v);
			return 1;
		}
	}
	return 0;
}

int sec_form_value(const char *html, const char *name, char *out, size_t n)
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

void sec_cookie(sec_client *cl, char *out, size_t n)
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

void sec_urlencode(const char *s, char *out, size_t n)
{
	size_t o = 0;

	for (; *s && o + 4 < n; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    strchr("-_.~", ch))
			out[o++] = (char)ch;
		else
			o += (size_t)snprintf(out + o, n - o, "%%%02X", ch);
	}
	out[o] = '\0';
}

/* Form body from params (strings as they are, true as 1). */
void sec_form_body(json_t *params, const char *csrf, const char *idem, int confirm, char *out, size_t n)
{
	const char *k;
	json_t *v;
	char enc[3 * 1200];
	size_t o = (size_t)snprintf(out, n, "_csrf=%s&_idem=%s%s", csrf, idem, confirm ? "&_confirm=1" : "");

	json_object_foreach(params, k, v) {
		char val[1200];
		if (*k == '_')
			continue;
		if (json_is_string(v))
			snprintf(val, sizeof val, "%s", json_string_value(v));
		else if (json_is_integer(v))
			snprintf(val, sizeof val, "%lld", (long long)json_integer_value(v));
		else
			snprintf(val, sizeof val, "%s", json_is_true(v) ? "1" : "0");
		sec_urlencode(val, enc, sizeof enc);
		o += (size_t)snprintf(out + o, n > o ? n - o : 0, "&%s=%s", k, enc);
	}
}

int sec_fetch_csrf(sec_client *cl, const char *page)
{
	sec_resp r = sec_get(cl, page);
	int ok = sec_form_value(r.body, "_csrf", cl->csrf, sizeof cl->csrf);

	sec_resp_free(&r);
	return ok;
}

long sec_login_form(sec_client *cl, const char *user, const char *password)
{
	char body[512], u[160], p[160];
	sec_resp r;
	long st;

	sec_fetch_csrf(cl, "/login");
	sec_urlencode(user, u, sizeof u);
	sec_urlencode(password, p, sizeof p);
	snprintf(body, sizeof body, "_csrf=%s&username=%s&password=%s", cl->csrf, u, p);
	r = sec_post_form(cl, "/login", body);
	st = r.status;
	if (!sec_header(&r, "Location", cl->location, sizeof cl->location))
		cl->location[0] = '\0';
	sec_resp_free(&r);
	return st;
}

long sec_login_api(sec_client *cl, const char *user, const char *password)
{
	json_t *in = json_pack("{s:s, s:s}", "username", user, "password", password), *j;
	char *body = json_dumps(in, 0);
	sec_resp r = sec_post_json(cl, "/api/v1/login", body, NULL);
	long st = r.status;

	j = json_loads(r.body, 0, NULL);
	if (st == 200 && json_string_value(json_object_get(j, "token"))) {
		snprintf(cl->bearer, sizeof cl->bearer, "Authorization: Bearer %s",
			 json_string_value(json_object_get(j, "token")));
		snprintf(cl->csrf, sizeof cl->csrf, "%s", json_string_value(json_object_get(j, "csrf")) ?: "");
	}
	json_decref(j);
	json_decref(in);
	free(body);
	sec_resp_free(&r);
	return st;
}

sec_client *sec_identity(const char *user, const char *identity)
{
	sec_client *cl = sec_client_new();
	char body[200], loc[256] = "";
	sec_resp r;

	if (sec_login_form(cl, user, "demo1234") != 303 || !sec_fetch_csrf(cl, cl->location))
		goto fail;
	if (identity) {
		snprintf(body, sizeof body, "_csrf=%s&identity=%s", cl->csrf, identity);
		r = sec_post_form(cl, "/switch", body);
		sec_header(&r, "Location", loc, sizeof loc);
		sec_resp_free(&r);
		if (!*loc || !sec_fetch_csrf(cl, loc))
			goto fail;
	}
	cl->send_csrf = 1;
	return cl;
fail:
	fprintf(stderr, "cannot log in as '%s'%s%s\n", user, identity ? " as " : "", identity ? identity : "");
	sec_client_free(cl);
	return NULL;
}

/* --- raw sockets ---------------------------------------------------------------------- */

int sec_raw_connect(int timeout_s)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)sec_port) };
	struct timeval tv = { timeout_s, 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	return fd;
}

char *sec_raw_exchange(const char *data, size_t len, int timeout_s, size_t *got_out)
{
	size_t cap = 1 << 20, got = 0;
	char *out = calloc(1, cap + 1);
	int fd = sec_raw_connect(timeout_s);
	ssize_t n = 0;

	if (got_out)
		*got_out = 0;
	if (fd < 0)
		return out;
	for (size_t off = 0; off < len; off += (size_t)n) {
		n = send(fd, data + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
	}
	shutdown(fd, SHUT_WR);
	while (got < cap && (n = recv(fd, out + got, cap - got, 0)) > 0)
		got += (size_t)n;
	close(fd);
	if (got_out)
		*got_out = got;
	return out;
}

int sec_count_responses(const char *raw, size_t len)
{
	int n = 0;

	for (size_t i = 0; i + 7 <= len; i++)
		if (!memcmp(raw + i, "HTTP/1.", 7) && (i == 0 || raw[i - 1] == '\n'))
			n++;
	return n;
}

/* --- packs ------------------------------------------------------------------------------- */

static json_t *entry_json(const pack *p, int section)
{
	size_t len;
	const void *d = pack_get(p, section, "json", &len);

	return d ? json_loadb(d, len, 0, NULL) : NULL;
}

int sec_pack_json(const char *dir, const char *edition, json_t **flow_specs, json_t **routes,
		  json_t **products)
{
	char pattern[512], path[512];
	strbuf err = STRBUF_INIT;
	pack *p = NULL;
	glob_t g;

	snprintf(pattern, sizeof pattern, "%s/%s-[0-9]*.pack", dir, edition);
	if (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc != 1) {
		fprintf(stderr, "no single pack '%s'\n", pattern);
		return -1;
	}
	snprintf(path, sizeof path, "%s", g.gl_pathv[0]);
	globfree(&g);
	if (pack_open_file(path, NULL, &p, &err) < 0) {
		fprintf(stderr, "cannot open '%s': %s\n", path, err.buf);
		strbuf_release(&err);
		return -1;
	}
	strbuf_release(&err);
	*flow_specs = entry_json(p, PACK_FLOW_SPECS);
	*routes = entry_json(p, PACK_ROUTES);
	*products = entry_json(p, PACK_PRODUCTS);
	pack_free(p);
	return *flow_specs && *routes && *products ? 0 : -1;
}
