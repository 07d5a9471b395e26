/*
 * pack: writer and reader of the pack format (pack.h is the contract,
 * docs/pack-format.md the byte-level description).
 *
 * Writer: entries are kept per section, sorted by name at finish, serialised
 * into each section's name table, compressed with zlib at pinned parameters
 * (level 9, window 15, memLevel 8, default strategy: the same input always
 * gives the same bytes), then header, table, sections and trailer are laid
 * out back to back. Nothing depends on time or addresses.
 *
 * Reader: the cheap structural checks come first so that a foreign or
 * truncated file gets a precise reason; then the SHA-256 over everything
 * before the trailer, then the signature, and only then does anything get
 * decompressed. Sections must follow the table with no gap and no overlap,
 * so every byte of the file is accounted for. All sections inflate into one
 * allocation; a second allocation holds the entry index (name, data, len)
 * with the names NUL-terminated, so pack_get is a binary search with strcmp.
 * Sizes are compared by subtraction against what is left, never by adding
 * untrusted numbers, so no check can overflow.
 */
#include "pack.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define TRAILER_MAGIC "OBSG"
#define FLAG_SIGNED 1u
#define MAX_NAME_LEN 1024u
/* Sum of the decompressed sizes of all sections; a pack above it is refused. */
#define MAX_RAW_TOTAL (128u << 20)

static const char *const section_names[PACK_SECTION_END] = {
	NULL, "meta", "theme", "strings", "screens", "screens_gz",
	"routes", "flows", "flow_specs", "products",
};

const char *pack_section_name(int section)
{
	if (section <= 0 || section >= PACK_SECTION_END)
		return NULL;
	return section_names[section];
}

static int fail(strbuf *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(strbuf *err, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		strbuf_reset(err);
		va_start(ap, fmt);
		strbuf_vaddf(err, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* Header layout: offsets of the fields inside the 96 bytes. */
enum {
	H_MAGIC = 0, H_FORMAT = 8, H_COUNT = 12, H_EDITION = 16, H_VERSION = 48,
	H_MIN_CLIENT = 64, H_LUA = 80, H_FILE_SIZE = 88,
};
/* Trailer layout: offsets inside the 104 bytes. */
enum { T_MAGIC = 0, T_FLAGS = 4, T_SHA = 8, T_SIG = 40 };

/* --- writing ------------------------------------------------------------ */

struct wentry {
	char *name;
	size_t name_len;
	unsigned char *data;
	size_t len;
};

struct wsection {
	struct wentry *e;
	size_t n, cap;
};

struct pack_writer {
	char *edition, *version, *min_client, *lua_version;
	struct wsection sec[PACK_SECTION_END];
	int bad_section;            /* first unknown section id given to add, or 0 */
	const char *bad_name;       /* an empty or oversized name given to add */
	int finished;
	unsigned char file_sha256[crypto_hash_sha256_BYTES];
};

pack_writer *pack_writer_new(const char *edition, const char *version,
			     const char *min_client, const char *lua_version)
{
	pack_writer *w = xcalloc(1, sizeof(*w));
	w->edition = xstrdup(edition ? edition : "");
	w->version = xstrdup(version ? version : "");
	w->min_client = xstrdup(min_client ? min_client : "");
	w->lua_version = xstrdup(lua_version ? lua_version : "");
	return w;
}

void pack_writer_add(pack_writer *w, int section, const char *name,
		     const void *data, size_t len)
{
	if (section <= 0 || section >= PACK_SECTION_END) {
		if (!w->bad_section)
			w->bad_section = section ? section : -1;
		return;
	}
	size_t nl = strlen(name);
	if (nl == 0 || nl > MAX_NAME_LEN) {
		w->bad_name = nl ? "an entry name longer than 1024 bytes" : "an empty entry name";
		return;
	}
	struct wsection *s = &w->sec[section];
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->e = xrealloc(s->e, s->cap * sizeof(*s->e));
	}
	struct wentry *e = &s->e[s->n++];
	e->name = xstrndup(name, nl);
	e->name_len = nl;
	e->data = xmalloc(len);
	if (len)
		memcpy(e->data, data, len);
	e->len = len;
}

const unsigned char *pack_writer_file_sha256(const pack_writer *w)
{
	return w->finished ? w->file_sha256 : NULL;
}

void pack_writer_free(pack_writer *w)
{
	if (!w)
		return;
	for (int s = 0; s < PACK_SECTION_END; s++) {
		for (size_t i = 0; i < w->sec[s].n; i++) {
			free(w->sec[s].e[i].name);
			free(w->sec[s].e[i].data);
		}
		free(w->sec[s].e);
	}
	free(w->edition);
	free(w->version);
	free(w->min_client);
	free(w->lua_version);
	free(w);
}

static int name_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

static int wentry_cmp(const void *pa, const void *pb)
{
	const struct wentry *a = pa, *b = pb;
	return name_cmp(a->name, a->name_len, b->name, b->name_len);
}

/* Sorts a section and writes its name table into raw; -1 on a duplicate or oversize. */
static int section_serialise(struct wsection *s, int id, strbuf *raw, strbuf *err)
{
	if (s->n > 1)
		qsort(s->e, s->n, sizeof(*s->e), wentry_cmp);
	strbuf_add_u32(raw, s->n);
	for (size_t i = 0; i < s->n; i++) {
		const struct wentry *e = &s->e[i];
		if (i && !wentry_cmp(&s->e[i - 1], e))
			return fail(err, "duplicate entry '%s' in section '%s'", e->name, section_names[id]);
		if (e->len > MAX_RAW_TOTAL || raw->len > MAX_RAW_TOTAL)
			return fail(err, "section '%s' is larger than %u MiB", section_names[id], MAX_RAW_TOTAL >> 20);
		strbuf_add_u32(raw, e->name_len);
		strbuf_add(raw, e->name, e->name_len);
		strbuf_add_u32(raw, e->len);
		strbuf_add(raw, e->data, e->len);
	}
	if (raw->len > MAX_RAW_TOTAL)
		return fail(err, "section '%s' is larger than %u MiB", section_names[id], MAX_RAW_TOTAL >> 20);
	return 0;
}

/*
 * zlib format, pinned parameters; appends to out. One stream serves every
 * section of a pack (deflateReset between them): a level-9 stream holds about
 * 270 KiB of state, and setting it up per section would dominate small packs.
 */
static int deflate_pinned(z_stream *z, const strbuf *raw, strbuf *out, strbuf *err)
{
	if (deflateReset(z) != Z_OK)
		return fail(err, "zlib: cannot reset deflate");
	uLong bound = deflateBound(z, raw->len);
	strbuf_grow(out, bound);
	z->next_in = (Bytef *)raw->buf;
	z->avail_in = (uInt)raw->len;
	z->next_out = (Bytef *)out->buf + out->len;
	z->avail_out = (uInt)bound;
	int rc = deflate(z, Z_FINISH);
	if (rc != Z_STREAM_END)
		return fail(err, "zlib: deflate failed (%d)", rc);
	out->len += bound - z->avail_out;
	out->buf[out->len] = '\0';
	return 0;
}

static void add_fixed(strbuf *out, const char *s, size_t width)
{
	size_t n = strlen(s);
	strbuf_add(out, s, n);
	for (; n < width; n++)
		strbuf_addc(out, '\0');
}

static int check_fields(const pack_writer *w, strbuf *err)
{
	const struct { const char *what, *val; size_t width; } f[] = {
		{ "edition", w->edition, 32 }, { "version", w->version, 16 },
		{ "min_client", w->min_client, 16 }, { "lua version", w->lua_version, 8 },
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (strlen(f[i].val) >= f[i].width)
			return fail(err, "%s '%s' is longer than %zu bytes", f[i].what, f[i].val, f[i].width - 1);
	if (w->bad_section)
		return fail(err, "unknown section id %d", w->bad_section);
	if (w->bad_name)
		return fail(err, "%s was added", w->bad_name);
	return 0;
}

/* Serialises, compresses and checksums every section into body; fills table. */
static int build_sections(pack_writer *w, strbuf *table, strbuf *body, strbuf *err)
{
	const size_t n = PACK_SECTION_END - 1;
	size_t offset = PACK_HEADER_SIZE + n * PACK_TABLE_ENTRY_SIZE, raw_total = 0;
	strbuf raw = STRBUF_INIT;
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 9, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return fail(err, "zlib: cannot initialise deflate");
	for (int id = 1; id < PACK_SECTION_END; id++) {
		strbuf_reset(&raw);
		if (section_serialise(&w->sec[id], id, &raw, err) < 0)
			goto fail;
		raw_total += raw.len;
		if (raw_total > MAX_RAW_TOTAL) {
			fail(err, "pack content is larger than %u MiB", MAX_RAW_TOTAL >> 20);
			goto fail;
		}
		unsigned codec = id == PACK_SCREENS_GZ ? 0 : 1;
		size_t before = body->len;
		if (codec == 0)
			strbuf_add(body, raw.buf, raw.len);
		else if (deflate_pinned(&z, &raw, body, err) < 0)
			goto fail;
		size_t stored = body->len - before;
		strbuf_add_u32(table, (unsigned long)id);
		strbuf_add_u32(table, codec);
		strbuf_add_u32(table, offset);
		strbuf_add_u32(table, stored);
		strbuf_add_u32(table, raw.len);
		strbuf_add_u32(table, crc32(0L, (const Bytef *)raw.buf, (uInt)raw.len));
		offset += stored;
	}
	deflateEnd(&z);
	strbuf_release(&raw);
	return 0;
fail:
	deflateEnd(&z);
	strbuf_release(&raw);
	return -1;
}

int pack_writer_finish(pack_writer *w, const unsigned char *sign_sk, strbuf *out, strbuf *err)
{
	if (check_fields(w, err) < 0)
		return -1;
	if (sodium_init() < 0)
		return fail(err, "libsodium cannot be initialised");
	strbuf table = STRBUF_INIT, body = STRBUF_INIT;
	int rc = -1;
	if (build_sections(w, &table, &body, err) < 0)
		goto done;
	size_t total = PACK_HEADER_SIZE + table.len + body.len + PACK_TRAILER_SIZE;
	if (total > PACK_MAX_SIZE) {
		fail(err, "pack would be %zu bytes, above the %u MiB limit", total, PACK_MAX_SIZE >> 20);
		goto done;
	}
	strbuf_reset(out);
	strbuf_grow(out, total);
	strbuf_add(out, PACK_MAGIC, 8);
	strbuf_add_u32(out, PACK_FORMAT_VERSION);
	strbuf_add_u32(out, PACK_SECTION_END - 1);
	add_fixed(out, w->edition, 32);
	add_fixed(out, w->version, 16);
	add_fixed(out, w->min_client, 16);
	add_fixed(out, w->lua_version, 8);
	strbuf_add_u64(out, total);
	strbuf_add(out, table.buf, table.len);
	strbuf_add(out, body.buf, body.len);

	/* one pass over the content gives both hashes: the state is copied before the trailer */
	unsigned char hash[crypto_hash_sha256_BYTES], sig[crypto_sign_BYTES];
	crypto_hash_sha256_state content, file;
	crypto_hash_sha256_init(&content);
	crypto_hash_sha256_update(&content, (const unsigned char *)out->buf, out->len);
	file = content;
	crypto_hash_sha256_final(&content, hash);
	memset(sig, 0, sizeof(sig));
	if (sign_sk)
		crypto_sign_detached(sig, NULL, hash, sizeof(hash), sign_sk);
	size_t trailer = out->len;
	strbuf_add(out, TRAILER_MAGIC, 4);
	strbuf_add_u32(out, sign_sk ? FLAG_SIGNED : 0);
	strbuf_add(out, hash, sizeof(hash));
	strbuf_add(out, sig, sizeof(sig));
	crypto_hash_sha256_update(&file, (const unsigned char *)out->buf + trailer, out->len - trailer);
	crypto_hash_sha256_final(&file, w->file_sha256);
	w->finished = 1;
	rc = 0;
done:
	strbuf_release(&table);
	strbuf_release(&body);
	return rc;
}

/* --- reading ------------------------------------------------------------ */

struct rentry {
	const char *name;           /* NUL-terminated, in the names allocation */
	const unsigned char *data;  /* in the blob */
	size_t len;
};

struct rsection {
	uint32_t codec, offset, stored, raw, crc;
	int present;
	size_t first, count;        /* index range in p->entries */
	const unsigned char *bytes; /* decompressed, in the blob */
};

struct pack {
	pack_info info;
	unsigned char *blob;        /* every section, decompressed, back to back */
	struct rentry *entries;     /* index of every section's entries; names follow it */
	struct rsection sec[PACK_SECTION_END];
};

void pack_free(pack *p)
{
	if (!p)
		return;
	free(p->blob);
	free(p->entries);
	free(p);
}

/* A fixed header field: NUL-terminated, zero padded. */
static int read_field(const unsigned char *h, size_t off, size_t width, char *dst,
		      const char *what, strbuf *err)
{
	const unsigned char *f = h + off;
	size_t n = 0;
	while (n < width && f[n])
		n++;
	if (n == width)
		return fail(err, "bad header: %s is not NUL-terminated", what);
	for (size_t i = n; i < width; i++)
		if (f[i])
			return fail(err, "bad header: %s has bytes after its end", what);
	memcpy(dst, f, n + 1);
	return 0;
}

static int check_header(pack *p, const unsigned char *d, size_t len, uint32_t *count, strbuf *err)
{
	if (len == 0)
		return fail(err, "truncated: the file is empty");
	if (len < 8)
		return memcmp(d, PACK_MAGIC, len) ? fail(err, "not a pack: bad magic")
			: fail(err, "truncated: %zu bytes, shorter than the header", len);
	if (memcmp(d + H_MAGIC, PACK_MAGIC, 8))
		return fail(err, "not a pack: bad magic");
	if (len < PACK_HEADER_SIZE + PACK_TRAILER_SIZE)
		return fail(err, "truncated: %zu bytes, shorter than header and trailer", len);
	uint32_t format = rd32(d + H_FORMAT);
	if (format != PACK_FORMAT_VERSION)
		return fail(err, "unsupported pack format %u (this build reads format %d)",
			    format, PACK_FORMAT_VERSION);
	uint64_t size = rd64(d + H_FILE_SIZE);
	if (size > len)
		return fail(err, "truncated: file is %zu bytes, the header says %llu", len,
			    (unsigned long long)size);
	if (size < len)
		return fail(err, "trailing bytes: file is %zu bytes, the header says %llu", len,
			    (unsigned long long)size);
	*count = rd32(d + H_COUNT);
	if (*count > PACK_SECTION_END - 1)
		return fail(err, "bad header: %u sections, at most %d are known", *count, PACK_SECTION_END - 1);
	p->info.format = format;
	p->info.file_size = len;
	if (read_field(d, H_EDITION, 32, p->info.edition, "edition", err) < 0 ||
	    read_field(d, H_VERSION, 16, p->info.version, "version", err) < 0 ||
	    read_field(d, H_MIN_CLIENT, 16, p->info.min_client, "min_client", err) < 0 ||
	    read_field(d, H_LUA, 8, p->info.lua_version, "lua version", err) < 0)
		return -1;
	return 0;
}

static int check_table_entry(pack *p, const unsigned char *t, uint32_t *expect_off, int *last_id,
			     size_t end, size_t *raw_total, strbuf *err)
{
	uint32_t id = rd32(t);
	if (id == 0 || id >= PACK_SECTION_END)
		return fail(err, "section table: unknown section id %u", id);
	if ((int)id <= *last_id)
		return fail(err, "section table: sections out of order or repeated (id %u after %d)", id, *last_id);
	*last_id = (int)id;
	struct rsection *s = &p->sec[id];
	s->codec = rd32(t + 4);
	s->offset = rd32(t + 8);
	s->stored = rd32(t + 12);
	s->raw = rd32(t + 16);
	s->crc = rd32(t + 20);
	const char *name = section_names[id];
	if (s->codec > 1)
		return fail(err, "section '%s': unknown codec %u", name, s->codec);
	if (s->codec == 0 && s->stored != s->raw)
		return fail(err, "section '%s': stored size differs from raw size", name);
	if (s->offset != *expect_off)
		return fail(err, "section '%s' overlaps or leaves a gap (offset %u, expected %u)",
			    name, s->offset, *expect_off);
	if (s->stored > end - s->offset)
		return fail(err, "truncated: section '%s' ends past the end of the file", name);
	if (s->raw < 4 || s->raw > MAX_RAW_TOTAL - *raw_total)
		return fail(err, "section '%s': raw size %u is out of range", name, s->raw);
	*raw_total += s->raw;
	*expect_off = s->offset + s->stored;
	s->present = 1;
	return 0;
}

static int check_table(pack *p, const unsigned char *d, size_t len, uint32_t count,
		       size_t *raw_total, strbuf *err)
{
	size_t end = len - PACK_TRAILER_SIZE;       /* sections end where the trailer starts */
	size_t table_end = PACK_HEADER_SIZE + (size_t)count * PACK_TABLE_ENTRY_SIZE;
	if (table_end > end)
		return fail(err, "truncated: section table ends past the end of the file");
	uint32_t expect = (uint32_t)table_end;
	int last = 0;
	*raw_total = 0;
	for (uint32_t i = 0; i < count; i++)
		if (check_table_entry(p, d + PACK_HEADER_SIZE + (size_t)i * PACK_TABLE_ENTRY_SIZE,
				      &expect, &last, end, raw_total, err) < 0)
			return -1;
	if (expect != end)
		return fail(err, "%zu unaccounted bytes between the last section and the trailer",
			    end - expect);
	return 0;
}

static int check_trailer(pack *p, const unsigned char *d, size_t len,
			 const unsigned char *trust_pk, strbuf *err)
{
	const unsigned char *t = d + len - PACK_TRAILER_SIZE;
	if (memcmp(t + T_MAGIC, TRAILER_MAGIC, 4))
		return fail(err, "bad trailer: magic is not 'OBSG'");
	uint32_t flags = rd32(t + T_FLAGS);
	if (flags & ~FLAG_SIGNED)
		return fail(err, "bad trailer: unknown flags 0x%x", flags);
	unsigned char hash[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(hash, d, len - PACK_TRAILER_SIZE);
	if (sodium_memcmp(hash, t + T_SHA, sizeof(hash)))
		return fail(err, "altered: sha-256 mismatch");
	memcpy(p->info.sha256, hash, sizeof(hash));
	int sig_empty = sodium_is_zero(t + T_SIG, crypto_sign_BYTES);
	p->info.is_signed = (flags & FLAG_SIGNED) != 0;
	if (p->info.is_signed && sig_empty)
		return fail(err, "bad trailer: marked signed but the signature is empty");
	if (!p->info.is_signed && !sig_empty)
		return fail(err, "bad trailer: unsigned but carries signature bytes");
	if (trust_pk && !p->info.is_signed)
		return fail(err, "unsigned pack refused: a trust key is set");
	if (trust_pk && crypto_sign_verify_detached(t + T_SIG, hash, sizeof(hash), trust_pk))
		return fail(err, "signature does not verify with the trust key");
	return 0;
}

static int inflate_section(struct rsection *s, const unsigned char *src, unsigned char *dst,
			   const char *name, strbuf *err)
{
	if (s->codec == 0) {
		memcpy(dst, src, s->stored);
	} else {
		z_stream z;
		memset(&z, 0, sizeof(z));
		if (inflateInit2(&z, 15) != Z_OK)
			return fail(err, "zlib: cannot initialise inflate");
		z.next_in = (Bytef *)src;
		z.avail_in = s->stored;
		z.next_out = dst;
		z.avail_out = s->raw;
		int rc = inflate(&z, Z_FINISH);
		int ok = rc == Z_STREAM_END && z.avail_in == 0 && z.avail_out == 0;
		inflateEnd(&z);
		if (!ok)
			return fail(err, "zlib: section '%s' does not inflate to its stated %u bytes%s%s",
				    name, s->raw, z.msg ? ": " : "", z.msg ? z.msg : "");
	}
	if (crc32(0L, dst, s->raw) != s->crc)
		return fail(err, "section '%s': crc32 mismatch", name);
	s->bytes = dst;
	return 0;
}

/*
 * Walks one section's name table. With out == NULL it only validates and
 * counts (entries and name bytes); with out it fills the index.
 */
static int walk_entries(const struct rsection *s, const char *sname, struct rentry *out,
			char **names, size_t *n_entries, size_t *name_bytes, strbuf *err)
{
	const unsigned char *b = s->bytes;
	size_t left = s->raw - 4, pos = 4;
	uint32_t count = rd32(b);
	if (count > left / 8)
		return fail(err, "section '%s': %u entries cannot fit in %u bytes", sname, count, s->raw);
	const unsigned char *prev = NULL;
	size_t prev_len = 0;
	for (uint32_t i = 0; i < count; i++) {
		if (left < 4 || rd32(b + pos) > left - 4)
			return fail(err, "section '%s': entry %u name runs past the end", sname, i);
		size_t nl = rd32(b + pos);
		const unsigned char *name = b + pos + 4;
		pos += 4 + nl, left -= 4 + nl;
		if (nl == 0 || nl > MAX_NAME_LEN || memchr(name, 0, nl))
			return fail(err, "section '%s': entry %u has a bad name", sname, i);
		if (prev) {
			int c = name_cmp((const char *)prev, prev_len, (const char *)name, nl);
			if (c >= 0)
				return fail(err, "section '%s': %s entry '%.*s'", sname,
					    c ? "unsorted" : "duplicate", (int)nl, (const char *)name);
		}
		if (left < 4 || rd32(b + pos) > left - 4)
			return fail(err, "section '%s': entry '%.*s' data runs past the end", sname,
				    (int)nl, (const char *)name);
		size_t dl = rd32(b + pos);
		if (out) {
			memcpy(*names, name, nl);
			(*names)[nl] = '\0';
			out[i] = (struct rentry){ *names, b + pos + 4, dl };
			*names += nl + 1;
		}
		pos += 4 + dl, left -= 4 + dl;
		prev = name, prev_len = nl;
		*name_bytes += nl + 1;
	}
	if (left)
		return fail(err, "section '%s': %zu trailing bytes after its entries", sname, left);
	*n_entries += count;
	return 0;
}

static int build_index(pack *p, strbuf *err)
{
	size_t n = 0, name_bytes = 0;
	for (int id = 1; id < PACK_SECTION_END; id++)
		if (p->sec[id].present &&
		    walk_entries(&p->sec[id], section_names[id], NULL, NULL, &n, &name_bytes, err) < 0)
			return -1;
	p->entries = xmalloc(n * sizeof(struct rentry) + name_bytes);
	char *names = (char *)(p->entries + n);
	size_t at = 0, ignored = 0;
	for (int id = 1; id < PACK_SECTION_END; id++) {
		struct rsection *s = &p->sec[id];
		if (!s->present)
			continue;
		s->first = at;
		size_t before = at;
		walk_entries(s, section_names[id], p->entries + at, &names, &at, &ignored, NULL);
		s->count = at - before;
	}
	return 0;
}

static int decompress_all(pack *p, const unsigned char *d, size_t raw_total, strbuf *err)
{
	p->blob = xmalloc(raw_total);
	size_t at = 0;
	for (int id = 1; id < PACK_SECTION_END; id++) {
		struct rsection *s = &p->sec[id];
		if (!s->present)
			continue;
		if (inflate_section(s, d + s->offset, p->blob + at, section_names[id], err) < 0)
			return -1;
		at += s->raw;
	}
	return 0;
}

int pack_open_mem(const void *data, size_t len, const unsigned char *trust_pk, pack **out, strbuf *err)
{
	const unsigned char *d = data;
	if (len > PACK_MAX_SIZE)
		return fail(err, "pack is %zu bytes, above the %u MiB limit", len, PACK_MAX_SIZE >> 20);
	if (sodium_init() < 0)
		return fail(err, "libsodium cannot be initialised");
	pack *p = xcalloc(1, sizeof(*p));
	uint32_t count = 0;
	size_t raw_total = 0;
	if (check_header(p, d, len, &count, err) < 0 ||
	    check_table(p, d, len, count, &raw_total, err) < 0 ||
	    check_trailer(p, d, len, trust_pk, err) < 0 ||
	    decompress_all(p, d, raw_total, err) < 0 ||
	    build_index(p, err) < 0) {
		pack_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

int pack_open_file(const char *path, const unsigned char *trust_pk, pack **out, strbuf *err)
{
	strbuf sb = STRBUF_INIT;
	if (strbuf_read_file(&sb, path, PACK_MAX_SIZE) < 0) {
		int e = errno;
		strbuf_release(&sb);
		if (e == EFBIG)
			return fail(err, "cannot read '%s': larger than %u MiB", path, PACK_MAX_SIZE >> 20);
		return fail(err, "cannot read '%s': %s", path, strerror(e));
	}
	int rc = pack_open_mem(sb.buf, sb.len, trust_pk, out, err);
	strbuf_release(&sb);
	return rc;
}

const pack_info *pack_get_info(const pack *p)
{
	return &p->info;
}

size_t pack_count(const pack *p, int section)
{
	if (section <= 0 || section >= PACK_SECTION_END)
		return 0;
	return p->sec[section].count;
}

const char *pack_entry(const pack *p, int section, size_t i, const void **data, size_t *len)
{
	if (i >= pack_count(p, section))
		return NULL;
	const struct rentry *e = &p->entries[p->sec[section].first + i];
	if (data)
		*data = e->data;
	if (len)
		*len = e->len;
	return e->name;
}

const void *pack_get(const pack *p, int section, const char *name, size_t *len)
{
	size_t n = pack_count(p, section);
	if (!n)
		return NULL;
	const struct rentry *base = &p->entries[p->sec[section].first];
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(base[mid].name, name);
		if (c == 0) {
			if (len)
				*len = base[mid].len;
			return base[mid].data;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int pack_section_sizes(const pack *p, int section, size_t *stored, size_t *raw)
{
	if (section <= 0 || section >= PACK_SECTION_END || !p->sec[section].present)
		return -1;
	if (stored)
		*stored = p->sec[section].stored;
	if (raw)
		*raw = p->sec[section].raw;
	return 0;
}

/* --- keys --------------------------------------------------------------- */

int pack_read_key(const char *path, unsigned char *key, size_t key_len, strbuf *err)
{
	strbuf sb = STRBUF_INIT;
	if (strbuf_read_file(&sb, path, 4096) < 0) {
		int e = errno;
		strbuf_release(&sb);
		return fail(err, "cannot read key '%s': %s", path,
			    e == EFBIG ? "too large for a key file" : strerror(e));
	}
	int rc = 0;
	size_t got = 0;
	if (sb.len == key_len) {
		memcpy(key, sb.buf, key_len);
	} else if (sodium_hex2bin(key, key_len, sb.buf, sb.len, " \t\r\n", &got, NULL) != 0 ||
		   got != key_len) {
		rc = fail(err, "key '%s' is not a %zu-byte key (%zu hex digits or %zu raw bytes)",
			  path, key_len, key_len * 2, key_len);
	}
	strbuf_release(&sb);
	return rc;
}
