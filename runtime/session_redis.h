/*
 * session_redis: a session store (session_store_ops) shared through Redis, so
 * that any editiond instance behind a load balancer can serve any customer.
 *
 * Keys: "<prefix>sess:<hex SHA-256 of the token>" holds the session as JSON
 * (SET ... EX idle, the TTL refreshed by every read with GETEX: Redis 6.2 or
 * later), "<prefix>att:<hex>" the failed logins of one user name or address.
 * Times inside the records are Unix seconds, so instances on several machines
 * agree on idle expiry and lockouts.
 *
 * When Redis does not answer (connect 50 ms, command 100 ms by default), the
 * store is degraded: requests go on from a local copy of every session this
 * process has read or written lately, changes are kept locally, and a
 * background thread retries Redis every 500 ms, writes those changes back and
 * then leaves the degraded state by itself. A session this process has never
 * seen (or no longer holds) cannot be read during an outage.
 */
#ifndef SESSION_REDIS_H
#define SESSION_REDIS_H

#include "session.h"
#include "strbuf.h"

#define SESSION_REDIS_PREFIX "obe:"

typedef struct session_redis_url {  /* public */
	char host[256];
	int port;                   /* 6379 when the URL has none */
	int db;                     /* 0 when the URL has none */
} session_redis_url;

typedef struct session_redis_config {   /* public; zeros take the defaults */
	const char *url;            /* redis://HOST[:PORT][/DB], required */
	const char *prefix;         /* key prefix, default "obe:" */
	int idle_s;                 /* TTL when a put names none (the manager always does), default 900 */
	int connect_ms;             /* 50 */
	int command_ms;             /* 100 */
	int retry_ms;               /* 500: how often a degraded store tries Redis again */
	long local_max;             /* 4096: sessions kept locally besides unsaved changes */
} session_redis_config;

typedef struct session_redis_stats {    /* public */
	int degraded;               /* 1 while Redis does not answer or changes wait */
	unsigned long outages;      /* times the store became degraded */
	unsigned long writebacks;   /* records written (or deleted) in Redis after an outage */
	unsigned long errors;       /* failed commands and unreadable records */
	long pending;               /* local changes not yet in Redis */
	long local;                 /* sessions and attempts held locally */
} session_redis_stats;

/*
 * Parses redis://HOST[:PORT][/DB] (HOST may be [IPv6]). 0, or -1 with the
 * reason in err.
 */
int session_redis_parse_url(const char *url, session_redis_url *out, strbuf *err);

/*
 * Opens a store; hand *ops and *impl to session_mgr_new_store, which frees
 * the store. An unreachable Redis is not an error: the store starts degraded.
 * 0, or -1 with the reason in err (bad URL or prefix).
 */
int session_redis_open(const char *url, const char *prefix, const session_store_ops **ops,
		       void **impl, strbuf *err);
int session_redis_open_config(const session_redis_config *cfg, const session_store_ops **ops,
			      void **impl, strbuf *err);

/* One store's figures (impl from session_redis_open). */
void session_redis_store_stats(void *impl, session_redis_stats *out);
/* The figures of every open store of the process, summed; degraded if any is. */
void session_redis_stats_get(session_redis_stats *out);
/* 1 when any open store of the process is degraded. */
int session_redis_degraded(void);
/* Appends the session_store_* series in the Prometheus text format; nothing when no store is open. */
void session_redis_metrics(strbuf *out);

#endif
