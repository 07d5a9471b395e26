/*
 * dualrun: runs a canary version's read-only flow beside the stable answer and
 * compares the two, never touching the customer's response.
 *
 * The request thread hands over a job (the canary edition, the flow, the
 * params, who, the stable result) after it has its own answer; a small pool of
 * worker threads, each with its own flow_runner, runs the canary under a strict
 * deadline of its own. When the queue is full the job is dropped (counted),
 * so a slow or looping canary costs the request path one copy of the params at
 * most. Results are counted per edition, flow and result ("match",
 * "mismatch", "canary_error", "canary_timeout") and the last mismatches kept.
 */
#ifndef DUALRUN_H
#define DUALRUN_H

#include <jansson.h>

#include "bank.h"
#include "registry.h"
#include "strbuf.h"

#define DUALRUN_KEEP 50             /* mismatches kept for GET /admin/mismatches */

typedef struct dualrun_config {     /* public; zeros take the defaults */
	int workers;                /* 1 */
	int queue;                  /* 64 jobs waiting at most */
	int timeout_ms;             /* 50: the canary's deadline, lower than its spec's */
	size_t mem_cap;             /* per Lua state: 8 MiB */
} dualrun_config;

/* Starts the pool (process-wide, once). b outlives it. 0, or -1 when the threads cannot start. */
int dualrun_start(bank *b, const dualrun_config *cfg);
/* Stops the pool: waits for the job running, drops the waiting ones. */
void dualrun_stop(void);

/*
 * Queues a comparison. hold is the pack set canary belongs to (a reference is
 * taken for the job's life); params and stable_result are copied. 0 when
 * queued, -1 when dropped (pool not started or queue full).
 */
int dualrun_submit(registry *hold, const rt_edition *canary, const char *flow, json_t *params,
		   const bank_identity *who, json_t *stable_result);

/* Waits until no job is waiting or running (tests, bounded by wait_ms). 1 when idle. */
int dualrun_wait_idle(int wait_ms);

/* The count of one series (tests). */
unsigned long long dualrun_count(const char *edition, const char *flow, const char *result);
unsigned long long dualrun_dropped(void);
/* The kept mismatches, newest first (new reference). */
json_t *dualrun_mismatches(void);
/* Appends dualrun_total and dualrun_dropped_total in the Prometheus text format. */
void dualrun_metrics(strbuf *out);
/* Forgets counts and mismatches (tests). */
void dualrun_reset(void);

#endif
