/*
 * fuzz_pack: the pack reader (pack_open_mem) on arbitrary bytes.
 *
 * Each input is opened four ways: as given, without and with the trust key;
 * then resealed, without and with it. Resealing does what a forger with the
 * signing key could: it fixes the crc32 of stored (codec 0) sections, puts the
 * SHA-256 of the content into the trailer and signs it with the test key in
 * tests/fuzz/keys (made by `editionc keygen`, trusted by nothing else). Without
 * resealing almost every mutation would stop at the hash check, and the
 * section table, the decompression and the entry index behind it would never
 * see a mutated byte. An opened pack is walked completely, every byte read.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz_common.h"
#include "pack.h"

static unsigned char trust_pk[crypto_sign_PUBLICKEYBYTES];
static unsigned char sign_sk[crypto_sign_SECRETKEYBYTES];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	strbuf err = STRBUF_INIT;
	if (sodium_init() < 0)
		fuzz_die("cannot initialise libsodium");
	if (pack_read_key(fuzz_path("tests/fuzz/keys/fuzz.pub"), trust_pk, sizeof trust_pk, &err) < 0 ||
	    pack_read_key(fuzz_path("tests/fuzz/keys/fuzz.key"), sign_sk, sizeof sign_sk, &err) < 0)
		fuzz_die("%s", err.buf);
	strbuf_release(&err);
	return 0;
}

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* Reads every byte the pack hands out, so ASan checks each range. */
static unsigned walk(const pack *p)
{
	unsigned sum = 0;
	const pack_info *info = pack_get_info(p);
	sum += (unsigned)strnlen(info->edition, sizeof info->edition) + info->format;
	for (int s = 0; s <= PACK_SECTION_END; s++) {
		size_t stored, raw;
		(void)pack_section_name(s);
		(void)pack_section_sizes(p, s, &stored, &raw);
		size_t n = pack_count(p, s);
		for (size_t i = 0; i < n; i++) {
			const void *data;
			size_t len, again_len;
			const char *name = pack_entry(p, s, i, &data, &len);
			const unsigned char *bytes = data;
			for (size_t k = 0; k < len; k++)
				sum += bytes[k];
			const void *again = pack_get(p, s, name, &again_len);
			if (again != data || again_len != len)
				abort();            /* the index and the listing disagree */
		}
		(void)pack_get(p, s, "json", &stored);
	}
	return sum;
}

static void open_and_walk(const unsigned char *d, size_t len, const unsigned char *pk)
{
	pack *p = NULL;
	strbuf err = STRBUF_INIT;
	if (pack_open_mem(d, len, pk, &p, &err) == 0) {
		volatile unsigned sink = walk(p);
		(void)sink;
		pack_free(p);
	} else if (!err.len) {
		abort();                    /* refused without a reason */
	}
	strbuf_release(&err);
}

/* Fixes what a writer computes: stored sections' crc32, the content hash, the signature. */
static void reseal(unsigned char *d, size_t len)
{
	uint32_t count = rd32(d + 12);
	size_t body_end = len - PACK_TRAILER_SIZE;
	for (uint32_t i = 0; i < count && i < 64; i++) {
		unsigned char *t = d + PACK_HEADER_SIZE + (size_t)i * PACK_TABLE_ENTRY_SIZE;
		if ((size_t)(t - d) + PACK_TABLE_ENTRY_SIZE > body_end)
			break;
		uint32_t codec = rd32(t + 4), off = rd32(t + 8), stored = rd32(t + 12);
		if (codec == 0 && off <= body_end && stored <= body_end - off)
			wr32(t + 20, (uint32_t)crc32(0L, d + off, (uInt)stored));
	}
	unsigned char *trailer = d + body_end;
	crypto_hash_sha256(trailer + 8, d, body_end);
	wr32(trailer + 4, 1);
	crypto_sign_detached(trailer + 40, NULL, trailer + 8, crypto_hash_sha256_BYTES, sign_sk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	open_and_walk(data, size, NULL);
	open_and_walk(data, size, trust_pk);
	if (size < PACK_HEADER_SIZE + PACK_TRAILER_SIZE)
		return 0;
	unsigned char *copy = malloc(size);
	memcpy(copy, data, size);
	reseal(copy, size);
	open_and_walk(copy, size, NULL);
	open_and_walk(copy, size, trust_pk);
	free(copy);
	return 0;
}
