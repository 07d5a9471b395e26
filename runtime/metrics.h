/*
 * metrics: the server's counters and one latency histogram, rendered in the
 * Prometheus text format at /metrics.
 *
 * Everything is process-wide and thread-safe. Labelled counters live in a small
 * hash table under a mutex (a few hundred series at most: editions x routes x
 * statuses); the histogram and gauges are atomics.
 */
#ifndef METRICS_H
#define METRICS_H

#include "strbuf.h"

void metrics_request(const char *edition, const char *route, int status, double seconds);
void metrics_flow_error(const char *edition, const char *flow);
void metrics_reload(int ok);
void metrics_set_packs_loaded(long n);
void metrics_in_flight(int delta);          /* requests between headers and completion */

/* Appends the whole exposition; sessions_active is read by the caller from its store. */
void metrics_render(strbuf *out, long sessions_active);

/* Drops every series (tests). */
void metrics_reset(void);

#endif
