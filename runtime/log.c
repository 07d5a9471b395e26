/*
 * log: JSON lines. Each line is built in memory with jansson (so every text is
 * escaped correctly, whatever a client sent as its path) and written with one
 * fwrite under a mutex, then flushed: a log line is never half on disk when the
 * process stops.
 *
 * The access line runs once per request, so it is built without printf or
 * jansson in the common case: the time stamp's seconds are formatted once per
 * second and thread, numbers by hand, plain ASCII fields copied. A log opened
 * on /dev/null (the usual way to switch it off) discards access lines before
 * they are built: writing them would change nothing. Messages still go there.
 */
#include "log.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "strbuf.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_fp;           /* NULL: stderr */
static int log_owned;          /* log_fp was opened here */
static atomic_int log_discard; /* log_fp is /dev/null: access lines are not built */

/* Is fp the null device (whatever path named it)? */
static int is_null_device(FILE *fp)
{
	struct stat st, null_st;

	return fstat(fileno(fp), &st) == 0 && S_ISCHR(st.st_mode) &&
	       stat("/dev/null", &null_st) == 0 && S_ISCHR(null_st.st_mode) &&
	       st.st_rdev == null_st.st_rdev;
}

int log_open(const char *path)
{
	FILE *fp;

	if (!path || !strcmp(path, "-")) {
		fp = stdout;
	} else {
		fp = fopen(path, "a");
		if (!fp)
			return -1;
	}
	pthread_mutex_lock(&log_lock);
	if (log_owned && log_fp)
		fclose(log_fp);
	log_fp = fp;
	log_owned = fp != stdout;
	atomic_store(&log_discard, is_null_device(fp));
	pthread_mutex_unlock(&log_lock);
	return 0;
}

void log_close(void)
{
	pthread_mutex_lock(&log_lock);
	if (log_owned && log_fp)
		fclose(log_fp);
	else if (log_fp)
		fflush(log_fp);
	log_fp = NULL;
	log_owned = 0;
	atomic_store(&log_discard, 0);
	pthread_mutex_unlock(&log_lock);
}

/* "2026-11-26T18:20:01.123Z" */
static void format_ts(char *out, size_t n)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 ts.tv_nsec / 1000000);
}

/* One whole line (with its newline) in one write, flushed. */
static void write_line(const char *text, size_t len)
{
	pthread_mutex_lock(&log_lock);
	FILE *fp = log_fp ? log_fp : stderr;
	fwrite(text, 1, len, fp);
	fflush(fp);
	pthread_mutex_unlock(&log_lock);
}

/* A new line object whose first key is the time stamp. */
static json_t *line_new(void)
{
	char ts[96];
	json_t *obj = json_object();

	format_ts(ts, sizeof ts);
	json_object_set_new(obj, "ts", json_string(ts));
	return obj;
}

/* Consumes obj: encodes and writes it as one line. */
static void emit(json_t *obj)
{
	char *line;

	line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(obj);
	if (!line)
		return;
	strbuf sb = STRBUF_INIT;
	strbuf_adds(&sb, line);
	strbuf_addc(&sb, '\n');
	write_line(sb.buf, sb.len);
	strbuf_release(&sb);
	free(line);
}

/* Request text may hold bytes that are not UTF-8: json_string would refuse them. */
static json_t *safe_string(const char *s)
{
	json_t *v;
	char *copy;

	if (!s)
		return json_string("");
	v = json_string(s);
	if (v)
		return v;
	copy = strdup(s);
	if (!copy)
		return json_string("");
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
			*p = '?';
	v = json_string(copy);
	free(copy);
	return v ? v : json_string("");
}

static void log_msg(const char *level, const char *fmt, va_list ap)
{
	char buf[2048];
	json_t *obj = line_new();

	vsnprintf(buf, sizeof buf, fmt, ap);
	json_object_set_new(obj, "level", json_string(level));
	json_object_set_new(obj, "msg", safe_string(buf));
	emit(obj);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_msg("info", fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_msg("warn", fmt, ap);
	va_end(ap);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_msg("error", fmt, ap);
	va_end(ap);
}

/*
 * The access line is built in a buffer on the stack; a longer one (a long
 * path) goes on in a strbuf.
 */
typedef struct line_buf {
	char fixed[512];
	size_t len;
	strbuf more;                /* used once fixed is full */
} line_buf;

static void line_add(line_buf *lb, const char *s, size_t n)
{
	if (!lb->more.len && lb->len + n <= sizeof lb->fixed) {
		memcpy(lb->fixed + lb->len, s, n);
		lb->len += n;
		return;
	}
	if (!lb->more.len)
		strbuf_add(&lb->more, lb->fixed, lb->len);
	strbuf_add(&lb->more, s, n);
}

static void line_adds(line_buf *lb, const char *s)
{
	line_add(lb, s, strlen(s));
}

/* Unsigned decimal, by hand (no printf on this path). */
static void line_add_uint(line_buf *lb, unsigned long long v, int min_digits)
{
	char d[24];
	int n = 0;

	do {
		d[sizeof d - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v || n < min_digits);
	line_add(lb, d + sizeof d - n, (size_t)n);
}

/* "2026-11-26T18:20:01.123Z": the part up to the seconds is kept per thread for its second. */
static void line_add_ts(line_buf *lb)
{
	static _Thread_local time_t cached_sec = -1;
	static _Thread_local char cached[96];
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != cached_sec) {
		struct tm tm;
		gmtime_r(&ts.tv_sec, &tm);
		snprintf(cached, sizeof cached, "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		cached_sec = ts.tv_sec;
	}
	line_adds(lb, cached);
	line_add_uint(lb, (unsigned long long)(ts.tv_nsec / 1000000), 3);
	line_add(lb, "Z", 1);
}

/*
 * A JSON string. The fields of an access line are nearly always plain ASCII
 * (hex ids, route ids, paths): those are copied as they are; anything else
 * goes through jansson, which escapes it (and replaces bytes that are not
 * UTF-8, see safe_string).
 */
static void line_add_json_string(line_buf *lb, const char *s)
{
	const unsigned char *p;
	json_t *v;
	char *text;

	for (p = (const unsigned char *)(s ? s : ""); *p; p++)
		if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
			break;
	if (!*p) {
		line_add(lb, "\"", 1);
		line_add(lb, s ? s : "", (size_t)((const char *)p - (s ? s : "")));
		line_add(lb, "\"", 1);
		return;
	}
	v = safe_string(s);
	text = json_dumps(v, JSON_ENCODE_ANY);
	line_adds(lb, text ? text : "\"\"");
	free(text);
	json_decref(v);
}

/* Milliseconds with three decimals ("12.345"); negative or absurd values are written as 0. */
static void line_add_ms(line_buf *lb, double ms)
{
	unsigned long long us = ms > 0 && ms < 1e15 ? (unsigned long long)(ms * 1000.0 + 0.5) : 0;

	line_add_uint(lb, us / 1000, 1);
	line_add(lb, ".", 1);
	line_add_uint(lb, us % 1000, 3);
}

void log_access(const log_access_entry *e)
{
	line_buf lb = { .len = 0, .more = STRBUF_INIT };

	if (atomic_load_explicit(&log_discard, memory_order_relaxed))
		return;
	line_adds(&lb, "{\"ts\":\"");
	line_add_ts(&lb);
	line_adds(&lb, "\",\"id\":");
	line_add_json_string(&lb, e->id);
	line_adds(&lb, ",\"method\":");
	line_add_json_string(&lb, e->method);
	line_adds(&lb, ",\"path\":");
	line_add_json_string(&lb, e->path);
	line_adds(&lb, ",\"status\":");
	line_add_uint(&lb, (unsigned long long)(e->status < 0 ? 0 : e->status), 1);
	line_adds(&lb, ",\"edition\":");
	line_add_json_string(&lb, e->edition);
	line_adds(&lb, ",\"route\":");
	line_add_json_string(&lb, e->route);
	line_adds(&lb, ",\"ms\":");
	line_add_ms(&lb, e->ms);
	line_adds(&lb, ",\"bytes\":");
	line_add_uint(&lb, e->bytes, 1);
	if (e->client) {
		line_adds(&lb, ",\"client\":");
		line_add_json_string(&lb, e->client);
	}
	line_adds(&lb, "}\n");
	if (lb.more.len)
		write_line(lb.more.buf, lb.more.len);
	else
		write_line(lb.fixed, lb.len);
	strbuf_release(&lb.more);
}
