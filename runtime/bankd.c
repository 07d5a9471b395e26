/*
 * bankd: one handler on the shared HTTP layer (http.h) in front of bank_call,
 * and the small main of the --serve-bank mode. Requests are checked before
 * the bank sees them: who may call, the method, then the JSON's shape; the
 * bank's own refusals travel back as answers, its failures as 5xx so the
 * callers' circuit breakers count them.
 */
#include "bankd.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend.h"
#include "log.h"
#include "metrics.h"

#define DRAIN_MS 10000

struct bankd {
	bank *bank;
	char *secret;
};

bankd *bankd_new(bank *b, const char *secret)
{
	bankd *d = xcalloc(1, sizeof *d);

	d->bank = b;
	d->secret = secret ? xstrdup(secret) : NULL;
	return d;
}

void bankd_free(bankd *d)
{
	if (!d)
		return;
	if (d->secret)
		sodium_memzero(d->secret, strlen(d->secret));
	free(d->secret);
	free(d);
}

static void answer(http_response *rs, int status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);

	rs->status = status;
	rs->content_type = "application/json";
	strbuf_adds(&rs->body, text ? text : "{\"ok\":false,\"error\":\"internal\"}");
	strbuf_addc(&rs->body, '\n');
	free(text);
	json_decref(body);
}

static void refuse(http_response *rs, int status, const char *code)
{
	answer(rs, status, json_pack("{s:b, s:s}", "ok", 0, "error", code));
}

static int allowed(const bankd *d, const http_request *rq)
{
	if (!d->secret)
		return http_peer_is_loopback(rq);
	const char *given = http_header(rq, BACKEND_SECRET_HEADER);
	size_t n = strlen(d->secret);
	return given && strlen(given) == n && sodium_memcmp(given, d->secret, n) == 0;
}

/* The identity of a request, checked: 0, or -1 for a malformed one. */
static int read_identity(json_t *id, bank_identity *who)
{
	json_t *c = json_object_get(id, "customer_id"), *e = json_object_get(id, "enterprise_id");
	const char *role = json_string_value(json_object_get(id, "role"));

	memset(who, 0, sizeof *who);
	if (!json_is_integer(c) || json_integer_value(c) <= 0 || (e && !json_is_integer(e)) ||
	    (e && json_integer_value(e) < 0) || (role && strlen(role) >= sizeof who->role))
		return -1;
	who->customer_id = json_integer_value(c);
	who->enterprise_id = e ? json_integer_value(e) : 0;
	snprintf(who->role, sizeof who->role, "%s", role ? role : "");
	return 0;
}

static void serve_call(bankd *d, http_request *rq, http_response *rs)
{
	size_t len;
	const char *body = http_body(rq, &len);
	json_t *req = body ? json_loadb(body, len, 0, NULL) : NULL, *res = NULL;
	const char *op = json_string_value(json_object_get(req, "op"));
	json_t *args = json_object_get(req, "args");
	bank_identity who;
	strbuf err = STRBUF_INIT;

	if (!op || !json_is_array(args) || read_identity(json_object_get(req, "identity"), &who) < 0) {
		refuse(rs, 400, "bad_request");
	} else if (bank_call(d->bank, &who, op, args, &res, &err) == 0) {
		answer(rs, 200, json_pack("{s:b, s:o}", "ok", 1, "result", res ? res : json_null()));
	} else {
		const char *code = err.len ? err.buf : "internal";
		int st = !strcmp(code, "unavailable") ? 503 : !strcmp(code, "internal") ? 500 : 200;
		if (st == 500)
			log_error("bank call '%s' failed", op);
		refuse(rs, st, code);
	}
	strbuf_release(&err);
	json_decref(req);
}

void bankd_handle(void *cls, http_request *rq, http_response *rs)
{
	bankd *d = cls;
	const char *path = http_path(rq), *method = http_method(rq);

	snprintf(rs->route, sizeof rs->route, "%s", "bank");
	if (!strcmp(path, "/healthz")) {
		answer(rs, 200, json_pack("{s:b}", "ok", 1));
	} else if (!strcmp(path, "/metrics") && http_peer_is_loopback(rq)) {
		rs->content_type = "text/plain; version=0.0.4; charset=utf-8";
		metrics_render(&rs->body, 0);
	} else if (strcmp(path, BACKEND_PATH)) {
		refuse(rs, 404, "not_found");
	} else if (!allowed(d, rq)) {
		refuse(rs, 403, "forbidden");
	} else if (strcmp(method, "POST")) {
		http_response_header(rs, "Allow", "POST");
		refuse(rs, 405, "method_not_allowed");
	} else {
		snprintf(rs->route, sizeof rs->route, "%s", "bank_call");
		serve_call(d, rq, rs);
	}
}

/* --- editiond --serve-bank ------------------------------------------------------------------ */

typedef struct bankd_options {
	const char *listen, *data, *log, *secret_file;
	char host[64];
	http_config http;
} bankd_options;

int bankd_requested(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--serve-bank"))
			return 1;
	return 0;
}

static void bankd_usage(void)
{
	printf("usage: editiond --serve-bank [options]\n\n"
	       "  --listen HOST:PORT     address to serve on (default 127.0.0.1:8090)\n"
	       "  --data DIR             data directory of the bank (default output/data)\n"
	       "  --workers N            HTTP worker threads (default 2)\n"
	       "  --log FILE|-           log file, '-' for standard output (default '-')\n"
	       "  --bank-secret-file F   callers must send this secret in " BACKEND_SECRET_HEADER ";\n"
	       "                         without it only this host may call, on a loopback address\n"
	       "\nServes POST " BACKEND_PATH " to editiond instances started with --bank-url.\n");
}

static int bankd_misuse(const char *what, const char *arg)
{
	fprintf(stderr, "editiond: %s '%s'\nTry 'editiond --serve-bank --help'.\n", what, arg);
	return 2;
}

static int parse_listen(bankd_options *o)
{
	const char *colon = strrchr(o->listen, ':');
	char *end;
	long port;

	if (!colon || colon == o->listen || (size_t)(colon - o->listen) >= sizeof o->host)
		return -1;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || colon[1] == '\0' || port < 0 || port > 65535)
		return -1;
	memcpy(o->host, o->listen, (size_t)(colon - o->listen));
	o->host[colon - o->listen] = '\0';
	o->http.host = o->host;
	o->http.port = (int)port;
	return 0;
}

/* 0 to go on, 1 after --help, 2 on misuse. */
static int bankd_options_parse(int argc, char **argv, bankd_options *o)
{
	static const struct option longopts[] = {
		{ "serve-bank", 0, NULL, 'B' }, { "listen", 1, NULL, 'l' }, { "data", 1, NULL, 'd' },
		{ "workers", 1, NULL, 'w' }, { "log", 1, NULL, 'L' }, { "bank-secret-file", 1, NULL, 'k' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	int opt;
	char *end;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'B': break;
		case 'l': o->listen = optarg; break;
		case 'd': o->data = optarg; break;
		case 'L': o->log = optarg; break;
		case 'k': o->secret_file = optarg; break;
		case 'h': bankd_usage(); return 1;
		case 'w':
			o->http.workers = (int)strtol(optarg, &end, 10);
			if (*end || o->http.workers < 1 || o->http.workers > 64)
				return bankd_misuse("bad --workers", optarg);
			break;
		default: return bankd_misuse("unknown option or missing value:", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bankd_misuse("unexpected argument", argv[optind]);
	if (parse_listen(o) < 0)
		return bankd_misuse("bad --listen (want HOST:PORT)", o->listen);
	return 0;
}

static int loopback_host(const char *h)
{
	return !strcmp(h, "localhost") || !strcmp(h, "::1") || !strncmp(h, "127.", 4);
}

static int wait_for_stop(http_server *http)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	for (;;) {
		if (sigwait(&set, &sig) != 0 || sig == SIGHUP)
			continue;
		log_info("%s: finishing %ld bank call(s) in flight", sig == SIGTERM ? "SIGTERM" : "SIGINT",
			 http_in_flight(http));
		http_drain(http, DRAIN_MS);
		return 0;
	}
}

/* Opens the bank and serves it; the exit status. */
static int bankd_serve(bankd_options *o, const char *secret)
{
	bank *b = NULL;
	bankd *d;
	http_server *http = NULL;
	strbuf err = STRBUF_INIT;
	int rc = 1;

	mkdir(o->data, 0755);
	if (bank_open(o->data, &b, &err) < 0) {
		fprintf(stderr, "editiond: cannot open the sandbox bank in '%s': %s\n", o->data, err.buf);
		strbuf_release(&err);
		return 1;
	}
	d = bankd_new(b, secret);
	if (http_start(&o->http, bankd_handle, d, &http, &err) < 0) {
		fprintf(stderr, "editiond: %s\n", err.buf);
	} else {
		log_info("serving the sandbox bank on http://%s:%d%s (%s)", o->host, http_port(http),
			 BACKEND_PATH, secret ? "callers with the secret" : "this host only");
		rc = wait_for_stop(http);
		http_stop(http);
	}
	bankd_free(d);
	bank_close(b);
	strbuf_release(&err);
	return rc;
}

int bankd_main(int argc, char **argv)
{
	bankd_options o = { .listen = "127.0.0.1:8090", .data = "output/data", .log = "-" };
	char *secret = NULL;
	sigset_t set;
	int rc;

	if ((rc = bankd_options_parse(argc, argv, &o)))
		return rc == 1 ? 0 : rc;
	if (sodium_init() < 0) {
		fprintf(stderr, "editiond: cannot initialise libsodium\n");
		return 1;
	}
	if (o.secret_file) {
		strbuf err = STRBUF_INIT;
		secret = backend_read_secret_file(o.secret_file, &err);
		if (!secret)
			fprintf(stderr, "editiond: %s\n", err.buf);
		strbuf_release(&err);
		if (!secret)
			return 2;
	} else if (!loopback_host(o.host)) {
		fprintf(stderr, "editiond: refusing to serve the bank on '%s' without --bank-secret-file\n", o.host);
		return 2;
	}
	if (log_open(o.log) < 0) {
		fprintf(stderr, "editiond: cannot open log '%s': %s\n", o.log, strerror(errno));
		free(secret);
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = bankd_serve(&o, secret);
	free(secret);
	log_info("stopped");
	log_close();
	return rc;
}
