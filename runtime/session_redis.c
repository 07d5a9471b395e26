/*
 * session_redis: the Redis session store and its local fallback.
 *
 * Every worker thread has its own blocking hiredis connection (a pthread key,
 * connected on first use, short connect and command timeouts), so requests
 * never wait on each other for Redis. Redis is the truth while it answers:
 * reads go to Redis, and every session read or written is also kept in a
 * local map (bounded, least recently used first out), so that when Redis stops
 * answering the customers who were active lately go on undisturbed.
 *
 * Degraded: the first command that fails (timeout, refused, error reply)
 * flags the store degraded; from then on no request touches Redis, reads and
 * writes go to the local map, and every change is marked dirty (changed,
 * deleted, or only touched by a read, whose TTL must not run out in Redis
 * meanwhile). Dirty entries are never evicted. A background thread tries Redis
 * every retry_ms; when it answers, the thread writes the dirty entries back
 * (SET, DEL, or EXPIRE for touched ones, SET when a restarted Redis lost
 * them) and leaves the degraded state once
 * nothing is left to write. An entry changed again while its write was on the
 * way stays dirty (a version number per entry), so no change is lost. Worker
 * connections made before the outage are dropped when it ends (an epoch), so
 * the first request after recovery does not trip on a dead socket.
 *
 * Limits: a session this process never saw cannot be read during an outage;
 * lockout counts are per instance during an outage; when two instances change
 * one session during an outage, the last write back wins.
 *
 * Times in the records are the manager's clock as they are: Unix seconds, so
 * instances on several machines agree on them.
 */
#include "session_redis.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define N_BUCKETS 4096
#define ATTEMPTS_TTL_S 86400
#define WRITEBACK_BATCH 32
#define WRITEBACK_ROUNDS 64         /* batches per retry tick, so a busy store still yields */
#define SCAN_MAX_CALLS 1000

enum { CLEAN, DIRTY_TOUCHED, DIRTY_CHANGED, DIRTY_DELETED };

typedef struct local_entry {
	struct local_entry *chain;          /* hash bucket */
	struct local_entry *prev, *next;    /* the clean (LRU) or the dirty list */
	char key[SESSION_TOKEN_LEN + 1];
	unsigned char is_session, dirty;
	unsigned long version;              /* bumped by every local change */
	long long touched_ms;               /* monotonic ms of the last use here */
	int ttl_s;                          /* how long the record may live untouched */
	session s;                          /* id cleared, times on the manager's clock */
	session_attempts a;
} local_entry;

typedef struct redis_store redis_store;

typedef struct redis_conn {             /* one worker thread's connection */
	redisContext *c;
	unsigned long epoch;
	struct redis_conn *prev, *next;
	redis_store *owner;
} redis_conn;

struct redis_store {
	session_redis_url url;
	char sess_prefix[80], att_prefix[80];
	int connect_ms, command_ms, retry_ms;
	long local_max;
	atomic_int idle_s;
	atomic_int degraded;
	atomic_ulong epoch, outages, writebacks, errors;

	pthread_key_t conn_key;
	pthread_mutex_t conns_lock;
	redis_conn *conns;

	pthread_mutex_t lock;               /* the local map, both lists, the counts */
	local_entry *buckets[N_BUCKETS];
	local_entry clean, dirty;           /* list heads: most recent first */
	long n_clean, n_dirty;

	pthread_t retry;
	pthread_mutex_t wait_lock;
	pthread_cond_t wake;
	int stopping;
	redisContext *retry_conn;           /* the retry thread's own */

	redis_store *next_open;
};

static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static redis_store *open_stores;

/* --- clocks ------------------------------------------------------------------------ */

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- URL ---------------------------------------------------------------------------- */

static int url_error(strbuf *err, const char *url, const char *why)
{
	if (err)
		strbuf_addf(err, "invalid session store url '%s': %s", url ? url : "", why);
	return -1;
}

static int parse_number(const char *p, size_t n, long max, long *out)
{
	long v = 0;

	if (n == 0 || n > 6)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* The host, bracketed for IPv6; *rest is left after it. */
static int parse_host(const char *p, session_redis_url *out, const char **rest)
{
	const char *end;
	size_t n;

	if (*p == '[') {
		if (!(end = strchr(p, ']')))
			return -1;
		n = (size_t)(end - p - 1);
		*rest = end + 1;
		p++;
	} else {
		n = strcspn(p, ":/");
		*rest = p + n;
	}
	if (n == 0 || n >= sizeof out->host)
		return -1;
	memcpy(out->host, p, n);
	out->host[n] = '\0';
	return strcspn(out->host, " \t\r\n?#") == n ? 0 : -1;
}

int session_redis_parse_url(const char *url, session_redis_url *out, strbuf *err)
{
	const char *p, *rest;
	long v;

	memset(out, 0, sizeof *out);
	out->port = 6379;
	if (!url || strncmp(url, "redis://", 8))
		return url_error(err, url, "expected redis://HOST[:PORT][/DB]");
	p = url + 8;
	if (strchr(p, '@'))
		return url_error(err, url, "credentials in the url are not supported");
	if (parse_host(p, out, &rest) < 0)
		return url_error(err, url, "missing or malformed host");
	if (*rest == ':') {
		size_t n = strcspn(rest + 1, "/");
		if (parse_number(rest + 1, n, 65535, &v) < 0 || v == 0)
			return url_error(err, url, "the port must be a number from 1 to 65535");
		out->port = (int)v;
		rest += 1 + n;
	}
	if (*rest == '/') {
		size_t n = strlen(rest + 1);
		if (n && parse_number(rest + 1, n, 9999, &v) < 0)
			return url_error(err, url, "the database must be a number from 0 to 9999");
		out->db = n ? (int)v : 0;
		rest += 1 + n;
	}
	if (*rest)
		return url_error(err, url, "unexpected text after the host");
	return 0;
}

/* --- local map (every function here runs under st->lock) ---------------------------- */

static unsigned key_hash(const char *key, int is_session)
{
	unsigned h = 2166136261u ^ (unsigned)is_session;

	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h % N_BUCKETS;
}

static local_entry *local_find(redis_store *st, const char *key, int is_session)
{
	local_entry *e = st->buckets[key_hash(key, is_session)];

	while (e && (e->is_session != is_session || strcmp(e->key, key)))
		e = e->chain;
	return e;
}

static void list_unlink(redis_store *st, local_entry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	if (e->dirty)
		st->n_dirty--;
	else
		st->n_clean--;
}

static void list_push(redis_store *st, local_entry *e)
{
	local_entry *head = e->dirty ? &st->dirty : &st->clean;

	e->next = head->next;
	e->prev = head;
	head->next->prev = e;
	head->next = e;
	if (e->dirty)
		st->n_dirty++;
	else
		st->n_clean++;
}

/* Moves e to the front of its list, with a new dirty state. */
static void local_mark(redis_store *st, local_entry *e, int dirty)
{
	list_unlink(st, e);
	e->dirty = (unsigned char)dirty;
	e->touched_ms = mono_ms();
	list_push(st, e);
}

static void local_remove(redis_store *st, local_entry *e)
{
	local_entry **pp = &st->buckets[key_hash(e->key, e->is_session)];

	while (*pp != e)
		pp = &(*pp)->chain;
	*pp = e->chain;
	list_unlink(st, e);
	free(e->s.flash);
	free(e);
}

static local_entry *local_insert(redis_store *st, const char *key, int is_session)
{
	local_entry *e = xcalloc(1, sizeof *e);
	unsigned h = key_hash(key, is_session);

	snprintf(e->key, sizeof e->key, "%s", key);
	e->is_session = (unsigned char)is_session;
	e->touched_ms = mono_ms();
	e->chain = st->buckets[h];
	st->buckets[h] = e;
	list_push(st, e);
	return e;
}

/* Drops the least recently used clean entries beyond the bound; dirty ones stay. */
static void local_evict(redis_store *st)
{
	while (st->n_clean > st->local_max)
		local_remove(st, st->clean.prev);
}

/*
 * The entry to write key's new value into, or NULL when a clean copy must not
 * replace a change Redis has not seen.
 */
static local_entry *local_slot(redis_store *st, const char *key, int is_session, int dirty)
{
	local_entry *e = local_find(st, key, is_session);

	if (!e)
		return local_insert(st, key, is_session);
	if (!dirty && e->dirty)
		return NULL;
	return e;
}

static void local_put_session(redis_store *st, const char *key, const session *s, int ttl_s, int dirty)
{
	local_entry *e;

	pthread_mutex_lock(&st->lock);
	if ((e = local_slot(st, key, 1, dirty))) {
		free(e->s.flash);
		e->s = *s;
		e->s.flash = s->flash ? xstrdup(s->flash) : NULL;
		memset(e->s.id, 0, sizeof e->s.id);
		e->ttl_s = ttl_s;
		e->version++;
		local_mark(st, e, dirty);
		local_evict(st);
	}
	pthread_mutex_unlock(&st->lock);
}

static void local_put_attempts(redis_store *st, const char *key, const session_attempts *a,
			       int ttl_s, int dirty)
{
	local_entry *e;

	pthread_mutex_lock(&st->lock);
	if ((e = local_slot(st, key, 0, dirty))) {
		e->a = *a;
		e->ttl_s = ttl_s;
		e->version++;
		local_mark(st, e, dirty);
		local_evict(st);
	}
	pthread_mutex_unlock(&st->lock);
}

enum { GONE_IN_REDIS, DELETED_IN_REDIS, DELETE_LATER };

/*
 * GONE_IN_REDIS: Redis has no such record (a local change waiting keeps it);
 * DELETED_IN_REDIS: it was just deleted there; DELETE_LATER: during an outage.
 */
static void local_delete(redis_store *st, const char *key, int is_session, int how)
{
	local_entry *e;

	pthread_mutex_lock(&st->lock);
	e = local_find(st, key, is_session);
	if (how == DELETE_LATER) {
		if (!e)
			e = local_insert(st, key, is_session);
		free(e->s.flash);
		memset(&e->s, 0, sizeof e->s);
		e->version++;
		local_mark(st, e, DIRTY_DELETED);
	} else if (e && (how == DELETED_IN_REDIS || !e->dirty)) {
		local_remove(st, e);
	}
	pthread_mutex_unlock(&st->lock);
}

/* A read while degraded: the idle clock restarts here and Redis's TTL must follow later. */
static int local_get_session(redis_store *st, const char *key, long long now, int idle_s, session *out)
{
	local_entry *e;
	int rc = -1;

	pthread_mutex_lock(&st->lock);
	e = local_find(st, key, 1);
	if (e && e->dirty != DIRTY_DELETED && now - e->s.last_seen >= idle_s) {
		local_remove(st, e);
	} else if (e && e->dirty != DIRTY_DELETED) {
		e->s.last_seen = now;
		e->ttl_s = idle_s;
		*out = e->s;
		out->flash = e->s.flash ? xstrdup(e->s.flash) : NULL;
		local_mark(st, e, e->dirty ? e->dirty : DIRTY_TOUCHED);
		rc = 0;
	}
	pthread_mutex_unlock(&st->lock);
	return rc;
}

static int local_get_attempts(redis_store *st, const char *key, session_attempts *out)
{
	local_entry *e;
	int rc = -1;

	pthread_mutex_lock(&st->lock);
	e = local_find(st, key, 0);
	if (e && e->dirty != DIRTY_DELETED) {
		*out = e->a;
		rc = 0;
	}
	pthread_mutex_unlock(&st->lock);
	return rc;
}

/* Drops idle sessions; the number of live sessions held locally. */
static long local_sweep(redis_store *st, long long now, int idle_s)
{
	long alive = 0;

	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < N_BUCKETS; i++) {
		local_entry *e = st->buckets[i];
		while (e) {
			local_entry *next = e->chain;
			if (e->is_session && e->dirty != DIRTY_DELETED) {
				if (now - e->s.last_seen >= idle_s)
					local_remove(st, e);
				else
					alive++;
			}
			e = next;
		}
	}
	pthread_mutex_unlock(&st->lock);
	return alive;
}

/* --- records -------------------------------------------------------------------------- */

/* A JSON string of s; a name cut inside a UTF-8 sequence loses the broken tail. */
static json_t *json_text(const char *s)
{
	size_t n = strlen(s);
	json_t *j;

	for (int cut = 0; cut < 4 && cut <= (int)n; cut++)
		if ((j = json_stringn(s, n - (size_t)cut)))
			return j;
	return json_string("");
}

static json_t *identity_json(const session_identity *id)
{
	json_t *o = json_object();

	json_object_set_new(o, "key", json_text(id->key));
	json_object_set_new(o, "enterprise_id", json_integer(id->enterprise_id));
	json_object_set_new(o, "name", json_text(id->name));
	json_object_set_new(o, "role", json_text(id->role));
	return o;
}

/* The record of a session; caller frees. */
static char *session_encode(const session *s)
{
	json_t *o = json_object(), *ids = json_array();
	char *text;

	for (int i = 0; i < s->n_identities && i < SESSION_MAX_IDENTITIES; i++)
		json_array_append_new(ids, identity_json(&s->identities[i]));
	json_object_set_new(o, "csrf", json_text(s->csrf));
	json_object_set_new(o, "customer_id", json_integer(s->customer_id));
	json_object_set_new(o, "username", json_text(s->username));
	json_object_set_new(o, "name", json_text(s->name));
	json_object_set_new(o, "tier", json_text(s->tier));
	json_object_set_new(o, "preference", json_text(s->preference));
	json_object_set_new(o, "locale", json_text(s->locale));
	json_object_set_new(o, "identities", ids);
	json_object_set_new(o, "current", json_integer(s->current));
	json_object_set_new(o, "flash", s->flash ? json_text(s->flash) : json_null());
	json_object_set_new(o, "pinned_edition", json_text(s->pinned_edition));
	json_object_set_new(o, "pinned_version", json_text(s->pinned_version));
	json_object_set_new(o, "created", json_integer(s->created));
	json_object_set_new(o, "last_seen", json_integer(s->last_seen));
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

static int get_str(json_t *o, const char *name, char *buf, size_t size)
{
	json_t *v = json_object_get(o, name);
	size_t n;

	if (!json_is_string(v) || (n = json_string_length(v)) >= size)
		return -1;
	memcpy(buf, json_string_value(v), n);
	buf[n] = '\0';
	return strlen(buf) == n ? 0 : -1;   /* no NUL inside */
}

static int get_int(json_t *o, const char *name, long long *out)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_integer(v))
		return -1;
	*out = json_integer_value(v);
	return 0;
}

static int identities_decode(json_t *ids, session *s)
{
	size_t i;
	json_t *o;

	if (!json_is_array(ids) || json_array_size(ids) > SESSION_MAX_IDENTITIES)
		return -1;
	json_array_foreach(ids, i, o) {
		session_identity *id = &s->identities[i];
		if (!json_is_object(o) || get_str(o, "key", id->key, sizeof id->key) < 0 ||
		    get_int(o, "enterprise_id", &id->enterprise_id) < 0 ||
		    get_str(o, "name", id->name, sizeof id->name) < 0 ||
		    get_str(o, "role", id->role, sizeof id->role) < 0)
			return -1;
	}
	s->n_identities = (int)json_array_size(ids);
	return 0;
}

static int session_fields_decode(json_t *o, session *s)
{
	long long current, created, last_seen;
	json_t *flash = json_object_get(o, "flash");

	if (get_str(o, "csrf", s->csrf, sizeof s->csrf) < 0 ||
	    get_int(o, "customer_id", &s->customer_id) < 0 ||
	    get_str(o, "username", s->username, sizeof s->username) < 0 ||
	    get_str(o, "name", s->name, sizeof s->name) < 0 ||
	    get_str(o, "tier", s->tier, sizeof s->tier) < 0 ||
	    get_str(o, "preference", s->preference, sizeof s->preference) < 0 ||
	    get_str(o, "locale", s->locale, sizeof s->locale) < 0 ||
	    get_str(o, "pinned_edition", s->pinned_edition, sizeof s->pinned_edition) < 0 ||
	    get_str(o, "pinned_version", s->pinned_version, sizeof s->pinned_version) < 0 ||
	    get_int(o, "current", &current) < 0 || get_int(o, "created", &created) < 0 ||
	    get_int(o, "last_seen", &last_seen) < 0 ||
	    identities_decode(json_object_get(o, "identities"), s) < 0)
		return -1;
	if (current < 0 || (current >= s->n_identities && current != 0))
		return -1;
	if (flash && !json_is_null(flash) && !json_is_string(flash))
		return -1;
	s->current = (int)current;
	s->created = created;
	s->last_seen = last_seen;
	s->flash = json_is_string(flash) ? xstrdup(json_string_value(flash)) : NULL;
	return 0;
}

/* 0 and the session (flash owned by out), or -1 when the record is not one. */
static int session_decode(const char *text, size_t len, session *out)
{
	json_t *o = json_loadb(text, len, 0, NULL);
	int rc;

	memset(out, 0, sizeof *out);
	rc = json_is_object(o) ? session_fields_decode(o, out) : -1;
	json_decref(o);
	if (rc < 0)
		memset(out, 0, sizeof *out);
	return rc;
}

static char *attempts_encode(const session_attempts *a)
{
	json_t *o = json_pack("{s:i, s:I, s:I}", "failures", a->failures,
			      "window_start", (json_int_t)a->window_start,
			      "locked_until", (json_int_t)a->locked_until);
	char *text = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	return text;
}

static int attempts_decode(const char *text, size_t len, session_attempts *out)
{
	json_t *o = json_loadb(text, len, 0, NULL);
	long long failures = 0, start = 0, until = 0;
	int rc = json_is_object(o) && get_int(o, "failures", &failures) == 0 &&
		get_int(o, "window_start", &start) == 0 && get_int(o, "locked_until", &until) == 0 &&
		failures >= 0 && failures < 1000000 ? 0 : -1;

	json_decref(o);
	if (rc == 0)
		*out = (session_attempts){ (int)failures, start, until };
	return rc;
}

/* --- connections -------------------------------------------------------------------- */

static struct timeval ms_timeval(int ms)
{
	return (struct timeval){ .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
}

/* A new connection with the command timeout set and the database selected, or NULL and why. */
static redisContext *redis_connect(redis_store *st, char *why, size_t n)
{
	redisContext *c = redisConnectWithTimeout(st->url.host, st->url.port, ms_timeval(st->connect_ms));
	redisReply *r = NULL;

	if (!c || c->err) {
		snprintf(why, n, "cannot connect: %s", c ? c->errstr : "out of memory");
		goto fail;
	}
	if (redisSetTimeout(c, ms_timeval(st->command_ms)) != REDIS_OK) {
		snprintf(why, n, "cannot set the command timeout: %s", c->errstr);
		goto fail;
	}
	if (st->url.db) {
		r = redisCommand(c, "SELECT %d", st->url.db);
		if (!r || r->type == REDIS_REPLY_ERROR) {
			snprintf(why, n, "cannot select database %d: %s", st->url.db, r ? r->str : c->errstr);
			goto fail;
		}
		freeReplyObject(r);
	}
	return c;
fail:
	if (r)
		freeReplyObject(r);
	if (c)
		redisFree(c);
	return NULL;
}

static void conn_thread_end(void *p)
{
	redis_conn *rc = p;
	redis_store *st = rc->owner;

	pthread_mutex_lock(&st->conns_lock);
	if (rc->prev)
		rc->prev->next = rc->next;
	else
		st->conns = rc->next;
	if (rc->next)
		rc->next->prev = rc->prev;
	pthread_mutex_unlock(&st->conns_lock);
	if (rc->c)
		redisFree(rc->c);
	free(rc);
}

static redis_conn *conn_register(redis_store *st)
{
	redis_conn *rc = xcalloc(1, sizeof *rc);

	rc->owner = st;
	pthread_mutex_lock(&st->conns_lock);
	rc->next = st->conns;
	if (st->conns)
		st->conns->prev = rc;
	st->conns = rc;
	pthread_mutex_unlock(&st->conns_lock);
	pthread_setspecific(st->conn_key, rc);
	return rc;
}

/* This thread's connection, made now (*fresh) when it had none or one from before an outage. */
static redis_conn *thread_conn(redis_store *st, int *fresh, char *why, size_t n)
{
	redis_conn *rc = pthread_getspecific(st->conn_key);
	unsigned long epoch = atomic_load(&st->epoch);

	*fresh = 0;
	if (rc && rc->c && rc->epoch == epoch)
		return rc;
	if (!rc)
		rc = conn_register(st);
	if (rc->c)
		redisFree(rc->c);
	if (!(rc->c = redis_connect(st, why, n)))
		return NULL;
	rc->epoch = epoch;
	*fresh = 1;
	return rc;
}

static void store_degrade(redis_store *st, const char *why)
{
	int was;

	pthread_mutex_lock(&st->lock);
	was = atomic_exchange(&st->degraded, 1);
	pthread_mutex_unlock(&st->lock);
	if (!was) {
		atomic_fetch_add(&st->outages, 1);
		log_warn("session store: redis at '%s:%d' does not answer (%s): "
			 "serving sessions from the local store", st->url.host, st->url.port, why);
		pthread_mutex_lock(&st->wait_lock);
		pthread_cond_signal(&st->wake);
		pthread_mutex_unlock(&st->wait_lock);
	}
}

/*
 * One command on this thread's connection: the reply (never an error reply),
 * or NULL when Redis does not answer, and then the store is degraded. A reused
 * connection that fails gets one second chance on a new one (Redis may have
 * closed it while idle).
 */
static redisReply *redis_run(redis_store *st, const char *fmt, ...)
{
	char why[160] = "no connection";
	redisReply *r = NULL;
	va_list ap;

	for (int attempt = 0; attempt < 2; attempt++) {
		int fresh;
		redis_conn *rc = thread_conn(st, &fresh, why, sizeof why);
		if (!rc)
			break;
		va_start(ap, fmt);
		r = redisvCommand(rc->c, fmt, ap);
		va_end(ap);
		if (r && r->type != REDIS_REPLY_ERROR)
			return r;
		if (r) {
			snprintf(why, sizeof why, "error reply: %s", r->str);
			freeReplyObject(r);
			break;
		}
		snprintf(why, sizeof why, "%s", rc->c->errstr[0] ? rc->c->errstr : strerror(errno));
		redisFree(rc->c);
		rc->c = NULL;
		if (fresh)
			break;
	}
	atomic_fetch_add(&st->errors, 1);
	store_degrade(st, why);
	return NULL;
}

/* --- the store's operations ------------------------------------------------------------ */

/* 1 and the session, 0 when Redis has none, -1 when Redis does not answer. */
static int remote_get_session(redis_store *st, const char *key, int idle_s, session *out)
{
	redisReply *r = redis_run(st, "GETEX %s%s EX %d", st->sess_prefix, key, idle_s);
	int rc = 0;

	if (!r)
		return -1;
	if (r->type == REDIS_REPLY_STRING) {
		if (session_decode(r->str, r->len, out) == 0) {
			rc = 1;
		} else {
			atomic_fetch_add(&st->errors, 1);
			log_warn("session store: unreadable record '%s%s' ignored", st->sess_prefix, key);
		}
	}
	freeReplyObject(r);
	return rc;
}

static int sr_get(void *impl, const char *key, long long now, int idle_s, session *out)
{
	redis_store *st = impl;
	int rc;

	atomic_store(&st->idle_s, idle_s);
	if (!atomic_load(&st->degraded)) {
		rc = remote_get_session(st, key, idle_s, out);
		if (rc == 1) {
			out->last_seen = now;   /* GETEX restarted the idle clock */
			local_put_session(st, key, out, idle_s, CLEAN);
			return 0;
		}
		if (rc == 0) {
			local_delete(st, key, 1, GONE_IN_REDIS);
			return -1;
		}
	}
	return local_get_session(st, key, now, idle_s, out);
}

/* SET with a TTL; 0, or -1 when Redis does not answer. */
static int remote_set(redis_store *st, const char *prefix, const char *key, const char *text, int ttl)
{
	redisReply *r = redis_run(st, "SET %s%s %s EX %d", prefix, key, text, ttl);

	if (!r)
		return -1;
	freeReplyObject(r);
	return 0;
}

static int sr_put(void *impl, const char *key, const session *s, int ttl_s)
{
	redis_store *st = impl;
	char *text = session_encode(s);
	int dirty = DIRTY_CHANGED;

	if (!text)
		return -1;
	if (ttl_s <= 0)
		ttl_s = atomic_load(&st->idle_s);
	if (!atomic_load(&st->degraded) && remote_set(st, st->sess_prefix, key, text, ttl_s) == 0)
		dirty = CLEAN;
	free(text);
	local_put_session(st, key, s, ttl_s, dirty);
	return 0;
}

static void remote_or_local_del(redis_store *st, const char *prefix, const char *key, int is_session)
{
	redisReply *r = NULL;

	if (!atomic_load(&st->degraded))
		r = redis_run(st, "DEL %s%s", prefix, key);
	local_delete(st, key, is_session, r ? DELETED_IN_REDIS : DELETE_LATER);
	if (r)
		freeReplyObject(r);
}

static void sr_del(void *impl, const char *key)
{
	redis_store *st = impl;

	remote_or_local_del(st, st->sess_prefix, key, 1);
}

/* Keys under the session prefix, by SCAN (bounded); -1 when Redis does not answer. */
static long remote_count(redis_store *st)
{
	char cursor[32] = "0";
	long n = 0;

	for (int calls = 0; calls < SCAN_MAX_CALLS; calls++) {
		redisReply *r = redis_run(st, "SCAN %s MATCH %s* COUNT 1000", cursor, st->sess_prefix);
		if (!r)
			return -1;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(r);
			return n;
		}
		n += (long)r->element[1]->elements;
		snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
		freeReplyObject(r);
		if (!strcmp(cursor, "0"))
			break;
	}
	return n;
}

static long sr_count(void *impl, long long now, int idle_s)
{
	redis_store *st = impl;
	long local, remote = -1;

	atomic_store(&st->idle_s, idle_s);
	local = local_sweep(st, now, idle_s);
	if (!atomic_load(&st->degraded))
		remote = remote_count(st);
	return remote >= 0 ? remote : local;
}

static int sr_attempts_get(void *impl, const char *key, session_attempts *out)
{
	redis_store *st = impl;
	redisReply *r;
	int rc = -1;

	if (atomic_load(&st->degraded) || !(r = redis_run(st, "GET %s%s", st->att_prefix, key)))
		return local_get_attempts(st, key, out);
	if (r->type == REDIS_REPLY_STRING && attempts_decode(r->str, r->len, out) == 0)
		rc = 0;
	freeReplyObject(r);
	if (rc == 0)
		local_put_attempts(st, key, out, ATTEMPTS_TTL_S, CLEAN);
	else
		local_delete(st, key, 0, GONE_IN_REDIS);
	return rc;
}

static void sr_attempts_put(void *impl, const char *key, const session_attempts *a, int ttl_s)
{
	redis_store *st = impl;
	char *text = attempts_encode(a);
	int dirty = DIRTY_CHANGED;

	if (ttl_s <= 0)
		ttl_s = ATTEMPTS_TTL_S;
	if (text && !atomic_load(&st->degraded) && remote_set(st, st->att_prefix, key, text, ttl_s) == 0)
		dirty = CLEAN;
	free(text);
	local_put_attempts(st, key, a, ttl_s, dirty);
}

static void sr_attempts_del(void *impl, const char *key)
{
	redis_store *st = impl;

	remote_or_local_del(st, st->att_prefix, key, 0);
}

/* --- write-back after an outage --------------------------------------------------------- */

typedef struct pending {
	char key[SESSION_TOKEN_LEN + 1];
	int is_session, dirty, ttl;
	unsigned long version;
	char *text;                 /* the record, NULL for a delete */
} pending;

/* Copies up to max dirty entries (under st->lock); expired sessions are dropped instead. */
static int pending_take(redis_store *st, pending *out, int max)
{
	int n = 0;
	long long now = mono_ms();
	local_entry *e = st->dirty.next;

	while (e != &st->dirty && n < max) {
		local_entry *next = e->next;
		pending *p = &out[n];
		p->ttl = e->ttl_s - (int)((now - e->touched_ms) / 1000);
		if (e->dirty != DIRTY_DELETED && p->ttl <= 0) {
			local_remove(st, e);
			e = next;
			continue;
		}
		snprintf(p->key, sizeof p->key, "%s", e->key);
		p->is_session = e->is_session;
		p->dirty = e->dirty;
		p->version = e->version;
		p->text = e->dirty == DIRTY_DELETED ? NULL
			: e->is_session ? session_encode(&e->s) : attempts_encode(&e->a);
		n++;
		e = next;
	}
	return n;
}

static redisReply *retry_command(redis_store *st, const char *fmt, ...)
{
	redisReply *r;
	va_list ap;

	va_start(ap, fmt);
	r = redisvCommand(st->retry_conn, fmt, ap);
	va_end(ap);
	if (!r || r->type == REDIS_REPLY_ERROR) {
		if (r)
			freeReplyObject(r);
		redisFree(st->retry_conn);
		st->retry_conn = NULL;
		atomic_fetch_add(&st->errors, 1);
		return NULL;
	}
	return r;
}

/* Writes one pending change on the retry connection. 0, or -1 when Redis stopped answering. */
static int pending_write(redis_store *st, const pending *p)
{
	const char *prefix = p->is_session ? st->sess_prefix : st->att_prefix;
	redisReply *r;

	if (p->dirty == DIRTY_DELETED || !p->text)
		r = retry_command(st, "DEL %s%s", prefix, p->key);
	else if (p->dirty == DIRTY_TOUCHED)
		r = retry_command(st, "EXPIRE %s%s %d", prefix, p->key, p->ttl);
	else
		r = retry_command(st, "SET %s%s %s EX %d", prefix, p->key, p->text, p->ttl);
	if (r && p->dirty == DIRTY_TOUCHED && r->type == REDIS_REPLY_INTEGER && r->integer == 0) {
		/* gone from Redis meanwhile (a restart without persistence): the local copy is the truth */
		freeReplyObject(r);
		r = retry_command(st, "SET %s%s %s EX %d", prefix, p->key, p->text, p->ttl);
	}
	if (!r)
		return -1;
	freeReplyObject(r);
	return 0;
}

/* Marks what was written clean, unless it changed again on the way. */
static void pending_done(redis_store *st, const pending *p)
{
	local_entry *e = local_find(st, p->key, p->is_session);

	if (!e || e->version != p->version)
		return;
	if (p->dirty == DIRTY_DELETED)
		local_remove(st, e);
	else
		local_mark(st, e, CLEAN);
	atomic_fetch_add(&st->writebacks, 1);
}

/* One batch: 1 when something was written, 0 when nothing was left, -1 on failure. */
static int writeback_batch(redis_store *st)
{
	pending batch[WRITEBACK_BATCH];
	int n, written = 0;

	pthread_mutex_lock(&st->lock);
	n = pending_take(st, batch, WRITEBACK_BATCH);
	pthread_mutex_unlock(&st->lock);
	while (written < n && pending_write(st, &batch[written]) == 0)
		written++;
	pthread_mutex_lock(&st->lock);
	for (int i = 0; i < written; i++)
		pending_done(st, &batch[i]);
	local_evict(st);
	pthread_mutex_unlock(&st->lock);
	for (int i = 0; i < n; i++)
		free(batch[i].text);
	return written < n ? -1 : n > 0;
}

/* Tries Redis; when it answers, writes the changes back and ends the degraded state. */
static void recover(redis_store *st)
{
	char why[160];
	redisReply *r;
	int rc = 1;

	if (!st->retry_conn && !(st->retry_conn = redis_connect(st, why, sizeof why)))
		return;
	if (!(r = retry_command(st, "PING")))
		return;
	freeReplyObject(r);
	for (int round = 0; round < WRITEBACK_ROUNDS && rc > 0; round++)
		rc = writeback_batch(st);
	if (rc != 0)
		return;
	pthread_mutex_lock(&st->lock);
	if (st->n_dirty == 0 && atomic_load(&st->degraded)) {
		atomic_fetch_add(&st->epoch, 1);
		atomic_store(&st->degraded, 0);
		log_info("session store: redis at '%s:%d' answers again; local changes written back",
			 st->url.host, st->url.port);
	}
	pthread_mutex_unlock(&st->lock);
}

static int store_needs_retry(redis_store *st)
{
	int needed;

	pthread_mutex_lock(&st->lock);
	needed = atomic_load(&st->degraded) || st->n_dirty > 0;
	pthread_mutex_unlock(&st->lock);
	return needed;
}

static void *retry_main(void *arg)
{
	redis_store *st = arg;
	struct timespec until;

	pthread_mutex_lock(&st->wait_lock);
	while (!st->stopping) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += st->retry_ms / 1000;
		until.tv_nsec += (long)(st->retry_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&st->wake, &st->wait_lock, &until);
		if (st->stopping)
			break;
		pthread_mutex_unlock(&st->wait_lock);
		if (store_needs_retry(st))
			recover(st);
		pthread_mutex_lock(&st->wait_lock);
	}
	pthread_mutex_unlock(&st->wait_lock);
	return NULL;
}

/* --- open, free, figures ------------------------------------------------------------- */

static void store_free_all(redis_store *st)
{
	while (st->conns) {
		redis_conn *rc = st->conns;
		st->conns = rc->next;
		if (rc->c)
			redisFree(rc->c);
		free(rc);
	}
	if (st->retry_conn)
		redisFree(st->retry_conn);
	while (st->clean.next != &st->clean)
		local_remove(st, st->clean.next);
	while (st->dirty.next != &st->dirty)
		local_remove(st, st->dirty.next);
	pthread_mutex_destroy(&st->lock);
	pthread_mutex_destroy(&st->conns_lock);
	pthread_mutex_destroy(&st->wait_lock);
	pthread_cond_destroy(&st->wake);
	free(st);
}

/* Call only when no other thread uses the store any more. */
static void sr_free(void *impl)
{
	redis_store *st = impl;
	redis_store **pp;

	pthread_mutex_lock(&st->wait_lock);
	st->stopping = 1;
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->wait_lock);
	pthread_join(st->retry, NULL);
	if (store_needs_retry(st)) {
		recover(st);    /* one last try, so changes are not lost at a clean stop */
		if (st->n_dirty)
			log_warn("session store: %ld local change(s) never reached redis", st->n_dirty);
	}
	pthread_mutex_lock(&open_lock);
	for (pp = &open_stores; *pp && *pp != st; pp = &(*pp)->next_open)
		;
	if (*pp)
		*pp = st->next_open;
	pthread_mutex_unlock(&open_lock);
	pthread_key_delete(st->conn_key);
	store_free_all(st);
}

static const session_store_ops redis_ops = {
	sr_get, sr_put, sr_del, sr_count,
	sr_attempts_get, sr_attempts_put, sr_attempts_del, sr_free,
};

static int prefix_ok(const char *prefix)
{
	size_t n = strlen(prefix);

	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)prefix[i] <= ' ' || prefix[i] == 127 || prefix[i] == '*' ||
		    prefix[i] == '?' || prefix[i] == '[' || prefix[i] == ']' || prefix[i] == '\\')
			return 0;
	return 1;
}

static redis_store *store_new(const session_redis_config *cfg, const session_redis_url *url,
			      const char *prefix)
{
	redis_store *st = xcalloc(1, sizeof *st);
	pthread_condattr_t ca;

	st->url = *url;
	snprintf(st->sess_prefix, sizeof st->sess_prefix, "%ssess:", prefix);
	snprintf(st->att_prefix, sizeof st->att_prefix, "%satt:", prefix);
	st->connect_ms = cfg->connect_ms > 0 ? cfg->connect_ms : 50;
	st->command_ms = cfg->command_ms > 0 ? cfg->command_ms : 100;
	st->retry_ms = cfg->retry_ms > 0 ? cfg->retry_ms : 500;
	st->local_max = cfg->local_max > 0 ? cfg->local_max : 4096;
	atomic_init(&st->idle_s, cfg->idle_s > 0 ? cfg->idle_s : 900);
	st->clean.next = st->clean.prev = &st->clean;
	st->dirty.next = st->dirty.prev = &st->dirty;
	pthread_mutex_init(&st->lock, NULL);
	pthread_mutex_init(&st->conns_lock, NULL);
	pthread_mutex_init(&st->wait_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->wake, &ca);
	pthread_condattr_destroy(&ca);
	return st;
}

/* The retry thread takes no signals: the process's signal thread must see them all. */
static int retry_start(redis_store *st)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&st->retry, NULL, retry_main, st);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* The first connection, made now so that start-up says at once whether Redis answers. */
static void store_probe(redis_store *st)
{
	redisReply *r = redis_run(st, "PING");

	if (r) {
		log_info("session store: redis at '%s:%d' (keys '%s*', '%s*')", st->url.host,
			 st->url.port, st->sess_prefix, st->att_prefix);
		freeReplyObject(r);
	}
}

int session_redis_open_config(const session_redis_config *cfg, const session_store_ops **ops,
			      void **impl, strbuf *err)
{
	const char *prefix = cfg->prefix ? cfg->prefix : SESSION_REDIS_PREFIX;
	session_redis_url url;
	redis_store *st;

	if (session_redis_parse_url(cfg->url, &url, err) < 0)
		return -1;
	if (!prefix_ok(prefix)) {
		strbuf_addf(err, "invalid session key prefix '%s': 1 to 64 characters, "
			    "no spaces, control characters or glob characters", prefix);
		return -1;
	}
	st = store_new(cfg, &url, prefix);
	if (pthread_key_create(&st->conn_key, conn_thread_end) != 0) {
		strbuf_addf(err, "cannot create the session store's thread key");
		store_free_all(st);
		return -1;
	}
	if (retry_start(st) != 0) {
		strbuf_addf(err, "cannot start the session store's retry thread");
		pthread_key_delete(st->conn_key);
		store_free_all(st);
		return -1;
	}
	pthread_mutex_lock(&open_lock);
	st->next_open = open_stores;
	open_stores = st;
	pthread_mutex_unlock(&open_lock);
	store_probe(st);
	*ops = &redis_ops;
	*impl = st;
	return 0;
}

int session_redis_open(const char *url, const char *prefix, const session_store_ops **ops,
		       void **impl, strbuf *err)
{
	session_redis_config cfg = { .url = url, .prefix = prefix };

	return session_redis_open_config(&cfg, ops, impl, err);
}

void session_redis_store_stats(void *impl, session_redis_stats *out)
{
	redis_store *st = impl;

	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&st->lock);
	out->degraded = atomic_load(&st->degraded);
	out->pending = st->n_dirty;
	out->local = st->n_dirty + st->n_clean;
	pthread_mutex_unlock(&st->lock);
	out->outages = atomic_load(&st->outages);
	out->writebacks = atomic_load(&st->writebacks);
	out->errors = atomic_load(&st->errors);
}

void session_redis_stats_get(session_redis_stats *out)
{
	session_redis_stats one;

	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&open_lock);
	for (redis_store *st = open_stores; st; st = st->next_open) {
		session_redis_store_stats(st, &one);
		out->degraded |= one.degraded;
		out->outages += one.outages;
		out->writebacks += one.writebacks;
		out->errors += one.errors;
		out->pending += one.pending;
		out->local += one.local;
	}
	pthread_mutex_unlock(&open_lock);
}

int session_redis_degraded(void)
{
	session_redis_stats s;

	session_redis_stats_get(&s);
	return s.degraded;
}

static void metric(strbuf *out, const char *name, const char *type, const char *help, unsigned long v)
{
	strbuf_addf(out, "# HELP %s %s\n# TYPE %s %s\n%s %lu\n", name, help, name, type, name, v);
}

void session_redis_metrics(strbuf *out)
{
	session_redis_stats s;
	int any;

	pthread_mutex_lock(&open_lock);
	any = open_stores != NULL;
	pthread_mutex_unlock(&open_lock);
	if (!any)
		return;
	session_redis_stats_get(&s);
	metric(out, "session_store_degraded", "gauge",
	       "1 while redis does not answer or local changes wait to be written back", (unsigned long)s.degraded);
	metric(out, "session_store_outages_total", "counter",
	       "times the session store lost redis", s.outages);
	metric(out, "session_store_writebacks_total", "counter",
	       "local changes written to redis after an outage", s.writebacks);
	metric(out, "session_store_errors_total", "counter",
	       "failed redis commands and unreadable records", s.errors);
	metric(out, "session_store_pending", "gauge",
	       "local changes not yet in redis", (unsigned long)s.pending);
	metric(out, "session_store_local", "gauge",
	       "sessions and login attempts held in the local copy", (unsigned long)s.local);
}
