/*
 * breaker: the window is a ring of buckets, each stamped with the number of
 * the bucket-sized time slice it counts; a bucket whose stamp is older than
 * the window counts nothing and is reused. The state machine lives under one
 * mutex; outcomes that arrive for a state the breaker has left (a slow call
 * that started while closed and ends while open) are dropped, so only the
 * calls a state let through decide its fate.
 */
#include "breaker.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "strbuf.h"

#define MAX_BUCKETS 60

typedef struct bucket {
	long long slice;            /* now / bucket_ms when it was last used */
	long calls, failures;
} bucket;

struct breaker {
	pthread_mutex_t lock;
	breaker_config cfg;
	long long bucket_ms;
	breaker_clock_fn clock;
	void *clock_cls;
	breaker_state state;
	long long open_until;       /* while open: when it turns half-open */
	int open_time_ms;           /* length of the current or last opening */
	int probes_out;             /* probes let through and not yet recorded */
	bucket ring[MAX_BUCKETS];
};

static long long monotonic_ms(void *cls)
{
	struct timespec ts;

	(void)cls;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void apply_defaults(breaker_config *c)
{
	if (c->window_ms <= 0)
		c->window_ms = 10000;
	if (c->buckets <= 0)
		c->buckets = 10;
	if (c->buckets > MAX_BUCKETS)
		c->buckets = MAX_BUCKETS;
	if (c->window_ms < c->buckets)
		c->window_ms = c->buckets;
	if (!(c->threshold > 0 && c->threshold < 1))
		c->threshold = 0.5;
	if (c->min_calls <= 0)
		c->min_calls = 20;
	if (c->open_ms <= 0)
		c->open_ms = 1000;
	if (c->open_max_ms < c->open_ms)
		c->open_max_ms = c->open_ms > 30000 ? c->open_ms : 30000;
	if (c->probes <= 0)
		c->probes = 1;
}

breaker *breaker_new(const breaker_config *cfg, breaker_clock_fn clock, void *clock_cls)
{
	breaker *b = xcalloc(1, sizeof *b);

	if (cfg)
		b->cfg = *cfg;
	apply_defaults(&b->cfg);
	b->bucket_ms = b->cfg.window_ms / b->cfg.buckets;
	b->clock = clock ? clock : monotonic_ms;
	b->clock_cls = clock_cls;
	b->state = BREAKER_CLOSED;
	b->open_time_ms = b->cfg.open_ms;
	for (int i = 0; i < MAX_BUCKETS; i++)
		b->ring[i].slice = -1;
	pthread_mutex_init(&b->lock, NULL);
	return b;
}

void breaker_free(breaker *b)
{
	if (!b)
		return;
	pthread_mutex_destroy(&b->lock);
	free(b);
}

/* --- the window (lock held) ---------------------------------------------------------- */

static void window_clear(breaker *b)
{
	for (int i = 0; i < b->cfg.buckets; i++) {
		b->ring[i].slice = -1;
		b->ring[i].calls = b->ring[i].failures = 0;
	}
}

static void window_add(breaker *b, long long now, int ok)
{
	long long slice = now / b->bucket_ms;
	bucket *k = &b->ring[slice % b->cfg.buckets];

	if (k->slice != slice) {
		k->slice = slice;
		k->calls = k->failures = 0;
	}
	k->calls++;
	if (!ok)
		k->failures++;
}

static void window_sum(breaker *b, long long now, long *calls, long *failures)
{
	long long slice = now / b->bucket_ms;

	*calls = *failures = 0;
	for (int i = 0; i < b->cfg.buckets; i++) {
		const bucket *k = &b->ring[i];
		if (k->slice < 0 || k->slice <= slice - b->cfg.buckets || k->slice > slice)
			continue;
		*calls += k->calls;
		*failures += k->failures;
	}
}

/* --- the state machine (lock held) ------------------------------------------------------ */

static void trip(breaker *b, long long now, int reopen)
{
	if (reopen) {
		long long t = (long long)b->open_time_ms * 2;
		b->open_time_ms = t > b->cfg.open_max_ms ? b->cfg.open_max_ms : (int)t;
	} else {
		b->open_time_ms = b->cfg.open_ms;
	}
	b->state = BREAKER_OPEN;
	b->open_until = now + b->open_time_ms;
	b->probes_out = 0;
}

static void close_again(breaker *b)
{
	b->state = BREAKER_CLOSED;
	b->probes_out = 0;
	window_clear(b);
}

breaker_ticket breaker_allow(breaker *b)
{
	breaker_ticket t = BREAKER_REJECT;

	pthread_mutex_lock(&b->lock);
	if (b->state == BREAKER_OPEN && b->clock(b->clock_cls) >= b->open_until) {
		b->state = BREAKER_HALF_OPEN;
		b->probes_out = 0;
	}
	if (b->state == BREAKER_CLOSED) {
		t = BREAKER_PASS;
	} else if (b->state == BREAKER_HALF_OPEN && b->probes_out < b->cfg.probes) {
		b->probes_out++;
		t = BREAKER_PROBE;
	}
	pthread_mutex_unlock(&b->lock);
	return t;
}

static void record_pass(breaker *b, long long now, int ok)
{
	long calls, failures;

	window_add(b, now, ok);
	if (ok)
		return;
	window_sum(b, now, &calls, &failures);
	if (calls >= b->cfg.min_calls && (double)failures > b->cfg.threshold * (double)calls)
		trip(b, now, 0);
}

breaker_state breaker_record(breaker *b, breaker_ticket t, int ok, int *changed)
{
	breaker_state before, after;

	pthread_mutex_lock(&b->lock);
	before = b->state;
	if (t == BREAKER_PASS && b->state == BREAKER_CLOSED) {
		record_pass(b, b->clock(b->clock_cls), ok);
	} else if (t == BREAKER_PROBE && b->state == BREAKER_HALF_OPEN) {
		if (ok)
			close_again(b);
		else
			trip(b, b->clock(b->clock_cls), 1);
	}
	after = b->state;
	pthread_mutex_unlock(&b->lock);
	if (changed)
		*changed = after != before;
	return after;
}

void breaker_release(breaker *b, breaker_ticket t)
{
	if (t != BREAKER_PROBE)
		return;
	pthread_mutex_lock(&b->lock);
	if (b->state == BREAKER_HALF_OPEN && b->probes_out > 0)
		b->probes_out--;
	pthread_mutex_unlock(&b->lock);
}

/* --- reading it ---------------------------------------------------------------------------- */

breaker_state breaker_state_now(breaker *b)
{
	breaker_state s;

	pthread_mutex_lock(&b->lock);
	s = b->state;
	if (s == BREAKER_OPEN && b->clock(b->clock_cls) >= b->open_until)
		s = BREAKER_HALF_OPEN;      /* what the next call will find */
	pthread_mutex_unlock(&b->lock);
	return s;
}

int breaker_open_time_ms(breaker *b)
{
	int ms;

	pthread_mutex_lock(&b->lock);
	ms = b->open_time_ms;
	pthread_mutex_unlock(&b->lock);
	return ms;
}

void breaker_window(breaker *b, long *calls, long *failures)
{
	pthread_mutex_lock(&b->lock);
	window_sum(b, b->clock(b->clock_cls), calls, failures);
	pthread_mutex_unlock(&b->lock);
}

const char *breaker_state_name(breaker_state s)
{
	switch (s) {
	case BREAKER_CLOSED: return "closed";
	case BREAKER_OPEN: return "open";
	case BREAKER_HALF_OPEN: return "half-open";
	}
	return "unknown";
}
