/*
 * sec: the security suite's client side. Every attack is a check that passes
 * only when the attack fails against a running editiond (real HTTP through
 * libcurl, raw sockets for requests no ordinary client sends). Output is one
 * line per attack, "PASS name" or "FAIL name: detail", and a last line
 * "N passed, N failed".
 */
#ifndef SEC_H
#define SEC_H

#include <curl/curl.h>
#include <jansson.h>
#include <stddef.h>

extern int sec_port;
extern char sec_base[64];

void sec_check(int ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void sec_summary(void);
int sec_failed(void);

/* --- HTTP through libcurl ------------------------------------------------------- */

typedef struct sec_resp {
	long status;          /* 0: no answer */
	char *body;
	size_t len;
	char *headers;        /* every header line of the answer */
} sec_resp;

typedef struct sec_client {
	CURL *c;
	char bearer[160];     /* "Authorization: Bearer ..." or "" */
	char csrf[96];        /* the session's CSRF token (form or API login) */
	char location[256];   /* Location of the last form login's answer */
	int send_csrf;        /* add "X-CSRF-Token: csrf" to every request */
} sec_client;

sec_client *sec_client_new(void);
void sec_client_free(sec_client *cl);
void sec_resp_free(sec_resp *r);
/* extra: NULL-terminated header lines; the client's bearer header is added when set. */
sec_resp sec_request(sec_client *cl, const char *method, const char *path, const char *ctype,
		     const char *body, size_t body_len, const char **extra);
sec_resp sec_get(sec_client *cl, const char *path);
sec_resp sec_post_form(sec_client *cl, const char *path, const char *body);
sec_resp sec_post_json(sec_client *cl, const char *path, const char *body, const char *idem_key);
int sec_header(const sec_resp *r, const char *name, char *out, size_t n);
int sec_form_value(const char *html, const char *name, char *out, size_t n);
/* The obe_session cookie the client holds, or "". */
void sec_cookie(sec_client *cl, char *out, size_t n);
/* Form login; returns the status of the POST (303 when logged in). */
long sec_login_form(sec_client *cl, const char *user, const char *password);
/* API login into cl->bearer / cl->csrf; returns the status. */
long sec_login_api(sec_client *cl, const char *user, const char *password);
/* The CSRF token of a page the client may open (form login), into cl->csrf. */
int sec_fetch_csrf(sec_client *cl, const char *page);
/*
 * A logged-in client for user (form login, cookie); identity "enterprise:1"
 * switches to it; NULL stays personal. csrf is the session's token and is
 * sent as X-CSRF-Token. NULL when the login or the switch failed.
 */
sec_client *sec_identity(const char *user, const char *identity);
/* A form body: _csrf, _idem, _confirm=1 when confirm, then params (strings as they are, true as 1). */
void sec_form_body(json_t *params, const char *csrf, const char *idem, int confirm, char *out, size_t n);
/* URL-encodes s into out (n bytes). */
void sec_urlencode(const char *s, char *out, size_t n);

/* --- raw sockets ------------------------------------------------------------------ */

int sec_raw_connect(int timeout_s);
/* Sends len bytes, reads until close or timeout; returns what came (malloc'd), *got its length. */
char *sec_raw_exchange(const char *data, size_t len, int timeout_s, size_t *got);
/* Number of "HTTP/1." status lines in a raw answer. */
int sec_count_responses(const char *raw, size_t len);

/* --- packs ------------------------------------------------------------------------- */

/* The flow_specs and routes JSON of edition's pack in dir (new references), 0 on success. */
int sec_pack_json(const char *dir, const char *edition, json_t **flow_specs, json_t **routes,
		  json_t **products);

/* The first payee of the client in edition, the default of "payee" params. */
extern char sec_own_payee[32];
void sec_load_payee(sec_client *cl, const char *edition);
/* Valid-looking params of a flow (own_account for account params), "_confirm": true included. */
json_t *sec_flow_params(const char *own_account, const char *flow, json_t *spec, json_t *products);

/* --- the attack groups ---------------------------------------------------------------- */

void sec_session_attacks(void);
void sec_csrf_attacks(void);
void sec_idor_attacks(const char *pack_dir);
void sec_xss_attacks(const char *pack_dir);
void sec_path_attacks(void);
void sec_smuggling_attacks(void);
void sec_size_attacks(void);
void sec_slow_attacks(double request_timeout);
void sec_lockout_attacks(void);
void sec_lockout_ip_attacks(void);

#endif
