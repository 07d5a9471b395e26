/*
 * log: the server's log, one JSON object per line (easy to ship and to grep).
 *
 * Messages carry a level and a text; the access log line carries the fields
 * of one request. Lines are written whole under a mutex, so threads never
 * interleave. Before log_open (and after log_close) lines go to stderr.
 */
#ifndef LOG_H
#define LOG_H

#include <stddef.h>

/* path "-" is standard output. 0, or -1 with errno set. */
int log_open(const char *path);
void log_close(void);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

typedef struct log_access_entry {  /* public: one request, as the access log shows it */
	const char *id;             /* request id */
	const char *method, *path;
	int status;
	const char *edition, *route;    /* "" when none */
	double ms;
	size_t bytes;
	const char *client;
} log_access_entry;

void log_access(const log_access_entry *e);

#endif
