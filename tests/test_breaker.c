/*
 * The circuit breaker on an injected clock: it opens at the failure share only
 * past the minimum volume, forgets outcomes older than the window, doubles
 * its open time on each re-open up to the cap, closes on a good probe, and
 * keeps consistent counts when many threads call it at once.
 */
#include <check.h>
#include <pthread.h>

#include "breaker.h"

static long long now_ms;

static long long test_clock(void *cls)
{
	(void)cls;
	return now_ms;
}

static breaker *make(int min_calls)
{
	breaker_config c = { .window_ms = 10000, .buckets = 10, .threshold = 0.5,
			     .min_calls = min_calls, .open_ms = 1000, .open_max_ms = 8000, .probes = 1 };
	now_ms = 100000;
	return breaker_new(&c, test_clock, NULL);
}

static void calls(breaker *b, int n, int ok)
{
	for (int i = 0; i < n; i++) {
		breaker_ticket t = breaker_allow(b);
		ck_assert_int_eq(t, BREAKER_PASS);
		breaker_record(b, t, ok, NULL);
	}
}

/* Opens the breaker from closed with 20 failures. */
static void trip(breaker *b)
{
	calls(b, 20, 0);
	ck_assert_int_eq(breaker_state_now(b), BREAKER_OPEN);
}

START_TEST(stays_closed_below_volume)
{
	breaker *b = make(20);
	calls(b, 19, 0);                      /* every call failed, but too few */
	ck_assert_int_eq(breaker_state_now(b), BREAKER_CLOSED);
	long n, f;
	breaker_window(b, &n, &f);
	ck_assert_int_eq(n, 19);
	ck_assert_int_eq(f, 19);
	calls(b, 1, 0);
	ck_assert_int_eq(breaker_state_now(b), BREAKER_OPEN);
	ck_assert_int_eq(breaker_allow(b), BREAKER_REJECT);
	breaker_free(b);
}
END_TEST

START_TEST(opens_above_threshold_only)
{
	breaker *b = make(20);
	calls(b, 10, 1);
	calls(b, 10, 0);                      /* exactly 50%: not above the threshold */
	ck_assert_int_eq(breaker_state_now(b), BREAKER_CLOSED);
	int changed = 0;
	breaker_ticket t = breaker_allow(b);
	ck_assert_int_eq(breaker_record(b, t, 0, &changed), BREAKER_OPEN);
	ck_assert_int_eq(changed, 1);
	breaker_free(b);
}
END_TEST

START_TEST(successes_keep_it_closed)
{
	breaker *b = make(20);
	calls(b, 100, 1);
	calls(b, 90, 0);                      /* 90 of 190 */
	ck_assert_int_eq(breaker_state_now(b), BREAKER_CLOSED);
	breaker_free(b);
}
END_TEST

START_TEST(old_outcomes_leave_the_window)
{
	breaker *b = make(20);
	calls(b, 15, 0);
	now_ms += 10000;                      /* a whole window later */
	long n, f;
	breaker_window(b, &n, &f);
	ck_assert_int_eq(n, 0);
	calls(b, 15, 0);
	ck_assert_int_eq(breaker_state_now(b), BREAKER_CLOSED);
	now_ms += 5000;                       /* the second 15 are still inside the window */
	calls(b, 5, 0);
	ck_assert_int_eq(breaker_state_now(b), BREAKER_OPEN);
	breaker_free(b);
}
END_TEST

START_TEST(open_time_doubles_and_caps)
{
	breaker *b = make(20);
	trip(b);
	ck_assert_int_eq(breaker_open_time_ms(b), 1000);
	now_ms += 999;
	ck_assert_int_eq(breaker_allow(b), BREAKER_REJECT);
	int expect[] = { 2000, 4000, 8000, 8000 };
	for (int i = 0; i < 4; i++) {
		now_ms += breaker_open_time_ms(b);
		breaker_ticket t = breaker_allow(b);
		ck_assert_int_eq(t, BREAKER_PROBE);
		ck_assert_int_eq(breaker_allow(b), BREAKER_REJECT);   /* one probe at a time */
		ck_assert_int_eq(breaker_record(b, t, 0, NULL), BREAKER_OPEN);
		ck_assert_int_eq(breaker_open_time_ms(b), expect[i]);
		now_ms += expect[i] - 1;
		ck_assert_int_eq(breaker_allow(b), BREAKER_REJECT);
		now_ms += 1 - breaker_open_time_ms(b);                 /* back to the opening */
	}
	breaker_free(b);
}
END_TEST

START_TEST(probe_success_closes_and_resets)
{
	breaker *b = make(20);
	trip(b);
	now_ms += 1000;
	ck_assert_int_eq(breaker_state_now(b), BREAKER_HALF_OPEN);
	breaker_ticket t = breaker_allow(b);
	ck_assert_int_eq(t, BREAKER_PROBE);
	breaker_record(b, t, 0, NULL);        /* re-opens for 2 s */
	ck_assert_int_eq(breaker_open_time_ms(b), 2000);
	now_ms += 2000;
	t = breaker_allow(b);
	ck_assert_int_eq(t, BREAKER_PROBE);
	int changed = 0;
	ck_assert_int_eq(breaker_record(b, t, 1, &changed), BREAKER_CLOSED);
	ck_assert_int_eq(changed, 1);
	long n, f;
	breaker_window(b, &n, &f);
	ck_assert_int_eq(n, 0);               /* a fresh window */
	calls(b, 19, 0);
	ck_assert_int_eq(breaker_state_now(b), BREAKER_CLOSED);
	calls(b, 1, 0);                       /* one more: opens with the base time again */
	ck_assert_int_eq(breaker_state_now(b), BREAKER_OPEN);
	ck_assert_int_eq(breaker_open_time_ms(b), 1000);
	breaker_free(b);
}
END_TEST

START_TEST(late_outcomes_are_dropped)
{
	breaker *b = make(20);
	breaker_ticket slow = breaker_allow(b);
	trip(b);
	int changed = 1;
	ck_assert_int_eq(breaker_record(b, slow, 1, &changed), BREAKER_OPEN);
	ck_assert_int_eq(changed, 0);
	now_ms += 1000;
	breaker_ticket p = breaker_allow(b);
	ck_assert_int_eq(breaker_record(b, slow, 0, NULL), BREAKER_HALF_OPEN);
	ck_assert_int_eq(breaker_record(b, p, 1, NULL), BREAKER_CLOSED);
	breaker_free(b);
}
END_TEST

START_TEST(released_probe_lets_another_through)
{
	breaker *b = make(20);
	trip(b);
	now_ms += 1000;
	breaker_ticket t = breaker_allow(b);
	ck_assert_int_eq(t, BREAKER_PROBE);
	ck_assert_int_eq(breaker_allow(b), BREAKER_REJECT);
	breaker_release(b, t);                /* cut short: no verdict */
	ck_assert_int_eq(breaker_state_now(b), BREAKER_HALF_OPEN);
	t = breaker_allow(b);
	ck_assert_int_eq(t, BREAKER_PROBE);
	ck_assert_int_eq(breaker_record(b, t, 1, NULL), BREAKER_CLOSED);
	breaker_release(b, BREAKER_PASS);     /* a normal ticket: nothing to give back */
	ck_assert_int_eq(breaker_state_now(b), BREAKER_CLOSED);
	breaker_free(b);
}
END_TEST

START_TEST(defaults_apply)
{
	breaker *b = breaker_new(NULL, test_clock, NULL);
	now_ms = 5000;
	calls(b, 19, 0);
	ck_assert_int_eq(breaker_state_now(b), BREAKER_CLOSED);
	calls(b, 1, 0);
	ck_assert_int_eq(breaker_state_now(b), BREAKER_OPEN);
	ck_assert_int_eq(breaker_open_time_ms(b), 1000);
	ck_assert_str_eq(breaker_state_name(BREAKER_HALF_OPEN), "half-open");
	breaker_free(b);
}
END_TEST

/* --- many threads at once --------------------------------------------------------- */

#define THREADS 8
#define PER_THREAD 5000

static breaker *shared;

static void *hammer(void *arg)
{
	long id = (long)arg;
	for (int i = 0; i < PER_THREAD; i++) {
		breaker_ticket t = breaker_allow(shared);
		if (t != BREAKER_REJECT)
			breaker_record(shared, t, (i + id) % 4 != 0, NULL);   /* 25% failures */
	}
	return NULL;
}

START_TEST(threads_keep_counts)
{
	breaker_config c = { .window_ms = 10000, .buckets = 10, .threshold = 0.5, .min_calls = 20 };
	now_ms = 0;                           /* the clock stands still: one window holds it all */
	shared = breaker_new(&c, test_clock, NULL);
	pthread_t th[THREADS];
	for (long i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, hammer, (void *)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	long n, f;
	breaker_window(shared, &n, &f);
	ck_assert_int_eq(n, THREADS * PER_THREAD);
	ck_assert_int_eq(f, THREADS * PER_THREAD / 4);
	ck_assert_int_eq(breaker_state_now(shared), BREAKER_CLOSED);
	breaker_free(shared);
}
END_TEST

Suite *suite_breaker(void);

Suite *suite_breaker(void)
{
	Suite *s = suite_create("breaker");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, stays_closed_below_volume);
	tcase_add_test(tc, opens_above_threshold_only);
	tcase_add_test(tc, successes_keep_it_closed);
	tcase_add_test(tc, old_outcomes_leave_the_window);
	tcase_add_test(tc, open_time_doubles_and_caps);
	tcase_add_test(tc, probe_success_closes_and_resets);
	tcase_add_test(tc, late_outcomes_are_dropped);
	tcase_add_test(tc, released_probe_lets_another_through);
	tcase_add_test(tc, defaults_apply);
	tcase_add_test(tc, threads_keep_counts);
	suite_add_tcase(s, tc);
	return s;
}
