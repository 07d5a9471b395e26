/*
 * http: libmicrohttpd glue.
 *
 * A request's life: the access handler's first call (headers complete)
 * allocates its http_request, takes a reference on the current pack set,
 * checks the framing and the declared body size; the upload calls append the
 * body under the cap; the last call runs the handler and queues the answer.
 * Errors found before the last call are answered at once: MHD then closes the
 * connection, which is what a refused request deserves. NOTIFY_COMPLETED
 * writes the access-log line, counts the metrics and drops the pack set.
 *
 * The deadline: MHD's timeout is an idle timeout, reset by every byte, so a
 * client sending one byte a second would never hit it. Each connection is
 * tracked from NOTIFY_CONNECTION (start time, socket); the clock restarts
 * when a request completes. A reaper thread shuts down the socket of any
 * connection past its deadline; MHD then sees the end of the stream and
 * closes it in its own thread, so the connection is never freed behind
 * MHD's back. An idle keep-alive connection thus lives at most
 * min(idle timeout, deadline).
 *
 * Per-request cost: everything that belongs to the connection (the peer's
 * address as text, whether it is loopback) is worked out once when it opens;
 * the clock restart is an atomic store, not a lock; ids and copies are made
 * without printf. The list lock is taken only when a connection opens or
 * closes, and by the reaper.
 *
 * A keep-alive client asking again for the same pack bytes (a screen's JSON)
 * gets the MHD response object its connection used last time: same status,
 * body pointer, content type and headers, only X-Request-Id swapped. Building
 * a response costs three allocations per header; the swap costs three. The
 * object belongs to that one connection (MHD serves a connection's requests
 * one after the other in one thread, and has let go of the response when the
 * next request arrives), and it is freed when the connection closes. Its body
 * pointer may outlive the pack set it came from, but it is only queued again
 * for a request that borrows the very same bytes, which that request's pack
 * set keeps alive.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"

typedef struct conn_track {
	struct conn_track *prev, *next;
	int fd;
	atomic_llong start_ms;
	int cut;                    /* shut down by the reaper */
	int peer_loopback;          /* the peer is this host */
	char client[INET6_ADDRSTRLEN];  /* the peer's address, "" when unknown */
	int nul_in_target;          /* the request being read decoded a NUL byte in its path or query */
	/* the last response of borrowed bytes, kept for the next request (MHD thread only) */
	struct MHD_Response *kept;
	const void *kept_body;
	size_t kept_len;
	int kept_status;
	const char *kept_type;
	strbuf kept_headers;
	char kept_id[17];
} conn_track;

struct http_server {
	http_config cfg;
	http_handler handler;
	void *cls;
	struct MHD_Daemon *d;
	int listen_fd;
	int port;
	atomic_long in_flight;
	pthread_mutex_t track_lock;
	conn_track tracks;          /* list head */
	pthread_t reaper;
	pthread_mutex_t reaper_lock;
	pthread_cond_t reaper_cond;
	int reaper_stop;
};

struct http_request {
	http_server *srv;
	struct MHD_Connection *conn;
	conn_track *track;          /* the connection's, or NULL when MHD gave none */
	registry *reg;
	char method[16];            /* as the handler sees it: HEAD is answered as GET */
	char method_sent[16];       /* as the client sent it, for the log */
	char *path;
	char id[17];
	char client[INET6_ADDRSTRLEN];
	int peer_loopback;          /* the socket's peer (not X-Forwarded-For) is this host */
	strbuf body;
	long long start_us;
	int status;                 /* what was answered */
	size_t bytes;
	int answered;
	int too_big;                /* the body passed max_body: answered 413 at its end */
	char edition[32];
	char route[64];
};

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static long long now_ms(void)
{
	return now_us() / 1000;
}

/* --- responses ------------------------------------------------------------- */

void http_response_header(http_response *rs, const char *name, const char *value)
{
	size_t n = strcspn(value, "\r\n");

	strbuf_adds(&rs->headers, name);
	strbuf_add(&rs->headers, ": ", 2);
	strbuf_add(&rs->headers, value, n);
	strbuf_addc(&rs->headers, '\n');
}

/* Copies s into out (n bytes with its NUL), cut when longer. */
static void copy_cut(char *out, size_t n, const char *s)
{
	size_t len = strnlen(s, n - 1);

	memcpy(out, s, len);
	out[len] = '\0';
}

static void add_common_headers(struct MHD_Response *r, const http_request *rq)
{
	MHD_add_response_header(r, "X-Request-Id", rq->id);
	MHD_add_response_header(r, "Content-Security-Policy",
				"default-src 'self'; script-src 'self'; style-src 'self'; "
				"img-src 'self' data:; object-src 'none'; base-uri 'none'; "
				"form-action 'self'; frame-ancestors 'none'");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "same-origin");
}

static void add_extra_headers(struct MHD_Response *r, strbuf *headers)
{
	char *line = headers->buf;

	while (*line) {
		char *nl = strchr(line, '\n');
		char *colon = strchr(line, ':');
		if (!nl)
			break;
		*nl = '\0';
		if (colon && colon < nl) {
			*colon = '\0';
			MHD_add_response_header(r, line, colon + 2);
		}
		line = nl + 1;
	}
}

/* The connection's kept response, if it answers rs exactly as a new one would. */
static struct MHD_Response *kept_for(conn_track *t, const http_response *rs, const char *type, int status)
{
	if (!t || !t->kept || t->kept_body != rs->borrowed || t->kept_len != rs->borrowed_len ||
	    t->kept_status != status || strcmp(t->kept_type, type) ||
	    t->kept_headers.len != rs->headers.len ||
	    memcmp(t->kept_headers.buf, rs->headers.buf, rs->headers.len))
		return NULL;
	return t->kept;
}

static void kept_drop(conn_track *t)
{
	if (t->kept)
		MHD_destroy_response(t->kept);
	t->kept = NULL;
	strbuf_release(&t->kept_headers);
}

/* Keeps r (and our reference on it) as the connection's response for rs's bytes; headers: rs's, as they were. */
static void kept_store(conn_track *t, struct MHD_Response *r, const http_response *rs,
		       strbuf *headers, const char *type, int status, const char *id)
{
	kept_drop(t);
	t->kept = r;
	t->kept_body = rs->borrowed;
	t->kept_len = rs->borrowed_len;
	t->kept_status = status;
	t->kept_type = type;
	t->kept_headers = *headers;
	strbuf_init(headers);
	memcpy(t->kept_id, id, sizeof t->kept_id);
}

/* The kept response with this request's id, or NULL (then it is dropped). */
static struct MHD_Response *kept_reuse(conn_track *t, const http_request *rq)
{
	if (MHD_del_response_header(t->kept, "X-Request-Id", t->kept_id) != MHD_YES ||
	    MHD_add_response_header(t->kept, "X-Request-Id", rq->id) != MHD_YES) {
		kept_drop(t);
		return NULL;
	}
	memcpy(t->kept_id, rq->id, sizeof t->kept_id);
	return t->kept;
}

static struct MHD_Response *build(http_request *rq, http_response *rs, const char *type, size_t *len)
{
	struct MHD_Response *r;

	if (rs->borrowed) {
		*len = rs->borrowed_len;
		r = MHD_create_response_from_buffer(*len, (void *)rs->borrowed, MHD_RESPMEM_PERSISTENT);
	} else {
		char *body = strbuf_detach(&rs->body, len);
		r = MHD_create_response_from_buffer(*len, body, MHD_RESPMEM_MUST_FREE);
		if (!r)
			free(body);
	}
	if (!r)
		return NULL;
	add_common_headers(r, rq);
	MHD_add_response_header(r, "Content-Type", type);
	add_extra_headers(r, &rs->headers);
	return r;
}

static enum MHD_Result queue(http_request *rq, http_response *rs)
{
	const char *type = rs->content_type ? rs->content_type : "text/plain; charset=utf-8";
	int status = rs->status ? rs->status : 200;
	struct MHD_Response *r = NULL;
	enum MHD_Result ok;
	size_t len = rs->borrowed_len;

	if (rs->borrowed && kept_for(rq->track, rs, type, status))
		r = kept_reuse(rq->track, rq);
	if (!r && rs->borrowed && rq->track) {
		strbuf copy = STRBUF_INIT;     /* add_extra_headers cuts the text it reads */
		strbuf_add(&copy, rs->headers.buf, rs->headers.len);
		if ((r = build(rq, rs, type, &len)))
			kept_store(rq->track, r, rs, &copy, type, status, rq->id);
		strbuf_release(&copy);
	} else if (!r) {
		r = build(rq, rs, type, &len);
	}
	if (!r)
		return MHD_NO;
	rq->status = status;
	rq->bytes = len;
	rq->answered = 1;
	copy_cut(rq->edition, sizeof rq->edition, rs->edition);
	copy_cut(rq->route, sizeof rq->route, rs->route);
	ok = MHD_queue_response(rq->conn, (unsigned)status, r);
	if (r != (rq->track ? rq->track->kept : NULL))
		MHD_destroy_response(r);
	return ok;
}

static void response_init(http_response *rs)
{
	memset(rs, 0, sizeof *rs);
	strbuf_init(&rs->body);
	strbuf_init(&rs->headers);
}

static void response_release(http_response *rs)
{
	strbuf_release(&rs->body);
	strbuf_release(&rs->headers);
}

/* A short plain answer from this layer (refused framing, too large, ...). */
static enum MHD_Result answer_plain(http_request *rq, int status, const char *text)
{
	http_response rs;
	enum MHD_Result ok;

	response_init(&rs);
	rs.status = status;
	strbuf_addf(&rs.body, "%s\n", text);
	http_response_header(&rs, "Connection", "close");
	ok = queue(rq, &rs);
	response_release(&rs);
	return ok;
}

/* --- framing checks ---------------------------------------------------------- */

typedef struct framing {
	int n_length, n_encoding;
	int length_bad, encoding_bad;
	int line_bad;               /* a name that is not a token, or a control byte in a value */
	unsigned long long length;
} framing;

/*
 * 0.9.75 turns an obsolete folded line into a header name holding spaces and
 * a colon, keeps "Name :" as a name ending in a space, and leaves a bare CR
 * inside the value: each could hide a second request from a proxy in front.
 * Names must be tokens (RFC 9110 tchar), values free of control bytes but tab.
 */
static int token_ok(const char *s)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";

	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr(extra, *s)))
			return 0;
	return 1;
}

static int value_ok(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return 0;
	return 1;
}

static int digits_only(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	framing *f = cls;

	if (!key || !token_ok(key) || !value_ok(value))
		f->line_bad = 1;
	if (!key)
		return MHD_YES;
	if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
		f->n_length++;
		if (!value || !digits_only(value) || strlen(value) > 15)
			f->length_bad = 1;
		else
			f->length = strtoull(value, NULL, 10);
	} else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
		f->n_encoding++;
		if (!value || strcasecmp(value, "chunked"))
			f->encoding_bad = 1;
	}
	return MHD_YES;
}

/* NULL when the framing is sound, else why it is refused. */
static const char *check_framing(struct MHD_Connection *c, size_t max_body, int *status)
{
	framing f = { 0 };

	MHD_get_connection_values(c, MHD_HEADER_KIND, scan_header, &f);
	*status = 400;
	if (f.line_bad)
		return "malformed header line";
	if (f.n_length > 1)
		return "more than one Content-Length";
	if (f.n_length && f.n_encoding)
		return "Content-Length together with Transfer-Encoding";
	if (f.n_encoding > 1 || f.encoding_bad)
		return "unsupported Transfer-Encoding";
	if (f.length_bad)
		return "malformed Content-Length";
	if (f.n_length && f.length > max_body) {
		*status = 413;
		return "body too large";
	}
	return NULL;
}

/*
 * MHD decodes %XX in the path and the query in place; a decoded NUL would cut
 * the path short without a trace ("/x.css%00.txt" served as "/x.css"). The
 * decoding is MHD's own; this only notes a NUL on the connection, and the
 * request is refused on the handler's first call.
 */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
	size_t n = MHD_http_unescape(s);
	const union MHD_ConnectionInfo *ci;

	(void)cls;
	if (memchr(s, '\0', n) && (ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT)) &&
	    ci->socket_context)
		((conn_track *)ci->socket_context)->nul_in_target = 1;
	return n;
}

/* --- the request ------------------------------------------------------------------ */

/* 16 hex random characters; random bytes are drawn 512 at a time per thread (one syscall per 64 ids). */
static void new_request_id(char out[17])
{
	static const char hex[] = "0123456789abcdef";
	static _Thread_local unsigned char pool[512];
	static _Thread_local size_t used = sizeof pool;

	if (used + 8 > sizeof pool) {
		randombytes_buf(pool, sizeof pool);
		used = 0;
	}
	for (int i = 0; i < 8; i++) {      /* the id is not a secret: no constant-time encoder needed */
		out[2 * i] = hex[pool[used + i] >> 4];
		out[2 * i + 1] = hex[pool[used + i] & 15];
	}
	out[16] = '\0';
	used += 8;
}

/* The peer's address as text, and whether it is this host. */
static void peer_of(struct MHD_Connection *c, char *out, size_t n, int *loopback)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	out[0] = '\0';
	if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, out, (socklen_t)n);
	else if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr, out, (socklen_t)n);
	*loopback = !strcmp(out, "127.0.0.1") || !strcmp(out, "::1");
}

/*
 * Behind a local proxy (nginx) the peer is the proxy: the customer's address
 * is the last one of X-Forwarded-For (the one the proxy itself appended).
 * Taken only from a loopback peer and only when it parses as an address.
 */
static void take_forwarded(http_request *rq)
{
	const char *xff = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "X-Forwarded-For");
	const char *last;
	char addr[INET6_ADDRSTRLEN];
	unsigned char bin[sizeof(struct in6_addr)];
	size_t n;

	if (!xff)
		return;
	last = strrchr(xff, ',');
	last = last ? last + 1 : xff;
	last += strspn(last, " \t");
	n = strcspn(last, " \t");
	if (n == 0 || n >= sizeof addr)
		return;
	memcpy(addr, last, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, bin) == 1 || inet_pton(AF_INET6, addr, bin) == 1)
		memcpy(rq->client, addr, n + 1);
}

static http_request *request_new(http_server *srv, struct MHD_Connection *c, const char *url,
				 const char *method)
{
	http_request *rq = xcalloc(1, sizeof *rq);
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	conn_track *t = ci ? ci->socket_context : NULL;

	rq->srv = srv;
	rq->conn = c;
	rq->track = t;
	rq->start_us = now_us();
	rq->reg = registry_acquire();
	copy_cut(rq->method, sizeof rq->method, strcmp(method, "HEAD") ? method : "GET");
	copy_cut(rq->method_sent, sizeof rq->method_sent, method);
	rq->path = xstrdup(url);
	strbuf_init(&rq->body);
	new_request_id(rq->id);
	if (t) {
		memcpy(rq->client, t->client, sizeof rq->client);
		rq->peer_loopback = t->peer_loopback;
	} else {
		peer_of(c, rq->client, sizeof rq->client, &rq->peer_loopback);
	}
	if (srv->cfg.trust_forwarded && rq->peer_loopback)
		take_forwarded(rq);
	atomic_fetch_add(&srv->in_flight, 1);
	metrics_in_flight(1);
	return rq;
}

static void request_free(http_request *rq)
{
	registry_release(rq->reg);
	strbuf_release(&rq->body);
	free(rq->path);
	free(rq);
}

static enum MHD_Result run_handler(http_request *rq)
{
	http_response rs;
	enum MHD_Result ok;

	response_init(&rs);
	strbuf_grow(&rs.headers, 256);     /* one allocation for the usual few headers */
	rs.status = 200;
	rq->srv->handler(rq->srv->cls, rq, &rs);
	ok = queue(rq, &rs);
	response_release(&rs);
	return ok;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
				 const char *method, const char *version, const char *upload,
				 size_t *upload_size, void **con_cls)
{
	http_server *srv = cls;
	http_request *rq = *con_cls;
	const char *why;
	int status;

	if (!rq) {
		rq = request_new(srv, c, url, method);
		*con_cls = rq;
		if (rq->track && rq->track->nul_in_target) {
			rq->track->nul_in_target = 0;
			return answer_plain(rq, 400, "NUL byte in the request target");
		}
		/* origin-form only: every handler may rely on a path that starts with '/' */
		if (url[0] != '/')
			return answer_plain(rq, 400, "the request target must start with '/'");
		if ((why = check_framing(c, srv->cfg.max_body, &status)))
			return answer_plain(rq, status, why);
		return MHD_YES;
	}
	if (rq->answered) {         /* refused early: swallow what the client still sends */
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size) {
		/*
		 * 0.9.75 cannot queue a response in the middle of an upload, so an
		 * oversized (chunked) body is dropped as it comes and answered at its
		 * end; the request deadline bounds how long that can take.
		 */
		if (rq->too_big || rq->body.len + *upload_size > srv->cfg.max_body) {
			rq->too_big = 1;
			strbuf_release(&rq->body);
		} else {
			strbuf_add(&rq->body, upload, *upload_size);
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->too_big)
		return answer_plain(rq, 413, "body too large");
	return run_handler(rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	http_server *srv = cls;
	http_request *rq = *con_cls;
	const union MHD_ConnectionInfo *ci;
	long long end_us;
	double secs;

	if (!rq)
		return;
	*con_cls = NULL;
	end_us = now_us();
	secs = (double)(end_us - rq->start_us) / 1e6;
	if (!rq->answered)
		rq->status = 499;       /* the client went away, or the deadline cut it */
	log_access(&(log_access_entry){ rq->id, rq->method_sent, rq->path, rq->status, rq->edition,
					rq->route, secs * 1000.0, rq->bytes, rq->client });
	metrics_request(rq->edition, rq->route, rq->status, secs);
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci && ci->socket_context) {
		conn_track *t = ci->socket_context;
		atomic_store_explicit(&t->start_ms, end_us / 1000, memory_order_relaxed);   /* the next request's clock */
	}
	atomic_fetch_sub(&srv->in_flight, 1);
	metrics_in_flight(-1);
	request_free(rq);
}

/* --- accessors ------------------------------------------------------------------- */

const char *http_method(const http_request *rq) { return rq->method; }
const char *http_path(const http_request *rq) { return rq->path; }
const char *http_client_ip(const http_request *rq) { return rq->client; }
int http_peer_is_loopback(const http_request *rq) { return rq->peer_loopback; }
const char *http_request_id(const http_request *rq) { return rq->id; }
registry *http_registry(const http_request *rq) { return rq->reg; }

const char *http_header(const http_request *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

const char *http_cookie(const http_request *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_COOKIE_KIND, name);
}

const char *http_query(const http_request *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	json_t *v = json_string(value ? value : "");

	if (v && key)
		json_object_set_new(cls, key, v);   /* not UTF-8: dropped, the flow sees it missing */
	else
		json_decref(v);
	return MHD_YES;
}

json_t *http_query_object(const http_request *rq)
{
	json_t *obj = json_object();

	MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, collect_arg, obj);
	return obj;
}

const char *http_body(const http_request *rq, size_t *len)
{
	*len = rq->body.len;
	return rq->body.buf;
}

typedef struct form_state {
	json_t *obj;
	strbuf cur;
	char *cur_key;
} form_state;

static void form_flush(form_state *fs)
{
	if (fs->cur_key) {
		json_t *v = json_stringn(fs->cur.buf, fs->cur.len);
		if (v)
			json_object_set_new(fs->obj, fs->cur_key, v);
		free(fs->cur_key);
		fs->cur_key = NULL;
	}
	strbuf_reset(&fs->cur);
}

static enum MHD_Result form_field(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *filename, const char *content_type,
				  const char *encoding, const char *data, uint64_t off, size_t size)
{
	form_state *fs = cls;

	if (!key || filename)
		return MHD_YES;         /* file uploads are not part of any form here */
	if (!fs->cur_key || strcmp(fs->cur_key, key) || off == 0) {
		form_flush(fs);
		fs->cur_key = xstrdup(key);
	}
	strbuf_add(&fs->cur, data, size);
	return MHD_YES;
}

json_t *http_form(const http_request *rq)
{
	form_state fs = { json_object(), STRBUF_INIT, NULL };
	struct MHD_PostProcessor *pp = MHD_create_post_processor(rq->conn, 4096, form_field, &fs);

	if (!pp) {
		json_decref(fs.obj);
		return NULL;
	}
	if (rq->body.len && MHD_post_process(pp, rq->body.buf, rq->body.len) != MHD_YES) {
		MHD_destroy_post_processor(pp);
		form_flush(&fs);
		strbuf_release(&fs.cur);
		json_decref(fs.obj);
		return NULL;
	}
	MHD_destroy_post_processor(pp);
	form_flush(&fs);
	strbuf_release(&fs.cur);
	return fs.obj;
}

/* --- connections and the deadline --------------------------------------------------- */

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	http_server *srv = cls;
	conn_track *t;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		t = xcalloc(1, sizeof *t);
		t->fd = ci ? ci->connect_fd : -1;
		atomic_init(&t->start_ms, now_ms());
		peer_of(c, t->client, sizeof t->client, &t->peer_loopback);
		pthread_mutex_lock(&srv->track_lock);
		t->next = srv->tracks.next;
		t->prev = &srv->tracks;
		srv->tracks.next->prev = t;
		srv->tracks.next = t;
		pthread_mutex_unlock(&srv->track_lock);
		strbuf_init(&t->kept_headers);
		*socket_context = t;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED && (t = *socket_context)) {
		pthread_mutex_lock(&srv->track_lock);
		t->prev->next = t->next;
		t->next->prev = t->prev;
		pthread_mutex_unlock(&srv->track_lock);
		kept_drop(t);
		free(t);
		*socket_context = NULL;
	}
}

static void reap_once(http_server *srv)
{
	long long now = now_ms();
	int cut = 0;

	pthread_mutex_lock(&srv->track_lock);
	for (conn_track *t = srv->tracks.next; t != &srv->tracks; t = t->next) {
		if (!t->cut && t->fd >= 0 &&
		    now - atomic_load_explicit(&t->start_ms, memory_order_relaxed) > srv->cfg.deadline_ms) {
			shutdown(t->fd, SHUT_RDWR);
			t->cut = 1;
			cut++;
		}
	}
	pthread_mutex_unlock(&srv->track_lock);
	if (cut)
		log_warn("closed %d connection(s) past the %d ms request deadline", cut,
			 srv->cfg.deadline_ms);
}

static void *reaper_main(void *arg)
{
	http_server *srv = arg;
	int tick = srv->cfg.deadline_ms / 10;

	if (tick < 50)
		tick = 50;
	if (tick > 1000)
		tick = 1000;
	pthread_mutex_lock(&srv->reaper_lock);
	while (!srv->reaper_stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)tick * 1000000;
		ts.tv_sec += ts.tv_nsec / 1000000000;
		ts.tv_nsec %= 1000000000;
		pthread_cond_timedwait(&srv->reaper_cond, &srv->reaper_lock, &ts);
		if (srv->reaper_stop)
			break;
		pthread_mutex_unlock(&srv->reaper_lock);
		reap_once(srv);
		pthread_mutex_lock(&srv->reaper_lock);
	}
	pthread_mutex_unlock(&srv->reaper_lock);
	return NULL;
}

/* --- start and stop ---------------------------------------------------------------- */

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof buf, fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_warn("http: %s", buf);
}

static void apply_defaults(http_config *c)
{
	if (!c->host)
		c->host = "127.0.0.1";
	if (c->workers <= 0)
		c->workers = 2;
	if (!c->max_body)
		c->max_body = 1u << 20;
	if (!c->memory_limit)
		c->memory_limit = 16u << 10;
	if (c->idle_timeout_s <= 0)
		c->idle_timeout_s = 15;
	if (c->deadline_ms <= 0)
		c->deadline_ms = 30000;
	if (!c->max_conns)
		c->max_conns = 1024;
	if (!c->max_conns_per_ip)
		c->max_conns_per_ip = 128;
}

/* Binds the listening socket here, so that a taken port gets a clear message. */
static int bind_listener(http_server *s, strbuf *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)s->cfg.port) };
	socklen_t sl = sizeof sa;
	int one = 1, fd;

	if (inet_pton(AF_INET, s->cfg.host, &sa.sin_addr) != 1) {
		strbuf_addf(err, "bad listen address '%s' (want an IPv4 address)", s->cfg.host);
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 511) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		strbuf_addf(err, "cannot listen on '%s:%d': %s", s->cfg.host, s->cfg.port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	s->listen_fd = fd;
	s->port = ntohs(sa.sin_port);
	return 0;
}

int http_start(const http_config *cfg, http_handler h, void *cls, http_server **out, strbuf *err)
{
	http_server *s = xcalloc(1, sizeof *s);
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_USE_TURBO;

	s->cfg = *cfg;
	apply_defaults(&s->cfg);
	s->handler = h;
	s->cls = cls;
	s->tracks.next = s->tracks.prev = &s->tracks;
	pthread_mutex_init(&s->track_lock, NULL);
	pthread_mutex_init(&s->reaper_lock, NULL);
	pthread_cond_init(&s->reaper_cond, NULL);
	if (sodium_init() < 0 || bind_listener(s, err) < 0)
		goto fail;
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_access, s,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
		MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->cfg.workers,
		MHD_OPTION_CONNECTION_LIMIT, s->cfg.max_conns,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, s->cfg.max_conns_per_ip,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->cfg.idle_timeout_s,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, s->cfg.memory_limit,
		MHD_OPTION_STRICT_FOR_CLIENT, 1,
		MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
		MHD_OPTION_END);
	if (!s->d) {
		strbuf_addf(err, "cannot start the http server on '%s:%d'", s->cfg.host, s->port);
		close(s->listen_fd);
		goto fail;
	}
	if (pthread_create(&s->reaper, NULL, reaper_main, s)) {
		strbuf_addf(err, "cannot start the deadline thread");
		MHD_stop_daemon(s->d);
		close(s->listen_fd);
		goto fail;
	}
	log_info("http: %d workers, body up to %zu bytes, %zu bytes per connection, idle %d s, "
		 "deadline %d ms, %u connections (%u per address)", s->cfg.workers, s->cfg.max_body,
		 s->cfg.memory_limit, s->cfg.idle_timeout_s, s->cfg.deadline_ms, s->cfg.max_conns,
		 s->cfg.max_conns_per_ip);
	*out = s;
	return 0;
fail:
	pthread_mutex_destroy(&s->track_lock);
	pthread_mutex_destroy(&s->reaper_lock);
	pthread_cond_destroy(&s->reaper_cond);
	free(s);
	return -1;
}

int http_port(const http_server *s)
{
	return s->port;
}

long http_in_flight(const http_server *s)
{
	return atomic_load(&((http_server *)s)->in_flight);
}

int http_drain(http_server *s, int wait_ms)
{
	long long until = now_ms() + wait_ms;

	if (s->listen_fd >= 0) {
		MHD_socket fd = MHD_quiesce_daemon(s->d);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
		s->listen_fd = -1;
	}
	while (http_in_flight(s) > 0 && now_ms() < until) {
		struct timespec ts = { 0, 20 * 1000000 };
		nanosleep(&ts, NULL);
	}
	return http_in_flight(s) == 0;
}

void http_stop(http_server *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->reaper_lock);
	s->reaper_stop = 1;
	pthread_cond_signal(&s->reaper_cond);
	pthread_mutex_unlock(&s->reaper_lock);
	pthread_join(s->reaper, NULL);
	MHD_stop_daemon(s->d);          /* closes the listening socket unless quiesced */
	pthread_mutex_destroy(&s->track_lock);
	pthread_mutex_destroy(&s->reaper_lock);
	pthread_cond_destroy(&s->reaper_cond);
	free(s);
}
