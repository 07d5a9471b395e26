/*
 * mhd_floor: the least any libmicrohttpd server does to answer the screen
 * case, to tell editiond's own costs from the HTTP library's.
 *
 *   mhd_floor FILE PORT [shared]
 *
 * Serves FILE's bytes (read once into memory) for every GET, on 127.0.0.1:PORT,
 * with libmicrohttpd set up as editiond sets it up (one epoll thread, TURBO,
 * the same limits that matter here) and the same response headers as
 * editiond's screen answer. Like editiond it answers on the access handler's
 * second call. Per request it creates the response and adds the headers, as
 * editiond does; with "shared" it queues one response built at start (no
 * per-request header, so no X-Request-Id). No log, no metrics, no routing.
 * Stops on SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *body;
static size_t body_len;
static struct MHD_Response *shared;
static unsigned long long served;

static const char *const headers[][2] = {
	{ "Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; "
	  "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'" },
	{ "X-Content-Type-Options", "nosniff" },
	{ "X-Frame-Options", "DENY" },
	{ "Referrer-Policy", "same-origin" },
	{ "Content-Type", "application/json" },
	{ "ETag", "\"41d47fd8c74fba41e98990dfa6fbfa0a\"" },
	{ "Vary", "Accept-Encoding" },
	{ "Cache-Control", "no-cache" },
};

static struct MHD_Response *make_response(const char *request_id)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(body_len, body, MHD_RESPMEM_PERSISTENT);

	if (!r)
		return NULL;
	if (request_id)
		MHD_add_response_header(r, "X-Request-Id", request_id);
	for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++)
		MHD_add_response_header(r, headers[i][0], headers[i][1]);
	return r;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
				 const char *method, const char *version, const char *upload,
				 size_t *upload_size, void **con_cls)
{
	static int first_call;
	char id[17];
	enum MHD_Result ok;

	if (!*con_cls) {                  /* first call: headers only */
		*con_cls = &first_call;
		return MHD_YES;
	}
	*upload_size = 0;
	served++;
	if (shared)
		return MHD_queue_response(c, MHD_HTTP_OK, shared);
	snprintf(id, sizeof id, "%016llx", served * 0x9e3779b97f4a7c15ull);
	struct MHD_Response *r = make_response(id);
	if (!r)
		return MHD_NO;
	ok = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ok;
}

static int read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		if (f)
			fclose(f);
		return -1;
	}
	body = malloc(n ? (size_t)n : 1);
	body_len = body ? fread(body, 1, (size_t)n, f) : 0;
	fclose(f);
	return body && body_len == (size_t)n ? 0 : -1;
}

int main(int argc, char **argv)
{
	sigset_t set;
	int sig;

	if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "shared"))) {
		fprintf(stderr, "usage: mhd_floor FILE PORT [shared]\n");
		return 2;
	}
	if (read_file(argv[1]) < 0) {
		fprintf(stderr, "mhd_floor: cannot read '%s'\n", argv[1]);
		return 1;
	}
	if (argc == 4 && !(shared = make_response(NULL)))
		return 1;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);  /* MHD's thread inherits the mask */
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2])),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_USE_TURBO, 0, NULL, NULL,
		on_access, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_CONNECTION_LIMIT, 1024u, MHD_OPTION_PER_IP_CONNECTION_LIMIT, 128u,
		MHD_OPTION_CONNECTION_TIMEOUT, 15u, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(16u << 10),
		MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "mhd_floor: cannot listen on 127.0.0.1:%s\n", argv[2]);
		return 1;
	}
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	if (shared)
		MHD_destroy_response(shared);
	free(body);
	return 0;
}
