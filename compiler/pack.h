/*
 * pack: the one definition of the pack format, its writer and its reader.
 * editionc writes packs with pack_writer_*; editiond (and editionc inspect/diff,
 * and the tests) read them with pack_open_*. docs/pack-format.md describes the
 * bytes; this header is the contract.
 *
 * Layout (all integers little-endian):
 *   header      96 bytes   magic "OBEPACK\0", format, counts, edition, version, ...
 *   table       24 bytes per section: id, codec, offset, stored size, raw size, crc32
 *   sections    stored bytes; codec 1 = zlib (level 9, window 15, memLevel 8, default strategy)
 *   trailer     104 bytes  "OBSG", flags, SHA-256 of every byte before the trailer,
 *                          Ed25519 signature of that hash (zeros when unsigned)
 *
 * Every section, once decompressed, is a table of named entries sorted by name
 * (bytewise): u32 count, then per entry u32 name_len, name, u32 data_len, data.
 * Documents that are one JSON value live in an entry named "json".
 *
 * The reader trusts nothing: every size and offset is checked before use, the
 * hash is recomputed, the signature checked when a trust key is given, and any
 * failure is reported with its reason; a refused pack is never half-returned.
 */
#ifndef PACK_H
#define PACK_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

#define PACK_MAGIC "OBEPACK"          /* 7 chars + NUL = 8 bytes on disk */
#define PACK_FORMAT_VERSION 1
#define PACK_HEADER_SIZE 96
#define PACK_TABLE_ENTRY_SIZE 24
#define PACK_TRAILER_SIZE 104
#define PACK_MAX_SIZE (256u << 20)   /* a pack above 256 MiB is refused */

enum pack_section_id {
	PACK_META = 1,      /* "json": edition, version, segment, locale, title, chain, features, limits, fees, home */
	PACK_THEME,         /* "json": tokens; "css": :root custom properties for the edition */
	PACK_STRINGS,       /* "json": resolved strings of the edition's locale, key -> text */
	PACK_SCREENS,       /* one entry per screen id: canonical layout JSON */
	PACK_SCREENS_GZ,    /* one entry per screen id: gzip of exactly the PACK_SCREENS bytes (stored, not re-compressed) */
	PACK_ROUTES,        /* "json": route table */
	PACK_FLOWS,         /* one entry per flow id: stripped Lua 5.4 bytecode of the flow's chunk */
	PACK_FLOW_SPECS,    /* "json": flow id -> params, returns, effects, confirm, timeout_ms, services, fallback */
	PACK_PRODUCTS,      /* "json": the products this edition offers */
	PACK_SECTION_END
};

typedef struct pack_info {     /* public: what the header says, after verification */
	uint32_t format;
	char edition[32];
	char version[16];
	char min_client[16];
	char lua_version[8];
	int is_signed;
	unsigned char sha256[32];
	size_t file_size;
} pack_info;

/* --- writing ------------------------------------------------------------ */

typedef struct pack_writer pack_writer;

/* Strings longer than their header field are an error at finish. */
pack_writer *pack_writer_new(const char *edition, const char *version,
			     const char *min_client, const char *lua_version);
/* Copies name and data. Adding the same (section, name) twice is an error at finish. */
void pack_writer_add(pack_writer *w, int section, const char *name,
		     const void *data, size_t len);
/*
 * Serialises the pack into out. sign_sk is a libsodium Ed25519 secret key
 * (crypto_sign_SECRETKEYBYTES) or NULL for an unsigned pack. Returns 0, or -1
 * with the reason in err. Output depends only on what was added (no time, no
 * randomness), so identical input gives identical bytes.
 */
int pack_writer_finish(pack_writer *w, const unsigned char *sign_sk, strbuf *out, strbuf *err);
/* After a successful finish: the SHA-256 of the whole pack file (what sha256sum prints), else NULL. */
const unsigned char *pack_writer_file_sha256(const pack_writer *w);
void pack_writer_free(pack_writer *w);

/* --- reading ------------------------------------------------------------ */

typedef struct pack pack;

/*
 * Opens and verifies a pack. trust_pk is an Ed25519 public key
 * (crypto_sign_PUBLICKEYBYTES) or NULL; with a key, an unsigned pack or a bad
 * signature is refused. Returns 0 and sets *out (caller frees with pack_free),
 * or -1 with a one-line reason in err ("truncated: section table ends past the
 * end of the file", "sha-256 mismatch", ...), *out untouched.
 */
int pack_open_file(const char *path, const unsigned char *trust_pk, pack **out, strbuf *err);
int pack_open_mem(const void *data, size_t len, const unsigned char *trust_pk, pack **out, strbuf *err);
void pack_free(pack *p);

const pack_info *pack_get_info(const pack *p);
/* The entry's bytes (valid until pack_free) or NULL when absent. */
const void *pack_get(const pack *p, int section, const char *name, size_t *len);
size_t pack_count(const pack *p, int section);
/* The i-th entry of a section, in name order; returns its name (NUL-terminated). */
const char *pack_entry(const pack *p, int section, size_t i, const void **data, size_t *len);
const char *pack_section_name(int section);   /* "meta", "theme", ... or NULL */
/* A present section's sizes on disk and decompressed; -1 when the section is absent. */
int pack_section_sizes(const pack *p, int section, size_t *stored, size_t *raw);

/* --- keys ----------------------------------------------------------------- */

/*
 * Reads a key file written by `editionc keygen`: key_len bytes as hex digits
 * (whitespace ignored) or exactly key_len raw bytes. Use crypto_sign_PUBLICKEYBYTES
 * for NAME.pub (--trust-key) and crypto_sign_SECRETKEYBYTES for NAME.key
 * (--sign-key). Returns 0, or -1 with the reason in err.
 */
int pack_read_key(const char *path, unsigned char *key, size_t key_len, strbuf *err);

#endif
