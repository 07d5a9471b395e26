/*
 * fakebank: a bank server for the backend tests that can be told to misbehave.
 *
 *   fakebank PORT UPSTREAM_URL
 *
 * Listens on 127.0.0.1:PORT. POST /bank/v1/call is passed on to UPSTREAM_URL
 * (a real `editiond --serve-bank`, so answers are the bank's own) unless the
 * current mode says otherwise. POST /control?mode=M[&ms=N] sets the mode:
 *   ok      pass calls on
 *   delay   wait N ms, then pass the call on
 *   fail    answer 500 {"ok":false,"error":"internal"}
 *   close   close the connection without an answer
 * GET /control answers "MODE CALLS" (calls seen on /bank/v1/call so far).
 * Runs until SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum mode { MODE_OK, MODE_DELAY, MODE_FAIL, MODE_CLOSE };
static const char *const mode_names[] = { "ok", "delay", "fail", "close" };

static atomic_int mode = MODE_OK;
static atomic_int delay_ms;
static atomic_long calls;
static const char *upstream;

typedef struct body {
	char *data;
	size_t len;
} body;

static size_t collect(char *data, size_t size, size_t n, void *cls)
{
	body *b = cls;
	char *grown = realloc(b->data, b->len + size * n + 1);

	if (!grown)
		return 0;
	b->data = grown;
	memcpy(b->data + b->len, data, size * n);
	b->len += size * n;
	b->data[b->len] = '\0';
	return size * n;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
								  MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", "application/json");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Passes the call on; the upstream's status and body, or 502. */
static enum MHD_Result forward(struct MHD_Connection *c, const body *in)
{
	CURL *h = curl_easy_init();
	body out = { NULL, 0 };
	struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
	long status = 502;

	curl_easy_setopt(h, CURLOPT_URL, upstream);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, in->data ? in->data : "");
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)in->len);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	enum MHD_Result ret = reply(c, (unsigned)status, out.data && status != 502 ? out.data : "{}");
	free(out.data);
	curl_slist_free_all(hd);
	curl_easy_cleanup(h);
	return ret;
}

static enum MHD_Result control(struct MHD_Connection *c, const char *method)
{
	char text[64];

	if (!strcmp(method, "POST")) {
		const char *m = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "mode");
		const char *ms = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "ms");
		int found = -1;
		for (int i = 0; m && i < 4; i++)
			if (!strcmp(m, mode_names[i]))
				found = i;
		if (found < 0)
			return reply(c, 400, "{\"error\":\"unknown mode\"}");
		atomic_store(&delay_ms, ms ? atoi(ms) : 0);
		atomic_store(&mode, found);
	}
	snprintf(text, sizeof text, "%s %ld\n", mode_names[atomic_load(&mode)], atomic_load(&calls));
	return reply(c, 200, text);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *data, size_t *size, void **state)
{
	body *b = *state;

	if (!b) {                            /* first call: headers only */
		*state = calloc(1, sizeof(body));
		return *state ? MHD_YES : MHD_NO;
	}
	if (*size) {
		if (collect((char *)data, 1, *size, b) != *size)
			return MHD_NO;
		*size = 0;
		return MHD_YES;
	}
	if (!strcmp(url, "/control"))
		return control(c, method);
	if (strcmp(url, "/bank/v1/call"))
		return reply(c, 404, "{\"ok\":false,\"error\":\"not_found\"}");
	atomic_fetch_add(&calls, 1);
	switch (atomic_load(&mode)) {
	case MODE_FAIL: return reply(c, 500, "{\"ok\":false,\"error\":\"internal\"}");
	case MODE_CLOSE: return MHD_NO;
	case MODE_DELAY: usleep((useconds_t)atomic_load(&delay_ms) * 1000); break;
	default: break;
	}
	return forward(c, b);
}

static void done(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode t)
{
	body *b = *state;

	if (b)
		free(b->data);
	free(b);
	*state = NULL;
}

int main(int argc, char **argv)
{
	sigset_t set;
	int sig, port = argc == 3 ? atoi(argv[1]) : 0;

	if (port <= 0 || port > 65535) {
		fprintf(stderr, "usage: fakebank PORT UPSTREAM_URL\n");
		return 2;
	}
	upstream = argv[2];
	curl_global_init(CURL_GLOBAL_DEFAULT);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port),
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
		handle, NULL, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_NOTIFY_COMPLETED, done, NULL,
		MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "fakebank: cannot listen on 127.0.0.1:%d\n", port);
		return 1;
	}
	printf("fakebank on 127.0.0.1:%d -> %s\n", port, upstream);
	fflush(stdout);
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	curl_global_cleanup();
	return 0;
}
