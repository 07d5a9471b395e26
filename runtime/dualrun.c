/*
 * dualrun: the comparison pool.
 *
 * One mutex guards the queue, the counts and the kept mismatches; the Lua run
 * itself happens outside it. A job holds a reference on its pack set, so a
 * reload that drops the canary's pack frees it only after the job ends.
 *
 * The canary's deadline: the job runs a copy of the canary edition's public
 * struct whose flow_specs hold only the flow, with timeout_ms lowered to the
 * pool's (the flow's own spec otherwise decides how long it may run). The
 * copy shares the pack, so the runner's Lua state for the pack is reused.
 *
 * Both results are compared as canonical JSON (keys sorted, compact).
 */
#include "dualrun.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow.h"
#include "log.h"

#define MAX_SERIES 512
#define BODY_KEEP 1024

enum { R_MATCH, R_MISMATCH, R_ERROR, R_TIMEOUT, N_RESULTS };
static const char *const RESULT_NAMES[N_RESULTS] = { "match", "mismatch", "canary_error", "canary_timeout" };

typedef struct job {
	struct job *next;
	registry *hold;
	const rt_edition *canary;
	char flow[64];
	json_t *params;
	bank_identity who;
	char *stable;               /* canonical JSON */
} job;

typedef struct series {
	char edition[32], flow[64];
	unsigned long long n[N_RESULTS];
} series;

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake, idle;
	pthread_t threads[8];
	int n_threads, stopping, running, waiting;
	dualrun_config cfg;
	bank *bank;
	job *head, *tail;
	series series[MAX_SERIES];
	size_t n_series;
	unsigned long long dropped;
	json_t *mismatches;         /* array, newest first */
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER,
	   .idle = PTHREAD_COND_INITIALIZER };

static void job_free(job *j)
{
	registry_release(j->hold);
	json_decref(j->params);
	free(j->stable);
	free(j);
}

static char *canonical(json_t *v)
{
	return json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
}

/* --- counting (lock held) ---------------------------------------------------- */

static void count(const char *edition, const char *flow, int result)
{
	series *s = NULL;

	for (size_t i = 0; i < pool.n_series && !s; i++)
		if (!strcmp(pool.series[i].edition, edition) && !strcmp(pool.series[i].flow, flow))
			s = &pool.series[i];
	if (!s && pool.n_series < MAX_SERIES) {
		s = &pool.series[pool.n_series++];
		snprintf(s->edition, sizeof s->edition, "%s", edition);
		snprintf(s->flow, sizeof s->flow, "%s", flow);
	}
	if (s)
		s->n[result]++;
}

static json_t *truncated(const char *text)
{
	size_t n = text ? strlen(text) : 0;

	if (n <= BODY_KEEP)
		return json_string(text ? text : "") ?: json_string("");
	json_t *s;
	char *t = xcalloc(1, BODY_KEEP + 4);
	memcpy(t, text, BODY_KEEP);
	/* cut on a character boundary: drop trailing UTF-8 continuation bytes */
	size_t k = BODY_KEEP;
	while (k > 0 && ((unsigned char)t[k - 1] & 0xC0) == 0x80)
		k--;
	if (k > 0 && (unsigned char)t[k - 1] >= 0xC0)
		k--;
	memcpy(t + k, "...", 4);
	s = json_string(t) ?: json_string("");
	free(t);
	return s;
}

static void keep_mismatch(const job *j, const char *canary_text)
{
	char when[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!pool.mismatches)
		pool.mismatches = json_array();
	json_array_insert_new(pool.mismatches, 0, json_pack("{s:s, s:s, s:s, s:I, s:o, s:o, s:s}",
		"edition", j->canary->id, "canary_version", j->canary->version, "flow", j->flow,
		"customer_id", (json_int_t)j->who.customer_id, "stable", truncated(j->stable),
		"canary", truncated(canary_text), "time", when));
	while (json_array_size(pool.mismatches) > DUALRUN_KEEP)
		json_array_remove(pool.mismatches, DUALRUN_KEEP);
}

/* --- running ---------------------------------------------------------------- */

/* The canary's flow under the pool's deadline. Returns the result index; *text on success. */
static int run_canary(flow_runner *fr, const job *j, char **text)
{
	json_t *spec = json_object_get(j->canary->flow_specs, j->flow), *result = NULL, *t;
	rt_edition shadow = *j->canary;
	strbuf err = STRBUF_INIT;
	int st;

	*text = NULL;
	if (!json_is_object(spec))
		return R_ERROR;
	spec = json_deep_copy(spec);
	t = json_object_get(spec, "timeout_ms");
	if (!json_is_integer(t) || json_integer_value(t) > pool.cfg.timeout_ms)
		json_object_set_new(spec, "timeout_ms", json_integer(pool.cfg.timeout_ms));
	shadow.flow_specs = json_object();
	json_object_set_new(shadow.flow_specs, j->flow, spec);
	st = flow_run(fr, &shadow, j->flow, j->params, &j->who, &result, &err);
	json_decref(shadow.flow_specs);
	strbuf_release(&err);
	if (st == FLOW_TIMEOUT)
		return R_TIMEOUT;
	if (st != FLOW_OK) {
		json_decref(result);
		return R_ERROR;
	}
	*text = canonical(result);
	json_decref(result);
	return *text ? R_MATCH : R_ERROR;
}

static void run_job(flow_runner *fr, job *j)
{
	char *text;
	int res = run_canary(fr, j, &text);

	if (res == R_MATCH && strcmp(text, j->stable))
		res = R_MISMATCH;
	pthread_mutex_lock(&pool.lock);
	count(j->canary->id, j->flow, res);
	if (res == R_MISMATCH)
		keep_mismatch(j, text);
	pthread_mutex_unlock(&pool.lock);
	if (res != R_MATCH)
		log_warn("dual run: edition '%s' version %s flow '%s' customer %lld: %s", j->canary->id,
			 j->canary->version, j->flow, j->who.customer_id, RESULT_NAMES[res]);
	free(text);
}

static void *worker(void *arg)
{
	flow_runner *fr = flow_runner_new(pool.bank, pool.cfg.mem_cap);

	(void)arg;
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		while (!pool.head && !pool.stopping)
			pthread_cond_wait(&pool.wake, &pool.lock);
		if (pool.stopping)
			break;
		job *j = pool.head;
		pool.head = j->next;
		if (!pool.head)
			pool.tail = NULL;
		pool.waiting--;
		pool.running++;
		pthread_mutex_unlock(&pool.lock);
		run_job(fr, j);
		job_free(j);
		pthread_mutex_lock(&pool.lock);
		pool.running--;
		pthread_cond_broadcast(&pool.idle);
	}
	pthread_mutex_unlock(&pool.lock);
	flow_runner_free(fr);
	return NULL;
}

/* --- the pool ----------------------------------------------------------------- */

int dualrun_start(bank *b, const dualrun_config *cfg)
{
	dualrun_config c = cfg ? *cfg : (dualrun_config){ 0 };

	if (pool.n_threads)
		return 0;
	c.workers = c.workers < 1 ? 1 : c.workers > 8 ? 8 : c.workers;
	c.queue = c.queue < 1 ? 64 : c.queue;
	c.timeout_ms = c.timeout_ms < 1 ? 50 : c.timeout_ms;
	c.mem_cap = c.mem_cap ? c.mem_cap : 8u << 20;
	pool.cfg = c;
	pool.bank = b;
	pool.stopping = 0;
	for (int i = 0; i < c.workers; i++) {
		if (pthread_create(&pool.threads[i], NULL, worker, NULL) != 0) {
			dualrun_stop();
			return -1;
		}
		pool.n_threads++;
	}
	return 0;
}

void dualrun_stop(void)
{
	pthread_mutex_lock(&pool.lock);
	pool.stopping = 1;
	pthread_cond_broadcast(&pool.wake);
	pthread_mutex_unlock(&pool.lock);
	for (int i = 0; i < pool.n_threads; i++)
		pthread_join(pool.threads[i], NULL);
	pool.n_threads = 0;
	while (pool.head) {
		job *j = pool.head;
		pool.head = j->next;
		job_free(j);
	}
	pool.tail = NULL;
	pool.waiting = 0;
}

int dualrun_submit(registry *hold, const rt_edition *canary, const char *flow, json_t *params,
		   const bank_identity *who, json_t *stable_result)
{
	job *j;

	if (!canary || !flow || strlen(flow) >= sizeof j->flow)
		return -1;
	pthread_mutex_lock(&pool.lock);
	if (!pool.n_threads || pool.stopping || pool.waiting >= pool.cfg.queue) {
		pool.dropped++;
		pthread_mutex_unlock(&pool.lock);
		return -1;
	}
	pool.waiting++;         /* reserve the place; the copies are made unlocked */
	pthread_mutex_unlock(&pool.lock);
	j = xcalloc(1, sizeof *j);
	j->hold = registry_ref(hold);
	j->canary = canary;
	snprintf(j->flow, sizeof j->flow, "%s", flow);
	j->params = params ? json_deep_copy(params) : json_object();
	if (who)
		j->who = *who;
	j->stable = canonical(stable_result);
	pthread_mutex_lock(&pool.lock);
	if (pool.tail)
		pool.tail->next = j;
	else
		pool.head = j;
	pool.tail = j;
	pthread_cond_signal(&pool.wake);
	pthread_mutex_unlock(&pool.lock);
	return 0;
}

int dualrun_wait_idle(int wait_ms)
{
	struct timespec until;
	int idle;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&pool.lock);
	while ((pool.waiting || pool.running) &&
	       pthread_cond_timedwait(&pool.idle, &pool.lock, &until) == 0)
		;
	idle = !pool.waiting && !pool.running;
	pthread_mutex_unlock(&pool.lock);
	return idle;
}

/* --- reading ------------------------------------------------------------------ */

unsigned long long dualrun_count(const char *edition, const char *flow, const char *result)
{
	unsigned long long n = 0;

	pthread_mutex_lock(&pool.lock);
	for (size_t i = 0; i < pool.n_series; i++)
		for (int k = 0; k < N_RESULTS; k++)
			if (!strcmp(pool.series[i].edition, edition) && !strcmp(pool.series[i].flow, flow) &&
			    !strcmp(RESULT_NAMES[k], result))
				n = pool.series[i].n[k];
	pthread_mutex_unlock(&pool.lock);
	return n;
}

unsigned long long dualrun_dropped(void)
{
	unsigned long long n;

	pthread_mutex_lock(&pool.lock);
	n = pool.dropped;
	pthread_mutex_unlock(&pool.lock);
	return n;
}

json_t *dualrun_mismatches(void)
{
	json_t *copy;

	pthread_mutex_lock(&pool.lock);
	copy = pool.mismatches ? json_deep_copy(pool.mismatches) : json_array();
	pthread_mutex_unlock(&pool.lock);
	return copy;
}

void dualrun_metrics(strbuf *out)
{
	strbuf_adds(out, "# HELP dualrun_total canary flows run beside stable answers, by result\n"
		    "# TYPE dualrun_total counter\n");
	pthread_mutex_lock(&pool.lock);
	for (size_t i = 0; i < pool.n_series; i++)
		for (int k = 0; k < N_RESULTS; k++)
			strbuf_addf(out, "dualrun_total{edition=\"%s\",flow=\"%s\",result=\"%s\"} %llu\n",
				    pool.series[i].edition, pool.series[i].flow, RESULT_NAMES[k],
				    pool.series[i].n[k]);
	strbuf_addf(out, "# HELP dualrun_dropped_total comparisons dropped: queue full or pool stopped\n"
		    "# TYPE dualrun_dropped_total counter\ndualrun_dropped_total %llu\n", pool.dropped);
	pthread_mutex_unlock(&pool.lock);
}

void dualrun_reset(void)
{
	pthread_mutex_lock(&pool.lock);
	pool.n_series = 0;
	pool.dropped = 0;
	json_decref(pool.mismatches);
	pool.mismatches = NULL;
	pthread_mutex_unlock(&pool.lock);
}
