/*
 * emit: the last compiler phase. A resolved, checked edition becomes the
 * sections of docs/architecture.md section 3 and one pack; a whole project
 * becomes `<edition>-<version>.pack` files plus `manifest.json`, written
 * atomically (all or nothing) and byte-identical for identical input.
 */
#ifndef EMIT_H
#define EMIT_H

#include <stdio.h>

#include "model.h"
#include "strbuf.h"

typedef struct emit_stats {    /* public: what one pack holds */
	size_t screens, routes, flows, products, strings;
	size_t size;                /* bytes of the pack file */
	unsigned char sha256[32];   /* SHA-256 of the pack file */
} emit_stats;

/* Text-bearing attributes: their values are i18n keys, replaced by the locale's text. */
extern const char *const emit_text_attrs[];

/*
 * Builds the pack of one concrete edition into out (reset first). sign_sk is an
 * Ed25519 secret key or NULL. Errors go to p->diag; returns 0, or -1 when any
 * was reported (out then holds nothing useful). st may be NULL.
 */
int emit_pack(project *p, const edition *e, const unsigned char *sign_sk, strbuf *out,
	      emit_stats *st);

/*
 * Packs every concrete edition of p into out_dir plus out_dir/manifest.json.
 * Every pack is built in memory first; nothing is written when any edition has
 * an error. The files are written and fsynced in a fresh directory beside
 * out_dir, then renamed into place (manifest last), so out_dir is never seen
 * half-written. Other files already in out_dir are left alone. progress, when
 * not NULL, gets one line per edition. Returns 0, or -1 after reporting to p->diag.
 */
int emit_build(project *p, const char *out_dir, const unsigned char *sign_sk, FILE *progress);

/* gzip of data with pinned parameters: level 9, no file name, mtime 0. Appends to out. */
void emit_gzip(const void *data, size_t len, strbuf *out);

/*
 * How many threads are worth starting for `jobs` independent pieces of work: one
 * per core that is idle now (the kernel's count of runnable tasks, this one
 * excluded), at least 1, at most max. On a machine whose cores are all busy,
 * more threads only add switches and waits: the work runs on the caller.
 */
size_t emit_thread_count(size_t jobs, size_t max);

/* The name of an edition's pack file: "<edition>-<version>.pack" (arena-free, malloc'd). */
char *emit_pack_name(const char *edition_id, const char *version);

#endif
