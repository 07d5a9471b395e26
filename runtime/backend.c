/*
 * backend: the routing table is a fixed array of services, written once at
 * start (or by tests between calls) and read without locks afterwards. Each
 * worker thread keeps one curl easy handle in a thread-specific slot; the
 * handle keeps its connections alive between calls, so a busy thread talks to
 * a bank server over one warm connection. Counters are atomics; the fallback
 * series sit in a small table under a mutex.
 */
#include "backend.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

enum { RES_OK, RES_REFUSED, RES_FAILED, RES_REJECTED, N_RES };
static const char *const result_names[N_RES] = { "ok", "refused", "failed", "rejected" };

typedef struct service {
	const char *name;
	char *url;                  /* NULL: the embedded bank; else the full call URL */
	breaker *br;
	atomic_ullong calls[N_RES];
	atomic_llong last_log;      /* second of the last failure logged (one a second at most) */
} service;

static service services[] = {
	{ .name = "profile" }, { .name = "accounts" }, { .name = "payments" }, { .name = "products" },
	{ .name = "loans" }, { .name = "merchant" }, { .name = "bills" }, { .name = "fx" },
};
#define N_SERVICES (sizeof services / sizeof services[0])

static const struct { const char *op, *service; } op_map[] = {
	{ "profile", "profile" }, { "manager", "profile" }, { "benefits", "profile" },
	{ "accounts", "accounts" }, { "history", "accounts" }, { "payees", "accounts" },
	{ "calendar", "accounts" },
	{ "transfer", "payments" }, { "payroll", "payments" }, { "pending_payments", "payments" },
	{ "decide_payment", "payments" },
	{ "products", "products" }, { "buy_product", "products" }, { "deposit_open", "products" },
	{ "loan_apply", "loans" }, { "loan_disburse", "loans" },
	{ "merchant_summary", "merchant" }, { "cockpit", "merchant" },
	{ "bill_issue", "bills" },
	{ "fx_quote", "fx" }, { "crossborder_pay", "fx" },
};

static struct {
	int connect_ms, total_ms;
	char *secret_header;        /* "X-Bank-Secret: ..." or NULL */
	struct curl_slist *headers;
	breaker_config br_cfg;
	breaker_clock_fn clock;
	void *clock_cls;
	int curl_ready;
} cfg = { .connect_ms = 200, .total_ms = 1000 };

#define MAX_ANSWER (8u << 20)

static void fallbacks_clear(void);

/* --- configuration ----------------------------------------------------------------------- */

static service *find_service(const char *name)
{
	for (size_t i = 0; i < N_SERVICES; i++)
		if (!strcmp(services[i].name, name))
			return &services[i];
	return NULL;
}

const char *backend_service_of(const char *op)
{
	for (size_t i = 0; op && i < sizeof op_map / sizeof op_map[0]; i++)
		if (!strcmp(op_map[i].op, op))
			return op_map[i].service;
	return NULL;
}

const char *backend_url_of(const char *name)
{
	service *s = name ? find_service(name) : NULL;
	return s ? s->url : NULL;
}

static void rebuild_headers(void)
{
	curl_slist_free_all(cfg.headers);
	cfg.headers = curl_slist_append(NULL, "Content-Type: application/json");
	cfg.headers = curl_slist_append(cfg.headers, "Expect:");
	if (cfg.secret_header)
		cfg.headers = curl_slist_append(cfg.headers, cfg.secret_header);
}

/* The call URL of a base URL ("http://host:port[/prefix]"), checked by libcurl. */
static char *call_url(const char *base, strbuf *err)
{
	CURLU *u = curl_url();
	char *scheme = NULL;
	int bad = curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
		  curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
		  (strcmp(scheme, "http") && strcmp(scheme, "https"));
	curl_free(scheme);
	curl_url_cleanup(u);
	if (bad || strchr(base, '?') || strchr(base, '#')) {
		strbuf_addf(err, "bad URL '%s' (want http://HOST:PORT)", base);
		return NULL;
	}
	size_t n = strlen(base);
	while (n && base[n - 1] == '/')
		n--;
	strbuf sb = STRBUF_INIT;
	strbuf_add(&sb, base, n);
	strbuf_adds(&sb, BACKEND_PATH);
	return strbuf_detach(&sb, NULL);
}

static void set_one(service *s, char *url)
{
	free(s->url);
	s->url = url;
	if (url && !s->br)
		s->br = breaker_new(&cfg.br_cfg, cfg.clock, cfg.clock_cls);
}

int backend_set(const char *name, const char *url, strbuf *err)
{
	int all = !strcmp(name, "*");
	service *s = all ? NULL : find_service(name);

	if (!all && !s) {
		strbuf_addf(err, "unknown service '%s' (known: profile, accounts, payments, products, "
			    "loans, merchant, bills, fx)", name);
		return -1;
	}
	if (!cfg.curl_ready) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		cfg.curl_ready = 1;
		rebuild_headers();
	}
	for (size_t i = 0; i < N_SERVICES; i++) {
		if (!all && &services[i] != s)
			continue;
		char *full = NULL;
		if (*url && !(full = call_url(url, err)))
			return -1;
		set_one(&services[i], full);
	}
	return 0;
}

void backend_set_timeouts(int connect_ms, int total_ms)
{
	if (connect_ms > 0)
		cfg.connect_ms = connect_ms;
	if (total_ms > 0)
		cfg.total_ms = total_ms;
}

void backend_set_breaker(const breaker_config *bc, breaker_clock_fn clock, void *clock_cls)
{
	memset(&cfg.br_cfg, 0, sizeof cfg.br_cfg);
	if (bc)
		cfg.br_cfg = *bc;
	cfg.clock = clock;
	cfg.clock_cls = clock_cls;
	for (size_t i = 0; i < N_SERVICES; i++) {      /* breakers made from now on use it */
		breaker_free(services[i].br);
		services[i].br = services[i].url ? breaker_new(&cfg.br_cfg, clock, clock_cls) : NULL;
	}
}

int backend_set_secret(const char *secret, strbuf *err)
{
	free(cfg.secret_header);
	cfg.secret_header = NULL;
	if (secret) {
		for (const char *p = secret; *p; p++)
			if (!isprint((unsigned char)*p)) {
				strbuf_adds(err, "the bank secret must be printable text");
				return -1;
			}
		strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "%s: %s", BACKEND_SECRET_HEADER, secret);
		cfg.secret_header = strbuf_detach(&sb, NULL);
	}
	if (cfg.curl_ready)
		rebuild_headers();
	return 0;
}

char *backend_read_secret_file(const char *path, strbuf *err)
{
	strbuf sb = STRBUF_INIT;

	if (strbuf_read_file(&sb, path, 4096) < 0) {
		strbuf_addf(err, "cannot read secret file '%s'", path);
		strbuf_release(&sb);
		return NULL;
	}
	while (sb.len && isspace((unsigned char)sb.buf[sb.len - 1]))
		sb.buf[--sb.len] = '\0';
	int ok = sb.len >= 16 && sb.len <= 256 && strlen(sb.buf) == sb.len;
	for (size_t i = 0; ok && i < sb.len; i++)
		ok = isgraph((unsigned char)sb.buf[i]);
	if (!ok) {
		strbuf_addf(err, "secret file '%s' must hold one word of 16 to 256 printable bytes", path);
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb, NULL);
}

/* --- one handle per thread ------------------------------------------------------------------ */

static pthread_key_t handle_key;
static pthread_once_t handle_once = PTHREAD_ONCE_INIT;

static void handle_free(void *h)
{
	curl_easy_cleanup(h);
}

static void make_key(void)
{
	pthread_key_create(&handle_key, handle_free);
}

static size_t collect(char *data, size_t size, size_t n, void *cls)
{
	strbuf *sb = cls;

	if (sb->len + size * n > MAX_ANSWER)
		return 0;                        /* an oversized answer fails the transfer */
	strbuf_add(sb, data, size * n);
	return size * n;
}

static CURL *thread_handle(void)
{
	pthread_once(&handle_once, make_key);
	CURL *h = pthread_getspecific(handle_key);
	if (h)
		return h;
	if (!(h = curl_easy_init()))
		return NULL;
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	pthread_setspecific(handle_key, h);
	return h;
}

void backend_reset(void)
{
	pthread_once(&handle_once, make_key);
	CURL *h = pthread_getspecific(handle_key);
	if (h) {
		pthread_setspecific(handle_key, NULL);
		curl_easy_cleanup(h);
	}
	for (size_t i = 0; i < N_SERVICES; i++) {
		free(services[i].url);
		services[i].url = NULL;
		breaker_free(services[i].br);
		services[i].br = NULL;
		for (int r = 0; r < N_RES; r++)
			atomic_store(&services[i].calls[r], 0);
	}
	backend_set_secret(NULL, NULL);
	curl_slist_free_all(cfg.headers);
	cfg.headers = NULL;
	cfg.connect_ms = 200;
	cfg.total_ms = 1000;
	memset(&cfg.br_cfg, 0, sizeof cfg.br_cfg);
	cfg.clock = NULL;
	fallbacks_clear();
	if (cfg.curl_ready)
		rebuild_headers();
}

/* --- a remote call ----------------------------------------------------------------------- */

static void log_failure(service *s, const char *what)
{
	long long sec = (long long)time(NULL), last = atomic_load(&s->last_log);

	if (sec != last && atomic_compare_exchange_strong(&s->last_log, &last, sec))
		log_warn("backend '%s': %s", s->name, what);
}

static char *request_body(const bank_identity *who, const char *op, json_t *args)
{
	json_t *req = json_pack("{s:s, s:O, s:{s:I, s:I, s:s}}", "op", op, "args", args, "identity",
				"customer_id", (json_int_t)who->customer_id,
				"enterprise_id", (json_int_t)who->enterprise_id, "role", who->role);
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	return body;
}

/* A bank code as the flow may see it: short lowercase words only, else "internal". */
static void take_code(const char *code, strbuf *err)
{
	size_t n = code ? strlen(code) : 0;
	int ok = n > 0 && n < 40;

	for (size_t i = 0; ok && i < n; i++)
		ok = islower((unsigned char)code[i]) || code[i] == '_';
	strbuf_adds(err, ok ? code : "internal");
}

/* The answer of a 200: RES_OK with *result, RES_REFUSED with the code, or RES_FAILED. */
static int read_answer(service *s, const strbuf *body, json_t **result, strbuf *err)
{
	json_t *ans = json_loadb(body->buf, body->len, 0, NULL), *ok = json_object_get(ans, "ok");
	const char *code = json_string_value(json_object_get(ans, "error"));
	int res = RES_FAILED;

	if (json_is_true(ok) && json_object_get(ans, "result")) {
		*result = json_incref(json_object_get(ans, "result"));
		res = RES_OK;
	} else if (json_is_false(ok) && code && strcmp(code, "unavailable") && strcmp(code, "internal")) {
		take_code(code, err);
		res = RES_REFUSED;
	} else {
		log_failure(s, "an answer outside the protocol");
	}
	json_decref(ans);
	return res;
}

/* One POST; *timed_out says whether the transfer hit its timeout. */
static int exchange(service *s, CURL *h, const char *body, long timeout_ms, int *timed_out,
		    json_t **result, strbuf *err)
{
	strbuf answer = STRBUF_INIT;
	long status = 0;

	curl_easy_setopt(h, CURLOPT_URL, s->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, cfg.headers);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg.connect_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer);
	CURLcode cc = curl_easy_perform(h);
	int res = RES_FAILED;
	*timed_out = cc == CURLE_OPERATION_TIMEDOUT;
	if (cc != CURLE_OK) {
		log_failure(s, curl_easy_strerror(cc));
	} else if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status), status != 200) {
		char what[32];
		snprintf(what, sizeof what, "HTTP status %ld", status);
		log_failure(s, what);
	} else {
		res = read_answer(s, &answer, result, err);
	}
	curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
	strbuf_release(&answer);
	return res;
}

static void note_transition(service *s, breaker_state st)
{
	if (st == BREAKER_OPEN)
		log_warn("backend '%s': circuit open for %d ms, calls fail fast", s->name,
			 breaker_open_time_ms(s->br));
	else if (st == BREAKER_CLOSED)
		log_info("backend '%s': circuit closed again", s->name);
}

static int remote_call(service *s, const bank_identity *who, const char *op, json_t *args,
		       int budget_ms, json_t **result, strbuf *err)
{
	breaker_ticket t = breaker_allow(s->br);
	int res = RES_REJECTED, changed = 0, timed_out = 0;
	int cut = budget_ms > 0 && budget_ms < cfg.total_ms;

	if (t != BREAKER_REJECT) {
		CURL *h = thread_handle();
		char *body = request_body(who, op, args);
		res = h && body ? exchange(s, h, body, cut ? budget_ms : cfg.total_ms, &timed_out, result, err)
				: RES_FAILED;
		free(body);
		if (res == RES_FAILED && timed_out && cut) {
			breaker_release(s->br, t);   /* the flow's deadline, not the service, ended it */
		} else {
			breaker_state st = breaker_record(s->br, t, res != RES_FAILED, &changed);
			if (changed)
				note_transition(s, st);
		}
	}
	atomic_fetch_add(&s->calls[res], 1);
	if (res == RES_OK)
		return 0;
	if (res != RES_REFUSED)
		strbuf_adds(err, "unavailable");
	return -1;
}

int backend_call_by(bank *b, const bank_identity *who, const char *op, json_t *args, int budget_ms,
		    json_t **result, strbuf *err)
{
	const char *name = backend_service_of(op);
	service *s = name ? find_service(name) : NULL;

	*result = NULL;
	if (s && s->url)
		return remote_call(s, who, op, args, budget_ms, result, err);
	int rc = bank_call(b, who, op, args, result, err);
	if (s) {
		int res = rc == 0 ? RES_OK : !strcmp(err->buf, "unavailable") || !strcmp(err->buf, "internal")
			? RES_FAILED : RES_REFUSED;
		atomic_fetch_add(&s->calls[res], 1);
	}
	return rc;
}

int backend_call(bank *b, const bank_identity *who, const char *op, json_t *args,
		 json_t **result, strbuf *err)
{
	return backend_call_by(b, who, op, args, 0, result, err);
}

breaker_state backend_breaker_state(const char *name)
{
	service *s = name ? find_service(name) : NULL;
	return s && s->br ? breaker_state_now(s->br) : BREAKER_CLOSED;
}

/* --- fallbacks and metrics ---------------------------------------------------------------------- */

#define MAX_FALLBACKS 512

static struct fallback {
	char edition[48], flow[64];
	unsigned long long n;
} fallbacks[MAX_FALLBACKS];
static size_t n_fallbacks;
static pthread_mutex_t fallback_lock = PTHREAD_MUTEX_INITIALIZER;

void backend_fallback(const char *edition, const char *flow)
{
	edition = edition ? edition : "";
	flow = flow ? flow : "";
	pthread_mutex_lock(&fallback_lock);
	size_t i = 0;
	while (i < n_fallbacks && (strcmp(fallbacks[i].edition, edition) || strcmp(fallbacks[i].flow, flow)))
		i++;
	if (i == n_fallbacks && n_fallbacks < MAX_FALLBACKS) {
		snprintf(fallbacks[i].edition, sizeof fallbacks[i].edition, "%s", edition);
		snprintf(fallbacks[i].flow, sizeof fallbacks[i].flow, "%s", flow);
		fallbacks[i].n = 0;
		n_fallbacks++;
	}
	if (i < n_fallbacks)
		fallbacks[i].n++;
	pthread_mutex_unlock(&fallback_lock);
}

/* A label value with backslash, quote and newline escaped. */
static void add_value(strbuf *out, const char *v)
{
	for (const char *p = v; *p; p++) {
		if (*p == '\\' || *p == '"')
			strbuf_addc(out, '\\');
		if (*p == '\n')
			strbuf_adds(out, "\\n");
		else
			strbuf_addc(out, *p);
	}
}

static void render_calls(strbuf *out)
{
	strbuf_adds(out, "# HELP backend_calls_total bank calls by service and result "
		    "(ok, refused by the bank, failed, rejected by an open circuit)\n"
		    "# TYPE backend_calls_total counter\n");
	for (size_t i = 0; i < N_SERVICES; i++)
		for (int r = 0; r < N_RES; r++) {
			unsigned long long n = atomic_load(&services[i].calls[r]);
			if (n || (services[i].url && r != RES_REFUSED))
				strbuf_addf(out, "backend_calls_total{service=\"%s\",result=\"%s\"} %llu\n",
					    services[i].name, result_names[r], n);
		}
}

void backend_metrics(strbuf *out)
{
	render_calls(out);
	strbuf_adds(out, "# HELP breaker_state circuit of each remote service (0 closed, 1 open, 2 half-open)\n"
		    "# TYPE breaker_state gauge\n");
	for (size_t i = 0; i < N_SERVICES; i++)
		if (services[i].br)
			strbuf_addf(out, "breaker_state{service=\"%s\"} %d\n", services[i].name,
				    (int)breaker_state_now(services[i].br));
	strbuf_adds(out, "# HELP fallbacks_total flows answered with their fallback, by edition and flow\n"
		    "# TYPE fallbacks_total counter\n");
	pthread_mutex_lock(&fallback_lock);
	for (size_t i = 0; i < n_fallbacks; i++) {
		strbuf_adds(out, "fallbacks_total{edition=\"");
		add_value(out, fallbacks[i].edition);
		strbuf_adds(out, "\",flow=\"");
		add_value(out, fallbacks[i].flow);
		strbuf_addf(out, "\"} %llu\n", fallbacks[i].n);
	}
	pthread_mutex_unlock(&fallback_lock);
}

static void fallbacks_clear(void)
{
	pthread_mutex_lock(&fallback_lock);
	n_fallbacks = 0;
	pthread_mutex_unlock(&fallback_lock);
}

/* --- the command line ---------------------------------------------------------------------------- */

void backend_usage(FILE *fp)
{
	fprintf(fp,
		"\nBank backends (without them every call goes to the embedded sandbox bank):\n"
		"  --backend SERVICE=URL  call SERVICE's bank operations at URL (repeatable); services:\n"
		"                         profile accounts payments products loans merchant bills fx\n"
		"  --bank-url URL         every service at one bank server (editiond --serve-bank)\n"
		"  --backend-connect-timeout MS  (default 200)   --backend-timeout MS  (default 1000)\n"
		"  --bank-secret-file F   shared secret for the bank server (sent as " BACKEND_SECRET_HEADER ")\n"
		"  --serve-bank           serve the sandbox bank itself: editiond --serve-bank --help\n");
}

static int option_misuse(const char *what, const char *arg, const char *why)
{
	fprintf(stderr, "editiond: bad %s '%s'%s%s\nTry 'editiond --help'.\n", what, arg,
		why ? ": " : "", why ? why : "");
	return 2;
}

static int apply_backend(const char *arg, strbuf *err)
{
	const char *eq = strchr(arg, '=');
	char name[32];

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof name || !eq[1]) {
		strbuf_adds(err, "want SERVICE=URL");
		return -1;
	}
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = '\0';
	return backend_set(name, eq + 1, err);
}

static int apply_ms(const char *arg, int *out)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (!*arg || *end || v < 1 || v > 600000)
		return -1;
	*out = (int)v;
	return 0;
}

/* One option with its value; 0, or 2 after a message. */
static int apply_option(const char *opt, const char *arg)
{
	strbuf err = STRBUF_INIT;
	int rc = 0, ms = 0;

	if (!strcmp(opt, "--backend") && apply_backend(arg, &err) < 0) {
		rc = option_misuse("--backend", arg, err.buf);
	} else if (!strcmp(opt, "--bank-url") && backend_set("*", arg, &err) < 0) {
		rc = option_misuse("--bank-url", arg, err.buf);
	} else if (!strcmp(opt, "--backend-connect-timeout") || !strcmp(opt, "--backend-timeout")) {
		if (apply_ms(arg, &ms) < 0)
			rc = option_misuse(opt, arg, "want milliseconds from 1 to 600000");
		else if (opt[10] == 'c')
			backend_set_timeouts(ms, 0);
		else
			backend_set_timeouts(0, ms);
	} else if (!strcmp(opt, "--bank-secret-file")) {
		char *secret = backend_read_secret_file(arg, &err);
		if (!secret || backend_set_secret(secret, &err) < 0)
			rc = option_misuse("--bank-secret-file", arg, err.buf);
		free(secret);
	}
	strbuf_release(&err);
	return rc;
}

int backend_take_options(int *argc, char **argv)
{
	static const char *const names[] = { "--backend", "--bank-url", "--backend-connect-timeout",
					     "--backend-timeout", "--bank-secret-file" };
	int out = 1;

	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i], *value = NULL, *eq = strchr(a, '=');
		size_t len = eq ? (size_t)(eq - a) : strlen(a);
		size_t k = 0;
		while (k < 5 && (strlen(names[k]) != len || strncmp(a, names[k], len)))
			k++;
		if (!strcmp(a, "--")) {
			while (i < *argc)
				argv[out++] = argv[i++];
			break;
		}
		if (k == 5) {
			argv[out++] = argv[i];
			continue;
		}
		if (eq)
			value = eq + 1;
		else if (i + 1 < *argc)
			value = argv[++i];
		else {
			fprintf(stderr, "editiond: missing value for '%s'\nTry 'editiond --help'.\n", names[k]);
			return 2;
		}
		char opt[32];
		snprintf(opt, sizeof opt, "%s", names[k]);
		int rc = apply_option(opt, value);
		if (rc)
			return rc;
	}
	argv[out] = NULL;
	*argc = out;
	return 0;
}
