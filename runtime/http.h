/*
 * http: the server's HTTP side, on libmicrohttpd (epoll, internal thread pool).
 *
 * Every limit is set (connections, per-address connections, idle timeout,
 * memory per connection, which bounds the header size, body size) and a
 * deadline covers each whole request, so a client trickling bytes is cut off.
 * Framing that allows request smuggling (two Content-Length headers,
 * Content-Length with Transfer-Encoding, a Transfer-Encoding other than
 * chunked) is refused with 400 before anything else runs. Responses are
 * queued only on the access handler's second call (0.9.75 closes keep-alive
 * connections otherwise). Each response carries X-Request-Id and the security
 * headers; each request leaves one access-log line and its metrics.
 *
 * The handler sees an opaque request (read with the accessors below) and fills
 * a public http_response.
 */
#ifndef HTTP_H
#define HTTP_H

#include <jansson.h>
#include <stddef.h>

#include "registry.h"
#include "strbuf.h"

typedef struct http_request http_request;

typedef struct http_response {  /* public: what a handler answers */
	int status;                 /* 200 unless set */
	const char *content_type;   /* a static string; NULL: text/plain */
	strbuf body;                /* the body, unless borrowed is set */
	const void *borrowed;       /* bytes that outlive the request (pack data), or NULL */
	size_t borrowed_len;
	strbuf headers;             /* extra headers, "Name: value\n" each */
	char edition[32];           /* for the log and metrics: "" when none */
	char route[64];
} http_response;

/* Adds "name: value" to the response. The value must not hold CR or LF (it is cut there). */
void http_response_header(http_response *rs, const char *name, const char *value);

const char *http_method(const http_request *rq);       /* "GET" (also for HEAD), "POST", ... */
const char *http_path(const http_request *rq);
const char *http_header(const http_request *rq, const char *name);   /* NULL when absent */
const char *http_cookie(const http_request *rq, const char *name);
const char *http_query(const http_request *rq, const char *name);
json_t *http_query_object(const http_request *rq);     /* new reference: the query as strings */
const char *http_body(const http_request *rq, size_t *len);
/* The form fields of an urlencoded or multipart body, through MHD's post processor (new reference), or NULL. */
json_t *http_form(const http_request *rq);
/* The client's address: the peer's, or with trust_forwarded the last X-Forwarded-For entry a local proxy added. */
const char *http_client_ip(const http_request *rq);
int http_peer_is_loopback(const http_request *rq);    /* the socket's peer is this host */
const char *http_request_id(const http_request *rq);
registry *http_registry(const http_request *rq);       /* the pack set this request holds (borrowed) */

typedef void (*http_handler)(void *cls, http_request *rq, http_response *rs);

typedef struct http_config {    /* public; zeros take the defaults */
	const char *host;           /* "127.0.0.1" */
	int port;                   /* 0: any free port (see http_port) */
	int workers;                /* threads in the pool: 2 */
	size_t max_body;            /* 1 MiB */
	size_t memory_limit;        /* per connection, bounds the header: 16 KiB */
	int idle_timeout_s;         /* 15 */
	int deadline_ms;            /* the whole request: 30000 */
	unsigned max_conns;         /* 1024 */
	unsigned max_conns_per_ip;  /* 128 */
	int trust_forwarded;        /* behind a local proxy: take X-Forwarded-For from loopback peers */
} http_config;

typedef struct http_server http_server;

/* Binds and starts. 0, or -1 with the reason in err ("cannot listen on '127.0.0.1:8080': ..."). */
int http_start(const http_config *cfg, http_handler h, void *cls, http_server **out, strbuf *err);
int http_port(const http_server *s);
/* Stops accepting; requests in flight go on. Then waits up to wait_ms for them. 1 when none is left. */
int http_drain(http_server *s, int wait_ms);
long http_in_flight(const http_server *s);
void http_stop(http_server *s);                        /* stops and frees */

#endif
