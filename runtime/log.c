/*
 * log: JSON lines. Each line is built in memory with jansson (so every text is
 * escaped correctly, whatever a client sent as its path) and written with one
 * fwrite under a mutex, then flushed: a log line is never half on disk when the
 * process stops.
 */
#include "log.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strbuf.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_fp;           /* NULL: stderr */
static int log_owned;          /* log_fp was opened here */

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
 * A JSON string. The fields of an access line are nearly always plain ASCII
 * (hex ids, route ids, paths): those are copied as they are; anything else
 * goes through jansson, which escapes it (and replaces bytes that are not
 * UTF-8, see safe_string).
 */
static void add_json_string(strbuf *sb, const char *s)
{
	const unsigned char *p;
	json_t *v;
	char *text;

	for (p = (const unsigned char *)(s ? s : ""); *p; p++)
		if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
			break;
	if (!*p) {
		strbuf_addc(sb, '"');
		strbuf_adds(sb, s ? s : "");
		strbuf_addc(sb, '"');
		return;
	}
	v = safe_string(s);
	text = json_dumps(v, JSON_ENCODE_ANY);
	strbuf_adds(sb, text ? text : "\"\"");
	free(text);
	json_decref(v);
}

/* Built by hand from escaped parts: this runs once per request. */
void log_access(const log_access_entry *e)
{
	strbuf line = STRBUF_INIT;
	char ts[96];

	format_ts(ts, sizeof ts);
	strbuf_grow(&line, 256);
	strbuf_addf(&line, "{\"ts\":\"%s\",\"id\":", ts);
	add_json_string(&line, e->id);
	strbuf_adds(&line, ",\"method\":");
	add_json_string(&line, e->method);
	strbuf_adds(&line, ",\"path\":");
	add_json_string(&line, e->path);
	strbuf_addf(&line, ",\"status\":%d,\"edition\":", e->status);
	add_json_string(&line, e->edition);
	strbuf_adds(&line, ",\"route\":");
	add_json_string(&line, e->route);
	strbuf_addf(&line, ",\"ms\":%.3f,\"bytes\":%zu", e->ms, e->bytes);
	if (e->client) {
		strbuf_adds(&line, ",\"client\":");
		add_json_string(&line, e->client);
	}
	strbuf_adds(&line, "}\n");
	write_line(line.buf, line.len);
	strbuf_release(&line);
}
