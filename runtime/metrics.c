/*
 * metrics: a series is a metric name plus its rendered label set
 * (`edition="mass",route="home",status="200"`), kept in a chained hash table
 * of fixed size. Series are never removed while the process runs: their number
 * is bounded by what the packs declare, not by what clients send (unknown
 * paths count under route="" and the edition is one the registry knows).
 */
#include "metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

#define N_BUCKETS 256

typedef struct series {
	struct series *next;
	const char *metric;         /* static name */
	char *labels;
	unsigned long long value;
} series;

static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static series *table[N_BUCKETS];
static size_t n_series;

static const double hist_bounds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				      0.1, 0.25, 0.5, 1, 2.5, 5 };
#define N_HIST (sizeof hist_bounds / sizeof hist_bounds[0])
static atomic_ullong hist_counts[N_HIST];  /* non-cumulative; summed when rendered */
static atomic_ullong hist_total;
static atomic_ullong hist_sum_us;
static atomic_long packs_loaded;
static atomic_long in_flight;

static unsigned hash(const char *metric, const char *labels)
{
	unsigned h = 2166136261u;

	for (const char *p = metric; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (const char *p = labels; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h % N_BUCKETS;
}

/* A label value as the text format wants it: backslash, quote and newline escaped. */
static void add_label(strbuf *sb, const char *name, const char *value)
{
	if (sb->len)
		strbuf_addc(sb, ',');
	strbuf_adds(sb, name);
	strbuf_adds(sb, "=\"");
	for (const char *p = value ? value : ""; *p; p++) {
		if (*p == '\\' || *p == '"')
			strbuf_addc(sb, '\\');
		if (*p == '\n')
			strbuf_adds(sb, "\\n");
		else
			strbuf_addc(sb, *p);
	}
	strbuf_addc(sb, '"');
}

static void series_add(const char *metric, const char *labels, unsigned long long n)
{
	unsigned h = hash(metric, labels);
	series *s;

	pthread_mutex_lock(&metrics_lock);
	for (s = table[h]; s; s = s->next)
		if (s->metric == metric && !strcmp(s->labels, labels))
			break;
	if (!s && n_series < 10000) {
		s = xcalloc(1, sizeof *s);
		s->metric = metric;
		s->labels = xstrdup(labels);
		s->next = table[h];
		table[h] = s;
		n_series++;
	}
	if (s)
		s->value += n;
	pthread_mutex_unlock(&metrics_lock);
}

static const char M_REQUESTS[] = "requests_total";
static const char M_FLOW_ERRORS[] = "flow_errors_total";
static const char M_RELOADS[] = "reloads_total";

void metrics_request(const char *edition, const char *route, int status, double seconds)
{
	strbuf labels = STRBUF_INIT;
	char st[16];
	size_t i;

	if (status >= 100 && status <= 999) {
		st[0] = (char)('0' + status / 100);
		st[1] = (char)('0' + status / 10 % 10);
		st[2] = (char)('0' + status % 10);
		st[3] = '\0';
	} else {
		snprintf(st, sizeof st, "%d", status);
	}
	strbuf_grow(&labels, 96);
	add_label(&labels, "edition", edition);
	add_label(&labels, "route", route);
	add_label(&labels, "status", st);
	series_add(M_REQUESTS, labels.buf, 1);
	strbuf_release(&labels);

	for (i = 0; i < N_HIST && seconds > hist_bounds[i]; i++)
		;
	if (i < N_HIST)
		atomic_fetch_add(&hist_counts[i], 1);
	atomic_fetch_add(&hist_total, 1);
	atomic_fetch_add(&hist_sum_us, (unsigned long long)(seconds * 1e6));
}

void metrics_flow_error(const char *edition, const char *flow)
{
	strbuf labels = STRBUF_INIT;

	add_label(&labels, "edition", edition);
	add_label(&labels, "flow", flow);
	series_add(M_FLOW_ERRORS, labels.buf, 1);
	strbuf_release(&labels);
}

void metrics_reload(int ok)
{
	series_add(M_RELOADS, ok ? "result=\"ok\"" : "result=\"refused\"", 1);
}

void metrics_set_packs_loaded(long n)
{
	atomic_store(&packs_loaded, n);
}

void metrics_in_flight(int delta)
{
	atomic_fetch_add(&in_flight, delta);
}

static void render_family(strbuf *out, const char *metric, const char *help)
{
	strbuf_addf(out, "# HELP %s %s\n# TYPE %s counter\n", metric, help, metric);
	pthread_mutex_lock(&metrics_lock);
	for (size_t b = 0; b < N_BUCKETS; b++)
		for (series *s = table[b]; s; s = s->next)
			if (s->metric == metric)
				strbuf_addf(out, "%s{%s} %llu\n", metric, s->labels, s->value);
	pthread_mutex_unlock(&metrics_lock);
}

static void render_histogram(strbuf *out)
{
	unsigned long long cum = 0;
	const char *m = "request_duration_seconds";

	strbuf_addf(out, "# HELP %s time from request headers to response\n# TYPE %s histogram\n", m, m);
	for (size_t i = 0; i < N_HIST; i++) {
		cum += atomic_load(&hist_counts[i]);
		strbuf_addf(out, "%s_bucket{le=\"%g\"} %llu\n", m, hist_bounds[i], cum);
	}
	unsigned long long total = atomic_load(&hist_total);
	strbuf_addf(out, "%s_bucket{le=\"+Inf\"} %llu\n", m, total);
	strbuf_addf(out, "%s_sum %.6f\n", m, (double)atomic_load(&hist_sum_us) / 1e6);
	strbuf_addf(out, "%s_count %llu\n", m, total);
}

void metrics_render(strbuf *out, long sessions_active)
{
	render_family(out, M_REQUESTS, "requests answered, by edition, route and status");
	render_histogram(out);
	render_family(out, M_FLOW_ERRORS, "flows that failed with a script error or timeout");
	render_family(out, M_RELOADS, "pack reloads, by result");
	strbuf_addf(out, "# HELP packs_loaded editions in the current pack set\n"
		    "# TYPE packs_loaded gauge\npacks_loaded %ld\n", atomic_load(&packs_loaded));
	strbuf_addf(out, "# HELP requests_in_flight requests received and not yet completed\n"
		    "# TYPE requests_in_flight gauge\nrequests_in_flight %ld\n", atomic_load(&in_flight));
	strbuf_addf(out, "# HELP sessions_active sessions not yet expired\n"
		    "# TYPE sessions_active gauge\nsessions_active %ld\n", sessions_active);
	backend_metrics(out);                /* bank calls, circuits, fallbacks */
}

void metrics_reset(void)
{
	pthread_mutex_lock(&metrics_lock);
	for (size_t b = 0; b < N_BUCKETS; b++) {
		series *s = table[b];
		while (s) {
			series *next = s->next;
			free(s->labels);
			free(s);
			s = next;
		}
		table[b] = NULL;
	}
	n_series = 0;
	pthread_mutex_unlock(&metrics_lock);
	for (size_t i = 0; i < N_HIST; i++)
		atomic_store(&hist_counts[i], 0);
	atomic_store(&hist_total, 0);
	atomic_store(&hist_sum_us, 0);
}
