/*
 * sec_proto: attacks below the application. Path traversal (dot segments,
 * encoded dots and slashes, NUL bytes) must give 4xx and never a file;
 * request smuggling shapes (conflicting lengths, length with chunking,
 * chunked not last, obsolete line folding, bare CR or LF) must give 400 and
 * no answer to a request hidden behind them; oversized headers and bodies
 * are refused without hurting the server; slow clients are cut at the
 * request deadline while others are served.
 */
#include "sec.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Text that only a real file would hold. */
static int looks_like_file(const char *body)
{
	return strstr(body, "root:x:0:0") || strstr(body, "[Unit]") || strstr(body, "SQLite format") ||
	       strstr(body, "BEGIN PRIVATE") || strstr(body, "OBEPACK") || strstr(body, "#include");
}

static int healthy(void)
{
	sec_client *cl = sec_client_new();
	sec_resp r = sec_get(cl, "/healthz");
	int ok = r.status == 200;

	sec_resp_free(&r);
	sec_client_free(cl);
	return ok;
}

/* Sends a raw request line for path; returns the status (0 when none). */
static long raw_get_status(const char *path, char **body_out)
{
	char req[2048];
	size_t got;
	long st = 0;

	snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", path);
	char *out = sec_raw_exchange(req, strlen(req), 5, &got);
	if (!strncmp(out, "HTTP/1.", 7))
		st = strtol(out + 9, NULL, 10);
	if (body_out)
		*body_out = out;
	else
		free(out);
	return st;
}

void sec_path_attacks(void)
{
	static const char *const paths[] = {
		"/static/../../etc/passwd", "/static/..%2f..%2fetc%2fpasswd", "/static/%2e%2e/%2e%2e/etc/passwd",
		"/%2e%2e/%2e%2e/etc/passwd", "/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/static/%252e%252e/etc/passwd",
		"/static/..\\..\\etc\\passwd", "/static/app.css/../../../etc/passwd", "/static/%00../etc/passwd",
		"/static/app.css%00.txt", "/api/v1/../../etc/passwd", "/api/v1/mass/screens/..%2f..%2fetc%2fpasswd",
		"/api/v1/mass/screens/../../../etc/passwd", "/api/v1/mass/screens/%2e%2e",
		"/api/v1/mass/screens/home%00", "/api/v1/mass/data/..%2faccounts", "/api/v1/..%2f..%2fetc/passwd/x",
		"/mass/../../etc/passwd", "/mass/..%2f..%2fetc/passwd", "/mass/%2e%2e/%2e%2e/etc/passwd",
		"/../data/bank.sqlite", "/%2e%2e/data/bank.sqlite", "/mass/theme.css/../../../../etc/passwd",
		"//etc/passwd", "/static//etc/passwd", "/./././etc/passwd", "/static/.%2e/.%2e/etc/passwd",
		"/static/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd", "/api/v1/%2e%2e/mass/flows/transfer",
	};
	char name[200];

	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		char *body = NULL;
		long st = raw_get_status(paths[i], &body);
		snprintf(name, sizeof name, "path: GET %s -> 4xx, no file", paths[i]);
		sec_check(st >= 400 && st < 500 && !looks_like_file(body), name, "status %ld %.60s", st,
			  looks_like_file(body) ? "(file contents!)" : "");
		free(body);
	}
	/*
	 * A NUL byte in the raw request line itself: libmicrohttpd 0.9.75 cuts the
	 * URL at the NUL before the server sees it, so the answer may be the
	 * stylesheet named before the NUL; what must never come back is a file
	 * from beyond it.
	 */
	static const char nul_req[] = "GET /static/app.css\0/../../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n";
	size_t got;
	char *out = sec_raw_exchange(nul_req, sizeof nul_req - 1, 5, &got);
	int refused = got == 0 || !strncmp(out, "HTTP/1.1 4", 10);
	int stylesheet = !strncmp(out, "HTTP/1.1 200", 12) && strstr(out, "text/css");
	sec_check(!looks_like_file(out) && (refused || stylesheet),
		  "path: NUL byte in the request line -> 4xx, closed, or the stylesheet before the NUL",
		  "got '%.40s'", out);
	free(out);
	sec_check(healthy(), "path: server healthy after traversal attempts", "healthz failed");
	static const char trace[] = "TRACE / HTTP/1.1\r\nHost: a\r\nCookie: obe_session=secret-cookie-value\r\n"
				    "Connection: close\r\n\r\n";
	out = sec_raw_exchange(trace, sizeof trace - 1, 5, &got);
	sec_check(!strstr(out, "secret-cookie-value") && strncmp(out, "HTTP/1.1 2", 10),
		  "trace: TRACE refused and never echoes the cookie", "got '%.40s'", out);
	free(out);
}

/* --- smuggling -------------------------------------------------------------------------------- */

/* The hidden second request asks for /metrics: any answer to it shows up as a second status line. */
#define HIDDEN "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"

static void smuggle(const char *name, const char *req)
{
	size_t got;
	char *out = sec_raw_exchange(req, strlen(req), 5, &got);
	int n = sec_count_responses(out, got), other = 0;

	/* libmicrohttpd's own 400 may repeat its status block; only a non-400 answer is the hidden request's */
	for (const char *p = out; (p = strstr(p, "HTTP/1.1 ")); p++)
		if (strncmp(p, "HTTP/1.1 400", 12))
			other++;
	sec_check(!strncmp(out, "HTTP/1.1 400", 12) && other == 0 && !strstr(out, "requests_total"), name,
		  "%d answers (%d not 400), first '%.40s'", n, other, out);
	free(out);
}

void sec_smuggling_attacks(void)
{
	smuggle("smuggling: two equal Content-Length",
		"POST /login HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc" HIDDEN);
	smuggle("smuggling: two different Content-Length",
		"POST /login HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabc" HIDDEN);
	smuggle("smuggling: Content-Length list in one header",
		"POST /login HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc" HIDDEN);
	smuggle("smuggling: Content-Length and Transfer-Encoding chunked",
		"POST /login HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
		HIDDEN);
	smuggle("smuggling: Transfer-Encoding: chunked, identity",
		"POST /login HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" HIDDEN);
	smuggle("smuggling: two Transfer-Encoding headers",
		"POST /login HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n"
		"0\r\n\r\n" HIDDEN);
	smuggle("smuggling: Transfer-Encoding with an odd spelling",
		"POST /login HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" HIDDEN);
	smuggle("smuggling: obs-fold header continuation",
		"POST /login HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nX-A: a\r\n Transfer-Encoding: chunked\r\n\r\n"
		HIDDEN);
	smuggle("smuggling: bare LF inside a header value",
		"POST /login HTTP/1.1\r\nHost: a\r\nX-A: a\nContent-Length: 30\r\nContent-Length: 0\r\n\r\n" HIDDEN);
	smuggle("smuggling: bare CR inside a header value",
		"POST /login HTTP/1.1\r\nHost: a\r\nX-A: a\rContent-Length: 30\r\nContent-Length: 0\r\n\r\n" HIDDEN);
	smuggle("smuggling: space before the header colon",
		"POST /login HTTP/1.1\r\nHost: a\r\nContent-Length : 30\r\n\r\n" HIDDEN);
	smuggle("smuggling: negative Content-Length",
		"POST /login HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n" HIDDEN);
	smuggle("smuggling: bad chunk size",
		"POST /login HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n" HIDDEN);
}

/* --- sizes ------------------------------------------------------------------------------------------- */

static char *filled(size_t n, char c)
{
	char *s = malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void expect_refused(const char *name, const char *req, size_t len, const char *want1, const char *want2)
{
	size_t got;
	char *out = sec_raw_exchange(req, len, 8, &got);
	int ok = got == 0 || !strncmp(out, want1, strlen(want1)) || (want2 && !strncmp(out, want2, strlen(want2)));

	sec_check(ok && strncmp(out, "HTTP/1.1 2", 10) != 0, name, "got '%.40s'", out);
	free(out);
	sec_check(healthy(), "size: server healthy afterwards", "healthz failed after '%s'", name);
}

void sec_size_attacks(void)
{
	char *big = filled(65536, 'a'), *req = malloc(4u << 20), *chunk;
	size_t n;

	n = (size_t)sprintf(req, "GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: %s\r\n\r\n", big);
	expect_refused("size: one 64 KiB header -> 431", req, n, "HTTP/1.1 431", "HTTP/1.1 400");
	n = (size_t)sprintf(req, "GET /healthz HTTP/1.1\r\nHost: a\r\n");
	for (int i = 0; i < 3000; i++)
		n += (size_t)sprintf(req + n, "X-H%d: %.20s\r\n", i, big);
	n += (size_t)sprintf(req + n, "\r\n");
	expect_refused("size: 3000 headers -> 431", req, n, "HTTP/1.1 431", "HTTP/1.1 400");
	n = (size_t)sprintf(req, "GET /%.60000s HTTP/1.1\r\nHost: a\r\n\r\n", big);
	expect_refused("size: 60 KB request line -> 414/431", req, n, "HTTP/1.1 414", "HTTP/1.1 431");
	n = (size_t)sprintf(req, "POST /api/v1/login HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
			    "Content-Length: 3000000\r\n\r\n");
	memset(req + n, 'a', 3000000);
	expect_refused("size: body over the cap with Content-Length -> 413", req, n + 3000000, "HTTP/1.1 413", NULL);
	n = (size_t)sprintf(req, "POST /api/v1/login HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
			    "Content-Length: 99999999999\r\n\r\n{}");
	expect_refused("size: announced body far over the cap -> 413", req, n, "HTTP/1.1 413", "HTTP/1.1 400");
	n = (size_t)sprintf(req, "POST /api/v1/login HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
			    "Transfer-Encoding: chunked\r\n\r\n");
	chunk = filled(65536, 'b');
	for (int i = 0; i < 40; i++)
		n += (size_t)sprintf(req + n, "10000\r\n%s\r\n", chunk);
	n += (size_t)sprintf(req + n, "0\r\n\r\n");
	expect_refused("size: chunked body over the cap -> 413", req, n, "HTTP/1.1 413", NULL);
	n = (size_t)sprintf(req, "POST /api/v1/login HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
			    "Connection: close\r\n\r\n");
	memset(req + n, 'c', 3000000);
	expect_refused("size: body without length, over the cap -> 4xx/closed", req, n + 3000000, "HTTP/1.1 4",
		       NULL);
	free(chunk);
	free(big);
	free(req);
}

/* --- slow clients ------------------------------------------------------------------------------------ */

typedef struct slow_job {
	const char *head, *body;   /* header bytes trickled, then body bytes trickled */
	double seconds;            /* when the server cut us, from the first byte */
	int cut, answered;
} slow_job;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One byte every 200 ms until the server closes; stops after 30 s. */
static void *trickle(void *arg)
{
	slow_job *j = arg;
	int fd = sec_raw_connect(1);
	double start = now_s();
	struct timespec pause = { 0, 200000000 };
	const char *parts[2] = { j->head, j->body };
	char buf[512];

	if (fd < 0)
		return NULL;
	send(fd, parts[0], 20, MSG_NOSIGNAL);          /* the request starts at once */
	for (int p = 0; p < 2 && !j->cut; p++) {
		for (size_t i = p ? 0 : 20; parts[p] && parts[p][i] && now_s() - start < 30; i++) {
			nanosleep(&pause, NULL);
			ssize_t got = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
			if (got > 0) {
				j->answered = 1;
				buf[got] = '\0';
			}
			if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ||
			    send(fd, parts[p] + i, 1, MSG_NOSIGNAL) != 1) {
				j->cut = 1;
				break;
			}
		}
	}
	j->seconds = now_s() - start;
	close(fd);
	return NULL;
}

/* Opens n connections that send half a request head and then nothing. */
static int open_half_requests(int *fds, int n)
{
	static const char half[] = "GET /healthz HTTP/1.1\r\nHost: a\r\nX-Wait: ";
	int opened = 0;

	for (int i = 0; i < n; i++) {
		fds[i] = sec_raw_connect(1);
		if (fds[i] >= 0 && send(fds[i], half, sizeof half - 1, MSG_NOSIGNAL) > 0)
			opened++;
	}
	return opened;
}

/* How many of them the server has closed by now. */
static int count_closed(const int *fds, int n)
{
	int closed = 0;
	char buf[256];

	for (int i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		ssize_t got = recv(fds[i], buf, sizeof buf, MSG_DONTWAIT);
		while (got > 0)
			got = recv(fds[i], buf, sizeof buf, MSG_DONTWAIT);
		if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			closed++;
	}
	return closed;
}

#define N_HALF 60

void sec_slow_attacks(double timeout)
{
	int half[N_HALF], opened = open_half_requests(half, N_HALF);
	char *pad = filled(300, 'a'), head[600], body_head[400];
	slow_job hj = { 0 }, bj = { 0 };
	pthread_t ht, bt;
	int served = 0, tries = 0;

	snprintf(head, sizeof head, "GET /healthz HTTP/1.1\r\nHost: a\r\nX-Slow: %s\r\n\r\n", pad);
	snprintf(body_head, sizeof body_head, "POST /api/v1/login HTTP/1.1\r\nHost: a\r\n"
		 "Content-Type: application/json\r\nContent-Length: 300\r\n\r\n");
	hj.head = head;
	bj.head = body_head;
	bj.body = pad;
	pthread_create(&ht, NULL, trickle, &hj);
	pthread_create(&bt, NULL, trickle, &bj);
	/* meanwhile, others are served */
	for (double start = now_s(); now_s() - start < timeout; tries++) {
		served += healthy();
		struct timespec pause = { 0, 250000000 };
		nanosleep(&pause, NULL);
	}
	pthread_join(ht, NULL);
	pthread_join(bt, NULL);
	sec_check(hj.cut && hj.seconds < timeout + 5, "slow: trickled header bytes cut near the deadline",
		  "cut %d after %.1f s (deadline %.1f s)", hj.cut, hj.seconds, timeout);
	sec_check(bj.cut && bj.seconds < timeout + 5, "slow: trickled body cut near the deadline",
		  "cut %d after %.1f s (deadline %.1f s)", bj.cut, bj.seconds, timeout);
	sec_check(served == tries && tries > 0, "slow: others served while slow clients hang on",
		  "%d of %d health checks answered", served, tries);
	struct timespec grace = { 2, 0 };
	nanosleep(&grace, NULL);
	int closed = count_closed(half, N_HALF);
	sec_check(opened == N_HALF && closed == opened, "slow: 60 half-sent request heads all cut by the deadline",
		  "%d opened, %d closed 2 s after the deadline", opened, closed);
	for (int i = 0; i < N_HALF; i++)
		if (half[i] >= 0)
			close(half[i]);
	sec_check(healthy(), "slow: server healthy afterwards", "healthz failed");
	free(pad);
}
