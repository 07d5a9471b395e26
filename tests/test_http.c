/*
 * http: the HTTP layer against a handler written here, over real loopback
 * sockets: refused framing (two lengths, length with chunked, folded or
 * malformed header lines, control bytes in values, a NUL decoded in the
 * path or query) never reaches the handler, the body cap answers
 * 413, keep-alive survives the first answer, form bodies go through MHD's
 * post processor, a trickling client is cut at the deadline, and a request
 * in flight is finished by a drain. The access log: one JSON line per
 * request whose id is the X-Request-Id sent, fields escaped whatever the
 * client sent, long lines whole; a header value is cut at CR or LF. Pack
 * bytes asked for again on one connection come back with the right body,
 * status and headers and a new X-Request-Id each time.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "http.h"
#include "log.h"

static atomic_int handled;

/* Bytes that outlive requests, as pack data does: answered borrowed under /pack/. */
static const char pack_a[] = "{\"screen\":\"a\"}", pack_b[] = "{\"screen\":\"bb\"}";

static void answer_borrowed(http_request *rq, http_response *rs)
{
	const char *which = http_path(rq) + 6;
	const char *tag = http_query(rq, "tag");

	rs->borrowed = which[0] == 'a' ? pack_a : pack_b;
	rs->borrowed_len = which[0] == 'a' ? sizeof pack_a - 1 : sizeof pack_b - 1;
	rs->content_type = "application/json";
	http_response_header(rs, "ETag", tag ? tag : "\"1\"");
	if (http_query(rq, "gone"))
		rs->status = 410;
}

static void handler(void *cls, http_request *rq, http_response *rs)
{
	size_t len;
	const char *body = http_body(rq, &len);

	atomic_fetch_add(&handled, 1);
	if (!strncmp(http_path(rq), "/pack/", 6)) {
		answer_borrowed(rq, rs);
		return;
	}
	if (!strcmp(http_path(rq), "/form")) {
		json_t *form = http_form(rq);
		char *text = form ? json_dumps(form, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		strbuf_adds(&rs->body, text ? text : "no form");
		free(text);
		json_decref(form);
		return;
	}
	strbuf_addf(&rs->body, "%s %s %zu", http_method(rq), http_path(rq), len);
	(void)body;
	snprintf(rs->route, sizeof rs->route, "echo");
}

static http_server *start(int deadline_ms)
{
	http_config cfg = { .host = "127.0.0.1", .port = 0, .workers = 2, .max_body = 100,
			    .deadline_ms = deadline_ms, .idle_timeout_s = 5 };
	http_server *s = NULL;
	strbuf err = STRBUF_INIT;

	log_open("/dev/null");
	ck_assert_msg(http_start(&cfg, handler, NULL, &s, &err) == 0, "%s", err.buf);
	strbuf_release(&err);
	atomic_store(&handled, 0);
	return s;
}

static int connect_to(http_server *s)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)http_port(s)) };
	struct timeval tv = { 5, 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	return fd;
}

/* Reads one response (headers + Content-Length body) or until close. */
static void read_response(int fd, strbuf *out)
{
	char buf[4096];
	ssize_t n;

	strbuf_reset(out);
	while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
		strbuf_add(out, buf, (size_t)n);
		char *end = strstr(out->buf, "\r\n\r\n"), *cl = strcasestr(out->buf, "Content-Length:");
		if (end && cl && out->len >= (size_t)(end + 4 - out->buf) + strtoul(cl + 15, NULL, 10))
			return;
	}
}

static void exchange(http_server *s, const char *req, strbuf *out)
{
	int fd = connect_to(s);

	ck_assert_int_eq(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	read_response(fd, out);
	close(fd);
}

START_TEST(test_refused_framing_never_reaches_handler)
{
	static const char *const bad[] = {
		"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab",
		"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nX-A: a\r\n Transfer-Encoding: chunked\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: a\r\nX-A: a\rContent-Length: 30\r\nContent-Length: 0\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length : 30\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: a\r\nX-B: one\x01two\r\n\r\n",
		"GET /x.css%00.txt HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /x?q=a%00b HTTP/1.1\r\nHost: a\r\n\r\n",
	};
	http_server *s = start(5000);
	strbuf out = STRBUF_INIT;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		exchange(s, bad[i], &out);
		ck_assert_msg(!strncmp(out.buf, "HTTP/1.1 400", 12), "case %zu: %.30s", i, out.buf);
	}
	ck_assert_int_eq(atomic_load(&handled), 0);
	exchange(s, "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n", &out);
	ck_assert_msg(strstr(out.buf, "POST /x 2") != NULL, "%s", out.buf);
	strbuf_release(&out);
	http_stop(s);
}
END_TEST

START_TEST(test_body_cap)
{
	http_server *s = start(5000);
	strbuf out = STRBUF_INIT, req = STRBUF_INIT;

	exchange(s, "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n", &out);
	ck_assert_msg(!strncmp(out.buf, "HTTP/1.1 413", 12), "%.30s", out.buf);
	strbuf_adds(&req, "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 3; i++)
		strbuf_adds(&req, "28\r\n0123456789012345678901234567890123456789\r\n");
	strbuf_adds(&req, "0\r\n\r\n");
	exchange(s, req.buf, &out);
	ck_assert_msg(!strncmp(out.buf, "HTTP/1.1 413", 12), "%.30s", out.buf);
	ck_assert_int_eq(atomic_load(&handled), 0);
	strbuf_release(&out);
	strbuf_release(&req);
	http_stop(s);
}
END_TEST

START_TEST(test_keep_alive_and_headers)
{
	http_server *s = start(5000);
	strbuf out = STRBUF_INIT;
	char id1[17] = "", id2[17] = "";
	int fd = connect_to(s);
	const char *req = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n";

	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
		read_response(fd, &out);
		ck_assert_msg(!strncmp(out.buf, "HTTP/1.1 200", 12), "%.30s", out.buf);
		ck_assert_ptr_null(strcasestr(out.buf, "Connection: close"));
		ck_assert_ptr_nonnull(strstr(out.buf, "X-Frame-Options: DENY"));
		ck_assert_ptr_nonnull(strstr(out.buf, "X-Content-Type-Options: nosniff"));
		ck_assert_ptr_nonnull(strstr(out.buf, "Content-Security-Policy: "));
		char *id = strstr(out.buf, "X-Request-Id: ");
		ck_assert_ptr_nonnull(id);
		memcpy(i ? id2 : id1, id + 14, 16);
	}
	ck_assert_uint_eq(strspn(id1, "0123456789abcdef"), 16);
	ck_assert_str_ne(id1, id2);
	close(fd);
	strbuf_release(&out);
	http_stop(s);
}
END_TEST

START_TEST(test_form_through_post_processor)
{
	http_server *s = start(5000);
	strbuf out = STRBUF_INIT;

	exchange(s, "POST /form HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\n"
		 "Content-Length: 28\r\n\r\na=1&name=%E5%BC%A0&b=x+y%26z", &out);
	ck_assert_msg(strstr(out.buf, "{\"a\":\"1\",\"b\":\"x y&z\",\"name\":\"\xe5\xbc\xa0\"}") != NULL, "%s", out.buf);
	exchange(s, "POST /form HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
		 "Content-Length: 2\r\n\r\n{}", &out);
	ck_assert_msg(strstr(out.buf, "no form") != NULL, "%s", out.buf);
	strbuf_release(&out);
	http_stop(s);
}
END_TEST

START_TEST(test_trickle_cut_at_deadline)
{
	http_server *s = start(300);
	const char *msg = "GET /a HTTP/1.1\r\nHost: a\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
	int fd = connect_to(s), cut = 0;
	size_t i;

	for (i = 0; msg[i] && !cut; i++) {
		struct timespec ts = { 0, 100000000 };
		char c;
		if (send(fd, msg + i, 1, MSG_NOSIGNAL) != 1)
			cut = 1;
		nanosleep(&ts, NULL);
		if (recv(fd, &c, 1, MSG_DONTWAIT) == 0)
			cut = 1;
	}
	ck_assert_msg(cut && msg[i], "sent %zu of %zu bytes without being cut", i, strlen(msg));
	ck_assert_int_eq(atomic_load(&handled), 0);
	close(fd);
	http_stop(s);
}
END_TEST

typedef struct drain_arg {
	http_server *s;
	int done;
} drain_arg;

static void *drain_thread(void *p)
{
	drain_arg *a = p;

	a->done = http_drain(a->s, 5000);
	return NULL;
}

START_TEST(test_drain_finishes_request_in_flight)
{
	http_server *s = start(5000);
	const char *head = "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nab";
	int fd = connect_to(s);
	struct timespec ts = { 0, 200000000 };
	drain_arg a = { s, -1 };
	pthread_t t;
	strbuf out = STRBUF_INIT;

	ck_assert_int_eq(send(fd, head, strlen(head), MSG_NOSIGNAL), (ssize_t)strlen(head));
	nanosleep(&ts, NULL);
	ck_assert_int_eq(http_in_flight(s), 1);
	pthread_create(&t, NULL, drain_thread, &a);
	nanosleep(&ts, NULL);
	ck_assert_int_eq(send(fd, "cd", 2, MSG_NOSIGNAL), 2);
	read_response(fd, &out);
	pthread_join(t, NULL);
	ck_assert_msg(strstr(out.buf, "POST /x 4") != NULL, "%s", out.buf);
	ck_assert_int_eq(a.done, 1);
	close(fd);
	strbuf_release(&out);
	http_stop(s);
}
END_TEST

START_TEST(test_port_taken)
{
	http_server *s = start(5000), *t = NULL;
	http_config cfg = { .host = "127.0.0.1", .port = http_port(s) };
	strbuf err = STRBUF_INIT;

	ck_assert_int_eq(http_start(&cfg, handler, NULL, &t, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, "cannot listen on '127.0.0.1:"));
	strbuf_reset(&err);
	cfg.host = "localhost";
	ck_assert_int_eq(http_start(&cfg, handler, NULL, &t, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, "bad listen address"));
	strbuf_release(&err);
	http_stop(s);
}
END_TEST

/* The value of header name in one response (copied into out), and how many times it occurs. */
static int header_of(const char *resp, const char *name, char *out, size_t n)
{
	int count = 0;
	size_t nl = strlen(name);
	const char *end = strstr(resp, "\r\n\r\n");

	for (const char *p = strstr(resp, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n")) {
		if (!strncasecmp(p + 2, name, nl) && p[2 + nl] == ':') {
			const char *v = p + 2 + nl + 2;
			size_t len = strcspn(v, "\r");
			snprintf(out, n, "%.*s", (int)len, v);
			count++;
		}
	}
	return count;
}

/* Sends req on fd and reads one answer into out; the body (after the head) is returned. */
static const char *ask(int fd, const char *req, strbuf *out)
{
	const char *end;

	ck_assert_int_eq(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	read_response(fd, out);
	end = strstr(out->buf, "\r\n\r\n");
	ck_assert_ptr_nonnull(end);
	return end + 4;
}

START_TEST(test_borrowed_answers_on_one_connection)
{
	static const struct { const char *path, *body, *status, *etag; } steps[] = {
		{ "/pack/a", "{\"screen\":\"a\"}", "HTTP/1.1 200", "\"1\"" },
		{ "/pack/a", "{\"screen\":\"a\"}", "HTTP/1.1 200", "\"1\"" },
		{ "/pack/b", "{\"screen\":\"bb\"}", "HTTP/1.1 200", "\"1\"" },
		{ "/pack/b?tag=%222%22", "{\"screen\":\"bb\"}", "HTTP/1.1 200", "\"2\"" },
		{ "/pack/b?tag=%222%22&gone=1", "{\"screen\":\"bb\"}", "HTTP/1.1 410", "\"2\"" },
		{ "/pack/a", "{\"screen\":\"a\"}", "HTTP/1.1 200", "\"1\"" },
		{ "/pack/a", "{\"screen\":\"a\"}", "HTTP/1.1 200", "\"1\"" },
	};
	http_server *s = start(5000);
	int fd = connect_to(s);
	strbuf out = STRBUF_INIT, req = STRBUF_INIT;
	char ids[sizeof steps / sizeof steps[0]][64], v[256];

	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		strbuf_reset(&req);
		strbuf_addf(&req, "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", steps[i].path);
		const char *body = ask(fd, req.buf, &out);
		ck_assert_msg(!strncmp(out.buf, steps[i].status, 12), "step %zu: %.30s", i, out.buf);
		ck_assert_str_eq(body, steps[i].body);
		ck_assert_int_eq(header_of(out.buf, "X-Request-Id", ids[i], sizeof ids[i]), 1);
		ck_assert_uint_eq(strlen(ids[i]), 16);
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(ids[i], ids[j]);
		ck_assert_int_eq(header_of(out.buf, "ETag", v, sizeof v), 1);
		ck_assert_str_eq(v, steps[i].etag);
		ck_assert_int_eq(header_of(out.buf, "Content-Type", v, sizeof v), 1);
		ck_assert_str_eq(v, "application/json");
		ck_assert_int_eq(header_of(out.buf, "X-Frame-Options", v, sizeof v), 1);
		ck_assert_int_eq(header_of(out.buf, "Content-Security-Policy", v, sizeof v), 1);
		ck_assert_int_eq(header_of(out.buf, "Connection", v, sizeof v), 0);   /* kept alive */
	}
	strbuf_reset(&req);
	strbuf_adds(&req, "HEAD /pack/a HTTP/1.1\r\nHost: a\r\n\r\n");
	ck_assert_int_eq(send(fd, req.buf, req.len, MSG_NOSIGNAL), (ssize_t)req.len);
	strbuf_reset(&out);
	char buf[4096];
	ssize_t n;
	while (!strstr(out.buf, "\r\n\r\n") && (n = recv(fd, buf, sizeof buf, 0)) > 0)
		strbuf_add(&out, buf, (size_t)n);
	ck_assert_msg(!strncmp(out.buf, "HTTP/1.1 200", 12), "%.30s", out.buf);
	ck_assert_str_eq(strstr(out.buf, "\r\n\r\n") + 4, "");   /* no body after a HEAD */
	ck_assert_int_eq(header_of(out.buf, "X-Request-Id", v, sizeof v), 1);
	close(fd);
	strbuf_release(&out);
	strbuf_release(&req);
	http_stop(s);
}
END_TEST

/* Reads path's lines as JSON objects into a new array. */
static json_t *read_log_lines(const char *path)
{
	strbuf text = STRBUF_INIT;
	json_t *lines = json_array();
	char *line, *save = NULL;

	ck_assert_int_eq(strbuf_read_file(&text, path, 1 << 20), 0);
	for (line = strtok_r(text.buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_error_t je;
		json_t *obj = json_loads(line, 0, &je);
		ck_assert_msg(json_is_object(obj), "not a JSON line: %s (%s)", line, je.text);
		json_array_append_new(lines, obj);
	}
	strbuf_release(&text);
	return lines;
}

START_TEST(test_access_line_matches_response)
{
	char path[] = "/tmp/test-http-log-XXXXXX";
	int tmp = mkstemp(path);
	http_server *s = start(5000);
	strbuf out = STRBUF_INIT;
	const char *id_hdr;
	json_t *lines, *line = NULL;
	char id[17];

	ck_assert_int_ge(tmp, 0);
	close(tmp);
	ck_assert_int_eq(log_open(path), 0);
	exchange(s, "GET /a%22b?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &out);
	http_stop(s);                   /* the access line is written once the request completes */
	log_open("/dev/null");
	id_hdr = strstr(out.buf, "X-Request-Id: ");
	ck_assert_ptr_nonnull(id_hdr);
	memcpy(id, id_hdr + 14, 16);
	id[16] = '\0';
	ck_assert_uint_eq(strspn(id, "0123456789abcdef"), 16);
	lines = read_log_lines(path);
	for (size_t i = 0; i < json_array_size(lines); i++)
		if (json_object_get(json_array_get(lines, i), "id"))
			line = json_array_get(lines, i);
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(json_string_value(json_object_get(line, "id")), id);
	ck_assert_str_eq(json_string_value(json_object_get(line, "method")), "GET");
	ck_assert_str_eq(json_string_value(json_object_get(line, "route")), "echo");
	ck_assert_str_eq(json_string_value(json_object_get(line, "client")), "127.0.0.1");
	ck_assert_int_eq(json_integer_value(json_object_get(line, "status")), 200);
	ck_assert_int_gt(json_integer_value(json_object_get(line, "bytes")), 0);
	ck_assert(json_is_number(json_object_get(line, "ms")));
	json_decref(lines);
	strbuf_release(&out);
	unlink(path);
}
END_TEST

START_TEST(test_access_line_fields)
{
	char path[] = "/tmp/test-http-log-XXXXXX";
	int tmp = mkstemp(path);
	char long_path[2001], odd[] = "/x\"y\xff\x01z";
	const char *ts;
	json_t *lines, *a, *b;

	ck_assert_int_ge(tmp, 0);
	close(tmp);
	memset(long_path, 'p', sizeof long_path - 1);
	long_path[0] = '/';
	long_path[sizeof long_path - 1] = '\0';
	ck_assert_int_eq(log_open(path), 0);
	log_access(&(log_access_entry){ "0123456789abcdef", "POST", odd, 422, "mass", "api.flows",
					12.3456, 1797, "::1" });
	log_access(&(log_access_entry){ "id", "GET", long_path, 200, "", "", 0.0004, 0, NULL });
	log_open("/dev/null");
	lines = read_log_lines(path);
	ck_assert_uint_eq(json_array_size(lines), 2);
	a = json_array_get(lines, 0);
	b = json_array_get(lines, 1);
	ck_assert_str_eq(json_string_value(json_object_get(a, "path")), "/x\"y??z");
	ck_assert_int_eq(json_integer_value(json_object_get(a, "status")), 422);
	ck_assert_int_eq(json_integer_value(json_object_get(a, "bytes")), 1797);
	ck_assert_double_eq_tol(json_number_value(json_object_get(a, "ms")), 12.346, 1e-9);
	ck_assert_str_eq(json_string_value(json_object_get(a, "client")), "::1");
	ck_assert_str_eq(json_string_value(json_object_get(a, "edition")), "mass");
	ts = json_string_value(json_object_get(a, "ts"));
	ck_assert_uint_eq(strlen(ts), 24);
	ck_assert(ts[4] == '-' && ts[10] == 'T' && ts[19] == '.' && ts[23] == 'Z');
	ck_assert_str_eq(json_string_value(json_object_get(b, "path")), long_path);
	ck_assert_double_eq_tol(json_number_value(json_object_get(b, "ms")), 0.0, 1e-9);
	ck_assert_ptr_null(json_object_get(b, "client"));
	json_decref(lines);
	unlink(path);
}
END_TEST

START_TEST(test_header_value_cut_at_line_break)
{
	http_response rs;

	memset(&rs, 0, sizeof rs);
	strbuf_init(&rs.headers);
	http_response_header(&rs, "X-A", "one\r\nInjected: yes");
	http_response_header(&rs, "X-B", "two\nThree: 3");
	ck_assert_str_eq(rs.headers.buf, "X-A: one\nX-B: two\n");
	strbuf_release(&rs.headers);
}
END_TEST

Suite *suite_http(void);

Suite *suite_http(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_refused_framing_never_reaches_handler);
	tcase_add_test(tc, test_body_cap);
	tcase_add_test(tc, test_keep_alive_and_headers);
	tcase_add_test(tc, test_form_through_post_processor);
	tcase_add_test(tc, test_trickle_cut_at_deadline);
	tcase_add_test(tc, test_drain_finishes_request_in_flight);
	tcase_add_test(tc, test_port_taken);
	tcase_add_test(tc, test_access_line_matches_response);
	tcase_add_test(tc, test_access_line_fields);
	tcase_add_test(tc, test_header_value_cut_at_line_break);
	tcase_add_test(tc, test_borrowed_answers_on_one_connection);
	suite_add_tcase(s, tc);
	return s;
}
