/*
 * session: the manager (tokens, CSRF, identities, lockout, expiry) over a
 * store, and the in-memory store.
 *
 * The memory store is 16 shards, each a chained hash table under its own
 * mutex, keyed by the hex SHA-256 of the token; sessions and login attempts
 * live in separate tables. Idle sessions are dropped when touched and swept
 * when the store is counted (every /metrics scrape and every 256th put), so
 * abandoned sessions do not pile up.
 */
#include "session.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_SHARDS 16
#define N_SLOTS 1024

/* --- memory store ----------------------------------------------------------- */

typedef struct mem_entry {
	struct mem_entry *next;
	char key[SESSION_TOKEN_LEN + 1];
	int is_session;
	session s;                  /* id cleared: the store never holds the token */
	session_attempts a;
} mem_entry;

typedef struct mem_shard {
	pthread_mutex_t lock;
	mem_entry *slots[N_SLOTS];
	unsigned long puts;
} mem_shard;

typedef struct mem_store {
	mem_shard shards[N_SHARDS];
} mem_store;

static unsigned key_hash(const char *key)
{
	unsigned h = 2166136261u;

	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

static mem_shard *shard_of(mem_store *ms, const char *key, mem_entry ***slot)
{
	unsigned h = key_hash(key);
	mem_shard *sh = &ms->shards[h % N_SHARDS];

	*slot = &sh->slots[(h / N_SHARDS) % N_SLOTS];
	return sh;
}

/* The link that points at key's entry of the given kind (or at the NULL ending the chain). */
static mem_entry **find_link(mem_entry **slot, const char *key, int is_session)
{
	mem_entry **pp = slot;

	while (*pp && ((*pp)->is_session != is_session || strcmp((*pp)->key, key)))
		pp = &(*pp)->next;
	return pp;
}

static void entry_free(mem_entry *e)
{
	free(e->s.flash);
	free(e);
}

static void copy_session(session *dst, const session *src)
{
	*dst = *src;
	dst->flash = src->flash ? xstrdup(src->flash) : NULL;
}

static int mem_get(void *impl, const char *key, long long now, int idle_s, session *out)
{
	mem_entry **slot, **pp;
	mem_shard *sh = shard_of(impl, key, &slot);
	int rc = -1;

	pthread_mutex_lock(&sh->lock);
	pp = find_link(slot, key, 1);
	if (*pp && now - (*pp)->s.last_seen >= idle_s) {
		mem_entry *dead = *pp;
		*pp = dead->next;
		entry_free(dead);
	} else if (*pp) {
		(*pp)->s.last_seen = now;
		copy_session(out, &(*pp)->s);
		rc = 0;
	}
	pthread_mutex_unlock(&sh->lock);
	return rc;
}

static void sweep_shard(mem_shard *sh, long long now, int idle_s, long *alive)
{
	for (size_t i = 0; i < N_SLOTS; i++) {
		mem_entry **pp = &sh->slots[i];
		while (*pp) {
			mem_entry *e = *pp;
			int dead = e->is_session ? now - e->s.last_seen >= idle_s
				: e->a.locked_until <= now && now - e->a.window_start >= 86400;
			if (dead) {
				*pp = e->next;
				entry_free(e);
				continue;
			}
			if (e->is_session && alive)
				(*alive)++;
			pp = &e->next;
		}
	}
}

static int mem_put(void *impl, const char *key, const session *s, int ttl_s)
{
	mem_entry **slot, **pp;
	mem_shard *sh = shard_of(impl, key, &slot);

	pthread_mutex_lock(&sh->lock);
	pp = find_link(slot, key, 1);
	if (!*pp) {
		*pp = xcalloc(1, sizeof **pp);
		snprintf((*pp)->key, sizeof (*pp)->key, "%s", key);
		(*pp)->is_session = 1;
	}
	free((*pp)->s.flash);
	copy_session(&(*pp)->s, s);
	if (++sh->puts % 256 == 0)
		sweep_shard(sh, s->last_seen, ttl_s, NULL);
	pthread_mutex_unlock(&sh->lock);
	return 0;
}

static void mem_del_kind(void *impl, const char *key, int is_session)
{
	mem_entry **slot, **pp;
	mem_shard *sh = shard_of(impl, key, &slot);

	pthread_mutex_lock(&sh->lock);
	pp = find_link(slot, key, is_session);
	if (*pp) {
		mem_entry *dead = *pp;
		*pp = dead->next;
		entry_free(dead);
	}
	pthread_mutex_unlock(&sh->lock);
}

static void mem_del(void *impl, const char *key)
{
	mem_del_kind(impl, key, 1);
}

static long mem_count(void *impl, long long now, int idle_s)
{
	mem_store *ms = impl;
	long alive = 0;

	for (int i = 0; i < N_SHARDS; i++) {
		pthread_mutex_lock(&ms->shards[i].lock);
		sweep_shard(&ms->shards[i], now, idle_s, &alive);
		pthread_mutex_unlock(&ms->shards[i].lock);
	}
	return alive;
}

static int mem_attempts_get(void *impl, const char *key, session_attempts *out)
{
	mem_entry **slot, **pp;
	mem_shard *sh = shard_of(impl, key, &slot);
	int rc = -1;

	pthread_mutex_lock(&sh->lock);
	pp = find_link(slot, key, 0);
	if (*pp) {
		*out = (*pp)->a;
		rc = 0;
	}
	pthread_mutex_unlock(&sh->lock);
	return rc;
}

static void mem_attempts_put(void *impl, const char *key, const session_attempts *a, int ttl_s)
{
	mem_entry **slot, **pp;
	mem_shard *sh = shard_of(impl, key, &slot);

	pthread_mutex_lock(&sh->lock);
	pp = find_link(slot, key, 0);
	if (!*pp) {
		*pp = xcalloc(1, sizeof **pp);
		snprintf((*pp)->key, sizeof (*pp)->key, "%s", key);
	}
	(*pp)->a = *a;
	pthread_mutex_unlock(&sh->lock);
}

static void mem_attempts_del(void *impl, const char *key)
{
	mem_del_kind(impl, key, 0);
}

static void mem_free(void *impl)
{
	mem_store *ms = impl;

	for (int i = 0; i < N_SHARDS; i++) {
		for (size_t j = 0; j < N_SLOTS; j++) {
			mem_entry *e = ms->shards[i].slots[j];
			while (e) {
				mem_entry *next = e->next;
				entry_free(e);
				e = next;
			}
		}
		pthread_mutex_destroy(&ms->shards[i].lock);
	}
	free(ms);
}

static const session_store_ops mem_ops = {
	mem_get, mem_put, mem_del, mem_count,
	mem_attempts_get, mem_attempts_put, mem_attempts_del, mem_free,
};

static void *mem_store_new(void)
{
	mem_store *ms = xcalloc(1, sizeof *ms);

	for (int i = 0; i < N_SHARDS; i++)
		pthread_mutex_init(&ms->shards[i].lock, NULL);
	return ms;
}

/* --- manager ------------------------------------------------------------------ */

struct session_mgr {
	session_config cfg;
	const session_store_ops *ops;
	void *impl;
};

/* Unix seconds: records in a shared store are read by instances on other machines. */
static long long real_now(void)
{
	return (long long)time(NULL);
}

session_mgr *session_mgr_new_store(const session_config *cfg, const session_store_ops *ops, void *impl)
{
	session_mgr *m = xcalloc(1, sizeof *m);

	if (sodium_init() < 0) {
		fprintf(stderr, "fatal: cannot initialise libsodium\n");
		abort();
	}
	if (cfg)
		m->cfg = *cfg;
	if (m->cfg.idle_s <= 0)
		m->cfg.idle_s = 900;
	if (m->cfg.user_failures <= 0)
		m->cfg.user_failures = 5;
	if (m->cfg.ip_failures <= 0)
		m->cfg.ip_failures = 20;
	if (m->cfg.window_s <= 0)
		m->cfg.window_s = 900;
	if (m->cfg.lock_s <= 0)
		m->cfg.lock_s = 900;
	if (!m->cfg.now)
		m->cfg.now = real_now;
	m->ops = ops;
	m->impl = impl;
	return m;
}

session_mgr *session_mgr_new(const session_config *cfg)
{
	return session_mgr_new_store(cfg, &mem_ops, mem_store_new());
}

void session_mgr_free(session_mgr *m)
{
	if (!m)
		return;
	m->ops->free(m->impl);
	free(m);
}

void session_random_token(char out[SESSION_TOKEN_LEN + 1])
{
	unsigned char raw[SESSION_TOKEN_LEN / 2];

	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(out, SESSION_TOKEN_LEN + 1, raw, sizeof raw);
}

static int token_well_formed(const char *token)
{
	size_t i;

	if (!token)
		return 0;
	for (i = 0; token[i]; i++)
		if (i >= SESSION_TOKEN_LEN || !strchr("0123456789abcdef", token[i]))
			return 0;
	return i == SESSION_TOKEN_LEN;
}

/* The store key of a token: hex SHA-256. */
static void store_key(const char *token, char key[SESSION_TOKEN_LEN + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
	sodium_bin2hex(key, SESSION_TOKEN_LEN + 1, h, sizeof h);
}

void session_new(session_mgr *m, session *out)
{
	memset(out, 0, sizeof *out);
	session_random_token(out->id);
	session_random_token(out->csrf);
	out->created = out->last_seen = m->cfg.now();
	session_save(m, out);
}

int session_get(session_mgr *m, const char *token, session *out)
{
	char key[SESSION_TOKEN_LEN + 1];

	memset(out, 0, sizeof *out);
	if (!token_well_formed(token))
		return -1;
	store_key(token, key);
	if (m->ops->get(m->impl, key, m->cfg.now(), m->cfg.idle_s, out) < 0) {
		memset(out, 0, sizeof *out);
		return -1;
	}
	snprintf(out->id, sizeof out->id, "%s", token);
	return 0;
}

void session_save(session_mgr *m, const session *s)
{
	char key[SESSION_TOKEN_LEN + 1];

	if (!token_well_formed(s->id))
		return;
	store_key(s->id, key);
	session rec = *s;                       /* the store gets no token, only its hash as key */
	memset(rec.id, 0, sizeof rec.id);
	m->ops->put(m->impl, key, &rec, m->cfg.idle_s);
}

void session_destroy(session_mgr *m, const char *token)
{
	char key[SESSION_TOKEN_LEN + 1];

	if (!token_well_formed(token))
		return;
	store_key(token, key);
	m->ops->del(m->impl, key);
}

void session_clear(session *s)
{
	free(s->flash);
	s->flash = NULL;
}

long session_count(session_mgr *m)
{
	return m->ops->count(m->impl, m->cfg.now(), m->cfg.idle_s);
}

static void add_identity(session *s, long long enterprise_id, const char *name, const char *role)
{
	session_identity *id;

	if (s->n_identities >= SESSION_MAX_IDENTITIES)
		return;
	id = &s->identities[s->n_identities++];
	if (enterprise_id)
		snprintf(id->key, sizeof id->key, "enterprise:%lld", enterprise_id);
	else
		snprintf(id->key, sizeof id->key, "personal");
	id->enterprise_id = enterprise_id;
	snprintf(id->name, sizeof id->name, "%s", name);
	snprintf(id->role, sizeof id->role, "%s", role);
}

void session_login(session_mgr *m, session *s, const bank_customer *c,
		   const bank_binding *bindings, int n_bindings)
{
	if (s->id[0])
		session_destroy(m, s->id);
	session_clear(s);
	session_new(m, s);
	s->customer_id = c->id;
	snprintf(s->username, sizeof s->username, "%s", c->username);
	snprintf(s->name, sizeof s->name, "%s", c->name);
	snprintf(s->tier, sizeof s->tier, "%s", c->tier);
	snprintf(s->preference, sizeof s->preference, "%s", c->preference);
	snprintf(s->locale, sizeof s->locale, "%s", c->locale);
	add_identity(s, 0, c->name, "");
	for (int i = 0; i < n_bindings; i++)
		add_identity(s, bindings[i].enterprise_id, bindings[i].enterprise_name,
			     bindings[i].role);
	s->current = 0;
	session_save(m, s);
}

int session_switch(session *s, const char *key)
{
	for (int i = 0; key && i < s->n_identities; i++) {
		if (!strcmp(s->identities[i].key, key)) {
			s->current = i;
			s->pinned_edition[0] = s->pinned_version[0] = '\0';
			return 0;
		}
	}
	return -1;
}

const session_identity *session_current(const session *s)
{
	if (!s->customer_id || s->current < 0 || s->current >= s->n_identities)
		return NULL;
	return &s->identities[s->current];
}

void session_bank_identity(const session *s, bank_identity *out)
{
	const session_identity *id = session_current(s);

	memset(out, 0, sizeof *out);
	out->customer_id = s->customer_id;
	if (id) {
		out->enterprise_id = id->enterprise_id;
		snprintf(out->role, sizeof out->role, "%s", id->role);
	}
}

int session_csrf_ok(const session *s, const char *token)
{
	if (!token || strlen(token) != SESSION_TOKEN_LEN || strlen(s->csrf) != SESSION_TOKEN_LEN)
		return 0;
	return sodium_memcmp(s->csrf, token, SESSION_TOKEN_LEN) == 0;
}

void session_set_flash(session *s, const char *text)
{
	free(s->flash);
	s->flash = text ? xstrdup(text) : NULL;
}

char *session_take_flash(session *s)
{
	char *f = s->flash;

	s->flash = NULL;
	return f;
}

/* --- lockout ------------------------------------------------------------------ */

static void attempts_key(const char *kind, const char *who, char *out, size_t n)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	strbuf sb = STRBUF_INIT;

	/* Hashed so that a name of any length or byte fits the store's key. */
	strbuf_addf(&sb, "%s:%s", kind, who ? who : "");
	crypto_hash_sha256(h, (const unsigned char *)sb.buf, sb.len);
	strbuf_release(&sb);
	sodium_bin2hex(out, n, h, sizeof h);
}

static int is_locked(session_mgr *m, const char *kind, const char *who, long long now)
{
	char key[SESSION_TOKEN_LEN + 1];
	session_attempts a;

	attempts_key(kind, who, key, sizeof key);
	return m->ops->attempts_get(m->impl, key, &a) == 0 && a.locked_until > now;
}

int session_login_allowed(session_mgr *m, const char *username, const char *ip)
{
	long long now = m->cfg.now();

	return !is_locked(m, "user", username, now) && !is_locked(m, "ip", ip, now);
}

static void count_failure(session_mgr *m, const char *kind, const char *who, int limit, long long now)
{
	char key[SESSION_TOKEN_LEN + 1];
	session_attempts a;

	attempts_key(kind, who, key, sizeof key);
	if (m->ops->attempts_get(m->impl, key, &a) < 0 || now - a.window_start >= m->cfg.window_s)
		a = (session_attempts){ 0, now, 0 };
	if (a.locked_until > now)
		return;             /* already locked: the lock does not grow */
	if (++a.failures >= limit) {
		a.locked_until = now + m->cfg.lock_s;
		a.failures = 0;
		a.window_start = now;
	}
	m->ops->attempts_put(m->impl, key, &a, m->cfg.window_s > m->cfg.lock_s ? m->cfg.window_s : m->cfg.lock_s);
}

void session_login_failed(session_mgr *m, const char *username, const char *ip)
{
	long long now = m->cfg.now();

	count_failure(m, "user", username, m->cfg.user_failures, now);
	count_failure(m, "ip", ip, m->cfg.ip_failures, now);
}

void session_login_succeeded(session_mgr *m, const char *username)
{
	char key[SESSION_TOKEN_LEN + 1];

	attempts_key("user", username, key, sizeof key);
	m->ops->attempts_del(m->impl, key);
}

/* --- cookies -------------------------------------------------------------------- */

void session_cookie(const session_mgr *m, const char *token, strbuf *out)
{
	strbuf_addf(out, "%s=%s; Path=/; HttpOnly; SameSite=Lax%s", SESSION_COOKIE, token,
		    m->cfg.cookie_secure ? "; Secure" : "");
}

void session_cookie_clear(const session_mgr *m, strbuf *out)
{
	strbuf_addf(out, "%s=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0%s", SESSION_COOKIE,
		    m->cfg.cookie_secure ? "; Secure" : "");
}
