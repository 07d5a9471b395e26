/*
 * strbuf: the one growable byte buffer of the project, shared by compiler and runtime.
 *
 * Invariants: buf is never NULL (an empty buffer points at a static ""), and
 * buf[len] == '\0' always, so the contents can be used as a C string when they
 * hold no NUL byte. Out of memory aborts: neither side can do useful work without it.
 */
#ifndef STRBUF_H
#define STRBUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct strbuf {        /* public: fields are read directly */
	char *buf;
	size_t len;
	size_t alloc;
} strbuf;

#define STRBUF_INIT { strbuf_empty, 0, 0 }
extern char strbuf_empty[];

void strbuf_init(strbuf *sb);
void strbuf_release(strbuf *sb);              /* frees memory, leaves sb empty and usable */
void strbuf_grow(strbuf *sb, size_t extra);
void strbuf_add(strbuf *sb, const void *data, size_t len);
void strbuf_adds(strbuf *sb, const char *s);
void strbuf_addc(strbuf *sb, char c);
void strbuf_addf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vaddf(strbuf *sb, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void strbuf_reset(strbuf *sb);                /* len = 0, keeps memory */
char *strbuf_detach(strbuf *sb, size_t *len); /* caller owns the result; free with free() */
/* Little-endian fixed-width integers, as the pack format writes them. */
void strbuf_add_u16(strbuf *sb, unsigned v);
void strbuf_add_u32(strbuf *sb, unsigned long v);
void strbuf_add_u64(strbuf *sb, unsigned long long v);

/* Reads a whole file. Returns 0, or -1 with errno set; *out is released first. */
int strbuf_read_file(strbuf *out, const char *path, size_t max_size);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
