/*
 * test_pack: the pack writer and reader.
 *
 * Round trips, determinism, signatures and trust keys, and the reader's
 * refusals: every truncation and every single-byte change of a real pack is
 * refused (never accepted, never a crash under ASan), and hand-made packs with
 * a valid hash but a broken structure (laid out here independently of pack.c,
 * from the format description) are refused with their reason.
 */
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "pack.h"

static const char *const names[] = { "home", "transfer", "a", "zeta", "wealth", "b.c" };

static void add_all(pack_writer *w, int reverse)
{
	size_t n = sizeof(names) / sizeof(names[0]);
	for (int s = 1; s < PACK_SECTION_END; s++)
		for (size_t k = 0; k < n; k++) {
			size_t i = reverse ? n - 1 - k : k;
			char data[128];
			int len = snprintf(data, sizeof(data), "{\"section\":%d,\"name\":\"%s\",\"pad\":\"%0*d\"}",
					   s, names[i], (int)(i * 7), 0);
			pack_writer_add(w, s, names[i], data, (size_t)len);
		}
}

/* A pack with every section filled; signed with sk when given. */
static void make_pack(strbuf *out, const unsigned char *sk, int reverse)
{
	pack_writer *w = pack_writer_new("mass", "7.0.0", "6.5.0", "5.4");
	add_all(w, reverse);
	strbuf err = STRBUF_INIT;
	ck_assert_int_eq(pack_writer_finish(w, sk, out, &err), 0);
	strbuf_release(&err);
	pack_writer_free(w);
}

/* Opens, expecting a refusal whose reason contains want (when given). */
static void expect_refused(const void *d, size_t len, const unsigned char *pk, const char *want)
{
	strbuf err = STRBUF_INIT;
	pack *p = (pack *)0x1;
	ck_assert_int_eq(pack_open_mem(d, len, pk, &p, &err), -1);
	ck_assert_ptr_eq(p, (pack *)0x1);       /* *out untouched */
	ck_assert_uint_gt(err.len, 0);
	if (want && !strstr(err.buf, want))
		ck_abort_msg("reason '%s' does not contain '%s'", err.buf, want);
	strbuf_release(&err);
}

static pack *expect_open(const void *d, size_t len, const unsigned char *pk)
{
	strbuf err = STRBUF_INIT;
	pack *p = NULL;
	int rc = pack_open_mem(d, len, pk, &p, &err);
	if (rc)
		ck_abort_msg("refused: %s", err.buf);
	strbuf_release(&err);
	return p;
}

START_TEST(test_round_trip)
{
	strbuf b = STRBUF_INIT;
	make_pack(&b, NULL, 0);
	pack *p = expect_open(b.buf, b.len, NULL);
	const pack_info *in = pack_get_info(p);
	ck_assert_str_eq(in->edition, "mass");
	ck_assert_str_eq(in->version, "7.0.0");
	ck_assert_str_eq(in->min_client, "6.5.0");
	ck_assert_str_eq(in->lua_version, "5.4");
	ck_assert_int_eq(in->is_signed, 0);
	ck_assert_uint_eq(in->format, PACK_FORMAT_VERSION);
	ck_assert_uint_eq(in->file_size, b.len);
	for (int s = 1; s < PACK_SECTION_END; s++) {
		ck_assert_uint_eq(pack_count(p, s), 6);
		const char *prev = "";
		for (size_t i = 0; i < 6; i++) {
			const void *d;
			size_t len;
			const char *name = pack_entry(p, s, i, &d, &len);
			ck_assert_int_lt(strcmp(prev, name), 0);     /* name order */
			char want[128];
			size_t k = 0;
			while (strcmp(names[k], name))
				k++;
			int wl = snprintf(want, sizeof(want), "{\"section\":%d,\"name\":\"%s\",\"pad\":\"%0*d\"}",
					  s, name, (int)(k * 7), 0);
			ck_assert_uint_eq(len, (size_t)wl);
			ck_assert_int_eq(memcmp(d, want, len), 0);
			size_t gl;
			ck_assert_ptr_eq(pack_get(p, s, name, &gl), d);
			ck_assert_uint_eq(gl, len);
			prev = name;
		}
		ck_assert_ptr_null(pack_get(p, s, "missing", NULL));
		ck_assert_ptr_null(pack_get(p, s, "", NULL));
		ck_assert_ptr_null(pack_entry(p, s, 6, NULL, NULL));
		size_t stored, raw;
		ck_assert_int_eq(pack_section_sizes(p, s, &stored, &raw), 0);
		ck_assert_uint_gt(raw, 4);
	}
	ck_assert_uint_eq(pack_count(p, 0), 0);
	ck_assert_uint_eq(pack_count(p, PACK_SECTION_END), 0);
	ck_assert_ptr_null(pack_get(p, 42, "home", NULL));
	ck_assert_str_eq(pack_section_name(PACK_SCREENS_GZ), "screens_gz");
	ck_assert_ptr_null(pack_section_name(PACK_SECTION_END));
	pack_free(p);
	strbuf_release(&b);
}
END_TEST

START_TEST(test_deterministic)
{
	strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	make_pack(&a, NULL, 0);
	make_pack(&b, NULL, 1);                   /* same entries, added in another order */
	ck_assert_uint_eq(a.len, b.len);
	ck_assert_int_eq(memcmp(a.buf, b.buf, a.len), 0);
	/* signatures are deterministic too (Ed25519) */
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	ck_assert_int_ge(sodium_init(), 0);
	crypto_sign_seed_keypair(pk, sk, (const unsigned char *)"0123456789abcdef0123456789abcdef");
	make_pack(&a, sk, 0);
	make_pack(&b, sk, 1);
	ck_assert_int_eq(memcmp(a.buf, b.buf, a.len), 0);
	strbuf_release(&a);
	strbuf_release(&b);
}
END_TEST

START_TEST(test_file_hash)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES], h[32];
	ck_assert_int_ge(sodium_init(), 0);
	crypto_sign_keypair(pk, sk);
	for (int signed_ = 0; signed_ < 2; signed_++) {
		pack_writer *w = pack_writer_new("mass", "7.0.0", "6.5.0", "5.4");
		add_all(w, 0);
		ck_assert_ptr_null(pack_writer_file_sha256(w));
		strbuf out = STRBUF_INIT;
		ck_assert_int_eq(pack_writer_finish(w, signed_ ? sk : NULL, &out, NULL), 0);
		crypto_hash_sha256(h, (const unsigned char *)out.buf, out.len);
		ck_assert_int_eq(memcmp(pack_writer_file_sha256(w), h, 32), 0);
		/* and the trailer's hash is the one of everything before it */
		crypto_hash_sha256(h, (const unsigned char *)out.buf, out.len - PACK_TRAILER_SIZE);
		ck_assert_int_eq(memcmp(out.buf + out.len - PACK_TRAILER_SIZE + 8, h, 32), 0);
		pack_writer_free(w);
		strbuf_release(&out);
	}
}
END_TEST

START_TEST(test_empty_sections_and_screens_stored)
{
	pack_writer *w = pack_writer_new("care", "1.0.0", "1.0.0", "5.4");
	pack_writer_add(w, PACK_SCREENS_GZ, "home", "\x1f\x8b not recompressed", 20);
	strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	ck_assert_int_eq(pack_writer_finish(w, NULL, &out, &err), 0);
	/* the gzip bytes are stored as they are: findable in the file */
	ck_assert_ptr_nonnull(memmem(out.buf, out.len, "\x1f\x8b not recompressed", 20));
	pack *p = expect_open(out.buf, out.len, NULL);
	ck_assert_uint_eq(pack_count(p, PACK_META), 0);
	size_t len;
	ck_assert_ptr_nonnull(pack_get(p, PACK_SCREENS_GZ, "home", &len));
	ck_assert_uint_eq(len, 20);
	pack_free(p);
	pack_writer_free(w);
	strbuf_release(&out);
	strbuf_release(&err);
}
END_TEST

static void expect_finish_error(pack_writer *w, const char *want)
{
	strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	ck_assert_int_eq(pack_writer_finish(w, NULL, &out, &err), -1);
	if (!strstr(err.buf, want))
		ck_abort_msg("error '%s' does not contain '%s'", err.buf, want);
	pack_writer_free(w);
	strbuf_release(&out);
	strbuf_release(&err);
}

START_TEST(test_writer_errors)
{
	pack_writer *w = pack_writer_new("mass", "7.0.0", "7.0.0", "5.4");
	pack_writer_add(w, PACK_SCREENS, "home", "a", 1);
	pack_writer_add(w, PACK_SCREENS, "home", "b", 1);
	expect_finish_error(w, "duplicate entry 'home' in section 'screens'");

	w = pack_writer_new("an-edition-name-far-longer-than-thirty-one", "7.0.0", "7.0.0", "5.4");
	expect_finish_error(w, "longer than 31 bytes");
	w = pack_writer_new("mass", "7.0.0.0.0.0.0.0.0", "7.0.0", "5.4");
	expect_finish_error(w, "version");
	w = pack_writer_new("mass", "7.0.0", "7.0.0", "5.4");
	pack_writer_add(w, 99, "x", "", 0);
	expect_finish_error(w, "unknown section id 99");
	w = pack_writer_new("mass", "7.0.0", "7.0.0", "5.4");
	pack_writer_add(w, PACK_META, "", "", 0);
	expect_finish_error(w, "empty entry name");
}
END_TEST

START_TEST(test_every_truncation_refused)
{
	strbuf b = STRBUF_INIT;
	make_pack(&b, NULL, 0);
	for (size_t cut = 0; cut < b.len; cut++) {
		/* a copy of exactly cut bytes, so ASan sees any read past it */
		char *d = malloc(cut ? cut : 1);
		memcpy(d, b.buf, cut);
		expect_refused(d, cut, NULL, cut >= 8 ? "truncated" : NULL);
		free(d);
	}
	strbuf_release(&b);
}
END_TEST

static void flip_each_byte(const strbuf *b, const unsigned char *pk, int xor_mask)
{
	char *d = malloc(b->len);
	for (size_t i = 0; i < b->len; i++) {
		memcpy(d, b->buf, b->len);
		d[i] ^= (char)xor_mask;
		expect_refused(d, b->len, pk, NULL);
	}
	free(d);
}

START_TEST(test_every_byte_change_refused_unsigned)
{
	strbuf b = STRBUF_INIT;
	make_pack(&b, NULL, 0);
	flip_each_byte(&b, NULL, 0xff);
	flip_each_byte(&b, NULL, 0x01);
	flip_each_byte(&b, NULL, 0x80);
	strbuf_release(&b);
}
END_TEST

START_TEST(test_every_byte_change_refused_signed)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	ck_assert_int_ge(sodium_init(), 0);
	crypto_sign_keypair(pk, sk);
	strbuf b = STRBUF_INIT;
	make_pack(&b, sk, 0);
	flip_each_byte(&b, pk, 0xff);
	flip_each_byte(&b, pk, 0x10);
	strbuf_release(&b);
}
END_TEST

START_TEST(test_signatures_and_trust)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	unsigned char pk2[crypto_sign_PUBLICKEYBYTES], sk2[crypto_sign_SECRETKEYBYTES];
	ck_assert_int_ge(sodium_init(), 0);
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(pk2, sk2);
	strbuf s = STRBUF_INIT, u = STRBUF_INIT;
	make_pack(&s, sk, 0);
	make_pack(&u, NULL, 0);
	ck_assert_uint_eq(s.len, u.len);
	/* same content, same hash; only the trailer's flags and signature differ */
	ck_assert_int_eq(memcmp(s.buf, u.buf, s.len - 64 - 4 - 32), 0);

	pack *p = expect_open(s.buf, s.len, pk);
	ck_assert_int_eq(pack_get_info(p)->is_signed, 1);
	pack_free(p);
	p = expect_open(s.buf, s.len, NULL);     /* no trust key: opens, says signed */
	ck_assert_int_eq(pack_get_info(p)->is_signed, 1);
	pack_free(p);
	p = expect_open(u.buf, u.len, NULL);
	ck_assert_int_eq(pack_get_info(p)->is_signed, 0);
	pack_free(p);
	expect_refused(u.buf, u.len, pk, "unsigned pack refused: a trust key is set");
	expect_refused(s.buf, s.len, pk2, "signature does not verify with the trust key");
	/* a signature moved onto other content does not verify */
	strbuf m = STRBUF_INIT;
	pack_writer *w = pack_writer_new("mass", "7.0.1", "6.5.0", "5.4");
	add_all(w, 0);
	pack_writer_finish(w, sk2, &m, NULL);
	pack_writer_free(w);
	memcpy(m.buf + m.len - 64, s.buf + s.len - 64, 64);
	expect_refused(m.buf, m.len, pk, "signature does not verify");
	strbuf_release(&m);
	strbuf_release(&s);
	strbuf_release(&u);
}
END_TEST

/* --- hand-made packs: structure broken, hash valid ---------------------- */

typedef struct raw_section {
	uint32_t id, codec;
	const void *data;
	size_t len;                 /* stored bytes */
	uint32_t raw;               /* 0: same as len */
	int bad_crc;
} raw_section;

static void put32(strbuf *b, size_t at, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b->buf[at + (size_t)i] = (char)(v >> (8 * i));
}

/* Recomputes the hash of the trailer of an unsigned pack after an edit. */
static void rehash(strbuf *b)
{
	unsigned char h[32];
	crypto_hash_sha256(h, (const unsigned char *)b->buf, b->len - PACK_TRAILER_SIZE);
	memcpy(b->buf + b->len - PACK_TRAILER_SIZE + 8, h, 32);
}

static void craft(strbuf *b, const raw_section *s, size_t n)
{
	strbuf_reset(b);
	strbuf_add(b, "OBEPACK", 8);
	strbuf_add_u32(b, PACK_FORMAT_VERSION);
	strbuf_add_u32(b, n);
	char fields[72] = "mass";
	memcpy(fields + 32, "7.0.0", 6);
	memcpy(fields + 48, "7.0.0", 6);
	memcpy(fields + 64, "5.4", 4);
	strbuf_add(b, fields, sizeof(fields));
	size_t total = PACK_HEADER_SIZE + n * PACK_TABLE_ENTRY_SIZE + PACK_TRAILER_SIZE, off;
	for (size_t i = 0; i < n; i++)
		total += s[i].len;
	strbuf_add_u64(b, total);
	off = PACK_HEADER_SIZE + n * PACK_TABLE_ENTRY_SIZE;
	for (size_t i = 0; i < n; i++) {
		uint32_t raw = s[i].raw ? s[i].raw : (uint32_t)s[i].len;
		strbuf_add_u32(b, s[i].id);
		strbuf_add_u32(b, s[i].codec);
		strbuf_add_u32(b, off);
		strbuf_add_u32(b, s[i].len);
		strbuf_add_u32(b, raw);
		uint32_t crc = (uint32_t)crc32(0, s[i].data, (uInt)s[i].len);
		strbuf_add_u32(b, s[i].bad_crc ? crc ^ 1 : crc);
		off += s[i].len;
	}
	for (size_t i = 0; i < n; i++)
		strbuf_add(b, s[i].data, s[i].len);
	strbuf_add(b, "OBSG", 4);
	strbuf_add_u32(b, 0);
	char zero[96] = { 0 };
	strbuf_add(b, zero, sizeof(zero));
	rehash(b);
}

/* A section's name table from (name, data) pairs, in the order given. */
static void table(strbuf *t, const char *const *kv, size_t n_pairs)
{
	strbuf_reset(t);
	strbuf_add_u32(t, n_pairs);
	for (size_t i = 0; i < n_pairs; i++) {
		strbuf_add_u32(t, strlen(kv[2 * i]));
		strbuf_adds(t, kv[2 * i]);
		strbuf_add_u32(t, strlen(kv[2 * i + 1]));
		strbuf_adds(t, kv[2 * i + 1]);
	}
}

static void expect_crafted(const raw_section *s, size_t n, const char *want)
{
	strbuf b = STRBUF_INIT;
	craft(&b, s, n);
	expect_refused(b.buf, b.len, NULL, want);
	strbuf_release(&b);
}

/* A pack whose meta section is the given name table, stored as is. */
static void expect_table(const strbuf *t, const char *want)
{
	raw_section s = { PACK_META, 0, t->buf, t->len, 0, 0 };
	expect_crafted(&s, 1, want);
}

START_TEST(test_crafted_valid)
{
	strbuf t = STRBUF_INIT, b = STRBUF_INIT;
	const char *kv[] = { "a", "1", "b", "22" };
	table(&t, kv, 2);
	raw_section s[] = { { PACK_META, 0, t.buf, t.len, 0, 0 }, { PACK_ROUTES, 0, t.buf, t.len, 0, 0 } };
	craft(&b, s, 2);
	pack *p = expect_open(b.buf, b.len, NULL);
	size_t len;
	ck_assert_int_eq(memcmp(pack_get(p, PACK_ROUTES, "b", &len), "22", 2), 0);
	ck_assert_uint_eq(len, 2);
	ck_assert_uint_eq(pack_count(p, PACK_SCREENS), 0);
	ck_assert_int_eq(pack_section_sizes(p, PACK_SCREENS, NULL, NULL), -1);
	pack_free(p);
	strbuf_release(&t);
	strbuf_release(&b);
}
END_TEST

START_TEST(test_crafted_refusals)
{
	strbuf t = STRBUF_INIT, u = STRBUF_INIT;
	const char *kv[] = { "a", "1", "b", "22" };
	table(&t, kv, 2);
	raw_section ok = { PACK_META, 0, t.buf, t.len, 0, 0 };

	raw_section order[] = { { PACK_ROUTES, 0, t.buf, t.len, 0, 0 }, ok };
	expect_crafted(order, 2, "out of order");
	raw_section repeat[] = { ok, ok };
	expect_crafted(repeat, 2, "out of order or repeated");
	raw_section unknown = { 77, 0, t.buf, t.len, 0, 0 };
	expect_crafted(&unknown, 1, "unknown section id 77");
	raw_section codec = { PACK_META, 7, t.buf, t.len, 0, 0 };
	expect_crafted(&codec, 1, "unknown codec 7");
	raw_section crc = { PACK_META, 0, t.buf, t.len, 0, 1 };
	expect_crafted(&crc, 1, "crc32 mismatch");
	raw_section huge = { PACK_META, 1, "x", 1, 0x7fffffffu, 0 };
	expect_crafted(&huge, 1, "raw size");
	raw_section notz = { PACK_META, 1, "this is not zlib data", 21, 40, 0 };
	expect_crafted(&notz, 1, "zlib");

	/* compressed data that inflates to more or fewer bytes than stated */
	unsigned char z[256];
	uLongf zl = sizeof(z);
	compress2(z, &zl, (const Bytef *)t.buf, t.len, 9);
	raw_section shorter = { PACK_META, 1, z, zl, (uint32_t)t.len + 5, 0 };
	expect_crafted(&shorter, 1, "does not inflate");
	raw_section longer = { PACK_META, 1, z, zl, (uint32_t)t.len - 3, 0 };
	expect_crafted(&longer, 1, "does not inflate");

	const char *unsorted[] = { "b", "1", "a", "2" };
	table(&u, unsorted, 2);
	expect_table(&u, "unsorted entry 'a'");
	const char *dup[] = { "a", "1", "a", "2" };
	table(&u, dup, 2);
	expect_table(&u, "duplicate entry 'a'");

	const char *four[] = { "a", "1", "b", "1", "c", "1", "d", "1" };
	table(&u, four, 4);
	put32(&u, 0, 5);                          /* claims five entries */
	expect_table(&u, "runs past the end");
	put32(&u, 0, 0x10000000);
	expect_table(&u, "cannot fit");
	table(&u, kv, 2);
	put32(&u, 4, 0xfffffff0);                 /* first name length */
	expect_table(&u, "runs past the end");
	table(&u, kv, 2);
	strbuf_adds(&u, "junk");
	expect_table(&u, "trailing bytes");
	const char *nul[] = { "a", "1" };
	table(&u, nul, 1);
	u.buf[8] = '\0';                          /* the name "a" becomes a NUL byte */
	expect_table(&u, "bad name");
	raw_section tiny = { PACK_META, 0, "\0\0", 2, 0, 0 };
	expect_crafted(&tiny, 1, "raw size 2 is out of range");
	strbuf_release(&t);
	strbuf_release(&u);
}
END_TEST

START_TEST(test_crafted_layout)
{
	strbuf t = STRBUF_INIT, b = STRBUF_INIT;
	const char *kv[] = { "a", "1" };
	table(&t, kv, 1);
	raw_section s[] = { { PACK_META, 0, t.buf, t.len, 0, 0 }, { PACK_THEME, 0, t.buf, t.len, 0, 0 } };

	craft(&b, s, 2);
	put32(&b, PACK_HEADER_SIZE + PACK_TABLE_ENTRY_SIZE + 8, (uint32_t)(PACK_HEADER_SIZE + 2 * 24));
	rehash(&b);                               /* second section overlaps the first */
	expect_refused(b.buf, b.len, NULL, "overlaps or leaves a gap");

	craft(&b, s, 2);
	put32(&b, PACK_HEADER_SIZE + 12, (uint32_t)t.len - 1);   /* gap after the first */
	rehash(&b);
	expect_refused(b.buf, b.len, NULL, NULL);

	craft(&b, s, 2);
	put32(&b, 12, 9);                         /* table of 9 entries: runs past the sections */
	rehash(&b);
	expect_refused(b.buf, b.len, NULL, NULL);
	put32(&b, 12, 200000);
	rehash(&b);
	expect_refused(b.buf, b.len, NULL, "at most");

	craft(&b, s, 2);
	put32(&b, 8, 2);                          /* format 2 */
	expect_refused(b.buf, b.len, NULL, "unsupported pack format 2");

	craft(&b, s, 2);
	memset(b.buf + 16, 'x', 32);              /* edition field not terminated */
	rehash(&b);
	expect_refused(b.buf, b.len, NULL, "not NUL-terminated");
	craft(&b, s, 2);
	b.buf[16 + 20] = 'x';                     /* garbage after the edition's NUL */
	rehash(&b);
	expect_refused(b.buf, b.len, NULL, "bytes after its end");

	craft(&b, s, 2);
	strbuf_addc(&b, '\n');
	expect_refused(b.buf, b.len, NULL, "trailing bytes");

	craft(&b, s, 2);
	b.buf[PACK_HEADER_SIZE + 2 * 24] ^= 1;   /* content change, hash stale */
	expect_refused(b.buf, b.len, NULL, "altered: sha-256 mismatch");

	craft(&b, s, 2);
	b.buf[0] = 'X';
	expect_refused(b.buf, b.len, NULL, "not a pack: bad magic");
	expect_refused("GIF89a", 6, NULL, "not a pack: bad magic");
	expect_refused("OBEP", 4, NULL, "truncated");
	expect_refused("", 0, NULL, "truncated");

	craft(&b, s, 2);
	memcpy(b.buf + b.len - PACK_TRAILER_SIZE, "OBSX", 4);
	expect_refused(b.buf, b.len, NULL, "bad trailer");
	craft(&b, s, 2);
	b.buf[b.len - PACK_TRAILER_SIZE + 4] = 2;   /* unknown flag */
	expect_refused(b.buf, b.len, NULL, "unknown flags");
	craft(&b, s, 2);
	b.buf[b.len - PACK_TRAILER_SIZE + 4] = 1;   /* marked signed, no signature */
	expect_refused(b.buf, b.len, NULL, "signature is empty");
	craft(&b, s, 2);
	b.buf[b.len - 1] = 1;                       /* signature bytes on an unsigned pack */
	expect_refused(b.buf, b.len, NULL, "carries signature bytes");
	strbuf_release(&t);
	strbuf_release(&b);
}
END_TEST

START_TEST(test_files_and_keys)
{
	char dir[] = "/tmp/test_pack_XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char path[256], keyp[256];
	snprintf(path, sizeof(path), "%s/mass.pack", dir);
	strbuf b = STRBUF_INIT, err = STRBUF_INIT;
	make_pack(&b, NULL, 0);
	FILE *f = fopen(path, "wb");
	fwrite(b.buf, 1, b.len, f);
	fclose(f);
	pack *p = NULL;
	ck_assert_int_eq(pack_open_file(path, NULL, &p, &err), 0);
	ck_assert_str_eq(pack_get_info(p)->edition, "mass");
	pack_free(p);
	snprintf(keyp, sizeof(keyp), "%s/none.pack", dir);
	ck_assert_int_eq(pack_open_file(keyp, NULL, &p, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, "cannot read"));

	/* keys: hex with a newline, raw bytes, and refusals */
	unsigned char key[32], got[32];
	for (int i = 0; i < 32; i++)
		key[i] = (unsigned char)(i * 7 + 1);
	char hex[65];
	sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
	snprintf(keyp, sizeof(keyp), "%s/k.pub", dir);
	f = fopen(keyp, "w");
	fprintf(f, "%s\n", hex);
	fclose(f);
	ck_assert_int_eq(pack_read_key(keyp, got, 32, &err), 0);
	ck_assert_int_eq(memcmp(key, got, 32), 0);
	f = fopen(keyp, "wb");
	fwrite(key, 1, 32, f);
	fclose(f);
	memset(got, 0, 32);
	ck_assert_int_eq(pack_read_key(keyp, got, 32, &err), 0);
	ck_assert_int_eq(memcmp(key, got, 32), 0);
	f = fopen(keyp, "w");
	fprintf(f, "%.62s\n", hex);               /* one byte short */
	fclose(f);
	ck_assert_int_eq(pack_read_key(keyp, got, 32, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, "is not a 32-byte key"));
	ck_assert_int_eq(pack_read_key(keyp, got, 64, &err), -1);
	unlink(keyp);
	ck_assert_int_eq(pack_read_key(keyp, got, 32, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, "cannot read key"));
	unlink(path);
	rmdir(dir);
	strbuf_release(&b);
	strbuf_release(&err);
}
END_TEST

Suite *suite_pack(void);

Suite *suite_pack(void)
{
	Suite *s = suite_create("pack");
	TCase *tc = tcase_create("pack");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_deterministic);
	tcase_add_test(tc, test_file_hash);
	tcase_add_test(tc, test_empty_sections_and_screens_stored);
	tcase_add_test(tc, test_writer_errors);
	tcase_add_test(tc, test_every_truncation_refused);
	tcase_add_test(tc, test_every_byte_change_refused_unsigned);
	tcase_add_test(tc, test_every_byte_change_refused_signed);
	tcase_add_test(tc, test_signatures_and_trust);
	tcase_add_test(tc, test_crafted_valid);
	tcase_add_test(tc, test_crafted_refusals);
	tcase_add_test(tc, test_crafted_layout);
	tcase_add_test(tc, test_files_and_keys);
	suite_add_tcase(s, tc);
	return s;
}
