/*
 * The Redis session store against a real redis-server on a free 127.0.0.1
 * port, started per test (and killed by the kernel should the test process
 * die first): URLs, sessions and identities through two managers, TTLs,
 * lockouts, and an outage: Redis killed, requests served locally and
 * reported degraded, Redis restarted empty, changes written back.
 */
#include <arpa/inet.h>
#include <check.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "session_redis.h"

#define REDIS_BIN "/usr/bin/redis-server"

static pid_t redis_pid = -1;
static int redis_port;
static char prefix[32];
static long long fake_now;

static long long fake_clock(void)
{
	return fake_now;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/*
 * A free port below the kernel's ephemeral range: while Redis is down, the
 * store's own outgoing connections must not take the port Redis comes back on.
 */
static int free_port(void)
{
	unsigned seed = (unsigned)getpid() ^ (unsigned)time(NULL);

	for (int i = 0; i < 500; i++) {
		int port = 10000 + (int)(rand_r(&seed) % 22000);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int fd = socket(AF_INET, SOCK_STREAM, 0), free = fd >= 0 &&
			bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
		if (fd >= 0)
			close(fd);
		if (free)
			return port;
	}
	return -1;
}

static redisContext *direct(void)
{
	struct timeval tv = { 1, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", redis_port, tv);

	if (c && c->err) {
		redisFree(c);
		return NULL;
	}
	return c;
}

/* Starts redis-server on redis_port and waits until it answers PING. */
static void redis_start(void)
{
	char port[16];

	snprintf(port, sizeof port, "%d", redis_port);
	redis_pid = fork();
	ck_assert_int_ge(redis_pid, 0);
	if (redis_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		freopen("/dev/null", "w", stdout);
		execl(REDIS_BIN, REDIS_BIN, "--port", port, "--bind", "127.0.0.1", "--save", "",
		      "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		redisContext *c = direct();
		redisReply *r = c ? redisCommand(c, "PING") : NULL;
		int up = r && r->type == REDIS_REPLY_STATUS;
		if (r)
			freeReplyObject(r);
		if (c)
			redisFree(c);
		if (up)
			return;
		sleep_ms(25);
	}
	ck_abort_msg("redis-server did not answer on port %d", redis_port);
}

static void redis_kill(void)
{
	if (redis_pid > 0) {
		kill(redis_pid, SIGKILL);
		waitpid(redis_pid, NULL, 0);
	}
	redis_pid = -1;
}

static void setup(void)
{
	redis_port = free_port();
	ck_assert_int_gt(redis_port, 0);
	snprintf(prefix, sizeof prefix, "t%d:", (int)getpid());
	fake_now = 1000000;
	redis_start();
}

static void teardown(void)
{
	redis_kill();
}

static session_mgr *open_mgr(int retry_ms)
{
	session_config cfg = { .idle_s = 60, .now = fake_clock };
	char url[64];
	session_redis_config rc = { .url = url, .prefix = prefix, .retry_ms = retry_ms };
	const session_store_ops *ops;
	void *impl;
	strbuf err = STRBUF_INIT;

	snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", redis_port);
	ck_assert_int_eq(session_redis_open_config(&rc, &ops, &impl, &err), 0);
	strbuf_release(&err);
	return session_mgr_new_store(&cfg, ops, impl);
}

static void demo_customer(bank_customer *c, bank_binding *b)
{
	memset(c, 0, sizeof *c);
	c->id = 1;
	strcpy(c->username, "zhangwei");
	strcpy(c->name, "张伟");
	strcpy(c->tier, "mass");
	strcpy(c->locale, "zh-CN");
	memset(b, 0, sizeof *b);
	b->enterprise_id = 7;
	strcpy(b->enterprise_name, "深圳兴旺贸易有限公司");
	strcpy(b->role, "boss");
}

static void login(session_mgr *m, session *s)
{
	bank_customer c;
	bank_binding b;

	demo_customer(&c, &b);
	memset(s, 0, sizeof *s);
	session_login(m, s, &c, &b, 1);
}

/* The one key under the test's session prefix (exactly one must exist). */
static void only_key(redisContext *c, char *out, size_t n)
{
	redisReply *r = redisCommand(c, "KEYS %ssess:*", prefix);

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
	ck_assert_uint_eq(r->elements, 1);
	snprintf(out, n, "%s", r->element[0]->str);
	freeReplyObject(r);
}

static long long ttl_of(redisContext *c, const char *key)
{
	redisReply *r = redisCommand(c, "TTL %s", key);
	long long t;

	ck_assert_ptr_nonnull(r);
	t = r->integer;
	freeReplyObject(r);
	return t;
}

static void stats_of(session_mgr *m, session_redis_stats *out)
{
	(void)m;
	session_redis_stats_get(out);
}

/* --- URLs -------------------------------------------------------------------------- */

START_TEST(test_url_parsing)
{
	session_redis_url u;
	strbuf err = STRBUF_INIT;

	ck_assert_int_eq(session_redis_parse_url("redis://127.0.0.1:6380/2", &u, &err), 0);
	ck_assert_str_eq(u.host, "127.0.0.1");
	ck_assert_int_eq(u.port, 6380);
	ck_assert_int_eq(u.db, 2);
	ck_assert_int_eq(session_redis_parse_url("redis://cache.internal", &u, &err), 0);
	ck_assert_str_eq(u.host, "cache.internal");
	ck_assert_int_eq(u.port, 6379);
	ck_assert_int_eq(u.db, 0);
	ck_assert_int_eq(session_redis_parse_url("redis://[::1]:7000", &u, &err), 0);
	ck_assert_str_eq(u.host, "::1");
	ck_assert_int_eq(u.port, 7000);
	ck_assert_uint_eq(err.len, 0);
	static const char *bad[] = {
		NULL, "", "http://127.0.0.1:6379", "redis://", "redis://:6379", "redis://h:0",
		"redis://h:65536", "redis://h:abc", "redis://h:", "redis://h/x", "redis://h/1/2",
		"redis://user:pw@h:6379", "redis://h:6379?db=1", "redis://[::1", "redis://h h",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		strbuf_reset(&err);
		ck_assert_msg(session_redis_parse_url(bad[i], &u, &err) == -1, "accepted '%s'", bad[i]);
		ck_assert_msg(strstr(err.buf, "invalid session store url '") == err.buf, "%s", err.buf);
	}
	strbuf_release(&err);
}
END_TEST

START_TEST(test_open_refuses_bad_prefix)
{
	const session_store_ops *ops = NULL;
	void *impl = NULL;
	strbuf err = STRBUF_INIT;

	ck_assert_int_eq(session_redis_open("redis://127.0.0.1:6379", "a b:", &ops, &impl, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, "invalid session key prefix 'a b:'"));
	ck_assert_ptr_null(impl);
	strbuf_reset(&err);
	ck_assert_int_eq(session_redis_open("redis://127.0.0.1:6379", "obe*", &ops, &impl, &err), -1);
	strbuf_reset(&err);
	ck_assert_int_eq(session_redis_open("tcp://127.0.0.1", NULL, &ops, &impl, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, "tcp://127.0.0.1"));
	strbuf_release(&err);
}
END_TEST

/* --- with Redis ---------------------------------------------------------------------- */

START_TEST(test_two_managers_share_sessions)
{
	session_mgr *a = open_mgr(0), *b = open_mgr(0);
	session s, got;

	login(a, &s);
	session_set_flash(&s, "{\"ok\":true}");
	ck_assert_int_eq(session_switch(&s, "enterprise:7"), 0);
	session_save(a, &s);
	ck_assert_int_eq(session_get(b, s.id, &got), 0);
	ck_assert_str_eq(got.csrf, s.csrf);
	ck_assert_int_eq(got.customer_id, 1);
	ck_assert_str_eq(got.name, "张伟");
	ck_assert_str_eq(got.locale, "zh-CN");
	ck_assert_int_eq(got.n_identities, 2);
	ck_assert_str_eq(got.identities[0].key, "personal");
	ck_assert_str_eq(got.identities[1].name, "深圳兴旺贸易有限公司");
	ck_assert_str_eq(got.identities[1].role, "boss");
	ck_assert_int_eq(got.identities[1].enterprise_id, 7);
	ck_assert_int_eq(got.current, 1);
	ck_assert_str_eq(got.flash, "{\"ok\":true}");
	ck_assert_int_eq(got.created, s.created);
	ck_assert_int_eq(session_count(b), 1);
	session_clear(&got);

	session_destroy(b, s.id);       /* logout on the other instance */
	ck_assert_int_eq(session_get(a, s.id, &got), -1);
	ck_assert_int_eq(session_count(a), 0);
	session_clear(&s);
	session_mgr_free(a);
	session_mgr_free(b);
}
END_TEST

START_TEST(test_no_token_in_redis_and_ttl_refreshed)
{
	session_mgr *m = open_mgr(0);
	redisContext *c = direct();
	session s, got;
	char key[128];
	redisReply *r;

	ck_assert_ptr_nonnull(c);
	session_new(m, &s);
	only_key(c, key, sizeof key);
	ck_assert_ptr_null(strstr(key, s.id));
	r = redisCommand(c, "GET %s", key);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->type, REDIS_REPLY_STRING);
	ck_assert_ptr_null(strstr(r->str, s.id));       /* only the token's hash, nowhere the token */
	ck_assert_ptr_nonnull(strstr(r->str, s.csrf));
	ck_assert_ptr_nonnull(strstr(r->str, "\"created\":1000000,"));  /* the manager's clock as it is */
	freeReplyObject(r);
	ck_assert_int_gt(ttl_of(c, key), 50);
	ck_assert_int_le(ttl_of(c, key), 60);
	freeReplyObject(redisCommand(c, "EXPIRE %s 5", key));
	ck_assert_int_le(ttl_of(c, key), 5);
	ck_assert_int_eq(session_get(m, s.id, &got), 0);  /* a read restarts the idle clock */
	ck_assert_int_gt(ttl_of(c, key), 50);
	session_clear(&got);
	session_clear(&s);
	redisFree(c);
	session_mgr_free(m);
}
END_TEST

START_TEST(test_expired_in_redis_is_gone)
{
	session_mgr *m = open_mgr(0);
	redisContext *c = direct();
	session s, got;
	char key[128];
	int gone = 0;

	login(m, &s);
	ck_assert_int_eq(session_get(m, s.id, &got), 0);    /* now also held locally */
	session_clear(&got);
	only_key(c, key, sizeof key);
	freeReplyObject(redisCommand(c, "PEXPIRE %s 20", key));
	for (int i = 0; i < 200 && !gone; i++) {
		redisReply *r = redisCommand(c, "EXISTS %s", key);
		gone = r && r->integer == 0;
		freeReplyObject(r);
		if (!gone)
			sleep_ms(10);
	}
	ck_assert(gone);
	ck_assert_int_eq(session_get(m, s.id, &got), -1);   /* the local copy does not revive it */
	session_clear(&s);
	redisFree(c);
	session_mgr_free(m);
}
END_TEST

START_TEST(test_corrupt_record_is_absent)
{
	session_mgr *m = open_mgr(0);
	redisContext *c = direct();
	session s, got;
	char key[128];
	static const char *bad[] = {
		"not json", "[]", "{}", "{\"csrf\":1}", "\xff\xfe",
	};

	session_new(m, &s);
	only_key(c, key, sizeof key);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		freeReplyObject(redisCommand(c, "SET %s %s", key, bad[i]));
		ck_assert_int_eq(session_get(m, s.id, &got), -1);
	}
	ck_assert_int_eq(session_redis_degraded(), 0);
	session_clear(&s);
	redisFree(c);
	session_mgr_free(m);
}
END_TEST

START_TEST(test_lockout_shared)
{
	session_mgr *a = open_mgr(0), *b = open_mgr(0);

	for (int i = 0; i < 4; i++)
		session_login_failed(a, "lina", "10.0.0.1");
	ck_assert(session_login_allowed(b, "lina", "10.0.0.1"));
	session_login_failed(b, "lina", "10.0.0.1");    /* the fifth, on the other instance */
	ck_assert(!session_login_allowed(a, "lina", "10.0.0.2"));
	ck_assert(!session_login_allowed(b, "lina", "10.0.0.2"));
	ck_assert(session_login_allowed(a, "john", "10.0.0.1"));
	session_login_succeeded(a, "lina");
	ck_assert(session_login_allowed(b, "lina", "10.0.0.2"));
	session_mgr_free(a);
	session_mgr_free(b);
}
END_TEST

/* Waits (bounded) until the store has written everything back and left the degraded state. */
static int wait_recovered(session_mgr *m)
{
	session_redis_stats st;

	for (int i = 0; i < 500; i++) {
		stats_of(m, &st);
		if (!st.degraded && st.pending == 0)
			return 1;
		sleep_ms(20);
	}
	return 0;
}

START_TEST(test_outage_local_then_written_back)
{
	session_mgr *a = open_mgr(50);
	session_redis_stats st;
	session before, during, gone, got;

	login(a, &before);
	session_new(a, &gone);
	ck_assert_int_eq(session_redis_degraded(), 0);

	redis_kill();
	ck_assert_int_eq(session_get(a, before.id, &got), 0);  /* still logged in */
	ck_assert_str_eq(got.csrf, before.csrf);
	ck_assert_int_eq(got.n_identities, 2);
	session_set_flash(&got, "{\"paid\":1}");
	session_save(a, &got);
	session_clear(&got);
	ck_assert_int_eq(session_redis_degraded(), 1);
	login(a, &during);
	ck_assert_int_eq(session_get(a, during.id, &got), 0);
	session_clear(&got);
	session_destroy(a, gone.id);
	ck_assert_int_eq(session_get(a, gone.id, &got), -1);
	session_login_failed(a, "john", "10.0.0.9");
	ck_assert(session_login_allowed(a, "john", "10.0.0.9"));
	ck_assert_int_eq(session_count(a), 2);
	stats_of(a, &st);
	ck_assert_int_eq(st.degraded, 1);
	ck_assert_uint_eq(st.outages, 1);
	ck_assert_int_ge(st.pending, 3);

	redis_start();      /* empty: it kept nothing */
	ck_assert(wait_recovered(a));
	stats_of(a, &st);
	ck_assert_uint_ge(st.writebacks, 3);
	ck_assert_uint_eq(st.outages, 1);

	session_mgr *b = open_mgr(50);      /* another instance */
	ck_assert_int_eq(session_get(b, during.id, &got), 0);
	ck_assert_str_eq(got.csrf, during.csrf);
	ck_assert_str_eq(got.identities[1].role, "boss");
	session_clear(&got);
	ck_assert_int_eq(session_get(b, before.id, &got), 0);
	ck_assert_str_eq(got.flash, "{\"paid\":1}");
	session_clear(&got);
	ck_assert_int_eq(session_get(b, gone.id, &got), -1);
	ck_assert_int_eq(session_get(a, before.id, &got), 0);  /* and back on Redis */
	session_clear(&got);
	ck_assert_int_eq(session_redis_degraded(), 0);
	session_clear(&before);
	session_clear(&during);
	session_clear(&gone);
	session_mgr_free(b);
	session_mgr_free(a);
}
END_TEST

START_TEST(test_outage_idle_expiry_and_unknown)
{
	session_mgr *a = open_mgr(50), *b = open_mgr(50);
	session s, other, got;

	login(a, &s);
	session_new(b, &other);         /* only b has ever seen it */
	redis_kill();
	ck_assert_int_eq(session_get(a, other.id, &got), -1);  /* the documented limit */
	fake_now += 61;
	ck_assert_int_eq(session_get(a, s.id, &got), -1);      /* idle: expired locally too */
	session_clear(&s);
	session_clear(&other);
	session_mgr_free(a);            /* no crash, no wait beyond the timeouts */
	session_mgr_free(b);
}
END_TEST

START_TEST(test_starts_degraded_without_redis)
{
	session_mgr *m;
	session s, got;

	redis_kill();
	m = open_mgr(50);
	ck_assert_int_eq(session_redis_degraded(), 1);
	session_new(m, &s);
	ck_assert_int_eq(session_get(m, s.id, &got), 0);
	session_clear(&got);
	redis_start();
	ck_assert(wait_recovered(m));
	session_mgr *b = open_mgr(50);
	ck_assert_int_eq(session_get(b, s.id, &got), 0);
	session_clear(&got);
	session_clear(&s);
	session_mgr_free(b);
	session_mgr_free(m);
}
END_TEST

/* --- threads ---------------------------------------------------------------------------- */

#define N_WORKERS 4
#define PER_WORKER 8

typedef struct worker {
	session_mgr *m;
	pthread_t thread;
	session mine[PER_WORKER];
	atomic_int *stop;
	atomic_long rounds;
	long lost;                  /* a get of a live session that failed */
	char made[SESSION_TOKEN_LEN + 1];   /* a session made after the outage began */
	atomic_int *outage;
} worker;

/* Reads and writes its own sessions until told to stop; makes one new session during the outage. */
static void *worker_main(void *arg)
{
	worker *w = arg;

	while (!atomic_load(w->stop)) {
		for (int i = 0; i < PER_WORKER; i++) {
			session got;
			if (session_get(w->m, w->mine[i].id, &got) < 0) {
				w->lost++;
				continue;
			}
			session_set_flash(&got, i % 2 ? "{\"n\":1}" : NULL);
			session_save(w->m, &got);
			session_clear(&got);
		}
		if (atomic_load(w->outage) && !w->made[0]) {
			session s;
			session_new(w->m, &s);
			snprintf(w->made, sizeof w->made, "%s", s.id);
			session_clear(&s);
		}
		w->rounds++;
	}
	return NULL;
}

/* Waits until every worker has done at least n more rounds. */
static void wait_rounds(worker *w, long n)
{
	long base[N_WORKERS];

	for (int i = 0; i < N_WORKERS; i++)
		base[i] = w[i].rounds;
	for (int i = 0; i < N_WORKERS; i++)
		while (atomic_load(&w[i].rounds) < base[i] + n)
			sleep_ms(5);
}

START_TEST(test_threads_through_an_outage)
{
	session_mgr *m = open_mgr(50);
	worker w[N_WORKERS];
	atomic_int stop = 0, outage = 0;

	memset(w, 0, sizeof w);
	for (int i = 0; i < N_WORKERS; i++) {
		w[i].m = m;
		w[i].stop = &stop;
		w[i].outage = &outage;
		for (int j = 0; j < PER_WORKER; j++)
			login(m, &w[i].mine[j]);
		ck_assert_int_eq(pthread_create(&w[i].thread, NULL, worker_main, &w[i]), 0);
	}
	wait_rounds(w, 20);
	redis_kill();
	atomic_store(&outage, 1);
	wait_rounds(w, 20);
	ck_assert_int_eq(session_redis_degraded(), 1);
	redis_start();
	ck_assert(wait_recovered(m));
	wait_rounds(w, 20);
	atomic_store(&stop, 1);
	for (int i = 0; i < N_WORKERS; i++)
		pthread_join(w[i].thread, NULL);

	session_mgr *b = open_mgr(50);
	for (int i = 0; i < N_WORKERS; i++) {
		session got;
		ck_assert_int_eq(w[i].lost, 0);
		ck_assert_uint_eq(strlen(w[i].made), SESSION_TOKEN_LEN);
		ck_assert_int_eq(session_get(b, w[i].made, &got), 0);
		session_clear(&got);
		for (int j = 0; j < PER_WORKER; j++) {
			ck_assert_int_eq(session_get(b, w[i].mine[j].id, &got), 0);
			ck_assert_int_eq(got.n_identities, 2);
			session_clear(&got);
			session_clear(&w[i].mine[j]);
		}
	}
	session_mgr_free(b);
	session_mgr_free(m);
}
END_TEST

START_TEST(test_metrics_text)
{
	session_mgr *m = open_mgr(0);
	strbuf out = STRBUF_INIT;

	session_redis_metrics(&out);
	ck_assert_ptr_nonnull(strstr(out.buf, "\nsession_store_degraded 0\n"));
	ck_assert_ptr_nonnull(strstr(out.buf, "# TYPE session_store_outages_total counter\n"));
	ck_assert_ptr_nonnull(strstr(out.buf, "\nsession_store_pending 0\n"));
	session_mgr_free(m);
	strbuf_reset(&out);
	session_redis_metrics(&out);    /* no store open: nothing */
	ck_assert_uint_eq(out.len, 0);
	strbuf_release(&out);
}
END_TEST

Suite *suite_session_redis(void);

Suite *suite_session_redis(void)
{
	Suite *s = suite_create("session_redis");
	TCase *plain = tcase_create("url"), *live = tcase_create("redis");

	tcase_add_test(plain, test_url_parsing);
	tcase_add_test(plain, test_open_refuses_bad_prefix);
	suite_add_tcase(s, plain);
	tcase_add_checked_fixture(live, setup, teardown);
	tcase_set_timeout(live, 60);
	tcase_add_test(live, test_two_managers_share_sessions);
	tcase_add_test(live, test_no_token_in_redis_and_ttl_refreshed);
	tcase_add_test(live, test_expired_in_redis_is_gone);
	tcase_add_test(live, test_corrupt_record_is_absent);
	tcase_add_test(live, test_lockout_shared);
	tcase_add_test(live, test_outage_local_then_written_back);
	tcase_add_test(live, test_outage_idle_expiry_and_unknown);
	tcase_add_test(live, test_starts_degraded_without_redis);
	tcase_add_test(live, test_threads_through_an_outage);
	tcase_add_test(live, test_metrics_text);
	suite_add_tcase(s, live);
	return s;
}
