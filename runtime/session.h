/*
 * session: who is talking to the server, between requests.
 *
 * A session is named by a 256-bit random token (64 hex characters) that the
 * browser holds in the cookie `obe_session` (HttpOnly, SameSite=Lax, Path=/)
 * and a native client sends as `Authorization: Bearer <token>`. The store
 * keeps sessions under the SHA-256 of the token, so a dump of the store does
 * not hand out live tokens. Each session has its own CSRF token.
 *
 * SameSite=Lax, not Strict: with Strict, a browser that arrives at /login from
 * another site drops the cookie on the redirect after login in some browsers,
 * and the customer lands on the login page again. Lax still withholds the
 * cookie from cross-site POSTs, and every form carries the CSRF token anyway.
 *
 * Callers work on a copy (struct session) and write it back with session_save
 * when they changed it; session_get refreshes the idle clock in the store
 * itself, so a read never overwrites a concurrent write. Logging in always
 * makes a new token (a pre-login token is never promoted: no fixation).
 *
 * The store is a vtable (session_store_ops) so that a shared store (Redis) can
 * stand behind the same functions; the default is an in-memory sharded table.
 */
#ifndef SESSION_H
#define SESSION_H

#include "bank.h"
#include "strbuf.h"

#define SESSION_COOKIE "obe_session"
#define SESSION_TOKEN_LEN 64
#define SESSION_MAX_IDENTITIES 8

typedef struct session_identity {   /* public */
	char key[40];               /* "personal" or "enterprise:<id>" */
	long long enterprise_id;    /* 0 for the personal identity */
	char name[96];              /* the person's or the enterprise's name */
	char role[16];              /* "", "boss", "operator" */
} session_identity;

typedef struct session {            /* public: a copy; release with session_clear */
	char id[SESSION_TOKEN_LEN + 1];     /* the token */
	char csrf[SESSION_TOKEN_LEN + 1];
	long long customer_id;      /* 0: not logged in */
	char username[32];
	char name[64];
	char tier[16];              /* "mass", "private" */
	char preference[24];        /* "", "care", "english" */
	char locale[8];
	session_identity identities[SESSION_MAX_IDENTITIES];
	int n_identities;
	int current;                /* index into identities */
	char *flash;                /* one-shot result of the last POST (JSON text), owned, or NULL */
	char pinned_edition[32];    /* gray release: the version a session started with */
	char pinned_version[16];
	long long created, last_seen;   /* seconds of the manager's clock (Unix time) */
} session;

/* Failed logins of one key ("user:zhangwei", "ip:127.0.0.1"). */
typedef struct session_attempts {   /* public */
	int failures;
	long long window_start;
	long long locked_until;
} session_attempts;

/*
 * A store. key is the hex SHA-256 of a token (or of an attempts key). get
 * copies the session out (flash duplicated) and refreshes its idle clock, or
 * returns -1 when absent or idle for idle_s seconds (and drops it). put copies;
 * ttl_s is how long the record may live untouched (a shared store sets it as
 * the key's expiry, the memory store sweeps by it).
 */
typedef struct session_store_ops {  /* public */
	int (*get)(void *impl, const char *key, long long now, int idle_s, session *out);
	int (*put)(void *impl, const char *key, const session *s, int ttl_s);
	void (*del)(void *impl, const char *key);
	long (*count)(void *impl, long long now, int idle_s);
	int (*attempts_get)(void *impl, const char *key, session_attempts *out);
	void (*attempts_put)(void *impl, const char *key, const session_attempts *a, int ttl_s);
	void (*attempts_del)(void *impl, const char *key);
	void (*free)(void *impl);
} session_store_ops;

typedef struct session_config {     /* public; zeros take the defaults */
	int idle_s;                 /* 900 */
	int user_failures;          /* 5 failures of one user name ... */
	int ip_failures;            /* 20 failures from one address ... */
	int window_s;               /* ... within 900 s lock it ... */
	int lock_s;                 /* ... for 900 s */
	int cookie_secure;          /* add "; Secure" (behind TLS) */
	long long (*now)(void);     /* clock in seconds; NULL: Unix time */
} session_config;

typedef struct session_mgr session_mgr;

/* A manager on the in-memory store. Free with session_mgr_free. */
session_mgr *session_mgr_new(const session_config *cfg);
/* A manager on another store; it takes impl and frees it through ops->free. */
session_mgr *session_mgr_new_store(const session_config *cfg, const session_store_ops *ops, void *impl);
void session_mgr_free(session_mgr *m);

/* A fresh anonymous session (new token, new CSRF token), stored. */
void session_new(session_mgr *m, session *out);
/* 0 and a copy, or -1 when the token is malformed, unknown or idle-expired. */
int session_get(session_mgr *m, const char *token, session *out);
void session_save(session_mgr *m, const session *s);
void session_destroy(session_mgr *m, const char *token);
void session_clear(session *s);                  /* frees the copy's flash */
long session_count(session_mgr *m);

/*
 * Logs a customer in: s (the pre-login session, or zeroed) is destroyed and
 * replaced by a new one with a new token and CSRF token, the personal identity
 * first, then one identity per binding; stored.
 */
void session_login(session_mgr *m, session *s, const bank_customer *c,
		   const bank_binding *bindings, int n_bindings);

/* Makes identity key current. 0, or -1 when the session has no such identity. Caller saves. */
int session_switch(session *s, const char *key);
const session_identity *session_current(const session *s);
void session_bank_identity(const session *s, bank_identity *out);

/* Constant-time comparison with the session's CSRF token. 1 when equal. */
int session_csrf_ok(const session *s, const char *token);

/* The flash: set (copies; NULL clears) and take (caller frees; caller saves). */
void session_set_flash(session *s, const char *text);
char *session_take_flash(session *s);

/*
 * Lockout. session_login_allowed: 1 when neither the user name nor the address
 * is locked. session_login_failed counts a failure for both;
 * session_login_succeeded clears the user name's count.
 */
int session_login_allowed(session_mgr *m, const char *username, const char *ip);
void session_login_failed(session_mgr *m, const char *username, const char *ip);
void session_login_succeeded(session_mgr *m, const char *username);

/* Set-Cookie values: the session's cookie, and one that removes it. */
void session_cookie(const session_mgr *m, const char *token, strbuf *out);
void session_cookie_clear(const session_mgr *m, strbuf *out);

/* A random token of 64 hex characters (also used for idempotency keys). */
void session_random_token(char out[SESSION_TOKEN_LEN + 1]);

#endif
