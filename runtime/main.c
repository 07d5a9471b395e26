/*
 * editiond: serves the editions' packs over HTTP.
 *
 *   editiond --packs DIR [--listen 127.0.0.1:8080] [--workers N] [--data DIR]
 *            [--trust-key KEY.pub] [--log FILE|-] [--max-body BYTES]
 *            [--idle-timeout S] [--request-timeout S] [--rollout FILE]
 *            [--admin-token-file FILE] [--compare-timeout MS]
 *
 * Start-up refuses clearly: a refused pack (which and why), a taken port, bad
 * options (exit 2). Signals are taken by the main thread alone (blocked in
 * every other thread, read with sigwait): SIGHUP reloads the pack directory
 * (a refused set keeps the old one), SIGTERM/SIGINT stop accepting, let the
 * requests in flight finish (bounded) and exit 0.
 *
 * A reload reads the pack directory and the rollout file together and checks
 * them as one (registry_load_set); only a whole, consistent set is swapped in.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "admin.h"
#include "app.h"
#include "backend.h"
#include "bankd.h"
#include "dualrun.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "registry.h"
#include "session.h"
#include "session_redis.h"

#define EDITIOND_VERSION "0.1.0"
#define DRAIN_MS 10000

typedef struct options {
	const char *packs, *listen, *data, *trust_key, *log, *store, *rollout, *admin_token;
	int admin_remote;
	dualrun_config dualrun;
	http_config http;
	session_config sessions;
	int have_trust_key;
	unsigned char trust_pk[crypto_sign_PUBLICKEYBYTES];
} options;

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: editiond --packs DIR [options]\n"
		"\n"
		"  --packs DIR            directory of *.pack files (every one must load)\n"
		"  --listen HOST:PORT     address to serve on (default 127.0.0.1:8080; port 0: any free)\n"
		"  --workers N            HTTP worker threads (default 2)\n"
		"  --data DIR             data directory, created if missing (default output/data)\n"
		"  --trust-key KEY.pub    refuse packs not signed by this Ed25519 key\n"
		"  --log FILE|-           log file, '-' for standard output (default '-')\n"
		"  --max-body BYTES       largest request body (default 1048576)\n"
		"  --idle-timeout S       close a connection idle this long (default 15)\n"
		"  --request-timeout S    deadline for a whole request, decimals allowed (default 30)\n"
		"  --max-conns N          connections in all (default 1024)\n"
		"  --max-conns-per-ip N   connections from one address (default 128)\n"
		"  --sessions STORE       'memory' (default) or redis://HOST[:PORT][/DB], shared by\n"
		"                         every instance; when Redis is down sessions go on locally\n"
		"  --session-idle S       log a customer out after S idle seconds (default 900)\n"
		"  --cookie-secure        mark the session cookie Secure (when served over TLS)\n"
		"  --rollout FILE         gray release: stable and canary versions per edition (JSON),\n"
		"                         read again with the packs at every reload\n"
		"  --admin-token-file F   /admin/* needs 'Authorization: Bearer <token>' (first line of F)\n"
		"  --admin-remote         accept /admin/* from other hosts too (needs a token)\n"
		"  --compare-timeout MS   deadline of a canary flow run beside stable (default 50)\n"
		"  --trust-forwarded      behind a local proxy: the client address is the last\n"
		"                         X-Forwarded-For entry of requests from 127.0.0.1\n"
		"  --help, --version\n"
		"\n"
		"Signals: HUP reloads the packs (as does POST /admin/reload from this host),\nTERM and INT finish requests in flight and stop.\n");
	backend_usage(fp);
}

static int misuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int misuse(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "editiond: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry 'editiond --help'.\n");
	va_end(ap);
	return 2;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	errno = 0;
	if (!s || !*s || *s == '-')
		return -1;
	*out = strtoull(s, &end, 10);
	return errno || *end || *out > max ? -1 : 0;
}

static int parse_listen(options *o)
{
	static char host[64];
	const char *colon = strrchr(o->listen, ':');
	unsigned long long port;

	if (!colon || colon == o->listen || (size_t)(colon - o->listen) >= sizeof host ||
	    parse_uint(colon + 1, 65535, &port) < 0)
		return -1;
	memcpy(host, o->listen, (size_t)(colon - o->listen));
	host[colon - o->listen] = '\0';
	o->http.host = host;
	o->http.port = (int)port;
	return 0;
}

static int parse_number_option(options *o, int opt, const char *arg)
{
	unsigned long long v;
	char *end;
	double secs;

	if (opt == 't') {
		secs = strtod(arg, &end);
		if (*end || !(secs >= 0.1 && secs <= 3600))
			return -1;
		o->http.deadline_ms = (int)(secs * 1000);
		return 0;
	}
	if (parse_uint(arg, 1ull << 31, &v) < 0 || v == 0)
		return -1;
	switch (opt) {
	case 'w': o->http.workers = v > 64 ? -1 : (int)v; return v > 64 ? -1 : 0;
	case 'b': o->http.max_body = (size_t)v; return 0;
	case 'i': o->http.idle_timeout_s = v > 86400 ? -1 : (int)v; return v > 86400 ? -1 : 0;
	case 'c': o->http.max_conns = (unsigned)v; return 0;
	case 'p': o->http.max_conns_per_ip = (unsigned)v; return 0;
	case 's': o->sessions.idle_s = v > 86400 ? -1 : (int)v; return v > 86400 ? -1 : 0;
	case 'C': o->dualrun.timeout_ms = v > 10000 ? -1 : (int)v; return v > 10000 ? -1 : 0;
	}
	return -1;
}

/* 0 to go on, 1 after --help/--version (exit 0), 2 on misuse. */
static int parse_options(int argc, char **argv, options *o)
{
	static const struct option longopts[] = {
		{ "packs", 1, NULL, 'P' }, { "listen", 1, NULL, 'l' }, { "workers", 1, NULL, 'w' },
		{ "data", 1, NULL, 'd' }, { "trust-key", 1, NULL, 'k' }, { "log", 1, NULL, 'L' },
		{ "max-body", 1, NULL, 'b' }, { "idle-timeout", 1, NULL, 'i' },
		{ "request-timeout", 1, NULL, 't' }, { "max-conns", 1, NULL, 'c' },
		{ "max-conns-per-ip", 1, NULL, 'p' }, { "session-idle", 1, NULL, 's' },
		{ "cookie-secure", 0, NULL, 'S' }, { "trust-forwarded", 0, NULL, 'F' },
		{ "sessions", 1, NULL, 'R' }, { "rollout", 1, NULL, 'O' },
		{ "admin-token-file", 1, NULL, 'A' }, { "admin-remote", 0, NULL, 'a' },
		{ "compare-timeout", 1, NULL, 'C' },
		{ "help", 0, NULL, 'h' },
		{ "version", 0, NULL, 'V' }, { NULL, 0, NULL, 0 } };
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'P': o->packs = optarg; break;
		case 'l': o->listen = optarg; break;
		case 'd': o->data = optarg; break;
		case 'k': o->trust_key = optarg; break;
		case 'L': o->log = optarg; break;
		case 'S': o->sessions.cookie_secure = 1; break;
		case 'F': o->http.trust_forwarded = 1; break;
		case 'R': o->store = optarg; break;
		case 'O': o->rollout = optarg; break;
		case 'A': o->admin_token = optarg; break;
		case 'a': o->admin_remote = 1; break;
		case 'h': usage(stdout); return 1;
		case 'V': printf("editiond %s\n", EDITIOND_VERSION); return 1;
		case '?': return misuse("unknown option or missing value: '%s'", argv[optind - 1]);
		default:
			if (parse_number_option(o, opt, optarg) < 0)
				return misuse("bad value '%s' for a numeric option", optarg);
		}
	}
	if (optind < argc)
		return misuse("unexpected argument '%s'", argv[optind]);
	if (!o->packs)
		return misuse("%s", "missing --packs DIR");
	if (parse_listen(o) < 0)
		return misuse("bad --listen '%s' (want HOST:PORT)", o->listen);
	if (o->admin_remote && !o->admin_token)
		return misuse("%s", "--admin-remote needs --admin-token-file");
	if (o->store && strcmp(o->store, "memory")) {
		session_redis_url u;
		strbuf err = STRBUF_INIT;
		int bad = session_redis_parse_url(o->store, &u, &err) < 0;
		if (bad)
			misuse("bad --sessions '%s': %s", o->store, err.buf);
		strbuf_release(&err);
		if (bad)
			return 2;
	}
	return 0;
}

/* mkdir -p */
static int make_dirs(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;

static void log_set(const registry *r)
{
	for (size_t i = 0; i < registry_versions_count(r); i++) {
		const rt_edition *e = registry_version_at(r, i);
		log_info("edition '%s' version %s loaded from '%s'%s", e->id, e->version, registry_file(e),
			 registry_stable(r, e->id) == e ? " (stable)" : registry_serving(r, e) ? " (canary)"
			 : registry_rollout(r) ? " (not in the rollout: not served)" : "");
	}
}

/* Loads and swaps in the packs and the rollout; the reason of a refusal also goes to why (may be NULL). */
static int load_packs_locked(const options *o, int initial, strbuf *why)
{
	registry *r;
	strbuf err = STRBUF_INIT;
	const char *reason = NULL;

	if (registry_load_set(o->packs, o->have_trust_key ? o->trust_pk : NULL, o->rollout, &r, &err,
			      &reason) < 0) {
		if (why)
			strbuf_addf(why, "%s", err.buf);
		if (initial)
			fprintf(stderr, "editiond: cannot load packs: %s\n", err.buf);
		log_error("%s (%s): %s", initial ? "cannot load packs" : "reload refused, keeping the loaded set",
			  reason, err.buf);
		if (!initial) {
			metrics_reload(0);
			admin_note_reload(0, reason, err.buf);
		}
		strbuf_release(&err);
		return -1;
	}
	metrics_set_packs_loaded((long)registry_versions_count(r));
	log_set(r);
	registry_swap(r);
	if (!initial) {
		metrics_reload(1);
		admin_note_reload(1, NULL, NULL);
	}
	strbuf_release(&err);
	return 0;
}

/* SIGHUP and POST /admin/reload may race: one load-and-swap at a time, in order. */
static int load_packs(const options *o, int initial, strbuf *why)
{
	int rc;

	pthread_mutex_lock(&reload_lock);
	rc = load_packs_locked(o, initial, why);
	pthread_mutex_unlock(&reload_lock);
	return rc;
}

typedef struct server {
	bank *bank;
	session_mgr *sessions;
	const char *store_name;
	app *app;
	http_server *http;
} server;

static int admin_reload(void *cls, strbuf *why)
{
	const options *o = cls;

	log_info("reload requested over http: loading packs from '%s'", o->packs);
	return load_packs(o, 0, why);
}

/* The session manager on the chosen store. An unreachable Redis is no error: it starts degraded. */
static int open_sessions(options *o, server *s)
{
	const session_store_ops *ops;
	void *impl;
	strbuf err = STRBUF_INIT;

	if (!o->store || !strcmp(o->store, "memory")) {
		s->sessions = session_mgr_new(&o->sessions);
		s->store_name = "memory";
		return 0;
	}
	if (session_redis_open(o->store, NULL, &ops, &impl, &err) < 0) {
		fprintf(stderr, "editiond: cannot use session store '%s': %s\n", o->store, err.buf);
		strbuf_release(&err);
		return -1;
	}
	s->sessions = session_mgr_new_store(&o->sessions, ops, impl);
	s->store_name = "redis";
	log_info("sessions in '%s'%s", o->store, session_redis_degraded() ? " (not answering yet: degraded)" : "");
	strbuf_release(&err);
	return 0;
}

static int start(options *o, server *s)
{
	strbuf err = STRBUF_INIT;

	if (make_dirs(o->data) < 0) {
		fprintf(stderr, "editiond: cannot create data directory '%s': %s\n", o->data, strerror(errno));
		return -1;
	}
	if (load_packs(o, 1, NULL) < 0)
		return -1;
	if (bank_open(o->data, &s->bank, &err) < 0) {
		fprintf(stderr, "editiond: cannot open the sandbox bank in '%s': %s\n", o->data, err.buf);
		strbuf_release(&err);
		return -1;
	}
	if (open_sessions(o, s) < 0)
		return -1;
	if (dualrun_start(s->bank, &o->dualrun) < 0) {
		fprintf(stderr, "editiond: cannot start the comparison workers\n");
		return -1;
	}
	s->app = app_new(s->bank, s->sessions, 0);
	app_set_session_store(s->app, s->store_name);
	app_set_reloader(s->app, admin_reload, o);
	if (http_start(&o->http, app_handle, s->app, &s->http, &err) < 0) {
		fprintf(stderr, "editiond: %s\n", err.buf);
		log_error("%s", err.buf);
		strbuf_release(&err);
		return -1;
	}
	log_info("listening on http://%s:%d", o->http.host, http_port(s->http));
	return 0;
}

static void stop(server *s)
{
	http_stop(s->http);
	dualrun_stop();
	app_free(s->app);
	session_mgr_free(s->sessions);
	if (s->bank)
		bank_close(s->bank);
	registry_swap(NULL);
}

static int serve(options *o, server *s, const sigset_t *set)
{
	for (;;) {
		int sig;
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			log_info("SIGHUP: reloading packs from '%s'", o->packs);
			load_packs(o, 0, NULL);
			continue;
		}
		log_info("%s: finishing %ld request(s) in flight", sig == SIGTERM ? "SIGTERM" : "SIGINT",
			 http_in_flight(s->http));
		if (!http_drain(s->http, DRAIN_MS))
			log_warn("stopping with %ld request(s) still in flight", http_in_flight(s->http));
		return 0;
	}
}

int main(int argc, char **argv)
{
	options o = { .listen = "127.0.0.1:8080", .data = "output/data", .log = "-" };
	server s = { 0 };
	sigset_t set;
	int rc;

	if (bankd_requested(argc, argv))
		return bankd_main(argc, argv);
	if ((rc = backend_take_options(&argc, argv)))
		return rc;
	if ((rc = parse_options(argc, argv, &o)))
		return rc == 1 ? 0 : rc;
	if (sodium_init() < 0) {
		fprintf(stderr, "editiond: cannot initialise libsodium\n");
		return 1;
	}
	if (o.trust_key) {
		strbuf err = STRBUF_INIT;
		if (pack_read_key(o.trust_key, o.trust_pk, sizeof o.trust_pk, &err) < 0) {
			fprintf(stderr, "editiond: cannot read trust key '%s': %s\n", o.trust_key, err.buf);
			strbuf_release(&err);
			return 2;
		}
		o.have_trust_key = 1;
	}
	if (o.admin_token) {
		strbuf err = STRBUF_INIT;
		if (admin_load_token(o.admin_token, &err) < 0) {
			fprintf(stderr, "editiond: %s\n", err.buf);
			strbuf_release(&err);
			return 2;
		}
		admin_allow_remote(o.admin_remote);
	}
	if (log_open(o.log) < 0) {
		fprintf(stderr, "editiond: cannot open log '%s': %s\n", o.log, strerror(errno));
		return 2;
	}
	/* Before any thread starts: every thread inherits the mask, only sigwait sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (start(&o, &s) < 0) {
		stop(&s);
		log_close();
		return 1;
	}
	rc = serve(&o, &s, &set);
	stop(&s);
	log_info("stopped");
	log_close();
	return rc;
}
