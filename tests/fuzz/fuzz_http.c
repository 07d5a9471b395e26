/*
 * fuzz_http: raw bytes at the real server, in process.
 *
 * Once: the real packs become the current registry set, a sandbox bank opens
 * in a temporary directory, and http_start serves app_handle (the same handler
 * editiond runs) on 127.0.0.1 at a free port. The demo customer zhangwei logs
 * in through POST /api/v1/login (libcurl), so inputs can act as a customer:
 * "@TOKEN@" in an input becomes the session token (for a Cookie obe_session
 * or an Authorization: Bearer header) and "@CSRF@" its CSRF token. The
 * session is renewed every LOGIN_EVERY inputs, as an input may log it out.
 *
 * Per input: one loopback connection, the bytes sent as they are, then the
 * answer read until the server closes, goes quiet or READ_CAP bytes came
 * (with a short timeout). After each input the server must still answer a
 * plain GET /healthz with 200 within a few seconds, else the target aborts:
 * a server that stops serving is a finding like a crash. URL, query, form,
 * cookie and header parsing run in MHD and in http.c/app*.c on the server's
 * own threads; ASan and UBSan watch those threads too.
 */
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "app.h"
#include "bank.h"
#include "fuzz_common.h"
#include "http.h"
#include "registry.h"
#include "session.h"

#define READ_CAP (256 * 1024)
#define FIRST_BYTE_MS 250          /* a complete request is answered well within this */
#define QUIET_MS 10                /* an answer in progress pauses no longer than this */
#define LOGIN_EVERY 256

static http_server *server;
static app *handler;
static session_mgr *sessions;
static bank *sandbox_bank;
static int port;
static char token[128], csrf[128];
static unsigned long inputs;

static size_t to_strbuf(char *p, size_t size, size_t n, void *ud)
{
	strbuf_add(ud, p, size * n);
	return size * n;
}

/* A request through libcurl; the status, or -1 when none came. */
static long curl_request(const char *path, const char *json_body, strbuf *body)
{
	char url[256];
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
	CURL *c = curl_easy_init();
	struct curl_slist *hdr = NULL;
	long status = -1;
	if (!c)
		return -1;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_strbuf);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	if (json_body) {
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json_body);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return status;
}

static void login(void)
{
	strbuf body = STRBUF_INIT;
	long status = curl_request("/api/v1/login", "{\"username\":\"zhangwei\",\"password\":\"demo1234\"}", &body);
	json_t *j = status == 200 ? json_loads(body.buf, 0, NULL) : NULL;
	const char *t = json_string_value(json_object_get(j, "token"));
	const char *c = json_string_value(json_object_get(j, "csrf"));
	if (!t || !c)
		fuzz_die("login as 'zhangwei' failed: status %ld, body '%.200s'", status, body.buf);
	snprintf(token, sizeof token, "%s", t);
	snprintf(csrf, sizeof csrf, "%s", c);
	json_decref(j);
	strbuf_release(&body);
}

static void stop_server(void)
{
	http_stop(server);
	app_free(handler);
	session_mgr_free(sessions);
	bank_close(sandbox_bank);
	registry_swap(NULL);
	curl_global_cleanup();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	strbuf err = STRBUF_INIT;
	registry *r;
	signal(SIGPIPE, SIG_IGN);
	fuzz_quiet_logs();
	if (registry_load(fuzz_packs_dir(), NULL, &r, &err) < 0)
		fuzz_die("cannot load the packs in '%s': %s", fuzz_packs_dir(), err.buf);
	registry_swap(r);
	if (bank_open(fuzz_tempdir("http"), &sandbox_bank, &err) < 0)
		fuzz_die("cannot open the sandbox bank: %s", err.buf);
	static const session_config scfg;
	sessions = session_mgr_new(&scfg);
	handler = app_new(sandbox_bank, sessions, 0);
	http_config cfg = { .host = "127.0.0.1", .workers = 2, .idle_timeout_s = 2, .deadline_ms = 2000 };
	if (http_start(&cfg, app_handle, handler, &server, &err) < 0)
		fuzz_die("%s", err.buf);
	port = http_port(server);
	atexit(stop_server);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	login();
	strbuf_release(&err);
	return 0;
}

/* The input with @TOKEN@ and @CSRF@ replaced. */
static void expand(const uint8_t *data, size_t size, strbuf *out)
{
	for (size_t i = 0; i < size; i++) {
		if (data[i] == '@' && size - i >= 7 && !memcmp(data + i, "@TOKEN@", 7)) {
			strbuf_adds(out, token);
			i += 6;
		} else if (data[i] == '@' && size - i >= 6 && !memcmp(data + i, "@CSRF@", 6)) {
			strbuf_adds(out, csrf);
			i += 5;
		} else {
			strbuf_addc(out, (char)data[i]);
		}
	}
}

static int connect_loopback(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		fuzz_die("cannot connect to 127.0.0.1:%d: %s", port, strerror(errno));
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	return fd;
}

/* Reads the answer: until close, READ_CAP, or a pause (longer before the first byte). */
static size_t read_answer(int fd)
{
	static char buf[16384];
	size_t total = 0;
	while (total < READ_CAP) {
		/* acknowledge at once: the server's second write would wait for our delayed ACK (Nagle) */
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, total ? QUIET_MS : FIRST_BYTE_MS) <= 0)
			break;
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n <= 0)
			break;
		total += (size_t)n;
	}
	return total;
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;                 /* the server closed early: that is an answer too */
		p += w;
		n -= (size_t)w;
	}
}

/*
 * FUZZ_SKIP_KNOWN=1 skips the shape of a crash already reported and not yet
 * fixed, so a long run can look for others: a NUL in the first line (an empty
 * URL reaches app.c's split_edition). run.sh never sets it.
 */
static int known_crash(const uint8_t *data, size_t size)
{
	static int skip = -1;
	if (skip < 0) {
		const char *v = getenv("FUZZ_SKIP_KNOWN");
		skip = v && *v == '1';
	}
	if (!skip)
		return 0;
	const uint8_t *lf = memchr(data, '\n', size);
	return memchr(data, 0, lf ? (size_t)(lf - data) : size) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (known_crash(data, size))
		return 0;
	if (++inputs % LOGIN_EVERY == 0)
		login();
	strbuf req = STRBUF_INIT;
	expand(data, size, &req);
	int fd = connect_loopback();
	send_all(fd, req.buf, req.len);
	if (!read_answer(fd)) {
		shutdown(fd, SHUT_WR);      /* an incomplete request: end it and take what comes */
		read_answer(fd);
	}
	close(fd);
	strbuf_release(&req);
	strbuf body = STRBUF_INIT;
	long status = curl_request("/healthz", NULL, &body);
	if (status != 200) {
		fprintf(stderr, "the server stopped serving: GET /healthz gave %ld after this input\n", status);
		abort();
	}
	strbuf_release(&body);
	return 0;
}
