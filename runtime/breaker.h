/*
 * breaker: a circuit breaker for one remote service.
 *
 * Closed: calls go through and their outcomes fill a rolling window of
 * buckets. When the window holds at least min_calls outcomes and the share of
 * failures is above threshold, the breaker opens. Open: calls fail fast for
 * the open time. Then half-open: up to `probes` calls at a time go through;
 * the first probe that succeeds closes the breaker (window emptied, open time
 * back to its base), a probe that fails opens it again for twice the previous
 * open time, up to open_max_ms.
 *
 * Thread-safe (one mutex per breaker, held for a few instructions). Time comes
 * from a clock function in milliseconds, monotonic; tests inject their own.
 */
#ifndef BREAKER_H
#define BREAKER_H

typedef enum breaker_state {
	BREAKER_CLOSED = 0,
	BREAKER_OPEN = 1,
	BREAKER_HALF_OPEN = 2
} breaker_state;

/* What breaker_allow grants: pass its value back to breaker_record. */
typedef enum breaker_ticket {
	BREAKER_REJECT = 0,         /* fail fast, record nothing */
	BREAKER_PASS = 1,           /* a normal call while closed */
	BREAKER_PROBE = 2           /* a trial call while half-open */
} breaker_ticket;

typedef struct breaker_config {  /* public; zeros take the defaults */
	int window_ms;              /* rolling window: 10000 */
	int buckets;                /* buckets in the window: 10 (at most 60) */
	double threshold;           /* failure share that opens: 0.5 (above it) */
	int min_calls;              /* outcomes needed in the window before it may open: 20 */
	int open_ms;                /* first open time: 1000 */
	int open_max_ms;            /* cap of the doubling open time: 30000 */
	int probes;                 /* calls let through at a time while half-open: 1 */
} breaker_config;

typedef long long (*breaker_clock_fn)(void *cls);

typedef struct breaker breaker;

/* clock NULL: CLOCK_MONOTONIC. Caller owns the result; free with breaker_free. */
breaker *breaker_new(const breaker_config *cfg, breaker_clock_fn clock, void *clock_cls);
void breaker_free(breaker *b);

/* May this call go out? An open breaker whose time is up turns half-open here. */
breaker_ticket breaker_allow(breaker *b);
/*
 * The outcome of a call allowed with ticket t (ok: 1 success, 0 failure).
 * Returns the state after it; *changed (may be NULL) says whether it moved.
 */
breaker_state breaker_record(breaker *b, breaker_ticket t, int ok, int *changed);

/* Gives a ticket back without an outcome (the call was cut short by its caller). */
void breaker_release(breaker *b, breaker_ticket t);

breaker_state breaker_state_now(breaker *b);
/* The length of the current (or last) opening in ms: the base, doubled on each re-open. */
int breaker_open_time_ms(breaker *b);
/* Outcomes in the current window. */
void breaker_window(breaker *b, long *calls, long *failures);
const char *breaker_state_name(breaker_state s);

#endif
